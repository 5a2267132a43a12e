// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TDP MMU: building NPT/EPT tables on demand from the memory map, with
 * every SPTE change a 64-bit compare-and-exchange under the read lock
 * (seed 004) and a lockless fast path for dirty-log write faults (seed 000).
 * Dirty logging and huge-page recovery are in dirty.c.
 */
#include "mmu/mutant.h"
#include "mmu/tdp/internal.h"
#include "mmu/env.h"

/* ---- the memory map ---- */

const struct mmu_map_range *tdp_find_range(const struct mmu_tdp *mmu,
					   uint64_t gpa)
{
	unsigned int lo = 0, hi = mmu->nr_map;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct mmu_map_range *r = &mmu->map[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static unsigned int tdp_range_perm(const struct mmu_map_range *r)
{
	unsigned int perm = PT_RWX;

	if (r->flags & MMU_MAP_RO)
		perm &= ~PT_W;
	if (r->flags & MMU_MAP_NX)
		perm &= ~PT_X;
	return perm;
}

/* The level-sized block holding gpa lies in r and is aligned in hpa too. */
bool tdp_block_fits(const struct mmu_tdp *mmu, const struct mmu_map_range *r,
		    uint64_t gpa, int level)
{
	uint64_t size = pt_level_size(level);
	uint64_t base = gpa & ~(size - 1);

	if (level == 1)
		return true;
	if (r->kind == MMU_MAP_SCRATCH || level > mmu->max_level)
		return false;
	if (r->size < size || base < r->gpa || base - r->gpa > r->size - size)
		return false;
	return ((r->hpa - r->gpa) & (size - 1)) == 0;
}

static enum pt_memtype range_memtype(const struct mmu_tdp *mmu,
				     const struct mmu_map_range *r)
{
	static const uint8_t pt_mt[] = {
		[MMU_MT_UC] = PT_MT_UC, [MMU_MT_WC] = PT_MT_WC,
		[MMU_MT_WT] = PT_MT_WT, [MMU_MT_WP] = PT_MT_WP,
		[MMU_MT_WB] = PT_MT_WB,
	};

	if (r->memtype != MMU_MT_DEFAULT && r->memtype <= MMU_MT_WB)
		return (enum pt_memtype)pt_mt[r->memtype];
	if (r->kind == MMU_MAP_MMIO && mmu->fmt == PT_FMT_EPT)
		return PT_MT_UC;
	return PT_MT_WB;
}

/* The leaf the map asks for at gpa's block of this level. */
uint64_t tdp_make_leaf(const struct mmu_tdp *mmu,
		       const struct mmu_map_range *r, uint64_t gpa, int level)
{
	uint64_t base = gpa & ~(pt_level_size(level) - 1);
	uint64_t hpa = r->hpa;
	unsigned int perm = tdp_range_perm(r);
	uint64_t e;

	if (r->kind != MMU_MAP_SCRATCH)
		hpa += base - r->gpa;
	e = pt_make_leaf(mmu->fmt, level, hpa, perm, range_memtype(mmu, r));
	return (perm & PT_W) ? e | SPTE_SW_W : e;
}

/* ---- tables ---- */

static uint64_t *alloc_table(struct mmu_tdp *mmu)
{
	uint64_t *t = mmu_alloc_page();

	if (t)
		tdp_stat(mmu, tables_alloc, 1);
	return t;
}

static void free_table(struct mmu_tdp *mmu, uint64_t *t)
{
	mmu_free_page(t);
	tdp_stat(mmu, tables_freed, 1);
}

/* Free the table that spte (an entry at level) points to, and below. */
static void free_subtree(struct mmu_tdp *mmu, uint64_t spte, int level)
{
	uint64_t *table = mmu_phys_to_virt(pt_table_pa(spte));
	unsigned int i;

	for (i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = atomic_read64(&table[i]);

		if (!pt_present(mmu->fmt, e))
			continue;
		if (pt_is_leaf(e, level - 1))
			tdp_stat(mmu, mapped[level - 2], -1);
		else
			free_subtree(mmu, e, level - 1);
	}
	free_table(mmu, table);
}

void tdp_flush(struct mmu_tdp *mmu)
{
	tdp_stat(mmu, flushes, 1);
	if (mmu->flush)
		mmu->flush(mmu->flush_arg);
}

static void free_pending(struct mmu_tdp *mmu, struct tdp_pending *p)
{
	int i;

	for (i = 0; i < p->n; i++)
		free_subtree(mmu, p->spte[i], p->level[i]);
	p->n = 0;
}

/* Caller holds the write lock: nothing but lockless walkers can be in the
 * unlinked tables, and those are gone after the flush and epoch sync. */
void tdp_pending_drain(struct mmu_tdp *mmu, struct tdp_pending *p)
{
	if (!p->n)
		return;
	if (MUTANT(tdp_free_before_flush))
		free_pending(mmu, p);
	tdp_flush(mmu);
	epoch_sync(&mmu->epoch);
	free_pending(mmu, p);
}

void tdp_pending_add(struct mmu_tdp *mmu, struct tdp_pending *p,
		     uint64_t spte, int level)
{
	if (p->n == TDP_PENDING)
		tdp_pending_drain(mmu, p);
	p->spte[p->n] = spte;
	p->level[p->n] = level;
	p->n++;
}

/*
 * Replace the large leaf *spte at *sptep by a table of leaves one level down
 * with the same frames and attributes (write-protected if wp).  Returns
 * MMU_FAULT_FIXED with *spte the new table entry, MMU_FAULT_RETRY if the
 * entry changed (*spte refreshed) or MMU_FAULT_NOMEM.
 */
int tdp_split(struct mmu_tdp *mmu, uint64_t *sptep, uint64_t *spte,
	      int level, bool wp)
{
	uint64_t *child = alloc_table(mmu);
	uint64_t pa = pt_leaf_pa(*spte, level);
	uint64_t step = pt_level_size(level - 1);
	uint64_t new;
	unsigned int i;

	if (!child)
		return MMU_FAULT_NOMEM;
	for (i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = pt_leaf_resize(*spte, level, level - 1,
					    pa + i * step);

		child[i] = wp ? pt_clear_w(mmu->fmt, e) : e;
	}
	new = pt_make_table(mmu->fmt, mmu_virt_to_phys(child));
	if (!atomic_cmpxchg64(sptep, spte, new)) {
		free_table(mmu, child);
		return MMU_FAULT_RETRY;
	}
	*spte = new;
	tdp_stat(mmu, mapped[level - 1], -1);
	tdp_stat(mmu, mapped[level - 2], PT_ENTRIES);
	tdp_stat(mmu, splits, 1);
	return MMU_FAULT_FIXED;
}

/* ---- page faults ---- */

static int map_level(struct mmu_tdp *mmu, const struct mmu_map_range *r,
		     uint64_t gpa)
{
	int level;

	for (level = mmu->max_level; level > 1; level--) {
		uint64_t size = pt_level_size(level);

		if (tdp_block_fits(mmu, r, gpa, level) &&
		    !tdp_logged(mmu, gpa & ~(size - 1), size))
			return level;
	}
	return 1;
}

static bool grants(struct mmu_tdp *mmu, uint64_t spte, unsigned int access)
{
	return (pt_perm(mmu->fmt, spte) & access) == access;
}

/*
 * Install the leaf at *sptep (read as spte: absent, or a leaf lacking the
 * access).  While the page is logged a read maps it write-protected and a
 * write marks it dirty, after the exchange succeeded, exactly once.
 */
static enum mmu_fault_result set_leaf(struct mmu_tdp *mmu,
				      const struct mmu_map_range *r,
				      uint64_t *sptep, uint64_t spte,
				      uint64_t gpa, int level,
				      unsigned int access)
{
	uint64_t new = tdp_make_leaf(mmu, r, gpa, level);
	bool present = pt_present(mmu->fmt, spte);
	bool logged = tdp_logged(mmu, gpa & ~(PT_PAGE_SIZE - 1), PT_PAGE_SIZE);

	if (present && grants(mmu, spte, access)) {
		tdp_stat(mmu, spurious, 1);
		return MMU_FAULT_FIXED;
	}
	if (logged && !(access & PT_W))
		new = pt_clear_w(mmu->fmt, new);
	if (!atomic_cmpxchg64(sptep, &spte, new))
		return MMU_FAULT_RETRY;
	if (!present)
		tdp_stat(mmu, mapped[level - 1], 1);
	if (logged && (access & PT_W))
		tdp_mark_dirty(mmu, gpa >> PT_PAGE_SHIFT);
	return MMU_FAULT_FIXED;
}

static enum mmu_fault_result link_table(struct mmu_tdp *mmu, uint64_t *sptep,
					uint64_t *spte)
{
	uint64_t *child = alloc_table(mmu);
	uint64_t new;

	if (!child)
		return MMU_FAULT_NOMEM;
	new = pt_make_table(mmu->fmt, mmu_virt_to_phys(child));
	if (!atomic_cmpxchg64(sptep, spte, new) &&
	    !MUTANT(tdp_lost_cmpxchg)) {
		free_table(mmu, child);		/* lost the race to link */
		return MMU_FAULT_RETRY;
	}
	*spte = new;
	return MMU_FAULT_FIXED;
}

/* A larger leaf than the map level allows here: split it (protected if
 * its block is logged) and go on into the new table. */
static int split_for(struct mmu_tdp *mmu, uint64_t *sptep, uint64_t *spte,
		     uint64_t gpa, int level)
{
	uint64_t size = pt_level_size(level);

	return tdp_split(mmu, sptep, spte, level,
			 tdp_logged(mmu, gpa & ~(size - 1), size));
}

/* The slow path, under the read lock. */
static enum mmu_fault_result tdp_map(struct mmu_tdp *mmu,
				     const struct mmu_map_range *r,
				     uint64_t gpa, unsigned int access)
{
	int target = map_level(mmu, r, gpa);
	uint64_t *table = mmu->root;
	int level, ret;

	for (level = PT_LEVELS; level >= 1; level--) {
		uint64_t *sptep = &table[pt_index(gpa, level)];
		uint64_t spte = atomic_read64(sptep);
		bool present = pt_present(mmu->fmt, spte);

		if (level == target) {
			if (!present || pt_is_leaf(spte, level))
				return set_leaf(mmu, r, sptep, spte, gpa,
						level, access);
			target--;	/* a table is here: map inside it */
		}
		if (!present) {
			ret = link_table(mmu, sptep, &spte);
		} else if (pt_is_leaf(spte, level)) {
			if (grants(mmu, spte, access)) {
				tdp_stat(mmu, spurious, 1);
				return MMU_FAULT_FIXED;
			}
			ret = split_for(mmu, sptep, &spte, gpa, level);
		} else {
			ret = MMU_FAULT_FIXED;
		}
		if (ret != MMU_FAULT_FIXED)
			return ret;
		table = mmu_phys_to_virt(pt_table_pa(spte));
	}
	return MMU_FAULT_RETRY;		/* not reached: level 1 is a target */
}

/*
 * Seed 000: a write to a present 4 KiB leaf that is write-protected only for
 * dirty logging (SPTE_SW_W without W) is fixed by one compare-and-exchange
 * without the MMU lock; only the winner marks the page dirty.  Returns true
 * if the fault is fixed (or was spurious).
 */
static bool fast_fault(struct mmu_tdp *mmu, uint64_t gpa)
{
	struct pt_lookup l;
	uint32_t slot = epoch_enter(&mmu->epoch);
	uint64_t spte;
	bool fixed = false;
	int tries;

	pt_lookup(mmu->fmt, mmu->root, gpa, &l);
	spte = l.spte;
	for (tries = 0; tries < 4 && l.level; tries++) {
		if (!pt_present(mmu->fmt, spte))
			break;
		if (pt_perm(mmu->fmt, spte) & PT_W) {
			tdp_stat(mmu, spurious, 1);
			fixed = true;
			break;
		}
		if (l.level != 1 || !(spte & SPTE_SW_W))
			break;
		if (atomic_cmpxchg64(l.sptep, &spte,
				     pt_set_w(mmu->fmt, spte))) {
			tdp_mark_dirty(mmu, gpa >> PT_PAGE_SHIFT);
			tdp_stat(mmu, fast_fixes, 1);
			fixed = true;
			break;
		}
	}
	epoch_exit(&mmu->epoch, slot);
	return fixed;
}

enum mmu_fault_result mmu_tdp_fault(struct mmu_tdp *mmu, uint64_t gpa,
				    unsigned int access)
{
	const struct mmu_map_range *r = tdp_find_range(mmu, gpa);
	enum mmu_fault_result ret;

	tdp_stat(mmu, faults, 1);
	if (!r)
		return MMU_FAULT_NOT_IN_MAP;
	access &= PT_RWX;
	if (access & ~tdp_range_perm(r))
		return MMU_FAULT_PROT;
	if ((access & PT_W) && !mmu->no_fast_path && fast_fault(mmu, gpa))
		return MMU_FAULT_FIXED;
	read_lock(&mmu->lock);
	ret = tdp_map(mmu, r, gpa, access);
	read_unlock(&mmu->lock);
	if (ret == MMU_FAULT_RETRY)
		tdp_stat(mmu, retries, 1);
	return ret;
}

/* ---- zap, translate, statistics ---- */

struct zap_ctx {
	struct mmu_tdp *mmu;
	struct tdp_pending pend;
	bool changed;
};

static bool zap_pre(struct pt_visitor *v, uint64_t *sptep, uint64_t *spte,
		    uint64_t addr, int level)
{
	struct zap_ctx *z = v->ctx;
	bool leaf = pt_is_leaf(*spte, level);
	uint64_t old;

	if (!leaf && (addr < v->start || addr + pt_level_size(level) > v->end))
		return true;		/* partly covered table: go down */
	old = atomic_xchg64(sptep, 0);
	z->changed = true;
	if (leaf)
		tdp_stat(z->mmu, mapped[level - 1], -1);
	else
		tdp_pending_add(z->mmu, &z->pend, old, level);
	return false;
}

static void zap_locked(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	struct zap_ctx z = { .mmu = mmu };
	struct pt_visitor v = {
		.fmt = mmu->fmt, .start = gpa, .end = gpa + size,
		.pre = zap_pre, .ctx = &z,
	};

	if (gpa + size < gpa)
		v.end = ~0ull;
	pt_visit(&v, mmu->root, PT_LEVELS);
	if (z.pend.n)
		tdp_pending_drain(mmu, &z.pend);
	else if (z.changed)
		tdp_flush(mmu);
}

void mmu_tdp_zap(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	write_lock(&mmu->lock);
	zap_locked(mmu, gpa, size);
	write_unlock(&mmu->lock);
}

int mmu_tdp_translate(struct mmu_tdp *mmu, uint64_t gpa,
		      struct mmu_xlate *out)
{
	uint32_t slot = epoch_enter(&mmu->epoch);
	struct pt_lookup l;

	pt_lookup(mmu->fmt, mmu->root, gpa, &l);
	epoch_exit(&mmu->epoch, slot);
	out->level = l.level;
	out->hpa = l.pa;
	out->spte = l.level ? l.spte : 0;
	out->perm = l.level ? pt_perm(mmu->fmt, l.spte) : 0;
	return l.level ? 0 : -MMU_ENOENT;
}

void mmu_tdp_get_stats(struct mmu_tdp *mmu, struct mmu_tdp_stats *out)
{
	const uint64_t *src = (const uint64_t *)&mmu->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

uint64_t mmu_tdp_nr_tables(struct mmu_tdp *mmu)
{
	return __atomic_load_n(&mmu->stats.tables_alloc, __ATOMIC_RELAXED) -
	       __atomic_load_n(&mmu->stats.tables_freed, __ATOMIC_RELAXED);
}

/* ---- set up and tear down ---- */

static bool range_ok(const struct mmu_map_range *r)
{
	uint64_t mask = PT_PAGE_SIZE - 1;

	if ((r->gpa | r->size | r->hpa) & mask || !r->size)
		return false;
	if (r->gpa + r->size < r->gpa ||
	    r->gpa + r->size > (1ull << PT_VA_BITS))
		return false;
	if (r->hpa + r->size < r->hpa || (r->hpa & ~PT_ADDR_MASK))
		return false;
	return r->kind >= MMU_MAP_RAM && r->kind <= MMU_MAP_SCRATCH;
}

/* Copy and sort the map (insertion sort: it is short), refuse overlaps. */
static int load_map(struct mmu_tdp *mmu, const struct mmu_tdp_config *cfg)
{
	unsigned int i, j;

	if (cfg->nr_map > MMU_MAX_RANGES || (cfg->nr_map && !cfg->map))
		return -MMU_EINVAL;
	for (i = 0; i < cfg->nr_map; i++) {
		struct mmu_map_range r = cfg->map[i];

		if (!range_ok(&r))
			return -MMU_EINVAL;
		for (j = i; j > 0 && mmu->map[j - 1].gpa > r.gpa; j--)
			mmu->map[j] = mmu->map[j - 1];
		mmu->map[j] = r;
	}
	mmu->nr_map = cfg->nr_map;
	for (i = 1; i < mmu->nr_map; i++)
		if (mmu->map[i].gpa - mmu->map[i - 1].gpa <
		    mmu->map[i - 1].size)
			return -MMU_EINVAL;
	return 0;
}

int mmu_tdp_init(struct mmu_tdp *mmu, const struct mmu_tdp_config *cfg)
{
	int ret;

	__builtin_memset(mmu, 0, sizeof(*mmu));
	if (cfg->fmt != PT_FMT_NPT && cfg->fmt != PT_FMT_EPT)
		return -MMU_EINVAL;
	if (cfg->max_level < 1 || cfg->max_level > 3)
		return -MMU_EINVAL;
	mmu->fmt = cfg->fmt;
	mmu->max_level = cfg->max_level;
	mmu->flush = cfg->flush;
	mmu->flush_arg = cfg->flush_arg;
	rwlock_init(&mmu->lock);
	epoch_init(&mmu->epoch);
	ret = load_map(mmu, cfg);
	if (ret)
		return ret;
	mmu->root = alloc_table(mmu);
	if (!mmu->root)
		return -MMU_ENOMEM;
	mmu->root_pa = mmu_virt_to_phys(mmu->root);
	return 0;
}

uint64_t mmu_tdp_root_pa(const struct mmu_tdp *mmu)
{
	return mmu->root_pa;
}

/* SDM Vol 3 24.6.11: bits 2:0 memory type of the walk (WB), bits 5:3 the
 * walk length minus one; A/D (bit 6) left off, mmu/ does not use them. */
uint64_t mmu_tdp_eptp(const struct mmu_tdp *mmu)
{
	return mmu->root_pa | PT_MT_WB | ((uint64_t)(PT_LEVELS - 1) << 3);
}
