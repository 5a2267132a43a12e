// SPDX-License-Identifier: BSD-2-Clause
/*
 * gdb's hardware breakpoints and watchpoints take the CPU's debug
 * registers (SDM Vol 3 18.2, APM Vol 2 13.1.1).  DR0-DR3 are not switched
 * on VM entry or exit by either back end, DR7 (and on SVM DR6) is in the
 * VMCS/VMCB: so while gdb holds them umbra loads gdb's addresses into
 * DR0-DR3 and gdb's DR7 into the guest's, keeps the guest's own values in
 * v->own_dr and intercepts MOV DR (SDM Vol 3 25.1.3 "MOV-DR exiting",
 * APM Vol 2 15.11) and #DB.  A guest that reads a debug register gets
 * what it wrote; its own breakpoints are not armed meanwhile (docs/gdb.md).
 */
#include "arch/x86/cpu/regs.h"
#include "arch/x86/emul/decode.h"
#include "arch/x86/emul/emulate.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/exit/dr.h"
#include "arch/x86/vcpu/vcpu.h"

#define DR6_FIXED1	0xffff0ff0ull	/* SDM Vol 3 18.2.3 */
#define DR7_FIXED1	0x400ull	/* SDM Vol 3 18.2.4 */
#define DR6_B0_B3	0xfull

static uint64_t read_dr(int n)
{
	uint64_t val = 0;

	switch (n) {
	case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(val)); break;
	case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(val)); break;
	case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(val)); break;
	case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(val)); break;
	}
	return val;
}

static void write_dr(int n, uint64_t val)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%dr0" : : "r"(val)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" : : "r"(val)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" : : "r"(val)); break;
	case 3: __asm__ volatile("mov %0, %%dr3" : : "r"(val)); break;
	}
}

void dr_set(struct vcpu *v, const uint64_t addr[4], uint64_t dr7)
{
	struct vcpu_dr *o = &v->own_dr;

	if (!v->ops->intercept_dr)
		return;
	if (dr7 && !o->held) {
		for (int i = 0; i < 4; i++)
			o->dr[i] = read_dr(i);
		o->dr6 = v->ops->get_reg(v, VCPU_DR6);
		o->dr7 = v->ops->get_reg(v, VCPU_DR7);
		o->held = true;
		v->ops->intercept_dr(v, true);
	}
	if (!o->held)
		return;
	if (!dr7) {
		for (int i = 0; i < 4; i++)
			write_dr(i, o->dr[i]);
		v->ops->set_reg(v, VCPU_DR6, o->dr6);
		v->ops->set_reg(v, VCPU_DR7, o->dr7);
		o->held = false;
		v->ops->intercept_dr(v, false);
		return;
	}
	for (int i = 0; i < 4; i++)
		write_dr(i, addr[i]);
	v->ops->set_reg(v, VCPU_DR7, dr7 | DR7_FIXED1);
}

/*
 * MOV DR's operands from its bytes when the exit did not say (SVM without
 * decode assists), by the decoder (SDM Vol 2 "MOV-Move to/from Debug
 * Registers": the DR in ModRM.reg, the GPR in r/m, mod ignored).  The
 * GPR, or -1 if it is not MOV DR (or REX.R: #UD); *len its length.
 */
static int decode_gpr(struct vcpu *v, unsigned int *len)
{
	struct guest_insn gi;
	struct gmem_fault f;

	if (insn_fetch(v, &gi, &f) != GMEM_OK || gi.dec != X86_DEC_OK ||
	    (gi.in.op != X86_OP_MOV_TO_DR && gi.in.op != X86_OP_MOV_FROM_DR))
		return -1;
	*len = gi.in.len;
	return gi.in.rm_reg;
}

static uint64_t *own_reg(struct vcpu_dr *o, int n)
{
	if (n < 4)
		return &o->dr[n];
	return n == 6 ? &o->dr6 : &o->dr7;
}

void dr_access(struct vcpu *v, const struct vcpu_exit *e)
{
	struct vcpu_dr *o = &v->own_dr;
	unsigned int len = 3;		/* 0F 2x ModRM, when the exit said */
	int n = e->dr.n, gpr = e->dr.gpr >= 0 ? e->dr.gpr : decode_gpr(v, &len);
	bool long_mode = v->ops->get_reg(v, VCPU_EFER) & EFER_LMA;
	uint64_t *r;

	/* DR4/DR5 are DR6/DR7 with CR4.DE clear, else #UD (18.2.2) */
	if (n == 4 || n == 5) {
		if (v->ops->get_reg(v, VCPU_CR4) & CR4_DE) {
			v->ops->inject_exception(v, X86_TRAP_UD, false, 0);
			return;
		}
		n += 2;
	}
	if (gpr < 0 || n > 7) {
		v->ops->inject_exception(v, X86_TRAP_UD, false, 0);
		return;
	}
	r = own_reg(o, n);
	if (e->dr.write) {
		uint64_t val = vcpu_gpr_read(v, (unsigned int)gpr);

		/* bits 63:32 of DR6/DR7 must be 0 (18.2.3, 18.2.4): #GP */
		if (n >= 6 && (val >> 32)) {
			v->ops->inject_exception(v, X86_TRAP_GP, true, 0);
			return;
		}
		*r = n == 6 ? val | DR6_FIXED1 : n == 7 ? val | DR7_FIXED1 :
		     long_mode ? val : (uint32_t)val;
	} else {
		vcpu_gpr_write(v, (unsigned int)gpr,
			       long_mode ? *r : (uint32_t)*r);
	}
	vcpu_advance_rip(v, e, len);
}

unsigned int dr_debug(struct vcpu *v, uint64_t dr6)
{
	uint64_t dr7 = v->ops->get_reg(v, VCPU_DR7);
	unsigned int gdb = 0;

	for (int i = 0; i < 4; i++)
		if ((dr6 & (1u << i)) && (dr7 & (3u << (2 * i))))
			gdb |= 1u << i;
	if (gdb)
		return gdb;
	/* the guest's own: its DR6 gets the status, B0-B3 none of gdb's */
	v->own_dr.dr6 = (v->own_dr.dr6 & ~DR6_B0_B3) |
			(dr6 & ~DR6_B0_B3) | DR6_FIXED1;
	v->ops->inject_exception(v, 1, false, 0);
	return 0;
}
