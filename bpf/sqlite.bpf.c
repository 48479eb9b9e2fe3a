// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SQLite: uprobes on libsqlite3 (or a static executable), attached per target process by user
 * space. The statement's SQL text is read at prepare and sent once per distinct text; steps,
 * rows, result codes and latencies accumulate per {target, text hash}; time inside
 * sqlite3_step/exec is split by the syscalls the thread makes meanwhile (syscalls.bpf.c adds
 * them to the shared thread state while sq_depth > 0).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sqlite.h"
#include "histogram.h"
#include "filter.bpf.h"
#include "thread.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SQLITE_OK 0
#define SQLITE_BUSY 5
#define SQLITE_LOCKED 6
#define SQLITE_CONSTRAINT 19
#define SQLITE_MISUSE 21
#define SQLITE_ROW 100
#define SQLITE_DONE 101

/* The statements seen, by address. Where sqlite3_finalize is unprobed, a finalized one stays
 * until the least recently used entries make room or a new statement takes its address (the
 * prepare's return then ends an execution it left open). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct stmt_key);
	__type(value, struct stmt_state);
} stmts SEC(".maps");

/*
 * Per {target, text hash}: its entry in sq_stats, + 1 (user space reads the figures through
 * it). A statement keeps the number in its stmts entry, so that a step or a reset finds its
 * figures by an array lookup the verifier inlines instead of a hash lookup: the uprobes run
 * between stretches of the application's own code, which leave little of their maps cached.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SQ_STATS_MAX);
	__type(key, struct sq_key);
	__type(value, __u32);
} sq_index SEC(".maps");
__u64 sq_next = 0;        /* sq_stats' entries handed out */

/* Per CPU: plain adds in the uprobes, no cache line shared between CPUs (user space sums). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SQ_STATS_MAX);
	__type(key, __u32);
	__type(value, struct stmt_stats);
} sq_stats SEC(".maps");

/*
 * Latency histograms: those of the first SQ_HIST_ARRAY pairs numbered in sq_stats in rows of
 * an array (a bucket is an inlined array lookup and an atomic add: the hash's bucket chains,
 * key compares and per-CPU pointer were each step's largest cost in a server, found by
 * sampling the CPU); the others sparse, one hash entry per used bucket (per CPU).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SQ_HIST_ARRAY * 2);
	__type(key, __u32);
	__type(value, struct sq_hist_row);
} sq_hist_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct sq_hist_key);
	__type(value, __u64);
} sq_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IOGAP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct sq_slot_stats);
} sq_slots SEC(".maps");

/* Texts already sent to user space, by hash. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} sql_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sql_text_event);
} sql_scratch SEC(".maps");

/* Per process: where SQLite's statement (its Vdbe) keeps its SQL and its count of executions,
 * when user space could measure them for the library this process uses (struct sq_offs). The
 * SQL names a statement prepared before tracing began at its first step; the count tells a
 * step that begins an execution from one that goes on with it, so that neither sqlite3_reset
 * nor sqlite3_finalize needs a probe (user space attaches none then). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IOGAP_MAX_TGIDS);
	__type(key, __u32);
	__type(value, struct sq_offs);
} sq_offs SEC(".maps");

static __always_inline struct thread_state *thread(bool create)
{
	return bpf_task_storage_get(&thread_states, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

/*
 * The current thread's state, made if need be, and its target's slot in *slot; NULL if it is
 * not a target's. The probes are attached in target processes only: a thread that has made a
 * syscall since tracing began has its target in its state (sys_enter keeps it, checked against
 * the thread's cgroup at every syscall), so only the others pay the filter's lookups.
 */
static __always_inline struct thread_state *target_thread(int *slot)
{
	struct thread_state *ts = thread_state_of(bpf_get_current_task_btf());

	if (ts && ts->slot_known && ts->slot < IOGAP_MAX_SLOTS) {
		*slot = ts->slot;
		return ts;
	}
	*slot = target_slot();
	if (*slot < 0)
		return NULL;
	return ts ? ts : thread(true);
}

/* The current thread's state if it has one (a return probe's: its entry made it). */
static __always_inline struct thread_state *current_state(void)
{
	return thread_state_of(bpf_get_current_task_btf());
}

