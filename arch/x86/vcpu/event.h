/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An exception umbra injects while the CPU was delivering another one.
 *
 * When a VM exit interrupts the delivery of a hardware exception (SVM
 * EXITINTINFO, VMX IDT-vectoring information) and umbra then injects an
 * exception of its own for that exit (the shadow MMU reflecting a guest
 * #PF raised by the delivery's stack push, say), the two combine as the
 * CPU would have combined them (SDM Vol 3 6.15, "Interrupt 8 - Double
 * Fault Exception", Tables 6-4 and 6-5; APM Vol 2 8.2.9): a contributory
 * exception during a contributory one, or a contributory one or a #PF
 * during a #PF, is a double fault; a contributory exception or a #PF
 * during a double fault is a shutdown (a triple fault); anything else is
 * handled serially (the second exception is delivered, the first is
 * raised again when its instruction runs again).
 */
#ifndef UMBRA_ARCH_X86_EVENT_H
#define UMBRA_ARCH_X86_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpu/regs.h"

enum x86_event_merge {
	X86_EVENT_SERIAL,	/* deliver the second exception */
	X86_EVENT_DOUBLE,	/* deliver #DF with error code 0 */
	X86_EVENT_SHUTDOWN,	/* triple fault */
};

/* Table 6-4: #DE, #TS, #NP, #SS, #GP */
static inline bool x86_exc_contributory(unsigned int vector)
{
	return vector == 0 || (vector >= 10 && vector <= 13);
}

/* first: the exception being delivered; second: the one its delivery raised */
static inline enum x86_event_merge x86_exc_merge(unsigned int first,
						 unsigned int second)
{
	bool pf_or_contrib = second == 14 || x86_exc_contributory(second);

	if (first == X86_TRAP_DF)
		return pf_or_contrib ? X86_EVENT_SHUTDOWN : X86_EVENT_SERIAL;
	if (first == 14 && pf_or_contrib)
		return X86_EVENT_DOUBLE;
	if (x86_exc_contributory(first) && x86_exc_contributory(second))
		return X86_EVENT_DOUBLE;
	return X86_EVENT_SERIAL;
}

/*
 * Fault-class exceptions (SDM Vol 3 6.5, Table 6-1): all but #DB, NMI,
 * #BP, #OF (traps), #DF and #MC (aborts); the reserved vectors fault.
 * #DB is a fault only for an instruction breakpoint or general detect,
 * which umbra never injects (its #DB is the single-step trap).
 */
static inline bool x86_exc_is_fault(unsigned int vector)
{
	switch (vector) {
	case 1: case 2: case 3: case 4: case 8: case 18:
		return false;
	default:
		return vector < 32;
	}
}

/*
 * RFLAGS for injecting exception vector.  The CPU sets RF in the RFLAGS
 * image it pushes for a fault-class exception other than an instruction
 * breakpoint #DB, so that IRET returns to the faulting instruction
 * without an instruction breakpoint firing on it again (SDM Vol 3
 * 17.3.1.1, "Instruction-Breakpoint Exception Condition"; APM Vol 2
 * 3.1.6, RFLAGS.RF).  Event injection pushes the guest's RFLAGS as they
 * are (SDM Vol 3 26.5.1.1, APM Vol 2 15.20): the injector sets RF.
 */
static inline uint64_t x86_exc_rflags(unsigned int vector, uint64_t rflags)
{
	return x86_exc_is_fault(vector) ? rflags | RFLAGS_RF : rflags;
}

/*
 * Whether the event about to be injected, in the format both vendors
 * share (VMX VM-entry interruption information, SDM Vol 3 24.8.3; SVM
 * EVENTINJ, APM Vol 2 15.20: valid bit 31, type 10:8 with 3 a hardware
 * exception, vector 7:0), needs RF in the guest's RFLAGS: every
 * fault-class hardware exception (x86_exc_rflags()), whether umbra raises
 * it or injects again one whose delivery a VM exit cut short
 * (IDT-vectoring information, EXITINTINFO), since the state saved at
 * such an exit is the one before the delivery, RF clear (SDM Vol 3
 * 27.2.4, APM Vol 2 15.7.2).  The back ends ask where they write their
 * event for the entry, so that no path misses it.
 */
#define X86_EVENT_VALID		(1ull << 31)
#define X86_EVENT_TYPE(e)	(((e) >> 8) & 7)
#define X86_EVENT_TYPE_HW_EXC	3

static inline bool x86_event_sets_rf(uint64_t event)
{
	return (event & X86_EVENT_VALID) &&
	       X86_EVENT_TYPE(event) == X86_EVENT_TYPE_HW_EXC &&
	       x86_exc_rflags((unsigned int)(event & 0xff), 0);
}

/*
 * The exception umbra is about to inject, combined with the hardware
 * exception whose delivery was cut short (pending; -1 when none): turns
 * it into #DF where the tables say so.  False: the two make a shutdown.
 */
static inline bool x86_exc_combine(int pending, uint8_t *vector,
				   bool *has_error, uint32_t *error)
{
	if (pending < 0)
		return true;
	switch (x86_exc_merge((unsigned int)pending, *vector)) {
	case X86_EVENT_SHUTDOWN:
		return false;
	case X86_EVENT_DOUBLE:
		*vector = X86_TRAP_DF;
		*has_error = true;
		*error = 0;
		break;
	case X86_EVENT_SERIAL:
		break;
	}
	return true;
}

#endif
