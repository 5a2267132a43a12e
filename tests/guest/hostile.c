// SPDX-License-Identifier: BSD-2-Clause
/*
 * hostile: a guest that abuses its page tables, in 4-level paging (SDM
 * Vol 3 4.5, APM Vol 2 5.3), built with the paging kit (lib/pg.h):
 *
 *  1. a page directory that maps itself (PD[511] -> PD): page tables read
 *     and rewritten through the recursive mapping, and reserved bits (an
 *     address bit above MAXPHYADDR, PS with a misaligned frame) in the
 *     self entry and in an entry that the recursion uses at two levels;
 *     tables full of pseudo-random garbage;
 *  2. a cycle of two tables (PML4[509] -> X, X[0] -> PML4): the PML4 read
 *     and rewritten as a data page through it; PS in the cycle (RSVD);
 *  3. leaves pointing at umbra's reserved range (under umbra), at the
 *     local APIC and beyond RAM: no umbra data, writes do not stick, the
 *     APIC reads as it does with paging off, absent memory reads as a
 *     constant (ones on hardware, zero on QEMU) that writes do not change;
 *  4. PTE stores racing INVLPG on one vCPU: after each INVLPG the new
 *     translation, also with a reserved-bit PTE in between (#PF RSVD);
 *  5. millions of PTE and PDE writes (flood detection, the shadow pool);
 *  6. hundreds of address spaces, each with its own tables, cycled through
 *     CR3 (shadow pool exhaustion and LRU reclaim);
 *  7. a page table that maps itself writable, rewritten through that
 *     mapping while it translates, including its own self entry;
 *  8. under umbra, a page table and a whole PML4 (CR3) inside umbra's
 *     range, where every page is one scratch page: they translate, and
 *     rewrites through either alias are seen after INVLPG.
 * Loop counts are smaller on Bochs (no "QEMU Virtual CPU" brand), which
 * runs about 100 times slower; info lines give the counts.  At the end
 * umbra must still answer CPUID and faults must still be exact.
 */
#include "pg.h"

const char test_name[] = "hostile";

#define PAGE		4096u
#define RW		(PTE_P | PTE_W)
#define RWAD		(PTE_P | PTE_W | PTE_A | PTE_D)
#define ALL_ONES	0xffffffffu
#define LAPIC_BASE	0xfee00000u
#define LAPIC_ID	0x20u
#define LAPIC_VER	0x30u

/* hostile64.asm; keep the layouts in step with it. */
struct hx_loop {
	uint64_t addr, val[2], va, off, want[2], n, mask, warm, xchg;
	uint64_t bad_i, bad_got, shift;
};

struct hx_cr3 {
	uint64_t roots, want, n, rounds, va, off, home;
	uint64_t bad_i, bad_got;
};

struct hx_scan {
	uint64_t va, len, pat, at;
};

void hx_loop(void);
void hx_cr3(void);
void hx_scan(void);
void hx_mark(void);
void hx_kept(void);

static struct pg_ops ops;
static struct pg_as as;
static int bochs;		/* the Bochs CPU models: slower, fewer loops */

static uint64_t canon(uint64_t va)
{
	return va & (1ull << 47) ? va | 0xffff000000000000ull : va;
}

static void start(void)
{
	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
}

static void run(void)
{
	struct pg_cfg pc;

	pg_cfg_init(&pc, &as, CR0_WP, 0, pg_cpu.nx ? EFER_NXE : 0);
	pg_run(&pc, &ops);
}

static struct pg_op *op(uint32_t kind, uint32_t flags, uint64_t addr,
			uint64_t val)
{
	return pg_add(&ops, kind, flags, addr, val, 0);
}

static struct pg_op *exec(void (*fn)(void), const void *arg)
{
	return pg_add(&ops, OP_EXEC, 0, (uint32_t)fn, (uint32_t)arg, 0);
}

static volatile uint64_t *table(uint32_t pa)
{
	return (volatile uint64_t *)(pa & ~(PAGE - 1));
}

static int want_val(const struct pg_op *o, uint32_t want, const char *name)
{
	return check(pg_ok(o) && (uint32_t)o->out == want, name,
		     "want %#x, got %s", want, pg_outcome(o));
}

static int want_frame(const struct pg_op *o, uint32_t frame,
		      const char *name)
{
	return check(pg_ok(o) && ((uint32_t)o->out & ~(PAGE - 1)) == frame,
		     name, "want an entry with frame %#x, got %s", frame,
		     pg_outcome(o));
}

static int want_pf(const struct pg_op *o, uint32_t err, uint64_t cr2,
		   const char *name)
{
	return check(pg_faulted(o, VEC_PF, err, cr2), name,
		     "want #PF error %#x cr2 %#llx, got %s", err, cr2,
		     pg_outcome(o));
}

static int want_rsvd(const struct pg_op *o, uint32_t err, uint64_t cr2,
		     const char *name)
{
	return check(pg_rsvd_err_ok(o, err) && o->cr2 == cr2, name,
		     "want #PF error %#x cr2 %#llx, got %s", err, cr2,
		     pg_outcome(o));
}

