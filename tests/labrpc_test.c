/*
 * labrpc_test.c: labrpc's own tests. The first eleven port the original
 * src/labrpc/test_test.go (spec 1.7) one for one, with its JunkServer; the
 * rest check what the original leaves alone (spec 1.3-1.5): no reply from a
 * dead server, deleted ends, freed servers, long delays, long reordering,
 * replies dropped after the handler ran, seed replay, the bound on the
 * network's threads, and the fatal errors for bad calls.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan/chan.h"
#include "codec/codec.h"
#include "labrpc/labrpc.h"
#include "labtime/labtime.h"
#include "tests/runner.h"

/* ---- the messages: Go's int, string, JunkArgs and JunkReply ---- */

struct junk_int {
	int64_t v;
};

struct junk_str {
	char *s; /* NULL reads as "" */
};

struct junk_args {
	int64_t x;
};

struct junk_reply {
	char *x;
};

static void int_encode(struct codec_buf *b, const void *value)
{
	codec_put_varint(b, ((const struct junk_int *)value)->v);
}

static int int_decode(struct codec_reader *r, void *value)
{
	return codec_get_varint(r, &((struct junk_int *)value)->v);
}

static void put_text(struct codec_buf *b, const char *s)
{
	codec_put_str(b, s ? s : "");
}

static int get_text(struct codec_reader *r, char **s)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int err = codec_get_bytes(r, &data, &len);
	*s = (char *)data;
	return err;
}

static void str_encode(struct codec_buf *b, const void *value)
{
	put_text(b, ((const struct junk_str *)value)->s);
}

static int str_decode(struct codec_reader *r, void *value)
{
	return get_text(r, &((struct junk_str *)value)->s);
}

static void str_release(void *value)
{
	free(((struct junk_str *)value)->s);
}

static void args_encode(struct codec_buf *b, const void *value)
{
	codec_put_varint(b, ((const struct junk_args *)value)->x);
}

static int args_decode(struct codec_reader *r, void *value)
{
	return codec_get_varint(r, &((struct junk_args *)value)->x);
}

static void reply_encode(struct codec_buf *b, const void *value)
{
	put_text(b, ((const struct junk_reply *)value)->x);
}

static int reply_decode(struct codec_reader *r, void *value)
{
	return get_text(r, &((struct junk_reply *)value)->x);
}

static void reply_release(void *value)
{
	free(((struct junk_reply *)value)->x);
}

static const struct codec_type int_type = {
        "int", sizeof(struct junk_int), int_encode, int_decode, NULL,
};
static const struct codec_type str_type = {
        "string", sizeof(struct junk_str), str_encode, str_decode, str_release,
};
static const struct codec_type junk_args_type = {
        "JunkArgs", sizeof(struct junk_args), args_encode, args_decode, NULL,
};
static const struct codec_type junk_reply_type = {
        "JunkReply",   sizeof(struct junk_reply), reply_encode, reply_decode,
        reply_release,
};

/* ---- JunkServer ---- */

struct junk_server {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* ends Handler3's sleep when the test is over */
	bool stopping;
	int handler3_running; /* Handler3 calls inside their sleep */
	int handler3_release; /* Handler3 calls to end early, one each */
	char **log1;
	size_t nlog1, cap1;
	int64_t *log2;
	size_t nlog2, cap2;
};

/* Go's append: makes room for one more element, doubling as needed. */
static void *grow(void *array, size_t *cap, size_t len, size_t elem_size)
{
	if (len < *cap)
		return array;
	*cap = *cap ? 2 * *cap : 16;
	array = realloc(array, *cap * elem_size);
	if (!array)
		abort();
	return array;
}

static void junk_init(struct junk_server *js)
{
	memset(js, 0, sizeof *js);
	pthread_mutex_init(&js->mu, NULL);
	labtime_cond_init(&js->wake);
}

/* Wakes every sleeping Handler3 and keeps later ones from sleeping. */
static void junk_stop(struct junk_server *js)
{
	pthread_mutex_lock(&js->mu);
	js->stopping = true;
	pthread_cond_broadcast(&js->wake);
	pthread_mutex_unlock(&js->mu);
}

static void junk_destroy(struct junk_server *js)
{
	for (size_t i = 0; i < js->nlog1; i++)
		free(js->log1[i]);
	free(js->log1);
	free(js->log2);
	pthread_cond_destroy(&js->wake);
	pthread_mutex_destroy(&js->mu);
}

static size_t junk_log2_len(struct junk_server *js)
{
	pthread_mutex_lock(&js->mu);
	size_t n = js->nlog2;
	pthread_mutex_unlock(&js->mu);
	return n;
}

static char *text_printf(const char *fmt, long long v)
{
	char buf[64];
	snprintf(buf, sizeof buf, fmt, v);
	char *s = strdup(buf);
	if (!s)
		abort();
	return s;
}

/* string -> int, with Atoi; logs its args. */
static void handler1(void *receiver, const void *args, void *reply)
{
	struct junk_server *js = receiver;
	const char *a = ((const struct junk_str *)args)->s;
	pthread_mutex_lock(&js->mu);
	js->log1 = grow(js->log1, &js->cap1, js->nlog1, sizeof *js->log1);
	js->log1[js->nlog1++] = strdup(a);
	((struct junk_int *)reply)->v = atoi(a);
	pthread_mutex_unlock(&js->mu);
}

/* int -> "handler2-N"; logs its args. */
static void handler2(void *receiver, const void *args, void *reply)
{
	struct junk_server *js = receiver;
	int64_t a = ((const struct junk_int *)args)->v;
	pthread_mutex_lock(&js->mu);
	js->log2 = grow(js->log2, &js->cap2, js->nlog2, sizeof *js->log2);
	js->log2[js->nlog2++] = a;
	((struct junk_str *)reply)->s =
	        text_printf("handler2-%lld", (long long)a);
	pthread_mutex_unlock(&js->mu);
}

