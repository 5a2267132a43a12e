// SPDX-License-Identifier: BSD-2-Clause
/*
 * The Intel VMX back end (SDM Vol 3, chapters 23-31): EPT from the TDP MMU,
 * VPID, unrestricted guest.  Same shape and behaviour as svm/svm.c; the
 * feature check and the controls are in vmx/caps.c, the world switch in
 * vmx/vmentry.asm, guest-state diagnosis of a failed entry in vmx/diag.c.
 * With mmu=shadow EPT and unrestricted guest are off: the guest runs on the
 * shadow MMU's tables with the real CR0.PE/PG set, reads its own CR0/CR4
 * through the read shadows (every bit host-owned), and #PF, MOV to/from
 * CR3, INVLPG and task switches exit to arch/x86/paging/shadow.c.  Its
 * real mode runs with both on, on the TDP map, the intercepts unchanged
 * (vmx_shadow_use_tdp()).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/event.h"
#include "core/mem.h"
#include "arch/x86/vcpu/vcpu.h"
#include "arch/x86/paging/tdp.h"
#include "lib/string.h"
#include "mmu/tdp/tdp.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"
#include "vmx/diag.h"
#include "vmx/vmcs.h"
#include "vmx/caps.h"
#include "vmx/quirks.h"
#include "vmx/vcpu.h"

#define CPUID_XSAVE_ECX	(1u << 26)
#define GUEST_VPID	1
#define HOST_CS		0x08
#define HOST_DS		0x10
#define HOST_TR		0x18
#define PAT_POWER_ON	0x0007040600070406ull

static struct vmx_vcpu vmx_vcpus[MAX_CPUS];	/* by CPU id */

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

int vmx_enter(struct vcpu_gprs *g, int launched);
extern char vmx_exit_point[];

void vmcs_failed(const char *op, uint32_t field)
{
	panic("vmx: %s of VMCS field %04x failed (VM-instruction error %lu)",
	      op, field, field == VM_INSTRUCTION_ERROR ? 0 :
	      vmcs_read(VM_INSTRUCTION_ERROR));
}

static int vmx_probe(char *why, size_t len)
{
	return vmx_caps_probe(why, len);
}

static void host_tables_init(void)
{
	struct percpu *pc = this_cpu();
	uint64_t *host_gdt = pc->host_gdt;
	uint32_t *host_tss = pc->host_tss;
	uint64_t tss = (uint64_t)host_tss, limit = sizeof(pc->host_tss) - 1;
	struct table_ptr gp;

	__asm__ volatile("sgdt %0" : "=m"(gp));
	memcpy(host_gdt, (void *)gp.base, MIN(gp.limit + 1u, 3 * sizeof(uint64_t)));
	host_tss[25] = (uint32_t)sizeof(pc->host_tss) << 16;	/* no I/O bitmap */
	/* SDM Vol 3 7.2.3: 64-bit available TSS descriptor, 16 bytes */
	host_gdt[3] = (limit & 0xffff) | (tss & 0xffffff) << 16 | 0x89ull << 40 |
		      ((limit >> 16) & 0xf) << 48 | ((tss >> 24) & 0xff) << 56;
	host_gdt[4] = tss >> 32;
	gp = (struct table_ptr){ sizeof(pc->host_gdt) - 1, (uint64_t)host_gdt };
	__asm__ volatile("lgdt %0" : : "m"(gp));
	__asm__ volatile("ltr %w0" : : "r"(HOST_TR));
}

/* SDM Vol 3 23.7, 23.8: FEATURE_CONTROL, fixed CR0/CR4 bits, VMXON */
/* SDM Vol 3 A.10: the EPT page sizes the CPU supports */
static int vmx_tdp_max_level(void)
{
	if (vmx_caps.ept_vpid & EPT_CAP_1G)
		return 3;
	return (vmx_caps.ept_vpid & EPT_CAP_2M) ? 2 : 1;
}

static int vmx_enable(void)
{
	uint64_t fc = 0, pa;
	void *vmxon;
	bool fail;

	rdmsr_safe(MSR_FEATURE_CONTROL, &fc);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX);
	write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	/* OSXSAVE: umbra executes the guest's XSETBV for it */
	write_cr4((read_cr4() | vmx_caps.cr4_fixed0 | CR4_VMXE |
		   (cpuid(1).ecx & CPUID_XSAVE_ECX ? CR4_OSXSAVE : 0)) &
		  vmx_caps.cr4_fixed1);
	vmxon = page_alloc(1);
	if (!vmxon)
		return -UMBRA_ENOMEM;
	this_cpu()->vmm_page = vmxon;
	*(uint32_t *)vmxon = VMX_BASIC_REVISION(vmx_caps.basic);
	pa = virt_to_phys(vmxon);
	__asm__ volatile("vmxon %1" : "=@ccbe"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		panic("vmx: VMXON failed (FEATURE_CONTROL %lx, CR0 %lx, CR4 %lx)",
		      rdmsr(MSR_FEATURE_CONTROL), read_cr0(), read_cr4());
	host_tables_init();
	if (!this_cpu()->id)	/* the APs enable it the same way */
		pr_info("vmx: enabled: VMCS revision %x, %s controls, EPT%s%s, VPID %s, INVEPT %s",
			VMX_BASIC_REVISION(vmx_caps.basic),
			vmx_caps.basic & VMX_BASIC_TRUE_CTLS ? "TRUE" : "default1",
			vmx_caps.ept_vpid & EPT_CAP_2M ? " 2M" : "",
			vmx_caps.ept_vpid & EPT_CAP_1G ? " 1G" : "",
			vmx_caps.invvpid_type ? "yes" : "no",
			vmx_caps.invept_type == INVEPT_SINGLE ? "single-context" : "all-context");
	return 0;
}

/*
 * SDM Vol 3 24.6.2 (Table 24-6, bit 7 "HLT exiting"), allowed if bit 39 of
 * IA32_VMX_PROCBASED_CTLS is set (A.3.2).  The VMCS is current here.
 */
static void vmx_intercept_hlt(struct vcpu *v, bool on)
{
	uint64_t proc = vmcs_read(PROC_BASED_CONTROLS);

	if (on && !((rdmsr(MSR_VMX_PROCBASED_CTLS) >> 32) & PROC_HLT_EXITING)) {
		pr_warn("vmx: HLT exiting not allowed by this CPU");
		return;
	}
	proc = on ? proc | PROC_HLT_EXITING : proc & ~(uint64_t)PROC_HLT_EXITING;
	vmcs_write(PROC_BASED_CONTROLS, proc);
}

/*
 * ops->single_step: the monitor trap flag (SDM Vol 3 24.6.2 Table 24-6
 * bit 27, allowed by bit 59 of IA32_VMX_PROCBASED_CTLS, A.3.2) makes the
 * CPU exit after one instruction, or after delivering an event before the
 * handler's first instruction (26.5.2); the guest sees nothing of it.
 */
static void vmx_single_step(struct vcpu *v, bool on)
{
	uint64_t proc = vmcs_read(PROC_BASED_CONTROLS);

	if (!((rdmsr(MSR_VMX_PROCBASED_CTLS) >> 32) & PROC_MONITOR_TRAP_FLAG)) {
		vmx_step_tf(to_vmx(v), on);
		return;
	}
	proc = on ? proc | PROC_MONITOR_TRAP_FLAG :
		    proc & ~(uint64_t)PROC_MONITOR_TRAP_FLAG;
	vmcs_write(PROC_BASED_CONTROLS, proc);
}

/*
 * #BP exits for gdb: bit 3 of the exception bitmap (SDM Vol 3 24.6.3).
 * INT3 exits as a software exception before it runs (27.1); a step
 * without MTF keeps the bit (vmx_step_tf() restores step.exc).
 */
static void vmx_intercept_bp(struct vcpu *v, bool on)
{
	struct vmx_vcpu *s = to_vmx(v);
	uint32_t bit = 1u << X86_TRAP_BP;
	uint32_t bm = (uint32_t)vmcs_read(EXCEPTION_BITMAP);

	vmcs_write(EXCEPTION_BITMAP, on ? bm | bit : bm & ~bit);
	s->step.exc = on ? s->step.exc | bit : s->step.exc & ~bit;
}

/*
 * ops->exit_timer: the VMX-preemption timer (SDM Vol 3 24.6.1 Table 24-5
 * bit 6, 26.5.1) counts down at the TSC's rate shifted right by
 * IA32_VMX_MISC[4:0] (A.6) from the value loaded at every VM entry
 * (without "save VMX-preemption timer value" the field is not written
 * back), and exits at 0 whatever the guest's RFLAGS.IF.
 */
static void vmx_exit_timer(struct vcpu *v, uint64_t tsc)
{
	uint64_t pin = vmcs_read(PIN_BASED_CONTROLS);
	uint64_t ticks = tsc >> (rdmsr(MSR_VMX_MISC) & 0x1f);

	if (!((rdmsr(MSR_VMX_PINBASED_CTLS) >> 32) & PIN_PREEMPTION_TIMER))
		return;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	vmcs_write(PREEMPTION_TIMER_VALUE, ticks ? ticks : 1);
	vmcs_write(PIN_BASED_CONTROLS, tsc ? pin | PIN_PREEMPTION_TIMER :
				       pin & ~(uint64_t)PIN_PREEMPTION_TIMER);
}

/*
 * MOV-DR exiting (SDM Vol 3 24.6.2 Table 24-6 bit 23) and #DB in the
 * exception bitmap, for gdb's debug registers (arch/x86/exit/dr.c).
 */
static void vmx_intercept_dr(struct vcpu *v, bool on)
{
	struct vmx_vcpu *s = to_vmx(v);
	uint64_t proc = vmcs_read(PROC_BASED_CONTROLS);
	uint32_t bm = (uint32_t)vmcs_read(EXCEPTION_BITMAP), bit = 1u << 1;

	vmcs_write(PROC_BASED_CONTROLS, on ? proc | PROC_MOV_DR_EXITING :
				       proc & ~(uint64_t)PROC_MOV_DR_EXITING);
	vmcs_write(EXCEPTION_BITMAP, on ? bm | bit : bm & ~bit);
	s->step.exc = on ? s->step.exc | bit : s->step.exc & ~bit;
}

/* SDM Vol 3 24.6.4: bitmap A for ports 0-7fff, B for 8000-ffff */
static void vmx_intercept_io(struct vcpu *v, uint16_t port, bool on)
{
	uint8_t *bm = to_vmx(v)->io_bitmap;

	if (on)
		bm[port / 8] |= 1u << (port % 8);
	else
		bm[port / 8] &= ~(1u << (port % 8));
}

/*
 * SDM Vol 3 24.6.9: read bitmaps for 0-1fff and c0000000-c0001fff, then
 * the write bitmaps.  Any other MSR always exits (25.1.3), so such an MSR
 * can be intercepted but never passed through.
 */
static void vmx_intercept_msr(struct vcpu *v, uint32_t msr, bool read, bool write)
{
	uint8_t *bm = to_vmx(v)->msr_bitmap;
	uint32_t base, bit = msr & 0x1fff;

	if (msr <= 0x1fff) {
		base = 0;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		base = 1024;
	} else {
		if (!read || !write)
			pr_warn("vmx: MSR %x is always intercepted", msr);
		return;
	}
	bm[base + bit / 8] &= ~(1u << (bit % 8));
	bm[base + 2048 + bit / 8] &= ~(1u << (bit % 8));
	bm[base + bit / 8] |= (read ? 1u : 0) << (bit % 8);
	bm[base + 2048 + bit / 8] |= (write ? 1u : 0) << (bit % 8);
}

