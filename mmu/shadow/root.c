// SPDX-License-Identifier: BSD-2-Clause
/*
 * The shadow MMU's roots (docs/mmu.md, part 2): the root for the guest's
 * CR3 and paging mode, the role new pages get from the control registers,
 * PAE roots with their four PDPTEs (SDM Vol 3 4.4.1, Table 4-8), and the
 * cache of recent roots.
 */
#include "mmu/shadow/internal.h"

static uint64_t root_key(const struct shadow_mmu *s)
{
	struct shadow_vcpu *vc = s->cur;

	switch (vc->mode) {
	case GW_MODE_LM:
		return vc->cpu.cr3 & addr_mask(s);
	case GW_MODE_PAE:
		return vc->cpu.cr3 & 0xffffffe0ull;
	case GW_MODE_32:
		return vc->cpu.cr3 & 0xfffff000ull;
	default:
		return 0;
	}
}

void compute_base_role(struct shadow_mmu *s)
{
	struct shadow_vcpu *vc = s->cur;
	union shadow_role r = { .word = 0 };

	vc->mode = gw_mode(&(struct gw_ctx){ .cr0 = vc->cpu.cr0,
					    .cr4 = vc->cpu.cr4,
					    .efer = vc->cpu.efer });
	r.mode = vc->mode;
	r.access = SH_ACC_ALL;
	if (vc->mode != GW_MODE_OFF) {
		r.wp = !!(vc->cpu.cr0 & GW_CR0_WP);
		r.nxe = vc->mode != GW_MODE_32 && (vc->cpu.efer & GW_EFER_NXE);
		r.smep_nowp = !r.wp && (vc->cpu.cr4 & GW_CR4_SMEP);
		r.smap_nowp = !r.wp && (vc->cpu.cr4 & GW_CR4_SMAP);
		r.pse = vc->mode == GW_MODE_32 && (vc->cpu.cr4 & GW_CR4_PSE);
	}
	vc->base_role = r;
}

/* PAE root entry i: what it must link to (false: nothing). */
static bool pae_root_child(struct shadow_mmu *s, unsigned int i,
			   uint64_t *gfn, union shadow_role *role)
{
	struct shadow_vcpu *vc = s->cur;
	union shadow_role r = vc->base_role;

	r.level = 2;
	switch (vc->mode) {
	case GW_MODE_OFF:
		r.direct = 1;
		*gfn = (uint64_t)i << 18;
		break;
	case GW_MODE_32:
		r.quadrant = i;
		*gfn = (vc->cpu.cr3 & 0xfffff000ull) >> 12;
		break;
	default:
		/* SDM Vol 3 Table 4-8: bits 2:1, 8:5 and 63:MAXPHYADDR are
		 * reserved; such a PDPTE gets no link and every access under
		 * it faults to the walker, which reports RSVD. */
		if (!(vc->pdpte[i] & PTE_P) ||
		    (vc->pdpte[i] & (0x1e6ull | ~((1ull << s->cfg.maxphyaddr) -
						 1))))
			return false;
		*gfn = (vc->pdpte[i] & addr_mask(s)) >> 12;
		break;
	}
	*role = r;
	return true;
}

static void set_pae_root(struct shadow_mmu *s, struct shadow_page *root)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		union shadow_role r;
		uint64_t gfn;
		bool want = pae_root_child(s, i, &gfn, &r);
		struct shadow_page *child;

		if (spte_present(root->spt[i])) {
			child = sp_by_pa(s, root->spt[i]);
			if (want && child->gfn == gfn &&
			    child->role.word == r.word) {
				touch(s, child);
				continue;
			}
			drop_spte(s, root, i);
		}
		if (!want)
			continue;
		child = get_page(s, gfn, r);
		if (child)	/* else absent: faults link it */
			link_child(s, root, i, child);
	}
}

static void purge_invalid_roots(struct shadow_mmu *s)
{
	struct shadow_vcpu *vc = s->cur;
	int k, j = 0;

	for (k = 0; k < SH_ROOTS; k++) {
		struct root_slot slot = vc->roots[k];

		vc->roots[k].sp = NULL;
		if (slot.sp && slot.sp->invalid)
			unpin(s, slot.sp);
		else if (slot.sp)
			vc->roots[j++] = slot;
	}
}

/*
 * Make s->cur->root the root for the current CR3 and mode (cache first).  Fails
 * only when the budget has no page for a new root; a PAE root's link that
 * finds no room stays absent (an access through it faults and links it).
 */
int load_root(struct shadow_mmu *s)
{
	struct shadow_vcpu *vc = s->cur;
	union shadow_role r = vc->base_role;
	uint64_t key = root_key(s);
	struct root_slot slot = { 0 };
	int k;

	make_room(s, SH_FAULT_PAGES);
	purge_invalid_roots(s);
	r.level = root_level(vc);
	r.direct = vc->mode == GW_MODE_OFF;
	r.pae_root = vc->mode != GW_MODE_LM;
	for (k = 0; k < SH_ROOTS; k++) {
		if (vc->roots[k].sp && vc->roots[k].key == key &&
		    vc->roots[k].sp->role.word == r.word) {
			slot = vc->roots[k];
			break;
		}
	}
	if (slot.sp) {
		s->st.root_hits++;
		for (; k > 0; k--)
			vc->roots[k] = vc->roots[k - 1];
		touch(s, slot.sp);
	} else {
		s->st.root_misses++;
		slot.key = key;
		slot.sp = r.pae_root ? sp_alloc(s, key >> 12, r) :
				       get_page(s, key >> 12, r);
		if (!slot.sp)
			return -MMU_ENOMEM;
		slot.sp->root_key = key;
		slot.sp->root_count++;
		if (vc->roots[SH_ROOTS - 1].sp) {
			struct shadow_page *old = vc->roots[SH_ROOTS - 1].sp;

			vc->roots[SH_ROOTS - 1].sp = NULL;
			unpin(s, old);
		}
		for (k = SH_ROOTS - 1; k > 0; k--)
			vc->roots[k] = vc->roots[k - 1];
	}
	vc->roots[0] = slot;
	vc->root = slot.sp;
	if (r.pae_root)
		set_pae_root(s, vc->root);
	return 0;
}

/*
 * load_root(), and if even that finds no room, zap everything and load
 * again.  The second load cannot fail: the old root's page and page struct
 * are free by then (purge_invalid_roots()), and so is nearly all the rest.
 */
int reload_root(struct shadow_mmu *s)
{
	if (!load_root(s))
		return 0;
	zap_all(s);
	return load_root(s);
}

/* After anything that may have zapped a root in use. */
