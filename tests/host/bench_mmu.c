// SPDX-License-Identifier: BSD-2-Clause
/*
 * `make bench`: figures only, no pass/fail.  Guest walker ns per walk per
 * mode; TDP fault ns with 1 and 2 threads; fast path against the locked
 * path; dirty-log re-protect by lookup against full walk at several dirty
 * ratios (the cross-over); eager split (enable) and huge-page recovery time.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/env.h"
#include "mmu/tdp/tdp.h"
#include "tests/host/tdp_extra.h"
#include "mmu/walk.h"
#include "tests/host/gmem.h"
#include "tests/host/host_env.h"

#define G	(1ull << 30)
#define M	(1ull << 20)

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- walker ---- */

static void put(struct gmem *m, uint64_t gpa, unsigned int size, uint64_t v)
{
	gmem_put(m, gpa, size, v);
}

/* Tables for one va: table pages from 0x1000, leaf frame 0x200000. */
static void bench_walk_mode(const char *name, enum gw_mode mode, int leaf)
{
	static uint8_t mem[16 * 4096];
	struct gmem m = { mem, sizeof(mem) };
	struct gw_ctx c = { .maxphyaddr = 40, .gbpages = true,
			    .mem = &gmem_ops, .mem_arg = &m };
	uint64_t va = mode == GW_MODE_LM ? 0x00007f1234567000ull : 0x87654000;
	struct gw_result res;
	int n = 2000000, i, level, top;
	uint64_t table = 0x1000;
	volatile uint64_t sink = 0;
	double t;

	memset(mem, 0, sizeof(mem));
	c.cr3 = table;
	if (mode != GW_MODE_OFF)
		c.cr0 = GW_CR0_PG | GW_CR0_WP;
	if (mode >= GW_MODE_PAE)
		c.cr4 = GW_CR4_PAE | GW_CR4_SMEP | GW_CR4_SMAP;
	if (mode == GW_MODE_32)
		c.cr4 = GW_CR4_PSE;
	if (mode == GW_MODE_LM)
		c.efer = GW_EFER_LMA | GW_EFER_NXE;
	top = mode == GW_MODE_LM ? 4 : 2;
	if (mode == GW_MODE_PAE) {
		put(&m, table + 8 * ((va >> 30) & 3), 8, 0x2000 | 1);
		table = 0x2000;
	}
	for (level = top; mode != GW_MODE_OFF && level >= leaf; level--) {
		unsigned int sz = mode == GW_MODE_32 ? 4 : 8;
		unsigned int sh = mode == GW_MODE_32 ? 12 + 10 * (level - 1) :
						       12 + 9 * (level - 1);
		unsigned int mask = mode == GW_MODE_32 ? 0x3ff : 0x1ff;
		uint64_t at = table + sz * ((va >> sh) & mask);

		if (level == leaf) {
			put(&m, at, sz, 0x40000000ull | 0x67 |
			    (leaf > 1 ? 0x80 : 0));
		} else {
			table += 0x1000;
			put(&m, at, sz, table | 0x27);
		}
	}
	t = now_ns();
	for (i = 0; i < n; i++) {
		gw_walk(&c, va + (i & 0xfff), GW_USER | GW_WRITE, &res);
		sink += res.gpa;
	}
	t = now_ns() - t;
	printf("walker %-18s %6.1f ns/walk\n", name, t / n);
}

/* ---- TDP faults ---- */

static const struct mmu_map_range big_ram[] = {
	{ 0, 2 * G, 8 * G, MMU_MAP_RAM, 0, 0 },
};

static struct mmu_tdp *new_mmu(int max_level)
{
	struct mmu_tdp_config cfg = {
		.fmt = PT_FMT_EPT, .max_level = max_level, .map = big_ram,
		.nr_map = 1,
	};
	struct mmu_tdp *mmu = calloc(1, sizeof(*mmu));

	if (mmu_tdp_init(mmu, &cfg))
		exit(1);
	return mmu;
}

