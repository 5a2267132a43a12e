/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest memory as the guest sees it: linear addresses translated through
 * the guest's own page tables (mmu/walk.h), with the guest's permissions,
 * accessed/dirty updates and the exact #PF error code.  Only guest RAM
 * (guest_ram(), core/mem.h) and the scratch page are ever reached:
 * every page of umbra's own range is the scratch page, as in the nested
 * map (arch/x86/paging/tdp.c), never umbra's memory; never MMIO.  Under shadow paging every
 * write is reported to the shadow MMU (shadow_emulated_write(),
 * mmu/shadow/shadow.h calling rules).
 */
#ifndef UMBRA_X86_GMEM_H
#define UMBRA_X86_GMEM_H

#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"
#include "mmu/walk.h"

/* access flags: GW_WRITE, GW_FETCH, GW_IMPLICIT from mmu/walk.h */

enum gmem_status {
	GMEM_OK = 0,
	GMEM_FAULT = -1,	/* the guest's #PF: fault.error_code, .addr */
	GMEM_NOT_RAM = -2,	/* a guest table or the target is not RAM:
				   fault.gpa */
};

struct gmem_fault {
	uint32_t error_code;
	uint64_t addr;		/* linear address (the guest's CR2) */
	uint64_t gpa;
};

/* Guest-physical RAM for mmu/: reads and compare-and-exchange, no hooks. */
extern const struct gw_mem_ops guest_phys_ops;

/* The page that stands for every page of umbra's range (zeroed at first). */
void *guest_scratch_page(void);

int gmem_xlate(struct vcpu *v, uint64_t lin, unsigned int access,
	       uint64_t *gpa, struct gmem_fault *f);
int gmem_read(struct vcpu *v, uint64_t lin, void *buf, unsigned int len,
	      unsigned int access, struct gmem_fault *f);
int gmem_write(struct vcpu *v, uint64_t lin, const void *buf,
	       unsigned int len, struct gmem_fault *f);
/*
 * Up to X86_MAX_INSN_LEN instruction bytes at CS:RIP; *len is how many
 * could be fetched (fewer when the next page faults: then f holds that
 * fault).  Returns GMEM_OK if at least one byte was fetched.
 */
int gmem_fetch(struct vcpu *v, uint8_t *buf, unsigned int *len,
	       struct gmem_fault *f);
/*
 * The guest flushed its TLB: INVLPG of lin (one), or a MOV to CR3
 * (!global: non-global entries only); gmem_fetch()'s entry goes with it.
 */
void gmem_flush_fetch(struct vcpu *v, uint64_t lin, bool one, bool global);
/*
 * The guest's own page walk of lin, as is (no CPL, no truncation): every
 * entry read is in res (the debug shell's `walk`).  GW_NO_AD in access
 * makes it a pure look.
 */
enum gw_status gmem_walk(struct vcpu *v, uint64_t lin, unsigned int access,
			 struct gw_result *res);
enum gw_mode gmem_mode(struct vcpu *v);
/* Deliver a GMEM_FAULT to the guest: CR2 and #PF with its error code. */
void gmem_inject_fault(struct vcpu *v, const struct gmem_fault *f);

#endif