/* An address bit above MAXPHYADDR: reserved in every present entry. */
static uint64_t rsvd_bit(void)
{
	return pg_cpu.maxphys < 52 ? 1ull << pg_cpu.maxphys : 0;
}

/* --- 1. a self-mapping page directory --------------------------------- */

static void self_pd(void)
{
	uint32_t f1, f2, pd, pt2;
	uint64_t v, rec, rb = rsvd_bit();
	struct pg_op *o[12];
	int n;

	start();
	f1 = pg_frame();
	f2 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	pg_map(&as, v + PAGE, f2, 1, RW, NULL);
	pd = pg_entry_addr(&as, v, 2) & ~(PAGE - 1);
	/*
	 * PD[511] -> PD: the 2 MiB at rec show the page tables, page j the
	 * table PD[j] points to; page 511 the PD itself.
	 */
	table(pd)[511] = pd | RW;
	rec = v + (511ull << 21);
	pt2 = (uint32_t)pg_page();

	o[0] = op(OP_READ, 0, rec, 0);
	o[1] = op(OP_READ, 0, rec + 511 * PAGE + 511 * 8, 0);
	op(OP_STORE, PG_Q, rec, f2 | RWAD);
	op(OP_INVLPG, 0, v, 0);
	o[2] = op(OP_READ, 0, v + FRAME_ID, 0);
	op(OP_STORE, PG_Q, rec + 8, f1 | RWAD);
	op(OP_INVLPG, 0, v + PAGE, 0);
	o[3] = op(OP_READ, 0, v + PAGE + FRAME_ID, 0);
	n = 4;
	if (rb) {
		/* the self entry with an address bit above MAXPHYADDR */
		op(OP_STORE, PG_Q, pd + 511 * 8, pd | RW | rb);
		op(OP_CR3, 0, 0, as.root);
		o[4] = op(OP_READ, 0, rec + 2 * PAGE, 0);
		o[5] = op(OP_WRITE, 0, rec + 8, 0);
		o[6] = op(OP_READ, 0, v + FRAME_ID, 0);
		/* PD[1] with it: bad as PDE for v + 2M, as PTE for rec + 4K */
		op(OP_STORE, PG_Q, pd + 511 * 8, pd | RW);
		op(OP_STORE, PG_Q, pd + 8, pt2 | RW | rb);
		op(OP_CR3, 0, 0, as.root);
		o[7] = op(OP_READ, 0, v + (1ull << 21), 0);
		o[8] = op(OP_READ, 0, rec + PAGE, 0);
		o[9] = op(OP_READ, 0, rec, 0);
		n = 10;
	}
	/* PS in the self entry: a 2 MiB page; PD's bits 20:13 are reserved */
	op(OP_STORE, PG_Q, pd + 8, 0);
	op(OP_STORE, PG_Q, pd + 511 * 8, pd | RW | PTE_PS);
	op(OP_CR3, 0, 0, as.root);
	o[10] = op(OP_READ, 0, rec + (pd & 0x1fffffu) + 511 * 8, 0);
	op(OP_STORE, PG_Q, pd + 511 * 8, pd | RW);
	op(OP_CR3, 0, 0, as.root);
	o[11] = op(OP_READ, 0, rec, 0);
	run();

	info("self pd: pd %#x, its tables at %#llx", pd, rec);
	check(pg_ok(o[0]) && ((uint32_t)o[0]->out & ~(PAGE - 1)) == f1 &&
	      (o[0]->out & PTE_A), "self pd: reads the pte of a mapped page "
	      "through the recursion", "want frame %#x with A, got %s", f1,
	      pg_outcome(o[0]));
	want_frame(o[1], pd, "self pd: reads the self entry through itself");
	want_val(o[2], pg_frame_id(f2), "self pd: a pte written through the "
		 "recursion is used after invlpg");
	want_val(o[3], pg_frame_id(f1), "self pd: a second pte written "
		 "through the recursion");
	if (n > 4) {
		want_rsvd(o[4], PF_P | PF_RSVD, rec + 2 * PAGE,
			  "self pd: reserved address bit in the self entry: "
			  "read gives #PF rsvd");
		want_rsvd(o[5], PF_P | PF_RSVD | PF_W, rec + 8,
			  "self pd: reserved address bit in the self entry: "
			  "write gives #PF rsvd");
		want_val(o[6], pg_frame_id(f2), "self pd: a bad self entry "
			 "does not disturb other translations");
		want_rsvd(o[7], PF_P | PF_RSVD, v + (1ull << 21),
			  "self pd: reserved bit in a pde used as pde: #PF "
			  "rsvd");
		want_rsvd(o[8], PF_P | PF_RSVD, rec + PAGE,
			  "self pd: the same pde used as pte through the "
			  "recursion: #PF rsvd");
		want_frame(o[9], f2, "self pd: the recursion works again "
			   "after the reserved bit is gone");
	} else {
		skip("self pd: reserved address bits", "MAXPHYADDR is 52");
	}
	if (pd & 0x1fe000u)
		want_rsvd(o[10], PF_P | PF_RSVD,
			  rec + (pd & 0x1fffffu) + 511 * 8,
			  "self pd: ps in the self entry with a misaligned "
			  "frame: #PF rsvd");
	else
		want_frame(o[10], pd, "self pd: ps in the self entry maps "
			   "the 2 MiB block of the pd");
	want_frame(o[11], f2, "self pd: the recursion restored");
	check(table(pd)[0] != 0 && (table(pd)[511] & ~0xfffull) == pd &&
	      (table(pg_entry_addr(&as, v, 1))[0] & ~0xfffull) == f2,
	      "self pd: the tables hold what was written through the "
	      "recursion", "pte %#llx", table(pg_entry_addr(&as, v, 1))[0]);
}

