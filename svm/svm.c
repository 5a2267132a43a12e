// SPDX-License-Identifier: BSD-2-Clause
/*
 * The AMD SVM back end (AMD APM Vol 2, chapter 15).  Works without next-RIP
 * save, decode assists and flush-by-ASID (QEMU TCG has none of them) and
 * uses next-RIP save when the CPU has it.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/vcpu/smp.h"
#include "arch/x86/exit/cr.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/event.h"
#include "core/mem.h"
#include "arch/x86/vcpu/vcpu.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "svm/diag.h"
#include "svm/quirks.h"
#include "svm/vcpu.h"
#include "svm/vmcb.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

#define CPUID_SVM_ECX		(1u << 2)	/* 8000_0001h ECX */
#define SVM_FEAT_NP		(1u << 0)	/* 8000_000Ah EDX */
#define SVM_FEAT_NRIPS		(1u << 3)
#define SVM_FEAT_FLUSH_ASID	(1u << 6)
#define SVM_FEAT_DECODE_ASSIST	(1u << 7)
#define VM_CR_LOCK		(1u << 3)
#define VM_CR_SVMDIS		(1u << 4)

#define IOPM_PAGES		3
#define MSRPM_PAGES		2
#define GUEST_ASID		1

static struct {
	uint32_t features;
	uint32_t nr_asids;
} svm;

static struct svm_vcpu svm_vcpus[MAX_CPUS];	/* by CPU id */

void svm_vmrun(uint64_t vmcb_pa, struct vcpu_gprs *g);

static int svm_probe(char *why, size_t len)
{
	struct cpuid_regs r = cpuid(0x80000000);
	uint64_t vm_cr;

	if (r.eax < 0x8000000a || !(cpuid(0x80000001).ecx & CPUID_SVM_ECX)) {
		snprintf(why, len, "no SVM: CPUID 8000_0001h ECX[2] is clear (not an AMD-V CPU, or the hypervisor below umbra does not expose SVM)");
		return -UMBRA_ENODEV;
	}
	/* APM Vol 2 15.4: VM_CR.SVMDIS; Bochs raises #GP on the read */
	if (!rdmsr_safe(MSR_VM_CR, &vm_cr) && (vm_cr & VM_CR_SVMDIS)) {
		snprintf(why, len, "SVM is disabled by the firmware (VM_CR.SVMDIS=1%s): enable SVM/AMD-V in the firmware setup",
			 vm_cr & VM_CR_LOCK ? ", locked" : "");
		return -UMBRA_ENODEV;
	}
	r = cpuid(0x8000000a);
	svm.features = r.edx;
	svm.nr_asids = r.ebx;
	if (!(r.edx & SVM_FEAT_NP)) {
		snprintf(why, len, "SVM without nested paging (CPUID 8000_000Ah EDX[0] clear): umbra needs NPT");
		return -UMBRA_ENODEV;
	}
	return 0;
}

/* APM Vol 2 15.25.1: nested tables take the page sizes the host's tables can */
static int svm_tdp_max_level(void)
{
	return cpu_gbpages() ? 3 : 2;
}

static int svm_enable(void)
{
	void *hsave = page_alloc(1);

	if (!hsave)
		return -UMBRA_ENOMEM;
	this_cpu()->vmm_page = hsave;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, virt_to_phys(hsave));
	__asm__ volatile("clgi");
	if (!this_cpu()->id)	/* the APs enable it the same way */
		pr_info("svm: enabled: %u ASIDs, next-RIP save %s, decode assists %s, flush by ASID %s",
			svm.nr_asids, svm.features & SVM_FEAT_NRIPS ? "yes" : "no",
			svm.features & SVM_FEAT_DECODE_ASSIST ? "yes" : "no",
			svm.features & SVM_FEAT_FLUSH_ASID ? "yes" : "no");
	return 0;
}

/* APM Vol 2 15.9, Table 15-7 (VMCB offset 0Ch bit 24): intercept HLT */
static void svm_intercept_hlt(struct vcpu *v, bool on)
{
	struct vmcb *vmcb = to_svm(v)->vmcb;

	if (on)
		vmcb->ctl.intercept3 |= INTERCEPT_HLT;
	else
		vmcb->ctl.intercept3 &= ~INTERCEPT_HLT;
}

/* APM Vol 2 15.10.1: one bit per port, 12 KiB */
static void svm_intercept_io(struct vcpu *v, uint16_t port, bool on)
{
	uint8_t *iopm = to_svm(v)->iopm;

	if (on)
		iopm[port / 8] |= 1u << (port % 8);
	else
		iopm[port / 8] &= ~(1u << (port % 8));
}

/* APM Vol 2 15.11: two bits per MSR (read, write) in three 2 KiB ranges */
static void svm_intercept_msr(struct vcpu *v, uint32_t msr, bool read, bool write)
{
	uint8_t *msrpm = to_svm(v)->msrpm;
	uint32_t base, bit;

	if (msr <= 0x1fff)
		base = 0;
	else if (msr >= 0xc0000000 && msr <= 0xc0001fff)
		base = 0x800;
	else if (msr >= 0xc0010000 && msr <= 0xc0011fff)
		base = 0x1000;
	else
		panic("svm: MSR %x outside the permission map", msr);
	bit = (msr & 0x1fff) * 2;
	msrpm[base + bit / 8] &= ~(3u << (bit % 8));
	msrpm[base + bit / 8] |= (read ? 1u : 0) << (bit % 8) |
				 (write ? 2u : 0) << (bit % 8);
}

static int svm_create(struct vcpu *v)
{
	struct svm_vcpu *s = &svm_vcpus[this_cpu()->id];
	struct vmcb *vmcb;

	s->vmcb = page_alloc(1);
	s->iopm = page_alloc(IOPM_PAGES);
	s->msrpm = page_alloc(MSRPM_PAGES);
	if (!s->vmcb || !s->iopm || !s->msrpm)
		return -UMBRA_ENOMEM;
	v->arch = s;
	svm_note_apic_window();
	vmcb = s->vmcb;
	vmcb->ctl.intercept3 = INTERCEPT_CPUID | INTERCEPT_IOIO | INTERCEPT_MSR |
			       INTERCEPT_SHUTDOWN | INTERCEPT_INIT |
			       INTERCEPT_INVLPGA | INTERCEPT_INVD;
	/* VMRUN must be intercepted (APM 15.5.1); the others hide SVM */
	vmcb->ctl.intercept4 = INTERCEPT_VMRUN | INTERCEPT_VMMCALL |
			       INTERCEPT_VMLOAD | INTERCEPT_VMSAVE |
			       INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT;
	vmcb->ctl.iopm_base_pa = virt_to_phys(s->iopm);
	vmcb->ctl.msrpm_base_pa = virt_to_phys(s->msrpm);
	vmcb->ctl.asid = GUEST_ASID;
	vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
	if (!v->mmu->nested) {
		/* APM Vol 2 15.12, 15.8.1: #PF, CRn, INVLPG, task switches */
		vmcb->ctl.intercept_exc |= 1u << 14;
		for (int n = 0; n <= 4; n++)
			if (n != 1 && n != 2)
				vmcb->ctl.intercept_cr |= INTERCEPT_CR_READ(n) |
							  INTERCEPT_CR_WRITE(n);
		vmcb->ctl.intercept3 |= INTERCEPT_INVLPG | INTERCEPT_TASK_SWITCH;
		vmcb->ctl.np_enable = 0;
	} else {
		vmcb->ctl.np_enable = 1;
		/*
		 * CR4 writes are intercepted under NPT too (APM Vol 2 15.9,
		 * 15.8.1), and checked by arch/x86/exit/cr.c.  A real AMD CPU
		 * raises #GP itself on a reserved bit, but QEMU TCG lets the
		 * write through and the next VMRUN fails (EMULATORS.md); the
		 * guest would then stop where the architecture gives it a
		 * #GP.  The cost is an exit per CR4 write, rare in guests
		 * (KVM intercepts them on SVM always); CR0 writes are
		 * intercepted only in the deferred-LME window below.
		 */
		vmcb->ctl.intercept_cr |= INTERCEPT_CR_WRITE(4);
	}
	vmcb->save.g_pat = 0x0007040600070406ull;	/* the power-on PAT */
	vmcb->save.efer = EFER_SVME;
	vmcb->save.dr6 = 0xffff0ff0;
	vmcb->save.dr7 = 0x400;
	vmcb->save.rflags = RFLAGS_FIXED;
	return 0;
}

static struct vmcb_seg *seg_of(struct vmcb *vmcb, enum vcpu_seg s)
{
	switch (s) {
	case SEG_ES: return &vmcb->save.es;
	case SEG_CS: return &vmcb->save.cs;
	case SEG_SS: return &vmcb->save.ss;
	case SEG_DS: return &vmcb->save.ds;
	case SEG_FS: return &vmcb->save.fs;
	case SEG_GS: return &vmcb->save.gs;
	case SEG_LDTR: return &vmcb->save.ldtr;
	case SEG_TR: return &vmcb->save.tr;
	case SEG_GDTR: return &vmcb->save.gdtr;
	default: return &vmcb->save.idtr;
	}
}

static void svm_get_seg(struct vcpu *v, enum vcpu_seg s, struct segment *out)
{
	struct vmcb_seg *vs = seg_of(to_svm(v)->vmcb, s);

	*out = (struct segment){ vs->sel, vs->attr, vs->limit, vs->base };
}

