/*
 * lincheck_test.c: the linearizability checker's contract (lincheck.h), on
 * histories whose verdict is known: porcupine's register examples, hand-made
 * KV histories (stale reads, real-time order, concurrent appends), large
 * histories generated from a real linearization (and the same with one read
 * falsified), a history too hard for its time budget, and the HTML page.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labtime/labtime.h"
#include "lincheck/lincheck.h"
#include "prng/prng.h"
#include "runner/runner.h"
#include "tests/unit/lin_history.h"

enum { GET = LIN_KV_GET, PUT = LIN_KV_PUT, APPEND = LIN_KV_APPEND };

/* ---- a bare model: porcupine's integer register, with no partition, no
 * hash and no descriptions (so the checker's defaults are exercised) ---- */

struct reg_input {
	bool is_get;
	int value; /* for a put */
};

static void *reg_init(void)
{
	int *s = malloc(sizeof *s);
	if (!s)
		runner_fatalf("out of memory");
	*s = 0;
	return s;
}

static bool reg_step(const void *state, const void *input, const void *output,
                     const void **new_state)
{
	const int *st = state;
	const struct reg_input *in = input;
	if (in->is_get) {
		if (*(const int *)output != *st)
			return false;
		*new_state = st;
		return true;
	}
	int *next = malloc(sizeof *next);
	if (!next)
		return false; /* (a test-only model) */
	*next = in->value;
	*new_state = next;
	return true;
}

static bool reg_equal(const void *a, const void *b)
{
	return *(const int *)a == *(const int *)b;
}

static const struct lin_model reg_model = {
        .init = reg_init,
        .step = reg_step,
        .equal = reg_equal,
        .free_state = free,
};

/* ---- helpers ---- */

/* Checks with a generous budget: every history here takes well under a
 * second, so running out means the search has gone exponential. */
static void check_kv(const struct lin_history *h, enum lin_result want)
{
	int64_t budget_ms = (int64_t)(20000 * runner_time_scale());
	enum lin_result got =
	        lin_check(&lin_kv_model, h->ops, h->n, budget_ms, NULL);
	if (got != want)
		runner_fatalf("lin_check: got %s, want %s",
		              lin_result_name(got), lin_result_name(want));
}

/* The caller's index of the partition named name, or fails. */
static size_t partition_named(const struct lin_info *info, const char *name)
{
	for (size_t p = 0; p < lin_info_npartitions(info); p++)
		if (strcmp(lin_info_partition_name(info, p), name) == 0)
			return p;
	runner_fatalf("no partition named '%s'", name);
}

/* n concurrent appends of "a", "b", ... to key k by clients 0..n-1, all
 * called at 0 and returned at 100. */
static void add_concurrent_appends(struct lin_history *h, int n)
{
	for (int c = 0; c < n; c++) {
		char v[2] = {(char)('a' + c), 0};
		lin_history_add(h, c, 0, 100, APPEND, "k", v, NULL);
	}
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		runner_fatalf("cannot open %s: %s", path, strerror(errno));
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len - 1 == 0)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (!buf)
		runner_fatalf("out of memory");
	buf[len] = 0;
	return buf;
}

/* A fresh temporary file name (the file exists, empty). */
static void temp_path(char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, size, "%s/lincheck_test_XXXXXX", dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		runner_fatalf("mkstemp: %s", strerror(errno));
	close(fd);
}

/* ---- the empty history and porcupine's register examples ---- */

static void test_empty_history_is_linearizable(void)
{
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, NULL, 0, 0, &info), LIN_OK);
	CU_ASSERT_FATAL(info != NULL);
	CU_ASSERT_EQUAL(lin_info_npartitions(info), 0);
	lin_info_free(info);
}

/* porcupine's TestRegisterModel: put(100) overlaps two gets, one seeing 100
 * and one seeing the initial 0: the get of 0 goes first. */
static void test_register_put_overlapping_gets_ok(void)
{
	struct reg_input put100 = {false, 100}, get = {true, 0};
	int out100 = 100, out0 = 0;
	const struct lin_op ops[] = {
	        {0, 0, 100, &put100, NULL},
	        {1, 25, 75, &get, &out100},
	        {2, 30, 60, &get, &out0},
	};
	CU_ASSERT_EQUAL(lin_check(&reg_model, ops, 3, 0, NULL), LIN_OK);
}

/* porcupine's second register example: a get returns 200 (so the put took
 * effect by 30), then a later get returns the old 0. */
