/*
 * kv_config.c: the key/value service's tester harness (see kv_config.h),
 * after 6.5840's kvraft/config.go. It owns the network, the servers'
 * lifecycles (start/shutdown with persister copies), the clerks' ends, the
 * partitions, and the statistics of the Passed line.
 *
 * Locking: cfg->tester.mu guards what several threads touch: the running
 * servers, the endnames (servers' and clerks'), the clerk list, the PRNG and
 * the failure record. Network calls (labrpc_enable) are made under it, as the
 * original does under its mutex: labrpc never calls back into the harness.
 * cfg->tester.mu is never held while killing a server or waiting for handlers.
 */
#include "config/kv_config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/tester.h"
#include "labtime/labtime.h"
#include "rlog/rlog.h"
#include "runner/runner.h"

/* Length of the random names of the ends (Go: randstring(20)). */
#define ENDNAME_LEN 20

typedef char endname[ENDNAME_LEN + 1];

/* One running server: everything start_server makes and shutdown frees. */
struct instance {
	struct kv_server *kv;
	struct persister *persister; /* the one kv was started with */
	struct labrpc_end **ends;    /* ends[j] reaches server j (network's) */
	struct labrpc_server *srv;
};

struct server {
	char name[16];         /* the server name: "0", "1", ... */
	struct instance *inst; /* (tester.mu) NULL while shut down */
	/* endnames[j]: this server's end to server j; NULL until started or
	 * after a shutdown. (tester.mu) */
	endname *endnames;
	struct persister *saved; /* what the next instance starts from */
};

/* A clerk the harness made, with its ends' names in server order. */
struct client {
	struct kv_clerk *ck;
	endname *endnames; /* (tester.mu) */
	struct client *next;
};

struct kvcfg {
	/* The tester core: mu guards what the comment above says, changed is
	 * broadcast on a failure and by kvcfg_notify. */
	struct tester tester;
	struct labrpc_net *net;
	int n;
	int maxraftstate;
	struct server *servers;
	struct client *clients; /* (tester.mu) */

	/* kvcfg_begin / kvcfg_end statistics */
	int64_t t0_ns;
	int rpcs0;
	atomic_int ops;
};

/* ---- failures, waiting, randomness ---- */

void kvcfg_fail_at(struct kvcfg *cfg, const char *file, int line,
                   const char *fmt, ...)
{
	char msg[TESTER_MSG_SIZE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tester_fail(&cfg->tester, file, line, msg);
}

bool kvcfg_check_failure(struct kvcfg *cfg)
{
	return tester_check_failure(&cfg->tester);
}

bool kvcfg_wait(struct kvcfg *cfg, bool (*done)(void *arg), void *arg,
                int64_t timeout_ms)
{
	return tester_wait(&cfg->tester, done, arg, timeout_ms);
}

void kvcfg_notify(struct kvcfg *cfg)
{
	tester_notify(&cfg->tester);
}

bool kvcfg_sleep_ms(struct kvcfg *cfg, int64_t ms)
{
	return tester_sleep_ms(&cfg->tester, ms < 0 ? 0 : ms);
}

int64_t kvcfg_rand(struct kvcfg *cfg)
{
	return tester_rand(&cfg->tester);
}

/* ---- the network ---- */

int kvcfg_n(const struct kvcfg *cfg)
{
	return cfg->n;
}

int kvcfg_all(const struct kvcfg *cfg, int *all)
{
	for (int i = 0; i < cfg->n; i++)
		all[i] = i;
	return cfg->n;
}

/* Enables the ends between server i and the servers in to[], both ways,
 * with mu held (Go: connectUnlocked). */
static void enable_locked(struct kvcfg *cfg, int i, const int *to, int nto,
                          bool enabled)
{
	for (int k = 0; k < nto; k++) {
		int j = to[k];
		if (cfg->servers[i].endnames != NULL) /* outgoing */
			labrpc_enable(cfg->net, cfg->servers[i].endnames[j],
			              enabled);
		if (cfg->servers[j].endnames != NULL) /* incoming */
			labrpc_enable(cfg->net, cfg->servers[j].endnames[i],
			              enabled);
	}
}

void kvcfg_connect_all(struct kvcfg *cfg)
{
	int all[KVCFG_MAX_SERVERS];
	kvcfg_all(cfg, all);
	pthread_mutex_lock(&cfg->tester.mu);
	for (int i = 0; i < cfg->n; i++)
		enable_locked(cfg, i, all, cfg->n, true);
	pthread_mutex_unlock(&cfg->tester.mu);
	rlog(RLOG_TEST, -1, -1, "connect all");
}

/* "0 1 4": a group of servers, for the log. */
static void format_group(char *buf, size_t size, const int *g, int n)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int k = 0; k < n && at < size; k++)
		at += (size_t)snprintf(buf + at, size - at, "%s%d",
		                       k > 0 ? " " : "", g[k]);
}

