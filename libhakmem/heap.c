// SPDX-License-Identifier: MIT
/*
 * Thread heaps: the slow paths of malloc and free.
 *
 * Each thread allocates from its own heap without locks or atomic
 * read-modify-write operations.  Per size class the heap keeps a queue of
 * slabs that still have free (or not yet carved) blocks; the queue head is
 * the class's "current" slab, which the malloc fast path pops from.
 *
 *  - A slab that runs dry leaves its queue and is flagged FULL; the next
 *    free into it (an out-of-line free, because of the flag) puts it back.
 *  - A slab whose last block comes home is retired to its SuperSlab, unless
 *    it is the current slab of its class (it would be needed right away);
 *    the owner's next decay pass purges that one's pages if still empty.
 *  - Blocks freed by other threads arrive on heap->remote, a lock-free
 *    stack; the owner drains it when a class runs dry, so remote frees are
 *    reused without the owner ever taking a lock.
 *
 * Heaps are never destroyed.  When a thread exits its heap goes to a pool
 * and the next new thread adopts it with everything it owns.  While pooled,
 * heaps are owned by hk_heaps_lock: any thread holding it may drain their
 * remote frees, so memory freed into an exited thread's heap is recycled
 * even when no new thread comes along.  The pooled heaps that have remote
 * frees waiting are queued on a lock-free stack, so a slow path drains
 * those without walking a pool of however many exited threads.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define HK_DIRECT_CLASSES	(hk_size_class(HK_DIRECT_MAX) + 1)

/* In .bss, so its 512 KiB cost neither file size nor memory; hk_heaps_init() seals it. */
hk_heap_t hk_heap_empty;

__thread hk_heap_t *hk_tls_heap = &hk_heap_empty;

pthread_mutex_t hk_heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static hk_heap_t *heaps_all;	/* guarded by hk_heaps_lock */
static hk_heap_t *heaps_pool;	/* guarded by hk_heaps_lock */
/*
 * Pooled heaps with remote frees waiting, linked by next_drain.  Pushed by
 * anyone without a lock (free() must take none: glibc calls it with locks
 * of its own held) and only ever taken whole, so no ABA; a heap is on it
 * at most once, as its @queued says.
 */
static _Atomic(hk_heap_t *) heaps_drain;

/* ------------------------------------------------------------------ */
/* Class queues                                                        */

static void set_current(hk_heap_t *heap, unsigned int cls, hk_slab_t *slab)
{
	heap->current[cls] = slab;
	if (cls < HK_DIRECT_CLASSES) {
		unsigned int lo = cls ? hk_direct_slot(hk_class_size(cls - 1)) + 1 : 0;
		unsigned int hi = hk_direct_slot(hk_class_size(cls));

		for (unsigned int i = lo; i <= hi; i++)
			heap->direct[i] = hk_slab_ref(heap, slab);
	}
}

/* A slab's node in its class queue, kept in its SuperSlab's header apart from the slab. */
static struct hk_list_node *queue_node(hk_slab_t *slab)
{
	hk_superslab_t *ss = hk_superslab_of(slab);

	return &ss->queue[slab - ss->slabs];
}

/* The slab at the head of @cls's queue, or NULL. */
static hk_slab_t *queue_head(hk_heap_t *heap, unsigned int cls)
{
	struct hk_list_node *node = heap->queues[cls].head;
	hk_superslab_t *ss;

	if (!node)
		return NULL;
	ss = hk_superslab_of(node);
	return &ss->slabs[node - ss->queue];
}

static void queue_push(hk_heap_t *heap, hk_slab_t *slab)
{
	hk_list_push_tail(&heap->queues[slab->cls], queue_node(slab));
	if (queue_head(heap, slab->cls) == slab)
		set_current(heap, slab->cls, slab);
}

static void queue_remove(hk_heap_t *heap, hk_slab_t *slab)
{
	hk_slab_t *head;

	hk_list_remove(&heap->queues[slab->cls], queue_node(slab));
	if (heap->current[slab->cls] == slab) {
		head = queue_head(heap, slab->cls);
		set_current(heap, slab->cls, head ? head : &heap->none);
	}
}

/* ------------------------------------------------------------------ */
/* Slabs                                                               */

/*
 * Thread up to a page worth of never-used blocks onto the free list.
 * Carving lazily keeps untouched memory untouched (no faults, no RSS).
 */
static hk_block_t *slab_extend(hk_slab_t *slab)
{
	uint32_t left = hk_slab_capacity(slab) - slab->carved;
	uint32_t count = HK_OS_PAGE / slab->block_size;
	uint8_t *p;

	if (!left)
		return NULL;
	if (count == 0)
		count = 1;
	if (count > left)
		count = left;
	p = slab->start + (size_t)slab->carved * slab->block_size;
	for (uint32_t i = 0; i + 1 < count; i++, p += slab->block_size)
		((hk_block_t *)p)->link = hk_link((hk_block_t *)(p + slab->block_size));
	((hk_block_t *)p)->link = hk_link(slab->free);
	slab->free = (hk_block_t *)(slab->start + (size_t)slab->carved * slab->block_size);
	__atomic_store_n(&slab->carved, slab->carved + count, __ATOMIC_RELAXED);
	slab->outstanding += count;
	hk_slab_set_flags(slab, slab->flags);	/* the limit grows with carved */
	return slab->free;
}

/*
 * Whether no block of @slab, a current slab, is handed out: its
 * outstanding blocks are all on @free.  Walks @free, which is at most a
 * slab's worth of blocks, on the decay and trim paths only.
 */
static bool slab_idle(const hk_slab_t *slab)
{
	unsigned int waiting = 0;

	for (hk_block_t *b = slab->free; b; b = hk_next(b)) {
		if (!hk_slab_covers(slab, b) || ++waiting > slab->outstanding)
			hk_fatal("malloc(): corrupted free list", b);
	}
	return waiting == slab->outstanding;
}

/*
 * Give @slab back to its SuperSlab; a SuperSlab that empties leaves the
 * page table before the cache, where another heap may adopt it.
 */
static void retire_slab(hk_heap_t *heap, hk_slab_t *slab)
{
	hk_superslab_t *emptied;

	queue_remove(heap, slab);
	emptied = hk_superslab_free_slab(heap, slab);
	if (emptied) {
		hk_heap_unmap_pages(heap, emptied);
		hk_superslab_release(emptied);
	}
}

/* Retire the current slabs that have no block in use (the others retire when they empty). */
static bool retire_empty_current_slabs(hk_heap_t *heap)
{
	bool any = false;

	for (unsigned int cls = 0; cls < HK_CLASSES; cls++) {
		hk_slab_t *slab = queue_head(heap, cls);

		if (slab && slab_idle(slab)) {
			retire_slab(heap, slab);
			any = true;
		}
	}
	return any;
}

/*
 * Give back the pages of the current slabs that have emptied, and let them
 * carve again from the start: a block that grew through the mid sizes (an
 * interpreter's stack) leaves each size's slab empty behind it, 8 MiB of
 * the Lua test suite's peak.  The slabs stay: retiring them instead moved
 * the classes a program uses now and then to new slabs all the time, which
 * scattered them over more SuperSlabs (espresso's peak 3.3 -> 5.5 MiB).
 * Slabs that carved less than HK_SLAB_PURGE_MIN are not worth a syscall.
 */
#define HK_SLAB_PURGE_MIN	(16 * 1024)

static void purge_empty_current_slabs(hk_heap_t *heap)
{
	for (unsigned int cls = 0; cls < HK_CLASSES; cls++) {
		hk_slab_t *slab = queue_head(heap, cls);

		if (!slab || (size_t)slab->carved * slab->block_size < HK_SLAB_PURGE_MIN ||
		    !slab_idle(slab))
			continue;
		hk_superslab_purge_slab(slab);
	}
}

/* The owner's decay pass, at most twice per HAKMEM_DECAY_MS. */
static void maybe_decay(hk_heap_t *heap)
{
	uint64_t now = hk_clock_ms();

	if (now - heap->last_decay < hk_options.decay_ms / 2)
		return;
	heap->last_decay = now;
	purge_empty_current_slabs(heap);
	hk_superslab_decay(heap, now, false);
}

/*
 * A slab whose last block came home goes back to its SuperSlab at once,
 * unless it is its class's current slab: its pages are reused by the next
 * slab of any class, and a SuperSlab that empties goes to the cache, where
 * the purger finds it even if this thread never calls malloc again.
 */
void hk_slab_emptied(hk_slab_t *slab)
{
	hk_heap_t *heap = atomic_load_explicit(&hk_superslab_of(slab)->heap, memory_order_relaxed);

	if (heap->current[slab->cls] == slab)
		return;
	retire_slab(heap, slab);
	maybe_decay(heap);
}

/* Free @b into @slab, which @heap owns. */
static void free_local(hk_heap_t *heap, hk_slab_t *slab, hk_block_t *b)
{
	uint8_t flags = slab->flags;

	b->link = hk_link(slab->local);
	b->tag = hk_tag_key;
	slab->local = b;
	if (flags & HK_SLAB_FULL) {
		hk_slab_set_flags(slab, flags & ~HK_SLAB_FULL);
		queue_push(heap, slab);
	}
	if (--slab->outstanding == 0)
		hk_slab_emptied(slab);
}

/*
 * Whether @p is a block of @slab (a head) that was carved: hk_slab_holds()
 * with the limit worked out from @carved, as the stored one is 0 while the
 * slab has a flag set.
 */
static bool slab_has_block(const hk_slab_t *slab, const void *p)
{
	uint64_t n = (uint64_t)((const uint8_t *)p - slab->start);
	uint64_t carved = __atomic_load_n(&slab->carved, __ATOMIC_RELAXED);

	return !(hk_slab_flags(slab) & HK_SLAB_UNUSED) && n < HK_SS_SIZE &&
	       n * slab->magic < carved * slab->block_size * slab->magic;
}

/* The slab of @b, taken off @heap's remote list: a block of @heap's, or the list was overwritten. */
static hk_slab_t *remote_block_slab(hk_heap_t *heap, hk_block_t *b)
{
	hk_superslab_t *ss = hk_superslab_of(b);

	if (hk_chunk_kind(b) == HK_CHUNK_SUPERSLAB &&
	    atomic_load_explicit(&ss->heap, memory_order_relaxed) == heap) {
		hk_slab_t *slab = hk_slab_head(ss, hk_slab_of(ss, b));

		if (slab_has_block(slab, b))
			return slab;
	}
	hk_fatal("malloc(): corrupted free list", b);
}

/*
 * Move every block other threads freed into @heap back to its slab.  The
 * release half is for drain_pool(): a free that finds the list empty after
 * this finds the heap's @queued cleared before it, too.
 */
static bool drain_remote(hk_heap_t *heap)
{
	hk_block_t *b = atomic_exchange_explicit(&heap->remote, NULL, memory_order_acq_rel);
	bool any = b != NULL;

	while (b) {
		hk_slab_t *slab = remote_block_slab(heap, b);
		hk_block_t *next = hk_next(b);

		free_local(heap, slab, b);
		heap->remote_frees_drained++;
		b = next;
	}
	return any;
}

/* Put @heap, pooled with remote frees waiting, on heaps_drain unless it is there. */
static void queue_drain(hk_heap_t *heap)
{
	hk_heap_t *top;

	if (atomic_exchange_explicit(&heap->queued, true, memory_order_acquire))
		return;
	top = atomic_load_explicit(&heaps_drain, memory_order_relaxed);
	do {
		heap->next_drain = top;
	} while (!atomic_compare_exchange_weak_explicit(&heaps_drain, &top, heap,
							memory_order_release,
							memory_order_relaxed));
}

