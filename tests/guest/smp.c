// SPDX-License-Identifier: BSD-2-Clause
/*
 * smp: the guest starts its application processors the standard way and
 * runs on all of them (bare, and under umbra, which must start them inside
 * its own vCPUs: arch/x86/vcpu/smp.c).
 *
 * 1. The APs come from the ACPI MADT (the RSDP in the BIOS areas, ACPI 6.5
 *    5.2.5.1; Processor Local APIC entries, enabled or online-capable).
 * 2. Each is started with INIT, SIPI, SIPI through the xAPIC ICR (SDM
 *    Vol 3 10.4.4.1, 11.6.1) at the trampoline smp_asm.asm copies to
 *    0x8000, which enters protected mode and calls ap_main().
 * 3. Each AP: LOCK XADD for its index, its APIC ID in its slot; the BSP
 *    and all APs add to one counter with LOCK at the same time; the AP
 *    turns paging on (the BSP's 4 MiB-page identity tables) and writes a
 *    page that is not present yet: its #PF handler asks the BSP, which
 *    maps a page of its own for it, and the write retried lands there;
 *    then the AP looks for umbra's image marker in umbra's memory (CPUID
 *    4000_0001h), which it must not find, as memory.elf checks on the BSP.
 * 4. A second round starts every AP again, now that each runs (halted
 *    in this kernel): INIT must reset a running CPU to wait-for-SIPI, the
 *    SIPI start it at the trampoline again.  Through the x2APIC ICR (MSR
 *    830h, SDM Vol 3 11.12.9) when CPUID.1:ECX[21] says there is one (the
 *    BSP switches to x2APIC mode), else through the xAPIC ICR again.
 *    Before the second round each AP, and the BSP, which then keeps
 *    paging on, have read RM_VA through a page table below 1 MiB (RM_PT,
 *    page A); the trampoline of round 2 rewrites that entry in real mode
 *    (page B), and the AP, paging on again with the same tables, must
 *    read B, as the BSP after an INVLPG (bare, a TLB holds nothing across
 *    INIT; under umbra's shadow paging on VMX the real-mode write goes
 *    through the EPT map and must still reach the shadow MMU, whose
 *    tables the BSP keeps alive: shadow.c).
 * 5. Bad input gets what the hardware does: a SIPI alone to an AP that runs
 *    (not in wait-for-SIPI) and one to an APIC ID no CPU has are ignored
 *    (SDM Vol 3 10.4.4): no AP starts again, and the BSP goes on.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "smp";

#define AP_BASE		0x8000u		/* smp_asm.asm */
#define AP_MAX		16
#define APIC_DEFAULT	0xfee00000u
#define ICR_LO		0x300
#define ICR_HI		0x310
#define ICR_BUSY	(1u << 12)
#define ICR_INIT	0x00004500u	/* INIT, level assert */
#define ICR_SIPI	0x00004600u	/* start-up, level assert */
#define ADDS		20000u
#define FAULT_VA	0x70000000u	/* + index * 4 KiB: not present */
#define PTE_P		1u
#define PTE_W		2u
#define PTE_PS		(1u << 7)
#define PTE_PCD		(1u << 4)
#define SLOT_MAGIC	0x5a000000u
#define LONG_WAIT	(1u << 26)	/* pause loops: about a second under TCG */
#define MSR_X2APIC_ICR	0x830u
#define APIC_BASE_EXTD	(1u << 10)
#define CPUID1_X2APIC	(1u << 21)
#define RM_PT		0x9000u		/* a page table real mode can write */
#define RM_VA		0x60000000u	/* mapped through it, entry 0 */
#define RM_MAGIC_A	0x41414141u
#define RM_MAGIC_B	0x42424242u

extern char ap_blob[], ap_blob_end[], ap_poke_seg[], ap_poke_val[];
extern volatile uint32_t ap_next_stack;
void ap_main(void);

static uint32_t ap_ids[AP_MAX];
static int nr_aps;
static volatile uint32_t apic_base = APIC_DEFAULT;
static volatile uint32_t counter, started, go;
static volatile uint32_t slot[AP_MAX];
static volatile uint32_t fault_req[AP_MAX], fault_cr2[AP_MAX], fault_done[AP_MAX];
static volatile uint32_t umbra_seen[AP_MAX], ap_done[AP_MAX];
static volatile uint32_t round2, restarted[AP_MAX];
static volatile uint32_t rm_before[AP_MAX], rm_after[AP_MAX];
static uint32_t bsp_rm_before;
static int rm_pt_ok;			/* RM_PT is usable RAM: the check runs */
static uint8_t rm_pages[2][4096] __attribute__((aligned(4096)));
static int x2apic;
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static uint8_t fault_pages[AP_MAX][4096] __attribute__((aligned(4096)));

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type;
	uint16_t off_hi;
} __attribute__((packed));

