"""Latency of running print('hi') in a hardened container: skillguard cold
and with a warm pool, against docker-py and the docker command line with the
same limits, all in one run on one engine. Prints p50 and p95 in ms.

Usage:
    .venv/bin/pip install docker      # docker-py, for the comparison only
    .venv/bin/maturin develop --release
    SKILLGUARD_BASE_IMAGE=skillguard-base:bookworm .venv/bin/python benches/sandbox.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time

import docker

import skillguard

IMAGE = os.environ.get("SKILLGUARD_BASE_IMAGE", "skillguard-base:bookworm")
SEQUENTIAL = 50
CONCURRENT = 16
CODE = "print('hi')"

HARDENED = dict(
    network_mode="none",
    read_only=True,
    tmpfs={"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
    cap_drop=["ALL"],
    security_opt=["no-new-privileges:true"],
    pids_limit=128,
    mem_limit="256m",
    memswap_limit="256m",
    nano_cpus=500_000_000,
    user="1000:1000",
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def sequential(run) -> list[float]:
    run()  # first run outside the figures: image lookups, pool fill, connections
    timings = []
    for _ in range(SEQUENTIAL):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def concurrent(run) -> list[float]:
    timings: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        started = time.perf_counter()
        run()
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            timings.append(elapsed)

    threads = [threading.Thread(target=one) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main() -> None:
    cold = skillguard.Sandbox(image=IMAGE)
    client = docker.from_env()
    low_level = docker.APIClient()

    def skillguard_cold() -> None:
        assert cold.run(CODE).stdout == "hi\n"

    def docker_py_run() -> None:
        output = client.containers.run(IMAGE, ["python3", "-c", CODE], remove=True, **HARDENED)
        assert output == b"hi\n"

    def docker_py_low_level() -> None:
        host_config = low_level.create_host_config(
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges:true"],
            pids_limit=128,
            mem_limit="256m",
            memswap_limit="256m",
            nano_cpus=500_000_000,
        )
        container = low_level.create_container(IMAGE, ["python3", "-c", CODE], user="1000:1000", host_config=host_config)
        try:
            low_level.start(container)
            low_level.wait(container)
            assert low_level.logs(container) == b"hi\n"
        finally:
            low_level.remove_container(container, force=True)

    def docker_cli() -> None:
        command = [
            "docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--pids-limit", "128", "--memory", "256m",
            "--memory-swap", "256m", "--cpus", "0.5", "--user", "1000:1000", IMAGE, "python3", "-c", CODE,
        ]
        assert subprocess.run(command, capture_output=True, check=True).stdout == b"hi\n"

    rows = []
    rows.append(("skillguard cold", *percentiles(sequential(skillguard_cold))))
    with skillguard.Sandbox(image=IMAGE, warm_pool=4) as warm:

        def skillguard_warm() -> None:
            assert warm.run(CODE).stdout == "hi\n"

        rows.append(("skillguard warm pool (4)", *percentiles(sequential(skillguard_warm))))
    rows.append(("docker-py containers.run", *percentiles(sequential(docker_py_run))))
    rows.append(("docker-py low-level hardened", *percentiles(sequential(docker_py_low_level))))
    rows.append(("docker run (command line)", *percentiles(sequential(docker_cli))))
    rows.append((f"skillguard cold, {CONCURRENT} at once", *percentiles(concurrent(skillguard_cold))))
    rows.append((f"docker-py containers.run, {CONCURRENT} at once", *percentiles(concurrent(docker_py_run))))

    print(f"image {IMAGE}, {SEQUENTIAL} sequential runs per row (or {CONCURRENT} concurrent), latency per run in ms")
    print(f"{'':44} {'p50':>8} {'p95':>8}")
    for name, p50, p95 in rows:
        print(f"{name:44} {p50:8.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
