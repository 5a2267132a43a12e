/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The vendor-neutral vCPU.  A back end (svm/, vmx/) fills a struct
 * vcpu_ops; everything above it (exit dispatch, CPUID/MSR/I/O policy, the
 * guest loaders) is written once against this interface.
 */
#ifndef UMBRA_X86_VCPU_H
#define UMBRA_X86_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/x86/cpu/regs.h"

enum vcpu_reg {
	VCPU_RIP, VCPU_RSP, VCPU_RFLAGS,
	VCPU_CR0, VCPU_CR2, VCPU_CR3, VCPU_CR4, VCPU_EFER,
	VCPU_DR6, VCPU_DR7, VCPU_PAT,
	NR_VCPU_REGS
};

enum vcpu_seg {
	SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS,
	SEG_LDTR, SEG_TR, SEG_GDTR, SEG_IDTR,
	NR_VCPU_SEGS
};

/* attr: descriptor bits 40-47 in bits 0-7 and bits 52-55 in bits 8-11 */
struct segment {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
};

/* General registers the back end loads and saves around every entry. */
struct vcpu_gprs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

enum exit_reason {
	EXIT_CPUID,
	EXIT_HYPERCALL,
	EXIT_IO,
	EXIT_MSR_READ,
	EXIT_MSR_WRITE,
	EXIT_TDP_FAULT,		/* NPF / EPT violation */
	EXIT_CR_WRITE,		/* MOV to CRn, CLTS, LMSW */
	EXIT_CR_READ,		/* MOV from CRn (shadow paging) */
	EXIT_PAGE_FAULT,	/* #PF intercepted (shadow paging) */
	EXIT_INVLPG,		/* shadow paging */
	EXIT_TASK_SWITCH,	/* not emulated: reported, umbra halts */
	EXIT_TRIPLE_FAULT,
	EXIT_INIT,
	EXIT_VIRT_INSN,		/* VMRUN, VMLOAD, VMXON, ...: #UD */
	EXIT_INTR,
	EXIT_NMI,		/* the guest's, held in v->nmi_pending */
	EXIT_NMI_WINDOW,	/* the guest can take the held NMI (VMX) */
	EXIT_HLT,
	EXIT_INVD,		/* executed as WBINVD */
	EXIT_XSETBV,		/* VMX: it always exits */
	EXIT_FAILED_ENTRY,	/* VMRUN/VMLAUNCH refused the state */
	EXIT_SINGLE_STEP,	/* ops->single_step: one instruction done, or
				   an event delivered instead */
	EXIT_BREAKPOINT,	/* #BP intercepted (ops->intercept_bp) */
	EXIT_DR_ACCESS,		/* MOV DR while gdb holds them (intercept_dr) */
	EXIT_DEBUG,		/* #DB while gdb holds them (intercept_dr) */
	EXIT_OTHER,
	NR_EXIT_REASONS
};

/* Exit classes for the cost counters: the reasons, and what a shadow #PF
 * or CR3 load turned out to be (arch/x86/paging/shadow.c sets them). */
enum exit_class {
	EXCL_PF_FILL = NR_EXIT_REASONS,	/* a shadow entry filled */
	EXCL_PF_REFLECT,		/* a guest #PF handed back */
	EXCL_PF_EMULATE,		/* a guest page-table write */
	EXCL_CR3_NOSYNC,		/* CR3 load, nothing unsync synced */
	EXCL_CR3_SYNC,			/* CR3 load that synced pages */
	NR_EXIT_CLASSES
};

/* How a control register was accessed, when the back end knows it. */
enum cr_access {
	CR_ACCESS_UNKNOWN,	/* decode the instruction */
	CR_ACCESS_MOV,		/* MOV to or from CRn, register in cr.gpr */
	CR_ACCESS_CLTS,
	CR_ACCESS_LMSW,		/* source in cr.lmsw */
	CR_ACCESS_SMSW,		/* a CR0 read by SMSW (SVM; decoded by cr.c) */
};

struct vcpu_exit {
	enum exit_reason reason;
	uint64_t raw;			/* the vendor's exit code */
	uint64_t info1, info2;		/* the vendor's qualification */
	uint8_t insn_len;		/* 0 when unknown */
	bool in_delivery;		/* the exit cut an event's delivery
					   short (SVM EXITINTINFO, VMX
					   IDT-vectoring information) */
	union {
		struct {
			uint16_t port;
			uint8_t size;	/* 1, 2, 4 */
			bool in, string, rep;
		} io;
		struct {
			uint64_t gpa;
			bool read, write, exec;
		} tdp;
		struct {
			int n;		/* CRn */
			enum cr_access type;
			int gpr;	/* MOV: register, -1 unknown */
			uint16_t lmsw;	/* LMSW: the source operand */
		} cr;			/* EXIT_CR_WRITE, EXIT_CR_READ */
		struct {
			uint32_t error_code;
			uint64_t addr;	/* the faulting linear address */
		} pf;			/* EXIT_PAGE_FAULT */
		struct {
			uint64_t gva;
			bool valid;	/* false: decode the instruction */
		} invlpg;		/* EXIT_INVLPG */
		struct {
			int n;		/* DRn */
			bool write;	/* MOV to DRn */
			int gpr;	/* -1: decode the instruction */
		} dr;			/* EXIT_DR_ACCESS */
		struct {
			uint64_t dr6;	/* B0-B3, BD, BS as the CPU reported */
		} debug;		/* EXIT_DEBUG */
	};
};

