#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The README says what the code does.

usage: tests/test-docs.py [--no-run]

1. The option table in README.md lists the options of arch/x86/options.c
   (the table the parser and the debug shell's `help` use), in the same
   order and with the same defaults.
2. Every `tools/umbra-run` command in the README's "Running guests by
   hand" block runs and ends with status 0 (--no-run leaves this out).

One PASS:/FAIL: line per check, then "N passed, N failed".
"""

import os
import re
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTION = re.compile(r'\{\s*"(\w+)",\s*"([^"]*)",\s*"([^"]*)"', re.S)
ROW = re.compile(r'^\| `(\w+)=` \| (.*) \| (.*) \|$')

passed = failed = 0


def result(ok, name, detail=''):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print('%s: %s%s' % ('PASS' if ok else 'FAIL', name,
                        ': ' + detail if detail and not ok else ''))
    sys.stdout.flush()


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def code_options():
    text = read('arch/x86/options.c')
    table = text[text.index('static const struct option_desc options[]'):]
    table = table[:table.index('};')]
    return [(m.group(1), m.group(3)) for m in OPTION.finditer(table)]


def readme_options(readme):
    rows = []
    for line in readme.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), m.group(3).replace('`', '').strip()))
    return rows


def check_options(readme):
    code = code_options()
    doc = readme_options(readme)
    result(len(code) >= 5, 'options.c: the option table parses',
           '%d options found' % len(code))
    result([n for n, _ in doc] == [n for n, _ in code],
           'README option table: the same options in the same order',
           'README %s, options.c %s' % ([n for n, _ in doc],
                                        [n for n, _ in code]))
    for name, default in code:
        got = dict(doc).get(name)
        result(got == default, 'README option table: %s= defaults to %s'
               % (name, default), 'README says %r' % got)


def runner_commands(readme):
    block = readme[readme.index('## Running guests by hand'):]
    block = block[block.index('```sh') + 5:]
    block = block[:block.index('```')]
    cmds = []
    for line in block.splitlines():
        line = line.split('#', 1)[0].strip()
        if line.startswith('tools/umbra-run'):
            cmds.append(shlex.split(line))
    return cmds


def check_commands(readme):
    cmds = runner_commands(readme)
    result(len(cmds) >= 5, 'README: the umbra-run examples parse',
           '%d commands' % len(cmds))
    for cmd in cmds:
        argv = [sys.executable, os.path.join(ROOT, cmd[0]), '--timeout',
                '120'] + cmd[1:] if '--which-accel' not in cmd else \
            [sys.executable, os.path.join(ROOT, cmd[0])] + cmd[1:]
        p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        out = p.stdout.decode('utf-8', 'replace').splitlines()
        result(p.returncode == 0, 'README runs: ' + ' '.join(cmd),
               'status %d; last lines: %s' % (p.returncode,
                                               ' | '.join(out[-4:])))


def main():
    readme = read('README.md')
    check_options(readme)
    if '--no-run' not in sys.argv[1:]:
        check_commands(readme)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
