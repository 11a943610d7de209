/*
 * Multi-threaded allocator stress test with content verification.
 *
 *   stress TEST [SCALE_PERCENT]
 *
 * TEST is one of
 *   random   threads doing random malloc/calloc/posix_memalign/realloc/free
 *   xthread  producer/consumer: blocks allocated by one thread, resized and
 *            freed by others
 *   churn    thousands of short-lived threads; RSS must stay bounded
 *   fork     fork repeatedly while other threads allocate; every child must
 *            be able to allocate and exit, a hang is a failure
 * SCALE_PERCENT (default 100) scales iteration counts; the TSan build runs
 * with a small one.
 *
 * Every block is filled with a pattern derived from its address and size and
 * checked before it is freed or resized, so corruption, overlapping blocks and
 * lost realloc contents are caught.  Any failure prints one line and exits 1.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "talloc.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__SANITIZE_THREAD__)
# define UNDER_TSAN 1
#else
# define UNDER_TSAN 0
#endif

static unsigned scale = 100;    /* percent */

static unsigned long scaled(unsigned long n)
{
	unsigned long s = n * scale / 100;
	return s ? s : 1;
}

/* ------------------------------------------------------------------ */
/* failure reporting                                                   */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Exit at once: running exit handlers while other threads still use the
 * allocator could hang and hide the real message. */
static void fail(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "FAIL: %s\n", msg);
	fflush(NULL);
	_exit(1);
}

/* ------------------------------------------------------------------ */
/* random numbers and sizes                                            */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static size_t rng_range(uint64_t *s, size_t lo, size_t hi)
{
	return lo + (size_t)(rng_next(s) % (hi - lo + 1));
}

/* Mostly small blocks, some medium, rare large ones: roughly what programs
 * do, while still reaching every size range. */
static size_t random_size(uint64_t *s)
{
	unsigned r = (unsigned)(rng_next(s) % 10000);

	if (r < 6000)
		return rng_range(s, 0, 128);
	if (r < 8800)
		return rng_range(s, 129, 2048);
	if (r < 9900)
		return rng_range(s, 2049, 32 * KiB);
	if (r < 9990)
		return rng_range(s, 32 * KiB + 1, 256 * KiB);
	return rng_range(s, 256 * KiB + 1, 2 * MiB);
}

/* ------------------------------------------------------------------ */
/* blocks with verifiable content                                      */

struct block {
	unsigned char *p;
	size_t n;
	uint64_t seed;
};

static uint64_t seed_for(const void *p, size_t n)
{
	uint64_t x = (uint64_t)(uintptr_t)p ^ (n * 0x9E3779B97F4A7C15ull);
	x ^= x >> 31;
	return x * 0xBF58476D1CE4E5B9ull;
}

static uint64_t pattern_word(uint64_t seed, size_t j)
{
	uint64_t x = seed + j * 0xD6E8FEB86659FD93ull;
	return x ^ (x >> 29);
}

static unsigned char pattern_byte(uint64_t seed, size_t i)
{
	return (unsigned char)(pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

/* Blocks are at least 8-byte aligned, so whole words can be used after the
 * head bytes. */
static void pattern_fill(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
	size_t i = from;

	for (; i < to && i % 8; i++)
		p[i] = pattern_byte(seed, i);
	for (; i + 8 <= to; i += 8) {
		uint64_t w = pattern_word(seed, i / 8);
		__builtin_memcpy(p + i, &w, 8);
	}
	for (; i < to; i++)
		p[i] = pattern_byte(seed, i);
}

static size_t pattern_mismatch(const unsigned char *p, size_t n, uint64_t seed)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		__builtin_memcpy(&w, p + i, 8);
		if (w != pattern_word(seed, i / 8))
			break;
	}
	for (; i < n; i++)
		if (p[i] != pattern_byte(seed, i))
			return i;
	return SIZE_MAX;
}

static void block_check_new(const struct block *b, size_t align, const char *how)
{
	if (!b->p)
		fail("%s(%zu) returned NULL", how, b->n);
	if ((uintptr_t)b->p % align)
		fail("%s(%zu) = %p not %zu-byte aligned", how, b->n, (void *)b->p, align);
	size_t usable = T_USABLE_SIZE(b->p);
	if (usable < b->n)
		fail("%s(%zu) = %p has usable size %zu", how, b->n, (void *)b->p, usable);
}

static void block_seal(struct block *b)
{
	b->seed = seed_for(b->p, b->n);
	pattern_fill(b->p, 0, b->n, b->seed);
}

