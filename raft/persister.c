/*
 * persister.c: a peer's "disk" (see persister.h), two byte strings behind a
 * mutex. Bytes are copied on the way in and on the way out, so callers never
 * share a buffer with the persister. Not real storage: it lives in memory
 * and survives only a simulated crash.
 */
#include "raft/persister.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

struct persister {
	pthread_mutex_t mu;
	uint8_t *raftstate; /* NULL when raftstate_len is 0 */
	size_t raftstate_len;
	uint8_t *snapshot; /* NULL when snapshot_len is 0 */
	size_t snapshot_len;
};

/* malloc that never returns NULL: a persister has no way to report a lost
 * save, so running out of memory ends the program. */
static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		fprintf(stderr, "persister: out of memory (%zu bytes)\n", size);
		abort();
	}
	return p;
}

/* A copy of bytes[0..len-1] to store: NULL for an empty string. */
static uint8_t *stored_copy(const void *bytes, size_t len)
{
	if (!bytes || len == 0)
		return NULL;
	uint8_t *copy = xmalloc(len);
	memcpy(copy, bytes, len);
	return copy;
}

/* A copy to hand to a reader: never NULL, even for an empty string. */
static uint8_t *read_copy(const uint8_t *bytes, size_t len)
{
	uint8_t *copy = xmalloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(copy, bytes, len);
	return copy;
}

struct persister *persister_make(void)
{
	struct persister *p = xmalloc(sizeof *p);
	*p = (struct persister){.raftstate = NULL};
	if (pthread_mutex_init(&p->mu, NULL)) {
		fprintf(stderr, "persister: pthread_mutex_init failed\n");
		abort();
	}
	return p;
}

struct persister *persister_copy(struct persister *p)
{
	struct persister *copy = persister_make();
	pthread_mutex_lock(&p->mu);
	copy->raftstate = stored_copy(p->raftstate, p->raftstate_len);
	copy->raftstate_len = p->raftstate_len;
	copy->snapshot = stored_copy(p->snapshot, p->snapshot_len);
	copy->snapshot_len = p->snapshot_len;
	pthread_mutex_unlock(&p->mu);
	return copy;
}

void persister_free(struct persister *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p->raftstate);
	free(p->snapshot);
	free(p);
}

/* Both strings are replaced together under the lock, so a reader (or
 * persister_copy) sees the old pair or the new pair, never a mix. The copies
 * are made and the old strings freed outside the lock. */
void persister_save(struct persister *p, const void *raftstate,
                    size_t raftstate_len, const void *snapshot,
                    size_t snapshot_len)
{
	uint8_t *new_state = stored_copy(raftstate, raftstate_len);
	uint8_t *new_snapshot = stored_copy(snapshot, snapshot_len);

	pthread_mutex_lock(&p->mu);
	uint8_t *old_state = p->raftstate;
	uint8_t *old_snapshot = p->snapshot;
	p->raftstate = new_state;
	p->raftstate_len = new_state ? raftstate_len : 0;
	p->snapshot = new_snapshot;
	p->snapshot_len = new_snapshot ? snapshot_len : 0;
	pthread_mutex_unlock(&p->mu);

	free(old_state);
	free(old_snapshot);
	sim_charge((int64_t)(raftstate_len + snapshot_len) * SIM_BYTE_COST_NS);
}

uint8_t *persister_read_raft_state(struct persister *p, size_t *len)
{
	pthread_mutex_lock(&p->mu);
	uint8_t *copy = read_copy(p->raftstate, p->raftstate_len);
	*len = p->raftstate_len;
	pthread_mutex_unlock(&p->mu);
	return copy;
}

size_t persister_raft_state_size(struct persister *p)
{
	pthread_mutex_lock(&p->mu);
	size_t len = p->raftstate_len;
	pthread_mutex_unlock(&p->mu);
	return len;
}

uint8_t *persister_read_snapshot(struct persister *p, size_t *len)
{
	pthread_mutex_lock(&p->mu);
	uint8_t *copy = read_copy(p->snapshot, p->snapshot_len);
	*len = p->snapshot_len;
	pthread_mutex_unlock(&p->mu);
	return copy;
}

size_t persister_snapshot_size(struct persister *p)
{
	pthread_mutex_lock(&p->mu);
	size_t len = p->snapshot_len;
	pthread_mutex_unlock(&p->mu);
	return len;
}
