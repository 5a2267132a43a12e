// SPDX-License-Identifier: BSD-2-Clause
/*
 * Application processors (smp.h).  umbra starts each AP itself, one at a
 * time, with the sequence of SDM Vol 3 10.4.4.1 (INIT, 10 ms, SIPI,
 * 200 us, SIPI if it has not answered); the SIPI vector is the page of the
 * trampoline (trampoline.asm), which lies in memory umbra claims below
 * 1 MiB, so that the guest neither sees it as RAM nor reaches it.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/cpu/regs.h"
#include "arch/x86/cpu/smp.h"
#include "core/mem.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

#define APIC_BASE_EXTD		(1ull << 10)	/* x2APIC mode (SDM Vol 3 11.12.1) */
#define XAPIC_ICR_LO		0x300
#define XAPIC_ICR_HI		0x310
#define MSR_X2APIC_ICR		0x830
#define AP_STACK_PAGES		4
#define LOW_1M			SZ_1M
#define AP_WAIT_US		1000000		/* after the second SIPI */
#define TSC_MAX_MHZ		5000		/* delays are at least this long */

struct ap_tramp_args {
	uint64_t gdt[3];
	uint16_t pad0, gdt_limit;
	uint32_t gdt_base;
	uint32_t jmp_off;
	uint16_t jmp_sel, pad1;
	uint32_t cr3_low, cr4, efer, pad2;
	uint64_t cr3, stack, entry;
} __attribute__((packed));
_Static_assert(sizeof(struct ap_tramp_args) == 80, "trampoline.asm's layout");

extern const char ap_tramp[], ap_tramp_args[], ap_tramp_long[], ap_tramp_end[];

unsigned int nr_cpus_up = 1;
static uint64_t tramp_pa;			/* 0: no page found */
static uint64_t *tramp_pml4;			/* below 4 GiB */

/* What the AP being started reads; the BSP waits for state READY. */
static struct {
	unsigned int id;
	uint32_t apic_id;
	void (*fn)(unsigned int id);
	uint64_t cr0, cr4;
	volatile int state;		/* 0 sent, 1 alive, 2 ready */
} ap_boot;

static bool x2apic_mode(void)
{
	return rdmsr(MSR_APIC_BASE) & APIC_BASE_EXTD;
}

static volatile uint32_t *xapic_reg(unsigned int off)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) & ~0xfffull & ((1ull << 52) - 1);

	return (volatile uint32_t *)phys_to_virt(base + off);
}

/* CPUID.1:EBX[31:24], or leaf 0Bh EDX in x2APIC mode (SDM Vol 3 11.12.8) */
uint32_t apic_id_self(void)
{
	if (x2apic_mode())
		return cpuid(0xb).edx;
	return cpuid(1).ebx >> 24;
}

void apic_send_ipi(uint32_t dest, uint32_t low)
{
	if (x2apic_mode()) {
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | low);
		return;
	}
	/* SDM Vol 3 11.6.1: the write of the low half sends it; the high
	   half is given back (it may hold the guest's destination) */
	uint32_t hi = *xapic_reg(XAPIC_ICR_HI);

	*xapic_reg(XAPIC_ICR_HI) = dest << 24;
	*xapic_reg(XAPIC_ICR_LO) = low;
	for (int i = 0; i < 1000000 && (*xapic_reg(XAPIC_ICR_LO) & ICR_BUSY); i++)
		cpu_pause();
	*xapic_reg(XAPIC_ICR_HI) = hi;
}

static void udelay(unsigned int us);

void smp_stop_others(void)
{
	if (nr_cpus_up < 2 || __atomic_exchange_n(&cpus_stopping, true, __ATOMIC_SEQ_CST))
		return;
	apic_send_ipi(0, ICR_MODE_NMI | ICR_LEVEL_ASSERT | ICR_SHORTHAND_OTHERS);
	for (int i = 0; i < 100 && __atomic_load_n(&cpus_stopped, __ATOMIC_ACQUIRE) <
	     nr_cpus_up - 1; i++)
		udelay(1000);
}

/* At least us microseconds on a TSC up to TSC_MAX_MHZ; no clock is needed */
static void udelay(unsigned int us)
{
	uint64_t end = rdtsc() + (uint64_t)us * TSC_MAX_MHZ;

	while (rdtsc() < end)
		cpu_pause();
}

static bool page_free_below_1m(const struct boot_info *bi, uint64_t pa)
{
	bool usable = false;

	for (uint32_t i = 0; i < bi->nr_mem; i++) {
		const struct bi_mem_range *m = &bi->mem[i];

		if (m->type == BI_MEM_USABLE && pa >= m->base &&
		    pa + PAGE_SIZE <= m->base + m->size)
			usable = true;
	}
	for (uint32_t i = 0; i < bi->nr_busy; i++)
		if (pa < bi->busy[i].base + bi->busy[i].size &&
		    bi->busy[i].base < pa + PAGE_SIZE)
			return false;
	return usable && !umbra_owns(pa, PAGE_SIZE);
}

