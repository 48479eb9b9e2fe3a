#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/model.h"

#define IOGAP_OP_NAME(e, name, flags) [e] = name,
static const char *const op_names[IOP_MAX] = { IOGAP_OPS(IOGAP_OP_NAME) };
#define IOGAP_OP_FLAGS(e, name, flags) [e] = (flags),
static const unsigned char op_flags[IOP_MAX] = { IOGAP_OPS(IOGAP_OP_FLAGS) };

static const char *const fd_kind_names[FDK_KIND_MAX] = {
	[FDK_NONE] = "none", [FDK_FILE] = "file", [FDK_TCP] = "tcp", [FDK_UDP] = "udp",
	[FDK_UNIX] = "unix", [FDK_PIPE] = "pipe", [FDK_OTHER] = "other",
};

static const char *const syscall_names[IOGAP_NR_SYSCALLS] = {
#include "syscall_names.h"
};

const char *model_op_name(unsigned op)
{
	return op < IOP_MAX ? op_names[op] : "?";
}

bool model_op_is_net(unsigned op)
{
	return op < IOP_MAX && (op_flags[op] & OPF_NET);
}

bool model_op_takes_fd(unsigned op)
{
	return op < IOP_MAX && (op_flags[op] & OPF_FD);
}

const char *model_fd_kind_name(unsigned kind)
{
	return kind < FDK_KIND_MAX ? fd_kind_names[kind] : "?";
}

const char *model_target_kind_name(enum target_kind kind)
{
	switch (kind) {
	case TARGET_PID: return "pid";
	case TARGET_CGROUP: return "cgroup";
	case TARGET_CONTAINER: return "container";
	case TARGET_COMMAND: return "command";
	}
	return "?";
}

const char *model_syscall_name(unsigned nr)
{
	return nr < IOGAP_NR_SYSCALLS && syscall_names[nr] ? syscall_names[nr] : NULL;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}

struct target *model_target_add(struct model *m, const char *name, enum target_kind kind)
{
	struct target *t, *arr = realloc(m->targets, (m->ntargets + 1) * sizeof(*t));

	if (!arr)
		return NULL;
	m->targets = arr;
	t = &arr[m->ntargets];
	memset(t, 0, sizeof(*t));
	t->name = strdup(name);
	t->cgroup = strdup("");
	if (!t->name || !t->cgroup) {
		free(t->name);
		free(t->cgroup);
		return NULL;
	}
	t->kind = kind;
	m->ntargets++;
	return t;
}

int target_pid_add(struct target *t, pid_t pid)
{
	size_t cap = t->cap_pids;

	for (size_t i = 0; i < t->npids; i++)
		if (t->pids[i] == pid)
			return 0;
	if (grow((void **)&t->pids, &t->cap_pids, t->npids, sizeof(pid_t)))
		return -ENOMEM;
	if (t->cap_pids != cap || !t->nspids) {
		pid_t *ns = realloc(t->nspids, t->cap_pids * sizeof(pid_t));

		if (!ns)
			return -ENOMEM;
		memset(ns + t->npids, 0, (t->cap_pids - t->npids) * sizeof(pid_t));
		t->nspids = ns;
	}
	t->nspids[t->npids] = 0;
	t->pids[t->npids++] = pid;
	return 0;
}

int target_pid_set_ns(struct target *t, pid_t pid, pid_t nspid)
{
	int err = target_pid_add(t, pid);

	if (err)
		return err;
	for (size_t i = 0; i < t->npids; i++)
		if (t->pids[i] == pid)
			t->nspids[i] = nspid == pid ? 0 : nspid;
	return 0;
}

pid_t target_nspid(const struct target *t, pid_t pid)
{
	for (size_t i = 0; t->nspids && i < t->npids; i++)
		if (t->pids[i] == pid)
			return t->nspids[i];
	return 0;
}

static char *strdup_or_null(const char *s);

void container_meta_copy(struct container_meta *dst, const struct container_meta *src)
{
	dst->runtime = strdup_or_null(src->runtime);
	dst->id = strdup_or_null(src->id);
	dst->image = strdup_or_null(src->image);
	dst->pod = strdup_or_null(src->pod);
	dst->pod_namespace = strdup_or_null(src->pod_namespace);
	dst->k8s_container = strdup_or_null(src->k8s_container);
	dst->pod_uid = strdup_or_null(src->pod_uid);
	dst->qos = strdup_or_null(src->qos);
}

void container_meta_free(struct container_meta *c)
{
	free(c->runtime);
	free(c->id);
	free(c->image);
	free(c->pod);
	free(c->pod_namespace);
	free(c->k8s_container);
	free(c->pod_uid);
	free(c->qos);
	memset(c, 0, sizeof(*c));
}

struct op_stats *target_op(struct target *t, unsigned op, unsigned fd_kind)
{
	struct op_stats *o;

	for (size_t i = 0; i < t->nops; i++)
		if (t->ops[i].op == op && t->ops[i].fd_kind == fd_kind)
			return &t->ops[i];
	if (grow((void **)&t->ops, &t->cap_ops, t->nops, sizeof(*o)))
		return NULL;
	o = &t->ops[t->nops++];
	o->op = op;
	o->fd_kind = fd_kind;
	return o;
}

