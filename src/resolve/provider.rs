//! The pubgrub dependency provider: candidate versions and dependencies for
//! the target environment, read from the index through the shared fetcher.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{ExtraName, MarkerEnvironment, VersionOrUrl};
use pubgrub::{Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics};
use tokio::runtime::Handle;

use super::candidates::Release;
use super::fetch::Fetcher;
use super::ranges::{self, VersionRange};
use crate::error::{Error, Result};
use crate::index::IndexFile;
use crate::requirement::{normalize_name, Requirement};

/// How many older candidates of a package being backtracked have their metadata fetched ahead.
const BACKTRACK_PREFETCH: usize = 16;

/// A node of the dependency graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    /// The caller's requirements.
    Root,
    /// A distribution, by normalised name.
    Package(String),
    /// A distribution with one extra; it depends on the same version of the
    /// distribution and on the dependencies the extra adds.
    Extra(String, String),
}

impl Node {
    /// Returns the distribution name, or `None` for the root.
    pub fn name(&self) -> Option<&str> {
        match self {
            Node::Root => None,
            Node::Package(name) | Node::Extra(name, _) => Some(name),
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => write!(formatter, "the requirements"),
            Node::Package(name) => write!(formatter, "{name}"),
            Node::Extra(name, extra) => write!(formatter, "{name}[{extra}]"),
        }
    }
}

/// A dependency as a parent declared it.
#[derive(Clone, Debug)]
pub struct Edge {
    pub name: String,
    /// The requirement as written, such as `urllib3<3,>=1.21.1`.
    pub text: String,
}

/// Options that change which candidates count.
#[derive(Clone, Debug, Default)]
pub struct Preferences {
    /// Accept pre-releases of every package, not only of those a requirement names one of.
    pub prereleases: bool,
}

/// An error of the provider, carried through pubgrub.
#[derive(Debug)]
pub struct ProviderError(pub Error);

impl fmt::Display for ProviderError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

impl std::error::Error for ProviderError {}

/// The solver's view of the index for one resolution.
pub struct Provider {
    fetcher: Arc<Fetcher>,
    handle: Handle,
    environment: MarkerEnvironment,
    requirements: Vec<Requirement>,
    preferences: Preferences,
    /// Packages some requirement names a pre-release of, so their pre-releases count.
    prerelease_allowed: RefCell<HashSet<String>>,
    /// Versions some requirement pins with `==`, so a yanked release counts.
    pinned: RefCell<HashMap<String, HashSet<Version>>>,
    /// Versions passed over while choosing, with the reason, for messages.
    pub skipped: RefCell<HashMap<String, BTreeMap<Version, String>>>,
    /// Packages no index has, with the index that was asked.
    pub not_found: RefCell<HashMap<String, String>>,
    /// The order in which packages were first met; earlier ones are decided first.
    discovered: RefCell<HashMap<Node, usize>>,
    /// The dependencies each decided node declared, for the lock's `required_by`.
    pub edges: RefCell<HashMap<(Node, Version), Vec<Edge>>>,
    /// How often a version of each node was chosen, which counts backtracking.
    attempts: RefCell<HashMap<Node, usize>>,
    /// Set when the caller stopped waiting, so the solver stops at its next step.
    pub cancelled: Arc<AtomicBool>,
}

impl Provider {
    pub fn new(fetcher: Arc<Fetcher>, handle: Handle, environment: MarkerEnvironment, requirements: Vec<Requirement>, preferences: Preferences) -> Self {
        let provider = Provider {
            fetcher,
            handle,
            environment,
            requirements,
            preferences,
            prerelease_allowed: RefCell::default(),
            pinned: RefCell::default(),
            skipped: RefCell::default(),
            not_found: RefCell::default(),
            discovered: RefCell::default(),
            edges: RefCell::default(),
            attempts: RefCell::default(),
            cancelled: Arc::default(),
        };
        provider.discovered.borrow_mut().insert(Node::Root, 0);
        provider
    }

    /// Returns the wheel chosen for `name` at `version`; the version was offered by `choose_version`.
    pub fn wheel(&self, name: &str, version: &Version) -> Result<IndexFile> {
        let project = self.handle.block_on(self.fetcher.project(name))?;
        let pinned = self.is_pinned(name, version);
        project
            .releases
            .iter()
            .find(|release| &release.version == version)
            .and_then(|release| release.usable_wheel(pinned))
            .cloned()
            .ok_or_else(|| Error::Resolution(format!("{name} {version} has no usable wheel")))
    }

