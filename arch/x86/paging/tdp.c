// SPDX-License-Identifier: BSD-2-Clause
/*
 * The guest-physical address space: identity-mapped RAM and MMIO through
 * the TDP MMU (mmu/tdp/mmu.c), built on demand from the guest's memory map.
 * umbra's own ranges (umbra_owns(), mem.c) map to one throw-away page: a
 * guest that touches them reads and writes that page, never umbra's memory.
 * One map for all vCPUs; with more than one, the xAPIC page is read-only
 * so that its writes exit (arch/x86/exit/apic.c: the guest's INIT and SIPI).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/exit/apic.h"
#include "arch/x86/exit/cr.h"
#include "arch/x86/paging/mmu.h"
#include "core/mem.h"
#include "arch/x86/paging/tdp.h"
#include "arch/x86/vcpu/smp.h"
#include "mmu/tdp/tdp.h"
#include "mmu/walk.h"
#include "umbra/core.h"
#include "umbra/log.h"

static struct mmu_tdp tdp;
static struct mmu_map_range ranges[MMU_MAX_RANGES];
static unsigned int nr_ranges;
static uint64_t apic_ro;		/* the read-only xAPIC page, or 0 */

static void put_range(uint64_t gpa, uint64_t size, uint8_t kind, uint64_t hpa,
		      uint8_t flags)
{
	if (!size)
		return;
	if (nr_ranges == MMU_MAX_RANGES)
		panic("guest-physical map needs more than %d ranges", MMU_MAX_RANGES);
	ranges[nr_ranges++] = (struct mmu_map_range){
		.gpa = gpa, .size = size, .hpa = hpa, .kind = kind,
		.flags = flags, .memtype = MMU_MT_DEFAULT };
}

static void add_range(uint64_t gpa, uint64_t size, uint8_t kind, uint64_t hpa)
{
	uint64_t a = apic_ro;

	if (!a || a < gpa || a >= gpa + size) {
		put_range(gpa, size, kind, hpa, 0);
		return;
	}
	put_range(gpa, a - gpa, kind, hpa, 0);
	put_range(a, PAGE_SIZE, kind, hpa + (a - gpa), MMU_MAP_RO);
	put_range(a + PAGE_SIZE, gpa + size - a - PAGE_SIZE, kind,
		  hpa + (a - gpa) + PAGE_SIZE, 0);
}

static uint8_t kind_of(uint32_t type)
{
	return type == BI_MEM_RESERVED ? MMU_MAP_MMIO : MMU_MAP_RAM;
}

/* APM Vol 2 15.25: identity map below 2^MAXPHYADDR; gaps are devices. */
static void build_map(uint64_t scratch_pa)
{
	uint64_t limit = 1ull << cpu_maxphyaddr(), next = 0;

	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];
		uint64_t base = ALIGN_DOWN(m->base, PAGE_SIZE);
		uint64_t end = ALIGN_UP(m->base + m->size, PAGE_SIZE);

		if (base < next)
			base = next;
		if (end <= base)
			continue;
		add_range(next, base - next, MMU_MAP_MMIO, next);
		if (umbra_owns(base, end - base))
			add_range(base, end - base, MMU_MAP_SCRATCH, scratch_pa);
		else
			add_range(base, end - base, kind_of(m->type), base);
		next = end;
	}
	if (next < limit)
		add_range(next, limit - next, MMU_MAP_MMIO, next);
}

/*
 * Table pages that map every page of the guest's RAM with leaves no larger
 * than max_level allows (each range's two edges may need a table more per
 * level), and the root.
 */
static uint64_t ram_tables(int max_level, uint64_t *ram)
{
	uint64_t n = 1;

	*ram = 0;
	for (unsigned int i = 0; i < nr_ranges; i++) {
		if (ranges[i].kind != MMU_MAP_RAM)
			continue;
		*ram += ranges[i].size;
		for (int level = 1; level <= 3; level++) {
			uint64_t span = 1ull << (21 + 9 * (level - 1));

			if (level >= max_level)
				n += ranges[i].size / span + 2;
		}
	}
	return n;
}

/* Every vCPU's, the others out of guest mode before it returns: the
 * tables a zap or a huge-page recovery unlinked are freed after it
 * (docs/mmu.md, "Several vCPUs") */
static void tdp_flush(void *arg)
{
	vcpu_flush_all_sync();
}

/*
 * The VM's guest-physical map, built once by the first vCPU that sets up
 * (the boot CPU's), and v's root in it.  mmu=tdp runs on it; mmu=shadow
 * on a back end without paged real mode runs the guest's real mode on it
 * (arch/x86/paging/shadow.c).
 */
