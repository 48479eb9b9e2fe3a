/* The JSON contract of DESIGN.md (names and types), the text table, model deltas, and how each
 * kind of loss is shown. */
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
#include "model/model.h"
#include "report/report.h"

static void build(struct model *m)
{
	struct target *t;
	struct op_stats *o;

	memset(m, 0, sizeof(*m));
	m->duration_ns = 2000000000ULL;
	m->counters[CNT_RB_DROPS] = 3;
	t = model_target_add(m, "django", TARGET_CGROUP);
	assert_non_null(t);
	free(t->cgroup);
	t->cgroup = strdup("/seedbench/django");
	target_pid_add(t, 42);
	target_pid_add(t, 43);
	target_pid_add(t, 42);
	t->syscalls = 5000;
	t->sys_count[17] = 1000;    /* pread64 on x86_64 */
	o = target_op(t, IOP_PREAD, FDK_FILE);
	o->count = 1000;
	o->bytes = 4096000;
	o->sum_ns = 1000 * 5000;
	o->max_ns = 9000;
	for (int i = 0; i < 1000; i++)
		hist_record(&o->hist, 4000 + i * 2);
	o = target_op(t, IOP_RECV, FDK_TCP);
	o->count = 10;
	o->errors = 1;
	o->sum_ns = 100;
	o->max_ns = 20;
	hist_record(&o->hist, 10);
	target_file_set_path(t, 7, 99, 1, "/data/db.sqlite3");
	target_file(t, 7, 99, 1)->count = 1000;
	target_file(t, 7, 99, 1)->total_ns = 5000000;
}

static void test_json_contract(void **s)
{
	struct model m;
	cJSON *root, *t, *f, *lat;
	char *js;

	(void)s;
	build(&m);
	js = report_json(&m);
	assert_non_null(js);
	root = cJSON_Parse(js);
	assert_non_null(root);
	assert_string_equal(json_get(root, "iogap", cJSON_String)->valuestring, IOGAP_VERSION);
	assert_int_equal(json_get(root, "format", cJSON_Number)->valueint, 1);
	assert_int_equal(json_get(root, "duration_ns", cJSON_Number)->valuedouble, 2e9);
	assert_int_equal(json_get(root, "drops", cJSON_Number)->valueint, 3);
	t = cJSON_GetArrayItem(json_get(root, "targets", cJSON_Array), 0);
	assert_string_equal(json_get(t, "name", cJSON_String)->valuestring, "django");
	assert_string_equal(json_get(t, "kind", cJSON_String)->valuestring, "cgroup");
	assert_string_equal(json_get(t, "cgroup", cJSON_String)->valuestring, "/seedbench/django");
	assert_int_equal(cJSON_GetArraySize(json_get(t, "pids", cJSON_Array)), 2);
	assert_int_equal(json_get(t, "syscalls", cJSON_Number)->valueint, 5000);
	f = cJSON_GetArrayItem(json_get(t, "file", cJSON_Array), 0);
	assert_string_equal(json_get(f, "op", cJSON_String)->valuestring, "pread");
	assert_string_equal(json_get(f, "fd_kind", cJSON_String)->valuestring, "file");
	assert_int_equal(json_get(f, "count", cJSON_Number)->valueint, 1000);
	assert_int_equal(json_get(f, "errors", cJSON_Number)->valueint, 0);
	assert_int_equal(json_get(f, "bytes", cJSON_Number)->valueint, 4096000);
	lat = json_get(f, "lat", cJSON_Object);
	assert_int_equal(json_get(lat, "mean", cJSON_Number)->valueint, 5000);
	json_get(lat, "p50", cJSON_Number);
	json_get(lat, "p95", cJSON_Number);
	json_get(lat, "p99", cJSON_Number);
	assert_int_equal(json_get(lat, "max", cJSON_Number)->valueint, 9000);
	/* p50 of 4000..5998 is ~5000, within 5% */
	assert_in_range(json_get(lat, "p50", cJSON_Number)->valueint, 4750, 5250);
	f = cJSON_GetArrayItem(json_get(t, "file", cJSON_Array), 1);
	assert_string_equal(json_get(f, "fd_kind", cJSON_String)->valuestring, "tcp");
	assert_string_equal(json_get(f, "class", cJSON_String)->valuestring, "net");
	f = cJSON_GetArrayItem(json_get(t, "files", cJSON_Array), 0);
	assert_string_equal(json_get(f, "path", cJSON_String)->valuestring, "/data/db.sqlite3");
	assert_int_equal(json_get(f, "total_ns", cJSON_Number)->valueint, 5000000);
	assert_int_equal(json_get(json_get(t, "syscall_counts", cJSON_Object), "pread64", cJSON_Number)->valueint, 1000);
	cJSON_Delete(root);
	free(js);
	model_free(&m);
}

