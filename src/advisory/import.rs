//! Reading OSV records from a directory tree, a `.zip` or a `.tar.gz`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file of the source: its name inside the source and its bytes.
pub struct SourceFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

fn is_record_file(name: &str) -> bool {
    let lowered = name.to_ascii_lowercase();
    lowered.ends_with(".yaml") || lowered.ends_with(".yml") || lowered.ends_with(".json")
}

/// Reads every record file of `path`, which is a directory, a `.zip` or a `.tar.gz`/`.tgz`.
pub fn read_source(path: &Path) -> Result<Vec<SourceFile>> {
    let metadata = std::fs::metadata(path).map_err(|error| {
        Error::Advisory(format!(
            "failed to read advisory source {}: {error}\nhint: point SKILLGUARD_ADVISORY_SOURCE (or the import argument) at an OSV export: a directory, .zip or .tar.gz",
            path.display()
        ))
    })?;
    let name = path.to_string_lossy().to_ascii_lowercase();
    let mut files = if metadata.is_dir() {
        read_directory(path)?
    } else if name.ends_with(".zip") {
        read_zip(path)?
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        read_tar_gz(path)?
    } else {
        return Err(Error::Advisory(format!(
            "unsupported advisory source {}: expected a directory, a .zip or a .tar.gz of OSV records",
            path.display()
        )));
    };
    files.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(files)
}

fn read_directory(root: &Path) -> Result<Vec<SourceFile>> {
    let mut files = Vec::new();
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory).map_err(|error| Error::io("failed to list", &directory, error))?;
        for entry in entries {
            let entry = entry.map_err(|error| Error::io("failed to list", &directory, error))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|error| Error::io("failed to stat", &path, error))?;
            if file_type.is_dir() {
                pending.push(path);
            } else if file_type.is_file() && is_record_file(&path.to_string_lossy()) {
                let bytes = std::fs::read(&path).map_err(|error| Error::io("failed to read", &path, error))?;
                let name = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
                files.push(SourceFile { name, bytes });
            }
        }
    }
    Ok(files)
}

fn read_zip(path: &Path) -> Result<Vec<SourceFile>> {
    let file = File::open(path).map_err(|error| Error::io("failed to open", path, error))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|error| Error::Advisory(format!("invalid zip archive {}: {error}", path.display())))?;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|error| Error::Advisory(format!("invalid zip archive {}: {error}", path.display())))?;
        if !entry.is_file() || !is_record_file(entry.name()) {
            continue;
        }
        let name = entry.name().to_string();
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|error| Error::Advisory(format!("failed to read {name} in {}: {error}", path.display())))?;
        files.push(SourceFile { name, bytes });
    }
    Ok(files)
}

fn read_tar_gz(path: &Path) -> Result<Vec<SourceFile>> {
    let file = File::open(path).map_err(|error| Error::io("failed to open", path, error))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let invalid = |error: std::io::Error| Error::Advisory(format!("invalid .tar.gz archive {}: {error}", path.display()));
    let mut files = Vec::new();
    for entry in archive.entries().map_err(invalid)? {
        let mut entry = entry.map_err(invalid)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().map_err(invalid)?.to_string_lossy().into_owned();
        if !is_record_file(&name) {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(invalid)?;
        files.push(SourceFile { name, bytes });
    }
    Ok(files)
}
