#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tests/linux/build-image.sh [OUTDIR]: umbra's Linux test guest, from Debian
# packages, into OUTDIR (default build/linux):
#
#   vmlinuz      Debian's cloud kernel (linux-image-cloud-amd64 names the
#                current ABI), taken out of the .deb with dpkg-deb: not
#                installed;
#   initrd.img   a gzip'd newc cpio archive: busybox-static (the installed
#                package's /bin/busybox and its applet links) and /init, our
#                static test program (tests/linux/init.c);
#   bad/         broken inputs for the loader's error tests (made from
#                vmlinuz): old-protocol, zimage, truncated (64 KiB each),
#                bootsector (no "HdrS") and big-initrd.img (12 MiB of
#                zeros, too big for the runner's --memory 96).
#
# The archive is byte-reproducible: fixed mtimes, owners and modes, sorted
# names, `cpio --reproducible`, `gzip -n`.  The kernel is cached: it is
# fetched again only when the metapackage names another version.  Needs
# apt-get, dpkg-deb, cpio, gzip, gcc (tools/setup installs them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/linux}
mkdir -p "$out"
out=$(cd "$out" && pwd)

say() { echo "linux-image: $*"; }
die() { echo "linux-image: error: $*" >&2; exit 1; }

sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
fi

# The ABI package the metapackage depends on, e.g. linux-image-6.1.0-56-cloud-amd64.
abi_package() {
	apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' | head -n 1
}

# ---- the kernel -----------------------------------------------------------
pkg=$(abi_package)
if [ -z "$pkg" ] && [ ! -s "$out/vmlinuz" ]; then
	say "package lists do not know linux-image-cloud-amd64: apt-get update"
	"${sudo[@]}" apt-get update -qq >/dev/null
	pkg=$(abi_package)
	[ -n "$pkg" ] || die "apt does not know linux-image-cloud-amd64 (is this Debian with main enabled?)"
fi

if [ -n "$pkg" ] && { [ ! -s "$out/vmlinuz" ] || [ "$(cat "$out/kernel-package" 2>/dev/null)" != "$pkg" ]; }; then
	say "downloading $pkg"
	dl="$out/dl"
	rm -rf "$dl"
	mkdir -p "$dl"
	# apt-get download as root warns that _apt cannot write here: harmless.
	(cd "$dl" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
	deb=$(ls "$dl"/*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || die "apt-get download $pkg gave no .deb"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dl" --wildcards './boot/vmlinuz-*'
	kernel=$(ls "$dl"/boot/vmlinuz-* | head -n 1)
	cp "$kernel" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	echo "$pkg" >"$out/kernel-package"
	basename "$deb" >"$out/kernel-deb"
	rm -rf "$dl"
	say "kernel: $(cat "$out/kernel-deb") -> $out/vmlinuz"
elif [ -s "$out/vmlinuz" ]; then
	say "kernel: cached $(cat "$out/kernel-deb" 2>/dev/null || echo vmlinuz)"
fi

# ---- the initramfs --------------------------------------------------------
busybox=/bin/busybox
[ -x "$busybox" ] && "$busybox" --list >/dev/null 2>&1 ||
	die "$busybox missing: install busybox-static (tools/setup)"
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	[ "$(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null)" = installed ] ||
	die "$busybox is not busybox-static"
command -v cpio >/dev/null || die "cpio missing (tools/setup installs it)"

stage="$out/initramfs"
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,root,etc}

gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -s \
	-ffile-prefix-map="$here"=. -o "$stage/init" "$here/init.c"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	case "$applet" in
	busybox) ;;
	*) [ -e "$stage/bin/$applet" ] || ln -s busybox "$stage/bin/$applet" ;;
	esac
done
ln -s ../bin/busybox "$stage/sbin/init.busybox"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
printf 'root:x:0:\n' >"$stage/etc/group"

# Fixed modes and times; owners are set by cpio (-R 0:0).
find "$stage" -type d -exec chmod 0755 {} +
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"
chmod 0755 "$stage/init" "$stage/bin/busybox"
chmod 0644 "$stage/etc/passwd" "$stage/etc/group"
find "$stage" -exec touch -h -d @0 {} +

(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc --reproducible -R 0:0) | gzip -n -9 >"$out/initrd.img.tmp"
mv "$out/initrd.img.tmp" "$out/initrd.img"
say "initramfs: $out/initrd.img ($(stat -c %s "$out/initrd.img") bytes, sha256 $(sha256sum "$out/initrd.img" | cut -c1-16))"

# ---- broken inputs for umbra's loader tests (tests/run-guest-tests.py) ------
bad="$out/bad"
rm -rf "$bad"
mkdir -p "$bad"
# put_byte FILE OFFSET VALUE
put_byte() {
	printf "\\$(printf %03o "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
head -c 65536 "$out/vmlinuz" >"$bad/truncated"
cp "$bad/truncated" "$bad/old-protocol"
put_byte "$bad/old-protocol" $((0x206)) 9	# version 2.09
put_byte "$bad/old-protocol" $((0x207)) 2
cp "$bad/truncated" "$bad/zimage"
flags=$(od -An -tu1 -j $((0x211)) -N 1 "$out/vmlinuz" | tr -d ' ')
put_byte "$bad/zimage" $((0x211)) $((flags & 0xfe))	# LOADED_HIGH off
truncate -s 12M "$bad/big-initrd.img"
# a boot sector (0xAA55 at 510) with no Linux setup header after it
head -c 1024 /dev/zero >"$bad/bootsector"
put_byte "$bad/bootsector" 510 $((0x55))
put_byte "$bad/bootsector" 511 $((0xaa))
# make's view: everything here is as new as this run
touch "$out/vmlinuz"
