"""Shared fixtures: the advisory snapshot, a real Docker engine, the base image,
and a check that no test leaves a container behind."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import skillguard

REPOSITORY = Path(__file__).resolve().parents[2]
SNAPSHOT = REPOSITORY.parent / "shared" / "data" / "pypa-advisory-database-2024-10-10.tar.gz"
BASE_IMAGE = os.environ.get("SKILLGUARD_BASE_IMAGE", "skillguard-base:bookworm")


def docker_lines(*arguments: str) -> list[str]:
    """Runs the docker CLI and returns its output lines."""
    completed = subprocess.run(["docker", *arguments], check=True, capture_output=True, text=True)
    return [line for line in completed.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def snapshot() -> Path:
    if not SNAPSHOT.is_file():
        pytest.fail(f"advisory snapshot not found at {SNAPSHOT}; tests need the shared data beside the checkout")
    return SNAPSHOT


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Fails (never skips) when no engine responds, because Docker tests need a real one."""
    try:
        docker_lines("info", "--format", "{{.ServerVersion}}")
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.fail(f"no Docker engine answers ({error}); run scripts/docker-up.sh first")
    if not docker_lines("images", "-q", BASE_IMAGE):
        pytest.fail(f"base image {BASE_IMAGE} is missing; run scripts/base-image.sh first")


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("skillguard")


@pytest.fixture(scope="session")
def imported_db(session_dir: Path, snapshot: Path) -> str:
    """A database file with the advisory snapshot imported once for the session."""
    path = str(session_dir / "advisories.db")
    skillguard.DependencyScanner(path).import_advisories(str(snapshot))
    return path


@pytest.fixture()
def database(imported_db: str, tmp_path: Path) -> str:
    """A private copy of the imported database for one test."""
    import sqlite3

    path = tmp_path / "skillguard.db"
    source = sqlite3.connect(imported_db)
    target = sqlite3.connect(path)
    source.backup(target)
    source.close()
    target.close()
    return str(path)


@pytest.fixture()
def no_leftover_containers(docker_engine: None):
    """Asserts the test left no sandbox container behind."""
    before = set(docker_lines("ps", "-aq", "--filter", "label=skillguard.sandbox"))
    yield
    after = set(docker_lines("ps", "-aq", "--filter", "label=skillguard.sandbox"))
    assert after - before == set(), f"containers left behind: {sorted(after - before)}"
