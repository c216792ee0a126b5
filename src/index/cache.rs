//! The on-disk HTTP cache of project pages and wheel metadata.
//!
//! Each entry is two files: a small JSON header (status, validators,
//! freshness) and the body, so freshness is decided without reading a large
//! page. Beside a page, values derived from it (such as the releases a target
//! can install) are stored tagged with the body they came from. Every file is
//! written to a temporary name and renamed into place.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The header line of a cache entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EntryHeader {
    pub status: u16,
    pub content_type: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Seconds the response stays fresh after `stored_at`, from `Cache-Control: max-age`.
    pub max_age: Option<u64>,
    /// True when the response carried `no-store` or `no-cache`, so it must be revalidated before use.
    #[serde(default)]
    pub must_revalidate: bool,
    /// Unix time in seconds when the response was received or last revalidated.
    pub stored_at: u64,
    /// A random identifier of the stored body, kept when a revalidation
    /// confirms the body; derived values are valid only for the same identifier.
    #[serde(default)]
    pub body_id: u64,
}

impl EntryHeader {
    /// Reads the caching headers of a response.
    pub fn from_response(status: u16, headers: &HeaderMap) -> Self {
        let text = |name: reqwest::header::HeaderName| headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string);
        let cache_control = text(reqwest::header::CACHE_CONTROL).unwrap_or_default().to_ascii_lowercase();
        let mut max_age = None;
        let mut must_revalidate = false;
        for directive in cache_control.split(',').map(str::trim) {
            if let Some(seconds) = directive.strip_prefix("max-age=") {
                max_age = seconds.trim_matches('"').parse().ok();
            } else if directive == "no-cache" || directive == "no-store" {
                must_revalidate = true;
            }
        }
        EntryHeader {
            status,
            content_type: text(reqwest::header::CONTENT_TYPE).unwrap_or_default(),
            etag: text(reqwest::header::ETAG),
            last_modified: text(reqwest::header::LAST_MODIFIED),
            max_age,
            must_revalidate,
            stored_at: now(),
            body_id: 0,
        }
    }

    /// Tells whether the entry may be used without asking the server.
    pub fn is_fresh(&self) -> bool {
        if self.must_revalidate {
            return false;
        }
        match self.max_age {
            Some(max_age) => now().saturating_sub(self.stored_at) < max_age,
            None => false,
        }
    }
}

/// One cached response.
pub struct Entry {
    pub header: EntryHeader,
    pub body: Vec<u8>,
}

/// A directory of cached responses keyed by URL.
#[derive(Clone, Debug)]
pub struct HttpCache {
    directory: PathBuf,
}

impl HttpCache {
    pub fn new(directory: PathBuf) -> Self {
        HttpCache { directory }
    }

