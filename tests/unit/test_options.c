/* Argument parsing: every usage error is rejected with exit code 2 and a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "options.h"
#include "collect/collector.h"

static int parse(struct iogap_opts *o, char *err, const char *first, ...)
{
	static char *argv[32];   /* o->cmd_argv points into it */
	int argc = 0;
	va_list ap;

	argv[argc++] = "iogap";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return options_parse(argc, argv, o, err, 256);
}

#define expect_usage(substr, ...) do { \
	struct iogap_opts o; char err[256]; \
	assert_int_equal(parse(&o, err, __VA_ARGS__, NULL), 2); \
	if (!strstr(err, substr)) { print_error("message '%s' lacks '%s'\n", err, substr); fail(); } \
} while (0)

static void test_usage_errors(void **s)
{
	(void)s;
	expect_usage("invalid PID", "trace", "-p", "abc");
	expect_usage("invalid PID", "trace", "-p", "-5");
	expect_usage("invalid PID", "trace", "-p", "0");
	expect_usage("invalid PID", "trace", "-p", "12x");
	expect_usage("invalid PID", "trace", "-p", "99999999999");
	expect_usage("needs an argument", "trace", "-p");
	expect_usage("invalid duration", "trace", "-p", "1", "-d", "soon");
	expect_usage("invalid duration", "trace", "-p", "1", "-d", "-3");
	expect_usage("invalid duration", "trace", "-p", "1", "-d", "0");
	expect_usage("invalid interval", "trace", "-p", "1", "-i", "1x");
	expect_usage("below 10ms", "trace", "-p", "1", "-i", "1ms");
	expect_usage("unknown option", "trace", "-p", "1", "--frob");
	expect_usage("nothing to trace", "trace");
	expect_usage("nothing to trace", "trace", "-d", "5");
	expect_usage("no command after", "trace", "--");
	expect_usage("unexpected argument", "trace", "-p", "1", "stray");
	expect_usage("empty cgroup", "trace", "--cgroup", "");
	expect_usage("no command given", NULL);
}

static void test_targets_and_command(void **s)
{
	struct iogap_opts o;
	char err[256];

	(void)s;
	assert_int_equal(parse(&o, err, "trace", "-p", "10", "--pid", "20", "--cgroup", "/a",
			       "--json", "-d", "1.5s", "-i", "500ms", "--", "ls", "-l", "--all", NULL), 0);
	assert_string_equal(o.subcmd, "trace");
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.pids[1], 20);
	assert_int_equal(o.ncgroups, 1);
	assert_string_equal(o.cgroups[0], "/a");
	assert_true(o.json);
	assert_int_equal(o.duration_ns, 1500000000ULL);
	assert_int_equal(o.interval_ns, 500000000ULL);
	assert_non_null(o.cmd_argv);
	assert_string_equal(o.cmd_argv[0], "ls");
	assert_string_equal(o.cmd_argv[1], "-l");
	assert_string_equal(o.cmd_argv[2], "--all");   /* the command's options stay its own */
	assert_null(o.cmd_argv[3]);
}

static void test_durations(void **s)
{
	uint64_t ns;

	(void)s;
	assert_int_equal(options_parse_duration("5", &ns), 0);
	assert_int_equal(ns, 5000000000ULL);
	assert_int_equal(options_parse_duration("2m", &ns), 0);
	assert_int_equal(ns, 120000000000ULL);
	assert_int_equal(options_parse_duration("250us", &ns), 0);
	assert_int_equal(ns, 250000ULL);
	assert_int_not_equal(options_parse_duration("", &ns), 0);
	assert_int_not_equal(options_parse_duration("5 s", &ns), 0);
	assert_int_not_equal(options_parse_duration("nan", &ns), 0);
	assert_int_not_equal(options_parse_duration("inf", &ns), 0);
}

static void test_modules(void **s)
{
	struct iogap_opts o;
	char err[256];

	(void)s;
	assert_int_equal(parse(&o, err, "trace", "-p", "1", NULL), 0);
	assert_int_equal(o.modules, 0);    /* all */
	assert_int_equal(parse(&o, err, "trace", "--modules", "file", "-p", "1", NULL), 0);
	assert_int_equal(o.modules, COLLECT_FILE);
	assert_int_equal(parse(&o, err, "trace", "--modules", "sqlite,file,budget", "-p", "1", NULL), 0);
	assert_int_equal(o.modules, COLLECT_FILE | COLLECT_SQLITE | COLLECT_BUDGET);
	assert_int_equal(parse(&o, err, "record", "--modules=file,sqlite,net,budget", "-o", "x",
			       "-p", "1", NULL), 0);
	assert_int_equal(o.modules, COLLECT_FILE | COLLECT_SQLITE | COLLECT_NET | COLLECT_BUDGET);
	expect_usage("unknown module 'disk'", "trace", "--modules", "file,disk", "-p", "1");
	expect_usage("unknown module ''", "trace", "--modules", "file,", "-p", "1");
	expect_usage("unknown module 'File'", "trace", "--modules", "File", "-p", "1");
	expect_usage("lacks file", "trace", "--modules", "sqlite,net", "-p", "1");
	expect_usage("needs an argument", "trace", "-p", "1", "--modules");
}

static void test_help(void **s)
{
	struct iogap_opts o;
	char err[256];

	(void)s;
	assert_int_equal(parse(&o, err, "--help", NULL), 0);
	assert_true(o.help);
	assert_int_equal(parse(&o, err, "trace", "-h", NULL), 0);
	assert_true(o.help);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_targets_and_command),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
