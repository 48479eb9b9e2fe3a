/*
 * TCP and HTTP/1.1 on loopback with a known ground truth, for tests/bpf/test_net.sh. One
 * process is both ends: a server (an acceptor thread, one thread per connection) and its
 * clients, on 127.0.0.1 and an ephemeral port only.
 *
 *   net_workload [--stop] mix REPORT.json
 *   net_workload [--stop] acceptq REPORT.json DELAY_MS
 *   net_workload [--stop] resets REPORT.json
 *
 * mix:     N_CONN connections from 4 client threads: N_KEEPALIVE keep-alive ones carrying
 *          KEEPALIVE_REQS requests each, the others one request with "Connection: close".
 *          Requests cycle through req_plan[] (200, 404, 500 over routes with numeric, UUID and
 *          long hex ids, and a query string). One request is written in two writes 50 ms
 *          apart (request line and Host first), so that the server reads it in two reads; the
 *          500 responses are written in two writes (head, then body). Even connections' client
 *          uses write()/read(), odd ones send()/recv() (sendto/recvfrom syscalls); the server
 *          uses read()/write() on the connections it accepts first, third, ... and
 *          recv()/send() on the others; accept() and accept4() alternate. Every response has
 *          a Content-Length and a body; every byte one end writes, the other end reads.
 * acceptq: ACCEPTQ_CONN clients connect one after the other; then the server, for each,
 *          sleeps DELAY_MS and accept()s. A connection's accept-queue wait is the time from
 *          its connect() returning to the accept() that returned it (matched by port).
 * resets:  N_LINGER connections exchange "ping"/"pong" (write/read), then the client closes
 *          with SO_LINGER {1, 0} (one RST) and the server's next read() fails ECONNRESET;
 *          then N_REFUSED connects to a port nobody listens on fail ECONNREFUSED.
 * --stop:  SIGSTOP itself before any socket exists (a tracer attaches, then sends SIGCONT).
 *
 * REPORT.json is written at the end, after every socket is closed and /proc/net/tcp shows
 * none of this run's connections in a state other than TIME_WAIT (their sockets have all
 * reached CLOSE). The truth is counted by the program itself, per call; before each close it
 * checks its byte counts against the kernel's (TCP_INFO bytes_received, bytes_sent) and exits
 * 1 if they differ, or if the server's and the clients' views of the HTTP exchanges differ.
 * Fields:
 *   accepted, connected   accept()/accept4() calls that returned a socket; connect() calls
 *                         that succeeded
 *   http                  per side (server: responses written, client: responses read),
 *                         method and route (normalized as iogap does: numeric, UUID and
 *                         >= 16-hex-digit segments -> {id}, query dropped): count, status
 *                         classes, exact codes
 *   requests              responses the server wrote (one per request)
 *   bytes_in, bytes_out   bytes every socket of the process read / wrote, both ends summed
 *                         (equal: each byte is written by one end and read by the other);
 *                         tcp_info: the kernel's sums of the same, read before each close
 *                         (bytes_received less the received FIN, which the kernel counts as
 *                         one byte; fins_received says how many)
 *   ops                   the socket syscalls by iogap's op name ("send" is sendto, "recv"
 *                         recvfrom, "accept" both accept and accept4): calls, errors, bytes
 *   closed                ends (sockets) of established connections that reached CLOSE:
 *                         2 per connection, both ends being in this process; a refused
 *                         connect's socket is not one
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N_CONN 12
#define N_KEEPALIVE 4
#define KEEPALIVE_REQS 6
#define N_CLIENT_THREADS 4
#define SPLIT_CONN 0          /* this connection's SPLIT_REQ-th request is written in two parts */
#define SPLIT_REQ 2
#define SPLIT_GAP_MS 50
#define ACCEPTQ_CONN 5
#define N_LINGER 4
#define N_REFUSED 3

