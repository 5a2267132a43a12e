; SPDX-License-Identifier: BSD-2-Clause
;
; paging: the trip into long mode and back.
;
; int long_mode_run(struct lm_args *a), called from 32-bit C with paging off
; and the framework's GDT (0x08 code32, 0x10 data, 0x18 code64, 0x20 data).
; Loads CR3, sets CR4.PAE, EFER.LME (and the extra EFER bits the caller
; asks for), CR0.PG, far-jumps to 64-bit code, runs the tests below, writes
; the results into *a, then returns through compatibility mode, turns
; paging and long mode off again and restores EFER, CR4 and the IDT.
; Keep the offsets in step with struct lm_args in paging.c.

A_CR3		equ 0
A_EFER_SET	equ 8
A_HOLE		equ 16
A_NX_PAGE	equ 24
A_ALIAS		equ 32
A_OP_A		equ 40
A_OP_B		equ 48
A_MUL		equ 56
A_ROL		equ 64
A_QUOT		equ 72
A_REM		equ 80
A_ZEXT		equ 88
A_ALIAS_READ	equ 96
A_EFER_LM	equ 104
A_PF_READ_CR2	equ 112
A_PF_READ_ERR	equ 120
A_PF_WRITE_CR2	equ 128
A_PF_WRITE_ERR	equ 136
A_NX_CR2	equ 144
A_NX_ERR	equ 152
A_PF_COUNT	equ 160
A_BAD_VECTOR	equ 168
A_BAD_RIP	equ 176
A_BAD_ERR	equ 184
A_BAD_CR2	equ 192
A_SERIAL	equ 200
A_REACHED	equ 208
A_CS64		equ 216
A_LME_FIRST	equ 224

MSR_EFER	equ 0xc0000080
EFER_LME	equ 0x100
EFER_NXE	equ 0x800
COM1		equ 0x3f8

	section .bss
	alignb 16
	global idt64
idt64:		resb 32 * 16
args:		resd 1			; struct lm_args *
saved_esp:	resd 1
saved_efer:	resd 2
saved_cr4:	resd 1
saved_idt:	resb 8
lm_rsp:		resq 1
pf_recover:	resq 1			; where a #PF resumes; 0: unexpected

	section .data
	align 4
	dw 0
idt64_ptr:
	dw 32 * 16 - 1
	dd idt64, 0

	section .rodata
msg64:	db "info: hello from 64-bit mode (serial output from long mode)", 13, 10
msg64_len equ $ - msg64

	section .text
	bits 32
set_lme:
	mov ecx, MSR_EFER
	rdmsr
	mov [saved_efer], eax
	mov [saved_efer + 4], edx
	or eax, EFER_LME
	or eax, [ebx + A_EFER_SET]
	wrmsr
	ret

	global long_mode_run
long_mode_run:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov [saved_esp], esp
	mov ebx, [ebp + 8]
	mov [args], ebx
	sidt [saved_idt]

	mov eax, [ebx + A_CR3]
	mov cr3, eax
	mov eax, cr4
	mov [saved_cr4], eax
	cmp dword [ebx + A_LME_FIRST], 0
	jne .lme_first
	or eax, 0x20			; PAE, then LME
	mov cr4, eax
	call set_lme
	jmp .paging
.lme_first:				; LME while PAE and PG are clear: legal
	call set_lme
	mov eax, [saved_cr4]
	or eax, 0x20
	mov cr4, eax
.paging:
	mov eax, cr0
	or eax, 0x80000000		; PG: long mode becomes active
	mov cr0, eax
	jmp 0x18:lm64

	bits 64
lm64:
	mov eax, 0x20
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov esp, esp			; upper halves are undefined here
	mov ebx, ebx
	mov [rel lm_rsp], rsp
	lidt [rel idt64_ptr]

	mov qword [rbx + A_REACHED], 1
	mov eax, cs
	mov [rbx + A_CS64], rax
	mov ecx, MSR_EFER
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rbx + A_EFER_LM], rax

	; 64-bit arithmetic
	mov r8, [rbx + A_OP_A]
	mov r9, [rbx + A_OP_B]
	mov rax, r8
	imul rax, r9
	mov [rbx + A_MUL], rax
	mov r10, r8
	rol r10, 13
	mov [rbx + A_ROL], r10
	mov rax, r8
	xor edx, edx
	div r9				; r9 != 0 (the caller says so)
	mov [rbx + A_QUOT], rax
	mov [rbx + A_REM], rdx
	mov rax, r8
	mov eax, 0xffffffff		; 32-bit writes zero-extend
	mov [rbx + A_ZEXT], rax

	; the alias: read it, and write through it
	mov rsi, [rbx + A_ALIAS]
	mov rax, [rsi]
	mov [rbx + A_ALIAS_READ], rax
	not rax
	mov [rsi + 8], rax

	; #PF on a read of the non-present page
	lea rax, [rel .after_read]
	mov [rel pf_recover], rax
	mov rsi, [rbx + A_HOLE]
	mov rax, [rsi]
