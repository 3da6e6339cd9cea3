/*
 * persister: where a Raft peer (and the service above it) keeps its state
 * across crashes. It holds two byte strings, the Raft state and the latest
 * snapshot, replaced together by persister_save. The tester hands a peer a
 * persister in raft_make and, when the peer crashes, gives the next instance
 * a copy of what was saved.
 *
 * Every read returns a fresh copy and every save stores fresh copies, so no
 * bytes are ever shared between the persister and its users.
 */
#ifndef RAFTLAB_PERSISTER_H
#define RAFTLAB_PERSISTER_H

#include <stddef.h>
#include <stdint.h>

struct persister;

/* An empty persister. Never returns NULL. Free with persister_free. */
struct persister *persister_make(void);
/* A new persister holding copies of p's current state and snapshot. */
struct persister *persister_copy(struct persister *p);
void persister_free(struct persister *p);

/* Replaces both the Raft state and the snapshot with copies of the given
 * bytes. Passing a NULL or empty snapshot ERASES any saved snapshot: once a
 * snapshot exists, pass it again on every save. */
void persister_save(struct persister *p, const void *raftstate,
                    size_t raftstate_len, const void *snapshot,
                    size_t snapshot_len);

/* A fresh copy of the Raft state (never NULL, even when empty; *len may be
 * 0). The caller frees it. */
uint8_t *persister_read_raft_state(struct persister *p, size_t *len);
size_t persister_raft_state_size(struct persister *p);

/* A fresh copy of the snapshot (never NULL; *len is 0 when there is none).
 * The caller frees it. */
uint8_t *persister_read_snapshot(struct persister *p, size_t *len);
size_t persister_snapshot_size(struct persister *p);

#endif
