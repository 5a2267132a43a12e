// SPDX-License-Identifier: BSD-2-Clause
/*
 * A failed VM entry in words: the VM-instruction error (SDM Vol 3 30.4),
 * or, for an invalid guest state (26.3, exit reason 33), the exit
 * qualification and the first rules of 26.3.1 the VMCS breaks.  The caller
 * then panics.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/vcpu/vcpu.h"
#include "umbra/core.h"
#include "umbra/log.h"
#include "vmx/diag.h"
#include "vmx/vmcs.h"
#include "vmx/caps.h"

static const char *const insn_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};


#define RULE_WHO	"vmx"

static uint64_t rd(uint32_t field)
{
	return vmcs_read(field);
}

/* 26.3.1.2: the segment registers, unrestricted guest, not virtual-8086 */
static void check_segment(int s, bool ia32e)
{
	uint32_t ar = (uint32_t)rd(GUEST_SEG_FIELD(GUEST_ES_AR, s));
	uint32_t limit = (uint32_t)rd(GUEST_SEG_FIELD(GUEST_ES_LIMIT, s));
	unsigned int type = ar & 15;
	bool g = ar & (1u << 15), usable = !(ar & AR_UNUSABLE);

	if (!usable) {
		RULE(s != 1 && s != 7, "CS and TR must be usable", s, ar);
		return;
	}
	RULE(!(ar & 0xfffe0f00), "reserved access-rights bits set", s, ar);
	RULE(ar & 0x80, "usable segment not present", s, ar);
	RULE((limit & 0xfff) == 0xfff || !g, "limit 11:0 not all ones with G set", limit, ar);
	RULE(!(limit & 0xfff00000) || g, "limit 31:20 not zero with G clear", limit, ar);
	switch (s) {
	case 1:
		RULE(type == 3 || type == 9 || type == 11 || type == 13 || type == 15,
		     "CS type must be 3 (unrestricted guest), 9, 11, 13 or 15", type, ar);
		RULE(ar & 0x10, "CS must be a code/data segment (S=1)", s, ar);
		RULE(!(ia32e && (ar & (1u << 13)) && (ar & (1u << 14))),
		     "64-bit CS (L=1) must have D/B clear", s, ar);
		break;
	case 7:
		RULE(ia32e ? type == 11 : type == 3 || type == 11,
		     "TR type must be 11 (or 3 outside IA-32e mode)", type, ar);
		RULE(!(ar & 0x10), "TR must be a system segment (S=0)", s, ar);
		break;
	case 6:
		RULE(type == 2 && !(ar & 0x10), "LDTR must be type 2, S=0", type, ar);
		break;
	default:
		RULE(type & 1, "data segment not accessed (type bit 0)", s, ar);
		RULE(ar & 0x10, "data segment must have S=1", s, ar);
		RULE(!(type & 8) || (type & 2), "code segment in a data register not readable", s, ar);
		if (s == 2)
			RULE(type == 3 || type == 7, "SS type must be 3 or 7", type, ar);
	}
}

static unsigned int seg_rpl(int s)
{
	return (unsigned int)rd(GUEST_SEG_FIELD(GUEST_ES_SELECTOR, s)) & 3;
}

/*
 * 26.3.1.2 with unrestricted guest 0, CR0.PE set and RFLAGS.VM clear: the
 * rules unrestricted guest lifts (CS type 3, the RPLs and DPLs).  Those
 * both modes check (S, P, reserved bits, limits) the state met already,
 * as the CPU left it after running it with unrestricted guest.
 */
bool vmx_pm_segments_ok(void)
{
	uint32_t cs = (uint32_t)rd(GUEST_SEG_FIELD(GUEST_ES_AR, 1));
	uint32_t ss = (uint32_t)rd(GUEST_SEG_FIELD(GUEST_ES_AR, 2));
	unsigned int cs_dpl = (cs >> 5) & 3, ss_dpl = (ss >> 5) & 3;
	static const int data[] = { 0, 3, 4, 5 };	/* ES, DS, FS, GS */

	/* CS: an accessed code segment (9, 11, 13, 15); RPL of SS = CS's */
	if ((cs & AR_UNUSABLE) || (cs & 9) != 9 || seg_rpl(1) != seg_rpl(2))
		return false;
	if (!(ss & AR_UNUSABLE) && ss_dpl != seg_rpl(2))
		return false;
	/* CS.DPL: = SS.DPL non-conforming, <= SS.DPL conforming (type bit 2) */
	if ((cs & 4) ? cs_dpl > ss_dpl : cs_dpl != ss_dpl)
		return false;
	/* data and non-conforming code (types 0-11): DPL >= RPL */
	for (unsigned int i = 0; i < ARRAY_SIZE(data); i++) {
		uint32_t ar = (uint32_t)rd(GUEST_SEG_FIELD(GUEST_ES_AR, data[i]));

		if (!(ar & AR_UNUSABLE) && (ar & 15) <= 11 &&
		    ((ar >> 5) & 3) < seg_rpl(data[i]))
			return false;
	}
	return true;
}

