//! Resolution of a skill's requirements into a lock for the target image,
//! with the pubgrub solver over the releases the index offers.

mod candidates;
mod fetch;
pub mod lock;
mod provider;
pub mod ranges;
mod report;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pep508_rs::pep440_rs::Version;
use pubgrub::PubGrubError;

use crate::error::{Error, Result};
use crate::index::{self, strip_credentials, IndexClient};
use crate::requirement::Requirement;

pub use lock::{Lock, LockedPackage};
pub use provider::Preferences;
pub use target::TargetEnv;

use fetch::Fetcher;
use provider::{Node, Provider};
use report::Explainer;

/// The label of requirements given by the skill itself.
pub const TOP_LEVEL: &str = "<requirements>";

/// Options of one resolution.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// Accept pre-releases of every package. Without it a pre-release is
    /// chosen only for a package some requirement names a pre-release of.
    pub prereleases: bool,
    /// Ignore files uploaded less than this many days ago (by the index's upload time).
    pub cooldown_days: Option<f64>,
}

/// Rejects top-level requirements on one package whose ranges share no
/// version (`requests<2` with `requests>2`), naming them, before any fetch.
/// The solver would report the same conflict only as an empty range.
fn reject_contradictions(requirements: &[Requirement], environment: &pep508_rs::MarkerEnvironment) -> Result<()> {
    let mut by_name: Vec<(&str, Vec<&Requirement>)> = Vec::new();
    for requirement in requirements.iter().filter(|requirement| requirement.marker.evaluate(environment, &[])) {
        match by_name.iter_mut().find(|(name, _)| *name == requirement.name) {
            Some((_, listed)) => listed.push(requirement),
            None => by_name.push((&requirement.name, vec![requirement])),
        }
    }
    for (name, listed) in by_name.iter().filter(|(_, listed)| listed.len() > 1) {
        let range = listed
            .iter()
            .fold(ranges::VersionRange::full(), |range, requirement| range.intersection(&ranges::from_specifiers(&requirement.specifiers)));
        if range.is_empty() {
            let texts: Vec<String> = listed.iter().map(|requirement| requirement.text.clone()).collect();
            return Err(Error::Resolution(format!(
                "the requirements {} allow no version of {name} together; keep one range for {name}",
                texts.join(" and ")
            )));
        }
    }
    Ok(())
}

/// Resolves `requirements` for `target` against the index with default options.
pub async fn resolve(client: &IndexClient, requirements: &[Requirement], target: &TargetEnv) -> Result<Lock> {
    resolve_with(client, requirements, target, &ResolveOptions::default()).await
}

/// Resolves `requirements` for `target` against the index.
pub async fn resolve_with(client: &IndexClient, requirements: &[Requirement], target: &TargetEnv, options: &ResolveOptions) -> Result<Lock> {
    let environment = target.marker_environment()?;
    reject_contradictions(requirements, &environment)?;
    let tags = target.supported_tags()?;
    let python = Version::from_str(&target.python_full_version)
        .map_err(|error| Error::InvalidArgument(format!("invalid target Python version {:?}: {error}", target.python_full_version)))?;
    let uploaded_before = match options.cooldown_days {
        None => None,
        Some(days) if days.is_finite() && days >= 0.0 => {
            // A period longer than the clock can represent reaches back to the epoch.
            let period = Duration::try_from_secs_f64(days * 86_400.0).ok();
            let cutoff = period.and_then(|period| SystemTime::now().checked_sub(period)).unwrap_or(UNIX_EPOCH);
            Some(utc_timestamp(cutoff))
        }
        Some(days) => {
            return Err(Error::InvalidArgument(format!(
                "cooldown_days {days} must be a non-negative number of days"
            )))
        }
    };

    let fetcher = Arc::new(Fetcher::new(client.clone(), tags, python, uploaded_before, target.describe()));
    let provider = Provider::new(
        fetcher.clone(),
        tokio::runtime::Handle::current(),
        environment,
        requirements.to_vec(),
        Preferences {
            prereleases: options.prereleases,
        },
    );

    // pubgrub is synchronous, so it runs on a blocking thread and waits on
    // fetches there while the runtime keeps the prefetches moving. A blocking
    // thread cannot be aborted, so dropping this future (for example on
    // Ctrl-C) sets a flag that stops the solver at its next step instead.
    let _stop_when_dropped = StopWhenDropped(provider.cancelled.clone());
    let names: Vec<String> = requirements.iter().map(|requirement| requirement.name.clone()).collect();
    let requirements = requirements.to_vec();
    let target = target.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let outcome = pubgrub::resolve(&provider, Node::Root, Version::new([0]));
        match outcome {
            Ok(solution) => lock_from_solution(&provider, &solution, &requirements, &target),
            Err(PubGrubError::NoSolution(tree)) => Err(explain_failure(&provider, &tree, &target)),
            Err(PubGrubError::ErrorRetrievingDependencies { source, .. }) | Err(PubGrubError::ErrorChoosingVersion { source, .. }) => {
                Err(source.0)
            }
            Err(PubGrubError::ErrorInShouldCancel(source)) => Err(source.0),
        }
    })
    .await
    .map_err(|error| Error::Resolution(format!("the resolver stopped unexpectedly: {error}")))?;

    match outcome {
        Err(error) if index::is_offline_miss(&error) => Err(offline_report(&fetcher, &names, error).await),
        other => other,
    }
}

