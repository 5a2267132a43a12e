// SPDX-License-Identifier: BSD-2-Clause
/*
 * guest=firmware: the guest is the UEFI firmware that started umbra.efi,
 * resumed in the state boot/efi/takeover.asm captured (long mode, the
 * firmware's page tables, GDT and IDT, its interrupt flag): its first
 * instruction is the one after umbra.efi's call of the core.  Nothing is
 * loaded, nothing is cleared: every byte of RAM but umbra's is the
 * firmware's and stays as it was.
 */
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
static void descriptor(uint16_t sel, uint64_t base_msr, struct segment *s)
{
	const uint8_t *gdt = phys_to_virt(fw.gdt_base);
	uint64_t d, hi = 0;

	memset(s, 0, sizeof(*s));
	s->sel = sel;
	if (!(sel & ~3u) || (sel & 4) || (sel | 7u) > fw.gdt_limit)
		return;			/* null (unusable) or not in the GDT */
	memcpy(&d, gdt + (sel & ~7u), 8);
	if (!(d & (1ull << 44)) && (sel | 7u) + 8 <= fw.gdt_limit)
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

static void set_segments(struct vcpu *v)
{
	struct segment s;

	_Static_assert(SEG_ES == 0 && SEG_CS == 1 && SEG_SS == 2 && SEG_DS == 3 &&
		       SEG_FS == 4 && SEG_GS == 5 && SEG_LDTR == 6 && SEG_TR == 7,
		       "bi_cpu_state.sel[] is in enum vcpu_seg's order");
	for (int i = SEG_ES; i <= SEG_TR; i++) {
		descriptor(fw.sel[i], i == SEG_FS ? fw.fs_base :
			   i == SEG_GS ? fw.gs_base : ~0ull, &s);
		/* no TR loaded (OVMF has none): an empty busy 64-bit TSS, which
		   VM entry requires in IA-32e mode (SDM Vol 3 28.3.1.2) */
		if (i == SEG_TR && !(s.attr & 0x80))
			s = (struct segment){ fw.sel[i], 0x08b, 0x67, 0 };
		if (i == SEG_LDTR && !(s.attr & 0x80))
			s = (struct segment){ fw.sel[i], 0x082, 0xffff, 0 };
		v->ops->set_seg(v, i, &s);
	}
	s = (struct segment){ 0, 0, fw.gdt_limit, fw.gdt_base };
	v->ops->set_seg(v, SEG_GDTR, &s);
	s = (struct segment){ 0, 0, fw.idt_limit, fw.idt_base };
	v->ops->set_seg(v, SEG_IDTR, &s);
}

void firmware_set_entry_state(struct vcpu *v)
{
	const struct vcpu_ops *o = v->ops;
	uint64_t bad = fw.cr4 & ~cr4_allowed(v);

	/* the guest's CR4 as a MOV to CR4 would have to take it (exit/cr.c) */
	if (bad) {
		pr_err("guest=firmware: the firmware's CR4 %lx has bits %lx that umbra does not give a guest%s",
		       fw.cr4, bad, v->mmu->nested ? "" : " under shadow paging (mmu=tdp may take them)");
		halt("no-guest");
	}

	set_segments(v);
	o->set_reg(v, VCPU_CR4, fw.cr4);
	o->set_reg(v, VCPU_CR3, fw.cr3);
	o->set_reg(v, VCPU_EFER, fw.efer);
	o->set_reg(v, VCPU_CR0, fw.cr0);
	o->set_reg(v, VCPU_PAT, fw.pat);
	o->set_reg(v, VCPU_DR7, 0x400);
	o->set_reg(v, VCPU_RFLAGS, fw.rflags);
	o->set_reg(v, VCPU_RIP, fw.rip);
	o->set_reg(v, VCPU_RSP, fw.rsp);
	v->gprs = (struct vcpu_gprs){
		.rax = fw.rax, .rbx = fw.rbx, .rcx = fw.rcx, .rdx = fw.rdx,
		.rsi = fw.rsi, .rdi = fw.rdi, .rbp = fw.rbp,
		.r8 = fw.r8, .r9 = fw.r9, .r10 = fw.r10, .r11 = fw.r11,
		.r12 = fw.r12, .r13 = fw.r13, .r14 = fw.r14, .r15 = fw.r15,
	};
}
