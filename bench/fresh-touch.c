/*
 * fresh-touch: cost of memory the process has never touched before.
 *
 * Allocates `mib` MiB in total (256 by default) as small objects of random
 * size in [16, 1040] bytes, writes each object once, then frees everything
 * (bench_fresh_round()).  Nothing is reused, so nearly every page comes
 * fresh from the kernel and the run is dominated by first-touch page faults
 * and the kernel zeroing those pages, plus however the allocator grows its
 * heap (mmap/brk granularity, metadata placement, eager vs lazy commit).
 *
 * The touch writes the first and last byte of each object rather than the
 * whole object: a full memset would add ~256 MiB of user-space stores that
 * cost every allocator the same and dilute the fault cost we are after.
 * Small objects are packed densely, so touching both ends of each still
 * faults in every page the allocator hands out.
 *
 * ops = objects allocated; elapsed_sec covers malloc + touch + free.
 */
#include "bench.h"

int main(int argc, char **argv)
{
	long mib = 256, seed = 1;
	const struct bench_opt opts[] = {
		{ "mib", &mib, 1, "total MiB to allocate" },
		{ "seed", &seed, 0, "PRNG seed" },
		{ NULL, NULL, 0, NULL },
	};
	size_t n;
	void **obj;
	double t0, t1;

	bench_parse_opts(argc, argv, opts);
	/* The pointer array is allocated and pre-faulted outside the timed region. */
	n = bench_fresh_count((size_t)mib << 20, (uint64_t)seed);
	obj = bench_xmalloc(n * sizeof(*obj));
	bench_prefault(obj, n * sizeof(*obj));

	t0 = bench_start();
	bench_fresh_round(obj, n, (uint64_t)seed);
	t1 = bench_now();

	free(obj);
	bench_report(n, t1 - t0);
	return 0;
}
