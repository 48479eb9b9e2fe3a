/*
 * A generator of iogap's rich events at a controlled rate, one kind per run:
 *   event_rate -c DIR NFILES               create DIR/f0 .. DIR/f<NFILES-1> (run it untraced)
 *   event_rate open DIR NFILES RATE SECS   open (and close) them in turn: each open of a regular
 *                                          file is one ring-buffer event, with its path
 *   event_rate http RATE SECS              HTTP/1.1 requests on one keep-alive loopback connection
 *                                          to a forked server child: each request is four events
 *                                          (the request line written and read, the status line
 *                                          written and read) and one timed request per side
 *   event_rate conn RATE SECS              the same with a new TCP connection per request
 *                                          (connect, one request, close): connections per second
 *   event_rate sql NTEXTS RATE SECS        executions of a one-row SELECT whose literal goes
 *                                          through NTEXTS values in turn (prepare, step, finalize;
 *                                          SQLite in memory): the first NTEXTS are new texts, an
 *                                          event each, all of one template
 * The pace is kept per millisecond (what is due by now, then a sleep to the next tick). It
 * prints "DONE SECONDS ACHIEVED_RATE" (DONE: opens, complete requests, connections or
 * executions), so that a rate the generator could not reach shows.
 */
#define _GNU_SOURCE     /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char REQUEST[] = "GET /rate HTTP/1.1\r\nHost: event_rate\r\n\r\n";
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int fail(const char *what)
{
	fprintf(stderr, "event_rate: %s: %s\n", what, strerror(errno));
	return -1;
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

/* What one run does per event, and its state. */
struct gen {
	int (*one)(struct gen *g, long i);   /* 0, or -1 with a message printed */
	const char *dir;
	long nkeys;                          /* open: files, sql: texts; event i takes i % nkeys */
	struct sockaddr_in server;
	int conn;                            /* http: the keep-alive connection */
	sqlite3 *db;
};

static int open_one(struct gen *g, long i)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/f%ld", g->dir, i % g->nkeys);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "event_rate: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	return close(fd);
}

/* Reads until n bytes came (the peer writes each message whole, but TCP may split it): 0; 1 when
 * the peer closed before the message's first byte; -1 with a message printed. */
static int read_full(int fd, char *buf, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r == 0 && got == 0)
			return 1;
		if (r <= 0)
			return r < 0 ? fail("read") : (errno = EPIPE, fail("read: the peer closed mid-message"));
		got += (size_t)r;
	}
	return 0;
}

static int request(int fd)
{
	char buf[sizeof(RESPONSE)];

	if (write(fd, REQUEST, sizeof(REQUEST) - 1) != (ssize_t)sizeof(REQUEST) - 1)
		return fail("write");
	switch (read_full(fd, buf, sizeof(RESPONSE) - 1)) {
	case 0:
		return 0;
	case 1:
		errno = EPIPE;
		return fail("read: the server closed the connection");
	default:
		return -1;
	}
}

static int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return fail("socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa))) {
		fail("connect");
		close(fd);
		return -1;
	}
	return fd;
}

static int http_one(struct gen *g, long i)
{
	(void)i;
	return request(g->conn);
}

static int conn_one(struct gen *g, long i)
{
	int fd = dial(&g->server), rc;

	(void)i;
	if (fd < 0)
		return -1;
	rc = request(fd);
	close(fd);
	return rc;
}

static int sql_one(struct gen *g, long i)
{
	char sql[64];
	sqlite3_stmt *st;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT %ld AS event_rate", i % g->nkeys);
	if (sqlite3_prepare_v2(g->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "event_rate: prepare: %s\n", sqlite3_errmsg(g->db));
		return -1;
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		fprintf(stderr, "event_rate: step: %s\n", sqlite3_errmsg(g->db));
		return -1;
	}
	return 0;
}

/* The server child: answers every request of every connection, one connection at a time (the
 * client makes one at a time), until its parent kills it. */
