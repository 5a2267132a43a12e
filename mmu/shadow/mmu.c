// SPDX-License-Identifier: BSD-2-Clause
/*
 * The shadow MMU (see shadow.h and docs/mmu.md, part 2): shadow pages and
 * their hash, the pool and its LRU, parent links, zap, set-up and
 * statistics; root.c has the roots, fault.c the guest's paging events.
 *
 * Shadow tables use the long-mode entry format (SDM Vol 3 4.5, Tables
 * 4-15..4-19); a guest that is not in long mode runs on PAE shadow tables
 * whose root holds 4 PDPTEs with only P set (SDM Vol 3 4.4.1, Table 4-8:
 * R/W, U/S and XD are reserved there).  The hardware runs with CR0.WP=1
 * and EFER.NXE=1 and the guest's CR4.SMEP/SMAP.
 */
#include "mmu/mutant.h"
#include "mmu/shadow/internal.h"

bool role_indirect(union shadow_role r)
{
	return !r.direct && !r.pae_root;
}

unsigned int spte_index(const uint64_t *sptep)
{
	return (unsigned int)(((uintptr_t)sptep & (PT_PAGE_SIZE - 1)) / 8);
}

struct shadow_page *sp_by_pa(struct shadow_mmu *s, uint64_t pa)
{
	struct shadow_page *sp;

	pa &= PT_ADDR_MASK;
	for (sp = s->pa_hash[sh_bucket(pa >> 12)]; sp; sp = sp->pnext)
		if (sp->spt_pa == pa)
			return sp;
	return NULL;
}

struct shadow_page *sp_of_spte(struct shadow_mmu *s, uint64_t *sptep)
{
	return sp_by_pa(s, mmu_virt_to_phys(sptep));
}

/* Set bit i in sp and make sure every ancestor points down to sp. */
static void mark_unsync_bit(struct shadow_mmu *s, struct shadow_page *sp,
			    unsigned int i);

void mark_unsync_up(struct shadow_mmu *s, struct shadow_page *sp)
{
	uint64_t *batch[16];
	unsigned int n, k, from = 0;

	while ((n = sptep_get(&sp->parents, batch, 16, from))) {
		for (k = 0; k < n; k++)
			mark_unsync_bit(s, sp_of_spte(s, batch[k]),
					spte_index(batch[k]));
		from += n;
	}
}

static void mark_unsync_bit(struct shadow_mmu *s, struct shadow_page *sp,
			    unsigned int i)
{
	uint64_t bit = 1ull << (i % 64);

	if (sp->unsync_children[i / 64] & bit)
		return;		/* ancestors already point here */
	sp->unsync_children[i / 64] |= bit;
	mark_unsync_up(s, sp);
}

bool sp_has_unsync_children(const struct shadow_page *sp)
{
	unsigned int k;

	for (k = 0; k < PT_ENTRIES / 64; k++)
		if (sp->unsync_children[k])
			return true;
	return false;
}

/* Make SPTE i of sp not present, undoing its rmap or parent link. */
void drop_spte(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i)
{
	uint64_t e = __atomic_load_n(&sp->spt[i], __ATOMIC_RELAXED);

	if (!spte_present(e))
		return;
	if (sp->role.level == 1) {
		rmap_del(s, leaf_gfn(sp, i), &sp->spt[i]);
	} else if (spte_large(sp, e)) {
		rmap_del(s, region_key(sp->gptes[i]), &sp->spt[i]);
	} else {
		struct shadow_page *child = sp_by_pa(s, e);

		if (child)
			sptep_del(s, &child->parents, &sp->spt[i]);
		sp->unsync_children[i / 64] &= ~(1ull << (i % 64));
	}
	if (e & SPTE_GLOBAL)
		sp_global_dec(s, sp);
	sp->nr_present--;
	spte_set(&sp->spt[i], 0);
	if (!MUTANT(shadow_drop_no_flush))
		s->flush_all = true;
}

void link_child(struct shadow_mmu *s, struct shadow_page *sp,
		unsigned int i, struct shadow_page *child)
{
	if (sptep_add(s, &child->parents, &sp->spt[i]))
		return;		/* no memory for the link: stays absent */
	/* release: the fast path walks the child without the lock */
	atomic_write64(&sp->spt[i], child->spt_pa |
		       (sp->role.pae_root ? PTE_P : SPTE_LINK));
	sp->nr_present++;
	if (child->unsync || sp_has_unsync_children(child))
		mark_unsync_bit(s, sp, i);
}

