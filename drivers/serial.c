// SPDX-License-Identifier: BSD-2-Clause
/* 8250/16550 UART, polled, 115200 8N1. */
#include "arch/x86/cpu/cpu.h"
#include "drivers/serial.h"

#define UART_DATA	0
#define UART_IER	1
#define UART_FCR	2
#define UART_MCR	4
#define UART_DLL	0
#define UART_DLM	1

#define LSR_THRE	0x20
#define LSR_TEMT	0x40

static uint16_t uart;

void uart_init(uint16_t port)
{
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, 1);		/* 115200 / 1 */
	outb(port + UART_DLM, 0);
	outb(port + UART_LCR, 0x03);		/* 8N1 */
	outb(port + UART_FCR, 0x07);		/* FIFO on, cleared */
	outb(port + UART_MCR, 0x03);		/* DTR, RTS */
}

void serial_init(uint16_t port)
{
	uart = port;
	if (port)
		uart_init(port);
}

uint16_t serial_port(void)
{
	return uart;
}

static void putc_at(uint16_t port, char c)
{
	/* bounded: a missing UART must not hang umbra */
	for (int i = 0; i < 100000; i++) {
		if (inb(port + UART_LSR) & LSR_THRE)
			break;
		cpu_pause();
	}
	outb(port + UART_DATA, (uint8_t)c);
}

static void serial_putc(char c)
{
	putc_at(uart, c);
}

void uart_write(uint16_t port, const char *s, unsigned long n)
{
	while (n--)
		putc_at(port, *s++);
}

bool uart_getc(uint16_t port, char *c)
{
	if (!(inb(port + UART_LSR) & LSR_DR))
		return false;
	*c = (char)inb(port + UART_DATA);
	return true;
}

void serial_write(const char *s, unsigned long n)
{
	if (!uart)
		return;
	while (n--) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s++);
	}
}

/* Wait until the last character has left the UART (bounded). */
void serial_flush(void)
{
	for (int i = 0; uart && i < 1000000; i++) {
		if (inb(uart + UART_LSR) & LSR_TEMT)
			break;
		cpu_pause();
	}
}

bool serial_getc(char *c)
{
	return uart && uart_getc(uart, c);
}
