/* SPDX-License-Identifier: BSD-2-Clause */
/* The I/O port policy (io.c): IN/OUT exits and the ports umbra keeps. */
#ifndef UMBRA_X86_EXIT_IO_H
#define UMBRA_X86_EXIT_IO_H

struct vcpu;
struct vcpu_exit;

void handle_io(struct vcpu *v, const struct vcpu_exit *e);
void io_setup_intercepts(struct vcpu *v);

#endif