/* Sleeps 20 s (or until the test ends or releases it), then int -> -int. */
static void handler3(void *receiver, const void *args, void *reply)
{
	struct junk_server *js = receiver;
	int64_t deadline = labtime_now_ns() + INT64_C(20000000000);
	pthread_mutex_lock(&js->mu);
	js->handler3_running++;
	pthread_cond_broadcast(&js->wake);
	while (!js->stopping && js->handler3_release == 0 &&
	       labtime_cond_wait_until(&js->wake, &js->mu, deadline) == 0)
		;
	if (js->handler3_release > 0)
		js->handler3_release--;
	js->handler3_running--;
	pthread_cond_broadcast(&js->wake);
	((struct junk_int *)reply)->v = -((const struct junk_int *)args)->v;
	pthread_mutex_unlock(&js->mu);
}

/* Go's Handler4 takes *JunkArgs and Handler5 JunkArgs by value. In C both
 * get a private const copy; the pair checks that two methods with the same
 * struct args type are told apart. */
static void handler4(void *receiver, const void *args, void *reply)
{
	(void)receiver, (void)args;
	((struct junk_reply *)reply)->x = strdup("pointer");
}

static void handler5(void *receiver, const void *args, void *reply)
{
	(void)receiver, (void)args;
	((struct junk_reply *)reply)->x = strdup("no pointer");
}

/* string -> its length. */
static void handler6(void *receiver, const void *args, void *reply)
{
	struct junk_server *js = receiver;
	pthread_mutex_lock(&js->mu);
	((struct junk_int *)reply)->v =
	        (int64_t)strlen(((const struct junk_str *)args)->s);
	pthread_mutex_unlock(&js->mu);
}

/* int n -> n 'y' characters. */
static void handler7(void *receiver, const void *args, void *reply)
{
	struct junk_server *js = receiver;
	int64_t n = ((const struct junk_int *)args)->v;
	pthread_mutex_lock(&js->mu);
	char *s = malloc((size_t)n + 1);
	memset(s, 'y', (size_t)n);
	s[n] = '\0';
	((struct junk_str *)reply)->s = s;
	pthread_mutex_unlock(&js->mu);
}

static const struct labrpc_method junk_methods[] = {
        {"Handler1", &str_type, &int_type, handler1},
        {"Handler2", &int_type, &str_type, handler2},
        {"Handler3", &int_type, &int_type, handler3},
        {"Handler4", &junk_args_type, &junk_reply_type, handler4},
        {"Handler5", &junk_args_type, &junk_reply_type, handler5},
        {"Handler6", &str_type, &int_type, handler6},
        {"Handler7", &int_type, &str_type, handler7},
};

static const struct labrpc_service_def junk_service = {
        "JunkServer",
        junk_methods,
        sizeof junk_methods / sizeof junk_methods[0],
};

/* Waits until n Handler3 calls are inside their sleep. */
static void wait_handler3_running(struct junk_server *js, int n)
{
	pthread_mutex_lock(&js->mu);
	while (js->handler3_running != n)
		pthread_cond_wait(&js->wake, &js->mu);
	pthread_mutex_unlock(&js->mu);
}

/* Ends one sleeping Handler3 call now. */
static void release_handler3(struct junk_server *js)
{
	pthread_mutex_lock(&js->mu);
	js->handler3_release++;
	pthread_cond_broadcast(&js->wake);
	pthread_mutex_unlock(&js->mu);
}

/* ---- typed calls: e.Call(svcMeth, args, &reply) ---- */

/* On success *reply takes the new string (the old one is freed); on failure
 * it is left as it was, like Go's reply variable. */
static bool call_int_str(struct labrpc_end *e, const char *svc_meth,
                         int64_t arg, char **reply)
{
	struct junk_int a = {arg};
	struct junk_str r = {NULL};
	if (!labrpc_call(e, svc_meth, &int_type, &a, &str_type, &r))
		return false;
	free(*reply);
	*reply = r.s;
	return true;
}

static bool call_str_int(struct labrpc_end *e, const char *svc_meth,
                         const char *arg, int64_t *reply)
{
	struct junk_str a = {(char *)arg};
	struct junk_int r = {0};
	if (!labrpc_call(e, svc_meth, &str_type, &a, &int_type, &r))
		return false;
	*reply = r.v;
	return true;
}

static bool call_int_int(struct labrpc_end *e, const char *svc_meth,
                         int64_t arg, int64_t *reply)
{
	struct junk_int a = {arg};
	struct junk_int r = {0};
	if (!labrpc_call(e, svc_meth, &int_type, &a, &int_type, &r))
		return false;
	*reply = r.v;
	return true;
}

/* "handler2-N" for arg N. */
static bool handler2_reply_ok(const char *reply, int64_t arg)
{
	char wanted[64];
	snprintf(wanted, sizeof wanted, "handler2-%lld", (long long)arg);
	return reply && strcmp(reply, wanted) == 0;
}

/* ---- a test's world: one network, one JunkServer ---- */

struct world {
	struct labrpc_net *net;
	struct junk_server js;
	struct labrpc_server *rs;
};

/* MakeNetwork, MakeService(js), MakeServer, AddService, AddServer(name). */
static void world_make(struct world *w, const char *servername)
{
	w->net = labrpc_net_make(runner_seed());
	junk_init(&w->js);
	w->rs = labrpc_server_make();
	labrpc_server_add_service(w->rs, &junk_service, &w->js);
	labrpc_add_server(w->net, servername, w->rs);
}

/* Go's deferred rn.Cleanup(), then everything is freed. */
static void world_free(struct world *w)
{
	junk_stop(&w->js);
	labrpc_net_cleanup(w->net);
	labrpc_server_free(w->rs);
	labrpc_net_free(w->net);
	junk_destroy(&w->js);
}

