// SPDX-License-Identifier: BSD-2-Clause
/*
 * pkeys: protection keys (SDM Vol 3 4.6.2 and 4.7; APM Vol 2 5.6.7), in
 * 4-level paging with the paging kit (lib/pg.h).
 *
 * PKU (CR4.PKE, PKRU): a user page with key 5 is read and written at CPL
 * 3 and CPL 0 with PKRU's AD5 and WD5 set and clear: a denied data access
 * is a #PF with PK in its error code (P, W and U as usual), a fetch is
 * never denied, key 0's page and a supervisor page with key 5 are not
 * PKRU's business; WD5 stops a supervisor write only with CR0.WP set.
 * Both orders matter under shadow paging: a page first touched while its
 * key denies the access has no shadow entry (umbra's own walk must give
 * the PK fault), one touched with the rights first has an entry the CPU
 * checks itself (it must carry the guest's key, and umbra must reflect
 * the fault).  A key changed in the guest PTE (with INVLPG) is used, in a
 * 4 KiB PTE and in a 2 MiB PDE.  PAE paging with CR4.PKE and every key's
 * AD in PKRU: no key applies there.
 *
 * PKS (CR4.PKS, IA32_PKRS, MSR 6E1h): a supervisor page with key 5 with
 * AD5 and WD5 of IA32_PKRS, the same two orders, WD5 with CR0.WP clear,
 * and a user page with key 5 untouched by IA32_PKRS.
 *
 * Each group is skipped with the reason where CPUID lacks its feature.
 * Under Bochs (emu=bochs from the runner) the checks of PKRU on
 * supervisor accesses to user pages are skipped (BOCHS_SUP below).
 */
#include "pg.h"

const char test_name[] = "pkeys";

#define CR4_PKE		(1u << 22)
#define CR4_PKS		(1u << 24)
#define MSR_PKRS	0x6e1
#define KEY		5ull
#define KEY2		6ull
#define KEY_LARGE	7ull
#define PKEY(k)		((k) << 59)
#define AD(k)		(1u << (2 * (k)))
#define WD(k)		(2u << (2 * (k)))
#define RWAD		(PTE_P | PTE_W | PTE_A | PTE_D)
#define URWAD		(RWAD | PTE_U)

static uint64_t nxe(void)
{
	return pg_cpu.nx ? EFER_NXE : 0;
}

static int cpuid7_ecx(int bit)
{
	struct cpuid_regs r;

	cpuid(0, &r);
	if (r.eax < 7)
		return 0;
	cpuid_count(7, 0, &r);
	return (r.ecx >> bit) & 1;
}

/* A 4 KiB page of its own for a fresh frame, leaf flags f. */
static uint64_t map_page(struct pg_as *as, uint32_t *frame, uint64_t f)
{
	uint64_t va = pg_fresh_va(as);

	*frame = pg_frame();
	pg_map(as, va, *frame, 1, f, NULL);
	return va;
}

/* The op read frame's id. */
static int read_ok(const struct pg_op *o, uint32_t frame)
{
	return pg_ok(o) && (uint32_t)o->out == pg_frame_id(frame);
}

static void want_pf(const struct pg_op *o, uint32_t err, uint64_t cr2,
		    const char *name)
{
	check(pg_faulted(o, VEC_PF, err, cr2), name,
	      "want #PF error %#x cr2 %#llx, got %s", err, cr2,
	      pg_outcome(o));
}

static void want_ok(const struct pg_op *o, const char *name)
{
	check(pg_ok(o), name, "%s", pg_outcome(o));
}

/*
 * Bochs 2.7 (its tigerlake and icelake models have PKU) checks PKRU for
 * CPL-3 accesses only, where the SDM (4.6.1, 4.6.2) has it checked for
 * supervisor data accesses to user pages too (QEMU does): the runner
 * says emu=bochs, and those checks are skipped there.
 */
static int bochs;
#define BOCHS_SUP	"Bochs 2.7 applies PKRU to CPL-3 accesses only"

static void want_sup_pf(const struct pg_op *o, uint32_t err, uint64_t cr2,
			const char *name)
{
	if (bochs)
		skip(name, BOCHS_SUP);
	else
		want_pf(o, err, cr2, name);
}

/* ---- PKU ---- */

