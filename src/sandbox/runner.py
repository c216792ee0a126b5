# Runs one job inside the sandbox container. The job arrives on stdin as a
# decimal byte count, a newline, then that many bytes of JSON holding the
# code, the inputs and a result marker, so the code is never spliced into
# source text. If the code defines `result`, its JSON follows the marker on stdout.
import json
import sys


def _skillguard_run():
    size = int(sys.stdin.buffer.readline())
    job = json.loads(sys.stdin.buffer.read(size).decode("utf-8"))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "inputs": job["inputs"]}
    marker = job["marker"]
    del job["marker"]
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


_skillguard_run()