/*
 * Garbage: a page table and a page directory full of pseudo-random
 * entries, each with P and an address bit above MAXPHYADDR (whatever
 * else is set, even PS or XD, SDM 4.7: RSVD), and one PT all ones.
 */
static uint32_t lcg_state = 0x2545f491u;

static uint64_t lcg64(void)
{
	uint64_t v;

	lcg_state = lcg_state * 1664525u + 1013904223u;
	v = (uint64_t)lcg_state << 32;
	lcg_state = lcg_state * 1664525u + 1013904223u;
	return v | lcg_state;
}

static void garbage(void)
{
	uint64_t rb = rsvd_bit(), v1, v2, v3, a;
	uint32_t pt1, pd2, pt3;
	struct pg_op *o[48];
	int i, bad = -1;

	if (!rb) {
		skip("garbage: tables of random entries", "MAXPHYADDR is 52");
		return;
	}
	start();
	v1 = pg_fresh_va(&as);
	v2 = pg_fresh_va(&as);
	v3 = pg_fresh_va(&as);
	pg_map(&as, v1, pg_frame(), 1, RWAD, NULL);
	pg_map(&as, v2, pg_frame(), 2, RWAD, NULL);
	pg_map(&as, v3, pg_frame(), 1, RWAD, NULL);
	pt1 = pg_entry_addr(&as, v1, 1);
	pd2 = pg_entry_addr(&as, v2, 2);
	pt3 = pg_entry_addr(&as, v3, 1);
	for (i = 0; i < 512; i++) {
		table(pt1)[i] = lcg64() | PTE_P | rb;
		table(pd2)[i] = lcg64() | PTE_P | rb;
		table(pt3)[i] = ~0ull;
	}
	for (i = 0; i < 48; i++) {
		uint64_t base = i % 3 == 0 ? v1 : i % 3 == 1 ? v2 : v3;
		uint64_t step = i % 3 == 1 ? 1ull << 21 : PAGE;

		a = base + (lcg64() % 512) * step + (lcg64() & 0xffc);
		o[i] = op(i & 4 ? OP_WRITE : OP_READ, 0, a, 0);
	}
	run();
	for (i = 0; i < 48 && bad < 0; i++)
		if (!pg_rsvd_err_ok(o[i], PF_P | PF_RSVD |
				    (o[i]->kind == OP_WRITE ? PF_W : 0)) ||
		    o[i]->cr2 != o[i]->addr)
			bad = i;
	check(bad < 0, "garbage: random entries with a reserved bit in a pt "
	      "and a pd, and a pt of all ones: #PF rsvd with the address",
	      "access %d at %#llx: %s", bad, bad < 0 ? 0 : o[bad]->addr,
	      bad < 0 ? "" : pg_outcome(o[bad]));
}

/* --- 2. a cycle of two tables: PML4[509] -> X, X[0] -> PML4 ------------ */

static void cycle(void)
{
	uint32_t x, f3;
	uint64_t va, vy, ey;
	struct pg_op *o[8];

	start();
	f3 = pg_frame();
	vy = canon(508ull << 39);
	pg_map(&as, vy, f3, 1, RWAD, NULL);
	ey = table(as.root)[508];
	table(as.root)[508] = 0;
	x = (uint32_t)pg_page();
	table(as.root)[509] = x | RW;
	table(x)[0] = as.root | RW;
	/*
	 * va walks PML4[509] = X as PDPT, X[0] = PML4 as PD, PML4[509] = X
	 * as PT, X[0] = the PML4 as the data page.
	 */
	va = canon((509ull << 39) | (509ull << 21));

	o[0] = op(OP_READ, 0, va + 509 * 8, 0);
	o[1] = op(OP_READ, 0, va, 0);
	op(OP_STORE, PG_Q, va + 508 * 8, ey);
	o[2] = op(OP_READ, 0, vy + FRAME_ID, 0);
	op(OP_STORE, PG_Q, va + 508 * 8, 0);
	op(OP_INVLPG, 0, vy, 0);
	o[3] = op(OP_READ, 0, vy + FRAME_ID, 0);
	/* PS in X[0]: reserved (no 1G pages) or a misaligned 1G frame */
	op(OP_STORE, PG_Q, x, as.root | RW | PTE_PS);
	op(OP_CR3, 0, 0, as.root);
	o[4] = op(OP_READ, 0, va, 0);
	o[5] = op(OP_READ, 0, (uint32_t)pg_user_page, 0);
	op(OP_STORE, PG_Q, x, as.root | RW);
	op(OP_CR3, 0, 0, as.root);
	o[6] = op(OP_READ, 0, va + 509 * 8, 0);
	run();

	want_frame(o[0], x, "cycle: the pml4 read as data through a "
		   "two-table cycle");
	want_frame(o[1], (uint32_t)table(as.root)[0] & ~(PAGE - 1),
		   "cycle: reads the kernel's pml4e through it");
	want_val(o[2], pg_frame_id(f3), "cycle: a pml4e written through the "
		 "cycle is used");
	want_pf(o[3], 0, vy + FRAME_ID, "cycle: the pml4e cleared through "
		"the cycle: #PF not present after invlpg");
	want_rsvd(o[4], PF_P | PF_RSVD, va, "cycle: ps in the pdpte that "
		  "closes the cycle: #PF rsvd");
	check(pg_ok(o[5]), "cycle: other translations unaffected", "%s",
	      pg_outcome(o[5]));
	want_frame(o[6], x, "cycle: the cycle works again without ps");
}

