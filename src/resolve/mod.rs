//! Resolution of a skill's requirements into a lock for the target image.
//!
//! TODO: this is a highest-compatible-version walk without backtracking, so
//! a conflict it meets is reported (naming both requirements) rather than
//! solved. A proven solver (pubgrub) is to replace it. Until then a resolution
//! either succeeds with versions every requirement accepts or fails, so it
//! never produces a lock that breaks a requirement.

pub mod lock;
pub mod target;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use futures_util::stream::{self, StreamExt};
use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, VersionOrUrl};

use crate::error::{Error, Result};
use crate::index::tags::{SupportedTags, WheelName};
use crate::index::{IndexClient, IndexFile};
use crate::requirement::{normalize_name, Requirement};

pub use lock::{Lock, LockedPackage};
pub use target::TargetEnv;

/// How many index requests run at once.
const CONCURRENT_REQUESTS: usize = 8;

/// The label of requirements given by the skill itself.
pub const TOP_LEVEL: &str = "<requirements>";

/// One requirement on a package, with who made it.
#[derive(Clone, Debug)]
struct Constraint {
    specifiers: VersionSpecifiers,
    /// `<requirements>` or `name==version`.
    origin: String,
    /// The requirement as written, for messages.
    text: String,
}

struct Chosen {
    version: Version,
    file: IndexFile,
    requires_dist: Vec<String>,
    extras_done: BTreeSet<String>,
}

/// Resolves `requirements` for `target` against the index.
pub async fn resolve(client: &IndexClient, requirements: &[Requirement], target: &TargetEnv) -> Result<Lock> {
    let environment = target.marker_environment()?;
    let tags = target.supported_tags()?;
    let python = Version::from_str(&target.python_full_version)
        .map_err(|error| Error::InvalidArgument(format!("invalid target Python version: {error}")))?;

    let mut constraints: HashMap<String, Vec<Constraint>> = HashMap::new();
    let mut extras: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut chosen: BTreeMap<String, Chosen> = BTreeMap::new();
    let mut pages: HashMap<String, Vec<IndexFile>> = HashMap::new();
    let mut pending: BTreeSet<String> = BTreeSet::new();

    for requirement in requirements {
        if !requirement.marker.evaluate(&environment, &[]) {
            log::debug!("skipping {requirement}: its marker is false for the target");
            continue;
        }
        constraints.entry(requirement.name.clone()).or_default().push(Constraint {
            specifiers: requirement.specifiers.clone(),
            origin: TOP_LEVEL.into(),
            text: requirement.text.clone(),
        });
        extras.entry(requirement.name.clone()).or_default().extend(requirement.extras.iter().cloned());
        pending.insert(requirement.name.clone());
    }

    while !pending.is_empty() {
        let wave: Vec<String> = std::mem::take(&mut pending).into_iter().collect();

        // Project pages of every new name in this wave, fetched concurrently.
        let missing: Vec<String> = wave.iter().filter(|name| !pages.contains_key(*name)).cloned().collect();
        let fetched: Vec<(String, Result<Vec<IndexFile>>)> = stream::iter(missing)
            .map(|name| async move {
                let files = client.project_files(&name).await;
                (name, files)
            })
            .buffer_unordered(CONCURRENT_REQUESTS)
            .collect()
            .await;
        for (name, files) in fetched {
            pages.insert(name, files?);
        }

        // Choose a version for each new name; check already chosen ones against new constraints.
        let mut selected: Vec<(String, Version, IndexFile)> = Vec::new();
        for name in &wave {
            let package_constraints = &constraints[name];
            if let Some(existing) = chosen.get(name) {
                if let Some(conflict) = package_constraints.iter().find(|constraint| !constraint.specifiers.contains(&existing.version)) {
                    return Err(conflict_error(name, &existing.version, package_constraints, conflict));
                }
                continue;
            }
            let (version, file) = select_version(name, &pages[name], package_constraints, &tags, &python)?;
            selected.push((name.clone(), version, file));
        }

        // Metadata of the newly chosen wheels, fetched concurrently.
        let metadata: Vec<(String, Version, IndexFile, Result<crate::index::metadata::CoreMetadataFields>)> =
            stream::iter(selected)
                .map(|(name, version, file)| async move {
                    let fields = client.wheel_metadata(&file).await;
                    (name, version, file, fields)
                })
                .buffer_unordered(CONCURRENT_REQUESTS)
                .collect()
                .await;
        for (name, version, file, fields) in metadata {
            let fields = fields?;
            log::debug!("chose {name} {version} ({})", file.filename);
            chosen.insert(
                name,
                Chosen {
                    version,
                    file,
                    requires_dist: fields.requires_dist,
                    extras_done: BTreeSet::new(),
                },
            );
        }

        // Add the dependencies of every package whose extras are not all processed yet.
        for name in &wave {
            let Some(node) = chosen.get_mut(name) else { continue };
            let wanted = extras.get(name).cloned().unwrap_or_default();
            let first_visit = !node.extras_done.contains("");
            let new_extras: Vec<String> = wanted.difference(&node.extras_done).cloned().collect();
            if !first_visit && new_extras.is_empty() {
                continue;
            }
            let parent = format!("{name}=={}", node.version);
            for dependency in dependencies_of(&parent, &node.requires_dist, &wanted, &environment)? {
                constraints.entry(dependency.name.clone()).or_default().push(Constraint {
                    specifiers: dependency.specifiers.clone(),
                    origin: parent.clone(),
                    text: dependency.text.clone(),
                });
                extras.entry(dependency.name.clone()).or_default().extend(dependency.extras.iter().cloned());
                pending.insert(dependency.name.clone());
            }
            node.extras_done = wanted;
            // An empty marker entry records that the base dependencies were processed.
            node.extras_done.insert(String::new());
        }
    }

    let packages = chosen
        .into_iter()
        .map(|(name, node)| {
            let mut required_by: Vec<String> = constraints
                .get(&name)
                .map(|list| list.iter().map(|constraint| constraint.origin.clone()).collect::<BTreeSet<_>>().into_iter().collect())
                .unwrap_or_default();
            required_by.sort();
            LockedPackage {
                sha256: node.file.sha256().expect("selection keeps only files with a sha256").to_string(),
                name,
                version: node.version.to_string(),
                wheel: node.file.filename.clone(),
                url: node.file.url.split('#').next().unwrap_or(&node.file.url).to_string(),
                size: node.file.size,
                required_by,
            }
        })
        .collect();
    Ok(Lock::new(
        packages,
        target.clone(),
        requirements.iter().map(|requirement| requirement.text.clone()).collect(),
    ))
}

