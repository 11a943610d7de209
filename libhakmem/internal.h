/* SPDX-License-Identifier: MIT */
/*
 * hakmem internals: the data structures every part of the allocator shares.
 *
 * Memory comes in SuperSlabs: 2 MiB regions aligned to 2 MiB, obtained from
 * a backing (plain mmap, or later the hakmem.ko device).  The first bytes of
 * a SuperSlab hold its header; the rest is divided into 32 pages of 64 KiB.
 * A slab is a run of 1..16 pages carved into blocks of one size class.
 * Each SuperSlab belongs to one thread heap; only that heap's thread
 * allocates from it or touches its free lists.  Other threads that free a
 * block push it onto the owner heap's remote list, which the owner drains.
 *
 * free() finds a block's slab descriptor in one load: the thread's heap maps
 * every 64 KiB page of its own SuperSlabs to the page's descriptor, and
 * the descriptor's bounds say whether the pointer is one of its blocks.
 * A pointer the heap does not map is asked about on the slow path, in a
 * chunk map of which 2 MiB chunks are hakmem's, so a foreign pointer
 * is reported instead of dereferenced; a SuperSlab's header is found by
 * masking: ptr & ~(2 MiB - 1).
 */
#ifndef HAKMEM_INTERNAL_H
#define HAKMEM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "size_class.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define HK_HIDDEN	__attribute__((visibility("hidden")))
#define HK_EXPORT	__attribute__((visibility("default")))
#define HK_COLD		__attribute__((cold, noinline))

#define HK_SS_SHIFT		21
#define HK_SS_SIZE		((size_t)1 << HK_SS_SHIFT)
#define HK_PAGE_SHIFT		16
#define HK_PAGE_SIZE		((size_t)1 << HK_PAGE_SHIFT)
#define HK_PAGES		(HK_SS_SIZE / HK_PAGE_SIZE)
#define HK_ALL_PAGES		UINT32_MAX
/* Page 0 starts after the SuperSlab header. */
#define HK_SS_HEADER_SIZE	4096
#define HK_OS_PAGE		4096

static inline uintptr_t hk_align_up(uintptr_t x, uintptr_t align)
{
	return (x + align - 1) & ~(align - 1);
}

/* ------------------------------------------------------------------ */
/* Lists                                                               */

/*
 * An intrusive doubly-linked list with both ends, for the lists slow
 * paths keep: a heap's SuperSlabs with free pages, the cache of empty
 * SuperSlabs, a heap's slab queue per class.  A node is on one list at a
 * time, and a removed node has NULL links.  Every node lives in a
 * SuperSlab header, so hk_superslab_of() finds its container.
 */
struct hk_list_node {
	struct hk_list_node *next, *prev;
};

struct hk_list {
	struct hk_list_node *head, *tail;
};

static inline void hk_list_push_head(struct hk_list *l, struct hk_list_node *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	else
		l->tail = n;
	l->head = n;
}

static inline void hk_list_push_tail(struct hk_list *l, struct hk_list_node *n)
{
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
}

static inline void hk_list_remove(struct hk_list *l, struct hk_list_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->next = n->prev = NULL;
}

/* ------------------------------------------------------------------ */
/* Blocks and slabs                                                    */

/*
 * A free block.  @tag holds hk_tag_key while the block is free and zero
 * once malloc hands it out, which makes a second free() of the same block
 * detectable in O(1).  @link is the next free block, encoded by hk_link().
 */
typedef struct hk_block {
	uintptr_t link;
	uintptr_t tag;
} hk_block_t;

/* Slab flags: any set bit sends free() to the out-of-line path. */
enum {
	HK_SLAB_FULL	= 1 << 0,	/* no free block; not in its class queue */
	HK_SLAB_TAIL	= 1 << 1,	/* non-first page of a slab; see @index */
	HK_SLAB_UNUSED	= 1 << 2,	/* page belongs to no slab */
};

/*
 * A slab has two free lists, as mimalloc's pages do: malloc pops from
 * @free, free pushes onto @local, and when @free runs dry the slow path
 * moves @local over.  That lets malloc's fast path count nothing:
 * @outstanding counts the blocks not on @local (handed out, or waiting on
 * @free), which only free lowers and the slow path raises, to @carved, when
 * it takes @local.  It reaching 0 means every block came home.  Only the
 * current slab of its class has blocks on @free.
 */
