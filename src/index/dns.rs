//! A DNS resolver for the HTTP client that looks each host up once at a time
//! and reuses the answer for a minute.
//!
//! Resolution opens many connections to the same two or three hosts at once.
//! Looking the host up for each of them sends bursts of identical queries,
//! and some resolvers drop queries in such bursts, which costs the glibc
//! resolver's 5-second retry timeout (measured on the machine these tests run on).

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::OnceCell;

/// How long a successful lookup is reused.
const TIME_TO_LIVE: Duration = Duration::from_secs(60);

type Lookup = Arc<OnceCell<Result<Vec<SocketAddr>, String>>>;
type Lookups = Arc<Mutex<HashMap<String, (Instant, Lookup)>>>;

/// Single-flight, briefly cached lookups through the system resolver (`getaddrinfo`).
#[derive(Default)]
pub struct SharedResolver {
    lookups: Lookups,
}

impl Resolve for SharedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let lookups = self.lookups.clone();
        let lookup = {
            let mut table = lookups.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let expired = table.get(&host).is_none_or(|(started, _)| started.elapsed() > TIME_TO_LIVE);
            if expired {
                table.insert(host.clone(), (Instant::now(), Lookup::default()));
            }
            table[&host].1.clone()
        };
        Box::pin(async move {
            let outcome = lookup
                .get_or_init(|| {
                    let host = host.clone();
                    async move {
                        tokio::task::spawn_blocking(move || {
                            (host.as_str(), 0)
                                .to_socket_addrs()
                                .map(|addresses| addresses.collect::<Vec<_>>())
                                .map_err(|error| error.to_string())
                        })
                        .await
                        .unwrap_or_else(|error| Err(format!("the lookup task failed: {error}")))
                    }
                })
                .await
                .clone();
            match outcome {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                Err(error) => {
                    // A failure is not reused: the next connection looks the host up again.
                    lookups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&host);
                    Err(format!("failed to look up {host}: {error}").into())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[tokio::test]
    async fn concurrent_lookups_share_one_entry() {
        let resolver = SharedResolver::default();
        let lookups: Vec<Resolving> = (0..8).map(|_| resolver.resolve(Name::from_str("localhost").unwrap())).collect();
        for lookup in lookups {
            let addresses: Vec<SocketAddr> = lookup.await.unwrap().collect();
            assert!(addresses.iter().any(|address| address.ip().is_loopback()), "{addresses:?}");
        }
        let table = resolver.lookups.lock().unwrap();
        assert_eq!(table.len(), 1);
        assert!(table["localhost"].1.initialized());
    }

    #[tokio::test]
    async fn failed_lookup_is_not_reused() {
        let resolver = SharedResolver::default();
        let outcome = resolver.resolve(Name::from_str("no-such-host.invalid").unwrap()).await;
        assert!(outcome.is_err());
        assert!(resolver.lookups.lock().unwrap().is_empty());
    }
}
