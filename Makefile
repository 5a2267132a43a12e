# SPDX-License-Identifier: BSD-2-Clause
# umbra: `make` builds the hypervisor, `make run` boots it, `make test` tests it.

BUILD		:= build
CC		:= gcc
NASM		:= nasm
LD		:= ld
OBJCOPY		:= objcopy
PYTHON		:= /usr/bin/python3

WARN		:= -Wall -Wextra -Werror -Wno-unused-parameter -Wstrict-prototypes \
		   -Wmissing-prototypes -Wshadow -Wvla

# The hypervisor proper: freestanding, no SSE, kernel code model (linked at
# UMBRA_VBASE, see include/umbra/bootinfo.h), frame pointers for backtraces.
CORE_CFLAGS	:= -std=c11 -O2 -g $(WARN) -ffreestanding -fno-builtin -nostdinc \
		   -isystem $(shell $(CC) -print-file-name=include) \
		   -mno-red-zone -fno-stack-protector -mgeneral-regs-only \
		   -mcmodel=kernel -fno-pic -fno-pie -fno-omit-frame-pointer \
		   -fno-asynchronous-unwind-tables -fno-strict-aliasing \
		   -I. -Iinclude -DUMBRA_CORE
CORE_NASMFLAGS	:= -f elf64 -g -I./

# Host builds of portable code (mmu/, the decoder) for tests and benchmarks.
HOST_CFLAGS	:= -std=c11 -O1 -g $(WARN) -I. -Iinclude -pthread \
		   -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer -D_GNU_SOURCE
HOST_BENCH_CFLAGS := -std=c11 -O2 -g $(WARN) -I. -Iinclude -pthread -D_GNU_SOURCE

# Fragments append to these.
CORE_SRCS	:=		# .c and .asm files linked into umbra
HOST_TESTS	:=		# host test programs run by `make test`
BENCH_PROGS	:=		# programs run by `make bench`
GUEST_KERNELS	:=		# guest conformance kernels (tests/guest)

.PHONY: all setup run test test-long host-test guest-test bench clean efi-fake-images size
all:

-include mmu/mmu.mk
-include tests/host/host.mk
-include tests/host/decode.mk
-include mmu/shadow.mk
-include tests/host/shadow.mk
-include tests/host/mutant.mk
-include tests/guest/guest.mk
-include tests/guest/bench.mk
-include tests/linux/linux.mk
-include core.mk
-include boot/efi/efi.mk
-include tests/efi/efi.mk
-include tools/usb.mk

setup:
	@tools/setup

# tools/setup first: on a fresh machine nothing can be built before it.
# The Linux guest (build/linux/, tests/linux/build-image.sh) joins the
# guest matrix; the other parts are tests of their own with the same
# "N passed, N failed" ending (tests/run-all.py adds them up).
TEST_GUESTS	= $(GUEST_KERNELS) $(LINUX_DIR)/vmlinuz
TEST_PARTS	= --part "efi loader=tests/efi/test-loader.sh $(BUILD)/efi-fake" \
		  --part "efi firmware guest=tests/efi/test-firmware.sh" \
		  --part "usb image=$(PYTHON) tests/test-usb.py" \
		  --part "kvm or tcg=$(PYTHON) tests/test-accel.py" \
		  --part "make run=$(PYTHON) tests/test-run.py" \
		  --part "docs=$(PYTHON) tests/test-docs.py" \
		  --part "debug shell=$(PYTHON) tests/test-shell.py" \
		  --part "gdb stub=$(PYTHON) tests/test-gdb.py" \
		  --part "include graph=$(PYTHON) tests/check-includes.py" \
		  --part "size budget=$(PYTHON) tests/check-size.py" \
		  --part "mmu mutants=$(PYTHON) tests/host/mutants.py $(MUTANT_OBJ)"
test:
	@tools/setup
	@$(MAKE) --no-print-directory all $(HOST_TESTS) $(MUTANT_PROGS) guest-kernels efi-fake-images linux-image
	@$(PYTHON) tests/run-all.py --host "$(HOST_TESTS)" --guest "$(TEST_GUESTS)" \
		$(TEST_PARTS)

