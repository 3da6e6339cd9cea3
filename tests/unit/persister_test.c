/*
 * persister_test.c: the persister's contract (persister.h): what is saved
 * reads back, every read and save is a copy, a copy is independent of its
 * original, saving without a snapshot erases the snapshot, and concurrent
 * saves, reads and copies always see a whole save, never a mix of two.
 */
#include <CUnit/CUnit.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft/persister.h"
#include "runner/runner.h"

/* Whether p holds exactly the given state and snapshot, through both the
 * reads (which must never return NULL) and the size calls. */
static bool holds(struct persister *p, const void *state, size_t state_len,
                  const void *snap, size_t snap_len)
{
	size_t len = SIZE_MAX;
	uint8_t *got = persister_read_raft_state(p, &len);
	bool ok = got && len == state_len &&
	          (len == 0 || memcmp(got, state, len) == 0) &&
	          persister_raft_state_size(p) == state_len;
	free(got);

	len = SIZE_MAX;
	got = persister_read_snapshot(p, &len);
	ok = ok && got && len == snap_len &&
	     (len == 0 || memcmp(got, snap, len) == 0) &&
	     persister_snapshot_size(p) == snap_len;
	free(got);
	return ok;
}

static const char state_a[] = "term=1 vote=0 log=[a]";
static const char snap_a[] = "snapshot a";
static const char state_b[] = "term=2 vote=1 log=[a b]";
static const char snap_b[] = "snapshot b, longer";

static void test_empty_persister_reads_empty(void)
{
	struct persister *p = persister_make();
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* Reads of nothing are non-NULL buffers of length 0. */
	CU_ASSERT(holds(p, NULL, 0, NULL, 0));
	persister_free(p);
}

static void test_save_then_read_round_trips(void)
{
	struct persister *p = persister_make();
	persister_save(p, state_a, sizeof state_a, snap_a, sizeof snap_a);
	CU_ASSERT(holds(p, state_a, sizeof state_a, snap_a, sizeof snap_a));

	/* A later save replaces both strings, whatever their sizes. */
	persister_save(p, state_b, sizeof state_b, snap_b, sizeof snap_b);
	CU_ASSERT(holds(p, state_b, sizeof state_b, snap_b, sizeof snap_b));
	persister_save(p, state_a, sizeof state_a, snap_a, sizeof snap_a);
	CU_ASSERT(holds(p, state_a, sizeof state_a, snap_a, sizeof snap_a));
	persister_free(p);
}

static void test_reads_and_saves_are_copies(void)
{
	struct persister *p = persister_make();
	char state[] = "state";
	char snap[] = "snap";
	persister_save(p, state, sizeof state, snap, sizeof snap);

	/* Changing the saved-from buffers does not change the persister... */
	state[0] = 'X';
	snap[0] = 'X';
	CU_ASSERT(holds(p, "state", sizeof state, "snap", sizeof snap));

	/* ...and neither does changing what a read returned. */
	size_t len;
	uint8_t *got = persister_read_raft_state(p, &len);
	memset(got, 'Y', len);
	free(got);
	got = persister_read_snapshot(p, &len);
	memset(got, 'Y', len);
	free(got);
	CU_ASSERT(holds(p, "state", sizeof state, "snap", sizeof snap));
	persister_free(p);
}

static void test_copy_is_independent(void)
{
	struct persister *original = persister_make();
	persister_save(original, state_a, sizeof state_a, snap_a,
	               sizeof snap_a);
	struct persister *copy = persister_copy(original);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	CU_ASSERT(holds(copy, state_a, sizeof state_a, snap_a, sizeof snap_a));

	/* Saving to either one leaves the other as it was. */
	persister_save(original, state_b, sizeof state_b, snap_b,
	               sizeof snap_b);
	CU_ASSERT(holds(copy, state_a, sizeof state_a, snap_a, sizeof snap_a));
	persister_save(copy, state_b, sizeof state_b, NULL, 0);
	CU_ASSERT(holds(original, state_b, sizeof state_b, snap_b,
	                sizeof snap_b));
	CU_ASSERT(holds(copy, state_b, sizeof state_b, NULL, 0));

	/* The copy outlives its original. */
	persister_free(original);
	CU_ASSERT(holds(copy, state_b, sizeof state_b, NULL, 0));
	persister_free(copy);

	/* Copying an empty persister gives an empty persister. */
	struct persister *empty = persister_make();
	copy = persister_copy(empty);
	CU_ASSERT(holds(copy, NULL, 0, NULL, 0));
	persister_free(empty);
	persister_free(copy);
}

