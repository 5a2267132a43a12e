// SPDX-License-Identifier: BSD-2-Clause
/*
 * The random-guest differential test (issue 17): for each seed of the
 * command line (seeds=1,2,3 or seeds=1-32; 1,2,3 by default), a random
 * program in 32-bit, PAE and 4-level paging of writes to paging-structure
 * entries at every level (PTE, PDE with page-size toggles between a page
 * table and a 4 MiB or 2 MiB page, PDPTE, PML4E; in the current address
 * space or the other one), INVLPG, CR3 switches between two address
 * spaces and reloads, CR0.WP, CR4.PGE and CR4.SMEP changes, and reads,
 * writes and fetches (a call into a page whose code returns its id) at
 * CPL 0 and 3.  Every change is followed by the flush the architecture
 * requires before it is relied on (SDM Vol 3 4.10.4; APM Vol 2 5.5), so
 * every outcome is defined: the value read or returned, or the exception
 * with its error code and CR2.  The kernel prints one digest of them per
 * mode and seed; tests/run-guest-tests.py compares each umbra run's
 * digests with those of the bare run on the same emulator.  trace=MODE
 * (32-bit, pae, 4-level) prints every operation of that mode with its
 * outcome, to diff two runs of one seed.  A few operations are stale-entry
 * probes (stale_probe()).
 *
 * The flushes (SDM Vol 3 4.10.4.1 for what each operation invalidates):
 * - a PTE, PDE, PDPTE or PML4E of the current address space changed:
 *   INVLPG of the one address the program uses below it (it invalidates
 *   that page's TLB entries, global ones too, and all paging-structure
 *   caches), or MOV to CR3 (all but global entries) followed by that
 *   INVLPG when a global entry for the address may be cached;
 * - a PAE PDPTE changed: MOV to CR3, which loads the PDPTEs into the
 *   PDPTE registers (SDM Vol 3 4.4.1; the CPU does not read them again
 *   before), then INVLPG of every address that may have a global entry;
 * - an entry of the other address space changed: nothing until the
 *   switch, whose MOV to CR3 drops non-global entries; after every switch
 *   INVLPG of the addresses that may have global entries, since those
 *   survive it and came from the other space's tables;
 * - CR4.PGE toggled: every entry, global too, is gone;
 * - CR0.WP and CR4.SMEP: nothing; the TLB holds only entries equal to
 *   the tables, and WP and SMEP are applied to them at each access.
 */
#include "pg.h"

const char test_name[] = "pgrand";

#define NVA		12
#define NFRAMES		6
#define NBATCH		3	/* pg_run()s per seed and mode */
#define MAXSEEDS	64

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state % n;
}

/* One address the program uses, in one address space. */
struct slot {
	uint32_t ea[5];		/* entry addresses by level (1..levels) */
	uint64_t e[5];		/* the values the program wrote */
	uint32_t pt;		/* the page table below the PDE */
	int large;		/* the PDE maps a large page */
};

struct count {
	uint32_t ops, access, faults, other_faults, write[5], other_as;
	uint32_t ps, invlpg, cr3_switch, cr3_reload, wp, pge, smep, probe;
};

struct prog {
	const struct pg_mode *m;
	struct pg_as as[2];
	struct slot s[2][NVA];
	uint64_t va[NVA];	/* the address used: an id, data, code page */
	uint64_t big[NVA];	/* the large page's frame: the same page */
	uint32_t frame[NFRAMES];
	int gl[NVA];		/* a global TLB entry may exist for va */
	int cur;		/* address space in CR3 */
	int large_ok;		/* PS in a PDE is honoured */
	uint32_t cr0, cr4;
	uint32_t q;		/* PG_Q for 8-byte entries */
	struct count *c;
	struct pg_ops *o;
};

static uint64_t perm(struct prog *p)
{
	uint64_t e = rnd(8) ? PTE_P : 0;

	e |= rnd(2) ? PTE_W : 0;
	e |= rnd(2) ? PTE_U : 0;
	e |= p->m->esize == 8 && pg_cpu.nx && !rnd(4) ? PTE_NX : 0;
	return e;
}

