/*
 * SQLite workloads with a known ground truth, for tests/bpf/test_sqlite.sh.
 *
 *   sqlite_workload [--stop] script DB REPORT.json
 *   sqlite_workload [--stop] busy DB REPORT.json
 *   sqlite_workload [--stop] churn DB REPORT.json
 *   sqlite_workload [--stop] write DB REPORT.json --journal delete|wal
 *
 * Every statement goes through sqlite3_prepare_v2 (or sqlite3_prepare[16]) + sqlite3_step +
 * sqlite3_finalize (never sqlite3_exec) with literal values in its text; its template (the text
 * with each literal replaced by ?) is known when the text is built. Per template, REPORT.json gives:
 *   count, rows    from sqlite3_trace_v2 (SQLITE_TRACE_STMT, SQLITE_TRACE_ROW; none for an
 *                  EXPLAIN, which SQLite does not trace: the program's own count); the program
 *                  also counts executions and rows itself and exits 1 if the two disagree
 *   steps, rc      sqlite3_step calls and what they returned
 *   step_ns        clock_gettime(CLOCK_MONOTONIC) around each sqlite3_step, summed
 *   exec_ns        the same clock from each execution's first sqlite3_step call to the return
 *                  of its last, summed
 *   busy_sleep_ns  time SQLite's busy handler slept inside sqlite3_step (see usleep below)
 * and opens/closes (its sqlite3_open_v2/sqlite3_close(_v2) calls), the processes that used SQLite,
 * and the library as this process sees it: the /proc/self/maps file holding sqlite3_step.
 * The report is written with stdio after the last sqlite3_close, outside SQLite.
 *
 * script: 2 CREATE TABLEs, a 50000-row INSERT ... SELECT, BEGIN + 100 INSERTs + COMMIT,
 *         50 SELECTs of exactly 10 rows (full scans, ~100+ us per step), 20 UPDATEs (full
 *         scans, each its own transaction), one SELECT count(*), and 30 executions of one
 *         statement prepared once that each fetch 1, 2 or 3 rows (full-scan steps) and are
 *         reset before the last row (abandoned executions: only SQLite's own count of
 *         executions, or a probe on sqlite3_reset, tells them apart from one long one), and 5
 *         EXPLAIN QUERY PLANs (SQLite runs no instruction for them: neither its count of
 *         executions nor sqlite3_trace_v2 sees them, the program's own count does).
 *         A statement run 3 times, re-prepared by SQLite after a CREATE TABLE (run_reprepare).
 *         Then 20 statements each prepared, stepped 1-3 rows and finalized without a reset
 *         (executions left open by sqlite3_finalize), each at the address of the one before.
 * churn:  40000 short statements at 20000 addresses while one statement runs 20 executions
 *         across them (mode_churn).
 * busy:   a forked child holds a write transaction (BEGIN IMMEDIATE; INSERT; 300 ms; COMMIT)
 *         while the parent, with sqlite3_busy_timeout 100 ms, inserts 5 rows: its steps
 *         return SQLITE_BUSY after the busy handler's sleeps; it resets and retries.
 *         Then 3 times: connection a reads in a deferred transaction (BEGIN; SELECT count(*))
 *         while b holds the write lock (BEGIN IMMEDIATE), and a's UPDATE returns SQLITE_BUSY
 *         at once, its busy timeout (100 ms) unused: SQLite does not wait to turn a read
 *         transaction into a write one (busy_at_once: BUSY results of steps in which no
 *         usleep ran). And 2 times: b holds an exclusive lock (BEGIN EXCLUSIVE) while a new
 *         connection (busy timeout 50 ms) prepares its first statement, whose schema read
 *         waits in the busy handler, inside sqlite3_prepare_v2, which returns SQLITE_BUSY
 *         (prep_sleeps, prep_sleep_ns: the prepares in which usleep ran, and its time there;
 *         prep_busy: the prepares that returned SQLITE_BUSY).
 * write:  PRAGMA journal_mode, CREATE TABLE, 50 transactions of 4 INSERTs. In WAL mode the
 *         close does not checkpoint (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE), so that every fsync
 *         happens inside sqlite3_step.
 * --stop: SIGSTOP itself before opening the database (a tracer attaches, then sends SIGCONT).
 *
 * Built by the Makefile twice: .output/tests/sqlite_workload (-lsqlite3) and
 * .output/tests/sqlite_workload_static (-static -lsqlite3 -lm).
 */