static void test_register_stale_read_illegal(void)
{
	struct reg_input put200 = {false, 200}, get = {true, 0};
	int out200 = 200, out0 = 0;
	const struct lin_op ops[] = {
	        {0, 0, 100, &put200, NULL},
	        {1, 10, 30, &get, &out200},
	        {2, 40, 90, &get, &out0},
	};
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check(&reg_model, ops, 3, 0, &info), LIN_ILLEGAL);
	CU_ASSERT_FATAL(info != NULL);
	CU_ASSERT_EQUAL(lin_info_npartitions(info), 1);
	CU_ASSERT_STRING_EQUAL(lin_info_partition_name(info, 0), "");
	CU_ASSERT_EQUAL(lin_info_failed_op(info, 0), 2);
	lin_info_free(info);
}

/* ---- hand-made KV histories ---- */

static void test_kv_sequential_history_ok(void)
{
	struct lin_history h;
	lin_history_init(&h, 8);
	lin_history_add(&h, 0, 0, 10, GET, "k", NULL, "");
	lin_history_add(&h, 0, 20, 30, PUT, "k", "1", NULL);
	lin_history_add(&h, 1, 40, 50, APPEND, "k", "2", NULL);
	lin_history_add(&h, 0, 60, 70, GET, "k", NULL, "12");
	lin_history_add(&h, 1, 80, 90, PUT, "k", "", NULL);
	lin_history_add(&h, 1, 100, 110, GET, "k", NULL, "");
	check_kv(&h, LIN_OK);
	lin_history_free(&h);
}

/* put 1, then put 2, then a get that returns 1: stale. The longest
 * linearizable prefix is the two puts and the get is the failed op. */
static void test_kv_stale_read_illegal(void)
{
	struct lin_history h;
	lin_history_init(&h, 3);
	size_t put1 = lin_history_add(&h, 0, 0, 10, PUT, "k", "1", NULL);
	size_t put2 = lin_history_add(&h, 1, 20, 30, PUT, "k", "2", NULL);
	size_t get = lin_history_add(&h, 2, 40, 50, GET, "k", NULL, "1");
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, h.ops, h.n, 0, &info),
	                LIN_ILLEGAL);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, 0), LIN_ILLEGAL);
	const size_t *seq;
	CU_ASSERT_EQUAL_FATAL(lin_info_longest(info, 0, &seq), 2);
	CU_ASSERT_EQUAL(seq[0], put1);
	CU_ASSERT_EQUAL(seq[1], put2);
	CU_ASSERT_EQUAL(lin_info_failed_op(info, 0), get);
	lin_info_free(info);
	lin_history_free(&h);
}

/* A get concurrent with a put may see either value, but once one read has
 * seen the new value a later read may not see the old one. */
static void test_kv_reads_during_put(void)
{
	struct lin_history h;
	lin_history_init(&h, 4);
	lin_history_add(&h, 0, 0, 100, PUT, "k", "x", NULL);
	lin_history_add(&h, 1, 10, 20, GET, "k", NULL, "");
	lin_history_add(&h, 1, 30, 40, GET, "k", NULL, "x");
	check_kv(&h, LIN_OK);
	size_t late = lin_history_add(&h, 1, 50, 60, GET, "k", NULL, "");
	check_kv(&h, LIN_ILLEGAL);
	lin_history_set_output(&h, late, "x");
	check_kv(&h, LIN_OK);
	lin_history_free(&h);
}

/* Appends that do not overlap take effect in real-time order. */
static void test_kv_real_time_order_illegal(void)
{
	struct lin_history h;
	lin_history_init(&h, 3);
	lin_history_add(&h, 0, 0, 10, APPEND, "k", "a", NULL);
	lin_history_add(&h, 1, 20, 30, APPEND, "k", "b", NULL);
	size_t get = lin_history_add(&h, 2, 40, 50, GET, "k", NULL, "ba");
	check_kv(&h, LIN_ILLEGAL);
	lin_history_set_output(&h, get, "ab");
	check_kv(&h, LIN_OK);
	lin_history_free(&h);
}

/* Operations that touch at one instant (one returns when the other is
 * called) count as concurrent, as in porcupine: either order is allowed. */
static void test_kv_touching_operations_are_concurrent(void)
{
	struct lin_history h;
	lin_history_init(&h, 2);
	lin_history_add(&h, 0, 0, 10, PUT, "k", "1", NULL);
	lin_history_add(&h, 1, 10, 20, GET, "k", NULL, "");
	check_kv(&h, LIN_OK);
	lin_history_free(&h);
}

/* Two overlapping appends may land in either order; a read must show both,
 * once each. Seeing "ba" needs the search to undo its first choice. */
static void test_concurrent_appends_ok(void)
{
	const char *legal[] = {"ab", "ba"};
	for (size_t i = 0; i < 2; i++) {
		struct lin_history h;
		lin_history_init(&h, 3);
		add_concurrent_appends(&h, 2);
		lin_history_add(&h, 2, 200, 210, GET, "k", NULL, legal[i]);
		check_kv(&h, LIN_OK);
		lin_history_free(&h);
	}
}

