// SPDX-License-Identifier: MIT
/*
 * The public API: malloc and friends, their fast paths, the hakmem_*
 * names for the same functions, and C++'s operator new and delete.
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
 *
 * The out-of-line halves here run process set-up and route by size and
 * by chunk kind: tiny and mid blocks to heap.c, large ones to large.c.
 * This file is the top of a one-way stack:
 *
 *   alloc.c, unshare.c, init.c, stats.c, purge.c -> heap.c / large.c
 *   -> superslab.c -> backing*.c -> os.c / chunk_map.c / helper.c,
 *   with state.c's variables below and fatal.c beside them all.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "internal.h"

static HK_COLD void *hk_malloc_slow(size_t size);

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
static HK_COLD void *hk_malloc_local(size_t size)
{
	hk_heap_t *heap = hk_heap_self();
	hk_slab_t *slab = hk_heap_slab(heap, heap->direct[hk_direct_slot(size)]);

	if (!slab->free && hk_slab_take_local(slab) && hk_slab_covers(slab, slab->free))
		return hk_slab_pop(slab, slab->free);
	return hk_malloc_slow(size);
}

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
 * The out-of-line ends of free(): after either, memory may be left to
 * decay, which the purger hears of here, where no hakmem lock is held.
 */
static HK_COLD void hk_free_emptied(hk_slab_t *slab)
{
	hk_slab_emptied(slab);
	hk_purge_poll();
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

static HK_COLD void hk_free_slow(void *p)
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

static inline void hk_free(void *p)
{
	hk_heap_t *heap = hk_heap_self();

	if (likely(hk_free_local(heap, hk_heap_slab(heap, heap->pages[hk_page_slot(p)]), p)))
		return;
	hk_free_slow(p);
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
static void *hk_malloc_slow(size_t size)
{
	void *p;

	if (size > HK_MID_MAX)
		return hk_large(size, 0, false);
	hk_process_init();
	p = hk_heap_malloc(size);
	hk_purge_poll_malloc();
	return p;
}

/* Usable bytes from @p to the end of its block; 0 for pointers not ours. */
static size_t hk_usable(const void *p)
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

static void *hk_calloc(size_t count, size_t size)
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

static void *hk_realloc(void *p, size_t size)
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

static void *hk_aligned(size_t alignment, size_t size)
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

static int hk_posix_memalign(void **out, size_t alignment, size_t size)
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
static void *hk_memalign(size_t alignment, size_t size)
{
	if (unlikely(alignment > SIZE_MAX / 2 + 1)) {
		errno = EINVAL;
		return NULL;
	}
	if (unlikely(alignment & (alignment - 1)))
		alignment = (size_t)2 << (63 - __builtin_clzl(alignment));
	return hk_aligned(alignment, size);
}

static bool hk_trim(void)
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

/* ------------------------------------------------------------------ */
/* The standard names, unless built to sit beside another malloc       */

#ifndef HAKMEM_NO_OVERRIDE

HK_EXPORT void *malloc(size_t size)
{
	return hk_malloc(size);
}

HK_EXPORT void free(void *p)
{
	hk_free(p);
}

HK_EXPORT void *calloc(size_t count, size_t size)
{
	return hk_calloc(count, size);
}

HK_EXPORT void *realloc(void *p, size_t size)
{
	return hk_realloc(p, size);
}

HK_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(count, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return hk_realloc(p, bytes);
}

HK_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
{
	return hk_posix_memalign(out, alignment, size);
}

HK_EXPORT void *aligned_alloc(size_t alignment, size_t size)
{
	return hk_memalign(alignment, size);
}

HK_EXPORT void *memalign(size_t alignment, size_t size)
{
	return hk_memalign(alignment, size);
}

HK_EXPORT void *valloc(size_t size)
{
	return hk_aligned(HK_OS_PAGE, size);
}

HK_EXPORT void *pvalloc(size_t size)
{
	size_t rounded = hk_align_up(size ? size : 1, HK_OS_PAGE);

	if (rounded < size) {
		errno = ENOMEM;
		return NULL;
	}
	return hk_aligned(HK_OS_PAGE, rounded);
}

HK_EXPORT size_t malloc_usable_size(void *p)
{
	return hk_usable(p);
}

/* C23; glibc 2.36's <stdlib.h> predates them.  The sizes are hints hakmem does not need. */
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t alignment, size_t size);

HK_EXPORT void free_sized(void *p, size_t size)
{
	(void)size;
	hk_free(p);
}

HK_EXPORT void free_aligned_sized(void *p, size_t alignment, size_t size)
{
	(void)alignment;
	(void)size;
	hk_free(p);
}

/* ------------------------------------------------------------------ */
/* C++'s operator new and delete                                       */

/*
 * C++ programs reach malloc through operator new and delete, which the C++
 * runtime implements by calling malloc and free: two calls and a PLT jump
 * more per pair, 4% of alloc-test's time.  Like mimalloc, jemalloc and
 * tcmalloc, hakmem defines the operators itself, under their Itanium C++
 * ABI names (size_t is "m"; std::align_val_t is a size_t and
 * std::nothrow_t, empty, is passed by reference).
 *
 * C cannot throw.  When hakmem has no memory, the operator new the
 * program would have had (the C++ runtime's, the next definition after
 * this library) takes over: it calls malloc again, runs the new_handler,
 * and throws std::bad_alloc or, for the nothrow forms, returns NULL, as
 * the standard asks.  new[] is new in every C++ runtime, so each array
 * form is an alias, and falls back on the single-object form.  A program
 * linked with libhakmem.a and a static C++ runtime has no next definition
 * and stops with a message instead.
 */
_Static_assert(__builtin_types_compatible_p(size_t, unsigned long),
	       "operator new's names below spell size_t as unsigned long");

typedef void *hk_new_fn(size_t size);
typedef void *hk_new_nothrow_fn(size_t size, const void *nothrow);
typedef void *hk_new_aligned_fn(size_t size, size_t alignment);
typedef void *hk_new_aligned_nothrow_fn(size_t size, size_t alignment, const void *nothrow);

static HK_COLD void *hk_next_new(const char *name)
{
	void *next = dlsym(RTLD_NEXT, name);

	if (!next)
		hk_fatal("operator new: out of memory, and no C++ runtime to report it", NULL);
	return next;
}

#define HK_NEW(name, array_name, type, params, alloc, args)			\
	HK_EXPORT type name;							\
	HK_EXPORT type array_name __attribute__((alias(#name)));		\
	void *name params							\
	{									\
		void *p = alloc;						\
										\
		if (unlikely(!p))						\
			p = ((type *)hk_next_new(#name))args;			\
		return p;							\
	}
HK_NEW(_Znwm, _Znam, hk_new_fn, (size_t size), hk_malloc(size), (size))
HK_NEW(_ZnwmRKSt9nothrow_t, _ZnamRKSt9nothrow_t, hk_new_nothrow_fn,
       (size_t size, const void *nothrow), hk_malloc(size), (size, nothrow))
HK_NEW(_ZnwmSt11align_val_t, _ZnamSt11align_val_t, hk_new_aligned_fn,
       (size_t size, size_t alignment), hk_memalign(alignment, size), (size, alignment))
HK_NEW(_ZnwmSt11align_val_tRKSt9nothrow_t, _ZnamSt11align_val_tRKSt9nothrow_t,
       hk_new_aligned_nothrow_fn, (size_t size, size_t alignment, const void *nothrow),
       hk_memalign(alignment, size), (size, alignment, nothrow))

/*
 * Every form of operator delete is free(): hakmem needs neither the size
 * nor the alignment (an over-aligned block is freed by its own pointer).
 */
#define HK_UNUSED	__attribute__((unused))
#define HK_DELETE(name, array_name, ...)					\
	HK_EXPORT void name(void *p, ##__VA_ARGS__);				\
	HK_EXPORT void array_name(void *p, ##__VA_ARGS__) __attribute__((alias(#name))); \
	void name(void *p, ##__VA_ARGS__)					\
	{									\
		hk_free(p);							\
	}
HK_DELETE(_ZdlPv, _ZdaPv)
HK_DELETE(_ZdlPvm, _ZdaPvm, size_t size HK_UNUSED)
HK_DELETE(_ZdlPvRKSt9nothrow_t, _ZdaPvRKSt9nothrow_t, const void *nothrow HK_UNUSED)
HK_DELETE(_ZdlPvSt11align_val_t, _ZdaPvSt11align_val_t, size_t alignment HK_UNUSED)
HK_DELETE(_ZdlPvmSt11align_val_t, _ZdaPvmSt11align_val_t,
	  size_t size HK_UNUSED, size_t alignment HK_UNUSED)
HK_DELETE(_ZdlPvSt11align_val_tRKSt9nothrow_t, _ZdaPvSt11align_val_tRKSt9nothrow_t,
	  size_t alignment HK_UNUSED, const void *nothrow HK_UNUSED)

HK_EXPORT int malloc_trim(size_t pad)
{
	(void)pad;
	return hk_trim();
}

HK_EXPORT void malloc_stats(void)
{
	hk_stats_print();
}

HK_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;

	hk_stats_mallinfo(&mi);
	return mi;
}

HK_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 mi2;
	struct mallinfo mi = { 0 };

	hk_stats_mallinfo(&mi2);
	mi.arena = (int)mi2.arena;
	mi.hblks = (int)mi2.hblks;
	mi.hblkhd = (int)mi2.hblkhd;
	mi.uordblks = (int)mi2.uordblks;
	mi.fordblks = (int)mi2.fordblks;
	return mi;
}

/*
 * hakmem sizes its caches and decay itself; glibc's knobs (arena count,
 * trim and mmap thresholds, ...) are accepted and have no effect.
 */
HK_EXPORT int mallopt(int param, int value)
{
	(void)param;
	(void)value;
	return 1;
}

#endif /* HAKMEM_NO_OVERRIDE */
