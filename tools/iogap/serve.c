/* top --prometheus ADDR:PORT: the live model in the Prometheus text format, over HTTP/1.0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "commands.h"
#include "report/report.h"

int serve_open(const char *addr)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai = NULL;
	char host[256];
	const char *colon = strrchr(addr, ':');
	int fd = -1, one = 1, err;

	if (!colon || colon == addr || !colon[1] || (size_t)(colon - addr) >= sizeof(host)) {
		fprintf(stderr, "iogap: invalid --prometheus '%s' (give ADDR:PORT, e.g. 127.0.0.1:9464)\n", addr);
		return -2;
	}
	memcpy(host, addr, colon - addr);
	host[colon - addr] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	err = getaddrinfo(host, colon + 1, &hints, &ai);
	if (err) {
		fprintf(stderr, "iogap: cannot listen on %s: %s\n", addr, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
		fprintf(stderr, "iogap: cannot listen on %s: %s\n", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	} else {
		/* the port the kernel chose, when :0 asked it to pick a free one */
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		char h[INET6_ADDRSTRLEN], port[16];

		if (!getsockname(fd, (struct sockaddr *)&sa, &len) &&
		    !getnameinfo((struct sockaddr *)&sa, len, h, sizeof(h), port, sizeof(port),
				 NI_NUMERICHOST | NI_NUMERICSERV))
			fprintf(stderr, "iogap: serving metrics at http://%s%s%s:%s/metrics\n",
				sa.ss_family == AF_INET6 ? "[" : "", h, sa.ss_family == AF_INET6 ? "]" : "", port);
	}
	freeaddrinfo(ai);
	return fd;
}

/* Answers the scrapes waiting on fd (GET /metrics; anything else 404), each in one go. */
void serve_poll(int fd, const struct model *m)
{
	for (;;) {
		char req[2048], *body = NULL;
		size_t blen = 0;
		struct pollfd p;
		ssize_t n;
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		FILE *f;

		if (c < 0)
			return;
		p = (struct pollfd){ .fd = c, .events = POLLIN };
		n = poll(&p, 1, 1000) == 1 ? read(c, req, sizeof(req) - 1) : -1;
		if (n > 0) {
			req[n] = 0;
			f = open_memstream(&body, &blen);
			if (f && (!strncmp(req, "GET /metrics ", 13) || !strncmp(req, "GET /metrics?", 13))) {
				report_prometheus(f, m);
				fclose(f);
				dprintf(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
					"charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", blen);
				for (size_t off = 0; off < blen;) {
					ssize_t w = write(c, body + off, blen - off);

					if (w <= 0 && errno != EINTR)
						break;
					off += w > 0 ? (size_t)w : 0;
				}
			} else {
				if (f)
					fclose(f);
				dprintf(c, "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n"
					"Connection: close\r\n\r\niogap serves /metrics\n");
			}
			free(body);
		}
		close(c);
	}
}
