// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - the per-node pools of pre-zeroed 2 MiB blocks and their
 * SCHED_IDLE refill threads.
 *
 * Each node that had memory at load time (hk_nodes) has its own pool and
 * its own refill thread, "hakmem_zerod<nid>", which runs on the node's CPUs
 * and allocates with __GFP_THISNODE: a pool only ever holds memory of its
 * node, and that memory is zeroed by a CPU of the same node.  The pool
 * limits (pool_{low,high,max}_mb) apply to each pool; see
 * Documentation/kernel-module.rst for why they are not split between nodes.
 *
 * The module parameters that steer the pools are defined here: the limits,
 * shrink_backoff_ms and nt_zero.  They change at any time and independently
 * of each other, so they are read with READ_ONCE, and the limits only as a
 * snapshot that keeps low <= high <= max (hk_pool_limit_blocks()).  A
 * write to any but nt_zero wakes the refill threads (hk_pool_kick()).
 *
 * A pool holds unsplit order-HK_BLOCK_ORDER blocks that nobody else
 * references, linked through the head page's lru field.  A block leaves the
 * pool exactly once: to be split and mapped (hk_pool_take) or to be freed
 * (hk_pool_release, the shrinker).  Pages are never put back into a pool
 * once handed out, so the pools need no reference-count tracking.
 *
 * Locking: each pool's lock (a plain spinlock, never taken from interrupt
 * context and never held across an allocation or a sleep) protects its
 * blocks and nr_blocks.  nr_blocks, nr_dirty and backoff_until are also read
 * locklessly as hints.  The hk_pools array is published and withdrawn under
 * kernel_param_lock(), see below.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/topology.h>
#include <linux/vmstat.h>
#include <linux/wait.h>
#include <uapi/linux/sched/types.h>

#include "internal.h"

/*
 * Refills must not push other memory out: no direct reclaim, no kswapd
 * wake-up, no warnings.  The pool is kernel memory that is not charged to a
 * memory cgroup (its pages are charged when mmap hands them out, cache.c);
 * it is bounded by pool_max_mb and given back by the shrinker.
 */
#define HK_REFILL_GFP	((GFP_HIGHUSER & ~__GFP_RECLAIM) | __GFP_NOWARN)

/* Refills that fail back off at least this long. */
#define HK_FAIL_BACKOFF_MS	100

/* The longest shrink_backoff_ms: ten minutes. */
#define HK_MAX_BACKOFF_MS	600000

static unsigned int hk_pool_max_mb = 256;
static unsigned int hk_pool_low_mb = 8;
static unsigned int hk_pool_high_mb = 32;
static unsigned int hk_shrink_backoff_ms = 1000;
static bool hk_nt_zero = true;

static void hk_pool_kick(void);

/* Set a bounded parameter; the refill threads follow a change at once. */
static int hk_param_set_kick(const char *val, const struct kernel_param *kp,
			     unsigned int max)
{
	int ret = param_set_uint_minmax(val, kp, 0, max);

	if (!ret)
		hk_pool_kick();
	return ret;
}

/* No pool limit above the machine's memory. */
static int hk_param_set_watermark(const char *val,
				  const struct kernel_param *kp)
{
	return hk_param_set_kick(val, kp, totalram_pages() >> (20 - PAGE_SHIFT));
}

static const struct kernel_param_ops hk_watermark_ops = {
	.set = hk_param_set_watermark,
	.get = param_get_uint,
};

module_param_cb(pool_max_mb, &hk_watermark_ops, &hk_pool_max_mb, 0644);
MODULE_PARM_DESC(pool_max_mb, "Hard cap of each node's pre-zeroed pool in MiB (default 256)");
module_param_cb(pool_low_mb, &hk_watermark_ops, &hk_pool_low_mb, 0644);
MODULE_PARM_DESC(pool_low_mb, "Refill a node's pool when it drops below this many MiB (default 8)");
module_param_cb(pool_high_mb, &hk_watermark_ops, &hk_pool_high_mb, 0644);
MODULE_PARM_DESC(pool_high_mb, "Refill a node's pool up to this many MiB (default 32)");
/* A back-off under way follows the new value at once. */
static int hk_param_set_backoff(const char *val,
				const struct kernel_param *kp)
{
	return hk_param_set_kick(val, kp, HK_MAX_BACKOFF_MS);
}

static const struct kernel_param_ops hk_backoff_ops = {
	.set = hk_param_set_backoff,
	.get = param_get_uint,
};

module_param_cb(shrink_backoff_ms, &hk_backoff_ops, &hk_shrink_backoff_ms, 0644);
MODULE_PARM_DESC(shrink_backoff_ms, "Pause refilling this long after the shrinker ran, 0 to 600000 (default 1000)");
module_param_named(nt_zero, hk_nt_zero, bool, 0644);
MODULE_PARM_DESC(nt_zero, "Zero with non-temporal stores when the page allocator does not (default Y)");

struct hk_pool {
	spinlock_t lock;		/* protects blocks and nr_blocks */
	struct list_head blocks;	/* zeroed blocks, under lock */
	unsigned long nr_blocks;	/* length of blocks, under lock */
	atomic_long_t nr_dirty;		/* pages being zeroed right now */
	unsigned long backoff_until;	/* jiffies; no refill before this */
	wait_queue_head_t wait;		/* the refill thread sleeps here */
	struct task_struct *thread;
	int nid;
};

/*
 * nr_node_ids entries: the pool of each node in hk_nodes, NULL elsewhere.
 *
 * Module parameters can be written (and call hk_pool_kick()) whenever they
 * exist in sysfs, which includes the whole of module init and exit; that
 * runs under kernel_param_lock().  So the array is published only once all
 * its pools run, and withdrawn before they are freed, under the same lock.
 * Everything else that uses the pools (mmap, the shrinker, sysfs, ioctls)
 * is registered after hk_pool_init() and unregistered before
 * hk_pool_exit().
 */
static struct hk_pool **hk_pools;

static struct hk_pool *hk_pool_of(int nid)
{
	if (!hk_pools || nid < 0 || nid >= nr_node_ids)
		return NULL;
	return hk_pools[nid];
}

static unsigned long hk_mb_to_pages(unsigned int mb)
{
	return (unsigned long)mb << (20 - PAGE_SHIFT);
}

/*
 * The limits in whole blocks, from one read of each parameter: the
 * parameters change at any time and independently, and a snapshot must keep
 * low <= high <= max.
 */
static void hk_pool_limit_blocks(struct hk_pool_limits *lim)
{
	lim->max = hk_mb_to_pages(READ_ONCE(hk_pool_max_mb)) / HK_BLOCK_PAGES;
	lim->high = min(hk_mb_to_pages(READ_ONCE(hk_pool_high_mb)) /
			HK_BLOCK_PAGES, lim->max);
	lim->low = min(hk_mb_to_pages(READ_ONCE(hk_pool_low_mb)) /
		       HK_BLOCK_PAGES, lim->high);
}

static unsigned long hk_pool_max_blocks(void)
{
	struct hk_pool_limits lim;

	hk_pool_limit_blocks(&lim);
	return lim.max;
}

static unsigned long hk_pool_high_blocks(void)
{
	struct hk_pool_limits lim;

	hk_pool_limit_blocks(&lim);
	return lim.high;
}

static unsigned long hk_pool_low_blocks(void)
{
	struct hk_pool_limits lim;

	hk_pool_limit_blocks(&lim);
	return lim.low;
}

/* The limits of each pool in pages, consistent with each other. */
void hk_pool_limits(struct hk_pool_limits *lim)
{
	hk_pool_limit_blocks(lim);
	lim->max *= HK_BLOCK_PAGES;
	lim->high *= HK_BLOCK_PAGES;
	lim->low *= HK_BLOCK_PAGES;
}

