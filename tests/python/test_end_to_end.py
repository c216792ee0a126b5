"""Docker-backed scenarios against the real engine and the real package index."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import skillguard
from conftest import BASE_IMAGE, REPOSITORY, docker_lines

PACKAGES = ["requests>=2.32,<3", "python-dateutil>=2.9,<3"]
EXAMPLE = REPOSITORY / "examples" / "dates-and-requests"

pytestmark = pytest.mark.usefixtures("no_leftover_containers")


@pytest.fixture()
def stack(database: str, session_dir: Path):
    """Governance, scanner and installer over one database, with the example policy applied."""
    governance = skillguard.PackageGovernance(database)
    governance.apply_policy_file(str(EXAMPLE / "policy.toml"))
    scanner = skillguard.DependencyScanner(database, governance=governance)
    installer = skillguard.PackageInstaller(
        database, scanner=scanner, base_image=BASE_IMAGE, cache_dir=str(session_dir / "cache")
    )
    return governance, scanner, installer


def test_installed_packages_import_in_container(stack):
    _, _, installer = stack
    installed = installer.install("skill-imports", PACKAGES, agent_id="example-agent")
    assert installed.success, installed.error
    assert installed.image_tag.startswith("skillguard-env:")
    names = {package.name for package in installed.lock.packages}
    assert {"requests", "python-dateutil", "urllib3", "idna", "certifi", "six"} <= names

    code = """
import requests, dateutil
from dateutil import parser

def shout(text):
    return text.upper()

result = {
    "requests": requests.__version__,
    "venv": requests.__file__.startswith("/opt/skillguard-venv/"),
    "year": parser.parse(inputs["when"]).year,
    "shout": shout(inputs["word"]),
}
"""
    run = installer.execute("skill-imports", code, inputs={"when": "4 Dec 2026", "word": "héllo"}, timeout=30)
    assert run.verdict == "ok", run.stderr
    assert run.exit_code == 0
    locked = {package.name: package.version for package in installed.lock.packages}
    assert run.value == {"requests": locked["requests"], "venv": True, "year": 2026, "shout": "HÉLLO"}


def test_same_lock_builds_once(stack):
    _, _, installer = stack
    first = installer.install("skill-first", PACKAGES, agent_id="example-agent")
    second = installer.install("skill-second", list(reversed(PACKAGES)), agent_id="example-agent")
    assert first.success and second.success
    assert second.reused is True
    assert second.image_tag == first.image_tag
    assert second.build_logs == []
    images = {entry["skill_id"]: entry["image_tag"] for entry in installer.skill_images()}
    assert images["skill-first"] == images["skill-second"] == first.image_tag


def test_banned_dependency_stops_install_before_download(stack, tmp_path):
    governance, scanner, _ = stack
    governance.ban("six", reason="banned for this test")
    installer = skillguard.PackageInstaller(
        scanner=scanner, base_image=BASE_IMAGE, cache_dir=str(tmp_path / "cache")
    )
    installed = installer.install("skill-banned", PACKAGES, agent_id="example-agent")
    assert installed.success is False
    assert installed.image_tag is None
    assert installed.downloaded == []
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.whl"))
    [denial] = installed.denials
    assert denial["package"] == "six"
    assert denial["rule"] == "banned"
    assert "skill requires python-dateutil; python-dateutil" in denial["chain"]
    assert "banned for this test" in installed.error


def test_agent_below_required_maturity_is_denied(stack, tmp_path):
    governance, scanner, _ = stack
    governance.set_agent_maturity("intern-agent", "intern")
    # Raise the example's approval of python-dateutil from intern to supervised.
    governance.approve("python-dateutil>=2.9,<3", min_maturity="supervised")
    installer = skillguard.PackageInstaller(
        scanner=scanner, base_image=BASE_IMAGE, cache_dir=str(tmp_path / "cache")
    )
    installed = installer.install("skill-intern", ["python-dateutil>=2.9,<3"], agent_id="intern-agent")
    assert installed.success is False
    assert installed.downloaded == []
    rules = {denial["package"]: denial["rule"] for denial in installed.denials}
    assert rules == {"python-dateutil": "maturity_too_low"}


def test_code_that_raises_returns_exit_code_and_stderr(docker_engine):
    run = skillguard.Sandbox(image=BASE_IMAGE).run("def fail():\n    raise RuntimeError('boom from skill')\nfail()\n")
    assert run.verdict == "error"
    assert run.exit_code == 1
    assert "RuntimeError: boom from skill" in run.stderr
    assert run.value is None


def test_infinite_loop_is_killed_at_timeout(docker_engine):
    run = skillguard.Sandbox(image=BASE_IMAGE).run("while True:\n    pass\n", timeout=2)
    assert run.verdict == "timeout"
    assert run.timed_out is True
    assert run.exit_code is None
    assert 2000 <= run.duration_ms < 10000


def test_container_has_no_network(docker_engine):
    code = """
