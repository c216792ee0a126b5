"""skillguard: give AI-agent skills third-party Python packages safely.

Govern which agent may use which package, resolve and scan a skill's
requirements into an exact hashed lock, build one image per lock with the
network off, and run skill code in a locked-down container.
"""

from skillguard import errors
from skillguard._native import (
    Decision,
    DependencyScanner,
    ExecutionResult,
    InstallResult,
    Lock,
    LockedPackage,
    PackageGovernance,
    PackageInstaller,
    PolicyRecord,
    Sandbox,
    ScanReport,
    Vulnerability,
    __version__,
    cvss_base_score,
    load_skill,
    normalize_name,
    parse_requirements,
)
from skillguard.errors import (
    AdvisoryDatabaseError,
    BuildError,
    DockerUnavailable,
    ImageNotFound,
    ImageQuarantined,
    InvalidArgumentError,
    PackageIndexError,
    RequirementError,
    ResolutionError,
    SandboxError,
    SkillError,
    SkillguardError,
    StoreError,
)

__all__ = [
    "AdvisoryDatabaseError",
    "BuildError",
    "Decision",
    "DependencyScanner",
    "DockerUnavailable",
    "ExecutionResult",
    "ImageNotFound",
    "ImageQuarantined",
    "InstallResult",
    "InvalidArgumentError",
    "Lock",
    "LockedPackage",
    "PackageGovernance",
    "PackageIndexError",
    "PackageInstaller",
    "PolicyRecord",
    "RequirementError",
    "ResolutionError",
    "Sandbox",
    "SandboxError",
    "ScanReport",
    "SkillError",
    "SkillguardError",
    "StoreError",
    "Vulnerability",
    "__version__",
    "cvss_base_score",
    "errors",
    "load_skill",
    "normalize_name",
    "parse_requirements",
]
