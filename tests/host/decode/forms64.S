/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 64-bit forms for test_decode: .text must decode, .text.unsup must be
 * X86_DEC_UNSUPPORTED, .text.ud X86_DEC_UD.  The expected lengths and
 * operands are read back from the object by gen_forms.py (objdump).
 */
	.code64
	.text

.macro alu_forms op, M:vararg
	\op\()b	%cl, \M
	lock \op\()b %dil, \M
	\op\()w	%dx, \M
	lock \op\()l %esi, \M
	\op\()q	%r11, \M
	\op\()b	$0x7f, \M
	lock \op\()b $0x80, \M
	\op\()w	$0x1234, \M
	\op\()l	$0x12345678, \M
	lock \op\()q $-0x12345678, \M
	\op\()w	$-3, \M
	\op\()l	$5, \M
	lock \op\()q $0x7f, \M
.endm

.macro bt_forms op, M:vararg
	\op\()w	%ax, \M
	lock \op\()l %ecx, \M
	\op\()q	%r8, \M
	\op\()w	$3, \M
	lock \op\()l $31, \M
	\op\()q	$0xff, \M
.endm

/* Byte registers AH-BH: only without REX. */
.macro high8_forms M:vararg
	movb	%ah, \M
	movb	\M, %dh
	xchgb	%ch, \M
	cmpxchgb %bh, \M
	lock orb %ah, \M
.endm

.macro shift_forms op, M:vararg
	\op\()b	\M
	\op\()w	$3, \M
	\op\()l	%cl, \M
	\op\()q	$0x3f, \M
	\op\()q	\M
.endm

/* Read-modify-write forms emulated for writes to shadowed page tables. */
.macro rmw_forms M:vararg
	alu_forms adc, \M
	alu_forms sbb, \M
	incb	\M
	lock incw \M
	incl	\M
	lock incq \M
	decb	\M
	lock decq \M
	notb	\M
	lock notq \M
	negw	\M
	lock negq \M
	xaddb	%sil, \M
	lock xaddw %dx, \M
	xaddl	%esi, \M
	lock xaddq %r11, \M
	shift_forms rol, \M
	shift_forms ror, \M
	shift_forms rcl, \M
	shift_forms rcr, \M
	shift_forms shl, \M
	shift_forms shr, \M
	shift_forms sar, \M
	setb	\M
	setle	\M
	setnp	\M
	movnti	%eax, \M
	movnti	%r9, \M
.endm

/* Every memory form of the supported instructions, for one operand M. */
.macro mem_forms M:vararg
	rmw_forms \M
	movb	%al, \M
	movb	%sil, \M
	movb	%r12b, \M
	movw	%ax, \M
	movl	%r9d, \M
	movq	%r15, \M
	movb	\M, %bl
	movw	\M, %r14w
	movq	\M, %rcx
	movb	$0x12, \M
	movw	$0x1234, \M
	movl	$0x12345678, \M
	movq	$-5, \M
	xchgb	%dl, \M
	xchgw	%bp, \M
	xchgl	%eax, \M
	xchgq	%r10, \M
	cmpxchgb %dl, \M
	lock cmpxchgw %si, \M
	cmpxchgl %edi, \M
	lock cmpxchgq %rbx, \M
	cmpxchg8b \M
	lock cmpxchg8b \M
	cmpxchg16b \M
	lock cmpxchg16b \M
	alu_forms add, \M
	alu_forms or, \M
	alu_forms and, \M
	alu_forms sub, \M
	alu_forms xor, \M
	bt_forms bts, \M
	bt_forms btr, \M
	bt_forms btc, \M
	invlpg	\M
	lmsw	\M
