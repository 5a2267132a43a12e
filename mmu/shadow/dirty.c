// SPDX-License-Identifier: BSD-2-Clause
/*
 * Dirty logging under shadow paging (docs/mmu.md, part 2, "Dirty
 * logging"), on the bitmap mmu/dirty.c keeps for both MMUs.  A leaf of a
 * logged frame that the guest may write carries SPTE_SH_W; it has W only
 * once the frame is marked.  The harvest takes and clears the bits first,
 * then write-protects those frames again (seed 003's order), through the
 * rmap of each dirty frame or by a walk of every leaf shadow page,
 * whichever the measured rule below says is cheaper.
 */
#include "mmu/mutant.h"
#include "mmu/shadow/internal.h"

void sh_mark_dirty(struct shadow_mmu *s, uint64_t gfn)
{
	if (dirty_log_mark(&s->log, gfn))
		stat_add(&s->st.dirty_marks, 1);
}

uint64_t leaf_w_logged(struct shadow_mmu *s, uint64_t gfn, bool write)
{
	if (!dirty_log_has(&s->log, gfn))
		return SPTE_SH_W | PTE_RW | PTE_D;
	if (!write)
		return SPTE_SH_W;
	sh_mark_dirty(s, gfn);
	return SPTE_SH_W | PTE_RW | PTE_D;
}

/* The guest walk's memory while logging: an A/D update marks its frame. */
static int logged_read(void *arg, uint64_t gpa, unsigned int size,
		       uint64_t *val)
{
	struct shadow_mmu *s = arg;

	return s->cfg.mem->read(s->cfg.mem_arg, gpa, size, val);
}

static int logged_cmpxchg(void *arg, uint64_t gpa, unsigned int size,
			  uint64_t old, uint64_t new)
{
	struct shadow_mmu *s = arg;
	int r = s->cfg.mem->cmpxchg(s->cfg.mem_arg, gpa, size, old, new);

	if (r == 1)		/* replaced: mmu/walk.h */
		sh_mark_dirty(s, gpa >> 12);
	return r;
}

const struct gw_mem_ops sh_logged_mem = {
	.read = logged_read,
	.cmpxchg = logged_cmpxchg,
};

/*
 * Every leaf shadow page: clear W of the leaves of gfns [first, last) that
 * have it, or (restore) give it back to those with SPTE_SH_W alone.
 */
static void walk_leaves(struct shadow_mmu *s, uint64_t first, uint64_t last,
			bool restore)
{
	struct sh_list *l;
	unsigned int i;

	for (l = s->lru.next; l != &s->lru; l = l->next) {
		struct shadow_page *sp = sh_container(l, struct shadow_page,
						      lru);

		if (sp->role.level != 1)
			continue;
		for (i = 0; i < PT_ENTRIES; i++) {
			uint64_t e = __atomic_load_n(&sp->spt[i],
						     __ATOMIC_RELAXED) &
				     (PTE_P | PTE_RW | SPTE_SH_W);

			if ((restore ? e != (PTE_P | SPTE_SH_W) :
				       !(e & PTE_RW)) ||
			    leaf_gfn(sp, i) - first >= last - first)
				continue;
			if (restore)	/* the fast path may race: atomic */
				__atomic_fetch_or(&sp->spt[i], PTE_RW | PTE_D,
						  __ATOMIC_SEQ_CST);
			else if (spte_clear(&sp->spt[i], PTE_RW))
				s->flush_all = true;
		}
	}
}

static void dirty_finish(struct shadow_mmu *s)
{
	sh_commit(s);	/* every vCPU flushes: none holds the lock */
	sh_unlock(s);
}

int shadow_dirty_enable(struct shadow_mmu *s, uint64_t gpa, uint64_t size)
{
	uint64_t **dir;

	if (dirty_log_check(gpa, size))
		return -MMU_EINVAL;
	dir = dirty_log_alloc(size >> PT_PAGE_SHIFT);
	if (!dir)
		return -MMU_ENOMEM;
	sh_lock(s, NULL);
	if (s->log.dir) {
		sh_unlock(s);
		dirty_log_free(dir);
		return -MMU_EBUSY;
	}
	s->log.gfn = gpa >> PT_PAGE_SHIFT;
	s->log.nr = size >> PT_PAGE_SHIFT;
	__atomic_store_n(&s->log.dir, dir, __ATOMIC_SEQ_CST);
	/* a 2 MiB leaf cannot protect each frame: refault at 4 KiB */
	large_zap_range(s, s->log.gfn, s->log.nr);
	walk_leaves(s, s->log.gfn, s->log.gfn + s->log.nr, false);
	dirty_finish(s);
	return 0;
}

void shadow_dirty_disable(struct shadow_mmu *s)
{
	uint64_t **dir;

	sh_lock(s, NULL);
	dir = s->log.dir;
	if (dir) {
		__atomic_store_n(&s->log.dir, NULL, __ATOMIC_SEQ_CST);
		walk_leaves(s, s->log.gfn, s->log.gfn + s->log.nr, true);
		sh_limbo_drain(s);	/* the fast path may still mark */
		dirty_log_free(dir);
		/* huge-page recovery (large.c): the direct pages the log
		 * kept at 4 KiB, after the fast path is out of them */
		if (s->cfg.large_ok && !MUTANT(shadow_no_recover)) {
			s->recover_all = true;
			recover_large(s);
		}
	}
	dirty_finish(s);
}

static void reprotect_rmap(struct shadow_mmu *s, uint64_t first,
			   const uint64_t *bitmap, uint64_t nr)
{
	uint64_t w;

	for (w = 0; w < (nr + 63) / 64; w++)
		for (uint64_t b = bitmap[w]; b; b &= b - 1)
			rmap_clear(s, first + w * 64 +
				   (uint64_t)__builtin_ctzll(b), PTE_RW);
}

long shadow_dirty_get(struct shadow_mmu *s, uint64_t gpa, uint64_t size,
		      uint64_t *bitmap)
{
	uint64_t first = gpa >> PT_PAGE_SHIFT;
	uint64_t last = (gpa + size) >> PT_PAGE_SHIFT;
	enum mmu_reprotect how = s->reprotect;
	long n;

	sh_lock(s, NULL);
	n = dirty_log_take(&s->log, gpa, size, bitmap);
	if (n < 0) {
		sh_unlock(s);
		return n;
	}
	if (how == MMU_REPROTECT_AUTO)
		how = (uint64_t)n < (uint64_t)s->nr_pages *
		      SH_RMAP_PER_PAGE ? MMU_REPROTECT_LOOKUP :
		      MMU_REPROTECT_WALK;
	if (MUTANT(shadow_harvest_no_wp)) {
	} else if (how == MMU_REPROTECT_LOOKUP) {
		s->st.reprotect_rmap++;
		reprotect_rmap(s, first, bitmap, last - first);
	} else {
		s->st.reprotect_walk++;
		walk_leaves(s, first, last, false);
	}
	if (MUTANT(shadow_harvest_no_flush))
		s->flush_all = false;
	dirty_finish(s);
	return n;
}

void shadow_set_reprotect(struct shadow_mmu *s, enum mmu_reprotect how)
{
	s->reprotect = how;
}