void tdp_map_setup(struct vcpu *v)
{
	void *scratch = guest_scratch_page();
	struct mmu_tdp_config cfg = {
		.fmt = v->ops->tdp_is_ept ? PT_FMT_EPT : PT_FMT_NPT,
		.max_level = v->ops->tdp_max_level(),
		.flush = tdp_flush,
		.flush_arg = v,
	};
	static bool built;
	int err;

	if (!built) {
		apic_ro = apic_trapped_page();
		build_map(virt_to_phys(scratch));
		cfg.map = ranges;
		cfg.nr_map = nr_ranges;
		err = mmu_tdp_init(&tdp, &cfg);
		if (err)
			panic("TDP MMU set-up failed (%d)", err);
		built = true;
	}
	v->tdp = &tdp;
	v->ops->set_tdp_root(v, mmu_tdp_root_pa(&tdp));
}

static void tdp_setup(struct vcpu *v)
{
	uint64_t ram, need;
	int max_level = v->ops->tdp_max_level();

	tdp_map_setup(v);
	if (v->cpu)		/* an AP: the boot CPU's map */
		return;
	/* the TDP MMU gives every table back and starts again when it fills
	   (tdp_map_fault()): slow, never a failure; say so now */
	need = ram_tables(max_level, &ram);
	if (need > pages_free())
		pr_warn("nested paging: mapping all %lu MiB of guest RAM with %s pages takes up to %lu table pages and %lu are free: the tables will be dropped and rebuilt whenever they fill (boot umbra with a larger mem= to avoid it)",
			ram >> 20, max_level == 1 ? "4 KiB" :
			max_level == 2 ? "2 MiB" : "1 GiB", need, pages_free());
	pr_info("nested paging: %u ranges, largest page %s, root %lx", nr_ranges,
		max_level == 3 ? "1 GiB" : "2 MiB", mmu_tdp_root_pa(&tdp));
}

void vm_print_translation(uint64_t gpa)
{
	struct mmu_xlate x;

	if (mmu_tdp_translate(&tdp, gpa, &x)) {
		pr_info("gpa %016lx: not mapped", gpa);
		return;
	}
	pr_info("gpa %016lx -> hpa %016lx, level %d, spte %016lx, %c%c%c", gpa,
		x.hpa, x.level, x.spte, x.perm & PT_R ? 'r' : '-',
		x.perm & PT_W ? 'w' : '-', x.perm & PT_X ? 'x' : '-');
}

void tdp_map_fault(struct vcpu *v, const struct vcpu_exit *e)
{
	unsigned int access = (e->tdp.write ? PT_W : 0) | (e->tdp.exec ? PT_X : 0) | PT_R;
	enum mmu_fault_result r;

	if (apic_ro && e->tdp.write && ALIGN_DOWN(e->tdp.gpa, PAGE_SIZE) == apic_ro) {
		apic_mmio_access(v, e->tdp.gpa, true);
		return;
	}
	r = mmu_tdp_fault(&tdp, e->tdp.gpa, access);
	if (r == MMU_FAULT_NOMEM && nr_vcpus > 1) {
		/* the other vCPUs flush only at their next exit (docs/mmu.md):
		   tables freed under them could be reused while they walk them */
		pr_err("TDP MMU out of table pages with %u vCPUs: umbra cannot zap safely yet; boot umbra with a larger mem=",
		       nr_vcpus);
		halt("no-memory");
	}
	if (r == MMU_FAULT_NOMEM) {
		/* give every table back and let the guest fault them in again */
		pr_warn("TDP MMU out of table pages: zapping all mappings");
		mmu_tdp_zap(&tdp, 0, ~0ull);
		r = mmu_tdp_fault(&tdp, e->tdp.gpa, access);
	}
	switch (r) {
	case MMU_FAULT_FIXED:
	case MMU_FAULT_RETRY:
		return;
	case MMU_FAULT_NOMEM:
		panic("TDP MMU out of memory even after zapping everything");
	case MMU_FAULT_NOT_IN_MAP:
	case MMU_FAULT_PROT:
	default:
		pr_err("guest %s of guest-physical %lx at rip %lx: %s",
		       e->tdp.write ? "write" : e->tdp.exec ? "fetch" : "read",
		       e->tdp.gpa, v->ops->get_reg(v, VCPU_RIP),
		       r == MMU_FAULT_PROT ? "not allowed" : "beyond physical memory");
		vm_print_translation(e->tdp.gpa);
		vcpu_dump(v, "bad guest-physical access");
		vcpu_print_stats(v);
		halt("guest-error");
	}
}

