#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The MMU benchmark guest, bare against umbra, in deterministic QEMU TCG.

usage: tests/bench/guest-bench.py [--fork N] [--churn N] [--umbra FILE]
                                  [--firmware bios|uefi] [-v]

Runs build/tests/guest/bench/bench.elf (tests/guest/bench.c: a fork-like
address-space copy with copy-on-write breaks, and page-table churn) in one
QEMU session per configuration: bare, umbra with nested paging, umbra with
shadow paging, and shadow paging without out-of-sync pages (oos=off).
QEMU runs 1 vCPU with -icount shift=0,sleep=off -rtc clock=vm: the guest's
TSC then counts instructions of the emulated CPU (umbra's exit handlers
included, a world switch as one), the same run after run.

Guest TSC cycles per round come from that one session per configuration.
umbra prints its exit counters only when the guest ends, so exits per round
come from two more sessions of each umbra configuration, one without the
churn rounds and one without either workload (the setup runs in all
three): runs are deterministic, so

    exits(churn) = total(fork, churn) - total(fork, no churn)
    exits(fork)  = total(fork, no churn) - total(nothing)

and the same for each exit reason and for umbra's count of emulated guest
page-table writes.  A second table breaks the exits down.  Port I/O exits
are left out: they are the console's (umbra takes the guest's accesses to
COM1's data port when it shares COM1 for its debug shell), and the result
lines differ in length between the sessions.

Prints Markdown; exit status 1 if a run failed or the guest's data checks
did not hold.  Benchmarks are not tests: nothing else is judged.
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
KERNEL = os.path.join(ROOT, 'build', 'tests', 'guest', 'bench', 'bench.elf')
LOGDIR = os.path.join(ROOT, 'build', 'bench-logs')

WORKLOADS = [
    ('fork', 'fork: copy 4 MiB of page tables, 64 COW breaks, tear down'),
    ('churn', 'churn: CR3 switch, 32 PTEs rewritten + INVLPG + read'),
]
# name, column title, runner options
CONFIGS = [
    ('bare', 'bare', ['--no-hv']),
    ('npt', 'NPT', ['--mmu', 'tdp']),
    ('shadow', 'shadow', ['--mmu', 'shadow']),
    ('nooos', 'shadow no OOS', ['--mmu', 'shadow', '--hv-args', 'oos=off']),
]
DETERMINISTIC = ['--qemu-arg=-icount', '--qemu-arg=shift=0,sleep=off',
                 '--qemu-arg=-rtc', '--qemu-arg=clock=vm']

RESULT = re.compile(r'bench: (\w+): (\d+) rounds, (\d+) tsc total, \d+ '
                    r'tsc/round, \d+ faults/round, (ok|BAD DATA)')
TOTAL = re.compile(r'umbra: info: total exits: (\d+)')
REASON = re.compile(r'umbra: info:   ([a-z][a-z0-9-]*) +(\d+)\s*$', re.M)
PTE_WRITES = re.compile(r'pte writes (\d+)')
COST = re.compile(r'umbra: info:   cost ([a-z][a-z0-9-]*) +(\d+) exits (\d+) '
                  r'tsc')


