// SPDX-License-Identifier: BSD-2-Clause
/*
 * Leaving the firmware: allocate everything the hand-off needs, take the
 * final memory map, ExitBootServices(), build the page tables, switch to
 * them and call the core.
 */
#include "arch/x86/cpu/cpu.h"
#include "mmu/pt.h"
#include "loader.h"

#define PTE_ADDR	0x000ffffffffff000ull

#define STACK_PAGES	4	/* the core switches to its own stack at once */
#define MAP_SLACK	64	/* descriptors the map may grow by meanwhile */
#define EXIT_TRIES	8

static bool have_gbpages(void)
{
	if (cpuid(0x80000000).eax < 0x80000001)
		return false;
	return cpuid(0x80000001).edx & (1u << 26);	/* Page1GB */
}

static UINTN pt_pages_needed(const struct handoff *h)
{
	UINTN n = 1;					/* PML4 */

	n += DIV_UP(h->ident_top, SZ_512G);		/* identity PDPTs */
	if (!h->gbpages)
		n += h->ident_top / SZ_1G;		/* identity PDs */
	n += 1 + DIV_UP(h->core_span, SZ_1G);		/* image PDPT, PDs */
	return n;
}

/*
 * Before the final memory map: the stack, the map buffer and the page
 * tables, sized from the current map (later allocations only split
 * existing ranges, so the top of the map cannot grow).
 */
EFI_STATUS handoff_prepare(struct handoff *h)
{
	EFI_PHYSICAL_ADDRESS a;
	EFI_STATUS st;
	UINTN size = 0, key, desc_size;
	UINT32 desc_ver;

	/*
	 * 2.3.4: the firmware leaves us in long mode with paging on.  Should
	 * it use 5-level paging, our 4-level tables would not do, and LA57
	 * cannot be cleared while paging is on.
	 */
	if (read_cr4() & CR4_LA57) {
		err(L"the firmware runs with 5-level paging; not supported\n");
		return EFI_UNSUPPORTED;
	}
	h->gbpages = have_gbpages();

	h->stack_pages = STACK_PAGES;
	st = alloc_pages(h->stack_pages, &h->stack_base);
	if (EFI_ERROR(st)) {
		err(L"no memory for the hand-off stack: %r\n", st);
		return st;
	}

	/* 7.2.3: a too small buffer returns the size needed. */
	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, NULL, &key,
			       &desc_size, &desc_ver);
	if (st != EFI_BUFFER_TOO_SMALL) {
		err(L"GetMemoryMap() did not report its size: %r\n", st);
		return EFI_ERROR(st) ? st : EFI_DEVICE_ERROR;
	}
	size += MAP_SLACK * desc_size;
	st = alloc_pages(DIV_UP(size, EFI_PAGE), &a);
	if (EFI_ERROR(st)) {
		err(L"no memory for the memory map: %r\n", st);
		return st;
	}
	h->map = (void *)(UINTN)a;
	h->map_cap = DIV_UP(size, EFI_PAGE) * EFI_PAGE;

	size = h->map_cap;
	st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, h->map, &key,
			       &desc_size, &desc_ver);
	if (EFI_ERROR(st)) {
		err(L"GetMemoryMap() failed: %r\n", st);
		return st;
	}
	h->ident_top = ALIGN_UP(memmap_top(h->map, size, desc_size), SZ_1G);
	if (h->ident_top < 4 * SZ_1G)
		h->ident_top = 4 * SZ_1G;
	/* The identity map must stay in the lower half (PML4 0..255). */
	if (h->ident_top > 256 * SZ_512G) {
		err(L"memory map ends at 0x%lx, beyond 128 TiB\n", h->ident_top);
		return EFI_UNSUPPORTED;
	}

	h->pt_pages = pt_pages_needed(h);
	st = alloc_pages(h->pt_pages, &h->pt_base);
	if (EFI_ERROR(st)) {
		err(L"no memory for %ld pages of page tables: %r\n",
		    (UINT64)h->pt_pages, st);
		return st;
	}
	bs_zero((void *)(UINTN)h->pt_base, h->pt_pages * EFI_PAGE);
	return EFI_SUCCESS;
}

