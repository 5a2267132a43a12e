; SPDX-License-Identifier: BSD-2-Clause
;
; hostile: the tight loops of hostile.c, in 64-bit code.  Each routine is
; run by the paging kit's OP_EXEC (lib/pgrun.asm): called in long mode
; with rax holding the (32-bit) address of its parameter block, it returns
; its result in eax and keeps rbx and rsp (the interpreter's).  An
; exception abandons it like any other operation.  Keep the offsets in
; step with the structs in hostile.c.

; struct hx_loop: store val[k] to addr, n times, where k = i & 1, or with
; shift != 0 k = (i ^ i >> shift) & 1 (then with shift = log2(mask + 1)
; consecutive checks want different frames); after a store with
; (i & mask) == mask, invlpg [va] and check the dword at va + off against
; want[k].  warm: read [va + off] before each store (the old translation
; is then in the TLB).  xchg: store by xchg (locked).
L_ADDR		equ 0
L_VAL0		equ 8
L_VAL1		equ 16
L_VA		equ 24
L_OFF		equ 32
L_WANT0		equ 40
L_WANT1		equ 48
L_N		equ 56
L_MASK		equ 64
L_WARM		equ 72
L_XCHG		equ 80
L_BAD_I		equ 88
L_BAD_GOT	equ 96
L_SHIFT		equ 104

; struct hx_cr3: rounds times over n roots: mov cr3, roots[i]; the dword
; at va + off must be want[i].  Returns the number of mismatches.
C_ROOTS		equ 0
C_WANT		equ 8
C_N		equ 16
C_ROUNDS	equ 24
C_VA		equ 32
C_OFF		equ 40
C_HOME		equ 48
C_BAD_I		equ 56
C_BAD_GOT	equ 64

; struct hx_scan: the 8 bytes pat at any byte offset of [va, va + len)?
; Returns 1 and sets at, or 0.  The same block for hx_mark, which writes
; (its address ^ pat) into the first qword of every 4 KiB page of
; [va, va + len), and hx_kept: the number of pages that still hold it.
S_VA		equ 0
S_LEN		equ 8
S_PAT		equ 16
S_AT		equ 24

	section .text
	bits 64

	global hx_loop
hx_loop:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	mov rbp, rax			; parameters
	xor r12, r12			; i
	xor r13, r13			; mismatches
	mov rsi, [rbp + L_ADDR]
	mov rdi, [rbp + L_VA]
	mov r14, rdi
	add r14, [rbp + L_OFF]		; the checked address
	mov r15, [rbp + L_MASK]
.next:
	cmp r12, [rbp + L_N]
	jae .out
	mov rcx, r12
	cmp qword [rbp + L_SHIFT], 0
	je .parity
	mov rax, rcx
	mov rcx, [rbp + L_SHIFT]
	shr rax, cl
	mov rcx, r12
	xor rcx, rax
.parity:
	and ecx, 1
	mov rdx, [rbp + L_VAL0 + rcx * 8]
	cmp qword [rbp + L_WARM], 0
	je .store
	mov eax, [r14]
.store:
	cmp qword [rbp + L_XCHG], 0
	jne .locked
	mov [rsi], rdx
	jmp .stored
.locked:
	xchg [rsi], rdx
.stored:
	mov rax, r12
	and rax, r15
	cmp rax, r15
	jne .step
	invlpg [rdi]
	mov eax, [r14]
	cmp eax, [rbp + L_WANT0 + rcx * 8]
	je .step
	test r13, r13
	jnz .counted
	mov [rbp + L_BAD_I], r12
	mov [rbp + L_BAD_GOT], rax
.counted:
	inc r13
.step:
	inc r12
	jmp .next
.out:
	mov rax, r13
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

	global hx_cr3
hx_cr3:
	push rbx
	push rbp
	push r12
	push r13
	push r14
	mov rbp, rax
	xor r13, r13			; mismatches
	xor r14, r14			; round
.round:
	cmp r14, [rbp + C_ROUNDS]
	jae .done
	xor r12, r12
.as:
	cmp r12, [rbp + C_N]
	jae .endround
	mov rsi, [rbp + C_ROOTS]
	mov rax, [rsi + r12 * 8]
	mov cr3, rax
	mov rsi, [rbp + C_VA]
	add rsi, [rbp + C_OFF]
	mov eax, [rsi]
	mov rsi, [rbp + C_WANT]
	cmp eax, [rsi + r12 * 8]
	je .ok
	test r13, r13
	jnz .cnt
	mov [rbp + C_BAD_I], r12
	mov [rbp + C_BAD_GOT], rax
.cnt:
	inc r13
.ok:
	inc r12
	jmp .as
.endround:
	inc r14
	jmp .round
.done:
	mov rax, [rbp + C_HOME]
	mov cr3, rax
	mov rax, r13
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	ret

	global hx_scan
hx_scan:
	mov rsi, [rax + S_VA]
	mov rcx, [rax + S_LEN]
	mov rdx, [rax + S_PAT]
	mov r8, rax
	sub rcx, 7
	jbe .none
.byte:
	cmp [rsi], rdx
	je .found
	inc rsi
	dec rcx
	jnz .byte
.none:
	xor eax, eax
	ret
.found:
	mov [r8 + S_AT], rsi
	mov eax, 1
	ret

	global hx_mark
hx_mark:
	mov rsi, [rax + S_VA]
	mov rcx, [rax + S_LEN]
	shr rcx, 12
	jz .end
.page:
	mov rdx, [rax + S_PAT]
	xor rdx, rsi
	mov [rsi], rdx
	add rsi, 4096
	dec rcx
	jnz .page
.end:
	ret

	global hx_kept
hx_kept:
	mov r8, rax
	mov rsi, [r8 + S_VA]
	mov rcx, [r8 + S_LEN]
	shr rcx, 12
	xor eax, eax
	test rcx, rcx
	jz .end
.page:
	mov rdx, [r8 + S_PAT]
	xor rdx, rsi
	cmp [rsi], rdx
	jne .skip
	inc eax
.skip:
	add rsi, 4096
	dec rcx
	jnz .page
.end:
	ret

	section .note.GNU-stack noalloc noexec nowrite progbits
