/* SPDX-License-Identifier: BSD-2-Clause */
/* Intel VT-d DMA remapping units (Intel VT-d spec, chapters 3, 6, 9, 10). */
#ifndef UMBRA_DRIVERS_IOMMU_VTD_H
#define UMBRA_DRIVERS_IOMMU_VTD_H

#include <stdint.h>
#include "drivers/iommu/dmar.h"

/* The bytes of a unit's registers umbra must own (at least d->size). */
uint64_t vtd_reg_span(const struct dmar_unit *u);
/* Identity-map [0, top) minus umbra_owns(), and the RMRRs; enable every unit. */
int vtd_enable(const struct dmar_info *d, uint64_t top);
void vtd_poll(void);

#endif
