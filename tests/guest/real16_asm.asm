; SPDX-License-Identifier: BSD-2-Clause
;
; real16: the way into real mode and back (SDM Vol 3 9.9.2, "Switching
; Back to Real-Address Mode"), and the 16-bit code that runs there.
;
; rm_blob..rm_blob_end is copied to RM_BASE (below 1 MiB) by real16.c;
; every address inside it is RM_BASE + (label - rm_blob).  The kernel
; runs without paging, so the switch needs no identity map.

RM_BASE		equ 0x7000
RM_STACK	equ 0x6ff0		; grows down from below the blob
RM_IVT		equ 0x6000		; the IVT real mode uses (LIDT)

SEL_CODE32	equ 0x08
SEL_DATA32	equ 0x10
SEL_CODE16	equ 0x18
SEL_DATA16	equ 0x20

%define RM(x)	(RM_BASE + (x) - rm_blob)

	section .data
	align 16
rm_gdt:
	dq 0
	dq 0x00cf9a000000ffff		; 0x08 32-bit code, flat
	dq 0x00cf92000000ffff		; 0x10 data, flat
	dq 0x00009a000000ffff		; 0x18 16-bit code, base 0, 64 KiB
	dq 0x000092000000ffff		; 0x20 16-bit data, base 0, 64 KiB
rm_gdt_end:
	align 4
	dw 0
rm_gdt_ptr:
	dw rm_gdt_end - rm_gdt - 1
	dd rm_gdt
	dw 0
pm_idt_save:
	dw 0
	dd 0
pm_esp_save:
	dd 0

	section .text
	bits 32
	extern gdt_load

; void rm_run(void): real mode and back; results in the blob's rm_res.
	global rm_run
rm_run:
	pushad
	pushfd
	cli
	sidt [pm_idt_save]
	mov [pm_esp_save], esp
	lgdt [rm_gdt_ptr]
	jmp SEL_CODE16:RM(rm_pm16)

rm_back:				; 32-bit protected mode again
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, [pm_esp_save]
	lidt [pm_idt_save]
	call gdt_load			; the framework's GDT, CS reloaded
	popfd
	popad
	ret

; ---- copied below 1 MiB ----
	global rm_blob, rm_blob_end, rm_res
	align 16
rm_blob:
	bits 16
rm_pm16:				; 16-bit protected mode, CS base 0
	mov ax, SEL_DATA16
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, cr0
	and eax, ~1			; PE off (paging is off already)
	mov cr0, eax
	jmp 0:RM(rm_real)

rm_real:				; real mode, CS = 0
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov sp, RM_STACK
	lidt [RM(rm_idtr)]
	mov word [RM_IVT + 0x21 * 4], RM(rm_int21)
	mov word [RM_IVT + 0x21 * 4 + 2], 0
	mov word [RM_IVT + 6 * 4], RM(rm_ud)
	mov word [RM_IVT + 6 * 4 + 2], 0
	mov word [RM_IVT + 13 * 4], RM(rm_gp)
	mov word [RM_IVT + 13 * 4 + 2], 0

	; CPUID (an exit under umbra, emulated in real mode)
	xor eax, eax
	cpuid
	mov [RM(rm_res) + 0], ebx

	; INT 0x21 through the IVT: the handler sees the return IP
	int 0x21
.after_int:
	mov word [RM(rm_res) + 6], RM(.after_int)

	; #UD through the IVT: the pushed IP is the UD2's
.ud:
	ud2
	mov word [RM(rm_res) + 10], RM(.ud)

	; RDMSR of IA32_RTIT_CTL under umbra: #GP, injected by umbra, and
	; in real mode with no error code pushed (rm_run's caller says when)
	cmp byte [RM(rm_res) + 24], 0
	je .no_msr
	mov ecx, 0x570
.msr:
	rdmsr
	mov word [RM(rm_res) + 20], RM(.msr)
.no_msr:

	; segment arithmetic: 0x0700:0x0f00 is linear 0x7f00
	mov ax, RM_BASE >> 4
	mov ds, ax
	mov word [0x0f00], 0xbeef
	xor ax, ax
	mov ds, ax

	; CR0 and MSW as real mode reads them (PE clear)
	mov eax, cr0
	mov [RM(rm_res) + 12], eax
	smsw ax
	mov [RM(rm_res) + 16], ax

	; back: PE on, a far jump to 32-bit code
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword SEL_CODE32:rm_back

rm_int21:
	inc word [RM(rm_res) + 4]
	mov bp, sp
	mov ax, [bp]			; IP after INT 0x21
	mov [RM(rm_res) + 8], ax
	iret

rm_ud:
	mov bp, sp
	mov ax, [bp]			; IP of the UD2
	mov [RM(rm_res) + 14 + 4], ax
	add word [bp], 2		; go on after it
	iret

rm_gp:
	mov bp, sp
	mov ax, [bp]			; IP of the RDMSR, if no error code
	mov [RM(rm_res) + 22], ax
	add word [bp], 2		; go on after it
	iret

	align 4
rm_idtr:
	dw 0x3ff
	dd RM_IVT
	align 4
rm_res:
	dd 0		; +0  CPUID.0 EBX
	dw 0		; +4  INT 0x21 count
	dw 0		; +6  IP after INT 0x21
	dw 0		; +8  IP the handler saw
	dw 0		; +10 IP of UD2
	dd 0		; +12 CR0
	dw 0		; +16 SMSW
	dw 0		; +18 IP the #UD handler saw
	dw 0		; +20 IP of RDMSR
	dw 0		; +22 IP the #GP handler saw
	db 0		; +24 in: try RDMSR
	db 0, 0, 0
rm_blob_end:

	section .note.GNU-stack noalloc noexec nowrite progbits
