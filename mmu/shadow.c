// SPDX-License-Identifier: BSD-2-Clause
/*
 * The shadow MMU (see shadow.h and docs/mmu.md, part 2): shadow pages and
 * their hash, the pool and its LRU, parent links, zap, roots and the root
 * cache, the page-fault path, INVLPG, CR3 loads and mode changes.
 *
 * Shadow tables use the long-mode entry format (SDM Vol 3 4.5, Tables
 * 4-15..4-19); a guest that is not in long mode runs on PAE shadow tables
 * whose root holds 4 PDPTEs with only P set (SDM Vol 3 4.4.1, Table 4-8:
 * R/W, U/S and XD are reserved there).  The hardware runs with CR0.WP=1
 * and EFER.NXE=1 and the guest's CR4.SMEP/SMAP.
 */
#include "mmu/mutant.h"
#include "mmu/shadow_int.h"


static unsigned int sp_bucket(uint64_t key)
{
	return (unsigned int)((key * 0x9e3779b97f4a7c15ull) >> 55) &
	       (SH_HASH - 1);
}

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
	for (sp = s->pa_hash[sp_bucket(pa >> 12)]; sp; sp = sp->pnext)
		if (sp->spt_pa == pa)
			return sp;
	return NULL;
}

struct shadow_page *sp_of_spte(struct shadow_mmu *s, uint64_t *sptep)
{
	return sp_by_pa(s, mmu_virt_to_phys(sptep));
}

static uint64_t leaf_gfn(const struct shadow_page *sp, unsigned int i)
{
	return sp->role.direct ? sp->gfn + i : sp->gfns[i];
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
	uint64_t e = sp->spt[i];

	if (!spte_present(e))
		return;
	if (sp->role.level == 1) {
		rmap_del(s, leaf_gfn(sp, i), &sp->spt[i]);
	} else {
		struct shadow_page *child = sp_by_pa(s, e);

		if (child)
			sptep_del(s, &child->parents, &sp->spt[i]);
		sp->unsync_children[i / 64] &= ~(1ull << (i % 64));
	}
	if (e & SPTE_GLOBAL)
		sp->nr_global--;
	sp->nr_present--;
	sp->spt[i] = 0;
	if (!MUTANT(shadow_drop_no_flush))
		s->flush = true;
}

static void link_child(struct shadow_mmu *s, struct shadow_page *sp,
		       unsigned int i, struct shadow_page *child)
{
	if (sptep_add(s, &child->parents, &sp->spt[i]))
		return;		/* no memory for the link: stays absent */
	sp->spt[i] = child->spt_pa | (sp->role.pae_root ? PTE_P : SPTE_LINK);
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

	for (pp = &s->pa_hash[sp_bucket(sp->spt_pa >> 12)]; *pp;
	     pp = &(*pp)->pnext) {
		if (*pp == sp) {
			*pp = sp->pnext;
			break;
		}
	}
	sh_list_del(&sp->lru);
	sp_free_table(s, sp->role, sp->spt);
	if (sp->gfns)
		sh_page_free(s, sp->gfns);
	slab_free(s, &s->sp_slab, sp);
	s->nr_pages--;
}

static void unhash(struct shadow_mmu *s, struct shadow_page *sp)
{
	struct shadow_page **pp;

	if (sp->role.pae_root)
		return;
	for (pp = &s->hash[sp_bucket(sp->gfn)]; *pp; pp = &(*pp)->hnext) {
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
		}
	}
	s->st.mmu_shadow_zapped++;
	sp->invalid = true;
	if (!sp->root_count)
		free_page_now(s, sp);
}

static void unpin(struct shadow_mmu *s, struct shadow_page *sp)
{
	if (--sp->root_count)
		return;
	if (sp->invalid)
		free_page_now(s, sp);
	else if (sp->role.pae_root)
		zap_page(s, sp);	/* nothing else can find it */
}

/* Cached roots other than the current one, oldest first. */
static bool evict_cached_root(struct shadow_mmu *s)
{
	int k;

	for (k = SH_ROOTS - 1; k >= 1; k--) {
		if (s->roots[k].sp) {
			struct shadow_page *sp = s->roots[k].sp;

			s->roots[k].sp = NULL;
			unpin(s, sp);
			return true;
		}
	}
	return false;
}

