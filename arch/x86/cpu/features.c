// SPDX-License-Identifier: BSD-2-Clause
/* The CPU's paging features (features.h), read from CPUID once. */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"

unsigned int cpu_maxphyaddr_bits;

unsigned int cpu_maxphyaddr_read(void)
{
	cpu_maxphyaddr_bits = cpuid(0x80000000).eax >= 0x80000008 ?
			      cpuid(0x80000008).eax & 0xff : 36;
	return cpu_maxphyaddr_bits;
}

/* CPUID once: a walk asks on every call, and CPUID exits under nesting */
bool cpu_gbpages(void)
{
	static int gbpages = -1;

	if (gbpages < 0)
		gbpages = !!(cpuid(0x80000001).edx & (1u << 26));
	return gbpages;
}
