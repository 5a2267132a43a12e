// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: the exception stubs, gates and the try_*() helpers of
 * trap.h.
 */
#include "guest.h"
#include "trap.h"

volatile uint32_t trap_resume, trap_vec, trap_err, trap_cr2;
volatile uint32_t trap_eflags, trap_eip, trap_count;

void trap_handler(struct trap_frame *f);

/*
 * One stub per vector 0-31, TRAP_STUB bytes each: a dummy error code
 * where the CPU pushes none (2 bytes, or two NOPs), the vector (5), a
 * jump to the common part (5).
 */
asm(".text\n"
    ".globl trap_stubs\n"
    "trap_stubs:\n"
    ".set vec, 0\n"
    ".rept 32\n"
    ".if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)\n"
    "nop\n nop\n"
    ".else\n"
    ".byte 0x6a, 0\n"
    ".endif\n"
    ".byte 0x68\n .long vec\n"
    ".byte 0xe9\n .long trap_common - . - 4\n"
    ".set vec, vec + 1\n"
    ".endr\n"
    "trap_common:\n"
    "pushal\n"
    "pushl %esp\n"
    "call trap_handler\n"
    "addl $4, %esp\n"
    "popal\n"
    "addl $8, %esp\n"
    "iret\n");

void trap_handler(struct trap_frame *f)
{
	uint32_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	if (!trap_resume) {
		printf("\nFAIL: unexpected exception: vector %u error %#x at eip %#x eflags %#x cr2 %#x\n",
		       f->vector, f->error, f->eip, f->eflags, cr2);
		check(0, "no unexpected exception", "see above");
		test_exit();
	}
	trap_count++;
	trap_vec = f->vector;
	trap_err = f->error;
	trap_cr2 = cr2;
	trap_eflags = f->eflags;
	trap_eip = f->eip;
	f->eip = trap_resume;
	f->eflags &= ~EFLAGS_TF;	/* a single-step test ends here */
	trap_resume = 0;
}

void gate_set(struct gate *idt, int vec, uint32_t handler, uint8_t type)
{
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	idt[vec] = (struct gate){ handler & 0xffff, cs, 0, type,
				  handler >> 16 };
}

void trap_idt_init(struct gate *idt)
{
	int v;

	for (v = 0; v < 32; v++)
		gate_set(idt, v, (uint32_t)trap_stubs + TRAP_STUB * v,
			 GATE_INT32);
}

void idt_load(uint32_t base, uint16_t limit)
{
	struct desc_ptr p = { limit, base };

	asm volatile("lidt %0" : : "m"(p) : "memory");
}

struct desc_ptr idt_read(void)
{
	struct desc_ptr p;

	asm volatile("sidt %0" : "=m"(p));
	return p;
}

const char *trap_text(uint32_t vec)
{
	static char bufs[4][64];
	static unsigned int next;
	char *buf = bufs[next++ % ARRAY_SIZE(bufs)];

	if (vec == NO_TRAP)
		return "no exception";
	snprintf(buf, sizeof(bufs[0]), "vector %u error %#x eflags %#x cr2 %#x",
		 vec, trap_err, trap_eflags, trap_cr2);
	return buf;
}

uint32_t try_read(uint32_t addr)
{
	uint32_t v = 0;

	trap_vec = NO_TRAP;
	asm volatile(TRAP_ARM "movl (%1), %0" TRAP_DONE
		     : "+r"(v) : "r"(addr) : "memory");
	return trap_vec;
}

uint32_t try_write(uint32_t addr, uint32_t val)
{
	trap_vec = NO_TRAP;
	asm volatile(TRAP_ARM "movl %1, (%0)" TRAP_DONE
		     : : "r"(addr), "r"(val) : "memory");
	return trap_vec;
}

/* MOV to CRn of val: the vector, or NO_TRAP */
#define TRY_CR(n)							\
uint32_t try_cr##n(uint32_t val)					\
{									\
	trap_vec = NO_TRAP;						\
	asm volatile(TRAP_ARM "mov %0, %%cr" #n TRAP_DONE		\
		     : : "r"(val) : "memory");				\
	return trap_vec;						\
}

TRY_CR(0)
TRY_CR(3)
TRY_CR(4)

uint32_t try_rdmsr(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;

	trap_vec = NO_TRAP;
	asm volatile(TRAP_ARM "rdmsr" TRAP_DONE
		     : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	if (val)
		*val = ((uint64_t)hi << 32) | lo;
	return trap_vec;
}

uint32_t try_wrmsr(uint32_t msr, uint64_t val)
{
	trap_vec = NO_TRAP;
	asm volatile(TRAP_ARM "wrmsr" TRAP_DONE
		     : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
		     : "memory");
	return trap_vec;
}
