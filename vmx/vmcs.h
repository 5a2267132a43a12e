/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * VMCS field encodings (SDM Vol 3 Appendix B), control bits (SDM Vol 3
 * 24.6-24.8), capability MSRs (Appendix A), exit reasons (Appendix C) and
 * the VMREAD/VMWRITE primitives.  Private to vmx/.
 */
#ifndef UMBRA_VMX_VMCS_H
#define UMBRA_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

/* Capability MSRs, SDM Vol 3 Appendix A */
#define MSR_VMX_BASIC			0x480
#define MSR_VMX_PINBASED_CTLS		0x481
#define MSR_VMX_PROCBASED_CTLS		0x482
#define MSR_VMX_EXIT_CTLS		0x483
#define MSR_VMX_ENTRY_CTLS		0x484
#define MSR_VMX_MISC			0x485
#define MSR_VMX_CR0_FIXED0		0x486
#define MSR_VMX_CR0_FIXED1		0x487
#define MSR_VMX_CR4_FIXED0		0x488
#define MSR_VMX_CR4_FIXED1		0x489
#define MSR_VMX_PROCBASED_CTLS2		0x48b
#define MSR_VMX_EPT_VPID_CAP		0x48c
#define MSR_VMX_TRUE_PINBASED_CTLS	0x48d
#define MSR_VMX_TRUE_PROCBASED_CTLS	0x48e
#define MSR_VMX_TRUE_EXIT_CTLS		0x48f
#define MSR_VMX_TRUE_ENTRY_CTLS		0x490
#define MSR_IA32_PAT			0x277
#define MSR_IA32_DEBUGCTL		0x1d9

/* IA32_FEATURE_CONTROL, SDM Vol 3 23.7 */
#define FEATURE_CONTROL_LOCK		(1ull << 0)
#define FEATURE_CONTROL_VMX_SMX		(1ull << 1)
#define FEATURE_CONTROL_VMX		(1ull << 2)

/* IA32_VMX_BASIC, SDM Vol 3 A.1 */
#define VMX_BASIC_REVISION(b)		((uint32_t)(b) & 0x7fffffff)
#define VMX_BASIC_SIZE(b)		(((b) >> 32) & 0x1fff)
#define VMX_BASIC_32BIT_PA		(1ull << 48)
#define VMX_BASIC_MEMTYPE(b)		(((b) >> 50) & 0xf)
#define VMX_BASIC_TRUE_CTLS		(1ull << 55)

/* IA32_VMX_EPT_VPID_CAP, SDM Vol 3 A.10 */
#define EPT_CAP_WALK4			(1ull << 6)
#define EPT_CAP_WB			(1ull << 14)
#define EPT_CAP_2M			(1ull << 16)
#define EPT_CAP_1G			(1ull << 17)
#define EPT_CAP_INVEPT			(1ull << 20)
#define EPT_CAP_AD			(1ull << 21)
#define EPT_CAP_INVEPT_SINGLE		(1ull << 25)
#define EPT_CAP_INVEPT_ALL		(1ull << 26)
#define VPID_CAP_INVVPID		(1ull << 32)
#define VPID_CAP_INVVPID_SINGLE		(1ull << 41)
#define VPID_CAP_INVVPID_ALL		(1ull << 42)

#define INVEPT_SINGLE			1
#define INVEPT_ALL			2
#define INVVPID_SINGLE			1
#define INVVPID_ALL			2

/* Pin-based controls, SDM Vol 3 24.6.1, Table 24-5 */
#define PIN_EXT_INTR_EXITING		(1u << 0)
#define PIN_NMI_EXITING			(1u << 3)
#define PIN_VIRTUAL_NMIS		(1u << 5)
#define PIN_PREEMPTION_TIMER		(1u << 6)
#define PIN_DEFAULT1			0x00000016u	/* A.3.1 */