/* --- 3. leaves at umbra's memory, the local APIC and absent memory ----- */

static const char marker[] = "UMBRA-CORE-IMAGE-MARKER";

static void umbra_range(void)
{
	static const char *const names[] = {
		"umbra range: no umbra data through guest ptes",
		"umbra range: writes through guest ptes do not stick",
		"umbra range: umbra runs after writes through guest ptes",
	};
	static struct hx_scan sc, kp;
	struct cpuid_regs r;
	uint64_t base, size, b2, v, a, len, pat = 0x6f6c6974736f68ull;
	struct pg_op *o[3];
	unsigned int i, pages;
	char sig[13];

	if (!under_umbra()) {
		for (i = 0; i < ARRAY_SIZE(names); i++)
			skip(names[i], "no hypervisor");
		return;
	}
	cpuid(0x40000001, &r);
	base = ((uint64_t)r.ebx << 32) | r.eax;
	size = ((uint64_t)r.edx << 32) | r.ecx;
	if (!size || size > (1ull << 30) - (2ull << 20)) {
		for (i = 0; i < ARRAY_SIZE(names); i++)
			skip(names[i], "no range below 1 GiB of size");
		return;
	}
	/* 2 MiB leaves over the range, in a PML4 slot of their own */
	start();
	v = pg_fresh_va(&as);
	b2 = base & ~0x1fffffull;
	for (a = b2; a < base + size; a += 1ull << 21)
		pg_map(&as, v + (a - b2), a, 2, RWAD, NULL);
	len = size;
	if (bochs && len > (4ull << 20))
		len = 4ull << 20;
	sc = (struct hx_scan){ .va = v + (base - b2), .len = len };
	memcpy(&sc.pat, marker, 8);
	kp = (struct hx_scan){ .va = v + (base - b2), .len = len, .pat = pat };
	o[0] = exec(hx_scan, &sc);
	exec(hx_mark, &kp);
	o[1] = exec(hx_kept, &kp);
	/* and a 4 KiB leaf at umbra's last page, written with a lock */
	pg_map(&as, v + (1ull << 30), base + size - PAGE, 1, RWAD, NULL);
	o[2] = pg_add(&ops, OP_XCHG, PG_Q, v + (1ull << 30), pat, 0);
	run();

	pages = (unsigned int)(len >> 12);
	info("umbra range %#llx-%#llx, %u pages read and written through 2 "
	     "MiB guest leaves", base, base + size - 1, pages);
	check(pg_ok(o[0]) && o[0]->out == 0, names[0], "%s, at %#llx",
	      pg_outcome(o[0]), sc.at);
	check(pg_ok(o[1]) && pg_ok(o[2]) && o[1]->out <= 1, names[1],
	      "%s of %u pages kept the pattern; xchg %s", pg_outcome(o[1]),
	      pages, pg_outcome(o[2]));
	cpuid(0x40000000, &r);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	check(!strcmp(sig, "UMBRA-X86-HV"), names[2], "cpuid 0x40000000 "
	      "gives \"%s\"", sig);
}

