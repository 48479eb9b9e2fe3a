/* trace, top and record: one collection loop; a summary, a table per interval, a recording. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "collect/collector.h"
#include "commands.h"
#include "model/recording.h"
#include "model/serialize.h"
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

FILE *cli_out_open(struct cli_out *w)
{
	w->buf = NULL;
	w->len = 0;
	w->mem = open_memstream(&w->buf, &w->len);
	return w->mem;
}

int cli_out_write(struct cli_out *w, FILE *out)
{
	int err = 0;

	errno = 0;
	if (fclose(w->mem))
		err = ENOMEM;
	else if (out && (fwrite(w->buf, 1, w->len, out) != w->len || fflush(out)))
		err = errno ? errno : EIO;
	free(w->buf);
	w->buf = NULL;
	w->mem = NULL;
	return err;
}

int cli_print_model(const struct iogap_opts *o, FILE *out, struct model *m, bool interval)
{
	struct report_opts ro = { .top_files = o->top_files, .interval = interval };
	struct cli_out w;
	FILE *mem = cli_out_open(&w);
	int err;

	if (!mem) {
		fprintf(stderr, "iogap: cannot format the summary: out of memory\n");
		return 1;
	}
	if (o->json) {
		char *s = report_json(m);

		if (!s) {
			fprintf(stderr, "iogap: cannot format JSON: out of memory\n");
			cli_out_write(&w, NULL);
			return 1;
		}
		fprintf(mem, "%s\n", s);
		free(s);
	} else {
		report_text(mem, m, &ro);
	}
	err = cli_out_write(&w, out);
	if (err) {
		fprintf(stderr, "iogap: cannot write the summary%s%s: %s\n", o->output ? " to " : "",
			o->output ? o->output : "", strerror(err));
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

enum run_mode { RUN_TRACE, RUN_TOP, RUN_RECORD };

#define REC_INTERVAL_FILES 32     /* files per target in each interval of a recording */

