// SPDX-License-Identifier: BSD-2-Clause
/*
 * The differential TLB model of the shadow MMU (docs/mmu.md, part 2, "The
 * proof").  A simulated guest in 32-bit, PAE and 4-level paging, with three
 * address spaces sharing tables, writes PTEs at every level through guest
 * stores (which take umbra's write-protect / out-of-sync paths) and through
 * hypervisor-emulated writes, maps its page tables as data, reuses frames as
 * tables, switches CR3, runs INVLPG, toggles CR4.PGE, CR0.WP and paging.
 * The "CPU" walks umbra's shadow tables; a reference TLB holds every
 * translation the architecture would let a TLB hold (SDM Vol 3 4.10).
 * After every step: every shadow translation is one of those, with no more
 * permission; after every flush that set is exactly the current walk.
 * Each configuration runs with OOS on and off and with a tiny pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "tests/host/shadow/model.h"

#define CR0_PE		(1ull << 0)
#define CR4_PGE		(1ull << 7)
#define EFER_LME	(1ull << 8)
#define E_P		(1ull << 0)
#define E_RW		(1ull << 1)
#define E_US		(1ull << 2)
#define E_A		(1ull << 5)
#define E_D		(1ull << 6)
#define E_PS		(1ull << 7)
#define E_G		(1ull << 8)
#define E_NX		(1ull << 63)

static struct model M;

static uint64_t rnd(void)
{
	return rnd_next(&M.rnd);
}

static uint64_t below(uint64_t n)
{
	return rnd_below(&M.rnd, n);
}

static int64_t m_gfn_to_pfn(void *arg, uint64_t gfn)
{
	return gfn < M_FRAMES ? (int64_t)(gfn + M_PFN_OFF) : -1;
}

static enum gw_mode mode(void)
{
	return gw_mode(&(struct gw_ctx){ .cr0 = M.cpu.cr0, .cr4 = M.cpu.cr4,
					 .efer = M.cpu.efer });
}

static unsigned int esz(void)
{
	return mode() == GW_MODE_32 ? 4 : 8;
}

static void ref_ctx(struct gw_ctx *c, bool ac)
{
	memset(c, 0, sizeof(*c));
	c->cr0 = M.cpu.cr0;
	c->cr3 = M.cpu.cr3;
	c->cr4 = M.cpu.cr4;
	c->efer = M.cpu.efer;
	c->ac = ac;
	c->maxphyaddr = 36;
	c->gbpages = true;
	c->pdptes_loaded = true;
	memcpy(c->pdpte, M.pdpte, sizeof(M.pdpte));
	c->mem = &gmem_ops;
	c->mem_arg = &M.mem;
}

/*
 * SDM Vol 3 4.6.1 with the given CR0.WP.  With paging off nothing is
 * checked, and the hypervisor runs the hardware with SMEP/SMAP off.
 */
static bool allows(bool wp, bool ac, unsigned int perm, unsigned int acc)
{
	bool u = perm & GW_PERM_U, user = acc & GW_USER;
	bool smap = (M.cpu.cr4 & GW_CR4_SMAP) && !ac;

	if (mode() == GW_MODE_OFF)
		return true;

	if (acc & GW_FETCH) {
		if (!(perm & GW_PERM_X))
			return false;
		return user ? u : !(u && (M.cpu.cr4 & GW_CR4_SMEP));
	}
	if (user)
		return u && (!(acc & GW_WRITE) || (perm & GW_PERM_W));
	if (u && smap)
		return false;
	return !(acc & GW_WRITE) || (perm & GW_PERM_W) || !wp;
}

static bool guest_allows(bool ac, unsigned int perm, unsigned int acc)
{
	return allows(M.cpu.cr0 & GW_CR0_WP, ac, perm, acc);
}

/* The current translation of va, if the guest tables give one. */
static bool translation(uint64_t va, uint64_t *frame, unsigned int *perm,
			bool *global)
{
	struct gw_ctx c;
	struct gw_result w;
	enum gw_status st;

	ref_ctx(&c, true);
	st = gw_walk(&c, va, GW_NO_AD, &w);
	if (st == GW_MEM_ERROR || (st == GW_FAULT &&
	    (!(w.error_code & PFERR_P) || (w.error_code & PFERR_RSVD))))
		return false;
	*frame = w.gpa >> 12;
	*perm = w.perm;
	*global = mode() != GW_MODE_OFF && (M.cpu.cr4 & CR4_PGE) &&
		  (w.pte[w.nr_ptes - 1] & E_G);
	return true;
}

