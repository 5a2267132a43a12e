/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The serial debug shell (docs/debugging.md, "The debug shell").
 *
 * Ctrl-] Ctrl-] (0x1d 0x1d) on umbra's console pauses the guest and opens
 * a prompt.  Two ways to see the keys:
 *   - shared port (umbra's console is COM1, the guest's too): umbra
 *     intercepts the guest's reads of COM1's data port, does them itself and
 *     watches the bytes (shell_guest_rx()); both bytes of the sequence still
 *     reach the guest.  A guest that never reads its console cannot open it.
 *   - dedicated port (serial= another port, hidden from the guest): umbra
 *     polls its port on VM exits, at most about once a millisecond
 *     (shell_poll()).
 */
#ifndef UMBRA_X86_SHELL_H
#define UMBRA_X86_SHELL_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/vcpu/vcpu.h"

#define SHELL_ESCAPE	0x1d	/* Ctrl-], typed twice in a row */

/* Before the first VM entry: TSC frequency, the mode. */
void shell_init(struct vcpu *v);
/* umbra's console is COM1, which the guest owns: its data port is watched */
bool shell_shared(void);
/* The guest reads the shared data port: the real read, watched. */
uint8_t shell_guest_rx(struct vcpu *v, uint16_t port);
/* After every VM exit: a dedicated port's input. */
void shell_poll(struct vcpu *v);
/* The shell's `reboot` (gdb's k too) */
void shell_reboot(void);

#endif
