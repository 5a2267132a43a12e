/* SPDX-License-Identifier: BSD-2-Clause */
/* The VMCB (AMD APM Vol 2, Appendix B, "Layout of VMCB"). */
#ifndef UMBRA_SVM_VMCB_H
#define UMBRA_SVM_VMCB_H

#include <stdint.h>

struct vmcb_seg {
	uint16_t sel;
	uint16_t attr;
	uint32_t limit;
	uint64_t base;
};

struct vmcb_control {
	uint32_t intercept_cr;		/* 0x000: reads 0-15, writes 16-31 */
	uint32_t intercept_dr;		/* 0x004 */
	uint32_t intercept_exc;		/* 0x008 */
	uint32_t intercept3;		/* 0x00c */
	uint32_t intercept4;		/* 0x010 */
	uint32_t intercept5;		/* 0x014 */
	uint8_t rsvd1[0x3c - 0x18];
	uint16_t pause_threshold;	/* 0x03c */
	uint16_t pause_count;		/* 0x03e */
	uint64_t iopm_base_pa;		/* 0x040 */
	uint64_t msrpm_base_pa;		/* 0x048 */
	uint64_t tsc_offset;		/* 0x050 */
	uint32_t asid;			/* 0x058 */
	uint8_t tlb_control;		/* 0x05c */
	uint8_t rsvd2[3];
	uint64_t vintr;			/* 0x060 */
	uint64_t int_state;		/* 0x068 */
	uint64_t exitcode;		/* 0x070 */
	uint64_t exitinfo1;		/* 0x078 */
	uint64_t exitinfo2;		/* 0x080 */
	uint64_t exitintinfo;		/* 0x088 */
	uint64_t np_enable;		/* 0x090 */
	uint64_t avic_apic_bar;		/* 0x098 */
	uint64_t ghcb_pa;		/* 0x0a0 */
	uint64_t event_inj;		/* 0x0a8 */
	uint64_t n_cr3;			/* 0x0b0 */
	uint64_t lbr_virt;		/* 0x0b8 */
	uint32_t clean;			/* 0x0c0 */
	uint32_t rsvd3;
	uint64_t next_rip;		/* 0x0c8 */
	uint8_t insn_len;		/* 0x0d0 */
	uint8_t insn_bytes[15];		/* 0x0d1 */
	uint8_t rsvd4[0x400 - 0xe0];
};

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs;	/* 0x400 */
	struct vmcb_seg gdtr, ldtr, idtr, tr;	/* 0x460 */
	uint8_t rsvd1[0x4cb - 0x4a0];
	uint8_t cpl;			/* 0x4cb */
	uint32_t rsvd2;
	uint64_t efer;			/* 0x4d0 */
	uint8_t rsvd3[0x548 - 0x4d8];
	uint64_t cr4;			/* 0x548 */
	uint64_t cr3;			/* 0x550 */
	uint64_t cr0;			/* 0x558 */
	uint64_t dr7;			/* 0x560 */
	uint64_t dr6;			/* 0x568 */
	uint64_t rflags;		/* 0x570 */
	uint64_t rip;			/* 0x578 */
	uint8_t rsvd4[0x5d8 - 0x580];
	uint64_t rsp;			/* 0x5d8 */
	uint8_t rsvd5[0x5f8 - 0x5e0];
	uint64_t rax;			/* 0x5f8 */
	uint64_t star;			/* 0x600 */
	uint64_t lstar;
	uint64_t cstar;
	uint64_t sfmask;
	uint64_t kernel_gs_base;
	uint64_t sysenter_cs;
	uint64_t sysenter_esp;
	uint64_t sysenter_eip;
	uint64_t cr2;			/* 0x640 */
	uint8_t rsvd6[0x668 - 0x648];
	uint64_t g_pat;			/* 0x668 */
	uint8_t rsvd7[0x1000 - 0x670];
};

struct vmcb {
	struct vmcb_control ctl;
	struct vmcb_save save;
};

