"""Benchmark of the advisory database: snapshot import, matching of a
200-package resolved set, and single queries. Prints medians.

Usage: .venv/bin/maturin develop --release && .venv/bin/python benches/advisories.py [SNAPSHOT.tar.gz]

Measure a release build: the debug build that the test command makes is
about twice as slow here.
"""

from __future__ import annotations

import random
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

import skillguard

DEFAULT_SNAPSHOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "pypa-advisory-database-2024-10-10.tar.gz"


def median_seconds(function, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def resolved_set(snapshot: Path, size: int) -> list[tuple[str, str]]:
    """Picks `size` (package, version) pairs named by the snapshot, as a resolved set of that size."""
    pairs = {}
    with tarfile.open(snapshot) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.endswith(".yaml"):
                continue
            record = yaml.safe_load(archive.extractfile(member))
            for entry in record.get("affected", []):
                versions = entry.get("versions") or []
                if versions:
                    pairs.setdefault(entry["package"]["name"], str(versions[len(versions) // 2]))
    chosen = sorted(pairs.items())
    random.Random(7).shuffle(chosen)
    return chosen[:size]


def main() -> None:
    snapshot = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SNAPSHOT
    if not snapshot.is_file():
        raise SystemExit(f"advisory snapshot not found at {snapshot}")

    with tempfile.TemporaryDirectory() as directory:
        counter = iter(range(1000))

        def fresh_import() -> None:
            scanner = skillguard.DependencyScanner(f"{directory}/import-{next(counter)}.db")
            scanner.import_advisories(str(snapshot))

        import_seconds = median_seconds(fresh_import, repeats=5)

        scanner = skillguard.DependencyScanner(f"{directory}/match.db")
        scanner.import_advisories(str(snapshot))
        packages = resolved_set(snapshot, 200)
        scanner.match_packages(packages)  # compiles the in-memory index once
        set_seconds = median_seconds(lambda: scanner.match_packages(packages), repeats=200)
        query_timings = []
        for name, version in packages * 5:
            started = time.perf_counter()
            scanner.advisories_for(name, version)
            query_timings.append(time.perf_counter() - started)
        matched = len(scanner.match_packages(packages))

    print(f"snapshot: {snapshot.name}")
    print(f"import into a fresh database (median of 5):      {import_seconds * 1000:8.1f} ms")
    print(f"match a {len(packages)}-package set (median of 200):     {set_seconds * 1000:8.3f} ms  ({matched} matches)")
    print(f"single query advisories_for (median of {len(query_timings)}): {statistics.median(query_timings) * 1e6:8.1f} µs")


if __name__ == "__main__":
    main()