#define _GNU_SOURCE
#include <stdio.h>

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	T_CREATE_T, T_CREATE_BIG, T_FILL_BIG, T_JOURNAL, T_BEGIN, T_BEGIN_IMMEDIATE, T_INSERT,
	T_COMMIT, T_SELECT, T_UPDATE, T_COUNT, T_SOME, T_EXPLAIN, T_FINAL, T_LONG, T_CHURN, T_REPREP,
	T_CREATE_R, T_UPDATE_T, T_BEGIN_EXCLUSIVE, N_TMPL
};
/* single spaces, no digits in names: the template is what a normalizer should make of the text */
static const char *const tmpl_sql[N_TMPL] = {
	[T_CREATE_T] = "CREATE TABLE t(a INTEGER, b TEXT)",
	[T_CREATE_BIG] = "CREATE TABLE big(a INTEGER, b TEXT)",
	[T_FILL_BIG] = "INSERT INTO big(a, b) WITH RECURSIVE c(x) AS (SELECT ? UNION ALL "
		       "SELECT x + ? FROM c WHERE x < ?) SELECT x, ? FROM c",
	[T_JOURNAL] = "PRAGMA journal_mode = ?",
	[T_BEGIN] = "BEGIN",
	[T_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
	[T_INSERT] = "INSERT INTO t(a, b) VALUES (?, ?)",
	[T_COMMIT] = "COMMIT",
	[T_SELECT] = "SELECT a, b FROM big WHERE a % ? = ?",
	[T_UPDATE] = "UPDATE big SET b = ? WHERE a = ?",
	[T_COUNT] = "SELECT count(*) FROM t",
	[T_SOME] = "SELECT a FROM big WHERE a % ? = ?",
	[T_EXPLAIN] = "EXPLAIN QUERY PLAN SELECT b FROM big WHERE a = ?",
	[T_FINAL] = "SELECT b FROM big WHERE a % ? = ?",
	[T_LONG] = "SELECT a, b FROM t",
	[T_CHURN] = "SELECT ? WHERE ?",
	[T_REPREP] = "SELECT max(a) FROM big",
	[T_CREATE_R] = "CREATE TABLE r(x INTEGER)",
	[T_UPDATE_T] = "UPDATE t SET b = ? WHERE a = ?",
	[T_BEGIN_EXCLUSIVE] = "BEGIN EXCLUSIVE",
};

struct tmpl_truth {
	long long count, steps, rows, rc_row, rc_done, rc_busy, busy_at_once;
	long long trace_stmt, trace_row, step_ns, exec_ns, sleep_ns;
};
struct truth {
	struct tmpl_truth t[N_TMPL];
	long long opens, closes, sleep_outside_step_ns, trace_other, trace_internal;
	long long prep_sleeps, prep_sleep_ns, prep_busy;
	int used;
};
/* [0] this process, [1] the child of busy mode: shared memory, so the parent reports both */
static struct truth *truth, *me;
static sqlite3_stmt *cur_stmt;
static int cur_tmpl, in_step, in_prepare;
static char last_text[64];

static void die(const char *what)
{
	fprintf(stderr, "sqlite_workload: %s\n", what);
	exit(1);
}

static void die_db(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite_workload: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * SQLite's default busy handler (sqlite3_busy_timeout) sleeps with usleep(). Defined here,
 * in the executable, this one is what libsqlite3.so binds to (and what libsqlite3.a links
 * to); it times each sleep and makes the same syscall as glibc's (clock_nanosleep).
 */
int usleep(useconds_t us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
	long long t0 = now_ns(), d;

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	d = now_ns() - t0;
	if (in_step)
		me->t[cur_tmpl].sleep_ns += d;
	else
		me->sleep_outside_step_ns += d;
	if (in_prepare)
		me->prep_sleep_ns += d;
	return 0;
}

static int on_trace(unsigned type, void *ctx, void *stmt, void *x)
{
	/* SQLite's own statements (schema reads after a CREATE, run by sqlite3_exec inside our
	 * step) have no SQL text and fire SQLITE_TRACE_ROW only; they are not ours to count */
	if (stmt != cur_stmt)
		*(sqlite3_sql(stmt) ? &me->trace_other : &me->trace_internal) += 1;
	else if (type == SQLITE_TRACE_STMT)
		me->t[cur_tmpl].trace_stmt++;
	else if (type == SQLITE_TRACE_ROW)
		me->t[cur_tmpl].trace_row++;
	return 0;
}

static sqlite3 *db_open(const char *path, int busy_ms)
{
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
		die_db(db, "open");
	me->opens++;
	me->used = 1;
	sqlite3_trace_v2(db, SQLITE_TRACE_STMT | SQLITE_TRACE_ROW, on_trace, NULL);
	if (busy_ms)
		sqlite3_busy_timeout(db, busy_ms);
	return db;
}

/* every second close of a process with sqlite3_close_v2 (busy mode's parent closes twice) */
static void db_close(sqlite3 *db)
{
	if ((me->closes % 2 ? sqlite3_close_v2(db) : sqlite3_close(db)) != SQLITE_OK)
		die_db(db, "close");
	me->closes++;
}

/*
 * Runs template TMPL with its ?s replaced by the literals LITS (NULL-terminated): prepare,
 * step until DONE, finalize. With BUSY RETRY, a step that returns SQLITE_BUSY is followed by
 * sqlite3_reset and a new execution; with BUSY_END, it ends the run (-1 returned); with
 * BUSY_DIE, the program dies. Returns the rows; the last row's first column is kept in
 * last_text.
 */
enum { BUSY_DIE, BUSY_RETRY, BUSY_END };
static long long run(sqlite3 *db, int tmpl, int busy, const char *const *lits)
{
	struct tmpl_truth *tt = &me->t[tmpl];
	char sql[512];
	size_t n = 0, len;
	const char *p;
	sqlite3_stmt *s;
	long long rows = 0, t0, t1 = 0, start = 0, slept;
	int rc, first = 1, tries = 0;

	for (p = tmpl_sql[tmpl]; *p; p++) {
		if (*p != '?') {
			sql[n++] = *p;
			continue;
		}
		if (!*lits)
			die("too few literals");
		len = strlen(*lits);
		memcpy(sql + n, *lits++, len);
		n += len;
	}
	if (*lits)
		die("too many literals");
	sql[n] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		die_db(db, sql);
	cur_stmt = s;
	cur_tmpl = tmpl;
	for (;;) {
		t0 = now_ns();
		slept = tt->sleep_ns;
		in_step = 1;
		rc = sqlite3_step(s);
		in_step = 0;
		t1 = now_ns();
		if (rc == SQLITE_BUSY && tt->sleep_ns == slept)
			tt->busy_at_once++;
		tt->step_ns += t1 - t0;
		tt->steps++;
		tt->count += first;
		if (first)
			start = t0;
		first = 0;
		if (rc == SQLITE_ROW) {
			tt->rc_row++;
			tt->rows++;
			rows++;
			snprintf(last_text, sizeof(last_text), "%s", (const char *)sqlite3_column_text(s, 0));
		} else if (rc == SQLITE_DONE) {
			tt->rc_done++;
			tt->exec_ns += t1 - start;
			break;
		} else if (rc == SQLITE_BUSY && busy == BUSY_END) {
			tt->rc_busy++;
			tt->exec_ns += t1 - start;
			rows = -1;
			break;
		} else if (rc == SQLITE_BUSY && busy == BUSY_RETRY && ++tries < 100) {
			tt->rc_busy++;
			tt->exec_ns += t1 - start;
			sqlite3_reset(s);
			first = 1;
		} else {
			die_db(db, sql);
		}
	}
	sqlite3_finalize(s);
	cur_stmt = NULL;
	return rows;
}
#define STMT(db, tmpl, ...) run(db, tmpl, BUSY_DIE, (const char *const[]){ __VA_ARGS__ __VA_OPT__(,) NULL })
#define STMT_RETRY(db, tmpl, ...) run(db, tmpl, BUSY_RETRY, (const char *const[]){ __VA_ARGS__ __VA_OPT__(,) NULL })
#define STMT_BUSY(db, tmpl, ...) run(db, tmpl, BUSY_END, (const char *const[]){ __VA_ARGS__ __VA_OPT__(,) NULL })

/* One execution of s (template tmpl) that steps n rows and stops there, before its last step. */
static void some_rows(sqlite3 *db, sqlite3_stmt *s, int tmpl, int n)
{
	struct tmpl_truth *tt = &me->t[tmpl];
	long long t0, t1 = 0, start = 0;

	cur_stmt = s;
	cur_tmpl = tmpl;
	for (int k = 0; k < n; k++) {
		t0 = now_ns();
		if (sqlite3_step(s) != SQLITE_ROW)
			die_db(db, "not a row");
		t1 = now_ns();
		if (!k)
			start = t0;
		tt->step_ns += t1 - t0;
		tt->steps++;
		tt->rc_row++;
		tt->rows++;
	}
	tt->exec_ns += t1 - start;
	tt->count++;
	cur_stmt = NULL;
}

/*
 * T_SOME, prepared once ("... a % 15000 = 10000": rows 10000, 25000 and 40000 of big, so that
 * each step scans 10000-15000 rows, long against the probes' traps): 30 executions that step
 * 1, 2, then 3 rows and sqlite3_reset before the statement's last step (DONE),
 * as a statement cache does with a cursor left unfinished; finalized after the last.
 */
static void run_some(sqlite3 *db)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, "SELECT a FROM big WHERE a % 15000 = 10000", -1, &s, NULL) != SQLITE_OK)
		die_db(db, "T_SOME");
	for (int i = 0; i < 30; i++) {
		some_rows(db, s, T_SOME, 1 + i % 3);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
}

