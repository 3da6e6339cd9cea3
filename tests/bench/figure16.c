/*
 * figure16.c: the Raft paper's Figure 16 (§9.3) on the reference Raft: how
 * long a cluster of five is without a leader after its leader crashes, for
 * election timeout ranges from 12-24 ms to 150-300 ms. A benchmark, not a
 * test: it prints a table per timeout range and writes every sample to a CSV
 * file, which scripts/figure16.py draws (make figure16; README, Figure 16).
 *
 * One trial, on a fresh cluster of five reference peers (raft/timing.h: the
 * line's timeout range, and a heartbeat of half its minimum, as in the
 * paper) on a reliable labrpc network where every message spends a fixed
 * time on the wire (labrpc_net_latency): a request 2.5 ms and a reply
 * 12.5 ms by default, so that a broadcast, the requests out and the replies
 * back, takes the paper's 15 ms. Most of it is the reply's because most of
 * the paper's broadcast time was the voter's synchronous disk write before
 * it answers (§5.6: 0.5-20 ms "depending on storage technology"); the split
 * matters, as a candidate's request must reach the others before they time
 * out themselves (README, Figure 16, compares 7.5 ms each way):
 *   1. make the peers a tenth of the minimum timeout apart (so that even
 *      without randomness one of them times out first) and wait for a
 *      stable leader: one peer leads the term T0 that all five are in, and
 *      so it stays for a settling time;
 *   2. let it run a random part of one heartbeat interval, so that the
 *      crash falls at a uniformly random point of it, and crash it: its
 *      ends and the ends to it are disabled (what it sent before still
 *      arrives, as on a real wire) and its server leaves the network;
 *   3. poll the live peers' raft_get_state every POLL_US until a new leader
 *      is established; the sample is the time from the crash to then.
 * Each trial then tears everything down (every thread joined, everything
 * freed) before the next one starts.
 *
 * Established: a live peer leads a term T > T0, a majority of the five
 * (itself included) are in T, and no peer is in a later term; and so it
 * stays: a leader deposed by a peer of a later term does not count, and the
 * search goes on. The moment counted is the first poll that saw it; the
 * trial ends once all four live peers have been in T under that leader for
 * a settling time (the longest election timeout and two broadcasts: long
 * enough for any candidate of T that had not heard from the leader to time
 * out). A trial without one within --limit-ms counts as "no leader".
 *
 * The reference's heartbeats to all followers leave together (its ticker
 * sends them in one pass), so the followers' timers restart at the same
 * moment: the paper's worst case, which its test script forced with a
 * synchronized broadcast before each crash.
 *
 * In the sim build each trial is a simulation of its own on virtual time,
 * seeded from --seed, the line and the trial, so that a trial replays
 * exactly; the peers' election timeouts come from the same seed (through
 * RAFTLAB_SEED, which this program sets for each trial) in both builds.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"
#include "labrpc/labrpc.h"
#include "labtime/labtime.h"
#include "prng/prng.h"
#include "raft/persister.h"
#include "raft/raft.h"
#include "raft/timing.h"
#include "sim/sim.h"

enum {
	PEERS = 5,
	MAJORITY = PEERS / 2 + 1,
	DEFAULT_TRIALS = 1000,
	/* the paper's 100 trials for 150-150, against 1000 for the others */
	NO_RANDOMNESS_SHARE = 10,
	DEFAULT_REQUEST_US = 2500,
	DEFAULT_REPLY_US = 12500,
	DEFAULT_LIMIT_MS = 10000,
	POLL_US = 250,
	/* The first leader of a fresh cluster: an error if none by then. */
	START_LIMIT_MS = 60000,
	EXIT_USAGE = 2,
};

#define US_NS INT64_C(1000)
#define MS_NS INT64_C(1000000)

/* One line of the figure: election timeouts drawn from [min, max) ms. */
struct line {
	const char *name;
	int min_ms, max_ms;
};

/* The paper's top panel, then the rest of its bottom one (150-300 is in
 * both). */
static const struct line lines[] = {
        {"150-150", 150, 150}, {"150-151", 150, 151}, {"150-155", 150, 155},
        {"150-175", 150, 175}, {"150-200", 150, 200}, {"150-300", 150, 300},
        {"12-24", 12, 24},     {"25-50", 25, 50},     {"50-100", 50, 100},
        {"100-200", 100, 200},
};
#define NLINES (sizeof lines / sizeof lines[0])

struct options {
	int trials; /* per line; the 150-150 line gets a tenth */
	bool chosen[NLINES];
	uint64_t seed;
	int64_t request_latency_ns, reply_latency_ns;
	int64_t limit_ns;
	const char *csv;
};

/* ---- one cluster ---- */

struct peer {
	char name[16];            /* its server's name */
	char endnames[PEERS][32]; /* its ends, to each peer */
	struct labrpc_end *ends[PEERS];
	struct labrpc_server *srv;
	struct persister *persister;
	struct chan *apply_ch;
	pthread_t drainer;
	struct raft *rf;
	bool crashed;
};

struct cluster {
	struct labrpc_net *net;
	struct peer peers[PEERS];
	/* The benchmark thread's sleeps. */
	pthread_mutex_t mu;
	pthread_cond_t wake;
};

static _Noreturn void die(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("figure16: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Receives and frees what a peer applies (nothing is started here, but the
 * apply channel is unbuffered and must have a receiver). */
static void *drain_applies(void *arg)
{
	struct chan *ch = arg;
	void *msg;
	while (chan_recv(ch, &msg) == CHAN_OK)
		raft_apply_msg_free(msg);
	return NULL;
}

/* Sleeps until the lab clock (virtual in the sim build) reads deadline_ns. */
static void sleep_until(struct cluster *c, int64_t deadline_ns)
{
	pthread_mutex_lock(&c->mu);
	while (labtime_now_ns() < deadline_ns)
		labtime_cond_wait_until(&c->wake, &c->mu, deadline_ns);
	pthread_mutex_unlock(&c->mu);
}

/* Makes the five peers stagger_ns apart, so that even without randomness
 * in the timeouts the first one times out alone and a first leader is
 * elected. */
static void cluster_make(struct cluster *c, uint64_t seed,
                         const struct options *o, int64_t stagger_ns)
{
	memset(c, 0, sizeof *c);
	pthread_mutex_init(&c->mu, NULL);
	if (labtime_cond_init(&c->wake) != 0)
		die("cannot make a condition variable");
	/* raft_make seeds each peer's election timeouts from it. */
	char seed_text[32];
	snprintf(seed_text, sizeof seed_text, "0x%016" PRIx64, seed);
	setenv("RAFTLAB_SEED", seed_text, 1);

	c->net = labrpc_net_make(seed);
	labrpc_net_latency(c->net, o->request_latency_ns, o->reply_latency_ns);
	for (int i = 0; i < PEERS; i++) {
		struct peer *p = &c->peers[i];
		snprintf(p->name, sizeof p->name, "s%d", i);
		for (int j = 0; j < PEERS; j++) {
			snprintf(p->endnames[j], sizeof p->endnames[j],
			         "%d->%d", i, j);
			p->ends[j] = labrpc_make_end(c->net, p->endnames[j]);
			char server[16];
			snprintf(server, sizeof server, "s%d", j);
			labrpc_connect(c->net, p->endnames[j], server);
			labrpc_enable(c->net, p->endnames[j], true);
		}
	}
	for (int i = 0; i < PEERS; i++) {
		struct peer *p = &c->peers[i];
		if (i > 0)
			sleep_until(c, labtime_now_ns() + stagger_ns);
		p->persister = persister_make();
		p->apply_ch = chan_make(0);
		if (!p->apply_ch)
			die("out of memory");
		p->rf = raft_make(p->ends, PEERS, i, p->persister, p->apply_ch);
		if (!p->rf)
			die("raft_make failed");
		if (pthread_create(&p->drainer, NULL, drain_applies,
		                   p->apply_ch) != 0)
			die("cannot start a thread");
		p->srv = labrpc_server_make();
		labrpc_server_add_service(p->srv, &raft_service, p->rf);
		labrpc_add_server(c->net, p->name, p->srv);
	}
}

/* Crashes peer i: nothing more goes to or from it. Messages already on the
 * wire still arrive; their replies are lost. */
static void cluster_crash(struct cluster *c, int i)
{
	for (int j = 0; j < PEERS; j++) {
		labrpc_enable(c->net, c->peers[i].endnames[j], false);
		labrpc_enable(c->net, c->peers[j].endnames[i], false);
	}
	labrpc_delete_server(c->net, c->peers[i].name);
	c->peers[i].crashed = true;
}

static void cluster_free(struct cluster *c)
{
	/* Every call in flight fails now, so that each kill joins at once. */
	for (int i = 0; i < PEERS; i++) {
		labrpc_delete_server(c->net, c->peers[i].name);
		for (int j = 0; j < PEERS; j++)
			labrpc_delete_end(c->net, c->peers[i].endnames[j]);
	}
	for (int i = 0; i < PEERS; i++)
		raft_kill(c->peers[i].rf);
	for (int i = 0; i < PEERS; i++) {
		struct peer *p = &c->peers[i];
		chan_close(p->apply_ch);
		pthread_join(p->drainer, NULL);
		labrpc_server_free(p->srv); /* waits for running handlers */
		raft_free(p->rf);
		chan_free(p->apply_ch);
		persister_free(p->persister);
	}
	labrpc_net_cleanup(c->net);
	labrpc_net_free(c->net);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->mu);
}

/* What the live peers say; a crashed one is in no term and leads none. */
struct view {
	int term[PEERS];
	bool leader[PEERS];
	int max_term;
};

static void look(struct cluster *c, struct view *v)
{
	v->max_term = -1;
	for (int i = 0; i < PEERS; i++) {
		v->term[i] = -1;
		v->leader[i] = false;
		if (c->peers[i].crashed)
			continue;
		raft_get_state(c->peers[i].rf, &v->term[i], &v->leader[i]);
		if (v->term[i] > v->max_term)
			v->max_term = v->term[i];
	}
}

static int peers_in_term(const struct view *v, int term)
{
	int n = 0;
	for (int i = 0; i < PEERS; i++)
		n += v->term[i] == term;
	return n;
}

static int live_peers(const struct cluster *c)
{
	int n = 0;
	for (int i = 0; i < PEERS; i++)
		n += !c->peers[i].crashed;
	return n;
}

/* A peer leading a term above after_term that a majority are in and no
 * peer is past: an established leader, if it lasts. -1 if none. */
static int majority_leader(const struct view *v, int after_term)
{
	for (int i = 0; i < PEERS; i++)
		if (v->leader[i] && v->term[i] > after_term &&
		    v->term[i] == v->max_term &&
		    peers_in_term(v, v->term[i]) >= MAJORITY)
			return i;
	return -1;
}

/*
 * Polls until a leader of a term above after_term is established and every
 * live peer has been in its term for settle_ns; returns it, with the moment
 * it was first seen established in *seen_ns, or -1 if there is none by
 * give_up_ns.
 */
static int await_leader(struct cluster *c, int after_term, int64_t settle_ns,
                        int64_t give_up_ns, int *term, int64_t *seen_ns)
{
	int leader = -1;
	int64_t settled_since = -1;
	for (;;) {
		int64_t now = labtime_now_ns();
		struct view v;
		look(c, &v);
		if (leader >= 0 &&
		    (!v.leader[leader] || v.term[leader] != *term ||
		     v.max_term > *term)) {
			leader = -1; /* deposed: it was not established */
			settled_since = -1;
		}
		if (leader < 0) {
			leader = majority_leader(&v, after_term);
			if (leader >= 0) {
				*term = v.term[leader];
				*seen_ns = now;
			}
		}
		if (leader >= 0 && peers_in_term(&v, *term) == live_peers(c)) {
			if (settled_since < 0)
				settled_since = now;
			if (now - settled_since >= settle_ns)
				return leader;
		} else {
			settled_since = -1;
		}
		if (now >= give_up_ns)
			return -1;
		sleep_until(c, now + POLL_US * US_NS);
	}
}

/* ---- trials ---- */

struct sample {
	double ms;     /* time without a leader */
	bool censored; /* no leader within the limit: ms is the limit */
};

static uint64_t trial_seed(uint64_t seed, size_t line, int trial)
{
	struct prng p;
	prng_seed(&p, seed ^ ((uint64_t)(line + 1) << 40) ^ (uint64_t)trial);
	return prng_next(&p);
}

static struct sample run_trial(const struct options *o, const struct line *l,
                               int trial, uint64_t seed)
{
	struct raft_timing timing = {
	        .election_timeout_min_ms = l->min_ms,
	        .election_timeout_max_ms = l->max_ms,
	        .heartbeat_ms = l->min_ms / 2,
	};
	if (raft_timing_set(&timing) != 0)
		die("line %s: bad timing", l->name);
	struct prng rng;
	prng_seed(&rng, seed ^ UINT64_C(0x243f6a8885a308d3));
	int64_t heartbeat_ns = timing.heartbeat_ms * MS_NS;
	int64_t settle_ns = l->max_ms * MS_NS +
	                    2 * (o->request_latency_ns + o->reply_latency_ns);

#ifdef RAFTLAB_SIM
	struct sim_options so = {.seed = seed, .policy = SIM_RANDOM, .cpu = -1};
	sim_start(&so);
#endif
	struct cluster c;
	cluster_make(&c, seed, o, l->min_ms * MS_NS / (2 * PEERS));

	int old_term = 0;
	int64_t seen_ns = 0;
	int old = await_leader(&c, 0, settle_ns,
	                       labtime_now_ns() + START_LIMIT_MS * MS_NS,
	                       &old_term, &seen_ns);
	if (old < 0)
		die("line %s, trial %d (seed 0x%016" PRIx64 "): no stable "
		    "leader in the first %d s",
		    l->name, trial, seed, START_LIMIT_MS / 1000);

	/* A uniformly random point of the leader's heartbeat interval. */
	int64_t us = prng_below(&rng, heartbeat_ns / US_NS);
	sleep_until(&c, labtime_now_ns() + us * US_NS);
	cluster_crash(&c, old);
	int64_t crash_ns = labtime_now_ns();

	int new_term = 0;
	int leader = await_leader(&c, old_term, settle_ns,
	                          crash_ns + o->limit_ns, &new_term, &seen_ns);
	struct sample s = {.censored = leader < 0};
	s.ms = (double)((leader < 0 ? o->limit_ns : seen_ns - crash_ns)) / 1e6;

	cluster_free(&c);
#ifdef RAFTLAB_SIM
	sim_stop();
#endif
	raft_timing_set(NULL);
	return s;
}

/* ---- the table ---- */

static int cmp_samples(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	if (x->censored != y->censored)
		return x->censored ? 1 : -1;
	return (x->ms > y->ms) - (x->ms < y->ms);
}

/* "12.3" or, for a value that a trial without a leader decides, ">10000". */
static void print_ms(double ms, bool at_least)
{
	char text[32];
	snprintf(text, sizeof text, "%s%.1f", at_least ? ">" : "", ms);
	printf(" %9s", text);
}

static void print_row(const struct line *l, struct sample *s, int n)
{
	qsort(s, (size_t)n, sizeof *s, cmp_samples);
	double sum = 0;
	int censored = 0;
	for (int i = 0; i < n; i++) {
		sum += s[i].ms;
		censored += s[i].censored;
	}
	int mid = (n - 1) / 2, p99 = (99 * n + 99) / 100 - 1;
	double median = n % 2 ? s[mid].ms : (s[mid].ms + s[mid + 1].ms) / 2;
	printf("%-10s %6d", l->name, n);
	print_ms(median, s[n / 2].censored);
	print_ms(sum / n, censored > 0);
	print_ms(s[p99].ms, s[p99].censored);
	print_ms(s[n - 1].ms, s[n - 1].censored);
	printf(" %9d\n", censored);
}

/* ---- the command line ---- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: figure16 [--trials N] [--lines LIST] [--seed S] "
	        "[--csv FILE]\n"
	        "                [--latency-us REQUEST[,REPLY]] [--limit-ms "
	        "MS]\n"
	        "\n"
	        "The Raft paper's Figure 16: the time a cluster of five "
	        "reference peers is\n"
	        "without a leader after its leader crashes, for each election "
	        "timeout range.\n"
	        "\n"
	        "  --trials N      trials per line (default %d; the 150-150 "
	        "line "
	        "gets a\n"
	        "                  tenth, at least 1, as in the paper)\n"
	        "  --lines LIST    the lines to run, by range, comma-separated "
	        "(default all):\n"
	        "                  ",
	        DEFAULT_TRIALS);
	for (size_t i = 0; i < NLINES; i++)
		fprintf(f, "%s%s", i ? "," : "", lines[i].name);
	fprintf(f,
	        "\n"
	        "  --seed S        the run's seed, decimal or 0x-hex (default "
	        "1); "
	        "each trial's\n"
	        "                  comes from it, the line and the trial\n"
	        "  --csv FILE      every sample, one line each (default "
	        "figure16.csv):\n"
	        "                  "
	        "line,min_ms,max_ms,request_ms,reply_ms,trial,"
	        "seed,\n"
	        "                  downtime_ms,censored\n"
	        "  --latency-us REQUEST[,REPLY]\n"
	        "                  the time a request and a reply take each, "
	        "in microseconds\n"
	        "                  (one number: both; default %d,%d)\n"
	        "  --limit-ms MS   a trial without a new leader by then counts "
	        "as censored\n"
	        "                  (default %d)\n",
	        DEFAULT_REQUEST_US, DEFAULT_REPLY_US, DEFAULT_LIMIT_MS);
}

static _Noreturn void usage_error(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("figure16: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(figure16 --help lists the options)\n", stderr);
	exit(EXIT_USAGE);
}

/* A whole number in [lo, hi], decimal (or 0x-hex when hex). */
static bool parse_number(const char *s, bool hex, uint64_t lo, uint64_t hi,
                         uint64_t *out)
{
	int base = 10;
	if (hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!(base == 16
	              ? (s[0] >= '0' && s[0] <= '9') ||
	                        ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'f')
	              : s[0] >= '0' && s[0] <= '9'))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, base);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static void parse_lines(const char *list, bool chosen[NLINES])
{
	memset(chosen, 0, NLINES * sizeof chosen[0]);
	const char *p = list;
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i = 0;
		while (i < NLINES && !(strlen(lines[i].name) == len &&
		                       strncmp(p, lines[i].name, len) == 0))
			i++;
		if (i == NLINES)
			usage_error("--lines: no line '%.*s'", (int)len, p);
		chosen[i] = true;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
}

/* "REQUEST" (both ways) or "REQUEST,REPLY", in microseconds. */
static void parse_latency(const char *v, struct options *o)
{
	char request[32];
	const char *comma = strchr(v, ',');
	size_t len = comma ? (size_t)(comma - v) : strlen(v);
	uint64_t req_us, rep_us;
	snprintf(request, sizeof request, "%.*s", (int)len, v);
	if (len >= sizeof request ||
	    !parse_number(request, false, 0, 1000000, &req_us) ||
	    !parse_number(comma ? comma + 1 : request, false, 0, 1000000,
	                  &rep_us))
		usage_error("--latency-us needs REQUEST or REQUEST,REPLY in "
		            "microseconds, each up to 1000000, not '%s'",
		            v);
	o->request_latency_ns = (int64_t)req_us * US_NS;
	o->reply_latency_ns = (int64_t)rep_us * US_NS;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	*o = (struct options){
	        .trials = DEFAULT_TRIALS,
	        .seed = 1,
	        .request_latency_ns = DEFAULT_REQUEST_US * US_NS,
	        .reply_latency_ns = DEFAULT_REPLY_US * US_NS,
	        .limit_ns = DEFAULT_LIMIT_MS * MS_NS,
	        .csv = "figure16.csv",
	};
	for (size_t i = 0; i < NLINES; i++)
		o->chosen[i] = true;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		bool takes_value = strcmp(a, "--trials") == 0 ||
		                   strcmp(a, "--lines") == 0 ||
		                   strcmp(a, "--seed") == 0 ||
		                   strcmp(a, "--csv") == 0 ||
		                   strcmp(a, "--latency-us") == 0 ||
		                   strcmp(a, "--limit-ms") == 0;
		if (!takes_value)
			usage_error("unknown option '%s'", a);
		if (i + 1 == argc || argv[i + 1][0] == '\0')
			usage_error("%s needs a value", a);
		const char *v = argv[++i];
		uint64_t n;
		if (strcmp(a, "--trials") == 0) {
			if (!parse_number(v, false, 1, 1000000, &n))
				usage_error("--trials needs a number from 1 to "
				            "1000000, not '%s'",
				            v);
			o->trials = (int)n;
		} else if (strcmp(a, "--lines") == 0) {
			parse_lines(v, o->chosen);
		} else if (strcmp(a, "--seed") == 0) {
			if (!parse_number(v, true, 0, UINT64_MAX, &o->seed))
				usage_error("--seed needs a decimal or 0x-hex "
				            "64-bit number, not '%s'",
				            v);
		} else if (strcmp(a, "--csv") == 0) {
			o->csv = v;
		} else if (strcmp(a, "--latency-us") == 0) {
			parse_latency(v, o);
		} else {
			if (!parse_number(v, false, 1, 3600 * 1000, &n))
				usage_error(
				        "--limit-ms needs a number of "
				        "milliseconds from 1 to 3600000, not "
				        "'%s'",
				        v);
			o->limit_ns = (int64_t)n * MS_NS;
		}
	}
}

int main(int argc, char **argv)
{
	struct options o;
	parse_args(argc, argv, &o);
	FILE *csv = fopen(o.csv, "w");
	if (!csv)
		die("cannot write %s: %s", o.csv, strerror(errno));
	fprintf(csv, "line,min_ms,max_ms,request_ms,reply_ms,trial,seed,"
	             "downtime_ms,censored\n");

	printf("Figure 16: %d peers, %s time, requests take %.1f ms and "
	       "replies %.1f ms, heartbeat half the minimum timeout, seed "
	       "0x%" PRIx64 "\n",
	       PEERS, sim_enabled() ? "virtual" : "real",
	       (double)o.request_latency_ns / 1e6,
	       (double)o.reply_latency_ns / 1e6, o.seed);
	printf("milliseconds without a leader after the leader's crash:\n");
	printf("%-10s %6s %9s %9s %9s %9s %9s\n", "timeouts", "trials",
	       "median", "mean", "p99", "max", "no leader");
	fflush(stdout);
	for (size_t i = 0; i < NLINES; i++) {
		if (!o.chosen[i])
			continue;
		const struct line *l = &lines[i];
		int n = o.trials;
		if (l->min_ms == l->max_ms)
			n = (n + NO_RANDOMNESS_SHARE - 1) / NO_RANDOMNESS_SHARE;
		struct sample *s = calloc((size_t)n, sizeof *s);
		if (!s)
			die("out of memory");
		int64_t t0 = labtime_now_ns();
		for (int k = 0; k < n; k++) {
			uint64_t seed = trial_seed(o.seed, i, k);
			s[k] = run_trial(&o, l, k, seed);
			fprintf(csv,
			        "%s,%d,%d,%.3f,%.3f,%d,0x%016" PRIx64
			        ",%.3f,%d\n",
			        l->name, l->min_ms, l->max_ms,
			        (double)o.request_latency_ns / 1e6,
			        (double)o.reply_latency_ns / 1e6, k, seed,
			        s[k].ms, s[k].censored);
		}
		fflush(csv);
		print_row(l, s, n);
		fflush(stdout);
		fprintf(stderr, "figure16: %s: %d trials in %.1f s\n", l->name,
		        n, (double)(labtime_now_ns() - t0) / 1e9);
		free(s);
	}
	if (fclose(csv) != 0)
		die("cannot write %s: %s", o.csv, strerror(errno));
	return 0;
}