_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area");
_Static_assert(__builtin_offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB CPL");
_Static_assert(__builtin_offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB EFER");
_Static_assert(__builtin_offsetof(struct vmcb, save.rip) == 0x578, "VMCB RIP");
_Static_assert(__builtin_offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB RAX");
_Static_assert(__builtin_offsetof(struct vmcb, save.cr2) == 0x640, "VMCB CR2");
_Static_assert(__builtin_offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB PAT");
_Static_assert(sizeof(struct vmcb) == 0x1000, "VMCB size");

/* intercept vector 3 (offset 0x00c) */
#define INTERCEPT_INTR		(1u << 0)
#define INTERCEPT_NMI		(1u << 1)
#define INTERCEPT_INIT		(1u << 3)
#define INTERCEPT_CPUID		(1u << 18)
#define INTERCEPT_IRET		(1u << 20)
#define INTERCEPT_INTN		(1u << 21)
#define INTERCEPT_INVD		(1u << 22)
#define INTERCEPT_HLT		(1u << 24)
#define INTERCEPT_INVLPG	(1u << 25)
#define INTERCEPT_INVLPGA	(1u << 26)
#define INTERCEPT_IOIO		(1u << 27)
#define INTERCEPT_MSR		(1u << 28)
#define INTERCEPT_TASK_SWITCH	(1u << 29)
#define INTERCEPT_SHUTDOWN	(1u << 31)
/* intercept vector 4 (offset 0x010) */
#define INTERCEPT_VMRUN		(1u << 0)
#define INTERCEPT_VMMCALL	(1u << 1)
#define INTERCEPT_VMLOAD	(1u << 2)
#define INTERCEPT_VMSAVE	(1u << 3)
#define INTERCEPT_STGI		(1u << 4)
#define INTERCEPT_CLGI		(1u << 5)
#define INTERCEPT_SKINIT	(1u << 6)

/* intercept_cr: reads of CRn in bit n, writes in bit 16 + n */
#define INTERCEPT_CR_READ(n)	(1u << (n))
#define INTERCEPT_CR_WRITE(n)	(1u << (16 + (n)))

/* exit codes (APM Vol 2, Appendix C) */
#define SVM_EXIT_CR0_READ	0x000
#define SVM_EXIT_CR15_READ	0x00f
#define SVM_EXIT_CR0_WRITE	0x010
#define SVM_EXIT_CR15_WRITE	0x01f
#define SVM_EXIT_DR0_READ	0x020
#define SVM_EXIT_DR0_WRITE	0x030
#define SVM_EXIT_DR15_WRITE	0x03f
#define SVM_EXIT_EXCP_BASE	0x040
#define SVM_EXIT_PF		0x04e
#define SVM_EXIT_INTR		0x060
#define SVM_EXIT_NMI		0x061
#define SVM_EXIT_INIT		0x063
#define SVM_EXIT_CPUID		0x072
#define SVM_EXIT_IRET		0x074
#define SVM_EXIT_SWINT		0x075
#define SVM_EXIT_INVD		0x076
#define SVM_EXIT_HLT		0x078
#define SVM_EXIT_INVLPG		0x079
#define SVM_EXIT_INVLPGA	0x07a
#define SVM_EXIT_IOIO		0x07b
#define SVM_EXIT_MSR		0x07c
#define SVM_EXIT_TASK_SWITCH	0x07d
#define SVM_EXIT_SHUTDOWN	0x07f
#define SVM_EXIT_VMRUN		0x080
#define SVM_EXIT_VMMCALL	0x081
#define SVM_EXIT_VMLOAD		0x082
#define SVM_EXIT_VMSAVE		0x083
#define SVM_EXIT_STGI		0x084
#define SVM_EXIT_CLGI		0x085
#define SVM_EXIT_SKINIT		0x086
#define SVM_EXIT_NPF		0x400
#define SVM_EXIT_INVALID	0xffffffffu	/* compare the low 32 bits */

#define TLB_CONTROL_NONE	0
#define TLB_CONTROL_FLUSH_ALL	1
#define TLB_CONTROL_FLUSH_ASID	3

/* EXITINFO1 of CR accesses with decode assists (APM Vol 2 15.8.1) */
#define EXITINFO1_CR_MOV	(1ull << 63)

/* EVENTINJ (APM Vol 2 15.20) */
#define EVENTINJ_VALID		(1ull << 31)
#define EVENTINJ_EV		(1ull << 11)
#define EVENTINJ_TYPE_INTR	(0ull << 8)
#define EVENTINJ_TYPE_NMI	(2ull << 8)
#define EVENTINJ_TYPE_EXC	(3ull << 8)
#define EVENTINJ_TYPE_SOFT	(4ull << 8)
#define EVENTINJ_TYPE_MASK	(7ull << 8)
#define EVENTINJ_VECTOR_MASK	0xffull

#endif
