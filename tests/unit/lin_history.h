/*
 * lin_history: key/value histories for lincheck's tests and benchmark. A
 * history owns its operations, their lin_kv inputs and outputs and every
 * string they point to, and can be written by hand (lin_history_add) or
 * generated from a real linearization (lin_history_generate).
 *
 * Not for: the kvraft tester, which records its own history.
 */
#ifndef RAFTLAB_TESTS_LIN_HISTORY_H
#define RAFTLAB_TESTS_LIN_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "lincheck/lincheck.h"
#include "prng/prng.h"

struct lin_history {
	struct lin_op *ops; /* ops[i].input/output point into in/out */
	struct lin_kv_input *in;
	struct lin_kv_output *out;
	size_t n, cap;
	char **strings; /* owned copies of every key and value */
	size_t nstrings;
};

/* An empty history with room for cap operations (never more). */
void lin_history_init(struct lin_history *h, size_t cap);
void lin_history_free(struct lin_history *h);

/* Appends one operation; strings are copied. value may be NULL (get) and
 * output may be NULL (put, append). Returns its index. */
size_t lin_history_add(struct lin_history *h, int client, int64_t call,
                       int64_t ret, int op, const char *key, const char *value,
                       const char *output);

/* Appends a key whose check no budget decides: twelve appends of "a", "b",
 * ... to key by clients first_client.. first_client + 11, all called at 0
 * and returned at 100, then a get by first_client + 12 that no order
 * explains. Refuting it takes about e * 12! search steps, with a cache that
 * grows all the while. */
void lin_history_add_hard_key(struct lin_history *h, const char *key,
                              int first_client);

/* Replaces operation i's output (a get's returned value). */
void lin_history_set_output(struct lin_history *h, size_t i,
                            const char *output);

/*
 * Appends nops operations by nclients clients over nkeys keys ("k0",
 * "k1"...), linearizable by construction: operation k takes effect at time
 * 100 * (k + 1) on a sequential store, which gives gets their outputs, and
 * its call and return are drawn around that point (at most `spread` before
 * and after), each client having one operation outstanding at a time. About
 * half the operations are gets, the rest puts (put_percent of them) and
 * appends of unique values "x <client> <n> y". The history must have room
 * for them.
 */
void lin_history_generate(struct lin_history *h, struct prng *rng, int nclients,
                          size_t nops, int nkeys, int64_t spread,
                          int put_percent);

#endif
