// SPDX-License-Identifier: BSD-2-Clause
/*
 * The TDP MMU under threads.
 *
 * Part 1: vCPU threads access guest memory through a simulated hardware
 * walker (lockless, like the CPU's: it reads the tables and, if the leaf
 * allows the access, the access "happens"); otherwise they call
 * mmu_tdp_fault().  A control thread zaps, enables and disables dirty
 * logging, harvests and recovers huge pages at random.  The flush hook waits
 * for every simulated walk in flight, as an IPI-based TLB shootdown would.
 * After every round the threads stop and the checker verifies: each leaf maps
 * the right frame with no more permission than the map and a page size the
 * map allows; the leaf and table counters match the tables; every page has
 * been allocated exactly once (no leak); a writable leaf in the logged range
 * has its dirty bit; in rounds without zaps every completed access is still
 * mapped (no lost update).  At each disable, the harvested bitmaps must hold
 * every page written while logging was on.
 *
 * Part 2 (seed 001): huge pages are recovered while a reader thread walks
 * the range; it must never find it unmapped.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/env.h"
#include "mmu/tdp/tdp.h"
#include "tests/host/tdp_extra.h"
#include "tests/host/host_env.h"

#define M		(1ull << 20)
#define G		(1ull << 30)
#define SPACE		(2 * G + 128 * M)	/* gpa space probed */
#define NR_VCPUS	3
#define ROUNDS		2000
#define OPS		1000

static const struct mmu_map_range smap[] = {
	{ 0, 64 * M, 1 * G, MMU_MAP_RAM, 0, 0 },
	{ 64 * M, 8 * M, 3 * G + 0x1000, MMU_MAP_RAM, 0, 0 },
	{ 80 * M, 1 * M, 0x7000, MMU_MAP_SCRATCH, 0, 0 },
	{ 96 * M, 4 * M, 4 * G, MMU_MAP_RAM, MMU_MAP_RO, 0 },
	{ 100 * M, 4 * M, 4 * G + 4 * M, MMU_MAP_MMIO, MMU_MAP_NX, 0 },
	{ 1 * G, 1 * G, 8 * G, MMU_MAP_RAM, 0, 0 },
};
#define NR_SMAP	(sizeof(smap) / sizeof(smap[0]))

static struct mmu_tdp *mmu;
static struct mmu_epoch hw_epoch;
static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static struct check_group g_hw, g_leaf, g_count, g_lost, g_dirty, g_fault;
static uint64_t flush_calls;

/* ---- the simulated hardware ---- */

static void hw_flush(void *arg)
{
	pthread_mutex_lock(&flush_lock);
	epoch_sync(&hw_epoch);		/* walks in flight are done */
	flush_calls++;
	pthread_mutex_unlock(&flush_lock);
}

static const struct mmu_map_range *map_find(uint64_t gpa)
{
	size_t i;

	for (i = 0; i < NR_SMAP; i++)
		if (gpa >= smap[i].gpa && gpa - smap[i].gpa < smap[i].size)
			return &smap[i];
	return NULL;
}

static unsigned int map_perm(const struct mmu_map_range *r)
{
	unsigned int p = PT_RWX;

	if (r->flags & MMU_MAP_RO)
		p &= ~PT_W;
	if (r->flags & MMU_MAP_NX)
		p &= ~PT_X;
	return p;
}

static uint64_t map_hpa(const struct mmu_map_range *r, uint64_t gpa)
{
	if (r->kind == MMU_MAP_SCRATCH)
		return r->hpa + (gpa & 0xfff);
	return r->hpa + (gpa - r->gpa);
}

/* Logging as the test knows it: on from after enable to before disable. */
static int log_on;
static uint64_t log_gfn, log_nr;
static uint64_t *written;		/* bit per gfn of SPACE */
static uint64_t *harvested;

/*
 * The CPU's walk: like pt_lookup(), but slow ones pause between levels so
 * that a table freed too early is still being read (ASan reports it).
 */
