// SPDX-License-Identifier: BSD-2-Clause
/*
 * After the decoder (decode.c): the CPU mode an instruction runs in, the
 * effective and linear addresses of its memory operand (SDM Vol 1 3.7.5,
 * Vol 3 3.4), and the operations' names for messages.
 */
#include "arch/x86/emul/decode.h"

enum x86_mode x86_mode_of(bool cr0_pe, bool rflags_vm, bool efer_lma,
			  bool cs_l, bool cs_d)
{
	if (!cr0_pe || rflags_vm)
		return X86_MODE_16;
	if (efer_lma && cs_l)
		return X86_MODE_64;
	return cs_d ? X86_MODE_32 : X86_MODE_16;
}

/*
 * The effective address (offset within the segment) of memory operand m of
 * in, wrapped to the address size.  For BTS/BTR/BTC with a register bit
 * offset it includes the offset's byte displacement, as the CPU does.
 */
static uint64_t x86_mem_offset(const struct x86_insn *in,
			       const struct x86_mem *m, const struct x86_regs *r)
{
	uint64_t ea = (uint64_t)m->disp;
	uint64_t bit, sign;

	if (m->base >= 0 && m->base < 16)
		ea += r->gpr[m->base];
	if (m->index >= 0 && m->index < 16)
		ea += r->gpr[m->index] * m->scale;
	if (m->rip_rel)
		ea += r->rip + in->len;
	/*
	 * BTS/BTR/BTC m, r: the bit offset is a signed operand-size integer
	 * that may select any operand-size unit around m (SDM Vol 2 "BT",
	 * Table 3-2 "Range of Bit Positions").
	 */
	if ((in->op == X86_OP_BTS || in->op == X86_OP_BTR ||
	     in->op == X86_OP_BTC) && !in->has_imm && m == &in->mem &&
	    in->reg >= 0 && in->reg < 16 && in->op_size >= 2) {
		bit = r->gpr[in->reg] & x86_size_mask(in->op_size);
		sign = 1ull << (8 * in->op_size - 1);
		bit = (bit ^ sign) - sign;		/* sign-extend */
		/* floor(bit / 8) rounded down to a multiple of op_size */
		bit = (bit >> 3) | ((bit & (1ull << 63)) ? ~(~0ull >> 3) : 0);
		ea += bit & ~(uint64_t)(in->op_size - 1);
	}
	return ea & x86_size_mask(in->addr_size);
}

int x86_mem_linear(const struct x86_insn *in, const struct x86_mem *m,
		   const struct x86_regs *r, uint64_t *lin)
{
	uint64_t base;

	if (!in->has_mem || m->seg >= NR_X86_SEGS ||
	    (m == &in->src && in->op != X86_OP_MOVS))
		return -1;
	base = r->seg_base[m->seg];
	if (in->mode == X86_MODE_64) {
		if (m->seg != X86_FS && m->seg != X86_GS)
			base = 0;
		*lin = base + x86_mem_offset(in, m, r);
	} else {
		*lin = (base + x86_mem_offset(in, m, r)) & 0xffffffffull;
	}
	return 0;
}

const char *x86_op_name(enum x86_op op)
{
	static const char *const names[NR_X86_OPS] = {
		[X86_OP_NONE] = "none", [X86_OP_MOV] = "mov",
		[X86_OP_XCHG] = "xchg", [X86_OP_CMPXCHG] = "cmpxchg",
		[X86_OP_CMPXCHG8B] = "cmpxchg8b", [X86_OP_ADD] = "add",
		[X86_OP_OR] = "or", [X86_OP_AND] = "and", [X86_OP_SUB] = "sub",
		[X86_OP_XOR] = "xor", [X86_OP_BTS] = "bts",
		[X86_OP_BTR] = "btr", [X86_OP_BTC] = "btc",
		[X86_OP_MOVS] = "movs", [X86_OP_STOS] = "stos",
		[X86_OP_INVLPG] = "invlpg", [X86_OP_MOV_TO_CR] = "mov-to-cr",
		[X86_OP_MOV_FROM_CR] = "mov-from-cr", [X86_OP_CLTS] = "clts",
		[X86_OP_LMSW] = "lmsw", [X86_OP_SMSW] = "smsw",
		[X86_OP_ADC] = "adc",
		[X86_OP_SBB] = "sbb", [X86_OP_INC] = "inc",
		[X86_OP_DEC] = "dec", [X86_OP_NOT] = "not",
		[X86_OP_NEG] = "neg", [X86_OP_XADD] = "xadd",
		[X86_OP_ROL] = "rol", [X86_OP_ROR] = "ror",
		[X86_OP_RCL] = "rcl", [X86_OP_RCR] = "rcr",
		[X86_OP_SHL] = "shl", [X86_OP_SHR] = "shr",
		[X86_OP_SAR] = "sar", [X86_OP_SETCC] = "setcc",
		[X86_OP_MOV_TO_DR] = "mov-to-dr",
		[X86_OP_MOV_FROM_DR] = "mov-from-dr", [X86_OP_INT3] = "int3",
		[X86_OP_INT] = "int", [X86_OP_INTO] = "into",
	};

	return (unsigned)op < NR_X86_OPS ? names[op] : "?";
}
