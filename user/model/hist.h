/* Log-linear latency histograms (bucket layout shared with BPF in bpf/histogram.h). */
#ifndef IOGAP_MODEL_HIST_H
#define IOGAP_MODEL_HIST_H

#include <stdint.h>
#include <linux/types.h>
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#include "histogram.h"

struct hist {
	uint64_t b[HIST_BUCKETS];
};

uint64_t hist_bucket_lo(uint32_t i);
uint64_t hist_bucket_hi(uint32_t i);           /* exclusive */
void hist_record(struct hist *h, uint64_t v);
uint64_t hist_count(const struct hist *h);
/* q in [0,1]; the midpoint of the bucket holding the nearest-rank sample, clamped to max. */
uint64_t hist_percentile(const struct hist *h, double q, uint64_t max);
void hist_add(struct hist *dst, const struct hist *src);
void hist_sub(struct hist *dst, const struct hist *src);
uint64_t hist_max_estimate(const struct hist *h);
/* The sum of the samples from the buckets' midpoints (the midpoints hist_percentile returns). */
uint64_t hist_sum_estimate(const struct hist *h);

#endif
