/* SPDX-License-Identifier: BSD-2-Clause */
/* The guest's local APIC writes umbra must see: its ICR (apic.c). */
#ifndef UMBRA_X86_EXIT_APIC_H
#define UMBRA_X86_EXIT_APIC_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

#define MSR_X2APIC_ICR	0x830

/* The xAPIC page whose guest accesses umbra traps; 0: none (one CPU). */
uint64_t apic_trapped_page(void);
/* A guest MOV to (write) or from the trapped xAPIC page at gpa: emulated,
   RIP moved on. */
void apic_mmio_access(struct vcpu *v, uint64_t gpa, bool write);

#endif
