// SPDX-License-Identifier: BSD-2-Clause
/*
 * memory: the guest's usable map is really usable, and umbra's own memory
 * is neither in it nor reachable.
 *
 * 0. First, before this test writes anything: no usable byte below 4 GiB
 *    holds umbra's image marker (the copies of umbra that the ways in
 *    loaded are cleared before the guest starts; bare there is none).
 * 1. Every 4 KiB page of every usable region (multiboot type 1) above
 *    1 MiB and below 4 GiB, except this kernel and the multiboot data, gets
 *    an address-dependent pattern in its first and last 8 bytes; all pages
 *    are written before any is read back, so that aliasing shows.  A few
 *    pages are filled and checked whole, with a pattern and its inverse.
 * 2. Under umbra, CPUID 0x40000001 gives umbra's range (EAX:EBX base,
 *    ECX:EDX size).  The map must mark all of it non-usable, no usable
 *    region may overlap it, reading all of it must not find umbra's image
 *    marker, and writing over all of it must neither stick nor stop the
 *    guest (the test runner also checks that umbra still prints its exit
 *    statistics afterwards).
 * 3. The same for umbra's low pool (CPUID 0x40000002, below 4 GiB: the
 *    shadow MMU's PAE roots).
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "memory";

#define PAGE		4096u
#define MIB		0x100000ull
#define GIB4		0x100000000ull

/*
 * umbra's image marker ("UMBRA-CORE-IMAGE-MARKER", core/main.c), each
 * byte XOR 0x5a: were the plain string in this kernel, the scan of the
 * guest's RAM would find the kernel itself.  The scan compares without
 * decoding it anywhere.
 */
#define MX(c)		((uint8_t)((c) ^ 0x5a))
static const uint8_t marker_x[] = {
	MX('U'), MX('M'), MX('B'), MX('R'), MX('A'), MX('-'), MX('C'),
	MX('O'), MX('R'), MX('E'), MX('-'), MX('I'), MX('M'), MX('A'),
	MX('G'), MX('E'), MX('-'), MX('M'), MX('A'), MX('R'), MX('K'),
	MX('E'), MX('R'),
};
#define MARKER_LEN	sizeof(marker_x)

static inline uint32_t pat_lo(uint32_t addr)
{
	return addr ^ 0x5a5aa5a5u;
}

static inline uint32_t pat_hi(uint32_t addr)
{
	return ~addr * 0x9e3779b1u;
}

