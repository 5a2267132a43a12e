// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra's memory.  From the firmware's map umbra takes one range at the top
 * of usable RAM (opts.mem_size, 2 MiB aligned, clear of everything the way
 * in still uses), moves its image there, and hands out the rest as pages.
 * The guest's map shows that range as reserved, and the NPT/EPT maps it to a
 * throw-away page (arch/x86/vm.c): the guest never reaches umbra's memory.
 *
 * Host page tables: physical memory identity-mapped from 0 to max(4 GiB,
 * top of the map), the image at UMBRA_VBASE (SDM Vol 3 4.5, 4-level paging).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/mem.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_PS		(1ull << 7)
#define PTE_G		(1ull << 8)
#define PTE_NX		(1ull << 63)

#define MAX_IDENT_2M_GB	64		/* without 1 GiB pages */
#define MAX_POOL_PAGES	(MAX_MEM_PAGES)
#define MAX_MEM_PAGES	((1ull << 30) / PAGE_SIZE)

uint64_t umbra_mem_base, umbra_mem_size;
struct guest_mem_map guest_map;

extern char __image_start[], __image_end[];
void image_move(uint64_t dst, uint64_t src, uint64_t len, uint64_t cr3);

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt_ident[512] __attribute__((aligned(4096)));
static uint64_t pd_ident[MAX_IDENT_2M_GB][512] __attribute__((aligned(4096)));
static uint64_t pdpt_high[512] __attribute__((aligned(4096)));
static uint64_t pd_high[512] __attribute__((aligned(4096)));

static uint64_t page_bitmap[MAX_POOL_PAGES / 64];
static uint64_t pool_first, pool_pages, pool_free;

static const char *const type_names[] = {
	"?", "usable", "reserved", "ACPI reclaim", "ACPI NVS", "unusable",
};

const char *mem_type_name(uint32_t type)
{
	return type < ARRAY_SIZE(type_names) ? type_names[type] : "?";
}

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static bool busy(const struct boot_info *bi, uint64_t base, uint64_t size)
{
	for (uint32_t i = 0; i < bi->nr_busy; i++)
		if (overlaps(base, size, bi->busy[i].base, bi->busy[i].size))
			return true;
	return false;
}

/* The highest 2 MiB aligned place of `size` bytes in usable RAM. */
static uint64_t choose_base(const struct boot_info *bi, uint64_t size)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct bi_mem_range *m = &bi->mem[i];
		uint64_t lo = MAX(ALIGN_UP(m->base, SZ_2M), 16 * SZ_1M);
		uint64_t top = m->base + m->size, cand;

		if (m->type != BI_MEM_USABLE || top < size)
			continue;
		for (cand = ALIGN_DOWN(top - size, SZ_2M); cand >= lo && cand > best;
		     cand -= SZ_2M) {
			/* the whole range must be usable: entries may be split */
			if (!busy(bi, cand, size)) {
				best = cand;
				break;
			}
		}
	}
	return best;
}

static bool range_in_usable(const struct boot_info *bi, uint64_t base, uint64_t size)
{
	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct bi_mem_range *m = &bi->mem[i];

		if (m->type == BI_MEM_USABLE && base >= m->base &&
		    base + size <= m->base + m->size)
			return true;
	}
	return false;
}

static uint64_t image_phys_of(const void *p)
{
	return umbra_mem_base + ((uint64_t)p - UMBRA_VBASE);
}

static uint64_t map_top(const struct boot_info *bi)
{
	uint64_t top = SZ_4G;

	/* umbra itself touches only RAM: guest images, tables, its own memory */
	for (uint32_t i = 0; i < bi->nr_mem; i++)
		if (bi->mem[i].type != BI_MEM_RESERVED)
			top = MAX(top, bi->mem[i].base + bi->mem[i].size);
	return ALIGN_UP(top, SZ_1G);
}

static void build_tables(const struct boot_info *bi, uint64_t image_size)
{
	bool gb_pages = cpuid(0x80000001).edx & (1u << 26);
	uint64_t top = map_top(bi), gbs = top / SZ_1G;

	if (gbs > 512)
		gbs = 512;
	if (!gb_pages && gbs > MAX_IDENT_2M_GB) {
		pr_warn("no 1 GiB pages: identity map limited to %d GiB", MAX_IDENT_2M_GB);
		gbs = MAX_IDENT_2M_GB;
	}
	for (uint64_t g = 0; g < gbs; g++) {
		if (gb_pages) {
			pdpt_ident[g] = (g * SZ_1G) | PTE_P | PTE_W | PTE_PS;
			continue;
		}
		for (int i = 0; i < 512; i++)
			pd_ident[g][i] = (g * SZ_1G + i * SZ_2M) | PTE_P | PTE_W | PTE_PS;
		pdpt_ident[g] = image_phys_of(pd_ident[g]) | PTE_P | PTE_W;
	}
	for (uint64_t off = 0; off < image_size; off += SZ_2M)
		pd_high[off / SZ_2M] = (umbra_mem_base + off) | PTE_P | PTE_W | PTE_PS | PTE_G;
	pdpt_high[510] = image_phys_of(pd_high) | PTE_P | PTE_W;
	pml4[0] = image_phys_of(pdpt_ident) | PTE_P | PTE_W;
	pml4[511] = image_phys_of(pdpt_high) | PTE_P | PTE_W;
}