static void free_mmu(struct mmu_tdp *mmu)
{
	mmu_tdp_destroy(mmu);
	free(mmu);
}

struct fault_job {
	struct mmu_tdp *mmu;
	uint64_t first, pages, stride;
	uint64_t retries;
};

static void *fault_worker(void *arg)
{
	struct fault_job *j = arg;
	uint64_t i;

	for (i = 0; i < j->pages; i++) {
		uint64_t gpa = (j->first + i * j->stride) << 12;

		while (mmu_tdp_fault(j->mmu, gpa, PT_W) == MMU_FAULT_RETRY)
			j->retries++;
	}
	return NULL;
}

/* Map 2^18 4 KiB pages with n threads; interleaved: neighbouring pages
 * go to different threads (same tables), else each thread its own half. */
static void bench_faults(int nthreads, bool interleaved)
{
	const uint64_t pages = 1ull << 18;
	struct mmu_tdp *mmu = new_mmu(1);
	struct fault_job jobs[2];
	pthread_t t[2];
	struct mmu_tdp_stats st;
	double ns;
	int i;

	for (i = 0; i < nthreads; i++) {
		jobs[i].mmu = mmu;
		jobs[i].pages = pages / nthreads;
		jobs[i].stride = interleaved ? (uint64_t)nthreads : 1;
		jobs[i].first = interleaved ? (uint64_t)i :
					      i * pages / nthreads;
		jobs[i].retries = 0;
	}
	ns = now_ns();
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, fault_worker, &jobs[i]);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	ns = now_ns() - ns;
	mmu_tdp_get_stats(mmu, &st);
	printf("tdp fault, %d thread%s%-14s %6.1f ns/fault wall, %6.1f ns "
	       "per thread-fault, %llu retries\n", nthreads,
	       nthreads > 1 ? "s" : "",
	       nthreads == 1 ? "" : interleaved ? " (same tables)" :
						  " (own tables)",
	       ns / pages, ns * nthreads / pages,
	       (unsigned long long)st.retries);
	free_mmu(mmu);
}

/* 1 GiB as 4 KiB leaves, logging on: every page write-protected. */
static struct mmu_tdp *logged_gib(double *enable_ns)
{
	struct mmu_tdp *mmu = new_mmu(2);
	double t;

	mmu_tdp_prefault(mmu, 0, G, PT_R);
	t = now_ns();
	mmu_tdp_dirty_enable(mmu, 0, G);
	t = now_ns() - t;
	if (enable_ns)
		*enable_ns = t;
	return mmu;
}

struct wp_job {
	struct mmu_tdp *mmu;
	uint64_t first, pages, stride;
};

static void *wp_worker(void *arg)
{
	struct wp_job *j = arg;
	uint64_t i;

	for (i = 0; i < j->pages; i++)
		mmu_tdp_fault(j->mmu, (j->first + i * j->stride) << 12, PT_W);
	return NULL;
}

