// SPDX-License-Identifier: BSD-2-Clause
/*
 * The shadow MMU's memory budget (docs/mmu.md, "Memory"): a guest that
 * touches far more than the budget can shadow never makes the MMU hold
 * more pages than cfg.max_pages, no fault fails, and every translation
 * stays right.
 *
 * The guest (32-bit, PAE and 4-level paging, OOS on and off) has 16
 * address spaces over 4 GiB of guest-physical memory; only its page tables
 * live in the simulated memory, the data frames exist for the MMU only as
 * frame numbers:
 *   R1 (1 GiB up)  each address space has 32 leaf tables of its own, every
 *                  entry a distinct frame: 262144 (32-bit: 524288) frames;
 *   R2 (2 GiB up)  a page directory shared by all address spaces: 64 leaf
 *                  tables that all map the same 512 frames (rmap lists as
 *                  long as the shadow pages allow), and one of them linked
 *                  64 times more (a shadow page with 64 parents);
 *   R3 (3 GiB up)  one leaf table, shared, that maps the R1 tables as data:
 *                  guest stores there rewrite PTEs (write protection,
 *                  emulation, out-of-sync pages and their syncs).
 * Random steps: accesses in R1/R2 (each fault must be fixed; the shadow
 * translation then equals the guest's walk), PTE rewrites through R3 or
 * by the hypervisor, each followed by a CR3 reload, CR3 switches, INVLPGs.
 * Checked: the most pages the MMU ever held at once (counted by
 * tests/host/env_host.c, not by the MMU) against the budget; after every
 * CR3 load every present shadow translation of a sample of addresses
 * against the walk; shadow_check() now and then; no leak at teardown.
 * SEED= and STEPS= change it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "mmu/shadow/shadow.h"
#include "tests/host/shadow/check.h"
#include "tests/host/gmem.h"
#include "tests/host/host_env.h"

#define T_FRAMES	2048		/* 8 MiB of simulated memory: tables */
#define G_FRAMES	(1u << 20)	/* 4 GiB of guest-physical memory */
#define PFN_OFF		0x1000000ull	/* host frame = guest frame + this */
#define NAS		16
#define NDIST		32		/* R1 leaf tables per address space */
#define NALIAS		64		/* R2 leaf tables with the same frames */
#define ALIAS_GFN	0xf0000u	/* R2's frames */
#define R1		0x40000000ull
#define R2		0x80000000ull
#define R3		0xc0000000ull

#define CR0_PE		(1ull << 0)
#define EFER_LME	(1ull << 8)
#define E_P		(1ull << 0)
#define E_RW		(1ull << 1)
#define E_US		(1ull << 2)
#define E_A		(1ull << 5)
#define E_D		(1ull << 6)

static struct {
	struct gmem mem;
	struct shadow_mmu *mmu;
	struct shadow_vcpu *vc;
	struct shadow_cpu cpu;
	enum gw_mode mode;
	uint64_t pdpte[4];
	uint64_t cr3[NAS];
	uint64_t dist[NAS][NDIST];	/* R1 table frames */
	uint64_t alias[NALIAS];
	uint64_t r3pt;
	int cur;
	uint64_t next_frame, rnd;
	uint8_t *touched;		/* bitmap of frames accessed */
	uint8_t tables[T_FRAMES];	/* leaf tables accessed through */
	unsigned long distinct, ntables, faults, cr3_loads, stores;
	struct check_group *acc, *xl, *cons;
} M;

static uint64_t below(uint64_t n)
{
	return rnd_below(&M.rnd, n);
}

static int64_t to_pfn(void *arg, uint64_t gfn)
{
	return gfn < G_FRAMES ? (int64_t)(gfn + PFN_OFF) : -1;
}

static unsigned int esz(void)
{
	return M.mode == GW_MODE_32 ? 4 : 8;
}

/* Entries per leaf table and the span of one. */
static unsigned int nent(void)
{
	return M.mode == GW_MODE_32 ? 1024 : 512;
}

static uint64_t span(void)
{
	return (uint64_t)nent() << 12;
}

static int levels(void)
{
	return M.mode == GW_MODE_LM ? 4 : M.mode == GW_MODE_PAE ? 3 : 2;
}

