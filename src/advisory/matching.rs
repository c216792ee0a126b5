//! Matching one package version against stored ranges and version lists.

use std::str::FromStr;

use pep508_rs::pep440_rs::Version;

use super::record::{OsvEvent, OsvRange};

/// Tells whether `version` is affected: listed explicitly, or inside any
/// `ECOSYSTEM` range. `GIT` ranges name commits and are ignored here.
pub fn is_affected(version: &Version, ranges: &[OsvRange], versions: &[String]) -> bool {
    let listed = versions
        .iter()
        .any(|listed| Version::from_str(listed).is_ok_and(|listed| &listed == version));
    listed || ranges
        .iter()
        .filter(|range| range.kind == "ECOSYSTEM")
        .any(|range| range_contains(version, &range.events))
}

/// Walks the range's events in version order: `introduced` opens an affected
/// interval, `fixed` and `limit` close it at their version, `last_affected`
/// closes it just after its version.
fn range_contains(version: &Version, events: &[OsvEvent]) -> bool {
    let mut bounds: Vec<(Version, &OsvEvent)> = events
        .iter()
        .filter_map(|event| {
            let text = event
                .introduced
                .as_deref()
                .or(event.fixed.as_deref())
                .or(event.last_affected.as_deref())
                .or(event.limit.as_deref())?;
            // OSV writes "0" for "since the first release"; 0 sorts below every real version.
            Version::from_str(text).ok().map(|parsed| (parsed, event))
        })
        .collect();
    bounds.sort_by(|left, right| left.0.cmp(&right.0));

    let mut affected = false;
    for (bound, event) in bounds {
        if event.introduced.is_some() {
            if &bound <= version {
                affected = true;
            }
        } else if event.last_affected.is_some() {
            if &bound < version {
                affected = false;
            }
        } else if &bound <= version {
            affected = false;
        }
    }
    affected
}

/// Counts the version strings of ranges and lists that are not valid PEP 440.
pub fn count_invalid_versions(ranges: &[OsvRange], versions: &[String]) -> usize {
    let in_ranges = ranges
        .iter()
        .filter(|range| range.kind == "ECOSYSTEM")
        .flat_map(|range| range.events.iter())
        .filter_map(|event| {
            event
                .introduced
                .as_deref()
                .or(event.fixed.as_deref())
                .or(event.last_affected.as_deref())
                .or(event.limit.as_deref())
        })
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
