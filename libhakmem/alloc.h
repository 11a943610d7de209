/* SPDX-License-Identifier: MIT */
/*
 * The API layer's fast paths, inline in every entry point that takes them
 * (alloc.c's hakmem_* names, alloc_override.c's standard ones, alloc_cxx.c's
 * operators), and the out-of-line halves alloc.c defines.
 *
 * The fast paths are the whole point of a thread-caching allocator:
 *
 *   malloc (<= 4 KiB): TLS heap -> direct[(size + 15) / 16] -> slab->free,
 *                      in the slab? -> pop, clear the free tag.
 *   free:              TLS heap -> pages[p's page] -> a block of that slab,
 *                      not free -> push onto slab->local, count.
 *
 * "In the slab" (hk_slab_covers) is a range check of the carved bytes;
 * "a block of the slab" (hk_slab_holds) is one multiplication: it rejects
 * interior pointers, blocks never handed out, the SuperSlab header, other
 * threads' blocks and foreign pointers (whose page slot refers to another
 * page or to none), and every slab with a flag set, which the slow path
 * sorts out.
 */
#ifndef HAKMEM_ALLOC_H
#define HAKMEM_ALLOC_H

#include "internal.h"

/* alloc.c: the out-of-line halves and the other entry points' routes */
HK_HIDDEN HK_COLD void *hk_malloc_local(size_t size);
HK_HIDDEN HK_COLD void *hk_malloc_slow(size_t size);
HK_HIDDEN HK_COLD void hk_free_emptied(hk_slab_t *slab);
HK_HIDDEN HK_COLD void hk_free_slow(void *p);
HK_HIDDEN void *hk_calloc(size_t count, size_t size);
HK_HIDDEN void *hk_realloc(void *p, size_t size);
HK_HIDDEN void *hk_aligned(size_t alignment, size_t size);
HK_HIDDEN int hk_posix_memalign(void **out, size_t alignment, size_t size);
HK_HIDDEN void *hk_memalign(size_t alignment, size_t size);
/* Usable bytes from @p to the end of its block; 0 for pointers not ours. */
HK_HIDDEN size_t hk_usable(const void *p);
HK_HIDDEN bool hk_trim(void);

static inline void *hk_malloc(size_t size)
{
	hk_heap_t *heap = hk_heap_self();

	if (likely(size <= HK_DIRECT_MAX)) {
		hk_slab_t *slab = hk_heap_slab(heap, heap->direct[(size + HK_ALIGN - 1) / HK_ALIGN]);
		hk_block_t *b = slab->free;

		if (likely(hk_slab_covers(slab, b)))
			return hk_slab_pop(slab, b);
		return hk_malloc_local(size);
	}
	return hk_malloc_slow(size);
}

/*
 * Push @p onto @slab, a slab of the calling thread's @heap, if it is a
 * block handed out there; false leaves it to hk_heap_free(), which says
 * what it is (a tag match is a double free).
 */
static inline bool hk_free_local(hk_heap_t *heap, hk_slab_t *slab, void *p)
{
	hk_block_t *b = p;

	if (unlikely(!hk_slab_holds(slab, b) || b->tag == hk_tag_key))
		return false;
	b->tag = hk_tag_key;
	b->link = hk_link(slab->local);
	slab->local = b;
	/* An emptied current slab stays: malloc/free of one block in a loop. */
	if (unlikely(--slab->outstanding == 0) && slab != heap->current[slab->cls])
		hk_free_emptied(slab);
	return true;
}

static inline void hk_free(void *p)
{
	hk_heap_t *heap = hk_heap_self();

	if (likely(hk_free_local(heap, hk_heap_slab(heap, heap->pages[hk_page_slot(p)]), p)))
		return;
	hk_free_slow(p);
}

#endif /* HAKMEM_ALLOC_H */
