# SPDX-License-Identifier: BSD-2-Clause
#
# Sourced by tests/efi/test-*.sh: PASS:/FAIL: lines, running the cases, and
# the checks of their serial logs.  The caller sets WORK (one directory per
# case, each with its serial.log) and defines boot DIR.

passed=0
failed=0

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }

# Boot every case, as many at a time as there are CPUs.
boot_all() {
	local d jobs_max

	jobs_max=$(nproc 2>/dev/null || echo 2)
	for d in "$WORK"/*/; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
			wait -n
		done
		boot "${d%/}" &
	done
	wait
}

# has CASE TEXT...: the serial log holds every TEXT (fixed strings).
has() {
	local c=$1 t ok=1 log

	shift
	log=$(tr -d '\r' <"$WORK/$c/serial.log")
	for t in "$@"; do
		if ! grep -qF -- "$t" <<<"$log"; then
			fail "$c: no '$t' on the serial line (see $WORK/$c/serial.log)"
			ok=0
		fi
	done
	[ $ok = 1 ] && pass "$c: $(printf '%s; ' "$@" | cut -c1-100)"
}

hasnt() {
	local c=$1

	if tr -d '\r' <"$WORK/$c/serial.log" | grep -qF -- "$2"; then
		fail "$c: '$2' on the serial line"
	else
		pass "$c: no '$2'"
	fi
}
