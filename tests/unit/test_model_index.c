/*
 * The model's indexed lookups (user/model/hindex.c behind target_stmt and target_file) against
 * the ground truth of a linear scan of the same arrays: 6,000 statements and 6,000 files of
 * random, sequential and colliding keys, every one found at the element a scan finds, none
 * made twice; after a prune and a keep-top (which move elements) and after appends past them,
 * still so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/model.h"
#include "xorshift.h"

#define N 6000

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void) { return xorshift64(&rng); }

static long scan_stmt(const struct target *t, uint64_t hash)
{
	for (size_t i = 0; i < t->sq.nstmts; i++)
		if (t->sq.stmts[i].hash == hash)
			return (long)i;
	return -1;
}

static long scan_file(const struct target *t, uint32_t dev, uint64_t ino, uint32_t gen)
{
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i].dev == dev && t->files[i].ino == ino && t->files[i].gen == gen)
			return (long)i;
	return -1;
}

/* i-th key: a third random, a third sequential from 0, a third sharing an inode number */
static uint64_t hash_of(size_t i) { return i % 3 == 0 ? next() : i % 3 == 1 ? i : 1000000007ULL * (i % 7); }
static void file_of(size_t i, uint32_t *dev, uint64_t *ino, uint32_t *gen)
{
	*dev = (uint32_t)(i % 5);
	*ino = i % 3 == 2 ? 42 : i;        /* one inode number on many devices and generations */
	*gen = (uint32_t)(i / 5);
}

static void check_all(struct target *t, const uint64_t *hashes, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		long want = scan_stmt(t, hashes[i]);
		size_t before = t->sq.nstmts;
		struct sql_stmt *s = target_stmt(t, hashes[i]);

		assert_non_null(s);
		if (want >= 0) {
			assert_ptr_equal(s, &t->sq.stmts[want]);
			assert_int_equal(t->sq.nstmts, before);
		} else {
			assert_int_equal(t->sq.nstmts, before + 1);   /* pruned: made again, once */
		}
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t dev, gen;
		uint64_t ino;
		long want;
		size_t before = t->nfiles;
		struct file_stat *f;

		file_of(i, &dev, &ino, &gen);
		want = scan_file(t, dev, ino, gen);
		f = target_file(t, dev, ino, gen);
		assert_non_null(f);
		if (want >= 0) {
			assert_ptr_equal(f, &t->files[want]);
			assert_int_equal(t->nfiles, before);
		} else {
			assert_int_equal(t->nfiles, before + 1);
		}
	}
}

static void test_lookups_match_a_scan(void **state)
{
	struct model m = { 0 };
	struct target *t = model_target_add(&m, "t", TARGET_PID);
	uint64_t *hashes = malloc(N * sizeof(*hashes));

	(void)state;
	assert_non_null(t);
	assert_non_null(hashes);
	for (size_t i = 0; i < N; i++) {
		uint32_t dev, gen;
		uint64_t ino;
		struct file_stat *f;
		struct sql_stmt *s;

		hashes[i] = hash_of(i);
		s = target_stmt(t, hashes[i]);
		assert_non_null(s);
		s->s.count = i + 1;
		file_of(i, &dev, &ino, &gen);
		f = target_file(t, dev, ino, gen);
		assert_non_null(f);
		f->count = i + 1;
	}
	/* hash_of repeats some keys (i % 7 of the third kind): made once each */
	check_all(t, hashes, N);
	for (size_t i = 0; i < t->sq.nstmts; i++)
		for (size_t j = i + 1; j < t->sq.nstmts && j < i + 50; j++)
			assert_true(t->sq.stmts[i].hash != t->sq.stmts[j].hash);

	/* a prune moves the kept elements down: every other one idle */
	for (size_t i = 0; i < t->sq.nstmts; i += 2)
		memset(&t->sq.stmts[i].s, 0, sizeof(t->sq.stmts[i].s));
	for (size_t i = 0; i < t->nfiles; i += 2)
		t->files[i].count = 0;
	model_prune_idle(&m);
	check_all(t, hashes, N);

	/* a keep-top sorts the files and cuts them */
	model_keep_top_files(&m, 1000);
	assert_int_equal(t->nfiles, 1000);
	check_all(t, hashes, N);
	free(hashes);
	model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups_match_a_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
