/*
 * sim_bench.c: what simulation mode's scheduler costs in real time (make
 * SIM=1 bench). Three loops, each on the scheduler and timed with the real
 * clock (the raw system call, which no wrapper sees):
 *   a scheduling point where the caller goes on running (sched_yield alone);
 *   a mutex lock and unlock, uncontended (two points);
 *   a hand-off: two threads pass a semaphore back and forth, so that every
 *     post wakes the other thread and every wait switches to it.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sim/sim.h"

#ifndef RAFTLAB_SIM
int main(void)
{
	fprintf(stderr, "sim_bench measures simulation mode: build it with "
	                "make SIM=1 bench\n");
	return 2;
}
#else

enum { POINTS = 2000000, LOCKS = 1000000, HANDOFFS = 200000 };

static int64_t real_ns(void)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static sem_t ping, pong;

static void *ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < HANDOFFS; i++) {
		sem_wait(&ping);
		sem_post(&pong);
	}
	return NULL;
}

static void report(const char *what, int64_t ns, long n,
                   const struct sim_stats *before,
                   const struct sim_stats *after)
{
	printf("%-40s %8.1f ns  (%" PRIu64 " points, %" PRIu64 " switches)\n",
	       what, (double)ns / (double)n, after->points - before->points,
	       after->switches - before->switches);
}

int main(void)
{
	struct sim_options opt = {.seed = 1, .cpu = -1};
	sim_start(&opt);
	struct sim_stats a, b;

	sim_get_stats(&a);
	int64_t t0 = real_ns();
	for (int i = 0; i < POINTS; i++)
		sched_yield();
	int64_t t1 = real_ns();
	sim_get_stats(&b);
	report("scheduling point, no switch", t1 - t0, POINTS, &a, &b);

	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	sim_get_stats(&a);
	t0 = real_ns();
	for (int i = 0; i < LOCKS; i++) {
		pthread_mutex_lock(&mu);
		pthread_mutex_unlock(&mu);
	}
	t1 = real_ns();
	sim_get_stats(&b);
	report("mutex lock + unlock, uncontended", t1 - t0, LOCKS, &a, &b);

	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, ponger, NULL);
	sim_get_stats(&a);
	t0 = real_ns();
	for (int i = 0; i < HANDOFFS; i++) {
		sem_post(&ping);
		sem_wait(&pong);
	}
	t1 = real_ns();
	sim_get_stats(&b);
	pthread_join(t, NULL);
	report("hand-off to another thread (one way)", t1 - t0, 2L * HANDOFFS,
	       &a, &b);
	sim_stop();
	return 0;
}
#endif
