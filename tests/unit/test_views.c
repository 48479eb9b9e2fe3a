/*
 * The HTML and Prometheus views of a model built by hand: the page's sections, charts and
 * escaping; the exposition's structure (TYPE before samples, families together, cumulative
 * buckets ending at +Inf == _count), exact counters and label escaping. Also writes
 * .output/test-logs/views/{report.html,metrics.prom} for tests/e2e/test_promtool.sh and
 * tests/e2e/test_html_chromium.sh (and labels.prom, the exposition of odd labels, for the former).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "model/model.h"
#include "report/report.h"

#define EVIL_NAME "<img onerror=x>"
#define SCRIPT_ROUTE "/search</script><script>alert(1)</script>"
#define QUOTE_ROUTE "/q\"x\\y\nz"
#define SELECT_SQL "SELECT * FROM items WHERE id = ?"
#define SELECT_HASH "ec9510ef4b7bd411"     /* FNV-1a 64 of SELECT_SQL */
#define INSERT_SQL "INSERT INTO items VALUES (?, ?)"
#define LOG_DIR ".output/test-logs/views"

static struct http_route *route(struct target *t, const char *method, const char *path, unsigned n,
				unsigned status, uint64_t lat_ns)
{
	struct http_route *r = target_route(t, 0, method, path);

	assert_non_null(r);
	for (unsigned i = 0; i < n; i++) {
		r->count++;
		http_route_status(r, status);
		hist_record(&r->lat, lat_ns + (i % 50) * lat_ns / 25);
	}
	return r;
}

static void stmt(struct target *t, uint64_t hash, const char *sql, unsigned n, uint64_t step_ns,
		 uint64_t fsync_ns)
{
	struct sql_stmt *s = target_stmt(t, hash);

	assert_non_null(s);
	s->sql = strdup(sql);
	s->s.count += n;
	s->s.steps += 2 * n;
	s->s.rows += n;
	s->s.rc[RC_ROW] += n;
	s->s.rc[RC_DONE] += n;
	s->s.step_ns += (uint64_t)n * 2 * step_ns;
	s->s.split_ns[SPLIT_FSYNC] += (uint64_t)n * fsync_ns;
	for (unsigned i = 0; i < 2 * n; i++)
		hist_record(&s->step_hist, step_ns);
}

static void thread(struct target *t, uint32_t tid, uint64_t cpu, uint64_t runq, uint64_t fsync,
		   uint64_t futex, uint64_t idle)
{
	struct thread_stat *th = target_thread(t, tid);

	assert_non_null(th);
	snprintf(th->comm, sizeof(th->comm), "worker");
	th->ns[BUD_CPU] += cpu;
	th->ns[BUD_RUNQ] += runq;
	th->ns[BUD_FSYNC] += fsync;
	th->ns[BUD_FUTEX] += futex;
	th->ns[BUD_POLL_IDLE] += idle;
}

