/*
 * Files: from the kernel's per-inode maps (file_stats; sq_fsync, SQLite's fsyncs by file) to the
 * model's per-path figures.
 *
 * The kernel keys a file by its inode, the only identity a syscall has. A reader wants the path,
 * and a path outlives its inodes: SQLite's -journal in DELETE mode is a new inode every
 * transaction. So the collector keeps, per inode in use, its path and the figures it last read
 * from the kernel, and adds what is new to the path's entry in the model (target_file_by_path).
 * An inode whose figures did not move since the last snapshot is retired: its kernel entries are
 * read and deleted in one step, and its own entry goes too unless its path still names it (then
 * it stays, to know the path when the file is used again; the newest inode opened under a path is
 * the one the path names). The kernel maps, this table and the
 * model then grow with the files in use and the paths seen, not with every inode ever used.
 */
#ifndef IOGAP_COLLECT_FILES_H
#define IOGAP_COLLECT_FILES_H

#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

struct file_node;

struct file_table {
	struct file_node **buckets;
	size_t nbuckets, n;
	uint64_t snapshots;       /* files_snapshot calls so far */
	uint64_t retired;         /* inodes retired (kernel entries deleted) */
	bool no_retire;           /* the kernel cannot read-and-delete: figures stay deltas */
	int ncpus;                /* file_stats is per CPU */
	void *buf;                /* ncpus values of file_stats */
};

int files_init(struct file_table *ft, int ncpus);
void files_free(struct file_table *ft);
/* The path of an inode, from its open or from /proc when tracing began (gen 0: the file system
 * gave none; matches any generation). The newest inode opened under a path is the one it names. */
int files_set_path(struct file_table *ft, uint32_t slot, uint32_t dev, uint64_t ino, uint32_t gen,
		   const char *path);
/* Reads the kernel maps (sq_fd < 0: no SQLite module) into m, then retires idle inodes. */
void files_snapshot(struct file_table *ft, int file_fd, int sq_fd, struct model *m);

#endif
