"""Skill images against the real engine: contents, hermetic builds, tags,
reuse under concurrency, failures, prune and rescan."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

import skillguard
from conftest import BASE_IMAGE, REPOSITORY, docker_lines

EXAMPLE = REPOSITORY / "examples" / "dates-and-requests"
PACKAGES = ["requests>=2.32,<3", "python-dateutil>=2.9,<3"]

pytestmark = pytest.mark.usefixtures("no_leftover_containers")


@pytest.fixture()
def governed(database: str):
    governance = skillguard.PackageGovernance(database)
    governance.apply_policy_file(str(EXAMPLE / "policy.toml"))
    return skillguard.DependencyScanner(database, governance=governance)


def installer_for(scanner, session_dir: Path, *extra_build_steps: str) -> skillguard.PackageInstaller:
    return skillguard.PackageInstaller(
        scanner=scanner,
        base_image=BASE_IMAGE,
        cache_dir=str(session_dir / "cache"),
        extra_build_steps=list(extra_build_steps),
    )


def unique_step() -> str:
    """A no-op build step that makes the tag new, so the test builds instead of reusing."""
    return f"true build-{uuid.uuid4().hex}"


def image_exists(tag: str) -> bool:
    return bool(docker_lines("images", "-q", tag))


def test_image_contains_exactly_locked_distributions(governed, session_dir):
    installer = installer_for(governed, session_dir)
    installed = installer.install("skill-contents", PACKAGES, agent_id="example-agent")
    assert installed.success, installed.error
    code = (
        "import importlib.metadata as metadata, re\n"
        "result = sorted([re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(), d.version] for d in metadata.distributions())\n"
    )
    run = installer.execute("skill-contents", code)
    assert run.verdict == "ok", run.stderr
    expected = sorted([package.name, package.version] for package in installed.lock.packages)
    assert run.value == expected


def test_build_runs_without_network(governed, session_dir):
    check = "python3 -c \"import os, sys; sys.exit(0 if sorted(os.listdir('/sys/class/net')) == ['lo'] else 3)\""
    installer = installer_for(governed, session_dir, check, unique_step())
    streamed = []
    installed = installer.install("skill-offline-build", ["six==1.16.0"], agent_id="example-agent", on_log=streamed.append)
    assert installed.success, installed.error
    assert installed.reused is False
    assert any("sys/class/net" in line for line in installed.build_logs)
    assert any(line.startswith("Step 1/") for line in streamed)


def test_failed_build_raises_and_leaves_no_tag(governed, session_dir):
    installer = installer_for(governed, session_dir, "echo about to fail && exit 3", unique_step())
    with pytest.raises(skillguard.BuildError) as raised:
        installer.install("skill-failing-build", ["six==1.16.0"], agent_id="example-agent")
    message = str(raised.value)
    assert "about to fail" in message
    tag = re.search(r"build of image (\S+) failed", message).group(1)
    assert image_exists(tag) is False
    assert installer.status("skill-failing-build") is None


def test_changed_requirements_keep_first_image(governed, session_dir):
    installer = installer_for(governed, session_dir)
    first = installer.install("skill-changing", ["six==1.16.0"], agent_id="example-agent")
    second = installer.install("skill-changing", ["six==1.17.0"], agent_id="example-agent")
    assert first.success and second.success
    assert first.image_tag != second.image_tag
    assert image_exists(first.image_tag)
    assert installer.status("skill-changing")["image_tag"] == second.image_tag
    images = {tag: image for image in installer.images() for tag in image["tags"]}
    assert images[second.image_tag]["skills"] == ["skill-changing"]
    assert images[second.image_tag]["labels"]["skillguard.lock-digest"] == second.lock.digest


def test_concurrent_installs_build_once(governed, session_dir):
    installer = installer_for(governed, session_dir, unique_step())
    results = {}

    def install(skill_id):
        results[skill_id] = installer.install(skill_id, ["six==1.16.0"], agent_id="example-agent")

    threads = [threading.Thread(target=install, args=(f"skill-race-{index}",)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert all(result.success for result in results.values())
    assert sorted(result.reused for result in results.values()) == [False, True]
    assert len({result.image_tag for result in results.values()}) == 1


INSTALL_SCRIPT = """
import sys, skillguard
governance = skillguard.PackageGovernance(sys.argv[1])
scanner = skillguard.DependencyScanner(sys.argv[1], governance=governance)
installer = skillguard.PackageInstaller(
    scanner=scanner, base_image=sys.argv[2], cache_dir=sys.argv[3], extra_build_steps=[sys.argv[4]]
)
result = installer.install(sys.argv[5], ["six==1.16.0"], agent_id="example-agent")
print("reused" if result.reused else "built", result.image_tag, result.error)
"""


def test_concurrent_processes_build_once(governed, database, session_dir):
    step = unique_step()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INSTALL_SCRIPT, database, BASE_IMAGE, str(session_dir / "cache"), step, f"skill-process-{index}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    words = sorted(stdout.split()[0] for stdout, _ in outputs)
    assert words == ["built", "reused"]
    assert len({stdout.split()[1] for stdout, _ in outputs}) == 1


@pytest.mark.parametrize("reference", ["python:3.11\nRUN id", "--privileged", "python 3.11", "-v /:/host"])
def test_invalid_base_image_reference_is_rejected(reference):
    with pytest.raises(ValueError, match="invalid image reference"):
        skillguard.PackageInstaller(":memory:", base_image=reference)


def test_invalid_extra_build_step_is_rejected():
    with pytest.raises(ValueError, match="invalid extra build step"):
        skillguard.PackageInstaller(":memory:", base_image=BASE_IMAGE, extra_build_steps=["true\nRUN id"])


def test_prune_removes_only_unreferenced_images(governed, session_dir):
    old = installer_for(governed, session_dir, unique_step()).install("skill-prune", ["six==1.16.0"], agent_id="example-agent")
    new = installer_for(governed, session_dir, unique_step()).install("skill-prune", ["six==1.16.0"], agent_id="example-agent")
    assert old.image_tag != new.image_tag

    removal = installer_for(governed, session_dir).prune()
    assert old.image_tag in removal["removed_images"]
    assert new.image_tag not in removal["removed_images"]
    assert removal["freed_bytes"] > 0
    assert image_exists(old.image_tag) is False
    assert image_exists(new.image_tag) is True


def test_remove_drops_record_and_unused_image(governed, session_dir):
    installer = installer_for(governed, session_dir, unique_step())
    installed = installer.install("skill-removed", ["six==1.16.0"], agent_id="example-agent")
    removal = installer.remove("skill-removed")
    assert removal["removed_images"] == [installed.image_tag]
    assert installer.status("skill-removed") is None
    assert image_exists(installed.image_tag) is False


def test_rescan_quarantines_newly_vulnerable_image(governed, database, session_dir, tmp_path):
    installer = installer_for(governed, session_dir)
    installed = installer.install("skill-rescan", ["six==1.16.0"], agent_id="example-agent")
    assert installed.success, installed.error
    assert installer.rescan() == []

    advisories = tmp_path / "osv"
    advisories.mkdir()
    (advisories / "TEST-2026-0001.json").write_text(json.dumps({
        "id": "TEST-2026-0001",
        "modified": "2026-12-01T00:00:00Z",
        "summary": "test advisory for six",
        "affected": [{
            "package": {"ecosystem": "PyPI", "name": "six"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.16.0"}, {"fixed": "1.16.1"}]}],
        }],
    }))
    governed.import_advisories(str(advisories))

    [finding] = installer.rescan(quarantine=True)
    assert finding["image_tag"] == installed.image_tag
    assert finding["skills"] == ["skill-rescan"]
    assert [vulnerability["id"] for vulnerability in finding["vulnerabilities"]] == ["TEST-2026-0001"]
    assert "TEST-2026-0001" in installer.status("skill-rescan")["quarantined"]

    with pytest.raises(skillguard.ImageQuarantined, match="TEST-2026-0001"):
        installer.execute("skill-rescan", "print('must not run')")
    with pytest.raises(skillguard.ImageQuarantined):
        skillguard.Sandbox(db=database).run("print('must not run')", image=installed.image_tag)

    assert installer.release(installed.image_tag) is True
    assert installer.execute("skill-rescan", "result = 1").value == 1
