/* Loads floor.bpf.o, attaches its programs (only those whose section starts with one of the
 * PREFIXes, if any are given), waits until stdin closes or a signal. A program in a bare
 * "uprobe" or "uretprobe" section is attached where FLOOR_UPROBE says: PATH:FUNCTION or
 * PATH:0xOFFSET (a file offset: iogap's probe of a function without a symbol, which libbpf's
 * section names cannot give). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *p;
	char c;

	if (argc < 2) {
		fprintf(stderr, "usage: floor FILE.bpf.o [SECTION_PREFIX...]\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "floor: cannot load %s\n", argv[1]);
		return 1;
	}
	bpf_object__for_each_program(p, obj) {
		const char *sec = bpf_program__section_name(p), *at = getenv("FLOOR_UPROBE"), *colon;
		bool want = argc == 2;

		for (int i = 2; i < argc && !want; i++)
			want = !strncmp(sec, argv[i], strlen(argv[i]));

		if (want && (!strcmp(sec, "uprobe") || !strcmp(sec, "uretprobe"))) {
			LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = sec[1] == 'r');
			char path[4096];
			size_t n;
			long off = 0;

			if (!at || !(colon = strrchr(at, ':')) || (n = colon - at) >= sizeof(path)) {
				fprintf(stderr, "floor: %s needs FLOOR_UPROBE=PATH:FUNCTION|0xOFFSET\n",
					bpf_program__name(p));
				return 1;
			}
			memcpy(path, at, n);
			path[n] = 0;
			if (!strncmp(colon + 1, "0x", 2)) {
				char *end;

				errno = 0;
				off = strtol(colon + 1, &end, 16);
				if (errno || *end || off <= 0) {
					fprintf(stderr, "floor: FLOOR_UPROBE: bad offset %s\n", colon + 1);
					return 1;
				}
			} else {
				uo.func_name = colon + 1;
			}
			if (!bpf_program__attach_uprobe_opts(p, -1, path, off, &uo)) {
				fprintf(stderr, "floor: cannot attach %s at %s\n", bpf_program__name(p), at);
				return 1;
			}
			continue;
		}
		if (want && !bpf_program__attach(p)) {
			fprintf(stderr, "floor: cannot attach %s\n", bpf_program__name(p));
			return 1;
		}
	}
	printf("attached\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	bpf_object__close(obj);
	return 0;
}
