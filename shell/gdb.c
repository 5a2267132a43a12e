// SPDX-License-Identifier: BSD-2-Clause
/*
 * The GDB remote serial protocol (gdb.h).  References are to the GDB
 * manual, appendix E "Remote Protocol": E.1 Overview (framing, checksum,
 * acks), E.2 Packets, E.3 Stop Reply Packets, E.4 General Query Packets,
 * E.11 Packet Acknowledgment (QStartNoAckMode), and appendix G "Target
 * Descriptions" (the i386 features, G.5.1).
 */
#ifdef UMBRA_CORE
#include "lib/string.h"
#else
#include <string.h>
#endif
#include "shell/gdb.h"

#define E_INVAL		"E22"
#define E_FAULT		"E14"

static const char hexdig[] = "0123456789abcdef";

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex number of 1 to 16 digits at *p; *p moves past it.  False: none. */
static bool parse_hex(const char **p, uint64_t *val)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	for (; hexval(*s) >= 0; s++, n++)
		v = v << 4 | (uint64_t)hexval(*s);
	if (!n || n > 16)
		return false;
	*p = s;
	*val = v;
	return true;
}

/* len bytes from 2 * len hex digits; false on a bad digit */
static bool hex_to_bytes(const char *s, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(s[2 * i]), lo = hi < 0 ? -1 : hexval(s[2 * i + 1]);

		if (lo < 0)
			return false;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* --- the reply under construction (g->out) --------------------------------- */

struct reply {
	char *buf;
	size_t len;
};

static void rput(struct reply *r, const char *s)
{
	size_t n = strlen(s);

	if (r->len + n > GDB_PKT_MAX)
		n = GDB_PKT_MAX - r->len;
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

/* little-endian hex of the low size bytes of val (gdb's target order) */
static void rhex_le(struct reply *r, uint64_t val, unsigned int size)
{
	for (unsigned int i = 0; i < size && r->len + 2 <= GDB_PKT_MAX; i++) {
		r->buf[r->len++] = hexdig[(val >> (8 * i + 4)) & 0xf];
		r->buf[r->len++] = hexdig[(val >> (8 * i)) & 0xf];
	}
}

/* --- framing: $body#cs, acks (E.1) ---------------------------------------- */

static uint8_t checksum(const char *s, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += (uint8_t)*s++;
	return sum;
}

/* Send one packet; with acks, until gdb answers '+'.  False: line gone. */
static bool send_packet(struct gdb *g, const char *body, size_t n)
{
	char tail[3] = { '#' };
	uint8_t cs = checksum(body, n);

	tail[1] = hexdig[cs >> 4];
	tail[2] = hexdig[cs & 0xf];
	for (;;) {
		int c;

		g->t->put(g->t->ctx, "$", 1);
		g->t->put(g->t->ctx, body, n);
		g->t->put(g->t->ctx, tail, 3);
		if (g->noack)
			return true;
		do
			c = g->t->getc(g->t->ctx);
		while (c >= 0 && c != '+' && c != '-');
		if (c < 0)
			return false;
		if (c == '+')
			return true;
	}
}

static void ack(struct gdb *g, char c)
{
	if (!g->noack)
		g->t->put(g->t->ctx, &c, 1);
}

/*
 * The next packet with a good checksum, its body in g->in.  A bad
 * checksum gets '-' (gdb sends it again); a body longer than PacketSize
 * is taken, answered "E22" and dropped.  < 0: the line is gone.
 */
static int recv_packet(struct gdb *g)
{
	for (;;) {
		size_t n = 0;
		bool overlong = false;
		uint8_t sum = 0;
		int c, hi, lo;

		do
			c = g->t->getc(g->t->ctx);
		while (c >= 0 && c != '$');
		while ((c = g->t->getc(g->t->ctx)) >= 0 && c != '#') {
			sum += (uint8_t)c;
			if (c == '$') {		/* a new start: drop the old one */
				n = 0;
				sum = 0;
				overlong = false;
			} else if (n < GDB_PKT_MAX) {
				g->in[n++] = (char)c;
			} else {
				overlong = true;
			}
		}
		if (c < 0 || (hi = g->t->getc(g->t->ctx)) < 0 ||
		    (lo = g->t->getc(g->t->ctx)) < 0)
			return -1;
		g->in[n] = '\0';
		hi = hexval(hi);
		lo = hexval(lo);
		if (hi < 0 || lo < 0 || (hi << 4 | lo) != sum) {
			ack(g, '-');
			continue;
		}
		ack(g, '+');
		if (!overlong)
			return (int)n;
		if (!send_packet(g, E_INVAL, 3))
			return -1;
	}
}

/* --- the target description (appendix G) --------------------------------- */

static const char *const reg_names[GDB_NR_REGS] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
	"rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
	"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
	"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
};

/* the register's size in bytes in the g packet */
static unsigned int reg_size(unsigned int n)
{
	if (n <= GDB_REG_RIP)
		return 8;
	return n >= 24 && n < 32 ? 10 : 4;
}

static const char *reg_type(unsigned int n)
{
	if (n == GDB_REG_RIP)
		return "code_ptr";
	if (n == 6 || n == 7)
		return "data_ptr";
	if (n < GDB_REG_RIP)
		return "int64";
	return n >= 24 && n < 32 ? "i387_ext" : "int32";
}

/*
 * org.gnu.gdb.i386.core must hold all 40 registers for gdb to take the
 * description (gdb's i386_validate_tdesc_p); SSE is optional.
 */
static size_t target_xml(char *buf, size_t size)
{
	struct reply r = { buf, 0 };
	char bits[4];

	rput(&r, "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
		 "<target><architecture>i386:x86-64</architecture>"
		 "<feature name=\"org.gnu.gdb.i386.core\">");
	for (unsigned int n = 0; n < GDB_NR_REGS; n++) {
		unsigned int b = reg_size(n) * 8;

		bits[0] = (char)('0' + b / 10);
		bits[1] = (char)('0' + b % 10);
		bits[2] = '\0';
		rput(&r, "<reg name=\"");
		rput(&r, reg_names[n]);
		rput(&r, "\" bitsize=\"");
		rput(&r, bits);
		rput(&r, "\" type=\"");
		rput(&r, reg_type(n));
		rput(&r, n >= 24 ? "\" group=\"float\"/>" : "\"/>");
	}
	rput(&r, "</feature></target>");
	return r.len < size ? r.len : size;
}

/* qXfer:features:read:target.xml:OFFSET,LENGTH (E.4): m or l, then data */
static void xfer_features(struct gdb *g, const char *p, struct reply *r)
{
	static char xml[3072];
	size_t len = target_xml(xml, sizeof(xml));
	uint64_t off, n;

	if (strncmp(p, "target.xml:", 11)) {
		rput(r, "E00");
		return;
	}
	p += 11;
	if (!parse_hex(&p, &off) || *p++ != ',' || !parse_hex(&p, &n) || *p) {
		rput(r, E_INVAL);
		return;
	}
	if (n > GDB_PKT_MAX - 1)
		n = GDB_PKT_MAX - 1;
	if (off >= len) {
		rput(r, "l");
		return;
	}
	if (n > len - off)
		n = len - off;
	r->buf[r->len++] = off + n < len ? 'm' : 'l';
	memcpy(r->buf + r->len, xml + off, n);
	r->len += n;
}

/* --- registers -------------------------------------------------------------- */

static uint64_t reg_get(struct gdb *g, unsigned int n)
{
	return n < GDB_NR_GPRS ? g->t->get_reg(g->t->ctx, n) : 0;
}

/* one register as the g packet has it; x87 registers beyond 8 bytes are 0 */
static void put_reg(struct gdb *g, struct reply *r, unsigned int n)
{
	unsigned int size = reg_size(n);

	rhex_le(r, reg_get(g, n), size > 8 ? 8 : size);
	if (size > 8)
		rhex_le(r, 0, size - 8);
}

static void cmd_read_regs(struct gdb *g, struct reply *r)
{
	for (unsigned int n = 0; n < GDB_NR_REGS; n++)
		put_reg(g, r, n);
}

/* one register's value from its little-endian hex at p (size bytes) */
static bool parse_reg(const char *p, unsigned int size, uint64_t *val)
{
	uint8_t b[10];

	if (!hex_to_bytes(p, b, size))
		return false;
	*val = 0;
	for (unsigned int i = 0; i < size && i < 8; i++)
		*val |= (uint64_t)b[i] << (8 * i);
	return true;
}

/* G: at least the registers a target has; the x87 ones are ignored */
static void cmd_write_regs(struct gdb *g, const char *p, struct reply *r)
{
	uint64_t val[GDB_NR_GPRS];
	size_t len = strlen(p), off = 0;

	for (unsigned int n = 0; n < GDB_NR_GPRS; n++) {
		if (off + 2 * reg_size(n) > len ||
		    !parse_reg(p + off, reg_size(n), &val[n])) {
			rput(r, E_INVAL);
			return;
		}
		off += 2 * reg_size(n);
	}
	for (unsigned int n = 0; n < GDB_NR_GPRS; n++)
		g->t->set_reg(g->t->ctx, n, val[n]);
	rput(r, "OK");
}

/* p N, P N=VALUE */
static void cmd_reg(struct gdb *g, const char *p, bool write, struct reply *r)
{
	uint64_t n, val;

	if (!parse_hex(&p, &n) || n >= GDB_NR_REGS ||
	    (write ? *p++ != '=' : *p != '\0')) {
		rput(r, E_INVAL);
		return;
	}
	if (!write) {
		put_reg(g, r, (unsigned int)n);
		return;
	}
	if (strlen(p) != 2 * reg_size((unsigned int)n) ||
	    !parse_reg(p, reg_size((unsigned int)n), &val)) {
		rput(r, E_INVAL);
		return;
	}
	if (n < GDB_NR_GPRS)
		g->t->set_reg(g->t->ctx, (unsigned int)n, val);
	rput(r, "OK");
}

/* --- memory, breakpoints ------------------------------------------------------ */

/* "ADDR,LEN" then the character end */
static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len,
			   char end)
{
	return parse_hex(p, addr) && *(*p)++ == ',' && parse_hex(p, len) &&
	       *(*p)++ == end;
}

