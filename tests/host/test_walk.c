// SPDX-License-Identifier: BSD-2-Clause
/*
 * The guest walker against hand-checked cases, each worked out from the
 * SDM Vol 3 rules (4.3 32-bit, 4.4 PAE, 4.5 4-level, 4.6 access rights,
 * 4.7 error code, 4.8 A/D).  Every case also checks the A/D side effects:
 * none on a faulting walk; on success A in every entry used (not the PAE
 * PDPTE) and D in the leaf on a write, and nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/walk.h"
#include "tests/host/gmem.h"
#include "tests/host/host_env.h"

#define P	(1ull << 0)
#define RW	(1ull << 1)
#define US	(1ull << 2)
#define A	(1ull << 5)
#define D	(1ull << 6)
#define PS	(1ull << 7)
#define XD	(1ull << 63)
#define B(n)	(1ull << (n))

#define R_	0u
#define W_	GW_WRITE
#define U_	GW_USER
#define F_	GW_FETCH
#define I_	GW_IMPLICIT

#define EP	PFERR_P
#define EW	PFERR_W
#define EU	PFERR_U
#define ER	PFERR_RSVD
#define EI	PFERR_ID
#define EK	PFERR_PK

#define WP	GW_CR0_WP
#define PSE	GW_CR4_PSE
#define SMEP	GW_CR4_SMEP
#define SMAP	GW_CR4_SMAP
#define NXE	GW_EFER_NXE
#define PKE	GW_CR4_PKE
#define PKS	GW_CR4_PKS
#define KEY(k)	((uint64_t)(k) << 59)
#define AD(k)	(1u << (2 * (k)))
#define WD(k)	(2u << (2 * (k)))

#define MEM_SIZE	(64 * 4096)
#define VA_LM		0x0000405566778abcull
#define VA_32		0x87654abcull
#define PDPTE_NP	B(11)		/* a PDPTE that is not present */

struct wcase {
	const char *name;
	enum gw_mode mode;
	uint64_t cr0, cr4, efer;
	bool ac, gbpages;
	unsigned int maxphy;	/* 0: 40 */
	int level;		/* of the leaf; 0: 1 */
	uint64_t top;		/* flags of the top entry; 0: upper */
	uint64_t upper;		/* flags of the other non-leaf entries */
	uint64_t pdpte;		/* PAE PDPTE flags; 0: P */
	uint64_t leaf;		/* flags of the leaf (PS added) */
	unsigned int access;
	enum gw_status status;
	uint32_t ec;
	uint64_t gpa_or;	/* extra frame bits expected in the gpa */
	uint32_t pkru, pkrs;
};

