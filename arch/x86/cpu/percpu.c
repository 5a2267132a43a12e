// SPDX-License-Identifier: BSD-2-Clause
/* The per-CPU areas (percpu.h). */
#include <stddef.h>

#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/percpu.h"
#include "umbra/log.h"

static struct percpu cpus[MAX_CPUS];

void percpu_init(unsigned int id)
{
	struct percpu *p;

	BUG_ON(id >= MAX_CPUS);
	p = &cpus[id];
	p->self = p;
	p->id = id;
	percpu_reload(p);
}

bool cpus_stopping;
unsigned int cpus_stopped;

void percpu_check_stop(void)
{
	if (!__atomic_load_n(&cpus_stopping, __ATOMIC_ACQUIRE))
		return;
	pr_info("cpu %u stops: umbra halts", this_cpu()->id);
	__atomic_fetch_add(&cpus_stopped, 1, __ATOMIC_SEQ_CST);
	halt_forever();
}

struct percpu *percpu_get(unsigned int id)
{
	return id < MAX_CPUS ? &cpus[id] : NULL;
}
