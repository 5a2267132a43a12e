// SPDX-License-Identifier: BSD-2-Clause
/*
 * Parsing the DMAR table (Intel VT-d spec, rev. 4.x, chapter 8): its
 * header (8.1), the remapping structures that follow it (8.2), of which
 * umbra uses the DRHD units (8.3) and the RMRR regions (8.4).  Everything
 * is checked against the table's own length first: a malformed table is
 * refused as a whole, with the first problem named.
 */
#include "drivers/iommu/dmar.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "umbra/core.h"

#define DMAR_HDR_LEN		48	/* 8.1: header, HAW, flags, reserved */
#define DMAR_TYPE_DRHD		0
#define DMAR_TYPE_RMRR		1
#define DRHD_LEN		16	/* 8.3: up to the device scopes */
#define RMRR_LEN		24	/* 8.4 */
#define DRHD_INCLUDE_PCI_ALL	0x01

/* 8.3.1: device scope entries, each at least 6 bytes, fill [p, end). */
static int count_scopes(const uint8_t *p, const uint8_t *end, uint32_t *n)
{
	*n = 0;
	while (p < end) {
		if (end - p < 6 || p[1] < 6 || p[1] > end - p)
			return -1;
		p += p[1];
		(*n)++;
	}
	return 0;
}

static int parse_drhd(const uint8_t *s, uint16_t len, struct dmar_info *d,
		      char *why, size_t n)
{
	struct dmar_unit *u;

	if (len < DRHD_LEN) {
		snprintf(why, n, "DRHD of %u bytes (at least %u)", len, DRHD_LEN);
		return -1;
	}
	if (d->nr_units == DMAR_MAX_UNITS) {
		snprintf(why, n, "more than %d DRHD units", DMAR_MAX_UNITS);
		return -1;
	}
	u = &d->unit[d->nr_units];
	u->base = acpi_get64(s + 8);
	u->size = PAGE_SIZE << (s[5] & 0xf);
	u->segment = acpi_get16(s + 6);
	u->include_all = s[4] & DRHD_INCLUDE_PCI_ALL;
	if (!u->base || (u->base & (PAGE_SIZE - 1)) || u->base >= SZ_4G) {
		snprintf(why, n, "DRHD register base %lx (not a page below 4 GiB)",
			 u->base);
		return -1;
	}
	if (count_scopes(s + DRHD_LEN, s + len, &u->nr_scopes)) {
		snprintf(why, n, "DRHD %lx: malformed device scope", u->base);
		return -1;
	}
	d->nr_units++;
	return 0;
}

static int parse_rmrr(const uint8_t *s, uint16_t len, struct dmar_info *d,
		      char *why, size_t n)
{
	uint64_t base, limit;

	if (len < RMRR_LEN) {
		snprintf(why, n, "RMRR of %u bytes (at least %u)", len, RMRR_LEN);
		return -1;
	}
	base = acpi_get64(s + 8);
	limit = acpi_get64(s + 16);	/* 8.4: the last byte, limit + 1 page aligned */
	if ((base & (PAGE_SIZE - 1)) || ((limit + 1) & (PAGE_SIZE - 1)) ||
	    limit < base) {
		snprintf(why, n, "RMRR %lx-%lx not page aligned", base, limit);
		return -1;
	}
	if (d->nr_rmrr == DMAR_MAX_RMRR) {
		snprintf(why, n, "more than %d RMRRs", DMAR_MAX_RMRR);
		return -1;
	}
	d->rmrr[d->nr_rmrr++] = (struct dmar_rmrr){
		.base = base, .end = limit + 1, .segment = acpi_get16(s + 6) };
	return 0;
}

int dmar_parse(const struct acpi_header *h, struct dmar_info *d,
	       char *why, size_t n)
{
	const uint8_t *t = (const uint8_t *)h, *s, *end = t + h->length;

	memset(d, 0, sizeof(*d));
	if (h->length < DMAR_HDR_LEN || !acpi_checksum_ok(h, h->length)) {
		snprintf(why, n, "DMAR of %u bytes, checksum %s", h->length,
			 acpi_checksum_ok(h, h->length) ? "right" : "wrong");
		return -1;
	}
	d->haw = t[36] + 1;
	d->flags = t[37];
	for (s = t + DMAR_HDR_LEN; s < end; s += acpi_get16(s + 2)) {
		uint16_t type, len;

		if (end - s < 4 || acpi_get16(s + 2) < 4 || acpi_get16(s + 2) > end - s) {
			snprintf(why, n, "remapping structure at offset %lu overruns the table",
				 (uint64_t)(s - t));
			return -1;
		}
		type = acpi_get16(s);
		len = acpi_get16(s + 2);
		if (type == DMAR_TYPE_DRHD && parse_drhd(s, len, d, why, n))
			return -1;
		if (type == DMAR_TYPE_RMRR && parse_rmrr(s, len, d, why, n))
			return -1;
	}
	if (!d->nr_units) {
		snprintf(why, n, "no DRHD unit");
		return -1;
	}
	return 0;
}
