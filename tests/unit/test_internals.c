// SPDX-License-Identifier: MIT
/*
 * Unit tests of libhakmem's internals, linked against a build of the
 * library that keeps the system malloc (HAKMEM_NO_OVERRIDE), so they also
 * run under AddressSanitizer and UBSan.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hakmem.h"
#include "internal.h"
#include "unit.h"

static void test_size_classes(void)
{
	size_t prev = 0;

	for (unsigned int cls = 0; cls < HK_CLASSES; cls++) {
		size_t size = hk_class_size(cls);

		CHECK(size % HK_ALIGN == 0, "class %u size %zu", cls, size);
		CHECK(size > prev, "class %u not above class %u", cls, cls - 1);
		CHECK(hk_size_class(size) == cls, "class %u round trip", cls);
		prev = size;
	}
	CHECK(hk_class_size(HK_CLASSES - 1) == HK_MID_MAX, "last class %zu",
	      hk_class_size(HK_CLASSES - 1));
	CHECK(hk_class_size(hk_size_class(HK_TINY_MAX)) == HK_TINY_MAX, "tiny max");
	CHECK(hk_class_size(hk_size_class(HK_DIRECT_MAX)) == HK_DIRECT_MAX, "direct max");

	for (size_t size = 0; size <= HK_MID_MAX; size++) {
		unsigned int cls = hk_size_class(size);
		size_t got = hk_class_size(cls);

		if (cls >= HK_CLASSES || got < size ||
		    (cls > 0 && hk_class_size(cls - 1) >= size) ||
		    (size > 128 && (got - size) * 8 > size)) {
			CHECK(0, "size %zu -> class %u (%zu bytes)", size, cls, got);
			break;
		}
	}
}

/* Every size the direct table serves gets a block of its own class. */
static void test_direct_table(void)
{
	for (size_t size = 0; size <= HK_DIRECT_MAX + 2 * HK_ALIGN; size++) {
		void *a = hakmem_malloc(size);
		void *b = hakmem_malloc(size);
		size_t want = hk_class_size(hk_size_class(size));

		CHECK(a && b && a != b, "malloc(%zu)", size);
		CHECK(hakmem_usable_size(a) == want && hakmem_usable_size(b) == want,
		      "malloc(%zu): usable %zu and %zu, class size %zu", size,
		      hakmem_usable_size(a), hakmem_usable_size(b), want);
		hakmem_free(a);
		hakmem_free(b);
	}
}

static void test_chunk_map(void)
{
	/* Addresses nothing maps: the map is pure bookkeeping. */
	void *a = (void *)((uintptr_t)0x7e1200000000);
	void *b = (void *)((uintptr_t)a + HK_SS_SIZE);

	CHECK(hk_chunk_kind(a) == HK_CHUNK_NONE, "fresh map");
	CHECK(hk_chunk_map_set(a, HK_CHUNK_SUPERSLAB), "set");
	CHECK(hk_chunk_kind(a) == HK_CHUNK_SUPERSLAB, "kind");
	CHECK(hk_chunk_kind((uint8_t *)a + HK_SS_SIZE - 1) == HK_CHUNK_SUPERSLAB, "last byte");
	CHECK(hk_chunk_kind((uint8_t *)a + 12345) == HK_CHUNK_SUPERSLAB, "inside");
	CHECK(hk_chunk_kind(b) == HK_CHUNK_NONE, "neighbour untouched");
	CHECK(hk_chunk_map_set(b, HK_CHUNK_LARGE + 3), "set large");
	CHECK(hk_chunk_kind(b) == HK_CHUNK_LARGE + 3, "large kind");
	CHECK(hk_chunk_map_set(a, HK_CHUNK_NONE) && hk_chunk_map_set(b, HK_CHUNK_NONE), "clear");
	CHECK(hk_chunk_kind(a) == HK_CHUNK_NONE, "cleared");

	CHECK(!hk_chunk_map_set((void *)((uintptr_t)1 << 47), HK_CHUNK_SUPERSLAB), "beyond 47 bits");
	CHECK(hk_chunk_kind((void *)UINTPTR_MAX) == HK_CHUNK_NONE, "top of address space");
	CHECK(hk_chunk_kind(NULL) == HK_CHUNK_NONE, "NULL");
}

