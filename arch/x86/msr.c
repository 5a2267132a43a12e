// SPDX-License-Identifier: BSD-2-Clause
/*
 * MSR policy: everything passes through except what umbra must own.
 *   EFER: the guest may not touch SVME (VMRUN needs it; APM 15.5.1) and
 *         sees it clear; reserved bits #GP as on hardware.
 *   VM_CR: reads say "SVM disabled and locked", writes #GP.
 *   VM_HSAVE_PA: umbra's; reads 0, writes #GP.
 *   IA32_FEATURE_CONTROL: where the CPU has it, reads "locked, VMX off"
 *         (only the lock bit, SDM Vol 3 23.7); writes #GP as on a locked
 *         MSR.  Where the CPU lacks it, #GP as on the hardware.
 *   IA32_VMX_BASIC..IA32_VMX_VMFUNC (480h-491h): #GP, as on a CPU
 *         without VMX (SDM Vol 3 Appendix A).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/vcpu.h"
#include "umbra/log.h"

#define VM_CR_LOCK	(1u << 3)
#define VM_CR_SVMDIS	(1u << 4)
#define FEATURE_CONTROL_LOCK	(1ull << 0)
#define MSR_VMX_FIRST	0x480
#define MSR_VMX_LAST	0x491

static bool vmx_cap_msr(uint32_t msr)
{
	return msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST;
}

static uint64_t efer_allowed(void)
{
	uint64_t ok = EFER_SCE | EFER_LME | EFER_LMA;

	if (cpuid(0x80000001).edx & (1u << 20))
		ok |= EFER_NXE;
	if (cpuid(0x80000001).edx & (1u << 25))
		ok |= EFER_FFXSR;
	return ok;
}

/* 0, or -1 to raise #GP */
static int msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_EFER:
		*val = v->ops->get_reg(v, VCPU_EFER);
		return 0;
	case MSR_VM_CR:
		*val = VM_CR_LOCK | VM_CR_SVMDIS;
		return 0;
	case MSR_VM_HSAVE_PA:
		*val = 0;
		return 0;
	case MSR_FEATURE_CONTROL:
		if (rdmsr_safe(msr, val))
			return -1;
		*val = FEATURE_CONTROL_LOCK;
		return 0;
	}
	if (vmx_cap_msr(msr))
		return -1;
	return rdmsr_safe(msr, val) ? -1 : 0;
}

static int efer_write(struct vcpu *v, uint64_t val)
{
	uint64_t old = v->ops->get_reg(v, VCPU_EFER);

	if (val & ~efer_allowed())
		return -1;
	/* SDM Vol 3 10.8.5 / APM 14.6: LME cannot change while paging is on */
	if ((v->ops->get_reg(v, VCPU_CR0) & CR0_PG) && ((val ^ old) & EFER_LME))
		return -1;
	val = (val & ~EFER_LMA) | (old & EFER_LMA);	/* LMA is the CPU's */
	v->ops->set_reg(v, VCPU_EFER, val);
	return 0;
}

static int msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	switch (msr) {
	case MSR_EFER:
		return efer_write(v, val);
	case MSR_VM_CR:
	case MSR_VM_HSAVE_PA:
	case MSR_FEATURE_CONTROL:
		return -1;
	}
	if (vmx_cap_msr(msr))
		return -1;
	/* intercepted only because a bitmap cannot exclude it (VMX outside
	   its two ranges): pass it through, #GP where the CPU says so */
	return wrmsr_safe(msr, val) ? -1 : 0;
}

void handle_msr(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vcpu_gprs *g = &v->gprs;
	uint32_t msr = (uint32_t)g->rcx;
	uint64_t val;
	int err;

	if (e->reason == EXIT_MSR_READ) {
		err = msr_read(v, msr, &val);
		if (!err) {
			g->rax = (uint32_t)val;
			g->rdx = val >> 32;
		}
	} else {
		err = msr_write(v, msr, (g->rdx << 32) | (uint32_t)g->rax);
	}
	if (err) {
		pr_debug("guest %s of MSR %x: #GP", e->reason == EXIT_MSR_READ ?
			 "read" : "write", msr);
		v->ops->inject_exception(v, X86_TRAP_GP, true, 0);
		return;
	}
	vcpu_advance_rip(v, e, 2);
}

void msr_setup_intercepts(struct vcpu *v)
{
	v->ops->intercept_msr(v, MSR_EFER, true, true);
	v->ops->intercept_msr(v, MSR_VM_CR, true, true);
	v->ops->intercept_msr(v, MSR_VM_HSAVE_PA, true, true);
	v->ops->intercept_msr(v, MSR_FEATURE_CONTROL, true, true);
	for (uint32_t msr = MSR_VMX_FIRST; msr <= MSR_VMX_LAST; msr++)
		v->ops->intercept_msr(v, msr, true, true);
}
