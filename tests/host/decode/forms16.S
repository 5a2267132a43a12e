/* SPDX-License-Identifier: BSD-2-Clause */
/* 16-bit forms for test_decode (see forms64.S). */
	.include "legacy.inc"
	.code16
	.text
	mem_forms (%bx,%si)
	mem_forms (%bx,%di)
	mem_forms (%bp,%si)
	mem_forms (%bp,%di)
	mem_forms (%si)
	mem_forms (%di)
	mem_forms (%bx)
	mem_forms 0x10(%bp)
	mem_forms -0x10(%bx,%si)
	mem_forms 0x1234(%bp,%di)
	mem_forms 0x8000
	mem_forms 0x1234
	mem_forms %es:(%bx)
	mem_forms %ss:0x10(%si)
	mem_forms %fs:-0x2(%bp)
	mem_forms (%eax)
	mem_forms 0x10(%esp,%ebx,4)
	mem_forms %gs:0x12345678(%ebp)
	reg_forms
	mov	%cr0, %eax
	mov	%eax, %cr0
	mov	%ecx, %cr3
	mov	%cr4, %esi
	movsb	%es:(%si), %es:(%di)
	movsl	(%esi), %es:(%edi)
	movb	%al, 0x1234
	movw	%ax, %gs:0x1234
	movl	%eax, 0x1234
	movw	0x1234, %ax
	.byte	0x67, 0xa2, 0x78, 0x56, 0x34, 0x12	/* addr32 moffs */

	.section .text.unsup, "ax"
	unsup_forms

	.section .text.ud, "ax"
ud0:	.byte	0xf0, 0x88, 0x07		/* lock mov */
ud1:	.byte	0xf0, 0x0f, 0x01, 0x38		/* lock invlpg */
ud2:	.byte	0x0f, 0xc7, 0xc8		/* cmpxchg8b reg */
ud3:	.byte	0x0f, 0x20, 0xe8		/* mov %cr5,%eax */
ud_end:
