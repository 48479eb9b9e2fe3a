/*
 * ELF symbol offsets and finding a process's SQLite, on real files: Debian's libsqlite3.so.0,
 * a static executable linked from libsqlite3.a at test time (needs cc), and child processes
 * that map them. Expected offsets come from binutils' readelf, not libelf.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "collect/elf.h"
#include "collect/sqlite_find.h"

#define LIBSQ "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"
#define LIBSQ_A "/usr/lib/x86_64-linux-gnu/libsqlite3.a"

static char tmp[64];               /* this run's temporary directory */
static char static_exe[128];       /* "" when it could not be built */
static char dup_lib[128];          /* a shared library with a local and a global "dupfn" */
static char dup_exe[128];          /* the same in an executable: no dupfn in .dynsym */
static pid_t children[8];
static int nchildren;

static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd)) {
		/* callers check the files the command should have made */
	}
}

static bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n < 0 ? -EIO : 0;
}

static int group_setup(void **state)
{
	char src[128], cmd[512];

	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/iogap-test-sqlite-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	static_exe[0] = dup_lib[0] = dup_exe[0] = 0;
	if (!have("cc"))
		return 0;
	snprintf(src, sizeof(src), "%s/static_sqlite_app.c", tmp);
	write_file(src, "#include <sqlite3.h>\n#include <unistd.h>\n"
			"int main(int argc, char **argv) {\n"
			"\tif (argc > 99) { sqlite3_prepare_v2(0, 0, 0, 0, 0); sqlite3_step(0); sqlite3_exec(0, 0, 0, 0, 0); }\n"
			"\tpause();\n\treturn 0;\n}\n");
	snprintf(cmd, sizeof(cmd), "cc -static -O1 -o %s/static_sqlite_app %s -lsqlite3 -lm >/dev/null 2>&1", tmp, src);
	if (!access(LIBSQ_A, R_OK) && !system(cmd))
		snprintf(static_exe, sizeof(static_exe), "%s/static_sqlite_app", tmp);
	snprintf(src, sizeof(src), "%s/dup_a.c", tmp);
	write_file(src, "static __attribute__((noinline, used)) int dupfn(int x) { return x * 3 + 1; }\n"
			"int use_a(int x) { return dupfn(x) + 1; }\n");
	snprintf(src, sizeof(src), "%s/dup_b.c", tmp);
	write_file(src, "int dupfn(int x) { return x * 5 + 2; }\n"
			"__attribute__((visibility(\"hidden\"))) int hiddenfn(int x) { return x - 7; }\n"
			"int use_b(int x) { return hiddenfn(x); }\n");
	snprintf(cmd, sizeof(cmd), "cc -shared -fPIC -O1 -o %s/libdup.so %s/dup_a.c %s/dup_b.c >/dev/null 2>&1",
		 tmp, tmp, tmp);
	if (!system(cmd))
		snprintf(dup_lib, sizeof(dup_lib), "%s/libdup.so", tmp);
	snprintf(src, sizeof(src), "%s/dup_main.c", tmp);
	write_file(src, "int use_a(int), use_b(int), dupfn(int);\n"
			"int main(int argc, char **argv) { return use_a(argc) + use_b(argc) + dupfn(argc); }\n");
	snprintf(cmd, sizeof(cmd), "cc -O1 -o %s/dup_exe %s/dup_a.c %s/dup_b.c %s >/dev/null 2>&1", tmp, tmp, tmp, src);
	if (!system(cmd))
		snprintf(dup_exe, sizeof(dup_exe), "%s/dup_exe", tmp);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	if (tmp[0] && strncmp(tmp, "/tmp/iogap-test-sqlite-", 23) == 0) {
		umount2(tmp, MNT_DETACH);   /* in case a namespace test leaked a mount (it should not) */
		sh("rm -rf '%s'", tmp);
	}
	return 0;
}