static void sp_free_table(struct shadow_mmu *s, union shadow_role role,
			  void *spt)
{
	if (role.pae_root)
		sh_page_free_low(s, spt);
	else
		sh_page_free(s, spt);
}

static void free_page_now(struct shadow_mmu *s, struct shadow_page *sp)
{
	struct shadow_page **pp;

	for (pp = &s->pa_hash[sh_bucket(sp->spt_pa >> 12)]; *pp;
	     pp = &(*pp)->pnext) {
		if (*pp == sp) {
			*pp = sp->pnext;
			break;
		}
	}
	sh_list_del(&sp->lru);
	sp_free_table(s, sp->role, sp->spt);
	if (sp->gptes)
		sh_page_free(s, sp->gptes);
	slab_free(s, &s->sp_slab, sp);
	s->nr_pages--;
}

static void unhash(struct shadow_mmu *s, struct shadow_page *sp)
{
	struct shadow_page **pp;

	if (sp->role.pae_root)
		return;
	for (pp = &s->hash[sh_bucket(sp->gfn)]; *pp; pp = &(*pp)->hnext) {
		if (*pp == sp) {
			*pp = sp->hnext;
			return;
		}
	}
}

/*
 * Zap: unlink sp from every parent and drop all its SPTEs; children stay
 * (they lose a parent and age on the LRU).  A pinned root stays allocated,
 * invalid, until its last pin goes.
 */
void zap_page(struct shadow_mmu *s, struct shadow_page *sp)
{
	uint64_t *p;
	unsigned int i;

	if (sp->invalid)
		return;
	if (sp->unsync)
		sp_unsync_done(s, sp);
	for (i = 0; i < PT_ENTRIES; i++)
		drop_spte(s, sp, i);
	while (sptep_get(&sp->parents, &p, 1, 0)) {
		struct shadow_page *parent = sp_of_spte(s, p);

		drop_spte(s, parent, spte_index(p));
	}
	unhash(s, sp);
	if (role_indirect(sp->role)) {
		struct gfn_info *gi = gfn_lookup(s, sp->gfn);

		if (gi && !--gi->nr_indirect) {
			gi->unsync = false;
			gfn_put(s, gi);
			region_unshadowed(s, sp->gfn);
		}
	}
	s->st.mmu_shadow_zapped++;
	sp->invalid = true;
	if (!sp->root_count)
		free_page_now(s, sp);
}

void unpin(struct shadow_mmu *s, struct shadow_page *sp)
{
	if (--sp->root_count)
		return;
	if (sp->invalid)
		free_page_now(s, sp);
	else if (sp->role.pae_root)
		zap_page(s, sp);	/* nothing else can find it */
}

static bool evict_from(struct shadow_mmu *s, struct shadow_vcpu *vc)
{
	int k;

	for (k = SH_ROOTS - 1; k >= 1; k--) {
		if (vc->roots[k].sp) {
			struct shadow_page *sp = vc->roots[k].sp;

			vc->roots[k].sp = NULL;
			unpin(s, sp);
			return true;
		}
	}
	return false;
}

/*
 * Cached roots other than a current one, oldest first: the caller's, then
 * the other vCPUs' (no CPU walks a cached root that is not its current
 * one, and its owner looks at its cache only under the lock).
 */
static bool evict_cached_root(struct shadow_mmu *s)
{
	unsigned int i;

	if (!s->cur)
		return false;
	if (evict_from(s, s->cur))
		return true;
	for (i = 0; i < SHADOW_MAX_VCPUS && s->nr_vcpus > 1; i++)
		if (s->vcpus[i].used && &s->vcpus[i] != s->cur &&
		    evict_from(s, &s->vcpus[i]))
			return true;
	return false;
}

/*
 * Make room for `need' more pages of the budget (every page the MMU holds
 * counts: docs/mmu.md, "Memory"): zap the least recently used pages that
 * are not pinned roots, then cached roots other than the current one.
 * Each zap frees at least the page's table, and with it its rmap entries,
 * frame records and descriptors (with several vCPUs, once the others
 * flushed: sh_commit()).  Called only at the start of an entry point,
 * never in the middle of a walk.  If only the current root is left,
 * the allocations that do not fit fail and the entry point zaps
 * everything and starts again (zap_all()).
 */
