//! The package-index client: project pages through the JSON simple API
//! (PEP 691) or the HTML one (PEP 503), wheel metadata (PEP 658), local
//! find-links directories, an on-disk HTTP cache, and verified wheel downloads.

pub mod cache;
pub mod dns;
pub mod download;
pub mod html;
mod lazy_wheel;
pub mod metadata;
pub mod tags;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;
use url::Url;

use crate::error::{Error, Result};
use cache::{EntryHeader, HttpCache};

/// The index used when neither the caller nor `PIP_INDEX_URL` names one.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple/";

/// One file of a project as the index lists it.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
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
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
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

/// The package sources and cache a client uses. A field left as `None`
/// takes its default from the pip variables of the environment.
#[derive(Clone, Debug, Default)]
pub struct IndexSettings {
    /// The primary index; else `PIP_INDEX_URL`, else PyPI.
    pub index_url: Option<String>,
    /// Indexes asked, in order, for projects the primary index does not have; else `PIP_EXTRA_INDEX_URL`.
    pub extra_index_urls: Option<Vec<String>>,
    /// Local directories (or `file://` URLs) of wheels merged into every project; else `PIP_FIND_LINKS`.
    pub find_links: Option<Vec<String>>,
    /// The HTTP cache directory; else `$SKILLGUARD_CACHE_DIR/http`, else `<user cache>/skillguard/http`.
    pub cache_dir: Option<PathBuf>,
    /// Resolve from the cache alone, failing with the name of whatever is missing.
    pub offline: bool,
}

/// A client of the configured package sources.
#[derive(Clone)]
pub struct IndexClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    http: reqwest::Client,
    indexes: Vec<Url>,
    find_links: Vec<PathBuf>,
    cache: HttpCache,
    offline: bool,
    /// The wheel files of every find-links directory, read once: (normalised project name, path).
    local_files: OnceCell<Vec<(String, PathBuf)>>,
}

impl IndexClient {
    /// Creates a client for `index_url`, else `PIP_INDEX_URL`, else PyPI, with the other settings at their defaults.
    pub fn new(index_url: Option<&str>) -> Result<Self> {
        Self::with_settings(IndexSettings {
            index_url: index_url.map(str::to_string),
            ..Default::default()
        })
    }

