#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "model/recording.h"
#include "model/serialize.h"

/* deflate compresses at most ~1032:1: a claimed uncompressed length beyond this is a lie */
#define REC_MAX_RATIO 1040
/* The models read may take this much memory, plus so many times the file's size (a quiet
 * interval of a real recording takes some 500 times its bytes): a small crafted file cannot
 * make the reader take gigabytes. */
#define REC_MODEL_BUDGET (256u << 20)
#define REC_MODEL_RATIO 1024
/* cJSON takes at most this many bytes per byte of JSON text ("[[],[],..." is 3 bytes a node) */
#define REC_JSON_EXPANSION 32

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Writing */

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int recording_encode_chunk(unsigned type, const char *payload, size_t len, uint8_t **out, size_t *size)
{
	uLongf clen = compressBound(len);
	uint8_t *buf;
	int zerr;

	*out = NULL;
	*size = 0;
	if (len > REC_CHUNK_MAX)
		return -EFBIG;
	buf = malloc(REC_CHUNK_HDR + clen);
	if (!buf)
		return -ENOMEM;
	zerr = compress2(buf + REC_CHUNK_HDR, &clen, (const Bytef *)payload, len,
			 Z_DEFAULT_COMPRESSION);
	if (zerr != Z_OK || clen > REC_CHUNK_MAX) {
		free(buf);
		return zerr == Z_MEM_ERROR ? -ENOMEM : -EFBIG;
	}
	memcpy(buf, REC_CHUNK_MAGIC, 4);
	buf[4] = (uint8_t)type;
	buf[5] = 0;
	buf[6] = buf[7] = 0;
	put_le32(buf + 8, (uint32_t)clen);
	put_le32(buf + 12, (uint32_t)len);
	put_le32(buf + 16, (uint32_t)crc32(0, buf + REC_CHUNK_HDR, (uInt)clen));
	put_le32(buf + 20, (uint32_t)crc32(0, buf, 20));
	*out = buf;
	*size = REC_CHUNK_HDR + clen;
	return 0;
}

/* Writes payload (deleted here) as one chunk, after the file's magic if magic, with one
 * write(2); a chunk only partly written is cut off again. */
static int chunk_write(struct rec_writer *w, enum rec_chunk_type type, cJSON *payload, bool magic)
{
	char *js = payload ? cJSON_PrintUnformatted(payload) : NULL;
	size_t n, mlen = magic ? strlen(REC_MAGIC) : 0;
	uint8_t *buf, *p;
	int err;

	cJSON_Delete(payload);
	if (!js)
		return -ENOMEM;
	err = recording_encode_chunk(type, js, strlen(js), &buf, &n);
	free(js);
	if (err)
		return err;
	if (magic) {
		p = realloc(buf, mlen + n);
		if (!p) {
			free(buf);
			return -ENOMEM;
		}
		buf = p;
		memmove(buf + mlen, buf, n);
		memcpy(buf, REC_MAGIC, mlen);
		n += mlen;
	}
	err = write_all(w->fd, buf, n);
	free(buf);
	if (err) {
		if (!ftruncate(w->fd, (off_t)w->size))
			lseek(w->fd, (off_t)w->size, SEEK_SET);
		return err;
	}
	w->size += n;
	return 0;
}

static cJSON *find_by_name(cJSON *arr, const char *name)
{
	cJSON *e;

	cJSON_ArrayForEach(e, arr) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");

		if (cJSON_IsObject(e) && cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return e;
	}
	return NULL;
}

/* The caller's target descriptions, each model target's identity added where it is missing. */
static cJSON *targets_json(const cJSON *asked, const struct model *m)
{
	cJSON *arr = asked ? cJSON_Duplicate(asked, 1) : cJSON_CreateArray();

	for (size_t i = 0; arr && i < m->ntargets; i++) {
		cJSON *id = serialize_target_identity(&m->targets[i]), *e, *item;

		e = find_by_name(arr, m->targets[i].name);
		if (!e) {
			if (cJSON_AddItemToArray(arr, id))
				continue;
			cJSON_Delete(id);
			cJSON_Delete(arr);
			return NULL;
		}
		while (id && (item = id->child)) {
			cJSON_DetachItemViaPointer(id, item);
			if (cJSON_HasObjectItem(e, item->string) ||
			    !cJSON_AddItemToObject(e, item->string, item))
				cJSON_Delete(item);
		}
		cJSON_Delete(id);
	}
	return arr;
}

