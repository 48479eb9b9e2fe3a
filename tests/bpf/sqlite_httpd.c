/*
 * A small HTTP/1.1 keep-alive server doing real SQLite work per request, for the controlled
 * experiments of tests/bpf/test_explain.sh: two copies run the same program, one of them with
 * one injected difference (an option below), so the cause of the gap is known by construction.
 *
 *   sqlite_httpd serve DB [--port N] [--threads N] [--journal wal|delete]
 *                [--sync off|normal|full] [--busy-timeout MS] [--report FILE]
 *                [--fsync FILE | --reopen | --errors PCT]
 *   sqlite_httpd hold-writer DB [--hold-ms N] [--gap-ms N]
 *   sqlite_httpd spin SECONDS
 *
 * serve:       listens on 127.0.0.1:N (0, the default: an ephemeral port) and prints
 *              "sqlite_httpd: listening on 127.0.0.1:PORT" on stdout once it accepts. THREADS
 *              worker threads (default 2) share one epoll set (the listening socket and every
 *              connection, each connection armed one-shot, so one worker at a time serves it)
 *              and one database file, each worker with its own connection, opened at start and
 *              kept open. Each request (any method and path; the first number in the path is
 *              the key K, 0 if none) runs
 *                  BEGIN IMMEDIATE; INSERT INTO items(k, v) VALUES (K, ...); COMMIT;
 *                  SELECT count(*), max(id) FROM items WHERE k = K
 *              through statements prepared once per connection (step, reset), and is answered
 *              200 with a small JSON body and a Content-Length. A step that returns SQLITE_BUSY
 *              (the busy handler gave up after --busy-timeout MS, default 5000) is reset and
 *              run again (a BEGIN IMMEDIATE or the SELECT from the start, a COMMIT again), so
 *              every request succeeds unless SQLite fails otherwise (then 500, counted apart as
 *              db_errors, and the message on stderr). The journal mode (default wal) and
 *              PRAGMA synchronous (default normal: in WAL mode no fsync per commit) are set on
 *              every connection. The main thread keeps its own connection (the one that made
 *              the schema) open until the end, so a worker's close is never the last one: the
 *              last close of a WAL database checkpoints and deletes the -wal file, which would
 *              add fsyncs of its own to --reopen.
 *              The injected differences, one at a time:
 *                --fsync FILE   after the SQLite work, pwrite 512 bytes to FILE and fsync(2)
 *                               it: one extra fsync per request
 *                --reopen       open the connection (and prepare its statements) at the
 *                               start of each request, finalize and close it at its end
 *                --errors PCT   PCT of every 100 requests (the first PCT of each hundred, by
 *                               arrival) are answered 500 at once, without the SQLite work
 *              On SIGTERM or SIGINT the workers finish the request in hand and stop; with
 *              --report, FILE then gets the server's own counts as JSON: arrivals (requests
 *              read), requests (responses written: a write that fails, the client gone, is
 *              none), ok and errors (200s and 500s written), injected_errors (requests chosen
 *              for --errors) and db_errors (requests SQLite failed), fsyncs (--fsync's), opens
 *              and closes (sqlite3_open_v2 / sqlite3_close calls, the main thread's included),
 *              busy (steps that returned SQLITE_BUSY), threads.
 * hold-writer: a second writer on DB (an existing database with the items table, such as a
 *              serving copy's): loops BEGIN IMMEDIATE; INSERT; sleep HOLD ms (default 8);
 *              COMMIT; sleep GAP ms (default 2), holding SQLite's write lock about HOLD/(HOLD +
 *              GAP) of the time, until SIGTERM or SIGINT; then prints its counts as JSON on
 *              stdout. It prints "sqlite_httpd: holding" once it held the lock the first time.
 * spin:        a CPU hog: burns CPU in a loop for SECONDS, then exits 0.
 *
 * Built by the Makefile against libsqlite3.so (sqlite_* workloads link SQLite), so iogap finds
 * SQLite in the process's maps and attaches its uprobes there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16
#define REQ_MAX 16384

static const char *const sql_begin = "BEGIN IMMEDIATE";
static const char *const sql_insert = "INSERT INTO items(k, v) VALUES (?1, ?2)";
static const char *const sql_commit = "COMMIT";
static const char *const sql_select = "SELECT count(*), max(id) FROM items WHERE k = ?1";

struct opts {
	const char *db, *journal, *sync, *fsync_path, *report;
	int port, threads, busy_ms, reopen, errors_pct;
};

struct conn {
	int fd;
	size_t have;
	char buf[REQ_MAX];
};

struct dbconn {
	sqlite3 *db;
	sqlite3_stmt *begin, *insert, *commit, *select;
};

static struct opts opt = {
	.journal = "wal", .sync = "normal", .threads = 2, .busy_ms = 5000,
};
static int listen_fd, ep, fsync_fd = -1;
static atomic_int stopping;
static atomic_llong n_arrivals, n_requests, n_ok, n_500, n_injected, n_db_errors, n_fsyncs,
	n_opens, n_closes, n_busy;
static char listen_tag; /* its address marks the listening socket in the epoll set */