static void pku_rights(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t fu, f0, fs;
	uint64_t vu, v0, vs;
	struct pg_op *o[20];

	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
	vu = map_page(&as, &fu, URWAD | PKEY(KEY));
	v0 = map_page(&as, &f0, URWAD);
	vs = map_page(&as, &fs, RWAD | PKEY(KEY));

	/* AD5 before any access: no shadow entry yet */
	pg_add(&ops, OP_WRPKRU, 0, 0, AD(KEY), 0);
	o[0] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	o[1] = pg_add(&ops, OP_WRITE, PG_USER, vu + FRAME_DATA, 1, 0);
	o[2] = pg_add(&ops, OP_READ, 0, vu + FRAME_ID, 0, 0);
	o[3] = pg_add(&ops, OP_WRITE, 0, vu + FRAME_DATA, 2, 0);
	o[4] = pg_add(&ops, OP_EXEC, PG_USER, vu + FRAME_CODE, 0, 0);
	o[5] = pg_add(&ops, OP_READ, PG_USER, v0 + FRAME_ID, 0, 0);
	o[6] = pg_add(&ops, OP_READ, 0, vs + FRAME_ID, 0, 0);
	o[7] = pg_add(&ops, OP_WRITE, 0, vs + FRAME_DATA, 3, 0);
	o[8] = pg_add(&ops, OP_RDPKRU, 0, 0, 0, 0);
	/* WD5: reads pass, writes do not (CR0.WP is set) */
	pg_add(&ops, OP_WRPKRU, 0, 0, WD(KEY), 0);
	o[9] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	o[10] = pg_add(&ops, OP_WRITE, PG_USER, vu + FRAME_DATA, 4, 0);
	o[11] = pg_add(&ops, OP_WRITE, 0, vu + FRAME_DATA, 5, 0);
	/* no rights taken: the writes pass, and the entries exist now */
	pg_add(&ops, OP_WRPKRU, 0, 0, 0, 0);
	o[12] = pg_add(&ops, OP_WRITE, PG_USER, vu + FRAME_DATA, 6, 0);
	o[13] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_DATA, 0, 0);
	/* AD5 again, on the entries just used: the CPU's own check */
	pg_add(&ops, OP_WRPKRU, 0, 0, AD(KEY), 0);
	o[14] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	o[15] = pg_add(&ops, OP_WRITE, 0, vu + FRAME_DATA, 7, 0);
	o[16] = pg_add(&ops, OP_READ, PG_USER, v0 + FRAME_ID, 0, 0);
	pg_add(&ops, OP_WRPKRU, 0, 0, WD(KEY), 0);
	o[17] = pg_add(&ops, OP_WRITE, PG_USER, vu + FRAME_DATA, 8, 0);
	o[18] = pg_add(&ops, OP_READ, 0, vu + FRAME_DATA, 0, 0);
	pg_add(&ops, OP_WRPKRU, 0, 0, 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, CR4_PKE, nxe());
	pg_run(&pc, &ops);

	want_pf(o[0], PF_P | PF_U | PF_PK, vu + FRAME_ID,
		"pku: ad: user read of a user page with that key: #PF with PK");
	want_pf(o[1], PF_P | PF_W | PF_U | PF_PK, vu + FRAME_DATA,
		"pku: ad: user write: #PF with PK");
	want_sup_pf(o[2], PF_P | PF_PK, vu + FRAME_ID,
		"pku: ad: supervisor read of the user page: #PF with PK");
	want_sup_pf(o[3], PF_P | PF_W | PF_PK, vu + FRAME_DATA,
		"pku: ad: supervisor write of the user page: #PF with PK");
	check(pg_ok(o[4]) && (uint32_t)o[4]->out == pg_frame_id(fu),
	      "pku: ad: user fetch from the page: keys do not apply",
	      "%s", pg_outcome(o[4]));
	check(read_ok(o[5], f0), "pku: ad: user read of a key-0 user page",
	      "%s", pg_outcome(o[5]));
	check(read_ok(o[6], fs),
	      "pku: ad: supervisor read of a supervisor page with that key",
	      "%s", pg_outcome(o[6]));
	want_ok(o[7], "pku: ad: supervisor write of that supervisor page");
	check(pg_ok(o[8]) && (uint32_t)o[8]->out == AD(KEY),
	      "pku: rdpkru reads what wrpkru wrote", "want %#x, got %s",
	      AD(KEY), pg_outcome(o[8]));
	check(read_ok(o[9], fu), "pku: wd: user read passes", "%s",
	      pg_outcome(o[9]));
	want_pf(o[10], PF_P | PF_W | PF_U | PF_PK, vu + FRAME_DATA,
		"pku: wd: user write: #PF with PK");
	want_pf(o[11], PF_P | PF_W | PF_PK, vu + FRAME_DATA,
		"pku: wd: supervisor write with cr0.wp: #PF with PK");
	want_ok(o[12], "pku: rights given: user write passes");
	check(pg_ok(o[13]) && (uint32_t)o[13]->out == 6,
	      "pku: rights given: user read sees the write", "%s",
	      pg_outcome(o[13]));
	want_pf(o[14], PF_P | PF_U | PF_PK, vu + FRAME_ID,
		"pku: ad after use: user read of the mapped page: #PF with PK");
	want_sup_pf(o[15], PF_P | PF_W | PF_PK, vu + FRAME_DATA,
		"pku: ad after use: supervisor write: #PF with PK");
	check(read_ok(o[16], f0), "pku: ad after use: key-0 page still read",
	      "%s", pg_outcome(o[16]));
	want_pf(o[17], PF_P | PF_W | PF_U | PF_PK, vu + FRAME_DATA,
		"pku: wd after use: user write: #PF with PK");
	if (bochs)
		skip("pku: wd after use: supervisor read passes, no denied write landed",
		     BOCHS_SUP);
	else
		check(pg_ok(o[18]) && (uint32_t)o[18]->out == 6,
		      "pku: wd after use: supervisor read passes, no denied write landed",
		      "%s", pg_outcome(o[18]));
}