/* Primary processor-based controls, SDM Vol 3 24.6.2, Table 24-6 */
#define PROC_HLT_EXITING		(1u << 7)
#define PROC_INVLPG_EXITING		(1u << 9)
#define PROC_CR3_LOAD_EXITING		(1u << 15)
#define PROC_CR3_STORE_EXITING		(1u << 16)
#define PROC_NMI_WINDOW_EXITING		(1u << 22)
#define PROC_MOV_DR_EXITING		(1u << 23)
#define PROC_USE_IO_BITMAPS		(1u << 25)
#define PROC_MONITOR_TRAP_FLAG		(1u << 27)
#define PROC_USE_MSR_BITMAPS		(1u << 28)
#define PROC_SECONDARY			(1u << 31)
#define PROC_DEFAULT1			0x0401e172u	/* A.3.2 */

/* Secondary processor-based controls, SDM Vol 3 24.6.2, Table 24-7 */
#define PROC2_ENABLE_EPT		(1u << 1)
#define PROC2_ENABLE_RDTSCP		(1u << 3)
#define PROC2_ENABLE_VPID		(1u << 5)
#define PROC2_UNRESTRICTED_GUEST	(1u << 7)
#define PROC2_ENABLE_INVPCID		(1u << 12)
#define PROC2_ENABLE_XSAVES		(1u << 20)

/* VM-exit controls, SDM Vol 3 24.7.1, Table 24-13 */
#define EXIT_SAVE_DEBUG_CTLS		(1u << 2)
#define EXIT_HOST_ADDR_SPACE_SIZE	(1u << 9)
#define EXIT_SAVE_PAT			(1u << 18)
#define EXIT_LOAD_PAT			(1u << 19)
#define EXIT_SAVE_EFER			(1u << 20)
#define EXIT_LOAD_EFER			(1u << 21)
#define EXIT_DEFAULT1			0x00036dffu	/* A.4 */

/* VM-entry controls, SDM Vol 3 24.8.1, Table 24-15 */
#define ENTRY_LOAD_DEBUG_CTLS		(1u << 2)
#define ENTRY_IA32E_MODE		(1u << 9)
#define ENTRY_LOAD_PAT			(1u << 14)
#define ENTRY_LOAD_EFER			(1u << 15)
#define ENTRY_DEFAULT1			0x000011ffu	/* A.5 */

/* Event injection and IDT-vectoring information, SDM Vol 3 24.8.3, 24.9.3 */
#define INTR_INFO_VALID			(1u << 31)
#define INTR_INFO_DELIVER_CODE		(1u << 11)
#define INTR_INFO_NMI_UNBLOCK		(1u << 12)
#define INTR_INFO_TYPE(i)		(((i) >> 8) & 7)
#define INTR_TYPE_EXT_INTR		0
#define INTR_TYPE_NMI			2
#define INTR_TYPE_HW_EXC		3
#define INTR_TYPE_SW_INTR		4
#define INTR_TYPE_PRIV_SW_EXC		5
#define INTR_TYPE_SW_EXC		6

/* Guest interruptibility state, SDM Vol 3 24.4.2, Table 24-3 */
#define INTERRUPTIBILITY_STI		(1u << 0)
#define INTERRUPTIBILITY_MOV_SS		(1u << 1)
#define INTERRUPTIBILITY_NMI		(1u << 3)

/* Segment access rights, SDM Vol 3 24.4.1, Table 24-2 */
#define AR_UNUSABLE			(1u << 16)

