//! Wheel file names and their compatibility with a target environment.

use std::collections::HashMap;

use crate::requirement::normalize_name;

/// The parts of a wheel file name (`{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WheelName {
    pub name: String,
    pub version: String,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
}

impl WheelName {
    /// Parses a wheel file name; `None` for anything that is not a wheel.
    pub fn parse(filename: &str) -> Option<Self> {
        let stem = filename.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        if parts.len() != 5 && parts.len() != 6 {
            return None;
        }
        let count = parts.len();
        let split = |tags: &str| tags.split('.').map(str::to_string).collect::<Vec<_>>();
        Some(WheelName {
            name: normalize_name(parts[0]),
            version: parts[1].to_string(),
            python_tags: split(parts[count - 3]),
            abi_tags: split(parts[count - 2]),
            platform_tags: split(parts[count - 1]),
        })
    }
}

/// The tags a CPython target accepts, most preferred first, as PEP 425 and
/// the manylinux PEPs define them for one interpreter, architecture and glibc.
#[derive(Clone, Debug)]
pub struct SupportedTags {
    /// The rank of each (python, abi, platform) triple; lower is better.
    ranked: HashMap<(String, String, String), usize>,
}

impl SupportedTags {
    /// Builds the ranking for CPython `major.minor` on Linux `machine` with musl `musl_major.musl_minor` (PEP 656).
    pub fn cpython_musllinux(major: u32, minor: u32, machine: &str, musl: (u32, u32)) -> Self {
        let mut platforms: Vec<String> = (0..=musl.1)
            .rev()
            .map(|musl_minor| format!("musllinux_{}_{musl_minor}_{machine}", musl.0))
            .collect();
        platforms.push(format!("linux_{machine}"));
        Self::cpython(major, minor, &platforms)
    }

    /// Builds the ranking for CPython `major.minor` on Linux `machine` with glibc `glibc_major.glibc_minor`.
    pub fn cpython_linux(major: u32, minor: u32, machine: &str, glibc: (u32, u32)) -> Self {
        let mut platforms = Vec::new();
        for glibc_minor in (5..=glibc.1).rev() {
            platforms.push(format!("manylinux_{}_{glibc_minor}_{machine}", glibc.0));
            // The legacy aliases of PEP 513, 571 and 599.
            match glibc_minor {
                17 => platforms.push(format!("manylinux2014_{machine}")),
                12 => platforms.push(format!("manylinux2010_{machine}")),
                5 => platforms.push(format!("manylinux1_{machine}")),
                _ => {}
            }
        }
        platforms.push(format!("linux_{machine}"));
        Self::cpython(major, minor, &platforms)
    }

    /// Ranks every interpreter and ABI tag of CPython `major.minor` against `platforms`, best platform first.
    fn cpython(major: u32, minor: u32, platforms: &[String]) -> Self {
        let interpreter = format!("cp{major}{minor}");
        let mut ranked = Vec::new();
        for platform in platforms {
            ranked.push((interpreter.clone(), interpreter.clone(), platform.clone()));
        }
        for older_minor in (2..=minor).rev() {
            for platform in platforms {
                ranked.push((format!("cp{major}{older_minor}"), "abi3".into(), platform.clone()));
            }
        }
        for platform in platforms {
            ranked.push((interpreter.clone(), "none".into(), platform.clone()));
        }
        for older_minor in (0..=minor).rev() {
            for platform in platforms {
                ranked.push((format!("py{major}{older_minor}"), "none".into(), platform.clone()));
            }
        }
        for platform in platforms {
            ranked.push((format!("py{major}"), "none".into(), platform.clone()));
        }
        ranked.push((interpreter, "none".into(), "any".into()));
        ranked.push((format!("py{major}{minor}"), "none".into(), "any".into()));
        ranked.push((format!("py{major}"), "none".into(), "any".into()));
        for older_minor in (0..minor).rev() {
            ranked.push((format!("py{major}{older_minor}"), "none".into(), "any".into()));
        }
        let mut ranks = HashMap::with_capacity(ranked.len());
        for (rank, triple) in ranked.into_iter().enumerate() {
            ranks.entry(triple).or_insert(rank);
        }
        SupportedTags { ranked: ranks }
    }

    /// Returns the rank of the best tag of `wheel` (lower is better), or `None` if the target cannot install it.
    pub fn rank(&self, wheel: &WheelName) -> Option<usize> {
        // A wheel names few tags, so looking up each combination is far
        // cheaper than scanning the hundreds of supported triples.
        let mut best: Option<usize> = None;
        let mut key = (String::new(), String::new(), String::new());
        for python in &wheel.python_tags {
            for abi in &wheel.abi_tags {
                for platform in &wheel.platform_tags {
                    key.0.clone_from(python);
                    key.1.clone_from(abi);
                    key.2.clone_from(platform);
                    if let Some(&rank) = self.ranked.get(&key) {
                        best = Some(best.map_or(rank, |current| current.min(rank)));
                    }
                }
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> SupportedTags {
        SupportedTags::cpython_linux(3, 11, "x86_64", (2, 36))
    }

    #[test]
    fn parse_splits_compressed_tag_sets() {
        let wheel = WheelName::parse("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").unwrap();
        assert_eq!(wheel.name, "numpy");
        assert_eq!(wheel.version, "1.26.4");
        assert_eq!(wheel.platform_tags.len(), 2);
        assert!(WheelName::parse("numpy-1.26.4.tar.gz").is_none());
    }

    #[test]
    fn compatible_wheels_rank_native_before_pure() {
        let native = WheelName::parse("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").unwrap();
        let abi3 = WheelName::parse("cryptography-43.0.1-cp39-abi3-manylinux_2_28_x86_64.whl").unwrap();
        let pure = WheelName::parse("requests-2.32.3-py3-none-any.whl").unwrap();
        let tags = tags();
        assert!(tags.rank(&native).unwrap() < tags.rank(&abi3).unwrap());
        assert!(tags.rank(&abi3).unwrap() < tags.rank(&pure).unwrap());
    }

    #[test]
    fn musl_target_takes_musllinux_wheels_only() {
        let tags = SupportedTags::cpython_musllinux(3, 11, "x86_64", (1, 2));
        let musl = WheelName::parse("numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl").unwrap();
        let glibc = WheelName::parse("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap();
        let newer_musl = WheelName::parse("numpy-1.26.4-cp311-cp311-musllinux_1_3_x86_64.whl").unwrap();
        let pure = WheelName::parse("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert!(tags.rank(&musl).is_some());
        assert!(tags.rank(&pure).unwrap() > tags.rank(&musl).unwrap());
        assert_eq!(tags.rank(&glibc), None);
        assert_eq!(tags.rank(&newer_musl), None);
    }

    #[test]
    fn incompatible_wheels_are_rejected() {
        let tags = tags();
        for name in [
            "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.whl",
            "numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl",
            "numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl",
            "numpy-1.26.4-cp311-cp311-manylinux_2_39_x86_64.whl",
            "numpy-1.26.4-cp311-cp311-win_amd64.whl",
            "six-1.16.0-py2-none-any.whl",
        ] {
            assert_eq!(tags.rank(&WheelName::parse(name).unwrap()), None, "{name}");
        }
    }
}
