// SPDX-License-Identifier: BSD-2-Clause
/*
 * mmu=shadow: the guest runs without EPT/NPT.  The hardware walks the
 * shadow MMU's tables (mmu/shadow/shadow.h); the guest's CR0/CR3/CR4/EFER live in
 * v->gcr and the back end loads the hardware's own values before each
 * entry (vcpu_ops.set_paging_regs):
 *   CR0: the guest's, with PG and WP set (a paging-off guest runs on the
 *        shadow MMU's direct tables; WP because the shadow MMU makes
 *        supervisor writes to read-only pages fault, shadow.c).  PE stays
 *        the guest's: SVM runs real mode with PG set as paged real mode
 *        (APM Vol 2 15.19).  VMX has no unrestricted guest without EPT:
 *        there the guest's real mode runs on the TDP map instead (below,
 *        "Real mode on the TDP map");
 *   CR3: shadow_root_hpa();
 *   CR4: the guest's with PAE set (PAE-format roots for every mode but
 *        long mode, shadow.c), PGE, PSE, PCIDE and PKE clear (the shadow
 *        tables hold no global entries and no keys), SMEP/SMAP only while
 *        the guest pages;
 *   EFER: the guest's with NXE set (shadow leaves use XD) and LME/LMA as
 *        shadow_root_level() needs (SDM Vol 3 4.1.1, APM Vol 2 5.1).
 * Guest physical memory is host physical memory (identity), except umbra's
 * own ranges (umbra_frame()), which map to one scratch page as under nested
 * paging.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/features.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/emul/emulate.h"
#include "arch/x86/emul/gmem.h"
#include "core/mem.h"
#include "arch/x86/exit/apic.h"
#include "arch/x86/exit/cr.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/paging/tdp.h"
#include "arch/x86/vcpu/smp.h"
#include "arch/x86/vcpu/vcpu.h"
#include "lib/string.h"
#include "mmu/shadow/shadow.h"
#include "mmu/tdp/tdp.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define CPUID_NX	(1u << 20)	/* 8000_0001h EDX */
/* The shadow MMU's memory budget (docs/mmu.md, "Memory"): what is free
 * when the guest starts, less an eighth (at least 32 pages) for the rest of
 * umbra, at most 32 MiB. */
#define SH_BUDGET_MAX	8192u
#define SH_HEADROOM_MIN	32u
#define STEP_GFNS	4		/* frames one stepped write may touch */
#define STEP_OPENS	64		/* writes let through in one step */
#define HARVEST_GFNS	4096u		/* frames per TDP dirty-log harvest */
#define LOW_4G		(1ull << 32)

/* Each vCPU's (v->sh); mmu is the VM's, shared by all. */
struct vm_shadow {
	struct shadow_mmu *mmu;
	struct shadow_vcpu *vc;
	struct vcpu_cr synced;		/* what the shadow MMU was told */
	bool pae;			/* PAE paging: pdpte[] loaded */
	uint64_t pdpte[4];
	struct vcpu_cr hw;		/* loaded into the hardware */
	bool hw_valid;
	uint64_t scratch_pfn;
	unsigned int max_pages;		/* the memory budget, pages */
	/* guest writes to protected tables that umbra does not emulate */
	struct {
		uint64_t rip, addr;	/* last write retried after unprotect */
		bool valid;
	} retry;
	struct {
		bool on;
		bool pushf;		/* the instruction is PUSHF */
		uint64_t rflags;	/* the guest's, before the step */
		uint64_t rip;
		unsigned int nr_gfns, opened;
		uint64_t gfns[STEP_GFNS], addrs[STEP_GFNS];
	} step;
	uint64_t unprotected, stepped;	/* statistics */
	/* real mode on the TDP map (ops->shadow_needs_tdp) */
	bool on_tdp;			/* the next entry runs on it */
	bool tdp_step;			/* stepped until the segments allow */
	uint64_t tdp_switches, tdp_entries, tdp_writes;	/* statistics */
};

static struct vm_shadow vm_sh[MAX_CPUS];
static struct shadow_mmu *vm_mmu;	/* set up by the boot CPU */
static struct vm_shadow *vm_sh0;	/* gfn_to_pfn()'s: VM-wide fields */
static uint64_t tdp_logged;		/* the TDP map logs [0, tdp_logged) */

static int64_t gfn_to_pfn(void *arg, uint64_t gfn)
{
	struct vm_shadow *sh = arg;
	uint64_t apic = apic_trapped_page();	/* 0: none (one vCPU) */

	if (gfn >> (cpu_maxphyaddr() - PAGE_SHIFT))
		return -1;
	if (umbra_frame(gfn))
		return (int64_t)sh->scratch_pfn;
	if (apic && gfn << PAGE_SHIFT == apic)
		return -1;		/* not mapped: its accesses exit (apic.c) */
	return (int64_t)gfn;
}

