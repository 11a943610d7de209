// SPDX-License-Identifier: MIT
/*
 * The purger: a thread that gives memory back to the OS once it has been
 * unused for HAKMEM_DECAY_MS, when the program itself makes no allocator
 * call that would do it (a server between requests, a tool waiting for
 * input, memory left behind by exited threads).
 *
 * It starts the first time memory is left to decay in quantity: a whole
 * SuperSlab or a large mapping freed, free pages in a heap of more than one
 * SuperSlab, an exited thread's heap with memory.  Small processes never
 * start it.  While anything is left to purge it wakes every half delay;
 * once everything has decayed it sleeps until the next request, so an idle
 * process has no wakeups.  It runs at normal priority: a SCHED_IDLE thread
 * would never run on a busy machine, and a process cannot finish exiting
 * until each of its threads has run once more.
 *
 * Requests come through hk_purge_wanted, which any layer may set without a
 * lock; the API layer calls hk_purge_kick() when it sees it, with no hakmem
 * lock held, because pthread_create() calls malloc.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "internal.h"

_Atomic bool hk_purge_wanted;

pthread_mutex_t hk_purge_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t requested_cond = PTHREAD_COND_INITIALIZER;
/*
 * All guarded by hk_purge_lock, which is last in the lock order: nothing
 * that may call malloc (pthread_create() does) runs while it is held.
 */
static bool requested;		/* something was left to decay since the last pass began */
static bool starting;		/* a thread is between deciding to start it and pthread_create() */
static bool running;		/* the thread exists */
static bool unavailable;	/* pthread_create failed: give up until the next fork */

static void sleep_ms(uint64_t ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0)
		;
}

/* One pass over everything that decays; true if something is left for later. */
static bool purge_pass(void)
{
	bool left = hk_heaps_decay();

	left |= hk_superslab_cache_decay();
	left |= hk_large_cache_decay();
	return left;
}

static void *purger_main(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&hk_purge_lock);
		while (!requested)
			pthread_cond_wait(&requested_cond, &hk_purge_lock);
		requested = false;
		pthread_mutex_unlock(&hk_purge_lock);

		do
			sleep_ms(hk_options.decay_ms / 2 + 1);
		while (purge_pass());
	}
	return NULL;
}

/* Start the thread with every signal blocked: signals are the program's business. */
static bool start_thread(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;
	bool started;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	started = pthread_create(&thread, &attr, purger_main, NULL) == 0;
	if (started)
		pthread_setname_np(thread, "hakmem-purge");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return started;
}

void hk_purge_kick(void)
{
	bool start = false, started;

	/*
	 * Not from a thread without a heap: one that is exiting would take
	 * back the heap it has just pooled when pthread_create() allocates.
	 */
	if (hk_heap_self() == &hk_heap_empty)
		return;

	atomic_store_explicit(&hk_purge_wanted, false, memory_order_relaxed);
	pthread_mutex_lock(&hk_purge_lock);
	requested = true;
	if (running)
		pthread_cond_signal(&requested_cond);
	else if (!starting && !unavailable)
		start = starting = true;
	pthread_mutex_unlock(&hk_purge_lock);
	if (!start)
		return;

	started = start_thread();
	pthread_mutex_lock(&hk_purge_lock);
	starting = false;
	running = started;
	unavailable = !started;
	pthread_mutex_unlock(&hk_purge_lock);
}

/* A fork child has no purger; its first request starts one. */
void hk_purge_fork_child(void)
{
	pthread_cond_init(&requested_cond, NULL);
	starting = false;
	running = false;
	unavailable = false;
	requested = false;
}