/// Lists every cache entry an offline resolution missed, not only the one
/// that stopped it, so a caller can fill the cache in one online run.
async fn offline_report(fetcher: &Fetcher, top_level: &[String], first: Error) -> Error {
    // Every top-level project is looked up, and prefetches of deeper ones
    // read only the local cache in offline mode, so a short pause lets them
    // record what they missed too.
    for name in top_level {
        let _ = fetcher.project(name).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let missing = fetcher.offline_misses();
    if missing.len() < 2 {
        return first;
    }
    Error::Index(format!(
        "offline mode: the cache {} lacks {} entries this resolution needs:\n{}\nhint: resolve once online with the same cache_dir, or turn offline mode off",
        fetcher.client().cache_directory().display(),
        missing.len(),
        missing.iter().map(|entry| format!("  {entry}")).collect::<Vec<_>>().join("\n")
    ))
}

/// Sets a flag when dropped.
struct StopWhenDropped(Arc<std::sync::atomic::AtomicBool>);

impl Drop for StopWhenDropped {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn explain_failure(provider: &Provider, tree: &pubgrub::DerivationTree<Node, ranges::VersionRange, String>, target: &TargetEnv) -> Error {
    let skipped = provider.skipped.borrow();
    let not_found = provider.not_found.borrow();
    let explanation = Explainer {
        skipped: &skipped,
        not_found: &not_found,
    }
    .explain(tree);
    let mut message = format!("no set of wheels satisfies the requirements for {}:\n{explanation}", target.describe());
    let wheels_missing = skipped
        .values()
        .any(|versions| versions.values().any(|reason| reason.contains("wheel") || reason.contains("source")));
    if !not_found.is_empty() {
        message.push_str("\nhint: check the spelling of the package names and the index URL");
    } else if wheels_missing {
        message.push_str("\nhint: skillguard installs wheels only and never builds source distributions on the host; require a version that publishes a wheel for the target");
    } else {
        message.push_str("\nhint: change or remove one of the requirements named above so that their versions overlap");
    }
    Error::Resolution(message)
}

fn lock_from_solution(
    provider: &Provider,
    solution: &pubgrub::SelectedDependencies<Provider>,
    requirements: &[Requirement],
    target: &TargetEnv,
) -> Result<Lock> {
    // Who pulled in each package, from the dependencies the decided nodes declared.
    let mut origins: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
    let edges = provider.edges.borrow();
    for (node, version) in solution {
        let Some(declared) = edges.get(&(node.clone(), version.clone())) else { continue };
        let origin = match node.name() {
            None => TOP_LEVEL.to_string(),
            Some(name) => format!("{name}=={version}"),
        };
        for edge in declared {
            let entry = origins.entry(edge.name.clone()).or_default();
            entry.0.insert(origin.clone());
            entry.1.insert(if node.name().is_none() { edge.text.clone() } else { format!("{origin}: {}", edge.text) });
        }
    }

    let mut packages = Vec::new();
    for (node, version) in solution {
        let Node::Package(name) = node else { continue };
        let file = provider.wheel(name, version)?;
        let sha256 = file
            .sha256()
            .ok_or_else(|| Error::Resolution(format!("{name} {version}: the index lists no sha256 for {}", file.filename)))?
            .to_string();
        let (required_by, requested_as) = origins.remove(name).unwrap_or_default();
        packages.push(LockedPackage {
            name: name.clone(),
            version: version.to_string(),
            wheel: file.filename.clone(),
            // Credentials of a private index stay out of the lock, which is
            // exported and stored; downloads take them from the index settings again.
            url: strip_credentials(file.url.split('#').next().unwrap_or(&file.url)),
            sha256,
            size: file.size,
            required_by: required_by.into_iter().collect(),
            requirements: requested_as.into_iter().collect(),
        });
    }
    Ok(Lock::new(
        packages,
        target.clone(),
        requirements.iter().map(|requirement| requirement.text.clone()).collect(),
    ))
}

/// Formats an instant as `YYYY-MM-DDTHH:MM:SS` in UTC, the prefix of the
/// upload times PEP 700 indexes return, so the two compare as strings.
fn utc_timestamp(instant: SystemTime) -> String {
    let seconds = instant.duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0);
    let (days, remainder) = (seconds / 86_400, seconds % 86_400);
    // Civil-from-days conversion for the proleptic Gregorian calendar.
    let shifted = days as i64 + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        remainder / 3600,
        remainder % 3600 / 60,
        remainder % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_timestamp_matches_known_instants() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_709_251_199)), "2024-02-29T23:59:59");
        assert_eq!(utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_868_800)), "2000-03-01T00:00:00");
    }
}