/* The highest free page of usable RAM below 1 MiB (but not page 0: the IVT). */
void smp_reserve_trampoline(const struct boot_info *bi)
{
	for (uint64_t pa = LOW_1M - PAGE_SIZE; pa >= PAGE_SIZE; pa -= PAGE_SIZE) {
		if (page_free_below_1m(bi, pa)) {
			tramp_pa = pa;
			umbra_claim_as(pa, PAGE_SIZE, "AP start-up trampoline");
			return;
		}
	}
	pr_warn("no free page below 1 MiB for the AP trampoline: other CPUs stay off");
}

static void ap_entry(void) __attribute__((noreturn, used));
static void ap_entry(void)
{
	write_cr0(ap_boot.cr0);
	write_cr4(ap_boot.cr4);
	cpu_tables_init();
	percpu_init(ap_boot.id);
	this_cpu()->apic_id = ap_boot.apic_id;
	__atomic_store_n(&ap_boot.state, 1, __ATOMIC_RELEASE);
	ap_boot.fn(ap_boot.id);
	halt_forever();
}

void smp_ap_ready(void)
{
	__atomic_store_n(&ap_boot.state, 2, __ATOMIC_RELEASE);
}

static int tramp_prepare(void)
{
	struct ap_tramp_args *a;
	uint64_t size = (uint64_t)(ap_tramp_end - ap_tramp);
	uint64_t args_off = (uint64_t)(ap_tramp_args - ap_tramp);

	if (!tramp_pml4) {
		tramp_pml4 = page_alloc_low();
		if (!tramp_pml4)
			return -UMBRA_ENOMEM;
		memcpy(tramp_pml4, phys_to_virt(read_cr3() & ~0xfffull), PAGE_SIZE);
	}
	memcpy(phys_to_virt(tramp_pa), ap_tramp, size);
	a = phys_to_virt(tramp_pa + args_off);
	a->gdt_base = (uint32_t)(tramp_pa + args_off);
	a->jmp_off = (uint32_t)(tramp_pa + (uint64_t)(ap_tramp_long - ap_tramp));
	a->cr3_low = (uint32_t)virt_to_phys(tramp_pml4);
	a->cr4 = 1u << 5;				/* PAE */
	a->efer = (uint32_t)(rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE));
	a->cr3 = read_cr3();
	a->entry = (uint64_t)ap_entry;
	return 0;
}

static bool ap_answered(unsigned int us)
{
	uint64_t end = rdtsc() + (uint64_t)us * TSC_MAX_MHZ;

	while (rdtsc() < end)
		if (__atomic_load_n(&ap_boot.state, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

int smp_start_ap(unsigned int id, uint32_t apic_id, void (*fn)(unsigned int id))
{
	void *stack;
	int err;

	if (!tramp_pa || id >= MAX_CPUS)
		return -UMBRA_EINVAL;
	err = tramp_prepare();
	stack = err ? NULL : page_alloc(AP_STACK_PAGES);
	if (!stack)
		return -UMBRA_ENOMEM;
	((struct ap_tramp_args *)phys_to_virt(tramp_pa + (uint64_t)(ap_tramp_args - ap_tramp)))
		->stack = (uint64_t)stack + AP_STACK_PAGES * PAGE_SIZE;
	ap_boot.id = id;
	ap_boot.apic_id = apic_id;
	ap_boot.fn = fn;
	ap_boot.cr0 = read_cr0();
	ap_boot.cr4 = read_cr4();
	ap_boot.state = 0;
	/* SDM Vol 3 10.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI */
	apic_send_ipi(apic_id, ICR_MODE_INIT | ICR_LEVEL_ASSERT);
	udelay(10000);
	for (int sipi = 0; sipi < 2; sipi++) {
		apic_send_ipi(apic_id, ICR_MODE_SIPI | ICR_LEVEL_ASSERT |
			      ICR_VECTOR(tramp_pa >> 12));
		if (ap_answered(sipi ? AP_WAIT_US : 200))
			break;
	}
	if (!ap_boot.state) {
		/* held in INIT, so that a late start cannot use the next AP's stack */
		apic_send_ipi(apic_id, ICR_MODE_INIT | ICR_LEVEL_ASSERT);
		page_free(stack, AP_STACK_PAGES);
		return -UMBRA_EIO;
	}
	while (__atomic_load_n(&ap_boot.state, __ATOMIC_ACQUIRE) != 2)
		cpu_pause();
	nr_cpus_up++;
	return 0;
}

void smp_start_done(void)
{
	if (tramp_pml4)
		page_free(tramp_pml4, 1);
	tramp_pml4 = NULL;
	if (tramp_pa)
		memset(phys_to_virt(tramp_pa), 0, PAGE_SIZE);
}
