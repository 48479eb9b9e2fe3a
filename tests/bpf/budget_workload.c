/*
 * A workload whose threads spend their time in known ways, for the time-budget tests. Each
 * thread names itself (PR_SET_NAME) and measures itself with CLOCK_MONOTONIC: its lifetime
 * (first instruction to just before it returns) and each of its waits.
 *
 *   budget_workload [--gate DIR] MODE REPORT.json [CPU]
 *
 * MODE:
 *   sleep  "sleeper" sleeps 10 ms a hundred times (clock_nanosleep), each less what the ones
 *          before it overran: 1.0 s blocked in all, as it measures it (see sleeper())
 *   spin   "spin-a" and "spin-b" pin themselves to CPU and each spins for 2 s of wall time
 *   mutex  "holder" holds a mutex 20 times for 20 ms, each time waiting for the waiter to have
 *          had it and 2 ms more; "waiter" locks it each time the holder has it, timing
 *          pthread_mutex_lock
 *   pipe   "writer" writes a pipe 5 times, each after 200 ms; "reader" blocks in read()
 *   http   "server" answers N_REQ HTTP/1.1 requests on one keep-alive TCP connection (loopback),
 *          each after sleeping 2 ms and spinning 1 ms of its own CPU time; "client" sends them
 *          one after the other, 1 ms apart. The server measures each request from the return
 *          of the read() that got it to the return of the write() of its response.
 *   loop   "loop" serves two keep-alive connections from one epoll loop, answering each request
 *          2 ms after it read it (epoll_wait's timeout is the next deadline: requests of both
 *          connections are open at once); "client-a" and "client-b" send N_REQ each, 1 ms
 *          apart. Measured by the loop as in http.
 * --gate DIR: write DIR/pid, then wait until something writes the FIFO DIR/go (so that a
 *   tracer can attach to this PID before the threads start).
 * REPORT.json: per thread its tid, name, lifetime, measured waits, CPU time
 * (CLOCK_THREAD_CPUTIME_ID) and the kernel's schedstat (run time, run-queue delay) read just
 * before it returns; the main thread's lifetime likewise (from main's first instruction to
 * just before the report is written), and its run time and run-queue delay before main
 * (schedstat at main's first instruction: exec and the dynamic loader).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL
#define N_SLEEP 100
#define SLEEP_NS (10 * MS)
#define SPIN_NS (2000 * MS)
#define N_HOLD 20
#define HOLD_NS (20 * MS)
#define GAP_NS (2 * MS)
#define N_PIPE 5
#define PIPE_DELAY_NS (200 * MS)
#define N_REQ 100
#define REQ_SLEEP_NS (2 * MS)
#define REQ_SPIN_NS (1 * MS)
#define REQ_DELAY_NS (2 * MS)
#define CLIENT_GAP_NS (1 * MS)
#define MAX_THREADS 3

struct thr {
	const char *name;
	void *(*fn)(void *);
	pthread_t pt;
	int tid;
	long long start, end;     /* CLOCK_MONOTONIC: first instruction, just before return */
	long long wait_ns;        /* the mode's measured waits, summed */
	int waits;
	long long late_ns;        /* http/loop: run-queue waits after the responses' writes */
	long long read_delay_ns;  /* http: run-queue waits inside the reads of the requests (woken by
	                             the client's write, waiting for a CPU before the read returns) */
	long long spin_ns;        /* http: the spins' wall time less their run-queue waits */
	long long rsleep_ns;      /* http: the requests' sleeps as blocked time */
	long long other_cpu_ns;   /* http: the requests' CPU clock outside their spins (syscalls) */
	long long poll_ns;        /* loop: epoll_wait's blocked time x requests open meanwhile */
	long long poll_delay_ns;  /* loop: the run-queue delay inside those waits, weighted the same */
	long long cpu_ns;         /* CLOCK_THREAD_CPUTIME_ID at the end */
	long long sched_run_ns, sched_delay_ns;   /* /proc/thread-self/schedstat at the end */
};

