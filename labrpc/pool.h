/*
 * pool.h: labrpc's handler threads, a FIFO of intrusive jobs run by worker
 * threads that start only when no worker is idle and live until the pool
 * stops. Private to labrpc/: nothing outside it includes this header. Not a
 * general thread pool: its owner's lock guards it, and the owner makes the
 * wake-ups after unlocking (labrpc_pool_wake).
 */
#ifndef RAFTLAB_LABRPC_POOL_H
#define RAFTLAB_LABRPC_POOL_H

#include <pthread.h>
#include <stdbool.h>

/* Embedded in the object a job runs for. */
struct pool_job {
	struct pool_job *next; /* the queue */
};

struct pool_worker;

struct pool {
	pthread_mutex_t *mu; /* the owner's lock: guards everything below */
	void *owner;
	/* Called with mu held as a job leaves the queue: true runs it, false
	 * skips it (and disposes of it). */
	bool (*keep)(void *owner, struct pool_job *job);
	/* Runs a job on a worker, without mu. */
	void (*run)(void *owner, struct pool_job *job);
	bool stopping; /* labrpc_pool_stop has been called: workers exit */

	struct pool_job *head, *tail;
	int njobs;
	/* Workers woken or started that have not looked at the jobs yet. */
	int waking;
	struct pool_worker *
	        *workers; /* every worker, until labrpc_pool_destroy */
	int nworkers, workers_cap;
	struct pool_worker *idle; /* a stack: the most recently busy first */
};

/* Unless they say otherwise, the functions below run with mu held. */

/* An empty pool, with no thread, whose callbacks get owner. Needs no lock. */
void labrpc_pool_init(struct pool *p, pthread_mutex_t *mu, void *owner,
                      bool (*keep)(void *owner, struct pool_job *job),
                      void (*run)(void *owner, struct pool_job *job));

/* Queues job and, unless enough workers are already on their way to the
 * queue, puts an idle worker on *wake or, if none is idle, starts one. */
void labrpc_pool_push(struct pool *p, struct pool_job *job,
                      struct pool_worker **wake);

/* Stops the pool: every idle worker goes on *wake, and every worker exits
 * once it finds the queue empty. */
void labrpc_pool_stop(struct pool *p, struct pool_worker **wake);

/* Wakes the workers on *wake and empties it; without mu. */
void labrpc_pool_wake(struct pool_worker **wake);

/* Joins every worker, after labrpc_pool_stop; without mu. */
void labrpc_pool_join(struct pool *p);

/* Frees the workers, after labrpc_pool_join. Needs no lock. */
void labrpc_pool_destroy(struct pool *p);

#endif
