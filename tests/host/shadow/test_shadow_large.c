// SPDX-License-Identifier: BSD-2-Clause
/*
 * 2 MiB shadow leaves (docs/mmu.md, part 2, "Large SPTEs"), on hand-built
 * guests: a guest 2 MiB page gets one 2 MiB SPTE with the guest's
 * permissions (read-only until the guest's D is set, no W where the guest
 * has none, NX); a page table placed inside the range splits it (the
 * table's frame is then write-protected) and its removal recovers it; dirty
 * logging maps the range at 4 KiB, logs every write, and its stop recovers
 * the 2 MiB leaf; a 32-bit guest's 4 MiB page is two 2 MiB halves; no
 * large leaf where the environment says the range is not plain RAM.  Then
 * threads: a second vCPU walks the shadow tables as hardware does while
 * the first recovers the range again and again (seed 001: it must never
 * find the range unmapped during a recovery).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "tests/host/shadow/model.h"

#define OFF	0x100000ull	/* host frame of guest frame 0 (2 MiB aligned) */
#define FRAMES	4096		/* 16 MiB of guest memory */
#define MB	(1ull << 20)
#define CR0_PG	(1ull << 31)
#define CR0_PE	1ull
#define CR0_WP	(1ull << 16)
#define T_EFER_LME	(1ull << 8)	/* SDM Vol 3 2.2.1 */

static struct gmem mem;
static struct shadow_mmu *mmu;
static struct shadow_vcpu *vc, *vc2;
static uint64_t no_large_gfn = ~0ull;	/* a region large_ok refuses */

static int64_t to_pfn(void *arg, uint64_t gfn)
{
	return gfn < FRAMES ? (int64_t)(gfn + OFF) : -1;
}

static bool large_ok(void *arg, uint64_t gfn, uint64_t n)
{
	return gfn + n <= FRAMES &&
	       !(no_large_gfn >= gfn && no_large_gfn < gfn + n);
}

static void put(uint64_t gpa, unsigned int size, uint64_t v)
{
	gmem_put(&mem, gpa, size, v);
}

struct xl {
	long pfn;		/* guest frame, or -1 */
	int level;		/* of the leaf */
	bool w, u, nx;
};

/* What the shadow tables of v give for va. */
static struct xl xlate(struct shadow_vcpu *v, uint64_t va)
{
	uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(v)), e = 0;
	struct xl x = { -1, 0, false, false, false };
	bool w = true, u = true;
	int level = shadow_root_level(v);

	if (level == 3) {
		e = __atomic_load_n(&t[(va >> 30) & 3], __ATOMIC_ACQUIRE);
		if (!(e & PTE_P))
			return x;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
		level = 2;
	}
	for (; level >= 1; level--) {
		e = __atomic_load_n(&t[pt_index(va, level)], __ATOMIC_ACQUIRE);
		if (!(e & PTE_P))
			return x;
		w &= !!(e & PTE_RW);
		u &= !!(e & PTE_US);
		x.nx |= !!(e & PTE_NX);
		if (level == 1 || (e & PTE_PS))
			break;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
	}
	x.level = level;
	x.w = w;
	x.u = u;
	x.pfn = (long)(((e & PT_ADDR_MASK & ~((1ull << (12 + 9 * (level - 1)))
					      - 1)) >> 12) - OFF) +
		(long)((va >> 12) & ((1ull << (9 * (level - 1))) - 1));
	return x;
}

/* An access as the CPU makes it: the fault handled until it is done. */
static int touch_va(uint64_t va, uint32_t acc)
{
	int tries;

	for (tries = 0; tries < 4; tries++) {
		struct shadow_fault f;
		struct xl x = xlate(vc, va);
		enum shadow_fault_result r;

		if (x.pfn >= 0 && (!(acc & PFERR_W) || x.w) &&
		    (!(acc & PFERR_U) || x.u) && (!(acc & PFERR_ID) || !x.nx))
			return 0;
		r = shadow_page_fault(vc, va, acc | (x.pfn >= 0 ? PFERR_P : 0),
				      false, &f);
		if (r != SHADOW_FIXED)
			return (int)r + 100;
	}
	return -1;
}

static struct shadow_stats stats(void)
{
	struct shadow_stats st;

	shadow_get_stats(mmu, &st);
	return st;
}

static void consistent(const char *name)
{
	char buf[200];
	int r = shadow_check(mmu, buf, sizeof(buf));

	check(!r, name, "%s", buf);
}

static void kick(void *arg);

