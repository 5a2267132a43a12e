// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench: a benchmark guest for the MMU (figures only, not a test; run by
 * tests/bench/guest-bench.py, never by the test matrix).
 *
 * A 64-bit multiboot kernel (bench_entry.asm enters long mode with an
 * identity map of the first 1 GiB in 2 MiB pages, which every address
 * space shares as its PML4 entry 0, like a kernel half).  Workloads live
 * at USER_VA (PML4 entry 1) in 4 KiB pages; their page tables and data
 * frames come from a pool of frames at POOL_BASE with a LIFO free list and
 * a reference count per frame.
 *
 *   fork   per round: copy the parent's page tables for a child (new
 *          PML4, PDPT, PD and leaf tables) making every writable leaf
 *          read-only in both, as fork() does for copy-on-write, and
 *          reload CR3 (the parent's TLB flush); switch CR3 to the child;
 *          the child writes to FORK_CHILD_WRITES pages, each a #PF whose
 *          handler breaks COW (copies the frame, maps the copy writable,
 *          INVLPG); switch back to the parent and tear the child down
 *          (drop its frames, free its tables); the parent writes to
 *          FORK_PARENT_WRITES pages, each a #PF that finds the frame no
 *          longer shared and makes the PTE writable again.
 *   churn  two address spaces with one leaf table each; per round, in
 *          one of them by turns: switch CR3 to it, rewrite CHURN_PTES of
 *          its PTEs to point at other frames, INVLPG each, read each page.
 *
 * Command line: "fork=N churn=N" (rounds; 0 skips a workload, the setup
 * runs anyway, so that a run with both 0 is the baseline of the others).
 * Per workload one line
 *
 *	bench: W: N rounds, T tsc total, T tsc/round, F faults/round, ok
 *
 * (T from RDTSC around the rounds; F the guest's own #PF handler calls),
 * then "bench: done" and the exit through isa-debug-exit with status 0,
 * or 1 when a check of the data failed (a COW copy that leaked into the
 * parent, a page that read the wrong frame).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define COM1			0x3f8
#define DEBUG_EXIT_PORT		0xf4
#define BOCHS_SHUTDOWN_PORT	0x8900

#define PAGE_SIZE		4096ul
#define PTE_P			(1ull << 0)
#define PTE_W			(1ull << 1)
#define PTE_A			(1ull << 5)
#define PTE_D			(1ull << 6)
#define PTE_ADDR		0x000ffffffffff000ull
#define TABLE_FLAGS		(PTE_P | PTE_W)
#define PF_P			(1u << 0)
#define PF_W			(1u << 1)

#define POOL_BASE		(16ul << 20)
#define POOL_END		(80ul << 20)
#define POOL_FRAMES		((POOL_END - POOL_BASE) / PAGE_SIZE)

#define USER_PML4E		1
#define USER_VA			((uint64_t)USER_PML4E << 39)

#define FORK_PAGES		1024	/* 4 MiB: two leaf tables */
#define FORK_TABLES		(FORK_PAGES / 512)
#define FORK_CHILD_STRIDE	16	/* the child writes every 16th page */
#define FORK_PARENT_STRIDE	64	/* the parent every 64th */
#define FORK_CHILD_WRITES	(FORK_PAGES / FORK_CHILD_STRIDE)
#define FORK_PARENT_WRITES	(FORK_PAGES / FORK_PARENT_STRIDE)

#define CHURN_FRAMES		1024	/* frames the PTEs point at by turns */
#define CHURN_PTES		32

/* ---- the machine ---- */

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* The address space loaded now: the #PF handler walks it without reading
 * CR3 (which exits under shadow paging), as an OS knows its current one. */
static uint64_t cur_cr3;

static inline void write_cr3(uint64_t v)
{
	cur_cr3 = v;
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static void *zero_page(void *p)
{
	void *d = p;
	uint64_t n = PAGE_SIZE / 8;

	asm volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
	return p;
}

static void copy_page(void *dst, const void *src)
{
	uint64_t n = PAGE_SIZE / 8;

	asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/* ---- console ---- */

static void serial_init(void)
{
	outb(COM1 + 1, 0x00);		/* no interrupts */
	outb(COM1 + 3, 0x80);		/* DLAB */
	outb(COM1 + 0, 0x01);		/* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);		/* 8N1 */
	outb(COM1 + 2, 0xc7);		/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);		/* DTR, RTS */
}

static void put_raw(char c)
{
	for (int n = 0; n < 1000000 && !(inb(COM1 + 5) & 0x20); n++)
		;
	outb(COM1, (uint8_t)c);
}

static void putc_serial(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}

static void put_num(uint64_t v, unsigned int base, int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		putc_serial(pad);
	while (n)
		putc_serial(tmp[--n]);
}

/* %s, %c, %d, %u, %x with an optional width and l (64-bit); no more. */
static void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		uint64_t v;

		if (*fmt != '%') {
			putc_serial(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				putc_serial(*s);
			break;
		case 'c':
			putc_serial((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t d = lng ? va_arg(ap, int64_t) : va_arg(ap, int);

			if (d < 0) {
				putc_serial('-');
				d = -d;
			}
			put_num((uint64_t)d, 10, width, pad);
			break;
		}
		case 'u':
		case 'x':
			v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int);
			put_num(v, *fmt == 'u' ? 10 : 16, width, pad);
			break;
		default:
			putc_serial('%');
			putc_serial(*fmt);
			break;
		}
	}
	va_end(ap);
}

static __attribute__((noreturn)) void bench_exit(uint32_t code)
{
	const char *s = "Shutdown";

	for (int n = 0; n < 1000000 && (inb(COM1 + 5) & 0x60) != 0x60; n++)
		;
	outl(DEBUG_EXIT_PORT, code);
	while (*s)
		outb(BOCHS_SHUTDOWN_PORT, (uint8_t)*s++);
	for (;;)
		asm volatile("cli; hlt");
}

/* ---- multiboot information (read before the pool is touched) ---- */

extern uint32_t bench_mb_magic, bench_mb_info;
static char cmdline[256];

static int pool_is_usable(void)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)bench_mb_info;
	uint64_t p, end;

	if (bench_mb_magic != 0x2badb002u || !(mbi[0] & (1u << 6)))
		return 0;
	for (p = mbi[12], end = p + mbi[11]; p + 24 <= end;
	     p += *(const uint32_t *)(uintptr_t)p + 4) {
		const uint8_t *e = (const uint8_t *)(uintptr_t)p;
		uint64_t base = *(const uint64_t *)(e + 4);
		uint64_t len = *(const uint64_t *)(e + 12);

		if (*(const uint32_t *)(e + 20) == 1 && base <= POOL_BASE &&
		    base + len >= POOL_END)
			return 1;
	}
	return 0;
}

