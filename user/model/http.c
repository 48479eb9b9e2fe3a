#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "model/http.h"

static const char *const methods[] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
};

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static bool is_xdigit(uint8_t c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static bool is_target(uint8_t c) { return c > ' ' && c != 0x7F; }
static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? c | 0x20 : c; }

enum match { M_NO, M_CUT, M_YES };

/* [p, end) against the literal s: all of s there, a prefix of s (input cut short), or not s. */
static enum match match(const char *p, const char *end, const char *s, bool nocase)
{
	for (; *s; p++, s++) {
		if (p == end)
			return M_CUT;
		if (nocase ? lower(*p) != (uint8_t)*s : *p != *s)
			return M_NO;
	}
	return M_YES;
}

/* Length of an http:// or https:// prefix (any case), 0 if there is none. */
static size_t scheme_len(const char *p, const char *end, enum match *m)
{
	enum match a = match(p, end, "http://", true), b = match(p, end, "https://", true);

	*m = a == M_YES || b == M_YES ? M_YES : a == M_CUT || b == M_CUT ? M_CUT : M_NO;
	return a == M_YES ? 7 : b == M_YES ? 8 : 0;
}

struct req {
	struct http_first *o;
	size_t n;
	bool fits;
};

static void path_put(struct req *r, char c)
{
	if (r->n + 1 < sizeof(r->o->path))
		r->o->path[r->n++] = c;
	else
		r->fits = false;
}

/* Scans target bytes up to the space that ends the target or a byte in stop, copying them
 * when copy is set. NULL on a byte no target has; otherwise where it stopped (maybe end). */
static const char *scan(struct req *r, const char *p, const char *end, const char *stop, bool copy)
{
	for (; p < end && *p != ' '; p++) {
		if (!is_target(*p))
			return NULL;
		if (stop && strchr(stop, *p))
			break;
		if (copy)
			path_put(r, *p);
	}
	return p;
}

static enum http_kind none(struct http_first *o)
{
	memset(o, 0, sizeof(*o));
	return HTTP_NONE;
}

/* p is just past "METHOD ": the target, a space, then "HTTP/1.d" and the line end. */
static enum http_kind parse_request(struct http_first *o, const char *method, const char *p,
				    const char *end)
{
	struct req r = { .o = o, .fits = true };
	const char *start = p;
	enum match m;
	size_t n;

	o->kind = HTTP_REQUEST;
	o->minor = -1;
	strcpy(o->method, method);
	if (p == end)
		return HTTP_REQUEST;
	if (!strcmp(method, "CONNECT")) {
		p = scan(&r, p, end, "/?#", true);
		if (!p || (p < end && (*p != ' ' || p == start)))
			return none(o);
	} else if (*p == '*') {
		path_put(&r, *p++);
		if (p < end && *p != ' ')
			return none(o);
	} else if (*p == '/') {
		p = scan(&r, p, end, NULL, true);
		if (!p)
			return none(o);
	} else {
		n = scheme_len(p, end, &m);
		if (m == M_NO)
			return none(o);
		if (m == M_CUT)
			return HTTP_REQUEST;
		p += n;
		start = p;
		p = scan(&r, p, end, "/?#", false);
		if (!p || (p < end && p == start))
			return none(o);
		if (p == end)
			return HTTP_REQUEST;
		path_put(&r, '/');   /* "http://h" and "http://h?q" stand for "/" and "/?q" */
		if (*p == '/')
			p++;
		p = scan(&r, p, end, NULL, true);
		if (!p)
			return none(o);
	}
	if (p == end)
		return HTTP_REQUEST;
	o->path_complete = r.fits;
	m = match(++p, end, "HTTP/1.", false);
	if (m == M_NO)
		return none(o);
	if (m == M_CUT)
		return HTTP_REQUEST;
	p += 7;
	if (p == end)
		return HTTP_REQUEST;
	if (!is_digit(*p))
		return none(o);
	o->minor = *p++ - '0';
	if (p < end && *p != '\n' && (*p != '\r' || (p + 1 < end && p[1] != '\n')))
		return none(o);
	return HTTP_REQUEST;
}

