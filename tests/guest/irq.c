// SPDX-License-Identifier: BSD-2-Clause
/*
 * irq: events whose delivery is cut short by a VM exit are delivered once,
 * with the right return address.
 *
 * Under shadow paging, the first touch of a page that the guest mapped
 * but nothing has used yet exits to the hypervisor (its shadow entry does
 * not exist), also when the CPU touches it while delivering an interrupt
 * or an exception: pushing the frame onto a fresh stack page, reading the
 * gate from a fresh IDT page.  The hypervisor must then deliver the event
 * again (SDM Vol 3 27.2.4 and 26.6, APM Vol 2 15.7.2): an external
 * interrupt as an interrupt, a software interrupt or INT3 so that its
 * return address is the next instruction and the handler runs once.
 *
 * The checks, with 32-bit paging and 4 KiB pages (the kernel identity
 * mapped, each fresh page in a 4 MiB region of its own, so that no shadow
 * page table covers it beforehand):
 *   - a local APIC self-IPI taken on a fresh stack page;
 *   - the same with the IDT read through a fresh alias page;
 *   - INT 0x41 on a fresh stack page;
 *   - INT3 on a fresh stack page.
 * Each handler counts its runs and records the return EIP.  Bare, the
 * fresh pages are only TLB misses: the checks hold all the same.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "irq";

#define PAGE_SIZE	4096u
#define PTE_P		0x001u
#define PTE_W		0x002u
#define PTE_PWT		0x008u
#define PTE_PCD		0x010u
#define CR0_PG		(1u << 31)
#define CR4_PSE		(1u << 4)
#define CR4_PAE		(1u << 5)

#define IDENT_MB	16		/* identity-mapped: the kernel, its data */
#define FRESH_BASE	0x40000000u	/* one 4 MiB region per fresh page */
#define FRESH_STRIDE	0x00400000u

#define LAPIC_BASE	0xfee00000u
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_ICR_LO	0x300
#define ICR_SELF	(1u << 18)	/* destination shorthand: self */
#define ICR_PENDING	(1u << 12)	/* delivery status */
#define ICR_ASSERT	(1u << 14)	/* level: 1 for every mode but INIT */

#define APIC_ENABLE	(1u << 11)

#define VEC_IPI		0x40
#define VEC_SOFT	0x41
#define VEC_BP		3