/* Two targets; every figure is f times that of one unit, over secs seconds. */
static void build(struct model *m, unsigned f, unsigned secs)
{
	struct target *t;
	struct op_stats *o;

	*m = (struct model){ .duration_ns = secs * 1000000000ULL, .counters[CNT_RB_DROPS] = 3 };
	t = model_target_add(m, "django", TARGET_CGROUP);
	assert_non_null(t);
	free(t->cgroup);
	t->cgroup = strdup("/seedbench/django");
	target_pid_add(t, 42);
	t->syscalls = 5000 * f;
	o = target_op(t, IOP_PREAD, FDK_FILE);
	*o = (struct op_stats){ .op = IOP_PREAD, .fd_kind = FDK_FILE, .count = 1000 * f, .errors = 2 * f,
				.bytes = 4096000ULL * f, .sum_ns = 5000000ULL * f, .max_ns = 9000 };
	for (unsigned k = 0; k < f; k++)
		for (int i = 0; i < 1000; i++)
			hist_record(&o->hist, 4000 + i * 2);
	o = target_op(t, IOP_RECV, FDK_TCP);
	o->count = 10 * f;
	o->sum_ns = 100 * f;
	for (unsigned k = 0; k < 10 * f; k++)
		hist_record(&o->hist, 10);
	route(t, "GET", "/db/select", 290 * f, 200, 2000000);
	route(t, "GET", "/db/select", 10 * f, 500, 2000000);
	route(t, "POST", "/db/insert", 100 * f, 201, 8000000);
	t->net.requests = 400 * f;
	t->net.tcp.accepted = 40 * f;
	t->net.tcp.resets_sent = 3 * f;
	t->net.tcp.resets_received = f;
	t->net.tcp.retransmits = 7 * f;
	stmt(t, 11, SELECT_SQL, 200 * f, 500000, 0);
	stmt(t, 13, SELECT_SQL, 100 * f, 500000, 0);   /* other literals, the same template */
	stmt(t, 12, INSERT_SQL, 100 * f, 2000000, 1000000);
	target_stmt(t, 12)->s.rc[RC_BUSY] += 2 * f;
	target_stmt(t, 12)->s.busy_at_once += f;
	t->sq.prep_sleeps += 3 * f;
	t->sq.prep_sleep_ns += 50000000ULL * f;
	t->sq.prep_busy += f;
	thread(t, 100, 200000000ULL * f, 100000000ULL * f, 100000000ULL * f, 0, 500000000ULL * f);
	thread(t, 101, 200000000ULL * f, 100000000ULL * f, 100000000ULL * f, 0, 500000000ULL * f);
	t->bud.ncpus = 1;
	t->bud.mem_bytes = 80ULL << 20;
	t->bud.mem_peak_bytes = 90ULL << 20;

	t = model_target_add(m, EVIL_NAME, TARGET_COMMAND);
	assert_non_null(t);
	t->syscalls = 3000 * f;
	route(t, "GET", SCRIPT_ROUTE, 200 * f, 200, 1000000);
	route(t, "GET", QUOTE_ROUTE, 5 * f, 404, 300000);
	t->net.requests = 205 * f;
	t->net.tcp.accepted = 20 * f;
	thread(t, 200, 300000000ULL * f, 0, 0, 300000000ULL * f, 1000000000ULL * f);
	t->bud.ncpus = 1;
	t->bud.mem_bytes = 60ULL << 20;
	t->bud.mem_peak_bytes = 61ULL << 20;
}

static char *render_html(const struct report_html_input *in, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*err = report_html(f, in);
	fclose(f);
	return buf;
}

static char *render_prom(const struct model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	report_prometheus(f, m);
	fclose(f);
	return buf;
}

