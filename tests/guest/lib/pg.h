/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest kernels: the paging conformance kit (pg.c, pgrun.asm, pgsuite.c).
 *
 * A test builds page tables for one paging mode in a pool of pages inside
 * the kernel image (identity-mapped, so the tables are data at their
 * physical address), writes a list of operations (struct pg_op) and calls
 * pg_run(): that enters the paging mode from 32-bit protected mode with
 * paging off, runs the operations one after the other (in 64-bit code for
 * 4-level paging), records for each the value read and any exception
 * (vector, error code, CR2), and comes back with paging off.  A faulting
 * operation is abandoned and the next one runs.  Operations flagged
 * PG_USER run at CPL 3 (a ring-3 code segment entered by IRET; INT 0x81
 * or the fault brings the CPU back to ring 0 through the TSS).
 *
 * Levels are numbered from the leaf: 1 is the page table, 2 the page
 * directory, 3 the PDPT, 4 the PML4.
 */
#ifndef GUEST_PG_H
#define GUEST_PG_H

#include <stdint.h>

#include "guest.h"
#include "x86.h"

/* Paging-structure entry bits (SDM Vol 3 4.3-4.5, APM Vol 2 5.3-5.4). */
#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_U		(1ull << 2)
#define PTE_PWT		(1ull << 3)
#define PTE_PCD		(1ull << 4)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PS		(1ull << 7)
#define PTE_G		(1ull << 8)
#define PTE_NX		(1ull << 63)

/* #PF error code (SDM 4.7, APM 8.4.2). */
#define PF_P		(1u << 0)
#define PF_W		(1u << 1)
#define PF_U		(1u << 2)
#define PF_RSVD		(1u << 3)
#define PF_ID		(1u << 4)
#define PF_PK		(1u << 5)

#define CR4_SMEP	(1u << 20)
#define CR4_SMAP	(1u << 21)
#define EFLAGS_AC	(1u << 18)

#define VEC_DF		8	/* 4-level paging: on IST1 (pg.c) */
#define VEC_GP		13
#define VEC_PF		14
#define VEC_NONE	0xffffffffu

enum pg_kind { PG_32, PG_PAE, PG_64 };

/* Operations (keep in step with pgrun.asm). */
enum pg_op_kind {
	OP_READ = 1,	/* out = dword at addr */
	OP_WRITE,	/* dword val to addr */
	OP_EXEC,	/* call addr; out = eax it returns */
	OP_STORE,	/* mov of val to addr (PG_Q: a qword) */
	OP_INVLPG,	/* invlpg [addr] */
	OP_CR0,		/* mov val to cr0 */
	OP_CR3,		/* mov val to cr3 */
	OP_CR4,		/* mov val to cr4 */
	OP_XCHG,	/* xchg val with addr; out = old */
	OP_CMPXCHG,	/* lock cmpxchg: val2 expected, val new; out = old */
	OP_OR,		/* lock or val into addr */
	OP_AND,		/* lock and val into addr */
	OP_BTS,		/* lock bts bit val of addr */
	OP_BTR,		/* lock btr bit val of addr */
	OP_STOS,	/* rep stos val to addr, val2 elements */
	OP_MOVS,	/* rep movs from val to addr, val2 elements */
	OP_RDCR,	/* out = cr(val): 0, 2, 3 or 4 */
	OP_RDMSR,	/* out = msr(addr) */
	OP_WRMSR,	/* msr(addr) = val */
	OP_WRPKRU,	/* PKRU = val (CR4.PKE) */
	OP_RDPKRU,	/* out = PKRU */
};

#define PG_USER		(1u << 0)	/* at CPL 3 (READ, WRITE, EXEC) */
#define PG_AC		(1u << 1)	/* with EFLAGS.AC set */
#define PG_Q		(1u << 2)	/* 64-bit element (see pgrun.asm) */

struct pg_op {
	uint32_t kind;
	uint32_t flags;
	uint64_t addr;
	uint64_t val;
	uint64_t val2;
	uint64_t out;
	uint32_t vector;	/* VEC_NONE when no exception */
	uint32_t pad;
	uint64_t err;
	uint64_t cr2;
};

struct pg_cfg {
	uint32_t kind;		/* enum pg_kind */
	uint32_t cr0_set;	/* CR0 bits besides PE and PG (WP) */
	uint32_t cr4;		/* CR4 while paging is on */
	uint32_t cr3;
	uint64_t efer_set;	/* EFER bits besides LME (NXE) */
};

/* An address space under construction. */
struct pg_as {
	const struct pg_mode *mode;
	uint32_t root;		/* physical address of the top table */
	uint32_t next;		/* pg_fresh_va()'s cursor */
};