static uint64_t glob(void)
{
	return pg_cpu.pge && !rnd(8) ? PTE_G : 0;
}

static uint64_t pde_value(struct prog *p, struct slot *s, int i)
{
	uint64_t flags = s->e[2] & (PTE_P | PTE_W | PTE_U | PTE_NX | PTE_G);

	if (s->large)
		return p->big[i] | PTE_PS | PTE_A | PTE_D | flags;
	return s->pt | PTE_A | (flags & ~PTE_G);
}

/* The leaf that maps the address (a PTE or a large PDE) is global. */
static int leaf_global(const struct slot *s)
{
	return !!((s->large ? s->e[2] : s->e[1]) & PTE_G);
}

static void build(struct prog *p, const struct pg_mode *m)
{
	uint64_t ls = pg_level_size(m, 2);
	int a, i, l;

	p->m = m;
	p->q = m->esize == 8 ? PG_Q : 0;
	p->cur = 0;
	p->large_ok = m->kind != PG_32 || pg_cpu.pse;
	pg_reset();
	for (i = 0; i < NFRAMES; i++)
		p->frame[i] = pg_frame();
	for (a = 0; a < 2; a++)
		pg_as_init(&p->as[a], m);
	for (i = 0; i < NVA; i++) {
		uint32_t f = p->frame[rnd(NFRAMES)];

		/* the large page holds frame f at the address's offset */
		p->big[i] = f & ~(ls - 1);
		p->va[i] = pg_fresh_va(&p->as[0]) + (f & (ls - 1));
		p->gl[i] = 0;
		for (a = 0; a < 2; a++) {
			struct slot *s = &p->s[a][i];

			pg_map(&p->as[a], p->va[i], p->frame[rnd(NFRAMES)], 1,
			       PTE_P | PTE_W | PTE_U | PTE_A | PTE_D, NULL);
			for (l = 1; l <= m->levels; l++) {
				s->ea[l] = pg_entry_addr(&p->as[a], p->va[i], l);
				s->e[l] = pg_entry_get(&p->as[a], p->va[i], l);
			}
			s->pt = (uint32_t)s->e[2] & ~0xfffu;
			s->large = 0;
		}
	}
}

static void add(struct prog *p, uint32_t kind, uint32_t flags, uint64_t addr,
		uint64_t val)
{
	pg_add(p->o, kind, flags, addr, val, 0);
	p->c->invlpg += kind == OP_INVLPG;
}

/* INVLPG of every address that may have a global TLB entry. */
static void flush_global(struct prog *p)
{
	int i;

	for (i = 0; i < NVA; i++)
		if (p->gl[i])
			add(p, OP_INVLPG, 0, p->va[i], 0);
}

static void access_at(struct prog *p, int i)
{
	static const uint32_t kinds[3] = { OP_READ, OP_WRITE, OP_EXEC };
	static const uint32_t offs[3] = { FRAME_ID, FRAME_DATA, FRAME_CODE };
	int k = (int)rnd(3);

	add(p, kinds[k], rnd(2) ? PG_USER : 0, p->va[i] + offs[k],
	    rnd(1u << 30));
	p->c->access++;
}

static void access(struct prog *p)
{
	access_at(p, (int)rnd(NVA));
}

static void change(struct prog *p, int a, int i, int lvl);

static void cr3_switch(struct prog *p, int a)
{
	p->cur = a;
	add(p, OP_CR3, 0, 0, p->as[a].root);
	p->c->cr3_switch++;
	flush_global(p);
}

static void global_left(struct prog *p);

/*
 * An address used, its PTE rewritten, then one flush, and the address
 * used again: the translation the TLB held for it must not come back.
 * The flush: the switch to the other space and back (the PTE rewritten
 * from there), INVLPG, or a CR4.PGE toggle (every entry, SDM 4.10.4.1).
 */
