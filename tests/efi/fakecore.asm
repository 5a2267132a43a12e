; SPDX-License-Identifier: BSD-2-Clause
;
; A stand-in for the umbra core, to test umbra.efi on its own
; (tests/efi/test-loader.sh).  A flat image with a struct umbra_image_header
; (include/umbra/bootinfo.h) whose entry checks what the loader promised and
; reports it on COM1: the virtual mapping, the stack alignment, the zeroed
; .bss, boot_info (command line, modules, memory map order, busy ranges)
; and the identity map; then it ends QEMU through isa-debug-exit (port
; 0xf4) with 0.  Built with nasm -f bin; -DBAD_MAGIC spoils the magic.

bits 64
default rel

VBASE		equ 0xffffffff80000000
%ifdef BAD_MAGIC
MAGIC		equ 0x2047414d49424d55
%else
MAGIC		equ 0x4547414d49424d55
%endif

; struct boot_info layout (checked by the test through the printed values)
BI_FIRMWARE	equ 0
BI_NR_MEM	equ 4
BI_NR_MODULES	equ 8
BI_NR_BUSY	equ 12
BI_IMAGE_PHYS	equ 16
BI_RSDP		equ 24
BI_CMDLINE	equ 32
BI_MEM		equ 1056
BI_MODULES	equ 7200
BI_BUSY		equ 73120
RANGE_SIZE	equ 24		; struct bi_mem_range: base, size, type
MOD_SIZE	equ 4120	; struct bi_module: base, size, cmdline_len,
MOD_CMDLINE	equ 24		; cmdline[4096]

COM1		equ 0x3f8

	org VBASE
header:
	dq MAGIC
	dq VBASE
	dq file_end - header
	dq mem_end - header
	dq entry

entry:
	mov rbx, rdi			; struct boot_info *
	mov r15, rsp
	lea rsi, [s_reached]
	call puts

	; Running at VBASE, and the header is readable through the mapping.
	lea rax, [header]
	mov rcx, VBASE
	cmp rax, rcx
	jne .bad_vbase
	mov rcx, MAGIC
	cmp [header], rcx
	jne .bad_vbase
	lea rsi, [s_vbase_ok]
	call puts
.bad_vbase:

	; Entered as if by a call from a 16-byte aligned stack.
	mov rax, r15
	and eax, 15
	cmp eax, 8
	jne .bad_stack
	lea rsi, [s_stack_ok]
	call puts
.bad_stack:

	; .bss is zero, to the last byte of mem_size.
	lea rsi, [bss_start]
	lea rcx, [mem_end]
.bss_loop:
	cmp rsi, rcx
	jae .bss_ok
	cmp byte [rsi], 0
	jne .bss_bad
	inc rsi
	jmp .bss_loop
.bss_ok:
	lea rsi, [s_bss_ok]
	call puts
.bss_bad:

	lea rsi, [s_firmware]
	call puts
	mov eax, [rbx + BI_FIRMWARE]
	call putdec
	lea rsi, [s_nr_mem]
	call puts
	mov eax, [rbx + BI_NR_MEM]
	call putdec
	lea rsi, [s_nr_modules]
	call puts
	mov eax, [rbx + BI_NR_MODULES]
	call putdec
	lea rsi, [s_nr_busy]
	call puts
	mov eax, [rbx + BI_NR_BUSY]
	call putdec
	call newline

	lea rsi, [s_image_phys]
	call puts
	mov rax, [rbx + BI_IMAGE_PHYS]
	call puthex
	lea rsi, [s_rsdp]
	call puts
	mov rax, [rbx + BI_RSDP]
	call puthex
	call newline

	; image_phys is 2 MiB aligned
	test qword [rbx + BI_IMAGE_PHYS], 0x1fffff
	jnz .bad_align
	lea rsi, [s_align_ok]
	call puts
