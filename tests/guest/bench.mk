# SPDX-License-Identifier: BSD-2-Clause
#
# The benchmark guest (tests/guest/bench.c, bench_entry.asm): a 64-bit
# multiboot kernel for `make bench` (tests/bench/guest-bench.py), in
# $(BUILD)/tests/guest/bench/bench.elf.  Not a test kernel: it is in neither
# GUEST_NAMES nor GUEST_KERNELS.  Linked as elf64, then converted to
# elf32-i386 (its entry is 32-bit code), the format multiboot loaders take.
# Included by the top-level Makefile after guest.mk.

GUEST_BENCH_OUT	:= $(GUEST_OUT)/bench
GUEST_BENCH	:= $(GUEST_BENCH_OUT)/bench.elf

GUEST_BENCH_CFLAGS := -m64 -std=gnu11 -O2 -g $(WARN) \
		   -ffreestanding -fno-builtin -nostdlib -nostdinc \
		   -isystem $(shell $(CC) -print-file-name=include) \
		   -fno-pic -fno-pie -fno-stack-protector -mgeneral-regs-only \
		   -mno-red-zone -mcmodel=small -fno-asynchronous-unwind-tables \
		   -fno-omit-frame-pointer -fno-strict-aliasing
GUEST_BENCH_LDFLAGS := -m elf_x86_64 -nostdlib -static -z noexecstack \
		   -z max-page-size=4096 --no-warn-rwx-segments \
		   -T $(GUEST_DIR)/bench.ld

$(GUEST_BENCH_OUT)/bench.o: $(GUEST_DIR)/bench.c $(GUEST_DIR)/bench.mk
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_BENCH_CFLAGS) -c $< -o $@

$(GUEST_BENCH_OUT)/bench_entry.o: $(GUEST_DIR)/bench_entry.asm \
		$(GUEST_DIR)/bench.mk
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -Werror $< -o $@

$(GUEST_BENCH_OUT)/bench64.elf: $(GUEST_BENCH_OUT)/bench_entry.o \
		$(GUEST_BENCH_OUT)/bench.o $(GUEST_DIR)/bench.ld
	$(LD) $(GUEST_BENCH_LDFLAGS) -o $@ $(GUEST_BENCH_OUT)/bench_entry.o \
		$(GUEST_BENCH_OUT)/bench.o

$(GUEST_BENCH): $(GUEST_BENCH_OUT)/bench64.elf
	$(OBJCOPY) -I elf64-x86-64 -O elf32-i386 $< $@

.PHONY: guest-bench
guest-bench: $(GUEST_BENCH)