/* The rules of 26.3.1 most likely to be broken, with unrestricted guest. */
static void check_guest_state(void)
{
	uint64_t cr0 = rd(GUEST_CR0), cr4 = rd(GUEST_CR4), efer = rd(GUEST_IA32_EFER);
	uint64_t rflags = rd(GUEST_RFLAGS), pat = rd(GUEST_IA32_PAT);
	uint64_t must0 = vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG);
	bool ia32e = rd(ENTRY_CONTROLS) & ENTRY_IA32E_MODE;

	/* 26.3.1.1 */
	RULE((cr0 & must0) == must0 && !(cr0 & ~vmx_caps.cr0_fixed1),
	     "CR0 breaks IA32_VMX_CR0_FIXED0/1 (A.7)", cr0, vmx_caps.cr0_fixed0);
	RULE(!(cr0 & CR0_PG) || (cr0 & CR0_PE), "CR0.PG set without CR0.PE", cr0, 0);
	RULE((cr4 & vmx_caps.cr4_fixed0) == vmx_caps.cr4_fixed0 &&
	     !(cr4 & ~vmx_caps.cr4_fixed1),
	     "CR4 breaks IA32_VMX_CR4_FIXED0/1 (A.8)", cr4, vmx_caps.cr4_fixed0);
	RULE(!ia32e || ((cr0 & CR0_PG) && (cr4 & (1u << 5))),
	     "IA-32e mode guest needs CR0.PG and CR4.PAE", cr0, cr4);
	RULE(!(rd(GUEST_DR7) >> 32), "DR7 bits 63:32 set", rd(GUEST_DR7), 0);
	RULE(!!(efer & EFER_LMA) == ia32e, "EFER.LMA differs from IA-32e mode guest", efer,
	     ia32e);
	RULE(!(cr0 & CR0_PG) || !!(efer & EFER_LME) == ia32e,
	     "EFER.LME differs from IA-32e mode guest with paging on", efer, ia32e);
	RULE(!(efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)),
	     "EFER reserved bits set", efer, 0);
	for (int i = 0; i < 8; i++) {
		unsigned int t = (pat >> (8 * i)) & 0xff;

		RULE(t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || t == 7,
		     "PAT entry with an invalid memory type", pat, i);
	}
	/* 26.3.1.2 */
	for (int s = 0; s < 8; s++)
		check_segment(s, ia32e);
	RULE(!(rd(GUEST_SEG_FIELD(GUEST_ES_SELECTOR, 7)) & 4), "TR selector TI set",
	     rd(GUEST_SEG_FIELD(GUEST_ES_SELECTOR, 7)), 0);
	/* 26.3.1.3 */
	RULE(rd(GUEST_GDTR_LIMIT) <= 0xffff && rd(GUEST_IDTR_LIMIT) <= 0xffff,
	     "GDTR/IDTR limit above ffff", rd(GUEST_GDTR_LIMIT), rd(GUEST_IDTR_LIMIT));
	/* 26.3.1.4 */
	RULE(ia32e || !(rd(GUEST_RIP) >> 32), "RIP bits 63:32 set outside IA-32e mode",
	     rd(GUEST_RIP), 0);
	RULE((rflags & RFLAGS_FIXED) && !(rflags & 0xffffffffffc08028ull),
	     "RFLAGS bit 1 clear or reserved bits set", rflags, 0);
	RULE(!(rflags & (1u << 17)), "RFLAGS.VM set", rflags, 0);
	/* 26.3.1.5 */
	RULE(rd(GUEST_ACTIVITY_STATE) <= 3, "activity state above 3",
	     rd(GUEST_ACTIVITY_STATE), 0);
	RULE(!(rd(GUEST_INTERRUPTIBILITY) & ~0x1full), "interruptibility reserved bits set",
	     rd(GUEST_INTERRUPTIBILITY), 0);
	RULE(rd(VMCS_LINK_POINTER) == ~0ull, "VMCS link pointer is not ffffffff_ffffffff",
	     rd(VMCS_LINK_POINTER), 0);
}

