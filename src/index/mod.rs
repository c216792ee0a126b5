//! The package-index client: project pages through the JSON simple API
//! (PEP 691), wheel metadata (PEP 658), and verified wheel downloads.

pub mod metadata;
pub mod tags;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::error::{Error, Result};

/// The index used when neither the caller nor `PIP_INDEX_URL` names one.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

/// One file of a project as the index lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct IndexFile {
    pub filename: String,
    pub url: String,
    #[serde(default)]
    pub hashes: std::collections::HashMap<String, String>,
    #[serde(rename = "requires-python")]
    pub requires_python: Option<String>,
    #[serde(default)]
    pub yanked: Yanked,
    #[serde(rename = "core-metadata", alias = "dist-info-metadata", default)]
    pub core_metadata: CoreMetadata,
    pub size: Option<u64>,
    /// PEP 700 upload time, ISO 8601 in UTC.
    #[serde(rename = "upload-time")]
    pub upload_time: Option<String>,
}

impl IndexFile {
    /// The file's sha256, which every file skillguard installs must have.
    pub fn sha256(&self) -> Option<&str> {
        self.hashes.get("sha256").map(String::as_str)
    }
}

/// PEP 592: `false`, `true`, or the reason as a string.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum Yanked {
    #[default]
    No,
    Flag(bool),
    Reason(String),
}

impl Yanked {
    pub fn is_yanked(&self) -> bool {
        matches!(self, Yanked::Flag(true) | Yanked::Reason(_))
    }
}

/// PEP 658/714: whether `<url>.metadata` can be fetched instead of the wheel.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(untagged)]
pub enum CoreMetadata {
    #[default]
    Absent,
    Flag(bool),
    Hashes(std::collections::HashMap<String, String>),
}

impl CoreMetadata {
    pub fn is_available(&self) -> bool {
        matches!(self, CoreMetadata::Flag(true) | CoreMetadata::Hashes(_))
    }
}

#[derive(Deserialize)]
struct ProjectPage {
    files: Vec<IndexFile>,
}

/// A client of one package index.
#[derive(Clone)]
pub struct IndexClient {
    http: reqwest::Client,
    index_url: Url,
}

