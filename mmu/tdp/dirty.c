// SPDX-License-Identifier: BSD-2-Clause
/*
 * Dirty logging and huge-page recovery for the TDP MMU.
 *
 * Enable (write lock) splits every large leaf of the range eagerly and
 * write-protects the 4 KiB leaves; a write then faults and is fixed by the
 * fast path or the slow path, which set the gfn's bit.  The harvest (read
 * lock) first takes and clears the bits, then write-protects those pages
 * again: a write in between is already in this harvest, and the caller reads
 * the pages after the flush (seed 003's argument).  Re-protection goes either
 * down to each dirty gfn (in TDP the gfn is the index, so the descent is the
 * "reverse map") or over every table of the range.
 *
 * Disable (write lock) stops marking, then puts large leaves back in place of
 * tables first and frees the tables after the flush (seed 001), so another
 * vCPU never finds the range unmapped.
 */
#include "mmu/mutant.h"
#include "mmu/tdp/internal.h"
#include "mmu/env.h"

bool tdp_logged(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	uint64_t **dir = __atomic_load_n(&mmu->log.dir, __ATOMIC_ACQUIRE);
	uint64_t first = gpa >> PT_PAGE_SHIFT;
	uint64_t last = (gpa + size - 1) >> PT_PAGE_SHIFT;

	if (!dir)
		return false;
	return last >= mmu->log.gfn && first < mmu->log.gfn + mmu->log.nr;
}

/* Lockless callers are inside the epoch: the bitmap outlives them. */
void tdp_mark_dirty(struct mmu_tdp *mmu, uint64_t gfn)
{
	if (dirty_log_mark(&mmu->log, gfn))
		tdp_stat(mmu, dirty_marks, 1);
}

/* Clear W of a leaf (compare-and-exchange: the fast path may race). */
static bool wp_spte(struct mmu_tdp *mmu, uint64_t *sptep, uint64_t spte)
{
	while (pt_present(mmu->fmt, spte) && (spte & PTE_RW)) {
		if (atomic_cmpxchg64(sptep, &spte, pt_clear_w(mmu->fmt, spte)))
			return true;
	}
	return false;
}

struct protect_ctx {
	struct mmu_tdp *mmu;
	bool split;		/* enable: split large leaves first */
	bool changed;
};

static bool protect_pre(struct pt_visitor *v, uint64_t *sptep, uint64_t *spte,
			uint64_t addr, int level)
{
	struct protect_ctx *c = v->ctx;
	struct mmu_tdp *mmu = c->mmu;
	int ret;

	if (!pt_is_leaf(*spte, level))
		return true;
	if (level == 1 || !c->split) {
		c->changed |= wp_spte(mmu, sptep, *spte);
		return false;
	}
	do {
		ret = tdp_split(mmu, sptep, spte, level, true);
	} while (ret == MMU_FAULT_RETRY && pt_present(mmu->fmt, *spte) &&
		 pt_is_leaf(*spte, level));
	c->changed = true;
	if (ret == MMU_FAULT_NOMEM) {
		/* no table to split into: unmap, faults map 4 KiB later */
		atomic_xchg64(sptep, 0);
		tdp_stat(mmu, mapped[level - 1], -1);
		return false;
	}
	return true;		/* into the new table: split further */
}

static bool protect_range(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size,
			  bool split)
{
	struct protect_ctx c = { .mmu = mmu, .split = split };
	struct pt_visitor v = {
		.fmt = mmu->fmt, .start = gpa, .end = gpa + size,
		.pre = protect_pre, .ctx = &c,
	};

	pt_visit(&v, mmu->root, PT_LEVELS);
	return c.changed;
}

int mmu_tdp_dirty_enable(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	uint64_t nr = size >> PT_PAGE_SHIFT;
	uint64_t **dir;

	if (dirty_log_check(gpa, size))
		return -MMU_EINVAL;
	dir = dirty_log_alloc(nr);
	if (!dir)
		return -MMU_ENOMEM;
	write_lock(&mmu->lock);
	if (mmu->log.dir) {
		write_unlock(&mmu->lock);
		dirty_log_free(dir);
		return -MMU_EBUSY;
	}
	mmu->log.gfn = gpa >> PT_PAGE_SHIFT;
	mmu->log.nr = nr;
	/*
	 * Sequentially consistent against the fast path's cmpxchg-then-load
	 * of dir: either it sees the log and marks, or protect_range() below
	 * sees its W and clears it.  (A plain release store could sit in the
	 * store buffer while we read the leaf: both would miss.)
	 */
	__atomic_store_n(&mmu->log.dir, dir, __ATOMIC_SEQ_CST);
	if (protect_range(mmu, gpa, size, true))
		tdp_flush(mmu);
	write_unlock(&mmu->lock);
	return 0;
}

