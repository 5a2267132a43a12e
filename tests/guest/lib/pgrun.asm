; SPDX-License-Identifier: BSD-2-Clause
;
; Guest kernels: pg_enter(), the paging conformance kit's way into a paging
; mode and its operation interpreter (see pg.h).
;
; void pg_enter(const struct pg_cfg *c, struct pg_op *ops, uint32_t n)
; is called from 32-bit C with paging off and pg.c's GDT loaded:
;	0x08 code32  0x10 data  0x18 code64  0x20 data
;	0x28 ring-3 code32  0x30 ring-3 data  0x38 ring-3 code64
;	0x40 32-bit TSS  0x48 64-bit TSS (16 bytes)
; It sets EFER (LME for 4-level paging, SDM Vol 3 10.8.5), CR4, CR3 and
; CR0.PG, runs the operations in 32-bit code (32-bit and PAE paging) or in
; 64-bit code (4-level paging), and turns paging off again (through
; compatibility mode for 4-level paging), restoring EFER, CR4, CR0 and the
; IDT.
;
; The interpreter is written once (PGBODY) and assembled for both widths.
; Each operation sets pg_resume/pg_resume_sp first; an exception during it
; records vector, error code and CR2 into the operation and continues at
; pg_resume with the stack pointer it had, abandoning the exception frame.
; Ring-3 operations IRET to the ring-3 page (pg_user_page), which does the
; access and comes back through INT 0x81 (a DPL 3 gate) or the fault.

SEL_CODE32	equ 0x08
SEL_DATA	equ 0x10
SEL_CODE64	equ 0x18
SEL_DATA64	equ 0x20
SEL_UCODE32	equ 0x28 | 3
SEL_UDATA	equ 0x30 | 3
SEL_UCODE64	equ 0x38 | 3
SEL_TSS32	equ 0x40
SEL_TSS64	equ 0x48

CFG_KIND	equ 0
CFG_CR0		equ 4
CFG_CR4		equ 8
CFG_CR3		equ 12
CFG_EFER	equ 16
PG_64		equ 2

OP_KIND		equ 0
OP_FLAGS	equ 4
OP_ADDR		equ 8
OP_VAL		equ 16
OP_VAL2		equ 24
OP_OUT		equ 32
OP_VECTOR	equ 40
OP_ERR		equ 48
OP_CR2		equ 56
OP_SIZE		equ 64

OP_READ		equ 1
OP_WRITE	equ 2
OP_EXEC		equ 3
OP_STORE	equ 4
OP_INVLPG	equ 5
OP_CR0		equ 6
OP_CR3		equ 7
OP_CR4		equ 8
OP_XCHG		equ 9
OP_CMPXCHG	equ 10
OP_OR		equ 11
OP_AND		equ 12
OP_BTS		equ 13
OP_BTR		equ 14
OP_STOS		equ 15
OP_MOVS		equ 16
OP_RDCR		equ 17
OP_RDMSR	equ 18
OP_WRMSR	equ 19
OP_WRPKRU	equ 20
OP_RDPKRU	equ 21

PG_USER		equ 1
PG_AC		equ 2
PG_Q		equ 4

EFLAGS_AC	equ 0x40000
MSR_EFER	equ 0xc0000080
EFER_LME	equ 0x100
EFER_NXE	equ 0x800
CR0_PG		equ 0x80000000
CR0_WP		equ 0x10000

	extern pg_gdt, pg_idtr32, pg_idtr64, pg_ustack_top

	section .bss
	alignb 8
pg_resume:	resq 1
pg_resume_sp:	resq 1
pg_cur:		resd 1			; struct pg_op * being run
pg_left:	resd 1			; operations still to run
saved_esp:	resd 1
saved_cr0:	resd 1
saved_cr4:	resd 1
saved_efer:	resd 2
saved_idt:	resb 8

; --------------------------------------------------------------------------
; The interpreter, its exception stubs and the ring-3 stub, for one width.
; P is the symbol prefix, W the word size, x?? the registers of that width.
%macro PGBODY 0
	section .text
%[P]interp:
.loop:
	cmp dword [pg_left], 0
	je .out
	mov ebx, [pg_cur]
	mov dword [xBX + OP_VECTOR], -1
	mov [pg_resume_sp], xSP
%if W == 8
	lea rax, [rel .done]
%else
	mov eax, .done
%endif
	mov [pg_resume], xAX
	mov xSI, [xBX + OP_ADDR]
	mov xAX, [xBX + OP_VAL]
	mov xDX, [xBX + OP_VAL2]
	mov ecx, [xBX + OP_KIND]
	test dword [xBX + OP_FLAGS], PG_USER
	jnz .user
	test dword [xBX + OP_FLAGS], PG_AC
	jz .dispatch
	pushf
	or dword [xSP], EFLAGS_AC
	popf
.dispatch:
	cmp ecx, OP_READ
	je .read
	cmp ecx, OP_WRITE
	je .write
	cmp ecx, OP_EXEC
	je .exec
	cmp ecx, OP_STORE
	je .store
	cmp ecx, OP_INVLPG
	je .invlpg
	cmp ecx, OP_CR0
	je .cr0
	cmp ecx, OP_CR3
	je .cr3
	cmp ecx, OP_CR4
	je .cr4
	cmp ecx, OP_XCHG
	je .xchg
	cmp ecx, OP_CMPXCHG
	je .cmpxchg
	cmp ecx, OP_OR
	je .or
	cmp ecx, OP_AND
	je .and
	cmp ecx, OP_BTS
	je .bts
	cmp ecx, OP_BTR
	je .btr
	cmp ecx, OP_STOS
	je .stos
	cmp ecx, OP_MOVS
	je .movs
	cmp ecx, OP_RDCR
	je .rdcr
	cmp ecx, OP_RDMSR
	je .rdmsr
	cmp ecx, OP_WRMSR
	je .wrmsr
	cmp ecx, OP_WRPKRU
	je .wrpkru
	cmp ecx, OP_RDPKRU
	je .rdpkru
	ud2				; unknown operation: reported as #UD

.read:
	mov eax, [xSI]
	mov [xBX + OP_OUT], eax
	jmp .done
.write:
	mov [xSI], eax
	jmp .done
.exec:
	call xSI
	mov [xBX + OP_OUT], eax
	jmp .done
.store:
	test dword [xBX + OP_FLAGS], PG_Q
	jz .store32
%if W == 8
	mov [rsi], rax
%else
	mov edx, [ebx + OP_VAL + 4]	; high half first: the low one has P
	mov [esi + 4], edx
	mov [esi], eax
%endif
	jmp .done
.store32:
	mov [xSI], eax
	jmp .done
.invlpg:
	invlpg [xSI]
	jmp .done
.cr0:
	mov cr0, xAX
	jmp .done
.cr3:
	mov cr3, xAX
	jmp .done
.cr4:
	mov cr4, xAX
	jmp .done
.xchg:
%if W == 8
	test dword [rbx + OP_FLAGS], PG_Q
	jz .xchg32
	xchg [rsi], rax
	mov [rbx + OP_OUT], rax
	jmp .done
%endif
.xchg32:				; implicitly locked (SDM Vol 3 9.1.2.2)
	xchg [xSI], eax
	mov [xBX + OP_OUT], eax
	jmp .done
.cmpxchg:
	test dword [xBX + OP_FLAGS], PG_Q
	jz .cmpxchg32
%if W == 8
	xchg rax, rdx			; rax expected, rdx new
	lock cmpxchg [rsi], rdx
	mov [rbx + OP_OUT], rax
%else
	mov eax, [ebx + OP_VAL2]
	mov edx, [ebx + OP_VAL2 + 4]
	mov ecx, [ebx + OP_VAL + 4]
	mov ebx, [ebx + OP_VAL]
	lock cmpxchg8b [esi]
	mov ebx, [pg_cur]
	mov [ebx + OP_OUT], eax
	mov [ebx + OP_OUT + 4], edx
%endif
	jmp .done
.cmpxchg32:
	mov ecx, eax
	mov eax, edx
	lock cmpxchg [xSI], ecx
	mov [xBX + OP_OUT], eax
	jmp .done
.or:
%if W == 8
	test dword [rbx + OP_FLAGS], PG_Q
	jz .or32
	lock or [rsi], rax
	jmp .done
%endif
.or32:
	lock or [xSI], eax
	jmp .done
.and:
%if W == 8
	test dword [rbx + OP_FLAGS], PG_Q
	jz .and32
	lock and [rsi], rax
	jmp .done
%endif
.and32:
	lock and [xSI], eax
	jmp .done
.bts:
	lock bts dword [xSI], eax
	jmp .done
.btr:
	lock btr dword [xSI], eax
	jmp .done
.stos:
	mov xDI, xSI
	mov xCX, xDX
	test dword [xBX + OP_FLAGS], PG_Q
	jz .stos32