typedef struct hk_slab {
	/* 64 bytes, so that finding a page's descriptor is a shift. */
	_Alignas(64) hk_block_t *free;		/* blocks ready for malloc */
	hk_block_t *local;		/* blocks freed since @free was refilled */
	uint8_t *start;			/* first block */
	uint64_t magic;			/* 2^64 / block_size + 1: see hk_slab_holds() */
	uint64_t limit;			/* see hk_slab_holds(); 0 while a flag is set */
	uint32_t end;			/* see hk_slab_covers(); 0 while a flag is set */
	uint32_t block_size;
	uint16_t outstanding;		/* blocks not on @local */
	uint16_t carved;		/* blocks ever threaded onto @free */
	uint8_t flags;			/* HK_SLAB_*, read racily by remote frees */
	uint8_t cls;
	uint8_t span;			/* pages in this slab */
	uint8_t index;			/* first page (for tails: the head's) */
} hk_slab_t;

_Static_assert(sizeof(hk_slab_t) == 64, "slab descriptor is not 64 bytes");

typedef struct hk_heap hk_heap_t;

typedef struct hk_superslab {
	_Atomic(hk_heap_t *) heap;	/* owner; NULL while cached */
	uint32_t free_pages;		/* bit i: page i belongs to no slab */
	uint32_t dirty_pages;		/* free pages that may hold old data */
	uint64_t dirty_since;		/* hk_clock_ms() when dirty_pages became non-zero */
	uint64_t cached_at;		/* hk_clock_ms() when put in the empty cache */
	struct hk_list_node link;	/* on the owner's @partial, or in the empty cache */
	bool in_partial;		/* on the owner's list of SuperSlabs with free pages */
	/* slabs[i]'s place in its class queue of the owner heap: cold, so kept apart */
	struct hk_list_node queue[HK_PAGES];
	hk_slab_t slabs[HK_PAGES];
} hk_superslab_t;

_Static_assert(sizeof(hk_superslab_t) <= HK_SS_HEADER_SIZE, "SuperSlab header too big");

static inline hk_superslab_t *hk_superslab_of(const void *p)
{
	return (hk_superslab_t *)((uintptr_t)p & ~(HK_SS_SIZE - 1));
}

static inline hk_slab_t *hk_slab_of(hk_superslab_t *ss, const void *p)
{
	/* &ss->slabs[(p >> 16) % 32], with one shift: descriptors are 64 bytes. */
	uintptr_t offset = ((uintptr_t)p >> (HK_PAGE_SHIFT - 6)) & ((HK_PAGES - 1) << 6);

	return (hk_slab_t *)((uintptr_t)ss->slabs + offset);
}

static inline uint8_t hk_slab_flags(const hk_slab_t *slab)
{
	return __atomic_load_n(&slab->flags, __ATOMIC_RELAXED);
}

/*
 * Whether @p is a block of @slab that was carved and the slab has no flag
 * set: the check free() makes of the pointer it gets, with one
 * multiplication instead of a division.
 *
 * With d = block_size, magic M = floor(2^64 / d) + 1 and r = d * M - 2^64
 * (0 < r <= d), an offset n = q * d + m (0 <= m < d) gives
 * n * M mod 2^64 = q * r + m * M as long as that stays below 2^64, which
 * holds for n < 2^32 since M > 2^46.  So n * M < carved * r exactly when
 * m = 0 and q < carved (for m > 0 the product is at least M, far above
 * carved * r).  The first test keeps n below a SuperSlab's size, so a
 * pointer below @start (the SuperSlab header, the slab before, NULL) or
 * far away never reaches the product.
 */
static inline bool hk_slab_holds(const hk_slab_t *slab, const void *p)
{
	uintptr_t n = (uintptr_t)p - (uintptr_t)slab->start;

	return n < HK_SS_SIZE && n * slab->magic < slab->limit;
}

/*
 * Whether @p lies in the carved bytes of @slab, which has no flag set: the
 * check malloc makes of the block it pops, one instruction cheaper than
 * hk_slab_holds().  A range is enough there: free() put only exact blocks
 * on the list, and a link overwritten without the key decodes to an
 * address that falls outside (with odds of carved bytes in 2^32).  The
 * offset is taken modulo 2^32: a pointer below @start wraps to one above
 * 2^32 - 2^21, and NULL gives one at least the slab's size (no slab
 * crosses a 4 GiB boundary), so neither passes.
 */
