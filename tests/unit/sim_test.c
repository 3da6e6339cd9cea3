/*
 * sim_test.c: the simulation scheduler's contract (sim/sim.h), one property
 * per test: locks exclude and unguarded code really interleaves, sleeps and
 * timed waits take virtual time and end at their deadlines, every wake-up
 * call wakes whom it should, and a seed alone fixes the interleaving and the
 * "entropy". Built only by make SIM=1 (build/sim/sim_test): the runner runs
 * each test on the scheduler, and the tests call pthreads, sleeps and clocks
 * directly so that every wrapper of sim/wrap.c is exercised as the code under
 * test would call it. Trouble (deadlock, busy loop) is tested elsewhere.
 */
#define _GNU_SOURCE
#include <CUnit/CUnit.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "prng/prng.h"
#include "runner/runner.h"
#include "sim/sim.h"

#ifndef RAFTLAB_SIM
#error "sim_test.c tests simulation mode: build it with make SIM=1"
#endif

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

/* How late a wake-up may be in virtual time: a handful of scheduling points
 * (SIM_POINT_COST_NS each) between the deadline and the clock read. */
#define SLACK_NS (2 * NS_PER_MS)

/* Real time that counts as "at once" for a virtual sleep of any length. */
#define REAL_INSTANT_NS (500 * NS_PER_MS)

/* The virtual time limit of the simulations a test runs of its own. */
#define OWN_LIMIT_NS (60 * NS_PER_S)

/* ---- helpers ---- */

static void start_thread(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	if (pthread_create(thread, NULL, fn, arg) != 0)
		runner_fatalf("pthread_create failed");
}

static void *join_thread(pthread_t thread)
{
	void *ret = NULL;
	int err = pthread_join(thread, &ret);
	if (err != 0)
		runner_fatalf("pthread_join: %s", strerror(err));
	return ret;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / NS_PER_S,
	                         .tv_nsec = ns % NS_PER_S};
}

/* Now on clk, as the code under test sees it (virtual in simulation); -1,
 * which fails any range check, if clk cannot be read. Helper threads call
 * it too, so it records nothing itself. */
static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;
	if (clock_gettime(clk, &ts) != 0)
		return -1;
	return ts_ns(&ts);
}

/* The machine's real monotonic clock: the raw system call, which no
 * wrapper of simulation mode sees. */
static int64_t real_ns(void)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
		runner_fatalf("SYS_clock_gettime failed");
	return ts_ns(&ts);
}

/* An absolute time on clk, ns from now. */
static struct timespec deadline_in(clockid_t clk, int64_t ns)
{
	return ns_ts(clock_ns(clk) + ns);
}

/* A condition variable whose timed waits count on clk. */
static void cond_init_on(pthread_cond_t *cond, clockid_t clk)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, clk);
	if (pthread_cond_init(cond, &attr) != 0)
		runner_fatalf("pthread_cond_init failed");
	pthread_condattr_destroy(&attr);
}

/* Checks lo <= got < hi and, unlike CUnit's macros, prints the numbers
 * when it fails. */
#define EXPECT_IN_RANGE(got, lo, hi)                                           \
	expect_in_range(#got, (got), (lo), (hi), __LINE__)

static void expect_in_range(const char *what, int64_t got, int64_t lo,
                            int64_t hi, unsigned line)
{
	char msg[256];
	snprintf(msg, sizeof msg,
	         "%s = %" PRId64 ", want it in [%" PRId64 ", %" PRId64 ")",
	         what, got, lo, hi);
	CU_assertImplementation(got >= lo && got < hi, line, msg, __FILE__, "",
	                        CU_FALSE);
}

/*
 * Runs body on a simulation of the test's own, seeded with o->seed, and
 * fills st with its counters; then the test goes on under a fresh
 * simulation on the runner's seed. For properties of one policy (the
 * runner's may be -sched pct) and for replaying a seed inside one process.
 * body must join every thread it starts.
 */
static void simulate(const struct sim_options *o, void (*body)(void *),
                     void *arg, struct sim_stats *st)
{
	sim_stop();
	sim_start(o);
	body(arg);
	struct sim_stats mine;
	sim_get_stats(st ? st : &mine);
	sim_stop();
	struct sim_options again = {.seed = runner_seed(),
	                            .limit_ns = RUNNER_DEFAULT_TIMEOUT_S *
	                                        NS_PER_S};
	sim_start(&again);
}

/* body on the random policy, with the test's seed. */
static void simulate_random(void (*body)(void *), void *arg)
{
	struct sim_options o = {.seed = runner_seed(),
	                        .limit_ns = OWN_LIMIT_NS,
	                        .policy = SIM_RANDOM};
	simulate(&o, body, arg, NULL);
}

/* ---- mutual exclusion ---- */

enum { COUNTER_THREADS = 8, COUNTER_ROUNDS = 1000 };

enum guard { GUARD_NONE, GUARD_MUTEX, GUARD_SPINLOCK };

/*
 * A shared counter that threads increment by a read, a scheduling point and
 * a write. Only one thread runs at a time and the scheduler's hand-offs
 * order their memory, so an unguarded counter loses updates exactly where
 * the scheduler switched threads between a read and its write.
 */
struct counter {
	enum guard guard;
	pthread_mutex_t mu;
	pthread_spinlock_t spin;
	long value;
	atomic_int inside;      /* threads between a read and its write */
	atomic_int most_inside; /* the most there ever were */
};

static void counter_init(struct counter *c, enum guard guard)
{
	memset(c, 0, sizeof *c);
	c->guard = guard;
	if (pthread_mutex_init(&c->mu, NULL) != 0 ||
	    pthread_spin_init(&c->spin, PTHREAD_PROCESS_PRIVATE) != 0)
		runner_fatalf("lock init failed");
}

static void counter_destroy(struct counter *c)
{
	pthread_mutex_destroy(&c->mu);
	pthread_spin_destroy(&c->spin);
}

static void guard_lock(struct counter *c)
{
	if (c->guard == GUARD_MUTEX)
		pthread_mutex_lock(&c->mu);
	else if (c->guard == GUARD_SPINLOCK)
		pthread_spin_lock(&c->spin);
}

static void guard_unlock(struct counter *c)
{
	if (c->guard == GUARD_MUTEX)
		pthread_mutex_unlock(&c->mu);
	else if (c->guard == GUARD_SPINLOCK)
		pthread_spin_unlock(&c->spin);
}

static void *increment_main(void *arg)
{
	struct counter *c = arg;
	for (int i = 0; i < COUNTER_ROUNDS; i++) {
		guard_lock(c);
		int in = atomic_fetch_add(&c->inside, 1) + 1;
		if (in > atomic_load(&c->most_inside))
			atomic_store(&c->most_inside, in);
		long v = c->value;
		sched_yield(); /* the scheduler may switch threads here */
		c->value = v + 1;
		atomic_fetch_sub(&c->inside, 1);
		guard_unlock(c);
	}
	return NULL;
}

/* COUNTER_THREADS threads increment c COUNTER_ROUNDS times each. */
static void run_counter(void *arg)
{
	struct counter *c = arg;
	pthread_t threads[COUNTER_THREADS];
	for (int i = 0; i < COUNTER_THREADS; i++)
		start_thread(&threads[i], increment_main, c);
	for (int i = 0; i < COUNTER_THREADS; i++)
		join_thread(threads[i]);
}

static void test_mutex_makes_read_modify_write_exact(void)
{
	struct counter c;
	counter_init(&c, GUARD_MUTEX);
	run_counter(&c);
	CU_ASSERT_EQUAL(c.value, (long)COUNTER_THREADS * COUNTER_ROUNDS);
	CU_ASSERT_EQUAL(atomic_load(&c.most_inside), 1);
	counter_destroy(&c);
}

static void test_spinlock_makes_read_modify_write_exact(void)
{
	struct counter c;
	counter_init(&c, GUARD_SPINLOCK);
	run_counter(&c);
	CU_ASSERT_EQUAL(c.value, (long)COUNTER_THREADS * COUNTER_ROUNDS);
	CU_ASSERT_EQUAL(atomic_load(&c.most_inside), 1);
	counter_destroy(&c);
}

/* The converse, on the random policy: any yield may pass the baton on (at
 * least 1 in 16 of them pick again among all runnable threads), so 8000
 * read-yield-write steps losing no update would take a vanishingly
 * unlikely seed. */
static void test_unguarded_read_modify_write_loses_updates(void)
{
	struct counter c;
	counter_init(&c, GUARD_NONE);
	simulate_random(run_counter, &c);
	long lost = (long)COUNTER_THREADS * COUNTER_ROUNDS - c.value;
	EXPECT_IN_RANGE(lost, 1, (long)COUNTER_THREADS * COUNTER_ROUNDS);
	CU_ASSERT(atomic_load(&c.most_inside) > 1);
	counter_destroy(&c);
}

/* ---- virtual time ---- */

static void test_sleep_takes_virtual_time_only(void)
{
	int64_t real0 = real_ns();
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	CU_ASSERT_EQUAL(sleep(100), 0);
	int64_t slept = clock_ns(CLOCK_MONOTONIC) - t0;
	int64_t real = real_ns() - real0;
	EXPECT_IN_RANGE(slept, 100 * NS_PER_S,
	                100 * NS_PER_S + 100 * NS_PER_MS);
	EXPECT_IN_RANGE(real, 0, REAL_INSTANT_NS);
}

/* How long (virtual, monotonic) each kind of sleep takes. */
static void test_every_sleep_call_takes_its_virtual_time(void)
{
	int64_t real0 = real_ns();

	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	struct timespec req = ns_ts(1500 * NS_PER_MS), rem;
	CU_ASSERT_EQUAL(nanosleep(&req, &rem), 0);
	int64_t took = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_IN_RANGE(took, 1500 * NS_PER_MS, 1500 * NS_PER_MS + SLACK_NS);

	t0 = clock_ns(CLOCK_MONOTONIC);
	CU_ASSERT_EQUAL(usleep(250000), 0);
	took = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_IN_RANGE(took, 250 * NS_PER_MS, 250 * NS_PER_MS + SLACK_NS);

	t0 = clock_ns(CLOCK_MONOTONIC);
	req = ns_ts(3 * NS_PER_S);
	CU_ASSERT_EQUAL(clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL), 0);
	took = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_IN_RANGE(took, 3 * NS_PER_S, 3 * NS_PER_S + SLACK_NS);

	/* TIMER_ABSTIME: until a time on the monotonic clock, and on the
	 * real-time clock. */
	struct timespec until = deadline_in(CLOCK_MONOTONIC, 2 * NS_PER_S);
	CU_ASSERT_EQUAL(
	        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL),
	        0);
	int64_t late = clock_ns(CLOCK_MONOTONIC) - ts_ns(&until);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);

	until = deadline_in(CLOCK_REALTIME, 5 * NS_PER_S);
	CU_ASSERT_EQUAL(
	        clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL),
	        0);
	late = clock_ns(CLOCK_REALTIME) - ts_ns(&until);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);

	/* An absolute time already past returns at once. */
	t0 = clock_ns(CLOCK_MONOTONIC);
	until = ns_ts(t0 - NS_PER_S);
	CU_ASSERT_EQUAL(
	        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL),
	        0);
	took = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_IN_RANGE(took, 0, SLACK_NS);

	int64_t real = real_ns() - real0;
	EXPECT_IN_RANGE(real, 0, REAL_INSTANT_NS);
}

/* The wall clocks (clock_gettime's CLOCK_REALTIME, gettimeofday, time,
 * timespec_get) read the same virtual time, and move with the monotonic
 * clock. */
struct wall_reading {
	int64_t mono, real, tod, spec; /* ns */
	time_t secs;                   /* time() */
};

static void read_walls(struct wall_reading *w)
{
	struct timeval tv;
	struct timespec ts;
	w->mono = clock_ns(CLOCK_MONOTONIC);
	w->real = clock_ns(CLOCK_REALTIME);
	if (gettimeofday(&tv, NULL) != 0 || timespec_get(&ts, TIME_UTC) == 0)
		runner_fatalf("gettimeofday or timespec_get failed");
	w->tod = (int64_t)tv.tv_sec * NS_PER_S + (int64_t)tv.tv_usec * 1000;
	w->spec = ts_ns(&ts);
	w->secs = time(NULL);
}

static void test_wall_clocks_advance_with_monotonic(void)
{
	struct wall_reading a, b;
	read_walls(&a);
	/* Read back to back, the wall clocks agree. */
	EXPECT_IN_RANGE(a.tod - a.real, -SLACK_NS, SLACK_NS);
	EXPECT_IN_RANGE(a.spec - a.real, -SLACK_NS, SLACK_NS);
	EXPECT_IN_RANGE((int64_t)a.secs - a.real / NS_PER_S, 0, 2);

	CU_ASSERT_EQUAL(sleep(10), 0);
	read_walls(&b);
	int64_t mono = b.mono - a.mono;
	EXPECT_IN_RANGE(mono, 10 * NS_PER_S, 10 * NS_PER_S + SLACK_NS);
	EXPECT_IN_RANGE(b.real - a.real - mono, -SLACK_NS, SLACK_NS);
	EXPECT_IN_RANGE(b.tod - a.tod - mono, -SLACK_NS, SLACK_NS);
	EXPECT_IN_RANGE(b.spec - a.spec - mono, -SLACK_NS, SLACK_NS);
	EXPECT_IN_RANGE((int64_t)(b.secs - a.secs), 10, 12);
}

/* Sleepers started in one order wake in the order of their deadlines, each
 * at its own deadline: the clock jumps from timer to timer. */
enum { SLEEPERS = 4 };

struct wake_log {
	pthread_mutex_t mu;
	int order[SLEEPERS]; /* sleeper ids, in the order they woke */
	int nwoke;
	int64_t woke_ns[SLEEPERS];
};

struct sleeper {
	struct wake_log *log;
	int id;
	int64_t delay_ns;
	pthread_t thread;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	struct timespec req = ns_ts(s->delay_ns);
	nanosleep(&req, NULL);
	int64_t now = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_lock(&s->log->mu);
	s->log->order[s->log->nwoke++] = s->id;
	s->log->woke_ns[s->id] = now;
	pthread_mutex_unlock(&s->log->mu);
	return NULL;
}

static void test_sleepers_wake_in_deadline_order(void)
{
	static const int64_t delay_ms[SLEEPERS] = {40, 10, 30, 20};
	static const int want_order[SLEEPERS] = {1, 3, 2, 0};
	struct wake_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct sleeper s[SLEEPERS];
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < SLEEPERS; i++) {
		s[i] = (struct sleeper){&log, i, delay_ms[i] * NS_PER_MS, 0};
		start_thread(&s[i].thread, sleeper_main, &s[i]);
	}
	for (int i = 0; i < SLEEPERS; i++)
		join_thread(s[i].thread);
	CU_ASSERT_EQUAL_FATAL(log.nwoke, SLEEPERS);
	for (int i = 0; i < SLEEPERS; i++) {
		CU_ASSERT_EQUAL(log.order[i], want_order[i]);
		int64_t woke_after = log.woke_ns[i] - t0;
		EXPECT_IN_RANGE(woke_after, delay_ms[i] * NS_PER_MS,
		                delay_ms[i] * NS_PER_MS + SLACK_NS);
	}
}

/*
 * A timer is due when the virtual clock reaches it, even while some thread
 * keeps running: scheduling points move the clock too (SIM_POINT_COST_NS),
 * so a thread that polls (a sched_yield loop here, on purpose) must see a
 * 1 ms sleeper and a 1 ms timed wait end about 1 ms in, not only once it
 * stops polling.
 */
enum { POLL_LIMIT = 100000 }; /* 100 ms of virtual time in points */

struct alarm {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* never signalled: only the deadline ends it */
	bool timed_wait;     /* a timed wait rather than a sleep */
	atomic_bool rang;
	int64_t start_ns, rang_ns;
	int rc;
};

static void *alarm_main(void *arg)
{
	struct alarm *a = arg;
	if (a->timed_wait) {
		struct timespec deadline = ns_ts(a->start_ns + NS_PER_MS);
		pthread_mutex_lock(&a->mu);
		a->rc = pthread_cond_timedwait(&a->cond, &a->mu, &deadline);
		pthread_mutex_unlock(&a->mu);
	} else {
		a->rc = usleep(1000);
	}
	a->rang_ns = clock_ns(CLOCK_MONOTONIC);
	atomic_store(&a->rang, true);
	return NULL;
}

/* One alarm, and what the thread polling for it saw. */
struct alarm_poll {
	bool timed_wait;
	bool rang_while_polling;
	int rc;                /* usleep's, or the timed wait's */
	int64_t rang_after_ns; /* from the alarm's start */
};

/* Starts an alarm and polls until it rings (or POLL_LIMIT). */
static void poll_for_alarm(void *arg)
{
	struct alarm_poll *p = arg;
	struct alarm a = {.mu = PTHREAD_MUTEX_INITIALIZER,
	                  .timed_wait = p->timed_wait};
	cond_init_on(&a.cond, CLOCK_MONOTONIC);
	atomic_init(&a.rang, false);
	a.start_ns = clock_ns(CLOCK_MONOTONIC);
	pthread_t thread;
	start_thread(&thread, alarm_main, &a);
	for (int i = 0; i < POLL_LIMIT && !atomic_load(&a.rang); i++)
		sched_yield();
	p->rang_while_polling = atomic_load(&a.rang);
	join_thread(thread);
	pthread_cond_destroy(&a.cond);
	p->rc = a.rc;
	p->rang_after_ns = a.rang_ns - a.start_ns;
}

/* On the random policy: under PCT the poller may keep the baton for
 * PCT_MAX_STREAK points after the alarm is due, by design. */
static void test_timers_fire_while_another_thread_runs(void)
{
	struct alarm_poll sleeper = {.timed_wait = false};
	simulate_random(poll_for_alarm, &sleeper);
	CU_ASSERT_TRUE(sleeper.rang_while_polling);
	CU_ASSERT_EQUAL(sleeper.rc, 0);
	EXPECT_IN_RANGE(sleeper.rang_after_ns, NS_PER_MS, NS_PER_MS + SLACK_NS);

	struct alarm_poll waiter = {.timed_wait = true};
	simulate_random(poll_for_alarm, &waiter);
	CU_ASSERT_TRUE(waiter.rang_while_polling);
	CU_ASSERT_EQUAL(waiter.rc, ETIMEDOUT);
	EXPECT_IN_RANGE(waiter.rang_after_ns, NS_PER_MS, NS_PER_MS + SLACK_NS);
}

/* ---- condition variables ---- */

/* A timed wait nobody signals ends with ETIMEDOUT at its deadline, on the
 * clock the condition variable was made with. */
static void expect_timedwait_times_out(pthread_cond_t *cond, clockid_t clk)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct timespec deadline = deadline_in(clk, 250 * NS_PER_MS);
	pthread_mutex_lock(&mu);
	int rc = pthread_cond_timedwait(cond, &mu, &deadline);
	int64_t late = clock_ns(clk) - ts_ns(&deadline);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), 0); /* it held mu again */
	CU_ASSERT_EQUAL(rc, ETIMEDOUT);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);
	pthread_mutex_destroy(&mu);
}

static void test_cond_timedwait_times_out_at_deadline(void)
{
	pthread_cond_t mono;
	cond_init_on(&mono, CLOCK_MONOTONIC);
	expect_timedwait_times_out(&mono, CLOCK_MONOTONIC);
	pthread_cond_destroy(&mono);

	pthread_cond_t real = PTHREAD_COND_INITIALIZER; /* CLOCK_REALTIME */
	expect_timedwait_times_out(&real, CLOCK_REALTIME);

	pthread_cond_t made;
	CU_ASSERT_EQUAL(pthread_cond_init(&made, NULL), 0);
	expect_timedwait_times_out(&made, CLOCK_REALTIME);
	pthread_cond_destroy(&made);

	/* pthread_cond_clockwait names its clock itself. */
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct timespec deadline =
	        deadline_in(CLOCK_MONOTONIC, 400 * NS_PER_MS);
	pthread_mutex_lock(&mu);
	int rc = pthread_cond_clockwait(&real, &mu, CLOCK_MONOTONIC, &deadline);
	int64_t late = clock_ns(CLOCK_MONOTONIC) - ts_ns(&deadline);
	pthread_mutex_unlock(&mu);
	CU_ASSERT_EQUAL(rc, ETIMEDOUT);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);
}

/*
 * Waiters that each want a token, waiting with a timed wait on a monotonic
 * condition variable: a waiter woken by the test's signal or broadcast gets
 * 0 at once, one that nobody wakes gets ETIMEDOUT at the deadline.
 */
#define WAIT_LIMIT_NS (10 * NS_PER_S)

struct token_box {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int tokens;
	int waiting; /* waiters that reached their wait */
	struct timespec deadline;
};

struct waiter {
	struct token_box *box;
	pthread_t thread;
	int rc;      /* the last wait's */
	int wakeups; /* waits that returned 0 */
	bool got;    /* took a token */
	int64_t woke_ns;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct token_box *box = w->box;
	pthread_mutex_lock(&box->mu);
	box->waiting++;
	while (box->tokens == 0) {
		w->rc = pthread_cond_timedwait(&box->cond, &box->mu,
		                               &box->deadline);
		if (w->rc != 0)
			break;
		w->wakeups++;
	}
	if (box->tokens > 0) {
		box->tokens--;
		w->got = true;
	}
	w->woke_ns = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(&box->mu);
	return NULL;
}

/* Starts n waiters, lets them all reach their wait, then hands out tokens
 * with one signal or one broadcast; returns when it was handed out. */
static int64_t hand_out_tokens(struct token_box *box, struct waiter *w, int n,
                               int tokens, bool broadcast)
{
	memset(box, 0, sizeof *box);
	pthread_mutex_init(&box->mu, NULL);
	cond_init_on(&box->cond, CLOCK_MONOTONIC);
	box->deadline = deadline_in(CLOCK_MONOTONIC, WAIT_LIMIT_NS);
	for (int i = 0; i < n; i++) {
		w[i] = (struct waiter){.box = box, .rc = -1};
		start_thread(&w[i].thread, waiter_main, &w[i]);
	}
	/* Every thread runs until it blocks before the clock moves on, so
	 * after this sleep all the waiters are waiting. */
	usleep(100000);
	pthread_mutex_lock(&box->mu);
	CU_ASSERT_EQUAL(box->waiting, n);
	box->tokens = tokens;
	int64_t handed = clock_ns(CLOCK_MONOTONIC);
	if (broadcast)
		pthread_cond_broadcast(&box->cond);
	else
		pthread_cond_signal(&box->cond);
	pthread_mutex_unlock(&box->mu);
	for (int i = 0; i < n; i++)
		join_thread(w[i].thread);
	pthread_cond_destroy(&box->cond);
	pthread_mutex_destroy(&box->mu);
	return handed;
}

static void test_cond_signal_wakes_one_waiter(void)
{
	enum { N = 3 };
	struct token_box box;
	struct waiter w[N];
	int64_t signalled = hand_out_tokens(&box, w, N, 1, false);
	int woken = 0, wakeups = 0;
	for (int i = 0; i < N; i++) {
		wakeups += w[i].wakeups;
		if (w[i].got) {
			woken++;
			CU_ASSERT_EQUAL(w[i].rc, 0);
			EXPECT_IN_RANGE(w[i].woke_ns - signalled, 0, SLACK_NS);
		} else {
			CU_ASSERT_EQUAL(w[i].rc, ETIMEDOUT);
			EXPECT_IN_RANGE(w[i].woke_ns - ts_ns(&box.deadline), 0,
			                SLACK_NS);
		}
	}
	CU_ASSERT_EQUAL(woken, 1);
	/* The simulation makes no spurious wake-ups: the others slept on. */
	CU_ASSERT_EQUAL(wakeups, 1);
}

static void test_cond_broadcast_wakes_all_waiters(void)
{
	enum { N = 5 };
	struct token_box box;
	struct waiter w[N];
	int64_t broadcast = hand_out_tokens(&box, w, N, N, true);
	for (int i = 0; i < N; i++) {
		CU_ASSERT_TRUE(w[i].got);
		CU_ASSERT_EQUAL(w[i].rc, 0);
		CU_ASSERT_EQUAL(w[i].wakeups, 1);
		EXPECT_IN_RANGE(w[i].woke_ns - broadcast, 0, SLACK_NS);
	}
}

/* ---- semaphores ---- */

enum { PINGPONG_ROUNDS = 100, POSTERS = 3, POSTS_EACH = 100 };

struct pingpong {
	sem_t ping, pong;
	int trace[2 * PINGPONG_ROUNDS]; /* 0: the test's turn, 1: the other's */
	int len;
};

static void *ponger_main(void *arg)
{
	struct pingpong *p = arg;
	for (int i = 0; i < PINGPONG_ROUNDS; i++) {
		sem_wait(&p->ping);
		p->trace[p->len++] = 1;
		sem_post(&p->pong);
	}
	return NULL;
}

static void *poster_main(void *arg)
{
	sem_t *s = arg;
	for (int i = 0; i < POSTS_EACH; i++) {
		sem_post(s);
		if (i % 7 == 0)
			usleep(10);
	}
	return NULL;
}

/* Two semaphores make two threads take strict turns; posts from several
 * threads are all taken, none lost, none invented. */
static void test_semaphores_hand_off_between_threads(void)
{
	struct pingpong p = {.len = 0};
	CU_ASSERT_EQUAL_FATAL(sem_init(&p.ping, 0, 0), 0);
	CU_ASSERT_EQUAL_FATAL(sem_init(&p.pong, 0, 0), 0);
	pthread_t ponger;
	start_thread(&ponger, ponger_main, &p);
	for (int i = 0; i < PINGPONG_ROUNDS; i++) {
		p.trace[p.len++] = 0;
		sem_post(&p.ping);
		sem_wait(&p.pong);
	}
	join_thread(ponger);
	CU_ASSERT_EQUAL_FATAL(p.len, 2 * PINGPONG_ROUNDS);
	int out_of_turn = 0;
	for (int i = 0; i < p.len; i++)
		out_of_turn += p.trace[i] != i % 2;
	CU_ASSERT_EQUAL(out_of_turn, 0);
	sem_destroy(&p.ping);
	sem_destroy(&p.pong);

	sem_t items;
	CU_ASSERT_EQUAL_FATAL(sem_init(&items, 0, 0), 0);
	pthread_t posters[POSTERS];
	for (int i = 0; i < POSTERS; i++)
		start_thread(&posters[i], poster_main, &items);
	for (int i = 0; i < POSTERS * POSTS_EACH; i++)
		CU_ASSERT_EQUAL(sem_wait(&items), 0);
	for (int i = 0; i < POSTERS; i++)
		join_thread(posters[i]);
	int value = -1;
	sem_getvalue(&items, &value);
	CU_ASSERT_EQUAL(value, 0);
	sem_destroy(&items);
}

static void test_sem_trywait_on_zero_fails_with_eagain(void)
{
	sem_t s;
	int value = -1;
	CU_ASSERT_EQUAL_FATAL(sem_init(&s, 0, 0), 0);
	errno = 0;
	CU_ASSERT_EQUAL(sem_trywait(&s), -1);
	CU_ASSERT_EQUAL(errno, EAGAIN);

	CU_ASSERT_EQUAL(sem_post(&s), 0);
	CU_ASSERT_EQUAL(sem_post(&s), 0);
	sem_getvalue(&s, &value);
	CU_ASSERT_EQUAL(value, 2);
	CU_ASSERT_EQUAL(sem_trywait(&s), 0);
	CU_ASSERT_EQUAL(sem_trywait(&s), 0);
	errno = 0;
	CU_ASSERT_EQUAL(sem_trywait(&s), -1);
	CU_ASSERT_EQUAL(errno, EAGAIN);
	sem_getvalue(&s, &value);
	CU_ASSERT_EQUAL(value, 0);
	sem_destroy(&s);
}

struct late_post {
	sem_t *sem;
	int64_t delay_ns;
};

static void *late_post_main(void *arg)
{
	struct late_post *lp = arg;
	struct timespec req = ns_ts(lp->delay_ns);
	nanosleep(&req, NULL);
	sem_post(lp->sem);
	return NULL;
}

/* sem_timedwait counts on CLOCK_REALTIME, sem_clockwait on the clock it
 * names; a post before the deadline ends the wait at the post. */
static void test_sem_timedwait_times_out(void)
{
	sem_t s;
	CU_ASSERT_EQUAL_FATAL(sem_init(&s, 0, 0), 0);

	struct timespec deadline = deadline_in(CLOCK_REALTIME, 300 * NS_PER_MS);
	errno = 0;
	CU_ASSERT_EQUAL(sem_timedwait(&s, &deadline), -1);
	CU_ASSERT_EQUAL(errno, ETIMEDOUT);
	int64_t late = clock_ns(CLOCK_REALTIME) - ts_ns(&deadline);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);

	deadline = deadline_in(CLOCK_MONOTONIC, 700 * NS_PER_MS);
	errno = 0;
	CU_ASSERT_EQUAL(sem_clockwait(&s, CLOCK_MONOTONIC, &deadline), -1);
	CU_ASSERT_EQUAL(errno, ETIMEDOUT);
	late = clock_ns(CLOCK_MONOTONIC) - ts_ns(&deadline);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);

	struct late_post lp = {&s, 100 * NS_PER_MS};
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	deadline = deadline_in(CLOCK_REALTIME, NS_PER_S);
	pthread_t poster;
	start_thread(&poster, late_post_main, &lp);
	CU_ASSERT_EQUAL(sem_timedwait(&s, &deadline), 0);
	int64_t waited = clock_ns(CLOCK_MONOTONIC) - t0;
	EXPECT_IN_RANGE(waited, 100 * NS_PER_MS, 100 * NS_PER_MS + SLACK_NS);
	join_thread(poster);
	sem_destroy(&s);
}

/* ---- threads ---- */

enum { RESULT_THREADS = 4 };

static void *result_main(void *arg)
{
	intptr_t id = (intptr_t)arg;
	for (intptr_t i = 0; i < id; i++)
		sched_yield();
	if (id % 2)
		pthread_exit((void *)(id * 10 + 7));
	return (void *)(id * 10 + 7);
}

static void *gate_main(void *arg)
{
	sem_wait(arg);
	return (void *)(intptr_t)42;
}

/* pthread_join hands back what the thread returned or passed to
 * pthread_exit; tryjoin and timedjoin do not wait past a running thread. */
static void test_join_returns_thread_result(void)
{
	pthread_t threads[RESULT_THREADS];
	for (intptr_t i = 0; i < RESULT_THREADS; i++)
		start_thread(&threads[i], result_main, (void *)i);
	for (intptr_t i = RESULT_THREADS - 1; i >= 0; i--)
		CU_ASSERT_EQUAL((intptr_t)join_thread(threads[i]), i * 10 + 7);

	sem_t gate;
	sem_init(&gate, 0, 0);
	pthread_t gated;
	start_thread(&gated, gate_main, &gate);
	void *ret = NULL;
	CU_ASSERT_EQUAL(pthread_tryjoin_np(gated, &ret), EBUSY);
	struct timespec deadline = deadline_in(CLOCK_REALTIME, 50 * NS_PER_MS);
	CU_ASSERT_EQUAL(pthread_timedjoin_np(gated, &ret, &deadline),
	                ETIMEDOUT);
	int64_t late = clock_ns(CLOCK_REALTIME) - ts_ns(&deadline);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);
	sem_post(&gate);
	CU_ASSERT_EQUAL((intptr_t)join_thread(gated), 42);
	sem_destroy(&gate);
}

enum { DETACHED = 6 };

struct finish_line {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int finished;
};

struct detached_arg {
	struct finish_line *line;
	int id;
};

static void *detached_main(void *arg)
{
	struct detached_arg *r = arg;
	usleep((useconds_t)(1000 * (r->id + 1)));
	sched_yield();
	pthread_mutex_lock(&r->line->mu);
	r->line->finished++;
	pthread_cond_signal(&r->line->cond);
	pthread_mutex_unlock(&r->line->mu);
	return NULL;
}

static void *quick_main(void *arg)
{
	atomic_store((atomic_bool *)arg, true);
	return NULL;
}

/* Detached threads, by pthread_detach or by attribute, run to their end
 * with nobody joining them; detaching a thread that already ended is fine. */
