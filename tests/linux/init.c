// SPDX-License-Identifier: BSD-2-Clause
/*
 * /init of umbra's Linux test guest (static, built by build-image.sh).
 *
 * It mounts /proc, /sys and /dev, then looks at the kernel command line:
 *
 *   umbra.test=1   run the functional checks (fork, exec, mmap, mprotect,
 *                  copy-on-write, and with umbra.cpus=N the CPUs online
 *                  and a workload on each), print one line per check and
 *                  "N passed, N failed", then end through the isa-debug-exit
 *                  port 0xf4 (status 0 when all passed, 1 otherwise), or
 *                  Bochs' shutdown port 0x8900, or else power off;
 *   umbra.bench=W  time workload W (fork, mmap, mprotect, or none: nothing)
 *                  and print "bench: W: N ops, T ns/op", then end as above;
 *   otherwise      an interactive busybox shell on the console.
 *
 * "/init exec-child" is how the exec check runs this program again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_PORT	0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900
#define EXEC_CHILD_CODE	7
#define MAP_SIZE	(4u << 20)
#define COW_SIZE	(8u << 20)

static int passed, failed;

static void check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("linux-test: %s %s", ok ? "PASS" : "FAIL", name);
	if (fmt) {
		printf(": ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* fork: the child exits with a known status, the parent reaps it. */
static void check_fork(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0)
		_exit(42);
	if (pid < 0) {
		check(0, "fork", "fork: %s", strerror(errno));
		return;
	}
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 42, "fork",
	      "child %d exit status %d", pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* exec: this program again, and busybox. */
static int run(char *const argv[])
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_exec(void)
{
	char *self[] = { "/init", "exec-child", NULL };
	char *bb[] = { "/bin/busybox", "true", NULL };
	int a = run(self), b = run(bb);

	check(a == EXEC_CHILD_CODE && b == 0, "exec",
	      "/init exec-child -> %d, busybox true -> %d", a, b);
}

