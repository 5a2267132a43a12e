#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Test the USB image (tools/mkusb, `make usb`, docs/usb.md).

usage: tests/test-usb.py [--keep] [--filter WORD] [-v]

Builds images in build/usb-test/ with tools/mkusb (the test guest
build/tests/guest/hello.elf, and the Linux guest of build/linux/ when it is
there), checks their partitions and files, and boots them in QEMU (TCG,
-cpu qemu64,+svm,+npt) as a USB disk on an xHCI controller, under OVMF and
under SeaBIOS, one menu entry per run: the entry is chosen as docs/usb.md
says, by writing umbra_default and umbra_timeout into boot/grub/grubenv
with grub-editenv and mcopy.  Each run must end in the guest's debug exit
with status 0, through umbra (its banner names the way in and the entry's
options) or, for the "bare" entry, without it.  Also runs `make usb` into
build/usb-test/default.img and checks that it holds the default guest.

One PASS:/FAIL: line per check, then "N passed, N failed"; exit status 1
when anything failed.  Needs `make all guest-kernels` first (`make test`
does it).
"""

import argparse
import os
import re
import selectors
import shutil
import subprocess
import sys
import time

from checks import result, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, 'build')
OUT = os.path.join(BUILD, 'usb-test')
MKUSB = os.path.join(ROOT, 'tools', 'mkusb')
HELLO = os.path.join(BUILD, 'tests', 'guest', 'hello.elf')
LINUX = os.path.join(BUILD, 'linux', 'vmlinuz')
LINUX_INITRD = os.path.join(BUILD, 'linux', 'initrd.img')
OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
ESP = '@@2M'		# the ESP's offset in the image, for mtools
TIMEOUT = 60

BANNER = re.compile(r"umbra: info: umbra \S+, booted by (.*?), "
                    r"command line '(.*)'")
UMBRA_LINE = re.compile(r'^umbra: ', re.M)
HALT = re.compile(r'umbra: halt: *(.*)')

verbose = False


def sh(cmd, env=None):
    """(status, output) of a command; a missing program is status 127."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env)
    except OSError as e:
        return 127, '%s: %s' % (cmd[0], e.strerror)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def tool_env():
    env = dict(os.environ)
    env['PATH'] = env.get('PATH', '') + ':/usr/sbin:/sbin'
    return env


def tail(text, n=15):
    return '\n'.join('    | ' + l for l in text.splitlines()[-n:])


# --- static checks ------------------------------------------------------------

def check_layout(img, name, want_files):
    rc, out = sh(['sgdisk', '-p', img], tool_env())
    parts = re.findall(r'^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+(\w{4})\s',
                       out, re.M)
    result(rc == 0 and parts[:2] == [('1', '2048', '4095', 'EF02'),
                                     ('2', '4096', parts[1][2], 'EF00')]
           if len(parts) >= 2 else False,
           '%s: GPT with a BIOS boot partition and an EFI system partition'
           % name, '' if rc == 0 and len(parts) >= 2 else tail(out))
    with open(img, 'rb') as f:
        mbr = f.read(512)
    boot = open('/usr/lib/grub/i386-pc/boot.img', 'rb').read()
    ok = (mbr[0x5c:0x64] == (2048).to_bytes(8, 'little') and
          mbr[0x66:0x68] == b'\x90\x90' and mbr[0x68:0x1b8] ==
          boot[0x68:0x1b8] and mbr[0x1c2] == 0xee and mbr[0x1fe:] ==
          b'\x55\xaa')
    result(ok, '%s: MBR holds GRUB boot.img pointing at LBA 2048, '
           'protective partition kept' % name)
    rc, out = sh(['mdir', '-/', '-b', '-i', img + ESP, '::'], tool_env())
    have = {l.strip().lstrip(':/').lower() for l in out.splitlines()}
    missing = [f for f in want_files if f.lower() not in have]
    result(rc == 0 and not missing, '%s: ESP files' % name,
           'missing %s' % ', '.join(missing) if missing else
           '%d files' % len(want_files))


# --- boots ------------------------------------------------------------------

