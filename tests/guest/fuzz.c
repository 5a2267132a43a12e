// SPDX-License-Identifier: BSD-2-Clause
/*
 * fuzz: random programs in ring 0 and ring 3, with random control
 * registers, MSRs, segment and descriptor-table state, page-table contents
 * and local APIC accesses; umbra must survive all of them and never show
 * the guest its own memory.
 *
 * Command line: seed=N count=M [first=K] [block=B] [canary=0xHEX]
 * [exclude=CLASS,...] [include=CLASS,...] [scan=full|low|none]
 * [noscan=0xBASE-0xEND] [stale=fail] [verbose=1|2].
 * Program i (first <= i < first + count) depends on (seed, i) only: one
 * program replays with first=i count=1.  One line per block of B programs:
 * "PASS: programs A-B seed N" when no program of the block showed the
 * canary; then the memory scan's line and the closing line.
 *
 * The machine: 32-bit protected mode, PAE paging with NX.  Everything
 * below 16 MiB is identity-mapped (so that a program turning paging off
 * goes on at the same addresses); every other address but the local APIC
 * maps to one 2 MiB "sink" frame, supervisor, writable, not executable, so
 * that a ring-0 program's stack is always writable (no double fault, no
 * triple fault) and a wild jump in ring 0 cannot execute memory there.
 *
 *   0x400000  FZ_PROG0: the ring-0 part, supervisor, read-only
 *   0x402000  FZ_PROG3: the ring-3 part, 2 pages, user, writable
 *   0x410000  FZ_STACK0 (ring 0), 0x420000 FZ_STACK3 (ring 3)
 *   0x600000  FZ_DATA: 16 user pages whose PTEs the fuzzer mutates
 *   0x610000  FZ_PTALIAS: a writable alias of FZ_DATA's page table
 *   0xe00000  FZ_DATA2: one 2 MiB page whose PDE the fuzzer mutates
 *
 * A program: a ring-0 part made of instruction templates whose operands
 * are random (the generator knows every instruction, so it can keep I/O
 * away from the ports that end the run and from the console, and keep the
 * state the fuzzer needs to regain control), then either INT 0x80 (the end
 * marker) or an IRET to a ring-3 part of raw random bytes biased toward
 * interesting opcodes.  Ring 3 is safe by the architecture: IOPL 0 and the
 * TSS I/O bitmap allow only harmless ports, and every event switches to the
 * TSS's ring-0 stack.  The rest of both program areas is filled with
 * "CD 80", which reaches INT 0x80 from any byte within 3 bytes.
 *
 * Regaining control (fuzz_asm.asm): every vector of the IDT ends the
 * program (a #DB, #BP, #OF or the first watchdog tick from ring 3 resumes
 * it, up to a budget); the watchdog is the PIT at 1000 Hz routed through
 * the I/O APIC as an NMI, which CLI cannot mask, so that loops and HLT end
 * too.  After every program the fuzzer rebuilds its GDT, IDT, TSS and page
 * tables, reloads its control registers, debug registers, the MSRs the
 * program wrote, the local APIC and the PIC from known-good values.
 *
 * The leak canary (core/canary.c): the runner chooses it and passes
 * it to umbra (canary=) and to this kernel, which keeps only a hash of
 * each half, never the value, so that its own memory cannot hold it.
 * After each program it looks for it in the registers (every ordered pair
 * of 32-bit values: the GPRs, ESP, EIP and CR2 at the event) and in the
 * data pages; at the end in all of guest RAM and umbra's own range
 * (reads that must land on umbra's throw-away page), with paging off.
 */
#include "guest.h"
#include "x86.h"

const char test_name[] = "fuzz";

#define PAGE		4096u
#define FZ_PROG0	0x00400000u
#define FZ_PROG3	0x00402000u
#define FZ_PROG3_SIZE	(2 * PAGE)
#define FZ_STACK0	0x00410000u
#define FZ_STACK3	0x00420000u
#define FZ_STACK_SIZE	(4 * PAGE)
#define FZ_DATA		0x00600000u
#define FZ_DATA_PAGES	16u
#define FZ_PTALIAS	0x00610000u
#define FZ_DATA2	0x00e00000u
#define FZ_SINK		0x01000000u	/* 2 MiB frame every far address maps to */
#define FZ_LOW_END	0x01200000u	/* fixed regions end here */
#define LAPIC		0xfee00000u
#define IOAPIC		0xfec00000u

#define KCODE		0x08
#define KDATA		0x10
#define UCODE		0x1b
#define UDATA		0x23
#define TSS_SEL		0x28
#define LDT_SEL		0x58
#define GDT_ENTRIES	16

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

#define CR0_MP		(1u << 1)
#define CR0_EM		(1u << 2)
#define CR0_TS		(1u << 3)
#define CR0_ET		(1u << 4)
#define CR0_NE		(1u << 5)
#define CR0_AM		(1u << 18)
#define CR0_NW		(1u << 29)
#define CR0_CD		(1u << 30)

/* The classes of what a program may do (exclude=, include=). */
enum {
	C_ALU, C_MEM, C_CR, C_DR, C_MSR, C_CPUID, C_IO, C_INVLPG, C_INVD,
	C_CACHE, C_HLT, C_DT, C_SEG, C_INT, C_SYS, C_VIRT, C_XSETBV, C_MOVSS,
	C_POPF, C_STR, C_APIC, C_PT, C_PTALL, C_APICBASE, C_CR4RSVD, C_RING3,
	C_PTE, C_FPU, C_TASK, C_CR0NW, C_SMSW, NR_CLASSES
};

static const char *const class_names[NR_CLASSES] = {
	"alu", "mem", "cr", "dr", "msr", "cpuid", "io", "invlpg", "invd",
	"cache", "hlt", "dt", "seg", "int", "sys", "virt", "xsetbv", "movss",
	"popf", "str", "apic", "pt", "ptall", "apicbase", "cr4rsvd", "ring3",
	"pte", "fpu", "task", "cr0nw", "smsw",
};

/*
 * Off by default: cr4rsvd (reserved CR4 bits: bare QEMU TCG hangs on them,
 * so they can never pass bare: only for runs under umbra, which gives the
 * #GP), cr0nw (MOV CR0 with NW set and CD clear, which must #GP, SDM Vol 3
 * 2.5: QEMU TCG lets it through, and under SVM with NPT, where umbra does
 * not intercept CR0 writes, the next VMRUN fails and umbra stops the guest
 * with guest-error naming the rule, svm/diag.c) and task (EFLAGS.NT, so
 * that an IRET is a task return: QEMU 7.2 aborts with "qemu: fatal:
 * invalid tss" on it inside an SVM guest; seed 3, 500-999, umbra-uefi-grub).
 * On since umbra's fixes (issue 20): invd, apicbase, ptall (page-table
 * writes by any instruction) and smsw (SMSW under SVM shadow paging).
 */
static uint32_t classes = ~((1u << C_CR4RSVD) | (1u << C_CR0NW) |
			    (1u << C_TASK));

#define HAS(c)		(classes & (1u << (c)))

struct fz_frame {
	uint32_t eax, ebx, ecx, edx, esi, edi, ebp, esp;
	uint32_t vector, error, eip, cs, eflags, ss, cr2;
};

/* Shared with fuzz_asm.asm. */
struct fz_frame fz_frame, fz_in;
volatile uint32_t fz_running;
uint32_t fz_ctx_esp;
struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint32_t base;
};
struct desc_ptr fz_good_gdtr, fz_good_idtr;
extern const uint32_t fz_vectors[256];
extern char fz_sysenter_landing[], fz_syscall_landing[];
uint32_t fz_enter(void);
int fz_resume(void);
void fz_kernel_event(uint32_t *frame);

/* The known-good tables. */
static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t alt_gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static uint64_t ldt[8] __attribute__((aligned(16)));
static uint64_t idt[256] __attribute__((aligned(16)));
static struct {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap;
	uint8_t iobitmap[8192];
	uint8_t end;
} __attribute__((packed, aligned(128))) tss;
static uint8_t tss_stack[4 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t sysenter_stack[PAGE] __attribute__((aligned(PAGE)));

static uint64_t pdpt[4] __attribute__((aligned(32)));
static uint64_t pd[4][512] __attribute__((aligned(PAGE)));
static uint64_t pt_low[512] __attribute__((aligned(PAGE)));	/* 0-2M */
static uint64_t pt_prog[512] __attribute__((aligned(PAGE)));	/* 4-6M */
static uint64_t pt_data[512] __attribute__((aligned(PAGE)));	/* 6-8M */
static uint64_t pt_lapic[512] __attribute__((aligned(PAGE)));

/* Pseudo-descriptors a program's LGDT/LIDT/SGDT/SIDT use. */
static struct desc_ptr dt_buf[32];	/* read only by programs */
static uint32_t dt_next;		/* one slot per use in a program */
static struct desc_ptr dt_out[4];	/* SGDT, SIDT, SLDT, STR, SMSW */
static uint32_t scratch[64] __attribute__((aligned(64)));

static uint32_t good_cr0, good_cr4, good_cr3;
static uint64_t good_efer;
static int has_nx, has_apic, has_sep, has_syscall, has_xsave, has_cr8alt;
static int has_smep, has_smap, has_umip, has_pke, has_fsgs, has_pcid;
static uint32_t cr4_ok;		/* CR4 bits this CPU has (CPUID), but PAE */
static uint32_t lapic_id;
static uint64_t umbra_base, umbra_size;
static int umbra;

/* Per program. */
static uint32_t nr_resumes, nr_ticks;
static uint32_t msr_dirty[2];		/* bits: index into msrs[] */
static int apic_dirty, pic_dirty, cmos_dirty;

/* Statistics. */
static uint32_t ends[256];
static uint32_t nr_ring3, nr_programs;
volatile uint32_t fz_nmi_between;

/* ---- random numbers: xorshift64*, 32-bit outputs ---- */
static uint64_t rs;

static uint32_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return (uint32_t)((rs * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(uint32_t percent)
{
	return below(100) < percent;
}

static void seed_program(uint64_t seed, uint32_t i)
{
	int k;

	rs = seed * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull + 1;
	if (!rs)
		rs = 1;
	for (k = 0; k < 4; k++)
		rnd();
}

/* ---- the canary: only hashes of its halves are kept ---- */
static uint32_t canary_hlo, canary_hhi;
static int have_canary;

static inline uint32_t chash(uint32_t x)
{
	return x * 0x9e3779b1u;
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile uint8_t buf[4096];
	uint32_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = 0;
}

static __attribute__((noinline)) int parse_canary(const char *s)
{
	uint32_t half[2] = { 0, 0 };
	int n;

	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return 0;
	s += 2;
	for (n = 0; n < 16; n++) {
		char c = s[n];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return 0;
		half[n < 8] = half[n < 8] << 4 | d;
	}
	canary_hhi = chash(half[1]);
	canary_hlo = chash(half[0]);
	half[0] = half[1] = 0;
	return 1;
}

/* ---- command line ---- */
static const char *arg(const char *name)
{
	return cmdline_arg(boot.cmdline, name);
}

static uint64_t arg_num(const char *name, uint64_t def)
{
	const char *p = arg(name);
	uint64_t v = 0;

	if (!p || *p < '0' || *p > '9')
		return def;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint32_t)(*p++ - '0');
	return v;
}

static void arg_classes(const char *name, int on)
{
	const char *p = arg(name);
	int c;

	while (p && *p && *p != ' ') {
		size_t n = 0;

		while (p[n] && p[n] != ' ' && p[n] != ',')
			n++;
		for (c = 0; c < NR_CLASSES; c++)
			if (strlen(class_names[c]) == n &&
			    !memcmp(p, class_names[c], n)) {
				if (on)
					classes |= 1u << c;
				else
					classes &= ~(1u << c);
				break;
			}
		if (c == NR_CLASSES)
			info("%s=: unknown class '%.*s' ignored", name, (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
}

/* ---- machine state ---- */
static inline void mmio_write(uint32_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline uint32_t mmio_read(uint32_t a)
{
	return *(volatile uint32_t *)a;
}

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint32_t type,
			 uint32_t dpl, uint32_t flags)
{
	/* flags: G (8), D/B (4), L (2), AVL (1), the descriptor's bits 55:52 */
	return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)type << 40) | ((uint64_t)dpl << 45) | (1ull << 47) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)flags << 52) | ((uint64_t)(base >> 24) << 56);
}

static void gdt_build(void)
{
	uint32_t t = (uint32_t)&tss;

	gdt[0] = 0;
	gdt[1] = seg_desc(0, 0xfffff, 0x1a, 0, 0xc);	/* 0x08 kernel code */
	gdt[2] = seg_desc(0, 0xfffff, 0x12, 0, 0xc);	/* 0x10 kernel data */
	gdt[3] = seg_desc(0, 0xfffff, 0x1a, 3, 0xc);	/* 0x18 user code */
	gdt[4] = seg_desc(0, 0xfffff, 0x12, 3, 0xc);	/* 0x20 user data */
	gdt[5] = seg_desc(t, sizeof(tss) - 1, 0x09, 0, 0); /* 0x28 TSS */
	gdt[6] = seg_desc(0, 0xfff, 0x10, 0, 0x4);	/* 0x30 ro, 4 KiB */
	gdt[7] = seg_desc(FZ_DATA, 0xffff, 0x12, 3, 0x4); /* 0x38 data win */
	gdt[8] = seg_desc(0x1000, 0xfff, 0x16, 3, 0x4);	/* 0x40 expand-down */
	gdt[9] = seg_desc(0, 0xffff, 0x1a, 0, 0);	/* 0x48 16-bit code */
	gdt[10] = seg_desc(0, 0xfffff, 0x12, 1, 0xc);	/* 0x50 DPL 1 data */
	gdt[11] = seg_desc((uint32_t)ldt, sizeof(ldt) - 1, 0x02, 0, 0);
	gdt[12] = seg_desc(0, 0xfffff, 0x1e, 3, 0xc);	/* 0x60 conforming */
	gdt[13] = seg_desc(0, 0xfffff, 0x10, 3, 0xc);	/* 0x68 ro, user */
	gdt[14] = 0;					/* 0x70 not present */
	gdt[15] = seg_desc(0, 0xfffff, 0x12, 0, 0xc) & ~(1ull << 47);
	ldt[0] = 0;
	ldt[1] = seg_desc(0, 0xfffff, 0x12, 3, 0xc);
	ldt[2] = seg_desc(FZ_DATA, 0xfff, 0x12, 3, 0x4);
	ldt[3] = seg_desc(0, 0xfffff, 0x1a, 3, 0xc);
}

static void gate(int vec, uint32_t dpl)
{
	uint32_t a = fz_vectors[vec];

	idt[vec] = (a & 0xffff) | ((uint64_t)KCODE << 16) |
		   ((uint64_t)(0x8e | dpl << 5) << 40) |
		   ((uint64_t)(a >> 16) << 48);
}

static void idt_build(void)
{
	int v;

	for (v = 0; v < 256; v++)
		gate(v, 0);
	gate(3, 3);
	gate(4, 3);
	gate(0x80, 3);
}

static void tss_build(void)
{
	static const uint16_t user_ports[][2] = {
		{ 0x80, 0x87 }, { 0x2f8, 0x2ff },
	};
	uint32_t i, p;

	memset(&tss, 0, sizeof(tss));
	tss.esp0 = (uint32_t)tss_stack + sizeof(tss_stack);
	tss.ss0 = KDATA;
	tss.iomap = offsetof(__typeof__(tss), iobitmap);
	memset(tss.iobitmap, 0xff, sizeof(tss.iobitmap));
	tss.end = 0xff;
	for (i = 0; i < ARRAY_SIZE(user_ports); i++)
		for (p = user_ports[i][0]; p <= user_ports[i][1]; p++)
			tss.iobitmap[p / 8] &= ~(1u << (p % 8));
}

static void load_tables(void)
{
	gdt_build();
	fz_good_gdtr.limit = sizeof(gdt) - 1;
	fz_good_gdtr.base = (uint32_t)gdt;
	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\n\t"
		     "mov %2, %%ds\n\t"
		     "mov %2, %%es\n\t"
		     "mov %2, %%fs\n\t"
		     "mov %2, %%gs\n\t"
		     "mov %2, %%ss\n\t"
		     "lldt %w3\n\t"
		     "ltr %w4"
		     : : "m"(fz_good_gdtr), "i"(KCODE), "r"(KDATA),
		       "r"(LDT_SEL), "r"(TSS_SEL) : "memory");
	asm volatile("lidt %0" : : "m"(fz_good_idtr));
}

static void pt_build_data(void)
{
	uint32_t i;

	for (i = 0; i < 512; i++)
		pt_data[i] = (FZ_DATA + i * PAGE) | PTE_P | PTE_W |
			     (i < FZ_DATA_PAGES ? PTE_U : 0) |
			     (has_nx ? PTE_NX : 0);
	pt_data[(FZ_PTALIAS - FZ_DATA) / PAGE] = (uint32_t)pt_data | PTE_P |
						 PTE_W | (has_nx ? PTE_NX : 0);
}

static uint64_t big_page(uint32_t va)
{
	uint64_t nx = has_nx ? PTE_NX : 0;

	if (va < FZ_LOW_END)
		return va | PTE_P | PTE_W | PTE_PS | (va >= FZ_DATA2 ? PTE_U | nx : 0);
	return FZ_SINK | PTE_P | PTE_W | PTE_PS | nx;
}

static void pt_build(void)
{
	uint64_t nx = has_nx ? PTE_NX : 0;
	uint32_t i, j;

	for (i = 0; i < 4; i++) {
		pdpt[i] = (uint32_t)pd[i] | PTE_P;
		for (j = 0; j < 512; j++)
			pd[i][j] = big_page((i << 30) | (j << 21));
	}
	for (i = 0; i < 512; i++) {
		pt_low[i] = (i * PAGE) | PTE_P | PTE_W;
		pt_prog[i] = 0;
		pt_lapic[i] = 0;
	}
	pt_prog[0] = FZ_PROG0 | PTE_P | PTE_W;	/* no pointer of a program goes here */
	for (i = 0; i < 2; i++)
		pt_prog[2 + i] = (FZ_PROG3 + i * PAGE) | PTE_P | PTE_W | PTE_U;
	for (i = 0; i < 4; i++) {
		pt_prog[16 + i] = (FZ_STACK0 + i * PAGE) | PTE_P | PTE_W | nx;
		pt_prog[32 + i] = (FZ_STACK3 + i * PAGE) | PTE_P | PTE_W |
				  PTE_U | nx;
	}
	pt_lapic[0] = LAPIC | PTE_P | PTE_W | PTE_PCD | PTE_PWT | nx;
	pd[0][0] = (uint32_t)pt_low | PTE_P | PTE_W | PTE_U;
	pd[0][2] = (uint32_t)pt_prog | PTE_P | PTE_W | PTE_U;
	pd[0][3] = (uint32_t)pt_data | PTE_P | PTE_W | PTE_U;
	pd[3][(LAPIC >> 21) & 511] = (uint32_t)pt_lapic | PTE_P | PTE_W;
	pt_build_data();
}

static void write_cr3(uint32_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static uint32_t read_cr3(void)
{
	uint32_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

/* Turn paging off, restore CR4, CR3, EFER, then CR0 (SDM Vol 3 9.8.5). */
static void cr_reset(void)
{
	write_cr0((read_cr0() & ~(CR0_PG | CR0_CD | CR0_NW)) | CR0_PE);
	write_cr4(good_cr4);
	write_cr3(good_cr3);
	wrmsr(MSR_EFER, good_efer);
	write_cr0(good_cr0);
}

static void apic_reset(void)
{
	int i, k;

	mmio_write(LAPIC + 0x20, lapic_id << 24);	/* the watchdog's target */
	mmio_write(LAPIC + 0xf0, 0x1ff);
	mmio_write(LAPIC + 0x80, 0);
	mmio_write(LAPIC + 0xe0, ~0u);
	mmio_write(LAPIC + 0xd0, 0);
	mmio_write(LAPIC + 0x320, 0x10000);
	mmio_write(LAPIC + 0x380, 0);
	mmio_write(LAPIC + 0x370, 0x10000);
	mmio_write(LAPIC + 0x340, 0x10000);
	mmio_write(LAPIC + 0x330, 0x10000);
	mmio_write(LAPIC + 0x350, 0x700);	/* LINT0 ExtINT (the PIC) */
	mmio_write(LAPIC + 0x360, 0x400);	/* LINT1 NMI */
	mmio_write(LAPIC + 0x3e0, 0xb);
	mmio_write(LAPIC + 0x280, 0);
	for (k = 0; k < 64; k++) {
		int any = 0;

		for (i = 7; i >= 0; i--)
			if (mmio_read(LAPIC + 0x100 + i * 0x10))
				any = 1;
		if (!any)
			break;
		mmio_write(LAPIC + 0xb0, 0);
	}
}

static void pic_reset(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0x20);	/* vectors 0x20-0x2f: never an exception's */
	outb(0xa1, 0x28);
	outb(0x21, 4);
	outb(0xa1, 2);
	outb(0x21, 1);
	outb(0xa1, 1);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ---- MSRs the generator writes, with the value each had at start ---- */
struct msr_desc {
	uint32_t index;
	uint8_t kind;		/* how to draw a value */
	uint8_t ok;		/* RDMSR did not fault at start */
	uint64_t orig;
};

enum { MV_ANY, MV_EIP, MV_CS, MV_EFER, MV_PAT, MV_STAR, MV_APICBASE,
       MV_DEBUGCTL, MV_RO };

static struct msr_desc msrs[] = {
	{ 0x10, MV_ANY, 0, 0 },		/* TSC */
	{ 0x1b, MV_APICBASE, 0, 0 },	/* IA32_APIC_BASE (class apicbase) */
	{ 0x3a, MV_RO, 0, 0 },		/* FEATURE_CONTROL */
	{ 0x3b, MV_ANY, 0, 0 },		/* TSC_ADJUST */
	{ 0x48, MV_ANY, 0, 0 },		/* SPEC_CTRL */
	{ 0x8b, MV_ANY, 0, 0 },		/* BIOS_SIGN_ID */
	{ 0xfe, MV_RO, 0, 0 },		/* MTRRCAP */
	{ 0x174, MV_CS, 0, 0 },		/* SYSENTER_CS */
	{ 0x175, MV_ANY, 0, 0 },	/* SYSENTER_ESP */
	{ 0x176, MV_EIP, 0, 0 },	/* SYSENTER_EIP */
	{ 0x179, MV_RO, 0, 0 },		/* MCG_CAP */
	{ 0x17a, MV_ANY, 0, 0 },	/* MCG_STATUS */
	{ 0x1a0, MV_RO, 0, 0 },		/* MISC_ENABLE */
	{ 0x1d9, MV_DEBUGCTL, 0, 0 },	/* DEBUGCTL */
	{ 0x200, MV_ANY, 0, 0 },	/* MTRR_PHYSBASE0 */
	{ 0x201, MV_ANY, 0, 0 },	/* MTRR_PHYSMASK0 */
	{ 0x250, MV_ANY, 0, 0 },	/* MTRR_FIX64K */
	{ 0x277, MV_PAT, 0, 0 },	/* PAT */
	{ 0x2ff, MV_ANY, 0, 0 },	/* MTRR_DEF_TYPE */
	{ 0x400, MV_ANY, 0, 0 },	/* MC0_CTL */
	{ 0x401, MV_ANY, 0, 0 },	/* MC0_STATUS */
	{ 0x480, MV_RO, 0, 0 },		/* VMX_BASIC */
	{ 0x482, MV_RO, 0, 0 },		/* VMX_PROCBASED */
	{ 0x48b, MV_RO, 0, 0 },		/* VMX_PROCBASED2 */
	{ 0x6e0, MV_ANY, 0, 0 },	/* TSC_DEADLINE */
	{ 0x802, MV_ANY, 0, 0 },	/* x2APIC ID */
	{ 0x808, MV_ANY, 0, 0 },	/* x2APIC TPR */
	{ 0x80b, MV_ANY, 0, 0 },	/* x2APIC EOI */
	{ 0x830, MV_ANY, 0, 0 },	/* x2APIC ICR */
	{ 0x83f, MV_ANY, 0, 0 },	/* x2APIC SELF_IPI */
	{ 0xc0000080, MV_EFER, 0, 0 },	/* EFER */
	{ 0xc0000081, MV_STAR, 0, 0 },	/* STAR */
	{ 0xc0000082, MV_ANY, 0, 0 },	/* LSTAR */
	{ 0xc0000083, MV_ANY, 0, 0 },	/* CSTAR */
	{ 0xc0000084, MV_ANY, 0, 0 },	/* FMASK */
	{ 0xc0000100, MV_ANY, 0, 0 },	/* FS_BASE */
	{ 0xc0000101, MV_ANY, 0, 0 },	/* GS_BASE */
	{ 0xc0000102, MV_ANY, 0, 0 },	/* KERNEL_GS_BASE */
	{ 0xc0000103, MV_ANY, 0, 0 },	/* TSC_AUX */
	{ 0xc0010010, MV_ANY, 0, 0 },	/* SYSCFG */
	{ 0xc0010015, MV_ANY, 0, 0 },	/* HWCR */
	{ 0xc0010114, MV_ANY, 0, 0 },	/* VM_CR */
	{ 0xc0010117, MV_ANY, 0, 0 },	/* VM_HSAVE_PA */
	{ 0x4b564d00, MV_ANY, 0, 0 },	/* KVM's wall clock: absent */
	{ 0x40000000, MV_ANY, 0, 0 },	/* Hyper-V's range: absent */
};

#define NR_MSRS		ARRAY_SIZE(msrs)

/* ---- the emitter ---- */
static uint8_t *ep;

static void e8(uint32_t b)
{
	*ep++ = (uint8_t)b;
}

static void e32(uint32_t v)
{
	memcpy(ep, &v, 4);
	ep += 4;
}

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI };

static void mov_imm(int r, uint32_t v)
{
	e8(0xb8 + r);
	e32(v);
}

static uint32_t data_ptr(void)
{
	uint32_t page = below(FZ_DATA_PAGES), off;

	switch (below(4)) {
	case 0:		/* the last bytes of a page: accesses that split */
		off = PAGE - 1 - below(8);
		break;
	case 1:
		off = below(PAGE) & ~7u;
		break;
	default:
		off = below(PAGE);
		break;
	}
	if (chance(10))
		return FZ_DATA2 + (below(512) << 12) + off;
	return FZ_DATA + page * PAGE + off;
}

static uint32_t any_ptr(void)
{
	switch (below(8)) {
	case 0:
		return FZ_STACK0 + below(FZ_STACK_SIZE);
	case 1:
		return FZ_PROG3 + below(FZ_PROG3_SIZE);
	case 2:
		return rnd();
	case 3:
		return (uint32_t)scratch + below(sizeof(scratch) - 8);
	default:
		return data_ptr();
	}
}

static uint32_t rnd_val(void)
{
	switch (below(10)) {
	case 0:
		return 0;
	case 1:
		return ~0u;
	case 2:
		return below(256);
	case 3:
		return 1u << below(32);
	case 4:
	case 5:
		return any_ptr();
	case 6:
		return 0x80000000u + below(16) - 8;
	case 7:
		return below(0x10000);
	default:
		return rnd();
	}
}

/* [base + disp8] with base EBX, ESI or EDI set to ptr first */
static int mem_base(uint32_t ptr, uint32_t *disp)
{
	static const int bases[] = { EBX, ESI, EDI };
	int b = bases[below(3)];

	*disp = below(2) ? 0 : below(16) * 4;
	mov_imm(b, ptr - *disp);
	return b;
}

static void modrm_mem(int reg, int base, uint32_t disp)
{
	if (disp) {
		e8(0x40 | (reg & 7) << 3 | base);
		e8(disp);
	} else {
		e8((reg & 7) << 3 | base);
	}
}

static int rnd_reg(void)
{
	static const int regs[] = { EAX, ECX, EDX, EBX, EBP, ESI, EDI };

	return regs[below(ARRAY_SIZE(regs))];
}

/* Instructions umbra's emulator performs (issue 20, item 9): on a page
 * table only these, unless class ptall. */
static void gen_memop(uint32_t ptr, int emulated_only)
{
	uint32_t disp;
	int base, reg;
	uint32_t k;

	reg = rnd_reg();
	base = mem_base(ptr, &disp);
	if (reg == base)
		reg = EAX;
	mov_imm(reg, rnd_val());
	if (chance(10))
		e8(0x66);
	k = below(emulated_only ? 13 : 30);
	if (k < 12 && chance(15) && k != 0 && k != 10 && k != 11)
		e8(0xf0);	/* LOCK on a read-modify-write */
	switch (k) {
	case 0: e8(0x89); break;			/* mov m, r */
	case 1: e8(0x01); break;			/* add */
	case 2: e8(0x09); break;			/* or */
	case 3: e8(0x21); break;			/* and */
	case 4: e8(0x29); break;			/* sub */
	case 5: e8(0x31); break;			/* xor */
	case 6: e8(0x87); break;			/* xchg */
	case 7: e8(0x0f); e8(0xb1); break;		/* cmpxchg */
	case 8: e8(0x0f); e8(0xab); break;		/* bts */
	case 9: e8(0x0f); e8(0xb3); break;		/* btr */
	case 10: e8(0x8b); break;			/* mov r, m */
	case 11: e8(0x39); break;			/* cmp */
	case 12: e8(0x0f); e8(0xc7); reg = 1; break;	/* cmpxchg8b */
	case 13: e8(0xff); reg = 0; break;		/* inc */
	case 14: e8(0xff); reg = 1; break;		/* dec */
	case 15: e8(0xf7); reg = 2; break;		/* not */
	case 16: e8(0xf7); reg = 3; break;		/* neg */
	case 17: e8(0x11); break;			/* adc */
	case 18: e8(0x19); break;			/* sbb */
	case 19: e8(0x0f); e8(0xc1); break;		/* xadd */
	case 20: e8(0xd1); reg = 4; break;		/* shl */
	case 21: e8(0xd1); reg = 0; break;		/* rol */
	case 22: e8(0x0f); e8(0x90 + below(16)); reg = 0; break; /* setcc */
	case 23: e8(0x0f); e8(0xc3); break;		/* movnti */
	case 24: e8(0xff); reg = 6; break;		/* push m */
	case 25: e8(0x8f); reg = 0; break;		/* pop m */
	case 26: e8(0x0f); e8(0xbb); break;		/* btc */
	case 27: e8(0x0f); e8(0xb6); break;		/* movzx r, m8 */
	case 28: e8(0x0f); e8(0x01); reg = 1; break;	/* sidt m */
	default: e8(0x85); break;			/* test */
	}
	modrm_mem(reg, base, disp);
}

/* A random PTE: frame and flags. */
static uint64_t rnd_pte(void)
{
	uint64_t frame, pte;

	switch (below(8)) {
	case 0:
		frame = FZ_DATA + below(FZ_DATA_PAGES) * PAGE;
		break;
	case 1:
		frame = FZ_SINK + below(512) * PAGE;
		break;
	case 2:		/* umbra's own memory: must read as nothing of it */
		if (umbra_size)
			frame = umbra_base + (below((uint32_t)(umbra_size >> 12)) << 12);
		else
			frame = 0x1f000000u + below(0x1000) * PAGE;
		break;
	case 3:		/* beyond RAM, up to 64 GiB */
		frame = (uint64_t)below(1u << 24) << 12;
		break;
	case 4:		/* this kernel's page tables: only with ptall */
		if (HAS(C_PTALL)) {
			frame = below(2) ? (uint32_t)pt_data : (uint32_t)pd[0];
			break;
		}
		/* fall through */
	default:
		frame = FZ_DATA + below(FZ_DATA_PAGES) * PAGE;
		break;
	}
	pte = frame | (rnd() & 0x1ff) | PTE_U;
	if (chance(85))
		pte |= PTE_P;
	if (chance(50) && has_nx)
		pte |= PTE_NX;
	if (chance(5))		/* a reserved bit (MAXPHYADDR <= 48 here) */
		pte |= 1ull << (48 + below(4));
	pte &= ~PTE_PS;
	return pte;
}

static void gen_cr(void)
{
	static const uint32_t cr0_bits[] = {
		CR0_PG, CR0_CD, CR0_NW, CR0_AM, CR0_WP, CR0_NE, CR0_TS,
		CR0_EM, CR0_MP, CR0_ET,
	};
	uint32_t v;
	int r = rnd_reg(), cr, k;

	if (chance(30)) {		/* read */
		static const int crs[] = { 0, 2, 3, 4, 8, 1, 5 };

		cr = crs[below(ARRAY_SIZE(crs))];
		if (cr == 8 && !has_cr8alt)
			cr = 0;
		if (cr == 8)
			e8(0xf0);
		e8(0x0f);
		e8(0x20);
		e8(0xc0 | (cr & 7) << 3 | r);
		return;
	}
	switch (below(8)) {
	case 0:
	case 1:
	case 2:
		cr = 0;
		v = good_cr0;
		for (k = below(2) + 1; k; k--)
			v ^= cr0_bits[below(ARRAY_SIZE(cr0_bits))];
		if (!HAS(C_CR0NW) && (v & CR0_NW))
			v |= CR0_CD;
		break;
	case 3:
	case 4:
		cr = 4;
		v = good_cr4;
		for (k = below(3) + 1; k; k--) {
			uint32_t bit = 1u << below(32);

			if ((cr4_ok & bit) || (HAS(C_CR4RSVD) && bit != (1u << 5)))
				v ^= bit;
		}
		break;
	case 5:
		cr = 3;
		v = good_cr3 | (below(4) << 3);
		break;
	case 6:
		cr = 2;
		v = rnd_val();
		break;
	default:
		if (has_cr8alt && below(2)) {
			cr = 8;
			v = below(16);
		} else {
			cr = below(2) ? 1 : 5 + below(3);	/* #UD */
			v = rnd_val();
		}
		break;
	}
	mov_imm(r, v);
	if (cr == 8)
		e8(0xf0);	/* AMD's MOV CR8 in 32-bit code (LOCK MOV CR0) */
	e8(0x0f);
	e8(0x22);
	e8(0xc0 | (cr & 7) << 3 | r);
}

/*
 * QEMU 7.2 TCG crashes (SIGSEGV) on a data breakpoint on MOV SS's memory
 * operand after some earlier programs (seed 1, programs 2530-2725, bare):
 * no breakpoint there when the CPU's brand string says QEMU (movssdr=1
 * forces it).
 */
static int movss_nodr;
static int is_qemu_cpu;

/*
 * DR7 (and DR5, its alias while CR4.DE is clear): never GD, so that the
 * fuzzer's own MOV DR runs.  QEMU 7.2 TCG crashes (SIGSEGV, or the
 * assertion "!qemu_mutex_iothread_locked()" in softmmu/cpus.c) when data
 * breakpoints hit (seed 1 bare, programs 2725 and 2783 before this rule):
 * under QEMU only instruction breakpoints (R/W 00).
 */
static uint32_t dr7_value(void)
{
	uint32_t v = (rnd() & 0xffff00ff & ~(1u << 13)) | 0x400;

	if (movss_nodr)
		v &= 0xcccc00ffu;	/* R/W of each: 00, LEN kept */
	return v;
}

static void gen_dr(void)
{
	int r = rnd_reg(), dr = below(8);
	uint32_t v;

	if (chance(30)) {
		e8(0x0f);
		e8(0x21);
		e8(0xc0 | dr << 3 | r);
		return;
	}
	if (dr < 4)
		v = any_ptr();
	else if (dr == 7 || dr == 5)
		v = dr7_value();
	else
		v = rnd_val();
	mov_imm(r, v);
	e8(0x0f);
	e8(0x23);
	e8(0xc0 | dr << 3 | r);
}

static uint64_t msr_value(const struct msr_desc *m)
{
	uint64_t v = ((uint64_t)rnd_val() << 32) | rnd_val();

	switch (m->kind) {
	case MV_EIP:	/* a wild SYSENTER lands in the sink (NX) or here */
		return chance(50) ? (uint32_t)fz_sysenter_landing :
		       FZ_SINK + below(0x100000);
	case MV_CS:
		return chance(70) ? KCODE : below(0x80);
	case MV_EFER:
		/* Never LME (entering IA-32e mode with these 32-bit tables
		 * unmaps everything: a triple fault), never SVME (CLGI would
		 * then block the watchdog NMI bare), never clearing NXE (NX
		 * bits would turn reserved: the ring-0 stack faults). */
		v = good_efer;
		if (chance(50))
			v ^= 1;				/* SCE */
		if (chance(10))
			v |= 1ull << (16 + below(16));	/* reserved: #GP */
		if (chance(5))
			v |= 1ull << 8;			/* LME: #GP with PG */
		return v;
	case MV_PAT:
		v = 0;
		for (int i = 0; i < 8; i++)
			v |= (uint64_t)(chance(90) ?
					(uint32_t)(uint8_t)"\0\1\4\5\6\7"[below(6)] :
					below(256)) << (8 * i);
		return v;
	case MV_STAR:
		return ((uint64_t)(chance(70) ? KCODE : below(0x10000)) << 32) |
		       ((uint64_t)below(0x10000) << 48) |
		       (chance(50) ? (uint32_t)fz_syscall_landing :
			FZ_SINK + below(0x100000));
	case MV_APICBASE:	/* keep it enabled: Bochs cannot re-enable it */
		if (chance(50))
			return m->orig ^ (1ull << 10);	/* x2APIC */
		return (m->orig & 0xfff) | (1ull << 11) |
		       ((uint64_t)below(1u << 24) << 12);
	case MV_DEBUGCTL:
		return below(4);
	default:
		return v;
	}
}

static void gen_msr(void)
{
	uint32_t i = below(NR_MSRS + 1), idx;
	uint64_t v;

	if (i == NR_MSRS) {
		idx = rnd();
		v = ((uint64_t)rnd() << 32) | rnd();
	} else {
		idx = msrs[i].index;
		if (idx == 0x1b && !HAS(C_APICBASE)) {
			mov_imm(ECX, idx);
			e8(0x0f);
			e8(0x32);
			return;
		}
		v = msr_value(&msrs[i]);
	}
	mov_imm(ECX, idx);
	if (chance(40)) {
		e8(0x0f);
		e8(0x32);		/* rdmsr */
		return;
	}
	mov_imm(EAX, (uint32_t)v);
	mov_imm(EDX, (uint32_t)(v >> 32));
	e8(0x0f);
	e8(0x30);			/* wrmsr */
	if (i < NR_MSRS)
		msr_dirty[i / 32] |= 1u << (i % 32);
}

static void gen_cpuid(void)
{
	static const uint32_t leaves[] = {
		0, 1, 2, 4, 6, 7, 0xa, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x15,
		0x16, 0x1f, 0x40000000, 0x40000001, 0x40000002, 0x40000010,
		0x80000000, 0x80000001, 0x80000007, 0x80000008, 0x8000000a,
		0x8000001f, 0x80000021,
	};

	mov_imm(EAX, chance(85) ? leaves[below(ARRAY_SIZE(leaves))] : rnd());
	mov_imm(ECX, below(4) ? below(4) : rnd());
	e8(0x0f);
	e8(0xa2);
}

/*
 * Ports a ring-0 program may touch.  Never: 0xf4-0xf7 (isa-debug-exit)
 * and 0x8900 (Bochs' shutdown port), which end the run; COM1's writable
 * registers (the console); 0x64 and 0x92 writes and 0xcf9 (reset), the PIT
 * (the watchdog), 0xcfc writes (PCI configuration), ACPI's PM registers
 * (0x600 on q35, 0xb000 on Bochs: power-off), 0xb2 (SMI).
 */
struct port {
	uint16_t port;
	uint8_t write;		/* 0 read only, 1 any value, 2 NMI bit clear,
				 * 3 OCW2/OCW3 only: Bochs panics on an ICW1
				 * it does not support ("single mode") */
};

static const struct port ports[] = {
	{ 0x20, 3 }, { 0x21, 1 }, { 0xa0, 3 }, { 0xa1, 1 }, { 0x40, 0 },
	{ 0x41, 0 }, { 0x42, 0 }, { 0x60, 0 }, { 0x61, 1 }, { 0x64, 0 },
	{ 0x70, 2 }, { 0x71, 0 }, { 0x80, 1 }, { 0x84, 1 }, { 0x92, 0 },
	{ 0x2f8, 1 }, { 0x2f9, 1 }, { 0x2fd, 0 }, { 0x3f8, 0 }, { 0x3f9, 0 },
	{ 0x3fa, 0 }, { 0x3fb, 0 }, { 0x3fc, 0 }, { 0x3fd, 0 }, { 0x3fe, 0 },
	{ 0x3ff, 0 }, { 0xcf8, 1 }, { 0xcfc, 0 }, { 0x510, 0 }, { 0x3c0, 0 },
	{ 0x3da, 0 }, { 0x1f7, 0 }, { 0x4d0, 0 }, { 0xed, 1 },
};

static int port_dangerous(uint32_t p)
{
	return (p >= 0xf0 && p <= 0xff) || (p >= 0x8900 && p <= 0x89ff) ||
	       p == 0xcf9 || p == 0x92 || p == 0x64 || (p >= 0x40 && p <= 0x43) ||
	       (p >= 0x3f8 && p <= 0x3ff) || (p >= 0x600 && p <= 0x6ff) ||
	       (p >= 0xb000 && p <= 0xb0ff) || p == 0xb2 || p == 0xb3 ||
	       (p >= 0xcf8 && p <= 0xcff) || (p >= 0x400 && p <= 0x4ff);
}

static void gen_io(void)
{
	const struct port *pt = &ports[below(ARRAY_SIZE(ports))];
	uint32_t p = pt->port, v = rnd_val();
	int write = pt->write && chance(50), size = below(3);

	if (!write && chance(20)) {	/* a random port, read */
		p = below(0x10000);
		if (port_dangerous(p))
			p = 0x80;
	}
	if ((p & 0xfff8) == 0x3e8 || (p & 0xfff8) == 0x2e8)
		size = 0;
	if (pt->write == 2)
		v &= 0x7f;
	if (pt->write == 3)
		v &= 0xef;
	/* QEMU 7.2 aborts on a word or dword access to a UART register
	 * (hw/char/serial.c asserts size == 1): bytes only there */
	if ((p & 0xf8) == 0xf8 && (p >> 8) >= 2 && (p >> 8) <= 3)
		size = 0;
	if (p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1)
		pic_dirty |= write;
	if (p == 0x70)
		cmos_dirty |= write;
	if (write)
		mov_imm(EAX, v);
	if (size == 1 || (p & 1 && size == 2))
		e8(0x66);
	if (p < 0x100 && chance(50)) {
		e8(write ? 0xe6 + (size != 0) : 0xe4 + (size != 0));
		e8(p);
		return;
	}
	mov_imm(EDX, p);
	if (chance(15)) {	/* string I/O: rep ins/outs */
		mov_imm(ECX, below(4) ? below(8) : below(0x100));
		mov_imm(write ? ESI : EDI, data_ptr());
		if (chance(50))
			e8(0xf3);
		e8(write ? 0x6e + (size != 0) : 0x6c + (size != 0));
		return;
	}
	e8(write ? 0xee + (size != 0) : 0xec + (size != 0));
}

static void gen_dt(void)
{
	struct desc_ptr *d = &dt_buf[dt_next++ % ARRAY_SIZE(dt_buf)];
	uint32_t disp = (uint32_t)d;

	/* CS- and SS-relative operands (CS override for the loads, SS for
	 * the stores): DS may be anything the program loaded, and a LIDT
	 * of its garbage would triple-fault (seed 9, program 254) */
	switch (below(7)) {
	case 0:		/* a random GDTR or IDTR across a VM exit, put back */
	case 1: {
		int idt_reg = below(2);

		/*
		 * The right base with a random limit that still covers what
		 * an event needs: KCODE, KDATA and the TSS (GDT limit 0x2f),
		 * #DF and #GP (IDT limit 0x6f, SDM Vol 3 6.10), across CPUID
		 * (an exit under umbra) half of the time.  Never a random
		 * base: the watchdog NMI in between, likely across any VM
		 * exit (a shadow or nested page fault too), triple-faults.
		 */
		int exits = below(2);

		d->limit = (uint16_t)rnd();
		d->base = idt_reg ? (uint32_t)idt : (uint32_t)gdt;
		if (d->limit < (idt_reg ? 0x6f : 0x2f))
			d->limit |= idt_reg ? 0x6f : 0x2f;
		e8(0x2e); e8(0x0f); e8(0x01); e8(0x05 | (idt_reg ? 3 : 2) << 3); e32(disp);
		if (exits)
			gen_cpuid();
		e8(0x36); e8(0x0f); e8(0x01); e8(0x05 | (idt_reg ? 1 : 0) << 3);
		e32((uint32_t)&dt_out[below(4)]);
		e8(0x2e); e8(0x0f); e8(0x01); e8(0x05 | (idt_reg ? 3 : 2) << 3);
		e32(idt_reg ? (uint32_t)&fz_good_idtr : (uint32_t)&fz_good_gdtr);
		break;
	}
	case 2:		/* the alternative GDT, mutated descriptors */
		d->limit = (uint16_t)(sizeof(alt_gdt) - 1 - below(2) * 8 * below(10));
		if (d->limit < 0x2f)
			d->limit = 0x2f;
		d->base = (uint32_t)alt_gdt;
		e8(0x2e); e8(0x0f); e8(0x01); e8(0x15); e32(disp);
		break;
	case 3:		/* IDT limit: vectors beyond it #GP */
		d->limit = (uint16_t)(0x41f + below(0x800 - 0x41f));
		d->base = (uint32_t)idt;
		e8(0x2e); e8(0x0f); e8(0x01); e8(0x1d); e32(disp);
		break;
	case 4:		/* sgdt, sidt, sldt, str, smsw to memory */
		e8(0x36);
		e8(0x0f);
		if (below(2)) {
			e8(0x01); e8(0x05 | below(2) << 3);
		} else {
			e8(0x00); e8(0x05 | below(2) << 3);
		}
		e32((uint32_t)&dt_out[below(4)]);
		break;
	case 5: {	/* lldt, ltr, lar, lsl, verr, verw with a selector */
		int r = rnd_reg();

		uint32_t sel = chance(70) ? below(0x80) : rnd();
		int k = below(6);

		/* QEMU 7.2 TCG loads a null selector into TR instead of the
		 * #GP (SDM Vol 2 LTR) and aborts ("qemu: fatal: invalid tss")
		 * at the next event from ring 3 (seed 3, program 795) */
		if (k == 1 && is_qemu_cpu && !(sel & 0xfffc))
			sel |= 0x28;
		mov_imm(r, sel);
		switch (k) {
		case 0: e8(0x0f); e8(0x00); e8(0xd0 | r); break;
		case 1: e8(0x0f); e8(0x00); e8(0xd8 | r); break;
		case 2: e8(0x0f); e8(0x02); e8(0xc0 | r << 3 | r); break;
		case 3: e8(0x0f); e8(0x03); e8(0xc0 | r << 3 | r); break;
		case 4: e8(0x0f); e8(0x00); e8(0xe0 | r); break;
		default: e8(0x0f); e8(0x00); e8(0xe8 | r); break;
		}
		break;
	}
	default: {	/* lmsw, smsw, clts */
		int r = rnd_reg();

		mov_imm(r, rnd_val());
		e8(0x0f);
		switch (below(3)) {
		case 0: e8(0x01); e8(0xf0 | r); break;
		case 1:
			if (HAS(C_SMSW)) {
				e8(0x01); e8(0xe0 | r);	/* smsw r */
				break;
			}
			/* fall through */
		default: e8(0x06); break;
		}
		break;
	}
	}
}

static uint32_t rnd_selector(void)
{
	if (chance(60))
		return below(0x80);
	if (chance(50))
		return (below(8) << 3) | 4 | below(4);	/* LDT */
	return rnd() & 0xffff;
}

static void gen_seg(void)
{
	static const int sregs[] = { 0, 3, 4, 5 };	/* es ds fs gs */
	int r = rnd_reg(), s = sregs[below(4)];

	mov_imm(r, rnd_selector());
	switch (below(5)) {
	case 0:		/* SS: only a DPL-0 writable one loads */
		if (chance(50))
			mov_imm(r, KDATA);
		e8(0x8e);
		e8(0xd0 | r);
		break;
	case 1:		/* push imm; pop sreg */
		e8(0x68);
		e32(rnd_selector());
		switch (s) {
		case 0: e8(0x07); break;
		case 3: e8(0x1f); break;
		case 4: e8(0x0f); e8(0xa1); break;
		default: e8(0x0f); e8(0xa9); break;
		}
		break;
	case 2:		/* mov r, sreg; push sreg */
		e8(0x8c);
		e8(0xc0 | s << 3 | r);
		break;
	default:
		e8(0x8e);
		e8(0xc0 | s << 3 | r);
		break;
	}
	if (chance(30))
		gen_memop(data_ptr(), 1);	/* use it */
}

static void gen_int(void)
{
	switch (below(7)) {
	case 0: e8(0xcd); e8(below(256)); break;
	case 1: e8(0xcc); break;
	case 2: e8(0xce); break;
	case 3: e8(0xf1); break;
	case 4: e8(0x0f); e8(0x0b); break;
	case 5: {		/* bound eax, [m] */
		uint32_t disp;
		int b = mem_base(data_ptr(), &disp);

		mov_imm(EAX, rnd_val());
		e8(0x62);
		modrm_mem(EAX, b, disp);
		break;
	}
	default: e8(0xcd); e8(0x20 + below(0x40)); break;
	}
}

static void gen_sys(void)
{
	mov_imm(ECX, FZ_STACK3 + below(FZ_STACK_SIZE));
	mov_imm(EDX, chance(70) ? FZ_PROG3 + below(FZ_PROG3_SIZE) : rnd_val());
	e8(0x0f);
	e8("\x34\x35\x05\x07"[below(4)]);	/* sysenter sysexit syscall sysret */
}

static void gen_virt(void)
{
	static const uint8_t ops[][3] = {
		{ 0x0f, 0x01, 0xc1 }, { 0x0f, 0x01, 0xc2 }, { 0x0f, 0x01, 0xc3 },
		{ 0x0f, 0x01, 0xc4 }, { 0x0f, 0x01, 0xd4 }, { 0x0f, 0x01, 0xd8 },
		{ 0x0f, 0x01, 0xd9 }, { 0x0f, 0x01, 0xda }, { 0x0f, 0x01, 0xdb },
		{ 0x0f, 0x01, 0xdc }, { 0x0f, 0x01, 0xdd }, { 0x0f, 0x01, 0xde },
		{ 0x0f, 0x01, 0xdf }, { 0x0f, 0x37, 0x90 }, { 0x0f, 0x01, 0xcf },
	};
	uint32_t disp;
	int b, k = below(ARRAY_SIZE(ops) + 5);

	mov_imm(EAX, rnd_val());
	mov_imm(ECX, rnd_val());
	if (k < (int)ARRAY_SIZE(ops)) {
		e8(ops[k][0]);
		e8(ops[k][1]);
		if (ops[k][2] != 0x90)
			e8(ops[k][2]);
		return;
	}
	b = mem_base(data_ptr(), &disp);
	switch (k - ARRAY_SIZE(ops)) {
	case 0: e8(0xf3); e8(0x0f); e8(0xc7); modrm_mem(6, b, disp); break;
	case 1: e8(0x0f); e8(0xc7); modrm_mem(6, b, disp); break;
	case 2: e8(0x66); e8(0x0f); e8(0xc7); modrm_mem(6, b, disp); break;
	case 3: e8(0x0f); e8(0x78); modrm_mem(EAX, b, disp); break;
	default:
		e8(0x66); e8(0x0f); e8(0x38); e8(0x80 + below(2));
		modrm_mem(EAX, b, disp);
		break;
	}
}

static void gen_xsetbv(void)
{
	static const uint32_t vals[] = { 1, 3, 7, 0xe7, 0x2ff, 2, 0 };

	mov_imm(ECX, below(4) ? 0 : below(3));
	mov_imm(EAX, chance(80) ? vals[below(ARRAY_SIZE(vals))] : rnd());
	mov_imm(EDX, chance(90) ? 0 : rnd());
	e8(0x0f);
	e8(0x01);
	e8(below(3) ? 0xd1 : 0xd0);
}

/* MOV SS (or POP SS) then one instruction in its shadow (SDM Vol 3 6.8.3),
 * with a data breakpoint on the selector's memory half of the time. */
static void gen_movss(void)
{
	static const uint8_t next[][2] = {
		{ 0xcc, 0 }, { 0xcd, 0x80 }, { 0x0f, 0x34 }, { 0x0f, 0x05 },
		{ 0x0f, 0xa2 }, { 0xf4, 0 }, { 0x9c, 0 }, { 0xf1, 0 },
		{ 0xcd, 0x03 }, { 0x0f, 0x0b },
	};
	uint32_t p = (uint32_t)&scratch[below(16)];
	int k = below(ARRAY_SIZE(next));

	mov_imm(EAX, KDATA);
	e8(0xa3); e32(p);				/* mov [p], eax */
	if (chance(50) && !movss_nodr) {
		mov_imm(EAX, p);
		e8(0x0f); e8(0x23); e8(0xc0);		/* dr0 = p */
		mov_imm(EAX, 0x000f0402 | (below(2) << 16));
		e8(0x0f); e8(0x23); e8(0xf8);		/* dr7: G0, RW, 4 */
	}
	if (chance(50)) {
		e8(0x8e); e8(0x15); e32(p);		/* mov ss, [p] */
	} else {
		e8(0xff); e8(0x35); e32(p);		/* push [p] */
		e8(0x17);				/* pop ss */
	}
	e8(next[k][0]);
	if (next[k][1])
		e8(next[k][1]);
}

static void gen_popf(void)
{
	uint32_t v = 0x2 | (rnd() & 0x8d5);	/* arithmetic, DF, TF */

	if (chance(50))
		v |= 1u << 9;				/* IF */
	if (chance(20))
		v |= 1u << 18;				/* AC */
	if (chance(20))
		v |= below(4) << 12;			/* IOPL */
	if (chance(10))
		v |= 1u << 21;				/* ID */
	if (HAS(C_TASK) && chance(10))
		v |= 1u << 14;				/* NT */
	if (chance(10))
		v |= 1u << 16;				/* RF */
	if (chance(20))
		v &= ~(1u << 8);
	e8(0x68);
	e32(v);
	e8(0x9d);
}

static void gen_str(int emulated_only)
{
	static const uint8_t ops[] = { 0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad,
				       0xa6, 0xa7, 0xae, 0xaf };
	/* on a page table STOS only: umbra refuses MOVS there (oos=off) */
	int k = (int)(emulated_only ? 2 + below(2) : below(ARRAY_SIZE(ops)));

	mov_imm(ESI, chance(50) ? data_ptr() : any_ptr());
	/* on a page table, 4-aligned: umbra's emulator refuses a write that
	 * straddles two PTEs ("cannot emulate the guest's write", oos=off) */
	mov_imm(EDI, emulated_only ? FZ_PTALIAS + (below(PAGE) & ~3u) :
		data_ptr());
	mov_imm(ECX, below(4) ? below(8) : below(0x2000));
	mov_imm(EAX, rnd_val());
	if (chance(30))
		e8(0xfd);		/* std */
	/* REP or REPNE MOVS on a page table: umbra's emulator refuses them
	 * (with oos=off; class ptall) */
	if (chance(70) && !emulated_only)
		e8(chance(80) ? 0xf3 : 0xf2);
	if (chance(10))
		e8(0x66);
	e8(ops[k]);
	e8(0xfc);			/* cld */
}

static uint32_t apic_value(uint32_t off)
{
	uint32_t v = rnd_val();

	switch (off) {
	case 0x300:	/* ICR: fixed, lowest or NMI; never INIT, SIPI, SMI */
		return (0x20 + below(0xe0)) |
		       ((uint32_t)(uint8_t)"\0\1\4"[below(3)] << 8) |
		       (1u << 14) | (below(3) << 18) | (below(2) << 11);
	case 0x320:	/* timer: a vector, one-shot or periodic */
		return (0x20 + below(0xe0)) | (below(2) << 17) |
		       (chance(30) ? 1u << 16 : 0);
	case 0x350:
	case 0x360:	/* LINT0/1: fixed, NMI or ExtINT, never INIT/SMI */
		return (0x20 + below(0xe0)) |
		       ((uint32_t)(uint8_t)"\0\4\7"[below(3)] << 8) |
		       (below(2) << 15) | (below(2) << 16);
	case 0x380:
		return below(0x1000);
	case 0x330:
	case 0x340:
	case 0x370:
		return (0x20 + below(0xe0)) | (below(2) << 16) |
		       (chance(20) ? 4u << 8 : 0);
	default:
		return v;
	}
}

static void gen_apic(void)
{
	static const uint16_t offs[] = {
		0x20, 0x30, 0x80, 0x90, 0xa0, 0xb0, 0xd0, 0xe0, 0xf0, 0x100,
		0x170, 0x200, 0x280, 0x2f0, 0x300, 0x310, 0x320, 0x330, 0x340,
		0x350, 0x360, 0x370, 0x380, 0x390, 0x3e0, 0x3f0,
	};
	uint32_t off = offs[below(ARRAY_SIZE(offs))];
	int r = below(2) ? EAX : EDX;

	if (chance(10))
		off = below(0x1000) & ~15u;	/* Bochs panics on others */
	mov_imm(EBX, LAPIC + off);
	if (chance(40)) {
		e8(0x8b);
		e8(r << 3 | EBX);
		return;
	}
	apic_dirty = 1;
	if (off == 0x300 || (off >= 0x320 && off <= 0x370)) {
		mov_imm(r, apic_value(off));
	} else if (off == 0x310 || off < 0x300) {
		mov_imm(r, apic_value(off));
	} else {
		mov_imm(r, apic_value(off));
	}
	e8(0x89);
	e8(r << 3 | EBX);
	if (off == 0x380 || off == 0x300)
		e8(0xfb);		/* sti: let it arrive */
}

static void gen_fpu(void)
{
	uint32_t disp;
	int b = mem_base(data_ptr() & ~15u, &disp);

	switch (below(6)) {
	case 0: e8(0xdb); modrm_mem(3, b, disp); break;		/* fistp */
	case 1: e8(0xd9); modrm_mem(0, b, disp); break;		/* fld */
	case 2: e8(0x0f); e8(0x11); modrm_mem(0, b, disp); break; /* movups */
	case 3: e8(0x0f); e8(0xae); modrm_mem(0, b, disp); break; /* fxsave */
	case 4: e8(0x0f); e8(0xae); modrm_mem(4, b, disp); break; /* xsave */
	default: e8(0x0f); e8(0x7f); modrm_mem(0, b, disp); break; /* movq */
	}
}

static void gen_r0_one(void)
{
	uint32_t disp;
	int b;

	for (;;) {
		switch (below(NR_CLASSES)) {
		case C_ALU:
			if (!HAS(C_ALU))
				continue;
			mov_imm(rnd_reg(), rnd_val());
			if (chance(50)) {
				e8("\x01\x09\x21\x29\x31\x39\x85\x87\x0f"[below(9)]);
				if (ep[-1] == 0x0f)
					e8(0xaf);	/* imul */
				e8(0xc0 | rnd_reg() << 3 | rnd_reg());
			}
			return;
		case C_MEM:
			if (!HAS(C_MEM))
				continue;
			gen_memop(chance(80) ? data_ptr() : any_ptr(), 0);
			return;
		case C_CR:
			if (!HAS(C_CR))
				continue;
			gen_cr();
			return;
		case C_DR:
			if (!HAS(C_DR))
				continue;
			gen_dr();
			return;
		case C_MSR:
			if (!HAS(C_MSR))
				continue;
			gen_msr();
			return;
		case C_CPUID:
			if (!HAS(C_CPUID))
				continue;
			gen_cpuid();
			return;
		case C_IO:
			if (!HAS(C_IO))
				continue;
			gen_io();
			return;
		case C_INVLPG:
			if (!HAS(C_INVLPG))
				continue;
			b = mem_base(any_ptr(), &disp);
			e8(0x0f);
			e8(0x01);
			modrm_mem(7, b, disp);
			return;
		case C_INVD:
			if (!HAS(C_INVD))
				continue;
			e8(0x0f);
			e8(0x08);
			return;
		case C_CACHE:
			if (!HAS(C_CACHE))
				continue;
			if (below(2)) {
				e8(0x0f);
				e8(0x09);		/* wbinvd */
			} else {
				b = mem_base(any_ptr(), &disp);
				e8(0x0f);
				e8(0xae);
				modrm_mem(7, b, disp);	/* clflush */
			}
			return;
		case C_HLT:
			if (!HAS(C_HLT))
				continue;
			if (chance(30))
				e8(0xfa);		/* cli: the NMI wakes it */
			else
				e8(0xfb);
			e8(0xf4);
			return;
		case C_DT:
			if (!HAS(C_DT))
				continue;
			gen_dt();
			return;
		case C_SEG:
			if (!HAS(C_SEG))
				continue;
			gen_seg();
			return;
		case C_INT:
			if (!HAS(C_INT))
				continue;
			gen_int();
			return;
		case C_SYS:
			if (!HAS(C_SYS))
				continue;
			gen_sys();
			return;
		case C_VIRT:
			if (!HAS(C_VIRT))
				continue;
			gen_virt();
			return;
		case C_XSETBV:
			if (!HAS(C_XSETBV))
				continue;
			gen_xsetbv();
			return;
		case C_MOVSS:
			if (!HAS(C_MOVSS))
				continue;
			gen_movss();
			return;
		case C_POPF:
			if (!HAS(C_POPF))
				continue;
			gen_popf();
			return;
		case C_STR:
			if (!HAS(C_STR))
				continue;
			gen_str(0);
			return;
		case C_APIC:
			if (!HAS(C_APIC) || !has_apic)
				continue;
			gen_apic();
			return;
		case C_PT:
			if (!HAS(C_PT))
				continue;
			if (chance(20)) {
				gen_str(!HAS(C_PTALL));
				return;
			}
			{
				uint64_t pte = rnd_pte();
				uint32_t ptr = FZ_PTALIAS +
					       (below(FZ_DATA_PAGES + 4) * 8) +
					       (chance(30) ? 4 : 0);

				b = mem_base(ptr, &disp);
				mov_imm(EAX, (uint32_t)pte);
				mov_imm(EDX, (uint32_t)(pte >> 32));
				if (chance(50)) {	/* mov [m], eax */
					e8(0x89);
					modrm_mem(EAX, b, disp);
				} else {
					gen_memop(ptr, !HAS(C_PTALL));
				}
			}
			return;
		case C_FPU:
			if (!HAS(C_FPU))
				continue;
			gen_fpu();
			return;
		default:
			continue;
		}
	}
}

/* The ring-3 part: raw bytes, biased toward interesting opcodes. */
static void gen_r3_bytes(uint8_t *p, uint32_t n)
{
	static const uint8_t snip[][4] = {
		/* length, bytes */
		{ 2, 0x0f, 0x01 }, { 2, 0x0f, 0x00 }, { 2, 0x0f, 0x20 },
		{ 2, 0x0f, 0x22 }, { 2, 0x0f, 0x21 }, { 2, 0x0f, 0x23 },
		{ 2, 0x0f, 0x30 }, { 2, 0x0f, 0x32 }, { 2, 0x0f, 0x31 },
		{ 2, 0x0f, 0x33 }, { 2, 0x0f, 0xa2 }, { 2, 0x0f, 0x05 },
		{ 2, 0x0f, 0x07 }, { 2, 0x0f, 0x34 }, { 2, 0x0f, 0x35 },
		{ 2, 0x0f, 0x06 }, { 2, 0x0f, 0x08 }, { 2, 0x0f, 0x09 },
		{ 2, 0x0f, 0x0b }, { 2, 0x0f, 0xae }, { 2, 0x0f, 0xc7 },
		{ 2, 0x0f, 0x78 }, { 2, 0x0f, 0x37 }, { 2, 0x0f, 0xaa },
		{ 3, 0x0f, 0x01, 0xc1 }, { 3, 0x0f, 0x01, 0xd9 },
		{ 3, 0x0f, 0x01, 0xd8 }, { 3, 0x0f, 0x01, 0xd0 },
		{ 3, 0x0f, 0x01, 0xf9 }, { 3, 0x0f, 0x01, 0xca },
		{ 3, 0x0f, 0x01, 0xee }, { 3, 0x0f, 0x01, 0xc8 },
		{ 1, 0xe4 }, { 1, 0xe5 }, { 1, 0xe6 }, { 1, 0xe7 }, { 1, 0xec },
		{ 1, 0xed }, { 1, 0xee }, { 1, 0xef }, { 1, 0x6c }, { 1, 0x6f },
		{ 1, 0xf4 }, { 1, 0xfa }, { 1, 0xfb }, { 1, 0x9c }, { 1, 0x9d },
		{ 1, 0xcf }, { 1, 0xcc }, { 1, 0xcd }, { 1, 0xce }, { 1, 0xf1 },
		{ 1, 0x62 }, { 1, 0x8e }, { 1, 0x8c }, { 1, 0x17 }, { 1, 0x1f },
		{ 1, 0x07 }, { 1, 0x9a }, { 1, 0xea }, { 1, 0xca }, { 1, 0xcb },
		{ 1, 0xc3 }, { 1, 0xe8 }, { 1, 0xeb }, { 1, 0xe2 }, { 1, 0xff },
		{ 1, 0xc8 }, { 1, 0xc9 }, { 1, 0x60 }, { 1, 0x61 }, { 1, 0xd7 },
		{ 2, 0xf3, 0xa4 }, { 2, 0xf3, 0xab }, { 2, 0xf3, 0xa6 },
		{ 1, 0xd9 }, { 1, 0xdd }, { 2, 0x0f, 0x10 }, { 2, 0x0f, 0x11 },
		{ 1, 0xc4 }, { 1, 0xc5 }, { 1, 0x8d }, { 1, 0xa1 }, { 1, 0xa3 },
		{ 2, 0x0f, 0xa1 }, { 2, 0x0f, 0xa9 }, { 1, 0x0f }, { 1, 0x89 },
		{ 1, 0x8b }, { 1, 0xf0 }, { 1, 0x66 }, { 1, 0x67 }, { 1, 0x64 },
		{ 1, 0x65 }, { 1, 0x26 }, { 1, 0x36 }, { 1, 0xf2 }, { 1, 0xf3 },
	};
	uint8_t *start = p, *end = p + n;

	while (p < end) {
		if (chance(35)) {
			*p++ = (uint8_t)rnd();
		} else {
			const uint8_t *s = snip[below(ARRAY_SIZE(snip))];
			int i;

			for (i = 0; i < s[0] && p < end; i++)
				*p++ = s[1 + i];
			for (i = below(4); i > 0 && p < end; i--)
				*p++ = (uint8_t)rnd();
		}
	}
	/* Without class task, no POPF or IRET in ring 3: either can set NT,
	 * and an IRET with NT set is a task return (QEMU's abort) */
	if (!HAS(C_TASK))
		for (p = start; p < end; p++)
			if (*p == 0x9d || *p == 0xcf)
				*p = 0x90;
	if (!HAS(C_SMSW))	/* 0F 01 /4 is SMSW: make it /0 (SGDT) */
		for (p = start; p + 2 < end; p++)
			if (p[0] == 0x0f && p[1] == 0x01 && ((p[2] >> 3) & 7) == 4)
				p[2] &= ~0x20;
}

static void fill_int80(uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		p[i] = i & 1 ? 0x80 : 0xcd;
}

/* The registers a program starts with. */
static void rnd_regs(struct fz_frame *f, int ring3)
{
	uint32_t *r = &f->eax;
	int i;

	for (i = 0; i < 7; i++)
		r[i] = ring3 && chance(30) ? FZ_STACK3 + below(FZ_STACK_SIZE) :
		       rnd_val();
	f->esp = chance(80) ? FZ_STACK0 + 256 + below(FZ_STACK_SIZE - 512) :
		 FZ_SINK + below(0x100000) + (rnd() & 0xfe000000u);
	/* a far ESP: anywhere but below 16 MiB and the APIC's 2 MiB */
	if (f->esp >= 0xfec00000u)
		f->esp -= 0x01000000u;
	f->eflags = 0x202;
}

static void gen_program(uint32_t *ring3)
{
	uint8_t *p0 = (uint8_t *)FZ_PROG0;
	uint32_t n, i;

	fill_int80(p0, PAGE);
	ep = p0;
	dt_next = 0;
	*ring3 = HAS(C_RING3) && chance(50);
	n = 1 + below(*ring3 ? 4 : 10);
	if (*ring3 && chance(30))
		n = 0;
	for (i = 0; i < n; i++) {
		gen_r0_one();
		if (chance(5)) {	/* jump over the next instruction */
			uint8_t *j = ep;

			e8(0xeb);
			e8(0);
			gen_r0_one();
			j[1] = (uint8_t)(ep - j - 2);
		}
	}
	if (*ring3) {
		uint8_t *p3 = (uint8_t *)FZ_PROG3;
		uint32_t off, len = 4 + below(60), efl;

		fill_int80(p3, FZ_PROG3_SIZE);
		switch (below(4)) {
		case 0:		/* across the page boundary */
			off = PAGE - below(16);
			break;
		case 1:		/* into the unmapped page after them */
			off = FZ_PROG3_SIZE - 1 - below(8);
			len = FZ_PROG3_SIZE - off;
			break;
		default:
			off = below(PAGE / 2);
			break;
		}
		gen_r3_bytes(p3 + off, len);
		efl = 0x202 | (rnd() & 0x8d5 & ~(1u << 8));
		if (chance(10))
			efl |= 1u << 8;		/* TF */
		if (chance(20))
			efl |= 1u << 18;	/* AC */
		if (HAS(C_TASK) && chance(3))
			efl |= 1u << 14;	/* NT: a later IRET is a task return */
		/* Clear NT, TF, AC and IOPL first (push imm; popfd), so that the
		 * IRET below is no task return. */
		e8(0x68); e32(0x2);
		e8(0x9d);
		mov_imm(EAX, UDATA);
		e8(0x8e); e8(0xd8);	/* ds */
		e8(0x8e); e8(0xc0);	/* es */
		e8(0x8e); e8(0xe0);	/* fs */
		e8(0x8e); e8(0xe8);	/* gs */
		e8(0x68); e32(UDATA);
		e8(0x68);
		e32(chance(90) ? FZ_STACK3 + 64 + below(FZ_STACK_SIZE - 128) :
		    rnd_val());
		e8(0x68); e32(efl);
		e8(0x68); e32(UCODE);
		e8(0x68); e32(FZ_PROG3 + off);
		mov_imm(EAX, rnd_val());
		e8(0xcf);		/* iretd */
	}
	e8(0xcd);
	e8(0x80);
}

/* ---- the run ---- */
static void restore(void);

/* WRMSR through a program: a #GP ends it instead of the fuzzer. */
static void safe_wrmsr(uint32_t msr, uint64_t v)
{
	uint8_t *p = (uint8_t *)FZ_PROG0;

	fill_int80(p, 16);
	p[0] = 0x0f;
	p[1] = 0x30;
	memset(&fz_in, 0, sizeof(fz_in));
	fz_in.ecx = msr;
	fz_in.eax = (uint32_t)v;
	fz_in.edx = (uint32_t)(v >> 32);
	fz_in.esp = FZ_STACK0 + FZ_STACK_SIZE - 16;
	fz_in.eflags = 0x2;
	fz_enter();
	restore();
}

static void restore(void)
{
	uint32_t i;

	load_tables();
	if (read_cr0() != good_cr0 || read_cr4() != good_cr4 ||
	    (read_cr3() & ~0x1fu) != good_cr3 ||
	    rdmsr(MSR_EFER) != good_efer)
		cr_reset();
	asm volatile("mov %0, %%dr7" : : "r"(0x400u));
	asm volatile("mov %0, %%dr6" : : "r"(0xffff0ff0u));
	asm volatile("mov %0, %%dr0; mov %0, %%dr1; mov %0, %%dr2; "
		     "mov %0, %%dr3" : : "r"(0u));
	pt_build_data();
	pd[0][FZ_DATA2 >> 21] = big_page(FZ_DATA2);
	write_cr3(good_cr3);
	if (msr_dirty[0] | msr_dirty[1]) {
		uint32_t d0 = msr_dirty[0], d1 = msr_dirty[1];

		msr_dirty[0] = msr_dirty[1] = 0;
		for (i = 0; i < NR_MSRS; i++)
			if (((i < 32 ? d0 : d1) & (1u << (i % 32))) && msrs[i].ok)
				safe_wrmsr(msrs[i].index, msrs[i].orig);
	}
	if (apic_dirty && has_apic)
		apic_reset();
	if (pic_dirty)
		pic_reset();
	if (cmos_dirty)
		outb(0x70, 0x0d);
	apic_dirty = pic_dirty = cmos_dirty = 0;
	/* an interrupt a program left pending in the APIC: EOI it */
	if (has_apic)
		for (i = 0; i < 8 && mmio_read(LAPIC + 0x100 + 0x70) | 1; i++) {
			int any = 0, k;

			for (k = 0; k < 8; k++)
				any |= mmio_read(LAPIC + 0x100 + k * 0x10) != 0;
			if (!any)
				break;
			mmio_write(LAPIC + 0xb0, 0);
		}
}

int fz_resume(void)
{
	uint32_t v = fz_frame.vector;

	if (v == 2)
		return ++nr_ticks < 2;
	if ((v == 1 || v == 3 || v == 4) && ++nr_resumes <= 16)
		return 1;
	return 0;
}

void fz_kernel_event(uint32_t *frame)
{
	uint32_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("\nFAIL: fuzzer: vector %u in the fuzzer itself, error %#x, "
	       "eip %#x, cs %#x, eflags %#x, cr2 %#x\n", frame[2], frame[3],
	       frame[4], frame[5], frame[6], cr2);
	check(0, "fuzzer keeps control", "see above");
	test_exit();
}

/* Does any ordered pair of these 32-bit values make up the canary? */
static int regs_leak(const uint32_t *v, int n, int *hi, int *lo)
{
	uint32_t h[16];
	int i, j;

	for (i = 0; i < n; i++)
		h[i] = chash(v[i]);
	for (i = 0; i < n; i++) {
		if (h[i] != canary_hhi)
			continue;
		for (j = 0; j < n; j++)
			if (j != i && h[j] == canary_hlo) {
				*hi = i;
				*lo = j;
				return 1;
			}
	}
	return 0;
}

/* The canary in [a, b), 4-byte aligned, as the CPU stores it (lo first). */
static uint32_t mem_leak(uint32_t a, uint32_t b)
{
	const volatile uint32_t *p = (const volatile uint32_t *)a;
	const volatile uint32_t *e = (const volatile uint32_t *)(b - 4);

	for (; p < e; p++)
		if (chash(*p) == canary_hlo && chash(p[1]) == canary_hhi)
			return (uint32_t)p;
	return 0;
}

static const char *const reg_names[] = {
	"eax", "ebx", "ecx", "edx", "esi", "edi", "ebp", "esp", "eip", "cr2",
};

static int run_program(uint64_t seed, uint32_t idx, int verbose)
{
	uint32_t ring3, vec, v[10], a;
	int leaks = 0, hi, lo, i, k;
	struct fz_frame f;

	seed_program(seed, idx);
	gen_program(&ring3);
	rnd_regs(&fz_in, ring3);
	if (HAS(C_PTE)) {
		for (k = below(4); k > 0; k--)
			pt_data[below(FZ_DATA_PAGES)] = rnd_pte();
		if (chance(20)) {
			uint64_t pde = (rnd_pte() & ~0x1fffffull & ~(0xfull << 48)) |
				       PTE_PS | (rnd() & 0x1f);

			pd[0][FZ_DATA2 >> 21] = pde;
		}
		write_cr3(good_cr3);
	}
	nr_resumes = nr_ticks = 0;
	if (verbose)
		printf("info: program %u: ring %u, %u bytes\n", idx,
		       ring3 ? 3 : 0, (uint32_t)(ep - (uint8_t *)FZ_PROG0));
	if (verbose > 1) {
		const uint8_t *b = (const uint8_t *)FZ_PROG0;

		printf("info: ring 0:");
		for (; b < ep; b++)
			printf(" %02x", *b);
		printf("\n");
		if (ring3) {
			uint32_t off = *(const uint32_t *)(ep - 13 - 4 - 5);

			printf("info: ring 3 at %#x:", off);
			for (b = (const uint8_t *)off; b < (const uint8_t *)off + 64 &&
			     b < (const uint8_t *)FZ_PROG3 + FZ_PROG3_SIZE; b++)
				printf(" %02x", *b);
			printf("\n");
		}
	}
	vec = fz_enter();
	f = fz_frame;
	restore();
	ends[vec & 255]++;
	nr_ring3 += ring3;
	nr_programs++;
	if (verbose)
		printf("info: program %u: vector %u error %#x eip %#x\n", idx,
		       vec, f.error, f.eip);
	if (!have_canary)
		return 0;
	memcpy(v, &f.eax, 8 * 4);
	v[8] = f.eip;
	v[9] = f.cr2;
	if (regs_leak(v, 10, &hi, &lo)) {
		printf("FAIL: leak: program %u seed %llu: the canary in "
		       "%s:%s (vector %u)\n", idx, seed, reg_names[hi],
		       reg_names[lo], vec);
		leaks++;
	}
	for (i = 0; i < (int)FZ_DATA_PAGES; i++) {
		a = mem_leak(FZ_DATA + i * PAGE, FZ_DATA + (i + 1) * PAGE + 4);
		if (a) {
			printf("FAIL: leak: program %u seed %llu: the canary "
			       "in guest memory at %#x\n", idx, seed, a);
			leaks++;
			break;
		}
	}
	return leaks;
}

/* The PIT at 1000 Hz through I/O APIC pin 2 (ISA IRQ 0's usual override)
 * and pin 0, delivered as an NMI (I/O APIC redirection entry: delivery
 * mode 100b, edge, physical destination 0xff: all APICs). */
static void ioapic_write(uint32_t reg, uint32_t v, int paging)
{
	(void)paging;
	mmio_write(IOAPIC, reg);
	mmio_write(IOAPIC + 0x10, v);
}

/*
 * With paging off: programs never reach the I/O APIC, the fuzzer maps it
 * nowhere.  (The writes take effect under umbra in Bochs too: read back
 * there, the entries hold the NMI routing; what did not arrive under VMX
 * were NMIs that came while umbra ran, which umbra now forwards.)
 */
static void ioapic_route(int pin, int on)
{
	write_cr0(good_cr0 & ~CR0_PG);
	/* physical destination 0xff, the broadcast: a program that changes
	 * the local APIC's ID keeps its watchdog */
	ioapic_write(0x10 + 2 * pin + 1, 0xffu << 24, 0);
	ioapic_write(0x10 + 2 * pin, on ? 0x400 | 0x02 : 0x10000, 0);
	write_cr0(good_cr0);
}

static int watchdog_start(void)
{
	uint32_t div = 1193182 / 1000, n, spins;
	int pin;

	outb(0x43, 0x34);		/* channel 0, lo/hi, mode 2 */
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
	for (pin = 2; pin >= 0; pin -= 2) {
		ioapic_route(pin, 1);
		/* up to 4e9 TSC cycles (a second or more) for three ticks */
		uint64_t t0 = rdtsc();

		n = fz_nmi_between;
		for (spins = 0; fz_nmi_between < n + 3 &&
		     rdtsc() - t0 < 4000000000ull; spins++)
			;
		if (fz_nmi_between >= n + 3) {
			info("watchdog: PIT 1000 Hz, I/O APIC pin %d, NMI", pin);
			return 1;
		}
		ioapic_route(pin, 0);
	}
	return 0;
}

static int is_qemu(void)
{
	struct cpuid_regs r;
	char brand[49];
	uint32_t i;

	cpuid(0x80000000, &r);
	if (r.eax < 0x80000004)
		return 0;
	for (i = 0; i < 3; i++) {
		cpuid(0x80000002 + i, &r);
		memcpy(brand + 16 * i, &r, 16);
	}
	brand[48] = 0;
	return strstr(brand, "QEMU") != NULL;
}

static void probe_cpu(void)
{
	struct cpuid_regs r;
	uint32_t max, maxx;

	cpuid(0, &r);
	max = r.eax;
	cpuid(1, &r);
	has_apic = !!(r.edx & (1u << 9));
	has_sep = !!(r.edx & (1u << 11));
	has_xsave = !!(r.ecx & (1u << 26));
	cr4_ok = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) |
		 (1u << 7) | (1u << 8);		/* VME PVI TSD DE PSE PGE PCE */
	if (r.edx & (1u << 24))
		cr4_ok |= 1u << 9;		/* OSFXSR */
	if (r.edx & (1u << 25))
		cr4_ok |= 1u << 10;		/* OSXMMEXCPT */
	if (r.ecx & (1u << 5))
		cr4_ok |= 1u << 13;		/* VMXE */
	if (r.ecx & (1u << 6))
		cr4_ok |= 1u << 14;		/* SMXE */
	if (r.ecx & (1u << 17))
		has_pcid = 1;			/* PCIDE needs IA-32e: #GP */
	if (has_xsave)
		cr4_ok |= 1u << 18;		/* OSXSAVE */
	if (!(r.edx & (1u << 13)))
		cr4_ok &= ~(1u << 7);
	if (max >= 7) {
		cpuid_count(7, 0, &r);
		has_fsgs = !!(r.ebx & 1);
		has_smep = !!(r.ebx & (1u << 7));
		has_smap = !!(r.ebx & (1u << 20));
		has_umip = !!(r.ecx & (1u << 2));
		has_pke = !!(r.ecx & (1u << 3));
		if (has_fsgs)
			cr4_ok |= 1u << 16;
		if (has_smep)
			cr4_ok |= 1u << 20;
		if (has_smap)
			cr4_ok |= 1u << 21;
		if (has_umip)
			cr4_ok |= 1u << 11;
		if (has_pke)
			cr4_ok |= 1u << 22;
	}
	cpuid(0x80000000, &r);
	maxx = r.eax;
	if (maxx >= 0x80000001) {
		cpuid(0x80000001, &r);
		has_nx = !!(r.edx & (1u << 20));
		has_syscall = !!(r.edx & (1u << 11));
		has_cr8alt = !!(r.ecx & (1u << 4));
	}
	umbra = under_umbra();
	if (umbra) {
		cpuid(0x40000001, &r);
		umbra_base = ((uint64_t)r.ebx << 32) | r.eax;
		umbra_size = ((uint64_t)r.edx << 32) | r.ecx;
	}
}

