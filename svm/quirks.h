/* SPDX-License-Identifier: BSD-2-Clause */
/* The emulators' departures from the APM (quirks.c); private to svm/. */
#ifndef UMBRA_SVM_QUIRKS_H
#define UMBRA_SVM_QUIRKS_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct svm_vcpu;

void svm_note_apic_window(void);
uint64_t svm_in_service_vector(void);
void svm_sync_deferred_lme(struct vcpu *v, struct svm_vcpu *s);
uint64_t svm_lost_interrupt(struct vcpu *v, bool in_delivery);
bool svm_stale_exitintinfo(struct vcpu *v);
/* Bochs's lost NMI (its handler's first fetch exited): inject it again */
uint64_t svm_lost_nmi(struct vcpu *v);

#endif
