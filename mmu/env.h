/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What mmu/ needs from the environment it is built into.
 *
 * mmu/ is portable C: it is linked into the hypervisor (freestanding,
 * UMBRA_CORE) and into host test programs (tests/host/env_host.c).  Each
 * environment implements exactly the five functions below.  Everything else
 * mmu/ needs is either in this directory (locks and atomics, mmu/sync.h,
 * built on gcc's __atomic builtins) or passed in by the caller:
 *
 *   - guest-physical memory access for the guest walker: struct gw_mem_ops
 *     in mmu/walk.h;
 *   - the TLB flush of a TDP MMU: struct mmu_tdp_config.flush in mmu/tdp/tdp.h.
 *
 * None of these may sleep; all may be called from several CPUs at once.
 */
#ifndef UMBRA_MMU_ENV_H
#define UMBRA_MMU_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "umbra/err.h"

/* A zeroed, 4 KiB aligned 4 KiB page, or NULL when memory is exhausted. */
void *mmu_alloc_page(void);

/*
 * As mmu_alloc_page(), but at a physical address below 4 GiB: for a PAE
 * root, which a 32-bit CR3 locates outside IA-32e mode (SDM Vol 3 4.4.1).
 */
void *mmu_alloc_page_low(void);

/* Give back a page from mmu_alloc_page() or mmu_alloc_page_low(). */
void mmu_free_page(void *va);

/* Physical address of a page from mmu_alloc_page() (any byte in it). */
uint64_t mmu_virt_to_phys(const void *va);

/* Inverse of mmu_virt_to_phys() for pages from mmu_alloc_page(). */
void *mmu_phys_to_virt(uint64_t pa);

/* Error values returned (negated) by mmu/ functions that return int:
   umbra's own (umbra/err.h) */
#define MMU_ENOENT	UMBRA_ENOENT
#define MMU_ENOMEM	UMBRA_ENOMEM
#define MMU_EBUSY	UMBRA_EBUSY
#define MMU_EINVAL	UMBRA_EINVAL

#endif
