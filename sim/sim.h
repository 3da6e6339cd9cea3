/*
 * sim: simulation mode's deterministic scheduler. In the sim build (make
 * SIM=1) every test runs its threads one at a time on virtual time: the
 * pthread, sleep and clock calls of the code under test are redirected here
 * at link time (sim/wrap.c), each is a scheduling point where a PRNG seeded
 * from the test's seed picks the thread that runs next, and when every thread
 * waits, the clock jumps to the earliest timer. A seed therefore replays a
 * whole run, thread interleaving included.
 *
 * Outside the sim build this header still compiles: sim_enabled() is false
 * and the calls below do nothing, so framework code needs no #ifdef.
 */
#ifndef RAFTLAB_SIM_H
#define RAFTLAB_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How the scheduler picks the next thread at a scheduling point. */
enum sim_policy {
	SIM_RANDOM, /* uniformly among the runnable threads */
	SIM_PCT,    /* PCT (Burckhardt et al., ASPLOS 2010): random thread
	               priorities, the highest runnable runs, and at depth-1
	               random steps the running thread drops to the bottom */
};

struct sim_options {
	uint64_t seed;    /* the test's seed */
	int64_t limit_ns; /* virtual time limit of the test; 0 for none */
	enum sim_policy policy;
	int pct_depth; /* PCT's d; 0 means SIM_PCT_DEFAULT_DEPTH */
	int cpu;       /* which of the allowed CPUs to keep the threads
	                  on (modulo their number); -1: the one the
	                  caller runs on */
};

#define SIM_PCT_DEFAULT_DEPTH 3

/*
 * Virtual costs, so that time moves even where no thread sleeps (an unpaced
 * client loop), and moves more where real work grows:
 *   every scheduling point a thread reaches (the stretch it ran since its
 *     last one)                                       SIM_POINT_COST_NS;
 *   every labrpc delivery (a request reaching its handler, a reply reaching
 *     its caller)                                     SIM_RPC_COST_NS,
 *     and SIM_BYTE_COST_NS for each byte it carries;
 *   every byte the persister saves                    SIM_BYTE_COST_NS.
 * Without the byte costs, a service whose state grows would do ever more
 * copying per virtual second, and a run would slow down without end.
 */
#define SIM_POINT_COST_NS 1000
#define SIM_RPC_COST_NS 20000
#define SIM_BYTE_COST_NS 1

/* What went wrong, for the handler the runner installs. */
enum sim_trouble {
	SIM_FAILED, /* the code under test did something sim cannot run */
	SIM_STUCK,  /* deadlock, busy loop, or the virtual time limit: the
	               process should be examined (backtraces) and killed */
};

/* Called, never to return, with a one-line reason and (for SIM_STUCK) a
 * table of the threads and what each waits for; both NUL-terminated. */
typedef void (*sim_trouble_fn)(enum sim_trouble kind, const char *reason,
                               const char *details);

/* Counters of the current (or last) simulation. */
struct sim_stats {
	uint64_t points;   /* scheduling points reached */
	uint64_t switches; /* hand-offs from one thread to another */
	uint64_t threads;  /* threads started, the first one included */
	int64_t now_ns;    /* virtual time since sim_start */
};

#ifdef RAFTLAB_SIM

/* True in the sim build (compiled with RAFTLAB_SIM). */
static inline bool sim_enabled(void)
{
	return true;
}

/* Installs the handler for trouble; the default prints and aborts. */
void sim_on_trouble(sim_trouble_fn fn);

/* Makes the calling thread the simulation's first thread and starts the
 * scheduler; no other thread of the code under test may be running. */
void sim_start(const struct sim_options *opt);

/* Ends the simulation: the caller goes on as a plain thread. Threads still
 * blocked in the simulation stay blocked until the process exits. */
void sim_stop(void);

/* True while the calling thread runs under the scheduler. */
bool sim_active(void);

/* Charges ns of virtual time to the running thread (labrpc deliveries). */
void sim_charge(int64_t ns);

/*
 * Runs the calling thread outside the simulation until sim_resume: its calls
 * go to the real pthread functions, threads it starts are real threads, and
 * virtual time stands still while every other thread stays paused. For work
 * that no test step depends on the timing of, such as the linearizability
 * check at the end of a kv test.
 */
void sim_suspend(void);
void sim_resume(void);

/* A value from the simulation's PRNG, for seeds that would otherwise come
 * from the operating system's entropy source. */
uint64_t sim_random(void);

/* This simulation's counters (the last one's, after sim_stop). */
void sim_get_stats(struct sim_stats *st);

/* Parses "random", "pct" or "pct:D" into o; false when it is neither. */
bool sim_parse_policy(const char *s, struct sim_options *o);

/*
 * An observer: fn(arg) runs at every scheduling point, on the thread that
 * reached it, before the next thread is picked, to check an invariant of the
 * code under test at every step (the Raft tester's election-safety monitor).
 * NULL removes it; sim_stop does too. An observer runs outside the schedule:
 * it reaches no scheduling point, draws no random number and costs no
 * virtual time, so a run is the same with or without it. It may only look:
 * read memory and call code that takes free mutexes (see sim_observe_try).
 */
typedef void (*sim_observer_fn)(void *arg);
void sim_observe(sim_observer_fn fn, void *arg);

/*
 * Within an observer: runs fn(arg), whose mutex locks take a free mutex at
 * once. A mutex that another thread holds (or, unless recursive, the
 * observed thread itself), or any call that would wait or be a scheduling
 * point, abandons fn: its mutexes are let go, and this returns false. True
 * when fn ran to its end. fn must not allocate: an abandoned fn leaks.
 * Outside an observer it just calls fn.
 */
bool sim_observe_try(void (*fn)(void *), void *arg);

#else /* the real build: no simulation */

static inline bool sim_enabled(void)
{
	return false;
}
static inline bool sim_active(void)
{
	return false;
}
static inline void sim_charge(int64_t ns)
{
	(void)ns;
}
static inline void sim_suspend(void)
{
}
static inline void sim_resume(void)
{
}
static inline uint64_t sim_random(void)
{
	return 0;
}
typedef void (*sim_observer_fn)(void *arg);
static inline void sim_observe(sim_observer_fn fn, void *arg)
{
	(void)fn;
	(void)arg;
}
static inline bool sim_observe_try(void (*fn)(void *), void *arg)
{
	fn(arg);
	return true;
}

#endif

/* Charges a labrpc delivery carrying bytes (see the costs above). */
static inline void sim_charge_delivery(size_t bytes)
{
	sim_charge(SIM_RPC_COST_NS + (int64_t)bytes * SIM_BYTE_COST_NS);
}

#endif