static void svm_set_seg(struct vcpu *v, enum vcpu_seg s, const struct segment *in)
{
	struct vmcb *vmcb = to_svm(v)->vmcb;
	struct vmcb_seg *vs = seg_of(vmcb, s);

	*vs = (struct vmcb_seg){ in->sel, in->attr, in->limit, in->base };
	if (s == SEG_SS)	/* APM 15.5.1: CPL comes from the VMCB */
		vmcb->save.cpl = (in->attr >> 5) & 3;
}

static uint64_t *reg_of(struct vmcb *vmcb, enum vcpu_reg r)
{
	switch (r) {
	case VCPU_RIP: return &vmcb->save.rip;
	case VCPU_RSP: return &vmcb->save.rsp;
	case VCPU_RFLAGS: return &vmcb->save.rflags;
	case VCPU_CR0: return &vmcb->save.cr0;
	case VCPU_CR2: return &vmcb->save.cr2;
	case VCPU_CR3: return &vmcb->save.cr3;
	case VCPU_CR4: return &vmcb->save.cr4;
	case VCPU_EFER: return &vmcb->save.efer;
	case VCPU_DR6: return &vmcb->save.dr6;
	case VCPU_DR7: return &vmcb->save.dr7;
	default: return &vmcb->save.g_pat;
	}
}

/* Shadow paging: the guest's view of CR0/CR3/CR4/EFER (vcpu.h) */
static uint64_t *shadow_reg(struct vcpu *v, enum vcpu_reg r)
{
	switch (r) {
	case VCPU_CR0: return &v->gcr.cr0;
	case VCPU_CR3: return &v->gcr.cr3;
	case VCPU_CR4: return &v->gcr.cr4;
	case VCPU_EFER: return &v->gcr.efer;
	default: return NULL;
	}
}

/* The guest never sees EFER.SVME: VMRUN requires it set (APM 15.5.1). */
static uint64_t svm_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	struct svm_vcpu *s = to_svm(v);
	uint64_t val = *reg_of(s->vmcb, r);

	if (!v->mmu->nested && shadow_reg(v, r))
		return *shadow_reg(v, r);

	if (r != VCPU_EFER)
		return val;
	return (val & ~EFER_SVME) | (s->lme_deferred ? EFER_LME : 0);
}

static void svm_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
	struct svm_vcpu *s = to_svm(v);

	if (!v->mmu->nested && shadow_reg(v, r)) {
		*shadow_reg(v, r) = val;
		return;
	}
	/*
	 * VMRUN loads the guest's CR2 from the VMCB (APM Vol 2 15.5.1); Bochs
	 * 2.7 (ryzen model) was seen to leave the processor's CR2 instead,
	 * so the register gets the value too: umbra never uses CR2 itself.
	 */
	if (r == VCPU_CR2)
		write_cr2(val);
	if (r == VCPU_EFER) {
		s->lme_deferred = false;
		val |= EFER_SVME;
	}
	*reg_of(s->vmcb, r) = val;
	if (r == VCPU_EFER || r == VCPU_CR0 || r == VCPU_CR4)
		svm_sync_deferred_lme(v, s);
}

/* Shadow paging: the hardware's paging registers (arch/x86/paging/shadow.c) */
static void svm_set_paging_regs(struct vcpu *v, uint64_t cr0, uint64_t cr3,
				uint64_t cr4, uint64_t efer)
{
	struct vmcb *vmcb = to_svm(v)->vmcb;

	vmcb->save.cr0 = cr0;
	vmcb->save.cr3 = cr3;
	vmcb->save.cr4 = cr4;
	vmcb->save.efer = efer | EFER_SVME;
}

static void svm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error,
				 uint32_t error)
{
	struct svm_vcpu *s = to_svm(v);

	bool exc = (s->reinject & EVENTINJ_VALID) &&
		   (s->reinject & EVENTINJ_TYPE_MASK) == EVENTINJ_TYPE_EXC;

	/* during the delivery of another exception (APM 15.7.2): event.h */
	if (!x86_exc_combine(exc ? (int)(s->reinject & EVENTINJ_VECTOR_MASK) : -1,
			     &vector, &has_error, &error)) {
		s->shutdown = true;
		s->reinject = 0;
		return;
	}
	/* real mode pushes no error code (APM Vol 2 8.9.1): paged real mode */
	if (!(v->ops->get_reg(v, VCPU_CR0) & CR0_PE))
		has_error = false;
	s->vmcb->ctl.event_inj = vector | EVENTINJ_TYPE_EXC | EVENTINJ_VALID |
				 (has_error ? EVENTINJ_EV | (uint64_t)error << 32 : 0);
	s->reinject = 0;
}

