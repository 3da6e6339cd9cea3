/*
 * labrpc.c: the simulated network of labrpc.h, a C re-creation of 6.5840's
 * labrpc.go. It decides, for every call, whether and when a reply arrives;
 * it is not a transport (nothing leaves the process).
 *
 * The life of one call (every decision is taken under the network lock, and
 * every random draw comes from the network's own PRNG, so a seed replays the
 * fault pattern of a sequential run):
 *
 *   labrpc_call, on the caller's thread: encode the args; count += 1 and
 *   bytes += len(args); take a snapshot of the end's enabled flag and
 *   connection, of the server under that name, and of reliable and
 *   long_reordering. Then:
 *
 *   Case A, the end is enabled, connected and the server exists:
 *     unreliable: wait rand%27 ms, then drop the request with p = 0.1
 *       (the handler never runs);
 *     run the handler on a pool thread. Every 100 ms while it runs, check
 *       whether the server is dead: the end is now disabled or deleted, or
 *       the name no longer holds the same server, or the server was freed.
 *       A dead server's call fails at once; its handler's result is dropped.
 *     when the handler returns: dead (checked once more) -> false;
 *       unreliable -> drop the reply with p = 0.1 (the handler did run);
 *       long reordering -> with p = 2/3 deliver after 200 + rand%(1 +
 *       rand%2000) ms; otherwise deliver now. A delivered reply adds its
 *       length to bytes.
 *   Case B, otherwise: fail after rand%100 ms, or rand%7000 ms when long
 *     delays are on ("no reply, then a timeout").
 *
 *   A fixed latency (labrpc_net_latency; none, Go's model, by default)
 *   puts every message of Case A on the wire for a set time, one for
 *   requests and one for replies: the handler starts the request latency
 *   (plus the unreliable wait) after the call, and a reply that is
 *   delivered reaches its caller the reply latency (plus any reordering
 *   delay) after the handler returned. Case B's timeouts do not change. A
 *   request on the wire arrives even if its end is disabled meanwhile, as
 *   after Go's unreliable wait; its reply is then dropped as a dead
 *   server's.
 *
 *   Beyond Go's labrpc, and off unless asked for: in Case A a duplicate of
 *   the request may be sent (labrpc_net_duplicates), a copy without a
 *   caller that reaches the server later; and a reply hook may drop a reply
 *   after the handler ran (labrpc_net_reply_hook), for the tester's
 *   crash-before-reply faults; and an end's replies may be held back, after
 *   the dead-server check, until the tester releases them all at once
 *   (labrpc_hold_replies), for stale replies at a moment of its choosing;
 *   and a tap may copy every request, for the tester to deliver again long
 *   after, even across a partition (labrpc_net_request_tap, labrpc_replay),
 *   for requests it knows to be stale.
 *
 * Threads: one timer thread runs every timed step (delays, timeouts,
 * reordered deliveries, dead-server polls) from a min-heap, and handlers run
 * on a pool of worker threads that grows only when no worker is idle and
 * lives until labrpc_net_cleanup. No thread is started or put to sleep per
 * request: the caller sleeps on its request's semaphore until it completes.
 * Threads are woken only after the network lock is released (struct
 * wakeups), so that a hand-off costs one wake-up and no lock contention.
 *
 * This file is the model; its generic containers are private files beside
 * it: name_map.h (ends and server names), timer_heap.h (the timer thread's
 * min-heap), pool.h (the handler threads) and spin_wait.h (a caller's or an
 * idle worker's wait).
 */
#include "labrpc/labrpc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labrpc/name_map.h"
#include "labrpc/pool.h"
#include "labrpc/spin_wait.h"
#include "labrpc/timer_heap.h"
#include "labtime/labtime.h"
#include "prng/prng.h"
#include "sim/sim.h"

/* The constants of labrpc.go's processReq. */
enum {
	/* Unreliable: wait rand%27 ms before the handler; drop the request,
	 * and later the reply, when rand%1000 < 100. */
	SHORT_DELAY_MS = 27,
	DROP_PER_MILLE = 100,
	/* Long reordering: when rand%900 < 600, hold the reply back for
	 * 200 + rand%(1 + rand%2000) ms. */
	REORDER_OUT_OF = 900,
	REORDER_BELOW = 600,
	REORDER_BASE_MS = 200,
	REORDER_SPREAD_MS = 2000,
	/* Case B: fail after rand%100 ms, or rand%7000 ms with long delays. */
	TIMEOUT_MS = 100,
	LONG_TIMEOUT_MS = 7000,
	/* The is-server-dead poll while a handler runs. */
	DEAD_POLL_MS = 100,
	/* Duplicates (not in Go): copy a request when rand%1000 < 100; half
	 * the copies arrive within rand%50 ms, the others after 200 +
	 * rand%2000 ms. */
	DUP_PER_MILLE = 100,
	DUP_SOON_MS = 50,
	DUP_LATE_BASE_MS = 200,
	DUP_LATE_SPREAD_MS = 2000,
};

#define MS_NS INT64_C(1000000)

#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static int64_t after_ms(int64_t ms)
{
	return labtime_now_ns() + ms * MS_NS;
}

