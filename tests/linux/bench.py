#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Linux workloads, bare against umbra, in deterministic QEMU TCG.

usage: tests/linux/bench.py [--firmware bios|uefi] [--shadow] [--umbra FILE]
                            [--write FILE] [-v]

One QEMU run per workload and configuration (tools/umbra-run, 1 vCPU,
-icount shift=0,sleep=off -rtc clock=vm, so that guest time is the same run
after run; 1 ns of guest time is one instruction of the emulated CPU, which
runs umbra's exit handlers too, while a world switch costs only one).  The
guest is the Linux test guest (tests/linux/build-image.sh) with
umbra.bench=WORKLOAD on its command line; /init (tests/linux/init.c)
times the workload with CLOCK_MONOTONIC:

    fork      fork, the child _exit()s, the parent waits (lmbench lat_proc
              fork)
    mmap      mmap 4 MiB anonymous, write every page, munmap
    mprotect  1 MiB touched once; per op: PROT_READ, PROT_READ|PROT_WRITE,
              write one page

Exits per operation under umbra: (umbra's total exits in the run minus those
of a run of the empty workload "none" in the same configuration) /
operations: runs are deterministic, so the difference is the workload's.
Port I/O exits are left out of both: they are the console's (umbra takes
the guest's accesses to COM1's data port when it shares COM1 for its debug
shell), and the lines the workloads print differ in length.

The kernel boots with nokaslr and norandmaps: the same layout of kernel and
user address spaces in every run.  Without norandmaps the mmap workload's
4 MiB lands at a random alignment, and its guest time moved by 5 % between
runs of the same configuration (two values: presumably whether it can get
2 MiB pages); with it, runs agree within a few ns per operation (the
console's timing is the host's, so interrupts can still move a little).

Configurations: bare (no hypervisor) and umbra with nested paging; with
--shadow also umbra with shadow paging (mmu=shadow), with and without
out-of-sync pages (oos=off).