struct recover_ctx {
	struct mmu_tdp *mmu;
	struct tdp_pending pend;
};

/* A table whose whole block the map can give as one leaf becomes that
 * leaf: exchange first, free the table after the flush (seed 001). */
static bool recover_pre(struct pt_visitor *v, uint64_t *sptep, uint64_t *spte,
			uint64_t addr, int level)
{
	struct recover_ctx *c = v->ctx;
	struct mmu_tdp *mmu = c->mmu;
	const struct mmu_map_range *r;
	uint64_t new, old;

	if (pt_is_leaf(*spte, level))
		return false;
	if (level > mmu->max_level)
		return true;
	r = tdp_find_range(mmu, addr);
	if (!r || !tdp_block_fits(mmu, r, addr, level) ||
	    tdp_logged(mmu, addr, pt_level_size(level)))
		return true;
	new = tdp_make_leaf(mmu, r, addr, level);
	old = atomic_xchg64(sptep, new);
	*spte = new;
	tdp_stat(mmu, mapped[level - 1], 1);
	tdp_stat(mmu, recovered, 1);
	tdp_pending_add(mmu, &c->pend, old, level);
	return false;
}

void tdp_recover_locked(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	struct recover_ctx c = { .mmu = mmu };
	struct pt_visitor v = {
		.fmt = mmu->fmt, .start = gpa, .end = gpa + size,
		.pre = recover_pre, .ctx = &c,
	};

	pt_visit(&v, mmu->root, PT_LEVELS);
	tdp_pending_drain(mmu, &c.pend);
}

void mmu_tdp_dirty_disable(struct mmu_tdp *mmu)
{
	uint64_t **dir;

	write_lock(&mmu->lock);
	dir = mmu->log.dir;
	if (dir) {
		__atomic_store_n(&mmu->log.dir, NULL, __ATOMIC_RELEASE);
		tdp_recover_locked(mmu, mmu->log.gfn << PT_PAGE_SHIFT,
				   mmu->log.nr << PT_PAGE_SHIFT);
		epoch_sync(&mmu->epoch);	/* fast path may still mark */
		dirty_log_free(dir);
	}
	write_unlock(&mmu->lock);
}

/* Seed 003: write-protect each dirty gfn by going straight down to it. */
static bool reprotect_lookup(struct mmu_tdp *mmu, uint64_t first,
			     const uint64_t *bitmap, uint64_t nr)
{
	bool changed = false;
	uint64_t w;

	for (w = 0; w < (nr + 63) / 64; w++) {
		uint64_t bits = bitmap[w];

		for (; bits; bits &= bits - 1) {
			uint64_t gfn = first + w * 64 +
				       (uint64_t)__builtin_ctzll(bits);
			struct pt_lookup l;

			pt_lookup(mmu->fmt, mmu->root, gfn << PT_PAGE_SHIFT,
				  &l);
			if (l.level)
				changed |= wp_spte(mmu, l.sptep, l.spte);
		}
	}
	return changed;
}

long mmu_tdp_dirty_get(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size,
		       uint64_t *bitmap)
{
	uint64_t first = gpa >> PT_PAGE_SHIFT;
	uint64_t last = (gpa + size) >> PT_PAGE_SHIFT;
	enum mmu_reprotect how = mmu->reprotect;
	bool changed;
	long n;

	read_lock(&mmu->lock);
	n = dirty_log_take(&mmu->log, gpa, size, bitmap);
	if (n < 0) {
		read_unlock(&mmu->lock);
		return n;
	}
	/*
	 * A walk reads every entry of every table (~5 ns each), a lookup
	 * descends once per dirty page (~13 ns): bench_mmu puts the cross-over
	 * near half the entries, far above seed 003's "fewer dirty pages than
	 * tables", which priced a shadow-MMU rmap chain, not a 4-load descent.
	 */
	if (how == MMU_REPROTECT_AUTO)
		how = (uint64_t)n * 2 < mmu_tdp_nr_tables(mmu) * PT_ENTRIES +
		      MUTANT(tdp_auto_off_by_one) ?
		      MMU_REPROTECT_LOOKUP : MMU_REPROTECT_WALK;
	if (how == MMU_REPROTECT_LOOKUP) {
		tdp_stat(mmu, reprotect_lookup, 1);
		changed = reprotect_lookup(mmu, first, bitmap, last - first);
	} else {
		tdp_stat(mmu, reprotect_walk, 1);
		changed = protect_range(mmu, first << PT_PAGE_SHIFT,
					(last - first) << PT_PAGE_SHIFT, false);
	}
	if (changed)
		tdp_flush(mmu);
	read_unlock(&mmu->lock);
	return n;
}
