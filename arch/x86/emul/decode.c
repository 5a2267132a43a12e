// SPDX-License-Identifier: BSD-2-Clause
/*
 * x86 instruction decoder (see decode.h for what it covers).
 *
 * Instruction format, SDM Vol 2 2.1 (Figure 2-1): up to four groups of
 * legacy prefixes, REX (64-bit mode only, 2.2.1), one or two opcode bytes,
 * ModRM, SIB, displacement, immediate; 15 bytes at most.
 */
#include "arch/x86/emul/decode.h"

#define REX_W		0x8
#define REX_R		0x4
#define REX_X		0x2
#define REX_B		0x1

struct dec {
	const uint8_t *buf;
	size_t len;			/* bytes available, at most 15 */
	unsigned pos;
	enum x86_mode mode;
	bool opsize_ovr;		/* 66 */
	bool addr_ovr;			/* 67 */
};

/* a decoding step failed: return its X86_DEC_* status */
#define DEC_TRY(expr)				\
	do {					\
		int err_ = (expr);		\
		if (err_)			\
			return err_;		\
	} while (0)

/* The only place that reads buf: never at or past len, nor past 15. */
static int next(struct dec *d, uint8_t *b)
{
	if (d->pos >= X86_MAX_INSN_LEN)
		return X86_DEC_TOO_LONG;
	if (d->pos >= d->len)
		return X86_DEC_TRUNCATED;
	*b = d->buf[d->pos++];
	return 0;
}

/* The next byte without consuming it (the ModRM of a group opcode). */
static int peek(struct dec *d, uint8_t *b)
{
	DEC_TRY(next(d, b));
	d->pos--;
	return 0;
}

/* n little-endian bytes, sign-extended to 64 bits (n = 1, 2, 4, 8). */
static int fetch_signed(struct dec *d, unsigned n, int64_t *out)
{
	uint64_t v = 0;
	uint8_t b = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		DEC_TRY(next(d, &b));
		v |= (uint64_t)b << (8 * i);
	}
	if (n < 8 && (b & 0x80))
		v |= ~0ull << (8 * n);
	*out = (int64_t)v;
	return 0;
}

static int fetch_imm(struct dec *d, struct x86_insn *in, unsigned n)
{
	int64_t v;

	DEC_TRY(fetch_signed(d, n, &v));
	in->has_imm = true;
	in->imm_size = n;
	in->imm = (uint64_t)v;
	return 0;
}

/* SDM Vol 2 3.1.1.3 (Table 3-4): byte registers 4-7 are AH-BH without REX. */
static int8_t gpr(unsigned n, bool byte, uint8_t rex)
{
	if (byte && !rex && n >= 4 && n < 8)
		return X86_AH + (n - 4);
	return n;
}

/* Operand size of a non-byte instruction: REX.W, else 66 flips 16/32. */
static uint8_t op_size(const struct dec *d, const struct x86_insn *in)
{
	bool def16 = d->mode == X86_MODE_16;

	if (in->rex & REX_W)
		return 8;
	return (def16 != d->opsize_ovr) ? 2 : 4;
}

/* 16-bit addressing, SDM Vol 2 2.1.5 Table 2-1. */
static int modrm_mem16(struct dec *d, struct x86_insn *in, unsigned mod,
		       unsigned rm)
{
	static const int8_t base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
					X86_RSI, X86_RDI, X86_RBP, X86_RBX };
	static const int8_t index[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
					 X86_REG_NONE, X86_REG_NONE,
					 X86_REG_NONE, X86_REG_NONE };
	struct x86_mem *m = &in->mem;

	m->base = base[rm];
	m->index = index[rm];
	if (mod == 0 && rm == 6) {		/* disp16 alone */
		m->base = X86_REG_NONE;
		return fetch_signed(d, 2, &m->disp);
	}
	if (m->base == X86_RBP)
		m->seg = X86_SS;
	if (mod == 1)
		return fetch_signed(d, 1, &m->disp);
	if (mod == 2)
		return fetch_signed(d, 2, &m->disp);
	return 0;
}

