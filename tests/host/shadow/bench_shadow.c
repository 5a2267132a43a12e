// SPDX-License-Identifier: BSD-2-Clause
/*
 * Shadow MMU benchmark (figures only): two guest workloads run on the
 * shadow MMU (mmu/shadow*.c) against guest memory simulated in this
 * process, with out-of-sync pages off and on:
 *
 *   fork   the shape of tests/guest/bench.c's: copy the parent's page
 *          tables (4 MiB in two leaf tables) for a child, making every
 *          writable PTE read-only in both (COW); reload CR3; switch to the
 *          child, which writes to every 16th page, each a guest #PF whose
 *          handler copies the frame and maps the copy writable (INVLPG);
 *          switch back, free the child's tables and frames; the parent
 *          writes to every 64th page, each a #PF that finds the frame
 *          unshared and makes the PTE writable again.  The guest writes
 *          its tables through a direct map of its memory in 2 MiB pages,
 *          as Linux does, and allocates frames from a LIFO free list, so
 *          freed page tables come back as new tables and as data.
 *   churn  rewrite every PTE of a leaf table through a mapping of that
 *          table, switch CR3, touch every page (the first workload this
 *          program had; docs/performance.md).
 *
 * Per round: the #PF exits (every shadow_page_fault(): shadow faults
 * fixed, guest faults reflected, writes to emulate), the guest page-table
 * writes umbra emulates, all exits (with the CR3 loads and INVLPGs, which
 * exit too), and the host time; then OOS on against off for fork.
 * Guest stores go through the shadow tables one by one until one needs no
 * exit, and the rest of that page is written directly: once a page is
 * writable in the shadow tables, later stores to it exit no more.  Guest
 * loads read the simulated memory directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "mmu/shadow/shadow.h"
#include "tests/host/gmem.h"

#define NR_FRAMES	4096		/* 16 MiB of guest memory */
#define HPA_OFFSET	0x100000000ull	/* host frame = guest frame + 4 GiB */

static struct gmem mem;
static struct shadow_mmu *mmu;
static struct shadow_vcpu *vc;
static unsigned long pf_exits, emulated, cr3_loads, invlpgs;

static int64_t to_pfn(void *arg, uint64_t gfn)
{
	return gfn < NR_FRAMES ? (int64_t)(gfn + (HPA_OFFSET >> 12)) : -1;
}

static void pte(uint64_t t, unsigned int i, uint64_t v)
{
	gmem_put(&mem, t * 4096 + 8 * i, 8, v);
}

/*
 * A supervisor access through the shadow tables; stores v on a write.
 * 0: done without an exit; 1: done after exits; -1: a guest #PF (the
 * guest handles it and tries again).
 */
static int touch(uint64_t va, bool write, uint64_t v)
{
	int exited = 0;

	for (;;) {
		uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(vc)), e = 0;
		struct shadow_fault f;
		bool w = true, ok = true;
		int l;

		for (l = 4; l >= 1 && ok; l--) {
			e = t[pt_index(va, l)];
			ok = e & PTE_P;
			w &= !!(e & PTE_RW);
			t = mmu_phys_to_virt(e & PT_ADDR_MASK);
		}
		if (ok && (!write || w)) {
			if (write)
				gmem_put(&mem, ((e & PT_ADDR_MASK) - HPA_OFFSET)
					 | (va & 0xfff), 8, v);
			return exited;
		}
		pf_exits++;
		exited = 1;
		switch (shadow_page_fault(vc, va, (write ? PFERR_W : 0) |
					  (ok ? PFERR_P : 0), false, &f)) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_EMULATE:
			emulated++;
			gmem_put(&mem, f.gpa, 8, v);
			shadow_emulated_write(vc, f.gpa, &v, 8);
			return 1;
		case SHADOW_INJECT:
			return -1;
		default:
			fprintf(stderr, "bench_shadow: unexpected fault result "
				"at %#llx\n", (unsigned long long)va);
			exit(1);
		}
	}
}

static void load_cr3(uint64_t cr3)
{
	cr3_loads++;
	shadow_load_cr3(vc, cr3, NULL);
}

static void invlpg(uint64_t va)
{
	invlpgs++;
	shadow_invlpg(vc, va);
}

