/* SPDX-License-Identifier: BSD-2-Clause */
/* DMA protection: the platform's IOMMU keeps devices out of umbra's memory. */
#ifndef UMBRA_DRIVERS_IOMMU_IOMMU_H
#define UMBRA_DRIVERS_IOMMU_IOMMU_H

#include <stdbool.h>
#include "umbra/bootinfo.h"

/*
 * After mem_init(), before guest_map_build(): find the DMAR (VT-d) or
 * the IVRS (AMD-Vi), claim the units' registers as umbra's (umbra_claim()), hide the table from the
 * guest and enable translation; or say in one line that DMA is
 * unprotected.  Halts with "iommu" when a present IOMMU cannot be used.
 */
void iommu_init(struct boot_info *bi);
/* Log and clear recorded DMA faults: from the run loop, at most every 1 ms. */
void iommu_poll(void);
/* The same now (the debug shell, the guest's last exit); say: how often so far. */
void iommu_poll_now(bool say);

#endif
