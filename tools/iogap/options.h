/* The options every subcommand shares, parsed in one place. */
#ifndef IOGAP_OPTIONS_H
#define IOGAP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define OPTS_MAX_TARGETS 64

struct iogap_opts {
	const char *subcmd;
	pid_t pids[OPTS_MAX_TARGETS];
	int npids;
	char *cgroups[OPTS_MAX_TARGETS];
	int ncgroups;
	char *containers[OPTS_MAX_TARGETS];
	int ncontainers;
	bool all_containers;      /* every container, and those that start later */
	bool host;                /* processes outside containers as the target "host" */
	const char *docker_root, *podman_root, *containerd_root, *crio_root;
	char *args[8];            /* positional arguments (report FILE, explain FILE A B) */
	int nargs;
	char **cmd_argv;          /* after "--", NULL-terminated; NULL if none */
	uint64_t interval_ns;
	uint64_t duration_ns;     /* 0: until Ctrl-C or the command exits */
	bool json;
	bool verbose;
	bool help;
	const char *btf_path;
	const char *output;       /* -o: write the summary here instead of stdout */
	int top_files;
	const char *html;         /* report --html OUT.html */
	const char *prometheus;   /* top --prometheus ADDR:PORT */
	const char *target;       /* explain FILE1 FILE2 --target NAME */
	bool live;                /* explain --live A B -d N */
	unsigned modules;         /* --modules: COLLECT_* bits (collect/collector.h); 0: all */
};

/* The subcommands that trace (and so need a target). */
bool options_traces(const char *subcmd);

/* "5" (seconds), "1.5s", "500ms", "2m", "100us" -> ns. -EINVAL if malformed or not positive. */
int options_parse_duration(const char *s, uint64_t *ns);
/* 0 on success; 2 on a usage error, with the reason in err. argv[1] is the subcommand. */
int options_parse(int argc, char **argv, struct iogap_opts *o, char *err, size_t errlen);
void options_usage(FILE *out);

#endif
