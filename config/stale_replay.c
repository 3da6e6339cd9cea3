/*
 * stale_replay.c: the storm of certainly stale requests (stale_replay.h).
 *
 * Locking: r->mu guards the kept requests, the end names and the counts.
 * The tap takes it inside the network's lock; the replayer's thread never
 * holds it while calling labrpc or asking for a term, so neither waits on
 * the other. The thread's PRNG is its own.
 */
#include "config/stale_replay.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/tester.h"
#include "labtime/labtime.h"
#include "prng/prng.h"

enum {
	KEEP_FIRST = 2, /* per link and kind: the first requests, kept */
	KEEP_LAST = 4,  /*   for good (stale for good once stale), and */
	KEEP = KEEP_FIRST + KEEP_LAST, /* the latest, in a ring */
	KINDS = 4,         /* kinds kept per link; others are not kept */
	METH_MAX_LEN = 63, /* a longer "Service.Method" is not kept */
	NAME_MAX_LEN = 63, /* a longer end name is not kept */
	NO_BOUND = -1,     /* the sender has not been asked yet */
};

struct kept {
	uint8_t *args; /* NULL while the slot is empty */
	size_t len;
	uint64_t seq; /* r->seq when it was kept */
	int bound; /* the sender's term read after it was kept, or NO_BOUND */
};

struct kind {
	char svc_meth[METH_MAX_LEN + 1]; /* "" while unused */
	struct kept kept[KEEP];
	int next; /* the slot the next request takes (the first are filled
	           * first, then the ring's, in turn) */
};

struct link {
	char endname[NAME_MAX_LEN + 1]; /* its sender's end, "" until named */
	struct kind kinds[KINDS];
};

struct stale_replay {
	struct labrpc_net *net;
	int n;
	stale_replay_term_fn term_of;
	void *arg;

	pthread_mutex_t mu;
	char (*servers)[NAME_MAX_LEN + 1]; /* [peer]: its server's name */
	struct link *links;                /* [from * n + to] */
	uint64_t seq;                      /* requests kept so far */
	int64_t *delivered;                /* [to] */
	int *instance; /* [peer]: stale_replay_restart calls */
	bool stop;
	pthread_cond_t wake; /* signalled to stop */

	pthread_t thread;
	struct prng rng; /* the thread's */
};

/* ---- keeping requests (the tap, under the network's lock) ---- */

static struct link *link_named(struct stale_replay *r, const char *endname)
{
	for (int i = 0; i < r->n * r->n; i++)
		if (strcmp(r->links[i].endname, endname) == 0)
			return &r->links[i];
	return NULL;
}

static struct kind *kind_of(struct link *l, const char *svc_meth)
{
	for (int k = 0; k < KINDS; k++) {
		struct kind *kd = &l->kinds[k];
		if (kd->svc_meth[0] == '\0')
			strcpy(kd->svc_meth, svc_meth);
		if (strcmp(kd->svc_meth, svc_meth) == 0)
			return kd;
	}
	return NULL;
}

static void keep_request(void *arg, const char *endname, const char *svc_meth,
                         const uint8_t *args, size_t len)
{
	struct stale_replay *r = arg;
	if (strlen(svc_meth) > METH_MAX_LEN)
		return;
	pthread_mutex_lock(&r->mu);
	struct link *l = link_named(r, endname);
	struct kind *kd = l ? kind_of(l, svc_meth) : NULL;
	if (kd != NULL) {
		struct kept *e = &kd->kept[kd->next];
		kd->next = kd->next + 1 < KEEP ? kd->next + 1 : KEEP_FIRST;
		free(e->args);
		e->args = tester_calloc(1, len + 1);
		memcpy(e->args, args, len);
		e->len = len;
		e->seq = r->seq++;
		e->bound = NO_BOUND;
	}
	pthread_mutex_unlock(&r->mu);
}

/* ---- the replayer's thread ---- */

enum { SLOTS_PER_SENDER_LINK = KINDS * KEEP };

/* Slot i of sender from's links, 0 <= i < r->n * SLOTS_PER_SENDER_LINK. */
static struct kept *sender_slot(struct stale_replay *r, int from, int i)
{
	struct link *l = &r->links[from * r->n + i / SLOTS_PER_SENDER_LINK];
	return &l->kinds[(i / KEEP) % KINDS].kept[i % KEEP];
}

/* Gives every request that sender from's instance kept before r->seq was
 * `before` its bound, term, read since: a request kept before the read has
 * no higher term. A term of a newer instance bounds nothing of the old
 * one's, which may not have saved its term. */
static void bound_requests(struct stale_replay *r, int from, int instance,
                           uint64_t before, int term)
{
	pthread_mutex_lock(&r->mu);
	for (int i = 0;
	     i < r->n * SLOTS_PER_SENDER_LINK && r->instance[from] == instance;
	     i++) {
		struct kept *e = sender_slot(r, from, i);
		if (e->args && e->bound == NO_BOUND && e->seq < before)
			e->bound = term;
	}
	pthread_mutex_unlock(&r->mu);
}

struct replay_copy {
	char svc_meth[METH_MAX_LEN + 1];
	uint8_t *args;
	size_t len;
};

/* Delivers to peer `to`, from every sender, one request of each kind whose
 * bound is below term, to's term read before (it can only grow since). */
