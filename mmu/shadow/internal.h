/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of the shadow MMU shared by mmu/shadow*.c (not an API). */
#ifndef UMBRA_MMU_SHADOW_INT_H
#define UMBRA_MMU_SHADOW_INT_H

#include <stddef.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "mmu/shadow/shadow.h"

#define SH_ACC_W	GW_PERM_W
#define SH_ACC_U	GW_PERM_U
#define SH_ACC_X	GW_PERM_X
#define SH_ACC_ALL	(SH_ACC_W | SH_ACC_U | SH_ACC_X)

#define SH_HASH		512	/* buckets of each hash, one page each */
/* Fibonacci hashing (Knuth, TAOCP Vol 3 6.4): 2^64 divided by the golden
   ratio; the top bits of gfn * SH_HASH_MUL pick the bucket */
#define SH_HASH_MUL	0x9e3779b97f4a7c15ull
#define SH_ROOTS	4	/* root cache entries */
#define SH_FLOOD	3	/* emulated writes without a fault through
				   the table before it is unprotected */
/*
 * Frame records hash: 16 buckets per page of the budget (a chain of about
 * four when level-1 pages with all their frame records fill the budget),
 * a power of two from 512 (one page) to 512 * 512, in pages listed in a
 * directory page.
 */
#define SH_GFN_BUCKETS_PER_PAGE	16
#define SH_GFN_DIR		512	/* pages of buckets, at most */
/*
 * Pages one fault may allocate besides syncs: a PAE root and its four
 * level-2 pages (a root reloaded after a zap), a level-1 page and its gfn
 * array (or a level-2 page's array of large-leaf gfns, large.c), and one
 * new page for each of the three slabs (a fault needs at
 * most 6 page structs, 6 frame records and 7 list descriptors, fewer than
 * one slab page holds).  Reclaim makes this much room before every fault.
 */
#define SH_FAULT_PAGES	11	/* + a level-2 page's large-leaf gfns */
/* Room made before an INVLPG or an emulated write, whose prefetch may
 * create a frame record and a descriptor (if it finds none it skips). */
#define SH_PREFETCH_PAGES	2
#define SH_PREFETCH	8	/* leaf entries a fault fills, at most */

/*
 * A harvest re-protects through the rmap of each dirty frame while there
 * are fewer than this many per shadow page, else by a walk of every leaf
 * shadow page.  bench_shadow (make bench), 1 GiB of 4 KiB pages in 515
 * shadow pages: the rmap costs about 65 ns a dirty frame, the walk about
 * 0.4 us a shadow page; they cross near 2.5 % dirty, 12 frames a page
 * (seed 003's rule, 1 a page, walks from 0.2 %).
 */
#define SH_RMAP_PER_PAGE	12

/*
 * Large shadow leaves (large.c): a 2 MiB region of guest frames has a
 * record of its own in the frame hash, keyed by the region number with
 * bit 63 set (no guest frame number has it).  Its rmap lists the 2 MiB
 * SPTEs that map the region; its nr_indirect counts the region's frames
 * that hold shadowed tables (each frame once).  Regions waiting for
 * recovery: at most SH_RECOVER, then every direct page is looked at.
 */
#define SH_REGION_KEY	(1ull << 63)
#define SH_REGION_PAGES	512
#define SH_RECOVER	8

/*
 * What a shadow page shadows, besides its frame.  Two pages for one frame
 * with different roles are different pages.
 */
