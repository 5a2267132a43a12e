// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: the paging conformance kit (see pg.h): CPU features, the
 * GDT with ring-3 segments and TSSs, the IDTs pgrun.asm uses, the page
 * pool and the page-table builder for the three paging modes.
 */
#include "pg.h"

#define POOL_PAGES	224
#define PAGE		4096u

struct pg_cpu pg_cpu;

const struct pg_mode pg_mode_32 = {
	.name = "32-bit", .kind = PG_32, .levels = 2, .esize = 4,
	.ibits = 10, .top_bits = 10, .cr4 = 0,
};
const struct pg_mode pg_mode_pae = {
	.name = "pae", .kind = PG_PAE, .levels = 3, .esize = 8,
	.ibits = 9, .top_bits = 2, .cr4 = CR4_PAE,
};
const struct pg_mode pg_mode_64 = {
	.name = "4-level", .kind = PG_64, .levels = 4, .esize = 8,
	.ibits = 9, .top_bits = 9, .cr4 = CR4_PAE,
};

/* pgrun.asm */
void pg_enter(const struct pg_cfg *c, struct pg_op *ops, uint32_t n);
extern const uint32_t p32_stubs[32], p64_stubs[32];
extern const uint32_t p32_uret_addr, p64_uret_addr;

#define NR_GATES	0x82
#define VEC_URET	0x81

uint64_t pg_gdt[11] __attribute__((aligned(16)));
static uint32_t tss32[26] __attribute__((aligned(16)));
static uint32_t tss64[26] __attribute__((aligned(16)));
static uint64_t idt32[NR_GATES] __attribute__((aligned(16)));
static uint64_t idt64[NR_GATES * 2] __attribute__((aligned(16)));
static uint8_t trap_stack[PAGE] __attribute__((aligned(PAGE)));
/* 4-level paging: #DF runs on IST1, so that a fault on the stack while
 * delivering an exception still reaches a handler */
static uint8_t df_stack[PAGE] __attribute__((aligned(PAGE)));

struct __attribute__((packed)) dptr32 {
	uint16_t limit;
	uint32_t base;
};

struct __attribute__((packed)) dptr64 {
	uint16_t limit;
	uint64_t base;
};

struct dptr32 pg_idtr32;
struct dptr64 pg_idtr64;

/* The ring-3 stack: a page of its own. */
uint8_t pg_ustack[PAGE] __attribute__((aligned(PAGE)));
__asm__(".globl pg_ustack_top\n.set pg_ustack_top, pg_ustack + 4096");

static uint8_t pool[POOL_PAGES][PAGE] __attribute__((aligned(PAGE)));
static unsigned int pool_used;

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint32_t type,
			 uint32_t flags)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)type << 40) | ((uint64_t)(limit >> 16 & 0xf) << 48) |
	       ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static void gate32(int v, uint32_t off, int dpl)
{
	idt32[v] = (off & 0xffff) | (0x08ull << 16) |
		   ((uint64_t)(0x8e | dpl << 5) << 40) |
		   ((uint64_t)(off >> 16) << 48);
}

/* SDM Vol 3 6.14.1, Figure 6-8: IST in bits 34:32 */
static void gate64(int v, uint32_t off, int dpl, int ist)
{
	idt64[2 * v] = (off & 0xffff) | (0x18ull << 16) |
		       ((uint64_t)ist << 32) |
		       ((uint64_t)(0x8e | dpl << 5) << 40) |
		       ((uint64_t)(off >> 16) << 48);
	idt64[2 * v + 1] = 0;
}

static void cpu_probe(void)
{
	struct cpuid_regs r;
	uint32_t max, maxext;
	char vendor[13];
	int i;

	cpuid(0, &r);
	max = r.eax;
	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	pg_cpu.intel = !strcmp(vendor, "GenuineIntel");
	pg_cpu.amd = !strcmp(vendor, "AuthenticAMD");
	cpuid(1, &r);
	pg_cpu.pse = !!(r.edx & (1u << 3));
	pg_cpu.pae = !!(r.edx & (1u << 6));
	pg_cpu.pge = !!(r.edx & (1u << 13));
	pg_cpu.pse36 = !!(r.edx & (1u << 17));
	if (max >= 7) {
		cpuid_count(7, 0, &r);
		pg_cpu.smep = !!(r.ebx & (1u << 7));
		pg_cpu.smap = !!(r.ebx & (1u << 20));
	}
	cpuid(0x80000000, &r);
	maxext = r.eax;
	if (maxext >= 0x80000001) {
		cpuid(0x80000001, &r);
		pg_cpu.nx = !!(r.edx & (1u << 20));
		pg_cpu.pdpe1gb = !!(r.edx & (1u << 26));
		pg_cpu.lm = !!(r.edx & (1u << 29));
	}
	if (maxext >= 0x80000004) {
		uint32_t brand[13];

		for (i = 0; i < 3; i++) {
			cpuid(0x80000002 + i, &r);
			memcpy(brand + 4 * i, &r, 16);
		}
		brand[12] = 0;
		pg_cpu.qemu = !!strstr((char *)brand, "QEMU Virtual CPU");
	}
	pg_cpu.maxphys = 36;
	if (maxext >= 0x80000008) {
		cpuid(0x80000008, &r);
		pg_cpu.maxphys = r.eax & 0xff;
	}
	info("cpu %s: pse %d pae %d pge %d pse36 %d nx %d lm %d 1g %d smep %d "
	     "smap %d maxphyaddr %d qemu %d", vendor, pg_cpu.pse, pg_cpu.pae,
	     pg_cpu.pge, pg_cpu.pse36, pg_cpu.nx, pg_cpu.lm, pg_cpu.pdpe1gb,
	     pg_cpu.smep, pg_cpu.smap, pg_cpu.maxphys, pg_cpu.qemu);
}

void pg_init(void)
{
	struct dptr32 gdtr;
	int i;

	cpu_probe();

	pg_gdt[0] = 0;
	pg_gdt[1] = 0x00cf9a000000ffffull;	/* 0x08 code32 */
	pg_gdt[2] = 0x00cf92000000ffffull;	/* 0x10 data */
	pg_gdt[3] = 0x00af9a000000ffffull;	/* 0x18 code64 */
	pg_gdt[4] = 0x00cf92000000ffffull;	/* 0x20 data */
	pg_gdt[5] = 0x00cffa000000ffffull;	/* 0x28 ring-3 code32 */
	pg_gdt[6] = 0x00cff2000000ffffull;	/* 0x30 ring-3 data */
	pg_gdt[7] = 0x00affa000000ffffull;	/* 0x38 ring-3 code64 */
	/* TSSs: ring-0 stack for exceptions and INT 0x81 from ring 3. */
	tss32[1] = (uint32_t)trap_stack + PAGE;			/* esp0 */
	tss32[2] = 0x10;					/* ss0 */
	tss32[25] = 104u << 16;			/* no I/O bitmap */
	memcpy((uint8_t *)tss64 + 4, &(uint64_t){ (uint32_t)trap_stack +
						  PAGE }, 8);	/* rsp0 */
	memcpy((uint8_t *)tss64 + 0x24, &(uint64_t){ (uint32_t)df_stack +
						     PAGE }, 8);	/* ist1 */
	tss64[25] = 104u << 16;
	pg_gdt[8] = seg_desc((uint32_t)tss32, 103, 0x89, 0);	/* 0x40 */
	pg_gdt[9] = seg_desc((uint32_t)tss64, 103, 0x89, 0);	/* 0x48 */
	pg_gdt[10] = 0;
	gdtr.limit = sizeof(pg_gdt) - 1;
	gdtr.base = (uint32_t)pg_gdt;
	/* Same selectors 0x08-0x20 as the framework's GDT: no reload needed. */
	asm volatile("lgdt %0" : : "m"(gdtr));

	for (i = 0; i < 32; i++) {
		gate32(i, p32_stubs[i], 0);
		gate64(i, p64_stubs[i], 0, i == VEC_DF ? 1 : 0);
	}
	gate32(VEC_URET, p32_uret_addr, 3);
	gate64(VEC_URET, p64_uret_addr, 3, 0);
	pg_idtr32.limit = sizeof(idt32) - 1;
	pg_idtr32.base = (uint32_t)idt32;
	pg_idtr64.limit = sizeof(idt64) - 1;
	pg_idtr64.base = (uint32_t)idt64;
}

void pg_reset(void)
{
	pool_used = 0;
}

void *pg_page(void)
{
	void *p;

	if (pool_used == POOL_PAGES) {
		check(0, "page pool", "out of pages");
		test_exit();
	}
	p = pool[pool_used++];
	memset(p, 0, PAGE);
	return p;
}

uint32_t pg_frame_id(uint32_t frame)
{
	return frame | 0x5a5;
}

uint32_t pg_frame(void)
{
	uint8_t *p = pg_page();
	uint32_t id = pg_frame_id((uint32_t)p);

	p[FRAME_CODE] = 0xb8;			/* mov eax, id */
	memcpy(p + FRAME_CODE + 1, &id, 4);
	p[FRAME_CODE + 5] = 0xc3;		/* ret */
	memcpy(p + FRAME_ID, &id, 4);
	return (uint32_t)p;
}

static int level_shift(const struct pg_mode *m, int lvl)
{
	return 12 + m->ibits * (lvl - 1);
}

uint64_t pg_level_size(const struct pg_mode *m, int lvl)
{
	return 1ull << level_shift(m, lvl);
}

static unsigned int level_index(const struct pg_mode *m, uint64_t va, int lvl)
{
	int bits = lvl == m->levels ? m->top_bits : m->ibits;

	return (va >> level_shift(m, lvl)) & ((1u << bits) - 1);
}

static uint64_t get(const struct pg_mode *m, uint32_t table, unsigned int i)
{
	if (m->esize == 4)
		return ((volatile uint32_t *)table)[i];
	return ((volatile uint64_t *)table)[i];
}

static void set(const struct pg_mode *m, uint32_t table, unsigned int i,
		uint64_t v)
{
	if (m->esize == 4)
		((volatile uint32_t *)table)[i] = (uint32_t)v;
	else
		((volatile uint64_t *)table)[i] = v;
}

/* The table an entry points to: the pool lies below 4 GiB. */
static uint32_t entry_table(uint64_t e)
{
	return (uint32_t)e & ~(PAGE - 1);
}

uint32_t pg_entry_addr(struct pg_as *as, uint64_t va, int lvl)
{
	const struct pg_mode *m = as->mode;
	uint32_t table = as->root;
	int l;

	for (l = m->levels; l > lvl; l--) {
		uint64_t e = get(m, table, level_index(m, va, l));

		if (!(e & PTE_P))
			return 0;
		table = entry_table(e);
	}
	return table + level_index(m, va, lvl) * m->esize;
}

uint64_t pg_entry_get(struct pg_as *as, uint64_t va, int lvl)
{
	uint32_t a = pg_entry_addr(as, va, lvl);

	if (!a)
		return 0;
	return as->mode->esize == 4 ? *(volatile uint32_t *)a :
				      *(volatile uint64_t *)a;
}

void pg_entry_set(struct pg_as *as, uint64_t va, int lvl, uint64_t v)
{
	uint32_t a = pg_entry_addr(as, va, lvl);

	if (!a) {
		check(0, "page-table builder", "no table for %#llx level %d",
		      va, lvl);
		test_exit();
	}
	if (as->mode->esize == 4)
		*(volatile uint32_t *)a = (uint32_t)v;
	else
		*(volatile uint64_t *)a = v;
}

/* PAE PDPTEs have P, PWT and PCD only (SDM 4.4.1, APM 5.3.2). */
static uint64_t upper_flags(const struct pg_mode *m, int lvl, uint64_t f)
{
	if (m->kind == PG_PAE && lvl == 3)
		return f & (PTE_P | PTE_PWT | PTE_PCD);
	return f;
}

void pg_map(struct pg_as *as, uint64_t va, uint64_t pa, int lvl,
	    uint64_t leaf_flags, const uint64_t *up)
{
	const struct pg_mode *m = as->mode;
	uint32_t table = as->root;
	int l;

	for (l = m->levels; l > lvl; l--) {
		unsigned int i = level_index(m, va, l);
		uint64_t e = get(m, table, i);

		if (!(e & PTE_P)) {
			uint64_t f = up && up[l] ? up[l] : PTE_P | PTE_W | PTE_U;

			e = (uint32_t)pg_page() | upper_flags(m, l, f);
			set(m, table, i, e);
		}
		table = entry_table(e);
	}
	set(m, table, level_index(m, va, lvl),
	    pa | leaf_flags | (lvl > 1 ? PTE_PS : 0));
}