static const struct wcase cases[] = {
	/* 4-level: U/S and R/W */
	{ "lm user read ro", GW_MODE_LM, .upper = P|RW|US, .leaf = P|US,
	  .access = U_ },
	{ "lm user write ro", GW_MODE_LM, .upper = P|RW|US, .leaf = P|US,
	  .access = U_|W_, .status = GW_FAULT, .ec = EP|EW|EU },
	{ "lm user write rw", GW_MODE_LM, .upper = P|RW|US, .leaf = P|RW|US,
	  .access = U_|W_ },
	{ "lm user read supervisor leaf", GW_MODE_LM, .upper = P|RW|US,
	  .leaf = P|RW, .access = U_, .status = GW_FAULT, .ec = EP|EU },
	{ "lm user read supervisor upper", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|RW|US, .access = U_, .status = GW_FAULT, .ec = EP|EU },
	{ "lm user write, upper ro", GW_MODE_LM, .upper = P|US,
	  .leaf = P|RW|US, .access = U_|W_, .status = GW_FAULT,
	  .ec = EP|EW|EU },
	{ "lm user write ro, wp=0 does not help", GW_MODE_LM,
	  .upper = P|RW|US, .leaf = P|US, .access = U_|W_,
	  .status = GW_FAULT, .ec = EP|EW|EU },
	/* CR0.WP */
	{ "lm sup write ro wp=0", GW_MODE_LM, .upper = P|RW, .leaf = P,
	  .access = W_ },
	{ "lm sup write ro wp=1", GW_MODE_LM, .cr0 = WP, .upper = P|RW,
	  .leaf = P, .access = W_, .status = GW_FAULT, .ec = EP|EW },
	{ "lm sup write ro upper wp=1", GW_MODE_LM, .cr0 = WP, .upper = P,
	  .leaf = P|RW, .access = W_, .status = GW_FAULT, .ec = EP|EW },
	{ "lm sup write ro upper wp=0", GW_MODE_LM, .upper = P, .leaf = P|RW,
	  .access = W_ },
	{ "lm sup write user ro wp=0", GW_MODE_LM, .upper = P|US,
	  .leaf = P|US, .access = W_ },
	/* XD with EFER.NXE */
	{ "lm user fetch xd leaf", GW_MODE_LM, .efer = NXE, .upper = P|RW|US,
	  .leaf = P|US|XD, .access = U_|F_, .status = GW_FAULT,
	  .ec = EP|EU|EI },
	{ "lm user fetch xd upper", GW_MODE_LM, .efer = NXE,
	  .upper = P|RW|US|XD, .leaf = P|US, .access = U_|F_,
	  .status = GW_FAULT, .ec = EP|EU|EI },
	{ "lm sup fetch xd", GW_MODE_LM, .efer = NXE, .upper = P|RW,
	  .leaf = P|XD, .access = F_, .status = GW_FAULT, .ec = EP|EI },
	{ "lm user fetch nxe ok", GW_MODE_LM, .efer = NXE, .upper = P|US,
	  .leaf = P|US, .access = U_|F_ },
	{ "lm read of xd page ok", GW_MODE_LM, .efer = NXE, .upper = P|RW|US,
	  .leaf = P|US|XD, .access = U_ },
	{ "lm xd with nxe=0 is reserved", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|XD, .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "lm xd with nxe=0, fetch: no I/D", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|XD, .access = F_, .status = GW_FAULT, .ec = EP|ER },
	/* SMEP */
	{ "lm sup fetch user page smep", GW_MODE_LM, .cr4 = SMEP,
	  .upper = P|RW|US, .leaf = P|US, .access = F_, .status = GW_FAULT,
	  .ec = EP|EI },
	{ "lm sup fetch user page no smep", GW_MODE_LM, .upper = P|RW|US,
	  .leaf = P|US, .access = F_ },
	{ "lm sup fetch sup page smep", GW_MODE_LM, .cr4 = SMEP,
	  .upper = P|RW|US, .leaf = P, .access = F_ },
	{ "lm smep page user at leaf only is supervisor", GW_MODE_LM,
	  .cr4 = SMEP, .upper = P|RW, .leaf = P|US, .access = F_ },
	/* SMAP */
	{ "lm sup read user page smap ac=0", GW_MODE_LM, .cr4 = SMAP,
	  .upper = P|RW|US, .leaf = P|US, .access = R_, .status = GW_FAULT,
	  .ec = EP },
	{ "lm sup read user page smap ac=1", GW_MODE_LM, .cr4 = SMAP,
	  .ac = true, .upper = P|RW|US, .leaf = P|US, .access = R_ },
	{ "lm implicit read user page smap ac=1", GW_MODE_LM, .cr4 = SMAP,
	  .ac = true, .upper = P|RW|US, .leaf = P|US, .access = I_,
	  .status = GW_FAULT, .ec = EP },
	{ "lm implicit at cpl3 is supervisor", GW_MODE_LM, .cr4 = SMAP,
	  .ac = true, .upper = P|RW|US, .leaf = P|US, .access = I_|U_,
	  .status = GW_FAULT, .ec = EP },
	{ "lm implicit read user page no smap", GW_MODE_LM,
	  .upper = P|RW|US, .leaf = P|US, .access = I_ },
	{ "lm smap: supervisor upper makes page supervisor", GW_MODE_LM,
	  .cr4 = SMAP, .upper = P|RW, .leaf = P|US, .access = R_ },
	{ "lm sup write user ro smap ac=1 wp=0", GW_MODE_LM, .cr4 = SMAP,
	  .ac = true, .upper = P|RW|US, .leaf = P|US, .access = W_ },
	{ "lm sup write user ro smap ac=1 wp=1", GW_MODE_LM, .cr0 = WP,
	  .cr4 = SMAP, .ac = true, .upper = P|RW|US, .leaf = P|US,
	  .access = W_, .status = GW_FAULT, .ec = EP|EW },
	{ "lm sup write user rw smap ac=0", GW_MODE_LM, .cr4 = SMAP,
	  .upper = P|RW|US, .leaf = P|RW|US, .access = W_,
	  .status = GW_FAULT, .ec = EP|EW },
	{ "lm smap does not apply to fetch", GW_MODE_LM, .cr4 = SMAP,
	  .upper = P|RW|US, .leaf = P|US, .access = F_ },
	{ "lm user read smap ok", GW_MODE_LM, .cr4 = SMAP|SMEP,
	  .upper = P|RW|US, .leaf = P|US, .access = U_ },
	/* not present */
	{ "lm leaf not present, user write", GW_MODE_LM, .upper = P|RW|US,
	  .leaf = RW|US, .access = U_|W_, .status = GW_FAULT, .ec = EW|EU },
	{ "lm not present fetch, no nxe/smep: no I/D", GW_MODE_LM,
	  .upper = P|RW, .leaf = 0, .access = F_, .status = GW_FAULT },
	{ "lm not present fetch nxe: I/D", GW_MODE_LM, .efer = NXE,
	  .upper = P|RW, .leaf = 0, .access = F_, .status = GW_FAULT,
	  .ec = EI },
	{ "lm not present fetch smep: I/D", GW_MODE_LM, .cr4 = SMEP,
	  .upper = P|RW, .leaf = 0, .access = F_, .status = GW_FAULT,
	  .ec = EI },
	{ "lm top not present", GW_MODE_LM, .top = RW|US, .upper = P|RW|US,
	  .leaf = P|RW|US, .access = R_, .status = GW_FAULT },
	/* reserved bits and MAXPHYADDR */
	{ "lm bit 51 reserved (M=40)", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|B(51), .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "lm bit 40 reserved (M=40)", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|B(40), .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "lm bit 40 is address (M=41)", GW_MODE_LM, .maxphy = 41,
	  .upper = P|RW, .leaf = P|B(40), .access = R_, .gpa_or = B(40) },
	{ "lm bit 39 is address (M=40)", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|B(39), .access = R_, .gpa_or = B(39) },
	{ "lm bits 62:52 ignored", GW_MODE_LM, .upper = P|RW,
	  .leaf = P|B(62)|B(52), .access = R_ },
	{ "lm reserved upper beats missing leaf", GW_MODE_LM,
	  .upper = P|RW|B(45), .leaf = 0, .access = W_, .status = GW_FAULT,
	  .ec = EP|EW|ER },
	{ "lm reserved + user: U in error code", GW_MODE_LM,
	  .upper = P|RW|US, .leaf = P|US|B(50), .access = U_,
	  .status = GW_FAULT, .ec = EP|EU|ER },
	{ "lm pml4 PS reserved", GW_MODE_LM, .top = P|RW|PS,
	  .upper = P|RW, .leaf = P, .access = R_, .status = GW_FAULT,
	  .ec = EP|ER },
	/* large pages */
	{ "lm 2M page", GW_MODE_LM, .level = 2, .upper = P|RW|US,
	  .leaf = P|RW|US, .access = U_|W_ },
	{ "lm 2M PAT bit 12 not address", GW_MODE_LM, .level = 2,
	  .upper = P|RW, .leaf = P|B(12), .access = R_ },
	{ "lm 2M bit 13 reserved", GW_MODE_LM, .level = 2, .upper = P|RW,
	  .leaf = P|B(13), .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "lm 2M bit 20 reserved", GW_MODE_LM, .level = 2, .upper = P|RW,
	  .leaf = P|B(20), .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "lm 1G page", GW_MODE_LM, .gbpages = true, .level = 3,
	  .upper = P|RW, .leaf = P|RW, .access = W_ },
	{ "lm 1G page without 1G support", GW_MODE_LM, .level = 3,
	  .upper = P|RW, .leaf = P|RW, .access = R_, .status = GW_FAULT,
	  .ec = EP|ER },
	{ "lm 1G bit 29 reserved", GW_MODE_LM, .gbpages = true, .level = 3,
	  .upper = P|RW, .leaf = P|B(29), .access = R_, .status = GW_FAULT,
	  .ec = EP|ER },
	{ "lm 1G user fetch xd", GW_MODE_LM, .gbpages = true, .level = 3,
	  .efer = NXE, .upper = P|RW|US, .leaf = P|US|XD, .access = U_|F_,
	  .status = GW_FAULT, .ec = EP|EU|EI },

	/* PAE */
	{ "pae user read", GW_MODE_PAE, .upper = P|RW|US, .leaf = P|RW|US,
	  .access = U_ },
	{ "pae user write ro", GW_MODE_PAE, .upper = P|RW|US, .leaf = P|US,
	  .access = U_|W_, .status = GW_FAULT, .ec = EP|EW|EU },
	{ "pae pdpte not present", GW_MODE_PAE, .pdpte = PDPTE_NP,
	  .upper = P|RW, .leaf = P, .access = W_, .status = GW_FAULT,
	  .ec = EW },
	{ "pae pdpte RW is reserved", GW_MODE_PAE, .pdpte = P|RW,
	  .upper = P|RW, .leaf = P, .access = R_, .status = GW_FAULT,
	  .ec = EP|ER },
	{ "pae pdpte XD reserved with nxe", GW_MODE_PAE, .efer = NXE,
	  .pdpte = P|XD, .upper = P|RW, .leaf = P, .access = R_,
	  .status = GW_FAULT, .ec = EP|ER },
	{ "pae bit 62 reserved (unlike 4-level)", GW_MODE_PAE,
	  .upper = P|RW, .leaf = P|B(62), .access = R_, .status = GW_FAULT,
	  .ec = EP|ER },
	{ "pae 2M page needs no CR4.PSE", GW_MODE_PAE, .level = 2,
	  .upper = P|RW|US, .leaf = P|RW|US, .access = U_|W_ },
	{ "pae 2M bit 20 reserved", GW_MODE_PAE, .level = 2, .upper = P|RW,
	  .leaf = P|B(20), .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "pae fetch xd", GW_MODE_PAE, .efer = NXE, .upper = P|RW,
	  .leaf = P|XD, .access = F_, .status = GW_FAULT, .ec = EP|EI },
	{ "pae xd nxe=0 reserved", GW_MODE_PAE, .upper = P|RW,
	  .leaf = P|XD, .access = R_, .status = GW_FAULT, .ec = EP|ER },
	{ "pae sup fetch user smep", GW_MODE_PAE, .cr4 = SMEP,
	  .upper = P|RW|US, .leaf = P|US, .access = F_, .status = GW_FAULT,
	  .ec = EP|EI },
	{ "pae smap ac=0", GW_MODE_PAE, .cr4 = SMAP, .upper = P|RW|US,
	  .leaf = P|US, .access = R_, .status = GW_FAULT, .ec = EP },
	{ "pae wp=1 sup write ro", GW_MODE_PAE, .cr0 = WP, .upper = P|RW,
	  .leaf = P, .access = W_, .status = GW_FAULT, .ec = EP|EW },

	/* 32-bit */
	{ "32 user write", GW_MODE_32, .upper = P|RW|US, .leaf = P|RW|US,
	  .access = U_|W_ },
	{ "32 user read supervisor", GW_MODE_32, .upper = P|RW|US,
	  .leaf = P|RW, .access = U_, .status = GW_FAULT, .ec = EP|EU },
	{ "32 user write ro upper", GW_MODE_32, .upper = P|US,
	  .leaf = P|RW|US, .access = U_|W_, .status = GW_FAULT,
	  .ec = EP|EW|EU },
	{ "32 4M page with PSE", GW_MODE_32, .cr4 = PSE, .level = 2,
	  .upper = P|RW, .leaf = P|RW, .access = W_ },
	{ "32 4M bit 21 reserved (M=40)", GW_MODE_32, .cr4 = PSE, .level = 2,
	  .upper = P|RW, .leaf = P|B(21), .access = R_, .status = GW_FAULT,
	  .ec = EP|ER },
	{ "32 PS ignored without PSE", GW_MODE_32, .upper = P|RW|US|PS,
	  .leaf = P|RW|US, .access = U_ },
	{ "32 bit 7 of a PTE is PAT", GW_MODE_32, .upper = P|RW,
	  .leaf = P|PS, .access = R_ },
	{ "32 no reserved bits in 4K entries", GW_MODE_32, .upper = P|RW,
	  .leaf = P|B(8)|B(11), .access = R_ },
	{ "32 fetch np, no smep: no I/D", GW_MODE_32, .upper = P|RW,
	  .leaf = 0, .access = F_, .status = GW_FAULT },
	{ "32 fetch np, smep: I/D", GW_MODE_32, .cr4 = SMEP, .upper = P|RW,
	  .leaf = 0, .access = F_, .status = GW_FAULT, .ec = EI },
	{ "32 nxe has no effect on I/D", GW_MODE_32, .efer = NXE,
	  .upper = P|RW, .leaf = 0, .access = F_, .status = GW_FAULT },
	{ "32 wp=1 sup write ro", GW_MODE_32, .cr0 = WP, .upper = P|RW,
	  .leaf = P, .access = W_, .status = GW_FAULT, .ec = EP|EW },
	{ "32 smap ac=0", GW_MODE_32, .cr4 = SMAP, .upper = P|RW|US,
	  .leaf = P|US, .access = R_, .status = GW_FAULT, .ec = EP },
	{ "32 smep sup fetch user page", GW_MODE_32, .cr4 = SMEP,
	  .upper = P|RW|US, .leaf = P|US, .access = F_, .status = GW_FAULT,
	  .ec = EP|EI },
	{ "32 user fetch ok", GW_MODE_32, .upper = P|RW|US, .leaf = P|US,
	  .access = U_|F_ },

	/* protection keys, SDM Vol 3 4.6.2 and 4.7 (4-level only) */
	{ "lm pku ad user read", GW_MODE_LM, .cr4 = PKE, .pkru = AD(3),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = U_,
	  .status = GW_FAULT, .ec = EP|EU|EK },
	{ "lm pku rights of other keys", GW_MODE_LM, .cr4 = PKE, .pkru = ~(3u << 6),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = U_|W_ },
	{ "lm pku ad sup read of user page", GW_MODE_LM, .cr4 = PKE,
	  .pkru = AD(3), .upper = P|RW|US, .leaf = P|RW|US|KEY(3),
	  .access = R_, .status = GW_FAULT, .ec = EP|EK },
	{ "lm pku ad implicit read of user page", GW_MODE_LM, .cr4 = PKE,
	  .pkru = AD(3), .upper = P|RW|US, .leaf = P|RW|US|KEY(3),
	  .access = U_|I_, .status = GW_FAULT, .ec = EP|EK },
	{ "lm pku ad fetch unchecked", GW_MODE_LM, .cr4 = PKE, .pkru = AD(3),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = U_|F_ },
	{ "lm pku off: pkru ignored", GW_MODE_LM, .pkru = AD(3),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = U_ },
	{ "lm pku wd user read", GW_MODE_LM, .cr4 = PKE, .pkru = WD(3),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = U_ },
	{ "lm pku wd user write wp=0", GW_MODE_LM, .cr4 = PKE, .pkru = WD(3),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = U_|W_,
	  .status = GW_FAULT, .ec = EP|EW|EU|EK },
	{ "lm pku wd sup write wp=0", GW_MODE_LM, .cr4 = PKE, .pkru = WD(3),
	  .upper = P|RW|US, .leaf = P|RW|US|KEY(3), .access = W_ },
	{ "lm pku wd sup write wp=1", GW_MODE_LM, .cr0 = WP, .cr4 = PKE,
	  .pkru = WD(3), .upper = P|RW|US, .leaf = P|RW|US|KEY(3),
	  .access = W_, .status = GW_FAULT, .ec = EP|EW|EK },
	{ "lm pku and r/w both deny: pk set", GW_MODE_LM, .cr4 = PKE,
	  .pkru = WD(3), .upper = P|RW|US, .leaf = P|US|KEY(3),
	  .access = U_|W_, .status = GW_FAULT, .ec = EP|EW|EU|EK },
	{ "lm pku leaves supervisor pages alone", GW_MODE_LM, .cr4 = PKE,
	  .pkru = AD(3), .upper = P|RW|US, .leaf = P|RW|KEY(3),
	  .access = W_ },
	{ "lm pku key of a 2m leaf", GW_MODE_LM, .cr4 = PKE, .pkru = AD(9),
	  .level = 2, .upper = P|RW|US|KEY(3), .leaf = P|RW|US|KEY(9),
	  .access = U_, .status = GW_FAULT, .ec = EP|EU|EK },
	{ "lm pku key of a non-leaf ignored", GW_MODE_LM, .cr4 = PKE,
	  .pkru = AD(3), .upper = P|RW|US|KEY(3), .leaf = P|RW|US,
	  .access = U_ },
	{ "lm pku not present: no pk", GW_MODE_LM, .cr4 = PKE, .pkru = AD(0),
	  .upper = P|RW|US, .leaf = RW|US, .access = U_,
	  .status = GW_FAULT, .ec = EU },
	{ "lm pks ad sup read", GW_MODE_LM, .cr4 = PKS, .pkrs = AD(15),
	  .upper = P|RW|US, .leaf = P|RW|KEY(15), .access = R_,
	  .status = GW_FAULT, .ec = EP|EK },
	{ "lm pks ad sup fetch unchecked", GW_MODE_LM, .cr4 = PKS,
	  .pkrs = AD(15), .upper = P|RW|US, .leaf = P|RW|KEY(15),
	  .access = F_ },
	{ "lm pks leaves user pages alone", GW_MODE_LM, .cr4 = PKS,
	  .pkrs = AD(15), .upper = P|RW|US, .leaf = P|RW|US|KEY(15),
	  .access = U_|W_ },
	{ "lm pks wd sup write wp=1", GW_MODE_LM, .cr0 = WP, .cr4 = PKS,
	  .pkrs = WD(15), .upper = P|RW|US, .leaf = P|RW|KEY(15),
	  .access = W_, .status = GW_FAULT, .ec = EP|EW|EK },
	{ "lm pks wd sup write wp=0", GW_MODE_LM, .cr4 = PKS,
	  .pkrs = WD(15), .upper = P|RW|US, .leaf = P|RW|KEY(15),
	  .access = W_ },
	{ "lm pks with pkru: pkrs for supervisor pages", GW_MODE_LM,
	  .cr4 = PKE|PKS, .pkru = AD(15), .pkrs = 0, .upper = P|RW|US,
	  .leaf = P|RW|KEY(15), .access = R_ },
	{ "pae pke: no keys", GW_MODE_PAE, .cr4 = PKE|PKS, .pkru = ~0u,
	  .pkrs = ~0u, .upper = P|RW|US, .leaf = P|RW|US, .access = U_|W_ },

	/* paging off */
	{ "paging off user write", GW_MODE_OFF, .access = U_|W_ },
	{ "paging off fetch", GW_MODE_OFF, .access = F_ },
};