/* MakeEnd(endname), Connect(endname, servername), Enable(endname, true). */
static struct labrpc_end *world_end(struct world *w, const char *endname,
                                    const char *servername)
{
	struct labrpc_end *e = labrpc_make_end(w->net, endname);
	labrpc_connect(w->net, endname, servername);
	labrpc_enable(w->net, endname, true);
	return e;
}

static void start_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	if (pthread_create(thread, NULL, fn, arg) != 0)
		runner_fatalf("pthread_create failed");
}

static double since_s(int64_t t0_ns)
{
	return (double)(labtime_now_ns() - t0_ns) / 1e9;
}

static int64_t scaled_ms(double ms)
{
	return (int64_t)(ms * runner_time_scale());
}

/* ---- the original tests ---- */

static void test_basic(void)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");

	char *reply = NULL;
	call_int_str(e, "JunkServer.Handler2", 111, &reply);
	if (!reply || strcmp(reply, "handler2-111") != 0)
		runner_fatalf("wrong reply from Handler2");
	free(reply);

	int64_t n = 0;
	call_str_int(e, "JunkServer.Handler1", "9099", &n);
	if (n != 9099)
		runner_fatalf("wrong reply from Handler1");

	world_free(&w);
}

static void test_types(void)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");

	struct junk_args args = {0};
	struct junk_reply reply = {NULL};
	labrpc_call(e, "JunkServer.Handler4", &junk_args_type, &args,
	            &junk_reply_type, &reply);
	if (!reply.x || strcmp(reply.x, "pointer") != 0)
		runner_fatalf("wrong reply from Handler4");
	reply_release(&reply);

	reply.x = NULL;
	labrpc_call(e, "JunkServer.Handler5", &junk_args_type, &args,
	            &junk_reply_type, &reply);
	if (!reply.x || strcmp(reply.x, "no pointer") != 0)
		runner_fatalf("wrong reply from Handler5");
	reply_release(&reply);

	world_free(&w);
}

/* Does Enable(endname, false) really disconnect a client? */
static void test_disconnect(void)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = labrpc_make_end(w.net, "end1-99");
	labrpc_connect(w.net, "end1-99", "server99");

	char *reply = NULL;
	call_int_str(e, "JunkServer.Handler2", 111, &reply);
	if (reply != NULL)
		runner_fatalf("unexpected reply from Handler2");

	labrpc_enable(w.net, "end1-99", true);

	int64_t n = 0;
	call_str_int(e, "JunkServer.Handler1", "9099", &n);
	if (n != 9099)
		runner_fatalf("wrong reply from Handler1");

	world_free(&w);
}

/* GetCount counts the RPCs dispatched to a server. */
static void test_counts(void)
{
	struct world w;
	world_make(&w, "99");
	struct labrpc_end *e = world_end(&w, "end1-99", "99");

	for (int i = 0; i < 17; i++) {
		char *reply = NULL;
		call_int_str(e, "JunkServer.Handler2", i, &reply);
		if (!handler2_reply_ok(reply, i))
			runner_fatalf("wrong reply %s from Handler1, expecting "
			              "handler2-%d",
			              reply ? reply : "", i);
		free(reply);
	}

	int n = labrpc_get_count(w.net, "99");
	if (n != 17)
		runner_fatalf("wrong GetCount() %d, expected 17", n);

	world_free(&w);
}

/*
 * GetTotalBytes counts args on entry and delivered replies.
 *
 * The original bounds are calibrated to Go's gob: 17 calls measured 5134
 * bytes against [4828, 6000], then 1972 against [1800, 2500]. Ours, from the
 * codec's encoding:
 *   Handler6: args, a 288-byte string = uvarint 288 (2 bytes) + 288 = 290;
 *             reply, the int 288 = zigzag varint 576 (2 bytes) = 2;
 *             17 * (290 + 2) = 4964.
 *   Handler7: args, the int 107 = zigzag varint 214 (2 bytes) = 2;
 *             reply, 107 'y's = uvarint 107 (1 byte) + 107 = 108;
 *             17 * (2 + 108) = 1870.
 * The bounds keep the original's shape around the measured value:
 * [4828/5134, 6000/5134] * 4964 = [4668, 5801] and
 * [1800/1972, 2500/1972] * 1870 = [1707, 2371].
 */
static void test_bytes(void)
{
	struct world w;
	world_make(&w, "99");
	struct labrpc_end *e = world_end(&w, "end1-99", "99");

	for (int i = 0; i < 17; i++) {
		char args[4 * 72 + 1];
		memset(args, 'x', 4 * 72);
		args[4 * 72] = '\0';
		int64_t reply = 0;
		call_str_int(e, "JunkServer.Handler6", args, &reply);
		if (reply != (int64_t)strlen(args))
			runner_fatalf("wrong reply %" PRId64
			              " from Handler6, expecting %zu",
			              reply, strlen(args));
	}

	int64_t n = labrpc_total_bytes(w.net);
	if (n < 4668 || n > 5801)
		runner_fatalf("wrong GetTotalBytes() %" PRId64
		              ", expected about 4964",
		              n);

	for (int i = 0; i < 17; i++) {
		int64_t args = 107;
		char *reply = NULL;
		call_int_str(e, "JunkServer.Handler7", args, &reply);
		size_t got = reply ? strlen(reply) : 0;
		if (got != (size_t)args)
			runner_fatalf("wrong reply len=%zu from Handler6, "
			              "expecting %" PRId64,
			              got, args);
		free(reply);
	}

	int64_t nn = labrpc_total_bytes(w.net) - n;
	if (nn < 1707 || nn > 2371)
		runner_fatalf("wrong GetTotalBytes() %" PRId64
		              ", expected about 1870",
		              nn);

	world_free(&w);
}

