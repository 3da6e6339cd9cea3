/*
 * raft_config: the Raft tester's harness (the C version of 6.5840's
 * raft/config.go). It builds a world of n Raft peers on a simulated network,
 * crashes, restarts, partitions and heals them, watches every command they
 * apply, and offers the checks the graded tests (tests/raft_test.c) are made
 * of: one leader per term, agreement on every index, progress in time.
 *
 * Threads. A test runs on one thread, the "test thread" (the one that called
 * cfg_make). A check that fails there ends the test at once, as Go's
 * t.Fatalf does. The harness's own threads (one applier per peer) and the
 * threads a test starts (clients) never end the test: a failure found there
 * is recorded (the first one wins) and the test thread reports it at its next
 * check, sleep or wait, which all wake up as soon as a failure is recorded.
 * Functions marked "any thread" may run on helper threads; the others belong
 * to the test thread.
 *
 * Randomness. Every random choice of a test (the rand%N of the test bodies,
 * the pause in cfg_check_one_leader, random commands and strings, endnames)
 * comes from the config's PRNG, and the network's faults from the network's
 * PRNG; both are seeded from runner_seed(), so a run with the same -seed
 * makes the same choices.
 *
 * Not for: the key/value service's tests, which have their own harness.
 */
#ifndef RAFTLAB_RAFT_CONFIG_H
#define RAFTLAB_RAFT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "config/cmdvalue.h"
#include "raft/raft.h"

/* The tester snapshots a peer's state after applying index i when
 * (i + 1) % CFG_SNAPSHOT_INTERVAL == 0 (Go: SnapShotInterval). */
#define CFG_SNAPSHOT_INTERVAL 10

/* A test may take at most this long from cfg_make to cfg_end, times
 * runner_time_scale(): 1 in normal builds, 2 in sanitizer builds (which slow
 * everything down), or $RAFTLAB_TIME_SCALE. The message still says "120
 * seconds", as the original's does. */
#define CFG_TEST_SECONDS 120

struct cfg;

/* ---- setup and lifecycle ---- */

/*
 * Makes a world of n peers, all started and connected, on a network with
 * long delays on (a call to a missing or unreachable server fails only after
 * up to 7 s). unreliable: the network drops and delays messages. snapshot:
 * the appliers snapshot every CFG_SNAPSHOT_INTERVAL commands and accept
 * installed snapshots (part 3D). Starts the 120-second clock.
 */
struct cfg *cfg_make(int n, bool unreliable, bool snapshot);

/* Stops every peer, joins every thread, frees everything, then fails the
 * test if it took longer than allowed or a failure was recorded. */
void cfg_cleanup(struct cfg *cfg);

/* Prints "<description> ..." and starts the statistics of the Passed line. */
void cfg_begin(struct cfg *cfg, const char *description);

/* Checks the time limit, then prints the Passed line: seconds since
 * cfg_begin, peers, RPCs, bytes and commands agreed since cfg_begin. */
void cfg_end(struct cfg *cfg);

/*
 * Shuts peer i down but keeps its persistent state: cuts it off the network,
 * removes its server, fails its calls in flight, kills it, stops its applier
 * and frees it. The next instance gets a copy of what was saved when the
 * crash began. What the peer applied (its log in the tester) is kept.
 */
void cfg_crash1(struct cfg *cfg, int i);

/*
 * Starts (or restarts, after cfg_crash1) peer i with fresh ends, its saved
 * state, and an applier of the config's kind. In snapshot mode a saved
 * snapshot is ingested first, as the service would. The peer starts
 * disconnected: call cfg_connect.
 */
void cfg_start1(struct cfg *cfg, int i);

/* Attaches peer i to the network: its ends to, and the ends from, every
 * connected peer are enabled. */
void cfg_connect(struct cfg *cfg, int i);
/* Detaches peer i: every end to or from it is disabled. */
void cfg_disconnect(struct cfg *cfg, int i);

/* Enables or disables one direction only: peer from's end to peer to (its
 * requests to `to`, and their replies). For scenarios where a peer hears
 * its followers' answers but nothing else; cfg_connect and cfg_disconnect
 * set both directions again. */
void cfg_enable_link(struct cfg *cfg, int from, int to, bool enabled);

/* While hold is on, replies to peer from's calls to peer to are held back
 * after their handlers ran; turning it off delivers them all at once, stale
 * (labrpc_hold_replies). A crash of from ends the hold with its ends. */
