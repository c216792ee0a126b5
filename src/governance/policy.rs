//! Policy records: one row per (package type, name, version range), and the
//! statements that read and write them. Writers take the connection of an
//! open transaction, so a change and its audit row commit together.

use std::str::FromStr;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::json;

use crate::audit::{self, AuditEvent};
use crate::error::{Error, Result};
use crate::requirement::parse_requirement_line;
use crate::store::{utc_timestamp, NOW};

pub const STATUS_ACTIVE: &str = "active";
pub const STATUS_PENDING: &str = "pending";
pub const STATUS_BANNED: &str = "banned";
pub const STATUS_UNTRUSTED: &str = "untrusted";
pub const STATUSES: [&str; 4] = [STATUS_ACTIVE, STATUS_PENDING, STATUS_BANNED, STATUS_UNTRUSTED];

/// The package types a record may govern. `npm` records are stored and
/// listed like Python ones; their names are lowercased, and their ranges are
/// written as PEP 440 specifiers (`>=4.17,<5`).
pub const PACKAGE_TYPES: [&str; 2] = ["python", "npm"];

/// Returns the canonical package type, or an error naming the valid ones.
pub fn package_type(value: &str) -> Result<&'static str> {
    let trimmed = value.trim();
    PACKAGE_TYPES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(trimmed))
        .copied()
        .ok_or_else(|| Error::InvalidArgument(format!("invalid package type {value:?}: expected one of {}", PACKAGE_TYPES.join(", "))))
}

/// Returns the canonical status, or an error naming the valid ones.
pub fn status(value: &str) -> Result<&'static str> {
    let trimmed = value.trim();
    STATUSES
        .iter()
        .find(|known| known.eq_ignore_ascii_case(trimmed))
        .copied()
        .ok_or_else(|| Error::InvalidArgument(format!("invalid policy status {value:?}: expected one of {}", STATUSES.join(", "))))
}

/// One policy record as stored.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyRecord {
    pub id: i64,
    pub package_type: String,
    /// PEP 503-normalised name (lowercased for npm).
    pub name: String,
    /// PEP 440 specifier set; empty covers every version.
    pub specifier: String,
    pub status: String,
    pub min_maturity: Option<String>,
    /// The reason given for the ban, the untrusted mark or the request.
    pub reason: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub banned_by: Option<String>,
    /// When the record lapses by itself (UTC); `None` never.
    pub expires_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    specifiers: Option<VersionSpecifiers>,
    #[serde(skip)]
    expires_unix: Option<f64>,
    /// The specifiers as (operator, release numbers) when every operator is
    /// `==`, `!=`, `<`, `<=`, `>` or `>=` and every version a plain release.
    #[serde(skip)]
    plain_bounds: Option<Vec<(Operator, Vec<u64>)>>,
}

/// The exact version of a check: plain release numbers (`2.31.0`), read
/// without a full PEP 440 parse, or any other version.
#[derive(Clone, Debug)]
pub enum ExactVersion {
    Plain(Release),
    Full(Version),
}

/// Up to eight release numbers, kept inline so that reading one allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct Release {
    parts: [u64; 8],
    length: usize,
}

impl Release {
    fn as_slice(&self) -> &[u64] {
        &self.parts[..self.length]
    }
}

impl ExactVersion {
    /// Reads `1.26.4` as plain release numbers, anything else as PEP 440.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut release = Release { parts: [0; 8], length: 0 };
        let mut plain = true;
        for part in text.split('.') {
            let number = (!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
                .then(|| part.parse::<u64>().ok())
                .flatten();
            match number {
                Some(number) if release.length < release.parts.len() => {
                    release.parts[release.length] = number;
                    release.length += 1;
                }
                _ => {
                    plain = false;
                    break;
                }
            }
        }
        if plain {
            return Ok(ExactVersion::Plain(release));
        }
        Version::from_str(text).map(ExactVersion::Full).map_err(|error| error.to_string())
    }
}