%if W == 8
	rep stosq
	jmp .done
%else
	shl ecx, 1			; 32-bit code: the caller's value is 0
%endif
.stos32:
	rep stosd
	jmp .done
.movs:
	mov xDI, xSI
	mov xSI, xAX
	mov xCX, xDX
	test dword [xBX + OP_FLAGS], PG_Q
	jz .movs32
%if W == 8
	rep movsq
	jmp .done
%else
	shl ecx, 1
%endif
.movs32:
	rep movsd
	jmp .done
.rdcr:
	cmp eax, 0
	jne .rdcr2
	mov xAX, cr0
	jmp .rdcr_out
.rdcr2:
	cmp eax, 2
	jne .rdcr3
	mov xAX, cr2
	jmp .rdcr_out
.rdcr3:
	cmp eax, 3
	jne .rdcr4
	mov xAX, cr3
	jmp .rdcr_out
.rdcr4:
	mov xAX, cr4
.rdcr_out:
	mov [xBX + OP_OUT], xAX
	jmp .done
.rdmsr:
	mov ecx, esi
	rdmsr
	mov [xBX + OP_OUT], eax
	mov [xBX + OP_OUT + 4], edx
	jmp .done
.wrmsr:
	mov ecx, esi
	mov eax, [xBX + OP_VAL]
	mov edx, [xBX + OP_VAL + 4]
	wrmsr
	jmp .done
.wrpkru:				; ECX and EDX 0 (SDM Vol 2 WRPKRU)
	xor ecx, ecx
	xor edx, edx
	db 0x0f, 0x01, 0xef		; wrpkru (nasm: 64-bit only; valid
					; in any mode with CR4.PKE)
	jmp .done
.rdpkru:
	xor ecx, ecx
	db 0x0f, 0x01, 0xee		; rdpkru
	mov [xBX + OP_OUT], eax
	jmp .done

.user:					; IRET to ring 3 with the operands
	push SEL_UDATA			; ss
	push pg_ustack_top		; esp
	push 2				; eflags: IF clear
	push %[UCODE]			; cs
%if W == 8
	lea rdi, [rel %[P]uentry]
	push rdi
	iretq
%else
	push %[P]uentry
	mov di, SEL_UDATA
	mov ds, di
	mov es, di
	iretd
%endif

.done:					; also where exceptions resume
%if W == 4
	mov di, SEL_DATA
	mov ds, di
	mov es, di
%endif
	push 2				; clear AC (and IF)
	popf
	add dword [pg_cur], OP_SIZE
	dec dword [pg_left]
	jmp .loop
.out:
	ret

; INT 0x81 from ring 3: the operation is over, eax holds its result.
%[P]uret:
%if W == 4
	mov di, SEL_DATA
	mov ds, di
	mov es, di
%endif
	mov ebx, [pg_cur]
	mov [xBX + OP_OUT], eax
	mov xSP, [pg_resume_sp]
	jmp [pg_resume]

; Exceptions: push a dummy error code where the CPU pushes none.
%assign v 0
%rep 32
%[P]exc%[v]:
%if (v == 8) || (v >= 10 && v <= 14) || (v == 17) || (v == 21) || \
    (v == 29) || (v == 30)
%else
	push 0
%endif
	push v
	jmp %[P]exc_common
%assign v v + 1
%endrep

%[P]exc_common:				; [sp] vector, [sp + W] error code
%if W == 4
	mov di, SEL_DATA
	mov ds, di
	mov es, di
%endif
	mov ebx, [pg_cur]
	mov xAX, [xSP]
	mov [xBX + OP_VECTOR], eax
	mov xAX, [xSP + W]
	mov [xBX + OP_ERR], xAX
	mov xAX, cr2
	mov [xBX + OP_CR2], xAX
	mov xSP, [pg_resume_sp]
	jmp [pg_resume]

	section .rodata
	align 4
	global %[P]stubs
%[P]stubs:
%assign v 0
%rep 32
	dd %[P]exc%[v]
%assign v v + 1
%endrep
	global %[P]uret_addr
%[P]uret_addr:
	dd %[P]uret

; The ring-3 stub: in the page pg.c maps user-accessible.
	section .text.pguser
%[P]uentry:
	cmp ecx, OP_READ
	jne .w
	mov eax, [xSI]
	int 0x81
.w:
	cmp ecx, OP_WRITE
	jne .x
	mov [xSI], eax
	int 0x81
.x:
	call xSI
	int 0x81
