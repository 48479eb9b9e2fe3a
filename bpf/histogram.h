/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Log-linear latency histogram shared by BPF and user space: values below 16 get one
 * bucket each; every power of two above is split into 16 equal sub-buckets, so a bucket
 * is at most 1/16 of its lower bound wide and its midpoint is within 3.2% of any value in it.
 */
#ifndef IOGAP_HISTOGRAM_H
#define IOGAP_HISTOGRAM_H

#define HIST_SUB_BITS 4
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_LOG2 39          /* values from 2^40 ns (~18 min) on share the last bucket */
#define HIST_BUCKETS ((HIST_MAX_LOG2 - HIST_SUB_BITS + 2) * HIST_SUB)

static __always_inline __u32 hist_log2(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r = shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 hist_bucket(__u64 v)
{
	__u32 k;

	if (v < HIST_SUB)
		return (__u32)v;
	k = hist_log2(v);
	if (k > HIST_MAX_LOG2)
		return HIST_BUCKETS - 1;
	return (k - HIST_SUB_BITS + 1) * HIST_SUB + (__u32)((v >> (k - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

#endif