    fn is_pinned(&self, name: &str, version: &Version) -> bool {
        self.pinned.borrow().get(name).is_some_and(|versions| versions.contains(version))
    }

    /// Records the pre-releases and exact pins a requirement names.
    fn note_specifiers(&self, name: &str, specifiers: &VersionSpecifiers) {
        for specifier in specifiers.iter() {
            if specifier.any_prerelease() {
                self.prerelease_allowed.borrow_mut().insert(name.to_string());
            }
            if matches!(specifier.operator(), Operator::Equal | Operator::ExactEqual) {
                self.pinned.borrow_mut().entry(name.to_string()).or_default().insert(specifier.version().clone());
            }
        }
    }

    /// Adds one requirement to a node's dependencies and starts fetching what it will need.
    fn add_dependency(&self, constraints: &mut DependencyConstraints<Node, VersionRange>, name: &str, extras: &[String], specifiers: &VersionSpecifiers) {
        self.note_specifiers(name, specifiers);
        let range = ranges::from_specifiers(specifiers);
        let mut nodes = vec![Node::Package(name.to_string())];
        nodes.extend(extras.iter().map(|extra| Node::Extra(name.to_string(), extra.clone())));
        for node in nodes {
            let next = self.discovered.borrow().len();
            self.discovered.borrow_mut().entry(node.clone()).or_insert(next);
            constraints
                .entry(node)
                .and_modify(|existing| *existing = existing.intersection(&range))
                .or_insert_with(|| range.clone());
        }
        self.prefetch(name, range);
    }

    /// Fetches the project page of `name` and the metadata of its likely
    /// candidate in the background, so the solver rarely waits on the network.
    fn prefetch(&self, name: &str, range: VersionRange) {
        let fetcher = self.fetcher.clone();
        let name = name.to_string();
        let prereleases = self.preferences.prereleases || self.prerelease_allowed.borrow().contains(&name);
        self.handle.spawn(async move {
            let Ok(project) = fetcher.project(&name).await else { return };
            let likely = project
                .releases
                .iter()
                .filter(|release| range.contains(&release.version))
                .filter(|release| prereleases || !release.version.any_prerelease())
                .find_map(|release| release.wheel.clone());
            if let Some(file) = likely {
                let _ = fetcher.metadata(&file).await;
            }
        });
    }

    /// Starts fetching the metadata of the next older candidates once the
    /// solver has come back to a package, because backtracking usually walks
    /// down several of its versions and each needs its metadata.
    fn prefetch_older(&self, node: &Node, older: &[Release], range: &VersionRange, prereleases: bool) {
        let attempts = {
            let mut attempts = self.attempts.borrow_mut();
            let count = attempts.entry(node.clone()).or_insert(0);
            *count += 1;
            *count
        };
        if attempts < 2 {
            return;
        }
        let files: Vec<IndexFile> = older
            .iter()
            .filter(|release| range.contains(&release.version))
            .filter(|release| prereleases || !release.version.any_prerelease())
            .filter_map(|release| release.wheel.clone())
            .take(BACKTRACK_PREFETCH)
            .collect();
        for file in files {
            let fetcher = self.fetcher.clone();
            self.handle.spawn(async move {
                let _ = fetcher.metadata(&file).await;
            });
        }
    }

    fn dependencies(&self, node: &Node, version: &Version) -> Result<Dependencies<Node, VersionRange, String>> {
        let mut constraints = DependencyConstraints::default();
        let mut edges = Vec::new();

        let (name, extra) = match node {
            Node::Root => {
                for requirement in &self.requirements {
                    if !requirement.marker.evaluate(&self.environment, &[]) {
                        log::debug!("skipping {}: its marker is false for the target", requirement.text);
                        continue;
                    }
                    self.add_dependency(&mut constraints, &requirement.name, &requirement.extras, &requirement.specifiers);
                    edges.push(Edge {
                        name: requirement.name.clone(),
                        text: requirement.text.clone(),
                    });
                }
                self.edges.borrow_mut().insert((node.clone(), version.clone()), edges);
                return Ok(Dependencies::Available(constraints));
            }
            Node::Package(name) => (name, None),
            Node::Extra(name, extra) => {
                constraints.insert(Node::Package(name.clone()), VersionRange::singleton(version.clone()));
                (name, Some(extra))
            }
        };

        let file = self.wheel(name, version)?;
        let metadata = self.handle.block_on(self.fetcher.metadata(&file))?;
        if let Some(requires_python) = metadata.requires_python.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            let allowed = VersionSpecifiers::from_str(requires_python)
                .map(|specifiers| specifiers.contains(&python_version(&self.environment)))
                .unwrap_or(false);
            if !allowed {
                return Ok(Dependencies::Unavailable(format!("its metadata requires Python {requires_python}")));
            }
        }

