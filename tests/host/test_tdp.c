// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TDP MMU, one thing at a time, for NPT and EPT: the map and the page
 * sizes it allows, holes, permissions, zap, prefault, dirty logging with
 * both re-protect methods, the fast path (and that racing writers mark a
 * page dirty exactly once), huge-page recovery, out-of-memory, and that
 * destroy gives back every page.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "mmu/tdp/tdp.h"
#include "tests/host/tdp_extra.h"
#include "tests/host/host_env.h"

#define G	(1ull << 30)
#define M	(1ull << 20)
#define K	(1ull << 10)

static const struct mmu_map_range test_map[] = {
	{ 0x0, 0x9f000, 0x100000000ull, MMU_MAP_RAM, 0, 0 },
	{ 0xa0000, 0x20000, 0x7000, MMU_MAP_SCRATCH, 0, 0 },
	{ 0xfec00000, 0x1000, 0xfec00000, MMU_MAP_MMIO, 0, 0 },
	{ 0x100000, 3 * G - M, 0x100000, MMU_MAP_RAM, 0, 0 },
	{ 0x100000000ull, 4 * M, 0x200001000ull, MMU_MAP_RAM, 0, 0 },
	{ 0x200000000ull, 2 * M, 0x300000000ull, MMU_MAP_RAM, MMU_MAP_RO, 0 },
	{ 0x200200000ull, 2 * M, 0x300200000ull, MMU_MAP_RAM, MMU_MAP_NX,
	  MMU_MT_WT },
};
#define NR_MAP	(sizeof(test_map) / sizeof(test_map[0]))

static unsigned long flushes;

static void count_flush(void *arg)
{
	__atomic_fetch_add(&flushes, 1, __ATOMIC_RELAXED);
}

static struct mmu_tdp *new_mmu(enum pt_format fmt, int max_level)
{
	struct mmu_tdp_config cfg = {
		.fmt = fmt, .max_level = max_level, .map = test_map,
		.nr_map = NR_MAP, .flush = count_flush,
	};
	struct mmu_tdp *mmu = calloc(1, sizeof(*mmu));
	int ret = mmu_tdp_init(mmu, &cfg);

	if (ret) {
		printf("init failed: %d\n", ret);
		exit(1);
	}
	return mmu;
}

static void end_mmu(struct mmu_tdp *mmu, const char *what)
{
	struct mmu_tdp_stats st;
	char name[128];

	mmu_tdp_destroy(mmu);
	mmu_tdp_get_stats(mmu, &st);
	snprintf(name, sizeof(name), "%s: destroy frees every table", what);
	check(st.tables_alloc == st.tables_freed && !host_pages_outstanding(),
	      name, "alloc %llu freed %llu outstanding %ld",
	      (unsigned long long)st.tables_alloc,
	      (unsigned long long)st.tables_freed, host_pages_outstanding());
	free(mmu);
}

static const char *fmt_name(enum pt_format fmt)
{
	return fmt == PT_FMT_EPT ? "ept" : "npt";
}

static void test_init_errors(void)
{
	struct mmu_map_range bad[2] = {
		{ 0x0, 0x2000, 0x0, MMU_MAP_RAM, 0, 0 },
		{ 0x1000, 0x2000, 0x10000, MMU_MAP_RAM, 0, 0 },
	};
	struct mmu_tdp_config cfg = {
		.fmt = PT_FMT_EPT, .max_level = 2, .map = bad, .nr_map = 2,
	};
	struct mmu_tdp *mmu = calloc(1, sizeof(*mmu));

	check(mmu_tdp_init(mmu, &cfg) == -MMU_EINVAL, "init refuses overlap",
	      "-");
	bad[1].gpa = 0x2800;
	check(mmu_tdp_init(mmu, &cfg) == -MMU_EINVAL,
	      "init refuses unaligned range", "-");
	bad[1].gpa = 0x2000;
	bad[1].kind = 9;
	check(mmu_tdp_init(mmu, &cfg) == -MMU_EINVAL, "init refuses bad kind",
	      "-");
	bad[1].kind = MMU_MAP_RAM;
	cfg.max_level = 4;
	check(mmu_tdp_init(mmu, &cfg) == -MMU_EINVAL,
	      "init refuses 512 GiB pages", "-");
	cfg.max_level = 2;
	cfg.fmt = PT_FMT_HOST;
	check(mmu_tdp_init(mmu, &cfg) == -MMU_EINVAL,
	      "init refuses the host format", "-");
	check(!host_pages_outstanding(), "failed init leaks nothing", "%ld",
	      host_pages_outstanding());
	free(mmu);
}

