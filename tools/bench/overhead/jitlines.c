/*
 * jitlines PROG_ID: reads "ADDRESS" lines (perf sample addresses, hex) on stdin and prints, for
 * the BPF program PROG_ID, how many fell on each of its source lines: "COUNT LINE TEXT", most
 * first, then "total COUNT" (samples in the program; addresses outside it are not counted).
 * The kernel keeps, per program, its JIT image's address, the address where each line-info
 * record's code begins (jited_line_info) and the records (line_info: the line's number and its
 * text in the program's BTF strings); a sample belongs to the last record beginning at or
 * before it. This is what `bpftool prog dump jited linum` shows, for a bpftool built without
 * libbfd (Debian's). A sample usually lands just after the instruction that stalled (skid):
 * read a line as "the line after the costly load", as the README does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

struct hit {
	uint32_t rec;       /* line_info record */
	long n;
};

static int fail(const char *what)
{
	fprintf(stderr, "jitlines: %s: %s\n", what, strerror(errno));
	return 1;
}

static int by_count(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return (y->n > x->n) - (y->n < x->n);
}

int main(int argc, char **argv)
{
	struct bpf_prog_info info = {};
	struct bpf_line_info *li;
	__u64 *jli, ksym = 0, a;
	__u32 len = sizeof(info), nl, njl, btf_id, ncount = 0;
	struct btf *btf;
	struct hit *hits;
	long total = 0;
	char buf[64];
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: jitlines PROG_ID <ADDRESSES\n");
		return 2;
	}
	fd = bpf_prog_get_fd_by_id(atoi(argv[1]));
	if (fd < 0 && errno == ENOENT) {
		fprintf(stderr, "jitlines: no BPF program %s now (its iogap ended?)\n", argv[1]);
		return 1;
	}
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return fail("the program's info");
	nl = info.nr_line_info;
	njl = info.nr_jited_line_info;
	btf_id = info.btf_id;
	if (!nl || nl != njl || info.nr_jited_ksyms < 1) {
		fprintf(stderr, "jitlines: program %s has no line info for its JIT image\n", argv[1]);
		return 1;
	}
	li = calloc(nl, sizeof(*li));
	jli = calloc(njl, sizeof(*jli));
	hits = calloc(nl, sizeof(*hits));
	if (!li || !jli || !hits)
		return fail("memory");
	memset(&info, 0, sizeof(info));
	info.nr_line_info = nl;
	info.line_info_rec_size = sizeof(*li);
	info.line_info = (__u64)(uintptr_t)li;
	info.nr_jited_line_info = njl;
	info.jited_line_info_rec_size = sizeof(*jli);
	info.jited_line_info = (__u64)(uintptr_t)jli;
	info.nr_jited_ksyms = 1;   /* the main function's address: the image starts there */
	info.jited_ksyms = (__u64)(uintptr_t)&ksym;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return fail("the program's line info");
	btf = btf__load_from_kernel_by_id(btf_id);
	if (!btf)
		return fail("the program's BTF");
	for (__u32 i = 0; i < nl; i++)
		hits[i].rec = i;
	while (fgets(buf, sizeof(buf), stdin)) {
		int best = -1;

		a = strtoull(buf, NULL, 16);
		if (a < ksym || a >= ksym + info.jited_prog_len)
			continue;
		for (__u32 i = 0; i < njl; i++)
			if (jli[i] <= a && (best < 0 || jli[i] > jli[best]))
				best = (int)i;
		if (best < 0)
			continue;
		hits[best].n++;
		total++;
	}
	/* records of one source line (a line can have several) add up */
	for (__u32 i = 0; i < nl; i++)
		for (__u32 j = 0; j < i; j++)
			if (hits[i].n && li[j].line_col >> 10 == li[i].line_col >> 10 &&
			    li[j].file_name_off == li[i].file_name_off) {
				hits[j].n += hits[i].n;
				hits[i].n = 0;
				break;
			}
	qsort(hits, nl, sizeof(*hits), by_count);
	for (__u32 i = 0; i < nl && hits[i].n; i++, ncount++) {
		const struct bpf_line_info *r = &li[hits[i].rec];
		const char *text = btf__name_by_offset(btf, r->line_off);

		while (text && (*text == ' ' || *text == '\t'))
			text++;
		printf("%ld %u %s\n", hits[i].n, r->line_col >> 10, text ? text : "?");
	}
	printf("total %ld\n", total);
	btf__free(btf);
	return 0;
}
