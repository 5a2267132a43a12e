// SPDX-License-Identifier: BSD-2-Clause
/*
 * VMEXIT_INVALID in words.  VMRUN refuses a VMCB that breaks one of the
 * consistency checks of AMD APM Vol 2 15.5.1 ("Basic Operation", VMRUN)
 * without saying which (the exit code is -1, nothing else): the checks
 * are run again here on the VMCB, and every rule it breaks is printed.
 * The run loop then stops the guest (guest-error), never umbra.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "arch/x86/vcpu/vcpu.h"
#include "svm/diag.h"
#include "svm/vmcb.h"
#include "umbra/log.h"

#define SEG_ATTR_L	(1u << 9)	/* VMCB attr: descriptor bits 52-55 in 11:8 */
#define SEG_ATTR_D	(1u << 10)
#define CPUID_LM	(1u << 29)	/* 8000_0001h EDX */
/* APM Vol 2 3.1.7: the EFER bits a processor may have; the others MBZ */
#define EFER_DEFINED	(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_SVME | \
			 EFER_LMSLE | EFER_FFXSR | EFER_TCE | (1ull << 17) | \
			 (1ull << 18) | (1ull << 20) | (1ull << 21))

#define RULE_WHO	"svm"

/* APM Vol 2 15.20: what EVENTINJ may hold */
static void check_event_inj(uint64_t inj)
{
	uint64_t type = inj & EVENTINJ_TYPE_MASK;
	uint64_t vector = inj & EVENTINJ_VECTOR_MASK;

	if (!(inj & EVENTINJ_VALID))
		return;
	RULE(type != (1ull << 8) && type < (5ull << 8),
	     "EVENTINJ type reserved (1, 5-7)", inj, type >> 8);
	RULE(type != EVENTINJ_TYPE_EXC || (vector != 2 && vector < 32),
	     "EVENTINJ exception with vector 2 or above 31", inj, vector);
	RULE(!(inj & 0x7ffff000ull), "EVENTINJ reserved bits 30:12 set", inj, 0);
}

void svm_diag_invalid(struct vcpu *v, const struct vmcb *vmcb, uint64_t cr4_ok)
{
	const struct vmcb_save *g = &vmcb->save;
	const struct vmcb_control *c = &vmcb->ctl;
	uint64_t phys_mbz = ~0ull << cpu_maxphyaddr();
	bool lm = g->efer & EFER_LME, pg = g->cr0 & CR0_PG;

	rules_broken = 0;
	pr_err("svm: VMRUN refused the VMCB (VMEXIT_INVALID); the checks of APM Vol 2 15.5.1 it breaks:");
	RULE(g->efer & EFER_SVME, "EFER.SVME clear", g->efer, 0);
	RULE(!(g->cr0 & CR0_NW) || (g->cr0 & CR0_CD), "CR0.NW set with CR0.CD clear",
	     g->cr0, 0);
	RULE(!(g->cr0 >> 32), "CR0 bits 63:32 set", g->cr0, 0);
	RULE(!(g->cr3 & phys_mbz) && (lm || !(g->cr3 >> 32)),
	     "CR3 MBZ bits set (above MAXPHYADDR, or 63:32 outside long mode)",
	     g->cr3, phys_mbz);
	RULE(!(g->cr4 & ~cr4_ok), "CR4 MBZ (reserved or unsupported) bits set",
	     g->cr4, g->cr4 & ~cr4_ok);
	RULE(!(g->dr6 >> 32), "DR6 bits 63:32 set", g->dr6, 0);
	RULE(!(g->dr7 >> 32), "DR7 bits 63:32 set", g->dr7, 0);
	RULE(!(g->efer & ~EFER_DEFINED), "EFER MBZ bits set", g->efer,
	     g->efer & ~EFER_DEFINED);
	RULE(!(g->efer & (EFER_LME | EFER_LMA)) ||
	     (cpuid(0x80000001).edx & CPUID_LM),
	     "EFER.LME or LMA set without long mode", g->efer, 0);
	RULE(!(lm && pg) || (g->cr4 & CR4_PAE), "EFER.LME and CR0.PG set, CR4.PAE clear",
	     g->efer, g->cr4);
	RULE(!(lm && pg) || (g->cr0 & CR0_PE), "EFER.LME and CR0.PG set, CR0.PE clear",
	     g->efer, g->cr0);
	RULE(!(lm && pg && (g->cr4 & CR4_PAE) && (g->cs.attr & SEG_ATTR_L) &&
	       (g->cs.attr & SEG_ATTR_D)),
	     "EFER.LME, CR0.PG, CR4.PAE, CS.L and CS.D all set", g->cs.sel, g->cs.attr);
	RULE(c->intercept4 & INTERCEPT_VMRUN, "VMRUN intercept clear", c->intercept4, 0);
	RULE(!((c->msrpm_base_pa + 0x2000) & phys_mbz) &&
	     !((c->iopm_base_pa + 0x3000) & phys_mbz),
	     "MSRPM or IOPM beyond MAXPHYADDR", c->msrpm_base_pa, c->iopm_base_pa);
	RULE(c->asid != 0, "ASID 0", c->asid, 0);
	check_event_inj(c->event_inj);
	if (!rules_broken)
		pr_err("svm:   (none of the rules umbra checks is broken)");
}
