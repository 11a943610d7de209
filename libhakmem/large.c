// SPDX-License-Identifier: MIT
/*
 * Large blocks (over HK_MID_MAX): one mapping each, 2 MiB-aligned, with a
 * 64-byte header at its base and the block right after it (further on for
 * alignments over 64).  The chunk map entry of the block's chunk points
 * back to the header, so free() needs no search.
 *
 * A cache of recently freed mappings serves large allocations without
 * mmap/munmap and, above all, without faulting and zeroing every page
 * again.  Its byte budget follows the working set: half the bytes of large
 * blocks in use, at least 64 MiB.  A request takes the smallest cached
 * mapping that fits: whole if it is at most twice as long as needed, else
 * cut to size, with the rest a cache entry of its own; if none fits, it
 * grows the largest with mremap() (only the extra pages are new).  Taking
 * a mapping whole keeps its pages together for the next large request:
 * cut for every smaller one, mappings soon became too short for any large
 * one, and each then faulted in what its growth added.  Entries unused for
 * HAKMEM_DECAY_MS are unmapped.  realloc() grows with mremap(), in place
 * when the address space after the mapping is free, else by moving the
 * pages (no copy) to a fresh 2 MiB-aligned range.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define HK_LARGE_HEADER		64
#define HK_LARGE_CACHE_SLOTS	32
/* The least the cache may hold, whatever the working set. */
#define HK_LARGE_CACHE_MIN	((size_t)64 << 20)
/* Alignments are limited by how far back the chunk map can point. */
#define HK_LARGE_MAX_ALIGN	((size_t)128 << HK_SS_SHIFT)

typedef struct hk_large {
	size_t map_size;	/* bytes mapped from the header on */
	size_t offset;		/* block address - header address */
	uint64_t cached_at;	/* hk_clock_ms() when it entered the cache */
} hk_large_t;

_Static_assert(sizeof(hk_large_t) <= HK_LARGE_HEADER, "large header too big");

pthread_mutex_t hk_large_lock = PTHREAD_MUTEX_INITIALIZER;
static hk_large_t *cache[HK_LARGE_CACHE_SLOTS];	/* guarded by hk_large_lock */
static unsigned int cache_used;			/* guarded by hk_large_lock */
static size_t cache_bytes;			/* guarded by hk_large_lock */

static size_t map_align(size_t alignment)
{
	return alignment > HK_SS_SIZE ? alignment : HK_SS_SIZE;
}

static void *block_of(hk_large_t *h)
{
	return (uint8_t *)h + h->offset;
}

static unsigned int chunk_kind_of(const hk_large_t *h)
{
	return HK_CHUNK_LARGE + (unsigned int)(h->offset >> HK_SS_SHIFT);
}

static hk_large_t *header_of(const void *p, unsigned int kind)
{
	uintptr_t chunk = (uintptr_t)hk_superslab_of(p);
	hk_large_t *h = (hk_large_t *)(chunk - ((uintptr_t)(kind - HK_CHUNK_LARGE) << HK_SS_SHIFT));

	if (block_of(h) != p)
		hk_fatal("free(): invalid pointer (inside a large block)", p);
	return h;
}

static void account(int64_t bytes)
{
	hk_stat_peak(&hk_stats.large_bytes_live, &hk_stats.large_bytes_peak, bytes);
	/* Large mappings are cached, and the cache decays. */
	if (bytes > 0)
		hk_purge_need();
}

/* The cache's byte budget: half the large bytes in use, at least the minimum. */
static size_t cache_budget_locked(void)
{
	size_t mapped = atomic_load_explicit(&hk_stats.large_bytes_live, memory_order_relaxed);
	size_t in_use = mapped > cache_bytes ? mapped - cache_bytes : 0;

	return in_use / 2 > HK_LARGE_CACHE_MIN ? in_use / 2 : HK_LARGE_CACHE_MIN;
}

static void unmap_large(hk_large_t *h)
{
	account(-(int64_t)h->map_size);
	hk_os_unmap(h, h->map_size);
}

/* Unlink expired cache entries (all with @force) into @out; returns how many. */
static unsigned int cache_expire_locked(hk_large_t **out, bool force)
{
	uint64_t now = hk_clock_ms();
	unsigned int n = 0, kept = 0;

	for (unsigned int i = 0; i < cache_used; i++) {
		if (force || now - cache[i]->cached_at >= hk_options.decay_ms) {
			cache_bytes -= cache[i]->map_size;
			out[n++] = cache[i];
		} else
			cache[kept++] = cache[i];
	}
	cache_used = kept;
	return n;
}

