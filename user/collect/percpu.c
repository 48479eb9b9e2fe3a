// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
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

uint64_t prog_misses_one(const struct bpf_program *p)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(p);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.recursion_misses : 0;
}

uint64_t prog_misses(const struct bpf_object *obj)
{
	struct bpf_program *p;
	uint64_t n = 0;

	if (!obj)
		return 0;
	bpf_object__for_each_program(p, obj)
		n += prog_misses_one(p);
	return n;
}
