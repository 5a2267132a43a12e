// SPDX-License-Identifier: BSD-2-Clause
/*
 * Dirty logging and the lockless fast path of the shadow MMU (issue 18):
 * a 4-level guest maps 8 MiB identity, its own page tables included, and
 * writes at random through a simulated CPU on the shadow tables while
 * logging starts, harvests (both ways of re-protecting, and the AUTO rule)
 * and stops.  Every page written while logging is in the next harvest;
 * after a stop every leaf the log alone write-protected is writable again
 * and the frames that hold the guest's tables are not.  Then threads: two
 * writers racing on one write-protected page (one fast fix, one dirty bit
 * per round), and a writer against harvests and PTE rewrites (no write
 * lost from the union of the harvests).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "mmu/shadow/internal.h"
#include "tests/host/shadow/model.h"

#define NR	2048			/* frames: 8 MiB, all mapped */
#define OFF	0x100000ull		/* host frame = guest frame + OFF */
#define PT0	4			/* frames 4-7: the four PTs */
#define DATA	64			/* first frame the tests write */

static struct gmem mem;
static struct shadow_mmu *mmu;
static struct shadow_vcpu *vc;
static uint8_t written[NR], seen[NR];
static uint64_t bm[NR / 64];
static uint64_t rnd_state;

static int64_t to_pfn(void *arg, uint64_t gfn)
{
	return gfn < NR ? (int64_t)(gfn + OFF) : -1;
}

static uint64_t pte_gpa(uint64_t gfn)
{
	return (PT0 << 12) + 8 * gfn;
}

static void flush_cb(void *arg);

static void setup(void)
{
	static const struct shadow_cpu cpu = {
		.cr0 = (1ull << 31) | (1 << 16) | 1, .cr4 = 1 << 5,
		.efer = (1 << 10) | (1 << 8) | (1 << 11), .cr3 = 0x1000,
	};
	struct shadow_config cfg = {
		.max_pages = 512, .oos = true, .maxphyaddr = 36,
		.gfn_to_pfn = to_pfn, .mem = &gmem_ops, .mem_arg = &mem,
		.flush = flush_cb, .kick = flush_cb,
	};
	uint64_t f;

	memset(mem.bytes, 0, mem.size);
	gmem_put(&mem, 0x1000, 8, 0x2000 | PTE_P | PTE_RW | PTE_A);
	gmem_put(&mem, 0x2000, 8, 0x3000 | PTE_P | PTE_RW | PTE_A);
	for (f = 0; f < 4; f++)
		gmem_put(&mem, 0x3000 + 8 * f, 8,
			 ((PT0 + f) << 12) | PTE_P | PTE_RW | PTE_A);
	for (f = 0; f < NR; f++)	/* a fifth not dirty yet */
		gmem_put(&mem, pte_gpa(f), 8, (f << 12) | PTE_P | PTE_RW |
			 PTE_A | (f % 5 ? PTE_D : 0));
	if (shadow_init(&mmu, &cfg) || shadow_vcpu_add(mmu, &cpu, NULL, &vc))
		abort();
}

static uint64_t *spte_of(uint64_t va)
{
	uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(vc)), e;
	int level;

	for (level = 4; level > 1; level--) {
		e = __atomic_load_n(&t[pt_index(va, level)], __ATOMIC_ACQUIRE);
		if (!(e & PTE_P))
			return NULL;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
	}
	return &t[pt_index(va, 1)];
}

/*
 * The simulated CPU in guest mode (between reading a leaf and its store
 * landing): the TLB flush waits until it is out, as an IPI would; it is
 * never in guest mode inside the MMU, so the flush never waits for a
 * vCPU in the hypervisor (docs/mmu.md, "Locking rules").
 */
static int in_guest;
static unsigned long harvest_gen;	/* harvests returned */
static unsigned long write_gen[NR];	/* harvest_gen a store landed in */
static bool slow_stores;		/* widen the store's window */

static void flush_cb(void *arg)
{
	shadow_flush_pending(vc);
	while (__atomic_load_n(&in_guest, __ATOMIC_ACQUIRE))
		sched_yield();
}

/* A supervisor access to frame gfn by the simulated CPU; a write stores
 * into the frame and records it.  0, or -1 if no progress. */