enum vmcs_field {
	/* 16-bit */
	VPID				= 0x0000,
	GUEST_ES_SELECTOR		= 0x0800,
	GUEST_TR_SELECTOR		= 0x080e,
	HOST_ES_SELECTOR		= 0x0c00,
	HOST_CS_SELECTOR		= 0x0c02,
	HOST_SS_SELECTOR		= 0x0c04,
	HOST_DS_SELECTOR		= 0x0c06,
	HOST_FS_SELECTOR		= 0x0c08,
	HOST_GS_SELECTOR		= 0x0c0a,
	HOST_TR_SELECTOR		= 0x0c0c,
	/* 64-bit */
	IO_BITMAP_A			= 0x2000,
	IO_BITMAP_B			= 0x2002,
	MSR_BITMAP			= 0x2004,
	EPT_POINTER			= 0x201a,
	GUEST_PHYSICAL_ADDRESS		= 0x2400,
	VMCS_LINK_POINTER		= 0x2800,
	GUEST_IA32_DEBUGCTL		= 0x2802,
	GUEST_IA32_PAT			= 0x2804,
	GUEST_IA32_EFER			= 0x2806,
	GUEST_PDPTE0			= 0x280a,
	HOST_IA32_PAT			= 0x2c00,
	HOST_IA32_EFER			= 0x2c02,
	/* 32-bit */
	PIN_BASED_CONTROLS		= 0x4000,
	PREEMPTION_TIMER_VALUE		= 0x482e,
	PROC_BASED_CONTROLS		= 0x4002,
	EXCEPTION_BITMAP		= 0x4004,
	PF_ERROR_CODE_MASK		= 0x4006,
	PF_ERROR_CODE_MATCH		= 0x4008,
	CR3_TARGET_COUNT		= 0x400a,
	EXIT_CONTROLS			= 0x400c,
	EXIT_MSR_STORE_COUNT		= 0x400e,
	EXIT_MSR_LOAD_COUNT		= 0x4010,
	ENTRY_CONTROLS			= 0x4012,
	ENTRY_MSR_LOAD_COUNT		= 0x4014,
	ENTRY_INTR_INFO			= 0x4016,
	ENTRY_EXCEPTION_ERROR_CODE	= 0x4018,
	ENTRY_INSN_LEN			= 0x401a,
	PROC_BASED_CONTROLS2		= 0x401e,
	VM_INSTRUCTION_ERROR		= 0x4400,
	EXIT_REASON			= 0x4402,
	EXIT_INTR_INFO			= 0x4404,
	EXIT_INTR_ERROR_CODE		= 0x4406,
	IDT_VECTORING_INFO		= 0x4408,
	IDT_VECTORING_ERROR_CODE	= 0x440a,
	EXIT_INSN_LEN			= 0x440c,
	GUEST_ES_LIMIT			= 0x4800,
	GUEST_GDTR_LIMIT		= 0x4810,
	GUEST_IDTR_LIMIT		= 0x4812,
	GUEST_ES_AR			= 0x4814,
	GUEST_INTERRUPTIBILITY		= 0x4824,
	GUEST_ACTIVITY_STATE		= 0x4826,
	GUEST_SYSENTER_CS		= 0x482a,
	HOST_SYSENTER_CS		= 0x4c00,
	/* natural width */
	CR0_GUEST_HOST_MASK		= 0x6000,
	CR4_GUEST_HOST_MASK		= 0x6002,
	CR0_READ_SHADOW			= 0x6004,
	CR4_READ_SHADOW			= 0x6006,
	EXIT_QUALIFICATION		= 0x6400,
	GUEST_LINEAR_ADDRESS		= 0x640a,
	GUEST_CR0			= 0x6800,
	GUEST_CR3			= 0x6802,
	GUEST_CR4			= 0x6804,
	GUEST_ES_BASE			= 0x6806,
	GUEST_GDTR_BASE			= 0x6816,
	GUEST_IDTR_BASE			= 0x6818,
	GUEST_DR7			= 0x681a,
	GUEST_RSP			= 0x681c,
	GUEST_RIP			= 0x681e,
	GUEST_RFLAGS			= 0x6820,
	GUEST_PENDING_DBG		= 0x6822,
	GUEST_SYSENTER_ESP		= 0x6824,
	GUEST_SYSENTER_EIP		= 0x6826,
	HOST_CR0			= 0x6c00,
	HOST_CR3			= 0x6c02,
	HOST_CR4			= 0x6c04,
	HOST_FS_BASE			= 0x6c06,
	HOST_GS_BASE			= 0x6c08,
	HOST_TR_BASE			= 0x6c0a,
	HOST_GDTR_BASE			= 0x6c0c,
	HOST_IDTR_BASE			= 0x6c0e,
	HOST_SYSENTER_ESP		= 0x6c10,
	HOST_SYSENTER_EIP		= 0x6c12,
	HOST_RSP			= 0x6c14,
	HOST_RIP			= 0x6c16,
};

