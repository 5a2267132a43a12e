/* SPDX-License-Identifier: BSD-2-Clause */
/* The debug shell's page walks (walk.c). */
#ifndef UMBRA_SHELL_WALK_H
#define UMBRA_SHELL_WALK_H

#include "mmu/walk.h"

struct vcpu;

void cmd_walk(struct vcpu *v, const char *arg);
const char *walk_mode_name(enum gw_mode m);	/* "PAE paging", ... */

#endif
