/*
 * xthread: cross-thread producer/consumer.
 *
 * `pairs` producer threads malloc blocks of random size in [16, 1024] bytes
 * and pass them to their own consumer thread, which checks each block and
 * frees it.  Every free is therefore a remote free of memory that another
 * thread allocated: the path thread-caching allocators find hardest, since
 * the memory must flow back to its owner (or the producer's cache starves
 * while the consumer's bloats).
 *
 * Blocks travel in batches through a small bounded queue per pair, and a
 * thread that finds the queue full (or empty) sleeps on a condition
 * variable.  Handing over single blocks made the result depend on how the
 * scheduler happened to place 4 threads on 2 cores (spinning and yielding
 * threads, per-block cache-line ping-pong) far more than on the allocator;
 * with batches the synchronisation cost is amortised and the malloc and
 * free calls dominate.
 *
 * ops = blocks transferred (each is one malloc and one free).
 */
#include "bench.h"

#include <pthread.h>

#define MIN_SIZE 16
#define MAX_SIZE 1024
#define BATCH 256		/* blocks per handoff */
#define DEPTH 4			/* batches in flight per pair */

struct batch {
	long n;
	void *block[BATCH];
};

/*
 * Single-producer/single-consumer ring of batches.  The producer fills
 * ring[tail % DEPTH] and the consumer drains ring[head % DEPTH] without
 * holding the lock; only `count` changes hands under it.
 */
struct queue {
	pthread_mutex_t lock;
	pthread_cond_t changed;		/* count went up or down */
	long count;
	struct batch ring[DEPTH];
	long blocks;
	unsigned seed;
};

/* Wait until `count` is not `busy`, i.e. there is room (producer, busy =
 * DEPTH) or a batch to take (consumer, busy = 0). */
static void wait_while(struct queue *q, long busy)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == busy)
		pthread_cond_wait(&q->changed, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

static void add_count(struct queue *q, long delta)
{
	pthread_mutex_lock(&q->lock);
	q->count += delta;
	pthread_cond_signal(&q->changed);
	pthread_mutex_unlock(&q->lock);
}

static void *producer(void *arg)
{
	struct queue *q = arg;
	uint64_t rng = bench_seed(q->seed);

	for (long sent = 0, tail = 0; sent < q->blocks; tail++) {
		struct batch *b = &q->ring[tail % DEPTH];

		wait_while(q, DEPTH);
		b->n = q->blocks - sent < BATCH ? q->blocks - sent : BATCH;
		for (long i = 0; i < b->n; i++) {
			size_t size = bench_rand_range(&rng, MIN_SIZE, MAX_SIZE);

			b->block[i] = bench_xmalloc(size);
			/* The consumer checks this tag: a block handed out
			 * twice would show up as a mismatch. */
			bench_fill(b->block[i], size, (unsigned char)(sent + i));
		}
		sent += b->n;
		add_count(q, 1);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct queue *q = arg;

	for (long got = 0, head = 0; got < q->blocks; head++) {
		struct batch *b = &q->ring[head % DEPTH];

		wait_while(q, 0);
		for (long i = 0; i < b->n; i++) {
			unsigned char *p = b->block[i];

			if (p[0] != (unsigned char)(got + i))
				bench_die("xthread: block %ld corrupted in flight", got + i);
			free(p);
		}
		got += b->n;
		add_count(q, -1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long pairs = 2, blocks = 5000000;
	const struct bench_opt opts[] = {
		{ "pairs", &pairs, 1, "producer/consumer thread pairs" },
		{ "blocks", &blocks, 1, "blocks sent by each producer" },
		{ NULL, NULL, 0, NULL },
	};
	struct queue *queue;
	pthread_t *tid;
	double t0, t1;

	bench_parse_opts(argc, argv, opts);
	/* The harness's own memory comes from the allocator under test too;
	 * it is set up before timing starts. */
	queue = bench_xmalloc(sizeof(*queue) * (size_t)pairs);
	tid = bench_xmalloc(sizeof(*tid) * 2 * (size_t)pairs);
	for (long i = 0; i < pairs; i++) {
		pthread_mutex_init(&queue[i].lock, NULL);
		pthread_cond_init(&queue[i].changed, NULL);
		queue[i].count = 0;
		queue[i].blocks = blocks;
		queue[i].seed = (unsigned)i;
	}

	t0 = bench_start();
	for (long i = 0; i < pairs; i++)
		if (pthread_create(&tid[2 * i], NULL, producer, &queue[i]) ||
		    pthread_create(&tid[2 * i + 1], NULL, consumer, &queue[i]))
			bench_die("pthread_create failed");
	for (long i = 0; i < 2 * pairs; i++)
		pthread_join(tid[i], NULL);
	t1 = bench_now();

	for (long i = 0; i < pairs; i++) {
		pthread_cond_destroy(&queue[i].changed);
		pthread_mutex_destroy(&queue[i].lock);
	}
	free(tid);
	free(queue);
	bench_report((uint64_t)pairs * (uint64_t)blocks, t1 - t0);
	return 0;
}
