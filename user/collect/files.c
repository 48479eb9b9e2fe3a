// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The collector's table of inodes in use: see files.h. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "collect/files.h"
#include "collect/percpu.h"
#include "syscalls.h"
#include "sqlite.h"

#define NBUCKETS 4096     /* power of two; chains stay short at the kernel maps' sizes */
#define FILES_LINGER 10   /* snapshots a retired inode keeps its path once the path names another */

struct file_node {
	struct file_node *next;
	uint64_t ino;
	uint32_t slot, dev, gen;
	bool is_path;             /* a path's newest inode (key: slot, path hash), not an inode */
	uint64_t retired_at;      /* the snapshot it last left the kernel maps in (0: never) */
	char *path;
	uint64_t path_id;         /* model_hash_str(path): the path's entry in the model, its node here */
	uint64_t born;            /* the snapshot it was first seen in (0: before any) */
	uint64_t seen;            /* the last snapshot it was in a kernel map */
	uint64_t moved;           /* the last snapshot its figures changed */
	struct file_stats last;   /* file_stats as last read */
	struct sq_file_stats sq_last;
	uint64_t named_ino;       /* a path's node: the inode it names */
	uint32_t named_dev, named_gen;
};

static size_t bucket_of(uint32_t slot, uint32_t dev, uint64_t ino, uint32_t gen, bool is_path)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)dev << 32 | gen) ^ (uint64_t)slot << 7 ^ is_path;

	return (h ^ h >> 29) & (NBUCKETS - 1);
}

static struct file_node *find(struct file_table *ft, uint32_t slot, uint32_t dev, uint64_t ino,
			      uint32_t gen, bool is_path, bool create)
{
	size_t b = bucket_of(slot, dev, ino, gen, is_path);
	struct file_node *n;

	for (n = ft->buckets[b]; n; n = n->next)
		if (n->ino == ino && n->dev == dev && n->gen == gen && n->slot == slot && n->is_path == is_path)
			return n;
	if (!create || !(n = calloc(1, sizeof(*n))))
		return NULL;
	n->slot = slot;
	n->dev = dev;
	n->ino = ino;
	n->gen = gen;
	n->is_path = is_path;
	n->born = ft->snapshots;
	n->next = ft->buckets[b];
	ft->buckets[b] = n;
	ft->n++;
	return n;
}

int files_init(struct file_table *ft, int ncpus)
{
	memset(ft, 0, sizeof(*ft));
	ft->ncpus = ncpus;
	ft->buckets = calloc(NBUCKETS, sizeof(*ft->buckets));
	ft->buf = calloc(ncpus > 0 ? ncpus : 1, sizeof(struct file_stats));
	if (ft->buckets && ft->buf && ncpus > 0)
		return 0;
	files_free(ft);
	return -ENOMEM;
}

void files_free(struct file_table *ft)
{
	for (size_t b = 0; ft->buckets && b < NBUCKETS; b++)
		for (struct file_node *n = ft->buckets[b], *next; n; n = next) {
			next = n->next;
			free(n->path);
			free(n);
		}
	free(ft->buckets);
	free(ft->buf);
	memset(ft, 0, sizeof(*ft));
}

/* file_stats is per CPU: the sum of the ncpus values in ft->buf. */
static void sum_cpus(const struct file_table *ft, struct file_stats *v)
{
	percpu_sum(ft->buf, ft->ncpus, sizeof(*v), (uint64_t *)v, sizeof(*v) / 8, SIZE_MAX);
}

/* Gives n its path (a copy of path), or returns -ENOMEM and leaves it as it was. */
static int node_set_path(struct file_node *n, const char *path)
{
	char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	free(n->path);
	n->path = p;
	n->path_id = model_hash_str(p);
	return 0;
}

/* The newest inode opened under a path: the one the path names now. */
static void path_names(struct file_table *ft, const struct file_node *n)
{
	struct file_node *p = find(ft, n->slot, 0, n->path_id, 0, true, true);

	if (p) {
		p->named_ino = n->ino;
		p->named_dev = n->dev;
		p->named_gen = n->gen;
	}
}

