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

    /// Serialises the lock as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the lock serialises")
    }

    /// Parses a lock written by [`Lock::to_json`].
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
