/*
 * timing.h: settings of the reference Raft (raft/raft.c) that only
 * benchmarks change; the graded suites use the defaults. The benchmark of
 * the Raft paper's Figure 16 (tests/bench/figure16.c) varies them. Not part of
 * the student API (raft.h): a student's raft.c has no such settings.
 */
#ifndef RAFTLAB_RAFT_TIMING_H
#define RAFTLAB_RAFT_TIMING_H

struct raft_timing {
	/* Each election timeout is drawn uniformly from [min, max) ms; max ==
	 * min means no randomness at all. The defaults, 300 and 600, draw
	 * whole milliseconds, as the reference always has (so that a seed
	 * replays the same timeouts); other settings draw microseconds, so
	 * that even a range of 1 ms has randomness. */
	int election_timeout_min_ms;
	int election_timeout_max_ms;
	/* A leader's heartbeat interval (default 100 ms). A leader steps down
	 * when no majority has answered it for two of them (or longer, where
	 * answers have been slow). */
	int heartbeat_ms;
};

/*
 * Peers made after this call (raft_make copies the settings into the peer)
 * use *timing; NULL restores the defaults. Call it while no raft_make runs,
 * e.g. between a benchmark's trials. Returns 0, or -EINVAL (changing
 * nothing) unless 1 <= min <= max and heartbeat >= 1.
 */
int raft_timing_set(const struct raft_timing *timing);

#endif
