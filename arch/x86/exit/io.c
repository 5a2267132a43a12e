// SPDX-License-Identifier: BSD-2-Clause
/*
 * I/O policy: the guest owns every port except
 *   - umbra's own console when it is not COM1 (serial=com2 etc.), and gdb's
 *     own UART (gdb=PORT, shell/gdbstub.c): the guest sees no device there
 *     (reads all ones, writes dropped);
 *   - the emulators' exit ports (isa-debug-exit at 0xf4, Bochs' 0x8900),
 *     which umbra watches so that it can print its statistics before the
 *     emulator ends; the access itself is then done unchanged;
 *   - COM1's data port when umbra's console is COM1 too: umbra does the
 *     guest's accesses itself and watches what the guest reads for the
 *     debug shell's key sequence (shell/shell.h).  The I/O permission
 *     map has one bit per port for both directions (APM Vol 2 15.10.1,
 *     SDM Vol 3 25.6.4), so the guest's writes (and string I/O) to the
 *     port exit as well and are done here.  While gdb is attached there,
 *     the guest's output goes to gdb as O packets (gdbstub_console()).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/emul/decode.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/exit/io.h"
#include "shell/gdbstub.h"
#include "shell/shell.h"
#include "arch/x86/vcpu/vcpu.h"
#include "drivers/iommu/iommu.h"
#include "drivers/serial.h"
#include "umbra/log.h"

#define DEBUG_EXIT_PORT		0xf4
#define DEBUG_EXIT_PORTS	4
#define BOCHS_SHUTDOWN_PORT	0x8900

static bool stats_printed;

static bool in_uart(uint16_t port, uint16_t base)
{
	return base && port >= base && port < base + SERIAL_NR_PORTS;
}

static bool owned_serial(uint16_t port)
{
	uint16_t base = serial_port();

	return (base != COM1_PORT && in_uart(port, base)) ||
	       in_uart(port, gdbstub_own_port());
}

static bool exit_port(uint16_t port)
{
	return (port >= DEBUG_EXIT_PORT && port < DEBUG_EXIT_PORT + DEBUG_EXIT_PORTS) ||
	       port == BOCHS_SHUTDOWN_PORT;
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

/* The shared console's data port, watched for the debug shell. */
static bool shell_port(uint16_t port)
{
	return shell_shared() && port == serial_port();
}

static uint32_t guest_in(struct vcpu *v, uint16_t port, uint8_t size)
{
	if (owned_serial(port))
		return 0xffffffffu;
	if (shell_port(port) && size == 1)
		return shell_guest_rx(v, port);
	return port_in(port, size);
}

static void guest_out(struct vcpu *v, uint16_t port, uint8_t size, uint32_t val)
{
	if (owned_serial(port))
		return;
	if (exit_port(port) && !stats_printed) {
		pr_info("guest wrote %x to exit port %x", val, port);
		iommu_poll_now(true);	/* its last DMA faults, before the end */
		vcpu_print_stats(v);
		stats_printed = true;
		serial_flush();	/* the emulator may end at the write */
	}
	if (shell_port(port) && size == 1 && gdbstub_console(port, (uint8_t)val))
		return;
	port_out(port, size, val);
}

/*
 * INS/OUTS (SDM Vol 2 "INS", "OUTS"): ES:rDI or seg:rSI (DS unless
 * overridden), stepped by DF, rCX times with REP; segment limits are not
 * checked (flat guests).  The prefixes come from the instruction bytes:
 * IOIO's EXITINFO1 lacks the address size under QEMU TCG (EMULATORS.md)
 * and the segment without decode assists.
 */
struct string_io {
	bool mode64;			/* 64-bit mode (EFER.LMA, CS.L) */
	unsigned int addr_size;		/* bytes */
	enum vcpu_seg seg;		/* OUTS source */
	unsigned int len;		/* prefixes and opcode, if fetched */
};