    /// Creates a client for the given sources.
    pub fn with_settings(settings: IndexSettings) -> Result<Self> {
        let from_environment = |variable: &str| std::env::var(variable).ok().filter(|value| !value.trim().is_empty());
        let raw = settings
            .index_url
            .or_else(|| from_environment("PIP_INDEX_URL"))
            .unwrap_or_else(|| DEFAULT_INDEX_URL.into());
        let mut indexes = vec![parse_index_url(&raw)?];
        let extra = match settings.extra_index_urls {
            Some(urls) => urls,
            None => from_environment("PIP_EXTRA_INDEX_URL")
                .map(|value| value.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
        };
        for url in extra {
            let parsed = parse_index_url(&url)?;
            if !indexes.contains(&parsed) {
                indexes.push(parsed);
            }
        }

        let find_links = match settings.find_links {
            Some(entries) => entries.iter().map(|entry| find_links_directory(entry)).collect::<Result<Vec<_>>>()?,
            None => from_environment("PIP_FIND_LINKS")
                .map(|value| value.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default()
                .iter()
                .filter_map(|entry| match find_links_directory(entry) {
                    Ok(directory) => Some(directory),
                    Err(error) => {
                        log::warn!("ignoring PIP_FIND_LINKS entry: {error}");
                        None
                    }
                })
                .collect(),
        };

        let cache_dir = settings.cache_dir.unwrap_or_else(default_http_cache);
        let http = reqwest::Client::builder()
            .user_agent(concat!("skillguard/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(300))
            .pool_max_idle_per_host(32)
            .dns_resolver(Arc::new(dns::SharedResolver::default()))
            .build()
            .map_err(|error| Error::Index(format!("failed to create the HTTP client: {error}")))?;
        Ok(IndexClient {
            inner: Arc::new(ClientInner {
                http,
                indexes,
                find_links,
                cache: HttpCache::new(cache_dir),
                offline: settings.offline,
                local_files: OnceCell::new(),
            }),
        })
    }

    /// Parses `url` and gives it the credentials of the configured index on
    /// the same origin when it has none, because locks store URLs without them.
    pub fn with_credentials(&self, url: &str) -> Result<Url> {
        let mut parsed = Url::parse(url).map_err(|error| Error::Index(format!("invalid URL {}: {error}", mask_url(url))))?;
        if !parsed.username().is_empty() {
            return Ok(parsed);
        }
        let same_origin = self.inner.indexes.iter().find(|index| index.origin() == parsed.origin() && !index.username().is_empty());
        if let Some(index) = same_origin {
            let _ = parsed.set_username(index.username());
            let _ = parsed.set_password(index.password());
        }
        Ok(parsed)
    }

    /// Returns the sources with any credentials masked, for messages.
    pub fn display_url(&self) -> String {
        let mut sources: Vec<String> = self.inner.indexes.iter().map(|url| mask_url(url.as_str())).collect();
        sources.extend(self.inner.find_links.iter().map(|directory| directory.display().to_string()));
        sources.join(", ")
    }

    /// Returns the HTTP cache directory.
    pub fn cache_directory(&self) -> &Path {
        self.inner.cache.directory()
    }

    /// Tells whether the client reads only from the cache.
    pub fn is_offline(&self) -> bool {
        self.inner.offline
    }

    /// Lists the files of a project (`name` already normalised); `None` when no source has it.
    ///
    /// The first index that has the project supplies all of its files, so a
    /// later (for example public) index cannot shadow a private one. Wheels
    /// from find-links directories are added to the files of that index.
    pub async fn project_files(&self, name: &str) -> Result<Option<Vec<IndexFile>>> {
        self.project_derived(name, None, |files| files.to_vec()).await
    }

    /// Turns the files of a project into a value with `derive`, as
    /// [`IndexClient::project_files`] would list them. With a `key`, the value
    /// is cached beside the page and reused while the page body is unchanged,
    /// so a large page is not read and parsed again.
    pub async fn project_derived<T, F>(&self, name: &str, key: Option<&str>, derive: F) -> Result<Option<T>>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(&[IndexFile]) -> T,
    {
        let local = self.local_project_files(name).await?;
        // Find-links directories can change without the page changing, so
        // values that include their files are not cached.
        let key = key.filter(|_| local.is_empty());
        for index in &self.inner.indexes {
            let url = index
                .join(&format!("{name}/"))
                .map_err(|error| Error::Index(format!("invalid project URL for {name}: {error}")))?;
            let (header, mut files) = match self.lookup_page(&url, name).await? {
                PageLookup::NotFound => continue,
                PageLookup::Fetched(header, files) => (header, files),
                PageLookup::Cached(header) => {
                    if let Some(key) = key {
                        let stored = self.inner.cache.read_derived(url.as_str(), key, header.body_id);
                        if let Some(value) = stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()) {
                            log::debug!("derived cache hit for {}", mask_url(url.as_str()));
                            return Ok(Some(value));
                        }
                    }
                    let body = self.inner.cache.read_body(PAGES, url.as_str()).ok_or_else(|| {
                        Error::Index(format!(
                            "the HTTP cache entry of {} has no body\nhint: delete the cache directory {}",
                            mask_url(url.as_str()),
                            self.inner.cache.directory().display()
                        ))
                    })?;
                    let files = self.parse_page(&url, name, &header, &body)?.unwrap_or_default();
                    (header, files)
                }
            };
            log::debug!("{name}: {} files from {}", files.len(), mask_url(index.as_str()));
            files.extend(local);
            let value = derive(&files);
            if let Some(key) = key {
                match serde_json::to_vec(&value) {
                    Ok(bytes) => self.inner.cache.write_derived(url.as_str(), key, header.body_id, &bytes),
                    Err(error) => log::warn!("failed to serialise the derived value of {name}: {error}"),
                }
            }
            return Ok(Some(value));
        }
        Ok(if local.is_empty() { None } else { Some(derive(&local)) })
    }

    /// Finds one index's page for a project: in the cache when it is fresh
    /// (or the client is offline), else from the index, revalidating a stale copy.
    async fn lookup_page(&self, url: &Url, name: &str) -> Result<PageLookup> {
        let cached = self.inner.cache.read_header(PAGES, url.as_str());
        if let Some(header) = &cached {
            if self.inner.offline || header.is_fresh() {
                log::debug!("HTTP cache hit for {}", mask_url(url.as_str()));
                return Ok(if header.status == 404 { PageLookup::NotFound } else { PageLookup::Cached(header.clone()) });
            }
        } else if self.inner.offline {
            return Err(Error::Index(format!(
                "{OFFLINE_MISS} the project page of {name} from {} is not in the cache {}\nhint: resolve once online with the same cache_dir, or turn offline mode off",
                mask_url(url.as_str()),
                self.inner.cache.directory().display()
            )));
        }

        log::debug!("fetching project page {}", mask_url(url.as_str()));
        let mut request = self.inner.http.get(url.clone()).header("Accept", PAGE_ACCEPT);
        if let Some(header) = cached.as_ref().filter(|header| header.status == 200) {
            if let Some(etag) = &header.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &header.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified);
            }
        }
        let response = request.send().await.map_err(|error| unreachable(url, error))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            if let Some(previous) = cached.filter(|header| header.status == 200) {
                let mut header = EntryHeader::from_response(200, response.headers());
                header.content_type = previous.content_type;
                header.body_id = previous.body_id;
                self.inner.cache.write_header(PAGES, url.as_str(), &header);
                return Ok(PageLookup::Cached(header));
            }
        }
        let mut header = EntryHeader::from_response(status.as_u16(), response.headers());
        header.body_id = rand::random();
        if status == reqwest::StatusCode::NOT_FOUND {
            self.inner.cache.write(PAGES, url.as_str(), &header, b"");
            return Ok(PageLookup::NotFound);
        }
        if !status.is_success() {
            return Err(Error::Index(format!("index {} failed for {name}: HTTP {status}", mask_url(url.as_str()))));
        }
        let body = response.bytes().await.map_err(|error| unreachable(url, error))?;
        let files = self.parse_page(url, name, &header, &body)?.unwrap_or_default();
        self.inner.cache.write(PAGES, url.as_str(), &header, &body);
        Ok(PageLookup::Fetched(header, files))
    }

