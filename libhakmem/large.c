// SPDX-License-Identifier: MIT
/*
 * Large blocks (over HK_MID_MAX): one mapping each, 2 MiB-aligned, with a
 * 64-byte header at its base and the block right after it (further on for
 * alignments over 64).  The chunk map entry of the block's chunk points
 * back to the header, so free() needs no search.
 *
 * A small cache of recently freed mappings serves repeated large
 * allocations without mmap/munmap; entries unused for HAKMEM_DECAY_MS are
 * unmapped.  realloc() grows with mremap(), in place when the address
 * space after the mapping is free, else by moving the pages (no copy) to a
 * fresh 2 MiB-aligned range.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "hakmem.h"
#include "internal.h"

#define HK_LARGE_HEADER		64
#define HK_LARGE_CACHE_SLOTS	32
/* The cache holds at most this many bytes; bigger mappings are unmapped at once. */
#define HK_LARGE_CACHE_MAX	((size_t)64 << 20)
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

/* Take the smallest cached mapping that fits @map_size without wasting half of it. */
static hk_large_t *cache_take(size_t map_size, size_t align)
{
	hk_large_t *expired[HK_LARGE_CACHE_SLOTS], *best = NULL;
	unsigned int n, best_i = 0;

	pthread_mutex_lock(&hk_large_lock);
	n = cache_expire_locked(expired, false);
	for (unsigned int i = 0; i < cache_used; i++) {
		hk_large_t *h = cache[i];

		if (h->map_size < map_size || h->map_size / 2 > map_size ||
		    ((uintptr_t)h & (align - 1)))
			continue;
		if (!best || h->map_size < best->map_size) {
			best = h;
			best_i = i;
		}
	}
	if (best) {
		cache_bytes -= best->map_size;
		cache[best_i] = cache[--cache_used];
	}
	pthread_mutex_unlock(&hk_large_lock);
	unmap_all(expired, n);
	return best;
}

/*
 * Cache @h, evicting the oldest entries while the cache is over its slot
 * or byte limit.  Returns how many mappings it put in @out to unmap.
 */
static unsigned int cache_put(hk_large_t *h, hk_large_t **out)
{
	unsigned int n = 0;

	if (h->map_size > HK_LARGE_CACHE_MAX) {
		out[0] = h;
		return 1;
	}
	h->cached_at = hk_clock_ms();
	pthread_mutex_lock(&hk_large_lock);
	cache[cache_used++] = h;
	cache_bytes += h->map_size;
	while (cache_used > HK_LARGE_CACHE_SLOTS - 1 || cache_bytes > HK_LARGE_CACHE_MAX) {
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

	hk_process_init();
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

/* Resize @h to @map_size bytes by mremap(); NULL if the kernel can't. */
static hk_large_t *remap(hk_large_t *h, size_t map_size)
{
	size_t align = map_align(h->offset);
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

void *hk_large_realloc(void *p, unsigned int kind, size_t size)
{
	hk_large_t *h = header_of(p, kind), *moved;
	size_t old_map_size = h->map_size;
	size_t usable = old_map_size - h->offset;
	size_t map_size;
	void *q;

	if (size <= usable && size >= usable / 2)
		return p;
	if (size > HK_MID_MAX && size <= PTRDIFF_MAX - h->offset - HK_SS_SIZE) {
		map_size = hk_align_up(h->offset + size, HK_OS_PAGE);
		moved = remap(h, map_size);
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
	/* Shrinking to a small block, or the kernel refused: copy. */
	q = size > HK_MID_MAX ? hk_large_alloc(size, 0, false) : hakmem_malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, size < usable ? size : usable);
	hk_large_free(p, kind);
	return q;
}
