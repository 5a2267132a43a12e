/* SPDX-License-Identifier: BSD-2-Clause */
/* Why a VM entry failed, in words; private to vmx/. */
#ifndef UMBRA_VMX_DIAG_H
#define UMBRA_VMX_DIAG_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* VMLAUNCH/VMRESUME fell through: rc 1 VMfailValid, 2 VMfailInvalid */
void vmx_diag_failed_insn(struct vcpu *v, bool launched, int rc);
/* a VM exit with bit 31 of the exit reason set (SDM Vol 3 26.8) */
void vmx_diag_failed_entry(struct vcpu *v, uint32_t reason, uint64_t qual);

/* The segment registers pass 26.3.1.2 without unrestricted guest
 * (protected mode, not virtual-8086): the rules unrestricted guest lifts */
bool vmx_pm_segments_ok(void);

#endif
