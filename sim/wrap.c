/*
 * wrap.c: simulation mode's interposition. The sim build links every program
 * with -Wl,--wrap=NAME for each function below (the list is SIM_WRAPS in the
 * Makefile), so a call to pthread_mutex_lock in the code under test, the
 * student's included, lands in __wrap_pthread_mutex_lock here, and
 * __real_pthread_mutex_lock is the C library's. A call from a thread that
 * does not run under the scheduler goes straight to the real function.
 *
 * Locks keep their state inside the caller's own object (the owner in a
 * mutex's __lock field, a semaphore's count where glibc keeps it), in fields
 * that are zero when the object is free, exactly as the real library leaves
 * them; who waits is in the scheduler's thread table. Condition variables
 * keep only their clock.
 *
 * Scheduling points: lock, trylock, unlock, signal, broadcast, semaphore
 * post and wait, thread create and join, sched_yield, every clock read, and
 * every wait and sleep (which block, and so hand the baton on).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "sim/sched.h"

/* The clocks' values at virtual time 0: the monotonic clock as if the
 * machine had been up a while, the real-time clock at 2024-01-01 00:00 UTC. */
#define MONO_BASE_NS INT64_C(100000000000000)
#define REAL_BASE_NS (INT64_C(1704067200) * 1000000000)
#define NS INT64_C(1000000000)

/* Every wrapped function, declared with its __real_ twin. */
#define REAL(ret, name, ...)                                                   \
	ret __real_##name(__VA_ARGS__);                                        \
	ret __wrap_##name(__VA_ARGS__);                                        \
	ret __wrap_##name(__VA_ARGS__)

/* ---- time ---- */

static bool clock_is_real(clockid_t clk)
{
	return clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE ||
	       clk == CLOCK_TAI;
}

static bool clock_known(clockid_t clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		return true;
	default:
		return false;
	}
}

static int64_t clock_base(clockid_t clk)
{
	if (clock_is_real(clk))
		return REAL_BASE_NS;
	if (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID)
		return 0;
	return MONO_BASE_NS;
}

static struct timespec to_timespec(int64_t ns)
{
	return (struct timespec){.tv_sec = ns / NS, .tv_nsec = ns % NS};
}

static int64_t from_timespec(const struct timespec *ts)
{
	if (ts->tv_sec >= INT64_MAX / NS - 1)
		return INT64_MAX / 2;
	if (ts->tv_sec < 0)
		return 0;
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

static bool timespec_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < NS;
}

/* An absolute time on clk as a virtual deadline (elapsed ns). */
static int64_t deadline_on(clockid_t clk, const struct timespec *abs)
{
	int64_t d = from_timespec(abs) - clock_base(clk);
	return d < 0 ? 0 : d;
}

static int64_t deadline_after(const struct timespec *rel)
{
	int64_t d = from_timespec(rel);
	int64_t now = sim_elapsed_ns();
	return d > INT64_MAX / 2 - now ? INT64_MAX / 2 : now + d;
}

REAL(int, clock_gettime, clockid_t clk, struct timespec *ts)
{
	struct sim_thread *self = sim_self();
	if (!self || !clock_known(clk))
		return __real_clock_gettime(clk, ts);
	sim_point(self);
	*ts = to_timespec(clock_base(clk) + sim_elapsed_ns());
	return 0;
}

REAL(int, gettimeofday, struct timeval *restrict tv, void *restrict tz)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_gettimeofday(tv, tz);
	sim_point(self);
	if (tv) {
		int64_t ns = REAL_BASE_NS + sim_elapsed_ns();
		tv->tv_sec = ns / NS;
		tv->tv_usec = (ns % NS) / 1000;
	}
	return 0;
}

REAL(time_t, time, time_t *out)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_time(out);
	sim_point(self);
	time_t t = (time_t)((REAL_BASE_NS + sim_elapsed_ns()) / NS);
	if (out)
		*out = t;
	return t;
}

REAL(int, timespec_get, struct timespec *ts, int base)
{
	struct sim_thread *self = sim_self();
	if (!self || base != TIME_UTC)
		return __real_timespec_get(ts, base);
	sim_point(self);
	*ts = to_timespec(REAL_BASE_NS + sim_elapsed_ns());
	return base;
}

REAL(clock_t, clock, void)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_clock();
	sim_point(self);
	return (clock_t)(sim_elapsed_ns() / (NS / CLOCKS_PER_SEC));
}

