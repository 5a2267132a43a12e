// SPDX-License-Identifier: BSD-2-Clause
/*
 * Control-register accesses a back end intercepted: MOV to/from CR0, CR3,
 * CR4 (SDM Vol 2 MOV--Move to/from Control Registers), CLTS and LMSW.
 * Shadow paging intercepts them for good; under nested paging VMX exits
 * on writes to the bits it owns (CR0.NE, CR4.VMXE, ...; vmx/vmx.c) and
 * SVM intercepts CR4 writes always and CR0 writes in the "deferred LME"
 * window (svm/svm.c).  Every write is checked here as the CPU checks it,
 * once for both back ends and both MMUs.  The back end says
 * which register and, where the CPU tells it (VMX exit qualification, SVM
 * decode assists), the form; otherwise the instruction is fetched through
 * the guest's page tables and decoded (arch/x86/emul/decode.c).  XSETBV
 * (XCR0) and the PAE PDPTEs' rules are here too.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "arch/x86/emul/emulate.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/exit/cr.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "umbra/log.h"

/* SDM Vol 3 2.5: the CR0 bits that exist; writes to others are ignored */
#define CR0_DEFINED	(CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | \
			 CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)

/* What the instruction does, from the exit or from decoding it. */
struct cr_insn {
	enum cr_access type;
	int gpr;
	uint16_t lmsw;
	unsigned int smsw_size;		/* SMSW: operand size, bytes */
	uint64_t smsw_lin;		/* SMSW to memory: where (gpr -1) */
	unsigned int len;
};

static bool in_64bit_code(struct vcpu *v)
{
	return guest_insn_mode(v) == X86_MODE_64;
}

static void __attribute__((noreturn)) cannot(struct vcpu *v, const char *what,
					     int cr, const struct guest_insn *gi)
{
	pr_err("cannot emulate the %s of CR%d", what, cr);
	insn_report(v, "control-register access", gi);
	vcpu_dump(v, "CR access");
	vcpu_print_stats(v);
	halt("guest-error");
}

/* 0, or -1 when a #PF of the fetch has been injected instead. */
static int get_insn(struct vcpu *v, const struct vcpu_exit *e, bool write,
		    struct cr_insn *ci)
{
	struct guest_insn gi = { .nbytes = 0 };
	struct gmem_fault f;
	const struct x86_insn *in = &gi.in;
	int r;

	ci->type = e->cr.type;
	ci->gpr = e->cr.gpr;
	ci->lmsw = e->cr.lmsw;
	ci->len = e->insn_len;
	if (ci->type != CR_ACCESS_UNKNOWN && ci->len)
		return 0;
	r = insn_fetch(v, &gi, &f);
	if (r == GMEM_FAULT) {
		pr_debug("CR%d access: fetching the instruction faults at %lx (error code %x, cr3 %lx cr4 %lx)",
			 e->cr.n, f.addr, f.error_code, v->ops->get_reg(v, VCPU_CR3),
			 v->ops->get_reg(v, VCPU_CR4));
		gmem_inject_fault(v, &f);
		return -1;
	}
	if (r || gi.dec != X86_DEC_OK)
		cannot(v, write ? "write" : "read", e->cr.n, &gi);
	ci->len = in->len;
	if (in->op == (write ? X86_OP_MOV_TO_CR : X86_OP_MOV_FROM_CR) &&
	    in->cr == e->cr.n && in->rm_reg >= 0) {
		ci->type = CR_ACCESS_MOV;
		ci->gpr = in->rm_reg;
	} else if (write && e->cr.n == 0 && in->op == X86_OP_CLTS) {
		ci->type = CR_ACCESS_CLTS;
	} else if (write && e->cr.n == 0 && in->op == X86_OP_LMSW) {
		ci->type = CR_ACCESS_LMSW;
		if (in->has_mem) {
			struct x86_regs regs;
			uint64_t lin;

			guest_x86_regs(v, in, &regs);
			x86_mem_linear(in, &in->mem, &regs, &lin);
			r = gmem_read(v, lin, &ci->lmsw, 2, 0, &f);
			if (r == GMEM_FAULT) {
				gmem_inject_fault(v, &f);
				return -1;
			}
			if (r)
				cannot(v, "write", 0, &gi);
		} else {
			ci->lmsw = (uint16_t)vcpu_gpr_read(v, in->rm_reg);
		}
	} else if (!write && e->cr.n == 0 && in->op == X86_OP_SMSW) {
		ci->type = CR_ACCESS_SMSW;
		ci->smsw_size = in->op_size;
		ci->gpr = in->has_mem ? -1 : in->rm_reg;
		if (in->has_mem) {
			struct x86_regs regs;

			guest_x86_regs(v, in, &regs);
			x86_mem_linear(in, &in->mem, &regs, &ci->smsw_lin);
		}
	} else {
		cannot(v, write ? "write" : "read", e->cr.n, &gi);
	}
	return 0;
}

