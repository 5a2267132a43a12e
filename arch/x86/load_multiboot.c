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
#include "arch/x86/cpu.h"
#include "arch/x86/load.h"
#include "arch/x86/mem.h"
#include "arch/x86/vcpu.h"
#include "lib/string.h"
#include "umbra/core.h"
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

/* A staged copy of a module in umbra's memory. */
struct staged {
	const uint8_t *data;
	uint64_t size;
	size_t pages;
	const char *cmdline;
	const char *name;		/* for messages: the module's first word */
	char name_buf[64];
};

static struct staged staged[BI_MAX_MODULES];
static uint32_t nr_staged;
static uint64_t guest_cursor;		/* next free guest-physical byte */

static void set_name(struct staged *s)
{
	size_t n = 0;

	while (s->cmdline[n] && s->cmdline[n] != ' ' && n < sizeof(s->name_buf) - 1)
		n++;
	memcpy(s->name_buf, s->cmdline, n);
	s->name_buf[n] = '\0';
	s->name = n ? s->name_buf : "(unnamed module)";
}

static int stage(const struct bi_module *m, struct staged *s)
{
	s->size = m->size;
	s->pages = ALIGN_UP(m->size ? m->size : 1, PAGE_SIZE) / PAGE_SIZE;
	s->cmdline = m->cmdline;
	set_name(s);
	s->data = page_alloc(s->pages);
	if (!s->data) {
		pr_err("module '%s' (%lu KiB) does not fit in umbra's memory; boot with a larger mem=",
		       s->name, m->size >> 10);
		return -1;
	}
	memcpy((void *)s->data, phys_to_virt(m->base), m->size);
	return 0;
}

static bool word_matches(const char *cmdline, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(cmdline, word, n) && (cmdline[n] == ' ' || !cmdline[n]);
}

/* Stage the modules, the guest kernel first. */
static int stage_modules(const struct boot_info *bi)
{
	uint32_t kernel = 0;

	if (!bi->nr_modules) {
		pr_err("no guest: give the guest kernel as the first module (GRUB: module2 /boot/guest.elf ARGS; umbra.efi: guest = \\path in umbra.cfg)");
		return -1;
	}
	if (opts.guest[0]) {
		for (kernel = 0; kernel < bi->nr_modules; kernel++)
			if (word_matches(bi->modules[kernel].cmdline, opts.guest))
				break;
		if (kernel == bi->nr_modules) {
			pr_err("guest=%s: no module by that name", opts.guest);
			for (uint32_t i = 0; i < bi->nr_modules; i++)
				pr_err("  module %u: '%s'", i, bi->modules[i].cmdline);
			return -1;
		}
	}
	if (stage(&bi->modules[kernel], &staged[nr_staged++]))
		return -1;
	for (uint32_t i = 0; i < bi->nr_modules; i++)
		if (i != kernel && stage(&bi->modules[i], &staged[nr_staged++]))
			return -1;
	return 0;
}

static int check_guest_range(const struct staged *k, uint64_t base, uint64_t size,
			     const char *what)
{
	if (size && !guest_range_usable(base, size)) {
		pr_err("guest kernel '%s': %s at %lx-%lx is not in usable guest memory (umbra's memory is %lx-%lx)",
		       k->name, what, base, base + size - 1, umbra_mem_base,
		       umbra_mem_base + umbra_mem_size - 1);
		return -1;
	}
	return 0;
}

static int load_segment(const struct staged *k, uint64_t off, uint64_t filesz,
			uint64_t paddr, uint64_t memsz)
{
	if (filesz > memsz || off > k->size || filesz > k->size - off) {
		pr_err("guest kernel '%s': segment at file offset %lx size %lx runs past the end of the file (%lu bytes): truncated or corrupt",
		       k->name, off, filesz, k->size);
		return -1;
	}
	if (check_guest_range(k, paddr, memsz, "segment"))
		return -1;
	memcpy(phys_to_virt(paddr), k->data + off, filesz);
	memset(phys_to_virt(paddr + filesz), 0, memsz - filesz);
	guest_cursor = MAX(guest_cursor, paddr + memsz);
	return 0;
}

