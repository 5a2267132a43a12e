// SPDX-License-Identifier: BSD-2-Clause
/*
 * Keeping shadow pages in step with the guest's tables: leaf SPTEs from
 * guest PTEs, out-of-sync pages and their sync, the unsync-children walk,
 * emulated guest writes with flood detection, and the consistency check the
 * tests run after every step.
 */
#include "mmu/mutant.h"
#include "mmu/shadow/internal.h"


/* bits hi:lo */
static uint64_t bits(unsigned int hi, unsigned int lo)
{
	return ((~0ull) >> (63 - hi)) & ~((1ull << lo) - 1);
}

/* Reserved bits of a 4 KiB guest PTE: SDM Vol 3 Tables 4-11 (PAE), 4-19
 * (4-level); 32-bit PTEs have none (Table 4-6). */
bool gpte_rsvd(const struct shadow_mmu *s, union shadow_role r, uint64_t g)
{
	uint64_t rs;

	if (r.mode == GW_MODE_32)
		return false;
	rs = bits(r.mode == GW_MODE_PAE ? 62 : 51, s->cfg.maxphyaddr);
	if (!r.nxe)
		rs |= PTE_NX;
	return (g & rs) != 0;
}

unsigned int gpte_perm(union shadow_role r, uint64_t g)
{
	unsigned int p = 0;

	p |= (g & PTE_RW) ? SH_ACC_W : 0;
	p |= (g & PTE_US) ? SH_ACC_U : 0;
	p |= (r.nxe && (g & PTE_NX)) ? 0 : SH_ACC_X;
	return p;
}

/* Guest byte offset and size of the entry behind SPTE i of sp. */
static unsigned int gpte_offset(const struct shadow_page *sp, unsigned int i,
				unsigned int *size)
{
	if (sp->role.mode != GW_MODE_32) {
		*size = 8;
		return i * 8;
	}
	*size = 4;
	if (sp->role.level == 1)
		return (sp->role.quadrant * 512 + i) * 4;
	return (sp->role.quadrant * 256 + i / 2) * 4;
}

int gpte_read(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	      uint64_t *g)
{
	unsigned int size, off = gpte_offset(sp, i, &size);

	return s->cfg.mem->read(s->cfg.mem_arg, (sp->gfn << 12) + off, size,
				g);
}

/* The guest table of sp in place (cfg.frame), or NULL: read per entry. */
const void *table_of(struct shadow_mmu *s, struct shadow_page *sp)
{
	return s->cfg.frame ? s->cfg.frame(s->cfg.mem_arg, sp->gfn) : NULL;
}

/* Guest PTE behind SPTE i, from the table in place when there is one (a
 * single load: the guest may be writing it) */
static int table_read(struct shadow_mmu *s, struct shadow_page *sp,
		      const void *tbl, unsigned int i, uint64_t *g)
{
	unsigned int size, off = gpte_offset(sp, i, &size);

	if (!tbl)
		return gpte_read(s, sp, i, g);
	if (size == 4)
		*g = __atomic_load_n((const uint32_t *)tbl + off / 4,
				     __ATOMIC_RELAXED);
	else
		*g = __atomic_load_n((const uint64_t *)tbl + off / 8,
				     __ATOMIC_RELAXED);
	return 0;
}

bool sp_global(const struct shadow_page *sp)
{
	return sp->nr_present && sp->nr_global == sp->nr_present;
}

/*
 * A present SPTE made from guest PTE g (its snapshot in sp->gptes) needs no
 * work: the role and frame protection change it by other paths, which only
 * ever take permission away.  CR4.PGE is the exception: setting it again
 * (clear_global_marks() ran when it was cleared) makes G entries global, so
 * the global mark must match too (SDM Vol 3 4.10.2.4).
 */
static bool unchanged(const struct shadow_mmu *s,
		      const struct shadow_page *sp, unsigned int i, uint64_t g)
{
	struct shadow_vcpu *vc = s->cur;
	uint64_t diff = g ^ sp->gptes[i];
	bool global = (g & PTE_G) && (vc->cpu.cr4 & SH_CR4_PGE);

	if (MUTANT(shadow_sync_skip_rw))
		diff &= ~(uint64_t)PTE_RW;
	return !diff && global == !!(sp->spt[i] & SPTE_GLOBAL);
}

/*
 * Bring leaf SPTE i of an indirect level-1 page in line with its guest PTE:
 * drop it when the guest PTE is not present, has reserved bits or A clear,
 * or is not RAM; otherwise set frame and permissions, writable only when the
 * guest PTE is dirty and the frame holds no protected table.  With prefetch
 * also create it when absent.
 */
static void update_entry(struct shadow_mmu *s, struct shadow_page *sp,
			 const void *tbl, unsigned int i, bool prefetch)
{
	struct shadow_vcpu *vc = s->cur;
	uint64_t g, gfn;
	unsigned int perm;
	int64_t pfn;
	bool global, w;

	if (table_read(s, sp, tbl, i, &g) || !(g & PTE_P) ||
	    gpte_rsvd(s, sp->role, g) || !(g & PTE_A)) {
		drop_spte(s, sp, i);
		return;
	}
	if (!spte_present(sp->spt[i])) {
		if (!prefetch)
			return;
	} else if (unchanged(s, sp, i, g)) {
		s->st.sync_skipped++;
		return;
	}
	gfn = gpte_frame(sp->role, g);
	/* same frame: the same pfn (gfn_to_pfn() is one-to-one and fixed) */
	if (spte_present(sp->spt[i]) && leaf_gfn(sp, i) == gfn)
		pfn = (int64_t)((sp->spt[i] & PT_ADDR_MASK) >> 12);
	else
		pfn = s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn);
	if (pfn < 0) {
		drop_spte(s, sp, i);
		return;
	}
	perm = sp->role.access & gpte_perm(sp->role, g);
	if (prefetch && MUTANT(shadow_prefetch_no_us))
		perm |= sp->role.access & SH_ACC_U;
	w = (perm & SH_ACC_W) && (g & PTE_D) && !gfn_protected(s, gfn);
	global = (g & PTE_G) && (vc->cpu.cr4 & SH_CR4_PGE);
	if (set_leaf(s, sp, i, gfn, make_leaf(s, (uint64_t)pfn, perm,
					      w ? leaf_w(s, gfn, false) : 0,
					      (g & ~PTE_PKEY) |
					      leaf_pkey(sp->role, g)),
		     global, g))
		drop_spte(s, sp, i);
}

/* A fault's prefetch (fault.c): entry i if its guest PTE is present and
 * accessed; tbl from table_of(). */
void prefetch_entry(struct shadow_mmu *s, struct shadow_page *sp,
		    const void *tbl, unsigned int i)
{
	uint64_t g;

	if (!table_read(s, sp, tbl, i, &g) && (g & (PTE_P | PTE_A)) ==
	    (PTE_P | PTE_A))
		update_entry(s, sp, tbl, i, true);
}

/* INVLPG and emulated writes: one entry, fresh from the guest. */
void refresh_entry(struct shadow_mmu *s, struct shadow_page *sp,
		   unsigned int i, bool prefetch)
{
	uint64_t g;

	if (sp->unsync && sp_global(sp) && !gpte_read(s, sp, i, &g) &&
	    (g & PTE_P) && !(g & PTE_G)) {
		sync_gfn(s, sp->gfn, SYNC_LINK);	/* syncs entry i too */
		if (!prefetch || spte_present(sp->spt[i]))
			return;
	}
	update_entry(s, sp, table_of(s, sp), i, prefetch);
}

uint64_t shadow_nr_unsync(const struct shadow_mmu *s)
{
	return s->st.unsync;
}

void sp_unsync_done(struct shadow_mmu *s, struct shadow_page *sp)
{
	if (sp->nr_global)
		s->nr_unsync_global--;
	sp->unsync = false;
	sp->gstale = false;
	sh_list_del(&sp->unsync_link);
	s->st.unsync--;
}

/*
 * Sync a frame: it is write-protected again everywhere, then every unsync
 * page of it (they move together) compares each present SPTE with its
 * guest PTE.  Entries that are absent stay absent: the next access faults.
 * With several vCPUs the others flush between the two (KVM's
 * mmu_sync_children() order): a guest write through a writable entry
 * another CPU still caches either lands before the compare, or faults.
 */
