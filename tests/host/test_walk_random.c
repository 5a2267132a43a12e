// SPDX-License-Identifier: BSD-2-Clause
/*
 * Randomized guest tables: mmu/walk.c against a reference walker written
 * separately from the SDM Vol 3 chapter 4 tables and the access-rights list
 * of 4.6.1, one decoder per table (4-4..4-11, 4-14..4-19).  Both run on
 * copies of the same memory; status, error code, translation and the
 * memory after A/D updates must agree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/walk.h"
#include "tests/host/gmem.h"
#include "tests/host/host_env.h"

#define PAGES		32
#define MEM_SIZE	(PAGES * 4096)
#define SETS		1000
#define WALKS_PER_SET	1000

/* ---- the reference ---- */

struct ref_entry {
	bool present, rsvd, rw, us, xd, leaf;
	uint64_t next;		/* table or frame base */
	uint64_t size;		/* page size when leaf */
};

struct ref {
	const struct gw_ctx *c;
	uint8_t *mem;
};

static uint64_t field(uint64_t v, unsigned int hi, unsigned int lo)
{
	uint64_t mask = hi - lo == 63 ? ~0ull : (1ull << (hi - lo + 1)) - 1;

	return (v >> lo) & mask;
}

static bool any_set(uint64_t v, unsigned int hi, unsigned int lo)
{
	return hi >= lo && field(v, hi, lo) != 0;
}

static unsigned int M(const struct ref *r)
{
	return r->c->maxphyaddr;
}

static bool nxe(const struct ref *r)
{
	return r->c->efer & GW_EFER_NXE;
}

static void common(struct ref_entry *e, uint64_t v)
{
	e->present = v & 1;
	e->rw = field(v, 1, 1);
	e->us = field(v, 2, 2);
}

/* Table 4-5 / 4-6 / 4-4 (32-bit PDE/PTE, 4 MiB PDE) */
static void dec_32(const struct ref *r, uint64_t v, int level,
		   struct ref_entry *e)
{
	common(e, v);
	e->xd = false;
	e->rsvd = false;
	if (level == 2 && field(v, 7, 7) && (r->c->cr4 & GW_CR4_PSE)) {
		unsigned int m = M(r) > 40 ? 40 : M(r);

		e->leaf = true;
		e->size = 1ull << 22;
		e->rsvd = any_set(v, 21, 13 + (m - 32));
		e->next = (field(v, 31, 22) << 22) |
			  (field(v, 12 + (m - 32), 13) << 32);
		if (m == 32)
			e->next = field(v, 31, 22) << 22;
		return;
	}
	e->leaf = level == 1;
	e->size = 4096;
	e->next = field(v, 31, 12) << 12;
}

/* Table 4-8: PAE PDPTE */
static void dec_pdpte(const struct ref *r, uint64_t v, struct ref_entry *e)
{
	e->present = v & 1;
	e->rw = e->us = true;
	e->xd = false;
	e->leaf = false;
	e->rsvd = any_set(v, 2, 1) || any_set(v, 8, 5) || any_set(v, 63, M(r));
	e->next = field(v, M(r) - 1, 12) << 12;
}

/* Tables 4-9..4-11 (PAE) and 4-15..4-19 (4-level) */
static void dec_64(const struct ref *r, uint64_t v, int level, bool lm,
		   struct ref_entry *e)
{
	bool ps = field(v, 7, 7);

	common(e, v);
	e->xd = field(v, 63, 63);
	e->rsvd = lm ? any_set(v, 51, M(r)) : any_set(v, 62, M(r));
	if (!nxe(r) && e->xd)
		e->rsvd = true;
	if (!nxe(r))
		e->xd = false;
	e->leaf = level == 1 || (ps && (level == 2 || level == 3));
	if (level == 4 && ps)
		e->rsvd = true;
	if (level == 3 && ps && !r->c->gbpages)
		e->rsvd = true;
	if (level == 3 && ps && any_set(v, 29, 13))
		e->rsvd = true;
	if (level == 2 && ps && any_set(v, 20, 13))
		e->rsvd = true;
	e->size = 1ull << (12 + 9 * (level - 1));
	if (!e->leaf)
		e->size = 4096;
	e->next = (field(v, M(r) - 1, 12) << 12) & ~(e->size - 1);
}

