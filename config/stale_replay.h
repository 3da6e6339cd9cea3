/*
 * stale_replay: a storm of requests that are certainly stale, for a tester.
 * It keeps the first and the last few requests of each kind
 * ("Service.Method") sent on each link, sender to receiver
 * (labrpc_net_request_tap), and a thread of
 * its own delivers them again, over and over (labrpc_replay), but only once
 * they are certainly stale: the sender's term, read after a request was
 * sent, bounds the request's term from above, and the receiver's term has
 * passed that bound. Figure 2 has a receiver refuse a request of an older
 * term and change nothing (RequestVote and AppendEntries receiver rule 1,
 * InstallSnapshot's too), so no correct Raft is moved by the storm however
 * long it lasts: no vote, no election timer reset, no change to its log.
 *
 * Every STALE_REPLAY_MS (of virtual time in simulation mode), every running
 * receiver gets, from every sender that has sent it a request now stale,
 * one such request of each kind.
 *
 * Not for: requests whose staleness the tester cannot read from terms (the
 * key/value service's own RPCs).
 */
#ifndef RAFTLAB_CONFIG_STALE_REPLAY_H
#define RAFTLAB_CONFIG_STALE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "labrpc/labrpc.h"

#define STALE_REPLAY_MS 20

struct stale_replay;

/* Peer `peer`'s current term, through the tester (raft_get_state); false
 * if the peer is not running. Called on the replayer's thread, with no lock
 * of the replayer held. */
typedef bool (*stale_replay_term_fn)(void *arg, int peer, int *term);

/* Starts keeping the requests of net's ends named with stale_replay_link,
 * among n peers whose servers are named servernames[0..n-1], and replaying
 * them, even from a sender that crashed since; choices come from seed. */
struct stale_replay *stale_replay_start(struct labrpc_net *net, int n,
                                        const char *const *servernames,
                                        stale_replay_term_fn term_of, void *arg,
                                        uint64_t seed);

/* Stops the tap and the thread, and frees r. */
void stale_replay_stop(struct stale_replay *r);

/* Names an end: requests sent on endname go from peer from to peer to. */
void stale_replay_link(struct stale_replay *r, const char *endname, int from,
                       int to);

/* Peer peer runs a new instance, which may have lost the terms of the old
 * one (a Raft that does not persist yet): the old one's requests whose
 * bound was not read yet are dropped. Call it before the new instance can
 * be asked for its term. */
void stale_replay_restart(struct stale_replay *r, int peer);

/* How many stale requests have been delivered to peer to so far. */
int64_t stale_replay_delivered(struct stale_replay *r, int to);

#endif
