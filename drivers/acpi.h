/* SPDX-License-Identifier: BSD-2-Clause */
/* Finding and hiding ACPI tables (ACPI 6.5, 5.2). */
#ifndef UMBRA_DRIVERS_ACPI_H
#define UMBRA_DRIVERS_ACPI_H

#include <stdbool.h>
#include <stdint.h>

/* The common header of every system description table (ACPI 5.2.6). */
struct acpi_header {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

/* Little-endian fields of a table, at any alignment. */
static inline uint16_t acpi_get16(const uint8_t *p)
{
	uint16_t v;

	__builtin_memcpy(&v, p, 2);
	return v;
}

static inline uint64_t acpi_get64(const uint8_t *p)
{
	uint64_t v;

	__builtin_memcpy(&v, p, 8);
	return v;
}

/* The table with signature `sig` under the RSDP at `rsdp`, or NULL. */
struct acpi_header *acpi_find(uint64_t rsdp, const char sig[4]);
/* Drop every XSDT/RSDT entry that points at table `pa`; the count dropped. */
int acpi_hide(uint64_t rsdp, uint64_t pa);
/* The bytes of [p, p + len) sum to 0 mod 256. */
bool acpi_checksum_ok(const void *p, uint32_t len);

#endif
