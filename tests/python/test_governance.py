"""Governance from Python: the rules and their order, the workflow, the
decision cache, the audit trail and policy files."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

import skillguard


@pytest.fixture()
def governance():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent-7", "supervised")
    governance.set_agent_maturity("intern-1", "Intern")
    governance.set_agent_maturity("paused-1", "paused")
    governance.approve("numpy>=1.26,<2", min_maturity="intern", approved_by="alice")
    governance.approve("pandas", min_maturity="supervised", approved_by="alice")
    governance.approve("requests", min_maturity="intern")
    governance.ban("requests<2.32", reason="CVE-2024-35195")
    governance.request_approval("attrs", requested_by="agent-7", reason="parsing")
    return governance


@pytest.mark.parametrize(
    ("agent", "package", "version", "allowed", "rule"),
    [
        ("agent-7", "numpy", "1.26.4", True, "approved"),
        ("agent-7", "NumPy", "1.26.4", True, "approved"),
        ("agent-7", "numpy", "2.0.0", False, "not_in_registry"),
        ("agent-7", "requests", "2.31.0", False, "banned"),
        ("agent-7", "requests", "2.32.0", True, "approved"),
        ("intern-1", "pandas", "2.2.2", False, "maturity_too_low"),
        ("agent-7", "pandas", "2.2.2", True, "approved"),
        ("paused-1", "numpy", "1.26.4", False, "agent_inactive"),
        ("unknown-agent", "numpy", "1.26.4", False, "student"),
        ("agent-7", "attrs", "23.2.0", False, "pending"),
        ("agent-7", "leftpad", "1.0", False, "not_in_registry"),
    ],
)
def test_check_rules(governance, agent, package, version, allowed, rule):
    decision = governance.check(agent, package, version)
    assert decision.allowed is allowed
    assert decision.rule == rule
    assert decision.reason


# Each case sets up records for `six` and an agent, then checks six 1.16.0.
# Together they put every pair of neighbouring rules in both situations.
ORDERING_CASES = {
    "ban beats approval": (["approve six intern", "ban six"], "autonomous", "banned"),
    "ban beats inactive agent": (["ban six"], "paused", "banned"),
    "ban beats student": (["ban six"], "student", "banned"),
    "ban of other versions does not apply": (["approve six intern", "ban six<1.10"], "intern", "approved"),
    "inactive agent beats approval": (["approve six intern"], "stopped", "agent_inactive"),
    "inactive agent beats not in registry": ([], "deprecated", "agent_inactive"),
    "student beats approval": (["approve six intern"], "student", "student"),
    "student beats pending": (["request six"], "student", "student"),
    "approval beats pending of a wider range": (["request six", "approve six==1.16.0 intern"], "intern", "approved"),
    "pending beats expired": (["approve six intern expired", "request six>=1"], "intern", "pending"),
    "expired beats untrusted": (["approve six intern expired", "untrusted six>=1"], "intern", "expired"),
    "untrusted beats not in registry": (["untrusted six"], "intern", "untrusted"),
    "live approval beats expired one": (["approve six intern expired", "approve six>=1 intern"], "intern", "approved"),
    "approval beats untrusted": (["untrusted six", "approve six>=1 intern"], "intern", "approved"),
    "lowest minimum among matches": (["approve six autonomous", "approve six>=1.16 intern"], "intern", "approved"),
    "maturity below every minimum": (["approve six supervised", "approve six>=1.16 autonomous"], "intern", "maturity_too_low"),
    "maturity exactly the minimum": (["approve six supervised"], "Supervised", "approved"),
}


def apply_steps(governance, steps):
    for step in steps:
        words = step.split()
        action, requirement = words[0], words[1]
        if action == "approve":
            options = {"expires_in": 0.05} if "expired" in words else {}
            governance.approve(requirement, min_maturity=words[2], **options)
        elif action == "ban":
            governance.ban(requirement, reason="test ban")
        elif action == "request":
            governance.request_approval(requirement, requested_by="someone")
        elif action == "untrusted":
            governance.mark_untrusted(requirement, reason="unreviewed")
    if any("expired" in step for step in steps):
        time.sleep(0.1)


@pytest.mark.parametrize("case", sorted(ORDERING_CASES))
def test_rule_ordering(case):
    steps, agent_state, expected_rule = ORDERING_CASES[case]
    governance = skillguard.PackageGovernance(":memory:")
    if agent_state != "student":
        governance.set_agent_maturity("agent", agent_state)
    apply_steps(governance, steps)
    decision = governance.check("agent", "six", "1.16.0")
    assert decision.rule == expected_rule, decision.reason
    assert decision.allowed is (expected_rule == "approved")


@pytest.mark.parametrize("spelling", ["Zope.Interface", "zope_interface", "ZOPE-interface", "zope__interface", "zope.-_interface"])
def test_name_spellings_are_one_package(spelling):
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    governance.approve("zope-interface", min_maturity="intern")
    assert governance.check("agent", spelling, "6.0").allowed
    governance.ban(f"{spelling}<7", reason="spelled differently")
    assert governance.check("agent", "zope.interface", "6.0").rule == "banned"


@pytest.mark.parametrize(
    ("version", "rule"),
    [
        (None, "not_in_registry"),
        ("latest", "not_in_registry"),
        (">=1.26", "not_in_registry"),
        ("==1.26.4", "approved"),
        ("1.26.4", "approved"),
    ],
)
def test_unpinned_needs_full_approval(version, rule):
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    governance.approve("numpy>=1.26,<2", min_maturity="intern")
    decision = governance.check("agent", "numpy", version)
    assert decision.rule == rule, decision.reason


def test_unpinned_denied_by_partial_ban():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    governance.approve("requests", min_maturity="intern")
    governance.ban("requests<2.32", reason="CVE-2024-35195")
    assert governance.check("agent", "requests", ">=2.32").allowed
    decision = governance.check("agent", "requests", "latest")
    assert decision.rule == "banned"
    assert "not pinned" in decision.reason


def test_expired_approval_denies():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    record = governance.approve("six", min_maturity="intern", expires_in=0.2)
    assert record.expires_at is not None
    assert governance.check("agent", "six", "1.16.0").allowed
    time.sleep(0.3)
    decision = governance.check("agent", "six", "1.16.0")
    assert (decision.allowed, decision.rule) == (False, "expired")
    assert record.expires_at in decision.reason


def test_expiry_datetime_and_past():
    import datetime

    governance = skillguard.PackageGovernance(":memory:")
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    assert governance.approve("six", expires_at=later).expires_at.startswith(later.strftime("%Y-%m-%dT%H:%M"))
    with pytest.raises(ValueError, match="not in the future"):
        governance.approve("six", expires_at="2020-01-01")
    with pytest.raises(ValueError, match="not both"):
        governance.approve("six", expires_at=later, expires_in=5)


def test_request_keeps_active_and_banned(governance):
    for requirement, status in [("numpy>=1.26,<2", "active"), ("requests<2.32", "banned")]:
        record = governance.request_approval(requirement, requested_by="intern-1", reason="please")
        assert record.status == status
    assert governance.check("agent-7", "numpy", "1.26.4").allowed
    assert governance.check("agent-7", "requests", "2.31.0").rule == "banned"


def test_ban_reason_reaches_decision(governance):
    decision = governance.check("agent-7", "requests", "2.31.0")
    assert "CVE-2024-35195" in decision.reason
    assert decision.record.status == "banned"
    assert decision.record.specifier == "<2.32"


def test_maturity_resolver_is_source_of_truth():
    levels = {"host-agent": "AUTONOMOUS"}
    governance = skillguard.PackageGovernance(":memory:", maturity_resolver=levels.get)
    governance.approve("six", min_maturity="supervised")
    assert governance.check("host-agent", "six", "1.17.0").allowed
    assert governance.check("other", "six", "1.17.0").rule == "student"
    levels["host-agent"] = "paused"
    governance.invalidate_agent("host-agent")
    assert governance.check("host-agent", "six", "1.17.0").rule == "agent_inactive"


def test_revoke_list_and_history():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    governance.request_approval("six", requested_by="agent", reason="needed")
    governance.approve("six", min_maturity="intern", approved_by="alice")
    governance.ban("idna<3.7", reason="CVE-2024-3651", banned_by="bob")
    governance.mark_untrusted("left-pad", reason="not reviewed", package_type="npm")
    assert [record.name for record in governance.list(status="active")] == ["six"]
    assert [record.name for record in governance.list(package_type="npm")] == ["left-pad"]
    assert [record.specifier for record in governance.list(name="IDNA")] == ["<3.7"]
    banned = governance.list(status="banned")[0]
    assert (banned.banned_by, banned.reason) == ("bob", "CVE-2024-3651")

    removed = governance.revoke("six", revoked_by="carol", reason="unused")
    assert removed.status == "active"
    assert governance.check("agent", "six", "1.16.0").rule == "not_in_registry"
    history = governance.history("Six")
    assert [entry["action"] for entry in history] == ["package_requested", "package_approved", "package_revoked"]
    assert history[1]["detail"]["before"]["status"] == "pending"
    assert history[1]["detail"]["after"]["approved_by"] == "alice"
    assert history[2]["actor"] == "carol"
    with pytest.raises(ValueError, match="no python policy record"):
        governance.revoke("six")


def test_npm_records_kept_apart():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    governance.approve("@types/node>=20,<21", min_maturity="intern", package_type="npm")
    assert governance.check("agent", "@Types/Node", "20.11.0", package_type="npm").allowed
    assert governance.check("agent", "@types/node", "21.0.0", package_type="npm").rule == "not_in_registry"
    with pytest.raises(ValueError, match="invalid python package name"):
        governance.check("agent", "@types/node", "20.11.0")
    with pytest.raises(ValueError, match="cargo"):
        governance.check("agent", "serde", "1.0", package_type="cargo")


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda g: g.approve("six", min_maturity="wizard"), '"wizard"'),
        (lambda g: g.ban("six", reason=" "), "needs a reason"),
        (lambda g: g.set_agent_maturity("a", "superuser"), '"superuser"'),
        (lambda g: g.check("a", "six", "not-a-version!"), "not-a-version!"),
        (lambda g: g.check("", "six", "1.0"), "invalid agent id"),
        (lambda g: g.approve("six @ https://example.invalid/six.whl"), "URLs"),
        (lambda g: g.approve("six", expires_at="next tuesday"), "next tuesday"),
        (lambda g: g.list(status="approved"), '"approved"'),
        (lambda g: g.audit_log(since="yesterday"), '"yesterday"'),
        (lambda g: g.import_policy(text="[[approve]]\nrequirement = 'six'\nmin_maturity = 'guru'\n"), '"guru"'),
    ],
)
def test_bad_input_raises_value_error(call, fragment):
    governance = skillguard.PackageGovernance(":memory:")
    with pytest.raises(ValueError) as raised:
        call(governance)
    assert fragment in str(raised.value)


def test_changes_are_audited(governance):
    actions = [entry["action"] for entry in governance.audit_log()]
    assert actions.count("package_approved") == 3
    assert actions.count("package_banned") == 1
    assert actions.count("package_requested") == 1
    assert actions.count("agent_maturity_set") == 3
    assert governance.audit_log(limit=2) == governance.audit_log()[:2]


def test_check_audits_denial_on_request():
    governance = skillguard.PackageGovernance(":memory:")
    governance.check("agent-1", "six", "1.0")
    assert governance.audit_log(action="package_denied") == []
    governance.check("agent-1", "six", "1.0", audit=True, skill_id="skill-9")
    governance.set_agent_maturity("agent-1", "autonomous")
    governance.approve("six")
    governance.check("agent-1", "six", "1.0", audit=True)
    denials = governance.audit_log(action="package_denied")
    assert [(entry["agent_id"], entry["skill_id"], entry["package"]) for entry in denials] == [("agent-1", "skill-9", "six")]
    assert "student" in denials[0]["detail"]["reason"]


def test_audit_log_filters(tmp_path):
    governance = skillguard.PackageGovernance(str(tmp_path / "audit.db"))
    governance.set_agent_maturity("agent-1", "intern")
    time.sleep(0.01)  # the log's times have millisecond resolution
    governance.approve("six", min_maturity="intern", approved_by="alice")
    middle = governance.audit_log(limit=1)[0]["at"]
    time.sleep(0.01)
    scanner = skillguard.DependencyScanner(governance=governance)
    del scanner
    governance.ban("Six<1.10", reason="old")
    governance.set_agent_maturity("agent-2", "supervised")

    assert [entry["action"] for entry in governance.audit_log(agent_id="agent-1")] == ["agent_maturity_set"]
    assert [entry["action"] for entry in governance.audit_log(package="SIX")] == ["package_banned", "package_approved"]
    assert [entry["action"] for entry in governance.audit_log(action="agent_maturity_set")] == ["agent_maturity_set"] * 2
    after = governance.audit_log(since=middle)
    assert [entry["action"] for entry in after] == ["agent_maturity_set", "package_banned", "package_approved"]
    before = governance.audit_log(until=middle)
    assert [entry["action"] for entry in before] == ["agent_maturity_set"]
    assert governance.audit_log(skill_id="no-such-skill") == []


def test_policy_round_trip(tmp_path, governance):
    governance.mark_untrusted("leftpad", reason="typosquat")
    governance.approve("lodash>=4.17,<5", min_maturity="supervised", package_type="npm")
    for suffix in ("toml", "json"):
        path = tmp_path / f"policy.{suffix}"
        text = governance.export_policy(path)
        assert path.read_text() == text
        if suffix == "json":
            assert json.loads(text)["ban"][0]["requirement"] == "requests<2.32"
        copy = skillguard.PackageGovernance(":memory:")
        summary = copy.import_policy(path, replace=True)
        assert summary == {"agents": 3, "approvals": 4, "bans": 1, "untrusted": 1, "pending": 1, "revoked": 0}
        assert records(copy) == records(governance)
        assert copy.check("agent-7", "requests", "2.31.0").rule == "banned"
        # Approvals the file names no approver for are recorded as the importer's.
        assert {record.approved_by for record in copy.list(status="active")} == {"alice", "policy-import"}
        again = skillguard.PackageGovernance(":memory:")
        again.import_policy(text=copy.export_policy(format=suffix), format=suffix)
        assert again.export_policy(format=suffix) == copy.export_policy(format=suffix)


def records(governance):
    return [(r.package_type, r.name, r.specifier, r.status, r.min_maturity, r.reason) for r in governance.list()]


def test_policy_import_is_all_or_nothing(governance):
    before = governance.export_policy()
    audit_rows = len(governance.audit_log(limit=1000))
    bad = """
