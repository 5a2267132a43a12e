// SPDX-License-Identifier: BSD-2-Clause
/*
 * The guest's writes to its local APIC's ICR, where it sends INIT and
 * SIPI (arch/x86/vcpu/smp.c).  Once umbra runs more than one CPU:
 *   x2APIC: the ICR is MSR 830h (SDM Vol 3 11.12.9), its writes are
 *           intercepted (msr.c);
 *   xAPIC:  the 4 KiB page at IA32_APIC_BASE is read-only in the NPT/EPT
 *           (arch/x86/paging/tdp.c), so that each write exits, and not
 *           mapped by the shadow MMU (shadow.c: reads exit too); umbra
 *           decodes the MOV, gives ICR[31:0] writes to vcpu_icr_write()
 *           and does every other write itself, on the local APIC of the
 *           CPU it runs on (the vCPU's own: one vCPU per CPU).  ICR[63:32]
 *           is also kept per vCPU, since umbra's own IPIs write it.
 * On one CPU nothing is trapped (the guest's APIC is its own).  Under
 * shadow paging on VMX a vCPU in real mode runs on the TDP map
 * (arch/x86/paging/shadow.c), where the page is read-only as under
 * mmu=tdp: only its writes exit there.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/smp.h"
#include "arch/x86/emul/emulate.h"
#include "arch/x86/exit/apic.h"
#include "arch/x86/vcpu/smp.h"
#include "core/mem.h"
#include "umbra/log.h"

#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define APIC_BASE_ADDR	(~0xfffull & ((1ull << 52) - 1))

/* The window does not move once it is trapped (msr.c): read it once */
uint64_t apic_trapped_page(void)
{
	static uint64_t page;

	if (!page && nr_cpus_up > 1)
		page = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR;
	return page;
}

void apic_mmio_access(struct vcpu *v, uint64_t gpa, bool write)
{
	struct guest_insn gi;
	struct gmem_fault f;
	unsigned int off = gpa & 0xfff;
	volatile uint32_t *reg = phys_to_virt((gpa & ~0xfffull) + off);
	uint32_t val;

	/* APIC registers are 32 bits wide, at 16-byte offsets (SDM Vol 3 11.4.1) */
	if (insn_fetch(v, &gi, &f) || gi.dec != X86_DEC_OK || gi.in.op != X86_OP_MOV ||
	    !gi.in.has_mem || gi.in.writes_mem != write || gi.in.op_size != 4 || (off & 3) ||
	    (!gi.in.has_imm && (gi.in.reg < 0 || gi.in.reg > 15))) {
		insn_report(v, "guest access to its local APIC that umbra cannot emulate", &gi);
		vcpu_dump(v, "APIC access");
		halt("guest-error");
	}
	val = gi.in.has_imm ? (uint32_t)gi.in.imm : (uint32_t)vcpu_gpr_read(v, gi.in.reg);
	if (!write)			/* shadow paging: the page is not mapped */
		vcpu_gpr_write(v, gi.in.reg, *reg);
	else if (off == APIC_ICR_LO)
		vcpu_icr_write(v, v->icr_hi >> 24, val);
	else
		*reg = val;
	if (write && off == APIC_ICR_HI)
		v->icr_hi = val;
	v->ops->set_reg(v, VCPU_RIP, v->ops->get_reg(v, VCPU_RIP) + gi.in.len);
}
