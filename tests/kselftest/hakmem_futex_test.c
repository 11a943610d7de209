// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for futexes on /dev/hakmem memory (kmod/cache.c gives every
 * device page the identity that shared futex keys are made of).
 *
 * Every test runs twice, on anonymous memory and on device memory, and
 * expects the same outcome on both: anonymous memory is the reference.  A
 * lost wakeup shows as a timed-out wait (each wait has a time limit), not
 * as a hung test.  HK_TEST=<name>[,...] runs only the tests of those names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

/* How long a waiter waits before a wakeup counts as lost. */
#define WAIT_SEC	10

static long futex(void *uaddr, int op, int val, const struct timespec *ts,
		  void *uaddr2, int val3)
{
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

static const struct timespec wait_limit = { .tv_sec = WAIT_SEC };

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Wake up to @n waiters on @word (shared), retrying until @expect of them
 * have been woken in all or the wait limit passes: the waiters may not be
 * asleep yet.  Returns how many were woken, or -errno.
 */
static int wake_until(int *word, int n, int expect)
{
	int woken = 0, i;
	long r;

	for (i = 0; i < WAIT_SEC * 1000 && woken < expect; i++) {
		r = futex(word, FUTEX_WAKE, n, NULL, NULL, 0);
		if (r < 0)
			return -errno;
		woken += r;
		if (woken < expect)
			usleep(1000);
	}
	return woken;
}

FIXTURE(mem) {
	int fd;
	size_t len;
	char *p;
};

HK_MEMORY_VARIANTS(mem);

FIXTURE_SETUP(mem)
{
	self->fd = -1;
	self->len = 2 * SZ_2M;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));
	if (variant->device) {
		self->fd = hk_open();
		if (self->fd < 0 && errno == ENOENT)
			SKIP_FROM_SETUP(HAKMEM_DEVICE " does not exist (module not loaded)");
		ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	}
	self->p = hk_region(self->fd, variant->device, self->len);
	ASSERT_NE(MAP_FAILED, self->p) TH_LOG("mmap: %s", strerror(errno));
	/* Written before use, as a heap is: anonymous pages are real pages. */
	memset(self->p, 0, self->len);
}

FIXTURE_TEARDOWN(mem)
{
	munmap(self->p, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

/* A thread that waits on @word while it holds @val, shared or private. */
struct waiter {
	int *word;
	int val;
	int op;
	long ret;
	int err;
	pthread_t thread;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	w->ret = futex(w->word, w->op, w->val, &wait_limit, NULL, 0);
	w->err = w->ret ? errno : 0;
	return NULL;
}

static int start_waiter(struct waiter *w, int *word, int op)
{
	*w = (struct waiter){ .word = word, .val = *word, .op = op };
	return pthread_create(&w->thread, NULL, wait_thread, w);
}

/* FUTEX_WAIT and FUTEX_WAKE without FUTEX_PRIVATE_FLAG. */
TEST_F(mem, wait_wake)
{
	int *word = (int *)(self->p + SZ_2M + 100 * sizeof(int));
	struct waiter w;

	ASSERT_EQ(0, start_waiter(&w, word, FUTEX_WAIT));
	EXPECT_EQ(1, wake_until(word, 1, 1));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret) TH_LOG("the waiter: %s", strerror(w.err));
}

/* A page that was only read (the zero page) takes a shared futex too. */
TEST_F(mem, wake_on_page_only_read)
{
	volatile int *q = (int *)hk_region(self->fd, variant->device, SZ_2M);

	ASSERT_NE(MAP_FAILED, (void *)q);
	EXPECT_EQ(0, q[10]);
	EXPECT_EQ(0, futex((int *)q + 10, FUTEX_WAKE, 1, NULL, NULL, 0))
		TH_LOG("FUTEX_WAKE: %s", strerror(errno));
	munmap((void *)q, SZ_2M);
}

/* A wait on a word that no longer holds the value returns EAGAIN. */
TEST_F(mem, wait_value_changed)
{
	int *word = (int *)self->p;

	*word = 5;
	EXPECT_EQ(-1, futex(word, FUTEX_WAIT, 4, &wait_limit, NULL, 0));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * FUTEX_CMP_REQUEUE (shared): two waiters moved to another word (on another
 * page), and woken there.
 */
TEST_F(mem, cmp_requeue)
{
	int *from = (int *)self->p, *to = (int *)(self->p + SZ_2M + PAGE);
	struct waiter w[2];
	int moved = 0, i;
	long r;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, start_waiter(&w[i], from, FUTEX_WAIT));
	for (i = 0; i < WAIT_SEC * 1000 && moved < 2; i++) {
		r = futex(from, FUTEX_CMP_REQUEUE, 0, (void *)(long)INT_MAX,
			  to, 0);
		ASSERT_LE(0, r) TH_LOG("FUTEX_CMP_REQUEUE: %s", strerror(errno));
		moved += r;
		if (moved < 2)
			usleep(1000);
	}
	EXPECT_EQ(2, moved);
	EXPECT_EQ(0, futex(from, FUTEX_WAKE, INT_MAX, NULL, NULL, 0));
	EXPECT_EQ(2, wake_until(to, INT_MAX, 2));
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].ret) TH_LOG("waiter %d: %s", i,
					      strerror(w[i].err));
	}
}

