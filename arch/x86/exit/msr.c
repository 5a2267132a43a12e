// SPDX-License-Identifier: BSD-2-Clause
/*
 * MSR policy: everything passes through except what umbra must own, and
 * what would let the guest reach or reroute physical memory (umbra's
 * range included: the guest's view of its memory is the NPT/EPT or shadow
 * tables, but these MSRs act on host-physical addresses beneath them).
 *   EFER: the guest may not touch SVME (VMRUN needs it; APM 15.5.1) and
 *         sees it clear; reserved bits #GP as on hardware.
 *   VM_CR: reads say "SVM disabled and locked", writes #GP.
 *   VM_HSAVE_PA: umbra's; reads 0, writes #GP.
 *   IA32_FEATURE_CONTROL: where the CPU has it, reads "locked, VMX off"
 *         (only the lock bit, SDM Vol 3 23.7); writes #GP as on a locked
 *         MSR.  Where the CPU lacks it, #GP as on the hardware.
 *   IA32_VMX_BASIC..IA32_VMX_VMFUNC (480h-491h): #GP, as on a CPU
 *         without VMX (SDM Vol 3 Appendix A).
 *   IA32_APIC_BASE: reads pass through; writes are checked as the CPU
 *         checks them and done by umbra, which never lets the xAPIC
 *         window cover its own memory (apic_base_write()).
 *   Intel PT, IA32_RTIT_* (560h-561h, 570h-572h, 580h-58Bh): #GP on read
 *         and write, as on a CPU without PT (cpuid.c hides it; SDM Vol 3
 *         33.2.8).  Trace output goes to host-physical addresses unless
 *         VMX's "Intel PT uses guest physical addresses" controls are set
 *         (SDM Vol 3 33.5), which umbra does not use.
 *   Memory routing, kept virtual: AMD SYSCFG, IORR_BASE/MASK0-1, TOP_MEM,
 *         TOP_MEM2 (APM Vol 2 7.9), MMIO_CFG_BASE_ADDR (the PCIe ECAM
 *         window, BKDG/PPR "MSRC001_0058"), SMM_BASE, SMM_ADDR, SMM_MASK
 *         (APM Vol 2 10.2, 10.3.4); Intel IA32_SMRR_PHYSBASE/PHYSMASK
 *         (SDM Vol 3 32.4.2.1).  Where the CPU lacks one (RDMSR #GPs)
 *         both accesses #GP; otherwise the guest reads back what it last
 *         wrote (the hardware value until then) and the hardware never
 *         sees a write.
 *   x2APIC ICR (830h), with more than one vCPU: writes are the guest's
 *         INIT, SIPI and other IPIs (apic.c, arch/x86/vcpu/smp.c).
 *   Left alone: the MTRRs and PAT only change memory types (SDM Vol 3
 *         12.11, APM Vol 2 7.7), never where an address goes; IA32_DS_AREA
 *         and the like hold linear addresses, translated by the guest's
 *         own paging.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "core/mem.h"
#include "arch/x86/exit/apic.h"
#include "arch/x86/exit/msr.h"
#include "arch/x86/vcpu/smp.h"
#include "arch/x86/vcpu/vcpu.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define MSR_VMX_FIRST	0x480
#define MSR_VMX_LAST	0x491

static bool intel_pt_msr(uint32_t msr)
{
	return msr == 0x560 || msr == 0x561 ||
	       (msr >= 0x570 && msr <= 0x572) ||
	       (msr >= 0x580 && msr <= 0x58b);
}

/* the order of struct vcpu_vmsr's values */
static const uint32_t virtual_msrs[VCPU_NR_VMSR] = {
	0xc0010010,	/* SYSCFG */
	0xc0010016,	/* IORR_BASE0 */
	0xc0010017,	/* IORR_MASK0 */
	0xc0010018,	/* IORR_BASE1 */
	0xc0010019,	/* IORR_MASK1 */
	0xc001001a,	/* TOP_MEM */
	0xc001001d,	/* TOP_MEM2 */
	0xc0010058,	/* MMIO_CFG_BASE_ADDR */
	0xc0010111,	/* SMM_BASE */
	0xc0010112,	/* SMM_ADDR */
	0xc0010113,	/* SMM_MASK */
	0x000001f2,	/* IA32_SMRR_PHYSBASE */
	0x000001f3,	/* IA32_SMRR_PHYSMASK */
};

static int virtual_msr(uint32_t msr)
{
	for (int i = 0; i < VCPU_NR_VMSR; i++)
		if (virtual_msrs[i] == msr)
			return i;
	return -1;
}

/* 0, or -1 to raise #GP; the guest's value of virtual MSR i */
static int vmsr_read(struct vcpu *v, int i, uint64_t *val)
{
	uint64_t hw;

	if (rdmsr_safe(virtual_msrs[i], &hw))
		return -1;
	*val = v->vmsr.written & (1u << i) ? v->vmsr.val[i] : hw;
	return 0;
}