[[approve]]
requirement = "idna"
min_maturity = "intern"

[[approve]]
requirement = "six"
min_maturity = "intern"

[[ban]]
requirement = "six"
reason = "listed twice"
"""
    with pytest.raises(ValueError, match="six appears more than once"):
        governance.import_policy(text=bad)
    with pytest.raises(ValueError, match='"guru"'):
        governance.import_policy(text='[[approve]]\nrequirement = "idna"\nmin_maturity = "guru"\n')
    assert governance.export_policy() == before
    assert len(governance.audit_log(limit=1000)) == audit_rows


def test_import_replace_revokes_missing(governance):
    summary = governance.import_policy(text='[[approve]]\nrequirement = "six"\nmin_maturity = "intern"\n', replace=True)
    assert summary["revoked"] == 5
    assert [record.name for record in governance.list()] == ["six"]
    assert governance.check("agent-7", "requests", "2.31.0").rule == "not_in_registry"


def test_cache_precise_invalidation():
    governance = skillguard.PackageGovernance(":memory:", cache_size=100, cache_ttl=60)
    governance.set_agent_maturity("a", "supervised")
    governance.approve("six", min_maturity="intern")
    governance.approve("idna", min_maturity="intern")
    first = governance.check("a", "six", "1.16.0")
    assert governance.check("a", "Six", "1.16.0") is first
    governance.check("a", "idna", "3.7")
    stats = governance.cache_stats()
    assert (stats["size"], stats["hits"], stats["misses"]) == (2, 1, 2)

    governance.ban("six", reason="compromised")
    stats = governance.cache_stats()
    assert (stats["size"], stats["invalidations"]) == (1, 1)
    assert governance.check("a", "six", "1.16.0").rule == "banned"
    assert governance.check("a", "idna", "3.7").allowed
    assert governance.cache_stats()["hits"] == 2


def test_cache_is_bounded():
    governance = skillguard.PackageGovernance(":memory:", cache_size=10)
    governance.set_agent_maturity("a", "intern")
    governance.approve("six", min_maturity="intern")
    for patch in range(25):
        governance.check("a", "six", f"1.16.{patch}")
    stats = governance.cache_stats()
    assert (stats["size"], stats["capacity"], stats["evictions"]) == (10, 10, 15)


CHANGES_PER_WRITER = 300


def test_concurrent_checks_and_changes(tmp_path):
    """8 threads x 20,000 checks while 2 threads approve and ban: every decision
    is one the policy gave at some moment during that check, and the audit
    trail contains exactly one row per change."""
    path = str(tmp_path / "concurrent.db")
    writer_side = skillguard.PackageGovernance(path)
    other_connection = skillguard.PackageGovernance(path)
    writer_side.set_agent_maturity("agent", "supervised")
    packages = ["pkg-0", "pkg-1", "pkg-2", "pkg-3"]
    for package in packages:
        writer_side.approve(package, min_maturity="intern")
    # states[package][n] is whether checks allow the package after n changes.
    states = {package: [True] for package in packages}
    committed = {package: 0 for package in packages}
    failures: list[str] = []
    writers_done = threading.Event()

    def writer(owned: list[str]) -> None:
        try:
            for change in range(CHANGES_PER_WRITER):
                package = owned[change % len(owned)]
                allow = not states[package][-1]
                states[package].append(allow)
                if allow:
                    writer_side.approve(package, min_maturity="intern", approved_by="writer")
                else:
                    writer_side.ban(package, reason=f"change {change}", banned_by="writer")
                committed[package] += 1
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(f"writer: {error!r}")

    def checker(slot: int) -> None:
        governance = writer_side if slot % 2 == 0 else other_connection
        try:
            index = 0
            while index < 20_000 or not writers_done.is_set():
                package = packages[(index + slot) % len(packages)]
                low = committed[package]
                decision = governance.check("agent", package, "1.0")
                high = committed[package] + 1
                possible = set(states[package][low : high + 1])
                if decision.allowed not in possible:
                    failures.append(f"{package} check {index} on slot {slot}: {decision.rule} after {low} changes")
                index += 1
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(f"checker {slot}: {error!r}")

    writers = [threading.Thread(target=writer, args=(packages[:2],)), threading.Thread(target=writer, args=(packages[2:],))]
    checkers = [threading.Thread(target=checker, args=(slot,)) for slot in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)  # interleave the threads finely
    try:
        for thread in writers + checkers:
            thread.start()
        for thread in writers:
            thread.join()
        writers_done.set()
        for thread in checkers:
            thread.join()
    finally:
        sys.setswitchinterval(interval)

    assert failures == []
    changes = sum(committed.values())
    assert changes == 2 * CHANGES_PER_WRITER
    audited = [
        entry
        for entry in writer_side.audit_log(limit=1_000_000)
        if entry["package"] in packages and entry["action"] in ("package_approved", "package_banned")
    ]
    assert len(audited) == changes + len(packages)
    assert sum(1 for entry in audited if entry["actor"] == "writer") == changes


CHILD = """
import sys, skillguard
governance = skillguard.PackageGovernance(sys.argv[1])
if sys.argv[2] == "ban":
    governance.ban("six", reason="banned by another process")
else:
    governance.set_agent_maturity("agent", "paused")
"""


def test_other_process_change_seen(tmp_path):
    path = str(tmp_path / "shared.db")
    governance = skillguard.PackageGovernance(path)
    governance.set_agent_maturity("agent", "supervised")
    governance.approve("six", min_maturity="intern")
    assert governance.check("agent", "six", "1.16.0").allowed
    assert governance.check("agent", "six", "1.16.0").allowed
    assert governance.cache_stats()["hits"] == 1

    subprocess.run([sys.executable, "-c", CHILD, path, "ban"], check=True)
    decision = governance.check("agent", "six", "1.16.0")
    assert decision.rule == "banned"
    assert "banned by another process" in decision.reason

    governance.revoke("six")
    governance.approve("six", min_maturity="intern")
    assert governance.check("agent", "six", "1.16.0").allowed
    subprocess.run([sys.executable, "-c", CHILD, path, "pause"], check=True)
    assert governance.check("agent", "six", "1.16.0").rule == "agent_inactive"


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skillguard", *arguments], capture_output=True, text=True, check=False)


def test_policy_commands(tmp_path):
    database = str(tmp_path / "cli.db")
    policy = tmp_path / "policy.toml"
    policy.write_text('[[approve]]\nrequirement = "six"\nmin_maturity = "intern"\napproved_by = "alice"\n')
    imported = run_cli("--db", database, "policy", "import", str(policy), "--replace")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["approvals"] == 1

    exported = run_cli("--db", database, "policy", "export", "--format", "json")
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout) == {"approve": [{"requirement": "six", "min_maturity": "intern", "approved_by": "alice"}]}

    history = run_cli("--db", database, "policy", "history", "SIX")
    assert [entry["action"] for entry in json.loads(history.stdout)] == ["package_approved"]

    policy.write_text('[[ban]]\nrequirement = "six"\nreason = ""\n')
    failed = run_cli("--db", database, "policy", "apply", str(policy))
    assert failed.returncode == 2
    assert "needs a reason" in failed.stderr


WRITER = """
import sys, skillguard
governance = skillguard.PackageGovernance(sys.argv[1])
for number in range(100):
    governance.approve(f"package-{sys.argv[2]}-{number}", approved_by=f"writer-{sys.argv[2]}")
