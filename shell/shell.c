// SPDX-License-Identifier: BSD-2-Clause
/*
 * The serial debug shell: Ctrl-] Ctrl-] on umbra's console pauses the guest
 * (umbra simply does not resume it) and reads commands from the console by
 * polling until `continue` (shell.h has how the keys are seen;
 * docs/debugging.md has every command and a session).
 *
 * While the shell runs, the log level is at least info, so that the
 * commands' output (printed as log lines) is always seen; `log LEVEL` sets
 * the level the guest resumes with.
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/emul/gmem.h"
#include "core/mem.h"
#include "core/options.h"
#include "shell/shell.h"
#include "arch/x86/paging/mmu.h"
#include "drivers/serial.h"
#include "lib/string.h"
#include "mmu/pt.h"
#include "mmu/tdp/tdp.h"
#include "umbra/core.h"
#include "umbra/log.h"

static void shell_run(struct vcpu *v);	/* open it now; returns on `continue` */

#define UART_LCR	3
#define UART_LSR	5
#define LCR_DLAB	0x80
#define LSR_DR		0x01

#define LINE_MAX	80
#define POLL_CYCLES_DEFAULT	1000000ull	/* without a known TSC rate */
#define POLL_BYTES	16			/* per poll: one FIFO */
#define DIRTY_CHUNK	(PAGE_SIZE * 8 * PAGE_SIZE)	/* one bitmap page */
#define DIRTY_MAX	(64 * SZ_1G)		/* mmu/tdp/tdp.h */

enum shell_mode { SHELL_OFF, SHELL_SHARED, SHELL_DEDICATED };

static enum shell_mode mode;
static unsigned int esc_seen;		/* escape bytes in a row */
static uint64_t tsc_hz;			/* 0: unknown */
static uint64_t poll_cycles = POLL_CYCLES_DEFAULT;
static uint64_t last_poll;
static uint64_t guest_cycles;		/* TSC cycles the guest ran */
static uint64_t resumed_at;		/* TSC when the shell last ended */
static int user_level;			/* the log level outside the shell */
static bool leave;

static struct {
	bool on;
	uint64_t size;			/* logged: [0, size) */
	uint64_t since;			/* guest_cycles at start / last show */
	uint64_t total;			/* pages since start */
} dirty;

static uint64_t dirty_bitmap[PAGE_SIZE / 8] __attribute__((aligned(4096)));

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/*
 * TSC frequency: CPUID 15h (TSC/crystal ratio and crystal Hz) or 16h (base
 * MHz) when the CPU has them (SDM Vol 2 CPUID), else PIT channel 2 counted
 * down over 10 ms (its OUT2 is port 61h bit 5, as Linux's
 * pit_calibrate_tsc() does), before the guest owns the PIT.
 */
static uint64_t tsc_from_cpuid(void)
{
	uint32_t max = cpuid(0).eax;
	struct cpuid_regs r;

	if (max >= 0x15) {
		r = cpuid(0x15);
		if (r.eax && r.ebx && r.ecx)
			return (uint64_t)r.ecx * r.ebx / r.eax;
	}
	if (max >= 0x16) {
		r = cpuid(0x16);
		if (r.eax & 0xffff)
			return (uint64_t)(r.eax & 0xffff) * 1000000;
	}
	return 0;
}

#define PIT_HZ		1193182u
#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PORT_B		0x61

static uint64_t tsc_from_pit(void)
{
	uint16_t latch = PIT_HZ / 100;		/* 10 ms */
	uint8_t b = inb(PORT_B);
	uint64_t t0, t1;
	long n;

	outb(PORT_B, (b & ~0x02) | 0x01);	/* gate high, speaker off */
	outb(PIT_CMD, 0xb0);			/* channel 2, lo/hi, mode 0 */
	outb(PIT_CH2, latch & 0xff);
	outb(PIT_CH2, latch >> 8);
	t0 = rdtsc();
	for (n = 0; n < 50000000 && !(inb(PORT_B) & 0x20); n++)
		;
	t1 = rdtsc();
	outb(PORT_B, b);
	if (n == 50000000 || t1 <= t0)
		return 0;
	return (t1 - t0) * 100;
}

void shell_init(struct vcpu *v)
{
	uint16_t port = serial_port();
	const char *how;

	if (!port) {
		mode = SHELL_OFF;
		return;
	}
	/* no device: the port reads all ones, LSR.DR included */
	if (inb(port + UART_LSR) == 0xff) {
		mode = SHELL_OFF;
		pr_warn("debug shell: no UART at port %x", port);
		return;
	}
	mode = port == COM1_PORT ? SHELL_SHARED : SHELL_DEDICATED;
	tsc_hz = tsc_from_cpuid();
	how = "cpuid";
	if (!tsc_hz) {
		tsc_hz = tsc_from_pit();
		how = "pit";
	}
	if (tsc_hz)
		poll_cycles = tsc_hz / 1000;
	/* an idle guest halts and would not exit for a long time */
	if (mode == SHELL_DEDICATED && v->ops->intercept_hlt)
		v->ops->intercept_hlt(v, true);
	resumed_at = rdtsc();
	pr_info("debug shell: Ctrl-] Ctrl-] on %s port %x; TSC %lu kHz (%s)",
		mode == SHELL_SHARED ? "the shared" : "umbra's own", port,
		tsc_hz / 1000, tsc_hz ? how : "unknown");
}

bool shell_shared(void)
{
	return serial_port() == COM1_PORT;
}

/* Two escape bytes in a row open the shell. */
static void feed(struct vcpu *v, uint8_t c)
{
	if (c != SHELL_ESCAPE) {
		esc_seen = 0;
		return;
	}
	if (++esc_seen < 2)
		return;
	esc_seen = 0;
	shell_run(v);
}

/*
 * The data port reads the receive buffer only with LCR.DLAB clear (else it
 * is the divisor latch); a byte is there only if LSR.DR says so (reading
 * LSR also clears its error bits, which the guest then does not see).
 */
uint8_t shell_guest_rx(struct vcpu *v, uint16_t port)
{
	uint8_t c;
	bool data;

	if (inb(port + UART_LCR) & LCR_DLAB)
		return inb(port);
	data = inb(port + UART_LSR) & LSR_DR;
	c = inb(port);
	if (data && mode == SHELL_SHARED)
		feed(v, c);
	return c;
}

void shell_poll(struct vcpu *v)
{
	uint64_t now;
	char c;

	if (mode != SHELL_DEDICATED)
		return;
	now = rdtsc();
	if (now - last_poll < poll_cycles)
		return;
	last_poll = now;
	for (int n = 0; n < POLL_BYTES && serial_getc(&c); n++)
		feed(v, (uint8_t)c);
}

/* --- the prompt ---------------------------------------------------------- */

static void put(const char *s)
{
	serial_write(s, strlen(s));
}

static char getc_wait(void)
{
	char c;

	while (!serial_getc(&c))
		cpu_pause();
	return c;
}

/* One line with echo and backspace; CR, LF or CR LF end it. */
static void read_line(char *buf, size_t len)
{
	static bool after_cr;
	size_t n = 0;

	for (;;) {
		char c = getc_wait();

		if (c == '\n' && after_cr) {
			after_cr = false;
			continue;
		}
		after_cr = c == '\r';
		if (c == '\r' || c == '\n') {
			put("\n");
			break;
		}
		if ((c == 0x7f || c == 0x08) && n) {
			n--;
			put("\b \b");
		} else if (c >= 0x20 && c < 0x7f && n + 1 < len) {
			buf[n++] = c;
			serial_write(&c, 1);
		}
	}
	buf[n] = '\0';
}

static bool parse_hex(const char *s, uint64_t *out)
{
	uint64_t x = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s || strlen(s) > 16)
		return false;
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		x = x << 4 | d;
	}
	*out = x;
	return true;
}

/* --- walk ---------------------------------------------------------------- */

static const char *const mode_names[] = {
	[GW_MODE_OFF] = "paging off", [GW_MODE_32] = "32-bit paging",
	[GW_MODE_PAE] = "PAE paging", [GW_MODE_LM] = "4-level paging",
};

static const char *guest_entry_name(enum gw_mode m, int i, int n)
{
	static const char *const lm[] = { "PML4E", "PDPTE", "PDE", "PTE" };
	static const char *const pae[] = { "PDPTE", "PDE", "PTE" };
	static const char *const b32[] = { "PDE", "PTE" };

	switch (m) {
	case GW_MODE_LM: return i < 4 ? lm[i] : "?";
	case GW_MODE_PAE: return i < 3 ? pae[i] : "?";
	case GW_MODE_32: return i < 2 ? b32[i] : "?";
	default: return n ? "?" : "";
	}
}

