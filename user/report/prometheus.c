/*
 * The Prometheus text exposition format 0.0.4 of a model: counters since tracing began,
 * latencies as histograms in seconds. Every family's HELP and TYPE come once, before its samples.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "report/report.h"

/* The le boundaries are fixed (the same at every scrape, so rate() of a bucket works): powers of
 * two from 256 ns to 34.4 s. Each is a boundary of the log-linear buckets, so a cumulative count
 * is exact, never interpolated. */
#define PROM_LE_LOG2_MIN 8
#define PROM_LE_LOG2_MAX 35
#define PROM_STMT_LABEL_MAX 120

struct prom_label {
	const char *name;
	const char *value;
	size_t max;               /* bytes of value kept; 0: all */
};

/* A counter family read from a struct at an offset. */
struct prom_counter {
	const char *name, *help;
	size_t off;
};

/* What one target's samples are labelled with and what its statements are. */
struct prom_target {
	char *container;          /* the target's name, made unique among the model's targets */
	struct sql_stmt *stmts;   /* by template */
	size_t nstmts;
	char (*hashes)[17];       /* parallel to stmts: FNV-1a 64 of the template, in hex */
};

static void prom_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not one (overlong
 * forms, surrogates and code points past U+10FFFF are not). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 :
		     (s[0] & 0xF8) == 0xF0 ? 4 : 0;

	if (!len || len > n || (len == 2 && s[0] < 0xC2) || s[0] > 0xF4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
		return 0;
	return len;
}

/* A label value: backslash, quote and newline escaped; bytes that are not UTF-8 become '?' (a
 * scrape with invalid UTF-8 is rejected whole); at most max bytes, cut between characters. */
static void prom_escape(FILE *out, const char *v, size_t max)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v), used = 0;

	while (n) {
		size_t len = utf8_len(s, n);

		if (used + (len ? len : 1) > max)
			break;
		if (!len)
			fputc('?', out);
		else if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fwrite(s, 1, len, out);
		len = len ? len : 1;
		s += len;
		n -= len;
		used += len;
	}
}

static void prom_labels(FILE *out, const struct prom_label *l, int n, const char *le)
{
	if (!n && !le)
		return;
	fputc('{', out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s%s=\"", i ? "," : "", l[i].name);
		prom_escape(out, l[i].value, l[i].max ? l[i].max : SIZE_MAX);
		fputc('"', out);
	}
	if (le)
		fprintf(out, "%sle=\"%s\"", n ? "," : "", le);
	fputc('}', out);
}

static void prom_u64(FILE *out, const char *name, const struct prom_label *l, int n, uint64_t v)
{
	fputs(name, out);
	prom_labels(out, l, n, NULL);
	fprintf(out, " %" PRIu64 "\n", v);
}

/* ns as seconds, exactly: "0.000256", "34.359738368", "2". */
static void fmt_seconds(char *buf, size_t len, uint64_t ns)
{
	int n = snprintf(buf, len, "%" PRIu64 ".%09" PRIu64, ns / 1000000000, ns % 1000000000);

	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
}

static void prom_seconds(FILE *out, const char *name, const struct prom_label *l, int n, uint64_t ns)
{
	char v[32];

	fmt_seconds(v, sizeof(v), ns);
	fputs(name, out);
	prom_labels(out, l, n, NULL);
	fprintf(out, " %s\n", v);
}

