#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/serialize.h"

#define JSON_INT_MAX (1ULL << 53)   /* doubles hold every integer up to here */
/* cJSON prints numbers with 15 significant digits when that is within DBL_EPSILON, so only
 * integers below 10^15 come out exact */
#define JSON_PRINT_MAX 999999999999999ULL
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A uint64 (or char *) member of a struct, by its JSON key. */
struct field {
	const char *name;
	size_t off;
};

#define FIELD(type, member) { #member, offsetof(type, member) }

static const struct field model_fields[] = {
	FIELD(struct model, start_ns), FIELD(struct model, duration_ns),
};
static const struct field target_fields[] = {   /* cgroup_id: with the identity */
	FIELD(struct target, added_ns),
	FIELD(struct target, stopped_ns), FIELD(struct target, syscalls), FIELD(struct target, exits),
};
static const struct field identity_fields[] = {
	FIELD(struct target, cgroup_id),
};
static const struct field ctr_fields[] = {
	FIELD(struct container_meta, runtime), FIELD(struct container_meta, id),
	FIELD(struct container_meta, image), FIELD(struct container_meta, pod),
	FIELD(struct container_meta, pod_namespace), FIELD(struct container_meta, k8s_container),
	FIELD(struct container_meta, pod_uid), FIELD(struct container_meta, qos),
};
static const struct field op_fields[] = {
	FIELD(struct op_stats, count), FIELD(struct op_stats, errors), FIELD(struct op_stats, bytes),
	FIELD(struct op_stats, sum_ns), FIELD(struct op_stats, max_ns),
};
static const struct field file_fields[] = {
	FIELD(struct file_stat, ino), FIELD(struct file_stat, count),
	FIELD(struct file_stat, total_ns), FIELD(struct file_stat, bytes),
};
static const struct field sqlite_fields[] = {
	FIELD(struct sqlite_info, processes), FIELD(struct sqlite_info, opens),
	FIELD(struct sqlite_info, closes), FIELD(struct sqlite_info, open_ns),
	FIELD(struct sqlite_info, prep_sleeps), FIELD(struct sqlite_info, prep_sleep_ns),
	FIELD(struct sqlite_info, prep_busy),
};
static const struct field stmt_fields[] = {
	FIELD(struct stmt_stats, count), FIELD(struct stmt_stats, steps),
	FIELD(struct stmt_stats, rows), FIELD(struct stmt_stats, step_ns),
	FIELD(struct stmt_stats, stmt_ns), FIELD(struct stmt_stats, stmt_ended),
	FIELD(struct stmt_stats, busy_at_once),
};
static const struct field fsync_fields[] = {
	FIELD(struct sq_fsync_stat, ino), FIELD(struct sq_fsync_stat, count),
	FIELD(struct sq_fsync_stat, total_ns),
};
static const struct field tcp_fields[] = {
	FIELD(struct tcp_stats, accepted), FIELD(struct tcp_stats, connected),
	FIELD(struct tcp_stats, refused), FIELD(struct tcp_stats, resets_sent),
	FIELD(struct tcp_stats, resets_received), FIELD(struct tcp_stats, retransmits),
	FIELD(struct tcp_stats, closed), FIELD(struct tcp_stats, bytes_in),
	FIELD(struct tcp_stats, bytes_out), FIELD(struct tcp_stats, closes_unseen),
};
static const struct field net_fields[] = {
	FIELD(struct net_info, requests), FIELD(struct net_info, listen_overflows),
	FIELD(struct net_info, listen_drops),
};
static const struct field route_fields[] = {
	FIELD(struct http_route, count), FIELD(struct http_route, other),
	FIELD(struct http_route, lat_sum_ns),
};
static const struct field thread_fields[] = {
	FIELD(struct thread_stat, first_ns), FIELD(struct thread_stat, last_ns),
};
static const struct field budget_fields[] = {
	FIELD(struct budget_info, mem_bytes), FIELD(struct budget_info, mem_peak_bytes),
};

static const char *const where_names[] = { "mapped", "static", "candidate" };

/* Writing. Every builder returns NULL when out of memory, having freed what it made. */

