// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest page-table walker (see walk.h).  The rules, by SDM Vol 3 section:
 *   4.3    32-bit paging, 4.4 PAE paging, 4.5 4-level paging (tables there)
 *   4.6    access rights: U/S, R/W with CR0.WP, XD with EFER.NXE, SMEP, SMAP,
 *          protection keys (4.6.2)
 *   4.7    the #PF error code
 *   4.8    accessed and dirty flags
 */
#include "mmu/pt.h"
#include "mmu/walk.h"

/* bits hi:lo set */
static uint64_t bits(unsigned int hi, unsigned int lo)
{
	if (hi < lo)
		return 0;
	return ((~0ull) >> (63 - hi)) & ~((1ull << lo) - 1);
}

enum gw_mode gw_mode(const struct gw_ctx *ctx)
{
	if (!(ctx->cr0 & GW_CR0_PG))
		return GW_MODE_OFF;
	if (!(ctx->cr4 & GW_CR4_PAE))
		return GW_MODE_32;
	if (ctx->efer & GW_EFER_LMA)
		return GW_MODE_LM;
	return GW_MODE_PAE;
}

static bool nx_active(const struct gw_ctx *ctx, enum gw_mode mode)
{
	return mode >= GW_MODE_PAE && (ctx->efer & GW_EFER_NXE);
}

/* physical-address bits of an entry: (M-1):12 */
static uint64_t addr_mask(const struct gw_ctx *ctx)
{
	return bits(ctx->maxphyaddr - 1, 12);
}

/* Reserved bits of a PAE / 4-level entry common to all levels. */
static uint64_t rsvd_common(const struct gw_ctx *ctx, enum gw_mode mode)
{
	/* Table 4-11 (PAE): 62:M; Table 4-19 (4-level): 51:M */
	uint64_t r = bits(mode == GW_MODE_PAE ? 62 : 51, ctx->maxphyaddr);

	if (!(ctx->efer & GW_EFER_NXE))
		r |= PTE_NX;
	return r;
}

/* PSE-36: a 4 MiB PDE holds address bits (M'-1):32 in bits (M'-20):13,
 * M' = min(MAXPHYADDR, 40); bits 21:(M'-19) are reserved (Table 4-4). */
static unsigned int pse36_bits(const struct gw_ctx *ctx)
{
	unsigned int m = ctx->maxphyaddr < 40 ? ctx->maxphyaddr : 40;

	return m > 32 ? m - 32 : 0;
}

static bool is_leaf(const struct gw_ctx *ctx, enum gw_mode mode, uint64_t e,
		    int level)
{
	if (level == 1)
		return true;
	if (!(e & PTE_PS))
		return false;
	if (mode == GW_MODE_32)
		return level == 2 && (ctx->cr4 & GW_CR4_PSE);
	return level == 2 || level == 3;
}

static uint64_t rsvd_bits(const struct gw_ctx *ctx, enum gw_mode mode,
			  uint64_t e, int level)
{
	uint64_t r;

	if (mode == GW_MODE_32) {
		if (level == 2 && (e & PTE_PS) && (ctx->cr4 & GW_CR4_PSE))
			return e & bits(21, 13 + pse36_bits(ctx));
		return 0;
	}
	r = rsvd_common(ctx, mode);
	if (level == 4)
		r |= PTE_PS;				/* Table 4-15 */
	else if (level == 3 && (e & PTE_PS))
		r |= ctx->gbpages ? bits(29, 13) : PTE_PS; /* Table 4-16 */
	else if (level == 2 && (e & PTE_PS))
		r |= bits(20, 13);			/* Tables 4-9, 4-18 */
	return e & r;
}

/* PAE PDPTE, Table 4-8: 2:1, 8:5 and 63:M reserved (XD too). */
static uint64_t pdpte_rsvd(const struct gw_ctx *ctx, uint64_t e)
{
	return e & (bits(2, 1) | bits(8, 5) | bits(63, ctx->maxphyaddr));
}

static bool is_user(unsigned int access)
{
	return (access & GW_USER) && !(access & GW_IMPLICIT);
}

/* Error-code bits that depend only on the access (SDM 4.7). */
static uint32_t access_error(const struct gw_ctx *ctx, enum gw_mode mode,
			     unsigned int access)
{
	uint32_t ec = 0;

	if (access & GW_WRITE)
		ec |= PFERR_W;
	if (is_user(access))
		ec |= PFERR_U;
	if ((access & GW_FETCH) &&
	    ((ctx->cr4 & GW_CR4_SMEP) || nx_active(ctx, mode)))
		ec |= PFERR_ID;
	return ec;
}