static void die(const char *what)
{
	fprintf(stderr, "sqlite_httpd: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void die_db(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite_httpd: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: sqlite_httpd serve DB [--port N] [--threads N] [--journal wal|delete]\n"
		"                    [--sync off|normal|full] [--busy-timeout MS] [--report FILE]\n"
		"                    [--fsync FILE | --reopen | --errors PCT]\n"
		"       sqlite_httpd hold-writer DB [--hold-ms N] [--gap-ms N]\n"
		"       sqlite_httpd spin SECONDS\n");
	exit(2);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !atomic_load(&stopping))
		;
}

/* Runs SQL on DB with sqlite3_exec (setup only: pragmas and the schema). */
static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite_httpd: %s: %s\n", sql, err ? err : "?");
		exit(1);
	}
}

static sqlite3 *db_open(const char *path, int busy_ms)
{
	sqlite3 *db = NULL;
	char pragmas[128];

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK)
		die_db(db, path);
	atomic_fetch_add(&n_opens, 1);
	sqlite3_busy_timeout(db, busy_ms);
	snprintf(pragmas, sizeof(pragmas), "PRAGMA synchronous = %s", opt.sync);
	exec_sql(db, pragmas);
	return db;
}

static void db_close(sqlite3 *db)
{
	if (sqlite3_close(db) != SQLITE_OK)
		die_db(db, "close");
	atomic_fetch_add(&n_closes, 1);
}

static void prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
	if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
		die_db(db, sql);
}

static void dbconn_open(struct dbconn *c)
{
	c->db = db_open(opt.db, opt.busy_ms);
	prepare(c->db, sql_begin, &c->begin);
	prepare(c->db, sql_insert, &c->insert);
	prepare(c->db, sql_commit, &c->commit);
	prepare(c->db, sql_select, &c->select);
}

static void dbconn_close(struct dbconn *c)
{
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->insert);
	sqlite3_finalize(c->commit);
	sqlite3_finalize(c->select);
	db_close(c->db);
	memset(c, 0, sizeof(*c));
}

/*
 * Steps S to its end, skipping rows; a step that returns SQLITE_BUSY is counted, S reset and
 * run again. Returns SQLITE_DONE (S reset), the error code (S reset), or with KEEP_ROW the
 * first SQLITE_ROW (S not reset: the caller reads the row's columns, then resets).
 */
static int step_all(sqlite3_stmt *s, int keep_row)
{
	int rc;

	for (;;) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW && keep_row)
			return rc;
		if (rc == SQLITE_ROW)
			continue;
		if (rc != SQLITE_BUSY)
			break;
		atomic_fetch_add(&n_busy, 1);
		sqlite3_reset(s);
	}
	sqlite3_reset(s);
	return rc;
}