/* Process-fatal errors and allocation, defined at the end of the file. */
static _Noreturn void fatalf(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static void *xcalloc(size_t n, size_t size);
static void *xrealloc(void *p, size_t size);

/* ---- objects ---- */

struct service {
	const struct labrpc_service_def *def;
	void *receiver;
};

struct labrpc_server {
	atomic_int refs;     /* the owner, network name slots, requests */
	atomic_bool closed;  /* labrpc_server_free has begun */
	pthread_mutex_t mu;  /* guards the fields below */
	pthread_cond_t idle; /* broadcast when running drops to 0 */
	int count;           /* RPCs dispatched to handlers */
	int running;         /* handlers running now */
	struct service *services;
	size_t nservices;
};

/* A server name. Like the entries of Go's servers map, a slot is never
 * removed (deleting the server just empties it), so ends and requests may
 * point at it for the network's lifetime. */
struct server_slot {
	struct name_node node;     /* in net->servers */
	struct labrpc_server *srv; /* a reference, or NULL */
	char name[];
};

struct labrpc_end {
	struct name_node node; /* in net->ends until deleted */
	struct labrpc_net *net;
	struct labrpc_end *next; /* net->all_ends: freed with the network */
	bool enabled;
	bool deleted;
	bool hold_replies;        /* labrpc_hold_replies */
	struct server_slot *conn; /* NULL while unconnected */
	/* This end's own stream of the network's choices (delays, drops,
	 * duplicates, reordering), from the network's seed and the end's
	 * name: one peer's traffic does not shift another's draws, so a
	 * replay with the seed stays close to the run (exact in sim mode). */
	struct prng prng;
	char name[];
};

enum req_stage {
	REQ_DELAYED,       /* timer: the request's unreliable wait or its
	                    * time on the wire, before the handler */
	REQ_HANDLER,       /* handler queued or running; timer: dead-server
	                    * poll */
	REQ_REPLY_DELAYED, /* timer: delivery of a reply held back by long
	                    * reordering, or on the wire (latency) */
	REQ_TIMING_OUT,    /* timer: Case B's failure */
	REQ_HELD,          /* no timer: a reply kept until labrpc_hold_replies
	                    * releases it */
};

/*
 * One call. It is referenced by its caller (until labrpc_call returns), by
 * the timer heap while it has a timer armed, by the handler job from
 * queueing until the worker is done with it, and by a pending wake-up of its
 * caller. It completes exactly once (req_complete); everything else about it
 * is guarded by the network lock, except the fields fixed on entry, which the
 * worker reads.
 */
struct labrpc_req {
	atomic_int refs;
	enum req_stage stage;
	bool done, ok;
	bool drop_request; /* unreliable: the request is lost after its delay */
	bool copy;   /* a duplicate (labrpc_net_duplicates): no caller waits */
	sem_t woken; /* posted once, after done, when the caller may return */

	/* The snapshot taken on entry. */
	struct labrpc_end *end;
	struct server_slot *slot;
	struct labrpc_server *srv; /* a reference in Case A, else NULL */
	bool reliable, long_reordering;
	int64_t request_latency_ns, reply_latency_ns; /* labrpc_net_latency */

	uint8_t *args;
	size_t args_len;
	uint8_t *reply; /* the handler's encoded reply */
	size_t reply_len;

	struct timer_node timer;        /* in net->timers while armed */
	struct labrpc_req *prev, *next; /* net->pending while not done */
	struct pool_job job;            /* net->pool's queue while queued */
	struct labrpc_req *wake_next;   /* struct wakeups' list */
	char svc_meth[];
};

struct labrpc_net {
	pthread_mutex_t mu; /* guards everything below */
	uint64_t seed;
	bool reliable, long_delays, long_reordering, duplicates;
	int64_t request_latency_ns, reply_latency_ns; /* labrpc_net_latency */
	labrpc_reply_hook reply_hook;
	void *reply_hook_arg;
	labrpc_request_tap tap;
	void *tap_arg;
	bool stopping; /* cleanup has begun: no new calls, threads exit */
	int count;
	int64_t bytes;

	struct name_map ends;    /* live ends by name */
	struct name_map servers; /* server slots by name */
	struct labrpc_end *all_ends;
	struct labrpc_end *replay_end; /* labrpc_replay's, made on first use */
	struct labrpc_req *pending;    /* requests not yet complete */

	/* The timer thread and the requests' armed timers (timer_heap.h). */
	pthread_t timer;
	pthread_cond_t timer_cond;
	int64_t timer_sleeps_until; /* INT64_MIN while the timer is awake */
	struct timer_heap timers;

	/* The handler threads (pool.h): a job is a request whose handler is
	 * due. */
	struct pool pool;
};

/*
 * Wake-ups owed by a thread that holds the network lock, made once it has
 * unlocked: a thread woken while the lock is still held would only block
 * again on the lock, which doubles the cost of every hand-off.
 */
struct wakeups {
	/* Workers taken off the idle stack for new jobs. */
	struct pool_worker *workers;
	/* A timer now fires before the timer thread means to wake up. */
	bool timer;
	/* Completed requests, each holding a reference. */
	struct labrpc_req *done;
};

/*
 * The model's steps follow in the order of a call's life; the helpers they
 * share (a request's completion, timers, references, wake-ups) come after
 * them, then the servers and the network's API. Unless they say otherwise,
 * the static functions run with the network lock held.
 */
static void req_enter(struct labrpc_net *net, struct labrpc_req *req,
                      struct wakeups *w);
static void handler_start(struct labrpc_net *net, struct labrpc_req *req,
                          struct wakeups *w);
static void handler_returned(struct labrpc_net *net, struct labrpc_req *req,
                             bool ran, uint8_t *reply, size_t reply_len,
                             struct wakeups *w);
static bool server_dead(const struct labrpc_req *req);
static void copy_send(struct labrpc_net *net, const struct labrpc_req *req,
                      struct wakeups *w);
static void copy_arrives(struct labrpc_net *net, struct labrpc_req *c,
                         struct wakeups *w);
static void req_complete(struct labrpc_net *net, struct labrpc_req *req,
                         bool ok, struct wakeups *w);
static void timer_arm(struct labrpc_net *net, struct labrpc_req *req,
                      int64_t due_ns, struct wakeups *w);
static void timer_disarm(struct labrpc_net *net, struct labrpc_req *req);
static struct labrpc_req *req_alloc(struct labrpc_end *end,
                                    const char *svc_meth);
static void pending_add(struct labrpc_net *net, struct labrpc_req *req);
static void req_get(struct labrpc_req *req);
static void req_put(struct labrpc_req *req);
static void wakeups_flush(struct labrpc_net *net, struct wakeups *w);
static void server_get(struct labrpc_server *srv);
static void server_put(struct labrpc_server *srv);
static bool server_dispatch(struct labrpc_server *srv,
                            const struct labrpc_req *req, uint8_t **reply,
                            size_t *reply_len);
static struct labrpc_end *end_lookup(struct labrpc_net *net, const char *name,
                                     const char *who);

/* ---- a call: entry ---- */

bool labrpc_call(struct labrpc_end *end, const char *svc_meth,
                 const struct codec_type *args_type, const void *args,
                 const struct codec_type *reply_type, void *reply)
{
	struct labrpc_net *net = end->net;
	struct labrpc_req *req = req_alloc(end, svc_meth); /* the caller's */
	struct codec_buf b;
	codec_buf_init(&b);
	args_type->encode(&b, args);
	req->args = codec_buf_take(&b, &req->args_len);

	struct wakeups w = {0};
	pthread_mutex_lock(&net->mu);
	if (net->stopping || end->deleted) {
		pthread_mutex_unlock(&net->mu);
		req_put(req);
		return false;
	}
	net->count++;
	net->bytes += (int64_t)req->args_len;
	if (net->tap)
		net->tap(net->tap_arg, end->name, svc_meth, req->args,
		         req->args_len);
	req_enter(net, req, &w);
	pthread_mutex_unlock(&net->mu);
	wakeups_flush(net, &w);

	/* Once woken, ok and reply are final and no other thread touches them.
	 */
	labrpc_spin_wait_sem(&req->woken);
	bool ok = req->ok;
	uint8_t *bytes = req->reply;
	size_t len = req->reply_len;
	req->reply = NULL;
	req_put(req);

	if (ok) {
		memset(reply, 0, reply_type->size);
		int err = codec_decode_message(reply_type, bytes, len, reply);
		if (err)
			fatalf("labrpc: decode reply of %s: %s", svc_meth,
			       codec_strerror(err));
	}
	free(bytes);
	return ok;
}

/* Takes the snapshot for a new request and sends it on its way. */
static void req_enter(struct labrpc_net *net, struct labrpc_req *req,
                      struct wakeups *w)
{
	struct labrpc_end *end = req->end;
	struct labrpc_server *srv = end->conn ? end->conn->srv : NULL;
	req->slot = end->conn;
	req->reliable = net->reliable;
	req->long_reordering = net->long_reordering;
	req->request_latency_ns = net->request_latency_ns;
	req->reply_latency_ns = net->reply_latency_ns;
	pending_add(net, req);

	if (end->enabled && srv) { /* Case A */
		server_get(srv);
		req->srv = srv;
		if (net->duplicates &&
		    prng_below(&end->prng, 1000) < DUP_PER_MILLE)
			copy_send(net, req, w);
		if (req->reliable && req->request_latency_ns == 0) {
			handler_start(net, req, w);
		} else if (req->reliable) {
			req->stage = REQ_DELAYED;
			timer_arm(net, req,
			          labtime_now_ns() + req->request_latency_ns,
			          w);
		} else {
			int64_t ms = prng_below(&end->prng, SHORT_DELAY_MS);
			req->drop_request =
			        prng_below(&end->prng, 1000) < DROP_PER_MILLE;
			req->stage = REQ_DELAYED;
			timer_arm(net, req,
			          after_ms(ms) + req->request_latency_ns, w);
		}
	} else { /* Case B: no reply, then a timeout */
		int64_t ms = prng_below(&end->prng, net->long_delays
		                                            ? LONG_TIMEOUT_MS
		                                            : TIMEOUT_MS);
		req->stage = REQ_TIMING_OUT;
		timer_arm(net, req, after_ms(ms), w);
	}
}

/* ---- the handler: start, run, return ---- */

/* Queues req's handler job, for an idle worker or a new one (labrpc_pool_push),
 * and starts the dead-server poll. */
static void handler_start(struct labrpc_net *net, struct labrpc_req *req,
                          struct wakeups *w)
{
	req->stage = REQ_HANDLER;
	req_get(req); /* the job's reference */
	labrpc_pool_push(&net->pool, &req->job, &w->workers);
	timer_arm(net, req, after_ms(DEAD_POLL_MS), w);
}

/* The pool takes a job off its queue: a request that has already failed
 * runs nothing. */
static bool job_keep(void *owner, struct pool_job *job)
{
	(void)owner;
	struct labrpc_req *req = container_of(job, struct labrpc_req, job);
	if (!req->done)
		return true;
	req_put(req); /* failed while queued: run nothing */
	return false;
}

/* A worker runs req's handler, without the network lock, and hands its
 * reply back to the network; then it drops the job's reference. */
static void handler_run(void *owner, struct pool_job *job)
{
	struct labrpc_net *net = owner;
	struct labrpc_req *req = container_of(job, struct labrpc_req, job);
	struct wakeups w = {0};
	uint8_t *reply = NULL;
	size_t reply_len = 0;
	bool ran = server_dispatch(req->srv, req, &reply, &reply_len);

	pthread_mutex_lock(&net->mu);
	handler_returned(net, req, ran, reply, reply_len, &w);
	pthread_mutex_unlock(&net->mu);
	wakeups_flush(net, &w);
	req_put(req);
}

/* The handler has returned (ran) or found its server closed (!ran). */
static void handler_returned(struct labrpc_net *net, struct labrpc_req *req,
                             bool ran, uint8_t *reply, size_t reply_len,
                             struct wakeups *w)
{
	if (req->done) { /* the server died, or the end or network went away */
		free(reply);
		return;
	}
	timer_disarm(net, req); /* the dead-server poll */
	req->reply = reply;
	req->reply_len = reply_len;
	if (!ran || server_dead(req) || req->copy) {
		req_complete(net, req, false, w);
	} else if (net->reply_hook &&
	           net->reply_hook(net->reply_hook_arg, req->slot->name,
	                           req->svc_meth)) {
		/* The server "crashed" before its reply went out. */
		req_complete(net, req, false, w);
	} else if (!req->reliable &&
	           prng_below(&req->end->prng, 1000) < DROP_PER_MILLE) {
		/* Drop the reply; the handler ran all the same. */
		req_complete(net, req, false, w);
	} else if (req->end->hold_replies) {
		req->stage =
		        REQ_HELD; /* until labrpc_hold_replies releases it */
	} else if (req->long_reordering &&
	           prng_below(&req->end->prng, REORDER_OUT_OF) <
	                   REORDER_BELOW) {
		struct prng *rng = &req->end->prng;
		int64_t ms =
		        REORDER_BASE_MS +
		        prng_below(rng, 1 + prng_below(rng, REORDER_SPREAD_MS));
		req->stage = REQ_REPLY_DELAYED;
		timer_arm(net, req, after_ms(ms) + req->reply_latency_ns, w);
	} else if (req->reply_latency_ns > 0) {
		req->stage = REQ_REPLY_DELAYED;
		timer_arm(net, req, labtime_now_ns() + req->reply_latency_ns,
		          w);
	} else {
		req_complete(net, req, true, w);
	}
}

/* Go's isServerDead, plus a server that labrpc_server_free has closed. */
static bool server_dead(const struct labrpc_req *req)
{
	return !req->end->enabled || req->end->deleted ||
	       req->slot->srv != req->srv || atomic_load(&req->srv->closed);
}

/* ---- timers ---- */

/* A timer went off for req, which the caller took out of the heap (and
 * holds the heap's reference). */
static void timer_fire(struct labrpc_net *net, struct labrpc_req *req,
                       struct wakeups *w)
{
	switch (req->stage) {
	case REQ_DELAYED:
		if (req->copy) {
			copy_arrives(net, req, w);
			break;
		}
		if (req->drop_request)
			req_complete(net, req, false, w);
		else
			handler_start(net, req, w);
		break;
	case REQ_HANDLER:
		if (server_dead(req))
			req_complete(net, req, false, w);
		else
			timer_arm(net, req, after_ms(DEAD_POLL_MS), w);
		break;
	case REQ_REPLY_DELAYED:
		req_complete(net, req, true, w);
		break;
	case REQ_TIMING_OUT:
		req_complete(net, req, false, w);
		break;
	case REQ_HELD: /* never armed */
		break;
	}
}

static void *timer_main(void *arg)
{
	struct labrpc_net *net = arg;
	struct wakeups w = {0};
	pthread_mutex_lock(&net->mu);
	while (!net->stopping) {
		struct timer_node *t = timer_heap_first(&net->timers);
		if (!t) {
			net->timer_sleeps_until = INT64_MAX;
			pthread_cond_wait(&net->timer_cond, &net->mu);
		} else if (t->due_ns > labtime_now_ns()) {
			net->timer_sleeps_until = t->due_ns;
			labtime_cond_wait_until(&net->timer_cond, &net->mu,
			                        net->timer_sleeps_until);
		} else {
			struct labrpc_req *req =
			        container_of(t, struct labrpc_req, timer);
			labrpc_timer_heap_remove(&net->timers, t);
			timer_fire(net, req, &w);
			pthread_mutex_unlock(&net->mu);
			wakeups_flush(net, &w);
			req_put(req);
			pthread_mutex_lock(&net->mu);
		}
		net->timer_sleeps_until = INT64_MIN;
	}
	pthread_mutex_unlock(&net->mu);
	return NULL;
}

/* ---- duplicates (not in Go) ---- */

/* A copy of a request (svc_meth, args) on end to slot, reliable, with no
 * caller: it holds its own reference, which wakeups_flush drops when it
 * completes. On net->pending; the caller sends it on its way. */
static struct labrpc_req *copy_make(struct labrpc_net *net,
                                    struct labrpc_end *end,
                                    struct server_slot *slot,
                                    const char *svc_meth, const uint8_t *args,
                                    size_t len)
{
	struct labrpc_req *c = req_alloc(end, svc_meth);
	c->copy = true;
	c->slot = slot;
	c->reliable = true;
	c->args = xcalloc(1, len + 1);
	memcpy(c->args, args, len);
	c->args_len = len;
	pending_add(net, c);
	return c;
}

/* A duplicate of req, due after a delay. */
static void copy_send(struct labrpc_net *net, const struct labrpc_req *req,
                      struct wakeups *w)
{
	struct labrpc_req *c =
	        copy_make(net, req->end, req->slot, req->svc_meth, req->args,
	                  req->args_len);
	c->request_latency_ns = req->request_latency_ns;

	struct prng *rng = &req->end->prng;
	int64_t ms = prng_below(rng, 2) == 0
	                     ? prng_below(rng, DUP_SOON_MS)
	                     : DUP_LATE_BASE_MS +
	                               prng_below(rng, DUP_LATE_SPREAD_MS);
	c->stage = REQ_DELAYED;
	timer_arm(net, c, after_ms(ms) + c->request_latency_ns, w);
}

/* A duplicate's time has come: it reaches the server that holds the name
 * now, if its end still reaches one. */
static void copy_arrives(struct labrpc_net *net, struct labrpc_req *c,
                         struct wakeups *w)
{
	struct labrpc_server *srv = c->slot->srv;
	if (!c->end->enabled || c->end->deleted || c->end->conn != c->slot ||
	    !srv || atomic_load(&srv->closed)) {
		req_complete(net, c, false, w);
		return;
	}
	server_get(srv);
	c->srv = srv;
	handler_start(net, c, w);
}

/* ---- replayed requests (not in Go) ---- */

bool labrpc_replay(struct labrpc_net *net, const char *servername,
                   const char *svc_meth, const uint8_t *args, size_t len)
{
	struct wakeups w = {0};
	pthread_mutex_lock(&net->mu);
	struct name_node *n = labrpc_name_map_find(&net->servers, servername);
	struct server_slot *slot =
	        n ? container_of(n, struct server_slot, node) : NULL;
	struct labrpc_server *srv = slot ? slot->srv : NULL;
	if (net->stopping || !srv || atomic_load(&srv->closed)) {
		pthread_mutex_unlock(&net->mu);
		return false;
	}
	if (net->replay_end == NULL) {
		/* The replays' own end, enabled for good and in no name map:
		 * the end a request was sent on may be gone by now. */
		struct labrpc_end *end = xcalloc(1, sizeof *end + 1);
		end->net = net;
		end->enabled = true;
		end->next = net->all_ends;
		net->all_ends = end;
		net->replay_end = end;
	}
	struct labrpc_req *c =
	        copy_make(net, net->replay_end, slot, svc_meth, args, len);
	server_get(srv);
	c->srv = srv;
	handler_start(net, c, &w);
	pthread_mutex_unlock(&net->mu);
	wakeups_flush(net, &w);
	return true;
}

/* ---- held replies (not in Go) ---- */

void labrpc_hold_replies(struct labrpc_net *net, const char *endname, bool hold)
{
	struct wakeups w = {0};
	pthread_mutex_lock(&net->mu);
	struct labrpc_end *end = end_lookup(net, endname, "HoldReplies");
	end->hold_replies = hold;
	for (struct labrpc_req *req = net->pending, *next; !hold && req;
	     req = next) {
		next = req->next;
		if (req->end == end && req->stage == REQ_HELD)
			req_complete(net, req, true, &w);
	}
	pthread_mutex_unlock(&net->mu);
	wakeups_flush(net, &w);
}

/* ---- a request: completion, timers, references, wake-ups ---- */

/* Completes req, once: ok delivers the reply (counting its bytes), false
 * discards it. The caller is woken through w. */
static void req_complete(struct labrpc_net *net, struct labrpc_req *req,
                         bool ok, struct wakeups *w)
{
	if (req->done)
		return;
	req->done = true;
	req->ok = ok;
	if (ok) {
		net->bytes += (int64_t)req->reply_len;
		sim_charge_delivery(req->reply_len); /* the reply's */
	} else {
		free(req->reply);
		req->reply = NULL;
	}
	if (req->prev)
		req->prev->next = req->next;
	else
		net->pending = req->next;
	if (req->next)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	timer_disarm(net, req);
	req_get(req); /* the wake-up's reference */
	req->wake_next = w->done;
	w->done = req;
}

/* Arms req's timer (one per request) to fire at due_ns. */
static void timer_arm(struct labrpc_net *net, struct labrpc_req *req,
                      int64_t due_ns, struct wakeups *w)
{
	if (timer_armed(&req->timer))
		labrpc_timer_heap_remove(&net->timers, &req->timer);
	else
		req_get(req); /* the heap's reference */
	labrpc_timer_heap_add(&net->timers, &req->timer, due_ns);
	/* Wake the timer only if it sleeps past the new deadline. */
	if (due_ns < net->timer_sleeps_until)
		w->timer = true;
}

static void timer_disarm(struct labrpc_net *net, struct labrpc_req *req)
{
	if (!timer_armed(&req->timer))
		return;
	labrpc_timer_heap_remove(&net->timers, &req->timer);
	req_put(req); /* never the last: whoever calls this holds one */
}

/* A new request on end, holding one reference (its caller's, or for a
 * duplicate its own), with no timer armed. Needs no lock. */
static struct labrpc_req *req_alloc(struct labrpc_end *end,
                                    const char *svc_meth)
{
	size_t meth_len = strlen(svc_meth);
	struct labrpc_req *req = xcalloc(1, sizeof *req + meth_len + 1);
	memcpy(req->svc_meth, svc_meth, meth_len + 1);
	atomic_init(&req->refs, 1);
	req->end = end;
	timer_node_init(&req->timer);
	sem_init(&req->woken, 0, 0);
	return req;
}

/* Puts req on net->pending, the requests cleanup fails if they are still
 * there. */
static void pending_add(struct labrpc_net *net, struct labrpc_req *req)
{
	req->next = net->pending;
	if (net->pending)
		net->pending->prev = req;
	net->pending = req;
}

static void req_get(struct labrpc_req *req)
{
	atomic_fetch_add(&req->refs, 1);
}

/* Drops a reference; needs no lock. */
static void req_put(struct labrpc_req *req)
{
	if (atomic_fetch_sub(&req->refs, 1) != 1)
		return;
	sem_destroy(&req->woken);
	server_put(req->srv);
	free(req->args);
	free(req->reply);
	free(req);
}

/* Makes the wake-ups of w; the network lock must not be held. */
static void wakeups_flush(struct labrpc_net *net, struct wakeups *w)
{
	labrpc_pool_wake(&w->workers);
	if (w->timer)
		pthread_cond_signal(&net->timer_cond);
	w->timer = false;
	while (w->done) {
		struct labrpc_req *req = w->done;
		w->done = req->wake_next;
		sem_post(&req->woken);
		if (req->copy)
			req_put(req); /* its own: no caller takes it */
		req_put(req);
	}
}

/* ---- servers ---- */

/* Atomic: needs no lock. */
static void server_get(struct labrpc_server *srv)
{
	if (srv)
		atomic_fetch_add(&srv->refs, 1);
}

static void server_put(struct labrpc_server *srv)
{
	if (!srv || atomic_fetch_sub(&srv->refs, 1) != 1)
		return;
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->mu);
	free(srv->services);
	free(srv);
}

