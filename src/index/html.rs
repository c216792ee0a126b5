//! Project pages of the HTML simple API (PEP 503), with the data attributes
//! of PEP 592 (yanked), PEP 503 (`data-requires-python`) and PEP 658/714
//! (`data-core-metadata`, formerly `data-dist-info-metadata`).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;

use super::{CoreMetadata, IndexFile, Yanked};

/// Reads every anchor of a project page as a file; URLs stay as written, relative ones included.
pub fn parse_files(html: &str) -> Vec<IndexFile> {
    static ANCHOR: OnceLock<Regex> = OnceLock::new();
    static ATTRIBUTE: OnceLock<Regex> = OnceLock::new();
    let anchor = ANCHOR.get_or_init(|| Regex::new(r"(?is)<a\s([^>]*)>(.*?)</a\s*>").expect("the anchor pattern is valid"));
    let attribute = ATTRIBUTE.get_or_init(|| {
        Regex::new(r#"(?is)([a-z][a-z0-9_:-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"#).expect("the attribute pattern is valid")
    });

    let mut files = Vec::new();
    for found in anchor.captures_iter(html) {
        let mut attributes: HashMap<String, String> = HashMap::new();
        for pair in attribute.captures_iter(&found[1]) {
            let value = pair.get(2).or(pair.get(3)).or(pair.get(4)).map(|value| unescape(value.as_str())).unwrap_or_default();
            attributes.insert(pair[1].to_ascii_lowercase(), value);
        }
        let Some(href) = attributes.get("href").cloned() else { continue };
        let (url, fragment) = match href.split_once('#') {
            Some((url, fragment)) => (url.to_string(), Some(fragment.to_string())),
            None => (href.clone(), None),
        };
        let filename = url.rsplit('/').next().unwrap_or_default().to_string();
        let filename = percent_decode(&filename);
        if filename.is_empty() {
            continue;
        }

        let mut hashes = HashMap::new();
        if let Some((algorithm, digest)) = fragment.as_deref().and_then(|fragment| fragment.split_once('=')) {
            hashes.insert(algorithm.to_ascii_lowercase(), digest.to_ascii_lowercase());
        }
        let yanked = match attributes.get("data-yanked") {
            None => Yanked::No,
            Some(reason) if reason.is_empty() => Yanked::Flag(true),
            Some(reason) => Yanked::Reason(reason.clone()),
        };
        let metadata = attributes.get("data-core-metadata").or_else(|| attributes.get("data-dist-info-metadata"));
        let core_metadata = match metadata.map(String::as_str) {
            None | Some("false") => CoreMetadata::Absent,
            Some("true") | Some("") => CoreMetadata::Flag(true),
            Some(value) => match value.split_once('=') {
                Some((algorithm, digest)) => CoreMetadata::Hashes(HashMap::from([(algorithm.to_ascii_lowercase(), digest.to_ascii_lowercase())])),
                None => CoreMetadata::Flag(true),
            },
        };
        files.push(IndexFile {
            filename,
            url: href,
            hashes,
            requires_python: attributes.get("data-requires-python").cloned().filter(|value| !value.is_empty()),
            yanked,
            core_metadata,
            size: None,
            upload_time: None,
        });
    }
    files
}

/// Replaces the character references HTML pages use in attribute values.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' && index + 2 < bytes.len() {
            let digits = std::str::from_utf8(&bytes[index + 1..index + 3]).ok();
            if let Some(value) = digits.and_then(|digits| u8::from_str_radix(digits, 16).ok()) {
                decoded.push(value);
                index += 3;
                continue;
            }
        }
        decoded.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_files_reads_pep_503_attributes() {
        let page = r#"<!DOCTYPE html><html><body><h1>Links for demo</h1>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=ABCD" data-requires-python="&gt;=3.8" data-core-metadata="sha256=ef01">demo-1.0-py3-none-any.whl</a><br/>
<a href='https://files.example.invalid/demo-0.9.tar.gz#sha256=1234' data-yanked="broken build">demo-0.9.tar.gz</a>
<a href="demo-0.8-py3-none-any.whl" data-yanked data-dist-info-metadata="true">demo-0.8</a>
</body></html>"#;
        let files = parse_files(page);
        assert_eq!(files.len(), 3);
        assert_eq!(files[0].filename, "demo-1.0-py3-none-any.whl");
        assert_eq!(files[0].sha256(), Some("abcd"));
        assert_eq!(files[0].requires_python.as_deref(), Some(">=3.8"));
        assert!(files[0].core_metadata.is_available());
        assert!(!files[0].yanked.is_yanked());
        assert!(files[1].yanked.is_yanked());
        assert!(!files[1].core_metadata.is_available());
        assert!(files[2].yanked.is_yanked());
        assert!(files[2].core_metadata.is_available());
        assert_eq!(files[2].sha256(), None);
    }
}
