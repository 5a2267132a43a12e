// SPDX-License-Identifier: BSD-2-Clause
/*
 * The guest loader for Linux bzImage kernels: the Linux/x86 boot protocol
 * 2.10 and later (the kernel's Documentation/arch/x86/boot.rst, "boot.rst"
 * below; the zero page's layout is Documentation/arch/x86/zero-page.rst).
 *
 * The protected-mode kernel is loaded at pref_address (or at an aligned
 * place when that is not usable and the kernel is relocatable), and the
 * boot_params ("zero page") is built as a 32-bit boot loader does: the
 * image's setup header copied into a zeroed page, the command line, the
 * initrd (the modules after the kernel, concatenated), an e820 map made
 * from the guest's memory map (umbra's own memory is reserved there) and
 * the ACPI RSDP address when umbra knows it.
 *
 * Entry: the 32-bit boot protocol (boot.rst, "32-bit Boot Protocol"), not
 * the 64-bit one.  The 32-bit entry is what the multiboot loader already
 * uses (protected mode, paging off, flat segments), so no guest page
 * tables have to be built and placed, and it is the entry every x86 kernel
 * has; the kernel's own startup_32 builds its identity tables and enters
 * long mode in a few thousand instructions.  The price is that the kernel,
 * boot_params and command line must lie below 4 GiB (the initrd need not).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/guest/load.h"
#include "core/mem.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

/* boot.rst, "The Real-Mode Kernel Header": offsets in the image and in
 * boot_params alike (the header sits at 0x1f1 in both). */
#define HDR_START		0x1f1
#define HDR_SETUP_SECTS		0x1f1
#define HDR_SYSSIZE		0x1f4
#define HDR_VID_MODE		0x1fa
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_MIN_ALIGNMENT	0x235
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_SETUP_DATA		0x250
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_LAST_NEEDED		0x264	/* the end of init_size: protocol 2.10 */

#define BOOT_FLAG		0xaa55
#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define MIN_VERSION		0x020a		/* 2.10: pref_address, init_size */
#define LOADED_HIGH		(1u << 0)	/* loadflags bit 0 */
#define XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)	/* xloadflags bit 1, 2.12+ */
#define LOADER_UNDEFINED	0xff		/* type_of_loader: no assigned id */
#define VID_MODE_NORMAL		0xffff		/* "Special Command Line Options" */

/* zero-page.rst: the fields of boot_params outside the setup header. */
#define BP_SIZE			4096
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128

/* boot.rst, "setup_data": further e820 entries beyond the zero page's. */
#define SETUP_E820_EXT		1

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

struct setup_data_hdr {
	uint64_t next;
	uint32_t type, len;
};

/* boot.rst, "32-bit Boot Protocol": __BOOT_CS (and __BOOT_DS at 0x18) */
#define BOOT_CS			0x10

/* n (1, 2, 4 or 8) little-endian bytes at p + off: header fields are
   not aligned. */
static uint64_t rd(const uint8_t *p, uint32_t off, unsigned int n)
{
	uint64_t v = 0;

	memcpy(&v, p + off, n);
	return v;
}

static void wr(uint8_t *p, uint32_t off, uint64_t v, unsigned int n)
{
	memcpy(p + off, &v, n);
}

/* What the image's header says, checked against the file. */
struct bzimage {
	const struct staged *k;
	uint16_t version;
	uint32_t setup_size;	/* boot sector and real-mode setup */
	uint32_t hdr_end;	/* end of the setup header in the image */
	const uint8_t *pm;	/* the protected-mode kernel */
	uint64_t pm_size;
	uint64_t init_size;	/* memory it needs from its load address */
	uint64_t pref_address;
	uint32_t align, min_align;
	bool relocatable;
	uint16_t xloadflags;
};

/*
 * A boot sector (0xAA55 at 0x1fe) or a Linux setup header ("HdrS" at
 * 0x202): a Linux kernel image, good or bad; linux_load() says what is
 * wrong with it.
 */
static bool linux_probe(const struct staged *k)
{
	if (k->size >= HDR_MAGIC + 4 && rd(k->data, HDR_MAGIC, 4) == HDRS_MAGIC)
		return true;
	return k->size >= HDR_BOOT_FLAG + 2 && rd(k->data, HDR_BOOT_FLAG, 2) == BOOT_FLAG;
}

