"""Resolution against the real public index (PyPI), and one install in the image."""

from __future__ import annotations

from pathlib import Path

import pytest

import skillguard
from conftest import BASE_IMAGE

PYPI = "https://pypi.org/simple/"
WELL_KNOWN_SETS = [
    ["requests"],
    ["fastapi", "uvicorn", "pydantic", "httpx"],
    ["numpy", "pandas", "matplotlib"],
]


def pypi_scanner(database: str, cache: Path) -> skillguard.DependencyScanner:
    return skillguard.DependencyScanner(
        database, index_url=PYPI, extra_index_urls=[], find_links=[], cache_dir=str(cache)
    )


@pytest.mark.parametrize("requirements", WELL_KNOWN_SETS, ids=lambda requirements: "+".join(requirements))
def test_pypi_lock_is_stable_across_runs(requirements, tmp_path):
    first = pypi_scanner(":memory:", tmp_path / "first").resolve(requirements)
    second = pypi_scanner(":memory:", tmp_path / "second").resolve(requirements)

    assert first.digest == second.digest
    assert first.to_json() == second.to_json()
    for package in first.packages:
        assert len(package.sha256) == 64, package.name
        assert package.url.startswith("https://"), package.name
        assert package.required_by, package.name


def test_pypi_offline_lock_matches_online(tmp_path):
    online = pypi_scanner(":memory:", tmp_path).resolve(["requests"])
    offline = skillguard.DependencyScanner(
        ":memory:", index_url=PYPI, extra_index_urls=[], find_links=[], cache_dir=str(tmp_path), offline=True
    ).resolve(["requests"])

    assert offline.digest == online.digest


@pytest.mark.usefixtures("no_leftover_containers")
def test_pypi_native_wheel_installs_in_image(database, session_dir):
    governance = skillguard.PackageGovernance(database)
    governance.set_agent_maturity("resolver-agent", "supervised")
    governance.approve("pyyaml", min_maturity="intern", approved_by="tests")
    scanner = skillguard.DependencyScanner(
        database, governance=governance, index_url=PYPI, extra_index_urls=[], find_links=[],
        cache_dir=str(session_dir / "cache"),
    )
    installer = skillguard.PackageInstaller(
        database, scanner=scanner, base_image=BASE_IMAGE, cache_dir=str(session_dir / "cache")
    )

    installed = installer.install("skill-native-yaml", ["pyyaml"], agent_id="resolver-agent")

    assert installed.success, installed.error
    [package] = installed.lock.packages
    assert "manylinux" in package.wheel
    run = installer.execute(
        "skill-native-yaml",
        "import yaml\nresult = [yaml.__version__, yaml.__with_libyaml__]",
        timeout=30,
    )
    assert run.verdict == "ok", run.stderr
    assert run.value == [package.version, True]