/*
 * Make room for `need' more pages of the budget (every page the MMU holds
 * counts: docs/mmu.md, "Memory"): zap the least recently used pages that
 * are not pinned roots, then cached roots other than the current one.
 * Each zap frees at least the page's table, and with it its rmap entries,
 * frame records and descriptors.  Called only at the start of an entry
 * point, never in the middle of a walk.  If only the current root is left,
 * the allocations that do not fit fail and the entry point zaps
 * everything and starts again (zap_all()).
 */
void make_room(struct shadow_mmu *s, unsigned int need)
{
	while (s->mem_pages + need > s->cfg.max_pages) {
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
			return;
		}
	}
}

/*
 * Every shadow page, cached root or not, current root included: each
 * unlinked, its SPTEs dropped, its records freed.  A pinned root stays
 * allocated and invalid until load_root() replaces it.  The last resort
 * when the budget has no room even after make_room().
 */
static void zap_all(struct shadow_mmu *s)
{
	struct sh_list *n, *prev;

	while (evict_cached_root(s))
		;
	for (n = s->lru.prev; n != &s->lru; n = prev) {
		prev = n->prev;
		zap_page(s, sh_container(n, struct shadow_page, lru));
	}
	s->st.mmu_zap_all++;
}

static struct shadow_page *sp_alloc(struct shadow_mmu *s, uint64_t gfn,
				    union shadow_role role)
{
	struct shadow_page *sp = slab_alloc(s, &s->sp_slab);
	unsigned int b;

	if (!sp)
		return NULL;
	/* a PAE root is what a 32-bit CR3 points at (mmu/env.h) */
	sp->spt = role.pae_root ? sh_page_alloc_low(s) : sh_page_alloc(s);
	if (role.level == 1 && role_indirect(role))
		sp->gfns = sh_page_alloc(s);
	if (!sp->spt || (role.level == 1 && role_indirect(role) &&
			 !sp->gfns)) {
		if (sp->spt)
			sp_free_table(s, role, sp->spt);
		if (sp->gfns)
			sh_page_free(s, sp->gfns);
		slab_free(s, &s->sp_slab, sp);
		return NULL;
	}
	sp->spt_pa = mmu_virt_to_phys(sp->spt);
	sp->gfn = gfn;
	sp->role = role;
	b = sp_bucket(sp->spt_pa >> 12);
	sp->pnext = s->pa_hash[b];
	s->pa_hash[b] = sp;
	if (!role.pae_root) {
		b = sp_bucket(gfn);
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

static void touch(struct shadow_mmu *s, struct shadow_page *sp)
{
	sh_list_del(&sp->lru);
	sh_list_add(&s->lru, &sp->lru);
}

/*
 * The shadow page for (gfn, role), created if needed.  An unsync page, and
 * every unsync page below one, is synced before it is linked anywhere (its
 * stale entries must not become reachable from a new place: a page that
 * was unreachable at the last CR3 load missed that sync); a new role for a frame that is unsync makes
 * it ineligible, so the frame is synced and protected first.
 */
static struct shadow_page *get_page(struct shadow_mmu *s, uint64_t gfn,
				    union shadow_role role)
{
	struct shadow_page *sp;
	struct gfn_info *gi;

	for (sp = s->hash[sp_bucket(gfn)]; sp; sp = sp->hnext) {
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
	}
	sp = sp_alloc(s, gfn, role);
	if (!sp)
		return NULL;
	if (role_indirect(role) && !gi->nr_indirect++)
		rmap_write_protect(s, gfn);
	return sp;
}

/* ---- roots ---- */

static uint64_t addr_mask(const struct shadow_mmu *s)
{
	return PT_ADDR_MASK & ((1ull << s->cfg.maxphyaddr) - 1);
}

static int root_level(const struct shadow_mmu *s)
{
	return s->mode == GW_MODE_LM ? 4 : 3;
}

static uint64_t root_key(const struct shadow_mmu *s)
{
	switch (s->mode) {
	case GW_MODE_LM:
		return s->cpu.cr3 & addr_mask(s);
	case GW_MODE_PAE:
		return s->cpu.cr3 & 0xffffffe0ull;
	case GW_MODE_32:
		return s->cpu.cr3 & 0xfffff000ull;
	default:
		return 0;
	}
}

static void compute_base_role(struct shadow_mmu *s)
{
	union shadow_role r = { .word = 0 };

	s->mode = gw_mode(&(struct gw_ctx){ .cr0 = s->cpu.cr0,
					    .cr4 = s->cpu.cr4,
					    .efer = s->cpu.efer });
	r.mode = s->mode;
	r.access = SH_ACC_ALL;
	if (s->mode != GW_MODE_OFF) {
		r.wp = !!(s->cpu.cr0 & GW_CR0_WP);
		r.nxe = s->mode != GW_MODE_32 && (s->cpu.efer & GW_EFER_NXE);
		r.smep_nowp = !r.wp && (s->cpu.cr4 & GW_CR4_SMEP);
		r.smap_nowp = !r.wp && (s->cpu.cr4 & GW_CR4_SMAP);
		r.pse = s->mode == GW_MODE_32 && (s->cpu.cr4 & GW_CR4_PSE);
	}
	s->base_role = r;
}

/* PAE root entry i: what it must link to (false: nothing). */
static bool pae_root_child(struct shadow_mmu *s, unsigned int i,
			   uint64_t *gfn, union shadow_role *role)
{
	union shadow_role r = s->base_role;

	r.level = 2;
	switch (s->mode) {
	case GW_MODE_OFF:
		r.direct = 1;
		*gfn = (uint64_t)i << 18;
		break;
	case GW_MODE_32:
		r.quadrant = i;
		*gfn = (s->cpu.cr3 & 0xfffff000ull) >> 12;
		break;
	default:
		/* SDM Vol 3 Table 4-8: bits 2:1, 8:5 and 63:MAXPHYADDR are
		 * reserved; such a PDPTE gets no link and every access under
		 * it faults to the walker, which reports RSVD. */
		if (!(s->pdpte[i] & PTE_P) ||
		    (s->pdpte[i] & (0x1e6ull | ~((1ull << s->cfg.maxphyaddr) -
						 1))))
			return false;
		*gfn = (s->pdpte[i] & addr_mask(s)) >> 12;
		break;
	}
	*role = r;
	return true;
}

static void set_pae_root(struct shadow_mmu *s, struct shadow_page *root)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		union shadow_role r;
		uint64_t gfn;
		bool want = pae_root_child(s, i, &gfn, &r);
		struct shadow_page *child;

		if (spte_present(root->spt[i])) {
			child = sp_by_pa(s, root->spt[i]);
			if (want && child->gfn == gfn &&
			    child->role.word == r.word) {
				touch(s, child);
				continue;
			}
			drop_spte(s, root, i);
		}
		if (!want)
			continue;
		child = get_page(s, gfn, r);
		if (child)	/* else absent: faults link it */
			link_child(s, root, i, child);
	}
}