/*
 * cfg.large_ok: a guest large page over [gfn, gfn + n) may get a 2 MiB
 * SPTE if the range is guest RAM (so identity-mapped, gfn_to_pfn()) with
 * none of it umbra's (the scratch page stands in for those) and not the
 * trapped xAPIC page.  One memory type: guest-physical is host-physical, so
 * the guest's own large page spans the same MTRR ranges as on bare metal
 * (umbra leaves the MTRRs to the guest, exit/msr.c), and its PAT, PCD and
 * PWT are the one large entry's (SDM Vol 3 12.11.9: a large page over
 * several MTRR types is the guest's own business there too).
 */
static bool large_ok(void *arg, uint64_t gfn, uint64_t n)
{
	uint64_t base = gfn << PAGE_SHIFT, size = n << PAGE_SHIFT;
	uint64_t apic = apic_trapped_page();

	if ((gfn + n - 1) >> (cpu_maxphyaddr() - PAGE_SHIFT))
		return false;
	if (apic && apic >= base && apic - base < size)
		return false;
	return !umbra_owns(base, size) && guest_ram(base, size);
}

/* Guest RAM frames are umbra's at the same address (gfn_to_pfn()). */
static const void *guest_frame(void *arg, uint64_t gfn)
{
	return guest_ram(gfn << PAGE_SHIFT, PAGE_SIZE) ?
	       phys_to_virt(gfn << PAGE_SHIFT) : NULL;
}

static void shadow_flush(void *arg)
{
	struct vcpu *v = arg;

	v->ops->flush_tlb(v);
}

/* cfg.kick: another vCPU must flush before it runs on the shadow tables
 * again (arch/x86/vcpu/smp.c) */
static void shadow_kick(void *arg)
{
	vcpu_kick_sync(arg);
}

/* The shadow MMU found no page even after dropping every shadow page: its
 * environment gave it fewer than SHADOW_MIN_PAGES.  The guest cannot go on;
 * umbra can. */
static __attribute__((noreturn)) void out_of_memory(struct vcpu *v,
						    const char *what)
{
	pr_err("shadow MMU: no memory for the guest's shadow page tables (%s), even with every shadow page dropped: %lu pages of umbra's memory free; boot umbra with a larger mem=",
	       what, pages_free());
	vcpu_dump(v, "shadow MMU out of memory");
	vcpu_print_stats(v);
	halt("guest-error");
}

static void check_rc(struct vcpu *v, int rc, const char *what)
{
	if (rc)
		out_of_memory(v, what);
}

/* Tell the shadow MMU what changed in v->gcr since it was last told. */
/* before every entry: four compares, not a byte-wise memcmp() */
static bool cr_same(const struct vcpu_cr *a, const struct vcpu_cr *b)
{
	return !((a->cr0 ^ b->cr0) | (a->cr3 ^ b->cr3) | (a->cr4 ^ b->cr4) |
		 (a->efer ^ b->efer));
}

static void sync_mmu(struct vcpu *v, bool cr3_load)
{
	struct vm_shadow *sh = v->sh;
	struct vcpu_cr c = v->gcr, *old = &sh->synced;
	const uint64_t *pd = NULL;

	if (guest_pae_paging(&c)) {
		/* a state set without a MOV to CR (entry state): load them */
		if (!sh->pae || (c.cr3 != old->cr3 && !cr3_load))
			guest_load_pdptes(c.cr3, sh->pdpte, false);
		pd = sh->pdpte;
	}
	sh->pae = pd != NULL;
	if (c.cr0 != old->cr0 || c.cr4 != old->cr4 || c.efer != old->efer)
		check_rc(v, shadow_set_cr(sh->vc, c.cr0, c.cr4, c.efer, pd),
			 "mode change");
	if (cr3_load)
		v->exit_class = shadow_nr_unsync(sh->mmu) ? EXCL_CR3_SYNC :
							    EXCL_CR3_NOSYNC;
	if (cr3_load || c.cr3 != old->cr3)
		check_rc(v, shadow_load_cr3(sh->vc, c.cr3, pd), "CR3 load");
	*old = c;
}

/*
 * The guest loads new control registers (MOV to CR0/CR3/CR4): checks the
 * PDPTEs when the new state is PAE paging and needs them loaded (SDM Vol 3
 * 4.4.1), then commits n and tells the shadow MMU.  -1: #GP, nothing done.
 */
