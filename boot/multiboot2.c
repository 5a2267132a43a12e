// SPDX-License-Identifier: BSD-2-Clause
/*
 * Multiboot2 boot information -> struct boot_info (Multiboot2 spec 3.6).
 * Runs on the stub's page tables, which identity-map the first 4 GiB: the
 * information and the modules are below 4 GiB there by construction.
 */
#include "arch/x86/cpu/idt.h"
#include "drivers/serial.h"
#include "lib/string.h"
#include "umbra/bootinfo.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define MB2_BOOTLOADER_MAGIC	0x36d76289

#define MB2_TAG_END		0
#define MB2_TAG_CMDLINE		1
#define MB2_TAG_MODULE		3
#define MB2_TAG_MMAP		6
#define MB2_TAG_EFI32		11
#define MB2_TAG_EFI64		12
#define MB2_TAG_EFI_MMAP	17
#define MB2_TAG_ACPI_OLD	14
#define MB2_TAG_ACPI_NEW	15

#define RSDP_V1_LEN		20	/* ACPI 6.4, 5.2.5.3: through RsdtAddress */
#define RSDP_V2_LEN		36	/* ... through the extended checksum */
#define BIOS_AREA		0xe0000ull
#define BIOS_AREA_END		0x100000ull
#define FOUR_GB			0x100000000ull

struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_module {
	struct mb2_tag tag;
	uint32_t start, end;
	char cmdline[];
};

struct mb2_mmap {
	struct mb2_tag tag;
	uint32_t entry_size, entry_version;
	uint8_t entries[];
};

struct mb2_mmap_entry {
	uint64_t base, len;
	uint32_t type, reserved;
};

/* Multiboot2 spec 3.6.17: the EFI memory map, after ExitBootServices(). */
struct mb2_efi_mmap {
	struct mb2_tag tag;
	uint32_t desc_size, desc_version;
	uint8_t descs[];
};

/* UEFI 2.10 7.2.3, EFI_MEMORY_DESCRIPTOR */
struct efi_mem_desc {
	uint32_t type;
	uint32_t pad;
	uint64_t phys, virt, pages, attr;
};

#define EFI_LOADER_CODE		1
#define EFI_LOADER_DATA		2

static struct boot_info mb2_bi;


extern char __boot_start_phys[], __boot_end[], __image_start[], __image_end[];

#define STUB_PHYS	0x100000ull
#define CORE_LOAD	0x200000ull

static void add_busy(struct boot_info *bi, uint64_t base, uint64_t size)
{
	if (bi->nr_busy < BI_MAX_BUSY)
		bi->busy[bi->nr_busy++] = (struct bi_mem_range){ base, size, 0, 0 };
	else
		panic("too many busy ranges at boot");
}

static void parse_module(struct boot_info *bi, const struct mb2_module *m)
{
	struct bi_module *mod;

	if (bi->nr_modules == BI_MAX_MODULES) {
		pr_warn("more than %d modules; '%s' ignored", BI_MAX_MODULES,
			m->cmdline);
		return;
	}
	mod = &bi->modules[bi->nr_modules++];
	mod->base = m->start;
	mod->size = m->end - m->start;
	mod->cmdline_len = strlen(m->cmdline);
	strlcpy(mod->cmdline, m->cmdline, sizeof(mod->cmdline));
	add_busy(bi, mod->base, mod->size);
}

/* Merge with the last range, or widen it when the list is full (bootinfo.h). */
static void add_scrub(struct boot_info *bi, uint64_t base, uint64_t size)
{
	struct bi_mem_range *last = &bi->scrub[bi->nr_scrub - 1];

	if (bi->nr_scrub && (base == last->base + last->size ||
			     bi->nr_scrub == BI_MAX_SCRUB)) {
		uint64_t end = MAX(last->base + last->size, base + size);

		last->base = MIN(last->base, base);
		last->size = end - last->base;
		return;
	}
	bi->scrub[bi->nr_scrub++] = (struct bi_mem_range){ base, size, 0, 0 };
}

/*
 * GRUB on UEFI runs from EfiLoaderCode/Data memory (its heap, where it
 * also read umbra.elf), which its multiboot2 map calls available.
 */
static void parse_efi_mmap(struct boot_info *bi, const struct mb2_efi_mmap *t)
{
	const uint8_t *p = t->descs, *end = (const uint8_t *)t + t->tag.size;

	if (t->desc_size < sizeof(struct efi_mem_desc))
		return;
	for (; p + t->desc_size <= end; p += t->desc_size) {
		const struct efi_mem_desc *d = (const void *)p;

		if (d->type == EFI_LOADER_CODE || d->type == EFI_LOADER_DATA)
			add_scrub(bi, d->phys, d->pages * PAGE_SIZE);
	}
}

/* Multiboot2's memory types are e820's, as boot_info's are (bootinfo.h):
   1 available, 3 ACPI reclaimable, 4 ACPI NVS, 5 defective; the rest reserved. */
static uint32_t mem_type(uint32_t mb2_type)
{
	return mb2_type >= BI_MEM_USABLE && mb2_type <= BI_MEM_UNUSABLE ?
	       mb2_type : BI_MEM_RESERVED;
}