/// Orders release numbers as PEP 440 does: missing trailing parts are zeros.
fn compare_release(first: &[u64], second: &[u64]) -> std::cmp::Ordering {
    let length = first.len().max(second.len());
    (0..length)
        .map(|index| first.get(index).unwrap_or(&0).cmp(second.get(index).unwrap_or(&0)))
        .find(|order| order.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Tells whether `operator` is a plain comparison: `==`, `!=`, `<`, `<=`, `>`
/// or `>=`, without wildcards.
fn is_ordered(operator: Operator) -> bool {
    matches!(
        operator,
        Operator::Equal
            | Operator::NotEqual
            | Operator::LessThan
            | Operator::LessThanEqual
            | Operator::GreaterThan
            | Operator::GreaterThanEqual
    )
}

fn plain_bounds(specifiers: &VersionSpecifiers) -> Option<Vec<(Operator, Vec<u64>)>> {
    specifiers
        .iter()
        .map(|specifier| {
            let version = specifier.version();
            let ordered = is_ordered(*specifier.operator());
            let plain = version.epoch() == 0 && !version.any_prerelease() && !version.is_post() && !version.is_local();
            (ordered && plain).then(|| (*specifier.operator(), version.release().to_vec()))
        })
        .collect()
}

impl PolicyRecord {
    /// Tells whether the record's range contains `version`.
    pub fn matches(&self, version: &ExactVersion) -> bool {
        let Some(specifiers) = &self.specifiers else {
            // A specifier that no longer parses matches nothing rather than everything.
            return false;
        };
        match (version, &self.plain_bounds) {
            // Between plain releases (no epoch, pre, post, dev or local part)
            // PEP 440's special cases do not arise: each operator is a
            // comparison of release numbers, padded with zeros.
            (ExactVersion::Plain(release), Some(bounds)) => bounds.iter().all(|(operator, bound)| {
                let order = compare_release(release.as_slice(), bound);
                match operator {
                    Operator::Equal => order.is_eq(),
                    Operator::NotEqual => order.is_ne(),
                    Operator::LessThan => order.is_lt(),
                    Operator::LessThanEqual => order.is_le(),
                    Operator::GreaterThan => order.is_gt(),
                    _ => order.is_ge(),
                }
            }),
            (ExactVersion::Plain(release), None) => specifiers.contains(&Version::new(release.as_slice().iter().copied())),
            (ExactVersion::Full(version), _) => specifiers.contains(version),
        }
    }

    /// Tells whether the record covers every version of the package.
    pub fn covers_every_version(&self) -> bool {
        self.specifier.is_empty()
    }

    /// Tells whether some version could be in both the record's range and
    /// `range`. Errs towards "yes" where the specifiers are not simple bounds.
    pub fn may_overlap(&self, range: &VersionSpecifiers) -> bool {
        match &self.specifiers {
            Some(specifiers) => ranges_may_overlap(specifiers, range),
            None => false,
        }
    }

    /// Tells whether the record has lapsed at `now` (seconds since the Unix epoch).
    pub fn is_expired(&self, now: f64) -> bool {
        self.expires_unix.is_some_and(|expiry| expiry <= now)
    }

    /// Returns the expiry in seconds since the Unix epoch, if the record has one.
    pub fn expires_unix(&self) -> Option<f64> {
        self.expires_unix
    }

    /// Describes the range for messages: `every version` or the specifier.
    pub fn describe_range(&self) -> String {
        let rest = if self.specifier.is_empty() { ", every version" } else { &self.specifier };
        [self.name.as_str(), rest].concat()
    }

    /// Returns the record's requirement as a policy file writes it (`numpy>=1.26,<2`).
    pub fn requirement(&self) -> String {
        format!("{}{}", self.name, self.specifier)
    }

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        let specifier: String = row.get(3)?;
        let specifiers = VersionSpecifiers::from_str(&specifier).ok();
        let plain_bounds = specifiers.as_ref().and_then(plain_bounds);
        Ok(PolicyRecord {
            id: row.get(0)?,
            package_type: row.get(1)?,
            name: row.get(2)?,
            specifiers,
            plain_bounds,
            specifier,
            status: row.get(4)?,
            min_maturity: row.get(5)?,
            reason: row.get(6)?,
            requested_by: row.get(7)?,
            approved_by: row.get(8)?,
            approved_at: row.get(9)?,
            banned_by: row.get(10)?,
            expires_at: row.get(11)?,
            created_at: row.get(12)?,
            updated_at: row.get(13)?,
            expires_unix: row.get(14)?,
        })
    }
}

const COLUMNS: &str = "id, package_type, name, specifier, status, min_maturity, reason, requested_by, approved_by,
    approved_at, banned_by, expires_at, created_at, updated_at, (julianday(expires_at) - 2440587.5) * 86400.0";

/// Lower and upper bounds of a specifier set, each with whether it is inclusive.
type Bound = Option<(Version, bool)>;

fn bounds(specifiers: &VersionSpecifiers) -> (Bound, Bound) {
    let mut lower: Bound = None;
    let mut upper: Bound = None;
    let mut raise = |version: &Version, inclusive: bool| {
        let higher = match &lower {
            None => true,
            Some((current, current_inclusive)) => version > current || (version == current && !inclusive && *current_inclusive),
        };
        if higher {
            lower = Some((version.clone(), inclusive));
        }
    };
    let mut lower_upper = |version: &Version, inclusive: bool| {
        let lower_than = match &upper {
            None => true,
            Some((current, current_inclusive)) => version < current || (version == current && !inclusive && *current_inclusive),
        };
        if lower_than {
            upper = Some((version.clone(), inclusive));
        }
    };
    for specifier in specifiers.iter() {
        let version = specifier.version();
        match specifier.operator() {
            Operator::Equal => {
                raise(version, true);
                lower_upper(version, true);
            }
            Operator::GreaterThanEqual | Operator::TildeEqual | Operator::EqualStar => raise(version, true),
            Operator::GreaterThan => raise(version, false),
            Operator::LessThan => lower_upper(version, false),
            Operator::LessThanEqual => lower_upper(version, true),
            // `!=`, `===` and the like narrow a range without bounding it.
            _ => {}
        }
    }
    (lower, upper)
}

/// Tells whether two specifier sets may share a version, by their bounds.
fn ranges_may_overlap(first: &VersionSpecifiers, second: &VersionSpecifiers) -> bool {
    let (first_lower, first_upper) = bounds(first);
    let (second_lower, second_upper) = bounds(second);
    let lower = [first_lower, second_lower]
        .into_iter()
        .flatten()
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let upper = [first_upper, second_upper]
        .into_iter()
        .flatten()
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    match (lower, upper) {
        (Some((low, low_inclusive)), Some((high, high_inclusive))) => {
            low < high || (low == high && low_inclusive && high_inclusive)
        }
        _ => true,
    }
}

/// The maximum length of a policy requirement: a 214-character name (npm's
/// limit) and room for a long range.
const MAX_REQUIREMENT_LENGTH: usize = 1024;

/// A record's identity: package type, normalised name and canonical specifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyKey {
    pub package_type: &'static str,
    pub name: String,
    pub specifier: String,
}

