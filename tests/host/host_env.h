/* SPDX-License-Identifier: BSD-2-Clause */
/* The host side of mmu/env.h, and the PASS/FAIL reporting of host tests. */
#ifndef UMBRA_TESTS_HOST_ENV_H
#define UMBRA_TESTS_HOST_ENV_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

/* Pages handed out by mmu_alloc_page() and not yet freed. */
long host_pages_outstanding(void);

/* The most pages outstanding at once since the last reset (or start). */
long host_pages_peak(void);
void host_pages_peak_reset(void);

/* Make mmu_alloc_page() fail while n pages are outstanding (n < 0: never). */
void host_limit_pages(long n);

/* Make mmu_alloc_page() fail once after n more successes (n < 0: never). */
void host_fail_after(long n);

/* Run fn(arg) once, inside the next mmu_alloc_page() (single-threaded
 * tests use it to lose a race on purpose). */
void host_set_alloc_hook(void (*fn)(void *), void *arg);

/* Spin (yielding now and then) until *p is v. */
static inline void spin_until(int *p, int v)
{
	unsigned int n = 0;

	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v)
		if (++n % 4096 == 0)
			sched_yield();
}

/* One line per check: "PASS: name" or "FAIL: name: detail". */
void check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Print "N passed, N failed"; the exit status for main(). */
int check_finish(void);
/* Failed checks so far (FAILFAST=1: a test may stop at the first). */
unsigned long check_failures(void);

/*
 * A group of many checks reported as one line (for invariants checked at
 * every step of a stress test).  Thread-safe.
 */
struct check_group {
	const char *name;
	unsigned long n, failed;
	char first[256];
};

void group_init(struct check_group *g, const char *name);
void group_expect(struct check_group *g, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void group_report(struct check_group *g);

/* SEED from the environment, or def; printed either way. */
uint64_t test_seed(uint64_t def);

/* xorshift64* */
static inline uint64_t rnd_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
	return n ? rnd_next(s) % n : 0;
}

#endif
