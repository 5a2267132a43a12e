# SPDX-License-Identifier: BSD-2-Clause
"""The Python tests' one way to report: a "PASS: name" or "FAIL: name:
detail" line per check, and the closing "N passed, N failed" line that
tests/run-all.py adds up (CLOSING reads it back)."""

import re
import sys

CLOSING = re.compile(r'(\d+) passed, (\d+) failed\s*$')

passed = 0
failed = 0


def result(ok, name, detail=''):
    """Count and print one check; detail says why it failed.  Returns ok."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print('%s: %s%s' % ('PASS' if ok else 'FAIL', name,
                        ': ' + detail if detail and not ok else ''))
    sys.stdout.flush()
    return ok


def summary():
    """Print the closing line; the exit status: 1 if a check failed."""
    print('%d passed, %d failed' % (passed, failed))
    sys.stdout.flush()
    return 1 if failed else 0
