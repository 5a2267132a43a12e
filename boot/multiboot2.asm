; SPDX-License-Identifier: BSD-2-Clause
;
; The multiboot2 way in (GRUB on BIOS and UEFI machines).  GRUB enters in
; 32-bit protected mode, paging off, EAX = magic, EBX = boot information
; (Multiboot2 spec 3.3, "I386 machine state").  We build just enough page
; tables to reach 64-bit mode with physical memory identity-mapped below
; 4 GiB and the core mapped at UMBRA_VBASE, then call mb2_start64().

%define MB2_MAGIC	0xe85250d6
%define MB2_ARCH_I386	0
%define CORE_LOAD	0x200000
%define CORE_PD_ENTRIES	64		; 128 MiB of core image at most

extern mb2_entry64

section .multiboot2
align 8
mb2_header:
	dd MB2_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	; information request: command line, modules, memory map, ACPI
	align 8
	dw 1, 0
	dd 8 + 4 * 5
	dd 1, 3, 6, 14, 15
	align 8
	; modules page aligned
	dw 6, 0
	dd 8
	; end
	align 8
	dw 0, 0
	dd 8
mb2_header_end:

section .boot.text
bits 32
global mb2_entry32
mb2_entry32:
	cli
	cld
	mov edi, eax			; magic
	mov esi, ebx			; boot information
	mov esp, boot_stack_top

	; zero the tables: GRUB need not clear a NOLOAD section
	push edi
	mov edi, boot_tables
	mov ecx, (boot_tables_end - boot_tables) / 4
	xor eax, eax
	rep stosd
	pop edi

	; PML4[0] -> identity PDPT, PML4[511] -> high PDPT
	mov eax, boot_pdpt_lo
	or eax, 3
	mov [boot_pml4], eax
	mov eax, boot_pdpt_hi
	or eax, 3
	mov [boot_pml4 + 511 * 8], eax

	; identity: 4 page directories of 2 MiB pages
	mov ecx, 0
.pdpt_lo:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd_lo
	or eax, 3
	mov [boot_pdpt_lo + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jne .pdpt_lo

	mov ecx, 0
.pd_lo:
	mov eax, ecx
	shl eax, 21
	or eax, 0x83			; present, writable, 2 MiB
	mov edx, ecx
	shr edx, 11			; bits 32+ of the address
	mov [boot_pd_lo + ecx * 8], eax
	mov [boot_pd_lo + ecx * 8 + 4], edx
	inc ecx
	cmp ecx, 2048
	jne .pd_lo

	; UMBRA_VBASE = PML4 511, PDPT 510
	mov eax, boot_pd_hi
	or eax, 3
	mov [boot_pdpt_hi + 510 * 8], eax
	mov ecx, 0
.pd_hi:
	mov eax, ecx
	shl eax, 21
	add eax, CORE_LOAD
	or eax, 0x83
	mov [boot_pd_hi + ecx * 8], eax
	inc ecx
	cmp ecx, CORE_PD_ENTRIES
	jne .pd_hi

	; long mode: CR4.PAE, CR3, EFER.LME, CR0.PG (SDM Vol 3 10.8.5)
	mov eax, cr4
	or eax, 1 << 5
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, 0xc0000080
	rdmsr
	or eax, 1 << 8
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16) | 1
	mov cr0, eax
	lgdt [boot_gdt_ptr]
	jmp 0x08:.long_mode

bits 64
.long_mode:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rax, mb2_entry64		; edi = magic, esi = info
	jmp rax

section .boot.data
align 16
boot_gdt:
	dq 0
	dq 0x00af9a000000ffff		; 64-bit code
	dq 0x00cf92000000ffff		; data
boot_gdt_ptr:
	dw boot_gdt_ptr - boot_gdt - 1
	dd boot_gdt

section .boot.bss nobits
align 4096
boot_tables:
boot_pml4:	resb 4096
boot_pdpt_lo:	resb 4096
boot_pdpt_hi:	resb 4096
boot_pd_lo:	resb 4096 * 4
boot_pd_hi:	resb 4096
boot_tables_end:
		resb 4096
boot_stack_top:
