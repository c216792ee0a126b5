//! The decision cache: bounded, least recently used first out, each entry
//! living at most a TTL and never past the expiry of a record it depends on.
//!
//! Invalidation is precise: a change to a package's records drops only that
//! package's decisions, a maturity change only that agent's. A commit made
//! through any other connection to the database (another process, or another
//! store in this one) empties the cache on the very next lookup; noticing it
//! costs a few nanoseconds (see [`Store::others_committed`]).
//!
//! A decision computed while a change was being made must not be cached after
//! the change's invalidation ran. Every invalidation bumps an epoch, and a
//! decision is only stored if the epoch is still the one its lookup saw.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lru::LruCache;
use serde::Serialize;

use super::Decision;
use crate::error::Result;
use crate::store::{CommitMark, Store};

/// Separates the parts of a cache key; it cannot occur in a normalised name or a version.
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

struct Entry {
    decision: Arc<Decision>,
    valid_until: Instant,
}

struct State {
    entries: Option<LruCache<Box<str>, Entry>>,
    mark: CommitMark,
    epoch: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
    invalidations: u64,
}

/// What a lookup found.
pub enum Lookup {
    Hit(Arc<Decision>),
    /// Not cached; pass the epoch to [`DecisionCache::insert`].
    Miss(u64),
}

pub struct DecisionCache {
    state: Mutex<State>,
    capacity: usize,
    ttl: Duration,
}

impl DecisionCache {
    /// A cache of at most `capacity` decisions (0 turns caching off), each
    /// kept at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        DecisionCache {
            state: Mutex::new(State {
                entries: NonZeroUsize::new(capacity).map(LruCache::new),
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
        let now = Instant::now();
        let found = match state.entries.as_mut().and_then(|entries| entries.get(key)) {
            Some(entry) if entry.valid_until > now => Some(entry.decision.clone()),
            Some(_) => {
                if let Some(entries) = state.entries.as_mut() {
                    entries.pop(key);
                }
                None
            }
            None => None,
        };
        match found {
            Some(decision) => {
                state.hits += 1;
                Ok(Lookup::Hit(decision))
            }
            None => {
                state.misses += 1;
                Ok(Lookup::Miss(state.epoch))
            }
        }
    }

    /// Stores a decision computed after a lookup returned `Miss(epoch)`,
    /// unless an invalidation ran since. It is kept until `valid_until` or
    /// the TTL, whichever comes first.
    pub fn insert(&self, key: &str, decision: Arc<Decision>, epoch: u64, valid_until: Option<Instant>) {
        let deadline = Instant::now() + self.ttl;
        let valid_until = valid_until.map_or(deadline, |until| until.min(deadline));
        let mut state = self.lock();
        if state.epoch != epoch {
            return;
        }
        let Some(entries) = state.entries.as_mut() else {
            return;
        };
        let full = entries.len() == entries.cap().get();
        let replaced = entries.push(key.into(), Entry { decision, valid_until });
        if full && replaced.is_some_and(|(old_key, _)| &*old_key != key) {
            state.evictions += 1;
        }
    }

    /// Drops the decisions about one package.
    pub fn invalidate_package(&self, package_type: &str, name: &str) {
        self.invalidate_where(|key| {
            // Keys are: resolver, agent, package type, name, version.
            let mut parts = key.split(KEY_SEPARATOR).skip(2);
            parts.next() == Some(package_type) && parts.next() == Some(name)
        });
    }

    /// Drops the decisions about one agent.
    pub fn invalidate_agent(&self, agent_id: &str) {
        self.invalidate_where(|key| key.split(KEY_SEPARATOR).nth(1) == Some(agent_id));
    }

    /// Drops every decision.
    pub fn clear(&self) {
        clear(&mut self.lock());
    }

    fn invalidate_where(&self, doomed: impl Fn(&str) -> bool) {
        let mut state = self.lock();
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
    if let Some(entries) = state.entries.as_mut() {
        state.invalidations += entries.len() as u64;
        entries.clear();
    }
}
