/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest kernels: the shared framework.
 *
 * A kernel provides test_name and test_main(); the framework (entry.asm,
 * start.c) records the entry state, sets up the serial port, its own GDT
 * and IDT, copies the multiboot information, calls test_main() and then
 * prints the closing line and exits through isa-debug-exit (0xf4), the
 * Bochs shutdown port (0x8900) or cli;hlt, in that order.
 *
 * Output protocol, one line each:
 *	PASS: name
 *	FAIL: name: detail
 *	SKIP: name: reason		(never counts as a pass)
 *	info: anything else
 *	N passed, N failed		(the closing line, exactly once)
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define MB_MAGIC		0x2badb002u
#define MB_FLAG_MEM		(1u << 0)
#define MB_FLAG_CMDLINE		(1u << 2)
#define MB_FLAG_MODS		(1u << 3)
#define MB_FLAG_MMAP		(1u << 6)
#define MB_FLAG_LOADER		(1u << 9)

#define MB_MEM_USABLE		1

#define BOOT_MAX_MMAP		128
#define BOOT_MAX_MODS		16
#define BOOT_MAX_EXCL		(BOOT_MAX_MODS * 2 + 8)

/* Filled in by entry.asm before anything else runs. */
struct entry_state {
	uint32_t eax, ebx, esp, eflags, cr0, cr4;
	uint16_t cs, ds, es, ss, fs, gs;
};

/* LAR/LSL of the entry selectors, taken before the framework's GDT. */
struct seg_probe {
	const char *name;
	uint16_t sel;
	int lar_ok, lsl_ok, gdt_ok;
	uint32_t ar;		/* LAR result, masked to 0x00f0ff00 */
	uint32_t limit;		/* LSL result */
	uint32_t base;		/* from the descriptor in the entry GDT */
};

struct mmap_entry {
	uint64_t base, len;
	uint32_t type;
};

struct module {
	uint32_t start, end;
	char cmdline[128];
};

struct range {
	uint64_t base, end;	/* [base, end) */
};

struct boot {
	int valid;		/* EAX held the multiboot magic */
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	char cmdline[4096];
	uint32_t cmdline_len;	/* strlen of the loader's string */
	char loader[64];
	int nr_mmap;
	struct mmap_entry mmap[BOOT_MAX_MMAP];
	int nr_mods;
	struct module mods[BOOT_MAX_MODS];
	int nr_excl;		/* memory a test must not overwrite */
	struct range excl[BOOT_MAX_EXCL];
};

extern struct entry_state entry_state;
extern struct seg_probe entry_segs[6];
extern struct boot boot;
extern char __kernel_start[], __kernel_end[];

/* Provided by each kernel. */
extern const char test_name[];
void test_main(void);

/* serial.c */
#define COM1		0x3f8
void serial_init(void);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
void serial_drain(void);

/* printf.c */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* test.c */
int check(int cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void skip(const char *name, const char *reason);
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void test_exit(void);
__attribute__((noreturn)) void guest_exit(uint32_t code);

/* string.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
char *strstr(const char *hay, const char *needle);
size_t strlcpy(char *dst, const char *src, size_t size);
int cmdline_has_word(const char *cmdline, const char *word);
/* The value of name=value in cmdline (up to the next space), or NULL. */
const char *cmdline_arg(const char *cmdline, const char *name);

/* start.c */
uint32_t u64_divmod(uint64_t *n, uint32_t d);
int ranges_overlap(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end);
int boot_is_excluded(uint64_t base, uint64_t end);

/* umbra detection (cpuid leaf 0x40000000 signature "UMBRA-X86-HV"). */
int under_umbra(void);

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#endif
