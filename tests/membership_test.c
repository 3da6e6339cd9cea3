/*
 * membership_test.c: part 3E, cluster membership changes (the Raft paper's
 * §6, one server at a time as in the Raft thesis §4), an optional part
 * beyond 6.5840's labs. Each test builds a world drawn from a pool of
 * potential servers (cfg_make_members, config/raft_config.h), changes its
 * configuration with raft_add_server and raft_remove_server (raft.h's last
 * section), and keeps every check of the Raft tester running throughout:
 * every peer applies the same command or configuration at each index, and
 * at most one peer leads in a term, in the old configuration and the new.
 *
 * Run them with `build/default/membership_test` (`-run 3E`), one with
 * `-run '^TestAddServer3E$'`, and replay one with `-seed N`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config/raft_config.h"
#include "labtime/labtime.h"
#include "runner/runner.h"

/* The tester allows solutions to complete elections in one second. */
#define RAFT_ELECTION_TIMEOUT_MS 1000

static struct cmdvalue cmd(int64_t x)
{
	return cmdvalue_int(x);
}

static struct cmdvalue random_cmd(struct cfg *cfg)
{
	return cmd(cfg_rand(cfg) % 1000000);
}

/* ---- load: a client agreeing on commands while the test changes things */

struct load {
	struct cfg *cfg;
	int expected; /* servers that must apply each command */
	pthread_t thread;
	atomic_bool stop;
	atomic_int agreed;
};

static void *load_main(void *arg)
{
	struct load *l = arg;
	while (!atomic_load(&l->stop) && !cfg_check_failure(l->cfg)) {
		if (cfg_one(l->cfg, random_cmd(l->cfg), l->expected, true) < 0)
			break;
		atomic_fetch_add(&l->agreed, 1);
	}
	return NULL;
}

static void load_start(struct load *l, struct cfg *cfg, int expected)
{
	l->cfg = cfg;
	l->expected = expected;
	atomic_init(&l->stop, false);
	atomic_init(&l->agreed, 0);
	if (pthread_create(&l->thread, NULL, load_main, l) != 0)
		runner_fatalf("pthread_create failed");
}

/* Stops the client; fails if it agreed on fewer than min commands. */
static void load_stop(struct load *l, int min, const char *during)
{
	atomic_store(&l->stop, true);
	pthread_join(l->thread, NULL);
	cfg_check_failure(l->cfg);
	int agreed = atomic_load(&l->agreed);
	if (agreed < min)
		runner_fatalf("only %d commands were agreed on %s (at least %d "
		              "expected): the cluster must stay available "
		              "while its configuration changes",
		              agreed, during, min);
}

/* Sleeps until the peers have had time to apply what they will apply,
 * then fails unless exactly n peers applied index. */
static void check_applied_by(struct cfg *cfg, int index, int n, const char *why)
{
	cfg_sleep_ms(cfg, RAFT_ELECTION_TIMEOUT_MS);
	int nd = cfg_n_committed(cfg, index, NULL);
	if (nd != n)
		runner_fatalf("%d servers applied index %d, expected %d: %s",
		              nd, index, n, why);
}

/* Starts c at leader, which must take it, and returns its index. */
static int start_on_leader(struct cfg *cfg, int leader, struct cmdvalue c)
{
	struct raft_start_result r = cfg_start(cfg, leader, c);
	if (!r.is_leader)
		runner_fatalf("server %d, the leader a moment ago, refused a "
		              "command",
		              leader);
	return r.index;
}

/* ---- the tests ---- */

/*
 * A new server joins a 3-server cluster under load. Its log has been
 * compacted away, so it catches up through a snapshot; then it counts:
 * with one old server down, the other two and the new one commit, and with
 * two down nothing does (two of four are not a majority).
 */
