#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Mutation testing of mmu/: every mutant must make a host test fail.

usage: tests/host/mutants.py DIR [NAME...]

DIR holds the host tests built with -DUMBRA_MUTANTS (tests/host/mutant.mk).
Each MUTANT(name) point in mmu/ (mmu/mutant.h) is a bug put in on purpose,
switched on by UMBRA_MUTANT=name.  The generic host tests of its half of
the MMU run against it, shortest first, with short runs (STEPS), until one
fails: the mutant is killed (PASS).  A mutant that every test passes
survives: FAIL, with its name and how often its point was reached.  The
same tests first run with no mutant and must pass, or a kill proves
nothing.  Closes with "N passed, N failed".
"""
import os
import re
import subprocess
import sys
import time

SHADOW = ['test_shadow_states', 'test_shadow_dirty', 'test_shadow_large',
          'test_shadow_tlb', 'test_shadow_budget']
TDP = ['test_tdp', 'test_tdp_stress']

# name: (what the bug is, the tests of its half)
MUTANTS = {
    'shadow_invlpg_nop': ('INVLPG does nothing', SHADOW),
    'shadow_no_gstale': ('INVLPG does not mark unsync global pages stale',
                         SHADOW),
    'shadow_pge_no_sync': ('a CR4.PGE toggle does not sync or flush', SHADOW),
    'shadow_drop_no_flush': ('no TLB flush after dropping an SPTE', SHADOW),
    'shadow_wp_no_flush': ('no TLB flush after write-protecting a frame',
                           SHADOW),
    'shadow_cr3_no_sync': ('a CR3 load syncs no unsync page', SHADOW),
    'shadow_sync_skip_rw': ('sync skips an entry whose guest R/W changed',
                            SHADOW),
    'shadow_unlinked_write_ignored': ('an emulated write to an unlinked '
                                      'shadow page neither zaps nor updates '
                                      'it', SHADOW),
    'shadow_prefetch_no_us': ('a prefetched entry ignores the guest\'s U/S',
                              SHADOW),
    'shadow_no_unsync_up': ('an unsync page does not mark its parents',
                            SHADOW),
    'shadow_fast_on_table': ('a frame protected for a shadowed table keeps '
                             'SPTE_SH_W: the fast path may unprotect it',
                             SHADOW),
    'shadow_fast_no_mark': ('the fast path sets W without marking', SHADOW),
    'shadow_harvest_no_wp': ('a harvest does not write-protect again',
                             SHADOW),
    'shadow_invlpg_one': ('an INVLPG that syncs a global page flushes one '
                          'address only', SHADOW),
    'shadow_ad_unlogged': ('the A/D bits umbra\'s walk sets are not logged',
                           SHADOW),
    'shadow_emulated_unlogged': ('a write umbra emulates is not logged',
                                 SHADOW),
    'shadow_harvest_no_flush': ('a harvest does not flush after '
                                're-protecting', SHADOW),
    'shadow_no_remote_flush': ('an entry point of one vCPU flushes no other '
                               'vCPU after it took permission from an SPTE '
                               'or zapped or synced a page', SHADOW),
    'shadow_no_kick': ('the other vCPUs are flagged for a flush but not '
                       'kicked out of guest mode', SHADOW),
    'shadow_large_over_table': ('a 2 MiB SPTE is installed over a range '
                                'that holds a shadowed table', SHADOW),
    'shadow_recover_free_first': ('recovery zaps the 4 KiB table before '
                                  'the 2 MiB SPTE is in (the range '
                                  'unmapped meanwhile)', SHADOW),
    'shadow_no_recover': ('stopping dirty logging recovers no 2 MiB SPTE',
                          SHADOW),
    'tdp_lost_cmpxchg': ('a lost link cmpxchg is taken as won, not retried',
                         TDP),
    'tdp_auto_off_by_one': ('the AUTO re-protect rule one page off', TDP),
    'tdp_free_before_flush': ('detached tables freed before the flush and '
                              'the epoch sync', TDP),
}

# Short runs: 240,000 steps of the TLB model (its failures stop it after
# the configuration), 48,000 of the budget test.
ENV = {'FAILFAST': '1'}
STEPS = {'test_shadow_tlb': '20000', 'test_shadow_budget': '4000'}
TIMEOUT = 300
FAIL_LINE = re.compile(r'^(FAIL: .*|.*ERROR: AddressSanitizer.*|'
                       r'.*runtime error:.*)$')
REACHED = re.compile(r'^mutant \S+: point reached (\d+) times$')


def run(prog, mutant):
    """Run one program; return (failed, first failure line, reached)."""
    env = dict(os.environ, **ENV)
    env.pop('UMBRA_MUTANT', None)
    env.pop('STEPS', None)
    if os.path.basename(prog) in STEPS:
        env['STEPS'] = STEPS[os.path.basename(prog)]
    if mutant:
        env['UMBRA_MUTANT'] = mutant
    try:
        proc = subprocess.run([prog], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              errors='replace', timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return True, f'timed out after {TIMEOUT}s', None
    first, reached = None, None
    for line in proc.stdout.splitlines():
        m = REACHED.match(line)
        if m:
            reached = int(m.group(1))
        elif first is None and FAIL_LINE.match(line):
            first = line.strip()
    if proc.returncode and first is None:
        first = f'exit status {proc.returncode}'
    return proc.returncode != 0 or first is not None, first, reached


def control(d, progs):
    """The tests pass with no mutant; returns the number of failures."""
    bad = 0
    for p in progs:
        failed, first, _ = run(os.path.join(d, p), None)
        if failed:
            print(f'FAIL: mutant build, no mutant: {p} fails: {first}')
            bad += 1
        else:
            print(f'PASS: mutant build, no mutant: {p} passes')
    return bad


def try_mutant(d, name):
    """True if some test kills the mutant."""
    what, progs = MUTANTS[name]
    reached = 0
    start = time.monotonic()
    for p in progs:
        failed, first, r = run(os.path.join(d, p), name)
        reached = max(reached, r or 0)
        if failed:
            print(f'PASS: mutant {name} ({what}) killed by {p} '
                  f'({time.monotonic() - start:.1f}s): {first}')
            return True
    print(f'FAIL: mutant {name} ({what}) survived {", ".join(progs)}: '
          f'its point was reached {reached} times')
    return False


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    d, names = argv[0], argv[1:] or list(MUTANTS)
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        print(f'unknown mutant(s): {" ".join(unknown)}')
        return 2
    passed = failed = 0
    bad = control(d, SHADOW + TDP)
    passed += len(SHADOW + TDP) - bad
    failed += bad
    for n in names:
        if try_mutant(d, n):
            passed += 1
        else:
            failed += 1
        sys.stdout.flush()
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
