/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What this CPU's paging offers (features.c), one answer for umbra's own
 * tables, the guest's (CPUID passes both through) and the back ends.
 */
#ifndef UMBRA_X86_CPU_FEATURES_H
#define UMBRA_X86_CPU_FEATURES_H

#include <stdbool.h>

unsigned int cpu_maxphyaddr_read(void);
extern unsigned int cpu_maxphyaddr_bits;	/* 0 until read */

/* the physical-address width, CPUID 8000_0008h EAX[7:0] (36 without it) */
static inline unsigned int cpu_maxphyaddr(void)
{
	return cpu_maxphyaddr_bits ? cpu_maxphyaddr_bits : cpu_maxphyaddr_read();
}
/* 1 GiB pages, CPUID 8000_0001h EDX bit 26 */
bool cpu_gbpages(void);

#include <stdint.h>

/* protection keys: PKU (CPUID 7.0 ECX bit 3), PKS (ECX bit 31) */
bool cpu_has_pku(void);
bool cpu_has_pks(void);
/*
 * The guest's PKRU (with guest CR4.PKE) and IA32_PKRS (with CR4.PKS) as
 * the CPU holds them now; 0 for each the guest does not enable.
 */
void cpu_guest_pkeys(uint64_t guest_cr4, uint32_t *pkru, uint32_t *pkrs);

#endif