static void mmio(void)
{
	uint32_t ver = *(volatile uint32_t *)(LAPIC_BASE + LAPIC_VER);
	uint32_t id = *(volatile uint32_t *)(LAPIC_BASE + LAPIC_ID);
	uint64_t v, hole = 1ull << (pg_cpu.maxphys - 1);
	struct pg_op *o[7];

	start();
	v = pg_fresh_va(&as);
	pg_map(&as, v, LAPIC_BASE, 1, RWAD | PTE_PCD | PTE_PWT, NULL);
	pg_map(&as, v + PAGE, hole, 1, RWAD | PTE_PCD | PTE_PWT, NULL);
	pg_map(&as, v + (2ull << 21), hole + (4ull << 20), 2,
	       RWAD | PTE_PCD | PTE_PWT, NULL);
	o[0] = op(OP_READ, 0, v + LAPIC_VER, 0);
	o[1] = op(OP_READ, 0, v + LAPIC_ID, 0);
	o[2] = op(OP_READ, 0, v + PAGE + 0x10, 0);
	op(OP_WRITE, 0, v + PAGE + 0x10, 0x12345678);
	o[3] = op(OP_READ, 0, v + PAGE + 0x10, 0);
	o[6] = op(OP_READ, 0, v + (2ull << 21) + 0x1234, 0);
	op(OP_WRITE, 0, v + (2ull << 21) + 0x1234, 0x9abcdef0);
	o[4] = op(OP_READ, 0, v + (2ull << 21) + 0x1234, 0);
	o[5] = op(OP_READ, 0, (uint32_t)pg_user_page, 0);
	run();

	/*
	 * Nothing answers there: real hardware reads all ones (a master
	 * abort), QEMU's unassigned memory reads zero.  Either way no write
	 * sticks.
	 */
	info("lapic version %#x id %#x with paging off; absent memory at "
	     "%#llx reads %s", ver, id, hole, pg_outcome(o[2]));
	want_val(o[0], ver, "mmio: the lapic version register through a "
		 "guest pte reads as with paging off");
	want_val(o[1], id, "mmio: the lapic id register through a guest pte");
	check(pg_ok(o[2]) && ((uint32_t)o[2]->out == ALL_ONES ||
			      (uint32_t)o[2]->out == 0), "absent memory: reads "
	      "all ones or zero through a 4 KiB pte", "%s", pg_outcome(o[2]));
	want_val(o[3], (uint32_t)o[2]->out, "absent memory: a write does not "
		 "stick");
	want_val(o[4], (uint32_t)o[6]->out, "absent memory: a write through a "
		 "2 MiB pte does not stick");
	check(pg_ok(o[5]), "mmio: the guest runs on", "%s",
	      pg_outcome(o[5]));
}

/*
 * Page tables inside umbra's range.  Under umbra every page there is the
 * one throw-away page (docs/mmu.md: SCRATCH), for the hardware walker of
 * nested paging and for umbra's own walks alike: a table there works like
 * any table whose frame the guest shares with all the range's pages.
 */
static int umbra_mem(uint64_t *base, uint64_t *size)
{
	struct cpuid_regs r;

	if (!under_umbra())
		return 0;
	cpuid(0x40000001, &r);
	*base = ((uint64_t)r.ebx << 32) | r.eax;
	*size = ((uint64_t)r.edx << 32) | r.ecx;
	return *size >= 8 * PAGE && *base + *size <= (1ull << 32);
}

static void umbra_tables(void)
{
	static const char *const names[] = {
		"umbra tables: a page table in umbra's range translates",
		"umbra tables: an entry written through a leaf at that table "
		"is used after invlpg",
		"umbra tables: an entry written through another page of the "
		"range is used after invlpg",
		"umbra tables: a reserved bit in an entry there: #PF rsvd",
		"umbra tables: cr3 in umbra's range translates",
	};
	volatile uint64_t *sp;
	struct pg_cfg pc;
	uint64_t base, size, t, v, vt, va;
	uint32_t f1, f2, f3;
	struct pg_op *o[5];
	unsigned int i;

	if (!umbra_mem(&base, &size)) {
		for (i = 0; i < ARRAY_SIZE(names); i++)
			skip(names[i], "no hypervisor");
		return;
	}
	start();
	f1 = pg_frame();
	f2 = pg_frame();
	f3 = pg_frame();
	v = pg_fresh_va(&as);
	vt = pg_fresh_va(&as);
	va = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	t = base + PAGE;
	pg_map(&as, vt, t, 1, RWAD, NULL);
	pg_map(&as, va, base + 5 * PAGE, 1, RWAD, NULL);
	/* paging is off here: t is written at its guest-physical address */
	sp = (volatile uint64_t *)(uint32_t)t;
	for (i = 0; i < 512; i++)
		sp[i] = 0;
	sp[0] = f1 | RWAD;
	pg_entry_set(&as, v, 2, t | RW);
	o[0] = op(OP_READ, 0, v + FRAME_ID, 0);
	op(OP_STORE, PG_Q, vt, f2 | RWAD);
	op(OP_INVLPG, 0, v, 0);
	o[1] = op(OP_READ, 0, v + FRAME_ID, 0);
	op(OP_STORE, PG_Q, va, f3 | RWAD);
	op(OP_INVLPG, 0, v, 0);
	o[2] = op(OP_READ, 0, v + FRAME_ID, 0);
	op(OP_STORE, PG_Q, vt + 8, f1 | RWAD | rsvd_bit());
	op(OP_INVLPG, 0, v + PAGE, 0);
	o[3] = op(OP_READ, 0, v + PAGE + FRAME_ID, 0);
	run();
	want_val(o[0], pg_frame_id(f1), names[0]);
	want_val(o[1], pg_frame_id(f2), names[1]);
	want_val(o[2], pg_frame_id(f3), names[2]);
	if (rsvd_bit())
		want_rsvd(o[3], PF_P | PF_RSVD, v + PAGE + FRAME_ID, names[3]);
	else
		skip(names[3], "MAXPHYADDR is 52");

	/* a copy of a whole PML4 there, loaded into CR3 */
	start();
	f1 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	sp = (volatile uint64_t *)(uint32_t)(base + 2 * PAGE);
	for (i = 0; i < 512; i++)
		sp[i] = table(as.root)[i];
	o[4] = op(OP_READ, 0, v + FRAME_ID, 0);
	pg_cfg_init(&pc, &as, CR0_WP, 0, pg_cpu.nx ? EFER_NXE : 0);
	pc.cr3 = (uint32_t)(base + 2 * PAGE);
	pg_run(&pc, &ops);
	want_val(o[4], pg_frame_id(f1), names[4]);
}

