// SPDX-License-Identifier: BSD-2-Clause
/*
 * ptwrite: every kind of instruction that can write a page-table entry,
 * writing one that is in use, in 32-bit PAE paging (SDM Vol 3 4.4).  Under
 * shadow paging the table is write-protected, so each write exits: umbra
 * emulates it (MOV, XCHG, CMPXCHG, CMPXCHG8B, ADD/SUB/OR/AND/XOR,
 * BTS/BTR/BTC, STOS, MOVS, INC, DEC, NOT, NEG, ADC, SBB, XADD, the shifts
 * and rotates, SETcc, MOVNTI) or lets the CPU run it (MOVD/MOVQ from XMM
 * and MMX, MOVUPS, FISTP, FNSTSW, PUSH, PUSHF, CALL, POP to memory, SIDT,
 * SGDT, SLDT, STR, FXSAVE).
 *
 * The table written is V, the page directory of 1-2 GiB (a non-leaf table:
 * never out of sync).  Entry i of V selects one of 16 page tables by bits
 * 12-15 (the tables lie in one 64 KiB block), and table n maps frame n,
 * which holds marker n; byte-sized instructions work on byte 1 of an entry
 * so that their result picks a table.  Each instruction first runs on a
 * copy of the entry in an ordinary page (the CPU's own result: memory,
 * registers, flags), then on the entry itself with the same operands: the
 * two must agree (flags: those the SDM defines), and after INVLPG or a CR3
 * reload the address the entry maps must read the marker of the table
 * the new entry selects.  Three ways each:
 *   identity   V written at its identity address from the kernel's code;
 *   self-map   V written through a mapping of itself (V[S] -> V as page
 *              table and as page: the write's own walk uses V; PUSH and
 *              CALL then have their stack in V);
 *   code       the instruction runs from a page that V maps.
 * The last two are the cases where unprotecting V cannot last (the next
 * access shadows it again): umbra single-steps them.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "ptwrite";

#define PAGE		4096u
#define E_FLAGS		0x63u		/* P, W, A, D */
#define VBASE		0x40000000u	/* what V maps */
#define SELF		300u		/* V[SELF] -> V */
#define CODE		301u		/* V[CODE] -> the code page's table */
#define FX_SLOT		64u		/* FXSAVE's 512 bytes: V[64..127] */
#define DT_SLOT		200u		/* SIDT and the like */
#define MARK(n)		(0x5a5a0000u | (n))

#define F_CF		0x001u
#define F_PF		0x004u
#define F_AF		0x010u
#define F_ZF		0x040u
#define F_SF		0x080u
#define F_DF		0x400u
#define F_OF		0x800u
#define F_ALL		(F_CF | F_PF | F_AF | F_ZF | F_SF | F_DF | F_OF)

#define CR0_MP		(1u << 1)
#define CR0_EM		(1u << 2)
#define CR0_TS		(1u << 3)
#define CR0_PG		(1u << 31)
#define CR4_PAE		(1u << 5)
#define CR4_OSFXSR	(1u << 9)
#define CR4_OSXMMEXCPT	(1u << 10)

struct pt_ctx {
	uint32_t eax, ecx, edx, ebx, esi, edi, eflags, stub;
};

void pt_run(struct pt_ctx *c);

#define STUBS(X) \
	X(mov) X(xchg) X(cmpxchg) X(cmpxchg8b) X(add) X(sub) X(or) X(and) \
	X(xor) X(bts) X(btr) X(btc) X(stos) X(movs) X(inc) X(lockinc) \
	X(incd) X(dec) X(lockdecd) X(not) X(locknotd) X(neg) X(lockneg) \
	X(adc) X(lockadcd) X(sbb) X(locksbb) X(xadd) X(lockxaddd) X(shl1) \
	X(shlcl) X(shli) X(shr1) X(sar1) X(sarcl) X(rol4) X(rold16) \
	X(rorcl) X(rcl1) X(rcr3) X(setc) X(setnz) X(movnti) X(movdx) \
	X(movqx) X(movdm) X(movqm) X(movups) X(fistp) X(fnstsw) X(push) \
	X(pushf) X(call) X(pop) X(sidt) X(sgdt) X(sldt) X(str) X(fxsave)
