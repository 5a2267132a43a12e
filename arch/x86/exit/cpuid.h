/* SPDX-License-Identifier: BSD-2-Clause */
/* The CPUID policy (cpuid.c). */
#ifndef UMBRA_X86_EXIT_CPUID_H
#define UMBRA_X86_EXIT_CPUID_H

struct vcpu;
struct vcpu_exit;

void handle_cpuid(struct vcpu *v, const struct vcpu_exit *e);

#endif