bool serialize_add(cJSON *o, const char *key, cJSON *v)
{
	if (!v)
		return false;
	if (!o || !cJSON_AddItemToObject(o, key, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

static bool push(cJSON *arr, cJSON *v)
{
	if (!v)
		return false;
	if (!arr || !cJSON_AddItemToArray(arr, v)) {
		cJSON_Delete(v);
		return false;
	}
	return true;
}

static cJSON *done(cJSON *o, bool ok)
{
	if (ok)
		return o;
	cJSON_Delete(o);
	return NULL;
}

cJSON *serialize_u64(uint64_t v)
{
	char buf[24];

	if (v <= JSON_PRINT_MAX)
		return cJSON_CreateNumber((double)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return cJSON_CreateString(buf);
}

static cJSON *pair_json(double a, cJSON *b)
{
	cJSON *p = cJSON_CreateArray();

	if (!push(p, cJSON_CreateNumber(a))) {
		cJSON_Delete(b);
		cJSON_Delete(p);
		return NULL;
	}
	return done(p, push(p, b));
}

/* Through memcpy: the members are uint64_t or the BPF headers' __u64, two types to the
 * compiler's aliasing rules. */
static uint64_t load_u64(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void store_u64(void *base, size_t off, uint64_t v)
{
	memcpy((char *)base + off, &v, sizeof(v));
}

static bool fields_put(cJSON *o, const void *base, const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!serialize_add(o, f[i].name, serialize_u64(load_u64(base, f[i].off))))
			return false;
	return true;
}

/* Only the strings that are set: a missing key reads back as NULL. */
static cJSON *strings_json(const void *base, const struct field *f, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		const char *s = *(char *const *)((const char *)base + f[i].off);

		if (s)
			ok = serialize_add(o, f[i].name, cJSON_CreateString(s));
	}
	return done(o, ok);
}

static cJSON *u64_array_json(const uint64_t *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < n; i++)
		ok = push(a, serialize_u64(v[i]));
	return done(a, ok);
}

/* The non-zero values as runs [[start, v, v, ...], ...]: a run goes on over gaps of up to
 * SPARSE_GAP zeros, which it writes (a histogram's buckets come in clusters; [index, value]
 * pairs repeated every index). A run of one value is the pair [index, value]. */
#define SPARSE_GAP 2

static cJSON *sparse_json(const uint64_t *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		size_t end = i, j;
		cJSON *run;

		if (!v[i])
			continue;
		/* the run ends at the last value before more than SPARSE_GAP zeros */
		for (j = i + 1; j < n && j <= end + SPARSE_GAP + 1; j++)
			if (v[j])
				end = j;
		run = cJSON_CreateArray();
		ok = run && push(run, cJSON_CreateNumber((double)i));
		for (j = i; ok && j <= end; j++)
			ok = push(run, serialize_u64(v[j]));
		ok = ok ? push(a, run) : (cJSON_Delete(run), false);
		i = end;
	}
	return done(a, ok);
}

static cJSON *hist_json(const struct hist *h)
{
	return sparse_json(h->b, HIST_BUCKETS);
}

/* {name: value} of the non-zero values */
static cJSON *named_json(const void *v, unsigned n, const char *(*name)(unsigned))
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	for (unsigned i = 0; ok && i < n; i++)
		if (load_u64(v, i * sizeof(uint64_t)))
			ok = serialize_add(o, name(i),
					   serialize_u64(load_u64(v, i * sizeof(uint64_t))));
	return done(o, ok);
}

static cJSON *pids_json(const struct target *t)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < t->npids; i++)
		ok = push(a, pair_json(t->pids[i], cJSON_CreateNumber(t->nspids ? t->nspids[i] : 0)));
	return done(a, ok);
}

static cJSON *ops_json(const struct target *t)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < t->nops; i++) {
		const struct op_stats *s = &t->ops[i];
		cJSON *o = cJSON_CreateObject();
		const char *op = model_op_name(s->op), *kind = model_fd_kind_name(s->fd_kind);

		ok = push(a, done(o, serialize_add(o, "op", cJSON_CreateString(op)) &&
				     serialize_add(o, "fd_kind", cJSON_CreateString(kind)) &&
				     fields_put(o, s, op_fields, ARRAY_LEN(op_fields)) &&
				     serialize_add(o, "hist", hist_json(&s->hist))));
	}
	return done(a, ok);
}

