"""Hostile code against the real engine: each case asserts its verdict, that
the host is unaffected, and (through the fixture) that no container remains."""

from __future__ import annotations

import resource
import time

import pytest

import skillguard
from conftest import BASE_IMAGE

pytestmark = pytest.mark.usefixtures("no_leftover_containers")


@pytest.fixture()
def sandbox(docker_engine):
    return skillguard.Sandbox(image=BASE_IMAGE)


def host_responds_quickly() -> bool:
    started = time.monotonic()
    sum(range(100_000))
    return time.monotonic() - started < 1.0


def test_infinite_loop_times_out(sandbox):
    run = sandbox.run("while True:\n    pass\n", timeout=2)
    assert run.verdict == "timeout"
    assert run.exit_code is None


def test_memory_balloon_is_oom(sandbox):
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 * 1024 * 1024))\n"
    run = sandbox.run(code, memory="64m", timeout=30)
    assert run.verdict == "oom", (run.exit_code, run.stderr[-500:])
    assert run.exit_code == 137


def test_fork_bomb_is_contained(sandbox):
    code = """
import os, time
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        children += 1
except OSError as error:
    print("fork failed after", children, "children:", error.strerror)
"""
    run = sandbox.run(code, pids=32, timeout=10)
    assert "fork failed after" in run.stdout
    assert int(run.stdout.split()[3]) < 32
    assert host_responds_quickly()


def test_huge_print_hits_output_limit(sandbox):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = "import sys\nchunk = 'x' * (1024 * 1024)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n"
    run = sandbox.run(code, output_limit=1024 * 1024, timeout=60)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert run.verdict == "output_limit"
    assert run.truncated is True
    assert len(run.stdout) == 1024 * 1024
    # ru_maxrss is in KiB on Linux; a run that kept 1 GiB would raise it by about 1,000,000.
    assert after - before < 200 * 1024


def test_writing_outside_tmp_fails(sandbox):
    code = """
failures = []
for path in ("/etc/evil", "/usr/lib/evil", "/root/evil", "/evil"):
    try:
        open(path, "w").write("x")
    except OSError as error:
        failures.append(error.errno)
result = failures
"""
    run = sandbox.run(code)
    assert run.verdict == "ok", run.stderr
    assert len(run.value) == 4


def test_filling_tmp_is_bounded(sandbox):
    code = """
import errno
written = 0
try:
    with open("/tmp/fill", "wb") as handle:
        while True:
            handle.write(b"x" * (1024 * 1024))
            handle.flush()
            written += 1
except OSError as error:
    result = {"written_mib": written, "errno": error.errno}
"""
    run = sandbox.run(code, memory="256m", timeout=30)
    assert run.verdict in ("ok", "error"), run.stderr[-500:]
    if run.verdict == "ok":
        assert run.value["written_mib"] <= 64
    else:
        # The file-size limit (64 MiB) stops the write with SIGXFSZ, caught by Python as an error.
        assert "File too large" in run.stderr or run.exit_code != 0


def test_executing_file_in_tmp_fails(sandbox):
    code = """
import os, subprocess
with open("/tmp/tool", "w") as handle:
    handle.write("#!/bin/sh\\necho escaped\\n")
os.chmod("/tmp/tool", 0o755)
try:
    subprocess.run(["/tmp/tool"], check=True)
    result = "executed"
except PermissionError:
    result = "denied"
"""
    run = sandbox.run(code)
    assert run.verdict == "ok", run.stderr
    assert run.value == "denied"
    assert "escaped" not in run.stdout


def test_no_privileges_or_capabilities(sandbox):
    code = """
import os
try:
    os.setuid(0)
    became_root = True
except PermissionError:
    became_root = False
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
result = {
    "uid": os.getuid(),
    "became_root": became_root,
    "CapEff": status["CapEff"].strip(),
    "CapPrm": status["CapPrm"].strip(),
    "NoNewPrivs": status["NoNewPrivs"].strip(),
}
"""
    run = sandbox.run(code)
    assert run.verdict == "ok", run.stderr
    assert run.value == {
        "uid": 1000,
        "became_root": False,
        "CapEff": "0000000000000000",
        "CapPrm": "0000000000000000",
        "NoNewPrivs": "1",
    }


def test_no_network_and_no_name_resolution(sandbox):
    code = """
import os, socket
interfaces = sorted(os.listdir("/sys/class/net"))
try:
    socket.getaddrinfo("localhost.invalid", 80)
    resolved = True
except socket.gaierror:
    resolved = False
result = {"interfaces": interfaces, "resolved": resolved}
"""
    run = sandbox.run(code)
    assert run.verdict == "ok", run.stderr
    assert run.value == {"interfaces": ["lo"], "resolved": False}


def test_no_docker_socket_or_host_paths(sandbox):
    code = """
import os
candidates = ["/var/run/docker.sock", "/run/docker.sock", "/host", "/proc/1/root/etc/hostname"]
visible = [path for path in candidates[:3] if os.path.exists(path)]
mounts = open("/proc/self/mounts").read()
result = {"visible": visible, "bind_mounts_of_host": [line for line in mounts.splitlines() if " /host" in line]}
"""
    run = sandbox.run(code)
    assert run.verdict == "ok", run.stderr
    assert run.value == {"visible": [], "bind_mounts_of_host": []}


def test_self_kill_reports_signal(sandbox):
    run = sandbox.run("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert run.verdict == "killed"
    assert run.exit_code == 137


def test_code_closing_stdout_still_waits_for_exit(sandbox):
    code = "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(1)\nraise SystemExit(7)\n"
    run = sandbox.run(code, timeout=20)
    assert run.verdict == "error"
    assert run.exit_code == 7
    assert run.duration_ms >= 1000


def test_ordinary_code_runs(sandbox):
    code = '''
import json, math
from dataclasses import dataclass


@dataclass
class Point:
    x: float
    y: float

    def norm(self):
        return math.hypot(self.x, self.y)


def describe(points):
    total = 0.0
    for point in points:
        total += point.norm()
    return total


points = [Point(**item) for item in inputs["points"]]
print("naïve ✓ 漢字")
result = {"total": describe(points), "flags": [inputs["yes"], inputs["no"], inputs["nothing"]]}
'''
    run = sandbox.run(code, inputs={"points": [{"x": 3, "y": 4}, {"x": 6, "y": 8}], "yes": True, "no": False, "nothing": None})
    assert run.verdict == "ok", run.stderr
    assert run.stdout == "naïve ✓ 漢字\n"
    assert run.value == {"total": 15.0, "flags": [True, False, None]}


def test_unavailable_runtime_is_rejected(sandbox):
    with pytest.raises(ValueError) as raised:
        sandbox.run("pass", runtime="runsc")
    assert "runsc is not available" in str(raised.value)
    assert "runc" in str(raised.value)


def test_listed_runtime_runs(sandbox):
    run = sandbox.run("result = 1", runtime="runc")
    assert run.value == 1


def test_shared_memory_is_small_and_noexec(sandbox):
    code = "result = [line.split()[3] for line in open('/proc/mounts') if line.split()[1] == '/dev/shm']"
    run = sandbox.run(code)
    assert run.verdict == "ok", run.stderr
    [options] = run.value
    assert "noexec" in options.split(",")
    assert "size=16384k" in options.split(",")