static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "net_workload: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno: %s)\n", strerror(e));
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#define ADD(x, n) __atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)

/* ---- socket syscalls, each call counted under iogap's op name ---- */

enum { OP_READ, OP_WRITE, OP_SEND, OP_RECV, OP_ACCEPT, OP_CONNECT, OP_CLOSE, N_OPS };
static const char *const op_name[N_OPS] = { "read", "write", "send", "recv", "accept", "connect", "close" };
static struct { long long count, errors, bytes; } ops[N_OPS];
static long long accept4_calls, accepted, connected, closed;
/* the kernel's counters (TCP_INFO) of every socket, read before its close */
static long long ti_received, ti_sent, ti_retrans, ti_fins;

static void op_done(int op, long ret)
{
	ADD(ops[op].count, 1);
	if (ret < 0)
		ADD(ops[op].errors, 1);
	else if (op <= OP_RECV)
		ADD(ops[op].bytes, ret);
}

/* a connection's end: its fd, which call family it uses, what it read and wrote */
struct end {
	int fd, use_send;
	long long rd, wr;
};

static ssize_t end_read(struct end *e, void *buf, size_t n)
{
	ssize_t r = e->use_send ? recv(e->fd, buf, n, 0) : read(e->fd, buf, n);

	op_done(e->use_send ? OP_RECV : OP_READ, r < 0 ? -1 : r);
	if (r > 0)
		e->rd += r;
	return r;
}

static void end_write(struct end *e, const char *buf, size_t n)
{
	while (n) {
		ssize_t r = e->use_send ? send(e->fd, buf, n, MSG_NOSIGNAL) : write(e->fd, buf, n);

		op_done(e->use_send ? OP_SEND : OP_WRITE, r < 0 ? -1 : r);
		if (r <= 0)
			die("write to a socket");
		e->wr += r;
		buf += r;
		n -= r;
	}
}

/* Before closing: the kernel must have received and sent exactly what this end counted. */
static void end_close(struct end *e)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	int fin;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(e->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || len < sizeof(ti))
		die("TCP_INFO");
	/* the kernel's bytes_received counts a FIN received in order as one byte */
	fin = ti.tcpi_state == 8 /* TCP_CLOSE_WAIT */;
	if ((long long)ti.tcpi_bytes_received != e->rd + fin ||
	    (!ti.tcpi_total_retrans && (long long)ti.tcpi_bytes_sent != e->wr)) {
		errno = 0;
		die("fd %d: read %lld wrote %lld bytes, but TCP_INFO says received %llu sent %llu",
		    e->fd, e->rd, e->wr, (unsigned long long)ti.tcpi_bytes_received,
		    (unsigned long long)ti.tcpi_bytes_sent);
	}
	ADD(ti_received, ti.tcpi_bytes_received - fin);
	ADD(ti_fins, fin);
	ADD(ti_sent, ti.tcpi_bytes_sent);
	ADD(ti_retrans, ti.tcpi_total_retrans);
	op_done(OP_CLOSE, close(e->fd));
	ADD(closed, 1);
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	return fd;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int port_of(int fd, int peer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &len))
		die("getsockname");
	return ntohs(a.sin_port);
}

/* A socket bound to 127.0.0.1 and an ephemeral port; LISTENING: and listening. */
static int bound_socket(int listening, int *port)
{
	struct sockaddr_in a = loopback(0);
	int fd = tcp_socket();

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || (listening && listen(fd, 64)))
		die("bind/listen");
	*port = port_of(fd, 0);
	return fd;
}

/* connect() to 127.0.0.1:PORT: 0, or -errno. */
static int do_connect(int fd, int port)
{
	struct sockaddr_in a = loopback(port);
	int r = connect(fd, (struct sockaddr *)&a, sizeof(a));

	op_done(OP_CONNECT, r);
	if (r)
		return -errno;
	ADD(connected, 1);
	return 0;
}