    fn parse_page(&self, url: &Url, name: &str, header: &EntryHeader, body: &[u8]) -> Result<Option<Vec<IndexFile>>> {
        if header.status == 404 {
            return Ok(None);
        }
        let files = if header.content_type.contains("json") {
            let page: ProjectPage = serde_json::from_slice(body).map_err(|error| {
                Error::Index(format!("invalid project page for {name} from {}: {error}", mask_url(url.as_str())))
            })?;
            page.files
        } else if header.content_type.contains("html") {
            html::parse_files(&String::from_utf8_lossy(body))
        } else {
            return Err(Error::Index(format!(
                "index {} returned {:?} for {name}, neither the JSON (PEP 691) nor the HTML (PEP 503) simple API",
                mask_url(url.as_str()),
                header.content_type
            )));
        };
        Ok(Some(
            files
                .into_iter()
                .map(|mut file| {
                    // Both APIs allow URLs relative to the project page.
                    let is_absolute = file.url.starts_with("https://") || file.url.starts_with("http://");
                    if !is_absolute {
                        if let Ok(absolute) = url.join(&file.url) {
                            file.url = absolute.to_string();
                        }
                    }
                    file
                })
                .collect(),
        ))
    }

    /// Lists the wheels of `name` in the find-links directories, with their sha256.
    async fn local_project_files(&self, name: &str) -> Result<Vec<IndexFile>> {
        if self.inner.find_links.is_empty() {
            return Ok(Vec::new());
        }
        let listing = self
            .inner
            .local_files
            .get_or_try_init(|| async { list_find_links(&self.inner.find_links) })
            .await?;
        let mut files = Vec::new();
        for (project, path) in listing {
            if project != name {
                continue;
            }
            let bytes = tokio::fs::read(path).await.map_err(|error| Error::io("failed to read", path, error))?;
            let url = Url::from_file_path(path)
                .map_err(|_| Error::Index(format!("find-links path {} cannot be written as a URL", path.display())))?;
            files.push(IndexFile {
                filename: path.file_name().map(|file| file.to_string_lossy().into_owned()).unwrap_or_default(),
                url: url.to_string(),
                hashes: HashMap::from([("sha256".to_string(), hex::encode(Sha256::digest(&bytes)))]),
                requires_python: None,
                yanked: Yanked::No,
                core_metadata: CoreMetadata::Absent,
                size: Some(bytes.len() as u64),
                upload_time: None,
            });
        }
        Ok(files)
    }

