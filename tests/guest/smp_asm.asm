; SPDX-License-Identifier: BSD-2-Clause
;
; smp: the application processors' way in.  ap_blob..ap_blob_end is copied
; to AP_BASE (below 1 MiB, the SIPI vector's page) by smp.c; the SIPI
; starts an AP there in real mode (SDM Vol 3 10.4.4).  It loads the GDT in
; the blob (the framework's selectors: 0x08 code, 0x10 data), sets CR0.PE
; and jumps to ap_pm32 in the kernel, which takes a stack and calls
; ap_main().  The kernel runs without paging: no identity map is needed.
; With ap_poke_seg not 0 (smp.c sets it in the copy) the AP first stores
; ap_poke_val at ap_poke_seg:0 in real mode: a page-table entry the AP's
; paging used before and uses again after (smp.c, rm_pte_check()).

AP_BASE		equ 0x8000
AP_STACK_SIZE	equ 4096
AP_MAX		equ 16

%define AB(x)	(AP_BASE + (x) - ap_blob)

	section .text
	bits 16
	global ap_blob, ap_blob_end, ap_poke_seg, ap_poke_val
ap_blob:
	cli
	cld
	mov ax, cs
	mov ds, ax
	mov ax, [ap_poke_seg - ap_blob]
	test ax, ax
	jz .no_poke
	mov es, ax
	mov eax, [ap_poke_val - ap_blob]
	mov [es:0], eax
.no_poke:
	o32 lgdt [ap_gdtr - ap_blob]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	o32 jmp far [ap_far - ap_blob]

	align 8
ap_gdt:
	dq 0
	dq 0x00cf9a000000ffff		; 0x08 32-bit code, flat
	dq 0x00cf92000000ffff		; 0x10 data, flat
	dw 0
ap_gdtr:
	dw 23
	dd AB(ap_gdt)
ap_far:
	dd ap_pm32
	dw 0x08
	align 4
ap_poke_val:
	dd 0
ap_poke_seg:
	dw 0
ap_blob_end:

	bits 32
	extern ap_main
ap_pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, 1
	lock xadd [ap_next_stack], eax	; this AP's stack: one each
	cmp eax, AP_MAX
	jae .hang
	inc eax
	imul eax, AP_STACK_SIZE
	lea esp, [ap_stacks + eax]
	push dword 0
	xor ebp, ebp
	call ap_main
.hang:
	cli
	hlt
	jmp .hang

	section .data
	global ap_next_stack
ap_next_stack:
	dd 0

	section .bss
	alignb 16
ap_stacks:
	resb AP_STACK_SIZE * AP_MAX
