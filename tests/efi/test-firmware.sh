#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# umbra.efi with guest=firmware (docs/efi.md), under QEMU (TCG, SVM with
# NPT) and OVMF:
#   tests/efi/test-firmware.sh [--shadow | --all] [DIR]
# Disk 1 is umbra's ESP (umbra.efi as BOOTX64.EFI, umbra.cfg with
# "guest = firmware"); disk 2 the machine's own system: an ESP with GRUB
# for x86_64-efi, build/linux/vmlinuz and initrd.img, whose checks
# (tests/linux/init.c, umbra.test=1) end through port 0xf4.  umbra takes
# the CPU over, returns to the firmware as its guest, which starts disk
# 2's GRUB and Linux.  Checked: the Linux checks pass; umbra's ranges are
# reserved in the e820 map Linux prints; the guest cannot read umbra's
# image.  usb: the same through the `firmware' entry of a tools/mkusb
# image (docs/usb.md) on a USB disk, with 6 GiB.  smp: npt with -smp 2,
# the firmware's AP taken over (parked by umbra.efi through the MP
# services, resumed as a vCPU) and Linux's own AP start-up under umbra;
# shadow runs -smp 2 too, the AP resumed on the shadow MMU and started
# again by Linux, as under NPT.  Bad input (no such
# loader, a loader that fails, no room for umbra, umbra.efi started again
# under umbra, boot = none) ends in a clear line and the firmware's boot
# manager, which runs the UEFI shell's startup.nsh; guest=firmware on the
# GRUB way in is refused.  Default: all of them; --shadow: shadow paging
# only.
# Prints PASS:/FAIL: lines and "N passed, N failed"; exits 1 on a failure.

set -u

MODES="npt smp usb bad shadow"
case "${1:-}" in
--shadow) MODES="shadow"; shift ;;
--all) MODES="npt smp usb bad shadow"; shift ;;
esac
DIR=${1:-build/efi-fw}
BUILD=${BUILD:-build}
TIMEOUT=${EFI_TEST_TIMEOUT:-240}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
GRUB_DIR=/usr/lib/grub/x86_64-efi
BACK="umbra-test: back in the firmware"

WORK=$DIR/cases
. "$(dirname "$0")/checks.sh"
finish() { echo "$passed passed, $failed failed"; [ $failed = 0 ]; exit; }

for f in "$BUILD/umbra.efi" "$BUILD/linux/vmlinuz" "$BUILD/linux/initrd.img" \
	 "$OVMF_CODE" "$OVMF_VARS" "$GRUB_DIR/linux.mod"; do
	[ -f "$f" ] || { fail "$f is missing (make all linux-image; tools/setup)"; finish; }
done

# The machine's own disk: GRUB (grub-mkimage, as tools/mkusb makes it),
# its grub.cfg next to it ($prefix), the kernel and initrd at the root.
os_disk() {
	local d=$1 args=${2:-}

	mkdir -p "$d/EFI/BOOT"
	grub-mkimage -d "$GRUB_DIR" -O x86_64-efi -p /EFI/BOOT \
		-o "$d/EFI/BOOT/BOOTX64.EFI" part_gpt part_msdos fat normal \
		configfile echo linux gzio search || return 1
	cat >"$d/EFI/BOOT/grub.cfg" <<-EOF
	set timeout=0
	echo "os-disk: GRUB of the machine's own disk"
	linux /vmlinuz console=ttyS0 loglevel=7 umbra.test=1 $args
	initrd /initrd.img
	boot
	EOF
	cp "$BUILD/linux/vmlinuz" "$BUILD/linux/initrd.img" "$d/"
}

# new_case NAME CFG-LINES...: umbra's ESP with umbra.cfg and startup.nsh.
new_case() {
	local d=$DIR/cases/$1

	shift
	rm -rf "$d"
	mkdir -p "$d/esp/EFI/BOOT"
	cp "$BUILD/umbra.efi" "$d/esp/EFI/BOOT/BOOTX64.EFI"
	printf '%s\n' "$@" >"$d/esp/EFI/BOOT/umbra.cfg"
	printf 'echo %s\r\nreset -s\r\n' "$BACK" >"$d/esp/startup.nsh"
	CASE=$d
}

