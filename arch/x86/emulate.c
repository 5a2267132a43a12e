// SPDX-License-Identifier: BSD-2-Clause
/*
 * Fetch, decode and emulate guest instructions (emulate.h).  Emulation
 * covers the instructions that write page-table entries, for the shadow
 * MMU's SHADOW_EMULATE: each runs on guest memory through the guest's own
 * tables (gmem.c) with the semantics of SDM Vol 2 (flags: Vol 1 3.4.3 and
 * Appendix A; string instructions: one iteration per exit with REP, as an
 * interruptible REP does, Vol 2 REP).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/emulate.h"
#include "lib/printf.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define RFLAGS_CF	(1ull << 0)
#define RFLAGS_PF	(1ull << 2)
#define RFLAGS_AF	(1ull << 4)
#define RFLAGS_ZF	(1ull << 6)
#define RFLAGS_SF	(1ull << 7)
#define RFLAGS_DF	(1ull << 10)
#define RFLAGS_OF	(1ull << 11)
#define RFLAGS_VM	(1ull << 17)
#define RFLAGS_ARITH	(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | \
			 RFLAGS_SF | RFLAGS_OF)

enum x86_mode guest_insn_mode(struct vcpu *v)
{
	const struct vcpu_ops *o = v->ops;
	struct segment cs;

	o->get_seg(v, SEG_CS, &cs);
	return x86_mode_of(o->get_reg(v, VCPU_CR0) & CR0_PE,
			   o->get_reg(v, VCPU_RFLAGS) & RFLAGS_VM,
			   o->get_reg(v, VCPU_EFER) & EFER_LMA,
			   cs.attr & (1 << 9), cs.attr & (1 << 10));
}

void guest_x86_regs(struct vcpu *v, struct x86_regs *r)
{
	for (unsigned int i = 0; i < 16; i++)
		r->gpr[i] = vcpu_gpr_read(v, i);
	r->rip = v->ops->get_reg(v, VCPU_RIP);
	for (int s = 0; s < NR_X86_SEGS; s++) {
		struct segment seg;

		v->ops->get_seg(v, (enum vcpu_seg)s, &seg);
		r->seg_base[s] = seg.base;
	}
}

int insn_fetch(struct vcpu *v, struct guest_insn *gi, struct gmem_fault *f)
{
	int r = gmem_fetch(v, gi->bytes, &gi->nbytes, f);

	if (r)
		return r;
	gi->dec = x86_decode(gi->bytes, gi->nbytes, guest_insn_mode(v), &gi->in);
	/* the instruction runs into a page the fetch could not read */
	if (gi->dec == X86_DEC_TRUNCATED && gi->nbytes < X86_MAX_INSN_LEN)
		return GMEM_FAULT;
	return GMEM_OK;
}

void insn_report(struct vcpu *v, const char *why, const struct guest_insn *gi)
{
	char hex[3 * X86_MAX_INSN_LEN + 1] = "";
	unsigned int n = 0;

	for (unsigned int i = 0; gi && i < gi->nbytes; i++)
		n += snprintf(hex + n, sizeof(hex) - n, " %02x", gi->bytes[i]);
	pr_err("%s: instruction at rip %lx (%s, decoder %d):%s", why,
	       v->ops->get_reg(v, VCPU_RIP), gi && gi->dec == X86_DEC_OK ?
	       x86_op_name(gi->in.op) : "not decoded", gi ? gi->dec : 0,
	       n ? hex : " (no bytes fetched)");
}

/* ---- operands ---- */

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t reg_get(struct vcpu *v, int reg, unsigned int size)
{
	if (reg >= X86_AH)	/* AH, CH, DH, BH: bits 15:8 of rAX..rBX */
		return (vcpu_gpr_read(v, (unsigned int)(reg - X86_AH)) >> 8) & 0xff;
	return vcpu_gpr_read(v, (unsigned int)reg) & size_mask(size);
}

/* SDM Vol 1 3.4.1.1: 32-bit results zero-extend, 8/16-bit ones merge */
static void reg_set(struct vcpu *v, int reg, unsigned int size, uint64_t val)
{
	uint64_t old;

	if (reg >= X86_AH) {
		unsigned int n = (unsigned int)(reg - X86_AH);

		old = vcpu_gpr_read(v, n);
		vcpu_gpr_write(v, n, (old & ~0xff00ull) | (val & 0xff) << 8);
		return;
	}
	if (size >= 4) {
		vcpu_gpr_write(v, (unsigned int)reg, val & size_mask(size));
		return;
	}
	old = vcpu_gpr_read(v, (unsigned int)reg);
	vcpu_gpr_write(v, (unsigned int)reg,
		       (old & ~size_mask(size)) | (val & size_mask(size)));
}

/* ---- flags ---- */

static uint64_t flags_szp(uint64_t res, unsigned int size)
{
	uint64_t f = 0;
	uint8_t low = (uint8_t)res;

	if (!(res & size_mask(size)))
		f |= RFLAGS_ZF;
	if (res >> (8 * size - 1) & 1)
		f |= RFLAGS_SF;
	low ^= low >> 4;
	low ^= low >> 2;
	low ^= low >> 1;
	if (!(low & 1))
		f |= RFLAGS_PF;	/* even parity of the low byte */
	return f;
}

/* dst op src for ADD/SUB/OR/AND/XOR; *flags gets the arithmetic flags */
static uint64_t alu(enum x86_op op, unsigned int size, uint64_t a, uint64_t b,
		    uint64_t *flags)
{
	uint64_t m = size_mask(size), res, f = 0, top = 1ull << (8 * size - 1);

	a &= m;
	b &= m;
	switch (op) {
	case X86_OP_ADD:
		res = (a + b) & m;
		if (res < a)
			f |= RFLAGS_CF;
		if ((a ^ res) & (b ^ res) & top)
			f |= RFLAGS_OF;
		f |= (a ^ b ^ res) & RFLAGS_AF;
		break;
	case X86_OP_SUB:
		res = (a - b) & m;
		if (a < b)
			f |= RFLAGS_CF;
		if ((a ^ b) & (a ^ res) & top)
			f |= RFLAGS_OF;
		f |= (a ^ b ^ res) & RFLAGS_AF;
		break;
	case X86_OP_OR:
		res = a | b;
		break;
	case X86_OP_AND:
		res = a & b;
		break;
	default:
		res = a ^ b;
		break;
	}
	*flags = f | flags_szp(res, size);
	return res;
}

static void set_flags(struct vcpu *v, uint64_t mask, uint64_t val)
{
	uint64_t rf = v->ops->get_reg(v, VCPU_RFLAGS);

	v->ops->set_reg(v, VCPU_RFLAGS, (rf & ~mask) | (val & mask));
}

/* ---- the emulator ---- */

enum emu_result { EMU_DONE, EMU_FAULT, EMU_CANNOT };

struct emu {
	struct vcpu *v;
	struct guest_insn gi;
	struct x86_regs regs;
	struct gmem_fault f;
	bool rep_more;		/* REP string: RIP stays for another round */
};

static int mem_rd(struct emu *x, uint64_t lin, void *buf, unsigned int n)
{
	int r = gmem_read(x->v, lin, buf, n, 0, &x->f);

	return r == GMEM_OK ? EMU_DONE : r == GMEM_FAULT ? EMU_FAULT : EMU_CANNOT;
}

static int mem_wr(struct emu *x, uint64_t lin, const void *buf, unsigned int n)
{
	int r = gmem_write(x->v, lin, buf, n, &x->f);

	return r == GMEM_OK ? EMU_DONE : r == GMEM_FAULT ? EMU_FAULT : EMU_CANNOT;
}

/* An address-size register (rSI, rDI, rCX) as string instructions use it. */
static uint64_t areg(struct emu *x, int reg)
{
	return vcpu_gpr_read(x->v, (unsigned int)reg) & size_mask(x->gi.in.addr_size);
}

static void areg_set(struct emu *x, int reg, uint64_t val)
{
	reg_set(x->v, reg, x->gi.in.addr_size, val);
}

static int emu_string(struct emu *x, uint64_t lin)
{
	const struct x86_insn *in = &x->gi.in;
	unsigned int size = in->op_size;
	int64_t step = (x->v->ops->get_reg(x->v, VCPU_RFLAGS) & RFLAGS_DF) ?
		       -(int64_t)size : (int64_t)size;
	uint8_t buf[8];
	uint64_t val, src;
	int r;

	if (in->rep && !areg(x, X86_RCX))
		return EMU_DONE;	/* zero count: nothing happens */
	if (in->op == X86_OP_STOS) {
		val = reg_get(x->v, X86_RAX, size);
		r = mem_wr(x, lin, &val, size);
	} else {
		if (x86_mem_linear(in, &in->src, &x->regs, &src))
			return EMU_CANNOT;
		r = mem_rd(x, src, buf, size);
		if (r == EMU_DONE)
			r = mem_wr(x, lin, buf, size);
		if (r == EMU_DONE)
			areg_set(x, X86_RSI, areg(x, X86_RSI) + (uint64_t)step);
	}
	if (r != EMU_DONE)
		return r;
	areg_set(x, X86_RDI, areg(x, X86_RDI) + (uint64_t)step);
	if (in->rep) {
		areg_set(x, X86_RCX, areg(x, X86_RCX) - 1);
		x->rep_more = areg(x, X86_RCX) != 0;
	}
	return EMU_DONE;
}

static int emu_cmpxchg8b(struct emu *x, uint64_t lin)
{
	struct vcpu *v = x->v;
	unsigned int half = x->gi.in.op_size / 2;	/* 4: 8B, 8: 16B */
	uint64_t m = size_mask(half), old[2] = { 0, 0 }, cmp[2], new[2];
	int r;

	cmp[0] = vcpu_gpr_read(v, X86_RAX) & m;
	cmp[1] = vcpu_gpr_read(v, X86_RDX) & m;
	new[0] = vcpu_gpr_read(v, X86_RBX) & m;
	new[1] = vcpu_gpr_read(v, X86_RCX) & m;
	if (half == 8 && (lin & 15))
		return EMU_CANNOT;	/* #GP(0) on the CPU: not emulated */
	r = mem_rd(x, lin, old, 2 * half);
	if (r != EMU_DONE)
		return r;
	if (half == 4) {
		old[1] = old[0] >> 32;
		old[0] &= m;
	}
	if (old[0] == cmp[0] && old[1] == cmp[1]) {
		uint64_t out[2] = { new[0], new[1] };

		if (half == 4)
			out[0] = new[0] | new[1] << 32;
		r = mem_wr(x, lin, out, 2 * half);
		if (r == EMU_DONE)
			set_flags(v, RFLAGS_ZF, RFLAGS_ZF);
		return r;
	}
	reg_set(v, X86_RAX, half, old[0]);
	reg_set(v, X86_RDX, half, old[1]);
	set_flags(v, RFLAGS_ZF, 0);
	return EMU_DONE;
}

static int emu_one(struct emu *x, uint64_t gva)
{
	const struct x86_insn *in = &x->gi.in;
	struct vcpu *v = x->v;
	unsigned int size = in->op_size;
	uint64_t lin, old = 0, src, res, fl;
	int r;

	if (!in->has_mem || !in->writes_mem ||
	    x86_mem_linear(in, &in->mem, &x->regs, &lin))
		return EMU_CANNOT;
	/* the write the shadow MMU saw must be this instruction's */
	if (in->op != X86_OP_MOVS && in->op != X86_OP_STOS &&
	    (lin >> 12) != (gva >> 12) &&
	    ((lin + (size ? size : 1) - 1) >> 12) != (gva >> 12))
		return EMU_CANNOT;
	switch (in->op) {
	case X86_OP_STOS:
	case X86_OP_MOVS:
		return emu_string(x, lin);
	case X86_OP_CMPXCHG8B:
		return emu_cmpxchg8b(x, lin);
	default:
		break;
	}
	if (size < 1 || size > 8)
		return EMU_CANNOT;
	src = in->has_imm ? in->imm : in->reg >= 0 ? reg_get(v, in->reg, size) : 0;
	if (in->op != X86_OP_MOV) {
		r = mem_rd(x, lin, &old, size);
		if (r != EMU_DONE)
			return r;
	}
	switch (in->op) {
	case X86_OP_MOV:
		return mem_wr(x, lin, &src, size);
	case X86_OP_XCHG:
		r = mem_wr(x, lin, &src, size);
		if (r == EMU_DONE)
			reg_set(v, in->reg, size, old);
		return r;
	case X86_OP_CMPXCHG:
		/* flags of CMP rAX, dest (SDM Vol 2 CMPXCHG) */
		alu(X86_OP_SUB, size, reg_get(v, X86_RAX, size), old, &fl);
		if (fl & RFLAGS_ZF) {
			r = mem_wr(x, lin, &src, size);
			if (r != EMU_DONE)
				return r;
		} else {
			reg_set(v, X86_RAX, size, old);
		}
		set_flags(v, RFLAGS_ARITH, fl);
		return EMU_DONE;
	case X86_OP_ADD:
	case X86_OP_SUB:
	case X86_OP_OR:
	case X86_OP_AND:
	case X86_OP_XOR:
		res = alu(in->op, size, old, src, &fl);
		r = mem_wr(x, lin, &res, size);
		if (r == EMU_DONE)
			set_flags(v, RFLAGS_ARITH, fl);
		return r;
	case X86_OP_BTS:
	case X86_OP_BTR:
	case X86_OP_BTC: {
		/* the register offset's byte part is in lin already */
		uint64_t bit = 1ull << (src & (8 * size - 1));

		res = in->op == X86_OP_BTS ? old | bit :
		      in->op == X86_OP_BTR ? old & ~bit : old ^ bit;
		r = mem_wr(x, lin, &res, size);
		if (r == EMU_DONE)
			set_flags(v, RFLAGS_CF, (old & bit) ? RFLAGS_CF : 0);
		return r;
	}
	default:
		return EMU_CANNOT;
	}
}

void emulate_write(struct vcpu *v, uint64_t gva)
{
	struct emu x = { .v = v };
	int r = insn_fetch(v, &x.gi, &x.f);

	if (r == GMEM_FAULT) {
		gmem_inject_fault(v, &x.f);
		return;
	}
	r = (r || x.gi.dec != X86_DEC_OK) ? EMU_CANNOT : EMU_DONE;
	if (r == EMU_DONE) {
		guest_x86_regs(v, &x.regs);
		r = emu_one(&x, gva);
	}
	switch (r) {
	case EMU_DONE:
		if (!x.rep_more)
			v->ops->set_reg(v, VCPU_RIP, x.regs.rip + x.gi.in.len);
		return;
	case EMU_FAULT:
		gmem_inject_fault(v, &x.f);
		return;
	default:
		pr_err("cannot emulate the guest's write to %lx", gva);
		insn_report(v, "page-table write", &x.gi);
		vcpu_dump(v, "emulation");
		vcpu_print_stats(v);
		halt("guest-error");
	}
}
