// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra's own GDT and IDT.  umbra runs with interrupts off (and, once the
 * guest has run, with GIF clear), so the IDT only catches exceptions: every
 * one is a umbra bug and panics, except an NMI (the guest's: held for it,
 * host_nmi()) and the #GP that rdmsr_safe() expects.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "umbra/log.h"

#define GDT_CODE64	0x08

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static const uint64_t gdt[] __attribute__((aligned(16))) = {
	0,
	0x00af9a000000ffff,	/* 0x08: 64-bit code */
	0x00cf92000000ffff,	/* 0x10: data */
};

static struct idt_entry idt[32] __attribute__((aligned(16)));

#define STUB(n) extern char exc_stub_##n[];
STUB(0) STUB(1) STUB(2) STUB(3) STUB(4) STUB(5) STUB(6) STUB(7)
STUB(8) STUB(9) STUB(10) STUB(11) STUB(12) STUB(13) STUB(14) STUB(15)
STUB(16) STUB(17) STUB(18) STUB(19) STUB(20) STUB(21) STUB(22) STUB(23)
STUB(24) STUB(25) STUB(26) STUB(27) STUB(28) STUB(29) STUB(30) STUB(31)
#undef STUB

static char *const stubs[32] = {
	exc_stub_0, exc_stub_1, exc_stub_2, exc_stub_3, exc_stub_4,
	exc_stub_5, exc_stub_6, exc_stub_7, exc_stub_8, exc_stub_9,
	exc_stub_10, exc_stub_11, exc_stub_12, exc_stub_13, exc_stub_14,
	exc_stub_15, exc_stub_16, exc_stub_17, exc_stub_18, exc_stub_19,
	exc_stub_20, exc_stub_21, exc_stub_22, exc_stub_23, exc_stub_24,
	exc_stub_25, exc_stub_26, exc_stub_27, exc_stub_28, exc_stub_29,
	exc_stub_30, exc_stub_31,
};

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
	"#OF overflow", "#BR bound range", "#UD invalid opcode",
	"#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD exception", "#VE virtualization exception",
	"#CP control protection", "reserved 22", "reserved 23",
	"reserved 24", "reserved 25", "reserved 26", "reserved 27",
	"#HV", "#VC", "#SX security exception", "reserved 31",
};

extern char rdmsr_safe_insn[], rdmsr_safe_fixup[];
extern char wrmsr_safe_insn[], wrmsr_safe_fixup[];

void exception_dispatch(struct exc_frame *f);

uint64_t host_nmis;

/*
 * An NMI umbra took in root mode.  The guest owns the devices, so it is
 * the guest's: it is held pending here, as a CPU holds one NMI while
 * NMIs are blocked (SDM Vol 3 6.7.1), and the back end injects it at the
 * next VM entry the guest's own NMI blocking allows (vmx.c, svm.c).
 */
static void host_nmi(void)
{
	percpu_check_stop();
	if (nmi_kick_take())
		return;
	__atomic_fetch_add(&host_nmis, 1, __ATOMIC_RELAXED);
	this_cpu()->nmi_pending = true;	/* this CPU's guest is owed it */
}

bool nmi_kick_take(void)
{
	uint32_t *k = &this_cpu()->kicks, n = __atomic_load_n(k, __ATOMIC_ACQUIRE);

	while (n && !__atomic_compare_exchange_n(k, &n, n - 1, false,
						 __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
		;
	return n != 0;
}

bool host_nmi_take(void)
{
	return __atomic_exchange_n(&this_cpu()->nmi_pending, false, __ATOMIC_SEQ_CST);
}

/* SDM Vol 3 6.7.1: IRET ends NMI blocking; this one returns in place */
void host_nmi_unblock(void)
{
	uint64_t tmp;

	__asm__ volatile("movq %%ss, %0\n\t"
			 "pushq %0\n\t"
			 "pushq %%rsp\n\t"
			 "addq $8, (%%rsp)\n\t"
			 "pushfq\n\t"
			 "movq %%cs, %0\n\t"
			 "pushq %0\n\t"
			 "leaq 1f(%%rip), %0\n\t"
			 "pushq %0\n\t"
			 "iretq\n"
			 "1:"
			 : "=&r"(tmp) : : "memory", "cc");
}

/*
 * A single-step trap (DR6.BS, SDM Vol 3 18.2.3) that umbra's own
 * RFLAGS.TF did not ask for is the guest's: Bochs 2.7 (SVM) keeps the
 * single-step trap of a guest instruction that exits (an intercept, with
 * the guest's TF set) pending across the #VMEXIT and delivers it to umbra
 * after VMRUN (it discards only breakpoint traps while GIF is clear).  On
 * a CPU an instruction intercept comes before the instruction executes
 * (APM Vol 2 15.9), and no trap is left.  Dropped: umbra never steps itself.
 */
static bool leaked_guest_step(const struct exc_frame *f)
{
	static bool told;

	if (f->vector != X86_TRAP_DB || (f->rflags & RFLAGS_TF) ||
	    !(read_dr6() & DR6_BS))
		return false;
	if (!told)
		pr_warn("a single-step trap of the guest's reached umbra (Bochs): dropped");
	told = true;
	return true;
}

void exception_dispatch(struct exc_frame *f)
{
	if (f->vector == X86_TRAP_GP && f->rip == (uint64_t)rdmsr_safe_insn) {
		f->rip = (uint64_t)rdmsr_safe_fixup;
		return;
	}
	if (f->vector == X86_TRAP_GP && f->rip == (uint64_t)wrmsr_safe_insn) {
		f->rip = (uint64_t)wrmsr_safe_fixup;
		return;
	}
	if (leaked_guest_step(f))
		return;
	if (f->vector == X86_TRAP_NMI) {
		/* no console line: a guest's 1 kHz watchdog would flood it;
		   the exit statistics count them */
		host_nmi();
		return;
	}
	panic_frame(f, "host exception %lu (%s)", f->vector,
		    exc_names[f->vector & 31]);
}

static void set_gate(int vec, void *handler)
{
	uint64_t a = (uint64_t)handler;

	idt[vec] = (struct idt_entry){
		.off_lo = (uint16_t)a,
		.sel = GDT_CODE64,
		.type = 0x8e,		/* present, DPL 0, 64-bit interrupt gate */
		.off_mid = (uint16_t)(a >> 16),
		.off_hi = (uint32_t)(a >> 32),
	};
}

void cpu_tables_init(void)
{
	struct table_ptr gp = { sizeof(gdt) - 1, (uint64_t)gdt };
	struct table_ptr ip = { sizeof(idt) - 1, (uint64_t)idt };

	for (int i = 0; i < 32; i++)
		set_gate(i, stubs[i]);
	__asm__ volatile("lgdt %0" : : "m"(gp));
	__asm__ volatile("lidt %0" : : "m"(ip));
	/* reload CS through a far return, then the data segments */
	__asm__ volatile("pushq %0\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w1, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 : : "i"(GDT_CODE64), "i"(0x10) : "rax", "memory");
}
