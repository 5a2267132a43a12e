// SPDX-License-Identifier: BSD-2-Clause
/*
 * Control-register writes that a back end chose to intercept.  Today only
 * the SVM back end does, in one narrow window (svm/svm.c, "deferred LME");
 * shadow paging will intercept them for good.  Without decode assists the
 * instruction must be decoded (arch/x86/decode.c): MOV to CRn (0F 22 /r),
 * CLTS (0F 06) and LMSW (0F 01 /6, register form), SDM Vol 2.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/decode.h"
#include "arch/x86/mem.h"
#include "arch/x86/vcpu.h"
#include "lib/string.h"
#include "umbra/log.h"

#define CR0_TS		(1ull << 3)
#define RFLAGS_VM	(1ull << 17)
#define CR4_PAE		(1ull << 5)
#define MAX_INSN	15

/* Encoded register n (no REX with paging off); NULL for RSP, not in gprs. */
static uint64_t *gpr(struct vcpu *v, int n)
{
	uint64_t *regs[8] = { &v->gprs.rax, &v->gprs.rcx, &v->gprs.rdx, &v->gprs.rbx,
			      NULL, &v->gprs.rbp, &v->gprs.rsi, &v->gprs.rdi };

	return n >= 0 && n < 8 ? regs[n] : NULL;
}

/* Instruction bytes at CS:RIP of a guest with paging off (linear = physical). */
static int fetch(struct vcpu *v, uint8_t *buf)
{
	struct segment cs;
	uint64_t lin;

	if (v->ops->get_reg(v, VCPU_CR0) & CR0_PG)
		return -1;
	v->ops->get_seg(v, SEG_CS, &cs);
	lin = (cs.base + v->ops->get_reg(v, VCPU_RIP)) & 0xffffffffull;
	if (!guest_ram(lin, MAX_INSN))
		return -1;
	memcpy(buf, phys_to_virt(lin), MAX_INSN);
	return 0;
}

/* The mode of the guest's code segment (decode.h); attr bits 9 (L), 10 (D). */
static enum x86_mode guest_mode(struct vcpu *v)
{
	const struct vcpu_ops *o = v->ops;
	struct segment cs;

	o->get_seg(v, SEG_CS, &cs);
	return x86_mode_of(o->get_reg(v, VCPU_CR0) & CR0_PE,
			   o->get_reg(v, VCPU_RFLAGS) & RFLAGS_VM,
			   o->get_reg(v, VCPU_EFER) & EFER_LMA,
			   cs.attr & (1 << 9), cs.attr & (1 << 10));
}

/* SDM Vol 3 2.5 and 10.8.5: the checks of a CR0 write that matter here. */
static bool cr0_write_faults(struct vcpu *v, uint64_t val)
{
	if ((val & CR0_PG) && !(val & CR0_PE))
		return true;
	return (val & CR0_PG) && (v->ops->get_reg(v, VCPU_EFER) & EFER_LME) &&
	       !(v->ops->get_reg(v, VCPU_CR4) & CR4_PAE);
}

void handle_cr_write(struct vcpu *v, const struct vcpu_exit *e)
{
	const struct vcpu_ops *o = v->ops;
	uint8_t bytes[MAX_INSN];
	struct x86_insn in;
	uint64_t val, cr0 = o->get_reg(v, VCPU_CR0);

	/* MOV to CRn (0F 22), CLTS (0F 06), LMSW r16 (0F 01 /6) */
	if (fetch(v, bytes) ||
	    x86_decode(bytes, MAX_INSN, guest_mode(v), &in) != X86_DEC_OK ||
	    !(in.op == X86_OP_MOV_TO_CR || in.op == X86_OP_CLTS ||
	      (in.op == X86_OP_LMSW && !in.has_mem)) ||
	    (in.op == X86_OP_MOV_TO_CR ? in.cr : 0) != e->cr ||
	    (in.op != X86_OP_CLTS && !gpr(v, in.rm_reg))) {
		pr_err("cannot emulate the write of CR%d at rip %lx", e->cr,
		       o->get_reg(v, VCPU_RIP));
		vcpu_dump(v, "CR write");
		halt("guest-error");
	}
	switch (in.op) {
	case X86_OP_CLTS:
		val = cr0 & ~CR0_TS;
		break;
	case X86_OP_LMSW:	/* only PE, MP, EM, TS; PE cannot be cleared */
		val = (cr0 & ~0xeull) | (*gpr(v, in.rm_reg) & 0xf) | (cr0 & CR0_PE);
		break;
	default:
		val = (uint32_t)*gpr(v, in.rm_reg);
		break;
	}
	if (e->cr == 0 && cr0_write_faults(v, val)) {
		o->inject_exception(v, X86_TRAP_GP, true, 0);
		return;
	}
	o->set_reg(v, e->cr == 0 ? VCPU_CR0 : e->cr == 3 ? VCPU_CR3 : VCPU_CR4, val);
	o->set_reg(v, VCPU_RIP, o->get_reg(v, VCPU_RIP) + in.len);
}