struct built {
	struct gmem m;
	struct gw_ctx ctx;
	uint64_t va;
	uint64_t gpa;		/* expected translation */
	int n;
	uint64_t entry_gpa[4];	/* top first */
	unsigned int esize;
	bool pae_pdpte;		/* entry 0 is a PDPTE (no A flag) */
};

static void set_mode(struct gw_ctx *ctx, enum gw_mode mode)
{
	if (mode != GW_MODE_OFF)
		ctx->cr0 |= GW_CR0_PG;
	if (mode == GW_MODE_PAE || mode == GW_MODE_LM)
		ctx->cr4 |= GW_CR4_PAE;
	if (mode == GW_MODE_LM)
		ctx->efer |= GW_EFER_LMA;
}

static uint64_t frame_of(enum gw_mode mode, int level)
{
	if (level == 1)
		return 0x12345000ull;
	if (level == 3)
		return 0x40000000ull;
	return mode == GW_MODE_32 ? 0x12400000ull : 0x12200000ull;
}

/* Tables at pages 1.. of guest memory, the leaf mapping frame_of(). */
static void build(struct built *b, const struct wcase *c)
{
	enum gw_mode mode = c->mode;
	int leaf = c->level ? c->level : 1;
	int top = mode == GW_MODE_LM ? 4 : 2;
	uint64_t table = 0x1000, size;
	int level;

	memset(b->m.bytes, 0, MEM_SIZE);
	memset(&b->ctx, 0, sizeof(b->ctx));
	b->ctx.cr0 = c->cr0;
	b->ctx.cr4 = c->cr4;
	b->ctx.efer = c->efer;
	b->ctx.ac = c->ac;
	b->ctx.pkru = c->pkru;
	b->ctx.pkrs = c->pkrs;
	b->ctx.gbpages = c->gbpages;
	b->ctx.maxphyaddr = c->maxphy ? c->maxphy : 40;
	b->ctx.mem = &gmem_ops;
	b->ctx.mem_arg = &b->m;
	b->ctx.cr3 = table;
	set_mode(&b->ctx, mode);
	b->va = mode == GW_MODE_LM ? VA_LM : VA_32;
	b->esize = mode == GW_MODE_32 ? 4 : 8;
	b->n = 0;
	b->pae_pdpte = mode == GW_MODE_PAE;
	if (mode == GW_MODE_OFF) {
		b->gpa = VA_32;
		return;
	}
	if (mode == GW_MODE_PAE) {
		uint64_t e = (c->pdpte ? c->pdpte : P) & ~PDPTE_NP;

		b->entry_gpa[b->n++] = table + 8 * ((b->va >> 30) & 3);
		gmem_put(&b->m, b->entry_gpa[0], 8, e | 0x2000);
		table = 0x2000;
	}
	for (level = top; level >= leaf; level--) {
		unsigned int bits = mode == GW_MODE_32 ? 10 : 9;
		unsigned int shift = 12 + bits * (level - 1);
		unsigned int mask = mode == GW_MODE_32 ? 0x3ff : 0x1ff;
		uint64_t gpa = table + b->esize * ((b->va >> shift) & mask);
		uint64_t e;

		b->entry_gpa[b->n++] = gpa;
		if (level == leaf) {
			e = frame_of(mode, leaf) | c->leaf;
			if (leaf > 1)
				e |= PS;
		} else {
			table += 0x1000;
			e = table | ((level == top && c->top) ? c->top :
								c->upper);
		}
		gmem_put(&b->m, gpa, b->esize, e);
	}
	size = mode == GW_MODE_32 ? (leaf == 2 ? 1ull << 22 : 4096) :
				    1ull << (12 + 9 * (leaf - 1));
	b->gpa = frame_of(mode, leaf) | c->gpa_or | (b->va & (size - 1));
}

