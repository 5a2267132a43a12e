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
#include "drivers/iommu/iommu.h"
#include "drivers/serial.h"
#include "lib/string.h"
#include "shell/clock.h"
#include "shell/dirty.h"
#include "shell/gdbstub.h"
#include "shell/walk.h"
#include "umbra/core.h"
#include "umbra/log.h"

static void shell_run(struct vcpu *v);	/* open it now; returns on `continue` */

#define LINE_MAX	80
#define POLL_CYCLES_DEFAULT	1000000ull	/* without a known TSC rate */
#define POLL_BYTES	16			/* per poll: one FIFO */

enum shell_mode { SHELL_OFF, SHELL_SHARED, SHELL_DEDICATED };

static enum shell_mode mode;
static unsigned int esc_seen;		/* escape bytes in a row */
static uint64_t poll_cycles = POLL_CYCLES_DEFAULT;
static uint64_t last_poll;
static int user_level;			/* the log level outside the shell */
static bool leave;

void shell_init(struct vcpu *v)
{
	uint16_t port = serial_port();
	uint64_t tsc_hz;
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
	tsc_hz = clock_init(&how);
	if (tsc_hz)
		poll_cycles = tsc_hz / 1000;
	/* an idle guest halts and would not exit for a long time */
	if (mode == SHELL_DEDICATED && v->ops->intercept_hlt)
		v->ops->intercept_hlt(v, true);
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
	if (c == GDB_INTERRUPT && gdbstub_attached() && !gdbstub_own_port()) {
		gdbstub_interrupt(v);
		return;
	}
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
	/* while gdb is attached on the console the port is gdb's */
	bool gdb = gdbstub_attached() || gdbstub_own_port();
	bool console = mode == SHELL_DEDICATED &&
		       !(gdbstub_attached() && !gdbstub_own_port());
	uint64_t now;
	char c;

	if (!console && !gdb)
		return;
	now = clock_now();
	if (now - last_poll < poll_cycles)
		return;
	last_poll = now;
	if (gdb)
		gdbstub_poll(v);
	for (int n = 0; console && n < POLL_BYTES && serial_getc(&c); n++)
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

/* --- mmu, stats, regs ---------------------------------------------------- */

static void cmd_mmu(struct vcpu *v, const char *arg)
{
	v->mmu->print_pages(v);
	if (v->tdp)
		pr_info("tdp: dirty logging %s", dirty_logging() ? "on" : "off");
}

static void cmd_stats(struct vcpu *v, const char *arg)
{
	vcpu_print_stats(v);
}

static void cmd_regs(struct vcpu *v, const char *arg)
{
	vcpu_print_regs(v, "shell");
	pr_info("  cpl %u, %s", vcpu_cpl(v), walk_mode_name(gmem_mode(v)));
	if (!v->mmu->nested) {
		uint64_t root;
		int level;

		v->mmu->root(v, &root, &level);
		pr_info("  (guest's view of cr0/cr3/cr4/efer; the hardware's cr3 is the shadow root %lx)",
			root);
	}
}

/* --- log ----------------------------------------------------------------- */

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

void shell_reboot(void)
{
	cmd_reboot(NULL, "");
}

static void cmd_gdb(struct vcpu *v, const char *arg)
{
	gdbstub_attach(v);
	leave = true;
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
	{ "dirty", "start|stop|show", "dirty logging of guest RAM", cmd_dirty },
	{ "continue", "", "resume the guest (also: c)", cmd_continue },
	{ "reboot", "", "reset the machine", cmd_reboot },
	{ "gdb", "", "this port speaks gdb's remote protocol (docs/gdb.md)", cmd_gdb },
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

	clock_pause();
	user_level = log_level;
	log_level = MAX(user_level, LOG_INFO);
	pr_info("shell: guest paused at rip %lx after %lu exits; 'help' lists the commands, 'continue' resumes",
		v->ops->get_reg(v, VCPU_RIP), v->total_exits);
	iommu_poll_now(false);	/* DMA faults up to now */
	leave = false;
	while (!leave) {
		put("umbra> ");
		read_line(line, sizeof(line));
		execute(v, line);
	}
	pr_info("shell: the guest resumes");
	log_level = user_level;
	esc_seen = 0;
	clock_resume();
}
