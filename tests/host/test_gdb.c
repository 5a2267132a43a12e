// SPDX-License-Identifier: BSD-2-Clause
/*
 * Host test of the GDB remote protocol core (shell/gdb.c): packets in,
 * replies out, over a fake target with 24 registers, 64 KiB of memory
 * at 0x10000 and a breakpoint table of its own.
 */
#include <stdio.h>
#include <string.h>

#include "shell/gdb.h"
#include "tests/host/host_env.h"

#define MEM_BASE	0x10000
#define MEM_SIZE	0x10000

static char in[16384], out[65536];
static size_t in_len, in_pos, out_len;
static uint64_t regs[GDB_NR_GPRS];
static uint8_t mem[MEM_SIZE];
static uint64_t bps[8];
static int nbps, killed;
static struct gdb g;

static int t_getc(void *ctx)
{
	return in_pos < in_len ? (unsigned char)in[in_pos++] : -1;
}

static void t_put(void *ctx, const char *s, size_t n)
{
	if (out_len + n < sizeof(out)) {
		memcpy(out + out_len, s, n);
		out_len += n;
		out[out_len] = '\0';
	}
}

static uint64_t t_get_reg(void *ctx, unsigned int n) { return regs[n]; }
static void t_set_reg(void *ctx, unsigned int n, uint64_t v) { regs[n] = v; }

static bool in_mem(uint64_t addr, size_t len)
{
	return addr >= MEM_BASE && len <= MEM_SIZE && addr - MEM_BASE <= MEM_SIZE - len;
}

static int t_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	if (!in_mem(addr, len))
		return -1;
	memcpy(buf, mem + (addr - MEM_BASE), len);
	return 0;
}

static int t_write(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	if (!in_mem(addr, len))
		return -1;
	memcpy(mem + (addr - MEM_BASE), buf, len);
	return 0;
}

static int t_bp(void *ctx, uint64_t addr, bool insert)
{
	if (!in_mem(addr, 1))
		return -1;
	if (insert)
		bps[nbps++ & 7] = addr;
	else
		nbps--;
	return 0;
}

static void t_kill(void *ctx) { killed++; }

static const struct gdb_target target = {
	.getc = t_getc, .put = t_put, .get_reg = t_get_reg,
	.set_reg = t_set_reg, .read_mem = t_read, .write_mem = t_write,
	.breakpoint = t_bp, .kill = t_kill,
};

static void raw(const char *s)
{
	size_t n = strlen(s);

	memcpy(in + in_len, s, n);
	in_len += n;
}

/* queue "$body#cs" and the '+' that acks our reply */
static void pkt(const char *body)
{
	unsigned int cs = 0;
	char tail[8];

	for (const char *p = body; *p; p++)
		cs = (cs + (unsigned char)*p) & 0xff;
	raw("$");
	raw(body);
	snprintf(tail, sizeof(tail), "#%02x", cs);
	raw(tail);
	if (!g.noack)
		raw("+");
}

/* feed what is queued; the result of gdb_serve() */
static enum gdb_resume run(int stop)
{
	enum gdb_resume r = gdb_serve(&g, stop);

	in_len = in_pos = 0;
	return r;
}

/* one packet, its reply body (without framing) in reply[] */
static char reply[65536];
static enum gdb_resume ask(const char *body)
{
	enum gdb_resume r;
	char *d, *h;

	out_len = 0;
	out[0] = '\0';
	pkt(body);
	r = run(-1);
	h = strchr(out, '$');
	d = h ? strchr(h, '#') : NULL;
	reply[0] = '\0';
	if (h && d) {
		memcpy(reply, h + 1, (size_t)(d - h - 1));
		reply[d - h - 1] = '\0';
	}
	return r;
}

static void expect(const char *body, const char *want, const char *name)
{
	ask(body);
	check(!strcmp(reply, want), name, "%.40s -> '%.80s', expected '%s'", body,
	      reply, want);
}

static void test_framing(void)
{
	ask("qSupported:multiprocess+;swbreak+");
	check(out[0] == '+' && strstr(reply, "PacketSize=1000") &&
	      strstr(reply, "qXfer:features:read+") &&
	      strstr(reply, "QStartNoAckMode+"), "qSupported", "out '%s'", out);
	out_len = 0;
	raw("$g#00");		/* bad checksum: '-', nothing else */
	check(run(-1) == GDB_CLOSED && !strcmp(out, "-"), "bad checksum nacked",
	      "out '%s'", out);
	out_len = 0;
	raw("$?#zz");		/* checksum not hex */
	run(-1);
	check(!strcmp(out, "-"), "checksum not hex nacked", "out '%s'", out);
	out_len = 0;
	raw("junk\x03+");	/* bytes outside a packet are skipped */
	pkt("?");
	run(-1);
	check(!strcmp(out, "+$S05#b8"), "junk skipped, ? answered", "out '%s'", out);
	/* a nacked reply is sent again */
	out_len = 0;
	raw("$?#3f-+");
	run(-1);
	check(!strcmp(out, "+$S05#b8$S05#b8"), "reply resent after '-'",
	      "out '%s'", out);
	{
		static char big[GDB_PKT_MAX + 100];

		memset(big, 'm', sizeof(big) - 1);
		expect(big, "E22", "overlong packet refused");
	}
	expect("vMustReplyEmpty", "", "unknown packet: empty reply");
}