struct probe {
	uint64_t gpa;
	unsigned int access;
	enum mmu_fault_result want;
	int level;
	uint64_t hpa;
	unsigned int perm;
};

static const struct probe probes[] = {
	{ 0x5123, PT_R, MMU_FAULT_FIXED, 1, 0x100005123ull, PT_RWX },
	{ 0xa1234, PT_W, MMU_FAULT_FIXED, 1, 0x7234, PT_RWX },
	{ 0xbf008, PT_R, MMU_FAULT_FIXED, 1, 0x7008, PT_RWX },
	{ 0xfec00010, PT_W, MMU_FAULT_FIXED, 1, 0xfec00010, PT_RWX },
	{ 0x150000, PT_X, MMU_FAULT_FIXED, 1, 0x150000, PT_RWX },
	{ 0x201234, PT_W, MMU_FAULT_FIXED, 2, 0x201234, PT_RWX },
	{ 0x3fe00abc, PT_R, MMU_FAULT_FIXED, 2, 0x3fe00abc, PT_RWX },
	{ 0x40123456, PT_R, MMU_FAULT_FIXED, 3, 0x40123456, PT_RWX },
	{ 0xbfffffff, PT_X, MMU_FAULT_FIXED, 3, 0xbfffffff, PT_RWX },
	{ 0x100003456ull, PT_W, MMU_FAULT_FIXED, 1, 0x200004456ull, PT_RWX },
	{ 0x200000000ull, PT_W, MMU_FAULT_PROT, 0, 0, 0 },
	{ 0x200000010ull, PT_R | PT_X, MMU_FAULT_FIXED, 2, 0x300000010ull,
	  PT_R | PT_X },
	{ 0x200200000ull, PT_X, MMU_FAULT_PROT, 0, 0, 0 },
	{ 0x200300000ull, PT_W, MMU_FAULT_FIXED, 2, 0x300300000ull,
	  PT_R | PT_W },
	{ 0xc0000, PT_R, MMU_FAULT_NOT_IN_MAP, 0, 0, 0 },
	{ 0x9f000, PT_R, MMU_FAULT_NOT_IN_MAP, 0, 0, 0 },
	{ 0xfebff000, PT_R, MMU_FAULT_NOT_IN_MAP, 0, 0, 0 },
	{ 0xc0000000, PT_R, MMU_FAULT_NOT_IN_MAP, 0, 0, 0 },
	{ 0x300000000ull, PT_R, MMU_FAULT_NOT_IN_MAP, 0, 0, 0 },
};