impl PolicyKey {
    /// Parses `requirement` (`numpy>=1.26,<2`, or a bare name for every version).
    pub fn parse(package_type: &str, requirement: &str) -> Result<Self> {
        let package_type = self::package_type(package_type)?;
        if requirement.len() > MAX_REQUIREMENT_LENGTH {
            let preview: String = requirement.chars().take(80).collect();
            return Err(Error::InvalidArgument(format!(
                "policy requirement {preview:?}... is longer than {MAX_REQUIREMENT_LENGTH} characters"
            )));
        }
        if package_type == "npm" {
            return parse_npm(requirement);
        }
        let parsed = parse_requirement_line(requirement, 1)?;
        if !parsed.marker.is_true() {
            return Err(Error::InvalidArgument(format!(
                "policy requirement {requirement:?} has an environment marker; policies apply to every environment"
            )));
        }
        if !parsed.extras.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "policy requirement {requirement:?} names extras; a policy governs the whole distribution, so write it without them"
            )));
        }
        Ok(PolicyKey { package_type, name: parsed.name, specifier: canonical_specifiers(&parsed.specifiers) })
    }
}

/// Writes a specifier set in one canonical form, so that equal ranges spelled
/// differently (`>=1.26.0,<2.0` and `>=1.26, <2`) are one record. Trailing
/// zero release numbers are dropped where PEP 440 pads with zeros anyway
/// (every operator except `~=`, `===` and wildcards). Repeated clauses are removed.
fn canonical_specifiers(specifiers: &VersionSpecifiers) -> String {
    let trimmed: Vec<String> = specifiers
        .iter()
        .map(|specifier| {
            let ordered = is_ordered(*specifier.operator());
            let release = specifier.version().release();
            let keep = release.iter().rposition(|number| *number != 0).map_or(1, |index| index + 1);
            if !ordered || keep >= release.len() {
                return specifier.to_string();
            }
            let version = specifier.version().clone().with_release(release[..keep].to_vec());
            VersionSpecifier::from_version(*specifier.operator(), version)
                .map_or_else(|_| specifier.to_string(), |shorter| shorter.to_string())
        })
        .collect();
    // Parsing the joined clauses again sorts them as pep440_rs displays a set.
    let sorted = VersionSpecifiers::from_str(&trimmed.join(",")).map_or_else(|_| specifiers.to_string(), |set| set.to_string());
    let mut clauses: Vec<&str> = Vec::new();
    for clause in sorted.split(", ").filter(|clause| !clause.is_empty()) {
        if !clauses.contains(&clause) {
            clauses.push(clause);
        }
    }
    clauses.join(", ")
}