static uint64_t file_key(uint32_t dev, uint64_t ino, uint32_t gen)
{
	return ino ^ ((uint64_t)dev << 32 | gen) * 0x9E3779B97F4A7C15ULL;
}
static uint64_t file_elem_key(const void *e)
{
	const struct file_stat *f = e;

	return file_key(f->dev, f->ino, f->gen);
}
static bool file_same(const void *e, const void *want)
{
	const struct file_stat *f = e, *w = want;

	return f->ino == w->ino && f->dev == w->dev && f->gen == w->gen;
}
static const struct hindex_kind file_ix = { sizeof(struct file_stat), file_elem_key, file_same };

struct file_stat *target_file(struct target *t, uint32_t dev, uint64_t ino, uint32_t gen)
{
	struct file_stat *f, want = { .dev = dev, .ino = ino, .gen = gen };
	long i = hindex_find(&t->files_ix, &file_ix, t->files, t->nfiles, file_key(dev, ino, gen), &want);

	if (i >= 0)
		return &t->files[i];
	if (grow((void **)&t->files, &t->cap_files, t->nfiles, sizeof(*f)))
		return NULL;
	f = &t->files[t->nfiles++];
	f->dev = dev;
	f->ino = ino;
	f->gen = gen;
	hindex_added(&t->files_ix, &file_ix, t->files, t->nfiles);
	return f;
}

uint64_t model_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a 64 */

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct file_stat *target_file_by_path(struct target *t, const char *path)
{
	struct file_stat *f = target_file(t, 0, model_hash_str(path), 0);

	if (f && !f->path && !(f->path = strdup(path)))
		return NULL;
	return f;
}

const char *target_file_path(const struct target *t, uint32_t dev, uint64_t ino, uint32_t gen)
{
	const char *fallback = NULL;

	for (size_t i = 0; i < t->nfiles; i++) {
		const struct file_stat *f = &t->files[i];

		if (f->ino != ino || f->dev != dev || !f->path)
			continue;
		if (f->gen == gen)
			return f->path;
		if (!f->gen)
			fallback = f->path;
	}
	return fallback;
}

int target_file_set_path(struct target *t, uint32_t dev, uint64_t ino, uint32_t gen, const char *path)
{
	struct file_stat *f = target_file(t, dev, ino, gen);
	char *p;

	if (!f)
		return -ENOMEM;
	if (f->path && !strcmp(f->path, path))
		return 0;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	free(f->path);
	f->path = p;
	return 0;
}

static uint64_t stmt_elem_key(const void *e) { return ((const struct sql_stmt *)e)->hash; }
static const struct hindex_kind stmt_ix = { sizeof(struct sql_stmt), stmt_elem_key, NULL };

struct sql_stmt *target_stmt(struct target *t, uint64_t hash)
{
	struct sqlite_info *q = &t->sq;
	struct sql_stmt *st;
	long i = hindex_find(&q->stmts_ix, &stmt_ix, q->stmts, q->nstmts, hash, NULL);

	if (i >= 0)
		return &q->stmts[i];
	if (grow((void **)&q->stmts, &q->cap_stmts, q->nstmts, sizeof(*st)))
		return NULL;
	st = &q->stmts[q->nstmts++];
	st->hash = hash;
	hindex_added(&q->stmts_ix, &stmt_ix, q->stmts, q->nstmts);
	return st;
}

struct sq_fsync_stat *target_sq_fsync(struct target *t, uint32_t dev, uint64_t ino, uint32_t gen)
{
	struct sqlite_info *q = &t->sq;
	struct sq_fsync_stat *f;

	for (size_t i = 0; i < q->nfsyncs; i++)
		if (q->fsyncs[i].ino == ino && q->fsyncs[i].dev == dev && q->fsyncs[i].gen == gen)
			return &q->fsyncs[i];
	if (grow((void **)&q->fsyncs, &q->cap_fsyncs, q->nfsyncs, sizeof(*f)))
		return NULL;
	f = &q->fsyncs[q->nfsyncs++];
	f->dev = dev;
	f->ino = ino;
	f->gen = gen;
	return f;
}

struct http_route *target_route(struct target *t, int side, const char *method, const char *route)
{
	struct net_info *n = &t->net;
	struct http_route *r;

	for (size_t i = 0; i < n->nroutes; i++) {
		r = &n->routes[i];
		if (r->side == side && !strcmp(r->method, method) && !strcmp(r->route, route))
			return r;
	}
	if (grow((void **)&n->routes, &n->cap_routes, n->nroutes, sizeof(*r)))
		return NULL;
	r = &n->routes[n->nroutes];
	r->route = strdup(route);
	if (!r->route)
		return NULL;
	r->side = side;
	snprintf(r->method, sizeof(r->method), "%s", method);
	n->nroutes++;
	return r;
}

void http_route_status(struct http_route *r, int status)
{
	int i;

	if (status >= 200 && status < 600)
		r->status[status / 100 - 2]++;
	else
		r->other++;
	for (i = 0; i < r->ncodes; i++)
		if (r->codes[i].code == status)
			break;
	if (i == r->ncodes) {
		if (r->ncodes == HTTP_MAX_CODES)
			return;
		r->codes[r->ncodes].code = status;
		r->codes[r->ncodes++].count = 0;
	}
	r->codes[i].count++;
}