static cJSON *header_json(const struct rec_header_info *info, const struct model *m)
{
	uint64_t real = clock_ns(CLOCK_REALTIME), mono = clock_ns(CLOCK_MONOTONIC);
	uint64_t start_real = info->start_realtime_ns;
	cJSON *o = cJSON_CreateObject();
	struct utsname u;

	if (!start_real)
		start_real = m->start_ns && m->start_ns <= mono ? real - (mono - m->start_ns) : real;
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	if (serialize_add(o, "format_major", cJSON_CreateNumber(REC_FORMAT_MAJOR)) &&
	    serialize_add(o, "format_minor", cJSON_CreateNumber(REC_FORMAT_MINOR)) &&
	    serialize_add(o, "iogap", cJSON_CreateString(IOGAP_VERSION)) &&
	    serialize_add(o, "host", cJSON_CreateString(u.nodename)) &&
	    serialize_add(o, "kernel", cJSON_CreateString(u.release)) &&
	    serialize_add(o, "ncpus", cJSON_CreateNumber((double)sysconf(_SC_NPROCESSORS_ONLN))) &&
	    serialize_add(o, "start_realtime_ns", serialize_u64(start_real)) &&
	    serialize_add(o, "start_monotonic_ns", serialize_u64(m->start_ns)) &&
	    serialize_add(o, "interval_ns", serialize_u64(info->interval_ns)) &&
	    serialize_add(o, "options", info->options ? cJSON_Duplicate(info->options, 1)
						      : cJSON_CreateObject()) &&
	    serialize_add(o, "targets", targets_json(info->targets, m)))
		return o;
	cJSON_Delete(o);
	return NULL;
}

int recording_create(struct rec_writer *w, const char *path, const struct rec_header_info *info,
		     const struct model *m)
{
	struct stat st = { .st_mode = 0 };
	int err;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	if ((info->options && !cJSON_IsObject(info->options)) ||
	    (info->targets && !cJSON_IsArray(info->targets)))
		return -EINVAL;
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0)
		return -errno;
	if (fstat(w->fd, &st)) {
		err = -errno;
		goto fail;
	}
	/*
	 * The mode of an existing file, and the umask, must not widen who can read a recording.
	 * Only a regular file's: a device, FIFO or socket named by -o (/dev/null, a pipe to a
	 * compressor) is written to as it is, neither made private nor removed on failure; iogap
	 * runs as root, and /dev/null made 0600, or /dev/full removed, would break the machine.
	 */
	if (S_ISREG(st.st_mode) && fchmod(w->fd, 0600)) {
		err = -errno;
		goto fail;
	}
	err = chunk_write(w, REC_HEADER, header_json(info, m), true);
	if (!err)
		return 0;
fail:
	close(w->fd);
	if (S_ISREG(st.st_mode))
		unlink(path);
	w->fd = -1;
	return err;
}

