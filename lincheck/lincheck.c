/*
 * lincheck.c: the linearizability search (porcupine's checkSingle) and the
 * parallel driver over partitions (checkParallel). The KV model lives in
 * kv_model.c and the HTML page in visualize.c; both use only lincheck.h.
 *
 * The search is Wing & Gong's algorithm with Lowe's memoisation: walk a
 * time-ordered list of call and return entries; linearize ("lift") a call
 * whose step is legal, and backtrack when a return is reached whose call has
 * not been linearized yet. A cache of (set of linearized ops, state) pairs
 * already explored prunes configurations reached by another order.
 */
#include "lincheck/lincheck.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labtime/labtime.h"
#include "sim/sim.h"

enum {
	LIN_MAX_THREADS = 8,      /* partitions checked at once, at most */
	LIN_POLL_STEPS = 1024,    /* search steps between time checks */
	LIN_ARENA_CHUNK = 1 << 20 /* bytes per cache arena chunk */
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("lincheck: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fputs("lincheck: out of memory\n", stderr);
		abort();
	}
	return p;
}

const char *lin_result_name(enum lin_result r)
{
	switch (r) {
	case LIN_OK:
		return "Ok";
	case LIN_ILLEGAL:
		return "Illegal";
	case LIN_UNKNOWN:
		return "Unknown";
	}
	return "?";
}

/* ---- what a check learns about one partition (kept in struct lin_info) */

struct lin_part {
	const char *name;
	size_t *ops; /* indices into the caller's array, in history order */
	size_t n;
	enum lin_result result;
	size_t *longest; /* longest linearizable prefix, caller's indices */
	size_t nlongest;
	size_t failed; /* caller's index, or LIN_NO_OP */
};

struct lin_info {
	const struct lin_op *ops;
	size_t nops;
	struct lin_part *parts;
	size_t nparts;
};

static void parts_free(struct lin_part *parts, size_t nparts)
{
	for (size_t i = 0; i < nparts; i++) {
		free(parts[i].ops);
		free(parts[i].longest);
	}
	free(parts);
}

void lin_info_free(struct lin_info *info)
{
	if (!info)
		return;
	parts_free(info->parts, info->nparts);
	free(info);
}

const struct lin_op *lin_info_ops(const struct lin_info *info, size_t *nops)
{
	*nops = info->nops;
	return info->ops;
}

size_t lin_info_npartitions(const struct lin_info *info)
{
	return info->nparts;
}

const char *lin_info_partition_name(const struct lin_info *info, size_t p)
{
	return info->parts[p].name;
}

enum lin_result lin_info_partition_result(const struct lin_info *info, size_t p)
{
	return info->parts[p].result;
}

size_t lin_info_partition_ops(const struct lin_info *info, size_t p,
                              const size_t **ops)
{
	*ops = info->parts[p].ops;
	return info->parts[p].n;
}

size_t lin_info_longest(const struct lin_info *info, size_t p,
                        const size_t **seq)
{
	*seq = info->parts[p].longest;
	return info->parts[p].nlongest;
}

size_t lin_info_failed_op(const struct lin_info *info, size_t p)
{
	return info->parts[p].failed;
}

/* ---- partitioning (P-compositionality) ---- */

struct named_op {
	const char *name;
	size_t index;
};

static int named_op_cmp(const void *a, const void *b)
{
	const struct named_op *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Splits the history into partitions named by m->partition, in name order;
 * each keeps its operations in history order. */
static struct lin_part *split_history(const struct lin_model *m,
                                      const struct lin_op *ops, size_t nops,
                                      size_t *nparts_out)
{
	struct named_op *named = xmalloc(nops * sizeof *named);
	for (size_t i = 0; i < nops; i++) {
		named[i].name = m->partition ? m->partition(&ops[i]) : "";
		named[i].index = i;
	}
	qsort(named, nops, sizeof *named, named_op_cmp);

	size_t nparts = 0;
	for (size_t i = 0; i < nops; i++)
		if (i == 0 || strcmp(named[i].name, named[i - 1].name) != 0)
			nparts++;

	struct lin_part *parts = xcalloc(nparts, sizeof *parts);
	size_t p = 0;
	for (size_t i = 0, j; i < nops; i = j) {
		for (j = i + 1; j < nops; j++)
			if (strcmp(named[j].name, named[i].name) != 0)
				break;
		parts[p].name = named[i].name;
		parts[p].n = j - i;
		parts[p].ops = xmalloc((j - i) * sizeof *parts[p].ops);
		for (size_t k = i; k < j; k++)
			parts[p].ops[k - i] = named[k].index;
		parts[p].result = LIN_UNKNOWN;
		parts[p].failed = LIN_NO_OP;
		p++;
	}
	free(named);
	*nparts_out = nparts;
	return parts;
}

/* ---- the time-ordered list of call and return entries ---- */

/*
 * One entry of the doubly linked list. A call entry points to its return
 * entry (match); a return entry's match is NULL. id is the operation's search
 * id: operations are numbered in the order of their calls, so the first
 * entry left in the list is always the call with the lowest id left.
 */
struct lin_node {
	struct lin_node *prev, *next;
	struct lin_node *match;
	size_t id;
};

struct entry_key {
	int64_t time;
	size_t index; /* within the partition */
	int is_return;
};

/* Time order; at equal times calls come before returns (so operations that
 * touch at one instant count as concurrent), then by index for determinism.
 * An operation's call always comes before its return. */
static int entry_key_cmp(const void *a, const void *b)
{
	const struct entry_key *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->is_return != y->is_return)
		return x->is_return - y->is_return;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Builds the list for partition p into nodes[0..2n]: nodes[0] is the
 * sentinel head, the others are the entries in time order. Sets caller[id]
 * to the caller's index of the operation with search id id.
 */
static void build_list(const struct lin_op *ops, const struct lin_part *p,
                       struct lin_node *nodes, size_t *caller)
{
	size_t n = p->n;
	struct entry_key *keys = xmalloc(2 * n * sizeof *keys);
	for (size_t i = 0; i < n; i++) {
		const struct lin_op *op = &ops[p->ops[i]];
		int64_t ret = op->return_ns < op->call_ns ? op->call_ns
		                                          : op->return_ns;
		keys[2 * i] = (struct entry_key){op->call_ns, i, 0};
		keys[2 * i + 1] = (struct entry_key){ret, i, 1};
	}
	qsort(keys, 2 * n, sizeof *keys, entry_key_cmp);

	/* Search ids in call order; each call node is seen before its
	 * return node, which then becomes its match. */
	size_t *call_node = xmalloc(n * sizeof *call_node);
	size_t next_id = 0;
	for (size_t k = 0; k < 2 * n; k++) {
		struct lin_node *e = &nodes[k + 1];
		size_t i = keys[k].index;
		e->match = NULL;
		if (!keys[k].is_return) {
			call_node[i] = k + 1;
			e->id = next_id++;
			caller[e->id] = p->ops[i];
		} else {
			struct lin_node *call = &nodes[call_node[i]];
			e->id = call->id;
			call->match = e;
		}
	}
	for (size_t k = 0; k <= 2 * n; k++) {
		nodes[k].prev = k > 0 ? &nodes[k - 1] : NULL;
		nodes[k].next = k < 2 * n ? &nodes[k + 1] : NULL;
	}
	nodes[0].match = NULL;
	free(call_node);
	free(keys);
}

/* Unlinks a call entry and its return entry: the operation is linearized. */
static void lift(struct lin_node *call)
{
	struct lin_node *ret = call->match;
	call->prev->next = call->next;
	call->next->prev = call->prev;
	ret->prev->next = ret->next;
	if (ret->next)
		ret->next->prev = ret->prev;
}

/* Undoes lift: re-links the return entry, then the call entry, where they
 * were (their own prev/next pointers were left untouched). */
static void unlift(struct lin_node *call)
{
	struct lin_node *ret = call->match;
	ret->prev->next = ret;
	if (ret->next)
		ret->next->prev = ret;
	call->prev->next = call;
	call->next->prev = call;
}

/* ---- the memoisation cache: (linearized set, state) pairs seen ---- */

/*
 * A linearized set is stored compactly. Every op below low (the lowest id
 * not linearized) is in it, and none above high (the highest id in it), so
 * only the bitset words from low's to high's are kept: a few words, where a
 * full bitset would take n bits per entry (porcupine's choice: refuting a
 * falsified read in a 10,000-operation history took 9 GB that way).
 */
struct cache_set {
	size_t low;
	size_t first_word; /* low / 64 */
	size_t nwords;     /* 0 when nothing above low is in the set */
	const uint64_t *words;
};

struct cache_entry {
	struct cache_entry *next; /* bucket chain */
	uint64_t key;
	void *state;
	size_t low;
	uint32_t nwords;
	bool owns_state;
	uint64_t words[];
};

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct cache {
	struct cache_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct arena_chunk *chunks;
};

static void cache_init(struct cache *c)
{
	c->nbuckets = 1024;
	c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
	c->count = 0;
	c->chunks = NULL;
}

static size_t entry_size(size_t nwords)
{
	size_t size = sizeof(struct cache_entry) + nwords * sizeof(uint64_t);
	return (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
	       sizeof(max_align_t);
}

/* Entries are never freed one by one, so they come from a bump arena. */
static struct cache_entry *cache_alloc(struct cache *c, size_t nwords)
{
	size_t size = entry_size(nwords);
	struct arena_chunk *ch = c->chunks;
	if (!ch || ch->size - ch->used < size) {
		size_t cap = size > LIN_ARENA_CHUNK ? size : LIN_ARENA_CHUNK;
		ch = xmalloc(sizeof *ch + cap);
		ch->size = cap;
		ch->used = 0;
		ch->next = c->chunks;
		c->chunks = ch;
	}
	struct cache_entry *e = (void *)((char *)ch->data + ch->used);
	ch->used += size;
	return e;
}

static void cache_grow(struct cache *c)
{
	size_t nb = c->nbuckets * 2;
	struct cache_entry **b = xcalloc(nb, sizeof *b);
	for (size_t i = 0; i < c->nbuckets; i++) {
		struct cache_entry *e = c->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->key & (nb - 1)];
			b[e->key & (nb - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = nb;
}

/*
 * Adds (set, state) under key unless an equal pair is already there.
 * Returns true if it was added; then the cache holds state (and frees it at
 * the end if owns_state).
 */
static bool cache_add(struct cache *c, const struct lin_model *m, uint64_t key,
                      const struct cache_set *set, void *state, bool owns_state)
{
	size_t bytes = set->nwords * sizeof(uint64_t);
	struct cache_entry **b = &c->buckets[key & (c->nbuckets - 1)];
	for (struct cache_entry *e = *b; e; e = e->next) {
		if (e->key != key || e->low != set->low ||
		    e->nwords != set->nwords ||
		    memcmp(e->words, set->words, bytes) != 0)
			continue;
		if (m->equal ? m->equal(e->state, state) : e->state == state)
			return false;
	}
	struct cache_entry *e = cache_alloc(c, set->nwords);
	e->key = key;
	e->state = state;
	e->low = set->low;
	e->nwords = (uint32_t)set->nwords;
	e->owns_state = owns_state;
	memcpy(e->words, set->words, bytes);
	e->next = *b;
	*b = e;
	if (++c->count > c->nbuckets)
		cache_grow(c);
	return true;
}

/* Frees the cache and the states it owns, walking the arena in order (far
 * faster than chasing the bucket chains through memory). */
static void cache_free(struct cache *c, const struct lin_model *m)
{
	free(c->buckets);
	while (c->chunks) {
		struct arena_chunk *ch = c->chunks;
		for (size_t at = 0; at < ch->used;) {
			struct cache_entry *e = (void *)((char *)ch->data + at);
			if (e->owns_state && m->free_state)
				m->free_state(e->state);
			at += entry_size(e->nwords);
		}
		c->chunks = ch->next;
		free(ch);
	}
}

/* A well-mixed 64-bit value (splitmix64's finaliser). Each operation id gets
 * a random-looking value, and a linearized set hashes to the XOR of its
 * members' values (Zobrist hashing), updated in O(1) as ops come and go. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* ---- the parallel driver's shared state ---- */

struct driver {
	const struct lin_model *m;
	const struct lin_op *ops;
	struct lin_part *parts;
	size_t nparts;
	atomic_size_t next_part; /* the next partition to take */
	atomic_bool stop;        /* all searches stop at once */
	bool stop_on_illegal;    /* (porcupine: when not verbose) */
	int64_t deadline_ns;     /* 0: none */
};

/* True if the searches must stop: told to, or out of time. */
static bool driver_should_stop(struct driver *d)
{
	if (atomic_load_explicit(&d->stop, memory_order_relaxed))
		return true;
	if (d->deadline_ns != 0 && labtime_now_ns() >= d->deadline_ns) {
		atomic_store(&d->stop, true);
		return true;
	}
	return false;
}

/* ---- the search over one partition (porcupine's checkSingle) ---- */

struct frame {
	struct lin_node *call; /* the linearized call entry */
	void *state;           /* the state before it */
	uint64_t state_hash;
	size_t high; /* the highest linearized id before it, or SIZE_MAX */
};

struct search {
	const struct lin_model *m;
	struct driver *drv;
	struct lin_part *part;
	const struct lin_op *ops; /* the caller's array */
	size_t *caller;           /* caller's index, by search id */
	size_t n;
	struct lin_node *nodes; /* nodes[0] is the head */
	uint64_t *bits;         /* linearized ops, by search id */
	struct cache cache;
	struct frame *stack;
	size_t depth;
};

static uint64_t state_hash(const struct lin_model *m, const void *state)
{
	return m->hash ? mix64(m->hash(state)) : 0;
}

/* The current linearized set, in the cache's compact form; high is the
 * highest linearized id (SIZE_MAX: none). */
static struct cache_set current_set(const struct search *s, size_t high)
{
	const struct lin_node *first = s->nodes[0].next;
	struct cache_set set;
	set.low = first ? first->id : s->n;
	set.first_word = set.low / 64;
	set.nwords = high != SIZE_MAX && high > set.low
	                     ? high / 64 - set.first_word + 1
	                     : 0;
	set.words = s->bits + set.first_word;
	return set;
}

/* Copies the stack's operations, in linearization order, as the partition's
 * longest linearizable prefix. */
static void keep_stack(struct search *s)
{
	struct lin_part *p = s->part;
	free(p->longest);
	p->longest = xmalloc(s->depth * sizeof *p->longest);
	for (size_t i = 0; i < s->depth; i++)
		p->longest[i] = s->caller[s->stack[i].call->id];
	p->nlongest = s->depth;
}

/* Keeps the stack as the longest linearizable prefix if it is longer than
 * the best so far (or the first); ret is the return entry the search could
 * not get past, i.e. the operation that could not be placed next. */
static void note_dead_end(struct search *s, const struct lin_node *ret)
{
	struct lin_part *p = s->part;
	if (p->failed != LIN_NO_OP && s->depth <= p->nlongest)
		return;
	keep_stack(s);
	p->failed = s->caller[ret->id];
}

/*
 * The depth-first search. The cursor walks the remaining entries in time
 * order; the first remaining return entry bounds which calls may go next
 * (an operation cannot be linearized after one that returned before it was
 * called).
 */
static enum lin_result search_run(struct search *s, void *init_state)
{
	const struct lin_model *m = s->m;
	struct lin_node *head = &s->nodes[0];
	struct lin_node *entry = head->next;
	void *state = init_state;
	uint64_t st_hash = state_hash(m, state);
	uint64_t set_hash = 0; /* Zobrist hash of s->bits */
	size_t high = SIZE_MAX;
	unsigned steps = 0;

	while (head->next) {
		if (++steps % LIN_POLL_STEPS == 0 && driver_should_stop(s->drv))
			return LIN_UNKNOWN;

		if (entry->match) {
			/* A call: try to linearize its operation now. */
			size_t id = entry->id;
			const struct lin_op *op = &s->ops[s->caller[id]];
			void *next = NULL;
			if (m->step(state, op->input, op->output, &next)) {
				uint64_t bit = UINT64_C(1) << (id % 64);
				uint64_t next_hash =
				        next == state ? st_hash
				                      : state_hash(m, next);
				uint64_t next_set = set_hash ^ mix64(id);
				size_t next_high = high == SIZE_MAX || id > high
				                           ? id
				                           : high;
				s->bits[id / 64] |= bit;
				lift(entry);
				struct cache_set set =
				        current_set(s, next_high);
				if (cache_add(&s->cache, m,
				              next_set ^ next_hash, &set, next,
				              next != state)) {
					s->stack[s->depth++] = (struct frame){
					        entry, state, st_hash, high};
					state = next;
					st_hash = next_hash;
					set_hash = next_set;
					high = next_high;
					entry = head->next;
					continue;
				}
				/* Explored before, from another order. */
				unlift(entry);
				s->bits[id / 64] &= ~bit;
				if (next != state && m->free_state)
					m->free_state(next);
			}
			entry = entry->next;
			continue;
		}

		/* A return whose call is not linearized: this order is dead. */
		note_dead_end(s, entry);
		if (s->depth == 0)
			return LIN_ILLEGAL;
		struct frame f = s->stack[--s->depth];
		size_t id = f.call->id;
		state = f.state;
		st_hash = f.state_hash;
		high = f.high;
		set_hash ^= mix64(id);
		s->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
		unlift(f.call);
		entry = f.call->next;
	}
	keep_stack(s);
	s->part->failed = LIN_NO_OP;
	return LIN_OK;
}

static enum lin_result check_partition(struct driver *d, struct lin_part *p)
{
	const struct lin_model *m = d->m;
	struct search s = {
	        .m = m,
	        .drv = d,
	        .part = p,
	        .ops = d->ops,
	        .caller = xmalloc(p->n * sizeof *s.caller),
	        .n = p->n,
	        .nodes = xmalloc((2 * p->n + 1) * sizeof *s.nodes),
	        .bits = xcalloc((p->n + 63) / 64, sizeof *s.bits),
	        .stack = xmalloc(p->n * sizeof *s.stack),
	        .depth = 0,
	};
	build_list(d->ops, p, s.nodes, s.caller);
	cache_init(&s.cache);

	void *init_state = m->init();
	enum lin_result r = search_run(&s, init_state);

	cache_free(&s.cache, m);
	if (m->free_state)
		m->free_state(init_state);
	free(s.stack);
	free(s.bits);
	free(s.nodes);
	free(s.caller);
	return r;
}

/* A worker takes partitions until none is left; the calling thread is one
 * of the workers. */
static void *worker(void *arg)
{
	struct driver *d = arg;
	for (;;) {
		size_t i = atomic_fetch_add(&d->next_part, 1);
		if (i >= d->nparts)
			return NULL;
		struct lin_part *p = &d->parts[i];
		if (driver_should_stop(d)) {
			p->result = LIN_UNKNOWN;
			continue;
		}
		p->result = check_partition(d, p);
		if (p->result != LIN_ILLEGAL)
			p->failed = LIN_NO_OP;
		else if (d->stop_on_illegal)
			atomic_store(&d->stop, true);
	}
}

static size_t thread_count(size_t nparts)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 0 ? (size_t)cpus : 1;
	if (n > LIN_MAX_THREADS)
		n = LIN_MAX_THREADS;
	return n < nparts ? n : nparts;
}

static enum lin_result check(const struct lin_model *m,
                             const struct lin_op *ops, size_t nops,
                             int64_t timeout_ms, struct lin_info **info_out)
{
	int64_t start = labtime_now_ns();
	struct driver d = {
	        .m = m,
	        .ops = ops,
	        .stop_on_illegal = info_out == NULL,
	};
	/* (A budget too large to represent is no limit.) */
	if (timeout_ms > 0 && timeout_ms < (INT64_MAX - start) / 1000000)
		d.deadline_ns = start + timeout_ms * 1000000;
	atomic_init(&d.next_part, 0);
	atomic_init(&d.stop, false);
	d.parts = split_history(m, ops, nops, &d.nparts);

	/* One partition per worker at a time; the caller works too. */
	size_t nthreads = thread_count(d.nparts);
	pthread_t tids[LIN_MAX_THREADS];
	size_t started = 0;
	for (size_t i = 1; i < nthreads; i++) {
		if (pthread_create(&tids[started], NULL, worker, &d) != 0)
			break; /* fewer threads, same result */
		started++;
	}
	worker(&d);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);

	/* Illegal anywhere wins; then a partition without a verdict. */
	enum lin_result r = LIN_OK;
	for (size_t i = 0; i < d.nparts; i++) {
		if (d.parts[i].result == LIN_ILLEGAL)
			r = LIN_ILLEGAL;
		else if (d.parts[i].result == LIN_UNKNOWN && r == LIN_OK)
			r = LIN_UNKNOWN;
	}

	if (info_out) {
		struct lin_info *info = xmalloc(sizeof *info);
		info->ops = ops;
		info->nops = nops;
		info->parts = d.parts;
		info->nparts = d.nparts;
		*info_out = info;
	} else {
		parts_free(d.parts, d.nparts);
	}
	return r;
}

/* In the sim build the search runs outside the simulation, on real threads
 * and against its real-time budget, while the simulated threads stand still:
 * it is CPU work that no test step waits on the timing of. */
enum lin_result lin_check(const struct lin_model *m, const struct lin_op *ops,
                          size_t nops, int64_t timeout_ms,
                          struct lin_info **info_out)
{
	sim_suspend();
	enum lin_result r = check(m, ops, nops, timeout_ms, info_out);
	sim_resume();
	return r;
}
