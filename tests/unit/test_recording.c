/* Model serialization (every field, exact uint64), model_add, and recording files: writing,
 * reading, truncation at every byte, corruption, refusal of newer formats, file mode. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include "model/model.h"
#include "model/recording.h"
#include "model/serialize.h"

#define BIG (1ULL << 60)   /* above 2^53: not exact as a double */

/* Values for a snapshot at step k: figures grow with k (so deltas of steps are what an
 * interval adds), identities and times stay. Every call gives a distinct non-zero value. */
struct gen {
	uint64_t k, n;
};

static uint64_t grow(struct gen *g)
{
	return g->k * ++g->n;
}

static uint64_t grow_big(struct gen *g)
{
	return g->k * ((1ULL << 58) + ++g->n);
}

static uint64_t fixed(struct gen *g)
{
	return BIG + ++g->n;
}

static uint32_t fixed32(struct gen *g)
{
	return (uint32_t)++g->n;
}

static void fill_hist(struct hist *h, struct gen *g)
{
	static const unsigned buckets[] = { 0, 7, 16, 100, 300, HIST_BUCKETS - 1 };

	for (size_t i = 0; i < sizeof(buckets) / sizeof(buckets[0]); i++)
		h->b[buckets[i]] = i == 3 ? grow_big(g) : grow(g);
}

/* Every __u64 of a struct made only of them (tcp_stats, stmt_stats): a field added there
 * later is filled too, and the memcmp after the round trip catches it if it is not written. */
static void fill_words(void *p, size_t size, struct gen *g)
{
	for (size_t off = 0; off < size; off += sizeof(uint64_t)) {
		uint64_t v = off % 16 ? grow_big(g) : grow(g);

		memcpy((char *)p + off, &v, sizeof(v));
	}
}

static char *str(const char *fmt, uint64_t n)
{
	char *s;

	assert_true(asprintf(&s, fmt, (unsigned long long)n) > 0);
	return s;
}

/* Step 1 has one of everything; step 2 adds a container, files, a statement, codes, a thread;
 * step 3 adds more and a target, stops one, ends a thread. Step 3 sets every field. */
static void fill_target(struct model *m, const char *name, const char *cgroup, enum target_kind kind,
			uint64_t k, uint64_t seed)
{
	struct target *t = model_target_add(m, name, kind);
	struct gen g = { k, seed };
	struct op_stats *o;
	struct file_stat *f;
	struct sql_stmt *st;
	struct sq_fsync_stat *fs;
	struct http_route *r;
	struct thread_stat *th;

	assert_non_null(t);
	free(t->cgroup);
	t->cgroup = strdup(cgroup);
	t->cgroup_id = fixed(&g);
	assert_int_equal(target_pid_set_ns(t, (pid_t)fixed32(&g), (pid_t)fixed32(&g)), 0);
	assert_int_equal(target_pid_add(t, (pid_t)fixed32(&g)), 0);
	t->added_ns = fixed(&g);
	t->syscalls = grow_big(&g);
	t->exits = grow(&g);
	for (int nr = 0; nr < IOGAP_NR_SYSCALLS; nr += 37) {
		t->sys_count[nr] = grow(&g);
		t->sys_errors[nr + 1] = grow_big(&g);
	}
	o = target_op(t, IOP_PREAD, FDK_FILE);
	o->count = grow(&g);
	o->errors = grow(&g);
	o->bytes = grow_big(&g);
	o->sum_ns = grow_big(&g);
	o->max_ns = grow(&g);
	fill_hist(&o->hist, &g);
	f = target_file(t, fixed32(&g), fixed(&g), fixed32(&g));
	f->path = str("/data/db-%llu.sqlite3", seed);
	f->count = grow(&g);
	f->total_ns = grow_big(&g);
	f->bytes = grow(&g);
	t->sq.library = str("/usr/lib/libsqlite3.so.%llu", seed);
	t->sq.where = "mapped";
	t->sq.processes = k;
	t->sq.opens = grow(&g);
	t->sq.closes = grow(&g);
	t->sq.open_ns = grow_big(&g);
	t->sq.prep_sleeps = grow(&g);
	t->sq.prep_sleep_ns = grow_big(&g);
	t->sq.prep_busy = grow(&g);
	st = target_stmt(t, UINT64_MAX - seed);
	st->sql = str("SELECT * FROM t%llu WHERE id = ?", seed);
	fill_words(&st->s, sizeof(st->s), &g);
	fill_hist(&st->step_hist, &g);
	fill_hist(&st->stmt_hist, &g);
	fs = target_sq_fsync(t, fixed32(&g), fixed(&g), fixed32(&g));
	fs->count = grow(&g);
	fs->total_ns = grow_big(&g);
	fill_words(&t->net.tcp, sizeof(t->net.tcp), &g);
	fill_hist(&t->net.connect_lat, &g);
	fill_hist(&t->net.accept_queue, &g);
	fill_hist(&t->net.duration, &g);
	t->net.requests = grow(&g);
	t->net.listen_overflows = grow(&g);
	t->net.listen_drops = grow(&g);
	t->net.listen_base[0] = fixed(&g);
	t->net.listen_base[1] = fixed(&g);
	t->net.listen_known = true;
	r = target_route(t, 0, "GET", "/items/{id}");
	r->count = grow(&g);
	r->status[0] = grow(&g);
	r->status[1] = grow(&g);
	r->status[2] = grow(&g);
	r->status[3] = grow_big(&g);
	r->other = grow(&g);
	r->codes[0].code = 200;
	r->codes[0].count = grow(&g);
	r->ncodes = 1;
	fill_hist(&r->lat, &g);
	r->lat_sum_ns = grow_big(&g);
	th = target_thread(t, fixed32(&g));
	th->tgid = fixed32(&g);
	snprintf(th->comm, sizeof(th->comm), "gunicorn-%llu", (unsigned long long)seed % 100000);
	for (int c = 0; c < BUD_MAX; c++) {
		th->ns[c] = c % 2 ? grow_big(&g) : grow(&g);
		th->req_ns[c] = c % 2 ? grow(&g) : grow_big(&g);
	}
	th->first_ns = fixed(&g);
	th->last_ns = grow_big(&g);
	t->bud.ncpus = (int)fixed32(&g);
	t->bud.mem_bytes = fixed(&g) + k;
	t->bud.mem_peak_bytes = grow_big(&g);
	if (k < 2)
		return;
	g.n = seed + 10000;
	t->ctr.runtime = strdup("docker");
	t->ctr.id = str("%llu0123456789abcdef", seed);
	t->ctr.image = strdup("python:3.11-slim");
	t->ctr.pod = strdup("bench-pod");
	t->ctr.pod_namespace = strdup("default");
	t->ctr.k8s_container = strdup("django");
	t->ctr.pod_uid = str("uid-%llu", seed);
	t->ctr.qos = strdup("Burstable");
	f = target_file(t, fixed32(&g), fixed(&g), fixed32(&g));
	f->count = grow(&g);   /* no path: opened before tracing, not in /proc either */
	o = target_op(t, IOP_RECV, FDK_TCP);
	o->count = grow(&g);
	o->max_ns = grow(&g);
	fill_hist(&o->hist, &g);
	st = target_stmt(t, 0);   /* prepared before tracing: no text */
	fill_words(&st->s, sizeof(st->s), &g);
	r = target_route(t, 0, "GET", "/items/{id}");
	r->codes[1].code = 404;
	r->codes[1].count = grow(&g);
	r->ncodes = 2;
	r = target_route(t, 1, "POST", "/api/v1/upload");
	r->count = grow(&g);
	http_route_status(r, 999);   /* a status outside 200..599 */
	th = target_thread(t, fixed32(&g));
	memcpy(th->comm, "sixteen-bytes-xx", 16);   /* no NUL: the kernel's comm never has this, the model may */
	th->ns[BUD_CPU] = grow(&g);
	th->first_ns = fixed(&g);
	th->last_ns = grow_big(&g);
	if (k < 3)
		return;
	g.n = seed + 20000;
	assert_int_equal(target_pid_set_ns(t, (pid_t)fixed32(&g), (pid_t)fixed32(&g)), 0);
	t->stopped_ns = fixed(&g);
	target_thread(t, th->tid)->exited = true;
	o = target_op(t, IOP_FSYNC, FDK_FILE);
	o->count = grow(&g);
	fs = target_sq_fsync(t, fixed32(&g), fixed(&g), fixed32(&g));
	fs->count = grow(&g);
}