/* SDM 4.6.1: may this access use a translation with permissions perm? */
static bool access_allowed(const struct gw_ctx *ctx, unsigned int access,
			   unsigned int perm)
{
	bool u = perm & GW_PERM_U;
	bool smap = (ctx->cr4 & GW_CR4_SMAP) &&
		    ((access & GW_IMPLICIT) || !ctx->ac);

	if (access & GW_FETCH) {
		if (!(perm & GW_PERM_X))
			return false;
		if (is_user(access))
			return u;
		return !(u && (ctx->cr4 & GW_CR4_SMEP));
	}
	if (is_user(access))
		return u && (!(access & GW_WRITE) || (perm & GW_PERM_W));
	if (u && smap)
		return false;
	if ((access & GW_WRITE) && !(perm & GW_PERM_W) &&
	    (ctx->cr0 & GW_CR0_WP))
		return false;
	return true;
}

/*
 * SDM Vol 3 4.6.2 and 4.7 (APM Vol 2 5.6.7): does the protection key of
 * the 4-level leaf e deny this access?  Only data accesses are checked:
 * those to a user page (supervisor ones too, implicit or not) against
 * PKRU's rights for the key with CR4.PKE, those to a supervisor page
 * against IA32_PKRS's with CR4.PKS.  AD denies reads and writes; WD denies
 * writes at CPL 3 to a user page, and other writes where CR0.WP is set.
 * The #PF then has PK, whatever else the access broke.
 */
static bool pkey_denies(const struct gw_ctx *ctx, enum gw_mode mode,
			unsigned int access, unsigned int perm, uint64_t e)
{
	bool user_page = perm & GW_PERM_U;
	unsigned int key = (unsigned int)((e & PTE_PKEY) >> PTE_PKEY_SHIFT);
	uint32_t rights;

	if (mode != GW_MODE_LM || (access & GW_FETCH))
		return false;
	if (!(ctx->cr4 & (user_page ? GW_CR4_PKE : GW_CR4_PKS)))
		return false;
	rights = ((user_page ? ctx->pkru : ctx->pkrs) >> (2 * key)) & 3;
	if (rights & 1)				/* AD */
		return true;
	return (rights & 2) && (access & GW_WRITE) &&
	       ((user_page && is_user(access)) || (ctx->cr0 & GW_CR0_WP));
}

static enum gw_status fault(struct gw_result *res, uint32_t ec)
{
	res->error_code = ec;
	return GW_FAULT;
}

static int read_pte(const struct gw_ctx *ctx, struct gw_result *res,
		    uint64_t gpa, unsigned int size, uint64_t *e)
{
	if (ctx->mem->read(ctx->mem_arg, gpa, size, e)) {
		res->bad_gpa = gpa;
		return -1;
	}
	res->pte[res->nr_ptes] = *e;
	res->pte_gpa[res->nr_ptes] = gpa;
	res->nr_ptes++;
	return 0;
}

/* Frame of the leaf e at level, with the offset of va in it. */
static uint64_t leaf_gpa(const struct gw_ctx *ctx, enum gw_mode mode,
			 uint64_t e, int level, uint64_t va)
{
	uint64_t hi;

	if (mode != GW_MODE_32) {
		uint64_t size = 1ull << (12 + 9 * (level - 1));

		return (e & addr_mask(ctx) & ~(size - 1)) | (va & (size - 1));
	}
	if (level == 1)
		return (e & 0xfffff000ull) | (va & 0xfff);
	hi = (e >> 13) & ((1ull << pse36_bits(ctx)) - 1);
	return (e & 0xffc00000ull) | (hi << 32) | (va & 0x3fffff);
}

/* PAE: the PDPTE for va, from the cache or from memory. */
static enum gw_status pae_pdpte(const struct gw_ctx *ctx, uint64_t va,
				uint32_t ec, struct gw_result *res,
				uint64_t *table)
{
	unsigned int i = (va >> 30) & 3;
	uint64_t e;

	if (ctx->pdptes_loaded) {
		e = ctx->pdpte[i];
		res->pte[res->nr_ptes] = e;
		res->pte_gpa[res->nr_ptes] = ~0ull;
		res->nr_ptes++;
	} else if (read_pte(ctx, res, (ctx->cr3 & 0xffffffe0ull) + 8 * i,
			    8, &e)) {
		return GW_MEM_ERROR;
	}
	if (!(e & PTE_P))
		return fault(res, ec);
	if (pdpte_rsvd(ctx, e))
		return fault(res, ec | PFERR_P | PFERR_RSVD);
	*table = e & addr_mask(ctx);
	return GW_OK;
}

