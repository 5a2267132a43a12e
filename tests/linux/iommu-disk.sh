#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The Linux guest's disk DMA under the IOMMU umbra programs (issue 14), by
# hand: an initramfs made from build/linux/initramfs whose /init loads the
# virtio block modules (taken from the same kernel .deb, apt-get download)
# and reads and writes a virtio-blk disk whose DMA goes through QEMU's
# intel-iommu or amd-iommu (iommu_platform=on); the disk's MD5 sums, as Linux reads them
# and as the host finds the file after the write, must be the expected ones.
#
# usage: tests/linux/iommu-disk.sh [tdp|shadow] [intel|amd]  (default tdp intel)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lin="$root/build/linux"
work="$root/build/iommu-disk"
mmu=${1:-tdp}
case ${2:-intel} in
intel) dev=intel-iommu; on='VT-d: DMA remapping on' ;;
amd) dev=amd-iommu; on='AMD-Vi: DMA remapping on' ;;
*) echo "usage: $0 [tdp|shadow] [intel|amd]" >&2; exit 2 ;;
esac
mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk"

die() { echo "iommu-disk: error: $*" >&2; exit 1; }
[ -s "$lin/kernel-package" ] && [ -d "$lin/initramfs" ] ||
	die "no Linux image: run tests/linux/build-image.sh"
rm -rf "$work"
mkdir -p "$work/dl"

# the modules, from the .deb of the kernel build/linux/vmlinuz came from
(cd "$work/dl" && apt-get download -q "$(cat "$lin/kernel-package")" 2>&1 |
	grep -v '^W: Download is performed unsandboxed' || true)
dpkg-deb --fsys-tarfile "$work"/dl/*.deb | tar -x -C "$work/dl" \
	--wildcards './lib/modules/*/kernel/drivers/virtio/*' \
	'./lib/modules/*/kernel/drivers/block/virtio_blk.ko'
cp -a "$lin/initramfs" "$work/rd"
mkdir -p "$work/rd/m"
for m in $mods; do
	cp "$(find "$work/dl" -name "$m.ko" | head -n 1)" "$work/rd/m/"
done
rm -rf "$work/dl" "$work/rd/init"
cat >"$work/rd/init" <<EOT
#!/bin/busybox ash
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in $mods; do /bin/busybox insmod /m/\$m.ko || echo "iommu-disk: insmod \$m failed"; done
/bin/busybox sleep 1
echo "iommu-disk: read \$(/bin/busybox md5sum /dev/vda)"
/bin/busybox dd if=/dev/zero of=/dev/vda bs=4096 count=16 seek=8 conv=fsync 2>/dev/null
echo 3 >/proc/sys/vm/drop_caches
echo "iommu-disk: after write \$(/bin/busybox md5sum /dev/vda)"
/bin/busybox poweroff -f
EOT
chmod +x "$work/rd/init"
(cd "$work/rd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n) >"$work/initrd.img"

# the disk and what Linux must see
head -c 4194304 /dev/urandom >"$work/disk.img"
cp "$work/disk.img" "$work/want.img"
dd if=/dev/zero of="$work/want.img" bs=4096 count=16 seek=8 conv=notrunc 2>/dev/null
before=$(md5sum <"$work/disk.img" | cut -d' ' -f1)
after=$(md5sum <"$work/want.img" | cut -d' ' -f1)

"$root/tools/umbra-run" --firmware bios --mmu "$mmu" --timeout 150 \
	--initrd "$work/initrd.img" \
	--qemu-arg=-device --qemu-arg=$dev \
	--qemu-arg=-drive --qemu-arg="file=$work/disk.img,if=none,id=d0,format=raw" \
	--qemu-arg=-device --qemu-arg=virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on \
	"$lin/vmlinuz" console=ttyS0 quiet >"$work/log" 2>&1 || true
grep -a -e 'iommu-disk:' -e 'DMA fault' -e "$on" "$work/log" || true
host=$(md5sum <"$work/disk.img" | cut -d' ' -f1)
ok=1
grep -aq "iommu-disk: read $before " "$work/log" || { echo "FAIL: Linux read the disk wrong (want $before)"; ok=0; }
grep -aq "iommu-disk: after write $after " "$work/log" || { echo "FAIL: Linux read its write back wrong (want $after)"; ok=0; }
[ "$host" = "$after" ] || { echo "FAIL: the disk file after the run is $host, want $after"; ok=0; }
grep -aq "$on" "$work/log" || { echo "FAIL: umbra did not enable $dev"; ok=0; }
! grep -aq 'DMA fault' "$work/log" || { echo "FAIL: DMA faults under Linux"; ok=0; }
[ $ok = 1 ] && echo "PASS: Linux virtio-blk DMA under $dev (mmu=$mmu): read $before, after write $after"
[ $ok = 1 ]
