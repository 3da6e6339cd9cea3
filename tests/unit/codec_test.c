/*
 * codec_test: unit tests of the wire format (codec/codec.h). Round trips of
 * every kind of value, including the extremes, then every way an input can be
 * malformed: each must yield its error code, never a crash, an out-of-bounds
 * read (ASan) or an allocation sized by an untrusted length field.
 */
#include "codec/codec.h"
#include "prng/prng.h"
#include "runner/runner.h"

#include <CUnit/CUnit.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- helpers ---- */

/* Encodes v alone and returns its encoding's length, copying the bytes to out
 * (which has room for a uvarint's 10). */
static size_t encode_uvarint(uint64_t v, uint8_t out[10])
{
	struct codec_buf b = {0};
	codec_put_uvarint(&b, v);
	size_t len = b.len;
	CU_ASSERT_FATAL(len >= 1 && len <= 10);
	memcpy(out, b.data, len);
	codec_buf_free(&b);
	return len;
}

/* Decodes in as exactly one uvarint: the whole input must be consumed. */
static int decode_uvarint(const uint8_t *in, size_t len, uint64_t *v)
{
	struct codec_reader r;
	codec_reader_init(&r, in, len);
	codec_get_uvarint(&r, v);
	return codec_finish(&r);
}

static bool is_zero(const void *p, size_t size)
{
	const uint8_t *bytes = p;
	for (size_t i = 0; i < size; i++)
		if (bytes[i] != 0)
			return false;
	return true;
}

/* ---- a sample message: Raft's AppendEntries arguments ---- */

struct sample_entry {
	int64_t term;
	uint8_t *command; /* owned; NUL-terminated by codec_get_bytes */
	size_t command_len;
};

struct sample_args {
	int64_t term;
	int leader;
	int64_t prev_log_index;
	int64_t prev_log_term;
	struct sample_entry *entries; /* owned */
	size_t nentries;
	int64_t leader_commit;
	bool heartbeat;
};

/* An entry needs at least its term and its command's length: 2 bytes. */
#define SAMPLE_ENTRY_MIN_SIZE 2

static int release_calls;

static void sample_encode(struct codec_buf *b, const void *value)
{
	const struct sample_args *a = value;
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
	codec_put_bool(b, a->heartbeat);
}

/* Reads every field and checks the sticky error once at the end, the way
 * codec.h suggests; it stops early only where a bad count would make it
 * allocate. */
static int sample_decode(struct codec_reader *r, void *value)
{
	struct sample_args *a = value;
	size_t n;
	codec_get_varint(r, &a->term);
	codec_get_int(r, &a->leader);
	codec_get_varint(r, &a->prev_log_index);
	codec_get_varint(r, &a->prev_log_term);
	if (codec_get_seq(r, &n, SAMPLE_ENTRY_MIN_SIZE) != CODEC_OK)
		return r->err;
	if (n > 0) {
		a->entries = calloc(n, sizeof *a->entries);
		CU_ASSERT_FATAL(a->entries != NULL);
		a->nentries = n;
	}
	for (size_t i = 0; i < n; i++) {
		codec_get_varint(r, &a->entries[i].term);
		codec_get_bytes(r, &a->entries[i].command,
		                &a->entries[i].command_len);
	}
	codec_get_varint(r, &a->leader_commit);
	codec_get_bool(r, &a->heartbeat);
	return r->err;
}

static void sample_release(void *value)
{
	struct sample_args *a = value;
	release_calls++;
	for (size_t i = 0; i < a->nentries; i++)
		free(a->entries[i].command);
	free(a->entries);
}

static const struct codec_type sample_type = {
        .name = "AppendEntriesArgs",
        .size = sizeof(struct sample_args),
        .encode = sample_encode,
        .decode = sample_decode,
        .release = sample_release,
};

/* A filled-in sample with three entries (one empty, one text, one binary)
 * pointing at static data: the test never frees it. */
static struct sample_args sample_value(void)
{
	static uint8_t text[] = "set x 1";
	static uint8_t binary[] = {0, 0xff, 0x80, 0, 1};
	static struct sample_entry entries[3];
	entries[0] = (struct sample_entry){1, NULL, 0};
	entries[1] = (struct sample_entry){2, text, sizeof text - 1};
	entries[2] = (struct sample_entry){INT64_MAX, binary, sizeof binary};
	return (struct sample_args){
	        .term = 300,
	        .leader = -1,
	        .prev_log_index = 1LL << 40,
	        .prev_log_term = INT64_MIN,
	        .entries = entries,
	        .nentries = 3,
	        .leader_commit = 127,
	        .heartbeat = true,
	};
}

static void assert_sample_equal(const struct sample_args *want,
                                const struct sample_args *got)
{
	CU_ASSERT_EQUAL(got->term, want->term);
	CU_ASSERT_EQUAL(got->leader, want->leader);
	CU_ASSERT_EQUAL(got->prev_log_index, want->prev_log_index);
	CU_ASSERT_EQUAL(got->prev_log_term, want->prev_log_term);
	CU_ASSERT_EQUAL(got->leader_commit, want->leader_commit);
	CU_ASSERT_EQUAL(got->heartbeat, want->heartbeat);
	CU_ASSERT_EQUAL_FATAL(got->nentries, want->nentries);
	for (size_t i = 0; i < want->nentries; i++) {
		const struct sample_entry *w = &want->entries[i],
		                          *g = &got->entries[i];
		CU_ASSERT_EQUAL(g->term, w->term);
		CU_ASSERT_EQUAL_FATAL(g->command_len, w->command_len);
		CU_ASSERT_FATAL(g->command != NULL);
		CU_ASSERT(w->command_len == 0 ||
		          memcmp(g->command, w->command, w->command_len) == 0);
		CU_ASSERT_EQUAL(g->command[g->command_len], '\0');
	}
}

static uint8_t *encode_sample(const struct sample_args *a, size_t *len)
{
	struct codec_buf b;
	codec_buf_init(&b);
	sample_type.encode(&b, a);
	return codec_buf_take(&b, len);
}

/* ---- round trips ---- */

/* Unsigned varints: 7 bits a byte, little-endian groups, high bit = "more". */
static void test_uvarint_round_trip(void)
{
	static const struct {
		uint64_t v;
		size_t len;
	} cases[] = {
	        {0, 1},           {1, 1},         {127, 1},
	        {128, 2},         {255, 2},       {300, 2},
	        {16383, 2},       {16384, 3},     {UINT32_MAX, 5},
	        {1ULL << 63, 10}, {INT64_MAX, 9}, {UINT64_MAX, 10},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t enc[10];
		uint64_t got = 1;
		size_t len = encode_uvarint(cases[i].v, enc);
		CU_ASSERT_EQUAL(len, cases[i].len);
		CU_ASSERT_EQUAL(decode_uvarint(enc, len, &got), CODEC_OK);
		CU_ASSERT_EQUAL(got, cases[i].v);
	}
	/* Every power of two and its neighbours. */
	for (int shift = 0; shift < 64; shift++) {
		for (int delta = -1; delta <= 1; delta++) {
			uint64_t v = (1ULL << shift) + (uint64_t)(int64_t)delta;
			uint8_t enc[10];
			uint64_t got = 0;
			size_t len = encode_uvarint(v, enc);
			CU_ASSERT_EQUAL(decode_uvarint(enc, len, &got),
			                CODEC_OK);
			CU_ASSERT_EQUAL(got, v);
		}
	}
	/* The exact bytes: 300 = 0b10_0101100 -> 0xac 0x02. */
	uint8_t enc[10];
	CU_ASSERT_EQUAL_FATAL(encode_uvarint(300, enc), 2);
	CU_ASSERT_EQUAL(enc[0], 0xac);
	CU_ASSERT_EQUAL(enc[1], 0x02);
	CU_ASSERT_EQUAL_FATAL(encode_uvarint(UINT64_MAX, enc), 10);
	CU_ASSERT_EQUAL(enc[9], 0x01);
}

/* Signed varints are zigzag-encoded: small magnitudes of either sign are
 * short (0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ...). */
static void test_varint_round_trip(void)
{
	static const struct {
		int64_t v;
		uint8_t first; /* the first encoded byte */
		size_t len;
	} cases[] = {
	        {0, 0x00, 1},
	        {-1, 0x01, 1},
	        {1, 0x02, 1},
	        {-2, 0x03, 1},
	        {63, 0x7e, 1},
	        {-64, 0x7f, 1},
	        {64, 0x80, 2},
	        {-65, 0x81, 2},
	        {INT64_MAX, 0xfe, 10},
	        {INT64_MIN, 0xff, 10},
	        {INT64_MIN + 1, 0xfd, 10},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct codec_buf b = {0};
		codec_put_varint(&b, cases[i].v);
		CU_ASSERT_EQUAL(b.len, cases[i].len);
		CU_ASSERT_EQUAL(b.data[0], cases[i].first);

		struct codec_reader r;
		int64_t got = 0;
		codec_reader_init(&r, b.data, b.len);
		CU_ASSERT_EQUAL(codec_get_varint(&r, &got), CODEC_OK);
		CU_ASSERT_EQUAL(got, cases[i].v);
		CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
		codec_buf_free(&b);
	}
}

static void test_int_round_trip(void)
{
	static const int values[] = {0, 1, -1, 127, -128, INT_MAX, INT_MIN};
	const size_t n = sizeof values / sizeof values[0];
	struct codec_buf b = {0};
	for (size_t i = 0; i < n; i++)
		codec_put_varint(&b, values[i]);

	struct codec_reader r;
	codec_reader_init(&r, b.data, b.len);
	for (size_t i = 0; i < n; i++) {
		int got = 42;
		CU_ASSERT_EQUAL(codec_get_int(&r, &got), CODEC_OK);
		CU_ASSERT_EQUAL(got, values[i]);
	}
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
	codec_buf_free(&b);
}

