// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host test of arch/x86/emul/emulate.c: the read-modify-write forms that umbra
 * emulates for guest writes to shadowed page tables (ADC, SBB, INC, DEC,
 * NOT, NEG, XADD, the Group 2 shifts and rotates by 1, imm8 and CL, SETcc,
 * MOVNTI; with LOCK where it is legal), checked differentially: the same
 * instruction bytes run on the host CPU (copied into an executable page)
 * and through the emulator, on a fake vCPU whose memory is the host's,
 * from the same random operands and flags.  Memory, registers, RIP and
 * every flag the SDM defines for the instruction must agree.
 *
 * SEED= changes the operands, CASES= their number.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/emul/emulate.h"
#include "tests/host/host_env.h"
#include "umbra/log.h"

#define F_CF	0x001ull
#define F_PF	0x004ull
#define F_AF	0x010ull
#define F_ZF	0x040ull
#define F_SF	0x080ull
#define F_OF	0x800ull
#define F_ALL	(F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* ---- the fake vCPU emulate.c runs on ---- */

int log_level = LOG_INFO;
static uint64_t gpr[16], rip, rflags;
static int injected;

void log_printf(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t vcpu_gpr_read(struct vcpu *v, unsigned int n)
{
	return gpr[n & 15];
}

void vcpu_gpr_write(struct vcpu *v, unsigned int n, uint64_t val)
{
	gpr[n & 15] = val;
}

static uint64_t fake_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	switch (r) {
	case VCPU_RIP: return rip;
	case VCPU_RSP: return gpr[4];
	case VCPU_RFLAGS: return rflags;
	case VCPU_CR0: return 0x80000011;	/* PG, ET, PE */
	case VCPU_EFER: return 0x500;		/* LME, LMA */
	default: return 0;
	}
}

static void fake_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t val)
{
	if (r == VCPU_RIP)
		rip = val;
	else if (r == VCPU_RSP)
		gpr[4] = val;
	else if (r == VCPU_RFLAGS)
		rflags = val;
}

static void fake_get_seg(struct vcpu *v, enum vcpu_seg s, struct segment *out)
{
	*out = (struct segment){ .attr = s == SEG_CS ? 1u << 9 : 0 };	/* L */
}

static const struct vcpu_ops fake_ops = {
	.name = "fake",
	.get_reg = fake_get_reg,
	.set_reg = fake_set_reg,
	.get_seg = fake_get_seg,
};

/* Guest memory is host memory, linear = host virtual address. */
int gmem_read(struct vcpu *v, uint64_t lin, void *buf, unsigned int len,
	      unsigned int access, struct gmem_fault *f)
{
	memcpy(buf, (void *)(uintptr_t)lin, len);
	return GMEM_OK;
}

int gmem_write(struct vcpu *v, uint64_t lin, const void *buf,
	       unsigned int len, struct gmem_fault *f)
{
	memcpy((void *)(uintptr_t)lin, buf, len);
	return GMEM_OK;
}

int gmem_fetch(struct vcpu *v, uint8_t *buf, unsigned int *len,
	       struct gmem_fault *f)
{
	memcpy(buf, (void *)(uintptr_t)rip, X86_MAX_INSN_LEN);
	*len = X86_MAX_INSN_LEN;
	return GMEM_OK;
}

void gmem_inject_fault(struct vcpu *v, const struct gmem_fault *f)
{
	injected++;
}

/* ---- instructions ---- */

enum form { F_RM_R, F_RM_IMM8, F_RM_IMM, F_RM_IMM8S, F_RM, F_BY1, F_BYCL,
	    F_BYIMM, F_SETCC };

struct kind {
	const char *name;
	enum x86_op op;
	enum form form;
	uint8_t op8, opc;		/* opcode for byte / other sizes */
	bool two_byte;
	int digit;			/* ModRM.reg for group forms */
	bool lockable;
	uint8_t sizes;			/* bit n: size 1 << n allowed */
};

