//! Governance: which agent may use which package version, decided by policy
//! records in the store, with a decision cache in front of it.

pub mod cache;
pub mod maturity;
mod policy;
pub mod policy_file;

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pep508_rs::pep440_rs::VersionSpecifiers;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::requirement::push_normalized_name;
use crate::store::{Store, NOW};

pub use cache::{CacheStats, Cached, DecisionCache, Lookup, PackageRecords, Records, KEY_SEPARATOR};
pub use policy::{
    package_type as canonical_package_type, ExactVersion, Expiry, ListFilter, PolicyKey, PolicyRecord, PACKAGE_TYPES, STATUSES, STATUS_ACTIVE, STATUS_BANNED, STATUS_PENDING,
    STATUS_UNTRUSTED,
};

/// Decisions kept at most, unless the engine is built with other limits.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// How long a decision is kept at most. Changes made through skillguard are
/// seen at once whatever the TTL, so it only bounds how long a level returned
/// by a host's maturity resolver is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// Looks up an agent's maturity in the host application (for example its own
/// agents table). `Ok(None)` means the agent is unknown there.
pub type MaturityResolver = Arc<dyn Fn(&str) -> Result<Option<String>> + Send + Sync>;

/// The decision on "may this agent use this package version?".
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The lowest maturity an approval requires, when a record matched.
    pub maturity_required: Option<&'static str>,
    pub reason: String,
    /// The rule that decided: `banned`, `agent_inactive`, `student`, `pending`,
    /// `expired`, `untrusted`, `not_in_registry`, `maturity_too_low` or `approved`.
    pub rule: &'static str,
    /// The policy record the rule matched, if any.
    pub record: Option<Arc<PolicyRecord>>,
}

impl Decision {
    fn deny(rule: &'static str, reason: String, record: Option<&Arc<PolicyRecord>>) -> Self {
        Decision {
            allowed: false,
            maturity_required: record.and_then(|record| record.min_maturity.as_deref()).and_then(|level| maturity::canonical_level(level).ok()),
            reason,
            rule,
            record: record.cloned(),
        }
    }
}

/// The version a check is about: one exact version, or a range that is not
/// pinned to one (empty for "any version").
enum Query {
    Exact(ExactVersion),
    Range(VersionSpecifiers),
}

impl Query {
    fn parse(name: &str, text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() || text == "*" || text.eq_ignore_ascii_case("latest") || text.eq_ignore_ascii_case("any") {
            return Ok(Query::Range(VersionSpecifiers::empty()));
        }
        if text.starts_with(['<', '>', '=', '!', '~']) {
            let specifiers = VersionSpecifiers::from_str(text).map_err(|error| {
                Error::InvalidArgument(format!("invalid version range {text:?} for package {name}: {error}"))
            })?;
            let pinned = match specifiers.iter().collect::<Vec<_>>().as_slice() {
                [only] if *only.operator() == pep508_rs::pep440_rs::Operator::Equal => Some(only.version().clone()),
                _ => None,
            };
            return Ok(match pinned {
                Some(version) => Query::Exact(ExactVersion::Full(version)),
                None => Query::Range(specifiers),
            });
        }
        ExactVersion::parse(text)
            .map(Query::Exact)
            .map_err(|error| Error::InvalidArgument(format!("invalid version {text:?} for package {name}: {error}")))
    }
}

