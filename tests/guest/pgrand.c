// SPDX-License-Identifier: BSD-2-Clause
/*
 * The random-guest differential test (issue 17): a random program of PTE
 * and PDE writes, INVLPG, CR3 switches between two address spaces, CR0.WP
 * and CR4.PGE changes and reads, writes and fetches at CPL 0 and 3, in
 * 32-bit, PAE and 4-level paging.  Every change is followed by the flush the architecture
 * requires before it is relied on (INVLPG of the address after a PTE
 * write, a CR3 load after a PDE write, SDM Vol 3 4.10.4), so every outcome
 * is defined: the value read or returned, or the exception with its error
 * code and CR2.  The kernel prints one digest of them per mode;
 * tests/run-guest-tests.py compares each umbra run's digests with those of
 * the bare run on the same emulator.
 */
#include "pg.h"

const char test_name[] = "pgrand";

#define NVA		12
#define NFRAMES		6
#define NOPS		480

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

struct prog {
	const struct pg_mode *m;
	struct pg_as as[2];
	uint64_t va[NVA];
	uint32_t frame[NFRAMES];
	uint64_t pde[2][NVA];	/* the values the program wrote */
	int cur;		/* address space in CR3 */
	uint32_t cr0, cr4;
	uint32_t q;		/* PG_Q for 8-byte entries */
};

static uint64_t leaf(struct prog *p)
{
	uint64_t e = p->frame[rnd(NFRAMES)] | PTE_A | PTE_D;

	e |= rnd(8) ? PTE_P : 0;
	e |= rnd(2) ? PTE_W : 0;
	e |= rnd(2) ? PTE_U : 0;
	e |= pg_cpu.pge && !rnd(4) ? PTE_G : 0;
	e |= p->m->esize == 8 && pg_cpu.nx && !rnd(4) ? PTE_NX : 0;
	return e;
}

static void build(struct prog *p, const struct pg_mode *m)
{
	int a, i;

	p->m = m;
	p->q = m->esize == 8 ? PG_Q : 0;
	p->cur = 0;
	pg_reset();
	for (i = 0; i < NFRAMES; i++)
		p->frame[i] = pg_frame();
	for (a = 0; a < 2; a++)
		pg_as_init(&p->as[a], m);
	for (i = 0; i < NVA; i++) {
		p->va[i] = pg_fresh_va(&p->as[0]);
		for (a = 0; a < 2; a++) {
			pg_map(&p->as[a], p->va[i], p->frame[rnd(NFRAMES)], 1,
			       PTE_P | PTE_W | PTE_U | PTE_A | PTE_D, NULL);
			p->pde[a][i] = pg_entry_get(&p->as[a], p->va[i], 2);
		}
	}
}

static void add_access(struct prog *p, struct pg_ops *o)
{
	static const uint32_t kinds[3] = { OP_READ, OP_WRITE, OP_EXEC };
	static const uint32_t offs[3] = { FRAME_ID, FRAME_DATA, FRAME_CODE };
	int k = (int)rnd(3);
	uint64_t va = p->va[rnd(NVA)] + offs[k];

	pg_add(o, kinds[k], rnd(2) ? PG_USER : 0, va, rnd(1u << 30), 0);
}

/* A PTE of the current space rewritten, then that address invalidated. */
static void add_pte(struct prog *p, struct pg_ops *o)
{
	uint64_t va = p->va[rnd(NVA)];

	pg_add(o, OP_STORE, p->q, pg_entry_addr(&p->as[p->cur], va, 1),
	       leaf(p), 0);
	pg_add(o, OP_INVLPG, 0, va, 0, 0);
}

/* A PDE's W or U flipped, then CR3 loaded again (a non-leaf change). */
static void add_pde(struct prog *p, struct pg_ops *o)
{
	int i = (int)rnd(NVA);
	uint64_t *e = &p->pde[p->cur][i];

	*e ^= rnd(2) ? PTE_W : PTE_U;
	pg_add(o, OP_STORE, p->q, pg_entry_addr(&p->as[p->cur], p->va[i], 2),
	       *e, 0);
	pg_add(o, OP_CR3, 0, 0, p->as[p->cur].root, 0);
}

static void add_op(struct prog *p, struct pg_ops *o)
{
	uint32_t r = rnd(100);

	if (r < 50) {
		add_access(p, o);
	} else if (r < 75) {
		add_pte(p, o);
	} else if (r < 85) {
		add_pde(p, o);
	} else if (r < 93) {
		p->cur = (int)rnd(2);
		pg_add(o, OP_CR3, 0, 0, p->as[p->cur].root, 0);
	} else if (r < 97) {
		/* supervisor writes to read-only pages; the TLB holds only
		 * current entries here, whose R/W meets the new WP */
		p->cr0 ^= CR0_WP;
		pg_add(o, OP_CR0, 0, 0, p->cr0, 0);
	} else if (pg_cpu.pge) {
		p->cr4 ^= CR4_PGE;	/* flushes everything, global too */
		pg_add(o, OP_CR4, 0, 0, p->cr4, 0);
	}
}

/* FNV-1a over every outcome. */
static uint32_t digest(const struct pg_ops *o, int *faults)
{
	uint32_t h = 2166136261u;
	int i, j;

	*faults = 0;
	for (i = 0; i < o->n; i++) {
		const struct pg_op *op = &o->op[i];
		uint64_t v[4] = { op->vector, op->vector == VEC_NONE ?
				  op->out : op->err, op->cr2, (uint64_t)i };

		*faults += op->vector != VEC_NONE;
		for (j = 0; j < 4; j++) {
			h = (h ^ (uint32_t)v[j]) * 16777619u;
			h = (h ^ (uint32_t)(v[j] >> 32)) * 16777619u;
		}
	}
	return h;
}

static void run_mode(const struct pg_mode *m, uint32_t seed)
{
	static struct pg_ops ops;
	static struct prog p;
	struct pg_cfg pc;
	int faults;
	uint32_t h;

	rnd_state = seed;
	build(&p, m);
	pg_cfg_init(&pc, &p.as[0], CR0_WP, pg_cpu.pge ? CR4_PGE : 0,
		    pg_cpu.nx ? EFER_NXE : 0);
	p.cr4 = pc.cr4;
	/* as lib/pgrun.asm sets it for the run */
	p.cr0 = (read_cr0() & ~CR0_WP) | CR0_WP | CR0_PG;
	pg_ops_init(&ops);
	while (ops.n < NOPS)
		add_op(&p, &ops);
	pg_run(&pc, &ops);
	h = digest(&ops, &faults);
	printf("info: digest %s %08x\n", m->name, h);
	info("%s: %d of %d operations faulted", m->name, faults, ops.n);
	check(faults && faults < ops.n, m->name, "%d of %d operations "
	      "faulted", faults, ops.n);
}

void test_main(void)
{
	uint32_t seed = 20250601;

	pg_init();
	run_mode(&pg_mode_32, seed);
	if (pg_cpu.pae)
		run_mode(&pg_mode_pae, seed + 1);
	else
		skip("pae", "no PAE");
	if (pg_cpu.lm)
		run_mode(&pg_mode_64, seed + 2);
	else
		skip("4-level", "no long mode");
}
