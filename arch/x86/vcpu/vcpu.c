// SPDX-License-Identifier: BSD-2-Clause
/*
 * The helpers every exit handler uses: RIP, general registers, CPL, and
 * the guest's registers and exit statistics in the log.
 */
#include <stddef.h>

#include "arch/x86/cpu/idt.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "umbra/log.h"

/* arch/x86/vcpu/gprs.inc describes the same layout to the world switches */
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
	[EXIT_XSETBV] = "xsetbv",
	[EXIT_FAILED_ENTRY] = "failed-entry",
	[EXIT_SINGLE_STEP] = "single-step",
	[EXIT_BREAKPOINT] = "breakpoint",
	[EXIT_DR_ACCESS] = "dr-access",
	[EXIT_DEBUG] = "debug",
	[EXIT_OTHER] = "other",
};

void vcpu_advance_rip(struct vcpu *v, const struct vcpu_exit *e, unsigned fallback_len)
{
	unsigned len = e->insn_len ? e->insn_len : fallback_len;

	v->ops->set_reg(v, VCPU_RIP, v->ops->get_reg(v, VCPU_RIP) + len);
}

/* where register n (SDM Vol 2 2.1.5's encoding) is in struct vcpu_gprs */
#define SLOT(r)	(offsetof(struct vcpu_gprs, r) / sizeof(uint64_t))
static const uint8_t gpr_slots[16] = {
	SLOT(rax), SLOT(rcx), SLOT(rdx), SLOT(rbx), 0, SLOT(rbp), SLOT(rsi),
	SLOT(rdi), SLOT(r8), SLOT(r9), SLOT(r10), SLOT(r11), SLOT(r12),
	SLOT(r13), SLOT(r14), SLOT(r15),
};

static uint64_t *gpr_slot(struct vcpu *v, unsigned int n)
{
	return (uint64_t *)&v->gprs + gpr_slots[n & 15];
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

static const char *const class_names[] = {
	[EXCL_PF_FILL - NR_EXIT_REASONS] = "pf-fill",
	[EXCL_PF_REFLECT - NR_EXIT_REASONS] = "pf-reflect",
	[EXCL_PF_EMULATE - NR_EXIT_REASONS] = "pf-emulate",
	[EXCL_CR3_NOSYNC - NR_EXIT_REASONS] = "cr3-nosync",
	[EXCL_CR3_SYNC - NR_EXIT_REASONS] = "cr3-sync",
};

/* TSC per exit class (docs/performance.md: under icount, instructions) */
static void print_costs(struct vcpu *v)
{
	pr_info("exit cost (umbra's TSC from exit to next entry):");
	for (int c = 0; c < NR_EXIT_CLASSES; c++)
		if (v->class_exits[c])
			pr_info("  cost %-14s %lu exits %lu tsc",
				c < NR_EXIT_REASONS ? reason_names[c] :
				class_names[c - NR_EXIT_REASONS],
				v->class_exits[c], v->class_tsc[c]);
}

void vcpu_print_stats(struct vcpu *v)
{
	pr_info("exit statistics (%s):", v->ops->name);
	for (int r = 0; r < NR_EXIT_REASONS; r++)
		if (v->exits[r])
			pr_info("  %-14s %lu", reason_names[r], v->exits[r]);
	if (v->mmu)
		v->mmu->print_stats(v);
	print_costs(v);
	if (host_nmis || v->nmis_injected)
		pr_info("  NMIs injected %lu (taken while umbra ran %lu, forwarded)",
			v->nmis_injected, host_nmis);
	pr_info("total exits: %lu", v->total_exits);
}
