/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Starting the other CPUs (application processors) from umbra: a real-mode
 * trampoline below 1 MiB, INIT-SIPI-SIPI through the local APIC, and IPIs.
 */
#ifndef UMBRA_X86_CPU_SMP_H
#define UMBRA_X86_CPU_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "umbra/bootinfo.h"

/* SDM Vol 3 11.6.1, Figure 11-12: the ICR's low half */
#define ICR_VECTOR(v)		((uint32_t)(v) & 0xff)
#define ICR_MODE_MASK		(7u << 8)
#define ICR_MODE_FIXED		(0u << 8)
#define ICR_MODE_NMI		(4u << 8)
#define ICR_MODE_INIT		(5u << 8)
#define ICR_MODE_SIPI		(6u << 8)
#define ICR_DEST_LOGICAL	(1u << 11)
#define ICR_BUSY		(1u << 12)	/* delivery status (xAPIC) */
#define ICR_LEVEL_ASSERT	(1u << 14)
#define ICR_TRIGGER_LEVEL	(1u << 15)
#define ICR_SHORTHAND_MASK	(3u << 18)
#define ICR_SHORTHAND_SELF	(1u << 18)
#define ICR_SHORTHAND_ALL	(2u << 18)
#define ICR_SHORTHAND_OTHERS	(3u << 18)

/* Take a page below 1 MiB for the trampoline: before guest_map_build(). */
void smp_reserve_trampoline(const struct boot_info *bi);

/*
 * Start the AP with local APIC ID apic_id as umbra's CPU id: it enters
 * long mode on umbra's tables, loads umbra's GDT and IDT, gets its
 * per-CPU area and a stack and calls fn(id), which calls smp_ap_ready()
 * when it has what it needs and never returns.  0 once the AP is ready;
 * -UMBRA_EIO when it did not answer (it is then held in INIT), -UMBRA_ENOMEM.
 */
int smp_start_ap(unsigned int id, uint32_t apic_id, void (*fn)(unsigned int id));
void smp_ap_ready(void);
/* After the last smp_start_ap(): give back what only the start needed. */
void smp_start_done(void);

/* CPUs running umbra: the boot CPU and the APs smp_start_ap() started */
extern unsigned int nr_cpus_up;

/*
 * halt(): the other CPUs stop too, before the halt line (an NMI to all
 * but this one; each stops in stop_this_cpu() at its NMI or next exit).
 */
void smp_stop_others(void);

/* This CPU's local APIC ID (x2APIC ID in x2APIC mode). */
uint32_t apic_id_self(void);
/* Write the ICR: low half `low`, destination `dest` (SDM Vol 3 11.6.1). */
void apic_send_ipi(uint32_t dest, uint32_t low);

#endif