/* A client thread with its own end (TestConcurrentMany, TestUnreliable). */
struct client {
	struct world *w;
	struct labrpc_end *e; /* NULL: make end "<i>" connected to "1000" */
	int i;
	int nrpcs;
	int64_t arg0; /* the j-th call sends arg0 + j */
	pthread_t thread;
	int n;        /* successful calls */
	int wrong;    /* successful calls with a wrong reply */
	char got[64]; /* the first wrong reply */
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	if (!c->e) {
		char name[32];
		snprintf(name, sizeof name, "%d", c->i);
		c->e = world_end(c->w, name, "1000");
	}
	for (int j = 0; j < c->nrpcs; j++) {
		char *reply = NULL;
		int64_t a = c->arg0 + j;
		if (call_int_str(c->e, "JunkServer.Handler2", a, &reply)) {
			if (!handler2_reply_ok(reply, a) && c->wrong++ == 0)
				snprintf(c->got, sizeof c->got, "%s",
				         reply ? reply : "");
			c->n++;
		}
		free(reply);
	}
	return NULL;
}

/* Runs nclients clients of nrpcs calls each; returns the successes. */
static int run_clients(struct world *w, struct labrpc_end *shared, int nclients,
                       int nrpcs, int64_t arg_step)
{
	struct client *cs = calloc((size_t)nclients, sizeof *cs);
	for (int i = 0; i < nclients; i++) {
		cs[i] = (struct client){.w = w,
		                        .e = shared,
		                        .i = i,
		                        .nrpcs = nrpcs,
		                        .arg0 = 100 + i * arg_step};
		start_thread(&cs[i].thread, client_main, &cs[i]);
	}
	int total = 0, wrong = 0;
	char got[64] = "";
	for (int i = 0; i < nclients; i++) {
		pthread_join(cs[i].thread, NULL);
		total += cs[i].n;
		if (cs[i].wrong && wrong++ == 0)
			memcpy(got, cs[i].got, sizeof got);
	}
	free(cs);
	if (wrong)
		runner_fatalf("wrong reply %s from Handler2 (%d clients saw a "
		              "wrong reply)",
		              got, wrong);
	return total;
}

/* RPCs from concurrent ClientEnds. */
static void test_concurrent_many(void)
{
	struct world w;
	world_make(&w, "1000");

	int nclients = 20, nrpcs = 10;
	int total = run_clients(&w, NULL, nclients, nrpcs, 100);
	if (total != nclients * nrpcs)
		runner_fatalf(
		        "wrong number of RPCs completed, got %d, expected %d",
		        total, nclients * nrpcs);

	int n = labrpc_get_count(w.net, "1000");
	if (n != total)
		runner_fatalf("wrong GetCount() %d, expected %d", n, total);

	world_free(&w);
}

static void test_unreliable(void)
{
	struct world w;
	world_make(&w, "1000");
	labrpc_net_reliable(w.net, false);

	int nclients = 300;
	int total = run_clients(&w, NULL, nclients, 1, 100);
	if (total == nclients || total == 0)
		runner_fatalf("all RPCs succeeded despite unreliable");

	world_free(&w);
}

/* Concurrent RPCs from a single ClientEnd. */
static void test_concurrent_one(void)
{
	struct world w;
	world_make(&w, "1000");
	struct labrpc_end *e = world_end(&w, "c", "1000");

	int nrpcs = 20;
	int total = run_clients(&w, e, nrpcs, 1, 1);
	if (total != nrpcs)
		runner_fatalf(
		        "wrong number of RPCs completed, got %d, expected %d",
		        total, nrpcs);
	if (junk_log2_len(&w.js) != (size_t)nrpcs)
		runner_fatalf("wrong number of RPCs delivered");

	int n = labrpc_get_count(w.net, "1000");
	if (n != total)
		runner_fatalf("wrong GetCount() %d, expected %d", n, total);

	world_free(&w);
}

/* An RPC delayed while its end is disabled must not delay later RPCs once
 * the end is enabled. */
static void test_regression1(void)
{
	struct world w;
	world_make(&w, "1000");
	struct labrpc_end *e = labrpc_make_end(w.net, "c");
	labrpc_connect(w.net, "c", "1000");

	/* Start some RPCs while the end is disabled; they will be delayed. */
	labrpc_enable(w.net, "c", false);
	int nrpcs = 20;
	struct client *cs = calloc((size_t)nrpcs, sizeof *cs);
	for (int i = 0; i < nrpcs; i++) {
		cs[i] = (struct client){
		        .w = &w, .e = e, .i = i, .nrpcs = 1, .arg0 = 100 + i};
		start_thread(&cs[i].thread, client_main, &cs[i]);
	}

	labtime_sleep_ms(100);

	/* Now enable the end and check that an RPC completes quickly. */
	int64_t t0 = labtime_now_ns();
	labrpc_enable(w.net, "c", true);
	char *reply = NULL;
	call_int_str(e, "JunkServer.Handler2", 99, &reply);
	if (!handler2_reply_ok(reply, 99))
		runner_fatalf(
		        "wrong reply %s from Handler2, expecting handler2-99",
		        reply ? reply : "");
	free(reply);
	double dur = since_s(t0);
	if (dur > 0.03 * runner_time_scale())
		runner_fatalf("RPC took too long (%fs) after Enable", dur);

	for (int i = 0; i < nrpcs; i++)
		pthread_join(cs[i].thread, NULL);
	free(cs);

	size_t delivered = junk_log2_len(&w.js);
	if (delivered != 1)
		runner_fatalf(
		        "wrong number (%zu) of RPCs delivered, expected 1",
		        delivered);
	int n = labrpc_get_count(w.net, "1000");
	if (n != 1)
		runner_fatalf("wrong GetCount() %d, expected 1", n);

	world_free(&w);
}

