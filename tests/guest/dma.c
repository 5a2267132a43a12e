// SPDX-License-Identifier: BSD-2-Clause
/*
 * dma: DMA through QEMU's edu device (vendor 1234h, device 11e8h) under
 * the IOMMU umbra programs (issue 14).  The device copies between its own
 * 4 KiB buffer at 40000h and memory: registers 80h source, 88h
 * destination, 90h count, 98h command (bit 0 start/busy, bit 1: to memory).
 *
 * 1. Own memory: a pattern goes to the device and back into a second
 *    buffer, which must then hold it (both directions work).
 * 2. Under umbra: the device reads pages of umbra's memory (CPUID
 *    4000_0001h/4000_0002h give its ranges) and copies what it got into
 *    the guest's buffer, which must not hold umbra's canary (canary=0xHEX
 *    on the command line, the value the runner gave umbra; umbra writes it
 *    into every free page); then the device writes into umbra's memory.
 *    Each target is printed ("info: dma target read|write ADDR") so that
 *    the runner can demand umbra's fault line for it.  Bare, or without
 *    canary=, those checks are SKIPs with the reason.
 *    Then a storm of 30 more reads (storm()).
 * 3. The IOMMU is umbra's: the guest's ACPI tables list no DMAR or IVRS
 *    (bare they list one), and after the guest writes 0 to VT-d's GCMD and
 *    AMD-Vi's control register at QEMU's q35 addresses (turning
 *    translation off, were the write to reach the IOMMU), DMA at umbra's
 *    memory still finds no canary.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "dma";

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8
#define EDU_SRC		0x80
#define EDU_DST		0x88
#define EDU_COUNT	0x90
#define EDU_CMD		0x98
#define EDU_CMD_RUN	0x1
#define EDU_CMD_TO_RAM	0x2
#define EDU_BUF		0x40000u	/* the device's buffer, 4 KiB */
#define DMA_LEN		4088u	/* QEMU 7.2 edu: the end must lie inside the buffer */
#define DMA_SPIN	200000000u

static volatile uint8_t *edu;
static uint8_t pattern[DMA_LEN] __attribute__((aligned(4096)));
static uint8_t back[DMA_LEN] __attribute__((aligned(4096)));
static uint64_t canary;
static int have_canary;

static inline uint32_t pci_inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* PCI configuration mechanism #1 (ports cf8h/cfch), bus 0. */
static uint32_t cfg_read(uint32_t dev, uint32_t off)
{
	outl(0xcf8, 0x80000000u | dev << 11 | off);
	return pci_inl(0xcfc);
}

static void cfg_write(uint32_t dev, uint32_t off, uint32_t v)
{
	outl(0xcf8, 0x80000000u | dev << 11 | off);
	outl(0xcfc, v);
}

static int find_edu(void)
{
	for (uint32_t dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read(dev, 0);

		if (id != (EDU_DEVICE << 16 | EDU_VENDOR))
			continue;
		edu = (volatile uint8_t *)(cfg_read(dev, 0x10) & ~0xfu);
		/* memory space and bus master (PCI command register bits 1, 2) */
		cfg_write(dev, 0x04, cfg_read(dev, 0x04) | 0x6);
		info("edu at 00:%02x.0, registers at %p", dev, (void *)edu);
		return 1;
	}
	return 0;
}

static void wr(uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(edu + off) = v;
}

/* One 8-byte access (the edu device takes 4 or 8, a 4-byte write zero-extends). */
static void wr64(uint32_t off, uint64_t v)
{
	asm volatile("movq %1, %%mm0\n\tmovq %%mm0, %0\n\temms"
		     : "=m"(*(volatile uint64_t *)(edu + off)) : "m"(v) : "memory");
}

static uint32_t rd(uint32_t off)
{
	return *(volatile uint32_t *)(edu + off);
}

