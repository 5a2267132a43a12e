; SPDX-License-Identifier: BSD-2-Clause
;
; fuzz: entering a program and getting control back (tests/guest/fuzz.c).
;
; fz_enter() saves the C caller's callee-saved registers and stack, loads
; the program's registers from fz_in and jumps to the ring-0 program at
; FZ_PROG0.  Every vector of the fuzzer's IDT leads to fz_common, which
; first reloads the known-good GDTR and IDTR through CS (the program may
; have loaded anything; CS's descriptor cache stays valid), then DS/ES, and
; records the event in fz_frame.  A #DB, #BP, #OF or the first watchdog NMI
; taken from ring 3 resumes the program (IRET; fz_resume() counts them);
; any other event ends it: back to the C caller's stack, with an IRET to
; the next instruction first, which ends NMI blocking (SDM Vol 3 6.7.1) in
; case the event was the NMI.  An event while no program runs is the
; watchdog NMI between programs (ignored) or a bug of the fuzzer itself.

KCODE		equ 0x08
KDATA		equ 0x10
UCODE		equ 0x1b
FZ_PROG0	equ 0x00400000

; struct fz_frame (fuzz.c)
F_EAX		equ 0
F_EBX		equ 4
F_ECX		equ 8
F_EDX		equ 12
F_ESI		equ 16
F_EDI		equ 20
F_EBP		equ 24
F_ESP		equ 28
F_VEC		equ 32
F_ERR		equ 36
F_EIP		equ 40
F_CS		equ 44
F_EFL		equ 48
F_SS		equ 52
F_CR2		equ 56

	bits 32
	section .text

	extern fz_frame, fz_in, fz_running, fz_ctx_esp
	extern fz_good_gdtr, fz_good_idtr, fz_resume, fz_kernel_event
	extern fz_nmi_between

%macro VEC 1
fzv_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17) || \
    (%1 == 21) || (%1 == 29) || (%1 == 30)
%else
	push dword 0
%endif
	push dword %1
	jmp fz_common
%endmacro

%assign v 0
%rep 256
	VEC v
%assign v v + 1
%endrep

; Stack: [esp] es, +4 ds, +8 vector, +12 error, +16 eip, +20 cs,
; +24 eflags, +28 esp and +32 ss when the event came from ring 3.
fz_common:
	lgdt [cs:fz_good_gdtr]
	lidt [cs:fz_good_idtr]
	push ds
	push es
	push eax
	mov ax, KDATA
	mov ds, ax
	mov es, ax
	pop eax
	cmp dword [fz_running], 0
	je .kernel
	mov [fz_frame + F_EAX], eax
	mov [fz_frame + F_EBX], ebx
	mov [fz_frame + F_ECX], ecx
	mov [fz_frame + F_EDX], edx
	mov [fz_frame + F_ESI], esi
	mov [fz_frame + F_EDI], edi
	mov [fz_frame + F_EBP], ebp
	mov eax, [esp + 8]
	mov [fz_frame + F_VEC], eax
	mov eax, [esp + 12]
	mov [fz_frame + F_ERR], eax
	mov eax, [esp + 16]
	mov [fz_frame + F_EIP], eax
	mov eax, [esp + 20]
	mov [fz_frame + F_CS], eax
	mov eax, [esp + 24]
	mov [fz_frame + F_EFL], eax
	mov eax, cr2
	mov [fz_frame + F_CR2], eax
	; From ring 3 exactly when the frame's CS is the user code selector:
	; a frame misread (a software INT to an error-code vector) puts EFLAGS
	; there, whose reserved bit 3 is always clear, or an EIP.
	cmp dword [esp + 20], UCODE
	jne .ring0
	mov eax, [esp + 28]
	mov [fz_frame + F_ESP], eax
	mov eax, [esp + 32]
	mov [fz_frame + F_SS], eax
	cld
	call fz_resume
	test eax, eax
	jz .end
	mov eax, [fz_frame + F_EAX]
	mov ecx, [fz_frame + F_ECX]
	mov edx, [fz_frame + F_EDX]
	pop es
	pop ds
	add esp, 8
	iretd
.ring0:
	lea eax, [esp + 28]
	mov [fz_frame + F_ESP], eax
	mov eax, ss
	mov [fz_frame + F_SS], eax
.end:
	mov dword [fz_running], 0
	mov ax, KDATA
	mov ss, ax
	mov esp, [fz_ctx_esp]
	push dword 0x2			; EFLAGS: IF, DF, TF, NT, AC clear
	push dword KCODE
	push dword .back
	iretd
.back:
	pop ebp
	pop edi
	pop esi
	pop ebx
	mov eax, [fz_frame + F_VEC]
	ret
.kernel:
	cmp dword [esp + 8], 2		; the watchdog between programs
	jne .fault
	inc dword [fz_nmi_between]
	pop es
	pop ds
	add esp, 8
	iretd
.fault:
	mov eax, esp
	push eax
	cld
	call fz_kernel_event		; does not return
.hang:
	cli
	hlt
	jmp .hang

; uint32_t fz_enter(void): run the program in fz_in; returns the vector
; that ended it.
	global fz_enter
fz_enter:
	push ebx
	push esi
	push edi
	push ebp
	mov [fz_ctx_esp], esp
	mov ebx, [fz_in + F_EBX]
	mov ecx, [fz_in + F_ECX]
	mov edx, [fz_in + F_EDX]
	mov esi, [fz_in + F_ESI]
	mov edi, [fz_in + F_EDI]
	mov ebp, [fz_in + F_EBP]
	mov eax, [fz_in + F_EAX]
	mov dword [fz_running], 1
	push dword [fz_in + F_EFL]	; IF may be set: from here on it is
	popfd				; the program's interrupt
	mov esp, [fz_in + F_ESP]
	jmp KCODE:FZ_PROG0

; Landings of SYSENTER and SYSCALL (the MSRs fuzz.c restores): they end
; the program as vectors 0x81 and 0x82.
	global fz_sysenter_landing, fz_syscall_landing
fz_sysenter_landing:
	int 0x81
fz_syscall_landing:
	int 0x82

	section .rodata
	align 4
	global fz_vectors
fz_vectors:
%assign v 0
%rep 256
	dd fzv_ %+ v
%assign v v + 1
%endrep

	section .note.GNU-stack noalloc noexec nowrite progbits