static int do_accept(int lfd, int use_accept4)
{
	int fd;

	if (use_accept4)
		ADD(accept4_calls, 1);
	fd = use_accept4 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : accept(lfd, NULL, NULL);
	op_done(OP_ACCEPT, fd);
	if (fd < 0)
		die("accept");
	ADD(accepted, 1);
	return fd;
}

static void close_listener(int lfd)
{
	op_done(OP_CLOSE, close(lfd));
}

/*
 * Waits (at most 2 s) until /proc/net/tcp lists no socket on PORT (either end) in a state
 * other than TIME_WAIT: every connection of the run has then reached CLOSE on both ends.
 */
static void wait_all_closed(int port)
{
	char line[512];
	int i, busy = 0;

	for (i = 0; i < 200; i++) {
		FILE *f = fopen("/proc/net/tcp", "r");
		unsigned lp, rp, st;

		if (!f)
			die("/proc/net/tcp");
		busy = 0;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, " %*u: %*x:%x %*x:%x %x", &lp, &rp, &st) == 3 &&
			    ((int)lp == port || (int)rp == port) && st != 0x06 /* TIME_WAIT */)
				busy++;
		fclose(f);
		if (!busy)
			return;
		sleep_ms(10);
	}
	errno = 0;
	die("%d sockets on port %d still not closed after 2 s", busy, port);
}

/* ---- HTTP ---- */

/* what iogap makes of a path: query dropped; numeric, UUID, >= 16 hex digit segments -> {id} */
static int all_of(const char *s, size_t n, int (*is)(int))
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is((unsigned char)s[i]))
			return 0;
	return n > 0;
}

static int is_uuid(const char *s, size_t n)
{
	static const int dash[] = { 8, 13, 18, 23 };
	size_t i, d = 0;

	if (n != 36)
		return 0;
	for (i = 0; i < n; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (s[i] != '-')
				return 0;
			d++;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

static void normalize(const char *path, char *out, size_t size)
{
	size_t len = strcspn(path, "?"), n = 0;
	const char *p = path, *end = path + len;

	while (p < end && n + 8 < size) {
		size_t seg;

		if (*p == '/') {
			out[n++] = *p++;
			continue;
		}
		seg = strcspn(p, "/?");
		if (p + seg > end)
			seg = end - p;
		if (all_of(p, seg, isdigit) || is_uuid(p, seg) || (seg >= 16 && all_of(p, seg, isxdigit)))
			n += snprintf(out + n, size - n, "{id}");
		else
			n += snprintf(out + n, size - n, "%.*s", (int)seg, p);
		p += seg;
	}
	out[n] = 0;
}

struct req_plan {
	const char *method, *path, *route, *body;
	int status;
};
static const struct req_plan req_plan[] = {
	{ "GET", "/items/123", "/items/{id}", NULL, 200 },
	{ "GET", "/items/abc-not-found", "/items/abc-not-found", NULL, 404 },
	{ "POST", "/orders/42/pay", "/orders/{id}/pay", "{\"amount\": 5}", 500 },
	{ "GET", "/health?x=1", "/health", NULL, 200 },
	{ "GET", "/items/550e8400-e29b-41d4-a716-446655440000", "/items/{id}", NULL, 200 },
	{ "GET", "/items/deadbeefcafe00112233", "/items/{id}", NULL, 200 },
	{ "GET", "/items/7?full=1", "/items/{id}", NULL, 200 },
};
#define N_PLAN (int)(sizeof(req_plan) / sizeof(req_plan[0]))

/* Per side x method x route: count and exact codes. */
#define MAX_ROUTES 32
static struct route_truth {
	char side[8], method[8], route[64];
	long long count, codes[6][100];   /* codes[c / 100][c % 100] */
} routes[MAX_ROUTES];
static int n_routes;
static pthread_mutex_t routes_lock = PTHREAD_MUTEX_INITIALIZER;
static long long responses_sent, split_requests;

static void route_count(const char *side, const char *method, const char *route, int code)
{
	int i;

	if (code < 100 || code > 599)
		die("status %d", code);
	pthread_mutex_lock(&routes_lock);
	for (i = 0; i < n_routes; i++)
		if (!strcmp(routes[i].side, side) && !strcmp(routes[i].method, method) &&
		    !strcmp(routes[i].route, route))
			break;
	if (i == n_routes) {
		if (n_routes == MAX_ROUTES)
			die("too many routes");
		snprintf(routes[i].side, sizeof(routes[i].side), "%s", side);
		snprintf(routes[i].method, sizeof(routes[i].method), "%s", method);
		snprintf(routes[i].route, sizeof(routes[i].route), "%s", route);
		n_routes++;
	}
	routes[i].count++;
	routes[i].codes[code / 100][code % 100]++;
	pthread_mutex_unlock(&routes_lock);
}

/* A message head (up to the blank line) in BUF; more reads as needed. Returns its length. */
struct msgbuf {
	char b[8192];
	size_t len;
};

static size_t read_head(struct end *e, struct msgbuf *m, int *reads)
{
	char *p;
	ssize_t r;

	*reads = 0;
	while (!(p = memmem(m->b, m->len, "\r\n\r\n", 4))) {
		if (m->len >= sizeof(m->b) - 1)
			die("message head too long");
		r = end_read(e, m->b + m->len, sizeof(m->b) - 1 - m->len);
		if (r < 0)
			die("read a message head");
		if (r == 0)
			return 0;
		m->len += r;
		(*reads)++;
	}
	m->b[m->len] = 0;
	return p + 4 - m->b;
}

static long header_num(const char *head, size_t head_len, const char *name)
{
	size_t nl = strlen(name);
	const char *p;

	for (p = head; p && p < head + head_len; p = memchr(p, '\n', head + head_len - p), p = p ? p + 1 : p)
		if (!strncasecmp(p, name, nl) && p[nl] == ':')
			return strtol(p + nl + 1, NULL, 10);
	return 0;
}

static int header_has(const char *head, size_t head_len, const char *line)
{
	char *h = strndup(head, head_len);
	int r = strcasestr(h, line) != NULL;

	free(h);
	return r;
}

/* Reads the body of BODY bytes following a head of HEAD bytes, then drops the message. */
static void read_body(struct end *e, struct msgbuf *m, size_t head, long body)
{
	ssize_t r;

	while (m->len < head + body) {
		r = end_read(e, m->b + m->len, head + body - m->len);
		if (r <= 0)
			die("read a message body");
		m->len += r;
	}
	m->len -= head + body;
	memmove(m->b, m->b + head + body, m->len);
}

/* ---- mix ---- */

static int listen_fd, server_port;
static pthread_t conn_threads[N_CONN];

struct conn_arg {
	int fd, index;
};

static void *server_conn(void *p)
{
	struct conn_arg *a = p;
	struct end e = { .fd = a->fd, .use_send = a->index % 2 };
	struct msgbuf *m = calloc(1, sizeof(*m));
	char method[16], path[512], route[512], head[512];
	const char *reason, *body;
	char bodybuf[128];
	size_t hl;
	int reads, code, do_close, n;

	for (;;) {
		hl = read_head(&e, m, &reads);
		if (!hl)
			break;   /* EOF: the client closed its keep-alive connection */
		if (reads > 1)
			ADD(split_requests, 1);
		if (sscanf(m->b, "%15s %511s HTTP/1.1", method, path) != 2)
			die("bad request line");
		do_close = header_has(m->b, hl, "\r\nConnection: close\r\n");
		read_body(&e, m, hl, header_num(m->b, hl, "Content-Length"));
		normalize(path, route, sizeof(route));
		if (!strcmp(method, "GET") && !strcmp(route, "/health")) {
			code = 200, reason = "OK";
			body = "ok\n";
		} else if (!strcmp(method, "GET") && !strcmp(route, "/items/{id}")) {
			code = 200, reason = "OK";
			snprintf(bodybuf, sizeof(bodybuf), "{\"item\": \"%.40s\"}\n", path + 7);
			body = bodybuf;
		} else if (!strcmp(method, "GET") && !strncmp(route, "/items/", 7)) {
			code = 404, reason = "Not Found";
			body = "no such item\n";
		} else if (!strcmp(method, "POST") && !strcmp(route, "/orders/{id}/pay")) {
			code = 500, reason = "Internal Server Error";
			body = "payment backend down\n";
		} else {
			code = 400, reason = "Bad Request";
			body = "?\n";
		}
		n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
			     "Content-Length: %zu\r\n%s\r\n", code, reason, strlen(body),
			     do_close ? "Connection: close\r\n" : "");
		if (code == 500) {
			/* head and body in two writes: only the first carries a status line */
			end_write(&e, head, n);
			end_write(&e, body, strlen(body));
		} else {
			snprintf(head + n, sizeof(head) - n, "%s", body);
			end_write(&e, head, strlen(head));
		}
		ADD(responses_sent, 1);
		route_count("server", method, route, code);
		if (do_close)
			break;
	}
	free(m);
	end_close(&e);
	free(a);
	return NULL;
}

static void *acceptor(void *unused)
{
	int i;

	for (i = 0; i < N_CONN; i++) {
		struct conn_arg *a = malloc(sizeof(*a));

		a->index = i;
		a->fd = do_accept(listen_fd, i % 2);
		if (pthread_create(&conn_threads[i], NULL, server_conn, a))
			die("pthread_create");
	}
	for (i = 0; i < N_CONN; i++)
		pthread_join(conn_threads[i], NULL);
	return NULL;
}

static void client_conn(int c)
{
	int keepalive = c < N_KEEPALIVE, nreq = keepalive ? KEEPALIVE_REQS : 1, r, reads, code;
	struct end e = { .fd = tcp_socket(), .use_send = c % 2 };
	struct msgbuf *m = calloc(1, sizeof(*m));
	char req[1024], chk[512];
	size_t hl;

	if (do_connect(e.fd, server_port))
		die("connect");
	for (r = 0; r < nreq; r++) {
		const struct req_plan *q = &req_plan[(c * 3 + r) % N_PLAN];
		int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				 "User-Agent: net_workload\r\nAccept: */*\r\n", q->method, q->path, server_port);

		normalize(q->path, chk, sizeof(chk));
		if (strcmp(chk, q->route)) {
			errno = 0;
			die("%s normalizes to %s, the plan says %s", q->path, chk, q->route);
		}
		if (q->body)
			n += snprintf(req + n, sizeof(req) - n, "Content-Type: application/json\r\n"
				      "Content-Length: %zu\r\n", strlen(q->body));
		n += snprintf(req + n, sizeof(req) - n, "%s\r\n%s", keepalive ? "" : "Connection: close\r\n",
			      q->body ? q->body : "");
		if (c == SPLIT_CONN && r == SPLIT_REQ) {
			/* the request line and Host now, the rest later: the server reads it in two */
			size_t first = strstr(req, "User-Agent") - req;

			end_write(&e, req, first);
			sleep_ms(SPLIT_GAP_MS);
			end_write(&e, req + first, n - first);
		} else {
			end_write(&e, req, n);
		}
		hl = read_head(&e, m, &reads);
		if (!hl || sscanf(m->b, "HTTP/1.1 %d ", &code) != 1)
			die("no response");
		if (code != q->status) {
			errno = 0;
			die("%s %s: status %d, want %d", q->method, q->path, code, q->status);
		}
		read_body(&e, m, hl, header_num(m->b, hl, "Content-Length"));
		route_count("client", q->method, q->route, code);
	}
	if (!keepalive) {
		/* the server closes a one-shot connection after its response: read that EOF */
		char x;

		if (m->len || end_read(&e, &x, 1) != 0)
			die("data after the response");
	}
	free(m);
	end_close(&e);
}

