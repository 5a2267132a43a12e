#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Run every guest conformance kernel in every configuration.

usage: tests/run-guest-tests.py [-j N] [--filter SUBSTR] [--configs LIST]
                                [--timeout S] [--hv-args OPTS] [KERNEL...]

KERNEL defaults to every build/tests/guest/*.elf and the Linux guest,
build/linux/vmlinuz (--no-linux leaves it out; given KERNELs, it runs when
one of them is build/linux/vmlinuz).  Configurations:

    bare-uefi-grub    no hypervisor, OVMF, GRUB loads the kernel (multiboot)
    bare-bios-grub    no hypervisor, SeaBIOS, GRUB
    umbra-uefi-grub   umbra (NPT), OVMF, GRUB loads umbra (multiboot2)
    umbra-bios-grub   umbra (NPT), SeaBIOS, GRUB
    umbra-uefi-efi    umbra (NPT), OVMF starts umbra.efi from the ESP
    umbra-bochs-vmx   umbra (VMX, EPT), Bochs corei7_skylake_x, BIOS, GRUB
    umbra-bochs-svm   umbra (SVM, NPT), Bochs ryzen, BIOS, GRUB
    umbra-shadow-bios-grub        umbra (SVM, mmu=shadow), SeaBIOS, GRUB
    umbra-shadow-uefi-grub        umbra (SVM, mmu=shadow), OVMF, GRUB
    umbra-shadow-nooos-bios-grub  the same with oos=off, SeaBIOS, GRUB
    umbra-shadow-nooos-uefi-efi   the same with oos=off, OVMF, umbra.efi
    umbra-bochs-vmx-shadow        umbra (VMX, mmu=shadow), Bochs skylake
    umbra-bochs-vmx-shadow-nooos  the same with oos=off
    umbra-bochs-svm-shadow        umbra (SVM, mmu=shadow), Bochs ryzen
    bare-bochs-skylake  no hypervisor, Bochs corei7_skylake_x, BIOS, GRUB
    bare-bochs-ryzen    no hypervisor, Bochs ryzen, BIOS, GRUB
    umbra-uefi-grub-4g          umbra (NPT), 4 GiB of RAM, OVMF, GRUB
    umbra-bios-grub-16g         umbra (NPT), 16 GiB, SeaBIOS, GRUB
    umbra-uefi-efi-16g-shadow   umbra (mmu=shadow), 16 GiB, OVMF, umbra.efi
    umbra-shadow-bios-grub-4g   umbra (mmu=shadow), 4 GiB, SeaBIOS, GRUB
    umbra-bios-grub-70g-no1g    umbra (NPT), 70 GiB, a CPU without 1 GiB
                                pages: umbra maps 64 GiB, withholds the rest
    bare-bios-grub-iommu          no hypervisor, q35 + intel-iommu + edu
    umbra-bios-grub-iommu         umbra (NPT), intel-iommu + edu (issue 14)
    umbra-shadow-bios-grub-iommu  umbra (mmu=shadow), intel-iommu + edu
    umbra-bios-grub-16g-iommu     umbra (NPT), 16 GiB, intel-iommu aw-bits=48
    bare-bios-grub-amdiommu       no hypervisor, q35 + amd-iommu + edu
    umbra-bios-grub-amdiommu      umbra (NPT), amd-iommu + edu (AMD-Vi)
    umbra-shadow-bios-grub-amdiommu  umbra (mmu=shadow), amd-iommu + edu
    umbra-bios-grub-16g-amdiommu  umbra (NPT), 16 GiB, amd-iommu, 64-bit DMA
    umbra-bios-grub-smp4  umbra (NPT), 4 CPUs: smp.elf, Linux (--long only)
    umbra-shadow-bios-grub-smp4  umbra (mmu=shadow), 4 CPUs: smp.elf, Linux
                                 (--long only)
    umbra-bochs-vmx-smp2  umbra (VMX, EPT), Bochs, 2 CPUs: Linux (--long only)
    umbra-bios-grub-smp2  umbra (NPT), 2 CPUs: Linux (--long only)
    umbra-shadow-bios-grub-smp2  umbra (mmu=shadow), 2 CPUs: Linux (--long only)
    umbra-bochs-vmx-shadow-smp2  umbra (VMX, mmu=shadow), Bochs, 2 CPUs: Linux
                                 (--long only)

The big-memory configurations (RAM above 4 GiB, umbra's memory there too;
QEMU allocates guest RAM lazily) and the IOMMU ones run only the kernels
CONFIG_KERNELS names; dma.elf runs only in the IOMMU ones, with a random
canary= for umbra and the guest, and an umbra run also needs umbra's
fault line for every DMA the guest aimed at umbra's memory (dma_faults();
under amd-iommu, whose QEMU 7.2 writes no fault event, a SKIP with the reason).

--configs takes a comma-separated list; each item selects the
configurations whose name contains it ("bare", "umbra-bios", "efi").
--filter keeps the runs whose "KERNEL-CONFIG" name contains SUBSTR.

Kernels may have settings of their own (KERNEL_RUN): smp.elf runs with
--smp 2 (bare, NPT, Bochs VMX and SVM, SVM under shadow paging in QEMU
with OOS on and off and in Bochs, VMX under shadow paging in Bochs with
OOS on and off, where the APs' real mode runs on the EPT map); --smp 4 in
umbra-bios-grub-smp4 and umbra-shadow-bios-grub-smp4, with Linux too, and
Linux with 2 CPUs in umbra-bios-grub-smp2, umbra-shadow-bios-grub-smp2,
umbra-bochs-vmx-smp2 and umbra-bochs-vmx-shadow-smp2, all --long only); a run with
more than one CPU fails when the guest (Linux: "Brought up 1 node, N
CPUs", with loglevel=7 and without icount), or under umbra umbra, does not
report every AP (smp_missing()); pkeys.elf runs
on Bochs's tigerlake model in the configurations that name
corei7_skylake_x (it has PKU; none of Bochs 2.7's models has PKS), with
emu=bochs; frames.elf runs with
2 GiB of RAM and mem=8M for umbra, in six configurations only (bare,
NPT, shadow paging with and without OOS, Bochs VMX shadow paging with a
smaller load); pgrand.elf gets seeds=1-3 (seeds=1-40 with --long, 1-16
under Bochs) and its umbra runs' outcome digests must equal the bare
run's on the same emulator; conform.elf and rules.elf get mmu=tdp,
mmu=shadow or mmu=bare, the configuration's, and the digests rules.elf
prints (of its departures from the manuals) must each be the bare run's.

Each run goes through tools/umbra-run; its console is kept in
build/test-logs/KERNEL-CONFIG.log.  A run passes when the runner exits 0,
the log has the guest's closing line with 0 failed (and at least one pass),
and, under umbra, umbra's exit statistics ("umbra: info: total exits: N").

Runner self-tests (build/tests/guest/selftest/crash.elf misbehaving on
purpose; --no-selftest leaves them out) check that each ending of
tools/umbra-run gives its exit status: guest exit status, failed check,
timeout, triple fault (bare and under umbra), umbra panic and halt lines,
refused options, a guest command line over 2,047 characters refused by
name (GRUB and umbra.efi).

The Linux guest (tests/linux/build-image.sh: Debian's cloud kernel and
an initramfs whose /init runs fork, exec, mmap, mprotect and copy-on-write
checks when the command line has umbra.test=1) runs bare, under NPT and
shadow paging (OOS on and off) in QEMU and under VMX with EPT and SVM
with NPT in Bochs; --long adds Bochs with shadow paging and bare ryzen
(minutes each).  It gets
--initrd build/linux/initrd.img, deterministic time in QEMU (-icount
shift=0,sleep=off -rtc clock=vm), and at least %d s per run.  Its line shows the kernel's uptime when init started.  The
loader's error messages are self-tests too (broken images made by
build-image.sh in build/linux/bad/).

One line per run, then exactly "N passed, N failed"; the exit status is 1
if any run failed.
"""

import argparse
import concurrent.futures
import glob
import os
import random
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, 'tools', 'umbra-run')
LOGDIR = os.path.join(ROOT, 'build', 'test-logs')

IOMMU_QEMU = ['--qemu-arg=-device', '--qemu-arg=intel-iommu',
              '--qemu-arg=-device', '--qemu-arg=edu,dma_mask=0xffffffff']
# umbra above 4 GiB: 48-bit (4-level) tables, 64-bit DMA addresses
IOMMU_QEMU_48 = ['--qemu-arg=-device', '--qemu-arg=intel-iommu,aw-bits=48',
                 '--qemu-arg=-device',
                 '--qemu-arg=edu,dma_mask=0xffffffffffffffff']
# AMD-Vi: QEMU's amd-iommu (q35) with the SVM guest
AMDVI_QEMU = ['--qemu-arg=-device', '--qemu-arg=amd-iommu',
              '--qemu-arg=-device', '--qemu-arg=edu,dma_mask=0xffffffff']
AMDVI_QEMU_64 = ['--qemu-arg=-device', '--qemu-arg=amd-iommu',
                 '--qemu-arg=-device',
                 '--qemu-arg=edu,dma_mask=0xffffffffffffffff']
AMDVI_CONFIGS = ('bare-bios-grub-amdiommu', 'umbra-bios-grub-amdiommu',
                 'umbra-shadow-bios-grub-amdiommu',
                 'umbra-bios-grub-16g-amdiommu')
IOMMU_CONFIGS = ('bare-bios-grub-iommu', 'umbra-bios-grub-iommu',
                 'umbra-shadow-bios-grub-iommu',
                 'umbra-bios-grub-16g-iommu') + AMDVI_CONFIGS

CONFIGS = [
    # name, label, umbra?, runner options
    ('bare-uefi-grub', 'bare uefi grub', False,
     ['--no-hv', '--firmware', 'uefi', '--loader', 'grub']),
    ('bare-bios-grub', 'bare bios grub', False,
     ['--no-hv', '--firmware', 'bios', '--loader', 'grub']),
    ('umbra-uefi-grub', 'umbra uefi grub', True,
     ['--firmware', 'uefi', '--loader', 'grub', '--mmu', 'tdp']),
    ('umbra-bios-grub', 'umbra bios grub', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp']),
    ('umbra-uefi-efi', 'umbra uefi efi', True,
     ['--firmware', 'uefi', '--loader', 'efi', '--mmu', 'tdp']),
    # Bochs: the VMX back end's only test bed, and a second emulator for SVM
    ('umbra-bochs-vmx', 'umbra bochs vmx', True,
     ['--emulator', 'bochs', '--cpu', 'corei7_skylake_x', '--mmu', 'tdp']),
    ('umbra-bochs-svm', 'umbra bochs svm', True,
     ['--emulator', 'bochs', '--cpu', 'ryzen', '--mmu', 'tdp']),
    # shadow paging (mmu=shadow), with out-of-sync pages and without
    ('umbra-shadow-bios-grub', 'umbra shadow bios grub', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow']),
    ('umbra-shadow-uefi-grub', 'umbra shadow uefi grub', True,
     ['--firmware', 'uefi', '--loader', 'grub', '--mmu', 'shadow']),
    ('umbra-shadow-nooos-bios-grub', 'umbra shadow nooos bios grub', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow',
      '--hv-args', 'oos=off']),
    ('umbra-shadow-nooos-uefi-efi', 'umbra shadow nooos uefi efi', True,
     ['--firmware', 'uefi', '--loader', 'efi', '--mmu', 'shadow',
      '--hv-args', 'oos=off']),
    ('umbra-bochs-vmx-shadow', 'umbra bochs vmx shadow', True,
     ['--emulator', 'bochs', '--cpu', 'corei7_skylake_x', '--mmu', 'shadow']),
    ('umbra-bochs-vmx-shadow-nooos', 'umbra bochs vmx shadow nooos', True,
     ['--emulator', 'bochs', '--cpu', 'corei7_skylake_x', '--mmu', 'shadow',
      '--hv-args', 'oos=off']),
    ('umbra-bochs-svm-shadow', 'umbra bochs svm shadow', True,
     ['--emulator', 'bochs', '--cpu', 'ryzen', '--mmu', 'shadow']),
    ('bare-bochs-skylake', 'bare bochs skylake', False,
     ['--no-hv', '--emulator', 'bochs', '--cpu', 'corei7_skylake_x']),
    ('bare-bochs-ryzen', 'bare bochs ryzen', False,
     ['--no-hv', '--emulator', 'bochs', '--cpu', 'ryzen']),
    # RAM above 4 GiB: umbra moves itself above the stub's identity map,
    # and its shadow PAE roots come from the low pool below 4 GiB
    ('umbra-uefi-grub-4g', 'umbra uefi grub 4g', True,
     ['--firmware', 'uefi', '--loader', 'grub', '--mmu', 'tdp',
      '--memory', '4096']),
    ('umbra-bios-grub-16g', 'umbra bios grub 16g', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp',
      '--memory', '16384']),
    ('umbra-uefi-efi-16g-shadow', 'umbra uefi efi 16g shadow', True,
     ['--firmware', 'uefi', '--loader', 'efi', '--mmu', 'shadow',
      '--memory', '16384']),
    ('umbra-shadow-bios-grub-4g', 'umbra shadow bios grub 4g', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow',
      '--memory', '4096']),
    # more RAM than the host has: a RAM backend that reserves no swap
    ('umbra-bios-grub-70g-no1g', 'umbra bios grub 70g no1g', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp',
      '--memory', '71680', '--qemu-arg=-object',
      '--qemu-arg=memory-backend-ram,id=big,size=71680M,reserve=off',
      '--qemu-arg=-machine', '--qemu-arg=memory-backend=big',
      '--qemu-arg=-cpu', '--qemu-arg=qemu64,+smep,+smap,+svm,+npt']),
    # issue 14: an Intel IOMMU (QEMU's intel-iommu works under TCG with
    # either CPU vendor, here SVM) and the edu DMA device, which can reach
    # all 32 address bits
    ('bare-bios-grub-iommu', 'bare bios grub iommu', False,
     ['--no-hv', '--firmware', 'bios', '--loader', 'grub'] + IOMMU_QEMU),
    ('umbra-bios-grub-iommu', 'umbra bios grub iommu', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp'] + IOMMU_QEMU),
    ('umbra-shadow-bios-grub-iommu', 'umbra shadow bios grub iommu', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow'] +
     IOMMU_QEMU),
    ('umbra-bios-grub-16g-iommu', 'umbra bios grub 16g iommu', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp',
      '--memory', '16384'] + IOMMU_QEMU_48),
    # the same with QEMU's amd-iommu (AMD-Vi), which remaps DMA under TCG
    # but logs no fault event in QEMU 7.2 (docs/iommu.md)
    ('bare-bios-grub-amdiommu', 'bare bios grub amdiommu', False,
     ['--no-hv', '--firmware', 'bios', '--loader', 'grub'] + AMDVI_QEMU),
    ('umbra-bios-grub-amdiommu', 'umbra bios grub amdiommu', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp'] + AMDVI_QEMU),
    ('umbra-shadow-bios-grub-amdiommu', 'umbra shadow bios grub amdiommu',
     True, ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow'] +
     AMDVI_QEMU),
    ('umbra-bios-grub-16g-amdiommu', 'umbra bios grub 16g amdiommu', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp',
      '--memory', '16384'] + AMDVI_QEMU_64),
    # issue 12: more CPUs (tools/umbra-run --smp; make test-long only)
    ('umbra-bios-grub-smp4', 'umbra bios grub smp4', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp', '--smp', '4']),
    ('umbra-bios-grub-smp2', 'umbra bios grub smp2', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'tdp', '--smp', '2']),
    ('umbra-shadow-bios-grub-smp2', 'umbra shadow bios grub smp2', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow',
      '--smp', '2']),
    ('umbra-shadow-bios-grub-smp4', 'umbra shadow bios grub smp4', True,
     ['--firmware', 'bios', '--loader', 'grub', '--mmu', 'shadow',
      '--smp', '4']),
    ('umbra-bochs-vmx-smp2', 'umbra bochs vmx smp2', True,
     ['--emulator', 'bochs', '--cpu', 'corei7_skylake_x', '--mmu', 'tdp',
      '--smp', '2']),
    # the APs' real mode on the EPT map under VMX shadow paging
    ('umbra-bochs-vmx-shadow-smp2', 'umbra bochs vmx shadow smp2', True,
     ['--emulator', 'bochs', '--cpu', 'corei7_skylake_x', '--mmu', 'shadow',
      '--smp', '2']),
]

# Configurations that run only some kernels (by basename; 'linux' also
# needs LINUX_CONFIGS).  memory.elf under shadow paging with 2 GiB below
# 4 GiB would take minutes: the PAE and 32-bit paging kernels check there
# that the shadow MMU's roots are reachable through a 32-bit CR3.
CONFIG_KERNELS = {
    'umbra-uefi-grub-4g': ('hello', 'memory', 'pgpae'),
    'umbra-bios-grub-16g': ('hello', 'memory', 'pg64', 'linux'),
    'umbra-uefi-efi-16g-shadow': ('hello', 'pgpae', 'pg32'),
    'umbra-shadow-bios-grub-4g': ('hello', 'pgpae', 'linux'),
    'umbra-bios-grub-70g-no1g': ('hello', 'memory'),
    'bare-bios-grub-iommu': ('hello', 'dma'),
    'umbra-bios-grub-iommu': ('hello', 'dma', 'linux'),
    'umbra-shadow-bios-grub-iommu': ('hello', 'dma'),
    'umbra-bios-grub-16g-iommu': ('dma',),
    'bare-bios-grub-amdiommu': ('dma',),
    'umbra-bios-grub-amdiommu': ('hello', 'dma', 'linux'),
    'umbra-shadow-bios-grub-amdiommu': ('dma',),
    'umbra-bios-grub-16g-amdiommu': ('dma',),
    'umbra-bios-grub-smp4': ('smp', 'linux'),
    'umbra-shadow-bios-grub-smp4': ('smp', 'linux'),
    'umbra-bochs-vmx-smp2': ('linux',),
    'umbra-bios-grub-smp2': ('linux',),
    'umbra-shadow-bios-grub-smp2': ('linux',),
    'umbra-bochs-vmx-shadow-smp2': ('linux',),
}

# The guest's command line (after its own name, which the runner adds).
# hello.elf checks that all of its ~1,900 characters arrive (a boot-info
# field of 256 bytes once cut it without a word); umbra takes 2,047.
LONG_PADS = ['pad%04d' % i for i in range(236)]
KERNEL_ARGS = {
    'hello': ['alpha'] + LONG_PADS + ['beta'],
}
# More than 2,047 characters after the name: refused by name, never cut.
TOO_LONG_ARGS = ['pass'] + ['pad%04d' % i for i in range(256)]
TOO_LONG_TEXT = ("umbra: error: module 'crash.elf': command line of %d "
                 "characters after its name; umbra passes at most 2047"
                 % len(' '.join(TOO_LONG_ARGS)))

# Kernels with settings of their own: guest RAM (MiB), umbra's options
# (after the configuration's), the configurations they run in (all when
# absent), the guest's command line under Bochs, and a longer time limit.
KERNEL_RUN = {
    # issue 14: DMA through the edu device, into the guest's memory and
    # into umbra's (blocked by the IOMMU umbra programs: dma_faults())
    'dma': {'configs': IOMMU_CONFIGS},
    # the random-guest differential test: bare and umbra on one machine,
    # their digests compared (Matrix.compare_digests); Bochs in --long.
    # Seeds per (Bochs, --long); any seed replays alone: seeds=N
    'pgrand': {
        'args_by': {(False, False): ['seeds=1-3'],
                    (False, True): ['seeds=1-40'],
                    (True, False): ['seeds=1-3'],
                    (True, True): ['seeds=1-16']},
        'configs': ('bare-bios-grub', 'umbra-bios-grub',
                    'umbra-shadow-bios-grub', 'umbra-shadow-nooos-bios-grub',
                    'bare-bochs-skylake', 'umbra-bochs-vmx',
                    'umbra-bochs-vmx-shadow', 'umbra-bochs-vmx-shadow-nooos'),
    },
    # issue 20, finding 8: a 2 GiB guest that touches more frames than the
    # shadow MMU's budget under mem=8M holds (about 1300 pages); under Bochs
    # still past the budget, with fewer address spaces and aliases
    'frames': {
        'memory': 2048, 'hv_args': 'mem=8M', 'timeout': 300,
        'configs': ('bare-bios-grub', 'umbra-bios-grub', 'umbra-uefi-efi',
                    'umbra-shadow-bios-grub', 'umbra-shadow-nooos-uefi-efi',
                    'umbra-bochs-vmx-shadow'),
        'bochs_args': ['frames=163840', 'spaces=4', 'aliases=16'],
    },
    # issue 21, item 3: protection keys; Bochs 2.7 has PKU in its tigerlake
    # model (not in corei7_skylake_x nor ryzen, and PKS in none): the VMX
    # configurations run it there, and the guest learns it runs in Bochs
    'pkeys': {'bochs_args': ['emu=bochs'],
              'bochs_cpu': {'corei7_skylake_x': 'tigerlake'}},
    # issue 21: conform.elf learns umbra's MMU mode (mmu=tdp, shadow or
    # bare), so that it holds umbra to what it does for certain there (a
    # fault whose delivery exits under shadow paging is delivered again)
    'conform': {'mmu_arg': True},
    # issue 21: access rights, reserved bits, nested faults and MSR rules
    # from the manuals; umbra's digests compared with bare's (Bochs: one
    # bare and one umbra configuration in make test, the rest in --long)
    'rules': {
        'mmu_arg': True,
        'configs': ('bare-bios-grub', 'umbra-bios-grub',
                    'umbra-shadow-bios-grub', 'umbra-shadow-nooos-bios-grub',
                    'bare-bochs-skylake', 'umbra-bochs-vmx',
                    'umbra-bochs-vmx-shadow', 'bare-bochs-ryzen',
                    'umbra-bochs-svm', 'umbra-bochs-svm-shadow'),
    },
    # issue 12: the guest starts its APs (INIT-SIPI-SIPI) and runs on all
    # of them; 'smp' is tools/umbra-run --smp.  Under shadow paging on VMX
    # the real mode a SIPI starts an AP in runs on the EPT map (shadow.c),
    # so smp_missing() wants every AP started there too.  BIOS only:
    # the guest finds the MADT through the RSDP in the BIOS areas, and a
    # multiboot (v1) guest learns no RSDP from UEFI.
    'smp': {
        'smp': 2,
        'configs': ('bare-bios-grub', 'umbra-bios-grub',
                    'bare-bochs-skylake', 'umbra-bochs-vmx',
                    'bare-bochs-ryzen', 'umbra-bochs-svm',
                    'umbra-bios-grub-smp4', 'umbra-shadow-bios-grub-smp4',
                    'umbra-shadow-bios-grub',
                    'umbra-shadow-nooos-bios-grub', 'umbra-bochs-svm-shadow',
                    'umbra-bochs-vmx-shadow', 'umbra-bochs-vmx-shadow-nooos'),
    },
    # issue 21, item 6: real mode; under shadow paging SVM runs it as paged
    # real mode, VMX (no unrestricted guest without EPT) on the EPT map
    'real16': {
        'configs': ('bare-bios-grub', 'bare-uefi-grub', 'umbra-bios-grub',
                    'umbra-uefi-grub', 'umbra-uefi-efi', 'umbra-bochs-vmx',
                    'umbra-bochs-svm', 'umbra-shadow-bios-grub',
                    'umbra-shadow-uefi-grub', 'umbra-shadow-nooos-bios-grub',
                    'umbra-shadow-nooos-uefi-efi', 'umbra-bochs-svm-shadow',
                    'umbra-bochs-vmx-shadow', 'umbra-bochs-vmx-shadow-nooos',
                    'bare-bochs-skylake', 'bare-bochs-ryzen'),
    },
}

# Runs make test leaves to make test-long (--long-only picks them alone;
# --long adds them), to keep make test within its time on two cores: the
# 2 GiB frames guest under Bochs (about 80 s; frames runs under QEMU with
# both MMU modes in make test), and Bochs VMX shadow paging without
# out-of-sync pages for the kernels that are not about paging (the same
# shadow MMU code runs with oos=off under QEMU in make test).
# conform.elf and real16.elf check the CPU, not the way in: their UEFI
# runs (firmware boot about 8 s each) are left to make test-long, the BIOS
# ones cover each back end and MMU mode.  pgrand's Bochs runs too, and
# rules.elf's but for one bare and one umbra configuration (Bochs VMX).
LONG_ONLY_RUNS = {('frames', 'umbra-bochs-vmx-shadow'),
                  ('pgrand', 'bare-bochs-skylake'),
                  ('pgrand', 'umbra-bochs-vmx'),
                  ('pgrand', 'umbra-bochs-vmx-shadow'),
                  ('pgrand', 'umbra-bochs-vmx-shadow-nooos'),
                  ('rules', 'umbra-bochs-vmx'),
                  ('rules', 'bare-bochs-ryzen'),
                  ('rules', 'umbra-bochs-svm'),
                  ('rules', 'umbra-bochs-svm-shadow')} | {
    (k, c) for k in ('conform', 'real16')
    for c in ('bare-uefi-grub', 'umbra-uefi-grub', 'umbra-uefi-efi',
              'umbra-shadow-uefi-grub', 'umbra-shadow-nooos-uefi-efi')}
LONG_ONLY_CONFIGS = {
    'umbra-bios-grub-smp4': (),
    # configuration: the kernels that still run in make test
    'umbra-bochs-vmx-shadow-nooos': ('paging', 'pg32', 'pgpae', 'pg64',
                                     'ptwrite', 'smp', 'linux'),
}


def long_only(base, config):
    if (base, config) in LONG_ONLY_RUNS:
        return True
    return config in LONG_ONLY_CONFIGS and \
        base not in LONG_ONLY_CONFIGS[config]


# The fuzzer (tests/guest/fuzz.c, docs/fuzzing.md): one fixed seed per
# configuration (its position in CONFIGS, from 1), counts per emulator (Bochs
# is ~100 times slower than QEMU), more with --long (make test-long: more
# than 10^5 programs in all).  Each run gets a new random canary, given to
# umbra (canary=) and to the guest; the log must not show it (leak_line()).
FUZZ_ARGS = {
    # (bochs, long): arguments
    (False, False): ['count=1500', 'block=500'],
    (True, False): ['count=40', 'block=20', 'scan=low'],
    (False, True): ['count=12000', 'block=2000'],
    (True, True): ['count=400', 'block=100'],
}
# A canary found in a stale copy of umbra's image (issue 20, item 4a:
# GRUB's at 2 MiB and umbra.efi's, with canary='s value in umbra's opts)
# fails the run: umbra clears them before the guest starts.
FUZZ_COMMON = ['stale=fail']
CANARY_LINE = re.compile(r'umbra: info: canary 0x([0-9a-f]{16})')
CANARY_TEXT = re.compile(r'canary[= ]0x[0-9a-fA-F]{16}')


def fuzz_args(config, bochs, long):
    names = [c[0] for c in CONFIGS]
    return (['seed=%d' % (names.index(config) + 1)] + FUZZ_ARGS[bochs, long]
            + FUZZ_COMMON)


# tests/guest/dma.c names each DMA it aims at umbra's memory; umbra must
# log the IOMMU's fault for each (drivers/iommu/vtd.c, log_fault())
DMA_TARGET = re.compile(r'info: dma target (read|write) ([0-9a-f]+)$')
DMA_FAULT = re.compile(r'umbra: warn: DMA fault: device [0-9a-f]{2}:[0-9a-f]{2}'
                       r'\.[0-7] (read|write) at ([0-9a-f]+) blocked')

DMA_COUNT = re.compile(r'umbra: warn: DMA faults: \d+ so far')
DMA_FAULTS_LOGGED = 16      # drivers/iommu/vtd.c, FAULTS_LOGGED


def dma_faults(lines):
    """None if umbra logged a fault for every DMA target, else why not."""
    targets = [m.groups() for m in map(DMA_TARGET.search, lines) if m]
    faults = {(m.group(1), int(m.group(2), 16))
              for m in map(DMA_FAULT.search, lines) if m}
    if not targets:
        return 'the guest aimed no DMA at umbra\'s memory'
    # the storm (30 reads more): the first 16 faults logged, then counted
    logged = sum(1 for line in lines if DMA_FAULT.search(line))
    if logged != DMA_FAULTS_LOGGED:
        return '%d DMA fault lines, want the first %d only' % (
            logged, DMA_FAULTS_LOGGED)
    if not any(DMA_COUNT.search(line) for line in lines):
        return 'no "DMA faults: N so far" line after the storm'
    for kind, addr in targets:
        if (kind, int(addr, 16)) not in faults:
            return 'umbra logged no DMA fault for the %s at %s' % (kind, addr)
    return None


# drivers/iommu/iommu.c reads the fault logs at most once a millisecond,
# not after every exit: under TCG a dma run reads them for about 3% of its
# exits, and at its last exit
DMA_POLLS = re.compile(r'umbra: info: IOMMU: fault logs read (\d+) times')
TOTAL_EXITS = re.compile(r'umbra: info: total exits: (\d+)')


def dma_polls(lines):
    """None if umbra read the fault logs for at most half of the exits."""
    polls = [int(m.group(1)) for m in map(DMA_POLLS.search, lines) if m]
    exits = [int(m.group(1)) for m in map(TOTAL_EXITS.search, lines) if m]
    if not polls or not exits:
        return 'no "fault logs read N times" or "total exits" line'
    if polls[0] * 2 > exits[0]:
        return 'fault logs read %d times in %d exits' % (polls[0], exits[0])
    return None


def leak_line(lines, canaries):
    """The first line that shows a canary other than where it is given."""
    for line in lines:
        text = CANARY_TEXT.sub('', line).lower()
        if any(c in text for c in canaries):
            return line
    return None

# The Linux guest: its image, command line (test mode of tests/linux/init.c),
# runner options, configurations and minimum time per run.
LINUX_DIR = os.path.join(ROOT, 'build', 'linux')
LINUX_KERNEL = os.path.join(LINUX_DIR, 'vmlinuz')
LINUX_INITRD = os.path.join(LINUX_DIR, 'initrd.img')
LINUX_BAD = os.path.join(LINUX_DIR, 'bad')
LINUX_ARGS = ['console=ttyS0', 'quiet', 'umbra.test=1']
LINUX_RUNNER = ['--initrd', LINUX_INITRD]
LINUX_QEMU = ['--qemu-arg=-icount', '--qemu-arg=shift=0,sleep=off',
              '--qemu-arg=-rtc', '--qemu-arg=clock=vm']
LINUX_CONFIGS = ('bare-uefi-grub', 'bare-bios-grub', 'umbra-uefi-grub',
                 'umbra-bios-grub', 'umbra-uefi-efi',
                 'umbra-shadow-bios-grub', 'umbra-shadow-uefi-grub',
                 'umbra-shadow-nooos-bios-grub',
                 'umbra-bochs-vmx', 'umbra-bochs-svm', 'bare-bochs-skylake',
                 'umbra-bios-grub-16g', 'umbra-shadow-bios-grub-4g',
                 'umbra-bios-grub-iommu', 'umbra-bios-grub-amdiommu')
# --long: the Linux runs that take minutes (Bochs with shadow paging, bare
# ryzen)
LINUX_LONG_CONFIGS = ('umbra-bochs-vmx-shadow', 'umbra-bochs-svm-shadow',
                      'bare-bochs-ryzen', 'umbra-bios-grub-smp2',
                      'umbra-shadow-bios-grub-smp2',
                      'umbra-bochs-vmx-shadow-smp2', 'umbra-bios-grub-smp4',
                      'umbra-shadow-bios-grub-smp4', 'umbra-bochs-vmx-smp2')
LINUX_TIMEOUT = 300
BOCHS_TIMEOUT = 240
BOCHS_LINUX_TIMEOUT = 900
LINUX_RSDP = re.compile(r"umbra: info: guest '[^']*': ACPI RSDP at [0-9a-f]+ passed on")
LINUX_INIT = re.compile(r'linux-test: init reached at ([0-9.]+) s')
__doc__ = __doc__ % LINUX_TIMEOUT

# Runner self-tests: name, configuration, extra runner options, crash.elf
# arguments, expected exit status, text the log must contain.
SELFTESTS = [
    # issue 14: without an IOMMU the DMA test must see umbra's canary
    ('dma without iommu', 'umbra-bios-grub',
     ['--hv-args', 'canary=0x0123456789abcdef', '--qemu-arg=-device',
      '--qemu-arg=edu,dma_mask=0xffffffff'], ['canary=0x0123456789abcdef'],
     1, "the guest got umbra's canary", 'build/tests/guest/dma.elf'),
    # a malformed DMAR or IVRS (QEMU adds one of 36 bytes): umbra halts
    # before the guest
    ('malformed dmar', 'umbra-bios-grub',
     ['--qemu-arg=-acpitable', '--qemu-arg=sig=DMAR,rev=1,data=/dev/null'],
     [], 127, 'is malformed: DMAR of 36 bytes'),
    ('malformed ivrs', 'umbra-bios-grub',
     ['--qemu-arg=-acpitable', '--qemu-arg=sig=IVRS,rev=1,data=/dev/null'],
     [], 127, 'is malformed: IVRS of 36 bytes'),
    ('exit status', 'bare-bios-grub', [], ['exit', '5'], 5, None),
    ('failed check', 'bare-bios-grub', [], ['fail'], 1, '0 passed, 1 failed'),
    ('timeout', 'bare-bios-grub', ['--timeout', '3'], ['hang'], 124,
     'umbra-run: timeout'),
    ('bare triple fault', 'bare-bios-grub', [], ['triple'], 126,
     'umbra-run: guest reset (triple fault?)'),
    ('panic line', 'bare-bios-grub', [], ['panic'], 125,
     'umbra-run: umbra panic: imitated by crash.elf'),
    ('halt line', 'bare-bios-grub', [], ['halt'], 127,
     'umbra-run: umbra halted: imitated-by-crash.elf'),
    ('refused option', 'bare-bios-grub', ['--mmu', 'shadow'], ['pass'], 2,
     'umbra-run: --mmu shadow is an umbra option'),
    ('guest triple fault', 'umbra-bios-grub', [], ['triple'], 126,
     'umbra: halt: triple-fault'),
    ('guest exit status', 'umbra-bios-grub', [], ['exit', '5'], 5, None),
    # Bad input to umbra: a clear message, then a clean halt (or the default).
    ('umbra: bad options', 'umbra-bios-grub',
     ['--hv-args', 'bogus=1 loglevel=loud mem=3 serial=com9'], ['pass'], 0,
     "umbra: warn: unknown option 'bogus' ignored"),
    ('umbra: over-long guest command line', 'umbra-bios-grub', [],
     TOO_LONG_ARGS, 127, TOO_LONG_TEXT),
    ('umbra: over-long guest command line', 'umbra-uefi-efi', [],
     TOO_LONG_ARGS, 127, TOO_LONG_TEXT),
    ('umbra: unknown guest name', 'umbra-bios-grub',
     ['--hv-args', 'guest=nosuch.elf'], ['pass'], 127,
     'umbra: error: guest=nosuch.elf: no module by that name'),
    ('umbra: truncated kernel', 'umbra-bios-grub', [], [], 127,
     'runs past the end of the file (4608 bytes): truncated or corrupt',
     'build/tests/guest/bad/truncated.elf'),
    # umbra's own failures (selftest=): reason, registers, backtrace, halt.
    ('umbra: host exception panics', 'umbra-bios-grub',
     ['--hv-args', 'selftest=ud'], ['pass'], 125,
     'umbra: PANIC: host exception 6 (#UD invalid opcode)'),
    # a refused VM entry stops the guest, not umbra (svm/diag.c names it)
    ('umbra: failed VM entry stops the guest', 'umbra-bios-grub',
     ['--hv-args', 'selftest=entry'], ['pass'], 127,
     'VM entry failed (exit code ffffffff): guest state invalid'),
    ('umbra: exhausted memory panics', 'umbra-bios-grub',
     ['--hv-args', 'selftest=oom'], ['pass'], 125,
     'umbra: PANIC: svm: could not enable the back end: out of memory (ENOMEM)'),
    # the same endings under Bochs (no isa-debug-exit there)
    ('failed check', 'bare-bochs-skylake', [], ['fail'], 1,
     '0 passed, 1 failed'),
    ('bare triple fault', 'bare-bochs-skylake', [], ['triple'], 126,
     'umbra-run: guest triple fault (Bochs stopped on it)'),
    ('guest triple fault', 'umbra-bochs-vmx', [], ['triple'], 126,
     'umbra: halt: triple-fault'),
    ('guest exit status', 'umbra-bochs-vmx', [], ['exit', '5'], 5, None),
    ('umbra: failed VM entry stops the guest', 'umbra-bochs-vmx',
     ['--hv-args', 'selftest=entry'], ['pass'], 127,
     'vmx: VM entry failed: invalid guest state'),
    # Bochs 2.7's SVM never takes the SHUTDOWN intercept: Bochs stops
    ('guest triple fault', 'umbra-bochs-svm', [], ['triple'], 126,
     'umbra-run: guest triple fault (Bochs stopped on it)'),
    # issue 21: a #DF whose delivery faults shuts the CPU down: bare the
    # emulator resets or stops, umbra reports the guest's triple fault
    ('double fault shutdown', 'bare-bios-grub', [],
     ['shutdown=1'], 126, 'umbra-run: guest reset (triple fault?)',
     'build/tests/guest/rules.elf'),
    ('double fault shutdown', 'umbra-bios-grub', [],
     ['shutdown=1'], 126, 'umbra: halt: triple-fault',
     'build/tests/guest/rules.elf'),
    ('double fault shutdown', 'umbra-shadow-bios-grub',
     [], ['shutdown=1'], 126, 'umbra: halt: triple-fault',
     'build/tests/guest/rules.elf'),
    ('double fault shutdown', 'umbra-bochs-vmx-shadow',
     [], ['shutdown=1'], 126, 'umbra: halt: triple-fault',
     'build/tests/guest/rules.elf'),
    ('umbra: not a kernel', 'umbra-bios-grub', [], [], 127,
     'not a format umbra can boot', 'build/tests/guest/bad/notakernel.bin'),
    # the Linux loader on broken input (build/linux/bad/, build-image.sh)
    ('linux: old boot protocol', 'umbra-bios-grub', [], [], 127,
     "guest kernel 'old-protocol': Linux boot protocol 2.09 is too old",
     'build/linux/bad/old-protocol'),
    ('linux: not a bzImage', 'umbra-bios-grub', [], [], 127,
     "guest kernel 'bootsector': a boot sector but no Linux setup header",
     'build/linux/bad/bootsector'),
    ('linux: zImage', 'umbra-bios-grub', [], [], 127,
     "guest kernel 'zimage': a zImage (loaded at 64 KiB), not a bzImage",
     'build/linux/bad/zimage'),
    ('linux: truncated bzImage', 'umbra-bios-grub', [], [], 127,
     "guest kernel 'truncated': truncated image (65536 bytes",
     'build/linux/bad/truncated'),
    ('linux: initrd does not fit', 'umbra-bios-grub',
     ['--memory', '96', '--initrd',
      os.path.join(ROOT, 'build/linux/bad/big-initrd.img')], [], 127,
     "initrd 'big-initrd.img' (12288 KiB) does not fit",
     'build/linux/vmlinuz'),
]
SELFTEST_KERNEL = os.path.join(ROOT, 'build', 'tests', 'guest', 'selftest',
                               'crash.elf')

ANSI = re.compile(r'\x1b(\[[0-9;=?]*[A-Za-z]|[()][0-9A-Za-z])')
CLOSING = re.compile(r'(\d+) passed, (\d+) failed\s*$')
# tests/guest/lib/start.c: what under_umbra() says, which the configuration
# must agree with (an umbra check would otherwise turn into a SKIP)
UNDER_UMBRA = re.compile(r'^info: under umbra: (yes|no)$')
# lines a kernel writes that only the log can show: kernel -> lines
EXPECT_LINES = {
    'io': ('info: written with outb', 'info: written with rep outsb'),
}
EXITS = re.compile(r'umbra: info: total exits: (\d+)')


def smp_missing(lines, cpus, umbra, linux):
    """Why an --smp run lacks one of its CPUs, or None: the guest must see
    cpus - 1 APs in the MADT (Linux: bring all CPUs up) and, under umbra,
    umbra must have brought each up and started its vCPU at the guest's
    SIPI."""
    want = ['info: %d APs in the MADT' % (cpus - 1)]
    if linux:
        want = ['smp: Brought up 1 node, %d CPUs' % cpus]
    if umbra:
        want += ['umbra: info: smp: %d of %d CPUs' % (cpus, cpus)]
        want += ['umbra: info: cpu %d: the guest starts its vCPU' % n
                 for n in range(1, cpus)]
    for w in want:
        if not any(w in line for line in lines):
            return 'missing AP: no line "%s"' % w
    return None
# tests/guest/pgrand.c: one digest of the outcomes per paging mode
DIGEST = re.compile(r'^info: digest (\S+) ([0-9a-f]+)$')


# tests/guest/rules.c prints a digest only for a group whose outcome is
# not the manual's: each digest of an umbra run must then be the bare
# run's on that emulator (umbra may be right where the emulator is not)
DIGESTS_WHERE_DIFFER = ('rules',)


def digests_agree(base, got, bare):
    """Whether an umbra run's digests agree with the bare run's."""
    if base not in DIGESTS_WHERE_DIFFER:
        return got == bare
    b = dict(DIGEST.match(x).groups() for x in bare)
    return all(b.get(k) == v for k, v in
               (DIGEST.match(x).groups() for x in got))


def digest_diff(got, bare):
    """The digests that differ: mode/seed umbra (bare bare), or all."""
    g = dict(DIGEST.match(x).groups() for x in got)
    b = dict(DIGEST.match(x).groups() for x in bare)
    extra = sorted(set(g) - set(b))
    if extra:
        return 'only umbra\'s outcome is not the manual\'s: %s' % ' '.join(
            extra)
    if set(g) != set(b) and not any(g[k] != b[k] for k in g):
        return '%s, bare %s' % (' '.join(sorted(g)), ' '.join(sorted(b)))
    diff = ['%s %s (bare %s)' % (k, g[k], b[k]) for k in sorted(g)
            if g[k] != b[k]]
    return '%d of %d differ: %s' % (len(diff), len(g), ', '.join(diff))


def machine(copts):
    """The emulator and CPU of a configuration: digests compare within one."""
    if '--emulator' not in copts:
        return 'qemu'
    cpu = copts[copts.index('--cpu') + 1] if '--cpu' in copts else ''
    return 'bochs ' + cpu


def read_log(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return []
    text = ANSI.sub('', data.decode('utf-8', 'replace')).replace('\r', '')
    return text.split('\n')


def judge(lines, rc, umbra, expect=()):
    """Returns (ok, reason, details)."""
    closing = None
    detected = None
    seen = set()
    skips = 0
    exits = None
    fails = []
    runner = None
    for line in lines:
        m = CLOSING.search(line)
        if m:
            closing = (int(m.group(1)), int(m.group(2)))
        if line.startswith('SKIP: '):
            skips += 1
        m = UNDER_UMBRA.match(line)
        if m:
            detected = m.group(1) == 'yes'
        if line in expect:
            seen.add(line)
        if line.startswith('FAIL: '):
            fails.append(line)
        m = EXITS.search(line)
        if m:
            exits = int(m.group(1))
        if line.startswith('umbra-run: ') and not re.match(
                r'umbra-run: (TCG|KVM) \(|umbra-run: Bochs, CPU', line):
            runner = line[len('umbra-run: '):]
    info = {'skips': skips, 'exits': exits, 'fails': fails,
            'closing': closing}
    if rc != 0:
        why = 'runner exit status %d' % rc
        if runner:
            why += ': ' + runner
        return False, why, info
    if closing is None:
        return False, 'no closing "N passed, N failed" line', info
    if closing[1] != 0:
        return False, '%d checks failed' % closing[1], info
    if closing[0] == 0:
        return False, 'no check passed', info
    if umbra and exits is None:
        return False, 'umbra printed no exit statistics', info
    if detected is not None and detected != umbra:
        return False, ('the guest does not detect umbra (under_umbra() is '
                       'false) in an umbra configuration' if umbra else
                       'the guest detects umbra in a bare configuration'), info
    missing = [e for e in expect if e not in seen]
    if missing:
        return False, 'line missing from the log: "%s"' % missing[0], info
    return True, None, info


class Matrix:
    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.passed = 0
        self.failed = 0
        self.digests = {}

    def run(self, log, cmd, timeout):
        start = time.monotonic()
        with open(log, 'wb') as f:
            f.write(('# %s\n' % ' '.join(cmd)).encode())
            f.flush()
            try:
                rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                    stderr=subprocess.STDOUT,
                                    timeout=timeout + 60).returncode
            except subprocess.TimeoutExpired:
                rc = 124
                f.write(b'umbra-run: run-guest-tests: runner did not stop\n')
        return rc, time.monotonic() - start

    def run_one(self, kernel, config):
        name, label, umbra, copts = config
        base = os.path.splitext(os.path.basename(kernel))[0]
        log = os.path.join(LOGDIR, '%s-%s.log' % (base, name))
        linux = kernel == LINUX_KERNEL
        timeout = self.opts.timeout
        if linux:
            timeout = max(timeout, LINUX_TIMEOUT)
            missing = [f for f in (LINUX_KERNEL, LINUX_INITRD)
                       if not os.path.exists(f)]
            if missing:
                info = {'skips': 0, 'exits': None, 'fails': [],
                        'closing': None}
                self.report('linux', label, False,
                            '%s missing: run tests/linux/build-image.sh '
                            '(make linux-image)' % os.path.relpath(missing[0]),
                            info, 0, [], log)
                return
            base = 'linux'
            log = os.path.join(LOGDIR, 'linux-%s.log' % name)
            copts = copts + LINUX_RUNNER
            # icount hangs with several vCPUs (EMULATORS.md)
            if '--emulator' not in copts and '--smp' not in copts:
                copts = copts + LINUX_QEMU
        if '--emulator' in copts:
            # Bochs: ~120 MIPS; memory under shadow paging takes ~80 s,
            # Linux under shadow paging minutes
            timeout = max(timeout, BOCHS_LINUX_TIMEOUT if linux
                          else BOCHS_TIMEOUT)
        krun = KERNEL_RUN.get(base, {}) if not linux else {}
        args = LINUX_ARGS if linux else KERNEL_ARGS.get(base, [])
        if krun:
            timeout = max(timeout, krun.get('timeout', 0))
            if '--emulator' in copts and 'bochs_args' in krun:
                args = krun['bochs_args']
            if 'args_by' in krun:
                args = krun['args_by'][('--emulator' in copts,
                                        self.opts.long)]
            if 'memory' in krun:
                copts = copts + ['--memory', str(krun['memory'])]
            if 'bochs_cpu' in krun and '--cpu' in copts:
                i = copts.index('--cpu') + 1
                copts = (copts[:i] + [krun['bochs_cpu'].get(copts[i],
                                                            copts[i])] +
                         copts[i + 1:])
            if krun.get('mmu_arg'):
                mmu = (copts[copts.index('--mmu') + 1]
                       if '--mmu' in copts else 'tdp')
                args = args + ['mmu=' + (mmu if umbra else 'bare')]
            if 'smp' in krun and '--smp' not in copts:
                copts = copts + ['--smp', str(krun['smp'])]
        cpus = int(copts[copts.index('--smp') + 1]) if '--smp' in copts else 1
        if linux and cpus > 1:
            # "smp: Brought up ..." shows; init's smp check wants N CPUs
            args = args + ['loglevel=7', 'umbra.cpus=%d' % cpus]
        cmd = [sys.executable, RUNNER] + copts + [
            '--timeout', str(timeout)]
        for extra in (krun.get('hv_args'), self.opts.hv_args):
            if not umbra or not extra:
                continue
            if '--hv-args' in cmd:      # the configuration's own first
                i = cmd.index('--hv-args') + 1
                cmd[i] = cmd[i] + ' ' + extra
            else:
                cmd += ['--hv-args', extra]
        canaries = set()
        if base == 'dma':
            canary = '0x%016x' % random.getrandbits(64)
            args = ['canary=' + canary]
            if umbra:
                cmd += ['--hv-args', 'canary=' + canary]
        if base == 'fuzz':
            canary = '0x%016x' % random.getrandbits(64)
            canaries.add(canary[2:])
            args = fuzz_args(name, '--emulator' in copts,
                             self.opts.long) + ['canary=' + canary]
            if umbra:
                if '--hv-args' in cmd:
                    i = cmd.index('--hv-args') + 1
                    cmd[i] = cmd[i] + ' canary=' + canary
                else:
                    cmd += ['--hv-args', 'canary=' + canary]
        cmd += [kernel] + args
        rc, secs = self.run(log, cmd, timeout)
        lines = read_log(log)
        ok, why, info = judge(lines, rc, umbra,
                              EXPECT_LINES.get(base, ()) if not linux else ())
        if ok and cpus > 1:
            why = smp_missing(lines, cpus, umbra, linux)
            ok = why is None
        # umbra's leak canary (core/canary.c), the one it drew or the
        # one given, must never show but in its own line and the options
        for line in lines:
            m = CANARY_LINE.search(line)
            if m:
                canaries.add(m.group(1))
        leak = leak_line(lines, canaries)
        if leak is not None:
            ok, why = False, "the log shows umbra's canary: " + leak[:120]
        if ok and base == 'dma' and umbra:
            if name in AMDVI_CONFIGS and not any(map(DMA_FAULT.search,
                                                     lines)):
                # QEMU 7.2's amd-iommu blocks but never writes an event
                info['skips'] += 1
                print('SKIP: dma fault lines [%s]: QEMU\'s amd-iommu wrote '
                      'no event log entry (docs/iommu.md)' % label)
            else:
                why = dma_faults(lines)
            why = why or dma_polls(lines)
            ok = why is None
        # Linux under the IOMMU: its devices' DMA must not fault
        if ok and linux and name in IOMMU_CONFIGS:
            bad = [l for l in lines if DMA_FAULT.search(l)]
            if bad:
                ok, why = False, 'DMA fault under Linux: ' + bad[0][:120]
        if any('umbra: PANIC' in line for line in lines):
            ok, why = False, why or 'umbra panicked'
        for line in lines:
            m = LINUX_INIT.search(line)
            if m:
                info['init'] = float(m.group(1))
        # umbra finds the RSDP on every way in (BIOS area, GRUB's copies,
        # the EFI configuration table) and passes it to Linux
        if ok and linux and umbra and not any(
                LINUX_RSDP.search(l) for l in lines):
            ok, why = False, 'umbra did not pass the ACPI RSDP to Linux'
        digests = tuple(l for l in lines if DIGEST.match(l))
        if ok and (digests or base in DIGESTS_WHERE_DIFFER):
            with self.lock:
                self.digests.setdefault((base, machine(copts)), []).append(
                    (label, umbra, digests))
        self.report(base, label, ok, why, info, secs, lines, log)

    def compare_digests(self):
        """Every umbra run's digests equal the bare run's on its machine."""
        for (base, mach), runs in sorted(self.digests.items()):
            bare = [r for r in runs if not r[1]]
            for label, umbra, d in sorted(runs):
                if not umbra:
                    continue
                if not bare:
                    print('info: %s [%s]: no bare run on %s to compare'
                          % (base, label, mach))
                    continue
                if digests_agree(base, d, bare[0][2]):
                    self.passed += 1
                    print('PASS: %s [%s]: %d outcome digests equal [%s]'
                          % (base, label, len(d), bare[0][0]))
                else:
                    self.failed += 1
                    print('FAIL: %s [%s]: outcome digests differ from '
                          '[%s]: %s' % (base, label, bare[0][0],
                                        digest_diff(d, bare[0][2])))

    def run_selftest(self, test, config):
        what, _, extra, args, want_rc, want_text = test[:6]
        kernel = (os.path.join(ROOT, test[6]) if len(test) > 6
                  else SELFTEST_KERNEL)
        name, label, umbra, copts = config
        ident = 'selftest-%s-%s' % (what.replace(' ', '-'), name)
        log = os.path.join(LOGDIR, ident + '.log')
        cmd = ([sys.executable, RUNNER] + copts +
               ['--timeout', str(self.opts.timeout)] + extra +
               [kernel] + args)
        rc, secs = self.run(log, cmd, self.opts.timeout)
        lines = read_log(log)
        ok, why = True, None
        if rc != want_rc:
            ok, why = False, 'runner exit status %d, want %d' % (rc, want_rc)
        elif want_text and not any(want_text in x for x in lines):
            ok, why = False, 'log lacks "%s"' % want_text
        info = {'skips': 0, 'exits': None, 'fails': [], 'closing': None}
        self.report('runner: ' + what, label, ok, why, info, secs, lines,
                    log)

    def report(self, base, label, ok, why, info, secs, lines, log):
        extra = ''
        if info['exits'] is not None:
            extra += ' %d exits' % info['exits']
        if info['skips']:
            extra += ' %d skipped' % info['skips']
        if info.get('init') is not None:
            extra += ', init at %.3fs guest time' % info['init']
        with self.lock:
            if ok:
                self.passed += 1
                print('PASS: %s [%s] %.1fs%s' % (base, label, secs, extra))
            else:
                self.failed += 1
                print('FAIL: %s [%s] %.1fs%s: %s' % (base, label, secs,
                                                     extra, why))
                for line in info['fails'][:5]:
                    print('    | ' + line)
                tail = [x for x in lines if x.strip()][-8:]
                print('    log %s, last lines:' % os.path.relpath(log))
                for line in tail:
                    print('    > ' + line[:200])
            sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=__doc__.split('\n', 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 1)
    p.add_argument('--filter', default='', metavar='SUBSTR')
    p.add_argument('--configs', default='', metavar='LIST')
    p.add_argument('--timeout', type=float, default=90, metavar='S',
                   help='per run; default 90')
    p.add_argument('--hv-args', default='', metavar='OPTS',
                   help="umbra's command line for the umbra runs")
    p.add_argument('--no-selftest', action='store_true',
                   help='leave out the runner self-tests')
    p.add_argument('--long', action='store_true',
                   help='also the slow Linux runs (Bochs: shadow paging, '
                   'SVM) and long fuzzer runs; `make test-long`')
    p.add_argument('--long-only', action='store_true',
                   help='only the runs that make test leaves to make '
                   'test-long (LONG_ONLY)')
    p.add_argument('--no-linux', action='store_true',
                   help='leave out the Linux guest (build/linux/vmlinuz)')
    p.add_argument('kernels', nargs='*', metavar='KERNEL')
    opts = p.parse_args()

    kernels = opts.kernels or sorted(
        glob.glob(os.path.join(ROOT, 'build', 'tests', 'guest', '*.elf')))
    kernels = [os.path.abspath(k) for k in kernels]
    if not opts.kernels and not opts.no_linux:
        kernels.append(LINUX_KERNEL)
    if not opts.no_selftest and not os.path.exists(SELFTEST_KERNEL):
        print('run-guest-tests: %s missing (make guest-kernels)'
              % os.path.relpath(SELFTEST_KERNEL), file=sys.stderr)
        print('0 passed, 1 failed')
        return 1
    if not kernels:
        print('run-guest-tests: no guest kernels (make guest-kernels)',
              file=sys.stderr)
        print('0 passed, 1 failed')
        return 1
    configs = CONFIGS
    if opts.configs:
        want = [w for w in opts.configs.split(',') if w]
        configs = [c for c in CONFIGS if any(w in c[0] for w in want)]
        if not configs:
            print('run-guest-tests: --configs %s matches none of: %s' %
                  (opts.configs, ' '.join(c[0] for c in CONFIGS)),
                  file=sys.stderr)
            return 2
    runs = []
    for k in kernels:
        base = os.path.splitext(os.path.basename(k))[0]
        if k == LINUX_KERNEL:
            base = 'linux'
        for c in configs:
            if k == LINUX_KERNEL and c[0] not in LINUX_CONFIGS and not (
                    opts.long and c[0] in LINUX_LONG_CONFIGS):
                continue
            if c[0] not in KERNEL_RUN.get(base, {}).get('configs', (c[0],)):
                continue
            if c[0] in CONFIG_KERNELS and base not in CONFIG_KERNELS[c[0]]:
                continue
            if long_only(base, c[0]) != opts.long_only and not (
                    opts.long and not opts.long_only):
                continue
            if opts.filter in '%s-%s' % (base, c[0]):
                runs.append(('kernel', k, c))
    if not opts.no_selftest:
        by_name = {c[0]: c for c in CONFIGS}
        for t in SELFTESTS:
            # the Linux loader's self-tests go with the Linux guest
            if (len(t) > 6 and t[6].startswith('build/linux/') and
                    LINUX_KERNEL not in kernels):
                continue
            c = by_name[t[1]]
            if c in configs and opts.filter in 'selftest-%s-%s' % (
                    t[0].replace(' ', '-'), c[0]):
                runs.append(('selftest', t, c))
    os.makedirs(LOGDIR, exist_ok=True)

    m = Matrix(opts)
    start = time.monotonic()
    jobs = max(1, opts.jobs)
    nsel = sum(1 for r in runs if r[0] == 'selftest')
    print('info: %d guest runs (%d kernels, %d configurations) and %d runner '
          'self-tests, %d at a time' % (len(runs) - nsel, len(kernels),
                                        len(configs), nsel, jobs))
    sys.stdout.flush()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        futures = []
        for kind, what, c in runs:
            fn = m.run_one if kind == 'kernel' else m.run_selftest
            futures.append(ex.submit(fn, what, c))
        for f in futures:
            f.result()
    m.compare_digests()
    print('info: guest runs took %.1fs wall time' % (time.monotonic() - start))
    print('%d passed, %d failed' % (m.passed, m.failed))
    return 1 if m.failed or not runs else 0


if __name__ == '__main__':
    sys.exit(main())