/*
 * ops->single_step with RFLAGS.TF and #DB intercepted: the single-step
 * trap comes after one instruction (APM Vol 2 13.1.2.3 "Single Step"),
 * before any #DB delivery (exception intercepts, 15.12).  So that the
 * guest never sees the TF: V_INTR_MASKING with umbra's RFLAGS.IF clear
 * holds physical interrupts off during the step (15.21.1), every
 * exception but NMI, #BP, #OF and #MC is intercepted for the step and
 * delivered after it without TF in its frame, and a #DB the guest should
 * see (its own TF, or its breakpoints in DR6 B0-B3) is delivered after it
 * too.  arch/x86/paging/shadow.c mends a PUSHF.  Not covered: an NMI or an INT n in
 * the stepped instruction, and an interrupt shadow (MOV SS) that delays
 * the trap by one instruction.
 */
#define VINTR_MASKING		(1ull << 24)	/* APM Vol 2 Table B-1, 60h */
#define DR6_BS			(1ull << 14)
#define STEP_EXC		(~((1u << 2) | (1u << 3) | (1u << 4) | (1u << 18)))
#define EXC_HAS_ERROR		((1u << 8) | (1u << 10) | (1u << 11) | \
				 (1u << 12) | (1u << 13) | (1u << 14) | \
				 (1u << 17) | (1u << 21) | (1u << 29) | \
				 (1u << 30))

static void svm_single_step(struct vcpu *v, bool on)
{
	struct svm_vcpu *s = to_svm(v);
	struct vmcb *vmcb = s->vmcb;

	if (on && !s->step.on) {
		s->step.on = true;
		s->step.tf = vmcb->save.rflags & RFLAGS_TF;
		s->step.vintr = vmcb->ctl.vintr & VINTR_MASKING;
		s->step.exc = vmcb->ctl.intercept_exc;
		s->step.held = 0;
		vmcb->save.rflags |= RFLAGS_TF;
		vmcb->ctl.vintr |= VINTR_MASKING;
		vmcb->ctl.intercept_exc |= STEP_EXC;
	} else if (!on && s->step.on) {
		s->step.on = false;
		vmcb->save.rflags = (vmcb->save.rflags & ~RFLAGS_TF) | s->step.tf;
		vmcb->ctl.vintr = (vmcb->ctl.vintr & ~VINTR_MASKING) | s->step.vintr;
		vmcb->ctl.intercept_exc = s->step.exc;
		if (s->step.held && !(vmcb->ctl.event_inj & EVENTINJ_VALID))
			vmcb->ctl.event_inj = s->step.held;
	}
}

/* An exception intercepted for the step (not #PF: that one is EXIT_PAGE_FAULT). */
static void step_exception(struct svm_vcpu *s, struct vcpu_exit *e,
			   unsigned int vector)
{
	struct vmcb *vmcb = s->vmcb;

	if (vector == 3) {	/* gdb's (ops->intercept_bp): RIP at the INT3 */
		e->reason = EXIT_BREAKPOINT;
		return;
	}
	if (vector == 1 && !s->step.on) {	/* ops->intercept_dr */
		e->reason = EXIT_DEBUG;
		e->debug.dr6 = vmcb->save.dr6;
		vmcb->save.dr6 = 0xffff0ff0;	/* gdb's now: status read */
		return;
	}
	e->reason = s->step.on ? EXIT_SINGLE_STEP : EXIT_OTHER;
	if (!s->step.on)
		return;
	if (vector == 1 && !s->step.tf && !(vmcb->save.dr6 & 0xf)) {
		vmcb->save.dr6 &= ~DR6_BS;	/* the trap was umbra's alone */
		return;
	}
	s->step.held = vector | EVENTINJ_TYPE_EXC | EVENTINJ_VALID;
	if (EXC_HAS_ERROR & (1u << vector))
		s->step.held |= EVENTINJ_EV | vmcb->ctl.exitinfo1 << 32;
}

/*
 * #BP exits for gdb (APM Vol 2 15.12); a step keeps it (STEP_EXC lacks 3).
 * The INTn intercept too (APM Vol 2 15.9, Table 15-7): QEMU's TCG checks
 * INT3 against it instead of the #BP exception intercept (svm/quirks.c).
 * Both exit before the instruction runs, RIP at it.
 */
static void svm_intercept_bp(struct vcpu *v, bool on)
{
	struct svm_vcpu *s = to_svm(v);
	uint32_t bit = 1u << 3;

	s->vmcb->ctl.intercept_exc = on ? s->vmcb->ctl.intercept_exc | bit :
					  s->vmcb->ctl.intercept_exc & ~bit;
	s->step.exc = on ? s->step.exc | bit : s->step.exc & ~bit;
	s->vmcb->ctl.intercept3 = on ? s->vmcb->ctl.intercept3 | INTERCEPT_INTN :
				       s->vmcb->ctl.intercept3 & ~INTERCEPT_INTN;
}