static bool path_still_names(struct file_table *ft, const struct file_node *n)
{
	struct file_node *p = find(ft, n->slot, 0, n->path_id, 0, true, false);

	return p && p->named_ino == n->ino && p->named_dev == n->dev && p->named_gen == n->gen;
}

int files_set_path(struct file_table *ft, uint32_t slot, uint32_t dev, uint64_t ino, uint32_t gen,
		   const char *path)
{
	struct file_node *n = find(ft, slot, dev, ino, gen, false, true);

	if (!n || ((!n->path || strcmp(n->path, path)) && node_set_path(n, path)))
		return -ENOMEM;
	path_names(ft, n);
	return 0;
}

static struct target *slot_target(struct model *m, uint32_t slot)
{
	return slot < m->ntargets ? &m->targets[slot] : NULL;
}

/* A node first seen without a path waits one snapshot for its open event (the ring buffer may
 * not have been read up to it), then counts by inode. */
static bool pending(const struct file_table *ft, const struct file_node *n)
{
	return !n->path && n->born == ft->snapshots;
}

/* What a cumulative kernel figure gained since it was last read; all of it when it is below
 * (the entry was made anew, after a retirement raced an operation). */
static uint64_t gained(uint64_t now, uint64_t last)
{
	return now >= last ? now - last : now;
}

/* The kernel's cumulative figures v for n: what is new goes to n's path (or inode) in m. */
static void add_file(struct file_table *ft, struct file_node *n, const struct file_stats *v,
		     struct model *m)
{
	struct target *t = slot_target(m, n->slot);
	struct file_stats d;
	struct file_stat *f;

	n->seen = ft->snapshots;
	if (pending(ft, n))
		return;
	d.count = gained(v->count, n->last.count);
	d.total_ns = gained(v->total_ns, n->last.total_ns);
	d.bytes = gained(v->bytes, n->last.bytes);
	n->last = *v;
	if (!d.count && !d.total_ns && !d.bytes)
		return;
	n->moved = ft->snapshots;
	f = !t ? NULL : n->path ? target_file_by_path(t, n->path) : target_file(t, n->dev, n->ino, n->gen);
	if (f) {
		f->count += d.count;
		f->total_ns += d.total_ns;
		f->bytes += d.bytes;
	}
}

static void add_sq(struct file_table *ft, struct file_node *n, const struct sq_file_stats *v,
		   struct model *m)
{
	struct target *t = slot_target(m, n->slot);
	struct sq_file_stats d;
	struct sq_fsync_stat *f = NULL;
	struct file_stat *pf;

	n->seen = ft->snapshots;
	if (pending(ft, n))
		return;
	d.count = gained(v->count, n->sq_last.count);
	d.total_ns = gained(v->total_ns, n->sq_last.total_ns);
	n->sq_last = *v;
	if (!d.count && !d.total_ns)
		return;
	n->moved = ft->snapshots;
	if (t && n->path) {
		/* keyed like its path's file entry, which names it (target_file_path) */
		if ((pf = target_file_by_path(t, n->path)))
			f = target_sq_fsync(t, pf->dev, pf->ino, pf->gen);
	} else if (t) {
		f = target_sq_fsync(t, n->dev, n->ino, n->gen);
	}
	if (f) {
		f->count += d.count;
		f->total_ns += d.total_ns;
	}
}

/* The kernel entry of an inode first seen now: its path, if /proc gave it without a generation. */
static struct file_node *node_for(struct file_table *ft, uint32_t slot, uint32_t dev, uint64_t ino,
				  uint32_t gen)
{
	struct file_node *n = find(ft, slot, dev, ino, gen, false, true), *any;

	if (n && !n->path && gen && (any = find(ft, slot, dev, ino, 0, false, false)) && any->path)
		node_set_path(n, any->path);   /* out of memory: it counts by inode */
	return n;
}