fn parse_npm(requirement: &str) -> Result<PolicyKey> {
    let text = requirement.trim();
    let split = text.find(|character: char| "<>=!~ ".contains(character)).unwrap_or(text.len());
    let (name, range) = text.split_at(split);
    let name = name.to_ascii_lowercase();
    let valid_part = |part: &str| {
        !part.is_empty() && part.chars().all(|character| character.is_ascii_alphanumeric() || "-._~".contains(character))
    };
    let valid = match name.strip_prefix('@') {
        Some(scoped) => scoped.split_once('/').is_some_and(|(scope, package)| valid_part(scope) && valid_part(package)),
        None => valid_part(&name) && !name.starts_with('.') && !name.starts_with('_'),
    };
    if !valid || name.len() > 214 {
        return Err(Error::InvalidArgument(format!(
            "invalid npm package name in {requirement:?}: expected a name such as left-pad or @scope/name"
        )));
    }
    let specifiers = VersionSpecifiers::from_str(range.trim()).map_err(|error| {
        Error::InvalidArgument(format!(
            "invalid version range in npm requirement {requirement:?}: {error}\nhint: write ranges as PEP 440 specifiers, for example lodash>=4.17,<5"
        ))
    })?;
    Ok(PolicyKey { package_type: "npm", name, specifier: canonical_specifiers(&specifiers) })
}

/// Loads every record of one package.
pub fn records_for(connection: &Connection, package_type: &str, name: &str) -> Result<Vec<PolicyRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM package_policies WHERE package_type = ?1 AND name = ?2"
    ))?;
    let records = statement
        .query_map(params![package_type, name], PolicyRecord::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(records)
}

/// Loads every record of the store in one query.
pub fn all_records(connection: &Connection) -> Result<Vec<PolicyRecord>> {
    let mut statement = connection.prepare_cached(&format!("SELECT {COLUMNS} FROM package_policies"))?;
    let records = statement.query_map([], PolicyRecord::from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(records)
}

/// The filter of [`list`]; `None` fields match every record.
#[derive(Default)]
pub struct ListFilter<'a> {
    pub status: Option<&'a str>,
    pub package_type: Option<&'a str>,
    /// A package name, normalised before comparing.
    pub name: Option<&'a str>,
}

/// Lists records ordered by type, name and range.
pub fn list(connection: &Connection, filter: &ListFilter<'_>) -> Result<Vec<PolicyRecord>> {
    let status = filter.status.map(status).transpose()?;
    let package_type = filter.package_type.map(package_type).transpose()?;
    let name = filter.name.map(|name| match package_type {
        Some("npm") => name.trim().to_ascii_lowercase(),
        _ => crate::requirement::normalize_name(name),
    });
    let mut statement = connection.prepare(&format!(
        "SELECT {COLUMNS} FROM package_policies
         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR package_type = ?2) AND (?3 IS NULL OR name = ?3)
         ORDER BY package_type, name, specifier"
    ))?;
    let records = statement
        .query_map(params![status, package_type, name], PolicyRecord::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(records)
}

