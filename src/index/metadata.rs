//! Core metadata (the `METADATA` file of a wheel): the fields resolution needs.

use std::io::Read;

use crate::error::{Error, Result};

/// The fields of core metadata that resolution reads.
#[derive(Clone, Debug, Default)]
pub struct CoreMetadataFields {
    pub name: Option<String>,
    pub version: Option<String>,
    pub requires_python: Option<String>,
    pub requires_dist: Vec<String>,
}

/// Parses the header block of a core metadata file (an RFC 822-style
/// message: `Key: value` lines, continuation lines start with whitespace,
/// the body after the first blank line is the description).
pub fn parse(text: &str) -> CoreMetadataFields {
    let mut fields = CoreMetadataFields::default();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    for (key, value) in headers {
        match key.as_str() {
            "name" => fields.name = Some(value),
            "version" => fields.version = Some(value),
            "requires-python" => fields.requires_python = Some(value),
            "requires-dist" => fields.requires_dist.push(value),
            _ => {}
        }
    }
    fields
}

/// Reads `*.dist-info/METADATA` from the bytes of a wheel.
pub fn metadata_from_wheel(filename: &str, wheel: &[u8]) -> Result<String> {
    let invalid = |reason: String| Error::Index(format!("invalid wheel {filename}: {reason}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel)).map_err(|error| invalid(error.to_string()))?;
    let member = (0..archive.len())
        .filter_map(|index| archive.name_for_index(index).map(str::to_string))
        .find(|name| {
            let mut parts = name.split('/');
            matches!((parts.next(), parts.next(), parts.next()), (Some(directory), Some("METADATA"), None) if directory.ends_with(".dist-info"))
        })
        .ok_or_else(|| invalid("no .dist-info/METADATA member".into()))?;
    let mut text = String::new();
    archive
        .by_name(&member)
        .map_err(|error| invalid(error.to_string()))?
        .read_to_string(&mut text)
        .map_err(|error| invalid(error.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_headers_until_the_body() {
        let text = "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nRequires-Python: >=3.8\n\
Requires-Dist: charset-normalizer<4,>=2\nRequires-Dist: PySocks!=1.5.7,>=1.5.6; extra == \"socks\"\n\
Description-Content-Type: text/markdown\n\nRequires-Dist: not-a-header\n";
        let fields = parse(text);
        assert_eq!(fields.name.as_deref(), Some("requests"));
        assert_eq!(fields.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(fields.requires_dist.len(), 2);
        assert!(fields.requires_dist[1].contains("extra == \"socks\""));
    }
}
