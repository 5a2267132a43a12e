; SPDX-License-Identifier: BSD-2-Clause
;
; guest=firmware: capture the processor state and call the core, which
; makes that state the guest's first one (arch/x86/guest/firmware.c).  The
; guest's first instruction is `resume` below: to the caller, this function
; simply returns 0, now as the guest of umbra.  fw_ap_park() (below) does
; the same on each of the firmware's APs.
;
; u64 fw_takeover(struct bi_cpu_state *st, struct boot_info *bi,
;                 u64 entry, u64 cr3, u64 stack_top)
; System V: RDI, RSI, RDX, RCX, R8.  Offsets: include/umbra/bootinfo.h.

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

; CAPTURE resume: the processor state into the struct bi_cpu_state at
; RDI, as the guest gets it at `resume`: every general register as it is
; here (RAX 0), RSP, RFLAGS, the control registers, EFER, PAT, the FS/GS
; bases, GDTR/IDTR and the selectors.  Clobbers RAX, RCX, RDX.
%macro CAPTURE 1
	mov qword [rdi + ST_RAX], 0
	mov [rdi + ST_GPR(1)], rcx
	mov [rdi + ST_GPR(2)], rdx
	mov [rdi + ST_GPR(3)], rbx
	mov [rdi + ST_GPR(4)], rsp
	mov [rdi + ST_GPR(5)], rbp
	mov [rdi + ST_GPR(6)], rsi
	mov [rdi + ST_GPR(7)], rdi
	mov [rdi + ST_GPR(8)], r8
	mov [rdi + ST_GPR(9)], r9
	mov [rdi + ST_GPR(10)], r10
	mov [rdi + ST_GPR(11)], r11
	mov [rdi + ST_GPR(12)], r12
	mov [rdi + ST_GPR(13)], r13
	mov [rdi + ST_GPR(14)], r14
	mov [rdi + ST_GPR(15)], r15
	lea rax, [%1]
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
%endmacro

global fw_takeover
fw_takeover:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov r12, rsi			; bi
	mov r13, rdx			; entry
	mov r14, rcx			; umbra.efi's page tables
	mov r15, r8			; the hand-off stack
	CAPTURE resume

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
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; void fw_ap_park(struct bi_fw_ap *ap): an EFI_AP_PROCEDURE (PI 1.7 Vol 2
; 13.4.5 StartupThisAP), so the Microsoft x64 ABI: the argument in RCX,
; RBX RBP RDI RSI R12-R15 (and XMM6-15, left alone) kept.  It captures the
; AP's state in ap->st, says it is parked and spins with interrupts off.
; The core then takes the AP over with INIT-SIPI-SIPI (arch/x86/cpu/smp.c)
; and its vCPU resumes ap->st (arch/x86/guest/firmware.c): the guest's
; first instruction is `ap_resume`, and the procedure returns to the
; firmware's MP services, under umbra.  INIT leaves the x87 and SSE state
; as it was (SDM Vol 3 10.1; Vol 1 11.6.4), which umbra never touches.
; Or ap->release is set and it returns without that (not taken over).
; Offsets: struct bi_fw_ap, include/umbra/bootinfo.h.
%define AP_PARKED	252
%define AP_RELEASE	256
%define AP_BACK		260
%define AP_SIG		264

global fw_ap_park
fw_ap_park:
	push rbx
	push rbp
	push rdi
	push rsi
	push r12
	push r13
	push r14
	push r15
	mov rdi, rcx
	CAPTURE ap_resume
	cli
	mov dword [rdi + AP_PARKED], 1
.spin:
	pause
	cmp dword [rdi + AP_RELEASE], 0
	je .spin
	push qword [rdi + ST_RFLAGS]	; the interrupt flag as it was
	popfq

	; Under umbra (resumed as its guest) or released: CPUID 4000_0000h
	; tells umbra.efi which (docs/architecture.md: umbra's signature).
ap_resume:
	mov eax, 0x40000000
	cpuid
	mov [rdi + AP_SIG], ebx
	mov [rdi + AP_SIG + 4], ecx
	mov [rdi + AP_SIG + 8], edx
	mov dword [rdi + AP_BACK], 1
	pop r15
	pop r14
	pop r13
	pop r12
	pop rsi
	pop rdi
	pop rbp
	pop rbx
	ret

section .note.GNU-stack noalloc noexec nowrite progbits