/*
 * 32/64-bit addressing, SDM Vol 2 2.1.5 Tables 2-2 and 2-3, with REX.X/B
 * (2.2.1.2, Table 2-5: the special cases rm=100 and base=101 test the three
 * ModRM/SIB bits, so R12 needs a SIB and R13 as base a displacement) and
 * RIP-relative addressing in 64-bit mode (2.2.1.6, Table 2-7).
 */
static int modrm_mem32(struct dec *d, struct x86_insn *in, unsigned mod,
		       unsigned rm)
{
	struct x86_mem *m = &in->mem;
	uint8_t sib;
	unsigned base, index;

	if (rm == 4) {
		DEC_TRY(next(d, &sib));
		base = sib & 7;
		index = ((sib >> 3) & 7) | (in->rex & REX_X ? 8 : 0);
		if (index != 4) {
			m->index = index;
			m->scale = 1 << (sib >> 6);
		}
		if (base == 5 && mod == 0) {
			m->base = X86_REG_NONE;
			return fetch_signed(d, 4, &m->disp);
		}
		m->base = base | (in->rex & REX_B ? 8 : 0);
	} else if (rm == 5 && mod == 0) {
		m->base = X86_REG_NONE;
		m->rip_rel = d->mode == X86_MODE_64;
		return fetch_signed(d, 4, &m->disp);
	} else {
		m->base = rm | (in->rex & REX_B ? 8 : 0);
	}
	if (m->base == X86_RSP || m->base == X86_RBP)
		m->seg = X86_SS;
	if (mod == 1)
		return fetch_signed(d, 1, &m->disp);
	if (mod == 2)
		return fetch_signed(d, 4, &m->disp);
	return 0;
}

/*
 * ModRM (SDM Vol 2 2.1.3, 2.1.5).  byte: the register operands are byte
 * registers.  The segment override, if any, replaces the default segment.
 */
static int modrm(struct dec *d, struct x86_insn *in, bool byte,
		 uint8_t seg_ovr)
{
	unsigned mod, rm;

	DEC_TRY(next(d, &in->modrm));
	in->has_modrm = true;
	mod = in->modrm >> 6;
	rm = in->modrm & 7;
	in->reg = gpr(((in->modrm >> 3) & 7) | (in->rex & REX_R ? 8 : 0), byte,
		      in->rex);
	if (mod == 3) {
		in->rm_reg = gpr(rm | (in->rex & REX_B ? 8 : 0), byte, in->rex);
		return 0;
	}
	in->has_mem = true;
	in->mem.seg = X86_DS;
	in->mem.scale = 1;
	if (in->addr_size == 2)
		DEC_TRY(modrm_mem16(d, in, mod, rm));
	else
		DEC_TRY(modrm_mem32(d, in, mod, rm));
	if (seg_ovr < NR_X86_SEGS) {
		in->mem.seg = seg_ovr;
		in->seg_override = true;
	}
	return 0;
}

/* SDM Vol 2 "LOCK": the read-modify-write instructions, memory forms only */
#define LOCKABLE	(1ull << X86_OP_XCHG | 1ull << X86_OP_CMPXCHG |	\
			 1ull << X86_OP_CMPXCHG8B | 1ull << X86_OP_ADD |	\
			 1ull << X86_OP_OR | 1ull << X86_OP_AND |		\
			 1ull << X86_OP_SUB | 1ull << X86_OP_XOR |		\
			 1ull << X86_OP_BTS | 1ull << X86_OP_BTR |		\
			 1ull << X86_OP_BTC | 1ull << X86_OP_ADC |		\
			 1ull << X86_OP_SBB | 1ull << X86_OP_INC |		\
			 1ull << X86_OP_DEC | 1ull << X86_OP_NOT |		\
			 1ull << X86_OP_NEG | 1ull << X86_OP_XADD)

_Static_assert(NR_X86_OPS <= 64, "LOCKABLE is one 64-bit mask");

static bool lockable(const struct x86_insn *in)
{
	return in->has_mem && (LOCKABLE >> in->op & 1);
}

/*
 * Group 1 (80/81/83) ModRM.reg: ADD OR ADC SBB AND SUB XOR CMP; also the
 * ALU r/m, r forms 00-39 by opcode bits 5:3 (SDM Vol 2 Table A-2).
 */