int recording_append(struct rec_writer *w, uint64_t t_ns, const struct model *delta, cJSON *events)
{
	cJSON *o = cJSON_CreateObject();
	int err;

	if (w->fd < 0) {
		cJSON_Delete(o);
		return -EBADF;
	}
	if (events && !cJSON_IsArray(events)) {
		cJSON_Delete(o);
		return -EINVAL;
	}
	if (!serialize_add(o, "t_ns", serialize_u64(t_ns)) ||
	    !serialize_add(o, "delta", model_serialize(delta)) ||
	    !(events ? cJSON_AddItemReferenceToObject(o, "events", events)
		     : cJSON_AddArrayToObject(o, "events") != NULL)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	err = chunk_write(w, REC_INTERVAL, o, false);
	if (!err)
		w->intervals++;
	return err;
}

int recording_finish(struct rec_writer *w, const struct model *total)
{
	cJSON *o = cJSON_CreateObject();
	int err = -ENOMEM;

	if (w->fd < 0) {
		cJSON_Delete(o);
		return -EBADF;
	}
	if (serialize_add(o, "total", model_serialize(total)) &&
	    serialize_add(o, "drops", serialize_u64(model_drops(total))) &&
	    serialize_add(o, "intervals", serialize_u64(w->intervals)) &&
	    serialize_add(o, "end_realtime_ns", serialize_u64(clock_ns(CLOCK_REALTIME)))) {
		err = chunk_write(w, REC_TRAILER, o, false);
		o = NULL;
	}
	cJSON_Delete(o);
	if (close(w->fd) && !err)
		err = -errno;
	w->fd = -1;
	return err;
}

/* Reading */

struct chunk {
	size_t at, end;           /* offsets of its first byte and of the byte after it */
	unsigned type, flags;
	uint32_t clen, ulen;
	const uint8_t *payload;
};

static int problem(struct recording *r, const char *fmt, ...)
{
	char **p = realloc(r->problems, (r->nproblems + 1) * sizeof(*p));
	va_list ap;
	int n;

	if (!p)
		return -ENOMEM;
	r->problems = p;
	va_start(ap, fmt);
	n = vasprintf(&p[r->nproblems], fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r->nproblems++;
	return 0;
}

/* A chunk header at pos whose magic, CRC and lengths check. */
static bool chunk_header(const uint8_t *buf, size_t len, size_t pos, struct chunk *c)
{
	const uint8_t *h = buf + pos;

	if (len - pos < REC_CHUNK_HDR || memcmp(h, REC_CHUNK_MAGIC, 4) ||
	    get_le32(h + 20) != (uint32_t)crc32(0, h, 20))
		return false;
	c->at = pos;
	c->type = h[4];
	c->flags = h[5];
	c->clen = get_le32(h + 8);
	c->ulen = get_le32(h + 12);
	c->payload = h + REC_CHUNK_HDR;
	c->end = pos + REC_CHUNK_HDR + (size_t)c->clen;
	return c->clen <= REC_CHUNK_MAX && c->ulen <= REC_CHUNK_MAX &&
	       (uint64_t)c->ulen <= (uint64_t)c->clen * REC_MAX_RATIO;
}

/* The next offset after pos where a valid chunk header starts, or len. */
static size_t resync(const uint8_t *buf, size_t len, size_t pos)
{
	struct chunk c;

	for (size_t p = pos + 1; p + REC_CHUNK_HDR <= len; p++) {
		const uint8_t *m = memmem(buf + p, len - p, REC_CHUNK_MAGIC, 4);

		if (!m)
			break;
		p = (size_t)(m - buf);
		if (chunk_header(buf, len, p, &c))
			return p;
	}
	return len;
}

/* The chunk's JSON object, or NULL (corrupt; why says how). */
static cJSON *chunk_json(const struct chunk *c, const char **why)
{
	uLongf n = c->ulen;
	char *out = malloc(c->ulen ? c->ulen : 1);
	cJSON *j = NULL;

	*why = "out of memory";
	if (!out)
		return NULL;
	*why = "bad compressed data";
	if (uncompress((Bytef *)out, &n, c->payload, c->clen) == Z_OK && n == c->ulen) {
		*why = "not a JSON object";
		j = cJSON_ParseWithLength(out, c->ulen);
		if (j && !cJSON_IsObject(j)) {
			cJSON_Delete(j);
			j = NULL;
		}
	}
	free(out);
	return j;
}

static const char *string_or_empty(const cJSON *o, const char *key)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(j) ? j->valuestring : "";
}

static uint64_t u64_or_zero(const cJSON *o, const char *key)
{
	uint64_t v = 0;

	if (deserialize_u64(cJSON_GetObjectItemCaseSensitive(o, key), &v))
		return 0;
	return v;
}

static int read_header(struct recording *r, cJSON *j)
{
	const cJSON *major = cJSON_GetObjectItemCaseSensitive(j, "format_major");
	const cJSON *minor = cJSON_GetObjectItemCaseSensitive(j, "format_minor");
	const cJSON *ncpus = cJSON_GetObjectItemCaseSensitive(j, "ncpus");

	if (!cJSON_IsNumber(major) || major->valuedouble < 1 || major->valuedouble > 65535)
		return -EINVAL;
	r->format_major = (unsigned)major->valuedouble;
	if (cJSON_IsNumber(minor) && minor->valuedouble >= 0 && minor->valuedouble <= 65535)
		r->format_minor = (unsigned)minor->valuedouble;
	if (r->format_major > REC_FORMAT_MAJOR) {
		snprintf(r->error, sizeof(r->error),
			 "recording format %u.x is newer than this iogap reads (%d.x): upgrade iogap",
			 r->format_major, REC_FORMAT_MAJOR);
		return -ENOTSUP;
	}
	r->header = j;
	r->version = string_or_empty(j, "iogap");
	r->host = string_or_empty(j, "host");
	r->kernel = string_or_empty(j, "kernel");
	r->ncpus = cJSON_IsNumber(ncpus) && ncpus->valuedouble >= 0 && ncpus->valuedouble <= 1 << 20 ?
		   (int)ncpus->valuedouble : 0;
	r->start_realtime_ns = u64_or_zero(j, "start_realtime_ns");
	r->start_monotonic_ns = u64_or_zero(j, "start_monotonic_ns");
	r->interval_ns = u64_or_zero(j, "interval_ns");
	r->options = cJSON_GetObjectItemCaseSensitive(j, "options");
	r->targets = cJSON_GetObjectItemCaseSensitive(j, "targets");
	return 0;
}

/* What a parsed JSON value takes in memory. */
static size_t json_footprint(const cJSON *j)
{
	size_t n = sizeof(*j) + (j->string ? strlen(j->string) + 1 : 0) +
		   (j->valuestring ? strlen(j->valuestring) + 1 : 0);

	for (const cJSON *c = j->child; c; c = c->next)
		n += json_footprint(c);
	return n;
}

/* Folds interval src into dst (dst later in time takes src's end): src is freed. */
static int interval_merge(struct rec_interval *dst, struct rec_interval *src)
{
	int err = model_add(&dst->delta, &src->delta);

	while (!err && src->events && cJSON_GetArraySize(src->events))
		cJSON_AddItemToArray(dst->events, cJSON_DetachItemFromArray(src->events, 0));
	dst->t_ns = src->t_ns > dst->t_ns ? src->t_ns : dst->t_ns;
	dst->span += src->span;
	model_free(&src->delta);
	cJSON_Delete(src->events);
	return err;
}

/* At REC_KEEP_INTERVALS kept intervals, neighbours are merged: half as many, twice as long. */
static int intervals_halve(struct recording *r)
{
	size_t k = 0;
	int err = 0;

	for (size_t i = 0; i < r->nintervals; i += 2, k++) {
		if (i + 1 < r->nintervals && !err)
			err = interval_merge(&r->intervals[i], &r->intervals[i + 1]);
		else if (i + 1 < r->nintervals) {
			model_free(&r->intervals[i + 1].delta);
			cJSON_Delete(r->intervals[i + 1].events);
		}
		if (k != i)
			r->intervals[k] = r->intervals[i];
	}
	r->nintervals = k;
	r->span *= 2;
	return err;
}

static int read_interval(struct recording *r, cJSON *j, size_t *budget)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t_ns");
	cJSON *events = cJSON_DetachItemFromObjectCaseSensitive(j, "events");
	struct rec_interval iv = { .span = 1 }, *arr, *last;
	size_t kept;
	int err;

	if (!events)
		events = cJSON_CreateArray();
	if (!cJSON_IsArray(events)) {
		cJSON_Delete(events);
		return events ? -EINVAL : -ENOMEM;
	}
	kept = json_footprint(events);
	if (kept > *budget) {
		cJSON_Delete(events);
		return -E2BIG;
	}
	*budget -= kept;
	if (deserialize_u64(t, &iv.t_ns)) {
		cJSON_Delete(events);
		return -EINVAL;
	}
	err = model_deserialize_bounded(cJSON_GetObjectItemCaseSensitive(j, "delta"), &iv.delta,
					budget);
	if (err) {
		cJSON_Delete(events);
		return err;
	}
	iv.events = events;
	r->recorded_intervals++;
	if (!r->span)
		r->span = 1;
	/* the total of a recording without a trailer: kept as the intervals come */
	err = model_add(&r->sum, &iv.delta);
	last = r->nintervals ? &r->intervals[r->nintervals - 1] : NULL;
	if (!err && last && last->span < r->span)
		return interval_merge(last, &iv);
	if (!err && r->nintervals == REC_KEEP_INTERVALS && !(err = intervals_halve(r))) {
		last = &r->intervals[r->nintervals - 1];
		if (last->span < r->span)
			return interval_merge(last, &iv);
	}
	if (!err && !(r->nintervals & (r->nintervals - 1))) {   /* 0, 1, 2, 4, ...: double the room */
		arr = realloc(r->intervals, (r->nintervals ? r->nintervals * 2 : 1) * sizeof(*arr));
		if (!arr)
			err = -ENOMEM;
		else
			r->intervals = arr;
	}
	if (err) {
		model_free(&iv.delta);
		cJSON_Delete(iv.events);
		return err;
	}
	r->intervals[r->nintervals++] = iv;
	return 0;
}

