/*
 * pool.c: the handler threads of pool.h, private to labrpc/. Each worker
 * sleeps on its own semaphore while idle, so that waking it costs one
 * system call and it needs no lock to wait.
 */
#include "labrpc/pool.h"

#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labrpc/spin_wait.h"

struct pool_worker {
	struct pool *pool;
	pthread_t thread;
	sem_t wake; /* posted once each time it leaves the idle stack */
	struct pool_worker *next; /* the idle stack, then a wake list */
};

/* Process-fatal, like the rest of labrpc's errors. */
static _Noreturn void fatal(const char *what, const char *why)
{
	fflush(stdout);
	fprintf(stderr, "labrpc: %s%s%s\n", what, why ? ": " : "",
	        why ? why : "");
	fflush(stderr);
	_exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size ? size : 1);
	if (!p)
		fatal("out of memory", NULL);
	return p;
}

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p)
		fatal("out of memory", NULL);
	return p;
}

void labrpc_pool_init(struct pool *p, pthread_mutex_t *mu, void *owner,
                      bool (*keep)(void *owner, struct pool_job *job),
                      void (*run)(void *owner, struct pool_job *job))
{
	memset(p, 0, sizeof *p);
	p->mu = mu;
	p->owner = owner;
	p->keep = keep;
	p->run = run;
}

/* The next job to run, or NULL. */
static struct pool_job *job_take(struct pool *p)
{
	struct pool_job *job;
	while ((job = p->head) != NULL) {
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		p->njobs--;
		if (p->keep(p->owner, job))
			return job;
	}
	return NULL;
}

/*
 * A worker runs jobs until the queue is empty, then goes on the idle stack
 * and sleeps until labrpc_pool_push takes it off (or labrpc_pool_stop does).
 * There are always at least as many workers waking (woken or just started, and
 * not yet at the queue) as jobs queued, and every worker looks at the queue
 * before it goes idle, so no job waits for a busy worker's job.
 */
static void *worker_main(void *arg)
{
	struct pool_worker *self = arg;
	struct pool *p = self->pool;
	bool waking = true; /* started, or woken from the idle stack */
	for (;;) {
		pthread_mutex_lock(p->mu);
		if (waking)
			p->waking--;
		waking = false;
		struct pool_job *job = job_take(p);
		if (!job) {
			bool stopping = p->stopping;
			if (!stopping) {
				self->next = p->idle;
				p->idle = self;
			}
			pthread_mutex_unlock(p->mu);
			if (stopping)
				break;
			labrpc_spin_wait_sem(&self->wake);
			waking = true;
			continue;
		}
		pthread_mutex_unlock(p->mu);
		p->run(p->owner, job);
	}
	return NULL;
}

static void pool_spawn(struct pool *p)
{
	if (p->nworkers == p->workers_cap) {
		p->workers_cap = p->workers_cap ? 2 * p->workers_cap : 8;
		p->workers = xrealloc(p->workers, (size_t)p->workers_cap *
		                                          sizeof *p->workers);
	}
	struct pool_worker *wk = xcalloc(1, sizeof *wk);
	wk->pool = p;
	sem_init(&wk->wake, 0, 0);
	int err = pthread_create(&wk->thread, NULL, worker_main, wk);
	if (err)
		fatal("cannot start a handler thread", strerror(err));
	p->workers[p->nworkers++] = wk;
	p->waking++;
}

void labrpc_pool_push(struct pool *p, struct pool_job *job,
                      struct pool_worker **wake)
{
	job->next = NULL;
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	if (++p->njobs > p->waking) {
		struct pool_worker *wk = p->idle;
		if (wk) {
			p->idle = wk->next;
			wk->next = *wake;
			*wake = wk;
			p->waking++;
		} else {
			pool_spawn(p);
		}
	}
}

void labrpc_pool_stop(struct pool *p, struct pool_worker **wake)
{
	p->stopping = true;
	while (p->idle) { /* every idle worker wakes, and exits */
		struct pool_worker *wk = p->idle;
		p->idle = wk->next;
		wk->next = *wake;
		*wake = wk;
		p->waking++;
	}
}

void labrpc_pool_wake(struct pool_worker **wake)
{
	while (*wake) {
		struct pool_worker *wk = *wake;
		*wake = wk->next;
		sem_post(&wk->wake);
	}
}

void labrpc_pool_join(struct pool *p)
{
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i]->thread, NULL);
}

void labrpc_pool_destroy(struct pool *p)
{
	for (int i = 0; i < p->nworkers; i++) {
		sem_destroy(&p->workers[i]->wake);
		free(p->workers[i]);
	}
	free(p->workers);
	p->workers = NULL;
	p->nworkers = p->workers_cap = 0;
}
