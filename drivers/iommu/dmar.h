/* SPDX-License-Identifier: BSD-2-Clause */
/* The ACPI DMA Remapping Reporting table (Intel VT-d spec, chapter 8). */
#ifndef UMBRA_DRIVERS_IOMMU_DMAR_H
#define UMBRA_DRIVERS_IOMMU_DMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drivers/acpi.h"

#define DMAR_MAX_UNITS	8
#define DMAR_MAX_RMRR	16

/* One DMA-remapping hardware unit (DRHD, VT-d spec 8.3). */
struct dmar_unit {
	uint64_t base;		/* register set, 4 KiB aligned */
	uint64_t size;		/* bytes: 2^Size pages (8.3, "Size") */
	uint16_t segment;
	bool include_all;	/* INCLUDE_PCI_ALL: every device of the segment */
	uint32_t nr_scopes;	/* device scope entries (not used to program) */
};

/* A reserved memory region some device must keep reaching (RMRR, 8.4). */
struct dmar_rmrr {
	uint64_t base, end;	/* [base, end), 4 KiB aligned */
	uint16_t segment;
};

struct dmar_info {
	uint8_t haw;		/* host address width: bits (HAW field + 1) */
	uint8_t flags;		/* bit 0 INTR_REMAP, 1 X2APIC_OPT_OUT, 2 DMA_CTRL_PLATFORM_OPT_IN */
	uint32_t nr_units, nr_rmrr;
	struct dmar_unit unit[DMAR_MAX_UNITS];
	struct dmar_rmrr rmrr[DMAR_MAX_RMRR];
};

/* 0, or -1 with what is wrong in why[] (the table is then not used). */
int dmar_parse(const struct acpi_header *h, struct dmar_info *d,
	       char *why, size_t why_len);

#endif