impl IndexClient {
    /// Creates a client for `index_url`, else `PIP_INDEX_URL`, else PyPI.
    pub fn new(index_url: Option<&str>) -> Result<Self> {
        let from_environment = std::env::var("PIP_INDEX_URL").ok().filter(|value| !value.is_empty());
        let raw = index_url.map(str::to_string).or(from_environment).unwrap_or_else(|| DEFAULT_INDEX_URL.into());
        let mut index_url = Url::parse(&raw)
            .map_err(|error| Error::InvalidArgument(format!("invalid index URL {}: {error}", mask_url(&raw))))?;
        if !matches!(index_url.scheme(), "https" | "http") {
            return Err(Error::InvalidArgument(format!(
                "invalid index URL {}: expected an http or https URL",
                mask_url(&raw)
            )));
        }
        if !index_url.path().ends_with('/') {
            index_url.set_path(&format!("{}/", index_url.path()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("skillguard/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|error| Error::Index(format!("failed to create the HTTP client: {error}")))?;
        Ok(IndexClient { http, index_url })
    }

    /// Returns the index URL with any credentials masked, for messages.
    pub fn display_url(&self) -> String {
        mask_url(self.index_url.as_str())
    }

    /// Lists the files of a project (`name` already normalised); `None` when the index does not have it.
    pub async fn project_files(&self, name: &str) -> Result<Option<Vec<IndexFile>>> {
        let url = self
            .index_url
            .join(&format!("{name}/"))
            .map_err(|error| Error::Index(format!("invalid project URL for {name}: {error}")))?;
        log::debug!("fetching project page {}", mask_url(url.as_str()));
        let response = self
            .http
            .get(url.clone())
            .header("Accept", "application/vnd.pypi.simple.v1+json")
            .send()
            .await
            .map_err(|error| self.unreachable(&url, error))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = response
            .error_for_status()
            .map_err(|error| Error::Index(format!("index {} failed for {name}: {error}", self.display_url())))?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !content_type.contains("json") {
            // TODO: fall back to the HTML simple API (PEP 503) for indexes without PEP 691.
            return Err(Error::Index(format!(
                "index {} returned {content_type:?} for {name}, not the JSON simple API (PEP 691)",
                self.display_url()
            )));
        }
        let body = response.bytes().await.map_err(|error| self.unreachable(&url, error))?;
        let page: ProjectPage = serde_json::from_slice(&body)
            .map_err(|error| Error::Index(format!("invalid project page for {name} from {}: {error}", self.display_url())))?;
        let base = url;
        Ok(Some(page
            .files
            .into_iter()
            .map(|mut file| {
                // PEP 691 allows URLs relative to the project page.
                if let Ok(absolute) = base.join(&file.url) {
                    file.url = absolute.to_string();
                }
                file
            })
            .collect()))
    }

    /// Fetches the core metadata of a wheel: the PEP 658 file when the index
    /// offers one, else the `METADATA` member of the wheel itself.
    pub async fn wheel_metadata(&self, file: &IndexFile) -> Result<metadata::CoreMetadataFields> {
        let text = if file.core_metadata.is_available() {
            let url = format!("{}.metadata", strip_fragment(&file.url));
            let bytes = self.get_bytes(&url).await?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let bytes = self.get_bytes(strip_fragment(&file.url)).await?;
            metadata::metadata_from_wheel(&file.filename, &bytes)?
        };
        Ok(metadata::parse(&text))
    }

    async fn get_bytes(&self, url: &str) -> Result<Vec<u8>> {
        let parsed = Url::parse(url).map_err(|error| Error::Index(format!("invalid URL {}: {error}", mask_url(url))))?;
        let response = self.http.get(parsed.clone()).send().await.map_err(|error| self.unreachable(&parsed, error))?;
        let response = response
            .error_for_status()
            .map_err(|error| Error::Index(format!("download of {} failed: {error}", mask_url(url))))?;
        let body = response.bytes().await.map_err(|error| self.unreachable(&parsed, error))?;
        Ok(body.to_vec())
    }

    /// Downloads a wheel into the content-addressed cache under `cache_dir`
    /// and verifies its sha256; a cached copy is verified again before use.
    pub async fn download_verified(&self, filename: &str, url: &str, sha256: &str, cache_dir: &Path) -> Result<PathBuf> {
        let directory = cache_dir.join(sha256);
        let destination = directory.join(filename);
        if destination.exists() {
            let cached = tokio::fs::read(&destination).await.map_err(|error| Error::io("failed to read", &destination, error))?;
            if hex::encode(Sha256::digest(&cached)) == sha256 {
                log::debug!("wheel cache hit for {filename}");
                return Ok(destination);
            }
            log::warn!("cached wheel {} does not match its sha256; downloading it again", destination.display());
        }
        tokio::fs::create_dir_all(&directory).await.map_err(|error| Error::io("failed to create directory", &directory, error))?;

        let parsed = Url::parse(url).map_err(|error| Error::Index(format!("invalid URL {}: {error}", mask_url(url))))?;
        let response = self.http.get(parsed.clone()).send().await.map_err(|error| self.unreachable(&parsed, error))?;
        let response = response
            .error_for_status()
            .map_err(|error| Error::Index(format!("download of {filename} failed: {error}")))?;

        // Write to a temporary name and rename only after the hash matched, so
        // the cache never contains a partial or unverified file under the real name.
        let partial = directory.join(format!(".{filename}.{}.partial", std::process::id()));
        let mut output = tokio::fs::File::create(&partial).await.map_err(|error| Error::io("failed to create", &partial, error))?;
        let mut hasher = Sha256::new();
        let mut stream = response.bytes_stream();
        let outcome: Result<()> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|error| self.unreachable(&parsed, error))?;
                hasher.update(&chunk);
                output.write_all(&chunk).await.map_err(|error| Error::io("failed to write", &partial, error))?;
            }
            output.flush().await.map_err(|error| Error::io("failed to write", &partial, error))?;
            Ok(())
        }
        .await;
        if let Err(error) = outcome {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(error);
        }
        let actual = hex::encode(hasher.finalize());
        if actual != sha256 {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(Error::Index(format!(
                "hash mismatch for {filename}: the lock expects sha256 {sha256}, the download has {actual}\nhint: the index served a different file than it listed; the wheel was not used"
            )));
        }
        tokio::fs::rename(&partial, &destination).await.map_err(|error| Error::io("failed to rename", &partial, error))?;
        Ok(destination)
    }

    fn unreachable(&self, url: &Url, error: reqwest::Error) -> Error {
        Error::Index(format!(
            "package index unreachable: request to {} failed: {error}\nhint: check the network, PIP_INDEX_URL and SSL_CERT_FILE",
            mask_url(url.as_str())
        ))
    }
}

fn strip_fragment(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

/// Replaces the password (or a lone user token) of a URL with `***`.
pub fn mask_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            } else {
                let _ = url.set_username("***");
            }
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<invalid URL>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_url_hides_credentials() {
        assert_eq!(mask_url("https://user:secret@example.invalid/simple/"), "https://user:***@example.invalid/simple/");
        assert_eq!(mask_url("https://token@example.invalid/simple/"), "https://***@example.invalid/simple/");
        assert_eq!(mask_url("https://pypi.org/simple/"), "https://pypi.org/simple/");
    }

    #[test]
    fn index_url_must_be_http() {
        let error = IndexClient::new(Some("ftp://user:pw@example.invalid/")).err().unwrap();
        let message = error.to_string();
        assert!(message.contains("expected an http or https URL"), "{message}");
        assert!(!message.contains(":pw@"), "{message}");
    }
}