/* The memory a successful walk must leave: A everywhere, D on a write. */
static void expect_ad(struct built *b, uint8_t *want, unsigned int access)
{
	struct gmem w = { want, MEM_SIZE };
	int i;

	for (i = b->pae_pdpte ? 1 : 0; i < b->n; i++) {
		uint64_t e = gmem_get(&w, b->entry_gpa[i], b->esize);

		e |= A;
		if (i == b->n - 1 && (access & GW_WRITE))
			e |= D;
		gmem_put(&w, b->entry_gpa[i], b->esize, e);
	}
}

static void run_case(struct built *b, const struct wcase *c, uint8_t *snap)
{
	struct gw_result res;
	enum gw_status st;
	bool ok;

	build(b, c);
	memcpy(snap, b->m.bytes, MEM_SIZE);
	st = gw_walk(&b->ctx, b->va, c->access, &res);
	ok = st == c->status;
	if (ok && st == GW_FAULT)
		ok = res.error_code == c->ec;
	if (ok && st == GW_OK)
		ok = res.gpa == b->gpa;
	if (ok && st == GW_OK && c->mode != GW_MODE_OFF)
		expect_ad(b, snap, c->access);
	if (ok)
		ok = !memcmp(snap, b->m.bytes, MEM_SIZE);
	check(ok, c->name, "status %d (want %d) ec %#x (want %#x) gpa %#llx "
	      "(want %#llx) A/D %s", st, c->status, res.error_code, c->ec,
	      (unsigned long long)res.gpa, (unsigned long long)b->gpa,
	      memcmp(snap, b->m.bytes, MEM_SIZE) ? "differ" : "as expected");
}

