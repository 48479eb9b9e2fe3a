#define _GNU_SOURCE
/* explain_compare: each side's figures, then validity, ranking and findings in that order. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "explain/explain_int.h"
#include "report/report.h"

char *explain_strf(struct explain_result *r, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		if (r)
			r->oom = true;
		return NULL;
	}
	return s;
}

void explain_addf(struct explain_result *r, char ***list, size_t *n, const char *fmt, ...)
{
	char **grown, *s;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0) {
		r->oom = true;
		return;
	}
	grown = realloc(*list, (*n + 1) * sizeof(**list));
	if (!grown) {
		free(s);
		r->oom = true;
		return;
	}
	*list = grown;
	grown[(*n)++] = s;
}

void explain_fmt_ns(char *buf, size_t len, double ns)
{
	report_fmt_ns(buf, len, ns > 0 ? (uint64_t)llround(ns) : 0);
}

void explain_fmt_delta(char *buf, size_t len, double ns)
{
	char v[16];

	explain_fmt_ns(v, sizeof(v), fabs(ns));
	snprintf(buf, len, "%s%s", llround(ns) > 0 ? "+" : llround(ns) < 0 ? "-" : "", v);
}

const char *explain_per(const struct explain_result *r)
{
	return r->per_request ? "per request" : "per second";
}

double explain_div(double x, double y)
{
	return y ? x / y : 0;
}

void explain_stmt_short(char *buf, size_t len, const char *sql, int shown)
{
	if (strlen(sql) <= (size_t)shown)
		snprintf(buf, len, "%s", sql);
	else
		snprintf(buf, len, "%.*s...", shown, sql);
}

bool explain_stmt_is_schema(const char *sql)
{
	size_t n = sql ? strlen(sql) : 0;
	static const char tail[] = " ORDER BY rowid";

	return n > sizeof(tail) && !strncmp(sql, "SELECT*FROM\"", 12) &&
	       !strcmp(sql + n - (sizeof(tail) - 1), tail) &&
	       (strstr(sql, ".sqlite_master") || strstr(sql, ".sqlite_schema"));
}

bool explain_stmt_is_setup(const char *sql, uint64_t count, uint64_t opens)
{
	/* run about once per open: 0.8 to 1.25 times (a connection closed before it ran its
	 * PRAGMA, a PRAGMA run once more) */
	return sql && opens && !strncasecmp(sql, "PRAGMA", 6) && count * 5 >= opens * 4 &&
	       count * 4 <= opens * 5;
}

bool explain_stmt_is_write_verb(const char *sql, bool commit)
{
	static const char *const dml[] = { "INSERT", "UPDATE", "DELETE", "REPLACE" };
	static const char *const end[] = { "COMMIT", "END" };
	const char *const *verbs = commit ? end : dml;
	size_t nverbs = commit ? 2 : 4;

	while (sql && isspace((unsigned char)*sql))
		sql++;
	for (size_t i = 0; sql && i < nverbs; i++) {
		size_t n = strlen(verbs[i]);

		if (!strncasecmp(sql, verbs[i], n) && !isalnum((unsigned char)sql[n]) && sql[n] != '_')
			return true;
	}
	return false;
}

bool explain_stmt_is_write(const char *sql)
{
	return explain_stmt_is_write_verb(sql, false) || explain_stmt_is_write_verb(sql, true);
}

double explain_stmt_mean(const struct sql_stmt *s)
{
	if (s->s.stmt_ended)
		return (double)s->s.stmt_ns / s->s.stmt_ended;
	return explain_div((double)s->s.step_ns, (double)s->s.count);
}

/* The span the target was traced: from when it appeared to when it stopped, else the model's. */
static double target_secs(const struct model *m, const struct target *t)
{
	uint64_t end = t->stopped_ns && t->stopped_ns < m->duration_ns ? t->stopped_ns : m->duration_ns;

	if (end > t->added_ns && end - t->added_ns < m->duration_ns)
		return (end - t->added_ns) / 1e9;
	return m->duration_ns / 1e9;
}

static void side_fill(struct explain_ctx *c, int i, const char *label)
{
	struct explain_side *s = &c->r->side[i];
	const struct target *t = c->t[i];
	const struct tcp_stats *tcp = &t->net.tcp;
	uint64_t n, total = 0;

	s->label = explain_strf(c->r, "%s", label ? label : t->name);
	s->target = explain_strf(c->r, "%s", t->name);
	s->secs = target_secs(c->m[i], t);
	for (size_t j = 0; j < t->net.nroutes; j++) {
		const struct http_route *rt = &t->net.routes[j];

		if (rt->side)
			continue;
		s->requests += rt->count;
		for (int k = 0; k < 4; k++)
			s->status[k] += rt->status[k];
		s->other += rt->other;
		hist_add(&c->lat[i], &rt->lat);
	}
	s->http = s->requests > 0;
	s->rps = explain_div(s->requests, s->secs);
	s->ok_rps = explain_div(s->status[0], s->secs);
	s->error_rate = explain_div(s->status[2] + s->status[3] + s->other, s->requests);
	s->conns = tcp->accepted + tcp->connected;
	s->conn_errors = tcp->resets_sent + tcp->resets_received + tcp->refused;
	/* per exchange: a kept-alive connection carries many requests, and a load generator that
	 * stops resets the few it had open */
	s->conn_error_rate = explain_div(s->conn_errors, s->conns > s->requests ? s->conns : s->requests);
	n = hist_count(&c->lat[i]);
	s->mean_ns = n ? hist_sum_estimate(&c->lat[i]) / n : 0;
	s->p50_ns = hist_percentile(&c->lat[i], 0.50, 0);
	s->p95_ns = hist_percentile(&c->lat[i], 0.95, 0);
	s->p99_ns = hist_percentile(&c->lat[i], 0.99, 0);
	target_budget(t, s->budget_ns);
	for (int k = 0; k < BUD_MAX; k++)
		total += s->budget_ns[k];
	s->budget = total > 0;
	s->ncpus = t->bud.ncpus;
	s->nthreads = t->bud.nthreads;
	s->cpu_pct = report_cpu_pct(t, s->budget_ns, s->secs);
	s->runnable = explain_div((s->budget_ns[BUD_CPU] + s->budget_ns[BUD_RUNQ]) / 1e9, s->secs);
	s->sq_opens = t->sq.opens;
	s->sq_open_ns = t->sq.open_ns;
	c->st[i] = target_stmts_by_template(t, &c->nst[i]);
	c->fs[i] = target_sq_fsyncs_by_path(t, &c->nfs[i]);
	if (!c->st[i] || !c->fs[i])
		c->r->oom = true;
	s->sqlite = c->nst[i] > 0 || s->sq_opens > 0;
}