/* Every small block resolves by masking to a slab of its class that contains it. */
static void test_superslab_lookup(void)
{
	static void *blocks[HK_CLASSES];

	for (unsigned int cls = 0; cls < HK_CLASSES; cls++) {
		size_t size = hk_class_size(cls);
		uint8_t *p = hakmem_malloc(size);
		hk_superslab_t *ss = hk_superslab_of(p);
		hk_slab_t *slab = hk_slab_head(ss, hk_slab_of(ss, p));

		blocks[cls] = p;
		CHECK(p && ((uintptr_t)p % HK_ALIGN) == 0, "class %u pointer %p", cls, (void *)p);
		CHECK(((uintptr_t)ss % HK_SS_SIZE) == 0, "SuperSlab alignment");
		CHECK(hk_chunk_kind(p) == HK_CHUNK_SUPERSLAB, "class %u mapped", cls);
		CHECK(hk_heap_slab(hk_heap_self(), hk_heap_self()->pages[hk_page_slot(p)]) ==
		      hk_slab_of(ss, p), "class %u page slot", cls);
		CHECK(atomic_load(&ss->heap) == hk_heap_self(), "owner");
		CHECK(slab->cls == cls && slab->block_size == size, "class %u slab has %u/%u",
		      cls, slab->cls, slab->block_size);
		CHECK(p >= slab->start && p + size <= slab->start + (size_t)hk_slab_capacity(slab) * size &&
		      (size_t)(p - slab->start) % size == 0, "class %u block inside slab", cls);
		CHECK(slab->span >= 1 && hk_slab_capacity(slab) >= 3, "class %u span %u capacity %u",
		      cls, slab->span, hk_slab_capacity(slab));
		for (unsigned int i = 1; i < slab->span; i++)
			CHECK(ss->slabs[slab->index + i].flags & HK_SLAB_TAIL &&
			      ss->slabs[slab->index + i].index == slab->index, "tail %u", i);
		CHECK(hakmem_usable_size(p) == size, "usable %zu", hakmem_usable_size(p));
	}
	for (unsigned int cls = 0; cls < HK_CLASSES; cls++)
		hakmem_free(blocks[cls]);
}

/* Freed blocks carry the tag; handed-out blocks don't; LIFO reuse. */
/*
 * Freed blocks wait on the slab's local list until malloc has used up the
 * rest of its free list (blocks carved but never handed out), then come
 * back last freed first.
 */
static void test_free_list(void)
{
	enum { N = 300 };
	void *p[N], *q[2 * N];
	int first = -1;

	for (int i = 0; i < N; i++)
		p[i] = hakmem_malloc(48);
	for (int i = 0; i < N; i++) {
		hakmem_free(p[i]);
		CHECK(((hk_block_t *)p[i])->tag == hk_tag_key, "tag after free");
	}
	for (int i = 0; i < 2 * N; i++) {
		q[i] = hakmem_malloc(48);
		CHECK(((hk_block_t *)q[i])->tag == 0, "tag cleared on malloc");
		if (q[i] == p[N - 1] && first < 0)
			first = i;
		if (first < 0) {
			for (int j = 0; j < N; j++)
				CHECK(q[i] != p[j], "block %d back before the last freed", j);
		} else if (i - first < N) {
			CHECK(q[i] == p[N - 1 - (i - first)], "LIFO reuse at %d", i - first);
		}
	}
	CHECK(first >= 0 && first < N, "freed blocks came back after %d others", first);
	for (int i = 0; i < 2 * N; i++)
		hakmem_free(q[i]);
}

/*
 * What malloc's range check and free's exact check accept, on a real slab
 * of each tiny class and on a made-up 1 MiB slab that ends on a 4 GiB
 * boundary, where NULL's 32-bit offset is exactly the slab's size.
 */
