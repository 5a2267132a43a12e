// SPDX-License-Identifier: BSD-2-Clause
/*
 * Shadow MMU bookkeeping: a page-carving allocator for the small records,
 * lists of SPTE pointers (parent links and reverse maps), and the per-frame
 * record that holds the reverse map and the write-protection state.
 */
#include "mmu/mutant.h"
#include "mmu/shadow/internal.h"

#define SLAB_HDR	64	/* first bytes of a slab page: the header */

/*
 * A zeroed page of the budget, or NULL when cfg.max_pages are in use (or
 * the environment has none left, which lowers the budget).  Freed pages stay with the MMU for reuse:
 * no page returns to the environment before shadow_destroy().
 */
/* At the budget: the allocation is refused (and counted). */
static bool budget_full(struct shadow_mmu *s)
{
	if (s->mem_pages < s->cfg.max_pages)
		return false;
	s->st.alloc_failed++;
	return true;
}

static void *budget_take(struct shadow_mmu *s, void *p)
{
	if (++s->mem_pages > s->mem_peak)
		s->mem_peak = s->mem_pages;
	return p;
}

/*
 * Pages freed while dirty logging is on wait in the limbo: the fast path
 * may still be reading them as shadow tables.  They go to the cache after
 * an epoch sync, when the cache is empty or logging stops.
 */
void sh_limbo_drain(struct shadow_mmu *s)
{
	epoch_sync(&s->epoch);
	while (s->page_limbo) {
		void *p = s->page_limbo;

		s->page_limbo = *(void **)p;
		*(void **)p = s->page_cache;
		s->page_cache = p;
	}
}

static void *cache_pop(struct shadow_mmu *s)
{
	void *p;

	if (!s->page_cache && s->page_limbo)
		sh_limbo_drain(s);
	p = s->page_cache;

	if (p)
		s->page_cache = *(void **)p;
	return p;
}

void *sh_page_alloc(struct shadow_mmu *s)
{
	void *p;

	if (budget_full(s))
		return NULL;
	p = cache_pop(s);
	if (p) {
		__builtin_memset(p, 0, PT_PAGE_SIZE);
	} else {
		p = mmu_alloc_page();
		if (!p) {
			/* the environment has fewer pages than the budget
			 * said: what the MMU holds is its budget from now on,
			 * so that make_room() reclaims by LRU */
			if (s->mem_pages >= SHADOW_MIN_PAGES)
				s->cfg.max_pages = (unsigned int)s->mem_pages;
			s->st.alloc_failed++;
			return NULL;
		}
	}
	return budget_take(s, p);
}

/*
 * With several vCPUs a freed page may still be in another CPU's
 * paging-structure caches (SDM Vol 3 4.10.3) until it flushes: it waits,
 * still counted, until the operation's sh_commit() has flushed them.
 */
void sh_page_free(struct shadow_mmu *s, void *p)
{
	void **list = s->log.dir ? &s->page_limbo : &s->page_cache;

	if (s->nr_vcpus > 1) {
		*(void **)p = s->page_zapped;
		s->page_zapped = p;
		s->nr_zapped++;
		s->flush_all = true;	/* sh_commit() releases it */
		return;
	}
	*(void **)p = *list;
	*list = p;
	s->mem_pages--;
}

/*
 * Pages below 4 GiB (PAE roots): counted in the budget like the others, but
 * never kept in the page cache, whose pages may lie anywhere.
 */
void *sh_page_alloc_low(struct shadow_mmu *s)
{
	void *p;

	if (budget_full(s))
		return NULL;
	/* trade a cached page for the low one: what the MMU holds from the
	 * environment, cache included, never exceeds its high-water mark */
	p = cache_pop(s);
	if (p)
		mmu_free_page(p);
	p = mmu_alloc_page_low();
	if (!p) {
		s->st.alloc_failed++;
		return NULL;
	}
	return budget_take(s, p);
}

void sh_page_free_low(struct shadow_mmu *s, void *p)
{
	mmu_free_page(p);
	s->mem_pages--;
}

/* Give the cached pages back to the environment. */
void sh_page_cache_drain(struct shadow_mmu *s)
{
	sh_limbo_drain(s);
	while (s->page_cache) {
		void *next = *(void **)s->page_cache;

		mmu_free_page(s->page_cache);
		s->page_cache = next;
	}
}

void slab_init(struct sh_slab *sl, unsigned int size)
{
	sl->size = (size + 15) & ~15u;
	sh_list_init(&sl->partial);
}

static struct sh_slab_page *slab_grow(struct shadow_mmu *s, struct sh_slab *sl)
{
	struct sh_slab_page *pg = sh_page_alloc(s);
	unsigned int off;

	if (!pg)
		return NULL;
	for (off = SLAB_HDR + (PT_PAGE_SIZE - SLAB_HDR) / sl->size * sl->size;
	     off > SLAB_HDR;) {
		off -= sl->size;
		*(void **)((char *)pg + off) = pg->free;
		pg->free = (char *)pg + off;
	}
	sh_list_add(&sl->partial, &pg->link);
	sl->pages++;
	return pg;
}

void *slab_alloc(struct shadow_mmu *s, struct sh_slab *sl)
{
	struct sh_slab_page *pg;
	void *p;

	if (sl->partial.next == &sl->partial && !slab_grow(s, sl))
		return NULL;
	pg = sh_container(sl->partial.next, struct sh_slab_page, link);
	p = pg->free;
	pg->free = *(void **)p;
	if (!pg->free)
		sh_list_del(&pg->link);
	pg->live++;
	sl->live++;
	__builtin_memset(p, 0, sl->size);
	return p;
}

void slab_free(struct shadow_mmu *s, struct sh_slab *sl, void *p)
{
	struct sh_slab_page *pg = (struct sh_slab_page *)((uintptr_t)p &
					~(uintptr_t)(PT_PAGE_SIZE - 1));

	if (!pg->free)
		sh_list_add(&sl->partial, &pg->link);
	*(void **)p = pg->free;
	pg->free = p;
	pg->live--;
	sl->live--;
	if (!pg->live && (sl->partial.next != &pg->link ||
			  pg->link.next != &sl->partial)) {
		sh_list_del(&pg->link);
		sl->pages--;
		sh_page_free(s, pg);
	}
}

/* Free the pages of a slab whose objects are all free. */
void slab_destroy(struct shadow_mmu *s, struct sh_slab *sl)
{
	while (sl->partial.next != &sl->partial) {
		struct sh_slab_page *pg = sh_container(sl->partial.next,
						       struct sh_slab_page,
						       link);

		sh_list_del(&pg->link);
		sl->pages--;
		sh_page_free(s, pg);
	}
}

int sptep_add(struct shadow_mmu *s, struct sptep_list *l, uint64_t *sptep)
{
	struct sptep_desc *d;

	if (!l->v) {
		l->v = (uintptr_t)sptep;
		return 0;
	}
	if (!(l->v & 1)) {
		d = slab_alloc(s, &s->desc_slab);
		if (!d)
			return -MMU_ENOMEM;
		d->sptep[0] = (uint64_t *)l->v;
		d->n = 1;
		l->v = (uintptr_t)d | 1;
	}
	d = (struct sptep_desc *)(l->v & ~(uintptr_t)1);
	if (d->n == SPTEP_DESC_N) {
		struct sptep_desc *nd = slab_alloc(s, &s->desc_slab);

		if (!nd)
			return -MMU_ENOMEM;
		nd->next = d;
		d = nd;
		l->v = (uintptr_t)d | 1;
	}
	d->sptep[d->n++] = sptep;
	return 0;
}

/* Remove one occurrence; keeps the first descriptor the only partial one. */
void sptep_del(struct shadow_mmu *s, struct sptep_list *l, uint64_t *sptep)
{
	struct sptep_desc *head, *d;
	unsigned int i;

	if (!(l->v & 1)) {
		if (l->v == (uintptr_t)sptep)
			l->v = 0;
		return;
	}
	head = (struct sptep_desc *)(l->v & ~(uintptr_t)1);
	for (d = head; d; d = d->next) {
		for (i = 0; i < d->n; i++) {
			if (d->sptep[i] != sptep)
				continue;
			d->sptep[i] = head->sptep[--head->n];
			if (!head->n) {
				l->v = head->next ?
				       (uintptr_t)head->next | 1 : 0;
				slab_free(s, &s->desc_slab, head);
			} else if (!head->next && head->n == 1) {
				l->v = (uintptr_t)head->sptep[0];
				slab_free(s, &s->desc_slab, head);
			}
			return;
		}
	}
}

/* Copy up to max entries, skipping the first `from'; returns the count. */
unsigned int sptep_get(const struct sptep_list *l, uint64_t **out,
		       unsigned int max, unsigned int from)
{
	const struct sptep_desc *d;
	unsigned int n = 0, seen = 0, i;

	if (!l->v)
		return 0;
	if (!(l->v & 1)) {
		if (from == 0 && max)
			out[n++] = (uint64_t *)l->v;
		return n;
	}
	for (d = (void *)(l->v & ~(uintptr_t)1); d; d = d->next)
		for (i = 0; i < d->n; i++, seen++)
			if (seen >= from && n < max)
				out[n++] = d->sptep[i];
	return n;
}

/* The frame records' hash, sized by the budget (internal.h). */
int gfn_hash_init(struct shadow_mmu *s)
{
	unsigned long want = (unsigned long)s->cfg.max_pages *
			     SH_GFN_BUCKETS_PER_PAGE;
	unsigned int k, pages;

	s->gfn_bits = 9;
	while ((1ul << s->gfn_bits) < want && s->gfn_bits < 18)
		s->gfn_bits++;
	pages = (1u << s->gfn_bits) / SH_HASH;
	s->gfn_dir = sh_page_alloc(s);
	if (!s->gfn_dir)
		return -MMU_ENOMEM;
	for (k = 0; k < pages; k++) {
		s->gfn_dir[k] = sh_page_alloc(s);
		if (!s->gfn_dir[k])
			return -MMU_ENOMEM;
	}
	return 0;
}

void gfn_hash_destroy(struct shadow_mmu *s)
{
	unsigned int k;

	if (!s->gfn_dir)
		return;
	for (k = 0; k < SH_GFN_DIR && s->gfn_dir[k]; k++)
		sh_page_free(s, s->gfn_dir[k]);
	sh_page_free(s, s->gfn_dir);
	s->gfn_dir = NULL;
}

struct gfn_info **gfn_head(struct shadow_mmu *s, uint64_t gfn)
{
	unsigned long b = (unsigned long)((gfn * SH_HASH_MUL) >>
					  (64 - s->gfn_bits));

	return &s->gfn_dir[b / SH_HASH][b % SH_HASH];
}

struct gfn_info *gfn_lookup(struct shadow_mmu *s, uint64_t gfn)
{
	struct gfn_info *gi;

	for (gi = *gfn_head(s, gfn); gi; gi = gi->next)
		if (gi->gfn == gfn)
			return gi;
	return NULL;
}

struct gfn_info *gfn_get(struct shadow_mmu *s, uint64_t gfn)
{
	struct gfn_info *gi = gfn_lookup(s, gfn), **head;

	if (gi)
		return gi;
	gi = slab_alloc(s, &s->gi_slab);
	if (!gi)
		return NULL;
	head = gfn_head(s, gfn);
	gi->gfn = gfn;
	gi->next = *head;
	*head = gi;
	return gi;
}

/* Free the record once nothing refers to the frame any more. */
void gfn_put(struct shadow_mmu *s, struct gfn_info *gi)
{
	struct gfn_info **pp;

	if (gi->rmap.v || gi->nr_indirect)
		return;
	for (pp = gfn_head(s, gi->gfn); *pp; pp = &(*pp)->next) {
		if (*pp == gi) {
			*pp = gi->next;
			slab_free(s, &s->gi_slab, gi);
			return;
		}
	}
}

int rmap_add(struct shadow_mmu *s, uint64_t gfn, uint64_t *sptep)
{
	struct gfn_info *gi = gfn_get(s, gfn);

	if (!gi)
		return -MMU_ENOMEM;
	return sptep_add(s, &gi->rmap, sptep);
}

void rmap_del(struct shadow_mmu *s, uint64_t gfn, uint64_t *sptep)
{
	struct gfn_info *gi = gfn_lookup(s, gfn);

	if (!gi)
		return;
	sptep_del(s, &gi->rmap, sptep);
	gfn_put(s, gi);
}

/*
 * Clear bits (W, with or without SPTE_SH_W) of a leaf; true if W was set.
 * The fast path changes only an SPTE with SPTE_SH_W and no W, by one
 * exchange: such an SPTE is cleared atomically, so that a W it set in the
 * meantime is seen (and flushed) and does not survive.
 */
bool spte_clear(uint64_t *sptep, uint64_t bits)
{
	uint64_t old = __atomic_load_n(sptep, __ATOMIC_RELAXED);

	if (!(old & bits))
		return false;
	if ((old & (PTE_RW | SPTE_SH_W)) == SPTE_SH_W)
		old = __atomic_fetch_and(sptep, ~bits, __ATOMIC_SEQ_CST);
	else
		spte_set(sptep, old & ~bits);
	return old & PTE_RW;
}

/* Clear bits in every SPTE that maps gfn; true if one lost W. */
bool rmap_clear(struct shadow_mmu *s, uint64_t gfn, uint64_t bits)
{
	struct gfn_info *gi = gfn_lookup(s, gfn);
	uint64_t *batch[32];
	unsigned int n, i, from = 0;
	bool w = false;

	if (!gi)
		return false;
	while ((n = sptep_get(&gi->rmap, batch, 32, from))) {
		for (i = 0; i < n; i++)
			w |= spte_clear(batch[i], bits);
		from += n;
	}
	if (w && !MUTANT(shadow_wp_no_flush))
		s->flush_all = true;
	return w;
}

/* The frame holds a shadowed table: no W, and no fast path either. */
void rmap_write_protect(struct shadow_mmu *s, uint64_t gfn)
{
	rmap_clear(s, gfn, PTE_RW | (MUTANT(shadow_fast_on_table) ? 0 :
				     SPTE_SH_W));
}

/* Writes to gfn must trap: it holds a shadowed table that is in sync. */
bool gfn_protected(struct shadow_mmu *s, uint64_t gfn)
{
	struct gfn_info *gi = gfn_lookup(s, gfn);

	return gi && gi->nr_indirect && !gi->unsync;
}