#define DECLARE(n) extern uint8_t pt_##n[], pt_##n##_end[];
STUBS(DECLARE)

/* The tables, identity-mapped (below 16 MiB, in the kernel image). */
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd0[512] __attribute__((aligned(4096)));
static uint64_t kpt[8][512] __attribute__((aligned(4096)));	/* 0-16 MiB */
static uint64_t v[512] __attribute__((aligned(4096)));		/* V */
static uint64_t ptblock[16][512] __attribute__((aligned(65536)));
static uint32_t marker[16][1024] __attribute__((aligned(4096)));
static uint64_t code_pt[512] __attribute__((aligned(4096)));
static uint8_t code_page[PAGE] __attribute__((aligned(4096)));
static uint64_t scratch[512] __attribute__((aligned(4096)));	/* like V */
static uint64_t src[4] __attribute__((aligned(16)));

enum kind { K_PLAIN, K_PUSH, K_POP, K_FIXED, K_FIXED_PUSH };

struct pt_case {
	const char *name;
	uint8_t *start, *end;
	enum kind kind;
	unsigned int slot, off, len;	/* entry, byte in it, bytes written */
	uint64_t init;			/* the entry before */
	uint32_t eax, ecx, edx, ebx, esi;
	uint32_t eflags, fmask;
	int esi_src;			/* ESI = &src[0] */
	uint64_t src0, src1;
};

static uint32_t e(unsigned int n)
{
	return (uint32_t)ptblock + n * PAGE + E_FLAGS;
}

/* An entry whose byte 1 is x (bits 12-15: table x >> 4). */
static uint64_t b1(unsigned int x)
{
	return e(0) | x << 8;
}

static void invlpg(uint32_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static uint32_t read_cr3(void)
{
	uint32_t r;

	asm volatile("mov %%cr3, %0" : "=r"(r));
	return r;
}

static void write_cr3(uint32_t r)
{
	asm volatile("mov %0, %%cr3" : : "r"(r) : "memory");
}

static uint32_t peek(uint32_t va)
{
	return *(volatile uint32_t *)va;
}

static void store64(volatile uint64_t *p, uint64_t val)
{
	/* two dword stores: high first, so no half-new entry is present */
	((volatile uint32_t *)p)[1] = (uint32_t)(val >> 32);
	((volatile uint32_t *)p)[0] = (uint32_t)val;
}

static uint32_t va_of_slot(unsigned int i)
{
	return VBASE + i * 0x200000u;
}

static void setup_paging(void)
{
	unsigned int i, j;

	for (i = 0; i < 8; i++) {
		pd0[i] = (uint32_t)kpt[i] | E_FLAGS;
		for (j = 0; j < 512; j++)
			kpt[i][j] = ((i * 512 + j) * (uint64_t)PAGE) | E_FLAGS;
	}
	for (i = 0; i < 16; i++) {
		for (j = 0; j < 512; j++)
			ptblock[i][j] = (uint32_t)marker[i] | E_FLAGS;
		for (j = 0; j < 1024; j++)
			marker[i][j] = MARK(i);
	}
	code_pt[0] = (uint32_t)code_page | E_FLAGS;
	v[SELF] = (uint32_t)v | E_FLAGS;
	v[CODE] = (uint32_t)code_pt | E_FLAGS;
	pdpt[0] = (uint32_t)pd0 | 1;	/* SDM Table 4-8: only P */
	pdpt[1] = (uint32_t)v | 1;
	write_cr4(read_cr4() | CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT);
	write_cr3((uint32_t)pdpt);
	write_cr0((read_cr0() | CR0_PG | CR0_MP) & ~(CR0_EM | CR0_TS));
}

static void teardown_paging(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PAE);
}

static const char *const way_name[3] = { "identity", "self-map", "code" };

/* Bytes of V the case may write, rounded to whole entries. */
static unsigned int span(const struct pt_case *c)
{
	unsigned int n = c->off + c->len;

	return (n + 7) & ~7u;
}

