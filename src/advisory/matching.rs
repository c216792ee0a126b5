//! Matching one package version against stored ranges and version lists.

use std::str::FromStr;

use pep508_rs::pep440_rs::Version;

use super::record::{OsvEvent, OsvRange};

/// Tells whether `version` is affected: listed explicitly, or inside any
/// `ECOSYSTEM` range. `GIT` ranges name commits and are ignored here.
pub fn is_affected(version: &Version, ranges: &[OsvRange], versions: &[String]) -> bool {
    AffectedVersions::compile(ranges, versions).contains(version)
}

/// The upper end of an affected interval.
#[derive(Clone, Debug)]
pub enum UpperBound {
    /// `fixed` or `limit`: the bound itself is not affected.
    Exclusive(Version),
    /// `last_affected`: the bound itself is affected.
    Inclusive(Version),
    Unbounded,
}

/// The affected versions of one package in one record, compiled once so a
/// query is a few comparisons rather than parsing of the stored ranges.
#[derive(Clone, Debug, Default)]
pub struct AffectedVersions {
    /// Intervals as (inclusive lower bound, upper bound).
    intervals: Vec<(Version, UpperBound)>,
    /// The explicit `versions` list, parsed and sorted.
    listed: Vec<Version>,
}

impl AffectedVersions {
    /// Compiles the `ECOSYSTEM` ranges and the explicit list. Version strings
    /// that are not valid PEP 440 are skipped here (the import counts them).
    pub fn compile(ranges: &[OsvRange], versions: &[String]) -> Self {
        let mut intervals = Vec::new();
        for range in ranges.iter().filter(|range| range.kind == "ECOSYSTEM") {
            intervals.extend(range_intervals(&range.events));
        }
        let mut listed: Vec<Version> = versions.iter().filter_map(|text| Version::from_str(text).ok()).collect();
        listed.sort();
        listed.dedup();
        AffectedVersions { intervals, listed }
    }

    /// Tells whether `version` is listed or inside an interval.
    pub fn contains(&self, version: &Version) -> bool {
        self.listed.binary_search(version).is_ok() || self.in_ranges(version)
    }

    /// Tells whether `version` is inside an interval, ignoring the explicit list.
    pub fn in_ranges(&self, version: &Version) -> bool {
        self.intervals.iter().any(|(lower, upper)| {
            lower <= version
                && match upper {
                    UpperBound::Exclusive(bound) => version < bound,
                    UpperBound::Inclusive(bound) => version <= bound,
                    UpperBound::Unbounded => true,
                }
        })
    }

    /// Tells whether the record has at least one usable `ECOSYSTEM` interval.
    pub fn has_ranges(&self) -> bool {
        !self.intervals.is_empty()
    }

    /// Returns the explicit versions, parsed and sorted.
    pub fn listed(&self) -> &[Version] {
        &self.listed
    }

    /// Returns the intervals as (inclusive lower bound, upper bound).
    pub fn intervals(&self) -> &[(Version, UpperBound)] {
        &self.intervals
    }
}

/// Walks one range's events in version order: `introduced` opens an affected
/// interval, `fixed` and `limit` close it at their version, `last_affected`
/// closes it just after its version. An interval still open at the end has no upper bound.
fn range_intervals(events: &[OsvEvent]) -> Vec<(Version, UpperBound)> {
    let mut bounds: Vec<(Version, &OsvEvent)> = events
        .iter()
        .filter_map(|event| {
            // OSV writes "0" for "since the first release"; 0 sorts below every real version.
            Version::from_str(event_version(event)?).ok().map(|parsed| (parsed, event))
        })
        .collect();
    // A stable sort keeps the record's order for events at the same version.
    bounds.sort_by(|left, right| left.0.cmp(&right.0));

    let mut intervals = Vec::new();
    let mut open: Option<Version> = None;
    for (bound, event) in bounds {
        if event.introduced.is_some() {
            if open.is_none() {
                open = Some(bound);
            }
            continue;
        }
        let Some(lower) = open.take() else { continue };
        let upper = if event.last_affected.is_some() {
            UpperBound::Inclusive(bound)
        } else {
            UpperBound::Exclusive(bound)
        };
        intervals.push((lower, upper));
    }
    if let Some(lower) = open {
        intervals.push((lower, UpperBound::Unbounded));
    }
    intervals
}