/* The request's SQLite work; 0, or -1 (the error on stderr, the transaction rolled back). */
static int do_work(struct dbconn *c, long long key, long long *count, long long *max_id)
{
	char v[64];
	int rc;

	snprintf(v, sizeof(v), "value-%lld-%lld", key, now_ns());
	if ((rc = step_all(c->begin, 0)) != SQLITE_DONE)
		goto fail;
	sqlite3_bind_int64(c->insert, 1, key);
	sqlite3_bind_text(c->insert, 2, v, -1, SQLITE_TRANSIENT);
	if ((rc = step_all(c->insert, 0)) != SQLITE_DONE || (rc = step_all(c->commit, 0)) != SQLITE_DONE)
		goto fail;
	sqlite3_bind_int64(c->select, 1, key);
	if ((rc = step_all(c->select, 1)) != SQLITE_ROW)
		goto fail;
	*count = sqlite3_column_int64(c->select, 0);
	*max_id = sqlite3_column_int64(c->select, 1);
	sqlite3_reset(c->select);
	return 0;
fail:
	fprintf(stderr, "sqlite_httpd: request %lld: %s (%d)\n", key, sqlite3_errmsg(c->db), rc);
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void extra_fsync(long long key)
{
	char block[512];

	memset(block, 'f', sizeof(block));
	snprintf(block, sizeof(block), "request %lld\n", key);
	if (pwrite(fsync_fd, block, sizeof(block), 0) != (ssize_t)sizeof(block))
		die("pwrite --fsync file");
	if (fsync(fsync_fd))
		die("fsync --fsync file");
	atomic_fetch_add(&n_fsyncs, 1);
}

/* Writes all of BUF to the non-blocking socket FD; -1 if the peer is gone. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, 1000);
			continue;
		}
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static const char *find_header(const char *head, size_t len, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = head; p && p + n < head + len; p = memchr(p, '\n', (size_t)(head + len - p))) {
		if (*p == '\n')
			p++;
		if (!strncasecmp(p, name, n) && p[n] == ':')
			return p + n + 1;
	}
	return NULL;
}

/* Length of the complete request at the start of C's buffer, 0 if incomplete, -1 if broken. */
static long request_length(struct conn *c, int *close_after)
{
	const char *end = memmem(c->buf, c->have, "\r\n\r\n", 4), *v;
	size_t head, body = 0;

	if (!end)
		return c->have == sizeof(c->buf) ? -1 : 0;
	head = (size_t)(end - c->buf) + 4;
	if ((v = find_header(c->buf, head, "Content-Length")))
		body = strtoul(v, NULL, 10);
	if (head + body > sizeof(c->buf))
		return -1;
	v = find_header(c->buf, head, "Connection");
	*close_after = (v && !strncasecmp(v + strspn(v, " "), "close", 5)) ||
		       memmem(c->buf, head, " HTTP/1.0\r\n", 11) != NULL;
	return c->have >= head + body ? (long)(head + body) : 0;
}

/* Serves the request at the start of C's buffer; -1 if the connection is to be closed. */
static int serve_request(struct conn *c, struct dbconn *dbc)
{
	char body[128], resp[512];
	const char *p = memchr(c->buf, '/', c->have);
	long long key = 0, count = 0, max_id = 0, n = atomic_fetch_add(&n_arrivals, 1);
	int status = 200, len;

	while (p && *p != ' ' && *p != '\r' && (*p < '0' || *p > '9'))
		p++;
	if (p && *p >= '0' && *p <= '9')
		key = strtoll(p, NULL, 10);
	if (n % 100 < opt.errors_pct) {
		status = 500;
		atomic_fetch_add(&n_injected, 1);
		len = snprintf(body, sizeof(body), "{\"error\": \"injected\"}\n");
	} else {
		struct dbconn once;
		int err;

		if (opt.reopen) {
			dbconn_open(&once);
			dbc = &once;
		}
		err = do_work(dbc, key, &count, &max_id);
		if (opt.reopen)
			dbconn_close(&once);
		if (!err && fsync_fd >= 0)
			extra_fsync(key);
		if (err) {
			status = 500;
			atomic_fetch_add(&n_db_errors, 1);
			len = snprintf(body, sizeof(body), "{\"error\": \"database\"}\n");
		} else {
			len = snprintf(body, sizeof(body), "{\"k\": %lld, \"count\": %lld, \"id\": %lld}\n",
				       key, count, max_id);
		}
	}
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		       status, status == 200 ? "OK" : "Internal Server Error", len, body);
	if (write_all(c->fd, resp, (size_t)len))
		return -1;     /* the client is gone: not a response written */
	atomic_fetch_add(&n_requests, 1);
	atomic_fetch_add(status == 200 ? &n_ok : &n_500, 1);
	return 0;
}

