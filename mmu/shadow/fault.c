// SPDX-License-Identifier: BSD-2-Clause
/*
 * The shadow MMU's entry points for the guest's paging events (docs/mmu.md,
 * part 2): a page fault (walk the guest's tables, fix the shadow entries
 * or hand the fault back), INVLPG, CR3 loads and CR0/CR4/EFER changes.
 */
#include "mmu/mutant.h"
#include "mmu/shadow/internal.h"

/* ---- guest walks ---- */

static void guest_ctx(struct shadow_mmu *s, struct shadow_vcpu *vc,
		      struct gw_ctx *ctx, bool ac)
{
	__builtin_memset(ctx, 0, sizeof(*ctx));
	ctx->cr0 = vc->cpu.cr0;
	ctx->cr3 = vc->cpu.cr3;
	ctx->cr4 = vc->cpu.cr4;
	ctx->efer = vc->cpu.efer;
	ctx->ac = ac;
	ctx->pkru = vc->pkru;
	ctx->pkrs = vc->pkrs;
	ctx->maxphyaddr = s->cfg.maxphyaddr;
	ctx->gbpages = s->cfg.gbpages;
	ctx->pdptes_loaded = true;
	__builtin_memcpy(ctx->pdpte, vc->pdpte, sizeof(vc->pdpte));
	ctx->mem = s->cfg.mem;
	ctx->mem_arg = s->cfg.mem_arg;
	if (s->log.dir && !MUTANT(shadow_ad_unlogged)) {	/* A/D: writes */
		ctx->mem = &sh_logged_mem;
		ctx->mem_arg = s;
	}
}

/* The guest entry at guest level `level' on the walk (PDPTE: index 0 of a
 * PAE walk). */
static uint64_t walk_pte(const struct shadow_vcpu *vc,
			 const struct gw_result *w, int level)
{
	int top = vc->mode == GW_MODE_LM ? 4 : vc->mode == GW_MODE_PAE ? 3 : 2;

	return w->pte[top - level];
}

static unsigned int table_perm(const struct shadow_vcpu *vc, uint64_t e)
{
	unsigned int p = 0;

	p |= (e & PTE_RW) ? SH_ACC_W : 0;
	p |= (e & PTE_US) ? SH_ACC_U : 0;
	p |= ((e & PTE_NX) && vc->base_role.nxe) ? 0 : SH_ACC_X;
	return p;
}

/*
 * What SPTE `idx' of the level-`level' shadow page on the path of va must
 * link to: the shadow page of the guest table at level-1, or a direct page
 * under a guest large page (or with paging off).
 */
static void child_for(struct shadow_mmu *s, struct shadow_vcpu *vc,
		      const struct gw_result *w, struct shadow_page *sp,
		      int level, uint64_t va, bool dirty, uint64_t *gfn,
		      union shadow_role *role)
{
	union shadow_role r = vc->base_role;
	int gl = vc->mode == GW_MODE_OFF ? 4 : w->level;

	r.level = level - 1;
	if (level - 1 < gl) {
		uint64_t size = pt_level_size(level);

		r.direct = 1;
		r.access = w->perm & (dirty ? SH_ACC_ALL : ~SH_ACC_W);
		if (vc->mode == GW_MODE_LM)
			r.pkey = (unsigned int)(leaf_pkey(r, w->pte[w->nr_ptes - 1]) >>
						PTE_PKEY_SHIFT);
		*gfn = (w->gpa & ~(size - 1)) >> 12;
	} else if (vc->mode == GW_MODE_32 && level == 3) {
		r.quadrant = (va >> 30) & 3;	/* a quarter of the guest PD */
		*gfn = (vc->cpu.cr3 & 0xfffff000ull) >> 12;
	} else if (vc->mode == GW_MODE_32) {
		uint64_t pde = walk_pte(vc, w, 2);

		r.access = sp->role.access & table_perm(vc, pde & ~PTE_NX);
		r.quadrant = (va >> 21) & 1;
		*gfn = (pde & 0xfffff000ull) >> 12;
	} else {
		uint64_t e = walk_pte(vc, w, level);

		r.access = sp->role.access;
		if (!(vc->mode == GW_MODE_PAE && level == 3))
			r.access &= table_perm(vc, e);
		*gfn = (e & addr_mask(s)) >> 12;
	}
	*role = r;
}