/* The exit qualification of a failed entry for invalid guest state (26.8) */
static const char *const guest_state_quals[] = {
	[0] = "a guest-state rule of 26.3.1",
	[2] = "loading the PDPTEs (26.3.1.6)",
	[3] = "NMI injection blocked (26.3.1.5)",
	[4] = "invalid VMCS link pointer (26.3.1.5)",
};

void vmx_diag_failed_entry(struct vcpu *v, uint32_t reason, uint64_t qual)
{
	uint32_t basic = VMX_EXIT_REASON_BASIC(reason);

	rules_broken = 0;
	switch (basic) {
	case VMX_EXIT_INVALID_GUEST_STATE:
		pr_err("vmx: VM entry failed: invalid guest state, exit qualification %lu: %s",
		       qual, qual < ARRAY_SIZE(guest_state_quals) &&
		       guest_state_quals[qual] ? guest_state_quals[qual] : "unknown");
		check_guest_state();
		/* 26.3.1.2 without unrestricted guest (shadow paging) */
		if (!(rd(PROC_BASED_CONTROLS2) & PROC2_UNRESTRICTED_GUEST) &&
		    !vmx_pm_segments_ok())
			RULE(0, "segment RPL/DPL or CS type refused without unrestricted guest",
			     rd(GUEST_SEG_FIELD(GUEST_ES_AR, 1)),
			     rd(GUEST_SEG_FIELD(GUEST_ES_AR, 2)));
		if (!rules_broken)
			pr_err("vmx:   (none of the rules umbra checks is broken)");
		break;
	case VMX_EXIT_MSR_LOADING:
		pr_err("vmx: VM entry failed loading MSR entry %lu (26.4)", qual);
		break;
	case VMX_EXIT_MACHINE_CHECK:
		pr_err("vmx: VM entry failed: machine-check event (26.8)");
		break;
	default:
		pr_err("vmx: VM entry failed: exit reason %x, qualification %lx", reason, qual);
	}
}

static void print_controls(void)
{
	pr_err("vmx:   pin %08lx proc %08lx proc2 %08lx exit %08lx entry %08lx",
	       rd(PIN_BASED_CONTROLS), rd(PROC_BASED_CONTROLS),
	       rd(PROC_BASED_CONTROLS2), rd(EXIT_CONTROLS), rd(ENTRY_CONTROLS));
	pr_err("vmx:   EPTP %016lx entry interruption %08lx", rd(EPT_POINTER),
	       rd(ENTRY_INTR_INFO));
}

static void print_host_state(void)
{
	pr_err("vmx:   host cr0 %lx cr3 %lx cr4 %lx efer %lx pat %lx",
	       rd(HOST_CR0), rd(HOST_CR3), rd(HOST_CR4), rd(HOST_IA32_EFER),
	       rd(HOST_IA32_PAT));
	pr_err("vmx:   host cs %lx ss %lx tr %lx rip %lx rsp %lx gdtr %lx idtr %lx",
	       rd(HOST_CS_SELECTOR), rd(HOST_SS_SELECTOR), rd(HOST_TR_SELECTOR),
	       rd(HOST_RIP), rd(HOST_RSP), rd(HOST_GDTR_BASE), rd(HOST_IDTR_BASE));
}

void vmx_diag_failed_insn(struct vcpu *v, bool launched, int rc)
{
	const char *insn = launched ? "VMRESUME" : "VMLAUNCH";
	uint64_t err;

	if (rc == 2) {
		pr_err("vmx: %s failed with VMfailInvalid: no current VMCS (30.2)", insn);
		return;
	}
	err = rd(VM_INSTRUCTION_ERROR);
	pr_err("vmx: %s failed: VM-instruction error %lu: %s (30.4)", insn, err,
	       err < ARRAY_SIZE(insn_errors) && insn_errors[err] ?
	       insn_errors[err] : "unknown");
	if (err == 7)
		print_controls();
	else if (err == 8)
		print_host_state();
}
