// SPDX-License-Identifier: BSD-2-Clause
/*
 * The identity I/O page tables both IOMMU drivers program: guest-physical
 * memory below a top, minus what umbra_owns() (its memory, low pool, the
 * IOMMUs' registers), in the largest leaves the hardware supports.  The
 * tables are pages of umbra's memory, so no device reaches them either.
 * Entry formats are the driver's (struct iopt); the walk is shared.
 */
#include "core/mem.h"
#include "drivers/iommu/iopt.h"
#include "umbra/core.h"
#include "umbra/log.h"

void *iopt_pages(const char *who, size_t n)
{
	void *t = page_alloc(n);

	if (!t) {
		pr_err("%s: out of memory for the DMA tables", who);
		halt("no-memory");
	}
	return t;
}

void iopt_init(struct iopt *pt)
{
	pt->root = iopt_pages(pt->who, 1);
}

static unsigned int index_of(uint64_t pa, int level)
{
	return (pa >> (12 + 9 * (level - 1))) & 511;
}

/* Install a leaf for pa at `level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB). */
static void iopt_map(struct iopt *pt, uint64_t pa, int level)
{
	uint64_t *t = pt->root;

	for (int l = pt->levels; l > level; l--) {
		uint64_t *e = &t[index_of(pa, l)];

		if (!(*e & 1))		/* VT-d R, AMD-Vi PR: bit 0 */
			*e = pt->table(virt_to_phys(iopt_pages(pt->who, 1)), l);
		BUG_ON((*e & pt->leaf_mask) == pt->leaf_bits);
		t = phys_to_virt(*e & 0x000ffffffffff000ull);
	}
	t[index_of(pa, level)] = pt->leaf(pa, level);
}

/* The largest leaf level for pa that stays below top and off umbra's ranges. */
static int leaf_level(const struct iopt *pt, uint64_t pa, uint64_t top)
{
	for (int l = (int)pt->large; l >= 1; l--) {
		uint64_t size = iopt_leaf_size(l);

		if (!(pa & (size - 1)) && pa + size <= top && !umbra_owns(pa, size))
			return l;
	}
	return 0;
}

void iopt_map_identity(struct iopt *pt, uint64_t top)
{
	uint64_t pa = 0;

	while (pa < top) {
		int l = leaf_level(pt, pa, top);

		if (l)
			iopt_map(pt, pa, l);
		pa += iopt_leaf_size(l ? l : 1);
	}
}

void iopt_map_reserved(struct iopt *pt, const char *what, uint64_t base,
		       uint64_t end, uint64_t top)
{
	pr_info("%s: %s %lx-%lx identity-mapped", pt->who, what, base, end - 1);
	for (uint64_t pa = base; pa < end; pa += PAGE_SIZE) {
		if (umbra_owns(pa, PAGE_SIZE))
			pr_warn("%s: %s page %lx is umbra's: left unmapped",
				pt->who, what, pa);
		else if (pa >= top)
			iopt_map(pt, pa, 1);
	}
}

/* ---- the faults the tables cause, from either driver's log ---- */

#define FAULTS_LOGGED	16
static uint64_t nr_faults;

void iopt_fault(uint16_t sid, bool write, uint64_t addr, const char *why)
{
	nr_faults++;
	if (nr_faults <= FAULTS_LOGGED)
		pr_warn("DMA fault: device %02x:%02x.%x %s at %lx blocked (%s)",
			sid >> 8, (sid >> 3) & 0x1f, sid & 7,
			write ? "write" : "read", addr & ~(uint64_t)0xfff, why);
	else if (!(nr_faults & (nr_faults - 1)))
		pr_warn("DMA faults: %lu so far (only the first %d are logged)",
			nr_faults, FAULTS_LOGGED);
}