static int shadow_set_guest_cr(struct vcpu *v, const struct vcpu_cr *o,
			       const struct vcpu_cr *n, int cr)
{
	struct vm_shadow *sh = v->sh;
	bool cr3_load = cr == 3;
	uint64_t pd[4];
	bool load = guest_pdptes_load_on(o, n, cr3_load);

	if (load && guest_load_pdptes(n->cr3, pd, true))
		return -1;
	v->ops->set_reg(v, VCPU_EFER, n->efer);
	v->ops->set_reg(v, VCPU_CR4, n->cr4);
	v->ops->set_reg(v, VCPU_CR3, n->cr3);
	v->ops->set_reg(v, VCPU_CR0, n->cr0);
	if (load) {
		memcpy(sh->pdpte, pd, sizeof(pd));
		sh->pae = true;
	}
	sync_mmu(v, cr3_load);
	return 0;
}

/* The PDPTEs the guest's PAE paging uses now; false outside PAE paging. */
static bool shadow_pdptes(struct vcpu *v, const struct gw_ctx *ctx,
			  uint64_t pdpte[4])
{
	if (!v->sh->pae || !guest_pae_paging(&v->gcr))
		return false;
	memcpy(pdpte, v->sh->pdpte, sizeof(v->sh->pdpte));
	return true;
}

/*
 * Real mode on the TDP map.  A back end without paged real mode
 * (ops->shadow_needs_tdp: VMX, which has no unrestricted guest without
 * EPT, SDM Vol 3 26.3.1.1 and A.7) runs the guest there while its CR0.PE
 * is clear, and after the MOV that sets PE until its segment registers
 * hold what protected mode allows (the far jump and the loads that follow
 * it, SDM Vol 3 26.3.1.2), one instruction at a time (ops->single_step).
 * Real mode has no guest paging to shadow: the guest runs on the VM's
 * guest-physical map (arch/x86/paging/tdp.c, the map of mmu=tdp: umbra's
 * memory on the scratch page, the xAPIC page read-only) with its own
 * CR0/CR3/CR4/EFER in the hardware.  The intercepts stay those of shadow
 * paging, so v->gcr stays the guest's view and the shadow MMU hears of
 * every change (sync_mmu()).  The map logs writes to guest-physical
 * memory below 4 GiB (all that real mode, big real mode and protected
 * mode without paging reach): when a vCPU leaves the map, the frames
 * written through it (by any vCPU) are told to the shadow MMU as
 * writes umbra made for the guest (shadow_emulated_write()), which brings
 * shadow entries made from a guest table there up to date and marks the
 * frame in the shell's dirty log.  Until then another vCPU on the shadow
 * tables may use entries such a write made stale (docs/mmu.md).
 */
static void tdp_harvest(struct vcpu *v)
{
	uint64_t bm[HARVEST_GFNS / 64];

	for (uint64_t gpa = 0; gpa < tdp_logged;
	     gpa += (uint64_t)HARVEST_GFNS << PAGE_SHIFT) {
		uint64_t size = MIN((uint64_t)HARVEST_GFNS << PAGE_SHIFT,
				    tdp_logged - gpa);

		memset(bm, 0, sizeof(bm));
		if (mmu_tdp_dirty_get(v->tdp, gpa, size, bm) <= 0)
			continue;
		for (unsigned int i = 0; i < HARVEST_GFNS; i++) {
			uint64_t a = gpa + ((uint64_t)i << PAGE_SHIFT);

			if (!(bm[i / 64] & (1ull << (i % 64))))
				continue;
			shadow_emulated_write(v->sh->vc, a,
					      guest_frame(NULL, a >> PAGE_SHIFT),
					      PAGE_SIZE);
			v->sh->tdp_writes++;
		}
	}
}

/* The guest-physical addresses below 4 GiB that the map logs: up to the
 * end of the highest RAM there (the guest's memory map). */
static uint64_t low_ram_end(void)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];

		if (m->type != BI_MEM_RESERVED && m->base < LOW_4G)
			end = MAX(end, MIN(m->base + m->size, LOW_4G));
	}
	return ALIGN_UP(end, PAGE_SIZE);
}

/* The vCPU's root in the VM's map; the boot CPU's call builds it. */
static void tdp_map_use(struct vcpu *v)
{
	int err;

	tdp_map_setup(v);
	if (tdp_logged)
		return;
	tdp_logged = low_ram_end();
	err = mmu_tdp_dirty_enable(v->tdp, 0, tdp_logged);
	if (err)
		panic("shadow paging: logging writes through the TDP map failed (%d)",
		      err);
	pr_info("shadow paging: %s runs the guest's real mode on the TDP map, writes below %lx logged",
		v->ops->name, tdp_logged);
}

