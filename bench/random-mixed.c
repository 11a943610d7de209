/*
 * random-mixed: one random operation per iteration on a 256-slot working set.
 *
 * Each iteration picks a random slot: if it holds a block, the block is
 * freed, otherwise a block of uniformly random size in [16, 1040] bytes is
 * malloc'ed into it.  The working set therefore hovers around 128 live
 * blocks of mixed size classes and the malloc/free sequence is unpredictable,
 * which defeats allocators that only do well on LIFO reuse of one size.
 *
 * ops = mallocs + frees (one per iteration).
 */
#include "bench.h"

#define SLOTS 256
#define MIN_SIZE 16
#define MAX_SIZE 1040

int main(int argc, char **argv)
{
	long iters = 50000000, seed = 1;
	const struct bench_opt opts[] = {
		{ "iters", &iters, 1, "operations (each one malloc or one free)" },
		{ "seed", &seed, 0, "PRNG seed" },
		{ NULL, NULL, 0, NULL },
	};
	void *slot[SLOTS] = { NULL };
	uint64_t rng;
	double t0, t1;

	bench_parse_opts(argc, argv, opts);
	rng = bench_seed((uint64_t)seed);

	t0 = bench_start();
	for (long i = 0; i < iters; i++) {
		size_t s = bench_rand_range(&rng, 0, SLOTS - 1);

		if (slot[s]) {
			free(slot[s]);
			slot[s] = NULL;
		} else {
			size_t size = bench_rand_range(&rng, MIN_SIZE, MAX_SIZE);

			slot[s] = bench_xmalloc(size);
			bench_fill(slot[s], size, (unsigned char)i);
		}
	}
	t1 = bench_now();

	/* Leftovers are not part of the measured operation mix. */
	for (size_t s = 0; s < SLOTS; s++)
		free(slot[s]);

	bench_report((uint64_t)iters, t1 - t0);
	return 0;
}