static void stale_probe(struct prog *p)
{
	int i = (int)rnd(NVA), a = p->cur, k = (int)rnd(pg_cpu.pge ? 3 : 2);

	access_at(p, i);
	if (k == 0) {
		cr3_switch(p, !a);
		change(p, a, i, 1);
		p->c->other_as++;
		cr3_switch(p, a);
	} else if (k == 1) {
		change(p, a, i, 1);
		add(p, OP_INVLPG, 0, p->va[i], 0);
	} else {
		change(p, a, i, 1);
		p->cr4 ^= CR4_PGE;
		add(p, OP_CR4, 0, 0, p->cr4);
		p->c->pge++;
		global_left(p);
	}
	access_at(p, i);
	p->c->probe++;
}

/*
 * A random change of the entry at level lvl for address i in space a
 * (PAE's level 3: the PDPTE all addresses share).
 */
static void change(struct prog *p, int a, int i, int lvl)
{
	struct slot *s = &p->s[a][i];
	uint64_t v;

	switch (lvl) {
	case 1:
		v = p->frame[rnd(NFRAMES)] | PTE_A | PTE_D | perm(p) | glob();
		break;
	case 2:
		if (p->large_ok && !rnd(3)) {
			s->large = !s->large;
			p->c->ps++;
			if (s->large)
				s->e[2] = (s->e[2] & ~PTE_G) | glob();
		} else {
			static const uint64_t bits[4] = { PTE_W, PTE_U, PTE_P,
							  PTE_NX };
			uint64_t b = bits[rnd(p->m->esize == 8 && pg_cpu.nx ?
					      4 : 3)];

			/* present more often than not */
			if (b == PTE_P && !(s->e[2] & PTE_P))
				s->e[2] |= PTE_P;
			else if (b == PTE_P && rnd(3))
				b = PTE_W;
			s->e[2] ^= b == PTE_P ? 0 : b;
			if (b == PTE_P && rnd(3) == 0)
				s->e[2] &= ~PTE_P;
		}
		v = pde_value(p, s, i);
		break;
	default:
		if (p->m->kind == PG_PAE) {
			/* P only: its other bits are reserved or caching */
			v = s->e[3] ^ PTE_P;
		} else {
			static const uint64_t bits[4] = { PTE_W, PTE_U, PTE_NX,
							  PTE_P };
			uint64_t b = bits[rnd(pg_cpu.nx ? 4 : 2)];

			if (b == PTE_P && (s->e[lvl] & PTE_P) && rnd(2))
				b = PTE_U;
			v = s->e[lvl] ^ b;
		}
		break;
	}
	s->e[lvl] = v;
	/* the leaf in use now may be global: a PTE, a large PDE, or a PTE
	 * that a PDE turned back into a page-table pointer brings back */
	p->gl[i] |= leaf_global(s);
	if (p->m->kind == PG_PAE && lvl == 3) {
		/* the same PDPTE for every address */
		int j;

		for (j = 0; j < NVA; j++)
			p->s[a][j].e[3] = v;
	}
	add(p, OP_STORE, p->q, s->ea[lvl], v);
	p->c->write[lvl]++;
}

static void write_entry(struct prog *p, int lvl)
{
	int i = (int)rnd(NVA), a = p->cur;

	if (!rnd(4)) {
		/* the other space: its switch flushes (flush_global()) */
		change(p, !a, i, lvl);
		p->c->other_as++;
		return;
	}
	change(p, a, i, lvl);
	if (p->m->kind == PG_PAE && lvl == 3) {
		add(p, OP_CR3, 0, 0, p->as[a].root);
		p->c->cr3_reload++;
		flush_global(p);
	} else if (lvl == 1 || rnd(2)) {
		add(p, OP_INVLPG, 0, p->va[i], 0);
	} else {
		add(p, OP_CR3, 0, 0, p->as[a].root);
		p->c->cr3_reload++;
		if (p->gl[i])
			add(p, OP_INVLPG, 0, p->va[i], 0);
	}
}