/*
 * SMSW (SDM Vol 2 "SMSW"; APM Vol 2 15.9: the CR0 read intercept takes it
 * too): to memory the low 16 bits of CR0; to a register as many bits as
 * the operand size (a 16-bit register keeps its upper bits; a 32-bit one
 * is written whole, as the CPUs do where the SDM says "undefined").
 */
static void smsw(struct vcpu *v, const struct cr_insn *ci, uint64_t cr0)
{
	const struct vcpu_ops *o = v->ops;
	struct gmem_fault f;
	uint16_t low = (uint16_t)cr0;
	uint64_t old;

	if (ci->gpr < 0) {
		int r = gmem_write(v, ci->smsw_lin, &low, 2, &f);

		if (r == GMEM_FAULT) {
			gmem_inject_fault(v, &f);
			return;
		}
		if (r)
			cannot(v, "read", 0, NULL);
	} else if (ci->smsw_size == 2) {
		old = vcpu_gpr_read(v, ci->gpr);
		vcpu_gpr_write(v, ci->gpr, (old & ~0xffffull) | low);
	} else {
		vcpu_gpr_write(v, ci->gpr, ci->smsw_size == 8 ? cr0 :
			       (uint32_t)cr0);
	}
	o->set_reg(v, VCPU_RIP, o->get_reg(v, VCPU_RIP) + ci->len);
}

/*
 * CR4 bits this CPU has (SDM Vol 3 2.5, CPUID leaves 1 and 7; APM Vol 2
 * 3.1.3), less those the back end cannot give the guest.  Protection keys
 * (PKE, PKS) in both MMU modes: the shadow leaves carry the guest's keys
 * (SDM Vol 3 4.6.2).  Under nested paging the guest also has what the
 * hardware walks for it: PCIDE, LA57, CET.
 */
uint64_t cr4_allowed(struct vcpu *v)
{
	uint64_t ok = 0x7ff;	/* VME..OSXMMEXCPT: every x86-64 CPU */
	struct cpuid_regs l1 = cpuid(1), l7 = { 0, 0, 0, 0 };

	if (cpuid(0).eax >= 7)
		l7 = cpuid_count(7, 0);
	ok |= (l7.ecx & (1u << 2)) ? 1ull << 11 : 0;	/* UMIP */
	ok |= (l7.ebx & (1u << 0)) ? 1ull << 16 : 0;	/* FSGSBASE */
	ok |= (l1.ecx & (1u << 26)) ? 1ull << 18 : 0;	/* OSXSAVE */
	ok |= (l7.ebx & (1u << 7)) ? 1ull << 20 : 0;	/* SMEP */
	ok |= (l7.ebx & (1u << 20)) ? 1ull << 21 : 0;	/* SMAP */
	ok |= (l7.ecx & (1u << 3)) ? CR4_PKE : 0;
	ok |= (l7.ecx & (1u << 31)) ? CR4_PKS : 0;
	/* shadow paging hides PCID, 5-level paging and CET (cpuid.c) */
	if (v->mmu->nested) {
		ok |= (l1.ecx & (1u << 17)) ? CR4_PCIDE : 0;
		ok |= (l7.ecx & (1u << 16)) ? CR4_LA57 : 0;
		ok |= (l7.ecx & (1u << 7)) || (l7.edx & (1u << 20)) ?
		      1ull << 23 : 0;				/* CET */
	}
	if (v->ops->cr4_reserved)
		ok &= ~v->ops->cr4_reserved(v);
	return ok;
}

/*
 * The new control registers after a write of val to CRn, with the checks
 * of SDM Vol 2 MOV CR and Vol 3 10.8.5 (APM Vol 2 3.1, 14.6).  -1: #GP.
 */
static int new_state(struct vcpu *v, int cr, uint64_t val, struct vcpu_cr *n)
{
	uint64_t old0 = n->cr0;

	switch (cr) {
	case 0:
		if (val >> 32)
			return -1;
		val = (val & CR0_DEFINED) | CR0_ET;
		if (((val & CR0_PG) && !(val & CR0_PE)) ||
		    ((val & CR0_NW) && !(val & CR0_CD)))
			return -1;
		if ((val & CR0_PG) && !(old0 & CR0_PG) && (n->efer & EFER_LME) &&
		    !(n->cr4 & CR4_PAE))
			return -1;
		if (!(val & CR0_PG) && (old0 & CR0_PG) &&
		    (in_64bit_code(v) || (n->cr4 & CR4_PCIDE)))
			return -1;
		n->cr0 = val;
		if ((val & CR0_PG) && (n->efer & EFER_LME))
			n->efer |= EFER_LMA;
		else
			n->efer &= ~EFER_LMA;
		return 0;
	case 3:
		if (n->efer & EFER_LMA) {
			val &= ~(1ull << 63);	/* PCID no-flush: no PCID */
			if (val >> cpu_maxphyaddr())
				return -1;
		} else {
			val = (uint32_t)val;
		}
		n->cr3 = val;
		return 0;
	case 4:
		if (val & ~cr4_allowed(v))
			return -1;
		if ((n->efer & EFER_LMA) && !(val & CR4_PAE))
			return -1;
		if ((val & CR4_PCIDE) && !(n->cr4 & CR4_PCIDE) &&
		    (!(n->efer & EFER_LMA) || (n->cr3 & 0xfff)))
			return -1;
		/* SDM Vol 2 MOV CR: LA57 cannot change in IA-32e mode */
		if ((n->efer & EFER_LMA) && ((val ^ n->cr4) & CR4_LA57))
			return -1;
		n->cr4 = val;
		return 0;
	}
	return -1;
}

static void get_state(struct vcpu *v, struct vcpu_cr *c)
{
	c->cr0 = v->ops->get_reg(v, VCPU_CR0);
	c->cr3 = v->ops->get_reg(v, VCPU_CR3);
	c->cr4 = v->ops->get_reg(v, VCPU_CR4);
	c->efer = v->ops->get_reg(v, VCPU_EFER);
}

void handle_cr_write(struct vcpu *v, const struct vcpu_exit *e)
{
	const struct vcpu_ops *o = v->ops;
	struct cr_insn ci;
	struct vcpu_cr old, n;
	uint64_t val;

	if (e->cr.n != 0 && e->cr.n != 3 && e->cr.n != 4)
		cannot(v, "write", e->cr.n, NULL);
	if (get_insn(v, e, true, &ci))
		return;
	get_state(v, &old);
	n = old;
	switch (ci.type) {
	case CR_ACCESS_CLTS:
		val = old.cr0 & ~CR0_TS;
		break;
	case CR_ACCESS_LMSW:	/* PE, MP, EM, TS; PE cannot be cleared */
		val = (old.cr0 & ~0xeull) | (ci.lmsw & 0xf);
		break;
	default:
		val = vcpu_gpr_read(v, ci.gpr);
		if (!in_64bit_code(v))
			val = (uint32_t)val;
		break;
	}
	if (new_state(v, e->cr.n, val, &n))
		goto gp;
	if (v->mmu->set_cr(v, &old, &n, e->cr.n))
		goto gp;
	if (e->cr.n == 3)	/* SDM Vol 3 4.10.4.1: non-global entries */
		gmem_flush_fetch(v, 0, false, false);
	o->set_reg(v, VCPU_RIP, o->get_reg(v, VCPU_RIP) + ci.len);
	return;
gp:
	pr_debug("guest write of %lx to CR%d at %lx: #GP", val, e->cr.n,
		 o->get_reg(v, VCPU_RIP));
	o->inject_exception(v, X86_TRAP_GP, true, 0);
}

/* MOV from CRn: 64 bits in 64-bit mode, else 32 (SDM Vol 2 MOV CR). */
void handle_cr_read(struct vcpu *v, const struct vcpu_exit *e)
{
	const struct vcpu_ops *o = v->ops;
	struct cr_insn ci;
	uint64_t val;

	if (e->cr.n != 0 && e->cr.n != 3 && e->cr.n != 4)
		cannot(v, "read", e->cr.n, NULL);
	if (get_insn(v, e, false, &ci))
		return;
	if (ci.type == CR_ACCESS_SMSW) {
		smsw(v, &ci, o->get_reg(v, VCPU_CR0));
		return;
	}
	if (ci.type != CR_ACCESS_MOV)
		cannot(v, "read", e->cr.n, NULL);
	val = o->get_reg(v, e->cr.n == 0 ? VCPU_CR0 : e->cr.n == 3 ?
			 VCPU_CR3 : VCPU_CR4);
	if (!in_64bit_code(v))
		val = (uint32_t)val;
	vcpu_gpr_write(v, ci.gpr, val);
	o->set_reg(v, VCPU_RIP, o->get_reg(v, VCPU_RIP) + ci.len);
}

