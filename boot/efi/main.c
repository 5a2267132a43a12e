// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra.efi entry: read umbra.cfg, load the guest and modules, place the
 * core, fill struct boot_info, hand over.  Any failure before the hand-off
 * is reported, left on screen for a few seconds, and returned to the
 * firmware, which then goes on with its next boot option.
 */
#include "loader.h"

#define CFG_NAME	"umbra.cfg"

static struct loader_alloc {
	EFI_PHYSICAL_ADDRESS base;
	UINTN pages;
} allocs[BI_MAX_MODULES + 16];
static UINTN nr_allocs;
static struct volume the_vol;

void say(const CHAR16 *level, const CHAR16 *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	Print(L"umbra-efi: %s", level);
	VPrint(fmt, ap);
	va_end(ap);
}

/* Bulk fills and copies before ExitBootServices(): 7.5 CopyMem(), SetMem(). */
void bs_zero(void *dst, UINT64 len)
{
	uefi_call_wrapper(BS->SetMem, 3, dst, len, 0);
}

void bs_copy(void *dst, const void *src, UINT64 len)
{
	uefi_call_wrapper(BS->CopyMem, 3, dst, (void *)src, len);
}

/* 7.2.1 EFI_BOOT_SERVICES.AllocatePages(): anywhere, as EfiLoaderData. */
EFI_STATUS alloc_pages(UINTN pages, EFI_PHYSICAL_ADDRESS *out)
{
	EFI_STATUS st;

	if (nr_allocs == ARRAY_SIZE(allocs))
		return EFI_OUT_OF_RESOURCES;
	st = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
			       EfiLoaderData, pages, out);
	if (EFI_ERROR(st))
		return st;
	allocs[nr_allocs].base = *out;
	allocs[nr_allocs].pages = pages;
	nr_allocs++;
	return EFI_SUCCESS;
}

void free_all_pages(void)
{
	while (nr_allocs) {
		nr_allocs--;
		uefi_call_wrapper(BS->FreePages, 2, allocs[nr_allocs].base,
				  allocs[nr_allocs].pages);
	}
}

static void add_busy(struct boot_info *bi, UINT64 base, UINT64 size)
{
	/* BI_MAX_BUSY leaves 8 slots beyond the modules; we use 7. */
	bi->busy[bi->nr_busy].base = base;
	bi->busy[bi->nr_busy].size = size;
	bi->nr_busy++;
}

/* 4.6 EFI Configuration Table: the ACPI 2.0 RSDP, else the ACPI 1.0 one. */
UINT64 find_rsdp(void)
{
	static const EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	static const EFI_GUID acpi10 = ACPI_TABLE_GUID;
	UINT64 rsdp1 = 0;
	UINTN i;

	for (i = 0; i < ST->NumberOfTableEntries; i++) {
		const EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (!memcmp(&t->VendorGuid, &acpi20, sizeof(EFI_GUID)))
			return (UINT64)(UINTN)t->VendorTable;
		if (!memcmp(&t->VendorGuid, &acpi10, sizeof(EFI_GUID)))
			rsdp1 = (UINT64)(UINTN)t->VendorTable;
	}
	return rsdp1;
}

static EFI_STATUS load_module(struct volume *vol, const struct cfg_file *f,
			      struct boot_info *bi)
{
	struct bi_module *m = &bi->modules[bi->nr_modules];
	CHAR16 path[VOL_PATH_CHARS];
	EFI_PHYSICAL_ADDRESS base;
	UINT64 size;
	UINTN pages;
	EFI_STATUS st;

	volume_path(vol, f->path, path);
	st = volume_read(vol, path, &base, &size, &pages);
	if (EFI_ERROR(st))
		return st;
	m->base = base;
	m->size = size;
	strlcpy(m->cmdline, f->cmdline, sizeof(m->cmdline));
	m->cmdline_len = f->cmdline_len;
	bi->nr_modules++;
	add_busy(bi, base, pages * EFI_PAGE);
	msg(L"module %d: %s, %ld bytes at 0x%lx: %a\n", bi->nr_modules - 1,
	    path, size, base, m->cmdline);
	return EFI_SUCCESS;
}

/* The embedded core: check its header, place it 2 MiB aligned. */
EFI_STATUS place_core(struct handoff *h)
{
	UINT64 blob = (UINT64)(umbra_core_end - umbra_core_start);
	struct umbra_image_header hdr;
	EFI_PHYSICAL_ADDRESS a;
	EFI_STATUS st;

	if (blob < sizeof(hdr)) {
		err(L"the embedded core image is missing (%ld bytes)\n", blob);
		return EFI_LOAD_ERROR;
	}
	memcpy(&hdr, umbra_core_start, sizeof(hdr));
	if (hdr.magic != UMBRA_IMAGE_MAGIC) {
		err(L"the embedded core image has a bad magic 0x%lx (want 0x%lx)\n",
		    hdr.magic, UMBRA_IMAGE_MAGIC);
		return EFI_LOAD_ERROR;
	}
	if (hdr.vbase != UMBRA_VBASE || hdr.file_size < sizeof(hdr) ||
	    hdr.file_size > blob || hdr.mem_size < hdr.file_size ||
	    hdr.mem_size > 2 * SZ_1G || hdr.entry64 < UMBRA_VBASE ||
	    hdr.entry64 - UMBRA_VBASE >= hdr.mem_size) {
		err(L"the embedded core image header is inconsistent: vbase 0x%lx file_size 0x%lx mem_size 0x%lx entry64 0x%lx (image %ld bytes)\n",
		    hdr.vbase, hdr.file_size, hdr.mem_size, hdr.entry64, blob);
		return EFI_LOAD_ERROR;
	}

	/* 2 MiB pages map the image: allocate 2 MiB more and align by hand. */
	h->core_span = ALIGN_UP(hdr.mem_size, SZ_2M);
	st = h->core_phys ? EFI_SUCCESS :	/* guest=firmware chose it */
	     alloc_pages((h->core_span + SZ_2M) / EFI_PAGE, &a);
	if (EFI_ERROR(st)) {
		err(L"no memory for the core (%ld bytes): %r\n", h->core_span,
		    st);
		return st;
	}
	if (!h->core_phys)
		h->core_phys = ALIGN_UP(a, SZ_2M);
	bs_copy((void *)(UINTN)h->core_phys, umbra_core_start, hdr.file_size);
	bs_zero((void *)(UINTN)(h->core_phys + hdr.file_size),
		 h->core_span - hdr.file_size);
	h->entry64 = hdr.entry64;
	msg(L"core: %ld bytes (%ld in memory) at 0x%lx, entry 0x%lx\n",
	    hdr.file_size, hdr.mem_size, h->core_phys, hdr.entry64);
	return EFI_SUCCESS;
}

