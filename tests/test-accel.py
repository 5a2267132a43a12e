#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""tools/umbra-run's choice between KVM and TCG (docs/nested-qemu.md).

usage: tests/test-accel.py

No machine here has nested virtualization, so the choice is tested on
made-up hosts: a directory per case with dev/kvm, proc/cpuinfo and
sys/module/kvm_{amd,intel}/parameters/{nested,npt,ept}, given to
`tools/umbra-run --which-accel` in $UMBRA_RUN_HOST_ROOT.  Each case checks
the one line the runner prints (KVM or TCG, and why).  Then the real host,
which must give a line of the same form.  One PASS:/FAIL: line per case,
then "N passed, N failed".
"""

import os
import re
import subprocess
import sys
import tempfile

from checks import result, summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, 'tools', 'umbra-run')

# name, /dev/kvm exists, cpu flags, {module: {parameter: value}},
# expected pattern of the line
CASES = [
    ('no /dev/kvm', False, 'fpu svm', {'kvm_amd': {'nested': '1'}},
     r'^umbra-run: TCG \(no /dev/kvm\)$'),
    ('AMD host, nested=1, npt=1', True, 'fpu svm lm',
     {'kvm_amd': {'nested': '1', 'npt': '1'}},
     r'^umbra-run: KVM \(/dev/kvm, kvm_amd nested=1: -cpu host has SVM '
     r'with NPT\)$'),
    ('Intel host, nested=Y, ept=Y', True, 'fpu vmx lm',
     {'kvm_intel': {'nested': 'Y', 'ept': 'Y'}},
     r'^umbra-run: KVM \(/dev/kvm, kvm_intel nested=Y: -cpu host has VMX '
     r'with EPT\)$'),
    ('Intel host, nested=N', True, 'fpu vmx lm',
     {'kvm_intel': {'nested': 'N', 'ept': 'Y'}},
     r'^umbra-run: TCG \(/dev/kvm present but .*kvm_intel nested=N; '
     r'svm/vmx in /proc/cpuinfo\)\)$'),
    ('AMD host, nested=1, npt=0', True, 'fpu svm lm',
     {'kvm_amd': {'nested': '1', 'npt': '0'}},
     r'^umbra-run: TCG \(.*kvm_amd nested=1, npt=0 \(no NPT for guests\)'),
    ('nested=Y but no vmx flag (disabled in firmware)', True, 'fpu lm',
     {'kvm_intel': {'nested': 'Y', 'ept': 'Y'}},
     r'^umbra-run: TCG \(.*kvm_intel nested=Y; no svm/vmx in '
     r'/proc/cpuinfo\)\)$'),
    ('/dev/kvm without kvm modules', True, 'fpu', {},
     r'^umbra-run: TCG \(.*neither kvm_amd nor kvm_intel loaded'),
]



def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)


def make_host(top, kvm, flags, modules):
    if kvm:
        write(os.path.join(top, 'dev', 'kvm'), '')
    write(os.path.join(top, 'proc', 'cpuinfo'),
          'processor\t: 0\nflags\t\t: %s\n' % flags)
    for mod, params in modules.items():
        for name, value in params.items():
            write(os.path.join(top, 'sys', 'module', mod, 'parameters',
                               name), value + '\n')


def which_accel(host_root):
    env = dict(os.environ)
    if host_root is None:
        env.pop('UMBRA_RUN_HOST_ROOT', None)
    else:
        env['UMBRA_RUN_HOST_ROOT'] = host_root
    p = subprocess.run([sys.executable, RUNNER, '--which-accel'], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p.returncode, p.stdout.decode('utf-8', 'replace').strip()


def main():
    with tempfile.TemporaryDirectory(prefix='umbra-accel-') as tmp:
        for i, (name, kvm, flags, modules, want) in enumerate(CASES):
            top = os.path.join(tmp, str(i))
            os.makedirs(top)
            make_host(top, kvm, flags, modules)
            rc, line = which_accel(top)
            result(rc == 0 and re.match(want, line) is not None, name,
                   'status %d, line %r' % (rc, line))
    rc, line = which_accel(None)
    result(rc == 0 and re.match(r'^umbra-run: (KVM|TCG) \(.+\)$', line),
           'this host: ' + line, 'status %d' % rc)
    return summary()


if __name__ == '__main__':
    sys.exit(main())
