# SPDX-License-Identifier: BSD-2-Clause
# The hypervisor proper: build/umbra.elf (multiboot2, for GRUB) and
# build/umbra-core.bin (the flat image that umbra.efi embeds).

CORE_SRCS += boot/multiboot2.asm boot/multiboot2.c \
	arch/x86/entry.asm arch/x86/idt.c arch/x86/log.c arch/x86/main.c \
	arch/x86/options.c arch/x86/mem.c arch/x86/vcpu.c arch/x86/cpuid.c \
	arch/x86/msr.c arch/x86/io.c arch/x86/cr.c arch/x86/decode.c arch/x86/load.c arch/x86/load_multiboot.c arch/x86/vm.c \
	arch/x86/vm_shadow.c arch/x86/gmem.c arch/x86/emulate.c arch/x86/shell.c \
	arch/x86/mmu_env.c arch/x86/load_linux.c arch/x86/canary.c \
	svm/svm.c svm/diag.c svm/vmrun.asm vmx/vmx.c vmx/caps.c vmx/diag.c vmx/vmentry.asm \
	drivers/serial.c drivers/acpi.c \
	drivers/iommu/iommu.c drivers/iommu/dmar.c drivers/iommu/vtd.c \
	lib/string.c lib/printf.c

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
