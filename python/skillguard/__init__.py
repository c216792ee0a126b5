"""skillguard: give AI-agent skills third-party Python packages safely.

Govern which agent may use which package, resolve and scan a skill's
requirements into an exact hashed lock, build one image per lock with the
network off, and run skill code in a locked-down container.
"""

import atexit
from typing import Any, Optional

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
    """Runs code in a hardened container of any image that has python3.

    With `warm_pool=N`, up to N containers are started ahead of time for the
    sandbox's image and limits; each serves one run and is then removed.
    `close()` (or leaving a `with` block, or interpreter exit) removes the
    idle ones.
    """

    def __init__(self, *, image: Optional[str] = None, db: Optional[str] = None, warm_pool: int = 0) -> None:
        if warm_pool:
            atexit.register(self.close)

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exception: Any) -> None:
        self.close()

    async def run_async(self, code: str, **options: Any) -> ExecutionResult:
        """Run like `run` without blocking the event loop. Cancelling the
        awaiting task kills and removes the container."""
        return await self._run_async(code, **options)
