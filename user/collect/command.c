#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "collect/cgroup.h"
#include "collect/command.h"

static bool executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

int command_check(const char *file)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(file, '/')) {
		if (access(file, F_OK)) {
			fprintf(stderr, "iogap: cannot run %s: %s\n", file, strerror(errno));
			return 127;
		}
		if (!executable(file)) {
			fprintf(stderr, "iogap: cannot run %s: not an executable file\n", file);
			return 126;
		}
		return 0;
	}
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", file);
		if (executable(buf))
			return 0;
		path += n + (path[n] == ':');
	}
	fprintf(stderr, "iogap: cannot run %s: command not found in PATH\n", file);
	return 127;
}

/*
 * The guard: a process of its own session, forked before anything else is in the cgroup or
 * any BPF object is loaded, that waits on a pipe iogap holds the other end of. iogap writes
 * "done" into it once it has removed the cgroup itself (command_cleanup); EOF without it means
 * iogap ended without cleaning up (SIGKILL, a crash), and the guard ends what is left in the
 * cgroup (the command, now untraced, and any of its processes held stopped at an exec) and
 * removes it. It keeps only its pipe and stderr open (its pipe is above them: main opens
 * /dev/null on a standard descriptor iogap was started without), and ignores the signals a
 * terminal or a `kill` of iogap's name sends, which iogap handles itself.
 */
static void guard_run(int rfd, const char *cgroup, pid_t iogap)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP };
	pid_t pids[1024];
	ssize_t n;
	int left, err, fd;
	char b;

	setsid();
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
	}
	if (rfd > 3)
		close_range(3, rfd - 1, 0);
	close_range(rfd + 1, ~0U, 0);
	do
		n = read(rfd, &b, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 || access(cgroup, F_OK))
		_exit(0);
	left = cgroup_procs_tree(cgroup, pids, 1024);
	/* SIGKILL at once, for up to a minute: a fork in the command waits while the kernel
	 * removes iogap's uprobes (about 0.1 s each, 16 per SQLite process) */
	err = cgroup_end(cgroup, 0, 60000);
	if (err)
		fprintf(stderr, "iogap: pid %d ended without removing its cgroup %s, and it cannot be "
			"removed: %s\n", iogap, cgroup, strerror(-err));
	else
		fprintf(stderr, "iogap: pid %d ended without removing its cgroup %s: ended the %d "
			"process%s left in it and removed it\n", iogap, cgroup, left > 0 ? left : 0,
			left == 1 ? "" : "es");
	_exit(err ? 1 : 0);
}

int command_start(struct command *c, const char *mount, char **argv)
{
	int go[2], ex[2], gp[2], err;
	pid_t self = getpid();
	char b;

	memset(c, 0, sizeof(*c));
	c->pid = c->guard_pid = -1;
	c->go_fd = c->err_fd = c->guard_fd = -1;
	snprintf(c->cgroup, sizeof(c->cgroup), "%s/iogap-%d", mount, getpid());
	if (mkdir(c->cgroup, 0755) && errno != EEXIST)
		return -errno;
	if (pipe2(gp, O_CLOEXEC))
		goto fail_errno;
	c->guard_pid = fork();
	if (c->guard_pid < 0) {
		close(gp[0]);
		close(gp[1]);
		goto fail_errno;
	}
	if (c->guard_pid == 0) {
		close(gp[1]);
		guard_run(gp[0], c->cgroup, self);
	}
	close(gp[0]);
	c->guard_fd = gp[1];
	if (pipe2(go, O_CLOEXEC))
		goto fail_cleanup;
	if (pipe2(ex, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		goto fail_cleanup;
	}
	c->pid = fork();
	if (c->pid < 0) {
		close(go[0]); close(go[1]); close(ex[0]); close(ex[1]);
		goto fail_cleanup;
	}
	if (c->pid == 0) {
		close(c->guard_fd);
		close(go[1]);
		close(ex[0]);
		/* EOF without a byte means iogap died before tracing began: do not run untraced */
		if (read(go[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		err = errno;
		if (write(ex[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	c->go_fd = go[1];
	c->err_fd = ex[0];
	err = cgroup_move(c->cgroup, c->pid);
	if (err) {
		command_cleanup(c, false);
		return err;
	}
	return 0;
fail_cleanup:
	err = -errno;
	c->pid = -1;
	command_cleanup(c, false);
	return err;
fail_errno:
	err = -errno;
	rmdir(c->cgroup);
	c->cgroup[0] = 0;
	return err;
}

int command_release(struct command *c)
{
	int err = 0;
	ssize_t n;

	if (write(c->go_fd, "g", 1) != 1)
		err = -errno;
	close(c->go_fd);
	c->go_fd = -1;
	if (err)
		return err;
	n = read(c->err_fd, &err, sizeof(err));
	close(c->err_fd);
	c->err_fd = -1;
	return n == sizeof(err) ? -err : 0;
}

bool command_poll(struct command *c)
{
	if (c->pid <= 0 || c->exited)
		return c->exited;
	if (waitpid(c->pid, &c->status, WNOHANG) == c->pid)
		c->exited = true;
	return c->exited;
}

void command_signal(struct command *c, int sig)
{
	if (c->pid > 0 && !c->exited)
		kill(c->pid, sig);
}

void command_cleanup(struct command *c, bool wait)
{
	if (c->go_fd >= 0)
		close(c->go_fd);       /* the held child sees EOF and exits without exec */
	if (c->err_fd >= 0)
		close(c->err_fd);
	c->go_fd = c->err_fd = -1;
	if (c->pid > 0 && !c->exited) {
		if (!wait)
			kill(c->pid, SIGKILL);
		if (waitpid(c->pid, &c->status, 0) == c->pid)
			c->exited = true;
	}
	if (c->cgroup[0]) {
		int err = cgroup_destroy(c->cgroup);

		if (err)
			fprintf(stderr, "iogap: cannot remove cgroup %s: %s\n", c->cgroup, strerror(-err));
		/* the guard's work is done; else its pipe stays open, and once iogap has exited
		 * the guard tries again */
		else if (c->guard_fd >= 0 && write(c->guard_fd, "d", 1) == 1) {
			waitpid(c->guard_pid, NULL, 0);
			close(c->guard_fd);
			c->guard_fd = -1;
		}
		c->cgroup[0] = 0;
	}
}

int command_exit_code(const struct command *c)
{
	if (!c->exited)
		return 1;
	if (WIFEXITED(c->status))
		return WEXITSTATUS(c->status);
	if (WIFSIGNALED(c->status))
		return 128 + WTERMSIG(c->status);
	return 1;
}
