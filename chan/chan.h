/*
 * chan: a Go-like channel of pointers between threads. Unbuffered channels
 * (capacity 0) are rendezvous points: a send returns only once a receiver has
 * taken the item, exactly like the labs' apply channel. Buffered channels
 * queue up to their capacity in FIFO order. Closing wakes every blocked
 * sender and receiver.
 */
#ifndef RAFTLAB_CHAN_H
#define RAFTLAB_CHAN_H

#include <stddef.h>
#include <stdint.h>

struct chan;

enum {
	CHAN_OK = 0,
	CHAN_CLOSED =
	        -1, /* the channel is closed (and, for receive, drained) */
	CHAN_TIMEOUT = -2, /* chan_recv_timeout's deadline passed */
};

/* Makes a channel holding up to capacity items (0 = unbuffered).
 * Returns NULL when out of memory. */
struct chan *chan_make(size_t capacity);

/* Frees the channel. No thread may be using it any more. Items still queued
 * in a buffered channel are not freed: drain it first if it owns memory. */
void chan_free(struct chan *ch);

/* Sends item. Blocks until a receiver took it (unbuffered) or there is room
 * (buffered). Returns CHAN_OK, or CHAN_CLOSED if the channel is or becomes
 * closed before the item was taken; the caller then still owns item.
 * (Go panics on a send to a closed channel; here it is an error code.) */
int chan_send(struct chan *ch, void *item);

/* Receives the next item into *item. Blocks until one is available.
 * Returns CHAN_OK, or CHAN_CLOSED once the channel is closed and empty. */
int chan_recv(struct chan *ch, void **item);

/* Like chan_recv, but gives up after timeout_ms and returns CHAN_TIMEOUT. */
int chan_recv_timeout(struct chan *ch, void **item, int64_t timeout_ms);

/* Closes the channel: senders blocked now or later get CHAN_CLOSED;
 * receivers drain what is buffered, then get CHAN_CLOSED. Idempotent. */
void chan_close(struct chan *ch);

#endif
