// SPDX-License-Identifier: BSD-2-Clause
/*
 * paging: the guest builds 4-level page tables, enters long mode, runs
 * 64-bit code and comes back.
 *
 * The tables identity-map 0-4 GiB with 2 MiB pages, except the first
 * 2 MiB (this kernel), which a 4 KiB page table maps; in it one page is
 * left non-present (the hole) and, when NX exists, one page holding a RET
 * is mapped no-execute.  One page is also mapped a second time, at
 * 0xffff800000001000 (PML4 slot 256, its own PDPT, PD and PT).
 * paging64.asm does the 64-bit part: arithmetic on 64-bit registers, reads
 * and writes through the alias, #PF on reading and on writing the hole and
 * on fetching from the NX page (caught by a 64-bit IDT, which records CR2
 * and the error code), and a line on the serial port.
 */
#include <stddef.h>

#include "guest.h"
#include "x86.h"

const char test_name[] = "paging";

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define PTE_NX		(1ull << 63)

#define ALIAS_VA	0xffff800000001000ull

struct lm_args {
	uint64_t cr3, efer_set, hole, nx_page, alias, op_a, op_b;
	uint64_t mul, rol, quot, rem, zext;
	uint64_t alias_read, efer_lm;
	uint64_t pf_read_cr2, pf_read_err, pf_write_cr2, pf_write_err;
	uint64_t nx_cr2, nx_err, pf_count;
	uint64_t bad_vector, bad_rip, bad_err, bad_cr2;
	uint64_t serial, reached, cs64;
	uint64_t lme_first;	/* set EFER.LME before CR4.PAE */
};

/* paging64.asm relies on these. */
_Static_assert(offsetof(struct lm_args, mul) == 56, "lm_args layout");
_Static_assert(offsetof(struct lm_args, alias_read) == 96, "lm_args layout");
_Static_assert(offsetof(struct lm_args, pf_read_cr2) == 112, "lm_args layout");
_Static_assert(offsetof(struct lm_args, bad_vector) == 168, "lm_args layout");
_Static_assert(offsetof(struct lm_args, cs64) == 216, "lm_args layout");
_Static_assert(offsetof(struct lm_args, lme_first) == 224, "lm_args layout");

int long_mode_run(struct lm_args *a);
extern uint8_t idt64[32 * 16];
extern const uint32_t exc64_stubs[32];

#define PAGE_ALIGNED	__attribute__((aligned(4096)))

static uint64_t pml4[512] PAGE_ALIGNED;
static uint64_t pdpt[512] PAGE_ALIGNED;
static uint64_t pd[4][512] PAGE_ALIGNED;
static uint64_t pt[512] PAGE_ALIGNED;
static uint64_t pdpt_hi[512] PAGE_ALIGNED;
static uint64_t pd_hi[512] PAGE_ALIGNED;
static uint64_t pt_hi[512] PAGE_ALIGNED;
static uint8_t hole_page[4096] PAGE_ALIGNED;
static uint8_t nx_page[4096] PAGE_ALIGNED;
static uint64_t alias_page[512] PAGE_ALIGNED;

static struct lm_args args;

static uint32_t pfn(const void *p)
{
	return (uint32_t)p >> 12;
}

