#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"
#include "collect/collector.h"

void options_usage(FILE *out)
{
	fprintf(out,
		"usage: iogap <command> [options] [-- CMD ARGS...]\n"
		"\n"
		"commands:\n"
		"  trace    trace targets until -d, Ctrl-C or CMD exits, then print the summary\n"
		"  top      a live table of the targets' I/O, refreshed every interval\n"
		"  record   trace targets into a recording (-o FILE), one chunk per interval\n"
		"  report   a recording as text, --json or --html OUT.html (iogap report FILE)\n"
		"  explain  why one side was faster, ranked causes with the numbers behind them:\n"
		"           iogap explain FILE A B (two targets of a recording), FILE1 FILE2\n"
		"           [--target NAME] (one target in two recordings), --live A B -d TIME\n"
		"           [-o FILE] (record two containers first; -o keeps the recording)\n"
		"  ps       the containers iogap sees (name, id, runtime, cgroup, PIDs, SQLite)\n"
		"\n"
		"targets (at least one; repeatable):\n"
		"  -p, --pid PID          a process: all its threads, and children it forks later\n"
		"      --cgroup PATH      a cgroup v2 directory (absolute, or below the cgroup2 mount)\n"
		"  -c, --container NAME   a container by name, id or unique id prefix (see iogap ps)\n"
		"      --all-containers   every container, and each one that starts later\n"
		"      --host             processes outside containers, as the target \"host\"\n"
		"  -- CMD ARGS            run CMD in a fresh cgroup; iogap exits with its status\n"
		"\n"
		"options:\n"
		"  -i, --interval TIME    refresh/snapshot interval (default 1s; 500ms, 2s, 1m)\n"
		"  -d, --duration TIME    stop after TIME\n"
		"  -j, --json             print JSON (the contract in DESIGN.md)\n"
		"  -o, --output FILE      write the summary to FILE instead of stdout (record: the\n"
		"                         recording, mode 0600)\n"
		"      --html OUT.html    report: one self-contained HTML page with the charts\n"
		"      --prometheus ADDR:PORT  top: serve the live figures at http://ADDR:PORT/metrics\n"
		"                         (port 0: the kernel picks a free one, iogap prints it)\n"
		"      --top-files N      files listed per target (default 10)\n"
		"      --modules LIST     the modules to load, comma-separated, of file, sqlite, net,\n"
		"                         budget (default all; file, the syscall module, is always on)\n"
		"      --btf FILE         kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
		"      --docker-root DIR  Docker's data root (default /var/lib/docker); also\n"
		"      --podman-root DIR, --crio-root DIR (/var/lib/containers/storage),\n"
		"      --containerd-root DIR (containerd's state, /run/containerd)\n"
		"  -v, --verbose          libbpf and iogap debug output on stderr\n"
		"  -h, --help             this help\n");
}

int options_parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v, mult = 1e9;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v <= 0)
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1e9;
	else if (!strcmp(end, "ms"))
		mult = 1e6;
	else if (!strcmp(end, "us"))
		mult = 1e3;
	else if (!strcmp(end, "m"))
		mult = 60e9;
	else if (!strcmp(end, "h"))
		mult = 3600e9;
	else
		return -EINVAL;
	if (v * mult > 1e18 || v * mult < 1)
		return -EINVAL;
	*ns = (uint64_t)(v * mult);
	return 0;
}

#define usage_error(...) do { snprintf(err, errlen, __VA_ARGS__); return 2; } while (0)

/* "file,sqlite" -> COLLECT_FILE | COLLECT_SQLITE; 2 on an unknown or missing name. */
static int parse_modules(const char *list, unsigned *mods, char *err, size_t errlen)
{
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "file", COLLECT_FILE }, { "sqlite", COLLECT_SQLITE },
		{ "net", COLLECT_NET }, { "budget", COLLECT_BUDGET },
	};
	const char *p = list;

	*mods = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (len == strlen(names[i].name) && !strncmp(p, names[i].name, len))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			usage_error("unknown module '%.*s' in --modules '%s' (file, sqlite, net, budget)",
				    (int)len, p, list);
		*mods |= names[i].bit;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (!(*mods & COLLECT_FILE))
		usage_error("--modules '%s' lacks file (the syscall module is always on)", list);
	return 0;
}