/// Applies the rules to the records of one package; `now` is in seconds
/// since the Unix epoch. Records that lapsed before `now` count as absent.
fn decide(agent_id: &str, state: Option<&str>, name: &str, version: &str, query: &Query, records: &[Arc<PolicyRecord>], now: f64) -> Decision {
    // The package and version as messages name them; denials only, so an
    // approval (the common case) writes its reason with one allocation.
    let subject = || {
        let mut subject = String::new();
        push_subject(&mut subject, name, version, query);
        subject
    };
    // A record applies to an exact version it contains, or to a range it may
    // share a version with. An approval applies to a range only if it covers
    // every version, because the range may resolve to any of them.
    let applies = |record: &PolicyRecord| match query {
        Query::Exact(version) => record.matches(version),
        Query::Range(range) => record.covers_every_version() || range.is_empty() || record.may_overlap(range),
    };
    let approves = |record: &PolicyRecord| match query {
        Query::Exact(version) => record.matches(version),
        Query::Range(_) => record.covers_every_version(),
    };
    let live = |record: &&Arc<PolicyRecord>| !record.is_expired(now);

    if let Some(ban) = records.iter().filter(live).find(|record| record.status == STATUS_BANNED && applies(record)) {
        let reason = ban.reason.as_deref().unwrap_or("no reason given");
        let what = match query {
            Query::Range(_) if !ban.covers_every_version() => format!("{} is not pinned and may resolve to a banned version", subject()),
            _ => format!("{} is banned", subject()),
        };
        return Decision::deny("banned", format!("{what} ({}): {reason}", ban.describe_range()), Some(ban));
    }

    let state = state.unwrap_or("student");
    let Some(agent_rank) = maturity::rank(state) else {
        return Decision::deny(
            "agent_inactive",
            format!("agent {agent_id} is {state}, not at a maturity level, so it may use no package"),
            None,
        );
    };
    if agent_rank == 0 {
        return Decision::deny(
            "student",
            format!("agent {agent_id} is a student; students may not use third-party packages"),
            None,
        );
    }

    let lowest = records
        .iter()
        .filter(live)
        .filter(|record| record.status == STATUS_ACTIVE && approves(record))
        .min_by_key(|record| record.min_maturity.as_deref().and_then(maturity::rank).unwrap_or(1));
    let Some(lowest) = lowest else {
        let found = |status: &str| records.iter().filter(live).find(|record| record.status == status && applies(record));
        if let Some(pending) = found(STATUS_PENDING) {
            return Decision::deny("pending", format!("{} is pending approval", subject()), Some(pending));
        }
        if let Some(expired) = records.iter().find(|record| record.status == STATUS_ACTIVE && record.is_expired(now) && approves(record)) {
            let when = expired.expires_at.as_deref().unwrap_or("an earlier time");
            return Decision::deny(
                "expired",
                format!("{} was approved ({}) until {when}; the approval has expired", subject(), expired.describe_range()),
                Some(expired),
            );
        }
        if let Some(untrusted) = found(STATUS_UNTRUSTED) {
            let reason = untrusted.reason.as_deref().map(|reason| format!(": {reason}")).unwrap_or_default();
            return Decision::deny(
                "untrusted",
                format!("{} is marked untrusted ({}){reason}", subject(), untrusted.describe_range()),
                Some(untrusted),
            );
        }
        let partial = matches!(query, Query::Range(_))
            && records.iter().filter(live).any(|record| record.status == STATUS_ACTIVE && !record.covers_every_version());
        let reason = if partial {
            format!("{} is not pinned to one version, and only an approval of every version allows that; pin an approved version", subject())
        } else {
            format!("{} is not in the package registry; request approval first", subject())
        };
        return Decision::deny("not_in_registry", reason, None);
    };

    let required = lowest.min_maturity.as_deref().and_then(|level| maturity::canonical_level(level).ok()).unwrap_or("intern");
    let required_rank = maturity::rank(required).unwrap_or(1);
    if agent_rank < required_rank {
        return Decision::deny(
            "maturity_too_low",
            format!("{} requires maturity {required}; agent {agent_id} is {}", subject(), state.to_lowercase()),
            Some(lowest),
        );
    }
    // Built with push_str: a set of 200 packages builds 200 of these.
    let mut reason = String::with_capacity(name.len() + version.len() + lowest.name.len() + lowest.specifier.len() + 64);
    push_subject(&mut reason, name, version, query);
    reason.push_str(" is approved (");
    reason.push_str(&lowest.name);
    reason.push_str(if lowest.specifier.is_empty() { ", every version" } else { &lowest.specifier });
    reason.push_str(") for ");
    reason.push_str(required);
    reason.push_str(" and above");
    if let Some(when) = &lowest.expires_at {
        reason.push_str(" until ");
        reason.push_str(when);
    }
    Decision {
        allowed: true,
        reason,
        maturity_required: Some(required),
        rule: "approved",
        record: Some(lowest.clone()),
    }
}

fn push_subject(buffer: &mut String, name: &str, version: &str, query: &Query) {
    buffer.push_str(name);
    match query {
        Query::Exact(_) => {
            buffer.push(' ');
            buffer.push_str(version.trim());
        }
        Query::Range(range) if range.is_empty() => buffer.push_str(" (any version)"),
        Query::Range(range) => buffer.push_str(&range.to_string()),
    }
}

