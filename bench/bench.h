/*
 * bench.h - helpers shared by the allocator benchmarks.
 *
 * Each benchmark is one C file built against plain libc malloc; the
 * allocator under test is swapped in with LD_PRELOAD by bench/run.py.
 * Every benchmark prints exactly one line on stdout made of space-separated
 * key=value pairs, starting with ops_per_sec, which is what the runner parses
 * (see bench_report()).
 *
 * Options are given as NAME=VALUE arguments (e.g. `random-mixed iters=1000`);
 * `--help` lists them with their defaults.
 */
#ifndef HAKMEM_BENCH_H
#define HAKMEM_BENCH_H

#define _GNU_SOURCE		/* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Fatal error: a benchmark that cannot run as specified must not report a number. */
#define bench_die(...)                                                        \
	do {                                                                  \
		fprintf(stderr, __VA_ARGS__);                                 \
		fputc('\n', stderr);                                          \
		exit(2);                                                      \
	} while (0)

static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * xorshift64: a handful of cycles per number, so the generator does not
 * drown out the allocator's fast path; statistical quality is plenty for
 * picking slots and sizes.  The state must never be zero.
 */
static inline uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

/* Spreads small seeds (0, 1, 2, ...) over the state space; never returns 0. */
static inline uint64_t bench_seed(uint64_t seed)
{
	uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull;

	return x ? x : 1;
}

/*
 * Uniform value in [lo, hi] (hi - lo < 2^32).  Multiply-and-shift on the top
 * 32 bits instead of `%`, because a 64-bit division costs as much as an
 * allocator's whole fast path.
 */
static inline size_t bench_rand_range(uint64_t *state, size_t lo, size_t hi)
{
	uint64_t r = bench_rand(state) >> 32;

	return lo + (size_t)((r * (uint64_t)(hi - lo + 1)) >> 32);
}

/*
 * Makes the compiler assume the memory behind p is read.  Without it GCC may
 * delete the stores into a block that is freed later, or even a whole
 * malloc/free pair, and we would be timing nothing.
 */
static inline void bench_escape(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/*
 * Write the first and last byte of a new block so the allocation is real:
 * the pages behind it get touched and a broken allocator that hands out
 * overlapping blocks has a chance to show it.  `tag` lets callers check the
 * first byte later.
 */
static inline void bench_fill(void *p, size_t size, unsigned char tag)
{
	unsigned char *b = p;

	b[0] = tag;
	b[size - 1] = tag;
	bench_escape(p);
}

/*
 * Fault in a buffer the benchmark needs before its timed region.  A plain
 * malloc + memset(0) would not do: the compiler may turn the pair into
 * calloc, which on fresh memory touches nothing.
 */
static inline void bench_prefault(void *p, size_t size)
{
	for (size_t off = 0; off < size; off += 4096)
		((volatile unsigned char *)p)[off] = 0;
}

static inline void *bench_xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p)
		bench_die("malloc(%zu) failed", size);
	return p;
}

struct bench_opt {
	const char *name;
	long *value;		/* holds the default on entry */
	long min;		/* smallest accepted value */
	const char *help;
};

static inline void bench_usage(const char *prog, const struct bench_opt *opts)
{
	fprintf(stderr, "usage: %s [NAME=VALUE]...\n", prog);
	for (; opts->name; opts++)
		fprintf(stderr, "  %-12s %s (default %ld)\n", opts->name,
			opts->help, *opts->value);
}

static inline const struct bench_opt *
bench_find_opt(const struct bench_opt *opts, const char *name, size_t len)
{
	for (; opts->name; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

/*
 * Parse NAME=VALUE arguments into `opts` (terminated by an entry with a NULL
 * name).  All options are integers of at least their `min`; anything unknown
 * or malformed prints usage and exits, because a silently ignored typo would
 * produce a misleading number.
 */
static inline void bench_parse_opts(int argc, char **argv,
				    const struct bench_opt *opts)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		const struct bench_opt *o;
		char *end;
		long v;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			bench_usage(argv[0], opts);
			exit(0);
		}
		o = eq ? bench_find_opt(opts, arg, (size_t)(eq - arg)) : NULL;
		if (!o) {
			fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], arg);
			bench_usage(argv[0], opts);
			exit(2);
		}
		errno = 0;
		v = strtol(eq + 1, &end, 0);
		if (errno || end == eq + 1 || *end || v < o->min)
			bench_die("%s: bad value in '%s'", argv[0], arg);
		*o->value = v;
	}
}

/*
 * Peak resident set size of this process in KiB (VmHWM).  The runner cannot
 * use ru_maxrss from wait4() for this: at exec Linux folds the RSS of the
 * forked copy of the parent (the Python runner, ~15 MiB) into the child's
 * maxrss, which would put a floor under every small benchmark.  VmHWM belongs
 * to the new address space only.
 */
