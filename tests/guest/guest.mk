# SPDX-License-Identifier: BSD-2-Clause
#
# Guest conformance kernels: multiboot (v1) ELF32 images, one per test, in
# $(BUILD)/tests/guest/NAME.elf.  Included by the top-level Makefile.

GUEST_DIR	:= tests/guest
GUEST_OUT	:= $(BUILD)/tests/guest
GUEST_NAMES	:= hello cpuid memory paging io irq pg32 pgpae pg64 hostile frames misbehave ptwrite conform real16 fuzz pgrand dma rules smp pkeys
# Kernels that test the runner itself, not the machine (not in GUEST_KERNELS).
GUEST_SELFTEST	:= crash
# Kernels driven by their own runner (tests/test-shell.py): not in the matrix.
GUEST_SHELL	:= shell gdbt

GUEST_CFLAGS	:= -m32 -march=i686 -std=gnu11 -O2 -g $(WARN) \
		   -ffreestanding -fno-builtin -nostdlib -nostdinc \
		   -isystem $(shell $(CC) -print-file-name=include) \
		   -fno-pic -fno-pie -fno-stack-protector -mgeneral-regs-only \
		   -fno-asynchronous-unwind-tables -fno-omit-frame-pointer \
		   -fno-strict-aliasing -I$(GUEST_DIR)/lib -MMD -MP
GUEST_NASMFLAGS	:= -f elf32 -g -Werror
GUEST_LDFLAGS	:= -m elf_i386 -nostdlib -static -z noexecstack --no-warn-rwx-segments -T $(GUEST_DIR)/linker.ld

GUEST_LIB_C	:= start.c serial.c printf.c string.c test.c
# umbra's own freestanding helpers, built for the guests too
GUEST_SHARED_C	:= lib/mem.c lib/string.c
GUEST_SHARED_OBJS := $(GUEST_SHARED_C:lib/%.c=$(GUEST_OUT)/obj/shared/%.o)
GUEST_LIB_OBJS	:= $(GUEST_OUT)/obj/lib/entry.o \
		   $(GUEST_LIB_C:%.c=$(GUEST_OUT)/obj/lib/%.o) $(GUEST_SHARED_OBJS)
GUEST_C_OBJS	:= $(GUEST_LIB_C:%.c=$(GUEST_OUT)/obj/lib/%.o) \
		   $(GUEST_NAMES:%=$(GUEST_OUT)/obj/%.o) \
		   $(GUEST_SELFTEST:%=$(GUEST_OUT)/obj/%.o) \
		   $(GUEST_SHELL:%=$(GUEST_OUT)/obj/%.o)
GUEST_ASM_OBJS	:= $(GUEST_OUT)/obj/lib/entry.o $(GUEST_OUT)/obj/paging64.o \
		   $(GUEST_OUT)/obj/lib/pgrun.o $(GUEST_OUT)/obj/hostile64.o \
		   $(GUEST_OUT)/obj/ptwrite32.o $(GUEST_OUT)/obj/fuzz_asm.o \
		   $(GUEST_OUT)/obj/real16_asm.o $(GUEST_OUT)/obj/smp_asm.o \
		   $(GUEST_OUT)/obj/gdbt64.o

# The paging conformance kit (lib/pg.h), linked into the pg* kernels only.
GUEST_PG_C	:= pg.c pgsuite.c
GUEST_PG_OBJS	:= $(GUEST_PG_C:%.c=$(GUEST_OUT)/obj/lib/%.o) \
		   $(GUEST_OUT)/obj/lib/pgrun.o
GUEST_C_OBJS	+= $(GUEST_PG_C:%.c=$(GUEST_OUT)/obj/lib/%.o)
GUEST_PG_NAMES	:= pg32 pgpae pg64 hostile pgrand pkeys

# The trap harness (lib/trap.h), linked into the kernels that catch faults.
GUEST_TRAP_OBJS	:= $(GUEST_OUT)/obj/lib/trap.o
GUEST_C_OBJS	+= $(GUEST_TRAP_OBJS)
GUEST_TRAP_NAMES := conform misbehave irq rules

