// SPDX-License-Identifier: BSD-2-Clause
/*
 * Where the emulators umbra is tested under depart from the APM (QEMU's
 * TCG, Bochs 2.7), and what the SVM back end does about it.  Each is
 * harmless on a CPU that follows the manual.
 *
 * One lives in svm.c: QEMU's TCG takes INT3 as a software interrupt, so
 * the #BP exception intercept never sees it and only the INTn intercept
 * does (its raise_interrupt2() checks SVM_EXIT_SWINT for every INT
 * instruction).  svm_intercept_bp() sets both, and gdb's breakpoints stop
 * the guest either way.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "core/mem.h"
#include "svm/quirks.h"
#include "svm/vcpu.h"
#include "svm/vmcb.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define APIC_BASE_X2APIC	(1ull << 10)
#define APIC_BASE_EN		(1ull << 11)
#define APIC_BASE_ADDR		0x000ffffffffff000ull
#define APIC_ISR		0x100		/* 8 registers, 16 bytes apart */
#define X2APIC_MSR_ISR		0x810

static uint64_t apic_boot_window;

/* where the local APIC's xAPIC window is before the guest runs */
void svm_note_apic_window(void)
{
	apic_boot_window = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR;
}

/*
 * QEMU TCG quirk: a #VMEXIT from a guest with EFER.LME=1 while CR0.PG and
 * CR4.PAE are both clear leaves the host with paging off (QEMU restores
 * CR0 before CR4 and EFER, and refuses "PG with LME but no PAE" silently).
 * So in that state umbra keeps LME out of the VMCB and intercepts CR0
 * writes (CR4 writes always are) until PAE or PG is set (a PG write
 * without PAE is #GP anyway, SDM Vol 3 10.8.5).  Real CPUs never see the
 * window matter.
 */
void svm_sync_deferred_lme(struct vcpu *v, struct svm_vcpu *s)
{
	struct vmcb *vmcb = s->vmcb;
	bool paging_off = !(vmcb->save.cr0 & CR0_PG) && !(vmcb->save.cr4 & CR4_PAE);
	uint32_t cr_writes = INTERCEPT_CR_WRITE(0);	/* CR4: always */

	if (!v->mmu->nested)		/* the hardware always pages: no window */
		return;
	if ((vmcb->save.efer & EFER_LME) && paging_off) {
		vmcb->save.efer &= ~EFER_LME;
		s->lme_deferred = true;
	} else if (s->lme_deferred && !paging_off) {
		vmcb->save.efer |= EFER_LME;
		s->lme_deferred = false;
	}
	if (s->lme_deferred)
		vmcb->ctl.intercept_cr |= cr_writes;
	else
		vmcb->ctl.intercept_cr &= ~cr_writes;
}

/*
 * The highest vector in service in the local APIC, 0 if none.  An
 * external interrupt whose delivery was cut short has been acknowledged
 * already: it is that vector (SDM Vol 3 11.8.4).  The guest owns the
 * APIC; umbra only reads it.  umbra does every write of IA32_APIC_BASE
 * (arch/x86/exit/msr.c) and keeps the window off its own memory, but reads
 * the xAPIC only at the window the firmware left (svm_create()), inside
 * its identity map and never on a page of its own: a window the guest
 * moved may lie beyond umbra's map, or (QEMU TCG keeps the MMIO at its
 * default address and only bits 31:12 of the base) over plain memory.
 * There umbra cannot tell, and nothing is recovered.
 */
uint64_t svm_in_service_vector(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE), addr = base & APIC_BASE_ADDR;
	bool x2 = base & APIC_BASE_X2APIC;

	if (!(base & APIC_BASE_EN))
		return 0;
	if (!x2 && (addr != apic_boot_window || addr + PAGE_SIZE > (1ull << 32) ||
		    (addr < umbra_mem_base + umbra_mem_size &&
		     addr + PAGE_SIZE > umbra_mem_base)))
		return 0;
	for (int i = 7; i >= 0; i--) {
		uint32_t isr = x2 ? (uint32_t)rdmsr(X2APIC_MSR_ISR + i) :
			*(volatile uint32_t *)phys_to_virt(addr + APIC_ISR + 16 * i);

		if (isr)
			return (uint64_t)i * 32 + 31 - __builtin_clz(isr);
	}
	return 0;
}

