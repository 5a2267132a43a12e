/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest kernels: an IDT of the kernel's own and faults caught on purpose.
 *
 * A kernel keeps its IDT (an array of struct gate, anywhere it likes),
 * points gates 0-31 at the stubs here with trap_idt_init() and loads it.
 * An instruction that may fault is bracketed by TRAP_ARM and TRAP_DONE:
 * TRAP_ARM stores the address after it (label 1) in trap_resume; a fault
 * in between records the vector, the error code (0 where the CPU pushes
 * none), the pushed EIP and EFLAGS and CR2, then resumes at label 1 with
 * TF cleared.  A fault while nothing is armed fails the kernel with one
 * FAIL line and ends it.  The try_*() helpers return the vector, or
 * NO_TRAP.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>

#define NO_TRAP		0xffffffffu

#define VEC_DE		0
#define VEC_DB		1
#define VEC_BP		3
#define VEC_UD		6
#define VEC_DF		8
#define VEC_TS		10
#define VEC_NP		11
#define VEC_SS		12
#define VEC_GP		13
#define VEC_PF		14

#define GATE_INT32	0x8e	/* present, DPL 0, 32-bit interrupt gate */
#define GATE_TRAP32	0x8f	/* present, DPL 0, 32-bit trap gate */
#define GATE_PRESENT	0x80

#define EFLAGS_TF	(1u << 8)
#define EFLAGS_RF	(1u << 16)
#define EFLAGS_AC	(1u << 18)

/* What the stubs push: pushal, the vector, the error code, the CPU's. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

/* The stub of exception vector v (0-31) is at trap_stubs + TRAP_STUB * v. */
#define TRAP_STUB	12
extern char trap_stubs[];

extern volatile uint32_t trap_resume, trap_vec, trap_err, trap_cr2;
extern volatile uint32_t trap_eflags, trap_eip, trap_count;

void gate_set(struct gate *idt, int vec, uint32_t handler, uint8_t type);
/* Gates 0-31 of idt to the stubs (interrupt gates, the current CS). */
void trap_idt_init(struct gate *idt);
void idt_load(uint32_t base, uint16_t limit);
struct desc_ptr idt_read(void);

#define TRAP_ARM	"movl $1f, trap_resume\n\t"
#define TRAP_DONE	"\n1:\n\tmovl $0, trap_resume"

/* static uint32_t fn(void): run text (no operands), return the vector */
#define TRAP_PROBE(fn, text)						\
static uint32_t fn(void)						\
{									\
	trap_vec = NO_TRAP;						\
	asm volatile(TRAP_ARM text TRAP_DONE				\
		     : : : "eax", "ecx", "edx", "memory", "cc");	\
	return trap_vec;						\
}

/* "no exception", or the vector, error code, EFLAGS and CR2 caught
   (four calls' results may be used at once) */
const char *trap_text(uint32_t vec);

uint32_t try_read(uint32_t addr);
uint32_t try_write(uint32_t addr, uint32_t val);
uint32_t try_cr0(uint32_t val);
uint32_t try_cr3(uint32_t val);
uint32_t try_cr4(uint32_t val);
uint32_t try_rdmsr(uint32_t msr, uint64_t *val);
uint32_t try_wrmsr(uint32_t msr, uint64_t val);

#endif
