/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * umbra.efi: the UEFI way in.  A gnu-efi application that reads umbra.cfg
 * from its own directory, loads the guest and modules, places the embedded
 * core image, converts the memory map, exits boot services and calls the
 * core with a struct boot_info (include/umbra/bootinfo.h); with
 * guest=firmware (firmware.c) it calls the core with boot services still
 * running and carries on as its guest.
 *
 * Section numbers in comments refer to the UEFI Specification 2.10.
 */
#ifndef UMBRA_BOOT_EFI_LOADER_H
#define UMBRA_BOOT_EFI_LOADER_H

/* gnu-efi 3.0.15's efiapi.h declares EFI_RESERVED_SERVICE with "()". */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <efi.h>
#include <efilib.h>
#pragma GCC diagnostic pop
#include <stdbool.h>
#include <umbra/bootinfo.h>
#include "lib/string.h"

#define EFI_PAGE		4096ull
#define SZ_2M			(2ull << 20)
#define SZ_1G			(1ull << 30)
#define SZ_512G			(512ull << 30)
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((UINT64)(a) - 1))
#define DIV_UP(x, a)		(((x) + (a) - 1) / (a))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

/* How long an error message stays on the screen before we return. */
#define ERROR_STALL_US		(5u * 1000u * 1000u)

/* Path lengths we accept, in characters including the terminator. */
#define PATH_MAX_CHARS		256
#define VOL_PATH_CHARS		(2 * PATH_MAX_CHARS)

/* Messages, all prefixed with "umbra-efi: " and the level (main.c). */
void say(const CHAR16 *level, const CHAR16 *fmt, ...);
#define msg(...)	say(L"", __VA_ARGS__)
#define warn(...)	say(L"warning: ", __VA_ARGS__)
#define err(...)	say(L"error: ", __VA_ARGS__)

/* Page allocations, remembered so that an error path can give them back. */
EFI_STATUS alloc_pages(UINTN pages, EFI_PHYSICAL_ADDRESS *out);
void free_all_pages(void);

/* Bulk memory helpers through boot services: before ExitBootServices(). */
void bs_zero(void *dst, UINT64 len);
void bs_copy(void *dst, const void *src, UINT64 len);

/* Plain memory and string helpers (lib/): usable after ExitBootServices(). */

/* umbra.cfg, parsed (config.c). */
struct cfg_file {
	char path[PATH_MAX_CHARS];	/* as written, '/' turned into '\' */
	char cmdline[sizeof(((struct bi_module *)0)->cmdline)];
	UINTN cmdline_len;		/* of the whole line, as written */
	unsigned int line;
};

struct loader_cfg {
	char cmdline[sizeof(((struct boot_info *)0)->cmdline)];
	bool have_cmdline;
	bool have_guest;
	struct cfg_file guest;
	unsigned int nr_extra;
	struct cfg_file extra[BI_MAX_MODULES - 1];
	bool have_boot;
	struct cfg_file boot;		/* guest=firmware: the loader to start */
};

EFI_STATUS cfg_parse(char *text, UINTN len, struct loader_cfg *cfg);
bool load_options_cmdline(const void *opts, UINT32 size,
			  const CHAR16 *image_name, char *out, UINTN out_len);

/* The volume and directory umbra.efi was started from (files.c). */
struct volume {
	EFI_FILE_HANDLE root;
	CHAR16 dir[PATH_MAX_CHARS];	/* "\EFI\BOOT" or "" for the root */
	CHAR16 name[PATH_MAX_CHARS];	/* "BOOTX64.EFI" */
};

EFI_STATUS volume_open(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
		       struct volume *vol);
void volume_path(const struct volume *vol, const char *path, CHAR16 *out);
EFI_STATUS volume_read(struct volume *vol, const CHAR16 *path,
		       EFI_PHYSICAL_ADDRESS *base, UINT64 *size,
		       UINTN *pages);

/* Memory map conversion (memmap.c); neither allocates nor calls firmware. */
EFI_STATUS memmap_convert(void *map, UINTN map_size, UINTN desc_size,
			  struct boot_info *bi);
UINT64 memmap_top(const void *map, UINTN map_size, UINTN desc_size);

/* The hand-off (handoff.c). */
struct handoff {
	struct boot_info *bi;
	UINTN bi_pages;
	EFI_PHYSICAL_ADDRESS core_phys;
	UINT64 core_span;		/* mem_size rounded up to 2 MiB */
	UINT64 entry64;
	EFI_PHYSICAL_ADDRESS pt_base;
	UINTN pt_pages;
	UINT64 ident_top;		/* identity map covers [0, ident_top) */
	bool gbpages;
	EFI_PHYSICAL_ADDRESS stack_base;
	UINTN stack_pages;
	void *map;
	UINTN map_cap;
	bool exit_tried;		/* ExitBootServices() was called */
};

EFI_STATUS handoff_prepare(struct handoff *h);
void handoff_build_tables(const struct handoff *h);
EFI_STATUS handoff_exit_and_enter(EFI_HANDLE image, struct handoff *h);

/* main.c: the core placed at h->core_phys (chosen here if 0); the RSDP. */
EFI_STATUS place_core(struct handoff *h);
UINT64 find_rsdp(void);

/* guest=firmware (firmware.c, takeover.asm): umbra, then the firmware as its guest. */
bool fw_wanted(const struct loader_cfg *cfg, const char *cmdline);
EFI_STATUS fw_run(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
		  const struct loader_cfg *cfg, struct handoff *h);

/* The embedded core image (core-blob.S). */
extern const UINT8 umbra_core_start[];
extern const UINT8 umbra_core_end[];

/* Entry point called by gnu-efi's crt0 (System V calling convention). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

#endif
