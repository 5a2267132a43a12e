// SPDX-License-Identifier: BSD-2-Clause
/*
 * umbra as a gdb target (gdbstub.h).  Memory is guest-virtual, through the
 * guest's own page tables in either MMU mode (gmem_walk(), a pure look
 * without accessed/dirty updates); a page that translates outside guest
 * RAM (umbra's range, MMIO, a hole) or does not translate is E14: gdb
 * never reads umbra.  Breakpoints are INT3 bytes in guest memory with #BP
 * intercepted (SDM Vol 3 6.15 "Interrupt 3", APM Vol 2 15.12); reads show
 * the original bytes.  Steps are ops->single_step (MTF on VMX, RFLAGS.TF
 * with #DB intercepted on SVM: svm/svm.c).
 */
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/regs.h"
#include "arch/x86/emul/decode.h"
#include "arch/x86/emul/emulate.h"
#include "arch/x86/emul/gmem.h"
#include "arch/x86/exit/dr.h"
#include "arch/x86/paging/mmu.h"
#include "core/mem.h"
#include "drivers/serial.h"
#include "lib/string.h"
#include "shell/clock.h"
#include "shell/gdb.h"
#include "shell/gdbstub.h"
#include "umbra/core.h"
#include "umbra/log.h"

#define NR_BPS		32
#define INT3		0xcc

static struct gdb gdb;
static bool attached, stepping;
static bool own_absent;			/* gdb=PORT named no UART */
static int pushback = -1;		/* a byte read before gdb was served */
static char con[128];			/* the guest's console, for O packets */
static size_t con_len;
static void (*reset)(void);		/* k: the shell's reboot */
static struct bp {
	uint64_t addr;
	uint8_t orig;
	bool used;
} bps[NR_BPS];
static struct hw {		/* Z1, Z2, Z4: DR0-DR3 (arch/x86/exit/dr.c) */
	uint64_t addr;
	uint8_t type;		/* Z's: 1 execute, 2 write, 4 access */
	uint8_t len;
	bool used;
} hws[4];

/* gdb's register order (gdb.h) as the CPU's encoding (SDM Vol 2 2.1.5) */
static const uint8_t gpr_enc[16] = { 0, 3, 1, 2, 6, 7, 5, 4,
				     8, 9, 10, 11, 12, 13, 14, 15 };
static const enum vcpu_seg seg_order[6] = { SEG_CS, SEG_SS, SEG_DS,
					    SEG_ES, SEG_FS, SEG_GS };

uint16_t gdbstub_own_port(void)
{
	uint16_t p = opts.gdb_port;

	return p && p != serial_port() && !own_absent ? p : 0;
}

#define own_port	gdbstub_own_port()

static bool port_getc(char *c)
{
	return own_port ? uart_getc(own_port, c) : serial_getc(c);
}

static int t_getc(void *ctx)
{
	char c;

	if (pushback >= 0) {
		c = (char)pushback;
		pushback = -1;
		return (unsigned char)c;
	}
	while (!port_getc(&c))
		cpu_pause();
	return (unsigned char)c;
}

static void t_put(void *ctx, const char *s, size_t n)
{
	if (own_port)
		uart_write(own_port, s, n);
	else
		serial_write(s, n);
}

static uint64_t t_get_reg(void *ctx, unsigned int n)
{
	struct vcpu *v = ctx;
	struct segment s;

	if (n < 16)
		return vcpu_gpr_read(v, gpr_enc[n]);
	if (n == GDB_REG_RIP)
		return v->ops->get_reg(v, VCPU_RIP);
	if (n == GDB_REG_EFLAGS)
		return v->ops->get_reg(v, VCPU_RFLAGS);
	v->ops->get_seg(v, seg_order[n - GDB_REG_CS], &s);
	return s.sel;
}

/* Selectors stay: loading one needs its descriptor, which gdb cannot give. */
static void t_set_reg(void *ctx, unsigned int n, uint64_t val)
{
	struct vcpu *v = ctx;

	if (n < 16)
		vcpu_gpr_write(v, gpr_enc[n], val);
	else if (n == GDB_REG_RIP)
		v->ops->set_reg(v, VCPU_RIP, val);
	else if (n == GDB_REG_EFLAGS)	/* bit 1 is always 1 (SDM Vol 1 3.4.3) */
		v->ops->set_reg(v, VCPU_RFLAGS, (val & 0xffffffffull) | 2);
}

/*
 * Guest RAM behind [lin, lin + *len) up to the end of its page: *len
 * shrinks to that.  NULL if it does not translate or is not guest RAM.
 */
