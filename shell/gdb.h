/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The GDB remote serial protocol (the GDB manual, appendix "Remote
 * Protocol"), over an abstract target: framing, acks, hex, the packets
 * a stopped target answers.  No umbra types, so that it builds on the
 * host too (tests/host/test_gdb.c); shell/gdbstub.c is umbra's target.
 */
#ifndef UMBRA_SHELL_GDB_H
#define UMBRA_SHELL_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PKT_MAX	4096	/* PacketSize: the longest body we take */
/*
 * Registers in gdb's i386:x86-64 order: rax rbx rcx rdx rsi rdi rbp rsp
 * r8-r15 (0-15), rip (16), eflags (17), cs ss ds es fs gs (18-23); then
 * st0-st7 and the x87 control registers (24-39), which read as 0.
 */
#define GDB_REG_RIP	16
#define GDB_REG_EFLAGS	17
#define GDB_REG_CS	18
#define GDB_NR_GPRS	24	/* the ones a target has */
#define GDB_NR_REGS	40
#define GDB_O_CHUNK	256	/* console bytes per O packet */
#define GDB_PHYS_MAX	256	/* bytes per `monitor phys` */

struct gdb_target {
	void *ctx;
	int (*getc)(void *ctx);		/* waits; < 0: the line is gone */
	void (*put)(void *ctx, const char *s, size_t n);
	uint64_t (*get_reg)(void *ctx, unsigned int n);	/* n < GDB_NR_GPRS */
	void (*set_reg)(void *ctx, unsigned int n, uint64_t val);
	/* guest-virtual; 0, or < 0 when any byte cannot be reached */
	int (*read_mem)(void *ctx, uint64_t addr, void *buf, size_t len);
	int (*write_mem)(void *ctx, uint64_t addr, const void *buf, size_t len);
	/* a software breakpoint: 0, < 0 failed, > 0 not supported */
	int (*breakpoint)(void *ctx, uint64_t addr, bool insert);
	void (*kill)(void *ctx);	/* may return (host tests) */
	/*
	 * Optional: a debug-register point, type as Z's (1 execute, 2 write,
	 * 4 access), len bytes; 0, < 0 failed, > 0 not supported.
	 */
	int (*hw_point)(void *ctx, unsigned int type, uint64_t addr,
			uint64_t len, bool insert);
	/*
	 * Optional: guest-physical memory for `monitor phys`: NULL, or why
	 * it cannot be read (the message gdb prints).
	 */
	const char *(*read_phys)(void *ctx, uint64_t addr, void *buf,
				 size_t len);
};

enum gdb_resume { GDB_CONTINUE, GDB_STEP, GDB_DETACH, GDB_KILLED, GDB_CLOSED };

struct gdb {
	const struct gdb_target *t;
	bool noack;			/* QStartNoAckMode */
	char in[GDB_PKT_MAX + 1];
	size_t in_len;			/* X's data may hold a NUL */
	char out[GDB_PKT_MAX + 8];
	char o[1 + 2 * GDB_O_CHUNK];	/* an O packet under construction */
};

void gdb_init(struct gdb *g, const struct gdb_target *t);
/*
 * Serve packets until gdb resumes the target.  stop >= 0: the target
 * stopped with that signal (5 SIGTRAP, 2 SIGINT): say so first, as the
 * answer to the c or s that resumed it.
 */
enum gdb_resume gdb_serve(struct gdb *g, int stop);
/* the same with a stop reply naming why: key "watch" or "awatch", addr */
/*
 * The target's console output as O packets (E.3): gdb takes them only
 * while the target runs (between a resume and its stop reply) and while
 * it serves a qRcmd.  False: the line is gone.
 */
bool gdb_console(struct gdb *g, const char *s, size_t n);
enum gdb_resume gdb_serve_watch(struct gdb *g, int stop, const char *key,
				uint64_t addr);

#endif