static uint64_t rd(const struct ref *r, uint64_t gpa, unsigned int size,
		   bool *bad)
{
	uint64_t v = 0;

	if (gpa + size > MEM_SIZE) {
		*bad = true;
		return 0;
	}
	memcpy(&v, r->mem + gpa, size);
	return v;
}

/*
 * SDM 4.6.1, as its bullet list reads.  user = CPL 3 and not implicit.
 */
static bool ref_allowed(const struct gw_ctx *c, bool pg_u, bool pg_w,
			bool pg_x, unsigned int acc, bool paging_nx)
{
	bool user = (acc & GW_USER) && !(acc & GW_IMPLICIT);
	bool smap = c->cr4 & GW_CR4_SMAP, smep = c->cr4 & GW_CR4_SMEP;
	bool wp = c->cr0 & GW_CR0_WP;
	bool explicit_ac = !(acc & GW_IMPLICIT) && c->ac;

	if (user) {
		if (!pg_u)
			return false;
		if (acc & GW_WRITE)
			return pg_w;
		if (acc & GW_FETCH)
			return !paging_nx || pg_x;
		return true;
	}
	/* supervisor-mode access */
	if (acc & GW_FETCH) {
		if (pg_u && smep)
			return false;
		return !paging_nx || pg_x;
	}
	if (pg_u && smap && !explicit_ac)
		return false;
	if (acc & GW_WRITE)
		return !wp || pg_w;
	return true;
}

struct ref_out {
	enum gw_status st;
	uint32_t ec;
	uint64_t gpa, bad;
	int level;
};

static void ref_walk(const struct gw_ctx *c, uint8_t *mem, uint64_t la,
		     unsigned int acc, struct ref_out *o)
{
	struct ref r = { c, mem };
	bool pg = c->cr0 & GW_CR0_PG, pae = c->cr4 & GW_CR4_PAE;
	bool lm = c->efer & GW_EFER_LMA, bad = false;
	bool u = true, w = true, x = true;
	bool user = (acc & GW_USER) && !(acc & GW_IMPLICIT);
	uint64_t addrs[5];
	unsigned int width = pae ? 8 : 4, n = 0, i;
	uint32_t ec;
	int level;
	struct ref_entry e;
	uint64_t base;

	memset(o, 0, sizeof(*o));
	if (!pg) {
		o->gpa = la & 0xffffffff;
		return;
	}
	if (!lm)
		la &= 0xffffffff;
	ec = ((acc & GW_WRITE) ? PFERR_W : 0) | (user ? PFERR_U : 0);
	if ((acc & GW_FETCH) && ((c->cr4 & GW_CR4_SMEP) || (pae && nxe(&r))))
		ec |= PFERR_ID;

	if (!pae) {
		level = 2;
		base = field(c->cr3, 31, 12) << 12;
	} else if (!lm) {
		uint64_t v, a = (field(c->cr3, 31, 5) << 5) +
				8 * field(la, 31, 30);

		if (c->pdptes_loaded) {
			v = c->pdpte[field(la, 31, 30)];
		} else {
			v = rd(&r, a, 8, &bad);
			if (bad) {
				o->st = GW_MEM_ERROR;
				o->bad = a;
				return;
			}
		}
		dec_pdpte(&r, v, &e);
		if (!e.present || e.rsvd) {
			o->st = GW_FAULT;
			o->ec = ec | (e.present ? PFERR_P | PFERR_RSVD : 0);
			return;
		}
		level = 2;
		base = e.next;
	} else {
		level = 4;
		base = field(c->cr3, M(&r) - 1, 12) << 12;
	}
	for (;;) {
		unsigned int bits_per = pae ? 9 : 10;
		unsigned int lo = 12 + bits_per * (level - 1);
		uint64_t a = base + width * field(la, lo + bits_per - 1, lo);
		uint64_t v = rd(&r, a, width, &bad);

		if (bad) {
			o->st = GW_MEM_ERROR;
			o->bad = a;
			return;
		}
		addrs[n++] = a;
		if (pae)
			dec_64(&r, v, level, lm, &e);
		else
			dec_32(&r, v, level, &e);
		if (!e.present) {
			o->st = GW_FAULT;
			o->ec = ec;
			return;
		}
		if (e.rsvd) {
			o->st = GW_FAULT;
			o->ec = ec | PFERR_P | PFERR_RSVD;
			return;
		}
		u = u && e.us;
		w = w && e.rw;
		x = x && !e.xd;
		if (e.leaf)
			break;
		base = e.next;
		level--;
	}
	o->gpa = e.next | (la & (e.size - 1));
	o->level = level;
	if (!ref_allowed(c, u, w, x, acc, pae && nxe(&r))) {
		o->st = GW_FAULT;
		o->ec = ec | PFERR_P;
		return;
	}
	if (acc & GW_NO_AD)
		return;
	for (i = 0; i < n; i++) {
		uint64_t v = rd(&r, addrs[i], width, &bad);

		v |= 1ull << 5;
		if (i == n - 1 && (acc & GW_WRITE))
			v |= 1ull << 6;
		memcpy(mem + addrs[i], &v, width);
	}
}