struct labrpc_server *labrpc_server_make(void)
{
	struct labrpc_server *srv = xcalloc(1, sizeof *srv);
	atomic_init(&srv->refs, 1);
	atomic_init(&srv->closed, false);
	pthread_mutex_init(&srv->mu, NULL);
	pthread_cond_init(&srv->idle, NULL);
	return srv;
}

void labrpc_server_add_service(struct labrpc_server *srv,
                               const struct labrpc_service_def *def,
                               void *receiver)
{
	pthread_mutex_lock(&srv->mu);
	size_t i = 0;
	while (i < srv->nservices &&
	       strcmp(srv->services[i].def->name, def->name) != 0)
		i++;
	/* A new name is added; an old one is replaced, as in Go. */
	if (i == srv->nservices)
		srv->services =
		        xrealloc(srv->services,
		                 ++srv->nservices * sizeof *srv->services);
	srv->services[i] = (struct service){def, receiver};
	pthread_mutex_unlock(&srv->mu);
}

int labrpc_server_count(struct labrpc_server *srv)
{
	pthread_mutex_lock(&srv->mu);
	int n = srv->count;
	pthread_mutex_unlock(&srv->mu);
	return n;
}

void labrpc_server_free(struct labrpc_server *srv)
{
	if (!srv)
		return;
	pthread_mutex_lock(&srv->mu);
	atomic_store(&srv->closed, true);
	while (srv->running > 0)
		pthread_cond_wait(&srv->idle, &srv->mu);
	pthread_mutex_unlock(&srv->mu);
	server_put(srv);
}

