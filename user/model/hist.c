#include <math.h>
#include "model/hist.h"

uint64_t hist_bucket_lo(uint32_t i)
{
	uint32_t k, sub;

	if (i < HIST_SUB)
		return i;
	k = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	return (1ULL << k) + ((uint64_t)sub << (k - HIST_SUB_BITS));
}

uint64_t hist_bucket_hi(uint32_t i)
{
	if (i + 1 >= HIST_BUCKETS)
		return UINT64_MAX;
	return hist_bucket_lo(i + 1);
}

void hist_record(struct hist *h, uint64_t v)
{
	h->b[hist_bucket(v)]++;
}

uint64_t hist_count(const struct hist *h)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		n += h->b[i];
	return n;
}

uint64_t hist_percentile(const struct hist *h, double q, uint64_t max)
{
	uint64_t n = hist_count(h), rank, seen = 0, lo, hi, mid;

	if (!n)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	rank = (uint64_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen < rank)
			continue;
		lo = hist_bucket_lo(i);
		hi = hist_bucket_hi(i);
		if (i < HIST_SUB)
			mid = lo;
		else if (hi == UINT64_MAX)
			mid = lo;
		else
			mid = lo + (hi - lo) / 2;
		if (max && mid > max)
			mid = max;
		return mid;
	}
	return max;
}

void hist_add(struct hist *dst, const struct hist *src)
{
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
}

void hist_sub(struct hist *dst, const struct hist *src)
{
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] = dst->b[i] >= src->b[i] ? dst->b[i] - src->b[i] : 0;
}

uint64_t hist_max_estimate(const struct hist *h)
{
	for (uint32_t i = HIST_BUCKETS; i-- > 0;)
		if (h->b[i])
			return hist_bucket_hi(i) == UINT64_MAX ? hist_bucket_lo(i) : hist_bucket_hi(i) - 1;
	return 0;
}

uint64_t hist_sum_estimate(const struct hist *h)
{
	uint64_t sum = 0, lo, hi;

	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		lo = hist_bucket_lo(i);
		hi = hist_bucket_hi(i);
		sum += h->b[i] * (hi == UINT64_MAX ? lo : lo + (hi - lo) / 2);
	}
	return sum;
}