static unsigned long hk_pool_zeroed(struct hk_pool *pool)
{
	return READ_ONCE(pool->nr_blocks) * HK_BLOCK_PAGES;
}

static unsigned long hk_pool_dirty(struct hk_pool *pool)
{
	return atomic_long_read(&pool->nr_dirty);
}

/* @count of the pool of @nid, or the sum over all pools for NUMA_NO_NODE. */
static unsigned long hk_pool_sum(int nid,
				 unsigned long (*count)(struct hk_pool *))
{
	unsigned long sum = 0;
	struct hk_pool *pool;
	int n;

	for_each_node_mask(n, hk_nodes) {
		pool = hk_pool_of(n);
		if (pool && (nid == NUMA_NO_NODE || nid == n))
			sum += count(pool);
	}
	return sum;
}

unsigned long hk_pool_zeroed_pages(int nid)
{
	return hk_pool_sum(nid, hk_pool_zeroed);
}

unsigned long hk_pool_dirty_pages(int nid)
{
	return hk_pool_sum(nid, hk_pool_dirty);
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

static bool hk_pool_wants_refill(struct hk_pool *pool)
{
	return READ_ONCE(pool->nr_blocks) < hk_pool_low_blocks();
}

/* Wake the refill thread if the pool is below its low watermark. */
static void hk_pool_wake(struct hk_pool *pool)
{
	if (hk_pool_wants_refill(pool))
		wake_up(&pool->wait);
}

/* Remove one zeroed block from @pool, or return NULL if it is empty. */
static struct page *hk_pool_pop(struct hk_pool *pool)
{
	struct page *block;

	spin_lock(&pool->lock);
	block = list_first_entry_or_null(&pool->blocks, struct page, lru);
	if (block) {
		list_del_init(&block->lru);
		pool->nr_blocks--;
	}
	spin_unlock(&pool->lock);
	return block;
}

/*
 * Free at least @nr_pages pages (whole blocks) of @pool back to the page
 * allocator, or as many as it holds.  Returns the number freed.
 */
static unsigned long hk_pool_shrink(struct hk_pool *pool,
				    unsigned long nr_pages)
{
	unsigned long freed = 0;
	struct page *block;

	while (freed < nr_pages) {
		block = hk_pool_pop(pool);
		if (!block)
			break;
		__free_pages(block, HK_BLOCK_ORDER);
		freed += HK_BLOCK_PAGES;
	}
	return freed;
}

/*
 * A parameter changed: give back what exceeds pool_max_mb in each pool, cut
 * short any back-off longer than shrink_backoff_ms from now, and wake the
 * refill threads of pools now below their low watermark.  Called with
 * kernel_param_lock() held, see hk_pools.
 */
static void hk_pool_kick(void)
{
	unsigned long zeroed, max = hk_pool_max_blocks() * HK_BLOCK_PAGES;
	unsigned long until = jiffies +
		msecs_to_jiffies(READ_ONCE(hk_shrink_backoff_ms));
	struct hk_pool *pool;
	int nid;

	for_each_node_mask(nid, hk_nodes) {
		pool = hk_pool_of(nid);
		if (!pool)
			continue;
		zeroed = hk_pool_zeroed(pool);
		if (zeroed > max)
			hk_pool_shrink(pool, zeroed - max);
		if (time_after(READ_ONCE(pool->backoff_until), until))
			WRITE_ONCE(pool->backoff_until, until);
		wake_up(&pool->wait);
	}
}

/*
 * Remove one zeroed block from the pool of @nid, or return NULL if it is
 * empty or @nid has no pool.
 */
struct page *hk_pool_take(int nid)
{
	struct hk_pool *pool = hk_pool_of(nid);
	struct page *block;

	if (!pool)
		return NULL;
	block = hk_pool_pop(pool);
	hk_pool_wake(pool);
	return block;
}

/* Free at least @nr_pages pages of the pool of @nid; returns the number. */
unsigned long hk_pool_release(int nid, unsigned long nr_pages)
{
	struct hk_pool *pool = hk_pool_of(nid);

	return pool ? hk_pool_shrink(pool, nr_pages) : 0;
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
static void hk_zero_block(struct hk_pool *pool, struct page *block)
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
			hk_node_stat_add(pool->nid, HK_IDLE_NT_ZEROED_BYTES,
					 HK_BLOCK_SIZE);
		}
	}
	hk_node_stat_add(pool->nid, HK_IDLE_ZEROED_BYTES, HK_BLOCK_SIZE);
}