static void prom_hist(FILE *out, const char *name, const struct prom_label *l, int n,
		      const struct hist *h, uint64_t sum_ns)
{
	uint64_t cum = 0, total = hist_count(h);
	uint32_t i = 0;
	char le[32];

	for (int k = PROM_LE_LOG2_MIN; k <= PROM_LE_LOG2_MAX; k++) {
		for (; i < HIST_BUCKETS && hist_bucket_hi(i) <= 1ULL << k; i++)
			cum += h->b[i];
		fmt_seconds(le, sizeof(le), 1ULL << k);
		fprintf(out, "%s_bucket", name);
		prom_labels(out, l, n, le);
		fprintf(out, " %" PRIu64 "\n", cum);
	}
	fprintf(out, "%s_bucket", name);
	prom_labels(out, l, n, "+Inf");
	fprintf(out, " %" PRIu64 "\n", total);
	fprintf(out, "%s_sum", name);
	prom_labels(out, l, n, NULL);
	fmt_seconds(le, sizeof(le), sum_ns);
	fprintf(out, " %s\n%s_count", le, name);
	prom_labels(out, l, n, NULL);
	fprintf(out, " %" PRIu64 "\n", total);
}

/* A stable name for a statement across scrapes and runs: FNV-1a 64 of its template. */
static void stmt_hash(char out[17], const char *sql)
{
	snprintf(out, 17, "%016" PRIx64, model_hash_str(sql));
}

static int prom_targets_init(struct prom_target *pt, const struct model *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		const struct target *t = &m->targets[i];
		unsigned same = 1;

		/* two targets of one name (two pids of one program) would make duplicate series */
		for (size_t j = 0; j < i; j++)
			same += !strcmp(m->targets[j].name, t->name);
		if (same == 1)
			pt[i].container = strdup(t->name);
		else if (asprintf(&pt[i].container, "%s#%u", t->name, same) < 0)
			pt[i].container = NULL;
		if (!pt[i].container)
			return -1;
		pt[i].stmts = target_stmts_by_template(t, &pt[i].nstmts);
		pt[i].hashes = calloc(pt[i].nstmts ? pt[i].nstmts : 1, sizeof(*pt[i].hashes));
		if (!pt[i].stmts || !pt[i].hashes)
			return -1;
		for (size_t j = 0; j < pt[i].nstmts; j++)
			stmt_hash(pt[i].hashes[j], pt[i].stmts[j].sql ? pt[i].stmts[j].sql : "");
	}
	return 0;
}

static void prom_targets_free(struct prom_target *pt, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pt[i].container);
		model_stmts_free(pt[i].stmts, pt[i].nstmts);
		free(pt[i].hashes);
	}
	free(pt);
}

static void op_labels(struct prom_label l[3], const char *container, const struct op_stats *o)
{
	l[0] = (struct prom_label){ "container", container };
	l[1] = (struct prom_label){ "op", model_op_name(o->op) };
	l[2] = (struct prom_label){ "fd_kind", model_fd_kind_name(o->fd_kind) };
}

static void prom_io(FILE *out, const struct model *m, const struct prom_target *pt)
{
	struct prom_label l[3];

	static const struct prom_counter counters[] = {
		{ "iogap_io_ops_total", "Timed I/O syscalls by operation and kind of file descriptor.",
		  offsetof(struct op_stats, count) },
		{ "iogap_io_errors_total", "Timed I/O syscalls that returned an error.",
		  offsetof(struct op_stats, errors) },
		{ "iogap_io_bytes_total", "Bytes the I/O syscalls transferred.",
		  offsetof(struct op_stats, bytes) },
	};

	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		prom_family(out, counters[c].name, "counter", counters[c].help);
		for (size_t i = 0; i < m->ntargets; i++)
			for (size_t j = 0; j < m->targets[i].nops; j++) {
				const struct op_stats *o = &m->targets[i].ops[j];

				op_labels(l, pt[i].container, o);
				prom_u64(out, counters[c].name, l, 3,
					 *(const uint64_t *)((const char *)o + counters[c].off));
			}
	}
	prom_family(out, "iogap_io_latency_seconds", "histogram",
		    "Latency of the timed I/O syscalls.");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < m->targets[i].nops; j++) {
			const struct op_stats *o = &m->targets[i].ops[j];

			op_labels(l, pt[i].container, o);
			prom_hist(out, "iogap_io_latency_seconds", l, 3, &o->hist, o->sum_ns);
		}
}

