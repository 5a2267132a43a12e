// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra's memory.  From the firmware's map umbra takes two ranges of usable
 * RAM, clear of everything the way in still uses: the main one at the top
 * of what umbra maps (opts.mem_size, 2 MiB aligned), where it moves its
 * image and hands out the rest as pages, and the low pool, a few pages
 * below 4 GiB for what a 32-bit register must point at.  The guest's map
 * shows both as reserved, and the NPT/EPT and the shadow MMU map them to a
 * throw-away page (arch/x86/paging/tdp.c, arch/x86/paging/shadow.c, gmem.c: umbra_frame()): the
 * guest never reaches umbra's memory.
 *
 * Host page tables: physical memory identity-mapped from 0 to max(4 GiB,
 * top of RAM), at most 512 GiB (64 GiB without 1 GiB pages), the image at
 * UMBRA_VBASE (SDM Vol 3 4.5, 4-level paging).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "core/mem.h"
#include "lib/string.h"
#include "mmu/sync.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_PS		(1ull << 7)
#define PTE_G		(1ull << 8)
#define PTE_NX		(1ull << 63)

#define MAX_IDENT_2M_GB	64		/* without 1 GiB pages */
#define MAX_IDENT_GB	512		/* one PML4 entry */
#define MAX_POOL_PAGES	(MAX_MEM_PAGES)
#define MAX_MEM_PAGES	((1ull << 30) / PAGE_SIZE)
#define LOW_POOL_PAGES	32
#define LOW_POOL_SIZE	((uint64_t)(LOW_POOL_PAGES * PAGE_SIZE))
#define MIN_UMBRA_BASE	(16 * SZ_1M)

uint64_t umbra_mem_base, umbra_mem_size;
uint64_t umbra_low_base, umbra_low_size;
static struct umbra_range umbra_ranges[UMBRA_MAX_RANGES];
static unsigned int nr_umbra_ranges;
struct guest_mem_map guest_map;

static uint64_t ident_top;		/* umbra's identity map: [0, ident_top) */

extern char __image_start[], __image_end[];
void image_move(uint64_t dst, uint64_t src, uint64_t len, uint64_t cr3);

/*
 * One set of host page tables: the final one, and the bridge (the final
 * identity map, the image where it runs now).  The identity PDs are shared.
 */
struct host_tables {
	uint64_t pml4[512], pdpt_ident[512], pdpt_high[512], pd_high[512];
};

static struct host_tables final_tables __attribute__((aligned(4096)));
static struct host_tables bridge_tables __attribute__((aligned(4096)));
static uint64_t pd_ident[MAX_IDENT_2M_GB][512] __attribute__((aligned(4096)));

static uint64_t page_bitmap[MAX_POOL_PAGES / 64];
static uint64_t pool_first, pool_pages, pool_free;
static uint64_t pool_hint;	/* no free page in the bitmap words before it */
static uint64_t low_bitmap;		/* LOW_POOL_PAGES bits */

static const char *const type_names[] = {
	"?", "usable", "reserved", "ACPI reclaim", "ACPI NVS", "unusable",
};

static const char *mem_type_name(uint32_t type)
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

bool umbra_owns(uint64_t pa, uint64_t size)
{
	for (unsigned int i = 0; i < nr_umbra_ranges; i++)
		if (overlaps(pa, size, umbra_ranges[i].base, umbra_ranges[i].size))
			return true;
	return false;
}

bool umbra_frame(uint64_t pfn)
{
	return umbra_owns(pfn << PAGE_SHIFT, PAGE_SIZE);
}

/*
 * The highest `align` aligned place of `size` bytes in usable RAM that ends
 * at or below `limit`, above MIN_UMBRA_BASE and clear of everything in use.
 */
