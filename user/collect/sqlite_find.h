/* Where a process's SQLite lives (shared library, static executable, or one it may load), and
 * the file offsets of the functions iogap probes. */
#ifndef IOGAP_COLLECT_SQLITE_FIND_H
#define IOGAP_COLLECT_SQLITE_FIND_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "collect/elf.h"

#define SQLITE_FUNCS(X) X(SQ_PREPARE_V2, "sqlite3_prepare_v2") X(SQ_PREPARE_V3, "sqlite3_prepare_v3") \
	X(SQ_PREPARE, "sqlite3_prepare") X(SQ_PREPARE16, "sqlite3_prepare16") \
	X(SQ_PREPARE16_V2, "sqlite3_prepare16_v2") X(SQ_PREPARE16_V3, "sqlite3_prepare16_v3") \
	X(SQ_STEP, "sqlite3_step") X(SQ_EXEC, "sqlite3_exec") X(SQ_FINALIZE, "sqlite3_finalize") \
	X(SQ_RESET, "sqlite3_reset") X(SQ_OPEN_V2, "sqlite3_open_v2") X(SQ_OPEN, "sqlite3_open") \
	X(SQ_CLOSE, "sqlite3_close") X(SQ_CLOSE_V2, "sqlite3_close_v2")

/* A function of the host's library probed in place of public ones where it costs less, found
 * and checked by sqlite_probes.c (learn_sites), never by symbol (the name is that of SQLite's
 * source, for messages). */
#define SQLITE_INNER_FUNCS(X) X(SQ_PREPARE_IN, "sqlite3LockAndPrepare")

#define SQLITE_FUNC_ENUM(id, name) id,
enum sqlite_func { SQLITE_FUNCS(SQLITE_FUNC_ENUM) SQLITE_INNER_FUNCS(SQLITE_FUNC_ENUM) SQ_NFUNCS };
#undef SQLITE_FUNC_ENUM
#define SQ_NPUBLIC SQ_PREPARE_IN   /* the exported functions, SQLITE_FUNCS, first */

extern const char *const sqlite_func_names[SQ_NFUNCS];

enum sqlite_where { SQW_MAPPED = 1, SQW_STATIC, SQW_CANDIDATE };

struct sqlite_lib {
	char path[PATH_MAX];   /* openable from the host: "/proc/PID/root" + the process's own path
	                          (for pid 0 / self, a plain path) */
	char shown[PATH_MAX];  /* the path as the process sees it, for messages and JSON */
	uint64_t dev, ino;     /* of the file (stat of path) */
	enum sqlite_where where;
	uint64_t offs[SQ_NFUNCS];  /* 0 = absent */
};

/* Decides where process pid's SQLite lives, in this order:
 *  1. a mapping in /proc/PID/maps whose file basename starts with "libsqlite3" (SQW_MAPPED);
 *  2. else the executable itself (/proc/PID/exe, opened through /proc/PID/root + its path) when
 *     its symbols include sqlite3_step (SQW_STATIC: statically linked);
 *  3. else, when allow_candidate is set (a process that just exec'd and may load SQLite later,
 *     e.g. Python's import sqlite3): a libsqlite3.so* file found in the process's root under
 *     lib, lib64, usr/lib, usr/lib64, usr/local/lib and their x86_64-linux-gnu subdirs
 *     (SQW_CANDIDATE).
 * Also: any mapped file whose basename starts with "_sqlite3" or contains "sqlite" and exports
 * sqlite3_step counts as case 1 (Python wheels bundle their own). Returns 0 and fills lib,
 * -ENOENT when the process has no SQLite, -ESRCH when it is gone, other -errno. Requires
 * sqlite3_step and at least one prepare function to be present, else -ENOENT.
 * pid 0 is the calling process. When "/proc/PID/root" + the mapped path is not the mapped
 * file (a chroot in the same mount namespace), the plain path or /proc/PID/map_files/... is
 * used instead, whichever has the mapping's device and inode. */
int sqlite_find(pid_t pid, bool allow_candidate, struct sqlite_lib *lib);

#endif
