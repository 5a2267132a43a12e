/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The two-dimensional paging MMU: EPT or NPT tables from guest-physical to
 * host-physical, built on demand from a fixed guest-physical memory map.
 *
 * Locking (docs/mmu.md has the full story):
 *   - page faults, prefault and the dirty-log harvest hold the MMU lock for
 *     read and change SPTEs only with 64-bit compare-and-exchange, so vCPUs
 *     fault in parallel; a fault that loses a race returns MMU_FAULT_RETRY;
 *   - zap, dirty-log enable/disable and huge-page recovery hold it for write
 *     (they unlink tables); an unlinked table is freed only after the flush
 *     hook has run and every lockless walker has left (mmu/sync.h epoch);
 *   - the fast page fault and mmu_tdp_translate() take no lock.
 *
 * The flush hook must make every vCPU drop guest-physical translations of
 * this MMU (INVEPT single-context / a new ASID or TLB_CONTROL flush) before
 * that vCPU next uses them; with one vCPU, flushing before the next VM entry
 * is enough.  It may be called with the MMU lock held for read or write, so
 * with several vCPUs it must not wait for a vCPU that is in the hypervisor
 * (it may be spinning on this lock): post a flush request that vCPU honours
 * before its next entry, and wait only for vCPUs in guest mode to exit.
 *
 * The access of a fault: EPT, exit qualification bits 2:0 (SDM 28.3.3.2);
 * NPT, EXITINFO1 bit 1 -> PT_W, bit 4 -> PT_X, else PT_R (APM 15.25.6).
 *
 * struct mmu_tdp is large (the map is copied in): make it static or
 * allocate it.
 */
#ifndef UMBRA_MMU_TDP_H
#define UMBRA_MMU_TDP_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/dirty.h"
#include "mmu/pt.h"
#include "mmu/sync.h"

enum mmu_map_kind {
	MMU_MAP_RAM = 1,	/* gpa..gpa+size -> hpa..hpa+size */
	MMU_MAP_MMIO,		/* the same, default memory type UC (EPT) */
	MMU_MAP_SCRATCH,	/* every page -> the one page at hpa, 4 KiB */
};

#define MMU_MAP_RO	(1u << 0)	/* no write access */
#define MMU_MAP_NX	(1u << 1)	/* no instruction fetch */

enum mmu_memtype {
	MMU_MT_DEFAULT,	/* RAM WB; MMIO UC under EPT, WB under NPT (the
			   host MTRRs still apply, APM Vol 2 15.25.8) */
	MMU_MT_UC,
	MMU_MT_WC,
	MMU_MT_WT,
	MMU_MT_WP,
	MMU_MT_WB,
};

/* One range of the guest-physical map; gpa, size, hpa 4 KiB aligned. */
struct mmu_map_range {
	uint64_t gpa;
	uint64_t size;
	uint64_t hpa;
	uint8_t kind;		/* enum mmu_map_kind */
	uint8_t flags;		/* MMU_MAP_RO, MMU_MAP_NX */
	uint8_t memtype;	/* enum mmu_memtype */
};

#define MMU_MAX_RANGES	512

struct mmu_tdp;

struct mmu_tdp_config {
	enum pt_format fmt;		/* PT_FMT_NPT or PT_FMT_EPT */
	int max_level;			/* largest leaf: 1, 2 (2 MiB) or 3
					   (1 GiB, if the CPU has them) */
	const struct mmu_map_range *map;	/* any order, no overlaps */
	unsigned int nr_map;
	void (*flush)(void *arg);	/* may be NULL only in tests */
	void *flush_arg;
};

enum mmu_fault_result {
	MMU_FAULT_FIXED,	/* mapped (or already was): re-enter */
	MMU_FAULT_RETRY,	/* lost a race: re-enter, it may fault again */
	MMU_FAULT_NOT_IN_MAP,	/* gpa is in no range: report it */
	MMU_FAULT_PROT,		/* the map forbids this access */
	MMU_FAULT_NOMEM,	/* no page for a table */
};

