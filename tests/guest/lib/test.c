// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: checks, the closing line and the way out.
 */
#include "guest.h"
#include "x86.h"

#define DEBUG_EXIT_PORT		0xf4
#define BOCHS_SHUTDOWN_PORT	0x8900

static unsigned int nr_passed, nr_failed, nr_skipped;

int check(int cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		nr_passed++;
		printf("PASS: %s\n", name);
		return 1;
	}
	nr_failed++;
	printf("FAIL: %s", name);
	if (fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	return 0;
}

void skip(const char *name, const char *reason)
{
	nr_skipped++;
	printf("SKIP: %s: %s\n", name, reason);
}

void info(const char *fmt, ...)
{
	va_list ap;

	printf("info: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * isa-debug-exit makes QEMU exit with (code << 1) | 1.  If that port does
 * not exist, try the Bochs shutdown port, then stop for good.
 */
void guest_exit(uint32_t code)
{
	const char *s = "Shutdown";

	serial_drain();
	outl(DEBUG_EXIT_PORT, code);
	while (*s)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s++);
	halt_forever();
}

void test_exit(void)
{
	static int exiting;

	if (exiting++)
		guest_exit(1);
	if (nr_skipped)
		printf("info: %u skipped\n", nr_skipped);
	printf("%u passed, %u failed\n", nr_passed, nr_failed);
	guest_exit(nr_failed || !nr_passed ? 1 : 0);
}