/* WD5 with CR0.WP clear: a supervisor write to the user page passes. */
static void pku_wp0(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t fu;
	uint64_t vu;
	struct pg_op *o[3];

	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
	vu = map_page(&as, &fu, URWAD | PKEY(KEY));
	pg_add(&ops, OP_WRPKRU, 0, 0, WD(KEY), 0);
	o[0] = pg_add(&ops, OP_WRITE, 0, vu + FRAME_DATA, 9, 0);
	o[1] = pg_add(&ops, OP_WRITE, PG_USER, vu + FRAME_DATA, 10, 0);
	o[2] = pg_add(&ops, OP_READ, 0, vu + FRAME_DATA, 0, 0);
	pg_add(&ops, OP_WRPKRU, 0, 0, 0, 0);
	pg_cfg_init(&pc, &as, 0, CR4_PKE, nxe());
	pg_run(&pc, &ops);

	want_ok(o[0], "pku: wd, cr0.wp=0: supervisor write to the user page passes");
	want_pf(o[1], PF_P | PF_W | PF_U | PF_PK, vu + FRAME_DATA,
		"pku: wd, cr0.wp=0: user write still #PF with PK");
	check(pg_ok(o[2]) && (uint32_t)o[2]->out == 9,
	      "pku: wd, cr0.wp=0: the supervisor write landed", "%s",
	      pg_outcome(o[2]));
}

/*
 * The key of a guest entry changes: the new one is used after INVLPG
 * (a 4 KiB PTE, then a 2 MiB PDE, whose shadow is a direct page).
 */