/*
 * T_REPREP: a statement prepared once and run 3 times, with a schema change (T_CREATE_R) after
 * the first run: SQLite re-prepares it inside its next sqlite3_step (the same address, a new
 * program; checked with SQLITE_STMTSTATUS_REPREPARE). That re-prepare goes through SQLite's
 * inner prepare function, which iogap may probe: it must make no new statement of it.
 */
static int step_counted(sqlite3 *db, sqlite3_stmt *s, int tmpl, int *first);

static void run_reprepare(sqlite3 *db)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(db, tmpl_sql[T_REPREP], -1, &s, NULL) != SQLITE_OK)
		die_db(db, "T_REPREP");
	for (int i = 0; i < 3; i++) {
		int first = 1;

		if (i == 1)
			STMT(db, T_CREATE_R);
		while (step_counted(db, s, T_REPREP, &first) == SQLITE_ROW)
			;
		sqlite3_reset(s);
	}
	if (sqlite3_stmt_status(s, SQLITE_STMTSTATUS_REPREPARE, 0) != 1)
		die("T_REPREP was not re-prepared once");
	sqlite3_finalize(s);
}

/*
 * T_FINAL: 20 statements ("... a % 15000 = 10000", then 10001, ...: 3 rows, as T_SOME), each
 * prepared, stepped 1, 2 or 3 rows and finalized before its last step without a reset: an
 * execution left open by sqlite3_finalize; prepared in turn with sqlite3_prepare_v2,
 * sqlite3_prepare and sqlite3_prepare16_v2 (prepare_as). Each next statement takes the address
 * of the one finalized before it (SQLite's allocator gives it back: checked, the program exits
 * 1 otherwise); mode_script runs the last one alone, at its end, for the end of tracing to end.
 */
/* Prepares sql with sqlite3_prepare_v2 (how 0), sqlite3_prepare (1) or, as UTF-16 text,
 * sqlite3_prepare16_v2 (2). */
static int prepare_as(sqlite3 *db, const char *sql, int how, sqlite3_stmt **s)
{
	unsigned short w[128];
	size_t i, n = strlen(sql);

	if (how == 0)
		return sqlite3_prepare_v2(db, sql, -1, s, NULL);
	if (how == 1)
		return sqlite3_prepare(db, sql, -1, s, NULL);
	if (n >= sizeof(w) / sizeof(w[0]))
		die("prepare_as: text too long");
	for (i = 0; i <= n; i++)
		w[i] = (unsigned char)sql[i];   /* ASCII: the same code units in UTF-16 */
	return sqlite3_prepare16_v2(db, w, -1, s, NULL);
}

static void run_final(sqlite3 *db, int from, int to)
{
	static sqlite3_stmt *prev;
	char sql[64];
	sqlite3_stmt *s;

	for (int i = from; i < to; i++) {
		snprintf(sql, sizeof(sql), "SELECT b FROM big WHERE a %% 15000 = %d", 10000 + i);
		/* in turn with sqlite3_prepare_v2, the legacy sqlite3_prepare and, in UTF-16,
		 * sqlite3_prepare16_v2, which iogap probes too: unseen, one would be taken for the
		 * finalized statement whose address it has */
		if (prepare_as(db, sql, i % 3, &s) != SQLITE_OK)
			die_db(db, "T_FINAL");
		if (i > from && s != prev)
			die("T_FINAL: a statement did not take the address of the one finalized before it");
		some_rows(db, s, T_FINAL, 1 + i % 3);
		sqlite3_finalize(s);
		prev = s;
	}
}