static inline bool hk_slab_covers(const hk_slab_t *slab, const void *p)
{
	return (uint32_t)((uintptr_t)p - (uintptr_t)slab->start) < slab->end;
}

static inline uint64_t hk_slab_magic(uint32_t block_size)
{
	return (uint64_t)(((unsigned __int128)1 << 64) / block_size) + 1;
}

/*
 * The start of the block of @slab that @p, in its slab, points into,
 * without a division: the high half of n * M is floor(n / d) for n < 2^32,
 * as n * M / 2^64 = n / d + n * r / (d * 2^64) and n * r < 2^64 keeps the
 * second term below 1 / d, too little to carry n / d past an integer.
 */
static inline hk_block_t *hk_slab_block_start(const hk_slab_t *slab, const void *p)
{
	uint64_t n = (uint64_t)((const uint8_t *)p - slab->start);
	uint64_t q = (uint64_t)(((unsigned __int128)n * slab->magic) >> 64);

	return (hk_block_t *)(slab->start + q * slab->block_size);
}

/* Blocks that fit in @slab, a head: its pages less the SuperSlab header in page 0. */
static inline unsigned int hk_slab_capacity(const hk_slab_t *slab)
{
	size_t bytes = slab->span * HK_PAGE_SIZE - (slab->index ? 0 : HK_SS_HEADER_SIZE);

	return (unsigned int)(bytes / slab->block_size);
}

/*
 * Set @slab's flags and the bounds that follow from them and @carved: the
 * limit, carved * r, is the carved bytes times the magic modulo 2^64.
 */
static inline void hk_slab_set_flags(hk_slab_t *slab, uint8_t flags)
{
	__atomic_store_n(&slab->flags, flags, __ATOMIC_RELAXED);
	slab->end = flags ? 0 : (uint32_t)slab->carved * slab->block_size;
	slab->limit = (uint64_t)slab->end * slab->magic;
}

/* ------------------------------------------------------------------ */
/* Chunk map: which 2 MiB chunks of the address space are hakmem's      */

enum {
	HK_CHUNK_NONE = 0,
	HK_CHUNK_SUPERSLAB = 1,
	/* A large allocation whose header is k chunks below: HK_CHUNK_LARGE + k. */
	HK_CHUNK_LARGE = 2,
};

/*
 * The map covers the user address space the kernel hands out without a
 * hint: 47 bits on x86-64 (5-level paging maps above only on request), 48
 * on arm64 (52-bit VA is on request too).  A pointer above is never ours.
 */
#if defined(__x86_64__)
#define HK_ADDR_BITS		47
#elif defined(__aarch64__)
#define HK_ADDR_BITS		48
#else
#error "hakmem: set HK_ADDR_BITS to this target's user address space"
#endif
#define HK_CHUNKS		((size_t)1 << (HK_ADDR_BITS - HK_SS_SHIFT))

/*
 * Two levels (chunk_map.c): a root of leaf pointers, and leaves of one
 * byte per chunk, each covering 128 GiB of address space.  free()'s slow
 * path asks with two dependent loads; a missing leaf means no chunk of
 * ours.
 */
#define HK_CHUNK_LEAF_BITS	16
#define HK_CHUNK_LEAF_SIZE	((size_t)1 << HK_CHUNK_LEAF_BITS)
#define HK_CHUNK_LEAVES		(HK_CHUNKS >> HK_CHUNK_LEAF_BITS)

extern HK_HIDDEN _Atomic(uint8_t *) hk_chunk_root[HK_CHUNK_LEAVES];

static inline unsigned int hk_chunk_kind(const void *p)
{
	uintptr_t chunk = (uintptr_t)p >> HK_SS_SHIFT;
	uint8_t *leaf;

	if (unlikely(chunk >= HK_CHUNKS))
		return HK_CHUNK_NONE;
	leaf = atomic_load_explicit(&hk_chunk_root[chunk >> HK_CHUNK_LEAF_BITS],
				    memory_order_acquire);
	if (!leaf)
		return HK_CHUNK_NONE;
	return __atomic_load_n(&leaf[chunk & (HK_CHUNK_LEAF_SIZE - 1)], __ATOMIC_RELAXED);
}

HK_HIDDEN bool hk_chunk_map_set(const void *chunk, unsigned int kind);

/* ------------------------------------------------------------------ */
/* Thread heaps                                                        */

