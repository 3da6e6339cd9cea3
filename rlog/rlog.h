/*
 * rlog: debug logging for the labs (Raft, kvraft) and their testers. Off by
 * default and nearly free when off: each call first reads one cached mask.
 * It is for reading what happened in one failed run, with tools/logview;
 * it is not an event log the tests check.
 *
 * Turned on by the environment of the test process:
 *   RAFTLAB_DEBUG=0|1|2   0 (or unset): off; 1: rlog() lines; 2: rlog2()
 *                         lines as well (per-RPC detail, heartbeats)
 *   RAFTLAB_TOPICS=VOTE,LEADER,...   only these topics (default: all)
 *
 * Each call writes one whole line to stderr (lines of different threads never
 * mix), in this fixed format, which tools/logview parses:
 *
 *   TIME TOPIC PEER TERM MESSAGE
 *   000123 VOTE S2 T5 granted vote to S1
 *
 *   TIME     milliseconds since the process's first rlog call (in practice
 *            since the test began), zero-padded to at least 6 digits
 *   TOPIC    one of the names below, in capitals
 *   PEER     S<id>, or S- when the line is about no one peer
 *   TERM     T<term>, or T- when there is no term (peer or term < 0)
 *   MESSAGE  free text (no newline), at most about 400 characters
 *
 * Example, in raft.c:
 *   rlog(RLOG_VOTE, rf->me, rf->current_term, "granted vote to S%d", c);
 */
#ifndef RAFTLAB_RLOG_H
#define RAFTLAB_RLOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum rlog_topic {
	RLOG_TIMER,   /* election timer: reset, fired */
	RLOG_VOTE,    /* RequestVote sent, granted, denied */
	RLOG_LEADER,  /* became leader / candidate / follower */
	RLOG_APPEND,  /* AppendEntries sent, accepted, conflicts */
	RLOG_COMMIT,  /* commit index moves */
	RLOG_PERSIST, /* state saved or restored */
	RLOG_SNAP,    /* snapshots taken, sent, installed */
	RLOG_APPLY,   /* entries and snapshots delivered on the apply channel */
	RLOG_CLIENT,  /* kvraft clerks: requests, retries, replies */
	RLOG_SERVER,  /* kvraft servers: operations applied, duplicates */
	RLOG_TEST,    /* the tester: begin, crash, start, connect, disconnect */
	RLOG_WARN,    /* anything suspicious */
	RLOG_INFO,    /* anything else */
	RLOG_NTOPICS
};

/* rlog(topic, peer, term, fmt, ...): a level-1 line. rlog2: a level-2 line,
 * for what is too frequent to read at level 1. The arguments are not
 * evaluated when the line is off. */
#define rlog(topic, peer, term, ...) RLOG_AT_(1, topic, peer, term, __VA_ARGS__)
#define rlog2(topic, peer, term, ...)                                          \
	RLOG_AT_(2, topic, peer, term, __VA_ARGS__)

/* True if a line of topic at level (1 or 2) would be written. */
static inline bool rlog_on(enum rlog_topic topic, int level);

/* The topic's name, "VOTE"; NULL if topic is out of range. */
const char *rlog_topic_name(enum rlog_topic topic);

/* ---- for the macros above; not to be called directly ---- */

/* Per level, the mask of enabled topics; RLOG_UNREAD_ until the
 * environment has been read. */
#define RLOG_UNREAD_ 0x80000000u
extern atomic_uint rlog_masks_[2];
unsigned rlog_read_env_(int level);
void rlog_write_(enum rlog_topic topic, int peer, int term, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static inline bool rlog_on(enum rlog_topic topic, int level)
{
	unsigned m = atomic_load_explicit(&rlog_masks_[level - 1],
	                                  memory_order_relaxed);
	if (m & RLOG_UNREAD_)
		m = rlog_read_env_(level);
	return (m >> topic) & 1u;
}

#define RLOG_AT_(level, topic, peer, term, ...)                                \
	do {                                                                   \
		if (rlog_on((topic), (level)))                                 \
			rlog_write_((topic), (peer), (term), __VA_ARGS__);     \
	} while (0)

#endif