static void observe(void)
{
	int vi, k;

	for (vi = 0; vi < M_NVA; vi++) {
		struct tlb_ent e;

		if (!translation(M.va[vi], &e.frame, &e.perm, &e.global))
			continue;
		for (k = 0; k < M.ntlb[vi]; k++)
			if (!memcmp(&M.tlb[vi][k], &e, sizeof(e)))
				break;
		if (k < M.ntlb[vi])
			continue;
		if (M.ntlb[vi] == M_TLB) {
			memmove(&M.tlb[vi][0], &M.tlb[vi][1],
				sizeof(e) * (M_TLB - 1));
			M.ntlb[vi]--;
		}
		M.tlb[vi][M.ntlb[vi]++] = e;
	}
}

static void tlb_flush(int only_vi, bool keep_global)
{
	int vi, k, j;

	for (vi = 0; vi < M_NVA; vi++) {
		if (only_vi >= 0 && vi != only_vi)
			continue;
		for (k = j = 0; k < M.ntlb[vi]; k++)
			if (keep_global && M.tlb[vi][k].global)
				M.tlb[vi][j++] = M.tlb[vi][k];
		M.ntlb[vi] = j;
	}
	observe();
}

/* The CPU on the shadow tables: 0 and the translation, or -1 and whether
 * a present leaf denied it (for the error code). */
static int shadow_walk(uint64_t va, uint64_t *pfn, unsigned int *perm)
{
	uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(M.mmu));
	int level = shadow_root_level(M.mmu);
	unsigned int p = GW_PERM_W | GW_PERM_U | GW_PERM_X;
	uint64_t e;

	if (level == 3) {
		va &= 0xffffffffull;
		e = t[(va >> 30) & 3];
		if (!(e & E_P))
			return -1;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
		level = 2;
	}
	for (;; level--) {
		e = t[pt_index(va, level)];
		if (!(e & E_P))
			return -1;
		if (!(e & E_RW))
			p &= ~GW_PERM_W;
		if (!(e & E_US))
			p &= ~GW_PERM_U;
		if (e & E_NX)
			p &= ~GW_PERM_X;
		if (level == 1 || (e & E_PS))
			break;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
	}
	*pfn = ((e & PT_ADDR_MASK) >> 12) +
	       ((va >> 12) & ((1ull << (9 * (level - 1))) - 1));
	*perm = p;
	return 0;
}

static const unsigned int accs[6] = {
	0, GW_WRITE, GW_FETCH, GW_USER, GW_USER | GW_WRITE,
	GW_USER | GW_FETCH,
};

/* The invariant: every shadow translation is one the TLB may hold. */
static void check_invariant(const char *when)
{
	int vi, k, a, ac;

	for (vi = 0; vi < M_NVA; vi++) {
		uint64_t pfn;
		unsigned int perm;
		bool ok = false;

		if (shadow_walk(M.va[vi], &pfn, &perm))
			continue;
		for (k = 0; k < M.ntlb[vi] && !ok; k++) {
			if (M.tlb[vi][k].frame + M_PFN_OFF != pfn)
				continue;
			ok = true;
			for (a = 0; a < 6; a++)
				for (ac = 0; ac < 2; ac++)
					if (allows(true, ac, perm, accs[a]) &&
					    !guest_allows(ac,
							  M.tlb[vi][k].perm,
							  accs[a]))
						ok = false;
		}
		if (!ok && getenv("DBG")) {
			struct gw_ctx c;
			struct gw_result w;
			int st, j;

			ref_ctx(&c, true);
			st = gw_walk(&c, M.va[vi], GW_NO_AD, &w);
			fprintf(stderr, "DBG inv step %lu va %lx st %d ec %x cr3 %lx pdpte %lx %lx %lx %lx:", M.steps,
				(unsigned long)M.va[vi], st, w.error_code, (unsigned long)M.cpu.cr3,
				(unsigned long)M.pdpte[0], (unsigned long)M.pdpte[1], (unsigned long)M.pdpte[2], (unsigned long)M.pdpte[3]);
			for (j = 0; j < w.nr_ptes; j++)
				fprintf(stderr, " %lx@%lx", (unsigned long)w.pte[j], (unsigned long)w.pte_gpa[j]);
			fprintf(stderr, "\n");
		}
		group_expect(M.inv, ok, "%s: va %#lx -> pfn %#lx perm %u "
			     "not allowed (%d TLB entries, step %lu)", when,
			     (unsigned long)M.va[vi], (unsigned long)pfn, perm,
			     M.ntlb[vi], M.steps);
	}
}

