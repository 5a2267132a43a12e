; SPDX-License-Identifier: BSD-2-Clause
;
; void svm_vmrun(uint64_t vmcb_pa, struct vcpu_gprs *g)
; Load the guest's general registers (RAX and RSP live in the VMCB), enter
; the guest, and store them back.  VMLOAD/VMSAVE move the state VMRUN does
; not (FS/GS/TR/LDTR, KernelGsBase, STAR family, SYSENTER; APM Vol 2 15.5.2);
; umbra uses none of it itself.  GIF stays clear in umbra: physical NMIs
; and interrupts wait for the guest (umbra passes them through).

%include "arch/x86/vcpu/gprs.inc"
%include "arch/x86/cpu/callee.inc"

section .text
global svm_vmrun
svm_vmrun:
	PUSH_CALLEE_SAVED
	push rsi
	push rdi

	GPRS_LOAD rsi

	mov rax, [rsp]
	vmload
	vmrun
	vmsave

	mov rax, [rsp + 8]
	GPRS_SAVE

	add rsp, 16
	POP_CALLEE_SAVED
	ret
