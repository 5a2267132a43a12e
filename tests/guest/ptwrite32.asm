; SPDX-License-Identifier: BSD-2-Clause
;
; ptwrite: the instructions that write a page-table entry (ptwrite.c), one
; stub each, position-independent (ptwrite.c also runs copies of them from
; a page that the written table maps).  A stub writes at EDI; its other
; operands are in EAX, ECX, EDX, EBX, ESI (a source buffer for memory
; sources).  Stack writers swap ESP with EDI (PUSH, CALL) or ESI (POP)
; around the instruction.  Stubs keep EBP.
;
; void pt_run(struct pt_ctx *c): load the registers and EFLAGS from c,
; call c->stub, store the registers and EFLAGS back.

	bits 32
	section .text

	global pt_run
pt_run:
	push ebp
	push ebx
	push esi
	push edi
	mov ebp, [esp + 20]
	mov eax, [ebp + 0]
	mov ecx, [ebp + 4]
	mov edx, [ebp + 8]
	mov ebx, [ebp + 12]
	mov esi, [ebp + 16]
	mov edi, [ebp + 20]
	push dword [ebp + 24]
	popfd
	call [ebp + 28]
	global pt_run_ret
pt_run_ret:
	pushfd
	mov [ebp + 0], eax
	mov [ebp + 4], ecx
	mov [ebp + 8], edx
	mov [ebp + 12], ebx
	mov [ebp + 16], esi
	mov [ebp + 20], edi
	pop dword [ebp + 24]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

; #DB handler for runs with the guest's own RFLAGS.TF: records the EIP of
; each single-step trap (up to 16) and clears TF at pt_run_ret.
	global pt_db_handler, pt_db_count, pt_db_eip
pt_db_handler:
	push eax
	push ebx
	mov eax, [pt_db_count]
	cmp eax, 16
	jae .full
	mov ebx, [esp + 8]
	mov [pt_db_eip + eax * 4], ebx
.full:
	inc dword [pt_db_count]
	cmp dword [esp + 8], pt_run_ret
	jne .out
	and dword [esp + 16], ~0x100
.out:
	pop ebx
	pop eax
	iretd

	section .bss
pt_db_count:	resd 1
pt_db_eip:	resd 16

	section .text

; STUB name, instruction... : pt_NAME .. pt_NAME_end
%macro STUB 1-*
	global pt_%1, pt_%1_end
pt_%1:
%rep %0 - 1
%rotate 1
	%1
%endrep
	ret
%rotate 1
pt_%1_end:
%endmacro

; emulated before this work
STUB mov, {mov [edi], esi}
STUB xchg, {xchg [edi], esi}
STUB cmpxchg, {lock cmpxchg [edi], esi}
STUB cmpxchg8b, {lock cmpxchg8b [edi]}
STUB add, {add [edi], cl}
STUB sub, {sub [edi], cl}
STUB or, {lock or [edi], cl}
STUB and, {and [edi], cl}
STUB xor, {xor [edi], cl}
STUB bts, {lock bts dword [edi], ecx}
STUB btr, {btr dword [edi], 13}
STUB btc, {btc dword [edi], ecx}
STUB stos, {cld}, {rep stosd}
STUB movs, {cld}, {movsd}
; emulated now
STUB inc, {inc byte [edi]}
STUB lockinc, {lock inc byte [edi]}
STUB incd, {inc dword [edi]}
STUB dec, {dec byte [edi]}
STUB lockdecd, {lock dec dword [edi]}
STUB not, {not byte [edi]}
STUB locknotd, {lock not dword [edi]}
STUB neg, {neg byte [edi]}
STUB lockneg, {lock neg dword [edi]}
STUB adc, {adc [edi], cl}
STUB lockadcd, {lock adc [edi], esi}
STUB sbb, {sbb [edi], cl}
STUB locksbb, {lock sbb byte [edi], 0x10}
STUB xadd, {xadd [edi], cl}
STUB lockxaddd, {lock xadd [edi], esi}
STUB shl1, {shl byte [edi], 1}
STUB shlcl, {shl byte [edi], cl}
STUB shli, {shl byte [edi], 2}
STUB shr1, {shr byte [edi], 1}
STUB sar1, {sar byte [edi], 1}
STUB sarcl, {sar byte [edi], cl}
STUB rol4, {rol byte [edi], 4}
STUB rold16, {rol dword [edi], 16}
STUB rorcl, {ror byte [edi], cl}
STUB rcl1, {rcl byte [edi], 1}
STUB rcr3, {rcr byte [edi], 3}
STUB setc, {setc byte [edi]}
STUB setnz, {setnz byte [edi]}
STUB movnti, {movnti [edi], esi}
; left to the CPU: unprotect and retry, or single-step
STUB movdx, {movd xmm0, esi}, {movd [edi], xmm0}
STUB movqx, {movq xmm0, [esi]}, {movq [edi], xmm0}
STUB movdm, {movd mm0, esi}, {movd [edi], mm0}, {emms}
STUB movqm, {movq mm0, [esi]}, {movq [edi], mm0}, {emms}
STUB movups, {movups xmm1, [esi]}, {movups [edi], xmm1}
STUB fistp, {fninit}, {fild qword [esi]}, {fistp qword [edi]}
STUB fnstsw, {fninit}, {fnstsw [edi]}
STUB push, {xchg esp, edi}, {push dword [esi]}, {xchg esp, edi}
STUB pushf, {xchg esp, edi}, {pushfd}, {xchg esp, edi}
STUB call, {xchg esp, edi}, {call .next}, {.next: xchg esp, edi}
STUB pop, {xchg esp, esi}, {pop dword [edi]}, {xchg esp, esi}
STUB sidt, {sidt [edi]}
STUB sgdt, {sgdt [edi]}
STUB sldt, {sldt [edi]}
STUB str, {str [edi]}
STUB fxsave, {fxsave [edi]}
