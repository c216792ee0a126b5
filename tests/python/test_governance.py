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


def test_ban_reason_reaches_decision(governance):
    decision = governance.check("agent-7", "requests", "2.31.0")
    assert "CVE-2024-35195" in decision.reason
    assert decision.record.status == "banned"


def test_maturity_resolver_is_source_of_truth():
    levels = {"host-agent": "autonomous"}
    governance = skillguard.PackageGovernance(":memory:", maturity_resolver=levels.get)
    governance.approve("six", min_maturity="supervised")
    assert governance.check("host-agent", "six", "1.17.0").allowed
    assert governance.check("other", "six", "1.17.0").rule == "student"


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda g: g.approve("six", min_maturity="wizard"), '"wizard"'),
        (lambda g: g.ban("six", reason=" "), "needs a reason"),
        (lambda g: g.set_agent_maturity("a", "superuser"), '"superuser"'),
        (lambda g: g.check("a", "six", "not-a-version!"), "not-a-version!"),
        (lambda g: g.approve("six @ https://example.invalid/six.whl"), "URLs"),
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
    assert actions.count("agent_maturity_set") == 3