/*
 * One guest access through umbra: 0 with *gpa, 1 #PF injected, 2 emulate
 * (*gpa is where; the caller stores and reports), -1 not RAM.
 */
static int guest_access(int vi, uint64_t off, unsigned int acc, bool ac,
			uint64_t *gpa)
{
	uint64_t va = M.va[vi] | off;
	struct gw_ctx c;
	struct gw_result ref, w;
	enum gw_status rs;
	int tries, k;

	M.accesses++;
	ref_ctx(&c, ac);
	rs = gw_walk(&c, va, acc | GW_NO_AD, &ref);
	for (tries = 0; tries < 4; tries++) {
		struct shadow_fault f;
		uint64_t pfn;
		unsigned int perm;
		uint32_t ec;
		int r = shadow_walk(va, &pfn, &perm);

		if (!r && allows(true, ac, perm, acc)) {
			bool ok = false;

			*gpa = ((pfn - M_PFN_OFF) << 12) | (va & 0xfff);
			for (k = 0; k < M.ntlb[vi] && !ok; k++)
				ok = M.tlb[vi][k].frame == *gpa >> 12 &&
				     guest_allows(ac, M.tlb[vi][k].perm, acc);
			group_expect(M.acc, ok, "va %#lx acc %u -> %#lx not "
				     "in the TLB model (step %lu)",
				     (unsigned long)va, acc,
				     (unsigned long)*gpa, M.steps);
			if (tries) {
				uint64_t g = 0;

				group_expect(M.acc, rs == GW_OK &&
					     ref.gpa == *gpa, "va %#lx after "
					     "fix: %#lx, walk %#lx", (unsigned
					     long)va, (unsigned long)*gpa,
					     (unsigned long)ref.gpa);
				if (mode() != GW_MODE_OFF && ref.nr_ptes &&
				    ref.pte_gpa[ref.nr_ptes - 1] != ~0ull)
					g = gmem_get(&M.mem,
						     ref.pte_gpa[ref.nr_ptes - 1],
						     esz());
				group_expect(M.acc, mode() == GW_MODE_OFF ||
					     ((g & E_A) && (!(acc & GW_WRITE) ||
							    (g & E_D))),
					     "A/D not set for va %#lx",
					     (unsigned long)va);
			} else if (rs != GW_OK || (ref.gpa >> 12) !=
				   (*gpa >> 12)) {
				M.stale_hits++;
			}
			return 0;
		}
		ec = (acc & GW_WRITE ? PFERR_W : 0) |
		     (acc & GW_USER ? PFERR_U : 0) |
		     (acc & GW_FETCH ? PFERR_ID : 0) | (r ? 0 : PFERR_P);
		M.faults_via_mmu++;
		if (getenv("DBG") && tries == 3)
			fprintf(stderr, "DBG va %lx acc %u ac %d r %d pfn %lx perm %u ec %x ref %d gpa %lx perm %u cr4 %lx cr0 %lx\n",
				(unsigned long)va, acc, ac, r, (unsigned long)pfn, perm, ec, rs, (unsigned long)ref.gpa, ref.perm, (unsigned long)M.cpu.cr4, (unsigned long)M.cpu.cr0);
		switch (shadow_page_fault(M.mmu, va, ec, ac, &f)) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_INJECT:
			group_expect(M.acc, rs == GW_FAULT &&
				     ref.error_code == f.error_code &&
				     f.cr2 == va, "va %#lx acc %u: injected "
				     "%#x, walk %d/%#x", (unsigned long)va,
				     acc, f.error_code, rs, ref.error_code);
			return 1;
		case SHADOW_EMULATE:
			ref_ctx(&c, ac);
			group_expect(M.acc, gw_walk(&c, va, acc, &w) == GW_OK &&
				     rs == GW_OK && w.gpa == ref.gpa,
				     "emulate at va %#lx but walk %d",
				     (unsigned long)va, rs);
			*gpa = w.gpa;
			return 2;
		case SHADOW_NOT_RAM:
			group_expect(M.acc, rs == GW_MEM_ERROR ||
				     (rs == GW_OK && (ref.gpa >> 12) >= M_FRAMES),
				     "not RAM at va %#lx", (unsigned long)va);
			return -1;
		default:
			group_expect(M.acc, false, "fault result NOMEM");
			return -1;
		}
	}
	group_expect(M.acc, false, "va %#lx acc %u: no progress after 4 "
		     "fixed faults", (unsigned long)va, acc);
	return -1;
}