static void save(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	mkdir(".output", 0755);
	mkdir(".output/test-logs", 0755);
	if (mkdir(LOG_DIR, 0755) && errno != EEXIST) {
		print_error("cannot create %s: %s\n", LOG_DIR, strerror(errno));
		fail();
	}
	snprintf(path, sizeof(path), "%s/%s", LOG_DIR, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The part of s from the element with id to the end of its svg. */
static char *svg_by_id(const char *s, const char *id)
{
	char key[64];
	const char *a, *b;

	snprintf(key, sizeof(key), "<svg id=\"%s\"", id);
	a = strstr(s, key);
	if (!a) {
		print_error("no <svg id=\"%s\">\n", id);
		fail();
	}
	b = strstr(a, "</svg>");
	assert_non_null(b);
	return strndup(a, b - a);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s += strlen(what))
		n++;
	return n;
}

struct fixture {
	struct model total, iv[3];
	const struct model *ivp[3];
	uint64_t t_ns[3];
	struct report_html_input in;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	build(&fx->total, 6, 3);
	for (int k = 0; k < 3; k++) {
		build(&fx->iv[k], k + 1, 1);
		fx->ivp[k] = &fx->iv[k];
		fx->t_ns[k] = (k + 1) * 1000000000ULL;
	}
	fx->in = (struct report_html_input){
		.title = "django vs " EVIL_NAME,
		.total = &fx->total,
		.nintervals = 3,
		.intervals = fx->ivp,
		.t_ns = fx->t_ns,
		.explain_html = "<p class=\"finding\">django's requests spend 1.2ms more waiting for the CPU</p>",
		.meta_json = "{\"host\": \"bench<1>\", \"kernel\": \"6.18.44\", \"start\": \"2026-11-27T10:00:00Z\", \"cpus\": 2}",
	};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	model_free(&fx->total);
	for (int k = 0; k < 3; k++)
		model_free(&fx->iv[k]);
	free(fx);
	return 0;
}

static void test_html_sections(void **state)
{
	struct fixture *fx = *state;
	int err;
	char *html = render_html(&fx->in, &err), *svg;

	assert_int_equal(err, 0);
	save("report.html", html);
	assert_true(!strncmp(html, "<!DOCTYPE html>", 15));
	assert_non_null(strstr(html, "<meta name=\"viewport\""));
	assert_non_null(strstr(html, "Content-Security-Policy"));
	assert_non_null(strstr(html, "@media print"));
	for (const char *const *id = (const char *const[]){ "summary", "latency", "budget", "over-time",
							     "statements", "routes", "explain", NULL }; *id; id++) {
		char key[64];

		snprintf(key, sizeof(key), "<section id=\"%s\">", *id);
		if (!strstr(html, key)) {
			print_error("missing %s\n", key);
			fail();
		}
	}
	assert_non_null(strstr(html, fx->in.explain_html));
	/* the meta, escaped */
	assert_non_null(strstr(html, "<dt>host</dt><dd>bench&lt;1&gt;</dd>"));
	assert_non_null(strstr(html, "<dd>6.18.44</dd>"));
	assert_non_null(strstr(html, "3 events or updates were lost"));
	/* summary: 2400 requests in 3 s */
	assert_non_null(strstr(html, "<td>2400</td><td>800.0</td><td class=\"l\">HTTP served</td>"));
	/* CDF: one line per target, both on the legend */
	svg = svg_by_id(html, "chart-cdf");
	assert_int_equal(count(svg, "<path "), 2);
	free(svg);
	/* budget: django's work per request is (0.2 + 0.1 + 0.1) s * 2 threads * 6 / 2400 = 2.0ms,
	 * its idle time 0.5 s * 2 * 6 / 2400 = 2.5ms, apart */
	svg = svg_by_id(html, "chart-budget");
	assert_non_null(strstr(svg, "2.0ms work"));
	assert_non_null(strstr(svg, "2.5ms idle"));
	assert_non_null(strstr(svg, "url(#chart-budget-idle-"));
	assert_non_null(strstr(svg, "<title>cpu: 1.0ms per request, 50.0% of work</title>"));
	free(svg);
	assert_null(strstr(html, "id=\"chart-budget-time\""));   /* every target served requests */
	/* over time: 3 intervals, a dot per interval per target */
	svg = svg_by_id(html, "chart-rps");
	assert_int_equal(count(svg, "<circle "), 6);
	assert_non_null(strstr(svg, "django at 3s: 1200"));   /* 400 * 3 requests in 1 s */
	free(svg);
	svg = svg_by_id(html, "chart-p99");
	assert_int_equal(count(svg, "<path "), 2);
	free(svg);
	/* statements merged by template, with bars; routes too */
	assert_int_equal(count(html, "<code>" SELECT_SQL "</code>"), 1);
	assert_non_null(strstr(html, "<td>1800</td>"));   /* (200 + 100) * 6 executions */
	assert_non_null(strstr(html, "class=\"bar\" style=\"width:100.0%"));
	assert_non_null(strstr(html, "<code>GET /db/select</code>"));
	/* BUSY results per template (12 of INSERT's, 6 at once), none of SELECT's; the prepares'
	 * sleeps below django's table only */
	assert_non_null(strstr(html, "<td class=\"bad\">12<br><span class=\"unit\">6 at once</span></td>"));
	assert_int_equal(count(html, "<td>1800</td><td>0</td>"), 1);
	assert_int_equal(count(html, "busy handler slept 18 times, 300.0ms in all"), 1);
	assert_non_null(strstr(html, "6 prepares returned BUSY"));
	free(html);
}

static void test_html_escaping(void **state)
{
	struct fixture *fx = *state;
	int err;
	char *html = render_html(&fx->in, &err);

	/* markup from names and routes; then anything that could fetch */
	static const char *const absent[] = { EVIL_NAME, "<img", "<script", "</script>", "http://",
					      "https://", " src=", "@import", "url(http" };
	static const char *const present[] = {
		"&lt;img onerror=x&gt;", "<title>django vs &lt;img onerror=x&gt;</title>",
		"/search&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "/q&quot;x\\y\nz",
	};

	assert_int_equal(err, 0);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (strstr(html, absent[i])) {
			print_error("the page has %s\n", absent[i]);
			fail();
		}
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		if (!strstr(html, present[i])) {
			print_error("the page lacks %s\n", present[i]);
			fail();
		}
	free(html);
}

static void test_html_without_intervals(void **state)
{
	struct fixture *fx = *state;
	struct report_html_input in = { .total = &fx->total };
	int err;
	char *html = render_html(&in, &err);

	assert_int_equal(err, 0);
	assert_non_null(strstr(html, "<title>iogap report</title>"));
	assert_non_null(strstr(html, "No intervals were recorded."));
	assert_null(strstr(html, "id=\"chart-rps\""));
	assert_null(strstr(html, "<section id=\"explain\">"));
	assert_non_null(strstr(html, "id=\"chart-cdf\""));
	free(html);
}

/* The value of the sample "series" (name and labels as printed), or NULL. */
static char *sample(const char *prom, const char *series)
{
	size_t n = strlen(series);

	for (const char *l = prom; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, series, n) && l[n] == ' ')
			return strndup(l + n + 1, strcspn(l + n + 1, "\n"));
	return NULL;
}