struct pi_locker {
	int *word;
	long ret;
	int err;
};

static void *pi_lock_thread(void *arg)
{
	struct pi_locker *l = arg;
	struct timespec deadline;

	/* FUTEX_LOCK_PI's time limit is absolute, on CLOCK_REALTIME. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_SEC;
	l->ret = futex(l->word, FUTEX_LOCK_PI, 0, &deadline, NULL, 0);
	l->err = l->ret ? errno : 0;
	if (!l->ret && futex(l->word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0)) {
		l->ret = -1;
		l->err = errno;
	}
	return NULL;
}

/* FUTEX_LOCK_PI and FUTEX_UNLOCK_PI (shared), with a waiter. */
TEST_F(mem, lock_pi)
{
	int *word = (int *)(self->p + 3 * PAGE);
	struct pi_locker l = { .word = word };
	pthread_t t;
	int i;

	ASSERT_EQ(0, futex(word, FUTEX_LOCK_PI, 0, NULL, NULL, 0))
		TH_LOG("FUTEX_LOCK_PI: %s", strerror(errno));
	EXPECT_EQ(gettid_(), *word & FUTEX_TID_MASK);
	ASSERT_EQ(0, pthread_create(&t, NULL, pi_lock_thread, &l));
	/* The other thread blocks in the kernel: the word gets FUTEX_WAITERS. */
	for (i = 0; i < WAIT_SEC * 1000 && !(*(volatile int *)word & FUTEX_WAITERS); i++)
		usleep(1000);
	EXPECT_TRUE(*word & FUTEX_WAITERS);
	EXPECT_EQ(0, futex(word, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0))
		TH_LOG("FUTEX_UNLOCK_PI: %s", strerror(errno));
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.ret) TH_LOG("the waiter: %s", strerror(l.err));
	EXPECT_EQ(0, *word);
}

/* After MADV_DONTNEED the page refaults, and futexes work on it as before. */
TEST_F(mem, after_dontneed)
{
	int *word = (int *)(self->p + 5 * PAGE);
	struct waiter w;

	*word = 3;
	ASSERT_EQ(0, madvise(self->p, self->len, MADV_DONTNEED));
	EXPECT_EQ(0, *word);
	ASSERT_EQ(0, start_waiter(&w, word, FUTEX_WAIT));
	EXPECT_EQ(1, wake_until(word, 1, 1));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret) TH_LOG("the waiter: %s", strerror(w.err));
}

