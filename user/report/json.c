#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "report/report.h"

static cJSON *lat_json(const struct hist *h, uint64_t count, uint64_t sum, uint64_t max)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "mean", count ? (double)(sum / count) : 0);
	cJSON_AddNumberToObject(o, "p50", (double)hist_percentile(h, 0.50, max));
	cJSON_AddNumberToObject(o, "p95", (double)hist_percentile(h, 0.95, max));
	cJSON_AddNumberToObject(o, "p99", (double)hist_percentile(h, 0.99, max));
	cJSON_AddNumberToObject(o, "max", (double)max);
	return o;
}

static cJSON *sqlite_json(const struct target *t)
{
	const struct sqlite_info *q = &t->sq;
	cJSON *o, *arr;
	struct file_stat *fs;
	struct sql_stmt *st;
	size_t n, nfs;

	if (!q->library && !q->nstmts)
		return cJSON_CreateNull();
	if (!q->nstmts && !q->opens && q->where && !strcmp(q->where, "candidate"))
		return cJSON_CreateNull();   /* attached in advance, never used */
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "library", q->library ? q->library : "");
	cJSON_AddStringToObject(o, "where", q->where ? q->where : "");
	cJSON_AddNumberToObject(o, "processes", (double)q->processes);
	cJSON_AddNumberToObject(o, "opens", (double)q->opens);
	cJSON_AddNumberToObject(o, "closes", (double)q->closes);
	cJSON_AddNumberToObject(o, "open_ns", (double)q->open_ns);
	cJSON_AddNumberToObject(o, "prep_sleeps", (double)q->prep_sleeps);
	cJSON_AddNumberToObject(o, "prep_sleep_ns", (double)q->prep_sleep_ns);
	cJSON_AddNumberToObject(o, "prep_busy", (double)q->prep_busy);
	arr = cJSON_AddArrayToObject(o, "fsync_by_file");
	fs = target_sq_fsyncs_by_path(t, &nfs);
	for (size_t i = 0; fs && i < nfs; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "path", fs[i].path ? fs[i].path : "");
		cJSON_AddNumberToObject(e, "count", (double)fs[i].count);
		cJSON_AddNumberToObject(e, "total_ns", (double)fs[i].total_ns);
		cJSON_AddItemToArray(arr, e);
	}
	free(fs);
	arr = cJSON_AddArrayToObject(o, "statements");
	st = target_stmts_by_template(t, &n);
	for (size_t i = 0; st && i < n; i++) {
		const struct sql_stmt *s = &st[i];
		cJSON *e = cJSON_CreateObject(), *rc, *split;
		uint64_t sys = 0;

		cJSON_AddStringToObject(e, "sql", s->sql);
		cJSON_AddNumberToObject(e, "count", (double)s->s.count);
		cJSON_AddNumberToObject(e, "steps", (double)s->s.steps);
		cJSON_AddNumberToObject(e, "rows", (double)s->s.rows);
		rc = cJSON_AddObjectToObject(e, "rc");
		for (int r = 0; r < RC_MAX; r++)
			cJSON_AddNumberToObject(rc, model_rc_name(r), (double)s->s.rc[r]);
		cJSON_AddNumberToObject(e, "busy_at_once", (double)s->s.busy_at_once);
		cJSON_AddNumberToObject(e, "step_ns", (double)s->s.step_ns);
		cJSON_AddNumberToObject(e, "ended", (double)s->s.stmt_ended);
		cJSON_AddItemToObject(e, "lat", lat_json(&s->stmt_hist, s->s.stmt_ended, s->s.stmt_ns,
							 hist_max_estimate(&s->stmt_hist)));
		cJSON_AddItemToObject(e, "step_lat", lat_json(&s->step_hist, s->s.steps, s->s.step_ns,
							      hist_max_estimate(&s->step_hist)));
		split = cJSON_AddObjectToObject(e, "split_ns");
		for (int r = 0; r < SPLIT_MAX; r++)
			sys += s->s.split_ns[r];
		cJSON_AddNumberToObject(split, "cpu", (double)(s->s.step_ns > sys ? s->s.step_ns - sys : 0));
		for (int r = 0; r < SPLIT_MAX; r++)
			cJSON_AddNumberToObject(split, model_split_name(r), (double)s->s.split_ns[r]);
		cJSON_AddItemToArray(arr, e);
	}
	model_stmts_free(st, n);
	return o;
}

static cJSON *hist_json(const struct hist *h)
{
	uint64_t n = hist_count(h), sum = 0;

	/* from the buckets' midpoints: these histograms are all there is of these figures */
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		if (h->b[i])
			sum += h->b[i] * (hist_bucket_lo(i) + (hist_bucket_hi(i) == UINT64_MAX ? 0 :
						(hist_bucket_hi(i) - hist_bucket_lo(i)) / 2));
	return lat_json(h, n, sum, hist_max_estimate(h));
}