.endm

	mem_forms (%rax)
	high8_forms (%rax)
	mem_forms (%r12)
	mem_forms (%r13)
	mem_forms (%rsp)
	high8_forms (%rsp)
	mem_forms (%rbp)
	high8_forms (%rbp)
	mem_forms 0x7f(%rax)
	high8_forms 0x7f(%rax)
	mem_forms -0x80(%rcx)
	mem_forms 0x12345678(%rdx)
	mem_forms -0x12345678(%rsi)
	mem_forms (%rax,%rbx)
	mem_forms (%rax,%rbx,2)
	high8_forms (%rax,%rbx,2)
	mem_forms 0x10(%rax,%r12,4)
	mem_forms (%r13,%r14,8)
	mem_forms -0x20(%rsp,%rbp,1)
	mem_forms 0x12345678(,%rcx,8)
	mem_forms 0x12345678
	high8_forms 0x12345678
	mem_forms 0x10(%rip)
	high8_forms 0x10(%rip)
	mem_forms -0x1000(%rip)
	mem_forms %fs:(%rax)
	high8_forms %fs:(%rax)
	mem_forms %gs:0x10(%rbp,%rsi,2)
	mem_forms (%eax)
	high8_forms (%eax)
	mem_forms 0x10(%esp,%ebp,4)
	high8_forms 0x10(%esp,%ebp,4)
	mem_forms 0x10(%eip)
	mem_forms (%r8d,%r9d,2)

	/* register forms */
	movq	%rax, %rbx
	movb	%ah, %bl
	movb	%sil, %r9b
	xchgl	%ecx, %edx
	xchgb	%ah, %ch
	addb	%ah, %bl
	orq	%r8, %r9
	andw	%ax, %bx
	subl	$0x12345678, %ecx
	xorq	$-1, %r13
	cmpxchgl %eax, %ecx
	cmpxchgb %sil, %dil
	btsq	%rax, %rbx
	btrl	$3, %ecx
	btcw	$15, %r10w
	incl	%eax
	negq	%r9
	shlb	%cl, %al
	sete	%al
	xaddl	%eax, %ecx

	/* control registers */
	mov	%cr0, %rax
	mov	%rax, %cr0
	mov	%cr2, %rdx
	mov	%cr3, %r15
	mov	%rsp, %cr3
	mov	%r8, %cr4
	mov	%rcx, %cr8
	mov	%cr8, %rax
	clts
	lmsw	%ax
	lmsw	%r9w

	/* strings */
	movsb
	movsw
	movsl
	movsq
	rep movsb
	rep movsq
	repne movsl
	movsb	%fs:(%rsi), %es:(%rdi)
	movsq	(%esi), %es:(%edi)
	stosb
	stosw
	rep stosl
	rep stosq
	stosl	%eax, %es:(%edi)
	rep stosb %al, %es:(%edi)

	/* moffs */
	movabs	%al, 0x1122334455667788
	movabs	%ax, 0x1122334455667788
	movabs	%eax, 0x1122334455667788
	movabs	%rax, 0x8877665544332211
	movabs	0x1122334455667788, %al
	movabs	0x1122334455667788, %rax
	movabs	%eax, %gs:0x1122334455667788
	.byte	0x67, 0xa3, 0x44, 0x33, 0x22, 0x11	/* addr32 moffs */
	.byte	0x67, 0x48, 0xa2, 0xf0, 0xde, 0xbc, 0x9a

	/* prefixes: ignored segments, REX not last, 66 with REX.W */
	.byte	0x2e, 0x89, 0x18		/* cs mov %ebx,(%rax) */
	.byte	0x64, 0x3e, 0x89, 0x18		/* fs ds mov: fs counts */
	.byte	0x48, 0x66, 0x89, 0x18		/* rex.w dropped: 16-bit */
	.byte	0x66, 0x48, 0x89, 0x18		/* rex.w wins over 66 */
	.byte	0x41, 0x48, 0x89, 0x18		/* last REX counts */
	.byte	0xf3, 0xf2, 0xa4		/* last rep counts */

	/* debug registers, software interrupts */
	mov	%dr7, %rax
	mov	%rax, %dr3
	mov	%dr6, %r9
	int3
	int	$0x21

	.section .text.unsup, "ax"
	nop
	pushq	%rax
	cmpl	$1, (%rax)
	addl	(%rax), %eax
	orb	(%rax), %al
	btl	%eax, (%rbx)
	btl	$3, (%rax)
	lodsb
	cmpsb
	scasl
	insb	(%dx), %es:(%rdi)
	movzbl	(%rax), %eax
	cpuid
	swapgs
	rdtscp
	xchgl	%ecx, %eax
	leaq	(%rax), %rbx
	syscall
	invpcid	(%rax), %rax
	movaps	%xmm0, (%rax)
	xabort	$1
	rdrand	%eax
	sgdt	(%rax)
	movl	$1, %eax
	movw	%ds, (%rax)
	popq	(%rax)
	vmovdqa	%ymm0, (%rax)
	testl	$1, (%rax)
	mulq	(%rax)
	shldq	$3, %rax, (%rax)
	pushq	(%rax)
	callq	*(%rax)
	fistpl	(%rax)
	movq	%xmm0, (%rax)
	movq	%mm0, (%rax)
	fxsave	(%rax)
	sidt	(%rax)
	sldt	(%rax)
	fnstsw	(%rax)
	movups	%xmm1, (%rax)

	/* #UD cases: each from its label to the next (objdump cannot show some) */
	.section .text.ud, "ax"
ud0:	.byte	0xf0, 0x89, 0x03		/* lock mov */
ud1:	.byte	0xf0, 0x01, 0xd8		/* lock add reg,reg */
ud2:	.byte	0xf0, 0x87, 0xc8		/* lock xchg reg,reg */
ud3:	.byte	0xf0, 0x0f, 0x01, 0x38		/* lock invlpg */
ud4:	.byte	0xf0, 0xa4			/* lock movsb */
ud5:	.byte	0xf0, 0x0f, 0x22, 0xc0		/* lock mov %rax,%cr0 */
ud6:	.byte	0x0f, 0xc7, 0xc8		/* cmpxchg8b reg */
ud7:	.byte	0x0f, 0x20, 0xc8		/* mov %cr1,%rax */
ud8:	.byte	0x0f, 0x22, 0xe8		/* mov %rax,%cr5 */
ud9:	.byte	0x45, 0x0f, 0x22, 0xc8		/* mov %r8,%cr9 */
ud10:	.byte	0xf0, 0x66, 0xc7, 0x00, 0x34, 0x12	/* lock movw $imm */
ud11:	.byte	0xf3, 0xf0, 0x0f, 0x01, 0x3b	/* rep lock invlpg */
ud12:	.byte	0x44, 0x0f, 0x23, 0xc0		/* mov %rax,%dr8 (REX.R) */
ud13:	.byte	0xce				/* into: not in 64-bit mode */
ud14:	.byte	0xf0, 0x0f, 0x21, 0xf8		/* lock mov %dr7,%rax */
ud_end:
