/*
 * Helpers with exactly known behaviour for tests/bpf/test_reliability.sh. Linked statically,
 * so that no dynamic loader adds syscalls of its own.
 *
 *   churn run N K FILE CGROUP_PROCS   N processes, one after another: each forks from this one,
 *                                     moves itself into the cgroup (writes its pid to
 *                                     CGROUP_PROCS), then execs "churn preads K FILE"; this
 *                                     process stays outside the cgroup. Exits 1 if a child failed.
 *   churn preads K FILE               openat FILE, K preads of 64 bytes, close, exit_group(0)
 *   churn opens N FILE                N times openat FILE + close (each open is a ring buffer event)
 *   churn reuse N K                   a traced process's new threads on the CPU a bystander's
 *                                     threads just left: forks the bystander B, pins both to the
 *                                     last CPU, prints its own pid and waits for a byte on stdin
 *                                     (iogap attaches to that pid alone: B is no target). Then N
 *                                     rounds: B's thread makes K getppid and exits, B waits for
 *                                     it with no syscall of its own (so that thread stays the last
 *                                     of B on the CPU), then this process waits 20 ms (its task
 *                                     struct freed, most often to be reused for the next thread
 *                                     made on the CPU) and makes a thread of exactly K getppid.
 *                                     Every getppid of this process's threads is a target's.
 *   churn jail ROOT DIR NAME TARGET -- CMD ARGS...
 *                                     in a new mount namespace: pivot_root into ROOT (ROOT/old
 *                                     must exist), mount proc on /proc, run CMD (it must stop
 *                                     itself, SIGSTOP, once it has mapped its libraries), then
 *                                     mount a tmpfs over DIR (a directory inside ROOT) holding a
 *                                     symlink NAME -> TARGET, print CMD's pid on stdout and wait
 *                                     for CMD: its mapped files are now reached from outside only
 *                                     through that symlink. Exits with CMD's status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "churn: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int run(int n, const char *k, const char *file, const char *procs)
{
	char pid[32];
	int status, fd, len;

	for (int i = 0; i < n; i++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			char *argv[] = { "churn", "preads", (char *)k, (char *)file, NULL };

			len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
			fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, pid, len) != len)
				die(procs);
			close(fd);
			execv("/proc/self/exe", argv);
			die("exec");
		}
		if (waitpid(c, &status, 0) != c || !WIFEXITED(status) || WEXITSTATUS(status))
			return 1;
	}
	return 0;
}

static int preads(long k, const char *file)
{
	char buf[64];
	int fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY);

	if (fd < 0)
		die(file);
	for (long i = 0; i < k; i++)
		if (syscall(SYS_pread64, fd, buf, sizeof(buf), 0) < 0)
			die("pread");
	syscall(SYS_close, fd);
	syscall(SYS_exit_group, 0);
	return 0;
}

static int opens(long n, const char *file)
{
	for (long i = 0; i < n; i++) {
		int fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY);

		if (fd < 0)
			die(file);
		syscall(SYS_close, fd);
	}
	return 0;
}

/* A thread of exactly k getppid, then exit: raw syscalls only (it shares the caller's TLS). */
struct spin_thread {
	long k;
	volatile pid_t tid;      /* cleared by the kernel at the thread's exit (CLONE_CHILD_CLEARTID) */
	char stack[64 * 1024] __attribute__((aligned(16)));
};

static int getppids(void *arg)
{
	struct spin_thread *t = arg;

	for (long i = 0; i < t->k; i++)
		syscall(SYS_getppid);
	syscall(SYS_exit, 0);
	return 0;
}

/* Starts the thread, then spins until the kernel clears its tid: no syscall after the clone. */
static void run_spin_thread(struct spin_thread *t)
{
	t->tid = 1;
	if (clone(getppids, t->stack + sizeof(t->stack), CLONE_VM | CLONE_FS | CLONE_FILES |
		  CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID, t, NULL, NULL,
		  &t->tid) < 0)
		die("clone");
	while (t->tid)
		__builtin_ia32_pause();
}

static void pin_last_cpu(void)
{
	cpu_set_t set;
	int last = -1;

	if (sched_getaffinity(0, sizeof(set), &set))
		die("sched_getaffinity");
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			last = c;
	CPU_ZERO(&set);
	CPU_SET(last, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static int reuse(int n, long k)
{
	struct shared { volatile int go, done; struct spin_thread bt; } *sh;
	struct spin_thread *mine = malloc(sizeof(*mine));
	struct timespec pause_ = { 0, 20000000 };
	int status;
	char b;
	pid_t by;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || !mine)
		die("memory");
	sh->bt.k = k;
	mine->k = k;
	pin_last_cpu();
	by = fork();
	if (by < 0)
		die("fork");
	if (by == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* it spins: it must not outlive a failed test */
		if (getppid() == 1)
			syscall(SYS_exit_group, 1);
		for (int i = 1; i <= n; i++) {
			while (sh->go != i)
				__builtin_ia32_pause();
			run_spin_thread(&sh->bt);
			sh->done = i;
		}
		syscall(SYS_exit_group, 0);
	}
	printf("%d\n", (int)getpid());
	fflush(stdout);
	if (read(0, &b, 1) != 1)
		die("read the start byte");
	for (int i = 1; i <= n; i++) {
		sh->go = i;
		while (sh->done != i)
			nanosleep(&pause_, NULL);     /* a target's syscalls: they leave B's entry be */
		nanosleep(&pause_, NULL);
		run_spin_thread(mine);
	}
	if (waitpid(by, &status, 0) != by || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	return 0;
}

static int jail(char **argv)
{
	const char *root = argv[0], *dir = argv[1], *name = argv[2], *target = argv[3];
	char link[4096];
	int status;
	pid_t c;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("unshare the mount namespace");
	if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) || chdir(root))
		die(root);
	if (syscall(SYS_pivot_root, ".", "old") || chdir("/") || umount2("/old", MNT_DETACH))
		die("pivot_root");
	if (mount("proc", "/proc", "proc", 0, NULL))
		die("mount /proc");
	c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		execv(argv[5], argv + 5);
		die(argv[5]);
	}
	if (waitpid(c, &status, WUNTRACED) != c || !WIFSTOPPED(status)) {
		fprintf(stderr, "churn: %s did not stop itself\n", argv[5]);
		return 1;
	}
	snprintf(link, sizeof(link), "%s/%s", dir, name);
	if (mount("tmpfs", dir, "tmpfs", 0, NULL) || symlink(target, link))
		die(dir);
	printf("%d\n", (int)c);
	fflush(stdout);
	if (waitpid(c, &status, 0) != c)
		die("wait");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	if (argc == 6 && !strcmp(argv[1], "run"))
		return run(atoi(argv[2]), argv[3], argv[4], argv[5]);
	if (argc == 4 && !strcmp(argv[1], "preads"))
		return preads(atol(argv[2]), argv[3]);
	if (argc == 4 && !strcmp(argv[1], "opens"))
		return opens(atol(argv[2]), argv[3]);
	if (argc == 4 && !strcmp(argv[1], "reuse"))
		return reuse(atoi(argv[2]), atol(argv[3]));
	if (argc >= 8 && !strcmp(argv[1], "jail") && !strcmp(argv[6], "--"))
		return jail(argv + 2);
	fprintf(stderr, "usage: churn run N K FILE CGROUP_PROCS | preads K FILE | opens N FILE | reuse N K |\n"
		"       jail ROOT DIR NAME TARGET -- CMD ARGS...\n");
	return 2;
}
