/*
 * timer_heap.c: the min-heap of timer_heap.h, private to labrpc/. Ties keep
 * no particular order, but the same sequence of adds and removes always
 * gives the same heap, which seeded replays rely on.
 */
#include "labrpc/timer_heap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Process-fatal, like the rest of labrpc's allocations. */
static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fflush(stdout);
		fputs("labrpc: out of memory\n", stderr);
		_exit(1);
	}
	return p;
}

void labrpc_timer_heap_init(struct timer_heap *h)
{
	h->nodes = NULL;
	h->len = h->cap = 0;
}

void labrpc_timer_heap_destroy(struct timer_heap *h)
{
	free(h->nodes);
	labrpc_timer_heap_init(h);
}

static void heap_set(struct timer_heap *h, size_t i, struct timer_node *t)
{
	h->nodes[i] = t;
	t->heap_idx = i;
}

static void heap_sift_up(struct timer_heap *h, size_t i)
{
	struct timer_node *t = h->nodes[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->nodes[parent]->due_ns <= t->due_ns)
			break;
		heap_set(h, i, h->nodes[parent]);
		i = parent;
	}
	heap_set(h, i, t);
}

static void heap_sift_down(struct timer_heap *h, size_t i)
{
	struct timer_node *t = h->nodes[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len &&
		    h->nodes[child + 1]->due_ns < h->nodes[child]->due_ns)
			child++;
		if (t->due_ns <= h->nodes[child]->due_ns)
			break;
		heap_set(h, i, h->nodes[child]);
		i = child;
	}
	heap_set(h, i, t);
}

void labrpc_timer_heap_add(struct timer_heap *h, struct timer_node *t,
                           int64_t due_ns)
{
	if (h->len == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->nodes = xrealloc(h->nodes, h->cap * sizeof *h->nodes);
	}
	t->due_ns = due_ns;
	heap_set(h, h->len++, t);
	heap_sift_up(h, t->heap_idx);
}

void labrpc_timer_heap_remove(struct timer_heap *h, struct timer_node *t)
{
	size_t i = t->heap_idx;
	struct timer_node *last = h->nodes[--h->len];
	t->heap_idx = TIMER_NOT_ARMED;
	if (last != t) {
		heap_set(h, i, last);
		heap_sift_down(h, i);
		heap_sift_up(h, last->heap_idx);
	}
}
