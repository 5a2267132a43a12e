// SPDX-License-Identifier: BSD-2-Clause
/*
 * The shadow MMU's consistency check, for the host tests only: every
 * internal invariant of mmu/shadow/ (hash, rmap against SPTEs, parent
 * links, unsync bookkeeping, write protection, the memory budget).
 */
#include "mmu/shadow/internal.h"
#include "tests/host/shadow/check.h"

struct msg {
	char *buf;
	unsigned int len;
};

static int fail(struct msg *m, const char *what, uint64_t a, uint64_t b)
{
	static const char hex[] = "0123456789abcdef";
	unsigned int n = 0, k;
	uint64_t v[2] = { a, b };

	if (!m->len)
		return -1;
	while (*what && n + 1 < m->len)
		m->buf[n++] = *what++;
	for (k = 0; k < 2; k++) {
		int sh;

		if (n + 20 >= m->len)
			break;
		m->buf[n++] = ' ';
		m->buf[n++] = '0';
		m->buf[n++] = 'x';
		for (sh = 60; sh >= 0; sh -= 4)
			m->buf[n++] = hex[(v[k] >> sh) & 15];
	}
	m->buf[n] = 0;
	return -1;
}

static bool list_has(const struct sptep_list *l, uint64_t *p)
{
	uint64_t *batch[32];
	unsigned int n, k, from = 0;

	while ((n = sptep_get(l, batch, 32, from))) {
		for (k = 0; k < n; k++)
			if (batch[k] == p)
				return true;
		from += n;
	}
	return false;
}

static unsigned int list_len(const struct sptep_list *l)
{
	uint64_t *batch[32];
	unsigned int n, total = 0;

	while ((n = sptep_get(l, batch, 32, total)))
		total += n;
	return total;
}

/* Not logged, or its bit is set. */
static bool logged_dirty(struct shadow_mmu *s, uint64_t gfn)
{
	uint64_t idx = gfn - s->log.gfn;

	if (!s->log.dir || idx >= s->log.nr)
		return true;
	return s->log.dir[idx / 32768][(idx % 32768) / 64] & (1ull << (idx % 64));
}

/* A 2 MiB leaf: in its region's rmap, over no shadowed table and no
 * logged frame, mapping the frames large_ok() allows (large.c). */
static int check_large(struct shadow_mmu *s, struct shadow_page *sp,
		       unsigned int i, struct msg *m)
{
	uint64_t e = sp->spt[i], gfn, f;
	struct gfn_info *ri;

	if (!sp->gptes)
		return fail(m, "large leaf without gfns", sp->gfn, i);
	gfn = sp->gptes[i];
	ri = gfn_lookup(s, region_key(gfn));
	if (gfn % SH_REGION_PAGES || !ri || !list_has(&ri->rmap, &sp->spt[i]))
		return fail(m, "large leaf not in its region's rmap", gfn, i);
	for (f = gfn; f < gfn + SH_REGION_PAGES; f++) {
		struct gfn_info *gi = gfn_lookup(s, f);

		if (gi && gi->nr_indirect)
			return fail(m, "large leaf over a shadowed table", f,
				    e);
		if (s->log.dir && f - s->log.gfn < s->log.nr)
			return fail(m, "large leaf over a logged frame", f, e);
	}
	if (!s->cfg.large_ok || !s->cfg.large_ok(s->cfg.pfn_arg, gfn,
						 SH_REGION_PAGES) ||
	    ((e & PT_ADDR_MASK & ~0x1fffffull) >> 12) !=
	    (uint64_t)s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn))
		return fail(m, "large leaf frame", gfn, e);
	return 0;
}

/* A region record counts the frames of its region that hold tables. */
static int check_region(struct shadow_mmu *s, struct gfn_info *ri,
			struct msg *m)
{
	uint64_t base = (ri->gfn & ~SH_REGION_KEY) * SH_REGION_PAGES, f;
	unsigned int n = 0;

	for (f = base; f < base + SH_REGION_PAGES; f++) {
		struct gfn_info *gi = gfn_lookup(s, f);

		n += gi && gi->nr_indirect;
	}
	if (n != ri->nr_indirect)
		return fail(m, "region count / shadowed frames", base, n);
	if (!n && !ri->rmap.v)
		return fail(m, "empty region record kept", base, 0);
	return 0;
}

static int check_page(struct shadow_mmu *s, struct shadow_page *sp,
		      struct msg *m, unsigned long *leaves)
{
	unsigned int i, present = 0, global = 0;
	uint64_t *batch[16];
	unsigned int n, k, from = 0;

