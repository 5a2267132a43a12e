// SPDX-License-Identifier: BSD-2-Clause
/*
 * Control-register writes that a back end chose to intercept.  Today only
 * the SVM back end does, in one narrow window (svm/svm.c, "deferred LME");
 * shadow paging will intercept them for good.  Without decode assists the
 * instruction must be decoded: MOV to CRn (0F 22 /r), CLTS (0F 06) and
 * LMSW (0F 01 /6, register form), SDM Vol 2.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/mem.h"
#include "arch/x86/vcpu.h"
#include "lib/string.h"
#include "umbra/log.h"

#define CR0_TS		(1ull << 3)
#define CR4_PAE		(1ull << 5)
#define MAX_INSN	15

struct cr_insn {
	enum { CR_MOV, CR_CLTS, CR_LMSW } op;
	int cr;
	int gpr;
	unsigned len;
};

static uint64_t *gpr(struct vcpu *v, int n)
{
	uint64_t *regs[8] = { &v->gprs.rax, &v->gprs.rcx, &v->gprs.rdx, &v->gprs.rbx,
			      NULL, &v->gprs.rbp, &v->gprs.rsi, &v->gprs.rdi };

	return regs[n];
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

/* Legacy prefixes, then one of the three forms; no REX outside 64-bit mode. */
static int decode(const uint8_t *b, struct cr_insn *in)
{
	unsigned i = 0;

	while (i < 14 && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0xf0 ||
			  b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x26 ||
			  b[i] == 0x2e || b[i] == 0x36 || b[i] == 0x3e ||
			  b[i] == 0x64 || b[i] == 0x65))
		i++;
	if (b[i] != 0x0f)
		return -1;
	switch (b[i + 1]) {
	case 0x22:		/* MOV CRn, r32: mod is ignored (always a register) */
		in->op = CR_MOV;
		in->cr = (b[i + 2] >> 3) & 7;
		in->gpr = b[i + 2] & 7;
		in->len = i + 3;
		return 0;
	case 0x06:
		in->op = CR_CLTS;
		in->cr = 0;
		in->len = i + 2;
		return 0;
	case 0x01:
		if (((b[i + 2] >> 3) & 7) != 6 || (b[i + 2] >> 6) != 3)
			return -1;	/* LMSW m16 is not needed yet */
		in->op = CR_LMSW;
		in->cr = 0;
		in->gpr = b[i + 2] & 7;
		in->len = i + 3;
		return 0;
	}
	return -1;
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
	struct cr_insn in;
	uint64_t val, cr0 = o->get_reg(v, VCPU_CR0);

	if (fetch(v, bytes) || decode(bytes, &in) || in.cr != e->cr ||
	    (in.op == CR_MOV && in.gpr == 4)) {
		pr_err("cannot emulate the write of CR%d at rip %lx", e->cr,
		       o->get_reg(v, VCPU_RIP));
		vcpu_dump(v, "CR write");
		halt("guest-error");
	}
	switch (in.op) {
	case CR_CLTS:
		val = cr0 & ~CR0_TS;
		break;
	case CR_LMSW:	/* only PE, MP, EM, TS; PE cannot be cleared */
		val = (cr0 & ~0xeull) | (*gpr(v, in.gpr) & 0xf) | (cr0 & CR0_PE);
		break;
	default:
		val = (uint32_t)*gpr(v, in.gpr);
		break;
	}
	if (in.cr == 0 && cr0_write_faults(v, val)) {
		o->inject_exception(v, X86_TRAP_GP, true, 0);
		return;
	}
	o->set_reg(v, in.cr == 0 ? VCPU_CR0 : in.cr == 3 ? VCPU_CR3 : VCPU_CR4, val);
	o->set_reg(v, VCPU_RIP, o->get_reg(v, VCPU_RIP) + in.len);
}
