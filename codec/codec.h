/*
 * codec: raftlab's wire format (the labgob analogue). Everything that crosses
 * the simulated network or goes into a persister is encoded with it:
 * varints (unsigned LEB128 and zigzag-signed), booleans, byte strings and
 * sequences (an element count followed by the elements).
 *
 * Encoding appends to a growable buffer and cannot fail short of running out
 * of memory (which aborts with a message). Decoding is strictly bounds-checked:
 * malformed or truncated input yields an error code, never an out-of-bounds
 * read, and no length field can make the decoder allocate more than the input
 * could possibly describe. Errors are sticky: after the first error every
 * further get on the same reader returns that error, so a decode function may
 * read all its fields and check once at the end.
 */
#ifndef RAFTLAB_CODEC_H
#define RAFTLAB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CODEC_OK = 0,
	CODEC_ETRUNCATED = -1, /* input ended inside a value */
	CODEC_EOVERFLOW =
	        -2,         /* a varint longer than 10 bytes or above 2^64-1 */
	CODEC_ERANGE = -3,  /* a value outside the range of the target type */
	CODEC_ELENGTH = -4, /* a length or count larger than the input left */
	CODEC_ETRAILING = -5, /* bytes left over after the last value */
	CODEC_EBOOL = -6,     /* a boolean byte other than 0 or 1 */
};

/* A human-readable message for a CODEC_* code. */
const char *codec_strerror(int err);

/* ---- encoding ---- */

/* A growable output buffer. Zero-initialise it (or codec_buf_init); the
 * owner releases data with codec_buf_free, or takes it over with
 * codec_buf_take. */
struct codec_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void codec_buf_init(struct codec_buf *b);
void codec_buf_free(struct codec_buf *b);
/* Hands the bytes to the caller (who frees them with free()) and resets b.
 * Never returns NULL: an empty buffer yields a 1-byte allocation. */
uint8_t *codec_buf_take(struct codec_buf *b, size_t *len);

void codec_put_uvarint(struct codec_buf *b, uint64_t v);
void codec_put_varint(struct codec_buf *b, int64_t v);
void codec_put_bool(struct codec_buf *b, bool v);
/* A byte string: its length as a uvarint, then the bytes. */
void codec_put_bytes(struct codec_buf *b, const void *data, size_t len);
/* A NUL-terminated string, encoded as codec_put_bytes without the NUL. */
void codec_put_str(struct codec_buf *b, const char *s);
/* The start of a sequence of count elements; the caller then puts them. */
void codec_put_seq(struct codec_buf *b, size_t count);

/* ---- decoding ---- */

struct codec_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
	int err; /* first error seen, CODEC_OK while none */
};

void codec_reader_init(struct codec_reader *r, const void *data, size_t len);

int codec_get_uvarint(struct codec_reader *r, uint64_t *v);
int codec_get_varint(struct codec_reader *r, int64_t *v);
/* A varint that must fit in an int (else CODEC_ERANGE). */
int codec_get_int(struct codec_reader *r, int *v);
int codec_get_bool(struct codec_reader *r, bool *v);
/* A byte string, copied into a fresh allocation of exactly its length plus a
 * terminating NUL (so text can be used as a C string). *data is NULL on
 * error; on success the caller frees it. */
int codec_get_bytes(struct codec_reader *r, uint8_t **data, size_t *len);
/* A byte string without copying: *data points into the reader's input. */
int codec_get_bytes_view(struct codec_reader *r, const uint8_t **data,
                         size_t *len);
/* A sequence header. Each element needs at least min_elem_size encoded bytes
 * (>= 1), so a count the remaining input cannot hold is CODEC_ELENGTH before
 * anything is allocated for it. */
int codec_get_seq(struct codec_reader *r, size_t *count, size_t min_elem_size);
/* CODEC_OK if the input was consumed exactly and no error occurred;
 * otherwise the sticky error or CODEC_ETRAILING. */
int codec_finish(const struct codec_reader *r);

/* ---- typed messages ---- */

/*
 * How one C struct crosses the network: labrpc encodes arguments and replies
 * with these. decode fills a zeroed value of `size` bytes and may allocate
 * (strings, arrays); release frees what decode allocated (NULL when it never
 * allocates) but not the struct itself. decode returns CODEC_OK or an error;
 * on error release must still be safe to call on the partly filled value.
 */
struct codec_type {
	const char *name;
	size_t size;
	void (*encode)(struct codec_buf *b, const void *value);
	int (*decode)(struct codec_reader *r, void *value);
	void (*release)(void *value);
};

/* Decodes a whole message: decode plus codec_finish. */
int codec_decode_message(const struct codec_type *t, const void *data,
                         size_t len, void *value);

#endif
