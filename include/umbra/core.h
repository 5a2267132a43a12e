/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_CORE_H
#define UMBRA_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include "umbra/bootinfo.h"

#define UMBRA_VERSION	"0.1"

#define PAGE_SIZE	4096ull
#define PAGE_SHIFT	12
#define SZ_1M		(1ull << 20)
#define SZ_2M		(1ull << 21)
#define SZ_1G		(1ull << 30)
#define SZ_4G		(1ull << 32)

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((uint64_t)(a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

/* umbra's command line (core/options.c) */
struct umbra_options {
	uint16_t serial_port;		/* 0: off */
	int loglevel;
	uint64_t mem_size;		/* umbra's own memory */
	char guest[128];		/* guest module by path; "" = first */
	int selftest;			/* enum selftest: fail on purpose */
	int mmu;			/* enum mmu_kind */
	int oos;			/* shadow: out-of-sync pages (0 or 1) */
	int iommu_off;			/* iommu=off: DMA left unprotected */
	bool canary_set;		/* canary= given (tests) */
	uint64_t canary;		/* the leak canary (core/canary.c) */
	int gdb_wait;			/* gdb=wait (0 or 1, shell/gdbstub.c) */
	uint16_t gdb_port;		/* gdb=PORT: gdb's own UART; 0: the console */
};

/* mmu=: how the guest's paging is virtualized. */
enum mmu_kind {
	MMU_TDP,			/* nested paging: NPT or EPT */
	MMU_SHADOW,			/* shadow page tables (mmu/shadow/shadow.h) */
};

/* selftest=: make umbra fail on purpose, so that tests see each failure path. */
enum selftest {
	SELFTEST_NONE,
	SELFTEST_HOST_EXCEPTION,	/* ud: a #UD in umbra */
	SELFTEST_FAILED_ENTRY,		/* entry: guest state VMRUN/VMLAUNCH refuses */
	SELFTEST_NO_MEMORY,		/* oom: umbra's pages run out before the vCPU */
};

extern struct umbra_options opts;

void core_main(struct boot_info *bi) __attribute__((noreturn));
void options_parse(const char *cmdline);

#endif