static int access(uint64_t gfn, bool write)
{
	uint64_t va = gfn << 12, gpa = va + 8 * (gfn % 512), v = gfn;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		uint64_t *p, e;
		struct shadow_fault f;

		__atomic_store_n(&in_guest, 1, __ATOMIC_SEQ_CST);
		p = spte_of(va);
		e = p ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0;
		if ((e & PTE_P) && (!write || (e & PTE_RW))) {
			if (write) {
				/* table frames keep their entries */
				if (gfn < 8)
					v = gmem_get(&mem, gpa, 8);
				for (int k = 0; slow_stores && !(gfn % 3) &&
				     k < 300; k++)
					cpu_relax();
				gmem_put(&mem, gpa, 8, v);
				write_gen[gfn] = __atomic_load_n(&harvest_gen,
							__ATOMIC_SEQ_CST);
				__atomic_store_n(&written[gfn], 1,
						 __ATOMIC_RELEASE);
			}
			__atomic_store_n(&in_guest, 0, __ATOMIC_RELEASE);
			return 0;
		}
		__atomic_store_n(&in_guest, 0, __ATOMIC_RELEASE);
		switch (shadow_page_fault(vc, va, (write ? PFERR_W : 0) |
					  ((e & PTE_P) ? PFERR_P : 0), false,
					  &f)) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_EMULATE:
			v = gmem_get(&mem, f.gpa & ~7ull, 8);
			shadow_emulated_write(vc, f.gpa & ~7ull, &v, 8);
			__atomic_store_n(&written[gfn], 1, __ATOMIC_RELEASE);
			return 0;
		default:
			return -1;
		}
	}
	return -1;
}

/* Harvest everything into seen[] (taken_gen[]: the last harvest that
 * had the frame); returns the count. */
static unsigned long taken_gen[NR];

static long harvest(void)
{
	long n, f;

	memset(bm, 0, sizeof(bm));
	n = shadow_dirty_get(mmu, 0, NR << 12, bm);
	for (f = 0; f < NR; f++) {
		if (bm[f / 64] >> (f % 64) & 1) {
			seen[f] = 1;
			taken_gen[f] = harvest_gen;
		}
	}
	__atomic_fetch_add(&harvest_gen, 1, __ATOMIC_SEQ_CST);
	return n;
}

/* Every frame written is in seen[]; both cleared. */
static unsigned long lost(void)
{
	unsigned long n = 0, f;

	for (f = 0; f < NR; f++)
		n += written[f] && !seen[f];
	memset(written, 0, sizeof(written));
	memset(seen, 0, sizeof(seen));
	return n;
}

/* A guest PTE rewritten by the guest (emulated: its PT is shadowed). */
static void rewrite_pte(uint64_t gfn, uint64_t flip)
{
	uint64_t v = gmem_get(&mem, pte_gpa(gfn), 8) ^ flip;

	gmem_put(&mem, pte_gpa(gfn), 8, v);
	shadow_emulated_write(vc, pte_gpa(gfn), &v, 8);
}

/* After a stop: no present leaf is write-protected for the log alone
 * (W back where the guest PTE is writable and dirty and the frame is no
 * table), and the table frames stay write-protected. */
static void check_stopped(unsigned long *bad_w, unsigned long *bad_pt)
{
	uint64_t f;

	for (f = 0; f < NR; f++) {
		uint64_t *p = spte_of(f << 12), g = gmem_get(&mem,
							     pte_gpa(f), 8);

		if (!p || !(*p & PTE_P))
			continue;
		if (f >= 1 && f <= 3)	/* non-leaf: never unsync */
			*bad_pt += !!(*p & PTE_RW);
		else if (f < 8)
			continue;	/* a leaf table: maybe unsync */
		else if ((g & PTE_RW) && (g & PTE_D) && !(*p & PTE_RW))
			(*bad_w)++;
	}
}

