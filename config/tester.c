/*
 * tester.c: the core of both testers (tester.h): failures, waits, the
 * tester's randomness and a test's time limit. Everything here is what
 * raft_config.c and kv_config.c would otherwise each have a copy of.
 */
#include "config/tester.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labtime/labtime.h"
#include "rlog/rlog.h"
#include "runner/runner.h"

static const char base64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void tester_init(struct tester *t, uint64_t rng_seed)
{
	memset(t, 0, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	labtime_cond_init(&t->changed);
	t->test_thread = pthread_self();
	prng_seed(&t->rng, rng_seed);
	t->start_ns = labtime_now_ns();
}

void *tester_calloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	if (p == NULL) {
		fputs("tester: out of memory\n", stderr);
		abort();
	}
	return p;
}

bool tester_on_test_thread(const struct tester *t)
{
	return pthread_equal(pthread_self(), t->test_thread);
}

/* ---- failures ---- */

void tester_record_failure(struct tester *t, const char *file, int line,
                           const char *msg)
{
	pthread_mutex_lock(&t->mu);
	if (!t->failed) {
		t->failed = true;
		snprintf(t->fail_msg, sizeof t->fail_msg, "%s", msg);
		t->fail_file = file;
		t->fail_line = line;
		pthread_cond_broadcast(&t->changed);
	}
	pthread_mutex_unlock(&t->mu);
}

void tester_fail(struct tester *t, const char *file, int line, const char *msg)
{
	rlog(RLOG_TEST, -1, -1, "FAIL %s:%d: %s", file, line, msg);
	if (tester_on_test_thread(t))
		runner_fail_at(file, line, "%s", msg);
	tester_record_failure(t, file, line, msg);
}

bool tester_check_failure(struct tester *t)
{
	pthread_mutex_lock(&t->mu);
	bool failed = t->failed;
	pthread_mutex_unlock(&t->mu);
	if (failed && tester_on_test_thread(t))
		runner_fail_at(t->fail_file, t->fail_line, "%s", t->fail_msg);
	return failed;
}

/* ---- waiting ---- */

bool tester_wait(struct tester *t, bool (*done)(void *arg), void *arg,
                 int64_t timeout_ms)
{
	int64_t deadline = labtime_now_ns() + timeout_ms * 1000000;
	pthread_mutex_lock(&t->mu);
	bool ok;
	while (!(ok = done(arg)) && !t->failed) {
		if (timeout_ms < 0)
			pthread_cond_wait(&t->changed, &t->mu);
		else if (labtime_now_ns() >= deadline)
			break;
		else
			labtime_cond_wait_until(&t->changed, &t->mu, deadline);
	}
	pthread_mutex_unlock(&t->mu);
	tester_check_failure(t);
	return ok;
}

void tester_notify(struct tester *t)
{
	pthread_mutex_lock(&t->mu);
	pthread_cond_broadcast(&t->changed);
	pthread_mutex_unlock(&t->mu);
}

bool tester_sleep_ms(struct tester *t, int64_t ms)
{
	int64_t deadline = labtime_now_ns() + ms * 1000000;
	pthread_mutex_lock(&t->mu);
	while (!t->failed && labtime_now_ns() < deadline)
		labtime_cond_wait_until(&t->changed, &t->mu, deadline);
	pthread_mutex_unlock(&t->mu);
	return tester_check_failure(t);
}

/* ---- randomness ---- */

int64_t tester_rand(struct tester *t)
{
	pthread_mutex_lock(&t->mu);
	int64_t x = prng_int63(&t->rng);
	pthread_mutex_unlock(&t->mu);
	return x;
}

void tester_randstring_locked(struct tester *t, char *s, int n)
{
	for (int k = 0; k < n; k++)
		s[k] = base64url[prng_below(&t->rng, 64)];
	s[n] = '\0';
}

char *tester_randstring(struct tester *t, int n)
{
	char *s = tester_calloc((size_t)n + 1, 1);
	pthread_mutex_lock(&t->mu);
	tester_randstring_locked(t, s, n);
	pthread_mutex_unlock(&t->mu);
	return s;
}

/* ---- the end of a test ---- */

bool tester_over_limit(const struct tester *t, int limit_s)
{
	double limit = limit_s * 1e9 * runner_time_scale();
	return (double)(labtime_now_ns() - t->start_ns) > limit;
}

void tester_end(struct tester *t, int limit_s, struct tester_outcome *out)
{
	out->over_limit = tester_over_limit(t, limit_s);
	out->limit_s = limit_s;
	out->failed = t->failed;
	out->fail_file = t->fail_file;
	out->fail_line = t->fail_line;
	memcpy(out->fail_msg, t->fail_msg, sizeof out->fail_msg);
	pthread_cond_destroy(&t->changed);
	pthread_mutex_destroy(&t->mu);
}

void tester_report(const struct tester_outcome *o)
{
	if (o->failed)
		runner_fail_at(o->fail_file, o->fail_line, "%s", o->fail_msg);
	if (o->over_limit)
		runner_fatalf("test took longer than %d seconds", o->limit_s);
}
