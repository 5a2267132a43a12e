/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_X86_IDT_H
#define UMBRA_X86_IDT_H

#include <stdbool.h>
#include <stdint.h>

/* Built by exc_common in arch/x86/cpu/entry.asm, lowest address first. */
struct exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void cpu_tables_init(void);

/* NMIs taken while umbra ran: each is the guest's, forwarded to it */
extern uint64_t host_nmis;

/* True if an NMI arrived while umbra ran since the last call (then the
   guest is owed one NMI; those that came meanwhile merge with it) */
bool host_nmi_take(void);

/* True if an NMI this CPU got was a kick from another CPU (one is counted off) */
bool nmi_kick_take(void);

/* End the NMI blocking of VMX root operation with an IRET to itself */
void host_nmi_unblock(void);

#endif