static void test_random(void)
{
	unsigned long steps, lost_writes = 0, harvests = 0, bad_w = 0,
		      bad_pt = 0, stops = 0, bad_rule = 0, bad_check = 0;
	struct shadow_stats a, b;
	bool on = false;
	char buf[160];

	setup();
	for (steps = 0; steps < 200000; steps++) {
		unsigned int r = (unsigned int)rnd_below(&rnd_state, 100);
		uint64_t gfn = rnd_below(&rnd_state, 8) ? DATA +
			       rnd_below(&rnd_state, NR - DATA) :
			       rnd_below(&rnd_state, 8);

		if (r < 60) {
			access(gfn, true);
		} else if (r < 85) {
			access(gfn, false);
		} else if (r < 89) {
			rewrite_pte(gfn, rnd_below(&rnd_state, 2) ? PTE_D :
					 PTE_RW);
			shadow_invlpg(vc, gfn << 12);
		} else if (r < 90) {
			shadow_load_cr3(vc, 0x1000, NULL);
		} else if (r < 91) {
			unsigned int k;

			for (k = 0; k < 400; k++)
				access(DATA + rnd_below(&rnd_state, NR - DATA),
				       true);
		} else if (r < 99 && on) {
			long n;

			shadow_get_stats(mmu, &a);
			n = harvest();
			shadow_get_stats(mmu, &b);
			/* AUTO: the rmap while dirty < 12 x shadow pages */
			bad_rule += (b.reprotect_rmap > a.reprotect_rmap) !=
				    ((uint64_t)n < SH_RMAP_PER_PAGE * a.pages);
			lost_writes += lost();
			harvests++;
		} else if (r >= 99 && !on) {
			memset(written, 0, sizeof(written));
			on = !shadow_dirty_enable(mmu, 0, NR << 12);
		} else if (r >= 99) {
			harvest();
			lost_writes += lost();
			shadow_dirty_disable(mmu);
			on = false;
			stops++;
			check_stopped(&bad_w, &bad_pt);
			bad_check += !!shadow_check(mmu, buf, sizeof(buf));
		}
		if (!(steps % 64))
			bad_check += !!shadow_check(mmu, buf, sizeof(buf));
	}
	shadow_get_stats(mmu, &a);
	check(harvests > 500 && stops > 50 && a.fast_fixes > 1000 &&
	      a.reprotect_rmap && a.reprotect_walk, "random: logging started, "
	      "harvested and stopped",
	      "%lu harvests, %lu stops, %lu fast fixes, %lu/%lu rmap/walk",
	      harvests, stops, (unsigned long)a.fast_fixes,
	      (unsigned long)a.reprotect_rmap,
	      (unsigned long)a.reprotect_walk);
	printf("random: %lu harvests (%lu by rmap, %lu by walk), %lu stops, "
	       "%lu fast fixes, %lu marks\n", harvests,
	       (unsigned long)a.reprotect_rmap,
	       (unsigned long)a.reprotect_walk, stops,
	       (unsigned long)a.fast_fixes, (unsigned long)a.dirty_marks);
	check(!lost_writes, "random: every page written while logging is in "
	      "the next harvest", "%lu writes lost", lost_writes);
	check(!bad_rule, "random: AUTO re-protects by rmap while dirty < 12 x "
	      "shadow pages, else by walk", "%lu harvests the other way",
	      bad_rule);
	check(!bad_w && !bad_pt, "random: after a stop, W is back on every "
	      "leaf the log alone protected, and on no frame of a shadowed "
	      "table (PML4, PDPT, PD; shadow_check() for the PTs)",
	      "%lu leaves without W, %lu table frames writable", bad_w,
	      bad_pt);
	check(!bad_check, "random: shadow_check() (no writable logged leaf "
	      "unmarked, no SPTE_SH_W on a table frame)", "%lu failed: %s",
	      bad_check, buf);
	shadow_dirty_disable(mmu);
	check(!shadow_destroy(mmu), "random: teardown", "leaked");
}

/* The D bit umbra's walk sets in a guest PTE is a write to the PT frame. */
static void test_ad_logged(void)
{
	uint64_t gfn = DATA + 11, pt = PT0 + gfn / 512;	/* gfn % 5 == 0 */

	setup();
	shadow_dirty_enable(mmu, 0, NR << 12);
	harvest();
	memset(seen, 0, sizeof(seen));
	int r = access(gfn, true);
	uint64_t g = gmem_get(&mem, pte_gpa(gfn), 8);
	long n = harvest();

	check(!r && (g & PTE_D) && n == 2 && seen[gfn] && seen[pt], "a write "
	      "that sets the guest PTE's D bit logs the page and its page "
	      "table", "access %d, PTE %#lx, %ld harvested, page %d, table %d",
	      r, (unsigned long)g, n, seen[gfn], seen[pt]);
	memset(seen, 0, sizeof(seen));
	memset(written, 0, sizeof(written));
	shadow_dirty_disable(mmu);
	check(!shadow_destroy(mmu), "A/D: teardown", "leaked");
}

/* ---- threads ---- */

#define ROUNDS	20000

static int go, done, stop_writer;
static unsigned long writes;
static unsigned long race_bad;
static struct shadow_stats race_base;	/* taken before the threads run */

