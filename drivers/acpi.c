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

/*
 * ACPI 6.5, 5.2.12: the MADT, after its header the local APIC address and
 * flags (8 bytes), then variable entries of {type, length}.  Type 0, the
 * Processor Local APIC (5.2.12.2): APIC ID at byte 3, flags at 4; type 9,
 * the Processor Local x2APIC (5.2.12.12): x2APIC ID at 4, flags at 8.
 * Flags bit 0 Enabled, bit 1 Online Capable (Table 5.40): a CPU that is
 * neither cannot be started.
 */
#define MADT_LAPIC		0
#define MADT_X2APIC		9
#define MADT_ENABLED		(1u << 0)
#define MADT_ONLINE_CAPABLE	(1u << 1)

static void add_cpu(uint32_t *ids, unsigned int max, unsigned int *n, uint32_t id)
{
	for (unsigned int i = 0; i < *n && i < max; i++)
		if (ids[i] == id)
			return;		/* listed as both kinds */
	if (*n < max)
		ids[*n] = id;
	(*n)++;
}

unsigned int acpi_cpus(uint64_t rsdp, uint32_t *ids, unsigned int max)
{
	const struct acpi_header *madt = acpi_find(rsdp, "APIC");
	const uint8_t *p, *end;
	unsigned int n = 0;

	if (!madt || !acpi_checksum_ok(madt, madt->length))
		return 0;
	p = (const uint8_t *)(madt + 1) + 8;
	end = (const uint8_t *)madt + madt->length;
	for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		uint32_t id, flags;

		if (p[0] == MADT_LAPIC && p[1] >= 8) {
			id = p[3];
			memcpy(&flags, p + 4, 4);
		} else if (p[0] == MADT_X2APIC && p[1] >= 16) {
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
		} else {
			continue;
		}
		if (flags & (MADT_ENABLED | MADT_ONLINE_CAPABLE))
			add_cpu(ids, max, &n, id);
	}
	return n;
}