static bool unmap_all(hk_large_t **list, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		unmap_large(list[i]);
	return n > 0;
}

bool hk_large_cache_trim(bool force)
{
	hk_large_t *expired[HK_LARGE_CACHE_SLOTS];
	unsigned int n;

	pthread_mutex_lock(&hk_large_lock);
	n = cache_expire_locked(expired, force);
	pthread_mutex_unlock(&hk_large_lock);
	return unmap_all(expired, n);
}

/* The purger's pass: unmap expired mappings; true if some are left to expire later. */
bool hk_large_cache_decay(void)
{
	hk_large_t *expired[HK_LARGE_CACHE_SLOTS];
	unsigned int n;
	bool left;

	pthread_mutex_lock(&hk_large_lock);
	n = cache_expire_locked(expired, false);
	left = cache_used > 0;
	pthread_mutex_unlock(&hk_large_lock);
	unmap_all(expired, n);
	return left;
}

static hk_large_t *cache_remove_locked(unsigned int i)
{
	hk_large_t *h = cache[i];

	cache_bytes -= h->map_size;
	cache[i] = cache[--cache_used];
	return h;
}

/*
 * If @h is more than twice @map_size long, cut what lies past @map_size
 * (rounded up to 2 MiB) off @h, into the cache; the caller has just taken
 * @h out, so a slot is free.
 */
static void cache_split_locked(hk_large_t *h, size_t map_size)
{
	size_t keep = hk_align_up(map_size, HK_SS_SIZE);
	hk_large_t *tail;

	if (h->map_size <= 2 * keep)
		return;
	tail = (hk_large_t *)((uint8_t *)h + keep);
	tail->map_size = h->map_size - keep;
	tail->cached_at = h->cached_at;
	h->map_size = keep;
	cache[cache_used++] = tail;
	cache_bytes += tail->map_size;
}

/*
 * Resize @h to @map_size bytes by mremap(), keeping it @align-aligned;
 * NULL if the kernel can't, and @h stays as it was.
 */
