/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest loaders.  arch/x86/guest/load.c copies the boot modules into umbra's
 * memory ("staging": the guest's image may land where the firmware or GRUB
 * left them), picks the loader by the kernel's format, and sets the vCPU up
 * in the state the loader asks for.  A loader places what it needs in
 * usable guest memory with guest_alloc(), and says what is wrong, naming
 * the file, when it cannot.
 */
#ifndef UMBRA_X86_LOAD_H
#define UMBRA_X86_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "umbra/bootinfo.h"

struct vcpu;

/* A boot module copied into umbra's memory; [0] is the guest kernel. */
struct staged {
	const uint8_t *data;
	uint64_t size;
	size_t pages;
	const char *cmdline;	/* the module's string: "NAME ARGS..." */
	const char *args;	/* in it, what follows NAME and its blanks */
	const char *name;	/* its first word, for messages */
	char name_buf[64];
};

enum guest_entry_mode {
	ENTRY_PROT32_FLAT,	/* 32-bit protected mode, paging off */
	ENTRY_FIRMWARE,		/* guest=firmware: the captured state (firmware.c) */
};

/* The state a boot protocol asks for at the guest's first instruction. */
struct guest_boot {
	enum guest_entry_mode mode;
	uint64_t entry;
	uint32_t eax, ebx, esi;	/* multiboot: EAX, EBX; Linux: ESI */
	uint32_t gdt;		/* guest-physical GDT: null, code, data */
	uint16_t gdt_limit;
	uint16_t cs, ds;	/* selectors into that GDT */
	uint64_t acpi_rsdp;	/* in: boot_info's, 0 if unknown (Linux) */
};

/* A loader: 1 if the kernel is its format, then 0 or -1 from load. */
struct guest_loader {
	const char *name;
	bool (*probe)(const struct staged *kernel);
	/* 0, or a negative code (umbra/err.h) after saying why */
	int (*load)(const struct staged *mods, uint32_t nr, struct guest_boot *boot);
};

extern const struct guest_loader multiboot_loader;
extern const struct guest_loader linux_loader;

/* 0, or a negative code (umbra/err.h) after saying what is wrong with
   which file */
int guest_load(struct boot_info *bi, struct guest_boot *boot);
void guest_set_entry_state(struct vcpu *v, const struct guest_boot *boot);

/* guest=firmware (boot_info.fw_state): the firmware resumed as the guest. */
int firmware_load(const struct boot_info *bi, struct guest_boot *boot);
void firmware_set_entry_state(struct vcpu *v);
/*
 * The APs umbra.efi parked (boot_info.fw_aps), before any AP starts: true
 * if umbra takes all of them over (each in `ids`, the MADT's APIC IDs, and
 * mmu=tdp); else they go back to the firmware, with a warning.
 */
bool firmware_aps_take(const struct boot_info *bi, const uint32_t *ids, unsigned int n);
/* On an AP's CPU, its vCPU created: true if it resumes the state it was
   parked in (not wait-for-SIPI). */
bool firmware_ap_resume(struct vcpu *v);

/* Usable guest memory above every earlier allocation; 0 if none is left. */
uint64_t guest_alloc(uint64_t size, uint64_t align, uint64_t limit);
/* A copy of data in usable guest memory below 4 GiB; 0 if none is left. */
uint64_t guest_place(const void *data, uint64_t size, uint64_t align);
/* A GDT below 4 GiB with flat code at selector cs (8 or 16) and data at
   cs + 8, entered in boot; -UMBRA_ENOMEM if no memory is left. */
int guest_place_gdt(struct guest_boot *boot, uint16_t cs);
/* Everything below `end` is taken (the kernel image, say). */
void guest_alloc_reserve(uint64_t end);
/* -UMBRA_EINVAL if [base, base+size) is not usable guest memory. */
int guest_check_range(const struct staged *k, uint64_t base, uint64_t size,
		      const char *what);

#endif