static void mode_script(const char *path)
{
	sqlite3 *db = db_open(path, 0);
	char a[32], b[32];
	int i;

	STMT(db, T_CREATE_T);
	STMT(db, T_CREATE_BIG);
	STMT(db, T_FILL_BIG, "1", "1", "50000", "'v'");
	STMT(db, T_BEGIN);
	for (i = 0; i < 100; i++) {
		snprintf(a, sizeof(a), "%d", 17 + i);
		snprintf(b, sizeof(b), "'x%d'", 17 + i);
		STMT(db, T_INSERT, a, b);
	}
	STMT(db, T_COMMIT);
	/* a = 1..50000: exactly 10 values of a have each remainder mod 5000 */
	for (i = 0; i < 50; i++) {
		snprintf(a, sizeof(a), "%d", 17 + i);
		if (STMT(db, T_SELECT, "5000", a) != 10)
			die("a SELECT did not return 10 rows");
	}
	for (i = 0; i < 20; i++) {
		snprintf(a, sizeof(a), "'u%d'", i);
		snprintf(b, sizeof(b), "%d", 1 + 2497 * i);
		STMT(db, T_UPDATE, a, b);
		if (sqlite3_changes(db) != 1)
			die("an UPDATE did not change 1 row");
	}
	if (STMT(db, T_COUNT) != 1 || strcmp(last_text, "100"))
		die("count(*) is not 100");
	run_some(db);
	run_reprepare(db);
	run_final(db, 0, 19);
	for (i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "%d", 17 + i);
		if (STMT(db, T_EXPLAIN, a) < 1)
			die("EXPLAIN QUERY PLAN returned no row");
	}
	run_final(db, 19, 20);
	db_close(db);
}

/* One step of the statement s of template tmpl, counted; returns its result. */
static int step_counted(sqlite3 *db, sqlite3_stmt *s, int tmpl, int *first)
{
	struct tmpl_truth *tt = &me->t[tmpl];
	long long t0;
	int rc;

	cur_stmt = s;
	cur_tmpl = tmpl;
	t0 = now_ns();
	rc = sqlite3_step(s);
	tt->step_ns += now_ns() - t0;
	tt->steps++;
	tt->count += *first;
	*first = rc != SQLITE_ROW;
	if (rc == SQLITE_ROW)
		tt->rc_row++, tt->rows++;
	else if (rc == SQLITE_DONE)
		tt->rc_done++;
	else
		die_db(db, tmpl_sql[tmpl]);
	cur_stmt = NULL;
	return rc;
}

