/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-CPU area: what each physical CPU has for itself, found from its
 * GS base (IA32_GS_BASE, SDM Vol 3 3.4.4; APM Vol 2 4.5.3), never from a
 * global.  Area 0 is the boot CPU's; the APs umbra starts (smp.c) take
 * the next ones in the order of the MADT.
 */
#ifndef UMBRA_X86_CPU_PERCPU_H
#define UMBRA_X86_CPU_PERCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu/cpu.h"

#define MAX_CPUS	16

struct vcpu;

struct percpu {
	struct percpu *self;		/* %gs:0 */
	unsigned int id;		/* 0: the boot CPU */
	uint32_t apic_id;		/* local APIC ID (x2APIC ID) */
	struct vcpu *vcpu;		/* the vCPU this CPU runs */
	bool nmi_pending;		/* idt.c: an NMI taken in root mode */
	uint32_t kicks;			/* NMIs other CPUs sent to make it exit */
	/*
	 * The back end's page of this CPU: SVM's host save area
	 * (VM_HSAVE_PA, APM Vol 2 15.30.4) or the VMXON region (SDM Vol 3
	 * 25.11.5).
	 */
	void *vmm_page;
	/* VMX: umbra's GDT with a TSS (host TR must not be 0, SDM Vol 3
	   28.2.3) and the TSS itself */
	uint64_t host_gdt[5] __attribute__((aligned(16)));
	uint32_t host_tss[26] __attribute__((aligned(16)));
};

/* Give this CPU area id and point its GS base at it. */
void percpu_init(unsigned int id);
/* Area id, or NULL if id >= MAX_CPUS. */
struct percpu *percpu_get(unsigned int id);

/* umbra halts (smp_stop_others(), smp.c): every other CPU stops in
   percpu_check_stop(), called on an NMI (idt.c) and after each VM exit */
extern bool cpus_stopping;
extern unsigned int cpus_stopped;
void percpu_check_stop(void);

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/*
 * SVM's VMSAVE leaves the guest's GS base in the CPU (APM Vol 2 15.5.2):
 * point it back at p, the area this_cpu() gave before the VMRUN.
 */
static inline void percpu_reload(struct percpu *p)
{
	wrmsr(MSR_GS_BASE, (uint64_t)p);
}

#endif