union shadow_role {
	uint32_t word;
	struct {
		uint32_t level:3;	/* 1..4, as the hardware walks */
		uint32_t mode:2;	/* enum gw_mode of the guest */
		uint32_t quadrant:2;	/* 32-bit guest: which part of the
					   guest table (lvl 1: 2 KiB half,
					   lvl 2: 1 KiB quarter) */
		uint32_t direct:1;	/* no guest table: a guest large page
					   or paging off; gfn = first frame */
		uint32_t access:3;	/* SH_ACC_* of the guest path above */
		uint32_t wp:1;		/* guest CR0.WP */
		uint32_t nxe:1;		/* guest EFER.NXE */
		uint32_t smep_nowp:1;	/* CR4.SMEP && !CR0.WP */
		uint32_t smap_nowp:1;	/* CR4.SMAP && !CR0.WP: no entry
					   made for a WP=0 supervisor write
					   to a user page (supervisor-only,
					   shadow.c) may serve with SMAP */
		uint32_t pse:1;		/* 32-bit guest CR4.PSE */
		uint32_t pae_root:1;	/* the 4-entry PAE root (not hashed) */
		uint32_t pkey:4;	/* direct, 4-level guest: the key of
					   the guest's large leaf, which
					   its leaves carry (fault.c) */
	};
};

/* Doubly linked list node. */
struct sh_list {
	struct sh_list *prev, *next;
};

/* A list of SPTE pointers: empty, one pointer, or (bit 0) a descriptor. */
struct sptep_list {
	uintptr_t v;
};

#define SPTEP_DESC_N	14
struct sptep_desc {
	uint64_t *sptep[SPTEP_DESC_N];
	unsigned int n;
	struct sptep_desc *next;
};

struct shadow_page {
	struct sh_list lru;		/* s->lru, most recent first */
	struct sh_list unsync_link;	/* s->unsync_list while unsync */
	struct shadow_page *hnext;	/* gfn hash chain */
	struct shadow_page *pnext;	/* spt address hash chain */
	uint64_t gfn;
	union shadow_role role;
	uint64_t *spt;			/* the 512 SPTEs */
	uint64_t spt_pa;
	uint64_t *gptes;		/* indirect level 1: the guest PTE each
					   present leaf was made from (sync
					   skips entries that still hold it);
					   level 2: the first gfn of each
					   2 MiB leaf (from the first one) */
	struct sptep_list parents;	/* SPTEs that link to this page */
	unsigned int root_count;	/* pins: root cache entries */
	bool unsync;
	bool invalid;			/* zapped while pinned */
	bool gstale;			/* unsync global page an INVLPG may
					   have meant: no pass at CR3 load */
	uint16_t nr_present;		/* present SPTEs */
	uint16_t nr_global;		/* ... made from global guest PTEs */
	uint8_t flood;			/* emulated writes since last use */
	uint64_t root_key;		/* pae_root: CR3 it shadows */
	uint64_t pdpte[4];		/* pae_root: PDPTEs linked */
	uint64_t unsync_children[PT_ENTRIES / 64];
};

/* Per guest frame: reverse map and write-protection state. */
struct gfn_info {
	struct gfn_info *next;
	uint64_t gfn;
	struct sptep_list rmap;		/* leaf SPTEs mapping the frame */
	unsigned int nr_indirect;	/* shadow pages shadowing it */
	bool unsync;			/* its level-1 pages are unsync */
};

/*
 * Fixed-size objects carved from pages of the budget.  Each page starts
 * with this header and has its own free list; a page whose objects are all
 * free goes back to the MMU's pages unless it is the slab's only page with
 * free objects (so each slab keeps at most one empty page).
 */
struct sh_slab_page {
	struct sh_list link;		/* sl->partial while it has free room */
	void *free;
	unsigned int live;
};

struct sh_slab {
	unsigned int size;
	struct sh_list partial;		/* pages with free objects */
	long live;			/* objects in use */
	unsigned long pages;		/* pages held */
};

struct root_slot {
	struct shadow_page *sp;
	uint64_t key;			/* CR3 bits that select the root */
};

/*
 * What each vCPU has of the shadow MMU: its control registers, the role
 * they give new pages, its roots and its pending TLB flushes.  Its own
 * thread changes everything but remote_flush, under the MMU lock (the
 * flush fields also outside it: shadow_flush_pending()); remote_flush is
 * set by other vCPUs under the lock and taken by its own without it.
 */