/*
 * churn: more statements than iogap's table of statements holds (16384), while one statement
 * runs on: twice, 20000 statements "SELECT 1 WHERE 0" are prepared and stepped once each
 * (DONE), all kept until the 20000th, then finalized (so each has its own address in the first
 * round; the second round takes those addresses again). Every 500 of them, "SELECT a, b FROM
 * t" (3 rows) takes one step: 20 executions of 4 steps (3 rows and DONE) spread over the whole
 * run. Where sqlite3_finalize is unprobed, the finalized statements stay in iogap's table until
 * room is needed: the table must make room for new statements (a table that does not, a plain
 * hash, tracked 16,394 of the 40,000), and the statement in use, stepped every 500 of them,
 * must keep its place (else a step in the middle of an execution would begin one more). A
 * statement idle for more than the table's size of newer ones can lose it: not tested, a known
 * limit.
 */
static void mode_churn(const char *path)
{
	enum { ROUND = 20000, EVERY = 500 };
	sqlite3 *db = db_open(path, 0);
	sqlite3_stmt **live = calloc(ROUND, sizeof(*live)), *l;
	int first_long = 1, first;

	if (!live)
		die("out of memory");
	STMT(db, T_CREATE_T);
	STMT(db, T_BEGIN);
	STMT(db, T_INSERT, "1", "'one'");
	STMT(db, T_INSERT, "2", "'two'");
	STMT(db, T_INSERT, "3", "'three'");
	STMT(db, T_COMMIT);
	if (sqlite3_prepare_v2(db, "SELECT a, b FROM t", -1, &l, NULL) != SQLITE_OK)
		die_db(db, "T_LONG");
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < ROUND; i++) {
			if (sqlite3_prepare_v2(db, "SELECT 1 WHERE 0", -1, &live[i], NULL) != SQLITE_OK)
				die_db(db, "T_CHURN");
			first = 1;
			if (step_counted(db, live[i], T_CHURN, &first) != SQLITE_DONE)
				die("T_CHURN: a row");
			if (i % EVERY == EVERY - 1)
				step_counted(db, l, T_LONG, &first_long);
		}
		for (int i = 0; i < ROUND; i++)
			sqlite3_finalize(live[i]);
	}
	sqlite3_finalize(l);
	free(live);
	db_close(db);
}

/* A read transaction's write returns SQLITE_BUSY at once while another connection holds the
 * write lock: SQLite does not call the busy handler then (waiting could deadlock). */
static void busy_upgrade(const char *path)
{
	sqlite3 *a = db_open(path, 100), *b = db_open(path, 100);
	char v[32];

	for (int i = 0; i < 3; i++) {
		snprintf(v, sizeof(v), "%d", i);
		STMT(a, T_BEGIN);
		STMT(a, T_COUNT);
		STMT(b, T_BEGIN_IMMEDIATE);
		if (STMT_BUSY(a, T_UPDATE_T, "'upgrade'", v) != -1)
			die("a read transaction's UPDATE did not return SQLITE_BUSY");
		STMT(a, T_COMMIT);
		STMT(b, T_COMMIT);
	}
	if (me->t[T_UPDATE_T].busy_at_once != 3 || me->t[T_UPDATE_T].sleep_ns)
		die("the read transaction's UPDATE slept in the busy handler");
	db_close(a);
	db_close(b);
}

/* A new connection's first prepare reads the schema: while another connection holds an
 * exclusive lock it waits in the busy handler, then returns SQLITE_BUSY. */
static void busy_prepare(const char *path)
{
	sqlite3 *b = db_open(path, 100);
	long long before;

	for (int i = 0; i < 2; i++) {
		sqlite3 *c = db_open(path, 50);
		sqlite3_stmt *s = NULL;
		int rc;

		STMT(b, T_BEGIN_EXCLUSIVE);
		before = me->prep_sleep_ns;
		in_prepare = 1;
		rc = sqlite3_prepare_v2(c, tmpl_sql[T_COUNT], -1, &s, NULL);
		in_prepare = 0;
		if (rc != SQLITE_BUSY || s)
			die_db(c, "the prepare did not return SQLITE_BUSY");
		me->prep_busy++;
		if (me->prep_sleep_ns == before)
			die("the prepare returned SQLITE_BUSY without a busy-handler sleep");
		me->prep_sleeps++;
		STMT(b, T_COMMIT);
		db_close(c);
	}
	db_close(b);
}

