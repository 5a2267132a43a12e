// SPDX-License-Identifier: BSD-2-Clause
/*
 * DMA protection at boot: the ACPI DMAR table (Intel VT-d) names the
 * remapping units; umbra claims their registers (the guest can neither map
 * nor reach them: umbra_claim(), mem.c), takes the table out of the
 * guest's XSDT and RSDT, and turns translation on before the guest runs.
 * The ACPI IVRS table (AMD-Vi) the same way, through amdvi.c.
 */
#include "core/mem.h"
#include "drivers/acpi.h"
#include "drivers/iommu/amdvi.h"
#include "drivers/iommu/dmar.h"
#include "drivers/iommu/iommu.h"
#include "drivers/iommu/vtd.h"
#include "shell/clock.h"
#include "umbra/core.h"
#include "umbra/log.h"

static struct dmar_info dmar;
static struct ivrs_info ivrs;
static bool vtd_on, amdvi_on;

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

/* The guest must not find the IOMMU and reprogram it. */
static void hide(const struct boot_info *bi, struct acpi_header *h,
		 const char *who)
{
	int n = acpi_hide(bi->acpi_rsdp, (uint64_t)h);

	if (n)
		pr_info("%s: %.4s hidden from the guest (%d XSDT/RSDT entries removed)",
			who, h->sig, n);
	else
		pr_warn("%s: %.4s not in the XSDT/RSDT any more: nothing to hide",
			who, h->sig);
}

static void enable_failed(const char *who)
{
	pr_err("%s: the IOMMU could not be enabled; umbra does not start a guest with DMA unprotected where an IOMMU exists",
	       who);
	halt("iommu");
}

static void __attribute__((noreturn))
malformed(const struct acpi_header *h, const char *who, const char *why)
{
	pr_err("%s: ACPI %.4s at %lx is malformed: %s", who, h->sig, (uint64_t)h,
	       why);
	halt("iommu");
}

static void vtd_init(struct boot_info *bi, struct acpi_header *h)
{
	char why[160];

	if (dmar_parse(h, &dmar, why, sizeof(why)))
		malformed(h, "VT-d", why);
	pr_info("VT-d: ACPI DMAR at %lx: %u unit%s, %u RMRR%s, host address width %u",
		(uint64_t)h, dmar.nr_units, dmar.nr_units == 1 ? "" : "s",
		dmar.nr_rmrr, dmar.nr_rmrr == 1 ? "" : "s", dmar.haw);
	for (uint32_t i = 0; i < dmar.nr_units; i++)
		umbra_claim(dmar.unit[i].base, vtd_reg_span(&dmar.unit[i]));
	if (vtd_enable(&dmar, dma_top(bi)))
		enable_failed("VT-d");
	vtd_on = true;
	hide(bi, h, "VT-d");
}

/* AMD-Vi: the IVRS (48882, 5.2), the same policy as the DMAR's. */
static void amdvi_init(struct boot_info *bi, struct acpi_header *h)
{
	char why[160];

	if (ivrs_parse(h, &ivrs, why, sizeof(why)))
		malformed(h, "AMD-Vi", why);
	pr_info("AMD-Vi: ACPI IVRS at %lx: %u IOMMU%s, %u IVMD%s, IVinfo %x",
		(uint64_t)h, ivrs.nr_units, ivrs.nr_units == 1 ? "" : "s",
		ivrs.nr_ivmd, ivrs.nr_ivmd == 1 ? "" : "s", ivrs.ivinfo);
	for (uint32_t i = 0; i < ivrs.nr_units; i++)
		umbra_claim(ivrs.unit[i].base, amdvi_reg_span(&ivrs.unit[i]));
	if (amdvi_enable(&ivrs, dma_top(bi)))
		enable_failed("AMD-Vi");
	amdvi_on = true;
	hide(bi, h, "AMD-Vi");
}

void iommu_init(struct boot_info *bi)
{
	struct acpi_header *dm = bi->acpi_rsdp ? acpi_find(bi->acpi_rsdp, "DMAR") : NULL;
	struct acpi_header *iv = bi->acpi_rsdp ? acpi_find(bi->acpi_rsdp, "IVRS") : NULL;

	if (opts.iommu_off)
		pr_warn("DMA is unprotected: iommu=off; devices can reach umbra's memory");
	else if (dm)
		vtd_init(bi, dm);
	else if (iv)
		amdvi_init(bi, iv);
	else
		pr_warn("DMA is unprotected: no IOMMU (%s); devices can reach umbra's memory",
			bi->acpi_rsdp ? "no ACPI DMAR or IVRS table" : "no ACPI RSDP");
}

/*
 * The fault logs are uncached MMIO: the run loop reads them at most once a
 * millisecond of TSC time (about 2^21 cycles when the rate is unknown), so
 * that an exit costs a RDTSC here; faults wait in the units' logs between.
 */
#define POLL_MS			1
#define POLL_CYCLES_UNKNOWN	(1ull << 21)

static uint64_t last_poll, poll_cycles, nr_polls;

void iommu_poll_now(bool say)
{
	nr_polls++;
	if (vtd_on)
		vtd_poll();
	if (amdvi_on)
		amdvi_poll();
	if (say)
		pr_info("IOMMU: fault logs read %lu times (at most every %d ms)",
			nr_polls, POLL_MS);
}

void iommu_poll(void)
{
	uint64_t now;

	if (!vtd_on && !amdvi_on)
		return;
	if (!poll_cycles)	/* the shell's clock_init() has run by now */
		poll_cycles = clock_tsc_hz() ? clock_tsc_hz() / 1000 * POLL_MS :
			      POLL_CYCLES_UNKNOWN;
	now = clock_now();
	if (now - last_poll < poll_cycles)
		return;
	last_poll = now;
	iommu_poll_now(false);
}