void make_room(struct shadow_mmu *s, unsigned int need)
{
	if (s->mem_pages + need <= s->cfg.max_pages)
		return;		/* the common case; zapped pages are free */
	while (s->mem_pages - s->nr_zapped + need > s->cfg.max_pages) {
		struct sh_list *n;
		struct shadow_page *victim = NULL;

		for (n = s->lru.prev; n != &s->lru; n = n->prev) {
			struct shadow_page *sp =
				sh_container(n, struct shadow_page, lru);

			if (!sp->root_count) {
				victim = sp;
				break;
			}
		}
		if (victim) {
			zap_page(s, victim);
			s->st.mmu_recycled++;
		} else if (!evict_cached_root(s)) {
			break;
		}
	}
	sh_commit(s);	/* the room, once no vCPU can walk it */
}

/*
 * Every shadow page, cached root or not, current root included: each
 * unlinked, its SPTEs dropped, its records freed.  A pinned root stays
 * allocated and invalid until load_root() replaces it.  The last resort
 * when the budget has no room even after make_room().
 */
void zap_all(struct shadow_mmu *s)
{
	struct sh_list *n, *prev;

	while (evict_cached_root(s))
		;
	for (n = s->lru.prev; n != &s->lru; n = prev) {
		prev = n->prev;
		zap_page(s, sh_container(n, struct shadow_page, lru));
	}
	s->st.mmu_zap_all++;
	sh_commit(s);
}

struct shadow_page *sp_alloc(struct shadow_mmu *s, uint64_t gfn,
			     union shadow_role role)
{
	struct shadow_page *sp = slab_alloc(s, &s->sp_slab);
	unsigned int b;

	if (!sp)
		return NULL;
	/* a PAE root is what a 32-bit CR3 points at (mmu/env.h) */
	sp->spt = role.pae_root ? sh_page_alloc_low(s) : sh_page_alloc(s);
	if (role.level == 1 && role_indirect(role))
		sp->gptes = sh_page_alloc(s);
	if (!sp->spt || (role.level == 1 && role_indirect(role) &&
			 !sp->gptes)) {
		if (sp->spt)
			sp_free_table(s, role, sp->spt);
		if (sp->gptes)
			sh_page_free(s, sp->gptes);
		slab_free(s, &s->sp_slab, sp);
		return NULL;
	}
	sp->spt_pa = mmu_virt_to_phys(sp->spt);
	sp->gfn = gfn;
	sp->role = role;
	b = sh_bucket(sp->spt_pa >> 12);
	sp->pnext = s->pa_hash[b];
	s->pa_hash[b] = sp;
	if (!role.pae_root) {
		b = sh_bucket(gfn);
		sp->hnext = s->hash[b];
		s->hash[b] = sp;
	}
	sh_list_init(&sp->lru);
	sh_list_init(&sp->unsync_link);
	sh_list_add(&s->lru, &sp->lru);
	s->nr_pages++;
	s->st.mmu_cache_miss++;
	return sp;
}

/*
 * The shadow page for (gfn, role), created if needed.  An unsync page, and
 * every unsync page below one, is synced before it is linked anywhere (its
 * stale entries must not become reachable from a new place: a page that
 * was unreachable at the last CR3 load missed that sync); a new role for a frame that is unsync makes
 * it ineligible, so the frame is synced and protected first.
 */
struct shadow_page *get_page(struct shadow_mmu *s, uint64_t gfn,
			     union shadow_role role)
{
	struct shadow_page *sp;
	struct gfn_info *gi, *ri = NULL;