static int read_trailer(struct recording *r, const cJSON *j, uint64_t *intervals, size_t *budget)
{
	int err = model_deserialize_bounded(cJSON_GetObjectItemCaseSensitive(j, "total"), &r->total,
					    budget);

	if (err)
		return err;
	r->drops = u64_or_zero(j, "drops");
	r->end_realtime_ns = u64_or_zero(j, "end_realtime_ns");
	*intervals = u64_or_zero(j, "intervals");
	r->complete = true;
	return 0;
}

/* What reading a file needs besides the recording. */
struct reader {
	const uint8_t *buf;
	size_t len;
	size_t budget;                /* bytes the models and events may still take */
	uint64_t trailer_intervals;
};

/* Reads one chunk whose CRCs checked: 0, a problem added, -E2BIG (over the budget), or
 * -ENOMEM/-ENOTSUP (fatal). */
static int read_chunk(struct recording *r, struct reader *rd, const struct chunk *c)
{
	const char *why;
	cJSON *j;
	int err;

	if (c->flags || (c->type != REC_HEADER && c->type != REC_INTERVAL && c->type != REC_TRAILER)) {
		r->bytes_lost += c->end - c->at;
		return problem(r, "chunk of unknown type %u (flags 0x%x) at byte %zu, from a newer iogap: "
			       "skipped", c->type, c->flags, c->at);
	}
	if (c->type == REC_HEADER && r->header) {
		r->bytes_lost += c->end - c->at;
		return problem(r, "a second header chunk at byte %zu: ignored", c->at);
	}
	if (c->ulen > rd->budget / REC_JSON_EXPANSION)
		return -E2BIG;   /* parsing it would take more memory than the file can stand for */
	j = chunk_json(c, &why);
	if (!j)
		goto corrupt;
	why = "bad contents";
	if (c->type == REC_HEADER)
		err = read_header(r, j);
	else if (c->type == REC_INTERVAL)
		err = read_interval(r, j, &rd->budget);
	else
		err = read_trailer(r, j, &rd->trailer_intervals, &rd->budget);
	if (c->type != REC_HEADER || err)
		cJSON_Delete(j);
	if (err == -ENOMEM || err == -ENOTSUP || err == -E2BIG)
		return err;
	if (!err)
		return 0;
corrupt:
	r->corrupt_chunks++;
	r->bytes_lost += c->end - c->at;
	return problem(r, "corrupt chunk at byte %zu (%s): skipped", c->at, why);
}

