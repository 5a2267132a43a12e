// SPDX-License-Identifier: BSD-2-Clause
/*
 * Intel VT-d DMA remapping (Intel VT-d spec, rev. 4.x): every unit gets
 * the same root table, whose 256 entries all point at one context table,
 * whose 256 entries all put the device in domain 1 with one set of
 * second-level page tables.  Those tables identity-map guest-physical
 * memory except umbra's ranges (umbra_owns(): its memory, the units'
 * registers), so a device the guest programs reaches what the guest may
 * reach and faults on the rest.  The tables live in umbra's memory and so
 * are never mapped for a device.  Legacy mode (root table, 9.1; context
 * entries, 9.3; second-level entries, 9.8), register-based invalidation
 * (6.5.1, 10.4.7, 10.4.8), primary fault logging polled (7.3.1, 10.4.14).
 */
#include "arch/x86/cpu/cpu.h"
#include "core/mem.h"
#include "drivers/iommu/iopt.h"
#include "drivers/iommu/vtd.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/log.h"

/* 10.4: register offsets */
#define VTD_VER		0x00
#define VTD_CAP		0x08
#define VTD_ECAP	0x10
#define VTD_GCMD	0x18
#define VTD_GSTS	0x1c
#define VTD_RTADDR	0x20
#define VTD_CCMD	0x28
#define VTD_FSTS	0x34
#define VTD_FECTL	0x38

/* 10.4.2 CAP_REG */
#define CAP_RWBF	(1ull << 4)
#define CAP_CM		(1ull << 7)
#define CAP_SAGAW(c)	(((c) >> 8) & 0x1f)
#define CAP_MGAW(c)	((((c) >> 16) & 0x3f) + 1)
#define CAP_FRO(c)	((((c) >> 24) & 0x3ff) * 16)
#define CAP_SLLPS(c)	(((c) >> 34) & 0xf)
#define CAP_NFR(c)	((((c) >> 40) & 0xff) + 1)
/* 10.4.3 ECAP_REG */
#define ECAP_C		(1ull << 0)
#define ECAP_IRO(e)	((((e) >> 8) & 0x3ff) * 16)
/* 10.4.4 GCMD_REG, 10.4.5 GSTS_REG: the same bit for command and status */
#define GCMD_TE		(1u << 31)
#define GCMD_SRTP	(1u << 30)
#define GCMD_WBF	(1u << 27)
#define GCMD_QIE	(1u << 26)
#define GSTS_ONE_SHOT_MASK 0x96ffffffu	/* 10.4.4: RTPS, FLS, WBFS, IRTPS cleared */
/* 10.4.7 CCMD_REG, 10.4.8 IOTLB_REG: global invalidation */
#define CCMD_ICC	(1ull << 63)
#define CCMD_GLOBAL	(1ull << 61)
#define IOTLB_IVT	(1ull << 63)
#define IOTLB_GLOBAL	(1ull << 60)
#define IOTLB_DR	(1ull << 49)
#define IOTLB_DW	(1ull << 48)
/* 10.4.9 FSTS_REG, 10.4.10 FECTL_REG */
#define FSTS_PFO	(1u << 0)
#define FSTS_PPF	(1u << 1)
#define FSTS_FRI(s)	(((s) >> 8) & 0xff)
#define FECTL_IM	(1u << 31)
/* 10.4.14 fault recording register, upper 64 bits */
#define FRCD_F		(1ull << 63)
#define FRCD_T_READ	(1ull << 62)	/* 0: write request */
#define FRCD_FR(h)	(((h) >> 32) & 0xff)
#define FRCD_SID(h)	((h) & 0xffff)

/* 9.8: second-level entries; 9.3: context entry; 9.1: root entry */
#define SL_R		(1ull << 0)
#define SL_W		(1ull << 1)
#define SL_PS		(1ull << 7)
#define CTX_P		(1ull << 0)
#define CTX_AW_39	1ull		/* 3-level table */
#define CTX_AW_48	2ull		/* 4-level table */
#define ROOT_P		(1ull << 0)
#define VTD_DOMAIN	1ull		/* 0 is reserved with caching mode (10.4.2 CM) */

#define VTD_SPIN	(1u << 24)	/* status polls before a unit is given up */

struct vtd_unit {
	volatile uint8_t *regs;
	uint64_t base, cap, ecap;
};

static struct vtd_unit units[DMAR_MAX_UNITS];
static uint32_t nr_units;
static uint64_t *root_table, *ctx_table;
static bool tables_incoherent;

static uint32_t rd32(const struct vtd_unit *u, uint32_t off)
{
	return *(volatile uint32_t *)(u->regs + off);
}

static void wr32(const struct vtd_unit *u, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(u->regs + off) = v;
}

static uint64_t rd64(const struct vtd_unit *u, uint32_t off)
{
	return *(volatile uint64_t *)(u->regs + off);
}

static void wr64(const struct vtd_unit *u, uint32_t off, uint64_t v)
{
	*(volatile uint64_t *)(u->regs + off) = v;
}