static void purge_invalid_roots(struct shadow_mmu *s)
{
	int k, j = 0;

	for (k = 0; k < SH_ROOTS; k++) {
		struct root_slot slot = s->roots[k];

		s->roots[k].sp = NULL;
		if (slot.sp && slot.sp->invalid)
			unpin(s, slot.sp);
		else if (slot.sp)
			s->roots[j++] = slot;
	}
}

/*
 * Make s->root the root for the current CR3 and mode (cache first).  Fails
 * only when the budget has no page for a new root; a PAE root's link that
 * finds no room stays absent (an access through it faults and links it).
 */
static int load_root(struct shadow_mmu *s)
{
	union shadow_role r = s->base_role;
	uint64_t key = root_key(s);
	struct root_slot slot = { 0 };
	int k;

	make_room(s, SH_FAULT_PAGES);
	purge_invalid_roots(s);
	r.level = root_level(s);
	r.direct = s->mode == GW_MODE_OFF;
	r.pae_root = s->mode != GW_MODE_LM;
	for (k = 0; k < SH_ROOTS; k++) {
		if (s->roots[k].sp && s->roots[k].key == key &&
		    s->roots[k].sp->role.word == r.word) {
			slot = s->roots[k];
			break;
		}
	}
	if (slot.sp) {
		s->st.root_hits++;
		for (; k > 0; k--)
			s->roots[k] = s->roots[k - 1];
		touch(s, slot.sp);
	} else {
		s->st.root_misses++;
		slot.key = key;
		slot.sp = r.pae_root ? sp_alloc(s, key >> 12, r) :
				       get_page(s, key >> 12, r);
		if (!slot.sp)
			return -MMU_ENOMEM;
		slot.sp->root_key = key;
		slot.sp->root_count++;
		if (s->roots[SH_ROOTS - 1].sp) {
			struct shadow_page *old = s->roots[SH_ROOTS - 1].sp;

			s->roots[SH_ROOTS - 1].sp = NULL;
			unpin(s, old);
		}
		for (k = SH_ROOTS - 1; k > 0; k--)
			s->roots[k] = s->roots[k - 1];
	}
	s->roots[0] = slot;
	s->root = slot.sp;
	if (r.pae_root)
		set_pae_root(s, s->root);
	return 0;
}

