"""Governance benchmark: cached and uncached checks from Python, checks per
second from 1, 2 and 4 threads, and checking a 200-package resolved set.

Measure a release build (`maturin develop --release`); the test command
builds a debug one. Run: `.venv/bin/python benches/governance.py`.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
import timeit
from pathlib import Path

import skillguard

AGENT = "bench-agent"
SET_SIZE = 200


def median_ns(samples: list[float]) -> float:
    return statistics.median(samples) * 1e9


def per_call(function, calls: int, repeats: int = 15) -> list[float]:
    """Seconds per call, one sample per batch of `calls` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        samples.append((time.perf_counter() - start) / calls)
    return samples


def build(path: str, **options) -> skillguard.PackageGovernance:
    governance = skillguard.PackageGovernance(path, **options)
    governance.set_agent_maturity(AGENT, "supervised")
    for index in range(SET_SIZE):
        governance.approve(f"package-{index}>=1,<3", min_maturity="intern", approved_by="bench")
    governance.ban("package-7<1.5", reason="bench ban")
    return governance


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="skillguard-bench-"))
    path = str(directory / "governance.db")
    governance = build(path)
    uncached = skillguard.PackageGovernance(path, cache_size=0)
    check = governance.check
    pairs = [(f"package-{index}", f"2.{index % 7}.0") for index in range(SET_SIZE)]

    print(f"skillguard {skillguard.__version__} governance benchmark, {os.cpu_count()} cores; medians of 15 batches")

    check(AGENT, "package-1", "2.0.0")
    # timeit's loop adds almost nothing, so this is the cost of the call itself.
    timer = timeit.Timer("check(agent, 'package-1', '2.0.0')", globals={"check": check, "agent": AGENT})
    cached = [seconds / 100_000 for seconds in timer.repeat(repeat=15, number=100_000)]
    print(f"cached check:               {median_ns(cached):8.0f} ns")
    baseline_timer = timeit.Timer("len(agent)", globals={"agent": AGENT})
    baseline = [seconds / 100_000 for seconds in baseline_timer.repeat(repeat=15, number=100_000)]
    print(f"  (for scale, len(str) from Python: {median_ns(baseline):.0f} ns)")

    counter = iter(range(10**9))
    versions = [f"2.0.{next(counter)}" for _ in range(15 * 5_000)]
    fresh = iter(versions)
    miss = per_call(lambda: check(AGENT, "package-1", next(fresh)), 5_000)
    print(f"uncached check:             {median_ns(miss):8.0f} ns  (decision computed from the cached records)")

    uncached_check = uncached.check
    no_cache = per_call(lambda: uncached_check(AGENT, "package-1", "2.0.0"), 5_000)
    print(f"uncached check, cache off:  {median_ns(no_cache):8.0f} ns  (cache_size=0: 2 store queries per check)")

    # Every round checks versions not checked before. Inputs are made up front.
    rounds = iter([[(name, f"2.1.{round_number}") for name, _ in pairs] for round_number in range(15 * 50)])

    def set_new_versions() -> None:
        governance.check_many(AGENT, next(rounds))

    new_versions = per_call(set_new_versions, 50)
    print(f"200-package set, uncached:  {median_ns(new_versions) / 1000:8.1f} us  (no decision cached; records cached)")

    def set_cold() -> None:
        governance.clear_cache()
        governance.check_many(AGENT, pairs)

    cold = per_call(set_cold, 50)
    print(f"200-package set, cold:      {median_ns(cold) / 1000:8.1f} us  (after clear_cache: one query reads every record)")
    warm = per_call(lambda: governance.check_many(AGENT, pairs), 200)
    print(f"200-package set, cached:    {median_ns(warm) / 1000:8.1f} us")
    one_by_one = per_call(lambda: [check(AGENT, name, version) for name, version in pairs], 200)
    print(f"200 single cached checks:   {median_ns(one_by_one) / 1000:8.1f} us")

    for threads in (1, 2, 4):
        stop = time.perf_counter() + 2.0
        counts = [0] * threads

        def worker(slot: int) -> None:
            done = 0
            while time.perf_counter() < stop:
                for index in range(100):
                    check(AGENT, f"package-{index}", "2.0.0")
                done += 100
            counts[slot] = done

        workers = [threading.Thread(target=worker, args=(slot,)) for slot in range(threads)]
        started = time.perf_counter()
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - started
        print(f"{threads} thread(s):                {sum(counts) / elapsed:12,.0f} cached checks/s")

    stats = governance.cache_stats()
    print(f"cache: size {stats['size']}, hit rate {stats['hit_rate']:.3f}, evictions {stats['evictions']}, "
          f"invalidations {stats['invalidations']}")
    for file in directory.iterdir():
        file.unlink()
    directory.rmdir()


if __name__ == "__main__":
    main()
