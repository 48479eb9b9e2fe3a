#include <errno.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/filter.h"
#include "collect/net_probes.h"
#include "collect/percpu.h"
#include "model/http.h"
#include "net.skel.h"
#include "syscalls.skel.h"

#define CONN_BUCKETS 4096
#define CONN_PENDING 8            /* requests in flight on one connection (pipelining) */
#define CONN_IDLE_NS (120ULL * 1000000000ULL)

/* A connection (process, socket) with requests whose response has not been seen yet. */
struct http_conn {
	struct http_conn *next;
	uint32_t pid;
	uint64_t sk;
	uint64_t last_ns;
	int n;
	struct {
		uint64_t ts;
		uint8_t side;
		char method[16];
		char route[128];
	} pending[CONN_PENDING];
};

int net_probes_open(struct net_probes *p, struct syscalls_bpf *sys, const char *btf_path, bool kasan)
{
	struct net_bpf *s;
	int err;

	memset(p, 0, sizeof(*p));
	p->buckets = calloc(CONN_BUCKETS, sizeof(*p->buckets));
	if (!p->buckets)
		return -ENOMEM;
	s = net_bpf__open_opts(&(struct bpf_object_open_opts){
		.sz = sizeof(struct bpf_object_open_opts), .btf_custom_path = btf_path });
	if (!s)
		return -errno;
	FILTER_COPY_RODATA(s, sys);
	s->rodata->task_stack_bytes = kasan ? 32768 : 16384;   /* x86_64's THREAD_SIZE */
	bpf_program__set_autoattach(s->progs.iogap_tcp_state_nested, false);
	if ((err = bpf_map__reuse_fd(s->maps.cgroup_slots, bpf_map__fd(sys->maps.cgroup_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.tgid_slots, bpf_map__fd(sys->maps.tgid_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.counters, bpf_map__fd(sys->maps.counters))) ||
	    (err = bpf_map__reuse_fd(s->maps.events, bpf_map__fd(sys->maps.events))) ||
	    (err = bpf_map__reuse_fd(s->maps.sock_slots, bpf_map__fd(sys->maps.sock_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.est_times, bpf_map__fd(sys->maps.est_times))) ||
	    (err = bpf_map__reuse_fd(s->maps.tcp_stats, bpf_map__fd(sys->maps.tcp_stats))) ||
	    (err = bpf_map__reuse_fd(s->maps.net_hist, bpf_map__fd(sys->maps.net_hist))) ||
	    (err = net_bpf__load(s)) || (err = net_bpf__attach(s))) {
		net_bpf__destroy(s);
		return err;
	}
	/* after iogap_tcp_state, so that it runs after it for each state change (net.bpf.c) */
	s->links.iogap_tcp_state_nested = bpf_program__attach(s->progs.iogap_tcp_state_nested);
	if (!s->links.iogap_tcp_state_nested) {
		err = -errno;
		net_bpf__destroy(s);
		return err;
	}
	p->skel = s;
	return 0;
}

static struct http_conn *conn_get(struct net_probes *p, uint32_t pid, uint64_t sk, bool create)
{
	size_t b = (sk >> 6 ^ pid) % CONN_BUCKETS;
	struct http_conn *c;

	for (c = p->buckets[b]; c; c = c->next)
		if (c->sk == sk && c->pid == pid)
			return c;
	if (!create)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->pid = pid;
	c->sk = sk;
	c->next = p->buckets[b];
	p->buckets[b] = c;
	p->nconns++;
	return c;
}

/* Forgets connections idle for long: their socket was closed, its address may be reused. */
static void conns_expire(struct net_probes *p, uint64_t now)
{
	for (size_t b = 0; b < CONN_BUCKETS; b++) {
		struct http_conn **pp = &p->buckets[b];

		while (*pp) {
			struct http_conn *c = *pp;

			if (now - c->last_ns > CONN_IDLE_NS) {
				*pp = c->next;
				free(c);
				p->nconns--;
			} else {
				pp = &c->next;
			}
		}
	}
}

void net_probes_http(struct net_probes *p, struct model *m, const void *event, size_t size)
{
	const struct http_event *e = event;
	struct http_first f;
	struct http_conn *c;
	struct target *t;
	static uint64_t events;

	if (size < sizeof(*e) || e->hdr.slot >= m->ntargets || !p->buckets)
		return;
	t = &m->targets[e->hdr.slot];
	if (http_parse_first(e->data, e->len, &f) == HTTP_NONE)
		return;
	if (++events % 65536 == 0)
		conns_expire(p, e->hdr.ts_ns);
	if (f.kind == HTTP_REQUEST) {
		/* read by the target: it serves it; written by the target: it is a client */
		c = conn_get(p, e->hdr.pid, e->sk, true);
		if (!c)
			return;
		c->last_ns = e->hdr.ts_ns;
		if (c->n == CONN_PENDING)
			memmove(&c->pending[0], &c->pending[1], sizeof(c->pending[0]) * --c->n);
		c->pending[c->n].ts = e->hdr.ts_ns;
		c->pending[c->n].side = e->write ? 1 : 0;
		snprintf(c->pending[c->n].method, sizeof(c->pending[c->n].method), "%s", f.method);
		http_route_first(&f, c->pending[c->n].route, sizeof(c->pending[c->n].route));
		c->n++;
		return;
	}
	/* a status line: written by a server, read by a client */
	if (e->write)
		t->net.requests++;
	c = conn_get(p, e->hdr.pid, e->sk, false);
	for (int i = 0; c && i < c->n; i++) {
		struct http_route *r;

		if (c->pending[i].side != (e->write ? 0 : 1))
			continue;
		r = target_route(t, c->pending[i].side, c->pending[i].method, c->pending[i].route);
		if (r) {
			r->count++;
			http_route_status(r, f.status);
			if (e->hdr.ts_ns > c->pending[i].ts) {
				hist_record(&r->lat, e->hdr.ts_ns - c->pending[i].ts);
				r->lat_sum_ns += e->hdr.ts_ns - c->pending[i].ts;
			}
		}
		memmove(&c->pending[i], &c->pending[i + 1], sizeof(c->pending[0]) * (c->n - i - 1));
		c->n--;
		c->last_ns = e->hdr.ts_ns;
		return;
	}
	/* no request seen for it (tracing began in the middle of the exchange) */
	{
		struct http_route *r = target_route(t, e->write ? 0 : 1, "?", "(request before tracing)");

		if (r) {
			r->count++;
			http_route_status(r, f.status);
		}
	}
}

/* TcpExt ListenOverflows and ListenDrops of pid's network namespace. */
static int listen_counters(pid_t pid, uint64_t v[2])
{
	char path[64], names[4096], vals[4096];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/net/netstat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		char *sn, *sv, *n, *x;

		if (strncmp(names, "TcpExt:", 7))
			continue;
		n = strtok_r(names, " \n", &sn);
		x = strtok_r(vals, " \n", &sv);
		while ((n = strtok_r(NULL, " \n", &sn)) && (x = strtok_r(NULL, " \n", &sv))) {
			if (!strcmp(n, "ListenOverflows"))
				v[0] = strtoull(x, NULL, 10), found++;
			else if (!strcmp(n, "ListenDrops"))
				v[1] = strtoull(x, NULL, 10), found++;
		}
	}
	fclose(f);
	return found == 2 ? 0 : -1;
}

void net_probes_snapshot(struct syscalls_bpf *sys, struct model *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];
		uint64_t v[2];

		/* any live process of the target tells its namespace's counters */
		for (size_t j = t->npids; j-- > 0;) {
			if (listen_counters(t->pids[j], v))
				continue;
			if (!t->net.listen_known) {
				t->net.listen_base[0] = v[0];
				t->net.listen_base[1] = v[1];
				t->net.listen_known = true;
			}
			t->net.listen_overflows = v[0] > t->net.listen_base[0] ? v[0] - t->net.listen_base[0] : 0;
			t->net.listen_drops = v[1] > t->net.listen_base[1] ? v[1] - t->net.listen_base[1] : 0;
			break;
		}
	}

	struct net_hist_key k, next, *prev = NULL;
	int fd = bpf_map__fd(sys->maps.tcp_stats);

	for (__u32 i = 0; i < m->ntargets && i < IOGAP_MAX_SLOTS; i++)
		bpf_map_lookup_elem(fd, &i, &m->targets[i].net.tcp);
	for (size_t i = 0; i < m->ntargets; i++) {
		memset(&m->targets[i].net.connect_lat, 0, sizeof(struct hist));
		memset(&m->targets[i].net.accept_queue, 0, sizeof(struct hist));
		memset(&m->targets[i].net.duration, 0, sizeof(struct hist));
	}
	fd = bpf_map__fd(sys->maps.net_hist);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct net_info *n;
		__u64 c;

		k = next;
		prev = &k;
		if (k.slot >= m->ntargets || k.bucket >= HIST_BUCKETS || bpf_map_lookup_elem(fd, &k, &c))
			continue;
		n = &m->targets[k.slot].net;
		if (k.which == NH_CONNECT)
			n->connect_lat.b[k.bucket] = c;
		else if (k.which == NH_ACCEPT_QUEUE)
			n->accept_queue.b[k.bucket] = c;
		else if (k.which == NH_DURATION)
			n->duration.b[k.bucket] = c;
	}
}

/* The changes iogap_tcp_state_nested handled (for iogap_tcp_state, skipped). */
static uint64_t nest_handled(const struct net_probes *p)
{
	int ncpus = libbpf_num_possible_cpus();
	struct tcp_nest *v = ncpus > 0 ? calloc(ncpus, sizeof(*v)) : NULL;
	uint64_t handled = 0;
	__u32 zero = 0;

	if (v && !bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.tcp_nest), &zero, v))
		for (int i = 0; i < ncpus; i++)
			handled += v[i].handled;
	free(v);
	return handled;
}

uint64_t net_probes_misses(struct net_probes *p)
{
	const struct bpf_program *main_p, *twin_p;
	struct bpf_program *prog;
	uint64_t main_m, others = 0, handled, n;

	if (!p->skel)
		return 0;
	/* Only iogap_tcp_state's misses can be made good, and only by the twin's handled. The twin
	 * is skipped only while it runs itself, for a change iogap_tcp_state then runs for. The
	 * kernel counts a miss just before the twin handles it: read handled after the misses,
	 * and again a moment later when it is short (a twin may be running), so that the figure is
	 * never above what was missed; and never let it go down. */
	main_p = p->skel->progs.iogap_tcp_state;
	twin_p = p->skel->progs.iogap_tcp_state_nested;
	/* each program read once: a total less parts read later could wrap below zero */
	bpf_object__for_each_program(prog, p->skel->obj)
		if (prog != main_p && prog != twin_p)
			others += prog_misses_one(prog);
	main_m = prog_misses_one(main_p);
	handled = nest_handled(p);
	if (handled < main_m) {
		usleep(1000);
		handled = nest_handled(p);
	}
	n = others + (main_m > handled ? main_m - handled : 0);
	if (n > p->misses)
		p->misses = n;
	return p->misses;
}

void net_probes_close(struct net_probes *p)
{
	for (size_t b = 0; p->buckets && b < CONN_BUCKETS; b++)
		while (p->buckets[b]) {
			struct http_conn *c = p->buckets[b];

			p->buckets[b] = c->next;
			free(c);
		}
	free(p->buckets);
	net_bpf__destroy(p->skel);
	memset(p, 0, sizeof(*p));
}
