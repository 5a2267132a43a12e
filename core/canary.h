/* SPDX-License-Identifier: BSD-2-Clause */
/* The leak canary in umbra's own memory (canary.c). */
#ifndef UMBRA_X86_CANARY_H
#define UMBRA_X86_CANARY_H

#include <stdint.h>


/* After mem_init(): fill umbra's data, stack and free pages; print it. */
void canary_init(void);

#endif