static void test_concurrent_appends_illegal(void)
{
	const char *illegal[] = {"a", "b", "aba", "abb", ""};
	for (size_t i = 0; i < sizeof illegal / sizeof illegal[0]; i++) {
		struct lin_history h;
		lin_history_init(&h, 3);
		add_concurrent_appends(&h, 2);
		lin_history_add(&h, 2, 200, 210, GET, "k", NULL, illegal[i]);
		check_kv(&h, LIN_ILLEGAL);
		lin_history_free(&h);
	}
}

/* Seven overlapping appends read back in the reverse of the order the
 * search tries first: OK only after deep backtracking. The same read with
 * one letter doubled is illegal, which takes the whole search space (7!
 * orders) to establish. */
static void test_many_concurrent_appends(void)
{
	struct lin_history h;
	lin_history_init(&h, 8);
	add_concurrent_appends(&h, 7);
	size_t get =
	        lin_history_add(&h, 7, 200, 210, GET, "k", NULL, "gfedcba");
	check_kv(&h, LIN_OK);
	lin_history_set_output(&h, get, "gfeddba");
	check_kv(&h, LIN_ILLEGAL);
	lin_history_free(&h);
}

/* Fourteen overlapping reads of "" and then a read of a value never
 * written. The reads commute, so the search meets the same configurations
 * again and again: the cache keeps it to the 2^14 sets of reads, where
 * without it the search would try all 14! orders. */
static void test_cache_prunes_commuting_reads(void)
{
	struct lin_history h;
	lin_history_init(&h, 15);
	for (int c = 0; c < 14; c++)
		lin_history_add(&h, c, 0, 100, GET, "k", NULL, "");
	lin_history_add(&h, 14, 200, 210, GET, "k", NULL, "never written");
	int64_t budget_ms = (int64_t)(10000 * runner_time_scale());
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, h.ops, h.n, budget_ms, NULL),
	                LIN_ILLEGAL);
	lin_history_free(&h);
}

/* Each key is checked on its own: every key legal is OK; one key illegal is
 * ILLEGAL, and the info says which, with partitions in key order. */
static void test_partitions_by_key(void)
{
	struct lin_history h;
	lin_history_init(&h, 6);
	lin_history_add(&h, 0, 0, 10, PUT, "b", "1", NULL);
	lin_history_add(&h, 1, 5, 15, PUT, "a", "1", NULL);
	lin_history_add(&h, 0, 20, 30, GET, "a", NULL, "1");
	size_t get_b = lin_history_add(&h, 1, 20, 30, GET, "b", NULL, "1");
	check_kv(&h, LIN_OK);

	lin_history_set_output(&h, get_b, "2");
	struct lin_info *info = NULL;
	struct lin_options full = {.full_report = true};
	CU_ASSERT_EQUAL(lin_check_with(&lin_kv_model, h.ops, h.n, &full, &info),
	                LIN_ILLEGAL);
	CU_ASSERT_EQUAL_FATAL(lin_info_npartitions(info), 2);
	CU_ASSERT_STRING_EQUAL(lin_info_partition_name(info, 0), "a");
	CU_ASSERT_STRING_EQUAL(lin_info_partition_name(info, 1), "b");
	CU_ASSERT_EQUAL(lin_info_partition_result(info, 0), LIN_OK);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, 1), LIN_ILLEGAL);
	CU_ASSERT_EQUAL(lin_info_failed_op(info, 0), LIN_NO_OP);
	CU_ASSERT_EQUAL(lin_info_failed_op(info, 1), get_b);
	const size_t *ops, *seq;
	CU_ASSERT_EQUAL(lin_info_partition_ops(info, 1, &ops), 2);
	CU_ASSERT_EQUAL(ops[0], 0);
	CU_ASSERT_EQUAL(ops[1], get_b);
	CU_ASSERT_EQUAL(lin_info_longest(info, 0, &seq), 2); /* all of a */
	lin_info_free(info);
	lin_history_free(&h);
}

/* ---- generated histories ---- */

/*
 * 10 clients x 1000 operations, one taking effect every 100 time units, each
 * called and returned up to 300 units around that point: about three
 * operations are in flight at any time, and each overlaps about six others.
 * (The search is exponential in the overlap, as porcupine's is: at 500 units
 * refuting a falsified read on one key takes from 0.1 s to several seconds,
 * too slow and too variable for a unit test under the sanitizers;
 * lincheck_bench measures that case.)
 */
enum {
	GEN_CLIENTS = 10,
	GEN_OPS = 10 * 1000,
	GEN_SPREAD = 300,
	GEN_PUT_PERCENT = 30,
};