struct iret_frame;
static struct idt_gate ap_idt[32] __attribute__((aligned(8)));

static inline uint32_t read_cr2(void)
{
	uint32_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static uint32_t apic_id_self(void)
{
	struct cpuid_regs r;

	cpuid(1, &r);
	return r.ebx >> 24;
}

static int my_index(void)
{
	uint32_t id = apic_id_self();

	for (int i = 0; i < nr_aps; i++)
		if (ap_ids[i] == id)
			return i;
	return -1;
}

/* The AP's #PF: the BSP maps the page; the faulting write then retries. */
__attribute__((interrupt)) static void ap_pf(struct iret_frame *f, uint32_t error)
{
	int i = my_index();

	(void)f;
	(void)error;
	if (i < 0 || fault_req[i])	/* unexpected, or a second one: stop here */
		for (;;)
			asm volatile("cli; hlt");
	fault_cr2[i] = read_cr2();
	__atomic_store_n(&fault_req[i], 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&fault_done[i], __ATOMIC_SEQ_CST))
		cpu_relax();
}

/* umbra's image marker, XOR 0x5a (memory.c: the plain string would be in this kernel) */
static const uint8_t marker_x[] = {
	'U' ^ 0x5a, 'M' ^ 0x5a, 'B' ^ 0x5a, 'R' ^ 0x5a, 'A' ^ 0x5a, '-' ^ 0x5a,
	'C' ^ 0x5a, 'O' ^ 0x5a, 'R' ^ 0x5a, 'E' ^ 0x5a, '-' ^ 0x5a, 'I' ^ 0x5a,
	'M' ^ 0x5a, 'A' ^ 0x5a, 'G' ^ 0x5a, 'E' ^ 0x5a,
};

/* Does [base, end) hold the marker at an 8-byte boundary?  The x86-64
   psABI aligns a global array of 16 bytes or more to 16 (3.1.2). */
static int find_marker(uint32_t base, uint64_t end)
{
	for (uint32_t p = base; p + sizeof(marker_x) <= end; p += 8) {
		const volatile uint8_t *s = (const volatile uint8_t *)p;
		unsigned int n = 0;

		while (n < sizeof(marker_x) && (uint8_t)(s[n] ^ 0x5a) == marker_x[n])
			n++;
		if (n == sizeof(marker_x))
			return 1;
	}
	return 0;
}

static int bsp_under_umbra;

/* 1: umbra's marker found in its memory; 0: not; 2: nothing to look at;
   3: the AP runs outside umbra while the BSP runs under it */
static uint32_t scan_umbra(void)
{
	struct cpuid_regs r;
	uint64_t base, size;

	if (!under_umbra())
		return bsp_under_umbra ? 3 : 2;
	cpuid(0x40000001, &r);
	base = ((uint64_t)r.ebx << 32) | r.eax;
	size = ((uint64_t)r.edx << 32) | r.ecx;
	if (!size || base + size > 0x100000000ull)
		return 2;
	return (uint32_t)find_marker((uint32_t)base, base + size);
}

/* The scan itself finds a copy it can read (so that "not found" means something). */
static int scan_works(void)
{
	static uint8_t copy[32] __attribute__((aligned(16)));
	int found;

	for (unsigned int n = 0; n < sizeof(marker_x); n++)
		copy[8 + n] = marker_x[n] ^ 0x5a;
	found = find_marker((uint32_t)copy, (uint32_t)copy + sizeof(copy));
	memset(copy, 0, sizeof(copy));
	return found;
}

static void set_gate(int vec, void *handler)
{
	uint32_t a = (uint32_t)handler;

	ap_idt[vec] = (struct idt_gate){ a & 0xffff, 0x08, 0, 0x8e, a >> 16 };
}

static void ap_paging_on(void)
{
	write_cr4(read_cr4() | CR4_PSE);
	asm volatile("mov %0, %%cr3" : : "r"((uint32_t)pd) : "memory");
	write_cr0(read_cr0() | CR0_PG);
}