/* The usable part of mmap entry @i above 1 MiB and below 4 GiB. */
static int usable_range(int i, uint32_t *base, uint32_t *end)
{
	const struct mmap_entry *e = &boot.mmap[i];
	uint64_t b = e->base, x = e->base + e->len;

	if (e->type != MB_MEM_USABLE)
		return 0;
	if (b < MIB)
		b = MIB;
	if (x > GIB4)
		x = GIB4;
	b = (b + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	x &= ~(uint64_t)(PAGE - 1);
	if (b >= x)
		return 0;
	*base = (uint32_t)b;
	*end = (uint32_t)(x - 1) + 1;	/* 0 means 4 GiB */
	return 1;
}

#define FOR_EACH_PAGE(p, base, end) \
	for ((p) = (base); (p) != (end); (p) += PAGE)

static void write_edges(uint32_t p)
{
	volatile uint32_t *a = (volatile uint32_t *)p;
	volatile uint32_t *z = (volatile uint32_t *)(p + PAGE - 8);

	a[0] = pat_lo(p);
	a[1] = pat_hi(p);
	z[0] = pat_lo(p + PAGE - 8);
	z[1] = pat_hi(p + PAGE - 8);
}

static int verify_edges(uint32_t p, uint32_t *bad, uint32_t *got,
			uint32_t *want)
{
	static const uint32_t offs[4] = { 0, 4, PAGE - 8, PAGE - 4 };
	int i;

	for (i = 0; i < 4; i++) {
		uint32_t a = p + offs[i];
		uint32_t w = (i & 1) ? pat_hi(a - 4) : pat_lo(a);
		uint32_t v = *(volatile uint32_t *)a;

		if (v != w) {
			*bad = a;
			*got = v;
			*want = w;
			return 0;
		}
	}
	return 1;
}

static void check_usable(void)
{
	uint32_t base, end, p, bad = 0, got = 0, want = 0;
	uint32_t pages = 0, regions = 0, nbad = 0;
	int i;

	for (i = 0; i < boot.nr_mmap; i++) {
		if (!usable_range(i, &base, &end))
			continue;
		regions++;
		info("usable %#x-%#x", base, end - 1);
		FOR_EACH_PAGE(p, base, end) {
			if (boot_is_excluded(p, (uint64_t)p + PAGE))
				continue;
			write_edges(p);
			pages++;
		}
	}
	for (i = 0; i < boot.nr_mmap; i++) {
		if (!usable_range(i, &base, &end))
			continue;
		FOR_EACH_PAGE(p, base, end) {
			uint32_t b, g, w;

			if (boot_is_excluded(p, (uint64_t)p + PAGE))
				continue;
			if (!verify_edges(p, &b, &g, &w) && !nbad++) {
				bad = b;
				got = g;
				want = w;
			}
		}
	}
	info("%u usable pages in %u regions above 1 MiB (%u MiB)", pages,
	     regions, pages / 256);
	check(pages > 0, "usable memory above 1 MiB exists", "%u regions",
	      regions);
	check(nbad == 0, "usable pages: first and last 8 bytes read back",
	      "%u bad pages, first at %#x: read %#x, wrote %#x", nbad, bad,
	      got, want);
}

static int fill_page(uint32_t p, uint32_t inv)
{
	volatile uint32_t *w = (volatile uint32_t *)p;
	uint32_t i;

	for (i = 0; i < PAGE / 4; i++)
		w[i] = (pat_lo(p + 4 * i) * 0x01000193u) ^ inv;
	for (i = 0; i < PAGE / 4; i++)
		if (w[i] != ((pat_lo(p + 4 * i) * 0x01000193u) ^ inv))
			return 0;
	return 1;
}

static void check_full_pages(void)
{
	uint32_t base, end, n = 0, bad = 0, first_bad = 0;
	int i, k;

	for (i = 0; i < boot.nr_mmap; i++) {
		if (!usable_range(i, &base, &end))
			continue;
		for (k = 0; k < 8; k++) {
			uint32_t pages = (end - base) / PAGE;
			uint32_t p = base + PAGE * ((pages - 1) / 7 * k);

			if (boot_is_excluded(p, (uint64_t)p + PAGE))
				continue;
			n++;
			if ((!fill_page(p, 0) || !fill_page(p, ~0u)) &&
			    !bad++)
				first_bad = p;
		}
	}
	info("%u whole pages filled and checked", n);
	check(n > 0 && bad == 0, "whole-page patterns read back",
	      "%u of %u pages bad, first at %#x", bad, n, first_bad);
}

/* Is [base, end) covered entirely by non-usable entries of the map? */
static int covered_by_reserved(uint64_t base, uint64_t end)
{
	uint64_t cur = base;
	int i, progress = 1;

	while (cur < end && progress) {
		progress = 0;
		for (i = 0; i < boot.nr_mmap; i++) {
			const struct mmap_entry *e = &boot.mmap[i];

			if (e->type != MB_MEM_USABLE && e->base <= cur &&
			    cur < e->base + e->len) {
				cur = e->base + e->len;
				progress = 1;
			}
		}
	}
	return cur >= end;
}

static uint8_t marker_skip[256];	/* Horspool's shift per last byte */

static void marker_init(void)
{
	unsigned int i;

	for (i = 0; i < 256; i++)
		marker_skip[i] = MARKER_LEN;
	for (i = 0; i + 1 < MARKER_LEN; i++)
		marker_skip[marker_x[i] ^ 0x5a] = MARKER_LEN - 1 - i;
}

static int marker_at(const volatile uint8_t *s)
{
	unsigned int i;

	for (i = 0; i < MARKER_LEN; i++)
		if ((uint8_t)(s[i] ^ 0x5a) != marker_x[i])
			return 0;
	return 1;
}

/* Read all of [base, end) (below 4 GiB) looking for the marker. */
static int find_marker(uint64_t base, uint64_t end, uint32_t *where)
{
	uint64_t p = base;

	if (!marker_skip[0])
		marker_init();
	while (p + MARKER_LEN <= end) {
		const volatile uint8_t *s = (const volatile uint8_t *)(uint32_t)p;
		uint8_t last = s[MARKER_LEN - 1];

		if ((uint8_t)(last ^ 0x5a) == marker_x[MARKER_LEN - 1] &&
		    marker_at(s)) {
			*where = (uint32_t)p;
			return 1;
		}
		p += marker_skip[last];
	}
	return 0;
}

/*
 * Nothing of umbra in the guest's RAM: no usable byte below 4 GiB holds
 * umbra's image marker (the copy of umbra.elf GRUB loaded at 2 MiB, the
 * one umbra.efi placed, umbra.efi itself: umbra clears them before the
 * guest starts).  Bare, there is no marker to find.  RAM above 4 GiB is
 * not scanned (a 32-bit guest without paging; none of the ways in leaves
 * umbra's data there in the tested configurations).
 */
static void check_no_marker_in_ram(void)
{
	uint64_t bytes = 0, above = 0;
	uint32_t where = 0;
	int i, found = 0;

	for (i = 0; i < boot.nr_mmap && !found; i++) {
		const struct mmap_entry *e = &boot.mmap[i];
		uint64_t b = e->base < PAGE ? PAGE : e->base;
		uint64_t x = e->base + e->len;

		if (e->type != MB_MEM_USABLE)
			continue;
		if (x > GIB4) {
			above += x - (b > GIB4 ? b : GIB4);
			x = GIB4;
		}
		if (b >= x)
			continue;
		found = find_marker(b, x, &where);
		bytes += x - b;
	}
	info("scanned %llu MiB of usable RAM below 4 GiB for umbra's marker (%llu MiB above 4 GiB not scanned)",
	     bytes >> 20, above >> 20);
	check(!found, "no umbra image marker in usable RAM",
	      "umbra's marker at %#x", where);
}

/* Under umbra, one of umbra's ranges, from its CPUID leaf (cpuid.c). */
struct umbra_area {
	uint32_t leaf;
	const char *names[6];
};

static const struct umbra_area umbra_main = { 0x40000001, {
	"umbra: reports its memory range",
	"umbra: no usable region overlaps umbra's memory",
	"umbra: the map marks umbra's memory non-usable",
	"umbra: umbra's image is not readable",
	"umbra: writes over umbra's memory do not stick",
	"umbra: guest still runs after writing over umbra's memory",
} };

static const struct umbra_area umbra_low = { 0x40000002, {
	"umbra: reports its low pool (below 4 GiB)",
	"umbra: no usable region overlaps umbra's low pool",
	"umbra: the map marks umbra's low pool non-usable",
	"umbra: umbra's low pool holds no marker",
	"umbra: writes over umbra's low pool do not stick",
	"umbra: guest still runs after writing over umbra's low pool",
} };

/* Write a pattern over [b32, e32) and count the pages that keep it. */
static uint32_t pages_kept(uint32_t b32, uint32_t e32, uint32_t *pages)
{
	uint32_t p, kept = 0;

	for (p = b32; p != e32; p += PAGE) {
		volatile uint32_t *w = (volatile uint32_t *)p;
		uint32_t i2;

		for (i2 = 0; i2 < PAGE / 4; i2++)
			w[i2] = pat_lo(p + 4 * i2);
	}
	for (p = b32, *pages = 0; p != e32; p += PAGE, (*pages)++) {
		volatile uint32_t *w = (volatile uint32_t *)p;

		if (w[0] == pat_lo(p) && w[PAGE / 4 - 1] == pat_lo(p + PAGE - 4))
			kept++;
	}
	return kept;
}

static void check_umbra_area(const struct umbra_area *a)
{
	const char *const *names = a->names;
	struct cpuid_regs r;
	uint64_t base, size, end;
	uint32_t b32, e32, where = 0, kept, pages;
	int i, found, overlap = -1;
	unsigned int k;

	if (!under_umbra()) {
		for (k = 0; k < ARRAY_SIZE(a->names); k++)
			skip(names[k], "no hypervisor");
		return;
	}
	cpuid(a->leaf, &r);
	base = ((uint64_t)r.ebx << 32) | r.eax;
	size = ((uint64_t)r.edx << 32) | r.ecx;
	end = base + size;
	info("cpuid %#x: %#llx-%#llx (%llu KiB)", a->leaf, base, end - 1,
	     size >> 10);
	if (!check(size > 0 && !(base & (PAGE - 1)) && !(size & (PAGE - 1)) &&
		   end > base && (a == &umbra_main || end <= GIB4), names[0],
		   "base %#llx size %#llx", base, size))
		return;

	for (i = 0; i < boot.nr_mmap && overlap < 0; i++)
		if (boot.mmap[i].type == MB_MEM_USABLE &&
		    ranges_overlap(base, end, boot.mmap[i].base,
				   boot.mmap[i].base + boot.mmap[i].len))
			overlap = i;
	check(overlap < 0, names[1], "mmap entry %d: %#llx+%#llx type 1",
	      overlap, overlap < 0 ? 0 : boot.mmap[overlap].base,
	      overlap < 0 ? 0 : boot.mmap[overlap].len);
	check(covered_by_reserved(base, end), names[2],
	      "%#llx-%#llx is not (all) described as reserved", base,
	      end - 1);

	if (end > GIB4) {
		for (k = 3; k < ARRAY_SIZE(a->names); k++)
			skip(names[k], "above 4 GiB");
		return;
	}
	b32 = (uint32_t)base;
	e32 = (uint32_t)(end - 1) + 1;
	found = find_marker(b32, end, &where);
	check(!found, names[3], "found umbra's marker at %#x", where);

	kept = pages_kept(b32, e32, &pages);
	info("%u of %u pages read back what was written", kept, pages);
	/* One scratch page that every access lands on would keep one. */
	check(kept <= 1, names[4], "%u of %u pages kept the pattern", kept,
	      pages);
	check(1, names[5], NULL);
}

void test_main(void)
{
	check_no_marker_in_ram();	/* first: before this test writes any */
	check_usable();
	check_full_pages();
	check_umbra_area(&umbra_main);
	check_umbra_area(&umbra_low);
}
