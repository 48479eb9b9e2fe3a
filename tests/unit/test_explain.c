/* explain: validity, ranking, the sqlite_open carve-out, findings and the three views, on models
 * built by hand (two sides of 1000 requests in 10 s on 1 CPU, a base budget both share). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "json_check.h"
#include <cjson/cJSON.h>
#include "explain/explain.h"
#include "model/model.h"

#define REQS 1000
#define SECS 10
#define MS 1000000ULL

/* The midpoint of the histogram bucket v falls in: what the model reads back as v. */
static uint64_t mid(uint64_t v)
{
	uint32_t i = hist_bucket(v);

	return hist_bucket_lo(i) + (hist_bucket_hi(i) - hist_bucket_lo(i)) / 2;
}

static struct target *side(struct model *m, const char *name, uint64_t lat_ns, uint64_t errors_5xx)
{
	struct target *t = model_target_add(m, name, TARGET_CONTAINER);
	struct http_route *r;
	struct thread_stat *th;

	assert_non_null(t);
	r = target_route(t, 0, "GET", "/items/{id}");
	assert_non_null(r);
	r->count = REQS;
	r->status[0] = REQS - errors_5xx;
	r->status[3] = errors_5xx;
	r->lat.b[hist_bucket(lat_ns)] = REQS;
	t->net.requests = REQS;
	t->net.tcp.accepted = 10;
	t->bud.ncpus = 1;
	th = target_thread(t, 100);
	assert_non_null(th);
	snprintf(th->comm, sizeof(th->comm), "worker");
	/* the base both sides share: 5 ms CPU, 1 ms reads, 2 ms futex, 1 ms socket reads */
	th->ns[BUD_CPU] = 5 * MS * REQS;
	th->ns[BUD_FILE_READ] = 1 * MS * REQS;
	th->ns[BUD_FUTEX] = 2 * MS * REQS;
	th->ns[BUD_NET_RECV] = 1 * MS * REQS;
	th->ns[BUD_POLL_IDLE] = 3 * MS * REQS;
	return t;
}

/* A (fastapi) and B (django); B's latency is lat_b. */
static void pair(struct model *m, uint64_t lat_b, uint64_t errors_b)
{
	memset(m, 0, sizeof(*m));
	m->duration_ns = SECS * 1000000000ULL;
	side(m, "fastapi", 10 * MS, 0);
	side(m, "django", lat_b, errors_b);
}

static void add_ns(struct target *t, int cls, double ns_per_request)
{
	int64_t v = (int64_t)t->bud.threads[0].ns[cls] + (int64_t)(ns_per_request * REQS);

	assert_true(v >= 0);
	t->bud.threads[0].ns[cls] = (uint64_t)v;
}

static struct sql_stmt *stmt(struct target *t, uint64_t hash, const char *sql, uint64_t count)
{
	struct sql_stmt *s = target_stmt(t, hash);

	assert_non_null(s);
	s->sql = strdup(sql);
	s->s.count = s->s.steps = count;
	return s;
}

static void sq_fsyncs(struct target *t, uint64_t ino, const char *path, uint64_t count, uint64_t ns)
{
	struct sq_fsync_stat *f;

	assert_int_equal(target_file_set_path(t, 8, ino, 1, path), 0);
	f = target_sq_fsync(t, 8, ino, 1);
	assert_non_null(f);
	f->count = count;
	f->total_ns = ns;
}

static bool has_finding(const struct explain_result *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->nfindings; i++)
		if (strstr(r->findings[i], a) && (!b || strstr(r->findings[i], b)))
			return true;
	return false;
}