/*
 * Paging needs the shadow tables, which VM entry would refuse with these
 * segments: a MOV to CR0 that set PG with PE, or before the segments were
 * reloaded.  Not run (KVM emulates such code instead; umbra has no
 * emulator for it).
 */
static __attribute__((noreturn)) void paging_on_tdp(struct vcpu *v)
{
	pr_err("the guest turned paging on (CR0 %lx) with segment registers left from real mode that %s cannot enter without unrestricted guest (SDM Vol 3 26.3.1.2): umbra cannot run this under shadow paging; boot with mmu=tdp",
	       v->gcr.cr0, v->ops->name);
	vcpu_dump(v, "paging with real-mode segments");
	vcpu_print_stats(v);
	halt("guest-error");
}

/* Before an entry: whether it runs on the TDP map, which is then set up. */
static bool enter_tdp_map(struct vcpu *v)
{
	struct vm_shadow *sh = v->sh;
	const struct vcpu_cr *g = &v->gcr;
	bool want = v->ops->shadow_needs_tdp && v->ops->shadow_needs_tdp(v);

	/* not while it runs there: a harvest before every entry would take
	   W away again before the write it faulted for is retried */
	if (sh->on_tdp && !want)
		tdp_harvest(v);
	if (want != sh->on_tdp) {
		/* the flush of 28.4 (SDM Vol 3) is the back end's */
		v->ops->shadow_use_tdp(v, want);
		sh->on_tdp = want;
		sh->hw_valid = false;
		sh->tdp_switches += want;
	}
	/* the step is for the segments after PE was set: not in real mode
	   again (an INIT in between), nor back on the shadow tables */
	if (sh->tdp_step && (!want || !(g->cr0 & CR0_PE))) {
		v->ops->single_step(v, false);
		sh->tdp_step = false;
	}
	if (!want)
		return false;
	if (g->cr0 & CR0_PG)
		paging_on_tdp(v);
	sh->tdp_entries++;
	if (!sh->hw_valid || memcmp(g, &sh->hw, sizeof(*g))) {
		v->ops->set_paging_regs(v, g->cr0, g->cr3, g->cr4, g->efer);
		sh->hw = *g;
		sh->hw_valid = true;
	}
	/* PE set, segments from real mode: back at the first instruction
	   after which VM entry takes them (SDM Vol 3 26.3.1.2) */
	if ((g->cr0 & CR0_PE) && !sh->step.on && !sh->tdp_step) {
		v->ops->single_step(v, true);
		sh->tdp_step = true;
	}
	return true;
}

/* Before every VM entry: the shadow MMU's root and flushes to the CPU. */
static void shadow_enter(struct vcpu *v)
{
	struct vm_shadow *sh = v->sh;
	const struct vcpu_cr *g = &v->gcr;
	struct vcpu_cr hw;
	uint64_t va;
	bool lm;

	sync_mmu(v, false);
	if (enter_tdp_map(v))
		return;
	lm = shadow_root_level(sh->vc) == 4;
	hw.cr0 = g->cr0 | CR0_PG | CR0_WP;
	hw.cr3 = shadow_root_hpa(sh->vc);
	/* PKE and PKS stay the guest's: the 4-level shadow leaves carry its
	   keys, and the PAE tables of other modes have none (SDM Vol 3 4.6.2) */
	hw.cr4 = (g->cr4 & ~(CR4_PSE | CR4_PGE | CR4_PCIDE)) | CR4_PAE;
	if (!(g->cr0 & CR0_PG))
		hw.cr4 &= ~(CR4_SMEP | CR4_SMAP);
	hw.efer = (g->efer & ~(EFER_LME | EFER_LMA)) | EFER_NXE |
		  (lm ? EFER_LME | EFER_LMA : 0);
	/* PAE paging outside long mode: CR3 is 32 bits (SDM Vol 3 4.4.1);
	   PAE roots come from the low pool (mmu_alloc_page_low()) */
	if (!lm && (hw.cr3 >> 32))
		panic("shadow MMU: PAE root %lx above 4 GiB", hw.cr3);
	if (!sh->hw_valid || !cr_same(&hw, &sh->hw)) {
		/* a new root: VM entry does not flush the ASID/VPID's TLB */
		if (!sh->hw_valid || hw.cr3 != sh->hw.cr3)
			v->ops->flush_tlb(v);
		v->ops->set_paging_regs(v, hw.cr0, hw.cr3, hw.cr4, hw.efer);
		sh->hw = hw;
		sh->hw_valid = true;
	}
	if (shadow_flush_pending(sh->vc))
		v->ops->flush_tlb(v);
	else if (shadow_flush_va_pending(sh->vc, &va))
		v->ops->flush_tlb_va ? v->ops->flush_tlb_va(v, va) :
				       v->ops->flush_tlb(v);
}