static int parse_header(const struct staged *k, struct bzimage *bz)
{
	const uint8_t *d = k->data;
	uint32_t sects;
	uint64_t syssize;

	bz->k = k;
	if (k->size < HDR_MAGIC + 4 || rd(d, HDR_MAGIC, 4) != HDRS_MAGIC) {
		pr_err("guest kernel '%s': a boot sector but no Linux setup header (\"HdrS\" at 0x202): not a bzImage",
		       k->name);
		return -UMBRA_EINVAL;
	}
	if (k->size < HDR_VERSION + 2) {
		pr_err("guest kernel '%s': truncated image (%lu bytes, ends inside the setup header)",
		       k->name, k->size);
		return -UMBRA_EINVAL;
	}
	bz->version = rd(d, HDR_VERSION, 2);
	if (bz->version < MIN_VERSION) {
		pr_err("guest kernel '%s': Linux boot protocol %u.%02u is too old; umbra needs 2.10 or later (Linux 2.6.31 on)",
		       k->name, bz->version >> 8, bz->version & 0xff);
		return -UMBRA_EINVAL;
	}
	/* boot.rst: setup_sects 0 means 4; the boot sector comes first. */
	sects = rd(d, HDR_SETUP_SECTS, 1) ? rd(d, HDR_SETUP_SECTS, 1) : 4;
	bz->setup_size = (sects + 1) * 512;
	/* boot.rst, "32-bit Boot Protocol": the header ends at 0x202 + jump's offset. */
	bz->hdr_end = 0x202 + rd(d, HDR_JUMP + 1, 1);
	if (k->size < bz->setup_size || k->size < HDR_LAST_NEEDED) {
		pr_err("guest kernel '%s': truncated image (%lu bytes; its real-mode setup alone is %u bytes)",
		       k->name, k->size, bz->setup_size);
		return -UMBRA_EINVAL;
	}
	if (bz->hdr_end < HDR_LAST_NEEDED || bz->hdr_end > bz->setup_size) {
		pr_err("guest kernel '%s': corrupt setup header (it would end at %x; protocol %u.%02u needs at least %x)",
		       k->name, bz->hdr_end, bz->version >> 8, bz->version & 0xff,
		       HDR_LAST_NEEDED);
		return -UMBRA_EINVAL;
	}
	if (!(rd(d, HDR_LOADFLAGS, 1) & LOADED_HIGH)) {
		pr_err("guest kernel '%s': a zImage (loaded at 64 KiB), not a bzImage: umbra boots bzImages only",
		       k->name);
		return -UMBRA_EINVAL;
	}
	bz->pm = d + bz->setup_size;
	bz->pm_size = k->size - bz->setup_size;
	/* boot.rst, syssize: the protected-mode code in 16-byte paragraphs. */
	syssize = (uint64_t)rd(d, HDR_SYSSIZE, 4) * 16;
	if (syssize > bz->pm_size) {
		pr_err("guest kernel '%s': truncated image (%lu bytes; its header says %lu)",
		       k->name, k->size, bz->setup_size + syssize);
		return -UMBRA_EINVAL;
	}
	bz->init_size = MAX(rd(d, HDR_INIT_SIZE, 4), bz->pm_size);
	bz->pref_address = rd(d, HDR_PREF_ADDRESS, 8);
	bz->relocatable = rd(d, HDR_RELOCATABLE, 1) != 0;
	bz->align = rd(d, HDR_KERNEL_ALIGNMENT, 4);
	if (!bz->align || (bz->align & (bz->align - 1)))
		bz->align = SZ_2M;
	bz->min_align = rd(d, HDR_MIN_ALIGNMENT, 1) && rd(d, HDR_MIN_ALIGNMENT, 1) < 32 ?
			1u << rd(d, HDR_MIN_ALIGNMENT, 1) : bz->align;
	bz->min_align = MAX(MIN(bz->min_align, bz->align), (uint32_t)PAGE_SIZE);
	/* xloadflags exists from 2.12 on. */
	bz->xloadflags = bz->version >= 0x020c ? rd(d, HDR_XLOADFLAGS, 2) : 0;
	return 0;
}

/*
 * boot.rst, pref_address and kernel_alignment/min_alignment: at
 * pref_address if that memory is usable; otherwise, for a relocatable
 * kernel, anywhere below 4 GiB (the 32-bit entry), trying each
 * power-of-two alignment from kernel_alignment down to min_alignment.
 */
static int place_kernel(const struct bzimage *bz, uint64_t *base, uint32_t *align)
{
	*align = bz->align;
	if (bz->pref_address && bz->pref_address + bz->init_size <= SZ_4G &&
	    guest_range_usable(bz->pref_address, bz->init_size)) {
		*base = bz->pref_address;
		guest_alloc_reserve(*base + bz->init_size);
		return 0;
	}
	if (!bz->relocatable) {
		pr_err("guest kernel '%s': not relocatable, and its address %lx-%lx is not usable guest memory (umbra's memory is %lx-%lx)",
		       bz->k->name, bz->pref_address, bz->pref_address + bz->init_size - 1,
		       umbra_mem_base, umbra_mem_base + umbra_mem_size - 1);
		return -UMBRA_EINVAL;
	}
	for (uint64_t a = bz->align; a >= bz->min_align; a >>= 1) {
		*base = guest_alloc(bz->init_size, a, SZ_4G);
		if (*base) {
			*align = (uint32_t)a;
			return 0;
		}
	}
	pr_err("guest kernel '%s': no usable guest memory below 4 GiB for its %lu KiB (init_size)",
	       bz->k->name, bz->init_size >> 10);
	return -UMBRA_ENOMEM;
}

