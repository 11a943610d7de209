// SPDX-License-Identifier: MIT
/*
 * The public API's out-of-line halves, and hakmem's own names for it.
 * The fast paths are inline in alloc.h; what they cannot do comes here:
 * process set-up, routing by size and by chunk kind (tiny and mid blocks
 * to heap.c, large ones to large.c), and passing the purger its requests
 * where no hakmem lock is held.  The standard names are in
 * alloc_override.c, C++'s operators in alloc_cxx.c, glibc's extras in
 * alloc_glibc.c, all calling what is here.  These files are the top of a
 * one-way stack:
 *
 *   alloc*.c, unshare.c, init.c, stats.c, purge.c -> heap.c / large.c
 *   -> superslab.c -> backing*.c -> os.c / chunk_map.c / helper.c,
 *   with state.c's variables below and fatal.c beside them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hakmem.h"
#include "alloc.h"

/* From free(), which must never start a thread (see purge.c). */
static inline void hk_purge_poll(void)
{
	if (unlikely(atomic_load_explicit(&hk_purge_wanted, memory_order_relaxed)))
		hk_purge_kick();
}

/* From malloc's slow paths. */
static inline void hk_purge_poll_malloc(void)
{
	if (unlikely(atomic_load_explicit(&hk_purge_state, memory_order_relaxed) ==
		     HK_PURGE_NEEDED))
		hk_purge_start();
	hk_purge_poll();
}

/*
 * malloc's second try for a @size up to HK_DIRECT_MAX: the current slab's
 * free list is empty, take the blocks freed into it since it was filled,
 * which is most refills.  Anything else (no heap yet, a list that was
 * overwritten) is left to the slow path.  The slab is looked up again so
 * that the fast path keeps no register for it.
 */
void *hk_malloc_local(size_t size)
{
	hk_heap_t *heap = hk_heap_self();
	hk_slab_t *slab = hk_heap_slab(heap, heap->direct[hk_direct_slot(size)]);

	if (!slab->free && hk_slab_take_local(slab) && hk_slab_covers(slab, slab->free))
		return hk_slab_pop(slab, slab->free);
	return hk_malloc_slow(size);
}

/*
 * The out-of-line ends of free(): after either, memory may be left to
 * decay, which the purger hears of here, where no hakmem lock is held.
 */
void hk_free_emptied(hk_slab_t *slab)
{
	hk_slab_emptied(slab);
	hk_purge_poll();
}

void hk_free_slow(void *p)
{
	unsigned int kind = hk_chunk_kind(p);

	if (kind == HK_CHUNK_SUPERSLAB) {
		hk_heap_t *heap = hk_heap_self();
		hk_superslab_t *ss = hk_superslab_of(p);
		hk_slab_t *slab = hk_slab_of(ss, p);

		/* This thread's, but another of its SuperSlabs has the page slots: take them back. */
		if (atomic_load_explicit(&ss->heap, memory_order_relaxed) == heap &&
		    heap->pages[hk_page_slot(p)] != hk_slab_ref(heap, slab)) {
			hk_heap_map_pages(heap, ss);
			if (hk_free_local(heap, slab, p))
				return;
		}
		hk_heap_free(p);
	} else if (kind >= HK_CHUNK_LARGE) {
		hk_large_free(p, kind);
	} else if (p) {
		hk_fatal("free(): invalid pointer (not allocated by hakmem)", p);
	}
	hk_purge_poll();
}

/* Every way to a large block goes through here, so set-up has run. */
static void *hk_large(size_t size, size_t alignment, bool zero)
{
	void *p;

	hk_process_init();
	p = hk_large_alloc(size, alignment, zero);
	hk_purge_poll_malloc();
	return p;
}

/*
 * The out-of-line half of malloc: set-up, routing by size, and the one
 * place besides hk_large() where the purger may be started.
 */
void *hk_malloc_slow(size_t size)
{
	void *p;

	if (size > HK_MID_MAX)
		return hk_large(size, 0, false);
	hk_process_init();
	p = hk_heap_malloc(size);
	hk_purge_poll_malloc();
	return p;
}

size_t hk_usable(const void *p)
{
	unsigned int kind = hk_chunk_kind(p);

	if (kind == HK_CHUNK_SUPERSLAB) {
		hk_superslab_t *ss = hk_superslab_of(p);
		hk_slab_t *slab = hk_slab_head(ss, hk_slab_of(ss, p));
		const uint8_t *block;

		if (hk_slab_flags(slab) & HK_SLAB_UNUSED)
			return 0;
		/* @p may point into its block (over-aligned allocations). */
		block = (const uint8_t *)hk_slab_block_start(slab, p);
		return (size_t)(block + slab->block_size - (const uint8_t *)p);
	}
	if (kind >= HK_CHUNK_LARGE)
		return hk_large_usable(p, kind);
	return 0;
}