static void replay_to(struct stale_replay *r, int to, int term)
{
	for (int from = 0; from < r->n; from++) {
		if (from == to)
			continue;
		struct replay_copy copies[KINDS];
		int ncopies = 0;

		pthread_mutex_lock(&r->mu);
		struct link *l = &r->links[from * r->n + to];
		for (int k = 0; k < KINDS; k++) {
			struct kind *kd = &l->kinds[k];
			int stale[KEEP], nstale = 0;
			for (int s = 0; s < KEEP; s++)
				if (kd->kept[s].args &&
				    kd->kept[s].bound != NO_BOUND &&
				    kd->kept[s].bound < term)
					stale[nstale++] = s;
			if (nstale == 0)
				continue;
			struct kept *e =
			        &kd->kept[stale[prng_below(&r->rng, nstale)]];
			struct replay_copy *c = &copies[ncopies++];
			strcpy(c->svc_meth, kd->svc_meth);
			c->args = tester_calloc(1, e->len + 1);
			memcpy(c->args, e->args, e->len);
			c->len = e->len;
		}
		pthread_mutex_unlock(&r->mu);

		int delivered = 0;
		for (int i = 0; i < ncopies; i++) {
			if (labrpc_replay(r->net, r->servers[to],
			                  copies[i].svc_meth, copies[i].args,
			                  copies[i].len))
				delivered++;
			free(copies[i].args);
		}
		pthread_mutex_lock(&r->mu);
		r->delivered[to] += delivered;
		pthread_mutex_unlock(&r->mu);
	}
}

static void *replayer_main(void *arg)
{
	struct stale_replay *r = arg;
	int *term = tester_calloc((size_t)r->n, sizeof *term);
	int *instance = tester_calloc((size_t)r->n, sizeof *instance);
	bool *up = tester_calloc((size_t)r->n, sizeof *up);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		uint64_t before = r->seq;
		memcpy(instance, r->instance, (size_t)r->n * sizeof *instance);
		pthread_mutex_unlock(&r->mu);
		/* Each peer's term, read once: it bounds what the peer sent
		 * before, and says what is stale for it now. */
		for (int i = 0; i < r->n; i++)
			up[i] = r->term_of(r->arg, i, &term[i]);
		/* (A crashed sender's requests are bounded once it is back.) */
		for (int i = 0; i < r->n; i++)
			if (up[i])
				bound_requests(r, i, instance[i], before,
				               term[i]);
		for (int to = 0; to < r->n; to++)
			if (up[to])
				replay_to(r, to, term[to]);
		pthread_mutex_lock(&r->mu);
		int64_t deadline =
		        labtime_now_ns() + (int64_t)STALE_REPLAY_MS * 1000000;
		while (!r->stop && labtime_now_ns() < deadline)
			labtime_cond_wait_until(&r->wake, &r->mu, deadline);
	}
	pthread_mutex_unlock(&r->mu);
	free(term);
	free(instance);
	free(up);
	return NULL;
}

/* ---- the API ---- */

struct stale_replay *stale_replay_start(struct labrpc_net *net, int n,
                                        const char *const *servernames,
                                        stale_replay_term_fn term_of, void *arg,
                                        uint64_t seed)
{
	struct stale_replay *r = tester_calloc(1, sizeof *r);
	r->net = net;
	r->n = n;
	r->servers = tester_calloc((size_t)n, sizeof *r->servers);
	for (int i = 0; i < n; i++) {
		if (strlen(servernames[i]) > NAME_MAX_LEN) {
			fprintf(stderr,
			        "stale_replay: server name too long: %s\n",
			        servernames[i]);
			abort();
		}
		strcpy(r->servers[i], servernames[i]);
	}
	r->term_of = term_of;
	r->arg = arg;
	pthread_mutex_init(&r->mu, NULL);
	labtime_cond_init(&r->wake);
	r->links = tester_calloc((size_t)n * (size_t)n, sizeof *r->links);
	r->delivered = tester_calloc((size_t)n, sizeof *r->delivered);
	r->instance = tester_calloc((size_t)n, sizeof *r->instance);
	prng_seed(&r->rng, seed);
	labrpc_net_request_tap(net, keep_request, r);
	if (pthread_create(&r->thread, NULL, replayer_main, r) != 0) {
		fputs("stale_replay: cannot start its thread\n", stderr);
		abort();
	}
	return r;
}

void stale_replay_stop(struct stale_replay *r)
{
	labrpc_net_request_tap(r->net, NULL, NULL); /* no tap runs after */
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);

	for (int from = 0; from < r->n; from++)
		for (int i = 0; i < r->n * SLOTS_PER_SENDER_LINK; i++)
			free(sender_slot(r, from, i)->args);
	free(r->links);
	free(r->servers);
	free(r->delivered);
	free(r->instance);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

void stale_replay_link(struct stale_replay *r, const char *endname, int from,
                       int to)
{
	if (strlen(endname) > NAME_MAX_LEN || from < 0 || from >= r->n ||
	    to < 0 || to >= r->n) {
		fprintf(stderr,
		        "stale_replay_link: bad link %s from %d to %d\n",
		        endname, from, to);
		abort();
	}
	pthread_mutex_lock(&r->mu);
	strcpy(r->links[from * r->n + to].endname, endname);
	pthread_mutex_unlock(&r->mu);
}

void stale_replay_restart(struct stale_replay *r, int peer)
{
	pthread_mutex_lock(&r->mu);
	r->instance[peer]++;
	for (int i = 0; i < r->n * SLOTS_PER_SENDER_LINK; i++) {
		struct kept *e = sender_slot(r, peer, i);
		if (e->args && e->bound == NO_BOUND) {
			free(e->args);
			e->args = NULL;
		}
	}
	pthread_mutex_unlock(&r->mu);
}

int64_t stale_replay_delivered(struct stale_replay *r, int to)
{
	pthread_mutex_lock(&r->mu);
	int64_t d = r->delivered[to];
	pthread_mutex_unlock(&r->mu);
	return d;
}
