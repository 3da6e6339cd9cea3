/*
 * lincheck.c: the linearizability search (porcupine's checkSingle) and the
 * driver that checks partitions in turns (porcupine's checkParallel, made
 * fair), and the entry point for histories of events (CheckEvents). The
 * models live in kv_model.c and register_model.c and the HTML page in
 * visualize.c; they use only lincheck.h.
 *
 * The search is Wing & Gong's algorithm with Lowe's memoisation: walk a
 * time-ordered list of call and return entries; linearize ("lift") a call
 * whose step is legal, and backtrack when a return is reached whose call has
 * not been linearized yet. A cache of (set of linearized ops, state) pairs
 * already explored prunes configurations reached by another order.
 */
#include "lincheck/lincheck.h"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <time.h>

#include "sim/sim.h"

enum {
	LIN_MAX_THREADS = 8,       /* partitions checked at once, at most */
	LIN_POLL_STEPS = 256,      /* search steps between time checks */
	LIN_ARENA_CHUNK = 1 << 20, /* bytes per cache arena chunk */
	LIN_SLICE_NS = 5000000     /* a partition's turn: 5 ms */
};

/* The monotonic clock, in nanoseconds (the library needs nothing else of
 * raftlab; in the sim build the check runs outside the simulation, so this
 * is real time there too). */
static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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

/* Frees a state the checker owns (NULL is a state, and not freed). The
 * checker owns the states it got from init and step; it sees them as
 * const, since they never change, but freeing them is its job. */
static void release(const struct lin_model *m, const void *state)
{
	if (state && m->free_state)
		m->free_state((void *)state);
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
	size_t failed;      /* caller's index, or LIN_NO_OP */
	enum lin_stop stop; /* why it is LIN_UNKNOWN */
};

struct lin_info {
	const struct lin_op *ops;
	size_t nops;
	struct lin_part *parts;
	size_t nparts;
	size_t peak_memory, max_memory;
	struct lin_op *owned_ops; /* lin_check_events's, or NULL */
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
	free(info->owned_ops);
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

enum lin_stop lin_info_partition_stop(const struct lin_info *info, size_t p)
{
	return info->parts[p].result == LIN_UNKNOWN ? info->parts[p].stop
	                                            : LIN_STOP_NONE;
}

size_t lin_info_peak_memory(const struct lin_info *info)
{
	return info->peak_memory;
}

size_t lin_info_max_memory(const struct lin_info *info)
{
	return info->max_memory;
}

const char *lin_stop_name(enum lin_stop why)
{
	switch (why) {
	case LIN_STOP_NONE:
		return "none";
	case LIN_STOP_TIME:
		return "time";
	case LIN_STOP_MEMORY:
		return "memory";
	case LIN_STOP_ILLEGAL:
		return "illegal elsewhere";
	}
	return "?";
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
	const void *state;
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
	size_t bytes; /* the buckets and the arena */
	bool frozen;  /* no more growing: the deadline is near */
};

static void cache_init(struct cache *c)
{
	c->nbuckets = 1024;
	c->buckets = xcalloc(c->nbuckets, sizeof *c->buckets);
	c->count = 0;
	c->chunks = NULL;
	c->bytes = c->nbuckets * sizeof *c->buckets;
	c->frozen = false;
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
		c->bytes += sizeof *ch + cap;
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
	c->bytes += (nb - c->nbuckets) * sizeof *b;
	c->nbuckets = nb;
}

/*
 * Adds (set, state) under key unless an equal pair is already there.
 * Returns true if it was added; then the cache holds state (and frees it at
 * the end if owns_state).
 */
static bool cache_add(struct cache *c, const struct lin_model *m, uint64_t key,
                      const struct cache_set *set, const void *state,
                      bool owns_state)
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
	if (++c->count > c->nbuckets && !c->frozen)
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
			if (e->owns_state)
				release(m, e->state);
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

/* ---- the driver's shared state ---- */

/*
 * Partitions are checked in turns: a worker takes the partition at the head
 * of the queue, searches it for one slice of time, and puts it back at the
 * tail if it has no verdict yet. Every partition thus gets a fair share of
 * the budget whatever the order of their names, and an illegal one is found
 * within its share even behind partitions whose search is exponential.
 */
struct task {
	struct lin_part *part;
	struct search *search; /* NULL before its first turn and when done */
	atomic_size_t bytes;   /* what its search holds, as last measured */
	atomic_bool drop;      /* over the memory limit: stop it */
	bool done;             /* (under the driver's lock) */
};

struct driver {
	const struct lin_model *m;
	const struct lin_op *ops;
	struct lin_part *parts;
	struct task *tasks;
	size_t nparts;
	bool stop_on_illegal; /* not a full report */
	int64_t deadline_ns;  /* 0: none */
	size_t nthreads;

	pthread_mutex_t mu; /* guards the queue, busy and the tasks' done */
	pthread_cond_t cv;
	size_t *queue; /* a ring of task indices */
	size_t qhead, qlen;
	size_t busy; /* tasks taken from the queue and not yet back */

	atomic_int
	        stop; /* every search stops, for this reason (enum lin_stop) */

	/* Memory: the process's resident size above rss_base (Linux), else
	 * the searches' own count, against max_memory. */
	size_t max_memory;
	int statm_fd; /* /proc/self/statm, or -1 */
	atomic_size_t rss_base;
	atomic_size_t peak;
	atomic_size_t entries;    /* cache entries held, all searches */
	atomic_int drops_pending; /* tasks told to drop, not yet freed */
};

/* Stops every search for reason why; the first reason given stays. */
static void driver_stop(struct driver *d, enum lin_stop why)
{
	int none = LIN_STOP_NONE;
	atomic_compare_exchange_strong(&d->stop, &none, (int)why);
}

/* The process's resident size in bytes, or 0 if unknown. */
static size_t resident_bytes(const struct driver *d)
{
	if (d->statm_fd < 0)
		return 0;
	char buf[128];
	ssize_t n = pread(d->statm_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	unsigned long long size, resident;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* What the searches hold by their own count, as last published. */
static size_t searches_bytes(struct driver *d)
{
	size_t own = 0;
	for (size_t i = 0; i < d->nparts; i++)
		own += atomic_load_explicit(&d->tasks[i].bytes,
		                            memory_order_relaxed);
	return own;
}

/* What the check holds now: the growth of the process's resident size
 * since it began, or where that is unknown the searches' own count. */
static size_t memory_in_use(struct driver *d)
{
	size_t own = searches_bytes(d);
	size_t rss = resident_bytes(d), base = atomic_load(&d->rss_base);
	size_t used = rss > base ? rss - base : 0;
	if (rss == 0 || own > used)
		used = own;
	size_t peak = atomic_load(&d->peak);
	while (used > peak &&
	       !atomic_compare_exchange_weak(&d->peak, &peak, used)) {
	}
	return used;
}

/* Over the limit: the partition holding the most is told to stop (one at
 * a time, so that memory freed is seen before another is chosen). */
static void enforce_memory_limit(struct driver *d)
{
	/* Headroom for what is allocated before the victim sees its flag and
	 * while it frees: a sixteenth of the limit. */
	if (atomic_load(&d->drops_pending) > 0 ||
	    memory_in_use(d) <= d->max_memory - d->max_memory / 16)
		return;
	pthread_mutex_lock(&d->mu);
	struct task *victim = NULL;
	size_t most = 0;
	for (size_t i = 0; i < d->nparts; i++) {
		struct task *t = &d->tasks[i];
		size_t b = atomic_load(&t->bytes);
		if (!t->done && t->search && !atomic_load(&t->drop) &&
		    (!victim || b > most)) {
			victim = t;
			most = b;
		}
	}
	if (victim && atomic_load(&d->drops_pending) == 0) {
		atomic_fetch_add(&d->drops_pending, 1);
		atomic_store(&victim->drop, true);
	}
	pthread_mutex_unlock(&d->mu);
}

/* ---- the search over one partition (porcupine's checkSingle) ---- */

struct frame {
	struct lin_node *call; /* the linearized call entry */
	const void *state;     /* the state before it */
	uint64_t state_hash;
	size_t high; /* the highest linearized id before it, or SIZE_MAX */
};

struct search {
	const struct lin_model *m;
	struct driver *drv;
	struct task *task;
	struct lin_part *part;
	const struct lin_op *ops; /* the caller's array */
	size_t *caller;           /* caller's index, by search id */
	size_t n;
	struct lin_node *nodes; /* nodes[0] is the head */
	uint64_t *bits;         /* linearized ops, by search id */
	struct cache cache;
	struct frame *stack;
	size_t depth;
	size_t fixed_bytes; /* the arrays above */

	/* Where the search stands between turns. */
	struct lin_node *entry;
	const void *init_state, *state;
	uint64_t st_hash;
	uint64_t set_hash; /* Zobrist hash of bits */
	size_t high;
	size_t entries_counted; /* cache entries added to drv->entries */
	int64_t next_memory_check;
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

/* How a turn of the search ended. */
enum run {
	RUN_GO,      /* (not an end: go on) */
	RUN_OK,      /* linearizable */
	RUN_ILLEGAL, /* not linearizable */
	RUN_PAUSED,  /* the slice is over: the search resumes next turn */
	RUN_STOPPED, /* stopped for good: time, memory, or illegal elsewhere */
};

/* Bytes a cache entry costs besides its words: the entry's arena share is
 * counted exactly, this is the state it holds (the model's allocation, as
 * a guess) and malloc's overhead. */
enum { STATE_BYTES_GUESS = 48 };

/* The time left at the deadline must cover freeing what the searches hold,
 * about 33 ns per cache entry on one thread (measured with lincheck_bench's
 * budget cases); and a cache that doubles its buckets rehashes every entry,
 * at about as much again, so none grows when that would overrun. */
enum { FREE_NS_PER_ENTRY = 40, GROW_NS_PER_ENTRY = 40 };

/* Called every LIN_POLL_STEPS steps: publishes what the search holds and
 * says whether it goes on. */
static enum run poll_turn(struct search *s, int64_t slice_end)
{
	struct driver *d = s->drv;
	struct task *t = s->task;
	size_t added = s->cache.count - s->entries_counted;
	s->entries_counted = s->cache.count;
	size_t entries = atomic_fetch_add(&d->entries, added) + added;
	atomic_store_explicit(&t->bytes,
	                      s->fixed_bytes + s->cache.bytes +
	                              s->cache.count * STATE_BYTES_GUESS,
	                      memory_order_relaxed);
	if (atomic_load_explicit(&d->stop, memory_order_relaxed) !=
	            LIN_STOP_NONE ||
	    atomic_load_explicit(&t->drop, memory_order_relaxed))
		return RUN_STOPPED;
	int64_t now = now_ns();
	if (d->deadline_ns != 0) {
		int64_t margin =
		        (int64_t)(entries * FREE_NS_PER_ENTRY / d->nthreads);
		if (now >= d->deadline_ns - margin) {
			driver_stop(d, LIN_STOP_TIME);
			return RUN_STOPPED;
		}
		int64_t grow = (int64_t)(s->cache.count * GROW_NS_PER_ENTRY);
		s->cache.frozen = now >= d->deadline_ns - margin - grow;
	}
	if (now >= s->next_memory_check) {
		s->next_memory_check = now + 1000 * 1000;
		enforce_memory_limit(d);
		if (atomic_load(&t->drop))
			return RUN_STOPPED;
	}
	return now >= slice_end ? RUN_PAUSED : RUN_GO;
}

/*
 * The depth-first search, for one turn: until a verdict or slice_end. The
 * cursor walks the remaining entries in time order; the first remaining
 * return entry bounds which calls may go next (an operation cannot be
 * linearized after one that returned before it was called).
 */
static enum run search_run(struct search *s, int64_t slice_end)
{
	const struct lin_model *m = s->m;
	struct lin_node *head = &s->nodes[0];
	unsigned steps = 0;

	while (head->next) {
		if (++steps % LIN_POLL_STEPS == 0) {
			enum run r = poll_turn(s, slice_end);
			if (r != RUN_GO)
				return r;
		}
		struct lin_node *entry = s->entry;
		if (entry->match) {
			/* A call: try to linearize its operation now. */
			size_t id = entry->id;
			const struct lin_op *op = &s->ops[s->caller[id]];
			const void *next = NULL;
			if (m->step(s->state, op->input, op->output, &next)) {
				uint64_t bit = UINT64_C(1) << (id % 64);
				uint64_t next_hash =
				        next == s->state ? s->st_hash
				                         : state_hash(m, next);
				uint64_t next_set = s->set_hash ^ mix64(id);
				size_t next_high =
				        s->high == SIZE_MAX || id > s->high
				                ? id
				                : s->high;
				s->bits[id / 64] |= bit;
				lift(entry);
				struct cache_set set =
				        current_set(s, next_high);
				if (cache_add(&s->cache, m,
				              next_set ^ next_hash, &set, next,
				              next != s->state)) {
					s->stack[s->depth++] = (struct frame){
					        entry, s->state, s->st_hash,
					        s->high};
					s->state = next;
					s->st_hash = next_hash;
					s->set_hash = next_set;
					s->high = next_high;
					s->entry = head->next;
					continue;
				}
				/* Explored before, from another order. */
				unlift(entry);
				s->bits[id / 64] &= ~bit;
				if (next != s->state)
					release(m, next);
			}
			s->entry = entry->next;
			continue;
		}

		/* A return whose call is not linearized: this order is dead. */
		note_dead_end(s, entry);
		if (s->depth == 0)
			return RUN_ILLEGAL;
		struct frame f = s->stack[--s->depth];
		size_t id = f.call->id;
		s->state = f.state;
		s->st_hash = f.state_hash;
		s->high = f.high;
		s->set_hash ^= mix64(id);
		s->bits[id / 64] &= ~(UINT64_C(1) << (id % 64));
		unlift(f.call);
		s->entry = f.call->next;
	}
	keep_stack(s);
	s->part->failed = LIN_NO_OP;
	return RUN_OK;
}

static struct search *search_new(struct driver *d, struct task *t)
{
	struct lin_part *p = t->part;
	struct search *s = xmalloc(sizeof *s);
	*s = (struct search){
	        .m = d->m,
	        .drv = d,
	        .task = t,
	        .part = p,
	        .ops = d->ops,
	        .caller = xmalloc(p->n * sizeof *s->caller),
	        .n = p->n,
	        .nodes = xmalloc((2 * p->n + 1) * sizeof *s->nodes),
	        .bits = xcalloc((p->n + 63) / 64, sizeof *s->bits),
	        .stack = xmalloc(p->n * sizeof *s->stack),
	        .high = SIZE_MAX,
	};
	s->fixed_bytes = p->n * (sizeof *s->caller + 2 * sizeof *s->nodes +
	                         sizeof *s->stack) +
	                 (p->n + 63) / 64 * sizeof *s->bits;
	build_list(d->ops, p, s->nodes, s->caller);
	cache_init(&s->cache);
	s->init_state = d->m->init();
	s->state = s->init_state;
	s->st_hash = state_hash(d->m, s->state);
	s->entry = s->nodes[0].next;
	return s;
}

static void search_free(struct search *s)
{
	struct driver *d = s->drv;
	cache_free(&s->cache, s->m);
	release(s->m, s->init_state);
	atomic_fetch_sub(&d->entries, s->entries_counted);
	atomic_store(&s->task->bytes, 0);
	free(s->stack);
	free(s->bits);
	free(s->nodes);
	free(s->caller);
	free(s);
}

/* Ends a task's search with its verdict, or why it has none. */
static void finish_task(struct driver *d, struct task *t, enum run r)
{
	struct lin_part *p = t->part;
	bool dropped = atomic_load(&t->drop);
	switch (r) {
	case RUN_OK:
		p->result = LIN_OK;
		break;
	case RUN_ILLEGAL:
		p->result = LIN_ILLEGAL;
		if (d->stop_on_illegal)
			driver_stop(d, LIN_STOP_ILLEGAL);
		break;
	default:
		p->result = LIN_UNKNOWN;
		p->stop = dropped ? LIN_STOP_MEMORY
		                  : (enum lin_stop)atomic_load(&d->stop);
		if (p->stop == LIN_STOP_NONE)
			p->stop = LIN_STOP_TIME;
		break;
	}
	if (p->result != LIN_ILLEGAL)
		p->failed = LIN_NO_OP;
	if (t->search) {
		search_free(t->search);
		t->search = NULL;
	}
	if (dropped) {
#ifdef __GLIBC__
		malloc_trim(0); /* so that the resident size shows it */
#endif
		/* What is still resident was not given back to the system:
		 * not the searches' any more. */
		size_t rss = resident_bytes(d), own = searches_bytes(d);
		if (rss > own && rss - own > atomic_load(&d->rss_base))
			atomic_store(&d->rss_base, rss - own);
		atomic_fetch_sub(&d->drops_pending, 1);
	}
}

/* One turn of task t. Returns true if it goes back in the queue. */
static bool take_turn(struct driver *d, struct task *t)
{
	enum run r;
	if (atomic_load(&d->stop) != LIN_STOP_NONE || atomic_load(&t->drop)) {
		r = RUN_STOPPED;
	} else {
		if (!t->search)
			t->search = search_new(d, t);
		t->search->next_memory_check = 0;
		r = search_run(t->search, now_ns() + LIN_SLICE_NS);
		if (r == RUN_PAUSED)
			return true;
	}
	finish_task(d, t, r);
	return false;
}

/* A worker takes turns until no partition is left; the calling thread is
 * one of the workers. */
static void *worker(void *arg)
{
	struct driver *d = arg;
	pthread_mutex_lock(&d->mu);
	for (;;) {
		/* A task another worker holds may come back. */
		while (d->qlen == 0 && d->busy > 0)
			pthread_cond_wait(&d->cv, &d->mu);
		if (d->qlen == 0)
			break;
		size_t i = d->queue[d->qhead];
		d->qhead = (d->qhead + 1) % d->nparts;
		d->qlen--;
		d->busy++;
		pthread_mutex_unlock(&d->mu);

		bool again = take_turn(d, &d->tasks[i]);

		pthread_mutex_lock(&d->mu);
		d->busy--;
		if (again) {
			d->queue[(d->qhead + d->qlen) % d->nparts] = i;
			d->qlen++;
		} else {
			d->tasks[i].done = true;
		}
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

static size_t thread_count(size_t nparts)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = cpus > 0 ? (size_t)cpus : 1;
	if (n > LIN_MAX_THREADS)
		n = LIN_MAX_THREADS;
	return n < nparts ? n : nparts;
}

size_t lin_default_max_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	size_t limit = LIN_DEFAULT_MAX_MEMORY;
	if (pages > 0 && size > 0 && (size_t)pages / 4 * (size_t)size < limit)
		limit = (size_t)pages / 4 * (size_t)size;
	return limit;
}

static enum lin_result check(const struct lin_model *m,
                             const struct lin_op *ops, size_t nops,
                             const struct lin_options *opt,
                             struct lin_info **info_out)
{
	int64_t start = now_ns();
	struct driver d = {
	        .m = m,
	        .ops = ops,
	        .stop_on_illegal = !opt->full_report,
	        .max_memory = opt->max_memory ? opt->max_memory
	                                      : lin_default_max_memory(),
	};
	/* (A budget too large to represent is no limit.) */
	if (opt->timeout_ms > 0 &&
	    opt->timeout_ms < (INT64_MAX - start) / 1000000)
		d.deadline_ns = start + opt->timeout_ms * 1000000;
	atomic_init(&d.stop, LIN_STOP_NONE);
	atomic_init(&d.peak, 0);
	atomic_init(&d.entries, 0);
	atomic_init(&d.drops_pending, 0);
	d.parts = split_history(m, ops, nops, &d.nparts);
	d.tasks = xcalloc(d.nparts, sizeof *d.tasks);
	d.queue = xmalloc(d.nparts * sizeof *d.queue);
	for (size_t i = 0; i < d.nparts; i++) {
		d.tasks[i].part = &d.parts[i];
		atomic_init(&d.tasks[i].bytes, 0);
		atomic_init(&d.tasks[i].drop, false);
		d.queue[i] = i;
	}
	d.qlen = d.nparts;
	d.nthreads = thread_count(d.nparts);
	if (d.nthreads == 0)
		d.nthreads = 1;
	d.statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	atomic_init(&d.rss_base, resident_bytes(&d));
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);

	pthread_t tids[LIN_MAX_THREADS];
	size_t started = 0;
	for (size_t i = 1; i < d.nthreads; i++) {
		if (pthread_create(&tids[started], NULL, worker, &d) != 0)
			break; /* fewer threads, same result */
		started++;
	}
	worker(&d);
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_cond_destroy(&d.cv);
	pthread_mutex_destroy(&d.mu);
	if (d.statm_fd >= 0)
		close(d.statm_fd);

	/* Illegal anywhere wins; then a partition without a verdict. */
	enum lin_result r = LIN_OK;
	for (size_t i = 0; i < d.nparts; i++) {
		if (d.parts[i].result == LIN_ILLEGAL)
			r = LIN_ILLEGAL;
		else if (d.parts[i].result == LIN_UNKNOWN && r == LIN_OK)
			r = LIN_UNKNOWN;
	}
	free(d.tasks);
	free(d.queue);

	if (info_out) {
		struct lin_info *info = xmalloc(sizeof *info);
		info->ops = ops;
		info->nops = nops;
		info->parts = d.parts;
		info->nparts = d.nparts;
		info->peak_memory = atomic_load(&d.peak);
		info->max_memory = d.max_memory;
		info->owned_ops = NULL;
		*info_out = info;
	} else {
		parts_free(d.parts, d.nparts);
	}
	return r;
}

/* In the sim build the search runs outside the simulation, on real threads
 * and against its real-time budget, while the simulated threads stand still:
 * it is CPU work that no test step waits on the timing of. */
enum lin_result lin_check_with(const struct lin_model *m,
                               const struct lin_op *ops, size_t nops,
                               const struct lin_options *opt,
                               struct lin_info **info_out)
{
	static const struct lin_options defaults;
	sim_suspend();
	enum lin_result r =
	        check(m, ops, nops, opt ? opt : &defaults, info_out);
	sim_resume();
	return r;
}

enum lin_result lin_check(const struct lin_model *m, const struct lin_op *ops,
                          size_t nops, int64_t timeout_ms,
                          struct lin_info **info_out)
{
	struct lin_options opt = {.timeout_ms = timeout_ms};
	return lin_check_with(m, ops, nops, &opt, info_out);
}

/* ---- histories of events ---- */

struct call_at {
	size_t id;
	size_t op; /* the operation's index: the how-manyth call */
};

static int call_at_cmp(const void *a, const void *b)
{
	const struct call_at *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static const struct call_at *find_call(const struct call_at *calls, size_t n,
                                       size_t id)
{
	struct call_at key = {id, 0};
	return bsearch(&key, calls, n, sizeof *calls, call_at_cmp);
}

/* The operations of an event history, or NULL and *error. */
static struct lin_op *ops_of_events(const struct lin_event *ev, size_t n,
                                    size_t *nops, const char **error)
{
	size_t ncalls = 0;
	for (size_t i = 0; i < n; i++)
		ncalls += ev[i].kind == LIN_CALL;
	struct call_at *calls = xmalloc(ncalls * sizeof *calls);
	struct lin_op *ops = xcalloc(ncalls, sizeof *ops);
	bool *returned = xcalloc(ncalls, sizeof *returned);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].kind != LIN_CALL)
			continue;
		calls[k] = (struct call_at){ev[i].id, k};
		ops[k] = (struct lin_op){ev[i].client_id, (int64_t)i,
		                         (int64_t)n, ev[i].value, NULL};
		k++;
	}
	qsort(calls, ncalls, sizeof *calls, call_at_cmp);
	*error = NULL;
	for (size_t i = 1; i < ncalls && !*error; i++)
		if (calls[i].id == calls[i - 1].id)
			*error = "two calls have one id";
	for (size_t i = 0; i < n && !*error; i++) {
		if (ev[i].kind == LIN_CALL)
			continue;
		if (ev[i].kind != LIN_RETURN) {
			*error = "an event is neither a call nor a return";
			break;
		}
		const struct call_at *c = find_call(calls, ncalls, ev[i].id);
		if (!c || ops[c->op].call_ns > (int64_t)i)
			*error = "a return comes before its call, or has none";
		else if (returned[c->op])
			*error = "a call returns twice";
		else {
			returned[c->op] = true;
			ops[c->op].return_ns = (int64_t)i;
			ops[c->op].output = ev[i].value;
		}
	}
	free(returned);
	free(calls);
	if (*error) {
		free(ops);
		return NULL;
	}
	*nops = ncalls;
	return ops;
}

enum lin_result lin_check_events(const struct lin_model *m,
                                 const struct lin_event *events, size_t n,
                                 const struct lin_options *opt,
                                 struct lin_info **info_out, const char **error)
{
	const char *why;
	size_t nops = 0;
	struct lin_op *ops = ops_of_events(events, n, &nops, &why);
	if (error)
		*error = why;
	if (info_out)
		*info_out = NULL;
	if (!ops)
		return LIN_UNKNOWN;
	enum lin_result r = lin_check_with(m, ops, nops, opt, info_out);
	if (info_out && *info_out)
		(*info_out)->owned_ops = ops;
	else
		free(ops);
	return r;
}