/* Every heap's counters summed, for the HAKMEM_STATS summary (hk_heaps_stats()). */
struct hk_heap_stats {
	uint64_t slabs_made[HK_CLASSES];	/* slabs carved for each class */
	uint64_t slabs_retired;
	uint64_t remote_frees_sent;
	uint64_t remote_frees_drained;
	uint64_t superslabs_acquired;
	uint64_t superslabs_released;
};

/*
 * The SuperSlab side of a heap, superslab.c's own: the heap's SuperSlabs
 * with free pages, how many it owns, each owned SuperSlab's page bits, and
 * their counters.  The owner changes it on slab slow paths, the purger
 * purges free pages: both under @lock.  The fast paths never look at it,
 * and superslab.c writes nothing of the heap's but this: what the heap
 * must map or unmap in its page table it learns from superslab.c's
 * answers.
 */
struct hk_heap_superslabs {
	pthread_mutex_t lock;
	struct hk_list partial;		/* by hk_superslab_t.link */
	unsigned int count;
	uint64_t slabs_made[HK_CLASSES];	/* slabs carved for each class */
	uint64_t slabs_retired;
	uint64_t acquired;
	uint64_t released;
};

/*
 * A heap's reference to a slab descriptor: its address less the heap's.
 * Zero, what fresh memory holds, refers to the heap's @none, so the fast
 * paths' tables need no initialisation and no test for "no slab".
 */
typedef intptr_t hk_slab_ref_t;

/*
 * The heap's page table: slot hk_page_slot(p) refers to the descriptor of
 * p's page if p is in a SuperSlab the heap owns, else to another of its
 * pages or to @none.  free()'s fast path loads it and lets the descriptor's
 * bounds (hk_slab_holds()) tell which: only a block of the heap's own
 * passes, so what it then writes is the calling thread's.  The slot is
 * the page number modulo 2^16, which the 32-bit shift gives for free:
 * 512 KiB of table, touched 256 bytes per SuperSlab, cover 4 GiB of
 * SuperSlabs; the rare SuperSlab whose slots another one took is freed
 * into by the slow path, which maps it again.
 */
#define HK_PAGE_SLOTS		((size_t)1 << (32 - HK_PAGE_SHIFT))

static inline unsigned int hk_page_slot(const void *p)
{
	return (uint32_t)(uintptr_t)p >> HK_PAGE_SHIFT;
}

struct hk_heap {
	/*
	 * Alone on the first page, which is read-only: the slab zero
	 * references resolve to.  It holds no byte (start, end, magic and
	 * limit are 0), so the fast paths send it to their slow paths.
	 */
	_Alignas(HK_OS_PAGE) hk_slab_t none;
	/* malloc fast path: current slab of each size up to HK_DIRECT_MAX, by hk_direct_slot(). */
	_Alignas(HK_OS_PAGE) hk_slab_ref_t direct[HK_DIRECT_SLOTS];
	/* free fast path; changed by the owner (or, while pooled, a holder of hk_heaps_lock). */
	hk_slab_ref_t pages[HK_PAGE_SLOTS];
	/* Current slab of each class: the head of its queue, or &none. */
	hk_slab_t *current[HK_CLASSES];
	struct hk_list queues[HK_CLASSES];		/* of hk_superslab_t.queue nodes */
	struct hk_heap_superslabs superslabs;
	uint64_t last_decay;		/* hk_clock_ms() of the owner's last decay pass */
	uint64_t remote_frees_sent;	/* by this heap's thread */
	uint64_t remote_frees_drained;	/* into this heap */
	hk_heap_t *next_all;		/* every heap ever made (immortal) */
	hk_heap_t *next_pool;		/* heaps of exited threads awaiting reuse */
	bool orphaned;			/* its thread did not survive a fork: never touched again */
	/* Blocks freed by other threads; its own line, as other threads write it. */
	_Alignas(64) _Atomic(hk_block_t *) remote;
	/* Changed under hk_heaps_lock; read by the remote frees that find @remote empty. */
	_Atomic bool pooled;
	_Atomic bool queued;		/* on the pool's drain stack, or about to be */
	hk_heap_t *next_drain;		/* written by whoever set @queued */
};

static inline hk_slab_t *hk_heap_slab(hk_heap_t *heap, hk_slab_ref_t ref)
{
	return (hk_slab_t *)((uintptr_t)heap + (uintptr_t)ref);
}