static void test_bool_round_trip(void)
{
	struct codec_buf b = {0};
	codec_put_bool(&b, true);
	codec_put_bool(&b, false);
	CU_ASSERT_EQUAL_FATAL(b.len, 2);
	CU_ASSERT_EQUAL(b.data[0], 1);
	CU_ASSERT_EQUAL(b.data[1], 0);

	struct codec_reader r;
	bool t = false, f = true;
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_bool(&r, &t), CODEC_OK);
	CU_ASSERT_EQUAL(codec_get_bool(&r, &f), CODEC_OK);
	CU_ASSERT(t);
	CU_ASSERT(!f);
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
	codec_buf_free(&b);
}

/* Byte strings: empty, text, binary with NULs, and 1 MiB. codec_get_bytes
 * copies and NUL-terminates; codec_get_bytes_view points into the input. */
static void test_bytes_round_trip(void)
{
	const size_t big_len = 1 << 20;
	uint8_t *big = malloc(big_len);
	CU_ASSERT_FATAL(big != NULL);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 131 + (i >> 8));
	static const uint8_t binary[] = {'a', 0, 'b', 0xff, 0};

	struct codec_buf b = {0};
	codec_put_bytes(&b, NULL, 0);
	codec_put_str(&b, "");
	codec_put_str(&b, "hello");
	codec_put_bytes(&b, binary, sizeof binary);
	codec_put_bytes(&b, big, big_len);
	CU_ASSERT_EQUAL(b.len, 1 + 1 + 6 + 6 + 3 + big_len);

	struct codec_reader r;
	uint8_t *got;
	size_t len;
	codec_reader_init(&r, b.data, b.len);

	CU_ASSERT_EQUAL(codec_get_bytes(&r, &got, &len), CODEC_OK);
	CU_ASSERT_FATAL(got != NULL); /* even empty strings are allocated */
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(got[0], '\0');
	free(got);

	const uint8_t *view;
	CU_ASSERT_EQUAL(codec_get_bytes_view(&r, &view, &len), CODEC_OK);
	CU_ASSERT_EQUAL(len, 0);

	CU_ASSERT_EQUAL(codec_get_bytes(&r, &got, &len), CODEC_OK);
	CU_ASSERT_FATAL(got != NULL);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_STRING_EQUAL((char *)got, "hello");
	free(got);

	CU_ASSERT_EQUAL(codec_get_bytes_view(&r, &view, &len), CODEC_OK);
	CU_ASSERT_EQUAL_FATAL(len, sizeof binary);
	CU_ASSERT(view > b.data && view < b.data + b.len);
	CU_ASSERT(memcmp(view, binary, len) == 0);

	CU_ASSERT_EQUAL(codec_get_bytes(&r, &got, &len), CODEC_OK);
	CU_ASSERT_FATAL(got != NULL);
	CU_ASSERT_EQUAL_FATAL(len, big_len);
	CU_ASSERT(memcmp(got, big, big_len) == 0);
	CU_ASSERT_EQUAL(got[big_len], '\0');
	free(got);

	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
	codec_buf_free(&b);
	free(big);
}

/* A sequence of sequences of sequences of byte strings: matrix[i] has i rows,
 * row j has j strings, string k is k bytes of 'a' + k. Row 0 is empty, and
 * the outer count (130) takes a 2-byte varint. */
static void test_nested_sequences_round_trip(void)
{
	const size_t outer = 130, max_rows = 6;
	struct codec_buf b = {0};
	uint8_t text[8];
	codec_put_seq(&b, outer);
	for (size_t i = 0; i < outer; i++) {
		size_t rows = i % max_rows;
		codec_put_seq(&b, rows);
		for (size_t j = 0; j < rows; j++) {
			codec_put_seq(&b, j);
			for (size_t k = 0; k < j; k++) {
				memset(text, 'a' + (int)k, k);
				codec_put_bytes(&b, text, k);
			}
		}
	}

	struct codec_reader r;
	size_t n;
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &n, 1), CODEC_OK);
	CU_ASSERT_EQUAL_FATAL(n, outer);
	for (size_t i = 0; i < outer; i++) {
		size_t rows, cols;
		CU_ASSERT_EQUAL(codec_get_seq(&r, &rows, 1), CODEC_OK);
		CU_ASSERT_EQUAL_FATAL(rows, i % max_rows);
		for (size_t j = 0; j < rows; j++) {
			CU_ASSERT_EQUAL(codec_get_seq(&r, &cols, 1), CODEC_OK);
			CU_ASSERT_EQUAL_FATAL(cols, j);
			for (size_t k = 0; k < cols; k++) {
				const uint8_t *s;
				size_t len;
				CU_ASSERT_EQUAL(
				        codec_get_bytes_view(&r, &s, &len),
				        CODEC_OK);
				CU_ASSERT_EQUAL_FATAL(len, k);
				memset(text, 'a' + (int)k, k);
				CU_ASSERT(memcmp(s, text, k) == 0);
			}
		}
	}
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
	codec_buf_free(&b);
}

