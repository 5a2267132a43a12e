/* SPDX-License-Identifier: BSD-2-Clause */
/* The debug shell's dirty logging (dirty.c). */
#ifndef UMBRA_SHELL_DIRTY_H
#define UMBRA_SHELL_DIRTY_H

#include <stdbool.h>

struct vcpu;

void cmd_dirty(struct vcpu *v, const char *arg);
bool dirty_logging(void);

#endif
