/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One page-table format layer for the three 4-level formats umbra builds:
 *
 *   PT_FMT_HOST  umbra's own long-mode tables (SDM Vol 3 4.5, Tables 4-14..19)
 *   PT_FMT_NPT   AMD nested tables: the long-mode encoding, walked as user
 *                accesses, so U must be set at every level (APM Vol 2 15.25.5)
 *   PT_FMT_EPT   Intel EPT (SDM Vol 3 28.3.2, Tables 28-1..6): R/W/X in bits
 *                2:0, memory type in 5:3 and ignore-PAT in 6 (leaves only),
 *                A/D in 8/9 when enabled in the EPTP (SDM 28.3.5)
 *
 * Levels are numbered as the hardware walks them: 4 is the root (PML4),
 * 1 holds 4 KiB leaves.  A level 2 entry may map 2 MiB, a level 3 entry
 * 1 GiB (bit 7, PS, in every format); a level 4 entry is always a table.
 *
 * Permissions are given in the format-independent PT_R/PT_W/PT_X.
 * Bit 52 is ignored by the hardware in every format (SDM Table 4-19 bits
 * 58:52, Table 28-6 bits 56:52, APM 5.3.3 "AVL"); mmu/ keeps SPTE_SW_W there:
 * "the memory map allows writes", so a leaf with SPTE_SW_W and no W is
 * write-protected only for dirty logging (seed 000's spte_wp_by_dirty_log).
 */
#ifndef UMBRA_MMU_PT_H
#define UMBRA_MMU_PT_H

#include <stdbool.h>
#include <stdint.h>

enum pt_format {
	PT_FMT_HOST,
	PT_FMT_NPT,
	PT_FMT_EPT,
};

#define PT_LEVELS	4
#define PT_ENTRIES	512
#define PT_PAGE_SHIFT	12
#define PT_PAGE_SIZE	4096ull
#define PT_VA_BITS	48

#define PT_R		1u
#define PT_W		2u
#define PT_X		4u
#define PT_RWX		7u

/* Memory types, SDM Vol 3 11.3 Table 11-2 encodings. */
enum pt_memtype {
	PT_MT_UC = 0,
	PT_MT_WC = 1,
	PT_MT_WT = 4,
	PT_MT_WP = 5,
	PT_MT_WB = 6,
};

/* Long-mode / NPT entry bits, SDM Vol 3 4.5 (Tables 4-14 to 4-19). */
#define PTE_P		(1ull << 0)
#define PTE_RW		(1ull << 1)
#define PTE_US		(1ull << 2)
#define PTE_PWT		(1ull << 3)
#define PTE_PCD		(1ull << 4)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define PTE_PAT4K	(1ull << 7)
#define PTE_G		(1ull << 8)
#define PTE_PATLG	(1ull << 12)
#define PTE_NX		(1ull << 63)
/* 4-level leaves: the protection key, bits 62:59 (SDM Vol 3 Table 4-19,
 * 4.6.2; APM Vol 2 5.6.7); reserved in PAE entries (Table 4-11). */
#define PTE_PKEY_SHIFT	59
#define PTE_PKEY	(0xfull << PTE_PKEY_SHIFT)

/* EPT entry bits, SDM Vol 3 28.3.2 (Tables 28-1 to 28-6). */
#define EPT_R		(1ull << 0)
#define EPT_W		(1ull << 1)
#define EPT_X		(1ull << 2)
#define EPT_MT_SHIFT	3
#define EPT_MT_MASK	(7ull << EPT_MT_SHIFT)
#define EPT_IPAT	(1ull << 6)
#define EPT_PS		(1ull << 7)
#define EPT_A		(1ull << 8)
#define EPT_D		(1ull << 9)

#define SPTE_SW_W	(1ull << 52)
#define PT_ADDR_MASK	0x000ffffffffff000ull	/* bits 51:12 */

static inline unsigned int pt_level_shift(int level)
{
	return PT_PAGE_SHIFT + 9 * (unsigned int)(level - 1);
}

static inline uint64_t pt_level_size(int level)
{
	return 1ull << pt_level_shift(level);
}

static inline unsigned int pt_index(uint64_t addr, int level)
{
	return (unsigned int)(addr >> pt_level_shift(level)) & (PT_ENTRIES - 1);
}

/* EPT: an entry with bits 2:0 clear is not present (SDM 28.3.2). */
static inline bool pt_present(enum pt_format fmt, uint64_t e)
{
	if (fmt == PT_FMT_EPT)
		return (e & (EPT_R | EPT_W | EPT_X)) != 0;
	return (e & PTE_P) != 0;
}

/* A present entry maps a page (rather than a table) at this level. */
static inline bool pt_is_leaf(uint64_t e, int level)
{
	if (level == 1)
		return true;
	return level <= 3 && (e & PTE_PS);	/* PTE_PS == EPT_PS */
}

static inline uint64_t pt_table_pa(uint64_t e)
{
	return e & PT_ADDR_MASK;
}

/* Frame of a leaf; for large leaves this also drops the PAT bit 12. */
static inline uint64_t pt_leaf_pa(uint64_t e, int level)
{
	return e & PT_ADDR_MASK & ~(pt_level_size(level) - 1);
}

unsigned int pt_perm(enum pt_format fmt, uint64_t e);
uint64_t pt_make_table(enum pt_format fmt, uint64_t pa);
uint64_t pt_make_leaf(enum pt_format fmt, int level, uint64_t pa,
		      unsigned int perm, enum pt_memtype mt);
uint64_t pt_set_w(enum pt_format fmt, uint64_t e);
uint64_t pt_clear_w(enum pt_format fmt, uint64_t e);
uint64_t pt_leaf_resize(uint64_t e, int from, int to, uint64_t pa);

/* Result of a lockless lookup; level 0 when nothing is mapped. */
struct pt_lookup {
	uint64_t *sptep;	/* last entry read (the leaf when mapped) */
	uint64_t spte;		/* its value */
	uint64_t pa;		/* translation of addr, when mapped */
	int level;
};

void pt_lookup(enum pt_format fmt, uint64_t *root, uint64_t addr,
	       struct pt_lookup *out);

/*
 * Pre-order visit of every present entry overlapping [start, end).  pre()
 * gets the entry and the value it read; it may change both (e.g. with a
 * compare-and-exchange) and returns true to descend into the table the
 * (updated) value points to.  Entries are read atomically, so a visit may run
 * beside writers that only link new tables (never free them).
 */
struct pt_visitor {
	enum pt_format fmt;
	uint64_t start, end;
	bool (*pre)(struct pt_visitor *v, uint64_t *sptep, uint64_t *spte,
		    uint64_t addr, int level);
	void *ctx;
};

void pt_visit(struct pt_visitor *v, uint64_t *table, int level);

#endif
