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

#endif