/* ---- building and changing the guest's tables ---- */

static uint64_t new_table(void)
{
	uint64_t f;

	if (M.next_frame < 900)
		f = M.next_frame++;
	else
		f = 1024 + below(M_FRAMES - 1024);	/* reuse data */
	if (M.ntables < 512)
		M.tables[M.ntables++] = f;
	else
		M.tables[below(512)] = f;
	return f;
}

static uint64_t data_frame(void)
{
	if (below(10) < 6 && M.ntables)
		return M.tables[below(M.ntables)];	/* a table as data */
	return 1024 + below(M_FRAMES - 1024);
}

static uint64_t table_entry(uint64_t frame)
{
	return (frame << 12) | E_P | E_RW | E_US | E_A;
}

static uint64_t leaf_entry(uint64_t frame, bool kernel)
{
	uint64_t e = (frame << 12) | E_P | E_A;

	e |= below(4) ? E_RW : 0;
	e |= kernel ? 0 : E_US;
	e |= below(3) ? E_D : 0;
	if (kernel && (M.cpu.cr4 & CR4_PGE))
		e |= below(4) ? E_G : 0;
	if (esz() == 8 && (M.cpu.efer & GW_EFER_NXE) && !below(4))
		e |= E_NX;
	return e;
}

static int top_level(void)
{
	return mode() == GW_MODE_LM ? 4 : 2;
}

static unsigned int index_of(uint64_t va, int level)
{
	if (mode() == GW_MODE_32)
		return (va >> (12 + 10 * (level - 1))) & 0x3ff;
	return (va >> (12 + 9 * (level - 1))) & 0x1ff;
}

/* Where the top table of address space `as' is for va. */
static uint64_t top_table(int as, uint64_t va, bool create)
{
	uint64_t cr3 = M.as_cr3[as];

	if (mode() == GW_MODE_PAE) {
		uint64_t gpa = (cr3 & ~31ull) + 8 * ((va >> 30) & 3);
		uint64_t e = gmem_get(&M.mem, gpa, 8);

		if (!(e & E_P)) {
			if (!create)
				return 0;
			e = (new_table() << 12) | E_P;
			gmem_put(&M.mem, gpa, 8, e);
		}
		return e & PT_ADDR_MASK;
	}
	return cr3 & ~0xfffull;
}

static void build_path(int as, uint64_t va, bool kernel)
{
	uint64_t t = top_table(as, va, true);
	int level;

	for (level = top_level(); level >= 1; level--) {
		uint64_t gpa = t + esz() * index_of(va, level);
		uint64_t e = gmem_get(&M.mem, gpa, esz());

		if (level == 1) {
			gmem_put(&M.mem, gpa, esz(), below(5) ?
				 leaf_entry(data_frame(), kernel) : 0);
			return;
		}
		if (!(e & E_P)) {
			e = table_entry(new_table());
			gmem_put(&M.mem, gpa, esz(), e);
		}
		t = e & (esz() == 4 ? 0xfffff000ull : PT_ADDR_MASK);
	}
}