/* PSE-36: address bits 35:32 of a 4 MiB page in PDE bits 16:13 (M=36). */
static void test_pse36(struct built *b)
{
	static const struct wcase c = { "pse36", GW_MODE_32, .cr4 = PSE,
					.level = 2, .upper = P, .leaf = P };
	struct gw_result res;
	enum gw_status st;
	uint64_t pde;

	build(b, &c);
	b->ctx.maxphyaddr = 36;
	pde = 0x80400000ull | (5ull << 13) | P | PS;
	gmem_put(&b->m, b->entry_gpa[0], 4, pde);
	st = gw_walk(&b->ctx, b->va, GW_NO_AD, &res);
	check(st == GW_OK && res.gpa == (0x580400000ull | (b->va & 0x3fffff)),
	      "32 4M page PSE-36 high bits (M=36)", "st %d gpa %#llx", st,
	      (unsigned long long)res.gpa);
	gmem_put(&b->m, b->entry_gpa[0], 4, pde | B(17));
	st = gw_walk(&b->ctx, b->va, 0, &res);
	check(st == GW_FAULT && res.error_code == (EP | ER),
	      "32 4M bit 17 reserved when M=36", "st %d ec %#x", st,
	      res.error_code);
}

/* Intel keeps PAE PDPTEs in registers; the walker then ignores memory. */
static void test_pdpte_cache(struct built *b)
{
	static const struct wcase c = { "pdpte", GW_MODE_PAE, .upper = P|RW,
					.leaf = P|RW };
	struct gw_result res;
	enum gw_status st;

	build(b, &c);
	b->ctx.pdptes_loaded = true;
	b->ctx.pdpte[(b->va >> 30) & 3] = gmem_get(&b->m, b->entry_gpa[0], 8);
	gmem_put(&b->m, b->entry_gpa[0], 8, 0);
	st = gw_walk(&b->ctx, b->va, GW_WRITE, &res);
	check(st == GW_OK && res.gpa == b->gpa, "pae cached PDPTEs used",
	      "st %d", st);
	b->ctx.pdpte[(b->va >> 30) & 3] = 0;
	st = gw_walk(&b->ctx, b->va, 0, &res);
	check(st == GW_FAULT && res.error_code == 0,
	      "pae cached PDPTE not present", "st %d ec %#x", st,
	      res.error_code);
}

