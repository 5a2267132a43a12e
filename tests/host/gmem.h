/* SPDX-License-Identifier: BSD-2-Clause */
/* Guest-physical memory for walker tests: a malloc'd array behind
 * struct gw_mem_ops. */
#ifndef UMBRA_TESTS_GMEM_H
#define UMBRA_TESTS_GMEM_H

#include <stdint.h>

#include "mmu/walk.h"

struct gmem {
	uint8_t *bytes;
	uint64_t size;
};

extern const struct gw_mem_ops gmem_ops;
/* shadow_config.frame: frame gfn of the memory in place */
const void *gmem_frame(void *arg, uint64_t gfn);

uint64_t gmem_get(const struct gmem *m, uint64_t gpa, unsigned int size);
void gmem_put(struct gmem *m, uint64_t gpa, unsigned int size, uint64_t v);

#endif