static uint8_t *guest_ptr(struct vcpu *v, uint64_t lin, size_t *len,
			  uint64_t *gpa)
{
	size_t room = PAGE_SIZE - (lin & (PAGE_SIZE - 1));
	struct gw_result res;

	if (!(v->ops->get_reg(v, VCPU_EFER) & EFER_LMA))
		lin &= 0xffffffffull;
	if (*len > room)
		*len = room;
	if (gmem_walk(v, lin, GW_NO_AD, &res) != GW_OK ||
	    !guest_ram(res.gpa, *len))
		return NULL;
	*gpa = res.gpa;
	return phys_to_virt(res.gpa);
}

/* Copy to (write) or from guest-virtual memory, page by page. */
static int copy_guest(struct vcpu *v, uint64_t lin, uint8_t *buf, size_t len,
		      bool write)
{
	while (len) {
		size_t n = len;
		uint64_t gpa;
		uint8_t *p = guest_ptr(v, lin, &n, &gpa);

		if (!p)
			return -1;
		if (!write) {
			memcpy(buf, p, n);
		} else {
			memcpy(p, buf, n);
			if (v->mmu->wrote)	/* shadow paging sees it */
				v->mmu->wrote(v, gpa, buf, n);
		}
		lin += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static struct bp *bp_find(uint64_t addr)
{
	for (int i = 0; i < NR_BPS; i++)
		if (bps[i].used && bps[i].addr == addr)
			return &bps[i];
	return NULL;
}

/* gdb sees the bytes the INT3s replaced */
static int t_read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	uint8_t *b = buf;

	if (copy_guest(ctx, addr, buf, len, false))
		return -1;
	for (int i = 0; i < NR_BPS; i++)
		if (bps[i].used && bps[i].addr - addr < len)
			b[bps[i].addr - addr] = bps[i].orig;
	return 0;
}

/* a write over a breakpoint changes the byte it will restore */
static int t_write_mem(void *ctx, uint64_t addr, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint8_t int3 = INT3;

	if (copy_guest(ctx, addr, (uint8_t *)buf, len, true))
		return -1;
	for (int i = 0; i < NR_BPS; i++)
		if (bps[i].used && bps[i].addr - addr < len) {
			bps[i].orig = b[bps[i].addr - addr];
			copy_guest(ctx, bps[i].addr, &int3, 1, true);
		}
	return 0;
}

static int t_breakpoint(void *ctx, uint64_t addr, bool insert)
{
	struct vcpu *v = ctx;
	struct bp *b = bp_find(addr);
	uint8_t int3 = INT3;

	if (!v->ops->intercept_bp)
		return 1;
	if (!insert) {
		if (b) {
			b->used = false;
			copy_guest(v, addr, &b->orig, 1, true);
		}
		return 0;
	}
	if (b)
		return 0;
	for (int i = 0; i < NR_BPS && !b; i++)
		if (!bps[i].used)
			b = &bps[i];
	if (!b || copy_guest(v, addr, &b->orig, 1, false) ||
	    copy_guest(v, addr, &int3, 1, true))
		return -1;
	b->addr = addr;
	b->used = true;
	v->ops->intercept_bp(v, true);
	return 0;
}

/*
 * gdb's points as DR7 (SDM Vol 3 18.2.4): Ln enables DRn, R/Wn 00
 * execute, 01 write, 11 read or write; LENn 00 1 byte, 01 2, 11 4, 10 8
 * (IA-32e mode only); the address aligned to the length.
 */
static void hw_load(struct vcpu *v)
{
	static const uint8_t len_bits[9] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };
	uint64_t addr[4] = { 0 }, dr7 = 0;

	for (int i = 0; i < 4; i++) {
		const struct hw *h = &hws[i];
		uint64_t rw = h->type == 1 ? 0 : h->type == 2 ? 1 : 3;

		if (!h->used)
			continue;
		addr[i] = h->addr;
		dr7 |= 1ull << (2 * i);
		dr7 |= (rw | (uint64_t)len_bits[h->len] << 2) << (16 + 4 * i);
	}
	dr_set(v, addr, dr7);
}

static int t_hw_point(void *ctx, unsigned int type, uint64_t addr,
		      uint64_t len, bool insert)
{
	struct vcpu *v = ctx;
	bool lma = v->ops->get_reg(v, VCPU_EFER) & EFER_LMA;
	struct hw *free = NULL;

	if (!v->ops->intercept_dr)
		return 1;
	if (type == 1)
		len = 1;
	if ((len != 1 && len != 2 && len != 4 && !(len == 8 && lma)) ||
	    (addr & (len - 1)))
		return -1;
	for (int i = 0; i < 4; i++) {
		struct hw *h = &hws[i];

		if (h->used && h->addr == addr && h->type == type &&
		    h->len == len) {
			if (!insert) {
				h->used = false;
				hw_load(v);
			}
			return 0;
		}
		if (!h->used && !free)
			free = h;
	}
	if (!insert)
		return 0;
	if (!free)
		return -1;	/* gdb: too many hardware points */
	*free = (struct hw){ addr, (uint8_t)type, (uint8_t)len, true };
	hw_load(v);
	return 0;
}

