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
 * (command_valid) or a snapshot the peer installed from its leader
 * (snapshot_valid), never both. Raft allocates the message and its byte
 * strings with malloc; after a successful chan_send the receiver owns them
 * and frees them with raft_apply_msg_free.
 */
struct raft_apply_msg {
	bool command_valid;
	void *command;       /* the bytes given to raft_start */
	size_t command_len;
	int command_index;   /* the log index of the command, from 1 */

	bool snapshot_valid;
	void *snapshot;      /* the bytes given to raft_snapshot on the leader */
	size_t snapshot_len;
	int snapshot_term;   /* term of the last entry the snapshot covers */
	int snapshot_index;  /* index of the last entry the snapshot covers */
};

/* A new message owning a copy of the command bytes / snapshot bytes. */
struct raft_apply_msg *raft_apply_msg_command(const void *command, size_t len,
                                              int index);
struct raft_apply_msg *raft_apply_msg_snapshot(const void *snapshot,
                                               size_t len, int term,
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

#endif