/* Everything per unit: per request when both sides served requests, else per second. */
static void side_per_unit(struct explain_ctx *c, int i)
{
	struct explain_side *s = &c->r->side[i];

	s->units = c->r->per_request ? (double)s->requests : s->secs;
	for (int k = 0; k < BUD_MAX; k++)
		s->per_unit[k] = explain_div(s->budget_ns[k], s->units);
	for (size_t j = 0; j < c->nst[i]; j++) {
		const struct sql_stmt *st = &c->st[i][j];

		for (int k = 0; k < SPLIT_MAX; k++)
			s->sq_split[k] += explain_div(st->s.split_ns[k], s->units);
		s->sq_split[SPLIT_MAX] += explain_div(report_stmt_cpu_ns(&st->s), s->units);
		s->sq_busy += st->s.rc[RC_BUSY];
		s->sq_busy_at_once += st->s.busy_at_once;
		if (explain_stmt_is_schema(st->sql) || explain_stmt_is_setup(st->sql, st->s.count, s->sq_opens))
			s->sq_schema_ns += st->s.step_ns;
	}
	/* a new connection costs its open, the schema read its first statement triggers, and the
	 * PRAGMAs the application runs on each new connection */
	s->per_unit[EXR_SQLITE_OPEN] = explain_div(s->sq_open_ns + s->sq_schema_ns, s->units);
	s->sq_prep_sleep = explain_div(c->t[i]->sq.prep_sleep_ns, s->units);
	s->per_unit[EXR_ACCEPT_QUEUE] = explain_div(hist_sum_estimate(&c->t[i]->net.accept_queue), s->units);
}

void explain_free(struct explain_result *r)
{
	for (int i = 0; i < 2; i++) {
		free(r->side[i].label);
		free(r->side[i].target);
	}
	free(r->source);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->valid_note);
	for (size_t i = 0; i < r->ncauses; i++)
		free(r->causes[i].evidence);
	free(r->causes);
	for (size_t i = 0; i < r->nfindings; i++)
		free(r->findings[i]);
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

int explain_compare_opts(const struct model *ma, const struct target *a, const struct model *mb,
			 const struct target *b, const struct explain_opts *o,
			 struct explain_result *r)
{
	struct explain_ctx *c = calloc(1, sizeof(*c));

	memset(r, 0, sizeof(*r));
	if (!c)
		return -ENOMEM;
	c->m[0] = ma;
	c->m[1] = mb;
	c->t[0] = a;
	c->t[1] = b;
	c->r = r;
	if (o && o->source)
		r->source = explain_strf(r, "%s", o->source);
	side_fill(c, 0, o ? o->label_a : NULL);
	side_fill(c, 1, o ? o->label_b : NULL);
	r->per_request = r->side[0].http && r->side[1].http;
	side_per_unit(c, 0);
	side_per_unit(c, 1);
	if (!r->oom)
		explain_validity(c);
	if (!r->oom)
		explain_rank(c);
	if (!r->oom)
		explain_findings(c);
	for (int i = 0; i < 2; i++) {
		model_stmts_free(c->st[i], c->nst[i]);
		free(c->fs[i]);
	}
	free(c);
	if (r->oom) {
		explain_free(r);
		return -ENOMEM;
	}
	return 0;
}

int explain_compare(const struct model *ma, const struct target *a, const struct model *mb,
		    const struct target *b, struct explain_result *r)
{
	return explain_compare_opts(ma, a, mb, b, NULL, r);
}

char *explain_model_html(const struct model *m)
{
	const struct target *t[2] = { NULL, NULL };
	struct explain_result r;
	size_t n = 0;
	char *html;

	for (size_t i = 0; i < m->ntargets; i++) {
		const struct target *x = &m->targets[i];
		bool served = false;

		for (size_t j = 0; j < x->net.nroutes && !served; j++)
			served = !x->net.routes[j].side && x->net.routes[j].count;
		if (served && n++ < 2)
			t[n - 1] = x;
	}
	if (n != 2 || explain_compare(m, t[0], m, t[1], &r))
		return NULL;
	html = explain_html(&r);
	explain_free(&r);
	return html;
}