/* Write faults on write-protected logged pages, by n threads. */
static double wp_faults(int nthreads, bool slow)
{
	const uint64_t pages = 1ull << 18;
	struct mmu_tdp *mmu = logged_gib(NULL);
	struct wp_job jobs[2];
	pthread_t t[2];
	double ns;
	int i;

	mmu->no_fast_path = slow;
	for (i = 0; i < nthreads; i++) {
		jobs[i].mmu = mmu;
		jobs[i].first = i * pages / nthreads;	/* own half */
		jobs[i].stride = 1;
		jobs[i].pages = pages / nthreads;
	}
	ns = now_ns();
	for (i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, wp_worker, &jobs[i]);
	for (i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	ns = now_ns() - ns;
	free_mmu(mmu);
	return ns * nthreads / pages;
}

static void bench_fast_path(void)
{
	int n;

	for (n = 1; n <= 2; n++)
		printf("dirty-log write fault, %d thread%s: fast path "
		       "%6.1f ns, locked path %6.1f ns per thread-fault\n", n,
		       n > 1 ? "s" : " ", wp_faults(n, false),
		       wp_faults(n, true));
}

/* Re-protect after k dirty pages of 1 GiB: lookup vs walk. */
static void bench_reprotect(void)
{
	static const double ratios[] = {
		0.00001, 0.0001, 0.001, 0.002, 0.01, 0.03, 0.1, 0.3, 0.5, 0.7,
		1.0,
	};
	const uint64_t pages = G >> 12;
	uint64_t *bm = malloc(pages / 8);
	struct mmu_tdp *mmu = logged_gib(NULL);
	uint64_t tables = mmu_tdp_nr_tables(mmu), s = 99;
	size_t r;

	printf("re-protect of 1 GiB in 4K leaves (%llu tables):\n",
	       (unsigned long long)tables);
	printf("  %9s %8s %12s %12s  %s\n", "dirty", "pages", "lookup us",
	       "walk us", "faster");
	printf("  (pages: distinct dirty pages harvested; writes hit random "
	       "pages, all pages at 100%%)\n");
	for (r = 0; r < sizeof(ratios) / sizeof(ratios[0]); r++) {
		uint64_t k = (uint64_t)(ratios[r] * pages), i;
		long dirty = 0;
		double t[2];
		int how, rep;

		if (!k)
			k = 1;
		for (how = 0; how < 2; how++) {
			t[how] = 0;
			for (rep = 0; rep < 3; rep++) {
				double t0;

				for (i = 0; i < k; i++) {
					uint64_t gfn = k == pages ? i :
						       rnd_below(&s, pages);

					mmu_tdp_fault(mmu, gfn << 12, PT_W);
				}
				mmu->reprotect = how ? MMU_REPROTECT_WALK :
						       MMU_REPROTECT_LOOKUP;
				memset(bm, 0, pages / 8);
				t0 = now_ns();
				dirty = mmu_tdp_dirty_get(mmu, 0, G, bm);
				t[how] += now_ns() - t0;
			}
			t[how] /= 3;
		}
		printf("  %8.3f%% %8ld %12.1f %12.1f  %s\n",
		       100.0 * dirty / pages, dirty, t[0] / 1000, t[1] / 1000,
		       t[0] < t[1] ? "lookup" : "walk");
	}
	free(bm);
	free_mmu(mmu);
}

static void bench_split_recover(void)
{
	struct mmu_tdp *mmu;
	double enable, t;
	struct mmu_tdp_stats st;

	mmu = logged_gib(&enable);
	t = now_ns();
	mmu_tdp_dirty_disable(mmu);
	t = now_ns() - t;
	mmu_tdp_get_stats(mmu, &st);
	printf("dirty-log enable on 1 GiB of 2M leaves (eager split to 4K): "
	       "%.2f ms, %.0f ns per 2M block\n", enable / 1e6,
	       enable / 512);
	printf("huge-page recovery of 1 GiB (512 x 2M, tables freed after "
	       "flush): %.2f ms, %.0f ns per 2M block (%llu recovered)\n",
	       t / 1e6, t / 512, (unsigned long long)st.recovered);
	free_mmu(mmu);
}

int main(void)
{
	bench_walk_mode("paging off", GW_MODE_OFF, 1);
	bench_walk_mode("32-bit 4K", GW_MODE_32, 1);
	bench_walk_mode("32-bit 4M", GW_MODE_32, 2);
	bench_walk_mode("PAE 4K", GW_MODE_PAE, 1);
	bench_walk_mode("4-level 4K", GW_MODE_LM, 1);
	bench_walk_mode("4-level 2M", GW_MODE_LM, 2);
	bench_walk_mode("4-level 1G", GW_MODE_LM, 3);
	bench_faults(1, false);
	bench_faults(2, false);
	bench_faults(2, true);
	bench_fast_path();
	bench_reprotect();
	bench_split_recover();
	return 0;
}