static struct thr thr[MAX_THREADS];
static int nthr, spin_cpu;
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static atomic_int held_round = -1;   /* the round the holder holds the mutex in, -1 none */
static atomic_int taken;             /* rounds in which the waiter has had the mutex */
static int pipefd[2];

static void die(const char *what)
{
	fprintf(stderr, "budget_workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long long clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static void sleep_ns(long long ns)
{
	struct timespec ts = { ns / 1000000000LL, ns % 1000000000LL };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static void begin(struct thr *t)
{
	t->start = now_ns();
	t->tid = (int)syscall(SYS_gettid);
	prctl(PR_SET_NAME, t->name, 0, 0, 0);
}

/* the thread's run time and run-queue delay so far, from /proc/thread-self/schedstat (fd open
 * on it, or -1 to open it for this one read) */
static void schedstat(int fd, long long *run, long long *delay)
{
	char buf[128] = "";
	int own = fd < 0;
	ssize_t n;

	if (own)
		fd = open("/proc/thread-self/schedstat", O_RDONLY);
	n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;
	buf[n > 0 ? n : 0] = 0;
	if (own && fd >= 0)
		close(fd);
	*run = *delay = 0;
	sscanf(buf, "%lld %lld", run, delay);
}

/*
 * A span of the thread's time by the kernel's clocks: span_begin() before it, span_end() after:
 * its wall time, the thread's CPU clock and its run-queue delay (schedstat, fd sfd) over it.
 * Blocked is wall - cpu - delay (what iogap counts as blocked), on CPU wall - delay (which, on a
 * VM, holds stolen time the CPU clock leaves out).
 */
struct span { long long wall, cpu, delay; };

static void span_begin(int sfd, struct span *s)
{
	long long run;

	schedstat(sfd, &run, &s->delay);
	s->cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	s->wall = now_ns();
}

static struct span span_end(int sfd, const struct span *s)
{
	struct span d = { now_ns() - s->wall, clock_ns(CLOCK_THREAD_CPUTIME_ID) - s->cpu, 0 };
	long long run;

	schedstat(sfd, &run, &d.delay);
	d.delay -= s->delay;
	return d;
}

static long long blocked_ns(const struct span *d)
{
	return d->wall - d->cpu - d->delay;
}

static void end(struct thr *t)
{
	schedstat(-1, &t->sched_run_ns, &t->sched_delay_ns);
	t->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	t->end = now_ns();
}

/*
 * Sleeps a hundred times, 1.0 s of blocked time in all: each sleep is 10 ms less what the ones
 * before it overran (a VM's timer can fire 0.2-0.3 ms late, and with timer slack, set here to
 * 1 ns, later still). A sleep is measured as its call's wall time less what the kernel says the
 * thread spent on CPU (its CPU clock) and runnable (the schedstat run-queue delay) meanwhile:
 * the time it was blocked, which is what iogap measures.
 */
static void *sleeper(void *arg)
{
	struct thr *t = arg;
	struct span sp, d;
	int fd;

	begin(t);
	fd = open("/proc/thread-self/schedstat", O_RDONLY);
	if (fd < 0)
		die("/proc/thread-self/schedstat");
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (int i = 0; i < N_SLEEP; i++) {
		long long want = (i + 1) * SLEEP_NS - t->wait_ns;

		span_begin(fd, &sp);
		sleep_ns(want > 0 ? want : 0);
		d = span_end(fd, &sp);
		t->wait_ns += blocked_ns(&d);
		t->waits++;
	}
	close(fd);
	end(t);
	return NULL;
}

static void *spinner(void *arg)
{
	struct thr *t = arg;
	cpu_set_t set;

	begin(t);
	CPU_ZERO(&set);
	CPU_SET(spin_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
	while (now_ns() - t->start < SPIN_NS)
		;
	end(t);
	return NULL;
}

static void *holder(void *arg)
{
	struct thr *t = arg;

	begin(t);
	for (int i = 0; i < N_HOLD; i++) {
		pthread_mutex_lock(&mtx);
		atomic_store(&held_round, i);
		sleep_ns(HOLD_NS);
		atomic_store(&held_round, -1);
		pthread_mutex_unlock(&mtx);
		/* the waiter has the mutex in each round before the next one starts (on a busy
		 * CPU the holder could otherwise take it back first and leave the waiter a round
		 * behind for good); sleeping, not on a futex */
		while (atomic_load(&taken) <= i)
			sleep_ns(MS / 10);
		sleep_ns(GAP_NS);
	}
	end(t);
	return NULL;
}

static void *waiter(void *arg)
{
	struct thr *t = arg;

	begin(t);
	for (int i = 0; i < N_HOLD; i++) {
		long long t0;

		/* wait (sleeping, not on a futex) until the holder has the mutex for round i */
		while (atomic_load(&held_round) != i)
			sleep_ns(MS / 10);
		t0 = now_ns();
		pthread_mutex_lock(&mtx);
		t->wait_ns += now_ns() - t0;
		t->waits++;
		atomic_store(&taken, i + 1);
		pthread_mutex_unlock(&mtx);
	}
	end(t);
	return NULL;
}

static int listen_fd, server_port;
static const char req_text[] = "GET /work HTTP/1.1\r\nHost: budget\r\n\r\n";
static const char resp_text[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void listen_loopback(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) || listen(listen_fd, 8) ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &len))
		die("listen");
	server_port = ntohs(a.sin_port);
}

/* Reads exactly n bytes (a request or a response: their sizes are known). */
static void read_full(int fd, char *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r <= 0)
			die("read");
		got += r;
	}
}

