//! The releases of one project for one target: for each version the best
//! wheel the target can install, or the reason it has none.

use std::collections::BTreeMap;
use std::str::FromStr;

use pep508_rs::pep440_rs::{Version, VersionSpecifiers};
use serde::{Deserialize, Serialize};

use crate::index::tags::{SupportedTags, WheelName};
use crate::index::IndexFile;
use crate::requirement::normalize_name;

/// One version of a project.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Release {
    pub version: Version,
    /// The best installable wheel among the files that are not yanked.
    pub wheel: Option<IndexFile>,
    /// The best installable wheel among yanked files, used only when a requirement pins this version with `==`.
    pub yanked_wheel: Option<IndexFile>,
    /// The reason no wheel is installable, set when neither field above is.
    pub problem: Option<String>,
}

impl Release {
    /// Returns the wheel to install, taking a yanked one only when `pinned`.
    pub fn usable_wheel(&self, pinned: bool) -> Option<&IndexFile> {
        self.wheel.as_ref().or(if pinned { self.yanked_wheel.as_ref() } else { None })
    }
}

/// The facts about the target that decide which files are usable.
pub struct Filter<'a> {
    pub tags: &'a SupportedTags,
    pub python: &'a Version,
    /// Files uploaded after this instant (`YYYY-MM-DDTHH:MM:SS`, UTC) are ignored.
    pub uploaded_before: Option<&'a str>,
    /// A description of the target for messages, such as `CPython 3.11 on manylinux x86_64`.
    pub target: &'a str,
}

/// Groups the files of project `name` by version, newest first, and picks the best wheel of each.
pub fn releases(name: &str, files: &[IndexFile], filter: &Filter<'_>) -> Vec<Release> {
    let mut by_version: BTreeMap<Version, Vec<&IndexFile>> = BTreeMap::new();
    for file in files {
        let version = match WheelName::parse(&file.filename) {
            Some(wheel) => wheel.version,
            None => match sdist_version(name, &file.filename) {
                Some(version) => version,
                None => continue,
            },
        };
        if let Ok(version) = Version::from_str(&version) {
            by_version.entry(version).or_default().push(file);
        }
    }

    by_version
        .into_iter()
        .rev()
        .map(|(version, files)| release(version, &files, filter))
        .collect()
}

fn release(version: Version, files: &[&IndexFile], filter: &Filter<'_>) -> Release {
    let mut best: Option<(usize, &IndexFile)> = None;
    let mut best_yanked: Option<(usize, &IndexFile)> = None;
    let (mut wheels, mut tagged, mut python_ok, mut hashed) = (0, 0, 0, 0);
    let mut rejected_python: Option<String> = None;
    let mut too_new = 0;

    for file in files {
        let Some(wheel) = WheelName::parse(&file.filename) else { continue };
        wheels += 1;
        let Some(rank) = filter.tags.rank(&wheel) else { continue };
        tagged += 1;
        if !requires_python_allows(file, filter.python) {
            rejected_python = file.requires_python.clone();
            continue;
        }
        python_ok += 1;
        if file.sha256().is_none() {
            continue;
        }
        hashed += 1;
        // NOTE: a file without an upload time (every file of an HTML index,
        // and find-links wheels) passes the cool-down, because its age is unknown.
        if let (Some(cutoff), Some(uploaded)) = (filter.uploaded_before, file.upload_time.as_deref()) {
            if uploaded > cutoff {
                too_new += 1;
                continue;
            }
        }
        let slot = if file.yanked.is_yanked() { &mut best_yanked } else { &mut best };
        if slot.is_none_or(|(current, _)| rank < current) {
            *slot = Some((rank, file));
        }
    }

    let problem = if best.is_some() || best_yanked.is_some() {
        None
    } else if wheels == 0 {
        Some("source distribution only".to_string())
    } else if tagged == 0 {
        Some(format!("no wheel for {}", filter.target))
    } else if python_ok == 0 {
        Some(format!("requires Python {}", rejected_python.unwrap_or_default()))
    } else if hashed == 0 {
        Some("the index lists no sha256 for its wheels".to_string())
    } else if too_new > 0 {
        Some("uploaded within the cool-down period".to_string())
    } else {
        Some(format!("no wheel for {}", filter.target))
    };
    Release {
        version,
        wheel: best.map(|(_, file)| file.clone()),
        yanked_wheel: best_yanked.map(|(_, file)| file.clone()),
        problem,
    }
}

fn requires_python_allows(file: &IndexFile, python: &Version) -> bool {
    match file.requires_python.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(text) => match VersionSpecifiers::from_str(text) {
            Ok(specifiers) => specifiers.contains(python),
            Err(_) => {
                log::debug!("ignoring {}: invalid Requires-Python {text:?}", file.filename);
                false
            }
        },
    }
}

/// The version of a source distribution file name (`{name}-{version}.tar.gz`).
fn sdist_version(name: &str, filename: &str) -> Option<String> {
    let stem = filename
        .strip_suffix(".tar.gz")
        .or_else(|| filename.strip_suffix(".zip"))
        .or_else(|| filename.strip_suffix(".tar.bz2"))?;
    let (file_name, version) = stem.rsplit_once('-')?;
    (normalize_name(file_name) == name).then(|| version.to_string())
}