static void prom_http(FILE *out, const struct model *m, const struct prom_target *pt)
{
	static const char *const classes[] = { "2xx", "3xx", "4xx", "5xx" };
	static const char *const hists[2][2] = {
		{ "iogap_http_request_duration_seconds",
		  "Time from reading a served HTTP request line to writing its status line." },
		{ "iogap_http_client_request_duration_seconds",
		  "Time from writing an HTTP request line to reading its response's status line." },
	};

	prom_family(out, "iogap_http_requests_total", "counter",
		    "HTTP/1.x responses by side (server: served, client: made), request and status class.");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < m->targets[i].net.nroutes; j++) {
			const struct http_route *r = &m->targets[i].net.routes[j];
			struct prom_label l[] = { { "container", pt[i].container },
						  { "side", r->side ? "client" : "server" },
						  { "method", r->method }, { "route", r->route },
						  { "status_class", NULL } };

			for (int c = 0; c < 4; c++) {
				l[4].value = classes[c];
				prom_u64(out, "iogap_http_requests_total", l, 5, r->status[c]);
			}
			if (r->other) {
				l[4].value = "other";
				prom_u64(out, "iogap_http_requests_total", l, 5, r->other);
			}
		}
	for (int side = 0; side < 2; side++) {
		prom_family(out, hists[side][0], "histogram", hists[side][1]);
		for (size_t i = 0; i < m->ntargets; i++)
			for (size_t j = 0; j < m->targets[i].net.nroutes; j++) {
				const struct http_route *r = &m->targets[i].net.routes[j];
				struct prom_label l[] = { { "container", pt[i].container },
							  { "method", r->method }, { "route", r->route } };

				if (r->side == side)
					prom_hist(out, hists[side][0], l, 3, &r->lat, hist_sum_estimate(&r->lat));
			}
	}
}

static void prom_sqlite(FILE *out, const struct model *m, const struct prom_target *pt)
{
	prom_family(out, "iogap_sqlite_statements_total", "counter",
		    "SQLite statement executions by template (literals replaced by ?, text cut at 120 bytes).");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < pt[i].nstmts; j++) {
			const struct sql_stmt *s = &pt[i].stmts[j];
			struct prom_label l[] = { { "container", pt[i].container },
						  { "statement_hash", pt[i].hashes[j] },
						  { "statement", s->sql ? s->sql : "", PROM_STMT_LABEL_MAX } };

			prom_u64(out, "iogap_sqlite_statements_total", l, 3, s->s.count);
		}
	prom_family(out, "iogap_sqlite_results_total", "counter",
		    "Result codes of sqlite3_step by statement.");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < pt[i].nstmts; j++)
			for (unsigned rc = 0; rc < RC_MAX; rc++) {
				struct prom_label l[] = { { "container", pt[i].container },
							  { "statement_hash", pt[i].hashes[j] },
							  { "code", model_rc_name(rc) } };

				prom_u64(out, "iogap_sqlite_results_total", l, 3, pt[i].stmts[j].s.rc[rc]);
			}
	prom_family(out, "iogap_sqlite_busy_at_once_total", "counter",
		    "BUSY results of sqlite3_step in which the busy handler never slept (a read transaction's write).");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < pt[i].nstmts; j++) {
			struct prom_label l[] = { { "container", pt[i].container },
						  { "statement_hash", pt[i].hashes[j] } };

			prom_u64(out, "iogap_sqlite_busy_at_once_total", l, 2, pt[i].stmts[j].s.busy_at_once);
		}
	prom_family(out, "iogap_sqlite_prepare_busy_sleep_seconds_total", "counter",
		    "Time SQLite's busy handler slept inside prepares, outside any step (a new connection's schema read).");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct prom_label l[] = { { "container", pt[i].container } };

		prom_seconds(out, "iogap_sqlite_prepare_busy_sleep_seconds_total", l, 1, m->targets[i].sq.prep_sleep_ns);
	}
	prom_family(out, "iogap_sqlite_prepare_busy_total", "counter", "Prepares that returned BUSY.");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct prom_label l[] = { { "container", pt[i].container } };

		prom_u64(out, "iogap_sqlite_prepare_busy_total", l, 1, m->targets[i].sq.prep_busy);
	}
	prom_family(out, "iogap_sqlite_step_split_seconds_total", "counter",
		    "Time inside sqlite3_step by what the thread did: cpu (outside syscalls) or a syscall class.");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < pt[i].nstmts; j++) {
			const struct stmt_stats *s = &pt[i].stmts[j].s;
			struct prom_label l[] = { { "container", pt[i].container },
						  { "statement_hash", pt[i].hashes[j] }, { "class", "cpu" } };

			prom_seconds(out, "iogap_sqlite_step_split_seconds_total", l, 3, report_stmt_cpu_ns(s));
			for (unsigned c = 0; c < SPLIT_MAX; c++) {
				l[2].value = model_split_name(c);
				prom_seconds(out, "iogap_sqlite_step_split_seconds_total", l, 3, s->split_ns[c]);
			}
		}
	prom_family(out, "iogap_sqlite_step_seconds", "histogram", "Latency of sqlite3_step by statement.");
	for (size_t i = 0; i < m->ntargets; i++)
		for (size_t j = 0; j < pt[i].nstmts; j++) {
			struct prom_label l[] = { { "container", pt[i].container },
						  { "statement_hash", pt[i].hashes[j] } };

			prom_hist(out, "iogap_sqlite_step_seconds", l, 2, &pt[i].stmts[j].step_hist,
				  pt[i].stmts[j].s.step_ns);
		}
}

static void prom_tcp(FILE *out, const struct model *m, const struct prom_target *pt)
{
	static const struct prom_counter counters[] = {
		{ "iogap_tcp_accepted_total", "TCP connections the target accepted.",
		  offsetof(struct net_info, tcp.accepted) },
		{ "iogap_tcp_connected_total", "TCP connections the target established.",
		  offsetof(struct net_info, tcp.connected) },
		{ "iogap_tcp_refused_total", "TCP connects of the target answered by a reset.",
		  offsetof(struct net_info, tcp.refused) },
		{ "iogap_tcp_resets_sent_total", "TCP resets the target's sockets sent.",
		  offsetof(struct net_info, tcp.resets_sent) },
		{ "iogap_tcp_resets_received_total", "TCP resets the target's sockets received.",
		  offsetof(struct net_info, tcp.resets_received) },
		{ "iogap_tcp_retransmits_total", "TCP segments the target's sockets retransmitted.",
		  offsetof(struct net_info, tcp.retransmits) },
		{ "iogap_tcp_listen_overflows_total",
		  "Listen queue overflows of the target's network namespace (TcpExt ListenOverflows).",
		  offsetof(struct net_info, listen_overflows) },
		{ "iogap_tcp_listen_drops_total",
		  "Listen queue drops of the target's network namespace (TcpExt ListenDrops).",
		  offsetof(struct net_info, listen_drops) },
	};

	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		prom_family(out, counters[c].name, "counter", counters[c].help);
		for (size_t i = 0; i < m->ntargets; i++) {
			struct prom_label l[] = { { "container", pt[i].container } };

			prom_u64(out, counters[c].name, l, 1,
				 *(const uint64_t *)((const char *)&m->targets[i].net + counters[c].off));
		}
	}
}

static void prom_budget(FILE *out, const struct model *m, const struct prom_target *pt)
{
	uint64_t ns[BUD_MAX];

	prom_family(out, "iogap_time_seconds_total", "counter",
		    "Thread time by class: on CPU, waiting for a CPU, or blocked by the syscall in progress.");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct prom_label l[] = { { "container", pt[i].container }, { "class", NULL } };

		target_budget(&m->targets[i], ns);
		for (unsigned c = 0; c < BUD_MAX; c++) {
			l[1].value = model_budget_name(c);
			prom_seconds(out, "iogap_time_seconds_total", l, 2, ns[c]);
		}
	}
	prom_family(out, "iogap_cpu_ratio", "gauge",
		    "CPU time since tracing began as a fraction of the CPUs the target may use.");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct prom_label l[] = { { "container", pt[i].container } };

		target_budget(&m->targets[i], ns);
		fprintf(out, "iogap_cpu_ratio");
		prom_labels(out, l, 1, NULL);
		fprintf(out, " %.6f\n", report_cpu_pct(&m->targets[i], ns, m->duration_ns / 1e9) / 100);
	}
	prom_family(out, "iogap_memory_bytes", "gauge", "Memory the target uses (last sample).");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct prom_label l[] = { { "container", pt[i].container } };

		if (m->targets[i].bud.mem_bytes)
			prom_u64(out, "iogap_memory_bytes", l, 1, m->targets[i].bud.mem_bytes);
	}
	prom_family(out, "iogap_memory_peak_bytes", "gauge", "The most memory the target used.");
	for (size_t i = 0; i < m->ntargets; i++) {
		struct prom_label l[] = { { "container", pt[i].container } };

		if (m->targets[i].bud.mem_bytes)
			prom_u64(out, "iogap_memory_peak_bytes", l, 1, m->targets[i].bud.mem_peak_bytes);
	}
}

void report_prometheus(FILE *out, const struct model *m)
{
	static const struct {
		const char *reason;
		int counter;
	} lost[] = {
		{ "io_map_full", CNT_IO_MAP_FULL }, { "file_map_full", CNT_FILE_MAP_FULL },
		{ "pid_map_full", CNT_TGID_MAP_FULL }, { "cgroup_map_full", CNT_CGROUP_MAP_FULL },
		{ "thread_state", CNT_TASK_STORAGE_FAIL }, { "sqlite_map_full", CNT_SQ_MAP_FULL },
	};
	struct prom_target *pt = calloc(m->ntargets ? m->ntargets : 1, sizeof(*pt));

	prom_family(out, "iogap_build_info", "gauge", "The iogap version that measured (always 1).");
	prom_u64(out, "iogap_build_info", &(struct prom_label){ "version", IOGAP_VERSION }, 1, 1);
	prom_family(out, "iogap_ring_buffer_drops_total", "counter",
		    "Events lost because the ring buffer was full.");
	prom_u64(out, "iogap_ring_buffer_drops_total", NULL, 0, m->counters[CNT_RB_DROPS]);
	prom_family(out, "iogap_lost_updates_total", "counter",
		    "Measurements lost because a kernel map was full, by map.");
	for (size_t i = 0; i < sizeof(lost) / sizeof(lost[0]); i++)
		prom_u64(out, "iogap_lost_updates_total", &(struct prom_label){ "reason", lost[i].reason },
			 1, m->counters[lost[i].counter]);
	prom_family(out, "iogap_missed_events_total", "counter",
		    "Events lost because the kernel skipped an iogap program that was already running on "
		    "that CPU (a hook that fired in an interrupt of it).");
	prom_u64(out, "iogap_missed_events_total", NULL, 0, m->counters[CNT_PROG_MISSES]);
	if (!pt || prom_targets_init(pt, m)) {
		fprintf(stderr, "iogap: cannot list the targets' metrics: out of memory\n");
		if (pt)
			prom_targets_free(pt, m->ntargets);
		return;
	}
	prom_family(out, "iogap_syscalls_total", "counter", "Syscalls the target entered.");
	for (size_t i = 0; i < m->ntargets; i++)
		prom_u64(out, "iogap_syscalls_total", &(struct prom_label){ "container", pt[i].container },
			 1, m->targets[i].syscalls);
	prom_io(out, m, pt);
	prom_http(out, m, pt);
	prom_sqlite(out, m, pt);
	prom_tcp(out, m, pt);
	prom_budget(out, m, pt);
	prom_targets_free(pt, m->ntargets);
}
