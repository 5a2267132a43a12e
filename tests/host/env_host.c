// SPDX-License-Identifier: BSD-2-Clause
/* mmu/env.h on the host: pages from aligned_alloc, physical == virtual. */
#include <stdlib.h>
#include <string.h>

#include "mmu/env.h"
#include "tests/host/host_env.h"

static long outstanding, peak;
static long fail_after = -1;
static long limit = -1;
static void (*alloc_hook)(void *);
static void *alloc_hook_arg;

void *mmu_alloc_page(void)
{
	void (*hook)(void *) = alloc_hook;
	long n, old;
	void *p;

	if (hook) {
		alloc_hook = NULL;	/* once */
		hook(alloc_hook_arg);
	}
	if (__atomic_load_n(&fail_after, __ATOMIC_RELAXED) >= 0 &&
	    __atomic_fetch_sub(&fail_after, 1, __ATOMIC_RELAXED) <= 0)
		return NULL;
	if (__atomic_load_n(&limit, __ATOMIC_RELAXED) >= 0 &&
	    __atomic_load_n(&outstanding, __ATOMIC_RELAXED) >= limit)
		return NULL;
	p = aligned_alloc(4096, 4096);
	if (!p)
		return NULL;
	memset(p, 0, 4096);
	n = __atomic_add_fetch(&outstanding, 1, __ATOMIC_RELAXED);
	while (n > (old = __atomic_load_n(&peak, __ATOMIC_RELAXED)) &&
	       !__atomic_compare_exchange_n(&peak, &old, n, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return p;
}

/* The host has no 32-bit CR3 to satisfy: any page will do. */
void *mmu_alloc_page_low(void)
{
	return mmu_alloc_page();
}

void mmu_free_page(void *va)
{
	__atomic_fetch_sub(&outstanding, 1, __ATOMIC_RELAXED);
	free(va);
}

uint64_t mmu_virt_to_phys(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

void *mmu_phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

long host_pages_outstanding(void)
{
	return __atomic_load_n(&outstanding, __ATOMIC_RELAXED);
}

long host_pages_peak(void)
{
	return __atomic_load_n(&peak, __ATOMIC_RELAXED);
}

void host_pages_peak_reset(void)
{
	__atomic_store_n(&peak, host_pages_outstanding(), __ATOMIC_RELAXED);
}

void host_limit_pages(long n)
{
	__atomic_store_n(&limit, n, __ATOMIC_RELAXED);
}

void host_fail_after(long n)
{
	__atomic_store_n(&fail_after, n, __ATOMIC_RELAXED);
}

void host_set_alloc_hook(void (*fn)(void *), void *arg)
{
	alloc_hook_arg = arg;
	alloc_hook = fn;
}