static void fill_model(struct model *m, uint64_t k)
{
	memset(m, 0, sizeof(*m));
	m->start_ns = BIG + 12345;
	m->duration_ns = k * 1000000000ULL;
	for (int i = 0; i < CNT_MAX; i++)
		m->counters[i] = k * (i + 1);
	m->counters[0] = k * BIG;
	fill_target(m, "django", "/seedbench-django", TARGET_CONTAINER, k, 1000000);
	fill_target(m, "fastapi", "/seedbench-fastapi", TARGET_COMMAND, k, 2000000);
	if (k >= 3)
		fill_target(m, "late", "", TARGET_PID, k, 3000000);
}

/* A snapshot as model_copy and model_delta give it: without the collector's own state (the
 * base of the namespace's listen counters), which they leave behind. */
static void fill_snapshot(struct model *m, uint64_t k)
{
	fill_model(m, k);
	for (size_t i = 0; i < m->ntargets; i++) {
		memset(m->targets[i].net.listen_base, 0, sizeof(m->targets[i].net.listen_base));
		m->targets[i].net.listen_known = false;
	}
}

static char *model_text(const struct model *m)
{
	cJSON *j = model_serialize(m);
	char *s;

	assert_non_null(j);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	cJSON_Delete(j);
	return s;
}

