// SPDX-License-Identifier: MIT
/*
 * Statistics: the process-wide counters (atomics in state.c, bumped only
 * on slow paths) plus per-heap counters summed on demand, presented as the
 * HAKMEM_STATS summary and mallinfo2().  The fast paths count nothing:
 * slab refills and SuperSlab traffic say what each size path did.
 */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

/*
 * Where the summary goes: a private duplicate of stderr taken at start-up,
 * because programs (coreutils among them) close stderr before exiting.
 */
static int stats_fd = STDERR_FILENO;

void hk_stats_init(void)
{
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);

	if (fd >= 0)
		stats_fd = fd;
}

static uint64_t load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

void hk_stats_mallinfo(struct mallinfo2 *mi)
{
	uint64_t ss_bytes = load(&hk_stats.ss_live) * HK_SS_SIZE;
	uint64_t large_bytes = load(&hk_stats.large_bytes_live);

	*mi = (struct mallinfo2){
		.arena = ss_bytes,
		.hblks = load(&hk_stats.large_allocs) - load(&hk_stats.large_frees),
		.hblkhd = large_bytes,
		/* Mapped, not exact: hakmem counts no bytes on its fast paths. */
		.uordblks = ss_bytes + large_bytes,
		.usmblks = load(&hk_stats.ss_peak) * HK_SS_SIZE + load(&hk_stats.large_bytes_peak),
	};
}

static void print_class_range(int out, const char *name, const struct hk_heap_stats *s,
			      unsigned int first, unsigned int last)
{
	uint64_t slabs = 0;

	for (unsigned int cls = first; cls <= last; cls++)
		slabs += s->slabs_made[cls];
	dprintf(out, "hakmem:   %-5s %5zu..%-7zu B  slabs carved %llu\n", name,
		first ? hk_class_size(first - 1) + 1 : 1, hk_class_size(last),
		(unsigned long long)slabs);
}

void hk_stats_print(void)
{
	struct hk_heap_stats s;
	unsigned int heaps, pooled;
	int out = stats_fd;

	hk_heaps_stats(&s, &heaps, &pooled);
	dprintf(out, "hakmem: backing %s, %u heaps (%u pooled), decay %llu ms\n",
		hk_backing->name, heaps, pooled, (unsigned long long)hk_options.decay_ms);
	print_class_range(out, "tiny", &s, 0, hk_size_class(HK_TINY_MAX));
	print_class_range(out, "mid", &s, hk_size_class(HK_TINY_MAX) + 1, HK_CLASSES - 1);
	dprintf(out, "hakmem:   slabs retired %llu, remote frees %llu sent / %llu drained\n",
		(unsigned long long)s.slabs_retired, (unsigned long long)s.remote_frees_sent,
		(unsigned long long)s.remote_frees_drained);
	dprintf(out, "hakmem:   superslabs mapped %llu, unmapped %llu, cache hits %llu, peak %llu (%llu MiB)\n",
		(unsigned long long)load(&hk_stats.ss_mapped),
		(unsigned long long)load(&hk_stats.ss_unmapped),
		(unsigned long long)load(&hk_stats.ss_cache_hits),
		(unsigned long long)load(&hk_stats.ss_peak),
		(unsigned long long)(load(&hk_stats.ss_peak) * HK_SS_SIZE >> 20));
	dprintf(out, "hakmem:   large allocs %llu, frees %llu, cache hits %llu, peak %llu MiB\n",
		(unsigned long long)load(&hk_stats.large_allocs),
		(unsigned long long)load(&hk_stats.large_frees),
		(unsigned long long)load(&hk_stats.large_cache_hits),
		(unsigned long long)(load(&hk_stats.large_bytes_peak) >> 20));
	dprintf(out, "hakmem:   purged %llu MiB of free pages\n",
		(unsigned long long)(load(&hk_stats.purged_bytes) >> 20));
}