static void block_verify(const struct block *b, size_t n, const char *when)
{
	size_t bad = pattern_mismatch(b->p, n, b->seed);
	if (bad != SIZE_MAX)
		fail("%s: block %p (size %zu) corrupted at offset %zu: 0x%02x, want 0x%02x",
		     when, (void *)b->p, b->n, bad, b->p[bad], pattern_byte(b->seed, bad));
}

/* Allocate with a randomly chosen entry point and seal the content. */
static void block_alloc(struct block *b, uint64_t *rng)
{
	unsigned how = (unsigned)(rng_next(rng) % 100);

	b->n = random_size(rng);
	if (how < 70) {
		b->p = T_MALLOC(b->n);
		block_check_new(b, 16, "malloc");
	} else if (how < 85) {
		b->p = T_CALLOC(1, b->n);
		block_check_new(b, 16, "calloc");
		for (size_t i = 0; i < b->n; i++)
			if (b->p[i])
				fail("calloc(1, %zu) = %p: byte %zu is 0x%02x, not zero", b->n,
				     (void *)b->p, i, b->p[i]);
	} else {
		size_t align = (size_t)16 << rng_range(rng, 0, 8);   /* 16 .. 4096 */
		void *p = NULL;
		int rc = T_POSIX_MEMALIGN(&p, align, b->n);
		if (rc)
			fail("posix_memalign(%zu, %zu) = %d", align, b->n, rc);
		b->p = p;
		block_check_new(b, align, "posix_memalign");
	}
	block_seal(b);
}

static void block_free(struct block *b, const char *when)
{
	block_verify(b, b->n, when);
	T_FREE(b->p);
	b->p = NULL;
}

/* Resize, check that the common prefix survived, then reseal for the new
 * address and size. */
static void block_realloc(struct block *b, size_t n, const char *when)
{
	block_verify(b, b->n, when);
	unsigned char *p = T_REALLOC(b->p, n);
	if (!p)
		fail("%s: realloc(%p, %zu -> %zu) returned NULL", when, (void *)b->p, b->n, n);
	struct block moved = { p, n, b->seed };
	block_verify(&moved, b->n < n ? b->n : n, "after realloc (preserved prefix)");
	*b = moved;
	block_check_new(b, 16, "realloc");
	block_seal(b);
}

/* ------------------------------------------------------------------ */
/* threads                                                             */

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, NULL, fn, arg);
	if (rc)
		fail("pthread_create: %s", strerror(rc));
}

static void join_thread(pthread_t t)
{
	int rc = pthread_join(t, NULL);
	if (rc)
		fail("pthread_join: %s", strerror(rc));
}

static size_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
		fail("cannot read /proc/self/statm");
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------------------ */
/* (a) random                                                          */

enum { RANDOM_THREADS = 4, RANDOM_SLOTS = 1024 };

/* One random step on a slot array: allocate into an empty slot, otherwise
 * free or resize what is there. */
static void random_step(struct block *slots, size_t nslots, uint64_t *rng)
{
	struct block *b = &slots[rng_next(rng) % nslots];

	if (!b->p)
		block_alloc(b, rng);
	else if (rng_next(rng) % 100 < 60)
		block_free(b, "before free");
	else
		block_realloc(b, random_size(rng) + 1, "before realloc");
}

static void free_all(struct block *slots, size_t nslots)
{
	for (size_t i = 0; i < nslots; i++)
		if (slots[i].p)
			block_free(&slots[i], "final free");
}

static void *random_thread(void *arg)
{
	uint64_t rng = 0x1234567ull + (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
	struct block *slots = calloc(RANDOM_SLOTS, sizeof(*slots));
	const unsigned long iters = scaled(250000);

	if (!slots)
		fail("out of memory for slots");
	for (unsigned long i = 0; i < iters; i++)
		random_step(slots, RANDOM_SLOTS, &rng);
	free_all(slots, RANDOM_SLOTS);
	free(slots);
	return NULL;
}

static void test_random(void)
{
	pthread_t t[RANDOM_THREADS];

	for (uintptr_t i = 0; i < RANDOM_THREADS; i++)
		start_thread(&t[i], random_thread, (void *)i);
	for (int i = 0; i < RANDOM_THREADS; i++)
		join_thread(t[i]);
	printf("random: %d threads x %lu operations verified\n", RANDOM_THREADS, scaled(250000));
}

/* ------------------------------------------------------------------ */
/* (b) cross-thread: producers allocate, consumers verify, resize, free */

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct block items[1024];
	size_t head, count;
};

