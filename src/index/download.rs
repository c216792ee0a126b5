//! Concurrent, verified downloads of a lock's wheels into the content-addressed wheel cache.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::IndexClient;
use crate::error::Result;
use crate::resolve::LockedPackage;

/// How many wheels download at once.
const CONCURRENT_DOWNLOADS: usize = 8;

/// One wheel of a lock in the cache.
#[derive(Clone, Debug, Serialize)]
pub struct CachedWheel {
    pub wheel: String,
    pub path: PathBuf,
    /// False when the cache already had a verified copy.
    pub downloaded: bool,
}

/// A progress callback: wheels finished so far, wheels in total, the wheel just finished.
pub type Progress = Arc<dyn Fn(usize, usize, &str) + Send + Sync>;

/// Downloads every package into `<cache_dir>/<sha256>/<wheel>`, verifying each
/// sha256 (cached copies too), and returns them in the order of `packages`.
/// The first failure, a hash mismatch included, fails the whole call.
pub async fn download_all(client: &IndexClient, packages: &[LockedPackage], cache_dir: &Path, progress: Option<Progress>) -> Result<Vec<CachedWheel>> {
    let total = packages.len();
    let finished = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<Job> = packages
        .iter()
        .map(|package| Job {
            client: client.clone(),
            cache: cache_dir.to_path_buf(),
            package: package.clone(),
            finished: finished.clone(),
            total,
            progress: progress.clone(),
        })
        .collect();
    // A named async function (rather than a closure) keeps the stream's
    // future Send for every lifetime, which spawned tasks require.
    let results: Vec<Result<CachedWheel>> = stream::iter(jobs).map(download_one).buffered(CONCURRENT_DOWNLOADS).collect().await;
    results.into_iter().collect()
}

struct Job {
    client: IndexClient,
    cache: PathBuf,
    package: LockedPackage,
    finished: Arc<AtomicUsize>,
    total: usize,
    progress: Option<Progress>,
}

async fn download_one(job: Job) -> Result<CachedWheel> {
    let package = &job.package;
    let cached = job.cache.join(&package.sha256).join(&package.wheel).exists();
    let path = job.client.download_verified(&package.wheel, &package.url, &package.sha256, &job.cache).await?;
    let count = job.finished.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(report) = &job.progress {
        report(count, job.total, &package.wheel);
    }
    Ok(CachedWheel {
        wheel: package.wheel.clone(),
        path,
        downloaded: !cached,
    })
}