/* A long random stream of values of random kinds decodes to what was put
 * (seeded by the runner, so a failure replays with -seed). */
static void test_random_stream_round_trip(void)
{
	enum { KIND_UVARINT, KIND_VARINT, KIND_BOOL, KIND_BYTES, NKINDS };
	const size_t n = 20000;
	struct prng rng;
	prng_seed(&rng, runner_seed());
	uint64_t *values = calloc(n, sizeof *values);
	uint8_t *kinds = calloc(n, 1);
	CU_ASSERT_FATAL(values != NULL && kinds != NULL);
	uint8_t pattern[64];
	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (uint8_t)(i * 7);

	struct codec_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		kinds[i] = (uint8_t)prng_below(&rng, NKINDS);
		/* Mostly small numbers, sometimes full 64-bit ones. */
		uint64_t v = prng_next(&rng) >> prng_below(&rng, 64);
		switch (kinds[i]) {
		case KIND_UVARINT:
			codec_put_uvarint(&b, v);
			break;
		case KIND_VARINT:
			codec_put_varint(&b, (int64_t)v);
			break;
		case KIND_BOOL:
			v &= 1;
			codec_put_bool(&b, v);
			break;
		case KIND_BYTES:
			v %= sizeof pattern + 1;
			codec_put_bytes(&b, pattern, v);
			break;
		}
		values[i] = v;
	}

	struct codec_reader r;
	codec_reader_init(&r, b.data, b.len);
	for (size_t i = 0; i < n; i++) {
		uint64_t u;
		int64_t s;
		bool t;
		const uint8_t *view;
		size_t len;
		switch (kinds[i]) {
		case KIND_UVARINT:
			CU_ASSERT_EQUAL_FATAL(codec_get_uvarint(&r, &u),
			                      CODEC_OK);
			CU_ASSERT_EQUAL_FATAL(u, values[i]);
			break;
		case KIND_VARINT:
			CU_ASSERT_EQUAL_FATAL(codec_get_varint(&r, &s),
			                      CODEC_OK);
			CU_ASSERT_EQUAL_FATAL(s, (int64_t)values[i]);
			break;
		case KIND_BOOL:
			CU_ASSERT_EQUAL_FATAL(codec_get_bool(&r, &t), CODEC_OK);
			CU_ASSERT_EQUAL_FATAL(t, values[i] == 1);
			break;
		case KIND_BYTES:
			CU_ASSERT_EQUAL_FATAL(
			        codec_get_bytes_view(&r, &view, &len),
			        CODEC_OK);
			CU_ASSERT_EQUAL_FATAL(len, values[i]);
			CU_ASSERT_FATAL(len == 0 ||
			                memcmp(view, pattern, len) == 0);
			break;
		}
	}
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
	codec_buf_free(&b);
	free(values);
	free(kinds);
}

/* A typed message survives codec_decode_message, which overwrites the whole
 * target (stale contents included) and leaves ownership with the caller. */
static void test_decode_message_round_trip(void)
{
	struct sample_args want = sample_value(), got;
	size_t len;
	uint8_t *msg = encode_sample(&want, &len);

	release_calls = 0;
	memset(&got, 0xaa, sizeof got);
	CU_ASSERT_EQUAL_FATAL(
	        codec_decode_message(&sample_type, msg, len, &got), CODEC_OK);
	assert_sample_equal(&want, &got);
	CU_ASSERT_EQUAL(release_calls, 0); /* success: the caller releases */
	sample_release(&got);

	/* No entries at all: entries stays NULL, nothing is allocated. */
	struct sample_args empty = {.term = 1};
	free(msg);
	msg = encode_sample(&empty, &len);
	memset(&got, 0xaa, sizeof got);
	CU_ASSERT_EQUAL(codec_decode_message(&sample_type, msg, len, &got),
	                CODEC_OK);
	CU_ASSERT_PTR_NULL(got.entries);
	assert_sample_equal(&empty, &got);
	sample_release(&got);
	free(msg);
}

/* The encoder's buffer grows geometrically: 1 MiB of single bytes costs a
 * logarithmic number of reallocations. */
static void test_buf_growth(void)
{
	const size_t n = 1 << 20;
	struct codec_buf b;
	size_t growths = 0, cap = 0;
	codec_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		codec_put_bool(&b, i & 1);
		if (b.cap != cap) {
			growths++;
			cap = b.cap;
		}
	}
	CU_ASSERT_EQUAL(b.len, n);
	CU_ASSERT(b.cap >= n && b.cap <= 2 * n);
	CU_ASSERT(growths <= 20);
	for (size_t i = 0; i < n; i++)
		if (b.data[i] != (i & 1))
			runner_fatalf("byte %zu is %d", i, b.data[i]);
	codec_buf_free(&b);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
}