static int load_elf(const struct staged *k, struct guest_boot *boot)
{
	const struct elf32_ehdr *eh = (const void *)k->data;
	int loaded = 0;

	if (k->size < sizeof(*eh) || memcmp(eh->ident, "\177ELF", 4)) {
		pr_err("guest kernel '%s': not an ELF file and no a.out addresses in its multiboot header",
		       k->name);
		return -1;
	}
	if (eh->ident[4] != 1 || eh->machine != EM_386) {
		pr_err("guest kernel '%s': multiboot v1 needs a 32-bit x86 ELF (class %u, machine %u)",
		       k->name, eh->ident[4], eh->machine);
		return -1;
	}
	if (eh->phentsize < sizeof(struct elf32_phdr) ||
	    eh->phoff + (uint64_t)eh->phnum * eh->phentsize > k->size) {
		pr_err("guest kernel '%s': program headers past the end of the file: truncated or corrupt",
		       k->name);
		return -1;
	}
	for (unsigned i = 0; i < eh->phnum; i++) {
		const struct elf32_phdr *ph =
			(const void *)(k->data + eh->phoff + i * eh->phentsize);

		if (ph->type != PT_LOAD || !ph->memsz)
			continue;
		if (load_segment(k, ph->offset, ph->filesz, ph->paddr, ph->memsz))
			return -1;
		loaded++;
	}
	if (!loaded) {
		pr_err("guest kernel '%s': no loadable segment", k->name);
		return -1;
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

	if (h->header_addr < h->load_addr || hoff < h->header_addr - h->load_addr ||
	    end < h->load_addr || bss < end) {
		pr_err("guest kernel '%s': inconsistent multiboot a.out addresses", k->name);
		return -1;
	}
	if (load_segment(k, off, end - h->load_addr, h->load_addr, bss - h->load_addr))
		return -1;
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

/* Guest memory for the boot information: usable, below 4 GiB, page aligned. */
static uint64_t guest_alloc(uint64_t size)
{
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];
		uint64_t base = ALIGN_UP(MAX(guest_cursor, m->base), PAGE_SIZE);

		if (m->type != BI_MEM_USABLE || base + size > m->base + m->size ||
		    base + size > SZ_4G)
			continue;
		guest_cursor = base + size;
		return base;
	}
	return 0;
}

static uint32_t place_string(const char *s)
{
	uint64_t len = strlen(s) + 1, pa = guest_alloc(len);

	if (pa)
		memcpy(phys_to_virt(pa), s, len);
	return (uint32_t)pa;
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
	uint64_t len = guest_map.nr * sizeof(struct mb1_mmap), pa = guest_alloc(len);
	struct mb1_mmap *e = phys_to_virt(pa);

	if (!pa)
		return -1;
	for (uint32_t i = 0; i < guest_map.nr; i++)
		e[i] = (struct mb1_mmap){ sizeof(struct mb1_mmap) - 4,
			guest_map.r[i].base, guest_map.r[i].size, guest_map.r[i].type };
	mbi->mmap_addr = (uint32_t)pa;
	mbi->mmap_length = (uint32_t)len;
	mbi->flags |= MBI_MMAP;
	return 0;
}

static int fill_modules(struct mb1_info *mbi)
{
	uint32_t n = nr_staged - 1;
	uint64_t pa = guest_alloc(MAX(n, 1u) * sizeof(struct mb1_module));
	struct mb1_module *mods = phys_to_virt(pa);

	if (!pa)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		const struct staged *s = &staged[i + 1];
		uint64_t data = guest_alloc(s->size);

		if (!data)
			return -1;
		memcpy(phys_to_virt(data), s->data, s->size);
		mods[i] = (struct mb1_module){ (uint32_t)data, (uint32_t)(data + s->size),
					       place_string(s->cmdline), 0 };
		if (!mods[i].string)
			return -1;
	}
	mbi->mods_count = n;
	mbi->mods_addr = (uint32_t)pa;
	mbi->flags |= MBI_MODS;
	return 0;
}

/*
 * The spec lets GDTR be invalid at entry; GRUB's is not, and kernels that
 * reload a selector before loading their own GDT work under GRUB.  So do
 * as GRUB does: a GDT in usable memory whose selectors match CS and DS.
 */