static inline hk_slab_ref_t hk_slab_ref(const hk_heap_t *heap, const hk_slab_t *slab)
{
	return (hk_slab_ref_t)((uintptr_t)slab - (uintptr_t)heap);
}

/* Map the pages of @ss, a SuperSlab @heap owns, in @heap's page table. */
static inline void hk_heap_map_pages(hk_heap_t *heap, hk_superslab_t *ss)
{
	hk_slab_ref_t *slot = &heap->pages[hk_page_slot(ss)];

	for (unsigned int i = 0; i < HK_PAGES; i++)
		slot[i] = hk_slab_ref(heap, &ss->slabs[i]);
}

/* Unmap the pages of @ss from @heap's page table, unless another SuperSlab took them. */
static inline void hk_heap_unmap_pages(hk_heap_t *heap, hk_superslab_t *ss)
{
	hk_slab_ref_t *slot = &heap->pages[hk_page_slot(ss)];

	if (slot[0] == hk_slab_ref(heap, &ss->slabs[0]))
		memset(slot, 0, HK_PAGES * sizeof(*slot));
}

/*
 * The heap of threads that have none: all zero, every reference to its
 * @none, and read-only once the process is set up, so any write through
 * it (a bug) faults instead of corrupting shared state.
 */
extern HK_HIDDEN hk_heap_t hk_heap_empty;

extern HK_HIDDEN __thread hk_heap_t *hk_tls_heap __attribute__((tls_model("initial-exec")));

static inline hk_heap_t *hk_heap_self(void)
{
	return hk_tls_heap;
}

/* ------------------------------------------------------------------ */
/* Process-wide state (state.c), options and locks                    */

enum hk_backing_choice {
	HK_BACKING_AUTO, HK_BACKING_KMOD, HK_BACKING_POPULATE, HK_BACKING_MMAP,
};

struct hk_options {
	bool stats;			/* HAKMEM_STATS: summary to stderr at exit */
	uint64_t decay_ms;		/* HAKMEM_DECAY_MS: keep unused memory this long */
	enum hk_backing_choice backing;	/* HAKMEM_BACKING */
};

extern HK_HIDDEN struct hk_options hk_options;
/*
 * The key of free tags and free-list links.  It must not change once a
 * block exists: set-up mixes AT_RANDOM into the built-in value before
 * anything can allocate.
 */
#define HK_TAG_KEY_BUILTIN	0x9e3779b97f4a7c15u
extern HK_HIDDEN uintptr_t hk_tag_key;
/*
 * Process-wide locks, in the order they nest (the fork handlers take them
 * all in this order).  None is taken on a malloc/free fast path.
 */
extern HK_HIDDEN pthread_mutex_t hk_heaps_lock;	/* heap list and heap pool */
extern HK_HIDDEN pthread_mutex_t hk_cache_lock;	/* empty-SuperSlab cache */
extern HK_HIDDEN pthread_mutex_t hk_backing_lock;	/* the backing's stock */
extern HK_HIDDEN pthread_mutex_t hk_large_lock;	/* large-mapping cache */
extern HK_HIDDEN pthread_mutex_t hk_purge_lock;	/* the purger's state */

/*
 * Free-list links are stored as next ^ a per-process secret, as glibc's
 * safe-linking does with the block's address: a stray or hostile write into
 * a free block cannot aim the list at an address of its choice, and what it
 * leaves decodes to garbage that hk_slab_covers() rejects before malloc
 * hands it out.  The secret is the tag key: free() has it at hand, and a
 * second key would not resist a reader of free blocks either (the tag shows
 * the key, and next and the block are close anyway).
 */
static inline uintptr_t hk_link(const hk_block_t *next)
{
	return (uintptr_t)next ^ hk_tag_key;
}

static inline hk_block_t *hk_next(const hk_block_t *b)
{
	return (hk_block_t *)(b->link ^ hk_tag_key);
}

/* Hand out @b, the first free block of @slab (hk_slab_covers() said yes). */
static inline void *hk_slab_pop(hk_slab_t *slab, hk_block_t *b)
{
	slab->free = hk_next(b);
	b->tag = 0;
	return b;
}

/*
 * Refill @slab's empty @free with the blocks freed into it: every carved
 * block is then off @local.  False if none was.
 */
static inline bool hk_slab_take_local(hk_slab_t *slab)
{
	if (!slab->local)
		return false;
	slab->free = slab->local;
	slab->local = NULL;
	slab->outstanding = slab->carved;
	return true;
}

