/*
 * Findings: plain sentences, each with the measured numbers behind it, and each only when the
 * numbers support it (a difference past a stated threshold, or a fact that changes how the
 * figures read, such as error answers or a saturated CPU).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "explain/explain_int.h"
#include "report/report.h"

#define PER_REQUEST_DIFF 0.5      /* connections or opens per request that make "one per request" */
#define MAX_LISTED 5              /* statements or routes named */
#define MIN_ROUTE_REQUESTS 10     /* a route's latency compared from this many requests a side */
#define SQL_SHOWN 80
#define CODES_SHOWN 4

static void finding_connections(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	uint64_t ca = c->t[0]->net.tcp.accepted, cb = c->t[1]->net.tcp.accepted;
	double pa = explain_div(ca, a->requests), pb = explain_div(cb, b->requests);
	int hi = pb > pa ? 1 : 0;

	if (!r->per_request || fmax(pa, pb) < PER_REQUEST_DIFF || fabs(pa - pb) < PER_REQUEST_DIFF)
		return;
	explain_addf(r, &r->findings, &r->nfindings,
		     "%s accepted a new TCP connection for about every request (%.2f per request: %" PRIu64
		     " connections for %" PRIu64 " requests), %s %.2f (%" PRIu64 " for %" PRIu64 "): %s "
		     "pays a connection's setup and teardown per request", r->side[hi].label,
		     hi ? pb : pa, hi ? cb : ca, r->side[hi].requests, r->side[!hi].label, hi ? pa : pb,
		     hi ? ca : cb, r->side[!hi].requests, r->side[hi].label);
}

static void finding_sqlite_opens(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	if (!r->per_request)
		return;
	for (int i = 0; i < 2; i++) {
		const struct explain_side *x = &r->side[i], *y = &r->side[!i];
		double px = explain_div(x->sq_opens, x->requests), py = explain_div(y->sq_opens, y->requests);
		char each[16], schema[16];

		if (px < PER_REQUEST_DIFF)
			continue;
		explain_fmt_ns(each, sizeof(each), explain_div(x->sq_open_ns, x->sq_opens));
		explain_fmt_ns(schema, sizeof(schema), explain_div(x->sq_schema_ns, x->units));
		explain_addf(r, &r->findings, &r->nfindings,
			     "%s opened new SQLite connections at %.2f per request (%" PRIu64 " opens for %"
			     PRIu64 " requests, %s each) and re-read the schema on each (%s per request in "
			     "the schema statement); %s %.2f (%" PRIu64 " opens)", x->label, px, x->sq_opens,
			     x->requests, each, schema, y->label, py, y->sq_opens);
	}
}

/* A side's fsyncs inside SQLite, its write statements, and the journal its fsyncs went to. */
static void fsync_figures(struct explain_ctx *c, int i, uint64_t *fsyncs, uint64_t *writes,
			  uint64_t *commits, const char **journal)
{
	uint64_t wal = 0, rollback = 0;

	*fsyncs = *writes = *commits = 0;
	*journal = NULL;
	for (size_t j = 0; j < c->nfs[i]; j++) {
		const char *p = c->fs[i][j].path;
		size_t n = p ? strlen(p) : 0;

		*fsyncs += c->fs[i][j].count;
		if (n > 4 && !strcmp(p + n - 4, "-wal"))
			wal += c->fs[i][j].count;
		else if (n > 8 && !strcmp(p + n - 8, "-journal"))
			rollback += c->fs[i][j].count;
	}
	for (size_t j = 0; j < c->nst[i]; j++)
		if (explain_stmt_is_write(c->st[i][j].sql)) {
			*writes += c->st[i][j].s.count;
			if (!explain_stmt_is_write_verb(c->st[i][j].sql, false))
				*commits += c->st[i][j].s.count;
		}
	if (wal >= rollback && wal)
		*journal = "-wal: journal_mode WAL";
	else if (rollback)
		*journal = "-journal: a rollback journal, journal_mode DELETE (or TRUNCATE, PERSIST)";
}

static void finding_fsyncs(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	char *part[2] = { NULL, NULL };
	bool any = false;

	for (int i = 0; i < 2; i++) {
		uint64_t fsyncs, writes, commits;
		const char *journal;

		fsync_figures(c, i, &fsyncs, &writes, &commits, &journal);
		any |= fsyncs && writes;
		if (!writes)
			part[i] = explain_strf(r, "%s ran no write statement", r->side[i].label);
		else
			part[i] = explain_strf(r, "%s %.2f (%" PRIu64 " fsyncs inside SQLite for %" PRIu64
					       " write statements, %" PRIu64 " of them COMMIT%s%s)",
					       r->side[i].label, explain_div(fsyncs, writes), fsyncs, writes,
					       commits, journal ? "; most on its " : "", journal ? journal : "");
	}
	if (any && part[0] && part[1])
		explain_addf(r, &r->findings, &r->nfindings, "fsyncs per write statement (INSERT, UPDATE, "
			     "DELETE, REPLACE, COMMIT): %s; %s", part[0], part[1]);
	free(part[0]);
	free(part[1]);
}

/* The thread time slept, by the budget where it was measured; else the sleeps' syscall time,
 * which also holds each one's wait for a CPU after its wakeup (the budget's runqueue). */
static double busy_per_unit(const struct explain_side *s)
{
	if (s->budget)
		return s->per_unit[BUD_BUSY_SLEEP];
	return s->sq_split[SPLIT_BUSY_SLEEP] + s->sq_prep_sleep;
}

static void finding_busy(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	int hi = busy_per_unit(&r->side[1]) >= busy_per_unit(&r->side[0]) ? 1 : 0;
	const struct explain_side *x = &r->side[hi], *y = &r->side[!hi];
	char tx[16], ty[16], in[16], prep[16];

	if (!busy_per_unit(x))
		return;
	explain_fmt_ns(tx, sizeof(tx), busy_per_unit(x));
	explain_fmt_ns(ty, sizeof(ty), busy_per_unit(y));
	explain_fmt_ns(in, sizeof(in), x->sq_split[SPLIT_BUSY_SLEEP]);
	explain_fmt_ns(prep, sizeof(prep), x->sq_prep_sleep);
	explain_addf(r, &r->findings, &r->nfindings,
		     "SQLite's busy handler slept %s %s on %s (of which, by its syscalls' time, which "
		     "includes the wait for a CPU after each sleep: %s in statements' steps, %s in "
		     "prepares), "
		     "%s on %s: threads slept waiting for another connection's lock on the database; "
		     "statement steps that returned BUSY: %s %" PRIu64 " (%.2f %s, %" PRIu64 " of them at "
		     "once), %s %" PRIu64 " (%" PRIu64 " at once)", tx, explain_per(r), x->label, in, prep,
		     ty, y->label, x->label, x->sq_busy, explain_div(x->sq_busy, x->units), explain_per(r),
		     x->sq_busy_at_once, y->label, y->sq_busy, y->sq_busy_at_once);
}

/*
 * BUSY at once, with no busy-handler sleep in that step: SQLite does not wait for the write
 * lock when the connection already reads in a transaction (its read lock could keep the
 * writer it waits for from committing: a deadlock), nor when no busy handler is set. The
 * classic case is a deferred BEGIN whose transaction reads first and then writes.
 */
static void finding_busy_at_once(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	for (int i = 0; i < 2; i++) {
		const struct explain_side *x = &r->side[i];
		const struct sql_stmt *top = NULL;
		char sql[SQL_SHOWN + 8];

		if (!x->sq_busy_at_once)
			continue;
		for (size_t j = 0; j < c->nst[i]; j++)
			if (!top || c->st[i][j].s.busy_at_once > top->s.busy_at_once)
				top = &c->st[i][j];
		explain_stmt_short(sql, sizeof(sql), top->sql, SQL_SHOWN);
		explain_addf(r, &r->findings, &r->nfindings,
			     "%s's statements returned BUSY at once, without waiting, %" PRIu64 " times "
			     "(%.2f %s; of %" PRIu64 " BUSY results), most on %s (%" PRIu64 "): SQLite does not "
			     "wait for the write lock when the connection is already reading in a "
			     "transaction (waiting could deadlock with the writer), nor when no busy timeout "
			     "is set; a transaction begun with BEGIN IMMEDIATE takes the write lock first and "
			     "waits for it", x->label, x->sq_busy_at_once, explain_div(x->sq_busy_at_once,
			     x->units), explain_per(r), x->sq_busy, sql, (uint64_t)top->s.busy_at_once);
	}
}

static void finding_cpu(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	for (int i = 0; i < 2; i++) {
		const struct explain_side *x = &r->side[i];
		char rq[16];

		if (x->cpu_pct < EXPLAIN_CPU_SATURATED)
			continue;
		explain_fmt_ns(rq, sizeof(rq), x->per_unit[BUD_RUNQ]);
		explain_addf(r, &r->findings, &r->nfindings,
			     "%s's CPU was saturated: %.0f%% of its %d CPU%s busy over %.1f s, %.1f threads "
			     "runnable on average, %s %s waiting for a CPU (runqueue); %s: %.0f%% of %d",
			     x->label, x->cpu_pct, x->ncpus, x->ncpus == 1 ? "" : "s", x->secs, x->runnable,
			     rq, explain_per(r), r->side[!i].label, r->side[!i].cpu_pct, r->side[!i].ncpus);
	}
}

static void finding_futex(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	char ta[16], tb[16];

	if (fabs(a->per_unit[BUD_FUTEX] - b->per_unit[BUD_FUTEX]) < r->noise_ns || !r->noise_ns)
		return;
	explain_fmt_ns(ta, sizeof(ta), a->per_unit[BUD_FUTEX]);
	explain_fmt_ns(tb, sizeof(tb), b->per_unit[BUD_FUTEX]);
	explain_addf(r, &r->findings, &r->nfindings,
		     "futex waits %s: %s %.1f calls, %s of thread time; %s %.1f calls, %s (lock "
		     "hand-offs such as Python's GIL; idle pool threads waiting for work count here too)",
		     explain_per(r), a->label, explain_div(c->t[0]->sys_count[SYS_futex], a->units), ta,
		     b->label, explain_div(c->t[1]->sys_count[SYS_futex], b->units), tb);
}

struct stmt_pair {
	const struct sql_stmt *s[2];
	double weight;            /* the time per unit it differs by */
};

static int cmp_pair(const void *a, const void *b)
{
	double x = ((const struct stmt_pair *)a)->weight, y = ((const struct stmt_pair *)b)->weight;

	return x < y ? 1 : x > y ? -1 : 0;
}

static double ratio(double x, double y)
{
	return fmax(x, y) / fmax(fmin(x, y), 1e-300);
}

static void stmt_sentence(struct explain_ctx *c, const struct stmt_pair *p)
{
	struct explain_result *r = c->r;
	const struct sql_stmt *x = p->s[0] ? p->s[0] : p->s[1];
	char sql[SQL_SHOWN + 8], ma[16], mb[16];
	double na, nb;

	explain_stmt_short(sql, sizeof(sql), x->sql, SQL_SHOWN);
	if (!p->s[0] || !p->s[1]) {
		int i = p->s[0] ? 0 : 1;

		explain_fmt_ns(ma, sizeof(ma), explain_stmt_mean(x));
		explain_fmt_ns(mb, sizeof(mb), explain_div(x->s.step_ns, r->side[i].units));
		explain_addf(r, &r->findings, &r->nfindings, "statement %s ran on %s only: %.2f times %s, "
			     "mean %s, %s %s", sql, r->side[i].label, explain_div(x->s.count, r->side[i].units),
			     explain_per(r), ma, mb, explain_per(r));
		return;
	}
	na = explain_div(p->s[0]->s.count, r->side[0].units);
	nb = explain_div(p->s[1]->s.count, r->side[1].units);
	explain_fmt_ns(ma, sizeof(ma), explain_stmt_mean(p->s[0]));
	explain_fmt_ns(mb, sizeof(mb), explain_stmt_mean(p->s[1]));
	explain_addf(r, &r->findings, &r->nfindings, "statement %s: %s %.2f times %s, mean %s; %s %.2f "
		     "times, mean %s (count %.1fx, mean %.1fx)", sql, r->side[0].label, na, explain_per(r),
		     ma, r->side[1].label, nb, mb, ratio(na, nb),
		     ratio(explain_stmt_mean(p->s[0]), explain_stmt_mean(p->s[1])));
}

/* A template with its SQL text: target_stmts_by_template labels the others "(...)". */
static bool stmt_has_text(const struct sql_stmt *s)
{
	size_t n = strlen(s->sql);

	return !(n && s->sql[0] == '(' && s->sql[n - 1] == ')');
}

static void finding_statements(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	size_t n = 0;
	struct stmt_pair *p = calloc(c->nst[0] + c->nst[1] + 1, sizeof(*p));

	if (!p) {
		r->oom = true;
		return;
	}
	for (int i = 0; i < 2; i++)
		for (size_t j = 0; j < c->nst[i]; j++) {
			const struct sql_stmt *x = &c->st[i][j], *y = NULL;
			double tx, ty, nx, ny;

			if (!x->s.count || !stmt_has_text(x))
				continue;
			for (size_t k = 0; k < c->nst[!i] && !y; k++)
				if (c->st[!i][k].s.count && !strcmp(c->st[!i][k].sql, x->sql))
					y = &c->st[!i][k];
			if (i == 1 && y)
				continue;    /* a pair is seen from side 0 */
			tx = explain_div(x->s.step_ns, r->side[i].units);
			ty = y ? explain_div(y->s.step_ns, r->side[!i].units) : 0;
			if (fmax(tx, ty) < r->noise_ns || !r->noise_ns)
				continue;
			nx = explain_div(x->s.count, r->side[i].units);
			ny = y ? explain_div(y->s.count, r->side[!i].units) : 0;
			if (y && ratio(nx, ny) <= EXPLAIN_RATIO &&
			    ratio(explain_stmt_mean(x), explain_stmt_mean(y)) <= EXPLAIN_RATIO)
				continue;
			p[n].s[i] = x;
			p[n].s[!i] = y;
			p[n++].weight = fabs(tx - ty);
		}
	qsort(p, n, sizeof(*p), cmp_pair);
	for (size_t k = 0; k < n && k < MAX_LISTED; k++)
		stmt_sentence(c, &p[k]);
	if (n > MAX_LISTED)
		explain_addf(r, &r->findings, &r->nfindings, "%zu more statements differ by more than "
			     "%.0fx in count or mean latency", n - MAX_LISTED, EXPLAIN_RATIO);
	free(p);
}

struct route_pair {
	const struct http_route *x[2];
	double mean[2], ratio;
};

static int cmp_route(const void *a, const void *b)
{
	double x = ((const struct route_pair *)a)->ratio, y = ((const struct route_pair *)b)->ratio;

	return x < y ? 1 : x > y ? -1 : 0;
}

static double route_mean(const struct http_route *x)
{
	return explain_div(hist_sum_estimate(&x->lat), hist_count(&x->lat));
}

static void finding_routes(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct target *a = c->t[0], *b = c->t[1];
	struct route_pair *p = calloc(a->net.nroutes + 1, sizeof(*p));
	size_t n = 0;

	if (!p) {
		r->oom = true;
		return;
	}
	for (size_t i = 0; i < a->net.nroutes; i++)
		for (size_t j = 0; j < b->net.nroutes; j++) {
			const struct http_route *x = &a->net.routes[i], *y = &b->net.routes[j];
			double mx, my;

			if (x->side || y->side || strcmp(x->method, y->method) || strcmp(x->route, y->route) ||
			    hist_count(&x->lat) < MIN_ROUTE_REQUESTS || hist_count(&y->lat) < MIN_ROUTE_REQUESTS)
				continue;
			mx = route_mean(x);
			my = route_mean(y);
			if (ratio(mx, my) > EXPLAIN_RATIO)
				p[n++] = (struct route_pair){ { x, y }, { mx, my }, ratio(mx, my) };
		}
	qsort(p, n, sizeof(*p), cmp_route);
	for (size_t k = 0; k < n && k < MAX_LISTED; k++) {
		char m0[16], m1[16], q0[16], q1[16];

		explain_fmt_ns(m0, sizeof(m0), p[k].mean[0]);
		explain_fmt_ns(m1, sizeof(m1), p[k].mean[1]);
		report_fmt_ns(q0, sizeof(q0), hist_percentile(&p[k].x[0]->lat, 0.99, 0));
		report_fmt_ns(q1, sizeof(q1), hist_percentile(&p[k].x[1]->lat, 0.99, 0));
		explain_addf(r, &r->findings, &r->nfindings, "%s %s took %.1fx as long on %s: mean %s on %s, "
			     "%s on %s (p99 %s and %s; %" PRIu64 " and %" PRIu64 " requests)",
			     p[k].x[0]->method, p[k].x[0]->route, p[k].ratio,
			     r->side[p[k].mean[1] > p[k].mean[0] ? 1 : 0].label, m0, r->side[0].label, m1,
			     r->side[1].label, q0, q1, p[k].x[0]->count, p[k].x[1]->count);
	}
	free(p);
}

struct code_count {
	int code;
	uint64_t count;
};

static int cmp_code(const void *a, const void *b)
{
	uint64_t x = ((const struct code_count *)a)->count, y = ((const struct code_count *)b)->count;

	return x < y ? 1 : x > y ? -1 : 0;
}

static void finding_errors(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	for (int i = 0; i < 2; i++) {
		const struct target *t = c->t[i];
		const struct explain_side *x = &r->side[i];
		const struct http_route *worst = NULL;
		uint64_t worst_n = 0, errors = x->status[2] + x->status[3] + x->other;
		struct code_count codes[64];
		size_t nc = 0;
		char list[256] = "";
		size_t len = 0;

		if (!errors)
			continue;
		for (size_t j = 0; j < t->net.nroutes; j++) {
			const struct http_route *rt = &t->net.routes[j];
			uint64_t e = rt->status[2] + rt->status[3] + rt->other;

			if (rt->side)
				continue;
			if (e > worst_n) {
				worst_n = e;
				worst = rt;
			}
			for (int k = 0; k < rt->ncodes; k++) {
				size_t m;

				if (rt->codes[k].code >= 200 && rt->codes[k].code < 400)
					continue;
				for (m = 0; m < nc && codes[m].code != rt->codes[k].code; m++)
					;
				if (m == nc && nc == sizeof(codes) / sizeof(codes[0]))
					continue;
				if (m == nc)
					codes[nc++] = (struct code_count){ rt->codes[k].code, 0 };
				codes[m].count += rt->codes[k].count;
			}
		}
		qsort(codes, nc, sizeof(*codes), cmp_code);
		for (size_t k = 0; k < nc && k < CODES_SHOWN && len < sizeof(list); k++)
			len += snprintf(list + len, sizeof(list) - len, "%s%d x%" PRIu64, k ? ", " : "",
					codes[k].code, codes[k].count);
		explain_addf(r, &r->findings, &r->nfindings,
			     "%s answered %" PRIu64 " of its %" PRIu64 " requests with errors (%.1f%%%s%s), "
			     "most on %s %s (%" PRIu64 " of its %" PRIu64 ")", x->label, errors, x->requests,
			     100 * x->error_rate, nc ? ": " : "", list, worst->method, worst->route, worst_n,
			     worst->count);
	}
}

void explain_findings(struct explain_ctx *c)
{
	finding_errors(c);
	finding_connections(c);
	finding_sqlite_opens(c);
	finding_fsyncs(c);
	finding_busy(c);
	finding_busy_at_once(c);
	finding_cpu(c);
	finding_futex(c);
	finding_statements(c);
	if (c->r->per_request)
		finding_routes(c);
}
