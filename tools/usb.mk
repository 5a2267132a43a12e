# SPDX-License-Identifier: BSD-2-Clause
# `make usb`: $(BUILD)/umbra-usb.img, a GPT disk image to write to a USB
# stick (docs/usb.md), made by tools/mkusb without root or loop devices.
# `make usb-test`: tests/test-usb.py, which boots such images in QEMU.

USB_IMAGE	:= $(BUILD)/umbra-usb.img
USB_SIZE	?= 64

# The guest on the image: linux (build/linux/vmlinuz and initrd.img, made
# by `make linux-image`) when both are there, else hello (the conformance
# kernel build/tests/guest/hello.elf).  `make usb USB_GUEST=hello` forces it.
USB_GUEST	?= $(if $(and $(wildcard $(BUILD)/linux/vmlinuz),$(wildcard \
		   $(BUILD)/linux/initrd.img)),linux,hello)

ifeq ($(USB_GUEST),linux)
USB_KERNEL	:= $(BUILD)/linux/vmlinuz
USB_MKUSB_ARGS	:= --initrd $(BUILD)/linux/initrd.img \
		   --args "console=tty0 console=ttyS0,115200" \
		   --serial-args "console=ttyS0,115200"
else
USB_KERNEL	:= $(BUILD)/tests/guest/hello.elf
USB_MKUSB_ARGS	:=
endif

# umbra's own options in every entry (the entries add mmu=, oos=)
USB_HV_ARGS	?=

.PHONY: usb usb-test

# Always rebuilt (about a second): the guest choice is a variable, not a file.
usb:
	@tools/setup >/dev/null
	@$(MAKE) --no-print-directory $(BUILD)/umbra.elf $(BUILD)/umbra.efi \
		$(if $(filter hello,$(USB_GUEST)),$(USB_KERNEL))
	@tools/mkusb -o $(USB_IMAGE) --size $(USB_SIZE) \
		--hv-args "$(USB_HV_ARGS)" $(USB_MKUSB_ARGS) $(USB_KERNEL)

usb-test:
	@tools/setup
	@$(MAKE) --no-print-directory all guest-kernels
	@$(PYTHON) tests/test-usb.py
