// SPDX-License-Identifier: BSD-2-Clause
/*
 * I/O policy: the guest owns every port except
 *   - umbra's own console when it is not COM1 (serial=com2 etc.): the guest
 *     sees no device there (reads all ones, writes dropped);
 *   - the emulators' exit ports (isa-debug-exit at 0xf4, Bochs' 0x8900),
 *     which umbra watches so that it can print its statistics before the
 *     emulator ends; the access itself is then done unchanged.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/vcpu.h"
#include "drivers/serial.h"
#include "umbra/log.h"

#define DEBUG_EXIT_PORT		0xf4
#define DEBUG_EXIT_PORTS	4
#define BOCHS_SHUTDOWN_PORT	0x8900

static bool stats_printed;

static bool owned_serial(uint16_t port)
{
	uint16_t base = serial_port();

	return base && base != COM1_PORT && port >= base &&
	       port < base + SERIAL_NR_PORTS;
}

static bool exit_port(uint16_t port)
{
	return (port >= DEBUG_EXIT_PORT && port < DEBUG_EXIT_PORT + DEBUG_EXIT_PORTS) ||
	       port == BOCHS_SHUTDOWN_PORT;
}

static uint32_t size_mask(uint8_t size)
{
	return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static uint32_t port_in(uint16_t port, uint8_t size)
{
	switch (size) {
	case 1: return inb(port);
	case 2: return inw(port);
	default: return inl(port);
	}
}

static void port_out(uint16_t port, uint8_t size, uint32_t val)
{
	switch (size) {
	case 1: outb(port, (uint8_t)val); break;
	case 2: outw(port, (uint16_t)val); break;
	default: outl(port, val); break;
	}
}

void handle_io(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vcpu_gprs *g = &v->gprs;
	uint16_t port = e->io.port;
	uint32_t mask = size_mask(e->io.size);

	if (e->io.string) {
		pr_warn("string I/O on intercepted port %x at %lx not emulated; skipped",
			port, v->ops->get_reg(v, VCPU_RIP));
	} else if (e->io.in) {
		uint32_t val = owned_serial(port) ? 0xffffffffu : port_in(port, e->io.size);

		g->rax = (g->rax & ~(uint64_t)mask) | (val & mask);
	} else if (exit_port(port)) {
		if (!stats_printed) {
			pr_info("guest wrote %x to exit port %x", (uint32_t)g->rax & mask, port);
			vcpu_print_stats(v);
			stats_printed = true;
			serial_flush();	/* the emulator may end at the write */
		}
		port_out(port, e->io.size, (uint32_t)g->rax & mask);
	}
	vcpu_advance_rip(v, e, 1);
}

void io_setup_intercepts(struct vcpu *v)
{
	for (uint16_t p = 0; p < DEBUG_EXIT_PORTS; p++)
		v->ops->intercept_io(v, DEBUG_EXIT_PORT + p, true);
	v->ops->intercept_io(v, BOCHS_SHUTDOWN_PORT, true);
	for (uint16_t p = 0; p < SERIAL_NR_PORTS; p++)
		if (owned_serial(serial_port() + p))
			v->ops->intercept_io(v, serial_port() + p, true);
}