static inline long bench_peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		bench_die("cannot open /proc/self/status");
	while (kib < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) != 1)
			kib = -1;
	fclose(f);
	if (kib < 0)
		bench_die("no VmHWM in /proc/self/status");
	return kib;
}

/*
 * The shared object that malloc resolved to.  The runner checks it against
 * the allocator it preloaded: a library that loads but fails to interpose
 * malloc would otherwise quietly be measured as glibc.
 */
static inline const char *bench_malloc_lib(void)
{
	Dl_info info;
	void *(*fn)(size_t) = malloc;

	if (!dladdr((void *)fn, &info) || !info.dli_fname)
		return "unknown";
	return info.dli_fname;
}

/*
 * The fresh-memory workload shared by fresh-touch, procs and bursty:
 * objects of random size in [16, 1040] bytes, `bytes` in all, each written
 * once (first and last byte, see bench_fill()), then all freed.  Nothing is
 * reused within one round, so its cost is mostly first-touch page faults and
 * page zeroing, wherever the allocator's memory comes from.
 */
#define BENCH_FRESH_MIN	16
#define BENCH_FRESH_MAX	1040

/* How many objects bench_fresh_round() makes for `bytes` with `seed`. */
static inline size_t bench_fresh_count(size_t bytes, uint64_t seed)
{
	uint64_t rng = bench_seed(seed);
	size_t total = 0, n = 0;

	while (total < bytes) {
		total += bench_rand_range(&rng, BENCH_FRESH_MIN, BENCH_FRESH_MAX);
		n++;
	}
	return n;
}

/* Allocate and touch the `n` objects of round `seed` into `obj`. */
static inline void bench_fresh_alloc(void **obj, size_t n, uint64_t seed)
{
	uint64_t rng = bench_seed(seed);

	for (size_t i = 0; i < n; i++) {
		size_t size = bench_rand_range(&rng, BENCH_FRESH_MIN, BENCH_FRESH_MAX);

		obj[i] = bench_xmalloc(size);
		bench_fill(obj[i], size, (unsigned char)i);
	}
}

/* One round: allocate and touch the `n` objects into `obj`, then free them. */
static inline void bench_fresh_round(void **obj, size_t n, uint64_t seed)
{
	bench_fresh_alloc(obj, n, seed);
	for (size_t i = 0; i < n; i++)
		free(obj[i]);
}

/*
 * Resource usage of the timed region: the calling thread's (where a
 * pre-faulting helper thread cannot hide its work), and the whole process's
 * with its waited-for children (where it cannot hide either).
 */
struct bench_usage {
	struct rusage thread, self, children;
};

static struct bench_usage bench_usage_start;

static inline void bench_usage_now(struct bench_usage *u)
{
	getrusage(RUSAGE_THREAD, &u->thread);
	getrusage(RUSAGE_SELF, &u->self);
	getrusage(RUSAGE_CHILDREN, &u->children);
}

static inline double bench_tv(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec * 1e-6;
}

/* Start the timed region: returns bench_now() and notes the resource usage. */
static inline double bench_start(void)
{
	bench_usage_now(&bench_usage_start);
	return bench_now();
}

/*
 * The one line the runner reads.  malloc_lib goes last and takes the rest
 * of the line, so a path with spaces in it survives.  The usage fields
 * cover the region since bench_start(): minor faults of the calling thread
 * and of the process (with children), user and system CPU seconds.
 */
static inline void bench_report(uint64_t ops, double secs)
{
	struct bench_usage end, *start = &bench_usage_start;
	long minflt;
	double usr, sys;

	bench_usage_now(&end);
	minflt = end.self.ru_minflt - start->self.ru_minflt +
		 end.children.ru_minflt - start->children.ru_minflt;
	usr = bench_tv(&end.self.ru_utime) - bench_tv(&start->self.ru_utime) +
	      bench_tv(&end.children.ru_utime) - bench_tv(&start->children.ru_utime);
	sys = bench_tv(&end.self.ru_stime) - bench_tv(&start->self.ru_stime) +
	      bench_tv(&end.children.ru_stime) - bench_tv(&start->children.ru_stime);
	printf("ops_per_sec=%.0f ops=%" PRIu64 " elapsed_sec=%.6f peak_rss_kib=%ld "
	       "thread_minflt=%ld minflt=%ld usr_sec=%.4f sys_sec=%.4f malloc_lib=%s\n",
	       (double)ops / secs, ops, secs, bench_peak_rss_kib(),
	       end.thread.ru_minflt - start->thread.ru_minflt, minflt, usr, sys,
	       bench_malloc_lib());
}

#endif /* HAKMEM_BENCH_H */