static void hw_lookup(uint64_t gpa, struct pt_lookup *l, bool slow)
{
	uint64_t *table = mmu->root;
	int level;

	l->level = 0;
	for (level = PT_LEVELS; level >= 1; level--) {
		uint64_t e = atomic_read64(&table[pt_index(gpa, level)]);
		volatile int d;

		for (d = 0; slow && d < 300; d++)
			;
		l->spte = e;
		if (!pt_present(mmu->fmt, e))
			return;
		if (pt_is_leaf(e, level)) {
			l->level = level;
			l->pa = pt_leaf_pa(e, level) |
				(gpa & (pt_level_size(level) - 1));
			return;
		}
		table = mmu_phys_to_virt(pt_table_pa(e));
	}
}

static bool hw_access(uint64_t gpa, unsigned int access)
{
	uint32_t slot = epoch_enter(&hw_epoch);
	int on = __atomic_load_n(&log_on, __ATOMIC_ACQUIRE);
	const struct mmu_map_range *r = map_find(gpa);
	struct pt_lookup l;
	bool ok;

	hw_lookup(gpa, &l, (gpa & 0x3000) == 0);
	ok = l.level && (pt_perm(mmu->fmt, l.spte) & access) == access;
	if (ok) {
		group_expect(&g_hw, r && l.pa == map_hpa(r, gpa) &&
			     !(pt_perm(mmu->fmt, l.spte) & ~map_perm(r)),
			     "hw access %#llx: pa %#llx spte %#llx",
			     (unsigned long long)gpa, (unsigned long long)l.pa,
			     (unsigned long long)l.spte);
		if ((access & PT_W) && on) {
			uint64_t gfn = gpa >> 12;

			if (gfn >= log_gfn && gfn - log_gfn < log_nr)
				__atomic_fetch_or(&written[gfn / 64],
						  1ull << (gfn % 64),
						  __ATOMIC_RELAXED);
		}
	}
	epoch_exit(&hw_epoch, slot);
	return ok;
}

/* ---- vCPUs ---- */

struct done_access {
	uint64_t gpa;
	unsigned int access;
};

struct vcpu {
	pthread_t thread;
	uint64_t rnd;
	int n;
	struct done_access done[OPS];
};

static struct vcpu vcpus[NR_VCPUS];
static pthread_barrier_t bar;
static int stop;
static int zap_round;
static int running;			/* vCPUs still in this round */
static uint64_t same_seq;		/* non-zero: shared access sequence */

static uint64_t hot;		/* 2 MiB window most threads hit this round */
static uint64_t nr_written;

static uint64_t rand_gpa(uint64_t *s)
{
	switch (rnd_below(s, 8)) {
	case 3:
	case 4:
	case 5:
		return hot + rnd_below(s, 2 * M);
	case 0:
		return 64 * M + rnd_below(s, 48 * M);	/* misc and holes */
	case 1:
	case 2:
		return G + rnd_below(s, G);
	default:
		return rnd_below(s, 64 * M);
	}
}

static void vcpu_op(struct vcpu *v)
{
	static const unsigned int kinds[] = { PT_R, PT_W, PT_W, PT_X };
	uint64_t gpa = rand_gpa(&v->rnd) & ~7ull;
	unsigned int access = kinds[rnd_below(&v->rnd, 4)];
	const struct mmu_map_range *r = map_find(gpa);
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		enum mmu_fault_result res;

		if (hw_access(gpa, access)) {
			v->done[v->n].gpa = gpa;
			v->done[v->n++].access = access;
			return;
		}
		res = mmu_tdp_fault(mmu, gpa, access);
		if (res == MMU_FAULT_NOT_IN_MAP || res == MMU_FAULT_PROT) {
			group_expect(&g_fault, res == MMU_FAULT_NOT_IN_MAP ?
				     !r : r && (access & ~map_perm(r)),
				     "fault %#llx access %u: %d",
				     (unsigned long long)gpa, access, res);
			return;
		}
		group_expect(&g_fault, res == MMU_FAULT_FIXED ||
			     res == MMU_FAULT_RETRY, "fault %#llx: %d",
			     (unsigned long long)gpa, res);
	}
	group_expect(&g_fault, false, "fault %#llx access %u never resolves",
		     (unsigned long long)gpa, access);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	int i;

	for (;;) {
		pthread_barrier_wait(&bar);		/* round starts */
		if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			return NULL;
		v->n = 0;
		if (same_seq)		/* every vCPU touches the same pages */
			v->rnd = same_seq;
		for (i = 0; i < OPS; i++)
			vcpu_op(v);
		__atomic_fetch_sub(&running, 1, __ATOMIC_RELEASE);
		pthread_barrier_wait(&bar);		/* round ends */
	}
}

