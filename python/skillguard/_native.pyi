"""Type stubs and documentation of the native module built from the Rust crate."""

import datetime
from os import PathLike
from typing import Any, Awaitable, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Union

__version__: str

Verdict = Literal["ok", "error", "timeout", "oom", "output_limit", "killed"]
Rule = Literal[
    "banned", "agent_inactive", "student", "pending", "expired", "untrusted", "not_in_registry", "maturity_too_low", "approved"
]
Status = Literal["active", "pending", "banned", "untrusted"]
PackageType = Literal["python", "npm"]
Time = Union[str, "datetime.datetime"]

class PolicyRecord:
    """One policy record: a package name, a PEP 440 range and its status."""

    id: int
    package_type: PackageType
    name: str
    """PEP 503-normalised (lowercased for npm)."""
    specifier: str
    """A PEP 440 specifier set; empty covers every version."""
    status: Status
    min_maturity: Optional[str]
    reason: Optional[str]
    requested_by: Optional[str]
    approved_by: Optional[str]
    approved_at: Optional[str]
    banned_by: Optional[str]
    expires_at: Optional[str]
    """UTC time after which the record counts as absent; None never."""
    created_at: str
    updated_at: str

class Decision:
    """The decision on "may this agent use this package version?"; truthy when allowed."""

    allowed: bool
    maturity_required: Optional[str]
    reason: str
    rule: Rule
    record: Optional[PolicyRecord]
    def __bool__(self) -> bool: ...

class Vulnerability:
    """A known vulnerability (an OSV record) affecting one package version."""

    id: str
    aliases: List[str]
    package: str
    version: str
    fixed_versions: List[str]
    severity: Optional[Literal["none", "low", "medium", "high", "critical"]]
    """The CVSS v3 rating when the record has a CVSS v3 vector, else None (never a guess)."""
    cvss_score: Optional[float]
    cvss_vector: Optional[str]
    summary: Optional[str]
    source: str
    denies: bool
    """Whether the scanner's severity policy denies because of this record."""

class LockedPackage:
    """One locked distribution: an exact wheel with its sha256."""

    name: str
    version: str
    wheel: str
    url: str
    sha256: str
    size: Optional[int]
    required_by: List[str]
    requirements: List[str]

class Lock:
    """The exact, hashed set of wheels a scan approved and a build installs."""

    @property
    def packages(self) -> List[LockedPackage]: ...
    @property
    def digest(self) -> str: ...
    @property
    def requirements(self) -> List[str]: ...
    @property
    def target(self) -> Dict[str, Any]: ...
    def to_json(self) -> str: ...
    def to_requirements_txt(self) -> str: ...
    def to_pylock_toml(self) -> str:
        """Render the lock as a PEP 751 `pylock.toml` file with one wheel per package."""
    def __len__(self) -> int: ...

class ScanReport:
    """Everything a scan found; `safe` only when nothing was denied, vulnerable or in conflict."""

    safe: bool
    vulnerabilities: List[Vulnerability]
    waived: List[Vulnerability]
    dependency_tree: Dict[str, Dict[str, Any]]
    conflicts: List[str]
    denials: List[Dict[str, str]]
    lock: Optional[Lock]
    advisory_db: Dict[str, Any]

class InstallResult:
    """The outcome of an install; a denial or vulnerable set has success=False and an error."""

    success: bool
    skill_id: str
    image_tag: Optional[str]
    lock: Optional[Lock]
    vulnerabilities: List[Vulnerability]
    denials: List[Dict[str, str]]
    conflicts: List[str]
    build_logs: List[str]
    error: Optional[str]
    reused: bool
    downloaded: List[str]

class ExecutionResult:
    """The outcome of a sandbox run; a non-zero exit is a result, not an exception."""

    stdout: str
    stderr: str
    exit_code: Optional[int]
    verdict: Verdict
    duration_ms: int
    truncated: bool
    value: Any
    """The JSON value of `result` if the code defined one, else None."""
    image: str
    @property
    def timed_out(self) -> bool: ...
    @property
    def ok(self) -> bool: ...

class PackageGovernance:
    """Decides which agent may use which package version, from records in a SQLite store.

    Decisions are cached in process (LRU, at most `cache_size`, each kept at
    most `cache_ttl` seconds and never past the expiry of a record it used).
    A change made through any PackageGovernance on the same database, in this
    process or another, is seen by the very next check; the TTL only bounds
    how long levels returned by a `maturity_resolver` are reused (or call
    `invalidate_agent`). Every engine over one connection shares one cache, and
    the first one created sets its size and TTL.
    """

    def __init__(
        self,
        db: Optional[str] = None,
        *,
        maturity_resolver: Optional[Callable[[str], Optional[str]]] = None,
        cache_size: int = 10000,
        cache_ttl: float = 300.0,
    ) -> None:
        """Open (or create) the store; ":memory:" for tests, None for the default path.
        `maturity_resolver(agent_id)` returns the agent's level or state, or None
        for an unknown agent; given, it replaces skillguard's agents table.
        `cache_size=0` turns the cache off.

        Raises:
            InvalidArgumentError: the path cannot be opened, or cache_ttl is negative.
        """
    @property
    def db(self) -> str: ...
    def set_agent_maturity(self, agent_id: str, level: str, *, actor: Optional[str] = None) -> None:
        """Record a level (student, intern, supervised, autonomous) or a state (paused, stopped, deprecated, deleted).

        Raises:
            InvalidArgumentError: unknown level or state.
        """
    def check(
        self,
        agent_id: str,
        package: str,
        version: Optional[str] = None,
        *,
        package_type: PackageType = "python",
        audit: bool = False,
        skill_id: Optional[str] = None,
    ) -> Decision:
        """Decide whether the agent may use the package at `version`.

        `version` is exact ("1.26.4" or "==1.26.4") or a range not pinned to one
        version (">=1.26"; None, "", "*" or "latest" for any). A range is allowed
        only by an approval of every version and denied by any ban that may
        share a version with it. The rules apply in this order. A ban denies.
        An agent that is not at a maturity level is denied, and so is a student
        (unknown agents are students). Without a matching approval the package
        is pending, expired, untrusted or not in the registry. Otherwise the
        agent needs the lowest minimum maturity among the matching approvals.
        A check writes nothing unless `audit=True`, which logs a denial (scans
        log theirs).

        Raises:
            InvalidArgumentError: invalid agent id, package name, version or package type.
        """
    def check_many(
        self, agent_id: str, packages: Sequence[Tuple[str, str]], *, package_type: PackageType = "python"
    ) -> List[Decision]:
        """Check every (package, version) pair at once, in order, reading the store once for all misses."""
    def approve(
        self,
        requirement: str,
        *,
        min_maturity: str = "intern",
        approved_by: Optional[str] = None,
        expires_at: Optional[Time] = None,
        expires_in: Optional[float] = None,
        package_type: PackageType = "python",
    ) -> PolicyRecord:
        """Approve a range such as "numpy>=1.26,<2" (a bare name covers every version), until
        `expires_at` (ISO 8601, UTC unless it names an offset) or for `expires_in` seconds.

        Raises:
            InvalidArgumentError: invalid requirement or maturity, or an expiry that is unreadable or past.
        """
    def ban(
        self,
        requirement: str,
        *,
        reason: str,
        banned_by: Optional[str] = None,
        expires_at: Optional[Time] = None,
        expires_in: Optional[float] = None,
        package_type: PackageType = "python",
    ) -> PolicyRecord:
        """Ban a range for every agent.

        Raises:
            InvalidArgumentError: the reason is empty, or the requirement or expiry is invalid.
        """
    def mark_untrusted(
        self,
        requirement: str,
        *,
        reason: Optional[str] = None,
        marked_by: Optional[str] = None,
        package_type: PackageType = "python",
    ) -> PolicyRecord:
        """Mark a range untrusted: denied to every agent until an approval covers it."""
    def request_approval(
        self,
        requirement: str,
        *,
        requested_by: Optional[str] = None,
        reason: Optional[str] = None,
        package_type: PackageType = "python",
    ) -> PolicyRecord:
        """Record a pending request; an active, banned or untrusted record of the same range is returned unchanged."""
    def revoke(
        self,
        requirement: str,
        *,
        revoked_by: Optional[str] = None,
        reason: Optional[str] = None,
        package_type: PackageType = "python",
    ) -> PolicyRecord:
        """Remove the record of exactly this range, whatever its status, and return it.

        Raises:
            InvalidArgumentError: no record has this name and range.
        """
    def list(
        self, *, status: Optional[Status] = None, package_type: Optional[PackageType] = None, name: Optional[str] = None
    ) -> List[PolicyRecord]: ...
    def history(self, requirement: str, *, package_type: PackageType = "python") -> List[Dict[str, Any]]:
        """Return the audited changes of the record with exactly this range, oldest first (revocations included)."""
    def audit_log(
        self,
        *,
        agent_id: Optional[str] = None,
        skill_id: Optional[str] = None,
        package: Optional[str] = None,
        action: Optional[str] = None,
        since: Optional[Time] = None,
        until: Optional[Time] = None,
        limit: int = 100,
    ) -> List[Dict[str, Any]]:
        """Return audit entries, newest first; `since` is inclusive, `until` exclusive."""
    def export_policy(
        self, path: Union[str, PathLike[str], None] = None, *, format: Optional[Literal["toml", "json"]] = None
    ) -> str:
        """Return every agent and record as TOML (or JSON), and write it to `path` when given.
        The format follows `format`, else the path's suffix, else TOML."""
    def import_policy(
        self,
        path: Union[str, PathLike[str], None] = None,
        *,
        text: Optional[str] = None,
        format: Optional[Literal["toml", "json"]] = None,
        actor: str = "policy-import",
        replace: bool = False,
    ) -> Dict[str, int]:
        """Import a policy file (or `text`) in one transaction: a bad entry changes nothing.
        With `replace`, records the file does not hold are revoked.

        Raises:
            InvalidArgumentError: the file is unreadable or an entry is invalid (named in the message).
        """
    def apply_policy_file(self, path: Union[str, PathLike[str]], *, actor: str = "policy-file") -> Dict[str, int]:
        """Import a policy file on top of the current policy (`import_policy` without `replace`)."""
    def cache_stats(self) -> Dict[str, Union[int, float]]:
        """Return size, capacity, ttl_seconds, hits, misses, hit_rate, evictions and invalidations."""
    def clear_cache(self) -> None:
        """Drop every cached decision, record and agent state."""
    def invalidate_agent(self, agent_id: str) -> None:
        """Drop the cached decisions of one agent, for a host whose maturity_resolver reads its own table."""