static void expect(const char *prom, const char *series, const char *value)
{
	char *v = sample(prom, series);

	if (!v || strcmp(v, value)) {
		print_error("%s: %s, expected %s\n", series, v ? v : "(missing)", value);
		free(v);
		fail();
	}
	free(v);
}

#define MAX_FAMILIES 128

/* HELP then TYPE once per family, before its samples, a family's samples together, and each
 * histogram series' buckets cumulative with le rising to +Inf, equal to its _count. Returns the
 * number of histogram series. */
static int check_exposition(const char *prom)
{
	char *copy = strdup(prom), *save = NULL, *line;
	char *names[MAX_FAMILIES], *types[MAX_FAMILIES], *help = NULL;
	char series[1024] = "", inf[64] = "";
	double prev_le = -1;
	unsigned long long prev = 0;
	int nf = 0, histograms = 0;

	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256], *sp, *brace, *value;
		size_t nlen;
		int fam = -1;

		if (!strncmp(line, "# HELP ", 7)) {
			help = line + 7;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			sp = strchr(line + 7, ' ');
			assert_non_null(sp);
			*sp = '\0';
			assert_non_null(help);
			assert_true(!strncmp(help, line + 7, strlen(line + 7)));
			for (int i = 0; i < nf; i++)
				if (!strcmp(names[i], line + 7)) {
					print_error("TYPE %s twice\n", line + 7);
					fail();
				}
			assert_true(nf < MAX_FAMILIES);
			names[nf] = line + 7;
			types[nf++] = sp + 1;
			help = NULL;
			continue;
		}
		assert_true(line[0] != '#');
		value = strrchr(line, ' ');
		assert_non_null(value);
		brace = strchr(line, '{');
		nlen = brace && brace < value ? (size_t)(brace - line) : (size_t)(value - line);
		snprintf(name, sizeof(name), "%.*s", (int)nlen, line);
		for (int i = 0; i < nf && fam < 0; i++) {
			size_t k = strlen(names[i]);

			if (!strcmp(name, names[i]))
				fam = i;
			else if (!strcmp(types[i], "histogram") && !strncmp(name, names[i], k) &&
				 (!strcmp(name + k, "_bucket") || !strcmp(name + k, "_sum") || !strcmp(name + k, "_count")))
				fam = i;
		}
		/* the family declared last: a family's samples follow its TYPE, all together */
		if (fam < 0 || fam != nf - 1) {
			print_error("sample before its TYPE or away from its family: %s\n", line);
			fail();
		}
		if (strcmp(types[fam], "histogram"))
			continue;
		if (!strcmp(name + strlen(names[fam]), "_bucket")) {
			char *le = strstr(line, "le=\""), key[1024];
			double lev;
			unsigned long long c = strtoull(value + 1, NULL, 10);

			assert_non_null(le);
			snprintf(key, sizeof(key), "%.*s", (int)(le - line), line);
			if (strcmp(key, series)) {
				assert_string_equal(inf, "");   /* the last series ended with _count */
				snprintf(series, sizeof(series), "%s", key);
				prev_le = -1;
				prev = 0;
				histograms++;
			}
			lev = !strncmp(le, "le=\"+Inf\"", 9) ? 1e300 : strtod(le + 4, NULL);
			assert_true(lev > prev_le);
			assert_true(c >= prev);
			prev_le = lev;
			prev = c;
			if (lev == 1e300)
				snprintf(inf, sizeof(inf), "%llu", c);
		} else if (!strcmp(name + strlen(names[fam]), "_count")) {
			assert_string_equal(value + 1, inf);
			inf[0] = '\0';
		}
	}
	assert_string_equal(inf, "");
	free(copy);
	return histograms;
}