static const struct kind kinds[] = {
	{ "adc r/m, r", X86_OP_ADC, F_RM_R, 0x10, 0x11, false, 0, true, 0xf },
	{ "adc r/m, imm8", X86_OP_ADC, F_RM_IMM8, 0x80, 0x80, false, 2, true, 0x1 },
	{ "adc r/m, imm", X86_OP_ADC, F_RM_IMM, 0x81, 0x81, false, 2, true, 0xe },
	{ "adc r/m, simm8", X86_OP_ADC, F_RM_IMM8S, 0x83, 0x83, false, 2, true, 0xe },
	{ "sbb r/m, r", X86_OP_SBB, F_RM_R, 0x18, 0x19, false, 0, true, 0xf },
	{ "sbb r/m, imm8", X86_OP_SBB, F_RM_IMM8, 0x80, 0x80, false, 3, true, 0x1 },
	{ "sbb r/m, imm", X86_OP_SBB, F_RM_IMM, 0x81, 0x81, false, 3, true, 0xe },
	{ "sbb r/m, simm8", X86_OP_SBB, F_RM_IMM8S, 0x83, 0x83, false, 3, true, 0xe },
	{ "inc r/m", X86_OP_INC, F_RM, 0xfe, 0xff, false, 0, true, 0xf },
	{ "dec r/m", X86_OP_DEC, F_RM, 0xfe, 0xff, false, 1, true, 0xf },
	{ "not r/m", X86_OP_NOT, F_RM, 0xf6, 0xf7, false, 2, true, 0xf },
	{ "neg r/m", X86_OP_NEG, F_RM, 0xf6, 0xf7, false, 3, true, 0xf },
	{ "xadd r/m, r", X86_OP_XADD, F_RM_R, 0xc0, 0xc1, true, 0, true, 0xf },
	{ "movnti m, r", X86_OP_MOV, F_RM_R, 0xc3, 0xc3, true, 0, false, 0xc },
	{ "setcc m8", X86_OP_SETCC, F_SETCC, 0x90, 0x90, true, 0, false, 0x1 },
	{ "rol r/m, 1", X86_OP_ROL, F_BY1, 0xd0, 0xd1, false, 0, false, 0xf },
	{ "ror r/m, cl", X86_OP_ROR, F_BYCL, 0xd2, 0xd3, false, 1, false, 0xf },
	{ "rcl r/m, imm8", X86_OP_RCL, F_BYIMM, 0xc0, 0xc1, false, 2, false, 0xf },
	{ "rcr r/m, cl", X86_OP_RCR, F_BYCL, 0xd2, 0xd3, false, 3, false, 0xf },
	{ "shl r/m, 1", X86_OP_SHL, F_BY1, 0xd0, 0xd1, false, 4, false, 0xf },
	{ "shl r/m, cl", X86_OP_SHL, F_BYCL, 0xd2, 0xd3, false, 4, false, 0xf },
	{ "shl r/m, imm8 (/6)", X86_OP_SHL, F_BYIMM, 0xc0, 0xc1, false, 6, false, 0xf },
	{ "shr r/m, imm8", X86_OP_SHR, F_BYIMM, 0xc0, 0xc1, false, 5, false, 0xf },
	{ "shr r/m, 1", X86_OP_SHR, F_BY1, 0xd0, 0xd1, false, 5, false, 0xf },
	{ "sar r/m, cl", X86_OP_SAR, F_BYCL, 0xd2, 0xd3, false, 7, false, 0xf },
	{ "sar r/m, 1", X86_OP_SAR, F_BY1, 0xd0, 0xd1, false, 7, false, 0xf },
	{ "rol r/m, imm8", X86_OP_ROL, F_BYIMM, 0xc0, 0xc1, false, 0, false, 0xf },
	{ "ror r/m, 1", X86_OP_ROR, F_BY1, 0xd0, 0xd1, false, 1, false, 0xf },
	{ "rcl r/m, cl", X86_OP_RCL, F_BYCL, 0xd2, 0xd3, false, 2, false, 0xf },
	{ "rcr r/m, 1", X86_OP_RCR, F_BY1, 0xd0, 0xd1, false, 3, false, 0xf },
};
#define NKINDS	(sizeof(kinds) / sizeof(kinds[0]))

/*
 * The encoding with (%rdi) as memory operand and rAX as register operand:
 * [F0] [66|48] [0F] opcode ModRM [imm].
 */
static unsigned int encode(const struct kind *k, unsigned int size, bool lock,
			   unsigned int cc, uint64_t imm, uint8_t *b)
{
	unsigned int n = 0;

	if (lock)
		b[n++] = 0xf0;
	if (size == 2)
		b[n++] = 0x66;
	if (size == 8)
		b[n++] = 0x48;
	if (k->two_byte)
		b[n++] = 0x0f;
	b[n++] = (uint8_t)((size == 1 ? k->op8 : k->opc) +
			   (k->form == F_SETCC ? cc : 0));
	b[n++] = (uint8_t)(0x07 | k->digit << 3);	/* mod 0, rm rdi */
	switch (k->form) {
	case F_RM_IMM8:
	case F_RM_IMM8S:
	case F_BYIMM:
		b[n++] = (uint8_t)imm;
		break;
	case F_RM_IMM:
		for (unsigned int i = 0; i < (size == 2 ? 2u : 4u); i++)
			b[n++] = (uint8_t)(imm >> (8 * i));
		break;
	default:
		break;
	}
	return n;
}

/*
 * The flags the SDM defines after the instruction (Vol 2, each
 * instruction's "Flags Affected"); c is the masked count of a shift.
 */
static uint64_t defined_flags(const struct kind *k, unsigned int size,
			      unsigned int c)
{
	bool shift = k->op == X86_OP_SHL || k->op == X86_OP_SHR ||
		     k->op == X86_OP_SAR;
	bool rotate = k->op == X86_OP_ROL || k->op == X86_OP_ROR ||
		      k->op == X86_OP_RCL || k->op == X86_OP_RCR;
	uint64_t m = F_ALL;

	if ((shift || rotate) && c == 0)
		return F_ALL;			/* nothing changes */
	if (shift) {
		m &= ~F_AF;
		if (c != 1)
			m &= ~F_OF;
		if (k->op != X86_OP_SAR && c >= 8 * size)
			m &= ~F_CF;
	}
	if (rotate && c != 1)
		m &= ~F_OF;
	return m;
}

typedef uint64_t (*jit_fn)(uint64_t *mem, uint64_t reg, uint64_t flags,
			   uint64_t count, uint64_t *reg_out);

static uint8_t *jit;

/* mov %rsi,%rax; push %rdx; popfq; INSN; mov %rax,(%r8); pushfq; pop %rax; ret */
static jit_fn make_jit(const uint8_t *insn, unsigned int len)
{
	static const uint8_t pre[] = { 0x48, 0x89, 0xf0, 0x52, 0x9d };
	static const uint8_t post[] = { 0x49, 0x89, 0x00, 0x9c, 0x58, 0xc3 };
	unsigned int n = 0;

	memcpy(jit + n, pre, sizeof(pre));
	n += sizeof(pre);
	memcpy(jit + n, insn, len);
	n += len;
	memcpy(jit + n, post, sizeof(post));
	__builtin___clear_cache((char *)jit, (char *)jit + 64);
	return (jit_fn)(uintptr_t)jit;
}

static uint64_t pick(uint64_t *s)
{
	static const uint64_t edge[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
		0x80000000, 0xffffffff, 0x7fffffffffffffffull,
		0x8000000000000000ull, ~0ull,
	};

	if (rnd_below(s, 4) == 0)
		return edge[rnd_below(s, sizeof(edge) / sizeof(edge[0]))];
	return rnd_next(s);
}

static uint64_t pick_count(uint64_t *s)
{
	static const uint64_t edge[] = { 0, 1, 2, 7, 8, 9, 15, 16, 17, 31,
					 32, 33, 63, 64, 65, 0xff };

	if (rnd_below(s, 2) == 0)
		return edge[rnd_below(s, sizeof(edge) / sizeof(edge[0]))];
	return rnd_next(s) & 0xff;
}

int main(void)
{
	uint64_t seed = test_seed(20), s = seed;
	const char *env = getenv("CASES");
	unsigned long cases = env ? strtoul(env, NULL, 0) : 200000, i;
	struct check_group per[NKINDS], decode_g, lock_g;
	static char names[NKINDS][64];
	static uint8_t code[32];
	struct vcpu v = { .ops = &fake_ops };

	jit = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (jit == MAP_FAILED) {
		check(false, "executable page for the host CPU", "mmap failed");
		return check_finish();
	}
	for (i = 0; i < NKINDS; i++) {
		snprintf(names[i], sizeof(names[i]), "emulated %s agrees with the host CPU",
			 kinds[i].name);
		group_init(&per[i], names[i]);
	}
	group_init(&decode_g, "every form decodes with its class and length");
	group_init(&lock_g, "LOCK decodes where legal and is #UD elsewhere");
	for (i = 0; i < cases; i++) {
		unsigned int ki = (unsigned int)rnd_below(&s, NKINDS);
		const struct kind *k = &kinds[ki];
		unsigned int size, len, cc = (unsigned int)rnd_below(&s, 16), c;
		bool lock = k->lockable && rnd_below(&s, 2);
		uint64_t mem_hw[2], mem_emu[2], reg, fl, count, imm, out_hw;
		uint64_t fl_hw, dm, mem0;
		uint8_t insn[16];
		struct x86_insn in;
		int r;

		do
			size = 1u << rnd_below(&s, 4);
		while (!(k->sizes & size));
		reg = pick(&s);
		imm = k->form == F_RM_IMM8S ? (uint64_t)(int64_t)(int8_t)pick(&s) :
		      k->form == F_BYIMM ? pick_count(&s) : pick(&s);
		count = pick_count(&s);
		fl = (rnd_next(&s) & F_ALL) | 2;
		mem_hw[0] = mem_emu[0] = pick(&s);
		mem_hw[1] = mem_emu[1] = 0x5a5a5a5a5a5a5a5aull;	/* beyond */
		mem0 = mem_hw[0];
		len = encode(k, size, lock, cc, imm, insn);

		r = x86_decode(insn, len, X86_MODE_64, &in);
		group_expect(&decode_g, r == X86_DEC_OK && in.op == k->op &&
			     in.len == len && in.op_size == size &&
			     in.writes_mem && in.lock == lock,
			     "%s size %u: result %d op %s len %u", k->name, size,
			     r, x86_op_name(in.op), in.len);
		if (r != X86_DEC_OK)
			continue;
		if (!k->lockable) {
			uint8_t l[17] = { 0xf0 };

			memcpy(l + 1, insn, len);
			group_expect(&lock_g, x86_decode(l, len + 1, X86_MODE_64,
							 &in) == X86_DEC_UD,
				     "lock %s: not #UD", k->name);
		} else {
			group_expect(&lock_g, true, "%s", k->name);
		}

		/* the host CPU */
		fl_hw = make_jit(insn, len)(mem_hw, reg, fl, count, &out_hw);

		/* the emulator */
		memset(gpr, 0, sizeof(gpr));
		gpr[X86_RAX] = reg;
		gpr[X86_RCX] = count;
		gpr[X86_RDI] = (uint64_t)(uintptr_t)mem_emu;
		rflags = fl;
		memset(code, 0x90, sizeof(code));
		memcpy(code, insn, len);
		rip = (uint64_t)(uintptr_t)code;
		injected = 0;
		r = emulate_write(&v, (uint64_t)(uintptr_t)mem_emu);

		c = (unsigned int)((k->form == F_BY1 ? 1 : k->form == F_BYIMM ?
				    imm : count) & (size == 8 ? 0x3f : 0x1f));
		dm = defined_flags(k, size, c);
		group_expect(&per[ki],
			     r == 0 && !injected &&
			     rip == (uint64_t)(uintptr_t)code + len &&
			     mem_emu[0] == mem_hw[0] && mem_emu[1] == mem_hw[1] &&
			     gpr[X86_RAX] == out_hw && gpr[X86_RCX] == count &&
			     ((rflags ^ fl_hw) & dm) == 0 &&
			     (rflags & ~F_ALL) == (fl & ~F_ALL),
			     "size %u%s mem %#lx reg %#lx count %#lx imm %#lx flags %#lx cc %u: "
			     "host mem %#lx reg %#lx flags %#lx, emulator %d mem %#lx reg %#lx flags %#lx (compared %#lx)",
			     size, lock ? " lock" : "", (unsigned long)mem0,
			     (unsigned long)reg, (unsigned long)count,
			     (unsigned long)imm, (unsigned long)fl, cc,
			     (unsigned long)mem_hw[0], (unsigned long)out_hw,
			     (unsigned long)fl_hw, r, (unsigned long)mem_emu[0],
			     (unsigned long)gpr[X86_RAX], (unsigned long)rflags,
			     (unsigned long)dm);
	}
	group_report(&decode_g);
	group_report(&lock_g);
	for (i = 0; i < NKINDS; i++)
		group_report(&per[i]);

	/* what the emulator leaves to the CPU: nothing changes */
	{
		static const uint8_t push[] = { 0xff, 0x37 };	/* push (%rdi) */
		uint64_t cell = 7;

		memset(code, 0x90, sizeof(code));
		memcpy(code, push, sizeof(push));
		rip = (uint64_t)(uintptr_t)code;
		gpr[X86_RDI] = (uint64_t)(uintptr_t)&cell;
		gpr[4] = 0x1000;
		check(emulate_write(&v, (uint64_t)(uintptr_t)&cell) == -1 &&
		      rip == (uint64_t)(uintptr_t)code && gpr[4] == 0x1000 &&
		      cell == 7, "push m: not emulated, nothing changed",
		      "rip %#lx rsp %#lx", (unsigned long)rip,
		      (unsigned long)gpr[4]);
	}
	munmap(jit, 4096);
	return check_finish();
}