/*
 * MOV DR0-DR7 exits (APM Vol 2 15.11; the exit codes 20h-3Fh, Appendix C)
 * and #DB exits (15.12) for gdb's debug registers (arch/x86/exit/dr.c).
 */
static void svm_intercept_dr(struct vcpu *v, bool on)
{
	struct svm_vcpu *s = to_svm(v);
	uint32_t bit = 1u << 1;

	s->vmcb->ctl.intercept_dr = on ? 0x00ff00ffu : 0;
	s->vmcb->ctl.intercept_exc = on ? s->vmcb->ctl.intercept_exc | bit :
					  s->vmcb->ctl.intercept_exc & ~bit;
	s->step.exc = on ? s->step.exc | bit : s->step.exc & ~bit;
}

/* INT n the guest's own, after an INTn exit (APM Vol 2 15.20 TYPE 4) */
static void svm_inject_soft_int(struct vcpu *v, uint8_t vector)
{
	to_svm(v)->vmcb->ctl.event_inj = vector | EVENTINJ_TYPE_SOFT |
					 EVENTINJ_VALID;
}

static void svm_set_tdp_root(struct vcpu *v, uint64_t root_pa)
{
	to_svm(v)->vmcb->ctl.n_cr3 = root_pa;
	to_svm(v)->vmcb->ctl.tlb_control = TLB_CONTROL_FLUSH_ALL;
}

/* TLB_CONTROL=1 flushes every ASID: TCG has no flush-by-ASID (APM 15.16) */
static void svm_flush_tlb(struct vcpu *v)
{
	to_svm(v)->vmcb->ctl.tlb_control = svm.features & SVM_FEAT_FLUSH_ASID ?
		TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
}

/* APM Vol 3 INVLPGA: the page of rAX in the ASID in ECX, now */
static void svm_flush_tlb_va(struct vcpu *v, uint64_t va)
{
	__asm__ volatile("invlpga %%rax, %%ecx" : : "a"(va), "c"(GUEST_ASID)
			 : "memory");
}

static void decode_io(struct vcpu_exit *e, uint64_t info1)
{
	/* APM Vol 2 15.10.2, EXITINFO1 for IOIO */
	e->io.in = info1 & 1;
	e->io.string = info1 & (1u << 2);
	e->io.rep = info1 & (1u << 3);
	e->io.size = info1 & (1u << 4) ? 1 : info1 & (1u << 5) ? 2 : 4;
	e->io.port = (uint16_t)(info1 >> 16);
}