static void assert_same_text(const struct model *a, const struct model *b)
{
	char *x = model_text(a), *y = model_text(b);

	if (strcmp(x, y)) {
		size_t i = 0;

		while (x[i] == y[i])
			i++;
		print_error("models differ at JSON byte %zu:\n  %.120s\n  %.120s\n", i,
			    x + (i > 40 ? i - 40 : 0), y + (i > 40 ? i - 40 : 0));
		fail();
	}
	free(x);
	free(y);
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* Field by field, memcmp for the structs without pointers. */
static void assert_same_model(const struct model *a, const struct model *b)
{
	assert_int_equal(a->start_ns, b->start_ns);
	assert_int_equal(a->duration_ns, b->duration_ns);
	assert_memory_equal(a->counters, b->counters, sizeof(a->counters));
	assert_int_equal(a->ntargets, b->ntargets);
	for (size_t i = 0; i < a->ntargets; i++) {
		const struct target *x = &a->targets[i], *y = &b->targets[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->kind, y->kind);
		assert_string_equal(x->cgroup, y->cgroup);
		assert_int_equal(x->cgroup_id, y->cgroup_id);
		assert_int_equal(x->npids, y->npids);
		assert_memory_equal(x->pids, y->pids, x->npids * sizeof(pid_t));
		assert_memory_equal(x->nspids, y->nspids, x->npids * sizeof(pid_t));
		assert_str_or_null(x->ctr.runtime, y->ctr.runtime);
		assert_str_or_null(x->ctr.id, y->ctr.id);
		assert_str_or_null(x->ctr.image, y->ctr.image);
		assert_str_or_null(x->ctr.pod, y->ctr.pod);
		assert_str_or_null(x->ctr.pod_namespace, y->ctr.pod_namespace);
		assert_str_or_null(x->ctr.k8s_container, y->ctr.k8s_container);
		assert_str_or_null(x->ctr.pod_uid, y->ctr.pod_uid);
		assert_str_or_null(x->ctr.qos, y->ctr.qos);
		assert_int_equal(x->added_ns, y->added_ns);
		assert_int_equal(x->stopped_ns, y->stopped_ns);
		assert_int_equal(x->syscalls, y->syscalls);
		assert_memory_equal(x->sys_count, y->sys_count, sizeof(x->sys_count));
		assert_memory_equal(x->sys_errors, y->sys_errors, sizeof(x->sys_errors));
		assert_int_equal(x->exits, y->exits);
		assert_int_equal(x->nops, y->nops);
		assert_memory_equal(x->ops, y->ops, x->nops * sizeof(*x->ops));
		assert_int_equal(x->nfiles, y->nfiles);
		for (size_t j = 0; j < x->nfiles; j++) {
			const struct file_stat *f = &x->files[j], *g = &y->files[j];

			assert_str_or_null(f->path, g->path);
			assert_int_equal(f->dev, g->dev);
			assert_int_equal(f->ino, g->ino);
			assert_int_equal(f->gen, g->gen);
			assert_int_equal(f->count, g->count);
			assert_int_equal(f->total_ns, g->total_ns);
			assert_int_equal(f->bytes, g->bytes);
		}
		assert_str_or_null(x->sq.library, y->sq.library);
		assert_str_or_null(x->sq.where, y->sq.where);
		assert_int_equal(x->sq.processes, y->sq.processes);
		assert_int_equal(x->sq.opens, y->sq.opens);
		assert_int_equal(x->sq.closes, y->sq.closes);
		assert_int_equal(x->sq.open_ns, y->sq.open_ns);
		assert_int_equal(x->sq.prep_sleeps, y->sq.prep_sleeps);
		assert_int_equal(x->sq.prep_sleep_ns, y->sq.prep_sleep_ns);
		assert_int_equal(x->sq.prep_busy, y->sq.prep_busy);
		assert_int_equal(x->sq.nstmts, y->sq.nstmts);
		for (size_t j = 0; j < x->sq.nstmts; j++) {
			const struct sql_stmt *s = &x->sq.stmts[j], *u = &y->sq.stmts[j];

			assert_int_equal(s->hash, u->hash);
			assert_str_or_null(s->sql, u->sql);
			assert_memory_equal(&s->s, &u->s, sizeof(s->s));
			assert_memory_equal(&s->step_hist, &u->step_hist, sizeof(s->step_hist));
			assert_memory_equal(&s->stmt_hist, &u->stmt_hist, sizeof(s->stmt_hist));
		}
		assert_int_equal(x->sq.nfsyncs, y->sq.nfsyncs);
		assert_memory_equal(x->sq.fsyncs, y->sq.fsyncs, x->sq.nfsyncs * sizeof(*x->sq.fsyncs));
		assert_memory_equal(&x->net.tcp, &y->net.tcp, sizeof(x->net.tcp));
		assert_memory_equal(&x->net.connect_lat, &y->net.connect_lat, sizeof(struct hist));
		assert_memory_equal(&x->net.accept_queue, &y->net.accept_queue, sizeof(struct hist));
		assert_memory_equal(&x->net.duration, &y->net.duration, sizeof(struct hist));
		assert_int_equal(x->net.nroutes, y->net.nroutes);
		for (size_t j = 0; j < x->net.nroutes; j++) {
			const struct http_route *r = &x->net.routes[j], *s = &y->net.routes[j];

			assert_int_equal(r->side, s->side);
			assert_memory_equal(r->method, s->method, sizeof(r->method));
			assert_string_equal(r->route, s->route);
			assert_int_equal(r->count, s->count);
			assert_memory_equal(r->status, s->status, sizeof(r->status));
			assert_int_equal(r->other, s->other);
			assert_int_equal(r->ncodes, s->ncodes);
			assert_memory_equal(r->codes, s->codes, sizeof(r->codes));
			assert_memory_equal(&r->lat, &s->lat, sizeof(r->lat));
			assert_int_equal(r->lat_sum_ns, s->lat_sum_ns);
		}
		assert_int_equal(x->net.requests, y->net.requests);
		assert_int_equal(x->net.listen_overflows, y->net.listen_overflows);
		assert_int_equal(x->net.listen_drops, y->net.listen_drops);
		assert_memory_equal(x->net.listen_base, y->net.listen_base, sizeof(x->net.listen_base));
		assert_int_equal(x->net.listen_known, y->net.listen_known);
		assert_int_equal(x->bud.nthreads, y->bud.nthreads);
		assert_memory_equal(x->bud.threads, y->bud.threads, x->bud.nthreads * sizeof(*x->bud.threads));
		assert_int_equal(x->bud.ncpus, y->bud.ncpus);
		assert_int_equal(x->bud.mem_bytes, y->bud.mem_bytes);
		assert_int_equal(x->bud.mem_peak_bytes, y->bud.mem_peak_bytes);
	}
}

static void roundtrip(const struct model *m, struct model *out)
{
	cJSON *j = model_serialize(m);
	char *text = cJSON_PrintUnformatted(j);
	cJSON *parsed = cJSON_Parse(text);   /* through text: numbers as a reader sees them */

	assert_non_null(parsed);
	assert_int_equal(model_deserialize(parsed, out), 0);
	cJSON_Delete(parsed);
	cJSON_Delete(j);
	free(text);
}

static void test_roundtrip_every_field(void **s)
{
	struct model m, back;

	(void)s;
	fill_model(&m, 3);
	roundtrip(&m, &back);
	assert_same_text(&m, &back);
	assert_same_model(&m, &back);
	assert_string_equal(back.targets[0].sq.where, "mapped");
	model_free(&back);
	model_free(&m);
}

/* The structs serialize.c writes field by field: a size change means a field was added or
 * removed, and serialize.c and fill_target() above must learn it (a field added inside
 * existing padding keeps the size: fill_target and the memcmp above are the check there).
 * The struct hindex fields of target and sqlite_info (files_ix, stmts_ix) are not written:
 * they index arrays that are, and are rebuilt from them at the first lookup. */
static void test_struct_sizes_known(void **s)
{
	static const struct { const char *name; size_t size, known; } sizes[] = {
		{ "model", sizeof(struct model), 96 },
		{ "target", sizeof(struct target), 22976 },
		{ "container_meta", sizeof(struct container_meta), 64 },
		{ "op_stats", sizeof(struct op_stats), 4784 },
		{ "file_stat", sizeof(struct file_stat), 48 },
		{ "sqlite_info", sizeof(struct sqlite_info), 144 },
		{ "sql_stmt", sizeof(struct sql_stmt), 9648 },
		{ "stmt_stats", sizeof(struct stmt_stats), 160 },
		{ "sq_fsync_stat", sizeof(struct sq_fsync_stat), 32 },
		{ "net_info", sizeof(struct net_info), 14360 },
		{ "tcp_stats", sizeof(struct tcp_stats), 80 },
		{ "http_route", sizeof(struct http_route), 5088 },
		{ "budget_info", sizeof(struct budget_info), 48 },
		{ "thread_stat", sizeof(struct thread_stat), 288 },
	};
	bool ok = true;

	(void)s;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i].size != sizes[i].known) {
			print_error("struct %s is %zu bytes, was %zu: serialize.c must write and read the "
				    "changed field, fill_target() must set it, then update this table\n",
				    sizes[i].name, sizes[i].size, sizes[i].known);
			ok = false;
		}
	assert_true(ok);
}