struct thread_stat *target_thread(struct target *t, uint32_t tid)
{
	struct budget_info *b = &t->bud;
	struct thread_stat *th;

	for (size_t i = 0; i < b->nthreads; i++)
		if (b->threads[i].tid == tid)
			return &b->threads[i];
	if (grow((void **)&b->threads, &b->cap_threads, b->nthreads, sizeof(*th)))
		return NULL;
	th = &b->threads[b->nthreads++];
	th->tid = tid;
	return th;
}

static const char *const budget_names[BUD_MAX] = {
	[BUD_CPU] = "cpu", [BUD_RUNQ] = "runqueue", [BUD_FILE_READ] = "file_read",
	[BUD_FILE_WRITE] = "file_write", [BUD_FSYNC] = "fsync", [BUD_LOCK] = "lock",
	[BUD_FUTEX] = "futex", [BUD_NET_RECV] = "net_recv", [BUD_NET_SEND] = "net_send",
	[BUD_ACCEPT] = "accept", [BUD_POLL_IDLE] = "poll_idle", [BUD_SLEEP] = "sleep",
	[BUD_BUSY_SLEEP] = "busy_sleep", [BUD_OTHER] = "other", [BUD_IDLE_WAIT] = "idle_wait",
};

const char *model_budget_name(unsigned cls)
{
	return cls < BUD_MAX ? budget_names[cls] : "?";
}

static void sum_threads(const struct target *t, size_t off, uint64_t out[BUD_MAX])
{
	memset(out, 0, sizeof(uint64_t) * BUD_MAX);
	for (size_t i = 0; i < t->bud.nthreads; i++) {
		const uint64_t *ns = (const uint64_t *)((const char *)&t->bud.threads[i] + off);

		for (int c = 0; c < BUD_MAX; c++)
			out[c] += ns[c];
	}
}

void target_budget(const struct target *t, uint64_t out[BUD_MAX])
{
	sum_threads(t, offsetof(struct thread_stat, ns), out);
}

void target_request_budget(const struct target *t, uint64_t out[BUD_MAX])
{
	sum_threads(t, offsetof(struct thread_stat, req_ns), out);
}

uint64_t target_served(const struct target *t, uint64_t *lat_sum_ns)
{
	uint64_t n = 0, sum = 0;

	for (size_t i = 0; i < t->net.nroutes; i++)
		if (t->net.routes[i].side == 0) {
			n += hist_count(&t->net.routes[i].lat);
			sum += t->net.routes[i].lat_sum_ns;
		}
	if (lat_sum_ns)
		*lat_sum_ns = sum;
	return n;
}

static const char *const split_names[SPLIT_MAX] = {
	[SPLIT_READ] = "read", [SPLIT_WRITE] = "write", [SPLIT_FSYNC] = "fsync",
	[SPLIT_LOCK] = "lock", [SPLIT_BUSY_SLEEP] = "busy_sleep", [SPLIT_OTHER] = "other",
};

static const char *const rc_names[RC_MAX] = {
	[RC_ROW] = "ROW", [RC_DONE] = "DONE", [RC_BUSY] = "BUSY", [RC_LOCKED] = "LOCKED",
	[RC_CONSTRAINT] = "CONSTRAINT", [RC_MISUSE] = "MISUSE", [RC_ERROR_OTHER] = "ERROR",
};

const char *model_split_name(unsigned i)
{
	return i < SPLIT_MAX ? split_names[i] : "?";
}

const char *model_rc_name(unsigned i)
{
	return i < RC_MAX ? rc_names[i] : "?";
}

static const char *stmt_label(const struct sql_stmt *s)
{
	if (s->sql)
		return s->sql;
	return s->hash ? "(statement text not captured)" : "(prepared before tracing began)";
}

/* struct stmt_stats is 64-bit counters only: added and subtracted word by word */
_Static_assert(sizeof(struct stmt_stats) % sizeof(__u64) == 0, "stmt_stats: u64 counters");
#define STMT_WORDS (sizeof(struct stmt_stats) / sizeof(__u64))

static void stmt_add(struct sql_stmt *dst, const struct sql_stmt *src)
{
	__u64 *d = (__u64 *)&dst->s;
	const __u64 *w = (const __u64 *)&src->s;

	for (size_t i = 0; i < STMT_WORDS; i++)
		d[i] += w[i];
	hist_add(&dst->step_hist, &src->step_hist);
	hist_add(&dst->stmt_hist, &src->stmt_hist);
}

static int cmp_stmt_label(const void *a, const void *b)
{
	return strcmp(stmt_label(a), stmt_label(b));
}

static int cmp_stmt_time(const void *a, const void *b)
{
	const struct sql_stmt *x = a, *y = b;

	if (x->s.step_ns != y->s.step_ns)
		return x->s.step_ns < y->s.step_ns ? 1 : -1;
	return x->s.count < y->s.count ? 1 : x->s.count > y->s.count ? -1 : 0;
}

