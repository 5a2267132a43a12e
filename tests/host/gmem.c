// SPDX-License-Identifier: BSD-2-Clause
/* Guest memory for walker tests (see gmem.h). */
#include <string.h>

#include "tests/host/gmem.h"

uint64_t gmem_get(const struct gmem *m, uint64_t gpa, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, m->bytes + gpa, size);
	return v;
}

void gmem_put(struct gmem *m, uint64_t gpa, unsigned int size, uint64_t v)
{
	memcpy(m->bytes + gpa, &v, size);
}

static int gmem_read(void *arg, uint64_t gpa, unsigned int size, uint64_t *val)
{
	struct gmem *m = arg;

	if (gpa >= m->size || m->size - gpa < size)
		return -1;
	*val = gmem_get(m, gpa, size);
	return 0;
}

static int gmem_cmpxchg(void *arg, uint64_t gpa, unsigned int size,
			uint64_t old, uint64_t new)
{
	struct gmem *m = arg;

	if (gpa >= m->size || m->size - gpa < size)
		return -1;
	if (size == 4) {
		uint32_t o = (uint32_t)old;

		return __atomic_compare_exchange_n((uint32_t *)(m->bytes + gpa),
						   &o, (uint32_t)new, false,
						   __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
	return __atomic_compare_exchange_n((uint64_t *)(m->bytes + gpa), &old,
					   new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

const void *gmem_frame(void *arg, uint64_t gfn)
{
	struct gmem *m = arg;

	return gfn < m->size >> 12 ? m->bytes + (gfn << 12) : NULL;
}

const struct gw_mem_ops gmem_ops = {
	.read = gmem_read,
	.cmpxchg = gmem_cmpxchg,
};