boot() {
	local d=$1 os=() extra=() esp=()

	if [ -f "$d/umbra-run.args" ]; then	# the GRUB way in, through tools/umbra-run
		read -r -a extra <"$d/umbra-run.args"
		timeout "$TIMEOUT" tools/umbra-run --timeout 60 "${extra[@]}" \
			</dev/null >"$d/serial.log" 2>"$d/qemu.err"
		echo $? >"$d/rc"
		return
	fi
	[ -d "$d/os" ] && os=(-drive "file=fat:rw:$d/os,format=raw")
	[ -f "$d/usb.img" ] && os=(-device qemu-xhci -device usb-storage,drive=usb \
		-drive "if=none,id=usb,format=raw,file=$d/usb.img" "${os[@]}")
	[ -f "$d/usb.img" ] || esp=(-drive "file=fat:rw:$d/esp,format=raw")
	[ -f "$d/qemu.args" ] && read -r -a extra <"$d/qemu.args"
	cp "$OVMF_VARS" "$d/vars.fd"
	timeout "$TIMEOUT" qemu-system-x86_64 -machine q35 -m 512 \
		-cpu qemu64,+svm,+npt -display none -no-reboot -nic none \
		-monitor none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
		-drive if=pflash,format=raw,file="$d/vars.fd" \
		"${esp[@]}" "${os[@]}" "${extra[@]}" \
		</dev/null >"$d/serial.log" 2>"$d/qemu.err"
	echo $? >"$d/rc"
}

rm -rf "$DIR/cases"
for m in $MODES; do
	case $m in
	npt|smp|shadow)
		# mem=48m: umbra.efi reserves what the core then takes
		new_case "$m" "cmdline = serial=com1 mmu=$([ $m = shadow ] && echo shadow || echo tdp) mem=48m" \
			"guest = firmware"
		[ $m = npt ] || echo "-smp 2" >"$CASE/qemu.args"
		os_disk "$CASE/os" ||
			fail "$m: grub-mkimage failed" ;;
	usb)
		new_case usb
		echo "-m 6G" >"$CASE/qemu.args"	# umbra above 4 GiB, its low pool below
		os_disk "$CASE/os" || fail "usb: grub-mkimage failed"
		if tools/mkusb -o "$CASE/usb.img" "$BUILD/tests/guest/hello.elf" >"$CASE/mkusb.log" 2>&1 &&
		   grub-editenv "$CASE/grubenv" create &&
		   grub-editenv "$CASE/grubenv" set umbra_default=firmware umbra_timeout=0 &&
		   MTOOLS_SKIP_CHECK=1 mcopy -o -i "$CASE/usb.img@@2M" "$CASE/grubenv" ::/boot/grub/grubenv; then
			:
		else
			fail "usb: the USB image (see $CASE/mkusb.log)"
		fi ;;
	bad)
		new_case nopath "guest = firmware" 'boot = \EFI\nothere.efi'
		echo "-smp 2" >"$CASE/qemu.args"
		new_case badloader "guest = firmware"
		mkdir -p "$CASE/os/EFI/BOOT"
		echo "not a PE image" >"$CASE/os/EFI/BOOT/BOOTX64.EFI"
		new_case none "guest = firmware" "boot = none"
		mkdir -p "$WORK/grub"	# guest=firmware on umbra.elf: refused
		echo "--firmware bios --hv-args guest=firmware $BUILD/tests/guest/hello.elf" \
			>"$WORK/grub/umbra-run.args"
		new_case noroom "cmdline = mem=1G" "guest = firmware"
		# the other disk starts umbra.efi again, under umbra
		new_case twice "guest = firmware"
		mkdir -p "$CASE/os/EFI/BOOT"
		cp "$BUILD/umbra.efi" "$CASE/os/EFI/BOOT/BOOTX64.EFI"
		printf 'guest = firmware\n' >"$CASE/os/EFI/BOOT/umbra.cfg" ;;
	esac
done
boot_all

