//! Reads `*.dist-info/METADATA` from a remote wheel with HTTP range requests,
//! for indexes that offer no PEP 658 metadata files. The zip central
//! directory sits at the end of the file. Wheel builders write the
//! `.dist-info` directory last, so the tail of the wheel usually contains both.

use std::io::Read;

use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use url::Url;

use super::mask_url;
use crate::error::{Error, Result};

/// How many bytes from the end of the wheel the first request fetches.
const TAIL_BYTES: u64 = 64 * 1024;

/// The outcome of a ranged read.
pub enum LazyMetadata {
    /// The METADATA text, read from parts of the wheel.
    Found(String),
    /// The server sent the whole wheel (it ignores ranges); the caller verifies and reads it.
    WholeFile(Vec<u8>),
}

/// Fetches the METADATA member of the wheel at `url` through range requests.
pub async fn fetch_metadata(http: &reqwest::Client, url: &Url, filename: &str) -> Result<LazyMetadata> {
    let invalid = |reason: &str| Error::Index(format!("invalid wheel {filename} at {}: {reason}", mask_url(url.as_str())));

    let (tail, tail_start, total) = match get_range(http, url, &format!("bytes=-{TAIL_BYTES}")).await? {
        Ranged::Whole(bytes) => return Ok(LazyMetadata::WholeFile(bytes)),
        Ranged::Part { bytes, start, total } => (bytes, start, total),
    };

    let directory = end_of_central_directory(&tail).ok_or_else(|| invalid("no end of central directory record"))?;
    if directory.size == 0 || directory.offset + directory.size > total {
        return Err(invalid("the central directory lies outside the file"));
    }
    let central = if directory.offset >= tail_start {
        let from = (directory.offset - tail_start) as usize;
        tail.get(from..from + directory.size as usize)
            .ok_or_else(|| invalid("the central directory lies outside the bytes received"))?
            .to_vec()
    } else {
        let range = format!("bytes={}-{}", directory.offset, directory.offset + directory.size - 1);
        match get_range(http, url, &range).await? {
            Ranged::Whole(bytes) => return Ok(LazyMetadata::WholeFile(bytes)),
            Ranged::Part { bytes, .. } => bytes,
        }
    };

    let entry = find_metadata_entry(&central).ok_or_else(|| invalid("no .dist-info/METADATA member"))?;
    // The local header repeats the name and may carry a different extra field,
    // so read its fixed part first unless the tail already covers it.
    let local_end = entry.header_offset + 30 + entry.name_length + 1024 + entry.compressed_size;
    let local = if entry.header_offset >= tail_start && local_end.min(total) <= tail_start + tail.len() as u64 {
        tail.get((entry.header_offset - tail_start) as usize..)
            .ok_or_else(|| invalid("the METADATA member lies outside the bytes received"))?
            .to_vec()
    } else {
        let range = format!("bytes={}-{}", entry.header_offset, local_end.min(total) - 1);
        match get_range(http, url, &range).await? {
            Ranged::Whole(bytes) => return Ok(LazyMetadata::WholeFile(bytes)),
            Ranged::Part { bytes, .. } => bytes,
        }
    };
    if local.len() < 30 || read_u32(&local, 0) != 0x0403_4b50 {
        return Err(invalid("invalid local header of METADATA"));
    }
    let data_start = 30 + read_u16(&local, 26) as usize + read_u16(&local, 28) as usize;
    let data_end = data_start + entry.compressed_size as usize;
    if data_end > local.len() {
        return Err(invalid("the METADATA member is longer than its range"));
    }
    let compressed = &local[data_start..data_end];

    let mut text = String::new();
    match entry.method {
        0 => text.push_str(std::str::from_utf8(compressed).map_err(|_| invalid("METADATA is not UTF-8"))?),
        8 => {
            flate2::read::DeflateDecoder::new(compressed)
                .read_to_string(&mut text)
                .map_err(|error| invalid(&format!("METADATA failed to inflate: {error}")))?;
        }
        other => return Err(invalid(&format!("METADATA uses unsupported compression method {other}"))),
    }
    Ok(LazyMetadata::Found(text))
}

enum Ranged {
    Whole(Vec<u8>),
    Part { bytes: Vec<u8>, start: u64, total: u64 },
}