void pg_as_init(struct pg_as *as, const struct pg_mode *m)
{
	uint32_t a;

	as->mode = m;
	as->root = (uint32_t)pg_page();
	as->next = 1;
	for (a = (uint32_t)__kernel_start; a < (uint32_t)__kernel_end; a += PAGE)
		pg_map(as, a, a, 1, PTE_P | PTE_W, NULL);
	pg_map(as, (uint32_t)pg_user_page, (uint32_t)pg_user_page, 1,
	       PTE_P | PTE_U, NULL);
	pg_map(as, (uint32_t)pg_ustack, (uint32_t)pg_ustack, 1,
	       PTE_P | PTE_W | PTE_U, NULL);
}

/*
 * 32-bit: a PDE of its own from 1 GiB up; PAE: a PDE of its own from
 * 1 GiB up (the PDPTE is shared: it has no permission bits); 4-level: a
 * PML4E of its own.
 */
uint64_t pg_fresh_va(struct pg_as *as)
{
	const struct pg_mode *m = as->mode;
	uint32_t n = as->next++;

	switch (m->kind) {
	case PG_32:
		return 0x40000000ull + ((uint64_t)n << 22);
	case PG_PAE:
		return 0x40000000ull + ((uint64_t)n << 21);
	default:
		return (uint64_t)n << 39;
	}
}

void pg_ops_init(struct pg_ops *o)
{
	o->n = 0;
}

struct pg_op *pg_add(struct pg_ops *o, uint32_t kind, uint32_t flags,
		     uint64_t addr, uint64_t val, uint64_t val2)
{
	struct pg_op *op;

	if (o->n == (int)ARRAY_SIZE(o->op)) {
		check(0, "operation list", "full");
		test_exit();
	}
	op = &o->op[o->n++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->flags = flags;
	op->addr = addr;
	op->val = val;
	op->val2 = val2;
	op->vector = VEC_NONE;
	return op;
}

void pg_cfg_init(struct pg_cfg *c, struct pg_as *as, uint32_t cr0_set,
		 uint32_t cr4_set, uint64_t efer_set)
{
	c->kind = as->mode->kind;
	c->cr0_set = cr0_set;
	c->cr4 = as->mode->cr4 | cr4_set;
	c->cr3 = as->root;
	c->efer_set = efer_set;
}

void pg_run(const struct pg_cfg *c, struct pg_ops *o)
{
	pg_enter(c, o->op, o->n);
}

int pg_faulted(const struct pg_op *op, uint32_t vector, uint32_t err,
	       uint64_t cr2)
{
	if (op->vector != vector || op->err != err)
		return 0;
	return vector != VEC_PF || op->cr2 == cr2;
}

/*
 * A reserved bit in a present entry gives P = 1 and RSVD = 1 (SDM 4.7:
 * "bit 3 of the error code can be set only if bit 0 is also set").  QEMU
 * 7.2's TCG reports RSVD with P = 0; on its CPU models that one deviation
 * is let through with an info line, everything else stays exact.
 */
int pg_rsvd_err_ok(const struct pg_op *op, uint32_t want)
{
	if (op->vector != VEC_PF)
		return 0;
	if (op->err == want)
		return 1;
	if (pg_cpu.qemu && op->err == (want & ~PF_P)) {
		static int told;

		if (!told++)
			info("known QEMU TCG deviation: reserved-bit #PF error "
			     "%#llx without P (architecture: %#x); let through "
			     "on QEMU CPU models", op->err, want);
		return 1;
	}
	return 0;
}

int pg_ok(const struct pg_op *op)
{
	return op->vector == VEC_NONE;
}

const char *pg_outcome(const struct pg_op *op)
{
	static char buf[4][96];
	static int n;
	char *b = buf[n++ & 3];

	if (op->vector == VEC_NONE)
		snprintf(b, 96, "no fault, value %#llx", op->out);
	else
		snprintf(b, 96, "vector %u error %#llx cr2 %#llx", op->vector,
			 op->err, op->cr2);
	return b;
}

/*
 * The I/D bit (SDM 4.7): set for fetches when CR4.SMEP = 1, or when PAE or
 * 4-level paging runs with EFER.NXE = 1; else 0.  AMD (APM 8.4.2) defines
 * it only when EFER.NXE = 1 (and with SMEP): -1 means either is right.
 */
int pg_fetch_sets_id(uint32_t cr4, uint64_t efer, enum pg_kind kind)
{
	if ((cr4 & CR4_SMEP) || (kind != PG_32 && (efer & EFER_NXE)))
		return 1;
	return pg_cpu.amd ? -1 : 0;
}
