/* SPDX-License-Identifier: BSD-2-Clause */
/* The MSR policy (msr.c): RDMSR/WRMSR exits and the intercepts they need. */
#ifndef UMBRA_X86_EXIT_MSR_H
#define UMBRA_X86_EXIT_MSR_H

struct vcpu;
struct vcpu_exit;

void handle_msr(struct vcpu *v, const struct vcpu_exit *e);
void msr_setup_intercepts(struct vcpu *v);

#endif
