# SPDX-License-Identifier: BSD-2-Clause
# The UEFI loader's test fixture: umbra.efi's objects (boot/efi/efi.mk)
# linked with tests/efi/fakecore.asm in place of the core.
#
#   make efi-fake-test	the loader alone, with the fake cores, under
#			QEMU + OVMF (tests/efi/test-loader.sh)

EFI_FAKE	:= $(BUILD)/efi-fake

.PHONY: efi-fake-test
.PRECIOUS: $(EFI_FAKE)/%.so $(EFI_FAKE)/%-blob.o $(EFI_FAKE)/%.bin

$(EFI_FAKE)/%-blob.o: boot/efi/core-blob.S $(EFI_FAKE)/%.bin
	@mkdir -p $(@D)
	$(CC) -c -DCORE_BIN='"$(EFI_FAKE)/$*.bin"' $< -o $@

$(EFI_FAKE)/fakecore.bin: tests/efi/fakecore.asm
	@mkdir -p $(@D)
	$(NASM) -f bin $< -o $@

$(EFI_FAKE)/badmagic.bin: tests/efi/fakecore.asm
	@mkdir -p $(@D)
	$(NASM) -f bin -DBAD_MAGIC $< -o $@

$(EFI_FAKE)/%.so: $(EFI_OBJS) $(EFI_FAKE)/%-blob.o $(EFI_LDS)
	$(efi-link)

$(EFI_FAKE)/%.efi: $(EFI_FAKE)/%.so
	$(efi-pe)

efi-fake-test: $(EFI_FAKE)/fakecore.efi $(EFI_FAKE)/badmagic.efi
	@tests/efi/test-loader.sh $(EFI_FAKE)