/*
 * Bochs 2.7 does not record an external interrupt in EXITINTINFO when an
 * intercepted #PF cuts its delivery short, as under shadow paging when a
 * new root does not map the IDT, GDT, TSS or stack yet: EXITINTINFO is
 * clear or repeats an older event (svm_stale_exitintinfo()).  The local APIC
 * has acknowledged the interrupt already, so it would be lost and, never
 * ended by an EOI, would block every interrupt of its priority class and
 * below (SDM Vol 3 11.8.3, 11.8.4).  APM Vol 2 15.7.2 says that
 * EXITINTINFO holds such an event: take it from the local APIC.  The
 * vector just acknowledged is the highest one in service.  The guest must
 * have been able to take it (RFLAGS.IF, no interrupt shadow).  When
 * nothing says that an event was being delivered (in_delivery false), the
 * fault must also be an implicit supervisor read of that vector's IDT
 * gate (16 bytes in long mode, 8 otherwise: SDM Vol 3 6.10, 6.14.1).
 */
#define PF_ERR_W		(1u << 1)	/* SDM Vol 3 4.7 */
#define PF_ERR_U		(1u << 2)
#define PF_ERR_I		(1u << 4)
#define INT_STATE_SHADOW	1ull		/* APM Vol 2 15.21.5 */

uint64_t svm_lost_interrupt(struct vcpu *v, bool in_delivery)
{
	const struct vmcb *vmcb = to_svm(v)->vmcb;
	uint64_t gate = v->gcr.efer & EFER_LMA ? 16 : 8;
	uint64_t addr = vmcb->ctl.exitinfo2;
	uint64_t off = addr - vmcb->save.idtr.base, vector;

	if ((uint32_t)vmcb->ctl.exitcode != SVM_EXIT_PF ||
	    !(vmcb->save.rflags & RFLAGS_IF) ||
	    (vmcb->ctl.int_state & INT_STATE_SHADOW))
		return 0;
	/* the cheap tests first: most #PF exits are not in the IDT */
	if (!in_delivery &&
	    ((vmcb->ctl.exitinfo1 & (PF_ERR_W | PF_ERR_U | PF_ERR_I)) ||
	     off > vmcb->save.idtr.limit || off / gate < 32))
		return 0;
	vector = svm_in_service_vector();
	if (vector < 32 || (!in_delivery && off / gate != vector))
		return 0;
	pr_debug("svm: #PF at %lx during the delivery of in-service vector %lx: injected again",
		 addr, vector);
	return vector | EVENTINJ_TYPE_INTR | EVENTINJ_VALID;
}

/*
 * The base of a code segment by its selector, from the GDT (SDM Vol 3
 * 3.4.5); 0 in long mode (APM Vol 2 4.8.1).  False: an LDT selector or
 * one beyond the GDT's limit, not looked up.
 */
static bool code_base(struct vcpu *v, uint16_t sel, bool lm, uint64_t *base)
{
	struct segment gdtr;
	struct gmem_fault f;
	uint8_t d[8];

	*base = 0;
	if (lm)
		return true;
	v->ops->get_seg(v, SEG_GDTR, &gdtr);
	if ((sel & 4) || (sel | 7u) > gdtr.limit ||
	    gmem_read(v, gdtr.base + (sel & ~7u), d, 8, GW_IMPLICIT | GW_NO_AD, &f))
		return false;
	*base = d[2] | d[3] << 8 | d[4] << 16 | (uint32_t)d[7] << 24;
	return true;
}

/*
 * The linear address of the guest's NMI handler: IDT gate 2, 8 bytes in
 * protected mode and 16 in long mode (SDM Vol 3 6.11, 6.14.1).  False in
 * real mode and where the gate cannot be read.
 */
static bool nmi_handler(struct vcpu *v, uint64_t *lin)
{
	bool lm = v->ops->get_reg(v, VCPU_EFER) & EFER_LMA;
	unsigned int size = lm ? 16 : 8;
	struct segment idtr;
	struct gmem_fault f;
	uint64_t off, base;
	uint8_t g[16];

	if (!(v->ops->get_reg(v, VCPU_CR0) & CR0_PE))
		return false;
	v->ops->get_seg(v, SEG_IDTR, &idtr);
	if (3 * size - 1 > idtr.limit ||
	    gmem_read(v, idtr.base + 2 * size, g, size, GW_IMPLICIT | GW_NO_AD, &f))
		return false;
	off = g[0] | g[1] << 8 | g[6] << 16 | (uint32_t)g[7] << 24;
	if (lm)
		off |= (uint64_t)(g[8] | g[9] << 8 | g[10] << 16 |
				  (uint32_t)g[11] << 24) << 32;
	if (!code_base(v, (uint16_t)(g[2] | g[3] << 8), lm, &base))
		return false;
	*lin = lm ? base + off : (uint32_t)(base + off);
	return true;
}

