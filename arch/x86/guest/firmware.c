// SPDX-License-Identifier: BSD-2-Clause
/*
 * guest=firmware: the guest is the UEFI firmware that started umbra.efi,
 * resumed in the state boot/efi/takeover.asm captured (long mode, the
 * firmware's page tables, GDT and IDT, its interrupt flag): its first
 * instruction is the one after umbra.efi's call of the core.  Nothing is
 * loaded, nothing is cleared: every byte of RAM but umbra's is the
 * firmware's and stays as it was.
 */
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/cpu/regs.h"
#include "arch/x86/exit/cr.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/guest/load.h"
#include "arch/x86/vcpu/vcpu.h"
#include "core/mem.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

static struct bi_cpu_state fw;

/* What VM entry itself would refuse, said in the firmware's words. */
static int check_state(void)
{
	if (!(fw.efer & EFER_LMA) || !(fw.cr0 & CR0_PG) || !(fw.cr4 & CR4_PAE)) {
		pr_err("guest=firmware: the firmware is not in long mode (CR0 %lx CR4 %lx EFER %lx): UEFI x86-64 runs in long mode (UEFI 2.10 2.3.4)",
		       fw.cr0, fw.cr4, fw.efer);
		return -UMBRA_EINVAL;
	}
	/* it may be runtime-services data: reserved, but the firmware's */
	if (umbra_owns(fw.gdt_base, fw.gdt_limit + 1ull) || fw.gdt_base >= SZ_4G) {
		pr_err("guest=firmware: the firmware's GDT %lx+%x is in umbra's memory or above 4 GiB",
		       fw.gdt_base, fw.gdt_limit);
		return -UMBRA_EINVAL;
	}
	return 0;
}

int firmware_load(const struct boot_info *bi, struct guest_boot *boot)
{
	if (!bi->fw_state) {
		pr_err("guest=firmware: only umbra.efi can hand a running UEFI firmware over (docs/efi.md); GRUB has ended boot services");
		return -UMBRA_EINVAL;
	}
	if (!guest_ram(bi->fw_state, sizeof(fw))) {
		pr_err("guest=firmware: the captured state at %lx is not in guest RAM",
		       bi->fw_state);
		return -UMBRA_EINVAL;
	}
	memcpy(&fw, phys_to_virt(bi->fw_state), sizeof(fw));
	boot->mode = ENTRY_FIRMWARE;
	boot->entry = fw.rip;
	pr_info("guest: the UEFI firmware, resumed at %lx (CR3 %lx, RSP %lx, interrupts %s)",
		fw.rip, fw.cr3, fw.rsp, fw.rflags & RFLAGS_IF ? "on" : "off");
	pr_debug("guest=firmware: CR0 %lx CR4 %lx EFER %lx PAT %lx FS/GS/KGS base %lx/%lx/%lx GDT %lx+%x IDT %lx+%x CS %x SS %x DS %x TR %x LDTR %x",
		 fw.cr0, fw.cr4, fw.efer, fw.pat, fw.fs_base, fw.gs_base,
		 fw.kernel_gs_base, fw.gdt_base, fw.gdt_limit, fw.idt_base,
		 fw.idt_limit, fw.sel[SEG_CS], fw.sel[SEG_SS], fw.sel[SEG_DS],
		 fw.sel[SEG_TR], fw.sel[SEG_LDTR]);
	return check_state();
}

/*
 * A selector's descriptor from the firmware's GDT (SDM Vol 3 3.4.5; in
 * IA-32e mode a TSS or LDT descriptor has 16 bytes, 8.2.3): the cached
 * part of the segment register that the CPU loaded from it.
 */
static void descriptor(const struct bi_cpu_state *st, uint16_t sel,
		       uint64_t base_msr, struct segment *s)
{
	const uint8_t *gdt = phys_to_virt(st->gdt_base);
	uint64_t d, hi = 0;

	memset(s, 0, sizeof(*s));
	s->sel = sel;
	if (!(sel & ~3u) || (sel & 4) || (sel | 7u) > st->gdt_limit)
		return;			/* null (unusable) or not in the GDT */
	memcpy(&d, gdt + (sel & ~7u), 8);
	if (!(d & (1ull << 44)) && (sel | 7u) + 8 <= st->gdt_limit)
		memcpy(&hi, gdt + (sel & ~7u) + 8, 4);	/* system: base 63:32 */
	s->attr = (uint16_t)(((d >> 40) & 0xff) | ((d >> 44) & 0xf00));
	s->limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
	if (s->attr & 0x800)		/* G: 4 KiB units */
		s->limit = (s->limit << 12) | 0xfff;
	s->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000) | (hi << 32);
	if (s->attr & 0x10)
		s->attr |= 1;		/* accessed: the CPU set it on the load */
	if (base_msr != ~0ull)
		s->base = base_msr;	/* FS, GS: the base MSRs (SDM Vol 3 3.4.4) */
}

