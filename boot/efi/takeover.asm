; SPDX-License-Identifier: BSD-2-Clause
;
; guest=firmware: capture the processor state and call the core, which
; makes that state the guest's first one (arch/x86/guest/firmware.c).  The
; guest's first instruction is `resume` below: to the caller, this function
; simply returns 0, now as the guest of umbra.
;
; u64 fw_takeover(struct bi_cpu_state *st, struct boot_info *bi,
;                 u64 entry, u64 cr3, u64 stack_top)
; System V: RDI, RSI, RDX, RCX, R8.  Offsets: include/umbra/bootinfo.h.

%include "arch/x86/cpu/callee.inc"

bits 64
default rel
section .text

%define ST_RAX		0
%define ST_GPR(n)	((n) * 8)	; rax rcx rdx rbx rsp rbp rsi rdi r8..r15
%define ST_RIP		128
%define ST_RFLAGS	136
%define ST_CR0		144
%define ST_CR3		152
%define ST_CR4		160
%define ST_EFER		168
%define ST_PAT		176
%define ST_FS_BASE	184
%define ST_GS_BASE	192
%define ST_KGS_BASE	200
%define ST_GDT_BASE	208
%define ST_IDT_BASE	216
%define ST_GDT_LIMIT	224
%define ST_IDT_LIMIT	226
%define ST_ES		228
%define ST_CS		230
%define ST_SS		232
%define ST_DS		234
%define ST_FS		236
%define ST_GS		238
%define ST_LDTR		240
%define ST_TR		242

; rdmsr ecx=%1 into [rdi + %2]
%macro SAVE_MSR 2
	mov ecx, %1
	rdmsr
	mov [rdi + %2], eax
	mov [rdi + %2 + 4], edx
%endmacro

global fw_takeover
fw_takeover:
	PUSH_CALLEE_SAVED
	mov r12, rsi			; bi
	mov r13, rdx			; entry
	mov r14, rcx			; umbra.efi's page tables
	mov r15, r8			; the hand-off stack

	; The general registers as the guest gets them at `resume`: the
	; callee-saved ones matter (the caller's), the rest are scratch.
	mov qword [rdi + ST_RAX], 0	; fw_takeover() returns 0 as the guest
	mov [rdi + ST_GPR(3)], rbx
	mov [rdi + ST_GPR(4)], rsp
	mov [rdi + ST_GPR(5)], rbp
	mov [rdi + ST_GPR(7)], rdi
	mov [rdi + ST_GPR(12)], r12
	mov [rdi + ST_GPR(13)], r13
	mov [rdi + ST_GPR(14)], r14
	mov [rdi + ST_GPR(15)], r15
	lea rax, [resume]
	mov [rdi + ST_RIP], rax
	pushfq
	pop qword [rdi + ST_RFLAGS]

	mov rax, cr0
	mov [rdi + ST_CR0], rax
	mov rax, cr3
	mov [rdi + ST_CR3], rax
	mov rax, cr4
	mov [rdi + ST_CR4], rax
	SAVE_MSR 0xc0000080, ST_EFER		; IA32_EFER
	SAVE_MSR 0x277, ST_PAT			; IA32_PAT (SDM Vol 3 12.12.2)
	SAVE_MSR 0xc0000100, ST_FS_BASE
	SAVE_MSR 0xc0000101, ST_GS_BASE
	SAVE_MSR 0xc0000102, ST_KGS_BASE

	; SGDT/SIDT store a 2-byte limit and an 8-byte base (SDM Vol 2B)
	sub rsp, 16
	sgdt [rsp]
	movzx eax, word [rsp]
	mov [rdi + ST_GDT_LIMIT], ax
	mov rax, [rsp + 2]
	mov [rdi + ST_GDT_BASE], rax
	sidt [rsp]
	movzx eax, word [rsp]
	mov [rdi + ST_IDT_LIMIT], ax
	mov rax, [rsp + 2]
	mov [rdi + ST_IDT_BASE], rax
	add rsp, 16

	mov [rdi + ST_ES], es
	mov [rdi + ST_CS], cs
	mov [rdi + ST_SS], ss
	mov [rdi + ST_DS], ds
	mov [rdi + ST_FS], fs
	mov [rdi + ST_GS], gs
	sldt [rdi + ST_LDTR]
	str [rdi + ST_TR]

	; The take-over proper, with interrupts off until the guest runs
	; with the flags captured above: umbra's page tables (the core at
	; UMBRA_VBASE), umbra's stack, the core's entry; it never returns.
	cli
	mov cr3, r14
	mov rsp, r15
	and rsp, -16
	xor ebp, ebp
	cld
	mov rdi, r12
	call r13
.hang:
	cli
	hlt
	jmp .hang

	; The guest's first instruction: RSP, flags and the callee-saved
	; registers are back as captured, RAX is 0.
resume:
	POP_CALLEE_SAVED
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
