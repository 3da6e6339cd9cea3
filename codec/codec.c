/*
 * codec.c: raftlab's wire format (see codec.h). Encoders append to a buffer
 * that grows geometrically; decoders check every byte against the input's
 * end and never allocate more than the input could describe. A failed get
 * leaves the reader's position at the start of the bad value. Both sides
 * are on the path of every RPC, so their loops work on raw pointers rather
 * than calling a function per byte.
 */
#include "codec/codec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A uvarint carries 7 bits per byte: 64 bits need at most 10 bytes, and the
 * 10th byte may only hold the top bit (0 or 1). */
#define CODEC_UVARINT_MAX 10

/* The first allocation of a buffer; later ones double it. */
#define CODEC_BUF_MIN_CAP 64

/* One table maps codes to messages, indexed by -err. */
static const char *const codec_messages[] = {
        [-CODEC_OK] = "ok",
        [-CODEC_ETRUNCATED] = "input ended inside a value",
        [-CODEC_EOVERFLOW] = "varint longer than 10 bytes or above 2^64-1",
        [-CODEC_ERANGE] = "value out of range for its type",
        [-CODEC_ELENGTH] = "length or count larger than the input left",
        [-CODEC_ETRAILING] = "bytes left over after the last value",
        [-CODEC_EBOOL] = "boolean byte other than 0 or 1",
};

const char *codec_strerror(int err)
{
	const int n = (int)(sizeof codec_messages / sizeof codec_messages[0]);
	if (err > 0 || err <= -n)
		return "unknown codec error";
	return codec_messages[-err];
}

/* The encoder has no way to report failure, so running out of memory ends
 * the process with a message instead of producing a short encoding. */
static _Noreturn void codec_out_of_memory(void)
{
	fputs("codec: out of memory\n", stderr);
	abort();
}

static void *codec_xmalloc(size_t n)
{
	void *p = malloc(n);
	if (p == NULL)
		codec_out_of_memory();
	return p;
}

/* ---- encoding ---- */

void codec_buf_init(struct codec_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void codec_buf_free(struct codec_buf *b)
{
	free(b->data);
	codec_buf_init(b);
}

uint8_t *codec_buf_take(struct codec_buf *b, size_t *len)
{
	uint8_t *data = b->data;
	if (data == NULL)
		data = codec_xmalloc(1);
	if (len != NULL)
		*len = b->len;
	codec_buf_init(b);
	return data;
}

/* The slow half of codec_reserve: at least doubles the capacity, so n
 * appends of one byte cost O(n) copying in total. */
static void codec_grow(struct codec_buf *b, size_t n)
{
	if (n > SIZE_MAX - b->len)
		codec_out_of_memory();
	size_t need = b->len + n;
	size_t cap = b->cap < CODEC_BUF_MIN_CAP ? CODEC_BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *data = realloc(b->data, cap);
	if (data == NULL)
		codec_out_of_memory();
	b->data = data;
	b->cap = cap;
}

/* Makes room for n more bytes and returns where they go. */
static inline uint8_t *codec_reserve(struct codec_buf *b, size_t n)
{
	if (b->cap - b->len < n)
		codec_grow(b, n);
	return b->data + b->len;
}

void codec_put_uvarint(struct codec_buf *b, uint64_t v)
{
	uint8_t *p = codec_reserve(b, CODEC_UVARINT_MAX);
	uint8_t *start = p;
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	b->len += (size_t)(p - start);
}

/* Zigzag maps signed to unsigned so small magnitudes stay short:
 * 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ... */
void codec_put_varint(struct codec_buf *b, int64_t v)
{
	uint64_t u = (uint64_t)v;
	codec_put_uvarint(b, (u << 1) ^ (0 - (u >> 63)));
}

void codec_put_bool(struct codec_buf *b, bool v)
{
	*codec_reserve(b, 1) = v ? 1 : 0;
	b->len++;
}

void codec_put_bytes(struct codec_buf *b, const void *data, size_t len)
{
	codec_put_uvarint(b, len);
	if (len == 0)
		return;
	memcpy(codec_reserve(b, len), data, len);
	b->len += len;
}

void codec_put_str(struct codec_buf *b, const char *s)
{
	codec_put_bytes(b, s, strlen(s));
}

void codec_put_seq(struct codec_buf *b, size_t count)
{
	codec_put_uvarint(b, count);
}

/* ---- decoding ---- */

void codec_reader_init(struct codec_reader *r, const void *data, size_t len)
{
	r->data = data;
	r->len = len;
	r->pos = 0;
	r->err = CODEC_OK;
}

/* Records the reader's first error and returns the one that sticks. */
static int codec_fail(struct codec_reader *r, int err)
{
	if (r->err == CODEC_OK)
		r->err = err;
	return r->err;
}

int codec_get_uvarint(struct codec_reader *r, uint64_t *v)
{
	*v = 0;
	if (r->err != CODEC_OK)
		return r->err;
	size_t avail = r->len - r->pos;
	if (avail == 0)
		return codec_fail(r, CODEC_ETRUNCATED);
	const uint8_t *p = r->data + r->pos;
	/* The common case in raftlab: a term, index or length below 128. */
	if (p[0] < 0x80) {
		*v = p[0];
		r->pos++;
		return CODEC_OK;
	}
	size_t n = avail < CODEC_UVARINT_MAX ? avail : CODEC_UVARINT_MAX;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (i == CODEC_UVARINT_MAX - 1 && c > 1)
			return codec_fail(r, CODEC_EOVERFLOW);
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (c < 0x80) {
			*v = x;
			r->pos += i + 1;
			return CODEC_OK;
		}
	}
	/* Fewer than 10 bytes were left and all had the continuation bit
	 * (10 such bytes fail above: a 10th byte >= 0x80 is > 1). */
	return codec_fail(r, CODEC_ETRUNCATED);
}