void cfg_hold_replies(struct cfg *cfg, int from, int to, bool hold);

/*
 * While on, the network delivers, again and again, requests that are
 * certainly stale: every STALE_REPLAY_MS each running peer gets, from each
 * other peer, one request of each kind that the other sent it in a term the
 * receiver has left, partitions or not (config/stale_replay.h). A correct
 * Raft refuses them all and changes nothing. Requests are kept from the
 * moment it is turned on.
 */
void cfg_replay_stale_requests(struct cfg *cfg, bool on);
/* How many stale requests were delivered to peer i since the replays were
 * turned on (0 while off). */
int64_t cfg_stale_requests_delivered(struct cfg *cfg, int i);

/* Any thread: whether peer i is connected / running (not crashed). */
bool cfg_is_connected(struct cfg *cfg, int i);
bool cfg_is_up(struct cfg *cfg, int i);

/* ---- talking to one peer ---- */

/* Any thread: raft_start(cmd) on peer i. A crashed peer accepts nothing
 * (is_leader false). */
struct raft_start_result cfg_start(struct cfg *cfg, int i, struct cmdvalue cmd);
/* Any thread: raft_get_state of peer i (term 0, not leader, if crashed). */
void cfg_get_state(struct cfg *cfg, int i, int *term, bool *is_leader);

/* ---- checks ---- */

/*
 * Up to 10 times: sleeps 450-549 ms, then asks every connected peer whether
 * it leads. Fails if a term has two leaders; returns the leader of the
 * highest term that has one; fails after 10 rounds without a leader.
 */
int cfg_check_one_leader(struct cfg *cfg);
/* Fails unless every connected peer reports the same term; returns it (-1
 * if no peer is connected). */
int cfg_check_terms(struct cfg *cfg);
/* Fails if a connected peer claims to be the leader. */
void cfg_check_no_leader(struct cfg *cfg);

/*
 * Any thread: how many peers have applied a command at index (crashed peers
 * included). Fails if two of them applied different values there. If cmd is
 * not NULL it receives an owned copy of the value (NIL when none). On a
 * helper thread, returns -1 once the test has failed.
 */
int cfg_n_committed(struct cfg *cfg, int index, struct cmdvalue *cmd);

/*
 * Waits (about 30 s at most) until n peers have applied index, and returns
 * an owned copy of the value; fails if too few did. If start_term > -1 and a
 * peer moved past start_term meanwhile, returns the int -1 instead.
 */
struct cmdvalue cfg_wait(struct cfg *cfg, int index, int n, int start_term);

/*
 * Any thread: one complete agreement. Offers cmd to the connected peers in
 * turn until one accepts it, then waits up to 2 s for expected_servers to
 * apply cmd at the index it was given. If retry, tries again (possibly at
 * another index) until 10 s have passed. Returns the index; fails with
 * "one(%v) failed to reach agreement" otherwise (a helper thread then gets
 * -1).
 */
int cfg_one(struct cfg *cfg, struct cmdvalue cmd, int expected_servers,
            bool retry);

/* Fails with "test took longer than 120 seconds" when it did. */
void cfg_check_timeout(struct cfg *cfg);

/* ---- failures and waiting (any thread) ---- */

/*
 * Fails the test: on the test thread it ends it at once (runner_fatalf); on
 * another thread it records the failure, the first one only, for the test
 * thread to report, and returns. Use it for checks in threads a test starts.
 */
#define cfg_fatalf(cfg, ...) cfg_fail_at((cfg), __FILE__, __LINE__, __VA_ARGS__)
void cfg_fail_at(struct cfg *cfg, const char *file, int line, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

/* On the test thread: ends the test if a failure was recorded, else returns
 * false. Elsewhere: whether a failure was recorded (then stop). */
bool cfg_check_failure(struct cfg *cfg);

/* Sleeps ms milliseconds, waking early when a failure is recorded; then
 * behaves as cfg_check_failure. */
bool cfg_sleep_ms(struct cfg *cfg, int64_t ms);

/* ---- statistics and network settings ---- */

/* RPCs delivered to peer server's handlers. */
int cfg_rpc_count(struct cfg *cfg, int server);
/* RPCs sent, delivered or not. */
int cfg_rpc_total(struct cfg *cfg);
/* Bytes of every request sent and every reply delivered. */
int64_t cfg_bytes_total(struct cfg *cfg);
void cfg_set_unreliable(struct cfg *cfg, bool unreliable);
void cfg_set_long_reordering(struct cfg *cfg, bool long_reordering);
/* Duplicated and stale requests on the network (labrpc_net_duplicates). */
void cfg_set_duplicates(struct cfg *cfg, bool duplicates);

/* Beyond the Go tester, which lets a snapshot move a peer's service back:
 * fails when a peer delivers a snapshot older than what it already applied
 * (which would apply entries twice). */
void cfg_check_snapshot_order(struct cfg *cfg);

/* Beyond the Go tester, whose peers all snapshot at the same indices: peer
 * i snapshots every CFG_SNAPSHOT_INTERVAL - 3 + 3 * (i % 3) indices (7, 10,
 * 13, 7, ...), as services' snapshots fall where each one decides. */
void cfg_vary_snapshot_intervals(struct cfg *cfg);

/* ---- crashes at the moments that matter (beyond the Go tester) ----
 *
 * After a peer's RPC handler returns, with a probability spread evenly over
 * the kinds of RPC (so that a rare one, a vote or a snapshot install, gets
 * as many crashes as the heartbeats), the peer is marked to crash: half the
 * time its reply is dropped first (it crashed before answering), half the
 * time the reply goes out (it crashed right after voting, acknowledging
 * entries or installing a snapshot). The test thread carries the crashes
 * out in cfg_serve_crashes: it crashes the peer and restarts it at once
 * from what its persister held, connected as it was.
 */

/* Starts (per_mille > 0: crashes per 1000 replies, on average over the
 * kinds of RPC) or stops (0) marking peers to crash. */
void cfg_crash_after_replies(struct cfg *cfg, int per_mille);

/* For ms milliseconds, crashes and restarts every peer marked to crash, as
 * soon as it is marked; returns how many it restarted. Test thread. */
int cfg_serve_crashes(struct cfg *cfg, int64_t ms);

/* The largest Raft state (first argument of persister_save) of any peer. */
int cfg_log_size(struct cfg *cfg);

/* ---- part 3E: membership changes ----
 *
 * A world drawn from a pool of n potential servers, of which some form the
 * initial configuration and the others start, later, as new servers with
 * empty persisters. Every check above keeps running: each applier checks
 * configurations as it checks commands (every peer applies the same one at
 * an index, in order), and the Election Safety monitor watches every peer,
 * old configuration and new.
 */

/* Makes a world of n peers (n <= RAFT_MAX_SERVERS) in which peers
 * 0..nmembers-1 are started, connected and form the initial configuration
 * (raft_make_member); the others wait for cfg_start_new_server. */
struct cfg *cfg_make_members(int n, int nmembers, bool unreliable,
                             bool snapshot);

/* Starts peer i, which has never run, as a new server (empty persister, no
 * configuration), and connects it. */
void cfg_start_new_server(struct cfg *cfg, int i);

/*
 * Adds (removes) server to (from) the configuration from[0..nfrom-1]: asks
 * the connected peers in turn until the leader starts the change, retrying
 * while it is busy, then waits until a majority of the new configuration
 * have applied it. Fails if that has not happened within 30 s.
 */
void cfg_add_server(struct cfg *cfg, int server, const int *from, int nfrom);
void cfg_remove_server(struct cfg *cfg, int server, const int *from, int nfrom);

/* Any thread: raft_add_server / raft_remove_server on peer i alone
 * (RAFT_CHANGE_NOT_LEADER if it is crashed). */
enum raft_change_status cfg_try_change(struct cfg *cfg, int i, int server,
                                       bool add);

/* Any thread: the latest configuration peer i applied, as a member set;
 * false if it has applied none. */
bool cfg_applied_config(struct cfg *cfg, int i, uint64_t *members);

/* Fails unless every connected, running peer of members[0..n-1] reports
 * exactly that configuration (raft_get_config). */
void cfg_check_config(struct cfg *cfg, const int *members, int n);

/* Any thread: the set {members[0..n-1]} as a bit mask, and the size of a
 * majority of a set. */
uint64_t cfg_member_set(const int *members, int n);
int cfg_majority_of(uint64_t members);

/* ---- randomness (any thread) ---- */

/* A uniform non-negative 63-bit integer from the config's PRNG (Go's
 * rand.Int()); tests write cfg_rand(cfg) % n. */
int64_t cfg_rand(struct cfg *cfg);
/* n random characters of the base64url alphabet, NUL-terminated; the caller
 * frees it. */
char *cfg_randstring(struct cfg *cfg, int n);

#endif
