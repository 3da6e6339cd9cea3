/*
 * chan.c: Go-like channels (see chan.h) on one mutex and condition variables.
 * An unbuffered channel keeps two FIFO queues, as Go's runtime does: blocked
 * senders, each waiting on its own condition variable until a receiver takes
 * its item, and blocked receivers, each waiting until a sender hands it an
 * item. A send that finds a receiver waiting completes at once, without
 * blocking; a receive that finds a sender waiting likewise. At most one of
 * the queues is non-empty. A buffered channel is a ring of capacity slots.
 * Not a general message queue: items are opaque pointers and the channel
 * never frees them.
 */
#include "chan/chan.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "labtime/labtime.h"

/* A sender blocked on an unbuffered channel. It lives on the sender's stack
 * and is linked into the channel's queue until a receiver takes its item or
 * chan_close unlinks it. */
struct chan_sender {
	void *item;
	bool taken;          /* a receiver took item: the send succeeded */
	pthread_cond_t cond; /* signalled when taken, or on close */
	struct chan_sender *next;
};

/* A receiver blocked on an unbuffered channel, on the receiver's stack and
 * linked into the channel's queue until a sender fills it, chan_close
 * unlinks it, or its deadline passes (it unlinks itself). */
struct chan_receiver {
	void *item;
	bool filled;         /* a sender handed item over */
	pthread_cond_t cond; /* signalled when filled, or on close */
	struct chan_receiver *next;
};

struct chan {
	pthread_mutex_t mu;
	pthread_cond_t
	        recv_cond; /* buffered: something to receive, or closed */
	pthread_cond_t send_cond; /* buffered: room in the ring, or closed */
	bool closed;

	/* Buffered (capacity > 0): items[head], items[head + 1], ... (modulo
	 * capacity) are the count queued items, oldest first. */
	size_t capacity;
	void **items;
	size_t head;
	size_t count;

	/* Unbuffered (capacity == 0): blocked senders and blocked receivers,
	 * oldest first; one of the two queues is always empty. */
	struct chan_sender *senders_head;
	struct chan_sender *senders_tail;
	struct chan_receiver *receivers_head;
	struct chan_receiver *receivers_tail;
};

struct chan *chan_make(size_t capacity)
{
	struct chan *ch = calloc(1, sizeof *ch);
	if (!ch)
		return NULL;
	ch->capacity = capacity;
	if (capacity > 0) {
		ch->items = calloc(capacity, sizeof *ch->items);
		if (!ch->items)
			goto free_chan;
	}
	if (pthread_mutex_init(&ch->mu, NULL))
		goto free_items;
	/* The receive condition waits on the monotonic clock for
	 * chan_recv_timeout; the send condition is never waited on with a
	 * deadline. */
	if (labtime_cond_init(&ch->recv_cond))
		goto destroy_mu;
	if (pthread_cond_init(&ch->send_cond, NULL))
		goto destroy_recv_cond;
	return ch;

destroy_recv_cond:
	pthread_cond_destroy(&ch->recv_cond);
destroy_mu:
	pthread_mutex_destroy(&ch->mu);
free_items:
	free(ch->items);
free_chan:
	free(ch);
	return NULL;
}

void chan_free(struct chan *ch)
{
	if (!ch)
		return;
	pthread_cond_destroy(&ch->send_cond);
	pthread_cond_destroy(&ch->recv_cond);
	pthread_mutex_destroy(&ch->mu);
	free(ch->items);
	free(ch);
}

/* A condition variable for a waiter on the stack. Default attributes (or
 * the monotonic clock) fail only for lack of resources. */
static void waiter_cond_init(pthread_cond_t *cond, bool timed)
{
	if (timed ? labtime_cond_init(cond) : pthread_cond_init(cond, NULL)) {
		fprintf(stderr, "chan: cannot make a condition variable\n");
		abort();
	}
}

