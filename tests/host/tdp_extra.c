// SPDX-License-Identifier: BSD-2-Clause
/*
 * TDP MMU operations only the host tests and benchmarks use (umbra maps on
 * demand and recovers large leaves when dirty logging stops), built on the
 * MMU's own interface.
 */
#include "mmu/dirty.h"
#include "mmu/env.h"
#include "mmu/tdp/internal.h"
#include "tests/host/tdp_extra.h"

int mmu_tdp_prefault(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size,
		     unsigned int access)
{
	uint64_t end = gpa + size;
	struct mmu_xlate x;

	gpa &= ~(PT_PAGE_SIZE - 1);
	while (gpa < end) {
		enum mmu_fault_result ret = mmu_tdp_fault(mmu, gpa, access);

		if (ret == MMU_FAULT_RETRY)
			continue;
		if (ret == MMU_FAULT_NOMEM)
			return -MMU_ENOMEM;
		if (ret != MMU_FAULT_FIXED)
			return -MMU_ENOENT;
		if (mmu_tdp_translate(mmu, gpa, &x))
			continue;	/* zapped meanwhile: again */
		gpa = (gpa & ~(pt_level_size(x.level) - 1)) +
		      pt_level_size(x.level);
	}
	return 0;
}


void mmu_tdp_recover_huge(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	write_lock(&mmu->lock);
	tdp_recover_locked(mmu, gpa, size);
	write_unlock(&mmu->lock);
}

void mmu_tdp_destroy(struct mmu_tdp *mmu)
{
	uint64_t **dir = mmu->log.dir;

	if (!mmu->root)
		return;
	mmu_tdp_zap(mmu, 0, 1ull << PT_VA_BITS);
	write_lock(&mmu->lock);
	epoch_sync(&mmu->epoch);
	if (dir) {
		__atomic_store_n(&mmu->log.dir, NULL, __ATOMIC_RELEASE);
		dirty_log_free(dir);
	}
	mmu_free_page(mmu->root);
	tdp_stat(mmu, tables_freed, 1);
	mmu->root = NULL;
	mmu->root_pa = 0;
	write_unlock(&mmu->lock);
}