static hk_large_t *remap(hk_large_t *h, size_t map_size, size_t align)
{
	void *dest, *moved;

	moved = mremap(h, h->map_size, map_size, 0);
	if (moved != MAP_FAILED)
		return moved;
	/* Move the pages to a reserved range that keeps the 2 MiB alignment. */
	dest = hk_os_map_aligned(map_size, align, true);
	if (!dest)
		return NULL;
	moved = mremap(h, h->map_size, map_size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
	if (moved == MAP_FAILED) {
		hk_os_unmap(dest, map_size);
		return NULL;
	}
	return moved;
}

/*
 * A cached mapping of at least @map_size bytes aligned to @align: the
 * smallest that fits, cut to size, or else the largest, grown; NULL if
 * the cache has nothing aligned.  Grown mappings are accounted here.
 */
static hk_large_t *cache_take(size_t map_size, size_t align)
{
	hk_large_t *expired[HK_LARGE_CACHE_SLOTS], *h = NULL, *grown;
	int fit = -1, largest = -1;
	unsigned int n;
	size_t old_size;

	pthread_mutex_lock(&hk_large_lock);
	n = cache_expire_locked(expired, false);
	for (unsigned int i = 0; i < cache_used; i++) {
		size_t size = cache[i]->map_size;

		if ((uintptr_t)cache[i] & (align - 1))
			continue;
		if (size >= map_size && (fit < 0 || size < cache[fit]->map_size))
			fit = (int)i;
		if (size < map_size && (largest < 0 || size > cache[largest]->map_size))
			largest = (int)i;
	}
	if (fit >= 0) {
		h = cache_remove_locked((unsigned int)fit);
		cache_split_locked(h, map_size);
	} else if (largest >= 0) {
		h = cache_remove_locked((unsigned int)largest);
	}
	pthread_mutex_unlock(&hk_large_lock);
	unmap_all(expired, n);

	if (!h || h->map_size >= map_size)
		return h;
	old_size = h->map_size;
	grown = remap(h, map_size, align);
	if (!grown) {
		unmap_large(h);
		return NULL;
	}
	h = grown;
	h->map_size = map_size;
	account((int64_t)map_size - (int64_t)old_size);
	return h;
}

/*
 * Cache @h, evicting the oldest entries while the cache is over its slot
 * or byte limit.  Returns how many mappings it put in @out to unmap.
 */
static unsigned int cache_put(hk_large_t *h, hk_large_t **out)
{
	unsigned int n = 0;
	size_t budget;

	h->cached_at = hk_clock_ms();
	pthread_mutex_lock(&hk_large_lock);
	budget = cache_budget_locked();
	if (h->map_size > budget) {
		pthread_mutex_unlock(&hk_large_lock);
		out[0] = h;
		return 1;
	}
	cache[cache_used++] = h;
	cache_bytes += h->map_size;
	while (cache_used > HK_LARGE_CACHE_SLOTS - 1 || cache_bytes > budget) {
		unsigned int oldest = 0;

		for (unsigned int i = 1; i < cache_used; i++) {
			if (cache[i]->cached_at < cache[oldest]->cached_at)
				oldest = i;
		}
		out[n++] = cache[oldest];
		cache_bytes -= cache[oldest]->map_size;
		cache[oldest] = cache[--cache_used];
	}
	pthread_mutex_unlock(&hk_large_lock);
	hk_purge_want();
	return n;
}

void *hk_large_alloc(size_t size, size_t alignment, bool zero)
{
	size_t offset = alignment > HK_LARGE_HEADER ? alignment : HK_LARGE_HEADER;
	size_t align = map_align(alignment);
	size_t map_size;
	hk_large_t *h;
	bool fresh = false;

	if (alignment > HK_LARGE_MAX_ALIGN || size > PTRDIFF_MAX - offset - HK_SS_SIZE - align) {
		errno = ENOMEM;
		return NULL;
	}
	map_size = hk_align_up(offset + size, HK_OS_PAGE);
	h = cache_take(map_size, align);
	if (h) {
		atomic_fetch_add_explicit(&hk_stats.large_cache_hits, 1, memory_order_relaxed);
	} else {
		h = hk_os_map_aligned(map_size, align, false);
		if (!h) {
			errno = ENOMEM;
			return NULL;
		}
		h->map_size = map_size;
		account((int64_t)map_size);
		fresh = true;
	}
	h->offset = offset;
	if (!hk_chunk_map_set(block_of(h), chunk_kind_of(h))) {
		unmap_large(h);
		errno = ENOMEM;
		return NULL;
	}
	atomic_fetch_add_explicit(&hk_stats.large_allocs, 1, memory_order_relaxed);
	if (zero && !fresh)
		memset(block_of(h), 0, size);
	return block_of(h);
}

void hk_large_free(void *p, unsigned int kind)
{
	hk_large_t *h = header_of(p, kind);
	hk_large_t *evicted[HK_LARGE_CACHE_SLOTS];

	hk_chunk_map_set(p, HK_CHUNK_NONE);
	atomic_fetch_add_explicit(&hk_stats.large_frees, 1, memory_order_relaxed);
	unmap_all(evicted, cache_put(h, evicted));
}

size_t hk_large_usable(const void *p, unsigned int kind)
{
	hk_large_t *h = header_of(p, kind);

	return h->map_size - h->offset;
}

/*
 * realloc() of a large block within its mapping or with mremap(); NULL
 * when it takes a copy (a small block now, or the kernel refused).
 */
void *hk_large_resize(void *p, unsigned int kind, size_t size)
{
	hk_large_t *h = header_of(p, kind), *moved;
	size_t old_map_size = h->map_size;
	size_t usable = old_map_size - h->offset;
	size_t map_size;

	if (size <= usable && size >= usable / 2)
		return p;
	if (size > HK_MID_MAX && size <= PTRDIFF_MAX - h->offset - HK_SS_SIZE) {
		map_size = hk_align_up(h->offset + size, HK_OS_PAGE);
		moved = remap(h, map_size, map_align(h->offset));
		if (moved) {
			/* @h may be gone: only its old address is used below. */
			if (moved != h)
				hk_chunk_map_set(p, HK_CHUNK_NONE);
			moved->map_size = map_size;
			account((int64_t)map_size - (int64_t)old_map_size);
			if (!hk_chunk_map_set(block_of(moved), chunk_kind_of(moved)))
				hk_fatal("realloc(): out of memory for the chunk map", p);
			return block_of(moved);
		}
	}
	return NULL;
}