    /// Returns the directory of the entries.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn path(&self, kind: &str, url: &str) -> PathBuf {
        let key = hex::encode(Sha256::digest(url.as_bytes()));
        self.directory.join(kind).join(&key[..2]).join(&key[2..])
    }

    /// Reads the header of the entry for `url`; a missing or unreadable entry is `None`.
    pub fn read_header(&self, kind: &str, url: &str) -> Option<EntryHeader> {
        let bytes = std::fs::read(self.path(kind, url)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Reads the body of the entry for `url`.
    pub fn read_body(&self, kind: &str, url: &str) -> Option<Vec<u8>> {
        std::fs::read(body_path(&self.path(kind, url))).ok()
    }

    /// Reads the header and body of the entry for `url`.
    pub fn read(&self, kind: &str, url: &str) -> Option<Entry> {
        let header = self.read_header(kind, url)?;
        let body = self.read_body(kind, url)?;
        Some(Entry { header, body })
    }

    /// Stores the entry for `url`, the body before the header so a reader
    /// never finds a header without its body. Failures are logged and
    /// ignored, because the cache only saves time.
    pub fn write(&self, kind: &str, url: &str, header: &EntryHeader, body: &[u8]) {
        let path = self.path(kind, url);
        let outcome = write_atomically(&body_path(&path), body).and_then(|()| write_header_file(&path, header));
        if let Err(error) = outcome {
            log::warn!("failed to write the HTTP cache entry {}: {error}", path.display());
        }
    }

    /// Replaces only the header of an entry, after a revalidation confirmed its body.
    pub fn write_header(&self, kind: &str, url: &str, header: &EntryHeader) {
        let path = self.path(kind, url);
        if let Err(error) = write_header_file(&path, header) {
            log::warn!("failed to write the HTTP cache entry {}: {error}", path.display());
        }
    }

    /// Reads a value derived from the body `body_id` of the page at `url` under `key`.
    pub fn read_derived(&self, url: &str, key: &str, body_id: u64) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(DERIVED, &format!("{url}\n{key}"))).ok()?;
        let split = bytes.iter().position(|byte| *byte == b'\n')?;
        let stored_id: u64 = std::str::from_utf8(&bytes[..split]).ok()?.parse().ok()?;
        (stored_id == body_id).then(|| bytes[split + 1..].to_vec())
    }

    /// Stores a value derived from the body `body_id` of the page at `url` under `key`.
    pub fn write_derived(&self, url: &str, key: &str, body_id: u64, value: &[u8]) {
        let path = self.path(DERIVED, &format!("{url}\n{key}"));
        let mut contents = format!("{body_id}\n").into_bytes();
        contents.extend_from_slice(value);
        if let Err(error) = write_atomically(&path, &contents) {
            log::warn!("failed to write the derived cache entry {}: {error}", path.display());
        }
    }
}

/// The cache kind of values derived from pages.
const DERIVED: &str = "derived";

fn body_path(header_path: &Path) -> PathBuf {
    header_path.with_extension("body")
}

fn write_header_file(path: &Path, header: &EntryHeader) -> std::io::Result<()> {
    let contents = serde_json::to_vec(header).map_err(std::io::Error::other)?;
    write_atomically(path, &contents)
}

fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().expect("cache paths have a parent");
    std::fs::create_dir_all(parent)?;
    let partial = parent.join(format!(".{}.{}.partial", std::process::id(), rand::random::<u64>()));
    std::fs::write(&partial, contents)?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_makes_an_entry_fresh() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::CACHE_CONTROL, "max-age=600, public".parse().unwrap());
        headers.insert(reqwest::header::ETAG, "\"abc\"".parse().unwrap());
        let header = EntryHeader::from_response(200, &headers);
        assert_eq!(header.max_age, Some(600));
        assert_eq!(header.etag.as_deref(), Some("\"abc\""));
        assert!(header.is_fresh());
    }

    #[test]
    fn no_cache_or_missing_max_age_needs_revalidation() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::CACHE_CONTROL, "max-age=600, no-cache".parse().unwrap());
        assert!(!EntryHeader::from_response(200, &headers).is_fresh());
        assert!(!EntryHeader::from_response(200, &HeaderMap::new()).is_fresh());
    }

    #[test]
    fn entries_round_trip() {
        let directory = tempfile::tempdir().unwrap();
        let cache = HttpCache::new(directory.path().to_path_buf());
        let header = EntryHeader { status: 200, content_type: "text/html".into(), ..Default::default() };
        cache.write("pages", "https://example.invalid/simple/demo/", &header, b"line one\nline two");
        let entry = cache.read("pages", "https://example.invalid/simple/demo/").unwrap();
        assert_eq!(entry.body, b"line one\nline two");
        assert_eq!(entry.header.content_type, "text/html");
        assert!(cache.read("pages", "https://example.invalid/simple/other/").is_none());
    }

    #[test]
    fn derived_values_belong_to_one_body() {
        let directory = tempfile::tempdir().unwrap();
        let cache = HttpCache::new(directory.path().to_path_buf());
        cache.write_derived("https://example.invalid/simple/demo/", "target", 7, b"[1,2]");
        assert_eq!(cache.read_derived("https://example.invalid/simple/demo/", "target", 7).as_deref(), Some(&b"[1,2]"[..]));
        assert_eq!(cache.read_derived("https://example.invalid/simple/demo/", "target", 8), None);
        assert_eq!(cache.read_derived("https://example.invalid/simple/demo/", "other", 7), None);
    }
}