/// Returns the earliest future expiry among `records` as an instant, so that
/// a cached decision never outlives a record it was computed from.
fn next_expiry(records: &[Arc<PolicyRecord>], now: f64) -> Option<Instant> {
    let earliest = records.iter().filter_map(|record| record.expires_unix()).filter(|expiry| *expiry > now).reduce(f64::min)?;
    Some(Instant::now() + Duration::from_secs_f64(earliest - now))
}

/// Returns the current time in seconds since the Unix epoch, as record expiries are compared.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |elapsed| elapsed.as_secs_f64())
}

/// Writes the cache key of a check into `buffer`; names are normalised as the
/// package type normalises them, so `Zope.Interface` and `zope_interface` share a key.
/// `prefix` is the engine's resolver number and a separator.
fn write_key(buffer: &mut String, prefix: &str, agent_id: &str, package_type: &str, name: &str, version: &str) {
    buffer.clear();
    buffer.push_str(prefix);
    buffer.push_str(agent_id.trim());
    buffer.push(KEY_SEPARATOR);
    buffer.push_str(package_type);
    buffer.push(KEY_SEPARATOR);
    push_package_name(buffer, package_type, name);
    buffer.push(KEY_SEPARATOR);
    buffer.push_str(version.trim());
}

fn push_package_name(buffer: &mut String, package_type: &str, name: &str) {
    if package_type == "npm" {
        buffer.extend(name.trim().chars().map(|character| character.to_ascii_lowercase()));
    } else {
        push_normalized_name(buffer, name);
    }
}

/// Returns the package key (`type<separator>name`) and the normalised name
/// inside a cache key written by [`write_key`] for a valid agent id.
fn key_parts(key: &str) -> (&str, &str) {
    let mut separators = key.match_indices(KEY_SEPARATOR).map(|(index, _)| index);
    let type_start = separators.nth(1).map_or(0, |index| index + KEY_SEPARATOR.len_utf8());
    let name_start = separators.next().map_or(type_start, |index| index + KEY_SEPARATOR.len_utf8());
    let name_end = key.rfind(KEY_SEPARATOR).filter(|end| *end >= name_start).unwrap_or(key.len());
    (&key[type_start..name_end], &key[name_start..name_end])
}

/// Normalises and checks a package name given to a check.
fn checked_name(package_type: &str, name: &str) -> Result<String> {
    let mut normalized = String::with_capacity(name.len());
    push_package_name(&mut normalized, package_type, name);
    check_normalized_name(package_type, &normalized, name)?;
    Ok(normalized)
}

/// Checks a normalised package name; `original` is the name as given, for the message.
fn check_normalized_name(package_type: &str, normalized: &str, original: &str) -> Result<()> {
    let valid = if package_type == "npm" {
        PolicyKey::parse("npm", normalized).is_ok_and(|key| key.specifier.is_empty())
    } else {
        !normalized.is_empty()
            && normalized.chars().all(|character| character.is_ascii_alphanumeric() || character == '-')
            && !normalized.starts_with('-')
            && !normalized.ends_with('-')
    };
    if valid && normalized.len() <= MAX_NAME_LENGTH {
        Ok(())
    } else {
        let preview: String = original.chars().take(80).collect();
        Err(Error::InvalidArgument(format!(
            "invalid {package_type} package name {preview:?}: expected letters, digits and separators, at most {MAX_NAME_LENGTH} characters"
        )))
    }
}

/// The maximum length of a package name in a check (npm allows 214 characters).
const MAX_NAME_LENGTH: usize = 214;

/// A denial to write to the audit log.
pub struct DenialRecord<'a> {
    pub agent_id: &'a str,
    pub skill_id: Option<&'a str>,
    pub package_type: &'a str,
    pub package: &'a str,
    pub version: &'a str,
    pub rule: &'a str,
    pub reason: &'a str,
}

/// Gives each maturity resolver its own part of the shared cache's key space.
static NEXT_RESOLVER_ID: AtomicU64 = AtomicU64::new(1);

/// The governance engine over one store.
#[derive(Clone)]
pub struct Governance {
    store: Store,
    resolver: Option<MaturityResolver>,
    /// The start of every cache key: 0 for skillguard's agents table, else
    /// the resolver's own number, then a separator.
    key_prefix: String,
    cache: Arc<DecisionCache>,
}

impl Governance {
    /// Creates the engine with the default cache limits; `resolver`, when
    /// given, is the source of agent maturity.
    pub fn new(store: Store, resolver: Option<MaturityResolver>) -> Self {
        Self::with_cache(store, resolver, DEFAULT_CACHE_CAPACITY, DEFAULT_CACHE_TTL)
    }

