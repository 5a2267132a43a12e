// SPDX-License-Identifier: BSD-2-Clause
/*
 * misbehave: a guest that does what a hypervisor must survive, each time
 * checked against what the architecture says the CPU does:
 *
 *  - IA32_APIC_BASE: reserved bits and an invalid x2APIC state raise #GP
 *    (SDM Vol 3 11.4.4, 11.12.1, 11.12.5), a rewrite reads back, BSP is
 *    read-only;
 *  - the xAPIC window moved onto umbra's memory (cpuid 4000_0001h) and
 *    beyond RAM: umbra never lets the window cover its memory, keeps
 *    running, and injects nothing it read there.  The probe: with
 *    interrupts enabled, PAE paging and the IDT's gates 32-255 on a page
 *    of their own, each gate is read after an INVLPG of that page (its
 *    PTE's accessed flag cleared first), the read that shadow paging
 *    intercepts and mistakes, when the local APIC
 *    has that vector in service, for a lost interrupt (svm/svm.c).  No
 *    interrupt is pending anywhere, so none may arrive: with the window
 *    over umbra's memory, what umbra read there would come back as one;
 *  - INVD (exits unconditionally under VMX): the guest goes on;
 *  - SVM and VMX instructions, GETSEC: #UD, as on a CPU without SVM
 *    (EFER.SVME clear, APM Vol 2 15.4), outside VMX operation (SDM Vol 3
 *    25.1.2, Vol 2 VMX instructions) and with CR4.SMXE clear;
 *  - PAE paging with a reserved bit in a PDPTE in memory: toggling CR0.NE
 *    or CR0.WP loads no PDPTEs and raises nothing (SDM Vol 3 4.4.1); a
 *    MOV to CR3, setting CR0.PG (with an NE change) or a CR4.PGE change
 *    loads them: #GP on Intel; AMD may instead fault on the walk (#PF
 *    with RSVD, APM Vol 2 5.3);
 *  - Intel PT: under umbra CPUID shows none (leaf 7 EBX bit 25, leaf 14h)
 *    and IA32_RTIT_CTL #GPs on read and write, as on a CPU without PT;
 *  - the MSRs that route physical memory (AMD TOP_MEM, TOP_MEM2, IORR,
 *    SMM_ADDR; Intel SMRR): where a read #GPs a write does too; under
 *    umbra a changed value reads back as written and memory still works
 *    (umbra keeps it virtual; bare, no write is tried: it would reach the
 *    memory map);
 *  - CR4 reserved bits: #GP (bare QEMU TCG hangs on it: skipped there);
 *  - at the end umbra still answers CPUID.
 * Bare, the same checks hold (the umbra-only ones are skipped).
 */
#include "guest.h"
#include "trap.h"
#include "x86.h"

const char test_name[] = "misbehave";

#define PAGE		4096u

#define CR0_NE		(1u << 5)
#define CR4_VMXE	(1u << 13)
#define CR4_SMXE	(1u << 14)

#define APIC_BSP	(1ull << 8)
#define APIC_EXTD	(1ull << 10)
#define APIC_EN		(1ull << 11)
#define LAPIC_DEFAULT	0xfee00000u

#define ALIAS_VA	0x40000000u	/* PD 1, entry 0: a 4 KiB page table */
#define ALIAS_IDT	(ALIAS_VA + PAGE - 32 * 8)
#define ALIAS_GATES	(ALIAS_VA + PAGE)	/* gates 32-255 */
#define HIGH_VA		0xc0000000u	/* PDPTE 3 */

/* two pages: gates 0-31 at the end of the first, 32-255 in the second */
static struct gate idt_pages[1024] __attribute__((aligned(PAGE)));
#define IDT		(&idt_pages[512 - 32])
static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd[4][512] __attribute__((aligned(PAGE)));
static uint64_t alias_pt[512] __attribute__((aligned(PAGE)));

volatile uint32_t irq_total, irq_last;
uint64_t scratch_q[2] __attribute__((aligned(16)));

void irq_handler(uint32_t vector);
extern char irq_stubs_m[];

/* One 10-byte stub per interrupt vector 32-255: the vector, then common. */
asm(".text\n"
    "irq_stubs_m:\n"
    ".set vec, 32\n"
    ".rept 224\n"
    ".byte 0x68\n .long vec\n"
    ".byte 0xe9\n .long irq_common_m - . - 4\n"
    ".set vec, vec + 1\n"
    ".endr\n"
    "irq_common_m:\n"
    "pushal\n"
    "pushl 32(%esp)\n"
    "call irq_handler\n"
    "addl $4, %esp\n"
    "popal\n"
    "addl $4, %esp\n"
    "iret\n");

void irq_handler(uint32_t vector)
{
	irq_total++;
	irq_last = vector;
}

static void load_idt(uint32_t base)
{
	idt_load(base, 256 * 8 - 1);
}

static void idt_setup(void)
{
	int v;

	trap_idt_init(IDT);
	for (v = 32; v < 256; v++)
		gate_set(IDT, v, (uint32_t)irq_stubs_m + 10 * (v - 32),
			 GATE_INT32);
	load_idt((uint32_t)IDT);
}

TRAP_PROBE(do_invd, "invd")
TRAP_PROBE(do_vmrun, "xorl %%eax, %%eax\n\t.byte 0x0f, 0x01, 0xd8")
TRAP_PROBE(do_vmmcall, ".byte 0x0f, 0x01, 0xd9")
TRAP_PROBE(do_vmload, "xorl %%eax, %%eax\n\t.byte 0x0f, 0x01, 0xda")
TRAP_PROBE(do_vmsave, "xorl %%eax, %%eax\n\t.byte 0x0f, 0x01, 0xdb")
TRAP_PROBE(do_stgi, ".byte 0x0f, 0x01, 0xdc")
TRAP_PROBE(do_clgi, ".byte 0x0f, 0x01, 0xdd")
TRAP_PROBE(do_skinit, "xorl %%eax, %%eax\n\t.byte 0x0f, 0x01, 0xde")
TRAP_PROBE(do_invlpga, "xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\t.byte 0x0f, 0x01, 0xdf")
TRAP_PROBE(do_vmcall, ".byte 0x0f, 0x01, 0xc1")
TRAP_PROBE(do_vmlaunch, ".byte 0x0f, 0x01, 0xc2")
TRAP_PROBE(do_vmresume, ".byte 0x0f, 0x01, 0xc3")
TRAP_PROBE(do_vmxoff, ".byte 0x0f, 0x01, 0xc4")
TRAP_PROBE(do_vmxon, "vmxon scratch_q")
TRAP_PROBE(do_vmclear, "vmclear scratch_q")
TRAP_PROBE(do_vmptrld, "vmptrld scratch_q")
TRAP_PROBE(do_vmptrst, "vmptrst scratch_q")
TRAP_PROBE(do_vmread, "xorl %%eax, %%eax\n\tvmread %%eax, %%ecx")
TRAP_PROBE(do_vmwrite, "xorl %%eax, %%eax\n\tvmwrite %%ecx, %%eax")
TRAP_PROBE(do_invept, "movl $1, %%eax\n\tinvept scratch_q, %%eax")
TRAP_PROBE(do_invvpid, "movl $1, %%eax\n\tinvvpid scratch_q, %%eax")
TRAP_PROBE(do_vmfunc, "xorl %%eax, %%eax\n\t.byte 0x0f, 0x01, 0xd4")
TRAP_PROBE(do_getsec, "xorl %%eax, %%eax\n\t.byte 0x0f, 0x37")

/* ---- what the CPU is ---- */

static int intel, amd, qemu, x2apic, smx, skinit, pge;
static unsigned int maxphys;
static uint64_t umbra_base, umbra_size;

