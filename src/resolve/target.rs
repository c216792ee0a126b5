//! The environment inside the image that packages are resolved for.

use pep508_rs::{MarkerEnvironment, MarkerEnvironmentBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::index::tags::SupportedTags;

/// A CPython on Linux: what markers and wheel tags are evaluated against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetEnv {
    /// The full interpreter version, such as `3.11.2`.
    pub python_full_version: String,
    /// The CPU architecture as `platform.machine()` names it, such as `x86_64`.
    pub machine: String,
    /// The glibc version as (major, minor); ignored when `musl` is set.
    pub glibc: (u32, u32),
    /// The musl libc version as (major, minor), for images such as Alpine's.
    /// Left out of the serialised form when unset, so glibc targets keep the digests they had.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub musl: Option<(u32, u32)>,
}

impl Default for TargetEnv {
    /// CPython 3.11 on x86_64 with glibc 2.36, as in Debian bookworm and `python:3.11-slim`.
    fn default() -> Self {
        TargetEnv {
            python_full_version: "3.11.2".into(),
            machine: "x86_64".into(),
            glibc: (2, 36),
            musl: None,
        }
    }
}

impl TargetEnv {
    /// The interpreter's (major, minor) version.
    pub fn python_version(&self) -> Result<(u32, u32)> {
        let mut parts = self.python_full_version.split('.').map(str::parse::<u32>);
        match (parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor))) => Ok((major, minor)),
            _ => Err(Error::InvalidArgument(format!(
                "invalid target Python version {:?}: expected MAJOR.MINOR.PATCH",
                self.python_full_version
            ))),
        }
    }

    /// Builds the PEP 508 marker environment of the target, not of the host.
    pub fn marker_environment(&self) -> Result<MarkerEnvironment> {
        let (major, minor) = self.python_version()?;
        let short = format!("{major}.{minor}");
        MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
            implementation_name: "cpython",
            implementation_version: &self.python_full_version,
            os_name: "posix",
            platform_machine: &self.machine,
            platform_python_implementation: "CPython",
            platform_release: "",
            platform_system: "Linux",
            platform_version: "",
            python_full_version: &self.python_full_version,
            python_version: &short,
            sys_platform: "linux",
        })
        .map_err(|error| Error::InvalidArgument(format!("invalid target environment: {error}")))
    }

    /// Describes the target for messages, such as `CPython 3.11.2 on manylinux_2_36 x86_64`.
    pub fn describe(&self) -> String {
        let (family, (major, minor)) = match self.musl {
            Some(version) => ("musllinux", version),
            None => ("manylinux", self.glibc),
        };
        format!("CPython {} on {family}_{major}_{minor} {}", self.python_full_version, self.machine)
    }

    /// Returns the wheel tags the target accepts, best first.
    pub fn supported_tags(&self) -> Result<SupportedTags> {
        let (major, minor) = self.python_version()?;
        Ok(match self.musl {
            Some(musl) => SupportedTags::cpython_musllinux(major, minor, &self.machine, musl),
            None => SupportedTags::cpython_linux(major, minor, &self.machine, self.glibc),
        })
    }
}
