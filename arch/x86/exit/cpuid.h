/* SPDX-License-Identifier: BSD-2-Clause */
/* The CPUID policy (cpuid.c) and the CPU facts the guest's paging obeys. */
#ifndef UMBRA_X86_EXIT_CPUID_H
#define UMBRA_X86_EXIT_CPUID_H

#include <stdbool.h>

struct vcpu;
struct vcpu_exit;

void handle_cpuid(struct vcpu *v, const struct vcpu_exit *e);
/* the guest's physical-address width (CPUID 8000_0008h EAX[7:0]) */
unsigned int guest_maxphyaddr(void);
/* 1 GiB pages in the guest's tables (CPUID 8000_0001h EDX bit 26) */
bool guest_gbpages(void);

#endif
