/*
 * Times N executions of a cached (prepared once) one-row SELECT: sqlite3_step, which returns
 * the row, then sqlite3_reset, as a statement cache does. Prints microseconds per step.
 *   sqlite_step N DB   (DB: a file, created if needed, or :memory:)
 * With "prepare": times N sqlite3_prepare_v2 + sqlite3_finalize of a 203-byte SELECT of the
 * kind Django's ORM makes (Django prepares 2.3 statements per request of the bench's mix).
 * Prints microseconds per prepare.
 *   sqlite_step N DB prepare
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite_step: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
	return 1;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *path = argc > 2 ? argv[2] : ":memory:";
	struct timespec a, b;
	sqlite3_stmt *s;
	sqlite3 *db;

	if (n <= 0)
		return fprintf(stderr, "usage: sqlite_step N DB [prepare]\n"), 2;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL))
		return fail(db, path);
	if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS t(a INTEGER PRIMARY KEY, b TEXT);"
			 "INSERT OR IGNORE INTO t VALUES (1, 'one')", NULL, NULL, NULL))
		return fail(db, "setup");
	if (argc > 3 && !strcmp(argv[3], "prepare")) {
		static const char q[] = "SELECT \"app_item\".\"id\", \"app_item\".\"b\", "
			"\"app_item\".\"created\", \"app_item\".\"owner_id\" FROM \"app_item\" "
			"INNER JOIN \"app_owner\" ON (\"app_item\".\"owner_id\" = \"app_owner\".\"id\") "
			"WHERE \"app_item\".\"id\" = ? LIMIT 21";

		if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS app_owner(id INTEGER PRIMARY KEY);"
				 "CREATE TABLE IF NOT EXISTS app_item(id INTEGER PRIMARY KEY, b TEXT, "
				 "created TEXT, owner_id INTEGER)", NULL, NULL, NULL))
			return fail(db, "setup");
		for (long i = 0; i < n / 10 + n; i++) {
			if (i == n / 10)
				clock_gettime(CLOCK_MONOTONIC, &a);
			if (sqlite3_prepare_v2(db, q, -1, &s, NULL))
				return fail(db, "prepare");
			sqlite3_finalize(s);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000);
		sqlite3_close(db);
		return 0;
	}
	if (sqlite3_prepare_v2(db, "SELECT b FROM t WHERE a = 1", -1, &s, NULL))
		return fail(db, "prepare");
	for (long i = 0; i < n / 10 + n; i++) {
		if (i == n / 10)   /* after the warm-up */
			clock_gettime(CLOCK_MONOTONIC, &a);
		if (sqlite3_step(s) != SQLITE_ROW)
			return fail(db, "step");
		sqlite3_reset(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return 0;
}
