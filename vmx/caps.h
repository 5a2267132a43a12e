/* SPDX-License-Identifier: BSD-2-Clause */
/* What the VMX back end learnt from the capability MSRs; private to vmx/. */
#ifndef UMBRA_VMX_VMX_H
#define UMBRA_VMX_VMX_H

#include <stddef.h>
#include <stdint.h>

struct vmx_caps {
	uint64_t basic;			/* IA32_VMX_BASIC */
	uint64_t ept_vpid;		/* IA32_VMX_EPT_VPID_CAP */
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	/* the controls umbra runs with, adjusted to what the CPU allows */
	uint32_t pin, proc, proc2, exit, entry;
	uint32_t entry_allowed1;	/* for "IA-32e mode guest" */
	int invept_type;		/* INVEPT_SINGLE or INVEPT_ALL */
	int invvpid_type;		/* 0 without VPID */
};

extern struct vmx_caps vmx_caps;

/* 0, or -UMBRA_ENODEV with the reason in why[] */
int vmx_caps_probe(char *why, size_t len);

#endif
