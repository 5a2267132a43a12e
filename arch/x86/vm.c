// SPDX-License-Identifier: BSD-2-Clause
/* placeholder until mmu/tdp lands */
#include "arch/x86/vm.h"
#include "umbra/log.h"

void vm_setup_tdp(struct vcpu *v)
{
	panic("TDP MMU not wired yet");
}

void vm_handle_tdp_fault(struct vcpu *v, const struct vcpu_exit *e)
{
	panic("tdp fault");
}

void vm_print_mmu_stats(struct vcpu *v)
{
}
