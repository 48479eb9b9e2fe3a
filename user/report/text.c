#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

void report_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

void report_fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b < 1024)
		snprintf(buf, len, "%" PRIu64 "B", b);
	else if (b < 1024 * 1024)
		snprintf(buf, len, "%.1fKiB", b / 1024.0);
	else if (b < 1024ULL * 1024 * 1024)
		snprintf(buf, len, "%.1fMiB", b / 1048576.0);
	else
		snprintf(buf, len, "%.2fGiB", b / 1073741824.0);
}

static void print_op(FILE *out, const struct op_stats *o, double secs)
{
	char avg[16], p50[16], p95[16], p99[16], max[16], bytes[16];
	uint64_t mean = o->count ? o->sum_ns / o->count : 0;

	report_fmt_ns(avg, sizeof(avg), mean);
	report_fmt_ns(p50, sizeof(p50), hist_percentile(&o->hist, 0.50, o->max_ns));
	report_fmt_ns(p95, sizeof(p95), hist_percentile(&o->hist, 0.95, o->max_ns));
	report_fmt_ns(p99, sizeof(p99), hist_percentile(&o->hist, 0.99, o->max_ns));
	report_fmt_ns(max, sizeof(max), o->max_ns);
	report_fmt_bytes(bytes, sizeof(bytes), o->bytes);
	fprintf(out, "  %-16s %-5s %9" PRIu64 " %9.1f %7" PRIu64 " %9s %8s %8s %8s %8s %8s\n",
		model_op_name(o->op), model_fd_kind_name(o->fd_kind), o->count,
		secs > 0 ? o->count / secs : 0.0, o->errors, bytes, avg, p50, p95, p99, max);
}

static void print_files(FILE *out, const char *title, const struct file_stat *files, size_t n,
			int top)
{
	fprintf(out, "  %s:\n  %9s %9s %9s  %s\n", title, "TIME", "CALLS", "BYTES", "PATH");
	for (size_t j = 0; j < n && j < (size_t)top; j++) {
		char tot[16], bytes[16];

		report_fmt_ns(tot, sizeof(tot), files[j].total_ns);
		report_fmt_bytes(bytes, sizeof(bytes), files[j].bytes);
		fprintf(out, "  %9s %9" PRIu64 " %9s  %s\n", tot, files[j].count, bytes,
			files[j].path ? files[j].path : "(opened before tracing)");
	}
}