static void string_prefixes(struct vcpu *v, struct string_io *s)
{
	static const enum vcpu_seg segs[] = {
		[0x26] = SEG_ES, [0x2e] = SEG_CS, [0x36] = SEG_SS,
		[0x3e] = SEG_DS, [0x64] = SEG_FS, [0x65] = SEG_GS };
	struct segment cs;
	struct gmem_fault f;
	uint8_t buf[X86_MAX_INSN_LEN];
	unsigned int len;
	bool lma = v->ops->get_reg(v, VCPU_EFER) & EFER_LMA;

	v->ops->get_seg(v, SEG_CS, &cs);
	s->mode64 = lma && (cs.attr & (1 << 9));
	s->addr_size = s->mode64 ? 8 : (cs.attr & (1 << 10)) ? 4 : 2;
	s->seg = SEG_DS;
	s->len = 1;
	if (gmem_fetch(v, buf, &len, &f))
		return;
	for (unsigned int i = 0; i < len; i++) {
		uint8_t b = buf[i];

		s->len = i + 1;
		if (b == 0x67)
			s->addr_size = s->mode64 ? 4 : s->addr_size == 4 ? 2 : 4;
		else if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e ||
			 b == 0x64 || b == 0x65)
			s->seg = segs[b];
		else if (b != 0x66 && b != 0xf2 && b != 0xf3 &&
			 !(s->mode64 && (b & 0xf0) == 0x40))
			break;
	}
}

/* One element; false if its memory access faulted (then injected). */
static bool string_step(struct vcpu *v, const struct vcpu_exit *e,
			const struct string_io *s)
{
	struct gmem_fault f;
	struct segment seg;
	uint64_t mask = x86_size_mask(s->addr_size);
	int reg = e->io.in ? 7 : 6;		/* rDI, rSI */
	uint64_t off = vcpu_gpr_read(v, reg) & mask;
	uint32_t val = 0;
	int r;

	v->ops->get_seg(v, e->io.in ? SEG_ES : s->seg, &seg);
	/* 64-bit mode: only FS and GS have a base (SDM Vol 3 3.2.4) */
	if (s->mode64 && (e->io.in || (s->seg != SEG_FS && s->seg != SEG_GS)))
		seg.base = 0;
	if (e->io.in) {
		val = guest_in(v, e->io.port, e->io.size);
		r = gmem_write(v, seg.base + off, &val, e->io.size, &f);
	} else {
		r = gmem_read(v, seg.base + off, &val, e->io.size, 0, &f);
		if (!r)
			guest_out(v, e->io.port, e->io.size, val);
	}
	if (r == GMEM_FAULT) {
		gmem_inject_fault(v, &f);
		return false;
	}
	if (r) {
		pr_warn("string I/O at %lx: guest memory %lx is not RAM; skipped",
			v->ops->get_reg(v, VCPU_RIP), seg.base + off);
	}
	if (v->ops->get_reg(v, VCPU_RFLAGS) & (1ull << 10))	/* DF */
		off -= e->io.size;
	else
		off += e->io.size;
	vcpu_gpr_write(v, reg, (vcpu_gpr_read(v, reg) & ~mask) | (off & mask));
	return true;
}

static void string_io(struct vcpu *v, const struct vcpu_exit *e)
{
	struct string_io s;
	uint64_t mask;

	string_prefixes(v, &s);
	mask = x86_size_mask(s.addr_size);
	if (!e->io.rep) {
		if (string_step(v, e, &s))
			vcpu_advance_rip(v, e, s.len);
		return;
	}
	while (v->gprs.rcx & mask) {
		if (!string_step(v, e, &s))
			return;		/* rCX and rSI/rDI say where it stopped */
		v->gprs.rcx = (v->gprs.rcx & ~mask) | ((v->gprs.rcx - 1) & mask);
	}
	vcpu_advance_rip(v, e, s.len);
}

void handle_io(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vcpu_gprs *g = &v->gprs;
	uint32_t mask = (uint32_t)x86_size_mask(e->io.size);

	if (e->io.string) {
		string_io(v, e);
		return;
	}
	if (e->io.in) {
		uint32_t val = guest_in(v, e->io.port, e->io.size);

		g->rax = (g->rax & ~(uint64_t)mask) | (val & mask);
	} else {
		guest_out(v, e->io.port, e->io.size, (uint32_t)g->rax & mask);
	}
	vcpu_advance_rip(v, e, 1);
}

void io_setup_intercepts(struct vcpu *v)
{
	for (uint16_t p = 0; p < DEBUG_EXIT_PORTS; p++)
		v->ops->intercept_io(v, DEBUG_EXIT_PORT + p, true);
	v->ops->intercept_io(v, BOCHS_SHUTDOWN_PORT, true);
	for (uint16_t p = 0; p < SERIAL_NR_PORTS; p++) {
		if (owned_serial(serial_port() + p))
			v->ops->intercept_io(v, serial_port() + p, true);
		if (gdbstub_own_port())
			v->ops->intercept_io(v, gdbstub_own_port() + p, true);
	}
	if (shell_shared())
		v->ops->intercept_io(v, serial_port(), true);
}