static void cpu_init(void)
{
	struct cpuid_regs r;
	uint32_t brand[13];
	int i;

	cpuid(0, &r);
	intel = r.ebx == 0x756e6547;	/* "Genu" */
	amd = r.ebx == 0x68747541;	/* "Auth" */
	cpuid(1, &r);
	x2apic = !!(r.ecx & (1u << 21));
	smx = !!(r.ecx & (1u << 6));
	pge = !!(r.edx & (1u << 13));
	cpuid(0x80000001, &r);
	skinit = !!(r.ecx & (1u << 12));
	cpuid(0x80000000, &r);
	maxphys = 36;
	if (r.eax >= 0x80000008) {
		struct cpuid_regs a;

		cpuid(0x80000008, &a);
		maxphys = a.eax & 0xff;
	}
	if (r.eax >= 0x80000004) {
		for (i = 0; i < 3; i++) {
			cpuid(0x80000002 + i, &r);
			memcpy(brand + 4 * i, &r, 16);
		}
		brand[12] = 0;
		qemu = !!strstr((char *)brand, "QEMU Virtual CPU");
	}
	if (under_umbra()) {
		cpuid(0x40000001, &r);
		umbra_base = ((uint64_t)r.ebx << 32) | r.eax;
		umbra_size = ((uint64_t)r.edx << 32) | r.ecx;
	}
	info("cpu: %s, qemu %d, maxphyaddr %u, x2apic %d, smx %d, skinit %d, umbra %#llx+%#llx",
	     intel ? "intel" : amd ? "amd" : "?", qemu, maxphys, x2apic, smx,
	     skinit, umbra_base, umbra_size);
}

/* ---- PAE paging: 0-4 GiB in 2 MiB pages, the IDT alias in 4 KiB ---- */

static uint32_t cr0_paged, cr4_paged;

static void paging_build(void)
{
	int i, j;

	for (i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd[i] | 1;
		for (j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)i << 30) | ((uint64_t)j << 21) |
				   0x83;	/* P, RW, PS */
	}
	alias_pt[0] = ((uint32_t)idt_pages) | 3;
	alias_pt[1] = ((uint32_t)idt_pages + PAGE) | 3;
	pd[1][0] = (uint32_t)alias_pt | 3;
}

static void paging_on(void)
{
	cr4_paged = read_cr4() | CR4_PAE;
	write_cr4(cr4_paged);
	asm volatile("mov %0, %%cr3" : : "r"((uint32_t)pdpt) : "memory");
	cr0_paged = read_cr0() | CR0_PG;
	write_cr0(cr0_paged);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PAE);
}

/* ---- the lost-interrupt probe (see the top) ---- */

static void mask_interrupts(void)
{
	volatile uint32_t *lapic = (volatile uint32_t *)LAPIC_DEFAULT;
	uint32_t max_lvt, reg;

	outb(0x21, 0xff);		/* both 8259s: everything masked */
	outb(0xa1, 0xff);
	if (!(rdmsr(MSR_APIC_BASE) & APIC_EN) ||
	    (rdmsr(MSR_APIC_BASE) & APIC_EXTD))
		return;
	max_lvt = (lapic[0x30 / 4] >> 16) & 0xff;
	for (reg = 0x320; reg <= 0x370 && (reg - 0x320) / 16 <= max_lvt; reg += 16)
		lapic[reg / 4] |= 1u << 16;	/* LVT timer..error: masked */
}

static uint32_t probe_lost_irq(void)
{
	uint32_t before = irq_total, v;

	load_idt(ALIAS_IDT);
	asm volatile("sti");
	for (v = 32; v < 256; v++) {
		/* A clear: the INVLPG drops the shadow entry, the read exits */
		*(volatile uint64_t *)&alias_pt[1] &= ~0x20ull;
		asm volatile("invlpg (%0)" : : "r"(ALIAS_GATES) : "memory");
		(void)*(volatile uint32_t *)(ALIAS_IDT + 8 * v);
	}
	asm volatile("cli");
	load_idt((uint32_t)IDT);
	return irq_total - before;
}

/* ---- IA32_APIC_BASE ---- */

static uint64_t apic_orig;

