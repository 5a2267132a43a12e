// SPDX-License-Identifier: BSD-2-Clause
/* The run loop: enter the guest, count the exit, dispatch it, repeat. */
#include "arch/x86/shell.h"
#include "arch/x86/idt.h"
#include "arch/x86/vcpu.h"
#include "arch/x86/vm.h"
#include "arch/x86/vm_shadow.h"
#include "drivers/iommu/iommu.h"
#include "umbra/log.h"

/* arch/x86/vcpu_gprs.inc describes the same layout to the world switches */
_Static_assert(__builtin_offsetof(struct vcpu_gprs, rsi) == 4 * 8, "vcpu_gprs layout");
_Static_assert(__builtin_offsetof(struct vcpu_gprs, r15) == 14 * 8, "vcpu_gprs layout");
_Static_assert(sizeof(struct vcpu_gprs) == 15 * 8, "vcpu_gprs layout");

static const char *const reason_names[NR_EXIT_REASONS] = {
	[EXIT_CPUID] = "cpuid",
	[EXIT_HYPERCALL] = "hypercall",
	[EXIT_IO] = "io",
	[EXIT_MSR_READ] = "msr-read",
	[EXIT_MSR_WRITE] = "msr-write",
	[EXIT_TDP_FAULT] = "tdp-fault",
	[EXIT_CR_WRITE] = "cr-write",
	[EXIT_CR_READ] = "cr-read",
	[EXIT_PAGE_FAULT] = "page-fault",
	[EXIT_INVLPG] = "invlpg",
	[EXIT_TASK_SWITCH] = "task-switch",
	[EXIT_TRIPLE_FAULT] = "triple-fault",
	[EXIT_INIT] = "init",
	[EXIT_VIRT_INSN] = "virt-insn",
	[EXIT_INTR] = "intr",
	[EXIT_NMI] = "nmi",
	[EXIT_NMI_WINDOW] = "nmi-window",
	[EXIT_HLT] = "hlt",
	[EXIT_INVD] = "invd",
	[EXIT_EMULATED] = "emulated",
	[EXIT_FAILED_ENTRY] = "failed-entry",
	[EXIT_SINGLE_STEP] = "single-step",
	[EXIT_OTHER] = "other",
};

const char *exit_reason_name(enum exit_reason r)
{
	return r < NR_EXIT_REASONS ? reason_names[r] : "?";
}

void vcpu_advance_rip(struct vcpu *v, const struct vcpu_exit *e, unsigned fallback_len)
{
	unsigned len = e->insn_len ? e->insn_len : fallback_len;

	v->ops->set_reg(v, VCPU_RIP, v->ops->get_reg(v, VCPU_RIP) + len);
}

static uint64_t *gpr_slot(struct vcpu *v, unsigned int n)
{
	struct vcpu_gprs *g = &v->gprs;
	uint64_t *const regs[16] = {
		&g->rax, &g->rcx, &g->rdx, &g->rbx, NULL, &g->rbp, &g->rsi, &g->rdi,
		&g->r8, &g->r9, &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15,
	};

	return regs[n & 15];
}

/* RSP lives in the VMCB/VMCS, the others in v->gprs */
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned int n)
{
	return (n & 15) == 4 ? v->ops->get_reg(v, VCPU_RSP) : *gpr_slot(v, n);
}

void vcpu_gpr_write(struct vcpu *v, unsigned int n, uint64_t val)
{
	if ((n & 15) == 4)
		v->ops->set_reg(v, VCPU_RSP, val);
	else
		*gpr_slot(v, n) = val;
}

unsigned int vcpu_cpl(struct vcpu *v)
{
	struct segment ss;

	v->ops->get_seg(v, SEG_SS, &ss);
	return (ss.attr >> 5) & 3;
}

