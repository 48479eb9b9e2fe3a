/* Loads floor.bpf.o, attaches its programs (only those whose section starts with one of the
 * PREFIXes, if any are given), waits until stdin closes or a signal. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
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
		bool want = argc == 2;

		for (int i = 2; i < argc && !want; i++)
			want = !strncmp(bpf_program__section_name(p), argv[i], strlen(argv[i]));
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