/* ---- sleeping ---- */

static void sleep_until(struct sim_thread *self, int64_t deadline,
                        const char *call)
{
	if (deadline <= sim_elapsed_ns()) {
		sim_point(self);
		return;
	}
	while (sim_block(self, W_SLEEP, self, call, deadline))
		; /* nothing but the deadline wakes a sleeper */
}

REAL(int, nanosleep, const struct timespec *req, struct timespec *rem)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_nanosleep(req, rem);
	if (!timespec_valid(req)) {
		errno = EINVAL;
		return -1;
	}
	sleep_until(self, deadline_after(req), "nanosleep");
	if (rem)
		*rem = (struct timespec){0, 0};
	return 0;
}

REAL(int, clock_nanosleep, clockid_t clk, int flags, const struct timespec *req,
     struct timespec *rem)
{
	struct sim_thread *self = sim_self();
	if (!self || !clock_known(clk))
		return __real_clock_nanosleep(clk, flags, req, rem);
	if (!timespec_valid(req))
		return EINVAL;
	int64_t deadline = (flags & TIMER_ABSTIME) ? deadline_on(clk, req)
	                                           : deadline_after(req);
	sleep_until(self, deadline, "clock_nanosleep");
	if (rem && !(flags & TIMER_ABSTIME))
		*rem = (struct timespec){0, 0};
	return 0;
}

REAL(int, usleep, useconds_t us)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_usleep(us);
	struct timespec rel = to_timespec((int64_t)us * 1000);
	sleep_until(self, deadline_after(&rel), "usleep");
	return 0;
}

REAL(unsigned, sleep, unsigned s)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sleep(s);
	struct timespec rel = {.tv_sec = s};
	sleep_until(self, deadline_after(&rel), "sleep");
	return 0;
}

REAL(int, sched_yield, void)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sched_yield();
	sim_point(self);
	return 0;
}

/* ---- threads ---- */

REAL(int, pthread_create, pthread_t *pt, const pthread_attr_t *attr,
     void *(*fn)(void *), void *arg)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_create(pt, attr, fn, arg);
	struct sim_thread *t = sim_thread_new(fn, arg);
	int state = PTHREAD_CREATE_JOINABLE;
	if (attr)
		pthread_attr_getdetachstate(attr, &state);
	t->detached = state == PTHREAD_CREATE_DETACHED;
	int err = __real_pthread_create(&t->pthread, attr, sim_thread_main, t);
	if (err) {
		sim_thread_reap(t);
		return err;
	}
	*pt = t->pthread;
	sim_point(self);
	return 0;
}

static int join(struct sim_thread *self, pthread_t pt, void **ret, bool wait,
                const struct timespec *abs)
{
	struct sim_thread *t = sim_thread_find(pt);
	if (!t)
		return ESRCH;
	if (t == self)
		return EDEADLK;
	if (t->detached)
		return EINVAL;
	int64_t deadline = abs ? deadline_on(CLOCK_REALTIME, abs) : INT64_MAX;
	sim_point(self);
	while (t->wait != W_DONE) {
		if (!wait)
			return EBUSY;
		if (!sim_block(self, W_JOIN, t, "pthread_join", deadline))
			return ETIMEDOUT;
	}
	if (ret)
		*ret = t->retval;
	__real_pthread_join(t->pthread, NULL); /* it is on its way out */
	sim_thread_reap(t);
	return 0;
}

REAL(int, pthread_join, pthread_t pt, void **ret)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_join(pt, ret);
	return join(self, pt, ret, true, NULL);
}

REAL(int, pthread_tryjoin_np, pthread_t pt, void **ret)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_tryjoin_np(pt, ret);
	return join(self, pt, ret, false, NULL);
}

REAL(int, pthread_timedjoin_np, pthread_t pt, void **ret,
     const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_timedjoin_np(pt, ret, abs);
	return join(self, pt, ret, true, abs);
}

REAL(int, pthread_detach, pthread_t pt)
{
	struct sim_thread *self = sim_self();
	struct sim_thread *t = self ? sim_thread_find(pt) : NULL;
	if (!t)
		return __real_pthread_detach(pt);
	if (t->detached)
		return EINVAL;
	t->detached = true;
	int err = __real_pthread_detach(pt);
	if (t->wait == W_DONE)
		sim_thread_reap(t);
	return err;
}