/* codec_buf_take never returns NULL and always resets the buffer. */
static void test_buf_take(void)
{
	struct codec_buf b;
	size_t len = 99;
	codec_buf_init(&b);
	uint8_t *data = codec_buf_take(&b, &len);
	CU_ASSERT_PTR_NOT_NULL(data);
	CU_ASSERT_EQUAL(len, 0);
	free(data);

	codec_put_str(&b, "abc");
	data = codec_buf_take(&b, &len);
	CU_ASSERT_EQUAL_FATAL(len, 4);
	CU_ASSERT(memcmp(data,
	                 "\x03"
	                 "abc",
	                 4) == 0);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	CU_ASSERT_EQUAL(b.cap, 0);
	free(data);

	/* The reset buffer is usable again and freeing it twice is harmless. */
	codec_put_uvarint(&b, 1);
	CU_ASSERT_EQUAL(b.len, 1);
	codec_buf_free(&b);
	codec_buf_free(&b);
}

/* The encoder cannot fail, so a buffer that cannot grow ends the process
 * with "codec: out of memory" (checked here in a child process: a request
 * for SIZE_MAX more bytes can never be met). */
static void test_out_of_memory_aborts(void)
{
	int fds[2];
	CU_ASSERT_FATAL(pipe(fds) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct codec_buf b = {0};
		dup2(fds[1], STDERR_FILENO);
		codec_put_bool(&b, true);
		codec_put_bytes(&b, "", SIZE_MAX);
		_exit(0); /* not reached */
	}
	close(fds[1]);
	char msg[256] = "";
	size_t len = 0;
	ssize_t n;
	while (len < sizeof msg - 1 &&
	       (n = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0)
		len += (size_t)n;
	msg[len] = '\0';
	close(fds[0]);
	int status;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "codec: out of memory\n"));
}

/* ---- malformed input ---- */

/* Reads one value of every kind, as a decoder would, and finishes. */
static int decode_every_kind(const uint8_t *in, size_t len)
{
	struct codec_reader r;
	uint64_t u;
	int64_t s;
	int i;
	bool t;
	uint8_t *bytes;
	const uint8_t *view;
	size_t n, count;
	codec_reader_init(&r, in, len);
	codec_get_uvarint(&r, &u);
	codec_get_varint(&r, &s);
	codec_get_int(&r, &i);
	codec_get_bool(&r, &t);
	codec_get_bytes(&r, &bytes, &n);
	free(bytes);
	codec_get_bytes_view(&r, &view, &n);
	codec_get_seq(&r, &count, 1);
	for (size_t k = 0; k < count; k++)
		codec_get_uvarint(&r, &u);
	return codec_finish(&r);
}

/* Every proper prefix of a valid message is an error (ETRUNCATED, or
 * ELENGTH when the cut falls inside a byte string or sequence), never a
 * crash; a typed message comes back zeroed with its allocations released. */
static void test_truncated_inputs(void)
{
	struct codec_buf b = {0};
	codec_put_uvarint(&b, UINT64_MAX);
	codec_put_varint(&b, INT64_MIN);
	codec_put_varint(&b, INT_MIN);
	codec_put_bool(&b, true);
	codec_put_str(&b, "a command");
	codec_put_bytes(&b, "\0\1\2", 3);
	codec_put_seq(&b, 3);
	codec_put_uvarint(&b, 1);
	codec_put_uvarint(&b, 200);
	codec_put_uvarint(&b, 1ULL << 50);
	CU_ASSERT_EQUAL_FATAL(decode_every_kind(b.data, b.len), CODEC_OK);
	for (size_t cut = 0; cut < b.len; cut++) {
		/* A copy of exactly cut bytes, so ASan sees any overread. */
		uint8_t *prefix = malloc(cut ? cut : 1);
		CU_ASSERT_FATAL(prefix != NULL);
		memcpy(prefix, b.data, cut);
		int err = decode_every_kind(prefix, cut);
		if (err != CODEC_ETRUNCATED && err != CODEC_ELENGTH)
			runner_fatalf("cut at %zu of %zu: got %d (%s)", cut,
			              b.len, err, codec_strerror(err));
		free(prefix);
	}
	codec_buf_free(&b);

	struct sample_args want = sample_value(), got;
	size_t len;
	uint8_t *msg = encode_sample(&want, &len);
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *prefix = malloc(cut ? cut : 1);
		CU_ASSERT_FATAL(prefix != NULL);
		memcpy(prefix, msg, cut);
		release_calls = 0;
		memset(&got, 0xaa, sizeof got);
		int err = codec_decode_message(&sample_type, prefix, cut, &got);
		if (err != CODEC_ETRUNCATED && err != CODEC_ELENGTH)
			runner_fatalf("message cut at %zu of %zu: got %d (%s)",
			              cut, len, err, codec_strerror(err));
		CU_ASSERT_EQUAL(release_calls, 1);
		CU_ASSERT(is_zero(&got, sizeof got));
		free(prefix);
	}
	free(msg);
}