	for (sp = s->hash[sh_bucket(gfn)]; sp; sp = sp->hnext) {
		if (sp->gfn != gfn || sp->role.word != role.word)
			continue;
		if (sp->unsync)
			sync_gfn(s, gfn, SYNC_LINK);
		if (sp_has_unsync_children(sp))	/* nor those below it */
			sync_children(s, sp, SYNC_LINK);
		touch(s, sp);
		return sp;
	}
	if (role_indirect(role)) {
		gi = gfn_lookup(s, gfn);
		if (gi && gi->unsync)
			sync_gfn(s, gfn, SYNC_LINK);
		gi = gfn_get(s, gfn);
		if (!gi)
			return NULL;
		if (!gi->nr_indirect && !(ri = region_get(s, gfn))) {
			gfn_put(s, gi);
			return NULL;
		}
	}
	sp = sp_alloc(s, gfn, role);
	if (!sp) {
		if (ri)
			gfn_put(s, ri);
		return NULL;
	}
	if (role_indirect(role) && !gi->nr_indirect++) {
		/* no 2 MiB SPTE over the frame from now on (large.c) */
		region_shadowed(s, ri);
		rmap_write_protect(s, gfn);
		/* no other vCPU writes it through a stale entry from now on:
		 * the walks that fill sp read what it holds */
		if (s->nr_vcpus > 1 && s->flush_all)
			sh_commit(s);
	}
	return sp;
}

/*
 * Every vCPU but the lock holder: its TLB may hold translations from SPTEs
 * that just lost permission or went away.  Its flag is set before it is
 * kicked, so that it sees the flag when it stops for the kick, or at its
 * next entry if it was not in guest mode.
 */
void sh_flush_others(struct shadow_mmu *s)
{
	unsigned int i;
	bool any = false;

	if (s->cur && MUTANT(shadow_no_remote_flush))
		return;		/* (a VM-wide call's flushes stay) */
	for (i = 0; i < SHADOW_MAX_VCPUS; i++) {
		struct shadow_vcpu *vc = &s->vcpus[i];

		if (!vc->used || vc == s->cur)
			continue;
		__atomic_store_n(&vc->remote_flush, 1, __ATOMIC_SEQ_CST);
		if (s->cfg.kick && !MUTANT(shadow_no_kick))
			s->cfg.kick(vc->arg);
		any = true;
	}
	s->st.remote_flushes += any;
}

/* Pages freed while other vCPUs could walk them go back to the pool. */
void sh_release_zapped(struct shadow_mmu *s)
{
	void **list = s->log.dir ? &s->page_limbo : &s->page_cache;

	while (s->page_zapped) {
		void *p = s->page_zapped;

		s->page_zapped = *(void **)p;
		*(void **)p = *list;
		*list = p;
	}
	s->mem_pages -= s->nr_zapped;
	s->nr_zapped = 0;
}

/*
 * What an operation under the lock changed in shared SPTEs reaches every
 * vCPU: the caller flushes (finish()), the others are flagged and kicked
 * and have left guest mode when this returns; only then are the pages it
 * zapped reused (a vCPU's paging-structure cache could still point into
 * them, SDM Vol 3 4.10.3; KVM's kvm_mmu_commit_zap_page()).
 */
void sh_commit_slow(struct shadow_mmu *s)
{
	struct shadow_vcpu *vc = s->cur;

	if (s->flush_all) {
		s->flush_all = false;
		if (vc)
			vc->flush = true;
		/* one vCPU: the others are none, unless a VM-wide call */
		if (s->nr_vcpus > 1 || !vc)
			sh_flush_others(s);
	}
	if (s->page_zapped)
		sh_release_zapped(s);
}

uint64_t shadow_root_hpa(struct shadow_vcpu *vc)
{
	return vc->root->spt_pa;
}

int shadow_root_level(struct shadow_vcpu *vc)
{
	return root_level(vc);
}

/* The vCPU's own flush, or another vCPU's request (taken atomically: it
 * may be set at any time by a vCPU that holds the lock). */
bool shadow_flush_pending(struct shadow_vcpu *vc)
{
	if (!vc->flush &&
	    !__atomic_load_n(&vc->remote_flush, __ATOMIC_ACQUIRE))
		return false;	/* before every entry: the common case */
	__atomic_store_n(&vc->remote_flush, 0, __ATOMIC_SEQ_CST);
	vc->flush = false;
	vc->flush_one = false;
	return true;
}

bool shadow_flush_va_pending(struct shadow_vcpu *vc, uint64_t *va)
{
	bool f = vc->flush_one;

	vc->flush_one = false;
	*va = vc->flush_va;
	return f;
}

