/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hand-off from a way in (boot/multiboot2.c, boot/efi/) to the core.
 *
 * Both ways in leave the CPU in 64-bit mode with paging on, interrupts off,
 * and page tables that (a) identity-map physical memory from 0 to at least
 * max(4 GiB, end of the highest memory-map entry) and (b) map the core image
 * at UMBRA_VBASE.  They then call the core's 64-bit entry with a pointer to
 * a struct boot_info (identity-mapped) in RDI.
 *
 * Everything the core must not overwrite before it has copied what it needs
 * (modules, this structure, the page tables and stack in use, the core
 * image itself) is listed in busy[]: the core chooses its own memory outside
 * of those ranges and copies the modules away before loading the guest.
 */
#ifndef UMBRA_BOOTINFO_H
#define UMBRA_BOOTINFO_H

#include <stdint.h>

#define UMBRA_VBASE		0xffffffff80000000ull
#define UMBRA_IMAGE_MAGIC	0x4547414d49424d55ull	/* "UMBIMAGE" */

/* At UMBRA_VBASE: what a loader needs to place the core image. */
struct umbra_image_header {
	uint64_t magic;		/* UMBRA_IMAGE_MAGIC */
	uint64_t vbase;		/* link address of this header */
	uint64_t file_size;	/* bytes to copy from the flat image */
	uint64_t mem_size;	/* bytes to reserve from vbase, .bss included */
	uint64_t entry64;	/* void entry(struct boot_info *), virtual */
};

enum bi_mem_type {
	BI_MEM_USABLE = 1,	/* free RAM once boot is over */
	BI_MEM_RESERVED = 2,
	BI_MEM_ACPI_RECLAIM = 3,
	BI_MEM_ACPI_NVS = 4,
	BI_MEM_UNUSABLE = 5,
};

struct bi_mem_range {
	uint64_t base;
	uint64_t size;
	uint32_t type;		/* enum bi_mem_type */
	uint32_t pad;
};

/*
 * A module's command line is "NAME ARGS": the first word its path or name,
 * ARGS what the guest is given.  ARGS may have BI_ARGS_MAX characters, as
 * Linux's cmdline_size allows (Documentation/arch/x86/boot.rst), on every
 * way in; the core refuses longer ones by name (arch/x86/guest/load.c).  A way
 * in copies what fits into cmdline and sets cmdline_len to the length of
 * the whole string it was given, so that nothing is cut without a word.
 */
#define BI_ARGS_MAX		2047
#define BI_CMDLINE_SIZE		4096

struct bi_module {
	uint64_t base;		/* physical */
	uint64_t size;
	uint64_t cmdline_len;	/* strlen of the way in's string */
	char cmdline[BI_CMDLINE_SIZE];
};

#define BI_MAX_MEM	256
#define BI_MAX_MODULES	16
#define BI_MAX_BUSY	(BI_MAX_MODULES + 8)
#define BI_MAX_SCRUB	16

enum bi_firmware {
	BI_FW_BIOS = 1,		/* multiboot2 from GRUB on a BIOS machine */
	BI_FW_UEFI_GRUB = 2,	/* multiboot2 from GRUB on a UEFI machine */
	BI_FW_UEFI = 3,		/* umbra.efi started by the firmware */
};

/*
 * umbra.efi with guest=firmware (docs/efi.md): the processor state that
 * boot/efi/takeover.asm captured just before it called the core, with boot
 * services still running.  It becomes the guest's first state
 * (arch/x86/guest/firmware.c): the guest resumes umbra.efi after that call.
 * takeover.asm writes the fields by offset: keep the order.
 */
struct bi_cpu_state {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cr0, cr3, cr4, efer, pat, fs_base, gs_base, kernel_gs_base;
	uint64_t gdt_base, idt_base;
	uint16_t gdt_limit, idt_limit;
	uint16_t sel[8];	/* ES CS SS DS FS GS LDTR TR (enum vcpu_seg) */
};

/*
 * guest=firmware: one of the firmware's APs, parked by umbra.efi
 * (boot/efi/firmware.c, takeover.asm fw_ap_park()) through the firmware's
 * MP services: it captured its state in st and spins until umbra's INIT
 * takes it over (its vCPU then resumes st: fw_ap_park() returns to the
 * firmware as umbra's guest) or until release is set (it returns to the
 * firmware outside umbra).  takeover.asm writes parked, back and sig by
 * offset: keep the order.
 */
struct bi_fw_ap {
	struct bi_cpu_state st;
	uint32_t apic_id;
	uint32_t parked;	/* 1: st is captured, the AP spins */
	uint32_t release;	/* set to 1: the AP returns, not taken over */
	uint32_t back;		/* 1: the AP returned from fw_ap_park() */
	uint32_t sig[3];	/* then: its CPUID 4000_0000h EBX ECX EDX */
	uint32_t pad;
};

#define BI_MAX_FW_APS	63

struct boot_info {
	uint32_t firmware;		/* enum bi_firmware */
	uint32_t nr_mem;
	uint32_t nr_modules;
	uint32_t nr_busy;
	uint64_t image_phys;		/* where UMBRA_VBASE is mapped now */
	uint64_t acpi_rsdp;		/* physical, 0 if unknown */
	char cmdline[1024];		/* umbra's own options */
	struct bi_mem_range mem[BI_MAX_MEM];	/* sorted, not overlapping */
	struct bi_module modules[BI_MAX_MODULES];
	struct bi_mem_range busy[BI_MAX_BUSY];	/* type unused */
	/*
	 * The boot loader's own memory that becomes the guest's (GRUB's heap
	 * on UEFI holds copies of umbra.elf): with busy[], cleared before the
	 * guest starts.  It may cover more than that, never less: only the
	 * guest's usable RAM in it is cleared.
	 */
	uint32_t nr_scrub;
	struct bi_mem_range scrub[BI_MAX_SCRUB];	/* type unused */
	/* guest=firmware: physical address of a struct bi_cpu_state, else 0 */
	uint64_t fw_state;
	/* guest=firmware: nr_fw_aps struct bi_fw_ap at fw_aps (physical);
	   0: the firmware keeps its APs (umbra.efi said why) */
	uint64_t fw_aps;
	uint32_t nr_fw_aps;
	uint32_t pad;
};

#endif
