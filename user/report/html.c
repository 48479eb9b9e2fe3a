/*
 * The HTML view: one self-contained page. Inline CSS, charts drawn here as inline SVG (they work
 * with scripts off, print, and scale with the page through their viewBox); a Content Security
 * Policy forbids any fetch, so the file shows the same offline as anywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include "report/report.h"

#define TOP_ROWS 10
#define STR(x) #x
#define XSTR(x) STR(x)
#define CHART_W 480                /* phone-sized text at a phone's width, and half a desktop's */
#define CHART_H 280
#define MARGIN_L 58
#define MARGIN_R 16
#define MARGIN_T 14
#define MARGIN_B 42
#define MAX_TICKS 16
#define MAX_POINT_MARKS 60        /* more points than this: lines without a dot per point */

static const char *const target_colors[] = {
	"#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1",
	"#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#79706e",
};

static const char *const budget_colors[BUD_MAX] = {
	[BUD_CPU] = "#4e79a7", [BUD_RUNQ] = "#e15759", [BUD_FILE_READ] = "#76b7b2",
	[BUD_FILE_WRITE] = "#59a14f", [BUD_FSYNC] = "#edc948", [BUD_LOCK] = "#b07aa1",
	[BUD_FUTEX] = "#ff9da7", [BUD_NET_RECV] = "#9c755f", [BUD_NET_SEND] = "#f28e2b",
	[BUD_ACCEPT] = "#86bcb6", [BUD_POLL_IDLE] = "#bab0ac", [BUD_SLEEP] = "#d4a6c8",
	[BUD_BUSY_SLEEP] = "#8c510a", [BUD_OTHER] = "#6b6b6b", [BUD_IDLE_WAIT] = "#d7d7d7",
};

/* Where a target's latency distribution comes from. */
enum lat_source { LAT_NONE, LAT_HTTP_SERVED, LAT_HTTP_MADE, LAT_FILE };

static const char *const lat_source_names[] = {
	[LAT_NONE] = "-", [LAT_HTTP_SERVED] = "HTTP served", [LAT_HTTP_MADE] = "HTTP made",
	[LAT_FILE] = "file I/O",
};

/* One target as the page shows it. */
struct view {
	const struct target *t;
	const char *color;
	enum lat_source src;
	struct hist lat;
	uint64_t lat_max;         /* exact maximum where known (file I/O), else 0 */
	uint64_t lat_n, errors;   /* requests (or operations) measured, and those that failed */
	uint64_t budget[BUD_MAX];
};

void report_html_escape(FILE *out, const char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
}

/* The target's requests merged over routes (served ones, else the ones it made), else its file
 * I/O operations; src picks one of them (LAT_NONE: the first that has samples). */
static enum lat_source lat_merge(const struct target *t, enum lat_source src, struct hist *h,
				 uint64_t *max, uint64_t *errors)
{
	memset(h, 0, sizeof(*h));
	*max = *errors = 0;
	for (int side = 0; side < 2; side++) {
		enum lat_source s = side ? LAT_HTTP_MADE : LAT_HTTP_SERVED;

		if (src != LAT_NONE && src != s)
			continue;
		for (size_t i = 0; i < t->net.nroutes; i++) {
			const struct http_route *r = &t->net.routes[i];

			if (r->side != side)
				continue;
			hist_add(h, &r->lat);
			*errors += r->status[2] + r->status[3] + r->other;
		}
		if (src == s || hist_count(h))
			return s;
		*errors = 0;
	}
	for (size_t i = 0; i < t->nops; i++) {
		const struct op_stats *o = &t->ops[i];

		if (o->fd_kind != FDK_FILE)
			continue;
		hist_add(h, &o->hist);
		*errors += o->errors;
		if (o->max_ns > *max)
			*max = o->max_ns;
	}
	return hist_count(h) || src == LAT_FILE ? LAT_FILE : LAT_NONE;
}

static struct view *views_make(const struct model *m)
{
	struct view *v = calloc(m->ntargets ? m->ntargets : 1, sizeof(*v));

	for (size_t i = 0; v && i < m->ntargets; i++) {
		v[i].t = &m->targets[i];
		v[i].color = target_colors[i % (sizeof(target_colors) / sizeof(target_colors[0]))];
		v[i].src = lat_merge(v[i].t, LAT_NONE, &v[i].lat, &v[i].lat_max, &v[i].errors);
		v[i].lat_n = hist_count(&v[i].lat);
		target_budget(v[i].t, v[i].budget);
	}
	return v;
}

/* The same target in an interval's model: at the same index, else by name. */
static const struct target *interval_target(const struct model *m, size_t i, const char *name)
{
	if (i < m->ntargets && !strcmp(m->targets[i].name, name))
		return &m->targets[i];
	for (size_t j = 0; j < m->ntargets; j++)
		if (!strcmp(m->targets[j].name, name))
			return &m->targets[j];
	return NULL;
}

enum unit { U_NUM, U_NS, U_PCT, U_SEC };

struct axis {
	double lo, hi;
	bool log;
	enum unit unit;
	int nticks;
	double ticks[MAX_TICKS];
};

static void fmt_value(char *buf, size_t len, double v, enum unit u)
{
	switch (u) {
	case U_NS: report_fmt_ns(buf, len, v > 0 ? (uint64_t)(v + 0.5) : 0); break;
	case U_PCT: snprintf(buf, len, "%.0f%%", v * 100); break;
	case U_SEC: snprintf(buf, len, "%gs", v); break;
	default: snprintf(buf, len, "%g", v); break;
	}
}

/* An axis label: "2ms", not "2.0ms". */
static void fmt_tick(char *buf, size_t len, double v, enum unit u)
{
	char *z;

	fmt_value(buf, len, v, u);
	if (u == U_NS && (z = strstr(buf, ".0")) && (z[2] < '0' || z[2] > '9'))
		memmove(z, z + 2, strlen(z + 2) + 1);
}

