/*
 * Recording files (iogap record): a header, one chunk per interval, a trailer.
 *
 * Byte layout (all integers little-endian):
 *
 *   offset 0   8 bytes  "IOGAPREC"
 *   offset 8   chunks, each:
 *     +0   u32  magic, the bytes "IOGC"
 *     +4   u8   type: 1 header, 2 interval, 3 trailer (other types are skipped)
 *     +5   u8   flags, 0 (a chunk with other flags is skipped)
 *     +6   u16  reserved, 0
 *     +8   u32  compressed length C (at most REC_CHUNK_MAX)
 *     +12  u32  uncompressed length U (at most REC_CHUNK_MAX)
 *     +16  u32  CRC-32 (zlib's) of the C payload bytes
 *     +20  u32  CRC-32 of bytes +0..+19 of this header
 *     +24  C bytes: the JSON payload (U bytes, UTF-8, no NUL), zlib-compressed (compress2)
 *
 * Payloads:
 *   header   {"format_major": 1, "format_minor": 0, "iogap": version, "host", "kernel" (uname
 *            release), "ncpus", "start_realtime_ns", "start_monotonic_ns", "interval_ns",
 *            "options": {...}, "targets": [...]}
 *   interval {"t_ns": end of the interval since the start, "delta": model_serialize(delta),
 *            "events": [...]}
 *   trailer  {"total": model_serialize(cumulative), "drops", "intervals", "end_realtime_ns"}
 * uint64 values from 10^15 on are decimal strings (see model/serialize.h).
 *
 * The writer writes each chunk with one write(2), so a killed iogap leaves whole chunks and at
 * most one incomplete one at the end. The reader checks both CRCs, skips a corrupt chunk and
 * finds the next one by scanning for a chunk magic whose header CRC checks. It trusts no
 * length: C and U are bounded, U by 1040 * C too (deflate's best ratio), and what the models and
 * events read may take in memory by 256 MiB + 1024 times the file's size (a crafted file of a
 * few kilobytes could otherwise stand for gigabytes of histograms); past that it stops, saying so.
 */
#ifndef IOGAP_MODEL_RECORDING_H
#define IOGAP_MODEL_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "model/model.h"

#define REC_FORMAT_MAJOR 1
#define REC_FORMAT_MINOR 0
#define REC_MAGIC "IOGAPREC"
#define REC_CHUNK_MAGIC "IOGC"
#define REC_CHUNK_HDR 24
#define REC_CHUNK_MAX (256u << 20)   /* bytes, compressed or not: a corrupt length allocates no more */

enum rec_chunk_type { REC_HEADER = 1, REC_INTERVAL = 2, REC_TRAILER = 3 };

/* What the header says besides what the model and the machine tell. */
struct rec_header_info {
	uint64_t interval_ns;
	uint64_t start_realtime_ns;   /* CLOCK_REALTIME at the model's start; 0: derived from now */
	const cJSON *options;         /* an object (how iogap was run), or NULL; copied */
	const cJSON *targets;         /* an array of objects (the targets as asked), or NULL; copied,
	                               * and each model target is described there by name, kind,
	                               * cgroup, cgroup_id, pids and container */
};

struct rec_writer {
	int fd;
	uint64_t size;                /* bytes written so far: every complete chunk */
	uint64_t intervals;
};

/* Creates (or truncates) path with mode 0600 and writes the header. 0 or -errno. */
int recording_create(struct rec_writer *w, const char *path, const struct rec_header_info *info,
		     const struct model *m);
/* Appends one interval; events is an array (NULL: []) the caller keeps. 0 or -errno (ENOSPC,
 * EFBIG for a payload over REC_CHUNK_MAX, ...); a failed write is cut off the file again. */
int recording_append(struct rec_writer *w, uint64_t t_ns, const struct model *delta, cJSON *events);
/* Writes the trailer and closes the file (closed on error too). 0 or -errno. */
int recording_finish(struct rec_writer *w, const struct model *total);

/* One chunk of type around len bytes of payload, in a buffer *out (size bytes) the caller
 * frees: 0, -ENOMEM or -EFBIG. For tools and tests that build recordings by hand. */
int recording_encode_chunk(unsigned type, const char *payload, size_t len, uint8_t **out, size_t *size);

struct rec_interval {
	uint64_t t_ns;
	struct model delta;
	cJSON *events;                /* an array */
	size_t span;                  /* recorded intervals merged into this one (1 for short ones) */
};

/* The reader keeps at most this many intervals: past it, neighbours are merged two by two (a
 * time axis of an hour of 1-s intervals in 128 to 256 points), so reading a long recording
 * takes bounded memory. */
#define REC_KEEP_INTERVALS 256

struct recording {
	/* from the header; the strings point into header ("" when there was none) */
	unsigned format_major, format_minor;
	const char *version, *host, *kernel;
	int ncpus;
	uint64_t start_realtime_ns, start_monotonic_ns, interval_ns;
	const cJSON *options, *targets;
	cJSON *header;                /* the header's JSON; NULL when it could not be read */
	struct model total;           /* the trailer's, else the sum of the intervals read */
	size_t nintervals;            /* kept: at most REC_KEEP_INTERVALS */
	struct rec_interval *intervals;
	size_t recorded_intervals;    /* read from the file (each kept one spans some of them) */
	size_t span;                  /* recorded intervals per kept one, a power of 2 */
	struct model sum;             /* (reading) the sum of the intervals read */
	uint64_t drops;               /* the trailer's (else model_drops(&total)) */
	uint64_t end_realtime_ns;     /* the trailer's; 0 without one */
	bool complete;                /* the trailer was read */
	uint64_t file_size, bytes_lost;
	int corrupt_chunks;
	char **problems;              /* sentences on what was lost or skipped, for the user */
	size_t nproblems;
	char error[256];              /* why recording_read failed */
};

/* Reads a recording: 0 (problems says what was lost), or -errno with r->error set and nothing
 * else to free: -EINVAL not a recording or nothing readable in it, -ENOTSUP a newer format,
 * -ENOMEM, or the error of opening or reading path. */
int recording_read(const char *path, struct recording *r);
int recording_read_mem(const void *buf, size_t len, struct recording *r);
void recording_free(struct recording *r);

#endif