/* One call on its own thread; the result arrives on done (Go's doneCh). */
struct pending_call {
	struct labrpc_end *e;
	const char *svc_meth;
	int64_t arg;
	struct chan *done; /* buffered (1): gets this struct on return */
	pthread_t thread;
	bool ok;
	int64_t reply;
};

static void *pending_call_main(void *arg)
{
	struct pending_call *pc = arg;
	pc->ok = call_int_int(pc->e, pc->svc_meth, pc->arg, &pc->reply);
	chan_send(pc->done, pc);
	return NULL;
}

static void pending_call_start(struct pending_call *pc, struct labrpc_end *e,
                               const char *svc_meth, int64_t arg)
{
	pc->e = e;
	pc->svc_meth = svc_meth;
	pc->arg = arg;
	pc->done = chan_make(1);
	start_thread(&pc->thread, pending_call_main, pc);
}

/* Receives the call's result within timeout_ms; false if it did not come. */
static bool pending_call_returned(struct pending_call *pc, int64_t timeout_ms)
{
	void *item;
	return chan_recv_timeout(pc->done, &item, timeout_ms) == CHAN_OK;
}

static void pending_call_join(struct pending_call *pc)
{
	pthread_join(pc->thread, NULL);
	chan_free(pc->done);
}

/* If an RPC is stuck in a server and the server is killed with
 * DeleteServer(), does the RPC get un-stuck? */
static void test_killed(void)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");

	struct pending_call pc;
	pending_call_start(&pc, e, "JunkServer.Handler3", 99);

	labtime_sleep_ms(1000);
	if (pending_call_returned(&pc, scaled_ms(100)))
		runner_fatalf("Handler3 should not have returned yet");

	int64_t t0 = labtime_now_ns();
	labrpc_delete_server(w.net, "server99");

	if (!pending_call_returned(&pc, scaled_ms(100)))
		runner_fatalf("Handler3 should return after DeleteServer()");
	if (pc.ok)
		runner_fatalf("Handler3 returned successfully despite "
		              "DeleteServer()");
	printf("Handler3's call returned %.1f ms after DeleteServer\n",
	       since_s(t0) * 1e3);

	pending_call_join(&pc);
	world_free(&w);
}

/* A handler that returns after its server was deleted or replaced, or its
 * end disabled, gives no reply, even before the next 100 ms poll: the
 * network checks once more after the handler (spec 1.3, step 4). */
static void test_no_reply_from_dead_server(void)
{
	static const char *const how[] = {"DeleteServer", "AddServer (replace)",
	                                  "Enable(false)"};
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");
	struct labrpc_server *rs2 = labrpc_server_make();
	labrpc_server_add_service(rs2, &junk_service, &w.js);

	for (int i = 0; i < 3; i++) {
		struct pending_call pc;
		pending_call_start(&pc, e, "JunkServer.Handler3", i);
		wait_handler3_running(&w.js, 1);
		if (i == 0)
			labrpc_delete_server(w.net, "server99");
		else if (i == 1)
			labrpc_add_server(w.net, "server99", rs2);
		else
			labrpc_enable(w.net, "end1-99", false);
		release_handler3(&w.js);

		if (!pending_call_returned(&pc, scaled_ms(1000)))
			runner_fatalf("Handler3 did not return after %s",
			              how[i]);
		if (pc.ok)
			runner_fatalf("Handler3 returned successfully despite "
			              "%s",
			              how[i]);
		pending_call_join(&pc);
		wait_handler3_running(&w.js, 0);

		labrpc_add_server(w.net, "server99", w.rs);
		labrpc_enable(w.net, "end1-99", true);
	}

	labrpc_server_free(rs2);
	world_free(&w);
}

static void test_benchmark(void)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");

	int64_t t0 = labtime_now_ns();
	int n = 100000;
	for (int iters = 0; iters < n; iters++) {
		char *reply = NULL;
		call_int_str(e, "JunkServer.Handler2", 111, &reply);
		if (!reply || strcmp(reply, "handler2-111") != 0)
			runner_fatalf("wrong reply from Handler2");
		free(reply);
	}
	double s = since_s(t0);
	printf("%.3fs for %d calls (%.2f us/call)\n", s, n, s * 1e6 / n);
	/* March 2016, rtm's laptop, Go: 22 microseconds per RPC. */

	world_free(&w);
}

/* ---- the C port's own tests ---- */

/* labrpc_delete_end: calls in flight on the end return false at once, both
 * one waiting in a handler and one waiting out a long delay; later calls on
 * it fail without entering the network; its name can be used again. */
static void test_delete_end(void)
{
	struct world w;
	world_make(&w, "server99");
	labrpc_net_long_delays(w.net, true);
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");
	struct labrpc_end *off = labrpc_make_end(w.net, "off");
	labrpc_connect(w.net, "off",
	               "server99"); /* never enabled: fails in 0-7 s */

	struct pending_call in_handler, in_timer;
	pending_call_start(&in_handler, e, "JunkServer.Handler3", 1);
	pending_call_start(&in_timer, off, "JunkServer.Handler3", 2);
	wait_handler3_running(&w.js, 1);
	labtime_sleep_ms(50);

	int64_t t0 = labtime_now_ns();
	labrpc_delete_end(w.net, "end1-99");
	if (!pending_call_returned(&in_handler, scaled_ms(50)))
		runner_fatalf("a call in a handler did not return at once "
		              "after DeleteEnd");
	CU_ASSERT_FALSE(in_handler.ok);

	/* A long delay is < 7 s, but may be short: only check it when it is
	 * still pending. */
	bool still_pending = !pending_call_returned(&in_timer, 0);
	labrpc_delete_end(w.net, "off");
	if (still_pending && !pending_call_returned(&in_timer, scaled_ms(50)))
		runner_fatalf("a call waiting out a long delay did not return "
		              "at once after DeleteEnd");
	CU_ASSERT_FALSE(in_timer.ok);
	printf("in-flight calls returned %.1f ms after DeleteEnd\n",
	       since_s(t0) * 1e3);

	int count = labrpc_total_count(w.net);
	int64_t reply = 0;
	CU_ASSERT_FALSE(call_int_int(e, "JunkServer.Handler2", 3, &reply));
	CU_ASSERT_EQUAL(labrpc_total_count(w.net), count);

	/* The name is free again, and the new end is a different end. */
	struct labrpc_end *e2 = world_end(&w, "end1-99", "server99");
	CU_ASSERT_PTR_NOT_EQUAL(e2, e);
	char *s = NULL;
	CU_ASSERT_TRUE(call_int_str(e2, "JunkServer.Handler2", 4, &s));
	CU_ASSERT_TRUE(handler2_reply_ok(s, 4));
	free(s);

	pending_call_join(&in_handler);
	pending_call_join(&in_timer);
	world_free(&w);
}

