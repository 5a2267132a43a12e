; SPDX-License-Identifier: BSD-2-Clause
;
; int vmx_enter(struct vcpu_gprs *g, int launched)
; Load the guest's general registers (RSP and RIP live in the VMCS), enter
; the guest with VMLAUNCH or VMRESUME, and on the VM exit (HOST_RIP is
; vmx_exit_point) store them back.  Returns 0 after a VM exit, 1 for
; VMfailValid (VM-instruction error in the VMCS), 2 for VMfailInvalid
; (SDM Vol 3 30.2).  The exit loads RSP from HOST_RSP, written here just
; before the entry; RFLAGS comes back as 2 (IF clear), and the guest's
; interrupts and NMIs are delivered to the guest (umbra does not exit on
; them).

HOST_RSP	equ 0x6c14

%include "arch/x86/vcpu/gprs.inc"
%include "arch/x86/cpu/callee.inc"

section .text
global vmx_enter, vmx_exit_point
vmx_enter:
	PUSH_CALLEE_SAVED
	push rdi			; the gprs pointer, at [rsp] on exit

	mov eax, HOST_RSP
	vmwrite rax, rsp
	jbe .fail			; the same CF/ZF as a failed entry

	test esi, esi			; flags survive the moves below
	mov rax, [rdi + gprs.rax]
	GPRS_LOAD rdi
	jnz .resume
	vmlaunch
	jmp .fail
.resume:
	vmresume
.fail:					; the entry did not happen
	mov eax, 2			; CF: VMfailInvalid
	jc vmx_enter_done
	mov eax, 1			; ZF: VMfailValid
	jmp vmx_enter_done

vmx_exit_point:
	push rax
	mov rax, [rsp + 8]
	GPRS_SAVE
	pop qword [rax + gprs.rax]
	xor eax, eax
vmx_enter_done:
	pop rdi
	POP_CALLEE_SAVED
	ret