static unsigned int index_of(enum gw_mode mode, uint64_t va, int level)
{
	if (mode == GW_MODE_32)
		return (va >> (12 + 10 * (level - 1))) & 0x3ff;
	return (va >> (12 + 9 * (level - 1))) & 0x1ff;
}

static enum gw_status translate(const struct gw_ctx *ctx, enum gw_mode mode,
				uint64_t va, unsigned int access,
				struct gw_result *res)
{
	unsigned int size = mode == GW_MODE_32 ? 4 : 8;
	unsigned int perm = GW_PERM_W | GW_PERM_U | GW_PERM_X;
	uint32_t ec = access_error(ctx, mode, access);
	uint64_t table, e;
	int level;

	if (mode == GW_MODE_32) {
		table = ctx->cr3 & 0xfffff000ull;
		level = 2;
	} else if (mode == GW_MODE_PAE) {
		enum gw_status st = pae_pdpte(ctx, va, ec, res, &table);

		if (st != GW_OK)
			return st;
		level = 2;
	} else {
		table = ctx->cr3 & addr_mask(ctx);
		level = 4;
	}
	for (;; level--) {
		uint64_t gpa = table + size * index_of(mode, va, level);

		if (read_pte(ctx, res, gpa, size, &e))
			return GW_MEM_ERROR;
		if (!(e & PTE_P))
			return fault(res, ec);
		if (rsvd_bits(ctx, mode, e, level))
			return fault(res, ec | PFERR_P | PFERR_RSVD);
		if (!(e & PTE_RW))
			perm &= ~GW_PERM_W;
		if (!(e & PTE_US))
			perm &= ~GW_PERM_U;
		if ((e & PTE_NX) && nx_active(ctx, mode))
			perm &= ~GW_PERM_X;
		if (is_leaf(ctx, mode, e, level))
			break;
		table = mode == GW_MODE_32 ? e & 0xfffff000ull :
					     e & addr_mask(ctx);
	}
	res->perm = perm;
	res->level = level;
	res->gpa = leaf_gpa(ctx, mode, e, level, va);
	if (pkey_denies(ctx, mode, access, perm, e))
		ec |= PFERR_PK;
	if (!access_allowed(ctx, access, perm) || (ec & PFERR_PK))
		return fault(res, ec | PFERR_P);
	return GW_OK;
}

/*
 * SDM 4.8: A in every entry used, top level first, then A and D together in
 * the leaf on a write; the PAE PDPTE has no A flag (Table 4-8).  Returns 1
 * if an entry changed under us (walk again), -1 if memory is not backed.
 */
static int set_ad(const struct gw_ctx *ctx, enum gw_mode mode,
		  unsigned int access, struct gw_result *res)
{
	unsigned int size = mode == GW_MODE_32 ? 4 : 8;
	int i;

	for (i = mode == GW_MODE_PAE ? 1 : 0; i < res->nr_ptes; i++) {
		uint64_t e = res->pte[i];
		uint64_t set = PTE_A;
		int r;

		if (i == res->nr_ptes - 1 && (access & GW_WRITE))
			set |= PTE_D;
		if ((e & set) == set)
			continue;
		r = ctx->mem->cmpxchg(ctx->mem_arg, res->pte_gpa[i], size, e,
				      e | set);
		if (r < 0) {
			res->bad_gpa = res->pte_gpa[i];
			return -1;
		}
		if (r == 0)
			return 1;
	}
	return 0;
}

enum gw_status gw_walk(const struct gw_ctx *ctx, uint64_t va,
		       unsigned int access, struct gw_result *res)
{
	enum gw_mode mode = gw_mode(ctx);
	enum gw_status st;
	int r;

	__builtin_memset(res, 0, sizeof(*res));
	if (mode == GW_MODE_OFF) {
		res->gpa = va & 0xffffffffull;
		res->perm = GW_PERM_W | GW_PERM_U | GW_PERM_X;
		return GW_OK;
	}
	if (mode != GW_MODE_LM)
		va &= 0xffffffffull;
	do {
		res->nr_ptes = 0;
		st = translate(ctx, mode, va, access, res);
		if (st != GW_OK || (access & GW_NO_AD))
			return st;
		r = set_ad(ctx, mode, access, res);
	} while (r > 0);
	return r < 0 ? GW_MEM_ERROR : GW_OK;
}
