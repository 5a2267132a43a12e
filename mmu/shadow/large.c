// SPDX-License-Identifier: BSD-2-Clause
/*
 * Large shadow leaves (docs/mmu.md, part 2, "Large SPTEs"): a guest large
 * page (2 MiB, a 2 MiB half of a 32-bit guest's 4 MiB page, or a 2 MiB
 * part of a 1 GiB page) gets one 2 MiB SPTE instead of a direct level-1
 * page when its 2 MiB region of guest frames qualifies:
 *   - the environment says the region is RAM backed by consecutive host
 *     frames with one memory type (cfg.large_ok);
 *   - no frame of it holds a shadowed guest table (the region record's
 *     count): those frames must stay write-protected, which a 2 MiB SPTE
 *     cannot do for one 4 KiB frame;
 *   - no frame of it is dirty-logged (logging protects each frame).
 * A frame of the region that starts to be shadowed drops every 2 MiB SPTE
 * of the region before the frame is write-protected (region_shadowed());
 * the accesses refault at 4 KiB.  When the region's last shadowed table
 * goes, or dirty logging stops, recovery puts a 2 MiB SPTE in place of
 * each link to the region's direct level-1 page and only then zaps that
 * page (seed 001: install before free, so that no vCPU ever finds the
 * range unmapped; the page is reused only after every vCPU flushed,
 * sh_commit()).
 */
#include "mmu/mutant.h"
#include "mmu/shadow/internal.h"

/* gfn: the first frame of a 2 MiB region */
bool large_allowed(struct shadow_mmu *s, uint64_t gfn)
{
	struct gfn_info *ri;

	if (!s->cfg.large_ok)
		return false;
	if (s->log.dir && gfn + SH_REGION_PAGES > s->log.gfn &&
	    gfn < s->log.gfn + s->log.nr)
		return false;
	ri = gfn_lookup(s, region_key(gfn));
	if (ri && ri->nr_indirect && !MUTANT(shadow_large_over_table))
		return false;
	return s->cfg.large_ok(s->cfg.pfn_arg, gfn, SH_REGION_PAGES);
}

/* A 2 MiB leaf: as make_leaf(), with PS, and PAT in bit 12 (SDM Vol 3
 * Table 4-17; PAE's Table 4-10 is the same).  attr: PWT, PCD and PAT in
 * its 4 KiB place (bit 7), as fault.c gathers them. */
uint64_t make_large(struct shadow_mmu *s, uint64_t pfn, unsigned int perm,
		    uint64_t w, uint64_t attr)
{
	uint64_t e = make_leaf(s, pfn, perm, w,
			       attr & (PTE_PWT | PTE_PCD | PTE_PKEY));

	return e | PTE_PS | ((attr & PTE_PAT4K) ? PTE_PATLG : 0);
}

/*
 * Make entry i of level-2 page sp the 2 MiB leaf spte for the region at
 * gfn.  A link it replaces goes with one store, so that another vCPU's
 * walk finds either the old table or the leaf; the old child page loses
 * this parent but is not freed here (the caller zaps it if nothing else
 * links it).
 */
int set_large(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	      uint64_t gfn, uint64_t spte)
{
	uint64_t old = __atomic_load_n(&sp->spt[i], __ATOMIC_RELAXED);

	if (!sp->gptes) {
		sp->gptes = sh_page_alloc(s);
		if (!sp->gptes)
			return -MMU_ENOMEM;
	}
	if (spte_present(old) && spte_large(sp, old) && sp->gptes[i] == gfn) {
		if ((old & ~spte) & (PTE_RW | PTE_US | PT_ADDR_MASK) ||
		    (spte & ~old & PTE_NX))
			s->flush_all = true;	/* less permission */
		spte_set(&sp->spt[i], spte);
		return 0;
	}
	if (rmap_add(s, region_key(gfn), &sp->spt[i]))
		return -MMU_ENOMEM;
	if (!spte_present(old)) {
		sp->nr_present++;
	} else if (spte_large(sp, old)) {
		rmap_del(s, region_key(sp->gptes[i]), &sp->spt[i]);
		s->flush_all = true;
	} else {
		struct shadow_page *child = sp_by_pa(s, old);

		if (child)
			sptep_del(s, &child->parents, &sp->spt[i]);
		sp->unsync_children[i / 64] &= ~(1ull << (i % 64));
		/* the old table may sit in paging-structure caches (SDM Vol 3
		 * 4.10.3) until every vCPU flushed */
		s->flush_all = true;
	}
	sp->gptes[i] = gfn;
	atomic_write64(&sp->spt[i], spte);
	return 0;
}

struct gfn_info *region_get(struct shadow_mmu *s, uint64_t gfn)
{
	return gfn_get(s, region_key(gfn));
}

/*
 * A frame of region ri now holds a shadowed table: every 2 MiB SPTE over
 * the region goes (and every vCPU flushes, drop_spte()) before the frame
 * is write-protected.  Counted first, so that the record stays.
 */