void shadow_get_stats(struct shadow_mmu *s, struct shadow_stats *st)
{
	struct sh_list *n;

	sh_lock(s, NULL);
	*st = s->st;
	st->pages = s->nr_pages;
	st->mem_pages = s->mem_pages;
	st->mem_pages_max = s->mem_peak;
	st->mem_budget = s->cfg.max_pages;
	st->global = 0;
	for (n = s->lru.next; n != &s->lru; n = n->next) {
		struct shadow_page *sp =
			sh_container(n, struct shadow_page, lru);

		st->pages_by_level[sp->role.level]++;
		st->direct_pages += sp->role.direct;
		st->global += sp->role.level == 1 && !sp->role.direct &&
			      sp_global(sp);
	}
	sh_unlock(s);
}

int shadow_init(struct shadow_mmu **out, const struct shadow_config *cfg)
{
	struct shadow_mmu *s;

	if (!cfg->gfn_to_pfn || !cfg->mem || cfg->max_pages < SHADOW_MIN_PAGES ||
	    cfg->maxphyaddr < 32 || cfg->maxphyaddr > 52 ||
	    sizeof(*s) > PT_PAGE_SIZE)
		return -MMU_EINVAL;
	s = mmu_alloc_page();
	if (!s)
		return -MMU_ENOMEM;
	s->cfg = *cfg;
	rwlock_init(&s->lock);
	sh_list_init(&s->lru);
	sh_list_init(&s->unsync_list);
	slab_init(&s->sp_slab, sizeof(struct shadow_page));
	slab_init(&s->gi_slab, sizeof(struct gfn_info));
	slab_init(&s->desc_slab, sizeof(struct sptep_desc));
	s->mem_pages = s->mem_peak = 1;		/* s itself */
	s->hash = sh_page_alloc(s);
	s->pa_hash = sh_page_alloc(s);
	*out = s;
	if (!s->hash || !s->pa_hash || gfn_hash_init(s)) {
		shadow_destroy(s);
		return -MMU_ENOMEM;
	}
	s->fixed_pages = (unsigned int)s->mem_pages;
	return 0;
}

int shadow_vcpu_add(struct shadow_mmu *s, const struct shadow_cpu *st,
		    void *arg, struct shadow_vcpu **out)
{
	struct shadow_vcpu *vc = NULL;
	unsigned int i;
	int ret;

	sh_lock(s, NULL);
	for (i = 0; i < SHADOW_MAX_VCPUS && !vc; i++)
		if (!s->vcpus[i].used)
			vc = &s->vcpus[i];
	if (!vc) {
		sh_unlock(s);
		return -MMU_EBUSY;
	}
	__builtin_memset(vc, 0, sizeof(*vc));
	vc->s = s;
	vc->arg = arg;
	vc->cpu = *st;
	/* counted before its first root: what that load zaps, the vCPUs
	 * already running flush (and its pages wait for them) */
	vc->used = true;
	s->nr_vcpus++;
	s->cur = vc;
	compute_base_role(s);
	ret = load_root(s);
	finish(s);
	if (ret) {
		vc->used = false;
		s->nr_vcpus--;
	} else {
		*out = vc;
	}
	sh_unlock(s);
	return ret;
}

long shadow_destroy(struct shadow_mmu *s)
{
	long leaked;
	unsigned int i;
	int k;

	for (i = 0; i < SHADOW_MAX_VCPUS; i++) {
		struct shadow_vcpu *vc = &s->vcpus[i];

		for (k = 0; k < SH_ROOTS && vc->used; k++) {
			if (vc->roots[k].sp) {
				struct shadow_page *sp = vc->roots[k].sp;

				vc->roots[k].sp = NULL;
				unpin(s, sp);
			}
		}
		vc->used = false;
	}
	s->nr_vcpus = 0;	/* none runs: pages are freed at once */
	while (s->lru.next != &s->lru)
		zap_page(s, sh_container(s->lru.next, struct shadow_page,
					 lru));
	sh_release_zapped(s);
	leaked = s->nr_pages + s->sp_slab.live + s->gi_slab.live +
		 s->desc_slab.live;
	slab_destroy(s, &s->sp_slab);
	slab_destroy(s, &s->gi_slab);
	slab_destroy(s, &s->desc_slab);
	if (s->hash)
		sh_page_free(s, s->hash);
	if (s->pa_hash)
		sh_page_free(s, s->pa_hash);
	gfn_hash_destroy(s);
	sh_page_cache_drain(s);
	mmu_free_page(s);
	return leaked;
}
