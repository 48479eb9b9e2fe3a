// loadclient: closed-loop HTTP/1.1 keep-alive load client for 127.0.0.1 that records the real
// latency of every request (from its first byte written to its last byte read) and reports
// exact percentiles. Unlike wrk it applies no coordinated-omission correction: it is the
// "uncorrected" column of tools/bench. Single-threaded epoll; it prints its own CPU use so
// the runner can show that it kept up.
//
// usage: loadclient -p PORT -c CONNS -d SECONDS -m MIXFILE [-H HOST] [-t TIMEOUT_MS] [-s SEED]
// prints one JSON object on stdout.

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_KINDS 32
#define MAX_RESPONSE (4 << 20)

struct kind {
	unsigned weight;
	char method[8];
	char path[256];
	char *body;
};

enum { C_IDLE, C_CONNECTING, C_SENDING, C_READING, C_RETRY };

struct conn {
	int fd, state;
	char *req;
	size_t req_len, sent;
	char *buf;
	size_t have, cap;
	uint64_t start_ns, retry_at_ns;
};

struct stats {
	uint64_t *lat;
	size_t n, cap;
	uint64_t status[6]; // index: status / 100, 0 = unparsable
	uint64_t err_connect, err_read, err_write, err_timeout;
};

static struct kind kinds[MAX_KINDS];
static int nkinds;
static unsigned total_weight;
static uint64_t rng;
static int port;
static char host[128];
static struct stats st;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rand64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what)
{
	fprintf(stderr, "loadclient: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void load_mix(const char *file)
{
	FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		die(file);
	while ((len = getline(&line, &cap, f)) > 0) {
		struct kind *k = &kinds[nkinds];
		int off = 0;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (nkinds == MAX_KINDS ||
		    sscanf(line, "%u %7s %255s %n", &k->weight, k->method, k->path, &off) < 3) {
			fprintf(stderr, "loadclient: %s: bad line: %s\n", file, line);
			exit(2);
		}
		k->body = line[off] ? strdup(line + off) : NULL;
		total_weight += k->weight;
		nkinds++;
	}
	free(line);
	fclose(f);
	if (!total_weight) {
		fprintf(stderr, "loadclient: %s: no requests\n", file);
		exit(2);
	}
}

// Appends s to out, replacing {id} by 1..1000 and {n} by 0..999999 (as mix.lua does).
static size_t expand(char *out, size_t cap, const char *s)
{
	size_t len = 0;

	while (*s && len + 16 < cap) {
		if (!strncmp(s, "{id}", 4)) {
			len += (size_t)sprintf(out + len, "%u", (unsigned)(rand64() % 1000) + 1);
			s += 4;
		} else if (!strncmp(s, "{n}", 3)) {
			len += (size_t)sprintf(out + len, "%u", (unsigned)(rand64() % 1000000));
			s += 3;
		} else {
			out[len++] = *s++;
		}
	}
	out[len] = '\0';
	return len;
}

static void make_request(struct conn *c)
{
	char path[512], body[8192];
	unsigned pick = (unsigned)(rand64() % total_weight);
	struct kind *k = kinds;
	size_t body_len = 0;
	int n;

	while (pick >= k->weight) {
		pick -= k->weight;
		k++;
	}
	expand(path, sizeof(path), k->path);
	if (k->body)
		body_len = expand(body, sizeof(body), k->body);
	free(c->req);
	c->req = malloc(sizeof(path) + sizeof(body) + 256);
	if (!c->req)
		die("malloc");
	n = sprintf(c->req, "%s %s HTTP/1.1\r\nHost: %s\r\n", k->method, path, host);
	if (k->body)
		n += sprintf(c->req + n, "Content-Type: application/json\r\nContent-Length: %zu\r\n",
			     body_len);
	n += sprintf(c->req + n, "\r\n");
	memcpy(c->req + n, body, body_len);
	c->req_len = (size_t)n + body_len;
	c->sent = 0;
	c->have = 0;
}

static void conn_close(int ep, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = C_IDLE;
}

static void conn_open(int ep, struct conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		st.err_connect++;
		close(c->fd);
		c->fd = -1;
		c->state = C_RETRY;
		c->retry_at_ns = now_ns() + 10000000ull;
		return;
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
	c->state = C_CONNECTING;
}

static void conn_send(int ep, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (c->sent == 0)
		c->start_ns = now_ns();
	while (c->sent < c->req_len) {
		ssize_t w = write(c->fd, c->req + c->sent, c->req_len - c->sent);

		if (w < 0 && errno == EAGAIN) {
			ev.events = EPOLLOUT;
			c->state = C_SENDING;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			return;
		}
		if (w <= 0) {
			st.err_write++;
			conn_close(ep, c);
			return;
		}
		c->sent += (size_t)w;
	}
	c->state = C_READING;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static const char *find_header(const char *hdr, const char *end, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = hdr; p && p + n < end; p = memchr(p, '\n', (size_t)(end - p))) {
		if (*p == '\n')
			p++;
		if (!strncasecmp(p, name, n) && p[n] == ':')
			return p + n + 1;
	}
	return NULL;
}

// Whether the header value at v (up to its line end) contains token, case-insensitively.
static int value_has(const char *v, const char *token)
{
	size_t n = strlen(token);

	for (; v && *v && *v != '\r' && *v != '\n'; v++)
		if (!strncasecmp(v, token, n))
			return 1;
	return 0;
}

// buf[have] is NUL. Returns the full response length once complete, 0 if more bytes are
// needed, -1 if broken, -2 if the body runs to EOF.
// *close_after is set when the server will close the connection.
static long response_length(const char *buf, size_t have, int *status, int *close_after)
{
	const char *end = NULL, *v;
	size_t head;

	for (size_t i = 3; i < have; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
			end = buf + i + 1;
			break;
		}
	if (!end)
		return have > 65536 ? -1 : 0;
	head = (size_t)(end - buf);
	if (have < 12 || strncmp(buf, "HTTP/1.", 7))
		return -1;
	*status = atoi(buf + 9);
	*close_after = value_has(find_header(buf, end, "Connection"), "close") ||
		       !strncmp(buf, "HTTP/1.0", 8);
	if ((v = find_header(buf, end, "Content-Length"))) {
		size_t len = head + strtoul(v, NULL, 10);

		return have >= len ? (long)len : 0;
	}
	if (value_has(find_header(buf, end, "Transfer-Encoding"), "chunked")) {
		size_t pos = head;

		for (;;) {
			const char *nl = memchr(buf + pos, '\n', have - pos);
			size_t size;

			if (!nl)
				return 0;
			size = strtoul(buf + pos, NULL, 16);
			pos = (size_t)(nl - buf) + 1;
			if (size == 0)
				return have >= pos + 2 ? (long)(pos + 2) : 0;
			if (have < pos + size + 2)
				return 0;
			pos += size + 2;
		}
	}
	if (*status == 204 || *status == 304 || *status < 200)
		return (long)head;
	*close_after = 1;
	return -2;
}

static void record(int status, uint64_t lat)
{
	if (st.n == st.cap) {
		st.cap = st.cap ? st.cap * 2 : 65536;
		st.lat = realloc(st.lat, st.cap * sizeof(*st.lat));
		if (!st.lat)
			die("realloc");
	}
	st.lat[st.n++] = lat;
	st.status[status >= 100 && status < 600 ? status / 100 : 0]++;
}

// Returns 1 when a response completed (the connection may have been closed).
static int conn_read(int ep, struct conn *c)
{
	for (;;) {
		ssize_t r;
		long len;
		int status = 0, close_after = 0;

		if (c->cap - c->have < 16384) {
			if (c->cap >= MAX_RESPONSE) {
				st.err_read++;
				conn_close(ep, c);
				return 0;
			}
			c->cap = c->cap ? c->cap * 2 : 32768;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				die("realloc");
		}
		r = read(c->fd, c->buf + c->have, c->cap - c->have - 1);
		if (r < 0 && errno == EAGAIN)
			return 0;
		if (r > 0)
			c->have += (size_t)r;
		c->buf[c->have] = '\0'; // bounds the header scans
		len = c->have ? response_length(c->buf, c->have, &status, &close_after) : 0;
		if (r == 0 && len == -2) {
			len = (long)c->have;
		} else if (r <= 0 || len == -1) {
			st.err_read++;
			conn_close(ep, c);
			return 0;
		}
		if (len > 0) {
			record(status, now_ns() - c->start_ns);
			if (close_after)
				conn_close(ep, c);
			return 1;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t percentile(double p)
{
	size_t rank;

	if (!st.n)
		return 0;
	rank = (size_t)(p / 100.0 * (double)st.n + 0.999999999);
	return st.lat[(rank ? rank : 1) - 1];
}

int main(int argc, char **argv)
{
	int conns = 5, opt, ep;
	double duration = 10;
	uint64_t timeout_ns = 10000000000ull, t0, deadline, sum = 0, non2xx;
	const char *mix = NULL;
	struct conn *cs;
	struct epoll_event evs[256];
	struct rusage ru;
	double wall, cpu;

	rng = 88172645463325252ull;
	while ((opt = getopt(argc, argv, "p:c:d:m:H:t:s:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'm': mix = optarg; break;
		case 'H': snprintf(host, sizeof(host), "%s", optarg); break;
		case 't': timeout_ns = strtoull(optarg, NULL, 10) * 1000000ull; break;
		case 's': rng ^= strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ull; break;
		default:
			fprintf(stderr, "usage: loadclient -p PORT -c CONNS -d SECONDS -m MIXFILE "
					"[-H HOST] [-t TIMEOUT_MS] [-s SEED]\n");
			return 2;
		}
	}
	if (!port || conns < 1 || duration <= 0 || !mix) {
		fprintf(stderr, "loadclient: -p, -c, -d and -m are required\n");
		return 2;
	}
	if (!host[0])
		snprintf(host, sizeof(host), "127.0.0.1:%d", port);
	load_mix(mix);
	ep = epoll_create1(EPOLL_CLOEXEC);
	cs = calloc((size_t)conns, sizeof(*cs));
	if (ep < 0 || !cs)
		die("setup");
	t0 = now_ns();
	deadline = t0 + (uint64_t)(duration * 1e9);
	for (int i = 0; i < conns; i++) {
		cs[i].fd = -1;
		conn_open(ep, &cs[i]);
	}
	while (now_ns() < deadline) {
		int n = epoll_wait(ep, evs, 256, 10);
		uint64_t now;

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int done = 0;

			if (c->state == C_CONNECTING) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					st.err_connect++;
					conn_close(ep, c);
					c->state = C_RETRY;
					c->retry_at_ns = now_ns() + 10000000ull;
					continue;
				}
				make_request(c);
				conn_send(ep, c);
			} else if (c->state == C_SENDING) {
				conn_send(ep, c);
			} else if (c->state == C_READING) {
				done = conn_read(ep, c);
			}
			if (done && now_ns() < deadline) {
				if (c->fd < 0) {
					conn_open(ep, c);
				} else {
					make_request(c);
					conn_send(ep, c);
				}
			}
		}
		now = now_ns();
		for (int i = 0; i < conns; i++) {
			struct conn *c = &cs[i];

			if ((c->state == C_SENDING || c->state == C_READING) &&
			    now - c->start_ns > timeout_ns) {
				st.err_timeout++;
				conn_close(ep, c);
			}
			if (c->state == C_IDLE || (c->state == C_RETRY && now >= c->retry_at_ns))
				conn_open(ep, c);
		}
	}
	wall = (double)(now_ns() - t0) / 1e9;
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	qsort(st.lat, st.n, sizeof(*st.lat), cmp_u64);
	for (size_t i = 0; i < st.n; i++)
		sum += st.lat[i];
	non2xx = st.n - st.status[2];
	printf("{\"requests\": %zu, \"duration_ns\": %llu, \"rps\": %.2f, \"non2xx\": %llu, "
	       "\"status\": {\"1xx\": %llu, \"2xx\": %llu, \"3xx\": %llu, \"4xx\": %llu, "
	       "\"5xx\": %llu, \"other\": %llu}, "
	       "\"errors\": {\"connect\": %llu, \"read\": %llu, \"write\": %llu, \"timeout\": %llu}, "
	       "\"lat_ns\": {\"mean\": %llu, \"p50\": %llu, \"p90\": %llu, \"p95\": %llu, "
	       "\"p99\": %llu, \"max\": %llu}, \"cpu_pct\": %.1f}\n",
	       st.n, (unsigned long long)(wall * 1e9), (double)st.n / wall,
	       (unsigned long long)non2xx, (unsigned long long)st.status[1],
	       (unsigned long long)st.status[2], (unsigned long long)st.status[3],
	       (unsigned long long)st.status[4], (unsigned long long)st.status[5],
	       (unsigned long long)st.status[0], (unsigned long long)st.err_connect,
	       (unsigned long long)st.err_read, (unsigned long long)st.err_write,
	       (unsigned long long)st.err_timeout,
	       (unsigned long long)(st.n ? sum / st.n : 0), (unsigned long long)percentile(50),
	       (unsigned long long)percentile(90), (unsigned long long)percentile(95),
	       (unsigned long long)percentile(99), (unsigned long long)(st.n ? st.lat[st.n - 1] : 0),
	       100.0 * cpu / wall);
	return 0;
}
