/* SQL statement templates: literal values out, structure in. */
#ifndef IOGAP_MODEL_SQL_H
#define IOGAP_MODEL_SQL_H

#include <stddef.h>

/* Normalizes one SQL statement into a template: string literals ('..', with '' escapes), numeric
 * literals (ints, decimals, exponents, hex 0x.., but not digits inside identifiers like t1 or
 * "col2"), blob literals X'..', and an IN list made only of literals/placeholders
 * (IN (1, 2, 3) -> IN (?)) become ?; other lists keep their arity (VALUES (?, ?)); existing ?, ?NNN, :name, @name, $name placeholders stay;
 * -- and slash-star comments are dropped; whitespace runs fold to one space; leading/trailing
 * space and a trailing ';' are trimmed; quoted identifiers ("x", `x`, [x]) and keyword case are
 * kept. Literal values never appear in the output. Writes at most outlen-1 bytes plus NUL
 * (truncates safely, never in the middle of a UTF-8 sequence); returns the length written. len
 * bounds the input (the text need not be NUL-terminated; stop at NUL too).
 * A sign before a number that follows an operator, '(', ',', a keyword (WHERE, AND, LIMIT, ...)
 * or the start goes into the ? (x = -5 -> x = ?; a-5 -> a-?). A list of one element is
 * normalized element-wise: (5) -> (?), (:id) stays. A comment counts as whitespace. */
size_t sql_normalize(const char *sql, size_t len, char *out, size_t outlen);

/* Converts nbytes of UTF-16 in the host's byte order (what sqlite3_prepare16* take; an odd last
 * byte is dropped) to UTF-8 in out, NUL-terminated, stopping at a 0 code unit or when out is
 * full (never in the middle of a character); a lone surrogate becomes U+FFFD. Returns the
 * length written. */
size_t sql_utf16_to_utf8(const void *in, size_t nbytes, char *out, size_t outlen);

#endif
