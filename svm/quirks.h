/* SPDX-License-Identifier: BSD-2-Clause */
/* The emulators' departures from the APM (quirks.c); private to svm/. */
#ifndef UMBRA_SVM_QUIRKS_H
#define UMBRA_SVM_QUIRKS_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/paging/mmu.h"
#include "svm/vcpu.h"
#include "svm/vmcb.h"

void svm_note_apic_window(void);
uint64_t svm_in_service_vector(void);
void svm_sync_deferred_lme(struct vcpu *v, struct svm_vcpu *s);
uint64_t svm_lost_interrupt(struct vcpu *v, bool in_delivery);
/* Bochs's lost NMI (its handler's first fetch exited): inject it again */
uint64_t svm_lost_nmi(struct vcpu *v);
/* QEMU 7.2 arms gdb's breakpoints on a MOV to DR7 only */
void svm_dr7_around_vmrun(struct vcpu *v, const struct svm_vcpu *s,
			  bool before);

/*
 * Under shadow paging every #PF of the guest is intercepted (APM Vol 2
 * 15.12), so the hardware delivers a #PF only when umbra injected it.  An
 * EXITINTINFO naming a #PF after a VMRUN that injected nothing is not an
 * event of that run: Bochs 2.7 reports the last event it recorded when
 * the delivery of an external interrupt is cut short.  Injected again,
 * it gives the guest a #PF with a stale CR2 at an unrelated RIP.
 */
static inline bool svm_stale_exitintinfo(struct vcpu *v)
{
	const struct svm_vcpu *s = to_svm(v);
	uint64_t info = s->vmcb->ctl.exitintinfo;

	return !v->mmu->nested && (info & EVENTINJ_VALID) &&
	       !(s->injected & EVENTINJ_VALID) &&
	       (info & EVENTINJ_TYPE_MASK) == EVENTINJ_TYPE_EXC &&
	       (info & EVENTINJ_VECTOR_MASK) == X86_TRAP_PF;
}

#endif