/* A uvarint has at most 10 bytes, and the 10th may only carry bit 63. */
static void test_overlong_varint(void)
{
	static const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	                                 0x80, 0x80, 0x80, 0x80, 0x00};
	static const uint8_t tenth_is_2[] = {0xff, 0xff, 0xff, 0xff, 0xff,
	                                     0xff, 0xff, 0xff, 0xff, 0x02};
	static const uint8_t tenth_is_1[] = {0xff, 0xff, 0xff, 0xff, 0xff,
	                                     0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t tenth_continues[] = {0x80, 0x80, 0x80, 0x80, 0x80,
	                                          0x80, 0x80, 0x80, 0x80, 0x81};
	uint64_t v = 1;
	CU_ASSERT_EQUAL(decode_uvarint(eleven, sizeof eleven, &v),
	                CODEC_EOVERFLOW);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(decode_uvarint(tenth_is_2, sizeof tenth_is_2, &v),
	                CODEC_EOVERFLOW);
	CU_ASSERT_EQUAL(
	        decode_uvarint(tenth_continues, sizeof tenth_continues, &v),
	        CODEC_EOVERFLOW);
	/* The largest legal value, 2^64-1, ends with a 10th byte of 1. */
	CU_ASSERT_EQUAL(decode_uvarint(tenth_is_1, sizeof tenth_is_1, &v),
	                CODEC_OK);
	CU_ASSERT_EQUAL(v, UINT64_MAX);

	/* The same limits hold for signed varints. */
	struct codec_reader r;
	int64_t s = 1;
	codec_reader_init(&r, tenth_is_2, sizeof tenth_is_2);
	CU_ASSERT_EQUAL(codec_get_varint(&r, &s), CODEC_EOVERFLOW);
	CU_ASSERT_EQUAL(s, 0);

	/* Non-minimal encodings within 10 bytes are accepted, as in Go's
	 * binary.Uvarint: 0x80 0x00 is a long way of writing 0. */
	static const uint8_t padded_zero[] = {0x80, 0x00};
	CU_ASSERT_EQUAL(decode_uvarint(padded_zero, sizeof padded_zero, &v),
	                CODEC_OK);
	CU_ASSERT_EQUAL(v, 0);
}

/* Length fields are checked against the input left before anything is
 * allocated. A decoder that believed them would try to malloc 2^64-1 or
 * 2^40 bytes here, which aborts the test (codec's out-of-memory abort, or
 * ASan's allocation-size error). */
static void test_huge_length(void)
{
	struct codec_buf b = {0};
	struct codec_reader r;
	uint8_t *bytes;
	const uint8_t *view;
	size_t len, count;
	static const uint64_t lengths[] = {UINT64_MAX, 1ULL << 63, 1ULL << 40,
	                                   4};

	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		codec_buf_free(&b);
		codec_put_uvarint(&b, lengths[i]);
		codec_put_str(&b, "ab"); /* 3 bytes left after the length */
		codec_reader_init(&r, b.data, b.len);
		CU_ASSERT_EQUAL(codec_get_bytes(&r, &bytes, &len),
		                CODEC_ELENGTH);
		CU_ASSERT_PTR_NULL(bytes);
		CU_ASSERT_EQUAL(len, 0);
		CU_ASSERT_EQUAL(r.pos, 0); /* a failed get reads nothing */
		codec_reader_init(&r, b.data, b.len);
		CU_ASSERT_EQUAL(codec_get_bytes_view(&r, &view, &len),
		                CODEC_ELENGTH);
		CU_ASSERT_PTR_NULL(view);
		codec_reader_init(&r, b.data, b.len);
		CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 1), CODEC_ELENGTH);
		CU_ASSERT_EQUAL(count, 0);
	}

	/* A length of exactly the bytes left is fine; one more is not. */
	codec_buf_free(&b);
	codec_put_seq(&b, 3);
	codec_put_str(&b, "ab");
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_bytes_view(&r, &view, &len), CODEC_OK);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 1), CODEC_OK);
	CU_ASSERT_EQUAL(count, 3);

	/* Sequence counts are checked as count * min_elem_size: 3 bytes hold
	 * one 3-byte element, not two 2-byte ones. */
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 3), CODEC_ELENGTH);
	codec_buf_free(&b);
	codec_put_seq(&b, 1);
	codec_put_str(&b, "ab");
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 3), CODEC_OK);
	CU_ASSERT_EQUAL(count, 1);
	/* A min_elem_size of 0 (a caller bug) counts as 1, never divides by 0.
	 */
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 0), CODEC_OK);
	CU_ASSERT_EQUAL(count, 1);

	/* ... without the product overflowing: 2^62 elements of 8 bytes would
	 * wrap to 0 in 64-bit arithmetic. */
	codec_buf_free(&b);
	codec_put_seq(&b, (size_t)1 << 62);
	codec_put_str(&b, "ab");
	codec_reader_init(&r, b.data, b.len);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 8), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(count, 0);

	/* A typed message with a huge entry count fails before its decoder can
	 * allocate the entries array. */
	codec_buf_free(&b);
	for (int i = 0; i < 4; i++)
		codec_put_varint(&b, 1);
	codec_put_seq(&b, SIZE_MAX);
	codec_put_varint(&b, 1);
	codec_put_bool(&b, false);
	struct sample_args got;
	CU_ASSERT_EQUAL(codec_decode_message(&sample_type, b.data, b.len, &got),
	                CODEC_ELENGTH);
	CU_ASSERT(is_zero(&got, sizeof got));
	codec_buf_free(&b);
}

