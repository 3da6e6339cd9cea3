/*
 * labtime: the one clock of raftlab. Every timestamp, sleep and timed wait in
 * the framework and the labs goes through here, on CLOCK_MONOTONIC, so wall
 * clock jumps never move a deadline.
 */
#ifndef RAFTLAB_LABTIME_H
#define RAFTLAB_LABTIME_H

#include <pthread.h>
#include <stdint.h>

/* Nanoseconds / milliseconds since an arbitrary fixed point (monotonic). */
int64_t labtime_now_ns(void);
int64_t labtime_now_ms(void);

/* Sleeps for ms milliseconds (restarting after signals). ms <= 0 returns. */
void labtime_sleep_ms(int64_t ms);

/* Initialises a condition variable that waits on the monotonic clock. Every
 * condition variable used with labtime_cond_wait_until must be made here. */
int labtime_cond_init(pthread_cond_t *cond);

/* Waits on cond (mu held) until signalled or until deadline_ns (a value of
 * labtime_now_ns). Returns 0 when woken, ETIMEDOUT when the deadline passed.
 * Spurious wake-ups return 0: callers re-check their predicate. */
int labtime_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
                            int64_t deadline_ns);

#endif