REAL(_Noreturn void, pthread_exit, void *ret)
{
	struct sim_thread *self = sim_self();
	if (self) {
		if (self->id == 0)
			sim_trouble(
			        SIM_FAILED,
			        "pthread_exit() on the test's own thread: the "
			        "test would never end");
		sim_thread_exit(self, ret);
	}
	__real_pthread_exit(ret);
}

REAL(int, pthread_cancel, pthread_t pt)
{
	if (!sim_self())
		return __real_pthread_cancel(pt);
	sim_trouble(SIM_FAILED, "pthread_cancel() is not supported in "
	                        "simulation mode: ask the thread to stop (a "
	                        "flag under a lock) and join it");
}

/* ---- mutexes: the owner's tag in __lock, recursion in __count, whether
 * anyone waits in __nusers ---- */

int sim_mutex_owner_tag(const void *mutex)
{
	return ((const pthread_mutex_t *)mutex)->__data.__lock;
}

static int mutex_kind(const pthread_mutex_t *m)
{
	return m->__data.__kind &
	       3; /* NORMAL, RECURSIVE, ERRORCHECK, ADAPTIVE */
}

/* Takes m for self, waiting until deadline; no scheduling point first. */
static int mutex_acquire(struct sim_thread *self, pthread_mutex_t *m, bool wait,
                         int64_t deadline, const char *call)
{
	int me = sim_owner_tag(self);
	while (m->__data.__lock != 0) {
		if (m->__data.__lock == me) {
			if (mutex_kind(m) == PTHREAD_MUTEX_RECURSIVE) {
				m->__data.__count++;
				return 0;
			}
			if (!wait)
				return EBUSY; /* trylock: busy, even for its
				                 owner */
			if (mutex_kind(m) == PTHREAD_MUTEX_ERRORCHECK)
				return EDEADLK;
			if (wait)
				sim_trouble(SIM_STUCK,
				            "deadlock: thread %d calls %s on a "
				            "mutex (%p) that it already holds",
				            self->id, call, (void *)m);
		}
		if (!wait)
			return EBUSY;
		m->__data.__nusers = 1;
		if (!sim_block(self, W_MUTEX, m, call, deadline))
			return ETIMEDOUT;
	}
	m->__data.__lock = me;
	m->__data.__count = 0;
	return 0;
}

/* Lets m go, waking whoever waits for it; no scheduling point. */
static int mutex_release(struct sim_thread *self, pthread_mutex_t *m,
                         const char *call)
{
	if (m->__data.__lock != sim_owner_tag(self)) {
		if (mutex_kind(m) != PTHREAD_MUTEX_NORMAL)
			return EPERM;
		if (m->__data.__lock == 0)
			sim_trouble(
			        SIM_FAILED,
			        "thread %d calls %s on a mutex (%p) that is "
			        "not locked",
			        self->id, call, (void *)m);
		sim_trouble(SIM_FAILED,
		            "thread %d calls %s on a mutex (%p) that thread "
		            "%d holds",
		            self->id, call, (void *)m, m->__data.__lock - 1);
	}
	if (m->__data.__count > 0) {
		m->__data.__count--;
		return 0;
	}
	m->__data.__lock = 0;
	if (m->__data.__nusers) {
		m->__data.__nusers = 0;
		sim_wake(W_MUTEX, m, false);
	}
	return 0;
}

REAL(int, pthread_mutex_init, pthread_mutex_t *m,
     const pthread_mutexattr_t *attr)
{
	int err = __real_pthread_mutex_init(m, attr);
	if (!err && sim_self()) {
		m->__data.__lock = 0;
		m->__data.__count = 0;
		m->__data.__nusers = 0;
	}
	return err;
}

REAL(int, pthread_mutex_destroy, pthread_mutex_t *m)
{
	if (!sim_self())
		return __real_pthread_mutex_destroy(m);
	return m->__data.__lock ? EBUSY : 0;
}

REAL(int, pthread_mutex_lock, pthread_mutex_t *m)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_mutex_lock(m);
	if (sim_observing())
		return sim_observed_lock(self, m, true);
	sim_point(self);
	return mutex_acquire(self, m, true, INT64_MAX, "pthread_mutex_lock");
}