struct shadow_vcpu {
	struct shadow_mmu *s;
	void *arg;			/* for cfg.flush and cfg.kick */
	bool used;
	struct shadow_cpu cpu;
	uint64_t pdpte[4];		/* PAE guest: PDPTEs loaded */
	enum gw_mode mode;
	union shadow_role base_role;	/* wp, nxe, smep/smap_nowp, pse, mode */
	uint32_t pkru, pkrs;		/* shadow_set_pkeys(): for the walks */
	struct shadow_page *root;	/* current root (also roots[0].sp) */
	struct root_slot roots[SH_ROOTS];
	bool flush;			/* its TLB must be flushed */
	bool flush_one;			/* else: only flush_va's page */
	uint64_t flush_va;
	uint32_t remote_flush;		/* another vCPU changed SPTEs it may
					   have cached: flush (atomic) */
};

/*
 * What all vCPUs share: the shadow pages (hash by gfn and by address),
 * the frame records and rmap, the pool within its budget, the unsync
 * list, the lock and the statistics; and each vCPU's own part.  The lock
 * (taken for write only: a spinlock) covers all of it but the vCPUs'
 * flush fields (above); cur is the vCPU that holds it, whose roots and
 * control registers the helpers use (NULL: a VM-wide call, dirty.c).
 * docs/mmu.md, "Several vCPUs".
 */
struct shadow_mmu {
	struct shadow_config cfg;
	struct mmu_rwlock lock;
	struct shadow_vcpu *cur;
	bool flush_all;			/* an SPTE lost permission or a page
					   was zapped or synced: every vCPU
					   flushes before it runs on it */
	void *page_zapped;		/* freed while other vCPUs may still
					   walk them: reused once they
					   flushed (sh_commit()) */
	unsigned long nr_zapped;
	unsigned int nr_vcpus;
	struct shadow_page **hash;	/* by gfn */
	struct shadow_page **pa_hash;	/* by spt_pa */
	struct gfn_info ***gfn_dir;	/* pages of SH_HASH frame buckets */
	unsigned int gfn_bits;		/* log2 of the number of buckets */
	unsigned int fixed_pages;	/* s, hashes, directory, buckets */
	struct sh_list lru;
	struct sh_slab sp_slab, gi_slab, desc_slab;
	unsigned int nr_pages;		/* shadow pages */
	/* Memory: every page the MMU holds counts against cfg.max_pages. */
	unsigned long mem_pages;	/* in use (all kinds) */
	unsigned long mem_peak;		/* high-water mark of mem_pages */
	void *page_cache;		/* freed pages kept for reuse, chained
					   through their first word */
	struct sh_list unsync_list;	/* unsync pages */
	unsigned int nr_unsync_global;	/* ... with a global SPTE (INVLPG) */
	/* Dirty logging (dirty.c): the log, the fast path's epoch, pages
	 * freed while it may walk (reused after an epoch sync). */
	struct mmu_dirty_log log;
	struct mmu_epoch epoch;
	enum mmu_reprotect reprotect;
	void *page_limbo;
	/* Huge-page recovery (large.c): regions whose last shadowed table
	 * went, or every region (recover_all: dirty logging stopped). */
	uint64_t recover[SH_RECOVER];
	unsigned int nr_recover;
	bool recover_all;
	struct shadow_stats st;
	struct shadow_vcpu vcpus[SHADOW_MAX_VCPUS];
};

enum sync_reason { SYNC_CR3, SYNC_INVLPG, SYNC_FLUSH, SYNC_LINK };

