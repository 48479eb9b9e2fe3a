/* iogap: the CLI. Subcommands and argument parsing only; the work is in user/. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"

static const struct {
	const char *name;
	int (*run)(const struct iogap_opts *o);
} commands[] = {
	{ "trace", cmd_trace },
	{ "top", cmd_top },
	{ "ps", cmd_ps },
	{ "record", cmd_record },
	{ "report", cmd_report },
	{ "explain", cmd_explain },
};

/*
 * Started without stdin, stdout or stderr (`<&-`), iogap's first descriptors would land there:
 * its messages would go into a BPF map or a pipe (the guard's, which would take them for
 * iogap's "done"), a launched command would inherit them. /dev/null takes each closed one.
 */
static void std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF && open("/dev/null", O_RDWR) < 0)
			break;
}

int main(int argc, char **argv)
{
	struct iogap_opts o;
	char err[256];
	int rc;

	std_fds_open();
	rc = options_parse(argc, argv, &o, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "iogap: %s\n", err);
		fprintf(stderr, "try 'iogap --help'\n");
		return rc;
	}
	if (o.help) {
		options_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(o.subcmd, commands[i].name))
			return commands[i].run(&o);
	fprintf(stderr, "iogap: unknown command '%s'\ntry 'iogap --help'\n", o.subcmd);
	return 2;
}
