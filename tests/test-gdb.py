#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Drive Debian's gdb against umbra's GDB stub (docs/gdb.md).

usage: tests/test-gdb.py [-v] [RUN...]

Boots build/tests/guest/interactive/gdbt.elf (tests/guest/gdbt.c, built
with symbols) under umbra in QEMU (TCG with SVM, SeaBIOS and GRUB) with
gdb=wait, so that umbra waits on COM1 for gdb before the guest's first
instruction.  This script stands between gdb (on a loopback TCP port) and
QEMU's COM1 (its stdin and stdout), then runs gdb in batch mode:
attach, read the registers, software breakpoints at gdb_here and
gdb_there, continue to the first, read the original bytes under the
breakpoint, read and change the variable gdb_var, read memory through the
guest's page tables (a 4 KiB alias at 0x40000000, a hole at 0x80000000
that must give an error), step ten instructions, continue to the second
breakpoint, read gdb_sum there, then stop in long mode (a breakpoint
at gdb_long, cs 0x18, stepi 2, r9 and gdb_long_var holding a 64-bit
value), detach.  The guest then runs on and checks
that gdb's write arrived, that no INT3 byte is left, that its own INT3
still reaches its own handler and that its loop's sum is right: the run
passes only if gdb saw what it should and the guest's own line says
"N passed, 0 failed".

Runs (all by default): tdp and shadow (QEMU TCG with SVM, NPT and
shadow paging), vmx and vmx-shadow (Bochs with VMX, EPT and shadow
paging; COM1 on a TCP connection, no exit port).

One "PASS: name" or "FAIL: name: why" line per check, then
"N passed, N failed"; exit status 1 if any failed.  Consoles and gdb's
output are kept in build/test-logs/gdb-*.log.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

import serialmachine
from checks import result, summary
from serialmachine import BUILD, LOGS, BochsMachine, Machine

KERNEL = os.path.join(BUILD, 'tests', 'guest', 'interactive', 'gdbt.elf')
WAITING = r'gdb: waiting for gdb on port'
BOOT_TIMEOUT = 60
GDB_TIMEOUT = 120
DONE_TIMEOUT = 60
ALIAS_VA = 0x40000000
ALIAS_MAGIC = 0x600dcafe
HOLE_VA = 0x80000000
NOT_RAM_PA = 0xfec00000		# the I/O APIC's registers
CONSOLE_LINE = 'info: the guest prints while gdb is attached'
LOOP_N = 1000
LONG_MAGIC = 0x1122334455667788


class Proxy:
    """gdb's TCP connection <-> COM1 of the machine (COM2 with com2)."""

    def __init__(self, m, com2=False):
        self.m = m
        self.line = m.com2 if com2 else m.com1
        self.send = m.send2 if com2 else m.send1
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(('127.0.0.1', 0))
        self.srv.listen(1)
        self.port = self.srv.getsockname()[1]
        self.conn = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _to_gdb(self, data):
        try:
            self.conn.sendall(data)
        except OSError:
            pass

    def _run(self):
        self.srv.settimeout(GDB_TIMEOUT)
        try:
            self.conn, _ = self.srv.accept()
        except OSError:
            return
        self.line.tap(self._to_gdb)
        while True:
            try:
                data = self.conn.recv(4096)
            except OSError:
                data = b''
            if not data:
                break
            try:
                self.send(data)
            except (OSError, ValueError):
                break
        self.line.tap(None)

    def close(self):
        self.srv.close()
        if self.conn:
            self.conn.close()


def gdb_commands(port, spin, var_pa, umbra_pa):
    """gdb's -ex list; each answer is found after its 'echo @NAME@' mark.
    spin: the guest spins after the watchpoint until gdb releases it.
    var_pa: gdb_var's guest-physical address; umbra_pa: umbra's memory."""
    steps = [
        ('regs', 'info registers rip'),
        ('bp1', 'break *gdb_here'),
        ('bp2', 'hbreak *gdb_there'),
        ('cont1', 'continue'),
        ('rip1', 'print/x $pc == (long)&gdb_here'),
        ('orig', 'x/1xb gdb_here'),
        ('var', 'print gdb_var'),
        ('set', 'set var gdb_var = 42'),
        ('var2', 'print gdb_var'),
        ('phys', 'monitor phys 0x%x 4' % var_pa),
        ('physumbra', 'monitor phys 0x%x 4' % umbra_pa),
        ('physhole', 'monitor phys 0x%x 4' % NOT_RAM_PA),
        ('help', 'monitor help'),
        ('alias', 'x/1xw 0x%x' % ALIAS_VA),
        ('hole', 'x/1xw 0x%x' % HOLE_VA),
        ('step', 'stepi 10'),
        ('rip2', 'print $pc != (long)&gdb_here'),
        ('watch', 'watch gdb_watched'),
        ('contw', 'continue'),
        ('delw', 'delete 3'),
    ] + ([
        ('spin', 'continue'),
        ('release', 'set var gdb_release = 1'),
    ] if spin else []) + [
        ('cont2', 'continue'),
        ('rip3', 'print/x $pc == (long)&gdb_there'),
        ('sum', 'print gdb_sum'),
        ('bp64', 'break *gdb_long'),
        ('cont64', 'continue'),
        ('rip64', 'print/x $pc == (long)&gdb_long'),
        ('cs64', 'print/x $cs'),
        ('step64', 'stepi 2'),
        ('r9', 'print/x $r9'),
        ('var64', 'print/x gdb_long_var'),
        ('detach', 'detach'),
    ]
    args = ['-ex', 'set pagination off', '-ex', 'set confirm off',
            '-ex', 'set architecture i386:x86-64',
            '-ex', 'target remote 127.0.0.1:%d' % port]
    for name, cmd in steps:
        args += ['-ex', 'echo @%s@\\n' % name, '-ex', cmd]
    args += ['-ex', 'echo @end@\\n']
    return args