static void read_cmdline(void)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)bench_mb_info;
	const char *s;
	size_t i;

	if (bench_mb_magic != 0x2badb002u || !(mbi[0] & (1u << 2)) || !mbi[4])
		return;
	s = (const char *)(uintptr_t)mbi[4];
	for (i = 0; s[i] && i < sizeof(cmdline) - 1; i++)
		cmdline[i] = s[i];
	cmdline[i] = '\0';
}

/* The number after "key=" on the command line, or def. */
static uint64_t arg(const char *key, uint64_t def)
{
	for (const char *w = cmdline; *w; ) {
		const char *k = key, *c = w;

		while (*k && *c == *k) {
			k++;
			c++;
		}
		if (!*k && *c == '=' && (w == cmdline || w[-1] == ' ')) {
			uint64_t v = 0;

			for (c++; *c >= '0' && *c <= '9'; c++)
				v = v * 10 + (uint64_t)(*c - '0');
			return v;
		}
		while (*w && *w != ' ')
			w++;
		while (*w == ' ')
			w++;
	}
	return def;
}

/* ---- the frame pool ---- */

static uint32_t free_list[POOL_FRAMES];
static uint32_t nr_free;
static uint16_t refs[POOL_FRAMES];

static void pool_init(void)
{
	/* LIFO, lowest frame on top: freed frames are the next ones used */
	for (uint64_t i = 0; i < POOL_FRAMES; i++)
		free_list[nr_free++] = (uint32_t)(POOL_FRAMES - 1 - i);
}

static uint64_t frame_alloc(void)
{
	uint32_t f;

	if (!nr_free) {
		print("bench: FAIL: out of frames\n");
		bench_exit(1);
	}
	f = free_list[--nr_free];
	refs[f] = 1;
	return POOL_BASE + (uint64_t)f * PAGE_SIZE;
}

static uint32_t frame_index(uint64_t pa)
{
	return (uint32_t)((pa - POOL_BASE) / PAGE_SIZE);
}

static void frame_put(uint64_t pa)
{
	uint32_t f = frame_index(pa);

	if (!--refs[f])
		free_list[nr_free++] = f;
}

static uint64_t *table_alloc(void)
{
	return zero_page((void *)(uintptr_t)frame_alloc());
}

static uint64_t *table_of(uint64_t e)
{
	return (uint64_t *)(uintptr_t)(e & PTE_ADDR);
}

/* ---- address spaces: PML4 entry 0 shared, 4 KiB pages below entry 1 ---- */