/* RDMSR each MSR of the table once, through a program, to learn which
 * exist and what to restore. */
static void probe_msrs(void)
{
	uint32_t i;

	for (i = 0; i < NR_MSRS; i++) {
		uint8_t *p = (uint8_t *)FZ_PROG0;

		fill_int80(p, 16);
		p[0] = 0x0f;
		p[1] = 0x32;
		memset(&fz_in, 0, sizeof(fz_in));
		fz_in.ecx = msrs[i].index;
		fz_in.esp = FZ_STACK0 + FZ_STACK_SIZE - 16;
		fz_in.eflags = 0x2;
		if (fz_enter() == 0x80) {
			msrs[i].ok = 1;
			msrs[i].orig = ((uint64_t)fz_frame.edx << 32) |
				       fz_frame.eax;
		}
		restore();
	}
}

static void setup(void)
{
	uint32_t r;

	probe_cpu();
	gdt_build();
	memcpy(alt_gdt, gdt, sizeof(gdt));
	tss_build();
	idt_build();
	fz_good_idtr.limit = sizeof(idt) - 1;
	fz_good_idtr.base = (uint32_t)idt;
	load_tables();
	pt_build();
	good_cr3 = (uint32_t)pdpt;
	good_cr4 = read_cr4() | CR4_PAE;
	good_efer = has_nx ? EFER_NXE : 0;
	good_cr0 = (read_cr0() | CR0_PE | CR0_PG | CR0_WP | CR0_NE | CR0_ET) &
		   ~(CR0_CD | CR0_NW | CR0_TS | CR0_EM | CR0_AM);
	write_cr4(good_cr4);
	write_cr3(good_cr3);
	if (has_nx)
		wrmsr(MSR_EFER, good_efer);
	write_cr0(good_cr0);
	good_cr4 = read_cr4();
	good_cr0 = read_cr0();
	good_efer = rdmsr(MSR_EFER);
	if (has_sep) {
		wrmsr(0x174, KCODE);
		wrmsr(0x175, (uint32_t)sysenter_stack + sizeof(sysenter_stack));
		wrmsr(0x176, (uint32_t)fz_sysenter_landing);
	}
	if (has_syscall)
		wrmsr(0xc0000081, ((uint64_t)KCODE << 32) |
			(uint32_t)fz_syscall_landing);
	pic_reset();
	if (has_apic) {
		uint64_t base = rdmsr(MSR_APIC_BASE);

		if ((base & ~0xfffull) != LAPIC || !(base & (1u << 11)))
			info("IA32_APIC_BASE %#llx: not the default", base);
		apic_reset();
		lapic_id = mmio_read(LAPIC + 0x20) >> 24;
	}
	/* the fixed regions, the alternative GDT's mutations */
	for (r = 6; r < GDT_ENTRIES; r++)
		if (r != 11)
			alt_gdt[r] ^= (uint64_t)rnd() << 32 | rnd();
	for (r = 6; r < GDT_ENTRIES; r++) {
		uint32_t type = (alt_gdt[r] >> 40) & 0x1f, dpl = (alt_gdt[r] >> 45) & 3;

		/* a DPL-0 writable data segment loads into SS: make it DPL 1,
		 * so that a ring-0 program's stack stays the flat one */
		if ((type & 0x1a) == 0x12 && dpl == 0)
			alt_gdt[r] |= 1ull << 45;
	}
}