static void apic_base_rules(void)
{
	uint64_t v;
	uint32_t t;

	apic_orig = rdmsr(MSR_APIC_BASE);
	info("IA32_APIC_BASE %#llx", apic_orig);
	t = try_wrmsr(MSR_APIC_BASE, apic_orig);
	v = rdmsr(MSR_APIC_BASE);
	check(t == NO_TRAP && v == apic_orig, "apic base: rewriting it reads back "
	      "the same", "%s, reads %#llx", trap_text(t), v);

	if (qemu && !under_umbra()) {
		skip("apic base: reserved bits 7:0, 9, above maxphyaddr: #GP",
		     "bare QEMU TCG (7.2) does not check them");
	} else {
		uint32_t a = try_wrmsr(MSR_APIC_BASE, apic_orig | 1);
		uint32_t b = try_wrmsr(MSR_APIC_BASE, apic_orig | (1u << 9));
		uint32_t c = maxphys < 64 ? try_wrmsr(MSR_APIC_BASE, apic_orig |
						      (1ull << maxphys)) : VEC_GP;

		check(a == VEC_GP && b == VEC_GP && c == VEC_GP,
		      "apic base: reserved bits 7:0, 9, above maxphyaddr: #GP",
		      "bit 0: %s; bit 9: %s; bit %u: %s", trap_text(a),
		      trap_text(b), maxphys, trap_text(c));
		v = rdmsr(MSR_APIC_BASE);
		check(v == apic_orig, "apic base: unchanged by the refused writes",
		      "reads %#llx", v);
	}
	/* SDM Vol 3 11.12.1: EXTD without x2APIC support, or without EN */
	if (qemu && !under_umbra()) {
		skip("apic base: x2apic mode without support or enable: #GP",
		     "bare QEMU TCG (7.2) does not check it");
	} else {
		t = try_wrmsr(MSR_APIC_BASE, x2apic ?
			      (apic_orig & ~APIC_EN) | APIC_EXTD :
			      apic_orig | APIC_EXTD);
		check(t == VEC_GP, x2apic ? "apic base: x2apic mode with the apic "
		      "disabled (invalid state): #GP" : "apic base: x2apic mode "
		      "without cpuid x2apic: #GP", "%s", trap_text(t));
		v = rdmsr(MSR_APIC_BASE);
		check(v == apic_orig, "apic base: unchanged after the invalid "
		      "state", "reads %#llx", v);
	}
	t = try_wrmsr(MSR_APIC_BASE, apic_orig ^ APIC_BSP);
	v = rdmsr(MSR_APIC_BASE);
	if (t == NO_TRAP && v != apic_orig && !under_umbra()) {
		info("apic base: this emulator lets BSP be written (%#llx)", v);
		try_wrmsr(MSR_APIC_BASE, apic_orig);
		skip("apic base: the bsp flag is read-only",
		     "the emulator lets it change");
	} else {
		check(t == NO_TRAP && v == apic_orig, "apic base: the bsp flag is "
		      "read-only", "%s, reads %#llx", trap_text(t), v);
	}
}

/*
 * Move the window to base, probe, move it back.  want_moved: the
 * architecture lets it move there (beyond RAM); otherwise (umbra's
 * memory) it must stay off umbra's pages.
 */
static void apic_move(const char *what, uint64_t base, int want_moved)
{
	uint64_t mask = ((1ull << maxphys) - 1) & ~0xfffull, v;
	uint32_t t, irqs;
	char name[128];

	t = try_wrmsr(MSR_APIC_BASE, (apic_orig & ~mask) | base);
	v = rdmsr(MSR_APIC_BASE);
	snprintf(name, sizeof(name), "apic base %s: the write is taken", what);
	check(t == NO_TRAP, name, "%s", trap_text(t));
	if (want_moved) {
		snprintf(name, sizeof(name), "apic base %s: reads back the new base", what);
		if (qemu && (v & mask) == (base & 0xfffff000u))
			skip(name, "QEMU TCG keeps only bits 31:12 of the base");
		else
			check((v & mask) == base, name, "reads %#llx", v);
	} else {
		snprintf(name, sizeof(name), "apic base %s: the window never covers "
			 "umbra's memory", what);
		check((v & mask) + PAGE <= umbra_base ||
		      (v & mask) >= umbra_base + umbra_size, name,
		      "reads %#llx, umbra at %#llx+%#llx", v, umbra_base,
		      umbra_size);
	}
	paging_on();
	irqs = probe_lost_irq();
	paging_off();
	try_wrmsr(MSR_APIC_BASE, apic_orig);
	snprintf(name, sizeof(name), "apic base %s: no interrupt arrives that "
		 "nobody sent", what);
	check(irqs == 0, name, "%u interrupts, the last vector %#x", irqs,
	      irq_last);
	v = rdmsr(MSR_APIC_BASE);
	snprintf(name, sizeof(name), "apic base %s: moved back", what);
	check(v == apic_orig, name, "reads %#llx", v);
}