async fn get_range(http: &reqwest::Client, url: &Url, range: &str) -> Result<Ranged> {
    let failed = |error: reqwest::Error| {
        Error::Index(format!(
            "package index unreachable: request to {} failed: {error}\nhint: check the network, PIP_INDEX_URL and SSL_CERT_FILE",
            mask_url(url.as_str())
        ))
    };
    let response = http.get(url.clone()).header(RANGE, range).send().await.map_err(failed)?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::Index(format!("download of {} failed: HTTP {status}", mask_url(url.as_str()))));
    }
    let content_range = response
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let bytes = response.bytes().await.map_err(failed)?.to_vec();
    if status != StatusCode::PARTIAL_CONTENT {
        return Ok(Ranged::Whole(bytes));
    }
    // Content-Range: bytes START-END/TOTAL
    let parsed = content_range.as_deref().and_then(|value| {
        let (span, total) = value.strip_prefix("bytes ")?.split_once('/')?;
        let (start, _) = span.split_once('-')?;
        Some((start.parse::<u64>().ok()?, total.parse::<u64>().ok()?))
    });
    let (start, total) = parsed.ok_or_else(|| {
        Error::Index(format!(
            "download of {} returned an invalid Content-Range {content_range:?}",
            mask_url(url.as_str())
        ))
    })?;
    Ok(Ranged::Part { bytes, start, total })
}

struct CentralDirectory {
    offset: u64,
    size: u64,
}

/// Finds the end of central directory record in the tail of a zip file.
fn end_of_central_directory(tail: &[u8]) -> Option<CentralDirectory> {
    let position = (0..=tail.len().checked_sub(22)?).rev().find(|&index| read_u32(tail, index) == 0x0605_4b50)?;
    let size = u64::from(read_u32(tail, position + 12));
    let offset = u64::from(read_u32(tail, position + 16));
    // ZIP64 archives mark these fields as 0xFFFFFFFF. Wheels rarely need
    // ZIP64, so the caller downloads such a wheel whole instead.
    (size != 0xFFFF_FFFF && offset != 0xFFFF_FFFF).then_some(CentralDirectory { offset, size })
}

struct MetadataEntry {
    method: u16,
    compressed_size: u64,
    name_length: u64,
    header_offset: u64,
}

/// Finds the `<name>.dist-info/METADATA` entry in a central directory.
fn find_metadata_entry(central: &[u8]) -> Option<MetadataEntry> {
    let mut position = 0;
    while position + 46 <= central.len() && read_u32(central, position) == 0x0201_4b50 {
        let method = read_u16(central, position + 10);
        let compressed_size = u64::from(read_u32(central, position + 20));
        let name_length = read_u16(central, position + 28) as usize;
        let extra_length = read_u16(central, position + 30) as usize;
        let comment_length = read_u16(central, position + 32) as usize;
        let header_offset = u64::from(read_u32(central, position + 42));
        let name = central.get(position + 46..position + 46 + name_length)?;
        if let Ok(name) = std::str::from_utf8(name) {
            let mut parts = name.split('/');
            let is_metadata = matches!(
                (parts.next(), parts.next(), parts.next()),
                (Some(directory), Some("METADATA"), None) if directory.ends_with(".dist-info")
            );
            if is_metadata && compressed_size != 0xFFFF_FFFF && header_offset != 0xFFFF_FFFF {
                return Some(MetadataEntry {
                    method,
                    compressed_size,
                    name_length: name_length as u64,
                    header_offset,
                });
            }
        }
        position += 46 + name_length + extra_length + comment_length;
    }
    None
}

fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes.get(at..at + 2).map_or(0, |slice| u16::from_le_bytes([slice[0], slice[1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).map_or(0, |slice| u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn wheel() -> Vec<u8> {
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut archive = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            archive.start_file("demo/__init__.py", options).unwrap();
            archive.write_all(&vec![b'#'; 100_000]).unwrap();
            archive.start_file("demo-1.0.dist-info/METADATA", options).unwrap();
            archive.write_all(b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n").unwrap();
            archive.finish().unwrap();
        }
        buffer.into_inner()
    }

    #[test]
    fn central_directory_leads_to_metadata() {
        let bytes = wheel();
        let directory = end_of_central_directory(&bytes).unwrap();
        let central = &bytes[directory.offset as usize..(directory.offset + directory.size) as usize];
        let entry = find_metadata_entry(central).unwrap();
        assert_eq!(entry.method, 8);
        assert_eq!(read_u32(&bytes, entry.header_offset as usize), 0x0403_4b50);
    }
}