/* 0 to at least max, in 1/2/5 steps. */
static void axis_linear(struct axis *a, double max, enum unit u)
{
	double step, mag, r;

	memset(a, 0, sizeof(*a));
	a->unit = u;
	if (!(max > 0))
		max = 1;
	mag = pow(10, floor(log10(max / 4)));
	r = max / 4 / mag;
	step = (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
	while (a->nticks < MAX_TICKS && (a->nticks == 0 || a->ticks[a->nticks - 1] < max * (1 - 1e-9))) {
		a->ticks[a->nticks] = a->nticks * step;
		a->nticks++;
	}
	a->hi = a->ticks[a->nticks - 1];
}

/* Whole decades around [lo, hi]. */
static void axis_decades(struct axis *a, double lo, double hi, enum unit u)
{
	int d0 = (int)floor(log10(lo > 1 ? lo : 1)), d1 = (int)ceil(log10(hi > lo ? hi : lo * 10));

	memset(a, 0, sizeof(*a));
	a->unit = u;
	a->log = true;
	if (d1 <= d0)
		d1 = d0 + 1;
	if (d1 - d0 >= MAX_TICKS)
		d0 = d1 - MAX_TICKS + 1;
	a->lo = pow(10, d0);
	a->hi = pow(10, d1);
	for (int d = d0; d <= d1; d++)
		a->ticks[a->nticks++] = pow(10, d);
}

static double axis_pos(const struct axis *a, double v, double p0, double p1)
{
	double t;

	if (a->log) {
		v = v < a->lo ? a->lo : v;
		t = (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	} else {
		t = a->hi > a->lo ? (v - a->lo) / (a->hi - a->lo) : 0;
	}
	return p0 + t * (p1 - p0);
}

static void svg_open(FILE *out, const char *id, int h, const char *title)
{
	fprintf(out, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" role=\"img\" "
		"aria-labelledby=\"%s-t\"><title id=\"%s-t\">",
		id, CHART_W, h, id, id);
	report_html_escape(out, title);
	fputs("</title>\n", out);
}

/* The plot area's grid, tick labels and the x axis' name. */
static void svg_axes(FILE *out, const struct axis *x, const struct axis *y, const char *xname)
{
	double x0 = MARGIN_L, x1 = CHART_W - MARGIN_R, y0 = CHART_H - MARGIN_B, y1 = MARGIN_T;
	int every = x->nticks > 8 ? 2 : 1;
	char buf[32];

	fputs("<g class=\"axis\">\n", out);
	for (int i = 0; i < y->nticks; i++) {
		double py = axis_pos(y, y->ticks[i], y0, y1);

		fmt_tick(buf, sizeof(buf), y->ticks[i], y->unit);
		fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			x0, py, x1, py, x0 - 6, py + 4, buf);
	}
	for (int i = 0; i < x->nticks; i++) {
		double px = axis_pos(x, x->ticks[i], x0, x1);

		fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
			px, y0, px, y1);
		if (i % every == 0) {
			fmt_tick(buf, sizeof(buf), x->ticks[i], x->unit);
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s</text>", px,
				y0 + 17, i == x->nticks - 1 ? "end" : "middle", buf);
		}
		fputc('\n', out);
	}
	fprintf(out, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n"
		"<text class=\"name\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n</g>\n",
		x0, y1, x1 - x0, y0 - y1, (x0 + x1) / 2, CHART_H - 6, xname);
}

/* One line of a chart; a NAN y is a gap. */
struct series {
	const struct view *v;
	size_t n;
	double *x, *y;
};

static void svg_series(FILE *out, const struct series *s, const struct axis *x, const struct axis *y,
		       bool marks)
{
	double x0 = MARGIN_L, x1 = CHART_W - MARGIN_R, y0 = CHART_H - MARGIN_B, y1 = MARGIN_T;
	bool pen = false;
	char bx[32], by[32];

	fprintf(out, "<g class=\"series\"><title>");
	report_html_escape(out, s->v->t->name);
	fprintf(out, "</title><path fill=\"none\" stroke=\"%s\" stroke-width=\"2.2\" "
		"stroke-linejoin=\"round\" d=\"", s->v->color);
	for (size_t i = 0; i < s->n; i++) {
		if (isnan(s->y[i])) {
			pen = false;
			continue;
		}
		fprintf(out, "%s%.1f %.1f", pen ? " L" : " M", axis_pos(x, s->x[i], x0, x1),
			axis_pos(y, s->y[i], y0, y1));
		pen = true;
	}
	fputs("\"/>\n", out);
	for (size_t i = 0; marks && i < s->n; i++) {
		if (isnan(s->y[i]))
			continue;
		fmt_value(bx, sizeof(bx), s->x[i], x->unit);
		fmt_value(by, sizeof(by), s->y[i], y->unit);
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", axis_pos(x, s->x[i], x0, x1),
			axis_pos(y, s->y[i], y0, y1), s->v->color);
		report_html_escape(out, s->v->t->name);
		fprintf(out, " at %s: %s</title></circle>\n", bx, by);
	}
	fputs("</g>\n", out);
}

static void legend(FILE *out, const struct series *s, size_t n)
{
	fputs("<ul class=\"legend\">", out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "<li><i class=\"sw\" style=\"background-color:%s\"></i>", s[i].v->color);
		report_html_escape(out, s[i].v->t->name);
		fputs("</li>", out);
	}
	fputs("</ul>\n", out);
}

static void figure_line_chart(FILE *out, const char *id, const char *caption, const char *xname,
			      const struct axis *x, const struct axis *y, const struct series *s, size_t n)
{
	size_t points = 0;

	for (size_t i = 0; i < n; i++)
		points = s[i].n > points ? s[i].n : points;
	fprintf(out, "<figure><figcaption>%s</figcaption>\n", caption);
	svg_open(out, id, CHART_H, caption);
	svg_axes(out, x, y, xname);
	for (size_t i = 0; i < n; i++)
		svg_series(out, &s[i], x, y, points <= MAX_POINT_MARKS && x->unit == U_SEC);
	fputs("</svg>\n", out);
	legend(out, s, n);
	fputs("</figure>\n", out);
}

static int series_alloc(struct series *s, const struct view *v, size_t cap)
{
	s->v = v;
	s->n = 0;
	s->x = malloc((cap ? cap : 1) * sizeof(double));
	s->y = malloc((cap ? cap : 1) * sizeof(double));
	return s->x && s->y ? 0 : -ENOMEM;
}

static void series_free(struct series *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].x);
		free(s[i].y);
	}
	free(s);
}

/* The CDF of each target's latencies, on a log time axis. */
static int chart_cdf(FILE *out, const struct view *v, size_t nv)
{
	struct series *s = calloc(nv ? nv : 1, sizeof(*s));
	double lo = INFINITY, hi = 0;
	struct axis x, y;
	size_t n = 0;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < nv; i++) {
		struct series *c = &s[n];
		uint64_t cum = 0, prev_hi = UINT64_MAX;

		if (!v[i].lat_n)
			continue;
		n++;
		if (series_alloc(c, &v[i], 2 * HIST_BUCKETS)) {
			series_free(s, nv);
			return -ENOMEM;
		}
		for (uint32_t b = 0; b < HIST_BUCKETS; b++) {
			uint64_t blo = hist_bucket_lo(b), bhi = hist_bucket_hi(b);

			if (!v[i].lat.b[b])
				continue;
			if (bhi == UINT64_MAX)
				bhi = blo + blo / HIST_SUB;
			/* flat across empty buckets, then the rise across this one */
			if (blo != prev_hi) {
				c->x[c->n] = blo ? blo : 1;
				c->y[c->n++] = (double)cum / v[i].lat_n;
			}
			cum += v[i].lat.b[b];
			c->x[c->n] = bhi;
			c->y[c->n++] = (double)cum / v[i].lat_n;
			prev_hi = bhi;
			lo = fmin(lo, blo ? blo : 1);
			hi = fmax(hi, bhi);
		}
	}
	if (n) {
		axis_decades(&x, lo, hi, U_NS);
		memset(&y, 0, sizeof(y));
		y.unit = U_PCT;
		y.hi = 1;
		for (int i = 0; i <= 4; i++)
			y.ticks[y.nticks++] = i / 4.0;
		figure_line_chart(out, "chart-cdf", "Latency distribution: share of requests at most this long",
				  "latency (log scale)", &x, &y, s, n);
	} else {
		fputs("<p class=\"note\">No latency was measured.</p>\n", out);
	}
	series_free(s, nv);
	return 0;
}

/* When interval k ended, in seconds since the start. */
static double interval_end(const struct report_html_input *in, size_t k)
{
	uint64_t ns = 0;

	if (in->t_ns)
		return in->t_ns[k] / 1e9;
	for (size_t j = 0; j <= k; j++)
		ns += in->intervals[j]->duration_ns;
	return ns / 1e9;
}

static double interval_secs(const struct report_html_input *in, size_t k)
{
	double d = in->intervals[k]->duration_ns / 1e9;

	return d > 0 ? d : interval_end(in, k) - (k ? interval_end(in, k - 1) : 0);
}

/* Requests per second and the p99 latency, interval by interval. */
static int chart_over_time(FILE *out, const struct report_html_input *in, const struct view *v, size_t nv)
{
	size_t k = in->nintervals, nr = 0, np = 0;
	struct series *rps = calloc(nv ? nv : 1, sizeof(*rps)), *p99 = calloc(nv ? nv : 1, sizeof(*p99));
	double tmax = 0, rmax = 0, pmax = 0;
	struct axis x, y;
	struct hist h;
	int err = 0;

	if (!rps || !p99) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; k && i < nv; i++) {
		struct series *r, *p;

		if (v[i].src == LAT_NONE)
			continue;
		/* a target without requests has no throughput line; its p99 is of its file I/O */
		r = v[i].t->net.requests ? &rps[nr++] : NULL;
		p = &p99[np++];
		if (series_alloc(p, &v[i], k) || (r && series_alloc(r, &v[i], k))) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t j = 0; j < k; j++) {
			const struct target *t = interval_target(in->intervals[j], i, v[i].t->name);
			double secs = interval_secs(in, j);
			uint64_t max, errors;

			p->x[j] = interval_end(in, j);
			p->y[j] = NAN;
			tmax = fmax(tmax, p->x[j]);
			if (r) {
				r->x[j] = p->x[j];
				r->y[j] = t && secs > 0 ? t->net.requests / secs : NAN;
				rmax = isnan(r->y[j]) ? rmax : fmax(rmax, r->y[j]);
			}
			if (!t)
				continue;
			lat_merge(t, v[i].src, &h, &max, &errors);
			if (hist_count(&h)) {
				p->y[j] = hist_percentile(&h, 0.99, max);
				pmax = fmax(pmax, p->y[j]);
			}
		}
		p->n = k;
		if (r)
			r->n = k;
	}
	if (!np) {
		fputs("<p class=\"note\">No intervals were recorded.</p>\n", out);
		goto out;
	}
	axis_linear(&x, tmax, U_SEC);
	fputs("<div class=\"charts\">\n", out);
	if (nr) {
		axis_linear(&y, rmax, U_NUM);
		figure_line_chart(out, "chart-rps", "Throughput: requests per second, per interval",
				  "time since start", &x, &y, rps, nr);
	}
	axis_linear(&y, pmax, U_NS);
	figure_line_chart(out, "chart-p99", "p99 latency, per interval", "time since start", &x, &y,
			  p99, np);
	fputs("</div>\n", out);
out:
	series_free(rps, nv);
	series_free(p99, nv);
	return err;
}

/* Whether a budget chart shows v (per request: the targets that served requests; else the
 * others), with its work and idle time per request (div: its requests), or in all (div: 1). */
static bool budget_shown(const struct view *v, bool per_request, double *div, double *work, double *idle)
{
	*div = per_request ? (double)v->t->net.requests : 1;
	*work = *idle = 0;
	if (per_request != (v->t->net.requests > 0))
		return false;
	for (int c = 0; c < BUD_MAX; c++)
		*(report_budget_idle(c) ? idle : work) += v->budget[c] / *div;
	return *work + *idle > 0;
}

/* Per target, a bar of its work classes stacked, and a thinner hatched one of its idle classes:
 * per request for targets that served requests, else their whole thread time. */
static void chart_budget(FILE *out, const char *id, const char *caption, const struct view *v,
			 size_t nv, bool per_request)
{
	const int row = 56, top = 6, bar = 18, gap = 3, idle_bar = 9;
	const double x0 = 8, x1 = CHART_W - 100;
	bool used[BUD_MAX] = { false };
	double max = 0, div, work, idle;
	struct axis x;
	size_t n = 0;
	char buf[32];
	int h;

	for (size_t i = 0; i < nv; i++) {
		if (!budget_shown(&v[i], per_request, &div, &work, &idle))
			continue;
		n++;
		max = fmax(max, fmax(work, idle));
		for (int c = 0; c < BUD_MAX; c++)
			used[c] |= v[i].budget[c] > 0;
	}
	if (!n)
		return;
	axis_linear(&x, max, U_NS);
	h = top + (int)n * row + 26;
	fprintf(out, "<figure><figcaption>%s</figcaption>\n", caption);
	svg_open(out, id, h, caption);
	fputs("<defs>", out);
	for (int c = 0; c < BUD_MAX; c++)
		if (report_budget_idle(c))
			fprintf(out, "<pattern id=\"%s-idle-%d\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
				"patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"%s\"/>"
				"<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#ffffff\" stroke-width=\"2.5\"/></pattern>",
				id, c, budget_colors[c]);
	fputs("</defs>\n<g class=\"axis\">\n", out);
	for (int i = 0; i < x.nticks; i++) {
		double px = axis_pos(&x, x.ticks[i], x0, x1);

		fmt_tick(buf, sizeof(buf), x.ticks[i], U_NS);
		fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			"<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s</text>\n", px, top, px, h - 22, px,
			h - 6, i ? "middle" : "start", buf);
	}
	fputs("</g>\n", out);
	n = 0;
	for (size_t i = 0; i < nv; i++) {
		double y = top + n * row + 18, px[2] = { x0, x0 };

		if (!budget_shown(&v[i], per_request, &div, &work, &idle))
			continue;
		n++;
		fprintf(out, "<g class=\"budget\"><text class=\"name\" x=\"%.1f\" y=\"%.1f\">", x0, y - 5);
		report_html_escape(out, v[i].t->name);
		fputs("</text>\n", out);
		for (int c = 0; c < BUD_MAX; c++) {
			bool is_idle = report_budget_idle(c);
			double ns = v[i].budget[c] / div, w = axis_pos(&x, ns, x0, x1) - x0;

			if (!v[i].budget[c])
				continue;
			fmt_value(buf, sizeof(buf), ns, U_NS);
			fprintf(out, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"",
				px[is_idle], is_idle ? y + bar + gap : y, w, is_idle ? idle_bar : bar);
			if (is_idle)
				fprintf(out, "url(#%s-idle-%d)", id, c);
			else
				fputs(budget_colors[c], out);
			fprintf(out, "\"><title>%s: %s%s, %.1f%% of %s</title></rect>\n", model_budget_name(c),
				buf, per_request ? " per request" : "",
				100.0 * ns / (is_idle ? idle : work), is_idle ? "idle" : "work");
			px[is_idle] += w;
		}
		fmt_value(buf, sizeof(buf), work, U_NS);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%s work</text>\n", px[0] + 5, y + 13, buf);
		if (idle > 0) {
			fmt_value(buf, sizeof(buf), idle, U_NS);
			fprintf(out, "<text class=\"small\" x=\"%.1f\" y=\"%.1f\">%s idle</text>\n", px[1] + 5,
				y + bar + gap + idle_bar, buf);
		}
		fputs("</g>\n", out);
	}
	fputs("</svg>\n<ul class=\"legend\">", out);
	for (int c = 0; c < BUD_MAX; c++) {
		if (!used[c])
			continue;
		fprintf(out, "<li><i class=\"sw%s\" style=\"background-color:%s\"></i>%s%s</li>",
			report_budget_idle(c) ? " idle" : "", budget_colors[c], model_budget_name(c),
			report_budget_idle(c) ? " (idle: waiting for work)" : "");
	}
	fputs("</ul>\n</figure>\n", out);
}

/* The numbers behind the budget chart: a class per row, a target per column. */
static void table_budget(FILE *out, const struct view *v, size_t nv)
{
	bool any = false;
	char buf[32];

	for (size_t i = 0; i < nv; i++)
		for (int c = 0; c < BUD_MAX; c++)
			any |= v[i].budget[c] > 0;
	if (!any)
		return;
	fputs("<div class=\"scroll\"><table><thead><tr><th class=\"l\">class</th>", out);
	for (size_t i = 0; i < nv; i++) {
		fprintf(out, "<th><i class=\"sw\" style=\"background-color:%s\"></i>", v[i].color);
		report_html_escape(out, v[i].t->name);
		fprintf(out, "<br><span class=\"unit\">%s</span></th>",
			v[i].t->net.requests ? "per request" : "thread time");
	}
	fputs("</tr></thead><tbody>\n", out);
	for (int c = 0; c < BUD_MAX; c++) {
		bool row = false;

		for (size_t i = 0; i < nv; i++)
			row |= v[i].budget[c] > 0;
		if (!row)
			continue;
		fprintf(out, "<tr%s><td class=\"l\"><i class=\"sw%s\" style=\"background-color:%s\"></i>%s</td>",
			report_budget_idle(c) ? " class=\"idle\"" : "", report_budget_idle(c) ? " idle" : "",
			budget_colors[c], model_budget_name(c));
		for (size_t i = 0; i < nv; i++) {
			double div = v[i].t->net.requests ? (double)v[i].t->net.requests : 1;

			fmt_value(buf, sizeof(buf), v[i].budget[c] / div, U_NS);
			fprintf(out, "<td>%s</td>", v[i].budget[c] ? buf : "-");
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
}

static void td_ns(FILE *out, uint64_t ns)
{
	char buf[32];

	report_fmt_ns(buf, sizeof(buf), ns);
	fprintf(out, "<td>%s</td>", buf);
}

static void td_bar(FILE *out, double share, const char *color)
{
	fprintf(out, "<td class=\"barcell\"><span class=\"bar\" style=\"width:%.1f%%;background-color:%s\"></span></td>",
		100 * (share > 1 ? 1 : share), color);
}

static void table_summary(FILE *out, const struct model *m, const struct view *v, size_t nv)
{
	double secs = m->duration_ns / 1e9;
	char buf[32], peak[32];

	fputs("<div class=\"scroll\"><table class=\"summary\"><thead><tr><th class=\"l\">target</th>"
	      "<th>requests</th><th>req/s</th><th class=\"l\">latency of</th>"
	      "<th>p50</th><th>p95</th><th>p99</th><th>errors</th><th>syscalls</th><th>CPU</th>"
	      "<th>memory</th></tr></thead><tbody>\n", out);
	for (size_t i = 0; i < nv; i++) {
		const struct target *t = v[i].t;

		fprintf(out, "<tr><td class=\"l\"><i class=\"sw\" style=\"background-color:%s\"></i>", v[i].color);
		report_html_escape(out, t->name);
		fprintf(out, "<br><span class=\"unit\">%s", model_target_kind_name(t->kind));
		if (t->cgroup && t->cgroup[0]) {
			fputc(' ', out);
			report_html_escape(out, t->cgroup);
		}
		fprintf(out, "</span></td><td>%" PRIu64 "</td><td>%.1f</td><td class=\"l\">%s</td>", t->net.requests,
			secs > 0 ? t->net.requests / secs : 0.0, lat_source_names[v[i].src]);
		if (v[i].lat_n) {
			td_ns(out, hist_percentile(&v[i].lat, 0.50, v[i].lat_max));
			td_ns(out, hist_percentile(&v[i].lat, 0.95, v[i].lat_max));
			td_ns(out, hist_percentile(&v[i].lat, 0.99, v[i].lat_max));
			fprintf(out, "<td>%" PRIu64 "<br><span class=\"unit\">%.1f%%</span></td>", v[i].errors,
				100.0 * v[i].errors / v[i].lat_n);
		} else {
			fputs("<td>-</td><td>-</td><td>-</td><td>-</td>", out);
		}
		fprintf(out, "<td>%" PRIu64 "</td>", t->syscalls);
		if (t->bud.nthreads)
			fprintf(out, "<td>%.0f%%<br><span class=\"unit\">of %d CPU%s</span></td>",
				report_cpu_pct(t, v[i].budget, secs), t->bud.ncpus, t->bud.ncpus == 1 ? "" : "s");
		else
			fputs("<td>-</td>", out);
		if (t->bud.mem_bytes) {
			report_fmt_bytes(buf, sizeof(buf), t->bud.mem_bytes);
			report_fmt_bytes(peak, sizeof(peak), t->bud.mem_peak_bytes);
			fprintf(out, "<td>%s<br><span class=\"unit\">peak %s</span></td>", buf, peak);
		} else {
			fputs("<td>-</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
}

/* Top rows per target, each starting with a bar of its time: the rows of target i are
 * row(out, v, i, j, ctx) for j < n[i]. */
struct top_table {
	const char *bar;          /* what the bar and the figure after it are */
	const char *head;         /* the other header cells */
	const char *none;         /* said when no target has a row */
	const char *note;         /* said below the tables */
	void (*row)(FILE *out, const struct view *v, size_t i, size_t j, const void *ctx);
	/* optional: what is said of target i below its table */
	void (*after)(FILE *out, const struct view *v, size_t i, const void *ctx);
	const void *ctx;
	const size_t *n;
};

static void top_tables(FILE *out, const struct view *v, size_t nv, const struct top_table *tt)
{
	bool any = false;

	for (size_t i = 0; i < nv; i++)
		any |= tt->n[i] > 0;
	fprintf(out, "<p class=\"note\">%s</p>\n", any ? tt->note : tt->none);
	for (size_t i = 0; any && i < nv; i++) {
		if (!tt->n[i])
			continue;
		fprintf(out, "<h3><i class=\"sw\" style=\"background-color:%s\"></i>", v[i].color);
		report_html_escape(out, v[i].t->name);
		fprintf(out, "</h3>\n<div class=\"scroll\"><table class=\"rows\"><thead><tr><th class=\"l\" "
			"colspan=\"2\">%s</th>%s</tr></thead><tbody>\n", tt->bar, tt->head);
		for (size_t j = 0; j < tt->n[i] && j < TOP_ROWS; j++) {
			fputs("<tr>", out);
			tt->row(out, &v[i], i, j, tt->ctx);
			fputs("</tr>\n", out);
		}
		fputs("</tbody></table></div>\n", out);
		if (tt->after)
			tt->after(out, &v[i], i, tt->ctx);
	}
}

struct stmt_rows {
	struct sql_stmt **st;     /* per target, by template */
	uint64_t max_ns;          /* the longest step time shown: a full bar */
};

static void stmt_row(FILE *out, const struct view *v, size_t i, size_t j, const void *ctx)
{
	const struct stmt_rows *sr = ctx;
	const struct sql_stmt *s = &sr->st[i][j];
	const struct hist *h = report_stmt_lat(s);
	double d = s->s.step_ns ? 100.0 / s->s.step_ns : 0;

	td_bar(out, sr->max_ns ? (double)s->s.step_ns / sr->max_ns : 0, v->color);
	td_ns(out, s->s.step_ns);
	fprintf(out, "<td>%" PRIu64 "</td><td>%" PRIu64 "</td>", (uint64_t)s->s.count, (uint64_t)s->s.rows);
	if (s->s.rc[RC_BUSY])
		fprintf(out, "<td class=\"bad\">%" PRIu64 "<br><span class=\"unit\">%" PRIu64 " at once</span></td>",
			(uint64_t)s->s.rc[RC_BUSY], (uint64_t)s->s.busy_at_once);
	else
		fputs("<td>0</td>", out);
	td_ns(out, hist_percentile(h, 0.50, 0));
	td_ns(out, hist_percentile(h, 0.95, 0));
	td_ns(out, hist_percentile(h, 0.99, 0));
	fprintf(out, "<td>%.0f%%</td>", report_stmt_cpu_ns(&s->s) * d);
	for (int k = 0; k < SPLIT_MAX; k++)
		fprintf(out, "<td>%.0f%%</td>", s->s.split_ns[k] * d);
	fputs("<td class=\"sql\"><code>", out);
	report_html_escape(out, s->sql ? s->sql : "");
	fputs("</code></td>", out);
}

/* The busy handler's sleeps in prepares, outside any step (not in the statements' rows) */
static void stmt_after(FILE *out, const struct view *v, size_t i, const void *ctx)
{
	const struct sqlite_info *q = &v->t->sq;
	char slept[32];

	(void)i;
	(void)ctx;
	if (!q->prep_sleeps && !q->prep_busy)
		return;
	report_fmt_ns(slept, sizeof(slept), q->prep_sleep_ns);
	fprintf(out, "<p class=\"note\">In prepares, outside any step, SQLite's busy handler slept %" PRIu64
		" time%s, %s in all (a new connection's schema read waits for the lock too); %" PRIu64
		" prepare%s returned BUSY.</p>\n", q->prep_sleeps, q->prep_sleeps == 1 ? "" : "s", slept,
		q->prep_busy, q->prep_busy == 1 ? "" : "s");
}

static int tables_statements(FILE *out, const struct view *v, size_t nv)
{
	struct stmt_rows sr = { .st = calloc(nv ? nv : 1, sizeof(*sr.st)) };
	size_t *n = calloc(nv ? nv : 1, sizeof(*n));
	int err = 0;

	for (size_t i = 0; sr.st && n && i < nv; i++) {
		sr.st[i] = target_stmts_by_template(v[i].t, &n[i]);
		if (!sr.st[i])
			break;
		for (size_t j = 0; j < n[i] && j < TOP_ROWS; j++)
			sr.max_ns = sr.st[i][j].s.step_ns > sr.max_ns ? sr.st[i][j].s.step_ns : sr.max_ns;
	}
	if (!sr.st || !n || (nv && !sr.st[nv - 1]))
		err = -ENOMEM;
	else
		top_tables(out, v, nv, &(struct top_table){
			.bar = "step time",
			.head = "<th>count</th><th>rows</th><th>BUSY</th><th>p50</th><th>p95</th><th>p99</th><th>cpu</th>"
				"<th>read</th><th>write</th><th>fsync</th><th>lock</th><th>busy</th><th>other</th>"
				"<th class=\"l\">statement</th>",
			.none = "No SQLite statements were measured.",
			.note = "Per target, the statements with the most time in sqlite3_step (at most "
				XSTR(TOP_ROWS) "); latency is of whole statements, the split columns are shares of the step time; "
				"BUSY counts the steps that returned SQLITE_BUSY, and of them those returned at once, without a "
				"busy-handler wait (as when a read transaction asks for the write lock).",
			.row = stmt_row, .after = stmt_after, .ctx = &sr, .n = n });
	for (size_t i = 0; sr.st && n && i < nv; i++)
		model_stmts_free(sr.st[i], n[i]);
	free(sr.st);
	free(n);
	return err;
}

struct route_row {
	const struct http_route *r;
	uint64_t total_ns;
};

struct route_rows {
	struct route_row **rows;  /* per target, by total time */
	uint64_t max_ns;
	double secs;
};

static int cmp_route_time(const void *a, const void *b)
{
	const struct route_row *x = a, *y = b;

	return x->total_ns < y->total_ns ? 1 : x->total_ns > y->total_ns ? -1 : 0;
}

static void route_row(FILE *out, const struct view *v, size_t i, size_t j, const void *ctx)
{
	const struct route_rows *rr = ctx;
	const struct route_row *row = &rr->rows[i][j];
	const struct http_route *r = row->r;

	td_bar(out, rr->max_ns ? (double)row->total_ns / rr->max_ns : 0, v->color);
	td_ns(out, row->total_ns);
	fprintf(out, "<td class=\"l\">%s</td><td class=\"l\"><code>", r->side ? "client" : "server");
	report_html_escape(out, r->method);
	fputc(' ', out);
	report_html_escape(out, r->route);
	fprintf(out, "</code></td><td>%" PRIu64 "</td><td>%.1f</td>", r->count,
		rr->secs > 0 ? r->count / rr->secs : 0.0);
	for (int c = 0; c < 4; c++)
		fprintf(out, "<td%s>%" PRIu64 "</td>", c >= 2 && r->status[c] ? " class=\"bad\"" : "",
			r->status[c]);
	td_ns(out, hist_percentile(&r->lat, 0.50, 0));
	td_ns(out, hist_percentile(&r->lat, 0.95, 0));
	td_ns(out, hist_percentile(&r->lat, 0.99, 0));
}

static int tables_routes(FILE *out, const struct model *m, const struct view *v, size_t nv)
{
	struct route_rows rr = { .rows = calloc(nv ? nv : 1, sizeof(*rr.rows)), .secs = m->duration_ns / 1e9 };
	size_t *n = calloc(nv ? nv : 1, sizeof(*n));
	int err = 0;

	for (size_t i = 0; rr.rows && n && i < nv; i++) {
		const struct net_info *net = &v[i].t->net;

		rr.rows[i] = calloc(net->nroutes ? net->nroutes : 1, sizeof(**rr.rows));
		if (!rr.rows[i])
			break;
		for (size_t j = 0; j < net->nroutes; j++) {
			if (!net->routes[j].count)
				continue;
			rr.rows[i][n[i]].r = &net->routes[j];
			rr.rows[i][n[i]++].total_ns = hist_sum_estimate(&net->routes[j].lat);
		}
		qsort(rr.rows[i], n[i], sizeof(**rr.rows), cmp_route_time);
		if (n[i] && rr.rows[i][0].total_ns > rr.max_ns)
			rr.max_ns = rr.rows[i][0].total_ns;
	}
	if (!rr.rows || !n || (nv && !rr.rows[nv - 1]))
		err = -ENOMEM;
	else
		top_tables(out, v, nv, &(struct top_table){
			.bar = "total time",
			.head = "<th class=\"l\">side</th><th class=\"l\">request</th><th>count</th><th>req/s</th>"
				"<th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>p50</th><th>p95</th><th>p99</th>",
			.none = "No HTTP requests were measured.",
			.note = "Per target, the requests with the most total time (at most " XSTR(TOP_ROWS)
				"; total time from the latency histogram's bucket midpoints).",
			.row = route_row, .ctx = &rr, .n = n });
	for (size_t i = 0; rr.rows && i < nv; i++)
		free(rr.rows[i]);
	free(rr.rows);
	free(n);
	return err;
}

static void meta_value(FILE *out, const cJSON *e)
{
	char *s;

	if (cJSON_IsString(e)) {
		report_html_escape(out, e->valuestring);
	} else if (cJSON_IsNumber(e)) {
		fprintf(out, "%.15g", e->valuedouble);
	} else if ((s = cJSON_PrintUnformatted(e))) {
		report_html_escape(out, s);
		free(s);
	}
}

static void header(FILE *out, const struct report_html_input *in, const char *title)
{
	const struct model *m = in->total;
	cJSON *meta = in->meta_json ? cJSON_Parse(in->meta_json) : NULL;
	uint64_t lost = model_drops(m);

	fputs("<header>\n<h1>", out);
	report_html_escape(out, title);
	fprintf(out, "</h1>\n<dl class=\"meta\"><dt>measured by</dt><dd>iogap %s</dd>"
		"<dt>duration</dt><dd>%.1f s in %zu interval%s</dd><dt>targets</dt><dd>", IOGAP_VERSION,
		m->duration_ns / 1e9, in->nintervals, in->nintervals == 1 ? "" : "s");
	for (size_t i = 0; i < m->ntargets; i++) {
		fputs(i ? ", " : "", out);
		report_html_escape(out, m->targets[i].name);
	}
	fputs("</dd>\n", out);
	if (cJSON_IsObject(meta)) {
		for (const cJSON *e = meta->child; e; e = e->next) {
			fputs("<dt>", out);
			report_html_escape(out, e->string);
			fputs("</dt><dd>", out);
			meta_value(out, e);
			fputs("</dd>\n", out);
		}
	} else if (in->meta_json) {
		fputs("<dt>run</dt><dd>", out);
		report_html_escape(out, in->meta_json);
		fputs("</dd>\n", out);
	}
	fputs("</dl>\n", out);
	cJSON_Delete(meta);
	if (lost)
		fprintf(out, "<p class=\"warn\">%" PRIu64 " events or updates were lost (%" PRIu64
			" ring buffer drops, %" PRIu64 " updates to full maps, %" PRIu64 " events the kernel "
			"skipped): the figures below are short by as much.</p>\n", lost,
			m->counters[CNT_RB_DROPS], model_map_losses(m), m->counters[CNT_PROG_MISSES]);
	fputs("<nav><a href=\"#summary\">Summary</a><a href=\"#latency\">Latency</a>"
	      "<a href=\"#budget\">Time budget</a><a href=\"#over-time\">Over time</a>"
	      "<a href=\"#statements\">Statements</a><a href=\"#routes\">Routes</a>", out);
	if (in->explain_html)
		fputs("<a href=\"#explain\">Explain</a>", out);
	fputs("</nav>\n</header>\n", out);
}

static const char page_css[] =
	":root{--bg:#fff;--fg:#1c2330;--muted:#5d6676;--line:#dde1e6;--grid:#eceef2;--card:#f7f8fa;color-scheme:light dark}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#15181d;--fg:#e3e6eb;--muted:#9aa3b0;--line:#343a44;--grid:#272c34;--card:#1c2027}}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\n"
	"body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",sans-serif;"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
	"main{max-width:1180px;margin:0 auto;padding:18px 20px 40px}\n"
	"h1{font-size:1.6rem;margin:0 0 .4em}\n"
	"h2{font-size:1.2rem;margin:1.8em 0 .6em;padding-bottom:.25em;border-bottom:2px solid var(--line)}\n"
	"h3{font-size:1rem;margin:1.2em 0 .4em}\n"
	".meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:.9rem}\n"
	".meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}\n"
	"nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin:14px 0 0;font-size:.9rem}\n"
	"nav a{color:inherit;text-decoration:none;border-bottom:1px dotted var(--muted)}\n"
	".warn{border-left:4px solid #d9822b;background:#fff3e0;color:#5a3300;padding:8px 12px;margin:12px 0}\n"
	".note{color:var(--muted);font-size:.86rem;margin:.4em 0}\n"
	".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}\n"
	"table{border-collapse:collapse;font-size:.86rem;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	"th,td{padding:4px 9px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}\n"
	"th{font-weight:600;color:var(--muted);background:var(--card);vertical-align:bottom}\n"
	"th.l,td.l{text-align:left}\n"
	"td.bad{color:#c0392b;font-weight:600}\n"
	"tr.idle td{color:var(--muted)}\n"
	".unit{color:var(--muted);font-weight:400;font-size:.85em}\n"
	"td.sql{white-space:normal;min-width:22em;max-width:48em;text-align:left;overflow-wrap:anywhere}\n"
	"code{font-family:ui-monospace,\"SFMono-Regular\",Menlo,Consolas,monospace;font-size:.92em}\n"
	"td.barcell{width:7em;min-width:5em;padding-right:0;vertical-align:middle}\n"
	".bar{display:block;height:.75em;border-radius:2px;min-width:1px}\n"
	".sw{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:-.05em}\n"
	".sw.idle{background-image:repeating-linear-gradient(45deg,transparent 0 2px,rgba(255,255,255,.75) 2px 4px)}\n"
	".cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:0 24px}\n"
	".cols>section{min-width:0}\n"
	".charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,460px),1fr));gap:16px}\n"
	"figure{margin:0 0 16px;padding:10px 12px 8px;background:var(--card);border:1px solid var(--line);border-radius:6px;break-inside:avoid}\n"
	".charts figure{margin:0}\n"
	"figcaption{font-weight:600;margin-bottom:6px}\n"
	"svg.chart{display:block;width:100%;height:auto;max-width:100%}\n"
	"svg.chart text{fill:var(--fg);font-size:13px}\n"
	"svg.chart .axis text{fill:var(--muted);font-size:12px}\n"
	"svg.chart .small{font-size:12px;fill:var(--muted)}\n"
	"svg.chart .name{font-weight:600}\n"
	"svg.chart .axis .name{font-weight:400}\n"
	"svg.chart .grid{stroke:var(--grid);stroke-width:1}\n"
	"svg.chart .frame{fill:none;stroke:var(--line)}\n"
	".legend{list-style:none;margin:8px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85rem}\n"
	"#explain{border-left:4px solid var(--line);padding-left:14px}\n"
	"footer{margin-top:32px;color:var(--muted);font-size:.8rem}\n"
	"@media (max-width:600px){body{font-size:14px}main{padding:12px 12px 28px}h1{font-size:1.3rem}th,td{padding:3px 6px}"
	"svg.chart text,svg.chart .small{font-size:16px}svg.chart .axis text{font-size:15px}}\n"
	"@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--line:#bbb;--grid:#e4e4e4;--card:#fff}"
	"body{font-size:10pt}main{max-width:none;padding:0}nav{display:none}.scroll{overflow:visible}"
	"h2{break-after:avoid}figure,tr{break-inside:avoid}.charts{grid-template-columns:1fr 1fr}"
	"a{color:inherit;text-decoration:none}}\n";

int report_html(FILE *out, const struct report_html_input *in)
{
	const struct model *m = in->total;
	const char *title = in->title && in->title[0] ? in->title : "iogap report";
	struct view *v = views_make(m);
	size_t nv = m->ntargets;
	bool served = false, other = false;
	int err;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < nv; i++) {
		uint64_t sum = 0;

		for (int c = 0; c < BUD_MAX; c++)
			sum += v[i].budget[c];
		served |= sum && v[i].t->net.requests;
		other |= sum && !v[i].t->net.requests;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"generator\" content=\"iogap " IOGAP_VERSION "\">\n<title>", out);
	report_html_escape(out, title);
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", page_css);
	header(out, in, title);
	fputs("<section id=\"summary\"><h2>Summary</h2>\n", out);
	table_summary(out, m, v, nv);
	fputs("<p class=\"note\">Latency and errors are of the requests a target served (4xx and 5xx "
	      "responses count as errors), else of those it made, else of its file I/O syscalls "
	      "(errors: failed syscalls). CPU is of the CPUs the target may run on.</p>\n</section>\n"
	      "<div class=\"cols\">\n<section id=\"latency\"><h2>Latency distribution</h2>\n", out);
	err = chart_cdf(out, v, nv);
	fputs("</section>\n<section id=\"budget\"><h2>Time budget</h2>\n", out);
	if (served)
		chart_budget(out, "chart-budget", "Where a request's time goes: thread time per request, by class",
			     v, nv, true);
	if (other)
		chart_budget(out, "chart-budget-time", "Thread time by class (targets that served no requests)",
			     v, nv, false);
	if (!served && !other)
		fputs("<p class=\"note\">No thread time was measured.</p>\n", out);
	table_budget(out, v, nv);
	fputs("<p class=\"note\">Thread time of all the target's threads, divided by the requests it "
	      "served. Idle classes (threads waiting for work) are drawn apart, hatched, below the "
	      "work.</p>\n</section>\n</div>\n<section id=\"over-time\"><h2>Over time</h2>\n", out);
	if (!err)
		err = chart_over_time(out, in, v, nv);
	fputs("</section>\n<section id=\"statements\"><h2>Top SQLite statements</h2>\n", out);
	if (!err)
		err = tables_statements(out, v, nv);
	fputs("</section>\n<section id=\"routes\"><h2>Top HTTP requests</h2>\n", out);
	if (!err)
		err = tables_routes(out, m, v, nv);
	fputs("</section>\n", out);
	if (in->explain_html)
		fprintf(out, "<section id=\"explain\"><h2>Explain</h2>\n%s\n</section>\n", in->explain_html);
	fputs("<footer>iogap " IOGAP_VERSION ": one self-contained file, nothing is fetched.</footer>\n"
	      "</main>\n</body>\n</html>\n", out);
	free(v);
	errno = 0;
	if (!err && (fflush(out) || ferror(out)))
		err = errno ? -errno : -EIO;
	return err;
}
