// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: 8250 UART on COM1, 115200 8N1, polled.
 */
#include "guest.h"
#include "x86.h"

#define UART_THR	0
#define UART_DLL	0
#define UART_IER	1
#define UART_DLM	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

/* Enough polls for one character at any sane speed; never hang. */
#define SPIN_LIMIT	1000000

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00);
	outb(COM1 + UART_LCR, 0x80);		/* DLAB */
	outb(COM1 + UART_DLL, 0x01);		/* 115200 */
	outb(COM1 + UART_DLM, 0x00);
	outb(COM1 + UART_LCR, 0x03);		/* 8N1 */
	outb(COM1 + UART_FCR, 0xc7);		/* FIFO on, cleared */
	outb(COM1 + UART_MCR, 0x03);		/* DTR, RTS */
}

static void put_raw(char c)
{
	int n;

	for (n = 0; n < SPIN_LIMIT; n++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_putc(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}

void serial_write(const char *s, size_t n)
{
	while (n--)
		serial_putc(*s++);
}

/* Wait until the transmitter is empty: nothing is lost when we exit. */
void serial_drain(void)
{
	int n;

	for (n = 0; n < SPIN_LIMIT; n++)
		if ((inb(COM1 + UART_LSR) & (LSR_THRE | LSR_TEMT)) ==
		    (LSR_THRE | LSR_TEMT))
			break;
}
