// SPDX-License-Identifier: BSD-2-Clause
/*
 * hello: the multiboot hand-off.  Prints the command line and checks the
 * machine state the multiboot specification requires at entry: EAX holds
 * the magic, EBX the information structure, protected mode without paging,
 * interrupts off, flat 4 GiB segments.  The arguments must be "alpha beta",
 * or, to check that a long command line arrives whole, "alpha pad0000
 * pad0001 ... padNNNN beta" (tests/run-guest-tests.py passes about 1,900
 * characters): all of it, in order, beta last.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "hello";

#define AR_TYPE(ar)	(((ar) >> 8) & 0xf)
#define AR_S		(1u << 12)
#define AR_DPL(ar)	(((ar) >> 13) & 3)
#define AR_P		(1u << 15)
#define AR_L		(1u << 21)
#define AR_DB		(1u << 22)
#define AR_G		(1u << 23)

static void check_segment(const struct seg_probe *p, int code)
{
	char name[32];
	int type_ok;

	snprintf(name, sizeof(name), "entry %s flat 4 GiB %s", p->name,
		 code ? "code" : "data");
	if (!p->lar_ok || !p->lsl_ok) {
		check(0, name, "selector %#x: LAR %s, LSL %s", p->sel,
		      p->lar_ok ? "ok" : "failed", p->lsl_ok ? "ok" : "failed");
		return;
	}
	if (code)	/* code, readable (conforming or not) */
		type_ok = (AR_TYPE(p->ar) & 0xa) == 0xa;
	else		/* data, writable, expand-up */
		type_ok = (AR_TYPE(p->ar) & 0xe) == 0x2;
	check(type_ok && (p->ar & AR_S) && (p->ar & AR_P) &&
	      AR_DPL(p->ar) == 0 && (p->ar & AR_DB) && !(p->ar & AR_L) &&
	      p->limit == 0xffffffffu && p->gdt_ok && p->base == 0, name,
	      "selector %#x access %#x (type %#x S %d DPL %u P %d L %d D/B %d "
	      "G %d) limit %#x base %#x%s", p->sel, p->ar, AR_TYPE(p->ar),
	      !!(p->ar & AR_S), AR_DPL(p->ar), !!(p->ar & AR_P),
	      !!(p->ar & AR_L), !!(p->ar & AR_DB), !!(p->ar & AR_G),
	      p->limit, p->base, p->gdt_ok ? "" : " (descriptor unreadable)");
}

/* The word at *p (advanced past it and the blanks after it), in w. */
static size_t next_word(const char **p, char *w, size_t size)
{
	size_t n = 0;

	while (**p && **p != ' ') {
		if (n + 1 < size)
			w[n++] = **p;
		(*p)++;
	}
	w[n] = 0;
	while (**p == ' ')
		(*p)++;
	return n;
}

/* "NAME alpha pad0000 ... padNNNN beta": -1 if not, else the pad words. */
static int count_pads(const char *s)
{
	char w[32], want[16];
	int pads = 0;

	next_word(&s, w, sizeof(w));		/* the kernel's name */
	next_word(&s, w, sizeof(w));
	if (strcmp(w, "alpha"))
		return -1;
	for (;;) {
		next_word(&s, w, sizeof(w));
		if (!strcmp(w, "beta"))
			return *s ? -1 : pads;
		snprintf(want, sizeof(want), "pad%04d", pads);
		if (strcmp(w, want))
			return -1;
		pads++;
	}
}

static void check_whole_cmdline(void)
{
	int pads = count_pads(boot.cmdline);

	info("cmdline of %u characters, %d pad words", boot.cmdline_len, pads);
	check(pads >= 0 && boot.cmdline_len < sizeof(boot.cmdline),
	      "cmdline arrives whole: alpha, pad words in order, beta last",
	      "%u characters, ends \"%s\"", boot.cmdline_len,
	      boot.cmdline + (strlen(boot.cmdline) > 40 ?
			      strlen(boot.cmdline) - 40 : 0));
}

void test_main(void)
{
	const struct entry_state *e = &entry_state;
	int i;

	printf("hello from the guest: cmdline \"%s\"\n", boot.cmdline);

	check(e->eax == MB_MAGIC, "entry eax is the multiboot magic",
	      "eax %#x, expected %#x", e->eax, MB_MAGIC);
	check(e->ebx != 0 && !(e->ebx & 3) && boot.valid &&
	      (e->ebx < (uint32_t)__kernel_start ||
	       e->ebx >= (uint32_t)__kernel_end),
	      "entry ebx points to the multiboot info", "ebx %#x", e->ebx);
	check(boot.flags & MB_FLAG_MEM, "multiboot info has mem_lower/upper",
	      "flags %#x", boot.flags);
	check(boot.flags & MB_FLAG_MMAP, "multiboot info has a memory map",
	      "flags %#x", boot.flags);
	check(boot.nr_mmap > 0, "memory map is not empty", "%d entries",
	      boot.nr_mmap);
	check(e->cr0 & CR0_PE, "entry cr0.pe set", "cr0 %#x", e->cr0);
	check(!(e->cr0 & CR0_PG), "entry cr0.pg clear", "cr0 %#x", e->cr0);
	check(!(e->eflags & EFLAGS_VM), "entry eflags.vm clear",
	      "eflags %#x", e->eflags);
	check(!(e->eflags & EFLAGS_IF), "entry eflags.if clear",
	      "eflags %#x", e->eflags);
	for (i = 0; i < 6; i++)
		check_segment(&entry_segs[i], i == 0);

	check(boot.flags & MB_FLAG_CMDLINE, "multiboot info has a cmdline",
	      "flags %#x", boot.flags);
	check(cmdline_has_word(boot.cmdline, "alpha"), "cmdline has alpha",
	      "cmdline \"%s\"", boot.cmdline);
	check(cmdline_has_word(boot.cmdline, "beta"), "cmdline has beta",
	      "cmdline \"%s\"", boot.cmdline);
	check(strstr(boot.cmdline, "hello.elf") != NULL,
	      "cmdline names the kernel", "cmdline \"%s\"", boot.cmdline);
	check_whole_cmdline();
}