static void test_save_without_snapshot_erases_snapshot(void)
{
	struct persister *p = persister_make();

	/* A NULL snapshot erases the saved one... */
	persister_save(p, state_a, sizeof state_a, snap_a, sizeof snap_a);
	persister_save(p, state_b, sizeof state_b, NULL, 0);
	CU_ASSERT(holds(p, state_b, sizeof state_b, NULL, 0));

	/* ...and so does an empty one. */
	persister_save(p, state_a, sizeof state_a, snap_a, sizeof snap_a);
	persister_save(p, state_b, sizeof state_b, snap_a, 0);
	CU_ASSERT(holds(p, state_b, sizeof state_b, NULL, 0));

	/* The raft state can be emptied too. */
	persister_save(p, NULL, 0, snap_b, sizeof snap_b);
	CU_ASSERT(holds(p, NULL, 0, snap_b, sizeof snap_b));
	persister_free(p);
}

/* ---- concurrency ---- */

enum {
	NWRITERS = 4,
	NREADERS = 4,
	SAVES_PER_WRITER = 2000,
	READS_PER_READER = 2000
};

/* Save number n of writer w stores the stamp (w, n), 8 bytes, repeated:
 * 1 + n % 7 times in the raft state and 1 + n % 5 times in the snapshot,
 * except that every tenth save has no snapshot. A reader can then tell a
 * whole save from a torn one, and a state and snapshot of one save from a
 * mix of two saves. */
struct stamp {
	uint32_t writer;
	uint32_t n;
};

static size_t state_len_of(uint32_t n)
{
	return sizeof(struct stamp) * (1 + n % 7);
}

static size_t snapshot_len_of(uint32_t n)
{
	return n % 10 == 0 ? 0 : sizeof(struct stamp) * (1 + n % 5);
}

static void stamp_fill(uint8_t *buf, size_t len, struct stamp s)
{
	for (size_t off = 0; off < len; off += sizeof s)
		memcpy(buf + off, &s, sizeof s);
}

/* Reads the stamp repeated in buf; false if buf is not one stamp repeated
 * or is empty. */
static bool stamp_parse(const uint8_t *buf, size_t len, struct stamp *s)
{
	if (len == 0 || len % sizeof *s != 0)
		return false;
	memcpy(s, buf, sizeof *s);
	for (size_t off = sizeof *s; off < len; off += sizeof *s)
		if (memcmp(buf + off, s, sizeof *s) != 0)
			return false;
	return true;
}

struct writer {
	struct persister *p;
	uint32_t id;
	pthread_t thread;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t state[sizeof(struct stamp) * 7];
	uint8_t snap[sizeof(struct stamp) * 5];
	for (uint32_t n = 0; n < SAVES_PER_WRITER; n++) {
		struct stamp s = {.writer = w->id, .n = n};
		size_t state_len = state_len_of(n);
		size_t snap_len = snapshot_len_of(n);
		stamp_fill(state, state_len, s);
		stamp_fill(snap, snap_len, s);
		persister_save(w->p, state, state_len, snap_len ? snap : NULL,
		               snap_len);
	}
	return NULL;
}

/* Reads, sizes and copies p concurrently with the writers. Failures are
 * counted here and reported by the test thread. */
struct reader {
	struct persister *p;
	pthread_t thread;
	int torn_reads;  /* a read that is not one whole saved string */
	int mixed_saves; /* a copy whose state and snapshot differ in save */
};

/* Whether state (and snapshot) are one whole save; an empty persister
 * (before the first save) also passes. */
static bool whole_state(const uint8_t *buf, size_t len, struct stamp *s)
{
	return len == 0 || (stamp_parse(buf, len, s) && s->writer < NWRITERS &&
	                    len == state_len_of(s->n));
}

static bool whole_snapshot(const uint8_t *buf, size_t len, struct stamp *s)
{
	return len == 0 || (stamp_parse(buf, len, s) && s->writer < NWRITERS &&
	                    len == snapshot_len_of(s->n));
}

/* Whether a whole state with stamp s1 and a whole snapshot with stamp s2
 * come from the same save. */
static bool same_save(size_t state_len, struct stamp s1, size_t snap_len,
                      struct stamp s2)
{
	if (state_len == 0) /* nothing saved yet */
		return snap_len == 0;
	if (snap_len == 0) /* a save without a snapshot */
		return snapshot_len_of(s1.n) == 0;
	return s1.writer == s2.writer && s1.n == s2.n;
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	for (int i = 0; i < READS_PER_READER; i++) {
		struct stamp state_stamp = {0}, snap_stamp = {0};
		size_t state_len, snap_len;
		uint8_t *state = persister_read_raft_state(r->p, &state_len);
		uint8_t *snap = persister_read_snapshot(r->p, &snap_len);
		if (!whole_state(state, state_len, &state_stamp) ||
		    !whole_snapshot(snap, snap_len, &snap_stamp))
			r->torn_reads++;
		free(state);
		free(snap);
		if (persister_raft_state_size(r->p) % sizeof(struct stamp) != 0)
			r->torn_reads++;

		/* A copy is taken atomically: its two strings come from
		 * the same save. */
		struct persister *copy = persister_copy(r->p);
		state = persister_read_raft_state(copy, &state_len);
		snap = persister_read_snapshot(copy, &snap_len);
		persister_free(copy);
		if (!whole_state(state, state_len, &state_stamp) ||
		    !whole_snapshot(snap, snap_len, &snap_stamp))
			r->torn_reads++;
		else if (!same_save(state_len, state_stamp, snap_len,
		                    snap_stamp))
			r->mixed_saves++;
		free(state);
		free(snap);
	}
	return NULL;
}

static void test_concurrent_saves_reads_and_copies(void)
{
	struct persister *p = persister_make();
	struct writer writers[NWRITERS];
	struct reader readers[NREADERS];

	for (int i = 0; i < NREADERS; i++) {
		readers[i] = (struct reader){.p = p};
		if (pthread_create(&readers[i].thread, NULL, reader_main,
		                   &readers[i]) != 0)
			runner_fatalf("pthread_create failed");
	}
	for (int i = 0; i < NWRITERS; i++) {
		writers[i] = (struct writer){.p = p, .id = (uint32_t)i};
		if (pthread_create(&writers[i].thread, NULL, writer_main,
		                   &writers[i]) != 0)
			runner_fatalf("pthread_create failed");
	}
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(writers[i].thread, NULL);
	for (int i = 0; i < NREADERS; i++) {
		pthread_join(readers[i].thread, NULL);
		CU_ASSERT_EQUAL(readers[i].torn_reads, 0);
		CU_ASSERT_EQUAL(readers[i].mixed_saves, 0);
	}

	/* The last save of whichever writer finished last is what remains. */
	size_t len;
	uint8_t *state = persister_read_raft_state(p, &len);
	struct stamp s;
	CU_ASSERT_TRUE(stamp_parse(state, len, &s));
	CU_ASSERT_EQUAL(s.n, SAVES_PER_WRITER - 1);
	free(state);
	persister_free(p);
}

static const struct runner_test tests[] = {
        {"TestEmptyPersisterReadsEmpty", test_empty_persister_reads_empty, 0},
        {"TestSaveThenReadRoundTrips", test_save_then_read_round_trips, 0},
        {"TestReadsAndSavesAreCopies", test_reads_and_saves_are_copies, 0},
        {"TestCopyIsIndependent", test_copy_is_independent, 0},
        {"TestSaveWithoutSnapshotErasesSnapshot",
         test_save_without_snapshot_erases_snapshot, 0},
        {"TestConcurrentSavesReadsAndCopies",
         test_concurrent_saves_reads_and_copies, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "persister", tests,
	                   sizeof tests / sizeof tests[0]);
}
