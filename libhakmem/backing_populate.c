// SPDX-License-Identifier: MIT
/*
 * The populate backing: anonymous memory, pre-faulted ahead of demand.
 *
 * A helper thread at SCHED_IDLE priority keeps a small stock of SuperSlabs
 * whose pages are already faulted in and zeroed (MADV_POPULATE_WRITE), so
 * the page faults and the zeroing happen on an otherwise idle CPU instead
 * of on the thread that first touches the memory.  Unlike /dev/hakmem
 * regions this is plain anonymous memory: THP, shared futexes, KSM and
 * cgroup accounting all behave as usual, and no kernel module is needed.
 * The price is the stock's resident memory (HK_POPULATE_STOCK SuperSlabs)
 * and a thread in each process that uses more than a few SuperSlabs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/mman.h>

#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif

#define HK_POPULATE_STOCK	4
/*
 * The helper starts once a process has mapped this many SuperSlabs.  Small
 * and short-lived processes never start it, which matters beyond the
 * thread's cost: a process cannot finish exiting until each of its threads
 * has run once more, and a SCHED_IDLE thread gets no CPU while the machine
 * is busy.
 */
#define HK_POPULATE_START	16

/*
 * The stock is lock-free on purpose: a SCHED_IDLE thread holding a lock
 * that a busy thread needs would stall that thread until a CPU went idle.
 * The helper only ever fills empty slots; takers only ever empty full ones.
 */
static _Atomic(void *) stock[HK_POPULATE_STOCK];
static sem_t wanted;			/* posted after each take; set up before the first start */
static _Atomic unsigned int maps_before_start = HK_POPULATE_START;

static void populate(void *addr, size_t size)
{
	if (madvise(addr, size, MADV_POPULATE_WRITE) == 0)
		return;
	/* Kernels before 5.14: touch every page. */
	for (size_t off = 0; off < size; off += HK_OS_PAGE)
		((volatile char *)addr)[off] = 0;
}

/* Fill every empty slot; returns false if memory ran out. */
static bool fill_stock(void)
{
	for (unsigned int i = 0; i < HK_POPULATE_STOCK; i++) {
		void *ss;

		if (atomic_load_explicit(&stock[i], memory_order_relaxed))
			continue;
		ss = hk_os_map_aligned(HK_SS_SIZE, HK_SS_SIZE, false);
		if (!ss)
			return false;
		populate(ss, HK_SS_SIZE);
		atomic_store_explicit(&stock[i], ss, memory_order_release);
	}
	return true;
}

static void stocker_run(struct hk_helper *h)
{
	struct sched_param param = { 0 };

	pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
	while (!hk_helper_stopping(h)) {
		fill_stock();
		/* Out of memory or full: either way, wait for the next take. */
		while (sem_wait(&wanted) != 0)
			;
	}
}

static void stocker_wake(void)
{
	sem_post(&wanted);
}

static struct hk_helper stocker = {
	.name	= "hakmem-populate",
	.run	= stocker_run,
	.wake	= stocker_wake,
};

/* Count a SuperSlab map; true for exactly one caller, the HK_POPULATE_START-th. */
static bool countdown_to_start(void)
{
	unsigned int left = atomic_load_explicit(&maps_before_start, memory_order_relaxed);

	while (left && !atomic_compare_exchange_weak(&maps_before_start, &left, left - 1))
		;
	return left == 1;
}

static void *populate_map(size_t size)
{
	void *ss = NULL;

	if (size != HK_SS_SIZE)
		return hk_os_map_aligned(size, HK_SS_SIZE, false);
	if (countdown_to_start()) {
		sem_init(&wanted, 0, 0);
		/* pthread_create() may call malloc: no hakmem lock is held here. */
		if (!hk_helper_start(&stocker))
			atomic_store(&maps_before_start, HK_POPULATE_START);	/* try again later */
	}
	for (unsigned int i = 0; i < HK_POPULATE_STOCK && !ss; i++) {
		if (atomic_load_explicit(&stock[i], memory_order_relaxed))
			ss = atomic_exchange_explicit(&stock[i], NULL, memory_order_acquire);
	}
	if (ss)
		sem_post(&wanted);
	return ss ? ss : hk_os_map_aligned(size, HK_SS_SIZE, false);
}

/* malloc_trim(): unmap the stock; the helper refills it after the next take. */
static bool populate_trim(void)
{
	bool any = false;

	for (unsigned int i = 0; i < HK_POPULATE_STOCK; i++) {
		void *ss = atomic_exchange_explicit(&stock[i], NULL, memory_order_acquire);

		if (ss) {
			hk_os_unmap(ss, HK_SS_SIZE);
			any = true;
		}
	}
	return any;
}

/* A forked child has no helper thread; the next map starts one. */
void hk_populate_fork_child(void)
{
	atomic_store(&maps_before_start, HK_POPULATE_START);
}

const struct hk_backing hk_populate_backing = {
	.name	= "populate",
	.map	= populate_map,
	.unmap	= hk_os_unmap,
	.purge	= hk_os_purge,
	.trim	= populate_trim,
};