struct pg_mode {
	const char *name;
	enum pg_kind kind;
	int levels;
	int esize;		/* bytes per entry */
	int ibits;		/* index bits per level (below the top) */
	int top_bits;		/* index bits of the top level */
	uint32_t cr4;		/* CR4.PAE/PSE needed */
};

extern const struct pg_mode pg_mode_32, pg_mode_pae, pg_mode_64;

/* What the CPU offers (filled by pg_init()). */
struct pg_cpu {
	int intel, amd;
	int pse, pae, pge, nx, lm, smep, smap, pdpe1gb, pse36;
	int maxphys;		/* MAXPHYADDR */
	int qemu;		/* brand "QEMU Virtual CPU": TCG's deviations */
};
extern struct pg_cpu pg_cpu;

void pg_init(void);

/* The page pool (reset frees everything). */
void pg_reset(void);
void *pg_page(void);

/*
 * A data frame from the pool: byte 0 holds "mov eax, id; ret", dword 0x10
 * holds id, the rest is zero.  id is unique to the frame.
 */
uint32_t pg_frame(void);
uint32_t pg_frame_id(uint32_t frame);
#define FRAME_CODE	0x000
#define FRAME_ID	0x010
#define FRAME_DATA	0x020

/* Size mapped by one entry at level lvl. */
uint64_t pg_level_size(const struct pg_mode *m, int lvl);

/*
 * A new address space: the kernel image (and the pool) identity-mapped
 * with 4 KiB supervisor pages, the framework's ring-3 page user.
 */
void pg_as_init(struct pg_as *as, const struct pg_mode *m);

/*
 * Map va to pa with a leaf at level lvl (1: 4 KiB page, 2: large page,
 * 3: 1 GiB page).  Missing tables above are created with the flags
 * up[lvl] (index by level; 0 entries mean P|W|U).  Existing ones are kept.
 */
void pg_map(struct pg_as *as, uint64_t va, uint64_t pa, int lvl,
	    uint64_t leaf_flags, const uint64_t *up);

/* Address of the entry at level lvl for va, 0 if a table above is absent. */
uint32_t pg_entry_addr(struct pg_as *as, uint64_t va, int lvl);
uint64_t pg_entry_get(struct pg_as *as, uint64_t va, int lvl);
void pg_entry_set(struct pg_as *as, uint64_t va, int lvl, uint64_t v);

/* A fresh virtual region no other mapping shares below the top level. */
uint64_t pg_fresh_va(struct pg_as *as);

/* The ring-3 page (code and stack) and its size; where the pool lies. */
extern uint8_t pg_user_page[];

/* Operations. */
struct pg_ops {
	int n;
	struct pg_op op[512];
};

void pg_ops_init(struct pg_ops *o);
struct pg_op *pg_add(struct pg_ops *o, uint32_t kind, uint32_t flags,
		     uint64_t addr, uint64_t val, uint64_t val2);

/* Run the operations in the mode given by as and the extra CR/EFER bits. */
void pg_cfg_init(struct pg_cfg *c, struct pg_as *as, uint32_t cr0_set,
		 uint32_t cr4_set, uint64_t efer_set);
void pg_run(const struct pg_cfg *c, struct pg_ops *o);

/* Checking results: 1 if op faulted with this vector/error/CR2. */
int pg_faulted(const struct pg_op *op, uint32_t vector, uint32_t err,
	       uint64_t cr2);
int pg_ok(const struct pg_op *op);
/* The error code of a reserved-bit #PF matches want (P | RSVD | ...). */
int pg_rsvd_err_ok(const struct pg_op *op, uint32_t want);
/* A short description of an op's outcome, for FAIL lines. */
const char *pg_outcome(const struct pg_op *op);

/* The #PF error code bits that the architecture defines for a fetch. */
int pg_fetch_sets_id(uint32_t cr4, uint64_t efer, enum pg_kind kind);

/* pgsuite.c: the checks every paging mode shares. */
void pg_suite(const struct pg_mode *m);	/* all below but the matrix */
void pg_suite_matrix(const struct pg_mode *m, int large_lvl);
void pg_suite_ad(const struct pg_mode *m);
void pg_suite_invlpg(const struct pg_mode *m);
void pg_suite_cr3(const struct pg_mode *m);
void pg_suite_global(const struct pg_mode *m);
void pg_suite_instr(const struct pg_mode *m);
void pg_suite_alias(const struct pg_mode *m);
void pg_suite_reserved(const struct pg_mode *m);

#endif