uint64_t vtd_reg_span(const struct dmar_unit *du)
{
	struct vtd_unit u = { .regs = (volatile uint8_t *)du->base };
	uint64_t cap = rd64(&u, VTD_CAP), ecap = rd64(&u, VTD_ECAP);
	uint64_t span = MAX(du->size, ECAP_IRO(ecap) + 16);

	span = MAX(span, CAP_FRO(cap) + 16 * CAP_NFR(cap));
	return ALIGN_UP(span, PAGE_SIZE);
}

/* ---- second-level page tables (9.8): drivers/iommu/iopt.c ---- */

static uint64_t sl_table(uint64_t pa, int level)
{
	return pa | SL_R | SL_W;
}

static uint64_t sl_leaf(uint64_t pa, int level)
{
	return pa | SL_R | SL_W | (level > 1 ? SL_PS : 0);
}

static struct iopt sl = {
	.table = sl_table, .leaf = sl_leaf, .leaf_mask = SL_PS,
	.leaf_bits = SL_PS, .who = "VT-d",
};

/* ---- one unit ---- */

static int wait_gsts(const struct vtd_unit *u, uint32_t bit, bool set)
{
	for (uint32_t i = 0; i < VTD_SPIN; i++) {
		if (!!(rd32(u, VTD_GSTS) & bit) == set)
			return 0;
		cpu_pause();
	}
	pr_err("VT-d %lx: GSTS bit %x did not %s (GSTS %x)", u->base, bit,
	       set ? "set" : "clear", rd32(u, VTD_GSTS));
	return -1;
}

/* 10.4.4: GCMD from GSTS with the one-shot bits cleared, one bit changed. */
static int gcmd(const struct vtd_unit *u, uint32_t bit, bool on, bool wait_for)
{
	uint32_t v = rd32(u, VTD_GSTS) & GSTS_ONE_SHOT_MASK;

	wr32(u, VTD_GCMD, on ? v | bit : v & ~bit);
	return wait_gsts(u, bit, wait_for);
}

static int wait_clear64(const struct vtd_unit *u, uint32_t off, uint64_t bit)
{
	for (uint32_t i = 0; i < VTD_SPIN; i++) {
		if (!(rd64(u, off) & bit))
			return 0;
		cpu_pause();
	}
	pr_err("VT-d %lx: invalidation at %x did not complete", u->base, off);
	return -1;
}

/* 6.5.1, 10.4.7, 10.4.8: global context-cache, then IOTLB invalidation. */
static int invalidate_all(const struct vtd_unit *u)
{
	uint32_t iotlb = ECAP_IRO(u->ecap) + 8;

	if ((u->cap & CAP_RWBF) && gcmd(u, GCMD_WBF, true, false))
		return -1;	/* 6.8: flush the write buffer first */
	wr64(u, VTD_CCMD, CCMD_ICC | CCMD_GLOBAL);
	if (wait_clear64(u, VTD_CCMD, CCMD_ICC))
		return -1;
	wr64(u, iotlb, IOTLB_IVT | IOTLB_GLOBAL | IOTLB_DR | IOTLB_DW);
	return wait_clear64(u, iotlb, IOTLB_IVT);
}

/* Firmware may have left translation or queued invalidation on (10.4.4). */
static int quiesce(const struct vtd_unit *u)
{
	uint32_t sts = rd32(u, VTD_GSTS);

	if ((sts & GCMD_TE) && gcmd(u, GCMD_TE, false, false))
		return -1;
	if ((sts & GCMD_QIE) && gcmd(u, GCMD_QIE, false, false))
		return -1;
	return 0;
}

static int enable_unit(struct vtd_unit *u)
{
	if (quiesce(u))
		return -1;
	wr32(u, VTD_FECTL, FECTL_IM);	/* faults are polled (7.3.2) */
	wr64(u, VTD_RTADDR, virt_to_phys(root_table));	/* 10.4.6: legacy mode */
	if (gcmd(u, GCMD_SRTP, true, true))	/* 10.4.4: wait for RTPS */
		return -1;
	if (invalidate_all(u))	/* 10.4.4 SRTP: invalidate after setting */
		return -1;
	vtd_poll();		/* faults left from before: logged, cleared */
	return gcmd(u, GCMD_TE, true, true);	/* wait for TES */
}

/* ---- capabilities ---- */

static int check_caps(const struct dmar_info *d, uint64_t *top)
{
	uint32_t sagaw = 0x1f, large = 0xf;
	unsigned int mgaw = 64;

	for (uint32_t i = 0; i < nr_units; i++) {
		sagaw &= CAP_SAGAW(units[i].cap);
		large &= CAP_SLLPS(units[i].cap);
		mgaw = MIN(mgaw, CAP_MGAW(units[i].cap));
		if (!(units[i].ecap & ECAP_C))
			tables_incoherent = true;
	}
	if (sagaw & (1u << 2))
		sl.levels = 4;		/* 10.4.2 SAGAW bit 2: 48-bit, 4 levels */
	else if (sagaw & (1u << 1))
		sl.levels = 3;		/* bit 1: 39-bit, 3 levels */
	else {
		pr_err("VT-d: the units share no 3- or 4-level table (SAGAW %x)", sagaw);
		return -1;
	}
	mgaw = MIN(mgaw, sl.levels == 4 ? 48u : 39u);
	if (*top > (1ull << mgaw)) {
		pr_warn("VT-d: devices reach guest memory up to %lu GiB only (MGAW %u)",
			(uint64_t)((1ull << mgaw) >> 30), mgaw);
		*top = 1ull << mgaw;
	}
	sl.large = (large & 2) ? 3 : (large & 1) ? 2 : 1;
	(void)d;
	return 0;
}

