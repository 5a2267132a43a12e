/* SPDX-License-Identifier: BSD-2-Clause */
/* The VMX back end's vCPU, shared by vmx.c and quirks.c; private to vmx/. */
#ifndef UMBRA_VMX_VCPU_H
#define UMBRA_VMX_VCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"

struct vmx_vcpu {
	void *vmcs;
	uint8_t *io_bitmap;		/* A (ports 0-7fff), then B */
	uint8_t *msr_bitmap;
	uint64_t cr0_mask, cr4_mask;
	bool launched;
	bool flush;			/* INVEPT/INVVPID before the next entry */
	bool ug;			/* shadow paging: EPT and unrestricted
					   guest on (vmx_shadow_use_tdp()) */
	uint32_t reinject;		/* IDT-vectoring information to deliver */
	uint32_t reinject_error, reinject_len;
	bool shutdown;			/* an injection made a triple fault */
	bool nmi_window;		/* NMI-window exiting is on */
	struct {			/* ops->single_step without MTF */
		bool on;
		uint64_t flags;		/* the guest's RFLAGS.TF and IF */
		uint32_t exc;		/* the exception bitmap before */
		uint32_t held;		/* VM-entry interruption info after */
		uint32_t held_error;
	} step;
};

static inline struct vmx_vcpu *to_vmx(struct vcpu *v)
{
	return v->arch;
}

#endif
