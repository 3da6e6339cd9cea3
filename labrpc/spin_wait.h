/*
 * spin_wait.h: waiting on a semaphore that is usually posted within
 * microseconds (a caller's reply, an idle handler thread's next job): poll
 * it first, then sleep. Private to labrpc/: nothing outside it includes
 * this header.
 */
#ifndef RAFTLAB_LABRPC_SPIN_WAIT_H
#define RAFTLAB_LABRPC_SPIN_WAIT_H

#include <semaphore.h>

/*
 * sem_wait, but first polls the semaphore for a few microseconds. A post
 * that comes within them costs no sleep and no wake-up, each of which takes
 * the kernel several microseconds; one that takes longer costs the poll on
 * top of the sleep. Between most polls the thread yields its CPU, so that a
 * poller never keeps a thread with work to do (such as the one it waits
 * for) from running. In simulation mode it just waits. Resumes after
 * signals.
 */
void labrpc_spin_wait_sem(sem_t *sem);

#endif
