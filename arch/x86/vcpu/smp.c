// SPDX-License-Identifier: BSD-2-Clause
/*
 * The guest's CPUs (smp.h).  umbra started every CPU itself (core/main.c,
 * arch/x86/cpu/smp.c); each AP's vCPU waits, host side on its own CPU, in
 * the wait-for-SIPI state until the guest starts it the standard way,
 * INIT then SIPI through its local APIC (SDM Vol 3 10.4.4; APM Vol 2
 * 16.5).  umbra catches those ICR writes (arch/x86/exit/apic.c: the
 * xAPIC page is read-only in the NPT/EPT, the x2APIC ICR MSR is
 * intercepted) and never sends INIT or SIPI to the hardware: a CPU the
 * guest could start itself would run outside umbra.
 *
 * What the hardware does is what the guest gets: an INIT or SIPI to an
 * absent APIC ID goes nowhere, an INIT to itself (the self shorthand is
 * not valid for INIT and SIPI, SDM Vol 3 11.6.1) and a SIPI to a CPU that
 * is not in wait-for-SIPI are ignored, each with a debug-level line.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/cpu/regs.h"
#include "arch/x86/cpu/smp.h"
#include "arch/x86/vcpu/smp.h"
#include "lib/string.h"
#include "umbra/log.h"

#define SIPI_PENDING	0x100u

unsigned int nr_vcpus;

void vcpu_smp_add(struct vcpu *v)
{
	struct percpu *pc = this_cpu();

	v->cpu = pc->id;
	v->apic_id = pc->apic_id;
	v->waiting = v->cpu != 0;
	v->requests = v->cpu ? VCPU_REQ_INIT : 0;
	pc->vcpu = v;
	__atomic_fetch_add(&nr_vcpus, 1, __ATOMIC_SEQ_CST);
}

static struct vcpu *vcpu_by_apic_id(uint32_t apic_id)
{
	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		struct vcpu *v = percpu_get(i)->vcpu;

		if (v && v->apic_id == apic_id)
			return v;
	}
	return NULL;
}

/*
 * SDM Vol 3 10.1, Table 10-1: the state after INIT (CR0 ET; CD and NW
 * are left clear, as firmware leaves an AP); the SIPI then starts the CPU
 * in real mode at CS.selector = vector << 8, CS.base = vector << 12,
 * IP 0 (SDM Vol 3 10.4.4; APM Vol 2 16.5).  EDX: the CPUID signature.
 */
static void set_sipi_state(struct vcpu *v, uint8_t vector)
{
	const struct vcpu_ops *o = v->ops;
	struct segment cs = { (uint16_t)(vector << 8), 0x9b, 0xffff, (uint64_t)vector << 12 };
	struct segment data = { 0, 0x93, 0xffff, 0 };
	struct segment ldtr = { 0, 0x82, 0xffff, 0 };
	struct segment tr = { 0, 0x8b, 0xffff, 0 };
	struct segment table = { 0, 0, 0xffff, 0 };

	for (int s = SEG_ES; s <= SEG_GS; s++)
		o->set_seg(v, s, s == SEG_CS ? &cs : &data);
	o->set_seg(v, SEG_LDTR, &ldtr);
	o->set_seg(v, SEG_TR, &tr);
	o->set_seg(v, SEG_GDTR, &table);
	o->set_seg(v, SEG_IDTR, &table);
	o->set_reg(v, VCPU_CR0, CR0_ET);
	o->set_reg(v, VCPU_CR2, 0);
	o->set_reg(v, VCPU_CR3, 0);
	o->set_reg(v, VCPU_CR4, 0);
	o->set_reg(v, VCPU_EFER, 0);
	o->set_reg(v, VCPU_RFLAGS, RFLAGS_FIXED);
	o->set_reg(v, VCPU_RIP, 0);
	o->set_reg(v, VCPU_RSP, 0);
	o->set_reg(v, VCPU_DR7, 0x400);
	o->set_reg(v, VCPU_DR6, 0xffff0ff0);
	memset(&v->gprs, 0, sizeof(v->gprs));
	v->gprs.rdx = cpuid(1).eax;
	/* what came while it waited is dropped: only a SIPI leaves wait-for-SIPI */
	v->nmi_pending = 0;
	(void)host_nmi_take();
}