static void test_u64_exact(void **s)
{
	static const uint64_t values[] = {
		0, 1, 999999999999999ULL, 1000000000000000ULL, 1234567890123456ULL, (1ULL << 53) - 1, 1ULL << 53, (1ULL << 53) + 1, BIG + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	static const char *const bad[] = {
		"-1", "1.5", "1e300", "\"\"", "\"12a\"", "\"-3\"", "\"18446744073709551616\"", "true", "null",
		"9007199254740994",
	};
	struct model m = { 0 }, back;
	struct target *t;

	(void)s;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		cJSON *j = serialize_u64(values[i]);
		char *text = cJSON_PrintUnformatted(j);
		cJSON *p = cJSON_Parse(text);
		uint64_t v = 0;

		assert_int_equal(deserialize_u64(p, &v), 0);
		assert_true(v == values[i]);
		cJSON_Delete(p);
		cJSON_Delete(j);
		free(text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *p = cJSON_Parse(bad[i]);
		uint64_t v;

		if (deserialize_u64(p, &v) != -EINVAL) {
			print_error("accepted %s\n", bad[i]);
			fail();
		}
		cJSON_Delete(p);
	}
	m.start_ns = (1ULL << 63) + 5;
	m.duration_ns = (1ULL << 53) + 1;
	t = model_target_add(&m, "x", TARGET_PID);
	t->cgroup_id = UINT64_MAX;
	target_stmt(t, (1ULL << 53) + 3)->s.step_ns = UINT64_MAX - 7;
	hist_record(&target_op(t, IOP_READ, FDK_PIPE)->hist, 5);
	target_op(t, IOP_READ, FDK_PIPE)->hist.b[5] = (1ULL << 53) + 9;
	roundtrip(&m, &back);
	assert_true(back.start_ns == (1ULL << 63) + 5);
	assert_true(back.duration_ns == (1ULL << 53) + 1);
	assert_true(back.targets[0].cgroup_id == UINT64_MAX);
	assert_true(back.targets[0].sq.stmts[0].hash == (1ULL << 53) + 3);
	assert_true(back.targets[0].sq.stmts[0].s.step_ns == UINT64_MAX - 7);
	assert_true(back.targets[0].ops[0].hist.b[5] == (1ULL << 53) + 9);
	model_free(&back);
	model_free(&m);
}

static void test_deserialize_malformed(void **s)
{
	static const char *const bad[] = {
		"[]", "3", "{\"targets\": {}}", "{\"targets\": [1]}", "{\"start_ns\": -1}",
		"{\"counters\": [\"x\"]}",
		"{\"targets\": [{\"kind\": \"pid\", \"cgroup\": \"\"}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"martian\", \"cgroup\": \"\"}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\"}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"sys_count\": [[512, 1]]}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"sys_count\": [[1]]}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"pids\": [[-4, 0]]}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"container\": {\"id\": 5}}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\","
		" \"ops\": [{\"op\": \"read\", \"fd_kind\": \"file\", \"hist\": [[99999, 1]]}]}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\","
		" \"files\": [{\"dev\": 1, \"gen\": 0, \"ino\": 3, \"path\": 7}]}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"sqlite\": {\"statements\": [{}]}}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"net\": {\"routes\":"
		" [{\"method\": \"GET\", \"route\": \"/\", \"codes\": [[1,1],[2,1],[3,1],[4,1],[5,1],[6,1],[7,1],"
		"[8,1],[9,1],[10,1],[11,1],[12,1],[13,1],[14,1],[15,1],[16,1],[17,1]]}]}}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"net\": {\"routes\":"
		" [{\"method\": \"GETGETGETGETGETGET\", \"route\": \"/\"}]}}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"budget\":"
		" {\"threads\": [{\"tid\": 1, \"comm\": \"seventeen-bytes-x\"}]}}]}",
		"{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\", \"net\": {\"listen_known\": 1}}]}",
	};
	struct model m, zero = { 0 };

	(void)s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *j = cJSON_Parse(bad[i]);

		assert_non_null(j);
		if (model_deserialize(j, &m) != -EINVAL) {
			print_error("accepted %s\n", bad[i]);
			fail();
		}
		assert_memory_equal(&m, &zero, sizeof(m));
		cJSON_Delete(j);
	}
}

static void test_deserialize_bounded(void **s)
{
	cJSON *j = cJSON_Parse("{\"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\"},"
			       " {\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\","
			       " \"ops\": [{\"op\": \"read\", \"fd_kind\": \"file\"}]}]}");
	size_t budget = 2 * sizeof(struct target);
	struct model m, zero = { 0 };

	(void)s;
	assert_int_equal(model_deserialize_bounded(j, &m, &budget), -E2BIG);
	assert_memory_equal(&m, &zero, sizeof(m));
	budget = 2 * sizeof(struct target) + sizeof(struct op_stats) + 10;
	assert_int_equal(model_deserialize_bounded(j, &m, &budget), 0);
	assert_int_equal(budget, 10);
	assert_int_equal(m.ntargets, 2);
	model_free(&m);
	cJSON_Delete(j);
}

/* Unknown names (a newer build's ops, classes) are skipped, unknown keys ignored. */
static void test_deserialize_newer_names(void **s)
{
	cJSON *j = cJSON_Parse("{\"future\": 1, \"counters\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],"
			       " \"targets\": [{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"/a\","
			       " \"ops\": [{\"op\": \"io_uring_enter\", \"fd_kind\": \"file\", \"count\": 3},"
			       " {\"op\": \"read\", \"fd_kind\": \"file\", \"count\": 4}],"
			       " \"budget\": {\"threads\": [{\"tid\": 9, \"comm\": \"x\", \"ns\": {\"cpu\": 5, \"gpu\": 6}}]}}]}");
	struct model m;

	(void)s;
	assert_int_equal(model_deserialize(j, &m), 0);
	assert_int_equal(m.counters[CNT_MAX - 1], CNT_MAX);
	assert_int_equal(m.ntargets, 1);
	assert_int_equal(m.targets[0].nops, 1);
	assert_int_equal(m.targets[0].ops[0].count, 4);
	assert_int_equal(m.targets[0].bud.threads[0].ns[BUD_CPU], 5);
	model_free(&m);
	cJSON_Delete(j);
}

static void test_model_add_inverts_delta(void **s)
{
	struct model a, b, c, sum, d1, d2, empty = { 0 };

	(void)s;
	fill_snapshot(&a, 1);
	fill_snapshot(&b, 2);
	fill_snapshot(&c, 3);
	assert_int_equal(model_copy(&sum, &a), 0);
	assert_int_equal(model_delta(&d1, &b, &a), 0);
	assert_int_equal(model_delta(&d2, &c, &b), 0);
	assert_int_equal(model_add(&sum, &d1), 0);
	assert_int_equal(model_add(&sum, &d2), 0);
	assert_same_text(&sum, &c);
	assert_same_model(&sum, &c);
	model_free(&sum);
	/* from nothing: the sum of every interval, the first being the first snapshot itself */
	assert_int_equal(model_add(&empty, &a), 0);
	assert_int_equal(model_add(&empty, &d1), 0);
	assert_int_equal(model_add(&empty, &d2), 0);
	assert_same_text(&empty, &c);
	model_free(&empty);
	model_free(&d1);
	model_free(&d2);
	model_free(&a);
	model_free(&b);
	model_free(&c);
}

/* Targets are matched by name and cgroup, not by position. */
static void test_model_add_matches_targets(void **s)
{
	struct model dst = { 0 }, d = { 0 };
	struct target *t;

	(void)s;
	model_target_add(&dst, "a", TARGET_PID)->syscalls = 1;
	t = model_target_add(&dst, "b", TARGET_CGROUP);
	free(t->cgroup);
	t->cgroup = strdup("/b");
	t->syscalls = 2;
	target_op(t, IOP_READ, FDK_FILE)->max_ns = 50;
	t = model_target_add(&d, "b", TARGET_CGROUP);
	free(t->cgroup);
	t->cgroup = strdup("/b");
	t->syscalls = 10;
	target_op(t, IOP_READ, FDK_FILE)->max_ns = 40;
	target_op(t, IOP_READ, FDK_FILE)->count = 3;
	model_target_add(&d, "b", TARGET_CGROUP)->syscalls = 100;   /* another cgroup: another target */
	assert_int_equal(model_add(&dst, &d), 0);
	assert_int_equal(dst.ntargets, 3);
	assert_int_equal(dst.targets[0].syscalls, 1);
	assert_int_equal(dst.targets[1].syscalls, 12);
	assert_int_equal(dst.targets[1].ops[0].max_ns, 50);
	assert_int_equal(dst.targets[1].ops[0].count, 3);
	assert_string_equal(dst.targets[2].cgroup, "");
	assert_int_equal(dst.targets[2].syscalls, 100);
	model_free(&dst);
	model_free(&d);
}

/* Recordings */

static char dir[64];