def answers(out):
    """{name: text gdb printed after that mark}"""
    parts = re.split(r'^@(\w+)@$', out, flags=re.M)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def gdb_checks(name, a, out, spin, com2):
    def want(key, pattern, what):
        text = a.get(key)
        result(text is not None and re.search(pattern, text) is not None,
               '%s: %s' % (name, what), 'gdb said %r' % (text,))

    want('regs', r'rip\s+0x[0-9a-f]+', 'gdb attaches and reads rip')
    want('cont1', r'Breakpoint 1', 'continue stops at the breakpoint at '
         'gdb_here')
    want('rip1', r'= 0x1$', 'the pc is gdb_here')
    want('orig', r'<gdb_here>:\s+0x(?!cc$)[0-9a-f]{2}$',
         'memory under a breakpoint reads as the original byte')
    want('var', r'= 41$', 'reads gdb_var (41)')
    want('var2', r'= 42$', 'writes gdb_var (42)')
    want('phys', r'^[0-9a-f]{16}: 2a 00 00 00$',
         'monitor phys reads gdb_var by its guest-physical address')
    want('physumbra', r"phys: the range is umbra's own memory",
         'monitor phys refuses umbra\'s memory')
    want('physhole', r'phys: the range is not guest RAM',
         'monitor phys refuses what is not guest RAM (0x%x)' % NOT_RAM_PA)
    want('help', r'monitor phys ADDR LEN', 'monitor help')
    if not com2:
        want('contw', re.escape(CONSOLE_LINE), 'the guest\'s console output '
             'reaches gdb (O packets) while it runs')
    want('alias', r':\s+0x%08x$' % ALIAS_MAGIC,
         'reads 0x%x through the guest\'s page tables' % ALIAS_VA)
    want('hole', r'Cannot access memory',
         'an unmapped address (0x%x) is an error' % HOLE_VA)
    want('rip2', r'= 1$', 'stepi 10 moves the pc')
    want('watch', r'Hardware watchpoint 3: gdb_watched',
         'a hardware watchpoint on gdb_watched (Z2)')
    want('contw', r'Hardware watchpoint 3: gdb_watched\s+Old value = 0\s+'
         r'New value = 7', 'the watchpoint fires with old and new value')
    if spin:
        want('spin', r'Program received signal SIGINT',
             'Ctrl-C stops a guest spinning with interrupts off')
    want('cont2', r'Breakpoint 2', 'continue stops at the hardware '
         'breakpoint at gdb_there (Z1)')
    want('rip3', r'= 0x1$', 'the pc is gdb_there')
    want('sum', r'= %d$' % (LOOP_N * (LOOP_N - 1) // 2),
         'gdb_sum is the loop\'s sum')
    want('cont64', r'Breakpoint 4', 'continue stops at a breakpoint in '
         'long mode (gdb_long)')
    want('rip64', r'= 0x1$', 'the pc is gdb_long')
    want('cs64', r'= 0x18$', 'cs is the 64-bit code segment there')
    want('r9', r'= 0x%x$' % LONG_MAGIC, 'after stepi 2 in long mode, r9 '
         'holds the 64-bit value')
    want('var64', r'= 0x%x$' % LONG_MAGIC, 'reads gdb_long_var through '
         'the 4-level page tables')
    want('detach', r'Detaching|detached|Inferior 1 .*detached',
         'detach')


# name: (emulator, MMU mode, gdb's port).  Ctrl-C of a guest that spins
# with interrupts off needs an exit source of umbra's own: the
# VMX-preemption timer; SVM has none (docs/gdb.md), so only the Bochs
# runs spin.  com2: gdb=com2,wait, gdb on QEMU's second serial line, the
# guest's console on COM1 as without gdb.
RUNS = {'tdp': ('qemu', 'tdp', 'com1'), 'shadow': ('qemu', 'shadow', 'com2'),
        'vmx': ('bochs', 'tdp', 'com1'), 'vmx-shadow': ('bochs', 'shadow', 'com1')}
SPINNING = 'spinning with interrupts off'


def ctrl_c(m, start, send):
    # on the shared console the guest's line comes hex-encoded (O packets)
    pattern = '%s|%s' % (SPINNING, SPINNING.encode().hex())
    if m.com1.wait(pattern, start, GDB_TIMEOUT) is not None:
        time.sleep(1)	# the guest is in its loop
        send(b'\x03')


def symbol(name):
    out = subprocess.run(['nm', KERNEL], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    m = re.search(r'^([0-9a-f]+) \w %s$' % name, out, flags=re.M)
    return int(m.group(1), 16) if m else 0


def run(name, gdb):
    emulator, mmu, port = RUNS[name]
    spin = emulator == 'bochs'
    com2 = port == 'com2'
    guest_args = ['gdb', 'spin'] if spin else ['gdb']
    if com2:
        guest_args.append('com2hidden')
    if emulator == 'qemu':
        m = Machine(name, KERNEL, mmu=mmu, dedicated=com2,
                    hv_args='gdb=com2,wait' if com2 else 'gdb=wait',
                    guest_args=guest_args, prefix='gdb')
    else:
        m = BochsMachine(name, KERNEL, 'corei7_skylake_x', mmu=mmu,
                         hv_args='gdb=wait', guest_args=guest_args,
                         prefix='gdb')
    proxy = None
    try:
        end = m.com1.wait(WAITING, 0, BOOT_TIMEOUT)
        result(end is not None, '%s: umbra waits for gdb' % name,
               'no "%s" line within %ds' % (WAITING, BOOT_TIMEOUT))
        if end is None:
            return
        mem = re.search(r"umbra's memory: ([0-9a-f]+)-", m.com1.data)
        proxy = Proxy(m, com2)
        if spin:	# gdb's Ctrl-C, as its `interrupt` would send it
            threading.Thread(target=ctrl_c, args=(m, end, proxy.send),
                             daemon=True).start()
        cmd = [gdb, '-nx', '-batch', KERNEL] + gdb_commands(
            proxy.port, spin, symbol('gdb_var'),
            int(mem.group(1), 16) if mem else 0)
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT,
                               universal_newlines=True, timeout=GDB_TIMEOUT)
            out = p.stdout
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b'').decode('utf-8', 'replace') \
                if isinstance(e.stdout, bytes) else (e.stdout or '')
            out += '\n(gdb killed after %ds)' % GDB_TIMEOUT
        os.makedirs(LOGS, exist_ok=True)
        with open(os.path.join(LOGS, 'gdb-%s-gdb.log' % name), 'w') as f:
            f.write(out)
        if serialmachine.verbose:
            sys.stderr.write(out)
        gdb_checks(name, answers(out), out, spin, com2)
        done = m.com1.wait(r'\d+ passed, \d+ failed', end, DONE_TIMEOUT)
        line = None
        if done is not None:
            line = re.findall(r'(\d+) passed, (\d+) failed',
                              m.com1.data[end:done])[-1]
        result(line is not None and line[1] == '0' and int(line[0]) > 0,
               '%s: the guest runs on after detach and its checks pass' % name,
               'guest said %s' % ('%s passed, %s failed' % line if line
                                  else 'nothing within %ds' % DONE_TIMEOUT))
        for f in re.findall(r'FAIL: [^\n]*', m.com1.data[end:]):
            print('   guest: %s' % f)
        if com2:
            result(CONSOLE_LINE in m.com1.data[end:] and
                   '$S05' not in m.com1.data,
                   '%s: the guest\'s console stays on COM1 while gdb is '
                   'on COM2' % name, 'no %r on COM1, or a gdb packet there'
                   % CONSOLE_LINE)
            result(WAITING not in m.com2.data and
                   re.search(r'PASS: gdb\'s own port \(COM2\) is hidden',
                             m.com1.data[end:]) is not None,
                   '%s: COM2 speaks only gdb\'s protocol and the guest '
                   'does not see it' % name, 'COM1 said no such PASS line')
        if emulator == 'qemu':	# Bochs has no exit port
            status = m.finish()
            result(status == 1, '%s: the guest exits with status 0' % name,
                   'QEMU exit status %s (1 = guest status 0)' % status)
    finally:
        if proxy:
            proxy.close()
        m.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('-v', '--verbose', action='store_true',
                   help='copy the console and gdb\'s output to standard error')
    p.add_argument('runs', nargs='*', help='%s (default all)' % ', '.join(RUNS))
    opts = p.parse_args()
    serialmachine.verbose = opts.verbose
    gdb = shutil.which('gdb')
    if not gdb:
        print('FAIL: setup: no gdb on PATH (apt-get install gdb; make setup)')
        print('0 passed, 1 failed')
        return 1
    if not os.path.exists(KERNEL):
        print('FAIL: setup: %s missing: make all guest-kernels' % KERNEL)
        print('0 passed, 1 failed')
        return 1
    for r in opts.runs or list(RUNS):
        if r not in RUNS:
            result(False, '%s: run' % r, 'no such run (%s)' % ', '.join(RUNS))
            continue
        try:
            run(r, gdb)
        except (RuntimeError, OSError) as e:
            result(False, '%s: run' % r, str(e))
    return summary()


if __name__ == '__main__':
    sys.exit(main())
