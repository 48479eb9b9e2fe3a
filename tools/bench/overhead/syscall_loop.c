/* Times N pread(fd, 1 byte) calls on a cached file; prints ns per call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	const char *path = argc > 2 ? argv[2] : "/proc/self/exe";
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
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (pread(fd, &c, 1, 0) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
