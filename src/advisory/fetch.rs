//! Importing from a path or an HTTP(S) URL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{AdvisoryDb, ImportReport};
use crate::error::{Error, Result};
use crate::index::mask_url;

/// Progress of a download: bytes so far and the total when the server sent one.
pub type Progress = dyn Fn(u64, Option<u64>) + Send + Sync;

impl AdvisoryDb {
    /// Imports from a directory, `.zip` or `.tar.gz` path, or downloads an
    /// HTTP(S) URL to one of those first (reporting progress) and imports it.
    pub async fn import_source(&self, source: &str, progress: &Progress) -> Result<ImportReport> {
        let source = source.trim();
        if !(source.starts_with("https://") || source.starts_with("http://")) {
            let path = Path::new(source);
            let database = self.clone();
            let label = source.to_string();
            let owned: PathBuf = path.to_path_buf();
            return tokio::task::spawn_blocking(move || database.import_path(&owned, &label))
                .await
                .map_err(|error| Error::Advisory(format!("advisory import failed: {error}")))?;
        }

        let file_name = source
            .split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').next())
            .filter(|name| name.ends_with(".zip") || name.ends_with(".tar.gz") || name.ends_with(".tgz"))
            .ok_or_else(|| {
                Error::Advisory(format!(
                    "advisory URL {} must name a .zip or .tar.gz file",
                    mask_url(source)
                ))
            })?
            .to_string();
        let directory = std::env::temp_dir().join(format!("skillguard-advisories-{}-{}", std::process::id(), rand::random::<u64>()));
        tokio::fs::create_dir_all(&directory).await.map_err(|error| Error::io("failed to create directory", &directory, error))?;
        let path = directory.join(&file_name);
        let outcome = async {
            download(source, &path, progress).await?;
            let database = self.clone();
            let label = mask_url(source);
            let owned = path.clone();
            tokio::task::spawn_blocking(move || database.import_path(&owned, &label))
                .await
                .map_err(|error| Error::Advisory(format!("advisory import failed: {error}")))?
        }
        .await;
        if let Err(error) = tokio::fs::remove_dir_all(&directory).await {
            log::warn!("failed to remove {}: {error}", directory.display());
        }
        outcome
    }
}

async fn download(url: &str, path: &Path, progress: &Progress) -> Result<()> {
    let unreachable = |error: reqwest::Error| {
        Error::Advisory(format!(
            "failed to download advisories from {}: {error}\nhint: point SKILLGUARD_ADVISORY_SOURCE at a local copy of an OSV export (a directory, .zip or .tar.gz)",
            mask_url(url)
        ))
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(unreachable)?;
    let response = client.get(url).send().await.map_err(unreachable)?.error_for_status().map_err(unreachable)?;
    let total = response.content_length();
    let mut file = tokio::fs::File::create(path).await.map_err(|error| Error::io("failed to create", path, error))?;
    let mut received = 0u64;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreachable)?;
        received += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(|error| Error::io("failed to write", path, error))?;
        progress(received, total);
    }
    file.flush().await.map_err(|error| Error::io("failed to write", path, error))?;
    Ok(())
}

/// Returns the advisory source: `SKILLGUARD_ADVISORY_SOURCE`, else OSV's public PyPI export.
pub fn configured_source() -> String {
    std::env::var(super::SOURCE_VARIABLE)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| super::DEFAULT_SOURCE.to_string())
}

impl AdvisoryDb {
    /// Imports from the configured source when the database is missing,
    /// empty or older than `max_age_days`; returns the import it made, if any.
    pub async fn sync_if_needed(&self, max_age_days: f64, progress: &Progress) -> Result<Option<ImportReport>> {
        if self.require_usable(max_age_days).is_ok() {
            return Ok(None);
        }
        let source = configured_source();
        log::info!("advisory database missing or stale; importing from {}", mask_url(&source));
        let report = self.import_source(&source, progress).await?;
        self.require_usable(max_age_days)?;
        Ok(Some(report))
    }
}