static void generated(struct lin_history *h, int nkeys)
{
	struct prng rng;
	prng_seed(&rng, runner_seed());
	lin_history_init(h, GEN_OPS);
	lin_history_generate(h, &rng, GEN_CLIENTS, GEN_OPS, nkeys, GEN_SPREAD,
	                     GEN_PUT_PERCENT);
}

/* A read in the middle of the history, made to return a value no one
 * wrote. */
static void falsify_a_read(struct lin_history *h)
{
	for (size_t i = h->n / 2; i < h->n; i++) {
		if (h->in[i].op == GET) {
			lin_history_set_output(h, i, "never written");
			return;
		}
	}
	runner_fatalf("no get in the second half of the history");
}

static void test_generated_history_one_key_ok(void)
{
	struct lin_history h;
	generated(&h, 1);
	check_kv(&h, LIN_OK);
	lin_history_free(&h);
}

static void test_generated_history_ten_keys_ok(void)
{
	struct lin_history h;
	generated(&h, 10);
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, h.ops, h.n, 0, &info), LIN_OK);
	CU_ASSERT_EQUAL(lin_info_npartitions(info), 10);
	for (size_t p = 0; p < lin_info_npartitions(info); p++) {
		const size_t *ops, *seq;
		size_t n = lin_info_partition_ops(info, p, &ops);
		CU_ASSERT_EQUAL(lin_info_longest(info, p, &seq), n);
	}
	lin_info_free(info);
	lin_history_free(&h);
}

static void test_generated_history_falsified_read_illegal(void)
{
	for (int nkeys = 1; nkeys <= 10; nkeys += 9) {
		struct lin_history h;
		generated(&h, nkeys);
		falsify_a_read(&h);
		check_kv(&h, LIN_ILLEGAL);
		lin_history_free(&h);
	}
}

/* ---- the time budget ---- */

static void test_hard_history_times_out(void)
{
	struct lin_history h;
	lin_history_init(&h, 13);
	lin_history_add_hard_key(&h, "k", 0);
	struct lin_info *info = NULL;
	int64_t budget_ms = 100;
	int64_t start = labtime_now_ms();
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, h.ops, h.n, budget_ms, &info),
	                LIN_UNKNOWN);
	int64_t took = labtime_now_ms() - start;
	if (took > budget_ms + 1000 * runner_time_scale())
		runner_fatalf("a %lld ms budget took %lld ms",
		              (long long)budget_ms, (long long)took);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, 0), LIN_UNKNOWN);
	CU_ASSERT_EQUAL(lin_info_partition_stop(info, 0), LIN_STOP_TIME);
	CU_ASSERT_STRING_EQUAL(lin_stop_name(LIN_STOP_TIME), "time");
	CU_ASSERT_EQUAL(lin_info_failed_op(info, 0), LIN_NO_OP);
	lin_info_free(info);
	lin_history_free(&h);
}

/* An illegal key beats an undecided one. By default the illegal key stops
 * the hard one at once; in a full report both run, the hard one until the
 * budget runs out. */
static void test_illegal_wins_over_timeout(void)
{
	struct lin_history h;
	lin_history_init(&h, 16);
	lin_history_add_hard_key(&h, "k", 0);
	lin_history_add(&h, 0, 300, 310, PUT, "other", "1", NULL);
	lin_history_add(&h, 0, 320, 330, GET, "other", NULL, "2");

	int64_t start = labtime_now_ms();
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, h.ops, h.n, 60000, NULL),
	                LIN_ILLEGAL);
	int64_t took = labtime_now_ms() - start;
	if (took > 5000 * runner_time_scale())
		runner_fatalf("the illegal key did not stop the hard one "
		              "(%lld ms)",
		              (long long)took);

	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check(&lin_kv_model, h.ops, h.n, 60000, &info),
	                LIN_ILLEGAL);
	size_t k = partition_named(info, "k");
	size_t other = partition_named(info, "other");
	CU_ASSERT_EQUAL(lin_info_partition_result(info, k), LIN_UNKNOWN);
	CU_ASSERT_EQUAL(lin_info_partition_stop(info, k), LIN_STOP_ILLEGAL);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, other), LIN_ILLEGAL);
	CU_ASSERT_EQUAL(lin_info_partition_stop(info, other), LIN_STOP_NONE);
	lin_info_free(info);

	struct lin_options full = {.timeout_ms = 100, .full_report = true};
	CU_ASSERT_EQUAL(lin_check_with(&lin_kv_model, h.ops, h.n, &full, &info),
	                LIN_ILLEGAL);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, k), LIN_UNKNOWN);
	CU_ASSERT_EQUAL(lin_info_partition_stop(info, k), LIN_STOP_TIME);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, other), LIN_ILLEGAL);
	lin_info_free(info);
	lin_history_free(&h);
}

