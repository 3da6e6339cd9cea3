/*
 * lincheck_bench.c: how fast the linearizability checker is on generated
 * key/value histories of 10 clients x 1000 operations (the shape of
 * lincheck_test's generated tests), over 1 key and over 10 keys, legal and
 * with one read falsified, then on one key with a wider overlap. Prints
 * histories checked per second and operations checked per second. Then the
 * bounds: how long an illegal key takes to be found behind three keys whose
 * search never ends, in each place among their names; how close a check
 * ends to its time budget; and the memory a search under a memory limit
 * holds at most. Not a test: it needs no CUnit, but it exits 1 if a verdict
 * is wrong.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "labtime/labtime.h"
#include "lincheck/lincheck.h"
#include "prng/prng.h"
#include "tests/unit/lin_history.h"

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

		/* Speed, not bounds: no time limit, memory enough for
		 * the rare history that needs gigabytes. */
		struct lin_options unbounded = {.max_memory = (size_t)16 << 30};
		int64_t start = labtime_now_ns();
		enum lin_result got = lin_check_with(&lin_kv_model, h.ops, h.n,
		                                     &unbounded, NULL);
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

/* ---- the bounds ---- */

static double mib(size_t bytes)
{
	return (double)bytes / (1 << 20);
}

/* Three hard keys and an illegal one, named so that the illegal one ("d")
 * sorts first, second, third and last; a 10 s budget. */
static bool bench_hard_and_illegal(void)
{
	static const char *const names[4][4] = {
	        {"e", "f", "g", "d"},
	        {"a", "e", "f", "d"},
	        {"a", "b", "e", "d"},
	        {"a", "b", "c", "d"},
	};
	bool ok = true;
	for (int order = 0; order < 4; order++) {
		struct lin_history h;
		lin_history_init(&h, 48);
		for (int k = 0; k < 3; k++)
			lin_history_add_hard_key(&h, names[order][k], 13 * k);
		const char *bad = names[order][3];
		lin_history_add(&h, 40, 300, 310, LIN_KV_PUT, bad, "1", NULL);
		lin_history_add(&h, 40, 320, 330, LIN_KV_GET, bad, NULL, "2");
		struct lin_info *info = NULL;
		int64_t start = labtime_now_ns();
		enum lin_result r =
		        lin_check(&lin_kv_model, h.ops, h.n, 10000, &info);
		double ms = (double)(labtime_now_ns() - start) / 1e6;
		printf("3 hard keys + 1 illegal (%d of 4)  %-8s in %8.1f ms, "
		       "peak %7.1f MiB\n",
		       order + 1, lin_result_name(r), ms,
		       mib(lin_info_peak_memory(info)));
		if (r != LIN_ILLEGAL) {
			fprintf(stderr, "  want Illegal\n");
			ok = false;
		}
		lin_info_free(info);
		lin_history_free(&h);
	}
	return ok;
}

/* Checks one hard key under opt; sets *ms to how long that took and *info
 * to what it learnt (the caller frees it, then h). */
static enum lin_result check_hard_key(struct lin_history *h,
                                      const struct lin_options *opt, double *ms,
                                      struct lin_info **info)
{
	lin_history_init(h, 16);
	lin_history_add_hard_key(h, "k", 0);
	int64_t start = labtime_now_ns();
	enum lin_result r =
	        lin_check_with(&lin_kv_model, h->ops, h->n, opt, info);
	*ms = (double)(labtime_now_ns() - start) / 1e6;
	return r;
}

/* One hard key against budgets, with memory enough for them: how far past
 * (or short of) the budget the check returns, freeing included. */
static bool bench_budget(int64_t budget_ms)
{
	struct lin_history h;
	struct lin_options opt = {.timeout_ms = budget_ms,
	                          .max_memory = (size_t)8 << 30};
	struct lin_info *info = NULL;
	double ms;
	enum lin_result r = check_hard_key(&h, &opt, &ms, &info);
	printf("1 hard key, %5lld ms budget        %-8s in %8.1f ms (%+.1f%%), "
	       "peak %7.1f MiB\n",
	       (long long)budget_ms, lin_result_name(r), ms,
	       100.0 * (ms - (double)budget_ms) / (double)budget_ms,
	       mib(lin_info_peak_memory(info)));
	lin_info_free(info);
	lin_history_free(&h);
	if (r != LIN_UNKNOWN) {
		fprintf(stderr, "  want Unknown\n");
		return false;
	}
	return true;
}

/* One hard key under a memory limit and no time limit. */
static bool bench_memory(size_t limit)
{
	struct lin_history h;
	struct lin_options opt = {.max_memory = limit};
	struct lin_info *info = NULL;
	double ms;
	enum lin_result r = check_hard_key(&h, &opt, &ms, &info);
	printf("1 hard key, %4.0f MiB limit         %-8s in %8.1f ms, "
	       "peak %7.1f MiB (%s)\n",
	       mib(limit), lin_result_name(r), ms,
	       mib(lin_info_peak_memory(info)),
	       lin_stop_name(lin_info_partition_stop(info, 0)));
	bool ok = r == LIN_UNKNOWN &&
	          lin_info_partition_stop(info, 0) == LIN_STOP_MEMORY;
	if (!ok)
		fprintf(stderr, "  want Unknown, out of memory\n");
	lin_info_free(info);
	lin_history_free(&h);
	return ok;
}

/* ---- a compare-and-set register under many failures ---- */

/* One operation of a generated register history. */
struct reg_op {
	int process;
	int64_t call, lin, ret; /* ret < 0: crashed (:info), no return */
	struct lin_reg_input in;
	struct lin_reg_output out;
};

struct reg_event {
	int64_t time;
	int is_return;
	size_t op;
};

static int reg_event_cmp(const void *a, const void *b)
{
	const struct reg_event *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->is_return - y->is_return;
}

static int reg_op_by_lin(const void *a, const void *b)
{
	const struct reg_op *x = *(struct reg_op *const *)a;
	const struct reg_op *y = *(struct reg_op *const *)b;
	return x->lin < y->lin ? -1 : x->lin > y->lin;
}

/*
 * nprocs clients run nops reads, writes and cas of values 0-4 on one
 * register; each takes effect at a random point between its call and its
 * return, and one in crash_every crashes (Jepsen's :info: no return, and
 * it takes effect or not, at random; the client comes back as a new
 * process). Returns the events, in time order, into *events.
 */
static size_t cas_history(struct prng *rng, int nprocs, size_t nops,
                          int crash_every, struct reg_op *ops,
                          struct lin_event *events)
{
	int64_t *free_at = calloc((size_t)nprocs, sizeof *free_at);
	int *id = calloc((size_t)nprocs, sizeof *id);
	for (int p = 0; p < nprocs; p++)
		id[p] = p;
	int next_id = nprocs;
	for (size_t k = 0; k < nops; k++) {
		int p = (int)prng_below(rng, nprocs);
		struct reg_op *o = &ops[k];
		o->process = id[p];
		o->call = free_at[p] + prng_below(rng, 50);
		o->lin = o->call + 1 + prng_below(rng, 100);
		o->ret = o->lin + 1 + prng_below(rng, 100);
		free_at[p] = o->ret;
		int f = (int)prng_below(rng, 3);
		o->in = (struct lin_reg_input){f, prng_below(rng, 5),
		                               prng_below(rng, 5)};
		if (prng_below(rng, crash_every) == 0) {
			o->ret = -1;
			id[p] = next_id++;
			if (prng_below(rng, 2) == 0)
				o->lin = -1; /* never took effect */
		}
	}
	/* The true register, in the order the operations took effect. */
	struct reg_op **by_lin = malloc(nops * sizeof *by_lin);
	for (size_t k = 0; k < nops; k++)
		by_lin[k] = &ops[k];
	qsort(by_lin, nops, sizeof *by_lin, reg_op_by_lin);
	bool nil = true;
	int64_t value = 0;
	for (size_t k = 0; k < nops; k++) {
		struct reg_op *o = by_lin[k];
		if (o->lin < 0)
			continue;
		o->out = (struct lin_reg_output){.nil = nil, .value = value};
		if (o->in.op == LIN_REG_WRITE) {
			nil = false;
			value = o->in.value;
		} else if (o->in.op == LIN_REG_CAS) {
			o->out.ok = !nil && value == o->in.from;
			if (o->out.ok)
				value = o->in.value;
		}
	}
	free(by_lin);
	struct reg_event *ev = malloc(2 * nops * sizeof *ev);
	size_t n = 0;
	for (size_t k = 0; k < nops; k++) {
		/* A crashed read says nothing: left out, as Knossos does. */
		if (ops[k].ret < 0 && ops[k].in.op == LIN_REG_READ)
			continue;
		ev[n++] = (struct reg_event){ops[k].call, 0, k};
		if (ops[k].ret >= 0)
			ev[n++] = (struct reg_event){ops[k].ret, 1, k};
	}
	qsort(ev, n, sizeof *ev, reg_event_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct reg_op *o = &ops[ev[i].op];
		events[i] = (struct lin_event){
		        ev[i].is_return ? LIN_RETURN : LIN_CALL, o->process,
		        ev[i].op,
		        ev[i].is_return ? (const void *)&o->out
		                        : (const void *)&o->in};
	}
	free(ev);
	free(free_at);
	free(id);
	return n;
}

static bool bench_cas(int nprocs, size_t nops, int crash_every, bool falsify,
                      uint64_t seed)
{
	struct prng rng;
	prng_seed(&rng, seed);
	struct reg_op *ops = calloc(nops, sizeof *ops);
	struct lin_event *events = malloc(2 * nops * sizeof *events);
	size_t n = cas_history(&rng, nprocs, nops, crash_every, ops, events);
	if (falsify) { /* a read in the second half sees a value never written
		        */
		for (size_t k = nops / 2; k < nops; k++) {
			if (ops[k].in.op == LIN_REG_READ && ops[k].ret >= 0) {
				ops[k].out =
				        (struct lin_reg_output){.value = 99};
				break;
			}
		}
	}
	struct lin_options opt = {.timeout_ms = 10000};
	struct lin_info *info = NULL;
	int64_t start = labtime_now_ns();
	enum lin_result r = lin_check_events(&lin_cas_register_model, events, n,
	                                     &opt, &info, NULL);
	double ms = (double)(labtime_now_ns() - start) / 1e6;
	size_t crashed = 0;
	for (size_t k = 0; k < nops; k++)
		crashed += ops[k].ret < 0;
	printf("cas register, %d clients, %zu ops, %zu crashed%s  %-8s in "
	       "%8.1f ms, peak %7.1f MiB\n",
	       nprocs, nops, crashed, falsify ? ", falsified" : "",
	       lin_result_name(r), ms,
	       info ? mib(lin_info_peak_memory(info)) : 0.0);
	/* Unknown is no wrong verdict: pending writes make the search
	 * exponential (each may take effect at any later point, or never). */
	enum lin_result want = falsify ? LIN_ILLEGAL : LIN_OK;
	bool ok = r == want || r == LIN_UNKNOWN;
	if (!ok)
		fprintf(stderr, "  want %s (seed %" PRIu64 ")\n",
		        lin_result_name(want), seed);
	lin_info_free(info);
	free(events);
	free(ops);
	return ok;
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
	printf("\nbounds: keys checked in turns, time budgets, memory "
	       "limits\n");
	ok = bench_hard_and_illegal() && ok;
	ok = bench_budget(100) && ok;
	ok = bench_budget(2000) && ok;
	ok = bench_budget(5000) && ok;
	ok = bench_budget(10000) && ok;
	ok = bench_memory((size_t)64 << 20) && ok;
	ok = bench_memory((size_t)512 << 20) && ok;
	printf("\ncompare-and-set register, 1 in 100 / 30 / 10 operations "
	       "crashed (pending: may take effect any time, or never), 10 s "
	       "budget\n");
	static const int crash_every[] = {100, 30, 10};
	for (size_t i = 0; i < 3; i++) {
		ok = bench_cas(5, 1000, crash_every[i], false, seed) && ok;
		ok = bench_cas(5, 1000, crash_every[i], true, seed) && ok;
	}
	return ok ? 0 : 1;
}