/* A whole chunk at c->at: read, or skipped when its payload is corrupt; *pos goes past it
 * (to the end when the rest is not to be read). */
static int whole_chunk(struct recording *r, struct reader *rd, const struct chunk *c, size_t *pos)
{
	int err;

	*pos = c->end;
	if ((uint32_t)crc32(0, c->payload, c->clen) != get_le32(rd->buf + c->at + 16)) {
		r->corrupt_chunks++;
		r->bytes_lost += c->end - c->at;
		return problem(r, "corrupt chunk at byte %zu (CRC mismatch): skipped", c->at);
	}
	err = read_chunk(r, rd, c);
	if (err == -E2BIG) {
		r->bytes_lost += rd->len - c->at;
		*pos = rd->len;
		return problem(r, "the chunk at byte %zu would take more memory than a file of %zu bytes "
			       "can stand for (over %u MiB): not read, nor what follows", c->at, rd->len,
			       (REC_MODEL_BUDGET >> 20) + (unsigned)(rd->len >> 10));
	}
	if (err || !r->complete || *pos == rd->len)
		return err;
	r->bytes_lost += rd->len - *pos;
	err = problem(r, "%zu bytes after the trailer (at byte %zu): ignored", rd->len - *pos, *pos);
	*pos = rd->len;
	return err;
}

/* No chunk header at pos: the bytes up to the next chunk whose header checks are skipped. */
static int skip_corrupt(struct recording *r, struct reader *rd, size_t *pos)
{
	size_t at = *pos, next = resync(rd->buf, rd->len, at);

	r->corrupt_chunks++;
	r->bytes_lost += next - at;
	*pos = next;
	if (next < rd->len)
		return problem(r, "corrupt data at byte %zu (no valid chunk header): %zu bytes skipped",
			       at, next - at);
	return problem(r, "corrupt data at byte %zu (no valid chunk header): the last %zu bytes lost",
		       at, next - at);
}