def set_entry(img, entry):
    """The commands of docs/usb.md: a grubenv choosing the entry."""
    env = os.path.join(OUT, 'grubenv')
    for cmd in (['grub-editenv', env, 'create'],
                ['grub-editenv', env, 'set', 'umbra_default=' + entry,
                 'umbra_timeout=0'],
                ['mcopy', '-o', '-i', img + ESP, env,
                 '::/boot/grub/grubenv']):
        rc, out = sh(cmd, tool_env())
        if rc != 0:
            return '%s failed:\n%s' % (' '.join(cmd), tail(out))
    return None


def qemu(img, firmware, log):
    """Boots img as a USB disk; returns (QEMU's status or None, console
    text, seconds)."""
    cmd = ['qemu-system-x86_64', '-machine', 'q35', '-m', '512',
           '-display', 'none', '-no-reboot', '-monitor', 'none',
           '-serial', 'stdio', '-nic', 'none',
           '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
           '-accel', 'tcg', '-cpu', 'qemu64,+svm,+npt']
    if firmware == 'uefi':
        vars_copy = os.path.join(OUT, 'OVMF_VARS.fd')
        shutil.copyfile(OVMF_VARS, vars_copy)
        cmd += ['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=' +
                OVMF_CODE,
                '-drive', 'if=pflash,format=raw,unit=1,file=' + vars_copy]
    cmd += ['-device', 'qemu-xhci',
            '-drive', 'if=none,id=usb,format=raw,file=%s,snapshot=on' % img,
            '-device', 'usb-storage,drive=usb']
    if verbose:
        print('    $ ' + ' '.join(cmd))
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    data = b''
    status = None
    try:
        while True:
            left = start + TIMEOUT - time.monotonic()
            if left <= 0:
                break
            if not sel.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                status = proc.wait()
                break
            data += chunk
            if HALT.search(data.decode('utf-8', 'replace')):
                break		# umbra spins after its last line
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        sel.close()
        proc.stdout.close()
    text = data.decode('utf-8', 'replace').replace('\r', '')
    with open(log, 'w') as f:
        f.write(text)
    return status, text, time.monotonic() - start


def boot(img, name, firmware, entry, expect_hv, expect_cmdline, guest_ok):
    """One run: the entry must reach the guest's debug exit 0."""
    title = '%s: %s, entry %s' % (name, 'OVMF' if firmware == 'uefi'
                                  else 'SeaBIOS', entry)
    err = set_entry(img, entry)
    if err:
        return result(False, title, err)
    log = os.path.join(OUT, '%s-%s-%s.log' % (name.replace(' ', '-'),
                                              firmware, entry))
    status, text, secs = qemu(img, firmware, log)
    m = BANNER.search(text)
    problems = []
    if status is None:
        halt = HALT.search(text)
        problems.append('umbra: halt: %s' % halt.group(1) if halt else
                        'timeout after %ds' % TIMEOUT)
    elif status != 1:
        problems.append('QEMU status %d (guest exit status %s)' % (
            status, (status - 1) >> 1 if status & 1 else 'none'))
    # umbra's own lines start with "umbra: "; the guest's "info: under
    # umbra: no" is not one
    if expect_hv is None and UMBRA_LINE.search(text):
        problems.append('umbra ran in the "bare" entry')
    if expect_hv is not None:
        if not m:
            problems.append('no umbra banner')
        elif m.group(1) != expect_hv:
            problems.append('booted by %s, expected %s' % (m.group(1),
                                                           expect_hv))
        elif m.group(2) != expect_cmdline:
            problems.append("umbra's command line '%s', expected '%s'"
                            % (m.group(2), expect_cmdline))
    if not re.search(guest_ok, text):
        problems.append('no "%s" from the guest' % guest_ok)
    detail = '%.1fs' % secs
    if problems:
        detail += '; ' + '; '.join(problems) + '; log %s\n%s' % (
            os.path.relpath(log, ROOT), tail(text))
    return result(not problems, title, detail)


def mkusb(img, kernel, extra):
    rc, out = sh([sys.executable, MKUSB, '-o', img] + extra + [kernel])
    return result(rc == 0, 'mkusb %s' % os.path.relpath(img, ROOT),
                  '' if rc == 0 else tail(out))


