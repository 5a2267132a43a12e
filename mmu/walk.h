/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest page-table walker: translates a guest linear address through the
 * guest's own tables in whatever mode the guest is in (SDM Vol 3 chapter 4):
 * paging off, 32-bit (4 MiB pages with CR4.PSE, PSE-36), PAE, 4-level
 * (2 MiB and 1 GiB pages).  It returns the guest-physical address or the
 * exact #PF error code, and sets accessed/dirty bits as the processor does:
 * top level first, D with A in the leaf on a write, only when the whole access
 * is allowed, each with a compare-and-exchange; if a guest entry changes under
 * it the walk starts again (SDM Vol 3 4.8).
 *
 * Protection keys (SDM Vol 3 4.6.2, APM Vol 2 5.6.7): in 4-level paging a
 * data access to a user page is checked against PKRU when CR4.PKE is set,
 * one to a supervisor page against IA32_PKRS when CR4.PKS is set (the
 * caller gives both registers in gw_ctx); a denial is a #PF with PK.
 *
 * Not handled here (the caller's business): canonical checks (#GP),
 * 5-level paging, segmentation.
 */
#ifndef UMBRA_MMU_WALK_H
#define UMBRA_MMU_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* #PF error code, SDM Vol 3 4.7 (Figure 4-12). */
#define PFERR_P		(1u << 0)
#define PFERR_W		(1u << 1)
#define PFERR_U		(1u << 2)
#define PFERR_RSVD	(1u << 3)
#define PFERR_ID	(1u << 4)
#define PFERR_PK	(1u << 5)

/* Control-register bits the walker reads. */
#define GW_CR0_WP	(1ull << 16)
#define GW_CR0_PG	(1ull << 31)
#define GW_CR4_PSE	(1ull << 4)
#define GW_CR4_PAE	(1ull << 5)
#define GW_CR4_SMEP	(1ull << 20)
#define GW_CR4_SMAP	(1ull << 21)
#define GW_CR4_PKE	(1ull << 22)
#define GW_CR4_PKS	(1ull << 24)
#define GW_EFER_LMA	(1ull << 10)
#define GW_EFER_NXE	(1ull << 11)

/* Access flags for gw_walk(). */
#define GW_WRITE	(1u << 0)	/* data write */
#define GW_FETCH	(1u << 1)	/* instruction fetch */
#define GW_USER		(1u << 2)	/* explicit access at CPL 3 */
#define GW_IMPLICIT	(1u << 3)	/* implicit supervisor access (GDT, IDT,
					   TSS...): supervisor even at CPL 3,
					   and EFLAGS.AC never opens SMAP */
#define GW_NO_AD	(1u << 4)	/* look only: write no A/D bits */

/* Permissions of a translation (gw_result.perm). */
#define GW_PERM_W	(1u << 0)	/* R/W set at every level */
#define GW_PERM_U	(1u << 1)	/* U/S set at every level */
#define GW_PERM_X	(1u << 2)	/* no XD at any level (or XD unused) */

enum gw_mode {
	GW_MODE_OFF,
	GW_MODE_32,
	GW_MODE_PAE,
	GW_MODE_LM,	/* 4-level, IA-32e */
};

/*
 * Guest-physical memory.  read() returns 0, or -1 when gpa is not backed;
 * cmpxchg() returns 1 if it replaced old by new, 0 if the value differed,
 * -1 when not backed.  size is 4 (32-bit paging) or 8.
 */
struct gw_mem_ops {
	int (*read)(void *arg, uint64_t gpa, unsigned int size, uint64_t *val);
	int (*cmpxchg)(void *arg, uint64_t gpa, unsigned int size,
		       uint64_t old, uint64_t new);
};

struct gw_ctx {
	uint64_t cr0, cr3, cr4, efer;
	bool ac;			/* EFLAGS.AC */
	uint32_t pkru;			/* CR4.PKE: PKRU (user pages) */
	uint32_t pkrs;			/* CR4.PKS: IA32_PKRS (supervisor) */
	unsigned int maxphyaddr;	/* CPUID 8000_0008h EAX[7:0] */
	bool gbpages;			/* CPUID 8000_0001h EDX[26] */
	/*
	 * PAE: with pdptes_loaded the walker uses pdpte[] as the processor
	 * does after MOV CR3 (SDM Vol 3 4.4.1; the VMCS guest PDPTEs under
	 * EPT); otherwise it reads them from memory at each walk, as AMD
	 * nested paging does, reporting reserved bits as #PF (APM Vol 2
	 * 15.25.10).
	 */
	bool pdptes_loaded;
	uint64_t pdpte[4];
	const struct gw_mem_ops *mem;
	void *mem_arg;
};

enum gw_status {
	GW_OK,
	GW_FAULT,	/* #PF: error_code is valid */
	GW_MEM_ERROR,	/* a guest entry at bad_gpa is not backed */
};

struct gw_result {
	uint64_t gpa;		/* the translation (GW_OK) */
	int level;		/* 1: 4K, 2: 2M/4M, 3: 1G; 0: paging off */
	unsigned int perm;	/* GW_PERM_* of the translation */
	uint32_t error_code;	/* GW_FAULT */
	uint64_t bad_gpa;	/* GW_MEM_ERROR */
	int nr_ptes;		/* entries read, top level first */
	uint64_t pte[4];	/* their values (before any A/D update) */
	uint64_t pte_gpa[4];	/* and where they are */
};

enum gw_mode gw_mode(const struct gw_ctx *ctx);
enum gw_status gw_walk(const struct gw_ctx *ctx, uint64_t va,
		       unsigned int access, struct gw_result *res);

#endif