static void decode_exit(struct svm_vcpu *s, struct vcpu_exit *e)
{
	struct vmcb *vmcb = s->vmcb;
	uint32_t code = (uint32_t)vmcb->ctl.exitcode;
	bool nrips = (svm.features & SVM_FEAT_NRIPS) && vmcb->ctl.next_rip;

	e->raw = vmcb->ctl.exitcode;
	e->info1 = vmcb->ctl.exitinfo1;
	e->info2 = vmcb->ctl.exitinfo2;
	e->insn_len = 0;
	if (code <= SVM_EXIT_CR15_WRITE) {
		/* APM Vol 2 15.8.1: with decode assists EXITINFO1[63] says
		   MOV CRn, and bits 3:0 name its register */
		bool mov = (svm.features & SVM_FEAT_DECODE_ASSIST) &&
			   (e->info1 & EXITINFO1_CR_MOV);

		e->reason = code >= SVM_EXIT_CR0_WRITE ? EXIT_CR_WRITE : EXIT_CR_READ;
		e->cr.n = (int)(code & 15);
		e->cr.type = mov ? CR_ACCESS_MOV : CR_ACCESS_UNKNOWN;
		e->cr.gpr = mov ? (int)(e->info1 & 15) : -1;
		e->cr.lmsw = 0;
		if (nrips)
			e->insn_len = (uint8_t)(vmcb->ctl.next_rip - vmcb->save.rip);
		return;
	}
	if (code >= SVM_EXIT_DR0_READ && code <= SVM_EXIT_DR15_WRITE) {
		/* decode assists: EXITINFO1[3:0] is the GPR (15.33.1) */
		e->reason = EXIT_DR_ACCESS;
		e->dr.n = (int)(code & 15);
		e->dr.write = code >= SVM_EXIT_DR0_WRITE;
		e->dr.gpr = (svm.features & SVM_FEAT_DECODE_ASSIST) ?
			    (int)(e->info1 & 15) : -1;
		if (nrips)
			e->insn_len = (uint8_t)(vmcb->ctl.next_rip - vmcb->save.rip);
		return;
	}
	switch (code) {
	case SVM_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->insn_len = 2;
		break;
	case SVM_EXIT_IOIO:
		e->reason = EXIT_IO;
		decode_io(e, e->info1);
		e->insn_len = (uint8_t)(e->info2 - vmcb->save.rip);	/* next RIP */
		return;
	case SVM_EXIT_MSR:
		e->reason = e->info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->insn_len = 2;
		break;
	case SVM_EXIT_NPF:
		/* APM 15.25.6: EXITINFO1 is a #PF error code, EXITINFO2 the GPA */
		e->reason = EXIT_TDP_FAULT;
		e->tdp.gpa = e->info2;
		e->tdp.write = e->info1 & (1u << 1);
		e->tdp.exec = e->info1 & (1u << 4);
		e->tdp.read = !e->tdp.write && !e->tdp.exec;
		return;
	case SVM_EXIT_PF:
		/* APM Vol 2 15.12: EXITINFO1 the error code, EXITINFO2 the
		   address; the guest's CR2 is not written */
		e->reason = EXIT_PAGE_FAULT;
		e->pf.error_code = (uint32_t)e->info1;
		e->pf.addr = e->info2;
		return;
	case SVM_EXIT_INVLPG:
		/* APM Vol 2 15.8.2: EXITINFO1 is the address with decode assists */
		e->reason = EXIT_INVLPG;
		e->invlpg.valid = svm.features & SVM_FEAT_DECODE_ASSIST;
		e->invlpg.gva = e->info1;
		if (nrips)
			e->insn_len = (uint8_t)(vmcb->ctl.next_rip - vmcb->save.rip);
		return;
	case SVM_EXIT_TASK_SWITCH:
		e->reason = EXIT_TASK_SWITCH;
		return;
	case SVM_EXIT_SHUTDOWN:
		e->reason = EXIT_TRIPLE_FAULT;
		return;
	case SVM_EXIT_INIT:
		e->reason = EXIT_INIT;
		return;
	case SVM_EXIT_VMMCALL:
		e->reason = EXIT_HYPERCALL;
		e->insn_len = 3;
		break;
	case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI: case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		e->reason = EXIT_VIRT_INSN;
		e->insn_len = 3;
		break;
	case SVM_EXIT_INTR:
		e->reason = EXIT_INTR;
		return;
	case SVM_EXIT_EXCP_BASE ... SVM_EXIT_PF - 1:
	case SVM_EXIT_PF + 1 ... SVM_EXIT_EXCP_BASE + 31:
		step_exception(s, e, code - SVM_EXIT_EXCP_BASE);
		return;
	case SVM_EXIT_SWINT:	/* ops->intercept_bp: INT3 or INT n at RIP */
		e->reason = EXIT_BREAKPOINT;
		return;
	case SVM_EXIT_NMI:	/* taken by umbra's IDT already (svm_run()) */
	case SVM_EXIT_IRET:	/* track_nmi_blocking(); the IRET runs next */
		e->reason = EXIT_INTR;
		return;
	case SVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		e->insn_len = 1;
		break;
	case SVM_EXIT_INVD:
		e->reason = EXIT_INVD;
		e->insn_len = 2;
		break;
	case SVM_EXIT_INVALID:
		e->reason = EXIT_FAILED_ENTRY;
		pr_err("svm: VMRUN refused the VMCB: EVENTINJ %lx, CR0 %lx CR3 %lx CR4 %lx EFER %lx",
		       s->injected, vmcb->save.cr0, vmcb->save.cr3, vmcb->save.cr4,
		       vmcb->save.efer);
		return;
	default:
		e->reason = EXIT_OTHER;
		return;
	}
	/* without next-RIP save the lengths above assume no prefixes */
	if (nrips)
		e->insn_len = (uint8_t)(vmcb->ctl.next_rip - vmcb->save.rip);
}

/*
 * EXITINTINFO as VMRUN may inject it again (APM Vol 2 15.7.2, 15.20).
 * A software interrupt (INT n) and INT3/INTO are not injected again: RIP
 * still points at the instruction, which runs again, so that the return
 * address it pushes is the one after it without next-RIP save.  QEMU's
 * TCG records every other event it was delivering as an exception,
 * external interrupts and NMIs included; VMRUN then refuses an exception
 * vector above 31.  Only interrupts have such vectors, and 2 is the NMI.
 */