static const uint8_t group1[8] = {
	X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
	X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_NONE,
};

/*
 * Group 2 (C0 C1 D0-D3) ModRM.reg: ROL ROR RCL RCR SHL SHR - SAR.  /6 is
 * blank in SDM Vol 2 Table A-6, but every CPU runs it as SHL (/4).
 */
static const uint8_t group2[8] = {
	X86_OP_ROL, X86_OP_ROR, X86_OP_RCL, X86_OP_RCR,
	X86_OP_SHL, X86_OP_SHR, X86_OP_SHL, X86_OP_SAR,
};

/* Group 3 (F6 F7) /2 NOT, /3 NEG; Group 4/5 (FE FF) /0 INC, /1 DEC; the
   other /digits are X86_OP_NONE (0). */
static const uint8_t group3[8] = { [2] = X86_OP_NOT, [3] = X86_OP_NEG };
static const uint8_t group45[8] = { [0] = X86_OP_INC, [1] = X86_OP_DEC };

/* Two-byte opcodes 0F xx (SDM Vol 2 Table A-3). */
static int decode_0f(struct dec *d, struct x86_insn *in, uint8_t seg_ovr)
{
	uint8_t b, sub;

	DEC_TRY(next(d, &b));
	in->opcode = b;
	in->two_byte = true;
	switch (b) {
	case 0x06:				/* CLTS */
		in->op = X86_OP_CLTS;
		return 0;
	case 0x20:				/* MOV r, CRn */
	case 0x22:				/* MOV CRn, r */
		/*
		 * SDM Vol 2 "MOV—Move to/from Control Registers": ModRM.mod
		 * is ignored, the operands are always registers, and the
		 * operand size is 64 bits in 64-bit mode, else 32.
		 */
		in->op = b == 0x20 ? X86_OP_MOV_FROM_CR : X86_OP_MOV_TO_CR;
		DEC_TRY(next(d, &in->modrm));
		in->has_modrm = true;
		in->cr = ((in->modrm >> 3) & 7) | (in->rex & REX_R ? 8 : 0);
		in->rm_reg = (in->modrm & 7) | (in->rex & REX_B ? 8 : 0);
		in->op_size = d->mode == X86_MODE_64 ? 8 : 4;
		if (in->cr != 0 && in->cr != 2 && in->cr != 3 && in->cr != 4 &&
		    !(in->cr == 8 && d->mode == X86_MODE_64))
			return X86_DEC_UD;
		return 0;
	case 0x21:				/* MOV r, DRn */
	case 0x23:				/* MOV DRn, r */
		/*
		 * SDM Vol 2 "MOV—Move to/from Debug Registers": as MOV CR,
		 * mod ignored, 64-bit operands in 64-bit mode, else 32; REX.R
		 * (DR8-DR15) is #UD.  DR4/DR5 depend on CR4.DE: the caller's.
		 */
		in->op = b == 0x21 ? X86_OP_MOV_FROM_DR : X86_OP_MOV_TO_DR;
		DEC_TRY(next(d, &in->modrm));
		in->has_modrm = true;
		in->dr = (in->modrm >> 3) & 7;
		in->rm_reg = (in->modrm & 7) | (in->rex & REX_B ? 8 : 0);
		in->op_size = d->mode == X86_MODE_64 ? 8 : 4;
		return in->rex & REX_R ? X86_DEC_UD : 0;
	case 0x01:
		/*
		 * Group 7: /4 SMSW r/m (a register: the operand size; memory:
		 * 16 bits), /6 LMSW r/m16, /7 INVLPG m (mod 3 is others)
		 */
		DEC_TRY(peek(d, &sub));
		if (((sub >> 3) & 7) == 4) {
			in->op = X86_OP_SMSW;
			in->op_size = (sub >> 6) == 3 ? op_size(d, in) : 2;
		} else if (((sub >> 3) & 7) == 6) {
			in->op = X86_OP_LMSW;
			in->op_size = 2;
		} else if (((sub >> 3) & 7) == 7 && (sub >> 6) != 3) {
			in->op = X86_OP_INVLPG;
		} else {
			return X86_DEC_UNSUPPORTED;
		}
		DEC_TRY(modrm(d, in, false, seg_ovr));
		in->reg = X86_REG_NONE;		/* ModRM.reg is the /digit */
		return 0;
	case 0xb0:				/* CMPXCHG r/m8, r8 */
	case 0xb1:				/* CMPXCHG r/m, r */
		in->op = X86_OP_CMPXCHG;
		in->op_size = b == 0xb0 ? 1 : op_size(d, in);
		return modrm(d, in, b == 0xb0, seg_ovr);
	case 0xab:
	case 0xb3:
	case 0xbb:				/* BTS/BTR/BTC r/m, r */
		in->op = b == 0xab ? X86_OP_BTS : b == 0xb3 ? X86_OP_BTR :
			 X86_OP_BTC;
		in->op_size = op_size(d, in);
		return modrm(d, in, false, seg_ovr);
	case 0xba:				/* Group 8: BT* r/m, imm8 */
		DEC_TRY(peek(d, &sub));
		sub = (sub >> 3) & 7;
		if (sub < 5)			/* /4 BT writes nothing */
			return X86_DEC_UNSUPPORTED;
		in->op = sub == 5 ? X86_OP_BTS : sub == 6 ? X86_OP_BTR :
			 X86_OP_BTC;
		in->op_size = op_size(d, in);
		DEC_TRY(modrm(d, in, false, seg_ovr));
		in->reg = X86_REG_NONE;
		DEC_TRY(fetch_imm(d, in, 1));
		in->imm &= 0xff;		/* a bit number, not signed */
		return 0;
	case 0xc0:				/* XADD r/m8, r8 */
	case 0xc1:				/* XADD r/m, r */
		in->op = X86_OP_XADD;
		in->op_size = b == 0xc0 ? 1 : op_size(d, in);
		return modrm(d, in, b == 0xc0, seg_ovr);
	case 0xc3:				/* MOVNTI m32/m64, r (NP) */
		if (d->opsize_ovr || in->rep)
			return X86_DEC_UNSUPPORTED;
		in->op = X86_OP_MOV;
		in->op_size = in->rex & REX_W ? 8 : 4;
		DEC_TRY(modrm(d, in, false, seg_ovr));
		return in->has_mem ? 0 : X86_DEC_UD;
	case 0xc7:				/* Group 9: /1 CMPXCHG8B/16B */
		DEC_TRY(peek(d, &sub));
		if (((sub >> 3) & 7) != 1)
			return X86_DEC_UNSUPPORTED;
		in->op = X86_OP_CMPXCHG8B;
		in->op_size = in->rex & REX_W ? 16 : 8;
		DEC_TRY(modrm(d, in, false, seg_ovr));
		in->reg = X86_REG_NONE;
		return in->has_mem ? 0 : X86_DEC_UD;
	}
	if ((b & 0xf0) == 0x90) {		/* SETcc r/m8 */
		in->op = X86_OP_SETCC;
		in->op_size = 1;
		DEC_TRY(modrm(d, in, true, seg_ovr));
		in->reg = X86_REG_NONE;		/* ModRM.reg is ignored */
		return 0;
	}
	return X86_DEC_UNSUPPORTED;
}

