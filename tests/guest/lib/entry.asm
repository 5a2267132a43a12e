; SPDX-License-Identifier: BSD-2-Clause
;
; Guest kernels: multiboot (v1) header, entry point, GDT and exception stubs.
;
; The entry records the machine state the loader left (struct entry_state in
; guest.h) before changing anything, switches to the kernel's own stack and
; calls guest_start().

MB_MAGIC	equ 0x1badb002
MB_FLAGS	equ 0x00000003		; page-aligned modules, memory info

SEL_CODE32	equ 0x08
SEL_DATA	equ 0x10

	section .multiboot
	align 4
mb_header:
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

	section .bss
	alignb 16
stack_bottom:
	resb 32768
stack_top:

	global entry_state
	alignb 4
entry_state:				; struct entry_state
	resd 6				; eax ebx esp eflags cr0 cr4
	resw 6				; cs ds es ss fs gs

	section .text
	bits 32
	global _start
	extern guest_start
_start:
	mov [entry_state + 0], eax
	mov [entry_state + 4], ebx
	mov [entry_state + 8], esp
	mov esp, stack_top
	pushfd
	pop dword [entry_state + 12]
	mov eax, cr0
	mov [entry_state + 16], eax
	mov eax, cr4
	mov [entry_state + 20], eax
	mov [entry_state + 24], cs
	mov [entry_state + 26], ds
	mov [entry_state + 28], es
	mov [entry_state + 30], ss
	mov [entry_state + 32], fs
	mov [entry_state + 34], gs
	cld
	push dword 0			; end of frame-pointer chain
	xor ebp, ebp
	call guest_start
.hang:
	cli
	hlt
	jmp .hang

; void gdt_load(void): switch to the framework's GDT and reload every
; segment register.
	global gdt_load
gdt_load:
	lgdt [gdt_ptr]
	jmp SEL_CODE32:.reload
.reload:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	ret

	section .data
	align 16
	global gdt
gdt:
	dq 0				; 0x00 null
	dq 0x00cf9a000000ffff		; 0x08 32-bit code, flat
	dq 0x00cf92000000ffff		; 0x10 data, flat
	dq 0x00af9a000000ffff		; 0x18 64-bit code
	dq 0x00cf92000000ffff		; 0x20 data for 64-bit code
gdt_end:

	align 4
	dw 0
	global gdt_ptr
gdt_ptr:
	dw gdt_end - gdt - 1
	dd gdt

; Exception stubs: push a dummy error code where the CPU pushes none, then
; the vector, save the registers and call exception_handler(frame).
	section .text
	extern exception_handler

%macro EXC 1
exc_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || \
    (%1 == 21) || (%1 == 29) || (%1 == 30)
	; the CPU pushed an error code
%else
	push dword 0
%endif
	push dword %1
	jmp exc_common
%endmacro

%assign v 0
%rep 32
	EXC v
%assign v v + 1
%endrep

exc_common:
	pushad
	mov eax, esp
	push eax
	call exception_handler		; does not return
	add esp, 4
	popad
	add esp, 8
	iretd

	section .rodata
	align 4
	global exc_stubs
exc_stubs:
%assign v 0
%rep 32
	dd exc_ %+ v
%assign v v + 1
%endrep

	section .note.GNU-stack noalloc noexec nowrite progbits
