/* `-- CMD ARGS`: launch a command in a fresh cgroup, held before exec until tracing runs. */
#ifndef IOGAP_COLLECT_COMMAND_H
#define IOGAP_COLLECT_COMMAND_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

struct command {
	pid_t pid;
	int go_fd;                /* write end: closing it lets the child exec */
	int err_fd;               /* read end: exec's errno, or EOF when exec succeeded */
	char cgroup[PATH_MAX];    /* absolute path of the cgroup created for it */
	pid_t guard_pid;          /* ends what is left in the cgroup if iogap dies (command.c) */
	int guard_fd;             /* write end: "d" once the cgroup is removed, EOF if iogap died */
	bool exited;
	int status;               /* wait status */
};

/* 0, or 127 (not found) / 126 (not executable) with a message on stderr. */
int command_check(const char *file);
/* Creates the cgroup below mount and its guard, forks the child into it; it waits before exec. */
int command_start(struct command *c, const char *mount, char **argv);
/* Lets the child exec; -errno of exec on failure (the child has exited with 127). */
int command_release(struct command *c);
/* Non-blocking: true once the child has exited (status in c->status). */
bool command_poll(struct command *c);
void command_signal(struct command *c, int sig);
/* Waits for the child if still running (when wait is set), ends what is left in its cgroup,
 * removes the cgroup. */
void command_cleanup(struct command *c, bool wait);
/* The exit code iogap should return for the command's wait status. */
int command_exit_code(const struct command *c);

#endif
