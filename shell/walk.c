// SPDX-License-Identifier: BSD-2-Clause
/*
 * The debug shell's `walk VA`: the guest's own walk of VA, entry by entry,
 * then the tables umbra gives the hardware for it (shadow or NPT/EPT).
 */
#include "arch/x86/emul/gmem.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "core/mem.h"
#include "lib/string.h"
#include "mmu/pt.h"
#include "mmu/tdp/tdp.h"
#include "shell/walk.h"
#include "umbra/core.h"
#include "umbra/log.h"

static const char *const mode_names[] = {
	[GW_MODE_OFF] = "paging off", [GW_MODE_32] = "32-bit paging",
	[GW_MODE_PAE] = "PAE paging", [GW_MODE_LM] = "4-level paging",
};

static const char *guest_entry_name(enum gw_mode m, int i, int n)
{
	static const char *const lm[] = { "PML4E", "PDPTE", "PDE", "PTE" };
	static const char *const pae[] = { "PDPTE", "PDE", "PTE" };
	static const char *const b32[] = { "PDE", "PTE" };

	switch (m) {
	case GW_MODE_LM: return i < 4 ? lm[i] : "?";
	case GW_MODE_PAE: return i < 3 ? pae[i] : "?";
	case GW_MODE_32: return i < 2 ? b32[i] : "?";
	default: return n ? "?" : "";
	}
}

/* 32-bit paging maps 4 MiB at level 2 (SDM Vol 3 4.3), the others 2 MiB */
static const char *size_name(int level, bool b32)
{
	if (level == 2)
		return b32 ? "4M" : "2M";
	return level == 3 ? "1G" : level == 1 ? "4K" : "-";
}

/* The guest's own walk (no A/D updates); true and *gpa if it translates. */
static bool walk_guest(struct vcpu *v, uint64_t va, uint64_t *gpa)
{
	enum gw_mode m = gmem_mode(v);
	struct gw_result r;
	enum gw_status st;

	if (m != GW_MODE_LM)
		va &= 0xffffffffull;
	st = gmem_walk(v, va, GW_NO_AD, &r);
	pr_info("walk %lx: guest %s, cr3 %lx", va, mode_names[m],
		v->ops->get_reg(v, VCPU_CR3));
	for (int i = 0; i < r.nr_ptes; i++)
		pr_info("  guest %-5s at gpa %012lx: %016lx%s",
			guest_entry_name(m, i, r.nr_ptes), r.pte_gpa[i], r.pte[i],
			r.pte[i] & PTE_P ? "" : " (not present)");
	switch (st) {
	case GW_OK:
		pr_info("  guest: va %lx -> gpa %lx (%s page, %s, %s, %s)", va, r.gpa,
			size_name(r.level, m == GW_MODE_32), r.perm & GW_PERM_W ? "writable" : "read-only",
			r.perm & GW_PERM_U ? "user" : "supervisor",
			r.perm & GW_PERM_X ? "executable" : "no-execute");
		*gpa = r.gpa;
		return true;
	case GW_FAULT:
		pr_info("  guest: va %lx does not translate: #PF error code %x%s%s",
			va, r.error_code, r.error_code & PFERR_P ? " (protection)" :
			" (not present)", r.error_code & PFERR_RSVD ? ", reserved bit" : "");
		return false;
	default:
		pr_info("  guest: a guest table at gpa %lx is not RAM", r.bad_gpa);
		return false;
	}
}

/* A walk of umbra's own tables (TDP or shadow) as the hardware does it. */
static void walk_tables(const char *who, enum pt_format fmt, uint64_t root_pa,
			int top, uint64_t addr)
{
	uint64_t pa = root_pa;

	for (int level = top; level >= 1; level--) {
		unsigned int idx = pt_index(addr, level);
		uint64_t *table = phys_to_virt(pa);
		uint64_t e;
		unsigned int perm;

		if (level == 3 && top == 3)
			idx &= 3;	/* a PAE root: 4 entries, SDM Vol 3 4.4.1 */
		e = __atomic_load_n(&table[idx], __ATOMIC_RELAXED);
		perm = pt_perm(fmt, e);
		pr_info("  %s L%d[%3u] at %012lx: %016lx", who, level, idx,
			pa + idx * 8, e);
		if (!pt_present(fmt, e)) {
			pr_info("  %s: not present at level %d", who, level);
			return;
		}
		if (pt_is_leaf(e, level) && !(top == 3 && level == 3)) {
			pr_info("  %s: -> hpa %lx (%s leaf, %c%c%c)", who,
				pt_leaf_pa(e, level) | (addr & (pt_level_size(level) - 1)),
				size_name(level, false), perm & PT_R ? 'r' : '-',
				perm & PT_W ? 'w' : '-', perm & PT_X ? 'x' : '-');
			return;
		}
		pa = pt_table_pa(e);
	}
}

void cmd_walk(struct vcpu *v, const char *arg)
{
	uint64_t va, gpa;
	bool ok;

	if (!str_to_u64(arg, 16, &va)) {
		pr_err("walk: expected a hexadecimal guest virtual address, got '%s'", arg);
		return;
	}
	ok = walk_guest(v, va, &gpa);
	if (!v->mmu->nested) {
		uint64_t root;
		int level;

		v->mmu->root(v, &root, &level);
		pr_info("  shadow tables (root %lx, %d levels) for va %lx:", root,
			level, va);
		walk_tables("shadow", PT_FMT_HOST, root, level,
			    level == 4 ? va : va & 0xffffffffull);
	} else if (!ok) {
		pr_info("  tdp: no guest-physical address to look up");
	} else {
		pr_info("  %s tables (root %lx) for gpa %lx:",
			v->tdp->fmt == PT_FMT_EPT ? "ept" : "npt",
			mmu_tdp_root_pa(v->tdp), gpa);
		walk_tables(v->tdp->fmt == PT_FMT_EPT ? "ept" : "npt", v->tdp->fmt,
			    mmu_tdp_root_pa(v->tdp), PT_LEVELS, gpa);
	}
}

const char *walk_mode_name(enum gw_mode m)
{
	return mode_names[m];
}
