/*
 * bursty: a server-like loop of allocation bursts separated by idle gaps,
 * with a heap that grows.
 *
 * Each of `bursts` rounds allocates `mib` MiB of small objects and touches
 * them, frees all but every `keep`-th one (a cache warming up, a queue
 * that grows), then sleeps `gap_ms`.  The freed part is reused by the next
 * burst; the kept part makes the heap grow, so every burst also needs fresh
 * memory from the kernel.  The gaps are where idle-time work (a
 * pre-faulting thread, the kernel module's zeroing thread) can get ahead of
 * the next burst.
 *
 * ops = objects allocated; elapsed_sec is the time inside bursts only; the
 * usage fields cover the whole loop, thread_minflt being the faults the
 * bursting thread took itself.
 */
/* bench.h first: it sets _GNU_SOURCE for the system headers. */
#include "bench.h"

#include <unistd.h>

int main(int argc, char **argv)
{
	long mib = 8, bursts = 20, gap_ms = 50, keep = 2, seed = 1;
	const struct bench_opt opts[] = {
		{ "mib", &mib, 1, "MiB allocated per burst" },
		{ "bursts", &bursts, 1, "number of bursts" },
		{ "gap_ms", &gap_ms, 0, "idle gap after each burst, in milliseconds" },
		{ "keep", &keep, 1, "keep every keep-th object of a burst until the end" },
		{ "seed", &seed, 0, "PRNG seed" },
		{ NULL, NULL, 0, NULL },
	};
	size_t n, kept = 0;
	void **obj, **live;
	double busy = 0;

	bench_parse_opts(argc, argv, opts);
	n = bench_fresh_count((size_t)mib << 20, (uint64_t)seed);
	obj = bench_xmalloc(n * sizeof(*obj));
	live = bench_xmalloc((n / (size_t)keep + 1) * (size_t)bursts * sizeof(*live));
	bench_prefault(obj, n * sizeof(*obj));
	bench_prefault(live, (n / (size_t)keep + 1) * (size_t)bursts * sizeof(*live));

	bench_start();
	for (long b = 0; b < bursts; b++) {
		double t0 = bench_now();

		bench_fresh_alloc(obj, n, (uint64_t)(seed + b));
		for (size_t i = 0; i < n; i++) {
			if (i % (size_t)keep == 0)
				live[kept++] = obj[i];
			else
				free(obj[i]);
		}
		busy += bench_now() - t0;
		usleep((useconds_t)gap_ms * 1000);
	}
	bench_report(n * (uint64_t)bursts, busy);

	while (kept)
		free(live[--kept]);
	free(live);
	free(obj);
	return 0;
}
