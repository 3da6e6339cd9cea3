/*
 * sched.c: the deterministic scheduler of simulation mode (sim.h). Every
 * simulated thread is a real thread, but only the one holding the baton
 * runs; the others wait on their own futex word. At each scheduling point the
 * holder picks the next thread with the simulation's PRNG and passes the
 * baton, so the interleaving depends on the seed alone. When no thread can
 * run, virtual time jumps to the earliest deadline; when none has one either,
 * the run is deadlocked and reported as such.
 *
 * A real watchdog thread, outside the simulation, notices a thread that
 * holds the baton for a second of CPU time without reaching a scheduling
 * point (a busy loop), or for 30 s without using the CPU (a call that blocks
 * outside the scheduler).
 */
#define _GNU_SOURCE
#include "sim/sched.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prng/prng.h"

/*
 * PCT: the d-1 priority change points fall at random among the scheduling
 * points, log-uniformly up to 2^PCT_LOG2_STEPS (a test reaches between
 * thousands and millions of points, and PCT's bound wants them spread over
 * the run, which is not known in advance).
 *
 * PCT assumes programs that end; a lab's threads loop until told to stop,
 * and under strict priorities the low ones would never run: a test thread
 * that should stop the clients starves, and the test times out. So PCT here
 * is fair in the long run: a thread ready for PCT_STARVE_POINTS points
 * without running runs next, and a thread picked PCT_MAX_STREAK points in a
 * row while others could run drops to the bottom.
 */
enum {
	PCT_LOG2_STEPS = 24,
	PCT_STARVE_POINTS = 20000,
	PCT_MAX_STREAK = 20000,
	PCT_MAX_DEPTH = 64,
};

/* The random policy: at a point where the running thread could go on, it
 * goes on unless a 1 in RANDOM_SWITCH_ONE_IN draw says to pick again among
 * all runnable threads (itself included). Switching at every point would
 * cost a kernel hand-off each time and explore no more: a preemption is as
 * likely at every point as at any other. */
enum { RANDOM_SWITCH_ONE_IN = 16 };

/* The watchdog: how often it looks; how much CPU time a thread may burn
 * holding the baton without a scheduling point (a busy loop); and how long
 * it may hold it burning none (blocked in a call the scheduler does not
 * see). CPU time, not real time, so that a loaded machine that keeps the
 * thread off the CPU is not taken for a busy loop. */
#define WATCHDOG_TICK_NS INT64_C(100000000)
#define BUSY_LIMIT_NS INT64_C(1000000000)
#define BLOCKED_LIMIT_NS INT64_C(30000000000)

/* The most mutexes one sim_observe_try may hold at once. */
#define OBSERVE_MAX_HELD 8

static struct {
	struct sim_options opt;
	struct prng sched_rng;       /* scheduling choices */
	struct prng entropy_rng;     /* sim_random */
	struct sim_thread **threads; /* live threads, in creation order */
	size_t nthreads, cap;
	struct sim_thread **scratch; /* runnable threads, per pick */
	int next_id;
	int64_t now; /* virtual ns since sim_start */
	uint64_t switches;
	uint64_t pct_change[PCT_MAX_DEPTH]; /* step numbers, ascending */
	int pct_nchanges, pct_next;
	/* Threads of earlier simulations (-no-fork runs several), kept
	 * reachable: some may still be blocked. */
	struct sim_thread **graveyard;
	size_t ngraveyard;

	/* The observer (sim_observe), and while it runs, its current
	 * sim_observe_try: where to go back to when abandoned, and the
	 * mutexes taken meanwhile, to let go of then. */
	sim_observer_fn observer;
	void *observer_arg;
	bool observing;
	jmp_buf *try_env;
	pthread_mutex_t *held[OBSERVE_MAX_HELD];
	int nheld;
} S;

/* Between sim_start and sim_stop (or trouble); read by every wrapper. */
static atomic_bool running;

/* Read by the watchdog thread, written by the baton holder. */
static atomic_uint_fast64_t points;
static atomic_int current_tid, current_id;
static atomic_bool watching; /* the simulation runs, not suspended */

static _Thread_local struct sim_thread *tls_self;
static _Thread_local struct sim_thread *tls_suspended; /* sim_suspend's */

static sim_trouble_fn trouble_fn;

static _Noreturn void out_of_memory(void)
{
	fputs("sim: out of memory\n", stderr);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		out_of_memory();
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		out_of_memory();
	return p;
}

/* ---- the baton ---- */

