// SPDX-License-Identifier: BSD-2-Clause
/*
 * memset and memcpy, which gcc may emit calls to; the core and the guest
 * kernels link them, umbra.efi has gnu-efi's (its libefi defines both).
 */
#include "lib/string.h"

/*
 * A word at a time with REP STOS/MOVS (SDM Vol 2 "REP", "STOS", "MOVS";
 * DF is clear in both ABIs), then the bytes left: a page is 512 STOSQ
 * iterations instead of 4,096 trips of a byte loop.
 */
#ifdef __x86_64__
#define WORD_STOS	"rep stosq"
#define WORD_MOVS	"rep movsq"
typedef uint64_t word_t;
#else
#define WORD_STOS	"rep stosl"
#define WORD_MOVS	"rep movsl"
typedef uint32_t word_t;
#endif

void *memset(void *dst, int c, size_t n)
{
	word_t w = (word_t)0x0101010101010101ull * (unsigned char)c;
	size_t words = n / sizeof(word_t), bytes = n % sizeof(word_t);
	void *d = dst;

	__asm__ volatile(WORD_STOS : "+D"(d), "+c"(words) : "a"(w) : "memory");
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(bytes) : "a"(w) : "memory");
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	size_t words = n / sizeof(word_t), bytes = n % sizeof(word_t);
	void *d = dst;
	const void *s = src;

	__asm__ volatile(WORD_MOVS : "+D"(d), "+S"(s), "+c"(words) : : "memory");
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(bytes) : : "memory");
	return dst;
}