/* Shared futexes work in the parent and in the child after a fork. */
TEST_F(mem, after_fork)
{
	int *word = (int *)(self->p + 7 * PAGE);
	struct waiter w;
	pid_t pid;

	*word = 9;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		*word = 10;
		if (start_waiter(&w, word, FUTEX_WAIT))
			_exit(2);
		if (wake_until(word, 1, 1) != 1)
			_exit(3);
		pthread_join(w.thread, NULL);
		_exit(w.ret ? 4 : 0);
	}
	ASSERT_EQ(0, start_waiter(&w, word, FUTEX_WAIT));
	EXPECT_EQ(1, wake_until(word, 1, 1));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret) TH_LOG("the parent's waiter: %s", strerror(w.err));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(9, *word);
}

/*
 * A region whose pages are the device's own (from the pool, in its page
 * cache), where a futex key is the page's identity; anonymous memory for
 * the anon variant.  With two nodes the pool that serves the mapping may be
 * short while the other's is full: then its pages are faulted in, and the
 * region is mapped again once the pools have refilled.  MAP_FAILED if the
 * pools do not fill.
 */
static char *cache_region(struct _test_data_mem *self, bool device)
{
	int tries;
	char *q;

	for (tries = 0; tries < 50; tries++) {
		if (device && wait_pool_pages(self->fd, SZ_2M / PAGE, 30000,
					      hk_pool_zeroed_pages, 0))
			return MAP_FAILED;
		q = hk_region(self->fd, device, SZ_2M);
		if (q == MAP_FAILED)
			return q;
		memset(q, 0, SZ_2M);
		if (!device || (hk_page_is_file(q) == 1 &&
				hk_page_is_file(q + SZ_2M - PAGE) == 1))
			return q;
		munmap(q, SZ_2M);
		usleep(100000);
	}
	return MAP_FAILED;
}

/*
 * A waiter that went to sleep before a fork is woken by a write and a wake
 * after it, while the child lives on: anonymous memory keeps the futex key
 * across the copy on write.
 */
TEST_F(mem, waiter_from_before_fork)
{
	char *q = cache_region(self, variant->device);
	int *word = (int *)(q + 17 * PAGE);
	struct waiter w;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(variant->device, hk_page_is_file(word));
	*word = 1;
	ASSERT_EQ(0, start_waiter(&w, word, FUTEX_WAIT));
	usleep(200000);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		usleep(500000);
		_exit(*word == 1 ? 0 : 1);
	}
	*word = 0;
	EXPECT_EQ(1, wake_until(word, 1, 1));
	pthread_join(w.thread, NULL);
	EXPECT_EQ(0, w.ret) TH_LOG("the waiter: %s", strerror(w.err));
	EXPECT_EQ(0, child_status(pid));
	munmap(q, SZ_2M);
}

/* glibc: a robust mutex's waiter from before a fork gets the mutex after it. */
struct timed_locker {
	pthread_mutex_t *m;
	int ret;
};

static void *timed_lock_thread(void *arg)
{
	struct timed_locker *l = arg;
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += WAIT_SEC;
	l->ret = pthread_mutex_timedlock(l->m, &deadline);
	if (!l->ret)
		pthread_mutex_unlock(l->m);
	return NULL;
}

TEST_F(mem, robust_waiter_from_before_fork)
{
	char *q = cache_region(self, variant->device);
	pthread_mutex_t *m = (pthread_mutex_t *)(q + 19 * PAGE);
	struct timed_locker l = { .m = m };
	pthread_mutexattr_t a;
	pthread_t t;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, q);
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	ASSERT_EQ(0, pthread_mutex_init(m, &a));
	ASSERT_EQ(0, pthread_mutex_lock(m));
	ASSERT_EQ(0, pthread_create(&t, NULL, timed_lock_thread, &l));
	usleep(200000);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(0);
	EXPECT_EQ(0, pthread_mutex_unlock(m));
	pthread_join(t, NULL);
	EXPECT_EQ(0, l.ret) TH_LOG("the waiter: %s", strerror(l.ret));
	EXPECT_EQ(0, child_status(pid));
	munmap(q, SZ_2M);
}