static int dir_setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/iogap-test-recording-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int dir_teardown(void **s)
{
	char cmd[128];

	(void)s;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static char *path_in_dir(const char *name)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* A recording of snapshots 1, 2, 3 as three intervals and their total; ends[i] is the file
 * size after chunk i (0 the header, 1..3 the intervals, 4 the trailer). */
struct sample {
	char *path;
	uint64_t ends[5];
	struct model last;
};

static void sample_write(struct sample *smp, const char *name)
{
	struct model snap[4] = { 0 }, d;
	struct rec_writer w;
	cJSON *opts = cJSON_Parse("{\"interval\": \"1s\", \"targets\": [\"--container django\"]}");
	cJSON *asked = cJSON_Parse("[{\"name\": \"django\", \"asked\": \"--container django\"}]");
	struct rec_header_info info = {
		.interval_ns = 1000000000ULL, .start_realtime_ns = BIG + 77, .options = opts, .targets = asked,
	};

	smp->path = path_in_dir(name);
	for (int k = 1; k <= 3; k++)
		fill_snapshot(&snap[k], (uint64_t)k);
	assert_int_equal(recording_create(&w, smp->path, &info, &snap[1]), 0);
	smp->ends[0] = w.size;
	for (int k = 1; k <= 3; k++) {
		cJSON *ev = cJSON_Parse(k == 1 ? "[{\"type\": \"exec\", \"pid\": 42}]" : "[]");

		assert_int_equal(model_delta(&d, &snap[k], k > 1 ? &snap[k - 1] : NULL), 0);
		assert_int_equal(recording_append(&w, (uint64_t)k * 1000000000ULL, &d, k == 2 ? NULL : ev), 0);
		smp->ends[k] = w.size;
		model_free(&d);
		cJSON_Delete(ev);
	}
	assert_int_equal(recording_finish(&w, &snap[3]), 0);
	smp->ends[4] = w.size;
	smp->last = snap[3];
	model_free(&snap[1]);
	model_free(&snap[2]);
	cJSON_Delete(opts);
	cJSON_Delete(asked);
}

static void sample_free(struct sample *smp)
{
	unlink(smp->path);
	free(smp->path);
	model_free(&smp->last);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static bool has_problem(const struct recording *r, const char *text)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if (strstr(r->problems[i], text))
			return true;
	return false;
}

static void print_problems(const struct recording *r)
{
	for (size_t i = 0; i < r->nproblems; i++)
		print_message("# problem: %s\n", r->problems[i]);
}

static void test_record_and_read(void **s)
{
	struct sample smp;
	struct recording r;
	struct stat st;
	const cJSON *t0, *t1;

	(void)s;
	sample_write(&smp, "full.rec");
	assert_int_equal(stat(smp.path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, smp.ends[4]);
	assert_int_equal(recording_read(smp.path, &r), 0);
	print_problems(&r);
	assert_int_equal(r.nproblems, 0);
	assert_true(r.complete);
	assert_int_equal(r.corrupt_chunks, 0);
	assert_int_equal(r.bytes_lost, 0);
	assert_int_equal(r.file_size, smp.ends[4]);
	assert_int_equal(r.format_major, REC_FORMAT_MAJOR);
	assert_string_equal(r.version, IOGAP_VERSION);
	assert_true(r.host[0] && r.kernel[0]);
	assert_true(r.ncpus > 0);
	assert_true(r.start_realtime_ns == BIG + 77);
	assert_true(r.start_monotonic_ns == smp.last.start_ns);
	assert_int_equal(r.interval_ns, 1000000000ULL);
	assert_true(r.end_realtime_ns > 0);
	assert_string_equal(cJSON_GetObjectItem(r.options, "interval")->valuestring, "1s");
	/* the caller's description, completed from the model; the other target appended */
	assert_int_equal(cJSON_GetArraySize(r.targets), 2);
	t0 = cJSON_GetArrayItem(r.targets, 0);
	t1 = cJSON_GetArrayItem(r.targets, 1);
	assert_string_equal(cJSON_GetObjectItem(t0, "asked")->valuestring, "--container django");
	assert_string_equal(cJSON_GetObjectItem(t0, "kind")->valuestring, "container");
	assert_string_equal(cJSON_GetObjectItem(t0, "cgroup")->valuestring, "/seedbench-django");
	assert_string_equal(cJSON_GetObjectItem(t1, "name")->valuestring, "fastapi");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t1, "pids")), 2);
	assert_int_equal(r.nintervals, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r.intervals[i].t_ns, (i + 1) * 1000000000ULL);
	assert_int_equal(cJSON_GetArraySize(r.intervals[0].events), 1);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(r.intervals[0].events, 0), "pid")->valueint, 42);
	assert_true(cJSON_IsArray(r.intervals[1].events));
	assert_int_equal(cJSON_GetArraySize(r.intervals[1].events), 0);
	assert_same_text(&r.total, &smp.last);
	assert_true(r.drops == model_drops(&smp.last));
	recording_free(&r);
	sample_free(&smp);
}

static void test_truncated_at_every_byte(void **s)
{
	struct sample smp;
	char *copy = path_in_dir("cut.rec");
	size_t len;
	uint8_t *buf;
	int fd;

	(void)s;
	sample_write(&smp, "whole.rec");
	buf = slurp(smp.path, &len);
	spit(copy, buf, len);
	fd = open(copy, O_WRONLY);
	assert_true(fd >= 0);
	for (size_t cut = len; cut-- > 0;) {
		struct recording r;
		size_t want = 0, last_end = smp.ends[0];
		int err;

		assert_int_equal(ftruncate(fd, (off_t)cut), 0);
		for (int k = 1; k <= 3; k++)
			if (smp.ends[k] <= cut) {
				want = (size_t)k;
				last_end = smp.ends[k];
			}
		err = recording_read(copy, &r);
		if (cut < smp.ends[0]) {
			/* nothing but (part of) the header: not a usable recording */
			assert_int_equal(err, -EINVAL);
			assert_true(r.error[0]);
			assert_int_equal(r.nintervals, 0);
			continue;
		}
		if (err || r.nintervals != want || r.complete || r.corrupt_chunks) {
			print_error("cut at %zu: err %d, %zu intervals (want %zu), complete %d, corrupt %d\n",
				    cut, err, r.nintervals, want, r.complete, r.corrupt_chunks);
			print_problems(&r);
			fail();
		}
		assert_true(has_problem(&r, "recording has no trailer"));
		if (cut != last_end) {
			char text[64];

			snprintf(text, sizeof(text), "truncated at byte %zu: the last %zu bytes", last_end,
				 cut - last_end);
			if (!has_problem(&r, text)) {
				print_error("cut at %zu: no \"%s\"\n", cut, text);
				print_problems(&r);
				fail();
			}
			assert_int_equal(r.bytes_lost, cut - last_end);
		}
		recording_free(&r);
	}
	close(fd);
	unlink(copy);
	free(copy);
	free(buf);
	sample_free(&smp);
}

