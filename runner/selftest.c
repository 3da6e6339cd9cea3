/*
 * selftest.c: runner_selftest, a test program whose tests misbehave on
 * purpose, one way each (a failed assertion, runner_fatalf, a crash, a hang,
 * an early exit, a leak, a data race), so runner/selftest.sh can check that
 * the runner reports every one of them as it should. Not part of any
 * graded suite: most of these tests are meant to fail.
 */
#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/runner.h"

#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED 1
#endif
#endif
#ifndef LEAK_CHECKED
#define LEAK_CHECKED 0
#endif

#if defined(__SANITIZE_THREAD__)
#define RACE_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RACE_CHECKED 1
#endif
#endif
#ifndef RACE_CHECKED
#define RACE_CHECKED 0
#endif

static void test_pass(void)
{
	printf("Test: passing ...\n");
	CU_ASSERT_EQUAL(1 + 1, 2);
	CU_ASSERT_STRING_EQUAL("raft", "raft");
	printf("  ... Passed\n");
}

static void test_assert_fails(void)
{
	printf("Test: a failing assertion ...\n");
	CU_ASSERT_EQUAL(1 + 1, 3); /* line checked by selftest.sh */
	printf("after the assertion\n");
}

static void test_fatal(void)
{
	printf("Test: runner_fatalf ...\n");
	printf("a line cut short"); /* the report must start on a new line */
	runner_fatalf("expected one leader, got %d", 0); /* line checked too */
}

/* A message of several lines, with a tab and a backslash: -results keeps
 * it whole. */
static void test_long_message(void)
{
	runner_fatalf("get wrong value, key 0, wanted:\nx\ty\\z\nbut got:\n");
}

static void test_crash(void)
{
	printf("Test: a crash ...\n");
	fflush(stdout);
	abort();
}

/* A NULL write in a thread the test starts: the report must name
 * write_through_null and this file's line. */
static int *volatile null_target;

static void *write_through_null(void *arg)
{
	(void)arg;
	*null_target = 1; /* line checked by selftest.sh */
	return NULL;
}

static void test_segfault(void)
{
	printf("Test: a segmentation fault ...\n");
#ifdef RAFTLAB_SANITIZER
	printf("sanitizer_reports_crashes=1\n"); /* its report, not ours */
#endif
	fflush(stdout);
	pthread_t t;
	pthread_create(&t, NULL, write_through_null, NULL);
	pthread_join(t, NULL);
}

static pthread_mutex_t hang_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hang_cond = PTHREAD_COND_INITIALIZER;

/* Waits on cond, with hang_mu held, for a signal that never comes: a
 * helper, so that a hang report names its caller too. */
static void wait_for_signal(pthread_cond_t *cond)
{
	for (;;)
		pthread_cond_wait(cond, &hang_mu);
}

static void *hang_helper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&hang_mu);
	wait_for_signal(&hang_cond);
	pthread_mutex_unlock(&hang_mu);
	return NULL;
}

static void test_hang(void)
{
	printf("pid=%d\n", (int)getpid());
	for (int i = 1; i <= 50; i++)
		printf("tick %d\n", i);
	pthread_t t;
	if (pthread_create(&t, NULL, hang_helper, NULL) != 0)
		runner_fatalf("pthread_create failed");
	pthread_join(t, NULL); /* forever: the watchdog ends this */
}

static void test_seed(void)
{
	const char *env = getenv("RAFTLAB_SEED");
	printf("runner_seed=0x%" PRIx64 " RAFTLAB_SEED=%s\n", runner_seed(),
	       env ? env : "(unset)");
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	CU_ASSERT_EQUAL(strtoull(env, NULL, 0), runner_seed());
}

/* Fails for odd seeds when $RAFTLAB_FLAKY is set: a stand-in for a test
 * that fails only for some random choices, to replay from its seed. */
static void test_flaky(void)
{
	if (getenv("RAFTLAB_FLAKY") && runner_seed() % 2 == 1)
		runner_fatalf("odd seed 0x%" PRIx64, runner_seed());
}

static void test_early_exit(void)
{
	printf("calling exit(0) in the middle of the test\n");
	exit(0);
}

static void test_leak(void)
{
	char *p = malloc(100);
	if (!p)
		runner_fatalf("out of memory");
	strcpy(p, "never freed");
	printf("leak_checked=%d %p\n", LEAK_CHECKED, (void *)p);
	p = NULL;
}

/* Two threads write one plain int with no lock: ThreadSanitizer must report
 * it, and the runner must fail the test. */
static int racy;

static void *race_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		racy++;
	return NULL;
}

static void test_data_race(void)
{
	pthread_t a, b;
	if (pthread_create(&a, NULL, race_writer, NULL) != 0 ||
	    pthread_create(&b, NULL, race_writer, NULL) != 0)
		runner_fatalf("pthread_create failed");
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("race_checked=%d racy=%d\n", RACE_CHECKED, racy);
}

static void test_time_scale(void)
{
	printf("time_scale=%g\n", runner_time_scale());
}

static const struct runner_test tests[] = {
        {"TestPass", test_pass, 0},
        {"TestAssertFails", test_assert_fails, 0},
        {"TestFatal", test_fatal, 0},
        {"TestCrash", test_crash, 0},
        {"TestHang", test_hang, 2},
        {"TestFlaky", test_flaky, 0},
        {"TestEarlyExit", test_early_exit, 0},
        {"TestLeak", test_leak, 0},
        {"TestTimeScale", test_time_scale, 0},
        {"TestDataRace", test_data_race, 0},
        {"TestSegfault", test_segfault, 0},
        {"TestLongMessage", test_long_message, 0},
        /* beyond Go, for -go-only to leave out */
        {"TestSeed", test_seed, 0},
};

int main(int argc, char **argv)
{
	size_t ntests = sizeof tests / sizeof tests[0];
	return runner_main_beyond_go(argc, argv, "selftest", tests, ntests,
	                             ntests - 1);
}