# reserved CASE: each of umbra's ranges lies in one reserved e820 entry.
reserved() {
	local log=$DIR/cases/$1/serial.log ranges r lo hi ok=1

	ranges=$(tr -d '\r' <"$log" | sed -n \
		"s/^umbra: info: umbra's \(memory\|low pool\): \([0-9a-f]*\)-\([0-9a-f]*\).*/\2 \3/p")
	[ -n "$ranges" ] || { fail "$1: umbra printed no ranges"; return; }
	while read -r lo hi; do
		r=$(tr -d '\r' <"$log" | sed -n 's/.*BIOS-e820: \[mem 0x\([0-9a-f]*\)-0x\([0-9a-f]*\)\] reserved.*/\1 \2/p' |
		    while read -r a b; do
			[ $((16#$a)) -le $((16#$lo)) ] && [ $((16#$hi)) -le $((16#$b)) ] && echo "$a-$b"
		    done)
		if [ -n "$r" ]; then
			pass "$1: umbra's $lo-$hi is reserved in Linux's e820 map ($r)"
		else
			fail "$1: umbra's $lo-$hi is in no reserved e820 entry"; ok=0
		fi
	done <<<"$ranges"
}

# after CASE FIRST THEN: a line with THEN comes after one with FIRST.
after() {
	local log=$DIR/cases/$1/serial.log n1 n2

	n1=$(tr -d '\r' <"$log" | grep -nF -- "$2" | head -n 1 | cut -d: -f1)
	n2=$(tr -d '\r' <"$log" | grep -nF -- "$3" | tail -n 1 | cut -d: -f1)
	if [ -n "$n1" ] && [ -n "$n2" ] && [ "$n2" -gt "$n1" ]; then
		pass "$1: '$3' after '$2'"
	else
		fail "$1: no '$3' after '$2' (lines '$n1', '$n2')"
	fi
}

# same_range CASE: the core took the 48 MiB that umbra.efi reserved.
same_range() {
	local log r1 r2

	log=$(tr -d '\r' <"$DIR/cases/$1/serial.log")
	r1=$(sed -n "s/^umbra-efi: umbra's memory 0x\([0-9A-F]*\)-0x\([0-9A-F]*\),.*/\1 \2/p" <<<"$log")
	r2=$(sed -n "s/^umbra: info: umbra's memory: \([0-9a-f]*\)-\([0-9a-f]*\) (48 MiB.*/\1 \2/p" <<<"$log")
	if [ -n "$r1" ] && [ -n "$r2" ] &&
	   [ $((16#${r1% *})) = $((16#${r2% *})) ] && [ $((16#${r1#* })) = $((16#${r2#* })) ]; then
		pass "$1: the core took the 48 MiB umbra.efi reserved ($r2)"
	else
		fail "$1: umbra.efi reserved '$r1', the core took '$r2' (want the same 48 MiB)"
	fi
}

for m in $MODES; do
	case $m in
	npt|smp|shadow)
		has "$m" "umbra: info: guest: the UEFI firmware, resumed at" \
			"umbra-efi: guest=firmware: the firmware runs as umbra's guest now" \
			"does not read as umbra's image" "os-disk: GRUB of the machine's own disk" \
			"linux-test: PASS fork" "linux-test: PASS cow" " 0 failed" \
			"umbra: info: guest wrote 0 to exit port f4"
		hasnt "$m" "FAIL"
		reserved "$m"
		same_range "$m"
		[ "$(cat "$DIR/cases/$m/rc")" = 1 ] && pass "$m: QEMU ended with the guest's status 0" ||
			fail "$m: QEMU status $(cat "$DIR/cases/$m/rc") (want 1: the guest wrote 0 to port 0xf4)"
		case $m in
		smp|shadow)	# the AP under umbra from the firmware on, then Linux's start-up of it
			has $m "umbra-efi: guest=firmware: 1 AP(s) parked through the firmware's MP services" \
				"umbra: info: cpu 1: APIC ID 1 up, svm enabled, vCPU resumes the firmware's AP where umbra.efi parked it" \
				"umbra-efi: guest=firmware: 1 of 1 AP(s) back in the firmware as umbra's guests" \
				"smp: Brought up 1 node, 2 CPUs"
			hasnt $m "outside umbra"
			after $m "smp: Bringing up secondary CPUs" \
				"umbra: info: cpu 1: the guest starts its vCPU (APIC ID 1) at" ;;
		esac ;;
	usb)
		has usb "Booting \`umbra, then boot the machine's own disk'" \
			"umbra-efi: command line from LoadOptions: guest=firmware" \
			"does not read as umbra's image" "os-disk: GRUB of the machine's own disk" \
			"linux-test: PASS cow" " 0 failed" "umbra: info: guest wrote 0 to exit port f4"
		reserved usb ;;
	bad)
		has nopath "guest=firmware: 1 AP(s) parked through the firmware's MP services" \
			"guest=firmware: 1 of 1 AP(s) back in the firmware as umbra's guests"
		has nopath "no file system but umbra's own has \\EFI\\nothere.efi; back to the boot manager" "$BACK"
		has badloader "\\EFI\\BOOT\\BOOTX64.EFI failed" "back to the boot manager" "$BACK"
		has noroom "no room in the firmware's memory map for umbra's 1024 MiB" \
			"back to the firmware in 5 seconds" "$BACK"
		hasnt noroom "entering the core"
		has grub "umbra: error: guest=firmware: only umbra.efi can hand a running UEFI firmware over" \
			"umbra: halt: no-guest"
		has none "boot = none; back to the boot manager, on to its next boot option" "$BACK"
		hasnt none "giving up"
		has twice "the firmware runs as umbra's guest now" \
			"error: guest=firmware: this firmware already runs under umbra" "$BACK" ;;
	esac
done
finish