static long futex(atomic_int *word, int op, int val)
{
	return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void baton_give(struct sim_thread *t)
{
	atomic_store_explicit(&current_tid, atomic_load(&t->tid),
	                      memory_order_relaxed);
	atomic_store_explicit(&current_id, t->id, memory_order_relaxed);
	atomic_store(&t->go, 1);
	futex(&t->go, FUTEX_WAKE_PRIVATE, 1);
}

static void baton_wait(struct sim_thread *t)
{
	while (!atomic_exchange(&t->go, 0))
		futex(&t->go, FUTEX_WAIT_PRIVATE, 0);
}

/* ---- the table ---- */

struct sim_thread *sim_self(void)
{
	return atomic_load_explicit(&running, memory_order_relaxed) ? tls_self
	                                                            : NULL;
}

bool sim_active(void)
{
	return sim_self() != NULL;
}

int64_t sim_elapsed_ns(void)
{
	return S.now;
}

static void table_add(struct sim_thread *t)
{
	if (S.nthreads == S.cap) {
		S.cap = S.cap ? 2 * S.cap : 64;
		S.threads = xrealloc(S.threads, S.cap * sizeof *S.threads);
		S.scratch = xrealloc(S.scratch, S.cap * sizeof *S.scratch);
	}
	S.threads[S.nthreads++] = t;
}

static void table_remove(struct sim_thread *t)
{
	for (size_t i = 0; i < S.nthreads; i++) {
		if (S.threads[i] == t) {
			memmove(&S.threads[i], &S.threads[i + 1],
			        (S.nthreads - i - 1) * sizeof *S.threads);
			S.nthreads--;
			return;
		}
	}
}

/* PCT's initial priorities sit above the d-1 change-point priorities. */
static uint64_t initial_priority(void)
{
	return (uint64_t)PCT_MAX_DEPTH + (prng_next(&S.sched_rng) >> 2);
}

static struct sim_thread *thread_alloc(void)
{
	struct sim_thread *t = xmalloc(sizeof *t);
	t->id = S.next_id++;
	t->wait = W_NONE;
	t->deadline = INT64_MAX;
	t->prio = initial_priority();
	t->ready_at = atomic_load_explicit(&points, memory_order_relaxed);
	table_add(t);
	return t;
}

struct sim_thread *sim_thread_new(void *(*fn)(void *), void *arg)
{
	struct sim_thread *t = thread_alloc();
	t->fn = fn;
	t->arg = arg;
	return t;
}

struct sim_thread *sim_thread_find(pthread_t pt)
{
	for (size_t i = 0; i < S.nthreads; i++)
		if (S.threads[i]->id != 0 &&
		    pthread_equal(S.threads[i]->pthread, pt))
			return S.threads[i];
	return NULL;
}

void sim_thread_reap(struct sim_thread *t)
{
	table_remove(t);
	free(t);
}

/* ---- trouble ---- */

static void describe_thread(const struct sim_thread *t, char *out, size_t n)
{
	char until[48] = "";
	if (t->deadline != INT64_MAX)
		snprintf(until, sizeof until, ", until %.3f s",
		         (double)t->deadline / 1e9);
	const char *state = t->id == atomic_load(&current_id)
	                            ? "running"
	                            : "runnable (waiting for its turn)";
	switch (t->wait) {
	case W_NONE:
		snprintf(out, n, "%s", state);
		break;
	case W_MUTEX: {
		int owner = sim_mutex_owner_tag(t->obj);
		if (owner > 0)
			snprintf(out, n, "%s(%p), held by thread %d%s", t->call,
			         t->obj, owner - 1, until);
		else
			snprintf(out, n, "%s(%p)%s", t->call, t->obj, until);
		break;
	}
	case W_JOIN:
		snprintf(out, n, "%s(thread %d)", t->call,
		         ((const struct sim_thread *)t->obj)->id);
		break;
	case W_SLEEP:
		snprintf(out, n, "%s%s", t->call, until);
		break;
	case W_DONE:
		snprintf(out, n, "ended, not yet joined");
		break;
	default:
		snprintf(out, n, "%s(%p)%s", t->call, t->obj, until);
		break;
	}
}

/* The thread table, for a report. */
static char *thread_table(void)
{
	size_t cap = 256 + S.nthreads * 160, len = 0;
	char *s = xmalloc(cap);
	len += (size_t)snprintf(
	        s + len, cap - len,
	        "virtual time %.3f s, %" PRIuFAST64
	        " scheduling points, %" PRIu64 " switches; threads:\n",
	        (double)S.now / 1e9, atomic_load(&points), S.switches);
	for (size_t i = 0; i < S.nthreads && len < cap; i++) {
		const struct sim_thread *t = S.threads[i];
		char what[128];
		describe_thread(t, what, sizeof what);
		len += (size_t)snprintf(s + len, cap - len,
		                        "  thread %d (LWP %d): %s\n", t->id,
		                        atomic_load(&t->tid), what);
	}
	return s;
}

static void default_trouble(enum sim_trouble kind, const char *reason,
                            const char *details)
{
	(void)kind;
	fprintf(stderr, "sim: %s\n%s", reason, details ? details : "");
	fflush(stderr);
	abort();
}

void sim_on_trouble(sim_trouble_fn fn)
{
	trouble_fn = fn;
}

/* Ends the simulation and hands the trouble to the handler; from the baton
 * holder or from the watchdog. */
static _Noreturn void deliver_trouble(enum sim_trouble kind, const char *reason,
                                      const char *details)
{
	atomic_store(&watching, false);
	atomic_store(&running, false); /* the handler's calls are real ones */
	(trouble_fn ? trouble_fn : default_trouble)(kind, reason, details);
	abort(); /* a handler must not return */
}

void sim_trouble(enum sim_trouble kind, const char *fmt, ...)
{
	char reason[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	deliver_trouble(kind, reason,
	                kind == SIM_STUCK ? thread_table() : NULL);
}

/* ---- picking the next thread ---- */

static void check_limit(void)
{
	if (S.opt.limit_ns > 0 && S.now > S.opt.limit_ns)
		sim_trouble(SIM_STUCK,
		            "TIMEOUT: killed after %g s of virtual time",
		            (double)S.opt.limit_ns / 1e9);
}

/* No thread can run: moves time to the earliest deadline (pick then wakes
 * every thread due), or reports a deadlock. */
static void advance_time(void)
{
	int64_t earliest = INT64_MAX;
	for (size_t i = 0; i < S.nthreads; i++)
		if (S.threads[i]->wait != W_NONE &&
		    S.threads[i]->deadline < earliest)
			earliest = S.threads[i]->deadline;
	if (earliest == INT64_MAX)
		sim_trouble(SIM_STUCK,
		            "deadlock: every thread waits, and none has a "
		            "deadline that could wake it");
	if (S.opt.limit_ns > 0 && earliest > S.opt.limit_ns)
		earliest =
		        S.opt.limit_ns + 1; /* stop at the limit, not beyond */
	if (earliest > S.now)
		S.now = earliest;
	check_limit();
}

static struct sim_thread *pick_pct(size_t n, struct sim_thread *self)
{
	uint64_t now = atomic_load_explicit(&points, memory_order_relaxed);
	struct sim_thread *best = S.scratch[0], *oldest = S.scratch[0];
	for (size_t i = 1; i < n; i++) {
		if (S.scratch[i]->prio > best->prio)
			best = S.scratch[i];
		if (S.scratch[i]->ready_at < oldest->ready_at)
			oldest = S.scratch[i];
	}
	if (oldest != self && now - oldest->ready_at > PCT_STARVE_POINTS)
		best = oldest; /* it has waited long enough */
	if (best == self && n > 1 && ++self->run_streak > PCT_MAX_STREAK) {
		self->run_streak = 0;
		self->prio = 0;
		return pick_pct(n, NULL);
	}
	if (best != self && self)
		self->run_streak = 0;
	return best;
}

/* The next thread to run (self included, when it is runnable). */
static struct sim_thread *pick(struct sim_thread *self)
{
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < S.nthreads; i++) {
			struct sim_thread *t = S.threads[i];
			if (t->wait != W_NONE && t->wait != W_DONE &&
			    t->deadline <= S.now) { /* time ran past it */
				t->wait = W_NONE;
				t->timed_out = true;
				t->ready_at = atomic_load_explicit(
				        &points, memory_order_relaxed);
			}
			if (t->wait == W_NONE)
				S.scratch[n++] = t;
		}
		if (n == 1)
			return S.scratch[0];
		if (n > 1) {
			if (S.opt.policy == SIM_PCT)
				return pick_pct(n, self);
			if (self && self->wait == W_NONE &&
			    prng_below(&S.sched_rng, RANDOM_SWITCH_ONE_IN) != 0)
				return self;
			return S.scratch[prng_below(&S.sched_rng, (int64_t)n)];
		}
		advance_time();
	}
}

