// SPDX-License-Identifier: BSD-2-Clause
/* From the hand-off to the guest's first instruction. */
#include "core/canary.h"
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/percpu.h"
#include "arch/x86/cpu/smp.h"
#include "arch/x86/guest/load.h"
#include "core/mem.h"
#include "arch/x86/vcpu/vcpu.h"
#include "arch/x86/exit/io.h"
#include "arch/x86/exit/msr.h"
#include "arch/x86/paging/mmu.h"
#include "arch/x86/vcpu/run.h"
#include "arch/x86/vcpu/smp.h"
#include "drivers/acpi.h"
#include "drivers/iommu/iommu.h"
#include "drivers/serial.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/err.h"
#include "umbra/log.h"

/* The guest's memory test looks for this in umbra's range: it must not find it. */
const char umbra_marker[] __attribute__((used)) = "UMBRA-CORE-IMAGE-MARKER";

static struct boot_info efi_bi;
static struct vcpu vcpus[MAX_CPUS];	/* by CPU id; 0: the boot CPU */

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

static void selftest_before_vcpu(void)
{
	switch (opts.selftest) {
	case SELFTEST_HOST_EXCEPTION:
		pr_warn("selftest=ud: executing ud2 in umbra");
		__asm__ volatile("ud2");
		break;
	case SELFTEST_NO_MEMORY:
		pr_warn("selftest=oom: using up umbra's pages");
		while (page_alloc(1))
			;
		break;
	}
}

static void selftest_before_entry(struct vcpu *v)
{
	if (opts.selftest == SELFTEST_FAILED_ENTRY) {
		struct segment cs;

		/* a 64-bit code segment outside long mode: refused by every CPU
		   (APM Vol 2 15.5.1, SDM Vol 3 28.3.1.2) */
		pr_warn("selftest=entry: giving the guest an invalid CS");
		v->ops->get_seg(v, SEG_CS, &cs);
		cs.attr |= 0x200;	/* L with D: reserved */
		v->ops->set_seg(v, SEG_CS, &cs);
		v->ops->set_reg(v, VCPU_EFER, EFER_LME);
		v->ops->set_reg(v, VCPU_CR4, 1u << 5);
		v->ops->set_reg(v, VCPU_CR0, CR0_PE | CR0_PG | CR0_ET);
	}
}

static volatile bool aps_go;	/* the boot CPU's vCPU and MMU are set up */
static uint32_t cpu_ids[64];	/* the MADT's APIC IDs (acpi_cpus()) */
static unsigned int nr_cpu_ids;

/* What every vCPU needs before its first entry (the AP's: on its own CPU). */
static void vcpu_setup(struct vcpu *v)
{
	io_setup_intercepts(v);
	msr_setup_intercepts(v);
	v->mmu->setup(v);
}

/*
 * An AP umbra started (arch/x86/cpu/smp.c): the back end on this CPU and
 * its own vCPU, which waits in wait-for-SIPI (arch/x86/vcpu/smp.c) until
 * the guest starts it.  Under shadow paging it shares the boot CPU's
 * shadow MMU, with a struct shadow_vcpu of its own (docs/mmu.md, "The
 * shadow MMU with several vCPUs").
 */
static void ap_main(unsigned int id)
{
	struct vcpu *v = &vcpus[id];
	int err;

	v->ops = vcpus[0].ops;
	v->mmu = vcpus[0].mmu;
	err = TRY(v->ops->enable());
	if (!err)
		err = TRY(v->ops->create(v));
	if (err)
		pr_err("cpu %u: no vCPU (%s): this CPU stays parked", id, err_name(err));
	else {
		vcpu_smp_add(v);
		firmware_ap_resume(v);	/* guest=firmware: where umbra.efi parked it */
	}
	smp_ap_ready();
	while (!aps_go || err) {
		percpu_check_stop();
		cpu_pause();
	}
	vcpu_setup(v);
	vcpu_run_loop(v);
}

/* Every CPU the MADT lists runs under umbra, or is told to be off. */
static void start_aps(const struct vcpu_ops *ops)
{
	uint32_t *ids = cpu_ids, self = this_cpu()->apic_id;
	unsigned int n = nr_cpu_ids, next = 1;

	if (!n)
		pr_warn("smp: no CPUs in the ACPI MADT: only the boot CPU runs");
	if (n < 2)
		return;		/* one CPU: nothing changes */
	for (unsigned int i = 0; i < MIN(n, ARRAY_SIZE(cpu_ids)); i++) {
		int err;

		if (ids[i] == self)
			continue;
		if (next == MAX_CPUS) {
			pr_warn("smp: APIC ID %x and later are not started: umbra runs %u CPUs at most",
				ids[i], MAX_CPUS);
			break;
		}
		err = smp_start_ap(next, ids[i], ap_main);
		if (err) {
			pr_err("cpu (APIC ID %x): does not answer INIT-SIPI-SIPI (%s): left out",
			       ids[i], err_name(err));
			continue;
		}
		pr_info("cpu %u: APIC ID %x up, %s enabled, %s", next, ids[i], ops->name,
			vcpus[next].waiting ? "vCPU waits for the guest's SIPI" :
			"vCPU resumes the firmware's AP where umbra.efi parked it");
		next++;
	}
	smp_start_done();
	pr_info("smp: %u of %u CPUs in the MADT run under umbra", next, n);
}

void core_main(struct boot_info *bi)
{
	struct guest_boot boot;
	struct vcpu *v = &vcpus[0];
	int err;

	percpu_init(0);
	options_parse(bi->cmdline);
	apply_console_options();
	pr_info("umbra %s, booted by %s, command line '%s'", UMBRA_VERSION,
		fw_names[bi->firmware < 4 ? bi->firmware : 0], bi->cmdline);
	if (!bi->nr_mem)
		panic("the firmware gave no memory map");
	mem_init(bi);
	canary_init();
	iommu_init(bi);		/* claims the IOMMU's registers: before the map */
	nr_cpu_ids = acpi_cpus(bi->acpi_rsdp, cpu_ids, ARRAY_SIZE(cpu_ids));
	if (bi->fw_state && !firmware_aps_take(bi, cpu_ids, MIN(nr_cpu_ids, ARRAY_SIZE(cpu_ids))))
		nr_cpu_ids = MIN(nr_cpu_ids, 1);	/* the firmware keeps its APs */
	if (nr_cpu_ids > 1)
		smp_reserve_trampoline(bi);	/* before the map: it is umbra's */
	guest_map_build(bi);
	v->ops = choose_backend();
	if (TRY(guest_load(bi, &boot)))
		halt("no-guest");
	selftest_before_vcpu();
	v->mmu = opts.mmu == MMU_SHADOW ? &shadow_guest_mmu : &tdp_guest_mmu;
	err = TRY(v->ops->enable());
	if (err)
		panic("%s: could not enable the back end: %s", v->ops->name,
		      err_name(err));
	err = TRY(v->ops->create(v));
	if (err)
		panic("%s: could not create the vCPU: %s", v->ops->name,
		      err_name(err));
	this_cpu()->apic_id = apic_id_self();
	vcpu_smp_add(v);
	start_aps(v->ops);
	vcpu_setup(v);
	guest_set_entry_state(v, &boot);
	selftest_before_entry(v);
	pr_info("entering the guest at %lx (%lu pages of umbra's memory free)",
		boot.entry, pages_free());
	aps_go = true;
	vcpu_run_loop(v);
}
