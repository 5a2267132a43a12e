// SPDX-License-Identifier: BSD-2-Clause
/*
 * Multiboot2 boot information -> struct boot_info (Multiboot2 spec 3.6).
 * Runs on the stub's page tables, which identity-map the first 4 GiB: the
 * information and the modules are below 4 GiB there by construction.
 */
#include "arch/x86/idt.h"
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
	strlcpy(mod->cmdline, m->cmdline, sizeof(mod->cmdline));
	add_busy(bi, mod->base, mod->size);
}

static uint32_t mem_type(uint32_t mb2_type)
{
	switch (mb2_type) {
	case 1: return BI_MEM_USABLE;
	case 3: return BI_MEM_ACPI_RECLAIM;
	case 4: return BI_MEM_ACPI_NVS;
	case 5: return BI_MEM_UNUSABLE;
	default: return BI_MEM_RESERVED;
	}
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
			strlcpy(bi->cmdline, (const char *)(tag + 1),
				sizeof(bi->cmdline));
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
	core_main(bi);
}
