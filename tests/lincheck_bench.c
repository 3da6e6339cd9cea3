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
	int nkeys;
	int64_t spread;
	bool falsify; /* one read returns a value never written */
};

static const struct config configs[] = {
        {"1 key, linearizable", 1, 300, false},
        {"10 keys, linearizable", 10, 300, false},
        {"1 key, one read falsified", 1, 300, true},
        {"10 keys, one read falsified", 10, 300, true},
        {"1 key, wide overlap", 1, 500, false},
        {"1 key, wide, falsified", 1, 500, true},
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
		lin_history_init(&h, OPS);
		lin_history_generate(&h, &rng, CLIENTS, OPS, c->nkeys,
		                     c->spread);
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
	printf("%-28s %6ld histories  %8.1f histories/s  %12.0f ops/s\n",
	       c->name, histories, (double)histories / secs,
	       (double)histories * OPS / secs);
	return true;
}

int main(void)
{
	uint64_t seed = prng_entropy_seed();
	printf("lincheck_bench: %d clients x %d operations per history, seed "
	       "%" PRIu64 "\n",
	       CLIENTS, OPS / CLIENTS, seed);
	bool ok = true;
	for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
		ok = run(&configs[i], seed + i) && ok;
	return ok ? 0 : 1;
}
