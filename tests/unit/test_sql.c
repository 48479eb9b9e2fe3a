/* SQL normalization: templates keep structure, never literal values; bounded input and output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/sql.h"

struct tcase {
	const char *in, *want;
};

static void check_cases(const struct tcase *c, size_t n)
{
	char out[1024];

	for (size_t i = 0; i < n; i++) {
		size_t got = sql_normalize(c[i].in, strlen(c[i].in), out, sizeof(out));

		if (strcmp(out, c[i].want) || got != strlen(c[i].want)) {
			print_error("in:   %s\nwant: %s\ngot:  %s (%zu)\n", c[i].in, c[i].want, out, got);
			fail();
		}
	}
}

#define CHECK(...) do { \
	static const struct tcase cases[] = { __VA_ARGS__ }; \
	check_cases(cases, sizeof(cases) / sizeof(cases[0])); \
} while (0)

static void test_django(void **s)
{
	(void)s;
	CHECK({ "SELECT \"bench_item\".\"id\", \"bench_item\".\"name\" FROM \"bench_item\" WHERE \"bench_item\".\"id\" = 42 LIMIT 21",
		"SELECT \"bench_item\".\"id\", \"bench_item\".\"name\" FROM \"bench_item\" WHERE \"bench_item\".\"id\" = ? LIMIT ?" },
	      { "SELECT \"bench_item\".\"id\" FROM \"bench_item\" ORDER BY \"bench_item\".\"id\" ASC LIMIT 21 OFFSET 40",
		"SELECT \"bench_item\".\"id\" FROM \"bench_item\" ORDER BY \"bench_item\".\"id\" ASC LIMIT ? OFFSET ?" },
	      { "INSERT INTO \"bench_item\" (\"name\", \"price\") VALUES (?, ?) RETURNING \"bench_item\".\"id\"",
		"INSERT INTO \"bench_item\" (\"name\", \"price\") VALUES (?, ?) RETURNING \"bench_item\".\"id\"" },
	      { "SELECT (1) AS \"a\" FROM \"django_session\" WHERE \"django_session\".\"session_key\" = 'k3y' LIMIT 1",
		"SELECT (?) AS \"a\" FROM \"django_session\" WHERE \"django_session\".\"session_key\" = ? LIMIT ?" },
	      { "SAVEPOINT \"s140234_x1\"", "SAVEPOINT \"s140234_x1\"" },
	      { "SELECT COUNT(*) AS \"__count\" FROM \"bench_item\"", "SELECT COUNT(*) AS \"__count\" FROM \"bench_item\"" },
	      { "UPDATE \"bench_item\" SET \"price\" = 10.5 WHERE \"bench_item\".\"id\" IN (1, 2, 3)",
		"UPDATE \"bench_item\" SET \"price\" = ? WHERE \"bench_item\".\"id\" IN (?)" });
}

static void test_python_sqlite3(void **s)
{
	(void)s;
	CHECK({ "INSERT INTO items(name, qty) VALUES(?, ?)", "INSERT INTO items(name, qty) VALUES(?, ?)" },
	      { "SELECT * FROM t WHERE name = :name AND id = :id", "SELECT * FROM t WHERE name = :name AND id = :id" },
	      { "BEGIN IMMEDIATE", "BEGIN IMMEDIATE" },
	      { "PRAGMA journal_mode=WAL", "PRAGMA journal_mode=WAL" },
	      { "PRAGMA busy_timeout = 5000", "PRAGMA busy_timeout = ?" },
	      { "select name from sqlite_master where type='table'", "select name from sqlite_master where type=?" },
	      { "CREATE TABLE IF NOT EXISTS t1 (id INTEGER PRIMARY KEY, name TEXT DEFAULT 'x', n REAL DEFAULT -1.5)",
		"CREATE TABLE IF NOT EXISTS t1 (id INTEGER PRIMARY KEY, name TEXT DEFAULT ?, n REAL DEFAULT ?)" });
}

static void test_literals(void **s)
{
	(void)s;
	CHECK({ "INSERT INTO t VALUES (1, 'a''b', 3.5e-3, X'ABCD', NULL)", "INSERT INTO t VALUES (?, ?, ?, ?, NULL)" },
	      { "SELECT 1, 1.5, .5, 1., 1e10, 1E-3, 2e+7, 0x1aF, 'it''s', x'00'",
		"SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?" },
	      { "SELECT 12abc, 1_000, 0x", "SELECT ?, ?, ?" },
	      { "SELECT NULL, TRUE, CURRENT_TIMESTAMP", "SELECT NULL, TRUE, CURRENT_TIMESTAMP" },
	      { "SELECT t1.c2, \"col2\", [x 3], `y4`, a$5, x FROM t1", "SELECT t1.c2, \"col2\", [x 3], `y4`, a$5, x FROM t1" },
	      { "SELECT ''", "SELECT ?" },
	      { "SELECT 'unterminated 123", "SELECT ?" },
	      { "SELECT X'AB", "SELECT ?" },
	      { "SELECT 'é€😀'", "SELECT ?" });
}

static void test_signs(void **s)
{
	(void)s;
	CHECK({ "SELECT * FROM t WHERE a = -5", "SELECT * FROM t WHERE a = ?" },
	      { "SELECT a-5, a - 5, (a)-5, f(x)-1, 3-1, 'x'-2, ?-1, \"c\"-1", "SELECT a-?, a - ?, (a)-?, f(x)-?, ?-?, ?-?, ?-?, \"c\"-?" },
	      { "SELECT -1, +2, a*-2, (-3), - 4", "SELECT ?, ?, a*?, (?), ?" },
	      { "WHERE e BETWEEN -1 AND +2 LIMIT -1 OFFSET -0", "WHERE e BETWEEN ? AND ? LIMIT ? OFFSET ?" },
	      { "SELECT CASE WHEN a THEN -1 ELSE -2 END-3", "SELECT CASE WHEN a THEN ? ELSE ? END-?" },
	      { "SELECT - -7, -a, -'x'", "SELECT - ?, -a, -?" });
}

static void test_lists(void **s)
{
	(void)s;
	CHECK({ "WHERE a IN (1, 2, 3)", "WHERE a IN (?)" },
	      { "WHERE a IN ( 'a' ,'b' , -1,x'00', ?, :p, @q, $r, ?3 )", "WHERE a IN (?)" },
	      { "WHERE a IN (?, ?, ?)", "WHERE a IN (?)" },
	      { "WHERE a IN (1, x)", "WHERE a IN (?, x)" },
	      { "WHERE a IN (1, NULL)", "WHERE a IN (?, NULL)" },
	      { "WHERE a IN (1, 2 + 3)", "WHERE a IN (?, ? + ?)" },
	      { "WHERE a IN (SELECT id FROM t WHERE v > 3)", "WHERE a IN (SELECT id FROM t WHERE v > ?)" },
	      { "WHERE a IN ()", "WHERE a IN ()" },
	      { "SELECT (:id), (?), (7)", "SELECT (:id), (?), (?)" },
	      { "INSERT INTO t (a, b) VALUES (1, 2), (3, 4)", "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)" },
	      { "WHERE (a, b) IN ((1, 2), (3, 4))", "WHERE (a, b) IN ((?, ?), (?, ?))" },
	      { "WHERE a IN (1, 2", "WHERE a IN (?, ?" });
}

static void test_comments_and_space(void **s)
{
	(void)s;
	CHECK({ "SELECT 1 -- trailing 99", "SELECT ?" },
	      { "SELECT /* inner 'x' 42 */ a FROM t", "SELECT a FROM t" },
	      { "SELECT a/**/FROM t", "SELECT a FROM t" },
	      { "SELECT a -- c1\n-- c2\nFROM t /* open 123", "SELECT a FROM t" },
	      { "\n\tSELECT\n  a,\n  b\r\nFROM   t\n\n;\n", "SELECT a, b FROM t" },
	      { "SELECT 1;;  ; ", "SELECT ?" },
	      { "SELECT 1; SELECT 2;", "SELECT ?; SELECT ?" },
	      { "SELECT a--b\nFROM t", "SELECT a FROM t" },
	      { "SELECT 4/2, a/ *b", "SELECT ?/?, a/ *b" });
}

