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
 * In 4-level paging the guest's leaves carry random protection keys (bits
 * 62:59), and a shadow translation must carry its reference's key (the
 * CPU checks the key of the shadow leaf, SDM Vol 3 4.6.2); in PAE shadow
 * tables no key at all.
 * Each configuration runs with OOS on and off and with a tiny pool.
 *
 * With two or three vCPUs (issue 12) each has its own registers, address
 * space, reference TLB and hardware TLB; they share guest memory and the
 * shadow MMU, and one of them runs each step.  The others stay in guest
 * mode, where their TLBs keep what they cached (and the CPU writes
 * through a stale writable entry, step_stale_write()), until umbra kicks
 * them out (cfg.kick); they flush, if umbra asks, when they enter again.
 * The invariant holds for every vCPU after every step: a flush umbra
 * forgets to ask of another vCPU shows as a translation its reference
 * does not allow, now or after the guest changed a table behind umbra's
 * back through such an entry.
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
#define E_KEY_SHIFT	59
#define E_KEY		(0xfull << E_KEY_SHIFT)
/* a translation's protection key rides in its perm, above GW_PERM_* */
#define PERM_KEY_SHIFT	8
#define PERM_KEY(e)	((unsigned int)(((e) & E_KEY) >> E_KEY_SHIFT) << \
			 PERM_KEY_SHIFT)

static struct model M;
#define C	(M.c)		/* the vCPU of this step */

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

/* cfg.large_ok: guest memory is one contiguous block of RAM */
static bool m_large_ok(void *arg, uint64_t gfn, uint64_t n)
{
	return gfn + n <= M_FRAMES;
}

static enum gw_mode mode(void)
{
	return gw_mode(&(struct gw_ctx){ .cr0 = C->cpu.cr0, .cr4 = C->cpu.cr4,
					 .efer = C->cpu.efer });
}

static unsigned int esz(void)
{
	return mode() == GW_MODE_32 ? 4 : 8;
}

static void ref_ctx(struct gw_ctx *c, bool ac)
{
	memset(c, 0, sizeof(*c));
	c->cr0 = C->cpu.cr0;
	c->cr3 = C->cpu.cr3;
	c->cr4 = C->cpu.cr4;
	c->efer = C->cpu.efer;
	c->ac = ac;
	c->maxphyaddr = 36;
	c->gbpages = true;
	c->pdptes_loaded = true;
	memcpy(c->pdpte, C->pdpte, sizeof(C->pdpte));
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
	bool smap = (C->cpu.cr4 & GW_CR4_SMAP) && !ac;

	if (mode() == GW_MODE_OFF)
		return true;

	if (acc & GW_FETCH) {
		if (!(perm & GW_PERM_X))
			return false;
		return user ? u : !(u && (C->cpu.cr4 & GW_CR4_SMEP));
	}
	if (user)
		return u && (!(acc & GW_WRITE) || (perm & GW_PERM_W));
	if (u && smap)
		return false;
	return !(acc & GW_WRITE) || (perm & GW_PERM_W) || !wp;
}

static bool guest_allows(bool ac, unsigned int perm, unsigned int acc)
{
	return allows(C->cpu.cr0 & GW_CR0_WP, ac, perm, acc);
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
	if (mode() == GW_MODE_LM)
		*perm |= PERM_KEY(w.pte[w.nr_ptes - 1]);
	*global = mode() != GW_MODE_OFF && (C->cpu.cr4 & CR4_PGE) &&
		  (w.pte[w.nr_ptes - 1] & E_G);
	return true;
}

/* What vCPU C's TLB may hold now (its registers, the memory now). */
static void observe_cpu(void)
{
	int vi, k;

	for (vi = 0; vi < M_NVA; vi++) {
		struct tlb_ent e;

		if (!translation(M.va[vi], &e.frame, &e.perm, &e.global))
			continue;
		for (k = 0; k < C->ntlb[vi]; k++)
			if (C->tlb[vi][k].frame == e.frame &&
			    C->tlb[vi][k].perm == e.perm &&
			    C->tlb[vi][k].global == e.global)
				break;
		if (k < C->ntlb[vi])
			continue;
		if (C->ntlb[vi] == M_TLB) {
			memmove(&C->tlb[vi][0], &C->tlb[vi][1],
				sizeof(e) * (M_TLB - 1));
			C->ntlb[vi]--;
		}
		C->tlb[vi][C->ntlb[vi]++] = e;
	}
}

/* Every vCPU: guest memory is shared, registers are each its own. */
static void observe(void)
{
	struct model_cpu *c = C;

	for (C = M.cpus; C < M.cpus + M.ncpu; C++)
		observe_cpu();
	C = c;
}

static void tlb_flush(int only_vi, bool keep_global)
{
	int vi, k, j;

	for (vi = 0; vi < M_NVA; vi++) {
		if (only_vi >= 0 && vi != only_vi)
			continue;
		for (k = j = 0; k < C->ntlb[vi]; k++)
			if (keep_global && C->tlb[vi][k].global)
				C->tlb[vi][j++] = C->tlb[vi][k];
		C->ntlb[vi] = j;
		M.pte_changed[vi] = false;
	}
	observe();
}

/* The reference sees every guest state the CPU could have run in. */
static void ref_sync(void)
{
	if (M.ref_stale) {
		M.ref_stale = false;
		observe();
	}
}