static void test_probes(enum pt_format fmt)
{
	struct mmu_tdp *mmu = new_mmu(fmt, 3);
	struct mmu_tdp_stats st;
	struct mmu_xlate x;
	uint64_t want_mapped[4] = { 0 };
	char name[160];
	size_t i;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];
		enum mmu_fault_result r = mmu_tdp_fault(mmu, p->gpa, p->access);
		int t = mmu_tdp_translate(mmu, p->gpa, &x);
		bool ok = r == p->want;

		if (p->level) {
			want_mapped[p->level - 1]++;
			ok = ok && !t && x.level == p->level &&
			     x.hpa == p->hpa && x.perm == p->perm;
		}
		snprintf(name, sizeof(name), "%s fault %#llx access %u",
			 fmt_name(fmt), (unsigned long long)p->gpa, p->access);
		check(ok, name,
		      "result %d (want %d) level %d hpa %#llx perm %u",
		      r, p->want, x.level, (unsigned long long)x.hpa, x.perm);
	}
	mmu_tdp_get_stats(mmu, &st);
	check(!memcmp(st.mapped, want_mapped, sizeof(want_mapped)),
	      fmt == PT_FMT_EPT ? "ept mapped per level" :
				  "npt mapped per level",
	      "4K %llu 2M %llu 1G %llu", (unsigned long long)st.mapped[0],
	      (unsigned long long)st.mapped[1],
	      (unsigned long long)st.mapped[2]);

	mmu_tdp_translate(mmu, 0xfec00000, &x);
	if (fmt == PT_FMT_EPT) {
		uint64_t wt;

		check(((x.spte >> EPT_MT_SHIFT) & 7) == PT_MT_UC,
		      "ept mmio is UC", "%#llx", (unsigned long long)x.spte);
		mmu_tdp_translate(mmu, 0x5000, &x);
		check(((x.spte >> EPT_MT_SHIFT) & 7) == PT_MT_WB,
		      "ept ram is WB", "%#llx", (unsigned long long)x.spte);
		mmu_tdp_translate(mmu, 0x200300000ull, &x);
		wt = (x.spte >> EPT_MT_SHIFT) & 7;
		check(wt == PT_MT_WT, "ept memtype from the map", "%llu",
		      (unsigned long long)wt);
		check(mmu_tdp_eptp(mmu) ==
		      (mmu_tdp_root_pa(mmu) | 6 | (3 << 3)),
		      "eptp: WB, 4-level walk", "-");
	} else {
		uint64_t *root = mmu->root;

		check((x.spte & PTE_US) && (root[0] & PTE_US),
		      "npt leaves and tables are user (APM 15.25.5)", "-");
	}

	i = st.spurious;
	mmu_tdp_fault(mmu, 0x40123456, PT_W);
	mmu_tdp_get_stats(mmu, &st);
	check(st.spurious == i + 1, fmt == PT_FMT_EPT ?
	      "ept refault is spurious" : "npt refault is spurious", "-");
	end_mmu(mmu, fmt == PT_FMT_EPT ? "ept probes" : "npt probes");
}

static void test_max_level(void)
{
	struct mmu_tdp *mmu = new_mmu(PT_FMT_NPT, 2);
	struct mmu_xlate x;

	mmu_tdp_fault(mmu, 0x40123456, PT_R);
	mmu_tdp_translate(mmu, 0x40123456, &x);
	check(x.level == 2 && x.hpa == 0x40123456, "max_level 2: no 1G leaf",
	      "level %d", x.level);
	end_mmu(mmu, "max_level 2");
}

