// SPDX-License-Identifier: BSD-2-Clause
/*
 * mmu/mutant.h on the host: UMBRA_MUTANT=name turns on the mutation point
 * `name'; at exit the program says how often the point was reached, so
 * that a mutant which survives because it was never reached says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/mutant.h"

static const char *chosen;
static unsigned long reached;
static int inited;

static void report(void)
{
	fprintf(stderr, "mutant %s: point reached %lu times\n", chosen,
		reached);
}

bool mmu_mutant(const char *name)
{
	if (!__atomic_load_n(&inited, __ATOMIC_ACQUIRE)) {
		static int once;

		if (!__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL)) {
			chosen = getenv("UMBRA_MUTANT");
			if (chosen && *chosen)
				atexit(report);
			else
				chosen = NULL;
			__atomic_store_n(&inited, 1, __ATOMIC_RELEASE);
		}
		while (!__atomic_load_n(&inited, __ATOMIC_ACQUIRE))
			;
	}
	if (!chosen || strcmp(chosen, name))
		return false;
	__atomic_fetch_add(&reached, 1, __ATOMIC_RELAXED);
	return true;
}