/* A guest store that needs no exit (or one the hypervisor made). */
static void guest_mem_put(uint64_t gpa, unsigned int size, uint64_t v)
{
	gmem_put(&M.mem, gpa, size, v);
	M.ref_stale = true;
	if (M.log.on && (gpa >> 12) - M.log.gfn < M.log.nr) {
		M.log.written[gpa >> 12] = 1;
		M.ev.logged_writes++;
	}
}

/* ---- the hardware TLB ---- */

static void hw_flush(void)
{
	memset(C->nhw, 0, sizeof(C->nhw));
	M.ev.hw_flushes++;
}

/* cfg.flush: umbra flushes the guest's tag (of the vCPU it runs for). */
static void hw_flush_cb(void *arg)
{
	group_expect(M.inv, arg == C, "cfg.flush for vCPU %d from vCPU %d",
		     (int)((struct model_cpu *)arg - M.cpus),
		     (int)(C - M.cpus));
	hw_flush();
}

/*
 * cfg.kick: another vCPU changed SPTEs this one may cache.  It leaves
 * guest mode (as an IPI would make it) and enters again, through
 * vm_entry() and its shadow_flush_pending(), before it runs: the first
 * thing any step does (enter_kicked()).  An entry point the step's own
 * vCPU calls never kicks it; a VM-wide one (dirty logging) kicks all.
 */
static void kick_cb(void *arg)
{
	struct model_cpu *c = arg;

	/* the step's own vCPU too, for a VM-wide call (dirty logging) */
	c->in_guest = false;
	M.ev.kicks++;
}

/* Before the guest runs again, as arch/x86/arch/x86/paging/shadow.c does it: flush
 * the tag when umbra asks (shadow_flush_pending()) or the root changed. */
static void vm_entry(void)
{
	uint64_t root = shadow_root_hpa(C->vc), va;
	int vi;

	if (shadow_flush_pending(C->vc) || root != C->hw_root) {
		hw_flush();
	} else if (shadow_flush_va_pending(C->vc, &va)) {
		/* INVLPGA / individual-address INVVPID: that page only */
		for (vi = 0; vi < M_NVA; vi++)
			if (!((M.va[vi] ^ va) & ~0xfffull & (mode() ==
			      GW_MODE_LM ? ~0ull : 0xffffffffull)))
				C->nhw[vi] = 0;
		M.ev.hw_flushes_one++;
	}
	shadow_flush_va_pending(C->vc, &va);
	C->hw_root = root;
	C->in_guest = true;
}

/* The vCPUs a kick took out of guest mode enter it again. */
static void enter_kicked(void)
{
	struct model_cpu *c = C;

	for (C = M.cpus; C < M.cpus + M.ncpu; C++)
		if (!C->in_guest)
			vm_entry();
	C = c;
}

/* The CPU caches a translation it walked (it may at any time). */
static void hw_fill(int vi, uint64_t pfn, unsigned int perm)
{
	int k;

	for (k = 0; k < C->nhw[vi]; k++)
		if (C->hw[vi][k].pfn == pfn && C->hw[vi][k].perm == perm)
			return;
	if (C->nhw[vi] == M_HW) {
		memmove(&C->hw[vi][0], &C->hw[vi][1],
			sizeof(C->hw[vi][0]) * (M_HW - 1));
		C->nhw[vi]--;
	}
	C->hw[vi][C->nhw[vi]++] = (struct hw_ent){ .pfn = pfn, .perm = perm };
}

/* The CPU on the shadow tables: 0 and the translation, or -1 and whether
 * a present leaf denied it (for the error code). */
static int shadow_walk(uint64_t va, uint64_t *pfn, unsigned int *perm)
{
	uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(C->vc));
	int level = shadow_root_level(C->vc);
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
	/* a large leaf's frame is aligned: bit 12 is its PAT */
	*pfn = ((e & PT_ADDR_MASK & ~((1ull << (12 + 9 * (level - 1))) - 1))
		>> 12) + ((va >> 12) & ((1ull << (9 * (level - 1))) - 1));
	*perm = p | PERM_KEY(e);
	return 0;
}

static const unsigned int accs[6] = {
	0, GW_WRITE, GW_FETCH, GW_USER, GW_USER | GW_WRITE,
	GW_USER | GW_FETCH,
};

/* A translation the reference TLB holds with no less permission and the
 * same protection key. */
static bool ref_allows(int vi, uint64_t pfn, unsigned int perm)
{
	int k, a, ac;

	for (k = 0; k < C->ntlb[vi]; k++) {
		bool ok = C->tlb[vi][k].frame + M_PFN_OFF == pfn &&
			  C->tlb[vi][k].perm >> PERM_KEY_SHIFT ==
			  perm >> PERM_KEY_SHIFT;

		for (a = 0; a < 6 && ok; a++)
			for (ac = 0; ac < 2; ac++)
				if (allows(true, ac, perm, accs[a]) &&
				    !guest_allows(ac, C->tlb[vi][k].perm,
						  accs[a]))
					ok = false;
		if (ok)
			return true;
	}
	return false;
}

