//! The lock: the exact, hashed set of wheels a scan approved and a build installs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::target::TargetEnv;

/// One locked distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedPackage {
    /// PEP 503-normalised name.
    pub name: String,
    pub version: String,
    /// The wheel's file name.
    pub wheel: String,
    pub url: String,
    pub sha256: String,
    pub size: Option<u64>,
    /// The origins that pulled the package in: `<requirements>` for a top-level one, else
    /// the parents as `name==version`.
    pub required_by: Vec<String>,
    /// The requirement lines that pulled the package in: as written for a
    /// top-level one, else prefixed with the parent (`requests==2.32.3: urllib3<3,>=1.21.1`).
    #[serde(default)]
    pub requirements: Vec<String>,
}

/// An exact set of wheels for one target environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub packages: Vec<LockedPackage>,
    pub target: TargetEnv,
    /// The requirements as the caller gave them.
    pub requirements: Vec<String>,
    /// `sha256:` digest of the target and every package's name, version, wheel and hash.
    pub digest: String,
}

impl Lock {
    /// Builds a lock, sorting packages by name and computing the digest.
    pub fn new(mut packages: Vec<LockedPackage>, target: TargetEnv, requirements: Vec<String>) -> Self {
        packages.sort_by(|left, right| left.name.cmp(&right.name));
        let mut hasher = Sha256::new();
        hasher.update(serde_json::to_vec(&target).expect("the target serialises"));
        for package in &packages {
            for part in [&package.name, &package.version, &package.wheel, &package.sha256] {
                hasher.update(part.as_bytes());
                hasher.update([0]);
            }
        }
        let digest = format!("sha256:{}", hex::encode(hasher.finalize()));
        Lock {
            packages,
            target,
            requirements,
            digest,
        }
    }

    /// Renders the lock as pip's hash-checking requirements file: one `name==version --hash=sha256:…` line per package.
    pub fn to_requirements_txt(&self) -> String {
        let mut text = String::new();
        for package in &self.packages {
            text.push_str(&format!("{}=={} --hash=sha256:{}\n", package.name, package.version, package.sha256));
        }
        text
    }

    /// Renders the lock as a `pylock.toml` file (PEP 751, lock-version 1.0),
    /// with one wheel per package and the target as its only environment.
    pub fn to_pylock_toml(&self) -> String {
        let (major, minor) = self.target.python_version().unwrap_or((3, 0));
        let document = pylock::Document {
            lock_version: "1.0",
            environments: vec![format!(
                "python_full_version == '{}' and platform_machine == '{}' and sys_platform == 'linux'",
                self.target.python_full_version, self.target.machine
            )],
            requires_python: format!("=={major}.{minor}.*"),
            extras: Vec::new(),
            dependency_groups: Vec::new(),
            default_groups: Vec::new(),
            created_by: "skillguard",
            packages: self
                .packages
                .iter()
                .map(|package| pylock::Package {
                    name: &package.name,
                    version: &package.version,
                    wheels: vec![pylock::Wheel {
                        name: &package.wheel,
                        url: &package.url,
                        size: package.size,
                        hashes: pylock::Hashes { sha256: &package.sha256 },
                    }],
                })
                .collect(),
        };
        toml::to_string(&document).expect("the lock serialises as TOML")
    }

    /// Serialises the lock as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the lock serialises")
    }

    /// Parses a lock written by [`Lock::to_json`].
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// The subset of the PEP 751 `pylock.toml` format a wheel-only lock uses.
mod pylock {
    use serde::Serialize;

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    pub struct Document<'a> {
        pub lock_version: &'static str,
        pub environments: Vec<String>,
        pub requires_python: String,
        pub extras: Vec<String>,
        pub dependency_groups: Vec<String>,
        pub default_groups: Vec<String>,
        pub created_by: &'static str,
        pub packages: Vec<Package<'a>>,
    }

    #[derive(Serialize)]
    pub struct Package<'a> {
        pub name: &'a str,
        pub version: &'a str,
        pub wheels: Vec<Wheel<'a>>,
    }

    #[derive(Serialize)]
    pub struct Wheel<'a> {
        pub name: &'a str,
        pub url: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub size: Option<u64>,
        pub hashes: Hashes<'a>,
    }

    #[derive(Serialize)]
    pub struct Hashes<'a> {
        pub sha256: &'a str,
    }
}
