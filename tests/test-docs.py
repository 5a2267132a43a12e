#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The README says what the code does.

usage: tests/test-docs.py [--no-run]

1. The option table in README.md lists the options of core/options.c
   (the table the parser and the debug shell's `help` use), in the same
   order and with the same defaults.
2. Every `tools/umbra-run` command in the README's "Running guests by
   hand" block runs and ends with status 0, and so does every one in the
   ```sh blocks of docs/*.md that needs no terminal or debugger
   (--interactive, -S) and elides nothing ("..."); a `selftest=` one ends
   in umbra's panic, status 125 (--no-run leaves all this out).

One PASS:/FAIL: line per check, then "N passed, N failed".
"""

import os
import re
import shlex
import subprocess
import sys

from checks import result, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTION = re.compile(r'\{\s*"(\w+)",\s*"([^"]*)",\s*"([^"]*)"', re.S)
ROW = re.compile(r'^\| `(\w+)=` \| (.*) \| (.*) \|$')



def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


def code_options():
    text = read('core/options.c')
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


def doc_commands():
    """(file, argv) of the runnable umbra-run commands in docs/*.md."""
    found = []
    for name in sorted(os.listdir(os.path.join(ROOT, 'docs'))):
        if not name.endswith('.md'):
            continue
        text = read(os.path.join('docs', name))
        for block in re.findall(r'```sh\n(.*?)```', text, re.S):
            block = block.replace('\\\n', ' ')
            for line in block.splitlines():
                line = line.split('  #', 1)[0].strip()
                if not line.startswith('tools/umbra-run') or '...' in line:
                    continue
                argv = shlex.split(line)
                if '--interactive' in argv or '--qemu-arg=-S' in argv:
                    continue
                found.append(('docs/' + name, argv))
    return found


def run_command(where, cmd, want):
    argv = [sys.executable, os.path.join(ROOT, cmd[0])] + cmd[1:]
    if '--which-accel' not in cmd and '--timeout' not in cmd:
        argv[2:2] = ['--timeout', '180']
    p = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    out = p.stdout.decode('utf-8', 'replace').splitlines()
    result(p.returncode == want, '%s runs: %s' % (where, ' '.join(cmd)),
           'status %d (want %d); last lines: %s' % (
               p.returncode, want, ' | '.join(out[-4:])))


def check_doc_commands():
    cmds = doc_commands()
    result(len(cmds) >= 3, 'docs: the umbra-run examples parse',
           '%d commands' % len(cmds))
    for where, cmd in cmds:
        run_command(where, cmd,
                    125 if any('selftest=' in a for a in cmd) else 0)


def check_commands(readme):
    cmds = runner_commands(readme)
    result(len(cmds) >= 5, 'README: the umbra-run examples parse',
           '%d commands' % len(cmds))
    for cmd in cmds:
        run_command('README', cmd, 0)


def main():
    readme = read('README.md')
    check_options(readme)
    if '--no-run' not in sys.argv[1:]:
        check_commands(readme)
        check_doc_commands()
    return summary()


if __name__ == '__main__':
    sys.exit(main())