struct sql_stmt *target_stmts_by_template(const struct target *t, size_t *n)
{
	const struct sqlite_info *q = &t->sq;
	struct sql_stmt *out = calloc(q->nstmts ? q->nstmts : 1, sizeof(*out));
	size_t k = 0;

	*n = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < q->nstmts; i++)
		if (q->stmts[i].s.steps || q->stmts[i].s.count || q->stmts[i].s.stmt_ended)
			out[k++] = q->stmts[i];
	qsort(out, k, sizeof(*out), cmp_stmt_label);
	for (size_t i = 0, j; i < k; i = j) {
		out[i].sql = strdup(stmt_label(&out[i]));
		for (j = i + 1; j < k && !strcmp(out[i].sql ? out[i].sql : "", stmt_label(&out[j])); j++)
			stmt_add(&out[i], &out[j]);
		out[(*n)++] = out[i];
	}
	qsort(out, *n, sizeof(*out), cmp_stmt_time);
	return out;
}

void model_stmts_free(struct sql_stmt *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i].sql);
	free(s);
}

uint64_t model_drops(const struct model *m)
{
	uint64_t n = 0;

	for (int i = 0; i < CNT_MAX; i++)
		n += m->counters[i];
	return n;
}

uint64_t model_map_losses(const struct model *m)
{
	return model_drops(m) - m->counters[CNT_RB_DROPS] - m->counters[CNT_PROG_MISSES];
}

static int cmp_files(const void *a, const void *b)
{
	const struct file_stat *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns < y->total_ns ? 1 : -1;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static int cmp_paths(const void *a, const void *b)
{
	const struct file_stat *x = a, *y = b;

	return strcmp(x->path ? x->path : "", y->path ? y->path : "");
}

/* Merges the k entries of out that share a path (a path re-created with new inodes, as
 * SQLite's -journal is, is one file to the reader); sorted by total time, largest first. */
static struct file_stat *merge_by_path(struct file_stat *out, size_t k, size_t *n)
{
	qsort(out, k, sizeof(*out), cmp_paths);
	for (size_t i = 0, j; i < k; i = j) {
		for (j = i + 1; j < k && out[i].path && out[j].path && !strcmp(out[i].path, out[j].path); j++) {
			out[i].count += out[j].count;
			out[i].total_ns += out[j].total_ns;
			out[i].bytes += out[j].bytes;
			out[j].count = 0;
		}
	}
	*n = 0;
	for (size_t i = 0; i < k; i++)
		if (out[i].count)
			out[(*n)++] = out[i];
	qsort(out, *n, sizeof(*out), cmp_files);
	return out;
}

struct file_stat *target_files_by_path(const struct target *t, size_t *n)
{
	struct file_stat *out = calloc(t->nfiles ? t->nfiles : 1, sizeof(*out));
	size_t k = 0;

	*n = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < t->nfiles; i++)
		if (t->files[i].count) {
			out[k] = t->files[i];
			if (!out[k].path)
				out[k].path = (char *)target_file_path(t, out[k].dev, out[k].ino, out[k].gen);
			k++;
		}
	return merge_by_path(out, k, n);
}

struct file_stat *target_sq_fsyncs_by_path(const struct target *t, size_t *n)
{
	const struct sqlite_info *q = &t->sq;
	struct file_stat *out = calloc(q->nfsyncs ? q->nfsyncs : 1, sizeof(*out));
	size_t k = 0;

	*n = 0;
	if (!out)
		return NULL;
	for (size_t i = 0; i < q->nfsyncs; i++) {
		const struct sq_fsync_stat *f = &q->fsyncs[i];

		if (!f->count)
			continue;
		out[k].path = (char *)target_file_path(t, f->dev, f->ino, f->gen);
		out[k].count = f->count;
		out[k].total_ns = f->total_ns;
		k++;
	}
	return merge_by_path(out, k, n);
}

static int cmp_ops(const void *a, const void *b)
{
	const struct op_stats *x = a, *y = b;

	if (x->op != y->op)
		return x->op < y->op ? -1 : 1;
	return x->fd_kind < y->fd_kind ? -1 : x->fd_kind > y->fd_kind;
}

void target_sort_ops(struct target *t)
{
	if (t->nops)    /* a target pruned of its ops has none, and ops NULL: not for qsort */
		qsort(t->ops, t->nops, sizeof(*t->ops), cmp_ops);
}

