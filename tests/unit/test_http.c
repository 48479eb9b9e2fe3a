/* HTTP/1.x first lines and routes: strict parsing of bytes cut anywhere; bounded input and output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "model/http.h"

static enum http_kind parse(const char *s, struct http_first *f)
{
	return http_parse_first(s, strlen(s), f);
}

static void check_request(const char *line, const char *method, const char *path, int minor)
{
	struct http_first f;

	if (parse(line, &f) != HTTP_REQUEST || f.kind != HTTP_REQUEST || strcmp(f.method, method) ||
	    strcmp(f.path, path) || !f.path_complete || f.minor != minor || f.status) {
		print_error("in:   %s\nwant: %s %s 1.%d\ngot:  kind %d %s %s complete %d 1.%d\n", line,
			    method, path, minor, f.kind, f.method, f.path, f.path_complete, f.minor);
		fail();
	}
}

static void check_response(const char *line, int status, int minor)
{
	struct http_first f;

	if (parse(line, &f) != HTTP_RESPONSE || f.kind != HTTP_RESPONSE || f.status != status ||
	    f.minor != minor || f.method[0] || f.path[0]) {
		print_error("in:   %s\nwant: %d 1.%d\ngot:  kind %d %d 1.%d\n", line, status, minor,
			    f.kind, f.status, f.minor);
		fail();
	}
}

/* NONE, and the whole struct left zeroed. */
static void check_none_n(const char *buf, size_t len)
{
	static const struct http_first zero;
	struct http_first f;

	memset(&f, 0x5A, sizeof(f));
	if (http_parse_first(buf, len, &f) != HTTP_NONE || memcmp(&f, &zero, sizeof(f))) {
		print_error("in: %.*s\nwant: HTTP_NONE, got kind %d\n", (int)len, buf, f.kind);
		fail();
	}
}

static void check_none(const char *s)
{
	check_none_n(s, strlen(s));
}

struct rcase {
	const char *in, *want;
};

static void check_routes(const struct rcase *c, size_t n)
{
	char out[256];

	for (size_t i = 0; i < n; i++) {
		size_t got = http_route_normalize(c[i].in, out, sizeof(out));

		if (strcmp(out, c[i].want) || got != strlen(c[i].want)) {
			print_error("in:   %s\nwant: %s\ngot:  %s (%zu)\n", c[i].in, c[i].want, out, got);
			fail();
		}
	}
}

#define ROUTES(...) do { \
	static const struct rcase cases[] = { __VA_ARGS__ }; \
	check_routes(cases, sizeof(cases) / sizeof(cases[0])); \
} while (0)

/* The route of the request line cut to len bytes. */
static const char *cut_route(const char *line, size_t len, char *out, size_t outlen)
{
	struct http_first f;

	assert_int_equal(http_parse_first(line, len, &f), HTTP_REQUEST);
	http_route_first(&f, out, outlen);
	return out;
}

/* ---- requests ---- */

static void test_get(void **s)
{
	(void)s;
	check_request("GET /items/42 HTTP/1.1\r\nHost: localhost:8000\r\n\r\n", "GET", "/items/42", 1);
	check_request("GET / HTTP/1.0\r\n\r\n", "GET", "/", 0);
}

static void test_post_put_delete_patch(void **s)
{
	(void)s;
	check_request("POST /items HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", "POST", "/items", 1);
	check_request("PUT /items/7 HTTP/1.1\r\n", "PUT", "/items/7", 1);
	check_request("DELETE /items/7 HTTP/1.1\r\n", "DELETE", "/items/7", 1);
	check_request("PATCH /items/7 HTTP/1.1\r\n", "PATCH", "/items/7", 1);
}

static void test_head_options_trace(void **s)
{
	(void)s;
	check_request("HEAD /health HTTP/1.1\r\n", "HEAD", "/health", 1);
	check_request("OPTIONS /items HTTP/1.1\r\n", "OPTIONS", "/items", 1);
	check_request("OPTIONS * HTTP/1.1\r\n", "OPTIONS", "*", 1);
	check_request("TRACE /t HTTP/1.1\r\n", "TRACE", "/t", 1);
}

static void test_connect(void **s)
{
	(void)s;
	check_request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n", "CONNECT",
		      "example.com:443", 1);
	check_request("CONNECT [::1]:8080 HTTP/1.1\r\n", "CONNECT", "[::1]:8080", 1);
	check_none("CONNECT /x HTTP/1.1\r\n");   /* CONNECT takes only authority-form */
	check_none("CONNECT  HTTP/1.1\r\n");
	check_none("CONNECT h/x HTTP/1.1\r\n");
}

static void test_query_kept_in_path(void **s)
{
	(void)s;
	check_request("GET /search?q=a%20b&page=2#frag HTTP/1.1\r\n", "GET", "/search?q=a%20b&page=2#frag", 1);
	check_request("GET /caf\xc3\xa9 HTTP/1.1\r\n", "GET", "/caf\xc3\xa9", 1);   /* raw UTF-8 passes */
}

static void test_line_ends(void **s)
{
	(void)s;
	check_request("GET /a HTTP/1.1\n", "GET", "/a", 1);
	check_request("GET /a HTTP/1.1", "GET", "/a", 1);
	check_request("GET /a HTTP/1.1\r", "GET", "/a", 1);
	check_none("GET /a HTTP/1.1\rX");
	check_none("GET /a HTTP/1.1 \r\n");
	check_none("GET /a HTTP/1.10\r\n");
}

static void test_absolute_uri(void **s)
{
	(void)s;
	check_request("GET http://example.com/items/42?x=1 HTTP/1.1\r\n", "GET", "/items/42?x=1", 1);
	check_request("GET http://example.com:8080/a/b HTTP/1.1\r\n", "GET", "/a/b", 1);
	check_request("POST https://user@example.com/p HTTP/1.1\r\n", "POST", "/p", 1);
	check_request("GET HTTP://Example.COM/P HTTP/1.1\r\n", "GET", "/P", 1);
	check_request("GET http://example.com HTTP/1.1\r\n", "GET", "/", 1);
	check_request("GET http://example.com?q=1 HTTP/1.1\r\n", "GET", "/?q=1", 1);
	check_request("GET http://[::1]:80//x HTTP/1.1\r\n", "GET", "//x", 1);
}

static void test_absolute_uri_bad(void **s)
{
	(void)s;
	check_none("GET http:///x HTTP/1.1\r\n");   /* no host */
	check_none("GET http:// HTTP/1.1\r\n");
	check_none("GET ftp://h/x HTTP/1.1\r\n");
	check_none("GET http:/x HTTP/1.1\r\n");
	check_none("GET httpx://h/x HTTP/1.1\r\n");
	check_none("GET example.com/x HTTP/1.1\r\n");   /* authority-form is for CONNECT only */
}

static void test_asterisk(void **s)
{
	(void)s;
	check_none("OPTIONS *x HTTP/1.1\r\n");
	check_none("OPTIONS ** HTTP/1.1\r\n");
}

static void test_long_target(void **s)
{
	char line[512], want[128];
	struct http_first f;

	(void)s;
	memset(want, 'a', sizeof(want));
	want[0] = '/';
	want[127] = 0;
	snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\n", want);   /* 127 bytes: fits exactly */
	assert_int_equal(parse(line, &f), HTTP_REQUEST);
	assert_string_equal(f.path, want);
	assert_true(f.path_complete);
	assert_int_equal(f.minor, 1);
	snprintf(line, sizeof(line), "GET %sbbb HTTP/1.1\r\n", want);   /* 130: path cut, so incomplete */
	assert_int_equal(parse(line, &f), HTTP_REQUEST);
	assert_string_equal(f.path, want);
	assert_false(f.path_complete);
	assert_int_equal(f.minor, 1);
	snprintf(line, sizeof(line), "GET %sbbb\x01 HTTP/1.1\r\n", want);   /* still scanned for validity */
	check_none(line);
}

/* ---- bytes cut anywhere ---- */

/* The rule: HTTP_REQUEST from the offset where "METHOD SP" is complete (4 here) on; path is the
 * target's bytes so far; path_complete once the space after the target is in; minor -1 until its
 * digit is in. Before "GET ", HTTP_NONE: "GET" could still be "GETTER". */
static void test_request_cut_every_offset(void **s)
{
	static const char line[] = "GET /items/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
	const size_t target = 4, tlen = strlen("/items/42?x=1"), digit = target + tlen + 8;

	(void)s;
	for (size_t len = 0; len <= sizeof(line) - 1; len++) {
		char *buf = malloc(len ? len : 1);
		struct http_first f;
		enum http_kind k;

		assert_non_null(buf);
		memcpy(buf, line, len);   /* no NUL: ASan reports any overread */
		k = http_parse_first(buf, len, &f);
		if (len < target) {
			assert_int_equal(k, HTTP_NONE);
		} else {
			size_t n = len - target < tlen ? len - target : tlen;

			assert_int_equal(k, HTTP_REQUEST);
			assert_string_equal(f.method, "GET");
			assert_int_equal(strlen(f.path), n);
			assert_memory_equal(f.path, line + target, n);
			assert_int_equal(f.path_complete, len > target + tlen);
			assert_int_equal(f.minor, len > digit ? 1 : -1);
		}
		free(buf);
	}
}

static void test_absolute_cut_every_offset(void **s)
{
	static const char line[] = "PUT http://api.local:8000/items/7 HTTP/1.0\r\n";
	const size_t path_at = strlen("PUT http://api.local:8000"), end = path_at + strlen("/items/7");

	(void)s;
	for (size_t len = 0; len <= sizeof(line) - 1; len++) {
		struct http_first f;
		enum http_kind k = http_parse_first(line, len, &f);

		if (len < 4) {
			assert_int_equal(k, HTTP_NONE);
			continue;
		}
		assert_int_equal(k, HTTP_REQUEST);
		assert_string_equal(f.method, "PUT");
		if (len <= path_at)
			assert_string_equal(f.path, "");
		else
			assert_memory_equal(f.path, line + path_at, (len < end ? len : end) - path_at);
		assert_int_equal(f.path_complete, len > end);
		assert_int_equal(f.minor, len > end + 8 ? 0 : -1);
	}
}

/* HTTP_RESPONSE from the offset where the three digits are in; never before. */
static void test_response_cut_every_offset(void **s)
{
	static const char line[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";

	(void)s;
	for (size_t len = 0; len <= sizeof(line) - 1; len++) {
		char *buf = malloc(len ? len : 1);
		struct http_first f;

		assert_non_null(buf);
		memcpy(buf, line, len);
		if (len < 12) {
			assert_int_equal(http_parse_first(buf, len, &f), HTTP_NONE);
		} else {
			assert_int_equal(http_parse_first(buf, len, &f), HTTP_RESPONSE);
			assert_int_equal(f.status, 404);
			assert_int_equal(f.minor, 1);
		}
		free(buf);
	}
}

/* Every prefix of any valid line parses without crashing, as the same kind once it is decided. */
static void test_cut_prefixes_stay_consistent(void **s)
{
	static const char *const lines[] = {
		"DELETE /u/550e8400-e29b-41d4-a716-446655440000 HTTP/1.1\r\n",
		"OPTIONS * HTTP/1.1\r\n",
		"CONNECT db.internal:5432 HTTP/1.1\r\n",
		"GET https://h/ HTTP/1.1\r\n",
		"HTTP/1.0 500 Internal Server Error\r\n",
	};

	(void)s;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct http_first full, f;
		size_t n = strlen(lines[i]);
		bool decided = false;

		assert_int_not_equal(parse(lines[i], &full), HTTP_NONE);
		for (size_t len = 0; len <= n; len++) {
			enum http_kind k = http_parse_first(lines[i], len, &f);

			assert_true(k == HTTP_NONE ? !decided : k == full.kind);
			decided = k != HTTP_NONE;
			if (k == HTTP_REQUEST)
				assert_true(!strncmp(f.path, full.path, strlen(f.path)));
		}
		assert_true(decided);
	}
}

/* ---- responses ---- */

static void test_responses(void **s)
{
	(void)s;
	check_response("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n", 200, 1);
	check_response("HTTP/1.1 404 Not Found\r\n", 404, 1);
	check_response("HTTP/1.1 500 Internal Server Error\r\n", 500, 1);
	check_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", 101, 1);
	check_response("HTTP/1.0 302 Found\r\n", 302, 0);
}

static void test_response_no_reason(void **s)
{
	(void)s;
	check_response("HTTP/1.1 204 \r\n", 204, 1);
	check_response("HTTP/1.1 204\r\n", 204, 1);
	check_response("HTTP/1.1 204\n", 204, 1);
	check_response("HTTP/1.1 599", 599, 1);
	check_response("HTTP/1.1 100", 100, 1);
}

static void test_response_bad_status(void **s)
{
	(void)s;
	check_none("HTTP/1.1 20");
	check_none("HTTP/1.1 2000 OK\r\n");
	check_none("HTTP/1.1 200OK\r\n");
	check_none("HTTP/1.1 600 X\r\n");
	check_none("HTTP/1.1 099 X\r\n");
	check_none("HTTP/1.1 2x0 X\r\n");
	check_none("HTTP/1.1  200 OK\r\n");
	check_none("HTTP/1.1\t200 OK\r\n");
	check_none("HTTP/1.x 200 OK\r\n");
	check_none("HTTP/1.");
}

static void test_response_other_versions(void **s)
{
	(void)s;
	check_none("HTTP/2 200\r\n");
	check_none("HTTP/2.0 200 OK\r\n");
	check_none("HTTP/0.9 200 OK\r\n");
	check_none("HTTP/11 200 OK\r\n");
}

/* ---- not HTTP/1.x ---- */

static void test_garbage(void **s)
{
	(void)s;
	check_none("");
	check_none("hello world");
	check_none(" GET / HTTP/1.1\r\n");   /* no leading garbage, not even a space */
	check_none("\r\nGET / HTTP/1.1\r\n");
	check_none("GET  / HTTP/1.1\r\n");
	check_none("GET\t/ HTTP/1.1\r\n");
	check_none("ET / HTTP/1.1\r\n");
	check_none("GET /\r\n");   /* HTTP/0.9: no version */
	check_none("GET / \r\n");
	check_none("GET /a\tb HTTP/1.1\r\n");
	check_none("GET /a\x7f HTTP/1.1\r\n");
	check_none("GET x HTTP/1.1\r\n");
	check_none("GET");   /* not yet a request: could be GETTER */
	check_none("{\"id\": 1}");
	check_none("SSH-2.0-OpenSSH_9.6\r\n");
}

static void test_bad_version(void **s)
{
	(void)s;
	check_none("GET / HTTP/2.0\r\n");
	check_none("GET / HTTP/1.x\r\n");
	check_none("GET / HTTPS/1.1\r\n");
	check_none("GET / http/1.1\r\n");
	check_none("GET / HTTP/1.1 extra\r\n");
	check_none("GET / HTTP/1.1/\r\n");
}

static void test_tls_client_hello(void **s)
{
	/* a TLS 1.2 record header and the start of a ClientHello, as curl sends it */
	static const uint8_t hello[] = {
		0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x4a, 0x1b, 0x22, 0x90,
		0xd1, 0x47, 0x0c, 0x53, 0x5e, 0x7f, 0x86, 0x9d, 0x3a, 0x01, 0x42, 0x08, 0xbe, 0x5c, 0x20,
		0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01, 0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc,
	};
	static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03 };
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };

	(void)s;
	check_none_n((const char *)hello, sizeof(hello));
	check_none_n((const char *)server_hello, sizeof(server_hello));
	check_none_n((const char *)alert, sizeof(alert));
}

/* The HTTP/2 connection preface starts like a request line, but PRI is no HTTP/1.x method and
 * HTTP/2 is not parsed: HTTP_NONE, and neither is counted as a request. */
static void test_http2_preface(void **s)
{
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

	(void)s;
	check_none_n(preface, sizeof(preface) - 1);
	for (size_t len = 0; len < sizeof(preface); len++)
		check_none_n(preface, len);
}

static void test_lowercase_method(void **s)
{
	(void)s;
	check_none("get / HTTP/1.1\r\n");
	check_none("Get / HTTP/1.1\r\n");
	check_none("post /items HTTP/1.1\r\n");
	check_none("http/1.1 200 OK\r\n");
	check_none("Http/1.1 200 OK\r\n");
}

static void test_unknown_methods(void **s)
{
	(void)s;
	check_none("PROPFIND /dav HTTP/1.1\r\n");
	check_none("GETX / HTTP/1.1\r\n");
	check_none("GE / HTTP/1.1\r\n");
	check_none("BREW /pot HTTP/1.1\r\n");
}

/* The BPF buffer is zero-padded: a NUL ends the input, as if len had. */
static void test_nul_ends_input(void **s)
{
	char buf[128] = "GET /items/9";
	struct http_first f;

	(void)s;
	assert_int_equal(http_parse_first(buf, sizeof(buf), &f), HTTP_REQUEST);
	assert_string_equal(f.path, "/items/9");
	assert_false(f.path_complete);
	assert_int_equal(f.minor, -1);
	assert_int_equal(http_parse_first("GET /a\0 HTTP/1.1\r\n", 18, &f), HTTP_REQUEST);
	assert_string_equal(f.path, "/a");
	assert_false(f.path_complete);
	check_none_n("\0GET / HTTP/1.1\r\n", 17);
	check_none_n("HTTP/1.1 20\0" "0 OK", 16);
}

static void test_null_args(void **s)
{
	struct http_first f;
	char out[8] = "xxxxxxx";

	(void)s;
	assert_int_equal(http_parse_first(NULL, 0, &f), HTTP_NONE);
	assert_int_equal(http_parse_first(NULL, 100, &f), HTTP_NONE);
	assert_int_equal(http_parse_first("GET / HTTP/1.1", 14, NULL), HTTP_REQUEST);
	assert_int_equal(http_parse_first("HTTP/1.1 200 OK", 15, NULL), HTTP_RESPONSE);
	assert_int_equal(http_route_normalize(NULL, out, sizeof(out)), 1);
	assert_string_equal(out, "/");
	memset(out, 'x', sizeof(out));
	assert_int_equal(http_route_normalize("/a", out, 0), 0);
	assert_int_equal(out[0], 'x');
	assert_int_equal(http_route_first(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* ---- routes ---- */

static void test_route_ids(void **s)
{
	(void)s;
	ROUTES({ "/items/123", "/items/{id}" },
	       { "/items/0", "/items/{id}" },
	       { "/items/123/", "/items/{id}/" },
	       { "/users/42/orders/7", "/users/{id}/orders/{id}" },
	       { "/u/550e8400-e29b-41d4-a716-446655440000/x", "/u/{id}/x" },
	       { "/u/550E8400-E29B-41D4-A716-446655440000", "/u/{id}" },
	       { "/h/0123456789abcdef0123", "/h/{id}" },
	       { "/h/0123456789ABCDEF", "/h/{id}" },
	       { "/123", "/{id}" });
}

static void test_route_not_ids(void **s)
{
	(void)s;
	ROUTES({ "/v1/items", "/v1/items" },
	       { "/items/12abc", "/items/12abc" },
	       { "/h/0123456789abcde", "/h/0123456789abcde" },   /* 15 hex: too short */
	       { "/h/0123456789abcdeg", "/h/0123456789abcdeg" },
	       { "/u/550e8400-e29b-41d4-a716-44665544000", "/u/550e8400-e29b-41d4-a716-44665544000" },
	       { "/u/550e8400e29b-41d4-a716-446655440000-", "/u/550e8400e29b-41d4-a716-446655440000-" },
	       { "/u/550e8400-e29b-41d4-a716-44665544000g", "/u/550e8400-e29b-41d4-a716-44665544000g" },
	       { "/items/-1", "/items/-1" },
	       { "/files/a%2Fb%20c", "/files/a%2Fb%20c" },
	       { "/caf\xc3\xa9/1", "/caf\xc3\xa9/{id}" },
	       { "/./..", "/./.." });
}

static void test_route_slashes(void **s)
{
	(void)s;
	ROUTES({ "/a//b", "/a/b" },
	       { "//a///b//", "/a/b/" },
	       { "/", "/" },
	       { "//", "/" },
	       { "/items/", "/items/" },
	       { "/items//123//", "/items/{id}/" });
}

static void test_route_query_fragment(void **s)
{
	(void)s;
	ROUTES({ "/items/123?x=1&y=2", "/items/{id}" },
	       { "/search?q=/a/1", "/search" },
	       { "/a#frag", "/a" },
	       { "/a/?x", "/a/" },
	       { "/a?x#y", "/a" },
	       { "?x", "/" },
	       { "/a#b?c", "/a" });
}

static void test_route_empty(void **s)
{
	(void)s;
	ROUTES({ "", "/" }, { "?", "/" }, { "#", "/" });
}

static void test_route_absolute_and_other_forms(void **s)
{
	(void)s;
	ROUTES({ "http://example.com/items/7?x", "/items/{id}" },
	       { "HTTPS://h:443//a//b", "/a/b" },
	       { "http://h", "/" },
	       { "http://h?q=1", "/" },
	       { "*", "*" },
	       { "example.com:443", "example.com:443" });
}

/* A parsed request cut short: its last, partial segment becomes "..." unless it is an {id}. */
static void test_route_cut(void **s)
{
	char out[128];

	(void)s;
	assert_string_equal(cut_route("GET /items/12", 13, out, sizeof(out)), "/items/{id}");
	assert_string_equal(cut_route("GET /items/ab", 13, out, sizeof(out)), "/items/...");
	assert_string_equal(cut_route("GET /items/", 11, out, sizeof(out)), "/items/...");
	assert_string_equal(cut_route("GET /items//", 12, out, sizeof(out)), "/items/...");
	assert_string_equal(cut_route("GET /", 5, out, sizeof(out)), "/...");
	assert_string_equal(cut_route("GET ", 4, out, sizeof(out)), "/...");
	assert_string_equal(cut_route("GET http://h", 12, out, sizeof(out)), "/...");
	assert_string_equal(cut_route("GET /items/1?q=abc", 18, out, sizeof(out)), "/items/{id}");
	assert_string_equal(cut_route("GET /a#fr", 9, out, sizeof(out)), "/a");
	assert_string_equal(cut_route("GET /u/550e8400-e29b-41d4-a716-446655440000", 43, out, sizeof(out)),
			    "/u/{id}");
	assert_string_equal(cut_route("GET /u/550e8400-e29b-41d4-a716-44665544", 41, out, sizeof(out)),
			    "/u/...");
	assert_string_equal(cut_route("CONNECT db:54", 13, out, sizeof(out)), "...");
	/* the same targets when complete */
	assert_string_equal(cut_route("GET /items/ab HTTP/1.1", 22, out, sizeof(out)), "/items/ab");
	assert_string_equal(cut_route("GET / HTTP/1.1", 14, out, sizeof(out)), "/");
	/* not a request: no route */
	{
		struct http_first f;

		http_parse_first("HTTP/1.1 200 OK", 15, &f);
		assert_int_equal(http_route_first(&f, out, sizeof(out)), 0);
		assert_string_equal(out, "");
	}
}

/* Every cut of a request line gives one of the routes its prefixes can honestly claim. */
static void test_route_cut_every_offset(void **s)
{
	static const char line[] = "GET /v1/items/42/tags?page=3 HTTP/1.1\r\n";
	static const char *const ok[] = {
		"/...", "/v1/...", "/v1/items/...", "/v1/items/{id}", "/v1/items/{id}/...",
		"/v1/items/{id}/tags",
	};
	char out[128];

	(void)s;
	for (size_t len = 4; len < sizeof(line); len++) {
		size_t i;

		cut_route(line, len, out, sizeof(out));
		for (i = 0; i < sizeof(ok) / sizeof(ok[0]) && strcmp(out, ok[i]); i++)
			;
		if (i == sizeof(ok) / sizeof(ok[0])) {
			print_error("cut at %zu: %s\n", len, out);
			fail();
		}
		if (len > strlen("GET /v1/items/42/tags"))   /* the '?' is in: the path is whole */
			assert_string_equal(out, "/v1/items/{id}/tags");
	}
}

static void test_route_truncation(void **s)
{
	static const char *in = "/users/42/orders/550e8400-e29b-41d4-a716-446655440000/lines?x=1";
	char full[128];
	size_t n = http_route_normalize(in, full, sizeof(full));

	(void)s;
	assert_string_equal(full, "/users/{id}/orders/{id}/lines");
	for (size_t cap = 1; cap <= n + 1; cap++) {
		char *out = malloc(cap);
		size_t got;

		assert_non_null(out);
		got = http_route_normalize(in, out, cap);
		assert_int_equal(got, cap - 1);   /* ASCII: every byte of room is used */
		assert_int_equal(strlen(out), got);
		assert_memory_equal(out, full, got);
		free(out);
	}
	{
		char out[4];

		assert_int_equal(http_route_normalize(in, out, sizeof(out)), 3);
		assert_string_equal(out, "/us");
		assert_int_equal(http_route_normalize("/1", out, 1), 0);
		assert_string_equal(out, "");
	}
}

static void test_route_utf8_truncation(void **s)
{
	/* é is 2 bytes, € 3, 😀 4: every cut lands on a character boundary */
	static const char *in = "/caf\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80x";
	char full[64];
	size_t n = http_route_normalize(in, full, sizeof(full));

	(void)s;
	assert_string_equal(full, in);
	for (size_t cap = 1; cap <= n + 1; cap++) {
		char out[64];
		size_t got = http_route_normalize(in, out, cap);

		assert_true(got < cap);
		assert_memory_equal(out, full, got);
		assert_true(((uint8_t)full[got] & 0xC0) != 0x80);
	}
}

static void test_status_class(void **s)
{
	(void)s;
	assert_int_equal(http_status_class(200), 0);
	assert_int_equal(http_status_class(204), 0);
	assert_int_equal(http_status_class(299), 0);
	assert_int_equal(http_status_class(301), 1);
	assert_int_equal(http_status_class(404), 2);
	assert_int_equal(http_status_class(500), 3);
	assert_int_equal(http_status_class(599), 3);
	assert_int_equal(http_status_class(101), -1);
	assert_int_equal(http_status_class(199), -1);
	assert_int_equal(http_status_class(600), -1);
	assert_int_equal(http_status_class(0), -1);
	assert_int_equal(http_status_class(-200), -1);
}

/* ---- random input ---- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16) % n;
}

static void check_first_sane(const struct http_first *f, enum http_kind k)
{
	assert_int_equal(f->kind, k);
	assert_true(memchr(f->method, 0, sizeof(f->method)) != NULL);
	assert_true(memchr(f->path, 0, sizeof(f->path)) != NULL);
	switch (k) {
	case HTTP_NONE:
		assert_true(!f->method[0] && !f->path[0] && !f->path_complete && !f->status && !f->minor);
		break;
	case HTTP_REQUEST:
		assert_true(f->method[0] && !f->status && f->minor >= -1 && f->minor <= 9);
		break;
	case HTTP_RESPONSE:
		assert_true(!f->method[0] && !f->path[0] && f->status >= 100 && f->status <= 599);
		assert_true(f->minor >= 0 && f->minor <= 9);
		break;
	}
}

/* Random bytes, biased to what request lines are made of, often after a real start: never
 * crashes, overreads or overflows (buffers are malloc'ed to the exact size for ASan). */
static void test_fuzz_parse(void **s)
{
	static const char alphabet[] = " /?#*:.-%HTP1\r\n0123456789abcdefhtps@[]";
	static const char *const starts[] = {
		"", "GET ", "POST /", "CONNECT ", "OPTIONS *", "GET http://", "GET https://h", "HTTP/1.",
		"HTTP/1.1 ", "HTTP/1.1 2", "HTTP/1.1 200", "HTTP/1.0 404 ", "PUT /a HTTP/1.", "DELETE /x ",
		"GET /a HTTP/1.1", "PATCH /items/",
	};
	char route[160];

	(void)s;
	for (int iter = 0; iter < 200000; iter++) {
		const char *st = starts[rnd(sizeof(starts) / sizeof(starts[0]))];
		size_t sl = strlen(st), len = sl + (rnd(16) ? rnd(140) : rnd(1000));
		char *buf = malloc(len ? len : 1);
		struct http_first f;
		enum http_kind k;

		assert_non_null(buf);
		memcpy(buf, st, sl);
		for (size_t i = sl; i < len; i++)
			buf[i] = rnd(6) ? alphabet[rnd(sizeof(alphabet) - 1)] : (char)rnd(256);
		k = http_parse_first(buf, len, &f);
		check_first_sane(&f, k);
		if (k == HTTP_REQUEST) {
			size_t n = http_route_first(&f, route, sizeof(route));

			assert_int_equal(strlen(route), n);
			assert_true(n > 0);
		}
		free(buf);
	}
}

static void test_fuzz_route(void **s)
{
	static const char alphabet[] = "//////?#%-.0123456789abcdefABCDEFxyz{}:\xc3\xa9\x80";
	static char full[4096], again[4096];

	(void)s;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = rnd(16) ? rnd(90) : rnd(1500);
		size_t cap = rnd(8) ? rnd(100) : rnd(2000);
		char *in = malloc(len + 1), *out = malloc(cap ? cap : 1);
		size_t got, n;

		assert_true(in && out);
		for (size_t i = 0; i < len; i++) {
			in[i] = rnd(8) ? alphabet[rnd(sizeof(alphabet) - 1)] : (char)(1 + rnd(255));
			/* long runs of hex and digits, so ids show up */
			if (rnd(4) == 0)
				in[i] = "0123456789abcdef"[rnd(16)];
		}
		in[len] = 0;
		got = http_route_normalize(in, out, cap);
		n = http_route_normalize(in, full, sizeof(full));
		assert_int_equal(strlen(full), n);
		assert_true(n > 0);
		assert_true(!strchr(full, '?') && !strchr(full, '#'));
		assert_true(full[0] != '/' || !strstr(full, "//"));
		/* a route is its own route */
		if (full[0] == '/') {
			http_route_normalize(full, again, sizeof(again));
			assert_string_equal(full, again);
		}
		if (cap) {
			assert_true(got < cap);
			assert_int_equal(strlen(out), got);
			assert_true(got <= n && !memcmp(out, full, got));   /* truncation cuts, never changes */
		} else {
			assert_int_equal(got, 0);
		}
		free(in);
		free(out);
	}
}

/* Generated valid request lines: parsed back exactly, whatever the method, target and version. */
static void test_generated_requests(void **s)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE",
	};
	static const char *const segs[] = {
		"items", "v1", "42", "0", "550e8400-e29b-41d4-a716-446655440000", "deadbeefdeadbeef",
		"a%20b", "", "x.json", "12abc",
	};
	char target[256], line[512], route[256], again[256];

	(void)s;
	for (int iter = 0; iter < 20000; iter++) {
		const char *m = methods[rnd(sizeof(methods) / sizeof(methods[0]))];
		size_t tl = 0;
		int nseg = rnd(5), minor = rnd(2);
		struct http_first f;

		for (int i = 0; i < nseg || tl == 0; i++)
			tl += (size_t)snprintf(target + tl, sizeof(target) - tl, "/%s",
					       segs[rnd(sizeof(segs) / sizeof(segs[0]))]);
		if (rnd(3) == 0)
			tl += (size_t)snprintf(target + tl, sizeof(target) - tl, "?id=%u", rnd(1000));
		if (tl >= sizeof(f.path))   /* would not fit: test_long_target covers that */
			continue;
		snprintf(line, sizeof(line), "%s %s HTTP/1.%d\r\nHost: x\r\n\r\n", m, target, minor);
		assert_int_equal(parse(line, &f), HTTP_REQUEST);
		assert_string_equal(f.method, m);
		assert_string_equal(f.path, target);
		assert_true(f.path_complete);
		assert_int_equal(f.minor, minor);
		http_route_first(&f, route, sizeof(route));
		assert_null(strstr(route, "42"));
		assert_null(strstr(route, "550e"));
		assert_null(strstr(route, "dead"));
		assert_null(strstr(route, "id="));
		http_route_normalize(route, again, sizeof(again));
		assert_string_equal(route, again);
	}
}

/* Every prefix of random input: the kind goes NONE.. then K.. then NONE.. (once a byte rules the
 * line out it stays out), and each cut request's path is a prefix of the longer cut's. */
static void test_fuzz_prefixes(void **s)
{
	static const char alphabet[] = " /?*:.-HTP1\r\n0123456789abch";
	static const char *const starts[] = {
		"GET ", "HEAD /", "CONNECT ", "OPTIONS *", "GET http://", "HTTP/1.", "HTTP/1.1 ", "HTTP/1.1 40",
	};

	(void)s;
	for (int iter = 0; iter < 20000; iter++) {
		const char *st = starts[rnd(sizeof(starts) / sizeof(starts[0]))];
		size_t sl = strlen(st), len = sl + rnd(40);
		char buf[64], prev_path[128] = "";
		int phase = 0;   /* 0: undecided, 1: decided, 2: ruled out */
		enum http_kind kind = HTTP_NONE;

		memcpy(buf, st, sl);
		for (size_t i = sl; i < len; i++)
			buf[i] = rnd(4) ? alphabet[rnd(sizeof(alphabet) - 1)] : (char)rnd(256);
		for (size_t n = 0; n <= len; n++) {
			struct http_first f;
			enum http_kind k = http_parse_first(buf, n, &f);

			if (k == HTTP_NONE) {
				phase = phase ? 2 : 0;
				continue;
			}
			assert_true(phase != 2);
			assert_true(phase == 0 || k == kind);
			if (k == HTTP_REQUEST)
				assert_true(!strncmp(f.path, prev_path, strlen(prev_path)));
			strcpy(prev_path, f.path);
			kind = k;
			phase = 1;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_post_put_delete_patch),
		cmocka_unit_test(test_head_options_trace),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_query_kept_in_path),
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_absolute_uri),
		cmocka_unit_test(test_absolute_uri_bad),
		cmocka_unit_test(test_asterisk),
		cmocka_unit_test(test_long_target),
		cmocka_unit_test(test_request_cut_every_offset),
		cmocka_unit_test(test_absolute_cut_every_offset),
		cmocka_unit_test(test_response_cut_every_offset),
		cmocka_unit_test(test_cut_prefixes_stay_consistent),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_response_no_reason),
		cmocka_unit_test(test_response_bad_status),
		cmocka_unit_test(test_response_other_versions),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_tls_client_hello),
		cmocka_unit_test(test_http2_preface),
		cmocka_unit_test(test_lowercase_method),
		cmocka_unit_test(test_unknown_methods),
		cmocka_unit_test(test_nul_ends_input),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_route_ids),
		cmocka_unit_test(test_route_not_ids),
		cmocka_unit_test(test_route_slashes),
		cmocka_unit_test(test_route_query_fragment),
		cmocka_unit_test(test_route_empty),
		cmocka_unit_test(test_route_absolute_and_other_forms),
		cmocka_unit_test(test_route_cut),
		cmocka_unit_test(test_route_cut_every_offset),
		cmocka_unit_test(test_route_truncation),
		cmocka_unit_test(test_route_utf8_truncation),
		cmocka_unit_test(test_status_class),
		cmocka_unit_test(test_fuzz_parse),
		cmocka_unit_test(test_fuzz_route),
		cmocka_unit_test(test_fuzz_prefixes),
		cmocka_unit_test(test_generated_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