static void print_stats(void)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF",
		"9", "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC",
		"#MC", "#XM", "#VE", "#CP",
	};
	uint32_t v, other = 0;

	printf("info: %u programs (%u with a ring-3 part) ended by:", nr_programs,
	       nr_ring3);
	for (v = 0; v < 32; v++)
		if (ends[v])
			printf(" %s %u", names[v] ? names[v] : "?", ends[v]);
	for (v = 32; v < 256; v++)
		if (v != 0x80 && v != 0x81 && v != 0x82)
			other += ends[v];
	printf(" end %u sysenter %u syscall %u other-vectors %u\n", ends[0x80],
	       ends[0x81], ends[0x82], other);
}

static uint32_t noscan_base, noscan_end;	/* noscan=BASE-END */
/* scan=low: the first 32 MiB (all a program writes with paging on) and
 * umbra's range only, for the slow emulator */
#define SCAN_LOW_END	0x02000000u
static int scan_low;

/*
 * A canary in a stale copy of umbra's image that its loader left in guest
 * RAM (issue 20, item 4a: GRUB's at 2 MiB, and umbra.efi's too, wherever
 * the EFI loader put it): the 2 MiB block it lies in holds umbra's image
 * marker.  Known, fixed elsewhere: reported on an info line, not failed
 * (stale=fail fails it).
 */
