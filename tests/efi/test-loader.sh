#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Tests umbra.efi's loader on its own, under QEMU + OVMF, with the fake core
# of tests/efi/fakecore.asm in place of the real one:
#   tests/efi/test-loader.sh [DIR]		(make efi-fake-test)
# DIR (default build/efi-fake) holds fakecore.efi and badmagic.efi; each
# case gets DIR/cases/NAME with its ESP, its OVMF variables and serial.log.
# Prints PASS:/FAIL: lines and "N passed, N failed"; exits 1 on a failure.
#
# A case that must fail puts a startup.nsh on the ESP: when umbra.efi returns
# to the firmware, the boot manager goes on to the UEFI shell, which runs it,
# prints a marker and powers off.

set -u

DIR=${1:-build/efi-fake}
TIMEOUT=${EFI_TEST_TIMEOUT:-150}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
WORK=$DIR/cases
BACK="umbra-test: back in the firmware"

. "$(dirname "$0")/checks.sh"

for f in "$DIR/fakecore.efi" "$DIR/badmagic.efi" "$OVMF_CODE" "$OVMF_VARS"; do
	if [ ! -f "$f" ]; then
		echo "FAIL: $f is missing (run make efi-fake-test)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
command -v qemu-system-x86_64 >/dev/null || {
	echo "FAIL: qemu-system-x86_64 is not installed"
	echo "0 passed, 1 failed"
	exit 1
}

# new_case NAME EFI [PATH-ON-ESP]: an ESP with umbra.efi (default as the
# removable-media boot file) and the guest files every case may name.
new_case() {
	local d=$WORK/$1 at=${3:-EFI/BOOT/BOOTX64.EFI}

	rm -rf "$d"
	mkdir -p "$d/esp/EFI/BOOT" "$d/esp/$(dirname "$at")"
	cp "$DIR/$2" "$d/esp/$at"
	printf 'HELLO-GUEST-0123456789\n' >"$d/esp/$(dirname "$at")/hello.elf"
	printf 'DATA-MODULE-XYZ\n' >"$d/esp/$(dirname "$at")/data.bin"
	: >"$d/esp/$(dirname "$at")/empty.bin"
	printf 'echo %s\r\nreset -s\r\n' "$BACK" >"$d/esp/startup.nsh"
	CASE=$d
}

# boot DIR: QEMU as in the brief, plus the words of DIR/qemu.args if any.
boot() {
	local d=$1 extra=()

	[ -f "$d/qemu.args" ] && read -r -a extra <"$d/qemu.args"
	cp "$OVMF_VARS" "$d/vars.fd"
	timeout "$TIMEOUT" qemu-system-x86_64 -machine q35 -m 512 "${extra[@]}" \
		-display none -no-reboot -nic none -monitor none \
		-serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" \
		-drive if=pflash,format=raw,file="$d/vars.fd" \
		-drive file=fat:rw:"$d/esp",format=raw \
		</dev/null >"$d/serial.log" 2>"$d/qemu.err"
	echo $? >"$d/rc"
}

# --- the cases -------------------------------------------------------------

new_case boot fakecore.efi
cat >"$CASE/esp/EFI/BOOT/umbra.cfg" <<'EOF'
# umbra.cfg for the loader test
cmdline = loglevel=debug serial=0x3f8
colour = blue
guest = \EFI\BOOT\hello.elf hello.elf alpha beta
  module=/EFI/BOOT/data.bin data.bin
module = \EFI\BOOT\empty.bin
EOF

# Memory above 4 GiB, mapped with 2 MiB and with 1 GiB pages.
new_case bigmem fakecore.efi
printf 'guest = hello.elf\n' >"$CASE/esp/EFI/BOOT/umbra.cfg"
echo "-m 6G" >"$CASE/qemu.args"

new_case gbpages fakecore.efi
printf 'guest = hello.elf\n' >"$CASE/esp/EFI/BOOT/umbra.cfg"
echo "-m 6G -cpu qemu64,+pdpe1gb" >"$CASE/qemu.args"

new_case missing-guest fakecore.efi
printf 'guest = \\EFI\\BOOT\\missing.elf missing.elf\r\n' \
	>"$CASE/esp/EFI/BOOT/umbra.cfg"

new_case missing-module fakecore.efi
printf 'guest = hello.elf\nmodule = \\EFI\\BOOT\\nothere.bin\n' \
	>"$CASE/esp/EFI/BOOT/umbra.cfg"

new_case missing-cfg fakecore.efi

new_case no-guest fakecore.efi
printf 'cmdline = loglevel=info\nthis line has no equals sign\n' \
	>"$CASE/esp/EFI/BOOT/umbra.cfg"

