// SPDX-License-Identifier: BSD-2-Clause
/*
 * frames: a guest that touches far more distinct frames, through more page
 * tables and more aliases, than umbra's shadow MMU can shadow at once
 * (issue 20, finding 8: run with 2 GiB of RAM and mem=8M for umbra, where
 * the shadow MMU's budget is about 1300 pages).  PAE paging:
 *
 *   0-64 MiB    identity, 2 MiB pages: this kernel and the page tables;
 *   1-3 GiB     "distinct": up to 1024 page tables of 4 KiB PTEs, each
 *               frame of usable RAM above 64 MiB once, the first 256 Ki
 *               frames (1 GiB) by default (frames=N: N of them);
 *   3-4 GiB     "aliases": 64 page tables that all map the same 512
 *               frames, and the first of them linked 64 times more.
 *
 * 16 address spaces (16 PDPTs) map the distinct tables in a rotated order,
 * so that each sees every frame at its own address.  Checks, one line
 * each: every frame tagged through its 4 KiB PTE; every tag read back;
 * the alias frames through every alias; the frames through every address
 * space; PTEs rewritten (a permutation within each table, then INVLPG)
 * map the new frames; tags read back once more.  aliases=N and spaces=N
 * make it smaller (Bochs).
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "frames";

#define PAGE		4096u
#define MIB		0x100000u
#define TBL_BASE	(16 * MIB)	/* page tables, identity-mapped */
#define TBL_END		(64 * MIB)
#define DATA_BASE	(64 * MIB)
#define VA_DIST		0x40000000u
#define VA_ALIAS	0xc0000000u
#define NPT_MAX		1024		/* 2 GiB of 4 KiB pages */
#define NAS_MAX		16
#define NALIAS_MAX	64
#define MAX_RUNS	32

#define P		(1ull << 0)
#define RW		(1ull << 1)
#define PS		(1ull << 7)
#define ADDR		0x000ffffffffff000ull

struct run {
	uint32_t base, pages, first;	/* first: index of its first frame */
};

static struct run runs[MAX_RUNS];
static int nruns;
static uint32_t nframes, npt, nas, naliases;
static uint32_t tbl_next = TBL_BASE;
static uint32_t pdpt_page, pd_low;
static uint32_t pt[NPT_MAX], alias_pt[NALIAS_MAX];
static uint32_t pd_dist[NAS_MAX][2], pd_alias;

static uint32_t tag(uint32_t pa)
{
	return pa ^ 0x5ac3f00fu;
}

static uint32_t arg(const char *name, uint32_t def)
{
	const char *p = strstr(boot.cmdline, name);
	uint32_t v = 0;

	if (!p)
		return def;
	for (p += strlen(name); *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint32_t)(*p - '0');
	return v;
}