static void test_slab_checks(void)
{
	hk_slab_t far = {
		.start = (uint8_t *)((8ull << 30) - (1ull << 20)),
		.block_size = 1024, .span = 16, .index = 16,
	};

	for (unsigned int cls = 0; cls < 32; cls++) {
		size_t size = hk_class_size(cls);
		uint8_t *p = hakmem_malloc(size);
		hk_superslab_t *ss = hk_superslab_of(p);
		hk_slab_t *slab = hk_slab_head(ss, hk_slab_of(ss, p));
		uint8_t *end = slab->start + (size_t)slab->carved * size;

		CHECK(hk_slab_covers(slab, p) && hk_slab_holds(slab, p), "class %u block", cls);
		CHECK(hk_slab_covers(slab, p + 8) && !hk_slab_holds(slab, p + 8),
		      "class %u interior: in range, not a block", cls);
		CHECK(hk_slab_covers(slab, end - size) && hk_slab_holds(slab, end - size),
		      "class %u last carved block", cls);
		CHECK(!hk_slab_covers(slab, end) && !hk_slab_holds(slab, end),
		      "class %u first block not carved", cls);
		CHECK(!hk_slab_covers(slab, slab->start - HK_ALIGN) &&
		      !hk_slab_holds(slab, slab->start - HK_ALIGN), "class %u below the slab", cls);
		CHECK(!hk_slab_covers(slab, NULL) && !hk_slab_holds(slab, NULL), "class %u NULL", cls);
		hakmem_free(p);
	}
	CHECK(!hk_slab_covers(&hk_heap_empty.none, NULL) && !hk_slab_holds(&hk_heap_empty.none, NULL) &&
	      !hk_slab_holds(&hk_heap_empty.none, (void *)HK_ALIGN),
	      "the empty slab holds nothing");

	far.magic = hk_slab_magic(far.block_size);
	far.carved = (uint16_t)hk_slab_capacity(&far);
	hk_slab_set_flags(&far, 0);
	CHECK(far.carved == 1024, "1 MiB of 1 KiB blocks: %u", far.carved);
	CHECK(hk_slab_covers(&far, far.start) && hk_slab_holds(&far, far.start + 1023 * 1024),
	      "first and last block");
	CHECK(!hk_slab_covers(&far, NULL) && !hk_slab_holds(&far, NULL), "NULL at the boundary");
	hk_slab_set_flags(&far, HK_SLAB_FULL);
	CHECK(!hk_slab_covers(&far, far.start) && !hk_slab_holds(&far, far.start),
	      "a flag hides every block");
}

/*
 * A block's start from a pointer into it, by the magic's multiplication,
 * against the division, for the first, second and last byte of each block
 * of a SuperSlab-sized slab of every class.
 */
static void test_block_start(void)
{
	hk_slab_t slab = { .start = (uint8_t *)(64ull << 30) };
	unsigned int wrong = 0;

	for (unsigned int cls = 0; cls < HK_CLASSES; cls++) {
		size_t d = hk_class_size(cls);

		slab.block_size = (uint32_t)d;
		slab.magic = hk_slab_magic(slab.block_size);
		for (size_t n = 0; n + d <= HK_SS_SIZE; n += d) {
			size_t probe[] = { n, n + 1, n + d - 1 };

			for (unsigned int i = 0; i < 3; i++) {
				uint8_t *p = slab.start + probe[i];

				wrong += (uint8_t *)hk_slab_block_start(&slab, p) !=
					 slab.start + probe[i] / d * d;
			}
		}
	}
	CHECK(wrong == 0, "%u pointers mapped to the wrong block start", wrong);
}

static void test_aligned(void)
{
	static const size_t aligns[] = { 32, 64, 256, 4096, 65536, 1 << 20, 2 << 20, 8 << 20 };
	static const size_t sizes[] = { 1, 100, 5000, 70000, 300000, 3 << 20 };

	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			void *p = NULL;
			int rc = hakmem_posix_memalign(&p, aligns[a], sizes[s]);

			CHECK(rc == 0 && ((uintptr_t)p % aligns[a]) == 0, "align %zu size %zu: %p",
			      aligns[a], sizes[s], p);
			if (!p)
				continue;
			CHECK(hakmem_usable_size(p) >= sizes[s], "usable %zu < %zu",
			      hakmem_usable_size(p), sizes[s]);
			memset(p, 0x5a, sizes[s]);
			hakmem_free(p);
		}
	}
}

static void test_large(void)
{
	size_t size = 5 << 20;
	uint8_t *p = hakmem_malloc(size), *q;

	CHECK(p && hk_chunk_kind(p) == HK_CHUNK_LARGE, "large kind %u", hk_chunk_kind(p));
	CHECK(hakmem_usable_size(p) >= size, "usable");
	memset(p, 0xab, size);
	q = hakmem_realloc(p, 4 * size);
	CHECK(q && q[0] == 0xab && q[size - 1] == 0xab, "realloc keeps contents");
	CHECK(hk_chunk_kind(q) == HK_CHUNK_LARGE, "moved kind");
	if (q != p)
		CHECK(hk_chunk_kind(p) == HK_CHUNK_NONE, "old chunk cleared");
	hakmem_free(q);
	CHECK(hk_chunk_kind(q) == HK_CHUNK_NONE, "freed large no longer mapped");

	p = hakmem_calloc(1, size);
	CHECK(p && p[0] == 0 && p[size - 1] == 0, "calloc of a cached mapping is zero");
	hakmem_free(p);
}

struct remote_arg {
	void **blocks;
	int count;
};

static void *free_all(void *arg)
{
	struct remote_arg *ra = arg;

	for (int i = 0; i < ra->count; i++)
		hakmem_free(ra->blocks[i]);
	return NULL;
}

/* Blocks freed by another thread land on the owner's remote list and are reused. */
static void test_remote_free(void)
{
	enum { N = 1000 };
	static void *blocks[N];
	struct remote_arg ra = { blocks, N };
	hk_heap_t *heap;
	pthread_t t;
	int remote = 0, reused = 0;

	for (int i = 0; i < N; i++)
		blocks[i] = hakmem_malloc(80);
	heap = hk_heap_self();
	pthread_create(&t, NULL, free_all, &ra);
	pthread_join(t, NULL);
	for (hk_block_t *b = atomic_load(&heap->remote); b; b = hk_next(b))
		remote++;
	CHECK(remote == N, "remote list holds %d of %d", remote, N);

	/* Exhaust the class so that the heap drains its remote list. */
	for (int i = 0; i < 4 * N; i++) {
		void *p = hakmem_malloc(80);

		for (int j = 0; j < N && !reused; j++)
			reused = p == blocks[j];
		/* Deliberately leaked: only the remote blocks should satisfy these. */
	}
	CHECK(reused, "a remotely freed block was reused");
	CHECK(atomic_load(&heap->remote) == NULL, "remote list drained");
}

struct pooled_arg {
	void **blocks;
	int count;
	hk_heap_t *heap;
	pthread_barrier_t *barrier;
};

static void *alloc_and_exit(void *arg)
{
	struct pooled_arg *pa = arg;

	for (int i = 0; i < pa->count; i++)
		pa->blocks[i] = hakmem_malloc(80);
	pa->heap = hk_heap_self();
	return NULL;
}

/* Take the pool's head heap and hold it until released. */
static void *adopt_and_wait(void *arg)
{
	struct pooled_arg *pa = arg;
	void *p = hakmem_malloc(80);

	pa->heap = hk_heap_self();
	pthread_barrier_wait(pa->barrier);
	pthread_barrier_wait(pa->barrier);
	hakmem_free(p);
	return NULL;
}

/*
 * Have this thread's heap take new slabs until @heap is off the pool's
 * drain stack (a refill may find the pool's lock taken and not drain).
 */
static bool drained_by_refill(hk_heap_t *heap)
{
	enum { N = 4096 };
	static void *blocks[N];
	int n = 0;

	while (n < N && atomic_load(&heap->queued))
		blocks[n++] = hakmem_malloc(1000);
	for (int i = 0; i < n; i++)
		hakmem_free(blocks[i]);
	return !atomic_load(&heap->queued);
}

/*
 * Blocks freed into an exited thread's heap queue it, and the next refill
 * of any thread drains it; one adopted while queued is left to its owner.
 * (The purger may drain a pooled heap too, but never takes it off the
 * stack: only a refill does.)
 */
static void test_pool_drain(void)
{
	enum { N = 100 };
	static void *blocks[N];
	struct pooled_arg pa = { blocks, N, NULL, NULL };
	pthread_barrier_t barrier;
	hk_heap_t *heap;
	pthread_t t;
	bool waiting;

	pthread_create(&t, NULL, alloc_and_exit, &pa);
	pthread_join(t, NULL);
	heap = pa.heap;
	CHECK(atomic_load(&heap->pooled), "the exited thread's heap is pooled");
	for (int i = 0; i < N / 2; i++)
		hakmem_free(blocks[i]);
	CHECK(atomic_load(&heap->queued), "a free into the pooled heap queued it");

	pthread_barrier_init(&barrier, NULL, 2);
	pa.barrier = &barrier;
	pthread_create(&t, NULL, adopt_and_wait, &pa);
	pthread_barrier_wait(&barrier);
	CHECK(pa.heap == heap, "the next thread adopted the pooled heap");
	/* Unless the purger drained it before it was adopted. */
	waiting = atomic_load(&heap->remote) != NULL;
	CHECK(drained_by_refill(heap), "a refill took the adopted heap off the stack");
	CHECK(!waiting || atomic_load(&heap->remote) != NULL,
	      "and left its remote frees to its new owner");
	pthread_barrier_wait(&barrier);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&barrier);

	CHECK(atomic_load(&heap->pooled) && !atomic_load(&heap->queued),
	      "pooled again, drained by its owner before it exited");
	for (int i = N / 2; i < N; i++)
		hakmem_free(blocks[i]);
	CHECK(atomic_load(&heap->queued), "a free into the pooled heap queued it again");
	CHECK(drained_by_refill(heap), "a refill took it off the stack");
	CHECK(atomic_load(&heap->remote) == NULL, "and drained it");
}

/*
 * Every slot of @heap's page table refers to none or to the descriptor of
 * its own page in a SuperSlab @heap owns.
 */
static void check_page_slots(hk_heap_t *heap)
{
	for (unsigned int slot = 0; slot < HK_PAGE_SLOTS; slot++) {
		hk_slab_t *slab = hk_heap_slab(heap, heap->pages[slot]);
		hk_superslab_t *ss = hk_superslab_of(slab);

		if (slab == &heap->none)
			continue;
		CHECK(hk_chunk_kind(ss) == HK_CHUNK_SUPERSLAB && atomic_load(&ss->heap) == heap,
		      "slot %u refers into a SuperSlab the heap does not own", slot);
		CHECK(slab == &ss->slabs[slot % HK_PAGES] && hk_page_slot(ss) == slot - slot % HK_PAGES,
		      "slot %u refers to another page's descriptor", slot);
	}
}

/*
 * free()'s fast path asks the heap's page table: a new SuperSlab's pages
 * are in it, and one whose slots another SuperSlab took is freed into
 * through the slow path, which maps it again.  A slot that refers to
 * another SuperSlab's page at the same address modulo 4 GiB must not let
 * that SuperSlab's bounds accept the pointer.
 */
static void test_page_table(void)
{
	void *p = hakmem_malloc(64), *q = hakmem_malloc(64), *r = hakmem_malloc(64);
	hk_heap_t *heap = hk_heap_self();
	hk_superslab_t *ss = hk_superslab_of(p);
	unsigned int slot = hk_page_slot(p);
	static hk_superslab_t alias;	/* what a SuperSlab 4 GiB away would look like */
	hk_slab_t *slab = hk_slab_of(ss, p);

	CHECK(ss == hk_superslab_of(q) && ss == hk_superslab_of(r), "three blocks of one slab");
	CHECK(heap->pages[slot] == hk_slab_ref(heap, slab), "the page has its slot");

	/* Lost to another SuperSlab: the slow path maps the pages back. */
	memset(&heap->pages[hk_page_slot(ss)], 0, HK_PAGES * sizeof(heap->pages[0]));
	hakmem_free(p);
	CHECK(heap->pages[slot] == hk_slab_ref(heap, slab), "the slow path put it back");

	/* A slab of the same geometry, 4 GiB (or any multiple) away, has the slot. */
	alias.slabs[slot % HK_PAGES] = *slab;
	alias.slabs[slot % HK_PAGES].start = slab->start + ((uintptr_t)1 << 32);
	heap->pages[slot] = hk_slab_ref(heap, &alias.slabs[slot % HK_PAGES]);
	hakmem_free(q);
	CHECK(heap->pages[slot] == hk_slab_ref(heap, slab), "the alias did not take the block");
	CHECK(alias.slabs[slot % HK_PAGES].local != q && slab->local == q,
	      "q went onto its own slab, not the alias");
	hakmem_free(r);
	check_page_slots(heap);
}

/* Whether /proc/self/maps shows @addr in a mapping that is readable but not writable. */
static bool read_only(const void *addr)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	char perms[5];
	bool found = false, ro = false;

	while (maps && !found && fscanf(maps, "%lx-%lx %4s%*[^\n]", &lo, &hi, perms) == 3) {
		found = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
		ro = perms[0] == 'r' && perms[1] == '-';
	}
	if (maps)
		fclose(maps);
	return found && ro;
}

