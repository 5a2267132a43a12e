// SPDX-License-Identifier: BSD-2-Clause
/*
 * AMD-Vi DMA remapping (AMD I/O Virtualization Technology (IOMMU)
 * Specification, 48882, rev 3.x): one device table (2.2.2) shared by
 * every IOMMU, whose entries put each DeviceID the IVHDs name (whole buses
 * of them) in domain 1 with one set of I/O page tables (2.2.3) that
 * identity-map guest-physical memory except umbra's ranges (iopt.c).
 * Each IOMMU gets its own command buffer (2.4: INVALIDATE_DEVTAB_ENTRY,
 * INVALIDATE_IOMMU_PAGES, COMPLETION_WAIT) and event log (2.5), which is
 * polled.  Registers: 3.4.  Interrupt remapping is not used (DTE.IV = 0).
 */
#include "arch/x86/cpu/cpu.h"
#include "core/mem.h"
#include "drivers/iommu/amdvi.h"
#include "drivers/iommu/iopt.h"
#include "lib/printf.h"
#include "umbra/core.h"
#include "umbra/log.h"

/* 3.4: MMIO register offsets */
#define AMDVI_DEVTAB	0x0000
#define AMDVI_CMDBUF	0x0008
#define AMDVI_EVTLOG	0x0010
#define AMDVI_CTRL	0x0018
#define AMDVI_EXCL_BASE	0x0020
#define AMDVI_EXCL_LIM	0x0028
#define AMDVI_EFR	0x0030
#define AMDVI_CMD_HEAD	0x2000
#define AMDVI_CMD_TAIL	0x2008
#define AMDVI_EVT_HEAD	0x2010
#define AMDVI_EVT_TAIL	0x2018
#define AMDVI_STATUS	0x2020

#define EFR_PCSUP	(1ull << 9)	/* performance counters: 512 KiB of registers */
#define CTRL_IOMMU_EN	(1ull << 0)
#define CTRL_EVTLOG_EN	(1ull << 2)
#define CTRL_COHERENT	(1ull << 10)
#define CTRL_CMDBUF_EN	(1ull << 12)
#define STS_EVT_OVF	(1ull << 0)	/* RW1C */
#define STS_EVT_RUN	(1ull << 3)
#define STS_CMD_RUN	(1ull << 4)
#define RING_LEN_256	(8ull << 56)	/* ComLen, EventLen: 2^8 entries, 4 KiB */
#define RING_BYTES	4096u

/* 2.2.2: device table entry, quadword 0; quadword 1 bits 15:0 DomainID */
#define DTE_V		(1ull << 0)
#define DTE_TV		(1ull << 1)
#define DTE_MODE(l)	((uint64_t)(l) << 9)	/* page-table levels */
#define PTE_PR		(1ull << 0)		/* 2.2.3: PDE and PTE */
#define PTE_NL(l)	((uint64_t)(l) << 9)	/* next level; 0: a page */
#define PTE_IR		(1ull << 61)
#define PTE_IW		(1ull << 62)
#define AMDVI_DOMAIN	1ull

/* 2.4: command opcodes, bits 63:60 of the first quadword */
#define CMD_COMPLETION_WAIT	(1ull << 60)
#define CMD_INV_DEVTAB_ENTRY	(2ull << 60)
#define CMD_INV_IOMMU_PAGES	(3ull << 60)
#define CW_STORE		(1ull << 0)
#define INV_ALL_PAGES		0x7ffffffffffff000ull	/* with S: every page (2.4.3) */
#define INV_S			(1ull << 0)
#define INV_PDE			(1ull << 1)

#define AMDVI_SPIN	(1u << 24)	/* polls before an IOMMU is given up */
#define DTE_PER_BUS	256u

struct amdvi_unit {
	volatile uint8_t *regs;
	uint64_t base;
	uint64_t *cmd, *evt;		/* rings, RING_BYTES each */
	uint32_t cmd_tail, evt_head, queued;
	volatile uint64_t *sem;		/* COMPLETION_WAIT store target */
	uint64_t sem_val;
};

static struct amdvi_unit units[IVRS_MAX_UNITS];
static uint32_t nr_units, nr_dte;
static uint64_t *devtab;

static uint64_t rd64(const struct amdvi_unit *u, uint32_t off)
{
	return *(volatile uint64_t *)(u->regs + off);
}

static void wr64(const struct amdvi_unit *u, uint32_t off, uint64_t v)
{
	*(volatile uint64_t *)(u->regs + off) = v;
}

uint64_t amdvi_reg_span(const struct ivrs_unit *iu)
{
	struct amdvi_unit u = { .regs = (volatile uint8_t *)iu->base };

	return (rd64(&u, AMDVI_EFR) & EFR_PCSUP) ? 0x80000 : 0x4000;
}

/* ---- I/O page tables (2.2.3): drivers/iommu/iopt.c ---- */