static uint64_t choose_base(const struct boot_info *bi, uint64_t size,
			    uint64_t align, uint64_t limit)
{
	uint64_t best = 0;

	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct bi_mem_range *m = &bi->mem[i];
		uint64_t lo = MAX(ALIGN_UP(m->base, align), MIN_UMBRA_BASE);
		uint64_t top = MIN(m->base + m->size, limit), cand;

		if (m->type != BI_MEM_USABLE || top < lo + size)
			continue;
		for (cand = ALIGN_DOWN(top - size, align); cand >= lo && cand > best;
		     cand -= align) {
			/* the whole range must be usable: entries may be split */
			if (!busy(bi, cand, size) && !umbra_owns(cand, size)) {
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

static void add_umbra_range(uint64_t base, uint64_t size)
{
	BUG_ON(nr_umbra_ranges == UMBRA_MAX_RANGES);
	umbra_ranges[nr_umbra_ranges++] = (struct umbra_range){ base, size };
}

static unsigned int nr_claims;	/* the last ones of umbra_ranges[] */

void umbra_claim_as(uint64_t base, uint64_t size, const char *what)
{
	nr_claims++;
	pr_info("umbra claims %lx-%lx (%s)", base, base + size - 1, what);
	add_umbra_range(base, size);
}

void umbra_claim(uint64_t base, uint64_t size)
{
	umbra_claim_as(base, size, "device registers");
}

/* Where the image at UMBRA_VBASE puts `p` when it lies at `image_pa`. */
static uint64_t phys_of(const void *p, uint64_t image_pa)
{
	return image_pa + ((uint64_t)p - UMBRA_VBASE);
}

/* The end of RAM, rounded up to 1 GiB, at least 4 GiB. */
static uint64_t map_top(const struct boot_info *bi)
{
	uint64_t top = SZ_4G;

	/* umbra itself touches only RAM: guest images, tables, its own memory */
	for (uint32_t i = 0; i < bi->nr_mem; i++)
		if (bi->mem[i].type != BI_MEM_RESERVED)
			top = MAX(top, bi->mem[i].base + bi->mem[i].size);
	return ALIGN_UP(top, SZ_1G);
}

/*
 * How far umbra's identity map reaches: all of RAM, but one PDPT of 1 GiB
 * pages (SDM Vol 3 4.5, Table 4-15) or MAX_IDENT_2M_GB page directories of
 * 2 MiB pages at most.  RAM beyond it is withheld from the guest
 * (guest_map_build): umbra could not read the guest's tables there.
 */
static uint64_t choose_ident_top(const struct boot_info *bi)
{
	uint64_t top = map_top(bi);
	uint64_t max = (uint64_t)(cpu_gbpages() ? MAX_IDENT_GB : MAX_IDENT_2M_GB) * SZ_1G;

	if (top > max) {
		pr_warn("RAM above %lu GiB is withheld from the guest: umbra maps only %lu GiB%s",
			(uint64_t)(max / SZ_1G), (uint64_t)(max / SZ_1G),
			cpu_gbpages() ? "" : " without 1 GiB pages");
		top = max;
	}
	return top;
}

static void fill_ident_pds(uint64_t gbs)
{
	for (uint64_t g = 0; g < gbs && !cpu_gbpages(); g++)
		for (int i = 0; i < 512; i++)
			pd_ident[g][i] = (g * SZ_1G + i * SZ_2M) | PTE_P | PTE_W | PTE_PS;
}

/* Link `t` for an image at `image_pa`: identity to ident_top, the image at UMBRA_VBASE. */
static void link_tables(struct host_tables *t, uint64_t image_pa,
			uint64_t image_size, uint64_t global)
{
	uint64_t gbs = ident_top / SZ_1G;

	for (uint64_t g = 0; g < gbs; g++) {
		if (cpu_gbpages())
			t->pdpt_ident[g] = (g * SZ_1G) | PTE_P | PTE_W | PTE_PS;
		else
			t->pdpt_ident[g] = phys_of(pd_ident[g], image_pa) | PTE_P | PTE_W;
	}
	for (uint64_t off = 0; off < image_size; off += SZ_2M)
		t->pd_high[off / SZ_2M] = (image_pa + off) | PTE_P | PTE_W | PTE_PS | global;
	t->pdpt_high[510] = phys_of(t->pd_high, image_pa) | PTE_P | PTE_W;
	t->pml4[0] = phys_of(t->pdpt_ident, image_pa) | PTE_P | PTE_W;
	t->pml4[511] = phys_of(t->pdpt_high, image_pa) | PTE_P | PTE_W;
}

/*
 * The way in identity-maps only what it must (GRUB's stub: the first
 * 4 GiB), and umbra's memory may lie above that.  So: build the final
 * tables for the image's new place, switch to a bridge that has the final
 * identity map but the image where it runs now, and copy the image with
 * both ends mapped (image_move: copy, then load the final CR3; the virtual
 * addresses do not change).  No global pages yet: CR4.PGE is clear here.
 */
static void move_image(struct boot_info *bi, uint64_t image_size)
{
	fill_ident_pds(ident_top / SZ_1G);
	link_tables(&final_tables, umbra_mem_base, image_size, PTE_G);
	link_tables(&bridge_tables, bi->image_phys, image_size, 0);
	write_cr3(phys_of(bridge_tables.pml4, bi->image_phys));
	image_move(umbra_mem_base, (uint64_t)__image_start, image_size,
		   phys_of(final_tables.pml4, umbra_mem_base));
	bi->image_phys = umbra_mem_base;
}

static void pool_init(uint64_t image_size)
{
	pool_first = umbra_mem_base + image_size;
	pool_pages = (umbra_mem_size - image_size) / PAGE_SIZE;
	pool_free = pool_pages;
	memset(page_bitmap, 0, sizeof(page_bitmap));
	pool_hint = 0;
	low_bitmap = 0;
}

/*
 * The low pool: a few pages below 4 GiB for what a 32-bit register must
 * point at.  Outside IA-32e mode only CR3[31:5] locates the PAE PDPTEs
 * (SDM Vol 3 4.4.1; APM Vol 2 5.2.1): the shadow MMU's PAE roots live here
 * (KVM takes its PAE root from the low 4 GiB for the same reason).
 */
static void choose_low_pool(const struct boot_info *bi)
{
	umbra_low_base = choose_base(bi, LOW_POOL_SIZE, LOW_POOL_SIZE, SZ_4G);
	if (!umbra_low_base)
		panic("no room below 4 GiB for umbra's %lu KiB low pool",
		      LOW_POOL_SIZE >> 10);
	umbra_low_size = LOW_POOL_SIZE;
	add_umbra_range(umbra_low_base, umbra_low_size);
}

void mem_init(struct boot_info *bi)
{
	uint64_t image_size = ALIGN_UP((uint64_t)(__image_end - __image_start), SZ_2M);
	uint64_t size = opts.mem_size;

	if (size < image_size + 4 * SZ_1M)
		size = ALIGN_UP(image_size + 4 * SZ_1M, SZ_2M);
	ident_top = choose_ident_top(bi);
	umbra_mem_base = choose_base(bi, size, SZ_2M, ident_top);
	if (!umbra_mem_base)
		panic("no room for umbra's %lu MiB in the firmware's memory map", size >> 20);
	if (!range_in_usable(bi, umbra_mem_base, size))
		panic("chosen range %lx+%lx is not one usable range", umbra_mem_base, size);
	umbra_mem_size = size;
	add_umbra_range(umbra_mem_base, umbra_mem_size);
	choose_low_pool(bi);
	move_image(bi, image_size);
	pool_init(image_size);
	pr_info("umbra's memory: %016lx-%016lx (%lu MiB: image %lu KiB, %lu pages free)",
		umbra_mem_base, umbra_mem_base + umbra_mem_size - 1, umbra_mem_size >> 20,
		(uint64_t)(__image_end - __image_start) >> 10, pool_free);
	pr_info("umbra's low pool: %016lx-%016lx (%u pages, below 4 GiB)",
		umbra_low_base, umbra_low_base + LOW_POOL_SIZE - 1, LOW_POOL_PAGES);
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

static struct spinlock pool_lock;	/* the bitmaps, from every CPU */

/*
 * One page, the lowest free one: a word at a time from the first word
 * that may have one (the shadow MMU allocates a page per shadow table).
 */
static void *pool_alloc_one(void)
{
	uint64_t words = (pool_pages + 63) / 64;

	for (uint64_t w = pool_hint; w < words; w++) {
		uint64_t i;

		if (page_bitmap[w] == ~0ull)
			continue;
		i = w * 64 + (uint64_t)__builtin_ctzll(~page_bitmap[w]);
		pool_hint = w;
		if (i >= pool_pages)
			break;
		page_bitmap[w] |= 1ull << (i % 64);
		pool_free--;
		return memset(phys_to_virt(pool_first + i * PAGE_SIZE), 0,
			      PAGE_SIZE);
	}
	pool_hint = words;
	return NULL;
}

/* First fit; runs of pages are rare (VMCBs, I/O bitmaps, staging). */
static void *pool_alloc(size_t npages)
{
	uint64_t run = 0;

	if (npages == 1)
		return pool_alloc_one();
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

void *page_alloc(size_t npages)
{
	void *p;

	spin_lock(&pool_lock);
	p = pool_alloc(npages);
	spin_unlock(&pool_lock);
	return p;
}

static void *low_alloc(void)
{
	for (unsigned int i = 0; i < LOW_POOL_PAGES; i++) {
		if (!(low_bitmap & (1ull << i))) {
			void *p = phys_to_virt(umbra_low_base + i * PAGE_SIZE);

			low_bitmap |= 1ull << i;
			memset(p, 0, PAGE_SIZE);
			return p;
		}
	}
	return NULL;
}

static void low_free(uint64_t pa, size_t npages)
{
	uint64_t i = (pa - umbra_low_base) / PAGE_SIZE;

	BUG_ON(npages != 1 || (pa & (PAGE_SIZE - 1)) || !(low_bitmap & (1ull << i)));
	low_bitmap &= ~(1ull << i);
}

/* A page below 4 GiB (the low pool), zeroed; NULL when none is left. */
void *page_alloc_low(void)
{
	void *p;

	spin_lock(&pool_lock);
	p = low_alloc();
	spin_unlock(&pool_lock);
	return p;
}

static void pool_free_pages(void *p, size_t npages)
{
	uint64_t pa = virt_to_phys(p), first = (pa - pool_first) / PAGE_SIZE;

	if (pa >= umbra_low_base && pa - umbra_low_base < LOW_POOL_SIZE) {
		low_free(pa, npages);
		return;
	}
	BUG_ON(pa < pool_first || first + npages > pool_pages || (pa & (PAGE_SIZE - 1)));
	for (uint64_t i = first; i < first + npages; i++)
		BUG_ON(!bit_test(i));
	bits_set(first, npages, false);
	pool_free += npages;
	if (first / 64 < pool_hint)
		pool_hint = first / 64;
}

void page_free(void *p, size_t npages)
{
	spin_lock(&pool_lock);
	pool_free_pages(p, npages);
	spin_unlock(&pool_lock);
}

size_t pages_free(void)
{
	return pool_free;
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

/* The lowest of umbra's ranges that overlaps [base, end), or NULL. */
static const struct umbra_range *first_umbra_range(uint64_t base, uint64_t end)
{
	const struct umbra_range *best = NULL;

	for (unsigned int i = 0; i < nr_umbra_ranges; i++) {
		const struct umbra_range *r = &umbra_ranges[i];

		if (overlaps(base, end - base, r->base, r->size) &&
		    (!best || r->base < best->base))
			best = r;
	}
	return best;
}

/* [base, end) of `type`, with umbra's ranges in it reserved. */
static void guest_map_add_cut(uint64_t base, uint64_t end, uint32_t type)
{
	while (base < end) {
		const struct umbra_range *r = first_umbra_range(base, end);
		uint64_t rb, re;

		if (!r) {
			guest_map_add(base, end - base, type);
			return;
		}
		rb = MAX(r->base, base);
		re = MIN(r->base + r->size, end);
		guest_map_add(base, rb - base, type);
		guest_map_add(rb, re - rb, BI_MEM_RESERVED);
		base = re;
	}
}

/* umbra_claim() ranges in the firmware map's holes: reserved entries too. */
static void guest_map_add_claims(void)
{
	for (unsigned int i = nr_umbra_ranges - nr_claims; i < nr_umbra_ranges; i++) {
		const struct umbra_range *r = &umbra_ranges[i];
		bool listed = false;

		for (uint32_t j = 0; j < guest_map.nr; j++)
			listed |= overlaps(r->base, r->size, guest_map.r[j].base,
					   guest_map.r[j].size);
		if (!listed)
			guest_map_add(r->base, r->size, BI_MEM_RESERVED);
	}
	sort_map(guest_map.r, guest_map.nr);
}

/*
 * The firmware's map with umbra's ranges cut out of it and reserved, and
 * RAM beyond umbra's identity map (choose_ident_top) reserved too.
 */
void guest_map_build(struct boot_info *bi)
{
	sort_map(bi->mem, bi->nr_mem);
	guest_map.nr = 0;
	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct bi_mem_range *m = &bi->mem[i];
		uint64_t end = m->base + m->size;
		uint64_t cut = m->type == BI_MEM_RESERVED ? end : MIN(end, ident_top);

		if (cut > m->base) {
			guest_map_add_cut(m->base, cut, m->type);
			guest_map_add(cut, end - cut, BI_MEM_RESERVED);
		} else {
			guest_map_add(m->base, m->size, BI_MEM_RESERVED);
		}
	}
	guest_map_add_claims();
	for (uint32_t i = 0; i < guest_map.nr; i++)
		pr_debug("guest map: %016lx-%016lx %s", guest_map.r[i].base,
			 guest_map.r[i].base + guest_map.r[i].size - 1,
			 mem_type_name(guest_map.r[i].type));
}

static bool range_in(const struct bi_mem_range *m, uint64_t base,
		     uint64_t size, bool acpi)
{
	bool ram = m->type == BI_MEM_USABLE || (acpi &&
		(m->type == BI_MEM_ACPI_RECLAIM || m->type == BI_MEM_ACPI_NVS));

	return ram && base >= m->base && base + size <= m->base + m->size &&
	       base + size >= base;
}

/*
 * The guest map is fixed once the guest runs; the range that answered
 * last is asked first (the walks and the shadow MMU ask per PTE).
 */
static bool guest_range_in(uint64_t base, uint64_t size, bool acpi)
{
	static uint32_t last;
	uint32_t hint = __atomic_load_n(&last, __ATOMIC_RELAXED);

	if (hint < guest_map.nr && range_in(&guest_map.r[hint], base, size, acpi))
		return true;
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		if (range_in(&guest_map.r[i], base, size, acpi)) {
			__atomic_store_n(&last, i, __ATOMIC_RELAXED);
			return true;
		}
	}
	return false;
}

static bool page_is_zero(const uint64_t *p)
{
	for (unsigned int i = 0; i < PAGE_SIZE / 8; i += 8)
		if (p[i] | p[i + 1] | p[i + 2] | p[i + 3] | p[i + 4] | p[i + 5] |
		    p[i + 6] | p[i + 7])
			return false;
	return true;
}

/*
 * Zero [pa, pa + len), whole pages only where they are not zero already:
 * most of a boot loader's heap was never touched, and reading is cheaper
 * than writing (an emulator allocates guest RAM on the first write).
 */
static void zero_phys(uint64_t pa, uint64_t len)
{
	uint64_t end = pa + len, next;

	for (; pa < end; pa = next) {
		uint64_t *p = phys_to_virt(pa);

		next = MIN(ALIGN_DOWN(pa, PAGE_SIZE) + PAGE_SIZE, end);
		if (next - pa == PAGE_SIZE && page_is_zero(p))
			continue;
		memset(p, 0, next - pa);
	}
}

/* Zero what of [base, base + size) is usable guest RAM. */
static void zero_guest_part(uint64_t base, uint64_t size)
{
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];
		uint64_t lo = MAX(base, m->base);
		uint64_t hi = MIN(base + size, m->base + m->size);

		if (m->type != BI_MEM_USABLE || lo >= hi)
			continue;
		pr_debug("clearing boot-time data at %016lx-%016lx", lo, hi - 1);
		zero_phys(lo, hi - lo);
	}
}

/*
 * Everything the way in left in what is now the guest's RAM: the image it
 * loaded (GRUB's copy at 2 MiB, umbra.efi's), its page tables and stack,
 * the boot information, the modules (staged by now), and the boot loader's
 * own memory (GRUB's heap on UEFI, with its copies of umbra.elf).  None of
 * it is used once the image has moved and the modules are staged; the
 * guest must find none of umbra's data in its memory.
 */
void mem_scrub_boot(const struct boot_info *bi)
{
	for (uint32_t i = 0; i < bi->nr_busy; i++)
		zero_guest_part(bi->busy[i].base, bi->busy[i].size);
	for (uint32_t i = 0; i < bi->nr_scrub && i < BI_MAX_SCRUB; i++)
		zero_guest_part(bi->scrub[i].base, bi->scrub[i].size);
}

bool guest_range_usable(uint64_t base, uint64_t size)
{
	return guest_range_in(base, size, false);
}

bool guest_ram(uint64_t base, uint64_t size)
{
	return guest_range_in(base, size, true);
}