/// Returns the record with exactly this key, if there is one.
pub fn select_one(connection: &Connection, key: &PolicyKey) -> Result<Option<PolicyRecord>> {
    Ok(connection
        .query_row(
            &format!("SELECT {COLUMNS} FROM package_policies WHERE package_type = ?1 AND name = ?2 AND specifier = ?3"),
            params![key.package_type, key.name, key.specifier],
            PolicyRecord::from_row,
        )
        .optional()?)
}

/// When a record lapses.
#[derive(Clone, Debug, PartialEq)]
pub enum Expiry {
    /// An ISO 8601 time, UTC unless it names an offset.
    At(String),
    /// Seconds from now.
    In(f64),
    /// A time as a policy export recorded it: taken as it is, even if it has
    /// passed, so that an import restores what was exported.
    Recorded(String),
}

/// Turns an expiry into the stored UTC form, refusing unreadable and past times.
fn expiry_text(connection: &Connection, key: &PolicyKey, expiry: Option<&Expiry>) -> Result<Option<String>> {
    let (stored, in_future): (Option<String>, bool) = match expiry {
        None => return Ok(None),
        Some(Expiry::At(text) | Expiry::Recorded(text)) => {
            let stored = utc_timestamp(connection, text)?;
            let in_future = match &stored {
                Some(stored) => connection.query_row("SELECT julianday(?1) > julianday('now')", [stored], |row| row.get(0))?,
                None => false,
            };
            (stored, in_future)
        }
        Some(Expiry::In(seconds)) => {
            if !seconds.is_finite() || *seconds <= 0.0 {
                return Err(Error::InvalidArgument(format!(
                    "invalid expiry for {}{}: expires_in must be a positive number of seconds, not {seconds}",
                    key.name, key.specifier
                )));
            }
            let modifier = format!("+{seconds:.3} seconds");
            let stored: Option<String> =
                connection.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?1)", [modifier], |row| row.get(0))?;
            if stored.is_none() {
                return Err(Error::InvalidArgument(format!(
                    "invalid expiry for {}{}: expires_in={seconds} seconds is beyond the dates SQLite can store",
                    key.name, key.specifier
                )));
            }
            (stored, true)
        }
    };
    let Some(stored) = stored else {
        let text = match expiry {
            Some(Expiry::At(text) | Expiry::Recorded(text)) => text.as_str(),
            _ => "",
        };
        return Err(Error::InvalidArgument(format!(
            "invalid expiry {text:?} for {}{}: expected an ISO 8601 time such as 2027-01-31 or 2027-01-31T12:00:00Z",
            key.name, key.specifier
        )));
    };
    if !in_future && !matches!(expiry, Some(Expiry::Recorded(_))) {
        return Err(Error::InvalidArgument(format!(
            "expiry {stored} for {}{} is not in the future",
            key.name, key.specifier
        )));
    }
    Ok(Some(stored))
}

/// A status set by an administrator (approve, ban, mark untrusted) or by a
/// policy import (any status).
pub struct Change<'a> {
    pub key: &'a PolicyKey,
    pub status: &'static str,
    pub min_maturity: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub actor: Option<&'a str>,
    /// Kept from the record when `None`.
    pub requested_by: Option<&'a str>,
    pub expiry: Option<&'a Expiry>,
    pub action: &'static str,
}

