/*
 * raft.c: raftlab's reference Raft peer (raft/raft.h), following the extended
 * Raft paper: leader election and log replication (Figure 2, §5), the
 * election restriction (§5.4.1), committing only entries of the current term
 * (§5.4.2) and log compaction with a whole snapshot per InstallSnapshot RPC
 * (§7, Figure 13 without chunking), and, from the Raft thesis, a leader
 * stepping down when no majority has answered it lately (§6.2). The apply
 * messages themselves are made in raft/apply_msg.c. Not for: the tester or
 * the key/value service.
 *
 * One mutex guards the whole peer; the threads it wakes are woken once it
 * is released (raft_unlock). Its threads, all joined by raft_kill:
 *   ticker   waits for the next deadline: the election timeout of a follower
 *            or candidate, the heartbeat time of a leader;
 *   applier  the only thread that sends on the apply channel: it takes the
 *            next snapshot or committed entry under the lock, then sends it
 *            without the lock;
 *   senders  for each other peer, threads started on demand, at most
 *            SENDERS_PER_PEER. They wait for work flags (a RequestVote to
 *            send for the current election; an AppendEntries or
 *            InstallSnapshot to send), build the arguments under the lock,
 *            call without it, and handle the reply under it. New work for a
 *            peer waits for the reply to the latest call to it, so that one
 *            message carries it all; but a call that hangs (a call to an
 *            unreachable peer fails only after up to 7 s) holds nothing up
 *            for longer than a heartbeat interval: the next heartbeat goes
 *            out on another thread.
 *
 * The log is an array starting at the snapshot: log[0] stands for the last
 * entry the snapshot covers (index snap_index, its term, no command), and
 * log[i] is the entry at index snap_index + i. Without a snapshot,
 * snap_index is 0 and log[0] is a term-0 sentinel, so log indices start at 1.
 *
 * Where each rule of Figure 2 (and Figure 13) is enforced:
 *   All Servers: commitIndex > lastApplied: apply   applier_main
 *     RPC with term T > currentTerm: step down      become_follower, called
 *                                                   by every handler and
 *                                                   reply handler
 *   Followers: answer RPCs; election timeout        request_vote_handler,
 *     without a leader or a vote granted: campaign  append_entries_handler,
 *                                                   ticker_main
 *   Candidates: increment term, vote for self,      start_election
 *     reset the timer, send RequestVote             send_request_vote
 *     votes from a majority: become leader          handle_vote_reply,
 *                                                   become_leader
 *     AppendEntries from a new leader: follower     append_entries_handler
 *   Leaders: heartbeats on election and when idle   become_leader,
 *                                                   ticker_main
 *     a command from the client: append             raft_start
 *     last log index >= nextIndex: AppendEntries    send_append_entries
 *     success: nextIndex, matchIndex; failure:      handle_append_reply,
 *     decrement nextIndex (fast backup)             backed_up_next_index
 *     N > commitIndex, a majority of matchIndex     leader_advance_commit
 *     >= N, log[N].term == currentTerm: commit
 *   RequestVote receiver: term, votedFor, §5.4.1    request_vote_handler,
 *                                                   candidate_log_ok
 *   AppendEntries receiver: steps 1-5               append_entries_handler
 *   InstallSnapshot receiver (Figure 13)            install_snapshot_handler
 *   Persistent state saved before answering         persist
 *
 * Beyond the paper, each for a reason the paper leaves to implementers:
 *   sender pools: calls go out on per-peer threads (see above), because a
 *     call to an unreachable peer blocks for up to 7 s in labrpc;
 *   deferred wake-ups: threads are signalled after mu is released
 *     (raft_unlock, wait_locked), so a woken thread does not block on mu;
 *   the encoded-log cache: enc holds log[1..] as persist writes it, so a
 *     save copies bytes instead of encoding the whole log again;
 *   the adaptive quorum window: a leader steps down when no majority has
 *     answered lately (leader_has_quorum), "lately" growing with how slow
 *     answers have been, so that reordered replies do not depose it;
 *   fast backup (backed_up_next_index), the lab's XTerm/XIndex/XLen.
 */
#include "raft/raft.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "labtime/labtime.h"
#include "prng/prng.h"
#include "raft/timing.h"
#include "rlog/rlog.h"

enum {
	HEARTBEAT_MS = 100, /* the tester allows at most 10 per second */
	/* A leader that has heard from no majority for this long steps down
	 * (two heartbeats missed by a majority), or for longer where answers
	 * have been slow (leader_has_quorum). */
	QUORUM_MS = 2 * HEARTBEAT_MS,
	/* How slow answers are is remembered over the last one or two periods
	 * of this length (struct raft's slowest). */
	SLOW_PERIOD_MS = 5000,
	ELECTION_TIMEOUT_MIN_MS = 300,  /* election timeouts are drawn from */
	ELECTION_TIMEOUT_SPAN_MS = 300, /*   [300, 600) ms */
	/* A call to an unreachable peer can take 7 s to fail, and only a call
	 * started after the peer is back gets through: with 16 threads, some
	 * call starts every 0.2 s or so even while the peer is unreachable. */
	SENDERS_PER_PEER = 16,
	/* raft_read_index gives up confirming leadership after this long. */
	READ_LIMIT_MS = 500,
	NO_VOTE = -1,    /* votedFor is null */
	NO_TERM = -1,    /* a conflict reply: the log is too short */
	NO_LEARNER = -1, /* no server is catching up */
	/* A server being added that has not caught up after this long is
	 * not added (part 3E). */
	CATCH_UP_LIMIT_MS = 10000,
};

#define MS_NS INT64_C(1000000)

enum raft_role { FOLLOWER, CANDIDATE, LEADER };

/* One log entry; also how entries travel in AppendEntries. A configuration
 * entry (part 3E) holds the new member set, encoded, as its command. */
struct raft_entry {
	int term;
	bool config;
	uint8_t *command; /* owned; NULL for log[0] */
	size_t command_len;
	size_t enc_off; /* in the log only: where its encoding starts in enc */
};

/* What the leader (or candidate) keeps for one other peer. */
struct raft_peer {
	struct raft *rf;
	int id;
	int next_index;  /* Figure 2: next log entry to send to this peer */
	int match_index; /* Figure 2: highest entry known replicated there */
	int vote_term;   /* send a RequestVote while this is the current term */
	int granted_term; /* the term in which this peer granted us its vote */
	bool need_append; /* send an AppendEntries (or InstallSnapshot) */
	unsigned calls;   /* AppendEntries/InstallSnapshot calls started */
	bool awaiting;    /* the latest of them has not returned yet */
	int64_t heartbeat_ns; /* leader: when to send a heartbeat if nothing
	                       * else has gone to this peer by then */
	int64_t ack_ns; /* leader: when this peer last answered, in our term */
	uint64_t read_acked; /* leader: the latest read round (struct raft's
	                      * read_round) of a call this peer answered in
	                      * our term */
	int idle;            /* sender threads waiting on cond */
	int nthreads;
	pthread_t threads[SENDERS_PER_PEER];
	pthread_cond_t cond;
};

struct raft {
	pthread_mutex_t mu;
	struct labrpc_end **ends;
	int npeers;
	int me;
	struct persister *persister;
	struct chan *apply_ch;
	bool dead;
	bool joined;

	/* Persistent state (Figure 2), plus the snapshot and its metadata. */
	int current_term;
	int voted_for;
	struct raft_entry *log; /* log[0]: the snapshot's last included entry */
	size_t log_len;
	size_t log_cap;
	int snap_index; /* index of log[0]; log[0].term is its term */
	/* log[1..] encoded as persist saves them, kept in step with the log,
	 * so that a save copies these bytes instead of encoding every entry
	 * again. */
	struct codec_buf enc;
	uint8_t *snapshot; /* NULL when there is none */
	size_t snapshot_len;

	/* Volatile state. */
	enum raft_role role;
	int commit_index;
	int last_applied;      /* the last index handed to the applier's send */
	bool snapshot_pending; /* an installed snapshot awaits delivery */
	int votes;
	int64_t election_deadline_ns;
	struct prng prng;
	/* The timing of raft/timing.h, fixed when the peer is made: election
	 * timeouts are min + k * step for a random k in [0, span / step). */
	int64_t election_min_ns, election_span_ns, election_step_ns;
	int64_t heartbeat_interval_ns;
	int64_t quorum_window_ns; /* QUORUM_MS, scaled with the heartbeat */

	/* Part 3E: the configuration, a set of peers (bit j: peer j).
	 * base_members is the one as of snap_index (persisted with it);
	 * members the latest in the log, which took index config_index, or
	 * base_members if the log has none after snap_index. */
	uint64_t base_members;
	uint64_t members;
	int config_index;
	/* The server being caught up before it is added (NO_LEARNER if none):
	 * the current round replicates to it through learner_target and began
	 * at learner_round_ns; the leader gives up at learner_deadline_ns. */
	int learner;
	int learner_target;
	int64_t learner_round_ns;
	int64_t learner_deadline_ns;
	/* A leader that committed its own removal steps down once every
	 * member has answered a call of read round step_down_round (which
	 * told it the commit), or at step_down_ns; 0: not stepping down. */
	uint64_t step_down_round;
	int64_t step_down_ns;

	struct raft_peer *peers; /* peers[me] is unused */
	/* The longest any call of ours took to be answered, in the current
	 * period of SLOW_PERIOD_MS (slowest[0], begun at slow_period_ns) and
	 * the one before (slowest[1]), in any term and role. */
	int64_t slowest[2];
	int64_t slow_period_ns;
	/* §8 reads: each raft_read_index call asks for a round of heartbeats,
	 * numbered read_round; a call built in round r that a peer answers in
	 * our term confirms every round through r for that peer. readers
	 * calls wait on read_cond for that, or for an entry of the term to be
	 * committed. */
	uint64_t read_round;
	int readers;
	pthread_cond_t read_cond;
	/* Wake-ups owed, made once mu is released (raft_unlock): a thread
	 * woken while mu is still held would only block again on mu. Bit j
	 * of wake_senders: a sender of peer j (j < 64; others are woken at
	 * once). */
	uint64_t wake_senders;
	bool wake_ticker;
	bool wake_applier;
	bool wake_readers; /* broadcast read_cond */
	pthread_cond_t ticker_cond;
	pthread_cond_t applier_cond;
	pthread_t ticker;
	pthread_t applier;
};