static void test_prefault_zap(void)
{
	struct mmu_tdp *mmu = new_mmu(PT_FMT_EPT, 3);
	struct mmu_tdp_stats st;
	struct mmu_xlate x;
	uint64_t tables;

	check(mmu_tdp_prefault(mmu, 0, 0x9f000, PT_R) == 0 &&
	      mmu_tdp_prefault(mmu, 2 * M, 6 * M, PT_R) == 0,
	      "prefault ranges", "-");
	mmu_tdp_get_stats(mmu, &st);
	check(st.mapped[0] == 0x9f && st.mapped[1] == 3, "prefault page sizes",
	      "4K %llu 2M %llu", (unsigned long long)st.mapped[0],
	      (unsigned long long)st.mapped[1]);
	check(mmu_tdp_prefault(mmu, 0x9e000, 0x3000, PT_R) == -MMU_ENOENT,
	      "prefault stops at a hole", "-");

	mmu_tdp_zap(mmu, 4 * M + 0x5000, 0x1000);
	check(mmu_tdp_translate(mmu, 4 * M, &x) == -MMU_ENOENT &&
	      mmu_tdp_translate(mmu, 2 * M, &x) == 0,
	      "zap of 4K inside a 2M leaf drops that leaf only", "-");
	mmu_tdp_zap(mmu, 0x3000, 0x2000);
	check(mmu_tdp_translate(mmu, 0x3000, &x) == -MMU_ENOENT &&
	      mmu_tdp_translate(mmu, 0x4000, &x) == -MMU_ENOENT &&
	      mmu_tdp_translate(mmu, 0x5000, &x) == 0 &&
	      mmu_tdp_translate(mmu, 0x2000, &x) == 0,
	      "zap of 4K leaves is exact", "-");
	mmu_tdp_zap(mmu, 0, G);
	mmu_tdp_get_stats(mmu, &st);
	tables = mmu_tdp_nr_tables(mmu);
	check(!st.mapped[0] && !st.mapped[1] && tables == 2,
	      "zap of 1G frees its tables, keeps the PDPT table",
	      "4K %llu 2M %llu tables %llu", (unsigned long long)st.mapped[0],
	      (unsigned long long)st.mapped[1], (unsigned long long)tables);
	mmu_tdp_zap(mmu, 0, 512 * G);
	tables = mmu_tdp_nr_tables(mmu);
	check(tables == 1, "zap of 512G leaves only the root", "%llu",
	      (unsigned long long)tables);
	mmu_tdp_get_stats(mmu, &st);
	check(st.flushes >= 4, "zap flushes", "%llu",
	      (unsigned long long)st.flushes);
	end_mmu(mmu, "prefault/zap");
}

static bool all_4k_ro(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size)
{
	struct mmu_xlate x;
	uint64_t a;

	for (a = gpa; a < gpa + size; a += 4096)
		if (mmu_tdp_translate(mmu, a, &x) || x.level != 1 ||
		    (x.perm & PT_W) || !(x.spte & SPTE_SW_W) ||
		    x.hpa != a)
			return false;
	return true;
}