/* Written before an over-aligned pointer @p into a block, where the block starts. */
static inline uintptr_t hk_aligned_mark(const void *p)
{
	return ~((uintptr_t)p ^ hk_tag_key);
}

extern HK_HIDDEN pthread_key_t hk_heap_key;	/* runs hk_heap_thread_exit() */

/* fatal.c: "hakmem: @what: @p" on stderr, then abort() */
HK_COLD __attribute__((noreturn)) void hk_fatal(const char *what, const void *p);

HK_HIDDEN void hk_process_init(void);

/* os.c: memory and time from the kernel */
HK_HIDDEN void *hk_os_map(size_t size);
HK_HIDDEN void *hk_os_map_aligned(size_t size, size_t align, bool reserve_only);
HK_HIDDEN void hk_os_unmap(void *addr, size_t size);
HK_HIDDEN void hk_os_purge(void *addr, size_t size);
HK_HIDDEN void hk_os_seal(void *addr, size_t size);
HK_HIDDEN uint64_t hk_clock_ms(void);

/*
 * helper.c: hakmem's own threads.  Each blocks every signal; its run()
 * returns once hk_helper_stopping(), which its wake() makes it look at.
 */
#define HK_HELPER_STACK		(64 * 1024)

struct hk_helper {
	const char *name;		/* the thread's name, as ps and top show it */
	void (*run)(struct hk_helper *h);
	void (*wake)(void);
	/* helper.c's own */
	pthread_t thread;
	pid_t pid;			/* the process it runs in */
	_Atomic pid_t tid;
	_Atomic int state;
	bool registered;
	struct hk_helper *next;
};
/* Start @h unless it runs; true if this call started it.  No hakmem lock may be held. */
HK_HIDDEN bool hk_helper_start(struct hk_helper *h);
HK_HIDDEN bool hk_helper_stopping(const struct hk_helper *h);
/* Around a call the kernel allows only single-threaded processes. */
HK_HIDDEN void hk_helpers_pause(void);
HK_HIDDEN void hk_helpers_resume(void);
HK_HIDDEN void hk_helpers_fork_child(void);

/* backing*.c: where SuperSlabs come from */
struct hk_backing {
	const char *name;
	/* @size bytes, a multiple of HK_SS_SIZE, aligned to it, reading as zeros. */
	void *(*map)(size_t size);
	void (*unmap)(void *addr, size_t size);
	/* Drop the contents of a range that stays mapped; it reads back as zeros. */
	void (*purge)(void *addr, size_t size);
	/* Unmap what was mapped ahead of demand (NULL: nothing is); true if anything. */
	bool (*trim)(void);
};
extern HK_HIDDEN const struct hk_backing *hk_backing;
extern HK_HIDDEN const struct hk_backing hk_mmap_backing, hk_populate_backing, hk_kmod_backing;
HK_HIDDEN void hk_backing_init(void);
HK_HIDDEN bool hk_kmod_backing_open(bool required);
HK_HIDDEN void hk_populate_fork_child(void);


/* superslab.c */
/* A new slab of @cls; *@adopted is the SuperSlab @heap took for it, if it took one. */
HK_HIDDEN hk_slab_t *hk_superslab_new_slab(hk_heap_t *heap, unsigned int cls,
					   hk_superslab_t **adopted);
/* Retire @slab; if that emptied its SuperSlab, return it for hk_superslab_release(). */
HK_HIDDEN hk_superslab_t *hk_superslab_free_slab(hk_heap_t *heap, hk_slab_t *slab);
/* Give up @ss, emptied and gone from the heap's page table, to the cache. */
HK_HIDDEN void hk_superslab_release(hk_superslab_t *ss);
HK_HIDDEN void hk_superslab_purge_slab(hk_slab_t *slab);
HK_HIDDEN bool hk_superslab_decay(hk_heap_t *heap, uint64_t now, bool force);
HK_HIDDEN bool hk_superslab_cache_trim(bool force);
HK_HIDDEN bool hk_superslab_cache_decay(void);
HK_HIDDEN hk_slab_t *hk_slab_head(hk_superslab_t *ss, hk_slab_t *slab);