.bad_align:

	; An RSDP starts with "RSD PTR ".
	mov rsi, [rbx + BI_RSDP]
	test rsi, rsi
	jz .no_rsdp
	mov rax, 'RSD PTR '
	cmp [rsi], rax
	jne .no_rsdp
	lea rsi, [s_rsdp_ok]
	call puts
.no_rsdp:

	lea rsi, [s_cmdline]
	call puts
	lea rsi, [rbx + BI_CMDLINE]
	call puts
	call newline

	; modules: "module N: base size cmdline: ... data: first 16 bytes"
	xor r12d, r12d
.mod_loop:
	cmp r12d, [rbx + BI_NR_MODULES]
	jae .mod_done
	imul r13, r12, MOD_SIZE
	lea r13, [rbx + r13 + BI_MODULES]
	lea rsi, [s_module]
	call puts
	mov eax, r12d
	call putdec
	lea rsi, [s_colon]
	call puts
	mov rax, [r13]
	call puthex
	mov al, ' '
	call putc
	mov rax, [r13 + 8]
	call puthex
	lea rsi, [s_mod_cmdline]
	call puts
	lea rsi, [r13 + MOD_CMDLINE]
	call puts
	lea rsi, [s_data]
	call puts
	mov rsi, [r13]
	mov ecx, 16
.data_loop:
	mov al, [rsi]
	cmp al, 0x20
	jb .data_end
	cmp al, 0x7e
	ja .data_end
	call putc
	inc rsi
	loop .data_loop
.data_end:
	call newline
	inc r12d
	jmp .mod_loop
.mod_done:

	; mem[]: print, and check sorted, not overlapping, merged.
	xor r12d, r12d
	xor r14, r14			; end of the previous range
	xor r11d, r11d			; its type, 0 for none
	mov byte [mem_bad], 0
.mem_loop:
	cmp r12d, [rbx + BI_NR_MEM]
	jae .mem_done
	imul r13, r12, RANGE_SIZE
	lea r13, [rbx + r13 + BI_MEM]
	lea rsi, [s_mem]
	call puts
	mov rax, [r13]
	call puthex
	mov al, ' '
	call putc
	mov rax, [r13 + 8]
	call puthex
	mov al, ' '
	call putc
	mov eax, [r13 + 16]
	call putdec
	call newline
	mov rax, [r13]
	cmp rax, r14
	jb .mem_wrong			; overlaps or out of order
	jne .mem_next
	cmp r11d, [r13 + 16]
	je .mem_wrong			; adjacent, same type: not merged
	jmp .mem_next
.mem_wrong:
	mov byte [mem_bad], 1
.mem_next:
	cmp qword [r13 + 8], 0
	jne .mem_nonempty
	mov byte [mem_bad], 1
.mem_nonempty:
	mov r14, [r13]
	add r14, [r13 + 8]
	mov r11d, [r13 + 16]
	inc r12d
	jmp .mem_loop
.mem_done:
	cmp byte [mem_bad], 0
	jne .mem_reported
	cmp dword [rbx + BI_NR_MEM], 0
	je .mem_reported
	lea rsi, [s_mem_ok]
	call puts
.mem_reported:

	; Every busy range lies inside one usable range.
	xor r12d, r12d
.busy_loop:
	cmp r12d, [rbx + BI_NR_BUSY]
	jae .busy_ok
	imul r13, r12, RANGE_SIZE
	lea r13, [rbx + r13 + BI_BUSY]
	mov r8, [r13]			; busy base
	mov r9, r8
	add r9, [r13 + 8]		; busy end
	xor ecx, ecx
.busy_find:
	cmp ecx, [rbx + BI_NR_MEM]
	jae .busy_bad
	imul r10, rcx, RANGE_SIZE
	lea r10, [rbx + r10 + BI_MEM]
	inc ecx
	cmp dword [r10 + 16], 1
	jne .busy_find
	cmp r8, [r10]
	jb .busy_find
	mov rax, [r10]
	add rax, [r10 + 8]
	cmp r9, rax
	ja .busy_find
	inc r12d
	jmp .busy_loop