static void load_ctx(const struct pt_case *c, struct pt_ctx *x, uint32_t target,
		     uint32_t stub)
{
	*x = (struct pt_ctx){ c->eax, c->ecx, c->edx, c->ebx, c->esi, target,
			      c->eflags, stub };
	if (c->esi_src)
		x->esi = (uint32_t)src;
	if (c->kind == K_PUSH || c->kind == K_FIXED_PUSH)
		x->edi = target + 4;	/* the stub's ESP */
}

static void run_case(const struct pt_case *c, int way, int use_cr3)
{
	char name[96];
	uint8_t *vb = (uint8_t *)v, *sb = (uint8_t *)scratch;
	unsigned int base = c->slot * 8, n = span(c), k;
	uint32_t stub = (uint32_t)c->start, vtarget, starget;
	struct pt_ctx ref, got;
	uint64_t after;
	int same_mem, same_regs, same_flags;
	uint32_t fm = c->fmask ? c->fmask : F_ALL, want, seen, a, nib = 0;
	int good;

	if (way == 2) {
		memcpy(code_page, c->start, (size_t)(c->end - c->start));
		stub = va_of_slot(CODE);
	}
	src[0] = c->src0;
	src[1] = c->src1;

	/* 1. the CPU's own result on a copy in an ordinary page */
	memset(sb + base, 0, n);
	memcpy(sb + base, &c->init, 8);
	starget = (uint32_t)sb + base + c->off;
	load_ctx(c, &ref, starget, stub);
	pt_run(&ref);
	memcpy(&after, sb + base, 8);
	good = (after & 1) && !(after & 0x80) && !(after >> 32) &&
	       (after & 0xffff0000u) == (uint32_t)ptblock;
	if (good)
		nib = (uint32_t)(after >> 12) & 15;

	/* 2. V in use: entry i maps some other table, read through it */
	a = (nib ^ 8) & 15;
	store64(&v[c->slot], e(a));
	invlpg(va_of_slot(c->slot));
	seen = peek(va_of_slot(c->slot));
	if (seen != MARK(a))
		info("%s %s: before the write the entry maps %x, not %x",
		     c->name, way_name[way], seen, MARK(a));
	for (k = 0; k < n; k += 4)
		((volatile uint32_t *)(vb + base))[k / 4] = 0;
	store64(&v[c->slot], c->init);

	/* 3. the same instruction on V itself */
	vtarget = (way == 1 ? va_of_slot(SELF) + SELF * PAGE : (uint32_t)v) +
		  base + c->off;
	load_ctx(c, &got, vtarget, stub);
	src[0] = c->src0;
	src[1] = c->src1;
	pt_run(&got);

	same_mem = !memcmp(vb + base, sb + base, n);
	same_flags = !((got.eflags ^ ref.eflags) & fm);
	got.edi -= vtarget;
	ref.edi -= starget;
	same_regs = got.eax == ref.eax && got.ecx == ref.ecx &&
		    got.edx == ref.edx && got.ebx == ref.ebx &&
		    got.esi == ref.esi && got.edi == ref.edi;
	memcpy(&after, vb + base, 8);
	snprintf(name, sizeof(name), "%s (%s): entry, registers and flags as the CPU's own",
		 c->name, way_name[way]);
	check(same_mem && same_flags && same_regs, name,
	      "entry %08x%08x, CPU's %08x%08x; eflags %x, CPU's %x (compared %x); eax %x/%x ecx %x/%x edx %x/%x ebx %x/%x esi %x/%x edi+%x/+%x",
	      (uint32_t)(after >> 32), (uint32_t)after,
	      ((uint32_t *)(sb + base))[1], ((uint32_t *)(sb + base))[0],
	      got.eflags, ref.eflags, fm, got.eax, ref.eax, got.ecx, ref.ecx,
	      got.edx, ref.edx, got.ebx, ref.ebx, got.esi, ref.esi, got.edi,
	      ref.edi);

	/* 4. the new translation */
	if (good) {
		if (use_cr3)
			write_cr3(read_cr3());
		else
			invlpg(va_of_slot(c->slot));
		want = MARK(nib);
		seen = peek(va_of_slot(c->slot));
		snprintf(name, sizeof(name), "%s (%s): new translation after %s",
			 c->name, way_name[way], use_cr3 ? "CR3 reload" : "INVLPG");
		check(seen == want, name, "read %x, want %x (entry %08x%08x)",
		      seen, want, (uint32_t)(after >> 32), (uint32_t)after);
	}

	/* 5. clean up: the entries written go back to 0 */
	for (k = 0; k < n; k += 4)
		((volatile uint32_t *)(vb + base))[k / 4] = 0;
	write_cr3(read_cr3());
}

#define C(nm, k, s, o, l) .name = nm, .start = pt_##k, .end = pt_##k##_end, \
	.slot = s, .off = o, .len = l

static void run_all(int way)
{
	const uint32_t fl = 0x2 | F_CF | F_SF;	/* CF=1, ZF=0 */
	const uint32_t noaf = F_ALL & ~F_AF, noof = F_ALL & ~F_OF;
	const uint32_t noofaf = F_ALL & ~(F_OF | F_AF);
	uint32_t e3 = e(3);
	const struct pt_case cases[] = {
		{ C("mov", mov, 1, 0, 4), .init = 0, .esi = e(5) },
		{ C("xchg", xchg, 2, 0, 4), .init = e(1), .esi = e(6) },
		{ C("lock cmpxchg", cmpxchg, 3, 0, 4), .init = e(2),
		  .eax = e(2), .esi = e(7) },
		{ C("lock cmpxchg8b", cmpxchg8b, 4, 0, 8), .init = e(3),
		  .eax = e(3), .edx = 0, .ebx = e(8), .ecx = 0 },
		{ C("add byte", add, 5, 1, 1), .init = b1(0x30), .ecx = 0x20 },
		{ C("sub byte", sub, 6, 1, 1), .init = b1(0x70), .ecx = 0x30 },
		{ C("lock or byte", or, 7, 1, 1), .init = b1(0x20), .ecx = 0x40 },
		{ C("and byte", and, 8, 1, 1), .init = b1(0xf0), .ecx = 0x30 },
		{ C("xor byte", xor, 9, 1, 1), .init = b1(0x50), .ecx = 0xf0 },
		{ C("lock bts", bts, 10, 0, 4), .init = e(0), .ecx = 13 },
		{ C("btr imm", btr, 11, 0, 4), .init = e(10) },
		{ C("btc", btc, 12, 0, 4), .init = e(4), .ecx = 15 },
		{ C("rep stosd", stos, 13, 0, 4), .init = 0, .eax = e(9),
		  .ecx = 1 },
		{ C("movsd", movs, 14, 0, 4), .init = 0, .esi_src = 1,
		  .src0 = e(11) },
		{ C("inc byte", inc, 15, 1, 1), .init = b1(0x3f) },
		{ C("lock inc byte", lockinc, 16, 1, 1), .init = b1(0x5f) },
		{ C("inc dword", incd, 17, 0, 4), .init = e(12) - 1 },
		{ C("dec byte", dec, 18, 1, 1), .init = b1(0x40) },
		{ C("lock dec dword", lockdecd, 19, 0, 4), .init = e(13) + 1 },
		{ C("not byte", not, 20, 1, 1), .init = b1(0x9f) },
		{ C("lock not dword", locknotd, 21, 0, 4),
		  .init = (uint32_t)~e(14) },
		{ C("neg byte", neg, 22, 1, 1), .init = b1(0x30) },
		{ C("lock neg dword", lockneg, 23, 0, 4),
		  .init = (uint32_t)-e(5) },
		{ C("adc byte", adc, 24, 1, 1), .init = b1(0x10), .ecx = 0x2f },
		{ C("lock adc dword", lockadcd, 25, 0, 4),
		  .init = e(1) - 0x1001, .esi = 0x1000 },
		{ C("sbb byte", sbb, 26, 1, 1), .init = b1(0x80), .ecx = 0x2f },
		{ C("lock sbb byte imm", locksbb, 27, 1, 1), .init = b1(0x71) },
		{ C("xadd byte", xadd, 28, 1, 1), .init = b1(0x20), .ecx = 0x50 },
		{ C("lock xadd dword", lockxaddd, 29, 0, 4),
		  .init = e(2) - 0x7000, .esi = 0x7000 },
		{ C("shl byte 1", shl1, 30, 1, 1), .init = b1(0x30),
		  .fmask = noaf },
		{ C("shl byte cl", shlcl, 31, 1, 1), .init = b1(0x0c), .ecx = 3,
		  .fmask = noofaf },
		{ C("shl byte imm", shli, 32, 1, 1), .init = b1(0x14),
		  .fmask = noofaf },
		{ C("shr byte 1", shr1, 33, 1, 1), .init = b1(0xa0),
		  .fmask = noaf },
		{ C("sar byte 1", sar1, 34, 1, 1), .init = b1(0x80),
		  .fmask = noaf },
		{ C("sar byte cl", sarcl, 35, 1, 1), .init = b1(0x80), .ecx = 2,
		  .fmask = noofaf },
		{ C("rol byte 4", rol4, 36, 1, 1), .init = b1(0x03),
		  .fmask = noof },
		{ C("rol dword 16", rold16, 37, 0, 4),
		  .init = (e3 >> 16) | (uint32_t)(e3 << 16), .fmask = noof },
		{ C("ror byte cl", rorcl, 38, 1, 1), .init = b1(0x06), .ecx = 3,
		  .fmask = noof },
		/*
		 * QEMU's TCG updates CF before the store of a faulting
		 * RCL/RCR (the #PF exit then shows the new CF): operands
		 * whose carry out equals the carry in keep that out of it.
		 */
		{ C("rcl byte 1", rcl1, 39, 1, 1), .init = b1(0xa8) },
		{ C("rcr byte 3", rcr3, 40, 1, 1), .init = b1(0x84),
		  .fmask = noof },
		{ C("setc", setc, 41, 1, 1), .init = b1(0x70) },
		{ C("setnz", setnz, 42, 1, 1), .init = b1(0x70) },
		{ C("movnti", movnti, 43, 0, 4), .init = 0, .esi = e(6) },
		{ C("movd from xmm", movdx, 44, 0, 4), .init = 0, .esi = e(7) },
		{ C("movq from xmm", movqx, 45, 0, 8), .init = 0, .esi_src = 1,
		  .src0 = e(8) },
		{ C("movd from mmx", movdm, 46, 0, 4), .init = 0, .esi = e(9) },
		{ C("movq from mmx", movqm, 47, 0, 8), .init = 0, .esi_src = 1,
		  .src0 = e(10) },
		{ C("movups", movups, 48, 0, 16), .init = 0, .esi_src = 1,
		  .src0 = e(11), .src1 = e(12) },
		{ C("fistp qword", fistp, 50, 0, 8), .init = 0, .esi_src = 1,
		  .src0 = e(13) },
		{ C("fnstsw", fnstsw, 51, 2, 2), .kind = K_FIXED,
		  .init = e(6) },
		{ C("push m32", push, 52, 0, 4), .kind = K_PUSH, .init = 0,
		  .esi_src = 1, .src0 = e(14) },
		{ C("pushfd", pushf, 53, 0, 4), .kind = K_FIXED_PUSH,
		  .init = 0 },
		{ C("call", call, 54, 0, 4), .kind = K_FIXED_PUSH, .init = 0 },
		{ C("pop m32", pop, 55, 0, 4), .kind = K_POP, .init = 0,
		  .esi_src = 1, .src0 = e(15) },
		{ C("sidt", sidt, DT_SLOT, 0, 6), .kind = K_FIXED, .init = 0 },
		{ C("sgdt", sgdt, DT_SLOT + 1, 0, 6), .kind = K_FIXED,
		  .init = 0 },
		{ C("sldt", sldt, DT_SLOT + 2, 0, 2), .kind = K_FIXED,
		  .init = e(2) },
		{ C("str", str, DT_SLOT + 3, 0, 2), .kind = K_FIXED,
		  .init = e(3) },
		{ C("fxsave", fxsave, FX_SLOT, 0, 512), .kind = K_FIXED,
		  .init = 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pt_case c = cases[i];

		if (!c.eflags)
			c.eflags = fl;
		run_case(&c, way, (i + (unsigned int)way) & 1);
	}
}

extern uint8_t pt_db_handler[], pt_run_ret[];
extern volatile uint32_t pt_db_count, pt_db_eip[16];

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

/* The framework's IDT gets pt_db_handler for #DB (a ring-0 interrupt gate). */
static void install_db_handler(void)
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } p;
	struct gate *g;
	uint16_t cs;

	asm volatile("sidt %0" : "=m"(p));
	asm volatile("mov %%cs, %0" : "=r"(cs));
	g = (struct gate *)p.base + 1;
	g->off_lo = (uint16_t)(uint32_t)pt_db_handler;
	g->off_hi = (uint16_t)((uint32_t)pt_db_handler >> 16);
	g->sel = cs;
	g->zero = 0;
	g->type = 0x8e;
}

