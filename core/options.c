// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra's command line: "option=value" words.  A first word without '='
 * (GRUB passes the kernel's path there) is skipped.  An unknown option is
 * reported by name; an invalid value by the option's name and the values
 * it accepts, and the value stays.
 *
 * The table options[] below is the one list of them, with the accepted
 * values and the default of each; `help` on the debug shell prints it.
 */
#include "core/options.h"
#include "drivers/serial.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define DEFAULT_MEM_SIZE	(32 * SZ_1M)
#define MIN_MEM_SIZE		(8 * SZ_1M)
#define MAX_MEM_SIZE		(1 * SZ_1G)

struct umbra_options opts = {
	.serial_port = COM1_PORT,
	.loglevel = LOG_INFO,
	.mem_size = DEFAULT_MEM_SIZE,
	.mmu = MMU_TDP,
	.oos = true,
};

static const uint16_t com_ports[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };

static bool parse_size(const char *v, uint64_t *out)
{
	char num[32];
	size_t n = strlen(v);
	uint64_t mul = 1, x;

	if (!n || n >= sizeof(num))
		return false;
	switch (v[n - 1]) {
	case 'K': case 'k': mul = 1ull << 10; n--; break;
	case 'M': case 'm': mul = 1ull << 20; n--; break;
	case 'G': case 'g': mul = 1ull << 30; n--; break;
	}
	memcpy(num, v, n);
	num[n] = '\0';
	if (!str_to_u64(num, 10, &x) || x > UINT64_MAX / mul)
		return false;
	*out = x * mul;
	return true;
}

/*
 * One parser per option: true if val was accepted (and applied).  show()
 * writes the current value as the option would be written.
 */
/* com1..com4 or a port number; "off" is 0 */
static bool parse_port(const char *val, uint16_t *port)
{
	uint64_t p;

	if (!strcmp(val, "off"))
		p = 0;
	else if (!strncmp(val, "com", 3) && val[3] >= '1' && val[3] <= '4' && !val[4])
		p = com_ports[val[3] - '1'];
	else if (!str_to_u64(val, 10, &p) || !p || p > 0xfff8)
		return false;
	*port = (uint16_t)p;
	return true;
}

static bool set_serial(const char *val)
{
	return parse_port(val, &opts.serial_port);
}

static void show_port(char *buf, size_t len, uint16_t port)
{
	for (size_t i = 0; i < ARRAY_SIZE(com_ports); i++)
		if (port == com_ports[i]) {
			snprintf(buf, len, "com%zu", i + 1);
			return;
		}
	if (port)
		snprintf(buf, len, "0x%x", port);
	else
		snprintf(buf, len, "off");
}

static void show_serial(char *buf, size_t len)
{
	show_port(buf, len, opts.serial_port);
}

/* gdb=off, wait, PORT or PORT,wait (PORT as serial='s, not off) */
static bool set_gdb(const char *val)
{
	char port[16];
	const char *comma = strchr(val, ',');
	size_t n = comma ? (size_t)(comma - val) : strlen(val);
	uint16_t p = 0;

	if (!strcmp(val, "off") || !strcmp(val, "wait")) {
		opts.gdb_wait = !strcmp(val, "wait");
		opts.gdb_port = 0;
		return true;
	}
	if (n >= sizeof(port) || (comma && strcmp(comma, ",wait")))
		return false;
	memcpy(port, val, n);
	port[n] = '\0';
	if (!parse_port(port, &p) || !p)
		return false;
	opts.gdb_port = p;
	opts.gdb_wait = comma != NULL;
	return true;
}

static void show_gdb(char *buf, size_t len)
{
	char port[16];

	if (!opts.gdb_port) {
		snprintf(buf, len, "%s", opts.gdb_wait ? "wait" : "off");
		return;
	}
	show_port(port, sizeof(port), opts.gdb_port);
	snprintf(buf, len, "%s%s", port, opts.gdb_wait ? ",wait" : "");
}

static bool set_loglevel(const char *val)
{
	int lvl = log_level_parse(val);

	if (lvl < 0)
		return false;
	opts.loglevel = lvl;
	return true;
}

static void show_loglevel(char *buf, size_t len)
{
	snprintf(buf, len, "%s", log_level_name(opts.loglevel));
}

static bool set_mem(const char *val)
{
	uint64_t sz;

	if (!parse_size(val, &sz) || sz < MIN_MEM_SIZE || sz > MAX_MEM_SIZE)
		return false;
	opts.mem_size = ALIGN_UP(sz, SZ_2M);
	return true;
}

static void show_mem(char *buf, size_t len)
{
	snprintf(buf, len, "%luM", opts.mem_size >> 20);
}

static bool set_guest(const char *val)
{
	if (strlen(val) >= sizeof(opts.guest))
		return false;
	strlcpy(opts.guest, val, sizeof(opts.guest));
	return true;
}

static void show_guest(char *buf, size_t len)
{
	snprintf(buf, len, "%s", opts.guest[0] ? opts.guest : "(the first module)");
}

/* The options whose value is one word of a list: its index is the value. */
static const char *const selftest_names[] = { "off", "ud", "entry", "oom", NULL };
static const char *const mmu_names[] = { "tdp", "shadow", NULL };
static const char *const off_on[] = { "off", "on", NULL };
static const char *const on_off[] = { "on", "off", NULL };	/* iommu_off */

static int choice_of(const char *const *names, const char *val)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(val, names[i]))
			return i;
	return -1;
}