# Extra objects of one kernel.
GUEST_EXTRA_paging := $(GUEST_OUT)/obj/paging64.o
$(foreach k,$(GUEST_PG_NAMES),$(eval GUEST_EXTRA_$(k) := $(GUEST_PG_OBJS)))
GUEST_EXTRA_hostile += $(GUEST_OUT)/obj/hostile64.o
GUEST_EXTRA_ptwrite := $(GUEST_OUT)/obj/ptwrite32.o
GUEST_EXTRA_fuzz := $(GUEST_OUT)/obj/fuzz_asm.o
GUEST_EXTRA_real16 := $(GUEST_OUT)/obj/real16_asm.o
$(foreach k,$(GUEST_TRAP_NAMES),$(eval GUEST_EXTRA_$(k) += $(GUEST_TRAP_OBJS)))
GUEST_EXTRA_smp := $(GUEST_OUT)/obj/smp_asm.o
GUEST_EXTRA_SHELL_gdbt := $(GUEST_OUT)/obj/gdbt64.o

GUEST_KERNELS	+= $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)

.PHONY: guest-kernels
guest-kernels: $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf) \
	       $(GUEST_SELFTEST:%=$(GUEST_OUT)/selftest/%.elf) \
	       $(GUEST_SHELL:%=$(GUEST_OUT)/interactive/%.elf)

$(GUEST_C_OBJS): $(GUEST_OUT)/obj/%.o: $(GUEST_DIR)/%.c $(GUEST_DIR)/guest.mk
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_SHARED_OBJS): $(GUEST_OUT)/obj/shared/%.o: lib/%.c $(GUEST_DIR)/guest.mk
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -I. -c $< -o $@

$(GUEST_ASM_OBJS): $(GUEST_OUT)/obj/%.o: $(GUEST_DIR)/%.asm $(GUEST_DIR)/guest.mk
	@mkdir -p $(dir $@)
	$(NASM) $(GUEST_NASMFLAGS) $< -o $@

$(GUEST_NAMES:%=$(GUEST_OUT)/%.elf): \
		$(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/%.o \
		$(GUEST_LIB_OBJS) $(GUEST_DIR)/linker.ld
	$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $< $(GUEST_EXTRA_$*)

$(GUEST_OUT)/paging.elf: $(GUEST_EXTRA_paging)
$(GUEST_PG_NAMES:%=$(GUEST_OUT)/%.elf): $(GUEST_PG_OBJS)
$(GUEST_OUT)/hostile.elf: $(GUEST_OUT)/obj/hostile64.o
$(GUEST_OUT)/ptwrite.elf: $(GUEST_OUT)/obj/ptwrite32.o
$(GUEST_OUT)/fuzz.elf: $(GUEST_OUT)/obj/fuzz_asm.o
$(GUEST_OUT)/real16.elf: $(GUEST_OUT)/obj/real16_asm.o
$(GUEST_TRAP_NAMES:%=$(GUEST_OUT)/%.elf): $(GUEST_TRAP_OBJS)
$(GUEST_OUT)/smp.elf: $(GUEST_OUT)/obj/smp_asm.o

$(GUEST_SELFTEST:%=$(GUEST_OUT)/selftest/%.elf): $(GUEST_OUT)/selftest/%.elf: \
		$(GUEST_OUT)/obj/%.o $(GUEST_LIB_OBJS) $(GUEST_DIR)/linker.ld
	@mkdir -p $(dir $@)
	$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $<

# Kernels driven by a test of their own (tests/test-shell.py, test-gdb.py),
# kept out of build/tests/guest/*.elf, which the guest matrix runs by default.
$(GUEST_SHELL:%=$(GUEST_OUT)/interactive/%.elf): $(GUEST_OUT)/interactive/%.elf: \
		$(GUEST_OUT)/obj/%.o $(GUEST_LIB_OBJS) $(GUEST_TRAP_OBJS) \
		$(GUEST_DIR)/linker.ld
	@mkdir -p $(dir $@)
	$(LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $< $(GUEST_TRAP_OBJS) \
		$(GUEST_EXTRA_SHELL_$*)
$(GUEST_OUT)/interactive/gdbt.elf: $(GUEST_OUT)/obj/gdbt64.o

-include $(GUEST_C_OBJS:.o=.d) $(GUEST_SHARED_OBJS:.o=.d)

# Bad guest images for the runner's umbra tests (tests/run-guest-tests.py):
# hello.elf cut inside its first segment, and a file that is no kernel.
GUEST_BAD := $(GUEST_OUT)/bad/truncated.elf $(GUEST_OUT)/bad/notakernel.bin
guest-kernels: $(GUEST_BAD)

$(GUEST_OUT)/bad/truncated.elf: $(GUEST_OUT)/hello.elf
	@mkdir -p $(dir $@)
	head -c 4608 $< > $@

$(GUEST_OUT)/bad/notakernel.bin: README.md
	@mkdir -p $(dir $@)
	cp $< $@
