// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest virtual memory through the guest's own page tables (gmem.h).  The
 * walk is mmu/walk.c's: SDM Vol 3 chapter 4 (permissions, A/D updates,
 * error codes); segmentation is the caller's business (flat guests).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "arch/x86/emul/decode.h"
#include "arch/x86/emul/gmem.h"
#include "core/mem.h"
#include "arch/x86/paging/mmu.h"
#include "lib/string.h"
#include "mmu/pt.h"
#include "umbra/core.h"
#include "umbra/log.h"


void *guest_scratch_page(void)
{
	static void *page;

	if (!page) {
		page = page_alloc(1);
		if (!page)
			panic("out of memory for the scratch page");
		memset(page, 0, PAGE_SIZE);
	}
	return page;
}

/*
 * Where guest-physical [gpa, gpa + size) lives in umbra's address space:
 * guest RAM, or the scratch page for umbra's own range (every page of it
 * is that one page, as the nested-paging map has it, arch/x86/paging/tdp.c), so that
 * umbra's walks and emulated accesses see what the hardware walker of
 * nested paging sees.  NULL for MMIO and holes.
 */
static void *guest_phys_ptr(uint64_t gpa, uint64_t size)
{
	if (guest_ram(gpa, size))
		return phys_to_virt(gpa);
	if (umbra_owns(gpa, 1) &&
	    size <= PAGE_SIZE - (gpa & (PAGE_SIZE - 1)))
		return (uint8_t *)guest_scratch_page() +
		       (gpa & (PAGE_SIZE - 1));
	return NULL;
}

static int phys_read(void *arg, uint64_t gpa, unsigned int size, uint64_t *val)
{
	void *p = guest_phys_ptr(gpa, size);

	if (!p)
		return -1;
	*val = 0;
	memcpy(val, p, size);
	return 0;
}