static void build(void)
{
	int as, vi;

	memset(M.mem.bytes, 0, M.mem.size);
	M.next_frame = 1;
	M.ntables = 0;
	for (vi = 0; vi < M_NVA; vi++) {
		int r = vi / 16, p = vi % 16;
		uint64_t va;

		if (mode() == GW_MODE_LM) {
			static const uint64_t base[3] = {
				0, (1ull << 39) | (3ull << 30) | (5ull << 21),
				0xffff000000000000ull | (511ull << 39) |
				(510ull << 30) };

			va = base[r] + (uint64_t)(p / 8) * (2ull << 20) +
			     (uint64_t)(p % 8) * 4096;
		} else {
			static const uint64_t base[3] = {
				0, 0x40000000ull | (5ull << 22), 0xc0000000ull };

			va = base[r] + (uint64_t)(p / 8) * (4ull << 20) +
			     (uint64_t)(p % 8) * 4096;
		}
		M.va[vi] = va;
	}
	/* PAE: the PDPTs of all address spaces share one frame. */
	for (as = 0; as < M_NAS; as++)
		M.as_cr3[as] = mode() == GW_MODE_PAE ?
			       (new_table() << 12) * !as + 32 * as : 0;
	for (as = 0; as < M_NAS; as++) {
		if (mode() == GW_MODE_PAE)
			M.as_cr3[as] = (M.as_cr3[0] & ~0xfffull) + 32 * as;
		else
			M.as_cr3[as] = new_table() << 12;
	}
	for (as = 0; as < M_NAS; as++) {
		for (vi = 0; vi < M_NVA; vi++) {
			bool kernel = vi >= 32;

			if (kernel && as) {
				/* share the kernel: copy the top entry */
				uint64_t s = top_table(0, M.va[vi], false);
				uint64_t d = top_table(as, M.va[vi], true);
				unsigned int i = index_of(M.va[vi],
							  top_level());

				if (mode() == GW_MODE_PAE) {
					uint64_t g = (M.as_cr3[as] & ~31ull) +
						     24;
					gmem_put(&M.mem, g, 8, gmem_get(&M.mem,
						 (M.as_cr3[0] & ~31ull) + 24,
						 8));
					continue;
				}
				gmem_put(&M.mem, d + esz() * i, esz(),
					 gmem_get(&M.mem, s + esz() * i,
						  esz()));
				continue;
			}
			if (as == 2 && vi < 16 && mode() != GW_MODE_PAE) {
				/* address space 2 shares 1's low tables */
				uint64_t s = top_table(1, M.va[vi], false);
				uint64_t d = top_table(2, M.va[vi], true);
				unsigned int i = index_of(M.va[vi],
							  top_level());

				gmem_put(&M.mem, d + esz() * i, esz(),
					 gmem_get(&M.mem, s + esz() * i,
						  esz()));
				continue;
			}
			build_path(as, M.va[vi], kernel);
		}
	}
	M.cur_as = 0;
	M.cpu.cr3 = M.as_cr3[0];
}

static void load_pdptes(void)
{
	int i;

	for (i = 0; i < 4 && mode() == GW_MODE_PAE; i++)
		M.pdpte[i] = gmem_get(&M.mem, (M.cpu.cr3 & ~31ull) + 8 * i, 8);
}

/* The hypervisor wrote guest memory on the guest's behalf. */
static void hv_write(uint64_t gpa, unsigned int size, uint64_t v)
{
	gmem_put(&M.mem, gpa, size, v);
	shadow_emulated_write(M.mmu, gpa, &v, size);
}

/* A guest store of v at gpa, through a tracked alias of the frame if there
 * is one (umbra's protect / unsync path), else emulated by the hypervisor. */
static void guest_store(uint64_t gpa, unsigned int size, uint64_t v)
{
	int tries, vi;

	for (tries = 0; tries < M_NVA && below(10) < 9; tries++) {
		uint64_t frame, got;
		unsigned int perm;
		bool g;
		int r;

		if (!tries)
			vi = (int)below(M_NVA);
		vi = (vi + 1) % M_NVA;
		if (!translation(M.va[vi], &frame, &perm, &g) ||
		    frame != gpa >> 12)
			continue;
		r = guest_access(vi, gpa & 0xfff, GW_WRITE, false, &got);
		if (r == 0)
			gmem_put(&M.mem, got, size, v);	/* no exit */
		else if (r == 2)
			hv_write(got, size, v);
		return;
	}
	hv_write(gpa, size, v);
}

static uint64_t last_va_index;