int options_parse(int argc, char **argv, struct iogap_opts *o, char *err, size_t errlen)
{
	enum { OPT_CGROUP = 256, OPT_BTF, OPT_TOP_FILES, OPT_ALL_CONTAINERS, OPT_HOST, OPT_DOCKER_ROOT,
	       OPT_PODMAN_ROOT, OPT_CONTAINERD_ROOT, OPT_CRIO_ROOT, OPT_HTML, OPT_PROMETHEUS,
	       OPT_TARGET, OPT_LIVE, OPT_MODULES };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "btf", required_argument, NULL, OPT_BTF },
		{ "top-files", required_argument, NULL, OPT_TOP_FILES },
		{ "output", required_argument, NULL, 'o' },
		{ "container", required_argument, NULL, 'c' },
		{ "all-containers", no_argument, NULL, OPT_ALL_CONTAINERS },
		{ "host", no_argument, NULL, OPT_HOST },
		{ "docker-root", required_argument, NULL, OPT_DOCKER_ROOT },
		{ "podman-root", required_argument, NULL, OPT_PODMAN_ROOT },
		{ "containerd-root", required_argument, NULL, OPT_CONTAINERD_ROOT },
		{ "crio-root", required_argument, NULL, OPT_CRIO_ROOT },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "live", no_argument, NULL, OPT_LIVE },
		{ "modules", required_argument, NULL, OPT_MODULES },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	long v;
	char *end;

	memset(o, 0, sizeof(*o));
	o->interval_ns = 1000000000ULL;
	o->top_files = 10;
	err[0] = 0;
	if (argc < 2)
		usage_error("no command given");
	o->subcmd = argv[1];
	if (!strcmp(o->subcmd, "-h") || !strcmp(o->subcmd, "--help") || !strcmp(o->subcmd, "help")) {
		o->help = true;
		return 0;
	}
	optind = 1;
	opterr = 0;
	/* "+": stop at the first non-option, so "-- CMD -x" keeps CMD's own options */
	for (;;) {
	while ((c = getopt_long(argc - 1, argv + 1, "+:p:c:i:d:o:jvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v <= 0 || v > INT_MAX)
				usage_error("invalid PID '%s'", optarg);
			if (o->npids + o->ncgroups >= OPTS_MAX_TARGETS)
				usage_error("too many targets (at most %d)", OPTS_MAX_TARGETS);
			o->pids[o->npids++] = (pid_t)v;
			break;
		case 'c':
			if (!optarg[0])
				usage_error("empty container name");
			if (o->npids + o->ncgroups + o->ncontainers >= OPTS_MAX_TARGETS)
				usage_error("too many targets (at most %d)", OPTS_MAX_TARGETS);
			o->containers[o->ncontainers++] = optarg;
			break;
		case OPT_ALL_CONTAINERS:
			o->all_containers = true;
			break;
		case OPT_HOST:
			o->host = true;
			break;
		case OPT_DOCKER_ROOT:
			o->docker_root = optarg;
			break;
		case OPT_PODMAN_ROOT:
			o->podman_root = optarg;
			break;
		case OPT_CONTAINERD_ROOT:
			o->containerd_root = optarg;
			break;
		case OPT_CRIO_ROOT:
			o->crio_root = optarg;
			break;
		case OPT_HTML:
			if (!optarg[0])
				usage_error("empty --html file name");
			o->html = optarg;
			break;
		case OPT_PROMETHEUS:
			o->prometheus = optarg;
			break;
		case OPT_TARGET:
			o->target = optarg;
			break;
		case OPT_LIVE:
			o->live = true;
			break;
		case OPT_MODULES:
			if (parse_modules(optarg, &o->modules, err, errlen))
				return 2;
			break;
		case OPT_CGROUP:
			if (!optarg[0])
				usage_error("empty cgroup path");
			if (o->npids + o->ncgroups >= OPTS_MAX_TARGETS)
				usage_error("too many targets (at most %d)", OPTS_MAX_TARGETS);
			o->cgroups[o->ncgroups++] = optarg;
			break;
		case 'i':
			if (options_parse_duration(optarg, &o->interval_ns))
				usage_error("invalid interval '%s' (e.g. 1s, 500ms)", optarg);
			if (o->interval_ns < 10000000ULL)
				usage_error("interval '%s' is below 10ms", optarg);
			break;
		case 'd':
			if (options_parse_duration(optarg, &o->duration_ns))
				usage_error("invalid duration '%s' (e.g. 10, 30s, 2m)", optarg);
			break;
		case 'o':
			if (!optarg[0])
				usage_error("empty output file name");
			o->output = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			o->help = true;
			return 0;
		case OPT_BTF:
			o->btf_path = optarg;
			break;
		case OPT_TOP_FILES:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 100000)
				usage_error("invalid --top-files '%s'", optarg);
			o->top_files = v;
			break;
		case ':':
			usage_error("option '%s' needs an argument", argv[optind]);
		default:
			usage_error("unknown option '%s'", argv[optind]);
		}
	}
	/* report FILE, explain FILE A B: positional arguments, options before or after them */
	if (options_traces(o->subcmd) || optind + 1 >= argc || !strcmp(argv[optind], "--"))
		break;
	if (o->nargs >= (int)(sizeof(o->args) / sizeof(o->args[0])))
		usage_error("too many arguments");
	o->args[o->nargs++] = argv[optind + 1];
	optind++;
	}
	optind += 1;    /* getopt ran on argv + 1 */
	if (optind < argc && !options_traces(o->subcmd) && !o->live)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--"))
			usage_error("unexpected argument '%s' (put a command after --)", argv[optind]);
		o->cmd_argv = &argv[optind];
	} else if (!strcmp(argv[optind - 1], "--") && optind - 1 > 1) {
		usage_error("no command after --");
	}
	if (options_traces(o->subcmd) && !o->npids && !o->ncgroups && !o->cmd_argv &&
	    !o->ncontainers && !o->all_containers && !o->host)
		usage_error("nothing to trace (give -p PID, --cgroup PATH, --container NAME, "
			    "--all-containers or -- CMD)");
	return 0;
}

bool options_traces(const char *subcmd)
{
	return !strcmp(subcmd, "trace") || !strcmp(subcmd, "top") || !strcmp(subcmd, "record");
}