/* Unbuffered send: hand the item to the oldest waiting receiver, if any, and
 * return at once; otherwise queue up as a waiting sender, then wait until a
 * receiver has taken the item or the channel is closed. ch->mu held. */
static int send_unbuffered(struct chan *ch, void *item)
{
	struct chan_receiver *r = ch->receivers_head;
	if (r) {
		ch->receivers_head = r->next;
		if (!ch->receivers_head)
			ch->receivers_tail = NULL;
		r->next = NULL;
		r->item = item;
		r->filled = true;
		pthread_cond_signal(&r->cond);
		return CHAN_OK;
	}

	struct chan_sender self = {.item = item};
	waiter_cond_init(&self.cond, false);
	if (ch->senders_tail)
		ch->senders_tail->next = &self;
	else
		ch->senders_head = &self;
	ch->senders_tail = &self;

	/* A receiver sets taken and unlinks us; chan_close unlinks us
	 * without setting it. Either way we are off the queue on return. */
	while (!self.taken && !ch->closed)
		pthread_cond_wait(&self.cond, &ch->mu);
	pthread_cond_destroy(&self.cond);
	return self.taken ? CHAN_OK : CHAN_CLOSED;
}

/* Buffered send: wait for room, then append to the ring. ch->mu held. */
static int send_buffered(struct chan *ch, void *item)
{
	while (ch->count == ch->capacity && !ch->closed)
		pthread_cond_wait(&ch->send_cond, &ch->mu);
	if (ch->closed)
		return CHAN_CLOSED;
	ch->items[(ch->head + ch->count) % ch->capacity] = item;
	ch->count++;
	pthread_cond_signal(&ch->recv_cond);
	return CHAN_OK;
}

int chan_send(struct chan *ch, void *item)
{
	pthread_mutex_lock(&ch->mu);
	int err = CHAN_CLOSED;
	if (!ch->closed)
		err = ch->capacity == 0 ? send_unbuffered(ch, item)
		                        : send_buffered(ch, item);
	pthread_mutex_unlock(&ch->mu);
	return err;
}

/* Whether a receive would succeed now. ch->mu held. Once closed, an
 * unbuffered channel has no senders left (chan_close unlinked them all). */
static bool can_recv(const struct chan *ch)
{
	return ch->capacity == 0 ? ch->senders_head != NULL : ch->count > 0;
}

/* Takes the next item: from the oldest waiting sender, whom it releases, or
 * from the front of the ring, making room for a sender. ch->mu held and
 * can_recv(ch) true. */
static void *take_item(struct chan *ch)
{
	void *item;
	if (ch->capacity == 0) {
		struct chan_sender *s = ch->senders_head;
		ch->senders_head = s->next;
		if (!ch->senders_head)
			ch->senders_tail = NULL;
		item = s->item;
		s->taken = true;
		pthread_cond_signal(&s->cond);
	} else {
		item = ch->items[ch->head];
		ch->items[ch->head] = NULL;
		ch->head = (ch->head + 1) % ch->capacity;
		ch->count--;
		pthread_cond_signal(&ch->send_cond);
	}
	return item;
}

/* Takes r out of ch's queue of waiting receivers, if it is still in it. */
static void unlink_receiver(struct chan *ch, struct chan_receiver *r)
{
	struct chan_receiver *prev = NULL;
	for (struct chan_receiver *q = ch->receivers_head; q; q = q->next) {
		if (q != r) {
			prev = q;
			continue;
		}
		if (prev)
			prev->next = r->next;
		else
			ch->receivers_head = r->next;
		if (ch->receivers_tail == r)
			ch->receivers_tail = prev;
		r->next = NULL;
		return;
	}
}

/* Unbuffered receive with no sender waiting: queue up as a waiting receiver
 * until a sender fills it, the channel is closed or the deadline passes
 * (deadline_ns < 0: none). ch->mu held. */