/*
 * The slab that zero references resolve to is read-only in every heap, the
 * empty heap is read-only as a whole, and a heap's tables are writable.
 */
static void test_read_only_sentinels(void)
{
	hk_heap_t *heap;

	hakmem_free(hakmem_malloc(16));	/* this thread has a heap */
	heap = hk_heap_self();
	CHECK(heap != &hk_heap_empty, "the thread has a heap");
	CHECK(read_only(&heap->none), "the heap's none slab is read-only");
	CHECK(!read_only(heap->direct) && !read_only(heap->pages), "the heap's tables are writable");
	CHECK(read_only(&hk_heap_empty.none) && read_only(&hk_heap_empty.pages[HK_PAGE_SLOTS - 1]) &&
	      read_only(&hk_heap_empty.remote), "the empty heap is read-only");
}

/* With no decay delay, a trim returns cached SuperSlabs and purges free pages. */
/*
 * A slab empties when its last block comes home, wherever its free blocks
 * wait: the slabs that filled up retire as soon as their blocks are freed,
 * and the current one, whose blocks are split between its two lists, only
 * when none is handed out.
 */
static void test_slab_accounting(void)
{
	enum { N = 200, SIZE = 1024 };
	static void *blocks[N];
	hk_heap_t *heap = hk_heap_self();
	unsigned int cls = hk_size_class(SIZE);
	uint64_t retired;
	hk_slab_t *slab;
	void *keep;

	hk_heap_collect(heap, false);
	for (int i = 0; i < N; i++)
		blocks[i] = hakmem_malloc(SIZE);
	retired = heap->superslabs.slabs_retired;
	for (int i = 0; i < N - 1; i++)
		hakmem_free(blocks[i]);
	slab = heap->current[cls];
	CHECK(heap->superslabs.slabs_retired >= retired + 2, "full slabs retired when emptied: %llu",
	      (unsigned long long)(heap->superslabs.slabs_retired - retired));
	CHECK(hk_slab_of(hk_superslab_of(blocks[N - 1]), blocks[N - 1]) == slab,
	      "the last block is in the current slab");

	/* Blocks on @free and on @local, one still handed out: not idle. */
	keep = hakmem_malloc(SIZE);
	hakmem_free(blocks[N - 1]);
	CHECK(slab->free && slab->local, "both lists in use");
	retired = heap->superslabs.slabs_retired;
	hk_heap_collect(heap, false);
	CHECK(heap->current[cls] == slab && heap->superslabs.slabs_retired == retired,
	      "a slab with a block out stays");
	hakmem_free(keep);
	hk_heap_collect(heap, false);
	CHECK(heap->current[cls] != slab && heap->superslabs.slabs_retired == retired + 1,
	      "the idle current slab retired");
}

static void test_trim(void)
{
	enum { N = 4000 };
	static void *blocks[N];
	uint64_t unmapped = atomic_load(&hk_stats.ss_unmapped);

	for (int i = 0; i < N; i++)
		blocks[i] = hakmem_malloc(2000);
	for (int i = 0; i < N; i++)
		hakmem_free(blocks[i]);
	CHECK(hakmem_trim() == 1, "trim released something");
	CHECK(atomic_load(&hk_stats.ss_unmapped) > unmapped, "SuperSlabs unmapped");
	check_page_slots(hk_heap_self());
}

int main(void)
{
	unit_run("size classes round-trip, spacing <= 12.5%", test_size_classes);
	unit_run("direct table: sizes up to 4 KiB get their class", test_direct_table);
	unit_run("chunk map set/lookup", test_chunk_map);
	unit_run("SuperSlab lookup by masking", test_superslab_lookup);
	unit_run("free list tags and LIFO reuse", test_free_list);
	unit_run("slab range and block checks", test_slab_checks);
	unit_run("block start by multiplication, every class", test_block_start);
	unit_run("aligned allocation 32 B .. 8 MiB", test_aligned);
	unit_run("large blocks: map, realloc, cache", test_large);
	unit_run("remote frees reach the owner", test_remote_free);
	unit_run("remote frees into exited threads' heaps: queued, drained", test_pool_drain);
	unit_run("page table: slots, lost and regained, aliased", test_page_table);
	unit_run("slabs empty with their last block, on either list", test_slab_accounting);
	unit_run("sentinel slab and heap are read-only", test_read_only_sentinels);
	unit_run("trim returns memory", test_trim);
	return unit_done();
}