/* The kernel's command line: the module's string after its name. */
static int place_cmdline(const struct bzimage *bz, uint8_t *bp)
{
	const char *s = bz->k->args;
	uint32_t max = rd(bz->k->data, HDR_CMDLINE_SIZE, 4);
	uint64_t len = strlen(s), pa;

	/* boot.rst, cmdline_size: the most characters, without the NUL. */
	if (len > max) {
		pr_err("guest kernel '%s': command line of %lu characters; the kernel takes at most %u (cmdline_size)",
		       bz->k->name, len, max);
		return -UMBRA_EINVAL;
	}
	pa = guest_place(s, len + 1, 16);
	if (!pa) {
		pr_err("guest kernel '%s': no usable guest memory below 4 GiB for the command line",
		       bz->k->name);
		return -UMBRA_ENOMEM;
	}
	wr(bp, HDR_CMD_LINE_PTR, (uint32_t)pa, 4);
	return 0;
}

/*
 * The initrd: every module after the kernel, one after the other, each
 * padded to 4 bytes (the kernel unpacks concatenated cpio archives, as
 * GRUB's `initrd a b` gives them).  It must end at or below
 * initrd_addr_max (the highest byte it may occupy), unless the kernel says
 * it may lie above 4 GiB (xloadflags, 2.12+).
 */
static int place_initrd(const struct bzimage *bz, const struct staged *mods,
			uint32_t nr, uint8_t *bp, uint64_t *base, uint64_t *size)
{
	uint64_t max = rd(bz->k->data, HDR_INITRD_ADDR_MAX, 4);
	uint64_t total = 0, pa, off = 0;

	*base = *size = 0;
	if (nr < 2)
		return 0;
	for (uint32_t i = 1; i < nr; i++)
		total += ALIGN_UP(mods[i].size, 4);
	if (!max)
		max = 0x37ffffff;	/* boot.rst: the limit before 2.03 */
	pa = guest_alloc(total, PAGE_SIZE, max + 1);
	if (!pa && (bz->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G))
		pa = guest_alloc(total, PAGE_SIZE, UINT64_MAX);
	if (!pa) {
		pr_err("guest kernel '%s': initrd '%s' (%lu KiB) does not fit in the usable guest memory left after the kernel (below initrd_addr_max %lx%s)",
		       bz->k->name, mods[1].name, total >> 10, max,
		       bz->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G ? ", or above it" : "");
		return -UMBRA_ENOMEM;
	}
	for (uint32_t i = 1; i < nr; i++) {
		memcpy(phys_to_virt(pa + off), mods[i].data, mods[i].size);
		memset(phys_to_virt(pa + off + mods[i].size), 0,
		       ALIGN_UP(mods[i].size, 4) - mods[i].size);
		off += ALIGN_UP(mods[i].size, 4);
	}
	wr(bp, HDR_RAMDISK_IMAGE, (uint32_t)pa, 4);
	wr(bp, HDR_RAMDISK_SIZE, (uint32_t)total, 4);
	wr(bp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(pa >> 32), 4);
	wr(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)(total >> 32), 4);
	*base = pa;
	*size = total;
	return 0;
}

/*
 * The e820 map: the guest's memory map as it is (umbra's range is already
 * reserved there; the types are e820's).  The zero page holds 128 entries;
 * more go into a SETUP_E820_EXT setup_data node (boot.rst, setup_data).
 */