/*
 * load_root(), and if even that finds no room, zap everything and load
 * again.  The second load cannot fail: the old root's page and page struct
 * are free by then (purge_invalid_roots()), and so is nearly all the rest.
 */
static int reload_root(struct shadow_mmu *s)
{
	if (!load_root(s))
		return 0;
	zap_all(s);
	return load_root(s);
}

/* After anything that may have zapped a root in use. */
static void ensure_root(struct shadow_mmu *s)
{
	if (s->root && s->root->invalid)
		reload_root(s);
}

static void finish(struct shadow_mmu *s)
{
	ensure_root(s);
	if (s->flush) {
		s->st.flushes++;
		if (s->cfg.flush)
			s->cfg.flush(s->cfg.flush_arg);
	}
}

/* ---- guest walks ---- */

static void guest_ctx(struct shadow_mmu *s, struct gw_ctx *ctx, bool ac)
{
	__builtin_memset(ctx, 0, sizeof(*ctx));
	ctx->cr0 = s->cpu.cr0;
	ctx->cr3 = s->cpu.cr3;
	ctx->cr4 = s->cpu.cr4;
	ctx->efer = s->cpu.efer;
	ctx->ac = ac;
	ctx->maxphyaddr = s->cfg.maxphyaddr;
	ctx->gbpages = s->cfg.gbpages;
	ctx->pdptes_loaded = true;
	__builtin_memcpy(ctx->pdpte, s->pdpte, sizeof(s->pdpte));
	ctx->mem = s->cfg.mem;
	ctx->mem_arg = s->cfg.mem_arg;
}

/* The guest entry at guest level `level' on the walk (PDPTE: index 0 of a
 * PAE walk). */
static uint64_t walk_pte(const struct shadow_mmu *s,
			 const struct gw_result *w, int level)
{
	int top = s->mode == GW_MODE_LM ? 4 : s->mode == GW_MODE_PAE ? 3 : 2;

	return w->pte[top - level];
}

static unsigned int table_perm(const struct shadow_mmu *s, uint64_t e)
{
	unsigned int p = 0;

	p |= (e & PTE_RW) ? SH_ACC_W : 0;
	p |= (e & PTE_US) ? SH_ACC_U : 0;
	p |= ((e & PTE_NX) && s->base_role.nxe) ? 0 : SH_ACC_X;
	return p;
}

/*
 * What SPTE `idx' of the level-`level' shadow page on the path of va must
 * link to: the shadow page of the guest table at level-1, or a direct page
 * under a guest large page (or with paging off).
 */
static void child_for(struct shadow_mmu *s, const struct gw_result *w,
		      struct shadow_page *sp, int level, uint64_t va,
		      bool dirty, uint64_t *gfn, union shadow_role *role)
{
	union shadow_role r = s->base_role;
	int gl = s->mode == GW_MODE_OFF ? 4 : w->level;

	r.level = level - 1;
	if (level - 1 < gl) {
		uint64_t size = pt_level_size(level);

		r.direct = 1;
		r.access = w->perm & (dirty ? SH_ACC_ALL : ~SH_ACC_W);
		*gfn = (w->gpa & ~(size - 1)) >> 12;
	} else if (s->mode == GW_MODE_32 && level == 3) {
		r.quadrant = (va >> 30) & 3;	/* a quarter of the guest PD */
		*gfn = (s->cpu.cr3 & 0xfffff000ull) >> 12;
	} else if (s->mode == GW_MODE_32) {
		uint64_t pde = walk_pte(s, w, 2);

		r.access = sp->role.access & table_perm(s, pde & ~PTE_NX);
		r.quadrant = (va >> 21) & 1;
		*gfn = (pde & 0xfffff000ull) >> 12;
	} else {
		uint64_t e = walk_pte(s, w, level);

		r.access = sp->role.access;
		if (!(s->mode == GW_MODE_PAE && level == 3))
			r.access &= table_perm(s, e);
		*gfn = (e & addr_mask(s)) >> 12;
	}
	*role = r;
}

