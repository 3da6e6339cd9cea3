/*
 * kv_model.c: lin_kv_model, the key/value store's sequential specification
 * (6.5840's models.KvModel): one partition per key, the state of a partition
 * is that key's value (struct kv_state below).
 */
#include "lincheck/lincheck.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kv_xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("lincheck: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *kv_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(kv_xmalloc(n), s, n);
}

static __attribute__((format(printf, 1, 2))) char *kv_sprintf(const char *fmt,
                                                              ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = kv_xmalloc(n > 0 ? (size_t)n + 1 : 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* NULL strings in inputs and outputs read as "". */
static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static const char *kv_partition(const struct lin_op *op)
{
	const struct lin_kv_input *in = op->input;
	return str_or_empty(in->key);
}

/*
 * A state is a key's value, as the first len bytes of an append-only buffer
 * that states share. The histories the kvraft tests record append to one
 * value tens of thousands of times, so a state cannot be a string of its
 * own: every step would copy the whole value, and the search cache keeps
 * every state it meets. Appending to a state that ends where its buffer
 * ends writes in place (the bytes below len are never changed, so every
 * state on the buffer stays valid); appending to an older state copies it
 * into a new buffer. A state also carries a polynomial hash of its bytes,
 * extended in O(appended bytes), for the cache.
 */
struct kv_buf {
	size_t refs; /* the states on it: all in one partition, one thread */
	size_t used, cap;
	char *data;
};

struct kv_state {
	struct kv_buf *buf;
	size_t len;
	uint64_t hash; /* sum of data[i] * HASH_BASE^(len-1-i), mod 2^64 */
};

#define HASH_BASE UINT64_C(0x100000001b3)

static struct kv_state *state_make(struct kv_buf *buf, size_t len,
                                   uint64_t hash)
{
	struct kv_state *st = kv_xmalloc(sizeof *st);
	buf->refs++;
	*st = (struct kv_state){buf, len, hash};
	return st;
}

static struct kv_buf *buf_make(size_t cap)
{
	struct kv_buf *b = kv_xmalloc(sizeof *b);
	*b = (struct kv_buf){0, 0, cap > 16 ? cap : 16, NULL};
	b->data = kv_xmalloc(b->cap);
	return b;
}

/* Room for n more bytes at the end of b. */
static void buf_reserve(struct kv_buf *b, size_t n)
{
	if (b->cap - b->used >= n)
		return;
	size_t cap = b->cap;
	while (cap - b->used < n)
		cap *= 2;
	char *data = realloc(b->data, cap);
	if (!data) {
		fputs("lincheck: out of memory\n", stderr);
		abort();
	}
	b->data = data;
	b->cap = cap;
}

/* The hash of a string whose hash is h, followed by s[0..n). */
static uint64_t hash_extend(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = h * HASH_BASE + (unsigned char)s[i];
	return h;
}

/* A new state holding st's value (none when st is NULL) followed by
 * s[0..n). */
static struct kv_state *state_extend(const struct kv_state *st, const char *s,
                                     size_t n)
{
	size_t prefix = st ? st->len : 0;
	struct kv_buf *b;
	if (st && st->buf->used == prefix) {
		b = st->buf; /* st ends where its buffer does: write in place */
	} else {
		b = buf_make(prefix + n);
		if (prefix > 0)
			memcpy(b->data, st->buf->data, prefix);
		b->used = prefix;
	}
	buf_reserve(b, n);
	memcpy(b->data + b->used, s, n);
	b->used += n;
	return state_make(b, prefix + n, hash_extend(st ? st->hash : 0, s, n));
}

static void *kv_init(void)
{
	return state_make(buf_make(16), 0, 0);
}

/* Whether the n bytes at s are st's value. */
static bool state_is(const struct kv_state *st, const char *s, size_t n)
{
	return n == st->len && (n == 0 || memcmp(s, st->buf->data, n) == 0);
}

/* What a get returned, as bytes; NULL outputs read as "". */
static void output_bytes(const struct lin_kv_output *out, const char **s,
                         size_t *n)
{
	*s = out && out->value ? out->value : "";
	*n = out && out->value ? out->len : 0;
}

/*
 * get: legal iff it returned the current value; the value is unchanged.
 * put: always legal; the value becomes input.value.
 * append: always legal (it returns nothing); the value gets input.value
 * appended. Any other op ("append returning the old value", unused): legal
 * iff it returned the current value; then as append.
 */
static bool kv_step(const void *state, const void *input, const void *output,
                    const void **new_state)
{
	const struct kv_state *st = state;
	const struct lin_kv_input *in = input;
	const struct lin_kv_output *out = output;
	const char *value = str_or_empty(in->value);
	const char *got;
	size_t got_len;
	output_bytes(out, &got, &got_len);

	switch (in->op) {
	case LIN_KV_GET:
		if (!state_is(st, got, got_len))
			return false;
		*new_state = st;
		return true;
	case LIN_KV_PUT:
		*new_state = state_is(st, value, strlen(value))
		                     ? (const void *)st
		                     : state_extend(NULL, value, strlen(value));
		return true;
	case LIN_KV_APPEND:
		break;
	default:
		if (!state_is(st, got, got_len))
			return false;
		break;
	}
	size_t n = strlen(value);
	*new_state = n == 0 ? (const void *)st : state_extend(st, value, n);
	return true;
}

static bool kv_equal(const void *a, const void *b)
{
	const struct kv_state *x = a, *y = b;
	if (x->len != y->len || x->hash != y->hash)
		return false;
	/* The same buffer holds the same bytes below both lengths. */
	return x->buf == y->buf ||
	       memcmp(x->buf->data, y->buf->data, x->len) == 0;
}

static uint64_t kv_hash(const void *state)
{
	const struct kv_state *st = state;
	return st->hash ^ st->len;
}

static void kv_free_state(void *state)
{
	struct kv_state *st = state;
	if (--st->buf->refs == 0) {
		free(st->buf->data);
		free(st->buf);
	}
	free(st);
}

static char *kv_describe_op(const void *input, const void *output)
{
	const struct lin_kv_input *in = input;
	const struct lin_kv_output *out = output;
	const char *key = str_or_empty(in->key);
	const char *got;
	size_t got_len;
	output_bytes(out, &got, &got_len);
	switch (in->op) {
	case LIN_KV_GET:
		return kv_sprintf("get('%s') -> '%.*s'", key, (int)got_len,
		                  got);
	case LIN_KV_PUT:
		return kv_sprintf("put('%s', '%s')", key,
		                  str_or_empty(in->value));
	case LIN_KV_APPEND:
		return kv_sprintf("append('%s', '%s')", key,
		                  str_or_empty(in->value));
	default:
		return kv_strdup("<invalid>");
	}
}

static char *kv_describe_state(const void *state)
{
	const struct kv_state *st = state;
	char *s = kv_xmalloc(st->len + 1);
	memcpy(s, st->buf->data, st->len);
	s[st->len] = '\0';
	return s;
}

const struct lin_model lin_kv_model = {
        .partition = kv_partition,
        .init = kv_init,
        .step = kv_step,
        .equal = kv_equal,
        .hash = kv_hash,
        .free_state = kv_free_state,
        .describe_op = kv_describe_op,
        .describe_state = kv_describe_state,
};
