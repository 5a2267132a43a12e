// SPDX-License-Identifier: BSD-2-Clause
/*
 * gdbt: the guest side of the gdb stub test (tests/test-gdb.py), built with
 * symbols.  Not a conformance kernel: with the argument "gdb" it expects a
 * debugger to have changed gdb_var, so it is not in the normal matrix.
 *
 * It turns on 32-bit paging (4 MiB identity pages for the first GiB, one
 * 4 KiB page at ALIAS_VA holding ALIAS_MAGIC, nothing at HOLE_VA), then
 * calls gdb_here() and gdb_there(), where gdb puts its breakpoints (a
 * software one, then a hardware one); between them a loop that gdb steps
 * into, a round trip through its own DR0 and DR7 while gdb holds the
 * CPU's, and one write of gdb_watched, which gdb watches.  With "spin"
 * it then spins with interrupts off, making no exit, until gdb (after a
 * Ctrl-C) sets gdb_release.  After the loop it prints CONSOLE_LINE,
 * which gdb must show (O packets when gdb has the shared console).  With
 * "com2hidden" (gdb=com2) it checks that COM2, gdb's port, reads as no
 * device.  After gdb_there it makes a trip into long mode (gdbt64.asm,
 * 4-level tables identity-mapping the first GiB with 2 MiB pages), where
 * gdb stops at gdb_long, steps, and reads R9 and gdb_long_var, which the
 * 64-bit code sets to GDB_LONG_MAGIC.  Its own INT3 must reach its own #BP
 * handler while gdb holds breakpoints elsewhere.  Checks at the end:
 * the loop's sum, gdb's write to gdb_var (with "gdb"), no INT3 byte left
 * at either function after gdb detached, the guest's own #BP.
 */
#include "guest.h"
#include "trap.h"
#include "x86.h"

const char test_name[] = "gdbt";

#define ALIAS_VA	0x40000000u
#define HOLE_VA		0x80000000u
#define ALIAS_MAGIC	0x600dcafeu
#define LOOP_N		1000u
#define CONSOLE_LINE	"info: the guest prints while gdb is attached\n"
#define COM2_LSR	0x2fd