#define QUEUE_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, \
		     PTHREAD_COND_INITIALIZER, { { 0 } }, 0, 0 }

static void queue_push(struct queue *q, struct block b)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == ARRAY_LEN(q->items))
		pthread_cond_wait(&q->not_full, &q->lock);
	q->items[(q->head + q->count++) % ARRAY_LEN(q->items)] = b;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

/* Push only while the queue holds fewer than limit items; never blocks. */
static bool queue_try_push(struct queue *q, struct block b, size_t limit)
{
	pthread_mutex_lock(&q->lock);
	bool room = q->count < limit;
	if (room) {
		q->items[(q->head + q->count++) % ARRAY_LEN(q->items)] = b;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->lock);
	return room;
}

/* Blocking pop, or non-blocking when wait is false (returns false if empty). */
static bool queue_pop(struct queue *q, struct block *b, bool wait)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && wait)
		pthread_cond_wait(&q->not_empty, &q->lock);
	bool got = q->count > 0;
	if (got) {
		*b = q->items[q->head];
		q->head = (q->head + 1) % ARRAY_LEN(q->items);
		q->count--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return got;
}

enum { PRODUCERS = 2, CONSUMERS = 2 };
static struct queue work_q = QUEUE_INIT;        /* producer -> consumer */
static struct queue return_q = QUEUE_INIT;      /* consumer -> any producer */

