; SPDX-License-Identifier: BSD-2-Clause
;
; The benchmark guest (bench.c): multiboot (v1) header, the way from the
; loader's 32-bit protected mode into long mode, and the 64-bit exception
; stubs.  Assembled as elf64; the linked image is converted to elf32-i386
; (tests/guest/bench.mk) so that multiboot loaders take it.
;
; Long mode is entered with an identity map of the first 1 GiB in 2 MiB
; pages (bench_pml4 -> bench_pdpt -> bench_pd); bench.c builds the 4 KiB
; mappings of its workloads below PML4 entry 1 and shares entry 0.

MB_MAGIC	equ 0x1badb002
MB_FLAGS	equ 0x00000003		; page-aligned modules, memory info

SEL_CODE64	equ 0x08
SEL_DATA	equ 0x10

CR0_PE		equ 1 << 0
CR0_WP		equ 1 << 16
CR0_PG		equ 1 << 31
CR4_PAE		equ 1 << 5
MSR_EFER	equ 0xc0000080
EFER_LME	equ 1 << 8

	section .multiboot
	align 4
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)

	section .bss
	alignb 4096
	global bench_pml4, bench_pdpt, bench_pd
bench_pml4:
	resb 4096
bench_pdpt:
	resb 4096
bench_pd:
	resb 4096
	alignb 16
stack_bottom:
	resb 65536
stack_top:
	global bench_mb_magic, bench_mb_info
bench_mb_magic:
	resd 1
bench_mb_info:
	resd 1

	section .text
	bits 32
	global _start
_start:
	cli
	mov [bench_mb_magic], eax
	mov [bench_mb_info], ebx
	mov esp, stack_top
	cld

	; PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] = i * 2 MiB (P, W, PS)
	mov dword [bench_pml4], bench_pdpt + 3
	mov dword [bench_pdpt], bench_pd + 3
	xor ecx, ecx
.fill:
	mov eax, ecx
	shl eax, 21
	or eax, 0x83
	mov [bench_pd + ecx * 8], eax
	mov dword [bench_pd + ecx * 8 + 4], 0
	inc ecx
	cmp ecx, 512
	jb .fill

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, bench_pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	lgdt [gdt_ptr]
	mov eax, cr0
	or eax, CR0_PE | CR0_WP | CR0_PG
	mov cr0, eax
	jmp SEL_CODE64:long_entry

	bits 64
long_entry:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov rsp, stack_top
	xor ebp, ebp
	extern bench_main
	call bench_main
.hang:
	cli
	hlt
	jmp .hang

; Exception stubs: an error code of 0 where the CPU pushes none, then the
; vector; the registers the C handler may clobber, and RBX (which keeps
; the frame here), are saved around bench_exception(frame).
	extern bench_exception

%macro EXC 1
exc_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || \
    (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push qword 0
%endif
	push qword %1
	jmp exc_common
%endmacro

%assign v 0
%rep 32
	EXC v
%assign v v + 1
%endrep

exc_common:
	push rbx
	push rax
	push rcx
	push rdx
	push rsi
	push rdi
	push r8
	push r9
	push r10
	push r11
	mov rdi, rsp
	mov rbx, rsp			; callee-saved: the frame, for realignment
	and rsp, -16
	call bench_exception
	mov rsp, rbx
	pop r11
	pop r10
	pop r9
	pop r8
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rax
	pop rbx
	add rsp, 16			; vector, error code
	iretq

	section .rodata
	align 8
	global bench_exc_stubs
bench_exc_stubs:
%assign v 0
%rep 32
	dq exc_ %+ v
%assign v v + 1
%endrep

	section .data
	align 16
gdt:
	dq 0				; 0x00 null
	dq 0x00af9a000000ffff		; 0x08 64-bit code
	dq 0x00cf92000000ffff		; 0x10 data
gdt_end:
	align 4
	dw 0
gdt_ptr:
	dw gdt_end - gdt - 1
	dd gdt
	dd 0

	section .note.GNU-stack noalloc noexec nowrite progbits
