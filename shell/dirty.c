// SPDX-License-Identifier: BSD-2-Clause
/*
 * The debug shell's `dirty start|show|stop`: the dirty log of guest RAM in
 * either MMU mode (v->mmu->dirty: the TDP or the shadow MMU's), harvested
 * a bitmap page at a time, in pages per second of the guest's own time.
 */
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "core/mem.h"
#include "lib/string.h"
#include "shell/clock.h"
#include "shell/dirty.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define DIRTY_CHUNK	(PAGE_SIZE * 8 * PAGE_SIZE)	/* one bitmap page */
#define DIRTY_MAX	(64 * SZ_1G)		/* mmu/dirty.h */

static struct {
	bool on;
	uint64_t size;			/* logged: [0, size) */
	uint64_t since;			/* guest_cycles at start / last show */
	uint64_t total;			/* pages since start */
} dirty;

static uint64_t dirty_bitmap[PAGE_SIZE / 8] __attribute__((aligned(4096)));

/* Guest RAM: up to the end of the highest RAM range of its map. */
static uint64_t ram_end(void)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];

		if (guest_ram(m->base, PAGE_SIZE))
			end = MAX(end, ALIGN_UP(m->base + m->size, PAGE_SIZE));
	}
	return MIN(end, DIRTY_MAX);
}

static long harvest(struct vcpu *v)
{
	long n = 0;

	for (uint64_t gpa = 0; gpa < dirty.size; gpa += DIRTY_CHUNK) {
		long r;

		memset(dirty_bitmap, 0, sizeof(dirty_bitmap));
		r = v->mmu->dirty(v, DIRTY_GET, gpa,
				  MIN(DIRTY_CHUNK, dirty.size - gpa), dirty_bitmap);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

static void dirty_show(struct vcpu *v)
{
	long n = harvest(v);
	uint64_t dt = clock_guest_cycles() - dirty.since;

	if (n < 0) {
		pr_err("dirty: harvest failed (%ld)", n);
		return;
	}
	dirty.total += n;
	dirty.since = clock_guest_cycles();
	if (clock_tsc_hz() >= 1000) {
		uint64_t ms = dt / (clock_tsc_hz() / 1000);

		pr_info("dirty: %ld pages (%ld KiB) in %lu.%03lu s of guest time, %lu pages/s; %lu since start",
			n, n * 4, ms / 1000, ms % 1000,
			dt ? (uint64_t)n * clock_tsc_hz() / dt : 0, dirty.total);
	} else {
		pr_info("dirty: %ld pages (%ld KiB) in %lu guest TSC cycles, %lu pages per million cycles; %lu since start",
			n, n * 4, dt, dt ? (uint64_t)n * 1000000 / dt : 0, dirty.total);
	}
}

void cmd_dirty(struct vcpu *v, const char *arg)
{
	int err;

	if (!strcmp(arg, "start")) {
		if (dirty.on) {
			pr_err("dirty: already on (dirty stop first)");
			return;
		}
		dirty.size = ram_end();
		err = (int)v->mmu->dirty(v, DIRTY_START, 0, dirty.size, NULL);
		if (err) {
			pr_err("dirty: could not start (%d)", err);
			return;
		}
		dirty.on = true;
		dirty.since = clock_guest_cycles();
		dirty.total = 0;
		pr_info("dirty: logging guest-physical 0-%lx (%lu pages)",
			dirty.size - 1, dirty.size >> PAGE_SHIFT);
	} else if (!strcmp(arg, "show")) {
		if (!dirty.on)
			pr_err("dirty: not on (dirty start first)");
		else
			dirty_show(v);
	} else if (!strcmp(arg, "stop")) {
		if (!dirty.on) {
			pr_err("dirty: not on");
			return;
		}
		dirty_show(v);
		v->mmu->dirty(v, DIRTY_STOP, 0, 0, NULL);
		dirty.on = false;
		pr_info("dirty: logging stopped");
	} else {
		pr_err("dirty: expected start, stop or show, got '%s'", arg);
	}
}

bool dirty_logging(void)
{
	return dirty.on;
}