static char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int model_copy(struct model *dst, const struct model *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->start_ns = src->start_ns;
	dst->duration_ns = src->duration_ns;
	memcpy(dst->counters, src->counters, sizeof(dst->counters));
	for (size_t i = 0; i < src->ntargets; i++) {
		const struct target *s = &src->targets[i];
		struct target *t = model_target_add(dst, s->name, s->kind);

		if (!t)
			goto fail;
		free(t->cgroup);
		t->cgroup = strdup(s->cgroup);
		t->cgroup_id = s->cgroup_id;
		t->syscalls = s->syscalls;
		t->exits = s->exits;
		memcpy(t->sys_count, s->sys_count, sizeof(t->sys_count));
		memcpy(t->sys_errors, s->sys_errors, sizeof(t->sys_errors));
		for (size_t j = 0; j < s->npids; j++)
			if (target_pid_set_ns(t, s->pids[j], s->nspids ? s->nspids[j] : 0))
				goto fail;
		container_meta_copy(&t->ctr, &s->ctr);
		t->added_ns = s->added_ns;
		t->stopped_ns = s->stopped_ns;
		for (size_t j = 0; j < s->nops; j++) {
			struct op_stats *o = target_op(t, s->ops[j].op, s->ops[j].fd_kind);

			if (!o)
				goto fail;
			*o = s->ops[j];
		}
		for (size_t j = 0; j < s->nfiles; j++) {
			struct file_stat *f = target_file(t, s->files[j].dev, s->files[j].ino, s->files[j].gen);

			if (!f)
				goto fail;
			*f = s->files[j];
			f->path = strdup_or_null(s->files[j].path);
		}
		t->sq.library = strdup_or_null(s->sq.library);
		t->sq.where = s->sq.where;
		t->sq.processes = s->sq.processes;
		t->sq.opens = s->sq.opens;
		t->sq.closes = s->sq.closes;
		t->sq.open_ns = s->sq.open_ns;
		t->sq.prep_sleeps = s->sq.prep_sleeps;
		t->sq.prep_sleep_ns = s->sq.prep_sleep_ns;
		t->sq.prep_busy = s->sq.prep_busy;
		for (size_t j = 0; j < s->sq.nstmts; j++) {
			struct sql_stmt *st = target_stmt(t, s->sq.stmts[j].hash);

			if (!st)
				goto fail;
			*st = s->sq.stmts[j];
			st->sql = strdup_or_null(s->sq.stmts[j].sql);
		}
		for (size_t j = 0; j < s->sq.nfsyncs; j++) {
			struct sq_fsync_stat *f = target_sq_fsync(t, s->sq.fsyncs[j].dev, s->sq.fsyncs[j].ino,
								  s->sq.fsyncs[j].gen);

			if (!f)
				goto fail;
			*f = s->sq.fsyncs[j];
		}
		t->bud.ncpus = s->bud.ncpus;
		t->bud.mem_bytes = s->bud.mem_bytes;
		t->bud.mem_peak_bytes = s->bud.mem_peak_bytes;
		for (size_t j = 0; j < s->bud.nthreads; j++) {
			struct thread_stat *th = target_thread(t, s->bud.threads[j].tid);

			if (!th)
				goto fail;
			*th = s->bud.threads[j];
		}
		t->net.tcp = s->net.tcp;
		t->net.connect_lat = s->net.connect_lat;
		t->net.accept_queue = s->net.accept_queue;
		t->net.duration = s->net.duration;
		t->net.requests = s->net.requests;
		t->net.listen_overflows = s->net.listen_overflows;
		t->net.listen_drops = s->net.listen_drops;
		for (size_t j = 0; j < s->net.nroutes; j++) {
			const struct http_route *sr = &s->net.routes[j];
			struct http_route *r = target_route(t, sr->side, sr->method, sr->route);
			char *keep;

			if (!r)
				goto fail;
			keep = r->route;
			*r = *sr;
			r->route = keep;
		}
	}
	return 0;
fail:
	model_free(dst);
	return -ENOMEM;
}

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

