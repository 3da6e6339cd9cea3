/*
 * cmdvalue: the values the Raft tester submits as commands. To Raft a command
 * is opaque bytes; the tester's commands are small tagged values, an integer
 * or a byte string (the Go tests use int and string), encoded with the codec
 * as a uvarint tag followed by the payload. The tester compares values by tag
 * and payload and prints them the way Go's %v would.
 *
 * Not for: the key/value service's operations, which have their own encoding.
 */
#ifndef RAFTLAB_CMDVALUE_H
#define RAFTLAB_CMDVALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"

enum cmdvalue_kind {
	CMDVALUE_NIL = 0, /* no value (Go's nil); never a command */
	CMDVALUE_INT = 1, /* wire tag 1, then a zigzag varint */
	CMDVALUE_STR = 2, /* wire tag 2, then a byte string */
};

/*
 * One value. A CMDVALUE_STR either borrows its bytes (made by cmdvalue_str)
 * or owns them (made by cmdvalue_copy or cmdvalue_decode, released with
 * cmdvalue_release); each function says which it returns.
 */
struct cmdvalue {
	enum cmdvalue_kind kind;
	int64_t i;  /* CMDVALUE_INT */
	char *s;    /* CMDVALUE_STR: len bytes, then a NUL */
	size_t len; /* CMDVALUE_STR */
};

/* Room for any value printed by cmdvalue_format (long strings are cut). */
#define CMDVALUE_FMT_SIZE 64

/* An integer value. */
struct cmdvalue cmdvalue_int(int64_t x);
/* A string value borrowing the NUL-terminated s. */
struct cmdvalue cmdvalue_str(char *s);

/* A deep copy that owns its bytes (release it with cmdvalue_release). */
struct cmdvalue cmdvalue_copy(struct cmdvalue v);
/* Frees the bytes of an owned value and makes it CMDVALUE_NIL. */
void cmdvalue_release(struct cmdvalue *v);

/* Same kind and same payload (two NILs are equal), like Go's == on two
 * interface values. */
bool cmdvalue_equal(struct cmdvalue a, struct cmdvalue b);

/* Appends the wire form of a non-NIL value. */
void cmdvalue_encode(struct codec_buf *b, struct cmdvalue v);
/* Reads one value into *v (owned on success, NIL on error). A tag other than
 * CMDVALUE_INT or CMDVALUE_STR is CODEC_ERANGE. */
int cmdvalue_decode(struct codec_reader *r, struct cmdvalue *v);
/* Decodes exactly one value filling data[0..len-1] (strict: no trailing
 * bytes). Returns CODEC_OK or a CODEC_* error. */
int cmdvalue_from_bytes(const void *data, size_t len, struct cmdvalue *v);

/* Prints v as Go's %v does (ints in decimal, strings as themselves, NIL as
 * "<nil>"), cutting strings too long for CMDVALUE_FMT_SIZE with "...".
 * Returns buf. */
const char *cmdvalue_format(struct cmdvalue v, char buf[CMDVALUE_FMT_SIZE]);

#endif