def make_cmd():
    """make, with tools/usb.mk named while the Makefile does not include
    it."""
    cmd = ['make', '--no-print-directory', '-s']
    with open(os.path.join(ROOT, 'Makefile')) as f:
        if 'tools/usb.mk' not in f.read():
            cmd += ['-f', 'Makefile', '-f', 'tools/usb.mk']
    return cmd


def make_usb():
    """`make usb` into build/usb-test/default.img, its files checked."""
    img = os.path.join(OUT, 'default.img')
    rc, out = sh(make_cmd() + ['usb', 'USB_IMAGE=' + img])
    if not result(rc == 0 and os.path.exists(img), 'make usb',
                  '' if rc == 0 else tail(out)):
        return
    linux = os.path.exists(LINUX) and os.path.exists(LINUX_INITRD)
    guest = ['boot/vmlinuz', 'boot/initrd.img'] if linux else \
        ['boot/hello.elf']
    check_layout(img, 'default.img (guest %s)' % ('linux' if linux
                                                  else 'hello'),
                 ['EFI/BOOT/BOOTX64.EFI', 'EFI/umbra/umbra.efi',
                  'EFI/umbra/umbra.cfg', 'boot/grub/grub.cfg',
                  'boot/grub/grubenv', 'boot/umbra.elf'] + guest)
    rc, cfg = sh(['mtype', '-i', img + ESP, '::/boot/grub/grub.cfg'],
                 tool_env())
    ids = re.findall(r'--id (\S+)', cfg)
    want = ['tdp', 'shadow', 'shadow-nooos', 'serial', 'efi', 'firmware',
            'bare']
    result(ids == want, 'default.img: menu entries %s' % ' '.join(want),
           'found %s' % ' '.join(ids))
    # docs/usb.md: writing the image with dd (to a file here)
    copy = os.path.join(OUT, 'stick.img')
    rc, out = sh(['dd', 'if=' + img, 'of=' + copy, 'bs=4M',
                  'conv=fsync', 'status=progress'])
    same = rc == 0 and os.path.getsize(copy) == os.path.getsize(img)
    os.unlink(copy) if os.path.exists(copy) else None
    result(same, 'dd if=IMAGE of=FILE bs=4M conv=fsync copies the image',
           '' if rc == 0 else tail(out))


def own_guest(img):
    """docs/usb.md, "Your own guest": mcopy a kernel onto the image, add a
    menu entry to grub.cfg (mtype, edit, mcopy -o), make it the default
    (grubenv) and boot it."""
    mine = os.path.join(OUT, 'mykernel.elf')
    shutil.copyfile(os.path.join(BUILD, 'tests', 'guest', 'cpuid.elf'), mine)
    cfg = os.path.join(OUT, 'grub.cfg')
    steps = [['mcopy', '-i', img + ESP, mine, '::/boot/'],
             ['mtype', '-i', img + ESP, '::/boot/grub/grub.cfg']]
    for cmd in steps:
        rc, out = sh(cmd, tool_env())
        if rc != 0:
            return result(False, 'own guest: ' + ' '.join(cmd), tail(out))
    with open(cfg, 'w') as f:
        f.write(out + '\nmenuentry "umbra: my kernel" --id mine {\n'
                '\tmultiboot2 /boot/umbra.elf loglevel=info\n'
                '\tmodule2 /boot/mykernel.elf mykernel.elf\n}\n')
    rc, out = sh(['mcopy', '-o', '-i', img + ESP, cfg,
                  '::/boot/grub/grub.cfg'], tool_env())
    if rc != 0:
        return result(False, 'own guest: mcopy -o grub.cfg', tail(out))
    return boot(img, 'own guest', 'bios', 'mine', 'GRUB (BIOS)',
                'loglevel=info', r'\d+ passed, 0 failed')