class DependencyScanner:
    """Resolves requirements into a lock and checks it against governance and advisories."""

    def __init__(
        self,
        db: Optional[str] = None,
        *,
        governance: Optional[PackageGovernance] = None,
        index_url: Optional[str] = None,
        max_advisory_age_days: float = 7.0,
        deny_severity: Optional[Literal["none", "low", "medium", "high", "critical"]] = None,
        deny_unknown_severity: bool = True,
        extra_index_urls: Optional[Sequence[str]] = None,
        find_links: Optional[Sequence[str]] = None,
        cache_dir: Optional[str] = None,
        offline: bool = False,
    ) -> None:
        """Open the store. By default every vulnerability denies; with `deny_severity`
        only those rated at or above it, plus unrated ones when `deny_unknown_severity`.
        Malicious-package records (ids `MAL-…`) always deny.

        Packages come from `index_url` (else PIP_INDEX_URL, else PyPI), then
        `extra_index_urls` (else PIP_EXTRA_INDEX_URL) for projects the earlier
        indexes lack: the first index that has a project supplies all its files.
        Wheels in `find_links` directories (else PIP_FIND_LINKS) are added to
        every project. Pages and metadata are cached under `cache_dir/http`
        (else SKILLGUARD_CACHE_DIR/http); `offline` answers from that cache alone.

        Raises:
            InvalidArgumentError: an unknown rating, a non-positive age, an index URL
                that is not http(s), or a find-links directory that does not exist.
        """
    def import_advisories(
        self, source: str, *, progress: Optional[Callable[[int, Optional[int]], None]] = None
    ) -> Dict[str, Any]:
        """Import OSV records from a directory, .zip, .tar.gz or HTTP(S) URL, in one transaction.

        Raises:
            AdvisoryDatabaseError: the source cannot be read or downloaded.
        """
    def sync_advisories(self) -> Optional[Dict[str, Any]]:
        """Import from SKILLGUARD_ADVISORY_SOURCE when the database is missing, empty or stale."""
    def advisory_status(self) -> Dict[str, Any]: ...
    def advisories_for(self, name: str, version: str) -> List[Vulnerability]:
        """Return the records affecting one exact version; withdrawn records never match."""
    def match_packages(self, packages: Sequence[Tuple[str, str]]) -> List[Vulnerability]:
        """Match many (name, version) pairs at once."""
    def advisory_data_errors(self) -> List[Dict[str, str]]:
        """List versions that records name explicitly but their own ECOSYSTEM ranges exclude."""
    def waive(
        self, advisory_id: str, *, reason: str, expires_at: Optional[str] = None, waived_by: Optional[str] = None
    ) -> Dict[str, Any]:
        """Ignore an advisory until `expires_at` (ISO 8601, UTC) or until removed; audited.

        Raises:
            InvalidArgumentError: no reason, an invalid expiry, or a `MAL-` id.
        """
    def remove_waiver(self, advisory_id: str, *, removed_by: Optional[str] = None) -> bool: ...
    def waivers(self) -> List[Dict[str, Any]]:
        """List every waiver, expired ones with `active` False."""
    def resolve(
        self,
        requirements: Sequence[str],
        *,
        python_version: Optional[str] = None,
        prereleases: bool = False,
        cooldown_days: Optional[float] = None,
    ) -> Lock:
        """Resolve for CPython (default 3.11.2) on manylinux x86_64.

        Pre-releases count only for packages a requirement names one of, or for
        every package with `prereleases`. Yanked releases count only when pinned
        with `==`. With `cooldown_days`, files uploaded more recently are ignored
        (by the upload time of the JSON API; HTML pages carry none).

        Raises:
            RequirementError: a malformed line, or a URL, path or option line.
            ResolutionError: no set of wheels satisfies the requirements.
            PackageIndexError: the index is unreachable.
        """
    def download(
        self,
        lock: Lock,
        *,
        cache_dir: Optional[str] = None,
        progress: Optional[Callable[[int, int, str], None]] = None,
    ) -> List[str]:
        """Download every wheel of `lock` into `cache_dir/wheels/<sha256>/` (else
        SKILLGUARD_CACHE_DIR/wheels), verifying each sha256, cached copies too.
        `progress(finished, total, wheel)` is called after each wheel.

        Raises:
            PackageIndexError: a download failed or its hash does not match the lock.
        """
    def scan(
        self, requirements: Sequence[str], *, agent_id: Optional[str] = None, python_version: Optional[str] = None
    ) -> ScanReport:
        """Resolve, govern every package (when agent_id is given) and match advisories.

        Raises:
            AdvisoryDatabaseError: the database is missing, empty or stale.
            RequirementError: a malformed line, or a URL, path or option line.
        """

