// SPDX-License-Identifier: BSD-2-Clause
/* The page-table format layer: encodings per format, lookup and visit. */
#include <stdio.h>
#include <string.h>

#include "mmu/env.h"
#include "mmu/pt.h"
#include "tests/host/host_env.h"

static void test_encodings(void)
{
	uint64_t t, l;

	t = pt_make_table(PT_FMT_NPT, 0x1234000);
	check(t == (0x1234000 | PTE_P | PTE_RW | PTE_US | PTE_A),
	      "npt table entry is P|RW|U|A (APM 15.25.5)", "%#llx",
	      (unsigned long long)t);
	t = pt_make_table(PT_FMT_EPT, 0x1234000);
	check(t == (0x1234000 | 7), "ept table entry is RWX, bits 7:3 clear",
	      "%#llx", (unsigned long long)t);
	t = pt_make_table(PT_FMT_HOST, 0x1234000);
	check(!(t & PTE_US) && (t & PTE_P), "host table entry is supervisor",
	      "%#llx", (unsigned long long)t);

	l = pt_make_leaf(PT_FMT_NPT, 2, 0x40200000, PT_R | PT_W, PT_MT_WB);
	check((l & PTE_US) && (l & PTE_PS) && (l & PTE_NX) && (l & PTE_RW) &&
	      pt_leaf_pa(l, 2) == 0x40200000,
	      "npt 2M leaf: U, PS, NX for no-exec, RW", "%#llx",
	      (unsigned long long)l);
	check(pt_perm(PT_FMT_NPT, l) == (PT_R | PT_W), "npt perm decode",
	      "%u", pt_perm(PT_FMT_NPT, l));
	l = pt_make_leaf(PT_FMT_HOST, 1, 0xfee00000, PT_R | PT_W, PT_MT_UC);
	check((l & (PTE_PCD | PTE_PWT)) == (PTE_PCD | PTE_PWT) && !(l & PTE_US),
	      "host UC leaf uses PCD|PWT", "%#llx", (unsigned long long)l);

	l = pt_make_leaf(PT_FMT_EPT, 1, 0x5000, PT_RWX, PT_MT_WB);
	check(((l >> EPT_MT_SHIFT) & 7) == PT_MT_WB && !(l & EPT_IPAT) &&
	      (l & 7) == 7 && !(l & EPT_PS),
	      "ept 4K leaf: WB in bits 5:3, IPAT clear, RWX", "%#llx",
	      (unsigned long long)l);
	l = pt_make_leaf(PT_FMT_EPT, 3, 0x40000000, PT_R | PT_X, PT_MT_UC);
	check((l & EPT_PS) && !(l & EPT_W) && ((l >> 3) & 7) == PT_MT_UC &&
	      pt_perm(PT_FMT_EPT, l) == (PT_R | PT_X),
	      "ept 1G leaf UC, R+X", "%#llx", (unsigned long long)l);
	check(!pt_present(PT_FMT_EPT, EPT_MT_MASK | EPT_PS | 0x1000) &&
	      pt_present(PT_FMT_EPT, EPT_X),
	      "ept present means any of bits 2:0 (SDM 28.3.2)", "-");
	check(!pt_present(PT_FMT_NPT, PTE_RW | PTE_US), "npt present is P",
	      "-");
	l = pt_clear_w(PT_FMT_EPT, pt_make_leaf(PT_FMT_EPT, 1, 0, PT_RWX,
						 PT_MT_WB));
	check(pt_perm(PT_FMT_EPT, l) == (PT_R | PT_X) &&
	      (pt_perm(PT_FMT_EPT, pt_set_w(PT_FMT_EPT, l)) & PT_W),
	      "write-protect and restore", "%#llx", (unsigned long long)l);
}

static void test_resize(void)
{
	uint64_t big = pt_make_leaf(PT_FMT_HOST, 2, 0x200000, PT_RWX,
				    PT_MT_WB) | PTE_PATLG | SPTE_SW_W;
	uint64_t s = pt_leaf_resize(big, 2, 1, 0x204000);

	check(pt_leaf_pa(s, 1) == 0x204000 && (s & PTE_PAT4K) &&
	      !(s & PTE_PATLG) && (s & SPTE_SW_W) && (s & PTE_RW),
	      "split 2M->4K moves PAT bit 12 to bit 7, keeps SW bits", "%#llx",
	      (unsigned long long)s);
	s = pt_leaf_resize(big, 3, 2, 0x400000);
	check((s & PTE_PS) && (s & PTE_PATLG) && pt_leaf_pa(s, 2) == 0x400000,
	      "split 1G->2M keeps PS and PAT bit 12", "%#llx",
	      (unsigned long long)s);
}

static uint64_t *new_table(void)
{
	return mmu_alloc_page();
}

static unsigned int visits;

static bool count_pre(struct pt_visitor *v, uint64_t *sptep, uint64_t *spte,
		      uint64_t addr, int level)
{
	if (pt_is_leaf(*spte, level))
		visits++;
	return true;
}

static void test_lookup_visit(void)
{
	uint64_t *l4 = new_table(), *l3 = new_table(), *l2 = new_table();
	uint64_t *l1 = new_table();
	struct pt_visitor v = { .fmt = PT_FMT_EPT, .pre = count_pre };
	struct pt_lookup lk;
	unsigned int i;

	/* gpa 0x40000000.. : l4[0] -> l3, l3[1] -> l2, l2[0] -> l1, l2[1] 2M */
	l4[0] = pt_make_table(PT_FMT_EPT, mmu_virt_to_phys(l3));
	l3[1] = pt_make_table(PT_FMT_EPT, mmu_virt_to_phys(l2));
	l3[2] = pt_make_leaf(PT_FMT_EPT, 3, 0x780000000ull, PT_RWX, PT_MT_WB);
	l2[0] = pt_make_table(PT_FMT_EPT, mmu_virt_to_phys(l1));
	l2[1] = pt_make_leaf(PT_FMT_EPT, 2, 0x10200000, PT_RWX, PT_MT_WB);
	for (i = 0; i < 512; i += 2)
		l1[i] = pt_make_leaf(PT_FMT_EPT, 1, 0x9000000 + i * 4096ull,
				     PT_R, PT_MT_WB);

	pt_lookup(PT_FMT_EPT, l4, 0x40004123, &lk);
	check(lk.level == 1 && lk.pa == 0x9004123, "lookup 4K leaf",
	      "level %d pa %#llx", lk.level, (unsigned long long)lk.pa);
	pt_lookup(PT_FMT_EPT, l4, 0x40001123, &lk);
	check(lk.level == 0 && lk.sptep == &l1[1], "lookup hole stops at entry",
	      "level %d", lk.level);
	pt_lookup(PT_FMT_EPT, l4, 0x40234567, &lk);
	check(lk.level == 2 && lk.pa == 0x10234567, "lookup 2M leaf",
	      "level %d pa %#llx", lk.level, (unsigned long long)lk.pa);
	pt_lookup(PT_FMT_EPT, l4, 0x80000000 + 0x12345678, &lk);
	check(lk.level == 3 && lk.pa == 0x780000000ull + 0x12345678,
	      "lookup 1G leaf", "level %d pa %#llx", lk.level,
	      (unsigned long long)lk.pa);

	v.start = 0;
	v.end = 1ull << 48;
	visits = 0;
	pt_visit(&v, l4, 4);
	check(visits == 256 + 2, "visit everything", "%u leaves", visits);
	v.start = 0x40003000;
	v.end = 0x40200001;
	visits = 0;
	pt_visit(&v, l4, 4);
	/* 4K leaves at even indices 4..510 -> 254, plus the 2M leaf */
	check(visits == 254 + 1, "visit a sub-range", "%u leaves", visits);

	mmu_free_page(l1);
	mmu_free_page(l2);
	mmu_free_page(l3);
	mmu_free_page(l4);
	check(host_pages_outstanding() == 0, "host pages balance", "%ld",
	      host_pages_outstanding());
}

int main(void)
{
	test_encodings();
	test_resize();
	test_lookup_visit();
	return check_finish();
}
