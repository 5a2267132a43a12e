/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The model machine of the shadow MMU tests: guest memory, guest control
 * registers, several address spaces, the "CPU" that walks umbra's shadow
 * tables, and the reference TLB (docs/mmu.md, part 2, "The proof").
 */
#ifndef UMBRA_TESTS_SHADOW_MODEL_H
#define UMBRA_TESTS_SHADOW_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/shadow/shadow.h"
#include "tests/host/shadow/check.h"
#include "tests/host/gmem.h"
#include "tests/host/host_env.h"

#define M_FRAMES	4096		/* 16 MiB of guest memory */
#define M_PFN_OFF	0x100000ull	/* host frame = guest frame + this */
#define M_NAS		3		/* address spaces */
#define M_NVA		48		/* tracked linear addresses */
#define M_TLB		24		/* allowed translations per address */

struct tlb_ent {
	uint64_t frame;
	unsigned int perm;
	bool global;
};

struct model {
	struct gmem mem;
	struct shadow_mmu *mmu;
	struct shadow_cpu cpu;
	uint64_t pdpte[4];
	uint64_t as_cr3[M_NAS];
	int cur_as;
	uint64_t va[M_NVA];
	struct tlb_ent tlb[M_NVA][M_TLB];
	int ntlb[M_NVA];
	uint64_t rnd;
	int next_frame;			/* frame allocator for tables */
	uint64_t tables[512];		/* frames holding guest tables */
	int ntables;
	bool oos;
	unsigned int pool;
	unsigned long steps, accesses, faults_via_mmu, stale_hits;
	struct check_group *inv, *acc, *cons;
};

#endif