static cJSON *net_json(const struct target *t, cJSON *o)
{
	const struct net_info *n = &t->net;
	cJSON *tcp = cJSON_AddObjectToObject(o, "tcp"), *arr;

	cJSON_AddNumberToObject(tcp, "accepted", (double)n->tcp.accepted);
	cJSON_AddNumberToObject(tcp, "connected", (double)n->tcp.connected);
	cJSON_AddNumberToObject(tcp, "refused", (double)n->tcp.refused);
	cJSON_AddNumberToObject(tcp, "resets_sent", (double)n->tcp.resets_sent);
	cJSON_AddNumberToObject(tcp, "resets_received", (double)n->tcp.resets_received);
	cJSON_AddNumberToObject(tcp, "retransmits", (double)n->tcp.retransmits);
	cJSON_AddNumberToObject(tcp, "closed", (double)n->tcp.closed);
	cJSON_AddNumberToObject(tcp, "closes_unseen", (double)n->tcp.closes_unseen);
	cJSON_AddNumberToObject(tcp, "bytes_in", (double)n->tcp.bytes_in);
	cJSON_AddNumberToObject(tcp, "bytes_out", (double)n->tcp.bytes_out);
	cJSON_AddNumberToObject(tcp, "listen_overflows", (double)n->listen_overflows);
	cJSON_AddNumberToObject(tcp, "listen_drops", (double)n->listen_drops);
	cJSON_AddItemToObject(tcp, "connect_lat", hist_json(&n->connect_lat));
	cJSON_AddItemToObject(tcp, "accept_queue", hist_json(&n->accept_queue));
	cJSON_AddItemToObject(tcp, "conn_duration", hist_json(&n->duration));
	arr = cJSON_AddArrayToObject(o, "http");
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct http_route *r = &n->routes[i];
		cJSON *e, *st, *codes;
		char code[16];

		if (!r->count)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "side", r->side ? "client" : "server");
		cJSON_AddStringToObject(e, "method", r->method);
		cJSON_AddStringToObject(e, "route", r->route);
		cJSON_AddNumberToObject(e, "count", (double)r->count);
		st = cJSON_AddObjectToObject(e, "status");
		cJSON_AddNumberToObject(st, "2xx", (double)r->status[0]);
		cJSON_AddNumberToObject(st, "3xx", (double)r->status[1]);
		cJSON_AddNumberToObject(st, "4xx", (double)r->status[2]);
		cJSON_AddNumberToObject(st, "5xx", (double)r->status[3]);
		codes = cJSON_AddObjectToObject(e, "codes");
		for (int k = 0; k < r->ncodes; k++) {
			if (!r->codes[k].count)
				continue;
			snprintf(code, sizeof(code), "%d", r->codes[k].code);
			cJSON_AddNumberToObject(codes, code, (double)r->codes[k].count);
		}
		cJSON_AddItemToObject(e, "lat", hist_json(&r->lat));
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddNumberToObject(o, "requests", (double)n->requests);
	return o;
}

/* {"cpu", "runqueue", "blocked": {...}}, each class divided by div. */
static cJSON *budget_json(const uint64_t ns[BUD_MAX], double div)
{
	cJSON *o = cJSON_CreateObject(), *bl;

	cJSON_AddNumberToObject(o, "cpu", (double)(uint64_t)(ns[BUD_CPU] / div));
	cJSON_AddNumberToObject(o, "runqueue", (double)(uint64_t)(ns[BUD_RUNQ] / div));
	bl = cJSON_AddObjectToObject(o, "blocked");
	for (int c = BUD_FILE_READ; c < BUD_MAX; c++)
		cJSON_AddNumberToObject(bl, model_budget_name(c), (double)(uint64_t)(ns[c] / div));
	return o;
}

static int cmp_comm(const void *a, const void *b)
{
	return strcmp(((const struct thread_stat *)a)->comm, ((const struct thread_stat *)b)->comm);
}

