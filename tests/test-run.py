#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""`make run` as a user meets it: umbra and Linux on a terminal.

usage: tests/test-run.py [--firmware bios|uefi] [--mmu tdp|shadow ...]

Runs `make run FIRMWARE=... MMU=...` on a pseudo-terminal, waits for the
busybox shell of the Linux guest, types a command and checks its answer,
then leaves QEMU with Ctrl-A X, as the banner says, and checks that make
ends.  Default: SeaBIOS with nested paging and with shadow paging (the
quickest boots).  One PASS:/FAIL: line per check, then "N passed, N
failed".
"""

import argparse
import os
import pty
import re
import select
import signal
import sys
import time

from checks import result, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOT_TIMEOUT = 240



class Terminal:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(ROOT)
            os.execvp(argv[0], argv)
        self.text = ''

    def expect(self, pattern, timeout):
        """Reads until pattern matches the text since the last match;
        returns the match or None."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.text)
            if m:
                self.text = self.text[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b''
                if not data:
                    return rx.search(self.text)
                self.text += data.decode('utf-8', 'replace')

    def send(self, data):
        os.write(self.fd, data)

    def wait(self, timeout):
        """Exit status of make, or None if it did not end in time."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self.expect(r'\Z.', 0.2)	# drain the terminal
        return None

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def try_run(firmware, mmu):
    name = 'make run FIRMWARE=%s MMU=%s' % (firmware, mmu)
    t = Terminal(['make', '--no-print-directory', 'run',
                  'FIRMWARE=' + firmware, 'MMU=' + mmu])
    try:
        m = t.expect(r'leave with Ctrl-A X', 120)
        result(m is not None, name + ': says how to leave',
               'no "leave with Ctrl-A X" in: %r' % t.text[-300:])
        m = t.expect(r'umbra: info: entering the guest', BOOT_TIMEOUT)
        result(m is not None, name + ': umbra enters the guest',
               'last output: %r' % t.text[-300:])
        m = t.expect(r'busybox shell on the console.*\n(.|\n)*?[#$] ',
                     BOOT_TIMEOUT)
        result(m is not None, name + ': a busybox shell prompt',
               'last output: %r' % t.text[-300:])
        if m is None:
            return
        time.sleep(0.5)
        t.send(b'echo answer-$((6 * 7)); uname -s\r')
        m = t.expect(r'answer-42\s+Linux', 60)
        result(m is not None, name + ': the shell answers',
               'last output: %r' % t.text[-300:])
        t.send(b'\x01x')		# Ctrl-A X: QEMU's mon:stdio quits
        status = t.wait(60)
        result(status is not None, name + ': Ctrl-A X ends it',
               'make still running after Ctrl-A X' if status is None
               else '')
    finally:
        t.kill()


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--firmware', default='bios', choices=('bios', 'uefi'))
    p.add_argument('--mmu', action='append', choices=('tdp', 'shadow'))
    opts = p.parse_args()
    for mmu in opts.mmu or ['tdp', 'shadow']:
        try_run(opts.firmware, mmu)
    return summary()


if __name__ == '__main__':
    sys.exit(main())