uint64_t make_leaf(struct shadow_mmu *s, uint64_t pfn, unsigned int perm,
		   bool writable, uint64_t attr)
{
	uint64_t e = (pfn << 12) | PTE_P | PTE_A |
		     (attr & (PTE_PWT | PTE_PCD | PTE_PAT4K));

	if (perm & SH_ACC_U)
		e |= PTE_US;
	if (writable)
		e |= PTE_RW | PTE_D;
	if (!(perm & SH_ACC_X))
		e |= PTE_NX;
	return e;
}

int set_leaf(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	     uint64_t gfn, uint64_t spte, bool global)
{
	uint64_t old = sp->spt[i];

	if (global)
		spte |= SPTE_GLOBAL;
	if (spte_present(old) && leaf_gfn(sp, i) != gfn)
		drop_spte(s, sp, i);
	old = sp->spt[i];
	if (spte_present(old)) {
		if (old & SPTE_GLOBAL)
			sp->nr_global--;
		if ((old & ~spte) & (PTE_RW | PTE_US | PT_ADDR_MASK) ||
		    (spte & ~old & PTE_NX))
			s->flush = true;	/* less permission */
	} else {
		if (rmap_add(s, gfn, &sp->spt[i]))
			return -MMU_ENOMEM;
		if (!sp->role.direct)
			sp->gfns[i] = gfn;
		sp->nr_present++;
	}
	if (global)
		sp->nr_global++;
	sp->spt[i] = spte;
	return 0;
}

/* ---- entry points ---- */

static enum shadow_fault_result fault_locked(struct shadow_mmu *s,
					     uint64_t gva, uint32_t ec,
					     bool ac, struct shadow_fault *out)
{
	unsigned int access = 0, perm;
	struct gw_ctx ctx;
	struct gw_result w;
	struct shadow_page *sp;
	uint64_t leaf, gfn, attr;
	int64_t pfn;
	bool dirty, writable, global;
	int level;
	enum gw_status st;

	if (ec & PFERR_W)
		access |= GW_WRITE;
	if (ec & PFERR_ID)
		access |= GW_FETCH;
	if (ec & PFERR_U)
		access |= GW_USER;
	make_room(s, SH_FAULT_PAGES);
	ensure_root(s);
	guest_ctx(s, &ctx, ac);
	st = gw_walk(&ctx, gva, access, &w);
	if (st == GW_FAULT) {
		out->error_code = w.error_code;
		out->cr2 = gva;
		s->st.faults_injected++;
		return SHADOW_INJECT;
	}
	if (st == GW_MEM_ERROR) {
		out->gpa = w.bad_gpa;
		return SHADOW_NOT_RAM;
	}
	if (s->mode != GW_MODE_LM)
		gva &= 0xffffffffull;
	leaf = s->mode == GW_MODE_OFF ? PTE_D | PTE_A : w.pte[w.nr_ptes - 1];
	dirty = (leaf & PTE_D) || (access & GW_WRITE);

	sp = s->root;
	for (level = root_level(s); level > 1; level--) {
		unsigned int idx = sp->role.pae_root ? (gva >> 30) & 3 :
						       pt_index(gva, level);
		union shadow_role r;
		struct shadow_page *child;
		uint64_t cgfn;

		child_for(s, &w, sp, level, gva, dirty, &cgfn, &r);
		if (spte_present(sp->spt[idx])) {
			child = sp_by_pa(s, sp->spt[idx]);
			if (child->gfn == cgfn && child->role.word == r.word) {
				child->flood = 0;
				touch(s, child);
				sp = child;
				continue;
			}
			drop_spte(s, sp, idx);
		}
		child = get_page(s, cgfn, r);
		if (!child)
			return SHADOW_NOMEM;
		link_child(s, sp, idx, child);
		if (!spte_present(sp->spt[idx]))
			return SHADOW_NOMEM;
		child->flood = 0;
		sp = child;
	}

	gfn = w.gpa >> 12;
	pfn = s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn);
	if (pfn < 0) {
		out->gpa = w.gpa;
		return SHADOW_NOT_RAM;
	}
	perm = sp->role.direct ? sp->role.access : w.perm;
	writable = (perm & SH_ACC_W) && dirty;
	global = !sp->role.direct && (leaf & PTE_G) &&
		 (s->cpu.cr4 & SH_CR4_PGE);
	attr = leaf & (PTE_PWT | PTE_PCD);
	if (w.level == 1 && s->mode != GW_MODE_OFF)
		attr |= leaf & PTE_PAT4K;
	else if (s->mode != GW_MODE_OFF && (leaf & PTE_PATLG))
		attr |= PTE_PAT4K;

	/* A non-global entry ends a global unsync page's state: sync first. */
	if (sp->unsync && !global && sp_global(sp))
		sync_gfn(s, sp->gfn, SYNC_LINK);

	/* CR0.WP=0: supervisor writes ignore R/W (SDM Vol 3 4.6.1). */
	if ((access & GW_WRITE) && !(access & GW_USER) &&
	    !(perm & SH_ACC_W)) {
		if (perm & SH_ACC_U) {
			if (s->cpu.cr4 & GW_CR4_SMAP) {
				out->gpa = w.gpa;
				s->st.faults_emulated++;
				return SHADOW_EMULATE;
			}
			perm &= ~SH_ACC_U;	/* user access faults again */
			if (s->cpu.cr4 & GW_CR4_SMEP)
				perm &= ~SH_ACC_X;
		}
		perm |= SH_ACC_W;
		writable = true;
	}
	if (writable && gfn_protected(s, gfn)) {
		if (access & GW_WRITE) {
			s->st.wp_faults++;
			if (!try_unsync(s, gfn)) {
				out->gpa = w.gpa;
				s->st.faults_emulated++;
				return SHADOW_EMULATE;
			}
		} else {
			writable = false;
		}
	}
	if (set_leaf(s, sp, pt_index(gva, 1), gfn,
		     make_leaf(s, (uint64_t)pfn, perm, writable, attr), global))
		return SHADOW_NOMEM;
	s->st.faults_fixed++;
	return SHADOW_FIXED;
}

