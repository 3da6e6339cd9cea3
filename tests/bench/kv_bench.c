/*
 * kv_bench.c: what reads without the log (§8, raft_read_index) buy the
 * reference key/value service, against Gets that go through the Raft log
 * as 6.5840's lab has them (kv_settings_log_reads). On a reliable 3-server
 * cluster of the reference, for each way of reading: the latency of one
 * clerk's Gets one after another (median, mean, 99th percentile), the
 * throughput of 1, 4 and 16 clerks calling Get as fast as they can, the
 * log entries added per Get, and the RPCs per Get. Not a test: it asserts
 * nothing and needs no CUnit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvraft/kvraft.h"
#include "kvraft/settings.h"
#include "labrpc/labrpc.h"
#include "labtime/labtime.h"
#include "raft/persister.h"

enum {
	NSERVERS = 3,
	LATENCY_GETS = 5000,
	THROUGHPUT_MS = 2000,
	MAX_CLERKS = 16,
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL) {
		fputs("kv_bench: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

/* One cluster: NSERVERS reference servers on a reliable network. */
struct cluster {
	struct labrpc_net *net;
	struct persister *persisters[NSERVERS];
	struct labrpc_end *ends[NSERVERS][NSERVERS];
	struct kv_server *servers[NSERVERS];
	struct labrpc_server *srvs[NSERVERS];
	int nclerks;
	struct labrpc_end *clerk_ends[MAX_CLERKS + 1][NSERVERS];
	struct kv_clerk *clerks[MAX_CLERKS + 1];
};

/* An end named name to server j, connected and enabled. */
static struct labrpc_end *end_to_server(struct cluster *c, const char *name,
                                        int j)
{
	char to[64];
	snprintf(to, sizeof to, "server%d", j);
	struct labrpc_end *end = labrpc_make_end(c->net, name);
	labrpc_connect(c->net, name, to);
	labrpc_enable(c->net, name, true);
	return end;
}

static void cluster_start(struct cluster *c)
{
	char name[64];
	memset(c, 0, sizeof *c);
	c->net = labrpc_net_make(labrpc_seed_from_env());
	for (int i = 0; i < NSERVERS; i++) {
		c->persisters[i] = persister_make();
		for (int j = 0; j < NSERVERS; j++) {
			snprintf(name, sizeof name, "s%d-s%d", i, j);
			c->ends[i][j] = end_to_server(c, name, j);
		}
	}
	for (int i = 0; i < NSERVERS; i++) {
		c->servers[i] = kv_server_start(c->ends[i], NSERVERS, i,
		                                c->persisters[i], -1);
		if (c->servers[i] == NULL) {
			fputs("kv_bench: kv_server_start failed\n", stderr);
			exit(1);
		}
		c->srvs[i] = labrpc_server_make();
		labrpc_server_add_service(c->srvs[i], &kv_service,
		                          c->servers[i]);
		labrpc_server_add_service(c->srvs[i], &raft_service,
		                          kv_server_raft(c->servers[i]));
		snprintf(name, sizeof name, "server%d", i);
		labrpc_add_server(c->net, name, c->srvs[i]);
	}
}

/* Clerk k (made on first use). */
static struct kv_clerk *cluster_clerk(struct cluster *c, int k)
{
	if (c->clerks[k] != NULL)
		return c->clerks[k];
	char name[64];
	for (int j = 0; j < NSERVERS; j++) {
		snprintf(name, sizeof name, "c%d-s%d", k, j);
		c->clerk_ends[k][j] = end_to_server(c, name, j);
	}
	c->clerks[k] = kv_clerk_make(c->clerk_ends[k], NSERVERS);
	if (c->clerks[k] == NULL) {
		fputs("kv_bench: kv_clerk_make failed\n", stderr);
		exit(1);
	}
	if (k + 1 > c->nclerks)
		c->nclerks = k + 1;
	return c->clerks[k];
}

static void cluster_stop(struct cluster *c)
{
	char name[64];
	for (int i = 0; i < NSERVERS; i++) {
		snprintf(name, sizeof name, "server%d", i);
		labrpc_delete_server(c->net, name);
		for (int j = 0; j < NSERVERS; j++) {
			snprintf(name, sizeof name, "s%d-s%d", i, j);
			labrpc_delete_end(c->net, name);
		}
		kv_server_kill(c->servers[i]);
	}
	for (int k = 0; k < c->nclerks; k++)
		kv_clerk_free(c->clerks[k]);
	labrpc_net_cleanup(c->net);
	for (int i = 0; i < NSERVERS; i++) {
		labrpc_server_free(c->srvs[i]);
		kv_server_free(c->servers[i]);
		persister_free(c->persisters[i]);
	}
	labrpc_net_free(c->net);
}

static size_t max_raft_state(const struct cluster *c)
{
	size_t max = 0;
	for (int i = 0; i < NSERVERS; i++) {
		size_t n = persister_raft_state_size(c->persisters[i]);
		if (n > max)
			max = n;
	}
	return max;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* A clerk of the throughput run: Gets until told to stop. */
struct reader {
	pthread_t thread;
	struct kv_clerk *ck;
	atomic_bool *stop;
	long gets;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(r->stop)) {
		free(kv_get(r->ck, "k"));
		r->gets++;
	}
	return NULL;
}

struct result {
	double median_us, mean_us, p99_us;
	double bytes_per_get, rpcs_per_get;
	double throughput[3]; /* Gets/s with 1, 4, 16 clerks */
};

static const int clerk_counts[3] = {1, 4, 16};

static void measure(bool log_reads, struct result *res)
{
	struct cluster c;
	kv_settings_log_reads(log_reads);
	cluster_start(&c);
	struct kv_clerk *ck = cluster_clerk(&c, 0);
	kv_put(ck, "k", "a value of some thirty bytes..");
	free(kv_get(ck, "k")); /* a leader, and its first read, in place */

	int64_t *lat = xcalloc(LATENCY_GETS, sizeof *lat);
	size_t state0 = max_raft_state(&c);
	int rpcs0 = labrpc_total_count(c.net);
	double sum = 0;
	for (int i = 0; i < LATENCY_GETS; i++) {
		int64_t t0 = labtime_now_ns();
		free(kv_get(ck, "k"));
		lat[i] = labtime_now_ns() - t0;
		sum += (double)lat[i];
	}
	res->rpcs_per_get =
	        (double)(labrpc_total_count(c.net) - rpcs0) / LATENCY_GETS;
	res->bytes_per_get =
	        (double)(max_raft_state(&c) - state0) / LATENCY_GETS;
	qsort(lat, LATENCY_GETS, sizeof *lat, cmp_i64);
	res->median_us = (double)lat[LATENCY_GETS / 2] / 1e3;
	res->mean_us = sum / LATENCY_GETS / 1e3;
	res->p99_us = (double)lat[LATENCY_GETS * 99 / 100] / 1e3;
	free(lat);

	for (int t = 0; t < 3; t++) {
		struct reader readers[MAX_CLERKS];
		atomic_bool stop;
		atomic_init(&stop, false);
		int n = clerk_counts[t];
		for (int k = 0; k < n; k++) {
			readers[k] = (struct reader){.ck = cluster_clerk(&c, k),
			                             .stop = &stop};
			free(kv_get(readers[k].ck, "k")); /* finds the leader */
		}
		int64_t t0 = labtime_now_ns();
		for (int k = 0; k < n; k++)
			if (pthread_create(&readers[k].thread, NULL,
			                   reader_main, &readers[k]) != 0) {
				fputs("kv_bench: pthread_create failed\n",
				      stderr);
				exit(1);
			}
		labtime_sleep_ms(THROUGHPUT_MS);
		atomic_store(&stop, true);
		long gets = 0;
		for (int k = 0; k < n; k++) {
			pthread_join(readers[k].thread, NULL);
			gets += readers[k].gets;
		}
		res->throughput[t] =
		        (double)gets / ((double)(labtime_now_ns() - t0) / 1e9);
	}
	cluster_stop(&c);
	kv_settings_log_reads(false);
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: kv_bench (no options; make bench runs "
		                "it)\n");
		return 2;
	}
	struct result index, log;
	measure(false, &index);
	measure(true, &log);

	printf("kvraft Gets on a reliable 3-server cluster of the reference "
	       "(%d Gets one after another, then %d s of 1/4/16 clerks):\n",
	       LATENCY_GETS, THROUGHPUT_MS / 1000);
	printf("%-24s %10s %10s %10s %9s %9s %10s %10s %10s\n", "reads",
	       "median", "mean", "p99", "bytes/Get", "RPCs/Get", "1 clerk",
	       "4 clerks", "16 clerks");
	const struct result *rs[2] = {&index, &log};
	const char *names[2] = {"ReadIndex (§8)", "through the log"};
	for (int i = 0; i < 2; i++)
		printf("%-25s %7.1f µs %7.1f µs %7.1f µs %9.1f %9.2f %8.0f/s "
		       "%8.0f/s %8.0f/s\n",
		       names[i], rs[i]->median_us, rs[i]->mean_us,
		       rs[i]->p99_us, rs[i]->bytes_per_get, rs[i]->rpcs_per_get,
		       rs[i]->throughput[0], rs[i]->throughput[1],
		       rs[i]->throughput[2]);
	printf("ReadIndex latency / log-read latency (median): %.2f\n",
	       index.median_us / log.median_us);
	return 0;
}
