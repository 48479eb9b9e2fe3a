/* HTTP/1.x from the first bytes of socket reads and writes: request and status lines, routes. */
#ifndef IOGAP_MODEL_HTTP_H
#define IOGAP_MODEL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* What the first bytes of a read or write on a TCP socket say, parsed from at most len bytes
 * (the BPF side copies up to 128; the text need not be NUL-terminated and may be cut anywhere). */
enum http_kind { HTTP_NONE = 0, HTTP_REQUEST, HTTP_RESPONSE };
struct http_first {
	enum http_kind kind;
	char method[16];      /* REQUEST: GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, CONNECT, TRACE */
	char path[128];       /* REQUEST: the request target as sent (may be cut short if len ended first) */
	bool path_complete;   /* the request target ended (a space was seen) within len */
	int status;           /* RESPONSE: 100..599 */
	int minor;            /* HTTP/1.minor */
};

/* HTTP_NONE unless the bytes start with "METHOD SP target SP HTTP/1.x" (a request line, the
 * version may be cut off by len) or "HTTP/1.x SP ddd" (a status line). Strict: no leading
 * garbage, methods case-sensitive, a target starting with '/' or '*' or an absolute URI
 * (http://host/path -> path "/path") , status exactly 3 digits.
 *
 * The exact rule, for bytes cut anywhere: a REQUEST is reported as soon as the bytes hold a
 * method and the space after it, and every byte after that is one a request line could have
 * there; a RESPONSE once "HTTP/1.x SP" and the three digits are there (the byte after them, if
 * any, must be a space, CR or LF). Details:
 * - input ends at len or at the first NUL, whichever comes first (BPF buffers are zero-padded);
 * - exactly one space between the parts; the line ends in CRLF or LF; the version is
 *   "HTTP/1." and one digit; minor is -1 when len ended before that digit;
 * - target bytes: anything above space except DEL (raw UTF-8 passes, controls do not);
 * - '*' is the whole target (asterisk-form); an absolute URI is http:// or https:// (scheme in
 *   any case), a non-empty authority, then the path: path gets "/" + what follows the authority
 *   ("http://h" -> "/", "http://h?q" -> "/?q"); len ending inside scheme or authority leaves
 *   path "" and path_complete false;
 * - CONNECT takes only authority-form (host:port), which goes into path as sent;
 * - path_complete is false also when the target did not fit in path (127 bytes);
 * - "PRI * HTTP/2.0" (the HTTP/2 preface), TLS records and lowercase methods are HTTP_NONE.
 * out is zeroed first (kind HTTP_NONE) and may be NULL. */
enum http_kind http_parse_first(const char *buf, size_t len, struct http_first *out);

/* Normalizes a request target into a route: the query (?...) and fragment are dropped; each
 * path segment that is all digits, a UUID (8-4-4-4-12 hex), or hex of 16+ characters becomes
 * {id}; repeated slashes fold; percent-escapes are kept as sent; "" -> "/". A target cut
 * short (path_complete false) gets its last (partial) segment replaced by "..." unless it
 * already is a full {id}. Writes at most outlen-1 bytes + NUL; returns the length.
 * The target is taken as complete here (a string cannot say it was cut): use http_route_first
 * for a parsed request. An absolute URI loses scheme and authority ("http://h/a" -> "/a"); a
 * target not starting with '/' ("*", CONNECT's host:port) is kept as sent, as one segment.
 * The output is a prefix of the full route, never cut inside a UTF-8 sequence. */
size_t http_route_normalize(const char *target, char *out, size_t outlen);

/* The route of a parsed request: http_route_normalize of req->path, with the rule for a cut
 * target when req->path_complete is false (a cut inside the query or fragment leaves the path
 * whole; a last segment that, as far as it goes, is all digits, a whole UUID or 16+ hex
 * becomes {id}, any other becomes "..."; "GET " alone gives "/..."). "" for a non-request. */
size_t http_route_first(const struct http_first *req, char *out, size_t outlen);

/* "2xx".."5xx" class index 0..3 for a status, -1 if outside 200..599 (1xx counts as -1) */
int http_status_class(int status);

#endif
