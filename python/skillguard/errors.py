"""The exception hierarchy. Every failure skillguard raises is a SkillguardError."""


class SkillguardError(Exception):
    """Base class of every skillguard error."""


class RequirementError(SkillguardError, ValueError):
    """A requirement line is malformed or names a URL, path or option."""


class InvalidArgumentError(SkillguardError, ValueError):
    """An argument is out of bounds or malformed."""


class ResolutionError(SkillguardError):
    """The requirements have no solution for the target environment."""


class PackageIndexError(SkillguardError):
    """The package index is unreachable or returned something unusable."""


class AdvisoryDatabaseError(SkillguardError):
    """The advisory database is missing, empty or stale, or an import failed."""


class StoreError(SkillguardError):
    """The SQLite store failed."""


class DockerUnavailable(SkillguardError):
    """No Docker engine responds at the configured address."""


class ImageNotFound(SkillguardError):
    """An image does not exist and could not be pulled."""


class ImageQuarantined(SkillguardError):
    """A rescan found a vulnerability in the image, so it may not run."""


class BuildError(SkillguardError):
    """An image build failed; the message ends with the tail of the build log."""


class SandboxError(SkillguardError):
    """The engine failed an operation on a sandbox container."""


class SkillError(SkillguardError):
    """A skill directory or its SKILL.md cannot be used."""


# The earlier name, kept so that code written against it still works.
IndexError_ = PackageIndexError

__all__ = [
    "SkillguardError",
    "RequirementError",
    "InvalidArgumentError",
    "ResolutionError",
    "PackageIndexError",
    "AdvisoryDatabaseError",
    "StoreError",
    "DockerUnavailable",
    "ImageNotFound",
    "ImageQuarantined",
    "BuildError",
    "SandboxError",
    "SkillError",
]