static void mutate(void)
{
	int vi = (int)below(M_NVA), k, level;
	struct gw_ctx c;
	struct gw_result w;
	uint64_t gpa, v, nv;
	bool leaf;

	last_va_index = vi;
	ref_ctx(&c, true);
	gw_walk(&c, M.va[vi], GW_NO_AD, &w);
	if (!w.nr_ptes)
		return;
	k = below(10) < 6 ? w.nr_ptes - 1 : (int)below(w.nr_ptes);
	v = w.pte[k];
	gpa = w.pte_gpa[k];
	if (mode() == GW_MODE_PAE && k == 0) {
		/* a PDPTE: effective at the next CR3 load only */
		gpa = (M.cpu.cr3 & ~31ull) + 8 * ((M.va[vi] >> 30) & 3);
		nv = below(4) ? (M.tables[below(M.ntables)] << 12) | E_P : 0;
		hv_write(gpa, 8, nv);
		return;
	}
	level = (mode() == GW_MODE_LM ? 4 : 2) - (mode() == GW_MODE_PAE ?
						   k - 1 : k);
	leaf = level == 1 || (k == w.nr_ptes - 1 && (v & E_PS));
	switch (below(12)) {
	case 0: case 1: case 2: case 3: {
		static const uint64_t flip[] = { E_RW, E_US, E_A, E_D, E_G,
						 E_NX, E_P };
		uint64_t f = flip[below(esz() == 8 ? 7 : 5)];

		if (f == E_NX && !(M.cpu.efer & GW_EFER_NXE))
			f = E_RW;
		nv = v ^ f;
		break;
	}
	case 4:
		nv = v & ~E_P;
		break;
	case 5: case 6: case 7:
		if (!leaf) {
			uint64_t f = below(3) ? M.tables[below(M.ntables)] :
						new_table();

			if (f >= 1024) {	/* fresh from data: clear */
				unsigned int i;

				for (i = 0; i < 4096; i += 8)
					hv_write((f << 12) + i, 8, 0);
			}
			nv = (v & 0xfff) | (f << 12) | E_P;
		} else {
			nv = (v & 0xfff & ~E_PS) | (data_frame() << 12) | E_P;
			if (level > 1)
				nv = v;	/* keep large pages simple */
		}
		break;
	case 8:
		if (level == 2 || (level == 3 && mode() == GW_MODE_LM)) {
			uint64_t size = level == 3 ? (1ull << 30) :
					mode() == GW_MODE_32 ? (4ull << 20) :
							       (2ull << 20);
			uint64_t base = level == 3 ? 0 :
					below(M_FRAMES * 4096ull / size) *
					size;

			nv = base | E_P | E_RW | E_US | E_A | E_PS |
			     (below(2) ? E_D : 0) | (below(3) ? 0 : E_G);
		} else {
			nv = leaf_entry(data_frame(), below(2));
		}
		break;
	case 9:
		nv = esz() == 8 ? v | (1ull << 40) : v;	/* reserved */
		break;
	default:
		nv = leaf ? leaf_entry(data_frame(), M.va[vi] >= (1ull << 31))
			  : v;
		break;
	}
	guest_store(gpa, esz(), nv);
}

/* ---- one run ---- */

struct run_cfg {
	const char *name;
	enum gw_mode mode;
	bool oos;
	unsigned int pool;
	bool smep_smap;
	int steps;
};

static struct shadow_stats total;

static void set_mode_regs(enum gw_mode md, bool sm)
{
	M.cpu.cr0 = GW_CR0_PG | CR0_PE | GW_CR0_WP;
	M.cpu.cr4 = CR4_PGE | (sm ? GW_CR4_SMEP | GW_CR4_SMAP : 0);
	M.cpu.efer = 0;
	if (md == GW_MODE_32)
		M.cpu.cr4 |= GW_CR4_PSE;
	if (md == GW_MODE_PAE || md == GW_MODE_LM) {
		M.cpu.cr4 |= GW_CR4_PAE;
		M.cpu.efer |= GW_EFER_NXE;
	}
	if (md == GW_MODE_LM)
		M.cpu.efer |= EFER_LME | GW_EFER_LMA;
}

static void set_cr(void)
{
	load_pdptes();
	shadow_set_cr(M.mmu, M.cpu.cr0, M.cpu.cr4, M.cpu.efer, M.pdpte);
	tlb_flush(-1, false);
}

