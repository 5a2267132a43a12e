/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x86 instruction decoder for what umbra must understand without decode
 * assists: INVLPG, MOV to/from CRn, CLTS, LMSW, and the guest instructions
 * that write page-table entries (MOV and MOVNTI, XCHG, CMPXCHG,
 * CMPXCHG8B/16B, XADD, ADD/OR/AND/SUB/XOR/ADC/SBB, INC/DEC/NOT/NEG,
 * BTS/BTR/BTC, the shifts and rotates of Group 2, SETcc, MOVS/STOS), MOV
 * to/from DRn (MOV-DR exits without decode assists) and INT3, INT n and
 * INTO (the gdb stub tells the guest's own from its breakpoints).
 * Anything else is decoded only far enough to say X86_DEC_UNSUPPORTED.
 *
 * Portable: no libc, no allocation; built into umbra and on the host.
 * The decoder never reads buf[len] or beyond, nor more than 15 bytes.
 */
#ifndef UMBRA_X86_DECODE_H
#define UMBRA_X86_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define X86_MAX_INSN_LEN	15	/* SDM Vol 2 2.1: longer is #GP(0) */

/* Code-segment mode; the value is the default address size in bytes. */
enum x86_mode {
	X86_MODE_16 = 2,		/* real, virtual-8086, CS.D=0 */
	X86_MODE_32 = 4,		/* protected or compatibility, CS.D=1 */
	X86_MODE_64 = 8,		/* EFER.LMA and CS.L */
};

/* Results of x86_decode(); everything but X86_DEC_OK is negative. */
enum x86_dec_result {
	X86_DEC_OK		= 0,
	X86_DEC_TRUNCATED	= -1,	/* buffer ends before the instruction */
	X86_DEC_TOO_LONG	= -2,	/* more than 15 bytes: #GP(0) */
	X86_DEC_UNSUPPORTED	= -3,	/* not an instruction listed above */
	X86_DEC_UD		= -4,	/* listed, but this encoding is #UD */
};

enum x86_op {
	X86_OP_NONE,
	X86_OP_MOV,		/* 88 89 8A 8B C6/0 C7/0 A0-A3, 0F C3 MOVNTI */
	X86_OP_XCHG,		/* 86 87 */
	X86_OP_CMPXCHG,		/* 0F B0 0F B1 */
	X86_OP_CMPXCHG8B,	/* 0F C7 /1; op_size 16 is CMPXCHG16B */
	X86_OP_ADD,		/* 00 01, 80/81/83 /0 */
	X86_OP_OR,		/* 08 09, 80/81/83 /1 */
	X86_OP_AND,		/* 20 21, 80/81/83 /4 */
	X86_OP_SUB,		/* 28 29, 80/81/83 /5 */
	X86_OP_XOR,		/* 30 31, 80/81/83 /6 */
	X86_OP_BTS,		/* 0F AB, 0F BA /5 */
	X86_OP_BTR,		/* 0F B3, 0F BA /6 */
	X86_OP_BTC,		/* 0F BB, 0F BA /7 */
	X86_OP_MOVS,		/* A4 A5 */
	X86_OP_STOS,		/* AA AB */
	X86_OP_INVLPG,		/* 0F 01 /7, memory form */
	X86_OP_MOV_TO_CR,	/* 0F 22 */
	X86_OP_MOV_FROM_CR,	/* 0F 20 */
	X86_OP_CLTS,		/* 0F 06 */
	X86_OP_LMSW,		/* 0F 01 /6 */
	X86_OP_SMSW,		/* 0F 01 /4 */
	X86_OP_ADC,		/* 10 11, 80/81/83 /2 */
	X86_OP_SBB,		/* 18 19, 80/81/83 /3 */
	X86_OP_INC,		/* FE/FF /0 */
	X86_OP_DEC,		/* FE/FF /1 */
	X86_OP_NOT,		/* F6/F7 /2 */
	X86_OP_NEG,		/* F6/F7 /3 */
	X86_OP_XADD,		/* 0F C0 0F C1 */
	X86_OP_ROL,		/* Group 2 (C0 C1 D0-D3) /0 */
	X86_OP_ROR,		/* /1 */
	X86_OP_RCL,		/* /2 */
	X86_OP_RCR,		/* /3 */
	X86_OP_SHL,		/* /4, and /6 (an alias on every CPU) */
	X86_OP_SHR,		/* /5 */
	X86_OP_SAR,		/* /7 */
	X86_OP_SETCC,		/* 0F 90-9F: the condition is opcode & 15 */
	X86_OP_MOV_TO_DR,	/* 0F 23 */
	X86_OP_MOV_FROM_DR,	/* 0F 21 */
	X86_OP_INT3,		/* CC */
	X86_OP_INT,		/* CD ib: the vector is imm */
	X86_OP_INTO,		/* CE, not in 64-bit mode */
	NR_X86_OPS
};

/* Register numbers as encoded (REX extends them to 4 bits). */
enum x86_reg {
	X86_REG_NONE = -1,
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
	X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
	/* byte registers 4-7 without a REX prefix */
	X86_AH, X86_CH, X86_DH, X86_BH,
};

/* Segment registers as encoded (Sreg field); the order of enum vcpu_seg. */
enum x86_seg { X86_ES, X86_CS, X86_SS, X86_DS, X86_FS, X86_GS, NR_X86_SEGS };

/*
 * A memory operand: seg:[base + index * scale + disp], or with rip_rel
 * [next RIP + disp].  seg is the segment that applies (default or
 * override); in 64-bit mode only FS and GS have a base.  scale is 1 when
 * there is no index.  For A0-A3 disp is the (zero-extended) offset.
 */
struct x86_mem {
	int8_t base;			/* enum x86_reg or X86_REG_NONE */
	int8_t index;
	uint8_t scale;
	uint8_t seg;			/* enum x86_seg */
	bool rip_rel;
	int64_t disp;
};

struct x86_insn {
	enum x86_op op;
	uint8_t len;			/* bytes, prefixes included */
	uint8_t mode;			/* enum x86_mode it was decoded in */
	uint8_t op_size;		/* 1, 2, 4, 8, 16; 0 for INVLPG, CLTS */
	uint8_t addr_size;		/* 2, 4, 8 */
	uint8_t opcode;			/* last opcode byte (after 0F) */
	bool two_byte;			/* opcode escaped by 0F */
	bool has_modrm;
	uint8_t modrm;
	uint8_t rex;			/* 0 when absent */
	bool lock;			/* F0 */
	uint8_t rep;			/* 0, 0xF2 or 0xF3 (the last one) */
	bool seg_override;		/* a segment prefix that applies */
	bool has_mem;			/* mem is valid */
	bool writes_mem;		/* the instruction stores to mem */
	struct x86_mem mem;		/* r/m operand; MOVS/STOS: ES:[rDI] */
	struct x86_mem src;		/* MOVS only: the source, seg:[rSI] */
	int8_t reg;			/* ModRM.reg register, rAX for A0-A3, STOS;
					   rCX (CL) for shifts by CL */
	int8_t rm_reg;			/* ModRM.rm when it is a register */
	int8_t cr;			/* MOV to/from CRn: n (REX.R included) */
	int8_t dr;			/* MOV to/from DRn: n (0-7; DR4/DR5 as
					   encoded, CR4.DE decides) */
	bool has_imm;
	uint8_t imm_size;		/* bytes in the encoding */
	uint64_t imm;			/* sign-extended, except the imm8 of 0F BA,
					   of shifts and of INT n; shifts by 1
					   have imm 1 and imm_size 0 */
};

/* What x86_mem_linear() needs of the guest. */
struct x86_regs {
	uint64_t gpr[16];		/* in enum x86_reg order: rax, rcx, ... */
	uint64_t rip;			/* of the instruction's first byte */
	uint64_t seg_base[NR_X86_SEGS];
};

/*
 * Decode the instruction at buf[0..len) in mode.  Fills *in (zeroed
 * first) and returns X86_DEC_OK, or a negative enum x86_dec_result.
 */
int x86_decode(const uint8_t *buf, size_t len, enum x86_mode mode,
	       struct x86_insn *in);

/*
 * The mode from the state that selects it: CR0.PE, RFLAGS.VM, EFER.LMA and
 * the code segment's L and D bits (SDM Vol 1 3.6 and Vol 3 5.2.1).
 */
enum x86_mode x86_mode_of(bool cr0_pe, bool rflags_vm, bool efer_lma,
			  bool cs_l, bool cs_d);

/*
 * The linear address of m: segment base plus offset (32 bits outside
 * 64-bit mode).  No limit, canonical or alignment checks.  Returns 0, or
 * -1 if in has no memory operand.
 */
int x86_mem_linear(const struct x86_insn *in, const struct x86_mem *m,
		   const struct x86_regs *r, uint64_t *lin);

const char *x86_op_name(enum x86_op op);

/* The low size bytes of a value: an operand or address size's mask. */
static inline uint64_t x86_size_mask(unsigned int size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

#endif