/*
 * A waiter whose region was unmapped under it is not woken by another
 * process's wakes on its own memory, however much of it there is: futex
 * keys of device pages are never reused.  The waiter's wait times out.
 */
TEST_F_TIMEOUT(mem, unmapped_waiter_keeps_its_key, 120)
{
	const size_t other = 64 << 20;
	int *word = (int *)(self->p + SZ_2M);
	struct timespec t0, t1;
	struct waiter w;
	pid_t pid;

	*word = 1;
	w = (struct waiter){ .word = word, .val = 1, .op = FUTEX_WAIT };
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, wait_thread, &w));
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, munmap(self->p, self->len));
	self->p = hk_region(self->fd, variant->device, self->len);
	ASSERT_NE(MAP_FAILED, self->p);

	/* Another process takes the memory just freed and wakes everywhere. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *q = hk_region(self->fd, variant->device, other);
		size_t off;

		if (q == MAP_FAILED)
			_exit(2);
		for (off = 0; off < other; off += PAGE) {
			q[off] = 1;
			if (futex(q + off, FUTEX_WAKE, INT_MAX, NULL, NULL, 0) < 0)
				_exit(3);
		}
		_exit(0);
	}
	EXPECT_EQ(0, child_status(pid));
	pthread_join(w.thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(ETIMEDOUT, w.err) TH_LOG("the waiter: %s", strerror(w.err));
	EXPECT_LE(WAIT_SEC - 1, t1.tv_sec - t0.tv_sec);
}

/*
 * A robust futex whose owner dies: the kernel marks it FUTEX_OWNER_DIED and
 * wakes a waiter (always with a shared key).  The owner is a process of its
 * own that shares the memory (clone(CLONE_VM), as a private mapping can be
 * shared with another process only so) and uses raw system calls only.
 */
struct robust_owner {
	struct robust_list_head head;
	struct robust_list entry;	/* the lock word follows it */
	int word;
	_Atomic int locked;
};

static int robust_owner_fn(void *arg)
{
	struct robust_owner *o = arg;

	o->head.list.next = &o->entry;
	o->entry.next = &o->head.list;
	o->head.futex_offset = offsetof(struct robust_owner, word) -
			       offsetof(struct robust_owner, entry);
	o->head.list_op_pending = NULL;
	if (syscall(SYS_set_robust_list, &o->head, sizeof(o->head)))
		syscall(SYS_exit, 2);
	o->word = (int)syscall(SYS_gettid);
	atomic_store(&o->locked, 1);
	/* Die holding the lock, once the waiter had time to fall asleep. */
	usleep(300000);
	syscall(SYS_exit, 0);
	return 0;
}

TEST_F(mem, robust_owner_process_dies)
{
	struct robust_owner *o = (struct robust_owner *)(self->p + 11 * PAGE);
	const size_t stack_len = 256 << 10;
	char *stack;
	int word, i;
	pid_t pid;
	long r;

	stack = mmap(NULL, stack_len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	ASSERT_NE(MAP_FAILED, stack);
	memset(o, 0, sizeof(*o));
	pid = clone(robust_owner_fn, stack + stack_len, CLONE_VM | SIGCHLD, o);
	ASSERT_LT(0, pid);
	for (i = 0; i < WAIT_SEC * 1000 && !atomic_load(&o->locked); i++)
		usleep(1000);
	ASSERT_TRUE(atomic_load(&o->locked));
	/* Wait as a robust mutex's waiter does: FUTEX_WAITERS set, shared. */
	word = __atomic_or_fetch(&o->word, FUTEX_WAITERS, __ATOMIC_SEQ_CST);
	r = futex(&o->word, FUTEX_WAIT, word, &wait_limit, NULL, 0);
	EXPECT_EQ(0, r) TH_LOG("the wait: %s", strerror(errno));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_TRUE(o->word & FUTEX_OWNER_DIED) TH_LOG("word %#x", o->word);
	munmap(stack, stack_len);
}

/* glibc's robust mutex: a thread dies holding it while another waits. */
struct robust_thread {
	pthread_mutex_t *m;
	_Atomic int locked;
};

static void *robust_thread_fn(void *arg)
{
	struct robust_thread *r = arg;

	pthread_mutex_lock(r->m);
	atomic_store(&r->locked, 1);
	usleep(300000);
	return NULL;	/* holding the mutex */
}

TEST_F(mem, robust_owner_thread_dies)
{
	pthread_mutex_t *m = (pthread_mutex_t *)(self->p + 13 * PAGE);
	struct robust_thread r = { .m = m };
	pthread_mutexattr_t a;
	pthread_t t;
	int i;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	ASSERT_EQ(0, pthread_mutex_init(m, &a));
	ASSERT_EQ(0, pthread_create(&t, NULL, robust_thread_fn, &r));
	for (i = 0; i < WAIT_SEC * 1000 && !atomic_load(&r.locked); i++)
		usleep(1000);
	EXPECT_EQ(EOWNERDEAD, pthread_mutex_lock(m));
	EXPECT_EQ(0, pthread_mutex_consistent(m));
	EXPECT_EQ(0, pthread_mutex_unlock(m));
	pthread_join(t, NULL);
	EXPECT_EQ(0, pthread_mutex_lock(m));
	EXPECT_EQ(0, pthread_mutex_unlock(m));
	pthread_mutex_destroy(m);
}

/*
 * Process-shared pthread objects under contention: a mutex-protected
 * counter, a condition variable ping-pong, a semaphore and a barrier.
 */
struct pshared {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	pthread_barrier_t barrier;
	sem_t sem;
	long counter;
	int turn;
};

#define PS_THREADS	4
#define PS_ROUNDS	2000

struct pshared_arg {
	struct pshared *s;
	int id;
};

static void *pshared_thread(void *arg)
{
	struct pshared *s = ((struct pshared_arg *)arg)->s;
	int id = ((struct pshared_arg *)arg)->id, i;

	for (i = 0; i < PS_ROUNDS; i++) {
		pthread_mutex_lock(&s->mutex);
		s->counter++;
		pthread_mutex_unlock(&s->mutex);
	}
	pthread_barrier_wait(&s->barrier);
	/* Take turns in order, PS_ROUNDS / 10 times round. */
	for (i = 0; i < PS_ROUNDS / 10; i++) {
		pthread_mutex_lock(&s->mutex);
		while (s->turn % PS_THREADS != id)
			pthread_cond_wait(&s->cond, &s->mutex);
		s->turn++;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->mutex);
	}
	pthread_barrier_wait(&s->barrier);
	for (i = 0; i < PS_ROUNDS / 10; i++) {
		sem_wait(&s->sem);
		sem_post(&s->sem);
	}
	return NULL;
}

TEST_F_TIMEOUT(mem, pshared_pthread_objects, 120)
{
	struct pshared *s = (struct pshared *)(self->p + SZ_2M - PAGE);
	struct pshared_arg args[PS_THREADS];
	pthread_t t[PS_THREADS];
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_barrierattr_t ba;
	int i;

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	ASSERT_EQ(0, pthread_mutex_init(&s->mutex, &ma));
	ASSERT_EQ(0, pthread_cond_init(&s->cond, &ca));
	ASSERT_EQ(0, pthread_barrier_init(&s->barrier, &ba, PS_THREADS));
	ASSERT_EQ(0, sem_init(&s->sem, 1, 1));
	s->counter = 0;
	s->turn = 0;
	for (i = 0; i < PS_THREADS; i++) {
		args[i] = (struct pshared_arg){ .s = s, .id = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, pshared_thread, &args[i]));
	}
	for (i = 0; i < PS_THREADS; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(PS_THREADS * PS_ROUNDS, s->counter);
	EXPECT_EQ(PS_THREADS * (PS_ROUNDS / 10), s->turn);
	pthread_barrier_destroy(&s->barrier);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mutex);
	sem_destroy(&s->sem);
}

TEST_HARNESS_MAIN
