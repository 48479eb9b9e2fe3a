/*
 * Validity, checked before anything is ranked: what makes a side's figures incomparable as they
 * are (valid = false): HTTP errors or failed connections above EXPLAIN_MAX_ERROR_RATE on a side
 * (or differing by more than that), unequal load (accept rates, request mix), lost events,
 * HTTP or thread time measured on one side only. Worth a warning but still comparable: SQLite on
 * one side only, fewer than EXPLAIN_MIN_REQUESTS requests, no HTTP on either side.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "explain/explain_int.h"

#define MIX_LISTED 3

/* Either side's rate above the limit, or the two apart by more than it. */
static bool rates_bad(double a, double b)
{
	return a > EXPLAIN_MAX_ERROR_RATE || b > EXPLAIN_MAX_ERROR_RATE ||
	       fabs(a - b) > EXPLAIN_MAX_ERROR_RATE;
}

static void warn_http_errors(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	int w = b->error_rate > a->error_rate ? 1 : 0;
	const struct explain_side *x = &r->side[w], *y = &r->side[!w];
	bool both = y->error_rate > EXPLAIN_MAX_ERROR_RATE;

	if (!a->http || !b->http || !rates_bad(a->error_rate, b->error_rate))
		return;
	r->valid = false;
	explain_addf(r, &r->warnings, &r->nwarnings,
		     "%s answered %.1f%% of its %" PRIu64 " requests with errors (4xx %" PRIu64 ", 5xx %"
		     PRIu64 ", other %" PRIu64 "), %s %.1f%% of its %" PRIu64 " (4xx %" PRIu64 ", 5xx %"
		     PRIu64 "): %s the speed of failing; compare successful requests only (2xx per "
		     "second: %s %.1f, %s %.1f); latency percentiles and the time budget below include "
		     "the error answers (the per-route histograms are not split by status)",
		     x->label, 100 * x->error_rate, x->requests, x->status[2], x->status[3], x->other,
		     y->label, 100 * y->error_rate, y->requests, y->status[2], y->status[3],
		     both ? "both sides' speeds include" : "its speed is", a->label, a->ok_rps,
		     b->label, b->ok_rps);
}

static void warn_conn_errors(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	int w = b->conn_error_rate > a->conn_error_rate ? 1 : 0;
	const struct explain_side *x = &r->side[w], *y = &r->side[!w];
	const struct tcp_stats *tx = &c->t[w]->net.tcp;

	if (!rates_bad(a->conn_error_rate, b->conn_error_rate))
		return;
	r->valid = false;
	explain_addf(r, &r->warnings, &r->nwarnings,
		     "%s's connections failed: %" PRIu64 " resets or refusals for %" PRIu64 " connections "
		     "and %" PRIu64 " requests (%.1f%%: resets sent %" PRIu64 ", received %" PRIu64
		     ", refused connects %" PRIu64 "), %s %" PRIu64 " for %" PRIu64 " and %" PRIu64
		     " (%.1f%%): failed connections are failures the HTTP status counts do not show",
		     x->label, x->conn_errors, x->conns, x->requests, 100 * x->conn_error_rate,
		     (uint64_t)tx->resets_sent, (uint64_t)tx->resets_received, (uint64_t)tx->refused,
		     y->label, y->conn_errors, y->conns, y->requests, 100 * y->conn_error_rate);
}

static void warn_accept_rate(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *a = &r->side[0], *b = &r->side[1];
	double ra = explain_div(c->t[0]->net.tcp.accepted, a->secs);
	double rb = explain_div(c->t[1]->net.tcp.accepted, b->secs);

	if (!ra || !rb || fmax(ra, rb) / fmin(ra, rb) <= EXPLAIN_ACCEPT_RATIO)
		return;
	r->valid = false;
	explain_addf(r, &r->warnings, &r->nwarnings,
		     "unequal load: %s accepted %.1f connections per second, %s %.1f (%.1fx; %.2f and "
		     "%.2f per request): the clients' concurrency or the servers' keep-alive differed",
		     a->label, ra, b->label, rb, fmax(ra, rb) / fmin(ra, rb),
		     explain_div(c->t[0]->net.tcp.accepted, a->requests),
		     explain_div(c->t[1]->net.tcp.accepted, b->requests));
}

/* Requests of one method and route on a side (served). */
static uint64_t route_count(const struct target *t, const char *method, const char *route)
{
	uint64_t n = 0;

	for (size_t i = 0; i < t->net.nroutes; i++) {
		const struct http_route *x = &t->net.routes[i];

		if (!x->side && !strcmp(x->method, method) && !strcmp(x->route, route))
			n += x->count;
	}
	return n;
}

struct mix_diff {
	const struct http_route *route;
	double sa, sb;
};

static int cmp_mix(const void *x, const void *y)
{
	double dx = fabs(((const struct mix_diff *)x)->sa - ((const struct mix_diff *)x)->sb);
	double dy = fabs(((const struct mix_diff *)y)->sa - ((const struct mix_diff *)y)->sb);

	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

/* Adds the routes of side i whose share differs, once per route (routes of side 0 first). */
static size_t mix_collect(struct explain_ctx *c, int i, struct mix_diff *d, size_t n)
{
	const struct target *t = c->t[i];

	for (size_t j = 0; j < t->net.nroutes; j++) {
		const struct http_route *x = &t->net.routes[j];
		double sa, sb;

		if (x->side || !x->count || (i == 1 && route_count(c->t[0], x->method, x->route)))
			continue;
		sa = explain_div(route_count(c->t[0], x->method, x->route), c->r->side[0].requests);
		sb = explain_div(route_count(c->t[1], x->method, x->route), c->r->side[1].requests);
		if (fabs(sa - sb) <= EXPLAIN_MIX_POINTS)
			continue;
		for (size_t k = 0; k < n; k++)
			if (!strcmp(d[k].route->method, x->method) && !strcmp(d[k].route->route, x->route))
				goto next;
		d[n++] = (struct mix_diff){ x, sa, sb };
next:		;
	}
	return n;
}

static void warn_mix(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	size_t cap = c->t[0]->net.nroutes + c->t[1]->net.nroutes, n;
	struct mix_diff *d;
	char *list = NULL;
	size_t len = 0;
	FILE *f;

	if (!r->side[0].http || !r->side[1].http || !cap)
		return;
	d = calloc(cap, sizeof(*d));
	if (!d) {
		r->oom = true;
		return;
	}
	n = mix_collect(c, 0, d, 0);
	n = mix_collect(c, 1, d, n);
	if (!n) {
		free(d);
		return;
	}
	qsort(d, n, sizeof(*d), cmp_mix);
	f = open_memstream(&list, &len);
	if (!f) {
		free(d);
		r->oom = true;
		return;
	}
	for (size_t k = 0; k < n && k < MIX_LISTED; k++)
		fprintf(f, "%s%s %s is %.1f%% of %s's requests, %.1f%% of %s's", k ? "; " : "",
			d[k].route->method, d[k].route->route, 100 * d[k].sa, r->side[0].label,
			100 * d[k].sb, r->side[1].label);
	if (n > MIX_LISTED)
		fprintf(f, "; and %zu more route%s", n - MIX_LISTED, n - MIX_LISTED == 1 ? "" : "s");
	if (fclose(f))
		r->oom = true;
	r->valid = false;
	explain_addf(r, &r->warnings, &r->nwarnings, "unequal load: the request mix differs by more "
		     "than %.0f points: %s; compare the routes one by one", 100 * EXPLAIN_MIX_POINTS,
		     list ? list : "");
	free(list);
	free(d);
}

static void warn_drops(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	for (int i = 0; i < 2; i++) {
		const struct model *m = c->m[i];
		uint64_t lost = model_drops(m);

		if (!lost || (i == 1 && c->m[0] == c->m[1]))
			continue;
		r->valid = false;
		explain_addf(r, &r->warnings, &r->nwarnings,
			     "%" PRIu64 " events or updates were lost in the measurement of %s (ring buffer "
			     "%" PRIu64 ", full maps %" PRIu64 ", skipped by the kernel %" PRIu64 "): %s "
			     "figures are short by as much",
			     lost, c->m[0] == c->m[1] ? "both sides" : r->side[i].label,
			     m->counters[CNT_RB_DROPS], model_map_losses(m), m->counters[CNT_PROG_MISSES],
			     c->m[0] == c->m[1] ? "their" : "its");
	}
}

static void warn_layers(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	for (int i = 0; i < 2; i++) {
		const struct explain_side *x = &r->side[i], *y = &r->side[!i];

		if (x->http && !y->http) {
			r->valid = false;
			explain_addf(r, &r->warnings, &r->nwarnings,
				     "%s served %" PRIu64 " HTTP requests, %s none: both are compared per "
				     "second of the run instead of per request", x->label, x->requests, y->label);
		}
		if (x->sqlite && !y->sqlite)
			explain_addf(r, &r->warnings, &r->nwarnings,
				     "SQLite was measured on %s only (%zu statements, %" PRIu64 " connection "
				     "opens); %s %s", x->label, c->nst[i], x->sq_opens, y->label,
				     c->t[!i]->sq.library ? "had SQLite attached but ran no statement"
							  : "had no SQLite library iogap could attach to");
		if (!x->budget) {
			r->valid = false;
			explain_addf(r, &r->warnings, &r->nwarnings,
				     "no thread time was measured for %s: its time budget is missing, so "
				     "the decomposition below has nothing to compare on that side", x->label);
		}
	}
	if (!r->side[0].http && !r->side[1].http)
		explain_addf(r, &r->warnings, &r->nwarnings,
			     "neither side served HTTP requests: compared per second of the run instead "
			     "of per request");
}

static void warn_few(struct explain_ctx *c)
{
	struct explain_result *r = c->r;

	for (int i = 0; i < 2; i++)
		if (r->side[i].http && r->side[i].requests < EXPLAIN_MIN_REQUESTS)
			explain_addf(r, &r->warnings, &r->nwarnings,
				     "too few requests for a stable p99: %s served %" PRIu64 " (fewer than "
				     "%d; its p99 rests on %" PRIu64 " requests)", r->side[i].label,
				     r->side[i].requests, EXPLAIN_MIN_REQUESTS,
				     (uint64_t)ceil(r->side[i].requests / 100.0));
}

void explain_validity(struct explain_ctx *c)
{
	struct explain_result *r = c->r;
	const struct explain_side *a = &r->side[0], *b = &r->side[1];

	r->valid = true;
	warn_http_errors(c);
	warn_conn_errors(c);
	if (a->http && b->http) {
		warn_accept_rate(c);
		warn_mix(c);
	}
	warn_drops(c);
	warn_layers(c);
	warn_few(c);
	if (!r->valid)
		return;
	if (r->nwarnings)
		r->valid_note = explain_strf(r, "valid, with the warning%s above: the figures can be "
					     "compared as they are", r->nwarnings == 1 ? "" : "s");
	else if (r->per_request)
		r->valid_note = explain_strf(r, "valid: both sides answered ≥%.0f%% with 2xx (%s %.1f%%, "
					     "%s %.1f%%), resets and refusals ≤%.0f%% of connections, "
					     "the same request mix (within %.0f points), no events lost",
					     100 * (1 - EXPLAIN_MAX_ERROR_RATE), a->label,
					     100 * explain_div(a->status[0], a->requests), b->label,
					     100 * explain_div(b->status[0], b->requests),
					     100 * EXPLAIN_MAX_ERROR_RATE, 100 * EXPLAIN_MIX_POINTS);
	else
		r->valid_note = explain_strf(r, "valid: resets and refusals ≤%.0f%% of connections, no "
					     "events lost", 100 * EXPLAIN_MAX_ERROR_RATE);
}