int model_delta(struct model *dst, const struct model *cur, const struct model *prev)
{
	int err = model_copy(dst, cur);

	if (err || !prev)
		return err;
	dst->duration_ns = sub0(cur->duration_ns, prev->duration_ns);
	for (int i = 0; i < CNT_MAX; i++)
		dst->counters[i] = sub0(cur->counters[i], prev->counters[i]);
	for (size_t i = 0; i < dst->ntargets && i < prev->ntargets; i++) {
		struct target *t = &dst->targets[i];
		const struct target *p = &prev->targets[i];

		t->syscalls = sub0(t->syscalls, p->syscalls);
		t->exits = sub0(t->exits, p->exits);
		for (int n = 0; n < IOGAP_NR_SYSCALLS; n++) {
			t->sys_count[n] = sub0(t->sys_count[n], p->sys_count[n]);
			t->sys_errors[n] = sub0(t->sys_errors[n], p->sys_errors[n]);
		}
		for (size_t j = 0; j < p->nops; j++) {
			const struct op_stats *po = &p->ops[j];
			struct op_stats *o = target_op(t, po->op, po->fd_kind);

			if (!o)
				return -ENOMEM;
			o->count = sub0(o->count, po->count);
			o->errors = sub0(o->errors, po->errors);
			o->bytes = sub0(o->bytes, po->bytes);
			o->sum_ns = sub0(o->sum_ns, po->sum_ns);
			hist_sub(&o->hist, &po->hist);
			/* the kernel keeps a cumulative max; the interval's comes from its buckets */
			if (o->max_ns != po->max_ns || !o->count)
				continue;
			o->max_ns = hist_max_estimate(&o->hist);
		}
		for (size_t j = 0; j < p->nfiles; j++) {
			const struct file_stat *pf = &p->files[j];
			struct file_stat *f = target_file(t, pf->dev, pf->ino, pf->gen);

			if (!f)
				return -ENOMEM;
			f->count = sub0(f->count, pf->count);
			f->total_ns = sub0(f->total_ns, pf->total_ns);
			f->bytes = sub0(f->bytes, pf->bytes);
		}
		t->sq.opens = sub0(t->sq.opens, p->sq.opens);
		t->sq.closes = sub0(t->sq.closes, p->sq.closes);
		t->sq.open_ns = sub0(t->sq.open_ns, p->sq.open_ns);
		t->sq.prep_sleeps = sub0(t->sq.prep_sleeps, p->sq.prep_sleeps);
		t->sq.prep_sleep_ns = sub0(t->sq.prep_sleep_ns, p->sq.prep_sleep_ns);
		t->sq.prep_busy = sub0(t->sq.prep_busy, p->sq.prep_busy);
		for (size_t j = 0; j < p->sq.nstmts; j++) {
			const struct sql_stmt *ps = &p->sq.stmts[j];
			struct sql_stmt *st = target_stmt(t, ps->hash);

			if (!st)
				return -ENOMEM;
			{
				__u64 *d = (__u64 *)&st->s;
				const __u64 *w = (const __u64 *)&ps->s;

				for (size_t r = 0; r < STMT_WORDS; r++)
					d[r] = sub0(d[r], w[r]);
			}
			hist_sub(&st->step_hist, &ps->step_hist);
			hist_sub(&st->stmt_hist, &ps->stmt_hist);
		}
		{
			__u64 *cw = (__u64 *)&t->net.tcp;
			const __u64 *pw = (const __u64 *)&p->net.tcp;

			for (size_t w = 0; w < sizeof(t->net.tcp) / sizeof(__u64); w++)
				cw[w] = sub0(cw[w], pw[w]);
		}
		for (size_t j = 0; j < p->bud.nthreads; j++) {
			const struct thread_stat *pt = &p->bud.threads[j];
			struct thread_stat *th = target_thread(t, pt->tid);

			if (!th)
				return -ENOMEM;
			for (int k = 0; k < BUD_MAX; k++) {
				th->ns[k] = sub0(th->ns[k], pt->ns[k]);
				th->req_ns[k] = sub0(th->req_ns[k], pt->req_ns[k]);
			}
		}
		hist_sub(&t->net.connect_lat, &p->net.connect_lat);
		hist_sub(&t->net.accept_queue, &p->net.accept_queue);
		hist_sub(&t->net.duration, &p->net.duration);
		t->net.requests = sub0(t->net.requests, p->net.requests);
		t->net.listen_overflows = sub0(t->net.listen_overflows, p->net.listen_overflows);
		t->net.listen_drops = sub0(t->net.listen_drops, p->net.listen_drops);
		for (size_t j = 0; j < p->net.nroutes; j++) {
			const struct http_route *pr = &p->net.routes[j];
			struct http_route *r = target_route(t, pr->side, pr->method, pr->route);

			if (!r)
				return -ENOMEM;
			r->count = sub0(r->count, pr->count);
			r->other = sub0(r->other, pr->other);
			for (int k = 0; k < 4; k++)
				r->status[k] = sub0(r->status[k], pr->status[k]);
			for (int k = 0; k < r->ncodes; k++)
				for (int l = 0; l < pr->ncodes; l++)
					if (pr->codes[l].code == r->codes[k].code)
						r->codes[k].count = sub0(r->codes[k].count, pr->codes[l].count);
			hist_sub(&r->lat, &pr->lat);
			r->lat_sum_ns = sub0(r->lat_sum_ns, pr->lat_sum_ns);
		}
		for (size_t j = 0; j < p->sq.nfsyncs; j++) {
			const struct sq_fsync_stat *pf = &p->sq.fsyncs[j];
			struct sq_fsync_stat *f = target_sq_fsync(t, pf->dev, pf->ino, pf->gen);

			if (!f)
				return -ENOMEM;
			f->count = sub0(f->count, pf->count);
			f->total_ns = sub0(f->total_ns, pf->total_ns);
		}
	}
	return 0;
}

void model_clear_figures(struct model *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];

		t->syscalls = 0;
		memset(t->sys_count, 0, sizeof(t->sys_count));
		memset(t->sys_errors, 0, sizeof(t->sys_errors));
		t->nops = 0;
		for (size_t j = 0; j < t->nfiles; j++) {
			t->files[j].count = 0;
			t->files[j].total_ns = 0;
			t->files[j].bytes = 0;
		}
	}
	memset(m->counters, 0, sizeof(m->counters));
}

void model_free(struct model *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];

		free(t->name);
		free(t->cgroup);
		free(t->pids);
		free(t->nspids);
		container_meta_free(&t->ctr);
		free(t->ops);
		for (size_t j = 0; j < t->nfiles; j++)
			free(t->files[j].path);
		free(t->files);
		hindex_free(&t->files_ix);
		free(t->sq.library);
		for (size_t j = 0; j < t->sq.nstmts; j++)
			free(t->sq.stmts[j].sql);
		free(t->sq.stmts);
		hindex_free(&t->sq.stmts_ix);
		free(t->sq.fsyncs);
		for (size_t j = 0; j < t->net.nroutes; j++)
			free(t->net.routes[j].route);
		free(t->net.routes);
		free(t->bud.threads);
	}
	free(m->targets);
	memset(m, 0, sizeof(*m));
}