enum shadow_fault_result shadow_page_fault(struct shadow_mmu *s, uint64_t gva,
					   uint32_t error_code, bool ac,
					   struct shadow_fault *out)
{
	enum shadow_fault_result r;

	write_lock(&s->lock);
	s->st.faults++;
	r = fault_locked(s, gva, error_code, ac, out);
	if (r == SHADOW_NOMEM) {
		/* syncs on the way ate the room make_room() left: start again
		 * with nothing shadowed (the walk's A/D updates stay, as the
		 * CPU's do when a fault restarts an instruction) */
		zap_all(s);
		r = fault_locked(s, gva, error_code, ac, out);
	}
	finish(s);
	write_unlock(&s->lock);
	return r;
}

int shadow_load_cr3(struct shadow_mmu *s, uint64_t cr3, const uint64_t *pdpte)
{
	int ret;

	write_lock(&s->lock);
	s->cpu.cr3 = cr3;
	if (pdpte)
		__builtin_memcpy(s->pdpte, pdpte, sizeof(s->pdpte));
	ret = reload_root(s);
	if (!MUTANT(shadow_cr3_no_sync))
		sync_children(s, s->root, SYNC_CR3);
	s->flush = true;	/* the TLB drops non-global translations */
	finish(s);
	write_unlock(&s->lock);
	return ret;
}