void sync_gfn(struct shadow_mmu *s, uint64_t gfn, enum sync_reason why)
{
	struct gfn_info *gi = gfn_lookup(s, gfn);
	struct sh_list *l;
	const void *tbl;
	unsigned int i;

	if (!gi || !gi->unsync)
		return;
	gi->unsync = false;	/* update_entry sees the frame protected */
	rmap_write_protect(s, gfn);
	if (s->nr_vcpus > 1 && s->flush_all)
		sh_commit(s);
again:
	for (l = s->unsync_list.next; l != &s->unsync_list; l = l->next) {
		struct shadow_page *sp = sh_container(l, struct shadow_page,
						      unsync_link);

		if (sp->gfn != gfn)
			continue;
		sp_unsync_done(s, sp);
		tbl = table_of(s, sp);
		for (i = 0; i < PT_ENTRIES; i++)
			if (spte_present(sp->spt[i]))
				update_entry(s, sp, tbl, i, false);
		switch (why) {
		case SYNC_CR3:
			s->st.sync_cr3++;
			break;
		case SYNC_INVLPG:
			s->st.sync_invlpg++;
			break;
		case SYNC_FLUSH:
			s->st.sync_flush++;
			break;
		default:
			s->st.sync_link++;
			break;
		}
		goto again;
	}
	if (s->cur)
		s->cur->flush = true;	/* others: what lost permission */
}

/*
 * A write fault on a protected frame: leave it writable instead, if every
 * shadow page of it is a leaf table (docs/mmu.md, part 2, eligibility).
 */
bool try_unsync(struct shadow_mmu *s, uint64_t gfn)
{
	struct gfn_info *gi = gfn_lookup(s, gfn);
	struct shadow_page *sp;
	unsigned int b;

	if (!s->cfg.oos || !gi)
		return false;
	b = sh_bucket(gfn);
	for (sp = s->hash[b]; sp; sp = sp->hnext)
		if (sp->gfn == gfn && role_indirect(sp->role) &&
		    sp->role.level != 1)
			return false;
	for (sp = s->hash[b]; sp; sp = sp->hnext) {
		if (sp->gfn != gfn || !role_indirect(sp->role) || sp->unsync)
			continue;
		sp->unsync = true;
		if (sp->nr_global)
			s->nr_unsync_global++;
		sh_list_add(&s->unsync_list, &sp->unsync_link);
		s->st.unsync++;
		s->st.mmu_unsync++;
		if (!MUTANT(shadow_no_unsync_up))
			mark_unsync_up(s, sp);
	}
	gi->unsync = true;
	return true;
}

/*
 * A CR3 load may leave an unsync page of global entries alone: a TLB
 * keeps global translations across it (SDM Vol 3 4.10.4.1), so the stale
 * ones the page holds are ones this CPU's TLB could hold too; an INVLPG
 * that may have meant it takes the pass away (gstale).  Only with one
 * vCPU: another vCPU may have made those entries, and this one never
 * cached them (nor does it keep globals with its CR4.PGE clear).
 */
static bool global_pass(const struct shadow_mmu *s,
			const struct shadow_page *sp)
{
	return sp_global(sp) && !sp->gstale &&
	       s->nr_vcpus == 1 &&
	       (s->cur->cpu.cr4 & SH_CR4_PGE);
}

/*
 * Visit what the unsync_children bits lead to and sync it.  A CR3 load
 * passes over unsync pages that hold only global entries (the TLB keeps
 * those) unless an INVLPG may have meant them.  Bits found false are
 * cleared on the way.
 */
void sync_children(struct shadow_mmu *s, struct shadow_page *sp,
		   enum sync_reason why)
{
	unsigned int w, i;

	for (w = 0; w < PT_ENTRIES / 64; w++) {
		uint64_t todo = sp->unsync_children[w];

		while (todo) {
			uint64_t bit = todo & -todo;
			struct shadow_page *child;
			bool keep = false;

			todo &= todo - 1;
			i = w * 64 + (unsigned int)__builtin_ctzll(bit);
			if (!spte_present(sp->spt[i])) {
				sp->unsync_children[w] &= ~bit;
				continue;
			}
			child = sp_by_pa(s, sp->spt[i]);
			if (child->unsync) {
				if (why == SYNC_CR3 && global_pass(s, child))
					keep = true;
				else
					sync_gfn(s, child->gfn, why);
			}
			if (sp_has_unsync_children(child)) {
				sync_children(s, child, why);
				if (sp_has_unsync_children(child))
					keep = true;
			}
			if (!keep)
				sp->unsync_children[w] &= ~bit;
		}
	}
}

void sync_all(struct shadow_mmu *s)
{
	while (s->unsync_list.next != &s->unsync_list) {
		struct shadow_page *sp = sh_container(s->unsync_list.next,
						      struct shadow_page,
						      unsync_link);

		sync_gfn(s, sp->gfn, SYNC_FLUSH);
	}
}

/* The SPTEs of sp behind guest bytes [off, off + size) of its frame. */
static void write_entries(struct shadow_mmu *s, struct shadow_page *sp,
			  unsigned int off, unsigned int size)
{
	unsigned int esz = sp->role.mode == GW_MODE_32 ? 4 : 8;
	unsigned int g, first = off / esz, last = (off + size - 1) / esz;

	for (g = first; g <= last; g++) {
		unsigned int i, n = 1, k;

		if (esz == 8) {
			i = g;
		} else if (sp->role.level == 1) {
			if (g < sp->role.quadrant * 512u ||
			    g >= sp->role.quadrant * 512u + 512)
				continue;
			i = g - sp->role.quadrant * 512u;
		} else {
			if (g < sp->role.quadrant * 256u ||
			    g >= sp->role.quadrant * 256u + 256)
				continue;
			i = 2 * (g - sp->role.quadrant * 256u);
			n = 2;
		}
		for (k = 0; k < n; k++) {
			if (sp->role.level == 1) {
				refresh_entry(s, sp, i + k, true);
				s->st.mmu_pte_updated++;
			} else {
				drop_spte(s, sp, i + k);
			}
		}
	}
}

/* No SPTE links to sp and no root cache entry holds it: no translation
 * goes through it, it is only kept in case the guest links it again. */
static bool unreachable(const struct shadow_page *sp)
{
	uint64_t *p;

	return !sp->root_count && !sptep_get(&sp->parents, &p, 1, 0);
}

static void write_page(struct shadow_mmu *s, uint64_t gpa, unsigned int size)
{
	struct shadow_vcpu *vc = s->cur;
	uint64_t gfn = gpa >> 12;
	struct gfn_info *gi = gfn_lookup(s, gfn);
	struct shadow_page *sp, *list[32];
	unsigned int n = 0, k, b;

	if (!gi || !gi->nr_indirect)
		return;
	s->st.mmu_pte_write++;
	b = sh_bucket(gfn);
	for (sp = s->hash[b]; sp && n < 32; sp = sp->hnext)
		if (sp->gfn == gfn && role_indirect(sp->role))
			list[n++] = sp;
	for (k = 0; k < n; k++) {
		sp = list[k];
		/*
		 * A cached root other than the current one floods too: a
		 * guest that turned paging off, or switched CR3, and now
		 * reuses its old top-level table as data would otherwise
		 * take an exit for every store into it.  zap_page() keeps a
		 * pinned root allocated (invalid) until load_root() purges
		 * it; only the root the hardware walks now is spared.
		 */
		/* A table the guest unlinked (freed, probably reused as
		 * data or a new table) floods at its first write. */
		if (unreachable(sp) && MUTANT(shadow_unlinked_write_ignored))
			continue;
		if ((++sp->flood >= SH_FLOOD || unreachable(sp)) &&
		    sp != vc->root) {
			zap_page(s, sp);	/* not used as a table: unprotect */
			s->st.mmu_flooded++;
			continue;
		}
		write_entries(s, sp, (unsigned int)(gpa & 0xfff), size);
	}
}

void shadow_emulated_write(struct shadow_vcpu *vc, uint64_t gpa,
			   const void *bytes, unsigned int size)
{
	struct shadow_mmu *s = vc->s;

	(void)bytes;	/* guest memory already holds them */
	sh_lock(s, vc);
	make_room(s, SH_PREFETCH_PAGES);
	while (size) {
		unsigned int chunk = 4096 - (unsigned int)(gpa & 0xfff);

		if (chunk > size)
			chunk = size;
		if (s->log.dir && !MUTANT(shadow_emulated_unlogged))
			sh_mark_dirty(s, gpa >> 12);
		write_page(s, gpa, chunk);
		gpa += chunk;
		size -= chunk;
	}
	/* finish() but for the root: a zapped one is reloaded (and synced)
	 * by a CR3 load */
	sh_recover(s);
	sh_commit(s);
	if (vc->flush) {
		s->st.flushes++;
		if (s->cfg.flush)
			s->cfg.flush(vc->arg);
	}
	sh_unlock(s);
	if (vc->root->invalid)
		shadow_load_cr3(vc, vc->cpu.cr3, vc->pdpte);
}

/*
 * Stop shadowing frame gfn: zap every shadow page of it, as flooding does
 * (the root in use too: it is reloaded, and shadows the frame again at
 * once).  The frame is then no longer write-protected, until it is used as
 * a table again.  Also what makes shadow pages of gfn current again after
 * the guest wrote it unseen (shadow_allow_write()).
 */
unsigned int shadow_unprotect_gfn(struct shadow_vcpu *vc, uint64_t gfn)
{
	struct shadow_mmu *s = vc->s;
	unsigned int n = 0, b = sh_bucket(gfn);
	struct shadow_page *sp;
	bool reload;

	sh_lock(s, vc);
	do {
		for (sp = s->hash[b]; sp; sp = sp->hnext)
			if (sp->gfn == gfn && role_indirect(sp->role))
				break;
		if (sp) {
			zap_page(s, sp);	/* unhashes it */
			n++;
		}
	} while (sp);
	sh_recover(s);
	sh_commit(s);
	if (vc->flush) {
		s->st.flushes++;
		if (s->cfg.flush)
			s->cfg.flush(vc->arg);
	}
	reload = vc->root->invalid;
	sh_unlock(s);
	if (reload)
		shadow_load_cr3(vc, vc->cpu.cr3, vc->pdpte);
	return n;
}

/*
 * Let a write at gva through although its frame stays write-protected:
 * the present leaf SPTE for gva gets W (and loses U for a supervisor
 * write: less permission is always safe, a user access refaults).  For
 * exactly one guest instruction, after which the caller calls
 * shadow_unprotect_gfn() on the frame.  0, or -1 if no present leaf maps
 * gva.
 */
int shadow_allow_write(struct shadow_vcpu *vc, uint64_t gva, bool user)
{
	struct shadow_mmu *s = vc->s;
	struct shadow_page *sp;
	int level, ret = -1;
	uint64_t *e;

	sh_lock(s, vc);
	if (vc->mode != GW_MODE_LM)
		gva &= 0xffffffffull;
	sp = vc->root->invalid ? NULL : vc->root;
	for (level = sp ? shadow_root_level(vc) : 1; level > 1 && sp; level--) {
		unsigned int idx = sp->role.pae_root ? (gva >> 30) & 3 :
						       pt_index(gva, level);

		sp = spte_present(sp->spt[idx]) ? sp_by_pa(s, sp->spt[idx]) :
						  NULL;
	}
	if (sp && spte_present(sp->spt[pt_index(gva, 1)])) {
		e = &sp->spt[pt_index(gva, 1)];
		if (s->log.dir)
			sh_mark_dirty(s, leaf_gfn(sp, pt_index(gva, 1)));
		spte_set(e, (*e | PTE_RW | PTE_D) & ~(user ? 0 : PTE_US));
		vc->flush = true;
		s->st.flushes++;
		if (s->cfg.flush)
			s->cfg.flush(vc->arg);
		vc->flush = false;
		ret = 0;
	}
	sh_unlock(s);
	return ret;
}
