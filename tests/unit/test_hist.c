/* Log-linear histogram: percentiles within 5% of the exact percentile of the same samples. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/hist.h"
#include "xorshift.h"

#define N 200000

static uint64_t rng_state = 88172645463325252ULL;

static double uniform01(void)
{
	return (xorshift64(&rng_state) >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile, the definition hist_percentile approximates */
static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * n);

	return sorted[(rank ? rank : 1) - 1];
}

static void check_distribution(uint64_t (*gen)(void))
{
	static uint64_t v[N];
	static struct hist h;
	static const double qs[] = { 0.01, 0.10, 0.50, 0.90, 0.95, 0.99, 0.999 };
	uint64_t max = 0;

	memset(&h, 0, sizeof(h));
	for (size_t i = 0; i < N; i++) {
		v[i] = gen();
		hist_record(&h, v[i]);
		if (v[i] > max)
			max = v[i];
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	assert_int_equal(hist_count(&h), N);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		double want = (double)exact(v, N, qs[i]);
		double got = (double)hist_percentile(&h, qs[i], max);

		if (fabs(got - want) > 0.05 * want) {
			print_error("q=%.3f: histogram %.0f, exact %.0f (%.2f%% off)\n", qs[i], got, want,
				    100 * fabs(got - want) / want);
			fail();
		}
	}
}

static uint64_t gen_uniform(void) { return 1000 + (uint64_t)(uniform01() * 99000); }
static uint64_t gen_exponential(void) { return 50 + (uint64_t)(-log(1 - uniform01()) * 20000); }
static uint64_t gen_lognormal(void)
{
	double u1 = uniform01(), u2 = uniform01();
	double z = sqrt(-2 * log(u1 > 0 ? u1 : 1e-12)) * cos(2 * M_PI * u2);

	return (uint64_t)exp(11 + 1.5 * z) + 1;
}
static uint64_t gen_bimodal(void)
{
	return uniform01() < 0.9 ? 2000 + (uint64_t)(uniform01() * 500) : 5000000 + (uint64_t)(uniform01() * 2e6);
}
static uint64_t gen_constant(void) { return 123457; }
static uint64_t gen_tiny(void) { return (uint64_t)(uniform01() * 40); }

static void test_uniform(void **s) { (void)s; check_distribution(gen_uniform); }
static void test_exponential(void **s) { (void)s; check_distribution(gen_exponential); }
static void test_lognormal(void **s) { (void)s; check_distribution(gen_lognormal); }
static void test_bimodal(void **s) { (void)s; check_distribution(gen_bimodal); }
static void test_constant(void **s) { (void)s; check_distribution(gen_constant); }
static void test_tiny_values(void **s) { (void)s; check_distribution(gen_tiny); }

/* Every value falls in the bucket whose bounds contain it; buckets are at most 1/16 wide. */
static void test_bucket_bounds(void **s)
{
	(void)s;
	for (uint64_t v = 0; v < (1ULL << 40); v = v < 100000 ? v + 1 : v + v / 997 + 1) {
		uint32_t b = hist_bucket(v);
		uint64_t lo = hist_bucket_lo(b), hi = hist_bucket_hi(b);

		assert_true(b < HIST_BUCKETS);
		assert_true(lo <= v && v < hi);
		if (v >= HIST_SUB && b < HIST_BUCKETS - 1)
			assert_true((hi - lo) * HIST_SUB <= lo);
	}
	assert_int_equal(hist_bucket(UINT64_MAX), HIST_BUCKETS - 1);
}

static void test_empty_and_delta(void **s)
{
	struct hist a = {0}, b = {0};

	(void)s;
	assert_int_equal(hist_percentile(&a, 0.5, 0), 0);
	for (int i = 0; i < 100; i++)
		hist_record(&a, 1000 + i);
	b = a;
	for (int i = 0; i < 100; i++)
		hist_record(&a, 900000);
	hist_sub(&a, &b);
	assert_int_equal(hist_count(&a), 100);
	assert_true(llabs((long long)hist_percentile(&a, 0.5, 900000) - 900000) < 900000 / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_exponential),
		cmocka_unit_test(test_lognormal),
		cmocka_unit_test(test_bimodal),
		cmocka_unit_test(test_constant),
		cmocka_unit_test(test_tiny_values),
		cmocka_unit_test(test_bucket_bounds),
		cmocka_unit_test(test_empty_and_delta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
