// SPDX-License-Identifier: BSD-2-Clause
/* The dirty-log bitmap both MMUs share (mmu/dirty.h). */
#include "mmu/dirty.h"
#include "mmu/env.h"
#include "mmu/pt.h"

#define BITS_PER_PAGE	(PT_PAGE_SIZE * 8)
#define LOG_MAX_PAGES	(PT_PAGE_SIZE / sizeof(uint64_t *))

int dirty_log_check(uint64_t gpa, uint64_t size)
{
	uint64_t nr = size >> PT_PAGE_SHIFT;

	if ((gpa | size) & (PT_PAGE_SIZE - 1) || !nr ||
	    nr > LOG_MAX_PAGES * BITS_PER_PAGE ||
	    gpa + size > (1ull << PT_VA_BITS))
		return -MMU_EINVAL;
	return 0;
}

static uint64_t *log_word(uint64_t **dir, uint64_t idx)
{
	return &dir[idx / BITS_PER_PAGE][(idx % BITS_PER_PAGE) / 64];
}

bool dirty_log_mark(struct mmu_dirty_log *log, uint64_t gfn)
{
	uint64_t **dir = __atomic_load_n(&log->dir, __ATOMIC_SEQ_CST);
	uint64_t idx = gfn - log->gfn;

	/* gfn and nr were written before dir was published */
	if (!dir || idx >= log->nr)
		return false;
	__atomic_fetch_or(log_word(dir, idx), 1ull << (idx % 64),
			  __ATOMIC_SEQ_CST);
	return true;
}

void dirty_log_free(uint64_t **dir)
{
	unsigned int i;

	for (i = 0; i < LOG_MAX_PAGES; i++)
		if (dir[i])
			mmu_free_page(dir[i]);
	mmu_free_page(dir);
}

uint64_t **dirty_log_alloc(uint64_t nr)
{
	uint64_t **dir = mmu_alloc_page();
	uint64_t i;

	if (!dir)
		return NULL;
	for (i = 0; i < (nr + BITS_PER_PAGE - 1) / BITS_PER_PAGE; i++) {
		dir[i] = mmu_alloc_page();
		if (!dir[i]) {
			dirty_log_free(dir);
			return NULL;
		}
	}
	return dir;
}

long dirty_log_take(struct mmu_dirty_log *log, uint64_t gpa, uint64_t size,
		    uint64_t *bitmap)
{
	uint64_t first = gpa >> PT_PAGE_SHIFT, last = (gpa + size) >> PT_PAGE_SHIFT;
	uint64_t idx = first - log->gfn, end = last - log->gfn;
	long n = 0;

	if (!log->dir || first < log->gfn || last < first ||
	    last > log->gfn + log->nr)
		return -MMU_EINVAL;
	while (idx < end) {
		unsigned int lo = idx % 64;
		uint64_t room = end - (idx - lo);
		uint64_t mask = ~0ull << lo;
		uint64_t got;

		if (room < 64)
			mask &= ~0ull >> (64 - room);
		got = __atomic_fetch_and(log_word(log->dir, idx), ~mask,
					 __ATOMIC_SEQ_CST) & mask;
		for (; got; got &= got - 1) {
			uint64_t i = idx - lo + (uint64_t)__builtin_ctzll(got) -
				     (first - log->gfn);

			bitmap[i / 64] |= 1ull << (i % 64);
			n++;
		}
		idx += 64 - lo;
	}
	return n;
}