/* The instruction at RIP is PUSHF (9C after prefixes, SDM Vol 2 PUSHF). */
static bool insn_is_pushf(struct vcpu *v)
{
	struct guest_insn gi;
	struct gmem_fault f;
	unsigned int i;

	if (gmem_fetch(v, gi.bytes, &gi.nbytes, &f))
		return false;
	for (i = 0; i < gi.nbytes; i++) {
		uint8_t b = gi.bytes[i];

		if (b == 0x66 || (b & 0xf0) == 0x40)
			continue;	/* operand size; REX in 64-bit mode */
		return b == 0x9c;
	}
	return false;
}

/* The guest's PKRU and IA32_PKRS for the shadow MMU's walk of a fault:
 * they change without an exit. */
static void give_pkeys(struct vcpu *v)
{
	uint32_t pkru, pkrs;

	if (!(v->gcr.cr4 & (CR4_PKE | CR4_PKS)))
		return;
	cpu_guest_pkeys(v->gcr.cr4, &pkru, &pkrs);
	shadow_set_pkeys(v->sh->vc, pkru, pkrs);
}

/*
 * Let the write at e->pf.addr through for the instruction being stepped:
 * a present leaf first (the fault path installs it read-only for a read),
 * then W in it.
 */
static void step_open(struct vcpu *v, const struct vcpu_exit *e, uint64_t gfn)
{
	struct vm_shadow *sh = v->sh;
	struct shadow_fault f;
	bool ac = v->ops->get_reg(v, VCPU_RFLAGS) & RFLAGS_AC;
	unsigned int i;

	for (i = 0; i < sh->step.nr_gfns && sh->step.gfns[i] != gfn; i++)
		;
	if (i == sh->step.nr_gfns && i < STEP_GFNS) {
		sh->step.addrs[i] = e->pf.addr;
		sh->step.gfns[sh->step.nr_gfns++] = gfn;
	}
	give_pkeys(v);
	if (i < STEP_GFNS && ++sh->step.opened <= STEP_OPENS &&
	    shadow_page_fault(sh->vc, e->pf.addr, e->pf.error_code & ~PFERR_W,
			      ac, &f) == SHADOW_FIXED &&
	    !shadow_allow_write(sh->vc, e->pf.addr,
				e->pf.error_code & PFERR_U))
		return;
	pr_err("guest write to %lx (guest-physical %lx) at rip %lx: cannot let it through (%u frames, %u tries)",
	       e->pf.addr, gfn << PAGE_SHIFT, v->ops->get_reg(v, VCPU_RIP),
	       sh->step.nr_gfns, sh->step.opened);
	vcpu_dump(v, "page-table write");
	vcpu_print_stats(v);
	halt("guest-error");
}

/*
 * A guest write to a write-protected table by an instruction that
 * emulate.c does not do (SSE/MMX/x87 stores, PUSH/CALL/POP to memory,
 * SIDT/SGDT/SLDT/STR, FXSAVE, ...), or an implicit write.  As KVM does
 * (retry_instruction()), the frame is unprotected first, all its shadow
 * pages zapped, and the guest runs the instruction again.  If the same
 * instruction faults on the same address again, the frame was shadowed
 * again at once (it maps the instruction, its stack or the address
 * written): that one instruction then runs single-stepped with the leaf
 * writable (ops->single_step), and shadow_step_done() zaps the frame's
 * shadow pages, whose entries the write may have made stale; the next use
 * of the frame as a table shadows and protects it again.
 */
static void write_by_cpu(struct vcpu *v, const struct vcpu_exit *e,
			 uint64_t gpa)
{
	struct vm_shadow *sh = v->sh;
	uint64_t rip = v->ops->get_reg(v, VCPU_RIP), gfn = gpa >> PAGE_SHIFT;

	if (sh->step.on) {
		step_open(v, e, gfn);	/* another write of the same step */
		return;
	}
	if (!sh->retry.valid || sh->retry.rip != rip ||
	    sh->retry.addr != e->pf.addr) {
		sh->retry.rip = rip;
		sh->retry.addr = e->pf.addr;
		sh->retry.valid = true;
		if (shadow_unprotect_gfn(sh->vc, gfn)) {
			sh->unprotected++;
			return;
		}
	}
	sh->retry.valid = false;
	sh->step.on = true;
	sh->step.rip = rip;
	sh->step.rflags = v->ops->get_reg(v, VCPU_RFLAGS);
	sh->step.pushf = insn_is_pushf(v);
	sh->step.nr_gfns = 0;
	sh->step.opened = 0;
	step_open(v, e, gfn);
	v->ops->single_step(v, true);
}

