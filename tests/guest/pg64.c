// SPDX-License-Identifier: BSD-2-Clause
/*
 * pg64: the paging conformance suite in 4-level paging (SDM Vol 3 4.5,
 * APM Vol 2 5.3): the permission matrix with 4 KiB, 2 MiB and (where
 * CPUID has them) 1 GiB pages and NX, accessed/dirty flags, INVLPG, CR3
 * switches, global pages, page tables written by unusual instructions and
 * through a second mapping, reserved bits in every level; and what is
 * particular to this mode: a self-referencing PML4 entry.
 */
#include "pg.h"

const char test_name[] = "pg64";

#define SELF		510ull
#define RWAD		(PTE_P | PTE_W | PTE_A | PTE_D)

static uint64_t canon(uint64_t va)
{
	return va & (1ull << 47) ? va | 0xffff000000000000ull : va;
}

/* Where the self map shows the entry at level lvl (1: PTE) for va. */
static uint64_t self_entry(uint64_t va, int lvl)
{
	uint64_t a = 0;
	int i;

	va &= (1ull << 48) - 1;
	for (i = 0; i < lvl; i++)
		a |= SELF << (39 - 9 * i);
	return canon(a | ((va >> (9 * lvl)) & ((1ull << (39 - 9 * (lvl - 1))) -
						8)));
}

/*
 * PML4[510] points at the PML4 itself: the page tables appear as data
 * (the PTE of va at 0xffffff0000000000 + (va >> 9 & ~7) with 48-bit
 * wrap).  A PTE rewritten there is used after INVLPG; a PTE the walker
 * marked accessed reads back with A.
 */
static void self_map(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t f1, f2;
	uint64_t v, w;
	struct pg_op *o[4];

	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
	f1 = pg_frame();
	f2 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	pg_map(&as, v + 4096, f1, 1, PTE_P | PTE_W, NULL);
	((volatile uint64_t *)as.root)[SELF] = as.root | PTE_P | PTE_W;
	w = self_entry(v, 1);

	pg_add(&ops, OP_READ, 0, v + FRAME_ID, 0, 0);
	pg_add(&ops, OP_STORE, PG_Q, w, f2 | RWAD, 0);
	pg_add(&ops, OP_INVLPG, 0, v, 0, 0);
	o[0] = pg_add(&ops, OP_READ, 0, v + FRAME_ID, 0, 0);
	pg_add(&ops, OP_READ, 0, v + 4096 + FRAME_ID, 0, 0);
	o[1] = pg_add(&ops, OP_READ, 0, w + 8, 0, 0);
	o[2] = pg_add(&ops, OP_READ, 0, self_entry(v, 4), 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, 0, pg_cpu.nx ? EFER_NXE : 0);
	pg_run(&pc, &ops);

	info("4-level: self map: pte of %#llx at %#llx", v, w);
	check(pg_ok(o[0]) && (uint32_t)o[0]->out == pg_frame_id(f2),
	      "4-level: self map: pte written through the self map is used "
	      "after invlpg", "want %#x, got %s", pg_frame_id(f2),
	      pg_outcome(o[0]));
	check(pg_ok(o[1]) && (o[1]->out & ~0xfffu) == f1 &&
	      (o[1]->out & PTE_A), "4-level: self map: reads the pte with "
	      "the A flag the walker set", "%s", pg_outcome(o[1]));
	check(pg_ok(o[2]) && (uint32_t)o[2]->out ==
	      (uint32_t)(((volatile uint64_t *)as.root)[v >> 39]),
	      "4-level: self map: reads the pml4e", "want %#x, got %s",
	      (uint32_t)(((volatile uint64_t *)as.root)[v >> 39]),
	      pg_outcome(o[2]));
}

/*
 * A #PF whose delivery faults again on the stack is a double fault (SDM
 * Vol 3 6.15, Table 6-5; APM Vol 2 8.2.9).  Code in a frame points RSP
 * into an unmapped page and pushes: the push faults, and so does pushing
 * that #PF's frame.  #DF (error code 0) runs on IST1 (pg.c).  Under shadow
 * paging both #PFs go through the hypervisor, which must combine them as
 * the CPU does; re-injecting a #PF there loops for ever.
 */
static void double_fault(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	struct pg_op *o;
	uint32_t f;
	uint64_t v, sp;
	uint8_t *code;

	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
	f = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f, 1, RWAD, NULL);
	sp = v + 16 * 4096;			/* same page table, not present */
	code = (uint8_t *)f + FRAME_CODE;
	code[0] = 0x48;				/* mov rsp, sp */
	code[1] = 0xbc;
	memcpy(code + 2, &sp, 8);
	code[10] = 0x50;			/* push rax */
	code[11] = 0x0f;			/* ud2: not reached */
	code[12] = 0x0b;

	o = pg_add(&ops, OP_EXEC, 0, v, 0, 0);
	pg_add(&ops, OP_READ, 0, v + FRAME_ID, 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, 0, pg_cpu.nx ? EFER_NXE : 0);
	pg_run(&pc, &ops);

	/* both #PFs are at sp - 8: the push, then the frame's SS slot */
	check(o->vector == VEC_DF && o->err == 0 && o->cr2 == sp - 8,
	      "4-level: a #PF while delivering a #PF is a double fault",
	      "want vector 8 error 0 cr2 %#llx, got %s", sp - 8,
	      pg_outcome(o));
	check(pg_ok(&ops.op[1]) &&
	      (uint32_t)ops.op[1].out == pg_frame_id(f),
	      "4-level: the next operation runs after the double fault",
	      "%s", pg_outcome(&ops.op[1]));
}

void test_main(void)
{
	pg_init();
	if (!check(pg_cpu.lm, "cpu has long mode",
		   "cpuid 0x80000001:edx bit 29 clear"))
		return;
	if (!pg_cpu.pdpe1gb)
		skip("4-level: 1g pages in the permission matrix",
		     "no 1 GiB pages (cpuid 0x80000001:edx bit 26)");
	pg_suite_matrix(&pg_mode_64, pg_cpu.pdpe1gb ? 3 : 2);
	pg_suite(&pg_mode_64);
	self_map();
	double_fault();
}
