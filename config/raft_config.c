/*
 * raft_config.c: the Raft tester's harness (see raft_config.h), after
 * 6.5840's raft/config.go. It owns the network, the peers' lifecycles
 * (start1/crash1), the appliers that check every applied command, and the
 * checks the tests are made of.
 *
 * Locking: cfg->tester.mu guards what several threads touch: each peer's
 * running instance and connected flag (written only by the test thread), the
 * tester's copy of each peer's applied log, the failure record and the PRNG.
 * The test thread alone touches endnames and persisters. cfg->tester.mu is
 * never held while calling into Raft or blocking on a channel.
 */
#include "config/raft_config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec/codec.h"
#include "config/stale_replay.h"
#include "config/tester.h"
#include "labtime/labtime.h"
#include "prng/prng.h"
#include "rlog/rlog.h"
#include "runner/runner.h"
#include "sim/sim.h"

/* Length of the random names of the ends (Go: randstring(20)). */
#define ENDNAME_LEN 20

/* Room for one failure message (the tester core's). */
#define MSG_SIZE TESTER_MSG_SIZE

#define MS_NS INT64_C(1000000)

/* The highest log index the tester will record. A real run stays far below;
 * a broken Raft reporting a wild index gets an apply error, not an
 * allocation of gigabytes. */
#define MAX_INDEX (1 << 24)

/* One command a peer applied, as the tester keeps it. An entry can be
 * present with a NIL value: an ingested snapshot holds index 0 (and any
 * index its maker had not applied) as nil, as Go's map does. */
struct slot {
	bool present;
	struct cmdvalue v; /* owned */
};

/* Log index -> applied value, for one peer (Go: logs[i], a map). */
struct applied_log {
	struct slot *slots; /* slots[index], 0 <= index < cap */
	int cap;
};

/*
 * One running Raft instance of a peer: everything start1 creates and crash1
 * destroys. Its applier thread reads only this struct and cfg.
 */
struct instance {
	struct cfg *cfg;
	int me;
	struct raft *rf;
	struct persister *persister; /* given to raft_make; freed after it */
	struct labrpc_end **ends;    /* ends[j] reaches peer j (network's) */
	struct labrpc_server *srv;
	struct chan *apply_ch; /* unbuffered */
	pthread_t applier;
	int users; /* (cfg->tester.mu) threads calling rf outside tester.mu */
};

struct peer {
	char name[16];         /* the server name: "0", "1", ... */
	bool initial_member;   /* part 3E: in the initial configuration */
	struct instance *inst; /* (mu) NULL while crashed */
	bool connected;        /* (mu) */
	/* endnames[j]: the name of this peer's end to peer j, or NULL while
	 * the peer has no ends (never started, or crashed). Test thread. */
	char (*endnames)[ENDNAME_LEN + 1];
	struct persister *saved; /* what the next instance starts from */
	struct applied_log log;  /* (mu) */
	int last_applied;        /* (mu) used by applier_snap */
};

/*
 * The Election Safety monitor (Figure 3: at most one leader can be elected
 * in a given term). It remembers, for every term, the first peer seen
 * leading in it, and fails the test when another peer reports leadership in
 * the same term, however much later. A thread asks every running peer every
 * MONITOR_REAL_MS (MONITOR_SIM_MS of virtual time in simulation mode, where
 * an observer also asks at every scheduling point, so that a leadership
 * lasting a single step is seen too).
 *
 * Only one thread at a time touches it: the monitor thread in real mode
 * (and cfg_cleanup after joining it); in simulation mode, where threads run
 * one at a time, the monitor thread and the observer.
 */
#define MONITOR_REAL_MS 1
#define MONITOR_SIM_MS 10
#define MONITOR_MAX_TERM (1 << 24)

struct monitor {
	int *leader_of_term; /* [term]: the peer + 1, 0 while none was seen */
	int cap;
	bool violated, reported;
	int term, first, second; /* the first violation */
	bool stop;               /* (cfg->tester.mu) */
	pthread_cond_t wake;     /* signalled to stop */
	pthread_t thread;
};

/* The crashes of cfg_crash_after_replies. The reply hook runs with the
 * network's lock held, so this has a lock of its own, taken inside it. */
#define CRASH_KINDS 8 /* RPC kinds (Service.Method) told apart */

struct crash_plan {
	pthread_mutex_t mu;    /* guards the fields below */
	pthread_cond_t marked; /* signalled when a peer is marked */
	int per_mille;         /* 0: off */
	struct prng rng;
	char kind[CRASH_KINDS][64]; /* the "Service.Method" names seen */
	int64_t replies[CRASH_KINDS];
	int nkinds;
	int64_t total;
	bool *marked_peer; /* [n] */
	int nmarked;
};

struct cfg {
	/* The tester core: mu guards what the comment above says; changed is
	 * broadcast when a failure is recorded or an instance loses a user. */
	struct tester tester;
	atomic_bool finished;
	struct labrpc_net *net;
	int n;
	bool snapshot;
	bool membership; /* part 3E: peers made with raft_make_member */
	int initial[RAFT_MAX_SERVERS]; /* the initial configuration */
	int ninitial;
	atomic_bool snapshots_forward; /* cfg_check_snapshot_order */
	atomic_bool vary_snapshots;    /* cfg_vary_snapshot_intervals */
	struct peer *peers;

	/* cfg_begin / cfg_end statistics (test thread; max_index under mu) */
	int64_t t0_ns;
	int rpcs0;
	int64_t bytes0;
	int max_index; /* highest index any peer applied */
	int max_index0;

	struct monitor monitor;
	struct crash_plan crash;
	struct stale_replay
	        *replay; /* cfg_replay_stale_requests (test thread) */
};

/* ---- failures ---- */

void cfg_fail_at(struct cfg *cfg, const char *file, int line, const char *fmt,
                 ...)
{
	char msg[MSG_SIZE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tester_fail(&cfg->tester, file, line, msg);
}

bool cfg_check_failure(struct cfg *cfg)
{
	return tester_check_failure(&cfg->tester);
}

bool cfg_sleep_ms(struct cfg *cfg, int64_t ms)
{
	return tester_sleep_ms(&cfg->tester, ms);
}

/* ---- randomness ---- */

int64_t cfg_rand(struct cfg *cfg)
{
	return tester_rand(&cfg->tester);
}

char *cfg_randstring(struct cfg *cfg, int n)
{
	return tester_randstring(&cfg->tester, n);
}

/* ---- the tester's copy of what each peer applied ---- */

static const struct slot *log_get(const struct applied_log *l, int index)
{
	if (index < 0 || index >= l->cap || !l->slots[index].present)
		return NULL;
	return &l->slots[index];
}

/* Records v (taking it over) at index, 0 <= index <= MAX_INDEX. */
static void log_put(struct applied_log *l, int index, struct cmdvalue v)
{
	if (index >= l->cap) {
		int cap = l->cap > 0 ? l->cap : 64;
		while (cap <= index)
			cap *= 2;
		struct slot *slots = tester_calloc((size_t)cap, sizeof *slots);
		if (l->cap > 0)
			memcpy(slots, l->slots, (size_t)l->cap * sizeof *slots);
		free(l->slots);
		l->slots = slots;
		l->cap = cap;
	}
	cmdvalue_release(&l->slots[index].v);
	l->slots[index] = (struct slot){.present = true, .v = v};
}

static void log_clear(struct applied_log *l)
{
	for (int k = 0; k < l->cap; k++)
		cmdvalue_release(&l->slots[k].v);
	free(l->slots);
	*l = (struct applied_log){0};
}

/* Prints l the way Go prints a map[int]interface{}: map[1:101 2:102]. */
static void log_print(FILE *f, const struct applied_log *l)
{
	char vb[CMDVALUE_FMT_SIZE];
	const char *sep = "";
	fputs("map[", f);
	for (int k = 0; k < l->cap; k++) {
		if (!l->slots[k].present)
			continue;
		fprintf(f, "%s%d:%s", sep, k,
		        cmdvalue_format(l->slots[k].v, vb));
		sep = " ";
	}
	fputs("]", f);
}

/* Go's log.Printf prefix: "2024/02/29 13:04:05 ". Diagnostic only. */
static void print_log_time(FILE *f)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S ", &tm);
	fputs(stamp, f);
}

/*
 * Records that peer i applied v (taken over) at index, after checking that
 * no peer applied a different value there (Figure 3's State Machine Safety).
 * With mu held. Sets err on a mismatch; returns whether index-1 is in i's
 * log (Go: checkLogs's prevok).
 */
static bool check_logs(struct cfg *cfg, int i, int index, struct cmdvalue v,
                       char err[MSG_SIZE])
{
	char vb[CMDVALUE_FMT_SIZE], ob[CMDVALUE_FMT_SIZE];
	for (int j = 0; j < cfg->n; j++) {
		const struct slot *old = log_get(&cfg->peers[j].log, index);
		if (old != NULL && !cmdvalue_equal(old->v, v)) {
			flockfile(stderr);
			print_log_time(stderr);
			fprintf(stderr, "%d: log ", i);
			log_print(stderr, &cfg->peers[i].log);
			fputs("; server ", stderr);
			log_print(stderr, &cfg->peers[j].log);
			fputs("\n", stderr);
			funlockfile(stderr);
			/* some server has already committed a different value
			 * for this entry! */
			snprintf(err, MSG_SIZE,
			         "commit index=%d server=%d %s != server=%d %s",
			         index, i, cmdvalue_format(v, vb), j,
			         cmdvalue_format(old->v, ob));
		}
	}
	bool prevok = log_get(&cfg->peers[i].log, index - 1) != NULL;
	log_put(&cfg->peers[i].log, index, v);
	if (index > cfg->max_index)
		cfg->max_index = index;
	return prevok;
}

/* Decodes a command Raft delivered into *v; on failure sets err. */
static bool decode_command(int i, const struct raft_apply_msg *m,
                           struct cmdvalue *v, char err[MSG_SIZE])
{
	if (m->command_index < 0 || m->command_index > MAX_INDEX) {
		snprintf(err, MSG_SIZE, "server %d applied index %d", i,
		         m->command_index);
		return false;
	}
	int rc = cmdvalue_from_bytes(m->command, m->command_len, v);
	if (rc != CODEC_OK) {
		snprintf(err, MSG_SIZE,
		         "server %d applied a command at index %d that is not "
		         "one the tester started (%s)",
		         i, m->command_index, codec_strerror(rc));
		return false;
	}
	return true;
}

/* ---- configurations (part 3E) ----
 *
 * The tester keeps a committed configuration in a peer's applied log as a
 * string value, "config[0 1 2]", so that the same checks (every peer
 * applies the same value at an index, in order) cover it. No command the
 * tests submit looks like one. */

#define CONFIG_PREFIX "config["

/* The value for the configuration message m into *v (owned); on failure
 * sets err. */
static bool decode_config(int i, const struct raft_apply_msg *m,
                          struct cmdvalue *v, char err[MSG_SIZE])
{
	if (m->config_index < 1 || m->config_index > MAX_INDEX ||
	    m->config_nmembers < 0 || m->config_nmembers > RAFT_MAX_SERVERS) {
		snprintf(err, MSG_SIZE,
		         "server %d applied a configuration at index %d with "
		         "%d members",
		         i, m->config_index, m->config_nmembers);
		return false;
	}
	char buf[RAFT_MAX_SERVERS * 4 + 16];
	size_t len = (size_t)snprintf(buf, sizeof buf, CONFIG_PREFIX);
	for (int k = 0; k < m->config_nmembers; k++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%d",
		                        k > 0 ? " " : "", m->config_members[k]);
	snprintf(buf + len, sizeof buf - len, "]");
	*v = cmdvalue_copy(cmdvalue_str(buf));
	return true;
}

/* The member set a configuration value names, or false if v is not one. */
static bool config_of_value(struct cmdvalue v, uint64_t *members)
{
	size_t plen = strlen(CONFIG_PREFIX);
	if (v.kind != CMDVALUE_STR || v.len < plen ||
	    memcmp(v.s, CONFIG_PREFIX, plen) != 0)
		return false;
	*members = 0;
	const char *q = v.s + plen;
	while (*q >= '0' && *q <= '9') {
		char *end;
		long j = strtol(q, &end, 10);
		if (j >= 0 && j < RAFT_MAX_SERVERS)
			*members |= UINT64_C(1) << j;
		q = *end == ' ' ? end + 1 : end;
	}
	return true;
}

/* The latest configuration peer i applied (its log's highest configuration
 * value), or false if none; with mu held. */
static bool applied_config_locked(struct cfg *cfg, int i, uint64_t *members)
{
	const struct applied_log *l = &cfg->peers[i].log;
	for (int k = l->cap - 1; k >= 0; k--)
		if (l->slots[k].present &&
		    config_of_value(l->slots[k].v, members))
			return true;
	return false;
}

/* ---- the tester's snapshots ----
 *
 * A snapshot is the codec encoding of lastIncludedIndex (a varint) followed
 * by the sequence xlog[0..lastIncludedIndex]: per element a bool saying
 * whether a value follows, then the value (cmdvalue). Raft never looks
 * inside; only the appliers and start1 read it.
 */

/* Encodes peer i's snapshot through index, with mu held. */
static uint8_t *encode_snapshot(struct cfg *cfg, int i, int index, size_t *len)
{
	struct codec_buf b;
	codec_buf_init(&b);
	codec_put_varint(&b, index);
	codec_put_seq(&b, (size_t)index + 1);
	for (int j = 0; j <= index; j++) {
		const struct slot *s = log_get(&cfg->peers[i].log, j);
		bool has_value = s != NULL && s->v.kind != CMDVALUE_NIL;
		codec_put_bool(&b, has_value);
		if (has_value)
			cmdvalue_encode(&b, s->v);
	}
	return codec_buf_take(&b, len);
}

enum ingest_result {
	INGEST_OK = 0,
	INGEST_ERR = 1,   /* err names a mismatch (Go returns it) */
	INGEST_FATAL = 2, /* err is process-fatal in Go (nil, undecodable) */
};

/*
 * Resets peer i's log to the snapshot's contents and its last_applied to the
 * snapshot's index (Go: ingestSnap), with mu held. index is the index the
 * snapshot message named, or -1 for a snapshot read from a persister.
 */
static enum ingest_result ingest_snap(struct cfg *cfg, int i,
                                      const void *snapshot, size_t len,
                                      int index, char err[MSG_SIZE])
{
	if (snapshot == NULL) {
		snprintf(err, MSG_SIZE, "nil snapshot");
		return INGEST_FATAL;
	}
	struct codec_reader r;
	struct applied_log xlog = {0};
	int last_included_index = 0;
	size_t count = 0;
	codec_reader_init(&r, snapshot, len);
	codec_get_int(&r, &last_included_index);
	codec_get_seq(&r, &count, 1);
	if (r.err == CODEC_OK && count > (size_t)MAX_INDEX + 1)
		r.err = CODEC_ERANGE;
	for (size_t k = 0; k < count && r.err == CODEC_OK; k++) {
		bool has_value = false;
		struct cmdvalue v = {.kind = CMDVALUE_NIL};
		codec_get_bool(&r, &has_value);
		if (has_value && cmdvalue_decode(&r, &v) != CODEC_OK)
			break;
		log_put(&xlog, (int)k, v);
	}
	if (codec_finish(&r) != CODEC_OK) {
		log_clear(&xlog);
		snprintf(err, MSG_SIZE, "snapshot decode error");
		return INGEST_FATAL;
	}
	if (index != -1 && index != last_included_index) {
		log_clear(&xlog);
		snprintf(err, MSG_SIZE,
		         "server %d snapshot doesn't match m.SnapshotIndex", i);
		return INGEST_ERR;
	}
	log_clear(&cfg->peers[i].log);
	cfg->peers[i].log = xlog;
	cfg->peers[i].last_applied = last_included_index;
	return INGEST_OK;
}