static uint32_t place_gdt(void)
{
	static const uint64_t gdt[] = {
		0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
	};
	uint64_t pa = guest_alloc(sizeof(gdt));

	if (pa)
		memcpy(phys_to_virt(pa), gdt, sizeof(gdt));
	return (uint32_t)pa;
}

static int build_info(const struct staged *k, struct guest_boot *boot)
{
	uint64_t pa = guest_alloc(sizeof(struct mb1_info));
	struct mb1_info *mbi = phys_to_virt(pa);

	if (!pa)
		goto full;
	boot->gdt = place_gdt();
	if (!boot->gdt)
		goto full;
	mbi->cmdline = place_string(k->cmdline);
	mbi->boot_loader_name = place_string("umbra " UMBRA_VERSION);
	if (!mbi->cmdline || !mbi->boot_loader_name)
		goto full;
	mbi->flags |= MBI_CMDLINE | MBI_LOADER_NAME;
	fill_memory(mbi);
	if (fill_mmap(mbi) || fill_modules(mbi))
		goto full;
	boot->eax = MB1_BOOT_MAGIC;
	boot->ebx = (uint32_t)pa;
	return 0;
full:
	pr_err("no usable guest memory below 4 GiB left for the multiboot information and modules");
	return -1;
}

static void unstage(void)
{
	for (uint32_t i = 0; i < nr_staged; i++)
		page_free((void *)staged[i].data, staged[i].pages);
	nr_staged = 0;
}

int guest_load(struct boot_info *bi, struct guest_boot *boot)
{
	const struct mb1_header *h;
	const struct staged *k;
	uint64_t hoff;
	int err = -1;

	memset(boot, 0, sizeof(*boot));
	guest_cursor = SZ_1M;
	if (stage_modules(bi))
		goto out;
	k = &staged[0];
	h = find_header(k, &hoff);
	if (!h) {
		pr_err("guest kernel '%s' (%lu bytes): no multiboot header in its first %d bytes (only multiboot v1 kernels are supported yet)",
		       k->name, k->size, MB1_SEARCH);
		goto out;
	}
	if (h->flags & MB1_FLAG_VIDEO)
		pr_warn("guest kernel '%s' asks for a video mode; umbra gives none", k->name);
	err = (h->flags & MB1_FLAG_AOUT) ? load_aout(k, h, hoff, boot) : load_elf(k, boot);
	if (!err)
		err = build_info(k, boot);
	if (!err)
		pr_info("guest '%s': multiboot kernel, entry %lx, %u module(s), command line '%s'",
			k->name, boot->entry, nr_staged - 1, k->cmdline);
out:
	unstage();
	return err;
}

/* Multiboot 0.6.96, 3.2 "Machine state" */
void guest_set_entry_state(struct vcpu *v, const struct guest_boot *boot)
{
	const struct vcpu_ops *o = v->ops;
	struct segment code = { 0x08, 0xc9b, 0xffffffff, 0 };
	struct segment data = { 0x10, 0xc93, 0xffffffff, 0 };
	struct segment ldtr = { 0, 0x082, 0xffff, 0 };
	struct segment tr = { 0, 0x08b, 0xffff, 0 };
	struct segment gdtr = { 0, 0, 3 * 8 - 1, boot->gdt };
	struct segment idtr = { 0, 0, 0, 0 };

	o->set_seg(v, SEG_CS, &code);
	for (int s = SEG_ES; s <= SEG_GS; s++)
		if (s != SEG_CS)
			o->set_seg(v, s, &data);
	o->set_seg(v, SEG_LDTR, &ldtr);
	o->set_seg(v, SEG_TR, &tr);
	o->set_seg(v, SEG_GDTR, &gdtr);
	o->set_seg(v, SEG_IDTR, &idtr);
	o->set_reg(v, VCPU_CR0, CR0_PE | CR0_ET);
	o->set_reg(v, VCPU_CR3, 0);
	o->set_reg(v, VCPU_CR4, 0);
	o->set_reg(v, VCPU_EFER, 0);
	o->set_reg(v, VCPU_RFLAGS, X86_EFLAGS_FIXED);
	o->set_reg(v, VCPU_RIP, boot->entry);
	o->set_reg(v, VCPU_RSP, 0);
	memset(&v->gprs, 0, sizeof(v->gprs));
	v->gprs.rax = boot->eax;
	v->gprs.rbx = boot->ebx;
}