/* EXIT_SINGLE_STEP: the instruction that wrote a protected table ran. */
static void shadow_step_done(struct vcpu *v)
{
	struct vm_shadow *sh = v->sh;
	struct segment ss;
	uint64_t lin, rsp;
	uint8_t b, want;
	struct gmem_fault f;

	v->ops->single_step(v, false);
	sh->tdp_step = false;
	if (!sh->step.on)
		return;
	sh->step.on = false;
	sh->stepped++;
	/*
	 * A back end that steps with RFLAGS.TF (and IF clear: vmx.c without
	 * the monitor trap flag) had PUSHF push them: the guest's own TF and
	 * IF go back into the image (bits 8 and 9: byte 1; the stack address
	 * as SDM Vol 1 6.2.3 gives it).
	 */
	if (sh->step.pushf && v->ops->get_reg(v, VCPU_RIP) != sh->step.rip) {
		v->ops->get_seg(v, SEG_SS, &ss);
		rsp = v->ops->get_reg(v, VCPU_RSP);
		if (guest_insn_mode(v) != X86_MODE_64)
			rsp &= (ss.attr & (1 << 10)) ? 0xffffffffull : 0xffffull;
		lin = guest_insn_mode(v) == X86_MODE_64 ? rsp :
		      (ss.base + rsp) & 0xffffffffull;
		want = (uint8_t)(sh->step.rflags >> 8) & 3;
		if (!gmem_read(v, lin + 1, &b, 1, 0, &f) && (b & 3) != want) {
			b = (uint8_t)((b & ~3) | want);
			gmem_write(v, lin + 1, &b, 1, &f);
		}
	}
	/*
	 * Then the leaf that let the write through is made again from the
	 * guest's entry, as INVLPG does: it may map a frame that nothing
	 * protects (a CR0.WP=0 write with SMAP, shadow.c) and must not stay
	 * writable and supervisor-only.
	 */
	for (unsigned int i = 0; i < sh->step.nr_gfns; i++) {
		shadow_unprotect_gfn(sh->vc, sh->step.gfns[i]);
		shadow_invlpg(sh->vc, sh->step.addrs[i]);
	}
}

/*
 * The write is the CPU's own, by the delivery of an interrupt or an
 * exception (its pushes onto the handler's stack, SDM Vol 3 6.12.1; APM
 * Vol 2 8.7.3): not the instruction at RIP, which must not be emulated.
 * The frame is unprotected and the delivery made again (the back end
 * injects the event once more, or the INT n at RIP runs again).
 */
static bool delivery_write(const struct vcpu_exit *e)
{
	return e->in_delivery;
}

static void shadow_guest_page_fault(struct vcpu *v, const struct vcpu_exit *e)
{
	struct shadow_fault f;
	bool ac = v->ops->get_reg(v, VCPU_RFLAGS) & RFLAGS_AC;

	give_pkeys(v);
	switch (shadow_page_fault(v->sh->vc, e->pf.addr, e->pf.error_code, ac, &f)) {
	case SHADOW_FIXED:
		v->exit_class = EXCL_PF_FILL;
		return;
	case SHADOW_INJECT:
		v->exit_class = EXCL_PF_REFLECT;
		/* the stepped instruction faults: no step around the delivery */
		if (v->sh->step.on)
			shadow_step_done(v);
		/* SDM Vol 3 6.15 #PF, APM Vol 2 8.4.9: CR2, then the error code */
		v->ops->set_reg(v, VCPU_CR2, f.cr2);
		v->ops->inject_exception(v, X86_TRAP_PF, true, f.error_code);
		return;
	case SHADOW_EMULATE:
		v->exit_class = EXCL_PF_EMULATE;
		if (v->sh->step.on || delivery_write(e) ||
		    emulate_write(v, e->pf.addr))
			write_by_cpu(v, e, f.gpa);
		return;
	case SHADOW_NOT_RAM:
		if (ALIGN_DOWN(f.gpa, PAGE_SIZE) == apic_trapped_page() && f.gpa) {
			apic_mmio_access(v, f.gpa, e->pf.error_code & PFERR_W);
			return;
		}
		pr_err("guest page fault at %lx (error code %x, rip %lx): guest-physical %lx is not RAM (a guest page table in MMIO or umbra's memory?)",
		       e->pf.addr, e->pf.error_code, v->ops->get_reg(v, VCPU_RIP),
		       f.gpa);
		vcpu_dump(v, "shadow page fault");
		vcpu_print_stats(v);
		halt("guest-error");
	case SHADOW_NOMEM:
	default:
		out_of_memory(v, "page fault");
	}
}