/* DBG=1: what the reference holds and the walk gives for address vi. */
static void dbg_entry(int vi, int k)
{
	struct gw_ctx c;
	struct gw_result w;
	int st, j;

	ref_ctx(&c, true);
	st = gw_walk(&c, M.va[vi], GW_NO_AD, &w);
	fprintf(stderr, "DBG step %lu va %#lx hw pfn %#lx perm %u; walk %d "
		"ec %#x cr0 %#lx cr3 %#lx cr4 %#lx:", M.steps,
		(unsigned long)M.va[vi], (unsigned long)C->hw[vi][k].pfn,
		C->hw[vi][k].perm, st, w.error_code, (unsigned long)C->cpu.cr0,
		(unsigned long)C->cpu.cr3, (unsigned long)C->cpu.cr4);
	for (j = 0; j < w.nr_ptes; j++)
		fprintf(stderr, " %#lx@%#lx", (unsigned long)w.pte[j],
			(unsigned long)w.pte_gpa[j]);
	fprintf(stderr, "\nDBG reference:");
	for (j = 0; j < C->ntlb[vi]; j++)
		fprintf(stderr, " %#lx/%u%s",
			(unsigned long)C->tlb[vi][j].frame,
			C->tlb[vi][j].perm, C->tlb[vi][j].global ? "g" : "");
	fprintf(stderr, "\n");
}

/*
 * The invariant (docs/mmu.md, part 2, "The proof"): every translation the
 * hardware may use, the shadow tables' own and every one the hardware TLB
 * kept since umbra's last flush, is one the guest's TLB may hold.
 */
static void check_cpu(const char *when)
{
	int vi, k;

	for (vi = 0; vi < M_NVA; vi++) {
		uint64_t pfn;
		unsigned int perm;

		if (!shadow_walk(M.va[vi], &pfn, &perm))
			hw_fill(vi, pfn, perm);
		for (k = 0; k < C->nhw[vi]; k++) {
			bool ok = ref_allows(vi, C->hw[vi][k].pfn,
					     C->hw[vi][k].perm);

			if (!ok && getenv("DBG"))
				dbg_entry(vi, k);
			group_expect(M.inv, ok,
				     "%s: va %#lx -> pfn %#lx perm %u not "
				     "allowed (TLB entry %d of %d, %d in the "
				     "reference, step %lu)", when,
				     (unsigned long)M.va[vi],
				     (unsigned long)C->hw[vi][k].pfn,
				     C->hw[vi][k].perm, k, C->nhw[vi],
				     C->ntlb[vi], M.steps);
		}
	}
}

/* ... for every vCPU: the others run in the guest meanwhile (on the
 * shadow tables and what their TLBs kept), unless kicked out. */
static void check_invariant(const char *when)
{
	struct model_cpu *c = C;
	char buf[96];

	ref_sync();
	enter_kicked();
	for (C = M.cpus; C < M.cpus + M.ncpu; C++) {
		if (M.ncpu > 1)
			snprintf(buf, sizeof(buf), "%s (vCPU %d, step's %d)",
				 when, (int)(C - M.cpus), (int)(c - M.cpus));
		check_cpu(M.ncpu > 1 ? buf : when);
	}
	C = c;
}

/*
 * The CPU translates va for acc: through the hardware TLB, else by a walk
 * of the shadow tables whose result it caches.  0 and the frame, or -1 and
 * whether a present entry denied it.  A #PF drops the TLB entries of the
 * address (SDM Vol 3 4.10.4.1, "page faults").
 */