static void budget_target_json(const struct target *t, double secs, cJSON *o)
{
	uint64_t ns[BUD_MAX], g[BUD_MAX];
	struct thread_stat *th;
	cJSON *arr;
	size_t n = t->bud.nthreads;

	target_budget(t, ns);
	cJSON_AddItemToObject(o, "budget_ns", budget_json(ns, 1));
	cJSON_AddItemToObject(o, "per_request_ns", t->net.requests ? budget_json(ns, (double)t->net.requests)
								  : cJSON_CreateNull());
	/* a served request's latency by where its thread's time went (its mean: latency_mean_ns) */
	{
		uint64_t lat_sum, served = target_served(t, &lat_sum);

		target_request_budget(t, g);
		cJSON_AddItemToObject(o, "request_latency_ns", served ? budget_json(g, (double)served)
									: cJSON_CreateNull());
		cJSON_AddNumberToObject(o, "served", (double)served);
		cJSON_AddNumberToObject(o, "latency_mean_ns", served ? (double)(lat_sum / served) : 0);
	}
	cJSON_AddNumberToObject(o, "cpus", t->bud.ncpus);
	cJSON_AddNumberToObject(o, "cpu_pct", secs > 0 && t->bud.ncpus ?
				100.0 * ns[BUD_CPU] / 1e9 / secs / t->bud.ncpus : 0);
	cJSON_AddNumberToObject(o, "mem_bytes", (double)t->bud.mem_bytes);
	cJSON_AddNumberToObject(o, "mem_peak_bytes", (double)t->bud.mem_peak_bytes);
	/* by thread name: an event loop, worker threads and helper threads read apart */
	th = malloc((n ? n : 1) * sizeof(*th));
	arr = cJSON_AddArrayToObject(o, "threads");
	if (!th)
		return;
	if (n)     /* no threads: bud.threads is NULL, which memcpy may not be given */
		memcpy(th, t->bud.threads, n * sizeof(*th));
	qsort(th, n, sizeof(*th), cmp_comm);
	for (size_t i = 0, j; i < n; i = j) {
		cJSON *e = cJSON_CreateObject();

		memset(g, 0, sizeof(g));
		for (j = i; j < n && !strcmp(th[j].comm, th[i].comm); j++)
			for (int c = 0; c < BUD_MAX; c++)
				g[c] += th[j].ns[c];
		cJSON_AddStringToObject(e, "name", th[i].comm);
		cJSON_AddNumberToObject(e, "count", (double)(j - i));
		cJSON_AddItemToObject(e, "budget_ns", budget_json(g, 1));
		cJSON_AddItemToArray(arr, e);
	}
	/* each thread: its accounted span, to check that the classes add up to it */
	arr = cJSON_AddArrayToObject(o, "thread_list");
	for (size_t i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddNumberToObject(e, "tid", th[i].tid);
		cJSON_AddNumberToObject(e, "pid", th[i].tgid);
		cJSON_AddStringToObject(e, "name", th[i].comm);
		cJSON_AddNumberToObject(e, "span_ns", (double)(th[i].last_ns - th[i].first_ns));
		cJSON_AddBoolToObject(e, "exited", th[i].exited);
		cJSON_AddItemToObject(e, "budget_ns", budget_json(th[i].ns, 1));
		cJSON_AddItemToArray(arr, e);
	}
	free(th);
}