#define PTE_P		0x001u
#define PTE_W		0x002u
#define PTE_PS		0x080u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static uint32_t alias[1024] __attribute__((aligned(4096)));
static struct gate idt[256] __attribute__((aligned(8)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd64[512] __attribute__((aligned(4096)));

/* gdb reads and writes these by name */
volatile uint32_t gdb_var = 41;
volatile uint32_t gdb_sum;
volatile uint32_t gdb_phase;
volatile uint32_t gdb_watched;		/* written once: gdb's watchpoint */
volatile uint32_t gdb_release;		/* "spin": gdb sets it after Ctrl-C */
volatile uint64_t gdb_long_var;		/* written in long mode */

#define GDB_LONG_MAGIC	0x1122334455667788ull

void gdb_long_trip(uint32_t pml4_pa, volatile uint64_t *out);	/* gdbt64.asm */

void gdb_here(void);
void gdb_there(void);

__attribute__((noinline)) void gdb_here(void)
{
	gdb_phase = 1;
}

__attribute__((noinline)) void gdb_there(void)
{
	gdb_phase = 2;
}

static void paging_on(void)
{
	for (uint32_t i = 0; i < 256; i++)	/* 0 - 1 GiB, 4 MiB pages */
		pd[i] = (i << 22) | PTE_PS | PTE_W | PTE_P;
	pd[ALIAS_VA >> 22] = (uint32_t)pt | PTE_W | PTE_P;
	pt[0] = (uint32_t)alias | PTE_W | PTE_P;
	alias[0] = ALIAS_MAGIC;
	asm volatile("mov %0, %%cr3" : : "r"((uint32_t)pd) : "memory");
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() | CR0_PG);
}

/* A trip into long mode (gdbt64.asm); gdb stops it at gdb_long. */
static void long_trip(void)
{
	for (uint32_t i = 0; i < 512; i++)	/* 0 - 1 GiB, 2 MiB pages */
		pd64[i] = ((uint64_t)i << 21) | PTE_PS | PTE_W | PTE_P;
	pdpt[0] = (uint32_t)pd64 | PTE_W | PTE_P;
	pml4[0] = (uint32_t)pdpt | PTE_W | PTE_P;
	gdb_long_trip((uint32_t)pml4, &gdb_long_var);
	check(gdb_long_var == GDB_LONG_MAGIC,
	      "the trip into long mode and back (gdb stops in it)",
	      "gdb_long_var %#llx", (unsigned long long)gdb_long_var);
}

/* The guest's own INT3: delivered to its handler, EIP just past it. */
static void own_int3(void)
{
	uint32_t at;

	trap_count = 0;
	trap_vec = NO_TRAP;
	asm volatile(TRAP_ARM "movl $2f, %0\n\t" "int3\n" "2:" TRAP_DONE
		     : "=m"(at) : : "memory");
	check(trap_vec == VEC_BP && trap_count == 1 && trap_eip == at,
	      "the guest's own INT3 reaches its #BP handler",
	      "vector %u, %u traps, eip %#x (want %#x)",
	      trap_vec, trap_count, trap_eip, at);
}

/*
 * The guest's own debug registers while gdb may hold the CPU's: what it
 * writes it reads back (DR0, and DR7 with only its fixed bit 10).
 */
static void own_debug_regs(void)
{
	uint32_t dr0, dr7;

	asm volatile("mov %0, %%dr0" : : "r"(0x12345678u));
	asm volatile("mov %0, %%dr7" : : "r"(0u));
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	check(dr0 == 0x12345678u && dr7 == 0x400u,
	      "the guest reads back its own DR0 and DR7",
	      "DR0 %#x DR7 %#x", dr0, dr7);
}

static void no_int3_left(const char *name, const void *fn)
{
	const uint8_t *p = fn;
	int at = -1;

	for (int i = 0; i < 8 && at < 0; i++)
		if (p[i] == 0xcc)
			at = i;
	check(at < 0, name, "INT3 byte at +%d", at);
}

void test_main(void)
{
	int debugged = cmdline_has_word(boot.cmdline, "gdb");

	trap_idt_init(idt);
	idt_load((uint32_t)idt, sizeof(idt) - 1);
	paging_on();
	info("paging on: va %#x -> pa %#x, va %#x not mapped; gdb %s",
	     ALIAS_VA, (uint32_t)alias, HOLE_VA,
	     debugged ? "expected" : "not expected");
	gdb_here();
	for (uint32_t i = 0; i < LOOP_N; i++)
		gdb_sum += i;
	printf(CONSOLE_LINE);
	own_debug_regs();
	gdb_watched = 7;
	if (cmdline_has_word(boot.cmdline, "spin")) {
		printf("info: spinning with interrupts off until gdb_release\n");
		asm volatile("cli");
		while (!gdb_release)
			;
		check(1, "gdb stopped the spinning guest and released it", NULL);
	}
	gdb_there();
	long_trip();
	own_int3();
	if (cmdline_has_word(boot.cmdline, "com2hidden"))
		check(inb(COM2_LSR) == 0xff, "gdb's own port (COM2) is hidden from the guest",
		      "LSR %#x", inb(COM2_LSR));
	check(gdb_sum == LOOP_N * (LOOP_N - 1) / 2,
	      "the loop's sum is right after breakpoints and steps",
	      "sum %u", gdb_sum);
	if (debugged)
		check(gdb_var == 42, "gdb's write to gdb_var arrived",
		      "gdb_var %u", gdb_var);
	else
		check(gdb_var == 41, "gdb_var unchanged without gdb",
		      "gdb_var %u", gdb_var);
	no_int3_left("no breakpoint byte left in gdb_here",
		     (const void *)gdb_here);
	no_int3_left("no breakpoint byte left in gdb_there",
		     (const void *)gdb_there);
}
