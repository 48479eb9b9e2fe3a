/*
 * A workload with exactly known I/O, for the BPF tests. Linked statically so that no dynamic
 * loader adds opens and preads of its own. Every counted operation is a direct syscall.
 *
 *   workload [--stop] [--fork] DIR REPORT.json
 *
 * --stop: SIGSTOP itself first (a tracer attaches, then sends SIGCONT).
 * --fork: also fork a child that does CHILD_PREADS preads and exits.
 * REPORT.json: the counts it did and its own clock_gettime mean of fsync.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_OPEN 30
#define N_PREAD 1000
#define PREAD_SIZE 4096
#define N_PWRITE 200
#define PWRITE_SIZE 512
#define N_FSYNC 50
#define N_RENAME 10
#define N_PIPE 100
#define PIPE_SIZE 64
#define N_UNIX 50
#define UNIX_SIZE 100
#define CHILD_PREADS 10

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static char buf[PREAD_SIZE];
	char path[4096], path2[4096];
	int stop = 0, do_fork = 0, fd, p[2], sv[2], i;
	long long fsync_ns = 0, t0;
	pid_t child = -1;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "--stop"))
			stop = 1;
		else if (!strcmp(argv[1], "--fork"))
			do_fork = 1;
		argv++;
		argc--;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: workload [--stop] [--fork] DIR REPORT.json\n");
		return 2;
	}
	if (stop)
		raise(SIGSTOP);

	snprintf(path, sizeof(path), "%s/data.bin", argv[1]);
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open data");
	memset(buf, 'x', sizeof(buf));
	for (i = 0; i < N_PWRITE; i++)
		if (syscall(SYS_pwrite64, fd, buf, PWRITE_SIZE, (long)i * PWRITE_SIZE) != PWRITE_SIZE)
			die("pwrite");
	for (i = 0; i < N_FSYNC; i++) {
		t0 = now_ns();
		if (syscall(SYS_fsync, fd))
			die("fsync");
		fsync_ns += now_ns() - t0;
		/* dirty one block again so each fsync has work to do */
		if (syscall(SYS_pwrite64, fd, buf, PWRITE_SIZE, 0) != PWRITE_SIZE)
			die("pwrite");
	}
	for (i = 0; i < N_PREAD; i++)
		if (syscall(SYS_pread64, fd, buf, PREAD_SIZE, 0) != PREAD_SIZE)
			die("pread");
	syscall(SYS_close, fd);

	for (i = 0; i < N_OPEN - 1; i++) {
		fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
		if (fd < 0)
			die("open");
		syscall(SYS_close, fd);
	}
	for (i = 0; i < N_RENAME; i++) {
		snprintf(path2, sizeof(path2), "%s/data%d.bin", argv[1], i);
		if (syscall(SYS_rename, path, path2) || syscall(SYS_rename, path2, path))
			die("rename");
	}

	if (syscall(SYS_pipe2, p, 0))
		die("pipe");
	for (i = 0; i < N_PIPE; i++) {
		if (syscall(SYS_write, p[1], buf, PIPE_SIZE) != PIPE_SIZE)
			die("pipe write");
		if (syscall(SYS_read, p[0], buf, PIPE_SIZE) != PIPE_SIZE)
			die("pipe read");
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	for (i = 0; i < N_UNIX; i++) {
		if (syscall(SYS_write, sv[0], buf, UNIX_SIZE) != UNIX_SIZE)
			die("unix write");
		if (syscall(SYS_read, sv[1], buf, UNIX_SIZE) != UNIX_SIZE)
			die("unix read");
	}

	if (do_fork) {
		child = fork();
		if (child < 0)
			die("fork");
		if (child == 0) {
			fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
			for (i = 0; i < CHILD_PREADS; i++)
				syscall(SYS_pread64, fd, buf, 100, 0);
			_exit(0);
		}
		waitpid(child, NULL, 0);
	}

	/* the report itself: one openat, one write, one close, counted in what it states */
	{
		static char out[2048];
		int cp = do_fork ? CHILD_PREADS : 0, n;

		n = snprintf(out, sizeof(out),
			"{\"data\": \"%s\", \"fsync_mean_ns\": %lld, \"child_pid\": %d,\n"
			" \"count\": {\"openat/file\": %d, \"close/file\": %d, \"pwrite/file\": %d,"
			" \"fsync/file\": %d, \"pread/file\": %d, \"rename/file\": %d,"
			" \"write/pipe\": %d, \"read/pipe\": %d, \"write/unix\": %d, \"read/unix\": %d,"
			" \"write/file\": 1},\n"
			" \"bytes\": {\"pwrite/file\": %d, \"pread/file\": %d, \"write/pipe\": %d,"
			" \"read/pipe\": %d, \"write/unix\": %d, \"read/unix\": %d}}\n",
			path, fsync_ns / N_FSYNC, (int)child,
			N_OPEN + 1 + (do_fork ? 1 : 0), N_OPEN + 1, N_PWRITE + N_FSYNC, N_FSYNC,
			N_PREAD + cp, 2 * N_RENAME, N_PIPE, N_PIPE, N_UNIX, N_UNIX,
			(N_PWRITE + N_FSYNC) * PWRITE_SIZE, N_PREAD * PREAD_SIZE + cp * 100,
			N_PIPE * PIPE_SIZE, N_PIPE * PIPE_SIZE, N_UNIX * UNIX_SIZE, N_UNIX * UNIX_SIZE);
		fd = syscall(SYS_openat, AT_FDCWD, argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			die("report");
		/* the write below is counted before its size is known; keep it one call */
		if (syscall(SYS_write, fd, out, n) != n)
			die("report write");
		syscall(SYS_close, fd);
	}
	return 0;
}