void ap_main(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = {
		sizeof(ap_idt) - 1, (uint32_t)ap_idt };
	int i = my_index();

	asm volatile("lidt %0" : : "m"(idtr));
	if (round2 && i >= 0) {
		if (rm_pt_ok) {		/* the trampoline rewrote RM_PT's entry */
			ap_paging_on();
			rm_after[i] = *(volatile uint32_t *)RM_VA;
		}
		__atomic_store_n(&restarted[i], 1, __ATOMIC_SEQ_CST);
		halt_forever();
	}
	__atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
	if (i < 0)
		halt_forever();
	slot[i] = SLOT_MAGIC | apic_id_self();
	while (!go)
		cpu_relax();
	for (uint32_t n = 0; n < ADDS; n++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);	/* LOCK XADD */
	ap_paging_on();
	*(volatile uint32_t *)(FAULT_VA + i * 4096u) = SLOT_MAGIC | (uint32_t)i;
	if (rm_pt_ok)
		rm_before[i] = *(volatile uint32_t *)RM_VA;
	umbra_seen[i] = scan_umbra();
	__atomic_store_n(&ap_done[i], 1, __ATOMIC_SEQ_CST);
	halt_forever();
}

/* A low physical address, hidden from gcc's bounds warnings */
static const void *phys(uint32_t a)
{
	asm("" : "+r"(a));
	return (const void *)a;
}

static const struct acpi_hdr {
	char sig[4];
	uint32_t len;
	uint8_t rev, sum;
	char oem[6], table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed)) *find_rsdt(void)
{
	/* ACPI 6.5 5.2.5.1: the first KiB of the EBDA, then E0000h-FFFFFh */
	uint32_t ebda = (uint32_t)*(const volatile uint16_t *)phys(0x40e) << 4;
	uint32_t areas[2][2] = { { ebda, ebda + 1024 }, { 0xe0000, 0x100000 } };

	for (int a = 0; a < 2; a++)
		for (uint32_t p = areas[a][0]; p && p < areas[a][1]; p += 16)
			if (!memcmp(phys(p), "RSD PTR ", 8))
				return phys(*(const uint32_t *)phys(p + 16));
	return NULL;
}

/* The Processor Local APIC entries of the MADT (ACPI 6.5 5.2.12.2). */
static int find_aps(void)
{
	const struct acpi_hdr *rsdt = find_rsdt(), *madt = NULL;
	uint32_t self = apic_id_self();

	if (!rsdt || memcmp(rsdt->sig, "RSDT", 4))
		return -1;
	for (uint32_t *e = (uint32_t *)(rsdt + 1); (char *)e < (char *)rsdt + rsdt->len; e++)
		if (!memcmp(phys(*e), "APIC", 4))
			madt = phys(*e);
	if (!madt)
		return -1;
	apic_base = *(const uint32_t *)(madt + 1);
	for (const uint8_t *p = (const uint8_t *)(madt + 1) + 8;
	     p < (const uint8_t *)madt + madt->len && p[1] >= 2; p += p[1])
		if (p[0] == 0 && (*(const uint32_t *)(p + 4) & 3) && p[3] != self &&
		    nr_aps < AP_MAX)
			ap_ids[nr_aps++] = p[3];
	return nr_aps;
}

static void icr_send(uint32_t dest, uint32_t low)
{
	volatile uint32_t *apic = (volatile uint32_t *)apic_base;

	if (x2apic) {		/* one MSR write sends it; no delivery status */
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | low);
		return;
	}
	apic[ICR_HI / 4] = dest << 24;
	apic[ICR_LO / 4] = low;
	for (uint32_t n = 0; n < LONG_WAIT && (apic[ICR_LO / 4] & ICR_BUSY); n++)
		cpu_relax();
}

/* loops of PAUSE, or fewer once *flag moves past before */
static void spin(uint32_t loops, volatile uint32_t *flag, uint32_t before)
{
	for (uint32_t n = 0; n < loops && *flag == before; n++)
		cpu_relax();
}

