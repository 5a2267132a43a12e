// SPDX-License-Identifier: BSD-2-Clause
/*
 * Where the emulators umbra is tested under lack what the SDM gives (Bochs
 * 2.7: no monitor trap flag), and what the VMX back end does instead.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "vmx/quirks.h"
#include "vmx/vcpu.h"
#include "vmx/vmcs.h"

/*
 * ops->single_step without the monitor trap flag (Bochs 2.7 has none):
 * RFLAGS.TF with every exception but NMI, #BP, #OF and #MC in the
 * exception bitmap (SDM Vol 3 24.6.3), as svm.c does; RFLAGS.IF is clear
 * for the step, so no external interrupt is delivered with the TF in its
 * frame (arch/x86/paging/shadow.c mends a PUSHF).  Blocking by STI expires with the
 * instruction and goes; with blocking by MOV SS, VM entry wants BS pending
 * when TF is set (26.3.1.5), and that #DB comes after the instruction.
 */
#define BLOCKING_STI		(1u << 0)
#define BLOCKING_MOV_SS		(1u << 1)
#define PENDING_DBG_BS		(1ull << 14)
#define STEP_EXC		(~((1u << 2) | (1u << 3) | (1u << 4) | (1u << 18)))

void vmx_step_tf(struct vmx_vcpu *s, bool on)
{
	uint64_t rf = vmcs_read(GUEST_RFLAGS), intr;

	if (on && !s->step.on) {
		s->step.on = true;
		s->step.flags = rf & (RFLAGS_TF | RFLAGS_IF);
		s->step.exc = (uint32_t)vmcs_read(EXCEPTION_BITMAP);
		s->step.held = 0;
		vmcs_write(GUEST_RFLAGS, (rf | RFLAGS_TF) & ~RFLAGS_IF);
		vmcs_write(EXCEPTION_BITMAP, s->step.exc | STEP_EXC);
		intr = vmcs_read(GUEST_INTERRUPTIBILITY) & ~(uint64_t)BLOCKING_STI;
		vmcs_write(GUEST_INTERRUPTIBILITY, intr);
		if (intr & BLOCKING_MOV_SS)
			vmcs_write(GUEST_PENDING_DBG,
				   vmcs_read(GUEST_PENDING_DBG) | PENDING_DBG_BS);
	} else if (!on && s->step.on) {
		s->step.on = false;
		vmcs_write(GUEST_RFLAGS, (rf & ~(RFLAGS_TF | RFLAGS_IF)) |
			   s->step.flags);
		vmcs_write(EXCEPTION_BITMAP, s->step.exc);
		if (s->step.held && !(vmcs_read(ENTRY_INTR_INFO) & INTR_INFO_VALID)) {
			if (s->step.held & INTR_INFO_DELIVER_CODE)
				vmcs_write(ENTRY_EXCEPTION_ERROR_CODE,
					   s->step.held_error);
			vmcs_write(ENTRY_INTR_INFO, s->step.held);
		}
	}
}

/*
 * An exception exit while vmx_step_tf() is on ends the step: the exception
 * is delivered when it is turned off, unless it is the single-step #DB
 * (exit qualification BS, 27.2.1) the guest's own TF did not ask for.
 */
bool vmx_step_exception(struct vcpu *v, struct vcpu_exit *e, uint32_t intr)
{
	struct vmx_vcpu *s = to_vmx(v);

	if (!s->step.on || INTR_INFO_TYPE(intr) != INTR_TYPE_HW_EXC ||
	    (intr & 0xff) == X86_TRAP_PF)
		return false;
	e->reason = EXIT_SINGLE_STEP;
	if ((intr & 0xff) == 1 && !(s->step.flags & RFLAGS_TF) &&
	    !(e->info1 & 0xf))
		return true;		/* umbra's trap alone */
	s->step.held = intr & (INTR_INFO_VALID | INTR_INFO_DELIVER_CODE | 0x7ff);
	s->step.held_error = (uint32_t)vmcs_read(EXIT_INTR_ERROR_CODE);
	return true;
}