static void cmd_read_mem(struct gdb *g, const char *p, struct reply *r)
{
	uint8_t buf[GDB_PKT_MAX / 2];
	uint64_t addr, len;

	if (!parse_addr_len(&p, &addr, &len, '\0')) {
		rput(r, E_INVAL);
		return;
	}
	if (len > sizeof(buf))
		len = sizeof(buf);
	if (g->t->read_mem(g->t->ctx, addr, buf, len) < 0) {
		rput(r, E_FAULT);
		return;
	}
	for (uint64_t i = 0; i < len; i++)
		rhex_le(r, buf[i], 1);
}

static void cmd_write_mem(struct gdb *g, const char *p, struct reply *r)
{
	uint8_t buf[GDB_PKT_MAX / 2];
	uint64_t addr, len;

	if (!parse_addr_len(&p, &addr, &len, ':') || len > sizeof(buf) ||
	    strlen(p) != 2 * len || !hex_to_bytes(p, buf, len)) {
		rput(r, E_INVAL);
		return;
	}
	rput(r, g->t->write_mem(g->t->ctx, addr, buf, len) < 0 ? E_FAULT : "OK");
}

/*
 * X ADDR,LEN:DATA (E.2): DATA is binary, 0x7d escaping the byte after it
 * (XORed with 0x20, E.1); gdb tries it with LEN 0 and uses M without it.
 */
