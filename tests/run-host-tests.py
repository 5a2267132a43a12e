#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Run host test programs, stream their output, and sum their results.

Each program prints one line per check ("PASS: name" / "FAIL: name: detail")
and closes with exactly "N passed, N failed".  A program fails if it exits
non-zero, reports a failed check, or never prints the closing line.  The last
line printed here is the overall "N passed, N failed".
"""
import re
import subprocess
import sys
import time

CLOSING = re.compile(r"^(\d+) passed, (\d+) failed$")


def run(prog):
    """Run one program; return (passed, failed, problem or None)."""
    print(f"== {prog}", flush=True)
    start = time.monotonic()
    closing = None
    try:
        proc = subprocess.Popen([prog], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                errors="replace")
    except OSError as e:
        return 0, 1, f"cannot run: {e}"
    for line in proc.stdout:
        line = line.rstrip("\n")
        print(f"   {line}", flush=True)
        m = CLOSING.match(line)
        closing = (int(m.group(1)), int(m.group(2))) if m else None
    rc = proc.wait()
    secs = time.monotonic() - start
    if closing is None:
        return 0, 1, f"no closing 'N passed, N failed' line (exit {rc})"
    passed, failed = closing
    if rc != 0 and failed == 0:
        return passed, 1, f"exit status {rc} with no failed check"
    print(f"== {prog}: {passed} passed, {failed} failed, exit {rc}, "
          f"{secs:.1f}s", flush=True)
    return passed, failed, None


def main(progs):
    total_pass = total_fail = 0
    problems = []
    for prog in progs:
        p, f, problem = run(prog)
        total_pass += p
        total_fail += f
        if problem:
            print(f"== {prog}: FAIL: {problem}", flush=True)
        if problem or f:
            problems.append(prog)
    if problems:
        print("failing programs: " + " ".join(problems))
    print(f"{total_pass} passed, {total_fail} failed")
    return 1 if problems or total_fail else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
