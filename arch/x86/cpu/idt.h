/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_X86_IDT_H
#define UMBRA_X86_IDT_H

#include <stdint.h>

/* Built by exc_common in arch/x86/cpu/entry.asm, lowest address first. */
struct exc_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void cpu_tables_init(void);

/* NMIs that arrived while umbra ran (ignored: the guest never sees them) */
extern uint64_t host_nmis;

#endif
