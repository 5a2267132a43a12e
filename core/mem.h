/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_X86_MEM_H
#define UMBRA_X86_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "umbra/bootinfo.h"

/*
 * umbra's own memory: the main range (2 MiB aligned, the image first, then
 * the page pool) and the low pool below 4 GiB; umbra_ranges lists both,
 * then the device registers umbra_claim() adds (an IOMMU's).
 */
#define UMBRA_MAX_RANGES	(2 + UMBRA_MAX_CLAIMS)
#define UMBRA_MAX_CLAIMS	8	/* umbra_claim(): IOMMU registers, AP trampoline */

struct umbra_range {
	uint64_t base, size;
};

extern uint64_t umbra_mem_base, umbra_mem_size;
extern uint64_t umbra_low_base, umbra_low_size;

/* true if [pa, pa + size) touches any of umbra's ranges */
bool umbra_owns(uint64_t pa, uint64_t size);
/* true if physical (= guest-physical) frame pfn is umbra's */
bool umbra_frame(uint64_t pfn);

void mem_init(struct boot_info *bi);
/*
 * Make [base, base + size) umbra's (device registers such as an IOMMU's),
 * before guest_map_build(): reserved in the guest's map and, like umbra's
 * memory, the scratch page under nested and shadow paging.
 */
void umbra_claim(uint64_t base, uint64_t size);
/* The same for what is not device registers (`what` names it). */
void umbra_claim_as(uint64_t base, uint64_t size, const char *what);
void guest_map_build(struct boot_info *bi);
/* Zero the way in's leftovers (bi->busy[]) in guest RAM: after staging. */
void mem_scrub_boot(const struct boot_info *bi);

/* Pages from umbra's memory, zeroed, identity-mapped (virt == phys). */
void *page_alloc(size_t npages);
void page_free(void *p, size_t npages);
/* One page below 4 GiB (the low pool), zeroed; page_free() takes it back. */
void *page_alloc_low(void);
size_t pages_free(void);

static inline uint64_t virt_to_phys(const void *p)
{
	return (uint64_t)p;
}

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)pa;
}

/* The memory map the guest sees: the firmware's, umbra's ranges reserved. */
struct guest_mem_map {
	uint32_t nr;
	struct bi_mem_range r[BI_MAX_MEM + 2 * UMBRA_MAX_RANGES + 1];
};

extern struct guest_mem_map guest_map;

/* true if [base, base+size) lies inside one usable guest range */
bool guest_range_usable(uint64_t base, uint64_t size);
/* true if [base, base+size) is guest RAM (usable or ACPI), never umbra's */
bool guest_ram(uint64_t base, uint64_t size);

#endif