/* --- 4. PTE stores racing INVLPG ---------------------------------------- */

static void race(void)
{
	static struct hx_loop lp[2];
	uint32_t f1, f2, pte;
	uint64_t v, n = bochs ? 3000 : 25000, rb = rsvd_bit();
	struct pg_op *o[2], *r[2][40];
	int i, k, bad;

	start();
	f1 = pg_frame();
	f2 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	pte = pg_entry_addr(&as, v, 1);
	for (i = 0; i < 2; i++) {
		lp[i] = (struct hx_loop){
			.addr = pte, .val = { f2 | RWAD, f1 | RWAD },
			.va = v, .off = FRAME_ID,
			.want = { pg_frame_id(f2), pg_frame_id(f1) },
			.n = n, .mask = 0, .warm = 1, .xchg = i,
		};
		o[i] = exec(hx_loop, &lp[i]);
	}
	/* a reserved bit or not present between two good translations */
	for (k = 0; k < 40; k++) {
		uint64_t bad_pte = k & 1 ? (rb ? f1 | RWAD | rb : 0) : 0;

		op(OP_READ, 0, v + FRAME_ID, 0);
		op(OP_STORE, PG_Q, pte, bad_pte);
		op(OP_INVLPG, 0, v, 0);
		r[0][k] = op(OP_READ, 0, v + FRAME_DATA + 4 * k, 0);
		op(OP_STORE, PG_Q, pte, (k & 2 ? f2 : f1) | RWAD);
		op(OP_INVLPG, 0, v, 0);
		r[1][k] = op(OP_READ, 0, v + FRAME_ID, 0);
	}
	run();

	info("race: %llu stores each way, every one followed by invlpg and "
	     "a read", n);
	for (i = 0; i < 2; i++)
		check(pg_ok(o[i]) && o[i]->out == 0, i ? "race: xchg to a pte, "
		      "invlpg, read: the new frame every time" : "race: mov "
		      "to a pte, invlpg, read: the new frame every time",
		      "%s; first bad iteration %llu read %#llx",
		      pg_outcome(o[i]), lp[i].bad_i, lp[i].bad_got);
	for (bad = -1, k = 0; k < 40 && bad < 0; k++) {
		uint64_t cr2 = v + FRAME_DATA + 4 * k;
		int ok = (k & 1) && rb ?
			 pg_rsvd_err_ok(r[0][k], PF_P | PF_RSVD) &&
			 r[0][k]->cr2 == cr2 :
			 pg_faulted(r[0][k], VEC_PF, 0, cr2);

		if (!ok || !pg_ok(r[1][k]) || (uint32_t)r[1][k]->out !=
		    pg_frame_id(k & 2 ? f2 : f1))
			bad = k;
	}
	check(bad < 0, "race: not-present and reserved-bit ptes between good "
	      "ones: exact #PF, then the new frame", "round %d: %s, then %s",
	      bad, bad < 0 ? "" : pg_outcome(r[0][bad]),
	      bad < 0 ? "" : pg_outcome(r[1][bad]));
}

/* --- 5. millions of page-table writes ----------------------------------- */