static int cmp_calls(const void *a, const void *b)
{
	const struct file_stat *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

uint64_t report_stmt_cpu_ns(const struct stmt_stats *s)
{
	uint64_t sys = 0;

	for (int i = 0; i < SPLIT_MAX; i++)
		sys += s->split_ns[i];
	return s->step_ns > sys ? s->step_ns - sys : 0;
}

const struct hist *report_stmt_lat(const struct sql_stmt *s)
{
	return hist_count(&s->stmt_hist) ? &s->stmt_hist : &s->step_hist;
}

static void print_sqlite(FILE *out, struct target *t, double secs, int top)
{
	struct sqlite_info *q = &t->sq;
	struct file_stat *fs;
	struct sql_stmt *st;
	size_t n, nfs;

	if (!q->library && !q->nstmts)
		return;
	if (!q->nstmts && !q->opens && q->where && !strcmp(q->where, "candidate"))
		return;   /* attached in advance, never used */
	fprintf(out, "  SQLite %s (%s, %" PRIu64 " process%s attached): %" PRIu64 " opens (%.1f/s), %"
		PRIu64 " closes\n", q->library ? q->library : "?", q->where ? q->where : "?",
		q->processes, q->processes == 1 ? "" : "es", q->opens, secs > 0 ? q->opens / secs : 0.0,
		q->closes);
	if (q->prep_sleeps || q->prep_busy) {
		char slept[16];

		report_fmt_ns(slept, sizeof(slept), q->prep_sleep_ns);
		fprintf(out, "  SQLite's busy handler in prepares (outside any step; a new connection's "
			"schema read waits for the lock): %" PRIu64 " slept, %s in all; %" PRIu64
			" returned BUSY\n", q->prep_sleeps, slept, q->prep_busy);
	}
	st = target_stmts_by_template(t, &n);
	if (!st)
		return;
	if (n) {
		fprintf(out, "  %9s %8s %8s %8s %8s %8s  %4s %4s %4s %4s %4s %4s %4s  %s\n", "STEP TIME",
			"COUNT", "ROWS", "P50", "P95", "P99", "cpu%", "rd%", "wr%", "sync", "lock", "busy",
			"oth%", "STATEMENT (whole-statement latency; % of step time)");
	}
	for (size_t i = 0; i < n && i < (size_t)top; i++) {
		const struct sql_stmt *s = &st[i];
		const struct hist *h = report_stmt_lat(s);
		char tot[16], p50[16], p95[16], p99[16];
		double d = s->s.step_ns ? 100.0 / s->s.step_ns : 0;

		report_fmt_ns(tot, sizeof(tot), s->s.step_ns);
		report_fmt_ns(p50, sizeof(p50), hist_percentile(h, 0.50, 0));
		report_fmt_ns(p95, sizeof(p95), hist_percentile(h, 0.95, 0));
		report_fmt_ns(p99, sizeof(p99), hist_percentile(h, 0.99, 0));
		fprintf(out, "  %9s %8" PRIu64 " %8" PRIu64 " %8s %8s %8s  %4.0f %4.0f %4.0f %4.0f %4.0f %4.0f %4.0f  %.100s\n",
			tot, (uint64_t)s->s.count, (uint64_t)s->s.rows, p50, p95, p99, report_stmt_cpu_ns(&s->s) * d,
			s->s.split_ns[SPLIT_READ] * d, s->s.split_ns[SPLIT_WRITE] * d,
			s->s.split_ns[SPLIT_FSYNC] * d, s->s.split_ns[SPLIT_LOCK] * d,
			s->s.split_ns[SPLIT_BUSY_SLEEP] * d, s->s.split_ns[SPLIT_OTHER] * d, s->sql);
		if (s->s.rc[RC_BUSY] || s->s.rc[RC_LOCKED] || s->s.rc[RC_ERROR_OTHER] || s->s.rc[RC_CONSTRAINT])
			fprintf(out, "  %9s %8s result codes: %" PRIu64 " BUSY (%" PRIu64 " at once, without "
				"a busy-handler wait), %" PRIu64 " LOCKED, %" PRIu64 " CONSTRAINT, %" PRIu64
				" other errors\n", "", "", (uint64_t)s->s.rc[RC_BUSY], (uint64_t)s->s.busy_at_once,
				(uint64_t)s->s.rc[RC_LOCKED], (uint64_t)s->s.rc[RC_CONSTRAINT],
				(uint64_t)s->s.rc[RC_ERROR_OTHER]);
	}
	model_stmts_free(st, n);
	fs = target_sq_fsyncs_by_path(t, &nfs);
	for (size_t i = 0; fs && i < nfs && i < (size_t)top; i++) {
		char tot[16];

		report_fmt_ns(tot, sizeof(tot), fs[i].total_ns);
		fprintf(out, "  fsync inside SQLite: %8" PRIu64 " calls %9s  %s\n", fs[i].count, tot,
			fs[i].path ? fs[i].path : "(unknown file)");
	}
	free(fs);
}

static void print_net(FILE *out, const struct target *t, double secs)
{
	const struct net_info *n = &t->net;
	const struct tcp_stats *s = &n->tcp;
	char a50[16], a99[16], c50[16], c99[16];

	if (s->accepted || s->connected || s->refused || s->closed || s->resets_sent || s->resets_received) {
		report_fmt_ns(a50, sizeof(a50), hist_percentile(&n->accept_queue, 0.5, 0));
		report_fmt_ns(a99, sizeof(a99), hist_percentile(&n->accept_queue, 0.99, 0));
		report_fmt_ns(c50, sizeof(c50), hist_percentile(&n->connect_lat, 0.5, 0));
		report_fmt_ns(c99, sizeof(c99), hist_percentile(&n->connect_lat, 0.99, 0));
		fprintf(out, "  TCP: %" PRIu64 " accepted (%.1f/s, accept queue p50 %s p99 %s), %" PRIu64
			" connected (connect p50 %s p99 %s), %" PRIu64 " refused, %" PRIu64 " closed; resets %"
			PRIu64 " sent %" PRIu64 " received, %" PRIu64 " retransmits\n",
			(uint64_t)s->accepted, secs > 0 ? s->accepted / secs : 0.0, a50, a99,
			(uint64_t)s->connected, c50, c99, (uint64_t)s->refused, (uint64_t)s->closed,
			(uint64_t)s->resets_sent, (uint64_t)s->resets_received, (uint64_t)s->retransmits);
		if (s->closes_unseen)
			fprintf(out, "  TCP: %" PRIu64 " of the closes were not seen (the kernel ran no program"
				" for them; found when their socket's memory was used again): their bytes and"
				" durations are missing\n", (uint64_t)s->closes_unseen);
	}
	if (n->listen_overflows || n->listen_drops)
		fprintf(out, "  TCP listen queue (the target's network namespace): %" PRIu64 " overflows, %"
			PRIu64 " drops\n", n->listen_overflows, n->listen_drops);
	if (!n->nroutes)
		return;
	fprintf(out, "  HTTP: %" PRIu64 " responses sent (%.1f/s)\n  %-6s %8s %8s %6s %6s %6s %6s %8s %8s %8s  %s\n",
		n->requests, secs > 0 ? n->requests / secs : 0.0, "SIDE", "COUNT", "RATE/s", "2xx",
		"3xx", "4xx", "5xx", "P50", "P95", "P99", "REQUEST");
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct http_route *r = &n->routes[i];
		char p50[16], p95[16], p99[16];

		if (!r->count)
			continue;
		report_fmt_ns(p50, sizeof(p50), hist_percentile(&r->lat, 0.50, 0));
		report_fmt_ns(p95, sizeof(p95), hist_percentile(&r->lat, 0.95, 0));
		report_fmt_ns(p99, sizeof(p99), hist_percentile(&r->lat, 0.99, 0));
		fprintf(out, "  %-6s %8" PRIu64 " %8.1f %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
			" %8s %8s %8s  %s %s\n", r->side ? "client" : "server", r->count,
			secs > 0 ? r->count / secs : 0.0, r->status[0], r->status[1], r->status[2],
			r->status[3], p50, p95, p99, r->method, r->route);
	}
}