/* ---- memory ---- */

/* malloc that never returns NULL: a peer has no way to report running out
 * of memory halfway through a state change, so it ends the program. */
static void *xmalloc(size_t size)
{
	void *p = malloc(size > 0 ? size : 1);
	if (!p) {
		fprintf(stderr, "raft: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

static uint8_t *copy_bytes(const void *bytes, size_t len)
{
	uint8_t *copy = xmalloc(len);
	if (len > 0)
		memcpy(copy, bytes, len);
	return copy;
}

/* ---- RPC messages and their encodings ---- */

struct request_vote_args {
	int term;
	int candidate;
	int last_log_index;
	int last_log_term;
};

struct request_vote_reply {
	int term;
	bool vote_granted;
};

struct append_entries_args {
	int term;
	int leader;
	int prev_log_index;
	int prev_log_term;
	struct raft_entry *entries; /* owned, with their commands */
	size_t nentries;
	int leader_commit;
};

/* On failure, conflict_term is the term of the follower's entry at
 * prev_log_index and conflict_index the first index of that term in its log;
 * conflict_term is NO_TERM when its log has no entry at prev_log_index.
 * log_len is the follower's last log index + 1. */
struct append_entries_reply {
	int term;
	bool success;
	int conflict_term;
	int conflict_index;
	int log_len;
};

struct install_snapshot_args {
	int term;
	int leader;
	int last_included_index;
	int last_included_term;
	uint64_t members; /* the configuration as of last_included_index */
	uint8_t *data;    /* owned */
	size_t data_len;
};

struct install_snapshot_reply {
	int term;
};

/* Terms and indices are never negative; a decoder rejects those that are. */
static void get_nonneg(struct codec_reader *r, int *v)
{
	if (codec_get_int(r, v) == CODEC_OK && *v < 0)
		r->err = CODEC_ERANGE; /* sticky, like the codec's own errors */
}

/* A member set as a configuration entry's command: a uvarint bit mask. */
static uint8_t *encode_members(uint64_t members, size_t *len)
{
	struct codec_buf b;
	codec_buf_init(&b);
	codec_put_uvarint(&b, members);
	return codec_buf_take(&b, len);
}

static int decode_members(const uint8_t *data, size_t len, uint64_t *members)
{
	struct codec_reader r;
	codec_reader_init(&r, data, len);
	codec_get_uvarint(&r, members);
	return codec_finish(&r);
}

/* An entry: its term, then its command. A configuration entry writes its
 * term as -(term + 1), so that other entries cost no byte more. */
static void put_entry(struct codec_buf *b, const struct raft_entry *e)
{
	codec_put_varint(b, e->config ? -e->term - 1 : e->term);
	codec_put_bytes(b, e->command, e->command_len);
}

static int get_entry(struct codec_reader *r, struct raft_entry *e)
{
	int term = 0;
	uint64_t members;
	codec_get_int(r, &term);
	if (r->err == CODEC_OK && term < -INT32_MAX)
		r->err = CODEC_ERANGE;
	e->config = term < 0;
	e->term = term < 0 ? -(term + 1) : term;
	codec_get_bytes(r, &e->command, &e->command_len);
	if (r->err == CODEC_OK && e->config &&
	    decode_members(e->command, e->command_len, &members) != CODEC_OK)
		r->err = CODEC_ERANGE;
	return r->err;
}

/* Every entry takes at least two bytes: its term and its length. */
#define ENTRY_MIN_BYTES 2

static void free_entries(struct raft_entry *entries, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].command);
	free(entries);
}

static void request_vote_args_encode(struct codec_buf *b, const void *value)
{
	const struct request_vote_args *a = value;
	codec_put_varint(b, a->term);
	codec_put_varint(b, a->candidate);
	codec_put_varint(b, a->last_log_index);
	codec_put_varint(b, a->last_log_term);
}

static int request_vote_args_decode(struct codec_reader *r, void *value)
{
	struct request_vote_args *a = value;
	get_nonneg(r, &a->term);
	get_nonneg(r, &a->candidate);
	get_nonneg(r, &a->last_log_index);
	get_nonneg(r, &a->last_log_term);
	return r->err;
}

static void request_vote_reply_encode(struct codec_buf *b, const void *value)
{
	const struct request_vote_reply *a = value;
	codec_put_varint(b, a->term);
	codec_put_bool(b, a->vote_granted);
}

static int request_vote_reply_decode(struct codec_reader *r, void *value)
{
	struct request_vote_reply *a = value;
	get_nonneg(r, &a->term);
	codec_get_bool(r, &a->vote_granted);
	return r->err;
}

static void append_entries_args_encode(struct codec_buf *b, const void *value)
{
	const struct append_entries_args *a = value;
	codec_put_varint(b, a->term);
	codec_put_varint(b, a->leader);
	codec_put_varint(b, a->prev_log_index);
	codec_put_varint(b, a->prev_log_term);
	codec_put_seq(b, a->nentries);
	for (size_t i = 0; i < a->nentries; i++)
		put_entry(b, &a->entries[i]);
	codec_put_varint(b, a->leader_commit);
}

static int append_entries_args_decode(struct codec_reader *r, void *value)
{
	struct append_entries_args *a = value;
	size_t n = 0;
	get_nonneg(r, &a->term);
	get_nonneg(r, &a->leader);
	get_nonneg(r, &a->prev_log_index);
	get_nonneg(r, &a->prev_log_term);
	if (codec_get_seq(r, &n, ENTRY_MIN_BYTES) == CODEC_OK && n > 0) {
		a->entries = calloc(n, sizeof *a->entries);
		if (!a->entries) {
			fprintf(stderr, "raft: out of memory\n");
			abort();
		}
		a->nentries = n;
		for (size_t i = 0;
		     i < n && get_entry(r, &a->entries[i]) == CODEC_OK; i++)
			;
	}
	get_nonneg(r, &a->leader_commit);
	return r->err;
}

static void append_entries_args_release(void *value)
{
	struct append_entries_args *a = value;
	free_entries(a->entries, a->nentries);
	a->entries = NULL;
	a->nentries = 0;
}

static void append_entries_reply_encode(struct codec_buf *b, const void *value)
{
	const struct append_entries_reply *a = value;
	codec_put_varint(b, a->term);
	codec_put_bool(b, a->success);
	codec_put_varint(b, a->conflict_term);
	codec_put_varint(b, a->conflict_index);
	codec_put_varint(b, a->log_len);
}

static int append_entries_reply_decode(struct codec_reader *r, void *value)
{
	struct append_entries_reply *a = value;
	get_nonneg(r, &a->term);
	codec_get_bool(r, &a->success);
	codec_get_int(r, &a->conflict_term); /* NO_TERM is allowed */
	get_nonneg(r, &a->conflict_index);
	get_nonneg(r, &a->log_len);
	return r->err;
}

static void install_snapshot_args_encode(struct codec_buf *b, const void *value)
{
	const struct install_snapshot_args *a = value;
	codec_put_varint(b, a->term);
	codec_put_varint(b, a->leader);
	codec_put_varint(b, a->last_included_index);
	codec_put_varint(b, a->last_included_term);
	codec_put_uvarint(b, a->members);
	codec_put_bytes(b, a->data, a->data_len);
}

static int install_snapshot_args_decode(struct codec_reader *r, void *value)
{
	struct install_snapshot_args *a = value;
	get_nonneg(r, &a->term);
	get_nonneg(r, &a->leader);
	get_nonneg(r, &a->last_included_index);
	get_nonneg(r, &a->last_included_term);
	codec_get_uvarint(r, &a->members);
	codec_get_bytes(r, &a->data, &a->data_len);
	return r->err;
}

static void install_snapshot_args_release(void *value)
{
	struct install_snapshot_args *a = value;
	free(a->data);
	a->data = NULL;
	a->data_len = 0;
}

static void install_snapshot_reply_encode(struct codec_buf *b,
                                          const void *value)
{
	const struct install_snapshot_reply *a = value;
	codec_put_varint(b, a->term);
}

static int install_snapshot_reply_decode(struct codec_reader *r, void *value)
{
	struct install_snapshot_reply *a = value;
	get_nonneg(r, &a->term);
	return r->err;
}

static const struct codec_type request_vote_args_type = {
        "RequestVoteArgs",
        sizeof(struct request_vote_args),
        request_vote_args_encode,
        request_vote_args_decode,
        NULL,
};
static const struct codec_type request_vote_reply_type = {
        "RequestVoteReply",
        sizeof(struct request_vote_reply),
        request_vote_reply_encode,
        request_vote_reply_decode,
        NULL,
};
static const struct codec_type append_entries_args_type = {
        "AppendEntriesArgs",         sizeof(struct append_entries_args),
        append_entries_args_encode,  append_entries_args_decode,
        append_entries_args_release,
};
static const struct codec_type append_entries_reply_type = {
        "AppendEntriesReply",
        sizeof(struct append_entries_reply),
        append_entries_reply_encode,
        append_entries_reply_decode,
        NULL,
};
static const struct codec_type install_snapshot_args_type = {
        "InstallSnapshotArgs",         sizeof(struct install_snapshot_args),
        install_snapshot_args_encode,  install_snapshot_args_decode,
        install_snapshot_args_release,
};
static const struct codec_type install_snapshot_reply_type = {
        "InstallSnapshotReply",
        sizeof(struct install_snapshot_reply),
        install_snapshot_reply_encode,
        install_snapshot_reply_decode,
        NULL,
};

/* ---- the log ---- */

static int last_index(const struct raft *rf)
{
	return rf->snap_index + (int)rf->log_len - 1;
}

/* The entry at index, which must lie in [snap_index, last_index]. */
static struct raft_entry *entry_at(const struct raft *rf, int index)
{
	return &rf->log[index - rf->snap_index];
}

static int term_at(const struct raft *rf, int index)
{
	return entry_at(rf, index)->term;
}

static void log_reserve(struct raft *rf, size_t need)
{
	if (need <= rf->log_cap)
		return;
	size_t cap = rf->log_cap > 0 ? rf->log_cap : 16;
	while (cap < need)
		cap *= 2;
	struct raft_entry *log = realloc(rf->log, cap * sizeof *log);
	if (!log) {
		fprintf(stderr, "raft: out of memory (log of %zu entries)\n",
		        cap);
		abort();
	}
	rf->log = log;
	rf->log_cap = cap;
}

/* Gives memory back once the log, or its encoding, uses a quarter of its
 * array or less. */
static void log_shrink(struct raft *rf)
{
	if (rf->log_cap > 64 && rf->log_len * 4 <= rf->log_cap) {
		size_t cap = rf->log_len * 2 > 16 ? rf->log_len * 2 : 16;
		struct raft_entry *log = realloc(rf->log, cap * sizeof *log);
		if (log) {
			rf->log = log;
			rf->log_cap = cap;
		}
	}
	if (rf->enc.cap > 4096 && rf->enc.len * 4 <= rf->enc.cap) {
		size_t cap = rf->enc.len * 2 > 1024 ? rf->enc.len * 2 : 1024;
		uint8_t *data = realloc(rf->enc.data, cap);
		if (data) {
			rf->enc.data = data;
			rf->enc.cap = cap;
		}
	}
}

/* Makes e (whose command the log now owns) the new last entry. */
static void log_push(struct raft *rf, struct raft_entry e)
{
	log_reserve(rf, rf->log_len + 1);
	e.enc_off = rf->enc.len;
	put_entry(&rf->enc, &e);
	rf->log[rf->log_len++] = e;
}

/* Appends a copy of command as a new last entry. */
static void log_append(struct raft *rf, int term, const void *command,
                       size_t len)
{
	log_push(rf, (struct raft_entry){
	                     .term = term,
	                     .command = copy_bytes(command, len),
	                     .command_len = len,
	             });
}

/* ---- the configuration (part 3E) ---- */

static uint64_t bit(int j)
{
	return UINT64_C(1) << j;
}

static bool is_member(const struct raft *rf, int j)
{
	return (rf->members & bit(j)) != 0;
}

static int count_members(uint64_t members)
{
	int n = 0;
	for (; members != 0; members &= members - 1)
		n++;
	return n;
}

/* Whether count servers of the current configuration are a majority. */
static bool is_majority(const struct raft *rf, int count)
{
	return 2 * count > count_members(rf->members);
}

/* Whether a leader sends to peer j: a member, or the server catching up. */
static bool sends_to(const struct raft *rf, int j)
{
	return j != rf->me && (is_member(rf, j) || j == rf->learner);
}

/* The configuration as of index (snap_index <= index <= last_index): the
 * latest configuration entry up to index, else the snapshot's. Sets *at to
 * its index when at is not NULL. */
static uint64_t members_at(const struct raft *rf, int index, int *at)
{
	for (int i = index; i > rf->snap_index; i--) {
		const struct raft_entry *e = entry_at(rf, i);
		uint64_t members;
		if (e->config && decode_members(e->command, e->command_len,
		                                &members) == CODEC_OK) {
			if (at != NULL)
				*at = i;
			return members;
		}
	}
	if (at != NULL)
		*at = rf->snap_index;
	return rf->base_members;
}

/* A server uses the latest configuration in its log (thesis §4.1): set
 * again whenever the log changes other than by a leader's own change. */
static void config_refresh(struct raft *rf)
{
	uint64_t old = rf->members;
	rf->members = members_at(rf, last_index(rf), &rf->config_index);
	if (rf->members != old)
		rlog(RLOG_LEADER, rf->me, rf->current_term,
		     "configuration %#llx (entry %d)",
		     (unsigned long long)rf->members, rf->config_index);
}

/* Deletes the entries from index (> snap_index) to the end. */
static void log_truncate_from(struct raft *rf, int index)
{
	size_t keep = (size_t)(index - rf->snap_index);
	if (keep >= rf->log_len)
		return;
	rf->enc.len = rf->log[keep].enc_off;
	for (size_t i = keep; i < rf->log_len; i++)
		free(rf->log[i].command);
	rf->log_len = keep;
	log_shrink(rf);
}

/* §7: makes (index, term) the last entry covered by the snapshot: discards
 * every entry up to index, and also those after it unless the log holds an
 * entry at index with that term. */
static void log_compact(struct raft *rf, int index, int term)
{
	if (index > last_index(rf) || term_at(rf, index) != term) {
		log_truncate_from(rf, rf->snap_index + 1);
		rf->log_len = 1;
	} else {
		size_t cut = (size_t)(index - rf->snap_index);
		size_t gone = cut + 1 < rf->log_len ? rf->log[cut + 1].enc_off
		                                    : rf->enc.len;
		for (size_t i = 1; i <= cut; i++)
			free(rf->log[i].command);
		memmove(&rf->log[1], &rf->log[cut + 1],
		        (rf->log_len - cut - 1) * sizeof *rf->log);
		rf->log_len -= cut;
		if (gone > 0) {
			memmove(rf->enc.data, rf->enc.data + gone,
			        rf->enc.len - gone);
			rf->enc.len -= gone;
		}
		for (size_t i = 1; i < rf->log_len; i++)
			rf->log[i].enc_off -= gone;
	}
	rf->log[0] = (struct raft_entry){.term = term};
	rf->snap_index = index;
	log_shrink(rf);
}

/* ---- persistence ---- */

/*
 * Figure 2, "Persistent state on all servers: updated on stable storage
 * before responding to RPCs": saves currentTerm, votedFor and the log, with
 * the snapshot's metadata and the snapshot itself (§7).
 */
static void persist(struct raft *rf)
{
	struct codec_buf head;
	codec_buf_init(&head);
	codec_put_varint(&head, rf->current_term);
	codec_put_varint(&head, rf->voted_for);
	codec_put_varint(&head, rf->snap_index);
	codec_put_varint(&head, rf->log[0].term);
	codec_put_uvarint(&head, rf->base_members);
	codec_put_seq(&head, rf->log_len - 1);
	/* then the entries, already encoded */
	size_t len = head.len + rf->enc.len;
	uint8_t *state = xmalloc(len);
	memcpy(state, head.data, head.len);
	if (rf->enc.len > 0)
		memcpy(state + head.len, rf->enc.data, rf->enc.len);
	persister_save(rf->persister, state, len, rf->snapshot,
	               rf->snapshot_len);
	free(state);
	rlog2(RLOG_PERSIST, rf->me, rf->current_term,
	      "saved: voted for %d, log (%d, %d], %zu state bytes, %zu "
	      "snapshot bytes",
	      rf->voted_for, rf->snap_index, last_index(rf), len,
	      rf->snapshot_len);
	codec_buf_free(&head);
}

/* Reads back what persist saved; an empty state is a fresh start. */
static int restore(struct raft *rf, const uint8_t *data, size_t len)
{
	struct codec_reader r;
	int snap_term = 0;
	size_t n = 0;

	if (len == 0)
		return CODEC_OK;
	codec_reader_init(&r, data, len);
	get_nonneg(&r, &rf->current_term);
	codec_get_int(&r, &rf->voted_for);
	get_nonneg(&r, &rf->snap_index);
	get_nonneg(&r, &snap_term);
	codec_get_uvarint(&r, &rf->base_members);
	codec_get_seq(&r, &n, ENTRY_MIN_BYTES);
	if (r.err == CODEC_OK &&
	    (rf->voted_for < NO_VOTE || rf->voted_for >= rf->npeers))
		r.err = CODEC_ERANGE;
	if (r.err == CODEC_OK && rf->npeers < 64 &&
	    (rf->base_members >> rf->npeers) != 0)
		r.err = CODEC_ERANGE;
	if (r.err != CODEC_OK)
		return r.err;
	log_reserve(rf, n + 1);
	rf->log[0].term = snap_term;
	for (size_t i = 0; i < n; i++) {
		struct raft_entry e = {0};
		if (get_entry(&r, &e) != CODEC_OK) {
			free(e.command);
			break;
		}
		log_push(rf, e);
	}
	config_refresh(rf);
	return codec_finish(&r);
}

/* ---- roles and timers ---- */

/* §5.2: each election timeout is chosen at random, here from [300, 600) ms
 * (unless raft/timing.h says otherwise), so that split votes are rare. */
static void reset_election_timer(struct raft *rf)
{
	int64_t ns = rf->election_min_ns;
	if (rf->election_span_ns > 0)
		ns += rf->election_step_ns *
		      prng_below(&rf->prng,
		                 rf->election_span_ns / rf->election_step_ns);
	rf->election_deadline_ns = labtime_now_ns() + ns;
}

/* Signals the threads in a set of wake-ups owed (see struct raft). */
static void make_wakes(struct raft *rf, uint64_t senders, bool ticker,
                       bool applier, bool readers)
{
	for (int j = 0; senders != 0; j++, senders >>= 1)
		if (senders & 1)
			pthread_cond_signal(&rf->peers[j].cond);
	if (ticker)
		pthread_cond_signal(&rf->ticker_cond);
	if (applier)
		pthread_cond_signal(&rf->applier_cond);
	if (readers)
		pthread_cond_broadcast(&rf->read_cond);
}

/* Takes the wake-ups owed: makes them, with mu held if release is false
 * (before waiting on a condition variable, which releases mu itself), or
 * after releasing mu. */
static void take_wakes(struct raft *rf, bool release)
{
	uint64_t senders = rf->wake_senders;
	bool ticker = rf->wake_ticker, applier = rf->wake_applier;
	bool readers = rf->wake_readers;
	rf->wake_senders = 0;
	rf->wake_ticker = rf->wake_applier = rf->wake_readers = false;
	if (release)
		pthread_mutex_unlock(&rf->mu);
	make_wakes(rf, senders, ticker, applier, readers);
}

/* Releases mu, then makes the wake-ups owed. */
static void raft_unlock(struct raft *rf)
{
	take_wakes(rf, true);
}

/* Waits on cond, which releases mu: the wake-ups owed are made first, as a
 * thread that sleeps on them would leave the threads they are for asleep
 * too. Every wait of a peer's threads goes through here or
 * wait_until_locked, so that none can forget them. */
static void wait_locked(struct raft *rf, pthread_cond_t *cond)
{
	take_wakes(rf, false);
	pthread_cond_wait(cond, &rf->mu);
}

/* As wait_locked, until deadline_ns of the lab clock at the latest: 0 if
 * woken before it, ETIMEDOUT after it. */
static int wait_until_locked(struct raft *rf, pthread_cond_t *cond,
                             int64_t deadline_ns)
{
	take_wakes(rf, false);
	return labtime_cond_wait_until(cond, &rf->mu, deadline_ns);
}

static void *sender_main(void *arg);

/* Hands work (already flagged in p) to one of p's sender threads, starting
 * one if none is idle and fewer than SENDERS_PER_PEER run. */
static void wake_sender(struct raft *rf, struct raft_peer *p)
{
	if (rf->dead)
		return;
	if (p->idle > 0) {
		if (p->id < 64)
			rf->wake_senders |= UINT64_C(1) << p->id;
		else
			pthread_cond_signal(&p->cond);
	} else if (p->nthreads < SENDERS_PER_PEER &&
	           pthread_create(&p->threads[p->nthreads], NULL, sender_main,
	                          p) == 0) {
		p->nthreads++;
	}
	/* Otherwise every thread is busy; the first to finish takes the work.
	 */
}

/*
 * Asks for an AppendEntries (or InstallSnapshot) to peer j, built when it is
 * sent, so one message carries everything asked for until then. It goes at
 * once, unless the latest call to j has not returned: then its sender sends
 * it when it does, or, if the call hangs, the ticker at j's heartbeat time.
 */
static void post_append(struct raft *rf, int j)
{
	if (!sends_to(rf, j))
		return;
	rf->peers[j].need_append = true;
	if (!rf->peers[j].awaiting)
		wake_sender(rf, &rf->peers[j]);
}

/* Sends an AppendEntries to peer j now, even if a call is under way. */
static void send_append_now(struct raft *rf, int j)
{
	if (!sends_to(rf, j))
		return;
	rf->peers[j].need_append = true;
	wake_sender(rf, &rf->peers[j]);
}

/*
 * Figure 2, All Servers: if an RPC request or response contains term T >
 * currentTerm, set currentTerm = T and convert to follower. Returns whether
 * the persistent state changed (the caller persists). A leader's election
 * timer starts when it stops leading: until then it heard from the leader.
 */
static bool become_follower(struct raft *rf, int term)
{
	bool changed = false;
	if (term > rf->current_term) {
		rf->current_term = term;
		rf->voted_for = NO_VOTE;
		changed = true;
	}
	if (rf->role != FOLLOWER)
		rlog(RLOG_LEADER, rf->me, rf->current_term, "%s -> follower",
		     rf->role == LEADER ? "leader" : "candidate");
	if (rf->role == LEADER) {
		reset_election_timer(rf);
		for (int j = 0; j < rf->npeers; j++)
			rf->peers[j].need_append = false;
		rf->learner = NO_LEARNER;
	}
	rf->role = FOLLOWER;
	rf->step_down_round = 0;
	rf->wake_readers = rf->readers > 0;
	return changed;
}

/*
 * Figure 2, Leaders: upon election, nextIndex = last log index + 1 and
 * matchIndex = 0 for every server, and send initial empty AppendEntries RPCs
 * (heartbeat) to each server at once.
 */
static void become_leader(struct raft *rf)
{
	rf->role = LEADER;
	rlog(RLOG_LEADER, rf->me, rf->current_term,
	     "became leader with %d votes, log (%d, %d], commit %d", rf->votes,
	     rf->snap_index, last_index(rf), rf->commit_index);
	int64_t now = labtime_now_ns();
	for (int j = 0; j < rf->npeers; j++) {
		rf->peers[j].next_index = last_index(rf) + 1;
		rf->peers[j].match_index = 0;
		rf->peers[j].ack_ns = now;
		send_append_now(rf, j);
	}
	rf->wake_ticker = true; /* now on heartbeat duty */
}

/*
 * Figure 2, Candidates: on conversion to candidate, increment currentTerm,
 * vote for self, reset the election timer and send RequestVote RPCs to all
 * other servers.
 */
static void start_election(struct raft *rf)
{
	rf->role = CANDIDATE;
	rf->current_term++;
	rf->voted_for = rf->me;
	rf->votes = 1;
	persist(rf);
	reset_election_timer(rf);
	rlog(RLOG_TIMER, rf->me, rf->current_term,
	     "election timeout: candidate, last log entry %d term %d",
	     last_index(rf), term_at(rf, last_index(rf)));
	if (is_majority(rf, rf->votes)) {
		become_leader(rf);
		return;
	}
	for (int j = 0; j < rf->npeers; j++) {
		if (j == rf->me || !is_member(rf, j))
			continue;
		rf->peers[j].vote_term = rf->current_term;
		wake_sender(rf, &rf->peers[j]);
	}
}

/* Figure 2, All Servers: if commitIndex > lastApplied, apply the next entry
 * (the applier does it). */
static void set_commit_index(struct raft *rf, int index)
{
	if (index <= rf->commit_index)
		return;
	rlog(RLOG_COMMIT, rf->me, rf->current_term, "commit index %d -> %d",
	     rf->commit_index, index);
	rf->commit_index = index;
	rf->wake_applier = true;
	rf->wake_readers = rf->readers > 0;
}

/*
 * Figure 2, Leaders 4 and §5.4.2: if there is an N > commitIndex with
 * log[N].term == currentTerm and matchIndex[i] >= N for a majority, set
 * commitIndex = N; entries of earlier terms are committed only indirectly
 * (Figure 8). The followers hear about it at once.
 */
static void leader_advance_commit(struct raft *rf)
{
	for (int n = last_index(rf);
	     n > rf->commit_index && term_at(rf, n) == rf->current_term; n--) {
		int count = is_member(rf, rf->me) ? 1 : 0;
		for (int j = 0; j < rf->npeers; j++)
			if (j != rf->me && is_member(rf, j) &&
			    rf->peers[j].match_index >= n)
				count++;
		if (!is_majority(rf, count))
			continue;
		set_commit_index(rf, n);
		for (int j = 0; j < rf->npeers; j++)
			post_append(rf, j);
		/* Thesis §4.2.2: a leader that removed itself steps down once
		 * the change is committed, here once the members know it is
		 * (the ticker sees to it): a successor could otherwise commit
		 * it only with an entry of its own term. */
		if (!is_member(rf, rf->me) &&
		    rf->commit_index >= rf->config_index &&
		    rf->step_down_round == 0) {
			rf->step_down_round = ++rf->read_round;
			rf->step_down_ns =
			        labtime_now_ns() + rf->election_min_ns;
			rf->wake_ticker = true;
		}
		return;
	}
}

/* A call of ours sent at sent_ns was answered now: remembers how long that
 * took, for leader_has_quorum. */
static void note_answer_time(struct raft *rf, int64_t sent_ns, int64_t now)
{
	int64_t period = SLOW_PERIOD_MS * MS_NS;
	if (now - rf->slow_period_ns >= period) {
		bool one = now - rf->slow_period_ns < 2 * period;
		rf->slowest[1] = one ? rf->slowest[0] : 0;
		rf->slowest[0] = 0;
		rf->slow_period_ns = now;
	}
	if (now - sent_ns > rf->slowest[0])
		rf->slowest[0] = now - sent_ns;
}

/* ---- RequestVote ---- */

/* §5.4.1: a log is more up-to-date if its last term is later, or if the
 * last terms are equal and it is longer. */
static bool candidate_log_ok(const struct raft *rf, int last_log_term,
                             int last_log_index)
{
	int my_term = term_at(rf, last_index(rf));
	return last_log_term > my_term ||
	       (last_log_term == my_term && last_log_index >= last_index(rf));
}

/*
 * Figure 2, RequestVote receiver: 1. reply false if term < currentTerm;
 * 2. grant if votedFor is null or candidateId and the candidate's log is at
 * least as up-to-date as ours (§5.4.1), and then reset the election timer.
 */
static void request_vote_handler(void *receiver, const void *vargs,
                                 void *vreply)
{
	struct raft *rf = receiver;
	const struct request_vote_args *args = vargs;
	struct request_vote_reply *reply = vreply;
	bool dirty = false;

	pthread_mutex_lock(&rf->mu);
	if (rf->dead || args->candidate >= rf->npeers)
		goto out;
	/* Part 3E: a candidate outside the configuration (a removed server
	 * that timed out) neither moves our term nor gets our vote. */
	if (!is_member(rf, args->candidate)) {
		reply->term = rf->current_term;
		rlog(RLOG_VOTE, rf->me, rf->current_term,
		     "ignored RequestVote of S%d, not in the configuration",
		     args->candidate);
		goto out;
	}
	if (args->term > rf->current_term)
		dirty = become_follower(rf, args->term);
	reply->term = rf->current_term;
	if (args->term < rf->current_term)
		goto out;
	if ((rf->voted_for == NO_VOTE || rf->voted_for == args->candidate) &&
	    candidate_log_ok(rf, args->last_log_term, args->last_log_index)) {
		if (rf->voted_for != args->candidate) {
			rf->voted_for = args->candidate;
			dirty = true;
		}
		reply->vote_granted = true;
		reset_election_timer(rf);
		rlog(RLOG_VOTE, rf->me, rf->current_term, "granted vote to S%d",
		     args->candidate);
	} else {
		rlog(RLOG_VOTE, rf->me, rf->current_term,
		     "denied vote to S%d (voted for %d, candidate's last entry "
		     "%d term %d)",
		     args->candidate, rf->voted_for, args->last_log_index,
		     args->last_log_term);
	}
out:
	if (dirty)
		persist(rf);
	raft_unlock(rf);
}

/* Figure 2, Candidates: if votes are received from a majority of servers,
 * become leader. A reply from an older election counts for nothing. */
static void handle_vote_reply(struct raft *rf, struct raft_peer *p,
                              const struct request_vote_args *args,
                              const struct request_vote_reply *reply)
{
	if (reply->term > rf->current_term) {
		if (become_follower(rf, reply->term))
			persist(rf);
		return;
	}
	if (rf->role != CANDIDATE || rf->current_term != args->term ||
	    !reply->vote_granted || p->granted_term == args->term ||
	    !is_member(rf, p->id))
		return;
	p->granted_term = args->term;
	rlog2(RLOG_VOTE, rf->me, rf->current_term, "got vote from S%d", p->id);
	if (is_majority(rf, ++rf->votes))
		become_leader(rf);
}

/* Sends one RequestVote for the current election to p (lock held on entry
 * and on return; released during the call). */
static void send_request_vote(struct raft *rf, struct raft_peer *p)
{
	struct request_vote_args args = {
	        .term = rf->current_term,
	        .candidate = rf->me,
	        .last_log_index = last_index(rf),
	        .last_log_term = term_at(rf, last_index(rf)),
	};
	struct request_vote_reply reply = {0};

	rlog2(RLOG_VOTE, rf->me, rf->current_term, "-> S%d: RequestVote",
	      p->id);
	int64_t sent_ns = labtime_now_ns();
	raft_unlock(rf);
	bool ok = labrpc_call(rf->ends[p->id], "Raft.RequestVote",
	                      &request_vote_args_type, &args,
	                      &request_vote_reply_type, &reply);
	pthread_mutex_lock(&rf->mu);
	if (ok && !rf->dead) {
		note_answer_time(rf, sent_ns, labtime_now_ns());
		handle_vote_reply(rf, p, &args, &reply);
	}
}

/* ---- AppendEntries ---- */

/* A leader's call to p, sent at sent_ns in read round round, was answered
 * in the leader's term: p is still with us (leader_has_quorum, and the
 * reads of rounds through round). */
static void note_answer(struct raft *rf, struct raft_peer *p, int64_t sent_ns,
                        uint64_t round)
{
	int64_t now = labtime_now_ns();
	p->ack_ns = now;
	note_answer_time(rf, sent_ns, now);
	if (round > p->read_acked) {
		p->read_acked = round;
		rf->wake_readers = rf->readers > 0;
		rf->wake_ticker |= rf->step_down_round != 0;
	}
}

/* Notes that an AppendEntries or InstallSnapshot call to p starts (which
 * postpones p's next heartbeat) and returns its number for call_end. */
static unsigned call_begin(struct raft_peer *p)
{
	p->awaiting = true;
	p->heartbeat_ns = labtime_now_ns() + p->rf->heartbeat_interval_ns;
	return ++p->calls;
}

static void call_end(struct raft_peer *p, unsigned call)
{
	if (call == p->calls)
		p->awaiting = false;
}

/*
 * Figure 2, AppendEntries receiver: 1. reply false if term < currentTerm;
 * 2. reply false if the log has no entry at prevLogIndex whose term matches
 * prevLogTerm (with the conflict hints of the fast log backup); 3. if an
 * existing entry conflicts with a new one (same index, different terms),
 * delete it and all that follow; 4. append any new entries not already in
 * the log; 5. if leaderCommit > commitIndex, set commitIndex =
 * min(leaderCommit, index of last new entry). Only a real conflict
 * truncates, so duplicated and reordered calls do no harm.
 */
static void append_entries_handler(void *receiver, const void *vargs,
                                   void *vreply)
{
	struct raft *rf = receiver;
	const struct append_entries_args *args = vargs;
	struct append_entries_reply *reply = vreply;
	bool dirty = false;

	pthread_mutex_lock(&rf->mu);
	if (rf->dead)
		goto out;
	if (args->term > rf->current_term)
		dirty = become_follower(rf, args->term);
	reply->term = rf->current_term;
	reply->log_len = last_index(rf) + 1;
	if (args->term < rf->current_term)
		goto out;
	/* A valid AppendEntries from the current leader: a candidate steps
	 * down (Figure 2, Candidates) and the election timer restarts. */
	become_follower(rf, args->term);
	reset_election_timer(rf);

	int prev = args->prev_log_index;
	if (prev > last_index(rf)) {
		reply->conflict_term = NO_TERM;
		reply->conflict_index = last_index(rf) + 1;
		rlog(RLOG_APPEND, rf->me, rf->current_term,
		     "rejected S%d: no entry at prev %d (log ends at %d)",
		     args->leader, prev, last_index(rf));
		goto out;
	}
	/* Entries up to snap_index are committed and covered by the snapshot,
	 * so they match the leader's; only later ones need checking. */
	if (prev >= rf->snap_index &&
	    term_at(rf, prev) != args->prev_log_term) {
		int term = term_at(rf, prev);
		int first = prev;
		while (first - 1 > rf->snap_index &&
		       term_at(rf, first - 1) == term)
			first--;
		reply->conflict_term = term;
		reply->conflict_index = first;
		rlog(RLOG_APPEND, rf->me, rf->current_term,
		     "rejected S%d: entry %d has term %d, not %d (term %d "
		     "starts at %d)",
		     args->leader, prev, term, args->prev_log_term, term,
		     first);
		goto out;
	}
	size_t i = 0;
	for (; i < args->nentries; i++) {
		int index = prev + 1 + (int)i;
		if (index <= rf->snap_index)
			continue;
		if (index > last_index(rf))
			break;
		if (term_at(rf, index) != args->entries[i].term) {
			rlog(RLOG_APPEND, rf->me, rf->current_term,
			     "conflict at %d: deleting (%d, %d]", index,
			     index - 1, last_index(rf));
			log_truncate_from(rf, index);
			break;
		}
	}
	if (i < args->nentries)
		dirty = true;
	for (; i < args->nentries; i++)
		log_push(rf,
		         (struct raft_entry){
		                 .term = args->entries[i].term,
		                 .config = args->entries[i].config,
		                 .command = copy_bytes(
		                         args->entries[i].command,
		                         args->entries[i].command_len),
		                 .command_len = args->entries[i].command_len,
		         });
	if (dirty)
		config_refresh(rf);
	if (args->nentries > 0)
		rlog2(RLOG_APPEND, rf->me, rf->current_term,
		      "from S%d: entries (%d, %d], log now ends at %d",
		      args->leader, prev, prev + (int)args->nentries,
		      last_index(rf));
	reply->success = true;
	reply->log_len = last_index(rf) + 1;
	if (args->leader_commit > rf->commit_index) {
		int last_new = prev + (int)args->nentries;
		set_commit_index(rf, args->leader_commit < last_new
		                             ? args->leader_commit
		                             : last_new);
	}
out:
	if (dirty)
		persist(rf);
	raft_unlock(rf);
}

/* Part 3E, as the leader: appends a configuration entry for members. */
static void append_config(struct raft *rf, uint64_t members)
{
	size_t len;
	uint8_t *bytes = encode_members(members, &len);
	log_push(rf, (struct raft_entry){
	                     .term = rf->current_term,
	                     .config = true,
	                     .command = bytes,
	                     .command_len = len,
	             });
	rf->members = members;
	rf->config_index = last_index(rf);
	rlog(RLOG_LEADER, rf->me, rf->current_term,
	     "configuration %#llx at entry %d", (unsigned long long)members,
	     rf->config_index);
	persist(rf);
	for (int j = 0; j < rf->npeers; j++)
		post_append(rf, j);
	leader_advance_commit(rf); /* a configuration of one commits alone */
}

/*
 * §6: a new server joins as a non-voting member until it has caught up.
 * The leader replicates to it in rounds, each through the last entry the
 * leader had when the round began; once a round takes less than an
 * election timeout, the server is close enough and the leader adds it.
 */
static void learner_progress(struct raft *rf, const struct raft_peer *p)
{
	if (p->id != rf->learner || p->match_index < rf->learner_target)
		return;
	int64_t now = labtime_now_ns();
	if (now - rf->learner_round_ns >= rf->election_min_ns) {
		rf->learner_target = last_index(rf);
		rf->learner_round_ns = now;
		return;
	}
	rf->learner = NO_LEARNER;
	append_config(rf, rf->members | bit(p->id));
}

/*
 * Fast log backup (the handout's XTerm/XIndex/XLen): after a rejection,
 * nextIndex skips a whole conflicting term at once. If the follower's log is
 * too short, nextIndex = its length; if the leader has entries of the
 * conflicting term, just after its last one; otherwise the first index of
 * that term in the follower's log.
 */
static int backed_up_next_index(const struct raft *rf,
                                const struct append_entries_args *args,
                                const struct append_entries_reply *reply)
{
	if (reply->conflict_term == NO_TERM)
		return reply->log_len;
	int i = args->prev_log_index < last_index(rf) ? args->prev_log_index
	                                              : last_index(rf);
	while (i > rf->snap_index && term_at(rf, i) > reply->conflict_term)
		i--;
	if (i >= rf->snap_index && term_at(rf, i) == reply->conflict_term)
		return i + 1;
	return reply->conflict_index;
}

/*
 * Figure 2, Leaders 3: on success update nextIndex and matchIndex for the
 * follower (never moving them back: replies may arrive out of order); on a
 * log inconsistency decrement nextIndex (here: fast backup) and retry. A
 * reply from an older term, or to a call whose prevLogIndex no longer matches
 * nextIndex, is stale and ignored.
 */
static void handle_append_reply(struct raft *rf, struct raft_peer *p,
                                const struct append_entries_args *args,
                                const struct append_entries_reply *reply,
                                int64_t sent_ns, uint64_t round)
{
	if (reply->term > rf->current_term) {
		if (become_follower(rf, reply->term))
			persist(rf);
		return;
	}
	if (rf->role != LEADER || rf->current_term != args->term ||
	    reply->term != args->term)
		return;
	note_answer(rf, p, sent_ns, round);
	if (reply->success) {
		int match = args->prev_log_index + (int)args->nentries;
		if (match > p->match_index)
			p->match_index = match;
		if (match + 1 > p->next_index)
			p->next_index = match + 1;
		leader_advance_commit(rf);
		if (rf->role != LEADER)
			return;
		learner_progress(rf, p);
		/* More to send, or a newer commit index to tell. */
		if (p->match_index < last_index(rf) ||
		    args->leader_commit < rf->commit_index)
			post_append(rf, p->id);
		return;
	}
	if (p->next_index != args->prev_log_index + 1)
		return;
	int next = backed_up_next_index(rf, args, reply);
	if (next > args->prev_log_index)
		next = args->prev_log_index;
	if (next < p->match_index + 1)
		next = p->match_index + 1;
	if (next < 1)
		next = 1;
	if (next != p->next_index) {
		rlog(RLOG_APPEND, rf->me, rf->current_term,
		     "S%d rejected prev %d: next index %d -> %d", p->id,
		     args->prev_log_index, p->next_index, next);
		p->next_index = next;
		post_append(rf, p->id);
	}
}

/* Figure 2, Leaders 3: if last log index >= nextIndex, send AppendEntries
 * with the entries from nextIndex (none: a heartbeat). Lock held on entry
 * and on return; released during the call. */
static void send_append_entries(struct raft *rf, struct raft_peer *p)
{
	int last = last_index(rf);
	int prev = p->next_index - 1;
	if (prev > last)
		prev = last;
	struct append_entries_args args = {
	        .term = rf->current_term,
	        .leader = rf->me,
	        .prev_log_index = prev,
	        .prev_log_term = term_at(rf, prev),
	        .nentries = (size_t)(last - prev),
	        .leader_commit = rf->commit_index,
	};
	struct append_entries_reply reply = {0};

	if (args.nentries > 0) {
		args.entries = xmalloc(args.nentries * sizeof *args.entries);
		for (size_t i = 0; i < args.nentries; i++) {
			const struct raft_entry *e =
			        entry_at(rf, prev + 1 + (int)i);
			args.entries[i] = (struct raft_entry){
			        .term = e->term,
			        .config = e->config,
			        .command =
			                copy_bytes(e->command, e->command_len),
			        .command_len = e->command_len,
			};
		}
	}
	rlog2(RLOG_APPEND, rf->me, rf->current_term,
	      "-> S%d: prev %d term %d, %zu entries, commit %d", p->id, prev,
	      args.prev_log_term, args.nentries, args.leader_commit);
	unsigned call = call_begin(p);
	int64_t sent_ns = labtime_now_ns();
	uint64_t round = rf->read_round;
	raft_unlock(rf);
	bool ok = labrpc_call(rf->ends[p->id], "Raft.AppendEntries",
	                      &append_entries_args_type, &args,
	                      &append_entries_reply_type, &reply);
	pthread_mutex_lock(&rf->mu);
	call_end(p, call);
	if (ok && !rf->dead)
		handle_append_reply(rf, p, &args, &reply, sent_ns, round);
	append_entries_args_release(&args);
}

/* ---- InstallSnapshot ---- */

/*
 * Figure 13, InstallSnapshot receiver (one chunk: offset 0, done): reply
 * immediately if term < currentTerm; ignore a snapshot no newer than ours;
 * if the log has the last included entry with its term, keep the entries
 * after it, else discard the whole log; save the snapshot and hand it to the
 * service (the applier delivers it unless the service is already past it).
 */
static void install_snapshot_handler(void *receiver, const void *vargs,
                                     void *vreply)
{
	struct raft *rf = receiver;
	const struct install_snapshot_args *args = vargs;
	struct install_snapshot_reply *reply = vreply;
	bool dirty = false;

	pthread_mutex_lock(&rf->mu);
	if (rf->dead)
		goto out;
	if (args->term > rf->current_term)
		dirty = become_follower(rf, args->term);
	reply->term = rf->current_term;
	if (args->term < rf->current_term)
		goto out;
	become_follower(rf, args->term);
	reset_election_timer(rf);

	int index = args->last_included_index;
	if (index <= rf->snap_index ||
	    (rf->npeers < 64 && (args->members >> rf->npeers) != 0))
		goto out;
	rlog(RLOG_SNAP, rf->me, rf->current_term,
	     "installing S%d's snapshot through %d (term %d), %zu bytes",
	     args->leader, index, args->last_included_term, args->data_len);
	log_compact(rf, index, args->last_included_term);
	rf->base_members = args->members;
	config_refresh(rf);
	free(rf->snapshot);
	rf->snapshot = copy_bytes(args->data, args->data_len);
	rf->snapshot_len = args->data_len;
	dirty = true;
	set_commit_index(rf, index);
	if (index > rf->last_applied) {
		rf->snapshot_pending = true;
		rf->wake_applier = true;
	}
out:
	if (dirty)
		persist(rf);
	raft_unlock(rf);
}

/* §7: after a successful InstallSnapshot the follower holds everything up
 * to the snapshot; the rest follows by AppendEntries. */
static void handle_snapshot_reply(struct raft *rf, struct raft_peer *p,
                                  const struct install_snapshot_args *args,
                                  const struct install_snapshot_reply *reply,
                                  int64_t sent_ns, uint64_t round)
{
	if (reply->term > rf->current_term) {
		if (become_follower(rf, reply->term))
			persist(rf);
		return;
	}
	if (rf->role != LEADER || rf->current_term != args->term ||
	    reply->term != args->term)
		return;
	note_answer(rf, p, sent_ns, round);
	if (args->last_included_index > p->match_index)
		p->match_index = args->last_included_index;
	if (args->last_included_index + 1 > p->next_index)
		p->next_index = args->last_included_index + 1;
	learner_progress(rf, p);
	post_append(rf, p->id);
}

/* §7: the leader sends its snapshot to a follower whose next entry it has
 * already discarded. Lock held on entry and on return. */
static void send_install_snapshot(struct raft *rf, struct raft_peer *p)
{
	struct install_snapshot_args args = {
	        .term = rf->current_term,
	        .leader = rf->me,
	        .last_included_index = rf->snap_index,
	        .last_included_term = rf->log[0].term,
	        .members = rf->base_members,
	        .data = copy_bytes(rf->snapshot, rf->snapshot_len),
	        .data_len = rf->snapshot_len,
	};
	struct install_snapshot_reply reply = {0};

	rlog(RLOG_SNAP, rf->me, rf->current_term,
	     "sending S%d the snapshot through %d (its next index is %d)",
	     p->id, rf->snap_index, p->next_index);
	unsigned call = call_begin(p);
	int64_t sent_ns = labtime_now_ns();
	uint64_t round = rf->read_round;
	raft_unlock(rf);
	bool ok = labrpc_call(rf->ends[p->id], "Raft.InstallSnapshot",
	                      &install_snapshot_args_type, &args,
	                      &install_snapshot_reply_type, &reply);
	install_snapshot_args_release(&args);
	pthread_mutex_lock(&rf->mu);
	call_end(p, call);
	if (ok && !rf->dead)
		handle_snapshot_reply(rf, p, &args, &reply, sent_ns, round);
}

/* ---- threads ---- */

/* A sender thread for one peer: sends whatever its flags ask for, one call
 * at a time, until the peer is killed. */
static void *sender_main(void *arg)
{
	struct raft_peer *p = arg;
	struct raft *rf = p->rf;

	pthread_mutex_lock(&rf->mu);
	while (!rf->dead) {
		if (rf->role == CANDIDATE && p->vote_term == rf->current_term) {
			p->vote_term = 0;
			send_request_vote(rf, p);
		} else if (rf->role == LEADER && p->need_append) {
			p->need_append = false;
			if (p->next_index <= rf->snap_index)
				send_install_snapshot(rf, p);
			else
				send_append_entries(rf, p);
		} else {
			p->idle++;
			wait_locked(rf, &p->cond);
			p->idle--;
		}
	}
	raft_unlock(rf);
	return NULL;
}

/*
 * Thesis §6.2 ("a leader steps down if an election timeout elapses without
 * a successful round of heartbeats to a majority of its cluster"): whether
 * a majority, counting the leader, answered lately. A leader cut off from
 * the majority thus stops accepting commands (which could never commit)
 * long before it hears of its successor, as the tester's one() would
 * otherwise give it one and wait two seconds for nothing. "Lately" is
 * QUORUM_MS, or twice the slowest answer of the last few seconds and a
 * heartbeat more where the network holds answers back (long reordering
 * delays them by up to 2.2 s), so that a leader still heard from does not
 * step down.
 */
static bool leader_has_quorum(const struct raft *rf, int64_t now)
{
	int64_t slow = rf->slowest[0] > rf->slowest[1] ? rf->slowest[0]
	                                               : rf->slowest[1];
	int64_t window = rf->quorum_window_ns;
	if (2 * slow + rf->heartbeat_interval_ns > window)
		window = 2 * slow + rf->heartbeat_interval_ns;
	int heard = is_member(rf, rf->me) ? 1 : 0;
	for (int j = 0; j < rf->npeers; j++)
		if (j != rf->me && is_member(rf, j) &&
		    now - rf->peers[j].ack_ns < window)
			heard++;
	return is_majority(rf, heard);
}

/* Whether a leader that committed its own removal has told every member,
 * or waited long enough (leader_advance_commit). */
static bool removed_and_told(const struct raft *rf, int64_t now)
{
	if (rf->step_down_round == 0)
		return false;
	if (now >= rf->step_down_ns)
		return true;
	for (int j = 0; j < rf->npeers; j++)
		if (j != rf->me && is_member(rf, j) &&
		    rf->peers[j].read_acked < rf->step_down_round)
			return false;
	return true;
}

/*
 * Figure 2, Followers and Candidates: if the election timeout elapses
 * without hearing from the current leader or granting a vote, start a new
 * election. Leaders: send heartbeats during idle periods to prevent election
 * timeouts (§5.2): to each peer that has been sent nothing for HEARTBEAT_MS,
 * even if calls to it hang (only a new call can find it reachable again);
 * and step down without a quorum (leader_has_quorum).
 */
static void *ticker_main(void *arg)
{
	struct raft *rf = arg;

	pthread_mutex_lock(&rf->mu);
	while (!rf->dead) {
		int64_t now = labtime_now_ns();
		if (rf->role == LEADER && !leader_has_quorum(rf, now)) {
			rlog(RLOG_LEADER, rf->me, rf->current_term,
			     "no majority answered lately: stepping down");
			become_follower(rf, rf->current_term);
		} else if (rf->role == LEADER && removed_and_told(rf, now)) {
			rlog(RLOG_LEADER, rf->me, rf->current_term,
			     "removed from the configuration: stepping down");
			become_follower(rf, rf->current_term);
		} else if (rf->role == LEADER) {
			int64_t wake = now + rf->heartbeat_interval_ns;
			if (rf->step_down_round != 0 && rf->step_down_ns < wake)
				wake = rf->step_down_ns;
			if (rf->learner != NO_LEARNER &&
			    now >= rf->learner_deadline_ns) {
				rlog(RLOG_LEADER, rf->me, rf->current_term,
				     "S%d did not catch up in time: not added",
				     rf->learner);
				rf->learner = NO_LEARNER;
			}
			for (int j = 0; j < rf->npeers; j++) {
				struct raft_peer *p = &rf->peers[j];
				if (!sends_to(rf, j))
					continue;
				if (now >= p->heartbeat_ns) {
					/* once per interval, even if no sender
					 * is free */
					p->heartbeat_ns =
					        now + rf->heartbeat_interval_ns;
					send_append_now(rf, j);
				} else if (p->heartbeat_ns < wake) {
					wake = p->heartbeat_ns;
				}
			}
			wait_until_locked(rf, &rf->ticker_cond, wake);
		} else if (now >= rf->election_deadline_ns) {
			if (is_member(rf, rf->me))
				start_election(rf);
			else /* part 3E: not in the configuration */
				reset_election_timer(rf);
		} else {
			wait_until_locked(rf, &rf->ticker_cond,
			                  rf->election_deadline_ns);
		}
	}
	raft_unlock(rf);
	return NULL;
}

/* The apply message of configuration entry e at index. */
static struct raft_apply_msg *config_message(const struct raft_entry *e,
                                             int index)
{
	uint64_t members = 0;
	int list[64], n = 0;
	decode_members(e->command, e->command_len, &members);
	for (int j = 0; j < 64; j++)
		if (members & bit(j))
			list[n++] = j;
	return raft_apply_msg_config(list, n, index);
}

/*
 * Figure 2, All Servers: if commitIndex > lastApplied, increment lastApplied
 * and apply log[lastApplied]; an installed snapshot newer than lastApplied
 * goes first and moves lastApplied to its index (§7), so the service never
 * moves backwards. The only thread that sends on the apply channel, always
 * without the lock (the service may call raft_snapshot meanwhile).
 */
static void *applier_main(void *arg)
{
	struct raft *rf = arg;

	pthread_mutex_lock(&rf->mu);
	while (!rf->dead) {
		struct raft_apply_msg *msg = NULL;
		if (rf->snapshot_pending) {
			rf->snapshot_pending = false;
			if (rf->snap_index <= rf->last_applied)
				continue;
			msg = raft_apply_msg_snapshot(
			        rf->snapshot, rf->snapshot_len, rf->log[0].term,
			        rf->snap_index);
			rlog(RLOG_APPLY, rf->me, rf->current_term,
			     "delivering the snapshot through %d",
			     rf->snap_index);
			rf->last_applied = rf->snap_index;
		} else if (rf->last_applied < rf->commit_index) {
			int index = ++rf->last_applied;
			const struct raft_entry *e = entry_at(rf, index);
			if (e->config)
				msg = config_message(e, index);
			else
				msg = raft_apply_msg_command(
				        e->command, e->command_len, index);
			rlog2(RLOG_APPLY, rf->me, rf->current_term,
			      "delivering entry %d", index);
		} else {
			wait_locked(rf, &rf->applier_cond);
			continue;
		}
		raft_unlock(rf);
		int err = chan_send(rf->apply_ch, msg);
		pthread_mutex_lock(&rf->mu);
		if (err != CHAN_OK) {
			raft_apply_msg_free(msg);
			break;
		}
	}
	raft_unlock(rf);
	return NULL;
}

/* ---- the API ---- */

/* raft_timing_set's settings, which raft_make copies into each peer. */
#define DEFAULT_TIMING                                                         \
	{                                                                      \
		ELECTION_TIMEOUT_MIN_MS,                                       \
		        ELECTION_TIMEOUT_MIN_MS + ELECTION_TIMEOUT_SPAN_MS,    \
		        HEARTBEAT_MS                                           \
	}
static struct raft_timing timing = DEFAULT_TIMING;
static bool timing_is_default = true;

int raft_timing_set(const struct raft_timing *t)
{
	static const struct raft_timing defaults = DEFAULT_TIMING;
	if (t && (t->election_timeout_min_ms < 1 ||
	          t->election_timeout_max_ms < t->election_timeout_min_ms ||
	          t->heartbeat_ms < 1))
		return -EINVAL;
	timing = t ? *t : defaults;
	timing_is_default = timing.election_timeout_min_ms ==
	                            defaults.election_timeout_min_ms &&
	                    timing.election_timeout_max_ms ==
	                            defaults.election_timeout_max_ms &&
	                    timing.heartbeat_ms == defaults.heartbeat_ms;
	return 0;
}

/* Fixes rf's timing: the defaults draw whole milliseconds, as they always
 * have; other settings draw microseconds. */
static void timing_copy(struct raft *rf)
{
	rf->election_min_ns = timing.election_timeout_min_ms * MS_NS;
	rf->election_span_ns = (timing.election_timeout_max_ms -
	                        timing.election_timeout_min_ms) *
	                       MS_NS;
	rf->election_step_ns = timing_is_default ? MS_NS : MS_NS / 1000;
	rf->heartbeat_interval_ns = timing.heartbeat_ms * MS_NS;
	rf->quorum_window_ns =
	        QUORUM_MS * rf->heartbeat_interval_ns / HEARTBEAT_MS;
}

/* A peer whose configuration, unless its persister holds one, is members. */
static struct raft *make_peer(struct labrpc_end **peers, int npeers, int me,
                              struct persister *persister,
                              struct chan *apply_ch, uint64_t members)
{
	struct raft *rf = calloc(1, sizeof *rf);
	int ncond = 0;
	size_t len;

	if (!rf)
		return NULL;
	rf->base_members = rf->members = members;
	rf->learner = NO_LEARNER;
	rf->ends = peers;
	rf->npeers = npeers;
	rf->me = me;
	rf->persister = persister;
	rf->apply_ch = apply_ch;
	rf->voted_for = NO_VOTE;
	rf->role = FOLLOWER;
	codec_buf_init(&rf->enc);
	timing_copy(rf);
	/* The test's seed, when it gives one, so that a replay draws the
	 * same timeouts; each peer its own stream. */
	prng_seed(&rf->prng,
	          labrpc_seed_from_env() ^
	                  (UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(me + 1)));

	if (pthread_mutex_init(&rf->mu, NULL) != 0)
		goto free_rf;
	if (labtime_cond_init(&rf->ticker_cond) != 0)
		goto destroy_mu;
	if (labtime_cond_init(&rf->applier_cond) != 0)
		goto destroy_ticker_cond;
	if (labtime_cond_init(&rf->read_cond) != 0)
		goto destroy_applier_cond;
	rf->peers = calloc((size_t)npeers, sizeof *rf->peers);
	if (!rf->peers)
		goto destroy_read_cond;
	for (; ncond < npeers; ncond++) {
		rf->peers[ncond].rf = rf;
		rf->peers[ncond].id = ncond;
		if (labtime_cond_init(&rf->peers[ncond].cond) != 0)
			goto destroy_peer_conds;
	}

	/* Restart from the persisted state; the service has already restored
	 * the snapshot, so it is not delivered again. */
	log_reserve(rf, 16);
	rf->log[0] = (struct raft_entry){0};
	rf->log_len = 1;
	uint8_t *state = persister_read_raft_state(persister, &len);
	int err = restore(rf, state, len);
	free(state);
	if (err != CODEC_OK) {
		fprintf(stderr, "raft %d: corrupt persisted state: %s\n", me,
		        codec_strerror(err));
		goto free_log;
	}
	rf->snapshot = persister_read_snapshot(persister, &rf->snapshot_len);
	if (rf->snapshot_len == 0) {
		free(rf->snapshot);
		rf->snapshot = NULL;
	}
	rf->commit_index = rf->snap_index;
	rf->last_applied = rf->snap_index;
	reset_election_timer(rf);
	rlog(RLOG_PERSIST, me, rf->current_term,
	     "started: voted for %d, log (%d, %d], snapshot %zu bytes",
	     rf->voted_for, rf->snap_index, last_index(rf), rf->snapshot_len);

	/* The threads start under the lock, so that if the second cannot be
	 * made the first sees dead before doing anything. */
	pthread_mutex_lock(&rf->mu);
	if (pthread_create(&rf->ticker, NULL, ticker_main, rf) != 0) {
		raft_unlock(rf);
		goto free_log;
	}
	if (pthread_create(&rf->applier, NULL, applier_main, rf) != 0) {
		rf->dead = true;
		raft_unlock(rf);
		pthread_join(rf->ticker, NULL);
		goto free_log;
	}
	raft_unlock(rf);
	return rf;

free_log:
	for (size_t i = 0; i < rf->log_len; i++)
		free(rf->log[i].command);
	free(rf->log);
	codec_buf_free(&rf->enc);
	free(rf->snapshot);
destroy_peer_conds:
	while (ncond-- > 0)
		pthread_cond_destroy(&rf->peers[ncond].cond);
	free(rf->peers);
destroy_read_cond:
	pthread_cond_destroy(&rf->read_cond);
destroy_applier_cond:
	pthread_cond_destroy(&rf->applier_cond);
destroy_ticker_cond:
	pthread_cond_destroy(&rf->ticker_cond);
destroy_mu:
	pthread_mutex_destroy(&rf->mu);
free_rf:
	free(rf);
	return NULL;
}

struct raft *raft_make(struct labrpc_end **peers, int npeers, int me,
                       struct persister *persister, struct chan *apply_ch)
{
	if (npeers > RAFT_MAX_SERVERS) {
		fprintf(stderr, "raft_make: %d peers, at most %d\n", npeers,
		        RAFT_MAX_SERVERS);
		return NULL;
	}
	uint64_t all = npeers == 64 ? UINT64_MAX : bit(npeers) - 1;
	return make_peer(peers, npeers, me, persister, apply_ch, all);
}

struct raft *raft_make_member(struct labrpc_end **peers, int npeers, int me,
                              struct persister *persister,
                              struct chan *apply_ch, const int *members,
                              int nmembers)
{
	uint64_t set = 0;
	if (npeers > RAFT_MAX_SERVERS) {
		fprintf(stderr, "raft_make_member: %d peers, at most %d\n",
		        npeers, RAFT_MAX_SERVERS);
		return NULL;
	}
	for (int k = 0; k < nmembers; k++) {
		if (members[k] < 0 || members[k] >= npeers) {
			fprintf(stderr,
			        "raft_make_member: member %d is not a peer "
			        "(0..%d)\n",
			        members[k], npeers - 1);
			return NULL;
		}
		set |= bit(members[k]);
	}
	return make_peer(peers, npeers, me, persister, apply_ch, set);
}

/*
 * Figure 2, Leaders 2: if a command is received from the client, append the
 * entry to the local log (persisted before it counts towards a majority)
 * and replicate it at once; the reply comes later, on the apply channel.
 */
struct raft_start_result raft_start(struct raft *rf, const void *command,
                                    size_t len)
{
	struct raft_start_result res = {.index = -1, .term = 0};

	pthread_mutex_lock(&rf->mu);
	res.term = rf->current_term;
	if (!rf->dead && rf->role == LEADER && rf->step_down_round == 0) {
		log_append(rf, rf->current_term, command, len);
		persist(rf);
		res.index = last_index(rf);
		res.is_leader = true;
		rlog2(RLOG_LEADER, rf->me, rf->current_term,
		      "start: entry %d, %zu bytes", res.index, len);
		for (int j = 0; j < rf->npeers; j++)
			post_append(rf, j);
		leader_advance_commit(rf); /* a cluster of one commits alone */
	}
	raft_unlock(rf);
	return res;
}

void raft_get_state(struct raft *rf, int *term, bool *is_leader)
{
	pthread_mutex_lock(&rf->mu);
	*term = rf->current_term;
	*is_leader = rf->role == LEADER && !rf->dead;
	raft_unlock(rf);
}

/* Whether the peers that answered a call of read round round, with this
 * leader, make a majority. */
static bool read_round_confirmed(const struct raft *rf, uint64_t round)
{
	int count = is_member(rf, rf->me) ? 1 : 0;
	for (int j = 0; j < rf->npeers; j++)
		if (j != rf->me && is_member(rf, j) &&
		    rf->peers[j].read_acked >= round)
			count++;
	return is_majority(rf, count);
}

/*
 * §8 (thesis §6.4, "ReadIndex"): a leader first commits an entry of its
 * term, so that its commit index is at least any earlier leader's; it
 * takes that commit index as the read index; then a round of heartbeats,
 * sent after the read arrived and answered by a majority, shows that no
 * newer leader had been elected when the read arrived. Waits for each step
 * with mu released; leadership lost meanwhile ends the wait.
 */
enum raft_read_status raft_read_index(struct raft *rf, int *index)
{
	enum raft_read_status status = RAFT_READ_NOT_LEADER;

	pthread_mutex_lock(&rf->mu);
	int term = rf->current_term;
	int64_t deadline = labtime_now_ns() + READ_LIMIT_MS * MS_NS;
	if (rf->dead || rf->role != LEADER)
		goto out;
	if (term_at(rf, last_index(rf)) != term) {
		status = RAFT_READ_NO_ENTRY;
		goto out;
	}
	rf->readers++;
	int read_index = 0;
	uint64_t round = 0; /* 0 until the round of heartbeats is asked for */
	const char *why = NULL;
	for (;;) {
		if (rf->dead || rf->role != LEADER ||
		    rf->current_term != term) {
			why = "leadership lost";
			break;
		}
		if (term_at(rf, rf->commit_index) == term) {
			if (round == 0) {
				read_index = rf->commit_index;
				round = ++rf->read_round;
				for (int j = 0; j < rf->npeers; j++)
					post_append(rf, j);
			}
			if (read_round_confirmed(rf, round)) {
				*index = read_index;
				status = RAFT_READ_OK;
				break;
			}
		}
		if (wait_until_locked(rf, &rf->read_cond, deadline) != 0) {
			why = "no majority in time";
			break;
		}
	}
	rf->readers--;
	if (status == RAFT_READ_OK)
		rlog2(RLOG_LEADER, rf->me, term, "read index %d (round %llu)",
		      read_index, (unsigned long long)round);
	else
		rlog(RLOG_LEADER, rf->me, rf->current_term,
		     "read of term %d not confirmed: %s", term, why);
out:
	raft_unlock(rf);
	return status;
}

/* ---- part 3E: membership changes ---- */

/* Why a leader cannot start a change now, or RAFT_CHANGE_STARTED if it
 * can: one change at a time, each once the last is committed and the
 * leader has committed an entry of its term (thesis §4.1). */
static enum raft_change_status change_allowed(const struct raft *rf, int server)
{
	if (rf->dead || rf->role != LEADER)
		return RAFT_CHANGE_NOT_LEADER;
	if (server < 0 || server >= rf->npeers)
		return RAFT_CHANGE_INVALID;
	if (rf->learner != NO_LEARNER || rf->config_index > rf->commit_index ||
	    term_at(rf, rf->commit_index) != rf->current_term)
		return RAFT_CHANGE_BUSY;
	return RAFT_CHANGE_STARTED;
}

enum raft_change_status raft_add_server(struct raft *rf, int server)
{
	pthread_mutex_lock(&rf->mu);
	enum raft_change_status st = change_allowed(rf, server);
	if (st == RAFT_CHANGE_STARTED && is_member(rf, server))
		st = RAFT_CHANGE_INVALID;
	if (st == RAFT_CHANGE_STARTED) {
		int64_t now = labtime_now_ns();
		struct raft_peer *p = &rf->peers[server];
		rf->learner = server;
		rf->learner_target = last_index(rf);
		rf->learner_round_ns = now;
		rf->learner_deadline_ns = now + CATCH_UP_LIMIT_MS * MS_NS;
		p->next_index = last_index(rf) + 1;
		p->match_index = 0;
		p->ack_ns = now;
		rlog(RLOG_LEADER, rf->me, rf->current_term,
		     "adding S%d: catching it up through %d", server,
		     rf->learner_target);
		send_append_now(rf, server);
	}
	raft_unlock(rf);
	return st;
}

enum raft_change_status raft_remove_server(struct raft *rf, int server)
{
	pthread_mutex_lock(&rf->mu);
	enum raft_change_status st = change_allowed(rf, server);
	if (st == RAFT_CHANGE_STARTED &&
	    (!is_member(rf, server) || rf->members == bit(server)))
		st = RAFT_CHANGE_INVALID;
	if (st == RAFT_CHANGE_STARTED) {
		rlog(RLOG_LEADER, rf->me, rf->current_term, "removing S%d",
		     server);
		append_config(rf, rf->members & ~bit(server));
	}
	raft_unlock(rf);
	return st;
}

int raft_get_config(struct raft *rf, int *members, int max)
{
	int n = 0;
	pthread_mutex_lock(&rf->mu);
	for (int j = 0; j < rf->npeers; j++) {
		if (!is_member(rf, j))
			continue;
		if (n < max)
			members[n] = j;
		n++;
	}
	raft_unlock(rf);
	return n;
}

/*
 * §7: the service snapshotted everything through index: discard the log up
 * to it and save the snapshot with the state. An index the snapshot already
 * covers, or one not yet applied, is ignored.
 */
void raft_snapshot(struct raft *rf, int index, const void *snapshot, size_t len)
{
	pthread_mutex_lock(&rf->mu);
	if (!rf->dead && index > rf->snap_index && index <= rf->last_applied &&
	    index <= rf->commit_index) {
		rlog(RLOG_SNAP, rf->me, rf->current_term,
		     "service snapshot through %d, %zu bytes; log was (%d, %d]",
		     index, len, rf->snap_index, last_index(rf));
		rf->base_members = members_at(rf, index, NULL);
		log_compact(rf, index, term_at(rf, index));
		free(rf->snapshot);
		rf->snapshot = copy_bytes(snapshot, len);
		rf->snapshot_len = len;
		persist(rf);
	}
	raft_unlock(rf);
}

void raft_kill(struct raft *rf)
{
	pthread_mutex_lock(&rf->mu);
	if (!rf->dead)
		rlog(RLOG_INFO, rf->me, rf->current_term, "killed");
	rf->dead = true;
	bool join = !rf->joined;
	rf->joined = true;
	pthread_cond_broadcast(&rf->ticker_cond);
	pthread_cond_broadcast(&rf->applier_cond);
	pthread_cond_broadcast(&rf->read_cond);
	for (int j = 0; j < rf->npeers; j++)
		pthread_cond_broadcast(&rf->peers[j].cond);
	raft_unlock(rf);
	if (!join)
		return;

	pthread_join(rf->ticker, NULL);
	pthread_join(rf->applier, NULL);
	/* No thread starts once dead is set, so nthreads is final. */
	for (int j = 0; j < rf->npeers; j++)
		for (int t = 0; t < rf->peers[j].nthreads; t++)
			pthread_join(rf->peers[j].threads[t], NULL);
}

void raft_free(struct raft *rf)
{
	if (!rf)
		return;
	for (size_t i = 0; i < rf->log_len; i++)
		free(rf->log[i].command);
	free(rf->log);
	codec_buf_free(&rf->enc);
	free(rf->snapshot);
	for (int j = 0; j < rf->npeers; j++)
		pthread_cond_destroy(&rf->peers[j].cond);
	free(rf->peers);
	pthread_cond_destroy(&rf->read_cond);
	pthread_cond_destroy(&rf->applier_cond);
	pthread_cond_destroy(&rf->ticker_cond);
	pthread_mutex_destroy(&rf->mu);
	free(rf);
}

static const struct labrpc_method raft_methods[] = {
        {"RequestVote", &request_vote_args_type, &request_vote_reply_type,
         request_vote_handler},
        {"AppendEntries", &append_entries_args_type, &append_entries_reply_type,
         append_entries_handler},
        {"InstallSnapshot", &install_snapshot_args_type,
         &install_snapshot_reply_type, install_snapshot_handler},
};

const struct labrpc_service_def raft_service = {"Raft", raft_methods, 3};