static EFI_STATUS run(EFI_HANDLE image, struct handoff *h)
{
	static struct loader_cfg cfg;
	EFI_LOADED_IMAGE *li;
	CHAR16 cfg_path[VOL_PATH_CHARS];
	EFI_PHYSICAL_ADDRESS a, cfg_base;
	UINT64 size;
	UINTN cfg_pages, i;
	struct boot_info *bi;
	EFI_STATUS st;

	msg(L"umbra UEFI loader\n");

	/* 9.1: where we were loaded from, and our LoadOptions. */
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image,
			       &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st)) {
		err(L"no EFI_LOADED_IMAGE_PROTOCOL on our image: %r\n", st);
		return st;
	}
	st = volume_open(image, li, &the_vol);
	if (EFI_ERROR(st))
		return st;

	volume_path(&the_vol, CFG_NAME, cfg_path);
	st = volume_read(&the_vol, cfg_path, &cfg_base, &size, &cfg_pages);
	if (EFI_ERROR(st))
		return st;
	msg(L"config: %s\n", cfg_path);
	st = cfg_parse((char *)(UINTN)cfg_base, size, &cfg);
	if (EFI_ERROR(st))
		return st;
	/* boot_info first: the modules are entered into it as they load. */
	h->bi_pages = DIV_UP(sizeof(*bi), EFI_PAGE);
	st = alloc_pages(h->bi_pages, &a);
	if (EFI_ERROR(st)) {
		err(L"no memory for boot_info: %r\n", st);
		return st;
	}
	bi = h->bi = (struct boot_info *)(UINTN)a;
	bs_zero(bi, h->bi_pages * EFI_PAGE);
	bi->firmware = BI_FW_UEFI;

	if (load_options_cmdline(li->LoadOptions, li->LoadOptionsSize,
				 the_vol.name, bi->cmdline, sizeof(bi->cmdline)))
		msg(L"command line from LoadOptions: %a\n", bi->cmdline);
	else
		strlcpy(bi->cmdline, cfg.cmdline, sizeof(bi->cmdline));
	if (fw_wanted(&cfg, bi->cmdline))
		return fw_run(image, li, &cfg, h);
	if (!cfg.have_guest) {
		err(L"%s has no 'guest = PATH [ARGS]' line\n", cfg_path);
		return EFI_NOT_FOUND;
	}

	st = place_core(h);
	if (EFI_ERROR(st))
		return st;
	bi->image_phys = h->core_phys;
	add_busy(bi, h->core_phys, h->core_span);
	add_busy(bi, (UINT64)(UINTN)bi, h->bi_pages * EFI_PAGE);
	/* umbra.efi itself (the core's image is in it) and umbra.cfg: busy
	   so that the core clears them before the guest runs */
	add_busy(bi, (UINT64)(UINTN)li->ImageBase, li->ImageSize);
	add_busy(bi, cfg_base, cfg_pages * EFI_PAGE);

	st = load_module(&the_vol, &cfg.guest, bi);
	for (i = 0; !EFI_ERROR(st) && i < cfg.nr_extra; i++)
		st = load_module(&the_vol, &cfg.extra[i], bi);
	if (EFI_ERROR(st))
		return st;

	bi->acpi_rsdp = find_rsdp();
	if (!bi->acpi_rsdp)
		warn(L"no ACPI RSDP in the configuration table\n");

	st = handoff_prepare(h);
	if (EFI_ERROR(st))
		return st;
	add_busy(bi, h->pt_base, h->pt_pages * EFI_PAGE);
	add_busy(bi, h->stack_base, h->stack_pages * EFI_PAGE);
	add_busy(bi, (UINT64)(UINTN)h->map, h->map_cap);

	msg(L"cmdline: %a\n", bi->cmdline);
	msg(L"acpi rsdp 0x%lx, identity map to 0x%lx with %s pages\n",
	    bi->acpi_rsdp, h->ident_top, h->gbpages ? L"1 GiB" : L"2 MiB");
	msg(L"exiting boot services, entering the core\n");
	return handoff_exit_and_enter(image, h);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static struct handoff h;
	EFI_STATUS st;

	InitializeLib(image, systab);
	st = run(image, &h);
	/* After ExitBootServices() was tried, boot services are gone. */
	if (h.exit_tried)
		return st;
	err(L"giving up (%r); back to the firmware in %d seconds\n", st,
	    ERROR_STALL_US / 1000000);
	/* 7.5.2 EFI_BOOT_SERVICES.Stall() */
	uefi_call_wrapper(BS->Stall, 1, ERROR_STALL_US);
	if (the_vol.root)
		uefi_call_wrapper(the_vol.root->Close, 1, the_vol.root);
	free_all_pages();
	return st;
}