Prints a Markdown table; --write FILE also writes it, with this command,
into FILE.  Exit status 1 if any run failed.
"""

import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
RUNNER = os.path.join(ROOT, 'tools', 'umbra-run')
KERNEL = os.path.join(ROOT, 'build', 'linux', 'vmlinuz')
INITRD = os.path.join(ROOT, 'build', 'linux', 'initrd.img')
LOGDIR = os.path.join(ROOT, 'build', 'bench-logs')

WORKLOADS = [
    ('fork', 'fork + exit + wait'),
    ('mmap', 'mmap, touch, munmap 4 MiB'),
    ('mprotect', 'mprotect churn (1 MiB RO/RW + write)'),
]
# name, column title, runner options
CONFIGS = [
    ('bare', 'bare', ['--no-hv']),
    ('npt', 'umbra NPT', ['--mmu', 'tdp']),
]
SHADOW_CONFIGS = [
    ('shadow', 'umbra shadow', ['--mmu', 'shadow']),
    ('nooos', 'umbra shadow, no OOS', ['--mmu', 'shadow',
                                        '--hv-args', 'oos=off']),
]
DETERMINISTIC = ['--qemu-arg=-icount', '--qemu-arg=shift=0,sleep=off',
                 '--qemu-arg=-rtc', '--qemu-arg=clock=vm']

RESULT = re.compile(r'bench: (\w+): (\d+) ops, (\d+) ns total, (\d+) ns/op')
EXITS = re.compile(r'umbra: info: total exits: (\d+)')
IO_EXITS = re.compile(r'umbra: info:   io +(\d+)')
COST = re.compile(r'umbra: info:   cost ([a-z][a-z0-9-]*) +(\d+) exits (\d+) '
                  r'tsc')


def run(opts, workload, config):
    name, _, copts = config
    log = os.path.join(LOGDIR, 'linux-%s-%s.log' % (workload, name))
    cmd = ([sys.executable, RUNNER, '--firmware', opts.firmware,
            '--timeout', '600', '--initrd', INITRD] +
           (['--umbra', opts.umbra] if opts.umbra else []) +
           copts + DETERMINISTIC +
           [KERNEL, 'console=ttyS0', 'quiet', 'nokaslr', 'norandmaps',
            'umbra.bench=' + workload])
    start = time.monotonic()
    with open(log, 'wb') as f:
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f,
                            stderr=subprocess.STDOUT).returncode
    wall = time.monotonic() - start
    with open(log, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    r = {'rc': rc, 'wall': wall, 'log': log, 'ops': None, 'ns': None,
         'exits': None, 'cost': {}}
    for m in COST.finditer(text):
        r['cost'][m.group(1)] = (int(m.group(2)), int(m.group(3)))
    m = RESULT.search(text)
    if m and m.group(1) == workload:
        r['ops'], r['ns'] = int(m.group(2)), int(m.group(3))
    m = EXITS.search(text)
    if m:
        io = IO_EXITS.search(text)
        r['exits'] = int(m.group(1)) - (int(io.group(1)) if io else 0)
    if opts.verbose:
        sys.stderr.write('bench: %s %s: status %d, %.1fs wall, %s\n'
                         % (workload, name, rc, wall, m.group(0) if m else
                            'no exit statistics'))
    return r


def qemu_version():
    try:
        out = subprocess.run(['qemu-system-x86_64', '--version'],
                             capture_output=True, text=True).stdout
        m = re.search(r'version (\d+\.\d+)', out)
        return 'QEMU ' + m.group(1) if m else 'QEMU'
    except OSError:
        return 'QEMU'


def fmt_us(ns, ops):
    return '%.1f µs' % (ns / ops / 1000.0)


def cost_table(res, base_cost, hv, workloads):
    """umbra's TSC (instructions) per exit by class, minus the empty run"""
    head = ['workload', 'exit class'] + [c[1] for c in hv]
    rows = []
    for w, _ in workloads:
        diff = {}
        for c in hv:
            b = base_cost.get(c[0], {})
            diff[c[0]] = {k: (v[0] - b.get(k, (0, 0))[0],
                              v[1] - b.get(k, (0, 0))[1])
                          for k, v in res[w, c[0]]['cost'].items()}
        keys = sorted(set(k for d in diff.values() for k, v in d.items()
                          if v[0] > 0 and k != 'io'))
        for k in keys:
            row = [w, k]
            for c in hv:
                e, t = diff[c[0]].get(k, (0, 0))
                ops = res[w, c[0]]['ops']
                row.append('%.0f (%.2f)' % (t / e, e / ops)
                           if e > 0 and ops else '-')
            rows.append(row)
    if not rows:
        return ''
    return ('\numbra\'s instructions per exit by class (TSC from the back '
            'end\'s return to the next entry, the empty run\'s subtracted), '
            'exits per op in brackets:\n\n| ' + ' | '.join(head) + ' |\n|' +
            '---|' * len(head) + '\n' +
            ''.join('| ' + ' | '.join(r) + ' |\n' for r in rows))


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--firmware', choices=('bios', 'uefi'), default='bios')
    p.add_argument('--shadow', action='store_true',
                   help='add shadow paging, with and without OOS')
    p.add_argument('--umbra', metavar='FILE',
                   help='umbra image (default: build/umbra.elf)')
    p.add_argument('--configs', metavar='LIST',
                   help='comma-separated subset of bare,npt,shadow,nooos')
    p.add_argument('--workloads', metavar='LIST',
                   help='comma-separated subset of fork,mmap,mprotect')
    p.add_argument('--write', metavar='FILE')
    p.add_argument('-v', '--verbose', action='store_true')
    opts = p.parse_args()

    for f in (KERNEL, INITRD):
        if not os.path.exists(f):
            sys.stderr.write('bench: %s missing: run tests/linux/build-image.sh '
                             '(make linux-image)\n' % os.path.relpath(f))
            return 1
    os.makedirs(LOGDIR, exist_ok=True)
    configs = CONFIGS + (SHADOW_CONFIGS if opts.shadow else [])
    if opts.configs:
        configs = [c for c in CONFIGS + SHADOW_CONFIGS
                   if c[0] in opts.configs.split(',')]
    workloads = [w for w in WORKLOADS if not opts.workloads or
                 w[0] in opts.workloads.split(',')]
    hv = [c for c in configs if c[0] != 'bare']
    failed = []
    base, base_cost = {}, {}
    for c in hv:
        b = run(opts, 'none', c)
        base[c[0]] = b['exits']
        base_cost[c[0]] = b['cost']
        if b['rc'] != 0 or b['exits'] is None:
            failed.append('none/%s: see %s' % (c[0], os.path.relpath(b['log'])))
    res = {}
    for w, _ in workloads:
        for c in configs:
            r = run(opts, w, c)
            res[w, c[0]] = r
            if r['rc'] != 0 or r['ns'] is None:
                failed.append('%s/%s: status %d, see %s' % (
                    w, c[0], r['rc'], os.path.relpath(r['log'])))

    head = ['workload', 'ops'] + ['%s, guest time/op' % c[1] for c in configs]
    ref = configs[0]
    head += ['%s / %s' % (c[1], ref[1]) for c in configs[1:]]
    head += ['%s exits/op' % c[1] for c in hv]
    rows = []
    for w, title in workloads:
        bare = res[w, ref[0]]
        row = [title, str(bare['ops'] or '?')]
        for c in configs:
            r = res[w, c[0]]
            row.append(fmt_us(r['ns'], r['ops']) if r['ns'] else 'failed')
        for c in configs[1:]:
            r = res[w, c[0]]
            row.append('%.3f' % (r['ns'] / bare['ns'])
                       if r['ns'] and bare['ns'] else '-')
        for c in hv:
            r = res[w, c[0]]
            b = base.get(c[0])
            if r['exits'] is not None and b is not None and r['ops']:
                row.append('%.2f' % ((r['exits'] - b) / r['ops']))
            else:
                row.append('-')
        rows.append(row)
    table = ['| ' + ' | '.join(head) + ' |',
             '|' + '---|' * len(head)]
    table += ['| ' + ' | '.join(row) + ' |' for row in rows]
    out = '\n'.join(table) + '\n'
    out += cost_table(res, base_cost, hv, workloads)
    sys.stdout.write(out)
    note = ('\n%s TCG, 1 vCPU, -icount shift=0,sleep=off -rtc clock=vm '
            '(guest time = guest instructions), %s firmware, SVM, kernel '
            'with nokaslr norandmaps. Exits/op: (total exits - those of '
            'the empty run: '
            '%s) / ops, port I/O (the console) left out.\n'
            % (qemu_version(),
               'SeaBIOS' if opts.firmware == 'bios' else 'OVMF',
               ', '.join('%s %s' % (c[1], base.get(c[0]))
                         for c in hv)))
    sys.stdout.write(note)
    for f in failed:
        sys.stdout.write('FAILED: %s\n' % f)
    if opts.write:
        with open(opts.write, 'w') as f:
            f.write('# Linux workloads: bare against umbra\n\n'
                    'Made by `tests/linux/bench.py --firmware %s%s --write %s`'
                    '.\n\n' % (opts.firmware, ' --shadow' if opts.shadow
                                else '', opts.write))
            f.write(out + note)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