import os
interfaces = sorted(os.listdir("/sys/class/net"))
with open("/proc/net/route") as routes:
    route_lines = routes.read().splitlines()[1:]
result = {"interfaces": interfaces, "routes": route_lines}
"""
    run = skillguard.Sandbox(image=BASE_IMAGE).run(code)
    assert run.verdict == "ok", run.stderr
    assert run.value == {"interfaces": ["lo"], "routes": []}


def test_inputs_arrive_as_data_not_source(docker_engine):
    inputs = {"flag": True, "nothing": None, "text": "'''\"; import os; os._exit(3) #", "numbers": [1, 2.5]}
    code = "print('unicode ✓')\nresult = inputs\n"
    run = skillguard.Sandbox(image=BASE_IMAGE).run(code, inputs=inputs)
    assert run.verdict == "ok", run.stderr
    assert run.stdout == "unicode ✓\n"
    assert run.value == inputs


def test_limits_out_of_bounds_raise_value_error():
    sandbox = skillguard.Sandbox(image=BASE_IMAGE)
    with pytest.raises(ValueError, match="timeout"):
        sandbox.run("pass", timeout=0)
    with pytest.raises(ValueError, match="memory"):
        sandbox.run("pass", memory="100g")
    with pytest.raises(ValueError, match="invalid image reference"):
        sandbox.run("pass", image="python:3.11\nRUN id")


def test_execute_unknown_skill_raises_image_not_found(stack):
    _, _, installer = stack
    with pytest.raises(skillguard.ImageNotFound, match="skill never-installed has no installed image"):
        installer.execute("never-installed", "pass")


def test_run_skill_command_prints_result(database, docker_engine):
    completed = subprocess.run(
        [
            sys.executable, "-m", "skillguard", "--db", database, "run-skill", str(EXAMPLE),
            "--policy", str(EXAMPLE / "policy.toml"), "--base-image", BASE_IMAGE,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    assert "/opt/skillguard-venv/lib/python3.11/site-packages/requests/__init__.py" in completed.stdout
    assert '"content_type": "application/json"' in completed.stdout
    assert "verdict ok, exit code 0" in completed.stdout


def test_unreachable_engine_raises_docker_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(skillguard.DockerUnavailable) as raised:
        skillguard.Sandbox(image=BASE_IMAGE).run("pass")
    assert "no-engine.sock" in str(raised.value)


def test_sweep_removes_containers_of_exited_processes(docker_engine):
    host = Path("/proc/sys/kernel/hostname").read_text().strip()
    orphan = docker_lines(
        "create", "--label", "skillguard.sandbox=1", "--label", f"skillguard.host={host}",
        "--label", "skillguard.pid=4194304", BASE_IMAGE, "true",
    )[0]
    try:
        assert skillguard.Sandbox(image=BASE_IMAGE).sweep() >= 1
        assert docker_lines("ps", "-aq", "--no-trunc", "--filter", f"id={orphan}") == []
    finally:
        subprocess.run(["docker", "rm", "-f", orphan], capture_output=True)


def test_ctrl_c_during_run_removes_container(docker_engine):
    script = (
        "import skillguard, sys\n"
        "try:\n"
        f"    skillguard.Sandbox(image={BASE_IMAGE!r}).run('import time\\nwhile True: time.sleep(1)', timeout=120)\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(42)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        started = time.monotonic()
        while not docker_lines("ps", "-q", "--filter", f"label=skillguard.pid={process.pid}"):
            assert time.monotonic() - started < 60, "the run never started a container"
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 42
    finally:
        process.kill()
    assert docker_lines("ps", "-aq", "--filter", f"label=skillguard.pid={process.pid}") == []
