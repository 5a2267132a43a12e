// SPDX-License-Identifier: BSD-2-Clause
/*
 * Shadow MMU benchmark (figures only): a page-table churn workload in the
 * shape of fork/exit -- the guest rewrites every PTE of a leaf table
 * through a mapping of that table, switches CR3, and touches every page --
 * run with OOS on and off; reports #PF exits and emulated PTE writes per
 * round and the time per round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "mmu/shadow.h"
#include "tests/host/gmem.h"

static struct gmem mem;
static struct shadow_mmu *mmu;
static unsigned long exits, emulated;

static int64_t to_pfn(void *arg, uint64_t gfn)
{
	return gfn < 2048 ? (int64_t)gfn + 0x100000 : -1;
}

static void pte(uint64_t t, unsigned int i, uint64_t v)
{
	gmem_put(&mem, t * 4096 + 8 * i, 8, v);
}

/* A supervisor access through the shadow tables; stores v on a write. */
static void touch(uint64_t va, bool write, uint64_t v)
{
	for (;;) {
		uint64_t *t = mmu_phys_to_virt(shadow_root_hpa(mmu)), e = 0;
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
				gmem_put(&mem, ((e & PT_ADDR_MASK) - 0x100000000ull)
					 | (va & 0xfff), 8, v);
			return;
		}
		exits++;
		switch (shadow_page_fault(mmu, va, (write ? PFERR_W : 0) |
					  (ok ? PFERR_P : 0), false, &f)) {
		case SHADOW_FIXED:
			continue;
		case SHADOW_EMULATE:
			emulated++;
			gmem_put(&mem, f.gpa, 8, v);
			shadow_emulated_write(mmu, f.gpa, &v, 8);
			return;
		default:
			return;
		}
	}
}

static void bench(bool oos, int rounds)
{
	struct shadow_config cfg = {
		.max_pages = 256, .oos = oos, .maxphyaddr = 36,
		.gfn_to_pfn = to_pfn, .mem = &gmem_ops, .mem_arg = &mem,
	};
	struct shadow_cpu cpu = {
		.cr0 = (1ull << 31) | (1 << 16) | 1, .cr4 = 1 << 5,
		.efer = (1 << 10) | (1 << 8) | (1 << 11), .cr3 = 0x1000,
	};
	struct timespec a, b;
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
	shadow_init(&mmu, &cfg, &cpu);
	exits = emulated = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (r = 0; r < rounds; r++) {
		/* "fork": write-protect every PTE (COW), new address space */
		for (i = 0; i < 511; i++)
			touch(0x1ff000 + 8 * i, true,
			      ((uint64_t)(512 + (i + r) % 1024) << 12) | 0x65);
		shadow_load_cr3(mmu, r & 1 ? 0x1000 : 0x9000, NULL);
		/* touch every page, then "break COW" on a quarter */
		for (i = 0; i < 511; i++)
			touch((uint64_t)i << 12, false, 0);
		for (i = 0; i < 511; i += 4)
			touch(0x1ff000 + 8 * i,  true,
			      ((uint64_t)(512 + i) << 12) | 0x67);
		shadow_invlpg(mmu, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("churn, OOS %-3s: %7.1f #PF exits/round, %7.1f emulated PTE "
	       "writes/round, %8.1f us/round\n", oos ? "on" : "off",
	       (double)exits / rounds, (double)emulated / rounds,
	       ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) /
	       1e3 / rounds);
	shadow_destroy(mmu);
}

int main(void)
{
	mem.size = 2048 * 4096;
	mem.bytes = calloc(1, mem.size);
	bench(false, 200);
	bench(true, 200);
	free(mem.bytes);
	return 0;
}
