// SPDX-License-Identifier: BSD-2-Clause
/*
 * The IVRS table (AMD IOMMU spec 48882, 5.2): a header with IVinfo, then
 * definition blocks: IVHD (one IOMMU, its register base, and device
 * entries naming the DeviceIDs behind it) and IVMD (memory the
 * firmware needs devices to reach).  Everything is checked against the
 * lengths first: a malformed table is refused as a whole, the first
 * problem named.  Also the event log entry format (2.5), so that the
 * host tests can check both.
 */
#include "drivers/iommu/ivrs.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "umbra/core.h"

#define IVRS_HDR_LEN	48	/* ACPI header, IVinfo, 8 reserved bytes */
#define IVHD_LEN_10H	24	/* IVHD type 10h: up to the device entries */
#define IVHD_LEN_11H	40	/* types 11h, 40h: EFR images too */
#define IVMD_LEN	32	/* IVMD blocks 20h-22h */
#define IVHD_ENTRY_ALL	0x01	/* every DeviceID */
#define IVHD_ENTRY_HID	0xf0	/* ACPI _HID device: 22 bytes + UID */

/* 5.2, IVHD device entries: lengths by type; 0 for a reserved type. */
static uint32_t entry_len(const uint8_t *p, const uint8_t *end)
{
	if (p[0] < 0x80)
		return 4u << (p[0] >> 6);
	if (p[0] == IVHD_ENTRY_HID && end - p >= 22)
		return 22u + p[21];
	return 0;
}

/* The highest DeviceID the device entries in [p, end) name. */
static int scan_entries(const uint8_t *p, const uint8_t *end, uint16_t *max)
{
	while (p < end) {
		uint32_t len = entry_len(p, end);

		if (!len || len > (uint64_t)(end - p))
			return -1;
		if (p[0] == IVHD_ENTRY_ALL)
			*max = 0xffff;
		else if (p[0] != 0)
			*max = MAX(*max, acpi_get16(p + 1));
		/* alias select/range (42h, 43h), special device (48h): a second ID */
		if (p[0] == 0x42 || p[0] == 0x43 || p[0] == 0x48)
			*max = MAX(*max, acpi_get16(p + 5));
		p += len;
	}
	return 0;
}

static struct ivrs_unit *unit_at(struct ivrs_info *v, uint64_t base)
{
	for (uint32_t i = 0; i < v->nr_units; i++)
		if (v->unit[i].base == base)
			return &v->unit[i];
	if (v->nr_units == IVRS_MAX_UNITS)
		return NULL;
	v->unit[v->nr_units] = (struct ivrs_unit){ .base = base };
	return &v->unit[v->nr_units++];
}

static int parse_ivhd(const uint8_t *s, uint16_t len, struct ivrs_info *v,
		      char *why, size_t n)
{
	uint16_t hdr = s[0] == 0x10 ? IVHD_LEN_10H : IVHD_LEN_11H, max = 0;
	uint64_t base = acpi_get64(s + 8);
	struct ivrs_unit *u;

	if (len < hdr) {
		snprintf(why, n, "IVHD type %x of %u bytes (at least %u)", s[0], len, hdr);
		return -1;
	}
	if (!base || (base & 0x3fff) || base >= SZ_4G) {
		snprintf(why, n, "IVHD register base %lx (not 16 KiB aligned below 4 GiB)",
			 base);
		return -1;
	}
	if (scan_entries(s + hdr, s + len, &max)) {
		snprintf(why, n, "IVHD %lx: malformed device entry", base);
		return -1;
	}
	u = unit_at(v, base);
	if (!u) {
		snprintf(why, n, "more than %d IOMMUs", IVRS_MAX_UNITS);
		return -1;
	}
	u->devid = acpi_get16(s + 4);
	u->segment = acpi_get16(s + 16);
	u->max_devid = MAX(u->max_devid, max);
	u->type = MAX(u->type, s[0]);
	return 0;
}

static int parse_ivmd(const uint8_t *s, uint16_t len, struct ivrs_info *v,
		      char *why, size_t n)
{
	uint64_t base = acpi_get64(s + 16), size = acpi_get64(s + 24);

	if (len < IVMD_LEN) {
		snprintf(why, n, "IVMD of %u bytes (at least %u)", len, IVMD_LEN);
		return -1;
	}
	if ((base | size) & (PAGE_SIZE - 1) || base + size < base) {
		snprintf(why, n, "IVMD %lx+%lx not page aligned", base, size);
		return -1;
	}
	if (v->nr_ivmd == IVRS_MAX_IVMD) {
		snprintf(why, n, "more than %d IVMDs", IVRS_MAX_IVMD);
		return -1;
	}
	v->ivmd[v->nr_ivmd++] = (struct ivrs_ivmd){
		.base = base, .end = base + size, .flags = s[1] };
	return 0;
}

int ivrs_parse(const struct acpi_header *h, struct ivrs_info *v,
	       char *why, size_t n)
{
	const uint8_t *t = (const uint8_t *)h, *s, *end = t + h->length;

	memset(v, 0, sizeof(*v));
	if (h->length < IVRS_HDR_LEN || !acpi_checksum_ok(h, h->length)) {
		snprintf(why, n, "IVRS of %u bytes, checksum %s", h->length,
			 acpi_checksum_ok(h, h->length) ? "right" : "wrong");
		return -1;
	}
	memcpy(&v->ivinfo, t + 36, 4);
	for (s = t + IVRS_HDR_LEN; s < end; s += acpi_get16(s + 2)) {
		uint16_t len;

		if (end - s < 4 || acpi_get16(s + 2) < 4 || acpi_get16(s + 2) > end - s) {
			snprintf(why, n, "definition block at offset %lu overruns the table",
				 (uint64_t)(s - t));
			return -1;
		}
		len = acpi_get16(s + 2);
		if ((s[0] == 0x10 || s[0] == 0x11 || s[0] == 0x40) &&
		    parse_ivhd(s, len, v, why, n))
			return -1;
		if (s[0] >= 0x20 && s[0] <= 0x22 && parse_ivmd(s, len, v, why, n))
			return -1;
	}
	if (!v->nr_units) {
		snprintf(why, n, "no IVHD block");
		return -1;
	}
	return 0;
}

/* 2.5: event codes in bits 63:60 of the first quadword */
void amdvi_event_decode(const uint64_t ev[2], struct amdvi_event *e)
{
	static const char *const names[] = {
		"none", "ILLEGAL_DEV_TABLE_ENTRY", "IO_PAGE_FAULT",
		"DEV_TAB_HARDWARE_ERROR", "PAGE_TAB_HARDWARE_ERROR",
		"ILLEGAL_COMMAND_ERROR", "COMMAND_HARDWARE_ERROR",
		"IOTLB_INV_TIMEOUT", "INVALID_DEVICE_REQUEST",
	};

	e->code = (uint8_t)(ev[0] >> 60);
	e->devid = (uint16_t)ev[0];
	e->present = (ev[0] >> 52) & 1;		/* PR: a permission fault */
	e->write = (ev[0] >> 53) & 1;		/* RW: 1 = write */
	e->addr = ev[1];
	e->name = e->code < ARRAY_SIZE(names) ? names[e->code] : "reserved";
}
