"""skillguard: give AI-agent skills third-party Python packages safely.

Govern which agent may use which package, resolve and scan a skill's
requirements into an exact hashed lock, build one image per lock with the
network off, and run skill code in a locked-down container.
"""

from typing import Any

from skillguard import _native, errors
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


class Sandbox(_native.Sandbox):
    """Runs code in a hardened container of any image that has python3."""

    async def run_async(self, code: str, **options: Any) -> ExecutionResult:
        """Run like `run` without blocking the event loop. Cancelling the
        awaiting task kills and removes the container."""
        return await self._run_async(code, **options)
