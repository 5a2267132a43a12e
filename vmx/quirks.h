/* SPDX-License-Identifier: BSD-2-Clause */
/* The emulators' departures from the SDM (quirks.c); private to vmx/. */
#ifndef UMBRA_VMX_QUIRKS_H
#define UMBRA_VMX_QUIRKS_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vcpu_exit;
struct vmx_vcpu;

/* ops->single_step with RFLAGS.TF, for a CPU without the monitor trap flag */
void vmx_step_tf(struct vmx_vcpu *s, bool on);
/* an exception exit while the step is on: true if it ends the step */
bool vmx_step_exception(struct vcpu *v, struct vcpu_exit *e, uint32_t intr);

#endif