/* Fairness: three keys that cannot be decided within any budget here and
 * one illegal key. Whatever the key names, so wherever the illegal key
 * sorts among them, the check finds it: ILLEGAL, with the verdict in time
 * (were the hard keys searched first, it would be UNKNOWN). */
static void test_illegal_key_found_whatever_the_names(void)
{
	static const char *const names[4][4] = {
	        {"a", "b", "c", "d"}, /* the illegal key last, ... */
	        {"a", "b", "d", "c"},
	        {"a", "d", "b", "c"},
	        {"d", "a", "b", "c"}, /* ... and first */
	};
	int64_t budget_ms = (int64_t)(2000 * runner_time_scale());
	for (int order = 0; order < 4; order++) {
		struct lin_history h;
		lin_history_init(&h, 48);
		for (int k = 0; k < 3; k++)
			lin_history_add_hard_key(&h, names[order][k], 13 * k);
		const char *bad = names[order][3];
		lin_history_add(&h, 40, 300, 310, PUT, bad, "1", NULL);
		lin_history_add(&h, 40, 320, 330, GET, bad, NULL, "2");
		struct lin_info *info = NULL;
		enum lin_result r =
		        lin_check(&lin_kv_model, h.ops, h.n, budget_ms, &info);
		if (r != LIN_ILLEGAL)
			runner_fatalf("illegal key '%s' among three hard ones: "
			              "%s, want Illegal",
			              bad, lin_result_name(r));
		size_t p = partition_named(info, bad);
		CU_ASSERT_EQUAL(lin_info_partition_result(info, p),
		                LIN_ILLEGAL);
		lin_info_free(info);
		lin_history_free(&h);
	}
}

/* The memory limit: a hard key alone, with no time limit, stops when the
 * search holds 64 MiB, as LIN_UNKNOWN for memory; an easy key beside it
 * still gets its verdict, and the check's peak stays near the limit. */
static void test_memory_limit_stops_the_biggest_search(void)
{
	struct lin_history h;
	lin_history_init(&h, 16);
	lin_history_add_hard_key(&h, "hard", 0);
	lin_history_add(&h, 20, 300, 310, PUT, "easy", "1", NULL);
	lin_history_add(&h, 20, 320, 330, GET, "easy", NULL, "1");
	size_t limit = (size_t)64 << 20;
	struct lin_options opt = {.max_memory = limit};
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check_with(&lin_kv_model, h.ops, h.n, &opt, &info),
	                LIN_UNKNOWN);
	size_t hard = partition_named(info, "hard");
	size_t easy = partition_named(info, "easy");
	CU_ASSERT_EQUAL(lin_info_partition_result(info, hard), LIN_UNKNOWN);
	CU_ASSERT_EQUAL(lin_info_partition_stop(info, hard), LIN_STOP_MEMORY);
	CU_ASSERT_EQUAL(lin_info_partition_result(info, easy), LIN_OK);
	CU_ASSERT_EQUAL(lin_info_max_memory(info), limit);
	size_t peak = lin_info_peak_memory(info);
	/* (The search stops at the limit less a sixteenth, its headroom.) */
	if (peak < limit - limit / 16 || peak > limit + limit / 4)
		runner_fatalf("peak %zu bytes under a limit of %zu", peak,
		              limit);
	lin_info_free(info);
	lin_history_free(&h);
	CU_ASSERT(lin_default_max_memory() <= LIN_DEFAULT_MAX_MEMORY);
	CU_ASSERT(lin_default_max_memory() > 0);
}

/* ---- histories of events, and the register models ---- */

static struct lin_event call(int client, size_t id,
                             const struct lin_reg_input *in)
{
	return (struct lin_event){LIN_CALL, client, id, in};
}

static struct lin_event ret(int client, size_t id,
                            const struct lin_reg_output *out)
{
	return (struct lin_event){LIN_RETURN, client, id, out};
}

/* A write of 1 concurrent with reads of nil and of 1: legal (the register
 * starts as nil, the NULL state); a read of 2 is not, and the info names
 * it, as operation 2, the third call. */