static void setup(enum gw_mode md, bool two)
{
	struct shadow_config cfg = {
		.max_pages = 256, .oos = false, .maxphyaddr = 36,
		.gfn_to_pfn = to_pfn, .large_ok = large_ok, .mem = &gmem_ops,
		.mem_arg = &mem, .kick = kick,
	};
	struct shadow_cpu cpu = { CR0_PG | CR0_PE | CR0_WP, 1 << 12,
				  GW_CR4_PAE, GW_EFER_NXE | GW_EFER_LMA |
				  T_EFER_LME };

	if (md == GW_MODE_32)
		cpu = (struct shadow_cpu){ CR0_PG | CR0_PE | CR0_WP, 1 << 12,
					   GW_CR4_PSE, 0 };
	memset(mem.bytes, 0, mem.size);
	check(!shadow_init(&mmu, &cfg) &&
	      !shadow_vcpu_add(mmu, &cpu, NULL, &vc) &&
	      (!two || !shadow_vcpu_add(mmu, &cpu, (void *)1, &vc2)),
	      "set-up", "shadow_init / shadow_vcpu_add failed");
}

static void teardown(const char *name)
{
	long leaked = shadow_destroy(mmu);

	check(!leaked, name, "%ld pages leaked", leaked);
}

/*
 * 4-level guest: PML4 frame 1, PDPT 2, PD 3.  PD[1] 2 MiB at 2 MiB (RW,
 * US, not dirty), PD[2] at 4 MiB read-only, PD[3] at 6 MiB NX, PD[5] at
 * 10 MiB supervisor-only.
 */
