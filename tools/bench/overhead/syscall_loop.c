/*
 * Times N pread(fd, 1 byte) calls on a cached file; prints ns per call.
 * With -g (the start gate), after the warm-up it prints "ready" on stderr and waits for one
 * byte on stdin before the timed loop: a tracer that attaches by PID attaches in between. It
 * exits once stdin is closed, so that a tracer's counters can be read before it sees the exit.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int gate = argc > 1 && !strcmp(argv[1], "-g");
	long n = argc > 1 + gate ? atol(argv[1 + gate]) : 1000000;
	const char *path = argc > 2 + gate ? argv[2 + gate] : "/proc/self/exe";
	struct timespec a, b;
	char c;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || n <= 0) {
		perror("syscall_loop");
		return 1;
	}
	for (long i = 0; i < n / 10; i++)   /* warm up */
		if (pread(fd, &c, 1, 0) != 1)
			return 1;
	if (gate) {
		fprintf(stderr, "ready\n");
		if (read(0, &c, 1) != 1) {
			fprintf(stderr, "syscall_loop: stdin closed before the start byte\n");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (pread(fd, &c, 1, 0) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	fflush(stdout);
	while (gate && read(0, &c, 1) > 0)
		;
	return 0;
}