static uint64_t pt_table(uint64_t pa, int level)
{
	return pa | PTE_PR | PTE_NL(level - 1) | PTE_IR | PTE_IW;
}

static uint64_t pt_leaf(uint64_t pa, int level)
{
	return pa | PTE_PR | PTE_NL(0) | PTE_IR | PTE_IW;
}

static struct iopt pt = {
	.table = pt_table, .leaf = pt_leaf, .leaf_mask = PTE_NL(7),
	.leaf_bits = PTE_NL(0), .large = 3, .who = "AMD-Vi",
};

/* ---- commands (2.4) ---- */

static int wait_sem(struct amdvi_unit *u)
{
	for (uint32_t i = 0; i < AMDVI_SPIN; i++) {
		if (*u->sem == u->sem_val)
			return 0;
		cpu_pause();
	}
	pr_err("AMD-Vi %lx: COMPLETION_WAIT did not complete (status %lx, head %lx)",
	       u->base, rd64(u, AMDVI_STATUS), rd64(u, AMDVI_CMD_HEAD));
	return -1;
}

static void put_cmd(struct amdvi_unit *u, uint64_t lo, uint64_t hi)
{
	u->cmd[u->cmd_tail / 8] = lo;
	u->cmd[u->cmd_tail / 8 + 1] = hi;
	u->cmd_tail = (u->cmd_tail + 16) % RING_BYTES;
	u->queued++;
	__asm__ volatile("sfence" ::: "memory");
	wr64(u, AMDVI_CMD_TAIL, u->cmd_tail);
}

/* 2.4.1: COMPLETION_WAIT with a store; once it lands the ring is empty. */
static int sync_cmds(struct amdvi_unit *u)
{
	u->sem_val++;
	put_cmd(u, virt_to_phys((const void *)u->sem) | CW_STORE | CMD_COMPLETION_WAIT,
		u->sem_val);
	u->queued = 0;
	return wait_sem(u);
}

/* A command, with room kept in the 256-entry ring for the COMPLETION_WAIT. */
static int cmd(struct amdvi_unit *u, uint64_t lo, uint64_t hi)
{
	if (u->queued >= RING_BYTES / 16 - 2 && sync_cmds(u))
		return -1;
	put_cmd(u, lo, hi);
	return 0;
}

/* 2.4.2, 2.4.3: every device table entry, then every page of domain 1. */
static int invalidate_all(struct amdvi_unit *u)
{
	for (uint32_t id = 0; id < nr_dte; id++)
		if (cmd(u, CMD_INV_DEVTAB_ENTRY | id, 0))
			return -1;
	if (cmd(u, CMD_INV_IOMMU_PAGES | (AMDVI_DOMAIN << 32),
		INV_ALL_PAGES | INV_S | INV_PDE))
		return -1;
	return sync_cmds(u);
}

/* ---- one IOMMU ---- */

static int wait_status(const struct amdvi_unit *u, uint64_t bits)
{
	for (uint32_t i = 0; i < AMDVI_SPIN; i++) {
		if ((rd64(u, AMDVI_STATUS) & bits) == bits)
			return 0;
		cpu_pause();
	}
	pr_err("AMD-Vi %lx: the command buffer or event log did not start (status %lx)",
	       u->base, rd64(u, AMDVI_STATUS));
	return -1;
}

static int enable_unit(struct amdvi_unit *u)
{
	u->cmd = iopt_pages("AMD-Vi", 1);
	u->evt = iopt_pages("AMD-Vi", 1);
	u->sem = iopt_pages("AMD-Vi", 1);
	wr64(u, AMDVI_CTRL, 0);		/* firmware's settings off (3.4, IOMMU Control Register) */
	wr64(u, AMDVI_DEVTAB, virt_to_phys(devtab) |
	     (ALIGN_UP(nr_dte * 32ull, PAGE_SIZE) / PAGE_SIZE - 1));
	wr64(u, AMDVI_CMDBUF, virt_to_phys(u->cmd) | RING_LEN_256);
	wr64(u, AMDVI_CMD_HEAD, 0);
	wr64(u, AMDVI_CMD_TAIL, 0);
	wr64(u, AMDVI_EVTLOG, virt_to_phys(u->evt) | RING_LEN_256);
	wr64(u, AMDVI_EVT_HEAD, 0);
	wr64(u, AMDVI_EVT_TAIL, 0);
	wr64(u, AMDVI_EXCL_BASE, 0);	/* no exclusion range: nothing bypasses */
	wr64(u, AMDVI_EXCL_LIM, 0);
	wr64(u, AMDVI_STATUS, 7);	/* old overflow and interrupt bits */
	wr64(u, AMDVI_CTRL, CTRL_IOMMU_EN | CTRL_EVTLOG_EN | CTRL_CMDBUF_EN |
	     CTRL_COHERENT);
	if (wait_status(u, STS_CMD_RUN | STS_EVT_RUN))
		return -1;
	return invalidate_all(u);	/* firmware's cached entries */
}