static void flood(void)
{
	static struct hx_loop lp[2];
	uint32_t f1, f2, pta, ptb, pde;
	uint64_t v, n = bochs ? 1000000 : 2000000;
	struct pg_op *o[2], *after[3];
	int i;

	start();
	f1 = pg_frame();
	f2 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	pde = pg_entry_addr(&as, v, 2);
	pta = (uint32_t)table(pg_entry_addr(&as, v, 1));
	ptb = (uint32_t)pg_page();
	table(ptb)[0] = f2 | RWAD;
	/* the leaf: n writes, a check after every 4096, frames alternating */
	lp[0] = (struct hx_loop){
		.addr = pta, .val = { f2 | RWAD, f1 | RWAD }, .va = v,
		.off = FRAME_ID, .want = { pg_frame_id(f2), pg_frame_id(f1) },
		.n = n, .mask = 4095, .shift = 12,
	};
	/* a PDE switching between two page tables */
	lp[1] = (struct hx_loop){
		.addr = pde, .val = { ptb | RW, pta | RW }, .va = v,
		.off = FRAME_ID, .want = { pg_frame_id(f2), pg_frame_id(f1) },
		.n = n / 2, .mask = 4095, .shift = 12,
	};
	for (i = 0; i < 2; i++)
		o[i] = exec(hx_loop, &lp[i]);
	op(OP_STORE, PG_Q, pta, f2 | RWAD);
	op(OP_INVLPG, 0, v, 0);
	after[0] = op(OP_READ, 0, v + FRAME_ID, 0);
	op(OP_STORE, PG_Q, pta, 0);
	op(OP_INVLPG, 0, v, 0);
	after[1] = op(OP_WRITE, 0, v + FRAME_DATA, 0);
	op(OP_STORE, PG_Q, pde, ptb | RW);
	op(OP_INVLPG, 0, v, 0);
	after[2] = op(OP_READ, 0, v + FRAME_ID, 0);
	run();

	info("flood: %llu pte writes and %llu pde writes%s", lp[0].n, lp[1].n,
	     bochs ? " (fewer on Bochs: it is slower)" : "");
	check(pg_ok(o[0]) && o[0]->out == 0, "flood: a pte written millions "
	      "of times translates right at every check", "%s; first bad "
	      "iteration %llu read %#llx", pg_outcome(o[0]), lp[0].bad_i,
	      lp[0].bad_got);
	check(pg_ok(o[1]) && o[1]->out == 0, "flood: a pde written a million "
	      "times translates right at every check", "%s; first bad "
	      "iteration %llu read %#llx", pg_outcome(o[1]), lp[1].bad_i,
	      lp[1].bad_got);
	want_val(after[0], pg_frame_id(f2), "flood: the pte afterwards");
	want_pf(after[1], PF_W, v + FRAME_DATA, "flood: the pte cleared "
		"afterwards: #PF not present");
	want_val(after[2], pg_frame_id(f2), "flood: the pde afterwards");
}

/* --- 6. hundreds of address spaces --------------------------------------- */

#define NR_AS		600
#define AS_PAGES	4
#define AS_BYTES	(NR_AS * AS_PAGES * PAGE)

static uint64_t as_root[NR_AS], as_want[NR_AS];

/*
 * AS_BYTES of usable memory above this kernel and below 4 GiB that holds
 * nothing of the loader's (too much for the image: UEFI firmware leaves
 * only a few MiB free above 1 MiB).  0 if there is none.
 */
