/*
 * codec_fuzz: the codec's fuzz target. libFuzzer (scripts/fuzz.sh) and the
 * corpus replayer (replay_main.c, run by `make unit`) both call
 * LLVMFuzzerTestOneInput. Each input is used twice:
 *
 *  1. as a program plus a stream: byte 0 gives the program's length n
 *     (1 + byte0 % 16), the next n bytes are operations (one get each, see
 *     run_op), and the rest is the stream they decode. The program repeats
 *     until the stream is consumed or a get fails, and after a failure runs
 *     once more. Every result is checked against a plain model of the wire
 *     rules and the codec's contract (sticky errors, zeroed outputs), and a
 *     stream that decodes cleanly is re-encoded and must decode to the same
 *     values.
 *  2. as a whole AppendEntries-like message for codec_decode_message. If it
 *     decodes, its re-encoding must decode to an equal value; if not, the
 *     value must come back zeroed.
 *
 * A broken invariant aborts with a message, which libFuzzer reports as a crash.
 */
#include "codec/codec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(cond)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail(__FILE__, __LINE__, #cond);                  \
	} while (0)

static _Noreturn void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "codec_fuzz: %s:%d: check failed: %s\n", file, line,
	        what);
	abort();
}

static bool is_zero(const void *p, size_t size)
{
	const uint8_t *bytes = p;
	for (size_t i = 0; i < size; i++)
		if (bytes[i] != 0)
			return false;
	return true;
}

/* ---- 1. programs of gets over a stream ---- */

/* An operation byte: the low 3 bits choose the get; for OP_SEQ the high 5
 * bits give min_elem_size - 1, and the elements are the operations that
 * follow it in the program. */
enum {
	OP_UVARINT,
	OP_VARINT,
	OP_INT,
	OP_BOOL,
	OP_BYTES,
	OP_BYTES_VIEW,
	OP_SEQ,
	OP_FINISH, /* codec_finish in mid-stream; reads nothing */
};

#define MAX_PROGRAM 16
#define MAX_DEPTH 8
/* Values logged and operations run per input: they bound the work that
 * nested sequences (and programs of OP_FINISH only) can ask for. */
#define MAX_VALUES 4096
#define MAX_STEPS (4 * MAX_VALUES)

/* One successfully decoded value, kept to re-encode the stream. */
struct value {
	uint8_t kind;
	uint64_t u;           /* uvarint, seq count, bool */
	int64_t s;            /* varint, int */
	const uint8_t *bytes; /* into the input */
	size_t len;
};

struct walk {
	struct codec_reader r;
	const uint8_t *ops;
	size_t nops;
	size_t pc; /* next operation, cycling through ops */
	size_t steps;
	bool exhausted; /* a budget ran out: the log is incomplete */
	struct value *log;
	size_t nlog;
};

/* The wire rules restated as plainly as possible, apart from the codec's
 * fast paths: every get must agree with this model on every input. */
struct expect {
	int rc;
	size_t len; /* bytes a successful get reads */
	uint64_t u; /* the value (or length or count) it yields */
};

/* A uvarint is the bytes up to the first one below 0x80, at most 10 of them,
 * whose value (folded in from the last byte back) fits in 64 bits. */
static int model_uvarint(const uint8_t *p, size_t avail, uint64_t *v,
                         size_t *len)
{
	size_t last = 0;
	while (last < avail && last < 10 && p[last] >= 0x80)
		last++;
	if (last == 10)
		return CODEC_EOVERFLOW;
	if (last == avail)
		return CODEC_ETRUNCATED;
	uint64_t x = 0;
	for (size_t i = last + 1; i-- > 0;) {
		if (x > UINT64_MAX >> 7)
			return CODEC_EOVERFLOW;
		x = x << 7 | (p[i] & 0x7f);
	}
	*v = x;
	*len = last + 1;
	return CODEC_OK;
}

static int64_t model_unzigzag(uint64_t u)
{
	return (u & 1) ? ~(int64_t)(u >> 1) : (int64_t)(u >> 1);
}

