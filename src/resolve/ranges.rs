//! PEP 440 version specifiers as the version ranges the solver works on.

use std::ops::Bound;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifier, VersionSpecifiers};
use pubgrub::Ranges;

/// A set of versions of one package.
pub type VersionRange = Ranges<Version>;

/// Converts a specifier list to the range of versions it accepts.
///
/// Local version labels (`+local`) are compared as ordinary versions, so
/// `==1.0` does not accept `1.0+cpu`. Index wheels almost never carry local
/// labels, and a lock pins exact versions, so this only narrows what matches.
pub fn from_specifiers(specifiers: &VersionSpecifiers) -> VersionRange {
    specifiers
        .iter()
        .fold(VersionRange::full(), |range, specifier| range.intersection(&from_specifier(specifier)))
}

/// Converts one specifier, following the PEP 440 rules for pre- and post-releases:
/// `<V` excludes pre-releases of `V`, and `>V` excludes post-releases of `V`.
pub fn from_specifier(specifier: &VersionSpecifier) -> VersionRange {
    let version = specifier.version().clone();
    match specifier.operator() {
        Operator::Equal | Operator::ExactEqual => VersionRange::singleton(version),
        Operator::NotEqual => VersionRange::singleton(version).complement(),
        Operator::EqualStar => prefix_range(&version),
        Operator::NotEqualStar => prefix_range(&version).complement(),
        Operator::TildeEqual => {
            let release = version.release();
            let upper_release = bump(&release[..release.len().saturating_sub(1).max(1)]);
            let upper = Version::new(upper_release).with_epoch(version.epoch()).with_min(Some(0));
            VersionRange::from_range_bounds((Bound::Included(version), Bound::Excluded(upper)))
        }
        Operator::LessThan => {
            if version.any_prerelease() {
                VersionRange::strictly_lower_than(version)
            } else {
                VersionRange::strictly_lower_than(version.with_min(Some(0)))
            }
        }
        Operator::LessThanEqual => VersionRange::lower_than(version),
        Operator::GreaterThan => {
            if version.is_post() || version.is_dev() {
                VersionRange::strictly_higher_than(version)
            } else {
                VersionRange::strictly_higher_than(version.with_max(Some(0)))
            }
        }
        Operator::GreaterThanEqual => VersionRange::higher_than(version),
    }
}

/// The range of `==V.*`: every version whose release starts with the release of `V`.
fn prefix_range(version: &Version) -> VersionRange {
    let lower = Version::new(version.release().iter().copied())
        .with_epoch(version.epoch())
        .with_min(Some(0));
    let upper = Version::new(bump(version.release()))
        .with_epoch(version.epoch())
        .with_min(Some(0));
    VersionRange::from_range_bounds((Bound::Included(lower), Bound::Excluded(upper)))
}

/// Increments the last number of a release: `1.4` becomes `1.5`.
fn bump(release: &[u64]) -> Vec<u64> {
    let mut next = release.to_vec();
    match next.last_mut() {
        Some(last) => *last += 1,
        None => next.push(1),
    }
    next
}

/// Describes a range the way requirements are written, for messages:
/// `>=1.0, <2`, `==1.4`, `!=1.3`, or `any version`.
pub fn describe(range: &VersionRange) -> String {
    if range.is_empty() {
        return "no version".into();
    }
    let segments: Vec<(&Bound<Version>, &Bound<Version>)> = range.iter().collect();
    if let [(Bound::Unbounded, Bound::Excluded(low)), (Bound::Excluded(high), Bound::Unbounded)] = segments.as_slice() {
        if low == high {
            return format!("!={low}");
        }
    }
    let parts: Vec<String> = segments
        .iter()
        .map(|(lower, upper)| match (lower, upper) {
            (Bound::Unbounded, Bound::Unbounded) => "any version".to_string(),
            (Bound::Included(low), Bound::Included(high)) if low == high => format!("=={low}"),
            _ => {
                let mut bounds = Vec::new();
                match lower {
                    Bound::Included(low) => bounds.push(format!(">={low}")),
                    Bound::Excluded(low) => bounds.push(format!(">{low}")),
                    Bound::Unbounded => {}
                }
                match upper {
                    Bound::Included(high) => bounds.push(format!("<={high}")),
                    Bound::Excluded(high) => bounds.push(format!("<{high}")),
                    Bound::Unbounded => {}
                }
                bounds.join(", ")
            }
        })
        .collect();
    parts.join(" or ")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn range(text: &str) -> VersionRange {
        from_specifiers(&VersionSpecifiers::from_str(text).unwrap())
    }

    fn version(text: &str) -> Version {
        Version::from_str(text).unwrap()
    }

    #[test]
    fn ranges_agree_with_specifiers() {
        let cases = [
            ">=1.0,<2", "<2", "<=1.4", ">1.0", "==1.2.*", "!=1.2.*", "~=1.4.5", "~=2.2", "!=1.3", "==1.0", ">1.0.post1",
        ];
        let versions = [
            "0.9", "1.0", "1.0.post1", "1.2", "1.2.7", "1.3", "1.4", "1.4.5", "1.4.9", "1.5", "2.0rc1", "2.0a1", "2.0", "2.2", "2.9", "3.0",
        ];
        for case in cases {
            let specifiers = VersionSpecifiers::from_str(case).unwrap();
            let converted = range(case);
            for text in versions {
                let candidate = version(text);
                // The pre-release rule of PEP 440 is applied by candidate
                // selection, so compare only where the specifier itself decides.
                let expected = specifiers.contains(&candidate);
                assert_eq!(converted.contains(&candidate), expected, "{case} on {text}");
            }
        }
    }

    #[test]
    fn describe_reads_like_specifiers() {
        assert_eq!(describe(&range(">=1.0,<2")), ">=1.0, <2");
        assert_eq!(describe(&range("==1.4")), "==1.4");
        assert_eq!(describe(&range("!=1.3")), "!=1.3");
        assert_eq!(describe(&VersionRange::full()), "any version");
        assert_eq!(describe(&range("<1").union(&range(">=2"))), "<1 or >=2");
    }
}