/// A dependency declared by a chosen package.
struct Dependency {
    name: String,
    extras: Vec<String>,
    specifiers: VersionSpecifiers,
    text: String,
}

/// Parses `Requires-Dist` lines and keeps those whose marker holds for the
/// target with the package's requested extras.
fn dependencies_of(parent: &str, requires_dist: &[String], extras: &BTreeSet<String>, environment: &MarkerEnvironment) -> Result<Vec<Dependency>> {
    let extra_names: Vec<ExtraName> = extras
        .iter()
        .filter(|extra| !extra.is_empty())
        .filter_map(|extra| ExtraName::from_str(extra).ok())
        .collect();
    let mut dependencies = Vec::new();
    for text in requires_dist {
        let parsed = pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text).map_err(|error| {
            Error::Resolution(format!("{parent} declares an invalid dependency {text:?}: {}", error.message))
        })?;
        if !parsed.marker.evaluate(environment, &extra_names) {
            continue;
        }
        let specifiers = match parsed.version_or_url {
            None => VersionSpecifiers::empty(),
            Some(VersionOrUrl::VersionSpecifier(specifiers)) => specifiers,
            Some(VersionOrUrl::Url(_)) => {
                return Err(Error::Resolution(format!(
                    "{parent} depends on {text:?}, a direct URL reference; skillguard installs only index packages"
                )))
            }
        };
        dependencies.push(Dependency {
            name: normalize_name(parsed.name.as_ref()),
            extras: parsed.extras.iter().map(|extra| normalize_name(extra.as_ref())).collect(),
            specifiers,
            text: text.clone(),
        });
    }
    Ok(dependencies)
}