/* ES..GS, LDTR, TR follow each other two encodings apart (Appendix B). */
#define GUEST_SEG_FIELD(first, seg)	((first) + 2 * (seg))

/* Basic exit reasons, SDM Vol 3 Appendix C */
enum vmx_exit {
	VMX_EXIT_EXCEPTION_NMI		= 0,
	VMX_EXIT_EXT_INTR		= 1,
	VMX_EXIT_TRIPLE_FAULT		= 2,
	VMX_EXIT_INIT			= 3,
	VMX_EXIT_SIPI			= 4,
	VMX_EXIT_NMI_WINDOW		= 8,
	VMX_EXIT_TASK_SWITCH		= 9,
	VMX_EXIT_CPUID			= 10,
	VMX_EXIT_GETSEC			= 11,
	VMX_EXIT_HLT			= 12,
	VMX_EXIT_INVD			= 13,
	VMX_EXIT_INVLPG			= 14,
	VMX_EXIT_VMCALL			= 18,
	VMX_EXIT_VMCLEAR		= 19,
	VMX_EXIT_VMLAUNCH		= 20,
	VMX_EXIT_VMPTRLD		= 21,
	VMX_EXIT_VMPTRST		= 22,
	VMX_EXIT_VMREAD			= 23,
	VMX_EXIT_VMRESUME		= 24,
	VMX_EXIT_VMWRITE		= 25,
	VMX_EXIT_VMXOFF			= 26,
	VMX_EXIT_VMXON			= 27,
	VMX_EXIT_CR_ACCESS		= 28,
	VMX_EXIT_DR_ACCESS		= 29,
	VMX_EXIT_IO			= 30,
	VMX_EXIT_RDMSR			= 31,
	VMX_EXIT_WRMSR			= 32,
	VMX_EXIT_INVALID_GUEST_STATE	= 33,
	VMX_EXIT_MSR_LOADING		= 34,
	VMX_EXIT_MTF			= 37,
	VMX_EXIT_MACHINE_CHECK		= 41,
	VMX_EXIT_EPT_VIOLATION		= 48,
	VMX_EXIT_PREEMPTION_TIMER	= 52,
	VMX_EXIT_EPT_MISCONFIG		= 49,
	VMX_EXIT_INVEPT			= 50,
	VMX_EXIT_INVVPID		= 53,
	VMX_EXIT_WBINVD			= 54,
	VMX_EXIT_XSETBV			= 55,
	VMX_EXIT_VMFUNC			= 59,
};

#define VMX_EXIT_REASON_BASIC(r)	((r) & 0xffff)
#define VMX_EXIT_REASON_FAILED_ENTRY	(1u << 31)

void vmcs_failed(const char *op, uint32_t field);

static inline uint64_t vmcs_read(uint32_t field)
{
	uint64_t val;
	bool fail;

	__asm__ volatile("vmread %2, %0"
			 : "=rm"(val), "=@ccbe"(fail)
			 : "r"((uint64_t)field)
			 : "cc");
	if (fail)
		vmcs_failed("vmread", field);
	return val;
}

static inline void vmcs_write(uint32_t field, uint64_t val)
{
	bool fail;

	__asm__ volatile("vmwrite %1, %2"
			 : "=@ccbe"(fail)
			 : "rm"(val), "r"((uint64_t)field)
			 : "cc", "memory");
	if (fail)
		vmcs_failed("vmwrite", field);
}

#endif
