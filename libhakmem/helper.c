// SPDX-License-Identifier: MIT
/*
 * Helper threads: the threads hakmem runs of its own (the purger, the
 * populate backing's stocker), started and stopped in one place so that
 * none of them changes what the program can do.
 *
 *  - A helper blocks every signal: signals are the program's business, and
 *    a process-directed one must reach a thread of the program's choosing.
 *  - Starting one leaves errno alone, as a malloc that succeeded does.
 *  - The kernel allows some calls only in a single-threaded process:
 *    unshare(CLONE_NEWUSER), setns() into a user or mount namespace, and
 *    others.  The API layer wraps those in hk_helpers_pause() and
 *    hk_helpers_resume(), which stop every running helper until the kernel
 *    has let go of it, and start it again afterwards.
 *
 * Only the process a helper runs in stops it: a vfork() child shares its
 * state, not its thread, and the kernel does not count it there.
 *
 * A helper's run() returns once hk_helper_stopping() says so; its wake()
 * gets it out of whatever wait it is in.  Helpers register themselves when
 * first started; the list is short and only grows.  @lock guards the list
 * and each helper's state; it is held across pthread_create() (which may
 * call malloc, whose slow paths may ask for a helper that is already
 * starting: hk_helper_start() is never reached again from there) and
 * across a pause, which waits for run() to return.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

enum { HELPER_IDLE, HELPER_RUNNING, HELPER_STOPPING, HELPER_PAUSED };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct hk_helper *helpers;	/* every helper ever started */

static void *helper_main(void *arg)
{
	struct hk_helper *h = arg;

	atomic_store_explicit(&h->tid, (pid_t)syscall(SYS_gettid), memory_order_relaxed);
	h->run(h);
	return NULL;
}

/* Start @h's thread; @lock is held.  False if the thread could not be made. */
static bool spawn(struct hk_helper *h)
{
	int saved_errno = errno;
	sigset_t all, old;
	pthread_attr_t attr;
	bool ok;

	h->pid = getpid();
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, HK_HELPER_STACK);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store_explicit(&h->state, HELPER_RUNNING, memory_order_relaxed);
	ok = pthread_create(&h->thread, &attr, helper_main, h) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ok)
		pthread_setname_np(h->thread, h->name);
	else
		atomic_store_explicit(&h->state, HELPER_IDLE, memory_order_relaxed);
	errno = saved_errno;
	return ok;
}

bool hk_helper_start(struct hk_helper *h)
{
	bool ok = false;

	pthread_mutex_lock(&lock);
	if (!h->registered) {
		h->registered = true;
		h->next = helpers;
		helpers = h;
	}
	if (atomic_load_explicit(&h->state, memory_order_relaxed) == HELPER_IDLE)
		ok = spawn(h);
	pthread_mutex_unlock(&lock);
	return ok;
}

bool hk_helper_stopping(const struct hk_helper *h)
{
	return atomic_load_explicit(&h->state, memory_order_acquire) == HELPER_STOPPING;
}

/*
 * pthread_join() returns once the thread has released its stack, a little
 * before the kernel takes it out of the thread group: wait for that too,
 * or the call that wants a single thread could still see two.
 */
static void wait_gone(pid_t tid)
{
	struct timespec pause = { 0, 50 * 1000 };

	while (syscall(SYS_tgkill, getpid(), tid, 0) == 0)
		nanosleep(&pause, NULL);
}

void hk_helpers_pause(void)
{
	int saved_errno = errno;

	pthread_mutex_lock(&lock);
	for (struct hk_helper *h = helpers; h; h = h->next) {
		/* A vfork() child shares the helper but not the thread: leave it. */
		if (atomic_load_explicit(&h->state, memory_order_relaxed) != HELPER_RUNNING ||
		    h->pid != getpid())
			continue;
		atomic_store_explicit(&h->state, HELPER_STOPPING, memory_order_release);
		h->wake();
		pthread_join(h->thread, NULL);
		wait_gone(atomic_load_explicit(&h->tid, memory_order_relaxed));
		atomic_store_explicit(&h->state, HELPER_PAUSED, memory_order_relaxed);
	}
	pthread_mutex_unlock(&lock);
	errno = saved_errno;
}

void hk_helpers_resume(void)
{
	pthread_mutex_lock(&lock);
	for (struct hk_helper *h = helpers; h; h = h->next) {
		if (atomic_load_explicit(&h->state, memory_order_relaxed) == HELPER_PAUSED)
			spawn(h);
	}
	pthread_mutex_unlock(&lock);
}

/* A fork child has no helper thread; its owners start them again when needed. */
void hk_helpers_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	for (struct hk_helper *h = helpers; h; h = h->next)
		atomic_store_explicit(&h->state, HELPER_IDLE, memory_order_relaxed);
}