static int vmsr_write(struct vcpu *v, int i, uint64_t val)
{
	uint64_t hw;

	if (rdmsr_safe(virtual_msrs[i], &hw))
		return -1;
	v->vmsr.val[i] = val;
	v->vmsr.written |= 1u << i;
	return 0;
}

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
	int i = virtual_msr(msr);

	if (i >= 0)
		return vmsr_read(v, i, val);
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
	if (vmx_cap_msr(msr) || intel_pt_msr(msr))
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

/*
 * IA32_APIC_BASE (SDM Vol 3 11.4.4, 11.12.1; APM Vol 2 16.3.1): bits 7:0
 * and 9 are reserved, bit 10 (x2APIC mode) too where CPUID.1:ECX[21] is
 * clear, and the base above MAXPHYADDR; BSP (bit 8) is read-only.  The
 * transitions of SDM Vol 3 11.12.5 (Figure 11-27) that are invalid raise
 * #GP: x2APIC to xAPIC mode, disabled to x2APIC, and EXTD without EN.
 *
 * On hardware a relocated xAPIC window also catches umbra's own accesses
 * to that physical range (SDM Vol 3 11.4.5): a base that would put the
 * window over umbra's memory is not taken; the APIC stays where it is (the
 * guest reads back where its APIC is) and the other bits apply.  With
 * more than one vCPU the window does not move at all: its page is where
 * umbra catches the guest's INIT and SIPI (apic.c).
 */
#define APIC_BASE_BSP		(1ull << 8)
#define APIC_BASE_EXTD		(1ull << 10)
#define APIC_BASE_EN		(1ull << 11)
#define APIC_BASE_ADDR_LO	(1ull << 12)
#define CPUID1_ECX_X2APIC	(1u << 21)

static int apic_base_write(struct vcpu *v, uint64_t val)
{
	uint64_t old = rdmsr(MSR_APIC_BASE);
	uint64_t addr_mask = (~0ull << cpu_maxphyaddr()) ^ ~(APIC_BASE_ADDR_LO - 1);
	uint64_t rsvd = ~(addr_mask | APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN);
	uint64_t base = val & addr_mask;
	bool en = val & APIC_BASE_EN, x2 = val & APIC_BASE_EXTD;
	bool old_en = old & APIC_BASE_EN, old_x2 = old & APIC_BASE_EXTD;
	static bool told;

	if (!(cpuid(1).ecx & CPUID1_ECX_X2APIC))
		rsvd |= APIC_BASE_EXTD;
	if ((val & rsvd) || (x2 && !en) || (old_en && old_x2 && en && !x2) ||
	    (!old_en && en && x2))
		return -1;
	val = (val & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
	/* with several vCPUs the window's page is where umbra traps the ICR (apic.c) */
	if ((base < umbra_mem_base + umbra_mem_size && base + PAGE_SIZE > umbra_mem_base) ||
	    (apic_trapped_page() && base != (old & addr_mask))) {
		if (!told)
			pr_info("guest moved its local APIC's window to %lx, %s: the APIC stays at %lx",
				base, apic_trapped_page() ? "with several vCPUs" :
				"onto umbra's memory", old & addr_mask);
		told = true;
		val = (val & ~addr_mask) | (old & addr_mask);
	}
	return wrmsr_safe(MSR_APIC_BASE, val) ? -1 : 0;
}

static int msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
	int i = virtual_msr(msr);

	if (i >= 0)
		return vmsr_write(v, i, val);
	switch (msr) {
	case MSR_EFER:
		return efer_write(v, val);
	case MSR_APIC_BASE:
		return apic_base_write(v, val);
	case MSR_X2APIC_ICR:
		if (!(rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD))
			return -1;	/* not in x2APIC mode (SDM Vol 3 11.12.1) */
		vcpu_icr_write(v, val >> 32, (uint32_t)val);
		return 0;
	case MSR_VM_CR:
	case MSR_VM_HSAVE_PA:
	case MSR_FEATURE_CONTROL:
		return -1;
	}
	if (vmx_cap_msr(msr) || intel_pt_msr(msr))
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
	v->ops->intercept_msr(v, MSR_APIC_BASE, false, true);
	v->ops->intercept_msr(v, MSR_VM_CR, true, true);
	v->ops->intercept_msr(v, MSR_VM_HSAVE_PA, true, true);
	v->ops->intercept_msr(v, MSR_FEATURE_CONTROL, true, true);
	for (uint32_t msr = MSR_VMX_FIRST; msr <= MSR_VMX_LAST; msr++)
		v->ops->intercept_msr(v, msr, true, true);
	if (apic_trapped_page())
		v->ops->intercept_msr(v, MSR_X2APIC_ICR, false, true);
	for (uint32_t msr = 0x560; msr <= 0x58b; msr++)
		if (intel_pt_msr(msr))
			v->ops->intercept_msr(v, msr, true, true);
	/*
	 * Reads too: the guest reads its own value back.  VMX has no bitmap
	 * for C001_xxxxh and always exits on those (SDM Vol 3 25.6.9): the
	 * same handler serves them.
	 */
	for (int i = 0; i < VCPU_NR_VMSR; i++)
		v->ops->intercept_msr(v, virtual_msrs[i], true, true);
}