static void test_bad_bool(void)
{
	static const uint8_t bytes[] = {0, 1, 2, 0xff};
	struct codec_reader r;
	bool v;
	for (size_t i = 0; i < sizeof bytes; i++) {
		codec_reader_init(&r, &bytes[i], 1);
		int want = bytes[i] <= 1 ? CODEC_OK : CODEC_EBOOL;
		CU_ASSERT_EQUAL(codec_get_bool(&r, &v), want);
		CU_ASSERT_EQUAL(codec_finish(&r), want);
	}
	codec_reader_init(&r, NULL, 0);
	CU_ASSERT_EQUAL(codec_get_bool(&r, &v), CODEC_ETRUNCATED);
}

/* codec_finish insists the whole input was consumed. */
static void test_trailing_bytes(void)
{
	struct codec_reader r;
	uint64_t v;
	static const uint8_t two[] = {5, 6};
	codec_reader_init(&r, two, sizeof two);
	CU_ASSERT_EQUAL(codec_get_uvarint(&r, &v), CODEC_OK);
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_ETRAILING);
	CU_ASSERT_EQUAL(codec_get_uvarint(&r, &v), CODEC_OK);
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);

	/* An empty input with nothing read is a complete (empty) message. */
	codec_reader_init(&r, NULL, 0);
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_OK);

	/* A typed message with one byte too many is rejected and released. */
	struct sample_args want = sample_value(), got;
	size_t len;
	uint8_t *msg = encode_sample(&want, &len);
	uint8_t *longer = malloc(len + 1);
	CU_ASSERT_FATAL(longer != NULL);
	memcpy(longer, msg, len);
	longer[len] = 0;
	release_calls = 0;
	CU_ASSERT_EQUAL(
	        codec_decode_message(&sample_type, longer, len + 1, &got),
	        CODEC_ETRAILING);
	CU_ASSERT_EQUAL(release_calls, 1);
	CU_ASSERT(is_zero(&got, sizeof got));
	free(longer);
	free(msg);
}

/* codec_get_int accepts exactly the values of an int. */
static void test_int_out_of_range(void)
{
	static const int64_t bad[] = {(int64_t)INT_MAX + 1,
	                              (int64_t)INT_MIN - 1, INT64_MAX,
	                              INT64_MIN};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct codec_buf b = {0};
		struct codec_reader r;
		int v = 7;
		codec_put_varint(&b, bad[i]);
		codec_reader_init(&r, b.data, b.len);
		CU_ASSERT_EQUAL(codec_get_int(&r, &v), CODEC_ERANGE);
		CU_ASSERT_EQUAL(v, 0);
		CU_ASSERT_EQUAL(r.pos, 0);
		CU_ASSERT_EQUAL(codec_finish(&r), CODEC_ERANGE);
		codec_buf_free(&b);
	}
}

/* After the first error every get returns it, reads nothing and zeroes its
 * outputs, and codec_finish reports that first error, not a later one. */