/* 32-bit paging maps 4 MiB at level 2 (SDM Vol 3 4.3), the others 2 MiB */
static const char *size_name(int level, bool b32)
{
	if (level == 2)
		return b32 ? "4M" : "2M";
	return level == 3 ? "1G" : level == 1 ? "4K" : "-";
}

/* The guest's own walk (no A/D updates); true and *gpa if it translates. */
static bool walk_guest(struct vcpu *v, uint64_t va, uint64_t *gpa)
{
	enum gw_mode m = gmem_mode(v);
	struct gw_result r;
	enum gw_status st;

	if (m != GW_MODE_LM)
		va &= 0xffffffffull;
	st = gmem_walk(v, va, GW_NO_AD, &r);
	pr_info("walk %lx: guest %s, cr3 %lx", va, mode_names[m],
		v->ops->get_reg(v, VCPU_CR3));
	for (int i = 0; i < r.nr_ptes; i++)
		pr_info("  guest %-5s at gpa %012lx: %016lx%s",
			guest_entry_name(m, i, r.nr_ptes), r.pte_gpa[i], r.pte[i],
			r.pte[i] & PTE_P ? "" : " (not present)");
	switch (st) {
	case GW_OK:
		pr_info("  guest: va %lx -> gpa %lx (%s page, %s, %s, %s)", va, r.gpa,
			size_name(r.level, m == GW_MODE_32), r.perm & GW_PERM_W ? "writable" : "read-only",
			r.perm & GW_PERM_U ? "user" : "supervisor",
			r.perm & GW_PERM_X ? "executable" : "no-execute");
		*gpa = r.gpa;
		return true;
	case GW_FAULT:
		pr_info("  guest: va %lx does not translate: #PF error code %x%s%s",
			va, r.error_code, r.error_code & PFERR_P ? " (protection)" :
			" (not present)", r.error_code & PFERR_RSVD ? ", reserved bit" : "");
		return false;
	default:
		pr_info("  guest: a guest table at gpa %lx is not RAM", r.bad_gpa);
		return false;
	}
}

/* A walk of umbra's own tables (TDP or shadow) as the hardware does it. */
static void walk_tables(const char *who, enum pt_format fmt, uint64_t root_pa,
			int top, uint64_t addr)
{
	uint64_t pa = root_pa;

	for (int level = top; level >= 1; level--) {
		unsigned int idx = pt_index(addr, level);
		uint64_t *table = phys_to_virt(pa);
		uint64_t e;
		unsigned int perm;

		if (level == 3 && top == 3)
			idx &= 3;	/* a PAE root: 4 entries, SDM Vol 3 4.4.1 */
		e = __atomic_load_n(&table[idx], __ATOMIC_RELAXED);
		perm = pt_perm(fmt, e);
		pr_info("  %s L%d[%3u] at %012lx: %016lx", who, level, idx,
			pa + idx * 8, e);
		if (!pt_present(fmt, e)) {
			pr_info("  %s: not present at level %d", who, level);
			return;
		}
		if (pt_is_leaf(e, level) && !(top == 3 && level == 3)) {
			pr_info("  %s: -> hpa %lx (%s leaf, %c%c%c)", who,
				pt_leaf_pa(e, level) | (addr & (pt_level_size(level) - 1)),
				size_name(level, false), perm & PT_R ? 'r' : '-',
				perm & PT_W ? 'w' : '-', perm & PT_X ? 'x' : '-');
			return;
		}
		pa = pt_table_pa(e);
	}
}

static void cmd_walk(struct vcpu *v, const char *arg)
{
	uint64_t va, gpa;
	bool ok;

	if (!parse_hex(arg, &va)) {
		pr_err("walk: expected a hexadecimal guest virtual address, got '%s'", arg);
		return;
	}
	ok = walk_guest(v, va, &gpa);
	if (!v->mmu->nested) {
		uint64_t root;
		int level;

		v->mmu->root(v, &root, &level);
		pr_info("  shadow tables (root %lx, %d levels) for va %lx:", root,
			level, va);
		walk_tables("shadow", PT_FMT_HOST, root, level,
			    level == 4 ? va : va & 0xffffffffull);
	} else if (!ok) {
		pr_info("  tdp: no guest-physical address to look up");
	} else {
		pr_info("  %s tables (root %lx) for gpa %lx:",
			v->tdp->fmt == PT_FMT_EPT ? "ept" : "npt",
			mmu_tdp_root_pa(v->tdp), gpa);
		walk_tables(v->tdp->fmt == PT_FMT_EPT ? "ept" : "npt", v->tdp->fmt,
			    mmu_tdp_root_pa(v->tdp), PT_LEVELS, gpa);
	}
}