static void apic_window(void)
{
	uint32_t irqs;
	int i;

	mask_interrupts();
	paging_on();
	irqs = probe_lost_irq();
	paging_off();
	check(irqs == 0, "apic base where it is: no interrupt arrives that "
	      "nobody sent", "%u interrupts, the last vector %#x", irqs,
	      irq_last);
	if (!under_umbra() || !umbra_size) {
		skip("apic base on umbra's memory", "no hypervisor");
	} else {
		static const uint32_t pages[] = { 0, 1, 2, 3, 5, 8, 13, 21, 34,
						  55, 89, 144 };
		char what[64];

		for (i = 0; i < (int)ARRAY_SIZE(pages); i++) {
			uint64_t b = umbra_base + (uint64_t)pages[i] * PAGE;

			if (b >= umbra_base + umbra_size)
				break;
			snprintf(what, sizeof(what), "on umbra's page %u",
				 pages[i]);
			apic_move(what, b, 0);
		}
	}
	/* beyond RAM and beyond 4 GiB: the guest's to use */
	apic_move("beyond ram", 1ull << (maxphys - 1), 1);
}

/* ---- instructions ---- */

static void virt_insns(void)
{
	static const struct {
		const char *name;
		uint32_t (*fn)(void);
		int svm_stgi;	/* STGI/SKINIT: #UD only without SKINIT */
	} t[] = {
		{ "vmrun", do_vmrun, 0 }, { "vmmcall", do_vmmcall, 0 },
		{ "vmload", do_vmload, 0 }, { "vmsave", do_vmsave, 0 },
		{ "stgi", do_stgi, 1 }, { "clgi", do_clgi, 0 },
		{ "skinit", do_skinit, 1 }, { "invlpga", do_invlpga, 0 },
		{ "vmcall", do_vmcall, 0 }, { "vmlaunch", do_vmlaunch, 0 },
		{ "vmresume", do_vmresume, 0 }, { "vmxoff", do_vmxoff, 0 },
		{ "vmxon", do_vmxon, 0 }, { "vmclear", do_vmclear, 0 },
		{ "vmptrld", do_vmptrld, 0 }, { "vmptrst", do_vmptrst, 0 },
		{ "vmread", do_vmread, 0 }, { "vmwrite", do_vmwrite, 0 },
		{ "invept", do_invept, 0 }, { "invvpid", do_invvpid, 0 },
		{ "vmfunc", do_vmfunc, 0 }, { "getsec", do_getsec, 0 },
	};
	char name[64];
	uint32_t r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		snprintf(name, sizeof(name), "%s: #UD", t[i].name);
		if (t[i].svm_stgi && skinit) {
			skip(name, "cpuid reports SKINIT: it is not #UD then");
			continue;
		}
		r = t[i].fn();
		check(r == VEC_UD, name, "%s", trap_text(r));
	}
	r = do_invd();
	check(r == NO_TRAP, "invd: executes, the guest goes on", "%s",
	      trap_text(r));
	scratch_q[0] = 0x1234;
	r = do_invd();
	check(r == NO_TRAP && scratch_q[0] == 0x1234, "invd twice: memory "
	      "written before it is still there (no cache modelled)",
	      "%s, %#llx", trap_text(r), scratch_q[0]);
}

/* ---- PAE with a reserved bit in a PDPTE in memory ---- */

