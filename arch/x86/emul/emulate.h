/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Instructions umbra fetches, decodes (arch/x86/emul/decode.h) and emulates on
 * the guest's behalf, through the guest's own page tables (gmem.h).
 */
#ifndef UMBRA_X86_EMULATE_H
#define UMBRA_X86_EMULATE_H

#include "arch/x86/emul/decode.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/vcpu/vcpu.h"

/* The instruction at CS:RIP, as fetched and decoded. */
struct guest_insn {
	struct x86_insn in;
	uint8_t bytes[X86_MAX_INSN_LEN];
	unsigned int nbytes;
	int dec;		/* x86_decode()'s result */
};

/*
 * Fetch and decode.  GMEM_OK (then gi->dec says whether it decoded), or a
 * gmem_status: GMEM_FAULT means the fetch itself takes a #PF (in f).
 */
int insn_fetch(struct vcpu *v, struct guest_insn *gi, struct gmem_fault *f);
enum x86_mode guest_insn_mode(struct vcpu *v);
void guest_x86_regs(struct vcpu *v, const struct x86_insn *in,
		    struct x86_regs *r);
/* "rip ... bytes ..." on the console, for reports of what umbra cannot do */
void insn_report(struct vcpu *v, const char *why, const struct guest_insn *gi);

/*
 * Emulate the guest instruction at RIP whose write to gva the shadow MMU
 * wants emulated (SHADOW_EMULATE): MOV, MOVNTI, XCHG, CMPXCHG,
 * CMPXCHG8B/16B, XADD, ADD/OR/AND/SUB/XOR/ADC/SBB, INC/DEC/NOT/NEG,
 * BTS/BTR/BTC, ROL/ROR/RCL/RCR/SHL/SHR/SAR, SETcc, STOS/MOVS (one
 * iteration with REP).  0: done (or the guest's own fault injected);
 * -1: not one of these, nothing changed (the caller lets the CPU run it).
 */
int emulate_write(struct vcpu *v, uint64_t gva);

#endif