new_case bad-magic badmagic.efi
printf 'guest = hello.elf\n' >"$CASE/esp/EFI/BOOT/umbra.cfg"

new_case shell-args fakecore.efi EFI/umbra/umbra.efi
printf 'cmdline = from-cfg\nguest = hello.elf hello.elf rel\n' \
	>"$CASE/esp/EFI/umbra/umbra.cfg"
printf 'fs0:\\EFI\\umbra\\umbra.efi loglevel=debug from=shell\r\n' \
	>"$CASE/esp/startup.nsh"

new_case shell-noargs fakecore.efi EFI/umbra/umbra.efi
printf 'cmdline = from-cfg\nguest = hello.elf\n' \
	>"$CASE/esp/EFI/umbra/umbra.cfg"
printf 'fs0:\\EFI\\umbra\\umbra\r\n' >"$CASE/esp/startup.nsh"

boot_all

# --- the checks ------------------------------------------------------------

rc_is() {
	local c=$1 want=$2 got

	got=$(cat "$WORK/$c/rc")
	if [ "$got" = "$want" ]; then
		pass "$c: QEMU exit status $got"
	else
		fail "$c: QEMU exit status $got, want $want ($3)"
	fi
}

# The good boot: every promise of the loader, checked by the fake core.
rc_is boot 1 "1 is the fake core's isa-debug-exit with 0; 124 a timeout"
has boot "umbra-efi: warning: umbra.cfg line 3: unknown key 'colour', ignored" \
	"fake core reached" "fake: vbase ok" "fake: stack aligned ok" \
	"fake: bss zero ok" "fake: image aligned ok" "fake: rsdp signature ok" \
	"fake: mem sorted merged ok" "fake: busy in usable ok" \
	"fake: identity map ok" "fake core done"
has boot "fake: firmware=3 " " nr_modules=3 nr_busy=10" \
	"fake: cmdline: loglevel=debug serial=0x3f8"
has boot "cmdline: hello.elf alpha beta data: HELLO-GUEST-0123" \
	"cmdline: data.bin data: DATA-MODULE-XYZ" \
	"cmdline: \\EFI\\BOOT\\empty.bin data: "
if nr=$(tr -d '\r' <"$WORK/boot/serial.log" |
	sed -n 's/.* nr_mem=\([0-9]*\) .*/\1/p' | head -1) && [ "${nr:-0}" -gt 3 ]; then
	pass "boot: nr_mem=$nr"
else
	fail "boot: nr_mem='${nr:-}' (want a merged map of more than 3 ranges)"
fi

for c in bigmem gbpages; do
	rc_is $c 1 "the fake core's exit"
	has $c "fake: mem 0x0000000100000000 0x0000000100000000 1" \
		"fake: busy in usable ok" "fake: identity map ok" \
		"fake core done"
done
has bigmem "identity map to 0x200000000 with 2 MiB pages"
has gbpages "identity map to 0x200000000 with 1 GiB pages"

# Error paths: a message naming the file and status, then back to the
# firmware (whose shell runs startup.nsh and powers off).
has missing-guest \
	"umbra-efi: error: cannot open \\EFI\\BOOT\\missing.elf: Not Found" \
	"umbra-efi: error: giving up" "$BACK"
hasnt missing-guest "fake core reached"
rc_is missing-guest 0 "0 is the shell's reset -s"

has missing-module \
	"umbra-efi: error: cannot open \\EFI\\BOOT\\nothere.bin: Not Found" \
	"$BACK"
hasnt missing-module "fake core reached"

has missing-cfg \
	"umbra-efi: error: cannot open \\EFI\\BOOT\\umbra.cfg: Not Found" \
	"$BACK"
hasnt missing-cfg "fake core reached"

has no-guest "umbra.cfg line 2: expected 'key = value', ignored" \
	"umbra-efi: error: \\EFI\\BOOT\\umbra.cfg has no 'guest = PATH [ARGS]' line" \
	"$BACK"
hasnt no-guest "fake core reached"

has bad-magic "umbra-efi: error: the embedded core image has a bad magic" \
	"$BACK"
hasnt bad-magic "fake core reached"

# From the UEFI shell: LoadOptions override cmdline, relative guest paths
# are relative to umbra.efi's directory, the image's own name is skipped.
has shell-args \
	"umbra-efi: command line from LoadOptions: loglevel=debug from=shell" \
	"fake: cmdline: loglevel=debug from=shell" \
	"cmdline: hello.elf rel data: HELLO-GUEST" "fake core done"
has shell-noargs "fake: cmdline: from-cfg" \
	"cmdline: hello.elf data: HELLO-GUEST" "fake core done"
hasnt shell-noargs "command line from LoadOptions"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
