// SPDX-License-Identifier: BSD-2-Clause
/* From the hand-off to the guest's first instruction. */
#include "arch/x86/cpu.h"
#include "arch/x86/idt.h"
#include "arch/x86/load.h"
#include "arch/x86/mem.h"
#include "arch/x86/vcpu.h"
#include "arch/x86/vm.h"
#include "drivers/serial.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/log.h"

/* The guest's memory test looks for this in umbra's range: it must not find it. */
const char umbra_marker[] __attribute__((used)) = "UMBRA-CORE-IMAGE-MARKER";

static struct boot_info efi_bi;
static struct vcpu vcpu0;

static const char *const fw_names[] = {
	"?", "GRUB (BIOS)", "GRUB (UEFI)", "umbra.efi (UEFI)",
};

void efi_start(struct boot_info *bi);

void efi_start(struct boot_info *bi)
{
	serial_init(COM1_PORT);
	cpu_tables_init();
	memcpy(&efi_bi, bi, sizeof(efi_bi));
	core_main(&efi_bi);
}

static void apply_console_options(void)
{
	if (opts.serial_port != COM1_PORT) {
		pr_info("console moves to port %x%s", opts.serial_port,
			opts.serial_port ? "" : " (off)");
		serial_init(opts.serial_port);
	}
	log_level = opts.loglevel;
}

/* The vendor's back end; the other one's reason is printed too when neither works. */
static const struct vcpu_ops *choose_backend(void)
{
	static const struct vcpu_ops *const backends[] = { &svm_ops, &vmx_ops };
	char why[ARRAY_SIZE(backends)][256];

	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		if (!backends[i]->probe(why[i], sizeof(why[i])))
			return backends[i];
	for (size_t i = 0; i < ARRAY_SIZE(backends); i++)
		pr_err("%s: %s", backends[i]->name, why[i]);
	pr_err("no usable virtualization back end");
	halt("no-virtualization");
}

void core_main(struct boot_info *bi)
{
	struct guest_boot boot;
	struct vcpu *v = &vcpu0;

	options_parse(bi->cmdline);
	apply_console_options();
	pr_info("umbra %s, booted by %s, command line '%s'", UMBRA_VERSION,
		fw_names[bi->firmware < 4 ? bi->firmware : 0], bi->cmdline);
	if (!bi->nr_mem)
		panic("the firmware gave no memory map");
	mem_init(bi);
	guest_map_build(bi);
	v->ops = choose_backend();
	if (guest_load(bi, &boot))
		halt("no-guest");
	if (v->ops->enable() || v->ops->create(v))
		panic("%s: out of memory setting up the vCPU", v->ops->name);
	io_setup_intercepts(v);
	msr_setup_intercepts(v);
	vm_setup_tdp(v);
	guest_set_entry_state(v, &boot);
	pr_info("entering the guest at %lx (%lu pages of umbra's memory free)",
		boot.entry, pages_free());
	vcpu_run_loop(v);
}