static void mode_busy(const char *path)
{
	struct timespec hold = { 0, 300 * 1000000L };
	sqlite3 *db = db_open(path, 0);
	char a[32], c;
	int p[2], status, i;
	pid_t child;

	STMT(db, T_CREATE_T);
	db_close(db);
	if (pipe(p))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		me = &truth[1];
		close(p[0]);
		db = db_open(path, 5000);
		STMT(db, T_BEGIN_IMMEDIATE);
		STMT(db, T_INSERT, "1", "'child'");
		if (write(p[1], "x", 1) != 1)
			die("pipe write");
		nanosleep(&hold, NULL);
		STMT(db, T_COMMIT);
		db_close(db);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		die("the child did not take the lock");
	db = db_open(path, 100);
	for (i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "%d", 10 + i);
		STMT_RETRY(db, T_INSERT, a, "'parent'");
	}
	db_close(db);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the child failed");
	if (!truth[0].t[T_INSERT].rc_busy)
		die("no step returned SQLITE_BUSY");
	if (!truth[0].t[T_INSERT].sleep_ns)
		die("SQLITE_BUSY without a timed sleep: usleep() is not the one defined here");
	busy_upgrade(path);
	busy_prepare(path);
}

static void mode_write(const char *path, const char *journal)
{
	sqlite3 *db = db_open(path, 0);
	char a[32], b[32];
	int i, j;

	if (!strcmp(journal, "wal") && sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL))
		die_db(db, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE");
	snprintf(a, sizeof(a), "'%s'", journal);
	if (STMT(db, T_JOURNAL, a) != 1 || strcmp(last_text, journal))
		die("journal_mode not set");
	STMT(db, T_CREATE_T);
	for (i = 0; i < 50; i++) {
		STMT(db, T_BEGIN);
		for (j = 0; j < 4; j++) {
			snprintf(a, sizeof(a), "%d", i * 4 + j);
			snprintf(b, sizeof(b), "'w%d'", i * 4 + j);
			STMT(db, T_INSERT, a, b);
		}
		STMT(db, T_COMMIT);
	}
	db_close(db);
}

/* The file this process sees holding sqlite3_step: libsqlite3 or, linked statically, itself. */
static void library_path(char *out, size_t size)
{
	unsigned long addr = (unsigned long)(void *)&sqlite3_step, lo, hi;
	char line[4200], *p;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(out, size, "?");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &lo, &hi) != 2 || addr < lo || addr >= hi)
			continue;
		if ((p = strchr(line, '/'))) {
			p[strcspn(p, "\n")] = 0;
			snprintf(out, size, "%s", p);
		}
		break;
	}
	if (f)
		fclose(f);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fprintf(f, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	fputc('"', f);
}