static unsigned int index_of(uint64_t va, int level)
{
	if (M.mode == GW_MODE_32)
		return (va >> (12 + 10 * (level - 1))) & 0x3ff;
	return (va >> (12 + 9 * (level - 1))) & 0x1ff;
}

static uint64_t new_table(void)
{
	if (M.next_frame >= T_FRAMES) {
		fprintf(stderr, "test_shadow_budget: out of table frames\n");
		exit(2);
	}
	return M.next_frame++;
}

static uint64_t link_entry(uint64_t frame, int level)
{
	if (M.mode == GW_MODE_PAE && level == 3)
		return (frame << 12) | E_P;	/* PDPTE: no R/W, U/S */
	return (frame << 12) | E_P | E_RW | E_US | E_A;
}

static uint64_t leaf(uint64_t gfn)
{
	return (gfn << 12) | E_P | E_RW | E_US | (below(4) ? E_A : 0) |
	       (below(2) ? E_D : 0);
}

static uint64_t get(uint64_t gpa)
{
	return gmem_get(&M.mem, gpa, esz());
}

static void put(uint64_t gpa, uint64_t v)
{
	gmem_put(&M.mem, gpa, esz(), v);
}

/* The table at `level' on va's path in address space as, created. */
static uint64_t table_at(int as, uint64_t va, int level)
{
	uint64_t t = M.cr3[as] >> 12;
	int l;

	for (l = levels(); l > level; l--) {
		uint64_t gpa = (t << 12) + esz() * index_of(va, l), e = get(gpa);

		if (!(e & E_P)) {
			e = link_entry(new_table(), l);
			put(gpa, e);
		}
		t = (e & (esz() == 4 ? 0xfffff000ull : PT_ADDR_MASK)) >> 12;
	}
	return t;
}

/* Link an existing table frame as the level-`level' table for va. */
static void link_table(int as, uint64_t va, int level, uint64_t frame)
{
	uint64_t t = table_at(as, va, level + 1);

	put((t << 12) + esz() * index_of(va, level + 1),
	    link_entry(frame, level + 1));
}

static uint64_t fill_table(uint64_t first_gfn)
{
	uint64_t t = new_table();
	unsigned int i;

	for (i = 0; i < nent(); i++)
		put((t << 12) + esz() * i, leaf(first_gfn + i));
	return t;
}

static void build(void)
{
	uint64_t shared_r2 = 0, shared_r3 = 0, gfn = T_FRAMES;
	unsigned int i;
	int as, k;

	memset(M.mem.bytes, 0, M.mem.size);
	M.next_frame = 1;
	for (k = 0; k < NALIAS; k++)
		M.alias[k] = fill_table(ALIAS_GFN);
	M.r3pt = new_table();
	for (as = 0; as < NAS; as++) {
		M.cr3[as] = new_table() << 12;
		for (k = 0; k < NDIST; k++) {
			M.dist[as][k] = fill_table(gfn);
			gfn += nent();
			link_table(as, R1 + k * span(), 1, M.dist[as][k]);
			put((M.r3pt << 12) + esz() * (as * NDIST + k),
			    leaf(M.dist[as][k]) | E_A);
		}
		/* R2 and R3: shared directories (32-bit: the same PDEs) */
		if (M.mode == GW_MODE_32 || !as) {
			for (k = 0; k < 2 * NALIAS; k++)
				link_table(as, R2 + k * span(), 1,
				     M.alias[k < NALIAS ? k : 0]);
			link_table(as, R3, 1, M.r3pt);
			if (M.mode != GW_MODE_32) {
				shared_r2 = table_at(as, R2, 2);
				shared_r3 = table_at(as, R3, 2);
			}
		} else {
			link_table(as, R2, 2, shared_r2);
			link_table(as, R3, 2, shared_r3);
		}
	}
	for (i = 0; i < G_FRAMES / 8; i++)
		M.touched[i] = 0;
	memset(M.tables, 0, sizeof(M.tables));
}

static void ref_ctx(struct gw_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->cr0 = M.cpu.cr0;
	c->cr3 = M.cpu.cr3;
	c->cr4 = M.cpu.cr4;
	c->efer = M.cpu.efer;
	c->maxphyaddr = 36;
	c->pdptes_loaded = true;
	memcpy(c->pdpte, M.pdpte, sizeof(M.pdpte));
	c->mem = &gmem_ops;
	c->mem_arg = &M.mem;
}