static void test_regs(void)
{
	char want[1024] = "", *w = want;

	for (unsigned int n = 0; n < GDB_NR_GPRS; n++)
		regs[n] = 0x1111111111111111ull * (n % 15 + 1);
	regs[GDB_REG_RIP] = 0x100010;
	expect("p10", "1000100000000000", "p rip");
	expect("p11", "33333333", "p eflags (4 bytes)");
	expect("p18", "00000000000000000000", "p st0 (10 bytes of 0)");
	expect("p28", "E22", "p beyond the last register");
	expect("pzz", "E22", "p bad hex");
	ask("g");
	for (unsigned int n = 0; n < 16; n++)
		w += sprintf(w, "%02x%02x%02x%02x%02x%02x%02x%02x",
			     (unsigned)(regs[n] & 0xff), (unsigned)(regs[n] & 0xff),
			     (unsigned)(regs[n] & 0xff), (unsigned)(regs[n] & 0xff),
			     (unsigned)(regs[n] & 0xff), (unsigned)(regs[n] & 0xff),
			     (unsigned)(regs[n] & 0xff), (unsigned)(regs[n] & 0xff));
	check(strlen(reply) == 2 * (17 * 8 + 7 * 4 + 8 * 10 + 8 * 4) &&
	      !strncmp(reply, want, 256) && !strncmp(reply + 256, "1000100000000000", 16),
	      "g: 40 registers in the x86-64 layout", "'%.300s'", reply);
	strcpy(want, reply);
	want[0] = 'a';		/* rax's low nibble... */
	want[1] = 'b';
	{
		char G[1100] = "G";

		strcat(G, want);
		expect(G, "OK", "G");
		check(regs[0] == 0x11111111111111abull, "G sets rax", "%lx",
		      (unsigned long)regs[0]);
		G[100] = 'x';
		expect(G, "E22", "G bad hex");
		G[101] = '\0';
		expect(G, "E22", "G too short");
	}
	expect("P10=2000100000000000", "OK", "P rip");
	check(regs[GDB_REG_RIP] == 0x100020, "P sets rip", "%lx",
	      (unsigned long)regs[GDB_REG_RIP]);
	expect("P10=20001000", "E22", "P wrong size");
	expect("P18=00000000000000000000", "OK", "P st0 ignored");
}

static void test_memory(void)
{
	for (int i = 0; i < 16; i++)
		mem[i] = (uint8_t)(0xa0 + i);
	expect("m10000,4", "a0a1a2a3", "m");
	expect("m1fffe,4", "E14", "m across the end: E14");
	expect("m0,1", "E14", "m unmapped: E14");
	expect("m10000", "E22", "m without length");
	expect("M10002,2:5a5b", "OK", "M");
	check(mem[2] == 0x5a && mem[3] == 0x5b, "M writes", "%x %x", mem[2], mem[3]);
	expect("M10002,2:5a", "E22", "M short data");
	expect("M10002,1:zz", "E22", "M bad hex");
	expect("M0,1:00", "E14", "M unmapped: E14");
	expect("X10002,0:", "OK", "X probe (length 0)");
	expect("X10002,3:a}\x03" "b", "OK", "X with an escaped byte");
	check(mem[2] == 'a' && mem[3] == 0x23 && mem[4] == 'b',
	      "X writes the bytes, 0x7d 0x03 as 0x23", "%x %x %x", mem[2],
	      mem[3], mem[4]);
	expect("X10002,2:a", "E22", "X short data");
	expect("X0,1:a", "E14", "X unmapped: E14");
	ask("m10000,2000");
	check(strlen(reply) == 2 * (GDB_PKT_MAX / 2) || !strcmp(reply, "E14"),
	      "m longer than a packet: clipped", "%zu", strlen(reply));
	expect("Z0,10004,1", "OK", "Z0");
	check(nbps == 1 && bps[0] == 0x10004, "Z0 reaches the target", "%d", nbps);
	expect("z0,10004,1", "OK", "z0");
	expect("Z0,5,1", "E14", "Z0 unmapped: E14");
	expect("Z2,10004,4", "", "Z2: not supported");
	expect("Z0,10004", "E22", "Z0 without kind");
}

