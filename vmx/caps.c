// SPDX-License-Identifier: BSD-2-Clause
/*
 * The VMX feature check: CPUID, IA32_FEATURE_CONTROL, and every VMCS
 * control computed from the capability MSRs (SDM Vol 3 Appendix A).  A
 * control umbra needs that the CPU does not allow, or one the CPU forces on
 * that umbra cannot handle, is reported by name.
 */
#include "arch/x86/cpu/cpu.h"
#include "lib/printf.h"
#include "vmx/vmcs.h"
#include "umbra/err.h"
#include "vmx/caps.h"

#define CPUID_VMX_ECX		(1u << 5)	/* CPUID.1:ECX[5], SDM Vol 3 23.6 */

struct vmx_caps vmx_caps;

struct ctl_name {
	uint32_t bit;
	const char *name;
};

struct ctl_word {
	const char *what;
	uint32_t msr, true_msr;		/* true_msr 0: none (secondary) */
	uint32_t required, optional;
	uint32_t tolerated;		/* may be forced on: reserved default1
					   bits, and ones umbra handles */
	const struct ctl_name *names;
};

static const struct ctl_name pin_names[] = {
	{ PIN_EXT_INTR_EXITING, "external-interrupt exiting" },
	{ PIN_NMI_EXITING, "NMI exiting" },
	{ PIN_VIRTUAL_NMIS, "virtual NMIs" },
	{ 0, NULL },
};

static const struct ctl_name proc_names[] = {
	{ PROC_HLT_EXITING, "HLT exiting" },
	{ PROC_NMI_WINDOW_EXITING, "NMI-window exiting" },
	{ PROC_CR3_LOAD_EXITING, "CR3-load exiting" },
	{ PROC_CR3_STORE_EXITING, "CR3-store exiting" },
	{ PROC_USE_IO_BITMAPS, "use I/O bitmaps" },
	{ PROC_USE_MSR_BITMAPS, "use MSR bitmaps" },
	{ PROC_SECONDARY, "activate secondary controls" },
	{ 0, NULL },
};

static const struct ctl_name proc2_names[] = {
	{ PROC2_ENABLE_EPT, "enable EPT" },
	{ PROC2_ENABLE_RDTSCP, "enable RDTSCP" },
	{ PROC2_ENABLE_VPID, "enable VPID" },
	{ PROC2_UNRESTRICTED_GUEST, "unrestricted guest" },
	{ PROC2_ENABLE_INVPCID, "enable INVPCID" },
	{ PROC2_ENABLE_XSAVES, "enable XSAVES/XRSTORS" },
	{ 0, NULL },
};

static const struct ctl_name exit_names[] = {
	{ EXIT_SAVE_DEBUG_CTLS, "save debug controls" },
	{ EXIT_HOST_ADDR_SPACE_SIZE, "host address-space size" },
	{ EXIT_SAVE_PAT, "save IA32_PAT" },
	{ EXIT_LOAD_PAT, "load IA32_PAT" },
	{ EXIT_SAVE_EFER, "save IA32_EFER" },
	{ EXIT_LOAD_EFER, "load IA32_EFER" },
	{ 0, NULL },
};

static const struct ctl_name entry_names[] = {
	{ ENTRY_LOAD_DEBUG_CTLS, "load debug controls" },
	{ ENTRY_IA32E_MODE, "IA-32e mode guest" },
	{ ENTRY_LOAD_PAT, "load IA32_PAT" },
	{ ENTRY_LOAD_EFER, "load IA32_EFER" },
	{ 0, NULL },
};

/*
 * SDM Vol 3 24.6.1: no external-interrupt exiting: interrupts go straight
 * to the guest, which owns the devices (umbra runs with RFLAGS.IF clear,
 * so they wait while it runs).  NMIs cannot wait that way: one arriving
 * in VMX root operation goes to umbra's IDT.  So NMI exiting and virtual
 * NMIs (25.3): every NMI exits, and umbra injects it (vmx.c) when the
 * guest's virtual-NMI blocking allows, with NMI-window exiting otherwise
 * (24.6.2; it needs virtual NMIs, 26.2.1.1).
 */
static const struct ctl_word pin_word = {
	"pin-based", MSR_VMX_PINBASED_CTLS, MSR_VMX_TRUE_PINBASED_CTLS,
	PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, 0, PIN_DEFAULT1, pin_names,
};

/*
 * SDM Vol 3 24.6.2: I/O and MSR bitmaps (25.1.3: without them every IN/OUT
 * and RDMSR/WRMSR exits), secondary controls for EPT.  No HLT exiting: the
 * guest halts in VMX non-root operation and its interrupts wake it.
 * CR3-load/store exiting are default1 without the TRUE MSRs (A.3.2); umbra
 * then emulates MOV to/from CR3.
 */
