// SPDX-License-Identifier: BSD-2-Clause
/*
 * CPUID policy.  The guest sees the host's CPU, minus the virtualization
 * extensions (umbra does not offer nesting), plus the hypervisor bit and
 * umbra's leaves:
 *   4000_0000h: EAX = highest umbra leaf, EBX:ECX:EDX = "UMBRA-X86-HV"
 *   4000_0001h: EAX:EBX = base, ECX:EDX = size of umbra's own memory
 *               (reserved in the guest's map, unreachable from the guest)
 * Intel PT is hidden (leaf 7 EBX bit 25, leaf 14h): its output addresses
 * are host-physical (SDM Vol 3 33.5) and msr.c makes its MSRs #GP.
 * Under shadow paging the paging features the shadow MMU does not model
 * are hidden too: PCID, INVPCID, 5-level paging, CET.  Protection keys are
 * shown as the host has them: the shadow leaves carry the guest's keys.
 */
#include "arch/x86/cpu/cpu.h"
#include "core/mem.h"
#include "arch/x86/exit/cpuid.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "lib/string.h"

#define UMBRA_LEAF_BASE		0x40000000u
#define UMBRA_LEAF_MAX		0x40000002u
#define CPUID1_ECX_VMX		(1u << 5)
#define CPUID1_ECX_SMX		(1u << 6)	/* GETSEC, CR4.SMXE: umbra's */
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define EXT1_ECX_SVM		(1u << 2)
#define EXT1_ECX_SKINIT		(1u << 12)	/* SKINIT, STGI without SVME */
#define CPUID1_ECX_PCID		(1u << 17)
#define CPUID1_ECX_OSXSAVE	(1u << 27)
#define CPUID7_EBX_INVPCID	(1u << 10)
#define CPUID7_EBX_INTEL_PT	(1u << 25)
#define CPUID7_ECX_PKU		(1u << 3)
#define CPUID7_ECX_OSPKE	(1u << 4)
#define CPUID7_ECX_CET_SS	(1u << 7)
#define CPUID7_ECX_LA57		(1u << 16)
#define CPUID7_EDX_CET_IBT	(1u << 20)

static struct cpuid_regs umbra_leaf(uint32_t leaf)
{
	struct cpuid_regs r = { 0, 0, 0, 0 };

	switch (leaf) {
	case UMBRA_LEAF_BASE:
		r.eax = UMBRA_LEAF_MAX;
		memcpy(&r.ebx, "UMBR", 4);
		memcpy(&r.ecx, "A-X8", 4);
		memcpy(&r.edx, "6-HV", 4);
		break;
	case UMBRA_LEAF_BASE + 1:
		r.eax = (uint32_t)umbra_mem_base;
		r.ebx = (uint32_t)(umbra_mem_base >> 32);
		r.ecx = (uint32_t)umbra_mem_size;
		r.edx = (uint32_t)(umbra_mem_size >> 32);
		break;
	case UMBRA_LEAF_BASE + 2:
		/* the low pool, so that tests can check it is unreachable too */
		r.eax = (uint32_t)umbra_low_base;
		r.ebx = (uint32_t)(umbra_low_base >> 32);
		r.ecx = (uint32_t)umbra_low_size;
		r.edx = (uint32_t)(umbra_low_size >> 32);
		break;
	}
	return r;
}

/*
 * CPUID.1:ECX.OSXSAVE and CPUID.7.0:ECX.OSPKE mirror CR4.OSXSAVE and
 * CR4.PKE of the context that executes CPUID (SDM Vol 2A, CPUID: leaf 01H
 * ECX bit 27, leaf 07H ECX bit 4): here umbra's own CR4, so they are set
 * from the guest's CR4 instead.  glibc runs XGETBV when OSXSAVE says it may.
 */
static void mirror_guest_cr4(struct cpuid_regs *r, uint32_t leaf,
			     uint32_t subleaf, uint64_t cr4)
{
	if (leaf == 1) {
		r->ecx &= ~CPUID1_ECX_OSXSAVE;
		if (cr4 & CR4_OSXSAVE)
			r->ecx |= CPUID1_ECX_OSXSAVE;
	} else if (leaf == 7 && subleaf == 0) {
		r->ecx &= ~CPUID7_ECX_OSPKE;
		if ((cr4 & CR4_PKE) && (r->ecx & CPUID7_ECX_PKU))
			r->ecx |= CPUID7_ECX_OSPKE;
	}
}

/*
 * Leaf 7.0 under shadow paging: what the shadow tables do not carry
 * (PCIDs, 5-level paging, CET's shadow-stack pages), and with it the CR4
 * bits that cr4_allowed() refuses there (PCIDE, LA57, CET): CPUID and MOV
 * to CR4 agree (SDM Vol 3 2.5).  PKU and PKS stay: the shadow leaves of a
 * 4-level guest carry its keys, bits 62:59 (mmu/shadow/fault.c), which the
 * CPU checks with the guest's PKRU and IA32_PKRS (SDM Vol 3 4.6.2).
 */
static void hide_from_shadow_paging(struct cpuid_regs *r)
{
	r->ebx &= ~CPUID7_EBX_INVPCID;
	r->ecx &= ~(CPUID7_ECX_LA57 | CPUID7_ECX_CET_SS);
	r->edx &= ~CPUID7_EDX_CET_IBT;
}

static struct cpuid_regs guest_cpuid(uint32_t leaf, uint32_t subleaf,
				     bool shadow, uint64_t guest_cr4)
{
	struct cpuid_regs r;

	if ((leaf & 0xffffff00u) == UMBRA_LEAF_BASE)
		return umbra_leaf(leaf);
	r = cpuid_count(leaf, subleaf);
	mirror_guest_cr4(&r, leaf, subleaf, guest_cr4);
	switch (leaf) {
	case 1:
		r.ecx &= ~(CPUID1_ECX_VMX | CPUID1_ECX_SMX);
		r.ecx |= CPUID1_ECX_HYPERVISOR;
		if (shadow)
			r.ecx &= ~CPUID1_ECX_PCID;
		break;
	case 7:
		if (subleaf == 0)
			r.ebx &= ~CPUID7_EBX_INTEL_PT;
		if (shadow && subleaf == 0)
			hide_from_shadow_paging(&r);
		break;
	case 0x80000001:
		r.ecx &= ~(EXT1_ECX_SVM | EXT1_ECX_SKINIT);
		break;
	case 0x14:		/* Intel PT: none */
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	case 0x8000000a:	/* SVM features: none without SVM */
		r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	}
	return r;
}

void handle_cpuid(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vcpu_gprs *g = &v->gprs;
	struct cpuid_regs r = guest_cpuid((uint32_t)g->rax, (uint32_t)g->rcx,
					  !v->mmu->nested,
					  v->ops->get_reg(v, VCPU_CR4));

	g->rax = r.eax;
	g->rbx = r.ebx;
	g->rcx = r.ecx;
	g->rdx = r.edx;
	vcpu_advance_rip(v, e, 2);
}