/* One transfer; 0 when the device says it is done. */
static int dma(uint64_t src, uint64_t dst, int to_ram)
{
	wr64(EDU_SRC, src);
	wr64(EDU_DST, dst);
	wr(EDU_COUNT, DMA_LEN);
	wr(EDU_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
	for (uint32_t i = 0; i < DMA_SPIN; i++) {
		if (!(rd(EDU_CMD) & EDU_CMD_RUN))
			return 0;
		cpu_relax();
	}
	return -1;
}

static void own_memory(void)
{
	for (uint32_t i = 0; i < DMA_LEN; i++) {
		pattern[i] = (uint8_t)(i * 7 + 3);
		back[i] = 0;
	}
	if (!check(!dma((uint32_t)pattern, EDU_BUF, 0) &&
		   !dma(EDU_BUF, (uint32_t)back, 1), "dma own memory: transfers complete",
		   "the device stayed busy"))
		return;
	check(!memcmp(pattern, back, DMA_LEN), "dma own memory: read and write arrive",
	      "buffer differs (first bytes %02x %02x, want %02x %02x)",
	      back[0], back[1], pattern[0], pattern[1]);
}

/* Offset of the canary in back[], or -1. */
static int find_canary(void)
{
	for (uint32_t i = 0; i + 8 <= DMA_LEN; i += 8) {
		uint64_t v;

		memcpy(&v, back + i, 8);
		if (v == canary)
			return (int)i;
	}
	return -1;
}

static void read_umbra(uint64_t pa)
{
	char name[80];
	int at;

	memset(back, 0x5a, DMA_LEN);
	info("dma target read %llx", (unsigned long long)pa);
	snprintf(name, sizeof(name), "dma read of umbra's page %llx: the device finishes",
		 (unsigned long long)pa);
	if (!check(!dma(pa, EDU_BUF, 0) && !dma(EDU_BUF, (uint32_t)back, 1), name,
		   "it stayed busy"))
		return;
	snprintf(name, sizeof(name), "dma read of umbra's page %llx: no umbra data",
		 (unsigned long long)pa);
	at = find_canary();
	check(at < 0, name, "the guest got umbra's canary at offset %d", at);
}

static int parse_canary(const char *s)
{
	const char *p = strstr(s, "canary=0x");

	if (!p)
		return 0;
	p += 9;
	for (int n = 0; n < 16; n++, p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' :
			*p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (d < 0)
			return 0;
		canary = canary << 4 | (uint64_t)d;
	}
	return 1;
}

/* ---- the IOMMU itself: its table and registers ---- */

#define QEMU_VTD_BASE	0xfed90000u	/* q35's intel-iommu registers */
#define VTD_GCMD	0x18
#define VTD_GSTS	0x1c
#define QEMU_AMDVI_BASE	0xfed80000u	/* amd-iommu's (AMD spec 48882, 3.4) */
#define AMDVI_CTRL	0x18

static int sum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

/* ACPI 5.2.5.1: the RSDP on a 16-byte boundary in E0000h-FFFFFh. */
static const uint8_t *find_rsdp(void)
{
	for (uint32_t pa = 0xe0000; pa < 0x100000; pa += 16)
		if (!memcmp((const void *)pa, "RSD PTR ", 8) &&
		    sum_ok((const uint8_t *)pa, 20))
			return (const uint8_t *)pa;
	return NULL;
}

/* 1 if the RSDT (32-bit entries) lists a table with signature sig. */
static int rsdt_has(const uint8_t *rsdp, const char *sig)
{
	uint32_t rsdt, len;

	memcpy(&rsdt, rsdp + 16, 4);
	memcpy(&len, (const uint8_t *)rsdt + 4, 4);
	for (uint32_t off = 36; off + 4 <= len; off += 4) {
		uint32_t t;

		memcpy(&t, (const uint8_t *)rsdt + off, 4);
		if (!memcmp((const void *)t, sig, 4))
			return 1;
	}
	return 0;
}

static void dmar_visible(int umbra)
{
	const uint8_t *rsdp = find_rsdp();

	if (!rsdp) {	/* UEFI: the RSDP is in the EFI configuration table */
		skip("dma: the DMAR is hidden", "no RSDP in E0000h-FFFFFh (UEFI?)");
		return;
	}
	int dmar = rsdt_has(rsdp, "DMAR"), ivrs = rsdt_has(rsdp, "IVRS");

	if (umbra)
		check(!dmar && !ivrs, "dma: the DMAR/IVRS is hidden under umbra",
		      "the RSDT lists the %s", dmar ? "DMAR" : "IVRS");
	else
		check(dmar || ivrs, "dma: the DMAR/IVRS is there bare",
		      "the RSDT lists neither (QEMU -device intel-iommu or amd-iommu?)");
}

/*
 * Turn translation off as a guest that reached the registers would: VT-d
 * GCMD (VT-d spec 10.4.4), AMD-Vi's control register (IommuEn, 48882 3.4).
 */
static void disable_iommu(void)
{
	volatile uint32_t *gcmd = (volatile uint32_t *)(QEMU_VTD_BASE + VTD_GCMD);
	volatile uint32_t *gsts = (volatile uint32_t *)(QEMU_VTD_BASE + VTD_GSTS);
	volatile uint32_t *ctrl = (volatile uint32_t *)(QEMU_AMDVI_BASE + AMDVI_CTRL);

	info("dma: writing 0 to VT-d's GCMD (GSTS reads %x) and AMD-Vi's control (reads %x)",
	     *gsts, *ctrl);
	*gcmd = 0;
	*ctrl = 0;
}

/*
 * A fault storm: STORM more reads of one of umbra's pages, not named one by
 * one; umbra logs its first faults and then only counts (the runner checks
 * that), and none of them brings umbra's data.
 */
#define STORM	30

static void storm(uint64_t pa)
{
	struct cpuid_regs r;
	int done = 0, leaked = 0;

	info("dma storm: %d reads at %llx", STORM, (unsigned long long)pa);
	for (int i = 0; i < STORM; i++) {
		memset(back, 0x5a, DMA_LEN);
		if (dma(pa, EDU_BUF, 0) || dma(EDU_BUF, (uint32_t)back, 1))
			break;
		done++;
		leaked += find_canary() >= 0;
		/* an exit, where umbra reads the fault log: while a fault is
		   pending, QEMU records no other from the same device */
		cpuid(0, &r);
	}
	check(done == STORM && !leaked, "dma storm: every read done, no umbra data",
	      "%d of %d done, %d with umbra's canary", done, STORM, leaked);
}

static void umbra_memory(void)
{
	struct cpuid_regs r;
	uint64_t base, size, low;

	cpuid(0x40000001, &r);
	base = (uint64_t)r.ebx << 32 | r.eax;
	size = (uint64_t)r.edx << 32 | r.ecx;
	cpuid(0x40000002, &r);
	low = (uint64_t)r.ebx << 32 | r.eax;
	info("umbra's memory %llx-%llx, low pool %llx", (unsigned long long)base,
	     (unsigned long long)(base + size - 1), (unsigned long long)low);
	read_umbra(base + size - 4096);
	read_umbra(base + size / 2);
	read_umbra(base + size / 4);
	if (low)
		read_umbra(low);
	disable_iommu();
	read_umbra(base + size - 3 * 4096);
	info("dma target write %llx", (unsigned long long)(base + size - 8192));
	check(!dma(EDU_BUF, base + size - 8192, 1),
	      "dma write into umbra's memory: the device finishes", "it stayed busy");
	storm(base + size - 4 * 4096);
}

void test_main(void)
{
	if (!check(find_edu(), "dma: edu device found",
		   "no 1234:11e8 on bus 0 (QEMU -device edu)"))
		return;
	own_memory();
	have_canary = parse_canary(boot.cmdline);
	dmar_visible(under_umbra());
	if (!under_umbra())
		skip("dma into umbra's memory", "not under umbra");
	else if (!have_canary)
		skip("dma into umbra's memory", "no canary=0xHEX on the command line");
	else
		umbra_memory();
}
