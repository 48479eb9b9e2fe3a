/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Syscall I/O module: every syscall of a target is counted; the I/O ones are timed and
 * classified by operation and by what their fd is (file, socket kind, pipe).
 */
#ifndef IOGAP_SYSCALLS_H
#define IOGAP_SYSCALLS_H

#include "iogap.h"
#include "histogram.h"

/* Operation flags */
#define OPF_FD      0x01   /* argument 0 is an fd: classify it */
#define OPF_BYTES   0x02   /* a positive return value is bytes moved */
#define OPF_OPEN    0x04   /* returns a new fd; path in the argument given by OPF_PATH1 */
#define OPF_PATH1   0x08   /* the path is argument 1 (openat, openat2), else argument 0 */
#define OPF_NET     0x10   /* a socket operation (accept, send, recv, ...) */

/* X(enum, name, flags): the operations iogap times. IOP_OTHER syscalls are only counted. */
#define IOGAP_OPS(X)                                              \
	X(IOP_OTHER,           "other",           0)                     \
	X(IOP_READ,            "read",            OPF_FD | OPF_BYTES)    \
	X(IOP_WRITE,           "write",           OPF_FD | OPF_BYTES)    \
	X(IOP_PREAD,           "pread",           OPF_FD | OPF_BYTES)    \
	X(IOP_PWRITE,          "pwrite",          OPF_FD | OPF_BYTES)    \
	X(IOP_READV,           "readv",           OPF_FD | OPF_BYTES)    \
	X(IOP_WRITEV,          "writev",          OPF_FD | OPF_BYTES)    \
	X(IOP_PREADV,          "preadv",          OPF_FD | OPF_BYTES)    \
	X(IOP_PWRITEV,         "pwritev",         OPF_FD | OPF_BYTES)    \
	X(IOP_FSYNC,           "fsync",           OPF_FD)                \
	X(IOP_FDATASYNC,       "fdatasync",       OPF_FD)                \
	X(IOP_SYNC_FILE_RANGE, "sync_file_range", OPF_FD)                \
	X(IOP_OPEN,            "open",            OPF_OPEN)              \
	X(IOP_OPENAT,          "openat",          OPF_OPEN | OPF_PATH1)  \
	X(IOP_CLOSE,           "close",           OPF_FD)                \
	X(IOP_STAT,            "stat",            0)                     \
	X(IOP_FSTAT,           "fstat",           OPF_FD)                \
	X(IOP_UNLINK,          "unlink",          0)                     \
	X(IOP_RENAME,          "rename",          0)                     \
	X(IOP_MKDIR,           "mkdir",           0)                     \
	X(IOP_GETDENTS,        "getdents",        OPF_FD | OPF_BYTES)    \
	X(IOP_FCNTL_LOCK,      "fcntl_lock",      OPF_FD)                \
	X(IOP_FCNTL,           "fcntl",           OPF_FD)                \
	X(IOP_FLOCK,           "flock",           OPF_FD)                \
	X(IOP_FTRUNCATE,       "ftruncate",       OPF_FD)                \
	X(IOP_LSEEK,           "lseek",           OPF_FD)                \
	X(IOP_SENDFILE,        "sendfile",        OPF_FD | OPF_BYTES)    \
	X(IOP_ACCEPT,          "accept",          OPF_FD | OPF_NET)      \
	X(IOP_CONNECT,         "connect",         OPF_FD | OPF_NET)      \
	X(IOP_SEND,            "send",            OPF_FD | OPF_BYTES | OPF_NET) \
	X(IOP_RECV,            "recv",            OPF_FD | OPF_BYTES | OPF_NET) \
	X(IOP_SHUTDOWN,        "shutdown",        OPF_FD | OPF_NET)      \
	X(IOP_POLL,            "poll",            0)                     \
	X(IOP_EPOLL_WAIT,      "epoll_wait",      0)                     \
	X(IOP_SLEEP,           "sleep",           0)

#define IOGAP_OP_ENUM(e, name, flags) e,
enum io_op { IOGAP_OPS(IOGAP_OP_ENUM) IOP_MAX };
#undef IOGAP_OP_ENUM

enum fd_kind { FDK_NONE = 0, FDK_FILE, FDK_TCP, FDK_UDP, FDK_UNIX, FDK_PIPE, FDK_OTHER, FDK_KIND_MAX };

/* io_stats entries are found through io_index[slot][op][fd_kind] (syscalls.bpf.c) */
#define IO_KEYS_PER_SLOT (IOP_MAX * FDK_KIND_MAX)
#define IO_INDEX_LEN (IOGAP_MAX_SLOTS * IO_KEYS_PER_SLOT)

/* Cumulative since attach; user space takes differences, so nothing is ever reset. */
struct io_stats {
	__u64 count;
	__u64 errors;
	__u64 bytes;
	__u64 sum_ns;
	__u64 max_ns;
	__u64 hist[HIST_BUCKETS];
};
_Static_assert(sizeof(struct io_stats) == 8 * (5 + HIST_BUCKETS), "io_stats layout");

/* A file: its inode, and the inode's generation, which tells a reused inode number apart
 * (SQLite's -journal is deleted and its number soon given to another file). */
struct file_key {
	__u64 ino;
	__u32 dev;                /* kernel encoding: major << 20 | minor */
	__u32 gen;
	__u32 slot;
	__u32 pad;
};
_Static_assert(sizeof(struct file_key) == 24, "file_key layout");

struct file_stats {
	__u64 count;
	__u64 total_ns;
	__u64 bytes;
};

/* Per syscall number. */
struct sys_count {
	__u64 count;
	__u64 errors;
};

/* A target's syscall counts, one per-CPU entry per slot: every syscall of the target finds
 * its counter behind the one pointer, in a block its common syscalls keep cached, rather than
 * behind a pointer and an allocation of its own per syscall number. */
struct sys_counts_slot {
	struct sys_count nr[IOGAP_NR_SYSCALLS];
};

#define IOGAP_PATH_MAX 256

struct file_open_event {
	struct event_hdr hdr;
	__u64 ino;
	__u32 dev;
	__s32 fd;
	__u32 gen;
	__u8 fd_kind;
	__u8 stopped;             /* the process was stopped: attach, then SIGCONT it */
	__u8 pad[2];
	char path[IOGAP_PATH_MAX];
};
_Static_assert(sizeof(struct file_open_event) == 24 + 24 + IOGAP_PATH_MAX, "file_open_event layout");

#endif
