/*
 * spin_wait.c: labrpc_spin_wait_sem of spin_wait.h, private to labrpc/: a
 * bounded poll of the semaphore, then sem_wait.
 */
#include "labrpc/spin_wait.h"

#include <errno.h>
#include <sched.h>

#include "sim/sim.h"

/* How many times a waiter polls before sleeping: the first SPIN_PAUSES with
 * a pause instruction in between, the others yielding the CPU. */
enum { SPIN_POLLS = 40, SPIN_PAUSES = 20 };

/* sem_wait, resumed after signals. */
static void sem_wait_intr(sem_t *sem)
{
	while (sem_wait(sem) != 0 && errno == EINTR)
		;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

void labrpc_spin_wait_sem(sem_t *sem)
{
	if (sim_enabled()) { /* one thread at a time: nothing to poll for */
		sem_wait_intr(sem);
		return;
	}
	for (int i = 0; i < SPIN_POLLS; i++) {
		if (sem_trywait(sem) == 0)
			return;
		if (i < SPIN_PAUSES)
			cpu_relax();
		else
			sched_yield();
	}
	sem_wait_intr(sem);
}
