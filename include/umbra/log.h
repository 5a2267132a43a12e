/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * umbra's console: every line is "umbra: LEVEL: text".  A panic prints
 * "umbra: PANIC: ..." lines and ends with "umbra: halt: panic"; every clean
 * stop ends with "umbra: halt: REASON" (tools/umbra-run keys on that line).
 */
#ifndef UMBRA_LOG_H
#define UMBRA_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_level;

void log_printf(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int log_level_parse(const char *s);
const char *log_level_name(int level);

#define pr_err(...)	log_printf(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...)	log_printf(LOG_WARN, __VA_ARGS__)
#define pr_info(...)	log_printf(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	log_printf(LOG_DEBUG, __VA_ARGS__)

struct exc_frame;

void panic(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void panic_frame(struct exc_frame *f, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* Stop the machine cleanly: "umbra: halt: REASON", then hlt forever. */
void halt(const char *reason) __attribute__((noreturn));

/* svm/diag.c, vmx/diag.c: an error line for each consistency rule broken,
   counted in rules_broken; RULE_WHO names the caller */
extern int rules_broken;
void rule_broken(const char *who, const char *what, uint64_t a, uint64_t b);

#define RULE(cond, what, a, b)					\
	do {							\
		if (!(cond))					\
			rule_broken(RULE_WHO, what, a, b);	\
	} while (0)

#define BUG_ON(cond)							\
	do {								\
		if (cond)						\
			panic("BUG at %s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

#endif