        let extra_names: Vec<ExtraName> = extra.and_then(|extra| ExtraName::from_str(extra).ok()).into_iter().collect();
        let parent = format!("{name}=={version}");
        for text in &metadata.requires_dist {
            let parsed = match pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(text) {
                Ok(parsed) => parsed,
                Err(error) => {
                    return Ok(Dependencies::Unavailable(format!("it declares an invalid dependency {text:?}: {}", error.message)));
                }
            };
            if !parsed.marker.evaluate(&self.environment, &extra_names) {
                continue;
            }
            let specifiers = match parsed.version_or_url {
                None => VersionSpecifiers::empty(),
                Some(VersionOrUrl::VersionSpecifier(specifiers)) => specifiers,
                Some(VersionOrUrl::Url(_)) => {
                    return Err(Error::Resolution(format!(
                        "{parent} depends on {text:?}, a direct URL reference; skillguard installs only index packages"
                    )));
                }
            };
            let dependency = normalize_name(parsed.name.as_ref());
            let dependency_extras: Vec<String> = parsed.extras.iter().map(|extra| normalize_name(extra.as_ref())).collect();
            if &dependency == name && dependency_extras.is_empty() {
                continue;
            }
            self.add_dependency(&mut constraints, &dependency, &dependency_extras, &specifiers);
            edges.push(Edge {
                name: dependency,
                text: text.clone(),
            });
        }
        self.edges.borrow_mut().insert((node.clone(), version.clone()), edges);
        Ok(Dependencies::Available(constraints))
    }
}

fn python_version(environment: &MarkerEnvironment) -> Version {
    environment.python_full_version().version.clone()
}

impl DependencyProvider for Provider {
    type P = Node;
    type V = Version;
    type VS = VersionRange;
    type M = String;
    type Priority = (u32, bool, Reverse<usize>);
    type Err = ProviderError;

    fn prioritize(&self, package: &Node, range: &VersionRange, statistics: &PackageResolutionStatistics) -> Self::Priority {
        let order = self.discovered.borrow().get(package).copied().unwrap_or(usize::MAX);
        (statistics.conflict_count(), range.as_singleton().is_some(), Reverse(order))
    }

    fn choose_version(&self, package: &Node, range: &VersionRange) -> std::result::Result<Option<Version>, ProviderError> {
        let Some(name) = package.name() else { return Ok(Some(Version::new([0]))) };
        let project = self.handle.block_on(self.fetcher.project(name)).map_err(ProviderError)?;
        if let Some(index) = &project.not_found_on {
            self.not_found.borrow_mut().insert(name.to_string(), index.clone());
            return Ok(None);
        }
        let prereleases = self.preferences.prereleases || self.prerelease_allowed.borrow().contains(name);
        let mut skipped = self.skipped.borrow_mut();
        for (position, release) in project.releases.iter().enumerate() {
            if !range.contains(&release.version) {
                continue;
            }
            if release.version.any_prerelease() && !prereleases && range.as_singleton().is_none() {
                continue;
            }
            let pinned = self.is_pinned(name, &release.version);
            if release.usable_wheel(pinned).is_some() {
                self.prefetch_older(package, &project.releases[position + 1..], range, prereleases);
                return Ok(Some(release.version.clone()));
            }
            let reason = match &release.problem {
                Some(problem) => problem.clone(),
                None => "yanked".to_string(),
            };
            skipped.entry(name.to_string()).or_default().insert(release.version.clone(), reason);
        }
        Ok(None)
    }

    fn get_dependencies(&self, package: &Node, version: &Version) -> std::result::Result<Dependencies<Node, VersionRange, String>, ProviderError> {
        self.dependencies(package, version).map_err(ProviderError)
    }

    fn should_cancel(&self) -> std::result::Result<(), ProviderError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(ProviderError(Error::Interrupted));
        }
        Ok(())
    }
}