/* 2.2.2: every DeviceID of every bus the IVHDs name, in domain 1. */
static void build_devtab(const struct ivrs_info *v)
{
	uint32_t max = 0;
	uint64_t dte0 = virt_to_phys(pt.root) | DTE_V | DTE_TV |
			DTE_MODE(pt.levels) | PTE_IR | PTE_IW;

	for (uint32_t i = 0; i < v->nr_units; i++)
		max = MAX(max, (uint32_t)v->unit[i].max_devid);
	nr_dte = ALIGN_UP(max + 1, DTE_PER_BUS);
	devtab = iopt_pages("AMD-Vi", ALIGN_UP(nr_dte * 32ull, PAGE_SIZE) / PAGE_SIZE);
	for (uint32_t id = 0; id < nr_dte; id++) {
		devtab[4 * id] = dte0;
		devtab[4 * id + 1] = AMDVI_DOMAIN;	/* IV = 0: no interrupt remapping */
	}
}

int amdvi_enable(const struct ivrs_info *v, uint64_t top)
{
	pt.levels = top > (1ull << 39) ? 4 : 3;
	if (top > (1ull << 48)) {
		pr_warn("AMD-Vi: devices reach guest memory up to 256 TiB only");
		top = 1ull << 48;
	}
	iopt_init(&pt);
	iopt_map_identity(&pt, top);
	for (uint32_t i = 0; i < v->nr_ivmd; i++)	/* 5.2, IVMD: unity ranges */
		iopt_map_reserved(&pt, "IVMD", v->ivmd[i].base, v->ivmd[i].end, top);
	build_devtab(v);
	nr_units = v->nr_units;
	for (uint32_t i = 0; i < nr_units; i++) {
		struct amdvi_unit *u = &units[i];

		u->base = v->unit[i].base;
		u->regs = (volatile uint8_t *)u->base;
		pr_info("AMD-Vi %lx: IOMMU %02x:%02x.%x, IVHD type %x, EFR %lx, device IDs up to %x",
			u->base, v->unit[i].devid >> 8, (v->unit[i].devid >> 3) & 0x1f,
			v->unit[i].devid & 7, v->unit[i].type, rd64(u, AMDVI_EFR),
			v->unit[i].max_devid);
		if (enable_unit(u))
			return -1;
	}
	pr_info("AMD-Vi: DMA remapping on in %u IOMMU%s: %u device table entries, devices reach guest memory below %lx (%d-level tables, 1 GiB leaves), umbra's ranges unmapped",
		nr_units, nr_units == 1 ? "" : "s", nr_dte, top, pt.levels);
	return 0;
}

/* ---- the event log (2.5) ---- */

static void log_event(const struct amdvi_unit *u, const uint64_t *ev)
{
	struct amdvi_event e;
	char why[80];

	amdvi_event_decode(ev, &e);
	snprintf(why, sizeof(why), "%s%s, AMD-Vi %lx", e.name,
		 e.code == 2 ? (e.present ? ": no permission" : ": not present") : "",
		 u->base);
	if (e.code == 5 || e.code == 6 || e.code == 7)	/* umbra's own commands */
		pr_err("AMD-Vi %lx: event %s at %lx", u->base, e.name, e.addr);
	else
		iopt_fault(e.devid, e.write, e.addr, why);
}

static void poll_unit(struct amdvi_unit *u)
{
	uint32_t tail = (uint32_t)rd64(u, AMDVI_EVT_TAIL) % RING_BYTES;
	uint32_t head = u->evt_head;

	while (u->evt_head != tail) {
		uint64_t *ev = &u->evt[u->evt_head / 8];

		if (!(ev[0] >> 60))
			break;	/* the tail moved before the entry landed: next poll */
		log_event(u, ev);
		ev[0] = ev[1] = 0;
		u->evt_head = (u->evt_head + 16) % RING_BYTES;
	}
	if (u->evt_head != head)
		wr64(u, AMDVI_EVT_HEAD, u->evt_head);
	if (rd64(u, AMDVI_STATUS) & STS_EVT_OVF) {
		/* 2.5.1: restart the log; the faults it lost were still blocked */
		pr_warn("AMD-Vi %lx: event log overflowed: faults were lost, not let through",
			u->base);
		wr64(u, AMDVI_CTRL, rd64(u, AMDVI_CTRL) & ~CTRL_EVTLOG_EN);
		wr64(u, AMDVI_STATUS, STS_EVT_OVF);
		wr64(u, AMDVI_EVT_HEAD, 0);
		wr64(u, AMDVI_EVT_TAIL, 0);
		u->evt_head = 0;
		wr64(u, AMDVI_CTRL, rd64(u, AMDVI_CTRL) | CTRL_EVTLOG_EN);
	}
}

void amdvi_poll(void)
{
	for (uint32_t i = 0; i < nr_units; i++)
		poll_unit(&units[i]);
}