static uint64_t reinjectable(uint64_t info)
{
	uint64_t type = info & EVENTINJ_TYPE_MASK;
	uint64_t vector = info & EVENTINJ_VECTOR_MASK;

	/*
	 * Bochs 2.7 leaves the vector of an external interrupt out
	 * (EXITINTINFO 0x80000000 for vector 0x40).  The APIC never delivers
	 * vectors below 16 (SDM Vol 3 11.5.2), so 0 means "not recorded".
	 */
	if (type == EVENTINJ_TYPE_INTR && vector == 0) {
		vector = svm_in_service_vector();
		if (vector < 32)	/* not found: nothing to deliver */
			return 0;
		info |= vector;
	}

	if (type == EVENTINJ_TYPE_SOFT ||
	    (type == EVENTINJ_TYPE_EXC && (vector == 3 || vector == 4)))
		return 0;
	if (type != EVENTINJ_TYPE_EXC)
		return info;
	info &= ~EVENTINJ_TYPE_MASK;
	if (vector >= 32)
		return info | EVENTINJ_TYPE_INTR;
	if (vector == 2)
		return info | EVENTINJ_TYPE_NMI;
	return info | EVENTINJ_TYPE_EXC;
}

/*
 * The event of this VMRUN: one umbra injects, or else the one whose
 * delivery the last exit cut short; a fault-class exception with RF in
 * the RFLAGS it pushes (event.h, x86_event_sets_rf()).
 */
static void svm_write_event(struct svm_vcpu *s)
{
	struct vmcb *vmcb = s->vmcb;

	if (s->reinject && !(vmcb->ctl.event_inj & EVENTINJ_VALID))
		vmcb->ctl.event_inj = s->reinject;
	s->reinject = 0;
	if (x86_event_sets_rf(vmcb->ctl.event_inj))
		vmcb->save.rflags |= RFLAGS_RF;
}

/*
 * umbra never sets GIF in root mode (svm_enable() clears it, #VMEXIT
 * clears it again, APM Vol 2 15.17): from then on an NMI waits while
 * umbra runs and is taken by the guest at the next VMRUN (15.17.1),
 * which owns the devices; no NMI intercept.  Only an NMI from before
 * that can have reached umbra's IDT (arch/x86/idt.c): the guest has not
 * run, so nothing of its own blocks it; one is injected (EVENTINJ type
 * 2, 15.20) at the first VMRUN.
 */
/*
 * With more than one vCPU NMIs are intercepted (the kicks, arch/x86/vcpu/
 * smp.c) and umbra injects the guest's own, so it keeps the guest's NMI
 * blocking as the CPU would (SDM Vol 3 6.7.1: until the handler's IRET):
 * after an injection IRET is intercepted (APM Vol 2 15.9: before it
 * executes), and NMIs stay held until the exit after it.
 */
enum { NMI_IN_HANDLER = 1, NMI_IRET };

static void track_nmi_blocking(struct svm_vcpu *s)
{
	struct vmcb *vmcb = s->vmcb;

	if (s->nmi_blocked == NMI_IRET)
		s->nmi_blocked = 0;	/* the IRET has run */
	if ((uint32_t)vmcb->ctl.exitcode == SVM_EXIT_IRET) {
		s->nmi_blocked = NMI_IRET;
		vmcb->ctl.intercept3 &= ~INTERCEPT_IRET;
	}
}

static void inject_early_nmi(struct vcpu *v, struct svm_vcpu *s)
{
	if (s->ran && nr_vcpus < 2)
		return;
	s->ran = true;
	if (host_nmi_take())
		vcpu_nmi_add(v);
	if (!v->nmi_pending || (s->vmcb->ctl.event_inj & EVENTINJ_VALID) ||
	    s->nmi_blocked)
		return;
	s->vmcb->ctl.event_inj = X86_TRAP_NMI | EVENTINJ_TYPE_NMI | EVENTINJ_VALID;
	if (nr_vcpus > 1) {
		s->nmi_blocked = NMI_IN_HANDLER;
		s->vmcb->ctl.intercept3 |= INTERCEPT_IRET;
	}
	v->nmi_pending = 0;
	v->nmis_injected++;
}