static cJSON *files_json(const struct target *t)
{
	cJSON *a = cJSON_CreateArray();
	bool ok = a != NULL;

	for (size_t i = 0; ok && i < t->nfiles; i++) {
		const struct file_stat *f = &t->files[i];
		cJSON *o = cJSON_CreateObject();

		ok = push(a, done(o, serialize_add(o, "dev", cJSON_CreateNumber(f->dev)) &&
				     serialize_add(o, "gen", cJSON_CreateNumber(f->gen)) &&
				     fields_put(o, f, file_fields, ARRAY_LEN(file_fields)) &&
				     (!f->path || serialize_add(o, "path", cJSON_CreateString(f->path)))));
	}
	return done(a, ok);
}

static cJSON *stmt_json(const struct sql_stmt *s)
{
	cJSON *o = cJSON_CreateObject();

	return done(o, serialize_add(o, "hash", serialize_u64(s->hash)) &&
		       (!s->sql || serialize_add(o, "sql", cJSON_CreateString(s->sql))) &&
		       fields_put(o, &s->s, stmt_fields, ARRAY_LEN(stmt_fields)) &&
		       serialize_add(o, "rc", named_json(s->s.rc, RC_MAX, model_rc_name)) &&
		       serialize_add(o, "split_ns", named_json(s->s.split_ns, SPLIT_MAX, model_split_name)) &&
		       serialize_add(o, "step_hist", hist_json(&s->step_hist)) &&
		       serialize_add(o, "stmt_hist", hist_json(&s->stmt_hist)));
}

static cJSON *sqlite_json(const struct sqlite_info *q)
{
	cJSON *o = cJSON_CreateObject(), *stmts = NULL, *fsyncs = NULL;
	bool ok = (!q->library || serialize_add(o, "library", cJSON_CreateString(q->library))) &&
		  (!q->where || serialize_add(o, "where", cJSON_CreateString(q->where))) &&
		  fields_put(o, q, sqlite_fields, ARRAY_LEN(sqlite_fields)) &&
		  serialize_add(o, "statements", stmts = cJSON_CreateArray()) &&
		  serialize_add(o, "fsyncs", fsyncs = cJSON_CreateArray());

	for (size_t i = 0; ok && i < q->nstmts; i++)
		ok = push(stmts, stmt_json(&q->stmts[i]));
	for (size_t i = 0; ok && i < q->nfsyncs; i++) {
		const struct sq_fsync_stat *f = &q->fsyncs[i];
		cJSON *e = cJSON_CreateObject();

		ok = push(fsyncs, done(e, serialize_add(e, "dev", cJSON_CreateNumber(f->dev)) &&
					  serialize_add(e, "gen", cJSON_CreateNumber(f->gen)) &&
					  fields_put(e, f, fsync_fields, ARRAY_LEN(fsync_fields))));
	}
	return done(o, ok);
}

static cJSON *route_json(const struct http_route *r)
{
	cJSON *o = cJSON_CreateObject(), *codes = NULL;
	bool ok = serialize_add(o, "side", cJSON_CreateNumber(r->side)) &&
		  serialize_add(o, "method", cJSON_CreateString(r->method)) &&
		  serialize_add(o, "route", cJSON_CreateString(r->route)) &&
		  fields_put(o, r, route_fields, ARRAY_LEN(route_fields)) &&
		  serialize_add(o, "status", u64_array_json(r->status, ARRAY_LEN(r->status))) &&
		  serialize_add(o, "codes", codes = cJSON_CreateArray()) &&
		  serialize_add(o, "lat", hist_json(&r->lat));

	/* every code, a zero count too: an interval keeps the codes the cumulative model had */
	for (int i = 0; ok && i < r->ncodes; i++)
		ok = push(codes, pair_json(r->codes[i].code, serialize_u64(r->codes[i].count)));
	return done(o, ok);
}

