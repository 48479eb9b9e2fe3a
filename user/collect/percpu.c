// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include "collect/percpu.h"

void percpu_sum(const void *vals, int ncpus, size_t size, uint64_t *out, size_t nwords, size_t max_idx)
{
	size_t stride = (size + 7) & ~(size_t)7;

	memset(out, 0, nwords * sizeof(uint64_t));
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const uint64_t *v = (const uint64_t *)((const char *)vals + cpu * stride);

		for (size_t w = 0; w < nwords; w++)
			out[w] = (max_idx != SIZE_MAX && w == max_idx) ? (v[w] > out[w] ? v[w] : out[w])
								       : out[w] + v[w];
	}
}