/*
 * monitor phys: guest-physical memory as the guest has it; never umbra's
 * (umbra_owns()), never what is not RAM (MMIO reads have side effects).
 */
static const char *t_read_phys(void *ctx, uint64_t addr, void *buf, size_t len)
{
	if (umbra_owns(addr, len))
		return "the range is umbra's own memory, which the guest cannot reach";
	if (!guest_ram(addr, len))
		return "the range is not guest RAM";
	memcpy(buf, phys_to_virt(addr), len);
	return NULL;
}

static void t_kill(void *ctx)
{
	reset();
}

static void remove_all(struct vcpu *v)
{
	for (int i = 0; i < NR_BPS; i++)
		if (bps[i].used)
			t_breakpoint(v, bps[i].addr, false);
	if (v->ops->intercept_bp)
		v->ops->intercept_bp(v, false);
	for (int i = 0; i < 4; i++)
		hws[i].used = false;
	hw_load(v);
}

/*
 * While gdb is attached and the guest runs, an exit at least every 10 ms
 * so that gdb's Ctrl-C is seen even when the guest spins with interrupts
 * off and makes no exit of its own (shell_poll() reads the port on
 * exits).  Off again once gdb detaches.
 */
static void ctrl_c_timer(struct vcpu *v)
{
	uint64_t hz = clock_tsc_hz();

	if (v->ops->exit_timer)
		v->ops->exit_timer(v, attached ? (hz ? hz / 100 : 1ull << 24) : 0);
}

/* The guest's console output so far, to gdb while it waits for a stop. */
static void console_flush(void)
{
	if (attached && con_len)
		gdb_console(&gdb, con, con_len);
	con_len = 0;
}

/*
 * The guest is stopped: gdb has the port until it resumes the guest.
 * key/addr: a watchpoint's hit for the stop reply, or NULL.
 */
static void serve_watch(struct vcpu *v, int sig, const char *key,
			uint64_t addr)
{
	static struct gdb_target t;

	t = (struct gdb_target){
		.ctx = v, .getc = t_getc, .put = t_put, .get_reg = t_get_reg,
		.set_reg = t_set_reg, .read_mem = t_read_mem,
		.write_mem = t_write_mem, .breakpoint = t_breakpoint,
		.kill = t_kill, .hw_point = t_hw_point,
		.read_phys = t_read_phys,
	};
	if (!attached)
		gdb_init(&gdb, &t);
	attached = true;
	clock_pause();
	console_flush();
	switch (gdb_serve_watch(&gdb, sig, key, addr)) {
	case GDB_STEP:
		stepping = true;
		v->ops->single_step(v, true);
		break;
	case GDB_DETACH:
	case GDB_CLOSED:
		remove_all(v);
		attached = false;
		break;
	default:
		break;
	}
	ctrl_c_timer(v);
	clock_resume();
}

static void serve(struct vcpu *v, int sig)
{
	serve_watch(v, sig, NULL, 0);
}

/* gdb's port: its own UART (gdb=PORT), else the console */
static uint16_t gdb_port(void)
{
	return own_port ? own_port : serial_port();
}

void gdbstub_init(struct vcpu *v, void (*reset_fn)(void))
{
	reset = reset_fn;
	if (own_port) {
		/* no device: the port reads all ones */
		if (inb(own_port + UART_LSR) == 0xff) {
			pr_warn("gdb: no UART at port %x; gdb uses the console",
				own_port);
			own_absent = true;
		} else {
			uart_init(own_port);
			pr_info("gdb: gdb's own port %x (hidden from the guest)",
				own_port);
		}
	}
	if (!opts.gdb_wait)
		return;
	pr_info("gdb: waiting for gdb on port %x before the guest's first instruction",
		gdb_port());
	serve(v, -1);
}

void gdbstub_attach(struct vcpu *v)
{
	if (own_port)
		pr_info("gdb: the remote protocol on port %x; connect gdb now",
			own_port);
	else
		pr_info("gdb: the remote protocol on this port; connect gdb now");
	serve(v, -1);
}


/*
 * While gdb is attached on the shared console, the guest's writes to its
 * data port (with LCR.DLAB clear: else the divisor latch) are console
 * output, which gdb takes as O packets while the guest runs (the GDB
 * manual, E.3 "Stop Reply Packets"); a line at a time, the rest before
 * the next stop reply or poll.
 */