/* ---- control (runs in the main thread during rounds) ---- */

static uint64_t ctl_rnd;
static bool stop_log;

static void harvest(void)
{
	uint64_t *bm = calloc((log_nr + 63) / 64, 8);
	long n;
	uint64_t i;

	mmu->reprotect = (enum mmu_reprotect)rnd_below(&ctl_rnd, 3);
	n = mmu_tdp_dirty_get(mmu, log_gfn << 12, log_nr << 12, bm);
	group_expect(&g_dirty, n >= 0, "harvest returned %ld", n);
	for (i = 0; i < log_nr; i++)
		if (bm[i / 64] & (1ull << (i % 64)))
			harvested[(log_gfn + i) / 64] |=
				1ull << ((log_gfn + i) % 64);
	free(bm);
}

static void log_start(void)
{
	uint64_t gpa = rnd_below(&ctl_rnd, SPACE / 4096) << 12;
	uint64_t size = (1 + rnd_below(&ctl_rnd, 4096)) << 12;
	int ret;

	if (rnd_below(&ctl_rnd, 2))
		gpa = rnd_below(&ctl_rnd, 64 * M / 4096) << 12;
	if (rnd_below(&ctl_rnd, 2)) {		/* around the hot window */
		uint64_t back = rnd_below(&ctl_rnd, 512) << 12;

		gpa = hot > back ? hot - back : 0;
	}
	if (gpa + size > SPACE)
		size = SPACE - gpa;
	ret = mmu_tdp_dirty_enable(mmu, gpa, size);
	group_expect(&g_dirty, ret == 0, "enable %#llx+%#llx: %d",
		     (unsigned long long)gpa, (unsigned long long)size, ret);
	if (ret)
		return;
	log_gfn = gpa >> 12;
	log_nr = size >> 12;
	memset(written, 0, SPACE / 4096 / 8);
	memset(harvested, 0, SPACE / 4096 / 8);
	__atomic_store_n(&log_on, 1, __ATOMIC_RELEASE);
}

/* With the vCPUs stopped: harvest exactly, compare, start afresh. */
static void log_check(void)
{
	uint64_t i;

	harvest();
	for (i = 0; i < SPACE / 4096 / 64; i++)
		nr_written += __builtin_popcountll(written[i]);
	for (i = 0; i < SPACE / 4096 / 64; i++)
		group_expect(&g_dirty, !(written[i] & ~harvested[i]),
			     "gfns %#llx..: written %#llx harvested %#llx",
			     (unsigned long long)i * 64,
			     (unsigned long long)written[i],
			     (unsigned long long)harvested[i]);
	memset(written, 0, SPACE / 4096 / 8);
	memset(harvested, 0, SPACE / 4096 / 8);
}

static void log_stop(void)
{
	__atomic_store_n(&log_on, 0, __ATOMIC_RELEASE);
	log_check();
	mmu_tdp_dirty_disable(mmu);
}

static void control_op(void)
{
	uint64_t gpa = rand_gpa(&ctl_rnd) & ~0xfffull;
	uint64_t size = (1 + rnd_below(&ctl_rnd, 1024)) << 12;

	switch (rnd_below(&ctl_rnd, 8)) {
	case 0:
		if (zap_round)
			mmu_tdp_zap(mmu, hot + (rnd_below(&ctl_rnd, 512) << 12),
				    size);
		break;
	case 1:
		if (zap_round)
			mmu_tdp_zap(mmu, gpa, size);
		break;
	case 2:
		if (!log_on)
			log_start();
		else
			stop_log = true;	/* at the end of the round */
		break;
	case 3:
	case 4:
		if (log_on)
			harvest();
		break;
	case 5:
		mmu_tdp_recover_huge(mmu, gpa & ~(2 * M - 1), 4 * M);
		break;
	default:
		break;
	}
}