static int stale_fail;

static int stale_image(uint32_t a)
{
	static const char marker[] = "UMBRA-CORE-IMAGE-MARKER";
	const char *p = (const char *)(a & ~0x1fffffu), *end = p + 0x200000;

	if (stale_fail)
		return 0;
	for (; p + sizeof(marker) <= end; p += 16)
		if (!memcmp(p, marker, sizeof(marker) - 1)) {
			info("known leak (issue 20, item 4a): the canary at %#x, "
			     "in a stale copy of umbra's image (marker at %p)",
			     a, p);
			return 1;
		}
	return 0;
}

static uint32_t scan_range(uint64_t b, uint64_t e)
{
	uint32_t a = 0;

	if (e <= b + 8)
		return 0;
	if (noscan_end > noscan_base && b < noscan_end && noscan_base < e) {
		if (b < noscan_base)
			a = mem_leak((uint32_t)b, noscan_base + 4);
		if (!a && e > noscan_end)
			a = scan_range(noscan_end, e);
		return a;
	}
	for (;;) {
		a = mem_leak((uint32_t)b, (uint32_t)(e - 4) + 4);
		if (!a || !stale_image(a))
			return a;
		b = (a & ~0x1fffffu) + 0x200000;	/* past that image */
		if (b + 8 >= e)
			return 0;
	}
}

