; SPDX-License-Identifier: BSD-2-Clause
;
; The first instructions of an application processor.  smp.c copies
; [ap_tramp, ap_tramp_end) to a page below 1 MiB that umbra owns and fills
; ap_tramp_args; the SIPI starts the AP in real mode at CS = page >> 4,
; IP = 0 (SDM Vol 3 10.4.4).  From real mode straight to IA-32e mode: PAE,
; CR3 (a PML4 below 4 GiB: only CR3[31:0] is loaded here), EFER.LME, then
; CR0.PE and CR0.PG together and a far jump to a 64-bit code segment (SDM
; Vol 3 10.8.5); then umbra's own CR3, stack and C entry.

section .rodata
bits 16
global ap_tramp, ap_tramp_args, ap_tramp_end
ap_tramp:
	cli
	cld
	mov ax, cs
	mov ds, ax
	o32 lgdt [gdtr - ap_tramp]
	mov eax, [a_cr4 - ap_tramp]
	mov cr4, eax
	mov eax, [a_cr3_low - ap_tramp]
	mov cr3, eax
	mov ecx, 0xc0000080
	mov eax, [a_efer - ap_tramp]
	xor edx, edx
	wrmsr
	mov eax, 0x80000011		; PG, ET, PE
	mov cr0, eax
	o32 jmp far [farptr - ap_tramp]

bits 64
global ap_tramp_long
ap_tramp_long:
	mov eax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	lea rbx, [rel ap_tramp]
	mov rax, [rbx + a_cr3 - ap_tramp]
	mov cr3, rax
	mov rsp, [rbx + a_stack - ap_tramp]
	xor ebp, ebp
	call [rbx + a_entry - ap_tramp]
.halt:	cli
	hlt
	jmp .halt

; struct ap_tramp_args (smp.c)
align 16
ap_tramp_args:
gdt:	dq 0
	dq 0x00af9a000000ffff		; 0x08: 64-bit code
	dq 0x00cf92000000ffff		; 0x10: data
	dw 0
gdtr:	dw 23
	dd 0				; linear address of gdt
farptr:	dd 0				; linear address of ap_tramp_long
	dw 0x08
	dw 0
a_cr3_low:
	dd 0
a_cr4:	dd 0
a_efer:	dd 0
	dd 0
a_cr3:	dq 0
a_stack:
	dq 0
a_entry:
	dq 0
ap_tramp_end:
