// SPDX-License-Identifier: MIT
/*
 * The purger: a thread that gives memory back to the OS once it has been
 * unused for HAKMEM_DECAY_MS, when the program itself makes no allocator
 * call that would do it (a server between requests, a tool waiting for
 * input, memory left behind by exited threads).
 *
 * It is needed once the process has mapped a second SuperSlab or a large
 * block (hk_purge_need()), and then started by the next slow path of
 * malloc (hk_purge_start()).  Never by free(): glibc calls free() with
 * locks of its own held that pthread_create() takes, the stack cache's
 * in pthread_join() for one, and a free() that started a thread there
 * would hang for good.  Small processes never start it.  It sleeps until
 * memory is left to decay (hk_purge_kick(), from malloc or free, which
 * only wakes it); while anything is left to purge it wakes every half
 * delay; once everything has decayed it sleeps again, so an idle process
 * has no wakeups.  It runs at normal priority: a SCHED_IDLE thread would
 * never run on a busy machine, and a process cannot finish exiting until
 * each of its threads has run once more.
 *
 * Both requests come through flags that any layer may set without a lock;
 * the API layer passes them on where it holds no hakmem lock.  The thread
 * is a helper (helper.c): it may be stopped at any wait and started again,
 * and keeps any request it had for the next start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "internal.h"

pthread_mutex_t hk_purge_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t requested_cond = PTHREAD_COND_INITIALIZER;
/* Something was left to decay since the last pass began; guarded by hk_purge_lock. */
static bool requested;

/* One pass over everything that decays; true if something is left for later. */
static bool purge_pass(void)
{
	bool left = hk_heaps_decay();

	left |= hk_superslab_cache_decay();
	left |= hk_large_cache_decay();
	return left;
}

/* Wait @ms with hk_purge_lock held; false if told to stop meanwhile. */
static bool wait_ms(struct hk_helper *h, uint64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!hk_helper_stopping(h)) {
		if (pthread_cond_clockwait(&requested_cond, &hk_purge_lock, CLOCK_MONOTONIC,
					   &until) == ETIMEDOUT)
			return true;
	}
	return false;
}

/*
 * Wait for a request, then pass every half delay until nothing is left.
 * A request that comes during a pass, or is interrupted by a stop, is
 * kept for the next round, or the next start.
 */
static void purger_run(struct hk_helper *h)
{
	bool left;

	pthread_mutex_lock(&hk_purge_lock);
	while (!hk_helper_stopping(h)) {
		if (!requested) {
			pthread_cond_wait(&requested_cond, &hk_purge_lock);
			continue;
		}
		if (!wait_ms(h, hk_options.decay_ms / 2 + 1))
			break;
		requested = false;
		pthread_mutex_unlock(&hk_purge_lock);
		left = purge_pass();
		pthread_mutex_lock(&hk_purge_lock);
		requested |= left;
	}
	pthread_mutex_unlock(&hk_purge_lock);
}

static void purger_wake(void)
{
	pthread_mutex_lock(&hk_purge_lock);
	pthread_cond_broadcast(&requested_cond);
	pthread_mutex_unlock(&hk_purge_lock);
}

static struct hk_helper purger = {
	.name	= "hakmem-purge",
	.run	= purger_run,
	.wake	= purger_wake,
};

/*
 * From malloc's slow paths, with no lock held: start the purger if it is
 * needed and not started.  One attempt per process: if pthread_create()
 * fails, memory decays on the program's own slow paths only, until a
 * fork's child tries again.
 */
void hk_purge_start(void)
{
	int needed = HK_PURGE_NEEDED;

	/*
	 * Not from a thread without a heap: one that is exiting would take
	 * back the heap it has just pooled when pthread_create() allocates.
	 */
	if (hk_heap_self() == &hk_heap_empty ||
	    !atomic_compare_exchange_strong_explicit(&hk_purge_state, &needed, HK_PURGE_STARTED,
						     memory_order_relaxed, memory_order_relaxed))
		return;
	hk_helper_start(&purger);
}

/* Memory was left to decay: wake the purger, or have it begin with a pass. */
void hk_purge_kick(void)
{
	atomic_store_explicit(&hk_purge_wanted, false, memory_order_relaxed);
	pthread_mutex_lock(&hk_purge_lock);
	requested = true;
	pthread_cond_signal(&requested_cond);
	pthread_mutex_unlock(&hk_purge_lock);
}

/* A fork child has no purger: if the parent had one, its next slow path starts one. */
void hk_purge_fork_child(void)
{
	pthread_cond_init(&requested_cond, NULL);
	if (atomic_load_explicit(&hk_purge_state, memory_order_relaxed) == HK_PURGE_STARTED) {
		atomic_store_explicit(&hk_purge_state, HK_PURGE_NEEDED, memory_order_relaxed);
		requested = true;
	}
}
