"""The `skillguard` command line: run a skill end to end, lock requirements, manage advisories and policy."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from skillguard import (
    DependencyScanner,
    PackageGovernance,
    PackageInstaller,
    SkillguardError,
    load_skill,
)


def _step(message: str) -> None:
    print(f"==> {message}", flush=True)


def _run_skill(arguments: argparse.Namespace) -> int:
    directory = Path(arguments.directory)
    skill = load_skill(directory)
    skill_id = arguments.skill_id or skill["name"]
    agent_id = arguments.agent or skill["agent"]
    if not agent_id:
        raise SkillguardError(
            f"no agent to run skill {skill_id} as: name one with --agent or `agent:` in {directory / 'SKILL.md'}"
        )

    governance = PackageGovernance(arguments.db)
    if arguments.policy:
        summary = governance.apply_policy_file(arguments.policy, actor="skillguard run-skill")
        _step(
            f"applied policy {arguments.policy}: {summary['agents']} agent(s), "
            f"{summary['approvals']} approval(s), {summary['bans']} ban(s)"
        )

    scanner = DependencyScanner(governance.db, governance=governance)
    imported = scanner.sync_advisories()
    status = scanner.advisory_status()
    if imported:
        _step(f"imported {status['records']} advisories from {imported['source']}")
    _step(
        f"advisory database: {status['records']} records, {status['digest']}, "
        f"imported {status['age_days'] * 24:.1f} hours ago"
    )

    installer = PackageInstaller(governance.db, scanner=scanner, base_image=arguments.base_image)
    _step(f"installing {len(skill['packages'])} package requirement(s) for skill {skill_id} as agent {agent_id}")
    started = time.monotonic()
    installed = installer.install(
        skill_id,
        skill["packages"],
        agent_id=agent_id,
        on_log=lambda line: print(f"    {line}", flush=True),
    )
    if not installed.success:
        print(f"install denied: {installed.error}", file=sys.stderr)
        return 1
    assert installed.lock is not None
    for package in installed.lock.packages:
        print(f"    locked {package.name}=={package.version}  sha256:{package.sha256[:16]}…")
    outcome = "reused" if installed.reused else "built"
    _step(f"{outcome} image {installed.image_tag} in {time.monotonic() - started:.1f} s")

    _step(f"running skill {skill_id} in a sandbox container")
    run = installer.execute(skill_id, skill["code"], inputs=skill["inputs"], timeout=arguments.timeout)
    if run.stdout:
        sys.stdout.write(run.stdout if run.stdout.endswith("\n") else run.stdout + "\n")
    if run.stderr:
        sys.stderr.write(run.stderr if run.stderr.endswith("\n") else run.stderr + "\n")
    if run.value is not None:
        _step("result: " + json.dumps(run.value, indent=2, sort_keys=True))
    _step(f"verdict {run.verdict}, exit code {run.exit_code}, {run.duration_ms} ms")
    return 0 if run.verdict == "ok" else 1


def _advisories(arguments: argparse.Namespace) -> int:
    scanner = DependencyScanner(arguments.db)
    if arguments.advisory_command == "import":

        def progress(received: int, total: Optional[int]) -> None:
            if total:
                print(f"\r    downloaded {received * 100 // total}%", end="", flush=True)

        report = scanner.import_advisories(arguments.source, progress=progress)
        print()
        print(json.dumps(report, indent=2))
        return 0
    if arguments.advisory_command == "check":
        errors = scanner.advisory_data_errors()
        for error in errors:
            print(f"{error['advisory_id']}: {error['package']} {error['version']} is listed but outside the record's ranges")
        print(f"{len(errors)} data error(s)")
        return 0
    if arguments.advisory_command == "waive":
        print(json.dumps(scanner.waive(arguments.id, reason=arguments.reason, expires_at=arguments.expires, waived_by=arguments.by), indent=2))
        return 0
    if arguments.advisory_command == "sync":
        report = scanner.sync_advisories()
        print("advisory database is current" if report is None else json.dumps(report, indent=2))
        return 0
    print(json.dumps(scanner.advisory_status(), indent=2))
    return 0


def _policy(arguments: argparse.Namespace) -> int:
    governance = PackageGovernance(arguments.db)
    if arguments.policy_command == "export":
        text = governance.export_policy(arguments.file, format=arguments.format)
        if arguments.file is None:
            print(text, end="")
        return 0
    if arguments.policy_command == "history":
        print(json.dumps(governance.history(arguments.requirement, package_type=arguments.type), indent=2))
        return 0
    replace = arguments.policy_command == "import" and arguments.replace
    summary = governance.import_policy(arguments.file, format=arguments.format, actor=arguments.actor, replace=replace)
    print(json.dumps(summary, indent=2))
    return 0


def _lock(arguments: argparse.Namespace) -> int:
    scanner = DependencyScanner(
        ":memory:",
        index_url=arguments.index_url,
        extra_index_urls=arguments.extra_index_url,
        find_links=arguments.find_links,
        cache_dir=arguments.cache_dir,
        offline=arguments.offline,
    )
    lock = scanner.resolve(
        arguments.requirements,
        python_version=arguments.python_version,
        prereleases=arguments.pre,
        cooldown_days=arguments.cooldown_days,
    )
    rendered = {
        "json": lock.to_json,
        "pylock": lock.to_pylock_toml,
        "requirements": lock.to_requirements_txt,
    }[arguments.format]()
    if arguments.output:
        Path(arguments.output).write_text(rendered if rendered.endswith("\n") else rendered + "\n")
    else:
        print(rendered.rstrip("\n"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skillguard", description=__doc__)
    parser.add_argument("--db", help="SQLite database path (default: $SKILLGUARD_DB or the user data directory)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log skillguard's decisions at debug level")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run-skill", help="govern, scan, install and run a skill directory")
    run.add_argument("directory", help="directory holding SKILL.md")
    run.add_argument("--agent", help="agent id to run as (default: `agent:` in SKILL.md)")
    run.add_argument("--skill-id", help="skill id (default: `name:` in SKILL.md)")
    run.add_argument("--policy", help="TOML policy file to apply first (agents, approvals, bans)")
    run.add_argument("--base-image", help="base image (default: $SKILLGUARD_BASE_IMAGE or python:3.11-slim)")
    run.add_argument("--timeout", type=float, default=30.0, help="wall-clock limit of the run, in seconds")
    run.set_defaults(handler=_run_skill)

    lock = commands.add_parser("lock", help="resolve requirements into an exact, hashed set of wheels for the target")
    lock.add_argument("requirements", nargs="+", help="PEP 508 requirement lines, such as 'requests>=2.32'")
    lock.add_argument("--format", choices=["json", "pylock", "requirements"], default="json", help="output format (default: json)")
    lock.add_argument("--output", help="file to write instead of standard output")
    lock.add_argument("--index-url", help="primary index (default: $PIP_INDEX_URL or PyPI)")
    lock.add_argument("--extra-index-url", action="append", help="index asked for projects earlier indexes lack; repeatable (default: $PIP_EXTRA_INDEX_URL)")
    lock.add_argument("--find-links", action="append", help="directory of wheels added to every project; repeatable (default: $PIP_FIND_LINKS)")
    lock.add_argument("--cache-dir", help="cache directory (default: $SKILLGUARD_CACHE_DIR or the user cache directory)")
    lock.add_argument("--offline", action="store_true", help="resolve from the cache alone")
    lock.add_argument("--python-version", help="target CPython version (default: 3.11.2)")
    lock.add_argument("--pre", action="store_true", help="accept pre-releases of every package")
    lock.add_argument("--cooldown-days", type=float, help="ignore files uploaded less than this many days ago")
    lock.set_defaults(handler=_lock)

    advisories = commands.add_parser("advisories", help="manage the advisory database")
    advisory_commands = advisories.add_subparsers(dest="advisory_command", required=True)
    imported = advisory_commands.add_parser("import", help="import OSV records from a directory, .zip, .tar.gz or URL")
    imported.add_argument("source")
    advisory_commands.add_parser("sync", help="import from $SKILLGUARD_ADVISORY_SOURCE if missing or stale")
    advisory_commands.add_parser("status", help="print record count, digest and age")
    advisory_commands.add_parser("check", help="list versions records name but their own ranges exclude")
    waive = advisory_commands.add_parser("waive", help="ignore one advisory id, with a reason")
    waive.add_argument("id")
    waive.add_argument("--reason", required=True, help="why the advisory does not apply")
    waive.add_argument("--expires", help="ISO 8601 time after which the waiver lapses")
    waive.add_argument("--by", help="name recorded in the audit log")
    advisories.set_defaults(handler=_advisories)

    policy = commands.add_parser("policy", help="apply, import, export a policy file; show a record's history")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    applied = policy_commands.add_parser("apply", help="apply a TOML or JSON policy file on top of the current policy")
    imported_policy = policy_commands.add_parser("import", help="import a policy file in one transaction")
    imported_policy.add_argument("--replace", action="store_true", help="revoke records the file does not hold")
    for command in (applied, imported_policy):
        command.add_argument("file")
        command.add_argument("--format", choices=["toml", "json"], help="default: json for a .json file, else toml")
        command.add_argument("--actor", default="skillguard policy", help="name recorded in the audit log")
    exported = policy_commands.add_parser("export", help="write every agent and record as TOML or JSON")
    exported.add_argument("file", nargs="?", help="file to write (default: standard output)")
    exported.add_argument("--format", choices=["toml", "json"], help="default: from the file name, else toml")
    history = policy_commands.add_parser("history", help="print the audited changes of one record")
    history.add_argument("requirement", help="the record's requirement, such as numpy>=1.26,<2")
    history.add_argument("--type", default="python", choices=["python", "npm"], help="package type")
    policy.set_defaults(handler=_policy)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.verbose else logging.WARNING, format="    %(name)s: %(message)s")
    try:
        return int(arguments.handler(arguments))
    except SkillguardError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
