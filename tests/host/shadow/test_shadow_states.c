// SPDX-License-Identifier: BSD-2-Clause
/*
 * The state transitions of docs/mmu.md, part 2, one at a time, on a small
 * hand-built 4-level guest: synced and protected, unsync on a write fault,
 * stale until INVLPG / CR3 load, global pages passing a CR3 load and synced
 * on a CR4.PGE toggle, non-leaf tables emulated, flooding, a frame
 * unprotected and a write let through for one step, the root cache,
 * teardown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "tests/host/shadow/model.h"

#define OFF	0x100000ull
#define PGE	(1ull << 7)

static struct gmem mem;
static struct shadow_mmu *mmu;
static struct shadow_vcpu *vc;
static struct shadow_cpu cpu;

static int64_t to_pfn(void *arg, uint64_t gfn)
{
	return gfn < 1024 ? (int64_t)(gfn + OFF) : -1;
}

static void pte(uint64_t table, unsigned int i, uint64_t v)
{
	gmem_put(&mem, table * 4096 + 8 * i, 8, v);
}

static uint64_t E(uint64_t frame, uint64_t flags)
{
	return (frame << 12) | PTE_P | PTE_A | flags;
}

/* Shadow translation of va: pfn - OFF, or -1; *w: writable. */
static long xlate(uint64_t va, bool *w)
{
	uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(vc)), e = 0;
	int level;

	*w = true;
	level = shadow_root_level(vc);
	if (level == 3) {
		e = t[(va >> 30) & 3];
		if (!(e & PTE_P))
			return -1;
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
		level = 2;
	}
	for (; level >= 1; level--) {
		e = t[pt_index(va, level)];
		if (!(e & PTE_P))
			return -1;
		*w &= !!(e & PTE_RW);
		t = mmu_phys_to_virt(e & PT_ADDR_MASK);
	}
	return (long)(((e & PT_ADDR_MASK) >> 12) - OFF);
}

