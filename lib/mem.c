// SPDX-License-Identifier: BSD-2-Clause
/*
 * memset and memcpy, which gcc may emit calls to; the core and the guest
 * kernels link them, umbra.efi has gnu-efi's (its libefi defines both).
 */
#include "lib/string.h"

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}