.after_read:
	mov rax, [rel pf_cr2]
	mov [rbx + A_PF_READ_CR2], rax
	mov rax, [rel pf_err]
	mov [rbx + A_PF_READ_ERR], rax

	; #PF on a write to it
	lea rax, [rel .after_write]
	mov [rel pf_recover], rax
	mov rsi, [rbx + A_HOLE]
	mov qword [rsi + 8], 0x55
.after_write:
	mov rax, [rel pf_cr2]
	mov [rbx + A_PF_WRITE_CR2], rax
	mov rax, [rel pf_err]
	mov [rbx + A_PF_WRITE_ERR], rax

	; #PF on an instruction fetch from the NX page, if there is one
	mov rsi, [rbx + A_NX_PAGE]
	test rsi, rsi
	jz .no_nx
	lea rax, [rel .after_nx]
	mov [rel pf_recover], rax
	jmp rsi
.after_nx:
	mov rax, [rel pf_cr2]
	mov [rbx + A_NX_CR2], rax
	mov rax, [rel pf_err]
	mov [rbx + A_NX_ERR], rax
.no_nx:
	mov qword [rel pf_recover], 0
	mov rax, [rel pf_count]
	mov [rbx + A_PF_COUNT], rax

	; serial output from 64-bit code
	lea rsi, [rel msg64]
	mov ecx, msg64_len
	xor edi, edi
.next:
	mov dx, COM1 + 5
	mov r8d, 1000000
.wait:
	in al, dx
	test al, 0x20
	jnz .ready
	dec r8d
	jnz .wait
.ready:
	mov dx, COM1
	mov al, [rsi]
	out dx, al
	inc rsi
	inc edi
	dec ecx
	jnz .next
	mov [rbx + A_SERIAL], rdi

leave64:
	mov rsp, [rel lm_rsp]
	push qword 0x08
	lea rax, [rel compat32]
	push rax
	o64 retf

	bits 32
compat32:
	mov eax, cr0
	and eax, 0x7fffffff		; paging off: long mode inactive
	mov cr0, eax
	mov ecx, MSR_EFER
	mov eax, [saved_efer]
	mov edx, [saved_efer + 4]
	wrmsr
	mov eax, [saved_cr4]
	mov cr4, eax
	mov eax, 0x10
	mov ds, eax
	mov es, eax
	mov ss, eax
	lidt [saved_idt]
	mov esp, [saved_esp]
	mov eax, [args]
	mov eax, [eax + A_REACHED]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; 64-bit exception handling: a #PF with pf_recover set is recorded and
; resumed there; anything else is recorded and ends the trip at once.
	bits 64
	section .bss
	alignb 8
pf_cr2:		resq 1
pf_err:		resq 1
pf_count:	resq 1

	section .text
%macro EXC64 1
exc64_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || \
    (%1 == 21) || (%1 == 29) || (%1 == 30)
	; the CPU pushed an error code
%else
	push qword 0
%endif
	push qword %1
	jmp exc64_common
%endmacro

%assign v 0
%rep 32
	EXC64 v
%assign v v + 1
%endrep

exc64_common:				; [rsp] vector, error, rip, cs, rflags
	push rax
	cmp qword [rsp + 8], 14
	jne .bad
	mov rax, [rel pf_recover]
	test rax, rax
	jz .bad
	mov [rsp + 24], rax		; resume at pf_recover
	mov qword [rel pf_recover], 0
	mov rax, cr2
	mov [rel pf_cr2], rax
	mov rax, [rsp + 16]
	mov [rel pf_err], rax
	inc qword [rel pf_count]
	pop rax
	add rsp, 16
	iretq
.bad:
	mov rax, [rel args]
	mov eax, eax
	mov rbx, rax
	mov rax, [rsp + 8]
	mov [rbx + A_BAD_VECTOR], rax
	mov rax, [rsp + 16]
	mov [rbx + A_BAD_ERR], rax
	mov rax, [rsp + 24]
	mov [rbx + A_BAD_RIP], rax
	mov rax, cr2
	mov [rbx + A_BAD_CR2], rax
	jmp leave64

	section .rodata
	align 4
	global exc64_stubs
exc64_stubs:
%assign v 0
%rep 32
	dd exc64_ %+ v
%assign v v + 1
%endrep

	section .note.GNU-stack noalloc noexec nowrite progbits