/* The processor updates A/D bits with a locked cycle (SDM Vol 3 4.8). */
static int phys_cmpxchg(void *arg, uint64_t gpa, unsigned int size,
			uint64_t old, uint64_t new)
{
	void *p = guest_phys_ptr(gpa, size);

	if (!p || (gpa & (size - 1)))
		return -1;
	if (size == 4) {
		uint32_t o = (uint32_t)old;

		return __atomic_compare_exchange_n((uint32_t *)p, &o,
						   (uint32_t)new, false,
						   __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	return __atomic_compare_exchange_n((uint64_t *)p, &old,
					   new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

const struct gw_mem_ops guest_phys_ops = {
	.read = phys_read,
	.cmpxchg = phys_cmpxchg,
};

/* umbra's own walks: an A/D update is a guest write the shadow MMU sees. */
static int walk_cmpxchg(void *arg, uint64_t gpa, unsigned int size,
			uint64_t old, uint64_t new)
{
	struct vcpu *v = arg;
	int r = phys_cmpxchg(NULL, gpa, size, old, new);

	if (r == 1 && v->mmu->wrote)
		v->mmu->wrote(v, gpa, &new, size);
	return r;
}

static const struct gw_mem_ops walk_ops = {
	.read = phys_read,
	.cmpxchg = walk_cmpxchg,
};

static bool long_mode(struct vcpu *v)
{
	return v->ops->get_reg(v, VCPU_EFER) & EFER_LMA;
}

/* The guest's own walk of lin; res has every entry read (mmu/walk.h). */
enum gw_status gmem_walk(struct vcpu *v, uint64_t lin, unsigned int access,
			 struct gw_result *res)
{
	const struct vcpu_ops *o = v->ops;
	struct gw_ctx ctx = {
		.cr0 = o->get_reg(v, VCPU_CR0),
		.cr3 = o->get_reg(v, VCPU_CR3),
		.cr4 = o->get_reg(v, VCPU_CR4),
		.efer = o->get_reg(v, VCPU_EFER),
		.ac = o->get_reg(v, VCPU_RFLAGS) & RFLAGS_AC,
		.maxphyaddr = cpu_maxphyaddr(),
		.gbpages = cpu_gbpages(),
		.mem = &walk_ops,
		.mem_arg = v,
	};

	ctx.pdptes_loaded = v->mmu->pdptes(v, &ctx, ctx.pdpte);
	/* protection keys: an emulated data access is checked as the CPU
	   would check it (fetches have none, SDM Vol 3 4.6.2) */
	if (!(access & GW_FETCH))
		cpu_guest_pkeys(ctx.cr4, &ctx.pkru, &ctx.pkrs);
	return gw_walk(&ctx, lin, access, res);
}

enum gw_mode gmem_mode(struct vcpu *v)
{
	const struct vcpu_ops *o = v->ops;
	struct gw_ctx ctx = {
		.cr0 = o->get_reg(v, VCPU_CR0),
		.cr4 = o->get_reg(v, VCPU_CR4),
		.efer = o->get_reg(v, VCPU_EFER),
	};

	return gw_mode(&ctx);
}

/* The walk of lin for access as is: GMEM_OK with res, or f filled. */
static int walk_xlate(struct vcpu *v, uint64_t lin, unsigned int access,
		      struct gw_result *res, struct gmem_fault *f)
{
	f->addr = lin;
	switch (gmem_walk(v, lin, access, res)) {
	case GW_OK:
		return GMEM_OK;
	case GW_FAULT:
		f->error_code = res->error_code;
		return GMEM_FAULT;
	default:
		f->gpa = res->bad_gpa;
		return GMEM_NOT_RAM;
	}
}

int gmem_xlate(struct vcpu *v, uint64_t lin, unsigned int access,
	       uint64_t *gpa, struct gmem_fault *f)
{
	struct gw_result res;
	int r;

	if (!(access & GW_IMPLICIT) && vcpu_cpl(v) == 3)
		access |= GW_USER;
	if (!long_mode(v))
		lin &= 0xffffffffull;
	r = walk_xlate(v, lin, access, &res, f);
	if (r == GMEM_OK)
		*gpa = res.gpa;
	return r;
}

/* Bytes [lin, lin + len) split at page boundaries, each piece translated. */
struct piece {
	uint64_t gpa;
	uint8_t *ptr;
	unsigned int len;
};

static int xlate_range(struct vcpu *v, uint64_t lin, unsigned int len,
		       unsigned int access, struct piece p[2],
		       struct gmem_fault *f)
{
	unsigned int n = 0;

	while (len) {
		unsigned int chunk = PAGE_SIZE - (lin & (PAGE_SIZE - 1));
		int r;

		if (chunk > len)
			chunk = len;
		if (n == 2)
			return GMEM_NOT_RAM;	/* callers stay below 4 KiB */
		r = gmem_xlate(v, lin, access, &p[n].gpa, f);
		if (r)
			return r;
		p[n].ptr = guest_phys_ptr(p[n].gpa, chunk);
		if (!p[n].ptr) {
			f->gpa = p[n].gpa;
			return GMEM_NOT_RAM;
		}
		p[n++].len = chunk;
		lin += chunk;
		len -= chunk;
	}
	for (; n < 2; n++)
		p[n].len = 0;
	return GMEM_OK;
}

int gmem_read(struct vcpu *v, uint64_t lin, void *buf, unsigned int len,
	      unsigned int access, struct gmem_fault *f)
{
	struct piece p[2];
	uint8_t *b = buf;
	int r = xlate_range(v, lin, len, access & ~GW_WRITE, p, f);

	if (r)
		return r;
	for (int i = 0; i < 2 && p[i].len; i++) {
		memcpy(b, p[i].ptr, p[i].len);
		b += p[i].len;
	}
	return GMEM_OK;
}

int gmem_write(struct vcpu *v, uint64_t lin, const void *buf,
	       unsigned int len, struct gmem_fault *f)
{
	struct piece p[2];
	const uint8_t *b = buf;
	int r = xlate_range(v, lin, len, GW_WRITE, p, f);

	if (r)
		return r;
	for (int i = 0; i < 2 && p[i].len; i++) {
		memcpy(p[i].ptr, b, p[i].len);
		if (v->mmu->wrote)
			v->mmu->wrote(v, p[i].gpa, b, p[i].len);
		b += p[i].len;
	}
	return GMEM_OK;
}

/*
 * The translation of the page an emulated instruction is fetched from,
 * kept as the CPU's TLB would keep it (SDM Vol 3 4.10.2-4.10.4): until
 * INVLPG of that page, a MOV to CR3 for a non-global page, or any change
 * of CR0, CR4 or EFER (compared at use, a superset of the changes that
 * flush).  Only under shadow paging, where every one of those exits
 * (under nested paging MOV to CR3 and INVLPG do not).  The bytes are
 * read afresh every time; only the walk is saved, about 900 of the 1,200
 * instructions a fetch costs (docs/performance.md).
 */
static bool itlb_hit(const struct vcpu_itlb *t, const struct vcpu_itlb *now)
{
	return t->valid && t->lin == now->lin && t->access == now->access &&
	       t->cr0 == now->cr0 && t->cr4 == now->cr4 &&
	       t->efer == now->efer && (t->global || t->cr3 == now->cr3);
}

void gmem_flush_fetch(struct vcpu *v, uint64_t lin, bool one, bool global)
{
	struct vcpu_itlb *t = &v->itlb;

	if (one ? t->lin == ALIGN_DOWN(lin, PAGE_SIZE) : global || !t->global)
		t->valid = false;
}

/* The first piece of a fetch, within one page, through the entry above. */
static int fetch_first(struct vcpu *v, uint64_t lin, uint8_t *buf,
		       unsigned int n, struct gmem_fault *f)
{
	const struct vcpu_ops *o = v->ops;
	uint64_t page = ALIGN_DOWN(lin, PAGE_SIZE), off = lin - page;
	struct vcpu_itlb now = {
		.lin = page,
		.access = GW_FETCH | (vcpu_cpl(v) == 3 ? GW_USER : 0),
		.cr0 = o->get_reg(v, VCPU_CR0), .cr3 = o->get_reg(v, VCPU_CR3),
		.cr4 = o->get_reg(v, VCPU_CR4), .efer = o->get_reg(v, VCPU_EFER),
	};
	struct gw_result res;
	void *p;

	if (v->mmu->nested)
		return gmem_read(v, lin, buf, n, GW_FETCH, f);
	if (!itlb_hit(&v->itlb, &now)) {
		uint64_t leaf;
		int r = walk_xlate(v, lin, now.access, &res, f);

		if (r)
			return r;
		leaf = res.nr_ptes ? res.pte[res.nr_ptes - 1] : 0;
		now.gpa = ALIGN_DOWN(res.gpa, PAGE_SIZE);
		now.global = !res.level ||
			     ((now.cr4 & CR4_PGE) && (leaf & PTE_G));
		now.valid = true;
		v->itlb = now;
	}
	p = guest_phys_ptr(v->itlb.gpa + off, n);
	if (!p) {
		v->itlb.valid = false;
		f->gpa = v->itlb.gpa + off;
		return GMEM_NOT_RAM;
	}
	memcpy(buf, p, n);
	return GMEM_OK;
}

int gmem_fetch(struct vcpu *v, uint8_t *buf, unsigned int *len,
	       struct gmem_fault *f)
{
	struct segment cs;
	uint64_t lin;
	unsigned int first;
	int r;

	v->ops->get_seg(v, SEG_CS, &cs);
	lin = v->ops->get_reg(v, VCPU_RIP);
	if (!long_mode(v) || !(cs.attr & (1 << 9)))
		lin = (cs.base + lin) & 0xffffffffull;	/* SDM Vol 3 3.4 */
	first = PAGE_SIZE - (lin & (PAGE_SIZE - 1));
	if (first > X86_MAX_INSN_LEN)
		first = X86_MAX_INSN_LEN;
	*len = 0;
	r = fetch_first(v, lin, buf, first, f);
	if (r)
		return r;
	*len = first;
	if (first < X86_MAX_INSN_LEN &&
	    !gmem_read(v, lin + first, buf + first, X86_MAX_INSN_LEN - first,
		       GW_FETCH, f))
		*len = X86_MAX_INSN_LEN;
	return GMEM_OK;
}

void gmem_inject_fault(struct vcpu *v, const struct gmem_fault *f)
{
	v->ops->set_reg(v, VCPU_CR2, f->addr);
	v->ops->inject_exception(v, X86_TRAP_PF, true, f->error_code);
}
