/* SPDX-License-Identifier: BSD-2-Clause */
/* The debug shell's clock (clock.c): TSC cycles, and the guest's share. */
#ifndef UMBRA_SHELL_CLOCK_H
#define UMBRA_SHELL_CLOCK_H

#include <stdint.h>

uint64_t clock_now(void);		/* RDTSC */
/* Measure the TSC rate (0: unknown; how: "cpuid" or "pit") and start
   counting the guest's time; before the guest owns the PIT. */
uint64_t clock_init(const char **how);
uint64_t clock_tsc_hz(void);
void clock_pause(void);			/* the shell opens: the guest stops */
void clock_resume(void);		/* the guest runs again */
uint64_t clock_guest_cycles(void);	/* TSC cycles the guest ran */

#endif
