// SPDX-License-Identifier: BSD-2-Clause
/*
 * pg32: the paging conformance suite in 32-bit paging (SDM Vol 3 4.3,
 * APM Vol 2 5.3): the permission matrix with 4 KiB and (CR4.PSE) 4 MiB
 * pages, accessed/dirty flags, INVLPG, CR3 switches, global pages, page
 * tables written by unusual instructions and through a second mapping,
 * reserved bits; and what is particular to this mode: the PS flag of a
 * PDE is ignored while CR4.PSE = 0.
 */
#include "pg.h"

const char test_name[] = "pg32";

/*
 * With CR4.PSE = 0 a PDE's PS flag is ignored: the PDE references a page
 * table (SDM 4.3, Table 4-5; APM 5.2.2).
 */
static void pse_off(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t f;
	uint64_t v;
	struct pg_op *o;

	pg_reset();
	pg_as_init(&as, &pg_mode_32);
	pg_ops_init(&ops);
	f = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f, 1, PTE_P | PTE_W, NULL);
	pg_entry_set(&as, v, 2, pg_entry_get(&as, v, 2) | PTE_PS);
	o = pg_add(&ops, OP_READ, 0, v + FRAME_ID, 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, 0, 0);
	pg_run(&pc, &ops);
	check(pg_ok(o) && (uint32_t)o->out == pg_frame_id(f),
	      "32-bit: cr4.pse=0: a pde with ps=1 still references a page "
	      "table", "want %#x, got %s", pg_frame_id(f), pg_outcome(o));
}

void test_main(void)
{
	pg_init();
	pg_suite_matrix(&pg_mode_32, 2);
	pg_suite(&pg_mode_32);
	pse_off();
}
