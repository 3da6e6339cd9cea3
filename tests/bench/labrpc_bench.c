/*
 * labrpc_bench.c: how fast the simulated network is on a reliable network.
 * Prints the sequential round-trip time of one end (the original's
 * TestBenchmark), then the throughput of 1, 4 and 16 client threads, each
 * with its own end. Not a test: it asserts nothing and needs no CUnit.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec/codec.h"
#include "labrpc/labrpc.h"
#include "labtime/labtime.h"

enum {
	SEQUENTIAL_CALLS = 100000,
	THROUGHPUT_MS = 2000,
};

struct bench_int {
	int64_t v;
};

static void int_encode(struct codec_buf *b, const void *value)
{
	codec_put_varint(b, ((const struct bench_int *)value)->v);
}

static int int_decode(struct codec_reader *r, void *value)
{
	return codec_get_varint(r, &((struct bench_int *)value)->v);
}

static const struct codec_type int_type = {
        "int", sizeof(struct bench_int), int_encode, int_decode, NULL,
};

/* Echo.Negate: int -> -int. */
static void negate(void *receiver, const void *args, void *reply)
{
	(void)receiver;
	((struct bench_int *)reply)->v = -((const struct bench_int *)args)->v;
}

static const struct labrpc_method echo_methods[] = {
        {"Negate", &int_type, &int_type, negate},
};

static const struct labrpc_service_def echo_service = {"Echo", echo_methods, 1};

static bool negate_call(struct labrpc_end *e, int64_t arg)
{
	struct bench_int a = {arg}, r = {0};
	if (!labrpc_call(e, "Echo.Negate", &int_type, &a, &int_type, &r) ||
	    r.v != -arg) {
		fprintf(stderr,
		        "labrpc_bench: Echo.Negate(%" PRId64 ") failed\n", arg);
		exit(1);
	}
	return true;
}

static struct labrpc_end *make_end(struct labrpc_net *net, int i)
{
	char name[32];
	snprintf(name, sizeof name, "client%d", i);
	struct labrpc_end *e = labrpc_make_end(net, name);
	labrpc_connect(net, name, "echo");
	labrpc_enable(net, name, true);
	return e;
}

struct client {
	struct labrpc_end *e;
	atomic_bool *stop;
	pthread_t thread;
	long calls;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	while (!atomic_load_explicit(c->stop, memory_order_relaxed))
		negate_call(c->e, c->calls++);
	return NULL;
}

/* Calls per second of nthreads clients running for THROUGHPUT_MS. */
static double throughput(struct labrpc_net *net, int nthreads, int *next_end)
{
	struct client *cs = calloc((size_t)nthreads, sizeof *cs);
	atomic_bool stop;
	atomic_init(&stop, false);
	for (int i = 0; i < nthreads; i++) {
		cs[i].e = make_end(net, (*next_end)++);
		cs[i].stop = &stop;
	}
	int64_t t0 = labtime_now_ns();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&cs[i].thread, NULL, client_main, &cs[i]);
	labtime_sleep_ms(THROUGHPUT_MS);
	atomic_store(&stop, true);
	long calls = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(cs[i].thread, NULL);
		calls += cs[i].calls;
	}
	double secs = (double)(labtime_now_ns() - t0) / 1e9;
	free(cs);
	return (double)calls / secs;
}

int main(void)
{
	struct labrpc_net *net = labrpc_net_make(labrpc_seed_from_env());
	struct labrpc_server *srv = labrpc_server_make();
	labrpc_server_add_service(srv, &echo_service, NULL);
	labrpc_add_server(net, "echo", srv);
	int next_end = 0;

	struct labrpc_end *e = make_end(net, next_end++);
	for (int i = 0; i < 1000;
	     i++) /* warm up: start the pool, fault in memory */
		negate_call(e, i);
	int64_t t0 = labtime_now_ns();
	for (int i = 0; i < SEQUENTIAL_CALLS; i++)
		negate_call(e, i);
	double secs = (double)(labtime_now_ns() - t0) / 1e9;
	printf("sequential: %.3fs for %d calls (%.2f us/call)\n", secs,
	       SEQUENTIAL_CALLS, secs * 1e6 / SEQUENTIAL_CALLS);

	printf("\n%8s %14s %12s\n", "threads", "calls/s", "us/call");
	static const int nthreads[] = {1, 4, 16};
	for (size_t i = 0; i < sizeof nthreads / sizeof nthreads[0]; i++) {
		double rate = throughput(net, nthreads[i], &next_end);
		printf("%8d %14.0f %12.2f\n", nthreads[i], rate, 1e6 / rate);
	}
	printf("\npeak network threads: %d\n", labrpc_peak_threads(net));

	labrpc_net_cleanup(net);
	labrpc_server_free(srv);
	labrpc_net_free(net);
	return 0;
}