static cJSON *net_json(const struct net_info *n)
{
	cJSON *o = cJSON_CreateObject(), *tcp = NULL, *routes = NULL;
	bool ok = serialize_add(o, "tcp", tcp = cJSON_CreateObject()) &&
		  fields_put(tcp, &n->tcp, tcp_fields, ARRAY_LEN(tcp_fields)) &&
		  serialize_add(o, "connect_lat", hist_json(&n->connect_lat)) &&
		  serialize_add(o, "accept_queue", hist_json(&n->accept_queue)) &&
		  serialize_add(o, "duration", hist_json(&n->duration)) &&
		  fields_put(o, n, net_fields, ARRAY_LEN(net_fields)) &&
		  serialize_add(o, "listen_base", u64_array_json(n->listen_base, ARRAY_LEN(n->listen_base))) &&
		  serialize_add(o, "listen_known", cJSON_CreateBool(n->listen_known)) &&
		  serialize_add(o, "routes", routes = cJSON_CreateArray());

	for (size_t i = 0; ok && i < n->nroutes; i++)
		ok = push(routes, route_json(&n->routes[i]));
	return done(o, ok);
}

static cJSON *budget_json(const struct budget_info *b)
{
	cJSON *o = cJSON_CreateObject(), *threads = NULL;
	bool ok = serialize_add(o, "ncpus", cJSON_CreateNumber(b->ncpus)) &&
		  fields_put(o, b, budget_fields, ARRAY_LEN(budget_fields)) &&
		  serialize_add(o, "threads", threads = cJSON_CreateArray());

	for (size_t i = 0; ok && i < b->nthreads; i++) {
		const struct thread_stat *th = &b->threads[i];
		char comm[sizeof(th->comm) + 1] = "";
		cJSON *e = cJSON_CreateObject();

		memcpy(comm, th->comm, sizeof(th->comm));
		ok = push(threads, done(e, serialize_add(e, "tid", cJSON_CreateNumber(th->tid)) &&
					   serialize_add(e, "tgid", cJSON_CreateNumber(th->tgid)) &&
					   serialize_add(e, "comm", cJSON_CreateString(comm)) &&
					   fields_put(e, th, thread_fields, ARRAY_LEN(thread_fields)) &&
					   serialize_add(e, "exited", cJSON_CreateBool(th->exited)) &&
					   serialize_add(e, "ns", named_json(th->ns, BUD_MAX, model_budget_name)) &&
					   serialize_add(e, "req_ns", named_json(th->req_ns, BUD_MAX, model_budget_name))));
	}
	return done(o, ok);
}

static bool identity_put(cJSON *o, const struct target *t)
{
	return serialize_add(o, "name", cJSON_CreateString(t->name)) &&
	       serialize_add(o, "kind", cJSON_CreateString(model_target_kind_name(t->kind))) &&
	       serialize_add(o, "cgroup", cJSON_CreateString(t->cgroup)) &&
	       fields_put(o, t, identity_fields, ARRAY_LEN(identity_fields)) &&
	       serialize_add(o, "pids", pids_json(t)) &&
	       serialize_add(o, "container", strings_json(&t->ctr, ctr_fields, ARRAY_LEN(ctr_fields)));
}

cJSON *serialize_target_identity(const struct target *t)
{
	cJSON *o = cJSON_CreateObject();

	return done(o, identity_put(o, t));
}

static cJSON *target_json(const struct target *t)
{
	cJSON *o = cJSON_CreateObject();

	return done(o, identity_put(o, t) &&
		       fields_put(o, t, target_fields, ARRAY_LEN(target_fields)) &&
		       serialize_add(o, "sys_count", sparse_json(t->sys_count, IOGAP_NR_SYSCALLS)) &&
		       serialize_add(o, "sys_errors", sparse_json(t->sys_errors, IOGAP_NR_SYSCALLS)) &&
		       serialize_add(o, "ops", ops_json(t)) &&
		       serialize_add(o, "files", files_json(t)) &&
		       serialize_add(o, "sqlite", sqlite_json(&t->sq)) &&
		       serialize_add(o, "net", net_json(&t->net)) &&
		       serialize_add(o, "budget", budget_json(&t->bud)));
}

cJSON *model_serialize(const struct model *m)
{
	cJSON *o = cJSON_CreateObject(), *targets = NULL;
	bool ok = fields_put(o, m, model_fields, ARRAY_LEN(model_fields)) &&
		  serialize_add(o, "counters", u64_array_json(m->counters, CNT_MAX)) &&
		  serialize_add(o, "targets", targets = cJSON_CreateArray());

	for (size_t i = 0; ok && i < m->ntargets; i++)
		ok = push(targets, target_json(&m->targets[i]));
	return done(o, ok);
}

/* Reading. Every reader returns 0, -EINVAL or -ENOMEM; what it allocates hangs off the model
 * at once, so model_free() of the half-read model frees it all. */

