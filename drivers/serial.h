/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_DRIVERS_SERIAL_H
#define UMBRA_DRIVERS_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define COM1_PORT	0x3f8
#define SERIAL_NR_PORTS	8

/* 8250 registers (offsets from the port) and bits the debug shell reads too */
#define UART_LCR	3
#define UART_LSR	5
#define LCR_DLAB	0x80
#define LSR_DR		0x01

void serial_init(uint16_t port);	/* 0: off */
uint16_t serial_port(void);
void serial_write(const char *s, unsigned long n);
bool serial_getc(char *c);		/* non-blocking */
void serial_flush(void);

/* Another UART than the console (gdb's own port): raw bytes, no CR. */
void uart_init(uint16_t port);
void uart_write(uint16_t port, const char *s, unsigned long n);
bool uart_getc(uint16_t port, char *c);	/* non-blocking */

#endif