static void test_no_ad_and_mem_error(struct built *b, uint8_t *snap)
{
	static const struct wcase c = { "noad", GW_MODE_LM, .upper = P|RW,
					.leaf = P|RW };
	struct gw_result res;
	enum gw_status st;

	build(b, &c);
	memcpy(snap, b->m.bytes, MEM_SIZE);
	st = gw_walk(&b->ctx, b->va, GW_WRITE | GW_NO_AD, &res);
	check(st == GW_OK && !memcmp(snap, b->m.bytes, MEM_SIZE) &&
	      res.nr_ptes == 4 && res.level == 1,
	      "GW_NO_AD translates without writing", "st %d", st);
	b->ctx.cr3 = 0x7ff000000ull;
	st = gw_walk(&b->ctx, b->va, 0, &res);
	check(st == GW_MEM_ERROR && (res.bad_gpa & ~0xfffull) == 0x7ff000000ull,
	      "unbacked table reports GW_MEM_ERROR", "st %d bad %#llx", st,
	      (unsigned long long)res.bad_gpa);
}

/* A CPU that changes the leaf between our read and our A/D update. */
static struct built *racy_b;
static int racy_calls;

static int racy_read(void *arg, uint64_t gpa, unsigned int size, uint64_t *v)
{
	return gmem_ops.read(arg, gpa, size, v);
}

