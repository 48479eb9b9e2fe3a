#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include "model/sql.h"

enum tok_kind { T_END, T_SPACE, T_STR, T_NUM, T_BLOB, T_PARAM, T_WORD, T_QIDENT, T_OP };

struct tok {
	enum tok_kind kind;
	const char *s;
	size_t n;
};

/* What the last emitted token allows a following sign to be: unary (START, OPER) or binary. */
enum prev_kind { P_START, P_OPER, P_VALUE };

struct out {
	char *buf;
	size_t cap, len, keep;   /* keep: length up to the last token that is not ';' or space */
	bool full;
};

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static bool is_xdigit(uint8_t c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
static bool is_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static bool is_ident_start(uint8_t c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_' || c >= 0x80; }
static bool is_ident(uint8_t c) { return is_ident_start(c) || is_digit(c) || c == '$'; }

static const char *skip_quoted(const char *p, const char *end, char close)
{
	for (p++; p < end; p++) {
		if (*p != close)
			continue;
		if (close != ']' && p + 1 < end && p[1] == close) {
			p++;
			continue;
		}
		return p + 1;
	}
	return end;   /* unterminated: the rest is the token */
}

static const char *lex_number(const char *p, const char *end)
{
	if (p[0] == '0' && p + 2 < end && (p[1] | 0x20) == 'x' && is_xdigit(p[2])) {
		for (p += 2; p < end && is_xdigit(*p); p++)
			;
	} else {
		while (p < end && is_digit(*p))
			p++;
		if (p < end && *p == '.')
			for (p++; p < end && is_digit(*p); p++)
				;
		if (p < end && (*p | 0x20) == 'e') {
			const char *q = p + 1;

			if (q < end && (*q == '+' || *q == '-'))
				q++;
			if (q < end && is_digit(*q))
				for (p = q; p < end && is_digit(*p); p++)
					;
		}
	}
	/* 12abc, 1_000: swallow the tail so no digit of a malformed number leaks out */
	while (p < end && is_ident(*p))
		p++;
	return p;
}

static const char *lex(const char *p, const char *end, struct tok *t)
{
	const char *s = p;
	uint8_t c;

	t->s = p;
	if (p >= end) {
		t->kind = T_END;
		t->n = 0;
		return p;
	}
	c = *p;
	if (is_space(c) || (c == '-' && p + 1 < end && p[1] == '-') ||
	    (c == '/' && p + 1 < end && p[1] == '*')) {
		t->kind = T_SPACE;
		while (p < end) {
			if (is_space(*p)) {
				p++;
			} else if (*p == '-' && p + 1 < end && p[1] == '-') {
				while (p < end && *p != '\n')
					p++;
			} else if (*p == '/' && p + 1 < end && p[1] == '*') {
				const char *e = p + 2;

				while (e < end && !(*e == '*' && e + 1 < end && e[1] == '/'))
					e++;
				p = e < end ? e + 2 : end;
			} else {
				break;
			}
		}
	} else if (c == '\'') {
		t->kind = T_STR;
		p = skip_quoted(p, end, '\'');
	} else if ((c | 0x20) == 'x' && p + 1 < end && p[1] == '\'') {
		t->kind = T_BLOB;
		p = skip_quoted(p + 1, end, '\'');
	} else if (c == '"' || c == '`' || c == '[') {
		t->kind = T_QIDENT;
		p = skip_quoted(p, end, c == '[' ? ']' : c);
	} else if (is_digit(c) || (c == '.' && p + 1 < end && is_digit(p[1]))) {
		t->kind = T_NUM;
		p = lex_number(p, end);
	} else if (c == '?') {
		t->kind = T_PARAM;
		for (p++; p < end && is_digit(*p); p++)
			;
	} else if ((c == ':' || c == '@' || c == '$') && p + 1 < end && is_ident(p[1])) {
		t->kind = T_PARAM;
		for (p++; p < end && is_ident(*p); p++)
			;
	} else if (is_ident_start(c)) {
		t->kind = T_WORD;
		while (p < end && is_ident(*p))
			p++;
	} else {
		t->kind = T_OP;
		p++;
	}
	t->n = (size_t)(p - s);
	return p;
}

static const char *lex_nonspace(const char *p, const char *end, struct tok *t)
{
	do
		p = lex(p, end, t);
	while (t->kind == T_SPACE);
	return p;
}

static bool is_op(const struct tok *t, char c)
{
	return t->kind == T_OP && t->s[0] == c;
}

/* Keywords after which a sign is unary: WHERE x = -1 has it after '=', LIMIT -1 after LIMIT. */
static bool is_operator_keyword(const struct tok *t)
{
	static const char *const kw[] = {
		"SELECT", "WHERE", "AND", "OR", "NOT", "ON", "WHEN", "THEN", "ELSE", "CASE", "IS",
		"IN", "LIKE", "GLOB", "MATCH", "REGEXP", "BETWEEN", "LIMIT", "OFFSET", "BY", "HAVING",
		"SET", "VALUES", "DEFAULT", "RETURNING", "DISTINCT", "ALL", "ESCAPE",
	};

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == t->n && !strncasecmp(kw[i], t->s, t->n))
			return true;
	return false;
}

/* p is just past '('. Returns the end of the list when it holds two or more elements, each a
 * literal or placeholder with an optional sign; NULL otherwise. */
static const char *match_list(const char *p, const char *end)
{
	struct tok t;
	int n = 0;

	for (;;) {
		p = lex_nonspace(p, end, &t);
		if (is_op(&t, '-') || is_op(&t, '+'))
			p = lex_nonspace(p, end, &t);
		if (t.kind != T_STR && t.kind != T_NUM && t.kind != T_BLOB && t.kind != T_PARAM)
			return NULL;
		n++;
		p = lex_nonspace(p, end, &t);
		if (is_op(&t, ')'))
			return n >= 2 ? p : NULL;
		if (!is_op(&t, ','))
			return NULL;
	}
}

static void put(struct out *o, const char *s, size_t n, bool commit)
{
	size_t start = o->len;

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
				if (o->keep > k)
					o->keep = k;
			}
			break;
		}
		o->buf[o->len++] = s[i];
	}
	if (commit && o->len > start)
		o->keep = o->len;
}