static void build_tables(int nx)
{
	uint32_t i, j;

	for (i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd[i] | PTE_P | PTE_W;
		for (j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | PTE_P |
				   PTE_W | PTE_PS;
	}
	pd[0][0] = (uint32_t)pt | PTE_P | PTE_W;
	for (j = 0; j < 512; j++)
		pt[j] = ((uint64_t)j << 12) | PTE_P | PTE_W;
	pt[pfn(hole_page)] = 0;
	if (nx)
		pt[pfn(nx_page)] |= PTE_NX;
	pml4[0] = (uint32_t)pdpt | PTE_P | PTE_W;

	pml4[256] = (uint32_t)pdpt_hi | PTE_P | PTE_W;
	pdpt_hi[0] = (uint32_t)pd_hi | PTE_P | PTE_W;
	pd_hi[0] = (uint32_t)pt_hi | PTE_P | PTE_W;
	pt_hi[1] = (uint32_t)alias_page | PTE_P | PTE_W;
}

static void build_idt64(void)
{
	int i;

	for (i = 0; i < 32; i++) {
		uint8_t *g = idt64 + 16 * i;
		uint32_t off = exc64_stubs[i];

		memset(g, 0, 16);
		g[0] = off & 0xff;
		g[1] = (off >> 8) & 0xff;
		g[2] = 0x18;			/* 64-bit code selector */
		g[5] = 0x8e;			/* present, interrupt gate */
		g[6] = (off >> 16) & 0xff;
		g[7] = off >> 24;
	}
}

static uint64_t rol64(uint64_t x, int n)
{
	return (x << n) | (x >> (64 - n));
}

/*
 * Long mode entered the other legal way: EFER.LME while CR4.PAE and CR0.PG
 * are clear, then PAE, then PG (SDM Vol 3 10.8.5 only asks that PAE be set
 * before PG).  Under umbra on QEMU TCG this runs the deferred-LME path.
 */
static void lme_before_pae(void)
{
	struct lm_args in = args;

	memset(&args, 0, sizeof(args));
	args.cr3 = in.cr3;
	args.efer_set = in.efer_set;
	args.hole = in.hole;
	args.nx_page = in.nx_page;
	args.alias = in.alias;
	args.op_a = in.op_a;
	args.op_b = in.op_b;
	args.bad_vector = ~0ull;
	args.lme_first = 1;
	alias_page[1] = 0;
	if (!check(long_mode_run(&args) && args.bad_vector == ~0ull,
		   "64-bit code ran with EFER.LME set before CR4.PAE",
		   "vector %llu rip %#llx", args.bad_vector, args.bad_rip))
		return;
	check((args.efer_lm & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
	      "efer.lma set after LME, PAE, PG", "EFER %#llx", args.efer_lm);
	check(args.mul == args.op_a * args.op_b,
	      "64-bit code works after LME, PAE, PG", "mul %#llx", args.mul);
	check(!(read_cr0() & CR0_PG) && !(rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA)),
	      "back in 32-bit protected mode again", "cr0 %#x", read_cr0());
}

void test_main(void)
{
	struct cpuid_regs r;
	int nx, reached;
	uint64_t efer_after;
	const uint64_t hole = (uint32_t)hole_page + 0x123;

	cpuid(0x80000001, &r);
	nx = !!(r.edx & (1u << 20));
	if (!check(r.edx & (1u << 29), "cpu has long mode", "cpuid "
		   "0x80000001 edx %#x", r.edx))
		return;

	build_tables(nx);
	build_idt64();
	nx_page[0] = 0xc3;			/* ret: must never run */
	alias_page[0] = 0x1122334455667788ull;
	alias_page[1] = 0;

	args.cr3 = (uint32_t)pml4;
	args.efer_set = nx ? EFER_NXE : 0;
	args.hole = hole;
	args.nx_page = nx ? (uint32_t)nx_page : 0;
	args.alias = ALIAS_VA;
	args.op_a = 0xfedcba9876543210ull;
	args.op_b = 0x00000001000003e9ull;
	args.bad_vector = ~0ull;

	info("cr3 %#llx, hole %#llx, nx page %#llx, alias %#llx -> %p",
	     args.cr3, hole, args.nx_page, args.alias, (void *)alias_page);
	reached = long_mode_run(&args);
	efer_after = rdmsr(MSR_EFER);

	check(args.bad_vector == ~0ull, "no unexpected exception in long mode",
	      "vector %llu error %#llx rip %#llx cr2 %#llx", args.bad_vector,
	      args.bad_err, args.bad_rip, args.bad_cr2);
	if (!check(reached, "64-bit code ran", NULL))
		return;
	check(args.cs64 == 0x18, "64-bit code segment in cs", "cs %#llx",
	      args.cs64);
	check((args.efer_lm & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
	      "efer.lme and efer.lma set in long mode", "EFER %#llx",
	      args.efer_lm);
	if (nx)
		check(args.efer_lm & EFER_NXE, "efer.nxe set in long mode",
		      "EFER %#llx", args.efer_lm);
	else
		skip("efer.nxe set in long mode", "no nx");

	check(args.mul == args.op_a * args.op_b, "64-bit multiply",
	      "got %#llx, want %#llx", args.mul, args.op_a * args.op_b);
	check(args.rol == rol64(args.op_a, 13), "64-bit rotate",
	      "got %#llx, want %#llx", args.rol, rol64(args.op_a, 13));
	check(args.quot * args.op_b + args.rem == args.op_a &&
	      args.rem < args.op_b, "64-bit divide",
	      "%#llx / %#llx gave %#llx rem %#llx", args.op_a, args.op_b,
	      args.quot, args.rem);
	check(args.zext == 0xffffffffull, "32-bit writes zero-extend",
	      "got %#llx", args.zext);

	check(args.alias_read == 0x1122334455667788ull,
	      "read through the alias mapping", "got %#llx", args.alias_read);
	check(alias_page[1] == ~0x1122334455667788ull,
	      "write through the alias mapping", "page holds %#llx",
	      alias_page[1]);
	check((pt_hi[1] & (PTE_A | PTE_D)) == (PTE_A | PTE_D),
	      "accessed and dirty bits set in the alias pte", "pte %#llx",
	      pt_hi[1]);

	check(args.pf_read_cr2 == hole && args.pf_read_err == 0,
	      "#PF on reading a non-present page",
	      "cr2 %#llx error %#llx (want cr2 %#llx error 0)",
	      args.pf_read_cr2, args.pf_read_err, hole);
	check(args.pf_write_cr2 == hole + 8 && args.pf_write_err == 2,
	      "#PF on writing a non-present page",
	      "cr2 %#llx error %#llx (want cr2 %#llx error 2)",
	      args.pf_write_cr2, args.pf_write_err, hole + 8);
	if (nx)
		check(args.nx_cr2 == (uint32_t)nx_page && args.nx_err == 0x11,
		      "#PF on fetching from a no-execute page",
		      "cr2 %#llx error %#llx (want cr2 %p error 0x11)",
		      args.nx_cr2, args.nx_err, (void *)nx_page);
	else
		skip("#PF on fetching from a no-execute page", "no nx");
	check(args.pf_count == (nx ? 3u : 2u), "page faults counted",
	      "%llu", args.pf_count);
	check(args.serial == 61, "serial output from 64-bit code",
	      "%llu bytes written", args.serial);

	check(!(read_cr0() & CR0_PG) && !(efer_after & (EFER_LME | EFER_LMA)),
	      "back in 32-bit protected mode without paging",
	      "cr0 %#x EFER %#llx", read_cr0(), efer_after);
	check(hole_page[0x123] == 0 && hole_page[0x12b] == 0,
	      "the non-present page was not written", NULL);
	lme_before_pae();
}
