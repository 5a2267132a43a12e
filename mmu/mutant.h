/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Mutation points: each MUTANT(name) in mmu/ marks a bug the host tests
 * must catch (tests/host/mutants.py runs them, `make test` includes it).
 * In a host build with -DUMBRA_MUTANTS the point is true while the test
 * program runs with UMBRA_MUTANT=name; in every other build it is the
 * constant 0 and compiles to nothing.  The points go with the code they
 * break, so they move with it.
 */
#ifndef UMBRA_MMU_MUTANT_H
#define UMBRA_MMU_MUTANT_H

#ifdef UMBRA_MUTANTS
#include <stdbool.h>

/* Environment (tests/host/mutant.c): is mutant `name' the one on? */
bool mmu_mutant(const char *name);
#define MUTANT(name)	mmu_mutant(#name)
#else
#define MUTANT(name)	0
#endif

#endif
