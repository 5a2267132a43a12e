# SPDX-License-Identifier: BSD-2-Clause
"""umbra in QEMU with its serial lines driven from Python: the machine of
tests/test-shell.py and tests/test-gdb.py.

Machine boots a kernel under umbra (TCG, SeaBIOS and GRUB; the medium from
tools/umbra-run --build-only) with COM1 on QEMU's stdin/stdout and, with
dedicated=True, COM2 on a unix socket.  Stream keeps everything one line
said and waits for patterns in it; tap() also hands each chunk's raw bytes
to a callback (a gdb connection, say).  The consoles are written to
build/test-logs/PREFIX-NAME-LINE.log on close().
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, 'build')
LOGS = os.path.join(BUILD, 'test-logs')

verbose = False


class Stream:
    """Everything read from one serial line, with waiting for patterns."""

    def __init__(self, name, read):
        self.name = name
        self.data = ''
        self.cond = threading.Condition()
        self.closed = False
        self.sink = None
        self.thread = threading.Thread(target=self._pump, args=(read,),
                                       daemon=True)
        self.thread.start()

    def _pump(self, read):
        while True:
            try:
                chunk = read()
            except OSError:
                chunk = b''
            with self.cond:
                if not chunk:
                    self.closed = True
                    self.cond.notify_all()
                    return
                if self.sink:
                    self.sink(chunk)
                text = chunk.decode('utf-8', 'replace').replace('\r', '')
                self.data += text
                if verbose:
                    sys.stderr.write(text)
                self.cond.notify_all()

    def wait(self, pattern, start, timeout):
        """Position just after the first match of pattern at or after start,
        or None on timeout or end of stream."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.data, start)
                if m:
                    return m.end()
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return None
                self.cond.wait(left)

    def tap(self, sink):
        """From now on also hand every chunk read to sink(bytes) (None:
        stop)."""
        with self.cond:
            self.sink = sink

    def mark(self):
        with self.cond:
            return len(self.data)


class Machine:
    """QEMU running umbra and the shell guest; COM1 on stdin/stdout, with
    dedicated=True COM2 on a unix socket as well."""

    def __init__(self, name, kernel, mmu='tdp', hv_args='', dedicated=False,
                 guest_args=(), runner_args=(), prefix='shell'):
        self.name = name
        self.prefix = prefix
        self.tmp = tempfile.mkdtemp(prefix='test-%s-' % prefix, dir=BUILD)
        medium = build_medium(mmu, hv_args, kernel, guest_args, runner_args)
        cmd = ['qemu-system-x86_64', '-machine', 'q35', '-m', '512',
               '-display', 'none', '-no-reboot', '-monitor', 'none',
               '-nic', 'none', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
               '-accel', 'tcg', '-cpu', 'qemu64,+svm,+npt',
               '-cdrom', medium, '-boot', 'd', '-serial', 'stdio']
        sock_path = os.path.join(self.tmp, 'com2')
        if dedicated:
            cmd += ['-serial', 'unix:%s,server=on,wait=off' % sock_path]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        out = self.proc.stdout
        self.com1 = Stream('com1', lambda: os.read(out.fileno(), 65536))
        self.com2 = None
        self.sock = None
        if dedicated:
            self.sock = connect(sock_path)
            s = self.sock
            self.com2 = Stream('com2', lambda: s.recv(65536))

    def send1(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send2(self, data):
        self.sock.sendall(data)

    def finish(self, timeout=30):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.sock:
            self.sock.close()
        os.makedirs(LOGS, exist_ok=True)
        for st in (self.com1, self.com2):
            if st:
                st.thread.join(2)
                with open(os.path.join(LOGS, '%s-%s-%s.log' %
                                       (self.prefix, self.name, st.name)),
                          'w') as f:
                    f.write(st.data)
        try:
            os.unlink(os.path.join(self.tmp, 'com2'))
        except OSError:
            pass
        os.rmdir(self.tmp)


def connect(path):
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.05)
    raise RuntimeError('cannot connect to QEMU socket %s' % path)


def build_medium(mmu, hv_args, kernel, guest_args, runner_args):
    cmd = [os.path.join(ROOT, 'tools', 'umbra-run'), '--build-only',
           '--firmware', 'bios', '--mmu', mmu] + list(runner_args)
    if hv_args:
        cmd += ['--hv-args', hv_args]
    cmd.append(kernel)
    cmd += list(guest_args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise RuntimeError('umbra-run --build-only failed: %s' % p.stderr)
    return p.stdout.strip().splitlines()[-1]


def umbra_run_module():
    """tools/umbra-run as a module, for its Bochs configuration."""
    import importlib.machinery
    import importlib.util
    path = os.path.join(ROOT, 'tools', 'umbra-run')
    loader = importlib.machinery.SourceFileLoader('umbra_run', path)
    spec = importlib.util.spec_from_loader('umbra_run', loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class BochsMachine:
    """Bochs running umbra and a kernel, with the bochsrc tools/umbra-run
    writes: COM1 is a TCP connection Bochs makes to us (send1() writes
    to it).  finish() returns None: Bochs has no exit port, the guest's
    closing line says how it ended."""

    def __init__(self, name, kernel, cpu, mmu='tdp', hv_args='',
                 guest_args=(), prefix='shell'):
        ur = umbra_run_module()
        self.name = name
        self.prefix = prefix
        self.tmp = tempfile.mkdtemp(prefix='test-%s-' % prefix, dir=BUILD)
        medium = build_medium(mmu, hv_args, kernel, guest_args,
                              ['--emulator', 'bochs', '--cpu', cpu])
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(('127.0.0.1', 0))
        srv.listen(1)
        opts = argparse.Namespace(memory=512, cpu=cpu, smp=1)
        rc = os.path.join(self.tmp, 'bochsrc')
        with open(rc, 'w') as f:
            f.write(ur.bochsrc(opts, medium, srv.getsockname()[1],
                               os.path.join(self.tmp, 'bochs.log')))
        with open(os.path.join(self.tmp, 'cmds'), 'w') as f:
            f.write('c\n')
        self.proc = subprocess.Popen([ur.BOCHS, '-q', '-f', rc, '-rc',
                                      os.path.join(self.tmp, 'cmds')],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.tmp)
        srv.settimeout(60)
        try:
            self.sock, _ = srv.accept()
        finally:
            srv.close()
        s = self.sock
        self.com1 = Stream('com1', lambda: s.recv(65536))

    def send1(self, data):
        self.sock.sendall(data)

    def finish(self, timeout=30):
        return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()
        self.com1.thread.join(2)
        os.makedirs(LOGS, exist_ok=True)
        with open(os.path.join(LOGS, '%s-%s-com1.log' %
                               (self.prefix, self.name)), 'w') as f:
            f.write(self.com1.data)
        shutil.rmtree(self.tmp, ignore_errors=True)
