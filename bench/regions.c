/*
 * regions: obtain and first-touch memory as 2 MiB regions, four ways.
 *
 *   anon       mmap(MAP_PRIVATE | MAP_ANONYMOUS), then touch: a fault and
 *              a page zeroing per 4 KiB page, on this thread
 *   populate   the same with MAP_POPULATE: the faults move into mmap()
 *   madvise    the same, then MADV_POPULATE_WRITE (Linux 5.14)
 *   hakmem     mmap of /dev/hakmem (hakmem.ko): pages already zeroed by
 *              the module's idle thread, mapped by mmap(), no faults
 *
 * Each way maps `mib` MiB as 2 MiB regions, writes one byte per 4 KiB page,
 * and unmaps; time and minor faults cover all of it.  The ways alternate
 * for `reps` rounds, with `pause_ms` of idle time before each, so the
 * module's pool can refill (it must hold `mib` MiB to be "warm").  One
 * line per way: median time, faults, and the time ratio to anon.
 */
#include "bench.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define REGION	((size_t)2 << 20)
#define MAX_REPS 15

enum way { ANON, POPULATE, MADVISE, HAKMEM, WAYS };
static const char *const way_name[WAYS] = { "anon", "populate", "madvise", "hakmem" };

static void *map_region(enum way w, int dev_fd)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (w == POPULATE ? MAP_POPULATE : 0);
	void *p;

	if (w == HAKMEM)
		p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE, dev_fd, 0);
	else
		p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		bench_die("%s: mmap: %s", way_name[w], strerror(errno));
	if (w == MADVISE && madvise(p, REGION, MADV_POPULATE_WRITE))
		bench_die("MADV_POPULATE_WRITE: %s", strerror(errno));
	return p;
}

/* One round of one way: returns seconds; adds the faults to *faults. */
static double round_of(enum way w, int dev_fd, size_t regions, void **map, long *faults)
{
	struct rusage r0, r1;
	double t0, t;

	getrusage(RUSAGE_SELF, &r0);
	t0 = bench_now();
	for (size_t i = 0; i < regions; i++) {
		map[i] = map_region(w, dev_fd);
		for (size_t off = 0; off < REGION; off += 4096)
			((volatile char *)map[i])[off] = 1;
	}
	for (size_t i = 0; i < regions; i++)
		munmap(map[i], REGION);
	t = bench_now() - t0;
	getrusage(RUSAGE_SELF, &r1);
	*faults = r1.ru_minflt - r0.ru_minflt;
	return t;
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	long mib = 256, reps = 5, pause_ms = 2000;
	const struct bench_opt opts[] = {
		{ "mib", &mib, 2, "MiB per round (a multiple of 2)" },
		{ "reps", &reps, 1, "rounds per way (at most 15)" },
		{ "pause_ms", &pause_ms, 0, "idle time before each round" },
		{ NULL, NULL, 0, NULL },
	};
	double secs[WAYS][MAX_REPS], med[WAYS];
	long faults[WAYS][MAX_REPS];
	int dev_fd, ways;
	size_t regions;
	void **map;

	bench_parse_opts(argc, argv, opts);
	if (reps > MAX_REPS)
		bench_die("reps must be at most %d", MAX_REPS);
	regions = (size_t)mib / 2;
	map = bench_xmalloc(regions * sizeof(*map));
	dev_fd = open("/dev/hakmem", O_RDWR | O_CLOEXEC);
	ways = dev_fd >= 0 ? WAYS : HAKMEM;
	if (dev_fd < 0)
		printf("# /dev/hakmem: %s; the hakmem way is left out\n", strerror(errno));

	for (long r = 0; r < reps; r++) {
		for (int w = 0; w < ways; w++) {
			usleep((useconds_t)pause_ms * 1000);
			secs[w][r] = round_of((enum way)w, dev_fd, regions, map, &faults[w][r]);
		}
	}
	printf("| way | time s | minor faults | time vs anon |\n|---|---:|---:|---:|\n");
	for (int w = 0; w < ways; w++)
		med[w] = median(secs[w], (int)reps);
	for (int w = 0; w < ways; w++)
		printf("| %s | %.4f | %ld | %.2f× |\n", way_name[w], med[w], faults[w][reps / 2],
		       med[w] / med[ANON]);
	free(map);
	return 0;
}