static int pdpte_load_ok(uint32_t t, const char *name, const char *how)
{
	uint32_t r;

	if (t == VEC_GP)
		return check(1, name, NULL);
	if (t != NO_TRAP || intel)
		return check(0, name, "%s: %s (want #GP)", how, trap_text(t));
	/*
	 * AMD: no PDPTE load, the walk through the bad entry faults with
	 * RSVD (QEMU TCG leaves P clear in that error code)
	 */
	r = try_read(HIGH_VA);
	return check(r == VEC_PF && (trap_err & 8) && trap_cr2 == HIGH_VA,
		     name, "%s: no #GP, then a read through the pdpte: %s",
		     how, trap_text(r));
}

static void pae_pdpte(void)
{
	uint64_t good = pdpt[3], bad;
	uint32_t t, t2;
	int deviation;

	if (maxphys >= 52) {
		skip("pae: reserved pdpte bit", "MAXPHYADDR is 52");
		return;
	}
	bad = good | (1ull << maxphys);
	paging_on();
	pdpt[3] = bad;
	/* NE and WP toggles: no PDPTE load (SDM Vol 3 4.4.1) */
	t = try_cr0(cr0_paged ^ CR0_NE);
	if (t == NO_TRAP)
		try_cr0(cr0_paged);
	t2 = try_cr0(cr0_paged ^ CR0_WP);
	if (t2 == NO_TRAP)
		try_cr0(cr0_paged);
	/*
	 * Bochs checks the PDPTEs on every MOV to CR0 it executes (a
	 * deviation).  Under umbra on Intel (VMX) umbra owns CR0.NE and
	 * emulates every NE toggle (and every CR0 write under shadow
	 * paging): there the NE check is strict.
	 */
	deviation = !qemu && t == VEC_GP && !(under_umbra() && intel);
	if (deviation)
		skip("pae: cr0.ne toggle with a bad pdpte in memory: no fault",
		     "Bochs checks the pdptes on every cr0 write (emulator "
		     "deviation)");
	else
		check(t == NO_TRAP, "pae: cr0.ne toggle with a bad pdpte in "
		      "memory: no fault", "%s", trap_text(t));
	if (!qemu && t2 == VEC_GP)
		skip("pae: cr0.wp toggle with a bad pdpte in memory: no fault",
		     "Bochs checks the pdptes on every cr0 write (emulator "
		     "deviation)");
	else
		check(t2 == NO_TRAP, "pae: cr0.wp toggle with a bad pdpte in "
		      "memory: no fault", "%s", trap_text(t2));
	t = try_read((uint32_t)&pdpt[0]);
	check(t == NO_TRAP, "pae: the guest runs on after the toggles", "%s",
	      trap_text(t));

	/* MOV to CR3 loads them */
	t = try_cr3((uint32_t)pdpt);
	pdpte_load_ok(t, "pae: mov to cr3 with a bad pdpte: #GP", "mov cr3");
	pdpt[3] = good;
	try_cr3((uint32_t)pdpt);

	/* CR4.PGE changes load them */
	if (pge) {
		pdpt[3] = bad;
		t = try_cr4(cr4_paged | CR4_PGE);
		pdpte_load_ok(t, "pae: cr4.pge set with a bad pdpte: #GP",
			      "cr4.pge");
		pdpt[3] = good;
		try_cr4(cr4_paged);
		try_cr3((uint32_t)pdpt);
	}

	/* setting CR0.PG loads them, also when NE changes with it */
	paging_off();
	write_cr4(read_cr4() | CR4_PAE);
	asm volatile("mov %0, %%cr3" : : "r"((uint32_t)pdpt) : "memory");
	pdpt[3] = bad;
	t = try_cr0(cr0_paged);
	pdpte_load_ok(t, "pae: cr0.pg set with a bad pdpte: #GP", "cr0.pg");
	if (t == NO_TRAP)
		write_cr0(cr0_paged & ~CR0_PG);
	t = try_cr0(cr0_paged ^ CR0_NE);
	pdpte_load_ok(t, "pae: cr0.pg set and cr0.ne toggled with a bad "
		      "pdpte: #GP", "cr0.pg+ne");
	if (t == NO_TRAP)
		write_cr0((cr0_paged ^ CR0_NE) & ~CR0_PG);
	write_cr0(cr0_paged & ~CR0_PG);
	pdpt[3] = good;
	write_cr4(read_cr4() & ~CR4_PAE);
	check(!(read_cr0() & CR0_PG), "pae: the guest runs on after the loads",
	      NULL);
}