static void run(const struct run_cfg *rc, uint64_t seed)
{
	struct shadow_config cfg = {
		.max_pages = rc->pool, .oos = rc->oos, .maxphyaddr = 36,
		.gbpages = true, .gfn_to_pfn = m_gfn_to_pfn,
		.mem = &gmem_ops, .mem_arg = &M.mem,
	};
	struct check_group inv, acc, cons;
	struct shadow_stats st;
	char name[3][160], buf[256];
	long leaked;
	unsigned long max_pages = 0;
	int step, ret;

	snprintf(name[0], sizeof(name[0]), "%s: shadow translations allowed "
		 "by the TLB model", rc->name);
	snprintf(name[1], sizeof(name[1]), "%s: accesses (frame, #PF error "
		 "code, A/D)", rc->name);
	snprintf(name[2], sizeof(name[2]), "%s: rmap/parents/unsync "
		 "consistent after every step", rc->name);
	group_init(&inv, name[0]);
	group_init(&acc, name[1]);
	group_init(&cons, name[2]);
	M.inv = &inv;
	M.acc = &acc;
	M.cons = &cons;
	M.rnd = seed;
	M.oos = rc->oos;
	memset(M.ntlb, 0, sizeof(M.ntlb));
	set_mode_regs(rc->mode, rc->smep_smap);
	build();
	load_pdptes();
	host_pages_peak_reset();
	ret = shadow_init(&M.mmu, &cfg, &M.cpu);
	if (ret) {
		check(false, rc->name, "shadow_init: %d", ret);
		return;
	}
	shadow_load_cr3(M.mmu, M.cpu.cr3, M.pdpte);
	observe();
	for (step = 0; step < rc->steps; step++) {
		unsigned int r = (unsigned int)below(100);
		uint64_t gpa;

		M.steps++;
		if (r < 40) {
			int vi = (int)below(M_NVA);
			unsigned int a = accs[below(6)];
			int res = guest_access(vi, below(512) * 8, a,
					       !below(4), &gpa);

			if (a & GW_WRITE && !below(3)) {
				uint64_t v = leaf_entry(data_frame(), false);

				if (res == 0)
					gmem_put(&M.mem, gpa & ~7ull, 8, v);
				else if (res == 2)
					hv_write(gpa & ~7ull, 8, v);
			}
			observe();
		} else if (r < 60) {
			mutate();
			observe();
		} else if (r < 70) {
			int vi = below(2) ? (int)last_va_index :
					    (int)below(M_NVA);

			shadow_invlpg(M.mmu, M.va[vi]);
			tlb_flush(vi, false);
		} else if (r < 80) {
			M.cur_as = (int)below(M_NAS);
			M.cpu.cr3 = M.as_cr3[M.cur_as];
			load_pdptes();
			shadow_load_cr3(M.mmu, M.cpu.cr3, M.pdpte);
			tlb_flush(-1, true);
		} else if (r < 83) {
			M.cpu.cr4 ^= CR4_PGE;
			set_cr();
		} else if (r < 85) {
			M.cpu.cr0 ^= GW_CR0_WP;
			set_cr();
		} else if (r < 86 && !below(3)) {
			/* paging off, a few accesses, INVLPG, paging on */
			uint64_t cr0 = M.cpu.cr0, efer = M.cpu.efer;
			int i;

			M.cpu.cr0 &= ~GW_CR0_PG;
			M.cpu.efer &= ~GW_EFER_LMA;
			set_cr();
			for (i = 0; i < 4; i++)
				guest_access((int)below(M_NVA), 0,
					     accs[below(6)], false, &gpa);
			shadow_invlpg(M.mmu, M.va[0]);
			tlb_flush(0, false);
			check_invariant("paging off");
			M.cpu.cr0 = cr0;
			M.cpu.efer = efer;
			set_cr();
		} else {
			/* a table frame cleared and reused as data */
			uint64_t f = M.tables[below(M.ntables)];
			unsigned int i;

			for (i = 0; i < 8; i++)
				guest_store((f << 12) + 8 * below(512), 8,
					    below(2) ? 0 : rnd());
			observe();
		}
		check_invariant("step");
		ret = shadow_check(M.mmu, buf, sizeof(buf));
		group_expect(&cons, !ret, "step %d: %s", step, buf);
		shadow_get_stats(M.mmu, &st);
		if (st.pages > max_pages)
			max_pages = st.pages;
	}
	shadow_get_stats(M.mmu, &st);
	total.mmu_unsync += st.mmu_unsync;
	total.sync_cr3 += st.sync_cr3;
	total.sync_invlpg += st.sync_invlpg;
	total.sync_flush += st.sync_flush;
	total.mmu_pte_write += st.mmu_pte_write;
	total.mmu_flooded += st.mmu_flooded;
	total.mmu_recycled += st.mmu_recycled;
	total.root_hits += st.root_hits;
	total.wp_faults += st.wp_faults;
	group_report(&inv);
	group_report(&acc);
	group_report(&cons);
	snprintf(name[0], sizeof(name[0]), "%s: memory budget held (at most "
		 "%ld of %u pages, %lu shadow pages, %lu recycled)", rc->name,
		 host_pages_peak(), rc->pool, max_pages,
		 (unsigned long)st.mmu_recycled);
	check(host_pages_peak() <= (long)rc->pool, name[0], "%ld pages",
	      host_pages_peak());
	if (rc->oos) {
		snprintf(name[0], sizeof(name[0]), "%s: pages went unsync "
			 "(%lu) and were synced", rc->name,
			 (unsigned long)st.mmu_unsync);
		check(st.mmu_unsync > 0, name[0], "no unsync page");
	} else {
		snprintf(name[0], sizeof(name[0]), "%s: no unsync page "
			 "without OOS", rc->name);
		check(st.mmu_unsync == 0, name[0], "%lu",
		      (unsigned long)st.mmu_unsync);
	}
	leaked = shadow_destroy(M.mmu);
	snprintf(name[0], sizeof(name[0]), "%s: teardown frees every page",
		 rc->name);
	check(!leaked && !host_pages_outstanding(), name[0],
	      "%ld records, %ld pages left", leaked,
	      host_pages_outstanding());
}