/* Takes n's entries out of the kernel maps, read and deleted in one step so that nothing done
 * before the deletion is lost. False when the kernel cannot (lookup-and-delete on hash maps
 * came in Linux 5.14): then nothing is retired, and the figures go on as deltas. */
static bool retire(struct file_table *ft, struct file_node *n, int file_fd, int sq_fd, struct model *m)
{
	struct file_key fk = { .ino = n->ino, .dev = n->dev, .gen = n->gen, .slot = n->slot };
	struct sq_file_key sk = { .ino = n->ino, .dev = n->dev, .gen = n->gen, .slot = n->slot };
	struct file_stats fv;
	struct sq_file_stats sv;

	if (!bpf_map_lookup_and_delete_elem(file_fd, &fk, ft->buf)) {
		sum_cpus(ft, &fv);
		add_file(ft, n, &fv, m);
		memset(&n->last, 0, sizeof(n->last));
	} else if (errno != ENOENT) {
		ft->no_retire = true;
		return false;
	}
	if (sq_fd >= 0 && !bpf_map_lookup_and_delete_elem(sq_fd, &sk, &sv)) {
		add_sq(ft, n, &sv, m);
		memset(&n->sq_last, 0, sizeof(n->sq_last));
	} else if (sq_fd >= 0 && errno != ENOENT) {
		ft->no_retire = true;
		return false;
	}
	ft->retired++;
	return true;
}

/* One kernel map's entries into the model: file_stats, or SQLite's fsyncs by file (same key). */
static void read_map(struct file_table *ft, int fd, bool sq, struct model *m)
{
	struct file_key key, next, *prev = NULL;
	union { struct file_stats f; struct sq_file_stats s; } v;
	struct file_node *n;

	_Static_assert(sizeof(struct sq_file_key) == sizeof(struct file_key) &&
		       offsetof(struct sq_file_key, slot) == offsetof(struct file_key, slot) &&
		       offsetof(struct sq_file_key, gen) == offsetof(struct file_key, gen), "file keys");
	while (fd >= 0 && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, sq ? (void *)&v : ft->buf) ||
		    !(n = node_for(ft, key.slot, key.dev, key.ino, key.gen)))
			continue;
		if (sq) {
			add_sq(ft, n, &v.s, m);
		} else {
			sum_cpus(ft, &v.f);
			add_file(ft, n, &v.f, m);
		}
	}
}

void files_snapshot(struct file_table *ft, int file_fd, int sq_fd, struct model *m)
{
	ft->snapshots++;
	read_map(ft, sq_fd, true, m);
	read_map(ft, file_fd, false, m);
	/* idle since the last snapshot: out of the kernel maps (deleting while walking a map would
	 * restart the walk, so this is a pass of its own) */
	for (size_t b = 0; b < NBUCKETS; b++) {
		for (struct file_node **pp = &ft->buckets[b], *n; (n = *pp);) {
			bool in_kernel = n->seen == ft->snapshots;

			if (n->is_path || pending(ft, n) || (in_kernel && n->moved == ft->snapshots)) {
				pp = &n->next;
				continue;
			}
			if (in_kernel) {
				if (ft->no_retire || !retire(ft, n, file_fd, sq_fd, m)) {
					pp = &n->next;
					continue;
				}
				n->retired_at = ft->snapshots;
			} else if (!n->retired_at && ((n->path && n->born == 0) ||
						      ft->snapshots - (n->seen ? n->seen : n->born) < 2)) {
				/* a path from /proc, or an open whose figures have not come yet */
				pp = &n->next;
				continue;
			}
			/* out of the kernel maps: its path stays while the path names it, and a while
			 * after (a file renamed or replaced under an fd still open, used again) */
			if (n->path && (path_still_names(ft, n) || ft->snapshots - n->retired_at < FILES_LINGER)) {
				pp = &n->next;
				continue;
			}
			*pp = n->next;
			free(n->path);
			free(n);
			ft->n--;
		}
	}
}