/* ---- invariants, with every thread stopped ---- */

struct inv {
	uint64_t leaves[4], tables;
};

static bool log_bit(uint64_t gfn)
{
	uint64_t idx = gfn - mmu->log.gfn;

	return mmu->log.dir[idx / 32768][(idx % 32768) / 64] &
	       (1ull << (idx % 64));
}

static bool inv_pre(struct pt_visitor *vis, uint64_t *sptep, uint64_t *spte,
		    uint64_t addr, int level)
{
	struct inv *c = vis->ctx;
	const struct mmu_map_range *r = map_find(addr);
	uint64_t size = pt_level_size(level);
	unsigned int perm = pt_perm(mmu->fmt, *spte);

	if (!pt_is_leaf(*spte, level)) {
		c->tables++;
		return true;
	}
	c->leaves[level - 1]++;
	group_expect(&g_leaf, r && addr + size <= r->gpa + r->size &&
		     pt_leaf_pa(*spte, level) == map_hpa(r, addr) &&
		     !(perm & ~map_perm(r)) && (perm & PT_R) &&
		     (level == 1 || r->kind != MMU_MAP_SCRATCH),
		     "leaf %#llx level %d spte %#llx",
		     (unsigned long long)addr, level,
		     (unsigned long long)*spte);
	if (mmu->log.dir && (perm & PT_W) && addr >> 12 >= mmu->log.gfn &&
	    (addr >> 12) - mmu->log.gfn < mmu->log.nr)
		group_expect(&g_dirty, level == 1 && log_bit(addr >> 12),
			     "writable logged leaf %#llx level %d not dirty",
			     (unsigned long long)addr, level);
	return false;
}

static void check_invariants(void)
{
	struct inv c = { { 0 }, 1 };
	struct pt_visitor vis = {
		.fmt = mmu->fmt, .start = 0, .end = 1ull << 48,
		.pre = inv_pre, .ctx = &c,
	};
	struct mmu_tdp_stats st;
	long log_pages = 0;
	int i, k;

	pt_visit(&vis, mmu->root, PT_LEVELS);
	mmu_tdp_get_stats(mmu, &st);
	if (mmu->log.dir)
		log_pages = 1 + (long)((mmu->log.nr + 32767) / 32768);
	group_expect(&g_count, !memcmp(c.leaves, st.mapped, sizeof(c.leaves)),
		     "leaves %llu/%llu/%llu counted %llu/%llu/%llu",
		     (unsigned long long)c.leaves[0],
		     (unsigned long long)c.leaves[1],
		     (unsigned long long)c.leaves[2],
		     (unsigned long long)st.mapped[0],
		     (unsigned long long)st.mapped[1],
		     (unsigned long long)st.mapped[2]);
	group_expect(&g_count, c.tables == mmu_tdp_nr_tables(mmu) &&
		     host_pages_outstanding() == (long)c.tables + log_pages,
		     "tables %llu, counter %llu, pages %ld, log %ld",
		     (unsigned long long)c.tables,
		     (unsigned long long)mmu_tdp_nr_tables(mmu),
		     host_pages_outstanding(), log_pages);
	if (zap_round)
		return;
	for (i = 0; i < NR_VCPUS; i++) {
		for (k = 0; k < vcpus[i].n; k++) {
			struct done_access *d = &vcpus[i].done[k];
			struct mmu_xlate x;
			unsigned int need = d->access & ~PT_W;

			group_expect(&g_lost,
				     !mmu_tdp_translate(mmu, d->gpa, &x) &&
				     (x.perm & need) == need,
				     "access %#llx %u lost (level %d perm %u)",
				     (unsigned long long)d->gpa, d->access,
				     x.level, x.perm);
		}
	}
}