static cJSON *target_json(struct target *t, double secs)
{
	cJSON *o = cJSON_CreateObject(), *arr, *counts, *errs;
	struct file_stat *files;
	size_t nfiles;

	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "kind", model_target_kind_name(t->kind));
	cJSON_AddStringToObject(o, "cgroup", t->cgroup);
	if (t->ctr.runtime) {
		cJSON *c = cJSON_AddObjectToObject(o, "container");
		const struct { const char *key, *val; } f[] = {
			{ "id", t->ctr.id }, { "runtime", t->ctr.runtime }, { "image", t->ctr.image },
			{ "pod", t->ctr.pod }, { "pod_namespace", t->ctr.pod_namespace },
			{ "container_name", t->ctr.k8s_container }, { "pod_uid", t->ctr.pod_uid },
			{ "qos", t->ctr.qos },
		};

		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (f[i].val)
				cJSON_AddStringToObject(c, f[i].key, f[i].val);
		cJSON_AddStringToObject(c, "state", t->stopped_ns ? "stopped" : "running");
		cJSON_AddNumberToObject(c, "added_ns", (double)t->added_ns);
		if (t->stopped_ns)
			cJSON_AddNumberToObject(c, "stopped_ns", (double)t->stopped_ns);
	}
	arr = cJSON_AddArrayToObject(o, "pids");
	for (size_t i = 0; i < t->npids; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(t->pids[i]));
	if (t->ctr.runtime) {
		/* each pid as the container sees it (0: the same, or not known) */
		arr = cJSON_AddArrayToObject(o, "container_pids");
		for (size_t i = 0; i < t->npids; i++)
			cJSON_AddItemToArray(arr, cJSON_CreateNumber(t->nspids ? t->nspids[i] : 0));
	}
	cJSON_AddNumberToObject(o, "syscalls", (double)t->syscalls);
	cJSON_AddNumberToObject(o, "exits", (double)t->exits);

	target_sort_ops(t);
	arr = cJSON_AddArrayToObject(o, "file");
	for (size_t i = 0; i < t->nops; i++) {
		struct op_stats *s = &t->ops[i];
		cJSON *e;

		if (!s->count)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "op", model_op_name(s->op));
		cJSON_AddStringToObject(e, "fd_kind", model_fd_kind_name(s->fd_kind));
		/* waiting for something to do is not I/O latency */
		cJSON_AddStringToObject(e, "class", s->op == IOP_POLL || s->op == IOP_EPOLL_WAIT ||
					s->op == IOP_SLEEP ? "idle" : s->fd_kind == FDK_FILE ? "file" :
					model_op_is_net(s->op) || s->fd_kind == FDK_TCP ||
					s->fd_kind == FDK_UDP || s->fd_kind == FDK_UNIX ? "net" : "other");
		cJSON_AddNumberToObject(e, "count", (double)s->count);
		cJSON_AddNumberToObject(e, "errors", (double)s->errors);
		cJSON_AddNumberToObject(e, "bytes", (double)s->bytes);
		cJSON_AddNumberToObject(e, "total_ns", (double)s->sum_ns);
		cJSON_AddItemToObject(e, "lat", lat_json(&s->hist, s->count, s->sum_ns, s->max_ns));
		cJSON_AddItemToArray(arr, e);
	}

	files = target_files_by_path(t, &nfiles);
	arr = cJSON_AddArrayToObject(o, "files");
	for (size_t i = 0; files && i < nfiles; i++) {
		struct file_stat *f = &files[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "path", f->path ? f->path : "");
		cJSON_AddNumberToObject(e, "count", (double)f->count);
		cJSON_AddNumberToObject(e, "total_ns", (double)f->total_ns);
		cJSON_AddNumberToObject(e, "bytes", (double)f->bytes);
		cJSON_AddItemToArray(arr, e);
	}
	free(files);

	cJSON_AddItemToObject(o, "sqlite", sqlite_json(t));
	net_json(t, o);
	budget_target_json(t, secs, o);

	counts = cJSON_AddObjectToObject(o, "syscall_counts");
	errs = cJSON_AddObjectToObject(o, "syscall_errors");
	for (unsigned nr = 0; nr < IOGAP_NR_SYSCALLS; nr++) {
		const char *name = model_syscall_name(nr);
		char buf[32];

		if (!t->sys_count[nr] && !t->sys_errors[nr])
			continue;
		if (!name) {
			snprintf(buf, sizeof(buf), "syscall_%u", nr);
			name = buf;
		}
		if (t->sys_count[nr])
			cJSON_AddNumberToObject(counts, name, (double)t->sys_count[nr]);
		if (t->sys_errors[nr])
			cJSON_AddNumberToObject(errs, name, (double)t->sys_errors[nr]);
	}
	return o;
}

char *report_json(struct model *m)
{
	cJSON *root = cJSON_CreateObject(), *lost, *arr;
	char *s;

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "iogap", IOGAP_VERSION);
	cJSON_AddNumberToObject(root, "format", IOGAP_FORMAT);
	cJSON_AddNumberToObject(root, "duration_ns", (double)m->duration_ns);
	cJSON_AddNumberToObject(root, "drops", (double)m->counters[CNT_RB_DROPS]);
	lost = cJSON_AddObjectToObject(root, "lost");
	cJSON_AddNumberToObject(lost, "ringbuf", (double)m->counters[CNT_RB_DROPS]);
	cJSON_AddNumberToObject(lost, "io_map_full", (double)m->counters[CNT_IO_MAP_FULL]);
	cJSON_AddNumberToObject(lost, "file_map_full", (double)m->counters[CNT_FILE_MAP_FULL]);
	cJSON_AddNumberToObject(lost, "pid_map_full", (double)m->counters[CNT_TGID_MAP_FULL]);
	cJSON_AddNumberToObject(lost, "cgroup_map_full", (double)m->counters[CNT_CGROUP_MAP_FULL]);
	cJSON_AddNumberToObject(lost, "thread_state", (double)m->counters[CNT_TASK_STORAGE_FAIL]);
	cJSON_AddNumberToObject(lost, "sqlite_map_full", (double)m->counters[CNT_SQ_MAP_FULL]);
	cJSON_AddNumberToObject(lost, "program_misses", (double)m->counters[CNT_PROG_MISSES]);
	arr = cJSON_AddArrayToObject(root, "targets");
	for (size_t i = 0; i < m->ntargets; i++)
		cJSON_AddItemToArray(arr, target_json(&m->targets[i], m->duration_ns / 1e9));
	s = cJSON_Print(root);
	cJSON_Delete(root);
	return s;
}