static void test_sticky_error(void)
{
	/* 7, then a sequence of 1 element that cannot hold 100 bytes. The
	 * bytes after the error, 0x01 0x01, would be a valid value of any
	 * kind for a reader that forgot it had failed. */
	static const uint8_t in[] = {7, 0x01, 0x01};
	static const uint8_t truncated[] = {0x80};
	struct codec_reader r;
	uint64_t u = 1;
	int64_t s = 1;
	int i = 1;
	bool t = true;
	uint8_t *bytes = (uint8_t *)in;
	const uint8_t *view = in;
	size_t len = 1, count = 1;

	codec_reader_init(&r, in, sizeof in);
	CU_ASSERT_EQUAL(codec_get_uvarint(&r, &u), CODEC_OK);
	CU_ASSERT_EQUAL(u, 7);
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 100), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(r.pos, 1);
	CU_ASSERT_EQUAL(codec_get_uvarint(&r, &u), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(codec_get_varint(&r, &s), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(codec_get_int(&r, &i), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(codec_get_bool(&r, &t), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(codec_get_bytes(&r, &bytes, &len), CODEC_ELENGTH);
	CU_ASSERT_PTR_NULL(bytes);
	CU_ASSERT_EQUAL(len, 0);
	len = 1;
	CU_ASSERT_EQUAL(codec_get_bytes_view(&r, &view, &len), CODEC_ELENGTH);
	count = 1;
	CU_ASSERT_EQUAL(codec_get_seq(&r, &count, 1), CODEC_ELENGTH);
	CU_ASSERT_EQUAL(u, 0);
	CU_ASSERT_EQUAL(s, 0);
	CU_ASSERT_EQUAL(i, 0);
	CU_ASSERT(!t);
	CU_ASSERT_PTR_NULL(view);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(count, 0);
	CU_ASSERT_EQUAL(r.pos, 1);
	CU_ASSERT_EQUAL(r.err, CODEC_ELENGTH);
	/* The first error, not ETRAILING for the bytes left unread. */
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_ELENGTH);

	/* A reader that ran out of input stays out of it. */
	codec_reader_init(&r, truncated, sizeof truncated);
	CU_ASSERT_EQUAL(codec_get_uvarint(&r, &u), CODEC_ETRUNCATED);
	CU_ASSERT_EQUAL(codec_get_bool(&r, &t), CODEC_ETRUNCATED);
	CU_ASSERT_EQUAL(codec_finish(&r), CODEC_ETRUNCATED);
}

/* Every code has its own message; unknown codes get a generic one. */
static void test_strerror(void)
{
	static const int codes[] = {
	        CODEC_OK,      CODEC_ETRUNCATED, CODEC_EOVERFLOW, CODEC_ERANGE,
	        CODEC_ELENGTH, CODEC_ETRAILING,  CODEC_EBOOL};
	const size_t n = sizeof codes / sizeof codes[0];
	const char *unknown = codec_strerror(-100);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
	CU_ASSERT_STRING_EQUAL(codec_strerror(1), unknown);
	CU_ASSERT_STRING_EQUAL(codec_strerror(-7), unknown);
	CU_ASSERT_STRING_EQUAL(codec_strerror(INT_MIN), unknown);
	CU_ASSERT_STRING_EQUAL(codec_strerror(INT_MAX), unknown);
	for (size_t i = 0; i < n; i++) {
		const char *msg = codec_strerror(codes[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		CU_ASSERT(msg[0] != '\0');
		CU_ASSERT(strcmp(msg, unknown) != 0);
		for (size_t j = 0; j < i; j++)
			CU_ASSERT(strcmp(msg, codec_strerror(codes[j])) != 0);
	}
	CU_ASSERT_STRING_EQUAL(codec_strerror(CODEC_EBOOL),
	                       "boolean byte other than 0 or 1");
}

/* A decode that fails halfway (bad bool after all entries were allocated)
 * is released by codec_decode_message; ASan's leak check proves the
 * release freed everything. */
static void test_decode_message_failure_releases(void)
{
	struct sample_args want = sample_value(), got;
	size_t len;
	uint8_t *msg = encode_sample(&want, &len);
	CU_ASSERT_EQUAL_FATAL(msg[len - 1], 1); /* heartbeat, the last field */
	msg[len - 1] = 2;
	release_calls = 0;
	CU_ASSERT_EQUAL(codec_decode_message(&sample_type, msg, len, &got),
	                CODEC_EBOOL);
	CU_ASSERT_EQUAL(release_calls, 1);
	CU_ASSERT(is_zero(&got, sizeof got));
	free(msg);
}

static const struct runner_test tests[] = {
        {"TestUvarintRoundTrip", test_uvarint_round_trip, 0},
        {"TestVarintRoundTrip", test_varint_round_trip, 0},
        {"TestIntRoundTrip", test_int_round_trip, 0},
        {"TestBoolRoundTrip", test_bool_round_trip, 0},
        {"TestBytesRoundTrip", test_bytes_round_trip, 0},
        {"TestNestedSequencesRoundTrip", test_nested_sequences_round_trip, 0},
        {"TestRandomStreamRoundTrip", test_random_stream_round_trip, 0},
        {"TestDecodeMessageRoundTrip", test_decode_message_round_trip, 0},
        {"TestBufGrowth", test_buf_growth, 0},
        {"TestBufTake", test_buf_take, 0},
        {"TestOutOfMemoryAborts", test_out_of_memory_aborts, 0},
        {"TestTruncatedInputs", test_truncated_inputs, 0},
        {"TestOverlongVarint", test_overlong_varint, 0},
        {"TestHugeLength", test_huge_length, 0},
        {"TestBadBool", test_bad_bool, 0},
        {"TestTrailingBytes", test_trailing_bytes, 0},
        {"TestIntOutOfRange", test_int_out_of_range, 0},
        {"TestStickyError", test_sticky_error, 0},
        {"TestStrerror", test_strerror, 0},
        {"TestDecodeMessageFailureReleases",
         test_decode_message_failure_releases, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "codec", tests,
	                   sizeof tests / sizeof tests[0]);
}