/* ---- Intel PT ---- */

#define CPUID7_EBX_PT	(1u << 25)
#define MSR_RTIT_CTL	0x570

static void intel_pt(void)
{
	struct cpuid_regs r;
	uint32_t max, t_rd, t_wr;
	uint64_t v;
	int pt = 0;

	cpuid(0, &r);
	max = r.eax;
	if (max >= 7) {
		cpuid_count(7, 0, &r);
		pt = !!(r.ebx & CPUID7_EBX_PT);
	}
	if (under_umbra()) {
		check(!pt, "intel pt: cpuid leaf 7 hides it", "ebx %#x", r.ebx);
		if (max >= 0x14) {
			cpuid_count(0x14, 0, &r);
			check(!r.eax && !r.ebx && !r.ecx && !r.edx,
			      "intel pt: cpuid leaf 14h is empty",
			      "%#x %#x %#x %#x", r.eax, r.ebx, r.ecx, r.edx);
		} else {
			skip("intel pt: cpuid leaf 14h is empty",
			     "max basic leaf below 14h");
		}
	} else {
		info("intel pt: cpuid says %d", pt);
	}
	if (pt && !under_umbra()) {
		skip("intel pt: rtit_ctl read and write: #GP", "the cpu has pt");
		return;
	}
	t_rd = try_rdmsr(MSR_RTIT_CTL, &v);
	t_wr = try_wrmsr(MSR_RTIT_CTL, 0);
	if (!under_umbra() && (t_rd != VEC_GP || t_wr != VEC_GP)) {
		info("intel pt: rtit_ctl read: %s, write: %s", trap_text(t_rd),
		     trap_text(t_wr));
		skip("intel pt: rtit_ctl read and write: #GP", "this emulator "
		     "does not #GP on MSRs it lacks");
		return;
	}
	check(t_rd == VEC_GP && t_wr == VEC_GP,
	      "intel pt: rtit_ctl read and write: #GP", "read: %s, write: %s",
	      trap_text(t_rd), trap_text(t_wr));
}

/* ---- MSRs that route physical memory ---- */

static volatile uint32_t mem_probe[1024];

static int memory_works(void)
{
	uint32_t i, bad = 0;

	for (i = 0; i < 1024; i++)
		mem_probe[i] = i * 0x9e3779b9u;
	for (i = 0; i < 1024; i++)
		bad += mem_probe[i] != i * 0x9e3779b9u;
	return !bad;
}

static void routing_msr(const char *name, uint32_t msr, uint64_t flip)
{
	char what[96];
	uint64_t orig, v;
	uint32_t t;

	t = try_rdmsr(msr, &orig);
	if (t != NO_TRAP) {
		uint32_t w = try_wrmsr(msr, 0);

		snprintf(what, sizeof(what), "%s: absent (read #GPs): a write "
			 "#GPs too", name);
		check(t == VEC_GP && w == VEC_GP, what, "read: %s, write: %s",
		      trap_text(t), trap_text(w));
		return;
	}
	info("%s: %#llx", name, orig);
	snprintf(what, sizeof(what), "%s: a changed value reads back and "
		 "memory still works", name);
	if (!under_umbra()) {
		skip(what, "bare, the write would reach the memory map");
		return;
	}
	t = try_wrmsr(msr, orig ^ flip);
	v = 0;
	if (t == NO_TRAP)
		t = try_rdmsr(msr, &v);
	check(t == NO_TRAP && v == (orig ^ flip) && memory_works(), what,
	      "%s, reads %#llx, wrote %#llx", trap_text(t), v, orig ^ flip);
	t = try_wrmsr(msr, orig);
	v = 0;
	if (t == NO_TRAP)
		t = try_rdmsr(msr, &v);
	snprintf(what, sizeof(what), "%s: restored", name);
	check(t == NO_TRAP && v == orig, what, "%s, reads %#llx", trap_text(t),
	      v);
}

