/*
 * sched.h: the scheduler's side of simulation mode, private to sim/. The
 * wrappers of sim/wrap.c build every pthread, sleep and clock call on these:
 * a thread table in creation order, a baton that exactly one thread holds,
 * scheduling points, blocking on an object with an optional virtual
 * deadline, and waking the threads that wait on an object.
 */
#ifndef RAFTLAB_SIM_SCHED_H
#define RAFTLAB_SIM_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/sim.h"

/* What a blocked thread waits for. */
enum sim_wait {
	W_NONE,    /* runnable */
	W_MUTEX,   /* a mutex to become free */
	W_RWLOCK,  /* a read-write lock to let it in */
	W_SPIN,    /* a spinlock to become free */
	W_COND,    /* a condition variable's signal */
	W_SEM,     /* a semaphore's post */
	W_JOIN,    /* a thread to end */
	W_SLEEP,   /* its deadline */
	W_ONCE,    /* a pthread_once routine to finish */
	W_BARRIER, /* a barrier's other threads */
	W_DONE,    /* ended; its joiner has not reaped it yet */
};

struct sim_thread {
	int id;            /* 0 for the first thread, then in creation order */
	atomic_int tid;    /* the kernel's thread id, for matching backtraces */
	atomic_int go;     /* the baton: set when this thread may run */
	pthread_t pthread; /* 0 for the first thread (never joined) */
	bool detached;

	enum sim_wait wait;
	const void *obj;  /* what it waits on */
	const char *call; /* the call it waits in, for reports */
	int64_t deadline; /* virtual ns; INT64_MAX for none */
	bool timed_out;   /* the last block ended at its deadline */

	uint64_t prio;       /* PCT priority: higher runs first */
	uint64_t run_streak; /* points in a row it was picked */
	uint64_t ready_at;   /* the point at which it last became ready to
	                        run, or last ran */

	void *(*fn)(void *);
	void *arg;
	void *retval;
};

/* The calling thread's entry in the table, or NULL when it does not run
 * under the scheduler (no simulation, a real thread, or suspended). */
struct sim_thread *sim_self(void);

/* Virtual time: nanoseconds since the simulation started. */
int64_t sim_elapsed_ns(void);

/* A scheduling point: charges SIM_POINT_COST_NS and lets the PRNG pick who
 * runs next, possibly the caller again. */
void sim_point(struct sim_thread *self);

/* True while an observer runs (sim_observe): the mutex wrappers then call
 * the sim_observed_* functions instead of scheduling. */
bool sim_observing(void);
/* An observer's mutex calls: take a free mutex at once, or let go of one
 * it took; anything else abandons the observer's sim_observe_try. */
int sim_observed_lock(struct sim_thread *self, pthread_mutex_t *m, bool wait);
int sim_observed_unlock(struct sim_thread *self, pthread_mutex_t *m);

/* Blocks self on obj until sim_wake picks it or, when deadline (virtual
 * elapsed ns) is not INT64_MAX, until then. Returns false when the deadline
 * ended the wait. No scheduling point of its own beyond the switch. */
bool sim_block(struct sim_thread *self, enum sim_wait wait, const void *obj,
               const char *call, int64_t deadline);

/* Makes runnable the threads blocked on (wait, obj): all of them, or one
 * picked by the PRNG when one_only. Returns how many. */
int sim_wake(enum sim_wait wait, const void *obj, bool one_only);

/* A new thread's table entry, runnable, for the wrapper to start (removed
 * with sim_thread_reap when starting it fails). */
struct sim_thread *sim_thread_new(void *(*fn)(void *), void *arg);

/* The start routine of every simulated thread (arg: its sim_thread). */
void *sim_thread_main(void *arg);

/* Ends self (pthread_exit or return): wakes its joiner and hands the baton
 * on, never to take it back. A detached thread's entry is freed. */
void sim_thread_exit(struct sim_thread *self, void *retval);

/* The live thread whose pthread_t is pt, or NULL. */
struct sim_thread *sim_thread_find(pthread_t pt);

/* Removes a thread from the table and frees it: one that ended (after the
 * real pthread_join, or once detached), or one that could not be started. */
void sim_thread_reap(struct sim_thread *t);

/* A thread id (id + 1, 0 for none) as the owner field of a lock. */
static inline int sim_owner_tag(const struct sim_thread *t)
{
	return t->id + 1;
}

/* Reports trouble through the runner's handler; never returns. fmt makes
 * the reason; with SIM_STUCK the thread table is appended as details. */
_Noreturn void sim_trouble(enum sim_trouble kind, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* For the thread table: the owner tag of the mutex a thread waits on. */
int sim_mutex_owner_tag(const void *mutex);

/* The real functions behind the wrappers, for the scheduler's own use. */
int __real_pthread_create(pthread_t *, const pthread_attr_t *,
                          void *(*)(void *), void *);
int __real_pthread_join(pthread_t, void **);
int __real_pthread_detach(pthread_t);
int __real_nanosleep(const struct timespec *, struct timespec *);
int __real_clock_gettime(clockid_t, struct timespec *);

#endif
