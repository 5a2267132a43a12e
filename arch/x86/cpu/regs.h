/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Architectural register bits, one copy for umbra, its EFI loader and the
 * host tests: EFER (SDM Vol 3 2.2.1, APM Vol 2 3.1.7), CR0 and CR4 (SDM
 * Vol 3 2.5, APM Vol 2 3.1), RFLAGS (SDM Vol 1 3.4.3, Vol 3 2.3).
 */
#ifndef UMBRA_X86_CPU_REGS_H
#define UMBRA_X86_CPU_REGS_H

#define EFER_SCE	(1ull << 0)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)
#define EFER_NXE	(1ull << 11)
#define EFER_SVME	(1ull << 12)
#define EFER_LMSLE	(1ull << 13)
#define EFER_FFXSR	(1ull << 14)
#define EFER_TCE	(1ull << 15)

#define CR0_PE		(1ull << 0)
#define CR0_MP		(1ull << 1)
#define CR0_EM		(1ull << 2)
#define CR0_TS		(1ull << 3)
#define CR0_ET		(1ull << 4)
#define CR0_NE		(1ull << 5)
#define CR0_WP		(1ull << 16)
#define CR0_AM		(1ull << 18)
#define CR0_NW		(1ull << 29)
#define CR0_CD		(1ull << 30)
#define CR0_PG		(1ull << 31)

#define CR4_DE		(1ull << 3)
#define CR4_PSE		(1ull << 4)
#define CR4_PAE		(1ull << 5)
#define CR4_PGE		(1ull << 7)
#define CR4_LA57	(1ull << 12)
#define CR4_VMXE	(1ull << 13)
#define CR4_SMXE	(1ull << 14)
#define CR4_PCIDE	(1ull << 17)
#define CR4_OSXSAVE	(1ull << 18)
#define CR4_SMEP	(1ull << 20)
#define CR4_SMAP	(1ull << 21)
#define CR4_PKE		(1ull << 22)
#define CR4_PKS		(1ull << 24)
/* SDM Vol 3 4.10.4.1: a change of one of these flushes the TLBs */
#define CR4_TLB_BITS	(CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | \
			 CR4_SMAP | CR4_PKE | CR4_LA57)

#define RFLAGS_CF	(1ull << 0)
#define RFLAGS_FIXED	(1ull << 1)
#define RFLAGS_PF	(1ull << 2)
#define RFLAGS_AF	(1ull << 4)
#define RFLAGS_ZF	(1ull << 6)
#define RFLAGS_SF	(1ull << 7)
#define RFLAGS_TF	(1ull << 8)
#define RFLAGS_IF	(1ull << 9)
#define RFLAGS_DF	(1ull << 10)
#define RFLAGS_OF	(1ull << 11)
#define RFLAGS_RF	(1ull << 16)

#define DR6_BS		(1ull << 14)	/* single step (SDM Vol 3 18.2.3) */

/* exception vectors (SDM Vol 3 6.3.1) */
#define X86_TRAP_DB	1
#define X86_TRAP_NMI	2
#define X86_TRAP_BP	3
#define X86_TRAP_UD	6
#define X86_TRAP_DF	8
#define X86_TRAP_GP	13
#define X86_TRAP_PF	14
#define RFLAGS_VM	(1ull << 17)
#define RFLAGS_AC	(1ull << 18)

#endif