void *hk_calloc(size_t count, size_t size)
{
	size_t bytes;
	void *p;

	if (unlikely(__builtin_mul_overflow(count, size, &bytes))) {
		errno = ENOMEM;
		return NULL;
	}
	if (bytes > HK_MID_MAX)
		return hk_large(bytes, 0, true);
	p = hk_malloc(bytes);
	if (likely(p))
		memset(p, 0, bytes);
	return p;
}

void *hk_realloc(void *p, size_t size)
{
	unsigned int kind;
	size_t usable;
	void *q;

	if (!p)
		return hk_malloc(size);
	if (size == 0) {
		/* glibc frees and returns NULL; programs rely on it. */
		hk_free(p);
		return NULL;
	}
	kind = hk_chunk_kind(p);
	if (kind >= HK_CHUNK_LARGE) {
		q = hk_large_resize(p, kind, size);
		if (q)
			return q;
	} else if (kind != HK_CHUNK_SUPERSLAB) {
		hk_fatal("realloc(): invalid pointer (not allocated by hakmem)", p);
	}

	usable = hk_usable(p);
	/* Stay in place unless the block would be less than half used. */
	if (kind == HK_CHUNK_SUPERSLAB && size <= usable && size >= usable / 2)
		return p;
	q = hk_malloc(size);
	if (unlikely(!q))
		return NULL;
	memcpy(q, p, size < usable ? size : usable);
	hk_free(p);
	return q;
}

static inline bool hk_power_of_two(size_t x)
{
	return x && !(x & (x - 1));
}

void *hk_aligned(size_t alignment, size_t size)
{
	void *block;

	if (alignment <= HK_ALIGN)
		return hk_malloc(size);
	/* A zero-byte block still needs a byte of its own, or it could end up at the next block. */
	if (size == 0)
		size = 1;
	if (size <= HK_MID_MAX) {
		/*
		 * Slabs start 4 KiB-aligned, so when the block size is a
		 * multiple of the alignment every block is already aligned.
		 */
		size_t rounded = hk_align_up(size, alignment);

		if (alignment <= HK_OS_PAGE && rounded <= HK_MID_MAX &&
		    hk_class_size(hk_size_class(rounded)) % alignment == 0)
			return hk_malloc(rounded);
		if (size + alignment - HK_ALIGN <= HK_MID_MAX) {
			block = hk_malloc(size + alignment - HK_ALIGN);
			return block ? hk_slab_aligned_block(block, alignment) : NULL;
		}
	}
	return hk_large(size, alignment, false);
}

int hk_posix_memalign(void **out, size_t alignment, size_t size)
{
	void *p;

	if (!hk_power_of_two(alignment) || alignment < sizeof(void *))
		return EINVAL;
	p = hk_aligned(alignment, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

/*
 * memalign and aligned_alloc, which glibc 2.36 implements as one function:
 * programs written against it pass alignments that are no power of two and
 * get the next power of two.
 */
void *hk_memalign(size_t alignment, size_t size)
{
	if (unlikely(alignment > SIZE_MAX / 2 + 1)) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(alignment & (alignment - 1)))
		alignment = (size_t)2 << (63 - __builtin_clzl(alignment));
	return hk_aligned(alignment, size);
}

bool hk_trim(void)
{
	bool any = hk_heaps_trim();

	any |= hk_superslab_cache_trim(true);
	any |= hk_large_cache_trim(true);
	return any;
}

/* ------------------------------------------------------------------ */
/* hakmem's own names: always exported                                */

HK_EXPORT void *hakmem_malloc(size_t size)
{
	return hk_malloc(size);
}

HK_EXPORT void *hakmem_calloc(size_t count, size_t size)
{
	return hk_calloc(count, size);
}

HK_EXPORT void *hakmem_realloc(void *p, size_t size)
{
	return hk_realloc(p, size);
}

HK_EXPORT void hakmem_free(void *p)
{
	hk_free(p);
}

HK_EXPORT int hakmem_posix_memalign(void **out, size_t alignment, size_t size)
{
	return hk_posix_memalign(out, alignment, size);
}

HK_EXPORT void *hakmem_aligned_alloc(size_t alignment, size_t size)
{
	return hk_memalign(alignment, size);
}

HK_EXPORT size_t hakmem_usable_size(const void *p)
{
	return hk_usable(p);
}

HK_EXPORT int hakmem_trim(void)
{
	return hk_trim();
}

HK_EXPORT void hakmem_print_stats(void)
{
	hk_stats_print();
}
