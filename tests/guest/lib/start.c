// SPDX-License-Identifier: BSD-2-Clause
/*
 * Guest kernels: what runs between the entry stub and test_main().
 */
#include "guest.h"
#include "x86.h"

struct seg_probe entry_segs[6];
struct boot boot;

/* entry.asm */
void gdt_load(void);
void guest_start(void);
extern const uint32_t exc_stubs[32];

struct exc_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax;
	uint32_t vector, error;
	uint32_t eip, cs, eflags;
};

void exception_handler(struct exc_frame *f);

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[32] __attribute__((aligned(8)));

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint32_t base;
};

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	"#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "15",
	"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "22", "23",
	"24", "25", "26", "27", "28", "29", "#SX", "31",
};

/* Divide *n by d in place (d != 0) and return the remainder; no libgcc. */
uint32_t u64_divmod(uint64_t *n, uint32_t d)
{
	uint32_t hi = (uint32_t)(*n >> 32), lo = (uint32_t)*n;
	uint32_t qhi = hi / d, r = hi % d, qlo;

	asm("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	*n = ((uint64_t)qhi << 32) | qlo;
	return r;
}

int ranges_overlap(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

/* Does [base, end) touch anything the framework said must be preserved? */
int boot_is_excluded(uint64_t base, uint64_t end)
{
	int i;

	for (i = 0; i < boot.nr_excl; i++)
		if (ranges_overlap(base, end, boot.excl[i].base,
				   boot.excl[i].end))
			return 1;
	return 0;
}

int under_umbra(void)
{
	struct cpuid_regs r;
	char sig[13];

	cpuid(1, &r);
	if (!(r.ecx & (1u << 31)))
		return 0;
	cpuid(0x40000000, &r);
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	return strcmp(sig, "UMBRA-X86-HV") == 0;
}

void exception_handler(struct exc_frame *f)
{
	uint32_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("\nFAIL: unexpected exception: vector %u (%s) error %#x at "
	       "eip %#x cs %#x eflags %#x cr2 %#x\n", f->vector,
	       exc_names[f->vector & 31], f->error, f->eip, f->cs, f->eflags,
	       cr2);
	printf("info: eax %#x ebx %#x ecx %#x edx %#x esi %#x edi %#x "
	       "ebp %#x\n", f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi,
	       f->ebp);
	check(0, "no unexpected exception", "see above");
	test_exit();
}

static void idt_init(void)
{
	struct desc_ptr p;
	int i;

	for (i = 0; i < 32; i++) {
		idt[i].off_lo = exc_stubs[i] & 0xffff;
		idt[i].off_hi = exc_stubs[i] >> 16;
		idt[i].sel = 0x08;
		idt[i].zero = 0;
		idt[i].type = 0x8e;	/* present, DPL 0, 32-bit interrupt gate */
	}
	p.limit = sizeof(idt) - 1;
	p.base = (uint32_t)idt;
	asm volatile("lidt %0" : : "m"(p));
}

/* LAR, LSL and the descriptor itself, for each selector the loader left. */
static void probe_segments(void)
{
	static const char *const names[6] = { "cs", "ds", "es", "ss", "fs",
					       "gs" };
	const uint16_t *sels = &entry_state.cs;
	struct desc_ptr gdtr;
	int i;

	asm volatile("sgdt %0" : "=m"(gdtr));
	for (i = 0; i < 6; i++) {
		struct seg_probe *p = &entry_segs[i];
		uint32_t ar = 0, limit = 0;
		uint8_t ok;

		p->name = names[i];
		p->sel = sels[i];
		asm volatile("lar %2, %0; setz %1"
			     : "=r"(ar), "=q"(ok) : "r"((uint32_t)p->sel), "0"(0));
		p->lar_ok = ok;
		p->ar = ar & 0x00f0ff00;
		asm volatile("lsl %2, %0; setz %1"
			     : "=r"(limit), "=q"(ok) : "r"((uint32_t)p->sel), "0"(0));
		p->lsl_ok = ok;
		p->limit = limit;
		if (!(p->sel & 4) && (p->sel | 7) <= gdtr.limit && p->sel >= 8) {
			const volatile uint64_t *d = (const void *)(gdtr.base +
								    (p->sel & ~7u));
			uint64_t v = *d;

			p->base = ((uint32_t)(v >> 16) & 0xffffff) |
				  ((uint32_t)(v >> 56) << 24);
			p->gdt_ok = 1;
		}
	}
}

static void add_excl(uint64_t base, uint64_t end)
{
	if (boot.nr_excl < BOOT_MAX_EXCL && end > base) {
		boot.excl[boot.nr_excl].base = base & ~0xfffull;
		boot.excl[boot.nr_excl].end = (end + 0xfff) & ~0xfffull;
		boot.nr_excl++;
	}
}

static size_t copy_str(char *dst, size_t size, uint32_t addr)
{
	const char *s = (const char *)addr;
	size_t n = strlcpy(dst, s, size);

	add_excl(addr, addr + n + 1);
	return n;
}

/* Copy what the tests need out of the multiboot information. */
static void parse_multiboot(void)
{
	const uint32_t *mbi = (const uint32_t *)entry_state.ebx;

	add_excl((uint32_t)__kernel_start, (uint32_t)__kernel_end);
	if (entry_state.eax != MB_MAGIC || !mbi)
		return;
	boot.valid = 1;
	add_excl((uint32_t)mbi, (uint32_t)mbi + 88);
	boot.flags = mbi[0];
	if (boot.flags & MB_FLAG_MEM) {
		boot.mem_lower = mbi[1];
		boot.mem_upper = mbi[2];
	}
	if ((boot.flags & MB_FLAG_CMDLINE) && mbi[4])
		boot.cmdline_len = copy_str(boot.cmdline, sizeof(boot.cmdline),
					    mbi[4]);
	if ((boot.flags & MB_FLAG_LOADER) && mbi[16])
		copy_str(boot.loader, sizeof(boot.loader), mbi[16]);
	if (boot.flags & MB_FLAG_MODS) {
		uint32_t n = mbi[5];
		const uint32_t *m = (const uint32_t *)mbi[6];
		uint32_t i;

		add_excl(mbi[6], mbi[6] + 16 * n);
		for (i = 0; i < n && i < BOOT_MAX_MODS; i++, m += 4) {
			boot.mods[i].start = m[0];
			boot.mods[i].end = m[1];
			add_excl(m[0], m[1]);
			if (m[2])
				copy_str(boot.mods[i].cmdline,
					 sizeof(boot.mods[i].cmdline), m[2]);
		}
		boot.nr_mods = i;
	}
	if (boot.flags & MB_FLAG_MMAP) {
		uint32_t p = mbi[12], end = mbi[12] + mbi[11];

		add_excl(p, end);
		while (p + 4 <= end && boot.nr_mmap < BOOT_MAX_MMAP) {
			const uint8_t *e = (const uint8_t *)p;
			uint32_t size = *(const uint32_t *)e;
			struct mmap_entry *me = &boot.mmap[boot.nr_mmap++];

			memcpy(&me->base, e + 4, 8);
			memcpy(&me->len, e + 12, 8);
			memcpy(&me->type, e + 20, 4);
			p += size + 4;
		}
	}
}

void guest_start(void)
{
	int i;

	probe_segments();
	serial_init();
	gdt_load();
	idt_init();
	parse_multiboot();

	printf("\ninfo: guest test %s: start\n", test_name);
	/* the runner checks this against its configuration */
	printf("info: under umbra: %s\n", under_umbra() ? "yes" : "no");
	if (boot.valid) {
		printf("info: loader: %s\n", boot.loader[0] ? boot.loader : "?");
		printf("info: cmdline: %s\n", boot.cmdline);
		printf("info: mem_lower %u KiB, mem_upper %u KiB, %d mmap "
		       "entries, %d modules\n", boot.mem_lower, boot.mem_upper,
		       boot.nr_mmap, boot.nr_mods);
		for (i = 0; i < boot.nr_mmap; i++)
			printf("info: mmap %#018llx-%#018llx type %u\n",
			       boot.mmap[i].base,
			       boot.mmap[i].base + boot.mmap[i].len - 1,
			       boot.mmap[i].type);
	} else {
		printf("info: no multiboot information (eax %#x)\n",
		       entry_state.eax);
	}
	test_main();
	test_exit();
}