/* Passes the baton to whoever runs next; unless self is ending, waits to
 * get it back. */
static void reschedule(struct sim_thread *self, bool ending)
{
	struct sim_thread *next = pick(self);
	next->ready_at = atomic_load_explicit(&points, memory_order_relaxed);
	if (next == self)
		return;
	S.switches++;
	baton_give(next);
	if (!ending)
		baton_wait(self);
}

/* ---- observers ---- */

bool sim_observing(void)
{
	return S.observing;
}

/* Leaves the running sim_observe_try: something in it would have waited. */
static _Noreturn void observe_abandon(const char *call)
{
	if (!S.try_env)
		sim_trouble(SIM_FAILED,
		            "an observer calls %s outside sim_observe_try",
		            call);
	longjmp(*S.try_env, 1);
}

int sim_observed_lock(struct sim_thread *self, pthread_mutex_t *m, bool wait)
{
	int me = sim_owner_tag(self);
	if (m->__data.__lock == me &&
	    (m->__data.__kind & 3) == PTHREAD_MUTEX_RECURSIVE &&
	    S.nheld < OBSERVE_MAX_HELD) {
		m->__data.__count++;
	} else if (m->__data.__lock == 0 && S.nheld < OBSERVE_MAX_HELD) {
		m->__data.__lock = me;
		m->__data.__count = 0;
	} else if (!wait) {
		return EBUSY;
	} else {
		observe_abandon("pthread_mutex_lock");
	}
	S.held[S.nheld++] = m;
	return 0;
}

