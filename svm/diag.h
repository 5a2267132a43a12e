/* SPDX-License-Identifier: BSD-2-Clause */
/* Why VMRUN refused the VMCB (svm/diag.c); private to svm/. */
#ifndef UMBRA_SVM_DIAG_H
#define UMBRA_SVM_DIAG_H

#include <stdint.h>

struct vcpu;
struct vmcb;

/* Print every APM Vol 2 15.5.1 check the VMCB breaks; cr4_ok: CR4 bits
   this CPU has */
void svm_diag_invalid(struct vcpu *v, const struct vmcb *vmcb, uint64_t cr4_ok);

#endif