/* INVLPG m (SDM Vol 2 INVLPG): the operand's linear address. */
void handle_invlpg(struct vcpu *v, const struct vcpu_exit *e)
{
	const struct vcpu_ops *o = v->ops;
	uint64_t gva = e->invlpg.gva;
	unsigned int len = e->insn_len;

	if (!e->invlpg.valid || !len) {
		struct guest_insn gi = { .nbytes = 0 };
		struct gmem_fault f;
		struct x86_regs regs;
		int r = insn_fetch(v, &gi, &f);

		if (r == GMEM_FAULT) {
			gmem_inject_fault(v, &f);
			return;
		}
		if (r || gi.dec != X86_DEC_OK || gi.in.op != X86_OP_INVLPG) {
			insn_report(v, "INVLPG exit", &gi);
			vcpu_dump(v, "INVLPG");
			vcpu_print_stats(v);
			halt("guest-error");
		}
		len = gi.in.len;
		if (!e->invlpg.valid) {
			guest_x86_regs(v, &gi.in, &regs);
			x86_mem_linear(&gi.in, &gi.in.mem, &regs, &gva);
		}
	}
	if (v->mmu->invlpg)
		v->mmu->invlpg(v, gva);
	gmem_flush_fetch(v, in_64bit_code(v) ? gva : (uint32_t)gva, true, true);
	o->set_reg(v, VCPU_RIP, o->get_reg(v, VCPU_RIP) + len);
}

/*
 * XSETBV exits under VMX always (SDM Vol 3 25.1.2).  umbra keeps no
 * extended state of its own, so XCR0 is the guest's: check the value as
 * the CPU would (SDM Vol 1 13.3, Vol 2 XSETBV) and load it.  CPL > 0
 * faults before the exit (25.1.1).
 */
void handle_xsetbv(struct vcpu *v, const struct vcpu_exit *e)
{
	struct cpuid_regs d = cpuid_count(0xd, 0);
	uint64_t val = (v->gprs.rdx << 32) | (uint32_t)v->gprs.rax;
	uint64_t supported = ((uint64_t)d.edx << 32) | d.eax;
	uint64_t avx512 = 7u << 5, mpx = 3u << 3;

	if ((uint32_t)v->gprs.rcx != 0 || !(val & 1) || (val & ~supported) ||
	    ((val & 4) && !(val & 2)) ||
	    ((val & avx512) && ((val & avx512) != avx512 || !(val & 4))) ||
	    ((val & mpx) && (val & mpx) != mpx)) {
		pr_debug("guest XSETBV of %lx to XCR%u: #GP", val,
			 (uint32_t)v->gprs.rcx);
		v->ops->inject_exception(v, X86_TRAP_GP, true, 0);
		return;
	}
	__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)val),
			 "d"((uint32_t)(val >> 32)));
	vcpu_advance_rip(v, e, 3);
}

/* PAE paging: the four PDPTEs translate (SDM Vol 3 4.4) */
bool guest_pae_paging(const struct vcpu_cr *c)
{
	return (c->cr0 & CR0_PG) && (c->cr4 & CR4_PAE) && !(c->efer & EFER_LMA);
}

/*
 * SDM Vol 3 4.4.1, Table 4-8: the four PDPTEs at CR3[31:5]; one with P
 * and a reserved bit (2:1, 8:5, 63:MAXPHYADDR) makes the load #GP.
 */
int guest_load_pdptes(uint64_t cr3, uint64_t pdpte[4], bool check)
{
	uint64_t rsvd = 0x1e6ull | ~((1ull << cpu_maxphyaddr()) - 1);
	uint64_t base = cr3 & 0xffffffe0ull;

	for (int i = 0; i < 4; i++) {
		if (guest_phys_ops.read(NULL, base + 8 * i, 8, &pdpte[i])) {
			if (check)
				return -1;
			pdpte[i] = 0;
		}
		if (check && (pdpte[i] & 1) && (pdpte[i] & rsvd))
			return -1;
	}
	return 0;
}

/*
 * SDM Vol 3 4.4.1: in PAE paging, MOV to CR3, and a MOV to CR0 or CR4
 * that changes CR0.CD, NW or PG or CR4.PAE, PGE, PSE or SMEP, load the
 * PDPTEs (entering PAE paging changes one of them); an NE or WP toggle
 * loads nothing.
 */
bool guest_pdptes_load_on(const struct vcpu_cr *o, const struct vcpu_cr *n,
			  bool cr3_load)
{
	return guest_pae_paging(n) &&
	       (cr3_load || !guest_pae_paging(o) ||
		((o->cr0 ^ n->cr0) & (CR0_PG | CR0_CD | CR0_NW)) ||
		((o->cr4 ^ n->cr4) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)));
}