/* Killed after the third interval: the total is the sum of the intervals. */
static void test_no_trailer(void **s)
{
	struct sample smp;
	struct recording r;
	size_t len;
	uint8_t *buf;

	(void)s;
	sample_write(&smp, "killed.rec");
	buf = slurp(smp.path, &len);
	assert_int_equal(recording_read_mem(buf, smp.ends[3], &r), 0);
	assert_false(r.complete);
	assert_int_equal(r.nintervals, 3);
	assert_int_equal(r.nproblems, 1);
	assert_string_equal(r.problems[0], "recording has no trailer: iogap was killed or the disk filled; "
					   "figures end at +3.0 s");
	assert_same_text(&r.total, &smp.last);
	assert_true(r.drops == model_drops(&smp.last));
	recording_free(&r);
	free(buf);
	sample_free(&smp);
}

/* 1000 intervals: at most REC_KEEP_INTERVALS kept, each a merge of recorded neighbours, every
 * recorded one in exactly one, and the totals (trailer, or the sum without it) exact. */
static void test_long_recording_bounded(void **s)
{
	enum { N = 1000 };
	struct model base, snap = { 0 }, prev = { 0 }, d;
	struct rec_writer w;
	struct rec_header_info info = { .interval_ns = 1000000000ULL };
	struct recording r;
	char *path = path_in_dir("long.rec");
	uint64_t end_intervals = 0;
	size_t len, spans = 0;
	uint8_t *buf;

	(void)s;
	fill_snapshot(&base, 1);
	assert_int_equal(recording_create(&w, path, &info, &base), 0);
	for (int k = 1; k <= N; k++) {
		/* snapshot k: the base with cumulative figures that grow with k (no wrap past 2^64) */
		model_free(&snap);
		assert_int_equal(model_copy(&snap, &base), 0);
		snap.duration_ns = (uint64_t)k * 1000000000ULL;
		snap.counters[0] = (uint64_t)k;
		for (size_t i = 0; i < snap.ntargets; i++) {
			struct target *t = &snap.targets[i];

			t->syscalls = base.targets[i].syscalls + (uint64_t)k * 1000;
			t->ops[0].count = base.targets[i].ops[0].count + (uint64_t)k;
			t->ops[0].hist.b[100] = base.targets[i].ops[0].hist.b[100] + (uint64_t)k;
			if (t->net.nroutes)
				t->net.routes[0].count = base.targets[i].net.routes[0].count + (uint64_t)k * 3;
		}
		assert_int_equal(model_delta(&d, &snap, k > 1 ? &prev : NULL), 0);
		assert_int_equal(recording_append(&w, (uint64_t)k * 1000000000ULL, &d, NULL), 0);
		model_free(&d);
		model_free(&prev);
		assert_int_equal(model_copy(&prev, &snap), 0);
	}
	end_intervals = w.size;
	assert_int_equal(recording_finish(&w, &snap), 0);
	assert_int_equal(recording_read(path, &r), 0);
	assert_true(r.nintervals <= REC_KEEP_INTERVALS && r.nintervals >= REC_KEEP_INTERVALS / 2);
	assert_int_equal(r.recorded_intervals, N);
	for (size_t i = 0; i < r.nintervals; i++) {
		spans += r.intervals[i].span;
		assert_true(r.intervals[i].span <= r.span);
		assert_true(!i || r.intervals[i].t_ns > r.intervals[i - 1].t_ns);
	}
	assert_int_equal(spans, N);
	assert_int_equal(r.intervals[r.nintervals - 1].t_ns, (uint64_t)N * 1000000000ULL);
	assert_same_text(&r.total, &snap);
	recording_free(&r);
	/* cut before the trailer: the total is the sum of every recorded interval */
	buf = slurp(path, &len);
	assert_int_equal(recording_read_mem(buf, end_intervals, &r), 0);
	assert_false(r.complete);
	assert_int_equal(r.recorded_intervals, N);
	assert_same_text(&r.total, &snap);
	recording_free(&r);
	free(buf);
	unlink(path);
	free(path);
	model_free(&base);
	model_free(&snap);
	model_free(&prev);
}

static void test_corrupt_payload_skipped(void **s)
{
	struct sample smp;
	struct recording r;
	char text[96];
	size_t len;
	uint8_t *buf;

	(void)s;
	sample_write(&smp, "flip.rec");
	buf = slurp(smp.path, &len);
	buf[smp.ends[1] + REC_CHUNK_HDR + 10] ^= 0x20;   /* inside the second interval's payload */
	assert_int_equal(recording_read_mem(buf, len, &r), 0);
	print_problems(&r);
	assert_int_equal(r.corrupt_chunks, 1);
	snprintf(text, sizeof(text), "corrupt chunk at byte %" PRIu64 " (CRC mismatch): skipped", smp.ends[1]);
	assert_true(has_problem(&r, text));
	assert_true(has_problem(&r, "the trailer counts 3 intervals, 2 were read"));
	assert_int_equal(r.bytes_lost, smp.ends[2] - smp.ends[1]);
	assert_int_equal(r.nintervals, 2);
	assert_int_equal(r.intervals[0].t_ns, 1000000000ULL);
	assert_int_equal(r.intervals[1].t_ns, 3000000000ULL);
	assert_true(r.complete);
	assert_same_text(&r.total, &smp.last);
	recording_free(&r);
	free(buf);
	sample_free(&smp);
}

/* A chunk header hit: its length cannot be trusted, the reader finds the next chunk. */
static void test_corrupt_header_resync(void **s)
{
	struct sample smp;
	struct recording r;
	char text[96];
	size_t len;
	uint8_t *buf;

	(void)s;
	sample_write(&smp, "hdr.rec");
	buf = slurp(smp.path, &len);
	buf[smp.ends[1] + 9] ^= 0x01;   /* the second interval's compressed length */
	assert_int_equal(recording_read_mem(buf, len, &r), 0);
	print_problems(&r);
	assert_int_equal(r.corrupt_chunks, 1);
	snprintf(text, sizeof(text), "corrupt data at byte %" PRIu64 " (no valid chunk header): %" PRIu64
		 " bytes skipped", smp.ends[1], smp.ends[2] - smp.ends[1]);
	assert_true(has_problem(&r, text));
	assert_int_equal(r.nintervals, 2);
	assert_int_equal(r.intervals[1].t_ns, 3000000000ULL);
	assert_true(r.complete);
	recording_free(&r);
	free(buf);
	sample_free(&smp);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));   /* little-endian host */
}

static size_t make_chunk(uint8_t *out, unsigned type, const char *json)
{
	uint8_t *chunk;
	size_t n;

	assert_int_equal(recording_encode_chunk(type, json, strlen(json), &chunk, &n), 0);
	memcpy(out, chunk, n);
	free(chunk);
	return n;
}