extern uint64_t bench_pml4[512];

struct as {
	uint64_t *pml4;
	uint64_t *pd;		/* the one PD below USER_PML4E's PDPT */
	int nr_tables;
};

static void as_new(struct as *as, int nr_tables)
{
	uint64_t *pdpt;

	as->pml4 = table_alloc();
	as->pml4[0] = bench_pml4[0];
	pdpt = table_alloc();
	as->pml4[USER_PML4E] = (uint64_t)(uintptr_t)pdpt | TABLE_FLAGS;
	as->pd = table_alloc();
	pdpt[0] = (uint64_t)(uintptr_t)as->pd | TABLE_FLAGS;
	as->nr_tables = nr_tables;
	for (int t = 0; t < nr_tables; t++)
		as->pd[t] = (uint64_t)(uintptr_t)table_alloc() | TABLE_FLAGS;
}

static uint64_t *as_pte(const struct as *as, unsigned int page)
{
	return table_of(as->pd[page / 512]) + page % 512;
}

static uint64_t as_cr3(const struct as *as)
{
	return (uint64_t)(uintptr_t)as->pml4;
}

static void as_free(struct as *as)
{
	for (int t = 0; t < as->nr_tables; t++) {
		uint64_t *pt = table_of(as->pd[t]);

		for (int i = 0; i < 512; i++)
			if (pt[i] & PTE_P)
				frame_put(pt[i] & PTE_ADDR);
		frame_put((uint64_t)(uintptr_t)pt);
	}
	frame_put((uint64_t)(uintptr_t)as->pd);
	frame_put(as->pml4[USER_PML4E] & PTE_ADDR);
	frame_put((uint64_t)(uintptr_t)as->pml4);
}

/*
 * fork: the child gets copies of every table; writable leaves become
 * read-only in parent and child and their frames gain a reference.
 */
static void as_fork(struct as *child, struct as *parent)
{
	as_new(child, parent->nr_tables);
	for (int t = 0; t < parent->nr_tables; t++) {
		uint64_t *pp = table_of(parent->pd[t]);
		uint64_t *cp = table_of(child->pd[t]);

		for (int i = 0; i < 512; i++) {
			uint64_t e = pp[i];

			if (!(e & PTE_P))
				continue;
			if (e & PTE_W) {
				e &= ~PTE_W;
				pp[i] = e;
			}
			cp[i] = e;
			refs[frame_index(e & PTE_ADDR)]++;
		}
	}
}

/* ---- page faults ---- */

struct frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax, rbx;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

void bench_exception(struct frame *f);

static uint64_t nr_faults, nr_copies;

/* A write to a read-only user page: copy-on-write. 0 if it is not one. */
static int cow_fault(uint64_t va, uint64_t error)
{
	uint64_t *t = table_of(cur_cr3), e, pa, copy;
	int lvl;

	if ((va >> 39) != USER_PML4E || (error & (PF_P | PF_W)) != (PF_P | PF_W))
		return 0;
	for (lvl = 4; lvl > 1; lvl--) {
		e = t[(va >> (12 + 9 * (lvl - 1))) & 511];
		if (!(e & PTE_P))
			return 0;
		t = table_of(e);
	}
	t += (va >> 12) & 511;
	e = *t;
	if (!(e & PTE_P) || (e & PTE_W))
		return 0;
	pa = e & PTE_ADDR;
	nr_faults++;
	if (refs[frame_index(pa)] > 1) {
		copy = frame_alloc();
		copy_page((void *)(uintptr_t)copy, (void *)(uintptr_t)pa);
		frame_put(pa);
		e = (e & ~PTE_ADDR) | copy;
		nr_copies++;
	}
	*t = e | PTE_W;
	invlpg(va);
	return 1;
}

void bench_exception(struct frame *f)
{
	uint64_t cr2 = read_cr2();

	if (f->vector == 14 && cow_fault(cr2, f->error))
		return;
	print("bench: FAIL: exception %lu error %lx at rip %lx, cr2 %lx\n",
	      f->vector, f->error, f->rip, cr2);
	bench_exit(1);
}

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_gate idt[32] __attribute__((aligned(16)));
extern const uint64_t bench_exc_stubs[32];

