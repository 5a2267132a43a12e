/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_X86_VM_H
#define UMBRA_X86_VM_H

#include "arch/x86/vcpu/vcpu.h"

void vm_setup_tdp(struct vcpu *v);
void vm_handle_tdp_fault(struct vcpu *v, const struct vcpu_exit *e);
void vm_print_mmu_stats(struct vcpu *v);
void vm_print_translation(uint64_t gpa);

#endif
