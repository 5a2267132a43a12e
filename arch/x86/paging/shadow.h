/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mmu=shadow: the guest runs without EPT/NPT on the shadow MMU
 * (mmu/shadow/shadow.h).  arch/x86/paging/tdp.c is the TDP side.
 */
#ifndef UMBRA_X86_VM_SHADOW_H
#define UMBRA_X86_VM_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"

void vm_setup_shadow(struct vcpu *v);
/* Before every VM entry: the shadow MMU's root and flushes to the CPU. */
void vm_shadow_enter(struct vcpu *v);
void vm_shadow_page_fault(struct vcpu *v, const struct vcpu_exit *e);
void vm_shadow_invlpg(struct vcpu *v, uint64_t gva);
/* EXIT_SINGLE_STEP: the instruction that wrote a protected table ran. */
void vm_shadow_step_done(struct vcpu *v);
/*
 * The guest loads new control registers (MOV to CR0/CR3/CR4): checks the
 * PDPTEs when the new state is PAE paging and needs them loaded (SDM Vol 3
 * 4.4.1), then commits n and tells the shadow MMU.  -1: #GP, nothing done.
 */
int vm_shadow_set_cr(struct vcpu *v, const struct vcpu_cr *n, bool cr3_load);
/* The PDPTEs the guest's PAE paging uses now; false outside PAE paging. */
bool vm_shadow_pdptes(struct vcpu *v, uint64_t pdpte[4]);
/* umbra wrote guest-physical [gpa, gpa + size) on the guest's behalf. */
void vm_shadow_wrote(struct vcpu *v, uint64_t gpa, const void *bytes,
		     unsigned int size);
void vm_shadow_print_stats(struct vcpu *v);
/* The debug shell: the shadow root the hardware uses, 4 or 3 (PAE) levels */
void vm_shadow_root(struct vcpu *v, uint64_t *root_hpa, int *levels);
void vm_shadow_print_pages(struct vcpu *v);

/*
 * PAE paging's PDPTEs (SDM Vol 3 4.4.1), for shadow and nested paging
 * alike: does the change from o to n load them (cr3_load: a MOV to CR3),
 * and load the four at CR3[31:5]; with check, -1 when one is present with
 * a reserved bit or cannot be read (the MOV raises #GP then).
 */
bool guest_pdptes_load_on(const struct vcpu_cr *o, const struct vcpu_cr *n,
			  bool cr3_load);
int guest_load_pdptes(uint64_t cr3, uint64_t pdpte[4], bool check);

/* CPUID 8000_0008h EAX[7:0] and 8000_0001h EDX[26] of this CPU */
unsigned int guest_maxphyaddr(void);
bool guest_gbpages(void);

#endif