static int kill_children(void **state)
{
	(void)state;
	for (int i = 0; i < nchildren; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	nchildren = 0;
	return 0;
}

/*
 * Forks a child that runs fn(arg) then waits to be killed. fn returns 0 when the child is
 * ready, or -errno; an exec'ing fn closes the CLOEXEC pipe, which the parent reads as ready.
 * Returns the pid (registered for kill_children), or -errno of the child's failure.
 */
static pid_t spawn(int (*fn)(const char *arg), const char *arg)
{
	int fds[2], err = 0;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		err = fn(arg);
		if (write(fds[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		for (;;)
			pause();
	}
	children[nchildren++] = pid;
	close(fds[1]);
	n = read(fds[0], &err, sizeof(err));
	close(fds[0]);
	if (n == 0)
		return pid;   /* exec'd */
	return n == sizeof(err) && err ? err : pid;
}

static int child_dlopen(const char *path)
{
	return dlopen(path, RTLD_NOW | RTLD_LOCAL) ? 0 : -ENOEXEC;
}

static int child_exec(const char *path)
{
	execl(path, path, "1000", (char *)NULL);
	return -errno;
}

/* A private mount namespace with a tmpfs over tmp/ns holding its own copy of the library: the
 * path exists only in the child's namespace. */
static int child_ns_dlopen(const char *dir)
{
	char lib[256];

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=64m"))
		return -errno;
	snprintf(lib, sizeof(lib), "%s/libsqlite3.so.0", dir);
	if (copy_file(LIBSQ, lib))
		return -EIO;
	return child_dlopen(lib);
}

/* chroot (same mount namespace) into dir and exec dir's static_sqlite_app. */
static int child_chroot_exec(const char *dir)
{
	if (chroot(dir) || chdir("/"))
		return -errno;
	return child_exec("/static_sqlite_app");
}

/* Expected offsets from `readelf -W -s` and `readelf -W -l` (binutils, not libelf), with the
 * same rule: global or weak before local, then .symtab before .dynsym. */
static int readelf_offsets(const char *path, const char *const *names, int n, uint64_t *offs)
{
	uint64_t load[16][3];
	int nload = 0, rank[32] = {0}, found = 0, table_symtab = 0;
	char cmd[512], line[1024];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -W -l '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (nload < 16 && sscanf(line, " LOAD %" SCNx64 " %" SCNx64 " %*x %" SCNx64,
					 &load[nload][0], &load[nload][1], &load[nload][2]) == 3)
			nload++;
	pclose(f);
	snprintf(cmd, sizeof(cmd), "readelf -W -s '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		offs[i] = 0;
	while (fgets(line, sizeof(line), f)) {
		char type[32], bind[32], vis[32], ndx[32], name[512], *at;
		uint64_t value;

		if (strstr(line, "Symbol table '")) {
			table_symtab = strstr(line, "'.symtab'") != NULL;
			continue;
		}
		if (sscanf(line, " %*d: %" SCNx64 " %*s %31s %31s %31s %31s %511s", &value, type, bind, vis,
			   ndx, name) != 6)
			continue;
		if ((strcmp(type, "FUNC") && strcmp(type, "IFUNC")) || !strcmp(ndx, "UND") || !value)
			continue;
		at = strchr(name, '@');
		if (at)
			*at = 0;
		for (int i = 0; i < n; i++) {
			int r = 1 + 2 * (!strcmp(bind, "GLOBAL") || !strcmp(bind, "WEAK")) + table_symtab;

			if (strcmp(name, names[i]) || r <= rank[i])
				continue;
			for (int j = 0; j < nload; j++)
				if (value >= load[j][1] && value - load[j][1] < load[j][2]) {
					found += !rank[i];
					rank[i] = r;
					offs[i] = value - load[j][1] + load[j][0];
					break;
				}
		}
	}
	pclose(f);
	return found;
}

/* cmocka 1.1.5 prints a skipped test as "not ok N # SKIP", which tests/run counts as a failure:
 * a test that cannot run here says why in the log and passes. */
#define SKIP_IF(cond, why) do { \
	if (cond) { \
		print_message("# SKIP %s: %s\n", __func__, why); \
		return; \
	} \
} while (0)

static void check_against_readelf(const char *path, const char *const *names, int n, int want_found)
{
	uint64_t got[32], want[32];

	assert_true(n <= 32);
	assert_int_equal(readelf_offsets(path, names, n, want), want_found);
	assert_int_equal(elf_func_offsets(path, names, n, got), want_found);
	for (int i = 0; i < n; i++) {
		if (got[i] != want[i]) {
			print_error("%s in %s: libelf path 0x%" PRIx64 ", readelf 0x%" PRIx64 "\n", names[i], path,
				    got[i], want[i]);
			fail();
		}
	}
}

static void test_elf_shared_library(void **s)
{
	(void)s;
	SKIP_IF(access(LIBSQ, R_OK), LIBSQ " missing (apt-get install libsqlite3-0)");
	SKIP_IF(!have("readelf"), "readelf (binutils) not installed");
	check_against_readelf(LIBSQ, sqlite_func_names, SQ_NPUBLIC, SQ_NPUBLIC);
}

/* An ET_EXEC at 0x400000: offsets differ from addresses, so the PT_LOAD mapping is exercised. */
static void test_elf_static_executable(void **s)
{
	uint64_t offs[SQ_NFUNCS];

	(void)s;
	SKIP_IF(!static_exe[0], "no cc or libsqlite3.a to link a static executable");
	SKIP_IF(!have("readelf"), "readelf (binutils) not installed");
	check_against_readelf(static_exe, sqlite_func_names, SQ_NPUBLIC, SQ_NPUBLIC);
	elf_func_offsets(static_exe, sqlite_func_names, SQ_NPUBLIC, offs);
	assert_true(offs[SQ_STEP] < 0x400000);
}

/* The value of the local symbol "name" in path, from readelf. */
static uint64_t readelf_local(const char *path, const char *name)
{
	char cmd[512], line[512], pat[64];
	uint64_t v = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "readelf -W -s '%s'", path);
	snprintf(pat, sizeof(pat), " %s\n", name);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " LOCAL ") && strstr(line, pat))
			sscanf(line, " %*d: %" SCNx64, &v);
	pclose(f);
	return v;
}

