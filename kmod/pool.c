// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - the pool of pre-zeroed 2 MiB blocks and its SCHED_IDLE refill
 * thread.
 *
 * The pool holds unsplit order-HK_BLOCK_ORDER blocks that nobody else
 * references, linked through the head page's lru field.  A block leaves the
 * pool exactly once: to be split and mapped (hk_pool_take) or to be freed
 * (hk_pool_release, the shrinker).  Pages are never put back into the pool
 * once handed out, so the pool needs no reference-count tracking.
 *
 * Locking: hk_pool.lock (a plain spinlock, never taken from interrupt
 * context and never held across an allocation or a sleep) protects
 * hk_pool.blocks and hk_pool.nr_blocks.  nr_blocks, nr_dirty and
 * backoff_until are also read locklessly as hints.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <uapi/linux/sched/types.h>

#include "internal.h"

/*
 * Refills must not push other memory out: no direct reclaim, no kswapd
 * wake-up, no warnings.  The pool is kernel memory that is not charged to a
 * memory cgroup; it is bounded by pool_max_mb and given back by the shrinker.
 */
#define HK_REFILL_GFP	((GFP_HIGHUSER & ~__GFP_RECLAIM) | __GFP_NOWARN)

/* Refills that fail back off at least this long. */
#define HK_FAIL_BACKOFF_MS	100

/*
 * Statically initialised: module parameters given at load time are set (and
 * call hk_pool_kick()) before hk_pool_init() runs.
 */
static struct {
	spinlock_t lock;		/* protects blocks and nr_blocks */
	struct list_head blocks;	/* zeroed blocks, under lock */
	unsigned long nr_blocks;	/* length of blocks, under lock */
	atomic_long_t nr_dirty;		/* pages being zeroed right now */
	unsigned long backoff_until;	/* jiffies; no refill before this */
	wait_queue_head_t wait;		/* the refill thread sleeps here */
	struct task_struct *thread;
} hk_pool = {
	.lock		= __SPIN_LOCK_UNLOCKED(hk_pool.lock),
	.blocks		= LIST_HEAD_INIT(hk_pool.blocks),
	.nr_dirty	= ATOMIC_LONG_INIT(0),
	.wait		= __WAIT_QUEUE_HEAD_INITIALIZER(hk_pool.wait),
};

static unsigned long hk_mb_to_pages(unsigned int mb)
{
	return (unsigned long)mb << (20 - PAGE_SHIFT);
}

/*
 * The pool holds whole blocks, so the limits are rounded down to whole
 * blocks, which keeps low <= high <= max also in blocks.
 */
static unsigned long hk_pool_max_blocks(void)
{
	return hk_mb_to_pages(READ_ONCE(hk_pool_max_mb)) / HK_BLOCK_PAGES;
}

static unsigned long hk_pool_high_blocks(void)
{
	return min(hk_mb_to_pages(READ_ONCE(hk_pool_high_mb)) / HK_BLOCK_PAGES,
		   hk_pool_max_blocks());
}

static unsigned long hk_pool_low_blocks(void)
{
	return min(hk_mb_to_pages(READ_ONCE(hk_pool_low_mb)) / HK_BLOCK_PAGES,
		   hk_pool_high_blocks());
}

unsigned long hk_pool_max_pages(void)
{
	return hk_pool_max_blocks() * HK_BLOCK_PAGES;
}

unsigned long hk_pool_high_pages(void)
{
	return hk_pool_high_blocks() * HK_BLOCK_PAGES;
}

unsigned long hk_pool_low_pages(void)
{
	return hk_pool_low_blocks() * HK_BLOCK_PAGES;
}

unsigned long hk_pool_zeroed_pages(void)
{
	return READ_ONCE(hk_pool.nr_blocks) * HK_BLOCK_PAGES;
}

unsigned long hk_pool_dirty_pages(void)
{
	return atomic_long_read(&hk_pool.nr_dirty);
}

/* True when the page allocator already zeroes every page (init_on_alloc). */
bool hk_pool_alloc_zeroes(void)
{
	return want_init_on_alloc(HK_REFILL_GFP);
}

bool hk_pool_nt_zeroing(void)
{
	return IS_ENABLED(CONFIG_X86_64) && READ_ONCE(hk_nt_zero);
}

static bool hk_pool_wants_refill(void)
{
	return READ_ONCE(hk_pool.nr_blocks) < hk_pool_low_blocks();
}

/* Wake the refill thread if the pool is below its low watermark. */
static void hk_pool_wake(void)
{
	if (hk_pool_wants_refill())
		wake_up(&hk_pool.wait);
}

/*
 * The limits changed: give back what exceeds pool_max_mb, and refill if the
 * pool is now below its low watermark.
 */
void hk_pool_kick(void)
{
	unsigned long zeroed = hk_pool_zeroed_pages();
	unsigned long max = hk_pool_max_pages();

	if (zeroed > max)
		hk_pool_release(zeroed - max);
	hk_pool_wake();
}

/* Remove one zeroed block from the pool, or return NULL if it is empty. */
struct page *hk_pool_take(void)
{
	struct page *block;

	spin_lock(&hk_pool.lock);
	block = list_first_entry_or_null(&hk_pool.blocks, struct page, lru);
	if (block) {
		list_del_init(&block->lru);
		hk_pool.nr_blocks--;
	}
	spin_unlock(&hk_pool.lock);

	hk_pool_wake();
	return block;
}

/*
 * Free at least @nr_pages pool pages (whole blocks) back to the page
 * allocator, or as many as the pool holds.  Returns the number freed.
 */
unsigned long hk_pool_release(unsigned long nr_pages)
{
	unsigned long freed = 0;
	struct page *block;

	while (freed < nr_pages) {
		spin_lock(&hk_pool.lock);
		block = list_first_entry_or_null(&hk_pool.blocks, struct page,
						 lru);
		if (block) {
			list_del_init(&block->lru);
			hk_pool.nr_blocks--;
		}
		spin_unlock(&hk_pool.lock);
		if (!block)
			break;
		__free_pages(block, HK_BLOCK_ORDER);
		freed += HK_BLOCK_PAGES;
	}
	return freed;
}

#ifdef CONFIG_X86_64
/* Zero one page with non-temporal stores: the zeroes bypass the caches. */
static void hk_zero_page_nt(void *addr)
{
	unsigned long *p = addr;
	unsigned long *end = p + PAGE_SIZE / sizeof(*p);

	for (; p < end; p += 8)
		asm volatile("movnti %1, 0(%0)\n\t"
			     "movnti %1, 8(%0)\n\t"
			     "movnti %1, 16(%0)\n\t"
			     "movnti %1, 24(%0)\n\t"
			     "movnti %1, 32(%0)\n\t"
			     "movnti %1, 40(%0)\n\t"
			     "movnti %1, 48(%0)\n\t"
			     "movnti %1, 56(%0)\n\t"
			     : : "r" (p), "r" (0UL) : "memory");
}
#else
static void hk_zero_page_nt(void *addr)
{
	clear_page(addr);
}
#endif

/* Zero a freshly allocated block unless the page allocator already did. */
static void hk_zero_block(struct page *block)
{
	bool nt = hk_pool_nt_zeroing();
	unsigned long i;
	void *addr;

	if (!hk_pool_alloc_zeroes()) {
		for (i = 0; i < HK_BLOCK_PAGES; i++) {
			addr = kmap_local_page(block + i);
			if (nt)
				hk_zero_page_nt(addr);
			else
				clear_page(addr);
			kunmap_local(addr);
			if ((i & 63) == 63)
				cond_resched();
		}
		if (nt) {
			/* NT stores are weakly ordered: fence before publishing. */
			wmb();
			hk_stat_add(&hk_stats.idle_nt_zeroed_bytes,
				    HK_BLOCK_SIZE);
		}
	}
	hk_stat_add(&hk_stats.idle_zeroed_bytes, HK_BLOCK_SIZE);
}

