// SPDX-License-Identifier: MIT
/*
 * Process set-up: options from the environment, the free-tag key, the
 * thread-exit hook and the fork handlers.
 *
 * malloc can be called before any constructor runs (by ld.so or by other
 * libraries' constructors), so set-up also runs lazily from the first slow
 * path.  Everything malloc itself needs is in place before the steps that
 * may call back into malloc (pthread_atfork may allocate, so may a message
 * about a bad option).
 *
 * A fork may come while another thread is in set-up (when the library is
 * dlopen()ed into a threaded program).  From the moment the fork handlers
 * are registered, fork_prepare() waits for set-up to finish.  A fork before
 * that leaves a child in which the thread running set-up does not exist;
 * the child finds its parent's pid in init_state and runs set-up itself.
 * Everything done before the handlers are registered may be done twice.
 */
#include <unistd.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "internal.h"

/* INIT_NONE, INIT_DONE, or the pid of the process in which set-up is running. */
enum { INIT_NONE = 0, INIT_DONE = -1 };
static _Atomic pid_t init_state;
static __thread bool init_in_progress;

/* Every process-wide lock, in nesting order. */
static pthread_mutex_t *const fork_locks[] = {
	&hk_heaps_lock, &hk_cache_lock, &hk_backing_lock, &hk_large_lock, &hk_purge_lock,
};
#define FORK_LOCKS (sizeof(fork_locks) / sizeof(fork_locks[0]))

static void fork_prepare(void)
{
	/* Set-up is the one thing that does not hold a lock while it works. */
	while (atomic_load_explicit(&init_state, memory_order_acquire) != INIT_DONE)
		sched_yield();
	for (size_t i = 0; i < FORK_LOCKS; i++)
		pthread_mutex_lock(fork_locks[i]);
}

static void fork_parent(void)
{
	for (size_t i = FORK_LOCKS; i-- > 0;)
		pthread_mutex_unlock(fork_locks[i]);
}

/*
 * The child releases the locks too.  The heaps of threads that did not
 * survive the fork are left as they are: they might have been mid-update,
 * so they are never reused, and the purger skips them.  Blocks of theirs
 * freed by the child go to their remote lists and stay there.
 */
static void fork_child(void)
{
	hk_helpers_fork_child();
	hk_populate_fork_child();
	hk_heaps_fork_child();
	hk_purge_fork_child();
	fork_parent();
}

static void option_error(const char *name, const char *value)
{
	/* stdio may allocate, but set-up is far enough along for that. */
	fprintf(stderr, "hakmem: ignoring %s=%s (see hakmem(7) / README)\n", name, value);
}

static bool parse_u64(const char *name, uint64_t max, uint64_t *out)
{
	const char *value = getenv(name);
	char *end;
	unsigned long long v;

	if (!value || !*value)
		return false;
	v = strtoull(value, &end, 10);
	if (*end || v > max || value[0] == '-') {
		option_error(name, value);
		return false;
	}
	*out = v;
	return true;
}

static void parse_backing(void)
{
	static const char *const names[] = {
		[HK_BACKING_AUTO] = "auto",
		[HK_BACKING_KMOD] = "kmod",
		[HK_BACKING_POPULATE] = "populate",
		[HK_BACKING_MMAP] = "mmap",
	};
	const char *value = getenv("HAKMEM_BACKING");

	if (!value || !*value)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(value, names[i])) {
			hk_options.backing = (enum hk_backing_choice)i;
			return;
		}
	}
	option_error("HAKMEM_BACKING", value);
}

static void read_options(void)
{
	uint64_t v;

	if (parse_u64("HAKMEM_STATS", 1, &v))
		hk_options.stats = v;
	if (parse_u64("HAKMEM_DECAY_MS", 3600 * 1000, &v))
		hk_options.decay_ms = v;
	parse_backing();
}

/*
 * True if the calling thread is to run set-up; false once it is done.  A
 * thread of the process running it waits; a fork child whose parent was
 * running it takes over.
 */
static bool init_claim(void)
{
	pid_t self = getpid();

	for (;;) {
		pid_t state = atomic_load_explicit(&init_state, memory_order_acquire);

		if (state == INIT_DONE)
			return false;
		if (state == self)
			sched_yield();
		else if (atomic_compare_exchange_strong(&init_state, &state, self))
			return true;
	}
}

void hk_process_init(void)
{
	const void *random;
	uintptr_t seed;
	int saved_errno;

	if (likely(atomic_load_explicit(&init_state, memory_order_acquire) == INIT_DONE))
		return;
	if (init_in_progress)
		return;
	saved_errno = errno;
	if (!init_claim())
		return;
	init_in_progress = true;

	random = (const void *)getauxval(AT_RANDOM);
	if (random) {
		memcpy(&seed, random, sizeof(seed));	/* 16 bytes, not aligned */
		hk_tag_key = HK_TAG_KEY_BUILTIN ^ (seed | 1);
	}
	hk_heaps_init();
	pthread_key_create(&hk_heap_key, hk_heap_thread_exit);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	read_options();
	if (hk_options.stats)
		hk_stats_init();
	hk_backing_init();

	/* The program never asked for set-up: what fails during it (opening /dev/hakmem) is ours. */
	errno = saved_errno;
	init_in_progress = false;
	atomic_store_explicit(&init_state, INIT_DONE, memory_order_release);
}

__attribute__((constructor)) static void hk_process_load(void)
{
	hk_process_init();
}

__attribute__((destructor)) static void hk_process_unload(void)
{
	if (hk_options.stats)
		hk_stats_print();
}
