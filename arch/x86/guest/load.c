// SPDX-License-Identifier: BSD-2-Clause
/* Staging the boot modules, choosing a guest loader, the entry state. */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/guest/load.h"
#include "core/mem.h"
#include "arch/x86/vcpu/vcpu.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

static const struct guest_loader *const loaders[] = {
	&multiboot_loader,
	&linux_loader,
};

static struct staged staged[BI_MAX_MODULES];
static uint32_t nr_staged;
static uint64_t guest_cursor;		/* next free guest-physical byte */

static void set_name(struct staged *s)
{
	size_t n = 0;

	while (s->cmdline[n] && s->cmdline[n] != ' ' && n < sizeof(s->name_buf) - 1)
		n++;
	memcpy(s->name_buf, s->cmdline, n);
	s->name_buf[n] = '\0';
	s->name = n ? s->name_buf : "(unnamed module)";
}

/* Never a cut command line: the whole of it, or a refusal (bootinfo.h). */
static int check_cmdline(const struct bi_module *m, const struct staged *s)
{
	uint64_t i = (uint64_t)(s->args - s->cmdline);
	uint64_t n = m->cmdline_len > i ? m->cmdline_len - i : 0;

	if (n <= BI_ARGS_MAX && m->cmdline_len < sizeof(m->cmdline))
		return 0;
	pr_err("module '%s': command line of %lu characters after its name; umbra passes at most %d (as Linux's cmdline_size)",
	       s->name, n, BI_ARGS_MAX);
	return -UMBRA_EINVAL;
}

static int stage(const struct bi_module *m, struct staged *s)
{
	int err;

	s->size = m->size;
	s->pages = ALIGN_UP(m->size ? m->size : 1, PAGE_SIZE) / PAGE_SIZE;
	s->cmdline = s->args = m->cmdline;
	while (*s->args && *s->args != ' ')
		s->args++;
	while (*s->args == ' ')
		s->args++;
	set_name(s);
	err = check_cmdline(m, s);
	if (err)
		return err;
	s->data = page_alloc(s->pages);
	if (!s->data) {
		pr_err("module '%s' (%lu KiB) does not fit in umbra's memory; boot with a larger mem=",
		       s->name, m->size >> 10);
		return -UMBRA_ENOMEM;
	}
	memcpy((void *)s->data, phys_to_virt(m->base), m->size);
	return 0;
}

static bool word_matches(const char *cmdline, const char *word)
{
	size_t n = strlen(word);

	return !strncmp(cmdline, word, n) && (cmdline[n] == ' ' || !cmdline[n]);
}

/* Stage the modules, the guest kernel first. */
static int stage_modules(const struct boot_info *bi)
{
	uint32_t kernel = 0;
	int err;

	if (!bi->nr_modules) {
		pr_err("no guest: give the guest kernel as the first module (GRUB: module2 /boot/guest.elf ARGS; umbra.efi: guest = \\path in umbra.cfg)");
		return -UMBRA_ENOENT;
	}
	if (opts.guest[0]) {
		for (kernel = 0; kernel < bi->nr_modules; kernel++)
			if (word_matches(bi->modules[kernel].cmdline, opts.guest))
				break;
		if (kernel == bi->nr_modules) {
			pr_err("guest=%s: no module by that name", opts.guest);
			for (uint32_t i = 0; i < bi->nr_modules; i++)
				pr_err("  module %u: '%s'", i, bi->modules[i].cmdline);
			return -UMBRA_ENOENT;
		}
	}
	err = stage(&bi->modules[kernel], &staged[nr_staged++]);
	for (uint32_t i = 0; i < bi->nr_modules && !err; i++)
		if (i != kernel)
			err = stage(&bi->modules[i], &staged[nr_staged++]);
	return err;
}

static void unstage(void)
{
	for (uint32_t i = 0; i < nr_staged; i++)
		if (staged[i].data)
			page_free((void *)staged[i].data, staged[i].pages);
	memset(staged, 0, sizeof(staged));
	nr_staged = 0;
}

int guest_check_range(const struct staged *k, uint64_t base, uint64_t size,
		      const char *what)
{
	if (size && !guest_range_usable(base, size)) {
		pr_err("guest kernel '%s': %s at %lx-%lx is not in usable guest memory (umbra's memory is %lx-%lx)",
		       k->name, what, base, base + size - 1, umbra_mem_base,
		       umbra_mem_base + umbra_mem_size - 1);
		return -UMBRA_EINVAL;
	}
	return 0;
}

void guest_alloc_reserve(uint64_t end)
{
	guest_cursor = MAX(guest_cursor, ALIGN_UP(end, PAGE_SIZE));
}

uint64_t guest_alloc(uint64_t size, uint64_t align, uint64_t limit)
{
	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];
		uint64_t base = ALIGN_UP(MAX(guest_cursor, m->base), align);

		if (m->type != BI_MEM_USABLE || base + size > m->base + m->size ||
		    base + size > limit)
			continue;
		guest_cursor = base + size;
		return base;
	}
	return 0;
}

uint64_t guest_place(const void *data, uint64_t size, uint64_t align)
{
	uint64_t pa = guest_alloc(size, align, SZ_4G);

	if (pa)
		memcpy(phys_to_virt(pa), data, size);
	return pa;
}

/* A flat 4 GiB code segment at selector cs and data at cs + 8, both DPL 0;
   the entries below cs are null. */
int guest_place_gdt(struct guest_boot *boot, uint16_t cs)
{
	uint64_t gdt[4] = { 0 };
	unsigned int n = cs / 8 + 2;

	gdt[n - 2] = 0x00cf9b000000ffffull;	/* execute/read, G, D */
	gdt[n - 1] = 0x00cf93000000ffffull;	/* read/write, G, B */
	boot->gdt = (uint32_t)guest_place(gdt, n * 8, 16);
	boot->gdt_limit = n * 8 - 1;
	boot->cs = cs;
	boot->ds = cs + 8;
	return boot->gdt ? 0 : -UMBRA_ENOMEM;
}

int guest_load(struct boot_info *bi, struct guest_boot *boot)
{
	const struct staged *k;
	int err;

	memset(boot, 0, sizeof(*boot));
	boot->acpi_rsdp = bi->acpi_rsdp;
	if (bi->fw_state || !strcmp(opts.guest, "firmware"))
		return firmware_load(bi, boot);
	guest_cursor = SZ_1M;
	err = stage_modules(bi);
	if (err)
		goto out;
	mem_scrub_boot(bi);
	k = &staged[0];
	for (size_t i = 0; i < ARRAY_SIZE(loaders); i++) {
		if (loaders[i]->probe(k)) {
			err = loaders[i]->load(staged, nr_staged, boot);
			goto out;
		}
	}
	pr_err("guest kernel '%s' (%lu bytes): not a format umbra can boot (a multiboot v1 kernel or a Linux bzImage)",
	       k->name, k->size);
	err = -UMBRA_EINVAL;
out:
	unstage();
	return err;
}

static void set_flat_segments(struct vcpu *v, const struct guest_boot *boot)
{
	const struct vcpu_ops *o = v->ops;
	struct segment code = { boot->cs, 0xc9b, 0xffffffff, 0 };
	struct segment data = { boot->ds, 0xc93, 0xffffffff, 0 };
	struct segment ldtr = { 0, 0x082, 0xffff, 0 };
	struct segment tr = { 0, 0x08b, 0xffff, 0 };
	struct segment gdtr = { 0, 0, boot->gdt_limit, boot->gdt };
	struct segment idtr = { 0, 0, 0, 0 };

	o->set_seg(v, SEG_CS, &code);
	for (int s = SEG_ES; s <= SEG_GS; s++)
		if (s != SEG_CS)
			o->set_seg(v, s, &data);
	o->set_seg(v, SEG_LDTR, &ldtr);
	o->set_seg(v, SEG_TR, &tr);
	o->set_seg(v, SEG_GDTR, &gdtr);
	o->set_seg(v, SEG_IDTR, &idtr);
}

void guest_set_entry_state(struct vcpu *v, const struct guest_boot *boot)
{
	const struct vcpu_ops *o = v->ops;

	switch (boot->mode) {
	case ENTRY_FIRMWARE:
		firmware_set_entry_state(v);
		return;
	case ENTRY_PROT32_FLAT:
		set_flat_segments(v, boot);
		o->set_reg(v, VCPU_CR0, CR0_PE | CR0_ET);
		break;
	}
	o->set_reg(v, VCPU_CR3, 0);
	o->set_reg(v, VCPU_CR4, 0);
	o->set_reg(v, VCPU_EFER, 0);
	o->set_reg(v, VCPU_RFLAGS, RFLAGS_FIXED);
	o->set_reg(v, VCPU_RIP, boot->entry);
	o->set_reg(v, VCPU_RSP, 0);
	memset(&v->gprs, 0, sizeof(v->gprs));
	v->gprs.rax = boot->eax;
	v->gprs.rbx = boot->ebx;
	v->gprs.rsi = boot->esi;
}