/* Host side, on v's own CPU: until a SIPI comes (requests are polled on). */
static void wait_for_sipi(struct vcpu *v)
{
	uint32_t sipi;

	while (!(sipi = __atomic_exchange_n(&v->sipi, 0, __ATOMIC_ACQUIRE))) {
		percpu_check_stop();	/* SVM holds the NMI while GIF is clear */
		cpu_pause();
	}
	__atomic_and_fetch(&v->requests, ~VCPU_REQ_INIT, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->waiting, false, __ATOMIC_RELEASE);
	set_sipi_state(v, (uint8_t)sipi);
	pr_info("cpu %u: the guest starts its vCPU (APIC ID %x) at %04x:0000",
		v->cpu, v->apic_id, (sipi & 0xff) << 8);
}

void vcpu_requests(struct vcpu *v)
{
	uint32_t r;

	if (!__atomic_load_n(&v->requests, __ATOMIC_RELAXED))
		return;
	r = __atomic_exchange_n(&v->requests, 0, __ATOMIC_ACQUIRE);
	if (r & VCPU_REQ_FLUSH)
		v->ops->flush_tlb(v);
	if (r & VCPU_REQ_INIT)
		wait_for_sipi(v);
}

/*
 * Make t's CPU leave guest mode so that it sees its requests: an NMI
 * (VMX: NMI exiting, SDM Vol 3 25.2; SVM: the NMI intercept, set with
 * more than one vCPU, APM Vol 2 15.9), counted so that neither the exit
 * nor umbra's IDT takes it for the guest's (idt.c).  One sent while t is
 * in root mode is taken there (VMX) or at its VMRUN (SVM: GIF is clear).
 */
static void kick(struct vcpu *t)
{
	if (!__atomic_load_n(&t->in_guest, __ATOMIC_SEQ_CST))
		return;
	__atomic_fetch_add(&percpu_get(t->cpu)->kicks, 1, __ATOMIC_SEQ_CST);
	apic_send_ipi(t->apic_id, ICR_MODE_NMI);
}

void vcpu_enter_guest(struct vcpu *v)
{
	__atomic_store_n(&v->in_guest, true, __ATOMIC_SEQ_CST);
}

void vcpu_left_guest(struct vcpu *v)
{
	__atomic_store_n(&v->in_guest, false, __ATOMIC_SEQ_CST);
}

void vcpu_flush_all(void)
{
	struct vcpu *self = this_cpu()->vcpu;

	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		struct vcpu *v = percpu_get(i)->vcpu;

		if (v == self)
			v->ops->flush_tlb(v);
		else if (v) {
			__atomic_or_fetch(&v->requests, VCPU_REQ_FLUSH, __ATOMIC_SEQ_CST);
			kick(v);
		}
	}
}

/*
 * As vcpu_flush_all(), and back once every other vCPU has left guest mode
 * or taken the request (vcpu_kick_sync()): none of them still walks a
 * table the caller unlinked (its paging-structure caches, SDM Vol 3
 * 4.10.3), so the TDP MMU may free it (install before free, seed 001).
 * Safe with the MMU lock held: a vCPU waiting for it is not in guest mode.
 */
void vcpu_flush_all_sync(void)
{
	struct vcpu *self = this_cpu()->vcpu;

	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		struct vcpu *v = percpu_get(i)->vcpu;

		if (v == self) {
			v->ops->flush_tlb(v);
		} else if (v) {
			__atomic_or_fetch(&v->requests, VCPU_REQ_FLUSH, __ATOMIC_SEQ_CST);
			vcpu_kick_sync(v);
		}
	}
}

