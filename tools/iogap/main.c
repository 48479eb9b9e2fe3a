/* iogap: the CLI. Subcommands and argument parsing only; the work is in user/. */
#include <stdio.h>
#include <string.h>
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

int main(int argc, char **argv)
{
	struct iogap_opts o;
	char err[256];
	int rc = options_parse(argc, argv, &o, err, sizeof(err));

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