/* All of guest RAM below 4 GiB, and umbra's range, with paging off. */
static void scan_memory(void)
{
	uint32_t found = 0, mib = 0;
	int i;

	if (!have_canary) {
		skip("no canary in guest memory", "no canary= given");
		return;
	}
	if (noscan_end > noscan_base)
		info("memory scan leaves out %#x-%#x (noscan=)", noscan_base,
		     noscan_end - 1);
	write_cr0(read_cr0() & ~CR0_PG);
	for (i = 0; i < boot.nr_mmap && !found; i++) {
		const struct mmap_entry *m = &boot.mmap[i];
		uint64_t b = m->base, e = m->base + m->len;

		if (m->type != MB_MEM_USABLE || b >= 0x100000000ull)
			continue;
		if (e > 0x100000000ull)
			e = 0x100000000ull;
		if (b < 0x1000)
			b = 0x1000;
		if (scan_low && e > SCAN_LOW_END)
			e = SCAN_LOW_END;
		if (e <= b)
			continue;
		found = scan_range(b, e);
		mib += (uint32_t)((e - b) >> 20);
	}
	if (!found && umbra_size && umbra_base + umbra_size <= 0x100000000ull) {
		found = scan_range(umbra_base, umbra_base + umbra_size);
		mib += (uint32_t)(umbra_size >> 20);
	}
	write_cr0(good_cr0);
	check(!found, "no canary in guest memory", "found at %#x", found);
	info("memory scan: %u MiB", mib);
}

