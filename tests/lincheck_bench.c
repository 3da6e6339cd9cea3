/*
 * lincheck_bench.c: how fast the linearizability checker is on generated
 * key/value histories of 10 clients x 1000 operations (the shape of
 * lincheck_test's generated tests), over 1 key and over 10 keys, legal and
 * with one read falsified, then on one key with a wider overlap. Prints
 * histories checked per second and operations checked per second. Not a test:
 * it needs no CUnit, but it exits 1 if a verdict is wrong.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "labtime/labtime.h"
#include "lincheck/lincheck.h"
#include "prng/prng.h"
#include "tests/lin_history.h"

enum {
	CLIENTS = 10,
	OPS = 10 * 1000,
	MIN_HISTORIES = 5,  /* per configuration, and at least */
	MIN_TIME_MS = 2000, /* this long in the checker */
};

/* spread: how far calls and returns lie from the operation's linearization
 * point (one every 100 units): 300 as in lincheck_test (about 6 overlapping
 * operations each), 500 for a wider overlap (about 10). */
struct config {
	const char *name;
	int nclients;
	int nops;
	int nkeys;
	int64_t spread;
	int put_percent; /* of the writes; the others are appends */
	bool falsify;    /* one read returns a value never written */
};

/* The last two are the histories of kvraft's one-client tests: a fast
 * service makes tens of thousands of calls, appends and gets of one key
 * whose value grows to hundreds of kilobytes. */
static const struct config configs[] = {
        {"1 key, linearizable", CLIENTS, OPS, 1, 300, 30, false},
        {"10 keys, linearizable", CLIENTS, OPS, 10, 300, 30, false},
        {"1 key, one read falsified", CLIENTS, OPS, 1, 300, 30, true},
        {"10 keys, one read falsified", CLIENTS, OPS, 10, 300, 30, true},
        {"1 key, wide overlap", CLIENTS, OPS, 1, 500, 30, false},
        {"1 key, wide, falsified", CLIENTS, OPS, 1, 500, 30, true},
        {"1 client, 40000 appends/gets", 1, 40000, 1, 0, 0, false},
        {"1 client, appends, falsified", 1, 40000, 1, 0, 0, true},
};

static void falsify_a_read(struct lin_history *h)
{
	for (size_t i = h->n / 2; i < h->n; i++) {
		if (h->in[i].op == LIN_KV_GET) {
			lin_history_set_output(h, i, "never written");
			return;
		}
	}
}

/* Checks fresh histories until both minimums are met; returns false on a
 * wrong verdict. */
static bool run(const struct config *c, uint64_t seed)
{
	struct prng rng;
	prng_seed(&rng, seed);
	int64_t spent_ns = 0;
	long histories = 0;
	while (histories < MIN_HISTORIES ||
	       spent_ns < (int64_t)MIN_TIME_MS * 1000000) {
		struct lin_history h;
		lin_history_init(&h, (size_t)c->nops);
		lin_history_generate(&h, &rng, c->nclients, (size_t)c->nops,
		                     c->nkeys, c->spread, c->put_percent);
		if (c->falsify)
			falsify_a_read(&h);
		enum lin_result want = c->falsify ? LIN_ILLEGAL : LIN_OK;

		int64_t start = labtime_now_ns();
		enum lin_result got =
		        lin_check(&lin_kv_model, h.ops, h.n, 0, NULL);
		spent_ns += labtime_now_ns() - start;
		lin_history_free(&h);
		histories++;
		if (got != want) {
			fprintf(stderr,
			        "%s: got %s, want %s (seed %" PRIu64 ")\n",
			        c->name, lin_result_name(got),
			        lin_result_name(want), seed);
			return false;
		}
	}
	double secs = (double)spent_ns / 1e9;
	printf("%-30s %6ld histories  %8.1f histories/s  %12.0f ops/s\n",
	       c->name, histories, (double)histories / secs,
	       (double)histories * c->nops / secs);
	return true;
}

int main(void)
{
	uint64_t seed = prng_entropy_seed();
	printf("lincheck_bench: histories of %d clients x %d operations unless "
	       "said otherwise, seed %" PRIu64 "\n",
	       CLIENTS, OPS / CLIENTS, seed);
	bool ok = true;
	for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
		ok = run(&configs[i], seed + i) && ok;
	return ok ? 0 : 1;
}
