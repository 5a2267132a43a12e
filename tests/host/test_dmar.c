// SPDX-License-Identifier: BSD-2-Clause
/*
 * drivers/iommu/dmar.c and drivers/acpi.c on the host: a DMAR built here
 * with one DRHD (INCLUDE_PCI_ALL, one device scope) and one RMRR parses to
 * what it says; each kind of damage (checksum, a structure that overruns
 * the table or has a length below 4, a misaligned register base or RMRR,
 * a bad device scope, no unit) is refused with a reason; acpi_find()
 * finds the table through an XSDT and acpi_hide() takes it out, leaving
 * the XSDT's checksum right.
 */
#include <stdio.h>
#include <string.h>

#include "drivers/acpi.h"
#include "drivers/iommu/dmar.h"
#include "tests/host/host_env.h"

static uint8_t table[256] __attribute__((aligned(16)));
static uint32_t table_len;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void set_checksum(uint8_t *t, uint32_t len)
{
	uint8_t sum = 0;

	t[9] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += t[i];
	t[9] = (uint8_t)(0x100 - sum);
}

/* DMAR header (48), DRHD (16 + an 8-byte scope), RMRR (24). */
static void build(void)
{
	uint8_t *s;

	memset(table, 0, sizeof(table));
	memcpy(table, "DMAR", 4);
	table[36] = 38;			/* HAW 39 bits */
	s = table + 48;
	put16(s, 0);			/* DRHD */
	put16(s + 2, 24);
	s[4] = 1;			/* INCLUDE_PCI_ALL */
	put64(s + 8, 0xfed90000);
	s[16] = 1;			/* scope: PCI endpoint, 8 bytes */
	s[17] = 8;
	s = table + 72;
	put16(s, 1);			/* RMRR */
	put16(s + 2, 24);
	put64(s + 8, 0x7000);
	put64(s + 16, 0x8fff);
	table_len = 96;
	put32(table + 4, table_len);
	set_checksum(table, table_len);
}

static int parse(struct dmar_info *d, char *why)
{
	return dmar_parse((const struct acpi_header *)table, d, why, 160);
}

static void expect_refused(const char *name, const char *want)
{
	struct dmar_info d;
	char why[160] = "";

	set_checksum(table, table_len);
	check(parse(&d, why) && strstr(why, want), name, "got '%s', want '%s'",
	      why, want);
}

static void test_good(void)
{
	struct dmar_info d;
	char why[160] = "";

	build();
	check(!parse(&d, why), "dmar: a good table parses", "%s", why);
	check(d.nr_units == 1 && d.unit[0].base == 0xfed90000 &&
	      d.unit[0].include_all && d.unit[0].size == 4096 &&
	      d.unit[0].nr_scopes == 1, "dmar: the DRHD as written",
	      "%u units, base %lx", d.nr_units, (unsigned long)d.unit[0].base);
	check(d.nr_rmrr == 1 && d.rmrr[0].base == 0x7000 &&
	      d.rmrr[0].end == 0x9000 && d.haw == 39, "dmar: the RMRR as written",
	      "%u RMRRs", d.nr_rmrr);
}

static void test_bad(void)
{
	struct dmar_info d;
	char why[160] = "";

	build();
	table[20] ^= 1;
	check(parse(&d, why) && strstr(why, "checksum wrong"),
	      "dmar: a wrong checksum is refused", "'%s'", why);
	build();
	put16(table + 48 + 2, 200);
	expect_refused("dmar: an overrunning structure is refused", "overruns");
	build();
	put16(table + 48 + 2, 0);
	expect_refused("dmar: a structure of length 0 is refused", "overruns");
	build();
	put64(table + 48 + 8, 0xfed90010);
	expect_refused("dmar: a misaligned register base is refused", "register base");
	build();
	put64(table + 72 + 16, 0x8ffe);
	expect_refused("dmar: a misaligned RMRR is refused", "not page aligned");
	build();
	table[48 + 17] = 3;
	expect_refused("dmar: a bad device scope is refused", "device scope");
	build();
	put16(table + 48, 7);		/* an unknown type instead of the DRHD */
	expect_refused("dmar: a table without a DRHD is refused", "no DRHD");
}

/* ACPI 5.2.5.3, 5.2.8: an RSDP (revision 2) and an XSDT of three tables. */
static void test_find_hide(void)
{
	static uint8_t rsdp[36] __attribute__((aligned(16)));
	static uint8_t xsdt[36 + 3 * 8], other[2][36];
	uint64_t rsdp_pa = (uint64_t)(uintptr_t)rsdp;
	uint64_t dmar_pa = (uint64_t)(uintptr_t)table;

	build();
	memcpy(rsdp, "RSD PTR ", 8);
	rsdp[15] = 2;
	put64(rsdp + 24, (uint64_t)(uintptr_t)xsdt);
	for (int i = 0; i < 2; i++) {
		memcpy(other[i], i ? "APIC" : "FACP", 4);
		put32(other[i] + 4, 36);
	}
	memcpy(xsdt, "XSDT", 4);
	put32(xsdt + 4, sizeof(xsdt));
	put64(xsdt + 36, (uint64_t)(uintptr_t)other[0]);
	put64(xsdt + 44, dmar_pa);
	put64(xsdt + 52, (uint64_t)(uintptr_t)other[1]);
	set_checksum(xsdt, sizeof(xsdt));
	check(acpi_find(rsdp_pa, "DMAR") == (struct acpi_header *)table,
	      "acpi: the DMAR found through the XSDT", "not found");
	check(acpi_hide(rsdp_pa, dmar_pa) == 1, "acpi: one XSDT entry removed", "-");
	check(!acpi_find(rsdp_pa, "DMAR") && acpi_find(rsdp_pa, "APIC") &&
	      acpi_find(rsdp_pa, "FACP"), "acpi: DMAR gone, the others kept", "-");
	check(((struct acpi_header *)xsdt)->length == 36 + 16 &&
	      acpi_checksum_ok(xsdt, 36 + 16), "acpi: XSDT length and checksum fixed",
	      "length %u", ((struct acpi_header *)xsdt)->length);
}

int main(void)
{
	test_good();
	test_bad();
	test_find_hide();
	return check_finish();
}