static uint32_t find_free(void)
{
	uint64_t lo = ((uint32_t)__kernel_end + PAGE - 1) & ~(PAGE - 1);
	int i;

	for (i = 0; i < boot.nr_mmap; i++) {
		const struct mmap_entry *e = &boot.mmap[i];
		uint64_t b = e->base > lo ? e->base : lo;
		uint64_t end = e->base + e->len;

		if (e->type != MB_MEM_USABLE)
			continue;
		if (end > (1ull << 32))
			end = 1ull << 32;
		for (b = (b + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		     b + AS_BYTES <= end; b += 1u << 20)
			if (!boot_is_excluded(b, b + AS_BYTES))
				return (uint32_t)b;
	}
	return 0;
}

static void many_as(void)
{
	static struct hx_cr3 c;
	uint64_t v = 1ull << 39;
	int i, rounds = bochs ? 2 : 4;
	struct pg_op *o[3];
	uint32_t mem = find_free();

	if (!mem) {
		skip("address spaces: hundreds of roots", "no free memory");
		return;
	}
	start();
	for (i = 0; i < NR_AS; i++) {
		uint32_t pml4 = mem + i * AS_PAGES * PAGE;
		uint32_t pdpt = pml4 + PAGE;
		uint32_t pd = pml4 + 2 * PAGE;
		uint32_t pt = pml4 + 3 * PAGE;

		memset((void *)pml4, 0, AS_PAGES * PAGE);
		table(pml4)[0] = table(as.root)[0];	/* the kernel */
		table(pml4)[1] = pdpt | RW;
		table(pdpt)[0] = pd | RW;
		table(pd)[0] = pt | RW;
		/* v -> this space's own PDPT; v + 4K -> its PT, read-only */
		table(pt)[0] = pdpt | PTE_P;
		table(pt)[1] = pt | PTE_P;
		as_root[i] = pml4;
		as_want[i] = pd | RW | PTE_A;	/* A: set by the walk */
	}
	c = (struct hx_cr3){
		.roots = (uint32_t)as_root, .want = (uint32_t)as_want,
		.n = NR_AS, .rounds = rounds, .va = v, .off = 0,
		.home = as.root,
	};
	o[0] = exec(hx_cr3, &c);
	/* the last space once more: its tables as data, and a write fault */
	op(OP_CR3, 0, 0, as_root[NR_AS - 1]);
	o[1] = op(OP_READ, 0, v + PAGE + 8, 0);
	o[2] = op(OP_WRITE, 0, v + PAGE, 0);
	op(OP_CR3, 0, 0, as.root);
	run();

	info("address spaces: %d roots, %d rounds, tables at %#x", NR_AS,
	     rounds, mem);
	check(pg_ok(o[0]) && o[0]->out == 0, "address spaces: each of "
	      "hundreds of roots translates through its own tables", "%s; "
	      "first bad: space %llu read %#llx", pg_outcome(o[0]), c.bad_i,
	      c.bad_got);
	want_frame(o[1], mem + ((NR_AS - 1) * AS_PAGES + 3) * PAGE,
		   "address spaces: the last space's pt maps itself");
	want_pf(o[2], PF_P | PF_W, v + PAGE, "address spaces: a write to a "
		"read-only page of the last space: #PF");
}

/* --- 7. a page table that maps itself writable -------------------------- */

static void self_pt(void)
{
	static struct hx_loop lp[2];
	uint32_t f1, f2, f3, pt;
	uint64_t v, vs, n = bochs ? 3000 : 25000;
	struct pg_op *o[2], *r[5];
	int i;

	start();
	f1 = pg_frame();
	f2 = pg_frame();
	f3 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, RWAD, NULL);
	pt = (uint32_t)table(pg_entry_addr(&as, v, 1));
	vs = v + 511 * PAGE;		/* PT[511] -> the PT */
	table(pt)[511] = pt | RW;	/* A and D: the CPU's */
	for (i = 0; i < 2; i++) {
		lp[i] = (struct hx_loop){
			.addr = vs, .val = { f2 | RWAD, f1 | RWAD }, .va = v,
			.off = FRAME_ID,
			.want = { pg_frame_id(f2), pg_frame_id(f1) },
			.n = n, .mask = 0, .warm = 1, .xchg = i,
		};
		o[i] = exec(hx_loop, &lp[i]);
	}
	r[0] = op(OP_READ, 0, vs + 511 * 8, 0);
	/* a second entry through the mapping, then the self entry itself */
	op(OP_STORE, PG_Q, vs + 8, f3 | RWAD);
	r[1] = op(OP_READ, 0, v + PAGE + FRAME_ID, 0);
	op(OP_STORE, PG_Q, vs + 511 * 8, f3 | RWAD);
	op(OP_INVLPG, 0, vs, 0);
	r[2] = op(OP_READ, 0, vs + FRAME_ID, 0);
	r[3] = op(OP_READ, 0, v + FRAME_ID, 0);
	/* the self entry with a reserved bit, made through the identity */
	if (rsvd_bit())
		op(OP_STORE, PG_Q, pt + 511 * 8, pt | RWAD | rsvd_bit());
	else
		op(OP_STORE, PG_Q, pt + 511 * 8, 0);
	op(OP_INVLPG, 0, vs, 0);
	r[4] = op(OP_WRITE, 0, vs + 8, 0);
	run();

	for (i = 0; i < 2; i++)
		check(pg_ok(o[i]) && o[i]->out == 0,
		      i ? "self pt: xchg through the pt's own mapping, invlpg: "
			  "the new frame every time" :
			  "self pt: mov through the pt's own mapping, invlpg: "
			  "the new frame every time",
		      "%s; first bad iteration %llu read %#llx",
		      pg_outcome(o[i]), lp[i].bad_i, lp[i].bad_got);
	check(pg_ok(r[0]) && ((uint32_t)r[0]->out & ~(PAGE - 1)) == pt &&
	      (r[0]->out & PTE_A) && (r[0]->out & PTE_D), "self pt: the self "
	      "entry reads back accessed and dirty",
	      "%s", pg_outcome(r[0]));
	want_val(r[1], pg_frame_id(f3), "self pt: a new entry written through "
		 "the mapping is used (no flush needed)");
	want_val(r[2], pg_frame_id(f3), "self pt: the self entry rewritten "
		 "through itself moves its own mapping");
	want_val(r[3], pg_frame_id(f1), "self pt: the other entries are kept");
	if (rsvd_bit())
		want_rsvd(r[4], PF_P | PF_RSVD | PF_W, vs + 8,
			  "self pt: reserved bit in the self entry: #PF rsvd");
	else
		want_pf(r[4], PF_W, vs + 8, "self pt: self entry cleared: "
			"#PF not present");
}

/* --- afterwards --------------------------------------------------------- */

static void still_exact(void)
{
	uint32_t f1;
	uint64_t v;
	struct pg_op *o[3];

	start();
	f1 = pg_frame();
	v = pg_fresh_va(&as);
	pg_map(&as, v, f1, 1, PTE_P | PTE_A, NULL);
	o[0] = op(OP_READ, 0, v + FRAME_ID, 0);
	o[1] = op(OP_WRITE, 0, v + FRAME_DATA, 0);
	o[2] = op(OP_READ, PG_USER, v + FRAME_ID, 0);
	run();
	want_val(o[0], pg_frame_id(f1), "afterwards: a read translates");
	want_pf(o[1], PF_P | PF_W, v + FRAME_DATA, "afterwards: a write to a "
		"read-only page gives the exact #PF");
	want_pf(o[2], PF_P | PF_U, v + FRAME_ID, "afterwards: a cpl-3 read "
		"of a supervisor page gives the exact #PF");
}

void test_main(void)
{
	pg_init();
	if (!check(pg_cpu.lm, "cpu has long mode",
		   "cpuid 0x80000001:edx bit 29 clear"))
		return;
	bochs = !pg_cpu.qemu;
	self_pd();
	garbage();
	cycle();
	umbra_range();
	mmio();
	race();
	flood();
	many_as();
	self_pt();
	umbra_tables();
	still_exact();
}