static void container_meta_take(struct container_meta *dst, const struct container_meta *src)
{
	if (!src->runtime && !src->id && !src->image && !src->pod && !src->pod_namespace &&
	    !src->k8s_container && !src->pod_uid && !src->qos)
		return;
	container_meta_free(dst);
	container_meta_copy(dst, src);
}

static int take_string(char **dst, const char *src)
{
	char *p;

	if (!src)
		return 0;
	p = strdup(src);
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static void route_add(struct http_route *r, const struct http_route *d)
{
	r->count += d->count;
	r->other += d->other;
	for (int k = 0; k < 4; k++)
		r->status[k] += d->status[k];
	for (int l = 0; l < d->ncodes; l++) {
		int k;

		for (k = 0; k < r->ncodes && r->codes[k].code != d->codes[l].code; k++)
			;
		if (k == r->ncodes) {
			if (r->ncodes == HTTP_MAX_CODES)
				continue;
			r->codes[r->ncodes++].code = d->codes[l].code;
		}
		r->codes[k].count += d->codes[l].count;
	}
	hist_add(&r->lat, &d->lat);
	r->lat_sum_ns += d->lat_sum_ns;
}

static int thread_add(struct target *t, const struct thread_stat *d)
{
	size_t n = t->bud.nthreads;
	struct thread_stat *th = target_thread(t, d->tid);

	if (!th)
		return -ENOMEM;
	if (t->bud.nthreads != n) {
		*th = *d;
		return 0;
	}
	for (int k = 0; k < BUD_MAX; k++) {
		th->ns[k] += d->ns[k];
		th->req_ns[k] += d->req_ns[k];
	}
	if (d->first_ns && (!th->first_ns || d->first_ns < th->first_ns))
		th->first_ns = d->first_ns;
	if (d->last_ns > th->last_ns)
		th->last_ns = d->last_ns;
	th->exited |= d->exited;
	if (d->comm[0])
		memcpy(th->comm, d->comm, sizeof(th->comm));
	if (d->tgid)
		th->tgid = d->tgid;
	return 0;
}

static int target_add_figures(struct target *t, const struct target *d)
{
	if (d->cgroup_id)
		t->cgroup_id = d->cgroup_id;
	if (d->added_ns)
		t->added_ns = d->added_ns;
	if (d->stopped_ns)
		t->stopped_ns = d->stopped_ns;
	container_meta_take(&t->ctr, &d->ctr);
	t->syscalls += d->syscalls;
	t->exits += d->exits;
	for (int n = 0; n < IOGAP_NR_SYSCALLS; n++) {
		t->sys_count[n] += d->sys_count[n];
		t->sys_errors[n] += d->sys_errors[n];
	}
	for (size_t j = 0; j < d->npids; j++) {
		pid_t ns = d->nspids ? d->nspids[j] : 0;

		if (ns ? target_pid_set_ns(t, d->pids[j], ns) : target_pid_add(t, d->pids[j]))
			return -ENOMEM;
	}
	for (size_t j = 0; j < d->nops; j++) {
		const struct op_stats *dop = &d->ops[j];
		struct op_stats *o = target_op(t, dop->op, dop->fd_kind);

		if (!o)
			return -ENOMEM;
		o->count += dop->count;
		o->errors += dop->errors;
		o->bytes += dop->bytes;
		o->sum_ns += dop->sum_ns;
		if (dop->max_ns > o->max_ns)
			o->max_ns = dop->max_ns;
		hist_add(&o->hist, &dop->hist);
	}
	for (size_t j = 0; j < d->nfiles; j++) {
		const struct file_stat *df = &d->files[j];
		struct file_stat *f = target_file(t, df->dev, df->ino, df->gen);

		if (!f || (!f->path && take_string(&f->path, df->path)))
			return -ENOMEM;
		f->count += df->count;
		f->total_ns += df->total_ns;
		f->bytes += df->bytes;
	}
	if (take_string(&t->sq.library, d->sq.library))
		return -ENOMEM;
	if (d->sq.where)
		t->sq.where = d->sq.where;
	t->sq.processes = d->sq.processes;
	t->sq.opens += d->sq.opens;
	t->sq.closes += d->sq.closes;
	t->sq.open_ns += d->sq.open_ns;
	t->sq.prep_sleeps += d->sq.prep_sleeps;
	t->sq.prep_sleep_ns += d->sq.prep_sleep_ns;
	t->sq.prep_busy += d->sq.prep_busy;
	for (size_t j = 0; j < d->sq.nstmts; j++) {
		const struct sql_stmt *ds = &d->sq.stmts[j];
		struct sql_stmt *st = target_stmt(t, ds->hash);

		if (!st || (!st->sql && take_string(&st->sql, ds->sql)))
			return -ENOMEM;
		stmt_add(st, ds);
	}
	for (size_t j = 0; j < d->sq.nfsyncs; j++) {
		const struct sq_fsync_stat *df = &d->sq.fsyncs[j];
		struct sq_fsync_stat *f = target_sq_fsync(t, df->dev, df->ino, df->gen);

		if (!f)
			return -ENOMEM;
		f->count += df->count;
		f->total_ns += df->total_ns;
	}
	{
		__u64 *tw = (__u64 *)&t->net.tcp;
		const __u64 *dw = (const __u64 *)&d->net.tcp;

		for (size_t w = 0; w < sizeof(t->net.tcp) / sizeof(__u64); w++)
			tw[w] += dw[w];
	}
	hist_add(&t->net.connect_lat, &d->net.connect_lat);
	hist_add(&t->net.accept_queue, &d->net.accept_queue);
	hist_add(&t->net.duration, &d->net.duration);
	t->net.requests += d->net.requests;
	t->net.listen_overflows += d->net.listen_overflows;
	t->net.listen_drops += d->net.listen_drops;
	if (d->net.listen_base[0] || d->net.listen_base[1])
		memcpy(t->net.listen_base, d->net.listen_base, sizeof(t->net.listen_base));
	t->net.listen_known |= d->net.listen_known;
	for (size_t j = 0; j < d->net.nroutes; j++) {
		const struct http_route *dr = &d->net.routes[j];
		struct http_route *r = target_route(t, dr->side, dr->method, dr->route);

		if (!r)
			return -ENOMEM;
		route_add(r, dr);
	}
	for (size_t j = 0; j < d->bud.nthreads; j++)
		if (thread_add(t, &d->bud.threads[j]))
			return -ENOMEM;
	if (d->bud.ncpus)
		t->bud.ncpus = d->bud.ncpus;
	t->bud.mem_bytes = d->bud.mem_bytes;
	if (d->bud.mem_peak_bytes > t->bud.mem_peak_bytes)
		t->bud.mem_peak_bytes = d->bud.mem_peak_bytes;
	return 0;
}

int model_add(struct model *dst, const struct model *delta)
{
	if (!dst->start_ns)
		dst->start_ns = delta->start_ns;
	dst->duration_ns += delta->duration_ns;
	for (int i = 0; i < CNT_MAX; i++)
		dst->counters[i] += delta->counters[i];
	for (size_t i = 0; i < delta->ntargets; i++) {
		const struct target *d = &delta->targets[i];
		struct target *t = NULL;
		int err;

		for (size_t j = 0; j < dst->ntargets && !t; j++)
			if (!strcmp(dst->targets[j].name, d->name) && !strcmp(dst->targets[j].cgroup, d->cgroup))
				t = &dst->targets[j];
		if (!t) {
			t = model_target_add(dst, d->name, d->kind);
			if (!t || take_string(&t->cgroup, d->cgroup))
				return -ENOMEM;
		}
		err = target_add_figures(t, d);
		if (err)
			return err;
	}
	return 0;
}

static bool words_zero(const void *p, size_t size)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < size / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* Keeps the entries for which keep() is true, in order; frees what the others own. */
#define PRUNE(arr, n, keep, drop) do {                          \
		size_t k_ = 0;                                          \
		for (size_t i_ = 0; i_ < (n); i_++) {                   \
			if (keep(&(arr)[i_]))                           \
				(arr)[k_++] = (arr)[i_];                \
			else                                            \
				drop(&(arr)[i_]);                       \
		}                                                       \
		(n) = k_;                                               \
	} while (0)

