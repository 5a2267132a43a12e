// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: the string functions umbra's lib/string.c and lib/mem.c
 * do not have (the rest, memset, memcpy, memcmp, strlen, strcmp, strlcpy,
 * are linked from there).
 */
#include "guest.h"

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d < s)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

char *strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!memcmp(hay, needle, n))
			return (char *)hay;
	return n ? NULL : (char *)hay;
}

/* Is @word one of the space-separated words of @cmdline? */
int cmdline_has_word(const char *cmdline, const char *word)
{
	size_t n = strlen(word);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, word, n) && (p[n] == ' ' || p[n] == 0))
			return 1;
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

const char *cmdline_arg(const char *cmdline, const char *name)
{
	size_t n = strlen(name);
	const char *p = cmdline;

	while (*p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, name, n) && p[n] == '=')
			return p + n + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}
