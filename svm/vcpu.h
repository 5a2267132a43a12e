/* SPDX-License-Identifier: BSD-2-Clause */
/* The SVM back end's vCPU, shared by svm.c and quirks.c; private to svm/. */
#ifndef UMBRA_SVM_VCPU_H
#define UMBRA_SVM_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"

struct svm_vcpu {
	struct vmcb *vmcb;
	uint8_t *iopm;
	uint8_t *msrpm;
	uint64_t reinject;		/* EXITINTINFO still to deliver */
	uint64_t injected;		/* EVENTINJ of the last VMRUN */
	bool lme_deferred;		/* guest EFER.LME kept out of the VMCB */
	bool shutdown;			/* an injection made a triple fault */
	bool ran;			/* the guest has been entered */
	uint8_t nmi_blocked;		/* several vCPUs: NMI_IN_HANDLER, NMI_IRET */
	struct {			/* ops->single_step */
		bool on;
		uint64_t tf, vintr;	/* the guest's TF, umbra's masking */
		uint32_t exc;		/* exception intercepts before */
		uint64_t held;		/* EVENTINJ to deliver after it */
	} step;
};

static inline struct svm_vcpu *to_svm(struct vcpu *v)
{
	return v->arch;
}

#endif
