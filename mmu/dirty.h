/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The dirty log both MMUs keep (mmu/tdp/dirty.c, mmu/shadow/dirty.c): one
 * range of gfns at a time, one bit per gfn, in bitmap pages hung off one
 * directory page (at most 64 GiB).  dir is published with a sequentially
 * consistent store and read by lockless fast paths, which mark after their
 * exchange made a page writable; a harvest takes and clears words
 * atomically, so a mark is never lost between the two.
 */
#ifndef UMBRA_MMU_DIRTY_H
#define UMBRA_MMU_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

/* How a harvest finds the SPTEs to write-protect again. */
enum mmu_reprotect {
	MMU_REPROTECT_AUTO,	/* each MMU's measured rule */
	MMU_REPROTECT_LOOKUP,	/* per dirty gfn: TDP descent, shadow rmap */
	MMU_REPROTECT_WALK,	/* every table (shadow page) of the range */
};

struct mmu_dirty_log {
	uint64_t gfn, nr;		/* logged gfns [gfn, gfn + nr) */
	uint64_t **dir;			/* NULL when logging is off */
};

/* 0 if [gpa, gpa + size) can be logged, else -MMU_EINVAL. */
int dirty_log_check(uint64_t gpa, uint64_t size);
/* The directory and bitmap pages for nr gfns, zeroed; NULL: no memory. */
uint64_t **dirty_log_alloc(uint64_t nr);
void dirty_log_free(uint64_t **dir);
/* Set gfn's bit if it is logged (lockless callers: inside their epoch). */
bool dirty_log_mark(struct mmu_dirty_log *log, uint64_t gfn);
/* Take and clear the bits of [gpa, gpa + size) into bitmap (bit i: gfn
 * (gpa >> 12) + i); returns how many were set, or -MMU_EINVAL if logging
 * is off or the range is not all logged. */
long dirty_log_take(struct mmu_dirty_log *log, uint64_t gpa, uint64_t size,
		    uint64_t *bitmap);

/* gfn is in the range; the caller read log->dir non-NULL. */
static inline bool dirty_log_has(const struct mmu_dirty_log *log,
				 uint64_t gfn)
{
	return gfn - log->gfn < log->nr;
}

#endif
