/*
 * timer_heap.h: a binary min-heap of timers ordered by deadline, each an
 * intrusive node that knows its place in the heap, so that any timer can be
 * taken out in O(log n). labrpc's timer thread keeps its requests' timers
 * here. Private to labrpc/: nothing outside it includes this header. Not
 * thread-safe: its owner's lock guards it.
 */
#ifndef RAFTLAB_LABRPC_TIMER_HEAP_H
#define RAFTLAB_LABRPC_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the object that has a timer. */
struct timer_node {
	int64_t due_ns;  /* when the timer fires, while it is armed */
	size_t heap_idx; /* TIMER_NOT_ARMED when not in a heap */
};

#define TIMER_NOT_ARMED SIZE_MAX

struct timer_heap {
	struct timer_node **nodes; /* nodes[0] is due first */
	size_t len, cap;
};

void labrpc_timer_heap_init(struct timer_heap *h);
/* Frees the heap's array; the nodes belong to their objects. */
void labrpc_timer_heap_destroy(struct timer_heap *h);

static inline void timer_node_init(struct timer_node *t)
{
	t->heap_idx = TIMER_NOT_ARMED;
}

static inline bool timer_armed(const struct timer_node *t)
{
	return t->heap_idx != TIMER_NOT_ARMED;
}

/* The timer due first, or NULL when h is empty. */
static inline struct timer_node *timer_heap_first(const struct timer_heap *h)
{
	return h->len ? h->nodes[0] : NULL;
}

/* Puts t, not armed, in h, due at due_ns. */
void labrpc_timer_heap_add(struct timer_heap *h, struct timer_node *t,
                           int64_t due_ns);
/* Takes t, armed, out of h. */
void labrpc_timer_heap_remove(struct timer_heap *h, struct timer_node *t);

#endif