static int recv_unbuffered_wait(struct chan *ch, void **item,
                                int64_t deadline_ns)
{
	struct chan_receiver self = {0};
	waiter_cond_init(&self.cond, deadline_ns >= 0);
	if (ch->receivers_tail)
		ch->receivers_tail->next = &self;
	else
		ch->receivers_head = &self;
	ch->receivers_tail = &self;

	int err = CHAN_OK;
	while (!self.filled && !ch->closed) {
		if (deadline_ns < 0) {
			pthread_cond_wait(&self.cond, &ch->mu);
		} else if (labtime_cond_wait_until(&self.cond, &ch->mu,
		                                   deadline_ns) == ETIMEDOUT &&
		           !self.filled && !ch->closed) {
			err = CHAN_TIMEOUT;
			break;
		}
	}
	/* A sender or chan_close unlinked us; a timeout did not. */
	unlink_receiver(ch, &self);
	pthread_cond_destroy(&self.cond);
	if (self.filled) {
		*item = self.item;
		return CHAN_OK;
	}
	return err == CHAN_TIMEOUT ? CHAN_TIMEOUT : CHAN_CLOSED;
}

/* The receive behind chan_recv (deadline_ns < 0: wait forever) and
 * chan_recv_timeout. *item is NULL unless CHAN_OK is returned. */
static int recv_until(struct chan *ch, void **item, int64_t deadline_ns)
{
	int err = CHAN_OK;
	*item = NULL;
	pthread_mutex_lock(&ch->mu);
	if (ch->capacity == 0 && !can_recv(ch) && !ch->closed) {
		err = recv_unbuffered_wait(ch, item, deadline_ns);
		pthread_mutex_unlock(&ch->mu);
		return err;
	}
	while (!can_recv(ch) && !ch->closed) {
		if (deadline_ns < 0) {
			pthread_cond_wait(&ch->recv_cond, &ch->mu);
		} else if (labtime_cond_wait_until(&ch->recv_cond, &ch->mu,
		                                   deadline_ns) == ETIMEDOUT) {
			/* The wait may have swallowed a signal meant for an
			 * item that is now here: look once more before
			 * giving up. */
			if (!can_recv(ch) && !ch->closed)
				err = CHAN_TIMEOUT;
			break;
		}
	}
	if (err == CHAN_OK) {
		if (can_recv(ch))
			*item = take_item(ch);
		else
			err = CHAN_CLOSED;
	}
	pthread_mutex_unlock(&ch->mu);
	return err;
}

int chan_recv(struct chan *ch, void **item)
{
	return recv_until(ch, item, -1);
}

/* A timeout of 0 (or less) polls: it takes an item only if one is ready. A
 * timeout too far away to represent waits forever. */
int chan_recv_timeout(struct chan *ch, void **item, int64_t timeout_ms)
{
	int64_t now = labtime_now_ns();
	if (timeout_ms <= 0)
		return recv_until(ch, item, now);
	if (timeout_ms > (INT64_MAX - now) / 1000000)
		return recv_until(ch, item, -1);
	return recv_until(ch, item, now + timeout_ms * 1000000);
}

void chan_close(struct chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed) {
		ch->closed = true;
		/* Release every blocked sender with its item not taken. */
		for (struct chan_sender *s = ch->senders_head; s;) {
			struct chan_sender *next = s->next;
			s->next = NULL;
			pthread_cond_signal(&s->cond);
			s = next;
		}
		ch->senders_head = ch->senders_tail = NULL;
		/* ...and every blocked receiver with nothing. */
		for (struct chan_receiver *r = ch->receivers_head; r;) {
			struct chan_receiver *next = r->next;
			r->next = NULL;
			pthread_cond_signal(&r->cond);
			r = next;
		}
		ch->receivers_head = ch->receivers_tail = NULL;
		pthread_cond_broadcast(&ch->send_cond);
		pthread_cond_broadcast(&ch->recv_cond);
	}
	pthread_mutex_unlock(&ch->mu);
}