struct vcpu;

struct vcpu_ops {
	const char *name;
	bool tdp_is_ept;		/* EPT format for the TDP MMU, else NPT */
	/* shadow paging runs the guest's real mode on the shadow tables
	   (SVM: paged real mode, APM Vol 2 15.19); without it, the back end
	   has shadow_needs_tdp and shadow_use_tdp */
	bool shadow_real_mode;
	/* largest TDP leaf the CPU supports: 1 (4K), 2 (2M) or 3 (1G) */
	int (*tdp_max_level)(void);
	/* these three: 0 or a negative code (umbra/err.h); probe: 0 if
	   this CPU can run the back end, else -UMBRA_ENODEV and why[] */
	int (*probe)(char *why, size_t len);
	int (*enable)(void);		/* once per physical CPU */
	int (*create)(struct vcpu *v);
	void (*run)(struct vcpu *v, struct vcpu_exit *e);
	uint64_t (*get_reg)(struct vcpu *v, enum vcpu_reg r);
	void (*set_reg)(struct vcpu *v, enum vcpu_reg r, uint64_t val);
	void (*get_seg)(struct vcpu *v, enum vcpu_seg s, struct segment *out);
	void (*set_seg)(struct vcpu *v, enum vcpu_seg s, const struct segment *in);
	void (*inject_exception)(struct vcpu *v, uint8_t vector, bool has_error,
				 uint32_t error);
	/* root of the TDP MMU's tables; VMX builds its EPTP from it */
	void (*set_tdp_root)(struct vcpu *v, uint64_t root_pa);
	void (*flush_tlb)(struct vcpu *v);	/* before the next entry */
	/* optional: only the linear page of va (shadow paging's INVLPG) */
	void (*flush_tlb_va)(struct vcpu *v, uint64_t va);
	/*
	 * Shadow paging (!v->mmu->nested): the hardware's own CR0/CR3/CR4/EFER
	 * for the next entry (arch/x86/paging/shadow.c computes them; the back
	 * end adds its fixed bits).  get_reg/set_reg of CR0, CR3, CR4 and
	 * EFER then read and write the guest's view, v->gcr.
	 */
	void (*set_paging_regs)(struct vcpu *v, uint64_t cr0, uint64_t cr3,
				uint64_t cr4, uint64_t efer);
	/*
	 * Shadow paging on a back end without shadow_real_mode (VMX: without
	 * EPT no unrestricted guest, so CR0.PE and PG are fixed to 1 and VM
	 * entry checks the segments as protected mode has them, SDM Vol 3
	 * 26.3.1.1-26.3.1.2, A.7).  shadow_needs_tdp: the guest's state now
	 * needs the TDP map and its own CR0 (real mode, or the segments real
	 * mode left before the guest reloads them).  shadow_use_tdp(v, true):
	 * from the next entry the guest runs on the TDP root (set_tdp_root)
	 * and set_paging_regs takes the guest's own CR0/CR3/CR4/EFER; false:
	 * back on the shadow tables.  The intercepts stay those of shadow
	 * paging: get_reg/set_reg still read and write v->gcr.
	 */
	bool (*shadow_needs_tdp)(struct vcpu *v);
	void (*shadow_use_tdp)(struct vcpu *v, bool on);
	/*
	 * Optional, nested paging: the PDPTEs the guest's PAE paging uses
	 * from now on (VMX keeps them in the VMCS, SDM Vol 3 26.3.2.4);
	 * arch/x86/exit/cr.c has loaded and checked them (SDM Vol 3 4.4.1).
	 */
	void (*set_pdptes)(struct vcpu *v, const uint64_t pdpte[4]);
	/* Optional: CR4 bits the back end cannot give the guest (VMX A.8) */
	uint64_t (*cr4_reserved)(struct vcpu *v);
	void (*intercept_io)(struct vcpu *v, uint16_t port, bool on);
	/* HLT exits (EXIT_HLT; umbra then steps over it): the debug shell on
	   a dedicated port polls on exits, and an idle guest makes none */
	void (*intercept_hlt)(struct vcpu *v, bool on);
	void (*intercept_msr)(struct vcpu *v, uint32_t msr, bool read, bool write);
	const char *(*exit_name)(uint64_t raw);
	/*
	 * on: run exactly one guest instruction from the next entry, then
	 * exit with EXIT_SINGLE_STEP (also when an event is delivered
	 * instead: its handler has not run yet).  Other exits may come
	 * first; the step stays armed through them.  Invisible to the guest.
	 * off: disarm, and deliver what the step held back.
	 */
	void (*single_step)(struct vcpu *v, bool on);
	/*
	 * Optional: #BP exits (EXIT_BREAKPOINT, RIP at the INT3): gdb's.
	 * An SVM back end may also exit so on INT n (its INTn intercept):
	 * inject_soft_int then delivers the guest's own INT n, RIP past it.
	 */
	void (*intercept_bp)(struct vcpu *v, bool on);
	void (*inject_soft_int)(struct vcpu *v, uint8_t vector);
	/*
	 * Optional: MOV DR exits (EXIT_DR_ACCESS, RIP at it) and #DB exits
	 * (EXIT_DEBUG, after the CPU's debug-exception rules) while gdb holds
	 * the debug registers (arch/x86/exit/dr.c).
	 */
	void (*intercept_dr)(struct vcpu *v, bool on);
	/*
	 * Optional: an exit (EXIT_INTR) at least every tsc TSC ticks of
	 * guest time, whatever the guest does; 0 turns it off.  gdb's Ctrl-C
	 * reaches umbra on exits only.
	 */
	void (*exit_timer)(struct vcpu *v, uint64_t tsc);
};