    /// Fetches the core metadata of a wheel: the PEP 658 file when the index
    /// offers one, else the `METADATA` member of the wheel itself. Both are
    /// cached without expiry, because a file's metadata never changes.
    pub async fn wheel_metadata(&self, file: &IndexFile) -> Result<metadata::CoreMetadataFields> {
        let url = strip_fragment(&file.url);
        if let Some(path) = local_path(url) {
            let bytes = tokio::fs::read(&path).await.map_err(|error| Error::io("failed to read", &path, error))?;
            return Ok(metadata::parse(&metadata::metadata_from_wheel(&file.filename, &bytes)?));
        }
        if let Some(entry) = self.inner.cache.read(METADATA, url) {
            return Ok(metadata::parse(&String::from_utf8_lossy(&entry.body)));
        }
        if self.inner.offline {
            return Err(Error::Index(format!(
                "{OFFLINE_MISS} the metadata of {} is not in the cache {}\nhint: resolve once online with the same cache_dir, or turn offline mode off",
                file.filename,
                self.inner.cache.directory().display()
            )));
        }
        let text = if file.core_metadata.is_available() {
            let metadata_url = format!("{url}.metadata");
            let bytes = self.get_bytes(&metadata_url).await?;
            if let CoreMetadata::Hashes(hashes) = &file.core_metadata {
                if let Some(expected) = hashes.get("sha256") {
                    let actual = hex::encode(Sha256::digest(&bytes));
                    if !actual.eq_ignore_ascii_case(expected) {
                        return Err(Error::Index(format!(
                            "hash mismatch for the metadata of {}: the index lists sha256 {expected}, the download has {actual}",
                            file.filename
                        )));
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            // Without a metadata file, METADATA is read from the wheel's tail
            // through range requests. The whole wheel is downloaded only when
            // the server ignores ranges or the archive is unusual, and then it
            // is checked against the listed sha256 first.
            let parsed = self.with_credentials(url)?;
            match lazy_wheel::fetch_metadata(&self.inner.http, &parsed, &file.filename).await {
                Ok(lazy_wheel::LazyMetadata::Found(text)) => text,
                Ok(lazy_wheel::LazyMetadata::WholeFile(bytes)) => verified_wheel_metadata(file, &bytes)?,
                Err(error) => {
                    log::debug!("reading the metadata of {} through ranges failed ({error}); downloading the wheel", file.filename);
                    let bytes = self.get_bytes(url).await?;
                    verified_wheel_metadata(file, &bytes)?
                }
            }
        };
        let header = EntryHeader {
            status: 200,
            content_type: "text/plain".into(),
            ..Default::default()
        };
        self.inner.cache.write(METADATA, url, &header, text.as_bytes());
        Ok(metadata::parse(&text))
    }

    async fn get_bytes(&self, url: &str) -> Result<Vec<u8>> {
        let parsed = self.with_credentials(url)?;
        let response = self.inner.http.get(parsed.clone()).send().await.map_err(|error| unreachable(&parsed, error))?;
        let response = response
            .error_for_status()
            .map_err(|error| Error::Index(format!("download of {} failed: {error}", mask_url(url))))?;
        let body = response.bytes().await.map_err(|error| unreachable(&parsed, error))?;
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

        if let Some(path) = local_path(url) {
            let bytes = tokio::fs::read(&path).await.map_err(|error| Error::io("failed to read", &path, error))?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if actual != sha256 {
                return Err(hash_mismatch(filename, sha256, &actual));
            }
            let partial = directory.join(format!(".{filename}.{}.partial", std::process::id()));
            tokio::fs::write(&partial, &bytes).await.map_err(|error| Error::io("failed to write", &partial, error))?;
            tokio::fs::rename(&partial, &destination).await.map_err(|error| Error::io("failed to rename", &partial, error))?;
            return Ok(destination);
        }
        if self.inner.offline {
            return Err(Error::Index(format!(
                "{OFFLINE_MISS} the wheel {filename} is not in the wheel cache {}\nhint: download it once online, or turn offline mode off",
                cache_dir.display()
            )));
        }

        let parsed = self.with_credentials(url)?;
        let response = self.inner.http.get(parsed.clone()).send().await.map_err(|error| unreachable(&parsed, error))?;
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
                let chunk = chunk.map_err(|error| unreachable(&parsed, error))?;
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
            return Err(hash_mismatch(filename, sha256, &actual));
        }
        tokio::fs::rename(&partial, &destination).await.map_err(|error| Error::io("failed to rename", &partial, error))?;
        Ok(destination)
    }

}

/// The source of a project page: the cache, the index, or neither.
enum PageLookup {
    NotFound,
    /// In the cache, usable as it is; the body is read only if needed.
    Cached(EntryHeader),
    /// From the index just now, already parsed.
    Fetched(EntryHeader, Vec<IndexFile>),
}

/// The start of every error about an entry offline mode could not find.
const OFFLINE_MISS: &str = "offline mode:";

/// Tells whether `error` reports an entry missing from the cache in offline mode.
pub fn is_offline_miss(error: &Error) -> bool {
    matches!(error, Error::Index(message) if message.starts_with(OFFLINE_MISS))
}

/// The cache kind of project pages.
const PAGES: &str = "pages";
/// The cache kind of wheel metadata.
const METADATA: &str = "metadata";
/// The JSON simple API first, the HTML one as the fallback.
const PAGE_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// Reads METADATA from a whole wheel after checking it against the listed sha256.
fn verified_wheel_metadata(file: &IndexFile, bytes: &[u8]) -> Result<String> {
    if let Some(expected) = file.sha256() {
        let actual = hex::encode(Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(expected) {
            return Err(Error::Index(format!(
                "hash mismatch for {}: the index lists sha256 {expected}, the download has {actual}\nhint: the index served a different file than it listed; the wheel was not used",
                file.filename
            )));
        }
    }
    metadata::metadata_from_wheel(&file.filename, bytes)
}

fn hash_mismatch(filename: &str, expected: &str, actual: &str) -> Error {
    Error::Index(format!(
        "hash mismatch for {filename}: the lock expects sha256 {expected}, the download has {actual}\nhint: the index served a different file than it listed; the wheel was not used"
    ))
}

fn unreachable(url: &Url, error: reqwest::Error) -> Error {
    Error::Index(format!(
        "package index unreachable: request to {} failed: {error}\nhint: check the network, PIP_INDEX_URL and SSL_CERT_FILE",
        mask_url(url.as_str())
    ))
}

fn parse_index_url(raw: &str) -> Result<Url> {
    let mut url = Url::parse(raw).map_err(|error| Error::InvalidArgument(format!("invalid index URL {}: {error}", mask_url(raw))))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Error::InvalidArgument(format!(
            "invalid index URL {}: expected an http or https URL",
            mask_url(raw)
        )));
    }
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    Ok(url)
}

/// Reads a find-links entry: a directory path or a `file://` URL of one.
fn find_links_directory(entry: &str) -> Result<PathBuf> {
    let path = match entry.strip_prefix("file://") {
        Some(_) => Url::parse(entry)
            .ok()
            .and_then(|url| url.to_file_path().ok())
            .ok_or_else(|| Error::InvalidArgument(format!("invalid find-links URL {entry}")))?,
        None if entry.contains("://") => {
            return Err(Error::InvalidArgument(format!(
                "invalid find-links entry {}: expected a local directory; list remote indexes in extra_index_urls",
                mask_url(entry)
            )))
        }
        None => PathBuf::from(entry),
    };
    if !path.is_dir() {
        return Err(Error::InvalidArgument(format!("find-links directory {} does not exist", path.display())));
    }
    Ok(path)
}

/// Lists the wheels of find-links directories by normalised project name.
fn list_find_links(directories: &[PathBuf]) -> Result<Vec<(String, PathBuf)>> {
    let mut listing = Vec::new();
    for directory in directories {
        let entries = std::fs::read_dir(directory).map_err(|error| Error::io("failed to list", directory, error))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(filename) = path.file_name().and_then(|name| name.to_str()) else { continue };
            if let Some(wheel) = tags::WheelName::parse(filename) {
                listing.push((wheel.name, path));
            }
        }
    }
    listing.sort();
    Ok(listing)
}