static void test_events_register(void)
{
	struct lin_reg_input w1 = {LIN_REG_WRITE, 1, 0},
	                     rd = {LIN_REG_READ, 0, 0};
	struct lin_reg_output done = {.ok = true}, nil = {.nil = true},
	                      one = {.value = 1}, two = {.value = 2};
	struct lin_event ev[] = {
	        call(0, 10, &w1), call(1, 11, &rd),  ret(1, 11, &nil),
	        call(1, 12, &rd), ret(0, 10, &done), ret(1, 12, &one),
	};
	const char *error = "unset";
	CU_ASSERT_EQUAL(lin_check_events(&lin_register_model, ev, 6, NULL, NULL,
	                                 &error),
	                LIN_OK);
	CU_ASSERT_PTR_NULL(error);

	ev[5].value = &two;
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL(lin_check_events(&lin_register_model, ev, 6, NULL,
	                                 &info, &error),
	                LIN_ILLEGAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(info);
	size_t nops;
	const struct lin_op *ops = lin_info_ops(info, &nops);
	CU_ASSERT_EQUAL(nops, 3);
	CU_ASSERT_EQUAL(lin_info_failed_op(info, 0), 2);
	CU_ASSERT_EQUAL(ops[2].call_ns, 3); /* positions in the events */
	CU_ASSERT_EQUAL(ops[2].return_ns, 5);
	char *d = lin_register_model.describe_op(ops[2].input, ops[2].output);
	CU_ASSERT_STRING_EQUAL(d, "read() -> 2");
	free(d);
	lin_info_free(info);
}

/* A pending write (a call with no return) may take effect at any time
 * after its call, or never: reads of nil then 5 are legal, 5 then nil are
 * not. */
static void test_events_pending_operation(void)
{
	struct lin_reg_input w5 = {LIN_REG_WRITE, 5, 0},
	                     rd = {LIN_REG_READ, 0, 0};
	struct lin_reg_output nil = {.nil = true}, five = {.value = 5};
	struct lin_event ev[] = {
	        call(0, 1, &w5), call(1, 2, &rd),  ret(1, 2, &nil),
	        call(1, 3, &rd), ret(1, 3, &five),
	};
	CU_ASSERT_EQUAL(
	        lin_check_events(&lin_register_model, ev, 5, NULL, NULL, NULL),
	        LIN_OK);
	ev[2].value = &five;
	ev[4].value = &nil;
	CU_ASSERT_EQUAL(
	        lin_check_events(&lin_register_model, ev, 5, NULL, NULL, NULL),
	        LIN_ILLEGAL);
	/* Never taking effect is fine too. */
	ev[2].value = &nil;
	CU_ASSERT_EQUAL(
	        lin_check_events(&lin_register_model, ev, 5, NULL, NULL, NULL),
	        LIN_OK);
}

/* The compare-and-set register: of two concurrent cas from 1, one may
 * succeed and the other fail, not both succeed; an unknown one may have
 * succeeded. */
static void test_events_cas_register(void)
{
	struct lin_reg_input w1 = {LIN_REG_WRITE, 1, 0},
	                     c5 = {LIN_REG_CAS, 5, 1}, c7 = {LIN_REG_CAS, 7, 1},
	                     rd = {LIN_REG_READ, 0, 0};
	struct lin_reg_output done = {.ok = true}, failed = {.ok = false},
	                      seven = {.value = 7};
	struct lin_event ev[] = {
	        call(0, 1, &w1), ret(0, 1, &done), call(1, 2, &c5),
	        call(2, 3, &c7), ret(1, 2, &done), ret(2, 3, &failed),
	};
	CU_ASSERT_EQUAL(lin_check_events(&lin_cas_register_model, ev, 6, NULL,
	                                 NULL, NULL),
	                LIN_OK);
	ev[5].value = &done;
	CU_ASSERT_EQUAL(lin_check_events(&lin_cas_register_model, ev, 6, NULL,
	                                 NULL, NULL),
	                LIN_ILLEGAL);
	/* A cas(1, 7) whose outcome is unknown, then a read of 7: it
	 * happened. */
	struct lin_event ev2[] = {
	        call(0, 1, &w1), ret(0, 1, &done),  call(2, 3, &c7),
	        call(1, 4, &rd), ret(1, 4, &seven),
	};
	CU_ASSERT_EQUAL(lin_check_events(&lin_cas_register_model, ev2, 5, NULL,
	                                 NULL, NULL),
	                LIN_OK);
	/* The register model knows no cas. */
	CU_ASSERT_EQUAL(
	        lin_check_events(&lin_register_model, ev2, 5, NULL, NULL, NULL),
	        LIN_ILLEGAL);
}

/* Malformed event histories are refused with a reason, not checked. */
static void test_events_malformed(void)
{
	struct lin_reg_input rd = {LIN_REG_READ, 0, 0};
	struct lin_reg_output nil = {.nil = true};
	const char *error = NULL;
	struct lin_info *info = (void *)&error; /* must be set to NULL */
	struct lin_event early[] = {ret(0, 1, &nil), call(0, 1, &rd)};
	CU_ASSERT_EQUAL(lin_check_events(&lin_register_model, early, 2, NULL,
	                                 &info, &error),
	                LIN_UNKNOWN);
	CU_ASSERT_PTR_NULL(info);
	CU_ASSERT_STRING_EQUAL(error,
	                       "a return comes before its call, or has none");
	struct lin_event twice[] = {call(0, 1, &rd), call(1, 1, &rd)};
	CU_ASSERT_EQUAL(lin_check_events(&lin_register_model, twice, 2, NULL,
	                                 NULL, &error),
	                LIN_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(error, "two calls have one id");
	struct lin_event two_returns[] = {call(0, 1, &rd), ret(0, 1, &nil),
	                                  ret(0, 1, &nil)};
	CU_ASSERT_EQUAL(lin_check_events(&lin_register_model, two_returns, 3,
	                                 NULL, NULL, &error),
	                LIN_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(error, "a call returns twice");
}

/* ---- the HTML page ---- */

static void test_visualization_names_keys_and_failed_op(void)
{
	struct lin_history h;
	lin_history_init(&h, 8);
	lin_history_add(&h, 0, 0, 10, PUT, "apple", "red", NULL);
	lin_history_add(&h, 1, 5, 25, APPEND, "apple", " <b>", NULL);
	lin_history_add(&h, 2, 30, 40, GET, "apple", NULL, "red <b>");
	lin_history_add(&h, 0, 0, 10, PUT, "banana", "yellow", NULL);
	lin_history_add(&h, 1, 30, 40, GET, "banana", NULL, "green");
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL_FATAL(lin_check(&lin_kv_model, h.ops, h.n, 0, &info),
	                      LIN_ILLEGAL);

	char path[256];
	temp_path(path, sizeof path);
	CU_ASSERT_EQUAL_FATAL(lin_visualize_html(&lin_kv_model, info, path), 0);
	char *html = read_file(path);
	CU_ASSERT(strstr(html, "<!DOCTYPE html>") != NULL);
	CU_ASSERT(strstr(html, "\"apple\"") != NULL);
	CU_ASSERT(strstr(html, "\"banana\"") != NULL);
	CU_ASSERT(strstr(html, "get('banana') -> 'green'") != NULL);
	CU_ASSERT(strstr(html, "\"failed\":1}") != NULL); /* in banana */
	CU_ASSERT(strstr(html, "\"state\":\"yellow\"") != NULL);
	/* A value cannot close the script: '<' is escaped. */
	CU_ASSERT(strstr(html, "red \\u003cb>") != NULL);
	CU_ASSERT(strstr(html, "<b>") == NULL);
	CU_ASSERT(strstr(html, "http") == NULL); /* nothing to fetch */
	free(html);
	unlink(path);
	lin_info_free(info);
	lin_history_free(&h);
}

static char *history_line(size_t op, void *arg)
{
	(void)arg;
	if (op == 1)
		return NULL; /* no label for this one */
	char *s = malloc(32);
	snprintf(s, 32, "line %zu", 10 + op);
	return s;
}

/* Each operation is named by its client and its number among the client's
 * operations, and by the caller's label where it gives one. */
static void test_visualization_names_where_ops_came_from(void)
{
	struct lin_history h;
	lin_history_init(&h, 8);
	lin_history_add(&h, 7, 0, 10, PUT, "k", "a", NULL);
	lin_history_add(&h, 3, 5, 25, APPEND, "k", "b", NULL);
	lin_history_add(&h, 7, 30, 40, GET, "k", NULL, "ab");
	lin_history_add(&h, 7, 50, 60, GET, "k", NULL, "zz");
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL_FATAL(lin_check(&lin_kv_model, h.ops, h.n, 0, &info),
	                      LIN_ILLEGAL);
	char path[256];
	temp_path(path, sizeof path);
	CU_ASSERT_EQUAL_FATAL(lin_visualize_html_from(&lin_kv_model, info, path,
	                                              history_line, NULL),
	                      0);
	char *html = read_file(path);
	/* Client 7's third operation is the get that returned "zz". */
	CU_ASSERT(strstr(html, "\"client\":7,") != NULL);
	CU_ASSERT(strstr(html, "\"idx\":3,\"origin\":\"line 13\","
	                       "\"desc\":\"get('k') -> 'zz'\"") != NULL);
	CU_ASSERT(strstr(html, "\"idx\":1,\"desc\":\"append('k', 'b')\"") !=
	          NULL);
	CU_ASSERT(strstr(html, "\"failed\":3}") != NULL);
	free(html);
	unlink(path);
	lin_info_free(info);
	lin_history_free(&h);
}

/* The page is declared UTF-8: a byte that is not becomes U+FFFD, and
 * UTF-8 passes as it is. */
static void test_visualization_replaces_bytes_that_are_not_utf8(void)
{
	struct lin_history h;
	lin_history_init(&h, 4);
	lin_history_add(&h, 0, 0, 10, PUT, "k", "caf\xc3\xa9 \xff\xc3", NULL);
	lin_history_add(&h, 1, 20, 30, GET, "k", NULL, "\xed\xa0\x80");
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL_FATAL(lin_check(&lin_kv_model, h.ops, h.n, 0, &info),
	                      LIN_ILLEGAL);
	char path[256];
	temp_path(path, sizeof path);
	CU_ASSERT_EQUAL_FATAL(lin_visualize_html(&lin_kv_model, info, path), 0);
	char *html = read_file(path);
	CU_ASSERT(strstr(html, "put('k', 'caf\xc3\xa9 \\ufffd\\ufffd')") !=
	          NULL);
	CU_ASSERT(strstr(html, "-> '\\ufffd\\ufffd\\ufffd'") != NULL);
	CU_ASSERT(strchr(html, '\xff') == NULL);
	CU_ASSERT(strstr(html, "\xed\xa0") == NULL);
	free(html);
	unlink(path);
	lin_info_free(info);
	lin_history_free(&h);
}

static void test_visualization_of_bare_model_uses_defaults(void)
{
	struct reg_input put = {false, 1}, get = {true, 0};
	int out2 = 2;
	const struct lin_op ops[] = {
	        {0, 0, 10, &put, NULL},
	        {1, 20, 30, &get, &out2},
	};
	struct lin_info *info = NULL;
	CU_ASSERT_EQUAL_FATAL(lin_check(&reg_model, ops, 2, 0, &info),
	                      LIN_ILLEGAL);
	char path[256];
	temp_path(path, sizeof path);
	CU_ASSERT_EQUAL(lin_visualize_html(&reg_model, info, path), 0);
	char *html = read_file(path);
	CU_ASSERT(strstr(html, "\"op 1\"") != NULL);
	free(html);
	unlink(path);
	CU_ASSERT(lin_visualize_html(&reg_model, info,
	                             "/nonexistent-dir/x.html") < 0);
	lin_info_free(info);
}

static const struct runner_test tests[] = {
        {"TestEmptyHistoryIsLinearizable", test_empty_history_is_linearizable,
         0},
        {"TestRegisterPutOverlappingGetsOk",
         test_register_put_overlapping_gets_ok, 0},
        {"TestRegisterStaleReadIllegal", test_register_stale_read_illegal, 0},
        {"TestKvSequentialHistoryOk", test_kv_sequential_history_ok, 0},
        {"TestKvStaleReadIllegal", test_kv_stale_read_illegal, 0},
        {"TestKvReadsDuringPut", test_kv_reads_during_put, 0},
        {"TestKvRealTimeOrderIllegal", test_kv_real_time_order_illegal, 0},
        {"TestKvTouchingOperationsAreConcurrent",
         test_kv_touching_operations_are_concurrent, 0},
        {"TestConcurrentAppendsOk", test_concurrent_appends_ok, 0},
        {"TestConcurrentAppendsIllegal", test_concurrent_appends_illegal, 0},
        {"TestManyConcurrentAppends", test_many_concurrent_appends, 0},
        {"TestCachePrunesCommutingReads", test_cache_prunes_commuting_reads, 0},
        {"TestPartitionsByKey", test_partitions_by_key, 0},
        {"TestGeneratedHistoryOneKeyOk", test_generated_history_one_key_ok, 0},
        {"TestGeneratedHistoryTenKeysOk", test_generated_history_ten_keys_ok,
         0},
        {"TestGeneratedHistoryFalsifiedReadIllegal",
         test_generated_history_falsified_read_illegal, 0},
        {"TestHardHistoryTimesOut", test_hard_history_times_out, 0},
        {"TestIllegalWinsOverTimeout", test_illegal_wins_over_timeout, 0},
        {"TestVisualizationNamesKeysAndFailedOp",
         test_visualization_names_keys_and_failed_op, 0},
        {"TestEventsRegister", test_events_register, 0},
        {"TestEventsPendingOperation", test_events_pending_operation, 0},
        {"TestEventsCasRegister", test_events_cas_register, 0},
        {"TestEventsMalformed", test_events_malformed, 0},
        {"TestIllegalKeyFoundWhateverTheNames",
         test_illegal_key_found_whatever_the_names, 0},
        {"TestMemoryLimitStopsTheBiggestSearch",
         test_memory_limit_stops_the_biggest_search, 0},
        {"TestVisualizationReplacesBytesThatAreNotUtf8",
         test_visualization_replaces_bytes_that_are_not_utf8, 0},
        {"TestVisualizationNamesWhereOpsCameFrom",
         test_visualization_names_where_ops_came_from, 0},
        {"TestVisualizationOfBareModelUsesDefaults",
         test_visualization_of_bare_model_uses_defaults, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "lincheck", tests,
	                   sizeof tests / sizeof tests[0]);
}