static void idt_init(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} p = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	for (int i = 0; i < 32; i++) {
		uint64_t a = bench_exc_stubs[i];

		idt[i] = (struct idt_gate){
			.off_lo = (uint16_t)a, .sel = 0x08, .type = 0x8e,
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
	asm volatile("lidt %0" : : "m"(p));
}

/* ---- the workloads ---- */

static int failed;

static void report(const char *name, uint64_t rounds, uint64_t tsc,
		   uint64_t faults, int bad)
{
	if (!rounds) {
		print("bench: %s: skipped\n", name);
		return;
	}
	print("bench: %s: %lu rounds, %lu tsc total, %lu tsc/round, "
	      "%lu faults/round, %s\n", name, rounds, tsc, tsc / rounds,
	      faults / rounds, bad ? "BAD DATA" : "ok");
	failed |= bad;
}

static struct as parent, child, churn_as[2];
static uint64_t churn_frames[CHURN_FRAMES];

static volatile uint64_t *user_page(unsigned int page)
{
	return (volatile uint64_t *)(uintptr_t)(USER_VA + page * PAGE_SIZE);
}

static void fork_setup(void)
{
	as_new(&parent, FORK_TABLES);
	for (unsigned int i = 0; i < FORK_PAGES; i++) {
		uint64_t pa = frame_alloc();

		zero_page((void *)(uintptr_t)pa);
		*(uint64_t *)(uintptr_t)pa = i;
		*as_pte(&parent, i) = pa | PTE_P | PTE_W;
	}
}

static void fork_run(uint64_t rounds)
{
	uint64_t t0, t, faults0 = nr_faults;
	int bad = 0;

	write_cr3(as_cr3(&parent));
	t0 = rdtsc();
	for (uint64_t r = 0; r < rounds; r++) {
		as_fork(&child, &parent);
		write_cr3(as_cr3(&parent));
		write_cr3(as_cr3(&child));
		for (unsigned int i = 0; i < FORK_PAGES; i += FORK_CHILD_STRIDE)
			user_page(i)[0] = ~(uint64_t)i;
		write_cr3(as_cr3(&parent));
		as_free(&child);
		for (unsigned int i = 0; i < FORK_PAGES; i += FORK_PARENT_STRIDE)
			user_page(i)[1] = r;
	}
	t = rdtsc() - t0;
	for (unsigned int i = 0; i < FORK_PAGES && rounds; i++)
		bad |= user_page(i)[0] != i;
	bad |= rounds && nr_copies != rounds * FORK_CHILD_WRITES;
	write_cr3((uint64_t)(uintptr_t)bench_pml4);
	report("fork", rounds, t, nr_faults - faults0, bad);
}

static void churn_setup(void)
{
	for (int i = 0; i < CHURN_FRAMES; i++) {
		churn_frames[i] = frame_alloc();
		zero_page((void *)(uintptr_t)churn_frames[i]);
		*(uint64_t *)(uintptr_t)churn_frames[i] = i;
	}
	for (int a = 0; a < 2; a++) {
		as_new(&churn_as[a], 1);
		for (unsigned int i = 0; i < 512; i++)
			*as_pte(&churn_as[a], i) = churn_frames[(i + 512 * a) %
						CHURN_FRAMES] | PTE_P | PTE_W;
	}
}

static void churn_run(uint64_t rounds)
{
	uint64_t t0, t, faults0 = nr_faults;
	int bad = 0;

	t0 = rdtsc();
	for (uint64_t r = 0; r < rounds; r++) {
		struct as *as = &churn_as[r & 1];
		unsigned int first = (unsigned int)(r / 2 * CHURN_PTES) % 512;

		write_cr3(as_cr3(as));
		for (unsigned int i = first; i < first + CHURN_PTES; i++) {
			unsigned int f = (unsigned int)(i + r) % CHURN_FRAMES;

			*as_pte(as, i) = churn_frames[f] | PTE_P | PTE_W;
			invlpg(USER_VA + i * PAGE_SIZE);
		}
		for (unsigned int i = first; i < first + CHURN_PTES; i++)
			bad |= user_page(i)[0] != (i + r) % CHURN_FRAMES;
	}
	t = rdtsc() - t0;
	write_cr3((uint64_t)(uintptr_t)bench_pml4);
	report("churn", rounds, t, nr_faults - faults0, bad);
}

void bench_main(void);
void bench_main(void)
{
	uint64_t fork_rounds, churn_rounds;

	cur_cr3 = (uint64_t)(uintptr_t)bench_pml4;	/* bench_entry.asm's */
	serial_init();
	idt_init();
	read_cmdline();
	print("\nbench: command line '%s'\n", cmdline);
	if (!pool_is_usable()) {
		print("bench: FAIL: %lx-%lx is not usable memory\n",
		      POOL_BASE, POOL_END - 1);
		bench_exit(1);
	}
	pool_init();
	fork_rounds = arg("fork", 100);
	churn_rounds = arg("churn", 1000);
	fork_setup();
	churn_setup();
	fork_run(fork_rounds);
	churn_run(churn_rounds);
	print("bench: done\n");
	bench_exit(failed ? 1 : 0);
}
