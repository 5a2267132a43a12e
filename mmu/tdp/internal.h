/* SPDX-License-Identifier: BSD-2-Clause */
/* Internal to mmu/tdp*.c: helpers shared by the fault and dirty-log code. */
#ifndef UMBRA_MMU_TDP_INT_H
#define UMBRA_MMU_TDP_INT_H

#include "mmu/tdp/tdp.h"

#define TDP_PENDING	32

/* Tables unlinked but not yet freed: freed after flush + epoch sync. */
struct tdp_pending {
	int n;
	int level[TDP_PENDING];
	uint64_t spte[TDP_PENDING];
};

#define tdp_stat(mmu, field, v)	stat_add(&(mmu)->stats.field, (v))

const struct mmu_map_range *tdp_find_range(const struct mmu_tdp *mmu,
					   uint64_t gpa);
bool tdp_block_fits(const struct mmu_tdp *mmu, const struct mmu_map_range *r,
		    uint64_t gpa, int level);
uint64_t tdp_make_leaf(const struct mmu_tdp *mmu,
		       const struct mmu_map_range *r, uint64_t gpa, int level);
int tdp_split(struct mmu_tdp *mmu, uint64_t *sptep, uint64_t *spte,
	      int level, bool wp);

void tdp_flush(struct mmu_tdp *mmu);
void tdp_pending_add(struct mmu_tdp *mmu, struct tdp_pending *p,
		     uint64_t spte, int level);
void tdp_pending_drain(struct mmu_tdp *mmu, struct tdp_pending *p);

bool tdp_logged(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size);
void tdp_mark_dirty(struct mmu_tdp *mmu, uint64_t gfn);
void tdp_recover_locked(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size);

#endif
