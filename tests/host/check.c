// SPDX-License-Identifier: BSD-2-Clause
/* PASS/FAIL lines and the closing "N passed, N failed" of host tests. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/host_env.h"

static unsigned long passed, failed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&lock);
	if (ok) {
		passed++;
		printf("PASS: %s\n", name);
	} else {
		failed++;
		printf("FAIL: %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	pthread_mutex_unlock(&lock);
}

unsigned long check_failures(void)
{
	return __atomic_load_n(&failed, __ATOMIC_RELAXED);
}

int check_finish(void)
{
	printf("%lu passed, %lu failed\n", passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}

void group_init(struct check_group *g, const char *name)
{
	memset(g, 0, sizeof(*g));
	g->name = name;
}

void group_expect(struct check_group *g, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		__atomic_fetch_add(&g->n, 1, __ATOMIC_RELAXED);
		return;
	}
	pthread_mutex_lock(&lock);
	g->n++;
	if (!g->failed++) {
		va_start(ap, fmt);
		vsnprintf(g->first, sizeof(g->first), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&lock);
}

void group_report(struct check_group *g)
{
	char name[256];

	snprintf(name, sizeof(name), "%s (%lu checks)", g->name, g->n);
	if (!g->n) {
		check(false, name, "no check ran: the group proves nothing");
		return;
	}
	check(!g->failed, name, "%lu failed, first: %s", g->failed, g->first);
}

uint64_t test_seed(uint64_t def)
{
	const char *s = getenv("SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : def;

	if (!seed)
		seed = 1;
	printf("seed: %" PRIu64 " (SEED=%" PRIu64 " to reproduce)\n", seed,
	       seed);
	return seed;
}