static void test_detached_threads_run_to_completion(void)
{
	struct finish_line line = {.mu = PTHREAD_MUTEX_INITIALIZER};
	cond_init_on(&line.cond, CLOCK_MONOTONIC);
	struct detached_arg args[DETACHED];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < DETACHED; i++) {
		args[i] = (struct detached_arg){&line, i};
		pthread_t t;
		if (i % 2) {
			if (pthread_create(&t, &attr, detached_main, &args[i]))
				runner_fatalf("pthread_create failed");
		} else {
			start_thread(&t, detached_main, &args[i]);
			CU_ASSERT_EQUAL(pthread_detach(t), 0);
		}
	}
	pthread_attr_destroy(&attr);

	struct timespec deadline = deadline_in(CLOCK_MONOTONIC, 10 * NS_PER_S);
	pthread_mutex_lock(&line.mu);
	while (line.finished < DETACHED &&
	       pthread_cond_timedwait(&line.cond, &line.mu, &deadline) == 0)
		;
	int finished = line.finished;
	pthread_mutex_unlock(&line.mu);
	CU_ASSERT_EQUAL(finished, DETACHED);
	/* The last one signalled just before it returned; let it end. */
	usleep(1000);
	pthread_cond_destroy(&line.cond);

	atomic_bool ran;
	atomic_init(&ran, false);
	pthread_t t;
	start_thread(&t, quick_main, &ran);
	usleep(1000); /* it runs and ends while the test sleeps */
	CU_ASSERT_TRUE(atomic_load(&ran));
	CU_ASSERT_EQUAL(pthread_detach(t), 0);
}

/* pthread_once runs its routine exactly once, and no caller returns before
 * the routine has finished, though the routine yields and sleeps. */
enum { ONCE_CALLERS = 6 };

struct once_world {
	pthread_once_t once;
	int runs;
	bool done;
	bool saw_done[ONCE_CALLERS + 1];
};

static struct once_world *once_world; /* for the routine, which has no arg */

static void once_routine(void)
{
	once_world->runs++;
	sched_yield();
	usleep(1000);
	sched_yield();
	once_world->done = true;
}

struct once_caller {
	int id;
	pthread_t thread;
};

static void *once_caller_main(void *arg)
{
	struct once_caller *c = arg;
	for (int i = 0; i < c->id % 3; i++)
		sched_yield();
	pthread_once(&once_world->once, once_routine);
	once_world->saw_done[c->id] = once_world->done;
	return NULL;
}

static void test_once_runs_routine_once(void)
{
	struct once_world world = {.once = PTHREAD_ONCE_INIT};
	once_world = &world;
	struct once_caller callers[ONCE_CALLERS];
	for (int i = 0; i < ONCE_CALLERS; i++) {
		callers[i].id = i;
		start_thread(&callers[i].thread, once_caller_main, &callers[i]);
	}
	for (int i = 0; i < ONCE_CALLERS; i++)
		join_thread(callers[i].thread);
	CU_ASSERT_EQUAL(pthread_once(&world.once, once_routine), 0);
	CU_ASSERT_EQUAL(world.runs, 1);
	for (int i = 0; i < ONCE_CALLERS; i++)
		CU_ASSERT_TRUE(world.saw_done[i]);
	once_world = NULL;
}

/* ---- read-write locks ---- */

enum rw_op { RW_TRYRD, RW_TRYWR, RW_TIMEDWR };

/* One rwlock call made by a thread of its own (a lock held by the test's
 * thread is held against it); a lock it gets is let go at once. */
struct rw_try {
	pthread_rwlock_t *rw;
	enum rw_op op;
	int rc;
	int64_t late_ns; /* RW_TIMEDWR: after its deadline */
};

static void *rw_try_main(void *arg)
{
	struct rw_try *t = arg;
	struct timespec deadline = deadline_in(CLOCK_REALTIME, 200 * NS_PER_MS);
	switch (t->op) {
	case RW_TRYRD:
		t->rc = pthread_rwlock_tryrdlock(t->rw);
		break;
	case RW_TRYWR:
		t->rc = pthread_rwlock_trywrlock(t->rw);
		break;
	case RW_TIMEDWR:
		t->rc = pthread_rwlock_timedwrlock(t->rw, &deadline);
		t->late_ns = clock_ns(CLOCK_REALTIME) - ts_ns(&deadline);
		break;
	}
	if (t->rc == 0)
		pthread_rwlock_unlock(t->rw);
	return NULL;
}

static int rw_try(pthread_rwlock_t *rw, enum rw_op op, int64_t *late_ns)
{
	struct rw_try t = {rw, op, -1, 0};
	pthread_t thread;
	start_thread(&thread, rw_try_main, &t);
	join_thread(thread);
	if (late_ns)
		*late_ns = t.late_ns;
	return t.rc;
}

enum { READERS = 3, RW_ROUNDS = 200, RW_HOLD_YIELDS = 4 };

struct rw_world {
	pthread_rwlock_t rw;
	atomic_int readers_in, writers_in, most_readers_in;
	atomic_int violations; /* a writer beside anyone else */
	atomic_int writes;
};

static void *reader_main(void *arg)
{
	struct rw_world *w = arg;
	for (int i = 0; i < RW_ROUNDS; i++) {
		pthread_rwlock_rdlock(&w->rw);
		int in = atomic_fetch_add(&w->readers_in, 1) + 1;
		if (in > atomic_load(&w->most_readers_in))
			atomic_store(&w->most_readers_in, in);
		if (atomic_load(&w->writers_in) != 0)
			atomic_fetch_add(&w->violations, 1);
		for (int y = 0; y < RW_HOLD_YIELDS; y++)
			sched_yield(); /* where another reader may come in */
		atomic_fetch_sub(&w->readers_in, 1);
		pthread_rwlock_unlock(&w->rw);
	}
	return NULL;
}

static void *writer_main(void *arg)
{
	struct rw_world *w = arg;
	for (int i = 0; i < RW_ROUNDS; i++) {
		pthread_rwlock_wrlock(&w->rw);
		atomic_fetch_add(&w->writers_in, 1);
		sched_yield();
		if (atomic_load(&w->readers_in) != 0 ||
		    atomic_load(&w->writers_in) != 1)
			atomic_fetch_add(&w->violations, 1);
		atomic_fetch_add(&w->writes, 1);
		atomic_fetch_sub(&w->writers_in, 1);
		pthread_rwlock_unlock(&w->rw);
		sched_yield();
	}
	return NULL;
}

static void run_readers_and_writer(void *arg)
{
	struct rw_world *w = arg;
	pthread_t readers[READERS], writer;
	for (int i = 0; i < READERS; i++)
		start_thread(&readers[i], reader_main, w);
	start_thread(&writer, writer_main, w);
	for (int i = 0; i < READERS; i++)
		join_thread(readers[i]);
	join_thread(writer);
}

static void test_rwlock_shares_readers_excludes_writer(void)
{
	pthread_rwlock_t rw;
	CU_ASSERT_EQUAL_FATAL(pthread_rwlock_init(&rw, NULL), 0);

	/* Held for reading: another reader gets in, a writer does not. */
	CU_ASSERT_EQUAL(pthread_rwlock_rdlock(&rw), 0);
	CU_ASSERT_EQUAL(rw_try(&rw, RW_TRYRD, NULL), 0);
	CU_ASSERT_EQUAL(rw_try(&rw, RW_TRYWR, NULL), EBUSY);
	int64_t late = -1;
	CU_ASSERT_EQUAL(rw_try(&rw, RW_TIMEDWR, &late), ETIMEDOUT);
	EXPECT_IN_RANGE(late, 0, SLACK_NS);
	CU_ASSERT_EQUAL(pthread_rwlock_unlock(&rw), 0);

	/* Held for writing: nobody else gets in. */
	CU_ASSERT_EQUAL(pthread_rwlock_wrlock(&rw), 0);
	CU_ASSERT_EQUAL(rw_try(&rw, RW_TRYRD, NULL), EBUSY);
	CU_ASSERT_EQUAL(rw_try(&rw, RW_TRYWR, NULL), EBUSY);
	CU_ASSERT_EQUAL(pthread_rwlock_unlock(&rw), 0);

	/* Free again. */
	CU_ASSERT_EQUAL(rw_try(&rw, RW_TRYWR, NULL), 0);
	CU_ASSERT_EQUAL(pthread_rwlock_destroy(&rw), 0);

	/* Readers and a writer at random: readers overlap, the writer is
	 * always alone, and it gets its turns. */
	struct rw_world w;
	memset(&w, 0, sizeof w);
	CU_ASSERT_EQUAL_FATAL(pthread_rwlock_init(&w.rw, NULL), 0);
	simulate_random(run_readers_and_writer, &w);
	CU_ASSERT_EQUAL(atomic_load(&w.violations), 0);
	CU_ASSERT(atomic_load(&w.most_readers_in) >= 2);
	CU_ASSERT_EQUAL(atomic_load(&w.writes), RW_ROUNDS);
	pthread_rwlock_destroy(&w.rw);
}

