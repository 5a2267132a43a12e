/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_LIB_STRING_H
#define UMBRA_LIB_STRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
size_t strlcpy(char *dst, const char *src, size_t size);
/* s in decimal or hex (base 10 or 16; "0x" always means hex) */
bool str_to_u64(const char *s, unsigned int base, uint64_t *out);

#endif
