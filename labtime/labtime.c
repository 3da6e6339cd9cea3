/*
 * labtime.c: the monotonic clock, sleeps and timed condition waits that all of
 * raftlab uses (see labtime.h).
 */
#include "labtime/labtime.h"

#include <errno.h>
#include <time.h>

int64_t labtime_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t labtime_now_ms(void)
{
	return labtime_now_ns() / 1000000;
}

void labtime_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000,
	                      .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int labtime_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);
	if (err)
		return err;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

int labtime_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mu,
                            int64_t deadline_ns)
{
	struct timespec ts = {
	        .tv_sec = deadline_ns / 1000000000,
	        .tv_nsec = deadline_ns % 1000000000,
	};
	int err = pthread_cond_timedwait(cond, mu, &ts);
	return err == ETIMEDOUT ? ETIMEDOUT : 0;
}