/* ---- appliers ---- */

/*
 * Reads peer i's apply channel until crash1 closes it, checking that every
 * command agrees with what the other peers applied at its index and comes
 * in order (Go: applier). Snapshot messages are ignored. A failure is
 * recorded as "apply error: ..." and the applier keeps reading, so Raft
 * never blocks on its channel.
 */
static void *applier(void *arg)
{
	struct instance *in = arg;
	struct cfg *cfg = in->cfg;
	int i = in->me;
	void *item;

	while (chan_recv(in->apply_ch, &item) == CHAN_OK) {
		struct raft_apply_msg *m = item;
		char err[MSG_SIZE] = "";
		struct cmdvalue v;
		int index =
		        m->config_valid ? m->config_index : m->command_index;
		if ((m->command_valid && decode_command(i, m, &v, err)) ||
		    (m->config_valid && decode_config(i, m, &v, err))) {
			pthread_mutex_lock(&cfg->tester.mu);
			bool prevok = check_logs(cfg, i, index, v, err);
			pthread_mutex_unlock(&cfg->tester.mu);
			if (index > 1 && !prevok)
				snprintf(err, sizeof err,
				         "server %d apply out of order %d", i,
				         index);
		}
		if (err[0] != '\0')
			cfg_fatalf(cfg, "apply error: %s", err);
		else
			runner_check_held(1); /* a graded check, for CUnit */
		raft_apply_msg_free(m);
	}
	return NULL;
}

/* How many indices apart peer i's service snapshots. */
static int snapshot_interval(struct cfg *cfg, int i)
{
	if (!atomic_load(&cfg->vary_snapshots))
		return CFG_SNAPSHOT_INTERVAL;
	return CFG_SNAPSHOT_INTERVAL - 3 + 3 * (i % 3);
}

/*
 * The applier of snapshot mode (Go: applierSnap). Besides applier's checks,
 * a command must come right after the last one applied (or after the last
 * snapshot), a delivered snapshot replaces the peer's log, and after every
 * CFG_SNAPSHOT_INTERVAL-th index the applier hands Raft a snapshot, calling
 * raft_snapshot on this thread, between two receives.
 */
static void *applier_snap(void *arg)
{
	struct instance *in = arg;
	struct cfg *cfg = in->cfg;
	int i = in->me;
	struct peer *p = &cfg->peers[i];
	void *item;

	while (chan_recv(in->apply_ch, &item) == CHAN_OK) {
		struct raft_apply_msg *m = item;
		char err[MSG_SIZE] = "";
		if (m->snapshot_valid) {
			pthread_mutex_lock(&cfg->tester.mu);
			if (atomic_load(&cfg->snapshots_forward) &&
			    m->snapshot_index < p->last_applied)
				snprintf(err, sizeof err,
				         "server %d got a snapshot through "
				         "index "
				         "%d after it applied index %d: a peer "
				         "that already has the entries a "
				         "snapshot "
				         "covers keeps its log and its "
				         "service's "
				         "state (Figure 13, step 6); entries "
				         "are "
				         "applied once each, in log order",
				         i, m->snapshot_index, p->last_applied);
			enum ingest_result rc = ingest_snap(
			        cfg, i, m->snapshot, m->snapshot_len,
			        m->snapshot_index, err);
			pthread_mutex_unlock(&cfg->tester.mu);
			if (rc == INGEST_FATAL) {
				cfg_fatalf(cfg, "%s", err);
				err[0] = '\0';
			}
		} else if (m->command_valid || m->config_valid) {
			int index = m->config_valid ? m->config_index
			                            : m->command_index;
			struct cmdvalue v;
			pthread_mutex_lock(&cfg->tester.mu);
			int expected = p->last_applied + 1;
			pthread_mutex_unlock(&cfg->tester.mu);
			if (index != expected)
				snprintf(err, sizeof err,
				         "server %d apply out of order, "
				         "expected "
				         "index %d, got %d",
				         i, expected, index);
			if (err[0] == '\0' &&
			    (m->config_valid ? decode_config(i, m, &v, err)
			                     : decode_command(i, m, &v, err))) {
				pthread_mutex_lock(&cfg->tester.mu);
				bool prevok = check_logs(cfg, i, index, v, err);
				pthread_mutex_unlock(&cfg->tester.mu);
				if (index > 1 && !prevok)
					snprintf(err, sizeof err,
					         "server %d apply out of order "
					         "%d",
					         i, index);
			}

			pthread_mutex_lock(&cfg->tester.mu);
			p->last_applied = index;
			pthread_mutex_unlock(&cfg->tester.mu);

			if (index >= 0 && index <= MAX_INDEX &&
			    (index + 1) % snapshot_interval(cfg, i) == 0) {
				size_t len;
				pthread_mutex_lock(&cfg->tester.mu);
				uint8_t *snap =
				        encode_snapshot(cfg, i, index, &len);
				pthread_mutex_unlock(&cfg->tester.mu);
				raft_snapshot(in->rf, index, snap, len);
				free(snap);
			}
		}
		if (err[0] != '\0')
			cfg_fatalf(cfg, "apply error: %s", err);
		else
			runner_check_held(1); /* a graded check, for CUnit */
		raft_apply_msg_free(m);
	}
	return NULL;
}

/* ---- using a peer's Raft from any thread ---- */

/* Peer i's running instance, with a use counted so that crash1 does not
 * free it meanwhile; NULL if crashed (or, when connected_only, not
 * connected). Give it back with put_instance. */
static struct instance *get_instance(struct cfg *cfg, int i,
                                     bool connected_only)
{
	pthread_mutex_lock(&cfg->tester.mu);
	struct instance *in = cfg->peers[i].inst;
	if (in != NULL && (!connected_only || cfg->peers[i].connected))
		in->users++;
	else
		in = NULL;
	pthread_mutex_unlock(&cfg->tester.mu);
	return in;
}

static void put_instance(struct cfg *cfg, struct instance *in)
{
	pthread_mutex_lock(&cfg->tester.mu);
	if (--in->users == 0)
		pthread_cond_broadcast(&cfg->tester.changed);
	pthread_mutex_unlock(&cfg->tester.mu);
}

static struct raft_start_result start_on(struct instance *in,
                                         const struct codec_buf *cmd)
{
	return raft_start(in->rf, cmd->data, cmd->len);
}

struct raft_start_result cfg_start(struct cfg *cfg, int i, struct cmdvalue cmd)
{
	struct raft_start_result res = {-1, -1, false};
	struct instance *in = get_instance(cfg, i, false);
	if (in == NULL)
		return res;
	struct codec_buf b;
	codec_buf_init(&b);
	cmdvalue_encode(&b, cmd);
	res = start_on(in, &b);
	codec_buf_free(&b);
	put_instance(cfg, in);
	return res;
}

/* raft_get_state of peer i; false if it is crashed (or, when
 * connected_only, not connected). */
static bool get_state(struct cfg *cfg, int i, bool connected_only, int *term,
                      bool *is_leader)
{
	*term = 0;
	*is_leader = false;
	struct instance *in = get_instance(cfg, i, connected_only);
	if (in == NULL)
		return false;
	raft_get_state(in->rf, term, is_leader);
	put_instance(cfg, in);
	return true;
}

void cfg_get_state(struct cfg *cfg, int i, int *term, bool *is_leader)
{
	get_state(cfg, i, false, term, is_leader);
}

