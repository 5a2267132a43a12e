/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Atomics, a reader/writer spinlock and a lockless-walker epoch, on gcc's
 * __atomic builtins only, so that the same code runs on bare metal and under
 * pthreads on the host.
 *
 * The epoch is mmu/'s stand-in for RCU: a lockless walker (the fast page
 * fault, translate) brackets its walk with epoch_enter()/epoch_exit(); a
 * writer that has unlinked a table calls epoch_sync() before freeing it, which
 * returns once every walker that might still hold a pointer into the table has
 * left.  Walkers never wait for writers.
 */
#ifndef UMBRA_MMU_SYNC_H
#define UMBRA_MMU_SYNC_H

#include <stdbool.h>
#include <stdint.h>

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#endif
}

static inline uint64_t atomic_read64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void atomic_write64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* 64-bit compare-and-exchange: true if *p was *old and is now new; else
 * *old is refreshed with the current value. */
static inline bool atomic_cmpxchg64(uint64_t *p, uint64_t *old, uint64_t new)
{
	return __atomic_compare_exchange_n(p, old, new, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static inline uint64_t atomic_xchg64(uint64_t *p, uint64_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static inline void stat_add(uint64_t *p, int64_t v)
{
	__atomic_fetch_add(p, (uint64_t)v, __ATOMIC_RELAXED);
}

/* A plain spinlock (test and test-and-set). */
struct spinlock {
	uint32_t v;
};

static inline bool spin_trylock(struct spinlock *l)
{
	return !__atomic_load_n(&l->v, __ATOMIC_RELAXED) &&
	       !__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_lock(struct spinlock *l)
{
	while (!spin_trylock(l))
		cpu_relax();
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* Reader/writer spinlock; a waiting writer keeps new readers out. */
struct mmu_rwlock {
	uint32_t v;
};

#define RWL_WRITER	0x80000000u
#define RWL_WAITING	0x40000000u
#define RWL_READERS	0x3fffffffu

static inline void rwlock_init(struct mmu_rwlock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELAXED);
}

static inline void read_lock(struct mmu_rwlock *l)
{
	uint32_t v = __atomic_load_n(&l->v, __ATOMIC_RELAXED);

	for (;;) {
		if (v & (RWL_WRITER | RWL_WAITING)) {
			cpu_relax();
			v = __atomic_load_n(&l->v, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_compare_exchange_n(&l->v, &v, v + 1, true,
						__ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
	}
}

static inline void read_unlock(struct mmu_rwlock *l)
{
	__atomic_fetch_sub(&l->v, 1, __ATOMIC_RELEASE);
}

static inline void write_lock(struct mmu_rwlock *l)
{
	uint32_t v = __atomic_load_n(&l->v, __ATOMIC_RELAXED);

	for (;;) {
		if (!(v & RWL_WRITER) && !(v & RWL_READERS)) {
			if (__atomic_compare_exchange_n(&l->v, &v, RWL_WRITER,
							true, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return;
			continue;
		}
		if (!(v & RWL_WAITING))
			__atomic_fetch_or(&l->v, RWL_WAITING, __ATOMIC_RELAXED);
		cpu_relax();
		v = __atomic_load_n(&l->v, __ATOMIC_RELAXED);
	}
}

static inline void write_unlock(struct mmu_rwlock *l)
{
	__atomic_fetch_and(&l->v, ~RWL_WRITER, __ATOMIC_RELEASE);
}

/*
 * Two-counter epoch.  A walker registers in the counter of the current
 * epoch and re-checks the epoch so that a concurrent epoch_sync() either sees
 * its registration or the walker moves to the new epoch (it then cannot
 * reach anything unlinked before the flip).  Syncs are serialized by the
 * caller (the MMU write lock).
 */
struct mmu_epoch {
	uint32_t epoch;
	uint32_t count[2];
};

static inline void epoch_init(struct mmu_epoch *e)
{
	e->epoch = 0;
	e->count[0] = 0;
	e->count[1] = 0;
}

static inline uint32_t epoch_enter(struct mmu_epoch *e)
{
	for (;;) {
		uint32_t cur = __atomic_load_n(&e->epoch, __ATOMIC_SEQ_CST);

		__atomic_fetch_add(&e->count[cur & 1], 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&e->epoch, __ATOMIC_SEQ_CST) == cur)
			return cur & 1;
		__atomic_fetch_sub(&e->count[cur & 1], 1, __ATOMIC_SEQ_CST);
	}
}

static inline void epoch_exit(struct mmu_epoch *e, uint32_t slot)
{
	__atomic_fetch_sub(&e->count[slot], 1, __ATOMIC_RELEASE);
}

static inline void epoch_sync(struct mmu_epoch *e)
{
	uint32_t old = __atomic_fetch_add(&e->epoch, 1, __ATOMIC_SEQ_CST);

	while (__atomic_load_n(&e->count[old & 1], __ATOMIC_ACQUIRE))
		cpu_relax();
}

#endif
