/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * I/O page tables shared by the VT-d and AMD-Vi drivers: both are radix
 * trees of 512 8-byte entries per 4 KiB table, indexed by the same address
 * bits (VT-d spec 9.8; AMD IOMMU spec 48882, 2.2.3), with different entry
 * formats, which the driver gives as two functions.
 */
#ifndef UMBRA_DRIVERS_IOMMU_IOPT_H
#define UMBRA_DRIVERS_IOMMU_IOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iopt {
	uint64_t *root;
	int levels;		/* 3 (39-bit) or 4 (48-bit) */
	unsigned int large;	/* largest leaf level: 1 (4K), 2 (2M), 3 (1G) */
	/* the entry at `level` that points at the table at `pa` */
	uint64_t (*table)(uint64_t pa, int level);
	/* the leaf at `level` that maps `pa`, read and write */
	uint64_t (*leaf)(uint64_t pa, int level);
	uint64_t leaf_mask, leaf_bits;	/* (e & leaf_mask) == leaf_bits: a leaf */
	const char *who;	/* "VT-d", "AMD-Vi": for messages */
};

/* n zeroed pages of umbra's memory for `who`'s tables; halts when out. */
void *iopt_pages(const char *who, size_t n);
/* Allocate the root; halts (no-memory) when umbra is out of pages. */
void iopt_init(struct iopt *pt);
/* Identity-map [0, top) in the largest leaves, minus umbra_owns(). */
void iopt_map_identity(struct iopt *pt, uint64_t top);
/* Identity-map a firmware range `what` (RMRR, IVMD) [base, end) above top. */
void iopt_map_reserved(struct iopt *pt, const char *what, uint64_t base,
		       uint64_t end, uint64_t top);
/*
 * One blocked DMA from device `sid` (bus:dev.fn) at addr, from a driver's
 * fault log: the first 16 logged, then one line at each power of two.
 */
void iopt_fault(uint16_t sid, bool write, uint64_t addr, const char *why);
/* The size of a leaf at `level`. */
static inline uint64_t iopt_leaf_size(int level)
{
	return 1ull << (12 + 9 * (level - 1));
}

#endif