static void *producer_thread(void *arg)
{
	uint64_t rng = 0xABCDEFull + (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
	const unsigned long items = scaled(200000);

	for (unsigned long i = 0; i < items; i++) {
		struct block b;
		block_alloc(&b, &rng);
		queue_push(&work_q, b);
		/* Blocks sent back by consumers: allocated by some producer,
		 * resized by a consumer, freed here. */
		if (queue_pop(&return_q, &b, false))
			block_free(&b, "producer freeing a returned block");
	}
	return NULL;
}

static void *consumer_thread(void *arg)
{
	uint64_t rng = 0x777ull + (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
	struct block b;

	/* A NULL block is the stop signal. */
	while (queue_pop(&work_q, &b, true) && b.p) {
		unsigned r = (unsigned)(rng_next(&rng) % 100);
		if (r < 25)
			block_realloc(&b, random_size(&rng) + 1, "consumer before realloc");
		/* Never block on the return queue: producers may be blocked
		 * on the work queue waiting for us. */
		if (r >= 10 || !queue_try_push(&return_q, b, ARRAY_LEN(return_q.items) / 2))
			block_free(&b, "consumer freeing a foreign block");
	}
	return NULL;
}

static void test_xthread(void)
{
	pthread_t prod[PRODUCERS], cons[CONSUMERS];
	struct block b;

	for (uintptr_t i = 0; i < CONSUMERS; i++)
		start_thread(&cons[i], consumer_thread, (void *)i);
	for (uintptr_t i = 0; i < PRODUCERS; i++)
		start_thread(&prod[i], producer_thread, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		join_thread(prod[i]);
	for (int i = 0; i < CONSUMERS; i++)
		queue_push(&work_q, (struct block){ 0 });
	for (int i = 0; i < CONSUMERS; i++)
		join_thread(cons[i]);
	while (queue_pop(&return_q, &b, false))
		block_free(&b, "main freeing a returned block");
	printf("xthread: %d producers x %lu blocks passed to %d consumers\n", PRODUCERS,
	       scaled(200000), CONSUMERS);
}

/* ------------------------------------------------------------------ */
/* (c) thread churn                                                    */

enum { CHURN_WINDOW = 4, CHURN_BLOCKS = 64, CHURN_LEFTOVER = 8 };
static const size_t churn_rss_limit = 64 * MiB;

/* Blocks a finished thread left behind, freed later by the main thread after
 * their owner has exited. */
static struct {
	pthread_mutex_t lock;
	struct block *items;
	size_t count, cap;
} leftovers = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

static void *churn_thread(void *arg)
{
	uint64_t rng = 0x5151ull + (uintptr_t)arg * 0x9E3779B97F4A7C15ull;
	struct block b[CHURN_BLOCKS];

	for (int i = 0; i < CHURN_BLOCKS; i++)
		block_alloc(&b[i], &rng);
	/* One block each in the medium and large ranges, whatever the dice say
	 * (not among the leftovers, which should stay small). */
	block_realloc(&b[CHURN_BLOCKS - 1], 64 * KiB + 8, "churn realloc");
	block_realloc(&b[CHURN_BLOCKS - 2], 300 * KiB, "churn realloc");
	for (int i = CHURN_LEFTOVER; i < CHURN_BLOCKS; i++)
		block_free(&b[i], "churn free");

	pthread_mutex_lock(&leftovers.lock);
	if (leftovers.count + CHURN_LEFTOVER > leftovers.cap)
		fail("leftover list overflow");
	memcpy(&leftovers.items[leftovers.count], b, sizeof(b[0]) * CHURN_LEFTOVER);
	leftovers.count += CHURN_LEFTOVER;
	pthread_mutex_unlock(&leftovers.lock);
	return NULL;
}

static void free_leftovers(void)
{
	pthread_mutex_lock(&leftovers.lock);
	for (size_t i = 0; i < leftovers.count; i++)
		block_free(&leftovers.items[i], "main freeing an exited thread's block");
	leftovers.count = 0;
	pthread_mutex_unlock(&leftovers.lock);
}

static void test_churn(void)
{
	const unsigned long nthreads = scaled(2400);
	pthread_t window[CHURN_WINDOW];
	size_t peak = 0;
	const size_t start_rss = rss_bytes();

	/* Enough room for the leftovers of 32 threads plus the window. */
	leftovers.cap = (32 + CHURN_WINDOW) * CHURN_LEFTOVER;
	leftovers.items = calloc(leftovers.cap, sizeof(struct block));
	if (!leftovers.items)
		fail("out of memory for leftovers");

	/* At most CHURN_WINDOW threads alive at once: thread i is joined before
	 * thread i + CHURN_WINDOW starts. */
	for (unsigned long i = 0; i < nthreads; i++) {
		if (i >= CHURN_WINDOW)
			join_thread(window[i % CHURN_WINDOW]);
		if (i % 32 == 31) {
			free_leftovers();
			size_t rss = rss_bytes();
			if (rss > peak)
				peak = rss;
		}
		start_thread(&window[i % CHURN_WINDOW], churn_thread, (void *)(uintptr_t)i);
	}
	for (unsigned long i = nthreads > CHURN_WINDOW ? nthreads - CHURN_WINDOW : 0; i < nthreads; i++)
		join_thread(window[i % CHURN_WINDOW]);
	free_leftovers();
	free(leftovers.items);

	size_t end_rss = rss_bytes();
	if (end_rss > peak)
		peak = end_rss;
	printf("churn: %lu threads; RSS start %zu KiB, peak %zu KiB, end %zu KiB\n", nthreads,
	       start_rss / KiB, peak / KiB, end_rss / KiB);
	/* TSan's shadow memory and per-thread state dwarf the allocator's, so
	 * the bound only means something in the plain build. */
	if (UNDER_TSAN)
		printf("churn: RSS bound not checked under ThreadSanitizer\n");
	else if (peak > churn_rss_limit)
		fail("churn: peak RSS %zu MiB exceeds %zu MiB: memory of exited threads is not "
		     "reused", peak / MiB, churn_rss_limit / MiB);
}

/* ------------------------------------------------------------------ */
/* (d) fork while other threads allocate                               */

enum { HAMMERS = 2, HAMMER_SLOTS = 256, HAMMER_STABLE = 16, FORKS = 100 };
static const int child_timeout_s = 10;

static atomic_bool hammer_stop;
/* Blocks each hammer allocated at start and never touches again: a child
 * frees them, i.e. frees memory owned by threads that do not exist in it. */
static struct block stable[HAMMERS][HAMMER_STABLE];
static atomic_int hammers_ready;

static void *hammer_thread(void *arg)
{
	const uintptr_t id = (uintptr_t)arg;
	uint64_t rng = 0xF0F0ull + id * 0x9E3779B97F4A7C15ull;
	struct block *slots = calloc(HAMMER_SLOTS, sizeof(*slots));

	if (!slots)
		fail("out of memory for slots");
	for (int i = 0; i < HAMMER_STABLE; i++)
		block_alloc(&stable[id][i], &rng);
	atomic_fetch_add(&hammers_ready, 1);
	while (!atomic_load_explicit(&hammer_stop, memory_order_relaxed))
		random_step(slots, HAMMER_SLOTS, &rng);
	free_all(slots, HAMMER_SLOTS);
	free(slots);
	return NULL;
}

/* What each child does: a bit of everything, including from a new thread. */
static void *child_work(void *arg)
{
	static const size_t sizes[] = { 0, 1, 24, 100, 1000, 5000, 40000, 200000,
					1500 * KiB, 5 * MiB };
	uint64_t rng = 0xC41Dull + (uintptr_t)arg;
	struct block b[ARRAY_LEN(sizes)];

	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		b[i].n = sizes[i];
		b[i].p = i % 3 == 1 ? T_CALLOC(1, sizes[i]) : T_MALLOC(sizes[i]);
		block_check_new(&b[i], 16, "child malloc/calloc");
		block_seal(&b[i]);
	}
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
		block_realloc(&b[i], sizes[(i + 3) % ARRAY_LEN(sizes)] + 1, "child realloc");
	for (int i = 0; i < 64; i++) {
		struct block x;
		block_alloc(&x, &rng);
		block_realloc(&x, random_size(&rng) + 1, "child realloc");
		block_free(&x, "child free");
	}
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
		block_free(&b[i], "child free");
	return NULL;
}

static void fork_child(void)
{
	pthread_t t;

	alarm(child_timeout_s);         /* a deadlocked child dies by SIGALRM */
	child_work(NULL);
	for (int h = 0; h < HAMMERS; h++)
		for (int i = 0; i < HAMMER_STABLE; i++)
			block_free(&stable[h][i], "child freeing a parent thread's block");
	start_thread(&t, child_work, (void *)1);
	join_thread(t);
	_exit(0);
}

/* Wait for a child with a deadline of our own too, in case the alarm cannot
 * fire (e.g. the child blocked SIGALRM). */
static void wait_child(pid_t pid, int n)
{
	const struct timespec tick = { 0, 2 * 1000 * 1000 };
	int status;

	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			fail("waitpid: %s", strerror(errno));
		if (waited > (child_timeout_s + 5) * 500) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail("fork child #%d hung (killed after %d s)", n, child_timeout_s + 5);
		}
		nanosleep(&tick, NULL);
	}
	if (WIFSIGNALED(status))
		fail("fork child #%d killed by signal %d (%s)%s", n, WTERMSIG(status),
		     strsignal(WTERMSIG(status)),
		     WTERMSIG(status) == SIGALRM ? ": it hung (deadlock after fork?)" : "");
	if (WEXITSTATUS(status) != 0)
		fail("fork child #%d exited with %d", n, WEXITSTATUS(status));
}