static void test_prometheus(void **state)
{
	struct fixture *fx = *state;
	char *prom = render_prom(&fx->total), *again = render_prom(&fx->total), *v;

	save("metrics.prom", prom);
	assert_int_equal(check_exposition(prom), 8);   /* 2 ops, 4 routes, 2 templates */
	assert_string_equal(prom, again);   /* the same model, the same text */
	expect(prom, "iogap_ring_buffer_drops_total", "3");
	expect(prom, "iogap_syscalls_total{container=\"django\"}", "30000");
	expect(prom, "iogap_syscalls_total{container=\"<img onerror=x>\"}", "18000");
	expect(prom, "iogap_io_ops_total{container=\"django\",op=\"pread\",fd_kind=\"file\"}", "6000");
	expect(prom, "iogap_io_errors_total{container=\"django\",op=\"pread\",fd_kind=\"file\"}", "12");
	expect(prom, "iogap_io_bytes_total{container=\"django\",op=\"pread\",fd_kind=\"file\"}", "24576000");
	/* preads of 4000..5998 ns: 48 of each 1000 below 4096 ns, none below 2048, all below 8192 */
	expect(prom, "iogap_io_latency_seconds_bucket{container=\"django\",op=\"pread\",fd_kind=\"file\",le=\"0.000002048\"}", "0");
	expect(prom, "iogap_io_latency_seconds_bucket{container=\"django\",op=\"pread\",fd_kind=\"file\",le=\"0.000004096\"}", "288");
	expect(prom, "iogap_io_latency_seconds_bucket{container=\"django\",op=\"pread\",fd_kind=\"file\",le=\"0.000008192\"}", "6000");
	expect(prom, "iogap_io_latency_seconds_bucket{container=\"django\",op=\"pread\",fd_kind=\"file\",le=\"+Inf\"}", "6000");
	expect(prom, "iogap_io_latency_seconds_sum{container=\"django\",op=\"pread\",fd_kind=\"file\"}", "0.03");
	expect(prom, "iogap_io_latency_seconds_count{container=\"django\",op=\"pread\",fd_kind=\"file\"}", "6000");
	expect(prom, "iogap_http_requests_total{container=\"django\",side=\"server\",method=\"GET\",route=\"/db/select\",status_class=\"2xx\"}", "1740");
	expect(prom, "iogap_http_requests_total{container=\"django\",side=\"server\",method=\"GET\",route=\"/db/select\",status_class=\"5xx\"}", "60");
	expect(prom, "iogap_http_request_duration_seconds_count{container=\"django\",method=\"POST\",route=\"/db/insert\"}", "600");
	/* label values: backslash, quote and newline escaped; the rest as it is */
	expect(prom, "iogap_http_requests_total{container=\"<img onerror=x>\",side=\"server\",method=\"GET\",route=\"/q\\\"x\\\\y\\nz\",status_class=\"4xx\"}", "30");
	expect(prom, "iogap_http_requests_total{container=\"<img onerror=x>\",side=\"server\",method=\"GET\",route=\"" SCRIPT_ROUTE "\",status_class=\"2xx\"}", "1200");
	/* statements by template under a stable hash of it */
	expect(prom, "iogap_sqlite_statements_total{container=\"django\",statement_hash=\"" SELECT_HASH "\",statement=\"" SELECT_SQL "\"}", "1800");
	expect(prom, "iogap_sqlite_step_seconds_count{container=\"django\",statement_hash=\"" SELECT_HASH "\"}", "3600");
	expect(prom, "iogap_sqlite_step_seconds_sum{container=\"django\",statement_hash=\"" SELECT_HASH "\"}", "1.8");
	expect(prom, "iogap_sqlite_step_split_seconds_total{container=\"django\",statement_hash=\"e15e3c8c836a2025\",class=\"fsync\"}", "0.6");
	expect(prom, "iogap_sqlite_step_split_seconds_total{container=\"django\",statement_hash=\"e15e3c8c836a2025\",class=\"cpu\"}", "1.8");
	expect(prom, "iogap_sqlite_results_total{container=\"django\",statement_hash=\"" SELECT_HASH "\",code=\"ROW\"}", "1800");
	expect(prom, "iogap_tcp_accepted_total{container=\"django\"}", "240");
	expect(prom, "iogap_tcp_resets_sent_total{container=\"django\"}", "18");
	expect(prom, "iogap_tcp_resets_received_total{container=\"django\"}", "6");
	expect(prom, "iogap_tcp_retransmits_total{container=\"django\"}", "42");
	expect(prom, "iogap_time_seconds_total{container=\"django\",class=\"cpu\"}", "2.4");
	expect(prom, "iogap_time_seconds_total{container=\"django\",class=\"poll_idle\"}", "6");
	expect(prom, "iogap_time_seconds_total{container=\"<img onerror=x>\",class=\"futex\"}", "1.8");
	/* 2.4 s of CPU in 3 s of one CPU */
	expect(prom, "iogap_cpu_ratio{container=\"django\"}", "0.800000");
	expect(prom, "iogap_memory_bytes{container=\"django\"}", "83886080");
	v = sample(prom, "iogap_io_latency_seconds_bucket{container=\"django\",op=\"pread\",fd_kind=\"file\",le=\"0.000000256\"}");
	assert_non_null(v);   /* the first fixed boundary */
	free(v);
	free(prom);
	free(again);
}