struct server_freer {
	struct labrpc_server *srv;
	struct junk_server *js;
	pthread_t thread;
	atomic_bool returned;
	int handlers_running_at_return;
};

static void *server_freer_main(void *arg)
{
	struct server_freer *f = arg;
	labrpc_server_free(f->srv);
	pthread_mutex_lock(&f->js->mu);
	f->handlers_running_at_return = f->js->handler3_running;
	pthread_mutex_unlock(&f->js->mu);
	atomic_store(&f->returned, true);
	return NULL;
}

/* labrpc_server_free waits for the server's running handlers, a call whose
 * server is freed gets no reply, and a call that reaches the freed server
 * afterwards fails without running a handler. */
static void test_server_free_waits_for_handlers(void)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");

	struct pending_call pc;
	pending_call_start(&pc, e, "JunkServer.Handler3", 7);
	wait_handler3_running(&w.js, 1);

	/* Free the server while it is still in the network. */
	struct server_freer f = {.srv = w.rs, .js = &w.js};
	atomic_init(&f.returned, false);
	start_thread(&f.thread, server_freer_main, &f);
	w.rs = NULL; /* world_free must not free it again */

	/* The call sees a dead server at its next poll. */
	if (!pending_call_returned(&pc, scaled_ms(200)))
		runner_fatalf("a call to a freed server did not return within "
		              "one poll");
	CU_ASSERT_FALSE(pc.ok);

	labtime_sleep_ms(100);
	if (atomic_load(&f.returned))
		runner_fatalf("labrpc_server_free returned while a handler was "
		              "running");

	junk_stop(&w.js); /* Handler3 returns */
	pthread_join(f.thread, NULL);
	CU_ASSERT_EQUAL(f.handlers_running_at_return, 0);

	int count = labrpc_get_count(w.net, "server99");
	int64_t reply = 0;
	CU_ASSERT_FALSE(call_int_int(e, "JunkServer.Handler2", 8, &reply));
	CU_ASSERT_EQUAL(labrpc_get_count(w.net, "server99"), count);

	pending_call_join(&pc);
	world_free(&w);
}

struct timed_call {
	struct labrpc_end *e;
	int64_t arg;
	pthread_t thread;
	bool ok;
	bool right; /* the reply was the expected one */
	double secs;
};

static void *timed_call_main(void *arg)
{
	struct timed_call *tc = arg;
	int64_t t0 = labtime_now_ns();
	char *reply = NULL;
	tc->ok = call_int_str(tc->e, "JunkServer.Handler2", tc->arg, &reply);
	tc->secs = since_s(t0);
	tc->right = tc->ok && handler2_reply_ok(reply, tc->arg);
	free(reply);
	return NULL;
}

