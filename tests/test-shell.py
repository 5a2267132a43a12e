#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Test umbra's serial debug shell (docs/debugging.md, "The debug shell").

usage: tests/test-shell.py [-v] [--keep-logs]

Boots build/tests/guest/interactive/shell.elf under umbra in QEMU (TCG, SeaBIOS and
GRUB: the medium comes from tools/umbra-run --build-only), types on the
serial console from here and checks what comes back:

  tdp       shared COM1: Ctrl-] Ctrl-], every command (help, stats, regs,
            walk of a mapped and an unmapped address, mmu, log debug, log
            info, dirty start, a bad command, continue), a line to the
            guest, the shell again for dirty show and dirty stop, continue,
            then "done": the guest must exit with status 0
  shadow    the same with --mmu shadow (the shadow MMU's dirty log)
  com2      umbra on its own port (serial=com2, QEMU's second serial on a
            unix socket): the shell there, the guest's line on COM1; the
            guest polls with HLT (interrupts off), which umbra intercepts
            only in this mode
  reboot    `reboot` resets the machine (QEMU -no-reboot exits)
  linux     the Linux test guest (build/linux/vmlinuz, initrd.img from
            tests/linux/build-image.sh; left out when missing) at its busybox
            prompt: stats, regs, walk of its RIP, dirty logging across a
            command, and its shell still answers after each continue
  linux-shadow  the same under --mmu shadow (7 s)

One "PASS: name" or "FAIL: name: why" line per check, then
"N passed, N failed"; exit status 1 if any failed.  The consoles are kept in
build/test-logs/shell-*.log.
"""

import argparse
import os
import re
import sys

import serialmachine
from checks import result, summary
from serialmachine import BUILD, ROOT, Machine

KERNEL = os.path.join(BUILD, 'tests', 'guest', 'interactive', 'shell.elf')
ESC = b'\x1d\x1d'
PROMPT = 'umbra> '
LINUX_KERNEL = os.path.join(BUILD, 'linux', 'vmlinuz')
LINUX_INITRD = os.path.join(BUILD, 'linux', 'initrd.img')
BOOT_TIMEOUT = 60
LINUX_BOOT_TIMEOUT = 120
LINUX_PROMPT = r':/# '		# busybox's, then maybe ESC [6n
CMD_TIMEOUT = 20


class Shell:
    """The debug shell on one stream."""

    def __init__(self, stream, send, name):
        self.st = stream
        self.send = send
        self.name = name

    def open(self):
        at = self.st.mark()
        self.send(ESC)
        end = self.st.wait(re.escape(PROMPT), at, CMD_TIMEOUT)
        result(end is not None,
               '%s: Ctrl-] Ctrl-] opens the shell' % self.name,
               'no prompt after the escape sequence')
        return end is not None

    def run(self, line, timeout=CMD_TIMEOUT):
        """Output of one command (None if no prompt came back)."""
        at = self.st.mark()
        self.send(line.encode() + b'\r')
        end = self.st.wait(re.escape(PROMPT), at, timeout)
        if end is None:
            return None
        return self.st.data[at:end]

    def check(self, line, patterns, what=None, absent=()):
        out = self.run(line)
        name = '%s: %s' % (self.name, what or line)
        if out is None:
            result(False, name, 'no prompt after "%s"' % line)
            return None
        for p in patterns:
            if not re.search(p, out, re.M):
                result(False,
                       name,
                       'no match for /%s/ in %r' % (p, out[-300:]))
                return out
        for p in absent:
            if re.search(p, out, re.M):
                result(False, name, '/%s/ in %r' % (p, out[-300:]))
                return out
        result(True, name)
        return out

    def resume(self, guest=None):
        """continue; on a shared port (guest: Machine) the two escape bytes
        reached the guest too: a newline makes them a line it echoes."""
        at = self.st.mark()
        self.send(b'continue\r')
        end = self.st.wait(r'shell: the guest resumes', at, CMD_TIMEOUT)
        result(end is not None, '%s: continue' % self.name,
               'no "the guest resumes"')
        if guest is None:
            return
        at = guest.com1.mark()
        guest.send1(b'\n')
        end = guest.com1.wait(r'echo: \^\]\^\]\n', at, CMD_TIMEOUT)
        result(end is not None,
               '%s: the guest read the escape bytes (echo: ^]^])' % self.name,
               'no "echo: ^]^]" line')


def wait_ready(m, name):
    end = m.com1.wait(r'info: ready', 0, BOOT_TIMEOUT)
    result(end is not None, '%s: guest boots and reads its console' % name,
           'no "info: ready" from the guest within %ds' % BOOT_TIMEOUT)
    return end is not None


def guest_line(m, name, text, send):
    at = m.com1.mark()
    send(text.encode() + b'\n')
    end = m.com1.wait(r'echo: .*' + re.escape(text), at, CMD_TIMEOUT)
    result(end is not None,
           '%s: the guest resumes unharmed (echoes "%s")' % (name, text),
           'no echo of "%s"' % text)


def guest_done(m, name, send):
    at = m.com1.mark()
    send(b'done\n')
    end = m.com1.wait(r'1 passed, 0 failed', at, CMD_TIMEOUT)
    rc = m.finish()
    result(end is not None and rc == 1,
           '%s: guest gets "done" and exits with status 0' % name,
           'closing line %s, QEMU exit status %s (1 = guest status 0)' %
           ('seen' if end else 'missing', rc))


COMMANDS = [
    ('help', [r'walk\s+VA', r'dirty\s+start\|stop\|show', r'reboot',
              r'serial=:', r'default com1', r'mmu=:', r'oos=:',
              r'loglevel=:'], 'help lists commands and boot options'),
    ('stats', [r'exit statistics', r'^umbra: info:\s+(io|cpuid|hlt)\s+\d+',
               r'total exits: \d+'], 'stats'),
    ('regs', [r'rip=[0-9a-f]{16}', r'cr0=0*8', r'cr3=', r'efer=',
              r'cpl 0, 32-bit paging'], 'regs'),
]


def walk_checks(sh, mmu):
    host = r'npt L1\[ *\d+\] at .*\n.*npt: -> hpa' if mmu == 'tdp' else \
        r'shadow L1\[ *\d+\] at .*\n.*shadow: -> hpa'
    sh.check('walk 40000000', [r'guest 32-bit paging',
                               r'guest PDE\s+at gpa', r'guest PTE\s+at gpa',
                               r'guest: va 40000000 -> gpa [0-9a-f]+ \(4K '
                               r'page, writable, supervisor',
                               host], 'walk of a mapped address')
    host = r'tdp: no guest-physical address' if mmu == 'tdp' else \
        r'shadow: not present at level'
    sh.check('walk 80000000', [r'guest PDE\s+at gpa .*\(not present\)',
                               r'does not translate: #PF error code 0 ',
                               host], 'walk of an unmapped address')
    sh.check('walk 0x100000', [r'guest: va 100000 -> gpa 100000 \(4M'],
             'walk of a 4 MiB page')
    sh.check('walk xyz', [r'error: walk: expected a hexadecimal'],
             'walk of a bad address')


def session(name, sh, m, send_guest, mmu):
    if not sh.open():
        return
    for line, pats, what in COMMANDS:
        sh.check(line, pats, what)
    walk_checks(sh, mmu)
    if mmu == 'tdp':
        sh.check('mmu', [r'tdp \(npt\): \d+ table pages live',
                         r'leaves mapped 4K/2M/1G', r'dirty logging off'])
    else:
        sh.check('mmu', [r'shadow: \d+ pages in use',
                         r'by level 4/3/2/1: \d+/\d+/\d+/\d+',
                         r'unsync now \d+', r'global \d+',
                         r'dirty log: \d+ marks'])
    sh.check('log debug', [r'log level debug'])
    sh.check('log', [r'log level debug'], 'log shows the level')
    sh.check('log info', [r'log level info'])
    sh.check('log loud', [r'error: log: .loud.: expected error, warn, info'],
             'log with a bad level')
    sh.check('dirty start', [r'dirty: logging guest-physical 0-[0-9a-f]+ '
                             r'\(\d+ pages\)'])
    sh.check('dirty show', [r'dirty: 0 pages \(0 KiB\) in 0\.000 s of '
                            r'guest time, 0 pages/s; 0 since start'],
             'dirty show while paused (nothing written)')
    sh.check('dirty', [r'error: dirty: expected start, stop or show'],
             'dirty without a word')
    sh.check('frobnicate 1 2', [r'error: shell: unknown command .frobnicate.'],
             'a bad command gets a one-line error')
    sh.resume(m)
    guest_line(m, name, 'hello', send_guest)
    if not sh.open():
        return
    out = sh.check('dirty show', [r'dirty: (\d+) pages \(\d+ KiB\) in '
                                  r'\d+\.\d+ s of guest time, \d+ '
                                  r'pages/s'], 'dirty show after a line')
    if out:
        n = re.search(r'dirty: (\d+) pages', out)
        result(n is not None and int(n.group(1)) >= 16,
               '%s: the guest\'s writes are counted dirty' % name,
               'dirty count %s, expected at least 16 (the guest writes 16 '
               'pages per line)' % (n.group(1) if n else '?'))
    sh.check('dirty stop', [r'dirty: logging stopped'])
    if mmu == 'tdp':
        sh.check('mmu', [r'dirty logging off'], 'mmu after dirty stop')
    sh.resume(m)


def shared(name, mmu):
    m = Machine(name, KERNEL, mmu=mmu)
    try:
        if not wait_ready(m, name):
            return
        sh = Shell(m.com1, m.send1, name)
        session(name, sh, m, m.send1, mmu)
        guest_done(m, name, m.send1)
    finally:
        m.close()


def dedicated(name):
    m = Machine(name, KERNEL, hv_args='serial=com2', dedicated=True,
                guest_args=['hlt'])
    try:
        if not wait_ready(m, name):
            return
        sh = Shell(m.com2, m.send2, name)
        if not sh.open():
            return
        for line, pats, what in COMMANDS:
            sh.check(line, pats, what)
        sh.check('help', [r'serial=:.*\n.*now com2'], 'help shows serial=com2')
        sh.check('stats', [r'^umbra: info:\s+hlt\s+\d+'],
                 'HLT exits with a dedicated port')
        walk_checks(sh, 'tdp')
        sh.check('bogus', [r'error: shell: unknown command .bogus.'],
                 'a bad command gets a one-line error')
        result('umbra> ' not in m.com1.data and 'Ctrl-]' not in m.com1.data,
               '%s: nothing of the shell on the guest\'s COM1' % name,
               'shell output on COM1')
        sh.resume()
        guest_line(m, name, 'hello', m.send1)
        guest_done(m, name, m.send1)
    finally:
        m.close()


def reboot(name):
    m = Machine(name, KERNEL)
    try:
        if not wait_ready(m, name):
            return
        sh = Shell(m.com1, m.send1, name)
        if not sh.open():
            return
        at = m.com1.mark()
        m.send1(b'reboot\r')
        rc = m.finish(CMD_TIMEOUT)
        said = m.com1.wait(r'reboot: reset through port cf9', at, 1)
        result(rc == 0 and said is not None and 'halt:' not in m.com1.data[at:],
               '%s: reboot resets the machine' % name,
               'QEMU exit status %s (0 = reset with -no-reboot), message %s'
               % (rc, 'seen' if said else 'missing'))
    finally:
        m.close()


def linux_command(m, name, text, expect):
    at = m.com1.mark()
    m.send1(text.encode() + b'\n')
    end = m.com1.wait(expect, at, CMD_TIMEOUT)
    result(end is not None,
           '%s: the guest resumes unharmed (%s)' % (name, text),
           'no /%s/ after "%s"' % (expect, text))


def linux(name, mmu='tdp'):
    """Linux's 8250 driver reads the shared COM1 on receive interrupts."""
    m = Machine(name, LINUX_KERNEL, mmu=mmu,
                guest_args=['console=ttyS0', 'quiet'],
                runner_args=['--initrd', LINUX_INITRD])
    try:
        end = m.com1.wait(LINUX_PROMPT, 0, LINUX_BOOT_TIMEOUT)
        result(end is not None, '%s: Linux boots to its shell' % name,
               'no shell prompt within %ds' % LINUX_BOOT_TIMEOUT)
        if end is None:
            return
        sh = Shell(m.com1, m.send1, name)
        if not sh.open():
            return
        sh.check('stats', [r'exit statistics', r'total exits: \d+'])
        out = sh.check('regs', [r'rip=ffffffff[0-9a-f]{8}', r'cpl 0, 4-level '
                                r'paging'])
        rip = re.search(r'rip=([0-9a-f]{16})', out or '')
        if rip:
            sh.check('walk %s' % rip.group(1),
                     [r'guest PML4E at gpa', r'guest: va ffffffff[0-9a-f]+ '
                      r'-> gpa', r'npt: -> hpa' if mmu == 'tdp' else
                      r'shadow: -> hpa'], 'walk of the guest\'s RIP')
        sh.check('dirty start', [r'dirty: logging guest-physical'])
        sh.resume()
        linux_command(m, name, '', LINUX_PROMPT)	# the ^]^] line
        linux_command(m, name, 'echo hi-$((1+2))', r'hi-3')
        if not sh.open():
            return
        out = sh.check('dirty show', [r'dirty: \d+ pages .* pages/s'],
                       'dirty show after a command')
        n = re.search(r'dirty: (\d+) pages', out or '')
        result(n is not None and int(n.group(1)) > 0,
               '%s: Linux\'s writes are counted dirty' % name,
               'dirty count %s' % (n.group(1) if n else '?'))
        sh.check('dirty stop', [r'dirty: logging stopped'])
        sh.resume()
        linux_command(m, name, '', LINUX_PROMPT)
        linux_command(m, name, 'echo bye-$((2+3))', r'bye-5')
    finally:
        m.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('-v', '--verbose', action='store_true',
                   help='copy the consoles to standard error')
    p.add_argument('runs', nargs='*', help='which runs: tdp, shadow, com2, '
                   'reboot, linux, linux-shadow (default all; linux only if '
                   '%s exists)'
                   % os.path.relpath(LINUX_KERNEL, ROOT))
    opts = p.parse_args()
    if not opts.runs:
        opts.runs = ['tdp', 'shadow', 'com2', 'reboot']
        if os.path.exists(LINUX_KERNEL) and os.path.exists(LINUX_INITRD):
            opts.runs += ['linux', 'linux-shadow']
        else:
            print('info: no %s: the linux run is left out'
                  % os.path.relpath(LINUX_KERNEL, ROOT))
    serialmachine.verbose = opts.verbose
    if not os.path.exists(KERNEL):
        print('FAIL: setup: %s missing: make all guest-kernels' % KERNEL)
        print('0 passed, 1 failed')
        return 1
    runs = {'tdp': lambda: shared('tdp', 'tdp'),
            'linux': lambda: linux('linux'),
            'linux-shadow': lambda: linux('linux-shadow', 'shadow'),
            'shadow': lambda: shared('shadow', 'shadow'),
            'com2': lambda: dedicated('com2'),
            'reboot': lambda: reboot('reboot')}
    for r in opts.runs:
        try:
            runs[r]()
        except (RuntimeError, OSError) as e:
            result(False, '%s: run' % r, str(e))
    return summary()


if __name__ == '__main__':
    sys.exit(main())
