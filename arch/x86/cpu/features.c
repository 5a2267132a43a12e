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

#define MSR_IA32_PKRS	0x6e1

/* CPUID 7.0 ECX, once (bit 0 of the cache: read) */
static uint64_t leaf7_ecx(void)
{
	static uint64_t ecx;

	if (!ecx)
		ecx = 1 | (cpuid(0).eax >= 7 ?
			   (uint64_t)cpuid_count(7, 0).ecx << 1 : 0);
	return ecx >> 1;
}

bool cpu_has_pku(void)
{
	return leaf7_ecx() & (1u << 3);
}

bool cpu_has_pks(void)
{
	return leaf7_ecx() & (1u << 31);
}

/*
 * umbra keeps no PKRU or IA32_PKRS of its own: neither VM exits nor umbra
 * change them (no XRSTOR of component 9, no "load IA32_PKRS" control), so
 * the guest's are on the CPU.  RDPKRU needs CR4.PKE (SDM Vol 2 RDPKRU:
 * #UD otherwise), which umbra's own CR4 does not have: it is set for the
 * instant of the read, with no memory access that its keys could check.
 */
void cpu_guest_pkeys(uint64_t guest_cr4, uint32_t *pkru, uint32_t *pkrs)
{
	uint64_t cr4;
	uint32_t eax, edx;

	*pkru = 0;
	*pkrs = 0;
	if ((guest_cr4 & CR4_PKE) && cpu_has_pku()) {
		cr4 = read_cr4();
		if (!(cr4 & CR4_PKE))
			write_cr4(cr4 | CR4_PKE);
		__asm__ volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
		if (!(cr4 & CR4_PKE))
			write_cr4(cr4);
		*pkru = eax;
	}
	if ((guest_cr4 & CR4_PKS) && cpu_has_pks())
		*pkrs = (uint32_t)rdmsr(MSR_IA32_PKRS);
}