static void parse_mmap(struct boot_info *bi, const struct mb2_mmap *t)
{
	const uint8_t *p = t->entries, *end = (const uint8_t *)t + t->tag.size;

	for (; p + sizeof(struct mb2_mmap_entry) <= end; p += t->entry_size) {
		const struct mb2_mmap_entry *e = (const void *)p;

		if (bi->nr_mem == BI_MAX_MEM)
			panic("firmware memory map has more than %d entries",
			      BI_MAX_MEM);
		bi->mem[bi->nr_mem++] = (struct bi_mem_range){
			e->base, e->len, mem_type(e->type), 0 };
	}
}

/*
 * GRUB hands over copies of the RSDP (tag 14: ACPI 1.0, tag 15: 2.0),
 * not their addresses, which Linux wants in boot_params when it cannot
 * find the RSDP in the BIOS area (a UEFI machine).  The copies are kept
 * here and looked for, the 2.0 one first, in the firmware's ACPI memory
 * and the BIOS area: an RSDP is 16-byte aligned (ACPI 6.4, 5.2.5.1).
 * OVMF keeps its 1.0 RSDP in ACPI memory and its 2.0 one elsewhere.
 */
struct rsdp_copy {
	uint8_t bytes[RSDP_V2_LEN];
	uint32_t len;			/* 0: GRUB passed none */
};

static struct rsdp_copy rsdp_v1, rsdp_v2;

static void keep_rsdp(const struct mb2_tag *tag)
{
	bool v2 = tag->type == MB2_TAG_ACPI_NEW;
	struct rsdp_copy *c = v2 ? &rsdp_v2 : &rsdp_v1;
	uint32_t len = v2 ? RSDP_V2_LEN : RSDP_V1_LEN;

	if (tag->size < sizeof(*tag) + len)
		return;
	memcpy(c->bytes, tag + 1, len);
	c->len = len;
}

static uint64_t scan_rsdp(const struct rsdp_copy *c, uint64_t base, uint64_t end)
{
	base = (base + 15) & ~15ull;
	if (end > FOUR_GB)
		end = FOUR_GB;
	for (; base + c->len <= end; base += 16)
		if (!memcmp((const void *)base, c->bytes, c->len))
			return base;
	return 0;
}

static uint64_t find_copy(const struct boot_info *bi, const struct rsdp_copy *c)
{
	uint64_t pa = 0;

	if (!c->len)
		return 0;
	for (uint32_t i = 0; i < bi->nr_mem && !pa; i++) {
		const struct bi_mem_range *m = &bi->mem[i];

		if (m->type == BI_MEM_ACPI_RECLAIM || m->type == BI_MEM_ACPI_NVS)
			pa = scan_rsdp(c, m->base, m->base + m->size);
	}
	return pa ? pa : scan_rsdp(c, BIOS_AREA, BIOS_AREA_END);
}

static uint64_t find_rsdp(const struct boot_info *bi)
{
	uint64_t pa = find_copy(bi, &rsdp_v2);

	if (!pa)
		pa = find_copy(bi, &rsdp_v1);
	if (!pa && (rsdp_v1.len || rsdp_v2.len))
		pr_warn("GRUB passed an RSDP, but it is not in ACPI memory or the BIOS area");
	return pa;
}

static void parse_info(struct boot_info *bi, uint64_t info)
{
	uint32_t total = *(uint32_t *)info;
	uint64_t p = info + 8;

	add_busy(bi, info, total);
	while (p + sizeof(struct mb2_tag) <= info + total) {
		const struct mb2_tag *tag = (const void *)p;

		switch (tag->type) {
		case MB2_TAG_END:
			return;
		case MB2_TAG_CMDLINE:
			if (strlcpy(bi->cmdline, (const char *)(tag + 1),
				    sizeof(bi->cmdline)) >= sizeof(bi->cmdline))
				pr_warn("umbra's command line is longer than %lu characters: the rest is ignored",
					sizeof(bi->cmdline) - 1);
			break;
		case MB2_TAG_MODULE:
			parse_module(bi, (const void *)tag);
			break;
		case MB2_TAG_MMAP:
			parse_mmap(bi, (const void *)tag);
			break;
		case MB2_TAG_EFI32:
		case MB2_TAG_EFI64:
			bi->firmware = BI_FW_UEFI_GRUB;
			break;
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			keep_rsdp(tag);
			break;
		case MB2_TAG_EFI_MMAP:
			parse_efi_mmap(bi, (const void *)tag);
			break;
		}
		p += (tag->size + 7) & ~7ull;
	}
}

void mb2_start(uint32_t magic, uint32_t info);

void mb2_start(uint32_t magic, uint32_t info)
{
	struct boot_info *bi = &mb2_bi;

	serial_init(COM1_PORT);
	cpu_tables_init();
	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("entered through multiboot2 with magic %08x (want %08x)",
		      magic, MB2_BOOTLOADER_MAGIC);
	bi->firmware = BI_FW_BIOS;
	bi->image_phys = CORE_LOAD;
	add_busy(bi, STUB_PHYS, (uint64_t)__boot_end - STUB_PHYS);
	add_busy(bi, CORE_LOAD, (uint64_t)(__image_end - __image_start));
	parse_info(bi, info);
	/*
	 * GRUB on a BIOS machine says nothing of its own memory (its heap,
	 * the relocator's copy of umbra.elf): all it can have used, the RAM
	 * from 1 MiB to 4 GiB (it runs in 32-bit protected mode), is cleared.
	 * Below 1 MiB the BIOS data the guest needs lives in usable RAM.
	 */
	if (bi->firmware == BI_FW_BIOS)
		add_scrub(bi, SZ_1M, FOUR_GB - SZ_1M);
	bi->acpi_rsdp = find_rsdp(bi);
	core_main(bi);
}