static void emit(struct out *o, bool *space, const char *s, size_t n, bool commit)
{
	if (*space && o->len)
		put(o, " ", 1, false);
	*space = false;
	put(o, s, n, commit);
}

size_t sql_normalize(const char *sql, size_t len, char *out, size_t outlen)
{
	struct out o = { .buf = out, .cap = outlen };
	enum prev_kind prev = P_START;
	const char *p = sql, *end, *nul;
	bool space = false, after_in = false, was_in;
	struct tok t;

	if (!outlen)
		return 0;
	if (!sql)
		len = 0;
	nul = len ? memchr(sql, 0, len) : NULL;
	end = nul ? nul : sql + len;
	while (!o.full) {
		p = lex(p, end, &t);
		/* only IN lists collapse: VALUES (?, ?) and f(?, ?) keep their arity */
		was_in = after_in;
		if (t.kind != T_SPACE)
			after_in = t.kind == T_WORD && t.n == 2 && !strncasecmp(t.s, "IN", 2);
		switch (t.kind) {
		case T_END:
			goto done;
		case T_SPACE:
			space = true;
			break;
		case T_STR:
		case T_NUM:
		case T_BLOB:
			emit(&o, &space, "?", 1, true);
			prev = P_VALUE;
			break;
		case T_PARAM:
		case T_QIDENT:
			emit(&o, &space, t.s, t.n, true);
			prev = P_VALUE;
			break;
		case T_WORD:
			emit(&o, &space, t.s, t.n, true);
			prev = is_operator_keyword(&t) ? P_OPER : P_VALUE;
			break;
		case T_OP: {
			const char *q = NULL;
			struct tok next;

			if (t.s[0] == '(' && was_in) {
				q = match_list(p, end);
				if (q) {
					emit(&o, &space, "(?)", 3, true);
					p = q;
					prev = P_VALUE;
					break;
				}
			} else if ((t.s[0] == '-' || t.s[0] == '+') && prev != P_VALUE) {
				q = lex_nonspace(p, end, &next);
				if (next.kind == T_NUM) {
					emit(&o, &space, "?", 1, true);
					p = q;
					prev = P_VALUE;
					break;
				}
			}
			emit(&o, &space, t.s, 1, t.s[0] != ';');
			prev = t.s[0] == ')' ? P_VALUE : t.s[0] == ';' ? P_START : P_OPER;
			break;
		}
		}
	}
done:
	out[o.keep] = 0;
	return o.keep;
}

size_t sql_utf16_to_utf8(const void *in, size_t nbytes, char *out, size_t outlen)
{
	const unsigned char *b = in;
	size_t n = nbytes / 2, o = 0;

	if (!outlen)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t u, v;
		uint32_t c;
		unsigned char enc[4];
		size_t k;

		memcpy(&u, b + 2 * i, 2);
		if (!u)
			break;
		c = u;
		if (u >= 0xD800 && u <= 0xDBFF && i + 1 < n) {   /* a pair's high half */
			memcpy(&v, b + 2 * i + 2, 2);
			if (v >= 0xDC00 && v <= 0xDFFF) {
				c = 0x10000 + (((uint32_t)u - 0xD800) << 10) + (v - 0xDC00);
				i++;
			}
		}
		if (c >= 0xD800 && c <= 0xDFFF)
			c = 0xFFFD;
		if (c < 0x80) {
			enc[0] = c, k = 1;
		} else if (c < 0x800) {
			enc[0] = 0xC0 | c >> 6, enc[1] = 0x80 | (c & 0x3F), k = 2;
		} else if (c < 0x10000) {
			enc[0] = 0xE0 | c >> 12, enc[1] = 0x80 | (c >> 6 & 0x3F), enc[2] = 0x80 | (c & 0x3F), k = 3;
		} else {
			enc[0] = 0xF0 | c >> 18, enc[1] = 0x80 | (c >> 12 & 0x3F), enc[2] = 0x80 | (c >> 6 & 0x3F);
			enc[3] = 0x80 | (c & 0x3F), k = 4;
		}
		if (o + k >= outlen)
			break;
		memcpy(out + o, enc, k);
		o += k;
	}
	out[o] = 0;
	return o;
}