/*
 * Drain the remote frees of the exited threads' heaps that have some
 * waiting.  Not when hk_heaps_lock is taken: its holder may be the
 * purger, whose pass over every heap drains the pooled ones anyway, and
 * a refill does not wait for that; what stays queued is drained next time.
 */
static void drain_pool(void)
{
	hk_heap_t *heap, *next;

	if (!atomic_load_explicit(&heaps_drain, memory_order_relaxed) ||
	    pthread_mutex_trylock(&hk_heaps_lock) != 0)
		return;
	heap = atomic_exchange_explicit(&heaps_drain, NULL, memory_order_acquire);
	for (; heap; heap = next) {
		next = heap->next_drain;
		/*
		 * Cleared once next_drain is read (queuing the heap again
		 * rewrites it) and before the drain, so that a block pushed
		 * after the drain queues the heap again.
		 */
		atomic_store_explicit(&heap->queued, false, memory_order_release);
		/* Adopted since it was queued: its new owner drains it. */
		if (atomic_load_explicit(&heap->pooled, memory_order_relaxed))
			drain_remote(heap);
	}
	pthread_mutex_unlock(&hk_heaps_lock);
}

/* Find a slab of @cls with a free block and make it current. */
static hk_slab_t *refill(hk_heap_t *heap, unsigned int cls)
{
	hk_superslab_t *adopted;
	hk_slab_t *slab;

	if (atomic_load_explicit(&heap->remote, memory_order_relaxed))
		drain_remote(heap);
	while ((slab = heap->current[cls]) != &heap->none) {
		if (slab->free || hk_slab_take_local(slab) || slab_extend(slab))
			return slab;
		queue_remove(heap, slab);
		hk_slab_set_flags(slab, slab->flags | HK_SLAB_FULL);
	}

	drain_pool();
	maybe_decay(heap);
	slab = hk_superslab_new_slab(heap, cls, &adopted);
	if (!slab)
		return NULL;
	if (adopted)
		hk_heap_map_pages(heap, adopted);
	queue_push(heap, slab);
	slab_extend(slab);
	return slab;
}

void *hk_heap_alloc_class(hk_heap_t *heap, unsigned int cls)
{
	for (;;) {
		hk_slab_t *slab = heap->current[cls];
		hk_block_t *b = slab->free;

		if (likely(hk_slab_covers(slab, b)))
			return hk_slab_pop(slab, b);
		/* The current slab has no flag: a block it does not hold was written there. */
		if (unlikely(b))
			hk_fatal("malloc(): corrupted free list", b);
		if (unlikely(!refill(heap, cls)))
			return NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Over-aligned blocks                                                 */

/*
 * Return the first @alignment-aligned address in @block, a fresh block.
 * When that is not @block itself, the block's tag word (at least 16 bytes
 * before the pointer) says so, and free() accepts the interior pointer.
 */
void *hk_slab_aligned_block(void *block, size_t alignment)
{
	uintptr_t p = hk_align_up((uintptr_t)block, alignment);

	if (p != (uintptr_t)block)
		((hk_block_t *)block)->tag = hk_aligned_mark((void *)p);
	return (void *)p;
}

/* ------------------------------------------------------------------ */
/* The out-of-line halves of malloc and free                           */

/* A tiny or mid block for the calling thread, which may have no heap yet. */
void *hk_heap_malloc(size_t size)
{
	hk_heap_t *heap = hk_heap_self();
	void *p;

	if (unlikely(heap == &hk_heap_empty)) {
		heap = hk_heap_init_thread();
		if (!heap) {
			errno = ENOMEM;
			return NULL;
		}
	}
	p = hk_heap_alloc_class(heap, hk_size_class(size));
	if (unlikely(!p))
		errno = ENOMEM;
	return p;
}

/*
 * The first block on a pooled heap's empty list queues the heap for
 * drain_pool().  The push and the look at @pooled are seq_cst, as are
 * hk_heap_thread_exit()'s store to @pooled and look at the list: of a free
 * and an exit that race, one sees the other, so a heap is never left
 * pooled with blocks waiting and not queued.
 */
static void push_remote(hk_heap_t *owner, hk_block_t *b)
{
	hk_block_t *head = atomic_load_explicit(&owner->remote, memory_order_relaxed);

	b->tag = hk_tag_key;
	do {
		b->link = hk_link(head);
	} while (!atomic_compare_exchange_weak_explicit(&owner->remote, &head, b,
							memory_order_seq_cst,
							memory_order_relaxed));
	if (!head && atomic_load_explicit(&owner->pooled, memory_order_seq_cst))
		queue_drain(owner);
}

/* free() of @p, in a SuperSlab, when the fast path said no. */
void hk_heap_free(void *p)
{
	hk_superslab_t *ss = hk_superslab_of(p);
	hk_slab_t *slab = hk_slab_head(ss, hk_slab_of(ss, p));
	hk_heap_t *self = hk_heap_self();
	hk_heap_t *owner;
	hk_block_t *b;

	/* Not a block handed out: a page of no slab, the header, inside a block. */
	if (hk_slab_flags(slab) & HK_SLAB_UNUSED)
		hk_fatal("free(): invalid pointer", p);
	b = hk_slab_block_start(slab, p);
	if (!slab_has_block(slab, b) || (b != p && b->tag != hk_aligned_mark(p)))
		hk_fatal("free(): invalid pointer", p);
	if (b->tag == hk_tag_key)
		hk_fatal("free(): double free", p);

	owner = atomic_load_explicit(&ss->heap, memory_order_relaxed);
	if (owner == self) {
		free_local(self, slab, b);
	} else {
		push_remote(owner, b);
		if (self != &hk_heap_empty)
			self->remote_frees_sent++;
	}
}

/* ------------------------------------------------------------------ */
/* Heap lifetime                                                       */

/* Make the empty heap read-only: from here on a write through it faults. */
void hk_heaps_init(void)
{
	hk_os_seal(&hk_heap_empty, sizeof(hk_heap_empty));
}

/* A heap of its own mapping: fresh memory is zero, which is mostly right. */
static hk_heap_t *heap_new(void)
{
	hk_heap_t *heap = hk_os_map(sizeof(*heap));

	if (!heap)
		return NULL;
	hk_os_seal(&heap->none, sizeof(heap->none));
	pthread_mutex_init(&heap->superslabs.lock, NULL);
	for (unsigned int cls = 0; cls < HK_CLASSES; cls++)
		heap->current[cls] = &heap->none;
	return heap;
}

hk_heap_t *hk_heap_init_thread(void)
{
	hk_heap_t *heap;

	pthread_mutex_lock(&hk_heaps_lock);
	heap = heaps_pool;
	if (heap) {
		heaps_pool = heap->next_pool;
		atomic_store_explicit(&heap->pooled, false, memory_order_relaxed);
	}
	pthread_mutex_unlock(&hk_heaps_lock);

	if (!heap) {
		heap = heap_new();
		if (!heap)
			return NULL;
		pthread_mutex_lock(&hk_heaps_lock);
		heap->next_all = heaps_all;
		heaps_all = heap;
		pthread_mutex_unlock(&hk_heaps_lock);
	}
	hk_tls_heap = heap;
	/* Registers the thread-exit destructor; may allocate (re-entry is fine now). */
	pthread_setspecific(hk_heap_key, heap);
	return heap;
}

/*
 * Retire every slab with no block in use (current ones included), drain
 * remote frees, and with @force purge all free pages now.  The caller owns
 * @heap.  Returns whether anything was released.
 */
bool hk_heap_collect(hk_heap_t *heap, bool force)
{
	bool any = drain_remote(heap);

	any |= retire_empty_current_slabs(heap);
	if (force)
		hk_superslab_decay(heap, hk_clock_ms(), true);
	return any;
}

void hk_heap_thread_exit(void *arg)
{
	hk_heap_t *heap = arg;

	hk_tls_heap = &hk_heap_empty;
	hk_heap_collect(heap, false);
	pthread_mutex_lock(&hk_heaps_lock);
	atomic_store_explicit(&heap->pooled, true, memory_order_seq_cst);
	heap->next_pool = heaps_pool;
	heaps_pool = heap;
	/* Blocks freed into it since the collection: see push_remote(). */
	if (atomic_load_explicit(&heap->remote, memory_order_seq_cst))
		queue_drain(heap);
	/*
	 * Blocks still out will come home as remote frees; the purger retires
	 * the current slabs they empty.
	 */
	if (heap->superslabs.count)
		hk_purge_want();
	pthread_mutex_unlock(&hk_heaps_lock);
}

/*
 * The purger's pass over the heaps: exited threads' heaps are collected,
 * and every heap's free pages decay.  Returns whether something is left
 * to purge later.  Live threads' remote frees and current slabs wait for
 * their owners.
 */
bool hk_heaps_decay(void)
{
	uint64_t now = hk_clock_ms();
	bool left = false;

	pthread_mutex_lock(&hk_heaps_lock);
	for (hk_heap_t *heap = heaps_all; heap; heap = heap->next_all) {
		if (heap->orphaned)
			continue;
		if (atomic_load_explicit(&heap->pooled, memory_order_relaxed))
			hk_heap_collect(heap, false);
		left |= hk_superslab_decay(heap, now, false);
	}
	pthread_mutex_unlock(&hk_heaps_lock);
	return left;
}

/*
 * In a fork child, the heaps of the threads that did not survive may have
 * been mid-update (their SuperSlab lock even held): nobody touches them again.
 * A thread that did not survive may have been queuing a pooled heap for
 * drain_pool(), which would then never be queued again: the drain stack
 * is built anew.
 */
void hk_heaps_fork_child(void)
{
	hk_heap_t *self = hk_heap_self();

	atomic_store_explicit(&heaps_drain, NULL, memory_order_relaxed);
	for (hk_heap_t *heap = heaps_all; heap; heap = heap->next_all) {
		bool pooled = atomic_load_explicit(&heap->pooled, memory_order_relaxed);

		heap->orphaned = heap != self && !pooled;
		atomic_store_explicit(&heap->queued, false, memory_order_relaxed);
		if (pooled && atomic_load_explicit(&heap->remote, memory_order_relaxed))
			queue_drain(heap);
	}
}

/* malloc_trim(): give back everything this thread and the pool can spare. */
bool hk_heaps_trim(void)
{
	hk_heap_t *self = hk_heap_self();
	bool any = false;

	if (self != &hk_heap_empty)
		any = hk_heap_collect(self, true);
	pthread_mutex_lock(&hk_heaps_lock);
	for (hk_heap_t *heap = heaps_pool; heap; heap = heap->next_pool)
		any |= hk_heap_collect(heap, true);
	pthread_mutex_unlock(&hk_heaps_lock);
	return any;
}

/* Sum the statistics of every heap; racy reads of live heaps are fine here. */
void hk_heaps_stats(struct hk_heap_stats *sum, unsigned int *heaps, unsigned int *pooled)
{
	memset(sum, 0, sizeof(*sum));
	*heaps = *pooled = 0;
	pthread_mutex_lock(&hk_heaps_lock);
	for (hk_heap_t *heap = heaps_all; heap; heap = heap->next_all) {
		const struct hk_heap_superslabs *s = &heap->superslabs;

		for (unsigned int cls = 0; cls < HK_CLASSES; cls++)
			sum->slabs_made[cls] += s->slabs_made[cls];
		sum->slabs_retired += s->slabs_retired;
		sum->superslabs_acquired += s->acquired;
		sum->superslabs_released += s->released;
		sum->remote_frees_sent += heap->remote_frees_sent;
		sum->remote_frees_drained += heap->remote_frees_drained;
		(*heaps)++;
		*pooled += atomic_load_explicit(&heap->pooled, memory_order_relaxed);
	}
	pthread_mutex_unlock(&hk_heaps_lock);
}
