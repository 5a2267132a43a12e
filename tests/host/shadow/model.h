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
#define M_HW		8		/* hardware TLB entries per address */

struct tlb_ent {
	uint64_t frame;
	unsigned int perm;
	bool global;
};

/* What the hardware TLB caches from umbra's shadow tables. */
struct hw_ent {
	uint64_t pfn;
	unsigned int perm;
};

/* Events the generator aims at, counted by the model (not by the MMU). */
struct model_events {
	unsigned long unsync_global;	/* steps with a global unsync page */
	unsigned long invlpg_changed;	/* INVLPG of an address whose PTE
					   changed since its last flush */
	unsigned long pge_toggles, cr0_toggles, paging_off;
	unsigned long alias_stores;	/* PTE stores through a data alias */
	unsigned long stale_writes;	/* writes through a stale TLB entry */
	unsigned long hw_hits, hw_flushes, hw_faults, hw_flushes_one;
	unsigned long dirty_on, harvests, logged_writes, fast_fixes;
	unsigned long switches, kicks, remote_flushes;	/* several vCPUs */
};

/* The dirty log as the guest's writes define it (issue 18). */
struct model_log {
	bool on;
	uint64_t gfn, nr;		/* logged frames [gfn, gfn + nr) */
	uint8_t written[M_FRAMES];	/* since the last harvest */
	uint64_t bitmap[M_FRAMES / 64];
};

/*
 * One vCPU of the model machine: its control registers and address space,
 * its reference TLB (what the architecture lets its TLB hold), its
 * hardware TLB, and whether it is in guest mode (a kick takes it out; it
 * enters again, vm_entry(), before it runs).
 */
struct model_cpu {
	struct shadow_vcpu *vc;
	struct shadow_cpu cpu;
	uint64_t pdpte[4];
	int cur_as;
	struct tlb_ent tlb[M_NVA][M_TLB];
	int ntlb[M_NVA];
	/* The hardware TLB: one tag (umbra runs the guest under one ASID or
	 * VPID without PCID), flushed whole by the flush umbra requests and
	 * by a new root (arch/x86/paging/shadow.c). */
	struct hw_ent hw[M_NVA][M_HW];
	int nhw[M_NVA];
	uint64_t hw_root;
	bool in_guest;
};

#define M_NCPU		3		/* vCPUs, at most */

struct model {
	struct gmem mem;
	struct shadow_mmu *mmu;
	struct model_cpu cpus[M_NCPU];
	int ncpu;
	struct model_cpu *c;		/* the vCPU that runs this step */
	uint64_t as_cr3[M_NAS];
	uint64_t va[M_NVA];
	bool ref_stale;			/* guest memory changed since observe() */
	bool pte_changed[M_NVA];	/* since the last flush of that address */
	struct model_events ev;
	struct model_log log;
	unsigned long dbg_steps;	/* DBG_STEPS=N: name step kinds from N */
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
