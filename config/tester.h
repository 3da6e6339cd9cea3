/*
 * tester: the core both testers are built on (config/raft_config.c and
 * config/kv_config.c embed one): the first failure a helper thread records
 * for the test thread to report, sleeps and waits that end early on a
 * failure, the tester's own PRNG stream and random strings, and a test's
 * time limit. Not for tests: they call cfg_* and kvcfg_*.
 */
#ifndef RAFTLAB_CONFIG_TESTER_H
#define RAFTLAB_CONFIG_TESTER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prng/prng.h"

/* Room for one failure message, its final NUL included. */
#define TESTER_MSG_SIZE 1024

struct tester {
	/* The tester's lock: guards the fields marked (mu) here and whatever
	 * its owner says it guards. */
	pthread_mutex_t mu;
	/* Broadcast when a failure is recorded, and by tester_notify. */
	pthread_cond_t changed;
	pthread_t test_thread;
	struct prng rng;  /* (mu) the tester's choices */
	int64_t start_ns; /* when tester_init was called */

	/* The first failure recorded by a thread other than the test's. */
	bool failed; /* (mu) */
	char fail_msg[TESTER_MSG_SIZE];
	const char *fail_file;
	int fail_line;
};

/* Starts t on the calling thread, the test's, with its PRNG seeded from
 * rng_seed. tester_end undoes it. */
void tester_init(struct tester *t, uint64_t rng_seed);

/* calloc that ends the process with a message when memory runs out. */
void *tester_calloc(size_t n, size_t size);

bool tester_on_test_thread(const struct tester *t);

/* Fails the test with msg at file:line: at once on the test thread (the
 * call does not return there); from another thread, records it for the
 * test thread to report unless a failure already is. Logged either way. */
void tester_fail(struct tester *t, const char *file, int line, const char *msg);

/* Records a failure for the test thread to report, unless one already is;
 * never ends the test, whichever thread calls it. */
void tester_record_failure(struct tester *t, const char *file, int line,
                           const char *msg);

/* Whether a failure was recorded; on the test thread, reports it, which
 * ends the test. */
bool tester_check_failure(struct tester *t);

/* Waits until done(arg), called with mu held, is true, a failure is
 * recorded, or timeout_ms pass (never, if negative). Returns done(arg)'s
 * last answer; on the test thread a recorded failure ends the test. */
bool tester_wait(struct tester *t, bool (*done)(void *arg), void *arg,
                 int64_t timeout_ms);

/* Wakes tester_wait's waiters to ask done(arg) again. */
void tester_notify(struct tester *t);

/* Sleeps ms, ending early on a recorded failure; returns whether one was
 * recorded (on the test thread it ends the test instead). */
bool tester_sleep_ms(struct tester *t, int64_t ms);

/* A random number in [0, 2^63) from the tester's stream. */
int64_t tester_rand(struct tester *t);

/* n random base64url characters into s (n+1 bytes), with mu held. */
void tester_randstring_locked(struct tester *t, char *s, int n);

/* n random base64url characters, NUL-terminated; the caller frees them. */
char *tester_randstring(struct tester *t, int n);

/* Whether more than limit_s seconds (scaled by runner_time_scale) have
 * passed since tester_init. */
bool tester_over_limit(const struct tester *t, int limit_s);

/* How a test ended, as tester_end found it: kept past the tester's end so
 * that its owner can free everything before tester_report ends the test. */
struct tester_outcome {
	bool failed;
	char fail_msg[TESTER_MSG_SIZE];
	const char *fail_file;
	int fail_line;
	bool over_limit;
	int limit_s;
};

/* Takes t's outcome (a failure recorded during a shutdown is still a
 * failure) and frees its lock and condition. On the test thread, once no
 * other thread uses t. */
void tester_end(struct tester *t, int limit_s, struct tester_outcome *out);

/* Fails the test if the outcome says it failed or ran over its limit. */
void tester_report(const struct tester_outcome *o);

#endif