static int racy_cmpxchg(void *arg, uint64_t gpa, unsigned int size,
			uint64_t old, uint64_t new)
{
	if (racy_calls++ == 0) {
		struct built *b = racy_b;

		gmem_put(&b->m, b->entry_gpa[b->n - 1], 8, 0);
	}
	return gmem_ops.cmpxchg(arg, gpa, size, old, new);
}

static const struct gw_mem_ops racy_ops = { racy_read, racy_cmpxchg };

static void test_restart(struct built *b, uint8_t *snap)
{
	static const struct wcase c = { "race", GW_MODE_LM, .upper = P|RW,
					.leaf = P|RW };
	struct gw_result res;
	enum gw_status st;

	build(b, &c);
	racy_b = b;
	racy_calls = 0;
	b->ctx.mem = &racy_ops;
	/* the first A update (top level) succeeds after the leaf is gone */
	st = gw_walk(&b->ctx, b->va, GW_WRITE, &res);
	check(st == GW_FAULT && res.error_code == EW && racy_calls == 4,
	      "entry changed during A/D update: walk restarts and faults",
	      "st %d ec %#x calls %d", st, res.error_code, racy_calls);
}

int main(void)
{
	struct built b;
	uint8_t *snap = malloc(MEM_SIZE);
	size_t i;

	b.m.bytes = malloc(MEM_SIZE);
	b.m.size = MEM_SIZE;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&b, &cases[i], snap);
	test_pse36(&b);
	test_pdpte_cache(&b);
	test_no_ad_and_mem_error(&b, snap);
	test_restart(&b, snap);
	free(b.m.bytes);
	free(snap);
	return check_finish();
}
