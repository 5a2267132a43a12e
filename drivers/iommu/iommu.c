// SPDX-License-Identifier: BSD-2-Clause
/*
 * DMA protection at boot: the ACPI DMAR table (Intel VT-d) names the
 * remapping units; umbra claims their registers (the guest can neither map
 * nor reach them: umbra_claim(), mem.c), takes the table out of the
 * guest's XSDT and RSDT, and turns translation on before the guest runs.
 * An IVRS table (AMD-Vi) is recognized but not programmed yet.
 */
#include "core/mem.h"
#include "drivers/acpi.h"
#include "drivers/iommu/dmar.h"
#include "drivers/iommu/iommu.h"
#include "drivers/iommu/vtd.h"
#include "umbra/core.h"
#include "umbra/log.h"

static struct dmar_info dmar;
static bool vtd_on;

/*
 * Guest-physical memory devices may reach: everything below 4 GiB (RAM,
 * firmware tables, other devices' MMIO) and up to the end of the highest
 * RAM the firmware lists; RMRRs beyond that are mapped on their own.
 */
static uint64_t dma_top(const struct boot_info *bi)
{
	uint64_t top = SZ_4G;

	for (uint32_t i = 0; i < bi->nr_mem; i++)
		if (bi->mem[i].type != BI_MEM_RESERVED)
			top = MAX(top, ALIGN_UP(bi->mem[i].base + bi->mem[i].size,
						PAGE_SIZE));
	return top;
}

static void unprotected(const struct boot_info *bi)
{
	if (bi->acpi_rsdp && acpi_find(bi->acpi_rsdp, "IVRS"))
		pr_warn("DMA is unprotected: the AMD IOMMU (ACPI IVRS) is not programmed by umbra yet; devices can reach umbra's memory");
	else
		pr_warn("DMA is unprotected: no IOMMU (%s); devices can reach umbra's memory",
			bi->acpi_rsdp ? "no ACPI DMAR or IVRS table" : "no ACPI RSDP");
}

static void claim_units(void)
{
	for (uint32_t i = 0; i < dmar.nr_units; i++) {
		const struct dmar_unit *u = &dmar.unit[i];

		umbra_claim(u->base, vtd_reg_span(u));
	}
}

void iommu_init(struct boot_info *bi)
{
	struct acpi_header *h = bi->acpi_rsdp ? acpi_find(bi->acpi_rsdp, "DMAR") : NULL;
	char why[160];
	int n;

	if (opts.iommu_off) {
		pr_warn("DMA is unprotected: iommu=off; devices can reach umbra's memory");
		return;
	}
	if (!h) {
		unprotected(bi);
		return;
	}
	if (dmar_parse(h, &dmar, why, sizeof(why))) {
		pr_err("VT-d: ACPI DMAR at %lx is malformed: %s", (uint64_t)h, why);
		halt("iommu");
	}
	pr_info("VT-d: ACPI DMAR at %lx: %u unit%s, %u RMRR%s, host address width %u",
		(uint64_t)h, dmar.nr_units, dmar.nr_units == 1 ? "" : "s",
		dmar.nr_rmrr, dmar.nr_rmrr == 1 ? "" : "s", dmar.haw);
	claim_units();
	if (vtd_enable(&dmar, dma_top(bi))) {
		pr_err("VT-d: the IOMMU could not be enabled; umbra does not start a guest with DMA unprotected where an IOMMU exists");
		halt("iommu");
	}
	vtd_on = true;
	/* the guest must not find the units and reprogram them */
	n = acpi_hide(bi->acpi_rsdp, (uint64_t)h);
	if (n)
		pr_info("VT-d: DMAR hidden from the guest (%d XSDT/RSDT entries removed)", n);
	else
		pr_warn("VT-d: DMAR not in the XSDT/RSDT any more: nothing to hide");
}

void iommu_poll(void)
{
	if (vtd_on)
		vtd_poll();
}