/* p is just past "HTTP/1.": the minor digit, a space, three digits, then a space or line end. */
static enum http_kind parse_status(struct http_first *o, const char *p, const char *end)
{
	if (end - p < 5 || !is_digit(p[0]) || p[1] != ' ')
		return HTTP_NONE;
	if (p[2] < '1' || p[2] > '5' || !is_digit(p[3]) || !is_digit(p[4]))
		return HTTP_NONE;
	if (end - p > 5 && p[5] != ' ' && p[5] != '\r' && p[5] != '\n')
		return HTTP_NONE;
	o->kind = HTTP_RESPONSE;
	o->minor = p[0] - '0';
	o->status = (p[2] - '0') * 100 + (p[3] - '0') * 10 + (p[4] - '0');
	return HTTP_RESPONSE;
}

enum http_kind http_parse_first(const char *buf, size_t len, struct http_first *out)
{
	struct http_first tmp;
	const char *end, *nul;

	if (!out)
		out = &tmp;
	memset(out, 0, sizeof(*out));
	if (!buf) {
		buf = "";
		len = 0;
	}
	nul = memchr(buf, 0, len);
	end = nul ? nul : buf + len;
	if (match(buf, end, "HTTP/1.", false) == M_YES)
		return parse_status(out, buf + 7, end);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);

		if ((size_t)(end - buf) > n && !memcmp(buf, methods[i], n) && buf[n] == ' ')
			return parse_request(out, methods[i], buf + n + 1, end);
	}
	return HTTP_NONE;
}

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	for (size_t i = 0; i < n; i++) {
		if (o->len + 1 >= o->cap) {
			o->full = true;
			/* about to cut before a continuation byte: drop the partial sequence */
			if (((uint8_t)s[i] & 0xC0) == 0x80) {
				size_t k = o->len;

				while (k > 0 && o->len - k < 3 && ((uint8_t)o->buf[k - 1] & 0xC0) == 0x80)
					k--;
				if (k > 0 && ((uint8_t)o->buf[k - 1] & 0xC0) == 0xC0)
					k--;
				o->len = k;
			}
			return;
		}
		o->buf[o->len++] = s[i];
	}
}

static bool is_id(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && is_digit(s[i]); i++)
		;
	if (n && i == n)
		return true;
	if (n == 36) {
		for (i = 0; i < n; i++)
			if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !is_xdigit(s[i]))
				break;
		if (i == n)
			return true;
	}
	for (i = 0; i < n && is_xdigit(s[i]); i++)
		;
	return n >= 16 && i == n;
}

static size_t route(const char *t, bool complete, char *buf, size_t outlen)
{
	struct out o = { .buf = buf, .cap = outlen };
	const char *p, *end, *seg;
	bool cut, open;
	enum match m;
	size_t n;

	if (!outlen)
		return 0;
	if (!t)
		t = "";
	end = t + strcspn(t, "?#");
	cut = !complete && !*end;   /* cut inside the query: the path itself is whole */
	p = t;
	n = scheme_len(p, end, &m);
	if (n) {
		const char *slash = memchr(p + n, '/', (size_t)(end - p - n));

		p = slash ? slash : end;
	}
	if (p < end && *p != '/') {
		put(&o, cut ? "..." : p, cut ? 3 : (size_t)(end - p));
	} else {
		put(&o, "/", 1);
		open = true;
		while (p < end && *p == '/')
			p++;
		while (p < end) {
			seg = p;
			while (p < end && *p != '/')
				p++;
			n = (size_t)(p - seg);
			if (is_id(seg, n))
				put(&o, "{id}", 4);
			else if (cut && p == end)
				put(&o, "...", 3);
			else
				put(&o, seg, n);
			open = false;
			if (p < end) {
				while (p < end && *p == '/')
					p++;
				put(&o, "/", 1);
				open = true;
			}
		}
		if (cut && open)
			put(&o, "...", 3);
	}
	buf[o.len] = 0;
	return o.len;
}

size_t http_route_normalize(const char *target, char *out, size_t outlen)
{
	return route(target, true, out, outlen);
}

size_t http_route_first(const struct http_first *req, char *out, size_t outlen)
{
	if (req && req->kind == HTTP_REQUEST)
		return route(req->path, req->path_complete, out, outlen);
	if (outlen)
		out[0] = 0;
	return 0;
}

int http_status_class(int status)
{
	return status >= 200 && status <= 599 ? status / 100 - 2 : -1;
}