static void test_elf_local_global_hidden(void **s)
{
	static const char *const names[] = { "dupfn", "hiddenfn", "use_a", "no_such_function", "" };
	uint64_t offs[5], stripped[5], local;
	char path[160];

	(void)s;
	SKIP_IF(!dup_lib[0] || !dup_exe[0], "no cc to build a test library");
	SKIP_IF(!have("readelf"), "readelf (binutils) not installed");
	/* in the executable only .symtab has dupfn, twice: the global one must win */
	check_against_readelf(dup_exe, names, 5, 3);
	local = readelf_local(dup_exe, "dupfn");
	assert_int_equal(elf_func_offsets(dup_exe, names, 5, offs), 3);
	assert_true(local && offs[0] && local != offs[0]);
	check_against_readelf(dup_lib, names, 5, 3);
	local = readelf_local(dup_lib, "dupfn");
	assert_int_equal(elf_func_offsets(dup_lib, names, 5, offs), 3);
	assert_true(local && offs[0] && local != offs[0]);
	assert_int_equal(offs[3], 0);
	assert_int_equal(offs[4], 0);
	/* without .symtab, the hidden function is gone and the global one comes from .dynsym */
	SKIP_IF(!have("strip"), "strip not installed");
	snprintf(path, sizeof(path), "%s/libdup-stripped.so", tmp);
	sh("strip -o '%s' '%s'", path, dup_lib);
	assert_int_equal(elf_func_offsets(path, names, 5, stripped), 2);
	assert_int_equal(stripped[0], offs[0]);
	assert_int_equal(stripped[1], 0);
	assert_int_equal(stripped[2], offs[2]);
}

static void test_elf_errors(void **s)
{
	static const char *const names[] = { "sqlite3_step" };
	uint64_t offs[1] = { 123 };
	char path[160], junk[4096];
	uint64_t x = 0x2545F4914F6CDD1DULL;

	(void)s;
	snprintf(path, sizeof(path), "%s/missing.so", tmp);
	assert_int_equal(elf_func_offsets(path, names, 1, offs), -ENOENT);
	assert_int_equal(offs[0], 0);
	for (size_t i = 0; i < sizeof(junk); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		junk[i] = (char)x;
	}
	snprintf(path, sizeof(path), "%s/garbage.so", tmp);
	write_file(path, "");
	assert_int_equal(elf_func_offsets(path, names, 1, offs), -EINVAL);   /* empty */
	{
		FILE *f = fopen(path, "we");

		assert_non_null(f);
		fwrite(junk, 1, sizeof(junk), f);
		fclose(f);
	}
	assert_int_equal(elf_func_offsets(path, names, 1, offs), -EINVAL);   /* random bytes */
	memcpy(junk, "\177ELF\002\001\001", 7);                                /* ELF magic, garbage after */
	{
		FILE *f = fopen(path, "we");

		assert_non_null(f);
		fwrite(junk, 1, 40, f);
		fclose(f);
	}
	assert_int_equal(elf_func_offsets(path, names, 1, offs), -EINVAL);   /* truncated header */
	assert_int_equal(elf_func_offsets(tmp, names, 1, offs), -EINVAL);    /* a directory */
	if (!access(LIBSQ_A, R_OK))
		assert_int_equal(elf_func_offsets(LIBSQ_A, names, 1, offs), -EINVAL);   /* an archive */
	assert_int_equal(offs[0], 0);
}

