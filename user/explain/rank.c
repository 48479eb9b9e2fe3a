/*
 * The decomposition: each side's thread time per request, class by class (every thread of the
 * target, so a request waiting for the GIL and an idle pool thread both show up as futex), plus
 * two rows the budget does not hold the same way: sqlite_open and accept_queue. Ranked by each
 * class's share of the sum of the positive deltas (slower minus faster); listed as causes when
 * the delta reaches the noise floor.
 *
 * Double counting. SQLite's split (cpu, read, write, fsync, lock, busy_sleep, other inside
 * sqlite3_step) is time the budget already holds in its classes, so it is evidence only, never
 * a row. sqlite_open is the one named cause carved out of the budget: its time per request is
 * the connection opens' time (sq.open_ns) plus the schema read each new connection's first
 * statement runs (SELECT*FROM"main".sqlite_master, its step time) and the PRAGMAs run once per
 * connection (explain_stmt_is_setup). That time is on-CPU or in the file syscalls an open
 * makes, so the cause is listed when the opens per request differ by at least OPEN_DIFF and its
 * delta D reaches the noise floor, and then D is taken out of the positive deltas of cpu,
 * file_read, file_write, lock and other, in proportion to them, and capped at their sum; and of
 * the run-queue delta, the fraction that the CPU taken bears to the cpu delta (the CPU one
 * thread takes is the wait of the others for it). The deltas still add up to what they did,
 * and no nanosecond is in two rows.
 * accept_queue (the time connections waited before the server accepted them) is no thread's
 * time and no part of the server-side latency: it is a row of its own, and the gap it is
 * measured against is the mean latency difference plus the accept-queue difference.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "explain/explain_int.h"
#include "report/report.h"

/* opens per request that make "connections opened per request": at least one request in five
 * (an app that opens one per request on the routes that use the database: the bench's Django
 * opens 0.50 per request) */
#define OPEN_DIFF 0.2
#define SQL_SHOWN 60              /* characters of a statement quoted in evidence */

static const int open_classes[] = { BUD_CPU, BUD_FILE_READ, BUD_FILE_WRITE, BUD_LOCK, BUD_OTHER };

static const char *row_name(int k)
{
	if (k == EXR_SQLITE_OPEN)
		return "sqlite_open";
	if (k == EXR_ACCEPT_QUEUE)
		return "accept_queue";
	return model_budget_name(k);
}

static void carve_sqlite_open(struct explain_result *r)
{
	const struct explain_side *s = &r->side[r->slower], *f = &r->side[!r->slower];
	double ops = explain_div(s->sq_opens, s->units), opf = explain_div(f->sq_opens, f->units);
	double d = s->per_unit[EXR_SQLITE_OPEN] - f->per_unit[EXR_SQLITE_OPEN], pool = 0, take, cpu;
	struct explain_row *rq;

	if (!r->per_request || fabs(ops - opf) < OPEN_DIFF || d < r->noise_ns || d <= 0)
		return;
	for (size_t i = 0; i < sizeof(open_classes) / sizeof(open_classes[0]); i++)
		pool += fmax(0, r->rows[open_classes[i]].delta);
	take = fmin(d, pool);
	if (take <= 0)
		return;
	cpu = fmax(0, r->rows[BUD_CPU].delta);
	for (size_t i = 0; i < sizeof(open_classes) / sizeof(open_classes[0]); i++) {
		struct explain_row *row = &r->rows[open_classes[i]];

		row->delta -= take * fmax(0, row->delta) / pool;
	}
	/* The CPU a thread takes is another thread's wait for it when the side's own threads
	 * contend for its CPUs: of the extra run-queue time, the part in proportion to the extra
	 * CPU the connections took goes with them too. (A neighbour's CPU hog raises the run queue
	 * without raising the side's own CPU per request: nothing of it is carved then.) */
	rq = &r->rows[BUD_RUNQ];
	if (cpu > 0 && rq->delta > 0) {
		double part = rq->delta * fmin(1, (cpu - fmax(0, r->rows[BUD_CPU].delta)) / cpu);

		rq->delta -= part;
		take += part;
	}
	r->rows[EXR_SQLITE_OPEN].delta = take;
}

static double work_per_unit(const struct explain_side *s)
{
	double w = 0;

	for (int k = 0; k < BUD_MAX; k++)
		if (!report_budget_idle(k))
			w += s->per_unit[k];
	return w;
}

/* "<class>: +X per request (slower x, faster y)". */
static void ev_head(FILE *f, const struct explain_result *r, int k)
{
	const struct explain_row *row = &r->rows[k];
	const struct explain_side *s = &r->side[r->slower], *q = &r->side[!r->slower];
	char d[16], vs[16], vq[16], m[16];
	double measured = s->per_unit[k] - q->per_unit[k];

	explain_fmt_delta(d, sizeof(d), row->delta);
	explain_fmt_ns(vs, sizeof(vs), s->per_unit[k]);
	explain_fmt_ns(vq, sizeof(vq), q->per_unit[k]);
	fprintf(f, "%s: %s %s (%s %s, %s %s)", row->cls, d, explain_per(r), s->label, vs, q->label, vq);
	if (k < BUD_MAX && fabs(measured - row->delta) >= 0.5) {
		explain_fmt_delta(m, sizeof(m), measured);
		explain_fmt_ns(d, sizeof(d), measured - row->delta);
		fprintf(f, ", after %s of it went to sqlite_open (measured %s)", d, m);
	}
}

static void ev_sqlite_split(FILE *f, const struct explain_result *r, int split, const char *what)
{
	char a[16], b[16];
	const struct explain_side *s = &r->side[r->slower], *q = &r->side[!r->slower];

	if (!s->sqlite && !q->sqlite)
		return;
	explain_fmt_ns(a, sizeof(a), s->sq_split[split]);
	explain_fmt_ns(b, sizeof(b), q->sq_split[split]);
	fprintf(f, "; %s inside SQLite statements: %s %s, %s %s", what, s->label, a, q->label, b);
}

/* The slower side's file with the most syscall time, per unit. */
static void ev_top_file(FILE *f, struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *s = &r->side[r->slower];
	struct file_stat *fs;
	size_t n;
	char t[16];

	fs = target_files_by_path(c->t[r->slower], &n);
	if (!fs) {
		r->oom = true;
		return;
	}
	if (n && fs[0].path) {
		explain_fmt_ns(t, sizeof(t), explain_div(fs[0].total_ns, s->units));
		fprintf(f, "; %s's busiest file: %s (%s %s in its syscalls)", s->label, fs[0].path, t,
			explain_per(r));
	}
	free(fs);
}

static uint64_t fsync_calls(const struct target *t)
{
	uint64_t n = 0;

	for (size_t i = 0; i < t->nops; i++)
		if (t->ops[i].op == IOP_FSYNC || t->ops[i].op == IOP_FDATASYNC ||
		    t->ops[i].op == IOP_SYNC_FILE_RANGE)
			n += t->ops[i].count;
	return n;
}

static void ev_fsync(FILE *f, struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	int s = r->slower;
	const struct explain_side *x = &r->side[s], *y = &r->side[!s];

	if (fsync_calls(c->t[s]) || fsync_calls(c->t[!s]))
		fprintf(f, "; fsync calls: %s %.2f %s, %s %.2f", x->label,
			explain_div(fsync_calls(c->t[s]), x->units), explain_per(r), y->label,
			explain_div(fsync_calls(c->t[!s]), y->units));
	ev_sqlite_split(f, r, SPLIT_FSYNC, "fsync");
	for (int i = 0; i < 2; i++) {
		int side = i ? !s : s;

		if (c->nfs[side] && c->fs[side][0].path)
			fprintf(f, "; %s's most fsynced file inside SQLite: %s (%.2f %s)",
				r->side[side].label, c->fs[side][0].path,
				explain_div(c->fs[side][0].count, r->side[side].units), explain_per(r));
	}
}

/* The thread name (comm) holding most of a class on a target, and how many threads carry it. */
static void top_comm(const struct target *t, int cls, char comm[16], size_t *nthreads, uint64_t *ns)
{
	*nthreads = 0;
	*ns = 0;
	comm[0] = 0;
	for (size_t i = 0; i < t->bud.nthreads; i++) {
		const struct thread_stat *th = &t->bud.threads[i];
		uint64_t sum = 0;
		size_t n = 0;

		for (size_t j = 0; j < t->bud.nthreads; j++)
			if (!strncmp(t->bud.threads[j].comm, th->comm, sizeof(th->comm))) {
				sum += t->bud.threads[j].ns[cls];
				n++;
			}
		if (sum > *ns) {
			*ns = sum;
			*nthreads = n;
			snprintf(comm, 16, "%.15s", th->comm);
		}
	}
}

static void ev_futex(FILE *f, struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	int s = r->slower;
	const struct explain_side *x = &r->side[s], *y = &r->side[!s];
	char comm[16], ex[16];
	size_t nth;
	uint64_t ns;

	fprintf(f, "; futex calls: %s %.1f %s, %s %.1f", x->label,
		explain_div(c->t[s]->sys_count[SYS_futex], x->units), explain_per(r), y->label,
		explain_div(c->t[!s]->sys_count[SYS_futex], y->units));
	top_comm(c->t[s], BUD_FUTEX, comm, &nth, &ns);
	if (ns && x->budget_ns[BUD_FUTEX])
		fprintf(f, "; %.0f%% of %s's futex time is in %zu thread%s named '%s'",
			100.0 * ns / x->budget_ns[BUD_FUTEX], x->label, nth, nth == 1 ? "" : "s", comm);
	fprintf(f, "; lock hand-offs (Python's GIL) and idle pool threads waiting for work both show "
		"up as futex");
	if (r->per_request && x->mean_ns && work_per_unit(x) > x->mean_ns) {
		explain_fmt_ns(ex, sizeof(ex), work_per_unit(x) - x->mean_ns);
		fprintf(f, "; %s's threads spent %s per request more than its mean latency: at least "
			"that much of their time was not spent serving requests", x->label, ex);
	}
}

struct stmt_ref {
	const struct sql_stmt *s;
	double v;
};

static int cmp_stmt_ref(const void *a, const void *b)
{
	double x = ((const struct stmt_ref *)a)->v, y = ((const struct stmt_ref *)b)->v;

	return x < y ? 1 : x > y ? -1 : 0;
}

static void ev_busy(FILE *f, struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	int s = r->slower;
	const struct explain_side *x = &r->side[s];
	struct stmt_ref *refs = calloc(c->nst[s] ? c->nst[s] : 1, sizeof(*refs));
	size_t n = 0;

	if (!refs) {
		r->oom = true;
		return;
	}
	for (size_t i = 0; i < c->nst[s]; i++)
		if (c->st[s][i].s.split_ns[SPLIT_BUSY_SLEEP])
			refs[n++] = (struct stmt_ref){ &c->st[s][i], c->st[s][i].s.split_ns[SPLIT_BUSY_SLEEP] };
	qsort(refs, n, sizeof(*refs), cmp_stmt_ref);
	for (size_t i = 0; i < n && i < 3; i++) {
		char sql[SQL_SHOWN + 8], t[16];

		explain_stmt_short(sql, sizeof(sql), refs[i].s->sql, SQL_SHOWN);
		explain_fmt_ns(t, sizeof(t), explain_div(refs[i].v, x->units));
		fprintf(f, "%s %s (%s %s, %" PRIu64 " BUSY results)", i ? ";" : "; the statements that slept on "
			"this side:", sql, t, explain_per(r), (uint64_t)refs[i].s->s.rc[RC_BUSY]);
	}
	if (!n)
		fprintf(f, "; no statement's split shows the sleeps (SQLite's statements were not all "
			"measured)");
	free(refs);
}

/* The busy handler's sleeps in prepares, outside any step: a new connection's first prepare
 * reads the schema, which waits for the database's lock as a statement does. */
static void ev_prep_sleep(FILE *f, const struct explain_result *r)
{
	const struct explain_side *s = &r->side[r->slower], *q = &r->side[!r->slower];
	char a[16], b[16];

	if (!s->sq_prep_sleep && !q->sq_prep_sleep)
		return;
	explain_fmt_ns(a, sizeof(a), s->sq_prep_sleep);
	explain_fmt_ns(b, sizeof(b), q->sq_prep_sleep);
	fprintf(f, "; in prepares, outside any step (a new connection's schema read waits for the "
		"lock too): %s %s, %s %s", s->label, a, q->label, b);
}

static void ev_cpu_runq(FILE *f, const struct explain_result *r, bool runq)
{
	const struct explain_side *x = &r->side[r->slower], *y = &r->side[!r->slower];

	fprintf(f, "; %s's %d CPU%s %s %.0f%% busy with %.1f threads runnable on average (%s: %.0f%% "
		"of %d, %.1f)", x->label, x->ncpus, x->ncpus == 1 ? "" : "s", x->ncpus == 1 ? "was" : "were",
		x->cpu_pct, x->runnable, y->label, y->cpu_pct, y->ncpus, y->runnable);
	/* waiting for a CPU the target itself did not keep busy: other tasks held it */
	if (runq && x->runnable < x->ncpus && x->cpu_pct < EXPLAIN_CPU_SATURATED)
		fprintf(f, "; with fewer runnable threads than CPUs, its threads waited behind other "
			"tasks on their CPUs (or for a wakeup to reach an idle CPU)");
}

static void ev_open(FILE *f, const struct explain_result *r)
{
	const struct explain_side *x = &r->side[r->slower], *y = &r->side[!r->slower];
	char each[16];

	explain_fmt_ns(each, sizeof(each), explain_div(x->sq_open_ns, x->sq_opens));
	fprintf(f, "; %s opened %.2f SQLite connections %s (%" PRIu64 " opens, %s each, plus the schema "
		"read and the PRAGMAs each new connection runs), %s %.2f (%" PRIu64 "); taken out of the cpu "
		"and file classes the opens ran in, and of the run-queue wait in proportion to the CPU they "
		"took, not added to them", x->label, explain_div(x->sq_opens, x->units),
		explain_per(r), x->sq_opens, each, y->label, explain_div(y->sq_opens, y->units), y->sq_opens);
}

static void ev_accept_queue(FILE *f, struct explain_ctx *c)
{
	for (int i = 0; i < 2; i++) {
		int side = i ? !c->r->slower : c->r->slower;
		const struct hist *h = &c->t[side]->net.accept_queue;
		char p50[16], p99[16];

		report_fmt_ns(p50, sizeof(p50), hist_percentile(h, 0.5, 0));
		report_fmt_ns(p99, sizeof(p99), hist_percentile(h, 0.99, 0));
		fprintf(f, "%s %s's %" PRIu64 " connections waited p50 %s, p99 %s", i ? ";" : "; before "
			"the server accepted them,", c->r->side[side].label, hist_count(h), p50, p99);
	}
}

static char *evidence(struct explain_ctx *c, int k)
{
	struct explain_result *r = c->r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		r->oom = true;
		return NULL;
	}
	ev_head(f, r, k);
	switch (k) {
	case BUD_CPU:
		ev_cpu_runq(f, r, false);
		ev_sqlite_split(f, r, SPLIT_MAX, "CPU");
		break;
	case BUD_RUNQ:
		ev_cpu_runq(f, r, true);
		break;
	case BUD_FILE_READ:
		ev_sqlite_split(f, r, SPLIT_READ, "reads");
		ev_top_file(f, c);
		break;
	case BUD_FILE_WRITE:
		ev_sqlite_split(f, r, SPLIT_WRITE, "writes");
		ev_top_file(f, c);
		break;
	case BUD_FSYNC:
		ev_fsync(f, c);
		break;
	case BUD_LOCK:
		ev_sqlite_split(f, r, SPLIT_LOCK, "file-lock waits");
		break;
	case BUD_FUTEX:
		ev_futex(f, c);
		break;
	case BUD_NET_RECV:
		fprintf(f, "; a thread blocked reading a socket may be waiting for the client's next "
			"request on a kept-alive connection, which is not request time");
		break;
	case BUD_NET_SEND:
		fprintf(f, "; threads blocked writing to sockets: the peers read slower than they wrote");
		break;
	case BUD_ACCEPT:
		fprintf(f, "; threads blocked in accept() are waiting for new connections");
		break;
	case BUD_SLEEP:
		fprintf(f, "; sleeps outside SQLite's busy handler (nanosleep, time.sleep)");
		break;
	case BUD_BUSY_SLEEP:
		ev_sqlite_split(f, r, SPLIT_BUSY_SLEEP, "busy-handler sleeps");
		ev_prep_sleep(f, r);
		ev_busy(f, c);
		break;
	case BUD_OTHER:
		fprintf(f, "; another syscall, or off CPU outside any syscall (page faults, ...)");
		ev_sqlite_split(f, r, SPLIT_OTHER, "other syscalls");
		break;
	case EXR_SQLITE_OPEN:
		ev_open(f, r);
		break;
	case EXR_ACCEPT_QUEUE:
		ev_accept_queue(f, c);
		break;
	}
	if (fclose(f)) {
		r->oom = true;
		free(buf);
		return NULL;
	}
	return buf;
}

static int cmp_cause(const void *a, const void *b)
{
	const struct explain_cause *x = a, *y = b;

	if (x->share != y->share)
		return x->share < y->share ? 1 : -1;
	return strcmp(x->cls, y->cls);
}

/* Per request the slower side answers fewer requests per second under the same load, or, when
 * they answer alike, has the higher mean latency; per second, more work time. */
static int slower_side(struct explain_result *r)
{
	const struct explain_side *a = &r->side[0], *b = &r->side[1];

	if (r->per_request && a->ok_rps > 0 && b->ok_rps > 0 &&
	    fmax(a->ok_rps, b->ok_rps) / fmin(a->ok_rps, b->ok_rps) > EXPLAIN_THROUGHPUT_RATIO) {
		r->by_throughput = true;
		return a->ok_rps < b->ok_rps ? 0 : 1;
	}
	if (r->per_request)
		return a->mean_ns > b->mean_ns ? 0 : 1;
	return work_per_unit(a) > work_per_unit(b) ? 0 : 1;
}

void explain_rank(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *s, *q;

	r->slower = slower_side(r);
	s = &r->side[r->slower];
	q = &r->side[!r->slower];

	for (int k = 0; k < EXR_MAX; k++) {
		struct explain_row *row = &r->rows[k];

		row->cls = row_name(k);
		row->a = r->side[0].per_unit[k];
		row->b = r->side[1].per_unit[k];
		row->delta = k == EXR_SQLITE_OPEN ? 0 : s->per_unit[k] - q->per_unit[k];
		row->idle = k < BUD_MAX && report_budget_idle(k);
	}
	r->noise_ns = EXPLAIN_NOISE * (r->per_request && s->mean_ns ? (double)s->mean_ns : work_per_unit(s));
	carve_sqlite_open(r);
	for (int k = 0; k < EXR_MAX; k++)
		if (!r->rows[k].idle)
			r->positive_ns += fmax(0, r->rows[k].delta);
	r->causes = calloc(EXR_MAX, sizeof(*r->causes));
	if (!r->causes) {
		r->oom = true;
		return;
	}
	for (int k = 0; k < EXR_MAX; k++) {
		struct explain_row *row = &r->rows[k];
		struct explain_cause *x;

		if (row->idle || row->delta <= 0)
			continue;
		row->share = row->delta / r->positive_ns;
		if (row->delta < r->noise_ns)
			continue;
		x = &r->causes[r->ncauses++];
		*x = (struct explain_cause){ row->cls, row->a, row->b, row->delta, row->share, evidence(c, k) };
		r->listed_ns += row->delta;
	}
	qsort(r->causes, r->ncauses, sizeof(*r->causes), cmp_cause);
	if (r->per_request && !r->by_throughput)
		r->gap_ns = (double)s->mean_ns - (double)q->mean_ns +
			    s->per_unit[EXR_ACCEPT_QUEUE] - q->per_unit[EXR_ACCEPT_QUEUE];
	else
		r->gap_ns = r->positive_ns;
	r->covered_raw = r->gap_ns > 0 ? r->listed_ns / r->gap_ns : 0;
	r->covered = fmin(1, fmax(0, r->covered_raw));
}