/* Two writers on one write-protected page; writer 0 checks the round. */
static void *racer(void *arg)
{
	long id = (long)arg;
	struct shadow_stats a = race_base, b;
	long n;
	int i;

	for (i = 1; i <= ROUNDS; i++) {
		spin_until(&go, i);
		access(DATA + 5, true);
		__atomic_fetch_add(&done, 1, __ATOMIC_ACQ_REL);
		if (id)
			continue;
		spin_until(&done, 2 * i);
		shadow_get_stats(mmu, &b);
		memset(bm, 0, sizeof(bm));
		n = shadow_dirty_get(mmu, 0, NR << 12, bm);
		if (b.fast_fixes - a.fast_fixes != 1 || n != 1 ||
		    bm[(DATA + 5) / 64] != 1ull << ((DATA + 5) % 64))
			race_bad++;
		a = b;
		__atomic_store_n(&go, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_fast_once(void)
{
	pthread_t t[2];
	long i;

	setup();
	access(DATA + 5, false);
	shadow_dirty_enable(mmu, 0, NR << 12);
	shadow_get_stats(mmu, &race_base);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, racer, (void *)i);
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	check(!race_bad, "threads: 2 writers on one logged page: one fast "
	      "fix and one dirty bit per round", "%lu of %d rounds wrong",
	      race_bad, ROUNDS);
	shadow_dirty_disable(mmu);
	check(!shadow_destroy(mmu), "threads: teardown", "leaked");
}

static void *writer(void *arg)
{
	uint64_t r = 77;

	while (!__atomic_load_n(&stop_writer, __ATOMIC_ACQUIRE)) {
		access(DATA + rnd_below(&r, 512), true);
		__atomic_fetch_add(&writes, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* A writer against harvests of both kinds and PTE rewrites. */
static void test_writer_harvest(void)
{
	unsigned long lost_writes = 0, bad_check = 0, late = 0;
	struct shadow_stats st;
	pthread_t t;
	char buf[160];
	int i;

	setup();
	for (i = 0; i < 512; i++)
		access(DATA + i, false);
	shadow_dirty_enable(mmu, 0, NR << 12);
	memset(written, 0, sizeof(written));
	memset(taken_gen, 0, sizeof(taken_gen));
	slow_stores = true;
	pthread_create(&t, NULL, writer, NULL);
	for (i = 0; __atomic_load_n(&writes, __ATOMIC_RELAXED) < 200000;
	     i++) {
		shadow_set_reprotect(mmu, (enum mmu_reprotect)(i % 3));
		harvest();
		if (!(i % 4))	/* locked changes to the leaves */
			rewrite_pte(DATA + rnd_below(&rnd_state, 512), PTE_RW);
		if (!(i % 7))
			rewrite_pte(DATA + rnd_below(&rnd_state, 512), 0);
		if (!(i % 16))
			sched_yield();
	}
	__atomic_store_n(&stop_writer, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	harvest();		/* the writer has stopped: exact */
	for (i = 0; i < NR; i++)	/* in a harvest that ended after it */
		late += written[i] && taken_gen[i] < write_gen[i];
	lost_writes = lost();
	bad_check = !!shadow_check(mmu, buf, sizeof(buf));
	shadow_get_stats(mmu, &st);
	printf("writer: 200000 writes, %lu fast fixes, %lu marks, %lu faults, "
	       "%d harvests\n", (unsigned long)st.fast_fixes,
	       (unsigned long)st.dirty_marks, (unsigned long)st.faults, i);
	check(!lost_writes && !late && st.fast_fixes > 0, "threads: a writer "
	      "against harvests and PTE rewrites: every page's last write is "
	      "in a harvest that returned after the write landed",
	      "%lu lost, %lu in an earlier harvest only, %lu fast fixes",
	      lost_writes, late, (unsigned long)st.fast_fixes);
	check(!bad_check, "threads: shadow_check() after the writer", "%s",
	      buf);
	shadow_dirty_disable(mmu);
	check(!shadow_destroy(mmu), "threads: teardown after the writer",
	      "leaked");
}

int main(void)
{
	rnd_state = test_seed(18);
	mem.size = NR * 4096ull;
	mem.bytes = aligned_alloc(4096, mem.size);
	test_random();
	test_ad_logged();
	test_fast_once();
	test_writer_harvest();
	free(mem.bytes);
	return check_finish();
}
