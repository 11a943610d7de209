// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - give pool pages back to the kernel under memory pressure.
 *
 * The shrinker is NUMA-aware: reclaim on a node shrinks that node's pool
 * only (and pauses only its refill), and leaves the others alone.
 *
 * The shrinker is not memcg-aware: pool blocks are charged to a memory
 * cgroup only when they are handed out, so only global reclaim (and
 * drop_caches) shrinks the pool.
 *
 * The shrinker does not wake the refill thread: refills are demand driven
 * (an mmap that leaves a pool below its low watermark), so after pressure
 * a pool stays empty until it is used again, and even then the refill
 * waits shrink_backoff_ms so that it does not immediately undo the reclaim.
 */
#include <linux/mm.h>
#include <linux/shrinker.h>

#include "compat.h"
#include "internal.h"

static unsigned long hk_shrink_count(struct shrinker *shrink,
				     struct shrink_control *sc)
{
	unsigned long nr = hk_pool_zeroed_pages(sc->nid);

	return nr ? nr : SHRINK_EMPTY;
}

static unsigned long hk_shrink_scan(struct shrinker *shrink,
				    struct shrink_control *sc)
{
	unsigned long freed;

	hk_pool_pause(sc->nid);
	freed = hk_pool_release(sc->nid, sc->nr_to_scan);
	hk_node_stat_add(sc->nid, HK_SHRINKER_RELEASED_PAGES, freed);
	return freed ? freed : SHRINK_STOP;
}

static struct shrinker *hk_shrinker;

int hk_shrinker_init(void)
{
	int ret;

	hk_shrinker = shrinker_alloc(SHRINKER_NUMA_AWARE, "hakmem-pool");
	if (!hk_shrinker)
		return -ENOMEM;
	hk_shrinker->count_objects = hk_shrink_count;
	hk_shrinker->scan_objects = hk_shrink_scan;

	ret = hk_shrinker_register(hk_shrinker);
	if (ret) {
		shrinker_free(hk_shrinker);
		hk_shrinker = NULL;
	}
	return ret;
}

void hk_shrinker_exit(void)
{
	shrinker_free(hk_shrinker);
}
