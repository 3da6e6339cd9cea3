/*
 * raft.c: YOUR Raft implementation (Lab 3). This is the starting point handed
 * to students: it compiles against raft/raft.h and runs, but elects no leader
 * and commits nothing, so every graded test fails until you fill it in.
 *
 * The contract is raft/raft.h: read it first. A peer talks to the others only
 * through labrpc_call on peers[j], keeps durable state only in its persister,
 * and delivers committed commands on apply_ch. Look for "Your code here".
 */
#include "raft/raft.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "labtime/labtime.h"
#include "prng/prng.h"

/* A Go-style "server state"; extend it as you need. */
struct raft {
	pthread_mutex_t mu;    /* guards the fields below that threads share */
	pthread_cond_t wakeup; /* made with labtime_cond_init: timed waits */
	struct labrpc_end **peers;
	int npeers;
	int me; /* this peer's index into peers[] */
	struct persister *persister;
	struct chan *apply_ch;
	atomic_bool dead; /* set by raft_kill */
	struct prng rng;  /* this peer's random numbers (guarded by mu) */
	pthread_t ticker;

	/* Your data here (3A, 3B, 3C).
	 * Look at the paper's Figure 2 for a description of what state a Raft
	 * server must maintain. */
};

static bool killed(struct raft *rf)
{
	return atomic_load(&rf->dead);
}

/* ---- RPC messages ----
 *
 * Everything that crosses labrpc is encoded: each argument and reply struct
 * needs a struct codec_type saying how to encode and decode it. Every field
 * you add must be encoded and decoded, in the same order.
 */

/* Example RequestVote RPC arguments structure. */
struct request_vote_args {
	/* Your data here (3A, 3B). */
	int term;
};

/* Example RequestVote RPC reply structure. */
struct request_vote_reply {
	/* Your data here (3A). */
	int term;
};

static void request_vote_args_encode(struct codec_buf *b, const void *value)
{
	const struct request_vote_args *a = value;
	codec_put_varint(b, a->term);
}

static int request_vote_args_decode(struct codec_reader *r, void *value)
{
	struct request_vote_args *a = value;
	return codec_get_int(r, &a->term);
}

static void request_vote_reply_encode(struct codec_buf *b, const void *value)
{
	const struct request_vote_reply *a = value;
	codec_put_varint(b, a->term);
}