static void shadow_guest_invlpg(struct vcpu *v, uint64_t gva)
{
	shadow_invlpg(v->sh->vc, gva);
}

/* umbra wrote guest-physical [gpa, gpa + size) on the guest's behalf. */
static void shadow_wrote(struct vcpu *v, uint64_t gpa, const void *bytes,
			 unsigned int size)
{
	shadow_emulated_write(v->sh->vc, gpa, bytes, size);
}

/* The VM's shadow MMU, once (the boot CPU's vCPU comes first). */
static void shadow_setup_vm(struct vm_shadow *sh)
{
	void *scratch = guest_scratch_page();	/* gmem.c's: one for all */
	size_t free = pages_free();
	size_t budget = free - MAX(free / 8, SH_HEADROOM_MIN);
	struct shadow_config cfg = {
		.oos = opts.oos,
		.maxphyaddr = cpu_maxphyaddr(),
		.gbpages = cpu_gbpages(),
		.gfn_to_pfn = gfn_to_pfn,
		.large_ok = large_ok,
		.frame = guest_frame,
		.pfn_arg = sh,
		.mem = &guest_phys_ops,
		.flush = shadow_flush,
		.kick = shadow_kick,
	};
	int err;

	/* shadow leaves use XD for the guest's NX (SDM Vol 3 4.5) */
	if (!(cpuid(0x80000001).edx & CPUID_NX))
		panic("shadow paging needs NX (CPUID 8000_0001h EDX[20])");
	sh->scratch_pfn = virt_to_phys(scratch) >> PAGE_SHIFT;
	if (free < SHADOW_MIN_PAGES + SH_HEADROOM_MIN) {
		pr_err("shadow paging needs at least %u pages of umbra's memory, %lu are free: boot umbra with a larger mem=",
		       SHADOW_MIN_PAGES + SH_HEADROOM_MIN, free);
		halt("no-memory");
	}
	cfg.max_pages = (unsigned int)MAX(MIN(budget, SH_BUDGET_MAX),
					  SHADOW_MIN_PAGES);
	sh->max_pages = cfg.max_pages;
	err = shadow_init(&vm_mmu, &cfg);
	if (err)
		panic("shadow MMU set-up failed (%d)", err);
	vm_sh0 = sh;
	pr_info("shadow paging: out-of-sync pages %s, memory budget %u pages (%u KiB), MAXPHYADDR %u",
		opts.oos ? "on" : "off", cfg.max_pages, cfg.max_pages * 4,
		cfg.maxphyaddr);
}

/* v's part of it: the vCPU's roots, from its reset state. */
static void shadow_setup(struct vcpu *v)
{
	struct vm_shadow *sh = &vm_sh[v->cpu];
	struct shadow_cpu st;
	int err;

	if (!v->ops->shadow_real_mode && !v->ops->shadow_needs_tdp)
		panic("%s: shadow paging cannot run the guest's real mode", v->ops->name);
	if (v->ops->shadow_needs_tdp)
		tdp_map_use(v);	/* before the budget: its log's pages */
	if (!vm_mmu)
		shadow_setup_vm(sh);
	sh->mmu = vm_mmu;
	sh->scratch_pfn = vm_sh0->scratch_pfn;
	sh->max_pages = vm_sh0->max_pages;
	v->sh = sh;
	/* v->gcr: the back end's reset values (get_reg/set_reg use it) */
	sh->synced = v->gcr;
	st = (struct shadow_cpu){ v->gcr.cr0, v->gcr.cr3, v->gcr.cr4, v->gcr.efer };
	err = shadow_vcpu_add(vm_mmu, &st, v, &sh->vc);
	if (err)
		panic("cpu %u: shadow MMU vCPU set-up failed (%d)", v->cpu, err);
}