static const struct ctl_word proc_word = {
	"primary processor-based", MSR_VMX_PROCBASED_CTLS,
	MSR_VMX_TRUE_PROCBASED_CTLS,
	PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_SECONDARY, 0,
	PROC_DEFAULT1, proc_names,
};

/*
 * SDM Vol 3 24.6.2 Table 24-7: EPT (28.3) and unrestricted guest (26.3.1.1:
 * the guest may run with CR0.PE or CR0.PG clear) are required; VPID (28.1)
 * is used when present.  RDTSCP, INVPCID and XSAVES raise #UD in the guest
 * when their control is 0, so they are enabled wherever the CPU allows.
 */
static const struct ctl_word proc2_word = {
	"secondary processor-based", MSR_VMX_PROCBASED_CTLS2, 0,
	PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST,
	PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
	PROC2_ENABLE_XSAVES,
	0, proc2_names,
};

/*
 * SDM Vol 3 24.7.1: a 64-bit host (27.5.1); the guest's EFER and PAT are
 * saved and the host's loaded on every exit, so that the guest owns both
 * MSRs without umbra switching them by hand; guest DR7/DEBUGCTL saved.
 */
static const struct ctl_word exit_word = {
	"VM-exit", MSR_VMX_EXIT_CTLS, MSR_VMX_TRUE_EXIT_CTLS,
	EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
	EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_DEBUG_CTLS, 0,
	EXIT_DEFAULT1, exit_names,
};

/*
 * SDM Vol 3 24.8.1: the guest's EFER, PAT, DR7 and DEBUGCTL come from the
 * VMCS (26.3.2.1).  "IA-32e mode guest" must be allowed; it is set only
 * while the guest has EFER.LMA (26.3.1.1).
 */
static const struct ctl_word entry_word = {
	"VM-entry", MSR_VMX_ENTRY_CTLS, MSR_VMX_TRUE_ENTRY_CTLS,
	ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CTLS |
	ENTRY_IA32E_MODE, 0,
	ENTRY_DEFAULT1, entry_names,
};

static const char *ctl_name(const struct ctl_word *w, uint32_t bit)
{
	for (const struct ctl_name *n = w->names; n->name; n++)
		if (n->bit == bit)
			return n->name;
	return "reserved";
}

/*
 * SDM Vol 3 A.3-A.5: bits 31:0 of a capability MSR are the allowed
 * 0-settings (a 1 there: the control must be 1), bits 63:32 the allowed
 * 1-settings (a 0 there: the control must be 0).  The TRUE_* MSRs replace
 * the others when IA32_VMX_BASIC[55] is set (A.1, 31.5.1).
 */
static int adjust(const struct ctl_word *w, uint32_t *out, uint32_t *allowed1,
		  char *why, size_t len)
{
	bool use_true = w->true_msr && (vmx_caps.basic & VMX_BASIC_TRUE_CTLS);
	uint32_t msr = use_true ? w->true_msr : w->msr;
	uint64_t cap = rdmsr(msr);
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	uint32_t missing = w->required & ~may1;
	uint32_t forced = must1 & ~(w->required | w->optional | w->tolerated);

	if (missing) {
		uint32_t bit = missing & -missing;

		snprintf(why, len, "VMX: required %s control '%s' (bit %u) is not allowed by MSR %x (%016lx)",
			 w->what, ctl_name(w, bit), __builtin_ctz(bit), msr, cap);
		return -UMBRA_ENODEV;
	}
	if (forced) {
		uint32_t bit = forced & -forced;

		snprintf(why, len, "VMX: %s control '%s' (bit %u) must be 1 (MSR %x = %016lx) and umbra does not handle it",
			 w->what, ctl_name(w, bit), __builtin_ctz(bit), msr, cap);
		return -UMBRA_ENODEV;
	}
	*out = must1 | w->required | (w->optional & may1);
	if (allowed1)
		*allowed1 = may1;
	return 0;
}