static uint32_t hex32(const char **p)
{
	uint32_t v = 0;
	const char *s = *p;

	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			v = v << 4 | (uint32_t)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			v = v << 4 | (uint32_t)(*s - 'a' + 10);
		else
			break;
	}
	*p = s;
	return v;
}

void test_main(void)
{
	uint64_t seed = arg_num("seed", 1);
	uint32_t first = (uint32_t)arg_num("first", 0);
	uint32_t count = (uint32_t)arg_num("count", 1000);
	uint32_t block = (uint32_t)arg_num("block", 1000);
	int verbose = (int)arg_num("verbose", 0);
	const char *c = arg("canary"), *scan = arg("scan"), *ns = arg("noscan");
	uint32_t i, leaks = 0, start, c0;
	int k;

	if ((uint32_t)__kernel_end > FZ_PROG0 ||
	    boot_is_excluded(FZ_PROG0, FZ_LOW_END)) {
		check(0, "fuzzer's fixed memory is free", "kernel end %p",
		      __kernel_end);
		return;
	}
	if (c && parse_canary(c))
		have_canary = 1;
	scrub_stack();
	if (ns) {
		noscan_base = hex32(&ns);
		if (*ns == '-') {
			ns++;
			noscan_end = hex32(&ns);
		}
	}
	arg_classes("exclude", 0);
	arg_classes("include", 1);
	is_qemu_cpu = is_qemu();
	movss_nodr = is_qemu_cpu && !arg_num("movssdr", 0);
	stale_fail = arg("stale") && !memcmp(arg("stale"), "fail", 4);
	if (!block)
		block = 1000;
	rs = seed ^ 0x5deece66dull;
	setup();
	info("setup done: %s", umbra ? "under umbra" : "bare");
	if (!watchdog_start()) {
		check(0, "watchdog NMI arrives", "no NMI from the PIT through "
		      "the I/O APIC");
		return;
	}
	probe_msrs();
	if (verbose)
		info("msrs probed");
	printf("info: seed %llu, programs %u-%u, classes", seed, first,
	       first + count - 1);
	for (k = 0; k < NR_CLASSES; k++)
		if (HAS(k))
			printf(" %s", class_names[k]);
	printf("; %s; %s\n", umbra ? "under umbra" : "bare",
	       have_canary ? "canary given" : "no canary= (no leak checks)");
	for (start = first; start < first + count; start += block) {
		uint32_t end = start + block;
		char name[80];

		if (end > first + count)
			end = first + count;
		c0 = 0;
		for (i = start; i < end; i++)
			c0 += run_program(seed, i, verbose);
		leaks += c0;
		snprintf(name, sizeof(name), "programs %u-%u seed %llu", start,
			 end - 1, seed);
		check(!c0, name, "%u leaks of the canary", c0);
	}
	print_stats();
	scan_low = scan && !memcmp(scan, "low", 3);
	if (!scan || memcmp(scan, "none", 4))
		scan_memory();
	(void)leaks;
}