/*
 * Bochs 2.7 (ryzen) loses an NMI whose handler's first instruction fetch
 * exits (a nested page fault, or under shadow paging the intercepted
 * #PF): the #VMEXIT puts RIP back at the interrupted instruction, as if
 * the NMI had not been taken, with EXITINTINFO clear, and leaves NMIs
 * masked, so that the guest's NMIs stay blocked until its next IRET (the
 * fuzzer's watchdog found it).  On a CPU the delivery has completed by
 * then: RIP is the handler's (APM Vol 2 15.7.2 records only a delivery
 * cut short).  So an instruction-fetch fault at exactly the address of
 * the guest's NMI handler while RIP is elsewhere is that NMI: injected
 * again, which a CPU never makes umbra do.  Bochs also leaves the frame
 * it pushed and RSP below it (found: the fuzzer's stack slid by 12 bytes
 * per lost NMI): only where the stack's top is that frame (the
 * interrupted RIP, CS and RFLAGS, SDM Vol 3 6.12.1, 6.14.2) is it taken
 * for a lost NMI, and RSP goes back above the frame.
 */
static bool drop_nmi_frame(struct vcpu *v, struct vmcb *vmcb)
{
	bool lm = v->ops->get_reg(v, VCPU_EFER) & EFER_LMA;
	unsigned int w = lm ? 8 : 4;
	uint64_t top = vmcb->save.ss.base + vmcb->save.rsp, fr[4] = { 0 };
	struct gmem_fault f;

	for (int i = 0; i < 4; i++)
		if (gmem_read(v, lm ? top + i * w : (uint32_t)(top + i * w),
			      &fr[i], w, GW_NO_AD, &f))
			return false;
	if (fr[0] != vmcb->save.rip || (uint16_t)fr[1] != vmcb->save.cs.sel ||
	    ((fr[2] ^ vmcb->save.rflags) & ~RFLAGS_RF) & 0xffffffffull)
		return false;
	pr_debug("svm: the lost NMI's frame at rsp %lx: dropped", vmcb->save.rsp);
	vmcb->save.rsp = lm ? fr[3] : (uint32_t)(vmcb->save.rsp + 3 * w);
	return true;
}

uint64_t svm_lost_nmi(struct vcpu *v)
{
	const struct vmcb *vmcb = to_svm(v)->vmcb;
	uint32_t code = (uint32_t)vmcb->ctl.exitcode;
	uint64_t lin, gpa;
	struct gmem_fault f;

	if ((code != SVM_EXIT_NPF && code != SVM_EXIT_PF) ||
	    !(vmcb->ctl.exitinfo1 & PF_ERR_I) || !nmi_handler(v, &lin) ||
	    lin == vmcb->save.cs.base + vmcb->save.rip)
		return 0;
	if (code == SVM_EXIT_PF ? vmcb->ctl.exitinfo2 != lin :
	    gmem_xlate(v, lin, GW_FETCH | GW_NO_AD, &gpa, &f) ||
	    gpa != vmcb->ctl.exitinfo2)
		return 0;
	if (!drop_nmi_frame(v, to_svm(v)->vmcb))
		return 0;
	pr_debug("svm: fetch fault at the NMI handler %lx with rip %lx: the NMI is injected again",
		 lin, vmcb->save.rip);
	return X86_TRAP_NMI | EVENTINJ_TYPE_NMI | EVENTINJ_VALID;
}

/*
 * QEMU 7.2's TCG: VMRUN takes the guest's DR7 from the VMCB but does not
 * arm the breakpoints it enables; only a MOV to DR7 does (fixed upstream
 * in 2024, helper_vmrun() calling cpu_x86_update_dr7()).  So while gdb
 * holds the debug registers (arch/x86/exit/dr.c) umbra writes the VMCB's
 * DR7 to its own just before VMRUN and 400h right after the #VMEXIT.  On
 * a CPU that follows the APM nothing changes: VMRUN loads the same DR7,
 * and #VMEXIT gives the host its DR7 back with every breakpoint disabled
 * (APM Vol 2 15.6); only the instructions up to VMRUN run with gdb's
 * breakpoints armed, at umbra's own addresses.
 */
void svm_dr7_around_vmrun(struct vcpu *v, const struct svm_vcpu *s,
			  bool before)
{
	uint64_t dr7 = before ? s->vmcb->save.dr7 : 0x400;

	if (v->own_dr.held)
		__asm__ volatile("mov %0, %%dr7" : : "r"(dr7));
}