static int check_ept_vpid(char *why, size_t len)
{
	uint64_t cap = rdmsr(MSR_VMX_EPT_VPID_CAP);

	vmx_caps.ept_vpid = cap;
	/* SDM Vol 3 24.6.11: umbra's EPTP is a 4-level walk in WB memory */
	if (!(cap & EPT_CAP_WALK4) || !(cap & EPT_CAP_WB)) {
		snprintf(why, len, "VMX: EPT without %s (IA32_VMX_EPT_VPID_CAP %016lx)",
			 cap & EPT_CAP_WALK4 ? "write-back paging structures" :
			 "4-level page walks", cap);
		return -UMBRA_ENODEV;
	}
	/* SDM Vol 3 30.3 INVEPT, 28.4.3.1 */
	if (!(cap & EPT_CAP_INVEPT) ||
	    !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		snprintf(why, len, "VMX: EPT without INVEPT single- or all-context (IA32_VMX_EPT_VPID_CAP %016lx)",
			 cap);
		return -UMBRA_ENODEV;
	}
	vmx_caps.invept_type = cap & EPT_CAP_INVEPT_SINGLE ? INVEPT_SINGLE : INVEPT_ALL;
	/* VPID needs INVVPID to flush its tag (28.4.3.3); else leave it off */
	if ((vmx_caps.proc2 & PROC2_ENABLE_VPID) && (cap & VPID_CAP_INVVPID) &&
	    (cap & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL)))
		vmx_caps.invvpid_type = cap & VPID_CAP_INVVPID_SINGLE ?
					INVVPID_SINGLE : INVVPID_ALL;
	else
		vmx_caps.proc2 &= ~PROC2_ENABLE_VPID;
	return 0;
}

int vmx_caps_probe(char *why, size_t len)
{
	uint64_t fc, b;
	uint32_t p2, proc1;

	if (!(cpuid(1).ecx & CPUID_VMX_ECX)) {
		snprintf(why, len, "no VMX: CPUID.1:ECX[5] is clear (not a VT-x CPU, or the hypervisor below umbra does not expose VMX)");
		return -UMBRA_ENODEV;
	}
	/* SDM Vol 3 23.7: VMXON #GPs unless the MSR is locked with bit 2 set */
	if (rdmsr_safe(MSR_FEATURE_CONTROL, &fc))
		fc = 0;
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX)) {
		snprintf(why, len, "VMX is locked off by the firmware (IA32_FEATURE_CONTROL %lx: locked, VMX outside SMX disabled): enable VT-x in the firmware setup",
			 fc);
		return -UMBRA_ENODEV;
	}
	b = vmx_caps.basic = rdmsr(MSR_VMX_BASIC);
	/* SDM Vol 3 A.1: umbra keeps its VMCS in WB memory, anywhere */
	if (VMX_BASIC_MEMTYPE(b) != 6 || VMX_BASIC_SIZE(b) > 4096 ||
	    (b & VMX_BASIC_32BIT_PA)) {
		snprintf(why, len, "VMX: unsupported IA32_VMX_BASIC %016lx (VMCS not write-back, larger than 4 KiB or below 4 GiB only)",
			 b);
		return -UMBRA_ENODEV;
	}
	/*
	 * SDM Vol 3 A.3.3: IA32_VMX_PROCBASED_CTLS2 exists only where
	 * "activate secondary controls" may be 1, which proc_word requires.
	 */
	if (adjust(&pin_word, &vmx_caps.pin, NULL, why, len) ||
	    adjust(&proc_word, &vmx_caps.proc, &proc1, why, len))
		return -UMBRA_ENODEV;
	/* A.3.2: NMI-window exiting, set while an NMI waits (vmx.c) */
	if (!(proc1 & PROC_NMI_WINDOW_EXITING)) {
		snprintf(why, len, "VMX without NMI-window exiting: umbra needs it to deliver an NMI the guest blocks");
		return -UMBRA_ENODEV;
	}
	p2 = rdmsr(MSR_VMX_PROCBASED_CTLS2) >> 32;
	if (!(p2 & PROC2_ENABLE_EPT) || !(p2 & PROC2_UNRESTRICTED_GUEST)) {
		snprintf(why, len, "VMX without %s (IA32_VMX_PROCBASED_CTLS2 allows %08x): umbra needs EPT and unrestricted guest",
			 p2 & PROC2_ENABLE_EPT ? "unrestricted guest" : "EPT", p2);
		return -UMBRA_ENODEV;
	}
	if (adjust(&proc2_word, &vmx_caps.proc2, NULL, why, len) ||
	    adjust(&exit_word, &vmx_caps.exit, NULL, why, len) ||
	    adjust(&entry_word, &vmx_caps.entry, &vmx_caps.entry_allowed1, why, len))
		return -UMBRA_ENODEV;
	vmx_caps.entry &= ~ENTRY_IA32E_MODE;	/* set while EFER.LMA is */
	if (check_ept_vpid(why, len))
		return -UMBRA_ENODEV;
	/* SDM Vol 3 A.7, A.8 */
	vmx_caps.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	vmx_caps.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	vmx_caps.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	vmx_caps.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	return 0;
}