static void *client_thread(void *p)
{
	int t = (int)(long)p, c;

	for (c = t; c < N_CONN; c += N_CLIENT_THREADS)
		client_conn(c);
	return NULL;
}

static void mode_mix(void)
{
	pthread_t acc, cl[N_CLIENT_THREADS];
	long t;

	listen_fd = bound_socket(1, &server_port);
	if (pthread_create(&acc, NULL, acceptor, NULL))
		die("pthread_create");
	for (t = 0; t < N_CLIENT_THREADS; t++)
		if (pthread_create(&cl[t], NULL, client_thread, (void *)t))
			die("pthread_create");
	for (t = 0; t < N_CLIENT_THREADS; t++)
		pthread_join(cl[t], NULL);
	pthread_join(acc, NULL);
	close_listener(listen_fd);
	wait_all_closed(server_port);
	if (split_requests != 1) {
		errno = 0;
		die("%lld requests arrived in more than one read, want 1", split_requests);
	}
}

/* ---- acceptq ---- */

static long long aq_wait[ACCEPTQ_CONN], aq_connect_ns[ACCEPTQ_CONN];

static void mode_acceptq(int delay_ms)
{
	int cfd[ACCEPTQ_CONN], cport[ACCEPTQ_CONN], i, j, fd, peer;
	long long t_conn[ACCEPTQ_CONN], t0, t;

	listen_fd = bound_socket(1, &server_port);
	for (i = 0; i < ACCEPTQ_CONN; i++) {
		cfd[i] = tcp_socket();
		t0 = now_ns();
		if (do_connect(cfd[i], server_port))
			die("connect");
		t_conn[i] = now_ns();
		aq_connect_ns[i] = t_conn[i] - t0;
		cport[i] = port_of(cfd[i], 0);
	}
	for (i = 0; i < ACCEPTQ_CONN; i++) {
		sleep_ms(delay_ms);
		fd = do_accept(listen_fd, 0);
		t = now_ns();
		peer = port_of(fd, 1);
		for (j = 0; j < ACCEPTQ_CONN && cport[j] != peer; j++)
			;
		if (j == ACCEPTQ_CONN)
			die("accepted a connection from port %d, not ours", peer);
		aq_wait[j] = t - t_conn[j];
		end_close(&(struct end){ .fd = fd });
	}
	for (i = 0; i < ACCEPTQ_CONN; i++)
		end_close(&(struct end){ .fd = cfd[i] });
	close_listener(listen_fd);
	wait_all_closed(server_port);
}