static void serve(int lfd)
{
	char buf[sizeof(REQUEST)];

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			fail("accept");
			_exit(1);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (read_full(fd, buf, sizeof(REQUEST) - 1) == 0)
			if (write(fd, RESPONSE, sizeof(RESPONSE) - 1) != (ssize_t)sizeof(RESPONSE) - 1)
				break;
		close(fd);
	}
}

/* A listening socket on 127.0.0.1 and a child serving it; its address in *sa. */
static pid_t server_start(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid, parent = getpid();

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)sa, sizeof(*sa)) || listen(lfd, 1024) ||
	    getsockname(lfd, (struct sockaddr *)sa, &len))
		return fail("listen on 127.0.0.1");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		/* ends with its parent, also one killed before it could end it (a bench's Ctrl-C) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		serve(lfd);     /* never returns */
	}
	close(lfd);
	return pid;
}

/* Calls g->one for each event due, RATE per second, for SECS; the number done in *done. */
static int paced(struct gen *g, double rate, double secs, long *done)
{
	double start = now_s(), t;

	*done = 0;
	for (;;) {
		long due;

		t = now_s() - start;
		if (t >= secs)
			break;
		due = (long)(rate * t) + 1;
		while (*done < due) {
			if (g->one(g, *done))
				return -1;
			++*done;
			if (!(*done & 63) && now_s() - start >= secs)
				break;     /* behind the rate asked: the time is up all the same */
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
	printf("%ld %.3f %.0f\n", *done, t, *done / t);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: event_rate -c DIR NFILES | event_rate open DIR NFILES RATE SECONDS |"
		" event_rate sql NTEXTS RATE SECONDS | event_rate http|conn RATE SECONDS\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct gen g = { .conn = -1 };
	pid_t server = 0;
	double rate, secs;
	long done;
	int rc, a;

	if (argc == 4 && !strcmp(argv[1], "-c"))
		return create_files(argv[2], atol(argv[3]));
	if (argc == 6 && !strcmp(argv[1], "open")) {
		g.one = open_one;
		g.dir = argv[2];
		g.nkeys = atol(argv[3]);
		a = 4;
	} else if (argc == 5 && !strcmp(argv[1], "sql")) {
		g.one = sql_one;
		g.nkeys = atol(argv[2]);
		a = 3;
	} else if (argc == 4 && (!strcmp(argv[1], "http") || !strcmp(argv[1], "conn"))) {
		g.one = argv[1][0] == 'h' ? http_one : conn_one;
		a = 2;
	} else {
		return usage();
	}
	if ((g.one == open_one || g.one == sql_one) && g.nkeys <= 0) {
		fprintf(stderr, "event_rate: %s must be positive\n", g.one == open_one ? "NFILES" : "NTEXTS");
		return 2;
	}
	rate = atof(argv[a]);
	secs = atof(argv[a + 1]);
	if (rate <= 0 || secs <= 0) {
		fprintf(stderr, "event_rate: RATE and SECONDS must be positive\n");
		return 2;
	}
	if (g.one == http_one || g.one == conn_one) {
		server = server_start(&g.server);
		if (server < 0)
			return 1;
		if (g.one == http_one && (g.conn = dial(&g.server)) < 0) {
			kill(server, SIGKILL);
			waitpid(server, NULL, 0);
			return 1;
		}
	}
	if (g.one == sql_one && sqlite3_open(":memory:", &g.db) != SQLITE_OK) {
		fprintf(stderr, "event_rate: cannot open an in-memory database\n");
		return 1;
	}
	rc = paced(&g, rate, secs, &done) ? 1 : 0;
	if (g.conn >= 0)
		close(g.conn);
	if (server > 0) {
		kill(server, SIGKILL);     /* our own child, blocked in accept */
		waitpid(server, NULL, 0);
	}
	if (g.db)
		sqlite3_close(g.db);
	return rc;
}