static int cpu_translate(int vi, uint64_t va, unsigned int acc, bool ac,
			 uint64_t *pfn, bool *present)
{
	unsigned int perm;
	int k;

	for (k = 0; k < C->nhw[vi]; k++) {
		if (allows(true, ac, C->hw[vi][k].perm, acc)) {
			*pfn = C->hw[vi][k].pfn;
			M.ev.hw_hits++;
			return 0;
		}
	}
	if (C->nhw[vi]) {
		C->nhw[vi] = 0;
		M.ev.hw_faults++;
		*present = true;
		return -1;
	}
	*present = !shadow_walk(va, pfn, &perm);
	if (*present && allows(true, ac, perm, acc)) {
		hw_fill(vi, *pfn, perm);
		return 0;
	}
	return -1;
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
	enum shadow_fault_result res;
	int tries, k;

	M.accesses++;
	ref_sync();
	ref_ctx(&c, ac);
	rs = gw_walk(&c, va, acc | GW_NO_AD, &ref);
	for (tries = 0; tries < 4; tries++) {
		struct shadow_fault f;
		uint64_t pfn;
		bool present;
		uint32_t ec;

		if (!cpu_translate(vi, va, acc, ac, &pfn, &present)) {
			bool ok = false;

			*gpa = ((pfn - M_PFN_OFF) << 12) | (va & 0xfff);
			for (k = 0; k < C->ntlb[vi] && !ok; k++)
				ok = C->tlb[vi][k].frame == *gpa >> 12 &&
				     guest_allows(ac, C->tlb[vi][k].perm, acc);
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
		     (acc & GW_FETCH ? PFERR_ID : 0) | (present ? PFERR_P : 0);
		M.faults_via_mmu++;
		res = shadow_page_fault(C->vc, va, ec, ac, &f);
		vm_entry();
		switch (res) {
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

/* Addresses whose leaves are mostly global: the kernel, and 8-15, whose
 * tables differ between address spaces (an INVLPG in one must reach the
 * global entries another one's tables gave). */
static bool global_va(int vi)
{
	return vi >= 32 || vi / 8 == 1;
}

static uint64_t leaf_entry(uint64_t frame, bool kernel, bool global)
{
	uint64_t e = (frame << 12) | E_P | E_A;

	e |= below(4) ? E_RW : 0;
	e |= kernel ? 0 : E_US;
	e |= below(3) ? E_D : 0;
	if (global && (C->cpu.cr4 & CR4_PGE))
		e |= below(8) ? E_G : 0;
	if (esz() == 8 && (C->cpu.efer & GW_EFER_NXE) && !below(4))
		e |= E_NX;
	if (mode() == GW_MODE_LM && below(2))
		e |= below(16) << E_KEY_SHIFT;
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

static void build_path(int as, int vi, bool kernel)
{
	uint64_t va = M.va[vi], t = top_table(as, va, true);
	int level;

	for (level = top_level(); level >= 1; level--) {
		uint64_t gpa = t + esz() * index_of(va, level);
		uint64_t e = gmem_get(&M.mem, gpa, esz());

		if (level == 1) {
			gmem_put(&M.mem, gpa, esz(), below(5) ?
				 leaf_entry(data_frame(), kernel,
					    global_va(vi)) : 0);
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
			build_path(as, vi, kernel);
		}
	}
	C->cur_as = 0;
	C->cpu.cr3 = M.as_cr3[0];
}

static void load_pdptes(void)
{
	int i;

	for (i = 0; i < 4 && mode() == GW_MODE_PAE; i++)
		C->pdpte[i] = gmem_get(&M.mem, (C->cpu.cr3 & ~31ull) + 8 * i,
				       8);
}

/* The hypervisor wrote guest memory on the guest's behalf. */
static void hv_write(uint64_t gpa, unsigned int size, uint64_t v)
{
	guest_mem_put(gpa, size, v);
	shadow_emulated_write(C->vc, gpa, &v, size);
	vm_entry();
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
			guest_mem_put(got, size, v);	/* no exit */
		else if (r == 2)
			hv_write(got, size, v);
		return;
	}
	hv_write(gpa, size, v);
}

static void mutate(void)
{
	int vi = (int)below(M_NVA), k, level;
	struct gw_ctx c;
	struct gw_result w;
	uint64_t gpa, v, nv;
	bool leaf;

	ref_ctx(&c, true);
	gw_walk(&c, M.va[vi], GW_NO_AD, &w);
	if (!w.nr_ptes)
		return;
	k = below(10) < 6 ? w.nr_ptes - 1 : (int)below(w.nr_ptes);
	v = w.pte[k];
	gpa = w.pte_gpa[k];
	if (mode() == GW_MODE_PAE && k == 0) {
		/* a PDPTE: effective at the next CR3 load only */
		gpa = (C->cpu.cr3 & ~31ull) + 8 * ((M.va[vi] >> 30) & 3);
		nv = below(4) ? (M.tables[below(M.ntables)] << 12) | E_P : 0;
		hv_write(gpa, 8, nv);
		M.pte_changed[vi] |= nv != v;
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

		if (f == E_NX && !(C->cpu.efer & GW_EFER_NXE))
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

			/* large shadow leaves (issue 18): the guest's
			 * permissions, D and PAT (bit 12) vary */
			nv = base | E_P | E_A | E_PS |
			     (below(4) ? E_RW : 0) | (below(4) ? E_US : 0) |
			     (below(2) ? E_D : 0) | (below(3) ? 0 : E_G) |
			     (below(4) ? 0 : 1ull << 12);
			if (esz() == 8 && (C->cpu.efer & GW_EFER_NXE) &&
			    !below(4))
				nv |= E_NX;
		} else {
			nv = leaf_entry(data_frame(), below(2),
					global_va(vi));
		}
		break;
	case 9:
		if (mode() == GW_MODE_LM && below(2))	/* another key */
			nv = v ^ ((1 + below(15)) << E_KEY_SHIFT);
		else
			nv = esz() == 8 ? v | (1ull << 40) : v;	/* reserved */
		break;
	default:
		nv = leaf ? leaf_entry(data_frame(), M.va[vi] >= (1ull << 31),
				       global_va(vi)) : v;
		break;
	}
	M.pte_changed[vi] |= nv != v;
	guest_store(gpa, esz(), nv);
}

static void set_cr(void)
{
	load_pdptes();
	shadow_set_cr(C->vc, C->cpu.cr0, C->cpu.cr4, C->cpu.efer, C->pdpte);
	vm_entry();
	tlb_flush(-1, false);
}

/* ---- the steps ---- */

/* Entries on a walk that ends in a 4 KiB PTE. */
static int depth(void)
{
	return mode() == GW_MODE_LM ? 4 : mode() == GW_MODE_PAE ? 3 : 2;
}

static const char *step_access(void)
{
	int vi = (int)below(M_NVA);
	unsigned int a = accs[below(6)];
	uint64_t gpa;
	int res = guest_access(vi, below(512) * 8, a, !below(4), &gpa);

	if (a & GW_WRITE && !below(3)) {
		uint64_t v = leaf_entry(data_frame(), false, below(2));

		if (res == 0)
			guest_mem_put(gpa & ~7ull, 8, v);
		else if (res == 2)
			hv_write(gpa & ~7ull, 8, v);
	}
	observe();
	return "step";
}

static const char *step_mutate(void)
{
	mutate();
	observe();
	return "step";
}

/* A supervisor store through tracked address al (the guest's own). */
static void store_via(int al, uint64_t off, uint64_t v)
{
	uint64_t got;
	int r = guest_access(al, off, GW_WRITE, true, &got);

	if (r == 0)
		guest_mem_put(got, esz(), v);
	else if (r == 2)
		hv_write(got, esz(), v);
}

/*
 * The guest rewrites its own leaf table: the table that maps address vi
 * gets mapped as data at address al, then PTEs in it are stored through
 * al, without an exit if umbra let the table go out of sync.
 */
static const char *step_alias(void)
{
	int vi = below(2) ? 8 + (int)below(8) : (int)below(M_NVA);
	int al = (int)below(M_NVA), i, n;
	uint64_t pt, mask = esz() == 4 ? 0xfffff000ull : PT_ADDR_MASK;
	struct gw_ctx c;
	struct gw_result w, wa;

	ref_ctx(&c, true);
	gw_walk(&c, M.va[vi], GW_NO_AD, &w);
	gw_walk(&c, M.va[al], GW_NO_AD, &wa);
	if (vi == al || w.nr_ptes != depth() || wa.nr_ptes != depth())
		return "step";
	pt = w.pte_gpa[w.nr_ptes - 1] & ~0xfffull;
	if ((wa.pte[wa.nr_ptes - 1] & mask) != pt ||
	    !(wa.pte[wa.nr_ptes - 1] & E_P)) {
		uint64_t e = pt | E_P | E_RW | E_A | E_D |
			     (al < 32 ? E_US : 0);

		if (al >= 32 && (C->cpu.cr4 & CR4_PGE) && below(2))
			e |= E_G;
		guest_store(wa.pte_gpa[wa.nr_ptes - 1], esz(), e);
		M.pte_changed[al] = true;
	}
	n = 1 + (int)below(4);
	for (i = 0; i < n; i++) {
		int t = (vi & ~7) | (int)below(8);
		uint64_t off = esz() * index_of(M.va[t], 1);

		store_via(al, off, below(8) ? leaf_entry(data_frame(), t >= 32,
							 global_va(t)) : 0);
		M.pte_changed[t] = true;
		M.ev.alias_stores++;
	}
	observe();
	return "step";
}

/* A TLB entry the shadow tables no longer give as it is, writable. */
static bool stale_writable(int vi, int k)
{
	uint64_t pfn;
	unsigned int perm;

	if (!allows(true, true, C->hw[vi][k].perm, GW_WRITE))
		return false;
	return shadow_walk(M.va[vi], &pfn, &perm) ||
	       pfn != C->hw[vi][k].pfn || !(perm & GW_PERM_W);
}

/* A PTE slot in frame f on the walk of a tracked address (*t), and its new
 * value; else a random slot of f. */
static uint64_t slot_in(uint64_t f, int *t, uint64_t *v)
{
	int t0 = (int)below(M_NVA), i, j;
	struct gw_ctx c;
	struct gw_result w;

	ref_ctx(&c, true);
	for (i = 0; i < M_NVA; i++) {
		*t = (t0 + i) % M_NVA;
		gw_walk(&c, M.va[*t], GW_NO_AD, &w);
		for (j = 0; j < w.nr_ptes; j++) {
			if (w.pte_gpa[j] >> 12 != f)
				continue;
			*v = j == depth() - 1 ? leaf_entry(data_frame(),
				*t >= 32, global_va(*t)) : w.pte[j] ^ E_RW;
			return w.pte_gpa[j];
		}
	}
	/* none: f becomes the leaf table of *t (a frame reused as a table
	 * while the TLB may still write it), and the guest uses it */
	*t = t0;
	*v = leaf_entry(data_frame(), *t >= 32, global_va(*t));
	gw_walk(&c, M.va[*t], GW_NO_AD, &w);
	if (w.nr_ptes == depth() && depth() >= 2) {
		uint64_t gpa;

		guest_store(w.pte_gpa[depth() - 2], esz(), table_entry(f));
		guest_access(*t, 0, 0, true, &gpa);
	}
	return (f << 12) + esz() * index_of(M.va[*t], 1);
}

/*
 * The CPU may write through a TLB entry until umbra flushes it: the guest
 * writes a PTE through a stale writable entry, with no exit.  If umbra
 * protected that frame meanwhile without a flush, its shadow of the table
 * is silently out of date.
 */
static const char *step_stale_write(void)
{
	int vi0 = (int)below(M_NVA), i, k, t;
	uint64_t gpa, v;

	for (i = 0; i < M_NVA; i++) {
		int vi = (vi0 + i) % M_NVA;

		for (k = 0; k < C->nhw[vi] && !stale_writable(vi, k); k++)
			;
		if (k == C->nhw[vi])
			continue;
		gpa = slot_in(C->hw[vi][k].pfn - M_PFN_OFF, &t, &v);
		guest_mem_put(gpa, esz(), v);
		M.pte_changed[t] = true;
		M.ev.stale_writes++;
		observe();
		return "step";
	}
	return step_access();
}

static void load_cr3(int as)
{
	C->cur_as = as;
	C->cpu.cr3 = M.as_cr3[as];
	load_pdptes();
	ref_sync();
	shadow_load_cr3(C->vc, C->cpu.cr3, C->pdpte);
	vm_entry();
	tlb_flush(-1, true);
	check_invariant("CR3 load");
}

static const char *step_cr3(void)
{
	load_cr3((int)below(M_NAS));
	return "CR3 load";
}

/*
 * Mostly an address whose PTE changed since its last INVLPG; a quarter of
 * them from another address space, then back (an INVLPG drops global
 * entries that other address spaces' tables gave, SDM Vol 3 4.10.4.1).
 */
static const char *step_invlpg(void)
{
	int vi = (int)below(M_NVA), as = C->cur_as, k;
	bool away = !below(4);

	for (k = 0; k < M_NVA && below(4); k++)
		if (M.pte_changed[(vi + k) % M_NVA]) {
			vi = (vi + k) % M_NVA;
			break;
		}
	M.ev.invlpg_changed += M.pte_changed[vi];
	if (away)
		load_cr3((as + 1 + (int)below(M_NAS - 1)) % M_NAS);
	ref_sync();
	shadow_invlpg(C->vc, M.va[vi]);
	vm_entry();
	tlb_flush(vi, false);
	if (!away)
		return "INVLPG";
	check_invariant("INVLPG");
	load_cr3(as);
	return "CR3 load";
}

static const char *step_pge(void)
{
	C->cpu.cr4 ^= CR4_PGE;
	M.ev.pge_toggles++;
	set_cr();
	return "CR4.PGE write";
}

static const char *step_wp(void)
{
	C->cpu.cr0 ^= GW_CR0_WP;
	M.ev.cr0_toggles++;
	set_cr();
	return "CR0.WP write";
}

/* Paging off, a few accesses, INVLPG, paging on. */
static const char *step_paging_off(void)
{
	uint64_t cr0 = C->cpu.cr0, efer = C->cpu.efer, gpa;
	int i;

	M.ev.paging_off++;
	C->cpu.cr0 &= ~GW_CR0_PG;
	C->cpu.efer &= ~GW_EFER_LMA;
	set_cr();
	check_invariant("CR0.PG cleared");
	for (i = 0; i < 4; i++)
		guest_access((int)below(M_NVA), 0, accs[below(6)], false,
			     &gpa);
	shadow_invlpg(C->vc, M.va[0]);
	vm_entry();
	tlb_flush(0, false);
	check_invariant("paging off");
	C->cpu.cr0 = cr0;
	C->cpu.efer = efer;
	set_cr();
	return "CR0.PG set";
}

/* A table frame cleared and reused as data. */
static const char *step_clear(void)
{
	uint64_t f = M.tables[below(M.ntables)];
	unsigned int i;

	for (i = 0; i < 8; i++)
		guest_store((f << 12) + 8 * below(512), 8,
			    below(2) ? 0 : rnd());
	observe();
	return "step";
}

/*
 * Dirty logging (issue 18): start over a random range with a random way
 * of re-protecting, harvest, or harvest and stop.  Every frame the guest
 * wrote while logging (through the shadow tables, the hardware TLB or
 * umbra's emulation) must be in the next harvest.
 */
static void harvest(void)
{
	uint64_t f;
	long n;

	memset(M.log.bitmap, 0, sizeof(M.log.bitmap));
	n = shadow_dirty_get(M.mmu, M.log.gfn << 12, M.log.nr << 12,
			     M.log.bitmap);
	vm_entry();
	M.ev.harvests++;
	group_expect(M.inv, n >= 0, "harvest failed: %ld", n);
	for (f = 0; f < M.log.nr; f++) {
		bool got = M.log.bitmap[f / 64] >> (f % 64) & 1;

		group_expect(M.inv, got || !M.log.written[M.log.gfn + f],
			     "frame %#lx written while logging, not harvested "
			     "(step %lu)", (unsigned long)(M.log.gfn + f),
			     M.steps);
		M.log.written[M.log.gfn + f] = 0;
	}
}

static const char *step_dirty(void)
{
	if (!M.log.on) {
		M.log.gfn = below(2) ? 0 : below(M_FRAMES);
		M.log.nr = below(2) ? M_FRAMES - M.log.gfn :
				      1 + below(M_FRAMES - M.log.gfn);
		shadow_set_reprotect(M.mmu, (enum mmu_reprotect)below(3));
		group_expect(M.inv, !shadow_dirty_enable(M.mmu, M.log.gfn << 12,
							 M.log.nr << 12),
			     "dirty enable failed");
		vm_entry();
		memset(M.log.written, 0, sizeof(M.log.written));
		M.log.on = true;
		M.ev.dirty_on++;
		return "dirty start";
	}
	harvest();
	if (below(3))
		return "dirty harvest";
	shadow_dirty_disable(M.mmu);
	vm_entry();
	M.log.on = false;
	return "dirty stop";
}

/* Percent of the steps (the generator's bias, issue 17). */
static const struct {
	unsigned int pct;
	const char *(*fn)(void);
} step_kinds[] = {
	{ 32, step_access }, { 16, step_mutate }, { 10, step_alias },
	{ 2, step_dirty },
	{ 8, step_invlpg }, { 8, step_cr3 }, { 4, step_pge }, { 3, step_wp },
	{ 2, step_paging_off }, { 5, step_stale_write }, { 10, step_clear },
};

static const char *one_step(void)
{
	unsigned int r, k;

	enter_kicked();
	/* several vCPUs: the next one runs, one step in four */
	if (M.ncpu > 1 && !below(4)) {
		C = &M.cpus[(C - M.cpus + 1 + (int)below(M.ncpu - 1)) %
			    M.ncpu];
		M.ev.switches++;
	}
	r = (unsigned int)below(100);

	for (k = 0; r >= step_kinds[k].pct; k++)
		r -= step_kinds[k].pct;
	if (M.dbg_steps && M.steps >= M.dbg_steps)	/* DBG_STEPS=N */
		fprintf(stderr, "DBG step %lu: kind %u\n", M.steps, k);
	return step_kinds[k].fn();
}

/* ---- one run ---- */

struct run_cfg {
	const char *name;
	enum gw_mode mode;
	bool oos;
	unsigned int pool;
	bool smep_smap;
	int ncpu;
	long steps;
	bool large;		/* cfg.large_ok: 2 MiB shadow leaves */
};

static struct shadow_stats total;

static void set_mode_regs(enum gw_mode md, bool sm)
{
	C->cpu.cr0 = GW_CR0_PG | CR0_PE | GW_CR0_WP;
	C->cpu.cr4 = CR4_PGE | (sm ? GW_CR4_SMEP | GW_CR4_SMAP : 0);
	C->cpu.efer = 0;
	if (md == GW_MODE_32)
		C->cpu.cr4 |= GW_CR4_PSE;
	if (md == GW_MODE_PAE || md == GW_MODE_LM) {
		C->cpu.cr4 |= GW_CR4_PAE;
		C->cpu.efer |= GW_EFER_NXE;
	}
	if (md == GW_MODE_LM)
		C->cpu.efer |= EFER_LME | GW_EFER_LMA;
}

static void run(const struct run_cfg *rc, uint64_t seed)
{
	struct shadow_config cfg = {
		.max_pages = rc->pool, .oos = rc->oos, .maxphyaddr = 36,
		.gbpages = true, .gfn_to_pfn = m_gfn_to_pfn,
		.mem = &gmem_ops, .mem_arg = &M.mem, .flush = hw_flush_cb,
		.kick = kick_cb,
		.frame = gmem_frame,	/* test_shadow_states: mem->read */
		.large_ok = rc->large ? m_large_ok : NULL,
	};
	struct check_group inv, acc, cons;
	struct shadow_stats st;
	char name[3][160], buf[256];
	long leaked;
	unsigned long max_pages = 0;
	long step;
	int ret, k;

	snprintf(name[0], sizeof(name[0]), "%s: shadow tables and hardware "
		 "TLB allowed by the guest's TLB model", rc->name);
	snprintf(name[1], sizeof(name[1]), "%s: accesses (frame, #PF error "
		 "code, A/D)", rc->name);
	snprintf(name[2], sizeof(name[2]), "%s: rmap/parents/unsync "
		 "consistent (every 32nd step)", rc->name);
	group_init(&inv, name[0]);
	group_init(&acc, name[1]);
	group_init(&cons, name[2]);
	M.inv = &inv;
	M.acc = &acc;
	M.cons = &cons;
	M.rnd = seed;
	M.oos = rc->oos;
	memset(M.cpus, 0, sizeof(M.cpus));
	M.ncpu = rc->ncpu;
	C = &M.cpus[0];
	set_mode_regs(rc->mode, rc->smep_smap);
	build();
	host_pages_peak_reset();
	ret = shadow_init(&M.mmu, &cfg);
	/* vCPU k starts in address space k */
	for (k = 0; k < M.ncpu && !ret; k++) {
		M.cpus[k].cpu = M.cpus[0].cpu;
		C = &M.cpus[k];
		C->cur_as = k % M_NAS;
		C->cpu.cr3 = M.as_cr3[C->cur_as];
		load_pdptes();
		ret = shadow_vcpu_add(M.mmu, &C->cpu, C, &C->vc);
	}
	if (ret) {
		check(false, rc->name, "shadow_init: %d", ret);
		return;
	}
	memset(M.pte_changed, 0, sizeof(M.pte_changed));
	M.log.on = false;
	M.ref_stale = false;
	for (C = M.cpus; C < M.cpus + M.ncpu; C++) {
		shadow_load_cr3(C->vc, C->cpu.cr3, C->pdpte);
		vm_entry();
	}
	C = &M.cpus[0];
	observe();
	for (step = 0; step < rc->steps; step++) {
		M.steps++;
		const char *when = one_step();

		check_invariant(when);
		/* the MMU's own bookkeeping, every 32nd step (at every step
		 * it took 3/4 of the time) */
		if (!(step & 31) || step == rc->steps - 1) {
			ret = shadow_check(M.mmu, buf, sizeof(buf));
			group_expect(&cons, !ret, "%s, step %ld: %s", when,
				     step, buf);
		}
		shadow_get_stats(M.mmu, &st);
		M.ev.unsync_global += st.global > 0;
		if (st.pages > max_pages)
			max_pages = st.pages;
	}
	if (M.log.on) {
		harvest();
		shadow_dirty_disable(M.mmu);
		M.log.on = false;
	}
	shadow_get_stats(M.mmu, &st);
	M.ev.fast_fixes += st.fast_fixes;
	total.mmu_unsync += st.mmu_unsync;
	total.sync_cr3 += st.sync_cr3;
	total.sync_invlpg += st.sync_invlpg;
	total.sync_flush += st.sync_flush;
	total.mmu_pte_write += st.mmu_pte_write;
	total.mmu_flooded += st.mmu_flooded;
	total.mmu_recycled += st.mmu_recycled;
	total.root_hits += st.root_hits;
	total.wp_faults += st.wp_faults;
	total.mmu_zap_all += st.mmu_zap_all;
	total.large_mapped += st.large_mapped;
	total.large_recovered += st.large_recovered;
	total.large_zapped += st.large_zapped;
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

/* Per 10^6 steps. */
static unsigned long per_m(unsigned long n)
{
	return (unsigned long)((double)n * 1e6 / (double)M.steps + 0.5);
}

/* What the generator aims at (issue 17) happened, and how often. */
static void report_events(void)
{
	const struct model_events *e = &M.ev;
	char name[640];

	snprintf(name, sizeof(name), "the generator reached every event it "
		 "aims at (per 10^6 steps: %lu pages made unsync, %lu steps "
		 "with a global unsync page, %lu INVLPGs of a changed PTE, "
		 "%lu CR4.PGE and %lu CR0.WP toggles, %lu paging off/on, "
		 "%lu PTE stores through an alias, %lu reclaims, %lu "
		 "zap-alls; %lu writes through a stale TLB entry (0 unless "
		 "umbra misses a flush), "
		 "%lu TLB hits, %lu TLB flushes, %lu of one address; dirty logging: %lu starts, "
		 "%lu harvests, %lu guest writes logged, %lu fast-path "
		 "fixes; several vCPUs: %lu switches, %lu kicks; 2 MiB "
		 "shadow leaves: %lu mapped, %lu recovered, %lu dropped for "
		 "a table or the log)",
		 per_m(total.mmu_unsync), per_m(e->unsync_global),
		 per_m(e->invlpg_changed), per_m(e->pge_toggles),
		 per_m(e->cr0_toggles), per_m(e->paging_off),
		 per_m(e->alias_stores), per_m(total.mmu_recycled),
		 per_m(total.mmu_zap_all), per_m(e->stale_writes),
		 per_m(e->hw_hits), per_m(e->hw_flushes),
		 per_m(e->hw_flushes_one), per_m(e->dirty_on),
		 per_m(e->harvests), per_m(e->logged_writes),
		 per_m(e->fast_fixes), per_m(e->switches), per_m(e->kicks),
		 per_m(total.large_mapped), per_m(total.large_recovered),
		 per_m(total.large_zapped));
	check(total.mmu_unsync && e->unsync_global && e->invlpg_changed &&
	      e->pge_toggles && e->cr0_toggles && e->paging_off &&
	      e->alias_stores && total.mmu_recycled && e->hw_hits &&
	      e->harvests && e->logged_writes && e->fast_fixes &&
	      e->hw_flushes_one && e->switches && e->kicks &&
	      total.large_mapped && total.large_recovered &&
	      total.large_zapped,
	      name, "an event never happened");
}

static int only_config = -1;

/* test_shadow_tlb [--steps N] [--seed N] [--config K]: N steps in each
 * configuration with one vCPU, N/2 with several (default 84,000: 21
 * configurations, about 1.4 * 10^6 steps), or in configuration K (0-20)
 * alone. */
static long parse_args(int argc, char **argv)
{
	long steps = getenv("STEPS") ? atol(getenv("STEPS")) : 84000;
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--steps"))
			steps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seed"))
			setenv("SEED", argv[i + 1], 1);
		else if (!strcmp(argv[i], "--config"))
			only_config = atoi(argv[i + 1]);
	}
	return steps;
}

int main(int argc, char **argv)
{
	static const char *mname[] = { "off", "32-bit", "PAE", "4-level" };
	long steps = parse_args(argc, argv);
	uint64_t seed = test_seed(20250601);
	enum gw_mode modes[3] = { GW_MODE_32, GW_MODE_PAE, GW_MODE_LM };
	clock_t t0 = clock();
	int mi, v;
	if (getenv("DBG_STEPS"))
		M.dbg_steps = strtoul(getenv("DBG_STEPS"), NULL, 0);
	M.mem.size = M_FRAMES * 4096ull;
	M.mem.bytes = aligned_alloc(4096, M.mem.size);
	/* 0-11: one vCPU; 12-20: two or three (issue 12: remote flushes) */
	for (mi = 0; mi < 3; mi++) {
		for (v = 0; v < 7; v++) {
			int id = v < 4 ? mi * 4 + v : 12 + mi * 3 + v - 4;
			struct run_cfg rc = {
				.mode = modes[mi], .oos = !(v & 1),
				.pool = v & 2 ? 24 : 1024,
				.smep_smap = (mi + v) % 3 == 0,
				.ncpu = v < 4 ? 1 : v == 4 ? 2 : 3,
				/* the kills of a missed remote flush came
				 * within 400 steps: half the run will do */
				.steps = v < 4 ? steps : steps / 2,
				.large = v != 2,
			};
			char name[96];

			if ((only_config >= 0 && only_config != id) ||
			    (getenv("FAILFAST") && check_failures()))
				continue;

			snprintf(name, sizeof(name),
				 "%d %s, OOS %s, %s pool%s%s%s", id,
				 mname[modes[mi]], rc.oos ? "on" : "off",
				 rc.pool < 100 ? "tiny" : "large",
				 rc.smep_smap ? ", SMEP+SMAP" : "",
				 rc.ncpu == 1 ? "" :
				 rc.ncpu == 2 ? ", 2 vCPUs" : ", 3 vCPUs",
				 rc.large ? "" : ", 4 KiB leaves only");
			rc.name = name;
			run(&rc, seed + (uint64_t)id * 7919);
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
	if (only_config < 0)
		report_events();
	free(M.mem.bytes);
	return check_finish();
}