/* Do not refill for @ms milliseconds. */
void hk_pool_pause(unsigned int ms)
{
	WRITE_ONCE(hk_pool.backoff_until, jiffies + msecs_to_jiffies(ms));
}

static bool hk_pool_backing_off(void)
{
	return time_before(jiffies, READ_ONCE(hk_pool.backoff_until));
}

/* Plenty of free memory: refills stop below 1/16 of RAM available. */
static bool hk_memory_ok(void)
{
	return si_mem_available() > (long)(totalram_pages() >> 4);
}

/*
 * Fill the pool up to the high watermark; called by the refill thread.
 * Returns the number of blocks added.
 */
static unsigned long hk_pool_fill(void)
{
	unsigned long added = 0;
	struct page *block;

	while (!kthread_should_stop() &&
	       READ_ONCE(hk_pool.nr_blocks) < hk_pool_high_blocks()) {
		if (hk_pool_backing_off())
			break;
		if (!hk_memory_ok()) {
			hk_pool_pause(max(READ_ONCE(hk_shrink_backoff_ms),
					  HK_FAIL_BACKOFF_MS));
			break;
		}

		block = alloc_pages(HK_REFILL_GFP, HK_BLOCK_ORDER);
		if (!block) {
			hk_pool_pause(max(READ_ONCE(hk_shrink_backoff_ms),
					  HK_FAIL_BACKOFF_MS));
			break;
		}

		atomic_long_add(HK_BLOCK_PAGES, &hk_pool.nr_dirty);
		hk_zero_block(block);

		spin_lock(&hk_pool.lock);
		/* The limits may have been lowered meanwhile. */
		if (hk_pool.nr_blocks >= hk_pool_max_blocks()) {
			spin_unlock(&hk_pool.lock);
			atomic_long_sub(HK_BLOCK_PAGES, &hk_pool.nr_dirty);
			__free_pages(block, HK_BLOCK_ORDER);
			break;
		}
		list_add_tail(&block->lru, &hk_pool.blocks);
		hk_pool.nr_blocks++;
		spin_unlock(&hk_pool.lock);
		atomic_long_sub(HK_BLOCK_PAGES, &hk_pool.nr_dirty);
		added++;

		cond_resched();
	}
	return added;
}

static int hk_refill_thread(void *unused)
{
	const struct sched_attr attr = {
		.size		= sizeof(attr),
		.sched_policy	= SCHED_IDLE,
	};
	long wait;
	int ret;

	/* Only run on otherwise idle CPUs. */
	ret = sched_setattr_nocheck(current, &attr);
	if (ret) {
		pr_warn("cannot set SCHED_IDLE (%d), refilling at nice 19\n",
			ret);
		sched_set_normal(current, 19);
	}

	while (!kthread_should_stop()) {
		wait_event_interruptible(hk_pool.wait,
					 kthread_should_stop() ||
					 hk_pool_wants_refill());
		if (kthread_should_stop())
			break;

		wait = READ_ONCE(hk_pool.backoff_until) - jiffies;
		if (wait > 0) {
			schedule_timeout_interruptible(wait);
			continue;
		}
		/*
		 * Never spin: if nothing could be added (limits changing
		 * under us), wait a little before looking again.
		 */
		if (!hk_pool_fill() && !hk_pool_backing_off())
			hk_pool_pause(HK_FAIL_BACKOFF_MS);
		cond_resched();
	}
	return 0;
}

int hk_pool_init(void)
{
	hk_pool.backoff_until = jiffies;
	hk_pool.thread = kthread_run(hk_refill_thread, NULL, "hakmem_zerod");
	if (IS_ERR(hk_pool.thread))
		return PTR_ERR(hk_pool.thread);
	return 0;
}

void hk_pool_exit(void)
{
	kthread_stop(hk_pool.thread);
	hk_pool_release(ULONG_MAX);
	WARN_ON(hk_pool.nr_blocks);
}
