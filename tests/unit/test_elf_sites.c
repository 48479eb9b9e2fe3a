/*
 * The uprobe sites of collect/elf.c (elf_common_callee, elf_emulated_site) on x86-64 code:
 * hand-assembled functions in a memfd, whose decoding comes from the instruction encodings
 * (Intel SDM, vol. 2), and Debian's libsqlite3.so.0, against binutils' objdump -d: the call
 * that sqlite3_prepare, _v2 and _v3 make, and the jmp after sqlite3_close's and
 * sqlite3_close_v2's first instruction.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include "collect/elf.h"

#define LIBSQ "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0"

/* A memfd holding n bytes of code at offset 0x1000 (and zeros before). */
static int code_fd(const unsigned char *code, size_t n)
{
	int fd = memfd_create("elf_sites", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, code, n, 0x1000), (ssize_t)n);
	return fd;
}

static uint64_t site_of(const unsigned char *code, size_t n)
{
	int fd = code_fd(code, n);
	uint64_t s = elf_emulated_site(fd, 0x1000);

	close(fd);
	return s;
}

static void test_emulated_site(void **state)
{
	(void)state;
	/* xor %esi,%esi; jmp rel32 (sqlite3_close's shape): the jmp at +2 */
	static const unsigned char close1[] = { 0x31, 0xf6, 0xe9, 0x49, 0xfe, 0xff, 0xff };
	/* mov $1,%esi; jmp rel32 (sqlite3_close_v2's): +5 */
	static const unsigned char close2[] = { 0xbe, 0x01, 0, 0, 0, 0xe9, 0x39, 0xfe, 0xff, 0xff };
	/* push %r15 first: +0 */
	static const unsigned char push[] = { 0x41, 0x57, 0x41, 0x56 };
	/* mov %rdi,%rbx (REX.W 89 /r, mod 11); mov %rsi,%r12 (REX.WB); push %rbp: +6 */
	static const unsigned char movs[] = { 0x48, 0x89, 0xfb, 0x49, 0x89, 0xf4, 0x55 };
	/* xor %r8d,%r8d (REX.RB 45 31 c0); call rel32: +3 */
	static const unsigned char call[] = { 0x45, 0x31, 0xc0, 0xe8, 0, 0, 0, 0 };
	/* jmp rel8 after mov $6,%edx: +5 */
	static const unsigned char jmp8[] = { 0xba, 0x06, 0, 0, 0, 0xeb, 0x10 };
	/* a CET build's endbr64 (f3 0f 1e fa) first, then push %rbp: +4 */
	static const unsigned char endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55 };
	/* not passed: sub $0x10,%rsp (48 83 ec 10), a memory operand (mov (%rdi),%rax: 48 8b 07),
	 * mov $imm64 (REX.W b8: 10 bytes), test %rdi,%rdi (48 85 ff) */
	static const unsigned char sub[] = { 0x48, 0x83, 0xec, 0x10, 0x55 };
	static const unsigned char mem[] = { 0x48, 0x8b, 0x07, 0x55 };
	/* (a push where an imm32 decode would land: 0x1006) */
	static const unsigned char imm64[] = { 0x48, 0xb8, 1, 2, 3, 4, 0x55, 6, 7, 8, 0x55 };
	static const unsigned char test[] = { 0x48, 0x85, 0xff, 0x55 };
	/* a push with a REX prefix other than REX.B (the kernel steps it), an xor cut short */
	static const unsigned char rexw_push[] = { 0x48, 0x55 };
	static const unsigned char cut_xor[] = { 0x31 };
	/* movs only, no emulated instruction within 16 bytes; and a prefix cut at the end */
	static const unsigned char none[] = { 0x89, 0xc0, 0x89, 0xc0, 0x89, 0xc0, 0x89, 0xc0,
					      0x89, 0xc0, 0x89, 0xc0, 0x89, 0xc0, 0x89, 0xc0, 0x55 };
	static const unsigned char cut[] = { 0x48 };

#define CASE(code, want) { code, sizeof(code), want }
	static const struct { const unsigned char *code; size_t n; uint64_t want; } cases[] = {
		CASE(close1, 0x1002), CASE(close2, 0x1005), CASE(push, 0x1000), CASE(movs, 0x1006),
		CASE(call, 0x1003), CASE(jmp8, 0x1005), CASE(sub, 0), CASE(mem, 0), CASE(imm64, 0),
		CASE(endbr, 0x1004), CASE(test, 0), CASE(none, 0), CASE(cut, 0), CASE(rexw_push, 0),
		CASE(cut_xor, 0),
	};
#undef CASE

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = site_of(cases[i].code, cases[i].n);

		if (got != cases[i].want)
			fail_msg("case %zu: site 0x%" PRIx64 ", want 0x%" PRIx64, i, got, cases[i].want);
	}
}

/* rel32 from the byte after a 5-byte call or jmp at at to target */
static void put_rel(unsigned char *b, uint64_t at, uint64_t target)
{
	int32_t rel = (int32_t)(target - (at + 5));

	memcpy(b + at + 1, &rel, sizeof(rel));
}

static void test_common_callee(void **state)
{
	unsigned char b[0x400] = { 0 };
	uint64_t fo[3] = { 0x100, 0x180, 0x200 };
	int fd;

	(void)state;
	/* three wrappers: each calls 0x300 (a push), the first also 0x340 before it (a push too,
	 * but not shared), the third jumps (a tail call) */
	b[0x100] = 0x48, b[0x101] = 0x83, b[0x102] = 0xec, b[0x103] = 0x10;   /* sub $0x10,%rsp */
	b[0x104] = 0xe8, put_rel(b, 0x104, 0x340);
	b[0x109] = 0xe8, put_rel(b, 0x109, 0x300);
	b[0x190] = 0xe8, put_rel(b, 0x190, 0x300);
	b[0x20a] = 0xe9, put_rel(b, 0x20a, 0x300);
	b[0x300] = 0x41, b[0x301] = 0x57;                                      /* push %r15 */
	b[0x340] = 0x55;                                                       /* push %rbp */
	fd = memfd_create("elf_sites", MFD_CLOEXEC);
	assert_true(fd >= 0);
#define AT(want) do { \
		assert_int_equal(pwrite(fd, b, sizeof(b), 0), (ssize_t)sizeof(b)); \
		assert_int_equal(elf_common_callee(fd, fo, 3, 0, sizeof(b)), want); \
	} while (0)
	AT(0x300);
	/* outside the segment given: none */
	assert_int_equal(elf_common_callee(fd, fo, 3, 0, 0x300), 0);
	/* a CET build: endbr64, then the push */
	memcpy(b + 0x300, (unsigned char[]){ 0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x57 }, 6);
	AT(0x304);
	/* the shared target not a push (test %rdi,%rdi): none */
	memcpy(b + 0x300, (unsigned char[]){ 0x48, 0x85, 0xff, 0, 0, 0 }, 6);
	AT(0);
	/* both shared, the first (0x340, the first wrapper's first call) not a push, the second
	 * (0x300) a push: the second */
	b[0x195] = 0xe8, put_rel(b, 0x195, 0x340);
	b[0x20f] = 0xe8, put_rel(b, 0x20f, 0x340);
	memcpy(b + 0x300, (unsigned char[]){ 0x41, 0x57 }, 2);
	memcpy(b + 0x340, (unsigned char[]){ 0x48, 0x85, 0xff }, 3);
	AT(0x300);
	/* no target shared by all three */
	b[0x104] = 0;
	b[0x20a] = 0xe9, put_rel(b, 0x20a, 0x380);
	AT(0);
#undef AT
	/* more functions than it takes */
	assert_int_equal(elf_common_callee(fd, (uint64_t[5]){ 0x100, 0x100, 0x100, 0x100, 0x100 }, 5, 0,
					   sizeof(b)), 0);
	close(fd);
}

/* From objdump -d of the 48 bytes at file offset off of path (Debian's library: file offset =
 * address in its text segment): the target of the first "what" (call, jmp), and its own
 * address in *at if at; or with what NULL the address of the second instruction; 0 if none. */
static uint64_t objdump_at(const char *path, uint64_t off, const char *what, uint64_t *at)
{
	char cmd[4400], line[512];
	uint64_t t = 0;
	int n = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "objdump -d --start-address=0x%" PRIx64 " --stop-address=0x%" PRIx64
		 " %s 2>/dev/null", off, off + 48, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (!t && fgets(line, sizeof(line), f)) {
		char *p = what ? strstr(line, what) : NULL;
		uint64_t v;
		char c;

		if (p && p[strlen(what)] == ' ') {
			t = strtoull(p + strlen(what), NULL, 16);
			if (at)
				*at = strtoull(line, NULL, 16);
		}
		else if (!what && sscanf(line, " %" SCNx64 ":%c", &v, &c) == 2 && c == '\t' && n++ == 1)
			t = v;
	}
	pclose(f);
	return t;
}

static void test_debian_sqlite(void **state)
{
	static const char *const names[5] = { "sqlite3_prepare", "sqlite3_prepare_v2", "sqlite3_prepare_v3",
					       "sqlite3_close", "sqlite3_close_v2" };
	uint64_t fo[5], callee, lo, hi;
	char real[4096];
	int fd;

	(void)state;
	if (access(LIBSQ, R_OK) || system("command -v objdump >/dev/null")) {
		skip();
		return;
	}
	assert_non_null(realpath(LIBSQ, real));
	assert_int_equal(elf_func_offsets(real, names, 5, fo), 5);
	assert_int_equal(elf_exec_range(real, fo[1], &lo, &hi), 0);
	assert_true(lo <= fo[1] && fo[1] < hi);
	fd = open(real, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	callee = elf_common_callee(fd, fo, 3, lo, hi);
	/* objdump: each of the three calls the same function (its first "call" line) */
	assert_true(callee != 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(objdump_at(real, fo[i], "call", NULL), callee);
	/* the close sites: the jmp right after the first instruction */
	for (int i = 3; i < 5; i++) {
		uint64_t site = elf_emulated_site(fd, fo[i]), jmp_at = 0;

		assert_int_equal(site, objdump_at(real, fo[i], NULL, NULL));
		assert_true(objdump_at(real, fo[i], "jmp", &jmp_at) != 0);
		assert_int_equal(site, jmp_at);
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emulated_site),
		cmocka_unit_test(test_common_callee),
		cmocka_unit_test(test_debian_sqlite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