/*
 * The guest's own RFLAGS.TF across a write umbra emulates, retries or
 * single-steps: the same single-step traps at the same EIPs as the run on
 * an ordinary page, and nothing else.
 */
static void traced(const char *nm, uint8_t *start, uint8_t *end, int way,
		   unsigned int off, unsigned int len, uint64_t init,
		   uint32_t esi, int esi_src, uint64_t src0)
{
	struct pt_case c = { .name = nm, .start = start, .end = end,
			     .slot = 60, .off = off, .len = len, .init = init,
			     .esi = esi, .esi_src = esi_src, .src0 = src0,
			     .eflags = 0x2 | 0x100 };
	uint8_t *vb = (uint8_t *)v, *sb = (uint8_t *)scratch;
	unsigned int base = c.slot * 8, n = span(&c), k, ref_n;
	uint32_t ref_eip[16], stub = (uint32_t)start, vt, st;
	struct pt_ctx x;
	char name[96];
	int same;

	if (way == 2) {
		memcpy(code_page, start, (size_t)(end - start));
		stub = va_of_slot(CODE);
	}
	src[0] = src0;
	memset(sb + base, 0, n);
	memcpy(sb + base, &init, 8);
	st = (uint32_t)sb + base + off;
	load_ctx(&c, &x, st, stub);
	pt_db_count = 0;
	pt_run(&x);
	ref_n = pt_db_count;
	for (k = 0; k < 16; k++)
		ref_eip[k] = pt_db_eip[k];

	store64(&v[c.slot], e(1));
	invlpg(va_of_slot(c.slot));
	(void)peek(va_of_slot(c.slot));
	store64(&v[c.slot], init);
	vt = (way == 1 ? va_of_slot(SELF) + SELF * PAGE : (uint32_t)v) +
	     base + off;
	load_ctx(&c, &x, vt, stub);
	src[0] = src0;
	pt_db_count = 0;
	pt_run(&x);
	same = pt_db_count == ref_n && !memcmp(vb + base, sb + base, n);
	for (k = 0; k < ref_n && k < 16; k++)
		same &= pt_db_eip[k] == ref_eip[k];
	snprintf(name, sizeof(name), "%s (%s) with the guest's TF: its single-step traps and nothing else",
		 nm, way_name[way]);
	check(same, name, "%u traps, first at %x, CPU's %u, first at %x; entry %08x, CPU's %08x",
	      pt_db_count, pt_db_eip[0], ref_n, ref_eip[0],
	      ((uint32_t *)(vb + base))[0], ((uint32_t *)(sb + base))[0]);
	for (k = 0; k < n; k += 4)
		((volatile uint32_t *)(vb + base))[k / 4] = 0;
	write_cr3(read_cr3());
}

void test_main(void)
{
	int way;

	if ((uint32_t)__kernel_end > 16u << 20) {
		check(0, "kernel below 16 MiB", "ends at %p", __kernel_end);
		return;
	}
	setup_paging();
	for (way = 0; way < 3; way++)
		run_all(way);
	install_db_handler();
	for (way = 0; way < 3; way++) {
		traced("inc byte", pt_inc, pt_inc_end, way, 1, 1, b1(0x3f), 0,
		       0, 0);
		traced("movq from xmm", pt_movqx, pt_movqx_end, way, 0, 8, 0,
		       0, 1, e(8));
		traced("sidt", pt_sidt, pt_sidt_end, way, 0, 6, 0, 0, 0, 0);
	}
	teardown_paging();
	check(peek((uint32_t)&marker[5][0]) == MARK(5),
	      "paging off again: memory as before", NULL);
}
