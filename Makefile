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

.PHONY: all setup run test host-test guest-test bench clean efi-fake-images
all:

-include mmu/mmu.mk
-include tests/host/host.mk
-include tests/host/decode.mk
-include mmu/shadow.mk
-include tests/host/shadow.mk
-include tests/guest/guest.mk
-include core.mk
-include boot/efi/efi.mk

setup:
	@tools/setup

# tools/setup first: on a fresh machine nothing can be built before it.
test:
	@tools/setup
	@$(MAKE) --no-print-directory all $(HOST_TESTS) guest-kernels efi-fake-images
	@$(PYTHON) tests/run-all.py --host "$(HOST_TESTS)" --guest "$(GUEST_KERNELS)" \
		--part "efi loader=boot/efi/test-loader.sh $(BUILD)/efi-fake"

efi-fake-images: $(BUILD)/efi-fake/fakecore.efi $(BUILD)/efi-fake/badmagic.efi

guest-test: all guest-kernels
	@$(PYTHON) tests/run-guest-tests.py $(GUEST_KERNELS)

UMBRA_ARGS ?=
RUN_FLAGS ?=
run:
	@tools/setup
	@$(MAKE) --no-print-directory all guest-kernels
	@echo "make run: umbra and its guest on this terminal's serial console; leave with Ctrl-A X"
	@tools/umbra-run --interactive --timeout 0 --hv-args "$(UMBRA_ARGS)" $(RUN_FLAGS) $(BUILD)/tests/guest/hello.elf alpha beta

host-test: $(HOST_TESTS)
	@$(PYTHON) tests/run-host-tests.py $(HOST_TESTS)

bench: $(BENCH_PROGS)
	@for p in $(BENCH_PROGS); do echo "== $$p"; $$p || exit 1; done

clean:
	rm -rf $(BUILD)
