/* SPDX-License-Identifier: BSD-2-Clause */
/* CPU primitives: port I/O, MSRs, CPUID, control registers. */
#ifndef UMBRA_X86_CPU_H
#define UMBRA_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/x86/cpu/regs.h"

#define MSR_EFER		0xc0000080
#define MSR_VM_CR		0xc0010114
#define VM_CR_LOCK		(1u << 3)
#define VM_CR_SVMDIS		(1u << 4)
#define MSR_VM_HSAVE_PA		0xc0010117
#define MSR_FEATURE_CONTROL	0x0000003a
#define FEATURE_CONTROL_LOCK	(1ull << 0)
#define MSR_APIC_BASE		0x0000001b
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101




/* outb()/inb(), outw()/inw(), outl()/inl(): port I/O of one size */
#define DEFINE_PORT_IO(sfx, type)					\
static inline void out##sfx(uint16_t port, type v)			\
{									\
	__asm__ volatile("out" #sfx " %0, %1" : : "a"(v), "Nd"(port));	\
}									\
static inline type in##sfx(uint16_t port)				\
{									\
	type v;								\
	__asm__ volatile("in" #sfx " %1, %0" : "=a"(v) : "Nd"(port));	\
	return v;							\
}
DEFINE_PORT_IO(b, uint8_t)
DEFINE_PORT_IO(w, uint16_t)
DEFINE_PORT_IO(l, uint32_t)
#undef DEFINE_PORT_IO

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
			 "d"((uint32_t)(v >> 32)) : "memory");
}

/* 0 on success, -1 if the MSR does not exist (#GP); arch/x86/cpu/entry.asm */
int64_t rdmsr_safe(uint32_t msr, uint64_t *val);
/* 0 on success, -1 if WRMSR raised #GP */
int64_t wrmsr_safe(uint32_t msr, uint64_t val);

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline struct cpuid_regs cpuid(uint32_t leaf)
{
	return cpuid_count(leaf, 0);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* read_cr0() ... write_dr6(): mov from and to a control or debug register */
#define DEFINE_CTL_REG(r)						\
static inline uint64_t read_##r(void)					\
{									\
	uint64_t v;							\
	__asm__ volatile("mov %%" #r ", %0" : "=r"(v));		\
	return v;							\
}									\
static inline void write_##r(uint64_t v)				\
{									\
	__asm__ volatile("mov %0, %%" #r : : "r"(v) : "memory");	\
}
DEFINE_CTL_REG(cr0)
DEFINE_CTL_REG(cr2)
DEFINE_CTL_REG(cr3)
DEFINE_CTL_REG(cr4)
DEFINE_CTL_REG(dr6)
#undef DEFINE_CTL_REG

static inline void cpu_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

void halt_forever(void) __attribute__((noreturn));

#endif