static void pku_key_change(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t fu, fl;
	uint64_t vu, vl, va_l, pa_l;
	struct pg_op *o[8];

	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
	vu = map_page(&as, &fu, URWAD | PKEY(KEY));
	fl = pg_frame();
	va_l = pg_fresh_va(&as);
	pa_l = fl & ~(pg_level_size(&pg_mode_64, 2) - 1);
	pg_map(&as, va_l, pa_l, 2, URWAD | PKEY(KEY_LARGE), NULL);
	vl = va_l + (fl - pa_l);

	pg_add(&ops, OP_WRPKRU, 0, 0, AD(KEY2) | AD(KEY_LARGE), 0);
	o[0] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	o[1] = pg_add(&ops, OP_READ, PG_USER, vl + FRAME_ID, 0, 0);
	pg_add(&ops, OP_STORE, PG_Q, pg_entry_addr(&as, vu, 1),
	       fu | URWAD | PKEY(KEY2), 0);
	pg_add(&ops, OP_INVLPG, 0, vu, 0, 0);
	o[2] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	pg_add(&ops, OP_STORE, PG_Q, pg_entry_addr(&as, va_l, 2),
	       pa_l | URWAD | PTE_PS | PKEY(KEY), 0);
	pg_add(&ops, OP_INVLPG, 0, vl, 0, 0);
	o[3] = pg_add(&ops, OP_READ, PG_USER, vl + FRAME_ID, 0, 0);
	pg_add(&ops, OP_STORE, PG_Q, pg_entry_addr(&as, va_l, 2),
	       pa_l | URWAD | PTE_PS | PKEY(KEY_LARGE), 0);
	pg_add(&ops, OP_INVLPG, 0, vl, 0, 0);
	o[4] = pg_add(&ops, OP_READ, PG_USER, vl + FRAME_ID, 0, 0);
	pg_add(&ops, OP_WRPKRU, 0, 0, 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, CR4_PKE, nxe());
	pg_run(&pc, &ops);

	check(read_ok(o[0], fu), "pku: key change: read under key 5 passes",
	      "%s", pg_outcome(o[0]));
	want_pf(o[1], PF_P | PF_U | PF_PK, vl + FRAME_ID,
		"pku: key change: 2m page with a denied key: #PF with PK");
	want_pf(o[2], PF_P | PF_U | PF_PK, vu + FRAME_ID,
		"pku: key change: pte rewritten to a denied key: #PF with PK");
	check(read_ok(o[3], fl),
	      "pku: key change: 2m pde rewritten to an allowed key: read passes",
	      "%s", pg_outcome(o[3]));
	want_pf(o[4], PF_P | PF_U | PF_PK, vl + FRAME_ID,
		"pku: key change: 2m pde back to the denied key: #PF with PK");
}

/* PAE paging has no keys (SDM Vol 3 4.6.2): even with every AD set. */
static void pku_pae(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t fu;
	uint64_t vu;
	struct pg_op *o[3];

	pg_reset();
	pg_as_init(&as, &pg_mode_pae);
	pg_ops_init(&ops);
	vu = map_page(&as, &fu, URWAD);
	pg_add(&ops, OP_WRPKRU, 0, 0, 0x55555555u, 0);
	o[0] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	o[1] = pg_add(&ops, OP_WRITE, 0, vu + FRAME_DATA, 11, 0);
	o[2] = pg_add(&ops, OP_RDPKRU, 0, 0, 0, 0);
	pg_add(&ops, OP_WRPKRU, 0, 0, 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, CR4_PKE, nxe());
	pg_run(&pc, &ops);

	check(read_ok(o[0], fu),
	      "pku: pae paging, cr4.pke, pkru ad for every key: user read passes",
	      "%s", pg_outcome(o[0]));
	want_ok(o[1], "pku: pae paging: supervisor write passes");
	check(pg_ok(o[2]) && (uint32_t)o[2]->out == 0x55555555u,
	      "pku: pae paging: rdpkru reads the value", "%s",
	      pg_outcome(o[2]));
}

/* ---- PKS ---- */