static void four_level(void)
{
	const uint64_t L = PTE_P | PTE_A | PTE_PS, T = PTE_P | PTE_RW |
			   PTE_US | PTE_A;
	struct xl x;
	uint64_t bm[8];
	int r;

	setup(GW_MODE_LM, false);
	put(1 * 4096, 8, (2 << 12) | T);
	put(2 * 4096, 8, (3 << 12) | T);
	put(3 * 4096 + 8, 8, (2 * MB) | L | PTE_RW | PTE_US);
	put(3 * 4096 + 16, 8, (4 * MB) | L | PTE_US | PTE_D);
	put(3 * 4096 + 24, 8, (6 * MB) | L | PTE_RW | PTE_D | PTE_NX);
	put(3 * 4096 + 40, 8, (10 * MB) | L | PTE_RW | PTE_D);

	r = touch_va(2 * MB + 0x5000, 0);
	x = xlate(vc, 2 * MB + 0x5000);
	check(!r && x.level == 2 && x.pfn == 512 + 5 && !x.w && x.u &&
	      stats().large_mapped == 1, "a read of a guest 2 MiB page maps "
	      "it with a 2 MiB SPTE, read-only while the guest's D is clear",
	      "r %d level %d pfn %ld w %d", r, x.level, x.pfn, x.w);
	r = touch_va(2 * MB + 0x1ff000, PFERR_W);
	x = xlate(vc, 2 * MB + 0x1ff000);
	check(!r && x.level == 2 && x.pfn == 1023 && x.w &&
	      (gmem_get(&mem, 3 * 4096 + 8, 8) & PTE_D),
	      "the first write sets the guest's D and makes it writable",
	      "r %d level %d w %d", r, x.level, x.w);
	r = touch_va(4 * MB + 0x3000, PFERR_W);
	x = xlate(vc, 4 * MB);
	check(r == SHADOW_INJECT + 100 && !touch_va(4 * MB, 0) &&
	      xlate(vc, 4 * MB).level == 2 && !xlate(vc, 4 * MB).w,
	      "a write to a read-only guest large page faults; its 2 MiB "
	      "SPTE has no W", "r %d", r);
	r = touch_va(6 * MB, PFERR_ID);
	check(r == SHADOW_INJECT + 100 && !touch_va(6 * MB, 0) &&
	      xlate(vc, 6 * MB).level == 2 && xlate(vc, 6 * MB).nx,
	      "a fetch from an NX guest large page faults; its SPTE has NX",
	      "r %d", r);
	r = touch_va(10 * MB, PFERR_U);
	check(r == SHADOW_INJECT + 100 && !touch_va(10 * MB, 0) &&
	      !xlate(vc, 10 * MB).u, "a user read of a supervisor large "
	      "page faults; its SPTE has no U", "r %d", r);
	consistent("4-level: consistent after large mappings");

	/* frame 519 (inside the 2 MiB page at 2 MiB) becomes a page table */
	put(519 * 4096, 8, (20ull << 12) | PTE_P | PTE_RW | PTE_A | PTE_D);
	put(3 * 4096 + 32, 8, (519ull << 12) | T);
	r = touch_va(8 * MB, PFERR_W);
	x = xlate(vc, 2 * MB + 0x5000);
	check(!r && x.pfn < 0 && stats().large_zapped == 1,
	      "shadowing a table inside a 2 MiB SPTE's range drops it",
	      "r %d pfn %ld zapped %lu", r, x.pfn,
	      (unsigned long)stats().large_zapped);
	r = touch_va(2 * MB + 0x5000, PFERR_W);
	x = xlate(vc, 2 * MB + 0x5000);
	check(!r && x.level == 1 && x.pfn == 517 && x.w,
	      "the range refaults at 4 KiB", "r %d level %d", r, x.level);
	r = touch_va(2 * MB + 0x7000, PFERR_W);
	x = xlate(vc, 2 * MB + 0x7000);
	check(r == SHADOW_EMULATE + 100 && (x.pfn < 0 || !x.w),
	      "a write to the table's frame through the guest large page "
	      "is emulated (the frame is write-protected)", "r %d", r);
	consistent("4-level: consistent with a table inside a large page");

	/* the guest stops using it as a table: unshadowed, recovered */
	put(3 * 4096 + 32, 8, 0);
	shadow_emulated_write(vc, 3 * 4096 + 32, NULL, 8);
	shadow_unprotect_gfn(vc, 519);
	x = xlate(vc, 2 * MB + 0x5000);
	check(x.level == 2 && x.pfn == 517 && x.w &&
	      stats().large_recovered == 1, "once the table is unshadowed "
	      "the 2 MiB SPTE is recovered in place of the 4 KiB table",
	      "level %d pfn %ld recovered %lu", x.level, x.pfn,
	      (unsigned long)stats().large_recovered);
	consistent("4-level: consistent after recovery");

	/* dirty logging over the 2 MiB page */
	check(!shadow_dirty_enable(mmu, 2 * MB, 2 * MB) &&
	      xlate(vc, 2 * MB).pfn < 0, "dirty logging drops the 2 MiB SPTE "
	      "of a logged range", "level %d", xlate(vc, 2 * MB).level);
	r = touch_va(2 * MB + 0x3000, PFERR_W) |
	    touch_va(2 * MB + 0x1f0000, PFERR_W) | touch_va(2 * MB + 0x9000, 0);
	x = xlate(vc, 2 * MB + 0x3000);
	memset(bm, 0, sizeof(bm));
	{
		long n = shadow_dirty_get(mmu, 2 * MB, 0x10000, bm);

		check(!r && x.level == 1 && n == 1 && bm[0] == 1ull << 3,
		      "while logging the range is mapped at 4 KiB and a write "
		      "is logged", "r %d level %d n %ld bm %lx", r, x.level, n,
		      (unsigned long)bm[0]);
	}
	consistent("4-level: consistent while logging");
	shadow_dirty_disable(mmu);
	x = xlate(vc, 2 * MB + 0x3000);
	check(x.level == 2 && x.w && x.pfn == 515 &&
	      stats().large_recovered == 2, "stopping the log recovers the "
	      "2 MiB SPTE", "level %d recovered %lu", x.level,
	      (unsigned long)stats().large_recovered);
	consistent("4-level: consistent after the log stopped");

	/* a region the environment refuses (an MMIO or scratch frame) */
	put(3 * 4096 + 48, 8, (12 * MB) | L | PTE_RW | PTE_D);
	no_large_gfn = 12 * MB / 4096 + 300;
	r = touch_va(12 * MB + 0x2000, 0);
	check(!r && xlate(vc, 12 * MB + 0x2000).level == 1,
	      "no 2 MiB SPTE over a range large_ok() refuses", "r %d", r);
	no_large_gfn = ~0ull;
	/* the guest's PD inside a large page's range: no large SPTE there */
	put(3 * 4096 + 0, 8, (0ull) | L | PTE_RW | PTE_D);
	r = touch_va(0x4000, 0);
	check(!r && xlate(vc, 0x4000).level == 1, "no 2 MiB SPTE over a "
	      "range that holds the guest's own tables", "r %d", r);
	consistent("4-level: consistent at the end");
	teardown("4-level: no leak");
}

