/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef UMBRA_X86_LOAD_H
#define UMBRA_X86_LOAD_H

#include <stdint.h>
#include "umbra/bootinfo.h"

struct vcpu;

/* The state a boot protocol asks for at the guest's first instruction. */
struct guest_boot {
	uint64_t entry;
	uint32_t eax, ebx;	/* multiboot: magic and information */
	uint32_t gdt;		/* guest-physical: null, code 0x08, data 0x10 */
};

/* 0, or -1 after saying what is wrong with which file */
int guest_load(struct boot_info *bi, struct guest_boot *boot);
void guest_set_entry_state(struct vcpu *v, const struct guest_boot *boot);

#endif