static void pks_rights(void)
{
	static struct pg_ops ops;
	struct pg_as as;
	struct pg_cfg pc;
	uint32_t fs, fu, f0;
	uint64_t vs, vu, v0;
	struct pg_op *o[16];
	uint32_t cr0 = read_cr0() | CR0_PE | CR0_PG;

	pg_reset();
	pg_as_init(&as, &pg_mode_64);
	pg_ops_init(&ops);
	vs = map_page(&as, &fs, RWAD | PKEY(KEY));
	vu = map_page(&as, &fu, URWAD | PKEY(KEY));
	v0 = map_page(&as, &f0, RWAD);

	/* AD5 before any access */
	pg_add(&ops, OP_WRMSR, 0, MSR_PKRS, AD(KEY), 0);
	o[0] = pg_add(&ops, OP_READ, 0, vs + FRAME_ID, 0, 0);
	o[1] = pg_add(&ops, OP_WRITE, 0, vs + FRAME_DATA, 1, 0);
	o[2] = pg_add(&ops, OP_EXEC, 0, vs + FRAME_CODE, 0, 0);
	o[3] = pg_add(&ops, OP_READ, PG_USER, vu + FRAME_ID, 0, 0);
	o[4] = pg_add(&ops, OP_READ, 0, v0 + FRAME_ID, 0, 0);
	o[5] = pg_add(&ops, OP_RDMSR, 0, MSR_PKRS, 0, 0);
	/* WD5 */
	pg_add(&ops, OP_WRMSR, 0, MSR_PKRS, WD(KEY), 0);
	o[6] = pg_add(&ops, OP_READ, 0, vs + FRAME_ID, 0, 0);
	o[7] = pg_add(&ops, OP_WRITE, 0, vs + FRAME_DATA, 2, 0);
	/* rights given, then AD5 on the entry just used */
	pg_add(&ops, OP_WRMSR, 0, MSR_PKRS, 0, 0);
	o[8] = pg_add(&ops, OP_WRITE, 0, vs + FRAME_DATA, 3, 0);
	pg_add(&ops, OP_WRMSR, 0, MSR_PKRS, AD(KEY), 0);
	o[9] = pg_add(&ops, OP_READ, 0, vs + FRAME_DATA, 0, 0);
	pg_add(&ops, OP_WRMSR, 0, MSR_PKRS, WD(KEY), 0);
	o[10] = pg_add(&ops, OP_WRITE, 0, vs + FRAME_DATA, 4, 0);
	o[11] = pg_add(&ops, OP_READ, 0, vs + FRAME_DATA, 0, 0);
	/* WD5 with CR0.WP clear: the write passes */
	pg_add(&ops, OP_CR0, 0, 0, cr0 & ~CR0_WP, 0);
	o[12] = pg_add(&ops, OP_WRITE, 0, vs + FRAME_DATA, 5, 0);
	pg_add(&ops, OP_CR0, 0, 0, cr0 | CR0_WP, 0);
	o[13] = pg_add(&ops, OP_READ, 0, vs + FRAME_DATA, 0, 0);
	pg_add(&ops, OP_WRMSR, 0, MSR_PKRS, 0, 0);
	pg_cfg_init(&pc, &as, CR0_WP, CR4_PKS, nxe());
	pg_run(&pc, &ops);

	want_pf(o[0], PF_P | PF_PK, vs + FRAME_ID,
		"pks: ad: supervisor read of a supervisor page with that key: #PF with PK");
	want_pf(o[1], PF_P | PF_W | PF_PK, vs + FRAME_DATA,
		"pks: ad: supervisor write: #PF with PK");
	check(pg_ok(o[2]) && (uint32_t)o[2]->out == pg_frame_id(fs),
	      "pks: ad: supervisor fetch from the page: keys do not apply",
	      "%s", pg_outcome(o[2]));
	check(read_ok(o[3], fu),
	      "pks: ad: user read of a user page with that key", "%s",
	      pg_outcome(o[3]));
	check(read_ok(o[4], f0), "pks: ad: supervisor read of a key-0 page",
	      "%s", pg_outcome(o[4]));
	check(pg_ok(o[5]) && (uint32_t)o[5]->out == AD(KEY),
	      "pks: rdmsr of ia32_pkrs reads what wrmsr wrote",
	      "want %#x, got %s", AD(KEY), pg_outcome(o[5]));
	check(read_ok(o[6], fs), "pks: wd: supervisor read passes", "%s",
	      pg_outcome(o[6]));
	want_pf(o[7], PF_P | PF_W | PF_PK, vs + FRAME_DATA,
		"pks: wd: supervisor write with cr0.wp: #PF with PK");
	want_ok(o[8], "pks: rights given: supervisor write passes");
	want_pf(o[9], PF_P | PF_PK, vs + FRAME_DATA,
		"pks: ad after use: supervisor read of the mapped page: #PF with PK");
	want_pf(o[10], PF_P | PF_W | PF_PK, vs + FRAME_DATA,
		"pks: wd after use: supervisor write: #PF with PK");
	check(pg_ok(o[11]) && (uint32_t)o[11]->out == 3,
	      "pks: wd after use: read passes, no denied write landed", "%s",
	      pg_outcome(o[11]));
	want_ok(o[12], "pks: wd, cr0.wp=0: supervisor write passes");
	check(pg_ok(o[13]) && (uint32_t)o[13]->out == 5,
	      "pks: wd, cr0.wp=0: the write landed", "%s", pg_outcome(o[13]));
}

void test_main(void)
{
	pg_init();
	bochs = cmdline_has_word(boot.cmdline, "emu=bochs");
	if (!check(pg_cpu.lm, "cpu has long mode",
		   "cpuid 0x80000001:edx bit 29 clear"))
		return;
	if (cpuid7_ecx(3)) {
		pku_rights();
		pku_wp0();
		pku_key_change();
		pku_pae();
	} else {
		skip("pku", "no PKU in CPUID (leaf 7 ecx bit 3)");
	}
	if (cpuid7_ecx(31))
		pks_rights();
	else
		skip("pks", "no PKS in CPUID (leaf 7 ecx bit 31)");
}
