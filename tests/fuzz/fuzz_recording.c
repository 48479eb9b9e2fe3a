/* libFuzzer: recordings. An input that starts with the file magic is read as it is (chunk
 * framing, CRCs, truncation, resynchronisation); any other input is a chunk payload: its first
 * byte picks the type (0 header, 1 interval, 2 trailer), the rest is the JSON, framed into a
 * valid recording here so the fuzzer reaches the model reader past the CRCs and zlib. Reading
 * never crashes or leaks, and the total read serializes, reads back and serializes the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"
#include "model/serialize.h"

static char *text_of(const struct model *m)
{
	cJSON *j = model_serialize(m);
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;

	cJSON_Delete(j);
	return s;
}

static void check(const uint8_t *data, size_t size)
{
	struct recording r;
	struct model back;
	char *a, *b;
	cJSON *j;

	if (recording_read_mem(data, size, &r)) {
		if (!r.error[0])
			abort();
		recording_free(&r);
		return;
	}
	if (r.bytes_lost > r.file_size || (!r.complete && !r.nproblems))
		abort();
	a = text_of(&r.total);
	j = a ? cJSON_Parse(a) : NULL;
	if (!j || model_deserialize(j, &back))
		abort();
	b = text_of(&back);
	if (!b || strcmp(a, b))
		abort();
	free(a);
	free(b);
	cJSON_Delete(j);
	model_free(&back);
	recording_free(&r);
}

static uint8_t *append(uint8_t *buf, size_t *n, const void *p, size_t len)
{
	uint8_t *nb = realloc(buf, *n + len);

	if (!nb)
		abort();
	memcpy(nb + *n, p, len);
	*n += len;
	return nb;
}

static uint8_t *append_chunk(uint8_t *buf, size_t *n, unsigned type, const char *json, size_t len)
{
	uint8_t *chunk;
	size_t clen;

	if (recording_encode_chunk(type, json, len, &chunk, &clen))
		abort();
	buf = append(buf, n, chunk, clen);
	free(chunk);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char header[] = "{\"format_major\": 1, \"format_minor\": 0}";
	unsigned type;
	uint8_t *buf = NULL;
	size_t n = 0;

	if (size >= strlen(REC_MAGIC) && !memcmp(data, REC_MAGIC, strlen(REC_MAGIC))) {
		check(data, size);
		return 0;
	}
	if (!size)
		return 0;
	type = REC_HEADER + data[0] % 3;
	buf = append(buf, &n, REC_MAGIC, strlen(REC_MAGIC));
	if (type != REC_HEADER)
		buf = append_chunk(buf, &n, REC_HEADER, header, strlen(header));
	buf = append_chunk(buf, &n, type, (const char *)data + 1, size - 1);
	check(buf, n);
	free(buf);
	return 0;
}