static char *text_of(const struct explain_result *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	explain_text(f, r);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check_ranked(const struct explain_result *r)
{
	double sum = 0;

	for (size_t i = 0; i < r->ncauses; i++) {
		assert_true(r->causes[i].share > 0 && r->causes[i].share <= 1);
		assert_true(r->causes[i].delta >= r->noise_ns);
		if (i)
			assert_true(r->causes[i - 1].share >= r->causes[i].share);
		sum += r->causes[i].share;
	}
	assert_true(sum <= 1 + 1e-9);
}

static void compare(struct model *m, struct explain_result *r)
{
	assert_int_equal(explain_compare(m, &m->targets[0], m, &m->targets[1], r), 0);
	check_ranked(r);
}

/* (a) one more fsync per request on B, to its rollback journal */
static void test_fsync(void **s)
{
	struct model m;
	struct explain_result r;
	struct target *a, *b;
	char *txt;

	(void)s;
	pair(&m, 13 * MS, 0);
	a = &m.targets[0];
	b = &m.targets[1];
	add_ns(b, BUD_FSYNC, 2 * MS);
	add_ns(a, BUD_FSYNC, 1 * MS);
	add_ns(b, BUD_FSYNC, 1 * MS);
	stmt(a, 1, "INSERT INTO items(name) VALUES(?)", REQS)->s.split_ns[SPLIT_FSYNC] = 1 * MS * REQS;
	stmt(b, 1, "INSERT INTO items(name) VALUES(?)", REQS)->s.split_ns[SPLIT_FSYNC] = 3 * MS * REQS;
	sq_fsyncs(a, 10, "/data/db.sqlite3-wal", REQS, 1 * MS * REQS);
	sq_fsyncs(b, 20, "/data/db.sqlite3-journal", 2 * REQS, 3 * MS * REQS);
	compare(&m, &r);
	assert_true(r.valid);
	assert_int_equal(r.slower, 1);
	assert_true(r.per_request);
	assert_true(r.ncauses >= 1);
	assert_string_equal(r.causes[0].cls, "fsync");
	assert_true(r.causes[0].share > 0.5);
	assert_in_range((uint64_t)r.causes[0].delta, 2 * MS - 1, 2 * MS + 1);
	assert_non_null(strstr(r.causes[0].evidence, "/data/db.sqlite3-journal"));
	assert_true(has_finding(&r, "django 2.00 (2000 fsyncs", "journal_mode DELETE"));
	assert_true(has_finding(&r, "fastapi 1.00 (1000 fsyncs", "journal_mode WAL"));
	txt = text_of(&r);
	assert_non_null(strstr(txt, "iogap explain: fastapi vs django ("));
	assert_non_null(strstr(txt, "+2.0ms"));
	assert_non_null(strstr(txt, "why django is slower"));
	free(txt);
	explain_free(&r);
	model_free(&m);
}

/* (b) B waits 5 ms more per request for its one CPU, 99% busy */
static void test_runqueue(void **s)
{
	struct model m;
	struct explain_result r;
	struct target *b;

	(void)s;
	pair(&m, 20 * MS, 0);
	b = &m.targets[1];
	add_ns(b, BUD_CPU, 4.9 * MS);     /* 9.9 ms x 1000 in 10 s: 99% of 1 CPU */
	add_ns(b, BUD_RUNQ, 5 * MS);
	compare(&m, &r);
	assert_true(r.ncauses >= 2);
	assert_string_equal(r.causes[0].cls, "runqueue");
	assert_string_equal(r.causes[1].cls, "cpu");
	assert_in_range((int)(r.side[1].cpu_pct + 0.5), 99, 99);
	assert_non_null(strstr(r.causes[0].evidence, "99% busy"));
	assert_true(has_finding(&r, "django's CPU was saturated: 99% of its 1 CPU", "5.0ms per request"));
	assert_false(has_finding(&r, "fastapi's CPU was saturated", NULL));
	explain_free(&r);
	model_free(&m);
}

/* (c) B's busy handler sleeps: statements returned BUSY */
static void test_busy_sleep(void **s)
{
	struct model m;
	struct explain_result r;
	struct target *b;
	struct sql_stmt *st;

	(void)s;
	pair(&m, 17 * MS, 0);
	b = &m.targets[1];
	add_ns(b, BUD_BUSY_SLEEP, 6 * MS);
	st = stmt(b, 7, "INSERT INTO audit(msg) VALUES(?)", REQS);
	st->s.split_ns[SPLIT_BUSY_SLEEP] = 4 * MS * REQS;
	st->s.step_ns = 7 * MS * REQS;
	st->s.rc[RC_BUSY] = 300;
	st->s.busy_at_once = 120;
	b->sq.prep_sleep_ns = 2 * MS * REQS;   /* of the 6 ms: a new connection's schema read */
	stmt(&m.targets[0], 7, "INSERT INTO audit(msg) VALUES(?)", REQS)->s.step_ns = 1 * MS * REQS;
	compare(&m, &r);
	assert_string_equal(r.causes[0].cls, "busy_sleep");
	assert_non_null(strstr(r.causes[0].evidence, "INSERT INTO audit(msg) VALUES(?)"));
	assert_non_null(strstr(r.causes[0].evidence, "300 BUSY"));
	assert_non_null(strstr(r.causes[0].evidence, "in prepares, outside any step"));
	assert_non_null(strstr(r.causes[0].evidence, "django 2.0ms"));
	/* the budget's 6 ms per request: 4 in the statements' steps, 2 in prepares */
	assert_true(has_finding(&r, "busy handler slept 6.0ms per request on django",
				"after each sleep: 4.0ms in statements' steps, 2.0ms in prepares"));
	assert_true(has_finding(&r, "statement steps that returned BUSY: django 300", "120 of them at once"));
	assert_true(has_finding(&r, "django's statements returned BUSY at once, without waiting, 120 times",
				"BEGIN IMMEDIATE"));
	/* the statement's mean went 1 ms -> 7 ms: a finding of its own */
	assert_true(has_finding(&r, "statement INSERT INTO audit(msg) VALUES(?)", "mean 7.0x"));
	explain_free(&r);
	model_free(&m);
}

/* (d) B opens a SQLite connection per request: the open's time is carved out of cpu */
static void test_sqlite_open(void **s)
{
	struct model m;
	struct explain_result r;
	struct target *b;
	double before = 0, after = 0;

	(void)s;
	pair(&m, 13 * MS, 0);
	b = &m.targets[1];
	add_ns(b, BUD_CPU, 3 * MS);
	b->sq.opens = REQS;
	b->sq.open_ns = 2 * MS * REQS;
	stmt(b, 9, "SELECT*FROM\"main\".sqlite_master ORDER BY rowid", REQS)->s.step_ns = 1 * MS * REQS;
	m.targets[0].sq.opens = 1;
	m.targets[0].sq.open_ns = 2 * MS;
	compare(&m, &r);
	assert_true(r.ncauses >= 1);
	assert_string_equal(r.causes[0].cls, "sqlite_open");
	assert_in_range((uint64_t)r.causes[0].delta, 3 * MS - 2000, 3 * MS);
	/* counted once: cpu's delta is what is left after the carve-out, and below the floor */
	for (size_t i = 0; i < r.ncauses; i++)
		assert_string_not_equal(r.causes[i].cls, "cpu");
	for (int k = 0; k < EXR_MAX; k++) {
		after += r.rows[k].delta;
		if (k != EXR_SQLITE_OPEN)
			before += r.side[1].per_unit[k] - r.side[0].per_unit[k];
	}
	assert_true(before - after < 1 && after - before < 1);
	assert_true(has_finding(&r, "django opened new SQLite connections at 1.00 per request "
				"(1000 opens", NULL));
	explain_free(&r);
	model_free(&m);
}

/* (e) B answers 80% with 5xx: not valid, and said first */
static void test_errors(void **s)
{
	struct model m;
	struct explain_result r;
	char *txt, *line2;

	(void)s;
	pair(&m, 2 * MS, 800);
	compare(&m, &r);
	assert_false(r.valid);
	assert_true(r.nwarnings >= 1);
	assert_non_null(strstr(r.warnings[0], "django answered 80.0% of its 1000 requests with errors"));
	assert_non_null(strstr(r.warnings[0], "5xx 800"));
	assert_non_null(strstr(r.warnings[0], "fastapi 0.0%"));
	assert_non_null(strstr(r.warnings[0], "latency percentiles"));
	/* failing fast: django's latency is the lower, but it gives 200 successful answers per second
	 * to fastapi's 1000 under the same load: django is the slower side */
	assert_true(r.by_throughput);
	assert_string_equal(r.side[r.slower].label, "django");
	txt = text_of(&r);
	line2 = strchr(txt, '\n');
	assert_non_null(line2);
	line2++;
	assert_memory_equal(line2, "WARNING: ", 9);
	assert_memory_equal(line2 + 9, r.warnings[0], strlen(r.warnings[0]));
	assert_true(has_finding(&r, "django answered 800 of its 1000 requests with errors (80.0%",
				"GET /items/{id}"));
	free(txt);
	explain_free(&r);
	model_free(&m);
}

/* Equal sides, and a difference below the noise floor (1% of the mean latency): no cause. */
static void test_noise(void **s)
{
	struct model m;
	struct explain_result r;

	(void)s;
	pair(&m, 10 * MS, 0);
	compare(&m, &r);
	assert_int_equal(r.ncauses, 0);
	assert_true(r.valid);
	assert_non_null(r.valid_note);
	explain_free(&r);
	add_ns(&m.targets[1], BUD_CPU, 0.005 * mid(10 * MS));
	add_ns(&m.targets[1], BUD_FILE_WRITE, 0.009 * mid(10 * MS));
	compare(&m, &r);
	assert_int_equal(r.ncauses, 0);
	assert_true(r.rows[BUD_CPU].delta > 0 && r.rows[BUD_CPU].delta < r.noise_ns);
	assert_true(r.noise_ns > 0.0099 * mid(10 * MS) && r.noise_ns < 0.0101 * mid(10 * MS));
	explain_free(&r);
	model_free(&m);
}

/* covered = the listed causes' deltas over the mean-latency gap, on two models. */
static void test_covered(void **s)
{
	struct model ma, mb;
	struct explain_result r;
	double gap = (double)mid(14 * MS) - (double)mid(10 * MS);
	struct explain_opts o = { .label_a = "before", .label_b = "after", .source = "recordings x and y" };

	(void)s;
	pair(&ma, 10 * MS, 0);
	pair(&mb, 14 * MS, 0);
	add_ns(&mb.targets[1], BUD_FSYNC, 0.5 * gap);
	add_ns(&mb.targets[1], BUD_CPU, 0.25 * gap);
	add_ns(&mb.targets[1], BUD_FILE_READ, -0.1 * gap);
	assert_int_equal(explain_compare_opts(&ma, &ma.targets[1], &mb, &mb.targets[1], &o, &r), 0);
	check_ranked(&r);
	assert_int_equal(r.ncauses, 2);
	assert_string_equal(r.causes[0].cls, "fsync");
	assert_string_equal(r.causes[1].cls, "cpu");
	assert_true(r.gap_ns == gap);
	assert_true(r.covered > 0.75 - 1e-9 && r.covered < 0.75 + 1e-9);
	assert_true(r.causes[0].share > 2.0 / 3 - 1e-9 && r.causes[0].share < 2.0 / 3 + 1e-9);
	assert_string_equal(r.side[0].label, "before");
	{
		char *txt = text_of(&r);

		assert_non_null(strstr(txt, "iogap explain: before vs after (recordings x and y, 10.0 s)"));
		assert_non_null(strstr(txt, "the causes cover 75% of the"));
		free(txt);
	}
	explain_free(&r);
	model_free(&ma);
	model_free(&mb);
}

static void test_json(void **s)
{
	static const char *const per_side[] = {
		"requests", "rps", "p50_ns", "p95_ns", "p99_ns", "error_rate",
	};
	struct model m;
	struct explain_result r;
	cJSON *root, *h, *c;
	char *js;

	(void)s;
	pair(&m, 12 * MS, 0);
	add_ns(&m.targets[1], BUD_FSYNC, 2 * MS);
	compare(&m, &r);
	js = explain_json(&r);
	assert_non_null(js);
	root = cJSON_Parse(js);
	assert_non_null(root);
	assert_string_equal(json_get(root, "a", cJSON_String)->valuestring, "fastapi");
	assert_string_equal(json_get(root, "b", cJSON_String)->valuestring, "django");
	assert_true(cJSON_IsTrue(json_get(root, "valid", cJSON_True | cJSON_False)));
	json_get(root, "warnings", cJSON_Array);
	h = json_get(root, "headline", cJSON_Object);
	for (int i = 0; i < 2; i++) {
		cJSON *x = json_get(h, i ? "b" : "a", cJSON_Object);

		for (size_t k = 0; k < sizeof(per_side) / sizeof(per_side[0]); k++)
			json_get(x, per_side[k], cJSON_Number);
	}
	assert_int_equal(json_get(json_get(h, "a", cJSON_Object), "requests", cJSON_Number)->valueint, REQS);
	assert_true(json_get(json_get(h, "ratio_b_a", cJSON_Object), "p50", cJSON_Number)->valuedouble > 1);
	c = cJSON_GetArrayItem(json_get(root, "causes", cJSON_Array), 0);
	assert_non_null(c);
	assert_string_equal(json_get(c, "class", cJSON_String)->valuestring, "fsync");
	assert_int_equal(json_get(c, "delta_ns_per_request", cJSON_Number)->valuedouble, 2 * MS);
	assert_true(json_get(c, "share", cJSON_Number)->valuedouble == 1);
	assert_non_null(strstr(json_get(c, "evidence", cJSON_String)->valuestring, "+2.0ms per request"));
	assert_true(json_get(root, "covered", cJSON_Number)->valuedouble > 0);
	json_get(root, "findings", cJSON_Array);
	cJSON_Delete(root);
	free(js);
	explain_free(&r);
	model_free(&m);
}

/* Unequal load, lost events, a layer on one side only: warnings, not valid. */
static void test_validity(void **s)
{
	struct model m;
	struct explain_result r;
	struct http_route *x;

	(void)s;
	pair(&m, 10 * MS, 0);
	x = target_route(&m.targets[1], 0, "POST", "/json");
	x->count = x->status[0] = REQS;
	m.counters[CNT_RB_DROPS] = 5;
	stmt(&m.targets[0], 3, "SELECT 1", 10);
	compare(&m, &r);
	assert_false(r.valid);
	assert_null(r.valid_note);
	assert_true(r.nwarnings >= 3);
	assert_non_null(strstr(r.warnings[0], "unequal load: the request mix"));
	assert_non_null(strstr(r.warnings[0],
			       "GET /items/{id} is 100.0% of fastapi's requests, 50.0% of django's"));
	assert_non_null(strstr(r.warnings[1], "5 events or updates were lost"));
	assert_non_null(strstr(r.warnings[2], "SQLite was measured on fastapi only"));
	explain_free(&r);
	model_free(&m);
}

/* No HTTP on either side: per second of the run, and said so. */
static void test_per_second(void **s)
{
	struct model m;
	struct explain_result r;

	(void)s;
	pair(&m, 10 * MS, 0);
	for (int i = 0; i < 2; i++) {
		m.targets[i].net.routes[0].count = 0;
		m.targets[i].net.routes[0].status[0] = 0;
	}
	add_ns(&m.targets[0], BUD_FILE_WRITE, 3 * MS);
	compare(&m, &r);
	assert_false(r.per_request);
	assert_int_equal(r.slower, 0);
	assert_string_equal(r.causes[0].cls, "file_write");
	assert_in_range((uint64_t)r.causes[0].delta, 300 * MS - 1, 300 * MS + 1);   /* 3 s in 10 s */
	assert_non_null(strstr(r.causes[0].evidence, "per second"));
	assert_non_null(strstr(r.warnings[0], "per second of the run instead of per request"));
	explain_free(&r);
	model_free(&m);
}

static void test_html(void **s)
{
	struct model m;
	struct explain_result r;
	struct explain_opts o = { .label_a = "a<b>", .label_b = "c&d" };
	char *h;

	(void)s;
	pair(&m, 12 * MS, 0);
	add_ns(&m.targets[1], BUD_FSYNC, 2 * MS);
	assert_int_equal(explain_compare_opts(&m, &m.targets[0], &m, &m.targets[1], &o, &r), 0);
	h = explain_html(&r);
	assert_non_null(h);
	assert_non_null(strstr(h, "a&lt;b&gt;"));
	assert_non_null(strstr(h, "c&amp;d"));
	assert_null(strstr(h, "<b>"));
	assert_null(strstr(h, "<h2"));
	assert_non_null(strstr(h, "fsync"));
	free(h);
	explain_free(&r);
	h = explain_model_html(&m);
	assert_non_null(h);
	assert_non_null(strstr(h, "fastapi (A) vs django (B)"));
	free(h);
	m.targets[1].net.routes[0].count = 0;
	assert_null(explain_model_html(&m));
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsync),
		cmocka_unit_test(test_runqueue),
		cmocka_unit_test(test_busy_sleep),
		cmocka_unit_test(test_sqlite_open),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_covered),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_per_second),
		cmocka_unit_test(test_html),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
