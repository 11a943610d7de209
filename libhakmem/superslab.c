// SPDX-License-Identifier: MIT
/*
 * SuperSlabs: getting them from the backing, carving them into slabs, and
 * giving them back.
 *
 * A heap carves slabs out of the SuperSlabs it owns (its "partial" list
 * holds those with free pages).  A SuperSlab whose slabs are all retired
 * goes to a process-wide cache of empty SuperSlabs, newest first, from
 * which any heap takes before asking the backing for more.  Two decay rules
 * return memory to the OS once it has been unused for HAKMEM_DECAY_MS:
 * cached SuperSlabs are unmapped, and the free pages of partly used ones
 * are purged (they stay mapped and read back as zeros).  The owner applies
 * them on its slow paths, the purger (purge.c) when the owner is idle.
 *
 * Each heap's part of this is its struct hk_heap_superslabs, the only
 * part of a heap this file writes: a SuperSlab adopted or emptied is
 * returned to heap.c, which maps or unmaps it in its page table.
 *
 * Locks: a heap's superslabs.lock guards its SuperSlab list and page bits,
 * and nests outside hk_cache_lock.
 */
#include "internal.h"

/* At most this many empty SuperSlabs (32 MiB) wait in the cache. */
#define HK_SS_CACHE_MAX	16

pthread_mutex_t hk_cache_lock = PTHREAD_MUTEX_INITIALIZER;
/* Newest at the head, oldest at the tail; guarded by hk_cache_lock. */
static struct hk_list cache;
static unsigned int cache_count;			/* guarded by hk_cache_lock */

/* Pages per slab: one 64 KiB page up to 8 KiB blocks, then room for eight. */
static unsigned int class_span(unsigned int cls)
{
	size_t bytes = hk_class_size(cls) * 8;
	size_t pages = (bytes + HK_PAGE_SIZE - 1) / HK_PAGE_SIZE;

	return pages > 16 ? 16 : (unsigned int)pages;
}

static uint32_t page_mask(unsigned int first, unsigned int count)
{
	return (count == 32 ? UINT32_MAX : ((1u << count) - 1)) << first;
}

/* First index of @span consecutive set bits in @free, or -1. */
static int find_free_run(uint32_t free, unsigned int span)
{
	uint32_t runs = free;

	for (unsigned int i = 1; i < span; i++)
		runs &= free >> i;
	return runs ? __builtin_ctz(runs) : -1;
}

hk_slab_t *hk_slab_head(hk_superslab_t *ss, hk_slab_t *slab)
{
	return (hk_slab_flags(slab) & HK_SLAB_TAIL) ? &ss->slabs[slab->index] : slab;
}

static void mark_pages_unused(hk_superslab_t *ss, unsigned int first, unsigned int count)
{
	for (unsigned int i = first; i < first + count; i++) {
		ss->slabs[i].index = (uint8_t)i;
		hk_slab_set_flags(&ss->slabs[i], HK_SLAB_UNUSED);
	}
}

static void partial_push(hk_heap_t *heap, hk_superslab_t *ss)
{
	hk_list_push_head(&heap->superslabs.partial, &ss->link);
	ss->in_partial = true;
}

static void partial_remove(hk_heap_t *heap, hk_superslab_t *ss)
{
	hk_list_remove(&heap->superslabs.partial, &ss->link);
	ss->in_partial = false;
}

/* The SuperSlab after @ss on its list, or NULL. */
static hk_superslab_t *next_superslab(const hk_superslab_t *ss)
{
	return ss->link.next ? hk_superslab_of(ss->link.next) : NULL;
}

static hk_superslab_t *first_superslab(const struct hk_list *l)
{
	return l->head ? hk_superslab_of(l->head) : NULL;
}

/* ------------------------------------------------------------------ */
/* The cache of empty SuperSlabs                                       */

static void unmap_superslab(hk_superslab_t *ss)
{
	hk_chunk_map_set(ss, HK_CHUNK_NONE);
	hk_backing->unmap(ss, HK_SS_SIZE);
	atomic_fetch_add_explicit(&hk_stats.ss_unmapped, 1, memory_order_relaxed);
	hk_stat_peak(&hk_stats.ss_live, &hk_stats.ss_peak, -1);
}

/* Move expired entries (all with @force) from the cache to @expired; caller holds the lock. */
static struct hk_list cache_expire_locked(uint64_t now, bool force)
{
	struct hk_list expired = { NULL, NULL };

	while (cache.tail &&
	       (force || cache_count > HK_SS_CACHE_MAX ||
		now - hk_superslab_of(cache.tail)->cached_at >= hk_options.decay_ms)) {
		struct hk_list_node *oldest = cache.tail;

		hk_list_remove(&cache, oldest);
		cache_count--;
		hk_list_push_head(&expired, oldest);
	}
	return expired;
}

