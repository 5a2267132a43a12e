// SPDX-License-Identifier: BSD-2-Clause
/*
 * Fetch, decode and emulate guest instructions (emulate.h).  Emulation
 * covers the instructions that write page-table entries, for the shadow
 * MMU's SHADOW_EMULATE: each runs on guest memory through the guest's own
 * tables (gmem.c) with the semantics of SDM Vol 2 (flags: Vol 1 3.4.3 and
 * Appendix A; string instructions: one iteration per exit with REP, as an
 * interruptible REP does, Vol 2 REP).  LOCK needs nothing more: the one
 * vCPU is stopped while umbra reads and writes.  Flags the SDM leaves
 * undefined get what an Intel CPU leaves there where that is one rule (AF
 * clear after shifts, OF of multi-bit shifts as for a count of 1).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/emul/emulate.h"
#include "arch/x86/vcpu/event.h"
#include "lib/printf.h"
#include "umbra/core.h"
#include "umbra/log.h"

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

static void mem_regs(struct vcpu *v, const struct x86_mem *m,
		     bool in_mode_64, struct x86_regs *r)
{
	struct segment seg;

	if (m->base >= 0 && m->base < 16)
		r->gpr[m->base] = vcpu_gpr_read(v, (unsigned int)m->base);
	if (m->index >= 0 && m->index < 16)
		r->gpr[m->index] = vcpu_gpr_read(v, (unsigned int)m->index);
	/* 64-bit mode: only FS and GS have a base (SDM Vol 3 3.4.4) */
	if (m->seg < NR_X86_SEGS && (!in_mode_64 ||
				     m->seg == X86_FS || m->seg == X86_GS)) {
		v->ops->get_seg(v, (enum vcpu_seg)m->seg, &seg);
		r->seg_base[m->seg] = seg.base;
	}
}

/*
 * Only what x86_mem_linear() reads for in's memory operands: a full
 * snapshot (16 GPRs, 6 segments through the back end) cost about 450
 * instructions per INVLPG exit.
 */
void guest_x86_regs(struct vcpu *v, const struct x86_insn *in,
		    struct x86_regs *r)
{
	*r = (struct x86_regs){ .rip = v->ops->get_reg(v, VCPU_RIP) };
	if (!in->has_mem)
		return;
	mem_regs(v, &in->mem, in->mode == X86_MODE_64, r);
	if (in->op == X86_OP_MOVS)
		mem_regs(v, &in->src, in->mode == X86_MODE_64, r);
	if (in->reg >= 0 && in->reg < 16)	/* BTS/BTR/BTC's bit offset */
		r->gpr[in->reg] = vcpu_gpr_read(v, (unsigned int)in->reg);
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

static uint64_t reg_get(struct vcpu *v, int reg, unsigned int size)
{
	if (reg >= X86_AH)	/* AH, CH, DH, BH: bits 15:8 of rAX..rBX */
		return (vcpu_gpr_read(v, (unsigned int)(reg - X86_AH)) >> 8) & 0xff;
	return vcpu_gpr_read(v, (unsigned int)reg) & x86_size_mask(size);
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
		vcpu_gpr_write(v, (unsigned int)reg, val & x86_size_mask(size));
		return;
	}
	old = vcpu_gpr_read(v, (unsigned int)reg);
	vcpu_gpr_write(v, (unsigned int)reg,
		       (old & ~x86_size_mask(size)) | (val & x86_size_mask(size)));
}

/* ---- flags ---- */