static void *client(void *arg)
{
	struct thr *t = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(server_port) };
	char buf[sizeof(resp_text)];
	int fd;

	begin(t);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	for (int i = 0; i < N_REQ; i++) {
		long long t0 = now_ns();

		if (write(fd, req_text, sizeof(req_text) - 1) != sizeof(req_text) - 1)
			die("write request");
		read_full(fd, buf, sizeof(resp_text) - 1);
		t->wait_ns += now_ns() - t0;
		t->waits++;
		sleep_ns(CLIENT_GAP_NS);
	}
	close(fd);
	end(t);
	return NULL;
}

/*
 * Writes the response; returns how long the thread was runnable but not running meanwhile
 * (schedstat). The write wakes the client, which on a busy CPU preempts the server on its way
 * back to user space: after the write's sys_exit, where iogap ends the request. The server's
 * clock takes that wait out, so that it measures the same span.
 */
static long long write_response(int fd, int sfd)
{
	struct span sp, d;

	span_begin(sfd, &sp);
	if (write(fd, resp_text, sizeof(resp_text) - 1) != sizeof(resp_text) - 1)
		die("write response");
	d = span_end(sfd, &sp);
	return d.delay;
}

static void *server(void *arg)
{
	struct thr *t = arg;
	char buf[sizeof(req_text)];
	int fd, sfd;

	begin(t);
	sfd = open("/proc/thread-self/schedstat", O_RDONLY);
	fd = accept(listen_fd, NULL, NULL);
	if (fd < 0)
		die("accept");
	for (int i = 0; i < N_REQ; i++) {
		long long t0, spin0, cr0, late;
		struct span sp, d;

		span_begin(sfd, &sp);
		read_full(fd, buf, sizeof(req_text) - 1);
		d = span_end(sfd, &sp);
		t->read_delay_ns += d.delay;
		t0 = now_ns();
		cr0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		/* the sleep as blocked time: a VM's timer can fire a few tenths of a ms late */
		span_begin(sfd, &sp);
		sleep_ns(REQ_SLEEP_NS);
		d = span_end(sfd, &sp);
		t->rsleep_ns += blocked_ns(&d);
		span_begin(sfd, &sp);
		spin0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		while (clock_ns(CLOCK_THREAD_CPUTIME_ID) - spin0 < REQ_SPIN_NS)
			;
		d = span_end(sfd, &sp);
		t->spin_ns += d.wall - d.delay;
		t->other_cpu_ns -= d.cpu;
		late = write_response(fd, sfd);
		t->other_cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - cr0;
		t->wait_ns += now_ns() - t0 - late;
		t->late_ns += late;
		t->waits++;
	}
	close(fd);
	close(sfd);
	end(t);
	return NULL;
}