/* The guest's translation of va now: 0 and the frame, or -1. */
static int ref_walk(uint64_t va, unsigned int acc, uint64_t *gfn,
		    struct gw_result *w)
{
	struct gw_ctx c;

	ref_ctx(&c);
	if (gw_walk(&c, va, acc | GW_NO_AD, w) != GW_OK)
		return -1;
	*gfn = w->gpa >> 12;
	return 0;
}

/* The CPU on the shadow tables. */
static int shadow_walk(uint64_t va, uint64_t *pfn, bool *writable)
{
	uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(M.vc));
	int level = shadow_root_level(M.vc);
	uint64_t e;

	*writable = true;
	if (level == 3) {
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
		*writable &= !!(e & E_RW);
		if (level == 1)
			break;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
	}
	*pfn = (e & PT_ADDR_MASK) >> 12;
	return 0;
}

static void load_cr3(int as)
{
	int i;

	M.cur = as;
	M.cpu.cr3 = M.cr3[as];
	for (i = 0; i < 4 && M.mode == GW_MODE_PAE; i++)
		M.pdpte[i] = gmem_get(&M.mem, M.cpu.cr3 + 8 * i, 8);
	M.cr3_loads++;
	shadow_load_cr3(M.vc, M.cpu.cr3, M.pdpte);
}

/* The hypervisor emulated (or made) a guest store. */
static void hv_write(uint64_t gpa, uint64_t v)
{
	put(gpa, v);
	shadow_emulated_write(M.vc, gpa, &v, esz());
}

/*
 * A supervisor access: 0 done, 1 done through emulation (store only),
 * -1 failed.  Every shadow translation it meets must be the walk's.
 */
static int access(uint64_t va, bool write, uint64_t v)
{
	unsigned int acc = write ? GW_WRITE : 0;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		struct shadow_fault f;
		struct gw_result w;
		uint64_t pfn, gfn;
		bool wr;
		int r = shadow_walk(va, &pfn, &wr);

		if (!r && (!write || wr)) {
			bool ok = !ref_walk(va, acc, &gfn, &w) &&
				  gfn + PFN_OFF == pfn;

			group_expect(M.acc, ok, "va %#llx -> pfn %#llx, walk "
				     "%#llx", (unsigned long long)va,
				     (unsigned long long)pfn,
				     (unsigned long long)gfn + PFN_OFF);
			if (!ok)
				return -1;
			if (!(M.touched[gfn / 8] & (1u << (gfn % 8)))) {
				M.touched[gfn / 8] |= 1u << (gfn % 8);
				M.distinct++;
			}
			if (!M.tables[w.pte_gpa[w.nr_ptes - 1] >> 12]) {
				M.tables[w.pte_gpa[w.nr_ptes - 1] >> 12] = 1;
				M.ntables++;
			}
			if (write && gfn < T_FRAMES)
				put(w.gpa & ~(uint64_t)(esz() - 1), v);
			return 0;
		}
		M.faults++;
		switch (shadow_page_fault(M.vc, va, (write ? PFERR_W : 0) |
					  (r ? 0 : PFERR_P), false, &f)) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_EMULATE:
			group_expect(M.acc, write && (f.gpa >> 12) < T_FRAMES,
				     "emulate at va %#llx",
				     (unsigned long long)va);
			hv_write(f.gpa & ~(uint64_t)(esz() - 1), v);
			return 1;
		default:
			group_expect(M.acc, false, "va %#llx: fault result "
				     "not fixed (NOMEM?)",
				     (unsigned long long)va);
			return -1;
		}
	}
	group_expect(M.acc, false, "va %#llx: no progress after 4 fixed "
		     "faults", (unsigned long long)va);
	return -1;
}

static uint64_t r1_va(void)
{
	return R1 + below(NDIST) * span() + below(nent()) * 4096;
}

static uint64_t r2_va(void)
{
	return R2 + below(2 * NALIAS) * span() + below(nent()) * 4096;
}

/* Every page of one leaf table: R1 (a frame record each) or R2 (one more
 * rmap entry for each of the alias frames). */
static void sweep(void)
{
	uint64_t base = below(2) ? R1 + below(NDIST) * span() :
				   R2 + below(2 * NALIAS) * span();
	unsigned int i;

	for (i = 0; i < nent(); i++)
		access(base + i * 4096ull, false, 0);
}

