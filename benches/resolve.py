"""Benchmark of resolution against the public index: skillguard beside
`uv pip compile`, for the same target (CPython 3.11.2 on manylinux_2_36
x86_64, wheels only), with a cold cache and with a warm cache offline.

Usage: .venv/bin/maturin develop --release && .venv/bin/python benches/resolve.py [--cold-runs N] [--warm-runs N]

uv is installed from PyPI into this interpreter's environment when missing.
Cold runs start from an empty cache directory each time; warm runs reuse a
filled cache with the network off (uv `--offline`, skillguard `offline=True`).
skillguard is timed in-process (scanner creation included); uv as the
command, so its time includes starting the process. Prints the medians, the
ratio skillguard/uv, and every version on which the two tools differ.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import skillguard

INDEX = "https://pypi.org/simple/"
PYTHON_VERSION = "3.11.2"
UV_PLATFORM = "x86_64-manylinux_2_36"
SETS: Dict[str, List[str]] = {
    "S1": ["requests"],
    "S2": ["pandas"],
    "S3": ["fastapi", "uvicorn", "pydantic", "httpx"],
    "S4": [
        "numpy", "scipy", "scikit-learn", "pandas", "matplotlib",
        "requests", "beautifulsoup4", "lxml", "pyyaml", "jinja2",
    ],
}


def uv_binary() -> str:
    """Returns uv from this environment, installing it from PyPI first if needed."""
    candidate = Path(sys.executable).parent / "uv"
    if not candidate.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uv"], check=True)
    return str(candidate)


def uv_environment() -> Dict[str, str]:
    """Return this environment without the pip and uv settings that would change uv's sources."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "UV_"))}


def uv_compile(uv: str, requirements: List[str], cache: Path, offline: bool) -> Dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        source = Path(scratch) / "requirements.in"
        source.write_text("\n".join(requirements) + "\n")
        command = [
            uv, "pip", "compile", str(source), "--quiet", "--no-header", "--no-annotate",
            "--python-version", PYTHON_VERSION, "--python-platform", UV_PLATFORM,
            "--only-binary", ":all:", "--python", "/usr/bin/python3",
            "--index-url", INDEX, "--cache-dir", str(cache), "--no-config",
        ]
        if offline:
            command.append("--offline")
        completed = subprocess.run(command, check=True, capture_output=True, text=True, env=uv_environment())
    pinned = {}
    for line in completed.stdout.splitlines():
        line = line.strip()
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pinned[name.strip().lower()] = version.split(";")[0].strip()
    return pinned


def skillguard_resolve(requirements: List[str], cache: Path, offline: bool) -> Dict[str, str]:
    scanner = skillguard.DependencyScanner(
        ":memory:", index_url=INDEX, extra_index_urls=[], find_links=[], cache_dir=str(cache), offline=offline
    )
    lock = scanner.resolve(requirements, python_version=PYTHON_VERSION)
    return {package.name: package.version for package in lock.packages}


def timed(function: Callable[[], Dict[str, str]]) -> Tuple[float, Dict[str, str]]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def measure_cold(run: Callable[[Path], Dict[str, str]], runs: int) -> Tuple[float, Dict[str, str]]:
    timings = []
    result: Dict[str, str] = {}
    for _ in range(runs):
        cache = Path(tempfile.mkdtemp(prefix="resolve-bench-"))
        try:
            elapsed, result = timed(lambda: run(cache))
            timings.append(elapsed)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return statistics.median(timings), result


def measure_warm(fill: Callable[[Path], object], run: Callable[[Path], Dict[str, str]], runs: int) -> Tuple[float, Dict[str, str]]:
    cache = Path(tempfile.mkdtemp(prefix="resolve-bench-"))
    try:
        fill(cache)
        timings = []
        result: Dict[str, str] = {}
        for _ in range(runs):
            elapsed, result = timed(lambda: run(cache))
            timings.append(elapsed)
        return statistics.median(timings), result
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def differences(ours: Dict[str, str], theirs: Dict[str, str]) -> List[str]:
    found = []
    for name in sorted(set(ours) | set(theirs)):
        if ours.get(name) != theirs.get(name):
            found.append(f"{name}: skillguard {ours.get(name, '-')}, uv {theirs.get(name, '-')}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold-runs", type=int, default=3, help="runs per cold measurement (default 3)")
    parser.add_argument("--warm-runs", type=int, default=7, help="runs per warm offline measurement (default 7)")
    options = parser.parse_args()
    uv = uv_binary()
    version = subprocess.run([uv, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    print(f"{version}; skillguard {skillguard.__version__}; target CPython {PYTHON_VERSION} {UV_PLATFORM}, wheels only")
    print(f"{'set':<4} {'mode':<12} {'skillguard':>11} {'uv':>9} {'ratio':>6}  packages")

    all_differences = []
    for label, requirements in SETS.items():
        cold_ours, ours = measure_cold(lambda cache: skillguard_resolve(requirements, cache, False), options.cold_runs)
        cold_theirs, theirs = measure_cold(lambda cache: uv_compile(uv, requirements, cache, False), options.cold_runs)
        print(f"{label:<4} {'cold online':<12} {cold_ours:>10.3f}s {cold_theirs:>8.3f}s {cold_ours / cold_theirs:>6.2f}  {len(ours)}")
        all_differences += [f"{label}: {line}" for line in differences(ours, theirs)]

        warm_ours, ours = measure_warm(
            lambda cache: skillguard_resolve(requirements, cache, False),
            lambda cache: skillguard_resolve(requirements, cache, True),
            options.warm_runs,
        )
        warm_theirs, theirs = measure_warm(
            lambda cache: uv_compile(uv, requirements, cache, False),
            lambda cache: uv_compile(uv, requirements, cache, True),
            options.warm_runs,
        )
        print(f"{label:<4} {'warm offline':<12} {warm_ours:>10.3f}s {warm_theirs:>8.3f}s {warm_ours / warm_theirs:>6.2f}  {len(ours)}")
        all_differences += [f"{label} offline: {line}" for line in differences(ours, theirs)]

    print("version differences:" if all_differences else "version differences: none")
    for line in all_differences:
        print(f"  {line}")


if __name__ == "__main__":
    main()