int deserialize_u64(const cJSON *j, uint64_t *v)
{
	const char *s;
	uint64_t x = 0;

	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		if (!(d >= 0 && d <= (double)JSON_INT_MAX) || (double)(uint64_t)d != d)
			return -EINVAL;
		*v = (uint64_t)d;
		return 0;
	}
	if (!cJSON_IsString(j) || !*(s = j->valuestring))
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

static int int_get(const cJSON *j, long long lo, long long hi, long long *v)
{
	double d;

	if (!cJSON_IsNumber(j))
		return -EINVAL;
	d = j->valuedouble;
	if (!(d >= (double)lo && d <= (double)hi) || (double)(long long)d != d)
		return -EINVAL;
	*v = (long long)d;
	return 0;
}

/* A member that may be missing: NULL then, and -EINVAL when present with another type. */
static int member(const cJSON *o, const char *key, int type, const cJSON **out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (!j || cJSON_IsNull(j))
		return 0;
	if ((j->type & 0xff) != type)
		return -EINVAL;
	*out = j;
	return 0;
}

static int int_member(const cJSON *o, const char *key, long long lo, long long hi, long long *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	*v = 0;
	return j ? int_get(j, lo, hi, v) : 0;
}

static int bool_member(const cJSON *o, const char *key, bool *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	*v = cJSON_IsTrue(j);
	return !j || cJSON_IsBool(j) ? 0 : -EINVAL;
}

/* A string that must be there. */
static const char *string_member(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int strdup_to(char **dst, const char *s)
{
	char *p = strdup(s);

	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static int fields_get(const cJSON *o, void *base, const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, f[i].name);
		uint64_t v = 0;

		if (j && deserialize_u64(j, &v))
			return -EINVAL;
		store_u64(base, f[i].off, v);
	}
	return 0;
}

static int strings_get(const cJSON *o, void *base, const struct field *f, size_t n)
{
	for (size_t i = 0; o && i < n; i++) {
		const cJSON *j;
		int err = member(o, f[i].name, cJSON_String, &j);

		if (err || (j && (err = strdup_to((char **)((char *)base + f[i].off), j->valuestring))))
			return err;
	}
	return 0;
}

/* Entries past n (from a newer build) are ignored. */
static int u64_array_get(const cJSON *o, const char *key, uint64_t *v, size_t n)
{
	const cJSON *a, *e;
	size_t i = 0;

	memset(v, 0, n * sizeof(*v));
	if (member(o, key, cJSON_Array, &a))
		return -EINVAL;
	cJSON_ArrayForEach(e, a) {
		if (i < n && deserialize_u64(e, &v[i]))
			return -EINVAL;
		i++;
	}
	return 0;
}

static int pair_get(const cJSON *p, long long lo, long long hi, long long *a, const cJSON **b)
{
	if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 2)
		return -EINVAL;
	*b = p->child->next;
	return int_get(p->child, lo, hi, a);
}

static int sparse_get(const cJSON *o, const char *key, uint64_t *v, size_t n)
{
	const cJSON *a, *run, *e;
	long long i;

	memset(v, 0, n * sizeof(*v));
	if (member(o, key, cJSON_Array, &a))
		return -EINVAL;
	cJSON_ArrayForEach(run, a) {
		if (!cJSON_IsArray(run) || cJSON_GetArraySize(run) < 2 ||
		    int_get(run->child, 0, (long long)n - 1, &i))
			return -EINVAL;
		for (e = run->child->next; e; e = e->next, i++)
			if (i >= (long long)n || deserialize_u64(e, &v[i]))
				return -EINVAL;
	}
	return 0;
}

static int hist_get(const cJSON *o, const char *key, struct hist *h)
{
	return sparse_get(o, key, h->b, HIST_BUCKETS);
}

static int name_index(const char *s, unsigned n, const char *(*name)(unsigned))
{
	for (unsigned i = 0; s && i < n; i++)
		if (!strcmp(name(i), s))
			return (int)i;
	return -1;
}

