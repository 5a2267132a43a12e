/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mmu=tdp: the guest-physical map on the TDP MMU (mmu/tdp/tdp.h); the
 * rest is reached through tdp_guest_mmu (arch/x86/paging/mmu.h).  Shadow
 * paging borrows the map for the guest's real mode on VMX (shadow.c).
 */
#ifndef UMBRA_X86_PAGING_TDP_H
#define UMBRA_X86_PAGING_TDP_H

#include <stdint.h>

struct vcpu;
struct vcpu_exit;

/*
 * The VM's guest-physical map (built by the first caller) and v's root in
 * it (v->tdp, ops->set_tdp_root); its NPT/EPT violations.  mmu=tdp, and
 * mmu=shadow while the guest runs on it (arch/x86/paging/shadow.c).
 */
void tdp_map_setup(struct vcpu *v);
void tdp_map_fault(struct vcpu *v, const struct vcpu_exit *e);

/* what the TDP MMU maps at gpa, at info level */
void vm_print_translation(uint64_t gpa);

#endif
