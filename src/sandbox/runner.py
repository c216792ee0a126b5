# Runs one job inside the sandbox container. The job arrives on stdin as a
# decimal byte count, a newline, then that many bytes of JSON holding the
# code, the inputs and a result marker, so the code is never spliced into
# source text. If the code defines `result`, its JSON follows the marker on stdout.
#
# This process is PID 1 of the container, and the kernel ignores signals
# that PID 1 has no handler for, even SIGKILL sent from inside. So the code
# runs in a forked child, and PID 1 only reaps processes and passes on how
# the child ended (128 + N for death by signal N, as a shell reports it).
# It passes that on as its own exit status and as a line after the status
# marker on stdout and stderr. The lines let a warm run finish without waiting for the engine
# to tear the container down: each pipe is in order, so a status line proves
# that everything the code wrote to that stream arrived.
import json
import os
import sys


def _skillguard_run(job):
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "inputs": job["inputs"]}
    marker = job.pop("marker")
    code = compile(job.pop("code"), "<skill>", "exec")
    exec(code, namespace)
    if "result" in namespace:
        try:
            encoded = json.dumps(namespace["result"])
        except (TypeError, ValueError) as error:
            sys.stderr.write("skillguard: result is not JSON serialisable: %s\n" % error)
            sys.exit(1)
        sys.stdout.flush()
        sys.stdout.write("\n" + marker + "\n" + encoded)
        sys.stdout.flush()


def _skillguard_main():
    size = int(sys.stdin.buffer.readline())
    job = json.loads(sys.stdin.buffer.read(size).decode("utf-8"))
    status_marker = job.pop("status_marker")
    child = os.fork()
    if child == 0:
        _skillguard_run(job)
        return
    while True:
        pid, status = os.wait()
        if pid == child:
            break
    if os.WIFSIGNALED(status):
        code = 128 + os.WTERMSIG(status)
    else:
        code = os.WEXITSTATUS(status)
    line = ("\n%s %d\n" % (status_marker, code)).encode()
    for descriptor in (1, 2):
        try:
            os.write(descriptor, line)
        except OSError:
            pass
    os._exit(code)


_skillguard_main()
