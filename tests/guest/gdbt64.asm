; SPDX-License-Identifier: BSD-2-Clause
;
; gdbt: a trip into long mode for gdb to stop in (tests/test-gdb.py).
;
; void gdb_long_trip(uint32_t pml4, volatile uint64_t *out), called from
; 32-bit C with 32-bit paging on and the framework's GDT (0x08 code32,
; 0x10 data, 0x18 code64, 0x20 data): paging off, CR3 = pml4, CR4.PAE,
; EFER.LME, paging on (SDM Vol 3 10.8.5), far jump to 64-bit code.  At
; gdb_long, where gdb puts a breakpoint, it loads R9 with GDB_LONG_MAGIC
; and stores it to *out; then back through compatibility mode to 32-bit
; paging with CR3, CR4 and EFER as they were.

MSR_EFER	equ 0xc0000080
EFER_LME	equ 0x100
GDB_LONG_MAGIC	equ 0x1122334455667788

	section .bss
saved_esp:	resd 1
saved_cr3:	resd 1
saved_cr4:	resd 1
saved_efer:	resd 2

	section .text
	bits 32
	global gdb_long_trip
	global gdb_long
gdb_long_trip:
	push ebp
	mov ebp, esp
	push ebx
	push esi
	push edi
	mov [saved_esp], esp
	mov ebx, [ebp + 12]		; out
	mov eax, cr3
	mov [saved_cr3], eax
	mov eax, cr4
	mov [saved_cr4], eax
	mov eax, cr0
	and eax, 0x7fffffff		; 32-bit paging off
	mov cr0, eax
	mov eax, [ebp + 8]
	mov cr3, eax
	mov eax, cr4
	or eax, 0x20			; PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	mov [saved_efer], eax
	mov [saved_efer + 4], edx
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, 0x80000000		; PG: long mode becomes active
	mov cr0, eax
	jmp 0x18:lm64

	bits 64
lm64:
	mov eax, 0x20
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov esp, esp			; upper halves are undefined here
	mov ebx, ebx
gdb_long:
	mov r9, GDB_LONG_MAGIC
	mov [rbx], r9
	nop
	push qword 0x08
	lea rax, [rel compat32]
	push rax
	o64 retf

	bits 32
compat32:
	mov eax, cr0
	and eax, 0x7fffffff		; paging off: long mode inactive
	mov cr0, eax
	mov ecx, MSR_EFER
	mov eax, [saved_efer]
	mov edx, [saved_efer + 4]
	wrmsr
	mov eax, [saved_cr4]
	mov cr4, eax
	mov eax, [saved_cr3]
	mov cr3, eax
	mov eax, 0x10
	mov ds, eax
	mov es, eax
	mov ss, eax
	mov eax, cr0
	or eax, 0x80000000		; 32-bit paging again
	mov cr0, eax
	mov esp, [saved_esp]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret
