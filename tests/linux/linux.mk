# SPDX-License-Identifier: BSD-2-Clause
# The Linux test guest (docs/linux.md): Debian's cloud kernel and a busybox
# initramfs with tests/linux/init.c, built by tests/linux/build-image.sh into
# build/linux/ (the kernel is cached there; the archive is byte-reproducible).

LINUX_DIR	:= $(BUILD)/linux
LINUX_IMAGE	:= $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/initrd.img

.PHONY: linux-image
linux-image: $(LINUX_IMAGE)

# One run makes both (and build/linux/bad/, the loader's broken inputs).
$(LINUX_IMAGE) &: tests/linux/build-image.sh tests/linux/init.c
	tests/linux/build-image.sh $(LINUX_DIR)