static void tdp_print_stats(struct vcpu *v)
{
	struct mmu_tdp_stats s;

	if (!v->tdp)
		return;
	mmu_tdp_get_stats(v->tdp, &s);
	pr_info("  tdp: %lu faults, %lu retries, mapped 4K/2M/1G %lu/%lu/%lu, tables %lu allocated %lu freed",
		s.faults, s.retries, s.mapped[0], s.mapped[1], s.mapped[2],
		s.tables_alloc, s.tables_freed);
}

/*
 * A guest MOV to CR0/CR3/CR4 under nested paging, valid (cr.c): the
 * PDPTEs as the MOV loads them (VMX keeps them in the VMCS; under NPT the
 * walk reads them).  The CPU did not execute the MOV: flush where it
 * would have.
 */
static int tdp_set_cr(struct vcpu *v, const struct vcpu_cr *old,
		      const struct vcpu_cr *n, int cr)
{
	const struct vcpu_ops *o = v->ops;
	uint64_t pd[4];
	bool load = o->set_pdptes && guest_pdptes_load_on(old, n, cr == 3);

	if (load && guest_load_pdptes(n->cr3, pd, true))
		return -1;
	if (n->efer != old->efer)
		o->set_reg(v, VCPU_EFER, n->efer);
	o->set_reg(v, cr == 0 ? VCPU_CR0 : cr == 3 ? VCPU_CR3 : VCPU_CR4,
		   cr == 0 ? n->cr0 : cr == 3 ? n->cr3 : n->cr4);
	if (load)
		o->set_pdptes(v, pd);
	/* SDM Vol 3 4.10.4.1: the writes that invalidate TLBs */
	if (cr == 3 || ((old->cr0 ^ n->cr0) & (CR0_PG | CR0_WP | CR0_PE)) ||
	    ((old->cr4 ^ n->cr4) & CR4_TLB_BITS))
		o->flush_tlb(v);
	return 0;
}

/*
 * The PDPTEs of umbra's own walks.  VMX holds them in the VMCS and the
 * walk reads the tables (none here).  NPT: the CPU reads the PDPTEs from
 * memory on its walks (none are loaded into the VMCB), and QEMU TCG sets
 * the accessed flag (bit 5) in them, reserved on Intel (SDM Vol 3 Table
 * 4-8): umbra's walk takes them as the CPU's did.
 */
static bool tdp_pdptes(struct vcpu *v, const struct gw_ctx *ctx,
		       uint64_t pdpte[4])
{
	if (v->ops->set_pdptes || gw_mode(ctx) != GW_MODE_PAE ||
	    guest_load_pdptes(ctx->cr3, pdpte, false))
		return false;
	for (int i = 0; i < 4; i++)
		pdpte[i] &= ~(1ull << 5);
	return true;
}

static void tdp_root(struct vcpu *v, uint64_t *root_hpa, int *levels)
{
	*root_hpa = mmu_tdp_root_pa(&tdp);
	*levels = PT_LEVELS;
}

/* The debug shell's `mmu`: the TDP MMU's tables and faults. */
static void tdp_print_pages(struct vcpu *v)
{
	struct mmu_tdp_stats s;

	mmu_tdp_get_stats(&tdp, &s);
	pr_info("tdp (%s): %lu table pages live (%lu allocated, %lu freed)",
		tdp.fmt == PT_FMT_EPT ? "ept" : "npt", mmu_tdp_nr_tables(&tdp),
		s.tables_alloc, s.tables_freed);
	pr_info("tdp: leaves mapped 4K/2M/1G %lu/%lu/%lu; splits %lu, recovered %lu",
		s.mapped[0], s.mapped[1], s.mapped[2], s.splits, s.recovered);
	pr_info("tdp: faults %lu (fast %lu, spurious %lu, retries %lu), flushes %lu",
		s.faults, s.fast_fixes, s.spurious, s.retries, s.flushes);
}

static long tdp_dirty(struct vcpu *v, enum guest_dirty_op op, uint64_t gpa,
		      uint64_t size, uint64_t *bitmap)
{
	if (op == DIRTY_START)
		return mmu_tdp_dirty_enable(&tdp, gpa, size);
	if (op == DIRTY_GET)
		return mmu_tdp_dirty_get(&tdp, gpa, size, bitmap);
	mmu_tdp_dirty_disable(&tdp);
	return 0;
}

const struct guest_mmu tdp_guest_mmu = {
	.name = "tdp",
	.nested = true,
	.setup = tdp_setup,
	.tdp_fault = tdp_map_fault,
	.set_cr = tdp_set_cr,
	.pdptes = tdp_pdptes,
	.root = tdp_root,
	.print_stats = tdp_print_stats,
	.print_pages = tdp_print_pages,
	.dirty = tdp_dirty,
};