static void TestAddServer3E(void)
{
	struct cfg *cfg = cfg_make_members(4, 3, false, true);
	cfg_begin(cfg,
	          "Test (3E): add a server under load, through a snapshot");

	for (int i = 0; i < 2 * CFG_SNAPSHOT_INTERVAL + 5; i++)
		cfg_one(cfg, random_cmd(cfg), 3, true);

	struct load l;
	load_start(&l, cfg, 3);
	cfg_start_new_server(cfg, 3);
	const int from[] = {0, 1, 2}, to[] = {0, 1, 2, 3};
	cfg_add_server(cfg, 3, from, 3);
	load_stop(&l, 1, "while server 3 was added");
	cfg_check_config(cfg, to, 4);
	cfg_one(cfg, random_cmd(cfg), 4, true);

	/* The new server counts toward majorities, and in their size: two
	 * old servers other than the leader go, one after the other. */
	int leader = cfg_check_one_leader(cfg);
	int others[3], nothers = 0;
	for (int i = 0; i < 3; i++)
		if (i != leader)
			others[nothers++] = i;
	int down = others[0], down2 = others[1];
	cfg_disconnect(cfg, down);
	cfg_one(cfg, random_cmd(cfg), 3, true);
	leader = cfg_check_one_leader(cfg);
	if (leader == down2)
		down2 = others[2 % nothers] == down ? 3 : others[2 % nothers];
	cfg_disconnect(cfg, down2);
	int index = start_on_leader(cfg, leader, random_cmd(cfg));
	check_applied_by(cfg, index, 0,
	                 "two of four servers are not a majority: the leader "
	                 "must count the new server in the configuration's "
	                 "size");
	cfg_connect(cfg, down);
	cfg_connect(cfg, down2);
	cfg_one(cfg, random_cmd(cfg), 4, true);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/* A follower of five is removed: the four go on without it, and two of the
 * four down stop commitment. */
static void TestRemoveFollower3E(void)
{
	struct cfg *cfg = cfg_make_members(5, 5, false, false);
	cfg_begin(cfg, "Test (3E): remove a follower");

	cfg_one(cfg, random_cmd(cfg), 5, true);
	int leader = cfg_check_one_leader(cfg);
	int gone = (leader + 1) % 5;
	const int from[] = {0, 1, 2, 3, 4};
	int to[4], n = 0;
	for (int i = 0; i < 5; i++)
		if (i != gone)
			to[n++] = i;
	cfg_remove_server(cfg, gone, from, 5);
	cfg_check_config(cfg, to, 4);

	int index = cfg_one(cfg, random_cmd(cfg), 4, true);
	check_applied_by(cfg, index, 4,
	                 "a removed server gets no entries after its removal");
	cfg_crash1(cfg, gone);
	cfg_one(cfg, random_cmd(cfg), 4, true);

	/* Three of the four are a majority, two are not. */
	int a = to[0] == leader ? to[1] : to[0];
	cfg_disconnect(cfg, a);
	cfg_one(cfg, random_cmd(cfg), 3, true);
	int b = -1;
	for (int k = 0; k < 4 && b < 0; k++)
		if (to[k] != a && to[k] != leader)
			b = to[k];
	leader = cfg_check_one_leader(cfg);
	if (b == leader)
		b = a == to[0] ? to[1] : to[0];
	cfg_disconnect(cfg, b);
	index = start_on_leader(cfg, leader, random_cmd(cfg));
	check_applied_by(cfg, index, 0,
	                 "two of four servers are not a majority");
	cfg_connect(cfg, a);
	cfg_connect(cfg, b);
	cfg_one(cfg, random_cmd(cfg), 4, true);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/* The leader removes itself: it commits the change, steps down and never
 * leads again; the other two elect a leader and go on. */
static void TestRemoveLeader3E(void)
{
	struct cfg *cfg = cfg_make_members(3, 3, false, false);
	cfg_begin(cfg, "Test (3E): remove the leader");

	cfg_one(cfg, random_cmd(cfg), 3, true);
	int leader = cfg_check_one_leader(cfg);
	const int from[] = {0, 1, 2};
	int to[2], n = 0;
	for (int i = 0; i < 3; i++)
		if (i != leader)
			to[n++] = i;
	cfg_remove_server(cfg, leader, from, 3);
	cfg_check_config(cfg, to, 2);

	int next = cfg_check_one_leader(cfg);
	if (next == leader)
		runner_fatalf(
		        "server %d still leads after removing itself: a "
		        "leader outside the configuration steps down once "
		        "the change is committed (thesis §4.2.2)",
		        leader);
	cfg_one(cfg, random_cmd(cfg), 2, true);
	for (int t = 0; t < 20; t++) {
		int term;
		bool is_leader;
		cfg_get_state(cfg, leader, &term, &is_leader);
		if (is_leader)
			runner_fatalf("server %d, removed, leads again in term "
			              "%d: a server outside the configuration "
			              "must not campaign",
			              leader, term);
		cfg_sleep_ms(cfg, 100);
	}
	cfg_one(cfg, random_cmd(cfg), 2, true);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/* Every server of the cluster is replaced, one at a time, under load: add
 * a new one, remove an old one, three times. Then the old ones go. */
static void TestReplaceAll3E(void)
{
	struct cfg *cfg = cfg_make_members(6, 3, false, true);
	cfg_begin(cfg, "Test (3E): replace every server, one at a time, under "
	               "load");

	int members[6] = {0, 1, 2}, n = 3;
	cfg_one(cfg, random_cmd(cfg), 3, true);
	struct load l;
	load_start(&l, cfg, 2);
	for (int k = 0; k < 3; k++) {
		int fresh = 3 + k;
		cfg_start_new_server(cfg, fresh);
		cfg_add_server(cfg, fresh, members, n);
		members[n++] = fresh;
		cfg_remove_server(cfg, k, members, n);
		for (int m = 0; m < n - 1; m++)
			members[m] = members[m + 1];
		n--;
	}
	load_stop(&l, 3, "while every server was replaced");
	const int to[] = {3, 4, 5};
	cfg_check_config(cfg, to, 3);
	for (int k = 0; k < 3; k++)
		cfg_crash1(cfg, k);
	cfg_one(cfg, random_cmd(cfg), 3, true);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/*
 * The leader and one follower are cut off from the other three. The old
 * leader may accept a change, but the minority side must never commit it;
 * the majority goes on, and once healed everyone has the majority's
 * configuration, which is still all five.
 */
static void TestChangeInMinority3E(void)
{
	struct cfg *cfg = cfg_make_members(5, 5, false, false);
	cfg_begin(cfg, "Test (3E): a change in a minority never commits");

	cfg_one(cfg, random_cmd(cfg), 5, true);
	int leader = cfg_check_one_leader(cfg);
	int buddy = (leader + 1) % 5;
	for (int i = 0; i < 5; i++)
		if (i != leader && i != buddy)
			for (int j = 0; j < 5; j++)
				if (j == leader || j == buddy) {
					cfg_enable_link(cfg, i, j, false);
					cfg_enable_link(cfg, j, i, false);
				}
	/* At once, while it may still believe it leads. */
	enum raft_change_status st = cfg_try_change(cfg, leader, buddy, false);
	cfg_sleep_ms(cfg, 2 * RAFT_ELECTION_TIMEOUT_MS);
	for (int i = 0; i < 5; i++) {
		uint64_t m;
		if (cfg_applied_config(cfg, i, &m))
			runner_fatalf(
			        "server %d applied a configuration change "
			        "(%s by the leader cut off with one "
			        "follower): a minority must never commit",
			        i,
			        st == RAFT_CHANGE_STARTED ? "started"
			                                  : "not started");
	}
	/* The majority side commits without the two. */
	int majority_leader = -1;
	for (int t = 0; t < 20 && majority_leader < 0; t++) {
		for (int i = 0; i < 5; i++) {
			int term;
			bool is_leader;
			if (i == leader || i == buddy)
				continue;
			cfg_get_state(cfg, i, &term, &is_leader);
			if (is_leader)
				majority_leader = i;
		}
		if (majority_leader < 0)
			cfg_sleep_ms(cfg, 100);
	}
	if (majority_leader < 0)
		runner_fatalf("the three servers of the majority elected no "
		              "leader");
	struct raft_start_result r =
	        cfg_start(cfg, majority_leader, random_cmd(cfg));
	if (r.is_leader)
		cfg_wait(cfg, r.index, 3, -1);

	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			if (i != j)
				cfg_enable_link(cfg, i, j, true);
	cfg_one(cfg, random_cmd(cfg), 5, true);
	const int all[] = {0, 1, 2, 3, 4};
	cfg_check_config(cfg, all, 5);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/* Configurations survive crashes: after an addition and after a removal,
 * every server crashes and restarts from what it persisted. */
static void TestChangeCrashRestart3E(void)
{
	struct cfg *cfg = cfg_make_members(4, 3, false, false);
	cfg_begin(cfg, "Test (3E): changes persist across crashes");

	cfg_one(cfg, random_cmd(cfg), 3, true);
	cfg_start_new_server(cfg, 3);
	const int three[] = {0, 1, 2}, four[] = {0, 1, 2, 3};
	cfg_add_server(cfg, 3, three, 3);
	cfg_one(cfg, random_cmd(cfg), 4, true);
	for (int i = 0; i < 4; i++)
		cfg_crash1(cfg, i);
	for (int i = 0; i < 4; i++) {
		cfg_start1(cfg, i);
		cfg_connect(cfg, i);
	}
	cfg_one(cfg, random_cmd(cfg), 4, true);
	cfg_check_config(cfg, four, 4);

	/* A removal, and a crash of everyone right after it started. */
	int leader = cfg_check_one_leader(cfg);
	int gone = leader == 0 ? 1 : 0;
	enum raft_change_status st = RAFT_CHANGE_BUSY;
	for (int t = 0; t < 50 && st != RAFT_CHANGE_STARTED; t++) {
		st = cfg_try_change(cfg, leader, gone, false);
		if (st != RAFT_CHANGE_STARTED)
			cfg_sleep_ms(cfg, 20);
	}
	cfg_sleep_ms(cfg, cfg_rand(cfg) % 100);
	for (int i = 0; i < 4; i++)
		cfg_crash1(cfg, i);
	for (int i = 0; i < 4; i++) {
		cfg_start1(cfg, i);
		cfg_connect(cfg, i);
	}
	/* The removal may or may not have survived; finish it either way. */
	int rest[3], n = 0;
	for (int i = 0; i < 4; i++)
		if (i != gone)
			rest[n++] = i;
	cfg_one(cfg, random_cmd(cfg), 3, true);
	cfg_remove_server(cfg, gone, four, 4);
	for (int i = 0; i < 4; i++)
		cfg_crash1(cfg, i);
	for (int i = 0; i < 4; i++) {
		cfg_start1(cfg, i);
		cfg_connect(cfg, i);
	}
	cfg_one(cfg, random_cmd(cfg), 3, true);
	cfg_check_config(cfg, rest, 3);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/*
 * A follower is cut off and removed while it is away, so it never hears of
 * it. Back, it times out again and again and campaigns with ever higher
 * terms; the cluster must not notice: same leader, same term, commands
 * agreed on as before.
 */
static void TestRemovedServerNoDisruption3E(void)
{
	struct cfg *cfg = cfg_make_members(5, 5, false, false);
	cfg_begin(cfg, "Test (3E): a removed server does not disrupt the "
	               "cluster");

	cfg_one(cfg, random_cmd(cfg), 5, true);
	int leader = cfg_check_one_leader(cfg);
	int gone = (leader + 2) % 5;
	cfg_disconnect(cfg, gone);
	const int all[] = {0, 1, 2, 3, 4};
	cfg_remove_server(cfg, gone, all, 5);
	int rest[4], n = 0;
	for (int i = 0; i < 5; i++)
		if (i != gone)
			rest[n++] = i;
	cfg_one(cfg, random_cmd(cfg), 4, true);
	leader = cfg_check_one_leader(cfg);
	int term0;
	bool is_leader;
	cfg_get_state(cfg, leader, &term0, &is_leader);

	cfg_connect(cfg, gone);
	for (int t = 0; t < 8; t++) {
		cfg_sleep_ms(cfg, RAFT_ELECTION_TIMEOUT_MS / 2);
		cfg_one(cfg, random_cmd(cfg), 4, true);
	}
	int term;
	cfg_get_state(cfg, leader, &term, &is_leader);
	if (!is_leader || term != term0)
		runner_fatalf(
		        "server %d, removed while cut off, came back and "
		        "the cluster's leader %d %s (term %d, then %d): a "
		        "server ignores RequestVote from a candidate "
		        "outside its configuration (or, as §6 says, within "
		        "the minimum election timeout of hearing from a "
		        "leader)",
		        gone, leader,
		        is_leader ? "moved to a newer term"
		                  : "lost its leadership",
		        term0, term);
	cfg_check_config(cfg, rest, 4);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/* A new server that cannot catch up (it is cut off right after its
 * addition begins) must not make the cluster unavailable: until it has
 * caught up it counts toward no majority (§6's non-voting phase). */
static void TestCatchUpAvailability3E(void)
{
	struct cfg *cfg = cfg_make_members(4, 3, false, false);
	cfg_begin(cfg, "Test (3E): a catching-up server keeps the cluster "
	               "available");

	for (int i = 0; i < 20; i++)
		cfg_one(cfg, random_cmd(cfg), 3, true);
	int leader = cfg_check_one_leader(cfg);
	int down = (leader + 1) % 3;
	cfg_disconnect(cfg, down); /* two of three left: still a majority */

	cfg_start_new_server(cfg, 3);
	cfg_disconnect(cfg, 3); /* it cannot catch up */
	enum raft_change_status st = RAFT_CHANGE_BUSY;
	for (int t = 0; t < 100 && st != RAFT_CHANGE_STARTED; t++) {
		st = cfg_try_change(cfg, leader, 3, true);
		if (st == RAFT_CHANGE_NOT_LEADER || st == RAFT_CHANGE_INVALID)
			runner_fatalf("server %d, the leader, refused to add "
			              "server 3 (status %d)",
			              leader, (int)st);
		if (st != RAFT_CHANGE_STARTED)
			cfg_sleep_ms(cfg, 10);
	}
	if (st != RAFT_CHANGE_STARTED)
		runner_fatalf("server %d, the leader, stayed busy for 1 s",
		              leader);
	for (int i = 0; i < 5; i++) {
		int index = start_on_leader(cfg, leader, random_cmd(cfg));
		int64_t t0 = labtime_now_ns();
		while (cfg_n_committed(cfg, index, NULL) < 2) {
			if (labtime_now_ns() - t0 >
			    2 * RAFT_ELECTION_TIMEOUT_MS * INT64_C(1000000))
				runner_fatalf(
				        "index %d was not committed in %d s by "
				        "the two connected servers of three "
				        "while "
				        "server 3 was being added and could "
				        "not "
				        "catch up: a server being added must "
				        "not "
				        "count toward majorities until it has "
				        "caught up (§6)",
				        index,
				        2 * RAFT_ELECTION_TIMEOUT_MS / 1000);
			cfg_sleep_ms(cfg, 10);
		}
	}

	cfg_connect(cfg, 3);
	cfg_connect(cfg, down);
	const int from[] = {0, 1, 2}, to[] = {0, 1, 2, 3};
	cfg_add_server(cfg, 3, from, 3);
	cfg_one(cfg, random_cmd(cfg), 4, true);
	cfg_check_config(cfg, to, 4);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

/* Additions and removals under load on an unreliable network. */
static void TestUnreliableChanges3E(void)
{
	struct cfg *cfg = cfg_make_members(5, 3, true, false);
	cfg_begin(cfg, "Test (3E): changes under load, unreliable net");

	int members[5] = {0, 1, 2}, n = 3;
	cfg_one(cfg, random_cmd(cfg), 3, true);
	struct load l;
	load_start(&l, cfg, 2);
	for (int fresh = 3; fresh < 5; fresh++) {
		cfg_start_new_server(cfg, fresh);
		cfg_add_server(cfg, fresh, members, n);
		members[n++] = fresh;
	}
	for (int k = 0; k < 2; k++) {
		cfg_remove_server(cfg, k, members, n);
		for (int m = 0; m < n - 1; m++)
			members[m] = members[m + 1];
		n--;
	}
	load_stop(&l, 1, "while the configuration changed");
	cfg_set_unreliable(cfg, false);
	cfg_one(cfg, random_cmd(cfg), 3, true);
	cfg_check_config(cfg, members, n);

	cfg_end(cfg);
	cfg_cleanup(cfg);
}

static const struct runner_test tests[] = {
        {"TestAddServer3E", TestAddServer3E, 0},
        {"TestRemoveFollower3E", TestRemoveFollower3E, 0},
        {"TestRemoveLeader3E", TestRemoveLeader3E, 0},
        {"TestReplaceAll3E", TestReplaceAll3E, 0},
        {"TestChangeInMinority3E", TestChangeInMinority3E, 0},
        {"TestChangeCrashRestart3E", TestChangeCrashRestart3E, 0},
        {"TestRemovedServerNoDisruption3E", TestRemovedServerNoDisruption3E, 0},
        {"TestCatchUpAvailability3E", TestCatchUpAvailability3E, 0},
        {"TestUnreliableChanges3E", TestUnreliableChanges3E, 0},
};

int main(int argc, char **argv)
{
	/* None of them is in the Go suite: -go-only selects none. */
	return runner_main_beyond_go(argc, argv, "membership", tests,
	                             sizeof tests / sizeof tests[0], 0);
}