REAL(int, pthread_mutex_trylock, pthread_mutex_t *m)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_mutex_trylock(m);
	if (sim_observing())
		return sim_observed_lock(self, m, false);
	sim_point(self);
	return mutex_acquire(self, m, false, INT64_MAX,
	                     "pthread_mutex_trylock");
}

REAL(int, pthread_mutex_timedlock, pthread_mutex_t *m,
     const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_mutex_timedlock(m, abs);
	if (!timespec_valid(abs))
		return EINVAL;
	sim_point(self);
	return mutex_acquire(self, m, true, deadline_on(CLOCK_REALTIME, abs),
	                     "pthread_mutex_timedlock");
}

REAL(int, pthread_mutex_clocklock, pthread_mutex_t *m, clockid_t clk,
     const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_mutex_clocklock(m, clk, abs);
	if (!timespec_valid(abs) || !clock_known(clk))
		return EINVAL;
	sim_point(self);
	return mutex_acquire(self, m, true, deadline_on(clk, abs),
	                     "pthread_mutex_clocklock");
}

REAL(int, pthread_mutex_unlock, pthread_mutex_t *m)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_mutex_unlock(m);
	if (sim_observing())
		return sim_observed_unlock(self, m);
	int err = mutex_release(self, m, "pthread_mutex_unlock");
	if (!err)
		sim_point(self);
	return err;
}

/* ---- condition variables: the clock, when not the default, in the first
 * bytes (magic, clock id); waiters are in the thread table ---- */

struct cond_clock {
	uint32_t magic;
	int32_t clock;
};
#define COND_MAGIC 0x53494d43u /* "SIMC" */

static clockid_t cond_clock(const pthread_cond_t *c)
{
	struct cond_clock cc;
	memcpy(&cc, c, sizeof cc);
	return cc.magic == COND_MAGIC ? (clockid_t)cc.clock : CLOCK_REALTIME;
}

REAL(int, pthread_cond_init, pthread_cond_t *c, const pthread_condattr_t *attr)
{
	if (!sim_self())
		return __real_pthread_cond_init(c, attr);
	clockid_t clk = CLOCK_REALTIME;
	if (attr)
		pthread_condattr_getclock(attr, &clk);
	memset(c, 0, sizeof *c);
	if (clk != CLOCK_REALTIME) {
		struct cond_clock cc = {COND_MAGIC, (int32_t)clk};
		memcpy(c, &cc, sizeof cc);
	}
	return 0;
}

REAL(int, pthread_cond_destroy, pthread_cond_t *c)
{
	if (!sim_self())
		return __real_pthread_cond_destroy(c);
	memset(c, 0, sizeof *c);
	return 0;
}

static int cond_wait(struct sim_thread *self, pthread_cond_t *c,
                     pthread_mutex_t *m, int64_t deadline, const char *call)
{
	int err = mutex_release(self, m, call);
	if (err)
		return err;
	bool woken = sim_block(self, W_COND, c, call, deadline);
	mutex_acquire(self, m, true, INT64_MAX, call);
	return woken ? 0 : ETIMEDOUT;
}

REAL(int, pthread_cond_wait, pthread_cond_t *c, pthread_mutex_t *m)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_cond_wait(c, m);
	return cond_wait(self, c, m, INT64_MAX, "pthread_cond_wait");
}

REAL(int, pthread_cond_timedwait, pthread_cond_t *c, pthread_mutex_t *m,
     const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_cond_timedwait(c, m, abs);
	if (!timespec_valid(abs))
		return EINVAL;
	return cond_wait(self, c, m, deadline_on(cond_clock(c), abs),
	                 "pthread_cond_timedwait");
}

REAL(int, pthread_cond_clockwait, pthread_cond_t *c, pthread_mutex_t *m,
     clockid_t clk, const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_cond_clockwait(c, m, clk, abs);
	if (!timespec_valid(abs) || !clock_known(clk))
		return EINVAL;
	return cond_wait(self, c, m, deadline_on(clk, abs),
	                 "pthread_cond_clockwait");
}

REAL(int, pthread_cond_signal, pthread_cond_t *c)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_cond_signal(c);
	sim_wake(W_COND, c, true);
	sim_point(self);
	return 0;
}

REAL(int, pthread_cond_broadcast, pthread_cond_t *c)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_cond_broadcast(c);
	sim_wake(W_COND, c, false);
	sim_point(self);
	return 0;
}

/* ---- read-write locks: readers in __readers, the writer's tag in
 * __cur_writer ---- */