/// Inserts or updates the record for a key and audits the change. Call it
/// inside a transaction.
pub fn write(connection: &Connection, change: &Change<'_>) -> Result<PolicyRecord> {
    let key = change.key;
    let expires_at = expiry_text(connection, key, change.expiry)?;
    let before = select_one(connection, key)?;
    let approved_by = (change.status == STATUS_ACTIVE).then_some(change.actor).flatten();
    let banned_by = (change.status == STATUS_BANNED).then_some(change.actor).flatten();
    connection.execute(
        &format!(
            "INSERT INTO package_policies
               (package_type, name, specifier, status, min_maturity, reason, approved_by, approved_at, banned_by,
                expires_at, requested_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?4 = 'active' THEN {NOW} END, ?8, ?9, ?10, {NOW}, {NOW})
             ON CONFLICT (package_type, name, specifier) DO UPDATE SET
               status = excluded.status, min_maturity = excluded.min_maturity, reason = excluded.reason,
               requested_by = coalesce(excluded.requested_by, requested_by),
               approved_by = excluded.approved_by, approved_at = excluded.approved_at, banned_by = excluded.banned_by,
               expires_at = excluded.expires_at, updated_at = excluded.updated_at"
        ),
        params![
            key.package_type,
            key.name,
            key.specifier,
            change.status,
            change.min_maturity,
            change.reason,
            approved_by,
            banned_by,
            expires_at,
            change.requested_by
        ],
    )?;
    let after = select_one(connection, key)?
        .ok_or_else(|| Error::InvalidArgument(format!("policy record {}{} vanished while written", key.name, key.specifier)))?;
    audit_change(connection, change.action, change.actor, key, before.as_ref(), Some(&after))?;
    Ok(after)
}

/// Records a pending request unless an active (and unexpired), banned or
/// untrusted record already has the same key, and returns the record as stored.
pub fn request(connection: &Connection, key: &PolicyKey, requested_by: Option<&str>, reason: Option<&str>) -> Result<PolicyRecord> {
    let before = select_one(connection, key)?;
    if let Some(existing) = &before {
        // An approval that lapsed can be requested again; anything else in force stays.
        let lapsed_approval = existing.status == STATUS_ACTIVE && existing.is_expired(super::unix_now());
        if existing.status != STATUS_PENDING && !lapsed_approval {
            return Ok(existing.clone());
        }
    }
    connection.execute(
        &format!(
            "INSERT INTO package_policies
               (package_type, name, specifier, status, reason, requested_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5, {NOW}, {NOW})
             ON CONFLICT (package_type, name, specifier) DO UPDATE SET
               status = 'pending', min_maturity = NULL, approved_by = NULL, approved_at = NULL, expires_at = NULL,
               reason = excluded.reason, requested_by = excluded.requested_by, updated_at = excluded.updated_at"
        ),
        params![key.package_type, key.name, key.specifier, reason, requested_by],
    )?;
    let after = select_one(connection, key)?
        .ok_or_else(|| Error::InvalidArgument(format!("policy record {}{} vanished while written", key.name, key.specifier)))?;
    audit_change(connection, "package_requested", requested_by, key, before.as_ref(), Some(&after))?;
    Ok(after)
}

/// Removes the record with this key and audits its removal; `None` when there was none.
pub fn delete(connection: &Connection, key: &PolicyKey, actor: Option<&str>, reason: Option<&str>) -> Result<Option<PolicyRecord>> {
    let Some(before) = select_one(connection, key)? else {
        return Ok(None);
    };
    connection.execute("DELETE FROM package_policies WHERE id = ?1", [before.id])?;
    audit::record(
        connection,
        &AuditEvent {
            action: "package_revoked",
            actor,
            package: Some(&key.name),
            detail: json!({
                "package_type": key.package_type,
                "specifier": key.specifier,
                "reason": reason,
                "before": before,
                "after": null,
            }),
            ..Default::default()
        },
    )?;
    Ok(Some(before))
}

