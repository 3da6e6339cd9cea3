/*
 * lin_history.c: building key/value histories for lincheck's tests and
 * benchmark, by hand or generated from a sequential store (lin_history.h).
 */
#include "tests/unit/lin_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("lin_history: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* Keeps a copy of s for the history's lifetime. NULL stays NULL. */
static const char *keep(struct lin_history *h, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *copy = memcpy(xrealloc(NULL, n), s, n);
	if ((h->nstrings & (h->nstrings - 1)) == 0) /* 0, 1, 2, 4... */
		h->strings = xrealloc(h->strings,
		                      (h->nstrings ? 2 * h->nstrings : 1) *
		                              sizeof *h->strings);
	h->strings[h->nstrings++] = copy;
	return copy;
}

void lin_history_init(struct lin_history *h, size_t cap)
{
	memset(h, 0, sizeof *h);
	h->cap = cap;
	h->ops = xrealloc(NULL, cap * sizeof *h->ops);
	h->in = xrealloc(NULL, cap * sizeof *h->in);
	h->out = xrealloc(NULL, cap * sizeof *h->out);
}

void lin_history_free(struct lin_history *h)
{
	for (size_t i = 0; i < h->nstrings; i++)
		free(h->strings[i]);
	free(h->strings);
	free(h->ops);
	free(h->in);
	free(h->out);
	memset(h, 0, sizeof *h);
}

size_t lin_history_add(struct lin_history *h, int client, int64_t call,
                       int64_t ret, int op, const char *key, const char *value,
                       const char *output)
{
	if (h->n == h->cap) {
		fputs("lin_history: history full\n", stderr);
		abort();
	}
	size_t i = h->n++;
	h->in[i] = (struct lin_kv_input){op, keep(h, key), keep(h, value)};
	h->out[i] = lin_kv_output_str(keep(h, output));
	h->ops[i] = (struct lin_op){client, call, ret, &h->in[i], &h->out[i]};
	return i;
}

void lin_history_add_hard_key(struct lin_history *h, const char *key,
                              int first_client)
{
	for (int c = 0; c < 12; c++) {
		char v[2] = {(char)('a' + c), 0};
		lin_history_add(h, first_client + c, 0, 100, LIN_KV_APPEND, key,
		                v, NULL);
	}
	lin_history_add(h, first_client + 12, 200, 210, LIN_KV_GET, key, NULL,
	                "no such order");
}

void lin_history_set_output(struct lin_history *h, size_t i, const char *output)
{
	h->out[i] = lin_kv_output_str(keep(h, output));
}

/* The sequential store the generator runs: one growing string per key. */
struct store {
	char **values;
	int nkeys;
};

static void store_apply(struct store *s, int key, int op, const char *value)
{
	char *v = s->values[key];
	size_t a = strlen(v), b = strlen(value);
	if (op == LIN_KV_PUT)
		a = 0;
	else if (op != LIN_KV_APPEND)
		return;
	v = xrealloc(v, a + b + 1);
	memcpy(v + a, value, b + 1);
	s->values[key] = v;
}

void lin_history_generate(struct lin_history *h, struct prng *rng, int nclients,
                          size_t nops, int nkeys, int64_t spread,
                          int put_percent)
{
	struct store st = {xrealloc(NULL, nkeys * sizeof(char *)), nkeys};
	for (int k = 0; k < nkeys; k++)
		st.values[k] = memcpy(xrealloc(NULL, 1), "", 1);
	int64_t *free_at = xrealloc(NULL, nclients * sizeof *free_at);
	int *free_clients = xrealloc(NULL, nclients * sizeof *free_clients);
	int *count = xrealloc(NULL, nclients * sizeof *count);
	for (int c = 0; c < nclients; c++) {
		free_at[c] = INT64_MIN / 2; /* idle since forever */
		count[c] = 0;
	}

	int64_t lin_point = 0;
	for (size_t k = 0; k < nops; k++) {
		/* The next linearization point, at which some client is idle.
		 */
		int nfree = 0;
		lin_point += 100;
		while (nfree == 0) {
			int64_t earliest = INT64_MAX;
			for (int c = 0; c < nclients; c++) {
				if (free_at[c] < lin_point)
					free_clients[nfree++] = c;
				else if (free_at[c] < earliest)
					earliest = free_at[c];
			}
			if (nfree == 0)
				lin_point = earliest + 1;
		}
		int c = free_clients[prng_below(rng, nfree)];
		int64_t call = lin_point - prng_below(rng, spread + 1);
		if (call <= free_at[c])
			call = free_at[c] + 1;
		int64_t ret = lin_point + prng_below(rng, spread + 1);
		free_at[c] = ret;

		int key = (int)prng_below(rng, nkeys);
		char key_name[16], value[48];
		snprintf(key_name, sizeof key_name, "k%d", key);
		snprintf(value, sizeof value, "x %d %d y", c, count[c]++);
		int64_t dice = prng_below(rng, 100);
		if (dice < 50) {
			lin_history_add(h, c, call, ret, LIN_KV_GET, key_name,
			                NULL, st.values[key]);
		} else {
			int op = (dice - 50) * 2 < put_percent ? LIN_KV_PUT
			                                       : LIN_KV_APPEND;
			lin_history_add(h, c, call, ret, op, key_name, value,
			                NULL);
			store_apply(&st, key, op, value);
		}
	}

	for (int k = 0; k < nkeys; k++)
		free(st.values[k]);
	free(st.values);
	free(free_at);
	free(free_clients);
	free(count);
}
