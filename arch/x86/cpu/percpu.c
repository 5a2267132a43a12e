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

struct percpu *percpu_get(unsigned int id)
{
	return id < MAX_CPUS ? &cpus[id] : NULL;
}
