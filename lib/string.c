// SPDX-License-Identifier: BSD-2-Clause
/*
 * Freestanding string routines, and memcmp (gcc may emit calls to it;
 * memset and memcpy are in lib/mem.c, which umbra.efi takes from gnu-efi).
 */
#include "lib/string.h"

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/*
 * s as a number: hexadecimal after "0x" (or "0X"), else in base (10 or
 * 16).  false if s has no digit, another character, or overflows.
 */
bool str_to_u64(const char *s, unsigned int base, uint64_t *out)
{
	uint64_t v = 0, max;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* constants: no 64-bit division in the 32-bit guest kernels */
	max = base == 16 ? UINT64_MAX / 16 : UINT64_MAX / 10;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > max || v * base > UINT64_MAX - d)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}