/* Hashes the n bytes of text in the scratch s (truncated: the statement's text goes on past
 * them) and sends them to user space the first time this text is seen. Returns the hash (never
 * 0). */
static __always_inline __u64 sql_send(__u32 slot, struct sql_text_event *s, __u32 n, bool utf16,
				      bool truncated)
{
	struct sql_text_event *e;
	__u64 h = 14695981039346656037ULL;
	__u8 one = 1;

	/* 8 bytes a round, at most 64 rounds (a byte a round: a 190-byte statement's prepare
	 * return took 1381 ns, now 1262, by the kernel's BPF statistics); the last word masked
	 * to the text, as the scratch holds an older text past it */
	for (__u32 i = 0; i < SQL_TEXT_MAX / 8; i++) {
		__u32 left = n - i * 8;
		__u64 w;

		if (i * 8 >= n)
			break;
		w = *(__u64 *)&s->text[i * 8];
		if (left < 8)
			w &= (1ULL << (left * 8)) - 1;
		h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
		h ^= h >> 32;
	}
	h ^= n | (__u64)utf16 << 32;
	if (!h)
		h = 1;
	if (bpf_map_lookup_elem(&sql_seen, &h))
		return h;
	e = event_reserve(sizeof(*e));
	if (!e)
		return h;         /* not marked seen: sent with a later prepare */
	bpf_map_update_elem(&sql_seen, &h, &one, BPF_ANY);
	event_fill_hdr(&e->hdr, EV_SQL_TEXT, slot);
	e->hash = h;
	e->len = n;
	e->truncated = truncated;
	e->utf16 = utf16;
	e->pad = 0;
	bpf_probe_read_kernel(e->text, sizeof(e->text), s->text);
	event_submit(e, false);
	return h;
}

/* Reads the SQL text at sql (at most len bytes when len > 0), hashes it, and sends it to user
 * space the first time this text is seen. Returns the hash (never 0). */
static __always_inline __u64 sql_capture(__u32 slot, const char *sql, long len)
{
	struct sql_text_event *s;
	__u32 zero = 0;
	long got;

	s = bpf_map_lookup_elem(&sql_scratch, &zero);
	if (!s || !sql)
		return 1;
	if (len <= 0 || len > SQL_TEXT_MAX - 1)
		len = SQL_TEXT_MAX - 1;
	got = bpf_probe_read_user_str(s->text, (len & (SQL_TEXT_MAX - 1)) + 1, sql);
	if (got <= 0)
		return 1;
	return sql_send(slot, s, got - 1, false, got - 1 >= SQL_TEXT_MAX - 1);
}

/* The same for a UTF-16 text (sqlite3_prepare16*) of len bytes, or up to its 0 code unit when
 * len < 0; at most SQL_TEXT_MAX - 8 bytes (252 code units) are kept. */
static __always_inline __u64 sql_capture16(__u32 slot, const char *sql, long len)
{
	struct sql_text_event *s;
	__u32 zero = 0, n;
	bool cut = len < 0 || len > SQL_TEXT_MAX - 8;   /* unless its 0 code unit comes first */

	s = bpf_map_lookup_elem(&sql_scratch, &zero);
	if (!s || !sql)
		return 1;
	if (cut)
		len = SQL_TEXT_MAX - 8;
	n = len & (SQL_TEXT_MAX - 2);        /* even, below SQL_TEXT_MAX */
	if (!n || bpf_probe_read_user(s->text, n & (SQL_TEXT_MAX - 2), sql))
		return 1;
	/* its end: the first 0 code unit, 4 units a round (a 16-bit lane of w is 0 where
	 * (w - 0x0001...) & ~w has its top bit: the lowest such lane is the first 0) */
	for (__u32 i = 0; i < SQL_TEXT_MAX / 8; i++) {
		__u64 w, z;

		if (i * 8 >= n)
			break;
		w = *(__u64 *)&s->text[i * 8];
		z = (w - 0x0001000100010001ULL) & ~w & 0x8000800080008000ULL;
		if (z) {
			__u32 at = i * 8 + (z & 0x8000 ? 0 : z & 0x80000000ULL ? 2 :
					    z & 0x800000000000ULL ? 4 : 6);

			if (at < n) {
				n = at;
				cut = false;
			}
			break;
		}
	}
	return sql_send(slot, s, n, true, cut);
}

/* The entry of (slot, hash) in sq_stats, + 1, taken on first use; 0 once sq_stats is full. */
static __always_inline __u32 stats_index(__u32 slot, __u64 hash)
{
	struct sq_key k = { .hash = hash, .slot = slot };
	__u32 *i = bpf_map_lookup_elem(&sq_index, &k), n;

	if (i)
		return *i;
	n = __sync_fetch_and_add(&sq_next, 1) + 1;
	if (n > SQ_STATS_MAX)
		return 0;
	if (bpf_map_update_elem(&sq_index, &k, &n, BPF_NOEXIST)) {
		/* another CPU numbered it first: its number (ours stays unused) */
		i = bpf_map_lookup_elem(&sq_index, &k);
		return i ? *i : 0;
	}
	return n;
}

static __always_inline struct stmt_stats *stats_at(__u32 idx)
{
	__u32 i = idx - 1;

	return idx ? bpf_map_lookup_elem(&sq_stats, &i) : NULL;
}

/* The figures of the statement ss, which runs in slot now. */
static __always_inline struct stmt_stats *stmt_stats_of(struct stmt_state *ss, __u32 slot)
{
	if (!ss->idx || ss->slot != slot) {
		ss->slot = slot;
		ss->idx = stats_index(slot, ss->hash);
	}
	return stats_at(ss->idx);
}

/* Adds v to histogram which of the pair (slot, hash), whose entry in sq_stats is idx (+ 1). */
static __always_inline void hist_add(__u32 idx, __u32 slot, __u64 hash, __u8 which, __u64 v)
{
	struct sq_hist_key k = { .hash = hash, .slot = slot, .which = which };
	__u64 *c, one = 1;

	k.bucket = hist_bucket(v);
	if (idx && idx <= SQ_HIST_ARRAY) {
		__u32 row = (idx - 1) * 2 + (which & 1);
		struct sq_hist_row *h = bpf_map_lookup_elem(&sq_hist_rows, &row);

		if (h && k.bucket < HIST_BUCKETS)
			__sync_fetch_and_add(&h->b[k.bucket], 1);
		return;
	}
	c = bpf_map_lookup_elem(&sq_hist, &k);
	if (c) {
		(*c)++;
		return;
	}
	if (bpf_map_update_elem(&sq_hist, &k, &one, BPF_NOEXIST)) {
		c = bpf_map_lookup_elem(&sq_hist, &k);
		if (c)
			(*c)++;
		else
			counter_inc(CNT_SQ_MAP_FULL);
	}
}

static __always_inline __u32 rc_index(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_ROW: return RC_ROW;
	case SQLITE_DONE: return RC_DONE;
	case SQLITE_BUSY: return RC_BUSY;
	case SQLITE_LOCKED: return RC_LOCKED;
	case SQLITE_CONSTRAINT: return RC_CONSTRAINT;
	case SQLITE_MISUSE: return RC_MISUSE;
	}
	return RC_ERROR_OTHER;
}

/* Syscall time by class; user space derives CPU as step time minus these. */
static __always_inline void split_add(struct stmt_stats *st, struct thread_state *ts)
{
	for (int i = 0; i < SPLIT_MAX; i++)
		if (ts->sq_split[i])
			st->split_ns[i] += ts->sq_split[i];
}

static __always_inline int enter_sqlite(struct thread_state *ts, __u32 slot)
{
	if (ts->sq_depth++ == 0) {
		ts->sq_slot = slot;
		ts->sq_start = bpf_ktime_get_ns();
		for (int i = 0; i < SPLIT_MAX; i++)
			ts->sq_split[i] = 0;
		return 1;
	}
	return 0;
}

static __always_inline void prepare_enter(__u64 sql, __u64 nbyte, __u64 ppstmt, __u64 pztail,
					  bool utf16)
{
	struct thread_state *ts;
	int slot;
	__u32 d;

	if (!(ts = target_thread(&slot)))
		return;
	ts->sq_slot = slot;
	d = ts->sq_prep_depth++;
	if (!d)
		ts->sq_prep_sleep = 0;
	if (d >= SQ_PREPARE_NEST)
		return;            /* deeper than we keep: its return finds no arguments */
	ts->sq_args[d][0] = sql;
	ts->sq_args[d][1] = nbyte;
	ts->sq_args[d][2] = ppstmt;
	ts->sq_args[d][3] = pztail;
	ts->sq_utf16[d] = utf16;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_prep2, void *db, const char *sql, int nbyte, void **ppstmt, const char **pztail)
{
	prepare_enter((__u64)sql, nbyte, (__u64)ppstmt, (__u64)pztail, false);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_prep3, void *db, const char *sql, int nbyte, unsigned int flags, void **ppstmt)
{
	prepare_enter((__u64)sql, nbyte, (__u64)ppstmt, ctx->r9 /* 6th argument: pzTail */, false);
	return 0;
}

/* The function all of them call in the host's library (sqlite3LockAndPrepare in SQLite's
 * source: db, sql, nbyte, flags, the statement re-prepared or NULL, ppstmt, pztail on the
 * stack), where user space found and checked it (sqlite_probes.c, learn_sites): one probe for
 * every prepare, whose first instruction (a push) the kernel emulates at the breakpoint (Linux
 * 6.18 here; a kernel that does not steps it, as it does the public functions' first, a sub or
 * a mov, ~10 us more a hit on this VM). A prepare16's
 * text comes here converted to UTF-8. A statement re-prepared inside sqlite3_step (a schema
 * change) keeps its address and its execution: no statement is made then (ppstmt 0). */
SEC("uprobe")
int BPF_KPROBE(iogap_sq_prep_in, void *db, const char *sql, int nbyte, unsigned int flags, void *pold)
{
	__u64 tail = 0;

	bpf_probe_read_user(&tail, sizeof(tail), (void *)(PT_REGS_SP(ctx) + 8));
	prepare_enter((__u64)sql, nbyte, pold ? 0 : ctx->r9 /* 6th: ppstmt */, tail, false);
	return 0;
}

/* User space's check of a site it would probe in place of public functions' entries
 * (learn_sites): the first seven arguments (the 7th from the stack) of each call, while on.
 * Attached to iogap's own process only (and its tgid there may be a PID namespace's). */
__u32 argcheck_on = 0;
__u32 argcheck_n = 0;
__u64 argcheck[SQ_ARGCHECK_MAX][7];

SEC("uprobe")
int BPF_KPROBE(iogap_sq_argcheck)
{
	__u32 i;

	if (!argcheck_on)
		return 0;
	i = argcheck_n++;          /* one thread calls: user space's */
	if (i >= SQ_ARGCHECK_MAX)
		return 0;
	argcheck[i][0] = PT_REGS_PARM1(ctx);
	argcheck[i][1] = PT_REGS_PARM2(ctx);
	argcheck[i][2] = PT_REGS_PARM3(ctx);
	argcheck[i][3] = PT_REGS_PARM4(ctx);
	argcheck[i][4] = PT_REGS_PARM5(ctx);
	argcheck[i][5] = ctx->r9;
	bpf_probe_read_user(&argcheck[i][6], sizeof(__u64), (void *)(PT_REGS_SP(ctx) + 8));
	return 0;
}

/* sqlite3_prepare16 and _16_v2, and _16_v3: the same with UTF-16 text (user space converts it).
 * Probed also so that a statement prepared so at the address of one finalized unseen is not
 * taken for that one. */
SEC("uprobe")
int BPF_KPROBE(iogap_sq_prep16, void *db, const void *sql, int nbyte, void **ppstmt, const void **pztail)
{
	prepare_enter((__u64)sql, nbyte, (__u64)ppstmt, (__u64)pztail, true);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_prep16_3, void *db, const void *sql, int nbyte, unsigned int flags, void **ppstmt)
{
	prepare_enter((__u64)sql, nbyte, (__u64)ppstmt, ctx->r9 /* 6th argument: pzTail */, true);
	return 0;
}

/* The end of ss's open execution, at end. */
static __always_inline void exec_end(struct stmt_state *ss, __u64 end)
{
	struct stmt_stats *st = stats_at(ss->idx);
	__u64 whole = end - ss->first_ts;

	ss->first_ts = 0;
	if (st) {
		st->stmt_ns += whole;
		st->stmt_ended += 1;
	}
	hist_add(ss->idx, ss->slot, ss->hash, SQ_HIST_STMT, whole);
}

#define SQ_OFF_MAX 4096            /* sq_offs' offsets into a statement are below this */

/* The pointer to its SQL that the statement stmt keeps at zsql (sq_offs); 0 if none is known or
 * it cannot be read. */
static __always_inline __u64 stmt_sql(__u64 stmt, __u32 zsql)
{
	__u64 p = 0;

	if (!zsql || zsql >= SQ_OFF_MAX || bpf_probe_read_user(&p, sizeof(p), (void *)(stmt + zsql)))
		return 0;
	return p;
}

/*
 * Does the statement stmt keep, at zsql, a copy of the text it was prepared from (sql, len
 * bytes, or up to its NUL if len < 0), as the host's library does (its first 7 bytes
 * compared)? Then it is that library's, laid out as user space measured; a statement of
 * another SQLite in the same process is not (that one has its own sqlite3_reset probe).
 */
static __always_inline bool holds_sql(__u64 stmt, __u32 zsql, __u64 sql, long len)
{
	char a[8] = {}, b[8] = {};
	__u64 copy = stmt_sql(stmt, zsql);

	if (!copy || bpf_probe_read_user_str(a, sizeof(a), (void *)copy) <= 0 ||
	    bpf_probe_read_user_str(b, sizeof(b), (void *)sql) <= 0)
		return false;
	/* len < 0: the text ends at its NUL, where both reads stopped (and zeroed the rest) */
	for (int i = 0; i < 7 && (len < 0 || i < len); i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The same for a UTF-16 text (len bytes, or up to its 0 code unit if len < 0), whose first 7
 * code units must be ASCII to be compared with the statement's UTF-8 copy. */
static __always_inline bool holds_sql16(__u64 stmt, __u32 zsql, __u64 sql, long len)
{
	char a[8] = {};
	__u16 b[7] = {};
	__u64 copy = stmt_sql(stmt, zsql);
	long units = len < 0 ? 7 : len >> 1;

	if (!copy || bpf_probe_read_user_str(a, sizeof(a), (void *)copy) <= 0 ||
	    bpf_probe_read_user(b, sizeof(b), (void *)sql))
		return false;
	for (int i = 0; i < 7 && i < units; i++) {
		if (b[i] >= 0x80 || a[i] != (char)b[i])
			return false;
		if (!b[i])
			break;        /* both ended */
	}
	return true;
}

/* The outermost prepare returns rc after its busy handler slept (syscalls.bpf.c summed the
 * sleeps in the thread's state), or with BUSY: per slot, beside the connections' opens. */
static __always_inline void prepare_waited(struct thread_state *ts, __u32 slot, int rc)
{
	__u32 k = slot;
	struct sq_slot_stats *s = bpf_map_lookup_elem(&sq_slots, &k);

	if (s) {
		if (ts->sq_prep_sleep) {
			__sync_fetch_and_add(&s->prep_sleeps, 1);
			__sync_fetch_and_add(&s->prep_sleep_ns, ts->sq_prep_sleep);
		}
		if ((rc & 0xff) == SQLITE_BUSY)
			__sync_fetch_and_add(&s->prep_busy, 1);
	}
	ts->sq_prep_sleep = 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(iogap_sq_prep_r, int rc)
{
	struct thread_state *ts;
	struct stmt_state st = {}, *old;
	struct stmt_key k = {};
	struct sq_offs *off;
	__u64 stmt = 0, tail = 0, sql, *a;
	long len;
	__u32 d, slot;
	bool utf16;

	/* the entry found the target: its slot is in the state, no lookup of our own */
	if (!(ts = current_state()) || !ts->sq_prep_depth)
		return 0;
	slot = ts->sq_slot;
	d = --ts->sq_prep_depth;
	if (!d && (ts->sq_prep_sleep || (rc & 0xff) == SQLITE_BUSY))
		prepare_waited(ts, slot, rc);
	if (d >= SQ_PREPARE_NEST || rc != SQLITE_OK)
		return 0;
	a = ts->sq_args[d];
	sql = a[0];
	if (!sql || bpf_probe_read_user(&stmt, sizeof(stmt), (void *)a[2]) || !stmt)
		return 0;          /* an empty statement (only whitespace or a comment) */
	st.slot = slot;
	k.stmt = stmt;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	off = bpf_map_lookup_elem(&sq_offs, &k.tgid);
	len = (int)a[1];
	if (a[3] && !bpf_probe_read_user(&tail, sizeof(tail), (void *)a[3]) && tail > sql)
		len = tail - sql;
	utf16 = ts->sq_utf16[d];
	st.hash = utf16 ? sql_capture16(slot, (const char *)sql, len) :
			  sql_capture(slot, (const char *)sql, len);
	if (off && off->run && (utf16 ? holds_sql16(stmt, off->zsql, sql, len) :
					holds_sql(stmt, off->zsql, sql, len)))
		st.run_off = off->run;
	/* the address of a statement finalized unseen (where SQLite's count is read,
	 * sqlite3_finalize has no probe): an execution it left open ended at its last step */
	old = bpf_map_lookup_elem(&stmts, &k);
	if (old) {
		if (old->first_ts)
			exec_end(old, old->last_ts);
		/* in place: an update takes a new node of the LRU map and frees this one (1055 ->
		 * 817 ns a run, by the kernel's BPF statistics); a finalized statement's entry is
		 * no other thread's */
		*old = st;
		return 0;
	}
	bpf_map_update_elem(&stmts, &k, &st, BPF_ANY);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_step, void *stmt)
{
	struct thread_state *ts;
	int slot;

	if (!(ts = target_thread(&slot)))
		return 0;
	if (enter_sqlite(ts, slot))
		ts->sq_stmt = (__u64)stmt;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(iogap_sq_step_r, int rc)
{
	struct stmt_key k = {};
	struct stmt_state *ss, fresh = {};
	struct thread_state *ts;
	struct stmt_stats *st;
	__u64 now = bpf_ktime_get_ns(), dur;
	__u32 r, slot, run = 0;
	bool begins;

	if (!(ts = current_state()) || !ts->sq_depth)
		return 0;
	if (--ts->sq_depth)
		return 0;          /* a step inside sqlite3_exec: the exec accounts for it */
	slot = ts->sq_slot;
	dur = now - ts->sq_start;
	k.stmt = ts->sq_stmt;
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	ss = bpf_map_lookup_elem(&stmts, &k);
	if (!ss) {
		/* prepared before tracing began (or its entry was evicted): named from the statement
		 * itself if we know where its SQL is, else counted under hash 0 */
		struct sq_offs *off = bpf_map_lookup_elem(&sq_offs, &k.tgid);
		__u64 sqlp;

		if (off) {
			fresh.run_off = off->run;
			if ((sqlp = stmt_sql(k.stmt, off->zsql)))
				fresh.hash = sql_capture(slot, (const char *)sqlp, 0);
		}
		bpf_map_update_elem(&stmts, &k, &fresh, BPF_NOEXIST);
		ss = bpf_map_lookup_elem(&stmts, &k);
		if (!ss)
			return 0;
	}
	/*
	 * Does this step begin an execution? It does when none is open. Where SQLite's own count
	 * of them is known, it also does if the count moved (SQLite counts at an execution's first
	 * instruction, inside its first step): an execution still open then was reset unseen,
	 * after a row, and ended at its last step. (An EXPLAIN runs no instruction, nor does a
	 * step that fails at once: the count stays, and they begin as none is open.) Elsewhere
	 * sqlite3_reset's probe closes an open execution.
	 */
	begins = !ss->first_ts;
	if (ss->run_off && ss->run_off < SQ_OFF_MAX &&
	    !bpf_probe_read_user(&run, sizeof(run), (void *)(k.stmt + ss->run_off))) {
		begins = begins || run != ss->run;
		ss->run = run;
		if (begins && ss->first_ts)
			exec_end(ss, ss->last_ts);
	}
	st = stmt_stats_of(ss, slot);
	if (!st) {
		counter_inc(CNT_SQ_MAP_FULL);
		return 0;
	}
	if (begins) {
		ss->first_ts = ts->sq_start;
		st->count += 1;
	}
	st->steps += 1;
	r = rc_index(rc);
	if (r < RC_MAX)
		st->rc[r] += 1;
	if (r == RC_ROW)
		st->rows += 1;
	if (r == RC_BUSY && !ts->sq_split[SPLIT_BUSY_SLEEP])
		st->busy_at_once += 1;
	st->step_ns += dur;
	split_add(st, ts);
	hist_add(ss->idx, slot, ss->hash, SQ_HIST_STEP, dur);
	ss->last_ts = now;
	/* DONE or an error ends the execution (the next step begins another), as SQLite's own
	 * profile has it; BUSY and LOCKED may be retried by stepping again */
	if (ss->first_ts && r != RC_ROW && r != RC_BUSY && r != RC_LOCKED)
		exec_end(ss, now);
	return 0;
}

/* sqlite3_reset or finalize, probed where SQLite's count of executions is not read: an
 * execution still open ended at its last step. */
static __always_inline void stmt_end(void *stmt, bool finalize)
{
	struct stmt_key k = { .stmt = (__u64)stmt, .tgid = bpf_get_current_pid_tgid() >> 32 };
	struct stmt_state *ss;

	/* a statement of this process that has run: its target is the one its steps ran in */
	if (!(ss = bpf_map_lookup_elem(&stmts, &k)))
		return;
	if (ss->first_ts)
		exec_end(ss, ss->last_ts);
	if (finalize)
		bpf_map_delete_elem(&stmts, &k);
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_reset, void *stmt)
{
	stmt_end(stmt, false);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_final, void *stmt)
{
	stmt_end(stmt, true);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_exec, void *db, const char *sql)
{
	struct thread_state *ts;
	int slot;

	if (!(ts = target_thread(&slot)))
		return 0;
	if (enter_sqlite(ts, slot))
		ts->sq_exec_sql = (__u64)sql;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(iogap_sq_exec_r, int rc)
{
	struct thread_state *ts;
	struct stmt_stats *st;
	__u64 now = bpf_ktime_get_ns(), dur, hash;
	__u32 r, slot, idx;

	if (!(ts = current_state()) || !ts->sq_depth)
		return 0;
	if (--ts->sq_depth)
		return 0;
	slot = ts->sq_slot;
	dur = now - ts->sq_start;
	hash = sql_capture(slot, (const char *)ts->sq_exec_sql, 0);
	idx = stats_index(slot, hash);
	st = stats_at(idx);
	if (!st) {
		counter_inc(CNT_SQ_MAP_FULL);
		return 0;
	}
	st->count += 1;
	r = rc_index(rc == SQLITE_OK ? SQLITE_DONE : rc);
	if (r < RC_MAX)
		st->rc[r] += 1;
	if (r == RC_BUSY && !ts->sq_split[SPLIT_BUSY_SLEEP])
		st->busy_at_once += 1;
	st->step_ns += dur;
	st->stmt_ns += dur;
	st->stmt_ended += 1;
	split_add(st, ts);
	hist_add(idx, slot, hash, SQ_HIST_STEP, dur);
	hist_add(idx, slot, hash, SQ_HIST_STMT, dur);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_open)
{
	struct thread_state *ts;
	struct sq_slot_stats *s;
	int slot;
	__u32 k;

	if (!(ts = target_thread(&slot)))
		return 0;
	k = slot;
	ts->sq_open_ts = bpf_ktime_get_ns();
	s = bpf_map_lookup_elem(&sq_slots, &k);
	if (s)
		__sync_fetch_and_add(&s->opens, 1);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(iogap_sq_open_r)
{
	struct thread_state *ts;
	int slot = target_slot();
	__u32 k = slot;
	struct sq_slot_stats *s;

	if (slot < 0 || !(ts = thread(false)) || !ts->sq_open_ts)
		return 0;
	s = bpf_map_lookup_elem(&sq_slots, &k);
	if (s)
		__sync_fetch_and_add(&s->open_ns, bpf_ktime_get_ns() - ts->sq_open_ts);
	ts->sq_open_ts = 0;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(iogap_sq_close)
{
	int slot = target_slot();
	__u32 k = slot;
	struct sq_slot_stats *s;

	if (slot < 0)
		return 0;
	s = bpf_map_lookup_elem(&sq_slots, &k);
	if (s)
		__sync_fetch_and_add(&s->closes, 1);
	return 0;
}
