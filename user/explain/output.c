/* Three views of an explain_result: text, JSON (the contract in DESIGN.md) and an HTML fragment. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "explain/explain_int.h"
#include "report/report.h"

#define HEADLINE_MAX 12

struct headline_row {
	const char *name;
	char v[2][24];
	char ratio[16];
};

static void fmt_ratio(char *buf, size_t len, double b, double a)
{
	if (a > 0)
		snprintf(buf, len, "%.2fx", b / a);
	else
		snprintf(buf, len, "-");
}

static struct headline_row *row_add(struct headline_row *rows, size_t *n, const char *name)
{
	struct headline_row *x = &rows[(*n)++];

	memset(x, 0, sizeof(*x));
	x->name = name;
	return x;
}

static void row_ns(struct headline_row *rows, size_t *n, const char *name, uint64_t a, uint64_t b)
{
	struct headline_row *x = row_add(rows, n, name);

	report_fmt_ns(x->v[0], sizeof(x->v[0]), a);
	report_fmt_ns(x->v[1], sizeof(x->v[1]), b);
	fmt_ratio(x->ratio, sizeof(x->ratio), b, a);
}

static void row_num(struct headline_row *rows, size_t *n, const char *name, const char *fmt,
		    double a, double b, bool ratio)
{
	struct headline_row *x = row_add(rows, n, name);

	snprintf(x->v[0], sizeof(x->v[0]), fmt, a);
	snprintf(x->v[1], sizeof(x->v[1]), fmt, b);
	if (ratio)
		fmt_ratio(x->ratio, sizeof(x->ratio), b, a);
}

/* The headline as rows of text (A, B, B/A); HEADLINE_MAX rows at most. */
static size_t headline(const struct explain_result *r, struct headline_row *rows)
{
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	size_t n = 0;

	row_num(rows, &n, "duration (s)", "%.1f", a->secs, b->secs, false);
	if (a->http || b->http) {
		row_num(rows, &n, "requests", "%.0f", (double)a->requests, (double)b->requests, true);
		row_num(rows, &n, "throughput (req/s)", "%.1f", a->rps, b->rps, true);
		row_num(rows, &n, "2xx per second", "%.1f", a->ok_rps, b->ok_rps, true);
		row_ns(rows, &n, "latency p50", a->p50_ns, b->p50_ns);
		row_ns(rows, &n, "latency p95", a->p95_ns, b->p95_ns);
		row_ns(rows, &n, "latency p99", a->p99_ns, b->p99_ns);
		row_ns(rows, &n, "latency mean", a->mean_ns, b->mean_ns);
		row_num(rows, &n, "HTTP errors (%)", "%.1f", 100 * a->error_rate, 100 * b->error_rate, false);
	}
	row_num(rows, &n, "failed connections (%)", "%.1f", 100 * a->conn_error_rate,
		100 * b->conn_error_rate, false);
	row_num(rows, &n, "CPU busy (%)", "%.1f", a->cpu_pct, b->cpu_pct, true);
	return n;
}

static char *causes_title(const struct explain_result *r)
{
	const char *s = r->side[r->slower].label, *q = r->side[!r->slower].label;
	bool slower = r->per_request && (r->gap_ns > 0 || r->by_throughput);

	return explain_strf(NULL, "%s %s %s: thread time %s by class, all threads' time over the %s "
			    "(A = %s, B = %s; DELTA = %s minus %s)", slower ? "why" : "where", s,
			    slower ? "is slower" : "spends more", explain_per(r),
			    r->per_request ? "requests" : "run's seconds", r->side[0].label,
			    r->side[1].label, s, q);
}

static char *noise_sentence(const struct explain_result *r)
{
	char floor[16];

	explain_fmt_ns(floor, sizeof(floor), r->noise_ns);
	return explain_strf(NULL, "%.0f%% of %s's %s, %s", 100 * EXPLAIN_NOISE, r->side[r->slower].label,
			    r->per_request && r->side[r->slower].mean_ns ? "mean latency" :
			    "work time per unit", floor);
}

static char *coverage_sentence(const struct explain_result *r)
{
	const struct explain_side *s = &r->side[r->slower], *q = &r->side[!r->slower];
	bool aq = s->per_unit[EXR_ACCEPT_QUEUE] || q->per_unit[EXR_ACCEPT_QUEUE];
	char gap[16], ms[16], mq[16];

	explain_fmt_ns(gap, sizeof(gap), r->gap_ns);
	if (!r->ncauses)
		return explain_strf(NULL, "no class differs by more than the noise floor: the two sides "
				    "spend their time alike");
	if (r->by_throughput) {
		report_fmt_ns(ms, sizeof(ms), s->mean_ns);
		report_fmt_ns(mq, sizeof(mq), q->mean_ns);
		return explain_strf(NULL, "%s answered %.1f successful requests per second, %s %.1f "
				    "(%.2fx): under the same load %s is the slower side, although its "
				    "server-side mean latency is %s against %s (that latency starts at the "
				    "request's first read and misses the wait before it); the ranked classes "
				    "are the %s per request by which %s's threads spend more", s->label,
				    s->ok_rps, q->label, q->ok_rps, q->ok_rps / s->ok_rps, s->label, ms,
				    mq, gap, s->label);
	}
	if (r->per_request && r->gap_ns <= 0) {
		report_fmt_ns(ms, sizeof(ms), s->mean_ns);
		report_fmt_ns(mq, sizeof(mq), q->mean_ns);
		return explain_strf(NULL, "the mean latencies do not differ (%s %s, %s %s): the causes are "
				    "where %s's threads spend more time", s->label, ms, q->label, mq, s->label);
	}
	if (r->per_request && r->covered_raw > 1)
		return explain_strf(NULL, "the causes add up to %.0f%% of the %s difference in mean "
				    "latency%s: %s's threads spend more time per request than its requests "
				    "take (the time of concurrent threads adds up)", 100 * r->covered_raw, gap,
				    aq ? " (with the accept-queue wait)" : "", s->label);
	if (r->per_request)
		return explain_strf(NULL, "the causes cover %.0f%% of the %s difference in mean latency%s",
				    100 * r->covered, gap, aq ? " (with the accept-queue wait)" : "");
	return explain_strf(NULL, "the causes cover %.0f%% of the %s per second by which %s's threads "
			    "spend more time in the classes where they do", 100 * r->covered, gap, s->label);
}

static void fmt_duration(char *buf, size_t len, const struct explain_result *r)
{
	if (fabs(r->side[0].secs - r->side[1].secs) < 0.05)
		snprintf(buf, len, "%.1f s", r->side[0].secs);
	else
		snprintf(buf, len, "%.1f s and %.1f s", r->side[0].secs, r->side[1].secs);
}

static void text_rows(FILE *out, const struct explain_result *r)
{
	const char *unit = r->per_request ? "/req" : "/s";
	char ha[16], hb[16];
	bool idle = false, below = false;

	snprintf(ha, sizeof(ha), "A%s", unit);
	snprintf(hb, sizeof(hb), "B%s", unit);
	fprintf(out, "  %-14s %10s %10s %10s %7s\n", "CLASS", ha, hb, "DELTA", "SHARE");
	for (size_t i = 0; i < r->ncauses; i++) {
		const struct explain_cause *x = &r->causes[i];
		char a[16], b[16], d[16];

		explain_fmt_ns(a, sizeof(a), x->a);
		explain_fmt_ns(b, sizeof(b), x->b);
		explain_fmt_delta(d, sizeof(d), x->delta);
		fprintf(out, "  %-14s %10s %10s %10s %6.1f%%\n      %s\n", x->cls, a, b, d,
			100 * x->share, x->evidence ? x->evidence : "");
	}
	for (int k = 0; k < EXR_MAX; k++) {
		const struct explain_row *x = &r->rows[k];
		char a[16], b[16];

		if (!x->idle || (!x->a && !x->b))
			continue;
		explain_fmt_ns(a, sizeof(a), x->a);
		explain_fmt_ns(b, sizeof(b), x->b);
		fprintf(out, "%s %s A %s, B %s", idle ? ";" : "  not in the gap (idle: waiting for work):",
			x->cls, a, b);
		idle = true;
	}
	if (idle)
		fprintf(out, " %s\n", explain_per(r));
	for (int k = 0; k < EXR_MAX; k++) {
		const struct explain_row *x = &r->rows[k];
		char d[16], *floor;

		if (x->idle || x->delta <= 0 || x->delta >= r->noise_ns)
			continue;
		if (!below) {
			floor = noise_sentence(r);
			fprintf(out, "  below the noise floor (%s):", floor ? floor : "");
			free(floor);
		}
		explain_fmt_delta(d, sizeof(d), x->delta);
		fprintf(out, "%s %s %s", below ? "," : "", x->cls, d);
		below = true;
	}
	if (below)
		fprintf(out, "\n");
}

void explain_text(FILE *out, const struct explain_result *r)
{
	struct headline_row rows[HEADLINE_MAX];
	size_t n = headline(r, rows);
	char dur[48], *s;

	fmt_duration(dur, sizeof(dur), r);
	fprintf(out, "iogap explain: %s vs %s (%s%s%s)\n", r->side[0].label, r->side[1].label,
		r->source ? r->source : "", r->source ? ", " : "", dur);
	for (size_t i = 0; i < r->nwarnings; i++)
		fprintf(out, "WARNING: %s\n", r->warnings[i]);
	if (r->valid_note)
		fprintf(out, "%s\n", r->valid_note);
	else
		fprintf(out, "not valid as it is: read what follows with the warnings above in mind\n");
	fprintf(out, "\n  %-22s %20.20s %20.20s %8s\n", "", r->side[0].label, r->side[1].label, "B/A");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-22s %20s %20s %8s\n", rows[i].name, rows[i].v[0], rows[i].v[1], rows[i].ratio);
	s = causes_title(r);
	fprintf(out, "\n%s:\n", s ? s : "");
	free(s);
	text_rows(out, r);
	s = coverage_sentence(r);
	fprintf(out, "%s\n", s ? s : "");
	free(s);
	if (r->nfindings)
		fprintf(out, "\nfindings:\n");
	for (size_t i = 0; i < r->nfindings; i++)
		fprintf(out, "  - %s\n", r->findings[i]);
}

static cJSON *strings_json(char *const *list, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(list[i]));
	return a;
}

static cJSON *side_json(const struct explain_side *s)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "target", s->target);
	cJSON_AddNumberToObject(o, "duration_ns", llround(s->secs * 1e9));
	cJSON_AddNumberToObject(o, "requests", (double)s->requests);
	cJSON_AddNumberToObject(o, "requests_2xx", (double)s->status[0]);
	cJSON_AddNumberToObject(o, "rps", s->rps);
	cJSON_AddNumberToObject(o, "rps_2xx", s->ok_rps);
	cJSON_AddNumberToObject(o, "p50_ns", (double)s->p50_ns);
	cJSON_AddNumberToObject(o, "p95_ns", (double)s->p95_ns);
	cJSON_AddNumberToObject(o, "p99_ns", (double)s->p99_ns);
	cJSON_AddNumberToObject(o, "mean_ns", (double)s->mean_ns);
	cJSON_AddNumberToObject(o, "error_rate", s->error_rate);
	cJSON_AddNumberToObject(o, "connections", (double)s->conns);
	cJSON_AddNumberToObject(o, "connection_error_rate", s->conn_error_rate);
	cJSON_AddNumberToObject(o, "cpu_pct", s->cpu_pct);
	cJSON_AddNumberToObject(o, "ncpus", s->ncpus);
	return o;
}

static void ratio_json(cJSON *o, const char *name, double b, double a)
{
	if (a > 0)
		cJSON_AddNumberToObject(o, name, b / a);
	else
		cJSON_AddNullToObject(o, name);
}

static cJSON *headline_json(const struct explain_result *r)
{
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	cJSON *h = cJSON_CreateObject(), *q;

	cJSON_AddItemToObject(h, "a", side_json(a));
	cJSON_AddItemToObject(h, "b", side_json(b));
	q = cJSON_AddObjectToObject(h, "ratio_b_a");
	ratio_json(q, "requests", b->requests, a->requests);
	ratio_json(q, "rps", b->rps, a->rps);
	ratio_json(q, "rps_2xx", b->ok_rps, a->ok_rps);
	ratio_json(q, "p50", b->p50_ns, a->p50_ns);
	ratio_json(q, "p95", b->p95_ns, a->p95_ns);
	ratio_json(q, "p99", b->p99_ns, a->p99_ns);
	ratio_json(q, "mean", b->mean_ns, a->mean_ns);
	return h;
}

char *explain_json(const struct explain_result *r)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *s;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "iogap", IOGAP_VERSION);
	cJSON_AddStringToObject(o, "a", r->side[0].label);
	cJSON_AddStringToObject(o, "b", r->side[1].label);
	if (r->source)
		cJSON_AddStringToObject(o, "source", r->source);
	cJSON_AddBoolToObject(o, "valid", r->valid);
	cJSON_AddItemToObject(o, "warnings", strings_json(r->warnings, r->nwarnings));
	cJSON_AddStringToObject(o, "unit", r->per_request ? "request" : "second");
	cJSON_AddStringToObject(o, "slower", r->side[r->slower].label);
	cJSON_AddItemToObject(o, "headline", headline_json(r));
	arr = cJSON_AddArrayToObject(o, "causes");
	for (size_t i = 0; i < r->ncauses; i++) {
		const struct explain_cause *x = &r->causes[i];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "class", x->cls);
		cJSON_AddNumberToObject(e, "delta_ns_per_request", llround(x->delta));
		cJSON_AddNumberToObject(e, "share", x->share);
		cJSON_AddStringToObject(e, "evidence", x->evidence ? x->evidence : "");
		cJSON_AddNumberToObject(e, "a_ns", llround(x->a));
		cJSON_AddNumberToObject(e, "b_ns", llround(x->b));
		cJSON_AddItemToArray(arr, e);
	}
	arr = cJSON_AddArrayToObject(o, "decomposition");
	for (int k = 0; k < EXR_MAX; k++) {
		const struct explain_row *x = &r->rows[k];
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "class", x->cls);
		cJSON_AddNumberToObject(e, "a_ns", llround(x->a));
		cJSON_AddNumberToObject(e, "b_ns", llround(x->b));
		cJSON_AddNumberToObject(e, "delta_ns", llround(x->delta));
		cJSON_AddNumberToObject(e, "share", x->share);
		cJSON_AddBoolToObject(e, "idle", x->idle);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddNumberToObject(o, "gap_ns", llround(r->gap_ns));
	cJSON_AddNumberToObject(o, "noise_floor_ns", llround(r->noise_ns));
	cJSON_AddNumberToObject(o, "covered", r->covered);
	cJSON_AddNumberToObject(o, "covered_raw", r->covered_raw);
	cJSON_AddItemToObject(o, "findings", strings_json(r->findings, r->nfindings));
	s = cJSON_Print(o);
	cJSON_Delete(o);
	return s;
}

static void html_p(FILE *f, const char *cls, const char *text)
{
	fprintf(f, "<p class=\"%s\">", cls);
	report_html_escape(f, text);
	fputs("</p>\n", f);
}

static void html_cell(FILE *f, const char *tag, const char *cls, const char *text)
{
	fprintf(f, "<%s%s%s%s>", tag, cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
	report_html_escape(f, text);
	fprintf(f, "</%s>", tag);
}

static void html_causes(FILE *f, const struct explain_result *r)
{
	char *s = causes_title(r);

	fputs("<h3>", f);
	report_html_escape(f, s ? s : "");
	fputs("</h3>\n", f);
	free(s);
	fputs("<div class=\"scroll\"><table>\n<tr>", f);
	html_cell(f, "th", "l", "class");
	html_cell(f, "th", NULL, r->side[0].label);
	html_cell(f, "th", NULL, r->side[1].label);
	html_cell(f, "th", NULL, "delta");
	html_cell(f, "th", NULL, "share");
	fputs("</tr>\n", f);
	for (size_t i = 0; i < r->ncauses; i++) {
		const struct explain_cause *x = &r->causes[i];
		char a[16], b[16], d[16], sh[16];

		explain_fmt_ns(a, sizeof(a), x->a);
		explain_fmt_ns(b, sizeof(b), x->b);
		explain_fmt_delta(d, sizeof(d), x->delta);
		snprintf(sh, sizeof(sh), "%.1f%%", 100 * x->share);
		fputs("<tr>", f);
		html_cell(f, "td", "l", x->cls);
		html_cell(f, "td", NULL, a);
		html_cell(f, "td", NULL, b);
		html_cell(f, "td", NULL, d);
		html_cell(f, "td", NULL, sh);
		fputs("</tr>\n", f);
	}
	fputs("</table></div>\n<ol>\n", f);
	for (size_t i = 0; i < r->ncauses; i++) {
		html_cell(f, "li", NULL, r->causes[i].evidence ? r->causes[i].evidence : "");
		fputs("\n", f);
	}
	fputs("</ol>\n", f);
}

char *explain_html(const struct explain_result *r)
{
	struct headline_row rows[HEADLINE_MAX];
	size_t n = headline(r, rows), len = 0;
	char *buf = NULL, *s, dur[48];
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fmt_duration(dur, sizeof(dur), r);
	fputs("<p>", f);
	report_html_escape(f, r->side[0].label);
	fputs(" (A) vs ", f);
	report_html_escape(f, r->side[1].label);
	fprintf(f, " (B), %s.</p>\n", dur);
	for (size_t i = 0; i < r->nwarnings; i++)
		html_p(f, "warn", r->warnings[i]);
	if (r->valid_note)
		html_p(f, "note", r->valid_note);
	fputs("<div class=\"scroll\"><table>\n<tr><th></th>", f);
	html_cell(f, "th", NULL, r->side[0].label);
	html_cell(f, "th", NULL, r->side[1].label);
	fputs("<th>B/A</th></tr>\n", f);
	for (size_t i = 0; i < n; i++) {
		fputs("<tr>", f);
		html_cell(f, "td", "l", rows[i].name);
		html_cell(f, "td", NULL, rows[i].v[0]);
		html_cell(f, "td", NULL, rows[i].v[1]);
		html_cell(f, "td", NULL, rows[i].ratio);
		fputs("</tr>\n", f);
	}
	fputs("</table></div>\n", f);
	html_causes(f, r);
	s = coverage_sentence(r);
	html_p(f, "note", s ? s : "");
	free(s);
	if (r->nfindings)
		fputs("<h3>Findings</h3>\n<ul>\n", f);
	for (size_t i = 0; i < r->nfindings; i++) {
		html_cell(f, "li", NULL, r->findings[i]);
		fputs("\n", f);
	}
	if (r->nfindings)
		fputs("</ul>\n", f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