/* What a get of this kind must do at p, with avail bytes left. */
static struct expect model_get(int kind, size_t min_elem_size, const uint8_t *p,
                               size_t avail)
{
	struct expect m = {0, 0, 0};
	if (kind == OP_BOOL) {
		m.rc = avail == 0 ? CODEC_ETRUNCATED
		       : p[0] > 1 ? CODEC_EBOOL
		                  : CODEC_OK;
		m.len = 1;
		m.u = avail > 0 ? p[0] : 0;
		return m;
	}
	m.rc = model_uvarint(p, avail, &m.u, &m.len);
	if (m.rc != CODEC_OK)
		return m;
	size_t left = avail - m.len;
	switch (kind) {
	case OP_INT: {
		int64_t s = model_unzigzag(m.u);
		if (s < INT_MIN || s > INT_MAX)
			m.rc = CODEC_ERANGE;
		break;
	}
	case OP_BYTES:
	case OP_BYTES_VIEW:
		if (m.u > left)
			m.rc = CODEC_ELENGTH;
		else
			m.len += (size_t)m.u;
		break;
	case OP_SEQ:
		if (m.u > left / min_elem_size)
			m.rc = CODEC_ELENGTH;
		break;
	}
	return m;
}

static void run_op(struct walk *w, int depth)
{
	if (w->nlog == MAX_VALUES || w->steps == MAX_STEPS) {
		w->exhausted = true;
		return;
	}
	w->steps++;
	uint8_t op = w->ops[w->pc];
	w->pc = (w->pc + 1) % w->nops;
	/* A sequence's elements each read something (so each re-encodes to
	 * at least one byte), and nesting stops at MAX_DEPTH. */
	if (depth > 0 && ((op & 7) == OP_FINISH || depth >= MAX_DEPTH))
		op = OP_UVARINT;

	struct codec_reader *r = &w->r;
	struct value v = {.kind = op & 7};
	size_t min_elem_size = 1 + (op >> 3);
	size_t pos = r->pos;
	int err = r->err;
	int rc;

	switch (v.kind) {
	case OP_UVARINT:
		rc = codec_get_uvarint(r, &v.u);
		fuzz_check(rc == CODEC_OK || v.u == 0);
		break;
	case OP_VARINT:
		rc = codec_get_varint(r, &v.s);
		fuzz_check(rc == CODEC_OK || v.s == 0);
		break;
	case OP_INT: {
		int i;
		rc = codec_get_int(r, &i);
		fuzz_check(rc == CODEC_OK || i == 0);
		v.s = i;
		break;
	}
	case OP_BOOL: {
		bool b;
		rc = codec_get_bool(r, &b);
		fuzz_check(rc == CODEC_OK || !b);
		v.u = b;
		break;
	}
	case OP_BYTES: {
		uint8_t *copy;
		rc = codec_get_bytes(r, &copy, &v.len);
		if (rc != CODEC_OK) {
			fuzz_check(copy == NULL && v.len == 0);
			break;
		}
		fuzz_check(copy != NULL && copy[v.len] == '\0');
		/* The copy holds the last v.len bytes read. */
		v.bytes = r->data + r->pos - v.len;
		fuzz_check(v.len == 0 || memcmp(copy, v.bytes, v.len) == 0);
		free(copy);
		break;
	}
	case OP_BYTES_VIEW:
		rc = codec_get_bytes_view(r, &v.bytes, &v.len);
		if (rc != CODEC_OK)
			fuzz_check(v.bytes == NULL && v.len == 0);
		else
			fuzz_check(v.bytes + v.len == r->data + r->pos);
		break;
	case OP_SEQ: {
		size_t count;
		rc = codec_get_seq(r, &count, min_elem_size);
		fuzz_check(rc == CODEC_OK || count == 0);
		v.u = count;
		break;
	}
	default: /* OP_FINISH, at depth 0 only */
		rc = codec_finish(r);
		if (err != CODEC_OK)
			fuzz_check(rc == err);
		else if (r->pos == r->len)
			fuzz_check(rc == CODEC_OK);
		else
			fuzz_check(rc == CODEC_ETRAILING);
		return;
	}

	/* The contract every get shares: a reader in error stays in that
	 * error, a failed get reads nothing, and the position never passes
	 * the end. */
	fuzz_check(rc == r->err);
	fuzz_check(r->pos <= r->len);
	if (rc != CODEC_OK)
		fuzz_check(r->pos == pos);
	if (err != CODEC_OK) {
		fuzz_check(rc == err);
		return;
	}

	/* A reader in good standing does exactly what the model says. */
	struct expect m =
	        model_get(v.kind, min_elem_size, r->data + pos, r->len - pos);
	fuzz_check(rc == m.rc);
	if (rc != CODEC_OK)
		return;
	fuzz_check(r->pos - pos == m.len);
	switch (v.kind) {
	case OP_VARINT:
	case OP_INT:
		fuzz_check(v.s == model_unzigzag(m.u));
		break;
	case OP_BYTES:
	case OP_BYTES_VIEW:
		fuzz_check(v.len == m.u);
		break;
	default:
		fuzz_check(v.u == m.u);
		break;
	}

	w->log[w->nlog++] = v;
	/* A sequence's elements are the operations that follow it. */
	if (v.kind == OP_SEQ)
		for (uint64_t i = 0;
		     i < v.u && r->err == CODEC_OK && !w->exhausted; i++)
			run_op(w, depth + 1);
}