/* The layout of recording.h, byte by byte. */
static void test_chunk_layout(void **s)
{
	const char *json = "{\"t_ns\": 5}";
	char plain[64];
	uLongf plen = sizeof(plain);
	uint8_t buf[256];
	size_t n = make_chunk(buf, REC_INTERVAL, json);
	uint32_t clen, ulen, crc_payload, crc_hdr;

	(void)s;
	memcpy(&clen, buf + 8, 4);
	memcpy(&ulen, buf + 12, 4);
	memcpy(&crc_payload, buf + 16, 4);
	memcpy(&crc_hdr, buf + 20, 4);
	assert_memory_equal(buf, "IOGC", 4);
	assert_int_equal(buf[4], 2);
	assert_int_equal(buf[5] | buf[6] | buf[7], 0);
	assert_int_equal(n, REC_CHUNK_HDR + clen);
	assert_int_equal(ulen, strlen(json));
	assert_int_equal(crc_payload, crc32(0, buf + REC_CHUNK_HDR, clen));
	assert_int_equal(crc_hdr, crc32(0, buf, 20));
	assert_int_equal(uncompress((Bytef *)plain, &plen, buf + REC_CHUNK_HDR, clen), Z_OK);
	assert_int_equal(plen, ulen);
	assert_memory_equal(plain, json, ulen);
}

static void test_newer_format_refused(void **s)
{
	uint8_t buf[512];
	size_t n = strlen(REC_MAGIC);
	struct recording r;
	char *path = path_in_dir("newer.rec");

	(void)s;
	memcpy(buf, REC_MAGIC, n);
	n += make_chunk(buf + n, REC_HEADER, "{\"format_major\": 2, \"format_minor\": 3, \"iogap\": \"9.0\"}");
	n += make_chunk(buf + n, REC_INTERVAL, "{\"t_ns\": 1, \"delta\": {}}");
	spit(path, buf, n);
	assert_int_equal(recording_read(path, &r), -ENOTSUP);
	assert_string_equal(r.error, "recording format 2.x is newer than this iogap reads (1.x): upgrade iogap");
	assert_int_equal(r.nintervals, 0);
	assert_null(r.header);
	recording_free(&r);
	/* a newer minor reads, its unknown chunk type skipped */
	n = strlen(REC_MAGIC);
	n += make_chunk(buf + n, REC_HEADER, "{\"format_major\": 1, \"format_minor\": 9, \"new\": true}");
	n += make_chunk(buf + n, 9, "{\"thing\": 1}");
	n += make_chunk(buf + n, REC_INTERVAL, "{\"t_ns\": 1, \"delta\": {}}");
	assert_int_equal(recording_read_mem(buf, n, &r), 0);
	assert_int_equal(r.format_minor, 9);
	assert_int_equal(r.nintervals, 1);
	assert_true(has_problem(&r, "chunk of unknown type 9"));
	recording_free(&r);
	unlink(path);
	free(path);
}

static void test_not_a_recording(void **s)
{
	struct recording r;
	char *path = path_in_dir("notes.txt"), *missing = path_in_dir("missing.rec");

	(void)s;
	spit(path, "hello, world\n", 13);
	assert_int_equal(recording_read(path, &r), -EINVAL);
	assert_string_equal(r.error, "not an iogap recording (bad magic)");
	spit(path, "", 0);
	assert_int_equal(recording_read(path, &r), -EINVAL);
	assert_string_equal(r.error, "empty file, not an iogap recording");
	assert_int_equal(recording_read(missing, &r), -ENOENT);
	assert_string_equal(r.error, strerror(ENOENT));
	assert_int_equal(recording_read(dir, &r), -EISDIR);
	recording_free(&r);
	unlink(path);
	free(path);
	free(missing);
}

static long vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pages), 1);
	fclose(f);
	return pages * sysconf(_SC_PAGESIZE);
}

/* Lengths that pass the header CRC but are huge: refused before any allocation (the address
 * space is limited to 64 MiB more than now while reading, so a 256 MiB buffer would fail). */
static void test_huge_length_not_allocated(void **s)
{
	struct sample smp;
	struct recording r;
	struct rlimit old, lim;
	uint8_t *buf, *file;
	size_t len, n;

	(void)s;
	sample_write(&smp, "huge.rec");
	buf = slurp(smp.path, &len);
	file = calloc(1, len + 4096);
	memcpy(file, buf, smp.ends[0]);
	n = smp.ends[0];
	for (int i = 0; i < 2; i++) {
		uint8_t *h = file + n;

		memcpy(h, REC_CHUNK_MAGIC, 4);
		h[4] = REC_INTERVAL;
		/* 1: lengths over the bound; 2: 100 bytes said to inflate to 200 MiB */
		put32(h + 8, i ? 100 : 0xfffffff0u);
		put32(h + 12, i ? 200u << 20 : 0xfffffff0u);
		put32(h + 16, (uint32_t)crc32(0, h + REC_CHUNK_HDR, 100));
		put32(h + 20, (uint32_t)crc32(0, h, 20));
		n += REC_CHUNK_HDR + 100;
	}
	memcpy(file + n, buf + smp.ends[0], smp.ends[1] - smp.ends[0]);   /* the first interval */
	n += smp.ends[1] - smp.ends[0];
	getrlimit(RLIMIT_AS, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)vm_bytes() + (64 << 20);
	assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
	assert_int_equal(recording_read_mem(file, n, &r), 0);
	assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
	print_problems(&r);
	assert_int_equal(r.nintervals, 1);
	assert_int_equal(r.corrupt_chunks, 1);   /* both bad headers are one stretch skipped */
	recording_free(&r);
	free(file);
	free(buf);
	sample_free(&smp);
}

/* A few kilobytes that inflate to 30000 targets (700 MB of model): not read. */
static void test_model_bomb_refused(void **s)
{
	const char *one = "{\"name\": \"a\", \"kind\": \"pid\", \"cgroup\": \"\"},";
	size_t n = strlen(REC_MAGIC), cap = 30000 * strlen(one) + 64;
	char *json = malloc(cap), *p = json;
	uint8_t *file = malloc(cap);
	struct recording r;

	(void)s;
	p += sprintf(p, "{\"t_ns\": 1, \"delta\": {\"targets\": [");
	for (int i = 0; i < 30000; i++)
		p += sprintf(p, "%s", one);
	sprintf(p - 1, "]}}");
	memcpy(file, REC_MAGIC, n);
	n += make_chunk(file + n, REC_HEADER, "{\"format_major\": 1}");
	n += make_chunk(file + n, REC_INTERVAL, "{\"t_ns\": 1, \"delta\": {}}");
	n += make_chunk(file + n, REC_INTERVAL, json);
	assert_true(n < 16384);
	assert_int_equal(recording_read_mem(file, n, &r), 0);
	print_problems(&r);
	assert_int_equal(r.nintervals, 1);
	assert_true(has_problem(&r, "would take more memory than a file of"));
	recording_free(&r);
	free(json);
	free(file);
}

