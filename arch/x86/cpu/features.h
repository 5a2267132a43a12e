/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What this CPU's paging offers (features.c), one answer for umbra's own
 * tables, the guest's (CPUID passes both through) and the back ends.
 */
#ifndef UMBRA_X86_CPU_FEATURES_H
#define UMBRA_X86_CPU_FEATURES_H

#include <stdbool.h>

/* the physical-address width, CPUID 8000_0008h EAX[7:0] (36 without it) */
unsigned int cpu_maxphyaddr(void);
/* 1 GiB pages, CPUID 8000_0001h EDX bit 26 */
bool cpu_gbpages(void);

#endif