static void hk_pool_backoff(struct hk_pool *pool, unsigned int ms)
{
	WRITE_ONCE(pool->backoff_until, jiffies + msecs_to_jiffies(ms));
}

/* The shrinker ran on @nid: no refill there for shrink_backoff_ms. */
void hk_pool_pause(int nid)
{
	struct hk_pool *pool = hk_pool_of(nid);

	if (pool)
		hk_pool_backoff(pool, READ_ONCE(hk_shrink_backoff_ms));
}

static bool hk_pool_backing_off(struct hk_pool *pool)
{
	return time_before(jiffies, READ_ONCE(pool->backoff_until));
}

/*
 * Plenty of free memory on @nid: refills stop below 1/16 of RAM available,
 * and below 1/16 of the node's memory free, so that no pool drains its node
 * while the others have memory to spare.  Below that, mmap() takes blocks
 * of the other nodes' pools for a task that prefers @nid (mmap.c).
 */
bool hk_memory_ok(int nid)
{
	struct pglist_data *pgdat = NODE_DATA(nid);
	unsigned long free = 0, managed = 0;
	int i;

	if (si_mem_available() <= (long)(totalram_pages() >> 4))
		return false;
	for (i = 0; i < MAX_NR_ZONES; i++) {
		free += zone_page_state(&pgdat->node_zones[i], NR_FREE_PAGES);
		managed += zone_managed_pages(&pgdat->node_zones[i]);
	}
	return free > managed >> 4;
}

/*
 * Fill @pool up to the high watermark with blocks of its node; called by
 * its refill thread.  Returns the number of blocks added.
 */
static unsigned long hk_pool_fill(struct hk_pool *pool)
{
	unsigned int fail_ms = max(READ_ONCE(hk_shrink_backoff_ms),
				   HK_FAIL_BACKOFF_MS);
	unsigned long added = 0;
	struct page *block;

	while (!kthread_should_stop() &&
	       READ_ONCE(pool->nr_blocks) < hk_pool_high_blocks()) {
		if (hk_pool_backing_off(pool))
			break;
		if (!hk_memory_ok(pool->nid)) {
			hk_pool_backoff(pool, fail_ms);
			break;
		}

		block = alloc_pages_node(pool->nid,
					 HK_REFILL_GFP | __GFP_THISNODE,
					 HK_BLOCK_ORDER);
		if (!block) {
			hk_pool_backoff(pool, fail_ms);
			break;
		}

		atomic_long_add(HK_BLOCK_PAGES, &pool->nr_dirty);
		hk_zero_block(pool, block);

		spin_lock(&pool->lock);
		/* The limits may have been lowered meanwhile. */
		if (pool->nr_blocks >= hk_pool_max_blocks()) {
			spin_unlock(&pool->lock);
			atomic_long_sub(HK_BLOCK_PAGES, &pool->nr_dirty);
			__free_pages(block, HK_BLOCK_ORDER);
			break;
		}
		list_add_tail(&block->lru, &pool->blocks);
		pool->nr_blocks++;
		spin_unlock(&pool->lock);
		atomic_long_sub(HK_BLOCK_PAGES, &pool->nr_dirty);
		added++;

		cond_resched();
	}
	return added;
}

