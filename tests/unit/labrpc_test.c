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
#include <stdarg.h>
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
#include "runner/runner.h"

#define MS_NS INT64_C(1000000)

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

static char *text_printf(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static char *text_printf(const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
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

/* With a fixed latency, a request and its reply each spend their set time
 * on the wire: every call's round trip (on the lab clock) takes at least
 * the two together, sequential or in parallel, equal or not, and every
 * handler still runs once. Only the lower bound is checked: a loaded
 * machine may take longer. */
static void test_latency(void)
{
	enum { PARALLEL = 8 };
	static const struct {
		int request_ms, reply_ms;
	} settings[] = {{20, 20}, {5, 35}};
	struct world w;
	world_make(&w, "server99");
	struct labrpc_end *e = world_end(&w, "end1-99", "server99");
	char *reply = NULL;
	int calls = 0;
	for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++) {
		int request_ms = settings[k].request_ms;
		int reply_ms = settings[k].reply_ms;
		double round_trip_s = (request_ms + reply_ms) / 1e3;
		labrpc_net_latency(w.net, request_ms * MS_NS, reply_ms * MS_NS);

		int64_t t0 = labtime_now_ns();
		if (!call_int_str(e, "JunkServer.Handler2", 7, &reply) ||
		    !handler2_reply_ok(reply, 7))
			runner_fatalf("no reply or a wrong one despite a "
			              "reliable network");
		double secs = since_s(t0);
		if (secs < round_trip_s)
			runner_fatalf("a call took %.4fs with latencies of %d "
			              "and %d ms: under the %.3fs of its round "
			              "trip",
			              secs, request_ms, reply_ms, round_trip_s);

		struct timed_call *tcs = run_timed_calls(e, PARALLEL);
		for (int i = 0; i < PARALLEL; i++) {
			if (!tcs[i].right)
				runner_fatalf("parallel call %d: no reply or a "
				              "wrong one",
				              i);
			if (tcs[i].secs < round_trip_s)
				runner_fatalf(
				        "parallel call %d took %.4fs, "
				        "under the %.3fs of its round trip",
				        i, tcs[i].secs, round_trip_s);
		}
		free(tcs);
		calls += 1 + PARALLEL;
		printf("round trip with %d ms out and %d ms back: %.4fs\n",
		       request_ms, reply_ms, secs);
	}
	CU_ASSERT_EQUAL(labrpc_get_count(w.net, "server99"), calls);

	/* Back to none: calls still go through. */
	labrpc_net_latency(w.net, 0, 0);
	CU_ASSERT_TRUE(call_int_str(e, "JunkServer.Handler2", 8, &reply) &&
	               handler2_reply_ok(reply, 8));
	free(reply);
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
	bool noise; /* another end calls all the while */
	pthread_t thread;
	bool ok[200];
};

struct noise {
	struct labrpc_end *e;
	atomic_bool stop;
	int calls;
};

static void *noise_main(void *arg)
{
	struct noise *n = arg;
	while (!atomic_load(&n->stop)) {
		char *reply = NULL;
		call_int_str(n->e, "JunkServer.Handler2", n->calls++, &reply);
		free(reply);
	}
	return NULL;
}

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
	struct noise noise = {.e = NULL};
	atomic_init(&noise.stop, false);
	pthread_t noise_thread;
	if (r->noise) {
		noise.e = labrpc_make_end(net, "noise");
		labrpc_connect(net, "noise", "server99");
		labrpc_enable(net, "noise", true);
		start_thread(&noise_thread, noise_main, &noise);
	}

	for (size_t i = 0; i < sizeof r->ok / sizeof r->ok[0]; i++) {
		char *reply = NULL;
		r->ok[i] = call_int_str(e, "JunkServer.Handler2", (int64_t)i,
		                        &reply);
		free(reply);
	}
	if (r->noise) {
		atomic_store(&noise.stop, true);
		pthread_join(noise_thread, NULL);
		if (noise.calls == 0)
			runner_fatalf("the other end made no call");
	}

	labrpc_net_cleanup(net);
	labrpc_server_free(rs);
	labrpc_net_free(net);
	junk_destroy(&js);
	return NULL;
}

/* Two networks with the same seed make the same drop decisions for the same
 * sequential calls, even when another end calls all the while on one of
 * them (each end draws from a stream of its own); another seed makes other
 * ones. */
static void test_seed_replay(void)
{
	uint64_t seed = runner_seed();
	struct replay runs[4] = {{.seed = seed},
	                         {.seed = seed},
	                         {.seed = seed + 1},
	                         {.seed = seed, .noise = true}};
	for (int i = 0; i < 4; i++)
		start_thread(&runs[i].thread, replay_main, &runs[i]);
	for (int i = 0; i < 4; i++)
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
	if (memcmp(runs[0].ok, runs[3].ok, sizeof runs[0].ok) != 0)
		runner_fatalf("another end's calls changed an end's drops "
		              "(seed %#" PRIx64 ")",
		              seed);
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

/* ---- duplicated requests and the reply hook ---- */

/* One run of a Dup handler: the request's id and when it ran. */
struct dup_run {
	int64_t id;
	int64_t t_ns;
};

/* A server's record of its Dup handler runs, copies included. */
struct dup_server {
	pthread_mutex_t mu;
	struct dup_run *runs;
	size_t nruns, cap;
	struct labrpc_server *rs;
};

/* What Dup.Echo answers for id, and Dup.Other. */
static int64_t echo_answer(int64_t id)
{
	return 3 * id + 1;
}

static int64_t other_answer(int64_t id)
{
	return -id;
}

static void dup_record(struct dup_server *ds, int64_t id)
{
	int64_t now = labtime_now_ns();
	pthread_mutex_lock(&ds->mu);
	ds->runs = grow(ds->runs, &ds->cap, ds->nruns, sizeof *ds->runs);
	ds->runs[ds->nruns++] = (struct dup_run){id, now};
	pthread_mutex_unlock(&ds->mu);
}

/* int id -> 3 id + 1, recording the run. */
static void dup_echo(void *receiver, const void *args, void *reply)
{
	int64_t id = ((const struct junk_int *)args)->v;
	dup_record(receiver, id);
	((struct junk_int *)reply)->v = echo_answer(id);
}

/* int id -> -id, recording the run. */
static void dup_other(void *receiver, const void *args, void *reply)
{
	int64_t id = ((const struct junk_int *)args)->v;
	dup_record(receiver, id);
	((struct junk_int *)reply)->v = other_answer(id);
}

static const struct labrpc_method dup_methods[] = {
        {"Echo", &int_type, &int_type, dup_echo},
        {"Other", &int_type, &int_type, dup_other},
};

static const struct labrpc_service_def dup_service = {
        "Dup",
        dup_methods,
        sizeof dup_methods / sizeof dup_methods[0],
};

/* Makes a Dup server and, if servername is not NULL, adds it to net. */
static void dup_server_make(struct dup_server *ds, struct labrpc_net *net,
                            const char *servername)
{
	memset(ds, 0, sizeof *ds);
	pthread_mutex_init(&ds->mu, NULL);
	ds->rs = labrpc_server_make();
	labrpc_server_add_service(ds->rs, &dup_service, ds);
	if (servername)
		labrpc_add_server(net, servername, ds->rs);
}

/* After labrpc_net_cleanup (or once the server is out of the network). */
static void dup_server_free(struct dup_server *ds)
{
	labrpc_server_free(ds->rs);
	free(ds->runs);
	pthread_mutex_destroy(&ds->mu);
}

static size_t dup_runs(struct dup_server *ds)
{
	pthread_mutex_lock(&ds->mu);
	size_t n = ds->nruns;
	pthread_mutex_unlock(&ds->mu);
	return n;
}

/* The runs of ds that started after t_ns. */
static size_t dup_runs_after(struct dup_server *ds, int64_t t_ns)
{
	size_t n = 0;
	pthread_mutex_lock(&ds->mu);
	for (size_t i = 0; i < ds->nruns; i++)
		n += ds->runs[i].t_ns > t_ns;
	pthread_mutex_unlock(&ds->mu);
	return n;
}

/* How many times ds ran request id. */
static int dup_runs_of(struct dup_server *ds, int64_t id)
{
	int n = 0;
	pthread_mutex_lock(&ds->mu);
	for (size_t i = 0; i < ds->nruns; i++)
		n += ds->runs[i].id == id;
	pthread_mutex_unlock(&ds->mu);
	return n;
}

/* The encoded length of an int message, as labrpc counts it. */
static int64_t int_msg_len(int64_t v)
{
	struct codec_buf b;
	codec_buf_init(&b);
	struct junk_int x = {v};
	int_encode(&b, &x);
	int64_t len = (int64_t)b.len;
	codec_buf_free(&b);
	return len;
}

/* A thread calling Dup.Echo with ids id0 .. id0 + n - 1 on end e. */
struct echo_caller {
	struct labrpc_end *e;
	int64_t id0;
	int n;
	pthread_t thread;
	int ok, wrong;
	int64_t wrong_id, wrong_reply; /* the first wrong reply */
};

static void *echo_caller_main(void *arg)
{
	struct echo_caller *c = arg;
	for (int j = 0; j < c->n; j++) {
		int64_t id = c->id0 + j, reply = 0;
		if (!call_int_int(c->e, "Dup.Echo", id, &reply))
			continue;
		c->ok++;
		if (reply != echo_answer(id) && c->wrong++ == 0) {
			c->wrong_id = id;
			c->wrong_reply = reply;
		}
	}
	return NULL;
}

static void echo_callers_start(struct echo_caller *cs, int ncallers,
                               struct labrpc_end *e, int64_t id0, int n)
{
	for (int i = 0; i < ncallers; i++) {
		cs[i] = (struct echo_caller){
		        .e = e, .id0 = id0 + (int64_t)i * n, .n = n};
		start_thread(&cs[i].thread, echo_caller_main, &cs[i]);
	}
}

/* Joins the callers; fails the test on a wrong reply; returns the
 * successful calls. */
static int echo_callers_join(struct echo_caller *cs, int ncallers)
{
	int ok = 0;
	for (int i = 0; i < ncallers; i++)
		pthread_join(cs[i].thread, NULL);
	for (int i = 0; i < ncallers; i++) {
		if (cs[i].wrong)
			runner_fatalf("call %" PRId64 " got the reply %" PRId64
			              ", expected %" PRId64
			              " (%d wrong replies on its thread)",
			              cs[i].wrong_id, cs[i].wrong_reply,
			              echo_answer(cs[i].wrong_id), cs[i].wrong);
		ok += cs[i].ok;
	}
	return ok;
}

/* ncallers threads of n calls each on e, ids from id0; every call must
 * succeed with its own reply. */
static void run_echo_calls(struct labrpc_end *e, int ncallers, int n,
                           int64_t id0)
{
	struct echo_caller *cs = calloc((size_t)ncallers, sizeof *cs);
	echo_callers_start(cs, ncallers, e, id0, n);
	int ok = echo_callers_join(cs, ncallers);
	free(cs);
	if (ok != ncallers * n)
		runner_fatalf("%d of %d calls failed on a reliable network",
		              ncallers * n - ok, ncallers * n);
}

/* What the runs of ids 0 .. nids - 1 say about their copies. */
struct dup_stats {
	int runs;    /* of those ids */
	int missing; /* ids that never ran */
	int over2;   /* ids that ran three times or more */
	int soon;    /* copies that ran within 200 ms of their original */
	int late;    /* copies that ran 200 ms or more after it */
	int64_t longest_gap_ns;
	int strays; /* runs of other ids */
};

static struct dup_stats dup_stats(struct dup_server *ds, int nids)
{
	struct dup_stats st = {0};
	int *count = calloc((size_t)nids, sizeof *count);
	int64_t *first = calloc((size_t)nids, sizeof *first);
	pthread_mutex_lock(&ds->mu);
	for (size_t i = 0; i < ds->nruns; i++) {
		int64_t id = ds->runs[i].id, t = ds->runs[i].t_ns;
		if (id < 0 || id >= nids) {
			st.strays++;
			continue;
		}
		st.runs++;
		if (count[id]++ == 0) {
			first[id] = t;
			continue;
		}
		int64_t gap = t > first[id] ? t - first[id] : first[id] - t;
		if (gap >= 200 * MS_NS)
			st.late++;
		else
			st.soon++;
		if (gap > st.longest_gap_ns)
			st.longest_gap_ns = gap;
	}
	pthread_mutex_unlock(&ds->mu);
	for (int id = 0; id < nids; id++) {
		st.missing += count[id] == 0;
		st.over2 += count[id] > 2;
	}
	free(count);
	free(first);
	return st;
}

/* Long enough for every late copy (due at most 2199 ms after its call
 * entered the network) to have run. */
static void wait_for_late_copies(void)
{
	labtime_sleep_ms(2200 + scaled_ms(300));
}

/* Duplicates are off by default, and off again after being switched off:
 * every call runs its handler exactly once. */
static void test_duplicates_off(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	struct dup_server ds;
	dup_server_make(&ds, net, "server99");
	struct labrpc_end *e = labrpc_make_end(net, "end1-99");
	labrpc_connect(net, "end1-99", "server99");
	labrpc_enable(net, "end1-99", true);

	int n = 400;
	run_echo_calls(e, 1, n / 2, 0);
	labrpc_net_duplicates(net, true);
	labrpc_net_duplicates(net, false);
	run_echo_calls(e, 4, n / 8, n / 2);
	/* With duplicates on, ~20 of 400 calls would have a copy within
	 * 50 ms. */
	labtime_sleep_ms(scaled_ms(300));

	struct dup_stats st = dup_stats(&ds, n);
	printf("%d calls: %d handler runs\n", n, st.runs);
	if (st.runs != n || st.missing || st.strays)
		runner_fatalf("%d calls ran their handler %d times (%d ids "
		              "never ran), with duplicates off",
		              n, st.runs, st.missing);
	CU_ASSERT_EQUAL(labrpc_get_count(net, "server99"), n);
	CU_ASSERT_EQUAL(labrpc_server_count(ds.rs), n);
	CU_ASSERT_EQUAL(labrpc_total_count(net), n);

	labrpc_net_cleanup(net);
	dup_server_free(&ds);
	labrpc_net_free(net);
}

/* With duplicates on, about one call in ten runs its handler a second time,
 * some copies soon, some more than 200 ms later; every caller gets its own
 * reply, and the copies count as handler runs but not in total_count or
 * total_bytes. */
static void test_duplicates(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	labrpc_net_duplicates(net, true);
	struct dup_server ds;
	dup_server_make(&ds, net, "server99");
	struct labrpc_end *e = labrpc_make_end(net, "end1-99");
	labrpc_connect(net, "end1-99", "server99");
	labrpc_enable(net, "end1-99", true);

	int ncallers = 8, per = 50, n = ncallers * per;
	run_echo_calls(e, ncallers, per, 0);
	wait_for_late_copies();

	struct dup_stats st = dup_stats(&ds, n);
	int extra = st.runs - n;
	printf("%d calls: %d copies ran (%d soon, %d late; longest %.3fs "
	       "after its original)\n",
	       n, extra, st.soon, st.late, (double)st.longest_gap_ns / 1e9);
	if (st.strays || st.missing)
		runner_fatalf("%d runs of unknown ids, %d ids never ran",
		              st.strays, st.missing);
	if (st.over2)
		runner_fatalf("%d requests ran three times or more", st.over2);
	if (extra < 15 || extra > 100)
		runner_fatalf("%d copies for %d calls, expected about %d",
		              extra, n, n / 10);
	if (st.late == 0)
		runner_fatalf("no copy ran 200 ms or more after its original");
	if (st.soon == 0)
		runner_fatalf("no copy ran within 200 ms of its original");
	if (st.longest_gap_ns >
	    (int64_t)(2.2e9 * runner_time_scale()) + 100 * MS_NS)
		runner_fatalf("a copy ran %.3fs after its original, over 2.2 s",
		              (double)st.longest_gap_ns / 1e9);

	CU_ASSERT_EQUAL(labrpc_get_count(net, "server99"), st.runs);
	CU_ASSERT_EQUAL(labrpc_server_count(ds.rs), st.runs);
	CU_ASSERT_EQUAL(labrpc_total_count(net), n);
	int64_t bytes = 0;
	for (int id = 0; id < n; id++)
		bytes += int_msg_len(id) + int_msg_len(echo_answer(id));
	if (labrpc_total_bytes(net) != bytes)
		runner_fatalf("total_bytes %" PRId64 ", expected %" PRId64
		              " (the originals' args and replies)",
		              labrpc_total_bytes(net), bytes);

	labrpc_net_cleanup(net);
	dup_server_free(&ds);
	labrpc_net_free(net);
}

/* A late copy reaches the server that holds the name when it arrives: after
 * labrpc_add_server replaced the server, the stale requests run on the new
 * one, and no longer on the old one. */
static void test_duplicate_reaches_replacement(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	labrpc_net_duplicates(net, true);
	struct dup_server old, fresh;
	dup_server_make(&old, net, "server99");
	dup_server_make(&fresh, net, NULL);
	struct labrpc_end *e = labrpc_make_end(net, "end1-99");
	labrpc_connect(net, "end1-99", "server99");
	labrpc_enable(net, "end1-99", true);

	int n = 400;
	run_echo_calls(e, 1, n, 0);
	labrpc_add_server(net, "server99", fresh.rs);
	int64_t t_replace = labtime_now_ns();
	wait_for_late_copies();

	struct dup_stats on_old = dup_stats(&old, n);
	struct dup_stats on_new = dup_stats(&fresh, n);
	size_t old_after =
	        dup_runs_after(&old, t_replace + scaled_ms(100) * MS_NS);
	printf("%d calls: %d copies on the old server, %d on its "
	       "replacement\n",
	       n, on_old.runs - n, on_new.runs);
	if (on_old.missing || on_old.strays || on_new.strays)
		runner_fatalf("%d calls never reached the old server; %d and "
		              "%d runs of unknown ids",
		              on_old.missing, on_old.strays, on_new.strays);
	if (on_new.runs == 0)
		runner_fatalf("no stale copy reached the replacement server");
	if (on_new.soon || on_new.late)
		runner_fatalf("a request reached the replacement server twice");
	if (old_after)
		runner_fatalf("%zu copies reached the old server after it was "
		              "replaced",
		              old_after);
	/* Each request has at most one copy: the old server ran each id the
	 * new one ran once, its original only. */
	for (int id = 0; id < n; id++)
		if (dup_runs_of(&fresh, id) && dup_runs_of(&old, id) != 1)
			runner_fatalf("request %d ran %d times on the old "
			              "server and once on the new one",
			              id, dup_runs_of(&old, id));
	CU_ASSERT_EQUAL(labrpc_get_count(net, "server99"), on_new.runs);
	CU_ASSERT_EQUAL(labrpc_server_count(fresh.rs), on_new.runs);
	CU_ASSERT_EQUAL(labrpc_server_count(old.rs), on_old.runs);
	CU_ASSERT_EQUAL(labrpc_total_count(net), n);

	labrpc_net_cleanup(net);
	dup_server_free(&old);
	dup_server_free(&fresh);
	labrpc_net_free(net);
}

/* A copy is dropped when, by the time it arrives, its end is disabled,
 * connected to another name, or deleted. A fourth end, left alone, shows
 * that copies were still on their way. */
static void test_duplicates_dropped_when_end_cut_off(void)
{
	static const char *const ends[] = {"disabled", "moved", "deleted",
	                                   "kept"};
	enum { NENDS = 4, PER_END = 400, ID_STEP = 1000 };
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	labrpc_net_duplicates(net, true);
	struct dup_server ds, other;
	dup_server_make(&ds, net, "server99");
	dup_server_make(&other, net, "other");
	struct echo_caller cs[NENDS];
	for (int i = 0; i < NENDS; i++) {
		struct labrpc_end *e = labrpc_make_end(net, ends[i]);
		labrpc_connect(net, ends[i], "server99");
		labrpc_enable(net, ends[i], true);
		echo_callers_start(&cs[i], 1, e, (int64_t)i * ID_STEP, PER_END);
	}
	for (int i = 0; i < NENDS; i++)
		if (echo_callers_join(&cs[i], 1) != PER_END)
			runner_fatalf("calls on end %s failed on a reliable "
			              "network",
			              ends[i]);

	labrpc_enable(net, "disabled", false);
	labrpc_connect(net, "moved", "other");
	labrpc_delete_end(net, "deleted");
	/* Copies already at a handler may still finish. */
	int64_t t_cut = labtime_now_ns() + scaled_ms(100) * MS_NS;
	wait_for_late_copies();

	int after[NENDS] = {0};
	pthread_mutex_lock(&ds.mu);
	for (size_t i = 0; i < ds.nruns; i++)
		if (ds.runs[i].t_ns > t_cut)
			after[ds.runs[i].id / ID_STEP]++;
	pthread_mutex_unlock(&ds.mu);
	printf("copies that ran after the cut: disabled %d, moved %d, "
	       "deleted %d, kept %d\n",
	       after[0], after[1], after[2], after[3]);
	for (int i = 0; i < 3; i++)
		if (after[i])
			runner_fatalf("%d copies from end %s ran after it was "
			              "cut off",
			              after[i], ends[i]);
	if (dup_runs(&other))
		runner_fatalf("%zu copies from the moved end reached the "
		              "server it moved to",
		              dup_runs(&other));
	if (after[3] == 0)
		runner_fatalf("no late copy from the kept end ran after the "
		              "cut: the test saw no copy to drop");
	CU_ASSERT_EQUAL(labrpc_total_count(net), NENDS * PER_END);

	labrpc_net_cleanup(net);
	dup_server_free(&ds);
	dup_server_free(&other);
	labrpc_net_free(net);
}

/* What the reply hook saw. */
struct hook_log {
	pthread_mutex_t mu;
	int calls;
	bool drop_all;        /* else drop only Dup.Echo replies of "s1" */
	char servers[64][16]; /* the first 64 calls' names */
	char svc_meths[64][16];
	struct dup_server *seen[2]; /* whose runs count in ran_at_hook */
	atomic_int *returned;       /* calls the test has seen return */
	int out_of_order; /* sequential calls: handler not run, or caller
	                   * already returned, when the hook ran */
};

static void hook_log_init(struct hook_log *h)
{
	memset(h, 0, sizeof *h);
	pthread_mutex_init(&h->mu, NULL);
}

static int hook_calls(struct hook_log *h)
{
	pthread_mutex_lock(&h->mu);
	int n = h->calls;
	pthread_mutex_unlock(&h->mu);
	return n;
}

static bool reply_hook(void *arg, const char *servername, const char *svc_meth)
{
	struct hook_log *h = arg;
	pthread_mutex_lock(&h->mu);
	int i = h->calls++;
	if (i < 64) {
		snprintf(h->servers[i], sizeof h->servers[i], "%s", servername);
		snprintf(h->svc_meths[i], sizeof h->svc_meths[i], "%s",
		         svc_meth);
	}
	if (h->returned) {
		/* Call i (0-based) has run its handler: i + 1 runs so far;
		 * and has not returned: i calls returned. */
		size_t ran = 0;
		for (int k = 0; k < 2; k++)
			if (h->seen[k])
				ran += dup_runs(h->seen[k]);
		if (ran != (size_t)i + 1 || atomic_load(h->returned) != i)
			h->out_of_order++;
	}
	bool drop = h->drop_all || (strcmp(servername, "s1") == 0 &&
	                            strcmp(svc_meth, "Dup.Echo") == 0);
	pthread_mutex_unlock(&h->mu);
	return drop;
}

static bool hooked_call(struct labrpc_end *e, const char *svc_meth, int64_t id,
                        int64_t *reply, atomic_int *returned)
{
	bool ok = call_int_int(e, svc_meth, id, reply);
	atomic_fetch_add(returned, 1);
	return ok;
}

/* The reply hook runs after each handler and before its reply, with the
 * server's name and "Service.Method" and its own arg; returning true drops
 * that reply (the handler ran, the call fails, no reply bytes are counted);
 * NULL removes it, and a new hook replaces the old one. */
static void test_reply_hook(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	struct dup_server s1, s2;
	dup_server_make(&s1, net, "s1");
	dup_server_make(&s2, net, "s2");
	struct labrpc_end *e1 = labrpc_make_end(net, "e1");
	labrpc_connect(net, "e1", "s1");
	labrpc_enable(net, "e1", true);
	struct labrpc_end *e2 = labrpc_make_end(net, "e2");
	labrpc_connect(net, "e2", "s2");
	labrpc_enable(net, "e2", true);

	atomic_int returned;
	atomic_init(&returned, 0);
	struct hook_log h;
	hook_log_init(&h);
	h.seen[0] = &s1;
	h.seen[1] = &s2;
	h.returned = &returned;
	labrpc_net_reply_hook(net, reply_hook, &h);

	/* Only s1's Dup.Echo replies are dropped. */
	int64_t reply = 0, bytes0 = labrpc_total_bytes(net);
	if (hooked_call(e1, "Dup.Echo", 1, &reply, &returned))
		runner_fatalf("a reply the hook dropped arrived");
	if (dup_runs_of(&s1, 1) != 1)
		runner_fatalf("the handler of a call whose reply the hook "
		              "dropped did not run");
	if (labrpc_total_bytes(net) - bytes0 != int_msg_len(1))
		runner_fatalf("a dropped reply's bytes were counted (%" PRId64
		              " bytes for args of %" PRId64 ")",
		              labrpc_total_bytes(net) - bytes0, int_msg_len(1));
	reply = 0;
	CU_ASSERT_TRUE(hooked_call(e1, "Dup.Other", 2, &reply, &returned));
	CU_ASSERT_EQUAL(reply, other_answer(2));
	reply = 0;
	CU_ASSERT_TRUE(hooked_call(e2, "Dup.Echo", 3, &reply, &returned));
	CU_ASSERT_EQUAL(reply, echo_answer(3));
	reply = 0;
	CU_ASSERT_TRUE(hooked_call(e2, "Dup.Other", 4, &reply, &returned));
	CU_ASSERT_EQUAL(reply, other_answer(4));

	static const char *const want[4][2] = {{"s1", "Dup.Echo"},
	                                       {"s1", "Dup.Other"},
	                                       {"s2", "Dup.Echo"},
	                                       {"s2", "Dup.Other"}};
	if (hook_calls(&h) != 4)
		runner_fatalf("the hook ran %d times for 4 calls",
		              hook_calls(&h));
	for (int i = 0; i < 4; i++)
		if (strcmp(h.servers[i], want[i][0]) != 0 ||
		    strcmp(h.svc_meths[i], want[i][1]) != 0)
			runner_fatalf("hook call %d got (\"%s\", \"%s\"), "
			              "expected (\"%s\", \"%s\")",
			              i, h.servers[i], h.svc_meths[i],
			              want[i][0], want[i][1]);

	for (int id = 10; id < 30; id++)
		if (hooked_call(e1, "Dup.Echo", id, &reply, &returned))
			runner_fatalf("call %d: a reply the hook dropped "
			              "arrived",
			              id);
	CU_ASSERT_EQUAL(dup_runs(&s1), 22);
	CU_ASSERT_EQUAL(hook_calls(&h), 24);
	if (h.out_of_order)
		runner_fatalf("%d of %d hook calls did not come between the "
		              "handler and the reply",
		              h.out_of_order, hook_calls(&h));

	/* NULL removes the hook: s1's replies arrive again. */
	labrpc_net_reply_hook(net, NULL, NULL);
	reply = 0;
	if (!call_int_int(e1, "Dup.Echo", 40, &reply))
		runner_fatalf("a reply was dropped after the hook was removed");
	CU_ASSERT_EQUAL(reply, echo_answer(40));
	CU_ASSERT_EQUAL(hook_calls(&h), 24);

	/* A new hook gets its own arg; the old one hears nothing. */
	struct hook_log h2;
	hook_log_init(&h2);
	h2.drop_all = true;
	labrpc_net_reply_hook(net, reply_hook, &h2);
	CU_ASSERT_FALSE(call_int_int(e2, "Dup.Other", 41, &reply));
	CU_ASSERT_EQUAL(hook_calls(&h2), 1);
	CU_ASSERT_STRING_EQUAL(h2.servers[0], "s2");
	CU_ASSERT_STRING_EQUAL(h2.svc_meths[0], "Dup.Other");
	CU_ASSERT_EQUAL(hook_calls(&h), 24);
	CU_ASSERT_EQUAL(dup_runs_of(&s2, 41), 1);
	CU_ASSERT_EQUAL(labrpc_total_count(net), 26);

	labrpc_net_cleanup(net);
	dup_server_free(&s1);
	dup_server_free(&s2);
	labrpc_net_free(net);
	pthread_mutex_destroy(&h.mu);
	pthread_mutex_destroy(&h2.mu);
}

/* The reply hook is not called for the copies of labrpc_net_duplicates:
 * once per call, though the handlers ran more often; and a hook that drops
 * every reply does not stop the copies. */
static void test_reply_hook_not_for_copies(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	labrpc_net_duplicates(net, true);
	struct dup_server ds;
	dup_server_make(&ds, net, "server99");
	struct labrpc_end *e = labrpc_make_end(net, "end1-99");
	labrpc_connect(net, "end1-99", "server99");
	labrpc_enable(net, "end1-99", true);
	struct hook_log h;
	hook_log_init(&h);
	labrpc_net_reply_hook(net, reply_hook, &h);

	int ncallers = 4, per = 100, n = ncallers * per;
	run_echo_calls(e, ncallers, per, 0);
	/* Then every reply dropped: the calls fail, their copies still run. */
	pthread_mutex_lock(&h.mu);
	h.drop_all = true;
	pthread_mutex_unlock(&h.mu);
	int nd = 100, failed = 0;
	for (int id = n; id < n + nd; id++) {
		int64_t reply = 0;
		failed += !call_int_int(e, "Dup.Echo", id, &reply);
	}
	wait_for_late_copies();

	struct dup_stats st = dup_stats(&ds, n + nd);
	printf("%d calls: %d handler runs, %d hook calls\n", n + nd, st.runs,
	       hook_calls(&h));
	CU_ASSERT_EQUAL(failed, nd);
	if (st.missing || st.over2 || st.strays)
		runner_fatalf("%d ids never ran, %d ran three times or more, "
		              "%d runs of unknown ids",
		              st.missing, st.over2, st.strays);
	if (st.runs <= n + nd)
		runner_fatalf("no copy ran (%d runs for %d calls): the test "
		              "cannot tell",
		              st.runs, n + nd);
	if (hook_calls(&h) != n + nd)
		runner_fatalf("the hook ran %d times for %d calls and %d "
		              "copies",
		              hook_calls(&h), n + nd, st.runs - (n + nd));
	for (int i = 0; i < 64; i++)
		if (strcmp(h.servers[i], "server99") != 0 ||
		    strcmp(h.svc_meths[i], "Dup.Echo") != 0)
			runner_fatalf("hook call %d got (\"%s\", \"%s\")", i,
			              h.servers[i], h.svc_meths[i]);

	labrpc_net_cleanup(net);
	dup_server_free(&ds);
	labrpc_net_free(net);
	pthread_mutex_destroy(&h.mu);
}

/* Copies still waiting to arrive do not hold up labrpc_net_cleanup, run
 * no handler after it, and leak nothing (the ASan build checks): once with
 * an explicit cleanup, once with labrpc_net_free alone after the server
 * was deleted and freed. */
static void test_cleanup_with_pending_copies(void)
{
	for (int round = 0; round < 2; round++) {
		struct labrpc_net *net = labrpc_net_make(runner_seed() + round);
		labrpc_net_duplicates(net, true);
		struct dup_server ds;
		dup_server_make(&ds, net, "server99");
		struct labrpc_end *e = labrpc_make_end(net, "end1-99");
		labrpc_connect(net, "end1-99", "server99");
		labrpc_enable(net, "end1-99", true);

		int n = 400;
		run_echo_calls(e, 4, n / 4, 0);
		size_t ran = dup_runs(&ds);
		int64_t t0 = labtime_now_ns();
		if (round == 0) {
			labrpc_net_cleanup(net);
		} else {
			labrpc_delete_server(net, "server99");
			labrpc_server_free(ds.rs);
			ds.rs = NULL;
			labrpc_net_free(net);
		}
		double secs = since_s(t0);
		size_t ran_at_cleanup = dup_runs(&ds);
		printf("%s after %zu of about %d copies ran: %.1f ms\n",
		       round == 0 ? "labrpc_net_cleanup" : "labrpc_net_free",
		       ran - (size_t)n, n / 10, secs * 1e3);
		if (secs > 1.0 * runner_time_scale())
			runner_fatalf("cleanup took %.3fs with copies pending",
			              secs);
		labtime_sleep_ms(scaled_ms(300));
		if (dup_runs(&ds) != ran_at_cleanup)
			runner_fatalf("%zu copies ran after cleanup",
			              dup_runs(&ds) - ran_at_cleanup);
		if (round == 0) {
			int64_t reply = 0;
			CU_ASSERT_FALSE(call_int_int(e, "Dup.Echo", n, &reply));
			dup_server_free(&ds);
			labrpc_net_free(net);
		} else {
			dup_server_free(&ds); /* rs is NULL: frees the log */
		}
	}
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

/* One call of Dup.Echo on its own thread, for calls that block. */
struct held_call {
	struct labrpc_end *e;
	int64_t id, reply;
	pthread_t thread;
	atomic_bool returned;
	bool ok;
};

static void *held_call_main(void *arg)
{
	struct held_call *c = arg;
	c->ok = call_int_int(c->e, "Dup.Echo", c->id, &c->reply);
	atomic_store(&c->returned, true);
	return NULL;
}

static void held_call_start(struct held_call *c, struct labrpc_end *e,
                            int64_t id)
{
	*c = (struct held_call){.e = e, .id = id};
	atomic_init(&c->returned, false);
	start_thread(&c->thread, held_call_main, c);
}

/* Held replies wait after their handlers ran, and arrive all at once when
 * the hold ends, even on an end disabled meanwhile; other ends are not
 * held; deleting the end fails a held call. */
static void test_hold_replies(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	struct dup_server ds;
	dup_server_make(&ds, net, "s");
	struct labrpc_end *e = labrpc_make_end(net, "held");
	struct labrpc_end *other = labrpc_make_end(net, "other");
	struct labrpc_end *doomed = labrpc_make_end(net, "doomed");
	const char *names[] = {"held", "other", "doomed"};
	for (int i = 0; i < 3; i++) {
		labrpc_connect(net, names[i], "s");
		labrpc_enable(net, names[i], true);
	}

	labrpc_hold_replies(net, "held", true);
	labrpc_hold_replies(net, "doomed", true);
	struct held_call c[3];
	held_call_start(&c[0], e, 1);
	held_call_start(&c[1], e, 2);
	held_call_start(&c[2], doomed, 3);
	int64_t reply = 0;
	CU_ASSERT_TRUE(call_int_int(other, "Dup.Echo", 4, &reply));
	CU_ASSERT_EQUAL(reply, echo_answer(4));
	labtime_sleep_ms(scaled_ms(500));
	for (int id = 1; id <= 3; id++)
		if (dup_runs_of(&ds, id) != 1)
			runner_fatalf("held call %d ran its handler %d times, "
			              "expected once before the hold ends",
			              id, dup_runs_of(&ds, id));
	for (int i = 0; i < 3; i++)
		if (atomic_load(&c[i].returned))
			runner_fatalf("held call %" PRId64 " returned (%s) "
			              "before the hold ended",
			              c[i].id, c[i].ok ? "true" : "false");

	/* The replies were on the wire before the end went down. */
	labrpc_enable(net, "held", false);
	labrpc_hold_replies(net, "held", false);
	for (int i = 0; i < 2; i++) {
		pthread_join(c[i].thread, NULL);
		if (!c[i].ok || c[i].reply != echo_answer(c[i].id))
			runner_fatalf("released call %" PRId64 ": ok %d, reply "
			              "%" PRId64 ", expected %" PRId64,
			              c[i].id, c[i].ok, c[i].reply,
			              echo_answer(c[i].id));
	}
	CU_ASSERT_FALSE(atomic_load(&c[2].returned));
	labrpc_delete_end(net, "doomed");
	pthread_join(c[2].thread, NULL);
	CU_ASSERT_FALSE(c[2].ok);

	/* Not held any more: calls return at once. */
	labrpc_enable(net, "held", true);
	CU_ASSERT_TRUE(call_int_int(e, "Dup.Echo", 5, &reply));
	CU_ASSERT_EQUAL(reply, echo_answer(5));

	/* Cleanup fails a call still held. */
	labrpc_hold_replies(net, "held", true);
	held_call_start(&c[0], e, 6);
	while (dup_runs_of(&ds, 6) == 0)
		labtime_sleep_ms(1);
	labrpc_net_cleanup(net);
	pthread_join(c[0].thread, NULL);
	CU_ASSERT_FALSE(c[0].ok);
	dup_server_free(&ds);
	labrpc_net_free(net);
}

/* What a request tap saw: the calls, in order. */
struct tap_log {
	pthread_mutex_t mu;
	int n;
	char endname[8][16];
	char svc_meth[8][16];
	uint8_t args[8][32];
	size_t len[8];
};

static void tap_record(void *arg, const char *endname, const char *svc_meth,
                       const uint8_t *args, size_t len)
{
	struct tap_log *t = arg;
	pthread_mutex_lock(&t->mu);
	if (t->n < 8 && len <= sizeof t->args[0]) {
		snprintf(t->endname[t->n], sizeof t->endname[0], "%s", endname);
		snprintf(t->svc_meth[t->n], sizeof t->svc_meth[0], "%s",
		         svc_meth);
		memcpy(t->args[t->n], args, len);
		t->len[t->n] = len;
	}
	t->n++;
	pthread_mutex_unlock(&t->mu);
}

/* Polls, up to 2 s, until ds has run id `want` times. */
static bool wait_runs_of(struct dup_server *ds, int64_t id, int want)
{
	for (int i = 0; i < 200 && dup_runs_of(ds, id) < want; i++)
		labtime_sleep_ms(10);
	return dup_runs_of(ds, id) == want;
}

/* A request tap sees every call, on an enabled end or not, with its end,
 * method and encoded arguments; labrpc_replay delivers such bytes again to
 * a server by name, whatever became of the end (disabled, deleted), counts
 * nothing in the network's totals, and reports a name no server holds. */
static void test_request_tap_and_replay(void)
{
	struct labrpc_net *net = labrpc_net_make(runner_seed());
	struct dup_server s1;
	dup_server_make(&s1, net, "s1");
	struct labrpc_end *e1 = labrpc_make_end(net, "e1");
	labrpc_connect(net, "e1", "s1");
	labrpc_enable(net, "e1", true);
	struct labrpc_end *e2 = labrpc_make_end(net, "e2");
	labrpc_connect(net, "e2", "s1"); /* disabled */

	struct tap_log t = {.n = 0};
	pthread_mutex_init(&t.mu, NULL);
	labrpc_net_request_tap(net, tap_record, &t);
	int64_t reply = 0;
	CU_ASSERT_TRUE(call_int_int(e1, "Dup.Echo", 7, &reply));
	CU_ASSERT_FALSE(call_int_int(e2, "Dup.Other", 8, &reply));
	labrpc_net_request_tap(net, NULL, NULL);
	CU_ASSERT_TRUE(call_int_int(e1, "Dup.Echo", 9, &reply));

	pthread_mutex_lock(&t.mu);
	if (t.n != 2)
		runner_fatalf("the tap saw %d calls, want 2 (one on an enabled "
		              "end, one on a disabled end, none once removed)",
		              t.n);
	CU_ASSERT_STRING_EQUAL(t.endname[0], "e1");
	CU_ASSERT_STRING_EQUAL(t.svc_meth[0], "Dup.Echo");
	CU_ASSERT_EQUAL((int64_t)t.len[0], int_msg_len(7));
	CU_ASSERT_STRING_EQUAL(t.endname[1], "e2");
	CU_ASSERT_STRING_EQUAL(t.svc_meth[1], "Dup.Other");
	pthread_mutex_unlock(&t.mu);

	/* The kept bytes, replayed, run the handler again, even once the end
	 * they were sent on is disabled, then deleted. */
	int count0 = labrpc_total_count(net);
	int64_t bytes0 = labrpc_total_bytes(net);
	labrpc_enable(net, "e1", false);
	CU_ASSERT_TRUE(
	        labrpc_replay(net, "s1", "Dup.Echo", t.args[0], t.len[0]));
	if (!wait_runs_of(&s1, 7, 2))
		runner_fatalf("a replay on a disabled end ran %d times in all, "
		              "want 2",
		              dup_runs_of(&s1, 7));
	labrpc_delete_end(net, "e1");
	CU_ASSERT_TRUE(
	        labrpc_replay(net, "s1", "Dup.Echo", t.args[0], t.len[0]));
	if (!wait_runs_of(&s1, 7, 3))
		runner_fatalf("a replay after its end was deleted ran %d times "
		              "in all, want 3",
		              dup_runs_of(&s1, 7));
	/* The call that never reached its server arrives now. */
	CU_ASSERT_TRUE(
	        labrpc_replay(net, "s1", "Dup.Other", t.args[1], t.len[1]));
	if (!wait_runs_of(&s1, 8, 1))
		runner_fatalf("a replay of a call on a disabled end ran %d "
		              "times, want 1",
		              dup_runs_of(&s1, 8));
	CU_ASSERT_EQUAL(labrpc_total_count(net), count0);
	CU_ASSERT_EQUAL(labrpc_total_bytes(net), bytes0);
	CU_ASSERT_FALSE(
	        labrpc_replay(net, "nobody", "Dup.Echo", t.args[0], t.len[0]));

	labrpc_net_cleanup(net);
	dup_server_free(&s1);
	labrpc_net_free(net);
	pthread_mutex_destroy(&t.mu);
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
        {"TestLatency", test_latency, 0},
        {"TestReplyDropAfterHandler", test_reply_drop_after_handler, 0},
        {"TestSeedReplay", test_seed_replay, 0},
        {"TestPeakThreads", test_peak_threads, 0},
        {"TestDuplicatesOff", test_duplicates_off, 0},
        {"TestDuplicates", test_duplicates, 0},
        {"TestDuplicateReachesReplacement", test_duplicate_reaches_replacement,
         0},
        {"TestDuplicatesDroppedWhenEndCutOff",
         test_duplicates_dropped_when_end_cut_off, 0},
        {"TestReplyHook", test_reply_hook, 0},
        {"TestReplyHookNotForCopies", test_reply_hook_not_for_copies, 0},
        {"TestCleanupWithPendingCopies", test_cleanup_with_pending_copies, 0},
        {"TestHoldReplies", test_hold_replies, 0},
        {"TestRequestTapAndReplay", test_request_tap_and_replay, 0},
        {"TestUnknownMethodIsFatal", test_unknown_method_is_fatal, 0},
        {"TestBadMessageIsFatal", test_bad_message_is_fatal, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "labrpc", tests,
	                   sizeof tests / sizeof tests[0]);
}
