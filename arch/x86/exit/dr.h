/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The debug registers while gdb holds them (dr.c): the CPU's DR0-DR3 and
 * DR7 are gdb's, the guest's MOV DR reads and writes see its own values.
 */
#ifndef UMBRA_X86_EXIT_DR_H
#define UMBRA_X86_EXIT_DR_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vcpu_exit;

/* gdb's points: DR0-DR3 and a DR7 that enables them; dr7 0: give back */
void dr_set(struct vcpu *v, const uint64_t addr[4], uint64_t dr7);
/* EXIT_DR_ACCESS: the guest's MOV DR, on its own values; RIP moved on */
void dr_access(struct vcpu *v, const struct vcpu_exit *e);
/*
 * EXIT_DEBUG: the B0-B3 bits of dr6 that are gdb's, or 0: then the #DB
 * was the guest's (its TF, INT1, a task switch) and it is delivered.
 */
unsigned int dr_debug(struct vcpu *v, uint64_t dr6);

#endif