struct mmu_tdp_stats {
	uint64_t mapped[PT_LEVELS];	/* leaves now mapped, [level - 1] */
	uint64_t faults;		/* calls of mmu_tdp_fault() */
	uint64_t retries;		/* MMU_FAULT_RETRY returned */
	uint64_t spurious;		/* nothing to do (stale TLB) */
	uint64_t fast_fixes;		/* fixed by the lockless fast path */
	uint64_t fast_races;		/* its exchange lost to another CPU */
	uint64_t tables_alloc;		/* table pages allocated, root too */
	uint64_t tables_freed;
	uint64_t splits;		/* large leaves split */
	uint64_t recovered;		/* tables replaced by a large leaf */
	uint64_t flushes;		/* flush hook calls */
	uint64_t dirty_marks;		/* dirty-bitmap set operations */
	uint64_t reprotect_lookup;	/* harvests re-protected per gfn */
	uint64_t reprotect_walk;	/* harvests re-protected by walk */
};

struct mmu_tdp {
	enum pt_format fmt;
	int max_level;
	uint64_t *root;
	uint64_t root_pa;
	struct mmu_rwlock lock;
	struct mmu_epoch epoch;
	void (*flush)(void *arg);
	void *flush_arg;
	enum mmu_reprotect reprotect;	/* default AUTO: lookup if dirty <
					   half the table entries */
	bool no_fast_path;		/* benchmarks: always take the lock */
	struct mmu_dirty_log log;
	struct mmu_tdp_stats stats;
	unsigned int nr_map;
	struct mmu_map_range map[MMU_MAX_RANGES];	/* sorted by gpa */
};

/* Set up an empty MMU for the map (copied); 0 or -MMU_EINVAL/-MMU_ENOMEM. */
int mmu_tdp_init(struct mmu_tdp *mmu, const struct mmu_tdp_config *cfg);

/* nCR3 (APM Vol 2 15.25.3) / EPTP (SDM Vol 3 24.6.11: WB, 4 levels). */
uint64_t mmu_tdp_root_pa(const struct mmu_tdp *mmu);
uint64_t mmu_tdp_eptp(const struct mmu_tdp *mmu);

/* Handle an NPT/EPT violation at gpa for access (PT_R/PT_W/PT_X). */
enum mmu_fault_result mmu_tdp_fault(struct mmu_tdp *mmu, uint64_t gpa,
				    unsigned int access);


/* Unmap [gpa, gpa + size) (whole large leaves that overlap it). */
void mmu_tdp_zap(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size);

struct mmu_xlate {
	uint64_t hpa;
	uint64_t spte;
	int level;		/* of the leaf; 0 if not mapped */
	unsigned int perm;	/* PT_R/PT_W/PT_X of the leaf */
};

/* Lockless look-up for the debug console; 0 or -MMU_ENOENT. */
int mmu_tdp_translate(struct mmu_tdp *mmu, uint64_t gpa,
		      struct mmu_xlate *out);

/* A consistent-enough copy of the counters. */
void mmu_tdp_get_stats(struct mmu_tdp *mmu, struct mmu_tdp_stats *out);

/* Live table pages (allocated and not yet freed). */
uint64_t mmu_tdp_nr_tables(struct mmu_tdp *mmu);

/*
 * Dirty logging of one range at a time.  enable write-protects the range,
 * splitting large leaves eagerly; every first write after that sets the
 * gfn's bit.  get copies the bits of [gpa, gpa + size) into bitmap (bit i =
 * gfn (gpa >> 12) + i, the caller zeroes it), clears them and write-protects
 * those pages again; it returns how many bits were set.  disable stops
 * logging and brings large leaves back (tdp_recover_locked()).
 *
 * A fault marks a page after its exchange made the page writable (so the
 * page is marked exactly once): a write another vCPU makes in that instant
 * is reported by the next harvest, not by one that runs meanwhile.  For an
 * exact final harvest, stop the vCPUs first (none in guest mode or in
 * mmu_tdp_fault()), as KVM does.  The range is at most 64 GiB.
 */
int mmu_tdp_dirty_enable(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size);
void mmu_tdp_dirty_disable(struct mmu_tdp *mmu);
long mmu_tdp_dirty_get(struct mmu_tdp *mmu, uint64_t gpa, uint64_t size,
		       uint64_t *bitmap);

#endif