/* --- mmu, stats, regs ---------------------------------------------------- */

static void cmd_mmu(struct vcpu *v, const char *arg)
{
	v->mmu->print_pages(v);
	if (v->tdp)
		pr_info("tdp: dirty logging %s", dirty.on ? "on" : "off");
}

static void cmd_stats(struct vcpu *v, const char *arg)
{
	vcpu_print_stats(v);
}

static void cmd_regs(struct vcpu *v, const char *arg)
{
	vcpu_print_regs(v, "shell");
	pr_info("  cpl %u, %s", vcpu_cpl(v), mode_names[gmem_mode(v)]);
	if (!v->mmu->nested) {
		uint64_t root;
		int level;

		v->mmu->root(v, &root, &level);
		pr_info("  (guest's view of cr0/cr3/cr4/efer; the hardware's cr3 is the shadow root %lx)",
			root);
	}
}

/* --- log, dirty ---------------------------------------------------------- */

static void cmd_log(struct vcpu *v, const char *arg)
{
	int lvl;

	if (!*arg) {
		pr_info("log level %s", log_level_name(user_level));
		return;
	}
	lvl = log_level_parse(arg);
	if (lvl < 0) {
		pr_err("log: '%s': expected error, warn, info, debug or 0..3", arg);
		return;
	}
	user_level = lvl;
	opts.loglevel = lvl;
	log_level = MAX(lvl, LOG_INFO);
	pr_info("log level %s", log_level_name(lvl));
}

/* Guest RAM: up to the end of the highest RAM range of its map. */
static uint64_t ram_end(void)
{
	uint64_t end = 0;

	for (uint32_t i = 0; i < guest_map.nr; i++) {
		const struct bi_mem_range *m = &guest_map.r[i];

		if (guest_ram(m->base, PAGE_SIZE))
			end = MAX(end, ALIGN_UP(m->base + m->size, PAGE_SIZE));
	}
	return MIN(end, DIRTY_MAX);
}

static long harvest(struct mmu_tdp *tdp)
{
	long n = 0;

	for (uint64_t gpa = 0; gpa < dirty.size; gpa += DIRTY_CHUNK) {
		long r;

		memset(dirty_bitmap, 0, sizeof(dirty_bitmap));
		r = mmu_tdp_dirty_get(tdp, gpa, MIN(DIRTY_CHUNK, dirty.size - gpa),
				      dirty_bitmap);
		if (r < 0)
			return r;
		n += r;
	}
	return n;
}

static void dirty_show(struct vcpu *v)
{
	long n = harvest(v->tdp);
	uint64_t dt = guest_cycles - dirty.since;

	if (n < 0) {
		pr_err("dirty: harvest failed (%ld)", n);
		return;
	}
	dirty.total += n;
	dirty.since = guest_cycles;
	if (tsc_hz >= 1000) {
		uint64_t ms = dt / (tsc_hz / 1000);

		pr_info("dirty: %ld pages (%ld KiB) in %lu.%03lu s of guest time, %lu pages/s; %lu since start",
			n, n * 4, ms / 1000, ms % 1000,
			dt ? (uint64_t)n * tsc_hz / dt : 0, dirty.total);
	} else {
		pr_info("dirty: %ld pages (%ld KiB) in %lu guest TSC cycles, %lu pages per million cycles; %lu since start",
			n, n * 4, dt, dt ? (uint64_t)n * 1000000 / dt : 0, dirty.total);
	}
}