struct gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static uint32_t pd[1024] __attribute__((aligned(PAGE_SIZE)));
static uint32_t ident_pt[IDENT_MB / 4][1024] __attribute__((aligned(PAGE_SIZE)));
static uint32_t lapic_pt[1024] __attribute__((aligned(PAGE_SIZE)));
static uint32_t fresh_pt[8][1024] __attribute__((aligned(PAGE_SIZE)));
static struct gate idt[256] __attribute__((aligned(PAGE_SIZE)));
static uint8_t stacks[4][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static int nr_fresh;

/* what the handlers saw; written by the stubs below */
volatile uint32_t irq_count[256];
volatile uint32_t irq_eip[256];

void irq_record(uint32_t vector, uint32_t eip);
void irq_record(uint32_t vector, uint32_t eip)
{
	irq_count[vector & 0xff]++;
	irq_eip[vector & 0xff] = eip;
	if (vector == VEC_IPI)
		*(volatile uint32_t *)(LAPIC_BASE + LAPIC_EOI) = 0;
}

/*
 * One stub per vector: the return EIP is at 32(%esp) after pushal; cdecl
 * arguments pushed right to left.
 */
#define IRQ_STUB(name, vec)						\
	asm(".text\n.globl " #name "\n" #name ":\n"			\
	    "pushal\n"							\
	    "pushl 32(%esp)\n"						\
	    "pushl $" #vec "\n"						\
	    "call irq_record\n"						\
	    "addl $8, %esp\n"						\
	    "popal\n"							\
	    "iret\n")

IRQ_STUB(stub_ipi, 0x40);
IRQ_STUB(stub_soft, 0x41);
IRQ_STUB(stub_bp, 3);
extern char stub_ipi[], stub_soft[], stub_bp[];

static void set_gate(int vec, void *handler, uint8_t type)
{
	uint32_t a = (uint32_t)handler;
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	idt[vec] = (struct gate){ a & 0xffff, cs, 0, type, a >> 16 };
}

/* the framework's exception gates, then ours */
static void idt_init(void)
{
	struct desc_ptr p;

	asm volatile("sidt %0" : "=m"(p));
	memcpy(idt, (const void *)p.base,
	       p.limit + 1u < sizeof(idt) ? p.limit + 1u : sizeof(idt));
	set_gate(VEC_IPI, stub_ipi, 0x8e);	/* interrupt gate, DPL 0 */
	set_gate(VEC_SOFT, stub_soft, 0x8e);
	set_gate(VEC_BP, stub_bp, 0x8e);
}

static void load_idt(uint32_t base)
{
	struct desc_ptr p = { sizeof(idt) - 1, base };

	asm volatile("lidt %0" : : "m"(p));
}

/* A virtual page no shadow table covers yet, mapped to pa. */
static uint32_t fresh_page(uint32_t pa)
{
	uint32_t va = FRESH_BASE + (uint32_t)nr_fresh * FRESH_STRIDE;
	uint32_t *pt = fresh_pt[nr_fresh++];

	pt[0] = pa | PTE_P | PTE_W;
	pd[va >> 22] = (uint32_t)pt | PTE_P | PTE_W;
	return va;
}

static void paging_init(void)
{
	for (uint32_t t = 0; t < IDENT_MB / 4; t++) {
		for (uint32_t i = 0; i < 1024; i++)
			ident_pt[t][i] = (t << 22 | i << 12) | PTE_P | PTE_W;
		pd[t] = (uint32_t)ident_pt[t] | PTE_P | PTE_W;
	}
	lapic_pt[(LAPIC_BASE >> 12) & 1023] = LAPIC_BASE | PTE_P | PTE_W |
					      PTE_PCD | PTE_PWT;
	pd[LAPIC_BASE >> 22] = (uint32_t)lapic_pt | PTE_P | PTE_W;
	write_cr4(read_cr4() & ~(CR4_PAE | CR4_PSE));
	asm volatile("mov %0, %%cr3" : : "r"(pd) : "memory");
	write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
}

static void lapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(LAPIC_BASE + reg) = val;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

/* A self-IPI left pending in the IRR while interrupts are off. */
static int self_ipi(void)
{
	int spins = 0;

	lapic_write(LAPIC_ICR_LO, ICR_SELF | ICR_ASSERT | VEC_IPI);
	while ((lapic_read(LAPIC_ICR_LO) & ICR_PENDING) && spins < 1000000)
		spins++;
	return !(lapic_read(LAPIC_ICR_LO) & ICR_PENDING);
}

/*
 * On the stack at top: open the interrupt window until the handler has
 * run (or a million spins), or run INT 0x41 or INT3.  The labels give the
 * EIPs each handler may see as its return address.  (A one-instruction
 * window after STI is not enough: QEMU's TCG looks for interrupts only
 * between its translation blocks.)
 */
extern char window_begin[], window_end[], after_int[], after_int3[];

static __attribute__((noinline)) void window_on(uint32_t top)
{
	uint32_t saved, spins = 1000000;

	asm volatile("mov %%esp, %0\n\t"
		     "mov %2, %%esp\n\t"
		     "sti\n"
		     ".globl window_begin\nwindow_begin:\n\t"
		     "1: decl %1\n\t"
		     "jz 2f\n\t"
		     "cmpl $0, %3\n\t"
		     "je 1b\n"
		     "2:\n"
		     ".globl window_end\nwindow_end:\n\t"
		     "cli\n\t"
		     "mov %0, %%esp"
		     : "=&r"(saved), "+r"(spins)
		     : "r"(top), "m"(irq_count[VEC_IPI]) : "memory", "cc");
}

static __attribute__((noinline)) void int_on(uint32_t top)
{
	uint32_t saved;

	asm volatile("mov %%esp, %0\n\t"
		     "mov %1, %%esp\n\t"
		     "int $0x41\n"
		     ".globl after_int\nafter_int:\n\t"
		     "mov %0, %%esp"
		     : "=&r"(saved) : "r"(top) : "memory");
}

static __attribute__((noinline)) void int3_on(uint32_t top)
{
	uint32_t saved;

	asm volatile("mov %%esp, %0\n\t"
		     "mov %1, %%esp\n\t"
		     "int3\n"
		     ".globl after_int3\nafter_int3:\n\t"
		     "mov %0, %%esp"
		     : "=&r"(saved) : "r"(top) : "memory");
}

static void check_once(const char *name, int vec, const char *from,
		       const char *to)
{
	check(irq_count[vec] == 1 && irq_eip[vec] >= (uint32_t)from &&
	      irq_eip[vec] <= (uint32_t)to, name,
	      "vector %#x: %u run(s), return eip %#x (want 1 run, eip in "
	      "%#x-%#x)", vec, irq_count[vec], irq_eip[vec], (uint32_t)from,
	      (uint32_t)to);
}

static void check_ipis(int have_apic)
{
	static const char *const names[2] = {
		"self-ipi on a fresh stack page: delivered once",
		"self-ipi through a fresh idt page: delivered once",
	};
	uint32_t stack, idt_alias;

	if (!have_apic) {
		for (int i = 0; i < 2; i++)
			skip(names[i], "no local APIC (cpuid 1 edx bit 9)");
		return;
	}
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_ENABLE);
	lapic_write(LAPIC_SVR, 0x1ff);		/* enabled, spurious 0xff */

	/* the 8259s deliver the BIOS's timer at vector 8 otherwise */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	stack = fresh_page((uint32_t)stacks[0]);
	irq_count[VEC_IPI] = 0;
	if (check(self_ipi(), "self-ipi sent", "ICR still pending")) {
		window_on(stack + PAGE_SIZE);
		check_once(names[0], VEC_IPI, window_begin, window_end);
	}

	idt_alias = fresh_page((uint32_t)idt);
	irq_count[VEC_IPI] = 0;
	load_idt(idt_alias);
	if (self_ipi())
		window_on((uint32_t)stacks[1] + PAGE_SIZE);
	load_idt((uint32_t)idt);
	check_once(names[1], VEC_IPI, window_begin, window_end);
}

void test_main(void)
{
	struct cpuid_regs r;

	cpuid(1, &r);
	asm volatile("cli");
	idt_init();
	load_idt((uint32_t)idt);
	paging_init();

	check_ipis(!!(r.edx & (1u << 9)));

	int_on(fresh_page((uint32_t)stacks[2]) + PAGE_SIZE);
	check_once("int 0x41 on a fresh stack page: runs once, returns after "
		   "the int", VEC_SOFT, after_int, after_int);

	int3_on(fresh_page((uint32_t)stacks[3]) + PAGE_SIZE);
	check_once("int3 on a fresh stack page: runs once, returns after the "
		   "int3", VEC_BP, after_int3, after_int3);

	paging_off();
}
