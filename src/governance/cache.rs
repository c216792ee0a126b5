//! The decision cache: bounded, least recently used first out, each entry
//! living at most a TTL and never past the expiry of a record it depends on.
//!
//! Invalidation is precise: a change to a package's records drops only that
//! package's decisions, a maturity change only that agent's. A commit made
//! through any other connection to the database (another process, or another
//! store in this one) empties the cache on the very next lookup. Noticing
//! such a commit costs a few nanoseconds (see [`Store::others_committed`]).
//!
//! Behind the decisions the cache keeps what they are computed from: every
//! policy record of the store, read in one query and kept per package, and
//! the states of agents from skillguard's own table. A package's change marks
//! only that package for reading again.
//!
//! A decision computed while a change was being made must not be cached after
//! the change's invalidation ran. Every invalidation bumps an epoch, and
//! decisions, records and agent states are only stored if the epoch is still
//! the one their lookup saw.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use lru::LruCache;
use serde::Serialize;

use super::{Decision, PolicyRecord};
use crate::error::Result;
use crate::store::{CommitMark, Store};

/// The separator of a cache key's parts, a character no normalised name or version contains.
pub const KEY_SEPARATOR: char = '\u{1f}';

/// Counters and sizes of the cache.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CacheStats {
    pub size: usize,
    pub capacity: usize,
    pub ttl_seconds: f64,
    pub hits: u64,
    pub misses: u64,
    pub hit_rate: f64,
    /// Entries pushed out to make room.
    pub evictions: u64,
    /// Entries dropped because a change made them possibly wrong.
    pub invalidations: u64,
}

/// A cached decision, with the slot where a language binding keeps its view
/// of it so that the view is made once rather than on every hit. The slot
/// lives beside the decision, not in it, because a view that references the
/// decision would otherwise keep itself alive.
#[derive(Debug)]
pub struct Cached {
    pub decision: Arc<Decision>,
    pub view: OnceLock<Arc<dyn Any + Send + Sync>>,
}

impl Cached {
    pub fn new(decision: Decision) -> Arc<Self> {
        Arc::new(Cached { decision: Arc::new(decision), view: OnceLock::new() })
    }
}

struct Entry {
    cached: Arc<Cached>,
    valid_until: Instant,
}

/// The records of one package, shared by the decisions computed from them.
pub type PackageRecords = Arc<[Arc<PolicyRecord>]>;

/// Every policy record of the store by `type<separator>name`, with the
/// packages changed since it was read.
struct Snapshot {
    packages: HashMap<Box<str>, PackageRecords>,
    stale: HashSet<Box<str>>,
}

/// The cache's state for one package's records.
pub enum Records {
    Known(PackageRecords),
    /// Read this package from the store.
    ReadPackage,
    /// Read every record from the store (nothing is cached yet).
    ReadAll,
}

struct State {
    entries: Option<LruCache<Box<str>, Entry>>,
    snapshot: Option<Snapshot>,
    agents: HashMap<Box<str>, Option<String>>,
    mark: CommitMark,
    epoch: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
    invalidations: u64,
}

/// The outcome of a lookup.
pub enum Lookup {
    Hit(Arc<Cached>),
    /// Not cached; pass the epoch to [`DecisionCache::insert`].
    Miss(u64),
}

pub struct DecisionCache {
    state: Mutex<State>,
    capacity: usize,
    ttl: Duration,
}

impl DecisionCache {
    /// Creates a cache of at most `capacity` decisions (0 turns caching off),
    /// each kept at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        DecisionCache {
            state: Mutex::new(State {
                entries: NonZeroUsize::new(capacity).map(LruCache::new),
                snapshot: None,
                agents: HashMap::new(),
                mark: CommitMark::default(),
                epoch: 0,
                hits: 0,
                misses: 0,
                evictions: 0,
                invalidations: 0,
            }),
            capacity,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Looks `key` up, after dropping everything if another connection
    /// committed since the last lookup.
    ///
    /// Takes the store's lock only when the database changed, so the caller
    /// must not hold it.
    pub fn lookup(&self, store: &Store, key: &str) -> Result<Lookup> {
        let mut state = self.lock();
        if store.others_committed(&mut state.mark)? {
            clear(&mut state);
        }
        Ok(lookup_locked(&mut state, key, Instant::now()))
    }

    /// Looks many keys up under one lock; returns the hits (`None` for a
    /// miss) and the epoch to store the missing decisions with.
    pub fn lookup_many(&self, store: &Store, keys: &[Box<str>]) -> Result<(Vec<Option<Arc<Cached>>>, u64)> {
        let mut state = self.lock();
        if store.others_committed(&mut state.mark)? {
            clear(&mut state);
        }
        let now = Instant::now();
        let found = keys
            .iter()
            .map(|key| match lookup_locked(&mut state, key, now) {
                Lookup::Hit(cached) => Some(cached),
                Lookup::Miss(_) => None,
            })
            .collect();
        Ok((found, state.epoch))
    }

    /// Stores a decision computed after a lookup returned `Miss(epoch)`,
    /// unless an invalidation ran since. It is kept until `valid_until` or
    /// the TTL, whichever comes first.
    pub fn insert(&self, key: &str, cached: Arc<Cached>, epoch: u64, valid_until: Option<Instant>) {
        self.insert_many(vec![(key.into(), cached, valid_until)], epoch);
    }

    /// Stores many decisions under one lock; see [`DecisionCache::insert`].
    pub fn insert_many(&self, decisions: Vec<(Box<str>, Arc<Cached>, Option<Instant>)>, epoch: u64) {
        let deadline = Instant::now() + self.ttl;
        let mut state = self.lock();
        if state.epoch != epoch {
            return;
        }
        let Some(entries) = state.entries.as_mut() else {
            return;
        };
        let mut evictions = 0;
        for (key, cached, valid_until) in decisions {
            let valid_until = valid_until.map_or(deadline, |until| until.min(deadline));
            let full = entries.len() == entries.cap().get();
            let replaced = entries.push(key.clone(), Entry { cached, valid_until });
            if full && replaced.is_some_and(|(old_key, _)| old_key != key) {
                evictions += 1;
            }
        }
        state.evictions += evictions;
    }

    /// Returns the cache's state for a package's records
    /// (`package_key` is `type<separator>name`).
    pub fn records(&self, package_key: &str) -> Records {
        records_locked(&self.lock(), package_key)
    }

    /// Returns what the cache holds of many packages' records, under one lock.
    pub fn records_many(&self, package_keys: &[&str]) -> Vec<Records> {
        let state = self.lock();
        package_keys.iter().map(|key| records_locked(&state, key)).collect()
    }

    /// Keeps every record of the store, read after a lookup that returned `epoch`.
    pub fn store_snapshot(&self, packages: HashMap<Box<str>, PackageRecords>, epoch: u64) {
        let mut state = self.lock();
        if state.epoch == epoch && state.entries.is_some() {
            state.snapshot = Some(Snapshot { packages, stale: HashSet::new() });
        }
    }

    /// Keeps one package's records, read after a lookup that returned `epoch`.
    pub fn store_package(&self, package_key: &str, records: PackageRecords, epoch: u64) {
        let mut state = self.lock();
        if state.epoch != epoch {
            return;
        }
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.stale.remove(package_key);
            snapshot.packages.insert(package_key.into(), records);
        }
    }

    /// Returns an agent's state from skillguard's table if the cache holds it.
    pub fn agent(&self, agent_id: &str) -> Option<Option<String>> {
        self.lock().agents.get(agent_id).cloned()
    }

    /// Keeps an agent's state, read after a lookup that returned `epoch`.
    pub fn store_agent(&self, agent_id: &str, agent_state: Option<String>, epoch: u64) {
        let mut state = self.lock();
        if state.epoch != epoch || state.entries.is_none() {
            return;
        }
        if state.agents.len() >= self.capacity {
            state.agents.clear();
        }
        state.agents.insert(agent_id.into(), agent_state);
    }

    /// Drops the decisions about one package and marks its records for reading again.
    pub fn invalidate_package(&self, package_type: &str, name: &str) {
        let package_key = format!("{package_type}{KEY_SEPARATOR}{name}");
        // One critical section: a reader must not store records read before
        // the change between the marking and the epoch bump.
        let mut state = self.lock();
        if let Some(snapshot) = state.snapshot.as_mut() {
            snapshot.packages.remove(package_key.as_str());
            snapshot.stale.insert(package_key.into());
        }
        drop_where(&mut state, |key| {
            // Keys are: resolver, agent, package type, name, version.
            let mut parts = key.split(KEY_SEPARATOR).skip(2);
            parts.next() == Some(package_type) && parts.next() == Some(name)
        });
    }

    /// Drops the decisions about one agent and its cached state.
    pub fn invalidate_agent(&self, agent_id: &str) {
        let mut state = self.lock();
        state.agents.remove(agent_id);
        drop_where(&mut state, |key| key.split(KEY_SEPARATOR).nth(1) == Some(agent_id));
    }

    /// Drops every decision, record and agent state.
    pub fn clear(&self) {
        clear(&mut self.lock());
    }

    pub fn stats(&self) -> CacheStats {
        let state = self.lock();
        let lookups = state.hits + state.misses;
        CacheStats {
            size: state.entries.as_ref().map_or(0, LruCache::len),
            capacity: self.capacity,
            ttl_seconds: self.ttl.as_secs_f64(),
            hits: state.hits,
            misses: state.misses,
            hit_rate: if lookups == 0 { 0.0 } else { state.hits as f64 / lookups as f64 },
            evictions: state.evictions,
            invalidations: state.invalidations,
        }
    }
}

fn clear(state: &mut State) {
    state.epoch += 1;
    state.snapshot = None;
    state.agents.clear();
    if let Some(entries) = state.entries.as_mut() {
        state.invalidations += entries.len() as u64;
        entries.clear();
    }
}

/// Drops the decisions whose keys are `doomed`, bumping the epoch.
fn drop_where(state: &mut State, doomed: impl Fn(&str) -> bool) {
    state.epoch += 1;
    let Some(entries) = state.entries.as_mut() else {
        return;
    };
    let keys: Vec<Box<str>> = entries.iter().filter(|(key, _)| doomed(key)).map(|(key, _)| key.clone()).collect();
    for key in &keys {
        entries.pop(key);
    }
    state.invalidations += keys.len() as u64;
}

fn lookup_locked(state: &mut State, key: &str, now: Instant) -> Lookup {
    let found = match state.entries.as_mut().and_then(|entries| entries.get(key)) {
        Some(entry) if entry.valid_until > now => Some(entry.cached.clone()),
        Some(_) => {
            if let Some(entries) = state.entries.as_mut() {
                entries.pop(key);
            }
            None
        }
        None => None,
    };
    match found {
        Some(cached) => {
            state.hits += 1;
            Lookup::Hit(cached)
        }
        None => {
            state.misses += 1;
            Lookup::Miss(state.epoch)
        }
    }
}

fn records_locked(state: &State, package_key: &str) -> Records {
    match &state.snapshot {
        _ if state.entries.is_none() => Records::ReadPackage,
        None => Records::ReadAll,
        Some(snapshot) if snapshot.stale.contains(package_key) => Records::ReadPackage,
        Some(snapshot) => Records::Known(snapshot.packages.get(package_key).cloned().unwrap_or_else(|| Arc::new([]))),
    }
}