/* Writes "[a b c]", Go's %v of a []string, to f. */
static void print_names(FILE *f, const char *(*name_at)(const void *, size_t),
                        const void *table, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? " " : "", name_at(table, i));
	fputc(']', f);
}

static const char *service_name_at(const void *table, size_t i)
{
	return ((const struct service *)table)[i].def->name;
}

static const char *method_name_at(const void *table, size_t i)
{
	return ((const struct labrpc_method *)table)[i].name;
}

/* Process-fatal: "<prefix><names list>". */
static _Noreturn void fatal_with_names(const char *prefix,
                                       const char *(*name_at)(const void *,
                                                              size_t),
                                       const void *table, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		fatalf("%s[...]", prefix);
	fputs(prefix, f);
	print_names(f, name_at, table, n);
	fclose(f);
	fatalf("%s", buf);
}

/*
 * Runs req's handler on srv (Go's Server.dispatch and Service.dispatch):
 * decodes a private copy of the args, zeroes a reply, calls the handler and
 * encodes its reply into *reply. Returns false, running nothing, if srv has
 * been freed. Called without the network lock.
 */
static bool server_dispatch(struct labrpc_server *srv,
                            const struct labrpc_req *req, uint8_t **reply,
                            size_t *reply_len)
{
	const char *svc_meth = req->svc_meth;
	const char *dot = strrchr(svc_meth, '.');
	size_t svc_len = dot ? (size_t)(dot - svc_meth) : strlen(svc_meth);
	const char *meth_name = dot ? dot + 1 : "";

	pthread_mutex_lock(&srv->mu);
	if (atomic_load(&srv->closed)) {
		pthread_mutex_unlock(&srv->mu);
		return false;
	}
	srv->count++;
	struct service svc = {NULL, NULL};
	for (size_t i = 0; i < srv->nservices; i++) {
		const char *name = srv->services[i].def->name;
		if (strncmp(name, svc_meth, svc_len) == 0 &&
		    name[svc_len] == '\0') {
			svc = srv->services[i];
			break;
		}
	}
	if (!svc.def) {
		char prefix[512];
		snprintf(prefix, sizeof prefix,
		         "labrpc.Server.dispatch(): unknown service %.*s in "
		         "%.*s.%s; expecting one of ",
		         (int)svc_len, svc_meth, (int)svc_len, svc_meth,
		         meth_name);
		fatal_with_names(prefix, service_name_at, srv->services,
		                 srv->nservices);
	}
	srv->running++;
	pthread_mutex_unlock(&srv->mu);

	const struct labrpc_method *m = NULL;
	for (size_t i = 0; i < svc.def->nmethods && !m; i++)
		if (strcmp(svc.def->methods[i].name, meth_name) == 0)
			m = &svc.def->methods[i];
	if (!m) {
		char prefix[512];
		snprintf(prefix, sizeof prefix,
		         "labrpc.Service.dispatch(): unknown method %s in %s; "
		         "expecting one of ",
		         meth_name, svc_meth);
		fatal_with_names(prefix, method_name_at, svc.def->methods,
		                 svc.def->nmethods);
	}

	void *args = xcalloc(1, m->args_type->size);
	int err = codec_decode_message(m->args_type, req->args, req->args_len,
	                               args);
	if (err)
		fatalf("labrpc: decode args of %s: %s", svc_meth,
		       codec_strerror(err));
	void *rep = xcalloc(1, m->reply_type->size);

	sim_charge_delivery(req->args_len); /* the request's */
	m->handler(svc.receiver, args, rep);

	struct codec_buf b;
	codec_buf_init(&b);
	m->reply_type->encode(&b, rep);
	*reply = codec_buf_take(&b, reply_len);
	if (m->args_type->release)
		m->args_type->release(args);
	if (m->reply_type->release)
		m->reply_type->release(rep);
	free(args);
	free(rep);

	pthread_mutex_lock(&srv->mu);
	if (--srv->running == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->mu);
	return true;
}

