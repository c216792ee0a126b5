"""Warm start against the real engine: runs served by containers started
ahead of time, one run each, with nothing left after close."""

from __future__ import annotations

import os
import time

import pytest

import skillguard
from conftest import BASE_IMAGE, docker_lines

pytestmark = pytest.mark.usefixtures("no_leftover_containers")

MINE = f"label=skillguard.pid={os.getpid()}"


def running_containers() -> set[str]:
    return set(docker_lines("ps", "-q", "--filter", MINE))


def test_warm_runs_are_isolated_and_cleaned_up(docker_engine):
    with skillguard.Sandbox(image=BASE_IMAGE, warm_pool=2) as sandbox:
        first = sandbox.run("open('/tmp/secret', 'w').write('from run one')\nresult = 1")
        assert first.verdict == "ok", first.stderr
        second = sandbox.run("import os\nresult = os.path.exists('/tmp/secret')")
        assert second.value is False
        for index in range(3):
            assert sandbox.run("result = inputs['n'] + 1", inputs={"n": index}).value == index + 1

        deadline = time.monotonic() + 30
        while len(running_containers()) != 2:
            assert time.monotonic() < deadline, "the pool did not settle at two idle containers"
            time.sleep(0.2)
    assert running_containers() == set()


def test_runs_with_other_limits_start_cold(docker_engine):
    with skillguard.Sandbox(image=BASE_IMAGE, warm_pool=1) as sandbox:
        assert sandbox.run("result = 1").value == 1
        run = sandbox.run("result = 2", memory="128m")
        assert run.value == 2


def test_warm_run_still_times_out(docker_engine):
    with skillguard.Sandbox(image=BASE_IMAGE, warm_pool=1) as sandbox:
        sandbox.run("pass")
        run = sandbox.run("while True: pass", timeout=1)
        assert run.verdict == "timeout"


def test_warm_pool_size_is_bounded():
    with pytest.raises(ValueError, match="warm_pool"):
        skillguard.Sandbox(image=BASE_IMAGE, warm_pool=1000)


def test_warm_runs_report_errors_and_signals(docker_engine):
    with skillguard.Sandbox(image=BASE_IMAGE, warm_pool=2) as sandbox:
        sandbox.run("pass")
        failed = sandbox.run("import sys\nprint('partial')\nsys.stderr.write('about to fail\\n')\nraise ValueError('bad input')")
        assert failed.verdict == "error"
        assert failed.exit_code == 1
        assert failed.stdout == "partial\n"
        assert failed.stderr.startswith("about to fail\n")
        assert "ValueError: bad input" in failed.stderr
        killed = sandbox.run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
        assert killed.verdict == "killed"
        assert killed.exit_code == 137