/* 32-bit guest, CR4.PSE: a 4 MiB page is two 2 MiB shadow leaves. */
static void thirty_two(void)
{
	struct xl a, b;
	int r;

	setup(GW_MODE_32, false);
	put(1 * 4096 + 4 * 2, 4, (uint32_t)((8 * MB) | PTE_P | PTE_RW |
					    PTE_US | PTE_A | PTE_D | PTE_PS));
	r = touch_va(8 * MB + 0x1000, PFERR_W) |
	    touch_va(8 * MB + 3 * MB, PFERR_W);
	a = xlate(vc, 8 * MB + 0x1000);
	b = xlate(vc, 8 * MB + 3 * MB);
	check(!r && a.level == 2 && b.level == 2 && a.pfn == 2049 &&
	      b.pfn == 2048 + 768 && a.w && b.w, "32-bit: a 4 MiB page is "
	      "mapped by two 2 MiB SPTEs", "r %d levels %d %d pfns %ld %ld",
	      r, a.level, b.level, a.pfn, b.pfn);
	consistent("32-bit: consistent");
	teardown("32-bit: no leak");
}

/* ---- threads: recovery while another vCPU walks (seed 001) ---- */

#define ROUNDS	600
static int stop, recovering;
static unsigned long walks, holes, gen;

/* The second vCPU's hardware: walk its root to the range, again and
 * again; during a recovery the range must stay mapped. */
static void *walker(void *arg)
{
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int rec;
		struct xl x;

		__atomic_fetch_add(&gen, 1, __ATOMIC_SEQ_CST);	/* odd: in */
		rec = __atomic_load_n(&recovering, __ATOMIC_SEQ_CST);
		x = xlate(vc2, 2 * MB + 0x5000);
		if (rec && __atomic_load_n(&recovering, __ATOMIC_SEQ_CST)) {
			walks++;
			if (x.pfn != 517)
				holes++;
		}
		__atomic_fetch_add(&gen, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* cfg.kick: return once the walker finished the walk it is in (as an
 * IPI waits for the CPU to leave guest mode). */
static void kick(void *arg)
{
	unsigned long g = __atomic_load_n(&gen, __ATOMIC_SEQ_CST);

	if (arg && (g & 1))
		while (__atomic_load_n(&gen, __ATOMIC_SEQ_CST) == g)
			;
}

static void threads(void)
{
	const uint64_t T = PTE_P | PTE_RW | PTE_US | PTE_A;
	pthread_t th;
	int round, bad = 0;

	setup(GW_MODE_LM, true);
	put(1 * 4096, 8, (2 << 12) | T);
	put(2 * 4096, 8, (3 << 12) | T);
	put(3 * 4096 + 8, 8, (2 * MB) | T | PTE_PS | PTE_D);
	/* vCPU 2 walks the same shadow tables */
	{
		struct shadow_fault f;

		shadow_page_fault(vc2, 2 * MB + 0x5000, 0, false, &f);
	}
	pthread_create(&th, NULL, walker, NULL);
	for (round = 0; round < ROUNDS; round++) {
		bad |= shadow_dirty_enable(mmu, 2 * MB, 2 * MB);
		bad |= touch_va(2 * MB + 0x5000, 0);
		/* every 4 KiB mapped: a recovery that zapped the table
		 * first would leave the range unmapped for 512 drops */
		for (unsigned int k = 0; k < 512; k++)
			bad |= touch_va(2 * MB + k * 0x1000,
					k % 8 ? 0 : PFERR_W);
		__atomic_store_n(&recovering, 1, __ATOMIC_SEQ_CST);
		shadow_dirty_disable(mmu);
		__atomic_store_n(&recovering, 0, __ATOMIC_SEQ_CST);
		bad |= xlate(vc, 2 * MB).level != 2;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	check(!bad && stats().large_recovered >= ROUNDS, "threads: 600 rounds of "
	      "logging and recovery, each ending in a 2 MiB SPTE", "bad %d "
	      "recovered %lu", bad, (unsigned long)stats().large_recovered);
	check(!holes, "threads: a vCPU walking the range during recovery "
	      "never finds it unmapped (install before free)",
	      "%lu of %lu walks found no mapping", holes, walks);
	printf("info: %lu walks during recovery, %lu holes\n", walks, holes);
	consistent("threads: consistent");
	teardown("threads: no leak");
}

int main(void)
{
	test_seed(1);
	mem.size = FRAMES * 4096ull;
	mem.bytes = calloc(1, mem.size);
	four_level();
	thirty_two();
	threads();
	free(mem.bytes);
	return check_finish();
}