/* heap.c */
HK_HIDDEN void *hk_heap_malloc(size_t size);
HK_HIDDEN void *hk_heap_alloc_class(hk_heap_t *heap, unsigned int cls);
HK_HIDDEN void hk_heap_free(void *p);
HK_HIDDEN void hk_slab_emptied(hk_slab_t *slab);
HK_HIDDEN void *hk_slab_aligned_block(void *block, size_t alignment);
HK_HIDDEN void hk_heaps_init(void);
HK_HIDDEN hk_heap_t *hk_heap_init_thread(void);
HK_HIDDEN void hk_heap_thread_exit(void *heap);
HK_HIDDEN bool hk_heap_collect(hk_heap_t *heap, bool force);
HK_HIDDEN bool hk_heaps_trim(void);
HK_HIDDEN bool hk_heaps_decay(void);
HK_HIDDEN void hk_heaps_fork_child(void);
HK_HIDDEN void hk_heaps_stats(struct hk_heap_stats *sum, unsigned int *heaps,
			      unsigned int *pooled);

/* large.c */
HK_HIDDEN void *hk_large_alloc(size_t size, size_t alignment, bool zero);
HK_HIDDEN void hk_large_free(void *p, unsigned int kind);
HK_HIDDEN void *hk_large_resize(void *p, unsigned int kind, size_t size);
HK_HIDDEN size_t hk_large_usable(const void *p, unsigned int kind);
HK_HIDDEN bool hk_large_cache_trim(bool force);
HK_HIDDEN bool hk_large_cache_decay(void);

/*
 * purge.c: the background purger.  Any layer, without a lock, says when
 * the process grows big enough to need one (hk_purge_need()) and when
 * memory is left to decay (hk_purge_want()), in flags of state.c; the API
 * layer passes both on where it holds no hakmem lock (alloc.c): malloc's
 * slow paths start the purger (pthread_create() calls malloc), malloc and
 * free wake it.
 */
enum { HK_PURGE_UNNEEDED, HK_PURGE_NEEDED, HK_PURGE_STARTED };
extern HK_HIDDEN _Atomic int hk_purge_state;
extern HK_HIDDEN _Atomic bool hk_purge_wanted;
HK_HIDDEN void hk_purge_start(void);
HK_HIDDEN void hk_purge_kick(void);
HK_HIDDEN void hk_purge_fork_child(void);

static inline void hk_purge_need(void)
{
	int unneeded = HK_PURGE_UNNEEDED;

	if (atomic_load_explicit(&hk_purge_state, memory_order_relaxed) == HK_PURGE_UNNEEDED)
		atomic_compare_exchange_strong_explicit(&hk_purge_state, &unneeded, HK_PURGE_NEEDED,
							memory_order_relaxed, memory_order_relaxed);
}

static inline void hk_purge_want(void)
{
	if (!atomic_load_explicit(&hk_purge_wanted, memory_order_relaxed))
		atomic_store_explicit(&hk_purge_wanted, true, memory_order_relaxed);
}

/* state.c: the process-wide counters; stats.c presents them */
struct hk_global_stats {
	_Atomic uint64_t ss_mapped;		/* SuperSlabs mapped from the backing */
	_Atomic uint64_t ss_unmapped;
	_Atomic uint64_t ss_cache_hits;
	_Atomic uint64_t large_allocs;
	_Atomic uint64_t large_frees;
	_Atomic uint64_t large_cache_hits;
	_Atomic uint64_t large_bytes_live;	/* bytes mapped for large blocks */
	_Atomic uint64_t large_bytes_peak;
	_Atomic uint64_t ss_live;
	_Atomic uint64_t ss_peak;
	_Atomic uint64_t purged_bytes;
};
extern HK_HIDDEN struct hk_global_stats hk_stats;

/* Add @delta to @live and raise @peak to the new value if it is higher. */
static inline void hk_stat_peak(_Atomic uint64_t *live, _Atomic uint64_t *peak, int64_t delta)
{
	uint64_t now = atomic_fetch_add_explicit(live, (uint64_t)delta, memory_order_relaxed) +
		       (uint64_t)delta;
	uint64_t seen = atomic_load_explicit(peak, memory_order_relaxed);

	while (delta > 0 && now > seen &&
	       !atomic_compare_exchange_weak_explicit(peak, &seen, now, memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* stats.c */
HK_HIDDEN void hk_stats_init(void);
HK_HIDDEN void hk_stats_print(void);
struct mallinfo2;
HK_HIDDEN void hk_stats_mallinfo(struct mallinfo2 *mi);

#endif /* HAKMEM_INTERNAL_H */