fn audit_change(
    connection: &Connection,
    action: &str,
    actor: Option<&str>,
    key: &PolicyKey,
    before: Option<&PolicyRecord>,
    after: Option<&PolicyRecord>,
) -> Result<()> {
    audit::record(
        connection,
        &AuditEvent {
            action,
            actor,
            package: Some(&key.name),
            detail: json!({
                "package_type": key.package_type,
                "specifier": key.specifier,
                "before": before,
                "after": after,
            }),
            ..Default::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specifiers(text: &str) -> VersionSpecifiers {
        VersionSpecifiers::from_str(text).unwrap()
    }

    #[test]
    fn overlap_follows_the_bounds() {
        let cases = [
            ("<2.32", ">=2.32", false),
            ("<2.32", ">=2.31", true),
            ("<=2.32", ">=2.32", true),
            ("<2.32", ">2.32", false),
            ("==1.0", ">=1.0,<2", true),
            ("==1.0", ">1.0", false),
            ("", ">=3", true),
            ("!=1.0", "==1.0", true),
            (">=1,<2", ">=2,<3", false),
            ("~=1.4", "<1.4", false),
        ];
        for (first, second, expected) in cases {
            assert_eq!(ranges_may_overlap(&specifiers(first), &specifiers(second)), expected, "{first} and {second}");
            assert_eq!(ranges_may_overlap(&specifiers(second), &specifiers(first)), expected, "{second} and {first}");
        }
    }

    #[test]
    fn plain_comparisons_agree_with_pep440_rs() {
        let ranges = [
            "<2.32", "<=2.32", ">2.32", ">=2.32", "==2.32", "!=2.32", ">=1.26,<2", "<2.0rc1", ">1.0.post1", "==1.0+local",
            "==2.*", "~=2.31", "", ">=1!1.0",
        ];
        let versions = ["1.0", "1.0.0", "1.26.4", "2.0", "2.31.0", "2.32", "2.32.0", "2.32.1", "3", "1!1.0", "0.9", "2.32.0rc1", "2.32.post1"];
        for range in ranges {
            let specifiers = specifiers(range);
            let record = PolicyRecord {
                id: 0,
                package_type: "python".into(),
                name: "x".into(),
                specifier: range.into(),
                status: STATUS_ACTIVE.into(),
                min_maturity: None,
                reason: None,
                requested_by: None,
                approved_by: None,
                approved_at: None,
                banned_by: None,
                expires_at: None,
                created_at: String::new(),
                updated_at: String::new(),
                plain_bounds: plain_bounds(&specifiers),
                specifiers: Some(specifiers.clone()),
                expires_unix: None,
            };
            for text in versions {
                let exact = ExactVersion::parse(text).unwrap();
                let version = Version::from_str(text).unwrap();
                assert_eq!(record.matches(&exact), specifiers.contains(&version), "{text} in {range:?}");
            }
        }
        assert!(matches!(ExactVersion::parse("1.26.4"), Ok(ExactVersion::Plain(_))));
        assert!(matches!(ExactVersion::parse("1.26.4rc1"), Ok(ExactVersion::Full(_))));
        assert!(ExactVersion::parse("1..2").is_err());
        assert!(matches!(ExactVersion::parse("1.2.3.4.5.6.7.8.9"), Ok(ExactVersion::Full(_))));
    }

    #[test]
    fn equal_ranges_get_one_key() {
        let key = |text: &str| PolicyKey::parse("python", text).unwrap().specifier;
        assert_eq!(key("numpy>=1.26.0,<2.0"), key("numpy>=1.26,<2"));
        assert_eq!(key("numpy<2,>=1.26"), key("numpy>=1.26,<2"));
        assert_eq!(key("six==1.16.0"), key("six==1.16"));
        assert_eq!(key("six>=1,>=1.0"), ">=1");
        assert_eq!(key("six==0.0"), "==0");
        assert_ne!(key("six~=1.4.0"), key("six~=1.4"));
        assert_ne!(key("six==1.0.*"), key("six==1.*"));
        assert_eq!(key("six>1.0.post1"), ">1.post1");
    }

    #[test]
    fn npm_keys_parse() {
        let key = PolicyKey::parse("npm", "@Types/Node>=20,<21").unwrap();
        assert_eq!((key.name.as_str(), key.specifier.as_str()), ("@types/node", ">=20, <21"));
        assert_eq!(PolicyKey::parse("NPM", "left-pad").unwrap().specifier, "");
        let error = PolicyKey::parse("npm", "lodash^4.17").unwrap_err().to_string();
        assert!(error.contains("lodash^4.17"), "{error}");
        let error = PolicyKey::parse("cargo", "serde").unwrap_err().to_string();
        assert!(error.contains("\"cargo\""), "{error}");
        assert!(error.contains("python, npm"), "{error}");
    }

    #[test]
    fn python_keys_normalised_and_checked() {
        let key = PolicyKey::parse("python", "Zope.Interface >= 5").unwrap();
        assert_eq!((key.name.as_str(), key.specifier.as_str()), ("zope-interface", ">=5"));
        assert!(PolicyKey::parse("python", "requests; python_version < '3.8'").is_err());
        assert!(PolicyKey::parse("python", "requests[socks]").unwrap_err().to_string().contains("extras"));
    }
}