/* Re-encodes the logged values and decodes them again, in the same order
 * and with the same gets: each must come back unchanged. */
static void check_reencoding(const struct value *log, size_t nlog)
{
	struct codec_buf b;
	codec_buf_init(&b);
	for (size_t i = 0; i < nlog; i++) {
		const struct value *v = &log[i];
		switch (v->kind) {
		case OP_UVARINT:
			codec_put_uvarint(&b, v->u);
			break;
		case OP_VARINT:
		case OP_INT:
			codec_put_varint(&b, v->s);
			break;
		case OP_BOOL:
			codec_put_bool(&b, v->u);
			break;
		case OP_BYTES:
		case OP_BYTES_VIEW:
			codec_put_bytes(&b, v->bytes, v->len);
			break;
		case OP_SEQ:
			codec_put_seq(&b, v->u);
			break;
		}
	}

	struct codec_reader r;
	codec_reader_init(&r, b.data, b.len);
	for (size_t i = 0; i < nlog; i++) {
		const struct value *v = &log[i];
		uint64_t u;
		int64_t s;
		int n;
		bool t;
		const uint8_t *bytes;
		size_t len;
		switch (v->kind) {
		case OP_UVARINT:
			fuzz_check(codec_get_uvarint(&r, &u) == CODEC_OK &&
			           u == v->u);
			break;
		case OP_VARINT:
			fuzz_check(codec_get_varint(&r, &s) == CODEC_OK &&
			           s == v->s);
			break;
		case OP_INT:
			fuzz_check(codec_get_int(&r, &n) == CODEC_OK &&
			           n == v->s);
			break;
		case OP_BOOL:
			fuzz_check(codec_get_bool(&r, &t) == CODEC_OK &&
			           t == v->u);
			break;
		case OP_BYTES:
		case OP_BYTES_VIEW:
			fuzz_check(codec_get_bytes_view(&r, &bytes, &len) ==
			           CODEC_OK);
			fuzz_check(len == v->len);
			fuzz_check(len == 0 ||
			           memcmp(bytes, v->bytes, len) == 0);
			break;
		case OP_SEQ:
			/* Every element was at least one successful get, so at
			 * least one byte: a count checked with size 1 holds. */
			fuzz_check(codec_get_seq(&r, &len, 1) == CODEC_OK &&
			           len == v->u);
			break;
		}
	}
	fuzz_check(codec_finish(&r) == CODEC_OK);
	codec_buf_free(&b);
}

static void walk_stream(const uint8_t *data, size_t size)
{
	if (size == 0)
		return;
	size_t nops = 1 + data[0] % MAX_PROGRAM;
	if (nops > size - 1)
		return;
	/* Inputs run one at a time, so one log serves them all. */
	static struct value log[MAX_VALUES];
	struct walk w = {.ops = data + 1, .nops = nops, .log = log};
	codec_reader_init(&w.r, data + 1 + nops, size - 1 - nops);
	while (w.r.err == CODEC_OK && w.r.pos < w.r.len && !w.exhausted)
		run_op(&w, 0);
	if (w.r.err == CODEC_OK && !w.exhausted)
		check_reencoding(log, w.nlog);
	/* Once more through the program after an error: it must stick. */
	for (size_t i = 0; w.r.err != CODEC_OK && i < nops && !w.exhausted; i++)
		run_op(&w, 0);
}

/* ---- 2. a typed message: AppendEntries arguments ---- */

