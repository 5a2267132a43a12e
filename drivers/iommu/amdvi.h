/* SPDX-License-Identifier: BSD-2-Clause */
/* AMD-Vi DMA remapping (AMD IOMMU spec 48882, chapters 2 and 3). */
#ifndef UMBRA_DRIVERS_IOMMU_AMDVI_H
#define UMBRA_DRIVERS_IOMMU_AMDVI_H

#include <stdint.h>
#include "drivers/iommu/ivrs.h"

/* The bytes of an IOMMU's registers umbra must own. */
uint64_t amdvi_reg_span(const struct ivrs_unit *u);
/* Identity-map [0, top) minus umbra_owns(), and the IVMDs; enable every IOMMU. */
int amdvi_enable(const struct ivrs_info *v, uint64_t top);
void amdvi_poll(void);

#endif