static void cmd_write_bin(struct gdb *g, const char *p, struct reply *r)
{
	uint8_t buf[GDB_PKT_MAX];
	const char *end = g->in + g->in_len;
	uint64_t addr, len, n = 0;

	if (!parse_addr_len(&p, &addr, &len, ':') || len > sizeof(buf)) {
		rput(r, E_INVAL);
		return;
	}
	while (p < end && n < len) {
		uint8_t c = (uint8_t)*p++;

		if (c == 0x7d) {
			if (p == end)
				break;
			c = (uint8_t)*p++ ^ 0x20;
		}
		buf[n++] = c;
	}
	if (n != len || p != end) {
		rput(r, E_INVAL);
		return;
	}
	rput(r, !len || g->t->write_mem(g->t->ctx, addr, buf, len) >= 0 ?
		"OK" : E_FAULT);
}

/*
 * Z/z TYPE,ADDR,KIND (E.2): 0 software breakpoint, 1 hardware breakpoint,
 * 2 write and 4 access watchpoint of KIND bytes; 3 (read) gets the empty
 * reply, x86 has no read-only watchpoint (SDM Vol 3 18.2.4).
 */
static void cmd_breakpoint(struct gdb *g, const char *p, bool insert,
			   struct reply *r)
{
	uint64_t addr, kind;
	int type = *p++ - '0';
	int ret;

	if ((type != 0 && type != 1 && type != 2 && type != 4) || *p++ != ',')
		return;
	if (!parse_hex(&p, &addr) || *p++ != ',' || !parse_hex(&p, &kind)) {
		rput(r, E_INVAL);
		return;
	}
	if (!type)
		ret = g->t->breakpoint(g->t->ctx, addr, insert);
	else if (!g->t->hw_point)
		return;
	else
		ret = g->t->hw_point(g->t->ctx, (unsigned int)type, addr, kind,
				     insert);
	if (!ret)
		rput(r, "OK");
	else if (ret < 0)
		rput(r, E_FAULT);
}