static void test_dirty(enum pt_format fmt, enum mmu_reprotect how)
{
	struct mmu_tdp *mmu = new_mmu(fmt, 3);
	uint64_t base = G, lg = G + M, bm[8];
	uint64_t tables0;
	struct mmu_tdp_stats st, st2;
	struct mmu_xlate x;
	char name[160];
	long n;

	snprintf(name, sizeof(name), "%s/%s", fmt_name(fmt),
		 how == MMU_REPROTECT_LOOKUP ? "lookup" : "walk");
	mmu->reprotect = how;
	mmu_tdp_prefault(mmu, base, 8 * M, PT_R);
	tables0 = mmu_tdp_nr_tables(mmu);
	check(mmu_tdp_dirty_enable(mmu, lg, 2 * M) == 0, "dirty enable", "%s",
	      name);
	check(mmu_tdp_dirty_enable(mmu, lg, 2 * M) == -MMU_EBUSY,
	      "second enable is busy", "%s", name);
	check(all_4k_ro(mmu, base, 4 * M), "enable splits to 4K read-only",
	      "%s", name);
	mmu_tdp_translate(mmu, base + 5 * M, &x);
	check(x.level == 2, "blocks outside the log stay 2M", "%s level %d",
	      name, x.level);

	mmu_tdp_get_stats(mmu, &st);
	check(mmu_tdp_fault(mmu, lg + 0x3000, PT_W) == MMU_FAULT_FIXED,
	      "write to logged page", "%s", name);
	mmu_tdp_fault(mmu, lg + 0x3000, PT_W);
	mmu_tdp_zap(mmu, lg + 0x7000, 0x1000);
	mmu_tdp_fault(mmu, lg + 0x7000, PT_R);
	mmu_tdp_translate(mmu, lg + 0x7000, &x);
	check(x.level == 1 && !(x.perm & PT_W),
	      "read fault while logging maps read-only", "%s", name);
	mmu_tdp_fault(mmu, lg + 0x7000, PT_W);
	mmu_tdp_fault(mmu, base + 0x2000, PT_W);	/* split, not logged */
	mmu_tdp_get_stats(mmu, &st2);
	check(st2.fast_fixes - st.fast_fixes == 3 &&
	      st2.dirty_marks - st.dirty_marks == 2,
	      "fast path fixes, marks only logged pages once",
	      "%s fast %llu marks %llu", name,
	      (unsigned long long)(st2.fast_fixes - st.fast_fixes),
	      (unsigned long long)(st2.dirty_marks - st.dirty_marks));

	mmu->no_fast_path = true;
	mmu_tdp_fault(mmu, lg + 0x9000, PT_W);
	mmu->no_fast_path = false;
	mmu_tdp_get_stats(mmu, &st);
	mmu_tdp_translate(mmu, lg + 0x9000, &x);
	check(st.fast_fixes == st2.fast_fixes &&
	      st.dirty_marks == st2.dirty_marks + 1 && (x.perm & PT_W),
	      "locked path fixes and marks the same way", "%s", name);

	memset(bm, 0, sizeof(bm));
	n = mmu_tdp_dirty_get(mmu, lg, 2 * M, bm);
	check(n == 3 && bm[0] == ((1ull << 3) | (1ull << 7) | (1ull << 9)),
	      "harvest returns the written pages", "%s n %ld bm %#llx", name,
	      n, (unsigned long long)bm[0]);
	check(all_4k_ro(mmu, lg, 2 * M), "harvest write-protects again", "%s",
	      name);
	memset(bm, 0, sizeof(bm));
	n = mmu_tdp_dirty_get(mmu, lg, 2 * M, bm);
	check(n == 0 && !bm[0], "second harvest is empty", "%s", name);
	mmu_tdp_fault(mmu, lg + 2 * M - 4096, PT_W);
	memset(bm, 0, sizeof(bm));
	n = mmu_tdp_dirty_get(mmu, lg + M, M, bm);
	check(n == 1 && bm[3] == (1ull << 63), "harvest of a sub-range",
	      "%s n %ld", name, n);
	check(mmu_tdp_dirty_get(mmu, base, 4 * M, bm) == -MMU_EINVAL,
	      "harvest outside the log is refused", "%s", name);

	mmu_tdp_dirty_disable(mmu);
	mmu_tdp_translate(mmu, lg, &x);
	mmu_tdp_get_stats(mmu, &st);
	check(x.level == 3 && (x.perm & PT_W) && x.hpa == lg &&
	      mmu_tdp_nr_tables(mmu) == tables0,
	      "disable brings the 1G leaf back and frees the tables",
	      "%s level %d tables %llu (was %llu)", name, x.level,
	      (unsigned long long)mmu_tdp_nr_tables(mmu),
	      (unsigned long long)tables0);
	check(st.mapped[0] == 0 && st.mapped[1] == 0 && st.mapped[2] == 1,
	      "mapped counters after recovery", "%s %llu %llu %llu", name,
	      (unsigned long long)st.mapped[0],
	      (unsigned long long)st.mapped[1],
	      (unsigned long long)st.mapped[2]);
	check(how == MMU_REPROTECT_LOOKUP ? st.reprotect_lookup == 3 :
					    st.reprotect_walk == 3,
	      "re-protect method used", "%s", name);
	end_mmu(mmu, name);
}