int codec_get_varint(struct codec_reader *r, int64_t *v)
{
	uint64_t u;
	*v = 0;
	if (codec_get_uvarint(r, &u) != CODEC_OK)
		return r->err;
	/* Undo the zigzag without converting an out-of-range unsigned value
	 * to a signed type: u >> 1 always fits in int64_t. */
	int64_t half = (int64_t)(u >> 1);
	*v = (u & 1) ? -half - 1 : half;
	return CODEC_OK;
}

int codec_get_int(struct codec_reader *r, int *v)
{
	size_t start = r->pos;
	int64_t x;
	*v = 0;
	if (codec_get_varint(r, &x) != CODEC_OK)
		return r->err;
	if (x < INT_MIN || x > INT_MAX) {
		r->pos = start;
		return codec_fail(r, CODEC_ERANGE);
	}
	*v = (int)x;
	return CODEC_OK;
}

int codec_get_bool(struct codec_reader *r, bool *v)
{
	*v = false;
	if (r->err != CODEC_OK)
		return r->err;
	if (r->pos == r->len)
		return codec_fail(r, CODEC_ETRUNCATED);
	uint8_t c = r->data[r->pos];
	if (c > 1)
		return codec_fail(r, CODEC_EBOOL);
	*v = c == 1;
	r->pos++;
	return CODEC_OK;
}

int codec_get_bytes_view(struct codec_reader *r, const uint8_t **data,
                         size_t *len)
{
	size_t start = r->pos;
	uint64_t n;
	*data = NULL;
	*len = 0;
	if (codec_get_uvarint(r, &n) != CODEC_OK)
		return r->err;
	if (n > r->len - r->pos) {
		r->pos = start;
		return codec_fail(r, CODEC_ELENGTH);
	}
	*data = r->data + r->pos;
	*len = (size_t)n;
	r->pos += (size_t)n;
	return CODEC_OK;
}

int codec_get_bytes(struct codec_reader *r, uint8_t **data, size_t *len)
{
	const uint8_t *view;
	size_t n;
	*data = NULL;
	*len = 0;
	if (codec_get_bytes_view(r, &view, &n) != CODEC_OK)
		return r->err;
	/* n <= r->len, so n + 1 cannot wrap and the allocation is no larger
	 * than the input itself. */
	uint8_t *copy = codec_xmalloc(n + 1);
	if (n > 0)
		memcpy(copy, view, n);
	copy[n] = '\0';
	*data = copy;
	*len = n;
	return CODEC_OK;
}

int codec_get_seq(struct codec_reader *r, size_t *count, size_t min_elem_size)
{
	size_t start = r->pos;
	uint64_t n;
	*count = 0;
	if (codec_get_uvarint(r, &n) != CODEC_OK)
		return r->err;
	if (min_elem_size == 0)
		min_elem_size = 1;
	/* n * min_elem_size > left, computed without the product overflowing.
	 * n <= left also guarantees that n fits in a size_t. */
	if (n > (r->len - r->pos) / min_elem_size) {
		r->pos = start;
		return codec_fail(r, CODEC_ELENGTH);
	}
	*count = (size_t)n;
	return CODEC_OK;
}

int codec_finish(const struct codec_reader *r)
{
	if (r->err != CODEC_OK)
		return r->err;
	return r->pos == r->len ? CODEC_OK : CODEC_ETRAILING;
}

/* ---- typed messages ---- */

int codec_decode_message(const struct codec_type *t, const void *data,
                         size_t len, void *value)
{
	struct codec_reader r;
	codec_reader_init(&r, data, len);
	memset(value, 0, t->size);
	int err = t->decode(&r, value);
	if (err == CODEC_OK)
		err = codec_finish(&r);
	if (err != CODEC_OK) {
		/* Leave no half-decoded value behind: free what decode
		 * allocated and hand back the zero value. */
		if (t->release != NULL)
			t->release(value);
		memset(value, 0, t->size);
	}
	return err;
}