/* Which addresses can still have a global entry after a full flush. */
static void global_left(struct prog *p)
{
	int i;

	for (i = 0; i < NVA; i++)
		p->gl[i] = leaf_global(&p->s[0][i]) |
			   leaf_global(&p->s[1][i]);
}

static void add_op(struct prog *p)
{
	uint32_t r = rnd(200);

	if (r < 96) {
		access(p);
	} else if (r < 136) {
		write_entry(p, 1);
	} else if (r < 158) {
		write_entry(p, 2);
	} else if (r < 170) {
		/* PAE: the PDPTE, which maps every address: cleared rarely,
		 * set again soon */
		if (p->m->kind == PG_64)
			write_entry(p, 3 + (int)rnd(2));
		else if (p->m->kind == PG_PAE &&
			 (r < 160 || !(p->s[p->cur][0].e[3] & PTE_P)))
			write_entry(p, 3);
		else
			write_entry(p, 2);
	} else if (r < 182) {
		cr3_switch(p, (int)rnd(2));
	} else if (r < 190) {
		stale_probe(p);
	} else if (r < 194) {
		p->cr0 ^= CR0_WP;
		add(p, OP_CR0, 0, 0, p->cr0);
		p->c->wp++;
	} else if (r < 197) {
		if (pg_cpu.pge) {
			p->cr4 ^= CR4_PGE;
			add(p, OP_CR4, 0, 0, p->cr4);
			p->c->pge++;
			global_left(p);
		}
	} else if (pg_cpu.smep) {
		/* supervisor fetches from user pages fault while it is set */
		p->cr4 ^= CR4_SMEP;
		add(p, OP_CR4, 0, 0, p->cr4);
		p->c->smep++;
	}
}

/* FNV-1a over every outcome. */
static uint32_t digest(uint32_t h, const struct pg_ops *o, struct count *c)
{
	int i, j;

	for (i = 0; i < o->n; i++) {
		const struct pg_op *op = &o->op[i];
		uint64_t v[4] = { op->vector, op->vector == VEC_NONE ?
				  op->out : op->err, op->cr2, c->ops++ };
		int acc = op->kind == OP_READ || op->kind == OP_WRITE ||
			  op->kind == OP_EXEC;

		if (op->vector != VEC_NONE) {
			c->faults += acc;
			c->other_faults += !acc;
		}
		for (j = 0; j < 4; j++) {
			h = (h ^ (uint32_t)v[j]) * 16777619u;
			h = (h ^ (uint32_t)(v[j] >> 32)) * 16777619u;
		}
	}
	return h;
}

/* trace=MODE: every operation and its outcome, to find where runs part */
static const char *trace;

static void print_trace(const struct pg_ops *o, uint32_t first)
{
	int i;

	for (i = 0; i < o->n; i++) {
		const struct pg_op *op = &o->op[i];

		printf("trace %u: kind %u flags %u addr %#llx val %#llx: %s\n",
		       first + i, op->kind, op->flags, op->addr, op->val,
		       pg_outcome(op));
	}
}

