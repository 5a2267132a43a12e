/* SPDX-License-Identifier: BSD-2-Clause */
/* TDP MMU operations for the host tests (tdp_extra.c). */
#ifndef UMBRA_TESTS_TDP_EXTRA_H
#define UMBRA_TESTS_TDP_EXTRA_H

#include <stdint.h>

#include "mmu/tdp/tdp.h"

/* Map [gpa, gpa + size) now; stops at the first gfn not in the map.
 * Returns 0, -MMU_ENOENT (hole) or -MMU_ENOMEM. */
int mmu_tdp_prefault(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size,
		     unsigned int access);

/* Replace tables of [gpa, gpa + size) by large leaves where the map allows:
 * the large leaf goes in first, the old table is freed after the flush. */
void mmu_tdp_recover_huge(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size);

/* Zap everything and free every page the MMU holds (umbra never tears its
 * MMU down; the tests check that nothing leaks). */
void mmu_tdp_destroy(struct mmu_tdp *mmu);

#endif