void shadow_invlpg(struct shadow_mmu *s, uint64_t gva)
{
	struct shadow_page *sp;
	int level;

	write_lock(&s->lock);
	if (MUTANT(shadow_invlpg_nop)) {
		write_unlock(&s->lock);
		return;
	}
	s->st.invlpg++;
	make_room(s, SH_PREFETCH_PAGES);
	ensure_root(s);
	if (s->mode != GW_MODE_LM)
		gva &= 0xffffffffull;
	sp = s->root;
	for (level = root_level(s); level > 1; level--) {
		unsigned int idx = sp->role.pae_root ? (gva >> 30) & 3 :
						       pt_index(gva, level);

		if (!spte_present(sp->spt[idx]))
			break;
		sp = sp_by_pa(s, sp->spt[idx]);
	}
	if (level == 1) {
		unsigned int idx = pt_index(gva, 1);

		if (sp->role.direct)
			drop_spte(s, sp, idx);
		else
			refresh_entry(s, sp, idx, true);
		s->st.sync_invlpg++;
	}
	/* Unsync global pages may map gva in other address spaces too: they
	 * lose their pass at the next CR3 load. */
	{
		struct sh_list *n;

		for (n = s->unsync_list.next; n != &s->unsync_list;
		     n = n->next) {
			sp = sh_container(n, struct shadow_page, unsync_link);
			if (sp_global(sp) && !MUTANT(shadow_no_gstale))
				sp->gstale = true;
		}
	}
	s->flush = true;
	finish(s);
	write_unlock(&s->lock);
}

static void clear_global_marks(struct shadow_mmu *s)
{
	struct sh_list *n;
	unsigned int i;

	for (n = s->lru.next; n != &s->lru; n = n->next) {
		struct shadow_page *sp =
			sh_container(n, struct shadow_page, lru);

		if (sp->role.level != 1)
			continue;
		for (i = 0; i < PT_ENTRIES; i++)
			sp->spt[i] &= ~SPTE_GLOBAL;
		sp->nr_global = 0;
	}
}

int shadow_set_cr(struct shadow_mmu *s, uint64_t cr0, uint64_t cr4,
		  uint64_t efer, const uint64_t *pdpte)
{
	const uint64_t cr4_flush = GW_CR4_PSE | GW_CR4_PAE | SH_CR4_PGE |
				   GW_CR4_SMEP | GW_CR4_SMAP;
	struct shadow_cpu old;
	bool full;
	int ret;

	write_lock(&s->lock);
	old = s->cpu;
	s->cpu.cr0 = cr0;
	s->cpu.cr4 = cr4;
	s->cpu.efer = efer;
	if (pdpte)
		__builtin_memcpy(s->pdpte, pdpte, sizeof(s->pdpte));
	/* SDM Vol 3 4.10.4.1: CR0.PG and CR4.PGE/PAE/SMEP changes flush the
	 * TLB including global entries; umbra flushes on any CR0 change and
	 * on the CR4/EFER bits that change the meaning of an entry. */
	full = old.cr0 != cr0 || ((old.cr4 ^ cr4) & cr4_flush) ||
	       ((old.efer ^ efer) & (GW_EFER_NXE | GW_EFER_LMA));
	if (MUTANT(shadow_pge_no_sync) && ((old.cr4 ^ cr4) & SH_CR4_PGE))
		full = false;
	if (full) {
		sync_all(s);
		if ((old.cr4 ^ cr4) & SH_CR4_PGE && !(cr4 & SH_CR4_PGE))
			clear_global_marks(s);
		s->flush = true;
	}
	compute_base_role(s);
	ret = reload_root(s);
	finish(s);
	write_unlock(&s->lock);
	return ret;
}

uint64_t shadow_root_hpa(struct shadow_mmu *s)
{
	return s->root->spt_pa;
}

int shadow_root_level(struct shadow_mmu *s)
{
	return root_level(s);
}

bool shadow_flush_pending(struct shadow_mmu *s)
{
	bool f = s->flush;

	s->flush = false;
	return f;
}

void shadow_get_stats(struct shadow_mmu *s, struct shadow_stats *st)
{
	struct sh_list *n;

	write_lock(&s->lock);
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
	write_unlock(&s->lock);
}

int shadow_init(struct shadow_mmu **out, const struct shadow_config *cfg,
		const struct shadow_cpu *st)
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
	s->cpu = *st;
	compute_base_role(s);
	if (load_root(s)) {
		shadow_destroy(s);
		return -MMU_ENOMEM;
	}
	return 0;
}

long shadow_destroy(struct shadow_mmu *s)
{
	long leaked;
	int k;

	for (k = 0; k < SH_ROOTS; k++) {
		if (s->roots[k].sp) {
			struct shadow_page *sp = s->roots[k].sp;

			s->roots[k].sp = NULL;
			unpin(s, sp);
		}
	}
	while (s->lru.next != &s->lru)
		zap_page(s, sh_container(s->lru.next, struct shadow_page,
					 lru));
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