class PackageInstaller:
    """Builds one image per lock and runs skill code in it."""

    def __init__(
        self,
        db: Optional[str] = None,
        *,
        scanner: Optional[DependencyScanner] = None,
        base_image: Optional[str] = None,
        cache_dir: Optional[Union[str, PathLike[str]]] = None,
        extra_build_steps: Optional[Sequence[str]] = None,
    ) -> None:
        """`extra_build_steps` are shell lines run in the build after the install, with
        the network off; they are part of the image tag. Meant for checks and diagnostics.

        Raises:
            InvalidArgumentError: an invalid base image reference or build step.
        """
    @property
    def base_image(self) -> str: ...
    def install(
        self,
        skill_id: str,
        requirements: Sequence[str],
        *,
        agent_id: str,
        scan_for_vulnerabilities: bool = True,
        on_log: Optional[Callable[[str], None]] = None,
    ) -> InstallResult:
        """Govern, scan, download, verify and build; reuse the image of an identical lock.

        Raises:
            DockerUnavailable: no engine responds.
            BuildError: the image build failed.
            AdvisoryDatabaseError: the database is missing, empty or stale.
        """
    def execute(
        self,
        skill_id: str,
        code: str,
        *,
        inputs: Optional[Dict[str, Any]] = None,
        timeout: Optional[float] = None,
        memory: Optional[str] = None,
        cpus: Optional[float] = None,
    ) -> ExecutionResult:
        """Run code in the skill's image; `inputs` is available to it as a dict.

        Raises:
            ImageNotFound: the skill has no installed image.
            ImageQuarantined: a rescan quarantined the skill's image.
            InvalidArgumentError: a limit is out of bounds.
        """
    def skill_images(self) -> List[Dict[str, Any]]:
        """List every skill's image record: skill_id, image_tag, lock_digest, installed_at, quarantined."""
    def images(self) -> List[Dict[str, Any]]:
        """List the engine's skillguard images: id, tags, size, created, labels and the skills using each."""
    def status(self, skill_id: str) -> Optional[Dict[str, Any]]:
        """Return one skill's image record, or None."""
    def remove(self, skill_id: str) -> Dict[str, Any]:
        """Drop the skill's record and remove its image if no other skill uses it.

        Raises:
            ImageNotFound: the skill has no installed image.
        """
    def prune(self, *, older_than_days: Optional[float] = None) -> Dict[str, Any]:
        """Remove skillguard images (tags) no skill of this database uses; with `older_than_days`
        also older ones, dropping the records of skills that used them. Returns removed_images,
        freed_bytes and skills. Other databases sharing the engine are not consulted."""
    def rescan(self, *, quarantine: bool = False) -> List[Dict[str, Any]]:
        """Match every recorded image's lock against the current advisories; with `quarantine`,
        images with a denying vulnerability may no longer run."""
    def release(self, image_tag: str, *, released_by: Optional[str] = None) -> bool:
        """Lift an image's quarantine; return whether it was quarantined."""