/* One thread, two connections, a request answered REQ_DELAY_NS after it was read. */
static void *loop(void *arg)
{
	struct thr *t = arg;
	struct { int fd; long long read_at; int served; } c[2];
	char buf[sizeof(req_text)];
	int ep = epoll_create1(0), done = 0, sfd;

	begin(t);
	sfd = open("/proc/thread-self/schedstat", O_RDONLY);
	if (ep < 0)
		die("epoll_create1");
	for (int i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		c[i].fd = accept(listen_fd, NULL, NULL);
		c[i].read_at = 0;
		c[i].served = 0;
		if (c[i].fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev))
			die("accept");
	}
	while (done < 2) {
		long long now = now_ns(), next = -1;
		struct epoll_event evs[2];
		struct span sp, d;
		int n, timeout, open_now;

		for (int i = 0; i < 2; i++) {
			if (c[i].read_at && now - c[i].read_at >= REQ_DELAY_NS) {
				long long late = write_response(c[i].fd, sfd);

				t->wait_ns += now_ns() - c[i].read_at - late;
				t->late_ns += late;
				t->waits++;
				c[i].read_at = 0;
				if (++c[i].served == N_REQ)
					done++;
			}
			if (c[i].read_at && (next < 0 || c[i].read_at + REQ_DELAY_NS < next))
				next = c[i].read_at + REQ_DELAY_NS;
		}
		if (done == 2)
			break;
		timeout = next < 0 ? -1 : (int)((next - now_ns() + MS - 1) / MS);
		/* the wait's blocked time (wall less CPU clock and run-queue delay), once for
		 * each request open meanwhile: what each of them spent waiting in epoll */
		open_now = (c[0].read_at != 0) + (c[1].read_at != 0);
		span_begin(sfd, &sp);
		n = epoll_wait(ep, evs, 2, timeout < 0 ? -1 : timeout);
		d = span_end(sfd, &sp);
		t->poll_ns += blocked_ns(&d) * open_now;
		t->poll_delay_ns += d.delay * open_now;
		for (int k = 0; k < n; k++) {
			int i = evs[k].data.u32;

			if (c[i].read_at || c[i].served == N_REQ)
				continue;   /* one request at a time per connection (the client waits) */
			read_full(c[i].fd, buf, sizeof(req_text) - 1);
			c[i].read_at = now_ns();
		}
	}
	close(c[0].fd);
	close(c[1].fd);
	close(ep);
	close(sfd);
	end(t);
	return NULL;
}

static void *writer(void *arg)
{
	struct thr *t = arg;
	char buf[64];

	begin(t);
	memset(buf, 'w', sizeof(buf));
	for (int i = 0; i < N_PIPE; i++) {
		sleep_ns(PIPE_DELAY_NS);
		if (write(pipefd[1], buf, sizeof(buf)) != sizeof(buf))
			die("pipe write");
	}
	end(t);
	return NULL;
}

static void *reader(void *arg)
{
	struct thr *t = arg;
	char buf[64];

	begin(t);
	for (int i = 0; i < N_PIPE; i++) {
		long long t0 = now_ns();

		if (read(pipefd[0], buf, sizeof(buf)) != sizeof(buf))
			die("pipe read");
		t->wait_ns += now_ns() - t0;
		t->waits++;
	}
	end(t);
	return NULL;
}