bool report_budget_idle(unsigned cls)
{
	return cls == BUD_POLL_IDLE || cls == BUD_IDLE_WAIT;
}

double report_cpu_pct(const struct target *t, const uint64_t ns[BUD_MAX], double secs)
{
	return secs > 0 && t->bud.ncpus ? 100.0 * ns[BUD_CPU] / 1e9 / secs / t->bud.ncpus : 0;
}

/* Where the requests' latency went: the serving threads' time weighted by their open requests,
 * per request; its sum is the mean server-side latency when nothing escaped the accounting. */
static void print_request_budget(FILE *out, const struct target *t)
{
	uint64_t ns[BUD_MAX], sum = 0, lat_sum, n = target_served(t, &lat_sum);
	char a[16], b[16];
	bool first = true;

	target_request_budget(t, ns);
	for (int c = 0; c < BUD_MAX; c++)
		sum += ns[c];
	if (!n || !sum)
		return;
	report_fmt_ns(a, sizeof(a), lat_sum / n);
	fprintf(out, "  a request's latency (mean %s over %" PRIu64 " served), by where its thread's time went:\n   ", a, n);
	for (int c = 0; c < BUD_MAX; c++) {
		if (ns[c] / n < 1000 && ns[c] * 100 < sum)
			continue;      /* under 1 us and 1% */
		report_fmt_ns(b, sizeof(b), ns[c] / n);
		fprintf(out, "%s %s %s", first ? "" : ",", model_budget_name(c), b);
		first = false;
	}
	report_fmt_ns(b, sizeof(b), sum / n);
	fprintf(out, "; sum %s (%.1f%% of the mean latency)\n", b, 100.0 * sum / lat_sum);
}

static void print_budget(FILE *out, const struct target *t, double secs)
{
	uint64_t ns[BUD_MAX], total = 0, work = 0;
	double per = t->net.requests ? 1.0 / t->net.requests : 0;

	target_budget(t, ns);
	for (int c = 0; c < BUD_MAX; c++) {
		total += ns[c];
		if (!report_budget_idle(c))
			work += ns[c];
	}
	if (!total)
		return;
	fprintf(out, "  time budget (%zu threads, %.2f s of thread time; CPU %.0f%% of %d CPU%s, ",
		t->bud.nthreads, total / 1e9, report_cpu_pct(t, ns, secs),
		t->bud.ncpus, t->bud.ncpus == 1 ? "" : "s");
	if (t->bud.mem_bytes)
		fprintf(out, "memory %.1f MiB, peak %.1f MiB):\n", t->bud.mem_bytes / 1048576.0,
			t->bud.mem_peak_bytes / 1048576.0);
	else
		fprintf(out, "memory not sampled: its processes ended within the first interval):\n");
	fprintf(out, "  %-12s %9s %6s%s\n", "CLASS", "TIME", "WORK%", per ? "  PER REQUEST" : "");
	for (int c = 0; c < BUD_MAX; c++) {
		char tm[16], pr[16];

		if (!ns[c])
			continue;
		report_fmt_ns(tm, sizeof(tm), ns[c]);
		report_fmt_ns(pr, sizeof(pr), (uint64_t)(ns[c] * per));
		if (report_budget_idle(c) && per)
			fprintf(out, "  %-12s %9s %6s  %11s  (idle: waiting for work)\n", model_budget_name(c),
				tm, "-", pr);
		else if (report_budget_idle(c))
			fprintf(out, "  %-12s %9s %6s  (idle: waiting for work)\n", model_budget_name(c), tm, "-");
		else if (per)
			fprintf(out, "  %-12s %9s %5.1f%%  %11s\n", model_budget_name(c), tm,
				work ? 100.0 * ns[c] / work : 0, pr);
		else
			fprintf(out, "  %-12s %9s %5.1f%%\n", model_budget_name(c), tm,
				work ? 100.0 * ns[c] / work : 0);
	}
	print_request_budget(out, t);
}