%endmacro

	section .text.pguser progbits alloc exec nowrite align=4096
	global pg_user_page
pg_user_page:

	bits 32
%define P p32_
%define W 4
%define UCODE SEL_UCODE32
%define xAX eax
%define xBX ebx
%define xCX ecx
%define xDX edx
%define xSI esi
%define xDI edi
%define xSP esp
PGBODY

	bits 64
%define P p64_
%define W 8
%define UCODE SEL_UCODE64
%define xAX rax
%define xBX rbx
%define xCX rcx
%define xDX rdx
%define xSI rsi
%define xDI rdi
%define xSP rsp
PGBODY

; The ring-3 page holds nothing else: fill it up.
	section .text.pguser
	times 4096 - ($ - $$) int3

; --------------------------------------------------------------------------
	section .text
	bits 32
	global pg_enter
pg_enter:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov [saved_esp], esp
	sidt [saved_idt]
	mov eax, cr0
	mov [saved_cr0], eax
	mov eax, cr4
	mov [saved_cr4], eax
	mov ecx, MSR_EFER
	rdmsr
	mov [saved_efer], eax
	mov [saved_efer + 4], edx

	mov ebx, [ebp + 8]		; cfg
	mov eax, [ebp + 12]
	mov [pg_cur], eax
	mov eax, [ebp + 16]
	mov [pg_left], eax

	mov ecx, MSR_EFER
	mov eax, [saved_efer]
	mov edx, [saved_efer + 4]
	and eax, ~(EFER_NXE | EFER_LME)	; exactly what the caller asks for
	or eax, [ebx + CFG_EFER]
	or edx, [ebx + CFG_EFER + 4]
	cmp dword [ebx + CFG_KIND], PG_64
	jne .efer
	or eax, EFER_LME
.efer:
	wrmsr
	mov eax, [ebx + CFG_CR4]
	mov cr4, eax
	mov eax, [ebx + CFG_CR3]
	mov cr3, eax
	cmp dword [ebx + CFG_KIND], PG_64
	je .long

	lidt [pg_idtr32]
	and byte [pg_gdt + SEL_TSS32 + 5], ~2	; not busy: LTR needs that
	mov ax, SEL_TSS32
	ltr ax
	mov eax, [saved_cr0]
	and eax, ~CR0_WP
	or eax, [ebx + CFG_CR0]
	or eax, CR0_PG
	mov cr0, eax
	jmp .paged
.paged:
	call p32_interp
	mov eax, [saved_cr0]
	mov cr0, eax
	jmp .restore

.long:
	mov eax, [saved_cr0]
	and eax, ~CR0_WP
	or eax, [ebx + CFG_CR0]
	or eax, CR0_PG			; long mode becomes active
	mov cr0, eax
	jmp SEL_CODE64:.lm64

	bits 64
.lm64:
	mov eax, SEL_DATA64
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov esp, esp			; upper halves are undefined here
	lidt [pg_idtr64]
	and byte [pg_gdt + SEL_TSS64 + 5], ~2
	mov ax, SEL_TSS64
	ltr ax
	call p64_interp
	mov eax, SEL_DATA64
	mov ss, eax
	push qword SEL_CODE32
	lea rax, [rel .compat]
	push rax
	o64 retf

	bits 32
.compat:
	; Data segments first: a ring-3 operation's IRETQ loaded DS, ES, FS
	; and GS with NULL (their DPL 0 < CPL 3: SDM Vol 2A IRET, "return to
	; outer privilege level"), and the interrupt back to ring 0 does not
	; reload them.  64-bit mode ignores that, compatibility mode does
	; not: a memory access through a NULL DS there is #GP(0) (SDM Vol 3
	; 5.4.1).  Bochs raises it (through the 64-bit IDT: the interpreter
	; then ran past its list and triple-faulted); QEMU 7.2's TCG let the
	; access through, which hid this.
	mov eax, SEL_DATA
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov eax, [saved_cr0]		; paging off: long mode inactive
	mov cr0, eax
.restore:
	mov eax, SEL_DATA		; FS, GS: NULL after ring 3 too
	mov fs, eax
	mov gs, eax
	mov ecx, MSR_EFER
	mov eax, [saved_efer]
	mov edx, [saved_efer + 4]
	wrmsr
	mov eax, [saved_cr4]
	mov cr4, eax
	lidt [saved_idt]
	mov esp, [saved_esp]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

	section .note.GNU-stack noalloc noexec nowrite progbits
