// SPDX-License-Identifier: BSD-2-Clause
/* Levelled console output and the panic path. */
#include <stdarg.h>
#include "arch/x86/cpu/cpu.h"
#include "arch/x86/cpu/idt.h"
#include "arch/x86/cpu/smp.h"
#include "drivers/serial.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mmu/sync.h"
#include "umbra/log.h"

int log_level = LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

const char *log_level_name(int level)
{
	return level_names[level];
}

int log_level_parse(const char *s)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	if (s[0] >= '0' && s[0] <= '3' && !s[1])
		return s[0] - '0';
	return -1;
}

int rules_broken;

void rule_broken(const char *who, const char *what, uint64_t a, uint64_t b)
{
	rules_broken++;
	pr_err("%s:   %s (%lx, %lx)", who, what, a, b);
}

/* One line at a time from all CPUs; a CPU that cannot get the lock
   (it panicked holding it) writes anyway after a while */
static struct spinlock console_lock;

static void emit(const char *tag, const char *fmt, va_list ap)
{
	char line[512];
	bool locked = false;
	int n;

	n = snprintf(line, sizeof(line), "umbra: %s: ", tag);
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	for (int i = 0; i < 1000000 && !(locked = spin_trylock(&console_lock)); i++)
		cpu_relax();
	serial_write(line, n);
	if (locked)
		spin_unlock(&console_lock);
}

void log_printf(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	emit(level_names[level], fmt, ap);
	va_end(ap);
}

static void panic_line(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("PANIC", fmt, ap);
	va_end(ap);
}

extern char __image_start[], __image_end[];

static void backtrace(uint64_t rbp, uint64_t rip)
{
	uint64_t lo = (uint64_t)__image_start, hi = (uint64_t)__image_end;

	panic_line("backtrace (addr2line -e build/umbra.elf ADDR):");
	panic_line("  %016lx", rip);
	for (int i = 0; i < 32 && rbp >= lo && rbp + 16 <= hi && !(rbp & 7); i++) {
		uint64_t *frame = (uint64_t *)rbp;

		if (!frame[1])
			break;
		panic_line("  %016lx", frame[1] - 1);
		rbp = frame[0];
	}
}

static void print_cregs(void)
{
	panic_line("cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx",
		   read_cr0(), read_cr2(), read_cr3(), read_cr4());
}

__attribute__((noreturn)) void halt(const char *reason)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "umbra: halt: %s\n", reason);

	smp_stop_others();
	serial_write(line, n);
	halt_forever();
}

void panic(const char *fmt, ...)
{
	va_list ap;
	uint64_t rbp = (uint64_t)__builtin_frame_address(0);

	va_start(ap, fmt);
	emit("PANIC", fmt, ap);
	va_end(ap);
	print_cregs();
	panic_line("rsp=%016lx rbp=%016lx", (uint64_t)__builtin_frame_address(0), rbp);
	backtrace(*(uint64_t *)rbp, (uint64_t)__builtin_return_address(0));
	halt("panic");
}

void panic_frame(struct exc_frame *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit("PANIC", fmt, ap);
	va_end(ap);
	panic_line("vector=%lu error=%016lx rip=%016lx cs=%04lx rflags=%016lx",
		   f->vector, f->error, f->rip, f->cs, f->rflags);
	panic_line("rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx",
		   f->rax, f->rbx, f->rcx, f->rdx);
	panic_line("rsi=%016lx rdi=%016lx rbp=%016lx rsp=%016lx",
		   f->rsi, f->rdi, f->rbp, f->rsp);
	panic_line("r8 =%016lx r9 =%016lx r10=%016lx r11=%016lx",
		   f->r8, f->r9, f->r10, f->r11);
	panic_line("r12=%016lx r13=%016lx r14=%016lx r15=%016lx",
		   f->r12, f->r13, f->r14, f->r15);
	print_cregs();
	backtrace(f->rbp, f->rip);
	halt("panic");
}