/* Statement labels are cut at 120 bytes between UTF-8 characters; targets of one name stay apart. */
static void test_prometheus_labels(void **state)
{
	struct model m;
	struct target *t;
	char sql[256], want[256], *prom;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.duration_ns = 1000000000ULL;
	t = model_target_add(&m, "python3", TARGET_PID);
	assert_non_null(t);
	memset(sql, 0, sizeof(sql));
	memcpy(sql, "SELECT ", 7);
	memset(sql + 7, 'c', 112);                  /* 119 bytes, then a 2-byte character */
	strcat(sql, "\xc3\xa9 FROM t");
	stmt(t, 1, sql, 1, 1000, 0);
	t->syscalls = 1;
	t = model_target_add(&m, "python3", TARGET_PID);
	assert_non_null(t);
	t->syscalls = 2;
	target_route(t, 0, "GET", "/bad\xff")->count = 1;
	target_route(t, 0, "GET", "/surrogate\xed\xa0\x80/ok\xe2\x82\xac")->count = 1;
	prom = render_prom(&m);
	save("labels.prom", prom);
	assert_int_equal(check_exposition(prom), 3);
	expect(prom, "iogap_syscalls_total{container=\"python3\"}", "1");
	expect(prom, "iogap_syscalls_total{container=\"python3#2\"}", "2");
	snprintf(want, sizeof(want), "statement=\"%.119s\"}", sql);
	assert_non_null(strstr(prom, want));
	/* not UTF-8: replaced byte by byte; the euro sign is kept */
	assert_non_null(strstr(prom, "route=\"/bad?\""));
	assert_non_null(strstr(prom, "route=\"/surrogate??" "?/ok\xe2\x82\xac\""));
	free(prom);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_html_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_html_without_intervals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prometheus, setup, teardown),
		cmocka_unit_test(test_prometheus_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