static void test_nomem(void)
{
	struct mmu_tdp *mmu = new_mmu(PT_FMT_NPT, 3);
	struct mmu_tdp_stats st;

	host_fail_after(1);
	check(mmu_tdp_fault(mmu, 0x5000, PT_R) == MMU_FAULT_NOMEM,
	      "out of memory for a table", "-");
	host_fail_after(-1);
	check(mmu_tdp_fault(mmu, 0x5000, PT_R) == MMU_FAULT_FIXED,
	      "fault after memory comes back", "-");
	mmu_tdp_prefault(mmu, G, 2 * M, PT_R);
	host_fail_after(0);
	check(mmu_tdp_dirty_enable(mmu, G, 2 * M) == -MMU_ENOMEM,
	      "enable without memory for the bitmap", "-");
	host_fail_after(2);	/* bitmap yes, split tables no */
	check(mmu_tdp_dirty_enable(mmu, G, 2 * M) == 0,
	      "enable with no memory to split", "-");
	host_fail_after(-1);
	mmu_tdp_get_stats(mmu, &st);
	check(mmu_tdp_fault(mmu, G + 0x1000, PT_W) == MMU_FAULT_FIXED &&
	      st.mapped[2] == 0, "unsplittable leaf is unmapped, refaults 4K",
	      "1G %llu", (unsigned long long)st.mapped[2]);
	end_mmu(mmu, "nomem");
}

/* ---- fast path: two writers on one write-protected page ---- */

#define ROUNDS	50000

static struct mmu_tdp *race_mmu;
static int race_go, race_done, race_bad;
static struct mmu_tdp_stats race_base;