int main(void)
{
	static const char *mname[] = { "off", "32-bit", "PAE", "4-level" };
	uint64_t seed = test_seed(20250601);
	enum gw_mode modes[3] = { GW_MODE_32, GW_MODE_PAE, GW_MODE_LM };
	int steps = getenv("STEPS") ? atoi(getenv("STEPS")) : 8000;
	clock_t t0 = clock();
	int mi, v;

	M.mem.size = M_FRAMES * 4096ull;
	M.mem.bytes = aligned_alloc(4096, M.mem.size);
	for (mi = 0; mi < 3; mi++) {
		for (v = 0; v < 4; v++) {
			struct run_cfg rc = {
				.mode = modes[mi], .oos = !(v & 1),
				.pool = v & 2 ? 24 : 1024,
				.smep_smap = (mi + v) % 3 == 0,
				.steps = steps,
			};
			char name[96];

			snprintf(name, sizeof(name), "%s, OOS %s, %s pool%s",
				 mname[modes[mi]], rc.oos ? "on" : "off",
				 rc.pool < 100 ? "tiny" : "large",
				 rc.smep_smap ? ", SMEP+SMAP" : "");
			rc.name = name;
			run(&rc, seed + (uint64_t)(mi * 4 + v) * 7919);
		}
	}
	printf("model: %lu steps, %lu accesses, %lu #PF exits, %lu stale "
	       "hits allowed; %lu unsync, %lu/%lu/%lu syncs (cr3/invlpg/"
	       "flush), %lu pte writes, %lu floods, %lu reclaims, %lu root "
	       "hits, %.1fs\n", M.steps, M.accesses, M.faults_via_mmu,
	       M.stale_hits, (unsigned long)total.mmu_unsync,
	       (unsigned long)total.sync_cr3,
	       (unsigned long)total.sync_invlpg,
	       (unsigned long)total.sync_flush,
	       (unsigned long)total.mmu_pte_write,
	       (unsigned long)total.mmu_flooded,
	       (unsigned long)total.mmu_recycled,
	       (unsigned long)total.root_hits,
	       (double)(clock() - t0) / CLOCKS_PER_SEC);
	free(M.mem.bytes);
	return check_finish();
}
