// SPDX-License-Identifier: BSD-2-Clause
/*
 * A small ACPI table finder: RSDP -> XSDT (or RSDT) -> a table by its
 * signature (ACPI 6.5, 5.2.5 - 5.2.8).  Tables live in firmware memory,
 * which umbra's identity map covers.  acpi_hide() takes a table out of
 * both root tables, so that the guest, which reads the same RSDP, never
 * finds it.
 */
#include "drivers/acpi.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/log.h"

/* ACPI 5.2.5.3: the RSDP; XSDT fields from revision 2 on. */
struct acpi_rsdp {
	char sig[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));

/* A table is believed only below this size (the DMAR of a big server is a few KiB). */
#define ACPI_MAX_TABLE	(1u << 20)

static uint8_t byte_sum(const void *p, uint32_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum += b[i];
	return sum;
}

bool acpi_checksum_ok(const void *p, uint32_t len)
{
	return byte_sum(p, len) == 0;
}

/* ACPI 5.2.6: the whole table, checksum included, sums to zero. */
static void fix_checksum(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = (uint8_t)(0x100 - byte_sum(h, h->length));
}

static struct acpi_header *table_at(uint64_t pa)
{
	struct acpi_header *h = (struct acpi_header *)pa;

	if (!pa || h->length < sizeof(*h) || h->length > ACPI_MAX_TABLE)
		return NULL;
	return h;
}

/* The root table and the size of its entries (8: XSDT, 4: RSDT). */
static struct acpi_header *root(uint64_t rsdp_pa, bool xsdt, unsigned int *esize)
{
	const struct acpi_rsdp *r = (const struct acpi_rsdp *)rsdp_pa;

	if (!rsdp_pa || memcmp(r->sig, "RSD PTR ", 8))
		return NULL;
	*esize = xsdt ? 8 : 4;
	if (xsdt)
		return r->revision >= 2 ? table_at(r->xsdt) : NULL;
	return table_at(r->rsdt);
}

static uint64_t entry(const struct acpi_header *t, unsigned int esize, uint32_t i)
{
	const uint8_t *p = (const uint8_t *)(t + 1) + (uint64_t)i * esize;
	uint64_t v = 0;

	memcpy(&v, p, esize);
	return v;
}

static uint32_t nr_entries(const struct acpi_header *t, unsigned int esize)
{
	return (t->length - sizeof(*t)) / esize;
}

struct acpi_header *acpi_find(uint64_t rsdp, const char sig[4])
{
	for (int x = 1; x >= 0; x--) {
		unsigned int es;
		struct acpi_header *t = root(rsdp, x, &es);

		if (!t)
			continue;
		for (uint32_t i = 0; i < nr_entries(t, es); i++) {
			struct acpi_header *h = table_at(entry(t, es, i));

			if (h && !memcmp(h->sig, sig, 4))
				return h;
		}
	}
	return NULL;
}

/* Remove the entries equal to pa from one root table; fix its checksum. */
static int drop_entries(struct acpi_header *t, unsigned int es, uint64_t pa)
{
	uint8_t *first = (uint8_t *)(t + 1);
	uint32_t n = nr_entries(t, es), kept = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t e = entry(t, es, i);

		if (e == pa)
			continue;
		memcpy(first + (uint64_t)kept * es, &e, es);
		kept++;
	}
	if (kept == n)
		return 0;
	memset(first + (uint64_t)kept * es, 0, (uint64_t)(n - kept) * es);
	t->length -= (n - kept) * es;
	fix_checksum(t);
	return (int)(n - kept);
}

int acpi_hide(uint64_t rsdp, uint64_t pa)
{
	int dropped = 0;

	for (int x = 1; x >= 0; x--) {
		unsigned int es;
		struct acpi_header *t = root(rsdp, x, &es);

		if (t)
			dropped += drop_entries(t, es, pa);
	}
	return dropped;
}