/* w: 0, or the W bits leaf_w() gives; attr: PWT, PCD, PAT and the
 * protection key (leaf_pkey()), which the hardware checks on the SPTE with
 * the guest's PKRU and IA32_PKRS loaded (SDM Vol 3 4.6.2) */
uint64_t make_leaf(struct shadow_mmu *s, uint64_t pfn, unsigned int perm,
		   uint64_t w, uint64_t attr)
{
	uint64_t e = (pfn << 12) | PTE_P | PTE_A | w |
		     (attr & (PTE_PWT | PTE_PCD | PTE_PAT4K | PTE_PKEY));

	if (perm & SH_ACC_U)
		e |= PTE_US;
	if (!(perm & SH_ACC_X))
		e |= PTE_NX;
	return e;
}

/* gpte: what the guest PTE must hold for the entry to stay as it is (the
 * snapshot sync compares, sp->gptes) */
int set_leaf(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	     uint64_t gfn, uint64_t spte, bool global, uint64_t gpte)
{
	uint64_t old = sp->spt[i];

	if (global)
		spte |= SPTE_GLOBAL;
	if (spte_present(old) && leaf_gfn(sp, i) != gfn)
		drop_spte(s, sp, i);
	old = __atomic_load_n(&sp->spt[i], __ATOMIC_RELAXED);
	if (spte_present(old)) {
		if (old & SPTE_GLOBAL)
			sp_global_dec(s, sp);
		if ((old & ~spte) & (PTE_RW | PTE_US | PT_ADDR_MASK) ||
		    (spte & ~old & PTE_NX) || ((old ^ spte) & PTE_PKEY))
			s->flush_all = true;	/* less permission */
	} else {
		if (rmap_add(s, gfn, &sp->spt[i]))
			return -MMU_ENOMEM;
		sp->nr_present++;
	}
	if (!sp->role.direct)
		sp->gptes[i] = gpte;
	if (global)
		sp_global_inc(s, sp);
	if ((old & (PTE_P | SPTE_SH_W | PTE_RW)) != (PTE_P | SPTE_SH_W))
		spte_set(&sp->spt[i], spte);
	else if (atomic_xchg64(&sp->spt[i], spte) & ~spte & PTE_RW)
		s->flush_all = true;	/* the fast path had just set W */
	return 0;
}

/*
 * Prefetch (KVM's pte_prefetch): give the other present, accessed guest PTEs
 * of the aligned group of SH_PREFETCH around entry i their SPTEs now, so
 * that the accesses that follow a fault do not fault too.  Each is made as
 * a sync makes it (update_entry): the guest PTE's permissions, writable
 * only when dirty, absent when it would need an A or D update.
 */
static void prefetch_around(struct shadow_mmu *s, struct shadow_page *sp,
			    unsigned int i)
{
	unsigned int j, first = i & ~(SH_PREFETCH - 1u);
	const void *tbl;

	/* a non-global entry would sync a global unsync page (refresh_entry)
	 * and write-protect again the frame this fault may just have opened */
	if (sp->unsync && sp_global(sp))
		return;
	tbl = table_of(s, sp);
	for (j = first; j < first + SH_PREFETCH; j++)
		if (j != i && !spte_present(sp->spt[j]))
			prefetch_entry(s, sp, tbl, j);
}

/* The memory-type bits of a guest leaf, PAT in its 4 KiB place. */
static uint64_t leaf_attr(const struct shadow_vcpu *vc, uint64_t leaf,
			  int level)
{
	uint64_t attr = leaf & (PTE_PWT | PTE_PCD);

	if (vc->mode == GW_MODE_OFF)
		return 0;
	if (level == 1)
		return attr | (leaf & PTE_PAT4K);
	return attr | ((leaf & PTE_PATLG) ? PTE_PAT4K : 0);
}

