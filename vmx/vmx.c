// SPDX-License-Identifier: BSD-2-Clause
/* The Intel VMX back end: not written yet (issue 6). */
#include "arch/x86/vcpu.h"
#include "lib/printf.h"

static int vmx_probe(char *why, size_t len)
{
	snprintf(why, len, "the VMX back end is not written yet");
	return -1;
}

const struct vcpu_ops vmx_ops = {
	.name = "vmx",
	.tdp_is_ept = true,
	.probe = vmx_probe,
};