static void dump_seg(struct vcpu *v, int level, enum vcpu_seg s, const char *name)
{
	struct segment seg;

	v->ops->get_seg(v, s, &seg);
	log_printf(level, "  %-4s sel=%04x attr=%03x limit=%08x base=%016lx", name,
		   seg.sel, seg.attr, seg.limit, seg.base);
}

static void print_regs(struct vcpu *v, int level, const char *tag)
{
	const struct vcpu_ops *o = v->ops;
	const struct vcpu_gprs *g = &v->gprs;
	static const char *const segs[] = { "es", "cs", "ss", "ds", "fs", "gs",
					    "ldtr", "tr", "gdtr", "idtr" };

	log_printf(level, "%s: guest registers:", tag);
	log_printf(level, "  rip=%016lx rsp=%016lx rflags=%016lx",
		   o->get_reg(v, VCPU_RIP), o->get_reg(v, VCPU_RSP),
		   o->get_reg(v, VCPU_RFLAGS));
	log_printf(level, "  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx",
		   g->rax, g->rbx, g->rcx, g->rdx);
	log_printf(level, "  rsi=%016lx rdi=%016lx rbp=%016lx", g->rsi, g->rdi, g->rbp);
	log_printf(level, "  r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx",
		   g->r8, g->r9, g->r10, g->r11);
	log_printf(level, "  r12=%016lx r13=%016lx r14=%016lx r15=%016lx",
		   g->r12, g->r13, g->r14, g->r15);
	log_printf(level, "  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx",
		   o->get_reg(v, VCPU_CR0), o->get_reg(v, VCPU_CR2),
		   o->get_reg(v, VCPU_CR3), o->get_reg(v, VCPU_CR4));
	log_printf(level, "  efer=%016lx dr6=%016lx dr7=%016lx pat=%016lx",
		   o->get_reg(v, VCPU_EFER), o->get_reg(v, VCPU_DR6),
		   o->get_reg(v, VCPU_DR7), o->get_reg(v, VCPU_PAT));
	for (int s = 0; s < NR_VCPU_SEGS; s++)
		dump_seg(v, level, s, segs[s]);
}

void vcpu_dump(struct vcpu *v, const char *tag)
{
	print_regs(v, LOG_ERROR, tag);
}

void vcpu_print_regs(struct vcpu *v, const char *tag)
{
	print_regs(v, LOG_INFO, tag);
}

void vcpu_print_stats(struct vcpu *v)
{
	pr_info("exit statistics (%s):", v->ops->name);
	for (int r = 0; r < NR_EXIT_REASONS; r++)
		if (v->exits[r])
			pr_info("  %-14s %lu", reason_names[r], v->exits[r]);
	if (v->shadow)
		vm_shadow_print_stats(v);
	else
		vm_print_mmu_stats(v);
	if (host_nmis || v->nmis_injected)
		pr_info("  NMIs injected %lu (taken while umbra ran %lu, forwarded)",
			v->nmis_injected, host_nmis);
	pr_info("total exits: %lu", v->total_exits);
}