/* Rewrite one PTE of the current address space's R1 tables, then reload
 * CR3 (the guest's TLB flush). */
static void mutate(void)
{
	int k = (int)below(NDIST);
	unsigned int i = (unsigned int)below(nent());
	uint64_t v = leaf(T_FRAMES + below(G_FRAMES - T_FRAMES));
	uint64_t slot = M.cur * NDIST + k;

	M.stores++;
	if (below(3))
		access(R3 + slot * 4096 + i * esz(), true, v);
	else
		hv_write((M.dist[M.cur][k] << 12) + i * esz(), v);
	load_cr3(M.cur);
}

/* After a CR3 load: sampled shadow translations equal the walk. */
static void check_translations(void)
{
	int n;

	for (n = 0; n < 64; n++) {
		uint64_t va = below(2) ? r1_va() : r2_va(), pfn, gfn;
		struct gw_result w;
		bool wr;

		if (shadow_walk(va, &pfn, &wr))
			continue;
		group_expect(M.xl, !ref_walk(va, 0, &gfn, &w) &&
			     gfn + PFN_OFF == pfn, "va %#llx -> pfn %#llx",
			     (unsigned long long)va, (unsigned long long)pfn);
	}
}

struct run_cfg {
	const char *name;
	enum gw_mode mode;
	bool oos;
	unsigned int budget;
	long env_pages;			/* the environment's pages, -1: all */
	int steps;
};

static void set_mode(enum gw_mode md)
{
	M.mode = md;
	M.cpu.cr0 = GW_CR0_PG | CR0_PE | GW_CR0_WP;
	M.cpu.cr4 = md == GW_MODE_32 ? GW_CR4_PSE : GW_CR4_PAE;
	M.cpu.efer = md == GW_MODE_LM ? EFER_LME | GW_EFER_LMA : 0;
}