/// Returns the local path of a `file://` URL.
fn local_path(url: &str) -> Option<PathBuf> {
    if !url.starts_with("file://") {
        return None;
    }
    Url::parse(url).ok()?.to_file_path().ok()
}

/// Returns the default HTTP cache: `$SKILLGUARD_CACHE_DIR/http`, else `<user cache>/skillguard/http`.
pub fn default_http_cache() -> PathBuf {
    if let Some(directory) = std::env::var_os("SKILLGUARD_CACHE_DIR").filter(|value| !value.is_empty()) {
        return PathBuf::from(directory).join("http");
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("skillguard")
        .join("http")
}

fn strip_fragment(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

/// Removes the user name and password of a URL, for values that are stored or shown.
pub fn strip_credentials(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.to_string()
        }
        _ => raw.to_string(),
    }
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
    fn credentials_restored_for_same_origin() {
        let client = IndexClient::with_settings(IndexSettings {
            index_url: Some("https://user:secret@private.example.invalid/simple/".into()),
            extra_index_urls: Some(Vec::new()),
            find_links: Some(Vec::new()),
            ..Default::default()
        })
        .unwrap();
        let stripped = strip_credentials("https://user:secret@private.example.invalid/files/demo-1.0-py3-none-any.whl");
        assert_eq!(stripped, "https://private.example.invalid/files/demo-1.0-py3-none-any.whl");
        let restored = client.with_credentials(&stripped).unwrap();
        assert_eq!(restored.username(), "user");
        assert_eq!(restored.password(), Some("secret"));
        let elsewhere = client.with_credentials("https://files.example.invalid/demo-1.0-py3-none-any.whl").unwrap();
        assert_eq!(elsewhere.username(), "");
    }

    #[test]
    fn index_url_must_be_http() {
        let error = IndexClient::new(Some("ftp://user:pw@example.invalid/")).err().unwrap();
        let message = error.to_string();
        assert!(message.contains("expected an http or https URL"), "{message}");
        assert!(!message.contains(":pw@"), "{message}");
    }
}