static int request_vote_reply_decode(struct codec_reader *r, void *value)
{
	struct request_vote_reply *a = value;
	return codec_get_int(r, &a->term);
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

/* Example RequestVote RPC handler. It runs on a network thread with a private
 * decoded copy of the arguments and a zeroed reply to fill in. */
static void request_vote(void *receiver, const void *args, void *reply)
{
	struct raft *rf = receiver;
	const struct request_vote_args *a = args;
	struct request_vote_reply *r = reply;
	(void)rf;
	(void)a;
	(void)r;
	/* Your code here (3A, 3B). */
}

/*
 * Example code to send a RequestVote RPC to a server. server is the index of
 * the target server in rf->peers[]. Fill in args; reply must be zeroed.
 *
 * labrpc_call returns true if a reply arrived. It returns false after a
 * timeout-like delay if the server is dead, unreachable, or the request or
 * its reply was lost; it can take up to 7 seconds in the Raft tests. Do not
 * hold rf->mu while calling it. Never add your own timeout around it.
 */
__attribute__((unused)) /* remove once you call it */
static bool
send_request_vote(struct raft *rf, int server,
                  const struct request_vote_args *args,
                  struct request_vote_reply *reply)
{
	return labrpc_call(rf->peers[server], "Raft.RequestVote",
	                   &request_vote_args_type, args,
	                   &request_vote_reply_type, reply);
}

/* The RPC methods the tester registers for every peer. Add AppendEntries
 * (3B) and InstallSnapshot (3D) here. */
static const struct labrpc_method raft_methods[] = {
        {"RequestVote", &request_vote_args_type, &request_vote_reply_type,
         request_vote},
};

const struct labrpc_service_def raft_service = {
        "Raft",
        raft_methods,
        sizeof raft_methods / sizeof raft_methods[0],
};

/* ---- persistence ---- */

/*
 * Saves Raft's persistent state to stable storage, where it can later be
 * retrieved after a crash and restart. See the paper's Figure 2 for a
 * description of what should be persistent. Before you implement snapshots,
 * pass NULL as the snapshot; after, pass the current snapshot (a NULL
 * snapshot ERASES the saved one).
 */
__attribute__((unused)) /* remove once you call it */
static void
persist(struct raft *rf)
{
	/* Your code here (3C). Example:
	 * struct codec_buf b = { 0 };
	 * codec_put_varint(&b, rf->current_term);
	 * codec_put_varint(&b, rf->voted_for);
	 * persister_save(rf->persister, b.data, b.len, NULL, 0);
	 * codec_buf_free(&b);
	 */
	(void)rf;
}

/* Restores previously persisted state. */
static void read_persist(struct raft *rf, const uint8_t *data, size_t len)
{
	if (len == 0) /* bootstrap without any state */
		return;
	/* Your code here (3C). Example:
	 * struct codec_reader r;
	 * codec_reader_init(&r, data, len);
	 * codec_get_int(&r, &rf->current_term);
	 * codec_get_int(&r, &rf->voted_for);
	 * if (codec_finish(&r) != CODEC_OK) { ... report and abort ... }
	 */
	(void)rf;
	(void)data;
}

/* ---- the API ---- */

void raft_get_state(struct raft *rf, int *term, bool *is_leader)
{
	/* Your code here (3A). */
	(void)rf;
	*term = 0;
	*is_leader = false;
}

/*
 * Optional, beyond 3A-3D (raft.h, "reads without the log"): confirm that
 * this peer is still leader for a read the service will answer from its
 * own state, as the paper's §8 describes. Lab 4 does not require it: while
 * this returns RAFT_READ_NOT_LEADER, put Gets through the log with
 * raft_start. The tests beyond the Go suite that check reads add no log
 * entries (TestReadIndex...4A) need it.
 */
enum raft_read_status raft_read_index(struct raft *rf, int *index)
{
	/* Your code here (optional, 4A). */
	(void)rf;
	(void)index;
	return RAFT_READ_NOT_LEADER;
}

/*
 * The service says it has created a snapshot that has all info up to and
 * including index. This means the service no longer needs the log through
 * (and including) that index. Raft should now trim its log as much as
 * possible.
 */
void raft_snapshot(struct raft *rf, int index, const void *snapshot, size_t len)
{
	/* Your code here (3D). */
	(void)rf;
	(void)index;
	(void)snapshot;
	(void)len;
}

/*
 * The service using Raft (e.g. a k/v server) wants to start agreement on the
 * next command to be appended to Raft's log. If this server isn't the leader,
 * returns is_leader = false. Otherwise start the agreement and return
 * immediately. There is no guarantee that this command will ever be committed
 * to the Raft log, since the leader may fail or lose an election. Even if the
 * Raft instance has been killed, this function should return gracefully.
 *
 * The first return value is the index that the command will appear at if
 * it's ever committed. The second is the current term. The third is true if
 * this server believes it is the leader.
 */
struct raft_start_result raft_start(struct raft *rf, const void *command,
                                    size_t len)
{
	struct raft_start_result res = {
	        .index = -1, .term = -1, .is_leader = true};
	/* Your code here (3B). */
	(void)rf;
	(void)command;
	(void)len;
	return res;
}

/*
 * The tester doesn't halt threads created by Raft after each test; it calls
 * raft_kill(). Your code can use killed() to check whether raft_kill() has
 * been called. When raft_kill returns, every thread this peer started must
 * have exited: wake them (broadcast your condition variables) and join them.
 */
void raft_kill(struct raft *rf)
{
	pthread_mutex_lock(&rf->mu);
	atomic_store(&rf->dead, true);
	pthread_cond_broadcast(&rf->wakeup);
	pthread_mutex_unlock(&rf->mu);
	pthread_join(rf->ticker, NULL);
	/* Your code here, if desired. */
}

void raft_free(struct raft *rf)
{
	/* Free whatever your code allocated. */
	pthread_cond_destroy(&rf->wakeup);
	pthread_mutex_destroy(&rf->mu);
	free(rf);
}

static void *ticker(void *arg)
{
	struct raft *rf = arg;
	pthread_mutex_lock(&rf->mu);
	while (!killed(rf)) {
		/* Your code here (3A).
		 * Check if a leader election should be started. */

		/* Pause for a random amount of time between 50 and 350
		 * milliseconds (waking at once when killed). */
		int64_t ms = 50 + prng_below(&rf->rng, 300);
		int64_t deadline = labtime_now_ns() + ms * 1000000;
		while (!killed(rf) && labtime_now_ns() < deadline)
			labtime_cond_wait_until(&rf->wakeup, &rf->mu, deadline);
	}
	pthread_mutex_unlock(&rf->mu);
	return NULL;
}

/*
 * The service or tester wants to create a Raft server. The ports of all the
 * Raft servers (including this one) are in peers[]. This server's port is
 * peers[me]. All the servers' peers[] arrays have the same order. persister
 * is a place for this server to save its persistent state, and also
 * initially holds the most recent saved state, if any. apply_ch is a channel
 * on which the tester or service expects Raft to send apply messages.
 * raft_make must return quickly, so it should start threads for any
 * long-running work.
 */
struct raft *raft_make(struct labrpc_end **peers, int npeers, int me,
                       struct persister *persister, struct chan *apply_ch)
{
	struct raft *rf = calloc(1, sizeof *rf);
	if (!rf) {
		fprintf(stderr, "raft_make: out of memory\n");
		abort();
	}
	pthread_mutex_init(&rf->mu, NULL);
	labtime_cond_init(&rf->wakeup);
	rf->peers = peers;
	rf->npeers = npeers;
	rf->me = me;
	rf->persister = persister;
	rf->apply_ch = apply_ch;
	prng_seed(&rf->rng, prng_entropy_seed() ^ (uint64_t)me);

	/* Your initialization code here (3A, 3B, 3C). */

	/* initialize from state persisted before a crash */
	size_t len;
	uint8_t *state = persister_read_raft_state(persister, &len);
	read_persist(rf, state, len);
	free(state);

	/* start ticker thread to start elections */
	pthread_create(&rf->ticker, NULL, ticker, rf);
	return rf;
}

/* ---- Optional, part 3E: cluster membership changes ----
 *
 * raft.h's last section says what each function must do: one server at a
 * time (the Raft thesis, §4), a new server catching up before it votes, a
 * removed leader stepping down once the change commits, removed servers
 * unable to disrupt the cluster. Until you write them, the 3E tests fail
 * (build/default/membership_test -run 3E) and 3A-3D are unaffected.
 */

struct raft *raft_make_member(struct labrpc_end **peers, int npeers, int me,
                              struct persister *persister,
                              struct chan *apply_ch, const int *members,
                              int nmembers)
{
	/* Your code here (3E): start with members as the configuration
	 * (none for a new server, which waits for a leader), unless the
	 * persister holds one. */
	(void)members;
	(void)nmembers;
	return raft_make(peers, npeers, me, persister, apply_ch);
}

enum raft_change_status raft_add_server(struct raft *rf, int server)
{
	/* Your code here (3E). */
	(void)rf;
	(void)server;
	return RAFT_CHANGE_NOT_LEADER;
}

enum raft_change_status raft_remove_server(struct raft *rf, int server)
{
	/* Your code here (3E). */
	(void)rf;
	(void)server;
	return RAFT_CHANGE_NOT_LEADER;
}

int raft_get_config(struct raft *rf, int *members, int max)
{
	/* Your code here (3E). */
	(void)rf;
	(void)members;
	(void)max;
	return 0;
}