fn event_version(event: &OsvEvent) -> Option<&str> {
    event
        .introduced
        .as_deref()
        .or(event.fixed.as_deref())
        .or(event.last_affected.as_deref())
        .or(event.limit.as_deref())
}

/// Counts the version strings of ranges and lists that are not valid PEP 440.
pub fn count_invalid_versions(ranges: &[OsvRange], versions: &[String]) -> usize {
    let in_ranges = ranges
        .iter()
        .filter(|range| range.kind == "ECOSYSTEM")
        .flat_map(|range| range.events.iter())
        .filter_map(event_version)
        .filter(|text| Version::from_str(text).is_err())
        .count();
    let in_list = versions.iter().filter(|text| Version::from_str(text).is_err()).count();
    in_ranges + in_list
}

/// Returns the `fixed` versions of the ranges, for reports.
pub fn fixed_versions(ranges: &[OsvRange]) -> Vec<String> {
    ranges
        .iter()
        .filter(|range| range.kind == "ECOSYSTEM")
        .flat_map(|range| range.events.iter())
        .filter_map(|event| event.fixed.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, version: &str) -> OsvEvent {
        let mut event = OsvEvent::default();
        let value = Some(version.to_string());
        match kind {
            "introduced" => event.introduced = value,
            "fixed" => event.fixed = value,
            "last_affected" => event.last_affected = value,
            _ => event.limit = value,
        }
        event
    }

    fn ecosystem(events: Vec<OsvEvent>) -> Vec<OsvRange> {
        vec![OsvRange { kind: "ECOSYSTEM".into(), events }]
    }

    fn affected(version: &str, ranges: &[OsvRange]) -> bool {
        is_affected(&Version::from_str(version).unwrap(), ranges, &[])
    }

    #[test]
    fn introduced_and_fixed_bound_an_interval() {
        let ranges = ecosystem(vec![event("introduced", "0"), event("fixed", "2.20.0")]);
        assert!(affected("2.19.1", &ranges));
        assert!(affected("2.20.0rc1", &ranges));
        assert!(!affected("2.20.0", &ranges));
        assert!(!affected("2.31.0", &ranges));
    }

    #[test]
    fn several_intervals_in_one_range() {
        let ranges = ecosystem(vec![
            event("introduced", "1.0"),
            event("fixed", "1.2.3"),
            event("introduced", "2.0"),
            event("fixed", "2.0.5"),
        ]);
        assert!(!affected("0.9", &ranges));
        assert!(affected("1.1", &ranges));
        assert!(!affected("1.5", &ranges));
        assert!(affected("2.0.4", &ranges));
        assert!(!affected("2.0.5", &ranges));
    }

    #[test]
    fn last_affected_includes_its_version() {
        let ranges = ecosystem(vec![event("introduced", "1.0"), event("last_affected", "1.4")]);
        assert!(affected("1.4", &ranges));
        assert!(!affected("1.4.post1", &ranges));
    }

    #[test]
    fn explicit_versions_and_git_ranges() {
        let git = vec![OsvRange { kind: "GIT".into(), events: vec![event("introduced", "0")] }];
        let version = Version::from_str("0.3.0").unwrap();
        assert!(!is_affected(&version, &git, &[]));
        assert!(is_affected(&version, &git, &["0.3".to_string()]));
    }

    #[test]
    fn invalid_versions_are_counted() {
        let ranges = ecosystem(vec![event("introduced", "0"), event("fixed", "not-a-version")]);
        assert_eq!(count_invalid_versions(&ranges, &["1.0".into(), "bad version".into()]), 2);
    }
}