/* rmap.c */
void *sh_page_alloc(struct shadow_mmu *s);
void sh_page_free(struct shadow_mmu *s, void *p);
void *sh_page_alloc_low(struct shadow_mmu *s);
void sh_page_free_low(struct shadow_mmu *s, void *p);
void sh_page_cache_drain(struct shadow_mmu *s);
void sh_limbo_drain(struct shadow_mmu *s);
void slab_init(struct sh_slab *sl, unsigned int size);
void *slab_alloc(struct shadow_mmu *s, struct sh_slab *sl);
void slab_free(struct shadow_mmu *s, struct sh_slab *sl, void *p);
void slab_destroy(struct shadow_mmu *s, struct sh_slab *sl);
int sptep_add(struct shadow_mmu *s, struct sptep_list *l, uint64_t *sptep);
void sptep_del(struct shadow_mmu *s, struct sptep_list *l, uint64_t *sptep);
unsigned int sptep_get(const struct sptep_list *l, uint64_t **out,
		       unsigned int max, unsigned int from);
int gfn_hash_init(struct shadow_mmu *s);
void gfn_hash_destroy(struct shadow_mmu *s);
struct gfn_info **gfn_head(struct shadow_mmu *s, uint64_t gfn);
struct gfn_info *gfn_lookup(struct shadow_mmu *s, uint64_t gfn);
struct gfn_info *gfn_get(struct shadow_mmu *s, uint64_t gfn);
void gfn_put(struct shadow_mmu *s, struct gfn_info *gi);
int rmap_add(struct shadow_mmu *s, uint64_t gfn, uint64_t *sptep);
void rmap_del(struct shadow_mmu *s, uint64_t gfn, uint64_t *sptep);
bool rmap_clear(struct shadow_mmu *s, uint64_t gfn, uint64_t bits);
void rmap_write_protect(struct shadow_mmu *s, uint64_t gfn);
bool spte_clear(uint64_t *sptep, uint64_t bits);
bool gfn_protected(struct shadow_mmu *s, uint64_t gfn);

/* mmu.c */
struct shadow_page *get_page(struct shadow_mmu *s, uint64_t gfn,
			     union shadow_role role);
void link_child(struct shadow_mmu *s, struct shadow_page *sp,
		unsigned int i, struct shadow_page *child);
struct shadow_page *sp_alloc(struct shadow_mmu *s, uint64_t gfn,
			     union shadow_role role);
void unpin(struct shadow_mmu *s, struct shadow_page *sp);
void zap_all(struct shadow_mmu *s);
struct shadow_page *sp_of_spte(struct shadow_mmu *s, uint64_t *sptep);
struct shadow_page *sp_by_pa(struct shadow_mmu *s, uint64_t pa);
unsigned int spte_index(const uint64_t *sptep);
void drop_spte(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i);
void zap_page(struct shadow_mmu *s, struct shadow_page *sp);
void make_room(struct shadow_mmu *s, unsigned int need);
bool role_indirect(union shadow_role r);
void sh_flush_others(struct shadow_mmu *s);
void sh_commit_slow(struct shadow_mmu *s);
void sh_release_zapped(struct shadow_mmu *s);

/* root.c */
void compute_base_role(struct shadow_mmu *s);
int load_root(struct shadow_mmu *s);
int reload_root(struct shadow_mmu *s);

/* sync.c */
bool gpte_rsvd(const struct shadow_mmu *s, union shadow_role r, uint64_t g);
unsigned int gpte_perm(union shadow_role r, uint64_t g);
int gpte_read(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	      uint64_t *g);
uint64_t make_leaf(struct shadow_mmu *s, uint64_t pfn, unsigned int perm,
		   uint64_t w, uint64_t gpte);
int set_leaf(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	     uint64_t gfn, uint64_t spte, bool global, uint64_t gpte);
void refresh_entry(struct shadow_mmu *s, struct shadow_page *sp,
		   unsigned int i, bool prefetch);
const void *table_of(struct shadow_mmu *s, struct shadow_page *sp);
void prefetch_entry(struct shadow_mmu *s, struct shadow_page *sp,
		    const void *tbl, unsigned int i);
void sync_page(struct shadow_mmu *s, struct shadow_page *sp,
	       enum sync_reason why);
