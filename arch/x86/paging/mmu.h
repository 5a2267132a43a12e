/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How a VM's guest paging is virtualized: one table of operations, chosen
 * once per VM (mmu=tdp: arch/x86/paging/tdp.c, mmu=shadow:
 * arch/x86/paging/shadow.c) and reached through v->mmu.  Nothing else
 * tests the MMU mode; the back ends learn from the table only what they
 * must set up (nested paging or the shadow intercepts) and get their root
 * and TLB flushes through struct vcpu_ops.
 */
#ifndef UMBRA_X86_PAGING_MMU_H
#define UMBRA_X86_PAGING_MMU_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vcpu_cr;
struct vcpu_exit;
struct gw_ctx;

enum guest_dirty_op { DIRTY_START, DIRTY_GET, DIRTY_STOP };

struct guest_mmu {
	const char *name;		/* "tdp", "shadow": for messages */
	/*
	 * true: the hardware translates guest-physical addresses (NPT/EPT,
	 * vcpu_ops.set_tdp_root).  false: it runs on umbra's tables
	 * (vcpu_ops.set_paging_regs), so the guest's CR0, CR3, CR4 and EFER
	 * are v->gcr, and #PF, CR0/CR3/CR4 accesses, INVLPG and task
	 * switches exit; CPUID and CR4 hide what the tables cannot follow.
	 * (A back end that cannot run real mode on them runs it on the TDP
	 * map meanwhile, with the same intercepts: shadow.c.)
	 */
	bool nested;
	void (*setup)(struct vcpu *v);	/* once, before the first entry */
	void (*enter)(struct vcpu *v);	/* optional: before every entry */
	/* the exits of this mode; NULL: the exit is unexpected */
	void (*tdp_fault)(struct vcpu *v, const struct vcpu_exit *e);
	void (*page_fault)(struct vcpu *v, const struct vcpu_exit *e);
	void (*step_done)(struct vcpu *v);
	/*
	 * A guest MOV to CR0/CR3/CR4 that arch/x86/exit/cr.c found valid,
	 * from old to n (cr: which register): make it so.  -1: #GP (PDPTEs
	 * that SDM Vol 3 4.4.1 refuses).
	 */
	int (*set_cr)(struct vcpu *v, const struct vcpu_cr *old,
		      const struct vcpu_cr *n, int cr);
	void (*invlpg)(struct vcpu *v, uint64_t gva);	/* optional */
	/*
	 * The PAE PDPTEs umbra's own walks of the guest's tables take
	 * (ctx: the walk's registers); false: none, the walk reads them.
	 */
	bool (*pdptes)(struct vcpu *v, const struct gw_ctx *ctx,
		       uint64_t pdpte[4]);
	/* optional: umbra wrote guest memory at gpa (A/D bits, emulation) */
	void (*wrote)(struct vcpu *v, uint64_t gpa, const void *bytes,
		      unsigned int size);
	/* the debug shell: the tables the hardware walks, and their pages */
	void (*root)(struct vcpu *v, uint64_t *root_hpa, int *levels);
	void (*print_stats)(struct vcpu *v);	/* exit statistics */
	void (*print_pages)(struct vcpu *v);	/* the shell's `mmu` */
	/* the shell's `dirty` (mmu/dirty.h): start over [gpa, gpa + size),
	 * harvest that range into bitmap (returns the count), stop */
	long (*dirty)(struct vcpu *v, enum guest_dirty_op op, uint64_t gpa,
		      uint64_t size, uint64_t *bitmap);
};

extern const struct guest_mmu tdp_guest_mmu;
extern const struct guest_mmu shadow_guest_mmu;

#endif