/* ---- the network ---- */

struct labrpc_net *labrpc_net_make(uint64_t seed)
{
	struct labrpc_net *net = xcalloc(1, sizeof *net);
	pthread_mutex_init(&net->mu, NULL);
	net->seed = seed;
	net->reliable = true;
	labrpc_name_map_init(&net->ends);
	labrpc_name_map_init(&net->servers);
	net->timer_sleeps_until = INT64_MIN;
	labrpc_timer_heap_init(&net->timers);
	labrpc_pool_init(&net->pool, &net->mu, net, job_keep, handler_run);
	if (labtime_cond_init(&net->timer_cond) != 0)
		fatalf("labrpc: cannot make a monotonic condition variable");
	int err = pthread_create(&net->timer, NULL, timer_main, net);
	if (err)
		fatalf("labrpc: cannot start the timer thread: %s",
		       strerror(err));
	return net;
}

uint64_t labrpc_seed_from_env(void)
{
	const char *s = getenv("RAFTLAB_SEED");
	if (!s || !*s)
		return prng_entropy_seed();
	int base = 10;
	const char *digits = s;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = s + 2;
	}
	/* strtoull would also take leading blanks, signs and a bare "0x". */
	bool digit_first = base == 16 ? isxdigit((unsigned char)digits[0])
	                              : isdigit((unsigned char)digits[0]);
	char *rest = NULL;
	errno = 0;
	unsigned long long v = digit_first ? strtoull(digits, &rest, base) : 0;
	if (!digit_first || errno != 0 || *rest != '\0')
		fatalf("labrpc: RAFTLAB_SEED=\"%s\" is not a decimal or 0x-hex "
		       "64-bit seed",
		       s);
	return (uint64_t)v;
}

