/*
 * tiny-hot: the allocator's hottest path for tiny objects.
 *
 * Repeatedly mallocs a batch of blocks of one fixed size, then frees the
 * whole batch in allocation order.  The size changes from batch to batch,
 * cycling through 16, 32, 48 and 64 bytes, so that a few tiny size classes
 * stay hot instead of exactly one.  A batch of 100 live blocks is larger
 * than a one-deep cache but small enough to stay in L1.
 *
 * ops = mallocs + frees.
 */
#include "bench.h"

#define MAX_BATCH 4096

#define NSIZES 4
static const size_t sizes[NSIZES] = { 16, 32, 48, 64 };

int main(int argc, char **argv)
{
	long batches = 1000000, batch = 100;
	const struct bench_opt opts[] = {
		{ "batches", &batches, 1, "number of malloc-then-free batches" },
		{ "batch", &batch, 1, "blocks per batch (at most 4096)" },
		{ NULL, NULL, 0, NULL },
	};
	static void *block[MAX_BATCH];
	double t0, t1;

	bench_parse_opts(argc, argv, opts);
	if (batch > MAX_BATCH)
		bench_die("batch must be at most %d", MAX_BATCH);

	t0 = bench_start();
	for (long b = 0; b < batches; b++) {
		size_t size = sizes[b % NSIZES];

		for (long i = 0; i < batch; i++) {
			block[i] = bench_xmalloc(size);
			bench_fill(block[i], size, (unsigned char)i);
		}
		for (long i = 0; i < batch; i++)
			free(block[i]);
	}
	t1 = bench_now();

	bench_report((uint64_t)batches * (uint64_t)batch * 2, t1 - t0);
	return 0;
}
