/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mmu=tdp: the guest-physical map on the TDP MMU (mmu/tdp/tdp.h); the
 * rest is reached through tdp_guest_mmu (arch/x86/paging/mmu.h).
 */
#ifndef UMBRA_X86_PAGING_TDP_H
#define UMBRA_X86_PAGING_TDP_H

#include <stdint.h>

/* what the TDP MMU maps at gpa, at info level */
void vm_print_translation(uint64_t gpa);

#endif