void sync_gfn(struct shadow_mmu *s, uint64_t gfn, enum sync_reason why);
bool try_unsync(struct shadow_mmu *s, uint64_t gfn);
void sync_children(struct shadow_mmu *s, struct shadow_page *sp,
		   enum sync_reason why);
void sync_all(struct shadow_mmu *s);
void sp_unsync_done(struct shadow_mmu *s, struct shadow_page *sp);
bool sp_has_unsync_children(const struct shadow_page *sp);
void mark_unsync_up(struct shadow_mmu *s, struct shadow_page *sp);
bool sp_global(const struct shadow_page *sp);

/* large.c */
bool large_allowed(struct shadow_mmu *s, uint64_t gfn);
uint64_t make_large(struct shadow_mmu *s, uint64_t pfn, unsigned int perm,
		    uint64_t w, uint64_t attr);
int set_large(struct shadow_mmu *s, struct shadow_page *sp, unsigned int i,
	      uint64_t gfn, uint64_t spte);
struct gfn_info *region_get(struct shadow_mmu *s, uint64_t gfn);
void region_shadowed(struct shadow_mmu *s, struct gfn_info *ri);
void region_unshadowed(struct shadow_mmu *s, uint64_t gfn);
void large_zap_range(struct shadow_mmu *s, uint64_t first, uint64_t nr);
void recover_large(struct shadow_mmu *s);

/* sp->nr_global changes here only, so that s->nr_unsync_global follows */
static inline void sp_global_inc(struct shadow_mmu *s, struct shadow_page *sp)
{
	if (!sp->nr_global++ && sp->unsync)
		s->nr_unsync_global++;
}

static inline void sp_global_dec(struct shadow_mmu *s, struct shadow_page *sp)
{
	if (!--sp->nr_global && sp->unsync)
		s->nr_unsync_global--;
}

/* dirty.c */
extern const struct gw_mem_ops sh_logged_mem;
void sh_mark_dirty(struct shadow_mmu *s, uint64_t gfn);
uint64_t leaf_w_logged(struct shadow_mmu *s, uint64_t gfn, bool write);

static inline void sh_list_init(struct sh_list *l)
{
	l->prev = l;
	l->next = l;
}

static inline void sh_list_del(struct sh_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n;
	n->next = n;
}