void kvcfg_partition(struct kvcfg *cfg, const int *p1, int n1, const int *p2,
                     int n2)
{
	pthread_mutex_lock(&cfg->tester.mu);
	for (int k = 0; k < n1; k++) {
		enable_locked(cfg, p1[k], p2, n2, false);
		enable_locked(cfg, p1[k], p1, n1, true);
	}
	for (int k = 0; k < n2; k++) {
		enable_locked(cfg, p2[k], p1, n1, false);
		enable_locked(cfg, p2[k], p2, n2, true);
	}
	pthread_mutex_unlock(&cfg->tester.mu);
	if (rlog_on(RLOG_TEST, 1)) {
		char a[4 * KVCFG_MAX_SERVERS], b[4 * KVCFG_MAX_SERVERS];
		format_group(a, sizeof a, p1, n1);
		format_group(b, sizeof b, p2, n2);
		rlog(RLOG_TEST, -1, -1, "partition [%s] [%s]", a, b);
	}
}

void kvcfg_connect_one_way(struct kvcfg *cfg, const int *from, int nfrom,
                           const int *to, int nto)
{
	pthread_mutex_lock(&cfg->tester.mu);
	for (int k = 0; k < nfrom; k++) {
		const struct server *s = &cfg->servers[from[k]];
		for (int m = 0; m < nto && s->endnames != NULL; m++)
			labrpc_enable(cfg->net, s->endnames[to[m]], true);
	}
	pthread_mutex_unlock(&cfg->tester.mu);
	if (rlog_on(RLOG_TEST, 1)) {
		char a[4 * KVCFG_MAX_SERVERS], b[4 * KVCFG_MAX_SERVERS];
		format_group(a, sizeof a, from, nfrom);
		format_group(b, sizeof b, to, nto);
		rlog(RLOG_TEST, -1, -1, "connect [%s] -> [%s]", a, b);
	}
}

bool kvcfg_leader(struct kvcfg *cfg, int *leader)
{
	pthread_mutex_lock(&cfg->tester.mu);
	for (int i = 0; i < cfg->n; i++) {
		struct instance *in = cfg->servers[i].inst;
		if (in == NULL)
			continue;
		int term;
		bool is_leader;
		raft_get_state(kv_server_raft(in->kv), &term, &is_leader);
		if (is_leader) {
			pthread_mutex_unlock(&cfg->tester.mu);
			*leader = i;
			return true;
		}
	}
	pthread_mutex_unlock(&cfg->tester.mu);
	*leader = 0;
	return false;
}

void kvcfg_make_partition(struct kvcfg *cfg, int *p1, int *p2)
{
	int l;
	kvcfg_leader(cfg, &l);
	int n1 = cfg->n / 2 + 1, n2 = cfg->n / 2;
	int j = 0;
	for (int i = 0; i < cfg->n; i++) {
		if (i == l)
			continue;
		if (j < n1)
			p1[j] = i;
		else
			p2[j - n1] = i;
		j++;
	}
	p2[n2 - 1] = l;
}

/* ---- servers ---- */

void kvcfg_shutdown_server(struct kvcfg *cfg, int i)
{
	struct server *s = &cfg->servers[i];
	int all[KVCFG_MAX_SERVERS];
	kvcfg_all(cfg, all);

	pthread_mutex_lock(&cfg->tester.mu);
	if (s->inst != NULL)
		rlog(RLOG_TEST, i, -1, "shut down");
	enable_locked(cfg, i, all, cfg->n, false);

	/* Disable client connections to the server; it's important to do
	 * this before creating the new Persister in saved[i], to avoid the
	 * possibility of the server returning a positive reply to an Append
	 * but persisting the result in the superseded Persister. */
	labrpc_delete_server(cfg->net, s->name);

	/* A fresh persister, in case the old instance continues to update
	 * the Persister; the old one stays with the instance until it is
	 * freed. */
	struct instance *in = s->inst;
	if (s->saved != NULL) {
		struct persister *copy = persister_copy(s->saved);
		if (in == NULL || in->persister != s->saved)
			persister_free(s->saved);
		s->saved = copy;
	}
	s->inst = NULL;

	/* Fail the server's own calls in flight at once, so that its Raft
	 * peer stops without waiting for the network. */
	endname *names = s->endnames;
	s->endnames = NULL;
	if (names != NULL)
		for (int j = 0; j < cfg->n; j++)
			labrpc_delete_end(cfg->net, names[j]);
	pthread_mutex_unlock(&cfg->tester.mu);
	free(names);

	if (in != NULL) {
		kv_server_kill(in->kv);
		labrpc_server_free(in->srv); /* waits for running handlers */
		kv_server_free(in->kv);
		persister_free(in->persister);
		free(in->ends);
		free(in);
	}
}

void kvcfg_start_server(struct kvcfg *cfg, int i)
{
	struct server *s = &cfg->servers[i];

	kvcfg_shutdown_server(cfg, i);

	/* a fresh set of outgoing ClientEnd names. */
	struct instance *in = tester_calloc(1, sizeof *in);
	endname *names = tester_calloc((size_t)cfg->n, sizeof *names);
	in->ends = tester_calloc((size_t)cfg->n, sizeof *in->ends);
	pthread_mutex_lock(&cfg->tester.mu);
	for (int j = 0; j < cfg->n; j++)
		tester_randstring_locked(&cfg->tester, names[j], ENDNAME_LEN);
	/* a fresh set of ClientEnds, disabled until connected. */
	for (int j = 0; j < cfg->n; j++) {
		in->ends[j] = labrpc_make_end(cfg->net, names[j]);
		labrpc_connect(cfg->net, names[j], cfg->servers[j].name);
	}
	s->endnames = names;

	/* a fresh persister, so the old instance doesn't overwrite the new
	 * instance's persisted state. give the fresh persister a copy of the
	 * old persister's state, so that the spec is that we pass
	 * StartKVServer() the last persisted state. */
	if (s->saved != NULL) {
		struct persister *copy = persister_copy(s->saved);
		persister_free(s->saved);
		s->saved = copy;
	} else {
		s->saved = persister_make();
	}
	in->persister = s->saved;
	pthread_mutex_unlock(&cfg->tester.mu);

	rlog(RLOG_TEST, i, -1, "start");
	in->kv = kv_server_start(in->ends, cfg->n, i, in->persister,
	                         cfg->maxraftstate);
	if (in->kv == NULL) {
		fputs("kv_config: kv_server_start failed\n", stderr);
		abort();
	}
	in->srv = labrpc_server_make();
	labrpc_server_add_service(in->srv, &kv_service, in->kv);
	labrpc_server_add_service(in->srv, &raft_service,
	                          kv_server_raft(in->kv));

	pthread_mutex_lock(&cfg->tester.mu);
	s->inst = in;
	labrpc_add_server(cfg->net, s->name, in->srv);
	pthread_mutex_unlock(&cfg->tester.mu);
}

static void warn_if_one_cpu(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("warning: only one CPU, which may conceal locking "
		       "bugs\n");
		fflush(stdout);
	}
}

struct kvcfg *kvcfg_make(int n, bool unreliable, int maxraftstate)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, warn_if_one_cpu);

	if (n < 1 || n > KVCFG_MAX_SERVERS) {
		fprintf(stderr, "kv_config: %d servers (1..%d)\n", n,
		        KVCFG_MAX_SERVERS);
		abort();
	}
	struct kvcfg *cfg = tester_calloc(1, sizeof *cfg);
	/* The network draws from runner_seed() itself; the harness's own
	 * choices come from a different stream of the same seed. */
	tester_init(&cfg->tester, runner_seed() ^ UINT64_C(0x6a09e667f3bcc909));
	atomic_init(&cfg->ops, 0);
	cfg->n = n;
	cfg->maxraftstate = maxraftstate;
	cfg->net = labrpc_net_make(runner_seed());
	cfg->servers = tester_calloc((size_t)n, sizeof *cfg->servers);
	for (int i = 0; i < n; i++)
		snprintf(cfg->servers[i].name, sizeof cfg->servers[i].name,
		         "%d", i);

	/* create a full set of KV servers. */
	for (int i = 0; i < n; i++)
		kvcfg_start_server(cfg, i);
	kvcfg_connect_all(cfg);
	labrpc_net_reliable(cfg->net, !unreliable);
	return cfg;
}

void kvcfg_set_duplicates(struct kvcfg *cfg, bool duplicates)
{
	labrpc_net_duplicates(cfg->net, duplicates);
}

void kvcfg_set_long_reordering(struct kvcfg *cfg, bool yes)
{
	labrpc_net_long_reordering(cfg->net, yes);
	rlog(RLOG_TEST, -1, -1, "long reordering %s", yes ? "on" : "off");
}

void kvcfg_check_timeout(struct kvcfg *cfg)
{
	/* enforce a two minute real-time limit on each test */
	if (tester_over_limit(&cfg->tester, KVCFG_TEST_SECONDS))
		kvcfg_fatalf(cfg, "test took longer than %d seconds",
		             KVCFG_TEST_SECONDS);
}

void kvcfg_cleanup(struct kvcfg *cfg)
{
	for (int i = 0; i < cfg->n; i++)
		kvcfg_shutdown_server(cfg, i);
	labrpc_net_cleanup(cfg->net);
	/* A failure recorded during the shutdown is still a failure. */
	struct tester_outcome outcome;
	tester_end(&cfg->tester, KVCFG_TEST_SECONDS, &outcome);

	while (cfg->clients != NULL) {
		struct client *c = cfg->clients;
		cfg->clients = c->next;
		kv_clerk_free(c->ck);
		free(c->endnames);
		free(c);
	}
	for (int i = 0; i < cfg->n; i++)
		persister_free(cfg->servers[i].saved);
	labrpc_net_free(cfg->net);
	free(cfg->servers);
	free(cfg);
	tester_report(&outcome);
}

/* ---- clerks ---- */

/* The registered client of ck, with mu held. */
static struct client *find_client(struct kvcfg *cfg, struct kv_clerk *ck)
{
	struct client *c = cfg->clients;
	while (c != NULL && c->ck != ck)
		c = c->next;
	if (c == NULL) {
		fputs("kv_config: unknown clerk\n", stderr);
		abort();
	}
	return c;
}

static void enable_client_locked(struct kvcfg *cfg, struct client *c,
                                 const int *to, int nto, bool enabled)
{
	for (int k = 0; k < nto; k++)
		labrpc_enable(cfg->net, c->endnames[to[k]], enabled);
}

struct kv_clerk *kvcfg_make_client(struct kvcfg *cfg, const int *to, int nto)
{
	struct client *c = tester_calloc(1, sizeof *c);
	struct labrpc_end *ends[KVCFG_MAX_SERVERS];
	c->endnames = tester_calloc((size_t)cfg->n, sizeof *c->endnames);

	pthread_mutex_lock(&cfg->tester.mu);
	/* a fresh set of ClientEnds. */
	for (int j = 0; j < cfg->n; j++) {
		tester_randstring_locked(&cfg->tester, c->endnames[j],
		                         ENDNAME_LEN);
		ends[j] = labrpc_make_end(cfg->net, c->endnames[j]);
		labrpc_connect(cfg->net, c->endnames[j], cfg->servers[j].name);
	}
	/* random_handles: a Fisher-Yates shuffle of the ends. */
	for (int j = cfg->n - 1; j > 0; j--) {
		int k = (int)prng_below(&cfg->tester.rng, j + 1);
		struct labrpc_end *t = ends[j];
		ends[j] = ends[k];
		ends[k] = t;
	}
	pthread_mutex_unlock(&cfg->tester.mu);

	c->ck = kv_clerk_make(ends, cfg->n);
	if (c->ck == NULL) {
		fputs("kv_config: kv_clerk_make failed\n", stderr);
		abort();
	}

	pthread_mutex_lock(&cfg->tester.mu);
	c->next = cfg->clients;
	cfg->clients = c;
	enable_client_locked(cfg, c, to, nto, true);
	pthread_mutex_unlock(&cfg->tester.mu);
	return c->ck;
}

void kvcfg_delete_client(struct kvcfg *cfg, struct kv_clerk *ck)
{
	pthread_mutex_lock(&cfg->tester.mu);
	struct client *c = find_client(cfg, ck);
	struct client **pc = &cfg->clients;
	while (*pc != c)
		pc = &(*pc)->next;
	*pc = c->next;
	pthread_mutex_unlock(&cfg->tester.mu);
	/* Like the original, its ends stay as they are. */
	kv_clerk_free(c->ck);
	free(c->endnames);
	free(c);
}

void kvcfg_connect_client(struct kvcfg *cfg, struct kv_clerk *ck, const int *to,
                          int nto)
{
	pthread_mutex_lock(&cfg->tester.mu);
	enable_client_locked(cfg, find_client(cfg, ck), to, nto, true);
	pthread_mutex_unlock(&cfg->tester.mu);
}

void kvcfg_disconnect_client(struct kvcfg *cfg, struct kv_clerk *ck,
                             const int *from, int nfrom)
{
	pthread_mutex_lock(&cfg->tester.mu);
	enable_client_locked(cfg, find_client(cfg, ck), from, nfrom, false);
	pthread_mutex_unlock(&cfg->tester.mu);
}

bool kvcfg_put_append_as(struct kvcfg *cfg, int i, const char *op,
                         const char *key, const char *value, uint64_t client_id,
                         uint64_t seq, char *err, size_t errsize)
{
	endname name;
	pthread_mutex_lock(&cfg->tester.mu);
	tester_randstring_locked(&cfg->tester, name, ENDNAME_LEN);
	struct labrpc_end *end = labrpc_make_end(cfg->net, name);
	labrpc_connect(cfg->net, name, cfg->servers[i].name);
	labrpc_enable(cfg->net, name, true);
	pthread_mutex_unlock(&cfg->tester.mu);

	struct kv_put_append_args args = {.key = (char *)key,
	                                  .value = (char *)value,
	                                  .op = (char *)op,
	                                  .client_id = client_id,
	                                  .seq = seq};
	struct kv_put_append_reply reply = {0};
	bool ok =
	        labrpc_call(end, "KVServer.PutAppend", &kv_put_append_args_type,
	                    &args, &kv_put_append_reply_type, &reply);
	if (ok) {
		snprintf(err, errsize, "%s",
		         reply.err != NULL ? reply.err : "");
		kv_put_append_reply_type.release(&reply);
	}
	labrpc_delete_end(cfg->net, name);
	return ok;
}

/* ---- statistics ---- */

void kvcfg_op(struct kvcfg *cfg)
{
	atomic_fetch_add(&cfg->ops, 1);
}

int kvcfg_log_size(struct kvcfg *cfg)
{
	size_t logsize = 0;
	for (int i = 0; i < cfg->n; i++) {
		size_t n = persister_raft_state_size(cfg->servers[i].saved);
		if (n > logsize)
			logsize = n;
	}
	return (int)logsize;
}

int kvcfg_snapshot_size(struct kvcfg *cfg)
{
	size_t snapshotsize = 0;
	for (int i = 0; i < cfg->n; i++) {
		size_t n = persister_snapshot_size(cfg->servers[i].saved);
		if (n > snapshotsize)
			snapshotsize = n;
	}
	return (int)snapshotsize;
}

/* ---- begin and end ---- */

void kvcfg_begin(struct kvcfg *cfg, const char *description)
{
	printf("%s ...\n", description);
	fflush(stdout);
	rlog(RLOG_TEST, -1, -1, "begin: %s", description);
	cfg->t0_ns = labtime_now_ns();
	cfg->rpcs0 = labrpc_total_count(cfg->net);
	atomic_store(&cfg->ops, 0);
}

void kvcfg_end(struct kvcfg *cfg)
{
	kvcfg_check_failure(cfg); /* a recorded failure first: it says more */
	kvcfg_check_timeout(cfg);

	double t = (double)(labtime_now_ns() - cfg->t0_ns) / 1e9;
	int npeers = cfg->n;
	int nrpc = labrpc_total_count(cfg->net) - cfg->rpcs0;
	int ops = atomic_load(&cfg->ops);

	printf("  ... Passed --");
	printf("  %4.1f  %d %5d %4d\n", t, npeers, nrpc, ops);
	fflush(stdout);
	runner_report_counts((uint64_t)nrpc, (uint64_t)ops);
}
