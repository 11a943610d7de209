/*
 * larson: a server-style workload in the spirit of Larson & Krishnan's
 * benchmark.
 *
 * `threads` independent chains each own an array of `slots` blocks.  In a
 * round, the chain's current thread `round_ops` times frees a random slot
 * and mallocs a block of random size in [16, 1024] bytes into it.  Then,
 * like a server that hands a connection's state to a fresh worker, it
 * starts a new thread, passes it the array and exits.  So threads are
 * created and torn down all the time, and the first free of each slot in a
 * round hits a block allocated by a thread that has already exited: with
 * the defaults (1000 slots, 5000 replacements per round) about a fifth of
 * all frees.  This stresses remote frees and the reclaiming of dead
 * threads' caches, not just the fast path.
 *
 * The main thread fills the arrays before the first round and frees what
 * is left after the last; both are timed and counted.
 *
 * ops = mallocs + frees.
 */
#include "bench.h"

#include <pthread.h>
#include <semaphore.h>

#define MIN_SIZE 16
#define MAX_SIZE 1024

struct chain {
	void **slot;
	uint64_t rng;
	long rounds_left;
};

static long slots = 1000, round_ops = 5000;
static sem_t chains_done;

static void *run_round(void *arg);

/* Detached, because nobody is left to join the previous thread of a chain. */
static void start_thread(struct chain *c)
{
	pthread_attr_t attr;
	pthread_t tid;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, run_round, c))
		bench_die("pthread_create failed");
	pthread_attr_destroy(&attr);
}

static void *run_round(void *arg)
{
	struct chain *c = arg;

	for (long i = 0; i < round_ops; i++) {
		size_t s = bench_rand_range(&c->rng, 0, (size_t)slots - 1);
		size_t size = bench_rand_range(&c->rng, MIN_SIZE, MAX_SIZE);

		free(c->slot[s]);
		c->slot[s] = bench_xmalloc(size);
		bench_fill(c->slot[s], size, (unsigned char)i);
	}
	if (--c->rounds_left > 0)
		start_thread(c);
	else
		sem_post(&chains_done);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads = 4, rounds = 800, seed = 1;
	const struct bench_opt opts[] = {
		{ "threads", &threads, 1, "concurrent thread chains" },
		{ "rounds", &rounds, 1, "rounds (= threads started) per chain" },
		{ "round_ops", &round_ops, 1, "free+malloc replacements per round" },
		{ "slots", &slots, 1, "blocks owned by each chain" },
		{ "seed", &seed, 0, "PRNG seed" },
		{ NULL, NULL, 0, NULL },
	};
	struct chain *chain;
	double t0, t1;
	uint64_t ops;

	bench_parse_opts(argc, argv, opts);
	sem_init(&chains_done, 0, 0);
	chain = bench_xmalloc(sizeof(*chain) * (size_t)threads);

	t0 = bench_start();
	for (long t = 0; t < threads; t++) {
		chain[t].slot = bench_xmalloc(sizeof(void *) * (size_t)slots);
		chain[t].rng = bench_seed((uint64_t)(seed * threads + t));
		chain[t].rounds_left = rounds;
		for (long s = 0; s < slots; s++) {
			size_t size = bench_rand_range(&chain[t].rng, MIN_SIZE, MAX_SIZE);

			chain[t].slot[s] = bench_xmalloc(size);
			bench_fill(chain[t].slot[s], size, (unsigned char)s);
		}
	}
	for (long t = 0; t < threads; t++)
		start_thread(&chain[t]);
	for (long t = 0; t < threads; t++)
		while (sem_wait(&chains_done))
			;	/* EINTR */
	for (long t = 0; t < threads; t++) {
		for (long s = 0; s < slots; s++)
			free(chain[t].slot[s]);
		free(chain[t].slot);
	}
	t1 = bench_now();

	free(chain);
	ops = (uint64_t)threads * (uint64_t)slots * 2 +
	      (uint64_t)threads * (uint64_t)rounds * (uint64_t)round_ops * 2;
	bench_report(ops, t1 - t0);
	return 0;
}
