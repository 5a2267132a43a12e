/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shadow MMU: umbra's own page tables for a guest that runs without
 * EPT/NPT.  The hardware walks the shadow tables (long-mode encoding, 4
 * levels for a long-mode guest, PAE with a 4-entry root for every other
 * mode); they are built from the guest's tables on page faults, kept
 * consistent by write-protecting guest page tables, and allowed to go out of
 * sync for leaf tables until the guest itself must see a consistent TLB
 * (docs/mmu.md, part 2).
 *
 * One struct shadow_mmu per VM holds what all vCPUs share (shadow pages,
 * reverse map, pool, unsync list, lock); each vCPU has a struct
 * shadow_vcpu (its roots, control registers, role, pending flushes) and
 * passes it to the entry points of its own paging events.
 *
 * Calling rules for the hypervisor:
 *   - intercept #PF, MOV to CR3, INVLPG, writes to CR0, CR4 and EFER;
 *   - before every VM entry load shadow_root_hpa() into the hardware CR3
 *     (it changes on CR3 loads, mode changes and zaps of a root);
 *   - before every VM entry, once the vCPU counts as in guest mode for
 *     cfg.kick, flush the guest's TLB tag (ASID/VPID) if
 *     shadow_flush_pending() is true (also after the flush callback);
 *   - with several vCPUs, cfg.kick must make a vCPU in guest mode leave
 *     it, and return once it has (docs/mmu.md, "Several vCPUs");
 *   - SHADOW_EMULATE: emulate the faulting instruction (it writes guest
 *     memory with the guest's own permissions), then call
 *     shadow_emulated_write() with what it wrote.  Also call it for every
 *     other guest-memory write umbra makes on the guest's behalf.
 * Every entry point takes the MMU lock for write, except a write fault
 * that the lockless fast path fixes while dirty logging is on.
 */
#ifndef UMBRA_MMU_SHADOW_H
#define UMBRA_MMU_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/dirty.h"
#include "mmu/sync.h"
#include "mmu/walk.h"

/*
 * The memory budget, in 4 KiB pages: every page the shadow MMU takes from
 * mmu_alloc_page() counts (shadow tables, gfn arrays, the pages that hold
 * page structs, per-frame records and reverse-map descriptors, the hash
 * tables and struct shadow_mmu).  It never holds more; before each fault
 * it reclaims least recently used shadow pages to make room, and zaps
 * everything when even that is not enough (docs/mmu.md, "Memory").
 */
#define SHADOW_MIN_PAGES	24
#define SHADOW_MAX_VCPUS	16	/* in the MMU's own page */

struct shadow_config {
	unsigned int max_pages;		/* the budget, >= SHADOW_MIN_PAGES */
	bool oos;			/* allow out-of-sync leaf tables */
	unsigned int maxphyaddr;	/* guest CPUID 8000_0008h EAX[7:0] */
	bool gbpages;			/* guest has 1 GiB pages */
	/* host frame backing guest frame gfn, or -1 (not RAM: MMIO).  Must
	 * be one-to-one on the frames that hold guest page tables. */
	int64_t (*gfn_to_pfn)(void *arg, uint64_t gfn);
	/*
	 * Optional (NULL: every guest large page is mapped by 4 KiB SPTEs):
	 * true if guest frames [gfn, gfn + n) are RAM that gfn_to_pfn()
	 * maps to n consecutive host frames, none of them special (the
	 * scratch page, an MMIO or trapped frame), with one memory type.
	 * Then a guest large page over them may get a 2 MiB SPTE.
	 */
	bool (*large_ok)(void *arg, uint64_t gfn, uint64_t n);
	void *pfn_arg;
	const struct gw_mem_ops *mem;	/* guest-physical memory */
	void *mem_arg;
	/* Optional: guest frame gfn's 4 KiB, readable in place, or NULL
	 * (not RAM, or not mapped: mem->read then).  Syncs read a table
	 * through it. */
	const void *(*frame)(void *mem_arg, uint64_t gfn);
	/* The vCPU whose arg (shadow_vcpu_add()) this is: flush its guest
	 * TLB tag now (it is the caller's; may be NULL). */
	void (*flush)(void *arg);
	/*
	 * Another vCPU's TLB may hold what an SPTE no longer gives: its flag
	 * for shadow_flush_pending() is set; make it leave guest mode if it
	 * is in it, and return once it has (an IPI or NMI and a wait for
	 * it), so that it flushes before it runs again.  Called with the
	 * MMU lock held: the kicked vCPU must not need it to leave guest
	 * mode.  NULL: only one vCPU is ever added.
	 */
	void (*kick)(void *arg);
};

/* The guest's control registers as the guest sees them. */
struct shadow_cpu {
	uint64_t cr0, cr3, cr4, efer;
};

enum shadow_fault_result {
	SHADOW_FIXED,		/* re-enter the guest */
	SHADOW_INJECT,		/* inject #PF: error_code, CR2 = cr2 */
	SHADOW_EMULATE,		/* emulate the write (page table or CR0.WP=0
				   with SMAP), then shadow_emulated_write() */
	SHADOW_NOT_RAM,		/* gpa (a guest table or the target) is not
				   RAM: the caller's MMIO business */
	SHADOW_NOMEM,		/* no page even with nothing shadowed (the
				   environment gave fewer pages than
				   SHADOW_MIN_PAGES); the guest cannot go on */
};

struct shadow_fault {
	uint32_t error_code;	/* SHADOW_INJECT */
	uint64_t cr2;		/* SHADOW_INJECT */
	uint64_t gpa;		/* SHADOW_EMULATE, SHADOW_NOT_RAM */
};

/* Statistics, named as KVM names them where it has them. */
struct shadow_stats {
	uint64_t pages;			/* shadow pages in use now */
	uint64_t pages_by_level[5];	/* ... by role level */
	uint64_t direct_pages;		/* ... with a direct role */
	uint64_t mmu_cache_miss;	/* created */
	uint64_t mmu_shadow_zapped;	/* zapped */
	uint64_t mmu_recycled;		/* reclaimed from the LRU */
	uint64_t unsync;		/* unsync pages now */
	uint64_t mmu_unsync;		/* pages made unsync, in all */
	uint64_t global;		/* unsync-able pages that are global now */
	uint64_t sync_cr3, sync_invlpg, sync_flush, sync_link;
					/* pages synced, per reason */
	uint64_t sync_skipped;		/* entries found unchanged by them */
	uint64_t wp_faults;		/* write faults on protected frames */
	uint64_t mmu_pte_write;		/* emulated guest PTE writes */
	uint64_t mmu_pte_updated;	/* SPTEs updated in place by them */
	uint64_t mmu_flooded;		/* frames unprotected by flooding */
	uint64_t invlpg;		/* INVLPGs handled */
	uint64_t faults, faults_fixed, faults_injected, faults_emulated;
	uint64_t root_hits, root_misses;	/* CR3 loads, root cache */
	uint64_t flushes;		/* guest TLB flushes requested */
	uint64_t remote_flushes;	/* ... of the other vCPUs (rounds) */
	uint64_t mem_pages;		/* pages of the budget in use now */
	uint64_t mem_pages_max;		/* ... their high-water mark */
	uint64_t mem_budget;		/* cfg.max_pages */
	uint64_t alloc_failed;		/* allocations refused (budget full) */
	uint64_t mmu_zap_all;		/* everything zapped to make room */
	uint64_t dirty_marks;		/* dirty-log bits set */
	uint64_t fast_fixes;		/* write faults fixed without the lock */
	uint64_t reprotect_rmap, reprotect_walk;	/* harvests, by way */
	uint64_t large_mapped;		/* 2 MiB SPTEs installed by faults */
	uint64_t large_recovered;	/* ... in place of a 4 KiB table */
	uint64_t large_zapped;		/* ... dropped for a shadowed table
					   or for dirty logging */
};

struct shadow_mmu;
struct shadow_vcpu;

/* The VM's shadow MMU, with no vCPU yet.  Returns 0 or -MMU_ENOMEM /
 * -MMU_EINVAL. */
int shadow_init(struct shadow_mmu **out, const struct shadow_config *cfg);
/* A vCPU whose guest state is st now; arg goes to cfg.flush and cfg.kick.
 * 0, -MMU_EBUSY (SHADOW_MAX_VCPUS already) or -MMU_ENOMEM (no root). */
int shadow_vcpu_add(struct shadow_mmu *s, const struct shadow_cpu *st,
		    void *arg, struct shadow_vcpu **out);
/* Frees every page; returns the number of pages that were still in use. */
long shadow_destroy(struct shadow_mmu *s);

/* #PF exit: gva = CR2, error_code from the hardware, ac = EFLAGS.AC. */
enum shadow_fault_result shadow_page_fault(struct shadow_vcpu *vc, uint64_t gva,
					   uint32_t error_code, bool ac,
					   struct shadow_fault *out);
/*
 * The guest's PKRU and IA32_PKRS as they are now, for the walks of the
 * faults that follow (protection keys, mmu/walk.h): the hypervisor gives
 * them before shadow_page_fault() while the guest's CR4 has PKE or PKS,
 * since the guest changes them without an exit (WRPKRU, XRSTOR; the MSR
 * where the hypervisor lets its writes through).  The shadow leaves carry
 * the keys of the guest's 4-level leaves and the hardware checks them
 * itself with the guest's registers loaded.
 */
void shadow_set_pkeys(struct shadow_vcpu *vc, uint32_t pkru, uint32_t pkrs);
/* MOV to CR3 (PAE: after the hypervisor loaded and checked the PDPTEs,
 * which it passes in pdpte[]; NULL in other modes). */
int shadow_load_cr3(struct shadow_vcpu *vc, uint64_t cr3,
		    const uint64_t *pdpte);
/* INVLPG gva (also in paging-off mode, where it drops that SPTE). */
void shadow_invlpg(struct shadow_vcpu *vc, uint64_t gva);
/* Write to CR0, CR4 or EFER: all three values after it (and pdpte[] when
 * the new mode is PAE). */
int shadow_set_cr(struct shadow_vcpu *vc, uint64_t cr0, uint64_t cr4,
		  uint64_t efer, const uint64_t *pdpte);
/* The hypervisor wrote size bytes at gpa on the guest's behalf (memory
 * already holds them). */
void shadow_emulated_write(struct shadow_vcpu *vc, uint64_t gpa,
			   const void *bytes, unsigned int size);

/*
 * A guest write the hypervisor does not emulate (SHADOW_EMULATE for an
 * instruction outside its emulator): shadow_unprotect_gfn() zaps every
 * shadow page of the frame, so that the guest can run the instruction
 * again unhindered (returns how many were zapped; 0: nothing protected
 * it).  Where the frame is shadowed again at once (it maps the
 * instruction, its stack or the address written), shadow_allow_write()
 * makes the present leaf SPTE for gva writable (supervisor-only unless
 * user) for one single-stepped instruction, after which the hypervisor
 * calls shadow_unprotect_gfn() for the frame (-1: no present leaf).
 */
unsigned int shadow_unprotect_gfn(struct shadow_vcpu *vc, uint64_t gfn);
int shadow_allow_write(struct shadow_vcpu *vc, uint64_t gva, bool user);

/*
 * Dirty logging of guest-physical [gpa, gpa + size) (one range, at most 64
 * GiB; the bitmap comes from the environment, not the budget).  enable
 * write-protects every leaf of the range; each first write after that sets
 * the gfn's bit: a guest write through the shadow tables (the fast path or
 * a fault), a write umbra emulates, an A/D bit umbra's walk sets.  get
 * copies the bits of [gpa, gpa + size) into bitmap (bit i = gfn (gpa >> 12)
 * + i; the caller zeroes it), clears them and write-protects those frames
 * again; it returns how many were set.  disable gives W back to the leaves
 * that lost it only for the log.  As with the TDP MMU, a fast-path write on
 * another vCPU in the instant of a harvest is reported by the next one.
 */
int shadow_dirty_enable(struct shadow_mmu *s, uint64_t gpa, uint64_t size);
long shadow_dirty_get(struct shadow_mmu *s, uint64_t gpa, uint64_t size,
		      uint64_t *bitmap);
void shadow_dirty_disable(struct shadow_mmu *s);
/* How get re-protects (tests and benchmarks; default AUTO). */
void shadow_set_reprotect(struct shadow_mmu *s, enum mmu_reprotect how);

uint64_t shadow_root_hpa(struct shadow_vcpu *vc);
/* Shadow root level the hardware uses: 4 (long mode) or 3 (PAE). */
int shadow_root_level(struct shadow_vcpu *vc);
/* True once since the last call if the guest TLB must be flushed. */
bool shadow_flush_pending(struct shadow_vcpu *vc);
/* Else, after an INVLPG: true once if the TLB must drop *va's page (call
 * after shadow_flush_pending(), whose flush covers it). */
bool shadow_flush_va_pending(struct shadow_vcpu *vc, uint64_t *va);
void shadow_get_stats(struct shadow_mmu *s, struct shadow_stats *st);
/* unsync pages now (cheap: for the exit-cost classes) */
uint64_t shadow_nr_unsync(const struct shadow_mmu *s);

#endif