/* Runs n calls of Handler2 in parallel on end e, timing each. */
static struct timed_call *run_timed_calls(struct labrpc_end *e, int n)
{
	struct timed_call *tcs = calloc((size_t)n, sizeof *tcs);
	for (int i = 0; i < n; i++) {
		tcs[i] = (struct timed_call){.e = e, .arg = i};
		start_thread(&tcs[i].thread, timed_call_main, &tcs[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(tcs[i].thread, NULL);
	return tcs;
}

/* With long delays, a call on a disabled end fails after rand%7000 ms. */
static void test_long_delays(void)
{
	struct world w;
	world_make(&w, "server99");
	labrpc_net_long_delays(w.net, true);
	struct labrpc_end *e = labrpc_make_end(w.net, "end1-99");
	labrpc_connect(w.net, "end1-99", "server99");

	int n = 8;
	struct timed_call *tcs = run_timed_calls(e, n);
	double longest = 0;
	for (int i = 0; i < n; i++) {
		CU_ASSERT_FALSE(tcs[i].ok);
		if (tcs[i].secs > 7.1 * runner_time_scale())
			runner_fatalf(
			        "a call on a disabled end took %.3fs, over 7 s",
			        tcs[i].secs);
		if (tcs[i].secs > longest)
			longest = tcs[i].secs;
	}
	if (longest <= 0.1)
		runner_fatalf("no call took over 100 ms (longest %.3fs) "
		              "despite long delays",
		              longest);
	CU_ASSERT_EQUAL(labrpc_get_count(w.net, "server99"), 0);
	printf("longest of %d failed calls: %.3fs\n", n, longest);

	free(tcs);
	world_free(&w);
}

/* With long reordering, 2/3 of the replies wait 200..2199 ms. */
static void test_long_reordering(void)
{
	struct world w;
	world_make(&w, "server99");
	labrpc_net_long_reordering(w.net, true);
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");

	int n = 30, late = 0;
	double longest = 0;
	struct timed_call *tcs = run_timed_calls(e, n);
	for (int i = 0; i < n; i++) {
		if (!tcs[i].right)
			runner_fatalf("call %d: no reply or a wrong one "
			              "despite a reliable network",
			              i);
		if (tcs[i].secs > 2.2 * runner_time_scale())
			runner_fatalf(
			        "a reordered reply took %.3fs, over 2.2 s",
			        tcs[i].secs);
		if (tcs[i].secs >= 0.2)
			late++;
		if (tcs[i].secs > longest)
			longest = tcs[i].secs;
	}
	if (late == 0)
		runner_fatalf("no reply was held back 200 ms despite long "
		              "reordering");
	printf("%d of %d replies held back; longest %.3fs\n", late, n, longest);

	free(tcs);
	world_free(&w);
}

/* Unreliable: some requests are dropped before the handler (it never runs),
 * and some replies after it (it ran, but the call fails). */
static void test_reply_drop_after_handler(void)
{
	struct world w;
	world_make(&w, "1000");
	labrpc_net_reliable(w.net, false);

	int nclients = 10, nrpcs = 40, calls = nclients * nrpcs;
	int ok = run_clients(&w, NULL, nclients, nrpcs, 1000);
	int ran = (int)junk_log2_len(&w.js);
	printf("%d calls: %d handlers ran, %d replies delivered\n", calls, ran,
	       ok);
	if (ran >= calls)
		runner_fatalf("no request was dropped before its handler (%d "
		              "of %d ran)",
		              ran, calls);
	if (ok >= ran)
		runner_fatalf("no reply was dropped after its handler ran (%d "
		              "ok, %d ran)",
		              ok, ran);
	CU_ASSERT_EQUAL(labrpc_get_count(w.net, "1000"), ran);
	CU_ASSERT_EQUAL(labrpc_total_count(w.net), calls);

	world_free(&w);
}

struct replay {
	uint64_t seed;
	pthread_t thread;
	bool ok[200];
};

static void *replay_main(void *arg)
{
	struct replay *r = arg;
	struct labrpc_net *net = labrpc_net_make(r->seed);
	struct junk_server js;
	junk_init(&js);
	struct labrpc_server *rs = labrpc_server_make();
	labrpc_server_add_service(rs, &junk_service, &js);
	labrpc_add_server(net, "server99", rs);
	struct labrpc_end *e = labrpc_make_end(net, "end1-99");
	labrpc_connect(net, "end1-99", "server99");
	labrpc_enable(net, "end1-99", true);
	labrpc_net_reliable(net, false);

	for (size_t i = 0; i < sizeof r->ok / sizeof r->ok[0]; i++) {
		char *reply = NULL;
		r->ok[i] = call_int_str(e, "JunkServer.Handler2", (int64_t)i,
		                        &reply);
		free(reply);
	}

	labrpc_net_cleanup(net);
	labrpc_server_free(rs);
	labrpc_net_free(net);
	junk_destroy(&js);
	return NULL;
}

/* Two networks with the same seed make the same drop decisions for the same
 * sequential calls; another seed makes other ones. */
static void test_seed_replay(void)
{
	uint64_t seed = runner_seed();
	struct replay runs[3] = {
	        {.seed = seed}, {.seed = seed}, {.seed = seed + 1}};
	for (int i = 0; i < 3; i++)
		start_thread(&runs[i].thread, replay_main, &runs[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(runs[i].thread, NULL);

	int failures = 0;
	for (int i = 0; i < 200; i++)
		failures += !runs[0].ok[i];
	printf("seed %#" PRIx64 ": %d of 200 calls failed\n", seed, failures);
	if (memcmp(runs[0].ok, runs[1].ok, sizeof runs[0].ok) != 0)
		runner_fatalf("two networks with seed %#" PRIx64
		              " dropped different calls",
		              seed);
	CU_ASSERT(failures > 0 && failures < 200);
	CU_ASSERT(memcmp(runs[0].ok, runs[2].ok, sizeof runs[0].ok) != 0);
}

enum { NPEERS = 7 };

/* One peer's sender to one server, like a Raft peer's per-follower thread. */
struct sender {
	struct labrpc_end *e;
	int64_t stop_ns;
	pthread_t thread;
	int calls, ok, wrong;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	while (labtime_now_ns() < s->stop_ns) {
		char *reply = NULL;
		int64_t a = s->calls++;
		if (call_int_str(s->e, "JunkServer.Handler2", a, &reply)) {
			s->ok++;
			s->wrong += !handler2_reply_ok(reply, a);
		}
		free(reply);
	}
	return NULL;
}

/* Seven peers, each with an end to every server and a sender thread per
 * end, call for 2 s on an unreliable network with long reordering. Held-back
 * replies and delays cost the network no thread, so it stays small. */
static void test_peak_threads(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	labrpc_net_reliable(net, false);
	labrpc_net_long_reordering(net, true);
	struct junk_server js[NPEERS];
	struct labrpc_server *rs[NPEERS];
	for (int i = 0; i < NPEERS; i++) {
		char name[32];
		junk_init(&js[i]);
		rs[i] = labrpc_server_make();
		labrpc_server_add_service(rs[i], &junk_service, &js[i]);
		snprintf(name, sizeof name, "server%d", i);
		labrpc_add_server(net, name, rs[i]);
	}
	struct sender senders[NPEERS][NPEERS];
	int64_t stop = labtime_now_ns() + INT64_C(2000000000);
	for (int i = 0; i < NPEERS; i++) {
		for (int j = 0; j < NPEERS; j++) {
			char endname[32], servername[32];
			snprintf(endname, sizeof endname, "end%d-%d", i, j);
			snprintf(servername, sizeof servername, "server%d", j);
			senders[i][j] = (struct sender){
			        .e = labrpc_make_end(net, endname),
			        .stop_ns = stop};
			labrpc_connect(net, endname, servername);
			labrpc_enable(net, endname, true);
		}
	}
	for (int i = 0; i < NPEERS; i++)
		for (int j = 0; j < NPEERS; j++)
			start_thread(&senders[i][j].thread, sender_main,
			             &senders[i][j]);

	int calls = 0, ok = 0, wrong = 0;
	for (int i = 0; i < NPEERS; i++) {
		for (int j = 0; j < NPEERS; j++) {
			pthread_join(senders[i][j].thread, NULL);
			calls += senders[i][j].calls;
			ok += senders[i][j].ok;
			wrong += senders[i][j].wrong;
		}
	}
	int peak = labrpc_peak_threads(net);
	printf("%d peers x %d senders: %d calls, %d ok; peak %d network "
	       "threads\n",
	       NPEERS, NPEERS, calls, ok, peak);
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT(ok > 0 && ok < calls);
	if (peak >= 64)
		runner_fatalf("the network ran %d threads at once", peak);

	labrpc_net_cleanup(net);
	for (int i = 0; i < NPEERS; i++) {
		labrpc_server_free(rs[i]);
		junk_destroy(&js[i]);
	}
	labrpc_net_free(net);
}

/* Runs fn in a child process; returns its exit status and its stderr. */
static int run_child(void (*fn)(void), char *err, size_t errcap)
{
	int fds[2];
	if (pipe(fds) != 0)
		runner_fatalf("pipe: %s", strerror(errno));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		runner_fatalf("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t got;
	while ((got = read(fds[0], err + len, errcap - 1 - len)) > 0)
		len += (size_t)got;
	err[len] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* In a world of its own, calls svc_meth with an int and an int reply. */
static void call_int_to_int(const char *svc_meth)
{
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");
	int64_t reply = 0;
	call_int_int(e, svc_meth, 1, &reply);
	world_free(&w); /* not reached */
}

static void call_unknown_method(void)
{
	call_int_to_int("JunkServer.Handler9");
}

static void call_unknown_service(void)
{
	call_int_to_int("Junk.Handler1");
}

/* Calling an unknown method or service is process-fatal, with a message
 * naming what was called and what exists. */
static void test_unknown_method_is_fatal(void)
{
	char err[4096];
	int status = run_child(call_unknown_method, err, sizeof err);
	CU_ASSERT_EQUAL(status, 1);
	if (!strstr(err,
	            "labrpc.Service.dispatch(): unknown method Handler9 in "
	            "JunkServer.Handler9; expecting one of [Handler1 Handler2 "
	            "Handler3 "
	            "Handler4 Handler5 Handler6 Handler7]"))
		runner_fatalf(
		        "unexpected message for an unknown method: \"%s\"",
		        err);

	status = run_child(call_unknown_service, err, sizeof err);
	CU_ASSERT_EQUAL(status, 1);
	if (!strstr(err, "labrpc.Server.dispatch(): unknown service Junk in "
	                 "Junk.Handler1; "
	                 "expecting one of [JunkServer]"))
		runner_fatalf(
		        "unexpected message for an unknown service: \"%s\"",
		        err);
}

/* Handler2 replies with a string; decoding it as an int leaves bytes over. */
static void call_with_wrong_reply_type(void)
{
	call_int_to_int("JunkServer.Handler2");
}

/* Handler1 takes a string; the int 1 (one byte, 2) is a truncated one. */
static void call_with_wrong_args_type(void)
{
	call_int_to_int("JunkServer.Handler1");
}

/* Args or a reply that do not decode as the receiver's type are
 * process-fatal, naming the call and the codec's error. */
static void test_bad_message_is_fatal(void)
{
	char err[4096], want[256];
	int status = run_child(call_with_wrong_reply_type, err, sizeof err);
	CU_ASSERT_EQUAL(status, 1);
	snprintf(want, sizeof want,
	         "labrpc: decode reply of JunkServer.Handler2: %s",
	         codec_strerror(CODEC_ETRAILING));
	if (!strstr(err, want))
		runner_fatalf("expected \"%s\", got \"%s\"", want, err);

	status = run_child(call_with_wrong_args_type, err, sizeof err);
	CU_ASSERT_EQUAL(status, 1);
	if (!strstr(err, "labrpc: decode args of JunkServer.Handler1: "))
		runner_fatalf("unexpected message for undecodable args: "
		              "\"%s\"",
		              err);
}

static const struct runner_test tests[] = {
        {"TestBasic", test_basic, 0},
        {"TestTypes", test_types, 0},
        {"TestDisconnect", test_disconnect, 0},
        {"TestCounts", test_counts, 0},
        {"TestBytes", test_bytes, 0},
        {"TestConcurrentMany", test_concurrent_many, 0},
        {"TestUnreliable", test_unreliable, 0},
        {"TestConcurrentOne", test_concurrent_one, 0},
        {"TestRegression1", test_regression1, 0},
        {"TestKilled", test_killed, 0},
        {"TestBenchmark", test_benchmark, 0},
        {"TestNoReplyFromDeadServer", test_no_reply_from_dead_server, 0},
        {"TestDeleteEnd", test_delete_end, 0},
        {"TestServerFreeWaitsForHandlers", test_server_free_waits_for_handlers,
         0},
        {"TestLongDelays", test_long_delays, 0},
        {"TestLongReordering", test_long_reordering, 0},
        {"TestReplyDropAfterHandler", test_reply_drop_after_handler, 0},
        {"TestSeedReplay", test_seed_replay, 0},
        {"TestPeakThreads", test_peak_threads, 0},
        {"TestUnknownMethodIsFatal", test_unknown_method_is_fatal, 0},
        {"TestBadMessageIsFatal", test_bad_message_is_fatal, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "labrpc", tests,
	                   sizeof tests / sizeof tests[0]);
}
