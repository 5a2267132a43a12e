# SPDX-License-Identifier: BSD-2-Clause
# The hypervisor proper: build/umbra.elf (multiboot2, for GRUB) and
# build/umbra-core.bin (the flat image that umbra.efi embeds).

CORE_SRCS += boot/multiboot2.asm boot/multiboot2.c \
	core/main.c core/options.c core/log.c core/err.c core/mem.c core/canary.c \
	shell/shell.c shell/clock.c shell/walk.c shell/dirty.c shell/gdb.c shell/gdbstub.c \
	arch/x86/cpu/entry.asm arch/x86/cpu/idt.c arch/x86/cpu/percpu.c arch/x86/cpu/features.c \
	arch/x86/cpu/smp.c arch/x86/cpu/trampoline.asm \
	arch/x86/vcpu/vcpu.c arch/x86/vcpu/run.c arch/x86/vcpu/smp.c \
	arch/x86/exit/cpuid.c arch/x86/exit/msr.c arch/x86/exit/io.c \
	arch/x86/exit/cr.c arch/x86/exit/apic.c arch/x86/exit/dr.c \
	arch/x86/emul/decode.c arch/x86/emul/operand.c arch/x86/emul/emulate.c arch/x86/emul/gmem.c \
	arch/x86/paging/tdp.c arch/x86/paging/shadow.c arch/x86/paging/mmu_env.c \
	arch/x86/guest/load.c arch/x86/guest/multiboot.c arch/x86/guest/linux.c \
	arch/x86/guest/firmware.c \
	svm/svm.c svm/quirks.c svm/diag.c svm/vmrun.asm \
	vmx/vmx.c vmx/quirks.c vmx/caps.c vmx/diag.c vmx/vmentry.asm \
	drivers/serial.c drivers/acpi.c \
	drivers/iommu/iommu.c drivers/iommu/iopt.c drivers/iommu/dmar.c drivers/iommu/vtd.c \
	drivers/iommu/ivrs.c drivers/iommu/amdvi.c \
	lib/mem.c lib/string.c lib/printf.c

CORE_OBJS := $(patsubst %,$(BUILD)/core/%.o,$(CORE_SRCS))

all: $(BUILD)/umbra.elf $(BUILD)/umbra-core.bin

$(BUILD)/core/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/core/%.asm.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) $(CORE_NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

$(BUILD)/umbra.elf: $(CORE_OBJS) linker.ld
	$(LD) -n -nostdlib -z max-page-size=4096 -z noexecstack -T linker.ld \
		--no-warn-rwx-segments -o $@ $(CORE_OBJS)

# Everything from UMBRA_VBASE on; the header is at offset 0.
$(BUILD)/umbra-core.bin: $(BUILD)/umbra.elf
	$(OBJCOPY) -O binary -j .text -j .rodata -j .data $< $@

-include $(CORE_OBJS:.o=.d)
