/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Several vCPUs, one per CPU: the guest's INIT and SIPI to its CPUs, the
 * wait-for-SIPI state, and requests one CPU makes of another's vCPU.
 */
#ifndef UMBRA_X86_VCPU_SMP_H
#define UMBRA_X86_VCPU_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"

/* vCPUs created (the boot CPU's first); 1 on a one-CPU machine */
extern unsigned int nr_vcpus;

/* Count v in, as the vCPU of this CPU; an AP's waits for a SIPI. */
void vcpu_smp_add(struct vcpu *v);
/* Before each entry: do what other CPUs asked of v (may wait for a SIPI). */
void vcpu_requests(struct vcpu *v);
/* Around ops->run: other CPUs kick v only while it is in guest mode. */
void vcpu_enter_guest(struct vcpu *v);
void vcpu_left_guest(struct vcpu *v);
/* Every vCPU's guest TLB: this CPU's now, the others' before their next
   entry; those in guest mode are kicked out (an NMI). */
void vcpu_flush_all(void);
/* The same, and back once every other vCPU has left guest mode (or took
   the request): the TDP MMU's flush before it frees a table. */
void vcpu_flush_all_sync(void);
/*
 * Make t leave guest mode, if it is in it, and go through its mmu->enter
 * before it enters again (VCPU_REQ_MMU); returns once it has left (the
 * shadow MMU's cfg.kick: it then frees what t may have cached).
 */
void vcpu_kick_sync(struct vcpu *t);
/*
 * The guest's write of its local APIC's ICR (SDM Vol 3 11.6.1; APM Vol 2
 * 16.5): INIT and SIPI are umbra's to deliver, the rest go to the
 * hardware.  dest: the destination field (xAPIC ICR[63:56], x2APIC
 * ICR[63:32]).
 */
void vcpu_icr_write(struct vcpu *v, uint32_t dest, uint32_t low);

#endif