def make_hello():
    """`make usb USB_GUEST=hello`: the conformance kernel as the guest."""
    img = os.path.join(OUT, 'default.img')
    rc, out = sh(make_cmd() + ['usb', 'USB_GUEST=hello',
                               'USB_IMAGE=' + img])
    if not result(rc == 0, 'make usb USB_GUEST=hello', tail(out)
                  if rc else ''):
        return
    rc, out = sh(['mdir', '-/', '-b', '-i', img + ESP, '::/boot'],
                 tool_env())
    names = {l.strip().lower() for l in out.splitlines()}
    ok = '::/boot/hello.elf' in names and '::/boot/vmlinuz' not in names
    result(ok, 'make usb USB_GUEST=hello: guest hello.elf',
           '' if ok else tail(out))


def main():
    global verbose
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--keep', action='store_true',
                   help='keep the images in build/usb-test/')
    p.add_argument('--filter', metavar='WORD',
                   help='only the boots whose title contains WORD')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='print the QEMU command lines')
    opts = p.parse_args()
    verbose = opts.verbose
    start = time.monotonic()
    os.makedirs(OUT, exist_ok=True)

    for f in (HELLO, os.path.join(BUILD, 'umbra.elf'),
              os.path.join(BUILD, 'umbra.efi')):
        if not os.path.exists(f):
            result(False, 'prerequisites', '%s missing: run make all '
                   'guest-kernels' % os.path.relpath(f, ROOT))
            return summary()

    hello = os.path.join(OUT, 'hello.img')
    runs = []
    hello_ok = mkusb(hello, HELLO, ['--args', 'alpha beta'])
    if hello_ok:
        check_layout(hello, 'hello.img',
                     ['EFI/BOOT/BOOTX64.EFI', 'EFI/umbra/umbra.efi',
                      'EFI/umbra/umbra.cfg', 'boot/grub/grub.cfg',
                      'boot/grub/grubenv', 'boot/umbra.elf',
                      'boot/hello.elf'])
        ok = r'20 passed, 0 failed'   # hello.elf's checks
        runs += [
            (hello, 'hello', 'uefi', 'tdp', 'GRUB (UEFI)', '', ok),
            (hello, 'hello', 'bios', 'tdp', 'GRUB (BIOS)', '', ok),
            (hello, 'hello', 'uefi', 'efi', 'umbra.efi (UEFI)', '', ok),
            (hello, 'hello', 'bios', 'shadow', 'GRUB (BIOS)', 'mmu=shadow',
             ok),
            (hello, 'hello', 'bios', 'shadow-nooos', 'GRUB (BIOS)',
             'mmu=shadow oos=off', ok),
            (hello, 'hello', 'bios', 'serial', 'GRUB (BIOS)', '', ok),
            (hello, 'hello', 'bios', 'bare', None, '', ok),
        ]
    if os.path.exists(LINUX) and os.path.exists(LINUX_INITRD):
        linux = os.path.join(OUT, 'linux.img')
        if mkusb(linux, LINUX, ['--initrd', LINUX_INITRD, '--args',
                                'console=ttyS0 quiet umbra.test=1']):
            ok = r'linux-test: .*\n(.*\n)*\d+ passed, 0 failed'
            runs += [
                (linux, 'linux', 'bios', 'tdp', 'GRUB (BIOS)', '', ok),
                (linux, 'linux', 'uefi', 'tdp', 'GRUB (UEFI)', '', ok),
                (linux, 'linux', 'bios', 'bare', None, '', ok),
            ]
    for run in runs:
        title = '%s %s %s' % run[1:4]
        if opts.filter and opts.filter not in title:
            continue
        boot(*run)
    if hello_ok and (not opts.filter or opts.filter in 'own guest bios mine'):
        own_guest(hello)
    make_usb()
    make_hello()
    if not opts.keep:
        for name in ('hello.img', 'linux.img', 'default.img', 'grubenv',
                     'OVMF_VARS.fd', 'grub.cfg', 'mykernel.elf'):
            try:
                os.unlink(os.path.join(OUT, name))
            except OSError:
                pass
    print('test-usb: %.0fs wall time; logs in %s'
          % (time.monotonic() - start, os.path.relpath(OUT, ROOT)))
    return summary()


if __name__ == '__main__':
    sys.exit(main())