static unsigned int hw_type;
static uint64_t hw_addr, hw_len;
static int hw_points;

static int t_hw(void *ctx, unsigned int type, uint64_t addr, uint64_t len,
		bool insert)
{
	if (!in_mem(addr, len))
		return -1;
	hw_type = type;
	hw_addr = addr;
	hw_len = len;
	hw_points += insert ? 1 : -1;
	return 0;
}

/* Z1, Z2, Z4 through the target's hw_point; Z3 empty; the T stop reply */
static void test_hw(void)
{
	static struct gdb_target t2;

	t2 = target;
	t2.hw_point = t_hw;
	g.t = &t2;
	expect("Z1,10004,1", "OK", "Z1");
	check(hw_type == 1 && hw_addr == 0x10004 && hw_points == 1,
	      "Z1 reaches the target", "type %u addr %lx", hw_type,
	      (unsigned long)hw_addr);
	expect("Z2,10008,4", "OK", "Z2");
	check(hw_type == 2 && hw_len == 4, "Z2: a 4-byte write watchpoint",
	      "type %u len %lu", hw_type, (unsigned long)hw_len);
	expect("Z4,10010,8", "OK", "Z4");
	check(hw_type == 4 && hw_len == 8, "Z4: an 8-byte access watchpoint",
	      "type %u len %lu", hw_type, (unsigned long)hw_len);
	expect("Z3,10010,4", "", "Z3: the empty reply (no read-only watchpoints)");
	expect("Z2,5,4", "E14", "Z2 the target refuses: E14");
	expect("z2,10008,4", "OK", "z2");
	check(hw_points == 2, "z2 reaches the target", "%d", hw_points);
	out_len = 0;
	pkt("g");
	gdb_serve_watch(&g, 5, "watch", 0x10008);
	in_len = in_pos = 0;
	check(!strncmp(out, "$T05watch:10008;#", 17),
	      "a watchpoint's stop reply names it", "%.30s", out);
	g.t = &target;
}

/* fake guest-physical memory: 0x1000-0x1fff is RAM, 0x8000-0x8fff umbra's */
static const char *t_phys(void *ctx, uint64_t addr, void *buf, size_t len)
{
	if (addr >= 0x8000 && addr < 0x9000)
		return "umbra's memory";
	if (addr < 0x1000 || addr + len > 0x2000)
		return "not guest RAM";
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(addr + i);
	return NULL;
}

/* the text of every O packet in out[], decoded, and the last reply */
static char console[8192];
static void decode_console(void)
{
	size_t n = 0;

	for (char *p = out; (p = strstr(p, "$O")); p++) {
		char *end = strchr(p, '#');

		for (char *h = p + 2; end && h + 1 < end && n + 1 < sizeof(console);
		     h += 2) {
			unsigned int b;

			sscanf(h, "%2x", &b);
			console[n++] = (char)b;
		}
	}
	console[n] = '\0';
}

static void rcmd(const char *cmd)
{
	char q[256] = "qRcmd,", *w = q + 6;
	char *last;

	for (const char *c = cmd; *c; c++)
		w += sprintf(w, "%02x", (unsigned char)*c);
	out_len = 0;
	out[0] = '\0';
	pkt(q);
	raw("++++++++");	/* the acks of the O packets */
	run(-1);
	decode_console();
	last = strrchr(out, '$');
	reply[0] = '\0';
	if (last && strchr(last, '#'))
		sscanf(last + 1, "%[^#]", reply);
}