static void test_fork(void)
{
	pthread_t t[HAMMERS];
	const unsigned long forks = scaled(FORKS);
	const struct timespec pause = { 0, 500 * 1000 };

	for (uintptr_t i = 0; i < HAMMERS; i++)
		start_thread(&t[i], hammer_thread, (void *)i);
	while (atomic_load(&hammers_ready) < HAMMERS)
		sched_yield();

	for (unsigned long n = 0; n < forks; n++) {
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (pid == 0)
			fork_child();
		/* The parent keeps allocating too, so the fork lands at random
		 * points of all threads' allocator calls. */
		void *p = T_MALLOC(n * 37 % 5000);
		if (!p)
			fail("parent malloc failed");
		T_FREE(p);
		wait_child(pid, (int)n);
		nanosleep(&pause, NULL);
	}
	atomic_store(&hammer_stop, true);
	for (int i = 0; i < HAMMERS; i++)
		join_thread(t[i]);
	for (int h = 0; h < HAMMERS; h++)
		for (int i = 0; i < HAMMER_STABLE; i++)
			block_free(&stable[h][i], "freeing stable blocks");
	printf("fork: %lu forks with %d threads allocating, every child ok\n", forks, HAMMERS);
}

/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	void (*run)(void);
} tests[] = {
	{ "random", test_random },
	{ "xthread", test_xthread },
	{ "churn", test_churn },
	{ "fork", test_fork },
};

static const char *malloc_origin(void)
{
	Dl_info info;
	void *sym = dlsym(RTLD_DEFAULT, "malloc");

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return "(unknown)";
	return info.dli_fname;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: stress random|xthread|churn|fork [SCALE_PERCENT]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;
		unsigned long v = strtoul(argv[2], &end, 10);
		if (*end || v == 0 || v > 10000) {
			fprintf(stderr, "bad scale %s\n", argv[2]);
			return 2;
		}
		scale = (unsigned)v;
	}
	/* A test that never finishes is a failure, not a stuck build. */
	alarm(UNDER_TSAN ? 300 : 120);

	for (size_t i = 0; i < ARRAY_LEN(tests); i++) {
		if (strcmp(argv[1], tests[i].name))
			continue;
		printf("stress %s: %s, malloc from %s, scale %u%%\n", tests[i].name, T_API_NAME,
		       malloc_origin(), scale);
		fflush(stdout);
		tests[i].run();
		printf("ok %s\n", tests[i].name);
		return 0;
	}
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