static void run(const struct run_cfg *rc, uint64_t seed)
{
	struct shadow_config cfg = {
		.max_pages = rc->budget, .oos = rc->oos, .maxphyaddr = 36,
		.gfn_to_pfn = to_pfn, .mem = &gmem_ops, .mem_arg = &M.mem,
	};
	struct check_group acc, xl, cons;
	struct shadow_stats st;
	char name[4][160], buf[256];
	long peak, leaked;
	int step, ret;

	snprintf(name[0], sizeof(name[0]), "%s: every access fixed, shadow "
		 "translation = the guest's walk", rc->name);
	snprintf(name[1], sizeof(name[1]), "%s: after CR3 loads, sampled "
		 "translations = the walk", rc->name);
	snprintf(name[2], sizeof(name[2]), "%s: shadow_check() consistent",
		 rc->name);
	group_init(&acc, name[0]);
	group_init(&xl, name[1]);
	group_init(&cons, name[2]);
	M.acc = &acc;
	M.xl = &xl;
	M.cons = &cons;
	M.rnd = seed;
	M.distinct = M.ntables = M.faults = M.cr3_loads = M.stores = 0;
	set_mode(rc->mode);
	build();
	M.cpu.cr3 = M.cr3[0];
	host_pages_peak_reset();
	if (rc->env_pages >= 0)
		host_limit_pages(rc->env_pages);
	ret = shadow_init(&M.mmu, &cfg);
	if (!ret)
		ret = shadow_vcpu_add(M.mmu, &M.cpu, NULL, &M.vc);
	if (ret) {
		check(false, rc->name, "shadow_init: %d", ret);
		return;
	}
	load_cr3(0);
	for (step = 0; step < rc->steps; step++) {
		unsigned int r = (unsigned int)below(100);

		if (r < 2)
			sweep();
		else if (r < 45)
			access(r1_va(), below(2), 0);
		else if (r < 75)
			access(r2_va(), below(2), 0);
		else if (r < 85)
			mutate();
		else if (r < 92)
			load_cr3((int)below(NAS));
		else
			shadow_invlpg(M.vc, below(2) ? r1_va() : r2_va());
		if (r >= 75 && r < 92)
			check_translations();
		if (step % 512 == 0 || step == rc->steps - 1) {
			ret = shadow_check(M.mmu, buf, sizeof(buf));
			group_expect(&cons, !ret, "step %d: %s", step, buf);
		}
	}
	peak = host_pages_peak();
	host_limit_pages(-1);
	shadow_get_stats(M.mmu, &st);
	group_report(&acc);
	group_report(&xl);
	group_report(&cons);
	snprintf(name[3], sizeof(name[3]), "%s: %lu distinct frames through "
		 "%lu leaf tables (%lu faults, %lu shadow pages recycled), "
		 "far more than %u pages hold", rc->name, M.distinct,
		 M.ntables, M.faults, (unsigned long)st.mmu_recycled,
		 rc->budget);
	check(M.ntables > 2 * rc->budget && M.distinct > 8 * M.ntables &&
	      st.mmu_shadow_zapped > M.ntables, name[3],
	      "too little pressure");
	snprintf(name[3], sizeof(name[3]), "%s: at most %ld pages held at "
		 "once, budget %u (%lu shadow pages now)", rc->name, peak,
		 rc->budget, (unsigned long)st.pages);
	check(peak <= (long)rc->budget, name[3], "%ld pages > %u", peak,
	      rc->budget);
#ifdef SHADOW_MIN_PAGES
	snprintf(name[3], sizeof(name[3]), "%s: the MMU's own count agrees "
		 "(high-water %lu, %lu refusals, %lu zap-alls)", rc->name,
		 (unsigned long)st.mem_pages_max,
		 (unsigned long)st.alloc_failed,
		 (unsigned long)st.mmu_zap_all);
	check((long)st.mem_pages_max == peak, name[3], "%lu vs %ld",
	      (unsigned long)st.mem_pages_max, peak);
	if (rc->env_pages >= 0) {
		snprintf(name[3], sizeof(name[3]), "%s: the environment ran "
			 "out first: the budget came down to %lu pages (%lu "
			 "zap-alls)", rc->name, (unsigned long)st.mem_budget,
			 (unsigned long)st.mmu_zap_all);
		check(st.alloc_failed > 0 && peak <= rc->env_pages &&
		      st.mem_budget < rc->budget, name[3],
		      "%lu zap-alls, peak %ld", (unsigned long)st.mmu_zap_all,
		      peak);
	}
#endif
	leaked = shadow_destroy(M.mmu);
	snprintf(name[3], sizeof(name[3]), "%s: teardown frees every page",
		 rc->name);
	check(!leaked && !host_pages_outstanding(), name[3],
	      "%ld records, %ld pages left", leaked, host_pages_outstanding());
}

int main(void)
{
	static const char *mname[] = { "off", "32-bit", "PAE", "4-level" };
	static const enum gw_mode modes[3] = { GW_MODE_32, GW_MODE_PAE,
					       GW_MODE_LM };
	static const unsigned int budgets[2] = { 32, 160 };
	uint64_t seed = test_seed(20261203);
	int steps = getenv("STEPS") ? atoi(getenv("STEPS")) : 12000;
	clock_t t0 = clock();
	int mi, b, o;

	M.mem.size = T_FRAMES * 4096ull;
	M.mem.bytes = aligned_alloc(4096, M.mem.size);
	M.touched = malloc(G_FRAMES / 8);
	for (mi = 0; mi < 3; mi++) {
		for (b = 0; b < 2; b++) {
			for (o = 0; o < 2; o++) {
				struct run_cfg rc = {
					.mode = modes[mi], .oos = o,
					.budget = budgets[b], .steps = steps,
					.env_pages = -1,
				};
				char name[96];

				snprintf(name, sizeof(name), "%s, OOS %s, "
					 "budget %u", mname[modes[mi]],
					 o ? "on" : "off", budgets[b]);
				rc.name = name;
				run(&rc, seed + (uint64_t)(mi * 4 + b * 2 + o));
			}
		}
	}
	for (mi = 1; mi < 3; mi++) {
		struct run_cfg rc = {
			.mode = modes[mi], .oos = true, .budget = 160,
			.steps = steps, .env_pages = 40,
			.name = mi == 1 ? "PAE, OOS on, budget 160, 40 pages "
					  "in the environment" :
					  "4-level, OOS on, budget 160, 40 "
					  "pages in the environment",
		};

		run(&rc, seed + 100 + (uint64_t)mi);
	}
	printf("budget test: %.1fs\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
	free(M.touched);
	free(M.mem.bytes);
	return check_finish();
}