static bool unmap_expired(struct hk_list expired)
{
	bool any = expired.head != NULL;

	while (expired.head) {
		hk_superslab_t *ss = first_superslab(&expired);

		hk_list_remove(&expired, &ss->link);
		unmap_superslab(ss);
	}
	return any;
}

/* Unmap expired cached SuperSlabs; with @force all of them, and the backing's stock. */
bool hk_superslab_cache_trim(bool force)
{
	struct hk_list expired;
	bool any = false;

	pthread_mutex_lock(&hk_cache_lock);
	expired = cache_expire_locked(hk_clock_ms(), force);
	pthread_mutex_unlock(&hk_cache_lock);
	if (force && hk_backing->trim)
		any = hk_backing->trim();
	return unmap_expired(expired) || any;
}

/* Unmap expired cached SuperSlabs; true if some are left to expire later. */
bool hk_superslab_cache_decay(void)
{
	struct hk_list expired;
	bool left;

	pthread_mutex_lock(&hk_cache_lock);
	expired = cache_expire_locked(hk_clock_ms(), false);
	left = cache_count > 0;
	pthread_mutex_unlock(&hk_cache_lock);
	unmap_expired(expired);
	return left;
}

void hk_superslab_release(hk_superslab_t *ss)
{
	struct hk_list expired;
	uint64_t now = hk_clock_ms();

	atomic_store_explicit(&ss->heap, NULL, memory_order_relaxed);
	ss->cached_at = now;

	pthread_mutex_lock(&hk_cache_lock);
	hk_list_push_head(&cache, &ss->link);
	cache_count++;
	expired = cache_expire_locked(now, false);
	pthread_mutex_unlock(&hk_cache_lock);
	unmap_expired(expired);
	hk_purge_want();
}

/*
 * An empty SuperSlab, from the cache or the backing.  Called without the
 * heap's SuperSlab lock: a backing may start a thread, which calls malloc.
 */
static hk_superslab_t *superslab_acquire(void)
{
	struct hk_list expired;
	hk_superslab_t *ss;

	pthread_mutex_lock(&hk_cache_lock);
	ss = first_superslab(&cache);
	if (ss) {
		hk_list_remove(&cache, &ss->link);
		cache_count--;
	}
	expired = cache_expire_locked(hk_clock_ms(), false);
	pthread_mutex_unlock(&hk_cache_lock);
	unmap_expired(expired);

	if (ss) {
		atomic_fetch_add_explicit(&hk_stats.ss_cache_hits, 1, memory_order_relaxed);
	} else {
		ss = hk_backing->map(HK_SS_SIZE);
		if (!ss)
			return NULL;
		if (!hk_chunk_map_set(ss, HK_CHUNK_SUPERSLAB)) {
			hk_backing->unmap(ss, HK_SS_SIZE);
			return NULL;
		}
		/* Fresh memory is zero: only the non-zero fields need setting. */
		ss->free_pages = HK_ALL_PAGES;
		mark_pages_unused(ss, 0, HK_PAGES);
		atomic_fetch_add_explicit(&hk_stats.ss_mapped, 1, memory_order_relaxed);
		hk_stat_peak(&hk_stats.ss_live, &hk_stats.ss_peak, 1);
		/* A process of one SuperSlab decays on its own slow paths. */
		if (atomic_load_explicit(&hk_stats.ss_live, memory_order_relaxed) > 1)
			hk_purge_need();
	}
	return ss;
}

/* Make @heap the owner of @ss, an empty SuperSlab; under the heap's SuperSlab lock. */
static void superslab_adopt(hk_heap_t *heap, hk_superslab_t *ss)
{
	atomic_store_explicit(&ss->heap, heap, memory_order_relaxed);
	heap->superslabs.count++;
	heap->superslabs.acquired++;
	partial_push(heap, ss);
}

/* ------------------------------------------------------------------ */
/* Slabs                                                               */

/* Empty @slab's lists: it carves again from its start, with no block out. */
static void slab_uncarve(hk_slab_t *slab)
{
	slab->free = slab->local = NULL;
	slab->outstanding = 0;
	__atomic_store_n(&slab->carved, 0, __ATOMIC_RELAXED);
}

