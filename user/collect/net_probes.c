#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/collector.h"
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

int net_probes_open(struct net_probes *p, struct syscalls_bpf *sys, const char *btf_path, bool kasan,
		    bool tcp_iter)
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
	/* the sweep's programs: run only at the end (net_probes_end_open) */
	bpf_program__set_autoattach(s->progs.iogap_tcp_alive, false);
	bpf_program__set_autoattach(s->progs.iogap_tcp_sweep, false);
	bpf_program__set_autoload(s->progs.iogap_tcp_alive, tcp_iter);
	bpf_program__set_autoload(s->progs.iogap_tcp_sweep, tcp_iter);
	p->tcp_iter = tcp_iter;
	s->rodata->test_unseen_closes = collector_env_flag("IOGAP_TEST_UNSEEN_CLOSES");
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

/* /proc/PID/ns/net of pid (0: iogap's own) */
static const char *netns_path(pid_t pid, char path[static 64])
{
	if (pid)
		snprintf(path, 64, "/proc/%d/ns/net", pid);
	else
		snprintf(path, 64, "/proc/self/ns/net");
	return path;
}

/* The inode number of the network namespace of pid (0: iogap's own), 0 if unknown. */
static uint32_t netns_of(pid_t pid)
{
	char path[64];
	struct stat st;

	return stat(netns_path(pid, path), &st) ? 0 : (uint32_t)st.st_ino;
}

/* An fd of network namespace ns (not iogap's own), from a target's process or any other; -1
 * when no process is in it (it is gone, or only a socket or a mount holds it). */
static int netns_open(const struct model *m, uint32_t ns)
{
	char path[64];
	pid_t found = -1;

	for (size_t i = 0; found < 0 && i < m->ntargets; i++)
		for (size_t j = 0; found < 0 && j < m->targets[i].npids; j++)
			if (netns_of(m->targets[i].pids[j]) == ns)
				found = m->targets[i].pids[j];
	if (found < 0) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		while (d && found < 0 && (e = readdir(d))) {
			pid_t pid = (pid_t)atoi(e->d_name);

			if (pid > 0 && netns_of(pid) == ns)
				found = pid;
		}
		if (d)
			closedir(d);
	}
	return found < 0 ? -1 : open(netns_path(found, path), O_RDONLY | O_CLOEXEC);
}

/* Runs the iterator of link to its end; in network namespace nsfd (-1: the caller's), from a
 * thread of its own that enters it, as a TCP iterator walks the namespace it is created in. */
struct iter_run {
	int link_fd;
	int nsfd;
	int err;
};

static void *iter_run_thread(void *arg)
{
	struct iter_run *r = arg;
	char buf[4096];
	ssize_t n;
	int fd;

	if (r->nsfd >= 0 && setns(r->nsfd, CLONE_NEWNET)) {
		r->err = -errno;
		return NULL;
	}
	fd = bpf_iter_create(r->link_fd);
	if (fd < 0) {
		r->err = fd;
		return NULL;
	}
	/* the programs print nothing; EAGAIN: a million objects read, go on */
	while ((n = read(fd, buf, sizeof(buf))) != 0)
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r->err = -errno;
			break;
		}
	close(fd);
	return NULL;
}

static int iter_run(struct bpf_link *link, int nsfd)
{
	struct iter_run r = { .link_fd = bpf_link__fd(link), .nsfd = nsfd };
	pthread_t th;
	int err;

	if (nsfd < 0) {
		iter_run_thread(&r);
		return r.err;
	}
	if ((err = pthread_create(&th, NULL, iter_run_thread, &r)))
		return -err;
	pthread_join(th, NULL);
	return r.err;
}

#define SWEEP_NETNS 64

int net_probes_end_open(struct net_probes *p, struct syscalls_bpf *sys, const struct model *m)
{
	int map_fd = bpf_map__fd(sys->maps.sock_slots), err = 0;
	uint32_t ns[SWEEP_NETNS], nent[SWEEP_NETNS], own = netns_of(0);
	size_t nns = 0;
	__u64 key, next, *prev = NULL;
	struct sock_info si;
	uint64_t t0 = collector_now_ns();   /* bpf_ktime_get_ns's clock */
	struct bpf_link *alive;
	__u64 arg = 0;
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &arg, .ctx_size_in = sizeof(arg));

	if (!p->skel || !p->tcp_iter)
		return 0;
	p->skel->bss->sweep_t0 = t0;
	/* the namespaces of the entries still open */
	while (!bpf_map_get_next_key(map_fd, prev, &next)) {
		size_t i;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, &si) || si.closed || !si.est_ns || si.est_ns >= t0)
			continue;
		for (i = 0; i < nns && ns[i] != si.netns; i++)
			;
		if (i == nns && nns < SWEEP_NETNS) {
			ns[nns] = si.netns;
			nent[nns++] = 0;
		}
		if (i < nns)
			nent[i]++;
		else
			p->unswept++;        /* past SWEEP_NETNS namespaces */
	}
	if (!nns)
		return 0;
	alive = bpf_program__attach_iter(p->skel->progs.iogap_tcp_alive, NULL);
	if (!alive)
		return -errno;
	for (size_t i = 0; i < nns; i++) {
		int nsfd = ns[i] == own ? -1 : netns_open(m, ns[i]);

		if (ns[i] != own && nsfd < 0) {
			p->unswept += nent[i];        /* no way in: its entries stay open */
			continue;
		}
		/* a pass per namespace, never 0 (an entry's alive_pass before any) */
		p->skel->bss->sweep_pass = (__u16)(i + 1);
		p->skel->bss->sweep_netns = ns[i];
		err = iter_run(alive, nsfd);
		if (nsfd >= 0)
			close(nsfd);
		if (err)
			break;
		/* a socket moved to time-wait leaves the hash just before its change to CLOSE
		 * (tcp_time_wait): give such a change under way the time to reach the programs */
		usleep(20000);
		if ((err = bpf_prog_test_run_opts(bpf_program__fd(p->skel->progs.iogap_tcp_sweep), &run)))
			break;
	}
	bpf_link__destroy(alive);
	return err;
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