static void add(const char *name, void *(*fn)(void *))
{
	thr[nthr].name = name;
	thr[nthr].fn = fn;
	nthr++;
}

static void gate(const char *dir)
{
	char path[4096], buf[16];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/pid", dir);
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f))
		die("pid file");
	snprintf(path, sizeof(path), "%s/go", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("gate");
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

int main(int argc, char **argv)
{
	long long main_start = now_ns(), main_end, pre_run, pre_delay;
	const char *gate_dir = NULL, *mode;
	char comm[16] = "";
	FILE *f;

	/* the main thread's run time and run-queue delay before main (exec, the dynamic loader):
	 * time a tracer sees it live that its own clock, started here, does not */
	schedstat(-1, &pre_run, &pre_delay);
	if (argc > 2 && !strcmp(argv[1], "--gate")) {
		gate_dir = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: budget_workload [--gate DIR] sleep|spin|mutex|pipe|http|loop REPORT.json [CPU]\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "sleep")) {
		add("sleeper", sleeper);
	} else if (!strcmp(mode, "spin")) {
		add("spin-a", spinner);
		add("spin-b", spinner);
		spin_cpu = argc > 3 ? atoi(argv[3]) : 0;
	} else if (!strcmp(mode, "mutex")) {
		add("holder", holder);
		add("waiter", waiter);
	} else if (!strcmp(mode, "http")) {
		listen_loopback();
		add("server", server);
		add("client", client);
	} else if (!strcmp(mode, "loop")) {
		listen_loopback();
		add("loop", loop);
		add("client-a", client);
		add("client-b", client);
	} else if (!strcmp(mode, "pipe")) {
		add("reader", reader);
		add("writer", writer);
		if (pipe(pipefd))
			die("pipe");
	} else {
		fprintf(stderr, "budget_workload: unknown mode %s\n", mode);
		return 2;
	}
	if (gate_dir)
		gate(gate_dir);
	for (int i = 0; i < nthr; i++)
		if ((errno = pthread_create(&thr[i].pt, NULL, thr[i].fn, &thr[i])))
			die("pthread_create");
	for (int i = 0; i < nthr; i++)
		pthread_join(thr[i].pt, NULL);
	prctl(PR_GET_NAME, comm, 0, 0, 0);
	main_end = now_ns();

	f = fopen(argv[2], "w");
	if (!f)
		die("report");
	fprintf(f, "{\"mode\": \"%s\", \"pid\": %d, \"spin_cpu\": %d,\n"
		" \"main\": {\"tid\": %d, \"name\": \"%s\", \"life_ns\": %lld, \"before_main_ns\": %lld},\n \"threads\": [",
		mode, (int)getpid(), spin_cpu, (int)getpid(), comm, main_end - main_start, pre_run + pre_delay);
	for (int i = 0; i < nthr; i++) {
		struct thr *t = &thr[i];

		fprintf(f, "%s\n  {\"name\": \"%s\", \"tid\": %d, \"start_ns\": %lld, \"life_ns\": %lld,"
			" \"wait_ns\": %lld, \"waits\": %d, \"late_ns\": %lld, \"read_delay_ns\": %lld, \"spin_ns\": %lld, \"rsleep_ns\": %lld, \"other_cpu_ns\": %lld, \"poll_ns\": %lld, \"poll_delay_ns\": %lld, \"cpu_ns\": %lld,"
			" \"sched_run_ns\": %lld, \"sched_delay_ns\": %lld}",
			i ? "," : "", t->name, t->tid, t->start, t->end - t->start, t->wait_ns, t->waits,
			t->late_ns, t->read_delay_ns, t->spin_ns, t->rsleep_ns, t->other_cpu_ns, t->poll_ns, t->poll_delay_ns, t->cpu_ns, t->sched_run_ns, t->sched_delay_ns);
	}
	fprintf(f, "]}\n");
	if (fclose(f))
		die("report");
	return 0;
}