/* Usable RAM above 64 MiB and below 4 GiB, as runs of frames. */
static void find_frames(uint32_t want)
{
	int i;

	for (i = 0; i < boot.nr_mmap && nruns < MAX_RUNS; i++) {
		const struct mmap_entry *e = &boot.mmap[i];
		uint64_t b = e->base, x = e->base + e->len;

		if (e->type != MB_MEM_USABLE)
			continue;
		if (b < DATA_BASE)
			b = DATA_BASE;
		if (x > 0xfffff000ull)
			x = 0xfffff000ull;
		b = (b + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		x &= ~(uint64_t)(PAGE - 1);
		if (b >= x || boot_is_excluded(b, x))
			continue;
		runs[nruns].base = (uint32_t)b;
		runs[nruns].pages = (uint32_t)((x - b) / PAGE);
		runs[nruns].first = nframes;
		if (nframes + runs[nruns].pages > want)
			runs[nruns].pages = want - nframes;
		nframes += runs[nruns++].pages;
		if (nframes == want)
			break;
	}
}

static uint32_t frame_pa(uint32_t k)
{
	int i;

	for (i = nruns - 1; i > 0 && runs[i].first > k; i--)
		;
	return runs[i].base + (k - runs[i].first) * PAGE;
}

static uint32_t table(void)
{
	uint32_t t = tbl_next;

	tbl_next += PAGE;
	memset((void *)t, 0, PAGE);
	return t;
}

static void set(uint32_t t, unsigned int i, uint64_t v)
{
	((volatile uint64_t *)t)[i] = v;
}

static uint64_t get(uint32_t t, unsigned int i)
{
	return ((volatile uint64_t *)t)[i];
}

static void build(void)
{
	uint32_t k, i, as;

	pdpt_page = table();
	pd_low = table();
	for (i = 0; i < 32; i++)	/* 64 MiB in 2 MiB pages */
		set(pd_low, i, (uint64_t)i * 2 * MIB | P | RW | PS);
	for (k = 0; k < npt; k++) {
		pt[k] = table();
		for (i = 0; i < 512; i++)
			if (k * 512 + i < nframes)
				set(pt[k], i, frame_pa(k * 512 + i) | P | RW);
	}
	pd_alias = table();
	for (k = 0; k < naliases; k++) {
		alias_pt[k] = table();
		for (i = 0; i < 512; i++)
			set(alias_pt[k], i, frame_pa(i) | P | RW);
		set(pd_alias, k, alias_pt[k] | P | RW);
		set(pd_alias, naliases + k, alias_pt[0] | P | RW);
	}
	for (as = 0; as < nas; as++) {
		uint32_t pdpt = pdpt_page + as * 32;

		pd_dist[as][0] = table();
		pd_dist[as][1] = table();
		for (k = 0; k < npt; k++)
			set(pd_dist[as][k / 512], k % 512,
			    pt[(k + as * 7) % npt] | P | RW);
		set(pdpt, 0, pd_low | P);
		set(pdpt, 1, pd_dist[as][0] | P);
		set(pdpt, 2, pd_dist[as][1] | P);
		set(pdpt, 3, pd_alias | P);
	}
}

static void load_cr3(uint32_t as)
{
	asm volatile("mov %0, %%cr3" : : "r"(pdpt_page + as * 32) : "memory");
}

static void paging_on(void)
{
	write_cr4(read_cr4() | CR4_PAE);
	load_cr3(0);
	write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
}

static void invlpg(uint32_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* Address space as: where frame k is (the rotation of build()). */
static uint32_t dist_va(uint32_t as, uint32_t k)
{
	uint32_t slot = (k / 512 + npt - (as * 7) % npt) % npt;

	return VA_DIST + slot * 512 * PAGE + (k % 512) * PAGE;
}

static volatile uint32_t *at(uint32_t va)
{
	return (volatile uint32_t *)va;
}

/* The tag of frame k read through address space as: 0 if right. */
static int bad_tag(uint32_t as, uint32_t k, uint32_t want_pa, uint32_t *got)
{
	*got = at(dist_va(as, k))[0];
	return *got != tag(want_pa);
}

static void check_all(const char *name, uint32_t as, uint32_t stride)
{
	uint32_t k, bad = 0, first = 0, got = 0, g;

	load_cr3(as);
	for (k = 0; k < nframes; k += stride) {
		if (bad_tag(as, k, frame_pa(k), &g) && !bad++) {
			first = k;
			got = g;
		}
	}
	check(!bad, name, "%u of %u frames wrong, first frame %u (pa %#x): "
	      "read %#x", bad, nframes, first, frame_pa(first), got);
}

static void tag_all(void)
{
	uint32_t k;

	load_cr3(0);
	for (k = 0; k < nframes; k++) {
		volatile uint32_t *p = at(dist_va(0, k));

		p[0] = tag(frame_pa(k));
		p[1] = 0;
	}
	info("tagged %u frames (%u MiB) through %u page tables", nframes,
	     nframes / 256, npt);
	check(1, "every frame written through its own 4 KiB PTE", "%s", "");
}

static void check_aliases(void)
{
	uint32_t s, i, bad = 0, n = 0, first = 0, got = 0;

	load_cr3(0);
	for (s = 0; s < 2 * naliases; s++) {
		for (i = 0; i < 512 && i < nframes; i++, n++) {
			uint32_t v = at(VA_ALIAS + (s * 512 + i) * PAGE)[0];

			if (v != tag(frame_pa(i)) && !bad++) {
				first = s * 512 + i;
				got = v;
			}
		}
		/* a store through this alias, seen through the next one */
		at(VA_ALIAS + s * 512 * PAGE + (s % 512) * PAGE)[1] = s + 1;
		if (at(VA_ALIAS + ((s + 1) % (2 * naliases)) * 512 * PAGE +
		       (s % 512) * PAGE)[1] != s + 1 && !bad++) {
			first = s * 512;
			got = s + 1;
		}
	}
	check(!bad, "the same 512 frames through every alias page table",
	      "%u of %u reads wrong, first at alias page %u: %#x", bad, n,
	      first, got);
	info("%u alias reads through %u alias tables (%u linked twice)", n,
	     2 * naliases, naliases);
}

static void check_spaces(void)
{
	uint32_t as, k, bad = 0, n = 0, first = 0, got = 0, g;

	for (as = 0; as < nas; as++) {
		load_cr3(as);
		for (k = as; k < nframes; k += 61, n++) {
			if (bad_tag(as, k, frame_pa(k), &g) && !bad++) {
				first = k;
				got = g;
			}
		}
	}
	load_cr3(0);
	check(!bad, "the frames through every address space (rotated)",
	      "%u of %u reads wrong, first frame %u: %#x", bad, n, first,
	      got);
}

/* Reverse the order of the PTEs of every fourth distinct table (written
 * through the identity map: umbra write-protects them, emulates, floods),
 * then flush (INVLPG each page for the first tables, a CR3 load for the
 * others) and read the swapped frames. */
static void check_remap(void)
{
	uint32_t k, i, bad = 0, first = 0, got = 0, tables = 0;

	load_cr3(0);
	for (k = 0; k < npt; k += 4, tables++) {
		uint32_t n = nframes - k * 512 < 512 ? nframes - k * 512 : 512;

		for (i = 0; i < n / 2; i++) {
			uint64_t a = get(pt[k], i), b = get(pt[k], n - 1 - i);

			set(pt[k], i, b);
			set(pt[k], n - 1 - i, a);
			if (k < 16) {
				invlpg(dist_va(0, k * 512 + i));
				invlpg(dist_va(0, k * 512 + n - 1 - i));
			}
		}
		if (k >= 16)
			load_cr3(0);
		for (i = 0; i < n; i++) {
			uint32_t f = k * 512 + (n - 1 - i), g;

			if (bad_tag(0, k * 512 + i, frame_pa(f), &g) &&
			    !bad++) {
				first = k * 512 + i;
				got = g;
			}
		}
	}
	check(!bad, "rewritten PTEs (reversed in a table, INVLPG or CR3 load) "
	      "map the new frames", "%u wrong in %u tables, first at frame "
	      "%u: %#x", bad, tables, first, got);
	/* back as they were, then one CR3 load */
	for (k = 0; k < npt; k += 4) {
		uint32_t n = nframes - k * 512 < 512 ? nframes - k * 512 : 512;

		for (i = 0; i < n / 2; i++) {
			uint64_t a = get(pt[k], i), b = get(pt[k], n - 1 - i);

			set(pt[k], i, b);
			set(pt[k], n - 1 - i, a);
		}
	}
	load_cr3(0);
}

void test_main(void)
{
	uint32_t want = arg("frames=", 256 * 1024);

	nas = arg("spaces=", NAS_MAX);
	naliases = arg("aliases=", NALIAS_MAX);
	if (want > NPT_MAX * 512)
		want = NPT_MAX * 512;
	if (nas < 1 || nas > NAS_MAX)
		nas = NAS_MAX;
	if (naliases < 1 || naliases > NALIAS_MAX)
		naliases = NALIAS_MAX;
	if (boot_is_excluded(TBL_BASE, TBL_END)) {
		check(0, "page-table area 16-64 MiB free", "%s",
		      "the boot loader put something there");
		return;
	}
	find_frames(want);
	npt = (nframes + 511) / 512;
	info("%u usable frames above 64 MiB in %d runs (%u MiB), %u page "
	     "tables, %u address spaces, %u alias tables", nframes, nruns,
	     nframes / 256, npt, nas, naliases);
	if (!check(nframes >= 512 && npt >= 2, "enough RAM above 64 MiB",
		   "%u frames", nframes))
		return;
	build();
	info("page tables: %u KiB", (tbl_next - TBL_BASE) / 1024);
	paging_on();
	tag_all();
	check_all("every tag read back through the same PTEs", 0, 1);
	check_aliases();
	check_spaces();
	check_remap();
	check_all("tags read back again after the remapping (every 7th)", 0,
		  7);
	paging_off();
}