    /// Creates the engine. Every engine over one store shares one decision
    /// cache, so a change made through any of them invalidates the others'
    /// decisions. The first engine created sets its capacity and TTL.
    pub fn with_cache(store: Store, resolver: Option<MaturityResolver>, capacity: usize, ttl: Duration) -> Self {
        let cache = store.attached(|| DecisionCache::new(capacity, ttl));
        let resolver_id = if resolver.is_some() { NEXT_RESOLVER_ID.fetch_add(1, Ordering::Relaxed) } else { 0 };
        Governance { store, resolver, key_prefix: format!("{resolver_id}{KEY_SEPARATOR}"), cache }
    }

    /// Returns the store the engine reads and writes.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Drops every cached decision.
    pub fn clear_cache(&self) {
        self.cache.clear();
    }

    /// Drops the cached decisions about one agent; a host whose maturity
    /// resolver reads its own table calls it when an agent's level changes.
    pub fn invalidate_agent(&self, agent_id: &str) {
        self.cache.invalidate_agent(agent_id.trim());
    }

    /// Records an agent's maturity level or inactive state in skillguard's own agents table.
    pub fn set_agent_maturity(&self, agent_id: &str, state: &str, actor: Option<&str>) -> Result<()> {
        let agent_id = validate_agent_id(agent_id)?;
        let state = maturity::canonical_state(state).map_err(Error::InvalidArgument)?;
        if self.resolver.is_some() {
            log::warn!(
                "set_agent_maturity({agent_id}, {state}) writes skillguard's agents table, but this engine reads \
                 agent levels from its maturity_resolver, so its checks do not change"
            );
        }
        {
            let mut connection = self.store.lock();
            let transaction = connection.transaction()?;
            set_agent_state(&transaction, agent_id, state, actor)?;
            transaction.commit()?;
        }
        self.cache.invalidate_agent(agent_id);
        Ok(())
    }

    /// Returns the agent's state: from the resolver if one was given, else from the agents table.
    pub fn agent_state(&self, agent_id: &str) -> Result<Option<String>> {
        if let Some(resolver) = &self.resolver {
            return resolver(agent_id);
        }
        let connection = self.store.lock();
        let mut statement = connection.prepare_cached("SELECT maturity FROM agents WHERE agent_id = ?1")?;
        Ok(statement.query_row([agent_id], |row| row.get(0)).optional()?)
    }

    /// Decides whether `agent_id` may use the Python package `name` at `version`.
    pub fn check(&self, agent_id: &str, name: &str, version: &str) -> Result<Decision> {
        Ok(Decision::clone(&self.check_shared(agent_id, "python", name, version)?.decision))
    }