void labrpc_net_reliable(struct labrpc_net *net, bool yes)
{
	pthread_mutex_lock(&net->mu);
	net->reliable = yes;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_net_long_reordering(struct labrpc_net *net, bool yes)
{
	pthread_mutex_lock(&net->mu);
	net->long_reordering = yes;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_net_latency(struct labrpc_net *net, int64_t request_ns,
                        int64_t reply_ns)
{
	if (request_ns < 0 || reply_ns < 0)
		fatalf("labrpc_net_latency: a negative latency (%" PRId64
		       " ns, %" PRId64 " ns)",
		       request_ns, reply_ns);
	pthread_mutex_lock(&net->mu);
	net->request_latency_ns = request_ns;
	net->reply_latency_ns = reply_ns;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_net_duplicates(struct labrpc_net *net, bool yes)
{
	pthread_mutex_lock(&net->mu);
	net->duplicates = yes;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_net_request_tap(struct labrpc_net *net, labrpc_request_tap fn,
                            void *arg)
{
	pthread_mutex_lock(&net->mu);
	net->tap = fn;
	net->tap_arg = arg;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_net_reply_hook(struct labrpc_net *net, labrpc_reply_hook fn,
                           void *arg)
{
	pthread_mutex_lock(&net->mu);
	net->reply_hook = fn;
	net->reply_hook_arg = arg;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_net_long_delays(struct labrpc_net *net, bool yes)
{
	pthread_mutex_lock(&net->mu);
	net->long_delays = yes;
	pthread_mutex_unlock(&net->mu);
}

/* The live end named name; an unknown name is fatal for who (the API call). */
static struct labrpc_end *end_lookup(struct labrpc_net *net, const char *name,
                                     const char *who)
{
	struct name_node *n = labrpc_name_map_find(&net->ends, name);
	if (!n)
		fatalf("%s: %s doesn't exist", who, name);
	return container_of(n, struct labrpc_end, node);
}

/* The slot named name, made (empty) if there is none. */
static struct server_slot *slot_get(struct labrpc_net *net, const char *name)
{
	struct name_node *n = labrpc_name_map_find(&net->servers, name);
	if (n)
		return container_of(n, struct server_slot, node);
	size_t len = strlen(name);
	struct server_slot *slot = xcalloc(1, sizeof *slot + len + 1);
	memcpy(slot->name, name, len + 1);
	slot->node.name = slot->name;
	labrpc_name_map_insert(&net->servers, &slot->node);
	return slot;
}

/* A name's stream number: FNV-1a, so that ends named alike still get
 * unrelated streams (prng_seed mixes its seed). */
static uint64_t name_stream(const char *name)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * UINT64_C(0x100000001b3);
	return h;
}

struct labrpc_end *labrpc_make_end(struct labrpc_net *net, const char *name)
{
	size_t len = strlen(name);
	struct labrpc_end *end = xcalloc(1, sizeof *end + len + 1);
	memcpy(end->name, name, len + 1);
	end->node.name = end->name;
	end->net = net;
	prng_seed(&end->prng, net->seed ^ name_stream(name));

	pthread_mutex_lock(&net->mu);
	if (labrpc_name_map_find(&net->ends, name))
		fatalf("MakeEnd: %s already exists", name);
	labrpc_name_map_insert(&net->ends, &end->node);
	end->next = net->all_ends;
	net->all_ends = end;
	pthread_mutex_unlock(&net->mu);
	return end;
}

void labrpc_delete_end(struct labrpc_net *net, const char *name)
{
	pthread_mutex_lock(&net->mu);
	/* Go's message reads "MakeEnd: %v doesn't exists"; ours names the call.
	 */
	struct labrpc_end *end = end_lookup(net, name, "DeleteEnd");
	labrpc_name_map_remove(&net->ends, &end->node);
	end->deleted = true;
	end->enabled = false;
	end->conn = NULL;
	struct wakeups w = {0};
	struct labrpc_req *req = net->pending;
	while (req) {
		struct labrpc_req *next = req->next;
		if (req->end == end)
			req_complete(net, req, false, &w);
		req = next;
	}
	pthread_mutex_unlock(&net->mu);
	wakeups_flush(net, &w);
}

void labrpc_connect(struct labrpc_net *net, const char *endname,
                    const char *servername)
{
	pthread_mutex_lock(&net->mu);
	struct labrpc_end *end = end_lookup(net, endname, "Connect");
	end->conn = servername ? slot_get(net, servername) : NULL;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_enable(struct labrpc_net *net, const char *endname, bool enabled)
{
	pthread_mutex_lock(&net->mu);
	end_lookup(net, endname, "Enable")->enabled = enabled;
	pthread_mutex_unlock(&net->mu);
}

void labrpc_add_server(struct labrpc_net *net, const char *servername,
                       struct labrpc_server *srv)
{
	pthread_mutex_lock(&net->mu);
	struct server_slot *slot = slot_get(net, servername);
	if (slot->srv != srv) {
		server_get(srv);
		server_put(slot->srv);
		slot->srv = srv;
	}
	pthread_mutex_unlock(&net->mu);
}

void labrpc_delete_server(struct labrpc_net *net, const char *servername)
{
	pthread_mutex_lock(&net->mu);
	struct name_node *n = labrpc_name_map_find(&net->servers, servername);
	if (n) {
		struct server_slot *slot =
		        container_of(n, struct server_slot, node);
		server_put(slot->srv);
		slot->srv = NULL;
	}
	pthread_mutex_unlock(&net->mu);
}

/* ---- counts ---- */

int labrpc_get_count(struct labrpc_net *net, const char *servername)
{
	pthread_mutex_lock(&net->mu);
	struct name_node *n = labrpc_name_map_find(&net->servers, servername);
	struct labrpc_server *srv =
	        n ? container_of(n, struct server_slot, node)->srv : NULL;
	int count = srv ? labrpc_server_count(srv) : 0;
	pthread_mutex_unlock(&net->mu);
	return count;
}

int labrpc_total_count(struct labrpc_net *net)
{
	pthread_mutex_lock(&net->mu);
	int n = net->count;
	pthread_mutex_unlock(&net->mu);
	return n;
}

int64_t labrpc_total_bytes(struct labrpc_net *net)
{
	pthread_mutex_lock(&net->mu);
	int64_t n = net->bytes;
	pthread_mutex_unlock(&net->mu);
	return n;
}

uint64_t labrpc_net_seed(struct labrpc_net *net)
{
	return net->seed; /* fixed at make time */
}

int labrpc_peak_threads(struct labrpc_net *net)
{
	pthread_mutex_lock(&net->mu);
	/* The timer thread and every worker: none exits before cleanup. */
	int n = 1 + net->pool.nworkers;
	pthread_mutex_unlock(&net->mu);
	return n;
}

/* ---- cleanup ---- */

void labrpc_net_cleanup(struct labrpc_net *net)
{
	pthread_mutex_lock(&net->mu);
	if (net->stopping) {
		pthread_mutex_unlock(&net->mu);
		return;
	}
	net->stopping = true;
	struct wakeups w = {0};
	while (net->pending)
		req_complete(net, net->pending, false, &w);
	/* Every idle worker wakes, and exits. */
	labrpc_pool_stop(&net->pool, &w.workers);
	w.timer = true;
	pthread_mutex_unlock(&net->mu);
	wakeups_flush(net, &w);

	/* No worker can be added now: only new calls and timers start jobs. */
	pthread_join(net->timer, NULL);
	labrpc_pool_join(&net->pool);
}

void labrpc_net_free(struct labrpc_net *net)
{
	if (!net)
		return;
	labrpc_net_cleanup(net);
	struct name_node *n;
	while ((n = labrpc_name_map_pop(&net->servers)) != NULL) {
		struct server_slot *slot =
		        container_of(n, struct server_slot, node);
		server_put(slot->srv);
		free(slot);
	}
	while (net->all_ends) {
		struct labrpc_end *end = net->all_ends;
		net->all_ends = end->next;
		free(end);
	}
	labrpc_name_map_destroy(&net->servers);
	labrpc_name_map_destroy(&net->ends);
	labrpc_timer_heap_destroy(&net->timers);
	labrpc_pool_destroy(&net->pool);
	pthread_cond_destroy(&net->timer_cond);
	pthread_mutex_destroy(&net->mu);
	free(net);
}

/* ---- fatal errors and allocation ---- */

/* Process-fatal, like Go's log.Fatalf: print the message and exit(1) at once,
 * without running exit handlers (other threads are still running). */
static void fatalf(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size ? size : 1);
	if (!p)
		fatalf("labrpc: out of memory");
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p)
		fatalf("labrpc: out of memory");
	return p;
}