static int hk_refill_thread(void *data)
{
	const struct sched_attr attr = {
		.size		= sizeof(attr),
		.sched_policy	= SCHED_IDLE,
	};
	struct hk_pool *pool = data;
	unsigned long until;
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
		wait_event_interruptible(pool->wait,
					 kthread_should_stop() ||
					 hk_pool_wants_refill(pool));
		if (kthread_should_stop())
			break;

		/*
		 * Sleep out a back-off on the wait queue, and start over when
		 * it changes: a new shrink_backoff_ms (hk_pool_kick()) cuts
		 * it short.
		 */
		until = READ_ONCE(pool->backoff_until);
		wait = until - jiffies;
		if (wait > 0) {
			wait_event_interruptible_timeout(pool->wait,
					kthread_should_stop() ||
					READ_ONCE(pool->backoff_until) != until,
					wait);
			continue;
		}
		/*
		 * Never spin: if nothing could be added (limits changing
		 * under us), wait a little before looking again.
		 */
		if (!hk_pool_fill(pool) && !hk_pool_backing_off(pool))
			hk_pool_backoff(pool, HK_FAIL_BACKOFF_MS);
		cond_resched();
	}
	return 0;
}

/* Set up the pool of @nid and start its refill thread. */
static struct hk_pool *hk_pool_create(int nid)
{
	const struct cpumask *cpus = cpumask_of_node(nid);
	struct task_struct *thread;
	struct hk_pool *pool;

	pool = kzalloc_node(sizeof(*pool), GFP_KERNEL, nid);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->blocks);
	init_waitqueue_head(&pool->wait);
	pool->backoff_until = jiffies;
	pool->nid = nid;

	thread = kthread_create_on_node(hk_refill_thread, pool, nid,
					"hakmem_zerod%d", nid);
	if (IS_ERR(thread)) {
		kfree(pool);
		return ERR_CAST(thread);
	}
	/*
	 * Zero on the node's own CPUs, next to the memory.  A node without
	 * CPUs (online when the module loads) gets an unbound thread, as the
	 * scheduler would move a bound one off an empty mask anyway.
	 */
	if (cpumask_intersects(cpus, cpu_online_mask))
		set_cpus_allowed_ptr(thread, cpus);
	pool->thread = thread;
	wake_up_process(thread);
	return pool;
}

/* Stop the refill thread of @pool, free its blocks and the pool itself. */
static void hk_pool_destroy(struct hk_pool *pool)
{
	kthread_stop(pool->thread);
	hk_pool_shrink(pool, ULONG_MAX);
	WARN_ON(pool->nr_blocks);
	kfree(pool);
}

static void hk_pools_destroy(struct hk_pool **pools)
{
	int nid;

	for_each_node_mask(nid, hk_nodes)
		if (pools[nid])
			hk_pool_destroy(pools[nid]);
	kfree(pools);
}

int hk_pool_init(void)
{
	struct hk_pool **pools;
	int nid, ret;

	pools = kcalloc(nr_node_ids, sizeof(*pools), GFP_KERNEL);
	if (!pools)
		return -ENOMEM;
	for_each_node_mask(nid, hk_nodes) {
		pools[nid] = hk_pool_create(nid);
		if (IS_ERR(pools[nid])) {
			ret = PTR_ERR(pools[nid]);
			pools[nid] = NULL;
			hk_pools_destroy(pools);
			return ret;
		}
	}

	kernel_param_lock(THIS_MODULE);
	hk_pools = pools;
	kernel_param_unlock(THIS_MODULE);
	return 0;
}

void hk_pool_exit(void)
{
	struct hk_pool **pools;

	kernel_param_lock(THIS_MODULE);
	pools = hk_pools;
	hk_pools = NULL;
	kernel_param_unlock(THIS_MODULE);
	hk_pools_destroy(pools);
}