/* ---- resets ---- */

static long long server_econnreset, client_econnrefused;

static void mode_resets(void)
{
	struct linger lg = { 1, 0 };
	char buf[16];
	int i, probe, closed_port;

	listen_fd = bound_socket(1, &server_port);
	for (i = 0; i < N_LINGER; i++) {
		struct end c = { .fd = tcp_socket() }, s;

		if (do_connect(c.fd, server_port))
			die("connect");
		s = (struct end){ .fd = do_accept(listen_fd, 0) };
		end_write(&c, "ping\n", 5);
		if (end_read(&s, buf, sizeof(buf)) != 5)
			die("ping");
		end_write(&s, "pong\n", 5);
		if (end_read(&c, buf, sizeof(buf)) != 5)
			die("pong");
		if (setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			die("SO_LINGER");
		end_close(&c);   /* ESTABLISHED -> CLOSE, one RST */
		if (end_read(&s, buf, sizeof(buf)) != -1 || errno != ECONNRESET)
			die("the server's read after the client's RST did not fail ECONNRESET");
		server_econnreset++;
		end_close(&s);
	}
	/*
	 * A port nobody listens on: bound by a socket that never listens. Held bound while we
	 * connect there, so that no connect (ours or another program's) can take it as its own
	 * source port meanwhile (a socket connecting to its own port would connect to itself).
	 */
	probe = bound_socket(0, &closed_port);
	for (i = 0; i < N_REFUSED; i++) {
		int fd = tcp_socket();

		if (do_connect(fd, closed_port) != -ECONNREFUSED)
			die("connect to port %d did not fail ECONNREFUSED", closed_port);
		client_econnrefused++;
		op_done(OP_CLOSE, close(fd));
	}
	op_done(OP_CLOSE, close(probe));
	close_listener(listen_fd);
	wait_all_closed(server_port);
	wait_all_closed(closed_port);
}

/* ---- report ---- */

static void report(const char *path, const char *mode, int delay_ms)
{
	FILE *f = fopen(path, "w");
	long long bytes_in = 0, bytes_out = 0, sum, max, min;
	int i, j, k, first;

	if (!f)
		die("cannot write %s", path);
	for (i = 0; i < N_OPS; i++) {
		if (i == OP_READ || i == OP_RECV)
			bytes_in += ops[i].bytes;
		if (i == OP_WRITE || i == OP_SEND)
			bytes_out += ops[i].bytes;
	}
	if (bytes_in != bytes_out || bytes_in != ti_received || (!ti_retrans && bytes_out != ti_sent)) {
		errno = 0;
		die("bytes read %lld, written %lld; TCP_INFO received %lld, sent %lld", bytes_in,
		    bytes_out, ti_received, ti_sent);
	}
	fprintf(f, "{\"mode\": \"%s\", \"pid\": %d, \"port\": %d,\n", mode, (int)getpid(), server_port);
	fprintf(f, " \"accepted\": %lld, \"connected\": %lld, \"closed\": %lld, \"accept4_calls\": %lld,\n",
		accepted, connected, closed, accept4_calls);
	fprintf(f, " \"bytes_in\": %lld, \"bytes_out\": %lld,\n", bytes_in, bytes_out);
	fprintf(f, " \"tcp_info\": {\"bytes_received\": %lld, \"bytes_sent\": %lld, \"total_retrans\": %lld,"
		" \"fins_received\": %lld},\n", ti_received, ti_sent, ti_retrans, ti_fins);
	fprintf(f, " \"ops\": {");
	for (i = 0; i < N_OPS; i++)
		fprintf(f, "%s\"%s\": {\"count\": %lld, \"errors\": %lld, \"bytes\": %lld}", i ? ", " : "",
			op_name[i], ops[i].count, ops[i].errors, ops[i].bytes);
	fprintf(f, "}");
	if (!strcmp(mode, "mix")) {
		fprintf(f, ",\n \"connections\": %d, \"keepalive_connections\": %d, \"requests_per_keepalive\": %d,"
			" \"oneshot_connections\": %d, \"requests\": %lld, \"split_requests\": %lld,\n \"http\": [",
			N_CONN, N_KEEPALIVE, KEEPALIVE_REQS, N_CONN - N_KEEPALIVE, responses_sent, split_requests);
		for (i = 0; i < n_routes; i++) {
			struct route_truth *r = &routes[i];

			fprintf(f, "%s\n  {\"side\": \"%s\", \"method\": \"%s\", \"route\": \"%s\", \"count\": %lld, "
				"\"status\": {", i ? "," : "", r->side, r->method, r->route, r->count);
			for (j = 2; j <= 5; j++) {
				for (sum = 0, k = 0; k < 100; k++)
					sum += r->codes[j][k];
				fprintf(f, "%s\"%dxx\": %lld", j > 2 ? ", " : "", j, sum);
			}
			fprintf(f, "}, \"codes\": {");
			for (first = 1, j = 1; j <= 5; j++)
				for (k = 0; k < 100; k++)
					if (r->codes[j][k]) {
						fprintf(f, "%s\"%d\": %lld", first ? "" : ", ", j * 100 + k, r->codes[j][k]);
						first = 0;
					}
			fprintf(f, "}}");
		}
		fprintf(f, "\n ]");
	} else if (!strcmp(mode, "acceptq")) {
		fprintf(f, ",\n \"delay_ms\": %d, \"connections\": %d,\n \"accept_queue_ns\": [", delay_ms, ACCEPTQ_CONN);
		for (sum = 0, max = 0, min = -1, i = 0; i < ACCEPTQ_CONN; i++) {
			fprintf(f, "%s%lld", i ? ", " : "", aq_wait[i]);
			sum += aq_wait[i];
			max = aq_wait[i] > max ? aq_wait[i] : max;
			min = min < 0 || aq_wait[i] < min ? aq_wait[i] : min;
		}
		fprintf(f, "],\n \"accept_queue\": {\"mean\": %lld, \"min\": %lld, \"max\": %lld},\n",
			sum / ACCEPTQ_CONN, min, max);
		fprintf(f, " \"connect_syscall_ns\": [");
		for (sum = 0, max = 0, i = 0; i < ACCEPTQ_CONN; i++) {
			fprintf(f, "%s%lld", i ? ", " : "", aq_connect_ns[i]);
			sum += aq_connect_ns[i];
			max = aq_connect_ns[i] > max ? aq_connect_ns[i] : max;
		}
		fprintf(f, "],\n \"connect_syscall\": {\"mean\": %lld, \"max\": %lld}", sum / ACCEPTQ_CONN, max);
	} else {
		fprintf(f, ",\n \"linger_closes\": %d, \"server_econnreset\": %lld, \"refused\": %lld",
			N_LINGER, server_econnreset, client_econnrefused);
	}
	fprintf(f, "}\n");
	if (fclose(f))
		die("cannot write %s", path);
}

/* The server's and the clients' counts of each method and route must agree. */
static void check_sides(void)
{
	int i, j;

	for (i = 0; i < n_routes; i++) {
		struct route_truth *r = &routes[i], *o = NULL;

		for (j = 0; j < n_routes; j++)
			if (strcmp(routes[j].side, r->side) && !strcmp(routes[j].method, r->method) &&
			    !strcmp(routes[j].route, r->route))
				o = &routes[j];
		if (!o || o->count != r->count || memcmp(o->codes, r->codes, sizeof(r->codes))) {
			errno = 0;
			die("%s %s %s: the server's and the clients' counts differ", r->side, r->method, r->route);
		}
	}
	if (responses_sent != N_KEEPALIVE * KEEPALIVE_REQS + N_CONN - N_KEEPALIVE) {
		errno = 0;
		die("%lld responses sent", responses_sent);
	}
}

int main(int argc, char **argv)
{
	int stop = 0, delay_ms = 0;
	const char *mode;

	if (argc > 1 && !strcmp(argv[1], "--stop")) {
		stop = 1;
		argv++;
		argc--;
	}
	mode = argc > 1 ? argv[1] : "";
	if (!((argc == 3 && (!strcmp(mode, "mix") || !strcmp(mode, "resets"))) ||
	      (argc == 4 && !strcmp(mode, "acceptq") && (delay_ms = atoi(argv[3])) > 0))) {
		fprintf(stderr, "usage: net_workload [--stop] mix|resets REPORT.json\n"
				"       net_workload [--stop] acceptq REPORT.json DELAY_MS\n");
		return 2;
	}
	if (stop)
		raise(SIGSTOP);
	if (!strcmp(mode, "mix")) {
		mode_mix();
		check_sides();
	} else if (!strcmp(mode, "acceptq")) {
		mode_acceptq(delay_ms);
	} else {
		mode_resets();
	}
	report(argv[2], mode, delay_ms);
	return 0;
}