int sim_observed_unlock(struct sim_thread *self, pthread_mutex_t *m)
{
	int k = S.nheld - 1;
	while (k >= 0 && S.held[k] != m)
		k--;
	if (k < 0 || m->__data.__lock != sim_owner_tag(self))
		observe_abandon("pthread_mutex_unlock"); /* not its own */
	memmove(&S.held[k], &S.held[k + 1],
	        (size_t)(S.nheld - k - 1) * sizeof S.held[0]);
	S.nheld--;
	if (m->__data.__count > 0)
		m->__data.__count--;
	else
		m->__data.__lock = 0; /* it was free: nobody waits for it */
	return 0;
}

bool sim_observe_try(void (*fn)(void *), void *arg)
{
	if (!S.observing) {
		fn(arg);
		return true;
	}
	jmp_buf env;
	S.try_env = &env;
	S.nheld = 0;
	bool finished = setjmp(env) == 0;
	if (finished)
		fn(arg);
	while (S.nheld > 0) { /* abandoned, or fn kept a lock */
		pthread_mutex_t *m = S.held[--S.nheld];
		if (m->__data.__count > 0)
			m->__data.__count--;
		else
			m->__data.__lock = 0;
	}
	S.try_env = NULL;
	return finished;
}

void sim_observe(sim_observer_fn fn, void *arg)
{
	S.observer = fn;
	S.observer_arg = arg;
}

static void run_observer(void)
{
	if (!S.observer || S.observing)
		return;
	S.observing = true;
	S.observer(S.observer_arg);
	S.observing = false;
}

void sim_point(struct sim_thread *self)
{
	if (S.observing)
		observe_abandon("a call that is a scheduling point");
	run_observer();
	S.now += SIM_POINT_COST_NS;
	uint64_t step =
	        atomic_fetch_add_explicit(&points, 1, memory_order_relaxed) + 1;
	check_limit();
	if (S.opt.policy == SIM_PCT && S.pct_next < S.pct_nchanges &&
	    step >= S.pct_change[S.pct_next]) {
		self->prio = (uint64_t)(S.pct_nchanges - S.pct_next);
		S.pct_next++;
	}
	reschedule(self, false);
}

void sim_charge(int64_t ns)
{
	if (sim_self() && ns > 0)
		S.now += ns;
}

bool sim_block(struct sim_thread *self, enum sim_wait wait, const void *obj,
               const char *call, int64_t deadline)
{
	if (S.observing)
		observe_abandon(call);
	run_observer();
	self->wait = wait;
	self->obj = obj;
	self->call = call;
	self->deadline = deadline;
	self->timed_out = false;
	atomic_fetch_add_explicit(&points, 1, memory_order_relaxed);
	reschedule(self, false);
	self->deadline = INT64_MAX;
	self->obj = NULL;
	return !self->timed_out;
}

int sim_wake(enum sim_wait wait, const void *obj, bool one_only)
{
	size_t n = 0;
	for (size_t i = 0; i < S.nthreads; i++) {
		struct sim_thread *t = S.threads[i];
		if (t->wait == wait && t->obj == obj)
			S.scratch[n++] = t;
	}
	if (n == 0)
		return 0;
	if (one_only) {
		S.scratch[0] = S.scratch[prng_below(&S.sched_rng, (int64_t)n)];
		n = 1;
	}
	uint64_t now = atomic_load_explicit(&points, memory_order_relaxed);
	for (size_t i = 0; i < n; i++) {
		S.scratch[i]->wait = W_NONE;
		S.scratch[i]->ready_at = now;
	}
	return (int)n;
}

/* ---- thread lives ---- */

void *sim_thread_main(void *arg)
{
	struct sim_thread *t = arg;
	tls_self = t;
	atomic_store(&t->tid, (int)syscall(SYS_gettid));
	baton_wait(t);
	atomic_store_explicit(&current_tid, atomic_load(&t->tid),
	                      memory_order_relaxed);
	void *ret = t->fn(t->arg);
	sim_thread_exit(t, ret);
	return ret;
}

void sim_thread_exit(struct sim_thread *self, void *retval)
{
	self->retval = retval;
	self->wait = W_DONE;
	self->deadline = INT64_MAX;
	sim_wake(W_JOIN, self, false);
	bool detached = self->detached;
	if (detached)
		table_remove(self);
	tls_self = NULL;
	reschedule(self, true);
	if (detached)
		free(self);
}

/* ---- starting and stopping ---- */

static const char *reason_stuck(int tid, bool busy)
{
	static char reason[256];
	if (busy)
		snprintf(reason, sizeof reason,
		         "busy loop: thread %d (LWP %d) ran for %.1f s of CPU "
		         "time without reaching a scheduling point",
		         atomic_load(&current_id), tid,
		         (double)BUSY_LIMIT_NS / 1e9);
	else
		snprintf(reason, sizeof reason,
		         "blocked outside the scheduler: thread %d (LWP %d) "
		         "has waited %.0f s of real time in a call simulation "
		         "mode does not cover",
		         atomic_load(&current_id), tid,
		         (double)BLOCKED_LIMIT_NS / 1e9);
	return reason;
}

/* The CPU time thread tid has used (Linux's per-thread CPU clock ids). */
static int64_t thread_cpu_ns(int tid)
{
	clockid_t clk = (clockid_t)((~(unsigned)tid << 3) | 6);
	struct timespec ts;
	if (__real_clock_gettime(clk, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	uint_fast64_t last = UINT_FAST64_MAX;
	int64_t still_ns = 0, cpu_at_last = 0;
	struct timespec tick = {0, WATCHDOG_TICK_NS};
	for (;;) {
		__real_nanosleep(&tick, NULL);
		if (!atomic_load(&watching)) {
			still_ns = 0;
			last = UINT_FAST64_MAX;
			continue;
		}
		uint_fast64_t now = atomic_load(&points);
		int tid = atomic_load(&current_tid);
		int64_t cpu = thread_cpu_ns(tid);
		if (now != last) {
			last = now;
			still_ns = 0;
			cpu_at_last = cpu;
			continue;
		}
		still_ns += WATCHDOG_TICK_NS;
		bool busy = cpu >= 0 && cpu - cpu_at_last >= BUSY_LIMIT_NS;
		if (!busy && still_ns < BLOCKED_LIMIT_NS)
			continue;
		char *table = thread_table();
		size_t n = strlen(table) + 1024;
		char *details = xmalloc(n);
		snprintf(details, n,
		         "  Only one thread runs at a time in simulation mode, "
		         "so "
		         "a loop that waits\n"
		         "  for another thread without sleeping, waiting on a "
		         "condition variable or\n"
		         "  taking a lock never lets that thread run. The "
		         "backtrace of LWP %d\n"
		         "  shows where it loops, or where it blocks in a call "
		         "that simulation mode\n"
		         "  does not cover (README, Simulation mode).\n%s",
		         tid, table);
		deliver_trouble(SIM_STUCK, reason_stuck(tid, busy), details);
	}
	return NULL;
}

static void start_watchdog(void)
{
	static bool started;
	if (started)
		return;
	started = true;
	pthread_t wd;
	if (__real_pthread_create(&wd, NULL, watchdog_main, NULL) == 0)
		__real_pthread_detach(wd);
}

bool sim_parse_policy(const char *s, struct sim_options *o)
{
	if (strcmp(s, "random") == 0) {
		o->policy = SIM_RANDOM;
		return true;
	}
	if (strncmp(s, "pct", 3) != 0)
		return false;
	o->policy = SIM_PCT;
	o->pct_depth = SIM_PCT_DEFAULT_DEPTH;
	if (s[3] == '\0')
		return true;
	if (s[3] != ':')
		return false;
	char *end;
	long d = strtol(s + 4, &end, 10);
	if (end == s + 4 || *end || d < 1 || d > PCT_MAX_DEPTH)
		return false;
	o->pct_depth = (int)d;
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Keeps the simulation on one CPU (threads inherit it): a hand-off between
 * two threads on the same CPU is a direct switch, several times cheaper than
 * waking a thread on another. Unless told which, it stays on the CPU it
 * starts on: the kernel starts a new process on the least busy CPU, so test
 * processes run side by side (by run-tests.sh or -parallel) spread out.
 */
static void pin_to_one_cpu(int which)
{
	cpu_set_t allowed, one;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return;
	int n = CPU_COUNT(&allowed);
	if (n <= 1)
		return;
	if (which < 0) {
		int here = sched_getcpu();
		if (here < 0 || !CPU_ISSET(here, &allowed))
			return;
		CPU_ZERO(&one);
		CPU_SET(here, &one);
		sched_setaffinity(0, sizeof one, &one);
		return;
	}
	int want = which % n;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || want-- > 0)
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof one, &one);
		return;
	}
}

void sim_start(const struct sim_options *opt)
{
	if (S.nthreads) { /* an earlier simulation's threads: keep them */
		S.graveyard =
		        xrealloc(S.graveyard, (S.ngraveyard + S.nthreads) *
		                                      sizeof *S.graveyard);
		memcpy(S.graveyard + S.ngraveyard, S.threads,
		       S.nthreads * sizeof *S.threads);
		S.ngraveyard += S.nthreads;
		S.nthreads = 0;
	}
	S.opt = *opt;
	prng_seed(&S.sched_rng, opt->seed ^ UINT64_C(0x243f6a8885a308d3));
	prng_seed(&S.entropy_rng, opt->seed ^ UINT64_C(0x13198a2e03707344));
	S.next_id = 0;
	S.now = 0;
	S.switches = 0;
	atomic_store(&points, 0);
	S.pct_nchanges = 0;
	S.pct_next = 0;
	if (opt->policy == SIM_PCT) {
		int d = opt->pct_depth > 0 ? opt->pct_depth
		                           : SIM_PCT_DEFAULT_DEPTH;
		S.pct_nchanges = d - 1;
		for (int i = 0; i < S.pct_nchanges; i++) {
			int64_t e = prng_below(&S.sched_rng, PCT_LOG2_STEPS);
			S.pct_change[i] = ((uint64_t)1 << e) +
			                  (uint64_t)prng_below(&S.sched_rng,
			                                       INT64_C(1) << e);
		}
		qsort(S.pct_change, (size_t)S.pct_nchanges, sizeof(uint64_t),
		      cmp_u64);
	}
	pin_to_one_cpu(opt->cpu);
	struct sim_thread *t = thread_alloc();
	atomic_store(&t->tid, (int)syscall(SYS_gettid));
	tls_self = t;
	atomic_store(&current_tid, atomic_load(&t->tid));
	atomic_store(&current_id, 0);
	atomic_store(&running, true);
	start_watchdog();
	atomic_store(&watching, true);
}

void sim_stop(void)
{
	sim_observe(NULL, NULL);
	atomic_store(&watching, false);
	struct sim_thread *self = tls_self;
	atomic_store(&running, false);
	tls_self = NULL;
	if (self) {
		table_remove(self);
		free(self);
	}
}

void sim_suspend(void)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return;
	tls_suspended = self;
	tls_self = NULL;
	atomic_store(&watching, false);
}

void sim_resume(void)
{
	if (!atomic_load(&running) || !tls_suspended)
		return;
	tls_self = tls_suspended;
	tls_suspended = NULL;
	atomic_store(&watching, true);
}

uint64_t sim_random(void)
{
	return prng_next(&S.entropy_rng);
}

void sim_get_stats(struct sim_stats *st)
{
	st->points = atomic_load(&points);
	st->switches = S.switches;
	st->threads = (uint64_t)S.next_id;
	st->now_ns = S.now;
}
