/*
 * server.c: the reference key/value server (kvraft.h). Put and Append go
 * through the Raft log as operations; each server applies the committed
 * operations in log order to its map, skipping a Put or Append it has
 * already executed (the duplicate table remembers each clerk's last
 * sequence number). The handler that submitted an operation waits until it
 * is applied, and gives up (ErrWrongLeader: the clerk tries elsewhere) when
 * another operation took its index, its term passed, or too long went by.
 * A Get adds nothing to the log (§8): Raft confirms that this server still
 * leads and gives a read index (raft_read_index); once the map has applied
 * everything through it, the map answers. A new leader's first read starts
 * a no-op operation, the entry of its term that §8 asks for.
 * Not for: the clerk (client.c) or the wire format (rpc.c).
 *
 * Threads: the labrpc handlers, and one apply thread that receives from the
 * Raft peer's apply channel, applies, wakes handlers and snapshots. kv->mu
 * guards the map, the duplicate table, last_applied and the waiters; it is
 * never held while calling into Raft, so Raft may block on its apply channel
 * for as long as it likes.
 */
#include "kvraft/kvraft.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/chan.h"
#include "kvraft/settings.h"
#include "labtime/labtime.h"
#include "rlog/rlog.h"

/* A handler gives up waiting for its operation after this long... */
#define WAIT_LIMIT_MS 500
/* ...and checks meanwhile, this often, that its leader's term goes on. */
#define TERM_CHECK_MS 100

#define MS_NS INT64_C(1000000)

static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (p == NULL) {
		fputs("kvraft: out of memory\n", stderr);
		abort();
	}
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL) {
		fputs("kvraft: out of memory\n", stderr);
		abort();
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;
	return memcpy(xmalloc(len), s, len);
}

/* ---- the map: key -> value, a chained hash table ---- */

struct kv_pair {
	char *key;
	char *value; /* NUL-terminated, len bytes, room for cap */
	size_t len, cap;
	struct kv_pair *next;
};

struct kv_map {
	struct kv_pair **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * UINT64_C(1099511628211);
	return h;
}

static void map_init(struct kv_map *m)
{
	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	m->count = 0;
}

static void map_free(struct kv_map *m)
{
	for (size_t b = 0; b < m->nbuckets; b++) {
		struct kv_pair *p = m->buckets[b];
		while (p != NULL) {
			struct kv_pair *next = p->next;
			free(p->key);
			free(p->value);
			free(p);
			p = next;
		}
	}
	free(m->buckets);
	*m = (struct kv_map){0};
}

static struct kv_pair *map_find(const struct kv_map *m, const char *key)
{
	struct kv_pair *p = m->buckets[hash_str(key) & (m->nbuckets - 1)];
	while (p != NULL && strcmp(p->key, key) != 0)
		p = p->next;
	return p;
}

/* The pair for key, made (with value "") if missing. */
static struct kv_pair *map_get_or_add(struct kv_map *m, const char *key)
{
	struct kv_pair *p = map_find(m, key);
	if (p != NULL)
		return p;
	if (m->count >= m->nbuckets) { /* keep chains short: rehash */
		size_t n = m->nbuckets * 2;
		struct kv_pair **buckets = xcalloc(n, sizeof *buckets);
		for (size_t b = 0; b < m->nbuckets; b++) {
			while (m->buckets[b] != NULL) {
				struct kv_pair *q = m->buckets[b];
				m->buckets[b] = q->next;
				size_t nb = hash_str(q->key) & (n - 1);
				q->next = buckets[nb];
				buckets[nb] = q;
			}
		}
		free(m->buckets);
		m->buckets = buckets;
		m->nbuckets = n;
	}
	p = xcalloc(1, sizeof *p);
	p->key = xstrdup(key);
	p->cap = 16;
	p->value = xcalloc(p->cap, 1);
	size_t b = hash_str(key) & (m->nbuckets - 1);
	p->next = m->buckets[b];
	m->buckets[b] = p;
	m->count++;
	return p;
}

/* Sets (append false) or appends to (append true) key's value. */
static void map_write(struct kv_map *m, const char *key, const char *value,
                      size_t len, bool append)
{
	struct kv_pair *p = map_get_or_add(m, key);
	size_t need = (append ? p->len : 0) + len + 1;
	if (need > p->cap) {
		size_t cap = p->cap;
		while (cap < need)
			cap *= 2;
		char *v = realloc(p->value, cap);
		if (v == NULL) {
			fputs("kvraft: out of memory\n", stderr);
			abort();
		}
		p->value = v;
		p->cap = cap;
	}
	if (!append)
		p->len = 0;
	memcpy(p->value + p->len, value, len);
	p->len += len;
	p->value[p->len] = '\0';
}

/* ---- the duplicate table: clerk id -> its last executed sequence ---- */

struct dup_entry {
	uint64_t client_id;
	uint64_t seq; /* the last Put/Append of this clerk applied */
	struct dup_entry *next;
};

struct dup_table {
	struct dup_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
};

static void dups_init(struct dup_table *d)
{
	d->nbuckets = 16;
	d->buckets = xcalloc(d->nbuckets, sizeof *d->buckets);
	d->count = 0;
}

static void dups_free(struct dup_table *d)
{
	for (size_t b = 0; b < d->nbuckets; b++) {
		struct dup_entry *e = d->buckets[b];
		while (e != NULL) {
			struct dup_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(d->buckets);
	*d = (struct dup_table){0};
}

static size_t dup_bucket(const struct dup_table *d, uint64_t client_id)
{
	return (size_t)((client_id * UINT64_C(0x9e3779b97f4a7c15)) >> 32) &
	       (d->nbuckets - 1);
}

/* The last sequence number applied for client_id, 0 if none. */
static uint64_t dups_last(const struct dup_table *d, uint64_t client_id)
{
	for (struct dup_entry *e = d->buckets[dup_bucket(d, client_id)];
	     e != NULL; e = e->next)
		if (e->client_id == client_id)
			return e->seq;
	return 0;
}

static void dups_set(struct dup_table *d, uint64_t client_id, uint64_t seq)
{
	struct dup_entry **head = &d->buckets[dup_bucket(d, client_id)];
	for (struct dup_entry *e = *head; e != NULL; e = e->next) {
		if (e->client_id == client_id) {
			e->seq = seq;
			return;
		}
	}
	if (d->count >= d->nbuckets) { /* rehash */
		size_t n = d->nbuckets * 2;
		struct dup_entry **buckets = xcalloc(n, sizeof *buckets);
		struct dup_table bigger = {buckets, n, d->count};
		for (size_t b = 0; b < d->nbuckets; b++) {
			while (d->buckets[b] != NULL) {
				struct dup_entry *e = d->buckets[b];
				d->buckets[b] = e->next;
				size_t nb = dup_bucket(&bigger, e->client_id);
				e->next = buckets[nb];
				buckets[nb] = e;
			}
		}
		free(d->buckets);
		*d = bigger;
		head = &d->buckets[dup_bucket(d, client_id)];
	}
	struct dup_entry *e = xmalloc(sizeof *e);
	*e = (struct dup_entry){client_id, seq, *head};
	*head = e;
	d->count++;
}

/* ---- operations: what goes through the Raft log ---- */

/* OP_GET: only with log reads (kv_settings_log_reads); OP_NOOP: a new
 * leader's entry of its own term, for reads. */
enum op_type { OP_GET = 0, OP_PUT = 1, OP_APPEND = 2, OP_NOOP = 3 };

/* One operation (Go: the Op struct). Strings borrowed when encoding, owned
 * (malloc'd by the codec) after op_decode. */
struct op {
	int type; /* enum op_type */
	char *key;
	char *value;
	uint64_t client_id;
	uint64_t seq;
};

static uint8_t *op_encode(const struct op *op, size_t *len)
{
	struct codec_buf b;
	codec_buf_init(&b);
	codec_put_varint(&b, op->type);
	codec_put_str(&b, op->key);
	codec_put_str(&b, op->value);
	codec_put_uvarint(&b, op->client_id);
	codec_put_uvarint(&b, op->seq);
	return codec_buf_take(&b, len);
}

static int op_decode(const void *data, size_t len, struct op *op)
{
	struct codec_reader r;
	uint8_t *key = NULL, *value = NULL;
	size_t n;
	int type = -1;
	codec_reader_init(&r, data, len);
	codec_get_int(&r, &type);
	codec_get_bytes(&r, &key, &n);
	codec_get_bytes(&r, &value, &n);
	codec_get_uvarint(&r, &op->client_id);
	codec_get_uvarint(&r, &op->seq);
	int err = codec_finish(&r);
	if (err == CODEC_OK && (type < OP_GET || type > OP_NOOP))
		err = CODEC_ERANGE;
	if (err != CODEC_OK) {
		free(key);
		free(value);
		return err;
	}
	op->type = type;
	op->key = (char *)key;
	op->value = (char *)value;
	return CODEC_OK;
}

/* ---- the server ---- */

/* A handler waiting for its operation to be applied. */
struct waiter {
	uint64_t client_id, seq; /* the operation */
	int index;               /* where raft_start put it; 0 until known */
	bool done;               /* applied; the result is below */
	bool lost;               /* another operation took index */
	bool found;              /* Get: the key existed */
	char *value;             /* Get: the value (owned) */
	pthread_cond_t cond;     /* signalled when done or lost is set */
	struct waiter *next;
};

struct kv_server {
	pthread_mutex_t mu;
	int me;
	int maxraftstate;
	struct raft *rf;
	struct persister *persister; /* the tester's */
	struct chan *apply_ch;       /* unbuffered, ours */
	pthread_t applier;
	atomic_bool dead;

	/* (mu) the state machine and what it has applied */
	struct kv_map map;
	struct dup_table dups;
	int last_applied;     /* the index of the last operation applied */
	int last_snapshot;    /* the index of the last snapshot taken */
	size_t unsnapshotted; /* command bytes applied since then */
	struct waiter *waiters;
	int readers;                 /* Gets waiting on applied_cond */
	pthread_cond_t applied_cond; /* last_applied moved (or dead) */
	int noop_term;               /* the last term a no-op was started in */
	bool log_reads;              /* Gets go through the log */
};

/* ---- snapshots: last_applied, the map and the duplicate table ---- */

static uint8_t *snapshot_encode(const struct kv_server *kv, size_t *len)
{
	struct codec_buf b;
	codec_buf_init(&b);
	codec_put_varint(&b, kv->last_applied);
	codec_put_seq(&b, kv->map.count);
	for (size_t i = 0; i < kv->map.nbuckets; i++) {
		for (const struct kv_pair *p = kv->map.buckets[i]; p != NULL;
		     p = p->next) {
			codec_put_str(&b, p->key);
			codec_put_bytes(&b, p->value, p->len);
		}
	}
	codec_put_seq(&b, kv->dups.count);
	for (size_t i = 0; i < kv->dups.nbuckets; i++) {
		for (const struct dup_entry *e = kv->dups.buckets[i]; e != NULL;
		     e = e->next) {
			codec_put_uvarint(&b, e->client_id);
			codec_put_uvarint(&b, e->seq);
		}
	}
	return codec_buf_take(&b, len);
}

/* Replaces the state machine by the snapshot's, with mu held. */
static int snapshot_restore(struct kv_server *kv, const void *data, size_t len)
{
	struct codec_reader r;
	struct kv_map map;
	struct dup_table dups;
	int last_applied = 0;
	size_t n = 0;

	map_init(&map);
	dups_init(&dups);
	codec_reader_init(&r, data, len);
	codec_get_int(&r, &last_applied);
	codec_get_seq(&r, &n, 2);
	for (size_t i = 0; i < n && r.err == CODEC_OK; i++) {
		uint8_t *key = NULL;
		const uint8_t *value = NULL;
		size_t klen, vlen;
		codec_get_bytes(&r, &key, &klen);
		codec_get_bytes_view(&r, &value, &vlen);
		if (r.err == CODEC_OK)
			map_write(&map, (char *)key, (const char *)value, vlen,
			          false);
		free(key);
	}
	codec_get_seq(&r, &n, 2);
	for (size_t i = 0; i < n && r.err == CODEC_OK; i++) {
		uint64_t client_id = 0, seq = 0;
		codec_get_uvarint(&r, &client_id);
		codec_get_uvarint(&r, &seq);
		if (r.err == CODEC_OK)
			dups_set(&dups, client_id, seq);
	}
	int err = codec_finish(&r);
	if (err != CODEC_OK) {
		map_free(&map);
		dups_free(&dups);
		return err;
	}
	map_free(&kv->map);
	dups_free(&kv->dups);
	kv->map = map;
	kv->dups = dups;
	kv->last_applied = last_applied;
	kv->last_snapshot = last_applied;
	kv->unsnapshotted = 0;
	return CODEC_OK;
}

/* ---- applying ---- */

/* Executes op (at index), with mu held, and tells the waiters: the one(s)
 * that submitted it get the result; one that expected its own operation at
 * index has lost it. */
static void apply_op(struct kv_server *kv, const struct op *op, int index)
{
	const struct kv_pair *p = NULL;
	if (op->type == OP_GET) {
		p = map_find(&kv->map, op->key);
	} else if (op->type == OP_NOOP) {
		/* nothing to execute */
	} else if (op->seq > dups_last(&kv->dups, op->client_id)) {
		/* not a duplicate of a call already executed */
		map_write(&kv->map, op->key, op->value, strlen(op->value),
		          op->type == OP_APPEND);
		dups_set(&kv->dups, op->client_id, op->seq);
	} else {
		rlog(RLOG_SERVER, kv->me, -1,
		     "index %d: C%016llx #%llu is a duplicate, not executed",
		     index, (unsigned long long)op->client_id,
		     (unsigned long long)op->seq);
	}
	rlog2(RLOG_SERVER, kv->me, -1,
	      "index %d: applied C%016llx #%llu %s(%s)", index,
	      (unsigned long long)op->client_id, (unsigned long long)op->seq,
	      op->type == OP_GET      ? "Get"
	      : op->type == OP_PUT    ? "Put"
	      : op->type == OP_APPEND ? "Append"
	                              : "no-op",
	      op->key);
	kv->last_applied = index;

	for (struct waiter *w = kv->waiters; w != NULL; w = w->next) {
		if (w->done || w->lost)
			continue;
		if (op->type != OP_NOOP && w->client_id == op->client_id &&
		    w->seq == op->seq) {
			w->done = true;
			if (p != NULL) {
				w->found = true;
				w->value = xstrdup(p->value);
			}
			pthread_cond_signal(&w->cond);
		} else if (w->index != 0 && w->index <= index) {
			w->lost = true;
			pthread_cond_signal(&w->cond);
		}
	}
}

/* Installs a snapshot Raft delivered, if it is newer than the state. */
static void install_snapshot(struct kv_server *kv,
                             const struct raft_apply_msg *m)
{
	if (m->snapshot_index <= kv->last_applied)
		return;
	int err = snapshot_restore(kv, m->snapshot, m->snapshot_len);
	if (err != CODEC_OK) {
		fprintf(stderr, "kvraft %d: bad snapshot: %s\n", kv->me,
		        codec_strerror(err));
		abort();
	}
	kv->last_applied = m->snapshot_index;
	rlog(RLOG_SNAP, kv->me, m->snapshot_term,
	     "installed the snapshot through %d (%zu bytes, %zu keys)",
	     m->snapshot_index, m->snapshot_len, kv->map.count);
	/* A waiter whose index the snapshot covers cannot tell whether its
	 * operation made it: the clerk retries, and duplicate detection
	 * keeps the retry from executing twice. */
	for (struct waiter *w = kv->waiters; w != NULL; w = w->next) {
		if (!w->done && w->index != 0 &&
		    w->index <= m->snapshot_index) {
			w->lost = true;
			pthread_cond_signal(&w->cond);
		}
	}
}

/*
 * §7: snapshot when the persisted Raft state approaches maxraftstate, with
 * mu held. The state also holds entries not applied yet, which a snapshot
 * cannot cover: a server that lags behind its leader would otherwise
 * snapshot after every entry (and lag further), so a snapshot must also
 * cover a good part of maxraftstate in entries applied since the last one.
 */
static bool snapshot_due(const struct kv_server *kv)
{
	if (kv->maxraftstate < 0 || kv->last_applied <= kv->last_snapshot)
		return false;
	size_t max = (size_t)kv->maxraftstate;
	return persister_raft_state_size(kv->persister) >= max / 10 * 9 &&
	       kv->unsnapshotted >= max / 2;
}

static void *applier_main(void *arg)
{
	struct kv_server *kv = arg;
	void *item;

	while (chan_recv(kv->apply_ch, &item) == CHAN_OK) {
		struct raft_apply_msg *m = item;
		uint8_t *snapshot = NULL;
		size_t snapshot_len = 0;
		int snapshot_index = 0;

		pthread_mutex_lock(&kv->mu);
		if (m->snapshot_valid) {
			install_snapshot(kv, m);
		} else if (m->command_valid &&
		           m->command_index > kv->last_applied) {
			struct op op;
			int err = op_decode(m->command, m->command_len, &op);
			if (err != CODEC_OK) {
				fprintf(stderr,
				        "kvraft %d: bad operation at index "
				        "%d: %s\n",
				        kv->me, m->command_index,
				        codec_strerror(err));
				abort();
			}
			apply_op(kv, &op, m->command_index);
			free(op.key);
			free(op.value);
			kv->unsnapshotted += m->command_len;
		}
		if (kv->readers > 0)
			pthread_cond_broadcast(&kv->applied_cond);

		if (snapshot_due(kv)) {
			snapshot = snapshot_encode(kv, &snapshot_len);
			snapshot_index = kv->last_applied;
			rlog(RLOG_SNAP, kv->me, -1,
			     "snapshot through %d: %zu bytes, raft state %zu "
			     "bytes",
			     snapshot_index, snapshot_len,
			     persister_raft_state_size(kv->persister));
			kv->last_snapshot = snapshot_index;
			kv->unsnapshotted = 0;
		}
		pthread_mutex_unlock(&kv->mu);

		if (snapshot != NULL) {
			raft_snapshot(kv->rf, snapshot_index, snapshot,
			              snapshot_len);
			free(snapshot);
		}
		raft_apply_msg_free(m);
	}
	return NULL;
}

/* ---- handlers ---- */

enum submit_result { SUBMIT_OK, SUBMIT_NO_KEY, SUBMIT_WRONG_LEADER };

/*
 * Puts op through the Raft log and waits until it is applied here. For a Get,
 * *value receives the value (owned) when the result is SUBMIT_OK.
 */
static enum submit_result submit(struct kv_server *kv, const struct op *op,
                                 char **value)
{
	struct waiter w = {.client_id = op->client_id, .seq = op->seq};
	enum submit_result res = SUBMIT_WRONG_LEADER;

	pthread_mutex_lock(&kv->mu);
	if (atomic_load(&kv->dead)) {
		pthread_mutex_unlock(&kv->mu);
		return SUBMIT_WRONG_LEADER;
	}
	if (op->type != OP_GET &&
	    op->seq <= dups_last(&kv->dups, op->client_id)) {
		/* a retry of a call already executed */
		pthread_mutex_unlock(&kv->mu);
		return SUBMIT_OK;
	}
	/* Waiting from before raft_start, so that an apply that comes before
	 * we know the index is not missed. */
	labtime_cond_init(&w.cond);
	w.next = kv->waiters;
	kv->waiters = &w;
	pthread_mutex_unlock(&kv->mu);

	size_t len;
	uint8_t *cmd = op_encode(op, &len);
	struct raft_start_result started = raft_start(kv->rf, cmd, len);
	free(cmd);

	pthread_mutex_lock(&kv->mu);
	if (started.is_leader) {
		w.index = started.index;
		if (!w.done && kv->last_applied >= w.index)
			w.lost = true; /* something else was applied there */
		int64_t deadline = labtime_now_ns() + WAIT_LIMIT_MS * MS_NS;
		while (!w.done && !w.lost && !atomic_load(&kv->dead)) {
			int64_t now = labtime_now_ns();
			if (now >= deadline)
				break;
			int64_t until = now + TERM_CHECK_MS * MS_NS;
			if (until > deadline)
				until = deadline;
			if (labtime_cond_wait_until(&w.cond, &kv->mu, until) ==
			    0)
				continue;
			/* Leadership lost: a new term began. */
			int term;
			bool is_leader;
			pthread_mutex_unlock(&kv->mu);
			raft_get_state(kv->rf, &term, &is_leader);
			pthread_mutex_lock(&kv->mu);
			if (term != started.term || !is_leader) {
				rlog(RLOG_SERVER, kv->me, term,
				     "index %d: leadership of term %d lost, "
				     "C%016llx #%llu to retry",
				     w.index, started.term,
				     (unsigned long long)op->client_id,
				     (unsigned long long)op->seq);
				break;
			}
		}
	}
	for (struct waiter **pw = &kv->waiters; *pw != NULL;
	     pw = &(*pw)->next) {
		if (*pw == &w) {
			*pw = w.next;
			break;
		}
	}
	pthread_mutex_unlock(&kv->mu);
	pthread_cond_destroy(&w.cond);

	if (w.done) {
		res = op->type != OP_GET || w.found ? SUBMIT_OK : SUBMIT_NO_KEY;
		if (value != NULL)
			*value = w.value;
		else
			free(w.value);
	} else {
		free(w.value);
	}
	return res;
}

/* Starts a no-op operation, unless one was started in the current term:
 * a new leader serves no read before an entry of its term is committed. */
static void start_noop(struct kv_server *kv)
{
	int term;
	bool is_leader;
	raft_get_state(kv->rf, &term, &is_leader);
	pthread_mutex_lock(&kv->mu);
	bool start = is_leader && term > kv->noop_term;
	if (start)
		kv->noop_term = term;
	pthread_mutex_unlock(&kv->mu);
	if (!start)
		return;
	struct op op = {.type = OP_NOOP, .key = "", .value = ""};
	size_t len;
	uint8_t *cmd = op_encode(&op, &len);
	struct raft_start_result started = raft_start(kv->rf, cmd, len);
	free(cmd);
	if (started.is_leader)
		rlog(RLOG_SERVER, kv->me, started.term,
		     "index %d: no-op, for reads in term %d", started.index,
		     started.term);
}

/*
 * §8: a Get served without the log. Raft confirms leadership and gives the
 * read index; the answer comes from the map once it has applied through
 * that index. *value receives the value (owned) when the result is
 * SUBMIT_OK.
 */
static enum submit_result read_key(struct kv_server *kv, const char *key,
                                   char **value)
{
	if (atomic_load(&kv->dead))
		return SUBMIT_WRONG_LEADER;
	int index = 0;
	enum raft_read_status st = raft_read_index(kv->rf, &index);
	if (st == RAFT_READ_NO_ENTRY) {
		start_noop(kv);
		st = raft_read_index(kv->rf, &index);
	}
	if (st != RAFT_READ_OK)
		return SUBMIT_WRONG_LEADER;

	enum submit_result res = SUBMIT_WRONG_LEADER;
	pthread_mutex_lock(&kv->mu);
	int64_t deadline = labtime_now_ns() + WAIT_LIMIT_MS * MS_NS;
	kv->readers++;
	while (kv->last_applied < index && !atomic_load(&kv->dead) &&
	       labtime_cond_wait_until(&kv->applied_cond, &kv->mu, deadline) ==
	               0)
		;
	kv->readers--;
	if (kv->last_applied >= index && !atomic_load(&kv->dead)) {
		const struct kv_pair *p = map_find(&kv->map, key);
		res = p != NULL ? SUBMIT_OK : SUBMIT_NO_KEY;
		if (p != NULL)
			*value = xstrdup(p->value);
		rlog2(RLOG_SERVER, kv->me, -1,
		      "read %s at index %d (applied %d)", key, index,
		      kv->last_applied);
	}
	pthread_mutex_unlock(&kv->mu);
	return res;
}

static const char *err_name(enum submit_result r)
{
	switch (r) {
	case SUBMIT_OK:
		return KV_OK;
	case SUBMIT_NO_KEY:
		return KV_ERR_NO_KEY;
	default:
		return KV_ERR_WRONG_LEADER;
	}
}

static void get_handler(void *receiver, const void *vargs, void *vreply)
{
	struct kv_server *kv = receiver;
	const struct kv_get_args *args = vargs;
	struct kv_get_reply *reply = vreply;
	struct op op = {.type = OP_GET,
	                .key = args->key,
	                .value = "",
	                .client_id = args->client_id,
	                .seq = args->seq};
	char *value = NULL;
	enum submit_result r = kv->log_reads ? submit(kv, &op, &value)
	                                     : read_key(kv, args->key, &value);
	reply->err = xstrdup(err_name(r));
	reply->value = value != NULL ? value : xstrdup("");
}

static void put_append_handler(void *receiver, const void *vargs, void *vreply)
{
	struct kv_server *kv = receiver;
	const struct kv_put_append_args *args = vargs;
	struct kv_put_append_reply *reply = vreply;
	struct op op = {.type = strcmp(args->op, "Put") == 0 ? OP_PUT
	                                                     : OP_APPEND,
	                .key = args->key,
	                .value = args->value,
	                .client_id = args->client_id,
	                .seq = args->seq};
	reply->err = xstrdup(err_name(submit(kv, &op, NULL)));
}

static const struct labrpc_method kv_methods[] = {
        {"Get", &kv_get_args_type, &kv_get_reply_type, get_handler},
        {"PutAppend", &kv_put_append_args_type, &kv_put_append_reply_type,
         put_append_handler},
};

const struct labrpc_service_def kv_service = {"KVServer", kv_methods, 2};

/* ---- settings (settings.h) ---- */

static atomic_bool log_reads_setting;

void kv_settings_log_reads(bool yes)
{
	atomic_store(&log_reads_setting, yes);
}

bool kv_settings_get_log_reads(void)
{
	return atomic_load(&log_reads_setting);
}

/* ---- lifecycle ---- */

struct kv_server *kv_server_start(struct labrpc_end **servers, int n, int me,
                                  struct persister *persister, int maxraftstate)
{
	struct kv_server *kv = xcalloc(1, sizeof *kv);
	kv->me = me;
	kv->maxraftstate = maxraftstate;
	kv->persister = persister;
	kv->log_reads = kv_settings_get_log_reads();
	atomic_init(&kv->dead, false);
	map_init(&kv->map);
	dups_init(&kv->dups);
	if (pthread_mutex_init(&kv->mu, NULL) != 0)
		goto free_state;
	if (labtime_cond_init(&kv->applied_cond) != 0)
		goto destroy_mu;

	/* Restart from the last snapshot; Raft will not deliver it again. */
	size_t len;
	uint8_t *snapshot = persister_read_snapshot(persister, &len);
	int err = len > 0 ? snapshot_restore(kv, snapshot, len) : CODEC_OK;
	free(snapshot);
	if (err != CODEC_OK) {
		fprintf(stderr, "kvraft %d: bad snapshot: %s\n", me,
		        codec_strerror(err));
		goto destroy_cond;
	}

	kv->apply_ch = chan_make(0);
	if (kv->apply_ch == NULL)
		goto destroy_cond;
	kv->rf = raft_make(servers, n, me, persister, kv->apply_ch);
	if (kv->rf == NULL)
		goto free_chan;
	if (pthread_create(&kv->applier, NULL, applier_main, kv) != 0)
		goto kill_raft;
	return kv;

kill_raft:
	raft_kill(kv->rf);
	raft_free(kv->rf);
free_chan:
	chan_free(kv->apply_ch);
destroy_cond:
	pthread_cond_destroy(&kv->applied_cond);
destroy_mu:
	pthread_mutex_destroy(&kv->mu);
free_state:
	map_free(&kv->map);
	dups_free(&kv->dups);
	free(kv);
	return NULL;
}

struct raft *kv_server_raft(struct kv_server *kv)
{
	return kv->rf;
}

void kv_server_kill(struct kv_server *kv)
{
	if (atomic_exchange(&kv->dead, true))
		return;
	/* The apply thread keeps receiving until raft_kill has returned, as
	 * raft.h asks; then nothing more is sent and it can stop. */
	raft_kill(kv->rf);
	chan_close(kv->apply_ch);
	pthread_join(kv->applier, NULL);

	pthread_mutex_lock(&kv->mu); /* waiting handlers give up */
	for (struct waiter *w = kv->waiters; w != NULL; w = w->next)
		pthread_cond_signal(&w->cond);
	pthread_cond_broadcast(&kv->applied_cond);
	pthread_mutex_unlock(&kv->mu);
}

void kv_server_free(struct kv_server *kv)
{
	if (kv == NULL)
		return;
	raft_free(kv->rf);
	chan_free(kv->apply_ch);
	map_free(&kv->map);
	dups_free(&kv->dups);
	pthread_cond_destroy(&kv->applied_cond);
	pthread_mutex_destroy(&kv->mu);
	free(kv);
}