static const struct shadow_cpu lm_cpu = {
	.cr0 = (1ull << 31) | (1 << 16) | 1, .cr4 = 1 << 5,
	.efer = (1 << 10) | (1 << 8) | (1 << 11), .cr3 = 0x1000,
};

static void start(bool oos)
{
	struct shadow_config cfg = {
		.max_pages = 256, .oos = oos, .maxphyaddr = 36,
		.gfn_to_pfn = to_pfn, .mem = &gmem_ops, .mem_arg = &mem,
	};

	shadow_init(&mmu, &cfg);
	shadow_vcpu_add(mmu, &lm_cpu, NULL, &vc);
	pf_exits = emulated = cr3_loads = invlpgs = 0;
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

struct result {
	double pf_exits, emulated, exits, us;
};

static void print_result(const char *name, bool oos, const struct result *r)
{
	printf("%-5s, OOS %-3s: %7.1f #PF exits/round, %7.1f emulated PTE "
	       "writes/round, %7.1f exits/round (with CR3, INVLPG), %8.1f "
	       "us/round\n", name, oos ? "on" : "off", r->pf_exits,
	       r->emulated, r->exits, r->us);
}

static void finish(struct result *r, int rounds, double t0)
{
	r->us = (now_us() - t0) / rounds;
	r->pf_exits = (double)pf_exits / rounds;
	r->emulated = (double)emulated / rounds;
	r->exits = (double)(pf_exits + cr3_loads + invlpgs) / rounds;
	shadow_destroy(mmu);
}

/* ---- churn ---- */

static void churn(bool oos, int rounds, struct result *res)
{
	double t0;
	int r, i;

	memset(mem.bytes, 0, mem.size);
	/* PML4 1 -> PDPT 2 -> PD 3 -> PT 4 (0..2 MiB); PT 4 maps itself at
	 * 0x1ff000 so the guest can rewrite it */
	pte(1, 0, 0x2000 | 0x27);
	pte(9, 0, 0x2000 | 0x27);
	pte(2, 0, 0x3000 | 0x27);
	pte(3, 0, 0x4000 | 0x27);
	for (i = 0; i < 511; i++)
		pte(4, i, ((uint64_t)(512 + i) << 12) | 0x67);
	pte(4, 511, 0x4000 | 0x63);
	start(oos);
	t0 = now_us();
	for (r = 0; r < rounds; r++) {
		/* "fork": write-protect every PTE (COW), new address space */
		for (i = 0; i < 511; i++)
			touch(0x1ff000 + 8 * i, true,
			      ((uint64_t)(512 + (i + r) % 1024) << 12) | 0x65);
		load_cr3(r & 1 ? 0x1000 : 0x9000);
		/* touch every page, then "break COW" on a quarter */
		for (i = 0; i < 511; i++)
			touch((uint64_t)i << 12, false, 0);
		for (i = 0; i < 511; i += 4)
			touch(0x1ff000 + 8 * i,  true,
			      ((uint64_t)(512 + i) << 12) | 0x67);
		invlpg(0);
	}
	finish(res, rounds, t0);
}

/* ---- fork ---- */

#define KVA		(1ull << 39)	/* direct map of guest memory */
#define FORK_PAGES	1024
#define FORK_TABLES	(FORK_PAGES / 512)
#define PT_FLAGS	(PTE_P | PTE_RW | PTE_US | PTE_A)
#define PAGE_RW		(PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
#define F_PML4		1		/* the parent's tables: frames 1..7 */
#define F_KPDPT		2
#define F_KPD		3
#define F_PDPT		4
#define F_PD		5
#define F_PT		6		/* and 7 */
#define F_FIRST_FREE	16

static uint32_t free_list[NR_FRAMES], nr_free;
static uint16_t refs[NR_FRAMES];
static uint64_t cur_cr3;

static uint64_t frame_alloc(void)
{
	uint64_t f;

	if (!nr_free) {
		fprintf(stderr, "bench_shadow: out of guest frames\n");
		exit(1);
	}
	f = free_list[--nr_free];
	refs[f] = 1;
	return f;
}

static void frame_put(uint64_t f)
{
	if (!--refs[f])
		free_list[nr_free++] = (uint32_t)f;
}

static uint64_t gload(uint64_t gpa)
{
	return gmem_get(&mem, gpa, 8);
}

/* A guest store to guest-physical gpa through the direct map. */
static void gstore(uint64_t gpa, uint64_t v)
{
	if (touch(KVA + gpa, true, v) < 0) {
		fprintf(stderr, "bench_shadow: #PF in the direct map\n");
		exit(1);
	}
}

/* Fill frame f with src's contents (or zeros): stores through the shadow
 * tables until one needs no exit, the rest directly. */
static void gfill(uint64_t f, const uint8_t *src)
{
	unsigned int i;

	for (i = 0; i < 512; i++) {
		uint64_t v = 0;

		if (src)
			memcpy(&v, src + 8 * i, 8);
		if (touch(KVA + f * 4096 + 8 * i, true, v) == 0)
			break;
	}
	for (i++; i < 512; i++) {
		if (src)
			memcpy(mem.bytes + f * 4096 + 8 * i, src + 8 * i, 8);
		else
			memset(mem.bytes + f * 4096 + 8 * i, 0, 8);
	}
}

/* The guest's #PF handler: copy-on-write. */
static void cow_fault(uint64_t va)
{
	uint64_t t = cur_cr3 >> 12, e = 0, f;
	int l;

	for (l = 4; l >= 1; l--) {
		e = gload(t * 4096 + 8 * pt_index(va, l));
		if (l > 1)
			t = (e & PT_ADDR_MASK) >> 12;
	}
	f = (e & PT_ADDR_MASK) >> 12;
	if (refs[f] > 1) {
		uint64_t copy = frame_alloc();

		gfill(copy, mem.bytes + f * 4096);
		frame_put(f);
		e = (e & ~PT_ADDR_MASK) | copy << 12;
	}
	gstore(t * 4096 + 8 * pt_index(va, 1), e | PTE_RW);
	invlpg(va);
}

static void store(uint64_t va, uint64_t v)
{
	while (touch(va, true, v) < 0)
		cow_fault(va);
}

static void fork_setup(void)
{
	unsigned int i;

	memset(mem.bytes, 0, mem.size);
	memset(refs, 0, sizeof(refs));
	nr_free = 0;
	for (i = NR_FRAMES - 1; i >= F_FIRST_FREE; i--)
		free_list[nr_free++] = i;
	/* PML4[1]: the direct map, 2 MiB pages over all of guest memory */
	pte(F_PML4, 1, (uint64_t)F_KPDPT << 12 | PT_FLAGS);
	pte(F_KPDPT, 0, (uint64_t)F_KPD << 12 | PT_FLAGS);
	for (i = 0; i < NR_FRAMES / 512; i++)
		pte(F_KPD, i, (uint64_t)i << 21 | PTE_P | PTE_RW | PTE_A |
		    PTE_D | PTE_PS);
	/* PML4[0]: 4 MiB of user pages in two leaf tables */
	pte(F_PML4, 0, (uint64_t)F_PDPT << 12 | PT_FLAGS);
	pte(F_PDPT, 0, (uint64_t)F_PD << 12 | PT_FLAGS);
	for (i = 0; i < FORK_TABLES; i++)
		pte(F_PD, i, (uint64_t)(F_PT + i) << 12 | PT_FLAGS);
	for (i = 0; i < FORK_PAGES; i++) {
		uint64_t f = frame_alloc();

		pte(f, 0, i);
		pte(F_PT + i / 512, i % 512, f << 12 | PAGE_RW);
	}
	cur_cr3 = (uint64_t)F_PML4 << 12;
}

static void fork_round(uint64_t r)
{
	uint64_t c4 = frame_alloc(), c3 = frame_alloc(), c2 = frame_alloc();
	uint64_t c1[FORK_TABLES];
	unsigned int t, i;

	/* copy: new tables, zeroed, linked; every PTE copied read-only */
	gfill(c4, NULL);
	gfill(c3, NULL);
	gfill(c2, NULL);
	gstore(c4 * 4096 + 8, gload(F_PML4 * 4096 + 8));
	gstore(c4 * 4096, c3 << 12 | PT_FLAGS);
	gstore(c3 * 4096, c2 << 12 | PT_FLAGS);
	for (t = 0; t < FORK_TABLES; t++) {
		c1[t] = frame_alloc();
		gfill(c1[t], NULL);
		gstore(c2 * 4096 + 8 * t, c1[t] << 12 | PT_FLAGS);
		for (i = 0; i < 512; i++) {
			uint64_t a = (F_PT + t) * 4096 + 8 * i, e = gload(a);

			if (!(e & PTE_P))
				continue;
			if (e & PTE_RW) {
				e &= ~PTE_RW;
				gstore(a, e);
			}
			gstore(c1[t] * 4096 + 8 * i, e);
			refs[(e & PT_ADDR_MASK) >> 12]++;
		}
	}
	load_cr3((uint64_t)F_PML4 << 12);		/* the parent's flush */
	/* the child breaks COW on every 16th page */
	cur_cr3 = c4 << 12;
	load_cr3(cur_cr3);
	for (i = 0; i < FORK_PAGES; i += 16)
		store((uint64_t)i << 12, ~(uint64_t)i);
	/* exit: back to the parent, the child's frames and tables freed */
	cur_cr3 = (uint64_t)F_PML4 << 12;
	load_cr3(cur_cr3);
	for (t = 0; t < FORK_TABLES; t++) {
		for (i = 0; i < 512; i++) {
			uint64_t e = gload(c1[t] * 4096 + 8 * i);

			if (e & PTE_P)
				frame_put((e & PT_ADDR_MASK) >> 12);
		}
		frame_put(c1[t]);
	}
	frame_put(c2);
	frame_put(c3);
	frame_put(c4);
	/* the parent writes to every 64th page: writable again, no copy */
	for (i = 0; i < FORK_PAGES; i += 64)
		store((uint64_t)i << 12 | 8, r);
}

static void fork_bench(bool oos, int rounds, struct result *res)
{
	unsigned int i, bad = 0;
	double t0;
	int r;

	fork_setup();
	start(oos);
	t0 = now_us();
	for (r = 0; r < rounds; r++)
		fork_round((uint64_t)r);
	finish(res, rounds, t0);
	for (i = 0; i < FORK_PAGES; i++) {
		uint64_t e = gload((F_PT + i / 512) * 4096 + 8 * (i % 512));

		bad += gload(e & PT_ADDR_MASK) != i;
	}
	if (bad)
		printf("fork, OOS %s: %u pages of the parent changed (COW "
		       "broken)\n", oos ? "on" : "off", bad);
}

/* ---- dirty logging: re-protect by rmap or by walk (issue 18) ---- */

#define D_PAGES		(1u << 18)	/* 1 GiB of 4 KiB guest pages */
#define D_GFN0		(1ull << 18)	/* they are guest frames 1-2 GiB */
#define D_TABLES	520		/* PML4, PDPT, PD, 512 PTs */

static struct gmem dmem;

static int64_t d_to_pfn(void *arg, uint64_t gfn)
{
	return gfn < D_TABLES || gfn - D_GFN0 < D_PAGES ?
	       (int64_t)(gfn + (HPA_OFFSET >> 12)) : -1;
}

static double now_ns(void)
{
	return now_us() * 1000;
}

/* 1 GiB mapped by 4 KiB guest PTEs (written and dirty), every page
 * faulted in, logging on; *vp its vCPU. */
static struct shadow_mmu *logged_gib(struct shadow_vcpu **vp)
{
	struct shadow_config cfg = {
		.max_pages = 4096, .maxphyaddr = 36, .gfn_to_pfn = d_to_pfn,
		.mem = &gmem_ops, .mem_arg = &dmem,
	};
	struct shadow_mmu *m;
	struct shadow_fault f;
	uint64_t i;

	dmem.size = D_TABLES * 4096ull;
	dmem.bytes = calloc(1, dmem.size);
	gmem_put(&dmem, 0x1000, 8, 0x2000 | 0x27);
	gmem_put(&dmem, 0x2000, 8, 0x3000 | 0x27);
	for (i = 0; i < 512; i++)
		gmem_put(&dmem, 0x3000 + 8 * i, 8, ((4 + i) << 12) | 0x27);
	for (i = 0; i < D_PAGES; i++)
		gmem_put(&dmem, (4 << 12) + 8 * i, 8,
			 ((D_GFN0 + i) << 12) | 0x67);
	shadow_init(&m, &cfg);
	shadow_vcpu_add(m, &lm_cpu, NULL, vp);
	for (i = 0; i < D_PAGES; i++)
		shadow_page_fault(*vp, i << 12, 0, false, &f);
	shadow_dirty_enable(m, D_GFN0 << 12, (uint64_t)D_PAGES << 12);
	return m;
}

static void bench_dirty(void)
{
	static const double ratios[] = {
		0.00001, 0.0001, 0.001, 0.004, 0.01, 0.03, 0.06, 0.1, 0.2,
		0.5, 1.0,
	};
	uint64_t *bm = malloc(D_PAGES / 8), s = 99;
	struct shadow_vcpu *mv;
	struct shadow_mmu *m = logged_gib(&mv);
	struct shadow_stats st;
	double fast = 0;
	unsigned long fixes = 0;
	size_t r;

	shadow_get_stats(m, &st);
	printf("shadow dirty log: re-protect of 1 GiB in 4K leaves (%lu "
	       "shadow pages, %lu of level 1):\n", (unsigned long)st.pages,
	       (unsigned long)st.pages_by_level[1]);
	printf("  %9s %8s %12s %12s  %s\n", "dirty", "pages", "rmap us",
	       "walk us", "faster");
	for (r = 0; r < sizeof(ratios) / sizeof(ratios[0]); r++) {
		uint64_t k = (uint64_t)(ratios[r] * D_PAGES), i;
		long dirty = 0;
		double t[2];
		int how, rep;
		struct shadow_fault f;

		if (!k)
			k = 1;
		for (how = 0; how < 2; how++) {
			t[how] = 0;
			for (rep = 0; rep < 3; rep++) {
				double t0 = now_ns();

				for (i = 0; i < k; i++) {
					uint64_t p = k == D_PAGES ? i :
						     s % D_PAGES;

					s = s * 6364136223846793005ull +
					    1442695040888963407ull;
					shadow_page_fault(mv, p << 12, PFERR_P |
							  PFERR_W, false, &f);
				}
				fast += now_ns() - t0;
				fixes += k;
				shadow_set_reprotect(m, how ?
						     MMU_REPROTECT_WALK :
						     MMU_REPROTECT_LOOKUP);
				memset(bm, 0, D_PAGES / 8);
				t0 = now_ns();
				dirty = shadow_dirty_get(m, D_GFN0 << 12,
							 (uint64_t)D_PAGES << 12,
							 bm);
				t[how] += now_ns() - t0;
			}
			t[how] /= 3;
		}
		printf("  %8.3f%% %8ld %12.1f %12.1f  %s\n",
		       100.0 * dirty / D_PAGES, dirty, t[0] / 1000,
		       t[1] / 1000, t[0] < t[1] ? "rmap" : "walk");
	}
	shadow_get_stats(m, &st);
	printf("shadow dirty log: write fault on a logged page: %.0f ns "
	       "(%lu of %lu on the lockless fast path)\n", fast / fixes,
	       (unsigned long)st.fast_fixes, fixes);
	shadow_dirty_disable(m);
	shadow_destroy(m);
	free(dmem.bytes);
	free(bm);
}

static double change(double on, double off)
{
	return off ? (on - off) / off * 100 : 0;
}

int main(void)
{
	struct result f_off, f_on, c_off, c_on;

	mem.size = NR_FRAMES * 4096;
	mem.bytes = calloc(1, mem.size);
	if (!mem.bytes)
		return 1;
	fork_bench(false, 1000, &f_off);
	fork_bench(true, 1000, &f_on);
	churn(false, 1000, &c_off);
	churn(true, 1000, &c_on);
	print_result("fork", false, &f_off);
	print_result("fork", true, &f_on);
	print_result("churn", false, &c_off);
	print_result("churn", true, &c_on);
	printf("fork, OOS on against off: %+.1f %% time/round, %+.1f %% #PF "
	       "exits/round, %+.1f %% exits/round (the seed series reports "
	       "-40 %% fork latency)\n", change(f_on.us, f_off.us),
	       change(f_on.pf_exits, f_off.pf_exits),
	       change(f_on.exits, f_off.exits));
	free(mem.bytes);
	bench_dirty();
	return 0;
}
