/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * AMD-Vi formats that need no hardware: the ACPI IVRS table and event log
 * entries (AMD I/O Virtualization Technology (IOMMU) Specification, 48882,
 * 5.2 and 2.5).
 */
#ifndef UMBRA_DRIVERS_IOMMU_IVRS_H
#define UMBRA_DRIVERS_IOMMU_IVRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drivers/acpi.h"

#define IVRS_MAX_UNITS	8
#define IVRS_MAX_IVMD	16

/* One IOMMU, from its IVHD blocks (types 10h, 11h, 40h describe the same one). */
struct ivrs_unit {
	uint64_t base;		/* MMIO registers, 16 KiB aligned, below 4 GiB */
	uint16_t devid;		/* the IOMMU's own PCI function */
	uint16_t segment;
	uint16_t max_devid;	/* the highest DeviceID its device entries name */
	uint8_t type;		/* the highest IVHD type seen for it */
};

/* A memory range the firmware says devices need (IVMD, unity-mapped). */
struct ivrs_ivmd {
	uint64_t base, end;	/* [base, end), 4 KiB aligned */
	uint8_t flags;		/* bit 0 Unity, 1 IR, 2 IW, 3 ExclusionRange */
};

struct ivrs_info {
	uint32_t ivinfo;	/* IVinfo: bits 14:8 PASize, 21:15 VASize */
	uint32_t nr_units, nr_ivmd;
	struct ivrs_unit unit[IVRS_MAX_UNITS];
	struct ivrs_ivmd ivmd[IVRS_MAX_IVMD];
};

/* 0, or -1 with what is wrong in why[] (the table is then not used). */
int ivrs_parse(const struct acpi_header *h, struct ivrs_info *v,
	       char *why, size_t why_len);

/* One event log entry (2.5), decoded. */
struct amdvi_event {
	uint8_t code;		/* 2: IO_PAGE_FAULT; 0: none written */
	uint16_t devid;
	bool write, present;	/* RW, PR flags where the event has them */
	uint64_t addr;
	const char *name;
};

void amdvi_event_decode(const uint64_t ev[2], struct amdvi_event *e);

#endif
