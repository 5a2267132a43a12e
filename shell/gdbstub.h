/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gdb attached to the guest over umbra's console port (docs/gdb.md): the
 * remote protocol of shell/gdb.c over the vCPU, guest-virtual memory and
 * software breakpoints.  The run loop calls in where gdb must see a stop.
 */
#ifndef UMBRA_SHELL_GDBSTUB_H
#define UMBRA_SHELL_GDBSTUB_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"

#define GDB_INTERRUPT	0x03	/* gdb's Ctrl-C while the guest runs */

/* Before the first entry: gdb=wait waits for gdb here; k calls reset. */
void gdbstub_init(struct vcpu *v, void (*reset)(void));
/* Serve gdb now (the shell's `gdb` command); returns when the guest runs. */
void gdbstub_attach(struct vcpu *v);
bool gdbstub_attached(void);
/* gdb=PORT: gdb's own UART, hidden from the guest; 0 if gdb uses the console */
uint16_t gdbstub_own_port(void);
/* The guest wrote c to the shared console's data port: true if gdb took it. */
bool gdbstub_console(uint16_t port, uint8_t c);
/* On exits: flush the console output, read gdb's port (Ctrl-C, attach). */
void gdbstub_poll(struct vcpu *v);
/* A 0x03 from gdb while the guest runs: stop it with SIGINT. */
void gdbstub_interrupt(struct vcpu *v);
/* EXIT_SINGLE_STEP: true if the step was gdb's (then gdb saw the stop). */
bool gdbstub_step_done(struct vcpu *v);
/* EXIT_BREAKPOINT: gdb's INT3 stops; the guest's own is delivered to it. */
void gdbstub_breakpoint(struct vcpu *v, const struct vcpu_exit *e);
void gdbstub_debug(struct vcpu *v, const struct vcpu_exit *e);

#endif