/* ---- random tables ---- */

static uint64_t rand_entry(uint64_t *s)
{
	uint64_t v = rnd_below(s, PAGES) << 12;
	uint64_t roll = rnd_next(s);

	if (roll % 5)
		v |= 1;				/* present 4/5 */
	if ((roll >> 4) % 4)
		v |= 2;
	if ((roll >> 8) % 4)
		v |= 4;
	if ((roll >> 12) % 4 == 0)
		v |= 1ull << 7;			/* PS */
	if ((roll >> 16) % 4 == 0)
		v |= 1ull << 63;		/* XD */
	v |= rnd_next(s) & 0x60;		/* A, D */
	if ((roll >> 20) % 8 == 0)
		v |= 1ull << rnd_below(s, 64);	/* anything */
	if ((roll >> 24) % 32 == 0)
		v |= rnd_next(s) & 0x000ffffffffff000ull;
	return v;
}

static void fill(uint8_t *mem, uint64_t *s)
{
	size_t i;

	for (i = 0; i < MEM_SIZE / 8; i++) {
		uint64_t v = rand_entry(s);

		memcpy(mem + 8 * i, &v, 8);
	}
}

static const unsigned int maxphys[] = { 36, 39, 40, 46, 52 };

/* PAE: most PDPTEs made valid, else PAE walks rarely get past them. */
static void fix_pdptes(uint64_t *s, uint64_t cr3, uint8_t *a, uint8_t *b)
{
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t v, at = (cr3 & 0xfffe0) + 8 * i;

		if (rnd_below(s, 8) == 0)
			continue;
		memcpy(&v, a + at, 8);
		v &= 0x1f000ull | 1 | (3ull << 3);
		memcpy(a + at, &v, 8);
		memcpy(b + at, &v, 8);
	}
}

static void rand_ctx(struct gw_ctx *c, uint64_t *s, uint8_t *mem,
		     uint8_t *other)
{
	uint64_t roll = rnd_next(s);
	unsigned int mode = roll % 8;
	int i;

	memset(c, 0, sizeof(*c));
	c->cr0 = mode ? GW_CR0_PG : 0;
	if (mode >= 3)
		c->cr4 |= GW_CR4_PAE;
	if (mode >= 5)
		c->efer |= GW_EFER_LMA;
	c->cr0 |= ((roll >> 3) & 1) ? GW_CR0_WP : 0;
	c->cr4 |= ((roll >> 4) & 1) ? GW_CR4_PSE : 0;
	c->cr4 |= ((roll >> 5) & 3) == 0 ? GW_CR4_SMEP : 0;
	c->cr4 |= ((roll >> 7) & 3) == 0 ? GW_CR4_SMAP : 0;
	c->efer |= ((roll >> 9) & 1) ? GW_EFER_NXE : 0;
	c->ac = (roll >> 10) & 1;
	c->gbpages = (roll >> 11) & 1;
	c->maxphyaddr = maxphys[(roll >> 12) % 5];
	c->cr3 = rnd_below(s, PAGES) << 12;
	if (mode >= 3 && mode < 5) {
		c->cr3 |= rnd_below(s, 128) << 5;
		c->pdptes_loaded = (roll >> 20) & 1;
		if (rnd_below(s, 4))
			fix_pdptes(s, c->cr3, mem, other);
		for (i = 0; i < 4; i++)
			memcpy(&c->pdpte[i],
			       mem + (c->cr3 & 0xfffe0) + 8 * i, 8);
	}
	c->mem = &gmem_ops;
}