class Sandbox:
    """Runs code in a hardened container of any image that has python3."""

    def __init__(self, *, image: Optional[str] = None, db: Optional[str] = None, warm_pool: int = 0) -> None:
        """With `db`, images quarantined in that database are refused. With `warm_pool`
        (0 to 16), that many containers are started ahead of time on the first run and
        serve later runs with the same image and container limits, one run each.

        Raises:
            InvalidArgumentError: `warm_pool` is out of bounds.
        """
    def close(self) -> None:
        """Remove the warm pool's idle containers."""
    def run(
        self,
        code: str,
        *,
        image: Optional[str] = None,
        inputs: Optional[Dict[str, Any]] = None,
        timeout: Optional[float] = None,
        memory: Optional[str] = None,
        cpus: Optional[float] = None,
        pids: Optional[int] = None,
        output_limit: Optional[int] = None,
        runtime: Optional[str] = None,
    ) -> ExecutionResult:
        """Run code with inputs; limits default to 30 s, 256m, 0.5 CPUs, 128 processes, 1 MiB output per stream.
        `runtime` selects an OCI runtime the engine lists (for example "runsc").

        Raises:
            InvalidArgumentError: a limit is out of bounds, the image reference is invalid,
                or the engine does not offer `runtime`.
            ImageNotFound: the image is missing and cannot be pulled.
            DockerUnavailable: no engine responds.
        """
    def _run_async(self, code: str, **options: Any) -> Awaitable[ExecutionResult]:
        """Return an awaitable of `run(code, **options)`; needs a running event loop."""
    def sweep(self) -> int:
        """Remove sandbox containers left by exited processes; return how many."""

def load_skill(directory: Union[str, PathLike[str]]) -> Dict[str, Any]:
    """Read DIR/SKILL.md into name, packages, agent, inputs and code.

    Raises:
        SkillError: the file is missing its front matter or code block.
    """

def cvss_base_score(vector: str) -> Optional[Tuple[float, str]]:
    """Compute the CVSS v3 base score and rating of a vector; None when it is not a valid v3 vector."""

def normalize_name(name: str) -> str:
    """Normalise a distribution name as PEP 503 does."""

def parse_requirements(lines: Sequence[str]) -> List[str]:
    """Check requirement lines and return their normalised names.

    Raises:
        RequirementError: a malformed line, or a URL, path or option line.
    """