void region_shadowed(struct shadow_mmu *s, struct gfn_info *ri)
{
	uint64_t *p;

	if (ri->nr_indirect++)
		return;		/* none can be there */
	while (sptep_get(&ri->rmap, &p, 1, 0)) {
		drop_spte(s, sp_of_spte(s, p), spte_index(p));
		s->st.large_zapped++;
	}
}

static void queue_recovery(struct shadow_mmu *s, uint64_t gfn)
{
	unsigned int k;

	if (s->recover_all || !s->cfg.large_ok)
		return;
	for (k = 0; k < s->nr_recover; k++)
		if (s->recover[k] == gfn)
			return;
	if (s->nr_recover == SH_RECOVER)
		s->recover_all = true;
	else
		s->recover[s->nr_recover++] = gfn;
}

/* The last shadow page of frame gfn went: one shadowed frame fewer. */
void region_unshadowed(struct shadow_mmu *s, uint64_t gfn)
{
	struct gfn_info *ri = gfn_lookup(s, region_key(gfn));

	if (!ri || !ri->nr_indirect || --ri->nr_indirect)
		return;
	gfn_put(s, ri);
	queue_recovery(s, gfn & ~(uint64_t)(SH_REGION_PAGES - 1));
}

/* Dirty logging starts on [first, first + nr): no 2 MiB SPTE maps it. */
void large_zap_range(struct shadow_mmu *s, uint64_t first, uint64_t nr)
{
	uint64_t r, last = (first + nr - 1) / SH_REGION_PAGES;

	for (r = first / SH_REGION_PAGES; r <= last; r++) {
		struct gfn_info *ri = gfn_lookup(s, SH_REGION_KEY | r);
		uint64_t *p;

		if (!ri)
			continue;
		/* the record goes with its last SPTE: look it up again */
		while ((ri = gfn_lookup(s, SH_REGION_KEY | r)) &&
		       sptep_get(&ri->rmap, &p, 1, 0)) {
			drop_spte(s, sp_of_spte(s, p), spte_index(p));
			s->st.large_zapped++;
		}
	}
}

/*
 * A direct level-1 page whose region now qualifies: a 2 MiB SPTE in each
 * parent entry, then the page zapped.  Its present leaves give the memory
 * type and the protection key (all of them the same, or nothing is
 * done); the role gives the permissions, the guest's along the walk,
 * without W while the guest's large entry was not dirty.
 */
static void recover_page(struct shadow_mmu *s, struct shadow_page *sp)
{
	const uint64_t amask = PTE_PWT | PTE_PCD | PTE_PAT4K | PTE_PKEY;
	uint64_t attr = ~0ull, spte, *par[16], gfn = sp->gfn;
	unsigned int i, n, k, perm = sp->role.access;
	int64_t pfn;

	if (!large_allowed(s, gfn))
		return;
	for (i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = sp->spt[i];

		if (!spte_present(e))
			continue;
		if (attr == ~0ull)
			attr = e & amask;
		else if ((e & amask) != attr)
			return;
	}
	pfn = s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn);
	n = sptep_get(&sp->parents, par, 16, 0);
	if (attr == ~0ull || pfn < 0 || !n)
		return;		/* nothing mapped, or unreachable: the LRU */
	spte = make_large(s, (uint64_t)pfn, perm, (perm & SH_ACC_W) ?
			  leaf_w(s, gfn, false) : 0, attr);
	if (MUTANT(shadow_recover_free_first)) {
		zap_page(s, sp);	/* the range unmapped for a while */
		sp = NULL;
	}
	for (k = 0; k < n; k++) {
		if (set_large(s, sp_of_spte(s, par[k]), spte_index(par[k]),
			      gfn, spte))
			break;	/* no memory: the rest keep the table */
		s->st.large_recovered++;
	}
	if (sp && !sptep_get(&sp->parents, par, 1, 0))
		zap_page(s, sp);
}

static bool recoverable(const struct shadow_page *sp)
{
	return sp->role.direct && sp->role.level == 1 && !sp->invalid;
}

/* Under the lock, at the end of an entry point (before its commit). */
void recover_large(struct shadow_mmu *s)
{
	unsigned int k, n = s->nr_recover, m, j;
	struct shadow_page *list[16], *sp;
	struct sh_list *l, *next;

	s->nr_recover = 0;
	if (s->recover_all) {
		s->recover_all = false;
		/* recover_page() frees sp alone: next stays valid */
		for (l = s->lru.next; l != &s->lru; l = next) {
			next = l->next;
			sp = sh_container(l, struct shadow_page, lru);
			if (recoverable(sp))
				recover_page(s, sp);
		}
		return;
	}
	for (k = 0; k < n; k++) {
		uint64_t gfn = s->recover[k];

		m = 0;
		for (sp = s->hash[sh_bucket(gfn)]; sp && m < 16; sp = sp->hnext)
			if (sp->gfn == gfn && recoverable(sp))
				list[m++] = sp;
		for (j = 0; j < m; j++)
			recover_page(s, list[j]);
	}
}
