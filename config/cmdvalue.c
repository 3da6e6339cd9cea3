/*
 * cmdvalue.c: the Raft tester's command values (see cmdvalue.h): making,
 * copying, comparing, encoding and printing them.
 */
#include "config/cmdvalue.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strings longer than this print as their first CMDVALUE_CUT bytes, "...",
 * and their length. */
#define CMDVALUE_CUT 32

struct cmdvalue cmdvalue_int(int64_t x)
{
	return (struct cmdvalue){.kind = CMDVALUE_INT, .i = x};
}

struct cmdvalue cmdvalue_str(char *s)
{
	return (struct cmdvalue){
	        .kind = CMDVALUE_STR, .s = s, .len = strlen(s)};
}

struct cmdvalue cmdvalue_copy(struct cmdvalue v)
{
	if (v.kind != CMDVALUE_STR)
		return v;
	char *s = malloc(v.len + 1);
	if (s == NULL) {
		fputs("cmdvalue: out of memory\n", stderr);
		abort();
	}
	memcpy(s, v.s, v.len);
	s[v.len] = '\0';
	v.s = s;
	return v;
}

void cmdvalue_release(struct cmdvalue *v)
{
	if (v->kind == CMDVALUE_STR)
		free(v->s);
	*v = (struct cmdvalue){.kind = CMDVALUE_NIL};
}

bool cmdvalue_equal(struct cmdvalue a, struct cmdvalue b)
{
	if (a.kind != b.kind)
		return false;
	switch (a.kind) {
	case CMDVALUE_INT:
		return a.i == b.i;
	case CMDVALUE_STR:
		return a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
	case CMDVALUE_NIL:
		break;
	}
	return true;
}

void cmdvalue_encode(struct codec_buf *b, struct cmdvalue v)
{
	codec_put_uvarint(b, (uint64_t)v.kind);
	if (v.kind == CMDVALUE_INT)
		codec_put_varint(b, v.i);
	else if (v.kind == CMDVALUE_STR)
		codec_put_bytes(b, v.s, v.len);
}

int cmdvalue_decode(struct codec_reader *r, struct cmdvalue *v)
{
	uint64_t tag;
	int err;

	*v = (struct cmdvalue){.kind = CMDVALUE_NIL};
	if ((err = codec_get_uvarint(r, &tag)) != CODEC_OK)
		return err;
	if (tag == CMDVALUE_INT) {
		if ((err = codec_get_varint(r, &v->i)) != CODEC_OK)
			return err;
		v->kind = CMDVALUE_INT;
		return CODEC_OK;
	}
	if (tag == CMDVALUE_STR) {
		uint8_t *s;
		if ((err = codec_get_bytes(r, &s, &v->len)) != CODEC_OK)
			return err;
		v->s = (char *)s; /* codec_get_bytes NUL-terminates it */
		v->kind = CMDVALUE_STR;
		return CODEC_OK;
	}
	/* Make the error sticky, like the codec's own errors. */
	r->err = CODEC_ERANGE;
	return CODEC_ERANGE;
}

int cmdvalue_from_bytes(const void *data, size_t len, struct cmdvalue *v)
{
	struct codec_reader r;
	codec_reader_init(&r, data, len);
	cmdvalue_decode(&r, v);
	int err = codec_finish(&r);
	if (err != CODEC_OK)
		cmdvalue_release(v);
	return err;
}

const char *cmdvalue_format(struct cmdvalue v, char buf[CMDVALUE_FMT_SIZE])
{
	switch (v.kind) {
	case CMDVALUE_INT:
		snprintf(buf, CMDVALUE_FMT_SIZE, "%" PRId64, v.i);
		break;
	case CMDVALUE_STR:
		if (v.len < CMDVALUE_FMT_SIZE)
			snprintf(buf, CMDVALUE_FMT_SIZE, "%.*s", (int)v.len,
			         v.s);
		else
			snprintf(buf, CMDVALUE_FMT_SIZE, "%.*s...(%zu bytes)",
			         CMDVALUE_CUT, v.s, v.len);
		break;
	case CMDVALUE_NIL:
		snprintf(buf, CMDVALUE_FMT_SIZE, "<nil>");
		break;
	}
	return buf;
}