static void expect_lib(const struct sqlite_lib *lib, pid_t pid, const char *shown, enum sqlite_where where,
		       const char *same_file_as)
{
	char want_path[PATH_MAX + 32];
	uint64_t offs[SQ_NFUNCS] = { 0 };
	struct stat st;

	assert_int_equal(lib->where, where);
	if (shown)
		assert_string_equal(lib->shown, shown);
	if (pid)
		snprintf(want_path, sizeof(want_path), "/proc/%d/root%s", (int)pid, lib->shown);
	else
		snprintf(want_path, sizeof(want_path), "%s", lib->shown);
	assert_string_equal(lib->path, want_path);
	assert_int_equal(stat(lib->path, &st), 0);
	assert_int_equal(lib->dev, st.st_dev);
	assert_int_equal(lib->ino, st.st_ino);
	/* a copy of the same bytes has the same offsets */
	assert_int_equal(elf_func_offsets(same_file_as, sqlite_func_names, SQ_NPUBLIC, offs), SQ_NPUBLIC);
	assert_memory_equal(lib->offs, offs, sizeof(offs));
}

static void test_find_mapped(void **s)
{
	struct sqlite_lib lib;
	char real[PATH_MAX];
	pid_t pid;

	(void)s;
	SKIP_IF(!realpath(LIBSQ, real), LIBSQ " missing");
	pid = spawn(child_dlopen, LIBSQ);
	assert_true(pid > 0);
	assert_int_equal(sqlite_find(pid, false, &lib), 0);
	expect_lib(&lib, pid, real, SQW_MAPPED, LIBSQ);
}

static void test_find_static(void **s)
{
	struct sqlite_lib lib;
	pid_t pid;

	(void)s;
	SKIP_IF(!static_exe[0], "no cc or libsqlite3.a to link a static executable");
	pid = spawn(child_exec, static_exe);
	assert_true(pid > 0);
	assert_int_equal(sqlite_find(pid, false, &lib), 0);
	expect_lib(&lib, pid, static_exe, SQW_STATIC, static_exe);
	/* the executable comes before any candidate library */
	assert_int_equal(sqlite_find(pid, true, &lib), 0);
	assert_int_equal(lib.where, SQW_STATIC);
}

static void test_find_none_and_candidate(void **s)
{
	struct sqlite_lib lib;
	struct stat a, b;
	pid_t pid;

	(void)s;
	pid = spawn(child_exec, "/bin/sleep");
	assert_true(pid > 0);
	assert_int_equal(sqlite_find(pid, false, &lib), -ENOENT);
	assert_int_equal(lib.where, 0);
	SKIP_IF(stat(LIBSQ, &a), LIBSQ " missing");
	assert_int_equal(sqlite_find(pid, true, &lib), 0);
	assert_int_equal(lib.where, SQW_CANDIDATE);
	assert_true(!strncmp(strrchr(lib.shown, '/'), "/libsqlite3.so", 14));
	expect_lib(&lib, pid, NULL, SQW_CANDIDATE, LIBSQ);
	assert_int_equal(stat(lib.path, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

static void test_find_self(void **s)
{
	struct sqlite_lib lib;

	(void)s;
	/* this test program links no SQLite and never loads it (children do) */
	assert_int_equal(sqlite_find(0, false, &lib), -ENOENT);
	assert_int_equal(sqlite_find(getpid(), false, &lib), -ENOENT);
	SKIP_IF(access(LIBSQ, R_OK), LIBSQ " missing");
	assert_int_equal(sqlite_find(0, true, &lib), 0);
	expect_lib(&lib, 0, NULL, SQW_CANDIDATE, LIBSQ);
	assert_true(lib.path[0] == '/' && strncmp(lib.path, "/proc/", 6));
}

static void test_find_gone(void **s)
{
	struct sqlite_lib lib;
	pid_t pid = fork();

	(void)s;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	children[nchildren++] = pid;
	/* a zombie, then a reaped pid */
	for (int i = 0; i < 1000; i++) {
		char stat[64], buf[256] = "";
		FILE *f;

		snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)pid);
		f = fopen(stat, "re");
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
		}
		if (strstr(buf, ") Z "))
			break;
		usleep(1000);
	}
	assert_int_equal(sqlite_find(pid, true, &lib), -ESRCH);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(sqlite_find(pid, false, &lib), -ESRCH);
	assert_int_equal(sqlite_find(pid, true, &lib), -ESRCH);
	assert_int_equal(sqlite_find(-1, false, &lib), -EINVAL);
}

