/*
 * sim_trouble.c: code that simulation mode must stop and explain, for
 * tests/unit/sim_trouble_test.sh (make SIM=1 selftest). Every test but the
 * first fails on purpose: a busy loop, a deadlock, a thread locking its own
 * mutex, unlocking a mutex nobody holds, a call that blocks outside the
 * scheduler, and a test that outlives its limit in virtual time. The script
 * checks each message.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "runner/runner.h"

static void TestFine(void)
{
	sleep(2); /* two virtual seconds, at once */
	printf("slept\n");
}

static atomic_int flag;

static void *set_flag(void *arg)
{
	(void)arg;
	atomic_store(&flag, 1);
	return NULL;
}

/* Waits for a flag with no scheduling point: the thread that would set it
 * never gets to run. */
static void TestBusyLoop(void)
{
	pthread_t t;
	pthread_create(&t, NULL, set_flag, NULL);
	atomic_store(&flag, 0);
	while (atomic_load_explicit(&flag, memory_order_relaxed) == 0)
		;
	pthread_join(t, NULL);
}

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

static void *lock_b_then_a(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&b);
	usleep(1000);
	pthread_mutex_lock(&a);
	return NULL;
}

/* Two threads take two locks in opposite orders. */
static void TestDeadlock(void)
{
	pthread_t t;
	pthread_create(&t, NULL, lock_b_then_a, NULL);
	pthread_mutex_lock(&a);
	usleep(1000);
	pthread_mutex_lock(&b);
	pthread_join(t, NULL);
}

static void TestSelfLock(void)
{
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&a);
}

static void TestUnlockNotHeld(void)
{
	pthread_mutex_unlock(&b);
}

static void TestPoll(void)
{
	poll(NULL, 0, 1000);
}

/* Sleeps past its 5 s limit, one virtual second at a time. */
static void TestVirtualTimeout(void)
{
	for (int i = 0; i < 10; i++)
		sleep(1);
}

static const struct runner_test tests[] = {
        {"TestFine", TestFine, 0},
        {"TestBusyLoop", TestBusyLoop, 0},
        {"TestDeadlock", TestDeadlock, 0},
        {"TestSelfLock", TestSelfLock, 0},
        {"TestUnlockNotHeld", TestUnlockNotHeld, 0},
        {"TestPoll", TestPoll, 0},
        {"TestVirtualTimeout", TestVirtualTimeout, 5},
};

int main(int argc, char **argv)
{
	return runner_main(argc, argv, "sim_trouble", tests,
	                   sizeof tests / sizeof tests[0]);
}
