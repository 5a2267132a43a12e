/* SPDX-License-Identifier: BSD-2-Clause */
/* The run loop (run.c): from the first VM entry on, umbra runs in it. */
#ifndef UMBRA_X86_VCPU_RUN_H
#define UMBRA_X86_VCPU_RUN_H

struct vcpu;

void vcpu_run_loop(struct vcpu *v) __attribute__((noreturn));

#endif