/* selftest=none is an old spelling of off */
static bool set_selftest(const char *val)
{
	int i = strcmp(val, "none") ? choice_of(selftest_names, val) : SELFTEST_NONE;

	if (i < 0)
		return false;
	opts.selftest = i;
	return true;
}

/* canary=: the tests choose the leak canary (core/canary.c). */
static bool set_canary(const char *val)
{
	uint64_t v;

	if (val[0] != '0' || (val[1] != 'x' && val[1] != 'X') ||
	    !str_to_u64(val, 16, &v))
		return false;
	opts.canary = v;
	opts.canary_set = true;
	return true;
}

static void show_canary(char *buf, size_t len)
{
	if (opts.canary_set)
		snprintf(buf, len, "0x%016lx", (unsigned long)opts.canary);
	else
		snprintf(buf, len, "random");
}

struct option_desc {
	const char *name;
	const char *values;	/* the accepted values, for messages and help */
	const char *def;	/* the default, as one would write it */
	const char *what;
	bool (*set)(const char *val);
	void (*show)(char *buf, size_t len);
	/* or, with set NULL: one word of names[], its index in *choice; with
	   show NULL as well, names[*choice] shows the value */
	const char *const *names;
	int *choice;
};

#define PARSED(set, show)	set, show, NULL, NULL
#define ONE_OF(names, field)	NULL, NULL, names, &(field)

/* The one list of umbra's options: the parser, help and README follow it. */
static const struct option_desc options[] = {
	{ "serial", "com1..com4, a port such as 0x2f8, or off", "com1",
	  "umbra's console (and debug shell) port", PARSED(set_serial, show_serial) },
	{ "loglevel", "error, warn, info, debug (or 0..3)", "info",
	  "how much umbra prints", PARSED(set_loglevel, show_loglevel) },
	{ "mem", "a size from 8M to 1G (K, M, G suffixes)", "32M",
	  "umbra's own memory", PARSED(set_mem, show_mem) },
	{ "guest", "a module's path (its first word), under 128 characters",
	  "the first module", "the module to boot as the guest",
	  PARSED(set_guest, show_guest) },
	{ "selftest", "off, ud, entry, oom", "off",
	  "fail on purpose (tests of the failure paths)", 
	  set_selftest, NULL, selftest_names, &opts.selftest },
	{ "mmu", "tdp, shadow", "tdp",
	  "guest paging: nested (NPT/EPT) or shadow page tables",
	  ONE_OF(mmu_names, opts.mmu) },
	{ "oos", "on, off", "on",
	  "mmu=shadow: let leaf page tables go out of sync",
	  ONE_OF(off_on, opts.oos) },
	{ "iommu", "on, off", "on",
	  "program the IOMMU (Intel VT-d, AMD-Vi) so that no device reaches umbra's memory",
	  ONE_OF(on_off, opts.iommu_off) },
	{ "canary", "a 64-bit hex value such as 0x0123456789abcdef", "random",
	  "the leak canary umbra writes into its memory (tests)",
	  PARSED(set_canary, show_canary) },
	{ "gdb", "off, wait, a port (com2, 0x2f8), or PORT,wait", "off",
	  "wait: wait for gdb before the guest starts; PORT: gdb's own UART, not the console (docs/gdb.md)",
	  PARSED(set_gdb, show_gdb) },
};

static bool set(const struct option_desc *o, const char *val)
{
	int i;

	if (o->set)
		return o->set(val);
	i = choice_of(o->names, val);
	if (i >= 0)
		*o->choice = i;
	return i >= 0;
}

static void show(const struct option_desc *o, char *buf, size_t len)
{
	if (o->show)
		o->show(buf, len);
	else
		snprintf(buf, len, "%s", o->names[*o->choice]);
}

static void apply(const char *key, const char *val)
{
	char now[64];

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option_desc *o = &options[i];

		if (strcmp(key, o->name))
			continue;
		if (!set(o, val)) {
			show(o, now, sizeof(now));
			pr_warn("option %s=%s: invalid; accepted values: %s; keeping %s",
				o->name, val, o->values, now);
		}
		return;
	}
	pr_warn("unknown option '%s' ignored", key);
}

void options_print_help(void)
{
	char now[64];

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option_desc *o = &options[i];

		show(o, now, sizeof(now));
		pr_info("  %s=: %s", o->name, o->what);
		pr_info("      values: %s; default %s; now %s", o->values,
			o->def, now);
	}
}

void options_parse(const char *cmdline)
{
	const char *p = cmdline;
	bool first = true;

	while (*p) {
		char word[160], *eq;
		size_t n = 0;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (p[n] && p[n] != ' ' && p[n] != '\t')
			n++;
		if (n >= sizeof(word)) {
			pr_warn("option '%.*s...' too long; ignored", 20, p);
			p += n;
			first = false;
			continue;
		}
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		eq = strchr(word, '=');
		if (!eq) {
			if (!first)
				pr_warn("option '%s' has no value (expected %s=VALUE); ignored",
					word, word);
			first = false;
			continue;
		}
		first = false;
		*eq = '\0';
		apply(word, eq + 1);
	}
}