hk_slab_t *hk_superslab_new_slab(hk_heap_t *heap, unsigned int cls, hk_superslab_t **adopted)
{
	struct hk_heap_superslabs *own = &heap->superslabs;
	unsigned int span = class_span(cls);
	hk_superslab_t *ss;
	hk_slab_t *slab;
	int first = -1;

	*adopted = NULL;
	pthread_mutex_lock(&own->lock);
	for (ss = first_superslab(&own->partial); ss; ss = next_superslab(ss)) {
		first = find_free_run(ss->free_pages, span);
		if (first >= 0)
			break;
	}
	if (!ss) {
		pthread_mutex_unlock(&own->lock);
		ss = superslab_acquire();
		if (!ss)
			return NULL;
		pthread_mutex_lock(&own->lock);
		superslab_adopt(heap, ss);
		*adopted = ss;
		first = 0;
	}

	ss->free_pages &= ~page_mask((unsigned int)first, span);
	ss->dirty_pages &= ss->free_pages;
	if (!ss->free_pages)
		partial_remove(heap, ss);
	pthread_mutex_unlock(&own->lock);

	slab = &ss->slabs[first];
	slab->start = (uint8_t *)ss + (size_t)first * HK_PAGE_SIZE;
	if (first == 0)
		slab->start += HK_SS_HEADER_SIZE;
	slab->cls = (uint8_t)cls;
	slab->span = (uint8_t)span;
	slab->block_size = (uint32_t)hk_class_size(cls);
	slab->magic = hk_slab_magic(slab->block_size);
	slab_uncarve(slab);
	for (unsigned int i = 1; i < span; i++) {
		ss->slabs[first + i].index = (uint8_t)first;
		hk_slab_set_flags(&ss->slabs[first + i], HK_SLAB_TAIL);
	}
	hk_slab_set_flags(slab, 0);
	own->slabs_made[cls]++;
	return slab;
}

hk_superslab_t *hk_superslab_free_slab(hk_heap_t *heap, hk_slab_t *slab)
{
	struct hk_heap_superslabs *own = &heap->superslabs;
	hk_superslab_t *ss = hk_superslab_of(slab);
	unsigned int first = slab->index, span = slab->span;
	hk_superslab_t *emptied = NULL;

	mark_pages_unused(ss, first, span);
	own->slabs_retired++;
	pthread_mutex_lock(&own->lock);
	if (!ss->dirty_pages)
		ss->dirty_since = hk_clock_ms();
	ss->free_pages |= page_mask(first, span);
	ss->dirty_pages |= page_mask(first, span);
	if (ss->free_pages == HK_ALL_PAGES) {
		if (ss->in_partial)
			partial_remove(heap, ss);
		own->count--;
		own->released++;
		emptied = ss;
	} else if (!ss->in_partial) {
		partial_push(heap, ss);
	}
	/* A heap of one SuperSlab is a small process: its own slow paths decay it. */
	if (own->count > 1)
		hk_purge_want();
	pthread_mutex_unlock(&own->lock);
	return emptied;
}

/*
 * Purge the pages @slab, which has no block in use, has carved, and make it
 * carve again from the start: its free lists were in those pages.
 */
void hk_superslab_purge_slab(hk_slab_t *slab)
{
	hk_backing->purge(slab->start,
			  hk_align_up((size_t)slab->carved * slab->block_size, HK_OS_PAGE));
	slab_uncarve(slab);
	hk_slab_set_flags(slab, slab->flags);	/* the limit falls with carved */
}

/* Purge each run of dirty free pages in @ss. */
static void purge_dirty_pages(hk_superslab_t *ss)
{
	uint32_t dirty = ss->dirty_pages;

	while (dirty) {
		unsigned int first = (unsigned int)__builtin_ctz(dirty);
		uint32_t rest = ~(dirty >> first);
		/* rest == 0 only when all 32 pages are dirty. */
		unsigned int count = rest ? (unsigned int)__builtin_ctz(rest) : 32;
		uint8_t *start = (uint8_t *)ss + (size_t)first * HK_PAGE_SIZE;
		size_t len = (size_t)count * HK_PAGE_SIZE;

		if (first == 0) {
			start += HK_SS_HEADER_SIZE;
			len -= HK_SS_HEADER_SIZE;
		}
		hk_backing->purge(start, len);
		dirty &= ~page_mask(first, count);
	}
	ss->dirty_pages = 0;
}

/*
 * Purge the free pages of @heap's SuperSlabs that have been free for the
 * decay delay (all of them with @force).  Returns whether some are left
 * to purge later.
 */
bool hk_superslab_decay(hk_heap_t *heap, uint64_t now, bool force)
{
	bool left = false;

	pthread_mutex_lock(&heap->superslabs.lock);
	for (hk_superslab_t *ss = first_superslab(&heap->superslabs.partial); ss;
	     ss = next_superslab(ss)) {
		if (!ss->dirty_pages)
			continue;
		if (force || now - ss->dirty_since >= hk_options.decay_ms)
			purge_dirty_pages(ss);
		else
			left = true;
	}
	pthread_mutex_unlock(&heap->superslabs.lock);
	return left;
}