/* How iogap was run, for the recording's header. */
static cJSON *record_options(const struct iogap_opts *o)
{
	cJSON *j = cJSON_CreateObject(), *a;

	cJSON_AddItemToObject(j, "interval_ns", serialize_u64(o->interval_ns));
	cJSON_AddItemToObject(j, "duration_ns", serialize_u64(o->duration_ns));
	a = cJSON_AddArrayToObject(j, "pids");
	for (int i = 0; i < o->npids; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(o->pids[i]));
	a = cJSON_AddArrayToObject(j, "cgroups");
	for (int i = 0; i < o->ncgroups; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(o->cgroups[i]));
	a = cJSON_AddArrayToObject(j, "containers");
	for (int i = 0; i < o->ncontainers; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(o->containers[i]));
	cJSON_AddBoolToObject(j, "all_containers", o->all_containers);
	cJSON_AddBoolToObject(j, "host", o->host);
	a = cJSON_AddArrayToObject(j, "command");
	for (int i = 0; o->cmd_argv && o->cmd_argv[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(o->cmd_argv[i]));
	return j;
}

/* Rich events of an interval: targets that appeared or stopped since the previous one. */
static cJSON *interval_events(const struct model *cur, const struct model *prev)
{
	cJSON *ev = cJSON_CreateArray();

	for (size_t i = 0; i < cur->ntargets; i++) {
		const struct target *t = &cur->targets[i];
		const struct target *p = i < prev->ntargets ? &prev->targets[i] : NULL;
		const char *what = NULL;
		uint64_t at = 0;

		if (!p || strcmp(p->name, t->name) || (p->stopped_ns && !t->stopped_ns)) {
			what = "target_started";
			at = t->added_ns;
		} else if (t->stopped_ns && !p->stopped_ns) {
			what = "target_stopped";
			at = t->stopped_ns;
		}
		if (what) {
			cJSON *e = cJSON_CreateObject();

			cJSON_AddStringToObject(e, "type", what);
			cJSON_AddStringToObject(e, "target", t->name);
			cJSON_AddStringToObject(e, "cgroup", t->cgroup);
			cJSON_AddItemToObject(e, "t_ns", serialize_u64(at));
			cJSON_AddItemToArray(ev, e);
		}
	}
	return ev;
}

/* The figures since prev, into delta (freed by the caller on success); prev becomes cur. */
static int interval_take(struct model *delta, const struct model *cur, struct model *prev)
{
	int err = model_delta(delta, cur, prev);

	model_free(prev);
	if (model_copy(prev, cur) && !err)
		err = -ENOMEM;
	if (err)
		model_free(delta);    /* what model_delta made before it failed, or all of it */
	return err;
}

/* One interval into the recording: the figures since prev; prev becomes the current model. */
static int record_interval(struct rec_writer *w, const char *path, struct model *cur,
			   struct model *prev)
{
	struct model delta;
	cJSON *ev = interval_events(cur, prev);
	int err = interval_take(&delta, cur, prev);

	if (err) {
		fprintf(stderr, "iogap: cannot record an interval: %s\n", strerror(-err));
		cJSON_Delete(ev);
		return err;
	}
	model_prune_idle(&delta);
	model_keep_top_files(&delta, REC_INTERVAL_FILES);   /* the trailer has them all */
	err = recording_append(w, cur->duration_ns, &delta, ev);
	if (err)
		fprintf(stderr, "iogap: cannot write %s: %s (the recording keeps what was written "
			"before)\n", path, strerror(-err));
	cJSON_Delete(ev);
	model_free(&delta);
	return err;
}

static int run(const struct iogap_opts *o, enum run_mode mode)
{
	bool live_table = mode == RUN_TOP;
	struct rec_writer w = { .fd = -1 };
	const char *rec_path = mode == RUN_RECORD ? o->output : NULL;
	int prom_fd = -1;
	bool rec_failed = false;
	struct collector_opts co = {
		.pids = o->pids, .npids = o->npids, .cgroups = o->cgroups, .ncgroups = o->ncgroups,
		.containers = o->containers, .ncontainers = o->ncontainers,
		.all_containers = o->all_containers, .host = o->host,
		.cmd_argv = o->cmd_argv, .btf_path = o->btf_path, .verbose = o->verbose,
		.modules = o->modules,
	};
	struct collector c;
	struct model prev = {0};
	uint64_t start, next_tick, deadline;
	FILE *out = stdout;
	int rc, prc;

	options_container_roots(o, &co.roots);
	if (mode == RUN_RECORD && !rec_path) {
		fprintf(stderr, "iogap: record needs -o FILE (the recording to write)\n");
		return 2;
	}
	if (o->prometheus && (prom_fd = serve_open(o->prometheus)) < 0)
		return prom_fd == -2 ? 2 : 1;
	if (o->output && !rec_path) {
		out = fopen(o->output, "we");
		if (!out) {
			fprintf(stderr, "iogap: cannot write %s: %s\n", o->output, strerror(errno));
			return 1;
		}
	}
	install_signals();
	rc = collector_open(&c, &co);
	if (!rc && rec_path) {
		cJSON *opts = record_options(o);
		struct rec_header_info hi = { .interval_ns = o->interval_ns, .options = opts };
		int err = recording_create(&w, rec_path, &hi, &c.model);

		cJSON_Delete(opts);
		if (err) {
			fprintf(stderr, "iogap: cannot write %s: %s\n", rec_path, strerror(-err));
			collector_close(&c);
			model_free(&c.model);
			rc = 1;
		}
	}
	if (rc) {
		if (out != stdout)
			fclose(out);
		if (prom_fd >= 0)
			close(prom_fd);
		return rc;
	}
	fprintf(stderr, "iogap: tracing %zu target%s (Ctrl-C to end)\n", c.model.ntargets,
		c.model.ntargets == 1 ? "" : "s");
	start = collector_now_ns();
	next_tick = start + o->interval_ns;
	deadline = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	if (live_table || rec_path)
		model_copy(&prev, &c.model);

	while (!stop_signal) {
		uint64_t now = collector_now_ns(), wake = next_tick < deadline ? next_tick : deadline;
		int timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;

		if (timeout > 100)
			timeout = 100;       /* notice the command's exit promptly */
		collector_poll(&c, timeout);
		if (prom_fd >= 0) {
			struct pollfd p = { .fd = prom_fd, .events = POLLIN };

			if (poll(&p, 1, 0) == 1) {
				collector_snapshot(&c);
				serve_poll(prom_fd, &c.model);
			}
		}
		now = collector_now_ns();
		if (now >= next_tick) {
			next_tick += o->interval_ns;
			/* every interval: processes that loaded SQLite meanwhile, namespace counters */
			collector_snapshot(&c);
			if (rec_path && w.fd >= 0 && record_interval(&w, rec_path, &c.model, &prev)) {
				rec_failed = true;
				break;
			}
			if (live_table) {
				struct model delta;

				if (!interval_take(&delta, &c.model, &prev)) {
					if (out == stdout && isatty(STDOUT_FILENO) && !o->json)
						printf("\033[H\033[2J");
					cli_print_model(o, out, &delta, true);
					model_free(&delta);
				}
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
	collector_final_snapshot(&c);
	prc = 0;
	if (rec_failed) {
		close(w.fd);
		prc = 1;
	} else if (rec_path && w.fd >= 0) {
		int err = 0;

		/* the last, partial interval, then the trailer with the totals */
		if (c.model.duration_ns > prev.duration_ns)
			err = record_interval(&w, rec_path, &c.model, &prev);
		if (!err && (err = recording_finish(&w, &c.model)))
			fprintf(stderr, "iogap: cannot write %s: %s\n", rec_path, strerror(-err));
		if (err)
			prc = 1;
		else
			fprintf(stderr, "iogap: recorded %" PRIu64 " intervals of %zu target%s, %" PRIu64
				" bytes, to %s\n", w.intervals, c.model.ntargets,
				c.model.ntargets == 1 ? "" : "s", w.size, rec_path);
	}
	if (prom_fd >= 0)
		close(prom_fd);
	if (mode == RUN_RECORD) {
		if (o->json)
			prc |= cli_print_model(o, stdout, &c.model, false);
	} else if (!live_table)
		prc = cli_print_model(o, out, &c.model, false);
	else if (!o->json)
		fprintf(out, "\nstopped after %.1f s\n", c.model.duration_ns / 1e9);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "iogap: cannot write %s: %s\n", o->output, strerror(errno));
		prc = 1;
	}
	model_free(&prev);
	model_free(&c.model);
	collector_close(&c);
	/* after the close, which ends a command that outlived end_command's wait (a fork blocked
	 * by the kernel's uprobe lock can take longer): its status, not "not exited" */
	if (c.has_cmd)
		rc = command_exit_code(&c.cmd);
	if (!rc)
		rc = prc;
	return rc;
}

int cmd_trace(const struct iogap_opts *o)
{
	return run(o, RUN_TRACE);
}

int cmd_top(const struct iogap_opts *o)
{
	return run(o, RUN_TOP);
}

int cmd_record(const struct iogap_opts *o)
{
	return run(o, RUN_RECORD);
}