static void build_tables(const struct dmar_info *d, uint64_t top)
{
	uint64_t aw = sl.levels == 4 ? CTX_AW_48 : CTX_AW_39;

	iopt_init(&sl);
	root_table = iopt_pages("VT-d", 1);
	ctx_table = iopt_pages("VT-d", 1);
	iopt_map_identity(&sl, top);
	for (uint32_t i = 0; i < d->nr_rmrr; i++)	/* 8.4 */
		iopt_map_reserved(&sl, "RMRR", d->rmrr[i].base, d->rmrr[i].end, top);
	for (int i = 0; i < 256; i++) {		/* 9.3: every devfn */
		ctx_table[2 * i] = virt_to_phys(sl.root) | CTX_P;	/* TT 00 */
		ctx_table[2 * i + 1] = aw | (VTD_DOMAIN << 8);
	}
	for (int i = 0; i < 256; i++)		/* 9.1: every bus */
		root_table[2 * i] = virt_to_phys(ctx_table) | ROOT_P;
	if (tables_incoherent)	/* 10.4.3 ECAP.C clear: the walk does not snoop */
		__asm__ volatile("wbinvd" ::: "memory");
}

int vtd_enable(const struct dmar_info *d, uint64_t top)
{
	nr_units = d->nr_units;
	for (uint32_t i = 0; i < nr_units; i++) {
		struct vtd_unit *u = &units[i];

		u->base = d->unit[i].base;
		u->regs = (volatile uint8_t *)u->base;
		u->cap = rd64(u, VTD_CAP);
		u->ecap = rd64(u, VTD_ECAP);
		pr_info("VT-d unit %lx: version %x, cap %lx, ecap %lx%s%s", u->base,
			rd32(u, VTD_VER), u->cap, u->ecap,
			d->unit[i].include_all ? ", all devices" : "",
			(u->cap & CAP_CM) ? ", caching mode" : "");
	}
	if (check_caps(d, &top))
		return -1;
	build_tables(d, top);
	for (uint32_t i = 0; i < nr_units; i++)
		if (enable_unit(&units[i]))
			return -1;
	pr_info("VT-d: DMA remapping on in %u unit%s: devices reach guest memory below %lx (%d-level tables, %s leaves), umbra's ranges unmapped",
		nr_units, nr_units == 1 ? "" : "s", top, sl.levels,
		sl.large == 3 ? "1 GiB" : sl.large == 2 ? "2 MiB" : "4 KiB");
	return 0;
}

/* ---- faults (7.3.1, 10.4.9, 10.4.14) ---- */

static const char *fault_reason(uint32_t fr)
{
	static const char *const names[] = {
		"?", "root entry not present", "context entry not present",
		"invalid context entry", "address beyond the address width",
		"write not allowed", "read not allowed",
		"page table not accessible", "root table not accessible",
		"context table not accessible", "reserved bit in root entry",
		"reserved bit in context entry", "reserved bit in page table",
	};

	return fr < ARRAY_SIZE(names) ? names[fr] : "other";
}

static void log_fault(const struct vtd_unit *u, uint64_t lo, uint64_t hi)
{
	uint32_t fr = FRCD_FR(hi);
	char why[80];

	snprintf(why, sizeof(why), "reason %u: %s, VT-d %lx", fr, fault_reason(fr),
		 u->base);
	iopt_fault(FRCD_SID(hi), !(hi & FRCD_T_READ), lo, why);
}

static void poll_unit(const struct vtd_unit *u)
{
	uint32_t sts = rd32(u, VTD_FSTS), nfr = CAP_NFR(u->cap);
	uint32_t fro = CAP_FRO(u->cap);

	if (!(sts & (FSTS_PPF | FSTS_PFO)))
		return;
	for (uint32_t i = 0; i < nfr; i++) {
		uint32_t off = fro + 16 * ((FSTS_FRI(sts) + i) % nfr);
		uint64_t hi = rd64(u, off + 8);

		if (!(hi & FRCD_F))
			continue;
		log_fault(u, rd64(u, off), hi);
		wr32(u, off + 12, (uint32_t)(FRCD_F >> 32));	/* RW1C */
	}
	if (sts & FSTS_PFO) {
		pr_warn("VT-d %lx: fault log overflowed: faults were lost, not let through",
			u->base);
		wr32(u, VTD_FSTS, FSTS_PFO);
	}
}

void vtd_poll(void)
{
	for (uint32_t i = 0; i < nr_units; i++)
		poll_unit(&units[i]);
}