static unsigned int rand_access(uint64_t *s)
{
	static const unsigned int kinds[] = {
		0, GW_WRITE, GW_FETCH, GW_USER, GW_USER | GW_WRITE,
		GW_USER | GW_FETCH, GW_IMPLICIT, GW_IMPLICIT | GW_WRITE,
		GW_IMPLICIT | GW_USER, GW_WRITE | GW_NO_AD,
	};

	return kinds[rnd_below(s, sizeof(kinds) / sizeof(kinds[0]))];
}

int main(void)
{
	uint64_t seed = test_seed(20261122), s = seed;
	uint8_t *a = malloc(MEM_SIZE), *b = malloc(MEM_SIZE);
	struct gmem ga = { a, MEM_SIZE };
	struct check_group g;
	unsigned long outcome[4][3] = { { 0 } }, rsvd = 0, prot = 0, np = 0;
	unsigned int set, k;

	group_init(&g, "walker agrees with the reference on random tables");
	for (set = 0; set < SETS; set++) {
		fill(a, &s);
		memcpy(b, a, MEM_SIZE);
		for (k = 0; k < WALKS_PER_SET; k++) {
			struct gw_ctx c;
			struct gw_result res;
			struct ref_out ro;
			unsigned int acc = rand_access(&s);
			uint64_t va = rnd_next(&s) & 0x0000ffffffffffffull;
			enum gw_status st;
			bool ok;

			rand_ctx(&c, &s, a, b);
			c.mem_arg = &ga;
			st = gw_walk(&c, va, acc, &res);
			ref_walk(&c, b, va, acc, &ro);
			ok = st == ro.st;
			if (ok && st == GW_FAULT)
				ok = res.error_code == ro.ec;
			if (ok && st == GW_OK)
				ok = res.gpa == ro.gpa && res.level == ro.level;
			if (ok && st == GW_MEM_ERROR)
				ok = res.bad_gpa == ro.bad;
			ok = ok && !memcmp(a, b, MEM_SIZE);
			group_expect(&g, ok, "set %u walk %u mode %d va %#llx "
				     "acc %#x: st %d/%d ec %#x/%#x gpa "
				     "%#llx/%#llx", set, k, gw_mode(&c),
				     (unsigned long long)va, acc, st, ro.st,
				     res.error_code, ro.ec,
				     (unsigned long long)res.gpa,
				     (unsigned long long)ro.gpa);
			if (!ok)
				memcpy(a, b, MEM_SIZE);
			outcome[gw_mode(&c)][st]++;
			if (st == GW_FAULT) {
				rsvd += !!(res.error_code & PFERR_RSVD);
				np += !(res.error_code & PFERR_P);
				prot += (res.error_code &
					 (PFERR_P | PFERR_RSVD)) == PFERR_P;
			}
		}
	}
	group_report(&g);
	printf("outcomes ok/fault/memerr: off %lu/%lu/%lu 32 %lu/%lu/%lu "
	       "pae %lu/%lu/%lu lm %lu/%lu/%lu; faults: %lu not present, "
	       "%lu reserved, %lu protection\n",
	       outcome[0][0], outcome[0][1], outcome[0][2], outcome[1][0],
	       outcome[1][1], outcome[1][2], outcome[2][0], outcome[2][1],
	       outcome[2][2], outcome[3][0], outcome[3][1], outcome[3][2],
	       np, rsvd, prot);
	check(outcome[1][0] > 1000 && outcome[2][0] > 1000 &&
	      outcome[3][0] > 1000 && rsvd > 1000 && prot > 1000 && np > 1000,
	      "random tables reach every mode and fault kind", "see counts");
	free(a);
	free(b);
	return check_finish();
}