/* --- resuming -------------------------------------------------------------- */

/* c [ADDR], s [ADDR]: resume at ADDR if given */
static int cmd_resume(struct gdb *g, const char *p, enum gdb_resume how,
		      struct reply *r)
{
	uint64_t addr;

	if (*p) {
		if (!parse_hex(&p, &addr) || *p) {
			rput(r, E_INVAL);
			return -1;
		}
		g->t->set_reg(g->t->ctx, GDB_REG_RIP, addr);
	}
	return (int)how;
}

/* vCont;ACTION[:THREAD]...: one thread, so the first action decides */
static int cmd_vcont(const char *p, struct reply *r)
{
	if (!strcmp(p, "?")) {
		rput(r, "vCont;c;C;s;S");
		return -1;
	}
	if (*p++ == ';') {
		if (*p == 'c' || *p == 'C')
			return GDB_CONTINUE;
		if (*p == 's' || *p == 'S')
			return GDB_STEP;
	}
	rput(r, E_INVAL);
	return -1;
}

/* --- console output, monitor commands -------------------------------------- */

bool gdb_console(struct gdb *g, const char *s, size_t n)
{
	while (n) {
		size_t k = n < GDB_O_CHUNK ? n : GDB_O_CHUNK, len = 1;

		g->o[0] = 'O';
		for (size_t i = 0; i < k; i++) {
			g->o[len++] = hexdig[(uint8_t)s[i] >> 4];
			g->o[len++] = hexdig[(uint8_t)s[i] & 0xf];
		}
		if (!send_packet(g, g->o, len))
			return false;
		s += k;
		n -= k;
	}
	return true;
}

static void say(struct gdb *g, const char *s)
{
	gdb_console(g, s, strlen(s));
}

/* a number as one writes it at gdb's prompt: 0x... hex, else decimal */
static bool parse_num(const char **p, uint64_t *val)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	while (*s == ' ')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		if (!parse_hex(&s, &v))
			return false;
		*p = s;
		*val = v;
		return true;
	}
	for (; *s >= '0' && *s <= '9' && n < 19; s++, n++)
		v = v * 10 + (uint64_t)(*s - '0');
	if (!n || (*s >= '0' && *s <= '9'))
		return false;
	*p = s;
	*val = v;
	return true;
}

static void put_hex(char *buf, size_t *len, uint64_t val, int digits)
{
	for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
		buf[(*len)++] = hexdig[(val >> shift) & 0xf];
}

/* monitor phys ADDR LEN: 16 bytes a line, "ADDR: xx xx ...", as O packets */
static void mon_phys(struct gdb *g, const char *p)
{
	uint8_t buf[GDB_PHYS_MAX];
	char line[17 + 3 * 16 + 2];
	uint64_t addr, len;
	const char *why;

	if (!parse_num(&p, &addr) || !parse_num(&p, &len) || *p || !len ||
	    len > GDB_PHYS_MAX || addr + len < addr) {
		say(g, "usage: monitor phys ADDR LEN (LEN 1 to 256; 0x for hex)\n");
		return;
	}
	if (!g->t->read_phys) {
		say(g, "phys: not supported by this target\n");
		return;
	}
	why = g->t->read_phys(g->t->ctx, addr, buf, len);
	if (why) {
		say(g, "phys: ");
		say(g, why);
		say(g, "\n");
		return;
	}
	for (uint64_t off = 0; off < len; off += 16) {
		size_t n = 0;

		put_hex(line, &n, addr + off, 16);
		line[n++] = ':';
		for (uint64_t i = off; i < len && i < off + 16; i++) {
			line[n++] = ' ';
			put_hex(line, &n, buf[i], 2);
		}
		line[n++] = '\n';
		if (!gdb_console(g, line, n))
			return;
	}
}

static const char mon_help[] =
	"monitor phys ADDR LEN  guest-physical memory, LEN (1 to 256) bytes in hex\n"
	"monitor help           this list\n";

/*
 * qRcmd,HEX (E.4): gdb's `monitor CMD`, CMD hex-encoded; the output as O
 * packets, then OK.
 */
static void cmd_rcmd(struct gdb *g, const char *p, struct reply *r)
{
	char cmd[128];
	size_t n = strlen(p) / 2;

	if (strlen(p) % 2 || n >= sizeof(cmd) ||
	    !hex_to_bytes(p, (uint8_t *)cmd, n)) {
		rput(r, E_INVAL);
		return;
	}
	cmd[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!cmd[i]) {
			rput(r, E_INVAL);
			return;
		}
	if (!strcmp(cmd, "help")) {
		say(g, mon_help);
	} else if (!strncmp(cmd, "phys", 4) && (cmd[4] == ' ' || !cmd[4])) {
		mon_phys(g, cmd + 4);
	} else {
		say(g, "unknown monitor command; monitor help lists them\n");
	}
	rput(r, "OK");
}

