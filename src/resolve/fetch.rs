//! Shared, deduplicated fetches of project pages and wheel metadata, so the
//! solver can ask for one while earlier requests for others are in flight.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::{OnceCell, Semaphore};

use super::candidates::{self, Filter, Release};
use crate::error::{Error, Result};
use crate::index::tags::SupportedTags;
use crate::index::{is_offline_miss, IndexClient, IndexFile};
use pep508_rs::pep440_rs::Version;

/// How many index requests run at once.
const CONCURRENT_REQUESTS: usize = 24;

/// A project's releases for the target.
#[derive(Debug)]
pub struct Project {
    /// Releases newest first; empty when the project was not found.
    pub releases: Vec<Release>,
    /// The sources that were searched, set when none of them has the project.
    pub not_found_on: Option<String>,
}

/// Metadata of one wheel that resolution reads.
#[derive(Debug)]
pub struct WheelMetadata {
    pub requires_dist: Vec<String>,
    pub requires_python: Option<String>,
}

type Shared<T> = Arc<OnceCell<std::result::Result<Arc<T>, Arc<Error>>>>;

/// The fetcher of one resolution.
pub struct Fetcher {
    client: IndexClient,
    tags: SupportedTags,
    python: Version,
    uploaded_before: Option<String>,
    target: String,
    permits: Semaphore,
    projects: Mutex<HashMap<String, Shared<Project>>>,
    metadata: Mutex<HashMap<String, Shared<WheelMetadata>>>,
    /// Cache entries that offline mode needed and could not find, described for messages.
    offline_misses: Mutex<BTreeSet<String>>,
}

impl Fetcher {
    pub fn new(client: IndexClient, tags: SupportedTags, python: Version, uploaded_before: Option<String>, target: String) -> Self {
        Fetcher {
            client,
            tags,
            python,
            uploaded_before,
            target,
            permits: Semaphore::new(CONCURRENT_REQUESTS),
            projects: Mutex::new(HashMap::new()),
            metadata: Mutex::new(HashMap::new()),
            offline_misses: Mutex::new(BTreeSet::new()),
        }
    }

    /// Returns the entries offline mode found missing so far.
    pub fn offline_misses(&self) -> Vec<String> {
        self.offline_misses.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect()
    }

    fn note_miss(&self, error: &Error, entry: String) {
        if is_offline_miss(error) {
            self.offline_misses.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(entry);
        }
    }

    /// Returns the client this fetcher reads through.
    pub fn client(&self) -> &IndexClient {
        &self.client
    }

    /// Returns the releases of `name`, fetching its project page once.
    pub async fn project(&self, name: &str) -> Result<Arc<Project>> {
        let cell = slot(&self.projects, name);
        let outcome = cell
            .get_or_init(|| async {
                let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
                let filter = Filter {
                    tags: &self.tags,
                    python: &self.python,
                    uploaded_before: self.uploaded_before.as_deref(),
                    target: &self.target,
                };
                // The releases depend on the page and the target only, unless a
                // cool-down cutoff (which moves with the clock) filters them too.
                let key = format!("releases-v1 {}", self.target);
                let key = self.uploaded_before.is_none().then_some(key.as_str());
                let releases = self
                    .client
                    .project_derived(name, key, |files| candidates::releases(name, files, &filter))
                    .await
                    .inspect_err(|error| self.note_miss(error, format!("the project page of {name}")))
                    .map_err(Arc::new)?;
                let project = match releases {
                    Some(releases) => Project {
                        releases,
                        not_found_on: None,
                    },
                    None => Project {
                        releases: Vec::new(),
                        not_found_on: Some(self.client.display_url()),
                    },
                };
                Ok(Arc::new(project))
            })
            .await;
        outcome.clone().map_err(|error| copy_error(&error))
    }

    /// Returns the metadata of a wheel, fetching it once.
    pub async fn metadata(&self, file: &IndexFile) -> Result<Arc<WheelMetadata>> {
        let cell = slot(&self.metadata, &file.url);
        let outcome = cell
            .get_or_init(|| async {
                let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
                let fields = self
                    .client
                    .wheel_metadata(file)
                    .await
                    .inspect_err(|error| self.note_miss(error, format!("the metadata of {}", file.filename)))
                    .map_err(Arc::new)?;
                Ok(Arc::new(WheelMetadata {
                    requires_dist: fields.requires_dist,
                    requires_python: fields.requires_python,
                }))
            })
            .await;
        outcome.clone().map_err(|error| copy_error(&error))
    }
}

fn slot<T>(map: &Mutex<HashMap<String, Shared<T>>>, key: &str) -> Shared<T> {
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(key.to_string()).or_default().clone()
}

/// Rebuilds a shared error for one more caller, keeping its kind.
fn copy_error(error: &Error) -> Error {
    match error {
        Error::Resolution(message) => Error::Resolution(message.clone()),
        Error::InvalidArgument(message) => Error::InvalidArgument(message.clone()),
        other => Error::Index(other.to_string()),
    }
}