/*
 * The requester set VCPU_REQ_MMU before it looked at in_guest, t sets
 * in_guest before it looks at its requests (vcpu_run_loop()): t either
 * sees the request before it enters, or is kicked.  t has left when
 * in_guest reads false or it took the request.  An NMI that reaches t in
 * root mode just before its entry (VMX takes it there) forces no exit:
 * the kick is sent again until t leaves, and said on the console if that
 * takes long.
 */
#define KICK_RESEND	(1u << 16)	/* pauses between kicks */
#define KICK_WARN	(1u << 26)

void vcpu_kick_sync(struct vcpu *t)
{
	unsigned long spins = 0;
	bool warned = false;

	__atomic_or_fetch(&t->requests, VCPU_REQ_MMU, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&t->in_guest, __ATOMIC_SEQ_CST) &&
	       (__atomic_load_n(&t->requests, __ATOMIC_SEQ_CST) & VCPU_REQ_MMU)) {
		if (!(spins % KICK_RESEND))
			kick(t);
		if (++spins == KICK_WARN && !warned) {
			pr_warn("cpu %u: waiting for cpu %u to leave guest mode for a TLB flush",
				this_cpu()->id, t->cpu);
			warned = true;
		}
		percpu_check_stop();
		cpu_pause();
	}
}

/* INIT or SIPI for t (NULL: no CPU has the APIC ID) from v. */
static void deliver(struct vcpu *v, struct vcpu *t, uint32_t dest, uint32_t low)
{
	bool init = (low & ICR_MODE_MASK) == ICR_MODE_INIT;

	if (!t || t == v) {
		pr_debug("cpu %u: guest %s to %s %x: ignored, as by the hardware", v->cpu,
			 init ? "INIT" : "SIPI", t ? "itself, APIC ID" : "absent APIC ID", dest);
		return;
	}
	if (init) {
		/* a SIPI left over from before does not start it again */
		__atomic_store_n(&t->sipi, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&t->waiting, true, __ATOMIC_SEQ_CST);
		__atomic_or_fetch(&t->requests, VCPU_REQ_INIT, __ATOMIC_SEQ_CST);
		kick(t);
		pr_debug("cpu %u: guest INIT to APIC ID %x: it waits for a SIPI", v->cpu, dest);
		return;
	}
	/* SDM Vol 3 10.4.4: a SIPI reaches only a CPU in wait-for-SIPI */
	if (!__atomic_load_n(&t->waiting, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&t->sipi, __ATOMIC_ACQUIRE)) {
		pr_debug("cpu %u: guest SIPI to APIC ID %x, which is not waiting for one: ignored",
			 v->cpu, dest);
		return;
	}
	__atomic_store_n(&t->sipi, SIPI_PENDING | ICR_VECTOR(low), __ATOMIC_RELEASE);
}

void vcpu_icr_write(struct vcpu *v, uint32_t dest, uint32_t low)
{
	uint32_t mode = low & ICR_MODE_MASK, sh = low & ICR_SHORTHAND_MASK;

	if (mode != ICR_MODE_INIT && mode != ICR_MODE_SIPI) {
		apic_send_ipi(dest, low);	/* fixed, NMI, ...: the hardware's */
		return;
	}
	/* SDM Vol 3 11.6.1: INIT level de-assert only syncs arbitration IDs */
	if (mode == ICR_MODE_INIT && !(low & ICR_LEVEL_ASSERT) && (low & ICR_TRIGGER_LEVEL))
		return;
	if (sh == ICR_SHORTHAND_SELF || (!sh && (low & ICR_DEST_LOGICAL))) {
		pr_debug("cpu %u: guest %s with %s: ignored", v->cpu,
			 mode == ICR_MODE_INIT ? "INIT" : "SIPI",
			 sh ? "the self shorthand" : "a logical destination (not modelled)");
		return;
	}
	if (!sh) {
		deliver(v, vcpu_by_apic_id(dest), dest, low);
		return;
	}
	for (unsigned int i = 0; i < MAX_CPUS; i++) {
		struct vcpu *t = percpu_get(i)->vcpu;

		if (t && t != v)
			deliver(v, t, t->apic_id, low);
	}
}