/* Racer 0 also checks each round and re-protects the page. */
static void *racer(void *arg)
{
	long id = (long)arg;
	struct mmu_tdp_stats a = race_base, b;
	uint64_t bm[8];
	long n;
	int i;

	for (i = 1; i <= ROUNDS; i++) {
		spin_until(&race_go, i);
		while (mmu_tdp_fault(race_mmu, G + 0x5000, PT_W) ==
		       MMU_FAULT_RETRY)
			;
		__atomic_fetch_add(&race_done, 1, __ATOMIC_ACQ_REL);
		if (id)
			continue;
		spin_until(&race_done, 2 * i);
		mmu_tdp_get_stats(race_mmu, &b);
		memset(bm, 0, sizeof(bm));
		n = mmu_tdp_dirty_get(race_mmu, G, 2 * M, bm);
		if (b.fast_fixes - a.fast_fixes != 1 ||
		    b.dirty_marks - a.dirty_marks != 1 || n != 1 ||
		    bm[0] != 1ull << 5)
			race_bad++;
		mmu_tdp_get_stats(race_mmu, &a);
		__atomic_store_n(&race_go, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_fast_once(void)
{
	struct mmu_tdp_stats st;
	pthread_t t[2];
	long i;

	race_mmu = new_mmu(PT_FMT_EPT, 3);
	mmu_tdp_prefault(race_mmu, G, 2 * M, PT_R);
	mmu_tdp_dirty_enable(race_mmu, G, 2 * M);
	mmu_tdp_get_stats(race_mmu, &race_base);
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, racer, (void *)i);
	__atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	mmu_tdp_get_stats(race_mmu, &st);
	printf("fast path: %llu exchanges lost in %d rounds\n",
	       (unsigned long long)st.fast_races, ROUNDS);
	check(!race_bad, "2 racing writers: one fast fix, one dirty mark "
	      "per round", "%d of %d rounds wrong", race_bad, ROUNDS);
	end_mmu(race_mmu, "fast path race");
}

/* Lose the race to link a table: the competitor runs inside our alloc. */
static struct mmu_tdp *hook_mmu;
static enum mmu_fault_result inner_res;

static void compete(void *arg)
{
	inner_res = mmu_tdp_fault(hook_mmu, *(uint64_t *)arg, PT_R);
}

static void test_lost_race(enum pt_format fmt)
{
	struct mmu_tdp *mmu = new_mmu(fmt, 3);
	uint64_t gpa = 0x5000;
	struct mmu_tdp_stats st;
	enum mmu_fault_result r;
	struct mmu_xlate x;

	hook_mmu = mmu;
	host_set_alloc_hook(compete, &gpa);
	r = mmu_tdp_fault(mmu, gpa, PT_W);
	mmu_tdp_get_stats(mmu, &st);
	check(r == MMU_FAULT_RETRY && inner_res == MMU_FAULT_FIXED &&
	      st.retries == 1 && st.tables_alloc - st.tables_freed == 4 &&
	      st.mapped[0] == 1, fmt == PT_FMT_EPT ?
	      "ept lost link race: retry, loser's table freed" :
	      "npt lost link race: retry, loser's table freed",
	      "r %d inner %d retries %llu tables %llu-%llu", r, inner_res,
	      (unsigned long long)st.retries,
	      (unsigned long long)st.tables_alloc,
	      (unsigned long long)st.tables_freed);
	r = mmu_tdp_fault(mmu, gpa, PT_W);
	check(r == MMU_FAULT_FIXED && !mmu_tdp_translate(mmu, gpa, &x) &&
	      x.hpa == 0x100005000ull && (x.perm & PT_W),
	      "the retried fault finds the winner's mapping", "r %d", r);
	end_mmu(mmu, "lost race");
}

/* Write one page in each of the n pages from gpa (logged: marks them). */
static void dirty_pages(struct mmu_tdp *mmu, uint64_t gpa, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++)
		mmu_tdp_fault(mmu, gpa + i * 4096, PT_W);
}

/*
 * The AUTO rule of the re-protect (docs/mmu.md, "Dirty logging"): lookup
 * while dirty * 2 < live tables * 512, else walk; both sides of the
 * cross-over, one page apart.
 */
static void test_dirty_auto(void)
{
	struct mmu_tdp *mmu = new_mmu(PT_FMT_EPT, 3);
	static uint64_t bm[8 * M / 4096 / 64];
	struct mmu_tdp_stats a, b, c;
	uint64_t i, thr;
	long n1, n2;

	mmu_tdp_dirty_enable(mmu, G, 8 * M);
	for (i = 0; i < 4; i++)
		dirty_pages(mmu, G + i * 2 * M, 1);	/* every table there */
	mmu_tdp_dirty_get(mmu, G, 8 * M, bm);
	thr = mmu_tdp_nr_tables(mmu) * 512 / 2;	/* first walk count */
	mmu_tdp_get_stats(mmu, &a);
	dirty_pages(mmu, G, thr - 1);
	n1 = mmu_tdp_dirty_get(mmu, G, 8 * M, bm);
	mmu_tdp_get_stats(mmu, &b);
	dirty_pages(mmu, G, thr);
	n2 = mmu_tdp_dirty_get(mmu, G, 8 * M, bm);
	mmu_tdp_get_stats(mmu, &c);
	check(n1 == (long)thr - 1 && b.reprotect_lookup == a.reprotect_lookup + 1
	      && b.reprotect_walk == a.reprotect_walk,
	      "AUTO re-protect: lookup one page below the cross-over",
	      "%ld dirty of %llu tables: lookups %llu walks %llu", n1,
	      (unsigned long long)mmu_tdp_nr_tables(mmu),
	      (unsigned long long)(b.reprotect_lookup - a.reprotect_lookup),
	      (unsigned long long)(b.reprotect_walk - a.reprotect_walk));
	check(n2 == (long)thr && c.reprotect_walk == b.reprotect_walk + 1 &&
	      c.reprotect_lookup == b.reprotect_lookup,
	      "AUTO re-protect: walk at the cross-over",
	      "%ld dirty of %llu tables: lookups %llu walks %llu", n2,
	      (unsigned long long)mmu_tdp_nr_tables(mmu),
	      (unsigned long long)(c.reprotect_lookup - b.reprotect_lookup),
	      (unsigned long long)(c.reprotect_walk - b.reprotect_walk));
	mmu_tdp_dirty_disable(mmu);
	end_mmu(mmu, "AUTO re-protect");
}

/*
 * The hardware's paging-structure caches (SDM Vol 3 4.10.3, 28.3.1): the
 * CPU may go on walking tables it reached until the MMU's flush hook has
 * run.  So the hook first reads every table a simulated hardware walk
 * reached since the last flush (ASan: one freed before the flush is a
 * use-after-free), then forgets them.  Random faults, zaps, dirty logging
 * and huge-page recovery on one thread.
 */
#define PSC_MAX		4096
static uint64_t *psc[PSC_MAX];
static int npsc;
static unsigned long psc_reads, psc_flushes;

static void psc_flush(void *arg)
{
	int i;

	for (i = 0; i < npsc; i++)
		psc_reads += *(volatile uint64_t *)psc[i] & 1;
	psc_flushes++;
	npsc = 0;
}

static void psc_walk(struct mmu_tdp *mmu, uint64_t gpa)
{
	uint64_t *t = mmu->root;
	int level;

	for (level = 4; level >= 1 && npsc < PSC_MAX; level--) {
		uint64_t e = t[pt_index(gpa, level)];

		psc[npsc++] = t;
		if (!pt_present(mmu->fmt, e) || pt_is_leaf(e, level))
			break;
		t = mmu_phys_to_virt(pt_table_pa(e));
	}
}

static void test_hw_cache(enum pt_format fmt)
{
	struct mmu_tdp_config cfg = {
		.fmt = fmt, .max_level = 3, .map = test_map, .nr_map = NR_MAP,
		.flush = psc_flush,
	};
	struct mmu_tdp *mmu = calloc(1, sizeof(*mmu));
	uint64_t rnd = 12345, bitmap[8 * M / 4096 / 64];
	bool logging = false;
	int i;

	if (mmu_tdp_init(mmu, &cfg)) {
		check(false, "hardware walks: init", "-");
		return;
	}
	for (i = 0; i < 20000; i++) {
		uint64_t gpa = 2 * M + rnd_below(&rnd, 8 * M);
		unsigned int op = (unsigned int)rnd_below(&rnd, 100);

		if (op < 70) {
			mmu_tdp_fault(mmu, gpa, op & 1 ? PT_W : PT_R);
			psc_walk(mmu, gpa);
		} else if (op < 85) {
			mmu_tdp_zap(mmu, gpa & ~(M - 1), M * (1 + op % 3));
		} else if (op < 90) {
			if (logging)
				mmu_tdp_dirty_disable(mmu);
			else
				mmu_tdp_dirty_enable(mmu, 2 * M, 8 * M);
			logging = !logging;
		} else if (op < 95) {
			if (logging)
				mmu_tdp_dirty_get(mmu, 2 * M, 8 * M, bitmap);
		} else {
			mmu_tdp_recover_huge(mmu, 2 * M, 8 * M);
		}
	}
	check(psc_reads && psc_flushes > 100, fmt == PT_FMT_EPT ?
	      "EPT: hardware walks use no table freed before the flush" :
	      "NPT: hardware walks use no table freed before the flush",
	      "%lu reads at %lu flushes", psc_reads, psc_flushes);
	mmu_tdp_destroy(mmu);
	free(mmu);
}

int main(void)
{
	test_init_errors();
	test_probes(PT_FMT_NPT);
	test_probes(PT_FMT_EPT);
	test_max_level();
	test_prefault_zap();
	test_dirty(PT_FMT_EPT, MMU_REPROTECT_LOOKUP);
	test_dirty(PT_FMT_NPT, MMU_REPROTECT_WALK);
	test_nomem();
	test_lost_race(PT_FMT_EPT);
	test_lost_race(PT_FMT_NPT);
	test_fast_once();
	test_dirty_auto();
	test_hw_cache(PT_FMT_EPT);
	test_hw_cache(PT_FMT_NPT);
	return check_finish();
}