static void conn_arm(struct conn *c, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data.ptr = c };

	if (epoll_ctl(ep, op, c->fd, &ev))
		die("epoll_ctl");
}

static void conn_free(struct conn *c)
{
	close(c->fd);
	free(c);
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct conn *c;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			die("accept4");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!(c = malloc(sizeof(*c))))
			die("malloc");
		c->fd = fd;
		c->have = 0;
		conn_arm(c, EPOLL_CTL_ADD);
	}
}

/* Reads what C has and serves every complete request in it; 0 to keep C, -1 to close it. */
static int conn_readable(struct conn *c, struct dbconn *dbc)
{
	for (;;) {
		int close_after = 0;
		long len;
		ssize_t r;

		while ((len = request_length(c, &close_after)) > 0) {
			if (serve_request(c, dbc) || close_after)
				return -1;
			memmove(c->buf, c->buf + len, c->have - (size_t)len);
			c->have -= (size_t)len;
		}
		if (len < 0)
			return -1;
		r = read(c->fd, c->buf + c->have, sizeof(c->buf) - c->have);
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r <= 0)
			return -1;
		c->have += (size_t)r;
	}
}

static void *worker(void *arg)
{
	struct dbconn dbc = { 0 };
	struct epoll_event evs[16];

	if (!opt.reopen)
		dbconn_open(&dbc);
	while (!atomic_load(&stopping)) {
		int n = epoll_wait(ep, evs, 16, 100);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (evs[i].data.ptr == &listen_tag)
				accept_all();
			else if (conn_readable(c, &dbc))
				conn_free(c);
			else
				conn_arm(c, EPOLL_CTL_MOD);
		}
	}
	if (!opt.reopen)
		dbconn_close(&dbc);
	return arg;
}

static void write_report(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die(path);
	fprintf(f, "{\"pid\": %d, \"threads\": %d, \"arrivals\": %lld, \"requests\": %lld, \"ok\": %lld, "
		"\"errors\": %lld, \"injected_errors\": %lld, \"db_errors\": %lld, \"fsyncs\": %lld, "
		"\"opens\": %lld, \"closes\": %lld, \"busy\": %lld}\n",
		(int)getpid(), opt.threads, atomic_load(&n_arrivals), atomic_load(&n_requests),
		atomic_load(&n_ok), atomic_load(&n_500), atomic_load(&n_injected),
		atomic_load(&n_db_errors), atomic_load(&n_fsyncs),
		atomic_load(&n_opens), atomic_load(&n_closes), atomic_load(&n_busy));
	if (fclose(f))
		die(path);
}

static int int_arg(const char *s, int lo, int hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < lo || v > hi)
		usage();
	return (int)v;
}

static int mode_serve(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &listen_tag };
	pthread_t tids[MAX_THREADS];
	sigset_t sigs;
	sqlite3 *main_db;
	char sql[64];
	int one = 1, sig, injected = 0;

	if (argc < 1)
		usage();
	opt.db = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--reopen")) {
			opt.reopen = 1;
			injected++;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--port"))
			opt.port = int_arg(v, 0, 65535);
		else if (!strcmp(a, "--threads"))
			opt.threads = int_arg(v, 1, MAX_THREADS);
		else if (!strcmp(a, "--journal") && (!strcmp(v, "wal") || !strcmp(v, "delete")))
			opt.journal = v;
		else if (!strcmp(a, "--sync") && (!strcmp(v, "off") || !strcmp(v, "normal") || !strcmp(v, "full")))
			opt.sync = v;
		else if (!strcmp(a, "--busy-timeout"))
			opt.busy_ms = int_arg(v, 0, 600000);
		else if (!strcmp(a, "--report"))
			opt.report = v;
		else if (!strcmp(a, "--fsync"))
			opt.fsync_path = v, injected++;
		else if (!strcmp(a, "--errors"))
			opt.errors_pct = int_arg(v, 0, 100), injected++;
		else
			usage();
	}
	if (injected > 1) {
		fprintf(stderr, "sqlite_httpd: one injected difference at a time (--fsync, --reopen, --errors)\n");
		return 2;
	}
	if (opt.fsync_path && (fsync_fd = open(opt.fsync_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		die(opt.fsync_path);

	main_db = db_open(opt.db, opt.busy_ms);
	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = %s", opt.journal);
	exec_sql(main_db, sql);
	exec_sql(main_db, "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY, k INTEGER, v TEXT);"
			  "CREATE INDEX IF NOT EXISTS items_k ON items(k)");

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("socket");
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)opt.port);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(listen_fd, 128))
		die("bind/listen");
	if (getsockname(listen_fd, (struct sockaddr *)&sa, &salen))
		die("getsockname");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev))
		die("epoll");

	/* the workers inherit the mask: SIGTERM and SIGINT reach the main thread's sigwait only */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < opt.threads; i++)
		if ((errno = pthread_create(&tids[i], NULL, worker, NULL)))
			die("pthread_create");
	printf("sqlite_httpd: listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	if (sigwait(&sigs, &sig))
		die("sigwait");
	atomic_store(&stopping, 1);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(tids[i], NULL);
	db_close(main_db);
	if (opt.report)
		write_report(opt.report);
	return 0;
}

static void on_stop(int sig)
{
	atomic_store(&stopping, 1);
}

static int mode_hold_writer(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	long long txns = 0, held_ns = 0, t0, start;
	int hold_ms = 8, gap_ms = 2, said = 0;
	sqlite3_stmt *begin, *insert, *commit;
	sqlite3 *db;

	if (argc < 1)
		usage();
	opt.db = argv[0];
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--hold-ms"))
			hold_ms = int_arg(argv[i + 1], 1, 10000);
		else if (!strcmp(argv[i], "--gap-ms"))
			gap_ms = int_arg(argv[i + 1], 0, 10000);
		else
			usage();
	}
	if (argc % 2 == 0)
		usage();
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	db = db_open(opt.db, 60000);
	prepare(db, sql_begin, &begin);
	prepare(db, "INSERT INTO items(k, v) VALUES (-1, 'held')", &insert);
	prepare(db, sql_commit, &commit);
	start = now_ns();
	while (!atomic_load(&stopping)) {
		if (step_all(begin, 0) != SQLITE_DONE)
			die_db(db, sql_begin);
		t0 = now_ns();
		if (step_all(insert, 0) != SQLITE_DONE)
			die_db(db, "INSERT");
		if (!said++) {
			printf("sqlite_httpd: holding\n");
			fflush(stdout);
		}
		sleep_ms(hold_ms);
		if (step_all(commit, 0) != SQLITE_DONE)
			die_db(db, sql_commit);
		held_ns += now_ns() - t0;
		txns++;
		if (gap_ms)
			sleep_ms(gap_ms);
	}
	sqlite3_finalize(begin);
	sqlite3_finalize(insert);
	sqlite3_finalize(commit);
	db_close(db);
	printf("{\"transactions\": %lld, \"held_ns\": %lld, \"wall_ns\": %lld, \"busy\": %lld}\n", txns,
	       held_ns, now_ns() - start, atomic_load(&n_busy));
	return 0;
}

static int mode_spin(int argc, char **argv)
{
	volatile unsigned long spins = 0;
	long long end;

	if (argc != 1)
		usage();
	end = now_ns() + (long long)int_arg(argv[0], 1, 3600) * 1000000000LL;
	while (now_ns() < end)
		for (int i = 0; i < 100000; i++)
			spins++;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "serve"))
		return mode_serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "hold-writer"))
		return mode_hold_writer(argc - 2, argv + 2);
	if (!strcmp(argv[1], "spin"))
		return mode_spin(argc - 2, argv + 2);
	usage();
}