bool gdbstub_console(uint16_t port, uint8_t c)
{
	if (!attached || own_port || (inb(port + UART_LCR) & LCR_DLAB))
		return false;
	con[con_len++] = (char)c;
	if (c == '\n' || con_len == sizeof(con))
		console_flush();
	return true;
}

/*
 * On exits (shell_poll()'s rate): the console output held back, then
 * gdb's port: a 0x03 while attached stops the guest; on gdb's own port
 * any byte while not attached is a gdb connecting (its first packet
 * kept for serve()).
 */
void gdbstub_poll(struct vcpu *v)
{
	char c;

	console_flush();
	if (!attached && !own_port)
		return;
	for (int n = 0; n < 16 && port_getc(&c); n++) {
		if (!attached) {
			pushback = (unsigned char)c;
			pr_info("gdb: a byte on port %x: serving gdb", own_port);
			serve(v, -1);
			return;
		}
		if (c == GDB_INTERRUPT) {
			gdbstub_interrupt(v);
			return;
		}
	}
}

bool gdbstub_attached(void)
{
	return attached;
}

void gdbstub_interrupt(struct vcpu *v)
{
	serve(v, 2);	/* SIGINT */
}

bool gdbstub_step_done(struct vcpu *v)
{
	if (!stepping)
		return false;
	stepping = false;
	v->ops->single_step(v, false);
	serve(v, 5);	/* SIGTRAP */
	return true;
}

/*
 * The guest's own INT3, INTO or INT n, stopped before it ran: run it as
 * the CPU would (SDM Vol 2 "INT n/INTO/INT3/INT1"): RIP past it, then #BP,
 * #OF when RFLAGS.OF is set, or the software interrupt.  INT n exits only
 * on SVM (svm_intercept_bp()).  The decoder reads it, legacy prefixes
 * included; what does not decode (a page that ends after the INT3) is
 * taken for the one-byte INT3 that the #BP intercept says it is.
 */
static void guest_own_int(struct vcpu *v, uint64_t rip)
{
	struct guest_insn gi;
	struct gmem_fault f;
	unsigned int len = 1;
	enum x86_op op = X86_OP_INT3;

	if (insn_fetch(v, &gi, &f) == GMEM_OK && gi.dec == X86_DEC_OK &&
	    (gi.in.op == X86_OP_INT3 || gi.in.op == X86_OP_INTO ||
	     (gi.in.op == X86_OP_INT && v->ops->inject_soft_int))) {
		op = gi.in.op;
		len = gi.in.len;
	}
	v->ops->set_reg(v, VCPU_RIP, rip + len);
	if (op == X86_OP_INT) {
		v->ops->inject_soft_int(v, (uint8_t)gi.in.imm);
	} else if (op == X86_OP_INTO) {
		if (v->ops->get_reg(v, VCPU_RFLAGS) & RFLAGS_OF)
			v->ops->inject_exception(v, 4, false, 0);
	} else {
		v->ops->inject_exception(v, 3, false, 0);
	}
}

/*
 * The #BP intercept comes before delivery with RIP at the INT3 (APM Vol 2
 * 15.12; SDM Vol 3 25.2): at one of gdb's, the guest stops there (gdb
 * expects the PC of the breakpoint).  Any other INT3 is the guest's: RIP
 * past it and #BP delivered, as the CPU would have (a trap, SDM Vol 3 6.5).
 */
void gdbstub_breakpoint(struct vcpu *v, const struct vcpu_exit *e)
{
	uint64_t rip = v->ops->get_reg(v, VCPU_RIP);

	if (attached && bp_find(rip)) {
		if (stepping) {
			stepping = false;
			v->ops->single_step(v, false);
		}
		serve(v, 5);
		return;
	}
	guest_own_int(v, rip);
}

/*
 * A #DB while gdb holds the debug registers: the guest's own is
 * delivered (dr_debug()); at one of gdb's points the guest stops.  An
 * execute breakpoint is a fault, RIP at the instruction: RF lets it run
 * once on resume (SDM Vol 3 17.3.1.1, 18.3.1.1); a data breakpoint is a
 * trap after the access.
 */
void gdbstub_debug(struct vcpu *v, const struct vcpu_exit *e)
{
	unsigned int hit = dr_debug(v, e->debug.dr6);
	const struct hw *h = NULL;

	for (int i = 0; i < 4 && !h; i++)
		if (hit & (1u << i))
			h = &hws[i];
	if (!h || !h->used)
		return;
	if (h->type == 1) {
		v->ops->set_reg(v, VCPU_RFLAGS,
				v->ops->get_reg(v, VCPU_RFLAGS) | RFLAGS_RF);
		serve(v, 5);
		return;
	}
	serve_watch(v, 5, h->type == 2 ? "watch" : "awatch", h->addr);
}