static inline void sh_list_add(struct sh_list *head, struct sh_list *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

#define sh_container(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

#define SH_CR4_PGE	(1ull << 7)	/* SDM Vol 3 2.5, CR4.PGE */
/* Made from a global guest PTE.  Bit 9 is ignored in a 4 KiB PTE of both
 * shadow formats, PAE (SDM Vol 3 Table 4-11) and 4-level (Table 4-19);
 * bits 62:MAXPHYADDR are reserved in PAE entries, so bit 53 would fault. */
#define SPTE_GLOBAL	(1ull << 9)

/*
 * "Writable for the guest": the guest PTE allows the write and is dirty, and
 * the frame holds no shadowed table; W is clear only for dirty logging, and
 * the lockless fast path may set it (fault.c).  Cleared with W when the
 * frame is write-protected for a shadowed table.  Bit 10 is ignored in a
 * 4 KiB PTE of both shadow formats (SDM Vol 3 Tables 4-11, 4-19).
 */
#define SPTE_SH_W	(1ull << 10)

/* Link SPTE (non-leaf): every permission; the leaves hold them. */
#define SPTE_LINK	(PTE_P | PTE_RW | PTE_US | PTE_A)

/* A store the lockless fast path may read at the same time. */
static inline void spte_set(uint64_t *sptep, uint64_t v)
{
	__atomic_store_n(sptep, v, __ATOMIC_RELAXED);
}

static inline bool spte_present(uint64_t e)
{
	return e & PTE_P;
}

/* the bucket of gfn (or of any key) in a SH_HASH-bucket hash */
static inline unsigned int sh_bucket(uint64_t key)
{
	return (unsigned int)((key * SH_HASH_MUL) >> 55) & (SH_HASH - 1);
}

static inline uint64_t region_key(uint64_t gfn)
{
	return SH_REGION_KEY | (gfn / SH_REGION_PAGES);
}

/* A 2 MiB leaf: PS in a level-2 entry (SDM Vol 3 Tables 4-10, 4-17). */
static inline bool spte_large(const struct shadow_page *sp, uint64_t e)
{
	return sp->role.level == 2 && (e & PTE_PS);
}

static inline uint64_t gpte_frame(union shadow_role r, uint64_t g)
{
	if (r.mode == GW_MODE_32)
		return (g & 0xfffff000ull) >> 12;
	return (g & PT_ADDR_MASK) >> 12;
}

/* small and on every fault path: inline for all the room's files */
static inline uint64_t leaf_gfn(const struct shadow_page *sp, unsigned int i)
{
	return sp->role.direct ? sp->gfn + i :
				 gpte_frame(sp->role, sp->gptes[i]);
}

/* The protection key bits of guest leaf g for the SPTE made from it: 4-level
 * guests only (PAE paging has none, SDM Vol 3 4.6.2; the hardware runs PAE
 * shadow tables for 32-bit and PAE guests, where bits 62:59 are reserved). */
static inline uint64_t leaf_pkey(union shadow_role r, uint64_t g)
{
	return r.mode == GW_MODE_LM ? g & PTE_PKEY : 0;
}

/* The W bits of a leaf for gfn that the guest may write (SPTE_SH_W); a
 * logged gfn gets W only on the write itself, which marks it. */
static inline uint64_t leaf_w(struct shadow_mmu *s, uint64_t gfn, bool write)
{
	if (__builtin_expect(!s->log.dir, 1))
		return SPTE_SH_W | PTE_RW | PTE_D;
	return leaf_w_logged(s, gfn, write);
}

static inline void touch(struct shadow_mmu *s, struct shadow_page *sp)
{
	sh_list_del(&sp->lru);
	sh_list_add(&s->lru, &sp->lru);
}

static inline uint64_t addr_mask(const struct shadow_mmu *s)
{
	return PT_ADDR_MASK & ((1ull << s->cfg.maxphyaddr) - 1);
}

static inline int root_level(const struct shadow_vcpu *vc)
{
	return vc->mode == GW_MODE_LM ? 4 : 3;
}

static inline void ensure_root(struct shadow_mmu *s)
{
	if (s->cur->root && s->cur->root->invalid)
		reload_root(s);
}

/* Take the MMU lock for vCPU vc (NULL: for the whole VM). */
static inline void sh_lock(struct shadow_mmu *s, struct shadow_vcpu *vc)
{
	write_lock(&s->lock);
	s->cur = vc;
}

static inline void sh_unlock(struct shadow_mmu *s)
{
	s->cur = NULL;
	write_unlock(&s->lock);
}

/* What the operation so far asked of the vCPUs' TLBs, and the pages it
 * freed (mmu.c). */
static inline void sh_commit(struct shadow_mmu *s)
{
	if (s->flush_all)	/* also set when a page waits in page_zapped */
		sh_commit_slow(s);
}

/* Huge-page recovery that an entry point's zaps made due (large.c): at
 * its end, never in the middle of a walk. */
static inline void sh_recover(struct shadow_mmu *s)
{
	if (s->nr_recover || s->recover_all)
		recover_large(s);
}

/* The end of a vCPU's entry point, under the lock: a zapped root
 * reloaded, the flushes requested (the others' by sh_commit(), the
 * caller's now).  A VM-wide one (s->cur NULL) ends with sh_commit(). */
static inline void finish(struct shadow_mmu *s)
{
	struct shadow_vcpu *vc = s->cur;

	sh_recover(s);
	if (vc->root && vc->root->invalid)	/* ensure_root() */
		reload_root(s);
	sh_commit(s);
	if (vc->flush) {
		s->st.flushes++;
		if (s->cfg.flush)
			s->cfg.flush(vc->arg);
	}
}

#endif