/* SDM Vol 3 26.2.2-26.2.4, 27.5: the state a VM exit returns to */
static void setup_host_state(void)
{
	struct table_ptr idt;

	__asm__ volatile("sidt %0" : "=m"(idt));
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	vmcs_write(HOST_CS_SELECTOR, HOST_CS);
	vmcs_write(HOST_SS_SELECTOR, HOST_DS);
	vmcs_write(HOST_DS_SELECTOR, HOST_DS);
	vmcs_write(HOST_ES_SELECTOR, HOST_DS);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, HOST_TR);
	vmcs_write(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmcs_write(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmcs_write(HOST_TR_BASE, (uint64_t)this_cpu()->host_tss);
	vmcs_write(HOST_GDTR_BASE, (uint64_t)this_cpu()->host_gdt);
	vmcs_write(HOST_IDTR_BASE, idt.base);
	vmcs_write(HOST_SYSENTER_CS, 0);
	vmcs_write(HOST_SYSENTER_ESP, 0);
	vmcs_write(HOST_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmcs_write(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_write(HOST_RIP, (uint64_t)vmx_exit_point);
	/* HOST_RSP: vmx_enter() writes it before each entry */
}

static void setup_controls(struct vcpu *v, struct vmx_vcpu *s)
{
	uint32_t proc = vmx_caps.proc, proc2 = vmx_caps.proc2;

	/*
	 * Shadow paging, SDM Vol 3 24.6.2-24.6.3, 25.1.3: no EPT, hence no
	 * unrestricted guest (26.2.1.1); INVPCID is hidden (#UD without its
	 * control); #PF, CR3 loads and stores and INVLPG exit.
	 */
	if (!v->mmu->nested) {
		proc2 &= ~(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST |
			   PROC2_ENABLE_INVPCID);
		proc |= PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |
			PROC_INVLPG_EXITING;
	}
	vmcs_write(PIN_BASED_CONTROLS, vmx_caps.pin);
	vmcs_write(PROC_BASED_CONTROLS, proc);
	vmcs_write(PROC_BASED_CONTROLS2, proc2);
	vmcs_write(EXIT_CONTROLS, vmx_caps.exit);
	vmcs_write(ENTRY_CONTROLS, vmx_caps.entry);
	vmcs_write(EXCEPTION_BITMAP, 0);		/* 24.6.3: no exception exits */
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(ENTRY_INTR_INFO, 0);
	vmcs_write(IO_BITMAP_A, virt_to_phys(s->io_bitmap));
	vmcs_write(IO_BITMAP_B, virt_to_phys(s->io_bitmap + PAGE_SIZE));
	vmcs_write(MSR_BITMAP, virt_to_phys(s->msr_bitmap));
	/* 26.2.1.1: a VPID of 0 is not allowed while VPID is enabled */
	if (vmx_caps.proc2 & PROC2_ENABLE_VPID)
		vmcs_write(VPID, GUEST_VPID);
	/*
	 * 24.6.6, 25.3: the guest owns every CR0/CR4 bit except those fixed
	 * in VMX operation (A.7, A.8), less PE and PG, which unrestricted
	 * guest frees (26.3.1.1), plus CR4.SMXE (CPUID hides SMX; GETSEC
	 * exits only with it set, 25.1.2).  For the owned-by-umbra bits the
	 * guest reads the shadow, and a write that changes one exits to
	 * arch/x86/exit/cr.c.
	 */
	s->cr0_mask = (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | ~vmx_caps.cr0_fixed1;
	s->cr4_mask = vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1 | CR4_SMXE;
	if (!v->mmu->nested) {
		/* 25.3: the guest reads the shadows, every write that changes
		   one exits; 25.2: every #PF exits (mask and match 0) */
		s->cr0_mask = ~0ull;
		s->cr4_mask = ~0ull;
		vmcs_write(EXCEPTION_BITMAP, 1u << 14);
		vmcs_write(PF_ERROR_CODE_MASK, 0);
		vmcs_write(PF_ERROR_CODE_MATCH, 0);
	}
	vmcs_write(CR0_GUEST_HOST_MASK, s->cr0_mask);
	vmcs_write(CR4_GUEST_HOST_MASK, s->cr4_mask);
}

/* SDM Vol 3 26.3.1: the parts of the guest state no loader sets */
static void setup_guest_defaults(struct vcpu *v)
{
	vmcs_write(VMCS_LINK_POINTER, ~0ull);		/* 26.3.1.5 */
	vmcs_write(GUEST_ACTIVITY_STATE, 0);		/* active */
	vmcs_write(GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(GUEST_PENDING_DBG, 0);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	v->ops->set_reg(v, VCPU_PAT, PAT_POWER_ON);
	v->ops->set_reg(v, VCPU_DR7, 0x400);
	v->ops->set_reg(v, VCPU_RFLAGS, RFLAGS_FIXED);
	v->ops->set_reg(v, VCPU_CR0, CR0_ET);
	v->ops->set_reg(v, VCPU_CR4, 0);
	v->ops->set_reg(v, VCPU_EFER, 0);
}

static int vmx_create(struct vcpu *v)
{
	struct vmx_vcpu *s = &vmx_vcpus[this_cpu()->id];
	uint64_t pa;
	bool fail;

	s->vmcs = page_alloc(1);
	s->io_bitmap = page_alloc(2);
	s->msr_bitmap = page_alloc(1);
	if (!s->vmcs || !s->io_bitmap || !s->msr_bitmap)
		return -UMBRA_ENOMEM;
	v->arch = s;
	/* SDM Vol 3 24.2, 24.11.3: revision identifier, VMCLEAR, VMPTRLD */
	*(uint32_t *)s->vmcs = VMX_BASIC_REVISION(vmx_caps.basic);
	pa = virt_to_phys(s->vmcs);
	__asm__ volatile("vmclear %1" : "=@ccbe"(fail) : "m"(pa) : "cc", "memory");
	if (!fail)
		__asm__ volatile("vmptrld %1" : "=@ccbe"(fail) : "m"(pa) : "cc", "memory");
	if (fail)
		panic("vmx: VMCLEAR/VMPTRLD of the VMCS at %lx failed", pa);
	setup_controls(v, s);
	setup_host_state();
	setup_guest_defaults(v);
	return 0;
}

/* ES..GS, LDTR, TR have selector, limit, access rights and base (24.4.1). */
static void vmx_get_seg(struct vcpu *v, enum vcpu_seg s, struct segment *out)
{
	uint32_t ar;

	if (s == SEG_GDTR || s == SEG_IDTR) {
		bool g = s == SEG_GDTR;

		*out = (struct segment){ 0, 0,
			(uint32_t)vmcs_read(g ? GUEST_GDTR_LIMIT : GUEST_IDTR_LIMIT),
			vmcs_read(g ? GUEST_GDTR_BASE : GUEST_IDTR_BASE) };
		return;
	}
	ar = (uint32_t)vmcs_read(GUEST_SEG_FIELD(GUEST_ES_AR, s));
	out->sel = (uint16_t)vmcs_read(GUEST_SEG_FIELD(GUEST_ES_SELECTOR, s));
	out->limit = (uint32_t)vmcs_read(GUEST_SEG_FIELD(GUEST_ES_LIMIT, s));
	out->base = vmcs_read(GUEST_SEG_FIELD(GUEST_ES_BASE, s));
	/* 24.4.1 Table 24-2: bits 7:0 and 15:12 are the descriptor's */
	out->attr = (uint16_t)((ar & 0xff) | ((ar >> 4) & 0xf00));
	if (ar & AR_UNUSABLE)
		out->attr &= ~0x80;
}

static void vmx_set_seg(struct vcpu *v, enum vcpu_seg s, const struct segment *in)
{
	uint32_t ar;

	if (s == SEG_GDTR || s == SEG_IDTR) {
		bool g = s == SEG_GDTR;

		vmcs_write(g ? GUEST_GDTR_LIMIT : GUEST_IDTR_LIMIT, in->limit);
		vmcs_write(g ? GUEST_GDTR_BASE : GUEST_IDTR_BASE, in->base);
		return;
	}
	ar = (in->attr & 0xff) | ((uint32_t)(in->attr & 0xf00) << 4);
	if (!(in->attr & 0x80))		/* not present: "unusable" (24.4.1) */
		ar = AR_UNUSABLE;
	vmcs_write(GUEST_SEG_FIELD(GUEST_ES_SELECTOR, s), in->sel);
	vmcs_write(GUEST_SEG_FIELD(GUEST_ES_LIMIT, s), in->limit);
	vmcs_write(GUEST_SEG_FIELD(GUEST_ES_AR, s), ar);
	vmcs_write(GUEST_SEG_FIELD(GUEST_ES_BASE, s), in->base);
}

/* The guest's view of a control register: the shadow for umbra's bits. */
static uint64_t guest_cr(uint32_t real, uint32_t shadow, uint64_t mask)
{
	return (vmcs_read(real) & ~mask) | (vmcs_read(shadow) & mask);
}

/*
 * CR2 and DR6 are not in the VMCS (SDM Vol 3 24.4.1): umbra never uses
 * them, so the registers themselves hold the guest's values.
 */
static uint64_t vmx_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	struct vmx_vcpu *s = to_vmx(v);

	if (!v->mmu->nested) {
		switch (r) {
		case VCPU_CR0: return v->gcr.cr0;
		case VCPU_CR3: return v->gcr.cr3;
		case VCPU_CR4: return v->gcr.cr4;
		case VCPU_EFER: return v->gcr.efer;
		default: break;
		}
	}
	switch (r) {
	case VCPU_RIP: return vmcs_read(GUEST_RIP);
	case VCPU_RSP: return vmcs_read(GUEST_RSP);
	case VCPU_RFLAGS: return vmcs_read(GUEST_RFLAGS);
	case VCPU_CR0: return guest_cr(GUEST_CR0, CR0_READ_SHADOW, s->cr0_mask);
	case VCPU_CR2: return read_cr2();
	case VCPU_CR3: return vmcs_read(GUEST_CR3);
	case VCPU_CR4: return guest_cr(GUEST_CR4, CR4_READ_SHADOW, s->cr4_mask);
	case VCPU_EFER: return vmcs_read(GUEST_IA32_EFER);
	case VCPU_DR6: return read_dr6();
	case VCPU_DR7: return vmcs_read(GUEST_DR7);
	default: return vmcs_read(GUEST_IA32_PAT);
	}
}

static void vmx_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
	uint32_t entry;

	if (!v->mmu->nested) {
		/* the guest's view; vmx_set_paging_regs loads the real ones */
		switch (r) {
		case VCPU_CR0:
			v->gcr.cr0 = val;
			vmcs_write(CR0_READ_SHADOW, val);
			return;
		case VCPU_CR3:
			v->gcr.cr3 = val;
			return;
		case VCPU_CR4:
			v->gcr.cr4 = val;
			vmcs_write(CR4_READ_SHADOW, val);
			return;
		case VCPU_EFER:
			v->gcr.efer = val;
			return;
		default:
			break;
		}
	}
	switch (r) {
	case VCPU_RIP: vmcs_write(GUEST_RIP, val); break;
	case VCPU_RSP: vmcs_write(GUEST_RSP, val); break;
	case VCPU_RFLAGS: vmcs_write(GUEST_RFLAGS, val); break;
	case VCPU_CR0:
		/* A.7: fixed bits in the real CR0, the guest's value in the shadow */
		vmcs_write(CR0_READ_SHADOW, val);
		vmcs_write(GUEST_CR0, (val | (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG))) &
			   vmx_caps.cr0_fixed1);
		break;
	case VCPU_CR2: write_cr2(val); break;
	case VCPU_CR3: vmcs_write(GUEST_CR3, val); break;
	case VCPU_CR4:
		/* A.8: CR4.VMXE stays set underneath; the guest reads it clear */
		vmcs_write(CR4_READ_SHADOW, val);
		vmcs_write(GUEST_CR4, (val | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
		break;
	case VCPU_EFER:
		/* 26.3.1.1: "IA-32e mode guest" must equal EFER.LMA */
		vmcs_write(GUEST_IA32_EFER, val);
		entry = (uint32_t)vmcs_read(ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE;
		vmcs_write(ENTRY_CONTROLS, entry | (val & EFER_LMA ? ENTRY_IA32E_MODE : 0));
		break;
	case VCPU_DR6: write_dr6(val); break;
	case VCPU_DR7: vmcs_write(GUEST_DR7, val); break;
	default: vmcs_write(GUEST_IA32_PAT, val); break;
	}
}

/*
 * Shadow paging: the hardware's paging registers (arch/x86/paging/shadow.c),
 * with the bits VMX fixes (A.7, A.8; PE and PG too without unrestricted
 * guest, 26.3.1.1) and "IA-32e mode guest" equal to EFER.LMA (26.3.1.1).
 */
static void vmx_set_paging_regs(struct vcpu *v, uint64_t cr0, uint64_t cr3,
				uint64_t cr4, uint64_t efer)
{
	uint32_t entry = (uint32_t)vmcs_read(ENTRY_CONTROLS) & ~ENTRY_IA32E_MODE;
	uint64_t fixed0 = vmx_caps.cr0_fixed0 &
			  ~(to_vmx(v)->ug ? CR0_PE | CR0_PG : 0ull);

	vmcs_write(GUEST_CR0, (cr0 | fixed0) & vmx_caps.cr0_fixed1);
	vmcs_write(GUEST_CR3, cr3);
	vmcs_write(GUEST_CR4, (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
	vmcs_write(GUEST_IA32_EFER, efer);
	vmcs_write(ENTRY_CONTROLS, entry | (efer & EFER_LMA ? ENTRY_IA32E_MODE : 0));
}

/*
 * ops->shadow_needs_tdp.  Without EPT VMX has no unrestricted guest: CR0.PE
 * and PG are fixed to 1 (SDM Vol 3 26.3.1.1, A.7) and VM entry holds the
 * segment registers to protected mode's rules (26.3.1.2).  Real mode, and
 * protected mode while a segment register still holds what real mode left
 * in it (CS until the far jump after the MOV to CR0), need EPT with
 * unrestricted guest.  Virtual-8086 mode has rules of its own, which the
 * CPU's segment loads there keep.
 */
static bool vmx_shadow_needs_tdp(struct vcpu *v)
{
	if (!(v->ops->get_reg(v, VCPU_CR0) & CR0_PE))
		return true;
	return !(vmcs_read(GUEST_RFLAGS) & RFLAGS_VM) && !vmx_pm_segments_ok();
}

/*
 * ops->shadow_use_tdp: EPT and unrestricted guest (24.6.2 Table 24-7) on,
 * on the EPTP set_tdp_root wrote, or off again.  The VPID's linear
 * mappings (EPT off) and combined ones (EPT on) are flushed at each
 * switch, INVVPID and INVEPT (28.3.1, 28.4.3: flush_now()).
 */
static void vmx_shadow_use_tdp(struct vcpu *v, bool on)
{
	struct vmx_vcpu *s = to_vmx(v);
	uint64_t p2 = vmcs_read(PROC_BASED_CONTROLS2);
	const uint64_t bits = PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST;

	vmcs_write(PROC_BASED_CONTROLS2, on ? p2 | bits : p2 & ~bits);
	s->ug = on;
	s->flush = true;
}

/* SDM Vol 3 24.8.3; 26.2.1.3: no error code in real mode (CR0.PE clear) */
static void vmx_inject_exception(struct vcpu *v, uint8_t vector, bool has_error,
				 uint32_t error)
{
	struct vmx_vcpu *s = to_vmx(v);
	bool exc = (s->reinject & INTR_INFO_VALID) &&
		   INTR_INFO_TYPE(s->reinject) == INTR_TYPE_HW_EXC;
	uint32_t info;

	/* during the delivery of another exception (27.2.4): event.h */
	if (!x86_exc_combine(exc ? (int)(s->reinject & 0xff) : -1,
			     &vector, &has_error, &error)) {
		s->shutdown = true;
		s->reinject = 0;
		return;
	}
	info = INTR_INFO_VALID | INTR_TYPE_HW_EXC << 8 | vector;
	if (has_error && (vmcs_read(GUEST_CR0) & CR0_PE)) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write(ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write(ENTRY_INTR_INFO, info);
	s->reinject = 0;
}

/* SDM Vol 3 24.6.11: WB, 4-level walk; A/D flags off (mmu/ presets them) */
static void vmx_set_tdp_root(struct vcpu *v, uint64_t root_pa)
{
	BUG_ON(root_pa != mmu_tdp_root_pa(v->tdp));
	vmcs_write(EPT_POINTER, mmu_tdp_eptp(v->tdp));
	to_vmx(v)->flush = true;
}

static void vmx_flush_tlb(struct vcpu *v)
{
	to_vmx(v)->flush = true;
}

/*
 * SDM Vol 3 30.3 INVEPT, INVVPID: drop the mappings the descriptor {a, b}
 * names for the type; a VMfail is a bug in umbra.
 */
static void invalidate(bool ept, uint64_t type, uint64_t a, uint64_t b)
{
	struct { uint64_t a, b; } desc = { a, b };
	bool fail;

	if (ept)
		__asm__ volatile("invept %1, %2" : "=@ccbe"(fail)
				 : "m"(desc), "r"(type) : "cc", "memory");
	else
		__asm__ volatile("invvpid %1, %2" : "=@ccbe"(fail)
				 : "m"(desc), "r"(type) : "cc", "memory");
	if (fail)
		panic("vmx: %s type %lu failed", ept ? "INVEPT" : "INVVPID", type);
}

/*
 * SDM Vol 3 28.4.3.3 (INVVPID type 0): the linear page of va in the VPID,
 * if IA32_VMX_EPT_VPID_CAP[40] allows it and va is canonical (else a
 * VMfail); otherwise the whole VPID before the next entry.
 */
static void vmx_flush_tlb_va(struct vcpu *v, uint64_t va)
{
	if (!vmx_caps.invvpid_type)
		return;		/* every entry flushes VPID 0000H */
	if (!(rdmsr(MSR_VMX_EPT_VPID_CAP) & (1ull << 40)) ||
	    (uint64_t)((int64_t)(va << 16) >> 16) != va) {
		to_vmx(v)->flush = true;
		return;
	}
	invalidate(false, 0, GUEST_VPID, va);
}

/*
 * SDM Vol 3 28.4.3: INVEPT drops guest-physical and combined mappings of
 * the EPTP, INVVPID the linear ones of the VPID.  Types from caps.c.
 */
static void flush_now(struct vcpu *v)
{
	/* no EPTP (shadow paging on a back end with paged real mode): only the
	   VPID's linear mappings; with one, also while EPT is off under
	   shadow paging, whose real mode may turn it on again */
	if (v->tdp)
		invalidate(true, vmx_caps.invept_type, vmcs_read(EPT_POINTER), 0);
	/* without VPID every VM entry flushes VPID 0000H (28.3.3.3) */
	if (vmx_caps.invvpid_type)
		invalidate(false, vmx_caps.invvpid_type, GUEST_VPID, 0);
}

/*
 * SDM Vol 3 26.3.2.4: with EPT, VM entry takes the PDPTEs of PAE paging
 * from the VMCS, and a VM exit saves them there (27.3.4).  After a MOV to
 * CR0/CR4 umbra emulates that loads them (SDM Vol 3 4.4.1), arch/x86/exit/cr.c
 * has read and checked them; a write that loads none (an NE toggle)
 * leaves the ones the CPU holds.
 */
static void vmx_set_pdptes(struct vcpu *v, const uint64_t pdpte[4])
{
	for (int i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

/* A.8: CR4 bits VMX operation does not allow; CPUID hides VMX and SMX */
static uint64_t vmx_cr4_reserved(struct vcpu *v)
{
	return ~vmx_caps.cr4_fixed1 | CR4_VMXE | CR4_SMXE;
}

/* SDM Vol 3 27.2.1, Table 27-5 */
static void decode_io(struct vcpu_exit *e)
{
	uint64_t q = e->info1;

	e->io.size = (uint8_t)((q & 7) + 1);
	e->io.in = q & (1u << 3);
	e->io.string = q & (1u << 4);
	e->io.rep = q & (1u << 5);
	e->io.port = (uint16_t)(q >> 16);
}

/*
 * SDM Vol 3 27.2.2, 27.2.3: a fault inside an IRET that cleared
 * virtual-NMI blocking (the guest's NMI blocking under virtual NMIs,
 * 24.4.2 Table 24-3); it is set again before the guest is entered again
 * (the fault is handled, not re-delivered, and the IRET runs again).
 */
static void unblock_nmi_fixup(uint32_t intr)
{
	if ((intr & INTR_INFO_NMI_UNBLOCK) &&
	    !(vmcs_read(IDT_VECTORING_INFO) & INTR_INFO_VALID))
		vmcs_write(GUEST_INTERRUPTIBILITY,
			   vmcs_read(GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
}

/* SDM Vol 3 27.2.1, Table 27-7; bit 12 as in unblock_nmi_fixup() (27.2.3) */
static void decode_ept_violation(struct vcpu_exit *e)
{
	e->reason = EXIT_TDP_FAULT;
	e->tdp.gpa = e->info2;
	e->tdp.read = e->info1 & (1u << 0);
	e->tdp.write = e->info1 & (1u << 1);
	e->tdp.exec = e->info1 & (1u << 2);
	unblock_nmi_fixup((uint32_t)e->info1);
}

/*
 * A control-register access goes to arch/x86/exit/cr.c with what the
 * qualification says (27.2.1, Table 27-3): with EPT a write that changes
 * a bit umbra owns (CR0.NE, CR4.VMXE, ...), with shadow paging all.
 */
static void decode_cr_access(struct vcpu_exit *e)
{
	static const enum cr_access types[4] = {
		CR_ACCESS_MOV, CR_ACCESS_MOV, CR_ACCESS_CLTS, CR_ACCESS_LMSW,
	};
	unsigned int type = (e->info1 >> 4) & 3;

	e->reason = type == 1 ? EXIT_CR_READ : EXIT_CR_WRITE;
	e->cr.n = type >= 2 ? 0 : (int)(e->info1 & 15);
	e->cr.type = types[type];
	e->cr.gpr = (int)((e->info1 >> 8) & 15);
	e->cr.lmsw = (uint16_t)(e->info1 >> 16);
}

/* SDM Vol 3 28.3.3.1: a bug in umbra's tables; print the entry and stop */
static void __attribute__((noreturn)) ept_misconfig(struct vcpu *v, struct vcpu_exit *e)
{
	pr_err("vmx: EPT misconfiguration at guest-physical %lx (EPTP %lx)",
	       e->info2, vmcs_read(EPT_POINTER));
	vm_print_translation(e->info2);
	vcpu_dump(v, "EPT misconfiguration");
	panic("vmx: EPT misconfiguration at guest-physical %lx", e->info2);
}

/*
 * Every exit's name, and for those whose decoding is the reason alone the
 * reason; insn: the exit gives the instruction's length (27.2.5).  An exit
 * not named here is EXIT_OTHER.
 */
static const struct exit_desc {
	const char *name;
	enum exit_reason reason;
	bool insn;
} vmx_exits[] = {
	[VMX_EXIT_EXCEPTION_NMI] = { "exception or NMI", EXIT_OTHER, false },
	[VMX_EXIT_EXT_INTR] = { "external interrupt", EXIT_INTR, false },
	[VMX_EXIT_TRIPLE_FAULT] = { "triple fault", EXIT_TRIPLE_FAULT, false },
	[VMX_EXIT_INIT] = { "INIT", EXIT_INIT, false },
	[VMX_EXIT_SIPI] = { "SIPI", EXIT_OTHER, false },
	/* 25.2: the guest can take an NMI now; vmx_run() injects it */
	[VMX_EXIT_NMI_WINDOW] = { "NMI window", EXIT_NMI_WINDOW, false },
	[VMX_EXIT_TASK_SWITCH] = { "task switch", EXIT_TASK_SWITCH, false },
	[VMX_EXIT_CPUID] = { "CPUID", EXIT_CPUID, true },
	/*
	 * 25.1.2: GETSEC exits only with CR4.SMXE set, which the guest
	 * cannot set (CPUID hides SMX, arch/x86/exit/cr.c); without it
	 * GETSEC is #UD (SDM Vol 2 GETSEC), as injected for EXIT_VIRT_INSN.
	 */
	[VMX_EXIT_GETSEC] = { "GETSEC", EXIT_VIRT_INSN, true },
	[VMX_EXIT_HLT] = { "HLT", EXIT_HLT, true },
	[VMX_EXIT_INVD] = { "INVD", EXIT_INVD, true },
	[VMX_EXIT_INVLPG] = { "INVLPG", EXIT_INVLPG, true },
	[VMX_EXIT_VMCALL] = { "VMCALL", EXIT_HYPERCALL, true },
	[VMX_EXIT_VMCLEAR] = { "VMCLEAR", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMLAUNCH] = { "VMLAUNCH", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMPTRLD] = { "VMPTRLD", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMPTRST] = { "VMPTRST", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMREAD] = { "VMREAD", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMRESUME] = { "VMRESUME", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMWRITE] = { "VMWRITE", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMXOFF] = { "VMXOFF", EXIT_VIRT_INSN, true },
	[VMX_EXIT_VMXON] = { "VMXON", EXIT_VIRT_INSN, true },
	[VMX_EXIT_CR_ACCESS] = { "CR access", EXIT_OTHER, false },
	[VMX_EXIT_DR_ACCESS] = { "MOV DR", EXIT_OTHER, false },
	[VMX_EXIT_IO] = { "I/O", EXIT_IO, true },
	[VMX_EXIT_RDMSR] = { "RDMSR", EXIT_MSR_READ, true },
	[VMX_EXIT_WRMSR] = { "WRMSR", EXIT_MSR_WRITE, true },
	[VMX_EXIT_MTF] = { "monitor trap flag", EXIT_SINGLE_STEP, false },
	[VMX_EXIT_EPT_VIOLATION] = { "EPT violation", EXIT_OTHER, false },
	[VMX_EXIT_EPT_MISCONFIG] = { "EPT misconfiguration", EXIT_OTHER, false },
	/* ops->exit_timer: nothing to do but look at the port */
	[VMX_EXIT_PREEMPTION_TIMER] = { "preemption timer", EXIT_INTR, false },
	[VMX_EXIT_INVEPT] = { "INVEPT", EXIT_VIRT_INSN, true },
	[VMX_EXIT_INVVPID] = { "INVVPID", EXIT_VIRT_INSN, true },
	[VMX_EXIT_WBINVD] = { "WBINVD", EXIT_OTHER, false },
	[VMX_EXIT_XSETBV] = { "XSETBV", EXIT_XSETBV, true },
	[VMX_EXIT_VMFUNC] = { "VMFUNC", EXIT_VIRT_INSN, true },
};

static const struct exit_desc *vmx_exit_of(uint64_t raw)
{
	uint32_t basic = VMX_EXIT_REASON_BASIC(raw);

	if (basic >= ARRAY_SIZE(vmx_exits) || !vmx_exits[basic].name)
		return NULL;
	return &vmx_exits[basic];
}

static void decode_exit(struct vcpu *v, struct vcpu_exit *e)
{
	uint32_t raw = (uint32_t)vmcs_read(EXIT_REASON);
	const struct exit_desc *x = vmx_exit_of(raw);
	uint32_t intr;

	e->raw = raw;
	e->info1 = vmcs_read(EXIT_QUALIFICATION);
	e->info2 = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	e->insn_len = 0;
	if (raw & VMX_EXIT_REASON_FAILED_ENTRY) {
		vmx_diag_failed_entry(v, raw, e->info1);
		e->reason = EXIT_FAILED_ENTRY;
		return;
	}
	switch (VMX_EXIT_REASON_BASIC(raw)) {
	case VMX_EXIT_IO:
		decode_io(e);
		break;
	case VMX_EXIT_EPT_VIOLATION:
		decode_ept_violation(e);
		return;
	case VMX_EXIT_EPT_MISCONFIG:
		ept_misconfig(v, e);
	case VMX_EXIT_CR_ACCESS:
		/* arch/x86/exit/cr.c checks and emulates it, EPT or shadow */
		e->insn_len = (uint8_t)vmcs_read(EXIT_INSN_LEN);
		decode_cr_access(e);
		return;
	case VMX_EXIT_DR_ACCESS:
		/* 27.2.1 Table 27-3: DR in 2:0, 1 = MOV from DR in bit 4,
		   the GPR in 11:8 */
		e->reason = EXIT_DR_ACCESS;
		e->dr.n = (int)(e->info1 & 7);
		e->dr.write = !(e->info1 & (1u << 4));
		e->dr.gpr = (int)((e->info1 >> 8) & 15);
		e->insn_len = (uint8_t)vmcs_read(EXIT_INSN_LEN);
		return;
	case VMX_EXIT_INVLPG:
		/* 27.2.1 Table 27-1: the qualification is the address */
		e->invlpg.gva = e->info1;
		e->invlpg.valid = true;
		break;
	case VMX_EXIT_EXCEPTION_NMI:
		intr = (uint32_t)vmcs_read(EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(intr) == INTR_TYPE_HW_EXC &&
		    (intr & 0xff) == X86_TRAP_PF) {
			/* 27.1, 27.2.1: CR2 is not written; the qualification
			   holds the address, the exit the error code */
			e->reason = EXIT_PAGE_FAULT;
			e->pf.addr = e->info1;
			e->pf.error_code = (uint32_t)vmcs_read(EXIT_INTR_ERROR_CODE);
			unblock_nmi_fixup(intr);
			return;
		}
		if (INTR_INFO_TYPE(intr) == INTR_TYPE_SW_EXC &&
		    (intr & 0xff) == X86_TRAP_BP) {
			/* ops->intercept_bp; 27.1: RIP at the INT3 */
			e->reason = EXIT_BREAKPOINT;
			e->insn_len = (uint8_t)vmcs_read(EXIT_INSN_LEN);
			return;
		}
		if (vmx_step_exception(v, e, intr))
			return;
		if (INTR_INFO_TYPE(intr) == INTR_TYPE_HW_EXC &&
		    (intr & 0xff) == 1) {
			/* ops->intercept_dr; 27.1: DR6 is not written, the
			   qualification holds B0-B3, BD, BS (27.2.1) */
			e->reason = EXIT_DEBUG;
			e->debug.dr6 = e->info1;
			return;
		}
		if (INTR_INFO_TYPE(intr) != INTR_TYPE_NMI) {
			e->reason = EXIT_OTHER;
			return;
		}
		/* the guest's NMI: vcpu.c holds it, vmx_run() injects it */
		host_nmi_unblock();
		e->reason = EXIT_NMI;
		return;
	}
	e->reason = x ? x->reason : EXIT_OTHER;
	if (x && x->insn)
		e->insn_len = (uint8_t)vmcs_read(EXIT_INSN_LEN);
}

/*
 * SDM Vol 3 27.2.4: an exit during event delivery leaves the event in the
 * IDT-vectoring information; it is injected again on the next entry (26.6)
 * unless umbra injects something else.
 */
static void save_vectoring(struct vmx_vcpu *s)
{
	uint32_t info = (uint32_t)vmcs_read(IDT_VECTORING_INFO);

	s->reinject = 0;
	if (!(info & INTR_INFO_VALID))
		return;
	s->reinject = info & (INTR_INFO_VALID | INTR_INFO_DELIVER_CODE | 0x7ff);
	if (info & INTR_INFO_DELIVER_CODE)
		s->reinject_error = (uint32_t)vmcs_read(IDT_VECTORING_ERROR_CODE);
	s->reinject_len = (uint32_t)vmcs_read(EXIT_INSN_LEN);
}

static void restore_vectoring(struct vmx_vcpu *s)
{
	uint32_t type = INTR_INFO_TYPE(s->reinject);

	if (!s->reinject || (vmcs_read(ENTRY_INTR_INFO) & INTR_INFO_VALID))
		return;
	/*
	 * An injected NMI whose delivery exited leaves virtual-NMI
	 * blocking set (27.1), and VM entry refuses to inject an NMI with
	 * it set (26.3.1.5): the delivery it restarts sets it again.
	 */
	if (type == INTR_TYPE_NMI)
		vmcs_write(GUEST_INTERRUPTIBILITY,
			   vmcs_read(GUEST_INTERRUPTIBILITY) & ~(uint64_t)INTERRUPTIBILITY_NMI);
	if (s->reinject & INTR_INFO_DELIVER_CODE)
		vmcs_write(ENTRY_EXCEPTION_ERROR_CODE, s->reinject_error);
	if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_PRIV_SW_EXC ||
	    type == INTR_TYPE_SW_EXC)
		vmcs_write(ENTRY_INSN_LEN, s->reinject_len);
	vmcs_write(ENTRY_INTR_INFO, s->reinject);
}

/*
 * The event of this entry: one umbra injects, or else the one whose
 * delivery the last exit cut short; a fault-class exception with RF in
 * the RFLAGS it pushes (event.h, x86_event_sets_rf()).
 */
static void write_event(struct vmx_vcpu *s)
{
	restore_vectoring(s);
	if (x86_event_sets_rf(vmcs_read(ENTRY_INTR_INFO)))
		vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | RFLAGS_RF);
}

/*
 * The guest's NMI (v->nmi_pending, arch/x86/vcpu.h), injected as type 2
 * (SDM Vol 3 24.8.3) when VM entry may: not while another event is being
 * injected, with virtual-NMI blocking (the guest is in its NMI handler,
 * until its IRET, 25.3) or blocking by MOV SS (26.3.1.5), nor with
 * blocking by STI, which a processor may also let hold NMIs back (25.2).
 * Otherwise NMI-window exiting (24.6.2 Table 24-6) makes the CPU exit as
 * soon as the guest can take it (25.2), also right after the injected
 * event's delivery.  Not while step_tf() steps: its #DB exit comes first.
 */
#define NMI_BLOCKED	(INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOV_SS | \
			 INTERRUPTIBILITY_STI)

static void set_nmi_window(struct vmx_vcpu *s, bool on)
{
	uint64_t proc;

	if (s->nmi_window == on)
		return;
	proc = vmcs_read(PROC_BASED_CONTROLS);
	proc = on ? proc | PROC_NMI_WINDOW_EXITING :
		    proc & ~(uint64_t)PROC_NMI_WINDOW_EXITING;
	vmcs_write(PROC_BASED_CONTROLS, proc);
	s->nmi_window = on;
}

/* the guest is in its NMI handler, or about to be: one NMI can wait */
static bool nmi_in_service(uint64_t intr, uint32_t entry)
{
	return (intr & INTERRUPTIBILITY_NMI) ||
	       ((entry & INTR_INFO_VALID) &&
		INTR_INFO_TYPE(entry) == INTR_TYPE_NMI);
}

static void inject_pending_nmi(struct vcpu *v, struct vmx_vcpu *s)
{
	uint64_t intr = vmcs_read(GUEST_INTERRUPTIBILITY);
	uint32_t entry = (uint32_t)vmcs_read(ENTRY_INTR_INFO);

	if (host_nmi_take())
		vcpu_nmi_add(v);
	if (v->nmi_pending > 1 && nmi_in_service(intr, entry))
		v->nmi_pending = 1;
	if (!v->nmi_pending || s->step.on) {
		set_nmi_window(s, false);
		return;
	}
	if ((entry & INTR_INFO_VALID) || (intr & NMI_BLOCKED)) {
		set_nmi_window(s, true);
		return;
	}
	vmcs_write(ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI << 8 | X86_TRAP_NMI);
	v->nmi_pending--;
	v->nmis_injected++;
	/* a second one waits for the IRET of the first (virtual-NMI blocking) */
	set_nmi_window(s, v->nmi_pending);
}

static void vmx_run(struct vcpu *v, struct vcpu_exit *e)
{
	struct vmx_vcpu *s = to_vmx(v);
	int rc;

	if (s->shutdown) {
		/* as the CPU's own triple-fault exit (SDM Vol 3 25.2) */
		*e = (struct vcpu_exit){ .reason = EXIT_TRIPLE_FAULT,
					 .raw = VMX_EXIT_TRIPLE_FAULT };
		return;
	}
	write_event(s);
	s->reinject = 0;
	inject_pending_nmi(v, s);
	if (s->flush) {
		flush_now(v);
		s->flush = false;
	}
	rc = vmx_enter(&v->gprs, s->launched);
	if (rc) {
		vmx_diag_failed_insn(v, s->launched, rc);
		*e = (struct vcpu_exit){ .reason = EXIT_FAILED_ENTRY, .raw = ~0ull };
		return;
	}
	s->launched = true;
	save_vectoring(s);
	decode_exit(v, e);
	e->in_delivery = s->reinject != 0;
}

static const char *vmx_exit_name(uint64_t raw)
{
	const struct exit_desc *x = vmx_exit_of(raw);

	if (raw & VMX_EXIT_REASON_FAILED_ENTRY)
		return "VM-entry failure";
	return x ? x->name : "?";
}

const struct vcpu_ops vmx_ops = {
	.name = "vmx",
	.tdp_is_ept = true,
	.probe = vmx_probe,
	.tdp_max_level = vmx_tdp_max_level,
	.enable = vmx_enable,
	.create = vmx_create,
	.run = vmx_run,
	.get_reg = vmx_get_reg,
	.set_reg = vmx_set_reg,
	.get_seg = vmx_get_seg,
	.set_seg = vmx_set_seg,
	.inject_exception = vmx_inject_exception,
	.set_tdp_root = vmx_set_tdp_root,
	.flush_tlb = vmx_flush_tlb,
	.flush_tlb_va = vmx_flush_tlb_va,
	.set_paging_regs = vmx_set_paging_regs,
	.shadow_needs_tdp = vmx_shadow_needs_tdp,
	.shadow_use_tdp = vmx_shadow_use_tdp,
	.set_pdptes = vmx_set_pdptes,
	.cr4_reserved = vmx_cr4_reserved,
	.intercept_io = vmx_intercept_io,
	.intercept_hlt = vmx_intercept_hlt,
	.intercept_msr = vmx_intercept_msr,
	.exit_name = vmx_exit_name,
	.single_step = vmx_single_step,
	.intercept_bp = vmx_intercept_bp,
	.intercept_dr = vmx_intercept_dr,
	.exit_timer = vmx_exit_timer,
};