    /// Returns the cached decision, or the epoch to store a computed one with.
    /// Never reads the store unless another connection committed.
    /// `package_type` must be canonical (see [`canonical_package_type`]).
    pub fn cached(&self, agent_id: &str, package_type: &'static str, name: &str, version: &str) -> Result<Lookup> {
        thread_local! {
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        KEY.with(|key| {
            let mut key = key.borrow_mut();
            write_key(&mut key, &self.key_prefix, agent_id, package_type, name, version);
            self.cache.lookup(&self.store, &key)
        })
    }

    /// Decides whether `agent_id` may use `name` at `version`.
    ///
    /// `version` is an exact version (`1.26.4`, or `==1.26.4`), or a range that
    /// is not pinned to one (`>=1.26`; empty, `*` or `latest` for any version).
    /// The rules apply in order. A ban that matches denies everyone (for a
    /// range: a ban that may share a version with it). An agent that is not at
    /// a maturity level (paused, stopped, unknown states) is denied, and so is
    /// a student or an unknown agent. Then the agent needs an approval that
    /// matches (for a range: one that covers every version), and at least the
    /// lowest minimum maturity among those. Without an approval the package
    /// is pending, its approval expired, it is untrusted, or it is not in the
    /// registry. Records past their expiry count as absent.
    pub fn check_shared(&self, agent_id: &str, package_type: &str, name: &str, version: &str) -> Result<Arc<Cached>> {
        let package_type = policy::package_type(package_type)?;
        match self.cached(agent_id, package_type, name, version)? {
            Lookup::Hit(decision) => Ok(decision),
            Lookup::Miss(epoch) => self.check_missed(agent_id, package_type, name, version, epoch),
        }
    }

    /// Computes a decision [`Governance::cached`] did not hold, from the
    /// store, and caches it under the epoch of that lookup.
    pub fn check_missed(&self, agent_id: &str, package_type: &'static str, name: &str, version: &str, epoch: u64) -> Result<Arc<Cached>> {
        let agent = validate_agent_id(agent_id)?;
        let normalized = checked_name(package_type, name)?;
        let query = Query::parse(&normalized, version)?;
        let records = self.package_records(package_type, &normalized, epoch)?;
        let state = self.cached_agent_state(agent, epoch)?;
        let now = unix_now();
        let decision = Cached::new(decide(agent, state.as_deref(), &normalized, version, &query, &records, now));
        let mut key = String::new();
        write_key(&mut key, &self.key_prefix, agent_id, package_type, name, version);
        self.cache.insert(&key, decision.clone(), epoch, next_expiry(&records, now));
        Ok(decision)
    }

    /// Returns a package's records from the cache, reading the store (one
    /// package, or every record when nothing is cached) when it must.
    fn package_records(&self, package_type: &str, name: &str, epoch: u64) -> Result<PackageRecords> {
        let package_key = format!("{package_type}{KEY_SEPARATOR}{name}");
        match self.cache.records(&package_key) {
            Records::Known(records) => Ok(records),
            Records::ReadPackage => self.read_package(package_type, name, epoch),
            Records::ReadAll => {
                let mut grouped: HashMap<Box<str>, Vec<Arc<PolicyRecord>>> = HashMap::new();
                for record in policy::all_records(&self.store.lock())? {
                    let key = format!("{}{KEY_SEPARATOR}{}", record.package_type, record.name);
                    grouped.entry(key.into()).or_default().push(Arc::new(record));
                }
                let packages: HashMap<Box<str>, PackageRecords> =
                    grouped.into_iter().map(|(key, records)| (key, PackageRecords::from(records))).collect();
                let records = packages.get(package_key.as_str()).cloned().unwrap_or_else(|| Arc::new([]));
                self.cache.store_snapshot(packages, epoch);
                Ok(records)
            }
        }
    }

    /// Reads one package's records from the store, and caches them when the
    /// cache contains a snapshot of every record.
    fn read_package(&self, package_type: &str, name: &str, epoch: u64) -> Result<PackageRecords> {
        let records: PackageRecords = policy::records_for(&self.store.lock(), package_type, name)?.into_iter().map(Arc::new).collect();
        self.cache.store_package(&format!("{package_type}{KEY_SEPARATOR}{name}"), records.clone(), epoch);
        Ok(records)
    }

    /// Returns the agent's state, from the cache when it came from skillguard's
    /// table. A host resolver is asked on every decision the cache lacks.
    fn cached_agent_state(&self, agent_id: &str, epoch: u64) -> Result<Option<String>> {
        if self.resolver.is_some() {
            return self.agent_state(agent_id);
        }
        if let Some(state) = self.cache.agent(agent_id) {
            return Ok(state);
        }
        let state = self.agent_state(agent_id)?;
        self.cache.store_agent(agent_id, state.clone(), epoch);
        Ok(state)
    }

    /// Decides for every `(name, version)` of a set at once, reading the store
    /// once for all the decisions the cache does not hold.
    pub fn check_many(&self, agent_id: &str, package_type: &str, packages: &[(&str, &str)]) -> Result<Vec<Arc<Cached>>> {
        let package_type = policy::package_type(package_type)?;
        let mut buffer = String::new();
        let keys: Vec<Box<str>> = packages
            .iter()
            .map(|(name, version)| {
                write_key(&mut buffer, &self.key_prefix, agent_id, package_type, name, version);
                Box::from(buffer.as_str())
            })
            .collect();
        let (mut decisions, epoch) = self.cache.lookup_many(&self.store, &keys)?;
        let mut keys: Vec<Option<Box<str>>> = keys.into_iter().map(Some).collect();
        let missing: Vec<usize> = (0..packages.len()).filter(|index| decisions[*index].is_none()).collect();
        if missing.is_empty() {
            return Ok(decisions.into_iter().flatten().collect());
        }

        let agent = validate_agent_id(agent_id)?;
        // The key of a valid agent id contains the package key and the
        // normalised name, so they are sliced out rather than built again.
        let mut questions = Vec::with_capacity(missing.len());
        for &index in &missing {
            let (name, version) = packages[index];
            if version.contains(KEY_SEPARATOR) {
                return Err(Error::InvalidArgument(format!("invalid version {version:?} for package {name}")));
            }
            let key = keys[index].as_deref().unwrap_or_default();
            let (package_key, normalized) = key_parts(key);
            check_normalized_name(package_type, normalized, name)?;
            let query = Query::parse(normalized, version)?;
            questions.push((package_key, normalized, query));
        }
        let package_keys: Vec<&str> = questions.iter().map(|(package_key, _, _)| *package_key).collect();
        let mut known = self.cache.records_many(&package_keys);
        if known.iter().any(|records| matches!(records, Records::ReadAll)) {
            // Nothing is cached: read every record once rather than package by package.
            self.package_records(package_type, questions[0].1, epoch)?;
            known = self.cache.records_many(&package_keys);
        }
        let state = self.cached_agent_state(agent, epoch)?;
        let now = unix_now();
        let mut computed = Vec::with_capacity(missing.len());
        let mut decided = Vec::with_capacity(missing.len());
        for ((&index, (_, normalized, query)), records) in missing.iter().zip(&questions).zip(known) {
            let records = match records {
                Records::Known(records) => records,
                _ => self.read_package(package_type, normalized, epoch)?,
            };
            let version = packages[index].1;
            let cached = Cached::new(decide(agent, state.as_deref(), normalized, version, query, &records, now));
            decided.push((index, cached, next_expiry(&records, now)));
        }
        drop(questions);
        for (index, cached, valid_until) in decided {
            if let Some(key) = keys[index].take() {
                computed.push((key, cached.clone(), valid_until));
            }
            decisions[index] = Some(cached);
        }
        self.cache.insert_many(computed, epoch);
        Ok(decisions.into_iter().flatten().collect())
    }

    /// Approves a requirement (`numpy>=1.26,<2`, or a bare name for every
    /// version) for agents at `min_maturity` and above, until `expiry` if given.
    pub fn approve(
        &self,
        package_type: &str,
        requirement: &str,
        min_maturity: &str,
        approved_by: Option<&str>,
        expiry: Option<&Expiry>,
    ) -> Result<PolicyRecord> {
        let level = maturity::canonical_level(min_maturity).map_err(Error::InvalidArgument)?;
        let key = PolicyKey::parse(package_type, requirement)?;
        self.change(&key, |connection| {
            policy::write(connection, &policy::Change {
                key: &key,
                status: STATUS_ACTIVE,
                min_maturity: Some(level),
                reason: None,
                actor: approved_by,
                requested_by: None,
                expiry,
                action: "package_approved",
            })
        })
    }

    /// Bans a requirement for every agent; a reason is required.
    pub fn ban(&self, package_type: &str, requirement: &str, reason: &str, banned_by: Option<&str>, expiry: Option<&Expiry>) -> Result<PolicyRecord> {
        if reason.trim().is_empty() {
            return Err(Error::InvalidArgument(format!("a ban of {requirement:?} needs a reason")));
        }
        let key = PolicyKey::parse(package_type, requirement)?;
        self.change(&key, |connection| {
            policy::write(connection, &policy::Change {
                key: &key,
                status: STATUS_BANNED,
                min_maturity: None,
                reason: Some(reason.trim()),
                actor: banned_by,
                requested_by: None,
                expiry,
                action: "package_banned",
            })
        })
    }

    /// Marks a requirement untrusted: no agent may use it until it is approved.
    pub fn mark_untrusted(&self, package_type: &str, requirement: &str, reason: Option<&str>, actor: Option<&str>) -> Result<PolicyRecord> {
        let key = PolicyKey::parse(package_type, requirement)?;
        self.change(&key, |connection| {
            policy::write(connection, &policy::Change {
                key: &key,
                status: STATUS_UNTRUSTED,
                min_maturity: None,
                reason,
                actor,
                requested_by: None,
                expiry: None,
                action: "package_untrusted",
            })
        })
    }

    /// Records a request for approval. An existing active, banned or untrusted
    /// record of the same range is returned unchanged: a request never downgrades.
    pub fn request_approval(&self, package_type: &str, requirement: &str, requested_by: Option<&str>, reason: Option<&str>) -> Result<PolicyRecord> {
        let key = PolicyKey::parse(package_type, requirement)?;
        self.change(&key, |connection| policy::request(connection, &key, requested_by, reason))
    }

    /// Removes the record of exactly this requirement, whatever its status,
    /// and returns it. Its history stays in the audit log.
    pub fn revoke(&self, package_type: &str, requirement: &str, revoked_by: Option<&str>, reason: Option<&str>) -> Result<PolicyRecord> {
        let key = PolicyKey::parse(package_type, requirement)?;
        self.change(&key, |connection| policy::delete(connection, &key, revoked_by, reason))?.ok_or_else(|| {
            Error::InvalidArgument(format!(
                "no {} policy record for {:?} to revoke (records are matched by name and exact range)",
                key.package_type, requirement
            ))
        })
    }

    /// Runs `write` in one transaction, then drops the package's cached decisions.
    fn change<T>(&self, key: &PolicyKey, write: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        let outcome = {
            let mut connection = self.store.lock();
            let transaction = connection.transaction()?;
            let outcome = write(&transaction)?;
            transaction.commit()?;
            outcome
        };
        // After the commit and with the store unlocked: a lookup that read the
        // old records before this point cannot store its decision any more.
        self.cache.invalidate_package(key.package_type, &key.name);
        Ok(outcome)
    }

    /// Lists policy records, filtered by status, package type and name.
    pub fn list(&self, filter: &ListFilter<'_>) -> Result<Vec<PolicyRecord>> {
        policy::list(&self.store.lock(), filter)
    }

    /// Returns every audited change of the record with exactly this
    /// requirement, oldest first, including those before a revocation.
    pub fn history(&self, package_type: &str, requirement: &str) -> Result<Vec<audit::AuditEntry>> {
        let key = PolicyKey::parse(package_type, requirement)?;
        audit::record_history(&self.store.lock(), key.package_type, &key.name, &key.specifier)
    }

    /// Records a denial in the audit log, under the package's normalised name,
    /// with the version, the rule that denied and `reason` (a scan passes the
    /// chain of requirements that pulled the package in).
    pub fn audit_denial(&self, denial: &DenialRecord<'_>) -> Result<()> {
        let package_type = policy::package_type(denial.package_type)?;
        let mut name = String::with_capacity(denial.package.len());
        push_package_name(&mut name, package_type, denial.package);
        let connection = self.store.lock();
        audit::record(
            &connection,
            &AuditEvent {
                action: "package_denied",
                agent_id: Some(denial.agent_id.trim()),
                skill_id: denial.skill_id,
                package: Some(&name),
                detail: json!({
                    "package_type": package_type,
                    "version": denial.version.trim(),
                    "rule": denial.rule,
                    "reason": denial.reason,
                }),
                ..Default::default()
            },
        )
    }

    /// Returns every agent in skillguard's own table with its state, by id.
    pub fn agents(&self) -> Result<Vec<(String, String)>> {
        let connection = self.store.lock();
        let mut statement = connection.prepare("SELECT agent_id, maturity FROM agents ORDER BY agent_id")?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

/// Writes an agent's state and audits the change; call it inside a transaction.
fn set_agent_state(connection: &rusqlite::Connection, agent_id: &str, state: &str, actor: Option<&str>) -> Result<()> {
    let before: Option<String> = connection
        .query_row("SELECT maturity FROM agents WHERE agent_id = ?1", [agent_id], |row| row.get(0))
        .optional()?;
    connection.execute(
        &format!(
            "INSERT INTO agents (agent_id, maturity, updated_at) VALUES (?1, ?2, {NOW})
             ON CONFLICT (agent_id) DO UPDATE SET maturity = excluded.maturity, updated_at = excluded.updated_at"
        ),
        params![agent_id, state],
    )?;
    audit::record(
        connection,
        &AuditEvent {
            action: "agent_maturity_set",
            actor,
            agent_id: Some(agent_id),
            detail: json!({ "before": before, "after": state }),
            ..Default::default()
        },
    )
}

/// Tells whether `character` reorders displayed text (U+202A-U+202E, U+2066-U+2069),
/// which would let an id look like another in logs.
fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn validate_agent_id(agent_id: &str) -> Result<&str> {
    let trimmed = agent_id.trim();
    if trimmed.is_empty() || trimmed.len() > 256 || trimmed.chars().any(|character| character.is_control() || is_bidi_control(character)) {
        return Err(Error::InvalidArgument(format!(
            "invalid agent id {agent_id:?}: expected 1 to 256 characters with no control or bidirectional-override characters"
        )));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests;