static uint64_t flags_szp(uint64_t res, unsigned int size)
{
	uint64_t f = 0;
	uint8_t low = (uint8_t)res;

	if (!(res & x86_size_mask(size)))
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

/*
 * dst op src for ADD/ADC/SUB/SBB/OR/AND/XOR, the carry flag cf going into
 * ADC and SBB: a + b + CF, a - (b + CF) (SDM Vol 2 ADC, SBB).  The carry
 * out of the top bit is the majority of a, b and the carry into it; the
 * borrow likewise.  *flags gets the arithmetic flags.
 */
static uint64_t alu(enum x86_op op, unsigned int size, uint64_t a, uint64_t b,
		    uint64_t cf, uint64_t *flags)
{
	uint64_t m = x86_size_mask(size), res, f = 0, top = 1ull << (8 * size - 1);
	uint64_t cin = op == X86_OP_ADC || op == X86_OP_SBB ? cf : 0;

	a &= m;
	b &= m;
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
		res = (a + b + cin) & m;
		if (((a & b) | ((a | b) & ~res)) & top)
			f |= RFLAGS_CF;
		if ((a ^ res) & (b ^ res) & top)
			f |= RFLAGS_OF;
		f |= (a ^ b ^ res) & RFLAGS_AF;
		break;
	case X86_OP_SUB:
	case X86_OP_SBB:
		res = (a - b - cin) & m;
		if (((~a & b) | (~(a ^ b) & res)) & top)
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

/*
 * Group 2 (SDM Vol 2 RCL/RCR/ROL/ROR, SAL/SAR/SHL/SHR): the count is
 * masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes
 * no flag (*fmask 0).  Rotates change only CF and OF; RCL/RCR rotate
 * through CF over size + 1 bits (count mod 9 and mod 17 for 8 and 16
 * bits), ROL/ROR over size bits.  OF is defined for a count of 1 only.
 */
static uint64_t shift(enum x86_op op, unsigned int size, uint64_t val,
		      uint64_t count, uint64_t rflags, uint64_t *flags,
		      uint64_t *fmask)
{
	unsigned int bits = 8 * size, c, tc, i;
	uint64_t m = x86_size_mask(size), res = val & m, cf = rflags & RFLAGS_CF;
	uint64_t msb = 1ull << (bits - 1), of = 0;
	int64_t sval;

	c = (unsigned int)(count & (size == 8 ? 0x3f : 0x1f));
	*fmask = 0;
	*flags = 0;
	if (!c)
		return res;
	val = res;
	switch (op) {
	case X86_OP_ROL:
		tc = c % bits;
		if (tc)
			res = ((val << tc) | (val >> (bits - tc))) & m;
		cf = res & 1;
		of = !!(res & msb) ^ cf;
		break;
	case X86_OP_ROR:
		tc = c % bits;
		if (tc)
			res = ((val >> tc) | (val << (bits - tc))) & m;
		cf = !!(res & msb);
		of = cf ^ !!(res & (msb >> 1));
		break;
	case X86_OP_RCL:
	case X86_OP_RCR:
		tc = size == 1 ? c % 9 : size == 2 ? c % 17 : c;
		if (op == X86_OP_RCR)
			of = !!(res & msb) ^ cf;	/* before the rotate */
		for (i = 0; i < tc; i++) {
			uint64_t out = op == X86_OP_RCL ? !!(res & msb) : res & 1;

			if (op == X86_OP_RCL)
				res = ((res << 1) | cf) & m;
			else
				res = (res >> 1) | (cf ? msb : 0);
			cf = out;
		}
		if (op == X86_OP_RCL)
			of = !!(res & msb) ^ cf;
		break;
	case X86_OP_SHL:
		res = c >= bits ? 0 : (val << c) & m;
		cf = c <= bits ? (val >> (bits - c)) & 1 : 0;
		of = !!(res & msb) ^ cf;
		break;
	case X86_OP_SHR:
		res = c >= bits ? 0 : val >> c;
		cf = c <= bits ? (val >> (c - 1)) & 1 : 0;
		of = !!(val & msb);
		break;
	default:				/* SAR */
		sval = (int64_t)((val ^ msb) - msb);	/* sign-extended */
		res = (uint64_t)(sval >> c) & m;
		cf = (uint64_t)(sval >> (c - 1)) & 1;
		of = 0;
		break;
	}
	*flags = (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);
	*fmask = RFLAGS_CF | RFLAGS_OF;
	if (op == X86_OP_SHL || op == X86_OP_SHR || op == X86_OP_SAR) {
		*flags |= flags_szp(res, size);
		*fmask = RFLAGS_ARITH;		/* AF: clear */
	}
	return res;
}

/* The condition of Jcc/SETcc/CMOVcc number cc (SDM Vol 2 Appendix B.1). */
static bool condition(unsigned int cc, uint64_t rf)
{
	bool cf = rf & RFLAGS_CF, zf = rf & RFLAGS_ZF, sf = rf & RFLAGS_SF;
	bool of = rf & RFLAGS_OF, pf = rf & RFLAGS_PF, r;

	switch (cc >> 1) {
	case 0: r = of; break;
	case 1: r = cf; break;
	case 2: r = zf; break;
	case 3: r = cf || zf; break;
	case 4: r = sf; break;
	case 5: r = pf; break;
	case 6: r = sf != of; break;
	default: r = zf || sf != of; break;
	}
	return (cc & 1) ? !r : r;
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
	return vcpu_gpr_read(x->v, (unsigned int)reg) & x86_size_mask(x->gi.in.addr_size);
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
	uint64_t m = x86_size_mask(half), old[2] = { 0, 0 }, cmp[2], new[2];
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
	if (in->op != X86_OP_MOV && in->op != X86_OP_SETCC) {
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
		alu(X86_OP_SUB, size, reg_get(v, X86_RAX, size), old, 0, &fl);
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
	case X86_OP_ADC:
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_OR:
	case X86_OP_AND:
	case X86_OP_XOR:
		res = alu(in->op, size, old, src,
			  v->ops->get_reg(v, VCPU_RFLAGS) & RFLAGS_CF, &fl);
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
	case X86_OP_INC:
	case X86_OP_DEC:
		/* as ADD/SUB 1, but CF is not affected */
		res = alu(in->op == X86_OP_INC ? X86_OP_ADD : X86_OP_SUB, size,
			  old, 1, 0, &fl);
		r = mem_wr(x, lin, &res, size);
		if (r == EMU_DONE)
			set_flags(v, RFLAGS_ARITH & ~RFLAGS_CF, fl);
		return r;
	case X86_OP_NOT:
		res = ~old;
		return mem_wr(x, lin, &res, size);
	case X86_OP_NEG:
		/* 0 - dest: CF is set unless dest is 0 (SDM Vol 2 NEG) */
		res = alu(X86_OP_SUB, size, 0, old, 0, &fl);
		r = mem_wr(x, lin, &res, size);
		if (r == EMU_DONE)
			set_flags(v, RFLAGS_ARITH, fl);
		return r;
	case X86_OP_XADD:
		/* TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (SDM Vol 2 XADD) */
		res = alu(X86_OP_ADD, size, old, src, 0, &fl);
		r = mem_wr(x, lin, &res, size);
		if (r == EMU_DONE) {
			reg_set(v, in->reg, size, old);
			set_flags(v, RFLAGS_ARITH, fl);
		}
		return r;
	case X86_OP_ROL:
	case X86_OP_ROR:
	case X86_OP_RCL:
	case X86_OP_RCR:
	case X86_OP_SHL:
	case X86_OP_SHR:
	case X86_OP_SAR: {
		uint64_t count = in->has_imm ? in->imm : reg_get(v, X86_RCX, 1);
		uint64_t fmask;

		res = shift(in->op, size, old, count,
			    v->ops->get_reg(v, VCPU_RFLAGS), &fl, &fmask);
		r = mem_wr(x, lin, &res, size);
		if (r == EMU_DONE && fmask)
			set_flags(v, fmask, fl);
		return r;
	}
	case X86_OP_SETCC:
		res = condition(in->opcode & 15, v->ops->get_reg(v, VCPU_RFLAGS));
		return mem_wr(x, lin, &res, 1);
	default:
		return EMU_CANNOT;
	}
}

/*
 * The single-step #DB after an emulated instruction or REP iteration.  A
 * trap between two iterations of a REP string pushes RF set, so that the
 * rest of the instruction runs without its instruction breakpoint firing
 * again (SDM Vol 3 17.3.1.1; APM Vol 2 3.1.6, RFLAGS.RF).
 */
static void single_step_trap(struct vcpu *v, bool rep_more)
{
	if (rep_more)
		v->ops->set_reg(v, VCPU_RFLAGS, v->ops->get_reg(v, VCPU_RFLAGS) |
				RFLAGS_RF);
	v->ops->set_reg(v, VCPU_DR6, v->ops->get_reg(v, VCPU_DR6) | DR6_BS);
	v->ops->inject_exception(v, X86_TRAP_DB, false, 0);
}

int emulate_write(struct vcpu *v, uint64_t gva)
{
	struct emu x = { .v = v };
	int r = insn_fetch(v, &x.gi, &x.f);

	if (r == GMEM_FAULT) {
		gmem_inject_fault(v, &x.f);
		return 0;
	}
	r = (r || x.gi.dec != X86_DEC_OK) ? EMU_CANNOT : EMU_DONE;
	if (r == EMU_DONE) {
		guest_x86_regs(v, &x.gi.in, &x.regs);
		r = emu_one(&x, gva);
	}
	switch (r) {
	case EMU_DONE:
		if (!x.rep_more)
			v->ops->set_reg(v, VCPU_RIP, x.regs.rip + x.gi.in.len);
		/*
		 * RFLAGS.TF: the single-step trap follows the instruction,
		 * and each iteration of a REP string (SDM Vol 3 17.3.1.4).
		 */
		if (v->ops->get_reg(v, VCPU_RFLAGS) & RFLAGS_TF)
			single_step_trap(v, x.rep_more);
		return 0;
	case EMU_FAULT:
		gmem_inject_fault(v, &x.f);
		return 0;
	default:
		if (log_level >= LOG_DEBUG)
			insn_report(v, "not emulated", &x.gi);
		return -1;
	}
}
