// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: a small printf.
 *
 * Conversions: %d %i %u %x %X %p %s %c %%; flags '-' '0' '#'; a field width
 * (or '*'); a precision for %s; length modifiers hh h l ll z.
 */
#include "guest.h"

struct sink {
	char *buf;		/* NULL: write to the serial port */
	size_t size, len;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_pad(struct sink *s, char c, int n)
{
	while (n-- > 0)
		emit(s, c);
}

static void emit_num(struct sink *s, uint64_t v, int neg, unsigned base,
		     int upper, int alt, int width, int left, int zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;
	const char *prefix = "";

	do {
		tmp[n++] = digits[u64_divmod(&v, base)];
	} while (v);
	if (neg)
		prefix = "-";
	else if (alt && base == 16)
		prefix = upper ? "0X" : "0x";
	len = n + (int)strlen(prefix);
	if (!left && !zero)
		emit_pad(s, ' ', width - len);
	while (*prefix)
		emit(s, *prefix++);
	if (!left && zero)
		emit_pad(s, '0', width - len);
	while (n)
		emit(s, tmp[--n]);
	if (left)
		emit_pad(s, ' ', width - len);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		int left = 0, zero = 0, alt = 0, width = 0, prec = -1, lng = 0;
		uint64_t v;
		int neg;

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		for (;;) {
			fmt++;
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else if (*fmt == '#')
				alt = 1;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			prec = 0;
			fmt++;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + (*fmt++ - '0');
		}
		while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z') {
			if (*fmt == 'l')
				lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t x = lng >= 2 ? va_arg(ap, int64_t) :
					       (int64_t)va_arg(ap, int32_t);

			neg = x < 0;
			v = neg ? (uint64_t)-x : (uint64_t)x;
			emit_num(s, v, neg, 10, 0, 0, width, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			v = lng >= 2 ? va_arg(ap, uint64_t) :
				       (uint64_t)va_arg(ap, uint32_t);
			emit_num(s, v, 0, *fmt == 'u' ? 10 : 16, *fmt == 'X',
				 alt, width, left, zero);
			break;
		case 'p':
			v = (uint32_t)va_arg(ap, void *);
			emit_num(s, v, 0, 16, 0, 1, width, left, zero);
			break;
		case 'c':
			emit_pad(s, ' ', left ? 0 : width - 1);
			emit(s, (char)va_arg(ap, int));
			emit_pad(s, ' ', left ? width - 1 : 0);
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			int len, i;

			if (!str)
				str = "(null)";
			len = (int)strlen(str);
			if (prec >= 0 && len > prec)
				len = prec;
			emit_pad(s, ' ', left ? 0 : width - len);
			for (i = 0; i < len; i++)
				emit(s, str[i]);
			emit_pad(s, ' ', left ? width - len : 0);
			break;
		}
		case '%':
			emit(s, '%');
			break;
		case 0:
			return;
		default:
			emit(s, '%');
			emit(s, *fmt);
			break;
		}
	}
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = size };

	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = 0;
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };

	format(&s, fmt, ap);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}
