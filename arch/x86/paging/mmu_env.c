// SPDX-License-Identifier: BSD-2-Clause
/* mmu/env.h for the hypervisor: pages from umbra's own memory. */
#include "core/mem.h"
#include "mmu/env.h"

void *mmu_alloc_page(void)
{
	return page_alloc(1);
}

void *mmu_alloc_page_low(void)
{
	return page_alloc_low();
}

void mmu_free_page(void *va)
{
	page_free(va, 1);
}

uint64_t mmu_virt_to_phys(const void *va)
{
	return virt_to_phys(va);
}

void *mmu_phys_to_virt(uint64_t pa)
{
	return phys_to_virt(pa);
}