/* mmap: 4 MiB anonymous, touched and verified, then unmapped. */
static void check_mmap(void)
{
	long ps = page_size(), bad = 0;
	uint8_t *p = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		check(0, "mmap", "%s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < MAP_SIZE; i += ps)
		bad += p[i] != 0;
	for (size_t i = 0; i < MAP_SIZE; i += ps)
		p[i] = (uint8_t)(i / ps);
	for (size_t i = 0; i < MAP_SIZE; i += ps)
		bad += p[i] != (uint8_t)(i / ps);
	check(!bad && !munmap(p, MAP_SIZE), "mmap", "4 MiB anonymous, %ld bad pages", bad);
}

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t faults;

static void on_segv(int sig __attribute__((unused)))
{
	faults++;
	siglongjmp(fault_jmp, 1);
}

/* mprotect: a write to a read-only page faults; after RW it works. */
static void check_mprotect(void)
{
	struct sigaction sa = { .sa_handler = on_segv };
	long ps = page_size();
	volatile uint8_t *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int wrote_ro = 0, ok;

	if (p == MAP_FAILED) {
		check(0, "mprotect", "mmap: %s", strerror(errno));
		return;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	p[0] = 0x5a;
	faults = 0;
	mprotect((void *)p, ps, PROT_READ);
	if (!sigsetjmp(fault_jmp, 1)) {
		p[0] = 0xa5;
		wrote_ro = 1;
	}
	mprotect((void *)p, ps, PROT_READ | PROT_WRITE);
	p[0] = 0x33;
	p[ps] = 0x44;
	ok = !wrote_ro && faults == 1 && p[0] == 0x33 && p[ps] == 0x44;
	signal(SIGSEGV, SIG_DFL);
	munmap((void *)p, 2 * ps);
	check(ok, "mprotect", "%d fault(s) on a read-only page, then writable", (int)faults);
}

/*
 * Copy-on-write: 8 MiB filled by the parent; after fork the child sees the
 * parent's data, overwrites all of it and checks its own copy; the parent's
 * copy must be unchanged.
 */
static void check_cow(void)
{
	long ps = page_size(), bad = 0;
	size_t n = COW_SIZE / sizeof(uint32_t);
	uint32_t *p = mmap(NULL, COW_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status = -1;
	pid_t pid;

	if (p == MAP_FAILED) {
		check(0, "cow", "mmap: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i * 2654435761u;
	pid = fork();
	if (pid == 0) {
		long cbad = 0;

		for (size_t i = 0; i < n; i += ps / sizeof(uint32_t))
			cbad += p[i] != (uint32_t)i * 2654435761u;
		for (size_t i = 0; i < n; i++)
			p[i] = ~(uint32_t)i;
		for (size_t i = 0; i < n; i++)
			cbad += p[i] != ~(uint32_t)i;
		_exit(cbad ? 1 : 0);
	}
	if (pid < 0) {
		check(0, "cow", "fork: %s", strerror(errno));
		munmap(p, COW_SIZE);
		return;
	}
	waitpid(pid, &status, 0);
	for (size_t i = 0; i < n; i++)
		bad += p[i] != (uint32_t)i * 2654435761u;
	munmap(p, COW_SIZE);
	check(!bad && WIFEXITED(status) && !WEXITSTATUS(status), "cow",
	      "8 MiB, child status %d, %ld bad words in the parent",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1, bad);
}

/* A file in tmpfs, mapped shared: writes through the map reach the file. */
#define SMP_SIZE	(1u << 20)

/* On CPU cpu alone: a copy-on-write round of SMP_SIZE, 0 if both copies
 * hold what each wrote.  All CPUs run it at once, so their faults meet in
 * the hypervisor's MMU. */
static int smp_child(int cpu)
{
	long ps = page_size();
	cpu_set_t set;
	unsigned char *p;
	pid_t pid;
	int status;
	size_t i;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) || sched_getcpu() != cpu)
		return 2;
	p = mmap(NULL, SMP_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 3;
	for (i = 0; i < SMP_SIZE; i += (size_t)ps)
		p[i] = (unsigned char)(cpu + 1);
	pid = fork();
	if (pid < 0)
		return 4;
	if (!pid) {
		for (i = 0; i < SMP_SIZE; i += (size_t)ps)
			p[i] = (unsigned char)(p[i] + 0x40);
		for (i = 0; i < SMP_SIZE; i += (size_t)ps)
			if (p[i] != (unsigned char)(cpu + 1 + 0x40))
				_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return 5;
	for (i = 0; i < SMP_SIZE; i += (size_t)ps)
		if (p[i] != (unsigned char)(cpu + 1))
			return 6;
	return 0;
}

/* umbra.cpus=N: that many CPUs online, and a workload pinned to each. */
static void check_smp(const char *want)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN), ok = 0;
	pid_t pids[64];
	int i, status;

	if (n < 1 || n > 64) {
		check(0, "smp", "sysconf: %ld CPUs online", n);
		return;
	}
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (!pids[i])
			_exit(smp_child(i));
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && !WEXITSTATUS(status))
			ok++;
	check(n == atol(want) && ok == n, "smp",
	      "%ld CPUs online (want %s), a copy-on-write workload pinned to each at once: %ld of %ld passed",
	      n, want, ok, n);
}

static void check_file_map(void)
{
	long ps = page_size();
	int fd = open("/tmp/map-test", O_RDWR | O_CREAT | O_TRUNC, 0600);
	char buf[8] = { 0 };
	char *p;
	int ok;

	if (fd < 0 || ftruncate(fd, ps)) {
		check(0, "file-mmap", "%s", strerror(errno));
		return;
	}
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		check(0, "file-mmap", "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	memcpy(p, "umbra", 6);
	ok = pread(fd, buf, 6, 0) == 6 && !strcmp(buf, "umbra");
	munmap(p, ps);
	close(fd);
	unlink("/tmp/map-test");
	check(ok, "file-mmap", "read back '%s'", buf);
}

static void finish(int status)
{
	/* The tty's buffer first: an emulator may end at the exit port
	 * before the kernel has sent the last lines through the UART. */
	fflush(stdout);
	fflush(stderr);
	tcdrain(STDOUT_FILENO);
	sync();
	/* The emulators' debug-exit device: QEMU ends with (V << 1) | 1;
	 * Bochs has none and ends on "Shutdown" written to port 0x8900. */
	if (!ioperm(EXIT_PORT, 4, 1))
		outb((uint8_t)status, EXIT_PORT);
	else
		printf("linux-test: ioperm: %s\n", strerror(errno));
	if (!ioperm(BOCHS_SHUTDOWN_PORT, 1, 1))
		for (const char *c = "Shutdown"; *c; c++)
			outb((uint8_t)*c, BOCHS_SHUTDOWN_PORT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* The value of "key=VALUE" on the kernel command line, or NULL. */
static const char *cmdline_value(const char *key)
{
	static char buf[4096];
	size_t n = strlen(key);
	ssize_t len;
	int fd = open("/proc/cmdline", O_RDONLY);
	char *tok, *save;

	if (fd < 0)
		return NULL;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return NULL;
	buf[len] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strncmp(tok, key, n) && tok[n] == '=')
			return tok + n + 1;
	return NULL;
}

static int cmdline_has(const char *word)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY);
	char *tok, *save;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return 1;
	return 0;
}

static void mount_basics(void)
{
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	/* No /dev/console in the archive (no device nodes: it is built
	 * without root), so the kernel gave init no console: open it now. */
	if (fcntl(1, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
}

/* The console's own tty (ttyS0, say): /dev/console cannot be a controlling
 * terminal, so the shell gets the real device for job control. */
static void open_ctty(void)
{
	char name[64] = "console", path[80];
	int fd = open("/sys/class/tty/console/active", O_RDONLY);
	ssize_t n;

	if (fd >= 0) {
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n > 0) {
			name[n] = '\0';
			/* the last console listed is the primary one */
			name[strcspn(name, "\n")] = '\0';
			if (strrchr(name, ' '))
				memmove(name, strrchr(name, ' ') + 1, strlen(strrchr(name, ' ')));
		} else {
			strcpy(name, "console");
		}
	}
	snprintf(path, sizeof(path), "/dev/%s", name);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	ioctl(0, TIOCSCTTY, 1);
}

static void run_tests(void)
{
	double t0 = uptime();

	printf("linux-test: init reached at %.3f s (kernel uptime)\n", t0);
	fflush(stdout);
	check_fork();
	check_exec();
	check_mmap();
	check_mprotect();
	check_cow();
	check_file_map();
	if (cmdline_value("umbra.cpus"))
		check_smp(cmdline_value("umbra.cpus"));
	printf("linux-test: checks took %.3f s\n", uptime() - t0);
	printf("%d passed, %d failed\n", passed, failed);
	fflush(stdout);
}

/* The checks run in a child: the kernel reports every fault of init
 * itself as if unhandled, and the mprotect check faults on purpose. */
static void test_mode(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		run_tests();
		_exit(failed ? 1 : 0);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	finish(WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : 1);
}

/* ---- benchmarks (tests/linux/bench.py; guest time under -icount) ---- */

#define BENCH_FORK_OPS		1000
#define BENCH_MMAP_OPS		50
#define BENCH_MPROTECT_OPS	5000
#define BENCH_MPROTECT_SIZE	(1u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* lmbench's lat_proc fork: fork, the child exits at once, the parent waits. */
static int bench_fork(void)
{
	for (int i = 0; i < BENCH_FORK_OPS; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid)
			return -1;
	}
	return BENCH_FORK_OPS;
}

/* mmap 4 MiB anonymous, write every page, munmap. */
static int bench_mmap(void)
{
	long ps = page_size();

	for (int i = 0; i < BENCH_MMAP_OPS; i++) {
		volatile uint8_t *p = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return -1;
		for (size_t off = 0; off < MAP_SIZE; off += ps)
			p[off] = 1;
		if (munmap((void *)p, MAP_SIZE))
			return -1;
	}
	return BENCH_MMAP_OPS;
}

/* 1 MiB, touched once; each op: read-only, read-write, write one page. */
static int bench_mprotect(void)
{
	long ps = page_size();
	uint8_t *p = mmap(NULL, BENCH_MPROTECT_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	memset(p, 1, BENCH_MPROTECT_SIZE);
	for (int i = 0; i < BENCH_MPROTECT_OPS; i++) {
		if (mprotect(p, BENCH_MPROTECT_SIZE, PROT_READ) ||
		    mprotect(p, BENCH_MPROTECT_SIZE, PROT_READ | PROT_WRITE))
			return -1;
		((volatile uint8_t *)p)[(i * ps) % BENCH_MPROTECT_SIZE] = 2;
	}
	munmap(p, BENCH_MPROTECT_SIZE);
	return BENCH_MPROTECT_OPS;
}

static int bench_none(void)
{
	return 1;
}

static void bench_mode(const char *name)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} benches[] = {
		{ "fork", bench_fork },
		{ "mmap", bench_mmap },
		{ "mprotect", bench_mprotect },
		{ "none", bench_none },
	};

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		uint64_t t0, t;
		int ops;

		if (strcmp(name, benches[i].name))
			continue;
		printf("bench: %s: start at %.3f s\n", name, uptime());
		t0 = now_ns();
		ops = benches[i].fn();
		t = now_ns() - t0;
		if (ops <= 0) {
			printf("bench: %s: failed: %s\n", name, strerror(errno));
			finish(1);
		}
		printf("bench: %s: %d ops, %llu ns total, %llu ns/op\n", name, ops,
		       (unsigned long long)t, (unsigned long long)(t / ops));
		finish(0);
	}
	printf("bench: unknown workload '%s' (fork, mmap, mprotect, none)\n", name);
	finish(2);
}

static void run_shell(void)
{
	char *sh[] = { "/bin/sh", "-l", NULL };
	char *env[] = { "HOME=/root", "PATH=/bin:/sbin", "TERM=vt100", "PS1=umbra-guest:\\w# ", NULL };

	printf("\numbra test guest: init reached at %.3f s; busybox shell on the console "
	       "(`poweroff -f` ends it)\n", uptime());
	fflush(stdout);
	for (;;) {
		pid_t pid = fork();

		if (pid == 0) {
			/* a session with the console as its controlling terminal */
			setsid();
			open_ctty();
			execve(sh[0], sh, env);
			_exit(127);
		}
		while (pid > 0 && waitpid(-1, NULL, 0) != pid)
			;
		sleep(1);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exec-child"))
		return EXEC_CHILD_CODE;
	if (getpid() != 1) {
		fprintf(stderr, "%s: run as the guest's init\n", argv[0]);
		return 2;
	}
	mount_basics();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (cmdline_has("umbra.test=1"))
		test_mode();
	if (cmdline_value("umbra.bench"))
		bench_mode(cmdline_value("umbra.bench"));
	run_shell();
	return 0;
}