static void run_seed(const struct pg_mode *m, uint32_t seed, struct count *c)
{
	static struct pg_ops ops;
	static struct prog p;
	struct pg_cfg pc;
	uint32_t h = 2166136261u;
	int b;

	rnd_state = (seed * 2654435761u) ^ ((uint32_t)m->kind << 28) ^
		    0x9e3779b9u;
	if (!rnd_state)
		rnd_state = 1;
	p.c = c;
	p.o = &ops;
	build(&p, m);
	pg_cfg_init(&pc, &p.as[0], CR0_WP, (pg_cpu.pge ? CR4_PGE : 0) |
		    (m->kind == PG_32 && pg_cpu.pse ? CR4_PSE : 0),
		    pg_cpu.nx ? EFER_NXE : 0);
	p.cr4 = pc.cr4;
	/* as lib/pgrun.asm sets it for the run */
	p.cr0 = read_cr0() | CR0_WP | CR0_PG;
	for (b = 0; b < NBATCH; b++) {
		/* the state the last batch left: its tables, CR3, WP, CR4
		 * (paging off in between flushes everything, SDM 4.10.4.1) */
		pc.cr3 = p.as[p.cur].root;
		pc.cr0_set = p.cr0 & CR0_WP;
		pc.cr4 = p.cr4;
		global_left(&p);
		pg_ops_init(&ops);
		while (ops.n < (int)ARRAY_SIZE(ops.op) - 2 * NVA - 5)
			add_op(&p);
		pg_run(&pc, &ops);
		if (trace && !memcmp(trace, m->name, strlen(m->name)) &&
		    (trace[strlen(m->name)] == ' ' || !trace[strlen(m->name)]))
			print_trace(&ops, c->ops);
		h = digest(h, &ops, c);
	}
	printf("info: digest %s/%u %08x\n", m->name, seed, h);
}

static uint32_t seeds[MAXSEEDS];
static int nseeds;

/* seeds=1,2,3 or seeds=1-32 (or both: 1,5-9) */
static void parse_seeds(void)
{
	const char *p = cmdline_arg(boot.cmdline, "seeds");
	uint32_t lo, hi;

	if (!p)
		p = "1,2,3";
	while (*p >= '0' && *p <= '9' && nseeds < MAXSEEDS) {
		for (lo = 0; *p >= '0' && *p <= '9'; p++)
			lo = lo * 10 + (uint32_t)(*p - '0');
		hi = lo;
		if (*p == '-')
			for (hi = 0, p++; *p >= '0' && *p <= '9'; p++)
				hi = hi * 10 + (uint32_t)(*p - '0');
		while (lo <= hi && nseeds < MAXSEEDS)
			seeds[nseeds++] = lo++;
		if (*p == ',')
			p++;
	}
	check(nseeds > 0, "seeds", "%d seeds from the command line", nseeds);
}

static void run_mode(const struct pg_mode *m)
{
	struct count c;
	int k;

	memset(&c, 0, sizeof(c));
	for (k = 0; k < nseeds; k++)
		run_seed(m, seeds[k], &c);
	info("%s: %d seeds, %u operations: %u accesses (%u faulted), entry "
	     "writes PTE %u PDE %u (%u page-size toggles) PDPTE %u PML4E %u "
	     "(%u in the other space), %u INVLPG, %u CR3 switches, %u CR3 "
	     "reloads, %u CR0.WP, %u CR4.PGE, %u CR4.SMEP toggles, %u "
	     "stale-entry probes", m->name, nseeds, c.ops, c.access, c.faults,
	     c.write[1], c.write[2], c.ps, c.write[3], c.write[4], c.other_as,
	     c.invlpg, c.cr3_switch, c.cr3_reload, c.wp, c.pge, c.smep,
	     c.probe);
	check(c.faults && c.faults < c.access, m->name, "%u of %u accesses "
	      "faulted (some, not all)", c.faults, c.access);
	check(!c.other_faults, m->name, "%u entry writes, flushes and "
	      "control-register loads faulted (none may)", c.other_faults);
}

void test_main(void)
{
	pg_init();
	parse_seeds();
	trace = cmdline_arg(boot.cmdline, "trace");
	if (!pg_cpu.smep)
		skip("cr4.smep", "no SMEP (CPUID.(EAX=7,ECX=0):EBX[7] = 0)");
	if (!pg_cpu.pse)
		skip("4 MiB pages", "no PSE (CPUID.1:EDX[3] = 0)");
	run_mode(&pg_mode_32);
	if (pg_cpu.pae)
		run_mode(&pg_mode_pae);
	else
		skip("pae", "no PAE");
	if (pg_cpu.lm)
		run_mode(&pg_mode_64);
	else
		skip("4-level", "no long mode");
}