static int named_get(const cJSON *o, const char *key, void *v, unsigned n,
		     const char *(*name)(unsigned))
{
	const cJSON *obj, *e;

	memset(v, 0, n * sizeof(uint64_t));
	if (member(o, key, cJSON_Object, &obj))
		return -EINVAL;
	cJSON_ArrayForEach(e, obj) {
		int i = name_index(e->string, n, name);
		uint64_t x;

		if (deserialize_u64(e, &x))
			return -EINVAL;
		if (i >= 0)
			store_u64(v, (size_t)i * sizeof(uint64_t), x);
	}
	return 0;
}

/* n entries of size bytes from what is left: a few bytes of JSON can claim kilobytes of
 * model (a histogram each), so the reader of an untrusted file sets a bound. */
static int charge(size_t *left, size_t n, size_t size)
{
	if (n && n > *left / size)
		return -E2BIG;
	*left -= n * size;
	return 0;
}

/* Each object of the array member key, to one(t, object), entries of size bytes charged
 * first; one returns 0, -EINVAL, -ENOMEM. */
static int each(const cJSON *o, const char *key, struct target *t, size_t size, size_t *left,
		int (*one)(struct target *t, const cJSON *e))
{
	const cJSON *a, *e;
	int err;

	if (member(o, key, cJSON_Array, &a))
		return -EINVAL;
	if ((err = charge(left, (size_t)cJSON_GetArraySize(a), size)))
		return err;
	cJSON_ArrayForEach(e, a) {
		if (!cJSON_IsObject(e))
			return -EINVAL;
		if ((err = one(t, e)))
			return err;
	}
	return 0;
}

static int pid_get(struct target *t, const cJSON *p)
{
	long long pid, nspid;
	const cJSON *ns;

	if (pair_get(p, 0, INT_MAX, &pid, &ns) || int_get(ns, 0, INT_MAX, &nspid))
		return -EINVAL;
	return target_pid_set_ns(t, (pid_t)pid, (pid_t)nspid);
}

static int op_get(struct target *t, const cJSON *e)
{
	const char *op = string_member(e, "op"), *kind = string_member(e, "fd_kind");
	int o = name_index(op, IOP_MAX, model_op_name);
	int k = name_index(kind, FDK_KIND_MAX, model_fd_kind_name);
	struct op_stats *s;

	if (!op || !kind)
		return -EINVAL;
	if (o < 0 || k < 0)
		return 0;   /* an op or fd kind of a newer build */
	s = target_op(t, (unsigned)o, (unsigned)k);
	if (!s)
		return -ENOMEM;
	if (fields_get(e, s, op_fields, ARRAY_LEN(op_fields)) || hist_get(e, "hist", &s->hist))
		return -EINVAL;
	return 0;
}

static int file_get(struct target *t, const cJSON *e)
{
	long long dev, gen;
	uint64_t ino;
	const cJSON *ino_j = cJSON_GetObjectItemCaseSensitive(e, "ino"), *path;
	struct file_stat *f;

	if (int_member(e, "dev", 0, UINT32_MAX, &dev) || int_member(e, "gen", 0, UINT32_MAX, &gen) ||
	    !ino_j || deserialize_u64(ino_j, &ino) || member(e, "path", cJSON_String, &path))
		return -EINVAL;
	f = target_file(t, (uint32_t)dev, ino, (uint32_t)gen);
	if (!f)
		return -ENOMEM;
	if (fields_get(e, f, file_fields, ARRAY_LEN(file_fields)))
		return -EINVAL;
	return path ? strdup_to(&f->path, path->valuestring) : 0;
}

static int stmt_get(struct target *t, const cJSON *e)
{
	const cJSON *hash_j = cJSON_GetObjectItemCaseSensitive(e, "hash"), *sql;
	struct sql_stmt *s;
	uint64_t hash;

	if (!hash_j || deserialize_u64(hash_j, &hash) || member(e, "sql", cJSON_String, &sql))
		return -EINVAL;
	s = target_stmt(t, hash);
	if (!s)
		return -ENOMEM;
	if (fields_get(e, &s->s, stmt_fields, ARRAY_LEN(stmt_fields)) ||
	    named_get(e, "rc", s->s.rc, RC_MAX, model_rc_name) ||
	    named_get(e, "split_ns", s->s.split_ns, SPLIT_MAX, model_split_name) ||
	    hist_get(e, "step_hist", &s->step_hist) || hist_get(e, "stmt_hist", &s->stmt_hist))
		return -EINVAL;
	return sql ? strdup_to(&s->sql, sql->valuestring) : 0;
}

