/* cgroup v2: find the mount, resolve ids, create and remove iogap's own directories. */
#ifndef IOGAP_COLLECT_CGROUP_H
#define IOGAP_COLLECT_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The cgroup2 mount point from /proc/self/mountinfo; -ENOENT if there is none. */
int cgroup_mount(char *buf, size_t len);
/* Makes "path" absolute: an existing absolute path is kept, else it is taken below the mount. */
int cgroup_resolve(const char *mount, const char *path, char *out, size_t len);
/* The id the kernel reports for tasks in this cgroup (bpf_get_current_cgroup_id). */
int cgroup_id(const char *abs_path, uint64_t *id);
/* Calls fn for the directory and every descendant; stops at the first error. */
int cgroup_walk(const char *abs_path, int (*fn)(const char *path, uint64_t id, void *ctx), void *ctx);
/* Reads cgroup.procs; returns the number of pids stored (at most max), or -errno. */
int cgroup_procs(const char *abs_path, pid_t *pids, int max);
/* The same for the directory and all its descendants. */
int cgroup_procs_tree(const char *abs_path, pid_t *pids, int max);
int cgroup_move(const char *abs_path, pid_t pid);
/* SIGKILL to every process in the cgroup and its descendants at once (cgroup.kill, Linux
 * 5.14); -errno, -ENOENT where the kernel has no cgroup.kill (cgroup_destroy then kills). */
int cgroup_kill(const char *abs_path);
/* Ends what is left in a cgroup iogap created and removes it: SIGTERM first (term_ms > 0),
 * SIGKILL from term_ms on, for at most wait_ms; 0, or -EBUSY when it still holds processes. */
int cgroup_end(const char *abs_path, int term_ms, int wait_ms);
/* cgroup_end with SIGTERM for a second, 3 s in all: iogap's own cleanup */
int cgroup_destroy(const char *abs_path);
/* Removes iogap-<pid> cgroups left by iogap runs that were killed; returns how many. */
int cgroup_reap_stale(const char *mount);
/* The cgroup v2 path of a process, relative to the mount ("/a/b"), from /proc/PID/cgroup. */
int cgroup_of_pid(pid_t pid, char *out, size_t len);

#endif