static void memory_routing(void)
{
	if (amd) {
		routing_msr("amd top_mem", 0xc001001a, 1ull << 24);
		routing_msr("amd top_mem2", 0xc001001d, 1ull << 32);
		routing_msr("amd iorr_base0", 0xc0010016, 1ull << 24);
		routing_msr("amd smm_addr", 0xc0010112, 1ull << 24);
	} else if (intel) {
		routing_msr("intel smrr_physbase", 0x1f2, 1ull << 24);
	} else {
		skip("memory routing msrs", "neither intel nor amd");
	}
	check(memory_works(), "memory works after the routing msrs", NULL);
}

/* ---- CR4 reserved bits ---- */

static void cr4_reserved(void)
{
	uint32_t cr4 = read_cr4(), t;

	if (qemu && !under_umbra()) {
		skip("cr4: reserved bit 15: #GP", "bare QEMU TCG does not "
		     "check it (the guest hangs)");
		skip("cr4: bit 31: #GP", "bare QEMU TCG does not check it");
	} else {
		t = try_cr4(cr4 | (1u << 15));
		check(t == VEC_GP, "cr4: reserved bit 15: #GP", "%s",
		      trap_text(t));
		t = try_cr4(cr4 | (1u << 31));
		check(t == VEC_GP, "cr4: bit 31: #GP", "%s", trap_text(t));
	}
	if (under_umbra()) {
		t = try_cr4(cr4 | CR4_VMXE);
		check(t == VEC_GP, "cr4: vmxe (cpuid hides vmx): #GP", "%s",
		      trap_text(t));
	}
	if (!smx && !(qemu && !under_umbra())) {
		t = try_cr4(cr4 | CR4_SMXE);
		check(t == VEC_GP, "cr4: smxe without cpuid smx: #GP", "%s",
		      trap_text(t));
	}
	check(read_cr4() == cr4, "cr4: unchanged by the refused writes",
	      "%#x, was %#x", read_cr4(), cr4);
}

/*
 * SMSW (SDM Vol 2 "SMSW"): the CR0 read intercept of SVM's shadow paging
 * takes it (APM Vol 2 15.9), umbra must do what the CPU does: to memory 16
 * bits, to a 16-bit register its low half, to a 32-bit one CR0 whole (as
 * the CPUs and both emulators do where the SDM says "undefined").
 */
static void smsw_forms(void)
{
	uint32_t cr0 = read_cr0(), r32 = 0, r16 = 0xdead0000u;
	uint16_t m[2] = { 0x5a5a, 0xa5a5 };

	asm volatile("smsw %0" : "=r"(r32));
	check(r32 == cr0, "smsw r32: CR0", "%#x, CR0 %#x", r32, cr0);
	asm volatile("smsw %w0" : "+r"(r16));
	check(r16 == (0xdead0000u | (cr0 & 0xffff)),
	      "smsw r16: the low half, the upper bits kept", "%#x, CR0 %#x",
	      r16, cr0);
	asm volatile("smsw %0" : "=m"(m[0]));
	check(m[0] == (uint16_t)cr0 && m[1] == 0xa5a5,
	      "smsw m16: two bytes of CR0, the next untouched", "%#x %#x",
	      m[0], m[1]);
}

static void still_there(void)
{
	struct cpuid_regs r;
	char sig[13];

	if (!under_umbra()) {
		skip("umbra still answers cpuid", "no hypervisor");
		return;
	}
	cpuid(0x40000000, &r);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	check(!strcmp(sig, "UMBRA-X86-HV"), "umbra still answers cpuid",
	      "\"%s\"", sig);
}

void test_main(void)
{
	idt_setup();
	cpu_init();
	paging_build();
	apic_base_rules();
	virt_insns();
	pae_pdpte();
	cr4_reserved();
	intel_pt();
	memory_routing();
	smsw_forms();
	apic_window();
	still_there();
}