/* String instructions: destination ES:[rDI], never overridden. */
static void string_operands(struct x86_insn *in, uint8_t seg_ovr)
{
	in->has_mem = true;
	in->mem = (struct x86_mem){ .base = X86_RDI, .index = X86_REG_NONE,
				    .scale = 1, .seg = X86_ES };
	if (in->op == X86_OP_MOVS) {
		in->src = (struct x86_mem){ .base = X86_RSI,
					    .index = X86_REG_NONE,
					    .scale = 1, .seg = X86_DS };
		if (seg_ovr < NR_X86_SEGS) {
			in->src.seg = seg_ovr;
			in->seg_override = true;
		}
	} else {
		in->reg = X86_RAX;
	}
}

/* One-byte opcodes (SDM Vol 2 Table A-2) that umbra decodes. */
static int decode_1byte(struct dec *d, struct x86_insn *in, uint8_t b,
			uint8_t seg_ovr)
{
	bool byte = !(b & 1);
	uint8_t sub;
	int64_t off;

	in->opcode = b;
	in->op_size = byte ? 1 : op_size(d, in);
	if (b < 0x40 && (b & 7) < 2) {		/* ALU r/m, r; not CMP */
		in->op = group1[b >> 3];
		if (in->op == X86_OP_NONE)
			return X86_DEC_UNSUPPORTED;
		DEC_TRY(modrm(d, in, byte, seg_ovr));
		in->writes_mem = in->has_mem;
		return 0;
	}
	switch (b) {
	case 0xfe: case 0xff:			/* Groups 4 and 5 */
	case 0xf6: case 0xf7:			/* Group 3 */
		DEC_TRY(peek(d, &sub));
		sub = (sub >> 3) & 7;
		in->op = b >= 0xfe ? group45[sub] : group3[sub];
		if (in->op == X86_OP_NONE || (b == 0xfe && sub > 1))
			return X86_DEC_UNSUPPORTED;
		DEC_TRY(modrm(d, in, byte, seg_ovr));
		in->reg = X86_REG_NONE;
		in->writes_mem = in->has_mem;
		return 0;
	case 0xc0: case 0xc1:			/* Group 2 by imm8 */
	case 0xd0: case 0xd1:			/* ... by 1 */
	case 0xd2: case 0xd3:			/* ... by CL */
		DEC_TRY(peek(d, &sub));
		in->op = group2[(sub >> 3) & 7];
		DEC_TRY(modrm(d, in, byte, seg_ovr));
		in->reg = X86_REG_NONE;
		in->writes_mem = in->has_mem;
		if (b >= 0xd2) {
			in->reg = X86_RCX;	/* the count is CL */
		} else if (b >= 0xd0) {
			in->has_imm = true;	/* implied, not encoded */
			in->imm = 1;
		} else {
			DEC_TRY(fetch_imm(d, in, 1));
			in->imm &= 0xff;	/* a count, not signed */
		}
		return 0;
	case 0x86: case 0x87:
		in->op = X86_OP_XCHG;
		DEC_TRY(modrm(d, in, byte, seg_ovr));
		in->writes_mem = in->has_mem;
		return 0;
	case 0x88: case 0x89:
	case 0x8a: case 0x8b:
		in->op = X86_OP_MOV;
		DEC_TRY(modrm(d, in, byte, seg_ovr));
		in->writes_mem = in->has_mem && b < 0x8a;
		return 0;
	case 0xc6: case 0xc7:			/* Group 11: /0 MOV r/m, imm */
	case 0x80: case 0x81: case 0x83:	/* Group 1 */
		DEC_TRY(peek(d, &sub));
		sub = (sub >> 3) & 7;
		if (b >= 0xc6)
			in->op = sub ? X86_OP_NONE : X86_OP_MOV;
		else
			in->op = group1[sub];
		if (in->op == X86_OP_NONE)
			return X86_DEC_UNSUPPORTED;
		if (b == 0x83)
			byte = false;
		DEC_TRY(modrm(d, in, byte, seg_ovr));
		in->reg = X86_REG_NONE;
		in->writes_mem = in->has_mem;
		/* imm8, or imm16/32 (sign-extended to 64 with REX.W) */
		return fetch_imm(d, in, (byte || b == 0x83) ? 1 :
				 in->op_size == 2 ? 2 : 4);
	case 0xa0: case 0xa1:			/* MOV rAX, moffs */
	case 0xa2: case 0xa3:			/* MOV moffs, rAX */
		in->op = X86_OP_MOV;
		in->op_size = (b & 1) ? op_size(d, in) : 1;
		in->reg = X86_RAX;
		in->has_mem = true;
		in->writes_mem = b >= 0xa2;
		in->mem = (struct x86_mem){ .base = X86_REG_NONE,
					    .index = X86_REG_NONE,
					    .scale = 1, .seg = X86_DS };
		if (seg_ovr < NR_X86_SEGS) {
			in->mem.seg = seg_ovr;
			in->seg_override = true;
		}
		/* the offset has the address size, zero-extended */
		DEC_TRY(fetch_signed(d, in->addr_size, &off));
		if (in->addr_size < 8)
			off &= (int64_t)((1ull << (8 * in->addr_size)) - 1);
		in->mem.disp = off;
		return 0;
	case 0xa4: case 0xa5:
		in->op = X86_OP_MOVS;
		string_operands(in, seg_ovr);
		in->writes_mem = true;
		return 0;
	case 0xaa: case 0xab:
		in->op = X86_OP_STOS;
		string_operands(in, seg_ovr);
		in->writes_mem = true;
		return 0;
	case 0xcc:				/* INT3 */
	case 0xce:				/* INTO: #UD in 64-bit mode */
		in->op = b == 0xcc ? X86_OP_INT3 : X86_OP_INTO;
		in->op_size = 0;
		return b == 0xce && d->mode == X86_MODE_64 ? X86_DEC_UD : 0;
	case 0xcd:				/* INT imm8 */
		in->op = X86_OP_INT;
		in->op_size = 0;
		DEC_TRY(fetch_imm(d, in, 1));
		in->imm &= 0xff;		/* a vector, not signed */
		return 0;
	default:
		return X86_DEC_UNSUPPORTED;
	}
}

