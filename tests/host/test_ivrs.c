// SPDX-License-Identifier: BSD-2-Clause
/*
 * drivers/iommu/ivrs.c on the host: an IVRS built here (AMD IOMMU spec
 * 48882, 5.2) with a type 10h and a type 11h IVHD for the same IOMMU
 * (select, range and alias device entries) and one IVMD parses to one
 * IOMMU and one range; each kind of damage (checksum, a table shorter than
 * its header, a block that overruns the table or has a length below 4, a
 * misaligned or high register base, a reserved or cut device entry, an
 * unaligned IVMD, no IVHD) is refused with a reason; event log entries
 * (2.5) decode to their device, direction and address.
 */
#include <stdio.h>
#include <string.h>

#include "drivers/iommu/ivrs.h"
#include "tests/host/host_env.h"

static uint8_t table[256] __attribute__((aligned(16)));
static uint32_t table_len;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void set_checksum(void)
{
	uint8_t sum = 0;

	table[9] = 0;
	for (uint32_t i = 0; i < table_len; i++)
		sum += table[i];
	table[9] = (uint8_t)(0x100 - sum);
}

#define IVHD10	48	/* 24 + select, range start and end, alias select */
#define IVHD11	92	/* 40 + one select */
#define IVMD	136

static void put_ivhd(uint8_t *s, uint8_t type, uint16_t len)
{
	s[0] = type;
	put16(s + 2, len);
	put16(s + 4, 0x0002);		/* the IOMMU is 00:00.2 */
	put64(s + 8, 0xfed80000);
}

static void build(void)
{
	uint8_t *e;

	memset(table, 0, sizeof(table));
	memcpy(table, "IVRS", 4);
	put32(table + 36, 40u << 8);	/* IVinfo: PASize 40 */
	put_ivhd(table + IVHD10, 0x10, 44);
	e = table + IVHD10 + 24;
	e[0] = 0x02, put16(e + 1, 0x0010);	/* select 00:02.0 */
	e[4] = 0x03, put16(e + 5, 0x0100);	/* range 01:00.0 - */
	e[8] = 0x04, put16(e + 9, 0x01ff);	/* 01:1f.7 */
	e[12] = 0x42, put16(e + 13, 0x0020), put16(e + 17, 0x0300);	/* alias */
	put_ivhd(table + IVHD11, 0x11, 44);
	e = table + IVHD11 + 40;
	e[0] = 0x02, put16(e + 1, 0x0008);
	e = table + IVMD;
	e[0] = 0x21, e[1] = 0x07;		/* unity, read, write */
	put16(e + 2, 32);
	put64(e + 16, 0x7000);
	put64(e + 24, 0x2000);
	table_len = IVMD + 32;
	put32(table + 4, table_len);
	set_checksum();
}

static int parse(struct ivrs_info *v, char *why)
{
	return ivrs_parse((const struct acpi_header *)table, v, why, 160);
}

static void expect_refused(const char *name, const char *want)
{
	struct ivrs_info v;
	char why[160] = "";

	set_checksum();
	check(parse(&v, why) && strstr(why, want), name, "got '%s', want '%s'",
	      why, want);
}

static void test_good(void)
{
	struct ivrs_info v;
	char why[160] = "";

	build();
	check(!parse(&v, why), "ivrs: a good table parses", "%s", why);
	check(v.nr_units == 1 && v.unit[0].base == 0xfed80000 &&
	      v.unit[0].devid == 2 && v.unit[0].type == 0x11 &&
	      v.unit[0].max_devid == 0x300 && v.ivinfo == 40u << 8,
	      "ivrs: two IVHDs of one IOMMU merge, device IDs up to the alias",
	      "%u units, base %lx, type %x, max %x", v.nr_units,
	      (unsigned long)v.unit[0].base, v.unit[0].type, v.unit[0].max_devid);
	check(v.nr_ivmd == 1 && v.ivmd[0].base == 0x7000 &&
	      v.ivmd[0].end == 0x9000 && v.ivmd[0].flags == 7,
	      "ivrs: the IVMD as written", "%u IVMDs", v.nr_ivmd);
	build();
	table[IVHD11 + 40] = 0x01;		/* ALL */
	set_checksum();
	check(!parse(&v, why) && v.unit[0].max_devid == 0xffff,
	      "ivrs: an ALL entry covers every device ID", "max %x",
	      v.unit[0].max_devid);
}

static void test_bad(void)
{
	struct ivrs_info v;
	char why[160] = "";

	build();
	table[20] ^= 1;
	check(parse(&v, why) && strstr(why, "checksum wrong"),
	      "ivrs: a wrong checksum is refused", "'%s'", why);
	build();
	table_len = 40;				/* shorter than the header */
	put32(table + 4, table_len);
	expect_refused("ivrs: a truncated table is refused", "IVRS of 40 bytes");
	build();
	put16(table + IVHD10 + 2, 300);
	expect_refused("ivrs: an overrunning block is refused", "overruns");
	build();
	put16(table + IVHD10 + 2, 0);
	expect_refused("ivrs: a block of length 0 is refused", "overruns");
	build();
	put16(table + IVHD11 + 2, 30);
	expect_refused("ivrs: a type 11h IVHD shorter than 40 is refused", "at least 40");
	build();
	put64(table + IVHD10 + 8, 0xfed80010);
	expect_refused("ivrs: a misaligned register base is refused", "register base");
	build();
	put64(table + IVHD10 + 8, 0x1fed80000ull);
	expect_refused("ivrs: a register base above 4 GiB is refused", "register base");
	build();
	table[IVHD10 + 24 + 4] = 0x80;		/* a reserved entry type */
	expect_refused("ivrs: a reserved device entry is refused", "device entry");
	build();
	put16(table + IVHD10 + 2, 40);		/* cuts the 8-byte alias entry */
	expect_refused("ivrs: a cut device entry is refused", "device entry");
	build();
	put64(table + IVMD + 24, 0x2010);
	expect_refused("ivrs: an unaligned IVMD is refused", "not page aligned");
	build();
	table[IVHD10] = 0x30;			/* unknown types instead of IVHDs */
	table[IVHD11] = 0x31;
	expect_refused("ivrs: a table without an IVHD is refused", "no IVHD");
}

/* 2.5: IO_PAGE_FAULT, DeviceID 00:03.0, RW (bit 53), PR (bit 52). */
static void test_events(void)
{
	uint64_t ev[2] = { 0x0018 | 1ull << 53 | 2ull << 60, 0x1fdfe000 };
	struct amdvi_event e;

	amdvi_event_decode(ev, &e);
	check(e.code == 2 && e.devid == 0x18 && e.write && !e.present &&
	      e.addr == 0x1fdfe000 && !strcmp(e.name, "IO_PAGE_FAULT"),
	      "amdvi: an IO_PAGE_FAULT write decodes", "code %u devid %x write %d",
	      e.code, e.devid, e.write);
	ev[0] = 0x0100 | 1ull << 52 | 2ull << 60;
	amdvi_event_decode(ev, &e);
	check(e.devid == 0x100 && !e.write && e.present,
	      "amdvi: a read without permission decodes", "devid %x write %d", e.devid,
	      e.write);
	ev[0] = 1ull << 60;
	amdvi_event_decode(ev, &e);
	check(e.code == 1 && !strcmp(e.name, "ILLEGAL_DEV_TABLE_ENTRY"),
	      "amdvi: other events are named", "%s", e.name);
}

int main(void)
{
	test_good();
	test_bad();
	test_events();
	return check_finish();
}