/* MSRs that route physical memory, never written to hardware (msr.c) */
#define VCPU_NR_VMSR	13

struct vcpu {
	struct vcpu_gprs gprs;
	const struct vcpu_ops *ops;
	void *arch;			/* the back end's own state */
	uint64_t exits[NR_EXIT_REASONS];
	uint64_t total_exits;
	/* umbra's TSC per exit class, from the back end's return to the next
	 * entry (under QEMU -icount: instructions); vcpu_run_loop() */
	uint64_t class_exits[NR_EXIT_CLASSES], class_tsc[NR_EXIT_CLASSES];
	uint64_t exit_tsc;
	uint8_t exit_class;
	const struct guest_mmu *mmu;	/* arch/x86/paging/mmu.h */
	struct mmu_tdp *tdp;		/* mmu=tdp; shadow: shadow_use_tdp's */
	struct vcpu_cr {
		uint64_t cr0, cr3, cr4, efer;
	} gcr;				/* shadow: what the guest sees */
	struct vm_shadow *sh;		/* shadow: arch/x86/paging/shadow.c */
	/*
	 * NMIs for the guest, not delivered yet: ones that exited (VMX) or
	 * that umbra took in root mode (arch/x86/cpu/idt.c).  The back end
	 * injects them when the guest's NMI blocking allows.  As a CPU
	 * delivers one and latches one more while NMIs are blocked (SDM
	 * Vol 3 6.7.1), at most two wait (vcpu_nmi_add()), and one while
	 * the guest is in its NMI handler (the back end knows when).
	 */
	uint8_t nmi_pending;
	uint64_t nmis_injected;
	struct vcpu_vmsr {		/* arch/x86/exit/msr.c: MSRs kept virtual */
		uint64_t val[VCPU_NR_VMSR];
		uint32_t written;	/* bit n: val[n] holds a guest write */
	} vmsr;
	/* several CPUs (arch/x86/vcpu/smp.c) */
	unsigned int cpu;		/* umbra's CPU that runs it; 0: the BSP */
	uint32_t apic_id;
	uint32_t requests;		/* VCPU_REQ_*: set by any CPU */
	uint32_t sipi;			/* SIPI_PENDING | vector, for a waiting vCPU */
	bool waiting;			/* in the wait-for-SIPI state */
	bool in_guest;			/* about to enter or in guest mode */
	uint32_t icr_hi;		/* the guest's last xAPIC ICR[63:32] */
	struct vcpu_itlb {		/* arch/x86/emul/gmem.c: the last */
		uint64_t lin, gpa;	/* instruction fetch's page, as a TLB */
		uint64_t cr0, cr3, cr4, efer;	/* entry of the guest's */
		unsigned int access;
		bool valid, global;
	} itlb;
	struct vcpu_dr {		/* arch/x86/exit/dr.c: while gdb holds */
		bool held;		/* the CPU's debug registers, the */
		uint64_t dr[4], dr6, dr7;	/* guest's own values */
	} own_dr;
};

#define VCPU_REQ_INIT	(1u << 0)	/* INIT: to wait-for-SIPI */
#define VCPU_REQ_FLUSH	(1u << 1)	/* flush the guest's TLB (ops->flush_tlb) */
#define VCPU_REQ_MMU	(1u << 2)	/* go round: mmu->enter has work (shadow) */

extern const struct vcpu_ops svm_ops;
extern const struct vcpu_ops vmx_ops;

static inline void vcpu_nmi_add(struct vcpu *v)
{
	if (v->nmi_pending < 2)
		v->nmi_pending++;
}

void vcpu_advance_rip(struct vcpu *v, const struct vcpu_exit *e, unsigned fallback_len);
void vcpu_dump(struct vcpu *v, const char *tag);	/* at error level */
void vcpu_print_regs(struct vcpu *v, const char *tag);	/* at info level */
void vcpu_print_stats(struct vcpu *v);

/* general registers in encoding order (0 rax ... 4 rsp ... 15 r15) */
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned int n);
void vcpu_gpr_write(struct vcpu *v, unsigned int n, uint64_t val);
/* the guest's current privilege level (SS.DPL, APM 15.5.1, SDM 5.5) */
unsigned int vcpu_cpl(struct vcpu *v);

#endif