/// Tells whether a constraint pins exactly one version (`==1.2.3` or `===1.2.3`).
fn pins_exactly(constraint: &Constraint) -> bool {
    constraint.specifiers.iter().any(|specifier| {
        matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual)
    })
}

/// Picks the highest version that every constraint accepts and that has a
/// wheel the target can install. Yanked releases count only when pinned
/// exactly, pre-releases only when a constraint names one.
fn select_version(
    name: &str,
    files: &[IndexFile],
    constraints: &[Constraint],
    tags: &SupportedTags,
    python: &Version,
) -> Result<(Version, IndexFile)> {
    let allow_prereleases = constraints
        .iter()
        .any(|constraint| constraint.specifiers.iter().any(|specifier| specifier.any_prerelease()));
    let pinned = constraints.iter().any(pins_exactly);

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

    let mut tried: Vec<String> = Vec::new();
    for (version, candidates) in by_version.iter().rev() {
        if !constraints.iter().all(|constraint| constraint.specifiers.contains(version)) {
            continue;
        }
        if version.any_prerelease() && !allow_prereleases {
            continue;
        }
        if candidates.iter().all(|file| file.yanked.is_yanked()) && !pinned {
            continue;
        }
        let best = candidates
            .iter()
            .filter(|file| !file.yanked.is_yanked() || pinned)
            .filter(|file| file.sha256().is_some())
            .filter(|file| requires_python_allows(file, python))
            .filter_map(|file| WheelName::parse(&file.filename).and_then(|wheel| tags.rank(&wheel)).map(|rank| (rank, *file)))
            .min_by_key(|(rank, _)| *rank);
        match best {
            Some((_, file)) => return Ok((version.clone(), file.clone())),
            None => {
                let has_wheel = candidates.iter().any(|file| file.filename.ends_with(".whl"));
                tried.push(format!("{version} ({})", if has_wheel { "no wheel for the target" } else { "source only" }));
            }
        }
    }

    let wanted: Vec<String> = constraints
        .iter()
        .map(|constraint| format!("{} requires {}", constraint.origin, constraint.text))
        .collect();
    if tried.is_empty() {
        return Err(Error::Resolution(format!(
            "no version of {name} satisfies the requirements: {}",
            wanted.join("; ")
        )));
    }
    let shown: Vec<&String> = tried.iter().take(8).collect();
    Err(Error::Resolution(format!(
        "no compatible wheel for {name}: tried {}{}\n({})\nhint: skillguard installs wheels only and never builds source distributions on the host; pick a version with a wheel for CPython on manylinux",
        shown.iter().map(|text| text.as_str()).collect::<Vec<_>>().join(", "),
        if tried.len() > shown.len() { format!(" and {} more", tried.len() - shown.len()) } else { String::new() },
        wanted.join("; ")
    )))
}

fn requires_python_allows(file: &IndexFile, python: &Version) -> bool {
    match file.requires_python.as_deref().map(str::trim) {
        None | Some("") => true,
        Some(text) => match VersionSpecifiers::from_str(text) {
            Ok(specifiers) => specifiers.contains(python),
            Err(_) => {
                log::warn!("ignoring {}: invalid Requires-Python {text:?}", file.filename);
                false
            }
        },
    }
}

/// The version of a source distribution file name (`{name}-{version}.tar.gz`).
fn sdist_version(name: &str, filename: &str) -> Option<String> {
    let stem = filename.strip_suffix(".tar.gz").or_else(|| filename.strip_suffix(".zip"))?;
    let (file_name, version) = stem.rsplit_once('-')?;
    (normalize_name(file_name) == name).then(|| version.to_string())
}

fn conflict_error(name: &str, version: &Version, constraints: &[Constraint], conflict: &Constraint) -> Error {
    let others: Vec<String> = constraints
        .iter()
        .filter(|constraint| constraint.specifiers.contains(version))
        .map(|constraint| format!("{} requires {}", constraint.origin, constraint.text))
        .collect();
    Error::Resolution(format!(
        "conflicting requirements for {name}: {name} {version} was chosen ({}), but {} requires {}\nhint: this resolver does not backtrack yet; pin {name} to a version every requirement accepts",
        if others.is_empty() { "first match".to_string() } else { others.join("; ") },
        conflict.origin,
        conflict.text
    ))
}
