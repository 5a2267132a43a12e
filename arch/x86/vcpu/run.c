// SPDX-License-Identifier: BSD-2-Clause
/* The run loop: enter the guest, count the exit, dispatch it, repeat. */
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/exit/cpuid.h"
#include "arch/x86/exit/cr.h"
#include "arch/x86/exit/dr.h"
#include "arch/x86/exit/io.h"
#include "arch/x86/exit/msr.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/run.h"
#include "arch/x86/vcpu/smp.h"
#include "arch/x86/vcpu/vcpu.h"
#include "drivers/iommu/iommu.h"
#include "shell/gdbstub.h"
#include "shell/shell.h"
#include "umbra/core.h"
#include "umbra/log.h"

static void handle_exit(struct vcpu *v, struct vcpu_exit *e)
{
	switch (e->reason) {
	case EXIT_CPUID:
		handle_cpuid(v, e);
		break;
	case EXIT_IO:
		handle_io(v, e);
		break;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE:
		handle_msr(v, e);
		break;
	case EXIT_TDP_FAULT:
		if (!v->mmu->tdp_fault)
			goto unexpected;
		v->mmu->tdp_fault(v, e);
		break;
	case EXIT_CR_WRITE:
		handle_cr_write(v, e);
		break;
	case EXIT_CR_READ:
		handle_cr_read(v, e);
		break;
	case EXIT_PAGE_FAULT:
		if (!v->mmu->page_fault)
			goto unexpected;
		v->mmu->page_fault(v, e);
		break;
	case EXIT_INVLPG:
		handle_invlpg(v, e);
		break;
	case EXIT_TASK_SWITCH:
		/* SDM Vol 3 7.3, APM Vol 2 15.14: not emulated */
		pr_err("guest task switch at rip %lx (exit %lx, info %lx %lx): umbra does not emulate task switches",
		       v->ops->get_reg(v, VCPU_RIP), e->raw, e->info1, e->info2);
		vcpu_dump(v, "task switch");
		vcpu_print_stats(v);
		halt("guest-error");
	case EXIT_HYPERCALL:
	case EXIT_VIRT_INSN:
		/* no hypercalls yet, and no nested virtualization: as on bare metal */
		pr_debug("guest ran %s at %lx: #UD", v->ops->exit_name(e->raw),
			 v->ops->get_reg(v, VCPU_RIP));
		v->ops->inject_exception(v, X86_TRAP_UD, false, 0);
		break;
	case EXIT_HLT:
		/*
		 * Intercepted only for the debug shell on a dedicated port
		 * (shell.c); the exit comes before the HLT executes (APM Vol 2
		 * 15.9, SDM Vol 3 25.1.3).  Stepping over it is a spurious
		 * wake-up, which guests expect: HLT ends on any interrupt.
		 */
		vcpu_advance_rip(v, e, 1);
		break;
	case EXIT_INVD:
		/*
		 * INVD would drop umbra's dirty cache lines with the guest's
		 * (SDM Vol 2 INVD; it exits unconditionally under VMX, SDM
		 * Vol 3 25.1.2; intercepted on SVM, APM Vol 2 15.9).  WBINVD
		 * in its place leaves memory as the guest could find it after
		 * INVD had it held no dirty lines, as KVM does with a no-op.
		 * CPL > 0 raises #GP before the exit (SDM Vol 3 25.1.1).
		 */
		__asm__ volatile("wbinvd" ::: "memory");
		vcpu_advance_rip(v, e, 2);
		break;
	case EXIT_XSETBV:
		handle_xsetbv(v, e);
		break;
	case EXIT_NMI:
		/* the guest's NMI (it owns the devices): the back end injects
		   it as soon as the guest can take it; or another CPU's kick */
		if (!nmi_kick_take())
			vcpu_nmi_add(v);
		break;
	case EXIT_INTR:
	case EXIT_NMI_WINDOW:
		break;
	case EXIT_TRIPLE_FAULT:
		pr_err("guest triple fault (shutdown) after %lu exits", v->total_exits);
		vcpu_dump(v, "triple fault");
		vcpu_print_stats(v);
		halt("triple-fault");
	case EXIT_INIT:
		/*
		 * A hardware INIT reached the CPU while it ran the guest (SVM:
		 * the INIT intercept, APM Vol 2 15.13; VMX: exit reason 3, SDM
		 * Vol 3 25.2): with several vCPUs it is the architectural INIT
		 * of this vCPU, which then waits for a SIPI.
		 */
		if (nr_vcpus > 1) {
			pr_info("cpu %u: INIT signal: the vCPU waits for a SIPI", v->cpu);
			__atomic_store_n(&v->waiting, true, __ATOMIC_SEQ_CST);
			__atomic_or_fetch(&v->requests, VCPU_REQ_INIT, __ATOMIC_SEQ_CST);
			break;
		}
		pr_err("INIT signal to the guest's only vCPU: umbra does not emulate a reset");
		vcpu_dump(v, "INIT");
		vcpu_print_stats(v);
		halt("init");
	case EXIT_BREAKPOINT:
		gdbstub_breakpoint(v, e);
		break;
	case EXIT_DR_ACCESS:
		dr_access(v, e);
		break;
	case EXIT_DEBUG:
		gdbstub_debug(v, e);
		break;
	case EXIT_SINGLE_STEP:
		if (gdbstub_step_done(v))
			break;
		if (!v->mmu->step_done)
			goto unexpected;
		v->mmu->step_done(v);
		break;
	case EXIT_FAILED_ENTRY:
		/*
		 * The guest's state cannot be entered (the back end's
		 * diagnosis above names the rule: vmx/diag.c, svm/diag.c).
		 * Only the guest stops; umbra is fine.
		 */
		pr_err("%s: VM entry failed (exit code %lx): guest state invalid",
		       v->ops->name, e->raw);
		vcpu_dump(v, "failed entry");
		vcpu_print_stats(v);
		halt("guest-error");
	case EXIT_OTHER:
	default:
unexpected:
		/* an exit umbra does not handle: the guest stops, umbra does not */
		pr_err("%s: unexpected exit %lx (%s) info1=%lx info2=%lx at rip %lx",
		       v->ops->name, e->raw, v->ops->exit_name(e->raw), e->info1,
		       e->info2, v->ops->get_reg(v, VCPU_RIP));
		vcpu_dump(v, "unexpected exit");
		vcpu_print_stats(v);
		halt("guest-error");
	}
}

void vcpu_run_loop(struct vcpu *v)
{
	struct vcpu_exit e;

	if (!v->cpu) {		/* the debug shell and gdb run on the boot CPU */
		shell_init(v);
		gdbstub_init(v, shell_reboot);
	}
	for (;;) {
		vcpu_requests(v);
		if (v->mmu->enter)
			v->mmu->enter(v);
		if (v->exit_tsc) {	/* not before the first entry */
			v->class_exits[v->exit_class]++;
			v->class_tsc[v->exit_class] += rdtsc() - v->exit_tsc;
			v->exit_tsc = 0;
		}
		vcpu_enter_guest(v);
		if (__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST)) {
			vcpu_left_guest(v);	/* one came meanwhile */
			continue;
		}
		v->ops->run(v, &e);
		v->exit_tsc = rdtsc();
		v->exit_class = (uint8_t)e.reason;
		vcpu_left_guest(v);
		percpu_check_stop();	/* the NMI of a halt elsewhere (VMX) */
		v->exits[e.reason]++;
		v->total_exits++;
		handle_exit(v, &e);
		if (v->cpu)
			continue;
		iommu_poll();	/* DMA faults: logged, rate-limited */
		shell_poll(v);
	}
}