int x86_decode(const uint8_t *buf, size_t len, enum x86_mode mode,
	       struct x86_insn *in)
{
	struct dec d = { .buf = buf, .len = len, .mode = mode };
	uint8_t b, seg_ovr = NR_X86_SEGS;	/* none */
	uint8_t rex = 0;
	int err;

	*in = (struct x86_insn){ .reg = X86_REG_NONE, .rm_reg = X86_REG_NONE,
				 .cr = -1, .dr = -1, .mode = mode };
	in->mem.base = in->mem.index = X86_REG_NONE;
	in->src.base = in->src.index = X86_REG_NONE;
	if (mode != X86_MODE_16 && mode != X86_MODE_32 && mode != X86_MODE_64)
		return X86_DEC_UNSUPPORTED;
	if (d.len > X86_MAX_INSN_LEN)
		d.len = X86_MAX_INSN_LEN;

	/*
	 * Legacy prefixes in any order and number (SDM Vol 2 2.1.1), then
	 * REX in 64-bit mode (2.2.1): a REX followed by anything but the
	 * opcode is ignored.  In 64-bit mode the ES, CS, SS and DS overrides
	 * are ignored (Vol 1 3.3.7.1); the last applicable one counts.
	 */
	for (;;) {
		DEC_TRY(next(&d, &b));
		if (mode == X86_MODE_64 && (b & 0xf0) == 0x40) {
			rex = b;
			continue;
		}
		switch (b) {
		case 0xf0:
			in->lock = true;
			break;
		case 0xf2:
		case 0xf3:
			in->rep = b;
			break;
		case 0x66:
			d.opsize_ovr = true;
			break;
		case 0x67:
			d.addr_ovr = true;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			if (mode != X86_MODE_64)
				seg_ovr = (b >> 3) & 3;
			break;
		case 0x64: case 0x65:
			seg_ovr = b == 0x64 ? X86_FS : X86_GS;
			break;
		default:
			goto opcode;
		}
		rex = 0;
	}
opcode:
	in->rex = rex;
	if (mode == X86_MODE_64)
		in->addr_size = d.addr_ovr ? 4 : 8;
	else
		in->addr_size = (mode == X86_MODE_16) != d.addr_ovr ? 2 : 4;
	if (b == 0x0f)
		err = decode_0f(&d, in, seg_ovr);
	else
		err = decode_1byte(&d, in, b, seg_ovr);
	if (err == X86_DEC_UD || err == X86_DEC_OK)
		in->len = d.pos;
	if (err)
		return err;
	if (in->two_byte && in->op != X86_OP_INVLPG && in->op != X86_OP_LMSW)
		in->writes_mem = in->has_mem;	/* CMPXCHG*, BTS/BTR/BTC */
	if (in->lock && !lockable(in))
		return X86_DEC_UD;		/* SDM Vol 2 "LOCK" */
	return 0;
}
