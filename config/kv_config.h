/*
 * kv_config: the key/value service's tester harness (the C version of
 * 6.5840's kvraft/config.go). It builds a world of n kvraft servers, each
 * hosting the "KVServer" and "Raft" services on one labrpc server, and clerks
 * with ends of their own; it restarts servers from copies of their
 * persisters, partitions the network, counts operations, measures the
 * persisted state, and prints the begin/Passed lines of the kvraft tests
 * (tests/kvraft_test.c).
 *
 * Threads. As in the Raft harness (raft_config.h), the thread that called
 * kvcfg_make is the test thread: a failure there ends the test at once. Other
 * threads (clients, the partitioner) record a failure with kvcfg_fatalf (the
 * first one wins) and return; the test thread reports it at its next
 * kvcfg_sleep_ms, kvcfg_wait or kvcfg_check_failure, which wake up as soon as
 * a failure is recorded. Functions marked "any thread" may run anywhere; the
 * others belong to the test thread.
 *
 * Randomness: endnames, the random permutation of each clerk's ends and every
 * kvcfg_rand come from the harness's PRNG, the network's faults from the
 * network's; both are seeded from runner_seed().
 *
 * Not for: the Raft tests, which have their own harness (raft_config.h).
 */
#ifndef RAFTLAB_KV_CONFIG_H
#define RAFTLAB_KV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvraft/kvraft.h"

/* A test may take at most this long from kvcfg_make to kvcfg_end, times
 * runner_time_scale(). The message still says "120 seconds". */
#define KVCFG_TEST_SECONDS 120

/* The most servers a world may have (the tests use 3, 5 or 7). */
#define KVCFG_MAX_SERVERS 16

struct kvcfg;

/* ---- setup and lifecycle ---- */

/*
 * Makes a world of n servers, started and all connected. Long delays stay
 * off (a call to a missing or unreachable server fails within 100 ms) and
 * long reordering is off (kvcfg_set_long_reordering). unreliable: the
 * network drops and delays messages. maxraftstate is passed to every server
 * (-1: no snapshots). Starts the 120-second clock.
 */
struct kvcfg *kvcfg_make(int n, bool unreliable, int maxraftstate);

/* Stops every server, frees every clerk still registered and everything
 * else, then fails the test if it took too long or a failure was recorded.
 * Every thread the test started must have been joined. */
void kvcfg_cleanup(struct kvcfg *cfg);

/* Prints "<description> ..." and starts the Passed line's statistics (time,
 * RPCs, and the operation count, reset to 0). */
void kvcfg_begin(struct kvcfg *cfg, const char *description);

/* Checks the time limit and recorded failures, then prints
 * "  ... Passed --  %4.1f  %d %5d %4d": seconds since kvcfg_begin, servers,
 * RPCs since kvcfg_begin, and operations counted by kvcfg_op. */
void kvcfg_end(struct kvcfg *cfg);

/* Fails with "test took longer than 120 seconds" when it did. */
void kvcfg_check_timeout(struct kvcfg *cfg);

/* The number of servers, and the list 0..n-1 (Go: All()) in all[], which
 * must have room for n entries. Returns n. */
int kvcfg_n(const struct kvcfg *cfg);
int kvcfg_all(const struct kvcfg *cfg, int *all);

/*
 * Starts server i (shutting it down first if it runs) with fresh ends to the
 * other servers and a copy of what it saved. Its ends stay disabled until it
 * is connected (kvcfg_connect_all or kvcfg_partition).
 */
void kvcfg_start_server(struct kvcfg *cfg, int i);

/*
 * Shuts server i down, keeping its persistent state: disconnects it, removes
 * it from the network, then supersedes its persister with a copy (so that no
 * reply can stem from state saved later), fails its own calls in flight,
 * kills it and frees it once its handlers have returned.
 */
void kvcfg_shutdown_server(struct kvcfg *cfg, int i);

/* ---- the network (any thread) ---- */

/* Connects every server to every server (Go: ConnectAll). */
void kvcfg_connect_all(struct kvcfg *cfg);

/* Servers in p1 reach each other and no server of p2, and the other way
 * round (Go: partition). Either group may be empty. */
void kvcfg_partition(struct kvcfg *cfg, const int *p1, int n1, const int *p2,
                     int n2);

/* Enables the calls of the servers in from[] to those in to[], one way:
 * calls the other way stay as they were (an asymmetric partition, beyond
 * the Go tester). */
void kvcfg_connect_one_way(struct kvcfg *cfg, const int *from, int nfrom,
                           const int *to, int nto);

/*
 * Splits the servers in two (Go: make_partition): p1 gets n/2+1 servers and
 * p2 n/2, the current leader (server 0 when there is none) being the last of
 * p2, so the old leader is in the minority. Test thread.
 */
void kvcfg_make_partition(struct kvcfg *cfg, int *p1, int *p2);

/* Duplicated and stale requests, among servers and from clerks alike
 * (labrpc_net_duplicates). Beyond the Go tester. */
void kvcfg_set_duplicates(struct kvcfg *cfg, bool duplicates);

/* Long reordering: 2/3 of the replies held back by 0.2 to 2.2 s
 * (labrpc_net_long_reordering), for a network whose answers are slow.
 * Not in the Go kvraft tester. */
void kvcfg_set_long_reordering(struct kvcfg *cfg, bool yes);

/* Whether some server believes it leads, and which (the first found). */
bool kvcfg_leader(struct kvcfg *cfg, int *leader);

/* ---- clerks (any thread) ---- */

/* A clerk with fresh ends to every server, given in a random order; only the
 * ends to the servers in to[0..nto-1] are enabled. The harness keeps it
 * until kvcfg_delete_client or kvcfg_cleanup. */
struct kv_clerk *kvcfg_make_client(struct kvcfg *cfg, const int *to, int nto);
/* Forgets and frees a clerk no thread uses any more. */
void kvcfg_delete_client(struct kvcfg *cfg, struct kv_clerk *ck);
/* Enables / disables the clerk's ends to the listed servers. */
void kvcfg_connect_client(struct kvcfg *cfg, struct kv_clerk *ck, const int *to,
                          int nto);
void kvcfg_disconnect_client(struct kvcfg *cfg, struct kv_clerk *ck,
                             const int *from, int nfrom);

/* Test thread: one KVServer.PutAppend call to server i, made by the tester
 * as a clerk with id client_id would make its call number seq, on an end of
 * its own that lives for the call. Returns false if no reply came;
 * otherwise copies the reply's Err into err. For requests a real clerk's
 * could be (a late copy of an old one). Beyond the Go tester. */
bool kvcfg_put_append_as(struct kvcfg *cfg, int i, const char *op,
                         const char *key, const char *value, uint64_t client_id,
                         uint64_t seq, char *err, size_t errsize);

/* ---- statistics ---- */

/* Any thread: counts one completed Clerk call (Go: op()). */
void kvcfg_op(struct kvcfg *cfg);
/* The largest persisted Raft state / snapshot of any server (Go: LogSize,
 * SnapshotSize). */
int kvcfg_log_size(struct kvcfg *cfg);
int kvcfg_snapshot_size(struct kvcfg *cfg);

/* ---- failures, waiting and randomness (any thread) ---- */

/* Fails the test: at once on the test thread; elsewhere records the first
 * failure for the test thread to report, and returns. */
#define kvcfg_fatalf(cfg, ...)                                                 \
	kvcfg_fail_at((cfg), __FILE__, __LINE__, __VA_ARGS__)
void kvcfg_fail_at(struct kvcfg *cfg, const char *file, int line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* On the test thread: ends the test if a failure was recorded, else returns
 * false. Elsewhere: whether a failure was recorded (then stop). */
bool kvcfg_check_failure(struct kvcfg *cfg);

/* Sleeps ms milliseconds, waking early when a failure is recorded; then
 * behaves as kvcfg_check_failure. */
bool kvcfg_sleep_ms(struct kvcfg *cfg, int64_t ms);

/*
 * Waits until done(arg) is true, a failure is recorded, or timeout_ms passed
 * (< 0: no limit). done is evaluated with the harness's lock held; whoever
 * makes it true calls kvcfg_notify afterwards. Returns whether done(arg)
 * held; on the test thread a recorded failure ends the test.
 */
bool kvcfg_wait(struct kvcfg *cfg, bool (*done)(void *arg), void *arg,
                int64_t timeout_ms);
/* Wakes kvcfg_wait so it evaluates its condition again. */
void kvcfg_notify(struct kvcfg *cfg);

/* A uniform non-negative 63-bit integer from the harness's PRNG (Go's
 * rand.Int()); tests write kvcfg_rand(cfg) % n. */
int64_t kvcfg_rand(struct kvcfg *cfg);

#endif