static bool op_kept(const struct op_stats *o) { return o->count || o->errors; }
static bool file_kept(const struct file_stat *f) { return f->count || f->total_ns || f->bytes; }
static bool stmt_kept(const struct sql_stmt *s) { return !words_zero(&s->s, sizeof(s->s)); }
static bool fsync_kept(const struct sq_fsync_stat *f) { return f->count || f->total_ns; }
static bool route_kept(const struct http_route *r) { return r->count || r->other; }
static bool thread_kept(const struct thread_stat *t) { return !words_zero(t->ns, sizeof(t->ns)) || t->exited; }
static void drop_none(const void *p) { (void)p; }
static void drop_file(struct file_stat *f) { free(f->path); }
static void drop_stmt(struct sql_stmt *s) { free(s->sql); }
static void drop_route(struct http_route *r) { free(r->route); }

void model_prune_idle(struct model *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];

		PRUNE(t->ops, t->nops, op_kept, drop_none);
		PRUNE(t->files, t->nfiles, file_kept, drop_file);
		PRUNE(t->sq.stmts, t->sq.nstmts, stmt_kept, drop_stmt);
		hindex_free(&t->files_ix);      /* positions moved: rebuilt at the next lookup */
		hindex_free(&t->sq.stmts_ix);
		PRUNE(t->sq.fsyncs, t->sq.nfsyncs, fsync_kept, drop_none);
		PRUNE(t->net.routes, t->net.nroutes, route_kept, drop_route);
		PRUNE(t->bud.threads, t->bud.nthreads, thread_kept, drop_none);
	}
}

void model_keep_top_files(struct model *m, size_t n)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];

		if (t->nfiles <= n)
			continue;
		qsort(t->files, t->nfiles, sizeof(*t->files), cmp_files);
		hindex_free(&t->files_ix);
		for (size_t j = n; j < t->nfiles; j++)
			free(t->files[j].path);
		t->nfiles = n;
	}
}
