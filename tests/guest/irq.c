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
 *
 * Then NMIs (paging off), which belong to the guest as its other
 * interrupts do and which no RFLAGS.IF holds back, so that they also
 * arrive while the hypervisor runs (the exit of a CPUID, say):
 *   - an NMI sent (ICR, to the guest's own APIC ID) from inside the NMI
 *     handler, which then does CPUIDs: it arrives once, only after the
 *     handler's IRET, never nested (SDM Vol 3 6.7.1);
 *   - the PIT in one-shot mode (8254 mode 0) through the I/O APIC as an
 *     NMI, a round at a time, the guest doing nothing but CPUIDs (each
 *     one an exit under umbra): each round's NMI arrives exactly once.
 */
#include "guest.h"
#include "trap.h"
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

#define LAPIC_ID	0x020
#define LAPIC_ICR_HI	0x310
#define ICR_NMI		(4u << 8)	/* delivery mode NMI */
#define IOAPIC_BASE	0xfec00000u
#define PIT_CH0		0x40
#define PIT_CMD		0x43

#define VEC_NMI		2
#define VEC_IPI		0x40
#define VEC_SOFT	0x41

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

/* the NMI handler: its depth (2 means nested), and what it does */
static volatile uint32_t nmi_depth, nmi_nested, nmi_before_iret;
static volatile int nmi_send_inside;
static void nmi_record(void);

void irq_record(uint32_t vector, uint32_t eip);
void irq_record(uint32_t vector, uint32_t eip)
{
	irq_count[vector & 0xff]++;
	irq_eip[vector & 0xff] = eip;
	if (vector == VEC_IPI)
		*(volatile uint32_t *)(LAPIC_BASE + LAPIC_EOI) = 0;
	if (vector == VEC_NMI)
		nmi_record();
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
IRQ_STUB(stub_nmi, 2);
extern char stub_ipi[], stub_soft[], stub_bp[], stub_nmi[];

/* the framework's exception gates, then ours */
static void idt_init(void)
{
	struct desc_ptr p = idt_read();

	memcpy(idt, (const void *)p.base,
	       p.limit + 1u < sizeof(idt) ? p.limit + 1u : sizeof(idt));
	gate_set(idt, VEC_IPI, (uint32_t)stub_ipi, GATE_INT32);
	gate_set(idt, VEC_SOFT, (uint32_t)stub_soft, GATE_INT32);
	gate_set(idt, VEC_BP, (uint32_t)stub_bp, GATE_INT32);
	gate_set(idt, VEC_NMI, (uint32_t)stub_nmi, GATE_INT32);
}

static void load_idt(uint32_t base)
{
	idt_load(base, sizeof(idt) - 1);
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

/* CPUIDs: under a hypervisor each one exits (umbra intercepts them) */
static void exit_heavy(uint32_t n)
{
	struct cpuid_regs r;

	while (n--)
		cpuid(0, &r);
}

/* An NMI to this CPU's own APIC ID: the "self" shorthand does not take
 * the NMI delivery mode (SDM Vol 3 11.6.1) */
static void send_self_nmi(void)
{
	lapic_write(LAPIC_ICR_HI, lapic_read(LAPIC_ID) & 0xff000000u);
	lapic_write(LAPIC_ICR_LO, ICR_ASSERT | ICR_NMI);
}

static void nmi_record(void)
{
	if (nmi_depth++)
		nmi_nested++;
	if (nmi_send_inside && irq_count[VEC_NMI] == 1) {
		send_self_nmi();
		exit_heavy(200);
		nmi_before_iret = irq_count[VEC_NMI];
	}
	nmi_depth--;
}

/* I/O APIC pin as an edge NMI to this APIC (82093AA redirection entry:
 * delivery mode 100b, physical destination in bits 63:56), or masked */
static void ioapic_route(int pin, int on)
{
	volatile uint32_t *io = (volatile uint32_t *)IOAPIC_BASE;

	io[0] = 0x10 + 2 * pin + 1;
	io[4] = lapic_read(LAPIC_ID) & 0xff000000u;
	io[0] = 0x10 + 2 * pin;
	io[4] = on ? 0x400 | VEC_NMI : 0x10000;
}

/* 8254 read-back of channel 0's status: bit 7 is OUT */
static int pit_out(void)
{
	outb(PIT_CMD, 0xe2);
	return inb(PIT_CH0) >> 7;
}

/*
 * One PIT one-shot (8254 mode 0: OUT rises once, at the terminal count)
 * while the guest does CPUIDs.  The NMI may come later than OUT reads
 * high (QEMU raises it from its timer thread, late on a loaded host):
 * it has twenty times as long as the count took, and at least 2^29 TSC
 * cycles, to arrive; once it has, the loop goes on for as long as the
 * count took, to see that no second one follows.
 * Returns the NMIs counted.
 */
static uint32_t pit_nmi_round(uint16_t count)
{
	uint32_t n0 = irq_count[VEC_NMI];
	uint64_t t0, t1, t2, span, wait;

	outb(PIT_CMD, 0x30);			/* channel 0, lo/hi, mode 0 */
	t0 = rdtsc();
	outb(PIT_CH0, count & 0xff);
	outb(PIT_CH0, count >> 8);
	while (!pit_out() && rdtsc() - t0 < (1ull << 34))
		exit_heavy(4);
	t1 = rdtsc();
	span = t1 - t0 + 100000;
	wait = 20 * span > (1ull << 29) ? 20 * span : 1ull << 29;
	while (irq_count[VEC_NMI] == n0 && rdtsc() - t1 < wait)
		exit_heavy(4);
	t2 = rdtsc();
	while (rdtsc() - t2 < span)
		exit_heavy(4);
	return irq_count[VEC_NMI] - n0;
}

#define PIT_ROUNDS	16

static void check_pit_nmis(void)
{
	const char *name = "pit nmis during cpuid exits: each arrives once";
	uint32_t got[PIT_ROUNDS] = { 0 }, bad = 0, i;
	int pin;

	outb(0x21, 0xff);			/* the 8259s keep IRQ 0 */
	for (pin = 2; pin >= 0; pin -= 2) {	/* ISA IRQ 0: pin 2, or 0 */
		ioapic_route(pin, 1);
		if (pit_nmi_round(0x400))
			break;
		ioapic_route(pin, 0);
	}
	if (pin < 0) {
		check(0, name, "no NMI from the PIT through I/O APIC pin 2 or 0 "
		      "(lost, or routed elsewhere)");
		return;
	}
	/* up to the first round that does not see exactly one */
	for (i = 0; i < PIT_ROUNDS && !bad; i++) {
		got[i] = pit_nmi_round(0x2000);
		bad = got[i] != 1;
	}
	ioapic_route(pin, 0);
	check(!bad && !nmi_nested, name, "pin %d: round %u of %u saw %u NMIs "
	      "(want 1), %u nested", pin, i, PIT_ROUNDS, got[i - 1], nmi_nested);
}

static void check_nmi_in_handler(void)
{
	irq_count[VEC_NMI] = 0;
	nmi_before_iret = 0;
	nmi_send_inside = 1;
	send_self_nmi();
	exit_heavy(200);
	nmi_send_inside = 0;
	check(irq_count[VEC_NMI] == 2 && nmi_before_iret == 1 && !nmi_nested,
	      "nmi sent inside the nmi handler: arrives once, after its iret",
	      "%u NMIs, %u before the handler's iret, %u nested (want 2, 1, 0)",
	      irq_count[VEC_NMI], nmi_before_iret, nmi_nested);
}

static void check_nmis(int have_apic)
{
	if (!have_apic) {
		skip("nmis", "no local APIC (cpuid 1 edx bit 9)");
		return;
	}
	check_nmi_in_handler();
	check_pit_nmis();
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
	check_nmis(!!(r.edx & (1u << 9)));
}
