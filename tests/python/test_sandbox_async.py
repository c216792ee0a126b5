"""The asyncio variant of the sandbox against the real engine."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

import skillguard
from conftest import BASE_IMAGE, docker_lines

pytestmark = pytest.mark.usefixtures("no_leftover_containers")


def test_run_async_returns_result(docker_engine):
    sandbox = skillguard.Sandbox(image=BASE_IMAGE)
    run = asyncio.run(sandbox.run_async("print('hi')\nresult = inputs['x'] * 2", inputs={"x": 21}))
    assert run.verdict == "ok"
    assert run.stdout == "hi\n"
    assert run.value == 42


def test_concurrent_async_runs(docker_engine):
    sandbox = skillguard.Sandbox(image=BASE_IMAGE)

    async def main():
        return await asyncio.gather(*(sandbox.run_async("result = inputs['n']", inputs={"n": n}) for n in range(4)))

    runs = asyncio.run(main())
    assert [run.value for run in runs] == [0, 1, 2, 3]


def test_cancelled_task_removes_container(docker_engine):
    sandbox = skillguard.Sandbox(image=BASE_IMAGE)
    mine = f"label=skillguard.pid={os.getpid()}"

    async def main():
        task = asyncio.ensure_future(sandbox.run_async("import time\nwhile True: time.sleep(1)", timeout=120))
        started = time.monotonic()
        while not docker_lines("ps", "-q", "--filter", mine):
            assert time.monotonic() - started < 60, "the run never started a container"
            await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    deadline = time.monotonic() + 20
    while docker_lines("ps", "-aq", "--filter", mine):
        assert time.monotonic() < deadline, "the cancelled run's container was not removed"
        time.sleep(0.2)


def test_run_async_rejects_bad_limits():
    with pytest.raises(ValueError, match="timeout"):
        asyncio.run(skillguard.Sandbox(image=BASE_IMAGE).run_async("pass", timeout=-1))
