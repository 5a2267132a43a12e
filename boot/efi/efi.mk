# SPDX-License-Identifier: BSD-2-Clause
# boot/efi: build/umbra.efi, the UEFI way in (a gnu-efi application that
# embeds the core's flat image, build/umbra-core.bin from core.mk).
# tests/efi/efi.mk links the same loader with test cores.

EFI_INC		:= /usr/include/efi
EFI_LIBDIR	:= /usr/lib
EFI_CRT0	:= $(EFI_LIBDIR)/crt0-efi-x86_64.o
EFI_LDS		:= $(EFI_LIBDIR)/elf_x86_64_efi.lds

# C11: gnu-efi 3.0.15's headers build as C11 (inline asm is spelled
# __asm__).  The one warning they trip, -Wstrict-prototypes on efiapi.h's
# EFI_RESERVED_SERVICE, is silenced around the #include in loader.h only.
# GNU_EFI_USE_MS_ABI makes firmware calls direct (ms_abi function pointers,
# checked by the compiler) instead of going through efi_callN.  No SSE:
# nothing here needs it, and it keeps the code that runs after
# ExitBootServices() independent of the FPU state the firmware left.
EFI_CFLAGS	:= -std=c11 -O2 -g $(WARN) \
		   -ffreestanding -fno-builtin -fpic -fshort-wchar \
		   -mno-red-zone -fno-stack-protector -fno-strict-aliasing \
		   -mgeneral-regs-only -maccumulate-outgoing-args \
		   -fno-asynchronous-unwind-tables -DGNU_EFI_USE_MS_ABI \
		   -I$(EFI_INC) -I$(EFI_INC)/x86_64 \
		   -I. -Iinclude -MMD -MP
EFI_LDFLAGS	:= -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LDS) \
		   -L$(EFI_LIBDIR)
EFI_SECTIONS	:= -j .text -j .sdata -j .data -j .dynamic -j .rodata -j .rel \
		   -j .rela -j '.rel.*' -j '.rela.*' -j .reloc

EFI_SRCS	:= $(wildcard boot/efi/*.c)
EFI_OBJS	:= $(EFI_SRCS:boot/efi/%.c=$(BUILD)/efi/%.o) $(BUILD)/efi/takeover.o \
		   $(BUILD)/efi/lib/string.o

# `all` gets umbra.efi once the core's flat image has a rule (core.mk).
ifneq ($(wildcard core.mk),)
all: $(BUILD)/umbra.efi
endif

$(BUILD)/efi/%.o: boot/efi/%.c
	@mkdir -p $(@D)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/efi/takeover.o: boot/efi/takeover.asm
	@mkdir -p $(@D)
	$(NASM) -f elf64 -I./ $< -o $@

$(BUILD)/efi/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

# The embedded core: one blob object per image; CORE_BIN names the file to
# .incbin, and the prerequisite makes a new core relink umbra.efi.
$(BUILD)/efi/core-blob.o: boot/efi/core-blob.S $(BUILD)/umbra-core.bin
	@mkdir -p $(@D)
	$(CC) -c -DCORE_BIN='"$(BUILD)/umbra-core.bin"' $< -o $@

# Link: crt0 first, gnu-efi's linker script, then the PE32+ conversion.
define efi-link
	$(LD) $(EFI_LDFLAGS) $(EFI_CRT0) $(filter %.o,$^) -o $@ -lefi -lgnuefi
endef
define efi-pe
	$(OBJCOPY) $(EFI_SECTIONS) --target efi-app-x86_64 $< $@
endef

$(BUILD)/efi/umbra.so: $(EFI_OBJS) $(BUILD)/efi/core-blob.o $(EFI_LDS)
	$(efi-link)

$(BUILD)/umbra.efi: $(BUILD)/efi/umbra.so
	$(efi-pe)

-include $(EFI_OBJS:.o=.d)