/* 0600 whatever the umask and the mode of the file it replaces. */
static void test_mode_0600(void **s)
{
	char *fresh = path_in_dir("fresh.rec"), *old = path_in_dir("old.rec");
	struct model m = { 0 };
	struct rec_header_info info = { 0 };
	struct rec_writer w;
	struct stat st;
	mode_t mask = umask(0);
	int fd = open(old, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	(void)s;
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(write(fd, "old contents", 12), 12);
	close(fd);
	assert_int_equal(recording_create(&w, fresh, &info, &m), 0);
	assert_int_equal(recording_finish(&w, &m), 0);
	assert_int_equal(recording_create(&w, old, &info, &m), 0);
	assert_int_equal(recording_finish(&w, &m), 0);
	umask(mask);
	assert_int_equal(stat(fresh, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(old, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal((uint64_t)st.st_size, w.size);
	unlink(fresh);
	unlink(old);
	free(fresh);
	free(old);
}

/* A write that fails (here the file size limit; ENOSPC alike) leaves no partial chunk. */
static void test_failed_append_cut_off(void **s)
{
	char *path = path_in_dir("full.rec");
	struct model m;
	struct rec_header_info info = { 0 };
	struct rec_writer w;
	struct rlimit old, lim;
	struct recording r;
	struct stat st;
	uint64_t size;

	(void)s;
	fill_model(&m, 1);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(recording_create(&w, path, &info, &m), 0);
	assert_int_equal(recording_append(&w, 1000, &m, NULL), 0);
	size = w.size;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = size + 100;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(recording_append(&w, 2000, &m, NULL), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(w.size, size);
	assert_int_equal(fstat(w.fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);
	assert_int_equal(recording_append(&w, 3000, &m, NULL), 0);
	assert_int_equal(recording_finish(&w, &m), 0);
	assert_int_equal(recording_read(path, &r), 0);
	assert_int_equal(r.nproblems, 0);   /* the failed interval was never counted */
	assert_int_equal(r.nintervals, 2);
	assert_int_equal(r.intervals[1].t_ns, 3000);
	recording_free(&r);
	signal(SIGXFSZ, SIG_DFL);
	unlink(path);
	free(path);
	model_free(&m);
}

/* A payload seed for fuzz_recording: its type byte (0 header, 1 interval, 2 trailer), the JSON. */
static int write_payload_seed(const char *out, const char *name, char type, cJSON *j)
{
	char path[4096], *text = j ? cJSON_PrintUnformatted(j) : NULL;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", out, name);
	f = fopen(path, "w");
	if (!text || !f || fputc(type, f) == EOF || fputs(text, f) == EOF)
		err = -EIO;
	if (f && fclose(f))
		err = -EIO;
	free(text);
	cJSON_Delete(j);
	return err;
}

/* IOGAP_WRITE_CORPUS=DIR: writes the fuzzer's seed recordings (tests/fuzz/corpus/recording). */
static int write_corpus(const char *out)
{
	struct model m = { 0 }, small = { 0 };
	struct rec_header_info info = { .interval_ns = 1000000000ULL };
	struct rec_writer w;
	struct target *t;
	char path[4096];
	int err;

	t = model_target_add(&small, "app", TARGET_PID);
	target_pid_add(t, 7);
	t->syscalls = 10;
	target_op(t, IOP_WRITE, FDK_PIPE)->count = 2;
	hist_record(&target_op(t, IOP_WRITE, FDK_PIPE)->hist, 900);
	snprintf(path, sizeof(path), "%s/small", out);
	err = recording_create(&w, path, &info, &small);
	err = err ? err : recording_append(&w, 1000000000ULL, &small, NULL);
	err = err ? err : recording_finish(&w, &small);
	snprintf(path, sizeof(path), "%s/empty-model", out);
	err = err ? err : recording_create(&w, path, &info, &m);
	err = err ? err : recording_append(&w, 1, &m, NULL);
	err = err ? err : recording_finish(&w, &m);
	snprintf(path, sizeof(path), "%s/no-trailer", out);
	err = err ? err : recording_create(&w, path, &info, &small);
	err = err ? err : recording_append(&w, 500000000ULL, &small, NULL);
	if (!err)
		close(w.fd);
	if (!err) {
		cJSON *iv = cJSON_CreateObject(), *tr = cJSON_CreateObject();

		cJSON_AddNumberToObject(iv, "t_ns", 1000000000);
		cJSON_AddItemToObject(iv, "delta", model_serialize(&small));
		cJSON_AddArrayToObject(iv, "events");
		cJSON_AddItemToObject(tr, "total", model_serialize(&small));
		cJSON_AddNumberToObject(tr, "drops", 0);
		cJSON_AddNumberToObject(tr, "intervals", 0);
		err = write_payload_seed(out, "payload-interval", 1, iv);
		err = err ? err : write_payload_seed(out, "payload-trailer", 2, tr);
		err = err ? err : write_payload_seed(out, "payload-header", 0,
						      cJSON_Parse("{\"format_major\": 1, \"format_minor\": 0,"
								  " \"iogap\": \"0.1.0\", \"ncpus\": 2,"
								  " \"start_realtime_ns\": \"1764600000000000000\","
								  " \"options\": {}, \"targets\": []}"));
	}
	fill_model(&m, 1);
	if (!err) {
		cJSON *iv = cJSON_CreateObject();

		cJSON_AddNumberToObject(iv, "t_ns", 2000000000);
		cJSON_AddItemToObject(iv, "delta", model_serialize(&m));
		err = write_payload_seed(out, "payload-interval-every-field", 1, iv);
	}
	model_free(&m);
	fill_model(&m, 3);
	snprintf(path, sizeof(path), "%s/every-field", out);
	err = err ? err : recording_create(&w, path, &info, &m);
	err = err ? err : recording_append(&w, 3000000000ULL, &m, NULL);
	err = err ? err : recording_finish(&w, &m);
	model_free(&m);
	model_free(&small);
	if (err)
		fprintf(stderr, "iogap: cannot write the corpus to %s: %s\n", out, strerror(-err));
	return err ? 1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_field),
		cmocka_unit_test(test_struct_sizes_known),
		cmocka_unit_test(test_u64_exact),
		cmocka_unit_test(test_deserialize_malformed),
		cmocka_unit_test(test_deserialize_bounded),
		cmocka_unit_test(test_deserialize_newer_names),
		cmocka_unit_test(test_model_add_inverts_delta),
		cmocka_unit_test(test_model_add_matches_targets),
		cmocka_unit_test(test_chunk_layout),
		cmocka_unit_test(test_record_and_read),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_no_trailer),
		cmocka_unit_test(test_long_recording_bounded),
		cmocka_unit_test(test_corrupt_payload_skipped),
		cmocka_unit_test(test_corrupt_header_resync),
		cmocka_unit_test(test_newer_format_refused),
		cmocka_unit_test(test_not_a_recording),
		cmocka_unit_test(test_huge_length_not_allocated),
		cmocka_unit_test(test_model_bomb_refused),
		cmocka_unit_test(test_mode_0600),
		cmocka_unit_test(test_failed_append_cut_off),
	};

	if (getenv("IOGAP_WRITE_CORPUS"))
		return write_corpus(getenv("IOGAP_WRITE_CORPUS"));
	return cmocka_run_group_tests(tests, dir_setup, dir_teardown);
}
