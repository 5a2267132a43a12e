// SPDX-License-Identifier: BSD-2-Clause
/*
 * The guest loader for multiboot (v1) kernels (Multiboot Specification
 * 0.6.96): ELF32 or the a.out kludge (header flag 16), the guest's command
 * line and modules, a memory map, and the entry state of section 3.2.
 *
 * The modules are first copied into umbra's memory: the guest's own image
 * may land on top of where the firmware or GRUB left them.  Everything
 * placed for the guest must lie in usable memory of the guest's map.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/guest/load.h"
#include "core/mem.h"
#include "arch/x86/vcpu/vcpu.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

#define MB1_HEADER_MAGIC	0x1badb002
#define MB1_BOOT_MAGIC		0x2badb002
#define MB1_SEARCH		8192
#define MB1_FLAG_VIDEO		(1u << 2)
#define MB1_FLAG_AOUT		(1u << 16)

#define MBI_MEM			(1u << 0)
#define MBI_CMDLINE		(1u << 2)
#define MBI_MODS		(1u << 3)
#define MBI_MMAP		(1u << 6)
#define MBI_LOADER_NAME		(1u << 9)

struct mb1_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
	uint32_t fb[8];
};

struct mb1_module {
	uint32_t start, end, string, reserved;
};

struct mb1_mmap {
	uint32_t size;
	uint64_t base, len;
	uint32_t type;
} __attribute__((packed));

struct elf32_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version, entry, phoff, shoff, flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf32_phdr {
	uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};

#define PT_LOAD		1
#define EM_386		3

static int load_segment(const struct staged *k, uint64_t off, uint64_t filesz,
			uint64_t paddr, uint64_t memsz)
{
	int err;

	if (filesz > memsz || off > k->size || filesz > k->size - off) {
		pr_err("guest kernel '%s': segment at file offset %lx size %lx runs past the end of the file (%lu bytes): truncated or corrupt",
		       k->name, off, filesz, k->size);
		return -UMBRA_EINVAL;
	}
	err = guest_check_range(k, paddr, memsz, "segment");
	if (err)
		return err;
	memcpy(phys_to_virt(paddr), k->data + off, filesz);
	memset(phys_to_virt(paddr + filesz), 0, memsz - filesz);
	guest_alloc_reserve(paddr + memsz);
	return 0;
}

static int load_elf(const struct staged *k, struct guest_boot *boot)
{
	const struct elf32_ehdr *eh = (const void *)k->data;
	int loaded = 0, err;

	if (k->size < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4)) {
		pr_err("guest kernel '%s': not an ELF file and no a.out addresses in its multiboot header",
		       k->name);
		return -UMBRA_EINVAL;
	}
	if (eh->ident[4] != 1 || eh->machine != EM_386) {
		pr_err("guest kernel '%s': multiboot v1 needs a 32-bit x86 ELF (class %u, machine %u)",
		       k->name, eh->ident[4], eh->machine);
		return -UMBRA_EINVAL;
	}
	if (eh->phentsize < sizeof(struct elf32_phdr) ||
	    eh->phoff + (uint64_t)eh->phnum * eh->phentsize > k->size) {
		pr_err("guest kernel '%s': program headers past the end of the file: truncated or corrupt",
		       k->name);
		return -UMBRA_EINVAL;
	}
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf32_phdr *ph =
			(const void *)(k->data + eh->phoff + i * eh->phentsize);

		if (ph->type != PT_LOAD || !ph->memsz)
			continue;
		err = load_segment(k, ph->offset, ph->filesz, ph->paddr, ph->memsz);
		if (err)
			return err;
		loaded++;
	}
	if (!loaded) {
		pr_err("guest kernel '%s': no loadable segment", k->name);
		return -UMBRA_EINVAL;
	}
	boot->entry = eh->entry;
	return 0;
}

static int load_aout(const struct staged *k, const struct mb1_header *h,
		     uint64_t hoff, struct guest_boot *boot)
{
	uint64_t off = hoff - (h->header_addr - h->load_addr);
	uint64_t end = h->load_end_addr ? h->load_end_addr : h->load_addr + (k->size - off);
	uint64_t bss = h->bss_end_addr ? h->bss_end_addr : end;
	int err;

	if (h->header_addr < h->load_addr || hoff < h->header_addr - h->load_addr ||
	    end < h->load_addr || bss < end) {
		pr_err("guest kernel '%s': inconsistent multiboot a.out addresses", k->name);
		return -UMBRA_EINVAL;
	}
	err = load_segment(k, off, end - h->load_addr, h->load_addr, bss - h->load_addr);
	if (err)
		return err;
	boot->entry = h->entry_addr;
	return 0;
}

static const struct mb1_header *find_header(const struct staged *k, uint64_t *off)
{
	for (uint64_t o = 0; o + sizeof(struct mb1_header) <= MIN(k->size, MB1_SEARCH); o += 4) {
		const struct mb1_header *h = (const void *)(k->data + o);

		if (h->magic == MB1_HEADER_MAGIC &&
		    h->magic + h->flags + h->checksum == 0) {
			*off = o;
			return h;
		}
	}
	return NULL;
}

static uint32_t place_string(const char *s)
{
	return (uint32_t)guest_place(s, strlen(s) + 1, 1);
}

static void fill_memory(struct mb1_info *mbi)
{
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];

		if (m->type != BI_MEM_USABLE)
			continue;
		if (m->base == 0)
			mbi->mem_lower = (uint32_t)(MIN(m->size, 640 * 1024ull) >> 10);
		if (m->base <= SZ_1M && m->base + m->size > SZ_1M)
			mbi->mem_upper = (uint32_t)(MIN(m->base + m->size, SZ_4G) - SZ_1M) >> 10;
	}
	mbi->flags |= MBI_MEM;
}

static int fill_mmap(struct mb1_info *mbi)
{
	uint64_t len = guest_map.nr * sizeof(struct mb1_mmap), pa = guest_alloc(len, 8, SZ_4G);
	struct mb1_mmap *e = phys_to_virt(pa);

	if (!pa)
		return -UMBRA_ENOMEM;
	for (uint32_t i = 0; i < guest_map.nr; i++)
		e[i] = (struct mb1_mmap){ sizeof(struct mb1_mmap) - 4,
			guest_map.r[i].base, guest_map.r[i].size, guest_map.r[i].type };
	mbi->mmap_addr = (uint32_t)pa;
	mbi->mmap_length = (uint32_t)len;
	mbi->flags |= MBI_MMAP;
	return 0;
}

static int fill_modules(struct mb1_info *mbi, const struct staged *staged, uint32_t nr)
{
	uint32_t n = nr - 1;
	uint64_t pa = guest_alloc(MAX(n, 1u) * sizeof(struct mb1_module), 8, SZ_4G);
	struct mb1_module *mods = phys_to_virt(pa);

	if (!pa)
		return -UMBRA_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct staged *s = &staged[i + 1];
		uint64_t data = guest_alloc(s->size, PAGE_SIZE, SZ_4G);

		if (!data)
			return -UMBRA_ENOMEM;
		memcpy(phys_to_virt(data), s->data, s->size);
		mods[i] = (struct mb1_module){ (uint32_t)data, (uint32_t)(data + s->size),
					       place_string(s->cmdline), 0 };
		if (!mods[i].string)
			return -UMBRA_ENOMEM;
	}
	mbi->mods_count = n;
	mbi->mods_addr = (uint32_t)pa;
	mbi->flags |= MBI_MODS;
	return 0;
}

static int build_info(const struct staged *mods, uint32_t nr, struct guest_boot *boot)
{
	uint64_t pa = guest_alloc(sizeof(struct mb1_info), 8, SZ_4G);
	struct mb1_info *mbi = phys_to_virt(pa);

	if (!pa)
		goto full;
	/*
	 * The spec lets GDTR be invalid at entry; GRUB's is not, and kernels
	 * that reload a selector before loading their own GDT work under
	 * GRUB.  So do as GRUB does: a GDT whose selectors match CS and DS.
	 */
	if (guest_place_gdt(boot, 0x08))
		goto full;
	mbi->cmdline = place_string(mods[0].cmdline);
	mbi->boot_loader_name = place_string("umbra " UMBRA_VERSION);
	if (!mbi->cmdline || !mbi->boot_loader_name)
		goto full;
	mbi->flags |= MBI_CMDLINE | MBI_LOADER_NAME;
	fill_memory(mbi);
	if (fill_mmap(mbi) || fill_modules(mbi, mods, nr))
		goto full;
	boot->eax = MB1_BOOT_MAGIC;
	boot->ebx = (uint32_t)pa;
	return 0;
full:
	pr_err("no usable guest memory below 4 GiB left for the multiboot information and modules");
	return -UMBRA_ENOMEM;
}

static bool mb1_probe(const struct staged *k)
{
	uint64_t off;

	return find_header(k, &off) != NULL;
}

static int mb1_load(const struct staged *mods, uint32_t nr, struct guest_boot *boot)
{
	const struct staged *k = &mods[0];
	const struct mb1_header *h;
	uint64_t hoff;
	int err;

	h = find_header(k, &hoff);
	if (h->flags & MB1_FLAG_VIDEO)
		pr_warn("guest kernel '%s' asks for a video mode; umbra gives none", k->name);
	err = (h->flags & MB1_FLAG_AOUT) ? load_aout(k, h, hoff, boot) : load_elf(k, boot);
	if (!err)
		err = build_info(mods, nr, boot);
	if (err)
		return err;
	/* Multiboot 0.6.96, 3.2 "Machine state" */
	boot->mode = ENTRY_PROT32_FLAT;
	pr_info("guest '%s': multiboot kernel, entry %lx, %u module(s), command line '%s'",
		k->name, boot->entry, nr - 1, k->cmdline);
	return 0;
}

const struct guest_loader multiboot_loader = {
	.name = "multiboot",
	.probe = mb1_probe,
	.load = mb1_load,
};
