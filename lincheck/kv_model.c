/*
 * kv_model.c: lin_kv_model, the key/value store's sequential specification
 * (6.5840's models.KvModel): one partition per key, the state of a partition
 * is that key's value as a malloc'd string.
 */
#include "lincheck/lincheck.h"

#include <stdarg.h>
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

static void *kv_init(void)
{
	return kv_strdup("");
}

/* state + suffix, or state itself when suffix is empty. */
static void *kv_appended(const char *state, const char *suffix)
{
	size_t a = strlen(state), b = strlen(suffix);
	if (b == 0)
		return (void *)state;
	char *s = kv_xmalloc(a + b + 1);
	memcpy(s, state, a);
	memcpy(s + a, suffix, b + 1);
	return s;
}

/*
 * get: legal iff it returned the current value; the value is unchanged.
 * put: always legal; the value becomes input.value.
 * append: always legal (it returns nothing); the value gets input.value
 * appended. Any other op ("append returning the old value", unused): legal
 * iff it returned the current value; then as append.
 */
static bool kv_step(const void *state, const void *input, const void *output,
                    void **new_state)
{
	const char *st = state;
	const struct lin_kv_input *in = input;
	const struct lin_kv_output *out = output;
	const char *value = str_or_empty(in->value);

	switch (in->op) {
	case LIN_KV_GET:
		if (strcmp(str_or_empty(out ? out->value : NULL), st) != 0)
			return false;
		*new_state = (void *)st;
		return true;
	case LIN_KV_PUT:
		*new_state =
		        strcmp(value, st) == 0 ? (void *)st : kv_strdup(value);
		return true;
	case LIN_KV_APPEND:
		*new_state = kv_appended(st, value);
		return true;
	default:
		if (strcmp(str_or_empty(out ? out->value : NULL), st) != 0)
			return false;
		*new_state = kv_appended(st, value);
		return true;
	}
}

static bool kv_equal(const void *a, const void *b)
{
	return strcmp(a, b) == 0;
}

/* FNV-1a; the checker mixes it further. */
static uint64_t kv_hash(const void *state)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = state; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

static void kv_free_state(void *state)
{
	free(state);
}

static char *kv_describe_op(const void *input, const void *output)
{
	const struct lin_kv_input *in = input;
	const struct lin_kv_output *out = output;
	const char *key = str_or_empty(in->key);
	switch (in->op) {
	case LIN_KV_GET:
		return kv_sprintf("get('%s') -> '%s'", key,
		                  str_or_empty(out ? out->value : NULL));
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
	return kv_strdup(state);
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
