/*
 * Two threads pinned to one CPU pass a byte back and forth through two pipes: every round trip
 * is 2 writes, 2 reads that block, 2 wakeups and 2 context switches, as in a server whose
 * threads hand requests to each other. Prints the ns per round trip it measured itself (after
 * 1000 round trips of warm-up).
 *   pingpong [ROUND_TRIPS] [CPU]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 1000

static int p1[2], p2[2], cpu;
static long n;

static void pin(void)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s)) {
		perror("pingpong: sched_setaffinity");
		exit(1);
	}
}

static void *peer(void *arg)
{
	char c;

	pin();
	for (long i = 0; i < n; i++)
		if (read(p1[0], &c, 1) != 1 || write(p2[1], &c, 1) != 1)
			exit(1);
	return arg;
}

static void round_trip(void)
{
	char c = 'x';

	if (write(p1[1], &c, 1) != 1 || read(p2[0], &c, 1) != 1)
		exit(1);
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	pthread_t t;

	n = argc > 1 ? atol(argv[1]) : 100000;
	cpu = argc > 2 ? atoi(argv[2]) : 0;
	if (n <= WARMUP || pipe(p1) || pipe(p2)) {
		fprintf(stderr, "usage: pingpong [ROUND_TRIPS > %d] [CPU]\n", WARMUP);
		return 2;
	}
	pin();
	if (pthread_create(&t, NULL, peer, NULL))
		return 1;
	for (long i = 0; i < WARMUP; i++)
		round_trip();
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = WARMUP; i < n; i++)
		round_trip();
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(t, NULL);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (n - WARMUP));
	return 0;
}
