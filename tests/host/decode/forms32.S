/* SPDX-License-Identifier: BSD-2-Clause */
/* 32-bit forms for test_decode (see forms64.S). */
	.include "legacy.inc"
	.code32
	.text
	mem_forms (%eax)
	mem_forms (%esp)
	mem_forms (%ebp)
	mem_forms 0x10(%ebx)
	mem_forms -0x80(%ecx)
	mem_forms 0x12345678(%edx)
	mem_forms (%eax,%ebx,2)
	mem_forms -0x20(%esp,%ebp,1)
	mem_forms 0x10(,%esi,4)
	mem_forms 0x12345678
	mem_forms %fs:(%eax)
	mem_forms %gs:0x10(%ebp,%esi,8)
	mem_forms %es:0x10(%ebp)
	mem_forms %ss:(%edi)
	mem_forms %cs:0x1000
	mem_forms %ds:(%esp)
	mem_forms (%bx,%si)
	mem_forms 0x10(%bp)
	mem_forms -0x1234(%bp,%di)
	reg_forms
	mov	%cr0, %eax
	mov	%eax, %cr0
	mov	%cr2, %edx
	mov	%cr3, %edi
	mov	%esp, %cr3
	mov	%ebx, %cr4
	movsb	%fs:(%esi), %es:(%edi)
	movsl	(%si), %es:(%di)
	stosl	%eax, %es:(%di)
	movb	%al, 0x12345678
	movw	%ax, %fs:0x12345678
	movl	%eax, 0x12345678
	movb	0x12345678, %al
	movl	%es:0x12345678, %eax
	.byte	0x67, 0xa3, 0x34, 0x12		/* addr16 moffs */
	.byte	0x66, 0x66, 0x89, 0x18		/* repeated 66 */
	.byte	0x26, 0x64, 0x89, 0x18		/* es fs: last counts */

	.section .text.unsup, "ax"
	unsup_forms
	.byte	0x48				/* dec %eax, not REX: last in the section */

	.section .text.ud, "ax"
ud0:	.byte	0xf0, 0x89, 0x03		/* lock mov */
ud1:	.byte	0xf0, 0x09, 0xd8		/* lock or reg,reg */
ud2:	.byte	0xf0, 0x0f, 0x22, 0xc0		/* lock mov %eax,%cr0 */
ud3:	.byte	0x0f, 0xc7, 0xc8		/* cmpxchg8b reg */
ud4:	.byte	0x0f, 0x22, 0xc0 + 8 * 7	/* mov %eax,%cr7 */
ud5:	.byte	0xf0, 0xab			/* lock stos */
ud6:	.byte	0x0f, 0x22, 0xc0 + 8 * 1	/* mov %eax,%cr1 */
ud_end:
