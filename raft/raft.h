/*
 * raft.h: the API of the Raft lab. Students implement it in raft/raft.c; the
 * tester (config/) and the key/value service (kvraft/) use only what is
 * declared here. This header is the contract: read it all before starting.
 *
 * A Raft peer talks to the other peers only through its labrpc ends, keeps its
 * durable state only in its persister, and hands every committed command (and
 * every snapshot it installs) to its service, in log order, on the apply
 * channel.
 */
#ifndef RAFTLAB_RAFT_H
#define RAFTLAB_RAFT_H

#include <stdbool.h>
#include <stddef.h>

#include "chan/chan.h"
#include "labrpc/labrpc.h"
#include "raft/persister.h"

struct raft;

/*
 * One message on the apply channel. Either a committed command
 * (command_valid), or a snapshot the peer installed from its leader
 * (snapshot_valid), or (part 3E only) a committed configuration
 * (config_valid); exactly one of them. Raft allocates the message and its byte
 * strings with malloc; after a successful chan_send the receiver owns them
 * and frees them with raft_apply_msg_free.
 */
struct raft_apply_msg {
	bool command_valid;
	void *command; /* the bytes given to raft_start */
	size_t command_len;
	int command_index; /* the log index of the command, from 1 */

	bool snapshot_valid;
	void *snapshot; /* the bytes given to raft_snapshot on the leader */
	size_t snapshot_len;
	int snapshot_term;  /* term of the last entry the snapshot covers */
	int snapshot_index; /* index of the last entry the snapshot covers */

	/* Part 3E only (membership changes, below): a committed change of the
	 * configuration, which took log index config_index. */
	bool config_valid;
	int *config_members; /* the servers of the new configuration, in
	                      * increasing order; owned like the bytes */
	int config_nmembers;
	int config_index;
};

/* A new message owning a copy of the command bytes / snapshot bytes. */
struct raft_apply_msg *raft_apply_msg_command(const void *command, size_t len,
                                              int index);
struct raft_apply_msg *raft_apply_msg_snapshot(const void *snapshot, size_t len,
                                               int term, int index);
/* Part 3E: a new message owning a copy of members[0..n-1]. */
struct raft_apply_msg *raft_apply_msg_config(const int *members, int n,
                                             int index);
/* Frees a message and its bytes. NULL is ignored. */
void raft_apply_msg_free(struct raft_apply_msg *msg);

/* What raft_start returns. */
struct raft_start_result {
	int index;      /* the index the command will have if it is committed */
	int term;       /* the current term */
	bool is_leader; /* false: not the leader, index and term mean nothing */
};

/*
 * Creates a peer and returns at once; its work happens on threads it starts.
 * peers[0..npeers-1] are its ends to every peer, peers[me] included; they
 * belong to the tester and stay valid until raft_free. persister holds what
 * an earlier instance of this peer saved (possibly nothing); it belongs to
 * the tester and stays valid until raft_free. apply_ch is unbuffered and
 * belongs to the tester, which keeps receiving from it until raft_kill has
 * returned.
 */
struct raft *raft_make(struct labrpc_end **peers, int npeers, int me,
                       struct persister *persister, struct chan *apply_ch);

/*
 * Asks the peer to append command (len bytes, copied) to the log. Returns at
 * once, without waiting for agreement: there is no guarantee the command
 * will ever be committed. Safe (and harmless) after raft_kill.
 */
struct raft_start_result raft_start(struct raft *rf, const void *command,
                                    size_t len);

/* The peer's current term and whether it believes it is the leader. Safe
 * after raft_kill. */
void raft_get_state(struct raft *rf, int *term, bool *is_leader);

/*
 * The service has a snapshot (len bytes, copied) of everything up to and
 * including log index `index`: the peer may discard the log through index
 * and must persist the snapshot with its state. Called on every peer, often
 * from the thread that receives the apply channel, so it must not wait for
 * that channel (never hold the lock that guards your apply loop while
 * sending on the channel). Safe after raft_kill.
 */
void raft_snapshot(struct raft *rf, int index, const void *snapshot,
                   size_t len);

/*
 * Stops the peer for good. When it returns, every thread the peer started has
 * exited, no further message will be sent on the apply channel, and no
 * further RPC will be made. RPC handlers may still be called afterwards and
 * must return promptly without effect. Calls in flight on the peer's ends are
 * failed by the tester before it calls raft_kill.
 */
void raft_kill(struct raft *rf);

/* Frees a killed peer. The tester calls it once no thread can use rf any
 * more (no RPC handler running, no raft_start/get_state/snapshot in flight). */
void raft_free(struct raft *rf);

/* The "Raft" labrpc service: the tester registers it for every peer, with
 * the peer as receiver. Its handlers are the peer's RPC handlers. */
extern const struct labrpc_service_def raft_service;

/* ---- Optional, beyond 3A-3D: reads without the log (§8) ----
 *
 * The Raft tests never call this; the key/value service (part 4A) may, to
 * serve Get without adding an entry to the log. Before answering a read
 * from its state, a leader must know that no other leader can have
 * committed anything it has not: the paper's §8 (and the Raft thesis §6.4)
 * asks it to have committed an entry of its own term (so that it knows the
 * latest commit index), and then to hear from a majority, with a round of
 * heartbeats sent after the read arrived, that it is still leader. A
 * leader that skips either step can answer with stale data once it has
 * been deposed. A peer that does not implement reads returns
 * RAFT_READ_NOT_LEADER always (the skeleton does): the service then has to
 * put Gets through the log.
 */

enum raft_read_status {
	RAFT_READ_OK,         /* *index is the read index: once the service
	                       * has applied every entry through it, its state
	                       * may answer the read */
	RAFT_READ_NOT_LEADER, /* not the leader, or leadership could not be
	                       * confirmed in time (cut off from the majority,
	                       * a newer term), or killed: try another peer */
	RAFT_READ_NO_ENTRY,   /* the leader's log has no entry of its current
	                       * term yet, so no read can be served: the
	                       * service starts one (a no-op of its own, with
	                       * raft_start) and asks again */
};

/*
 * Confirms, for one read, that this peer is still the leader: waits until
 * an entry of the current term is committed and a majority (this peer
 * included) have answered a heartbeat sent after the call began. Blocks
 * for at most about half a second; returns at once once killed. Safe after
 * raft_kill. Reads asked for together share their heartbeats.
 */
enum raft_read_status raft_read_index(struct raft *rf, int *index);

/* ---- Optional, part 3E: cluster membership changes (§6) ----
 *
 * Only part 3E uses these; 3A-3D peers are made with raft_make, whose
 * configuration is every peer, and never change it. The cluster changes
 * one server at a time, as the Raft thesis (§4.1) describes, rather than
 * with §6's joint consensus: any two majorities of configurations that
 * differ by one server overlap, so each change is one log entry and needs
 * no intermediate configuration. The rules:
 *   - a configuration is a log entry; a server uses the latest one in its
 *     log as soon as it has it, committed or not, and a snapshot keeps the
 *     configuration as of its last included index (§7);
 *   - elections and commitment count majorities of the current
 *     configuration only; a server outside it neither campaigns nor
 *     counts itself;
 *   - the leader starts a change only once the previous one is committed
 *     and an entry of its own term is committed (the thesis's fix for
 *     changes racing with leader changes);
 *   - a new server first catches up as a non-voting member (§6): the
 *     leader replicates to it in rounds and adds it only once a round
 *     takes less than an election timeout, so that adding it cannot stall
 *     commitment;
 *   - a leader that removes itself keeps leading, without counting
 *     itself, until the change is committed, then steps down;
 *   - a server ignores RequestVote (neither its term nor its vote) from a
 *     candidate outside its current configuration, so removed servers that
 *     time out cannot disrupt the cluster (§6 guards this with a minimum
 *     election timeout; the configuration is enough here because only
 *     members campaign).
 * Committed changes reach the service on the apply channel (config_valid).
 */

/* The most peers of a 3E cluster, servers being added included. */
#define RAFT_MAX_SERVERS 64

/*
 * Like raft_make, in a cluster whose initial configuration is
 * members[0..nmembers-1] (peer indices, npeers <= RAFT_MAX_SERVERS). A new
 * server, to be added later, has nmembers 0: it waits, without
 * campaigning, for a leader to replicate to it. A persisted state, when
 * there is one, holds the configuration and wins over members.
 */
struct raft *raft_make_member(struct labrpc_end **peers, int npeers, int me,
                              struct persister *persister,
                              struct chan *apply_ch, const int *members,
                              int nmembers);

enum raft_change_status {
	RAFT_CHANGE_STARTED,    /* under way; it is done once the apply
	                         * channel delivers the new configuration */
	RAFT_CHANGE_NOT_LEADER, /* ask the leader */
	RAFT_CHANGE_BUSY,       /* a change is under way or not committed yet,
	                         * or no entry of the leader's term is
	                         * committed yet: try again later */
	RAFT_CHANGE_INVALID,    /* no such server, already a member (add), not
	                         * a member or the last one (remove) */
};

/* Asks the leader to add server (first catching it up) or to remove it.
 * Returns at once. Safe after raft_kill (RAFT_CHANGE_NOT_LEADER). */
enum raft_change_status raft_add_server(struct raft *rf, int server);
enum raft_change_status raft_remove_server(struct raft *rf, int server);

/* The peer's current configuration (the latest in its log, committed or
 * not): writes its servers, in increasing order, to members[0..max-1] and
 * returns how many there are. Safe after raft_kill. */
int raft_get_config(struct raft *rf, int *members, int max);

#endif