static int fill_e820(const struct bzimage *bz, uint8_t *bp)
{
	struct e820_entry *zp = (void *)(bp + BP_E820_TABLE), *ext = NULL;
	uint32_t n = MIN(guest_map.nr, (uint32_t)BP_E820_MAX);

	if (guest_map.nr > BP_E820_MAX) {
		uint64_t len = (guest_map.nr - BP_E820_MAX) * sizeof(struct e820_entry);
		uint64_t pa = guest_alloc(sizeof(struct setup_data_hdr) + len, 8, SZ_4G);
		struct setup_data_hdr *sd = phys_to_virt(pa);

		if (!pa) {
			pr_err("guest kernel '%s': no usable guest memory for the e820 map",
			       bz->k->name);
			return -UMBRA_ENOMEM;
		}
		*sd = (struct setup_data_hdr){ rd(bp, HDR_SETUP_DATA, 8),
					       SETUP_E820_EXT, (uint32_t)len };
		wr(bp, HDR_SETUP_DATA, pa, 8);
		ext = (void *)(sd + 1);
	}
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];
		struct e820_entry ent = { m->base, m->size, m->type };

		memcpy(i < BP_E820_MAX ? &zp[i] : &ext[i - BP_E820_MAX], &ent, sizeof(ent));
	}
	wr(bp, BP_E820_ENTRIES, (uint8_t)n, 1);
	return 0;
}

static int linux_load(const struct staged *mods, uint32_t nr, struct guest_boot *boot)
{
	const struct staged *k = &mods[0];
	struct bzimage bz;
	uint64_t kbase, bp_pa, initrd = 0, initrd_size = 0;
	uint32_t align;
	uint8_t *bp;
	int err;

	err = parse_header(k, &bz);
	if (!err)
		err = place_kernel(&bz, &kbase, &align);
	if (err)
		return err;
	memcpy(phys_to_virt(kbase), bz.pm, bz.pm_size);

	/* boot.rst, "32-bit Boot Protocol": a zeroed boot_params, then the
	 * image's setup header copied in at the same offset. */
	bp_pa = guest_alloc(BP_SIZE, PAGE_SIZE, SZ_4G);
	if (!bp_pa) {
		pr_err("guest kernel '%s': no usable guest memory below 4 GiB for boot_params", k->name);
		return -UMBRA_ENOMEM;
	}
	bp = phys_to_virt(bp_pa);
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_START, k->data + HDR_START, bz.hdr_end - HDR_START);

	/* the fields a boot loader writes (boot.rst, "Details of Header Fields") */
	wr(bp, HDR_TYPE_OF_LOADER, LOADER_UNDEFINED, 1);
	wr(bp, HDR_VID_MODE, VID_MODE_NORMAL, 2);
	wr(bp, HDR_CODE32_START, (uint32_t)kbase, 4);
	wr(bp, HDR_KERNEL_ALIGNMENT, align, 4);
	err = place_cmdline(&bz, bp);
	if (!err)
		err = place_initrd(&bz, mods, nr, bp, &initrd, &initrd_size);
	if (!err)
		err = fill_e820(&bz, bp);
	if (err)
		return err;
	/* zero-page.rst: acpi_rsdp_addr (read by protocol 2.14+ kernels) */
	if (boot->acpi_rsdp)
		wr(bp, BP_ACPI_RSDP_ADDR, boot->acpi_rsdp, 8);

	/* boot.rst, "32-bit Boot Protocol": flat 4 GiB __BOOT_CS
	 * (execute/read) and __BOOT_DS (read/write) */
	if (guest_place_gdt(boot, BOOT_CS)) {
		pr_err("guest kernel '%s': no usable guest memory below 4 GiB for a GDT", k->name);
		return -UMBRA_ENOMEM;
	}
	/* ESI = boot_params; EBP, EDI, EBX zero (guest_set_entry_state clears
	 * every other register); interrupts off, paging off. */
	boot->mode = ENTRY_PROT32_FLAT;
	boot->entry = kbase;
	boot->esi = (uint32_t)bp_pa;
	boot->ebx = 0;
	boot->eax = 0;

	pr_info("guest '%s': Linux bzImage, boot protocol %u.%02u, kernel at %lx (%lu KiB, init_size %lu KiB), boot_params at %lx",
		k->name, bz.version >> 8, bz.version & 0xff, kbase, bz.pm_size >> 10,
		bz.init_size >> 10, bp_pa);
	if (initrd_size)
		pr_info("guest '%s': initrd '%s'%s at %lx (%lu KiB)", k->name, mods[1].name,
			nr > 2 ? " and the further modules" : "", initrd, initrd_size >> 10);
	else
		pr_info("guest '%s': no initrd (give it as the module after the kernel)", k->name);
	pr_info("guest '%s': command line '%s'; %u e820 entries",
		k->name, (const char *)phys_to_virt(rd(bp, HDR_CMD_LINE_PTR, 4)),
		guest_map.nr);
	if (boot->acpi_rsdp)
		pr_info("guest '%s': ACPI RSDP at %lx passed on", k->name, boot->acpi_rsdp);
	else
		pr_info("guest '%s': ACPI RSDP unknown to umbra (the kernel looks in the BIOS area)",
			k->name);
	return 0;
}

const struct guest_loader linux_loader = {
	.name = "linux",
	.probe = linux_probe,
	.load = linux_load,
};
