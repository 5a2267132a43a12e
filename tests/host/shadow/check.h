/* SPDX-License-Identifier: BSD-2-Clause */
/* The host tests' consistency check of the shadow MMU (check.c). */
#ifndef UMBRA_TESTS_SHADOW_CHECK_H
#define UMBRA_TESTS_SHADOW_CHECK_H

struct shadow_mmu;

/*
 * Check every internal invariant (hash, rmap against SPTEs, parent
 * links, unsync bookkeeping, write protection); 0 if consistent, else -1
 * with a description in buf.
 */
int shadow_check(struct shadow_mmu *s, char *buf, unsigned int len);

#endif