/* SDM Vol 3 10.4.4.1: INIT, a pause, SIPI, a shorter pause, SIPI */
static void start_ap(uint32_t id, volatile uint32_t *flag)
{
	uint32_t before = *flag;

	icr_send(id, ICR_INIT);
	for (uint32_t n = 0; n < 100000; n++)
		cpu_relax();
	for (int s = 0; s < 2 && *flag == before; s++) {
		icr_send(id, ICR_SIPI | (AP_BASE >> 12));
		spin(s ? LONG_WAIT : 20000, flag, before);
	}
}

/* The multiboot map says RM_PT's page is usable RAM. */
static int rm_pt_usable(void)
{
	for (int i = 0; i < boot.nr_mmap; i++) {
		const struct mmap_entry *e = &boot.mmap[i];

		if (e->type == MB_MEM_USABLE && e->base <= RM_PT &&
		    e->base + e->len >= RM_PT + 4096)
			return !boot_is_excluded(RM_PT, RM_PT + 4096);
	}
	return 0;
}

static void build_tables(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pd[i] = (i << 22) | PTE_PS | PTE_W | PTE_P | (i >= 0x300 ? PTE_PCD : 0);
	pd[FAULT_VA >> 22] = (uint32_t)pt | PTE_W | PTE_P;
	rm_pt_ok = rm_pt_usable();
	if (!rm_pt_ok)
		return;
	*(uint32_t *)rm_pages[0] = RM_MAGIC_A;
	*(uint32_t *)rm_pages[1] = RM_MAGIC_B;
	memset((void *)phys(RM_PT), 0, 4096);
	*(volatile uint32_t *)phys(RM_PT) = (uint32_t)rm_pages[0] | PTE_W | PTE_P;
	pd[RM_VA >> 22] = RM_PT | PTE_W | PTE_P;
}

/* Round 2's trampoline stores page B's entry into RM_PT in real mode. */
static void set_rm_poke(void)
{
	uint8_t *copy = (uint8_t *)phys(AP_BASE);

	ap_paging_on();			/* the BSP too, from now on */
	bsp_rm_before = *(volatile uint32_t *)RM_VA;
	*(uint32_t *)(copy + (ap_poke_val - ap_blob)) =
		(uint32_t)rm_pages[1] | PTE_W | PTE_P;
	*(uint16_t *)(copy + (ap_poke_seg - ap_blob)) = RM_PT >> 4;
}

/* After round 2: each AP read A before it, B after its real-mode write. */
static void rm_pte_check(void)
{
	if (!rm_pt_ok) {
		skip("AP's real-mode write to its page table is seen",
		     "no usable RAM at 0x9000-0x9fff");
		return;
	}
	uint32_t bsp_after;

	asm volatile("invlpg (%0)" : : "r"(RM_VA) : "memory");
	bsp_after = *(volatile uint32_t *)RM_VA;
	check(bsp_rm_before == RM_MAGIC_A && bsp_after == RM_MAGIC_B,
	      "BSP sees an AP's real-mode write to its page table (INVLPG)",
	      "read %#x before, %#x after (want %#x, %#x)", bsp_rm_before,
	      bsp_after, RM_MAGIC_A, RM_MAGIC_B);
	for (int i = 0; i < nr_aps; i++)
		check(rm_before[i] == RM_MAGIC_A && rm_after[i] == RM_MAGIC_B,
		      "AP's real-mode write to its page table is seen",
		      "AP %u: read %#x before, %#x after (want %#x, %#x)",
		      ap_ids[i], rm_before[i], rm_after[i], RM_MAGIC_A,
		      RM_MAGIC_B);
}

/* Serve the APs' page faults until every AP is done or time runs out. */
static void serve_faults(void)
{
	for (uint32_t n = 0; n < LONG_WAIT; n++) {
		int done = 0;

		for (int i = 0; i < nr_aps; i++) {
			if (fault_req[i] && !fault_done[i]) {
				pt[i] = (uint32_t)fault_pages[i] | PTE_W | PTE_P;
				__atomic_store_n(&fault_done[i], 1, __ATOMIC_SEQ_CST);
			}
			done += ap_done[i];
		}
		if (done == nr_aps)
			return;
		cpu_relax();
	}
}

