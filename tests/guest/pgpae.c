// SPDX-License-Identifier: BSD-2-Clause
/*
 * pgpae: the paging conformance suite in PAE paging (SDM Vol 3 4.4, APM
 * Vol 2 5.3): the permission matrix with 4 KiB and 2 MiB pages and NX,
 * accessed/dirty flags, INVLPG, CR3 switches, global pages, page tables
 * written by unusual instructions (CMPXCHG8B in 32-bit code) and through
 * a second mapping, reserved bits; and what is particular to this mode:
 * the PDPTEs and their reserved bits.
 */
#include "pg.h"

const char test_name[] = "pgpae";

/*
 * A PDPTE with P = 1 and a reserved bit set (bits 2:1, 8:5, 63:MAXPHYADDR):
 * Intel loads the PDPTEs on MOV to CR3 and raises #GP(0) there (SDM
 * 4.4.1); AMD checks them on the walk and raises #PF with RSVD (APM 5.3.2
 * and 8.4.2 do not load PDPTEs at MOV to CR3 time).  Either way the access
 * must not succeed, and nothing else may be raised.
 */
static void pdpte_reserved(int bit, const char *what)
{
	static struct pg_ops ops;
	struct pg_as as, bad;
	struct pg_cfg pc;
	uint32_t f;
	uint64_t v;
	struct pg_op *o[3];
	int gp, pf;
	char name[96];

	pg_reset();
	pg_as_init(&as, &pg_mode_pae);
	pg_as_init(&bad, &pg_mode_pae);
	pg_ops_init(&ops);
	f = pg_frame();
	v = pg_fresh_va(&bad);
	pg_map(&bad, v, f, 1, PTE_P | PTE_W, NULL);
	pg_entry_set(&bad, v, 3, pg_entry_get(&bad, v, 3) | (1ull << bit));
	/* The kernel is mapped by PDPTE 0 in both: only PDPTE 1 is bad. */
	o[0] = pg_add(&ops, OP_CR3, 0, 0, bad.root, 0);
	o[1] = pg_add(&ops, OP_READ, 0, v + FRAME_ID, 0, 0);
	pg_add(&ops, OP_CR3, 0, 0, as.root, 0);
	pg_cfg_init(&pc, &as, CR0_WP, 0, 0);
	pg_run(&pc, &ops);

	gp = pg_faulted(o[0], VEC_GP, 0, 0);
	pf = pg_ok(o[0]) && pg_rsvd_err_ok(o[1], PF_P | PF_RSVD) &&
	     o[1]->cr2 == v + FRAME_ID;
	if (gp)
		info("pae: %s: #GP(0) on mov to cr3", what);
	snprintf(name, sizeof(name), "pae: reserved: %s: #GP on mov to cr3 "
		 "or #PF with RSVD", what);
	check(gp || pf, name,
	      "mov cr3: %s; read: %s", pg_outcome(o[0]), pg_outcome(o[1]));
}

void test_main(void)
{
	pg_init();
	if (!check(pg_cpu.pae, "cpu has pae", "cpuid 1:edx bit 6 clear"))
		return;
	pg_suite_matrix(&pg_mode_pae, 2);
	pg_suite(&pg_mode_pae);
	if (pg_cpu.qemu) {
		/* QEMU 7.2 TCG checks only bits 63:MAXPHYADDR of a PDPTE. */
		skip("pae: reserved: pdpte bits 1, 2, 5",
		     "known QEMU TCG deviation: not checked");
	} else {
		pdpte_reserved(1, "pdpte bit 1 (r/w)");
		pdpte_reserved(2, "pdpte bit 2 (u/s)");
		pdpte_reserved(5, "pdpte bit 5");
	}
	if (pg_cpu.maxphys < 52)
		pdpte_reserved(pg_cpu.maxphys, "pdpte bit maxphyaddr");
}