static int read_chunks(struct recording *r, const uint8_t *buf, size_t len)
{
	struct reader rd = {
		.buf = buf, .len = len,
		.budget = len > (SIZE_MAX - REC_MODEL_BUDGET) / REC_MODEL_RATIO ? SIZE_MAX :
			  REC_MODEL_BUDGET + len * REC_MODEL_RATIO,
	};
	size_t pos = strlen(REC_MAGIC);
	struct chunk c;
	int err = 0;

	while (pos < len && !err) {
		size_t left = len - pos;
		bool valid = chunk_header(buf, len, pos, &c);

		if (valid && c.end <= len) {
			err = whole_chunk(r, &rd, &c, &pos);
		} else if (valid || (left < REC_CHUNK_HDR &&
				     !memcmp(buf + pos, REC_CHUNK_MAGIC, left < 4 ? left : 4))) {
			r->bytes_lost += left;
			err = problem(r, "truncated at byte %zu: the last %zu bytes (an incomplete chunk) "
				      "were lost; %zu complete intervals read", pos, left, r->recorded_intervals);
			pos = len;
		} else {
			err = skip_corrupt(r, &rd, &pos);
		}
	}
	if (!err && r->complete && rd.trailer_intervals != r->recorded_intervals)
		err = problem(r, "the trailer counts %" PRIu64 " intervals, %zu were read: the total has "
			      "the figures of all", rd.trailer_intervals, r->recorded_intervals);
	return err;
}

static int sum_intervals(struct recording *r)
{
	model_free(&r->total);
	r->total = r->sum;
	memset(&r->sum, 0, sizeof(r->sum));
	r->drops = model_drops(&r->total);
	return problem(r, "recording has no trailer: iogap was killed or the disk filled; figures end "
		       "at +%.1f s", r->nintervals ? (double)r->intervals[r->nintervals - 1].t_ns / 1e9 : 0.0);
}

static void set_empty_strings(struct recording *r)
{
	r->version = r->host = r->kernel = "";
}

int recording_read_mem(const void *data, size_t len, struct recording *r)
{
	const uint8_t *buf = data;
	size_t mlen = strlen(REC_MAGIC);
	int err;

	memset(r, 0, sizeof(*r));
	set_empty_strings(r);
	r->file_size = len;
	if (len < mlen || memcmp(buf, REC_MAGIC, mlen)) {
		if (!len)
			snprintf(r->error, sizeof(r->error), "empty file, not an iogap recording");
		else if (len < mlen && !memcmp(buf, REC_MAGIC, len))
			snprintf(r->error, sizeof(r->error),
				 "truncated at byte %zu, before its header: nothing was recorded", len);
		else
			snprintf(r->error, sizeof(r->error), "not an iogap recording (bad magic)");
		return -EINVAL;
	}
	err = read_chunks(r, buf, len);
	if (!err && !r->header && !r->nintervals && !r->complete) {
		snprintf(r->error, sizeof(r->error), "nothing readable in it: %s",
			 r->nproblems ? r->problems[0] : "no chunks");
		err = -EINVAL;
	}
	if (!err && !r->header)
		err = problem(r, "the header chunk was lost: the recording's start, host and options "
			      "are unknown");
	if (!err && !r->complete)
		err = sum_intervals(r);
	if (err) {
		char msg[sizeof(r->error)];

		if (err == -ENOMEM)
			snprintf(r->error, sizeof(r->error), "out of memory");
		memcpy(msg, r->error, sizeof(msg));
		recording_free(r);
		memcpy(r->error, msg, sizeof(msg));
		r->file_size = len;
	}
	return err;
}

int recording_read(const char *path, struct recording *r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
	size_t len = 0, cap = 0;
	uint8_t *buf = NULL;
	struct stat st;

	memset(r, 0, sizeof(*r));
	set_empty_strings(r);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {   /* the file grew while we read it */
			uint8_t *p = realloc(buf, cap * 2);

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	err = recording_read_mem(buf, len, r);
out:
	if (err && !r->error[0])
		snprintf(r->error, sizeof(r->error), "%s", strerror(-err));
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

void recording_free(struct recording *r)
{
	model_free(&r->sum);
	for (size_t i = 0; i < r->nintervals; i++) {
		model_free(&r->intervals[i].delta);
		cJSON_Delete(r->intervals[i].events);
	}
	free(r->intervals);
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	cJSON_Delete(r->header);
	model_free(&r->total);
	memset(r, 0, sizeof(*r));
	set_empty_strings(r);
}