/*
 * Entry idx of level-2 page sp becomes a 2 MiB leaf for the region at gfn
 * (large.c says it qualifies): the guest's permissions along the walk
 * (role access: no W while the guest's large entry is not dirty, so the
 * first write faults and sets D), its memory type.  The direct page it
 * replaces is zapped once nothing links it, after the leaf is in.
 */
static enum shadow_fault_result fault_large(struct shadow_mmu *s,
					    struct shadow_page *sp,
					    unsigned int idx, uint64_t gfn,
					    unsigned int perm,
					    unsigned int access, uint64_t leaf,
					    struct shadow_fault *out)
{
	struct shadow_vcpu *vc = s->cur;
	uint64_t e = sp->spt[idx], *p;
	struct shadow_page *old = NULL;
	int64_t pfn = s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn);

	if (pfn < 0) {
		out->gpa = gfn << 12;
		return SHADOW_NOT_RAM;
	}
	if (spte_present(e) && !spte_large(sp, e))
		old = sp_by_pa(s, e);
	if (set_large(s, sp, idx, gfn,
		      make_large(s, (uint64_t)pfn, perm, (perm & SH_ACC_W) ?
				 leaf_w(s, gfn, access & GW_WRITE) : 0,
				 leaf_attr(vc, leaf, 2) |
				 leaf_pkey(sp->role, leaf))))
		return SHADOW_NOMEM;
	if (old && old->role.direct && !old->root_count &&
	    !sptep_get(&old->parents, &p, 1, 0))
		zap_page(s, old);
	s->st.large_mapped++;
	s->st.faults_fixed++;
	return SHADOW_FIXED;
}

/*
 * The CPU runs the guest with CR0.WP set (the shadow leaves give CR0.WP=0
 * its meaning), so a protection key whose WD bit stops a supervisor write
 * only with CR0.WP set (SDM Vol 3 4.6.2) stops the guest's write with
 * CR0.WP clear too: such a write, which the guest's walk allowed, is
 * emulated.  The same walk with WP set tells.
 */
static bool wd_without_wp(const struct gw_ctx *ctx, uint64_t gva,
			  unsigned int access)
{
	struct gw_ctx wp = *ctx;
	struct gw_result r;

	if ((ctx->cr0 & GW_CR0_WP) || !(access & GW_WRITE) ||
	    (access & GW_USER) || !(ctx->cr4 & (GW_CR4_PKE | GW_CR4_PKS)))
		return false;
	wp.cr0 |= GW_CR0_WP;
	return gw_walk(&wp, gva, access | GW_NO_AD, &r) == GW_FAULT &&
	       (r.error_code & PFERR_PK);
}

/* ---- entry points ---- */

static enum shadow_fault_result fault_locked(struct shadow_mmu *s,
					     uint64_t gva, uint32_t ec,
					     bool ac, struct shadow_fault *out)
{
	struct shadow_vcpu *vc = s->cur;
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
	guest_ctx(s, vc, &ctx, ac);
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
	if (wd_without_wp(&ctx, gva, access)) {
		out->gpa = w.gpa;
		s->st.faults_emulated++;
		return SHADOW_EMULATE;
	}
	if (vc->mode != GW_MODE_LM)
		gva &= 0xffffffffull;
	leaf = vc->mode == GW_MODE_OFF ? PTE_D | PTE_A : w.pte[w.nr_ptes - 1];
	dirty = (leaf & PTE_D) || (access & GW_WRITE);

	sp = vc->root;
	for (level = root_level(vc); level > 1; level--) {
		unsigned int idx = sp->role.pae_root ? (gva >> 30) & 3 :
						       pt_index(gva, level);
		union shadow_role r;
		struct shadow_page *child;
		uint64_t cgfn, e = sp->spt[idx];

		child_for(s, vc, &w, sp, level, gva, dirty, &cgfn, &r);
		/* a guest large page over a region that qualifies: one
		 * 2 MiB leaf, unless a CR0.WP=0 supervisor write to a
		 * read-only page needs the 4 KiB trick below */
		if (level == 2 && r.direct &&
		    !((access & GW_WRITE) && !(w.perm & SH_ACC_W)) &&
		    large_allowed(s, cgfn))
			return fault_large(s, sp, idx, cgfn, r.access,
					   access, leaf, out);
		if (spte_present(e) && !spte_large(sp, e)) {
			child = sp_by_pa(s, e);
			if (child->gfn == cgfn && child->role.word == r.word) {
				child->flood = 0;
				touch(s, child);
				sp = child;
				continue;
			}
		}
		drop_spte(s, sp, idx);
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
		 (vc->cpu.cr4 & SH_CR4_PGE);
	attr = leaf_attr(vc, leaf, w.level) | leaf_pkey(sp->role, leaf);

	/* A non-global entry ends a global unsync page's state: sync first. */
	if (sp->unsync && !global && sp_global(sp))
		sync_gfn(s, sp->gfn, SYNC_LINK);

	/* CR0.WP=0: supervisor writes ignore R/W (SDM Vol 3 4.6.1). */
	if ((access & GW_WRITE) && !(access & GW_USER) &&
	    !(perm & SH_ACC_W)) {
		if (perm & SH_ACC_U) {
			if (vc->cpu.cr4 & GW_CR4_SMAP) {
				out->gpa = w.gpa;
				s->st.faults_emulated++;
				return SHADOW_EMULATE;
			}
			perm &= ~SH_ACC_U;	/* user access faults again */
			if (vc->cpu.cr4 & GW_CR4_SMEP)
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
	/* the snapshot: A and D as the SPTE assumes them, so that a guest
	 * clearing D (or A) later is a change */
	if (set_leaf(s, sp, pt_index(gva, 1), gfn,
		     make_leaf(s, (uint64_t)pfn, perm, writable ?
			       leaf_w(s, gfn, access & GW_WRITE) : 0, attr),
		     global, leaf | PTE_A | (dirty ? PTE_D : 0)))
		return SHADOW_NOMEM;
	s->st.faults_fixed++;
	/* only into a page this entry is the first of: a prefetch costs
	 * more than the faults it saves on a page that is filling already */
	if (!sp->role.direct && sp->nr_present == 1)
		prefetch_around(s, sp, pt_index(gva, 1));
	return SHADOW_FIXED;
}

/* The leaf SPTE for gva in the current root, read without the lock (the
 * pages stay shadow tables until an epoch sync: rmap.c's limbo). */
static uint64_t *leaf_lockless(struct shadow_vcpu *vc, uint64_t gva)
{
	struct shadow_page *root = vc->root;
	uint64_t *t = root->spt, e;
	int level = root_level(vc);

	for (; level > 1; level--) {
		e = atomic_read64(&t[root->role.pae_root && level == 3 ?
				     (gva >> 30) & 3 : pt_index(gva, level)]);
		if (!spte_present(e) || (level == 2 && (e & PTE_PS)))
			return NULL;	/* no 2 MiB leaf while logging */
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
	}
	return &t[pt_index(gva, 1)];
}

/*
 * Seed 000, under dirty logging only: a write fault on a present leaf with
 * SPTE_SH_W and no W (write-protected for the log alone, never for a
 * shadowed table) gets W by one compare-and-exchange without the MMU lock,
 * and the winner marks the frame.  The frame is the one the guest's tables
 * give now, checked against the leaf's (a look-only walk: the guest PTE's
 * D must be set already).  Conditions in docs/mmu.md, "The fast path".
 */
static bool fast_fault(struct shadow_vcpu *vc, uint64_t gva, uint32_t ec,
		       bool ac)
{
	struct shadow_mmu *s = vc->s;
	uint32_t slot = epoch_enter(&s->epoch);
	uint64_t *sptep, spte, gfn;
	struct gw_ctx ctx;
	struct gw_result w;
	bool fixed = false;

	if (vc->mode != GW_MODE_LM)
		gva &= 0xffffffffull;
	if (!__atomic_load_n(&s->log.dir, __ATOMIC_SEQ_CST) ||
	    !(sptep = leaf_lockless(vc, gva)))
		goto out;
	spte = atomic_read64(sptep);
	if ((spte & (PTE_P | PTE_RW | SPTE_SH_W)) != (PTE_P | SPTE_SH_W) ||
	    ((ec & PFERR_U) && !(spte & PTE_US)))
		goto out;
	guest_ctx(s, vc, &ctx, ac);
	if (gw_walk(&ctx, gva, GW_WRITE | GW_NO_AD |
		    ((ec & PFERR_U) ? GW_USER : 0), &w) != GW_OK ||
	    (vc->mode != GW_MODE_OFF && !(w.pte[w.nr_ptes - 1] & PTE_D)))
		goto out;
	gfn = w.gpa >> 12;
	if (s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn) !=
	    (int64_t)((spte & PT_ADDR_MASK) >> 12))
		goto out;
	if (atomic_cmpxchg64(sptep, &spte, spte | PTE_RW | PTE_D)) {
		if (!MUTANT(shadow_fast_no_mark))
			sh_mark_dirty(s, gfn);
		stat_add(&s->st.fast_fixes, 1);
		fixed = true;
	}
out:
	epoch_exit(&s->epoch, slot);
	return fixed;
}

enum shadow_fault_result shadow_page_fault(struct shadow_vcpu *vc, uint64_t gva,
					   uint32_t error_code, bool ac,
					   struct shadow_fault *out)
{
	struct shadow_mmu *s = vc->s;
	enum shadow_fault_result r;

	if (__atomic_load_n(&s->log.dir, __ATOMIC_RELAXED) &&
	    (error_code & (PFERR_P | PFERR_W | PFERR_RSVD | PFERR_ID)) ==
	    (PFERR_P | PFERR_W) && fast_fault(vc, gva, error_code, ac))
		return SHADOW_FIXED;
	sh_lock(s, vc);
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
	sh_unlock(s);
	return r;
}

int shadow_load_cr3(struct shadow_vcpu *vc, uint64_t cr3,
		    const uint64_t *pdpte)
{
	struct shadow_mmu *s = vc->s;
	int ret;

	sh_lock(s, vc);
	vc->cpu.cr3 = cr3;
	if (pdpte)
		__builtin_memcpy(vc->pdpte, pdpte, sizeof(vc->pdpte));
	ret = reload_root(s);
	if (!MUTANT(shadow_cr3_no_sync))
		sync_children(s, vc->root, SYNC_CR3);
	vc->flush = true;	/* the TLB drops non-global translations */
	finish(s);
	sh_unlock(s);
	return ret;
}

/*
 * A level-1 page maps gva only through a parent entry at gva's index in
 * its level-2 table (bits 29:21 in both shadow formats); an unlinked one
 * is synced before it is linked again (get_page()).
 */
static bool may_map(struct shadow_page *sp, uint64_t gva)
{
	uint64_t *batch[16];
	unsigned int n, k, from = 0;

	while ((n = sptep_get(&sp->parents, batch, 16, from))) {
		for (k = 0; k < n; k++)
			if (spte_index(batch[k]) == pt_index(gva, 2))
				return true;
		from += n;
	}
	return false;
}

/* The vCPU's own fields, read by its own walks only: no lock. */
void shadow_set_pkeys(struct shadow_vcpu *vc, uint32_t pkru, uint32_t pkrs)
{
	vc->pkru = pkru;
	vc->pkrs = pkrs;
}

void shadow_invlpg(struct shadow_vcpu *vc, uint64_t gva)
{
	struct shadow_mmu *s = vc->s;
	struct shadow_page *sp;
	int level;
	bool wide;

	sh_lock(s, vc);
	if (MUTANT(shadow_invlpg_nop)) {
		sh_unlock(s);
		return;
	}
	s->st.invlpg++;
	make_room(s, SH_PREFETCH_PAGES);
	ensure_root(s);
	if (vc->mode != GW_MODE_LM)
		gva &= 0xffffffffull;
	sp = vc->root;
	for (level = root_level(vc); level > 1; level--) {
		unsigned int idx = sp->role.pae_root ? (gva >> 30) & 3 :
						       pt_index(gva, level);

		if (!spte_present(sp->spt[idx]) ||
		    spte_large(sp, sp->spt[idx]))
			break;
		sp = sp_by_pa(s, sp->spt[idx]);
	}
	/*
	 * Only gva's leaf changes, unless the refresh syncs a global unsync
	 * page: then one address is all the hardware TLB must drop (INVLPGA,
	 * individual-address INVVPID) unless a full flush is pending anyway.
	 * The other vCPUs flush whole, if the leaf lost anything.
	 */
	sh_commit(s);
	wide = vc->flush || (vc->flush_one && vc->flush_va != gva);
	if (level == 1) {
		unsigned int idx = pt_index(gva, 1);

		wide |= sp->unsync && sp_global(sp) && !MUTANT(shadow_invlpg_one);
		if (sp->role.direct)
			drop_spte(s, sp, idx);
		else
			refresh_entry(s, sp, idx, true);
		s->st.sync_invlpg++;
	} else if (spte_large(sp, sp->spt[pt_index(gva, 2)])) {
		/* as a direct page's leaf: dropped, refaults (the INVLPG
		 * of gva drops the whole 2 MiB translation, SDM Vol 3
		 * 4.10.4.1) */
		drop_spte(s, sp, pt_index(gva, 2));
	}
	/* Unsync global pages that may map gva in other address spaces too
	 * lose their pass at the next CR3 load.  Only pages with a global
	 * entry can be global: the walk is skipped without one. */
	if (s->nr_unsync_global) {
		struct sh_list *n;

		for (n = s->unsync_list.next; n != &s->unsync_list;
		     n = n->next) {
			sp = sh_container(n, struct shadow_page, unsync_link);
			if (sp_global(sp) && !MUTANT(shadow_no_gstale) &&
			    may_map(sp, gva))
				sp->gstale = true;
		}
	}
	if (s->flush_all) {
		s->flush_all = false;
		if (s->nr_vcpus > 1) {
			sh_flush_others(s);
			sh_release_zapped(s);
		}
	}
	vc->flush = wide;
	vc->flush_one = !wide;
	vc->flush_va = gva;
	finish(s);
	sh_unlock(s);
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
			__atomic_fetch_and(&sp->spt[i], ~SPTE_GLOBAL,
					   __ATOMIC_RELAXED);
		if (sp->nr_global && sp->unsync)
			s->nr_unsync_global--;
		sp->nr_global = 0;
	}
}

int shadow_set_cr(struct shadow_vcpu *vc, uint64_t cr0, uint64_t cr4,
		  uint64_t efer, const uint64_t *pdpte)
{
	struct shadow_mmu *s = vc->s;
	const uint64_t cr4_flush = GW_CR4_PSE | GW_CR4_PAE | SH_CR4_PGE |
				   GW_CR4_SMEP | GW_CR4_SMAP;
	struct shadow_cpu old;
	bool full;
	int ret;

	sh_lock(s, vc);
	old = vc->cpu;
	vc->cpu.cr0 = cr0;
	vc->cpu.cr4 = cr4;
	vc->cpu.efer = efer;
	if (pdpte)
		__builtin_memcpy(vc->pdpte, pdpte, sizeof(vc->pdpte));
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
		vc->flush = true;
	}
	compute_base_role(s);
	ret = reload_root(s);
	finish(s);
	sh_unlock(s);
	return ret;
}
