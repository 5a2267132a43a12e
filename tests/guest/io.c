// SPDX-License-Identifier: BSD-2-Clause
/*
 * io: port I/O reaches the devices untouched.
 *
 * The serial port is driven directly in several ways (OUTB, REP OUTSB,
 * REP INSB, reads of IER/LCR/LSR/scratch and of the divisor latch after
 * writing them), 16- and 32-bit accesses go to the PCI configuration ports
 * (0xcf8/0xcfc), and the CMOS RTC is read through ports 0x70/0x71.  The
 * debug exit at the end (port 0xf4) is itself the last check: the runner
 * sees the exit status only if the write reached the emulator.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "io";

#define UART_IER	1
#define UART_LCR	3
#define UART_LSR	5
#define UART_SCR	7

static void outsb(uint16_t port, const char *s, uint32_t n)
{
	asm volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(port) : "memory");
}

static void insb(uint16_t port, uint8_t *buf, uint32_t n)
{
	asm volatile("rep insb" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

static void tx_wait(void)
{
	int n;

	for (n = 0; n < 1000000; n++)
		if (inb(COM1 + UART_LSR) & 0x20)
			break;
}

static void serial_paths(void)
{
	static const char line1[] = "info: written with outb\r\n";
	static const char line2[] = "info: written with rep outsb\r\n";
	uint8_t buf[4];
	uint32_t i;

	serial_drain();
	for (i = 0; i < sizeof(line1) - 1; i++) {
		tx_wait();
		outb(COM1, (uint8_t)line1[i]);
	}
	/* The FIFO holds 16 bytes: send in pieces that fit. */
	for (i = 0; i < sizeof(line2) - 1; i += 8) {
		uint32_t n = sizeof(line2) - 1 - i;

		serial_drain();
		outsb(COM1, line2 + i, n < 8 ? n : 8);
	}
	serial_drain();
	/* tests/run-guest-tests.py checks that both lines reached the log */
	check((inb(COM1 + UART_LSR) & 0x60) == 0x60, "serial output with outb "
	      "and rep outsb: transmitter empty after it", "LSR %#x",
	      inb(COM1 + UART_LSR));

	outb(COM1 + UART_SCR, 0x5a);
	check(inb(COM1 + UART_SCR) == 0x5a, "scratch register: outb/inb",
	      "read %#x, wrote 0x5a", inb(COM1 + UART_SCR));
	outb(COM1 + UART_SCR, 0xa5);
	check(inb(COM1 + UART_SCR) == 0xa5, "scratch register: second value",
	      "read %#x, wrote 0xa5", inb(COM1 + UART_SCR));
	outb(COM1 + UART_SCR, 0x42);
	insb(COM1 + UART_SCR, buf, 4);
	check(buf[0] == 0x42 && buf[1] == 0x42 && buf[2] == 0x42 &&
	      buf[3] == 0x42, "scratch register: rep insb",
	      "%#x %#x %#x %#x", buf[0], buf[1], buf[2], buf[3]);

	check(inb(COM1 + UART_IER) == 0x00, "ier reads back 0",
	      "read %#x", inb(COM1 + UART_IER));
	check(inb(COM1 + UART_LCR) == 0x03, "lcr reads back 8n1 (0x03)",
	      "read %#x", inb(COM1 + UART_LCR));
	outb(COM1 + UART_LCR, 0x83);
	{
		uint8_t dll = inb(COM1), dlm = inb(COM1 + 1);

		outb(COM1 + UART_LCR, 0x03);
		check(dll == 1 && dlm == 0, "divisor latch reads back 115200",
		      "dll %#x dlm %#x", dll, dlm);
	}
	serial_drain();
	check((inb(COM1 + UART_LSR) & 0x60) == 0x60,
	      "lsr: transmitter empty after draining", "lsr %#x",
	      inb(COM1 + UART_LSR));
	outb(COM1 + UART_IER, 0x05);
	check(inb(COM1 + UART_IER) == 0x05, "ier reads back a written value",
	      "read %#x, wrote 0x05", inb(COM1 + UART_IER));
	outb(COM1 + UART_IER, 0x00);
}

static uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/*
 * 16- and 32-bit port I/O.  Not on the UART: QEMU 7.2 aborts on a 16-bit
 * access to the 8250 (serial_ioport_write: assertion `size == 1'), so use
 * PCI configuration mechanism 1, where wider accesses are normal: the host
 * bridge's vendor and device id, read whole and in halves.
 */