/* monitor commands (qRcmd) and console output as O packets */
static void test_monitor(void)
{
	static struct gdb_target t2;

	rcmd("phys 0x1000 4");
	check(!strcmp(reply, "") || !strcmp(reply, "OK"), "qRcmd without read_phys answers",
	      "%s", reply);
	check(strstr(console, "not supported") != NULL,
	      "qRcmd phys without read_phys says so", "'%s'", console);
	t2 = target;
	t2.read_phys = t_phys;
	g.t = &t2;
	rcmd("phys 0x1010 18");
	check(!strcmp(reply, "OK") &&
	      !strcmp(console, "0000000000001010: 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f\n"
			       "0000000000001020: 20 21\n"),
	      "monitor phys: hex lines as O packets, then OK", "'%s' %s", console, reply);
	rcmd("phys 0x8010 4");
	check(!strcmp(reply, "OK") && !strcmp(console, "phys: umbra's memory\n"),
	      "monitor phys refuses umbra's memory", "'%s'", console);
	rcmd("phys 0x1ffe 4");
	check(!strcmp(console, "phys: not guest RAM\n"),
	      "monitor phys refuses what is not guest RAM", "'%s'", console);
	rcmd("phys 0x1000 257");
	check(strstr(console, "usage: monitor phys") != NULL,
	      "monitor phys refuses more than 256 bytes", "'%s'", console);
	rcmd("phys 0x1000");
	check(strstr(console, "usage: monitor phys") != NULL,
	      "monitor phys without a length: usage", "'%s'", console);
	rcmd("help");
	check(!strcmp(reply, "OK") && strstr(console, "monitor phys ADDR LEN"),
	      "monitor help", "'%s'", console);
	rcmd("frob");
	check(!strcmp(reply, "OK") && strstr(console, "unknown monitor command"),
	      "an unknown monitor command says so", "'%s'", console);
	expect("qRcmd,7", "E22", "qRcmd odd hex: E22");
	{
		static char big[700];

		memset(big, 'x', 600);
		out_len = 0;
		raw("+++");
		check(gdb_console(&g, big, 600), "gdb_console sends", "%s", "");
		in_len = in_pos = 0;
		decode_console();
		check(strlen(console) == 600 && console[599] == 'x' &&
		      !strncmp(out, "$O7878", 6) && strstr(out + 1, "$O") &&
		      strstr(strstr(out + 1, "$O") + 1, "$O"),
		      "console output of 600 bytes: three O packets", "%zu '%.40s'",
		      strlen(console), out);
	}
	g.t = &target;
}

static void test_xml(void)
{
	static char xml[8192];
	size_t n = 0;

	for (int i = 0; i < 100; i++) {
		char q[80];

		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,100", n);
		ask(q);
		strcat(xml, reply + 1);
		n += strlen(reply + 1);
		if (reply[0] != 'm')
			break;
	}
	check(reply[0] == 'l' && strstr(xml, "<architecture>i386:x86-64</architecture>") &&
	      strstr(xml, "<reg name=\"rax\" bitsize=\"64\"") &&
	      strstr(xml, "<reg name=\"eflags\" bitsize=\"32\"") &&
	      strstr(xml, "<reg name=\"st7\" bitsize=\"80\"") &&
	      strstr(xml, "<reg name=\"fop\"") && strstr(xml, "</target>"),
	      "qXfer target.xml in pieces", "%.200s", xml);
	check(strstr(xml, "\"rip\"") > strstr(xml, "\"r15\"") &&
	      strstr(xml, "\"gs\"") > strstr(xml, "\"cs\""), "register order", "%s", "");
	expect("qXfer:features:read:other.xml:0,100", "E00", "qXfer other annex");
	expect("qXfer:features:read:target.xml:0", "E22", "qXfer bad range");
}

static void test_resume(void)
{
	expect("vCont?", "vCont;c;C;s;S", "vCont?");
	check(ask("vCont;c") == GDB_CONTINUE && !reply[0], "vCont;c", "%s", reply);
	check(ask("vCont;s:1") == GDB_STEP, "vCont;s", "%s", reply);
	check(ask("s") == GDB_STEP, "s", "%s", "");
	check(ask("c100000") == GDB_CONTINUE && regs[GDB_REG_RIP] == 0x100000,
	      "c ADDR", "%lx", (unsigned long)regs[GDB_REG_RIP]);
	check(ask("cxyz") == GDB_CLOSED && !strcmp(reply, "E22"), "c bad hex", "%s", reply);
	out_len = 0;
	pkt("g");
	run(5);
	check(!strncmp(out, "$S05#b8", 7), "stop reply first", "%.20s", out);
	check(ask("D") == GDB_DETACH && !strcmp(reply, "OK"), "D", "%s", reply);
	check(ask("k") == GDB_KILLED && killed == 1, "k kills", "%d", killed);
}

static void test_noack(void)
{
	expect("QStartNoAckMode", "OK", "QStartNoAckMode");
	check(g.noack, "no-ack mode on", "%s", "");
	out_len = 0;
	raw("$?#3f");
	run(-1);
	check(!strcmp(out, "$S05#b8"), "no acks after it", "out '%s'", out);
	out_len = 0;
	raw("$?#00$?#3f");
	run(-1);
	check(!strcmp(out, "$S05#b8"), "bad checksum dropped silently", "'%s'", out);
}

int main(void)
{
	gdb_init(&g, &target);
	test_framing();
	test_regs();
	test_memory();
	test_hw();
	test_monitor();
	test_xml();
	test_resume();
	test_noack();
	return check_finish();
}