/* "django (container cgroup /seedbench/django, runtime cgroup): 4 processes, ..." and the pids,
 * with their numbers inside the container's PID namespace. */
static void print_target_head(FILE *out, const struct target *t, double secs)
{
	const struct container_meta *c = &t->ctr;

	fprintf(out, "\n%s (%s", t->name, model_target_kind_name(t->kind));
	if (t->cgroup[0])
		fprintf(out, " %s", t->cgroup);
	if (c->runtime) {
		fprintf(out, ", runtime %s", c->runtime);
		if (c->id && strcmp(c->id, t->name))
			fprintf(out, " %.12s", c->id);
		if (c->image)
			fprintf(out, ", image %s", c->image);
		if (c->pod)
			fprintf(out, ", pod %s/%s", c->pod_namespace ? c->pod_namespace : "", c->pod);
	}
	fprintf(out, "): %zu process%s, %" PRIu64 " syscalls (%.0f/s)",
		t->npids, t->npids == 1 ? "" : "es", t->syscalls, secs > 0 ? t->syscalls / secs : 0.0);
	if (t->exits)
		fprintf(out, ", %" PRIu64 " exited", t->exits);
	if (t->added_ns)
		fprintf(out, ", started at +%.1fs", t->added_ns / 1e9);
	if (t->stopped_ns)
		fprintf(out, ", stopped at +%.1fs", t->stopped_ns / 1e9);
	fprintf(out, "\n");
	if (c->runtime && t->npids) {
		size_t shown = t->npids < 16 ? t->npids : 16;

		fprintf(out, "  pids:");
		for (size_t i = 0; i < shown; i++) {
			pid_t ns = t->nspids ? t->nspids[i] : 0;

			fprintf(out, " %d", t->pids[i]);
			if (ns)
				fprintf(out, " (%d)", ns);
		}
		fprintf(out, "%s  (in parentheses: the pid inside the container)\n",
			t->npids > shown ? " ..." : "");
	}
}

void report_text(FILE *out, struct model *m, const struct report_opts *o)
{
	double secs = m->duration_ns / 1e9;
	int top = o && o->top_files ? o->top_files : 10;

	fprintf(out, "iogap %s: %.1f s%s, %zu target%s", IOGAP_VERSION, secs,
		o && o->interval ? " interval" : "", m->ntargets, m->ntargets == 1 ? "" : "s");
	if (m->counters[CNT_RB_DROPS])
		fprintf(out, ", %" PRIu64 " EVENTS DROPPED (ring buffer full)", m->counters[CNT_RB_DROPS]);
	if (model_map_losses(m))
		fprintf(out, ", %" PRIu64 " updates lost (map full)", model_map_losses(m));
	if (m->counters[CNT_PROG_MISSES])
		fprintf(out, ", %" PRIu64 " events missed (the kernel skipped a program already running "
			"on that CPU)", m->counters[CNT_PROG_MISSES]);
	fprintf(out, "\n");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];
		uint64_t io = 0;
		struct file_stat *files;
		size_t nfiles;

		target_sort_ops(t);
		print_target_head(out, t, secs);
		for (size_t j = 0; j < t->nops; j++)
			io += t->ops[j].count;
		if (!io) {
			fprintf(out, "  no I/O syscalls\n");
			print_sqlite(out, t, secs, top);
			print_net(out, t, secs);
			print_budget(out, t, secs);
			continue;
		}
		fprintf(out, "  %-16s %-5s %9s %9s %7s %9s %8s %8s %8s %8s %8s\n", "OP", "FD", "COUNT",
			"RATE/s", "ERRORS", "BYTES", "AVG", "P50", "P95", "P99", "MAX");
		for (size_t j = 0; j < t->nops; j++)
			if (t->ops[j].count)
				print_op(out, &t->ops[j], secs);
		files = target_files_by_path(t, &nfiles);
		if (files && nfiles) {
			print_files(out, "top files by time", files, nfiles, top);
			/* the busiest by calls, when they are not already all listed above */
			if (nfiles > (size_t)top) {
				qsort(files, nfiles, sizeof(*files), cmp_calls);
				print_files(out, "top files by calls", files, nfiles, top);
			}
		}
		free(files);
		print_sqlite(out, t, secs, top);
		print_net(out, t, secs);
		print_budget(out, t, secs);
	}
}