static void pool_init(uint64_t image_size)
{
	pool_first = umbra_mem_base + image_size;
	pool_pages = (umbra_mem_size - image_size) / PAGE_SIZE;
	pool_free = pool_pages;
	memset(page_bitmap, 0, sizeof(page_bitmap));
}

void mem_init(struct boot_info *bi)
{
	uint64_t image_size = ALIGN_UP((uint64_t)(__image_end - __image_start), SZ_2M);
	uint64_t size = opts.mem_size;

	if (size < image_size + 4 * SZ_1M)
		size = ALIGN_UP(image_size + 4 * SZ_1M, SZ_2M);
	umbra_mem_base = choose_base(bi, size);
	if (!umbra_mem_base)
		panic("no room for umbra's %lu MiB in the firmware's memory map", size >> 20);
	if (!range_in_usable(bi, umbra_mem_base, size))
		panic("chosen range %lx+%lx is not one usable range", umbra_mem_base, size);
	umbra_mem_size = size;
	build_tables(bi, image_size);
	image_move(umbra_mem_base, bi->image_phys, image_size, image_phys_of(pml4));
	bi->image_phys = umbra_mem_base;
	pool_init(image_size);
	pr_info("umbra's memory: %016lx-%016lx (%lu MiB: image %lu KiB, %lu pages free)",
		umbra_mem_base, umbra_mem_base + umbra_mem_size - 1, umbra_mem_size >> 20,
		(uint64_t)(__image_end - __image_start) >> 10, pool_free);
}

static bool bit_test(uint64_t i)
{
	return page_bitmap[i / 64] & (1ull << (i % 64));
}

static void bits_set(uint64_t first, size_t n, bool v)
{
	for (uint64_t i = first; i < first + n; i++) {
		if (v)
			page_bitmap[i / 64] |= 1ull << (i % 64);
		else
			page_bitmap[i / 64] &= ~(1ull << (i % 64));
	}
}

/* First fit; umbra allocates rarely (tables, VMCBs, staging). */
void *page_alloc(size_t npages)
{
	uint64_t run = 0;

	for (uint64_t i = 0; i < pool_pages; i++) {
		run = bit_test(i) ? 0 : run + 1;
		if (run == npages) {
			uint64_t first = i + 1 - npages;
			void *p = phys_to_virt(pool_first + first * PAGE_SIZE);

			bits_set(first, npages, true);
			pool_free -= npages;
			memset(p, 0, npages * PAGE_SIZE);
			return p;
		}
	}
	return NULL;
}

void page_free(void *p, size_t npages)
{
	uint64_t pa = virt_to_phys(p), first = (pa - pool_first) / PAGE_SIZE;

	BUG_ON(pa < pool_first || first + npages > pool_pages || (pa & (PAGE_SIZE - 1)));
	for (uint64_t i = first; i < first + npages; i++)
		BUG_ON(!bit_test(i));
	bits_set(first, npages, false);
	pool_free += npages;
}

size_t pages_free(void)
{
	return pool_free;
}

size_t pages_total(void)
{
	return pool_pages;
}

static void guest_map_add(uint64_t base, uint64_t size, uint32_t type)
{
	if (!size)
		return;
	BUG_ON(guest_map.nr == ARRAY_SIZE(guest_map.r));
	guest_map.r[guest_map.nr++] = (struct bi_mem_range){ base, size, type, 0 };
}

static void sort_map(struct bi_mem_range *r, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		struct bi_mem_range x = r[i];
		uint32_t j = i;

		for (; j > 0 && r[j - 1].base > x.base; j--)
			r[j] = r[j - 1];
		r[j] = x;
	}
}

/* The firmware's map with umbra's range cut out of it and reserved. */
void guest_map_build(struct boot_info *bi)
{
	uint64_t ub = umbra_mem_base, ue = umbra_mem_base + umbra_mem_size;

	sort_map(bi->mem, bi->nr_mem);
	guest_map.nr = 0;
	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct bi_mem_range *m = &bi->mem[i];
		uint64_t end = m->base + m->size;

		if (!overlaps(m->base, m->size, ub, umbra_mem_size)) {
			guest_map_add(m->base, m->size, m->type);
			continue;
		}
		guest_map_add(m->base, ub > m->base ? ub - m->base : 0, m->type);
		if (ub >= m->base)
			guest_map_add(ub, umbra_mem_size, BI_MEM_RESERVED);
		if (end > ue)
			guest_map_add(ue, end - ue, m->type);
	}
	for (uint32_t i = 0; i < guest_map.nr; i++)
		pr_debug("guest map: %016lx-%016lx %s", guest_map.r[i].base,
			 guest_map.r[i].base + guest_map.r[i].size - 1,
			 mem_type_name(guest_map.r[i].type));
}

static bool guest_range_in(uint64_t base, uint64_t size, bool acpi)
{
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];
		bool ram = m->type == BI_MEM_USABLE || (acpi &&
			(m->type == BI_MEM_ACPI_RECLAIM || m->type == BI_MEM_ACPI_NVS));

		if (ram && base >= m->base &&
		    base + size <= m->base + m->size && base + size >= base)
			return true;
	}
	return false;
}

bool guest_range_usable(uint64_t base, uint64_t size)
{
	return guest_range_in(base, size, false);
}

bool guest_ram(uint64_t base, uint64_t size)
{
	return guest_range_in(base, size, true);
}