/* A Python wheel's bundled SQLite, and a library path with a space in it. */
static void test_find_bundled_and_spaces(void **s)
{
	static const char *const names[] = { "_sqlite3.cpython-311-x86_64-linux-gnu.so", "with space/libsqlite3.so.0" };
	struct sqlite_lib lib;
	char path[256];
	pid_t pid;

	(void)s;
	SKIP_IF(access(LIBSQ, R_OK), LIBSQ " missing");
	snprintf(path, sizeof(path), "%s/with space", tmp);
	mkdir(path, 0755);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, names[i]);
		assert_int_equal(copy_file(LIBSQ, path), 0);
		pid = spawn(child_dlopen, path);
		assert_true(pid > 0);
		assert_int_equal(sqlite_find(pid, false, &lib), 0);
		expect_lib(&lib, pid, path, SQW_MAPPED, LIBSQ);
		kill_children(NULL);
	}
}

/* A deleted mapped library is skipped; a file named *sqlite* without SQLite in it is ignored. */
static void test_find_deleted_and_impostor(void **s)
{
	struct sqlite_lib lib;
	char path[256];
	pid_t pid;

	(void)s;
	SKIP_IF(access(LIBSQ, R_OK), LIBSQ " missing");
	snprintf(path, sizeof(path), "%s/libsqlite3.so.0", tmp);
	assert_int_equal(copy_file(LIBSQ, path), 0);
	pid = spawn(child_dlopen, path);
	assert_true(pid > 0);
	assert_int_equal(sqlite_find(pid, false, &lib), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sqlite_find(pid, false, &lib), -ENOENT);
	kill_children(NULL);

	snprintf(path, sizeof(path), "%s/libmysqlite_helper.so", tmp);
	SKIP_IF(copy_file("/usr/lib/x86_64-linux-gnu/libz.so.1", path), "no libz.so.1 to play an impostor");
	pid = spawn(child_dlopen, path);
	assert_true(pid > 0);
	assert_int_equal(sqlite_find(pid, false, &lib), -ENOENT);
}

/* The library exists only in the child's mount namespace: found through /proc/PID/root. */
static void test_find_other_mount_namespace(void **s)
{
	char dir[128], lib_path[192];
	struct sqlite_lib lib;
	pid_t pid;

	(void)s;
	SKIP_IF(access(LIBSQ, R_OK), LIBSQ " missing");
	snprintf(dir, sizeof(dir), "%s/ns", tmp);
	mkdir(dir, 0755);
	pid = spawn(child_ns_dlopen, dir);
	SKIP_IF(pid == -EPERM || pid == -EACCES, "cannot make a mount namespace (needs root)");
	assert_true(pid > 0);
	snprintf(lib_path, sizeof(lib_path), "%s/libsqlite3.so.0", dir);
	assert_int_equal(access(lib_path, F_OK), -1);   /* not on the host */
	assert_int_equal(sqlite_find(pid, false, &lib), 0);
	expect_lib(&lib, pid, lib_path, SQW_MAPPED, LIBSQ);
}

/* In a chroot without a mount namespace, maps and exe show paths from our root, so
 * /proc/PID/root + that path is wrong; the plain path is the file. */
static void test_find_chroot(void **s)
{
	char dir[128], exe[192];
	struct sqlite_lib lib;
	struct stat st;
	pid_t pid;

	(void)s;
	SKIP_IF(!static_exe[0], "no cc or libsqlite3.a to link a static executable");
	snprintf(dir, sizeof(dir), "%s/chroot", tmp);
	snprintf(exe, sizeof(exe), "%s/static_sqlite_app", dir);
	mkdir(dir, 0755);
	assert_int_equal(copy_file(static_exe, exe), 0);
	pid = spawn(child_chroot_exec, dir);
	SKIP_IF(pid == -EPERM, "cannot chroot (needs root)");
	assert_true(pid > 0);
	assert_int_equal(sqlite_find(pid, false, &lib), 0);
	assert_int_equal(lib.where, SQW_STATIC);
	assert_string_equal(lib.path, exe);
	assert_int_equal(stat(exe, &st), 0);
	assert_true(lib.dev == st.st_dev && lib.ino == st.st_ino);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_shared_library),
		cmocka_unit_test(test_elf_static_executable),
		cmocka_unit_test(test_elf_local_global_hidden),
		cmocka_unit_test(test_elf_errors),
		cmocka_unit_test_teardown(test_find_self, kill_children),
		cmocka_unit_test_teardown(test_find_mapped, kill_children),
		cmocka_unit_test_teardown(test_find_static, kill_children),
		cmocka_unit_test_teardown(test_find_none_and_candidate, kill_children),
		cmocka_unit_test_teardown(test_find_gone, kill_children),
		cmocka_unit_test_teardown(test_find_bundled_and_spaces, kill_children),
		cmocka_unit_test_teardown(test_find_deleted_and_impostor, kill_children),
		cmocka_unit_test_teardown(test_find_other_mount_namespace, kill_children),
		cmocka_unit_test_teardown(test_find_chroot, kill_children),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