/* Runs after ExitBootServices(): plain stores into pages allocated before. */
void handoff_build_tables(const struct handoff *h)
{
	UINT64 *pml4 = (UINT64 *)(UINTN)h->pt_base;
	UINT64 next = h->pt_base + EFI_PAGE;
	UINT64 gib, off, *pdpt, *pd;
	UINTN i;

	for (gib = 0; gib < h->ident_top / SZ_1G; gib++) {
		UINTN i4 = gib / 512, i3 = gib % 512;

		if (!pml4[i4]) {
			pml4[i4] = next | PTE_P | PTE_RW;
			next += EFI_PAGE;
		}
		pdpt = (UINT64 *)(UINTN)(pml4[i4] & PTE_ADDR);
		if (h->gbpages) {
			pdpt[i3] = gib * SZ_1G | PTE_P | PTE_RW | PTE_PS;
			continue;
		}
		pd = (UINT64 *)(UINTN)next;
		next += EFI_PAGE;
		pdpt[i3] = (UINT64)(UINTN)pd | PTE_P | PTE_RW;
		for (i = 0; i < 512; i++)
			pd[i] = (gib * SZ_1G + i * SZ_2M) | PTE_P | PTE_RW |
				PTE_PS;
	}

	/* UMBRA_VBASE = PML4 511, PDPT 510: room for 2 GiB of image. */
	pdpt = (UINT64 *)(UINTN)next;
	next += EFI_PAGE;
	pml4[(UMBRA_VBASE >> 39) & 511] = (UINT64)(UINTN)pdpt | PTE_P | PTE_RW;
	pd = NULL;
	for (off = 0; off < h->core_span; off += SZ_2M) {
		UINT64 va = UMBRA_VBASE + off;

		if (!pd || ((va >> 21) & 511) == 0) {
			pd = (UINT64 *)(UINTN)next;
			next += EFI_PAGE;
			pdpt[(va >> 30) & 511] = (UINT64)(UINTN)pd | PTE_P |
						 PTE_RW;
		}
		pd[(va >> 21) & 511] = (h->core_phys + off) | PTE_P | PTE_RW |
				       PTE_PS;
	}
}

static void __attribute__((noreturn)) enter_core(const struct handoff *h)
{
	UINT64 stack_top = h->stack_base + h->stack_pages * EFI_PAGE;
	UINT64 cr4;

	__asm__ __volatile__("cli" : : : "memory");
	handoff_build_tables(h);
	write_cr3(h->pt_base);
	/* Drop global TLB entries the firmware may have left, too. */
	cr4 = read_cr4();
	if (cr4 & CR4_PGE) {
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
	}
	/*
	 * A call from a 16-byte aligned stack, as the System V ABI wants; the
	 * core never returns, but if it does the CPU halts here.
	 */
	__asm__ __volatile__("mov %[stack], %%rsp\n\t"
		     "xor %%ebp, %%ebp\n\t"
		     "cld\n\t"
		     "call *%[entry]\n"
		     "1:\tcli\n\t"
		     "hlt\n\t"
		     "jmp 1b"
		     :
		     : [stack] "r"(stack_top & ~15ull), [entry] "r"(h->entry64),
		       "D"(h->bi)
		     : "memory");
	__builtin_unreachable();
}

/*
 * 7.4.6 EFI_BOOT_SERVICES.ExitBootServices(): the MapKey must be the one of
 * the latest GetMemoryMap(); on EFI_INVALID_PARAMETER take the map again and
 * retry.  After the first call only the memory allocation services may be
 * used, so nothing is printed once it has been made.  Returns only on error.
 */
EFI_STATUS handoff_exit_and_enter(EFI_HANDLE image, struct handoff *h)
{
	EFI_STATUS st = EFI_ABORTED;
	UINTN size, key, desc_size;
	UINT32 desc_ver;
	int i;

	for (i = 0; i < EXIT_TRIES; i++) {
		size = h->map_cap;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &size, h->map,
				       &key, &desc_size, &desc_ver);
		if (EFI_ERROR(st)) {
			if (!h->exit_tried)
				err(L"final GetMemoryMap() failed: %r\n", st);
			return st;
		}
		st = memmap_convert(h->map, size, desc_size, h->bi);
		if (st == EFI_BUFFER_TOO_SMALL) {
			if (!h->exit_tried)
				err(L"the memory map has more than %d ranges after merging\n",
				    BI_MAX_MEM);
			return st;
		}
		if (EFI_ERROR(st)) {
			if (!h->exit_tried)
				err(L"memory descriptors of %ld bytes are not supported\n",
				    (UINT64)desc_size);
			return st;
		}
		if (memmap_top(h->map, size, desc_size) > h->ident_top) {
			if (!h->exit_tried)
				err(L"the memory map grew beyond 0x%lx\n",
				    h->ident_top);
			return EFI_UNSUPPORTED;
		}
		h->exit_tried = true;
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (st == EFI_SUCCESS)
			enter_core(h);
		if (st != EFI_INVALID_PARAMETER)
			return st;
	}
	return st;
}
