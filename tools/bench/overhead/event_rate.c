/*
 * A generator of rich events: opens (and closes) files at a controlled rate. Each open of a
 * regular file is one ring-buffer event in iogap, with its path.
 *   event_rate -c DIR NFILES              create DIR/f0 .. DIR/f<NFILES-1> (run it untraced)
 *   event_rate DIR NFILES RATE SECONDS    open them in turn, RATE opens per second, for SECONDS
 * The pace is kept per millisecond (the opens due by now, then a sleep to the next tick); it
 * prints "OPENS SECONDS ACHIEVED_RATE" so that a rate the generator could not reach shows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int create_files(const char *dir, long n)
{
	char path[4096];

	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/f%ld", dir, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || close(fd)) {
			fprintf(stderr, "event_rate: cannot create %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	long nfiles, opens = 0;
	double rate, secs, start, t;

	if (argc == 4 && !strcmp(argv[1], "-c"))
		return create_files(argv[2], atol(argv[3]));
	if (argc != 5) {
		fprintf(stderr, "usage: event_rate -c DIR NFILES | event_rate DIR NFILES RATE SECONDS\n");
		return 2;
	}
	nfiles = atol(argv[2]);
	rate = atof(argv[3]);
	secs = atof(argv[4]);
	if (nfiles <= 0 || rate <= 0 || secs <= 0) {
		fprintf(stderr, "event_rate: NFILES, RATE and SECONDS must be positive\n");
		return 2;
	}
	start = now_s();
	for (;;) {
		long due;

		t = now_s() - start;
		if (t >= secs)
			break;
		due = (long)(rate * t) + 1;
		for (; opens < due; opens++) {
			int fd;

			snprintf(path, sizeof(path), "%s/f%ld", argv[1], opens % nfiles);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				fprintf(stderr, "event_rate: cannot open %s: %s\n", path, strerror(errno));
				return 1;
			}
			close(fd);
		}
		{
			/* sleep to the next millisecond tick */
			double next = (long)(t * 1000 + 1) / 1000.0 - t;
			struct timespec ts = { 0, (long)(next * 1e9) };

			if (ts.tv_nsec > 0)
				nanosleep(&ts, NULL);
		}
	}
	t = now_s() - start;
	printf("%ld %.3f %.0f\n", opens, t, opens / t);
	return 0;
}
