; SPDX-License-Identifier: BSD-2-Clause
;
; void svm_vmrun(uint64_t vmcb_pa, struct vcpu_gprs *g)
; Load the guest's general registers (RAX and RSP live in the VMCB), enter
; the guest, and store them back.  VMLOAD/VMSAVE move the state VMRUN does
; not (FS/GS/TR/LDTR, KernelGsBase, STAR family, SYSENTER; APM Vol 2 15.5.2);
; umbra uses none of it itself.  GIF stays clear in umbra: physical NMIs
; and interrupts wait for the guest (umbra passes them through).

%include "arch/x86/vcpu/gprs.inc"

section .text
global svm_vmrun
svm_vmrun:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rsi
	push rdi

	mov rbx, [rsi + gprs.rbx]
	mov rcx, [rsi + gprs.rcx]
	mov rdx, [rsi + gprs.rdx]
	mov rdi, [rsi + gprs.rdi]
	mov rbp, [rsi + gprs.rbp]
	mov r8,  [rsi + gprs.r8]
	mov r9,  [rsi + gprs.r9]
	mov r10, [rsi + gprs.r10]
	mov r11, [rsi + gprs.r11]
	mov r12, [rsi + gprs.r12]
	mov r13, [rsi + gprs.r13]
	mov r14, [rsi + gprs.r14]
	mov r15, [rsi + gprs.r15]
	mov rsi, [rsi + gprs.rsi]

	mov rax, [rsp]
	vmload
	vmrun
	vmsave

	mov rax, [rsp + 8]
	mov [rax + gprs.rbx], rbx
	mov [rax + gprs.rcx], rcx
	mov [rax + gprs.rdx], rdx
	mov [rax + gprs.rsi], rsi
	mov [rax + gprs.rdi], rdi
	mov [rax + gprs.rbp], rbp
	mov [rax + gprs.r8],  r8
	mov [rax + gprs.r9],  r9
	mov [rax + gprs.r10], r10
	mov [rax + gprs.r11], r11
	mov [rax + gprs.r12], r12
	mov [rax + gprs.r13], r13
	mov [rax + gprs.r14], r14
	mov [rax + gprs.r15], r15

	add rsp, 16
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
