#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The body of `make test`: host tests, then the guest matrix, then one
overall "N passed, N failed" line.

usage: tests/run-all.py [--host "PROGRAMS"] [--guest "KERNELS"]
                        [-- GUEST-TEST OPTIONS...]

--host: the host test programs (tests/run-host-tests.py runs them);
--guest: the guest kernels (tests/run-guest-tests.py runs them in every
configuration).  Each part's output is shown as it comes and its closing
"N passed, N failed" line is added into the total; a part that ends without
one counts as one failure.  Exit status 1 if anything failed.
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOSING = re.compile(r'^(\d+) passed, (\d+) failed\s*$')


def run_part(name, cmd):
    """Runs cmd, echoing its output; returns (passed, failed)."""
    print('== %s: %s' % (name, ' '.join(os.path.relpath(c, ROOT)
                                        if c.startswith(ROOT) else c
                                        for c in cmd[:2])))
    sys.stdout.flush()
    result = None
    try:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    except OSError as e:
        print('%s: cannot run: %s' % (name, e.strerror))
        return 0, 1
    for raw in p.stdout:
        line = raw.decode('utf-8', 'replace')
        sys.stdout.write(line)
        sys.stdout.flush()
        m = CLOSING.match(line.strip())
        if m:
            result = (int(m.group(1)), int(m.group(2)))
    rc = p.wait()
    if result is None:
        print('%s: ended (status %d) without "N passed, N failed"'
              % (name, rc))
        return 0, 1
    if rc != 0 and result[1] == 0:
        print('%s: exit status %d with no failed test counted' % (name, rc))
        return result[0], 1
    return result


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--host', default='', metavar='PROGRAMS')
    p.add_argument('--guest', default='', metavar='KERNELS')
    p.add_argument('--part', action='append', default=[],
                   metavar='NAME=COMMAND',
                   help='another test program with the same output format')
    p.add_argument('guest_opts', nargs='*', metavar='GUEST-TEST OPTIONS')
    opts = p.parse_args()

    start = time.monotonic()
    parts = []
    host = opts.host.split()
    if host:
        parts.append(('host tests', run_part('host tests', [
            sys.executable, os.path.join(ROOT, 'tests', 'run-host-tests.py')]
            + host)))
    for part in opts.part:
        name, _, cmd = part.partition('=')
        parts.append((name, run_part(name, shlex.split(cmd))))
    guest = opts.guest.split()
    parts.append(('guest tests', run_part('guest tests', [
        sys.executable, os.path.join(ROOT, 'tests', 'run-guest-tests.py')]
        + opts.guest_opts + guest)))

    passed = sum(r[0] for _, r in parts)
    failed = sum(r[1] for _, r in parts)
    print('== total: %s; %.0fs wall time' % (
        ', '.join('%s %d passed, %d failed' % (n, r[0], r[1])
                  for n, r in parts), time.monotonic() - start))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
