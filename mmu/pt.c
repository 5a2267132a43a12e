// SPDX-License-Identifier: BSD-2-Clause
/*
 * Page-table formats (see pt.h): entry encodings and one walker/visitor
 * shared by the host tables, NPT and EPT.
 */
#include "mmu/pt.h"
#include "mmu/env.h"
#include "mmu/sync.h"

unsigned int pt_perm(enum pt_format fmt, uint64_t e)
{
	unsigned int perm = 0;

	if (fmt == PT_FMT_EPT) {
		perm |= (e & EPT_R) ? PT_R : 0;
		perm |= (e & EPT_W) ? PT_W : 0;
		perm |= (e & EPT_X) ? PT_X : 0;
		return perm;
	}
	if (!(e & PTE_P))
		return 0;
	perm = PT_R;
	perm |= (e & PTE_RW) ? PT_W : 0;
	perm |= (e & PTE_NX) ? 0 : PT_X;
	return perm;
}

/*
 * Non-leaf entries grant everything; permissions live in the leaves.
 * NPT: every nested access is a user access (APM Vol 2 15.25.5), so U is set
 * at every level.  EPT: bits 7:3 of a non-leaf entry are reserved (SDM
 * Tables 28-1, 28-3, 28-5).  A is preset so the walker need not write it.
 */
uint64_t pt_make_table(enum pt_format fmt, uint64_t pa)
{
	pa &= PT_ADDR_MASK;
	switch (fmt) {
	case PT_FMT_EPT:
		return pa | EPT_R | EPT_W | EPT_X;
	case PT_FMT_NPT:
		return pa | PTE_P | PTE_RW | PTE_US | PTE_A;
	default:
		return pa | PTE_P | PTE_RW | PTE_A;
	}
}

/*
 * Long-mode memory type through PWT/PCD with the power-on PAT (SDM Vol 3
 * 11.12.4, Table 11-12): index 0 WB, 1 WT, 3 UC.  WC and WP would need a
 * reprogrammed PAT, so they fall back to UC.
 */
static uint64_t pte_memtype_bits(enum pt_memtype mt)
{
	switch (mt) {
	case PT_MT_WB:
		return 0;
	case PT_MT_WT:
		return PTE_PWT;
	default:
		return PTE_PCD | PTE_PWT;
	}
}

/*
 * A leaf.  A (and D when writable) are preset: mmu/ does not use them and
 * hardware would otherwise write them with a locked cycle, which makes our
 * compare-and-exchanges fail needlessly.  EPT: memory type in bits 5:3 with
 * ignore-PAT clear, so the guest's PAT still combines (SDM 28.3.7.2); the
 * EPT A/D bits are ignored unless enabled in the EPTP (SDM 28.3.5).
 */
uint64_t pt_make_leaf(enum pt_format fmt, int level, uint64_t pa,
		      unsigned int perm, enum pt_memtype mt)
{
	uint64_t e = pa & PT_ADDR_MASK & ~(pt_level_size(level) - 1);

	if (level > 1)
		e |= PTE_PS;
	if (fmt == PT_FMT_EPT) {
		e |= (perm & PT_R) ? EPT_R : 0;
		e |= (perm & PT_W) ? EPT_W | EPT_D : 0;
		e |= (perm & PT_X) ? EPT_X : 0;
		return e | ((uint64_t)mt << EPT_MT_SHIFT) | EPT_A;
	}
	e |= PTE_P | PTE_A | pte_memtype_bits(mt);
	e |= (perm & PT_W) ? PTE_RW | PTE_D : 0;
	e |= (perm & PT_X) ? 0 : PTE_NX;
	if (fmt == PT_FMT_NPT)
		e |= PTE_US;
	return e;
}

/* PTE_RW and EPT_W are both bit 1, PTE_D is bit 6 and EPT_D bit 9. */
uint64_t pt_set_w(enum pt_format fmt, uint64_t e)
{
	return e | PTE_RW | (fmt == PT_FMT_EPT ? EPT_D : PTE_D);
}

uint64_t pt_clear_w(enum pt_format fmt, uint64_t e)
{
	return e & ~PTE_RW;
}

/*
 * The leaf for pa at level `to' (< from) with the attributes of leaf e at
 * level `from'.  Large long-mode leaves keep PAT in bit 12, 4 KiB ones in
 * bit 7 (SDM Tables 4-18/4-19); in EPT bit 12 of an aligned leaf is 0.
 */
uint64_t pt_leaf_resize(uint64_t e, int from, int to, uint64_t pa)
{
	uint64_t pat = from > 1 ? (e & PTE_PATLG) : 0;
	uint64_t n = (e & ~PT_ADDR_MASK & ~PTE_PS) |
		     (pa & PT_ADDR_MASK & ~(pt_level_size(to) - 1));

	if (to > 1)
		return n | PTE_PS | pat;
	return n | (pat ? PTE_PAT4K : 0);
}

void pt_lookup(enum pt_format fmt, uint64_t *root, uint64_t addr,
	       struct pt_lookup *out)
{
	uint64_t *table = root;
	int level;

	out->level = 0;
	out->pa = 0;
	for (level = PT_LEVELS; level >= 1; level--) {
		uint64_t *sptep = &table[pt_index(addr, level)];
		uint64_t spte = atomic_read64(sptep);

		out->sptep = sptep;
		out->spte = spte;
		if (!pt_present(fmt, spte))
			return;
		if (pt_is_leaf(spte, level)) {
			out->level = level;
			out->pa = pt_leaf_pa(spte, level) |
				  (addr & (pt_level_size(level) - 1));
			return;
		}
		table = mmu_phys_to_virt(pt_table_pa(spte));
	}
}

static void visit_table(struct pt_visitor *v, uint64_t *table, int level,
			uint64_t base)
{
	uint64_t size = pt_level_size(level);
	unsigned int i = 0;

	if (v->start > base)
		i = pt_index(v->start, level);
	for (; i < PT_ENTRIES; i++) {
		uint64_t addr = base + i * size;
		uint64_t *sptep = &table[i];
		uint64_t spte;

		if (addr >= v->end)
			break;
		spte = atomic_read64(sptep);
		if (!pt_present(v->fmt, spte))
			continue;
		if (!v->pre(v, sptep, &spte, addr, level))
			continue;
		if (level > 1 && pt_present(v->fmt, spte) &&
		    !pt_is_leaf(spte, level))
			visit_table(v, mmu_phys_to_virt(pt_table_pa(spte)),
				    level - 1, addr);
	}
}

void pt_visit(struct pt_visitor *v, uint64_t *table, int level)
{
	uint64_t span = pt_level_size(level) * PT_ENTRIES;

	if (v->end > span)
		v->end = span;
	if (v->end <= v->start)
		return;
	visit_table(v, table, level, 0);
}