static int rw_acquire(struct sim_thread *self, pthread_rwlock_t *rw, bool write,
                      bool wait, int64_t deadline, const char *call)
{
	int me = sim_owner_tag(self);
	sim_point(self);
	for (;;) {
		bool busy = rw->__data.__cur_writer != 0 ||
		            (write && rw->__data.__readers != 0);
		if (!busy)
			break;
		if (rw->__data.__cur_writer == me)
			return EDEADLK;
		if (!wait)
			return EBUSY;
		if (!sim_block(self, W_RWLOCK, rw, call, deadline))
			return ETIMEDOUT;
	}
	if (write)
		rw->__data.__cur_writer = me;
	else
		rw->__data.__readers++;
	return 0;
}

REAL(int, pthread_rwlock_init, pthread_rwlock_t *rw,
     const pthread_rwlockattr_t *attr)
{
	int err = __real_pthread_rwlock_init(rw, attr);
	if (!err && sim_self()) {
		rw->__data.__readers = 0;
		rw->__data.__cur_writer = 0;
	}
	return err;
}

REAL(int, pthread_rwlock_destroy, pthread_rwlock_t *rw)
{
	if (!sim_self())
		return __real_pthread_rwlock_destroy(rw);
	return rw->__data.__readers || rw->__data.__cur_writer ? EBUSY : 0;
}

REAL(int, pthread_rwlock_rdlock, pthread_rwlock_t *rw)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_rdlock(rw);
	return rw_acquire(self, rw, false, true, INT64_MAX,
	                  "pthread_rwlock_rdlock");
}

REAL(int, pthread_rwlock_wrlock, pthread_rwlock_t *rw)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_wrlock(rw);
	return rw_acquire(self, rw, true, true, INT64_MAX,
	                  "pthread_rwlock_wrlock");
}

REAL(int, pthread_rwlock_tryrdlock, pthread_rwlock_t *rw)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_tryrdlock(rw);
	return rw_acquire(self, rw, false, false, INT64_MAX,
	                  "pthread_rwlock_tryrdlock");
}

REAL(int, pthread_rwlock_trywrlock, pthread_rwlock_t *rw)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_trywrlock(rw);
	return rw_acquire(self, rw, true, false, INT64_MAX,
	                  "pthread_rwlock_trywrlock");
}

REAL(int, pthread_rwlock_timedrdlock, pthread_rwlock_t *rw,
     const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_timedrdlock(rw, abs);
	return rw_acquire(self, rw, false, true,
	                  deadline_on(CLOCK_REALTIME, abs),
	                  "pthread_rwlock_timedrdlock");
}

REAL(int, pthread_rwlock_timedwrlock, pthread_rwlock_t *rw,
     const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_timedwrlock(rw, abs);
	return rw_acquire(self, rw, true, true,
	                  deadline_on(CLOCK_REALTIME, abs),
	                  "pthread_rwlock_timedwrlock");
}

REAL(int, pthread_rwlock_unlock, pthread_rwlock_t *rw)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_rwlock_unlock(rw);
	if (rw->__data.__cur_writer == sim_owner_tag(self))
		rw->__data.__cur_writer = 0;
	else if (rw->__data.__readers > 0)
		rw->__data.__readers--;
	else
		return EPERM;
	sim_wake(W_RWLOCK, rw, false);
	sim_point(self);
	return 0;
}

/* ---- spinlocks: 1 when free, as glibc's pthread_spin_init leaves them,
 * and minus the owner's tag when held ---- */

#define SPIN_FREE 1

static const void *spin_obj(pthread_spinlock_t *l)
{
	return (const void *)(uintptr_t)l;
}

REAL(int, pthread_spin_lock, pthread_spinlock_t *l)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_spin_lock(l);
	sim_point(self);
	while (*l != SPIN_FREE) {
		if (*l == -sim_owner_tag(self))
			sim_trouble(SIM_STUCK,
			            "deadlock: thread %d spins on a spinlock "
			            "(%p) that it already holds",
			            self->id, (void *)l);
		sim_block(self, W_SPIN, spin_obj(l), "pthread_spin_lock",
		          INT64_MAX);
	}
	*l = -sim_owner_tag(self);
	return 0;
}

REAL(int, pthread_spin_trylock, pthread_spinlock_t *l)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_spin_trylock(l);
	sim_point(self);
	if (*l != SPIN_FREE)
		return EBUSY;
	*l = -sim_owner_tag(self);
	return 0;
}

