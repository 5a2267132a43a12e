// SPDX-License-Identifier: BSD-2-Clause
/*
 * The UEFI memory map (7.2.3 EFI_BOOT_SERVICES.GetMemoryMap()) converted to
 * boot_info.mem[]: sorted by base, adjacent ranges of the same type merged.
 * Runs between the final GetMemoryMap() and ExitBootServices(), so it must
 * neither allocate nor call the firmware: it works in place in the map.
 */
#include "loader.h"

/* Descriptors larger than this are refused (edk2 uses 48 bytes). */
#define MAX_DESC_SIZE	256

#define DESC(map, i, size) \
	((EFI_MEMORY_DESCRIPTOR *)((UINT8 *)(map) + (i) * (size)))

/*
 * What each type is once boot services are gone (7.2, "Memory Type Usage
 * after ExitBootServices()"): loader and boot services memory is free, the
 * runtime services, MMIO, reserved and unknown types must be left alone.
 */
static UINT32 bi_type(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BI_MEM_USABLE;
	case EfiACPIReclaimMemory:
		return BI_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BI_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BI_MEM_UNUSABLE;
	default:
		return BI_MEM_RESERVED;
	}
}

UINT64 memmap_top(const void *map, UINTN map_size, UINTN desc_size)
{
	UINT64 top = 0;
	UINTN i;

	if (desc_size < sizeof(EFI_MEMORY_DESCRIPTOR))
		return 0;
	for (i = 0; i < map_size / desc_size; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = DESC(map, i, desc_size);
		UINT64 end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE;

		if (end > top)
			top = end;
	}
	return top;
}

/*
 * Returns EFI_UNSUPPORTED for a descriptor size we cannot handle and
 * EFI_BUFFER_TOO_SMALL when the merged map has more than BI_MAX_MEM ranges.
 */
EFI_STATUS memmap_convert(void *map, UINTN map_size, UINTN desc_size,
			  struct boot_info *bi)
{
	UINT8 tmp[MAX_DESC_SIZE];
	UINTN n, i, j, nr = 0;

	/* 7.2.3: step by DescriptorSize, never by sizeof(descriptor). */
	if (desc_size < sizeof(EFI_MEMORY_DESCRIPTOR) ||
	    desc_size > sizeof(tmp))
		return EFI_UNSUPPORTED;
	n = map_size / desc_size;

	/* Insertion sort by base: maps are short and nearly sorted. */
	for (i = 1; i < n; i++) {
		UINT64 key = DESC(map, i, desc_size)->PhysicalStart;

		if (DESC(map, i - 1, desc_size)->PhysicalStart <= key)
			continue;
		memcpy(tmp, DESC(map, i, desc_size), desc_size);
		for (j = i; j > 0 &&
		     DESC(map, j - 1, desc_size)->PhysicalStart > key; j--)
			memcpy(DESC(map, j, desc_size),
				 DESC(map, j - 1, desc_size), desc_size);
		memcpy(DESC(map, j, desc_size), tmp, desc_size);
	}

	for (i = 0; i < n; i++) {
		const EFI_MEMORY_DESCRIPTOR *d = DESC(map, i, desc_size);
		UINT64 base = d->PhysicalStart;
		UINT64 end = base + d->NumberOfPages * EFI_PAGE;
		UINT32 type = bi_type(d->Type);
		struct bi_mem_range *prev = nr ? &bi->mem[nr - 1] : NULL;

		if (end <= base)
			continue;
		if (prev && base < prev->base + prev->size) {
			/* Overlap (a firmware bug): the earlier range wins. */
			base = prev->base + prev->size;
			if (base >= end)
				continue;
		}
		if (prev && prev->type == type &&
		    prev->base + prev->size == base) {
			prev->size = end - prev->base;
			continue;
		}
		if (nr == BI_MAX_MEM)
			return EFI_BUFFER_TOO_SMALL;
		bi->mem[nr].base = base;
		bi->mem[nr].size = end - base;
		bi->mem[nr].type = type;
		bi->mem[nr].pad = 0;
		nr++;
	}
	bi->nr_mem = nr;
	return EFI_SUCCESS;
}