/* q and Q packets (E.4); unknown ones get the empty reply */
static void cmd_query(struct gdb *g, const char *p, struct reply *r)
{
	if (!strncmp(p, "qSupported", 10))
		rput(r, "PacketSize=1000;qXfer:features:read+;QStartNoAckMode+");
	else if (!strncmp(p, "qXfer:features:read:", 20))
		xfer_features(g, p + 20, r);
	else if (!strncmp(p, "qRcmd,", 6))
		cmd_rcmd(g, p + 6, r);
	else if (!strcmp(p, "qAttached"))
		rput(r, "1");		/* detach, do not kill, on quit */
	else if (!strcmp(p, "QStartNoAckMode"))
		rput(r, "OK");
}

/* One packet; the reply in r.  >= 0: an enum gdb_resume, after the reply. */
static int dispatch(struct gdb *g, const char *p, struct reply *r)
{
	char c = *p++;

	switch (c) {
	case '?':
		rput(r, "S05");
		return -1;
	case 'g':
		cmd_read_regs(g, r);
		return -1;
	case 'G':
		cmd_write_regs(g, p, r);
		return -1;
	case 'p':
	case 'P':
		cmd_reg(g, p, c == 'P', r);
		return -1;
	case 'm':
		cmd_read_mem(g, p, r);
		return -1;
	case 'M':
		cmd_write_mem(g, p, r);
		return -1;
	case 'X':
		cmd_write_bin(g, p, r);
		return -1;
	case 'Z':
	case 'z':
		cmd_breakpoint(g, p, c == 'Z', r);
		return -1;
	case 'c':
		return cmd_resume(g, p, GDB_CONTINUE, r);
	case 's':
		return cmd_resume(g, p, GDB_STEP, r);
	case 'D':
		rput(r, "OK");
		return GDB_DETACH;
	case 'k':
		return GDB_KILLED;
	case 'H':
		rput(r, "OK");		/* one thread: any is it */
		return -1;
	case 'v':
		if (!strncmp(p, "Cont", 4))
			return cmd_vcont(p + 4, r);
		return -1;
	case 'q':
	case 'Q':
		cmd_query(g, p - 1, r);
		return -1;
	default:
		return -1;		/* "": not supported */
	}
}

void gdb_init(struct gdb *g, const struct gdb_target *t)
{
	g->t = t;
	g->noack = false;
}

enum gdb_resume gdb_serve(struct gdb *g, int stop)
{
	return gdb_serve_watch(g, stop, NULL, 0);
}

/* The stop reply (E.3): SNN, or TNN;watch:ADDR; for a watchpoint's hit */
static bool send_stop(struct gdb *g, int sig, const char *key, uint64_t addr)
{
	struct reply r = { g->out, 0 };
	char sn[4] = { key ? 'T' : 'S', hexdig[(sig >> 4) & 0xf],
		       hexdig[sig & 0xf] };

	rput(&r, sn);
	if (key) {
		rput(&r, key);
		rput(&r, ":");
		for (int shift = 60; shift >= 0; shift -= 4)
			if (addr >> shift || !shift)
				r.buf[r.len++] = hexdig[(addr >> shift) & 0xf];
		rput(&r, ";");
	}
	return send_packet(g, r.buf, r.len);
}

enum gdb_resume gdb_serve_watch(struct gdb *g, int stop, const char *key,
				uint64_t addr)
{
	if (stop >= 0 && !send_stop(g, stop, key, addr))
		return GDB_CLOSED;
	for (;;) {
		struct reply r = { g->out, 0 };
		int how, n = recv_packet(g);

		if (n < 0)
			return GDB_CLOSED;
		g->in_len = (size_t)n;
		how = dispatch(g, g->in, &r);
		if (how == GDB_KILLED) {
			g->t->kill(g->t->ctx);
			return GDB_KILLED;
		}
		/* c, s and vCont are answered by the next stop */
		if ((how == GDB_CONTINUE || how == GDB_STEP) && !r.len)
			return (enum gdb_resume)how;
		if (!send_packet(g, r.buf, r.len))
			return GDB_CLOSED;
		if (!strcmp(g->in, "QStartNoAckMode"))
			g->noack = true;	/* after its own ack (E.11) */
		if (how == GDB_DETACH)
			return GDB_DETACH;
	}
}