# make test, then the runs too slow for it: the shadow TLB model for 10^7
# steps (about 4 minutes of CPU), the Linux guest under Bochs
# (VMX with EPT and shadow paging, SVM with NPT), several minutes each, and
# the fuzzer's long runs (docs/fuzzing.md).
test-long: test
	@STEPS=840000 $(PYTHON) tests/run-host-tests.py $(HOST_OBJ)/shadow/test_shadow_tlb
	@$(PYTHON) tests/run-guest-tests.py --long --no-selftest $(LINUX_DIR)/vmlinuz
	@$(PYTHON) tests/run-guest-tests.py --long --no-selftest $(GUEST_OUT)/fuzz.elf
	@$(PYTHON) tests/run-guest-tests.py --long-only --no-selftest --no-linux $(GUEST_KERNELS)

efi-fake-images: $(BUILD)/efi-fake/fakecore.efi $(BUILD)/efi-fake/badmagic.efi

guest-test: all guest-kernels
	@$(PYTHON) tests/run-guest-tests.py $(GUEST_KERNELS)

# make run: the Linux guest on this terminal.  FIRMWARE=bios for SeaBIOS,
# MMU=shadow (and OOS=off) for shadow paging, SMP=N for N CPUs (all under
# umbra), UMBRA_ARGS for the rest of
# umbra's command line, GUEST_ARGS for the kernel's, RUN_FLAGS for
# tools/umbra-run.  GUEST=firmware: umbra.efi takes over in place and
# returns to OVMF, which boots the guest from a second disk with GRUB, as
# the machine's own OS (docs/efi.md).
GUEST ?=
FIRMWARE ?= uefi
MMU ?= tdp
SMP ?= 1
OOS ?=
UMBRA_ARGS ?=
GUEST_ARGS ?= console=ttyS0 quiet
RUN_FLAGS ?=
RUN_HV_ARGS = $(strip $(if $(OOS),oos=$(OOS)) $(UMBRA_ARGS))
RUN_LOADER = $(if $(filter firmware,$(GUEST)),--loader firmware)
run:
	@tools/setup
	@$(MAKE) --no-print-directory all linux-image
	@echo "make run: umbra ($(MMU) paging) and Linux on this terminal's serial console; leave with Ctrl-A X"
	@tools/umbra-run --interactive --timeout 0 --firmware $(FIRMWARE) --mmu $(MMU) --smp $(SMP) $(RUN_LOADER) \
		--hv-args "$(RUN_HV_ARGS)" --initrd $(LINUX_DIR)/initrd.img $(RUN_FLAGS) \
		$(LINUX_DIR)/vmlinuz $(GUEST_ARGS)

# The hypervisor's files include each other without a cycle (layers), and
# it keeps to its size budget (make size: the count per folder).
.PHONY: include-check
include-check:
	@$(PYTHON) tests/check-includes.py
	@$(PYTHON) tests/check-size.py

size:
	@$(PYTHON) tests/check-size.py

host-test: include-check $(HOST_TESTS)
	@$(PYTHON) tests/run-host-tests.py $(HOST_TESTS)

# make bench (docs/performance.md): the host programs (seconds), then in
# QEMU with -icount, one emulator at a time, the benchmark guest (about a
# minute) and the Linux workloads (2-5 minutes), bare against NPT and
# shadow paging with and without out-of-sync pages.
bench: $(BENCH_PROGS) all $(GUEST_BENCH) $(LINUX_IMAGE)
	@for p in $(BENCH_PROGS); do echo "== $$p"; $$p || exit 1; done
	@echo "== tests/bench/guest-bench.py"
	@$(PYTHON) tests/bench/guest-bench.py
	@echo "== tests/linux/bench.py --firmware bios --shadow"
	@$(PYTHON) tests/linux/bench.py --firmware bios --shadow

clean:
	rm -rf $(BUILD)