/* A supervisor access: 0 done, else the fault result that stopped it. */
static int access(uint64_t va, bool write)
{
	int tries;

	for (tries = 0; tries < 4; tries++) {
		struct shadow_fault f;
		bool w;
		long fr = xlate(va, &w);
		enum shadow_fault_result r;

		if (fr >= 0 && (!write || w))
			return 0;
		r = shadow_page_fault(vc, va, (write ? PFERR_W : 0) |
				      (fr >= 0 ? PFERR_P : 0), false, &f);
		if (r != SHADOW_FIXED)
			return (int)r;
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

int main(void)
{
	struct shadow_config cfg = {
		.max_pages = 64, .oos = true, .maxphyaddr = 36,
		.gfn_to_pfn = to_pfn, .mem = &gmem_ops, .mem_arg = &mem,
	};
	const uint64_t RW = PTE_RW | PTE_D;
	uint64_t v;
	bool w;
	int i;

	test_seed(1);
	mem.size = 1024 * 4096;
	mem.bytes = calloc(1, mem.size);
	/* PML4 1 (and 6), PDPT 2, PD 3, PT 4 (user), PT 5 (global) */
	pte(1, 0, E(2, PTE_RW | PTE_US));
	pte(6, 0, E(2, PTE_RW | PTE_US));
	pte(2, 0, E(3, PTE_RW | PTE_US));
	pte(3, 0, E(4, PTE_RW | PTE_US));
	pte(3, 1, E(5, PTE_RW | PTE_US));
	for (i = 0; i < 8; i++) {
		pte(4, i, E(100 + i, RW | PTE_US));
		pte(5, i, E(200 + i, RW | PTE_G));
	}
	pte(4, 16, E(4, RW));		/* the PT as data at 0x10000 */
	pte(4, 17, E(5, RW));		/* the global PT at 0x11000 */
	pte(4, 18, E(3, RW));		/* the PD at 0x12000 */
	cpu.cr0 = GW_CR0_PG | GW_CR0_WP | 1;
	cpu.cr4 = GW_CR4_PAE | PGE;
	cpu.efer = GW_EFER_LMA | GW_EFER_NXE | (1 << 8);
	cpu.cr3 = 0x1000;
	check(!shadow_init(&mmu, &cfg) &&
	      !shadow_vcpu_add(mmu, &cpu, NULL, &vc), "init", "failed");
	shadow_load_cr3(vc, cpu.cr3, NULL);

	check(!access(0x1000, false) && xlate(0x1000, &w) == 101,
	      "fault maps a page (synced pages created)", "no");
	check(stats().pages >= 4, "one shadow page per level", "%lu",
	      (unsigned long)stats().pages);
	check(!access(0x10000, false) && xlate(0x10000, &w) == 4 && !w,
	      "synced: the table's frame is mapped read-only", "w=%d", w);
	check(!access(0x10000, true) && xlate(0x10000, &w) == 4 && w &&
	      stats().unsync == 1, "write fault on a leaf table: unsync, "
	      "frame writable", "unsync %lu", (unsigned long)stats().unsync);
	consistent("unsync: bookkeeping consistent");

	pte(4, 1, E(150, RW | PTE_US));		/* no exit: unsync */
	check(xlate(0x1000, &w) == 101, "unsync: stale until a sync point",
	      "%ld", xlate(0x1000, &w));
	shadow_invlpg(vc, 0x1000);
	check(xlate(0x1000, &w) == 150 && stats().unsync == 1,
	      "INVLPG: exactly that SPTE refreshed, page stays unsync",
	      "%ld", xlate(0x1000, &w));
	pte(4, 2, E(160, RW | PTE_US));
	access(0x2000, false);
	pte(4, 2, E(170, RW | PTE_US));
	shadow_load_cr3(vc, cpu.cr3, NULL);
	check(stats().unsync == 0 && xlate(0x2000, &w) == 170 &&
	      xlate(0x10000, &w) == 4 && !w, "CR3 load: synced and "
	      "protected again", "unsync %lu, %ld",
	      (unsigned long)stats().unsync, xlate(0x2000, &w));

	for (i = 0; i < 4; i++)
		access(0x200000 + 4096 * i, false);
	check(!access(0x11000, true) && stats().unsync == 1 &&
	      stats().global == 1, "global leaf table goes unsync",
	      "unsync %lu global %lu", (unsigned long)stats().unsync,
	      (unsigned long)stats().global);
	pte(5, 0, E(250, RW | PTE_G));
	shadow_load_cr3(vc, 0x6000, NULL);
	shadow_load_cr3(vc, 0x1000, NULL);
	check(stats().unsync == 1 && xlate(0x200000, &w) == 200,
	      "CR3 loads pass over a global unsync page (TLB keeps it)",
	      "unsync %lu, %ld", (unsigned long)stats().unsync,
	      xlate(0x200000, &w));
	shadow_invlpg(vc, 0x3000);		/* not in its 2 MiB anywhere */
	shadow_load_cr3(vc, 0x6000, NULL);
	shadow_load_cr3(vc, 0x1000, NULL);
	check(stats().unsync == 1 && xlate(0x200000, &w) == 200,
	      "an INVLPG outside every 2 MiB a global unsync page is linked "
	      "at leaves its CR3 pass", "unsync %lu, %ld",
	      (unsigned long)stats().unsync, xlate(0x200000, &w));
	shadow_invlpg(vc, 0x205000);	/* may be meant for it elsewhere */
	shadow_load_cr3(vc, 0x6000, NULL);
	shadow_load_cr3(vc, 0x1000, NULL);
	check(stats().unsync == 0 && xlate(0x200000, &w) == 250,
	      "an INVLPG takes the CR3 pass from global unsync pages (gstale)",
	      "unsync %lu, %ld", (unsigned long)stats().unsync,
	      xlate(0x200000, &w));
	access(0x11000, true);			/* unsync again */
	pte(5, 3, E(253, RW | PTE_G));
	cpu.cr4 &= ~PGE;
	shadow_set_cr(vc, cpu.cr0, cpu.cr4, cpu.efer, NULL);
	check(stats().unsync == 0 && xlate(0x203000, &w) == 253,
	      "CR4.PGE toggle syncs global pages", "unsync %lu, %ld",
	      (unsigned long)stats().unsync, xlate(0x203000, &w));
	cpu.cr4 |= PGE;
	shadow_set_cr(vc, cpu.cr0, cpu.cr4, cpu.efer, NULL);

	/* INVLPG flushes one address, unless it syncs a global page (whose
	 * frame is write-protected again: every address) */
	shadow_flush_pending(vc);
	shadow_invlpg(vc, 0x1000);
	check(!shadow_flush_pending(vc) && shadow_flush_va_pending(vc, &v) &&
	      v == 0x1000 && !shadow_flush_va_pending(vc, &v),
	      "INVLPG: the hardware TLB drops that address only", "no");
	for (i = 0; i < 8; i++)
		shadow_invlpg(vc, 0x200000 + 4096 * i);
	access(0x11000, true);
	pte(5, 1, E(251, RW));			/* no longer global */
	shadow_flush_pending(vc);
	shadow_flush_va_pending(vc, &v);
	check(stats().global == 1 && xlate(0x11000, &w) == 5 && w,
	      "global page unsync again", "global %lu",
	      (unsigned long)stats().global);
	shadow_invlpg(vc, 0x201000);
	check(shadow_flush_pending(vc) && stats().unsync == 0 &&
	      xlate(0x11000, &w) == 5 && !w, "INVLPG that syncs a global "
	      "page protects its frame and flushes the whole TLB", "no");

	access(0x1000, false);
	check(access(0x12000, true) == SHADOW_EMULATE,
	      "write to a non-leaf table: emulated, not unsync", "no");
	v = E(4, PTE_RW | PTE_US);
	gmem_put(&mem, 3 * 4096, 8, v);
	shadow_emulated_write(vc, 3 * 4096, &v, 8);
	check(stats().mmu_pte_write >= 1, "emulated write counted", "no");
	consistent("after emulated write: consistent");
	for (i = 0; i < 4; i++) {
		gmem_put(&mem, 3 * 4096 + 8 * 100, 8, 0);
		shadow_emulated_write(vc, 3 * 4096 + 8 * 100, &v, 8);
	}
	check(stats().mmu_flooded >= 1, "flooded table unprotected (zapped)",
	      "floods %lu", (unsigned long)stats().mmu_flooded);
	check(stats().mmu_shadow_zapped >= 1, "... by zapping its shadow",
	      "none zapped");
	consistent("after flood: consistent");

	/* a write umbra does not emulate: unprotect, or one write let through */
	access(0x1000, false);
	check(access(0x12000, true) == SHADOW_EMULATE,
	      "the page directory is protected again once used", "no");
	check(shadow_unprotect_gfn(vc, 3) >= 1 && xlate(0x1000, &w) == -1,
	      "unprotect: the frame's shadow pages are zapped (nothing "
	      "translates through it)", "no");
	consistent("after unprotect: consistent");
	check(access(0x12000, true) == SHADOW_EMULATE,
	      "a frame on the write's own walk is shadowed again at once",
	      "no");
	check(access(0x12000, false) == 0 &&
	      !shadow_allow_write(vc, 0x12000, false) &&
	      xlate(0x12000, &w) == 3 && w,
	      "allow write: the leaf is writable for the step", "w=%d", w);
	check(shadow_allow_write(vc, 0x7f000000, false) == -1,
	      "allow write: no present leaf, nothing done", "no");
	v = E(4, PTE_RW | PTE_US);
	gmem_put(&mem, 3 * 4096 + 8 * 7, 8, v);	/* the stepped write */
	check(shadow_unprotect_gfn(vc, 3) >= 1, "after the step: zapped",
	      "no");
	access(0x1000, false);
	check(!access(0x12000, false) && xlate(0x12000, &w) == 3 && !w,
	      "after the step: shadowed and write-protected again", "w=%d",
	      w);
	consistent("after the step: consistent");

	{
		uint64_t hits = stats().root_hits;

		shadow_load_cr3(vc, 0x1000, NULL);
		shadow_load_cr3(vc, 0x6000, NULL);
		shadow_load_cr3(vc, 0x1000, NULL);
		check(stats().root_hits >= hits + 2, "root cache reuses roots "
		      "on CR3 switches", "hits %lu",
		      (unsigned long)(stats().root_hits - hits));
	}
	cpu.cr0 &= ~GW_CR0_PG;
	cpu.efer &= ~GW_EFER_LMA;
	shadow_set_cr(vc, cpu.cr0, cpu.cr4, cpu.efer, NULL);
	check(shadow_root_level(vc) == 3 && !access(0x5000, true) &&
	      xlate(0x5000, &w) == 5, "paging off: a direct PAE root",
	      "level %d", shadow_root_level(vc));
	consistent("paging off: consistent");
	check(shadow_destroy(mmu) == 0 && host_pages_outstanding() == 0,
	      "teardown frees every page", "%ld pages left",
	      host_pages_outstanding());
	free(mem.bytes);
	return check_finish();
}