def run(opts, config, fork, churn):
    name, _, copts = config
    log = os.path.join(LOGDIR, 'guest-%s-f%d-c%d.log' % (name, fork, churn))
    cmd = [sys.executable, RUNNER, '--firmware', opts.firmware,
           '--timeout', '900']
    if opts.umbra:
        cmd += ['--umbra', opts.umbra]
    cmd += copts + DETERMINISTIC + [KERNEL, 'fork=%d' % fork,
                                    'churn=%d' % churn]
    start = time.monotonic()
    with open(log, 'wb') as f:
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f,
                            stderr=subprocess.STDOUT).returncode
    with open(log, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    r = {'rc': rc, 'log': log, 'tsc': {}, 'ok': True, 'exits': None,
         'reasons': {}, 'cost': {}}
    for m in COST.finditer(text):
        r['cost'][m.group(1)] = (int(m.group(2)), int(m.group(3)))
    for m in RESULT.finditer(text):
        r['tsc'][m.group(1)] = (int(m.group(2)), int(m.group(3)))
        r['ok'] &= m.group(4) == 'ok'
    m = TOTAL.search(text)
    if m:
        r['reasons'] = {k: int(v) for k, v in REASON.findall(text)}
        # the console's: left out (see the module's description)
        r['exits'] = int(m.group(1)) - r['reasons'].pop('io', 0)
        m = PTE_WRITES.search(text)
        r['reasons']['emulated PTE writes'] = int(m.group(1)) if m else 0
    if opts.verbose:
        sys.stderr.write('guest-bench: %s fork=%d churn=%d: status %d, '
                         '%.1fs wall, %s exits\n'
                         % (name, fork, churn, rc, time.monotonic() - start,
                            r['exits']))
    return r


def cost_diff(a, b):
    """(exits, tsc) per class of session a minus session b"""
    return {k: (v[0] - b['cost'].get(k, (0, 0))[0],
                v[1] - b['cost'].get(k, (0, 0))[1])
            for k, v in a['cost'].items()}


def cost_table(costs, names, titles, rounds):
    head = ['workload', 'exit class'] + [titles[n] for n in names]
    rows = []
    for w, _ in WORKLOADS:
        keys = set()
        for n in names:
            keys |= set(k for k, v in costs.get(n, {}).get(w, {}).items()
                        if v[0] > 0 and k != 'io')
        for k in sorted(keys):
            row = [w, k]
            for n in names:
                e, c = costs.get(n, {}).get(w, {}).get(k, (0, 0))
                row.append('%.0f (%.2f)' % (c / e, e / rounds[w])
                           if e > 0 else '-')
            rows.append(row)
    return table(head, rows)


def table(head, rows):
    out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    out += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(out) + '\n'


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--fork', type=int, default=200, metavar='N',
                   help='fork rounds (default 200)')
    p.add_argument('--churn', type=int, default=2000, metavar='N',
                   help='churn rounds (default 2000)')
    p.add_argument('--firmware', choices=('bios', 'uefi'), default='bios')
    p.add_argument('--umbra', metavar='FILE',
                   help='umbra image (default: build/umbra.elf)')
    p.add_argument('--configs', metavar='LIST',
                   help='comma-separated subset of %s (bare always runs)'
                   % ','.join(c[0] for c in CONFIGS[1:]))
    p.add_argument('-v', '--verbose', action='store_true')
    opts = p.parse_args()
    configs = CONFIGS
    if opts.configs:
        want = set(opts.configs.split(','))
        configs = [c for c in CONFIGS if c[0] == 'bare' or c[0] in want]

    if not os.path.exists(KERNEL):
        sys.stderr.write('guest-bench: %s missing: make guest-bench\n'
                         % os.path.relpath(KERNEL))
        return 1
    os.makedirs(LOGDIR, exist_ok=True)
    rounds = {'fork': opts.fork, 'churn': opts.churn}
    failed = []
    main_run, exits, costs = {}, {}, {}
    for c in configs:
        r = main_run[c[0]] = run(opts, c, opts.fork, opts.churn)
        if r['rc'] != 0 or not r['ok'] or len(r['tsc']) != 2:
            failed.append('%s: status %d%s, see %s' % (
                c[0], r['rc'], '' if r['ok'] else ', bad data',
                os.path.relpath(r['log'])))
        if c[0] == 'bare':
            continue
        f_only = run(opts, c, opts.fork, 0)
        empty = run(opts, c, 0, 0)
        if None in (r['exits'], f_only['exits'], empty['exits']):
            failed.append('%s: no exit statistics' % c[0])
            continue
        if f_only['tsc'].get('fork') != r['tsc'].get('fork'):
            failed.append('%s: fork differs between sessions (%s, %s): not '
                          'deterministic?' % (c[0], r['tsc'].get('fork'),
                                              f_only['tsc'].get('fork')))
        keys = set(r['reasons']) | set(f_only['reasons'])
        keys.add('total')
        r['reasons']['total'] = r['exits']
        f_only['reasons']['total'] = f_only['exits']
        empty['reasons']['total'] = empty['exits']
        costs[c[0]] = {
            'fork': cost_diff(f_only, empty), 'churn': cost_diff(r, f_only)}
        exits[c[0]] = {
            'fork': {k: f_only['reasons'].get(k, 0) -
                     empty['reasons'].get(k, 0) for k in keys},
            'churn': {k: r['reasons'].get(k, 0) -
                      f_only['reasons'].get(k, 0) for k in keys},
        }

    def tsc(c, w):
        t = main_run.get(c, {}).get('tsc', {}).get(w)
        return t[1] / t[0] if t and t[0] else None

    names = [c[0] for c in configs]
    titles = dict((c[0], c[1]) for c in configs)
    head = ['workload', 'rounds'] + ['%s TSC/op' % titles[n] for n in names]
    head += ['%s / bare' % titles[n] for n in names[1:]]
    head += ['shadow / NPT', 'shadow no OOS / NPT', 'shadow / shadow no OOS']
    head += ['%s exits/op' % titles[n] for n in names[1:]]
    rows = []
    for w, title in WORKLOADS:
        row = [title, str(rounds[w])]
        row += ['%.0f' % tsc(n, w) if tsc(n, w) else 'failed' for n in names]

        def ratio(a, b):
            return ('%.2f' % (tsc(a, w) / tsc(b, w))
                    if tsc(a, w) and tsc(b, w) else '-')
        row += [ratio(n, 'bare') for n in names[1:]]
        row += [ratio('shadow', 'npt'), ratio('nooos', 'npt'),
                ratio('shadow', 'nooos')]
        for n in names[1:]:
            e = exits.get(n, {}).get(w)
            row.append('%.1f' % (e['total'] / rounds[w])
                       if e is not None and rounds[w] else '-')
        rows.append(row)
    out = table(head, rows)

    # exits per round by reason, for the reasons that occur in a workload
    head2 = ['workload', 'exit reason'] + [titles[n] for n in names[1:]]
    rows2 = []
    for w, title in WORKLOADS:
        keys = set()
        for n in names[1:]:
            keys |= set(k for k, v in exits.get(n, {}).get(w, {}).items()
                        if v and k != 'total')
        for k in sorted(keys):
            rows2.append([w, k] + ['%.2f' % (exits[n][w].get(k, 0) /
                                              rounds[w])
                                   if n in exits and rounds[w] else '-'
                                   for n in names[1:]])
    out += ('\nExits per round by reason ("emulated PTE writes" is umbra\'s '
            'count of guest page-table writes it emulated, each one '
            'page-fault exit):\n\n' + table(head2, rows2))
    out += ('\numbra\'s instructions per exit by class (the TSC from the '
            'back end\'s return to the next entry, summed per class by umbra; '
            'pf-fill: a #PF that filled a shadow entry, pf-reflect: a guest '
            '#PF handed back, pf-emulate: a page-table write, cr3-nosync / '
            'cr3-sync: a CR3 load with no / some unsync pages), exits per '
            'round in brackets:\n\n' + cost_table(costs, names[1:], titles,
                                                rounds))
    out += ('\nQEMU TCG, 1 vCPU, -icount shift=0,sleep=off -rtc clock=vm '
            '(TSC = guest instructions, umbra\'s included), %s firmware, '
            'SVM. TSC/op from one session per configuration; exits/op from '
            'the differences to sessions without churn and without either '
            'workload, port I/O (the console) left out.\n'
            % ('SeaBIOS' if opts.firmware == 'bios' else 'OVMF'))
    sys.stdout.write(out)
    for f in failed:
        sys.stdout.write('FAILED: %s\n' % f)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