static void test_empty(void **s)
{
	char out[16];

	(void)s;
	memset(out, 'x', sizeof(out));
	assert_int_equal(sql_normalize("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sql_normalize(NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sql_normalize("  \n ; -- x", 10, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	memset(out, 'x', sizeof(out));
	assert_int_equal(sql_normalize("SELECT 1", 8, out, 0), 0);
	assert_int_equal(out[0], 'x');
}

/* The input is a window into a longer buffer: nothing past len (or a NUL) is read. */
static void test_bounded_input(void **s)
{
	char out[64];
	char *buf = malloc(9);

	(void)s;
	assert_non_null(buf);
	memcpy(buf, "SELECT 42", 9);   /* no NUL: ASan reports any overread */
	assert_int_equal(sql_normalize(buf, 9, out, sizeof(out)), 8);
	assert_string_equal(out, "SELECT ?");
	assert_int_equal(sql_normalize(buf, 6, out, sizeof(out)), 6);
	assert_string_equal(out, "SELECT");
	memcpy(buf, "SELECT '", 8);
	assert_int_equal(sql_normalize(buf, 9, out, sizeof(out)), 8);
	assert_string_equal(out, "SELECT ?");
	free(buf);
	assert_int_equal(sql_normalize("SELECT 1\0 FROM secret 7", 23, out, sizeof(out)), 8);
	assert_string_equal(out, "SELECT ?");
}

static void test_truncation(void **s)
{
	static const char *in = "SELECT 12345 FROM t WHERE x = 'abc'";
	char full[128];
	size_t n = sql_normalize(in, strlen(in), full, sizeof(full));

	(void)s;
	assert_string_equal(full, "SELECT ? FROM t WHERE x = ?");
	for (size_t cap = 1; cap <= n + 1; cap++) {
		char *out = malloc(cap);
		size_t got;

		assert_non_null(out);
		got = sql_normalize(in, strlen(in), out, cap);
		assert_true(got < cap);
		assert_int_equal(strlen(out), got);
		assert_true(!strncmp(out, full, got));   /* a prefix of the full template */
		assert_true(got == 0 || out[got - 1] != ' ');
		assert_true(got >= (cap > 2 ? cap - 3 : 0));   /* at most the space and one char lost */
		free(out);
	}
	{
		char out[9];

		assert_int_equal(sql_normalize(in, strlen(in), out, sizeof(out)), 8);
		assert_string_equal(out, "SELECT ?");
	}
}

static void test_utf8_truncation(void **s)
{
	/* é is 2 bytes, € 3, 😀 4: every cut lands on a character boundary */
	static const char *in = "SELECT \"café€😀x\" FROM t";
	char full[64];
	size_t n = sql_normalize(in, strlen(in), full, sizeof(full));

	(void)s;
	assert_string_equal(full, in);
	for (size_t cap = 1; cap <= n + 1; cap++) {
		char out[64];
		size_t got = sql_normalize(in, strlen(in), out, cap);

		assert_true(got < cap);
		assert_true(!strncmp(out, full, got));
		assert_true(((uint8_t)full[got] & 0xC0) != 0x80);   /* the next byte starts a character */
	}
	{
		char out[13];   /* room for "SELECT \"caf" and one byte of é */

		assert_int_equal(sql_normalize(in, strlen(in), out, sizeof(out)), 11);
		assert_string_equal(out, "SELECT \"caf");
	}
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16) % n;
}

/* Random bytes, biased to SQL's special characters: never crashes, overreads or overflows
 * (buffers are malloc'ed to the exact size, so an ASan build catches one byte too far). */
static void test_fuzz_bytes(void **s)
{
	static const char alphabet[] = "'\"`[]()-+*/;,.:@$?xX0123456789eE \n\t\\abcSELECT\xc3\xa9\xf0\x9f\x98\x80";
	static char full[8192];

	(void)s;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = rnd(64) ? rnd(80) : rnd(2000);
		size_t cap = rnd(8) ? rnd(120) : rnd(3000);
		char *in = malloc(len ? len : 1), *out = malloc(cap ? cap : 1);
		size_t got;

		assert_true(in && out);
		for (size_t i = 0; i < len; i++)
			in[i] = rnd(8) ? alphabet[rnd(sizeof(alphabet) - 1)] : (char)rnd(256);
		got = sql_normalize(in, len, out, cap);
		if (cap) {
			assert_true(got < cap);
			assert_int_equal(strlen(out), got);
			/* no leading space; a trailing one only inside an unterminated quoted identifier */
			assert_true(got == 0 || out[0] != ' ');
			assert_true(got == 0 || out[got - 1] != ' ' || strpbrk(out, "\"`["));
			/* truncation cuts the full template, it does not change it */
			assert_true(sql_normalize(in, len, full, sizeof(full)) >= got);
			assert_true(!strncmp(out, full, got));
		} else {
			assert_int_equal(got, 0);
		}
		free(in);
		free(out);
	}
}