static void test_text(void **s)
{
	struct model m;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)s;
	build(&m);
	report_text(f, &m, &(struct report_opts){ .top_files = 5 });
	fclose(f);
	assert_non_null(strstr(buf, "django (cgroup /seedbench/django)"));
	assert_non_null(strstr(buf, "3 EVENTS DROPPED"));
	assert_non_null(strstr(buf, "pread"));
	assert_non_null(strstr(buf, "/data/db.sqlite3"));
	assert_non_null(strstr(buf, "500.0"));   /* 1000 preads in 2 s */
	free(buf);
	model_free(&m);
}

static void test_delta(void **s)
{
	struct model a, b, d;
	struct op_stats *o;

	(void)s;
	build(&a);
	assert_int_equal(model_copy(&b, &a), 0);
	o = target_op(&b.targets[0], IOP_PREAD, FDK_FILE);
	o->count += 10;
	o->sum_ns += 10 * 777;
	for (int i = 0; i < 10; i++)
		hist_record(&o->hist, 777);
	b.duration_ns += 1000000000ULL;
	b.targets[0].syscalls += 15;
	assert_int_equal(model_delta(&d, &b, &a), 0);
	o = target_op(&d.targets[0], IOP_PREAD, FDK_FILE);
	assert_int_equal(o->count, 10);
	assert_int_equal(hist_count(&o->hist), 10);
	assert_int_equal(o->sum_ns, 7770);
	assert_int_equal(d.targets[0].syscalls, 15);
	assert_int_equal(d.duration_ns, 1000000000ULL);
	assert_in_range(hist_percentile(&o->hist, 0.5, o->max_ns), 740, 815);
	model_free(&a);
	model_free(&b);
	model_free(&d);
}

/* SQLite's -journal is a new inode per transaction: reports show it once, added up. */
static void test_files_merged_by_path(void **s)
{
	struct model m;
	struct file_stat *f;
	size_t n;

	(void)s;
	build(&m);
	for (uint64_t ino = 200; ino < 203; ino++) {
		target_file_set_path(&m.targets[0], 7, ino, 1, "/data/db.sqlite3-journal");
		target_file(&m.targets[0], 7, ino, 1)->count = 10;
		target_file(&m.targets[0], 7, ino, 1)->total_ns = 3000000;
	}
	f = target_files_by_path(&m.targets[0], &n);
	assert_int_equal(n, 2);
	assert_string_equal(f[0].path, "/data/db.sqlite3-journal");   /* 9 ms > 5 ms */
	assert_int_equal(f[0].count, 30);
	assert_int_equal(f[0].total_ns, 9000000);
	assert_string_equal(f[1].path, "/data/db.sqlite3");
	free(f);
	model_free(&m);
}

/* Each kind of loss is shown apart, the same figures in every view: ring-buffer drops, updates
 * to full maps, hooks the kernel skipped (CNT_PROG_MISSES), and TCP closes no program saw. */
static void test_losses_by_kind(void **s)
{
	struct model m;
	struct target *t;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	cJSON *root, *lost, *tcp;
	char *js;

	(void)s;
	build(&m);
	m.counters[CNT_IO_MAP_FULL] = 2;
	m.counters[CNT_SQ_MAP_FULL] = 5;
	m.counters[CNT_PROG_MISSES] = 4;
	t = &m.targets[0];
	t->net.tcp.accepted = 6;
	t->net.tcp.closed = 12;
	t->net.tcp.closes_unseen = 1;
	assert_int_equal(model_drops(&m), 3 + 2 + 5 + 4);
	assert_int_equal(model_map_losses(&m), 2 + 5);

	f = open_memstream(&buf, &len);
	report_text(f, &m, &(struct report_opts){ .top_files = 5 });
	fclose(f);
	assert_non_null(strstr(buf, ", 3 EVENTS DROPPED (ring buffer full), 7 updates lost (map full), "
				    "4 events missed (the kernel skipped a program already running on that CPU)\n"));
	assert_non_null(strstr(buf, " 12 closed;"));
	assert_non_null(strstr(buf, "  TCP: 1 of the closes were not seen "));
	free(buf);

	js = report_json(&m);
	assert_non_null(js);
	root = cJSON_Parse(js);
	assert_non_null(root);
	lost = json_get(root, "lost", cJSON_Object);
	assert_int_equal(json_get(lost, "program_misses", cJSON_Number)->valueint, 4);
	assert_int_equal(json_get(lost, "io_map_full", cJSON_Number)->valueint, 2);
	assert_int_equal(json_get(lost, "sqlite_map_full", cJSON_Number)->valueint, 5);
	tcp = json_get(cJSON_GetArrayItem(json_get(root, "targets", cJSON_Array), 0), "tcp", cJSON_Object);
	assert_int_equal(json_get(tcp, "closed", cJSON_Number)->valueint, 12);
	assert_int_equal(json_get(tcp, "closes_unseen", cJSON_Number)->valueint, 1);
	cJSON_Delete(root);
	free(js);

	buf = NULL;
	f = open_memstream(&buf, &len);
	report_prometheus(f, &m);
	fclose(f);
	assert_non_null(strstr(buf, "\n# TYPE iogap_missed_events_total counter\niogap_missed_events_total 4\n"));
	free(buf);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_contract),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_files_merged_by_path),
		cmocka_unit_test(test_losses_by_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