.busy_bad:
	lea rsi, [s_busy_bad]
	call puts
	mov rax, r8
	call puthex
	call newline
	jmp .busy_done
.busy_ok:
	lea rsi, [s_busy_ok]
	call puts
.busy_done:

	; The identity map reaches 4 GiB and the end of the memory map.
	mov rax, 0xfffffff8
	mov rax, [rax]
	mov ecx, [rbx + BI_NR_MEM]
	dec ecx
	imul rcx, rcx, RANGE_SIZE
	lea rcx, [rbx + rcx + BI_MEM]
	mov rax, [rcx]
	add rax, [rcx + 8]
	mov rax, [rax - 8]
	lea rsi, [s_ident_ok]
	call puts

	lea rsi, [s_done]
	call puts
	mov dx, 0xf4
	xor eax, eax
	out dx, eax
.halt:
	cli
	hlt
	jmp .halt

; al: the character.  Clobbers dx.
putc:
	push rax
	mov dx, COM1 + 5
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	pop rax
	mov dx, COM1
	out dx, al
	ret

; rsi: NUL-terminated string.  Clobbers rax, rdx, rsi.
puts:
	lodsb
	test al, al
	jz .end
	cmp al, 10
	jne .plain
	mov al, 13
	call putc
	mov al, 10
.plain:
	call putc
	jmp puts
.end:
	ret

newline:
	lea rsi, [s_nl]
	jmp puts

; rax: the value, as 0x and 16 hex digits.  Clobbers rax, rcx, rdx, rdi.
puthex:
	mov rdi, rax
	mov al, '0'
	call putc
	mov al, 'x'
	call putc
	mov ecx, 16
.digit:
	rol rdi, 4
	mov eax, edi
	and eax, 15
	add al, '0'
	cmp al, '9'
	jbe .out
	add al, 'a' - '9' - 1
.out:
	call putc
	loop .digit
	ret

; rax: the value, in decimal.  Clobbers rax, rcx, rdx, rdi.
putdec:
	lea rdi, [decbuf + 31]
	mov byte [rdi], 0
	mov ecx, 10
.div:
	xor edx, edx
	div rcx
	add dl, '0'
	dec rdi
	mov [rdi], dl
	test rax, rax
	jnz .div
	mov rsi, rdi
	jmp puts

s_reached	db 10, "fake core reached", 10, 0
s_vbase_ok	db "fake: vbase ok", 10, 0
s_stack_ok	db "fake: stack aligned ok", 10, 0
s_bss_ok	db "fake: bss zero ok", 10, 0
s_firmware	db "fake: firmware=", 0
s_nr_mem	db " nr_mem=", 0
s_nr_modules	db " nr_modules=", 0
s_nr_busy	db " nr_busy=", 0
s_image_phys	db "fake: image_phys=", 0
s_rsdp		db " rsdp=", 0
s_align_ok	db "fake: image aligned ok", 10, 0
s_rsdp_ok	db "fake: rsdp signature ok", 10, 0
s_cmdline	db "fake: cmdline: ", 0
s_module	db "fake: module ", 0
s_colon		db ": ", 0
s_mod_cmdline	db " cmdline: ", 0
s_data		db " data: ", 0
s_mem		db "fake: mem ", 0
s_mem_ok	db "fake: mem sorted merged ok", 10, 0
s_busy_ok	db "fake: busy in usable ok", 10, 0
s_busy_bad	db "fake: busy range outside usable memory at ", 0
s_ident_ok	db "fake: identity map ok", 10, 0
s_done		db "fake core done", 10, 0
s_nl		db 10, 0

file_end:

	absolute file_end
bss_start:
decbuf		resb 32
mem_bad		resb 1
		resb 3 * 4096 + 123	; make mem_size exceed file_size well
mem_end:
