/* libFuzzer: the HTTP first-bytes parser and the route normalizers on any bytes. Results are
 * NUL-terminated within their buffers, consistent with the kind returned, within outlen. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/http.h"

static void check_route(size_t n, const char *out, size_t outlen)
{
	if (n >= outlen || strlen(out) != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_first f;
	enum http_kind k = http_parse_first((const char *)data, size, &f);
	char route[160], *target;
	size_t outlen = 1 + (size ? data[size - 1] % sizeof(route) : 0);

	if (k != f.kind || k != http_parse_first((const char *)data, size, NULL) ||
	    !memchr(f.method, 0, sizeof(f.method)) || !memchr(f.path, 0, sizeof(f.path)))
		abort();
	if (k == HTTP_RESPONSE && (f.status < 100 || f.status > 599 || f.method[0] || f.path[0]))
		abort();
	if (k == HTTP_REQUEST && (!f.method[0] || f.status))
		abort();
	if (k == HTTP_NONE && (f.method[0] || f.path[0] || f.status))
		abort();
	check_route(http_route_first(&f, route, outlen), route, outlen);
	if (k != HTTP_REQUEST && route[0])
		abort();
	check_route(http_route_normalize(f.path, route, outlen), route, outlen);
	target = strndup((const char *)data, size);
	if (!target)
		return 0;
	check_route(http_route_normalize(target, route, outlen), route, outlen);
	free(target);
	(void)http_status_class(f.status);
	return 0;
}