/* ---- barriers ---- */

enum { BARRIER_THREADS = 5, BARRIER_ROUNDS = 3 };

struct barrier_world {
	pthread_barrier_t barrier;
	atomic_int arrived[BARRIER_ROUNDS];
	atomic_int early[BARRIER_ROUNDS];  /* left before all had arrived */
	atomic_int serial[BARRIER_ROUNDS]; /* got the SERIAL_THREAD value */
	atomic_int bad_rc;
};

struct barrier_arg {
	struct barrier_world *w;
	int id;
	pthread_t thread;
};

static void *barrier_main(void *arg)
{
	struct barrier_arg *a = arg;
	struct barrier_world *w = a->w;
	for (int r = 0; r < BARRIER_ROUNDS; r++) {
		/* Arrive in a different order every round. */
		usleep((useconds_t)(100 *
		                    ((a->id * 3 + r * 2) % BARRIER_THREADS)));
		atomic_fetch_add(&w->arrived[r], 1);
		int rc = pthread_barrier_wait(&w->barrier);
		if (atomic_load(&w->arrived[r]) != BARRIER_THREADS)
			atomic_fetch_add(&w->early[r], 1);
		if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
			atomic_fetch_add(&w->serial[r], 1);
		else if (rc != 0)
			atomic_fetch_add(&w->bad_rc, 1);
	}
	return NULL;
}

static void test_barrier_releases_all_one_serial(void)
{
	struct barrier_world w;
	memset(&w, 0, sizeof w);
	CU_ASSERT_EQUAL_FATAL(
	        pthread_barrier_init(&w.barrier, NULL, BARRIER_THREADS), 0);
	struct barrier_arg args[BARRIER_THREADS];
	for (int i = 0; i < BARRIER_THREADS; i++) {
		args[i] = (struct barrier_arg){.w = &w, .id = i};
		start_thread(&args[i].thread, barrier_main, &args[i]);
	}
	for (int i = 0; i < BARRIER_THREADS; i++)
		join_thread(args[i].thread);
	for (int r = 0; r < BARRIER_ROUNDS; r++) {
		CU_ASSERT_EQUAL(atomic_load(&w.arrived[r]), BARRIER_THREADS);
		CU_ASSERT_EQUAL(atomic_load(&w.early[r]), 0);
		CU_ASSERT_EQUAL(atomic_load(&w.serial[r]), 1);
	}
	CU_ASSERT_EQUAL(atomic_load(&w.bad_rc), 0);
	CU_ASSERT_EQUAL(pthread_barrier_destroy(&w.barrier), 0);
}

/* ---- mutex kinds and timed locks ---- */

enum mutex_op { MU_TRYLOCK, MU_UNLOCK, MU_TIMEDLOCK, MU_CLOCKLOCK };

/* One mutex call made by a thread of its own; a lock it gets is let go. */
struct mutex_try {
	pthread_mutex_t *mu;
	enum mutex_op op;
	int64_t wait_ns; /* timed locks: how long they may wait */
	int rc;
	int64_t waited_ns;
};

static void *mutex_try_main(void *arg)
{
	struct mutex_try *t = arg;
	int64_t t0 = clock_ns(CLOCK_MONOTONIC);
	struct timespec real = deadline_in(CLOCK_REALTIME, t->wait_ns);
	struct timespec mono = deadline_in(CLOCK_MONOTONIC, t->wait_ns);
	switch (t->op) {
	case MU_TRYLOCK:
		t->rc = pthread_mutex_trylock(t->mu);
		break;
	case MU_UNLOCK:
		t->rc = pthread_mutex_unlock(t->mu);
		break;
	case MU_TIMEDLOCK:
		t->rc = pthread_mutex_timedlock(t->mu, &real);
		break;
	case MU_CLOCKLOCK:
		t->rc = pthread_mutex_clocklock(t->mu, CLOCK_MONOTONIC, &mono);
		break;
	}
	t->waited_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	if (t->rc == 0 && t->op != MU_UNLOCK)
		pthread_mutex_unlock(t->mu);
	return NULL;
}

static void mutex_try_start(struct mutex_try *t, pthread_t *thread,
                            pthread_mutex_t *mu, enum mutex_op op,
                            int64_t wait_ns)
{
	*t = (struct mutex_try){mu, op, wait_ns, -1, 0};
	start_thread(thread, mutex_try_main, t);
}

static int mutex_try(pthread_mutex_t *mu, enum mutex_op op)
{
	struct mutex_try t;
	pthread_t thread;
	mutex_try_start(&t, &thread, mu, op, 0);
	join_thread(thread);
	return t.rc;
}

static void mutex_init_kind(pthread_mutex_t *mu, int kind)
{
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, kind);
	if (pthread_mutex_init(mu, &attr) != 0)
		runner_fatalf("pthread_mutex_init failed");
	pthread_mutexattr_destroy(&attr);
}

/* A recursive mutex is the owner's until it unlocks as often as it
 * locked. */
static void test_recursive_mutex_relocks_by_owner(void)
{
	pthread_mutex_t mu;
	mutex_init_kind(&mu, PTHREAD_MUTEX_RECURSIVE);
	CU_ASSERT_EQUAL(pthread_mutex_lock(&mu), 0);
	CU_ASSERT_EQUAL(pthread_mutex_lock(&mu), 0);
	CU_ASSERT_EQUAL(pthread_mutex_trylock(&mu), 0);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_TRYLOCK), EBUSY);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_UNLOCK), EPERM);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), 0);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), 0);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_TRYLOCK), EBUSY); /* once more */
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), 0);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_TRYLOCK), 0);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), EPERM); /* not held */
	CU_ASSERT_EQUAL(pthread_mutex_destroy(&mu), 0);
}

/* An error-checking mutex refuses a relock (EDEADLK), and an unlock by a
 * thread that does not hold it (EPERM). */
static void test_errorcheck_mutex_refuses_relock(void)
{
	pthread_mutex_t mu;
	mutex_init_kind(&mu, PTHREAD_MUTEX_ERRORCHECK);
	CU_ASSERT_EQUAL(pthread_mutex_lock(&mu), 0);
	CU_ASSERT_EQUAL(pthread_mutex_lock(&mu), EDEADLK);
	/* POSIX: trylock of a locked mutex fails with EBUSY, "including the
	 * current thread". */
	CU_ASSERT_EQUAL(pthread_mutex_trylock(&mu), EBUSY);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_TRYLOCK), EBUSY);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_UNLOCK), EPERM);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), 0);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), EPERM);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_TRYLOCK), 0);
	CU_ASSERT_EQUAL(pthread_mutex_destroy(&mu), 0);
}

/* Timed locks give up at their deadline (timedlock on CLOCK_REALTIME,
 * clocklock on the clock it names), and get the mutex as soon as it is
 * let go before then. */
static void test_mutex_timed_lock_times_out(void)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	CU_ASSERT_EQUAL(pthread_mutex_lock(&mu), 0);
	CU_ASSERT_EQUAL(mutex_try(&mu, MU_TRYLOCK), EBUSY);

	struct mutex_try t;
	pthread_t thread;
	mutex_try_start(&t, &thread, &mu, MU_TIMEDLOCK, 200 * NS_PER_MS);
	join_thread(thread);
	CU_ASSERT_EQUAL(t.rc, ETIMEDOUT);
	EXPECT_IN_RANGE(t.waited_ns, 200 * NS_PER_MS,
	                200 * NS_PER_MS + SLACK_NS);

	mutex_try_start(&t, &thread, &mu, MU_CLOCKLOCK, 300 * NS_PER_MS);
	join_thread(thread);
	CU_ASSERT_EQUAL(t.rc, ETIMEDOUT);
	EXPECT_IN_RANGE(t.waited_ns, 300 * NS_PER_MS,
	                300 * NS_PER_MS + SLACK_NS);

	mutex_try_start(&t, &thread, &mu, MU_TIMEDLOCK, NS_PER_S);
	usleep(100000);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&mu), 0);
	join_thread(thread);
	CU_ASSERT_EQUAL(t.rc, 0);
	EXPECT_IN_RANGE(t.waited_ns, 100 * NS_PER_MS,
	                100 * NS_PER_MS + SLACK_NS);
	CU_ASSERT_EQUAL(pthread_mutex_destroy(&mu), 0);
}

/* ---- determinism ---- */

enum { TRACE_THREADS = 4, TRACE_ROUNDS = 200 };
#define TRACE_LEN (TRACE_THREADS * TRACE_ROUNDS)

/* Which thread appended when: the interleaving of one run. */
struct trace {
	pthread_mutex_t mu;
	int ids[TRACE_LEN];
	int len;
};

struct tracer {
	struct trace *trace;
	int id;
	pthread_t thread;
};

static void *tracer_main(void *arg)
{
	struct tracer *t = arg;
	for (int r = 0; r < TRACE_ROUNDS; r++) {
		pthread_mutex_lock(&t->trace->mu);
		t->trace->ids[t->trace->len++] = t->id;
		pthread_mutex_unlock(&t->trace->mu);
		sched_yield();
	}
	return NULL;
}

static void record_trace(void *arg)
{
	struct trace *trace = arg;
	memset(trace, 0, sizeof *trace);
	pthread_mutex_init(&trace->mu, NULL);
	struct tracer tracers[TRACE_THREADS];
	for (int i = 0; i < TRACE_THREADS; i++) {
		tracers[i] = (struct tracer){.trace = trace, .id = i};
		start_thread(&tracers[i].thread, tracer_main, &tracers[i]);
	}
	for (int i = 0; i < TRACE_THREADS; i++)
		join_thread(tracers[i].thread);
	pthread_mutex_destroy(&trace->mu);
}

/* Places where the trace moves from one thread to another: TRACE_THREADS-1
 * when the threads ran one after another. */
static int trace_changes(const struct trace *trace)
{
	int changes = 0;
	for (int i = 1; i < trace->len; i++)
		changes += trace->ids[i] != trace->ids[i - 1];
	return changes;
}

static void expect_complete(const struct trace *trace)
{
	int count[TRACE_THREADS] = {0};
	CU_ASSERT_EQUAL_FATAL(trace->len, TRACE_LEN);
	for (int i = 0; i < trace->len; i++)
		if (trace->ids[i] >= 0 && trace->ids[i] < TRACE_THREADS)
			count[trace->ids[i]]++;
	for (int i = 0; i < TRACE_THREADS; i++)
		CU_ASSERT_EQUAL(count[i], TRACE_ROUNDS);
}

static bool same_stats(const struct sim_stats *a, const struct sim_stats *b)
{
	return a->points == b->points && a->switches == b->switches &&
	       a->threads == b->threads && a->now_ns == b->now_ns;
}

/* The interleaving (and the counters, and virtual time) is a function of
 * the seed and the policy: the same seed replays it, another seed makes
 * another one. */
static void test_seed_alone_fixes_the_interleaving(void)
{
	/* On the runner's simulation: the threads switched. */
	struct trace trace;
	record_trace(&trace);
	expect_complete(&trace);
	struct sim_stats st;
	sim_get_stats(&st);
	CU_ASSERT(st.points > 0);
	CU_ASSERT(st.switches > 0);
	CU_ASSERT_EQUAL(st.threads, 1 + TRACE_THREADS);

	uint64_t seed = runner_seed();
	struct sim_options rnd = {
	        .seed = seed, .limit_ns = OWN_LIMIT_NS, .policy = SIM_RANDOM};
	struct trace first, again, other;
	struct sim_stats st_first, st_again, st_other;
	simulate(&rnd, record_trace, &first, &st_first);
	simulate(&rnd, record_trace, &again, &st_again);
	rnd.seed = seed + 1;
	simulate(&rnd, record_trace, &other, &st_other);
	expect_complete(&first);
	expect_complete(&other);
	/* Random picks interleave the threads, not one after another. */
	CU_ASSERT(trace_changes(&first) > TRACE_THREADS - 1);
	CU_ASSERT(memcmp(first.ids, again.ids, sizeof first.ids) == 0);
	CU_ASSERT_TRUE(same_stats(&st_first, &st_again));
	CU_ASSERT(st_first.switches > 0);
	CU_ASSERT(memcmp(first.ids, other.ids, sizeof first.ids) != 0);

	struct sim_options pct = {.seed = seed,
	                          .limit_ns = OWN_LIMIT_NS,
	                          .policy = SIM_PCT,
	                          .pct_depth = 3};
	simulate(&pct, record_trace, &first, &st_first);
	simulate(&pct, record_trace, &again, &st_again);
	expect_complete(&first);
	CU_ASSERT(memcmp(first.ids, again.ids, sizeof first.ids) == 0);
	CU_ASSERT_TRUE(same_stats(&st_first, &st_again));
}

/* ---- observers ---- */

/* An observer's own record: it counts its calls, and reads the trace under
 * its mutex, through sim_observe_try, to check that it never shrinks. */
struct trace_watch {
	struct trace *trace;
	long calls, looked, gave_up;
	int last_len, shrank;
};

static void look_at_trace(void *arg)
{
	struct trace_watch *w = arg;
	pthread_mutex_lock(&w->trace->mu);
	int len = w->trace->len;
	pthread_mutex_unlock(&w->trace->mu);
	w->shrank += len < w->last_len;
	w->last_len = len;
}

static void watch_trace(void *arg)
{
	struct trace_watch *w = arg;
	w->calls++;
	if (sim_observe_try(look_at_trace, w))
		w->looked++;
	else
		w->gave_up++;
}

static struct trace_watch *the_watch;

static void record_trace_watched(void *arg)
{
	the_watch->trace = arg;
	/* record_trace initializes the trace before any thread starts: the
	 * observer first looks once the tracers run. */
	sim_observe(watch_trace, the_watch);
	record_trace(arg);
	sim_observe(NULL, NULL);
}

/* An observer runs at every scheduling point, and a run is the same with
 * or without it: the same interleaving, points, switches and virtual
 * time. It can take free mutexes, and gives up on one that a parked
 * thread holds. */
static void test_observer_runs_at_every_point_and_changes_nothing(void)
{
	struct sim_options o = {.seed = runner_seed(),
	                        .limit_ns = OWN_LIMIT_NS,
	                        .policy = SIM_RANDOM};
	struct trace plain, watched;
	struct sim_stats st_plain, st_watched;
	struct trace_watch w = {0};
	the_watch = &w;
	simulate(&o, record_trace, &plain, &st_plain);
	simulate(&o, record_trace_watched, &watched, &st_watched);
	expect_complete(&watched);
	CU_ASSERT(memcmp(plain.ids, watched.ids, sizeof plain.ids) == 0);
	CU_ASSERT_TRUE(same_stats(&st_plain, &st_watched));
	/* Every yield is a point, and so is every wait for the trace's
	 * mutex; only points before sim_observe(NULL) see the observer. */
	if (w.calls < TRACE_LEN || (uint64_t)w.calls > st_watched.points)
		runner_fatalf("the observer ran %ld times, at %" PRIu64
		              " scheduling points and %d yields",
		              w.calls, st_watched.points, TRACE_LEN);
	CU_ASSERT_EQUAL(w.looked + w.gave_up, w.calls);
	CU_ASSERT(w.looked > 0);
	/* A tracer parks holding the mutex only when it waits to take it
	 * back, never: pthread_mutex_unlock comes before every yield. */
	CU_ASSERT_EQUAL(w.shrank, 0);
	CU_ASSERT_EQUAL(w.last_len, TRACE_LEN);
}

/* A mutex that a thread holds while it sleeps, and one nobody holds. */
enum hold_phase { HOLD_BEFORE, HOLD_HELD, HOLD_LETTING_GO, HOLD_FREE };

struct held_watch {
	pthread_mutex_t held, spare;
	enum hold_phase phase;
	long taken[4], abandoned[4]; /* the held mutex, by phase */
	long spare_failed, sleep_finished, sleep_ran;
	int inside;
};

static void take_held(void *arg)
{
	struct held_watch *h = arg;
	pthread_mutex_lock(&h->held);
	h->inside++;
	pthread_mutex_unlock(&h->held);
}

static void take_spare(void *arg)
{
	struct held_watch *h = arg;
	pthread_mutex_lock(&h->spare);
	pthread_mutex_unlock(&h->spare);
}

static void sleep_in_observer(void *arg)
{
	struct held_watch *h = arg;
	usleep(1000); /* a scheduling point: abandons */
	h->sleep_ran++;
}

static void watch_held(void *arg)
{
	struct held_watch *h = arg;
	if (sim_observe_try(take_held, h))
		h->taken[h->phase]++;
	else
		h->abandoned[h->phase]++;
	h->spare_failed += !sim_observe_try(take_spare, h);
	h->sleep_finished += sim_observe_try(sleep_in_observer, h);
}

static void *holder_main(void *arg)
{
	struct held_watch *h = arg;
	pthread_mutex_lock(&h->held);
	h->phase = HOLD_HELD;
	usleep(100000);
	h->phase = HOLD_LETTING_GO;
	pthread_mutex_unlock(&h->held);
	h->phase = HOLD_FREE;
	return NULL;
}

static void test_observe_try_gives_up_on_held_mutexes(void)
{
	struct held_watch h = {0};
	pthread_mutex_init(&h.held, NULL);
	pthread_mutex_init(&h.spare, NULL);
	sim_observe(watch_held, &h);
	pthread_t thread;
	start_thread(&thread, holder_main, &h);
	/* Points on this thread while the holder sleeps with the mutex. */
	for (int i = 0; i < 5; i++)
		usleep(10000);
	join_thread(thread);
	usleep(1000);
	sim_observe(NULL, NULL);

	printf("held mutex: taken %ld, abandoned %ld while held; taken %ld, "
	       "abandoned %ld once free\n",
	       h.taken[HOLD_HELD], h.abandoned[HOLD_HELD], h.taken[HOLD_FREE],
	       h.abandoned[HOLD_FREE]);
	CU_ASSERT_EQUAL(h.taken[HOLD_HELD], 0);
	CU_ASSERT(h.abandoned[HOLD_HELD] > 0);
	CU_ASSERT(h.taken[HOLD_FREE] > 0);
	CU_ASSERT_EQUAL(h.abandoned[HOLD_FREE], 0);
	CU_ASSERT_EQUAL(h.spare_failed, 0);
	CU_ASSERT_EQUAL(h.sleep_finished, 0);
	CU_ASSERT_EQUAL(h.sleep_ran, 0);
	CU_ASSERT_EQUAL(h.inside, h.taken[HOLD_BEFORE] +
	                                  h.taken[HOLD_LETTING_GO] +
	                                  h.taken[HOLD_FREE]);
	/* Nothing an observer took is left locked. */
	CU_ASSERT_EQUAL(pthread_mutex_trylock(&h.held), 0);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&h.held), 0);
	CU_ASSERT_EQUAL(pthread_mutex_trylock(&h.spare), 0);
	CU_ASSERT_EQUAL(pthread_mutex_unlock(&h.spare), 0);
	CU_ASSERT_EQUAL(pthread_mutex_destroy(&h.held), 0);
	CU_ASSERT_EQUAL(pthread_mutex_destroy(&h.spare), 0);
}

/* ---- entropy ---- */

struct draws {
	uint64_t seeds[2];          /* prng_entropy_seed */
	unsigned char bytes[2][32]; /* getrandom */
	unsigned char entropy[16];  /* getentropy */
};

static void draw_entropy(void *arg)
{
	struct draws *d = arg;
	memset(d, 0, sizeof *d);
	d->seeds[0] = prng_entropy_seed();
	d->seeds[1] = prng_entropy_seed();
	for (int i = 0; i < 2; i++)
		if (getrandom(d->bytes[i], sizeof d->bytes[i], 0) !=
		    (ssize_t)sizeof d->bytes[i])
			runner_fatalf("getrandom failed");
	if (getentropy(d->entropy, sizeof d->entropy) != 0)
		runner_fatalf("getentropy failed");
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* prng_entropy_seed, getrandom and getentropy draw from the simulation's
 * PRNG: values that look random, yet repeat exactly for the same seed
 * (the operating system's would not). */
static void test_entropy_comes_from_the_simulation(void)
{
	struct draws d;
	draw_entropy(&d);
	CU_ASSERT(d.seeds[0] != 0 && d.seeds[1] != 0);
	CU_ASSERT(d.seeds[0] != d.seeds[1]);
	CU_ASSERT_FALSE(all_zero(d.bytes[0], sizeof d.bytes[0]));
	CU_ASSERT_FALSE(all_zero(d.bytes[1], sizeof d.bytes[1]));
	CU_ASSERT(memcmp(d.bytes[0], d.bytes[1], sizeof d.bytes[0]) != 0);
	CU_ASSERT_FALSE(all_zero(d.entropy, sizeof d.entropy));

	struct sim_options o = {.seed = runner_seed(),
	                        .limit_ns = OWN_LIMIT_NS};
	struct draws first, again, other;
	simulate(&o, draw_entropy, &first, NULL);
	simulate(&o, draw_entropy, &again, NULL);
	o.seed++;
	simulate(&o, draw_entropy, &other, NULL);
	CU_ASSERT(memcmp(&first, &again, sizeof first) == 0);
	CU_ASSERT(first.seeds[0] != other.seeds[0]);
	CU_ASSERT(memcmp(first.bytes, other.bytes, sizeof first.bytes) != 0);
}

static const struct runner_test tests[] = {
        {"TestMutexMakesReadModifyWriteExact",
         test_mutex_makes_read_modify_write_exact, 0},
        {"TestSpinlockMakesReadModifyWriteExact",
         test_spinlock_makes_read_modify_write_exact, 0},
        {"TestUnguardedReadModifyWriteLosesUpdates",
         test_unguarded_read_modify_write_loses_updates, 0},
        {"TestSleepTakesVirtualTimeOnly", test_sleep_takes_virtual_time_only,
         0},
        {"TestEverySleepCallTakesItsVirtualTime",
         test_every_sleep_call_takes_its_virtual_time, 0},
        {"TestWallClocksAdvanceWithMonotonic",
         test_wall_clocks_advance_with_monotonic, 0},
        {"TestSleepersWakeInDeadlineOrder",
         test_sleepers_wake_in_deadline_order, 0},
        {"TestTimersFireWhileAnotherThreadRuns",
         test_timers_fire_while_another_thread_runs, 0},
        {"TestCondTimedwaitTimesOutAtDeadline",
         test_cond_timedwait_times_out_at_deadline, 0},
        {"TestCondSignalWakesOneWaiter", test_cond_signal_wakes_one_waiter, 0},
        {"TestCondBroadcastWakesAllWaiters",
         test_cond_broadcast_wakes_all_waiters, 0},
        {"TestSemaphoresHandOffBetweenThreads",
         test_semaphores_hand_off_between_threads, 0},
        {"TestSemTrywaitOnZeroFailsWithEAGAIN",
         test_sem_trywait_on_zero_fails_with_eagain, 0},
        {"TestSemTimedwaitTimesOut", test_sem_timedwait_times_out, 0},
        {"TestJoinReturnsThreadResult", test_join_returns_thread_result, 0},
        {"TestDetachedThreadsRunToCompletion",
         test_detached_threads_run_to_completion, 0},
        {"TestOnceRunsRoutineOnce", test_once_runs_routine_once, 0},
        {"TestRwlockSharesReadersExcludesWriter",
         test_rwlock_shares_readers_excludes_writer, 0},
        {"TestBarrierReleasesAllOneSerial",
         test_barrier_releases_all_one_serial, 0},
        {"TestRecursiveMutexRelocksByOwner",
         test_recursive_mutex_relocks_by_owner, 0},
        {"TestErrorcheckMutexRefusesRelock",
         test_errorcheck_mutex_refuses_relock, 0},
        {"TestMutexTimedLockTimesOut", test_mutex_timed_lock_times_out, 0},
        {"TestSeedAloneFixesTheInterleaving",
         test_seed_alone_fixes_the_interleaving, 0},
        {"TestEntropyComesFromTheSimulation",
         test_entropy_comes_from_the_simulation, 0},
        {"TestObserverRunsAtEveryPointAndChangesNothing",
         test_observer_runs_at_every_point_and_changes_nothing, 0},
        {"TestObserveTryGivesUpOnHeldMutexes",
         test_observe_try_gives_up_on_held_mutexes, 0},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "sim", tests,
	                   sizeof tests / sizeof tests[0]);
}