bool cfg_is_connected(struct cfg *cfg, int i)
{
	pthread_mutex_lock(&cfg->tester.mu);
	bool connected = cfg->peers[i].connected;
	pthread_mutex_unlock(&cfg->tester.mu);
	return connected;
}

bool cfg_is_up(struct cfg *cfg, int i)
{
	pthread_mutex_lock(&cfg->tester.mu);
	bool up = cfg->peers[i].inst != NULL;
	pthread_mutex_unlock(&cfg->tester.mu);
	return up;
}

/* ---- connecting and disconnecting ---- */

void cfg_connect(struct cfg *cfg, int i)
{
	struct peer *peers = cfg->peers;
	pthread_mutex_lock(&cfg->tester.mu);
	peers[i].connected = true;
	pthread_mutex_unlock(&cfg->tester.mu);
	rlog(RLOG_TEST, i, -1, "connect");

	/* Only the test thread writes connected, so it may read it freely. */
	for (int j = 0; j < cfg->n; j++) /* outgoing ends */
		if (peers[j].connected && peers[i].endnames != NULL)
			labrpc_enable(cfg->net, peers[i].endnames[j], true);
	for (int j = 0; j < cfg->n; j++) /* incoming ends */
		if (peers[j].connected && peers[j].endnames != NULL)
			labrpc_enable(cfg->net, peers[j].endnames[i], true);
}

void cfg_disconnect(struct cfg *cfg, int i)
{
	struct peer *peers = cfg->peers;
	pthread_mutex_lock(&cfg->tester.mu);
	peers[i].connected = false;
	pthread_mutex_unlock(&cfg->tester.mu);
	rlog(RLOG_TEST, i, -1, "disconnect");

	for (int j = 0; j < cfg->n; j++) /* outgoing ends */
		if (peers[i].endnames != NULL)
			labrpc_enable(cfg->net, peers[i].endnames[j], false);
	for (int j = 0; j < cfg->n; j++) /* incoming ends */
		if (peers[j].endnames != NULL)
			labrpc_enable(cfg->net, peers[j].endnames[i], false);
}

/* ---- the Election Safety monitor ---- */

/* Peer i reported leadership in term. */
static void monitor_saw(struct monitor *m, int i, int term)
{
	if (term < 0 || term > MONITOR_MAX_TERM)
		return; /* not a term the tester can keep; other checks fail */
	if (term >= m->cap) {
		int cap = m->cap > 0 ? m->cap : 64;
		while (cap <= term)
			cap *= 2;
		int *t = tester_calloc((size_t)cap, sizeof *t);
		if (m->cap > 0)
			memcpy(t, m->leader_of_term,
			       (size_t)m->cap * sizeof *t);
		free(m->leader_of_term);
		m->leader_of_term = t;
		m->cap = cap;
	}
	int *seen = &m->leader_of_term[term];
	if (*seen == 0) {
		*seen = i + 1;
	} else if (*seen != i + 1 && !m->violated) {
		m->violated = true;
		m->term = term;
		m->first = *seen - 1;
		m->second = i;
	}
}

static void monitor_message(const struct monitor *m, char out[MSG_SIZE])
{
	snprintf(out, MSG_SIZE,
	         "election safety (Figure 3): peers %d and %d were both "
	         "leader in term %d; at most one leader may be elected in a "
	         "term. Did a peer vote twice in one term (currentTerm and "
	         "votedFor must be persisted before a vote is granted, and "
	         "read back on restart), grant a vote to a candidate of an "
	         "older term, or count a vote from an earlier election?",
	         m->first, m->second, m->term);
}

/* The observer's look at one peer (sim_observe_try). */
struct peer_look {
	struct raft *rf;
	int term;
	bool is_leader;
};

static void look_at_peer(void *arg)
{
	struct peer_look *look = arg;
	raft_get_state(look->rf, &look->term, &look->is_leader);
}

/* The simulation's observer: asks every running peer. Threads run one at a
 * time, so it may read the instances without cfg->tester.mu; an instance is
 * freed only after inst was cleared. */
static void observe_leaders(void *arg)
{
	struct cfg *cfg = arg;
	for (int i = 0; i < cfg->n; i++) {
		struct instance *in = cfg->peers[i].inst;
		if (in == NULL)
			continue;
		struct peer_look look = {in->rf, 0, false};
		if (sim_observe_try(look_at_peer, &look) && look.is_leader)
			monitor_saw(&cfg->monitor, i, look.term);
	}
}

static void *monitor_main(void *arg)
{
	struct cfg *cfg = arg;
	struct monitor *m = &cfg->monitor;
	int64_t period_ns =
	        (sim_active() ? MONITOR_SIM_MS : MONITOR_REAL_MS) * 1000000;
	pthread_mutex_lock(&cfg->tester.mu);
	while (!m->stop) {
		pthread_mutex_unlock(&cfg->tester.mu);
		for (int i = 0; i < cfg->n; i++) {
			int term;
			bool is_leader;
			if (get_state(cfg, i, false, &term, &is_leader) &&
			    is_leader)
				monitor_saw(m, i, term);
		}
		if (m->violated && !m->reported) {
			char msg[MSG_SIZE];
			monitor_message(m, msg);
			m->reported = true;
			cfg_fatalf(cfg, "%s", msg);
		}
		pthread_mutex_lock(&cfg->tester.mu);
		int64_t deadline = labtime_now_ns() + period_ns;
		while (!m->stop && labtime_now_ns() < deadline)
			labtime_cond_wait_until(&m->wake, &cfg->tester.mu,
			                        deadline);
	}
	pthread_mutex_unlock(&cfg->tester.mu);
	return NULL;
}

static void monitor_start(struct cfg *cfg)
{
	struct monitor *m = &cfg->monitor;
	labtime_cond_init(&m->wake);
	if (pthread_create(&m->thread, NULL, monitor_main, cfg) != 0) {
		fputs("raft_config: cannot start the monitor thread\n", stderr);
		abort();
	}
	if (sim_active())
		sim_observe(observe_leaders, cfg);
}

/* Stops the monitor; a violation it has not reported yet is recorded. */
static void monitor_stop(struct cfg *cfg)
{
	struct monitor *m = &cfg->monitor;
	if (sim_active())
		sim_observe(NULL, NULL);
	pthread_mutex_lock(&cfg->tester.mu);
	m->stop = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&cfg->tester.mu);
	pthread_join(m->thread, NULL);
	if (m->violated && !m->reported) {
		char msg[MSG_SIZE];
		monitor_message(m, msg);
		m->reported = true;
		tester_record_failure(&cfg->tester, __FILE__, __LINE__, msg);
	}
	pthread_cond_destroy(&m->wake);
	free(m->leader_of_term);
	m->leader_of_term = NULL;
}

/* ---- crashes right after a reply ---- */

/* labrpc's reply hook (see labrpc_net_reply_hook): decides whether the peer
 * that just handled svc_meth crashes now, and whether its reply is lost. */
static bool crash_hook(void *arg, const char *servername, const char *svc_meth)
{
	struct cfg *cfg = arg;
	struct crash_plan *c = &cfg->crash;
	int i = atoi(servername);
	bool drop = false;
	pthread_mutex_lock(&c->mu);
	int k = 0;
	while (k < c->nkinds && strcmp(c->kind[k], svc_meth) != 0)
		k++;
	if (k == c->nkinds && k < CRASH_KINDS &&
	    strlen(svc_meth) < sizeof c->kind[k]) {
		strcpy(c->kind[k], svc_meth); /* the request's copy goes away */
		c->nkinds++;
	}
	if (c->per_mille > 0 && k < c->nkinds && i >= 0 && i < cfg->n) {
		c->replies[k]++;
		c->total++;
		/* per_mille on average, spread evenly over the kinds: a kind
		 * seen rarely crashes more often per reply. */
		int64_t denom = 1000 * c->nkinds * c->replies[k];
		int64_t num = (int64_t)c->per_mille * c->total;
		if (num > denom / 2)
			num = denom / 2;
		if (!c->marked_peer[i] && prng_below(&c->rng, denom) < num) {
			c->marked_peer[i] = true;
			c->nmarked++;
			drop = prng_below(&c->rng, 2) == 0;
			pthread_cond_signal(&c->marked);
		}
	}
	pthread_mutex_unlock(&c->mu);
	return drop;
}

static void crash_plan_init(struct cfg *cfg)
{
	struct crash_plan *c = &cfg->crash;
	pthread_mutex_init(&c->mu, NULL);
	labtime_cond_init(&c->marked);
	prng_seed(&c->rng, runner_seed() ^ UINT64_C(0x452821e638d01377));
	c->marked_peer = tester_calloc((size_t)cfg->n, sizeof *c->marked_peer);
}

static void crash_plan_free(struct cfg *cfg)
{
	struct crash_plan *c = &cfg->crash;
	pthread_cond_destroy(&c->marked);
	pthread_mutex_destroy(&c->mu);
	free(c->marked_peer);
}

void cfg_crash_after_replies(struct cfg *cfg, int per_mille)
{
	struct crash_plan *c = &cfg->crash;
	pthread_mutex_lock(&c->mu);
	c->per_mille = per_mille;
	if (per_mille == 0) {
		memset(c->marked_peer, 0, (size_t)cfg->n * sizeof(bool));
		c->nmarked = 0;
	}
	pthread_mutex_unlock(&c->mu);
	labrpc_net_reply_hook(cfg->net, per_mille > 0 ? crash_hook : NULL, cfg);
}

int cfg_serve_crashes(struct cfg *cfg, int64_t ms)
{
	struct crash_plan *c = &cfg->crash;
	int64_t deadline = labtime_now_ns() + ms * 1000000;
	int restarted = 0;
	while (!cfg_check_failure(cfg)) {
		/* The next marked peer, waiting at most 10 ms at a time so that
		 * a recorded failure ends the test soon. */
		int victim = -1;
		pthread_mutex_lock(&c->mu);
		int64_t until = labtime_now_ns() + 10000000;
		if (until > deadline)
			until = deadline;
		if (c->nmarked == 0)
			labtime_cond_wait_until(&c->marked, &c->mu, until);
		for (int i = 0; i < cfg->n && victim < 0; i++)
			if (c->marked_peer[i])
				victim = i;
		if (victim >= 0) {
			c->marked_peer[victim] = false;
			c->nmarked--;
		}
		pthread_mutex_unlock(&c->mu);
		if (victim < 0) {
			if (labtime_now_ns() >= deadline)
				break;
			continue;
		}
		bool was_connected = cfg_is_connected(cfg, victim);
		rlog(RLOG_TEST, victim, -1, "crash right after a reply");
		cfg_crash1(cfg, victim);
		cfg_start1(cfg, victim);
		if (was_connected)
			cfg_connect(cfg, victim);
		restarted++;
	}
	return restarted;
}

void cfg_enable_link(struct cfg *cfg, int from, int to, bool enabled)
{
	rlog(RLOG_TEST, from, -1, "link to %d %s", to,
	     enabled ? "enabled" : "disabled");
	if (cfg->peers[from].endnames != NULL)
		labrpc_enable(cfg->net, cfg->peers[from].endnames[to], enabled);
}

void cfg_check_snapshot_order(struct cfg *cfg)
{
	atomic_store(&cfg->snapshots_forward, true);
}

void cfg_vary_snapshot_intervals(struct cfg *cfg)
{
	atomic_store(&cfg->vary_snapshots, true);
}

void cfg_hold_replies(struct cfg *cfg, int from, int to, bool hold)
{
	rlog(RLOG_TEST, from, -1, "replies from %d %s", to,
	     hold ? "held back" : "released");
	if (cfg->peers[from].endnames != NULL)
		labrpc_hold_replies(cfg->net, cfg->peers[from].endnames[to],
		                    hold);
}

/* ---- lifecycle ---- */

/* Replaces *p by a fresh persister holding a copy of its contents. */
static void renew_persister(struct persister **p)
{
	struct persister *old = *p;
	*p = persister_copy(old);
	persister_free(old);
}

void cfg_crash1(struct cfg *cfg, int i)
{
	struct peer *p = &cfg->peers[i];

	cfg_disconnect(cfg, i);
	/* calls in flight to the server now fail */
	labrpc_delete_server(cfg->net, p->name);

	pthread_mutex_lock(&cfg->tester.mu);
	struct instance *in = p->inst;
	pthread_mutex_unlock(&cfg->tester.mu);

	/* A fresh persister, in case the old instance continues to update
	 * its own: the next instance gets what was saved at this moment. */
	if (p->saved != NULL) {
		if (in != NULL && p->saved == in->persister)
			p->saved = persister_copy(p->saved);
		else
			renew_persister(&p->saved);
	}

	if (in != NULL) {
		rlog(RLOG_TEST, i, -1, "crash");
		/* Fail the instance's own calls in flight at once, so that
		 * raft_kill can join its threads without waiting out the
		 * network's long delays. */
		for (int j = 0; j < cfg->n; j++)
			labrpc_delete_end(cfg->net, p->endnames[j]);
		free(p->endnames);
		p->endnames = NULL;

		raft_kill(in->rf);

		/* No new user can find the instance; wait for the others. */
		pthread_mutex_lock(&cfg->tester.mu);
		p->inst = NULL;
		while (in->users > 0)
			pthread_cond_wait(&cfg->tester.changed,
			                  &cfg->tester.mu);
		pthread_mutex_unlock(&cfg->tester.mu);

		/* raft_kill promised no more sends: stop the applier. */
		chan_close(in->apply_ch);
		pthread_join(in->applier, NULL);
		/* waits for handlers still running */
		labrpc_server_free(in->srv);
		raft_free(in->rf);
		chan_free(in->apply_ch);
		persister_free(in->persister);
		free(in->ends);
		free(in);
	}

	/* What was saved at the crash is what the next instance will get. */
	if (p->saved != NULL)
		renew_persister(&p->saved);
}

void cfg_start1(struct cfg *cfg, int i)
{
	struct peer *p = &cfg->peers[i];
	char err[MSG_SIZE];

	cfg_crash1(cfg, i);

	/* A fresh set of outgoing end names, so that the old crashed
	 * instance's ends can't send, and a fresh set of ends, disabled
	 * until cfg_connect. */
	struct instance *in = tester_calloc(1, sizeof *in);
	in->cfg = cfg;
	in->me = i;
	p->endnames = tester_calloc((size_t)cfg->n, sizeof *p->endnames);
	in->ends = tester_calloc((size_t)cfg->n, sizeof *in->ends);
	pthread_mutex_lock(&cfg->tester.mu);
	for (int j = 0; j < cfg->n; j++)
		tester_randstring_locked(&cfg->tester, p->endnames[j],
		                         ENDNAME_LEN);
	pthread_mutex_unlock(&cfg->tester.mu);
	if (cfg->replay != NULL)
		stale_replay_restart(cfg->replay, i);
	for (int j = 0; j < cfg->n; j++) {
		in->ends[j] = labrpc_make_end(cfg->net, p->endnames[j]);
		labrpc_connect(cfg->net, p->endnames[j], cfg->peers[j].name);
		if (cfg->replay != NULL)
			stale_replay_link(cfg->replay, p->endnames[j], i, j);
	}

	/* A fresh persister, so the old instance doesn't overwrite the new
	 * instance's persisted state, holding the last persisted state. */
	pthread_mutex_lock(&cfg->tester.mu);
	p->last_applied = 0;
	enum ingest_result rc = INGEST_OK;
	if (p->saved != NULL) {
		renew_persister(&p->saved);
		size_t len;
		uint8_t *snapshot = persister_read_snapshot(p->saved, &len);
		if (len > 0) {
			/* Mimic the KV server and process the snapshot now;
			 * ideally Raft should send it up on the apply
			 * channel. */
			rc = ingest_snap(cfg, i, snapshot, len, -1, err);
		}
		free(snapshot);
	} else {
		p->saved = persister_make();
	}
	pthread_mutex_unlock(&cfg->tester.mu);
	if (rc != INGEST_OK)
		cfg_fatalf(cfg, "%s", err);

	in->persister = p->saved;
	in->apply_ch = chan_make(0);
	if (in->apply_ch == NULL) {
		fputs("raft_config: out of memory\n", stderr);
		abort();
	}
	rlog(RLOG_TEST, i, -1, "start (last applied %d)", p->last_applied);
	if (cfg->membership)
		in->rf = raft_make_member(
		        in->ends, cfg->n, i, in->persister, in->apply_ch,
		        cfg->initial, p->initial_member ? cfg->ninitial : 0);
	else
		in->rf = raft_make(in->ends, cfg->n, i, in->persister,
		                   in->apply_ch);
	if (in->rf == NULL) {
		fputs("raft_config: the peer could not be made\n", stderr);
		abort();
	}

	pthread_mutex_lock(&cfg->tester.mu);
	p->inst = in;
	pthread_mutex_unlock(&cfg->tester.mu);

	if (pthread_create(&in->applier, NULL,
	                   cfg->snapshot ? applier_snap : applier, in) != 0) {
		fputs("raft_config: cannot start an applier thread\n", stderr);
		abort();
	}

	in->srv = labrpc_server_make();
	labrpc_server_add_service(in->srv, &raft_service, in->rf);
	labrpc_add_server(cfg->net, p->name, in->srv);
}

static void warn_if_one_cpu(void)
{
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("warning: only one CPU, which may conceal locking "
		       "bugs\n");
		fflush(stdout);
	}
}

/* A world of n peers of which the first nstart are started and connected;
 * membership: made with raft_make_member, in the configuration of the
 * first nstart. */
static struct cfg *make_world(int n, int nstart, bool membership,
                              bool unreliable, bool snapshot)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, warn_if_one_cpu);

	struct cfg *cfg = tester_calloc(1, sizeof *cfg);
	/* The network draws from runner_seed() itself; the tester's own
	 * choices come from a different stream of the same seed. */
	tester_init(&cfg->tester, runner_seed() ^ UINT64_C(0x9e3779b97f4a7c15));
	atomic_init(&cfg->finished, false);
	cfg->n = n;
	cfg->snapshot = snapshot;
	cfg->membership = membership;
	cfg->net = labrpc_net_make(runner_seed());
	cfg->peers = tester_calloc((size_t)n, sizeof *cfg->peers);
	for (int i = 0; i < n; i++)
		snprintf(cfg->peers[i].name, sizeof cfg->peers[i].name, "%d",
		         i);
	for (int i = 0; i < nstart && membership; i++) {
		cfg->initial[cfg->ninitial++] = i;
		cfg->peers[i].initial_member = true;
	}

	cfg_set_unreliable(cfg, unreliable);
	labrpc_net_long_delays(cfg->net, true);
	crash_plan_init(cfg);

	/* create a full set of Rafts */
	for (int i = 0; i < nstart; i++)
		cfg_start1(cfg, i);
	/* connect everyone */
	for (int i = 0; i < nstart; i++)
		cfg_connect(cfg, i);
	monitor_start(cfg);
	return cfg;
}

struct cfg *cfg_make(int n, bool unreliable, bool snapshot)
{
	return make_world(n, n, false, unreliable, snapshot);
}

/* ---- part 3E: membership changes ---- */

struct cfg *cfg_make_members(int n, int nmembers, bool unreliable,
                             bool snapshot)
{
	if (n > RAFT_MAX_SERVERS || nmembers < 1 || nmembers > n)
		runner_fatalf("cfg_make_members: %d members of %d peers",
		              nmembers, n);
	return make_world(n, nmembers, true, unreliable, snapshot);
}

void cfg_start_new_server(struct cfg *cfg, int i)
{
	if (cfg->peers[i].saved != NULL || cfg->peers[i].initial_member)
		runner_fatalf("cfg_start_new_server: peer %d has run before",
		              i);
	cfg_start1(cfg, i);
	cfg_connect(cfg, i);
}

/* Formats a member set as "{0 1 2}" into buf. */
static const char *format_members(uint64_t members, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "{");
	const char *sep = "";
	for (int j = 0; j < RAFT_MAX_SERVERS && len < size; j++) {
		if (members & (UINT64_C(1) << j)) {
			len += (size_t)snprintf(buf + len, size - len, "%s%d",
			                        sep, j);
			sep = " ";
		}
	}
	if (len < size)
		snprintf(buf + len, size - len, "}");
	return buf;
}

/* How many members of `members` have applied exactly that configuration
 * as their latest. */
static int applied_by(struct cfg *cfg, uint64_t members)
{
	int count = 0;
	pthread_mutex_lock(&cfg->tester.mu);
	for (int j = 0; j < cfg->n; j++) {
		uint64_t m;
		if ((members & (UINT64_C(1) << j)) &&
		    applied_config_locked(cfg, j, &m) && m == members)
			count++;
	}
	pthread_mutex_unlock(&cfg->tester.mu);
	return count;
}

/* One attempt at a change on every connected peer: the status of the last
 * peer asked, RAFT_CHANGE_STARTED as soon as one started it. */
static enum raft_change_status try_change(struct cfg *cfg, int server, bool add)
{
	enum raft_change_status st = RAFT_CHANGE_NOT_LEADER;
	for (int i = 0; i < cfg->n; i++) {
		struct instance *in = get_instance(cfg, i, true);
		if (in == NULL)
			continue;
		st = add ? raft_add_server(in->rf, server)
		         : raft_remove_server(in->rf, server);
		put_instance(cfg, in);
		if (st == RAFT_CHANGE_STARTED || st == RAFT_CHANGE_INVALID)
			return st;
	}
	return st;
}

/*
 * Changes the configuration: asks the connected peers, in turn, to add or
 * remove server until one (the leader) starts it, then waits until a
 * majority of the new configuration have applied it. Starts again if that
 * takes too long (the leader may have changed, or the new server not
 * caught up). Fails after CHANGE_LIMIT_MS.
 */
#define CHANGE_LIMIT_MS 30000
#define CHANGE_ATTEMPT_MS 5000

static void change(struct cfg *cfg, int server, bool add, uint64_t from)
{
	uint64_t to = add ? from | (UINT64_C(1) << server)
	                  : from & ~(UINT64_C(1) << server);
	int need = cfg_majority_of(to);
	int64_t t0 = labtime_now_ns();
	char fb[RAFT_MAX_SERVERS * 4], tb[RAFT_MAX_SERVERS * 4];
	rlog(RLOG_TEST, server, -1, "%s S%d: %s -> %s",
	     add ? "adding" : "removing", server,
	     format_members(from, fb, sizeof fb),
	     format_members(to, tb, sizeof tb));
	enum raft_change_status st = RAFT_CHANGE_NOT_LEADER;
	while (labtime_now_ns() - t0 < CHANGE_LIMIT_MS * MS_NS) {
		st = try_change(cfg, server, add);
		if (st == RAFT_CHANGE_STARTED || st == RAFT_CHANGE_INVALID) {
			/* INVALID: an earlier attempt did it already. */
			int64_t t1 = labtime_now_ns();
			while (labtime_now_ns() - t1 <
			       CHANGE_ATTEMPT_MS * MS_NS) {
				if (applied_by(cfg, to) >= need)
					return;
				if (cfg_sleep_ms(cfg, 20))
					return;
			}
		} else if (cfg_sleep_ms(cfg, 50)) {
			return;
		}
	}
	static const char *const names[] = {
	        "RAFT_CHANGE_STARTED", "RAFT_CHANGE_NOT_LEADER",
	        "RAFT_CHANGE_BUSY", "RAFT_CHANGE_INVALID"};
	runner_fatalf(
	        "%s server %d (configuration %s -> %s) was not applied "
	        "by a majority of the new configuration within %d s; "
	        "the last answer to raft_%s_server was %s%s",
	        add ? "adding" : "removing", server,
	        format_members(from, fb, sizeof fb),
	        format_members(to, tb, sizeof tb), CHANGE_LIMIT_MS / 1000,
	        add ? "add" : "remove",
	        (unsigned)st < 4 ? names[st] : "not a status",
	        st == RAFT_CHANGE_NOT_LEADER
	                ? " from every connected peer (is it implemented?)"
	                : "");
}

void cfg_add_server(struct cfg *cfg, int server, const int *from, int nfrom)
{
	change(cfg, server, true, cfg_member_set(from, nfrom));
}

void cfg_remove_server(struct cfg *cfg, int server, const int *from, int nfrom)
{
	change(cfg, server, false, cfg_member_set(from, nfrom));
}

uint64_t cfg_member_set(const int *members, int n)
{
	uint64_t set = 0;
	for (int k = 0; k < n; k++)
		set |= UINT64_C(1) << members[k];
	return set;
}

int cfg_majority_of(uint64_t members)
{
	int n = 0;
	for (; members != 0; members &= members - 1)
		n++;
	return n / 2 + 1;
}

enum raft_change_status cfg_try_change(struct cfg *cfg, int i, int server,
                                       bool add)
{
	struct instance *in = get_instance(cfg, i, false);
	if (in == NULL)
		return RAFT_CHANGE_NOT_LEADER;
	enum raft_change_status st = add ? raft_add_server(in->rf, server)
	                                 : raft_remove_server(in->rf, server);
	put_instance(cfg, in);
	return st;
}

bool cfg_applied_config(struct cfg *cfg, int i, uint64_t *members)
{
	pthread_mutex_lock(&cfg->tester.mu);
	bool ok = applied_config_locked(cfg, i, members);
	pthread_mutex_unlock(&cfg->tester.mu);
	return ok;
}

void cfg_check_config(struct cfg *cfg, const int *members, int n)
{
	uint64_t want = cfg_member_set(members, n);
	char wb[RAFT_MAX_SERVERS * 4], gb[RAFT_MAX_SERVERS * 4];
	for (int k = 0; k < n; k++) {
		int i = members[k];
		struct instance *in = get_instance(cfg, i, true);
		if (in == NULL)
			continue;
		int got[RAFT_MAX_SERVERS];
		int ngot = raft_get_config(in->rf, got, RAFT_MAX_SERVERS);
		put_instance(cfg, in);
		uint64_t have = cfg_member_set(
		        got, ngot < RAFT_MAX_SERVERS ? ngot : RAFT_MAX_SERVERS);
		if (ngot > RAFT_MAX_SERVERS || have != want)
			runner_fatalf("server %d reports the configuration %s, "
			              "expected %s",
			              i, format_members(have, gb, sizeof gb),
			              format_members(want, wb, sizeof wb));
	}
}

void cfg_check_timeout(struct cfg *cfg)
{
	/* enforce a two minute real-time limit on each test */
	if (tester_over_limit(&cfg->tester, CFG_TEST_SECONDS))
		cfg_fatalf(cfg, "test took longer than %d seconds",
		           CFG_TEST_SECONDS);
}

void cfg_cleanup(struct cfg *cfg)
{
	atomic_store(&cfg->finished, true);
	monitor_stop(cfg);
	cfg_replay_stale_requests(cfg, false);
	cfg_crash_after_replies(cfg, 0);
	for (int i = 0; i < cfg->n; i++)
		cfg_crash1(cfg, i);
	labrpc_net_cleanup(cfg->net);
	/* A failure recorded during the shutdown is still a failure. */
	struct tester_outcome outcome;
	tester_end(&cfg->tester, CFG_TEST_SECONDS, &outcome);

	for (int i = 0; i < cfg->n; i++) {
		log_clear(&cfg->peers[i].log);
		persister_free(cfg->peers[i].saved);
	}
	labrpc_net_free(cfg->net);
	crash_plan_free(cfg);
	free(cfg->peers);
	free(cfg);
	tester_report(&outcome);
}

/* ---- checks ---- */

int cfg_check_one_leader(struct cfg *cfg)
{
	int n = cfg->n;
	int *leader_term = tester_calloc((size_t)n, sizeof *leader_term);
	int *leader_id = tester_calloc((size_t)n, sizeof *leader_id);

	for (int iters = 0; iters < 10; iters++) {
		int ms = 450 + (int)(cfg_rand(cfg) % 100);
		cfg_sleep_ms(cfg, ms);

		int nleaders = 0;
		for (int i = 0; i < n; i++) {
			int term;
			bool is_leader;
			if (get_state(cfg, i, true, &term, &is_leader) &&
			    is_leader) {
				leader_term[nleaders] = term;
				leader_id[nleaders] = i;
				nleaders++;
			}
		}

		int last_term_with_leader = -1, leader = -1;
		for (int a = 0; a < nleaders; a++) {
			int same = 0;
			for (int b = 0; b < nleaders; b++)
				same += leader_term[b] == leader_term[a];
			if (same > 1)
				cfg_fatalf(cfg, "term %d has %d (>1) leaders",
				           leader_term[a], same);
			if (leader_term[a] > last_term_with_leader) {
				last_term_with_leader = leader_term[a];
				leader = leader_id[a];
			}
		}
		if (nleaders != 0) {
			free(leader_term);
			free(leader_id);
			runner_check_held(1);
			return leader;
		}
	}
	cfg_fatalf(cfg, "expected one leader, got none");
	return -1;
}

int cfg_check_terms(struct cfg *cfg)
{
	int term = -1;
	for (int i = 0; i < cfg->n; i++) {
		int xterm;
		bool is_leader;
		if (get_state(cfg, i, true, &xterm, &is_leader)) {
			if (term == -1)
				term = xterm;
			else if (term != xterm)
				cfg_fatalf(cfg, "servers disagree on term");
		}
	}
	runner_check_held(1);
	return term;
}

void cfg_check_no_leader(struct cfg *cfg)
{
	for (int i = 0; i < cfg->n; i++) {
		int term;
		bool is_leader;
		if (get_state(cfg, i, true, &term, &is_leader) && is_leader)
			cfg_fatalf(cfg,
			           "expected no leader among connected "
			           "servers, but %d claims to be leader",
			           i);
	}
	runner_check_held(1);
}

int cfg_n_committed(struct cfg *cfg, int index, struct cmdvalue *cmd)
{
	int count = 0;
	struct cmdvalue first = {.kind = CMDVALUE_NIL};
	char vb[CMDVALUE_FMT_SIZE], ob[CMDVALUE_FMT_SIZE], msg[MSG_SIZE];

	if (cmd != NULL)
		*cmd = first;
	if (cfg_check_failure(cfg)) /* what the appliers found */
		return -1;

	pthread_mutex_lock(&cfg->tester.mu);
	for (int i = 0; i < cfg->n; i++) {
		const struct slot *s = log_get(&cfg->peers[i].log, index);
		if (s == NULL)
			continue;
		if (count > 0 && !cmdvalue_equal(first, s->v)) {
			snprintf(msg, sizeof msg,
			         "committed values do not match: index %d, "
			         "%s, %s",
			         index, cmdvalue_format(first, vb),
			         cmdvalue_format(s->v, ob));
			pthread_mutex_unlock(&cfg->tester.mu);
			cfg_fatalf(cfg, "%s", msg);
			return -1;
		}
		count++;
		first = s->v;
	}
	if (cmd != NULL)
		*cmd = cmdvalue_copy(first);
	pthread_mutex_unlock(&cfg->tester.mu);
	return count;
}

struct cmdvalue cfg_wait(struct cfg *cfg, int index, int n, int start_term)
{
	int64_t to = 10;
	for (int iters = 0; iters < 30; iters++) {
		int nd = cfg_n_committed(cfg, index, NULL);
		if (nd >= n)
			break;
		cfg_sleep_ms(cfg, to);
		if (to < 1000)
			to *= 2;
		if (start_term > -1) {
			for (int i = 0; i < cfg->n; i++) {
				int t;
				bool is_leader;
				if (get_state(cfg, i, false, &t, &is_leader) &&
				    t > start_term) {
					/* someone has moved on; can no
					 * longer guarantee that we'll "win" */
					return cmdvalue_int(-1);
				}
			}
		}
	}
	struct cmdvalue cmd;
	int nd = cfg_n_committed(cfg, index, &cmd);
	if (nd < n) {
		cmdvalue_release(&cmd);
		cfg_fatalf(cfg, "only %d decided for index %d; wanted %d", nd,
		           index, n);
	}
	runner_check_held(1);
	return cmd;
}

enum {
	ONE_GAVE_UP = -2, /* no agreement in time */
	ONE_STOPPED = -1, /* the test failed elsewhere, or is finishing */
};

/* The attempts of cfg_one, with cmd encoded in b: returns the index cmd was
 * agreed at, ONE_GAVE_UP or ONE_STOPPED. */
static int one_attempts(struct cfg *cfg, const struct codec_buf *b,
                        struct cmdvalue cmd, int expected_servers, bool retry)
{
	int64_t t0 = labtime_now_ns();
	int starts = 0;
	while (labtime_now_ns() - t0 < INT64_C(10000000000) &&
	       !atomic_load(&cfg->finished)) {
		/* try all the servers, maybe one is the leader */
		int index = -1;
		for (int si = 0; si < cfg->n; si++) {
			starts = (starts + 1) % cfg->n;
			struct instance *in = get_instance(cfg, starts, true);
			if (in == NULL)
				continue;
			struct raft_start_result r = start_on(in, b);
			put_instance(cfg, in);
			if (r.is_leader) {
				index = r.index;
				break;
			}
		}

		if (index == -1) {
			if (cfg_sleep_ms(cfg, 50))
				return ONE_STOPPED;
			continue;
		}

		/* somebody claimed to be the leader and to have submitted
		 * our command; wait a while for agreement */
		int64_t t1 = labtime_now_ns();
		while (labtime_now_ns() - t1 < INT64_C(2000000000)) {
			struct cmdvalue cmd1;
			int nd = cfg_n_committed(cfg, index, &cmd1);
			if (nd < 0)
				return ONE_STOPPED;
			bool same = cmdvalue_equal(cmd1, cmd);
			cmdvalue_release(&cmd1);
			if (nd > 0 && nd >= expected_servers && same) {
				/* committed, and it was the command we
				 * submitted */
				return index;
			}
			if (cfg_sleep_ms(cfg, 20))
				return ONE_STOPPED;
		}
		if (!retry)
			return ONE_GAVE_UP;
	}
	return atomic_load(&cfg->finished) ? ONE_STOPPED : ONE_GAVE_UP;
}

int cfg_one(struct cfg *cfg, struct cmdvalue cmd, int expected_servers,
            bool retry)
{
	struct codec_buf b;
	codec_buf_init(&b);
	cmdvalue_encode(&b, cmd);
	int index = one_attempts(cfg, &b, cmd, expected_servers, retry);
	codec_buf_free(&b);
	if (index == ONE_GAVE_UP) {
		char vb[CMDVALUE_FMT_SIZE];
		cfg_fatalf(cfg, "one(%s) failed to reach agreement",
		           cmdvalue_format(cmd, vb));
		return -1;
	}
	runner_check_held(1);
	return index;
}

/* ---- begin and end ---- */

void cfg_begin(struct cfg *cfg, const char *description)
{
	printf("%s ...\n", description);
	fflush(stdout);
	rlog(RLOG_TEST, -1, -1, "begin: %s", description);
	cfg->t0_ns = labtime_now_ns();
	cfg->rpcs0 = cfg_rpc_total(cfg);
	cfg->bytes0 = cfg_bytes_total(cfg);
	pthread_mutex_lock(&cfg->tester.mu);
	cfg->max_index0 = cfg->max_index;
	pthread_mutex_unlock(&cfg->tester.mu);
}

void cfg_end(struct cfg *cfg)
{
	cfg_check_failure(cfg); /* a recorded failure first: it says more */
	cfg_check_timeout(cfg);
	runner_check_held(1); /* the monitors' checks held throughout */

	double t = (double)(labtime_now_ns() - cfg->t0_ns) / 1e9;
	int npeers = cfg->n;
	int nrpc = cfg_rpc_total(cfg) - cfg->rpcs0;
	int64_t nbytes = cfg_bytes_total(cfg) - cfg->bytes0;
	pthread_mutex_lock(&cfg->tester.mu);
	int ncmds = cfg->max_index - cfg->max_index0;
	pthread_mutex_unlock(&cfg->tester.mu);

	printf("  ... Passed --");
	printf("  %4.1f  %d %4d %7" PRId64 " %4d\n", t, npeers, nrpc, nbytes,
	       ncmds);
	fflush(stdout);
	runner_report_counts((uint64_t)nrpc, (uint64_t)ncmds);
}

/* ---- statistics and network settings ---- */

int cfg_rpc_count(struct cfg *cfg, int server)
{
	return labrpc_get_count(cfg->net, cfg->peers[server].name);
}

int cfg_rpc_total(struct cfg *cfg)
{
	return labrpc_total_count(cfg->net);
}

int64_t cfg_bytes_total(struct cfg *cfg)
{
	return labrpc_total_bytes(cfg->net);
}

void cfg_set_unreliable(struct cfg *cfg, bool unreliable)
{
	labrpc_net_reliable(cfg->net, !unreliable);
}

void cfg_set_duplicates(struct cfg *cfg, bool duplicates)
{
	labrpc_net_duplicates(cfg->net, duplicates);
}

static bool replay_term_of(void *arg, int i, int *term)
{
	bool is_leader;
	return get_state(arg, i, false, term, &is_leader);
}

void cfg_replay_stale_requests(struct cfg *cfg, bool on)
{
	if (on && cfg->replay == NULL) {
		const char *names[RAFT_MAX_SERVERS];
		for (int i = 0; i < cfg->n; i++)
			names[i] = cfg->peers[i].name;
		cfg->replay = stale_replay_start(cfg->net, cfg->n, names,
		                                 replay_term_of, cfg,
		                                 (uint64_t)cfg_rand(cfg));
		for (int i = 0; i < cfg->n; i++)
			for (int j = 0; j < cfg->n && cfg->peers[i].endnames;
			     j++)
				stale_replay_link(cfg->replay,
				                  cfg->peers[i].endnames[j], i,
				                  j);
	} else if (!on && cfg->replay != NULL) {
		stale_replay_stop(cfg->replay);
		cfg->replay = NULL;
	}
}

int64_t cfg_stale_requests_delivered(struct cfg *cfg, int i)
{
	return cfg->replay ? stale_replay_delivered(cfg->replay, i) : 0;
}

void cfg_set_long_reordering(struct cfg *cfg, bool long_reordering)
{
	labrpc_net_long_reordering(cfg->net, long_reordering);
}

int cfg_log_size(struct cfg *cfg)
{
	size_t logsize = 0;
	for (int i = 0; i < cfg->n; i++) {
		size_t n = persister_raft_state_size(cfg->peers[i].saved);
		if (n > logsize)
			logsize = n;
	}
	return (int)logsize;
}