struct fuzz_entry {
	int64_t term;
	uint8_t *command;
	size_t command_len;
};

struct fuzz_append_args {
	int64_t term;
	int leader;
	int64_t prev_log_index;
	int64_t prev_log_term;
	struct fuzz_entry *entries;
	size_t nentries;
	int64_t leader_commit;
};

/* An entry is at least a 1-byte term and a 1-byte command length. */
#define ENTRY_MIN_SIZE 2

static void append_encode(struct codec_buf *b, const void *value)
{
	const struct fuzz_append_args *a = value;
	codec_put_varint(b, a->term);
	codec_put_varint(b, a->leader);
	codec_put_varint(b, a->prev_log_index);
	codec_put_varint(b, a->prev_log_term);
	codec_put_seq(b, a->nentries);
	for (size_t i = 0; i < a->nentries; i++) {
		codec_put_varint(b, a->entries[i].term);
		codec_put_bytes(b, a->entries[i].command,
		                a->entries[i].command_len);
	}
	codec_put_varint(b, a->leader_commit);
}

static int append_decode(struct codec_reader *r, void *value)
{
	struct fuzz_append_args *a = value;
	size_t n;
	codec_get_varint(r, &a->term);
	codec_get_int(r, &a->leader);
	codec_get_varint(r, &a->prev_log_index);
	codec_get_varint(r, &a->prev_log_term);
	if (codec_get_seq(r, &n, ENTRY_MIN_SIZE) != CODEC_OK)
		return r->err;
	if (n > 0) {
		a->entries = calloc(n, sizeof *a->entries);
		fuzz_check(a->entries != NULL);
		a->nentries = n;
	}
	for (size_t i = 0; i < n; i++) {
		codec_get_varint(r, &a->entries[i].term);
		codec_get_bytes(r, &a->entries[i].command,
		                &a->entries[i].command_len);
	}
	codec_get_varint(r, &a->leader_commit);
	return r->err;
}

static void append_release(void *value)
{
	struct fuzz_append_args *a = value;
	for (size_t i = 0; i < a->nentries; i++)
		free(a->entries[i].command);
	free(a->entries);
}

static const struct codec_type append_type = {
        .name = "AppendEntriesArgs",
        .size = sizeof(struct fuzz_append_args),
        .encode = append_encode,
        .decode = append_decode,
        .release = append_release,
};

static bool append_equal(const struct fuzz_append_args *x,
                         const struct fuzz_append_args *y)
{
	if (x->term != y->term || x->leader != y->leader ||
	    x->prev_log_index != y->prev_log_index ||
	    x->prev_log_term != y->prev_log_term ||
	    x->leader_commit != y->leader_commit || x->nentries != y->nentries)
		return false;
	for (size_t i = 0; i < x->nentries; i++) {
		const struct fuzz_entry *e = &x->entries[i],
		                        *f = &y->entries[i];
		if (e->term != f->term || e->command_len != f->command_len ||
		    memcmp(e->command, f->command, e->command_len + 1) != 0)
			return false;
	}
	return true;
}

static void decode_message(const uint8_t *data, size_t size)
{
	struct fuzz_append_args first, second;
	memset(&first, 0x5a,
	       sizeof first); /* stale contents must not survive */
	int rc = codec_decode_message(&append_type, data, size, &first);
	if (rc != CODEC_OK) {
		fuzz_check(rc < 0 && rc >= CODEC_EBOOL);
		fuzz_check(is_zero(&first, sizeof first));
		return;
	}

	struct codec_buf b;
	codec_buf_init(&b);
	append_type.encode(&b, &first);
	/* Re-encoding is minimal, so never longer than what was decoded. */
	fuzz_check(b.len <= size);
	rc = codec_decode_message(&append_type, b.data, b.len, &second);
	fuzz_check(rc == CODEC_OK);
	fuzz_check(append_equal(&first, &second));

	/* And minimal encodings are canonical: encoding again is identical. */
	struct codec_buf again;
	codec_buf_init(&again);
	append_type.encode(&again, &second);
	fuzz_check(again.len == b.len &&
	           memcmp(again.data, b.data, b.len) == 0);

	codec_buf_free(&again);
	codec_buf_free(&b);
	append_release(&second);
	append_release(&first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	walk_stream(data, size);
	decode_message(data, size);
	return 0;
}
