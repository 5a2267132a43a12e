// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra's command line: "option=value" words.  A first word without '='
 * (GRUB passes the kernel's path there) is skipped.  An unknown or malformed
 * option is reported by name and the default stays.
 *
 *   serial=0x3f8|com1..com4|off   umbra's console port (default com1)
 *   loglevel=error|warn|info|debug|0..3   (default info)
 *   mem=SIZE[K|M|G]               umbra's own memory (default 32M)
 *   guest=PATH                    the module to boot (default: the first)
 *   selftest=ud|entry|oom         fail on purpose (tests of the failure paths)
 *   mmu=tdp|shadow                guest paging: nested (NPT/EPT) or shadow
 *                                 page tables (default tdp)
 *   oos=on|off                    shadow paging: out-of-sync page tables
 *                                 (default on)
 */
#include "drivers/serial.h"
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

static bool parse_u64(const char *s, uint64_t *out)
{
	unsigned base = 10;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool parse_serial(const char *v, uint16_t *port)
{
	uint64_t p;

	if (!strcmp(v, "off")) {
		*port = 0;
		return true;
	}
	if (!strncmp(v, "com", 3) && v[3] >= '1' && v[3] <= '4' && !v[4]) {
		*port = com_ports[v[3] - '1'];
		return true;
	}
	if (parse_u64(v, &p) && p && p <= 0xfff8) {
		*port = (uint16_t)p;
		return true;
	}
	return false;
}

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
	if (!parse_u64(num, &x) || x > UINT64_MAX / mul)
		return false;
	*out = x * mul;
	return true;
}

static void apply(const char *key, const char *val)
{
	if (!strcmp(key, "serial")) {
		uint16_t port;

		if (!parse_serial(val, &port))
			pr_warn("option serial=%s: expected com1..com4, a port like 0x3f8, or off; keeping 0x%x",
				val, opts.serial_port);
		else
			opts.serial_port = port;
	} else if (!strcmp(key, "loglevel")) {
		int lvl = log_level_parse(val);

		if (lvl < 0)
			pr_warn("option loglevel=%s: expected error, warn, info, debug or 0..3; keeping %s",
				val, log_level_name(opts.loglevel));
		else
			opts.loglevel = lvl;
	} else if (!strcmp(key, "mem")) {
		uint64_t sz;

		if (!parse_size(val, &sz) || sz < MIN_MEM_SIZE || sz > MAX_MEM_SIZE)
			pr_warn("option mem=%s: expected a size from 8M to 1G; keeping %luM",
				val, opts.mem_size >> 20);
		else
			opts.mem_size = ALIGN_UP(sz, SZ_2M);
	} else if (!strcmp(key, "guest")) {
		if (strlen(val) >= sizeof(opts.guest))
			pr_warn("option guest=%s: too long; booting the first module", val);
		else
			strlcpy(opts.guest, val, sizeof(opts.guest));
	} else if (!strcmp(key, "selftest")) {
		static const char *const names[] = { "none", "ud", "entry", "oom" };
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names) && strcmp(val, names[i]); i++)
			;
		if (i == ARRAY_SIZE(names))
			pr_warn("option selftest=%s: expected ud, entry or oom; ignored", val);
		else
			opts.selftest = (int)i;
	} else if (!strcmp(key, "mmu")) {
		if (!strcmp(val, "tdp"))
			opts.mmu = MMU_TDP;
		else if (!strcmp(val, "shadow"))
			opts.mmu = MMU_SHADOW;
		else
			pr_warn("option mmu=%s: expected tdp or shadow; keeping %s",
				val, opts.mmu == MMU_SHADOW ? "shadow" : "tdp");
	} else if (!strcmp(key, "oos")) {
		if (!strcmp(val, "on"))
			opts.oos = true;
		else if (!strcmp(val, "off"))
			opts.oos = false;
		else
			pr_warn("option oos=%s: expected on or off; keeping %s",
				val, opts.oos ? "on" : "off");
	} else {
		pr_warn("unknown option '%s' ignored", key);
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
