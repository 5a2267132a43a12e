// SPDX-License-Identifier: BSD-2-Clause
/*
 * shell: the guest side of umbra's debug shell test (tests/test-shell.py).
 * Not a conformance kernel: it waits for input, so it is not in the normal
 * guest matrix.
 *
 * It turns on 32-bit paging (4 MiB identity pages for the first GiB, one
 * 4 KiB page at PROBE_VA, nothing at HOLE_VA), prints "info: ready", then
 * reads COM1 by polling (LSR bit 0, then RBR), executing CPUID in the poll
 * loop so that it exits to umbra now and then (a dedicated console port is
 * polled on VM exits), or HLT with the argument "hlt" (with interrupts off:
 * only for umbra with a dedicated port, which intercepts HLT and steps over
 * it; elsewhere it would stop the guest for good).  Every line is echoed as "echo: LINE" (control
 * characters as ^X) and writes DIRTY_PAGES pages; the line "done" ends the
 * test with one pass.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "shell";

#define UART_RBR	0
#define UART_LSR	5
#define LSR_DR		0x01

#define PROBE_VA	0x40000000u
#define HOLE_VA		0x80000000u
#define DIRTY_PAGES	16

#define PTE_P		0x001u
#define PTE_W		0x002u
#define PTE_PS		0x080u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static uint8_t probe[4096] __attribute__((aligned(4096)));
static uint8_t scratch[DIRTY_PAGES][4096] __attribute__((aligned(4096)));

static void write_cr3(uint32_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static void paging_on(void)
{
	uint32_t i;

	for (i = 0; i < 256; i++)		/* 0 - 1 GiB, 4 MiB pages */
		pd[i] = (i << 22) | PTE_PS | PTE_W | PTE_P;
	pd[PROBE_VA >> 22] = (uint32_t)pt | PTE_W | PTE_P;
	pt[0] = (uint32_t)probe | PTE_W | PTE_P;
	write_cr3((uint32_t)pd);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() | CR0_PG);
	*(volatile uint32_t *)PROBE_VA = 0x5348454c;	/* "LEHS" */
}

static int use_hlt;

static char getc_poll(void)
{
	struct cpuid_regs r;

	while (!(inb(COM1 + UART_LSR) & LSR_DR)) {
		if (use_hlt)
			asm volatile("hlt");
		else
			cpuid(0, &r);
	}
	return (char)inb(COM1 + UART_RBR);
}

static void echo(const char *line, int n)
{
	char out[256];
	int i, o = 0;

	for (i = 0; i < n && o < (int)sizeof(out) - 3; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f) {
			out[o++] = '^';
			out[o++] = (char)(c == 0x7f ? '?' : c + 0x40);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	printf("echo: %s\n", out);
}

void test_main(void)
{
	char line[128];
	int n = 0, lines = 0;

	use_hlt = cmdline_has_word(boot.cmdline, "hlt");
	paging_on();
	info("paging on: va %#x -> pa %#x (4 KiB), va %#x not mapped",
	     PROBE_VA, (uint32_t)probe, HOLE_VA);
	printf("info: ready (%s in the poll loop)\n", use_hlt ? "hlt" : "cpuid");
	for (;;) {
		char c = getc_poll();

		if (c != '\r' && c != '\n') {
			if (n < (int)sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		line[n] = '\0';
		echo(line, n);
		lines++;
		for (int p = 0; p < DIRTY_PAGES; p++)
			memset(scratch[p], lines, sizeof(scratch[p]));
		if (!strcmp(line, "done"))
			break;
		n = 0;
	}
	check(1, "guest read its line \"done\"", NULL);
}
