; SPDX-License-Identifier: BSD-2-Clause
;
; The core's two 64-bit entries, its image header, and the few routines that
; cannot be C: moving the image, exception stubs, safe MSR reads.

%define UMBRA_IMAGE_MAGIC 0x4547414d49424d55

extern __image_start, __image_file_size, __image_mem_size
extern efi_start, mb2_start, exception_dispatch

section .text.header
global umbra_image_header
umbra_image_header:
	dq UMBRA_IMAGE_MAGIC
	dq __image_start
	dq __image_file_size
	dq __image_mem_size
	dq efi_entry64

section .text
; void efi_entry64(struct boot_info *bi): from umbra.efi
global efi_entry64
efi_entry64:
	cli
	cld
	mov rsp, boot_stack_top
	xor ebp, ebp
	call efi_start
	jmp halt_forever

; from boot/multiboot2.asm: edi = magic, esi = info
global mb2_entry64
mb2_entry64:
	cli
	cld
	mov rsp, boot_stack_top
	xor ebp, ebp
	call mb2_start
	jmp halt_forever

global halt_forever
halt_forever:
	cli
.l:	hlt
	jmp .l

; void image_move(u64 dst_phys, u64 src_phys, u64 len, u64 new_cr3)
; Copy the running image and switch to tables that map UMBRA_VBASE to the
; copy.  Nothing may be written to memory between the copy and the switch:
; it would land in the old copy.
global image_move
image_move:
	mov rax, rcx
	mov rcx, rdx
	rep movsb
	mov cr3, rax
	ret

; u64 rdmsr_safe(u32 msr, u64 *val): 0, or -1 if RDMSR raised #GP
global rdmsr_safe, rdmsr_safe_insn, rdmsr_safe_fixup
rdmsr_safe:
	mov ecx, edi
rdmsr_safe_insn:
	rdmsr
	shl rdx, 32
	or rax, rdx
	mov [rsi], rax
	xor eax, eax
	ret
rdmsr_safe_fixup:
	mov rax, -1
	ret

; u64 wrmsr_safe(u32 msr, u64 val): 0, or -1 if WRMSR raised #GP
global wrmsr_safe, wrmsr_safe_insn, wrmsr_safe_fixup
wrmsr_safe:
	mov ecx, edi
	mov eax, esi
	mov rdx, rsi
	shr rdx, 32
wrmsr_safe_insn:
	wrmsr
	xor eax, eax
	ret
wrmsr_safe_fixup:
	mov rax, -1
	ret

; Exception stubs build a struct exc_frame (arch/x86/cpu/idt.c) and call
; exception_dispatch(frame); it returns only for recoverable cases.
%macro EXC_NOERR 1
global exc_stub_%1
exc_stub_%1:
	push 0
	push %1
	jmp exc_common
%endmacro
%macro EXC_ERR 1
global exc_stub_%1
exc_stub_%1:
	push %1
	jmp exc_common
%endmacro

EXC_NOERR 0
EXC_NOERR 1
EXC_NOERR 2
EXC_NOERR 3
EXC_NOERR 4
EXC_NOERR 5
EXC_NOERR 6
EXC_NOERR 7
EXC_ERR 8
EXC_NOERR 9
EXC_ERR 10
EXC_ERR 11
EXC_ERR 12
EXC_ERR 13
EXC_ERR 14
EXC_NOERR 15
EXC_NOERR 16
EXC_ERR 17
EXC_NOERR 18
EXC_NOERR 19
EXC_NOERR 20
EXC_ERR 21
EXC_NOERR 22
EXC_NOERR 23
EXC_NOERR 24
EXC_NOERR 25
EXC_NOERR 26
EXC_NOERR 27
EXC_NOERR 28
EXC_ERR 29
EXC_ERR 30
EXC_NOERR 31

exc_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	mov rbx, rsp
	and rsp, -16
	call exception_dispatch
	mov rsp, rbx
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16
	iretq

section .bss
align 4096
global boot_stack_bottom
boot_stack_bottom:
	resb 32768
boot_stack_top:
