/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_LIB_PRINTF_H
#define UMBRA_LIB_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