static void pci_config(void)
{
	uint32_t id, id2;
	uint16_t vendor, device, cmd, cmd2;

	outl(0xcf8, 0x80000000u);		/* bus 0, device 0, function 0 */
	id = inl(0xcfc);
	vendor = inw(0xcfc);
	device = inw(0xcfe);
	outl(0xcf8, 0x80000000u);
	id2 = inl(0xcfc);
	info("pci 00:00.0: vendor %#x device %#x (id %#x)", vendor, device,
	     id);
	check(inl(0xcf8) == 0x80000000u, "pci config address reads back "
	      "(32-bit out/in)", "%#x", inl(0xcf8));
	check(vendor != 0xffff && vendor != 0 && id == id2,
	      "pci host bridge present (32-bit in)", "id %#x, again %#x", id,
	      id2);
	check(vendor == (id & 0xffff) && device == id >> 16,
	      "pci config: 16-bit reads agree with 32-bit",
	      "inw %#x %#x, inl %#x", vendor, device, id);

	outl(0xcf8, 0x80000004u);		/* command register */
	cmd = inw(0xcfc);
	outw(0xcfc, cmd);			/* the same value: harmless */
	cmd2 = inw(0xcfc);
	check(cmd == cmd2, "pci config: 16-bit out/in of the command register",
	      "wrote %#x, read %#x", cmd, cmd2);
	outl(0xcf8, 0);
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static uint32_t bcd(uint8_t v, int binary)
{
	return binary ? v : (uint32_t)(v >> 4) * 10 + (v & 0xf);
}

static int valid_bcd(uint8_t v)
{
	return (v & 0xf) <= 9 && (v >> 4) <= 9;
}

struct rtc_time {
	uint8_t sec, min, hour, day, mon, year;
};

static void rtc_read(struct rtc_time *t)
{
	int n;

	for (n = 0; n < 100000 && (cmos_read(0x0a) & 0x80); n++)
		;				/* update in progress */
	t->sec = cmos_read(0x00);
	t->min = cmos_read(0x02);
	t->hour = cmos_read(0x04);
	t->day = cmos_read(0x07);
	t->mon = cmos_read(0x08);
	t->year = cmos_read(0x09);
}

static void rtc(void)
{
	struct rtc_time a, b;
	uint8_t sb = cmos_read(0x0b), sd = cmos_read(0x0d);
	int binary = !!(sb & 0x04), h24 = !!(sb & 0x02), tries;
	uint32_t sec, min, hour, day, mon, year;

	info("cmos status a %#x b %#x d %#x", cmos_read(0x0a), sb, sd);
	check(sd & 0x80, "cmos status d: valid ram and time", "status d %#x",
	      sd);
	for (tries = 0; tries < 5; tries++) {	/* two equal reads */
		rtc_read(&a);
		rtc_read(&b);
		if (!memcmp(&a, &b, sizeof(a)))
			break;
	}
	sec = bcd(a.sec, binary);
	min = bcd(a.min, binary);
	hour = bcd(a.hour & 0x7f, binary);
	day = bcd(a.day, binary);
	mon = bcd(a.mon, binary);
	year = bcd(a.year, binary);
	info("rtc: %02u-%02u-%02u %02u:%02u:%02u (%s, %s)", year, mon, day,
	     hour, min, sec, binary ? "binary" : "bcd", h24 ? "24h" : "12h");
	check(tries < 5, "rtc: two consecutive reads agree", NULL);
	check(sec < 60 && min < 60 &&
	      (h24 ? hour < 24 : hour >= 1 && hour <= 12) &&
	      day >= 1 && day <= 31 && mon >= 1 && mon <= 12 && year < 100,
	      "rtc: date and time in range",
	      "raw %#x %#x %#x %#x %#x %#x", a.year, a.mon, a.day, a.hour,
	      a.min, a.sec);
	if (!binary)
		check(valid_bcd(a.sec) && valid_bcd(a.min) &&
		      valid_bcd(a.hour & 0x7f) && valid_bcd(a.day) &&
		      valid_bcd(a.mon) && valid_bcd(a.year),
		      "rtc: valid bcd digits", "raw %#x %#x %#x %#x %#x %#x",
		      a.year, a.mon, a.day, a.hour, a.min, a.sec);
	outb(0x70, 0x0e);			/* leave a harmless index */
	cmos_read(0x0e);
}

void test_main(void)
{
	serial_paths();
	pci_config();
	rtc();
	info("the debug exit (port 0xf4) comes next: the runner checks it");
}