static void shadow_print_stats(struct vcpu *v)
{
	struct shadow_stats s;

	shadow_get_stats(v->sh->mmu, &s);
	pr_info("  shadow: %lu pages (%lu direct), %lu unsync now (%lu made unsync), %lu global",
		s.pages, s.direct_pages, s.unsync, s.mmu_unsync, s.global);
	pr_info("  shadow: syncs cr3/invlpg/flush/link %lu/%lu/%lu/%lu (entries unchanged %lu), invlpg %lu, flushes %lu (of the other vCPUs %lu)",
		s.sync_cr3, s.sync_invlpg, s.sync_flush, s.sync_link,
		s.sync_skipped, s.invlpg, s.flushes, s.remote_flushes);
	pr_info("  shadow: faults %lu: fixed %lu, injected %lu, emulated %lu; write-protect faults %lu, pte writes %lu (updated %lu), flooded %lu",
		s.faults, s.faults_fixed, s.faults_injected, s.faults_emulated,
		s.wp_faults, s.mmu_pte_write, s.mmu_pte_updated, s.mmu_flooded);
	pr_info("  shadow: pages created %lu, zapped %lu, recycled %lu; roots hit %lu, missed %lu",
		s.mmu_cache_miss, s.mmu_shadow_zapped, s.mmu_recycled,
		s.root_hits, s.root_misses);
	pr_info("  shadow: memory %lu of %lu pages in use, at most %lu; %lu allocations refused, %lu zap-alls",
		s.mem_pages, s.mem_budget, s.mem_pages_max, s.alloc_failed,
		s.mmu_zap_all);
	pr_info("  shadow: writes not emulated: unprotected and retried %lu, single-stepped %lu",
		v->sh->unprotected, v->sh->stepped);
	if (v->tdp)
		pr_info("  shadow: real mode on the TDP map: %lu times, %lu entries, %lu frames written there",
			v->sh->tdp_switches, v->sh->tdp_entries, v->sh->tdp_writes);
	pr_info("  shadow: 2 MiB leaves: %lu mapped by faults, %lu recovered, %lu dropped for a table or the log",
		s.large_mapped, s.large_recovered, s.large_zapped);
}

/* The shadow root the hardware uses, 4 or 3 (PAE) levels */
static void shadow_root(struct vcpu *v, uint64_t *root_hpa, int *levels)
{
	*root_hpa = shadow_root_hpa(v->sh->vc);
	*levels = shadow_root_level(v->sh->vc);
}

/* The debug shell's `mmu`: shadow pages by role. */
static void shadow_print_pages(struct vcpu *v)
{
	struct shadow_stats s;

	shadow_get_stats(v->sh->mmu, &s);
	pr_info("shadow: %lu pages in use; memory %lu of a budget of %lu pages (at most %lu); out-of-sync pages %s",
		s.pages, s.mem_pages, s.mem_budget, s.mem_pages_max,
		opts.oos ? "on" : "off");
	pr_info("shadow: by level 4/3/2/1: %lu/%lu/%lu/%lu; direct (guest large pages, paging off) %lu",
		s.pages_by_level[4], s.pages_by_level[3], s.pages_by_level[2],
		s.pages_by_level[1], s.direct_pages);
	pr_info("shadow: unsync now %lu (%lu made unsync in all), global %lu",
		s.unsync, s.mmu_unsync, s.global);
	pr_info("shadow: created %lu, zapped %lu, recycled %lu; root cache hits %lu, misses %lu",
		s.mmu_cache_miss, s.mmu_shadow_zapped, s.mmu_recycled,
		s.root_hits, s.root_misses);
	pr_info("shadow: dirty log: %lu marks, %lu fast-path fixes, harvests by rmap %lu, by walk %lu",
		s.dirty_marks, s.fast_fixes, s.reprotect_rmap, s.reprotect_walk);
	pr_info("shadow: 2 MiB leaves: %lu mapped by faults, %lu recovered, %lu dropped for a table or the log",
		s.large_mapped, s.large_recovered, s.large_zapped);
}

static long shadow_dirty(struct vcpu *v, enum guest_dirty_op op,
			 uint64_t gpa, uint64_t size, uint64_t *bitmap)
{
	if (op == DIRTY_START)
		return shadow_dirty_enable(v->sh->mmu, gpa, size);
	if (op == DIRTY_GET)
		return shadow_dirty_get(v->sh->mmu, gpa, size, bitmap);
	shadow_dirty_disable(v->sh->mmu);
	return 0;
}

const struct guest_mmu shadow_guest_mmu = {
	.name = "shadow",
	.nested = false,
	.setup = shadow_setup,
	.enter = shadow_enter,
	.tdp_fault = tdp_map_fault,	/* real mode on the TDP map */
	.page_fault = shadow_guest_page_fault,
	.step_done = shadow_step_done,
	.set_cr = shadow_set_guest_cr,
	.invlpg = shadow_guest_invlpg,
	.pdptes = shadow_pdptes,
	.wrote = shadow_wrote,
	.root = shadow_root,
	.print_stats = shadow_print_stats,
	.print_pages = shadow_print_pages,
	.dirty = shadow_dirty,
};