	for (i = 0; i < PT_ENTRIES; i++) {
		uint64_t e = sp->spt[i];

		if (!spte_present(e))
			continue;
		present++;
		global += !!(e & SPTE_GLOBAL);
		if (sp->role.level == 1) {
			uint64_t gfn = leaf_gfn(sp, i);
			struct gfn_info *gi = gfn_lookup(s, gfn);

			(*leaves)++;
			if (!gi || !list_has(&gi->rmap, &sp->spt[i]))
				return fail(m, "leaf not in rmap", sp->gfn, i);
			if ((e & (PTE_RW | SPTE_SH_W)) && gfn_protected(s, gfn))
				return fail(m, "writable SPTE of a protected "
					    "frame", gfn, e);
			if ((e & PTE_RW) && !logged_dirty(s, gfn))
				return fail(m, "writable SPTE of a logged frame "
					    "not marked dirty", gfn, e);
			if (((e & PT_ADDR_MASK) >> 12) !=
			    (uint64_t)s->cfg.gfn_to_pfn(s->cfg.pfn_arg, gfn))
				return fail(m, "leaf frame", gfn, e);
		} else if (spte_large(sp, e)) {
			(*leaves)++;
			if (check_large(s, sp, i, m))
				return -1;
		} else {
			struct shadow_page *c = sp_by_pa(s, e);

			if (!c || c->invalid)
				return fail(m, "link to no page", sp->gfn, i);
			if (c->role.level != sp->role.level - 1u)
				return fail(m, "link level", sp->gfn, i);
			if (!list_has(&c->parents, &sp->spt[i]))
				return fail(m, "link not in parents", c->gfn,
					    i);
			if ((c->unsync || sp_has_unsync_children(c)) &&
			    !(sp->unsync_children[i / 64] &
			      (1ull << (i % 64))))
				return fail(m, "unsync child not marked",
					    c->gfn, i);
		}
	}
	if (present != sp->nr_present || global != sp->nr_global)
		return fail(m, "present/global count", present, global);
	while ((n = sptep_get(&sp->parents, batch, 16, from))) {
		for (k = 0; k < n; k++)
			if ((*batch[k] & PT_ADDR_MASK) != sp->spt_pa)
				return fail(m, "parent does not link here",
					    sp->gfn, k);
		from += n;
	}
	if (sp->unsync) {
		struct gfn_info *gi = gfn_lookup(s, sp->gfn);

		if (sp->role.level != 1 || !gi || !gi->unsync)
			return fail(m, "unsync page state", sp->gfn,
				    sp->role.word);
	}
	if (role_indirect(sp->role)) {
		struct gfn_info *gi = gfn_lookup(s, sp->gfn);
		struct shadow_page *h;
		unsigned int cnt = 0;
		bool found = false;

		for (h = s->hash[sh_bucket(sp->gfn)];
		     h; h = h->hnext) {
			found |= h == sp;
			if (h->gfn == sp->gfn && role_indirect(h->role)) {
				cnt++;
				if (gi && gi->unsync != h->unsync)
					return fail(m, "frame unsync but a "
						    "page is not", sp->gfn, 0);
			}
		}
		if (!found || !gi || gi->nr_indirect != cnt)
			return fail(m, "hash / nr_indirect", sp->gfn, cnt);
	}
	return 0;
}

int shadow_check(struct shadow_mmu *s, char *buf, unsigned int len)
{
	struct msg m = { buf, len };
	struct sh_list *l;
	unsigned long leaves = 0, rmaps = 0, unsync = 0, mem = s->fixed_pages;
	unsigned long unsync_global = 0;
	unsigned int b, pages = 0;
	int ret = 0;

	write_lock(&s->lock);
	for (l = s->lru.next; l != &s->lru && !ret; l = l->next) {
		struct shadow_page *sp = sh_container(l, struct shadow_page,
						      lru);

		pages++;
		mem += 1 + !!sp->gptes;
		if (sp->invalid && !sp->root_count)
			ret = fail(&m, "invalid page not freed", sp->gfn, 0);
		else if (!sp->invalid)
			ret = check_page(s, sp, &m, &leaves);
	}
	for (l = s->unsync_list.next; l != &s->unsync_list; l = l->next) {
		unsync++;
		unsync_global += !!sh_container(l, struct shadow_page,
						unsync_link)->nr_global;
	}
	for (b = 0; b < (1u << s->gfn_bits) && !ret; b++) {
		struct gfn_info *gi;

		for (gi = s->gfn_dir[b / SH_HASH][b % SH_HASH]; gi && !ret;
		     gi = gi->next) {
			rmaps += list_len(&gi->rmap);
			if (gi->gfn & SH_REGION_KEY)
				ret = check_region(s, gi, &m);
		}
	}
	if (!ret && rmaps != leaves)
		ret = fail(&m, "rmap entries / leaf SPTEs", rmaps, leaves);
	if (!ret && pages != s->nr_pages)
		ret = fail(&m, "pages on the LRU / in use", pages,
			   s->nr_pages);
	mem += s->sp_slab.pages + s->gi_slab.pages + s->desc_slab.pages;
	if (!ret && mem != s->mem_pages)
		ret = fail(&m, "pages held / pages counted", mem, s->mem_pages);
	if (!ret && s->mem_peak > s->cfg.max_pages)
		ret = fail(&m, "budget exceeded", s->mem_peak,
			   s->cfg.max_pages);
	if (!ret && unsync != s->st.unsync)
		ret = fail(&m, "unsync list / count", unsync, s->st.unsync);
	if (!ret && unsync_global != s->nr_unsync_global)
		ret = fail(&m, "unsync pages with a global entry / count",
			   unsync_global, s->nr_unsync_global);
	if (!ret && (s->nr_zapped || s->page_zapped))
		ret = fail(&m, "zapped pages kept after the operation",
			   s->nr_zapped, 0);
	/* another vCPU may have zapped a vCPU's root: it reloads it at its
	 * next fault or CR3 load */
	for (b = 0; b < SHADOW_MAX_VCPUS && !ret; b++) {
		const struct shadow_vcpu *vc = &s->vcpus[b];

		if (vc->used && (!vc->root->root_count ||
				 (vc->root->invalid && s->nr_vcpus == 1)))
			ret = fail(&m, "current root", vc->root->gfn, b);
	}
	write_unlock(&s->lock);
	return ret;
}