REAL(int, pthread_spin_unlock, pthread_spinlock_t *l)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_spin_unlock(l);
	*l = SPIN_FREE;
	sim_wake(W_SPIN, spin_obj(l), false);
	sim_point(self);
	return 0;
}

/* ---- barriers: the count and a generation in the first bytes ---- */

struct barrier_state {
	unsigned count, arrived, generation;
};

REAL(int, pthread_barrier_init, pthread_barrier_t *b,
     const pthread_barrierattr_t *attr, unsigned count)
{
	if (!sim_self())
		return __real_pthread_barrier_init(b, attr, count);
	if (count == 0)
		return EINVAL;
	struct barrier_state st = {count, 0, 0};
	memset(b, 0, sizeof *b);
	memcpy(b, &st, sizeof st);
	return 0;
}

REAL(int, pthread_barrier_destroy, pthread_barrier_t *b)
{
	if (!sim_self())
		return __real_pthread_barrier_destroy(b);
	return 0;
}

REAL(int, pthread_barrier_wait, pthread_barrier_t *b)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_barrier_wait(b);
	struct barrier_state st;
	sim_point(self);
	memcpy(&st, b, sizeof st);
	if (++st.arrived == st.count) {
		st.arrived = 0;
		st.generation++;
		memcpy(b, &st, sizeof st);
		sim_wake(W_BARRIER, b, false);
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	unsigned gen = st.generation;
	memcpy(b, &st, sizeof st);
	do {
		sim_block(self, W_BARRIER, b, "pthread_barrier_wait",
		          INT64_MAX);
		memcpy(&st, b, sizeof st);
	} while (st.generation == gen);
	return 0;
}

/* ---- pthread_once: 0 not run, 1 running, 2 done (glibc's done value) ---- */

REAL(int, pthread_once, pthread_once_t *once, void (*fn)(void))
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_pthread_once(once, fn);
	volatile int *state = (volatile int *)once;
	if (*state == 2)
		return 0;
	while (*state == 1)
		sim_block(self, W_ONCE, once, "pthread_once", INT64_MAX);
	if (*state == 2)
		return 0;
	*state = 1;
	fn();
	*state = 2;
	sim_wake(W_ONCE, once, false);
	return 0;
}

/* ---- semaphores: the count where glibc keeps it (the low 32 bits) ---- */

static unsigned *sem_count(sem_t *s)
{
	return (unsigned *)(void *)s;
}

REAL(int, sem_init, sem_t *s, int pshared, unsigned value)
{
	if (!sim_self())
		return __real_sem_init(s, pshared, value);
	memset(s, 0, sizeof *s);
	*sem_count(s) = value;
	return 0;
}

REAL(int, sem_destroy, sem_t *s)
{
	if (!sim_self())
		return __real_sem_destroy(s);
	return 0;
}

static int sem_take(struct sim_thread *self, sem_t *s, bool wait,
                    int64_t deadline, const char *call)
{
	sim_point(self);
	while (*sem_count(s) == 0) {
		if (!wait) {
			errno = EAGAIN;
			return -1;
		}
		if (!sim_block(self, W_SEM, s, call, deadline)) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	(*sem_count(s))--;
	return 0;
}

REAL(int, sem_wait, sem_t *s)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sem_wait(s);
	return sem_take(self, s, true, INT64_MAX, "sem_wait");
}

REAL(int, sem_trywait, sem_t *s)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sem_trywait(s);
	return sem_take(self, s, false, INT64_MAX, "sem_trywait");
}

REAL(int, sem_timedwait, sem_t *s, const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sem_timedwait(s, abs);
	if (!timespec_valid(abs)) {
		errno = EINVAL;
		return -1;
	}
	return sem_take(self, s, true, deadline_on(CLOCK_REALTIME, abs),
	                "sem_timedwait");
}

REAL(int, sem_clockwait, sem_t *s, clockid_t clk, const struct timespec *abs)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sem_clockwait(s, clk, abs);
	if (!timespec_valid(abs) || !clock_known(clk)) {
		errno = EINVAL;
		return -1;
	}
	return sem_take(self, s, true, deadline_on(clk, abs), "sem_clockwait");
}

REAL(int, sem_post, sem_t *s)
{
	struct sim_thread *self = sim_self();
	if (!self)
		return __real_sem_post(s);
	(*sem_count(s))++;
	sim_wake(W_SEM, s, true);
	sim_point(self);
	return 0;
}

REAL(int, sem_getvalue, sem_t *restrict s, int *restrict value)
{
	if (!sim_self())
		return __real_sem_getvalue(s, value);
	*value = (int)*sem_count(s);
	return 0;
}

/* ---- randomness: from the simulation's PRNG ---- */

static void fill_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		uint64_t r = sim_random();
		size_t k = n < sizeof r ? n : sizeof r;
		memcpy(p, &r, k);
		p += k;
		n -= k;
	}
}

REAL(ssize_t, getrandom, void *buf, size_t n, unsigned flags)
{
	if (!sim_self())
		return __real_getrandom(buf, n, flags);
	fill_random(buf, n);
	return (ssize_t)n;
}

REAL(int, getentropy, void *buf, size_t n)
{
	if (!sim_self())
		return __real_getentropy(buf, n);
	if (n > 256) {
		errno = EIO;
		return -1;
	}
	fill_random(buf, n);
	return 0;
}

/* ---- calls that would block outside the scheduler ---- */

static _Noreturn void blocks_outside(const char *call)
{
	sim_trouble(SIM_FAILED,
	            "%s would block outside the simulation's scheduler, and "
	            "with one thread running at a time the test would hang: "
	            "wait with a mutex and condition variable, a semaphore, a "
	            "channel or a sleep instead (README, Simulation mode)",
	            call);
}

REAL(int, poll, struct pollfd *fds, nfds_t n, int timeout)
{
	if (!sim_self() || timeout == 0)
		return __real_poll(fds, n, timeout);
	blocks_outside("poll()");
}

REAL(int, ppoll, struct pollfd *fds, nfds_t n, const struct timespec *t,
     const sigset_t *mask)
{
	if (!sim_self() || (t && t->tv_sec == 0 && t->tv_nsec == 0))
		return __real_ppoll(fds, n, t, mask);
	blocks_outside("ppoll()");
}

REAL(int, select, int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
	if (!sim_self() || (t && t->tv_sec == 0 && t->tv_usec == 0))
		return __real_select(n, r, w, e, t);
	blocks_outside("select()");
}

REAL(int, pselect, int n, fd_set *r, fd_set *w, fd_set *e,
     const struct timespec *t, const sigset_t *mask)
{
	if (!sim_self() || (t && t->tv_sec == 0 && t->tv_nsec == 0))
		return __real_pselect(n, r, w, e, t, mask);
	blocks_outside("pselect()");
}

REAL(int, epoll_wait, int fd, struct epoll_event *ev, int n, int timeout)
{
	if (!sim_self() || timeout == 0)
		return __real_epoll_wait(fd, ev, n, timeout);
	blocks_outside("epoll_wait()");
}

REAL(int, pause, void)
{
	if (!sim_self())
		return __real_pause();
	blocks_outside("pause()");
}

REAL(int, sigwait, const sigset_t *restrict set, int *restrict sig)
{
	if (!sim_self())
		return __real_sigwait(set, sig);
	blocks_outside("sigwait()");
}

REAL(int, sigsuspend, const sigset_t *set)
{
	if (!sim_self())
		return __real_sigsuspend(set);
	blocks_outside("sigsuspend()");
}

REAL(sem_t *, sem_open, const char *name, int oflag, ...)
{
	if (sim_self())
		sim_trouble(SIM_FAILED,
		            "sem_open(\"%s\"): named semaphores are not "
		            "simulated; use sem_init",
		            name);
	/* Outside the simulation: mode and value as sem_open's optional
	 * arguments, when it creates. */
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode_t mode = va_arg(ap, mode_t);
		unsigned value = va_arg(ap, unsigned);
		va_end(ap);
		return __real_sem_open(name, oflag, mode, value);
	}
	return __real_sem_open(name, oflag);
}

/* C11 threads: glibc builds them on its internal pthread calls, which no
 * wrapper sees, so they are refused rather than left to hang. */
REAL(int, thrd_create, void *thr, int (*fn)(void *), void *arg)
{
	if (!sim_self())
		return __real_thrd_create(thr, fn, arg);
	sim_trouble(SIM_FAILED, "thrd_create(): C11 threads are not simulated; "
	                        "use pthreads (raft.h's threads are pthreads)");
}