/* Generated statements whose literals all carry the marker "LEAK" or the digit 7 (which no
 * identifier or placeholder here contains): the template holds neither, and is a fixed point. */
/* UTF-16 (what sqlite3_prepare16* take) to UTF-8; truth: the encodings written out by hand */
static void test_utf16(void **s)
{
	const uint16_t sel[] = { 'S', 'E', 'L', 'E', 'C', 'T', ' ', 0x00E9, 0x20AC, 0xD83D, 0xDE00, 0 };
	const uint16_t lone[] = { 'a', 0xDC00, 'b', 0xD800, 0 };
	char out[64];

	(void)s;
	assert_int_equal(sql_utf16_to_utf8(sel, sizeof(sel), out, sizeof(out)), 7 + 2 + 3 + 4);
	assert_string_equal(out, "SELECT \xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
	assert_int_equal(sql_utf16_to_utf8(lone, sizeof(lone), out, sizeof(out)), 1 + 3 + 1 + 3);
	assert_string_equal(out, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
	/* an odd byte count: the last byte dropped; no 0 unit: ends at nbytes */
	assert_int_equal(sql_utf16_to_utf8(sel, 7, out, sizeof(out)), 3);
	assert_string_equal(out, "SEL");
	/* out full: never a partial character (the euro sign needs 3 bytes, 1 left) */
	assert_int_equal(sql_utf16_to_utf8(sel, sizeof(sel), out, 11), 9);
	assert_string_equal(out, "SELECT \xC3\xA9");
	assert_int_equal(sql_utf16_to_utf8(sel, sizeof(sel), out, 1), 0);
	assert_string_equal(out, "");
}

static void test_no_literal_leaks(void **s)
{
	static const char *const toks[] = {
		"SELECT", "FROM", "WHERE", "AND", "IN", "VALUES", "LIMIT", "BETWEEN", "NULL", "t1", "\"col2\"",
		"[x 1]", "`y`", "a", "b.c", "=", "<", "-", "+", "*", "/", "||", ",", "(", ")", ";", "?", "?1",
		":p", "@q", "$r", "'LEAK'", "'LE''AK 7'", "7", "77.7", ".7", "7e7", "7E-7", "0x7F", "X'77'",
		"x'LEAK'", "-7", "a-7", "(7, 7)", "(-7,'LEAK')", "(:p, 7)", "'LEAK", "'7", "f(7)",
	};
	static const char *const seps[] = { " ", " ", " ", "  ", "\n", "\t", "/* LEAK 7 */", "-- LEAK 7\n" };
	char in[2048], out[4096], again[4096];

	(void)s;
	for (int iter = 0; iter < 50000; iter++) {
		size_t len = 0;
		int n = 1 + rnd(30);

		for (int i = 0; i < n; i++) {
			const char *sep = seps[rnd(sizeof(seps) / sizeof(seps[0]))];
			const char *t = toks[rnd(sizeof(toks) / sizeof(toks[0]))];

			/* "'LEAK" and "'7" are unterminated: only at the end */
			if ((!strcmp(t, "'LEAK") || !strcmp(t, "'7")) && i != n - 1)
				t = "a";
			len += (size_t)snprintf(in + len, sizeof(in) - len, "%s%s", sep, t);
		}
		sql_normalize(in, len, out, sizeof(out));
		if (strstr(out, "LEAK") || strchr(out, '7')) {
			print_error("literal leaked\nin:  %s\nout: %s\n", in, out);
			fail();
		}
		sql_normalize(out, strlen(out), again, sizeof(again));
		if (strcmp(out, again)) {
			print_error("not a fixed point\nin:    %s\nout:   %s\nagain: %s\n", in, out, again);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_django),
		cmocka_unit_test(test_python_sqlite3),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_signs),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_comments_and_space),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bounded_input),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_utf8_truncation),
		cmocka_unit_test(test_fuzz_bytes),
		cmocka_unit_test(test_no_literal_leaks),
		cmocka_unit_test(test_utf16),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