static void svm_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct svm_vcpu *s = to_svm(v);
	struct vmcb *vmcb = s->vmcb;
	struct percpu *pc = this_cpu();

	if (s->shutdown) {
		/* as the SHUTDOWN intercept (APM Vol 2 15.9) would report it */
		*e = (struct vcpu_exit){ .reason = EXIT_TRIPLE_FAULT,
					 .raw = SVM_EXIT_SHUTDOWN };
		return;
	}
	svm_write_event(s);
	inject_early_nmi(v, s);
	s->injected = vmcb->ctl.event_inj;
	if (nr_vcpus > 1)	/* kicks (arch/x86/vcpu/smp.c) */
		vmcb->ctl.intercept3 |= INTERCEPT_NMI;
	vmcb->save.rax = v->gprs.rax;
	svm_dr7_around_vmrun(v, s, true);
	svm_vmrun(virt_to_phys(vmcb), &v->gprs);
	svm_dr7_around_vmrun(v, s, false);
	percpu_reload(pc);
	/*
	 * An intercepted NMI is still pending (APM Vol 2 15.17.1: held while
	 * GIF is clear): take it through umbra's IDT now, where a kick is
	 * counted off and the guest's is held for injection (host_nmi()).
	 */
	if ((uint32_t)vmcb->ctl.exitcode == SVM_EXIT_NMI)
		__asm__ volatile("stgi; clgi" ::: "memory");
	track_nmi_blocking(s);
	v->gprs.rax = vmcb->save.rax;
	vmcb->ctl.tlb_control = TLB_CONTROL_NONE;
	/* an event whose delivery was cut short must be delivered again (APM 15.7.2) */
	e->in_delivery = false;
	if (svm_stale_exitintinfo(v)) {
		pr_debug("svm: exit %lx: EXITINTINFO %lx names a #PF umbra did not inject: ignored",
			 vmcb->ctl.exitcode, vmcb->ctl.exitintinfo);
		s->reinject = svm_lost_interrupt(v, true);
	} else if (vmcb->ctl.exitintinfo & EVENTINJ_VALID) {
		e->in_delivery = true;
		s->reinject = reinjectable(vmcb->ctl.exitintinfo);
		pr_debug("svm: exit %lx during event delivery: EXITINTINFO %lx, injected again as %lx",
			 vmcb->ctl.exitcode, vmcb->ctl.exitintinfo, s->reinject);
	} else if (!(s->injected & EVENTINJ_VALID)) {
		s->reinject = !v->mmu->nested ? svm_lost_interrupt(v, false) : 0;
		if (!s->reinject)
			s->reinject = svm_lost_nmi(v);
	}
	vmcb->ctl.event_inj = 0;
	e->in_delivery |= s->reinject != 0;
	decode_exit(s, e);
	if (e->reason == EXIT_FAILED_ENTRY)
		svm_diag_invalid(v, vmcb, cr4_allowed(v) | CR4_PAE);
}

static const char *svm_exit_name(uint64_t raw)
{
	switch ((uint32_t)raw) {
	case SVM_EXIT_CPUID: return "CPUID";
	case SVM_EXIT_IOIO: return "IOIO";
	case SVM_EXIT_MSR: return "MSR";
	case SVM_EXIT_NPF: return "NPF";
	case SVM_EXIT_PF: return "#PF";
	case SVM_EXIT_INVLPG: return "INVLPG";
	case SVM_EXIT_TASK_SWITCH: return "task switch";
	case SVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case SVM_EXIT_INIT: return "INIT";
	case SVM_EXIT_VMMCALL: return "VMMCALL";
	case SVM_EXIT_VMRUN: return "VMRUN";
	case SVM_EXIT_VMLOAD: return "VMLOAD";
	case SVM_EXIT_VMSAVE: return "VMSAVE";
	case SVM_EXIT_STGI: return "STGI";
	case SVM_EXIT_CLGI: return "CLGI";
	case SVM_EXIT_SKINIT: return "SKINIT";
	case SVM_EXIT_INVLPGA: return "INVLPGA";
	case SVM_EXIT_INVD: return "INVD";
	case SVM_EXIT_HLT: return "HLT";
	case SVM_EXIT_INTR: return "INTR";
	case SVM_EXIT_NMI: return "NMI";
	case SVM_EXIT_INVALID: return "INVALID";
	default: return "?";
	}
}

const struct vcpu_ops svm_ops = {
	.name = "svm",
	.shadow_real_mode = true,
	.probe = svm_probe,
	.tdp_max_level = svm_tdp_max_level,
	.enable = svm_enable,
	.create = svm_create,
	.run = svm_run,
	.get_reg = svm_get_reg,
	.set_reg = svm_set_reg,
	.get_seg = svm_get_seg,
	.set_seg = svm_set_seg,
	.inject_exception = svm_inject_exception,
	.set_tdp_root = svm_set_tdp_root,
	.flush_tlb = svm_flush_tlb,
	.flush_tlb_va = svm_flush_tlb_va,
	.set_paging_regs = svm_set_paging_regs,
	.intercept_io = svm_intercept_io,
	.intercept_hlt = svm_intercept_hlt,
	.intercept_msr = svm_intercept_msr,
	.exit_name = svm_exit_name,
	.single_step = svm_single_step,
	.intercept_bp = svm_intercept_bp,
	.inject_soft_int = svm_inject_soft_int,
	.intercept_dr = svm_intercept_dr,
};
