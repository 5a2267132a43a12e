// SPDX-License-Identifier: BSD-2-Clause
/*
 * crash: misbehaves on purpose, so that the runner's endings can be tested
 * (tests/run-guest-tests.py, "runner self-tests").  Not a conformance test.
 *
 * The second word of the command line says what to do:
 *	pass		one passing check, exit 0
 *	fail		one failing check, exit 1
 *	exit N		debug exit with status N, no closing line
 *	triple		triple fault (IDT limit 0, then INT3)
 *	hang		cli; hlt forever (the runner's timeout must fire)
 *	reset		reset through the keyboard controller (port 0x64)
 *	panic		print what umbra prints when it panics, then hang
 *	halt		print an "umbra: halt: REASON" line of another kind, hang
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "crash";

static const char *word(int n)
{
	static char buf[64];
	const char *p = boot.cmdline;
	size_t len;

	for (;;) {
		while (*p == ' ')
			p++;
		len = 0;
		while (p[len] && p[len] != ' ')
			len++;
		if (!n-- || !len)
			break;
		p += len;
	}
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, p, len);
	buf[len] = 0;
	return buf;
}

void test_main(void)
{
	const char *what = word(1);

	info("crash: %s", what);
	serial_drain();
	if (!strcmp(what, "pass")) {
		check(1, "crash: pass", NULL);
	} else if (!strcmp(what, "fail")) {
		check(0, "crash: fail", "as asked");
	} else if (!strcmp(what, "exit")) {
		const char *n = word(2);
		uint32_t v = 0;

		while (*n >= '0' && *n <= '9')
			v = v * 10 + (uint32_t)(*n++ - '0');
		guest_exit(v);
	} else if (!strcmp(what, "triple")) {
		struct __attribute__((packed)) {
			uint16_t limit;
			uint32_t base;
		} none = { 0, 0 };

		asm volatile("lidt %0; int3" : : "m"(none));
	} else if (!strcmp(what, "hang")) {
		halt_forever();
	} else if (!strcmp(what, "reset")) {
		outb(0x64, 0xfe);
		halt_forever();
	} else if (!strcmp(what, "panic")) {
		printf("umbra: PANIC: imitated by crash.elf\n");
		printf("umbra: halt: panic\n");
		serial_drain();
		halt_forever();
	} else if (!strcmp(what, "halt")) {
		printf("umbra: halt: imitated-by-crash.elf\n");
		serial_drain();
		halt_forever();
	} else {
		check(0, "crash: known action", "\"%s\"", what);
	}
}
