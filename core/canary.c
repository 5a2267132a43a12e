// SPDX-License-Identifier: BSD-2-Clause
/*
 * The leak canary: a 64-bit value, new at each boot, that umbra writes
 * into its own memory (its data, the unused part of its stack and every
 * free page of its pool) and prints once, "umbra: info: canary 0x...".
 * Nothing umbra gives the guest holds it, so a guest that finds it in its
 * registers or its memory has read umbra's memory: the fuzzer guest
 * (tests/guest/fuzz.c) looks for it, and the guest matrix fails any log
 * that shows it outside umbra's own line.
 *
 * The design: the guest cannot learn the canary legitimately, so the
 * test runner chooses it and passes it both to umbra (canary=HEX, a test
 * option) and to the guest (its command line).  The guest's search is a
 * real test because umbra keeps the value only in its own memory; the
 * command lines hold it as text, never as the 64-bit binary value that the
 * guest searches for.  Without canary=, umbra draws one from RDRAND (when
 * CPUID.1:ECX.RDRAND[bit 30] is set, SDM Vol 1 7.3.17) mixed with the TSC,
 * and the runner still looks for it in the log.
 *
 * Pages umbra allocates later are zeroed by page_alloc(), so the canary
 * stays only where umbra has not written since; that is where a leak of
 * stale umbra memory (an unzeroed page, an identity-mapped window onto
 * umbra's range) would show it.
 */
#include "core/canary.h"
#include "arch/x86/cpu/cpu.h"
#include "core/mem.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define CANARY_DATA_WORDS	512	/* one page of umbra's .data */

extern char boot_stack_bottom[];

/* Initialized, so that it lies in .data, not .bss. */
static volatile uint64_t canary_data[CANARY_DATA_WORDS] = { 1 };
static uint64_t canary_value;

static bool rdrand64(uint64_t *v)
{
	uint8_t ok;

	for (int i = 0; i < 10; i++) {	/* SDM Vol 1 7.3.17.1: retry */
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return true;
	}
	return false;
}

static uint64_t mix64(uint64_t x)	/* splitmix64's finalizer */
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static uint64_t draw(void)
{
	uint64_t r = 0, v;

	if ((cpuid(1).ecx & (1u << 30)) && rdrand64(&v))
		r = v;
	v = rdtsc();
	r = mix64(r ^ v);
	for (int i = 0; i < 4; i++)
		r = mix64(r ^ rdtsc());
	return r;
}

static void fill(volatile uint64_t *p, size_t words, uint64_t v)
{
	for (size_t i = 0; i < words; i++)
		p[i] = v;
}

/* The stack below the caller's frame, down to the bottom less a margin. */
static __attribute__((noinline)) void fill_stack(uint64_t v)
{
	char *sp = __builtin_frame_address(0);
	char *low = boot_stack_bottom + 256;

	if (sp > low + 512)
		fill((volatile uint64_t *)low, (size_t)(sp - 512 - low) / 8, v);
}

/* Every free page of the pool: take them in runs as large as can be had. */
static size_t fill_pool(uint64_t v)
{
	void *runs[64];
	size_t lens[64], nr = 0, total = 0, n = pages_free();

	while (n && nr < 64) {
		void *p = page_alloc(n);

		if (!p) {
			n /= 2;
			continue;
		}
		fill(p, n * PAGE_SIZE / 8, v);
		runs[nr] = p;
		lens[nr++] = n;
		total += n;
		if (n > pages_free())
			n = pages_free();
	}
	while (nr--)
		page_free(runs[nr], lens[nr]);
	return total;
}

void canary_init(void)
{
	uint64_t v = opts.canary_set ? opts.canary : draw();
	size_t pages;

	canary_value = v;
	fill(canary_data, CANARY_DATA_WORDS, v);
	fill_stack(v);
	pages = fill_pool(v);
	pr_info("canary 0x%016lx (%s; in umbra's data, stack and %lu free pages)",
		v, opts.canary_set ? "canary=" : "random", pages);
}
