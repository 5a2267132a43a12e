// SPDX-License-Identifier: BSD-2-Clause
/*
 * real16: real-address mode (SDM Vol 3 20.1; APM Vol 2 1.2.4), entered
 * from protected mode with paging off and left again (SDM Vol 3 9.9.2),
 * issue 21, item 6.  In real mode (real16_asm.asm): CPUID (an exit under
 * umbra), INT 0x21 and a #UD through the IVT (the IP each pushes), a
 * store through a segment (linear = segment * 16 + offset), MOV from CR0
 * and SMSW (PE clear; intercepted under shadow paging), and under umbra
 * a #GP umbra injects (RDMSR of IA32_RTIT_CTL): no error code pushed.
 *
 * Under shadow paging umbra runs real mode under SVM as paged real mode
 * on its tables (APM Vol 2 15.19); VMX without EPT has no unrestricted
 * guest, so there umbra runs it on the EPT map of mmu=tdp, from the MOV
 * that clears PE until the segments after the one that sets it allow the
 * shadow tables again (docs/conformance.md).
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "real16";

#define RM_LOW		0x6000u		/* IVT, stack and blob: 8 KiB */
#define RM_HIGH		0x8000u
#define RM_BASE		0x7000u

struct rm_res {
	uint32_t cpuid_ebx;
	uint16_t int_count, int_ip, int_seen, ud_ip;
	uint32_t cr0;
	uint16_t msw, ud_seen, msr_ip, gp_seen;
	uint8_t try_msr;
} __attribute__((packed));

extern uint8_t rm_blob[], rm_blob_end[], rm_res[];
void rm_run(void);

/* The multiboot map says [RM_LOW, RM_HIGH) is usable RAM. */
static int low_memory_usable(void)
{
	int i;

	for (i = 0; i < boot.nr_mmap; i++) {
		const struct mmap_entry *e = &boot.mmap[i];

		if (e->type == MB_MEM_USABLE && e->base <= RM_LOW &&
		    e->base + e->len >= RM_HIGH)
			return !boot_is_excluded(RM_LOW, RM_HIGH);
	}
	return 0;
}

void test_main(void)
{
	struct rm_res *r = (struct rm_res *)(RM_BASE + (rm_res - rm_blob));
	volatile uint16_t *seg_word = (volatile uint16_t *)0x7f00;
	struct cpuid_regs c;
	uint32_t cr0 = read_cr0();

	if (!low_memory_usable() ||
	    (uint32_t)(rm_blob_end - rm_blob) > 0x0f00) {
		skip("real mode", "no usable RAM at 0x6000-0x7fff");
		return;
	}
	if (cr0 & CR0_PG) {
		skip("real mode", "the loader left paging on");
		return;
	}
	memcpy((void *)RM_BASE, rm_blob, (size_t)(rm_blob_end - rm_blob));
	*seg_word = 0;
	r->try_msr = under_umbra();
	rm_run();
	cpuid(0, &c);
	check(r->cpuid_ebx == c.ebx, "real mode: CPUID leaf 0",
	      "ebx %#x, protected mode %#x", r->cpuid_ebx, c.ebx);
	check(r->int_count == 1 && r->int_seen == r->int_ip,
	      "real mode: INT 0x21 through the IVT, return IP pushed",
	      "%u calls, pushed IP %#x, want %#x", r->int_count, r->int_seen,
	      r->int_ip);
	check(r->ud_seen == r->ud_ip, "real mode: #UD through the IVT, IP of the UD2 pushed",
	      "pushed %#x, want %#x", r->ud_seen, r->ud_ip);
	check(*seg_word == 0xbeef, "real mode: store at 0700:0f00 lands at 0x7f00",
	      "%#x there", *seg_word);
	check(!(r->cr0 & CR0_PE) && (r->cr0 & ~CR0_PE) == (cr0 & ~CR0_PE),
	      "real mode: MOV from CR0 shows PE clear, the rest as before",
	      "%#x, protected mode %#x", r->cr0, cr0);
	check(r->msw == (uint16_t)r->cr0, "real mode: SMSW is CR0's low word",
	      "%#x, cr0 %#x", r->msw, r->cr0);
	/* SDM Vol 3 20.1.4, APM Vol 2 8.9.1: real mode pushes no error code */
	if (r->try_msr)
		check(r->gp_seen == r->msr_ip,
		      "real mode: #GP umbra injects (RDMSR IA32_RTIT_CTL) pushes no error code",
		      "the handler saw IP %#x, want %#x", r->gp_seen, r->msr_ip);
	else
		skip("real mode: #GP umbra injects (RDMSR IA32_RTIT_CTL) pushes no error code",
		     "bare: the CPU may have the MSR (QEMU TCG reads it)");
	check(read_cr0() == cr0, "real mode: back in protected mode, CR0 as before",
	      "%#x, was %#x", read_cr0(), cr0);
}