"""


def test_writers_in_several_processes(tmp_path):
    path = str(tmp_path / "writers.db")
    skillguard.PackageGovernance(path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, path, str(number)], stderr=subprocess.PIPE, text=True) for number in range(3)]
    errors = [writer.communicate()[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0, 0], errors
    assert len(skillguard.PackageGovernance(path).list()) == 300


def test_denial_audit_uses_normalised_name():
    governance = skillguard.PackageGovernance(":memory:")
    governance.check("agent-1", "Foo.Bar", "1.0", audit=True)
    for spelling in ("foo-bar", "Foo.Bar", "FOO_BAR"):
        entries = governance.audit_log(package=spelling)
        assert [entry["action"] for entry in entries] == ["package_denied"], spelling
    detail = governance.audit_log(package="foo-bar")[0]["detail"]
    assert (detail["version"], detail["rule"], detail["package_type"]) == ("1.0", "student", "python")


def test_equal_ranges_are_one_record():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "supervised")
    governance.approve("numpy>=1.26,<2", min_maturity="autonomous")
    record = governance.approve("numpy>=1.26.0,<2.0", min_maturity="supervised")
    assert record.specifier == ">=1.26, <2"
    assert len(governance.list()) == 1
    assert governance.check("agent", "numpy", "1.26.4").allowed
    assert [entry["action"] for entry in governance.history("numpy<2.0,>=1.26.0")] == ["package_approved"] * 2


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda g: g.approve("six", expires_at="2030-02-30T00:00:00Z"), "2030-02-30"),
        (lambda g: g.approve("six", expires_in=1e300), "expires_in"),
        (lambda g: g.check("agent\n2", "six", "1.0"), "invalid agent id"),
        (lambda g: g.check("agent\u202e", "six", "1.0"), "invalid agent id"),
        (lambda g: g.check("agent", "x" * 300, "1.0"), "at most 214"),
        (lambda g: g.approve("x" * 2000), "longer than 1024"),
        (lambda g: g.audit_log(limit=-1), "invalid limit -1"),
        (lambda g: g.import_policy(), "needs a path or text="),
    ],
)
def test_more_bad_input(call, fragment):
    governance = skillguard.PackageGovernance(":memory:")
    with pytest.raises(ValueError) as raised:
        call(governance)
    assert fragment in str(raised.value)


def test_negative_cache_size_is_rejected():
    with pytest.raises(ValueError, match="invalid cache_size -1"):
        skillguard.PackageGovernance(":memory:", cache_size=-1)


def test_resolver_interrupt_propagates():
    def interrupted(agent_id):
        raise KeyboardInterrupt

    governance = skillguard.PackageGovernance(":memory:", maturity_resolver=interrupted)
    with pytest.raises(KeyboardInterrupt):
        governance.check("agent", "six", "1.0")


def test_request_reopens_lapsed_approval():
    governance = skillguard.PackageGovernance(":memory:")
    governance.set_agent_maturity("agent", "intern")
    governance.approve("six", expires_in=0.05)
    time.sleep(0.1)
    record = governance.request_approval("six", requested_by="agent", reason="still needed")
    assert (record.status, record.requested_by, record.expires_at) == ("pending", "agent", None)
    assert governance.check("agent", "six", "1.0").rule == "pending"
