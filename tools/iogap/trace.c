/* trace and top: one collection loop, two ways of printing it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "collect/collector.h"
#include "commands.h"
#include "report/report.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int print_model(const struct iogap_opts *o, FILE *out, struct model *m, bool interval)
{
	struct report_opts ro = { .top_files = o->top_files, .interval = interval };

	if (o->json) {
		char *s = report_json(m);

		if (!s) {
			fprintf(stderr, "iogap: cannot format JSON: out of memory\n");
			return 1;
		}
		fprintf(out, "%s\n", s);
		free(s);
	} else {
		report_text(out, m, &ro);
	}
	if (fflush(out) || ferror(out)) {
		fprintf(stderr, "iogap: cannot write the summary%s%s: %s\n", o->output ? " to " : "",
			o->output ? o->output : "", strerror(errno));
		return 1;
	}
	return 0;
}

/* Ends a launched command that outlived the session: TERM, up to 2 s, then the cleanup kills. */
static void end_command(struct collector *c, int sig)
{
	if (!c->has_cmd || command_poll(&c->cmd))
		return;
	command_signal(&c->cmd, sig ? sig : SIGTERM);
	for (int i = 0; i < 200 && !command_poll(&c->cmd); i++)
		usleep(10000);
}

static int run(const struct iogap_opts *o, bool live_table)
{
	struct collector_opts co = {
		.pids = o->pids, .npids = o->npids, .cgroups = o->cgroups, .ncgroups = o->ncgroups,
		.containers = o->containers, .ncontainers = o->ncontainers,
		.all_containers = o->all_containers, .host = o->host,
		.cmd_argv = o->cmd_argv, .btf_path = o->btf_path, .verbose = o->verbose,
	};
	struct collector c;
	struct model prev = {0};
	uint64_t start, next_tick, deadline;
	FILE *out = stdout;
	int rc, prc;

	options_container_roots(o, &co.roots);
	if (o->output) {
		out = fopen(o->output, "we");
		if (!out) {
			fprintf(stderr, "iogap: cannot write %s: %s\n", o->output, strerror(errno));
			return 1;
		}
	}
	install_signals();
	rc = collector_open(&c, &co);
	if (rc) {
		if (out != stdout)
			fclose(out);
		return rc;
	}
	fprintf(stderr, "iogap: tracing %zu target%s (Ctrl-C to end)\n", c.model.ntargets,
		c.model.ntargets == 1 ? "" : "s");
	start = collector_now_ns();
	next_tick = start + o->interval_ns;
	deadline = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	if (live_table)
		model_copy(&prev, &c.model);

	while (!stop_signal) {
		uint64_t now = collector_now_ns(), wake = next_tick < deadline ? next_tick : deadline;
		int timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;

		if (timeout > 100)
			timeout = 100;       /* notice the command's exit promptly */
		collector_poll(&c, timeout);
		now = collector_now_ns();
		if (now >= next_tick) {
			next_tick += o->interval_ns;
			/* every interval: processes that loaded SQLite meanwhile, namespace counters */
			collector_snapshot(&c);
			if (live_table) {
				struct model delta;

				if (!model_delta(&delta, &c.model, &prev)) {
					if (out == stdout && isatty(STDOUT_FILENO) && !o->json)
						printf("\033[H\033[2J");
					print_model(o, out, &delta, true);
					model_free(&delta);
				}
				model_free(&prev);
				model_copy(&prev, &c.model);
			}
		}
		if (now >= deadline || !collector_alive(&c))
			break;
	}
	if (stop_signal == SIGTERM || stop_signal == SIGHUP)
		end_command(&c, stop_signal);
	else if (stop_signal == SIGINT)
		end_command(&c, 0);  /* the terminal sent Ctrl-C to the command too */
	else if (!command_poll(&c.cmd))
		end_command(&c, SIGTERM);
	collector_snapshot(&c);
	prc = 0;
	if (!live_table)
		prc = print_model(o, out, &c.model, false);
	else if (!o->json)
		fprintf(out, "\nstopped after %.1f s\n", c.model.duration_ns / 1e9);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "iogap: cannot write %s: %s\n", o->output, strerror(errno));
		prc = 1;
	}
	if (c.has_cmd)
		rc = command_exit_code(&c.cmd);
	if (!rc)
		rc = prc;
	model_free(&prev);
	model_free(&c.model);
	collector_close(&c);
	return rc;
}

int cmd_trace(const struct iogap_opts *o)
{
	return run(o, false);
}

int cmd_top(const struct iogap_opts *o)
{
	return run(o, true);
}