static void check_aps(void)
{
	for (int i = 0; i < nr_aps; i++) {
		uint32_t want = FAULT_VA + i * 4096u;
		uint32_t got = *(volatile uint32_t *)fault_pages[i];

		check(slot[i] == (SLOT_MAGIC | ap_ids[i]), "AP writes its per-CPU slot",
		      "AP %u: slot %#x", ap_ids[i], slot[i]);
		check(fault_req[i] && fault_cr2[i] == want, "AP takes #PF on the page the BSP maps",
		      "AP %u: fault %u, cr2 %#x (want %#x)", ap_ids[i], fault_req[i],
		      fault_cr2[i], want);
		check(got == (SLOT_MAGIC | (uint32_t)i), "AP's retried write lands in the BSP's page",
		      "AP %u: page holds %#x", ap_ids[i], got);
		check(umbra_seen[i] != 3, "AP runs under umbra as the BSP does",
		      "AP %u: no umbra in its CPUID: it runs on the bare CPU", ap_ids[i]);
		if (umbra_seen[i] == 3)
			continue;
		if (umbra_seen[i] == 2)
			skip("AP cannot read umbra's memory", "not under umbra (or umbra above 4 GiB)");
		else
			check(ap_done[i] && !umbra_seen[i], "AP cannot read umbra's memory",
			      "AP %u: done %u, marker %s", ap_ids[i], ap_done[i],
			      umbra_seen[i] ? "found" : "not found");
	}
}

/* Round 2: INIT-SIPI-SIPI to APs that run (x2APIC if there is one). */
static void restart_aps(void)
{
	struct cpuid_regs r;
	int again = 0;

	cpuid(1, &r);
	if (r.ecx & CPUID1_X2APIC) {
		wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
		x2apic = 1;
	}
	info("round 2 through the %s ICR", x2apic ? "x2APIC" : "xAPIC");
	if (rm_pt_ok)
		set_rm_poke();
	round2 = 1;
	for (int i = 0; i < nr_aps; i++) {
		start_ap(ap_ids[i], &restarted[i]);
		again += restarted[i];
	}
	check(again == nr_aps, x2apic ? "INIT-SIPI-SIPI restarts running APs (x2APIC)" :
	      "INIT-SIPI-SIPI restarts running APs (xAPIC)", "%d of %d", again, nr_aps);
	if (!x2apic)
		skip("x2APIC INIT-SIPI-SIPI", "CPUID.1:ECX[21] clear: no x2APIC on this CPU");
	rm_pte_check();
}

/* Round 3: SIPIs that no CPU may take. */
static void stray_sipis(void)
{
	uint32_t absent = apic_id_self() + 1, again = 0;

	for (int i = 0; i < nr_aps; i++) {
		restarted[i] = 0;
		absent = ap_ids[i] >= absent ? ap_ids[i] + 1 : absent;
	}
	for (int i = 0; i < nr_aps; i++)
		icr_send(ap_ids[i], ICR_SIPI | (AP_BASE >> 12));
	icr_send(absent, ICR_SIPI | (AP_BASE >> 12));
	spin(LONG_WAIT / 64, &started, started);	/* time for a wrong start */
	for (int i = 0; i < nr_aps; i++)
		again += restarted[i];
	check(!again, "a SIPI to a running AP or an absent APIC ID starts nothing",
	      "%u APs started again (absent APIC ID %#x)", again, absent);
}

void test_main(void)
{
	int n = find_aps();

	bsp_under_umbra = under_umbra();
	if (!check(n > 0, "MADT lists application processors", "%d APs (-1: no RSDP/MADT)", n))
		return;
	info("%d APs in the MADT, local APIC at %#x", n, apic_base);
	set_gate(14, (void *)ap_pf);
	build_tables();
	memcpy((void *)phys(AP_BASE), ap_blob, ap_blob_end - ap_blob);
	for (int i = 0; i < nr_aps; i++)
		start_ap(ap_ids[i], &started);
	for (uint32_t w = 0; w < LONG_WAIT && started < (uint32_t)nr_aps; w++)
		cpu_relax();
	check(started == (uint32_t)nr_aps, "every AP starts (INIT-SIPI-SIPI, xAPIC)",
	      "%u of %d started", started, nr_aps);
	go = 1;
	for (uint32_t k = 0; k < ADDS; k++)
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
	if (started == (uint32_t)nr_aps)	/* else the checks below say so */
		serve_faults();
	check(scan_works(), "the marker scan finds a copy it can read", "not found");
	check(counter == ADDS * (started + 1), "LOCK adds from all CPUs add up",
	      "counter %u, want %u", counter, ADDS * (started + 1));
	check_aps();
	if (started != (uint32_t)nr_aps)
		return;
	restart_aps();
	stray_sipis();
}