static void report(const char *path, const char *mode, const char *db)
{
	struct tmpl_truth sum[N_TMPL] = { 0 };
	long long opens = 0, closes = 0, sleep_in = 0, sleep_out = 0, internal = 0;
	long long prep_sleeps = 0, prep_sleep_ns = 0, prep_busy = 0;
	int i, k, procs = 0, first = 1;
	char lib[4096];
	FILE *f;

	for (k = 0; k < 2; k++) {
		struct truth *tr = &truth[k];

		if (!tr->used)
			continue;
		procs++;
		opens += tr->opens;
		closes += tr->closes;
		sleep_out += tr->sleep_outside_step_ns;
		prep_sleeps += tr->prep_sleeps;
		prep_sleep_ns += tr->prep_sleep_ns;
		prep_busy += tr->prep_busy;
		internal += tr->trace_internal;
		if (tr->trace_other)
			die("sqlite3_trace_v2 reported a statement this program did not step");
		for (i = 0; i < N_TMPL; i++) {
			struct tmpl_truth *t = &tr->t[i], *s = &sum[i];

			/* SQLite traces no EXPLAIN (it runs no instruction of it) */
			if (i != T_EXPLAIN && (t->trace_stmt != t->count || t->trace_row != t->rows)) {
				fprintf(stderr, "sqlite_workload: %s: trace %lld runs %lld rows, counted %lld runs %lld rows\n",
					tmpl_sql[i], t->trace_stmt, t->trace_row, t->count, t->rows);
				exit(1);
			}
			s->count += t->count, s->steps += t->steps, s->rows += t->rows;
			s->rc_row += t->rc_row, s->rc_done += t->rc_done, s->rc_busy += t->rc_busy;
			s->busy_at_once += t->busy_at_once;
			s->step_ns += t->step_ns, s->exec_ns += t->exec_ns, s->sleep_ns += t->sleep_ns;
			sleep_in += t->sleep_ns;
		}
	}
	library_path(lib, sizeof(lib));
	if (!(f = fopen(path, "w")))
		die("cannot write the report");
	fprintf(f, "{\"mode\": \"%s\", \"pid\": %d, \"db\": ", mode, (int)getpid());
	json_str(f, db);
	fprintf(f, ", \"library\": ");
	json_str(f, lib);
	fprintf(f, ",\n \"opens\": %lld, \"closes\": %lld, \"processes\": %d, \"busy_sleep_ns\": %lld,"
		" \"sleep_outside_step_ns\": %lld, \"sqlite_internal_rows\": %lld,\n \"prep_sleeps\": %lld,"
		" \"prep_sleep_ns\": %lld, \"prep_busy\": %lld, \"statements\": {",
		opens, closes, procs, sleep_in, sleep_out, internal, prep_sleeps, prep_sleep_ns, prep_busy);
	for (i = 0; i < N_TMPL; i++) {
		struct tmpl_truth *s = &sum[i];

		if (!s->steps)
			continue;
		fprintf(f, "%s\n  \"%s\": {\"count\": %lld, \"steps\": %lld, \"rows\": %lld, "
			"\"rc\": {\"ROW\": %lld, \"DONE\": %lld, \"BUSY\": %lld}, \"busy_at_once\": %lld, "
			"\"step_ns\": %lld, \"exec_ns\": %lld, \"busy_sleep_ns\": %lld}",
			first ? "" : ",", tmpl_sql[i], s->count, s->steps, s->rows, s->rc_row, s->rc_done,
			s->rc_busy, s->busy_at_once, s->step_ns, s->exec_ns, s->sleep_ns);
		first = 0;
	}
	fprintf(f, "}}\n");
	if (fclose(f))
		die("cannot write the report");
}

int main(int argc, char **argv)
{
	const char *journal = NULL;
	int stop = 0;

	if (argc > 1 && !strcmp(argv[1], "--stop")) {
		stop = 1;
		argv++;
		argc--;
	}
	if (argc == 6 && !strcmp(argv[4], "--journal"))
		journal = argv[5];
	if (!(argc == 4 || (argc == 6 && journal)) ||
	    !(!strcmp(argv[1], "script") || !strcmp(argv[1], "busy") || !strcmp(argv[1], "churn") ||
	      (!strcmp(argv[1], "write") && journal && (!strcmp(journal, "delete") || !strcmp(journal, "wal"))))) {
		fprintf(stderr, "usage: sqlite_workload [--stop] script|busy|churn DB REPORT.json\n"
				"       sqlite_workload [--stop] write DB REPORT.json --journal delete|wal\n");
		return 2;
	}
	truth = mmap(NULL, 2 * sizeof(*truth), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (truth == MAP_FAILED)
		die("mmap");
	me = &truth[0];
	if (!access(argv[2], F_OK))
		die("the database exists already (give a new path)");
	if (stop)
		raise(SIGSTOP);
	if (!strcmp(argv[1], "script"))
		mode_script(argv[2]);
	else if (!strcmp(argv[1], "busy"))
		mode_busy(argv[2]);
	else if (!strcmp(argv[1], "churn"))
		mode_churn(argv[2]);
	else
		mode_write(argv[2], journal);
	report(argv[3], argv[1], argv[2]);
	return 0;
}