static void handle_exit(struct vcpu *v, struct vcpu_exit *e)
{
	switch (e->reason) {
	case EXIT_CPUID:
		handle_cpuid(v, e);
		break;
	case EXIT_IO:
		handle_io(v, e);
		break;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		handle_msr(v, e);
		break;
	case EXIT_TDP_FAULT:
		vm_handle_tdp_fault(v, e);
		break;
	case EXIT_CR_WRITE:
		handle_cr_write(v, e);
		break;
	case EXIT_CR_READ:
		handle_cr_read(v, e);
		break;
	case EXIT_PAGE_FAULT:
		if (!v->shadow)
			goto unexpected;
		vm_shadow_page_fault(v, e);
		break;
	case EXIT_INVLPG:
		handle_invlpg(v, e);
		break;
	case EXIT_TASK_SWITCH:
		/* SDM Vol 3 7.3, APM Vol 2 15.14: not emulated */
		pr_err("guest task switch at rip %lx (exit %lx, info %lx %lx): umbra does not emulate task switches",
		       v->ops->get_reg(v, VCPU_RIP), e->raw, e->info1, e->info2);
		vcpu_dump(v, "task switch");
		vcpu_print_stats(v);
		halt("guest-error");
	case EXIT_HYPERCALL:
	case EXIT_VIRT_INSN:
		/* no hypercalls yet, and no nested virtualization: as on bare metal */
		pr_debug("guest ran %s at %lx: #UD", v->ops->exit_name(e->raw),
			 v->ops->get_reg(v, VCPU_RIP));
		v->ops->inject_exception(v, X86_TRAP_UD, false, 0);
		break;
	case EXIT_HLT:
		/*
		 * Intercepted only for the debug shell on a dedicated port
		 * (shell.c); the exit comes before the HLT executes (APM Vol 2
		 * 15.9, SDM Vol 3 25.1.3).  Stepping over it is a spurious
		 * wake-up, which guests expect: HLT ends on any interrupt.
		 */
		vcpu_advance_rip(v, e, 1);
		break;
	case EXIT_INVD:
		/*
		 * INVD would drop umbra's dirty cache lines with the guest's
		 * (SDM Vol 2 INVD; it exits unconditionally under VMX, SDM
		 * Vol 3 25.1.2; intercepted on SVM, APM Vol 2 15.9).  WBINVD
		 * in its place leaves memory as the guest could find it after
		 * INVD had it held no dirty lines, as KVM does with a no-op.
		 * CPL > 0 raises #GP before the exit (SDM Vol 3 25.1.1).
		 */
		__asm__ volatile("wbinvd" ::: "memory");
		vcpu_advance_rip(v, e, 2);
		break;
	case EXIT_NMI:
		/* the guest's NMI (it owns the devices): the back end injects
		   it as soon as the guest can take it */
		vcpu_nmi_add(v);
		break;
	case EXIT_INTR:
	case EXIT_NMI_WINDOW:
	case EXIT_EMULATED:
		break;
	case EXIT_TRIPLE_FAULT:
		pr_err("guest triple fault (shutdown) after %lu exits", v->total_exits);
		vcpu_dump(v, "triple fault");
		vcpu_print_stats(v);
		halt("triple-fault");
	case EXIT_INIT:
		pr_err("INIT signal to the guest's only vCPU: umbra does not emulate a reset");
		vcpu_dump(v, "INIT");
		vcpu_print_stats(v);
		halt("init");
	case EXIT_SINGLE_STEP:
		if (!v->shadow)
			goto unexpected;
		vm_shadow_step_done(v);
		break;
	case EXIT_FAILED_ENTRY:
		/*
		 * The guest's state cannot be entered (the back end's
		 * diagnosis above names the rule: vmx/diag.c, svm/diag.c).
		 * Only the guest stops; umbra is fine.
		 */
		pr_err("%s: VM entry failed (exit code %lx): guest state invalid",
		       v->ops->name, e->raw);
		vcpu_dump(v, "failed entry");
		vcpu_print_stats(v);
		halt("guest-error");
	case EXIT_OTHER:
	default:
unexpected:
		/* an exit umbra does not handle: the guest stops, umbra does not */
		pr_err("%s: unexpected exit %lx (%s) info1=%lx info2=%lx at rip %lx",
		       v->ops->name, e->raw, v->ops->exit_name(e->raw), e->info1,
		       e->info2, v->ops->get_reg(v, VCPU_RIP));
		vcpu_dump(v, "unexpected exit");
		vcpu_print_stats(v);
		halt("guest-error");
	}
}

void vcpu_run_loop(struct vcpu *v)
{
	struct vcpu_exit e;

	shell_init(v);
	for (;;) {
		if (v->shadow)
			vm_shadow_enter(v);
		v->ops->run(v, &e);
		v->exits[e.reason]++;
		v->total_exits++;
		handle_exit(v, &e);
		iommu_poll();	/* DMA faults: logged, rate-limited */
		shell_poll(v);
	}
}
