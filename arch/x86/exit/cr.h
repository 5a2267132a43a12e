/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Control registers (cr.c): every rule of CR0, CR3, CR4, XCR0 and the PAE
 * PDPTEs that umbra checks for the guest, whichever MMU mode and back end.
 */
#ifndef UMBRA_X86_EXIT_CR_H
#define UMBRA_X86_EXIT_CR_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vcpu_cr;
struct vcpu_exit;

void handle_cr_write(struct vcpu *v, const struct vcpu_exit *e);
void handle_cr_read(struct vcpu *v, const struct vcpu_exit *e);
void handle_invlpg(struct vcpu *v, const struct vcpu_exit *e);
void handle_xsetbv(struct vcpu *v, const struct vcpu_exit *e);
/* the CR4 bits a guest MOV to CR4 may set */
uint64_t cr4_allowed(struct vcpu *v);
/* PAE paging (CR0.PG, CR4.PAE, not EFER.LMA): the PDPTEs translate */
bool guest_pae_paging(const struct vcpu_cr *c);
/* a change from o to n loads the PDPTEs (SDM Vol 3 4.4.1) */
bool guest_pdptes_load_on(const struct vcpu_cr *o, const struct vcpu_cr *n,
			  bool cr3_load);
/* read them at cr3; check: -1 for one the load refuses (#GP) */
int guest_load_pdptes(uint64_t cr3, uint64_t pdpte[4], bool check);

#endif