static void cmd_dirty(struct vcpu *v, const char *arg)
{
	int err;

	if (!v->tdp) {
		pr_err("dirty: not supported with mmu=shadow (the shadow MMU has no dirty log); boot with mmu=tdp");
		return;
	}
	if (!strcmp(arg, "start")) {
		if (dirty.on) {
			pr_err("dirty: already on (dirty stop first)");
			return;
		}
		dirty.size = ram_end();
		err = mmu_tdp_dirty_enable(v->tdp, 0, dirty.size);
		if (err) {
			pr_err("dirty: could not start (%d)", err);
			return;
		}
		dirty.on = true;
		dirty.since = guest_cycles;
		dirty.total = 0;
		pr_info("dirty: logging guest-physical 0-%lx (%lu pages)",
			dirty.size - 1, dirty.size >> PAGE_SHIFT);
	} else if (!strcmp(arg, "show")) {
		if (!dirty.on)
			pr_err("dirty: not on (dirty start first)");
		else
			dirty_show(v);
	} else if (!strcmp(arg, "stop")) {
		if (!dirty.on) {
			pr_err("dirty: not on");
			return;
		}
		dirty_show(v);
		mmu_tdp_dirty_disable(v->tdp);
		dirty.on = false;
		pr_info("dirty: logging stopped");
	} else {
		pr_err("dirty: expected start, stop or show, got '%s'", arg);
	}
}

/* --- continue, reboot, help ---------------------------------------------- */

static void cmd_continue(struct vcpu *v, const char *arg)
{
	leave = true;
}

static void delay(void)
{
	for (int i = 0; i < 1000000; i++)
		cpu_pause();
}

/*
 * The chipset's reset control register at port CF9h (bit 1 system reset,
 * bit 2 reset the CPU: Intel PCH datasheets "Reset Control Register", AMD
 * FCH the same port), then the 8042's pulse-reset command FEh to port 64h.
 */
static void cmd_reboot(struct vcpu *v, const char *arg)
{
	pr_info("reboot: reset through port cf9, then the keyboard controller");
	serial_flush();
	outb(0xcf9, 0x02);
	delay();
	outb(0xcf9, 0x06);
	delay();
	outb(0x64, 0xfe);
	delay();
	pr_err("reboot: the machine did not reset");
	halt("reboot-failed");
}

static void cmd_help(struct vcpu *v, const char *arg);

struct command {
	const char *name;
	const char *args;
	const char *what;
	void (*fn)(struct vcpu *v, const char *arg);
};

static const struct command commands[] = {
	{ "help", "", "this list, and the boot options", cmd_help },
	{ "stats", "", "exit counts per reason, MMU statistics", cmd_stats },
	{ "regs", "", "guest registers and control registers", cmd_regs },
	{ "walk", "VA", "the guest's page walk of VA (hex), then umbra's entries", cmd_walk },
	{ "mmu", "", "TDP table pages, or shadow pages by role, unsync, global", cmd_mmu },
	{ "log", "LEVEL", "log level: error, warn, info, debug (0..3)", cmd_log },
	{ "dirty", "start|stop|show", "dirty logging of guest RAM (mmu=tdp)", cmd_dirty },
	{ "continue", "", "resume the guest (also: c)", cmd_continue },
	{ "reboot", "", "reset the machine", cmd_reboot },
};

static void cmd_help(struct vcpu *v, const char *arg)
{
	pr_info("commands (Ctrl-] Ctrl-] opens this shell):");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		pr_info("  %-8s %-16s %s", commands[i].name, commands[i].args,
			commands[i].what);
	pr_info("boot options (name=value on umbra's command line):");
	options_print_help();
}

static void execute(struct vcpu *v, char *line)
{
	char *p = line, *arg;

	while (*p == ' ')
		p++;
	if (!*p)
		return;
	arg = strchr(p, ' ');
	if (arg) {
		*arg++ = '\0';
		while (*arg == ' ')
			arg++;
		for (char *e = arg + strlen(arg); e > arg && e[-1] == ' '; )
			*--e = '\0';
	} else {
		arg = p + strlen(p);
	}
	if (!strcmp(p, "c"))
		p = "continue";
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(p, commands[i].name)) {
			commands[i].fn(v, arg);
			return;
		}
	pr_err("shell: unknown command '%s' (help lists them)", p);
}

static void shell_run(struct vcpu *v)
{
	char line[LINE_MAX];
	uint64_t now = rdtsc();

	guest_cycles += now - resumed_at;
	user_level = log_level;
	log_level = MAX(user_level, LOG_INFO);
	pr_info("shell: guest paused at rip %lx after %lu exits; 'help' lists the commands, 'continue' resumes",
		v->ops->get_reg(v, VCPU_RIP), v->total_exits);
	leave = false;
	while (!leave) {
		put("umbra> ");
		read_line(line, sizeof(line));
		execute(v, line);
	}
	pr_info("shell: the guest resumes");
	log_level = user_level;
	esc_seen = 0;
	resumed_at = rdtsc();
}
