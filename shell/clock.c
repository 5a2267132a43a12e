// SPDX-License-Identifier: BSD-2-Clause
/* The debug shell's clock: the TSC, its rate, and the time the guest ran. */
#include "arch/x86/cpu/cpu.h"
#include "shell/clock.h"

static uint64_t tsc_hz;			/* 0: unknown */
static uint64_t guest_cycles;		/* TSC cycles the guest ran */
static uint64_t resumed_at;		/* TSC when the shell last ended */

uint64_t clock_now(void)
{
	return rdtsc();
}

/*
 * TSC frequency: CPUID 15h (TSC/crystal ratio and crystal Hz) or 16h (base
 * MHz) when the CPU has them (SDM Vol 2 CPUID), else PIT channel 2 counted
 * down over 10 ms (its OUT2 is port 61h bit 5, as Linux's
 * pit_calibrate_tsc() does), before the guest owns the PIT.
 */
static uint64_t tsc_from_cpuid(void)
{
	uint32_t max = cpuid(0).eax;
	struct cpuid_regs r;

	if (max >= 0x15) {
		r = cpuid(0x15);
		if (r.eax && r.ebx && r.ecx)
			return (uint64_t)r.ecx * r.ebx / r.eax;
	}
	if (max >= 0x16) {
		r = cpuid(0x16);
		if (r.eax & 0xffff)
			return (uint64_t)(r.eax & 0xffff) * 1000000;
	}
	return 0;
}

#define PIT_HZ		1193182u
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_B		0x61

static uint64_t tsc_from_pit(void)
{
	uint16_t latch = PIT_HZ / 100;		/* 10 ms */
	uint8_t b = inb(PORT_B);
	uint64_t t0, t1;
	long n;

	outb(PORT_B, (b & ~0x02) | 0x01);	/* gate high, speaker off */
	outb(PIT_CMD, 0xb0);			/* channel 2, lo/hi, mode 0 */
	outb(PIT_CH2, latch & 0xff);
	outb(PIT_CH2, latch >> 8);
	t0 = clock_now();
	for (n = 0; n < 50000000 && !(inb(PORT_B) & 0x20); n++)
		;
	t1 = clock_now();
	outb(PORT_B, b);
	if (n == 50000000 || t1 <= t0)
		return 0;
	return (t1 - t0) * 100;
}

uint64_t clock_init(const char **how)
{
	tsc_hz = tsc_from_cpuid();
	*how = "cpuid";
	if (!tsc_hz) {
		tsc_hz = tsc_from_pit();
		*how = "pit";
	}
	resumed_at = clock_now();
	return tsc_hz;
}

uint64_t clock_tsc_hz(void)
{
	return tsc_hz;
}

void clock_pause(void)
{
	guest_cycles += clock_now() - resumed_at;
}

void clock_resume(void)
{
	resumed_at = clock_now();
}

uint64_t clock_guest_cycles(void)
{
	return guest_cycles;
}
