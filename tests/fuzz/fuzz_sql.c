/* libFuzzer: sql_normalize on any bytes and output size (the first byte picks the size). The
 * output is NUL-terminated, within outlen, its length returned, and valid UTF-8 whenever the
 * input is (it is never cut inside a sequence). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/sql.h"

/* Well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
						 (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp;

		if (!len || i + len > n)
			return false;
		cp = len == 1 ? c : c & (0x7f >> len);
		for (unsigned k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[1100];
	size_t outlen, n, inlen;

	if (!size)
		return 0;
	outlen = 1 + (size_t)data[0] * 4;   /* 1..1021 */
	data++;
	size--;
	memset(out, 0x7f, sizeof(out));
	n = sql_normalize((const char *)data, size, out, outlen);
	if (n >= outlen || out[n] || strlen(out) != n || out[outlen] != 0x7f)
		abort();
	inlen = strnlen((const char *)data, size);
	if (utf8_valid(data, inlen) && !utf8_valid((const unsigned char *)out, n))
		abort();
	return 0;
}