static void set_segments(struct vcpu *v, const struct bi_cpu_state *st)
{
	struct segment s;

	_Static_assert(SEG_ES == 0 && SEG_CS == 1 && SEG_SS == 2 && SEG_DS == 3 &&
		       SEG_FS == 4 && SEG_GS == 5 && SEG_LDTR == 6 && SEG_TR == 7,
		       "bi_cpu_state.sel[] is in enum vcpu_seg's order");
	for (int i = SEG_ES; i <= SEG_TR; i++) {
		descriptor(st, st->sel[i], i == SEG_FS ? st->fs_base :
			   i == SEG_GS ? st->gs_base : ~0ull, &s);
		/* no TR loaded (OVMF has none): an empty busy 64-bit TSS, which
		   VM entry requires in IA-32e mode (SDM Vol 3 28.3.1.2) */
		if (i == SEG_TR && !(s.attr & 0x80))
			s = (struct segment){ st->sel[i], 0x08b, 0x67, 0 };
		if (i == SEG_LDTR && !(s.attr & 0x80))
			s = (struct segment){ st->sel[i], 0x082, 0xffff, 0 };
		v->ops->set_seg(v, i, &s);
	}
	s = (struct segment){ 0, 0, st->gdt_limit, st->gdt_base };
	v->ops->set_seg(v, SEG_GDTR, &s);
	s = (struct segment){ 0, 0, st->idt_limit, st->idt_base };
	v->ops->set_seg(v, SEG_IDTR, &s);
}

/* The vCPU resumes st: the BSP's from takeover.asm, an AP's from fw_ap_park(). */
static void set_state(struct vcpu *v, const struct bi_cpu_state *st)
{
	const struct vcpu_ops *o = v->ops;
	uint64_t bad = st->cr4 & ~cr4_allowed(v);

	/* the guest's CR4 as a MOV to CR4 would have to take it (exit/cr.c) */
	if (bad) {
		pr_err("guest=firmware: cpu %u: the firmware's CR4 %lx has bits %lx that umbra does not give a guest%s",
		       v->cpu, st->cr4, bad,
		       v->mmu->nested ? "" : " under shadow paging (mmu=tdp may take them)");
		halt("no-guest");
	}

	set_segments(v, st);
	o->set_reg(v, VCPU_CR4, st->cr4);
	o->set_reg(v, VCPU_CR3, st->cr3);
	o->set_reg(v, VCPU_EFER, st->efer);
	o->set_reg(v, VCPU_CR0, st->cr0);
	o->set_reg(v, VCPU_PAT, st->pat);
	o->set_reg(v, VCPU_DR7, 0x400);
	o->set_reg(v, VCPU_RFLAGS, st->rflags);
	o->set_reg(v, VCPU_RIP, st->rip);
	o->set_reg(v, VCPU_RSP, st->rsp);
	v->gprs = (struct vcpu_gprs){
		.rax = st->rax, .rbx = st->rbx, .rcx = st->rcx, .rdx = st->rdx,
		.rsi = st->rsi, .rdi = st->rdi, .rbp = st->rbp,
		.r8 = st->r8, .r9 = st->r9, .r10 = st->r10, .r11 = st->r11,
		.r12 = st->r12, .r13 = st->r13, .r14 = st->r14, .r15 = st->r15,
	};
}

void firmware_set_entry_state(struct vcpu *v)
{
	set_state(v, &fw);
}

/*
 * The firmware's APs that umbra.efi parked (bootinfo.h struct bi_fw_ap;
 * boot/efi/firmware.c).  All of them are taken over, or none: a parked AP
 * that umbra would not start (not in the MADT, beyond MAX_CPUS) sends all
 * back to the firmware, which then runs them outside umbra (the message
 * says so);  under shadow paging the APs resume on the shared shadow MMU
 * with a struct shadow_vcpu each, as under NPT/EPT on the VM's tables;
 * nr_cpus_up stays 1, so the guest's INIT and SIPI reach them untrapped
 * (exit/apic.c).
 */
static struct bi_fw_ap *fw_aps;
static uint32_t nr_fw_aps;

bool firmware_aps_take(const struct boot_info *bi, const uint32_t *ids, unsigned int n)
{
	const char *why = NULL;
	uint32_t i, j;

	if (!bi->nr_fw_aps)
		return false;		/* umbra.efi said why */
	fw_aps = phys_to_virt(bi->fw_aps);
	nr_fw_aps = bi->nr_fw_aps;
	if (nr_fw_aps > BI_MAX_FW_APS || umbra_owns(bi->fw_aps, nr_fw_aps * sizeof(*fw_aps)))
		why = "umbra.efi's list of them is bad";
	else if (n > MAX_CPUS)
		why = "umbra runs fewer CPUs than the MADT lists";
	for (i = 0; i < nr_fw_aps && !why; i++) {
		for (j = 0; j < n && ids[j] != fw_aps[i].apic_id; j++)
			;
		if (j == n || !fw_aps[i].parked)
			why = "one of them is not in the ACPI MADT";
	}
	if (!why) {
		pr_info("guest=firmware: the firmware's %u AP(s), parked by umbra.efi, are taken over",
			nr_fw_aps);
		return true;
	}
	pr_warn("guest=firmware: %s: the firmware's %u AP(s) go back to it and run outside umbra, and so does the OS's AP start-up later",
		why, nr_fw_aps);
	for (i = 0; i < nr_fw_aps; i++)
		__atomic_store_n(&fw_aps[i].release, 1, __ATOMIC_RELEASE);
	nr_fw_aps = 0;
	return false;
}

bool firmware_ap_resume(struct vcpu *v)
{
	for (uint32_t i = 0; i < nr_fw_aps; i++) {
		if (fw_aps[i].apic_id != v->apic_id)
			continue;
		/* not in wait-for-SIPI: it goes on where it was (vcpu/smp.c) */
		__atomic_store_n(&v->waiting, false, __ATOMIC_RELEASE);
		__atomic_and_fetch(&v->requests, ~VCPU_REQ_INIT, __ATOMIC_SEQ_CST);
		set_state(v, &fw_aps[i].st);
		return true;
	}
	return false;
}