static void run_stress(enum pt_format fmt, uint64_t seed)
{
	struct mmu_tdp_config cfg = {
		.fmt = fmt, .max_level = 3, .map = smap, .nr_map = NR_SMAP,
		.flush = hw_flush,
	};
	struct mmu_tdp_stats st;
	int i, round;

	mmu = calloc(1, sizeof(*mmu));
	if (mmu_tdp_init(mmu, &cfg))
		exit(1);
	epoch_init(&hw_epoch);
	written = calloc(SPACE / 4096 / 8, 1);
	harvested = calloc(SPACE / 4096 / 8, 1);
	ctl_rnd = seed ^ 0xc0ffee;
	stop = 0;
	nr_written = 0;
	pthread_barrier_init(&bar, NULL, NR_VCPUS + 1);
	for (i = 0; i < NR_VCPUS; i++) {
		vcpus[i].rnd = seed * (i + 7) + 1;
		pthread_create(&vcpus[i].thread, NULL, vcpu_main, &vcpus[i]);
	}
	for (round = 0; round < ROUNDS; round++) {
		zap_round = rnd_below(&ctl_rnd, 2);
		same_seq = rnd_below(&ctl_rnd, 2) ? rnd_next(&ctl_rnd) | 1 : 0;
		if (rnd_below(&ctl_rnd, 2))
			hot = G + (rnd_below(&ctl_rnd, 512) << 21);
		else
			hot = rnd_below(&ctl_rnd, 32) << 21;
		__atomic_store_n(&running, NR_VCPUS, __ATOMIC_RELEASE);
		pthread_barrier_wait(&bar);		/* start */
		for (i = 0; i < 10 || __atomic_load_n(&running,
						      __ATOMIC_ACQUIRE); i++)
			control_op();
		pthread_barrier_wait(&bar);		/* all stopped */
		check_invariants();
		if (stop_log && log_on)
			log_stop();	/* exact only with the vCPUs stopped */
		else if (log_on)
			log_check();
		stop_log = false;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_barrier_wait(&bar);
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(vcpus[i].thread, NULL);
	pthread_barrier_destroy(&bar);
	if (log_on)
		log_stop();

	mmu_tdp_get_stats(mmu, &st);
	printf("%s: %llu pages written while logging\n",
	       fmt == PT_FMT_EPT ? "ept" : "npt",
	       (unsigned long long)nr_written);
	printf("%s: faults %llu retries %llu spurious %llu fast %llu splits "
	       "%llu recovered %llu tables %llu/%llu flushes %llu\n",
	       fmt == PT_FMT_EPT ? "ept" : "npt",
	       (unsigned long long)st.faults, (unsigned long long)st.retries,
	       (unsigned long long)st.spurious,
	       (unsigned long long)st.fast_fixes,
	       (unsigned long long)st.splits,
	       (unsigned long long)st.recovered,
	       (unsigned long long)st.tables_alloc,
	       (unsigned long long)st.tables_freed,
	       (unsigned long long)st.flushes);
	check(st.fast_fixes > 0 && st.splits > 0 && st.recovered > 0 &&
	      nr_written > 0, fmt == PT_FMT_EPT ?
	      "ept stress exercised fast path, splits, recovery, logging" :
	      "npt stress exercised fast path, splits, recovery, logging", "-");
	mmu_tdp_destroy(mmu);
	mmu_tdp_get_stats(mmu, &st);
	check(st.tables_alloc == st.tables_freed && !host_pages_outstanding(),
	      fmt == PT_FMT_EPT ? "ept stress: allocation balances" :
	      "npt stress: allocation balances", "%llu/%llu, %ld pages",
	      (unsigned long long)st.tables_alloc,
	      (unsigned long long)st.tables_freed, host_pages_outstanding());
	free(mmu);
	free(written);
	free(harvested);
}

/* ---- part 2: recovery never shows the range unmapped ---- */

static uint64_t obs_total, obs_absent, obs_wrong;
static int obs_started;

static void *observer(void *arg)
{
	uint64_t s = 12345, span = *(uint64_t *)arg;

	__atomic_store_n(&obs_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		uint64_t gpa = G + rnd_below(&s, span);
		uint32_t slot = epoch_enter(&hw_epoch);
		struct pt_lookup l;

		hw_lookup(gpa, &l, s & 1);
		if (!l.level)
			obs_absent++;
		else if (l.pa != gpa + 7 * G)
			obs_wrong++;
		epoch_exit(&hw_epoch, slot);
		obs_total++;
	}
	return NULL;
}

static void run_recovery(enum pt_format fmt, int max_level, uint64_t seed)
{
	static const struct mmu_map_range rmap[] = {
		{ G, G, 8 * G, MMU_MAP_RAM, 0, 0 },
	};
	struct mmu_tdp_config cfg = {
		.fmt = fmt, .max_level = max_level, .map = rmap, .nr_map = 1,
		.flush = hw_flush,
	};
	uint64_t span = max_level == 3 ? G : 64 * M, s = seed;
	struct mmu_tdp_stats st;
	pthread_t t;
	char name[128];
	int i, k;

	mmu = calloc(1, sizeof(*mmu));
	if (mmu_tdp_init(mmu, &cfg))
		exit(1);
	epoch_init(&hw_epoch);
	mmu_tdp_prefault(mmu, G, span, PT_R | PT_W);
	obs_total = obs_absent = obs_wrong = 0;
	stop = 0;
	obs_started = 0;
	pthread_create(&t, NULL, observer, &span);
	while (!__atomic_load_n(&obs_started, __ATOMIC_ACQUIRE))
		sched_yield();
	for (i = 0; i < 60; i++) {
		uint64_t gpa = G + (rnd_below(&s, span / 4096) << 12);
		uint64_t size = (1 + rnd_below(&s, 2048)) << 12;
		uint64_t *bm;

		if (gpa + size > G + span)
			size = G + span - gpa;
		bm = calloc((size / 4096 + 63) / 64, 8);
		mmu_tdp_dirty_enable(mmu, gpa, size);
		for (k = 0; k < 64; k++)
			mmu_tdp_fault(mmu, gpa +
				      (rnd_below(&s, size / 4096) << 12), PT_W);
		mmu_tdp_dirty_get(mmu, gpa, size, bm);
		mmu_tdp_dirty_disable(mmu);
		free(bm);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	mmu_tdp_get_stats(mmu, &st);
	snprintf(name, sizeof(name), "%s %s recovery: reader never sees the "
		 "range unmapped", fmt == PT_FMT_EPT ? "ept" : "npt",
		 max_level == 3 ? "1G" : "2M");
	printf("%s: %llu reads, %llu absent, %llu wrong, %llu recovered\n",
	       name, (unsigned long long)obs_total,
	       (unsigned long long)obs_absent, (unsigned long long)obs_wrong,
	       (unsigned long long)st.recovered);
	check(obs_total > 0 && obs_absent == 0 && obs_wrong == 0 &&
	      st.recovered > 0, name, "%llu of %llu reads absent, %llu wrong",
	      (unsigned long long)obs_absent, (unsigned long long)obs_total,
	      (unsigned long long)obs_wrong);
	snprintf(name, sizeof(name), "%s %s recovery: all large again",
		 fmt == PT_FMT_EPT ? "ept" : "npt",
		 max_level == 3 ? "1G" : "2M");
	check(st.mapped[0] == 0 && st.mapped[max_level - 1] ==
	      span / pt_level_size(max_level), name, "4K %llu",
	      (unsigned long long)st.mapped[0]);
	mmu_tdp_destroy(mmu);
	check(!host_pages_outstanding(), "recovery test frees everything",
	      "%ld", host_pages_outstanding());
	free(mmu);
}

int main(void)
{
	uint64_t seed = test_seed(7);

	group_init(&g_hw, "hardware view: right frame, no extra permission");
	group_init(&g_leaf, "every leaf: right frame, permission, page size");
	group_init(&g_count, "leaf/table counters match, no page leaked");
	group_init(&g_lost, "no lost update in rounds without zaps");
	group_init(&g_dirty, "dirty log holds every page written while on");
	group_init(&g_fault, "fault results agree with the map");
	run_stress(PT_FMT_EPT, seed);
	run_stress(PT_FMT_NPT, seed + 1);
	group_report(&g_hw);
	group_report(&g_leaf);
	group_report(&g_count);
	group_report(&g_lost);
	group_report(&g_dirty);
	group_report(&g_fault);
	run_recovery(PT_FMT_EPT, 2, seed);
	run_recovery(PT_FMT_NPT, 3, seed);
	return check_finish();
}