static int fsync_get(struct target *t, const cJSON *e)
{
	long long dev, gen;
	uint64_t ino;
	const cJSON *ino_j = cJSON_GetObjectItemCaseSensitive(e, "ino");
	struct sq_fsync_stat *f;

	if (int_member(e, "dev", 0, UINT32_MAX, &dev) || int_member(e, "gen", 0, UINT32_MAX, &gen) ||
	    !ino_j || deserialize_u64(ino_j, &ino))
		return -EINVAL;
	f = target_sq_fsync(t, (uint32_t)dev, ino, (uint32_t)gen);
	if (!f)
		return -ENOMEM;
	return fields_get(e, f, fsync_fields, ARRAY_LEN(fsync_fields));
}

static int sqlite_get(struct target *t, const cJSON *o, size_t *left)
{
	struct sqlite_info *q = &t->sq;
	const cJSON *lib, *where;
	int err, w;

	if (!o)
		return 0;
	if (member(o, "library", cJSON_String, &lib) || member(o, "where", cJSON_String, &where) ||
	    fields_get(o, q, sqlite_fields, ARRAY_LEN(sqlite_fields)))
		return -EINVAL;
	if (lib && (err = strdup_to(&q->library, lib->valuestring)))
		return err;
	if (where) {
		for (w = 0; w < (int)ARRAY_LEN(where_names); w++)
			if (!strcmp(where->valuestring, where_names[w]))
				q->where = where_names[w];
	}
	if ((err = each(o, "statements", t, sizeof(struct sql_stmt), left, stmt_get)))
		return err;
	return each(o, "fsyncs", t, sizeof(struct sq_fsync_stat), left, fsync_get);
}

static int route_get(struct target *t, const cJSON *e)
{
	const char *method = string_member(e, "method"), *route = string_member(e, "route");
	const cJSON *codes, *c, *count;
	struct http_route *r;
	long long side, code;

	if (!method || !route || strlen(method) >= sizeof(r->method) ||
	    int_member(e, "side", 0, UINT8_MAX, &side) || member(e, "codes", cJSON_Array, &codes) ||
	    cJSON_GetArraySize(codes) > HTTP_MAX_CODES)
		return -EINVAL;
	r = target_route(t, (int)side, method, route);
	if (!r)
		return -ENOMEM;
	if (fields_get(e, r, route_fields, ARRAY_LEN(route_fields)) ||
	    u64_array_get(e, "status", r->status, ARRAY_LEN(r->status)) || hist_get(e, "lat", &r->lat))
		return -EINVAL;
	memset(r->codes, 0, sizeof(r->codes));
	r->ncodes = 0;
	cJSON_ArrayForEach(c, codes) {
		if (pair_get(c, INT_MIN, INT_MAX, &code, &count) ||
		    deserialize_u64(count, &r->codes[r->ncodes].count))
			return -EINVAL;
		r->codes[r->ncodes++].code = (int)code;
	}
	return 0;
}

static int net_get(struct target *t, const cJSON *o, size_t *left)
{
	struct net_info *n = &t->net;
	const cJSON *tcp;

	if (!o)
		return 0;
	if (member(o, "tcp", cJSON_Object, &tcp) ||
	    (tcp && fields_get(tcp, &n->tcp, tcp_fields, ARRAY_LEN(tcp_fields))) ||
	    hist_get(o, "connect_lat", &n->connect_lat) || hist_get(o, "accept_queue", &n->accept_queue) ||
	    hist_get(o, "duration", &n->duration) || fields_get(o, n, net_fields, ARRAY_LEN(net_fields)) ||
	    u64_array_get(o, "listen_base", n->listen_base, ARRAY_LEN(n->listen_base)) ||
	    bool_member(o, "listen_known", &n->listen_known))
		return -EINVAL;
	return each(o, "routes", t, sizeof(struct http_route), left, route_get);
}

static int thread_get(struct target *t, const cJSON *e)
{
	const char *comm = string_member(e, "comm");
	long long tid, tgid;
	struct thread_stat *th;

	if (!comm || strlen(comm) > sizeof(th->comm) || int_member(e, "tid", 0, UINT32_MAX, &tid) ||
	    int_member(e, "tgid", 0, UINT32_MAX, &tgid))
		return -EINVAL;
	th = target_thread(t, (uint32_t)tid);
	if (!th)
		return -ENOMEM;
	th->tgid = (uint32_t)tgid;
	memset(th->comm, 0, sizeof(th->comm));
	memcpy(th->comm, comm, strlen(comm));
	if (fields_get(e, th, thread_fields, ARRAY_LEN(thread_fields)) ||
	    bool_member(e, "exited", &th->exited) ||
	    named_get(e, "ns", th->ns, BUD_MAX, model_budget_name) ||
	    named_get(e, "req_ns", th->req_ns, BUD_MAX, model_budget_name))
		return -EINVAL;
	return 0;
}

static int budget_get(struct target *t, const cJSON *o, size_t *left)
{
	long long ncpus;

	if (!o)
		return 0;
	if (int_member(o, "ncpus", INT_MIN, INT_MAX, &ncpus) ||
	    fields_get(o, &t->bud, budget_fields, ARRAY_LEN(budget_fields)))
		return -EINVAL;
	t->bud.ncpus = (int)ncpus;
	return each(o, "threads", t, sizeof(struct thread_stat), left, thread_get);
}

static const char *kind_name(unsigned kind)
{
	return model_target_kind_name((enum target_kind)kind);
}

static int target_get(struct model *m, const cJSON *o, size_t *left)
{
	const char *name = string_member(o, "name"), *cgroup = string_member(o, "cgroup");
	int kind = name_index(string_member(o, "kind"), TARGET_COMMAND + 1, kind_name);
	const cJSON *ctr, *sq, *net, *bud;
	struct target *t;
	int err;

	if (!name || !cgroup || kind < 0 || member(o, "container", cJSON_Object, &ctr) ||
	    member(o, "sqlite", cJSON_Object, &sq) || member(o, "net", cJSON_Object, &net) ||
	    member(o, "budget", cJSON_Object, &bud))
		return -EINVAL;
	t = model_target_add(m, name, (enum target_kind)kind);
	if (!t || strdup_to(&t->cgroup, cgroup))
		return -ENOMEM;
	if (fields_get(o, t, target_fields, ARRAY_LEN(target_fields)) ||
	    fields_get(o, t, identity_fields, ARRAY_LEN(identity_fields)) ||
	    sparse_get(o, "sys_count", t->sys_count, IOGAP_NR_SYSCALLS) ||
	    sparse_get(o, "sys_errors", t->sys_errors, IOGAP_NR_SYSCALLS))
		return -EINVAL;
	if ((err = strings_get(ctr, &t->ctr, ctr_fields, ARRAY_LEN(ctr_fields))))
		return err;
	{
		const cJSON *pids, *p;

		if (member(o, "pids", cJSON_Array, &pids))
			return -EINVAL;
		if ((err = charge(left, (size_t)cJSON_GetArraySize(pids), 2 * sizeof(pid_t))))
			return err;
		cJSON_ArrayForEach(p, pids)
			if ((err = pid_get(t, p)))
				return err;
	}
	if ((err = each(o, "ops", t, sizeof(struct op_stats), left, op_get)) ||
	    (err = each(o, "files", t, sizeof(struct file_stat), left, file_get)) ||
	    (err = sqlite_get(t, sq, left)) || (err = net_get(t, net, left)) ||
	    (err = budget_get(t, bud, left)))
		return err;
	return 0;
}

int model_deserialize(const cJSON *j, struct model *out)
{
	size_t unbounded = SIZE_MAX;

	return model_deserialize_bounded(j, out, &unbounded);
}

int model_deserialize_bounded(const cJSON *j, struct model *out, size_t *budget)
{
	const cJSON *targets, *e;
	int err;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(j))
		return -EINVAL;
	err = fields_get(j, out, model_fields, ARRAY_LEN(model_fields));
	if (!err)
		err = u64_array_get(j, "counters", out->counters, CNT_MAX);
	if (!err)
		err = member(j, "targets", cJSON_Array, &targets);
	if (!err)
		err = charge(budget, (size_t)cJSON_GetArraySize(targets), sizeof(struct target));
	if (!err) {
		cJSON_ArrayForEach(e, targets)
			if (!cJSON_IsObject(e) || (err = target_get(out, e, budget))) {
				err = err ? err : -EINVAL;
				break;
			}
	}
	if (err)
		model_free(out);
	return err;
}
