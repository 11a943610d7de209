/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hakmem - internal declarations shared by the module's files
 */
#ifndef HAKMEM_KMOD_INTERNAL_H
#define HAKMEM_KMOD_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/nodemask.h>
#include <linux/sizes.h>
#include <linux/sysfs.h>
#include <linux/types.h>

#define HK_BLOCK_SIZE	SZ_2M
#define HK_BLOCK_ORDER	(21 - PAGE_SHIFT)
#define HK_BLOCK_PAGES	(1UL << HK_BLOCK_ORDER)

/*
 * main.c: the nodes that had memory when the module was loaded.  Each has a
 * pool, a refill thread and a stats directory; set before anything else is
 * initialised and never changed (memory hotplug is not followed).
 */
extern nodemask_t hk_nodes;

/*
 * stats.c: the event counters, at the bottom of the module: they depend on
 * nothing, every other file may add to them, and they only ever grow.
 * These are kept for the whole module only.
 */
struct hk_stats {
	atomic64_t fault_pages;
	atomic64_t mmap_calls;
	atomic64_t mmap_bytes;
	/* of regions mapped without PROT_WRITE, which ->mmap leaves empty */
	atomic64_t nowrite_fill_pages;
};

extern struct hk_stats hk_stats;

static inline void hk_stat_add(atomic64_t *counter, u64 val)
{
	atomic64_add(val, counter);
}

/*
 * stats.c: the counters kept per node.  Every page of a region mapped is
 * counted once: in HK_POOL_HANDOUT_PAGES, HK_POOL_MISS_PAGES,
 * HK_LIMIT_FILL_PAGES or hk_stats.nowrite_fill_pages.
 */
enum hk_node_stat_item {
	HK_POOL_HANDOUT_PAGES,
	/*
	 * No pool had a block: left to faults at mmap; its sysfs and uapi
	 * name is sync_fill_pages.
	 */
	HK_POOL_MISS_PAGES,
	/* Left to faults: the memory cgroup or the memlock budget was full. */
	HK_LIMIT_FILL_PAGES,
	HK_IDLE_ZEROED_BYTES,
	HK_IDLE_NT_ZEROED_BYTES,
	HK_SHRINKER_RELEASED_PAGES,
	HK_NR_NODE_COUNTERS,
};

int hk_stats_init(void);
void hk_stats_exit(void);
void hk_node_stat_add(int nid, enum hk_node_stat_item item, u64 val);
/* @nid NUMA_NO_NODE: the sum over all nodes */
u64 hk_node_stat(int nid, enum hk_node_stat_item item);

/*
 * stats_sysfs.c: the counters and the pools' gauges as sysfs files, the
 * attribute groups of the misc device.
 */
int hk_stats_sysfs_init(void);
void hk_stats_sysfs_exit(void);
const struct attribute_group **hk_stats_sysfs_groups(void);

/*
 * pool.c: one pool of pre-zeroed, unsplit order-HK_BLOCK_ORDER blocks per
 * node in hk_nodes.  The limits apply to each node's pool.
 */
int hk_pool_init(void);
void hk_pool_exit(void);
void hk_pool_pause(int nid);
struct page *hk_pool_take(int nid);
unsigned long hk_pool_release(int nid, unsigned long nr_pages);
/* @nid NUMA_NO_NODE: the sum over all pools */
unsigned long hk_pool_zeroed_pages(int nid);
unsigned long hk_pool_dirty_pages(int nid);
/* Pool limits in pages (or blocks, inside pool.c); low <= high <= max. */
struct hk_pool_limits {
	unsigned long low;
	unsigned long high;
	unsigned long max;
};

void hk_pool_limits(struct hk_pool_limits *lim);
bool hk_pool_nt_zeroing(void);
bool hk_pool_alloc_zeroes(void);
bool hk_memory_ok(int nid);

/*
 * numa.c: which nodes' pools may serve the calling task, from its memory
 * policy and cpuset.
 */
struct hk_placement {
	nodemask_t allowed;	/* pools that may serve at all */
	nodemask_t interleave;	/* if not empty: spread blocks over these */
	int preferred;		/* the first pool to try, or NUMA_NO_NODE */
};

void hk_placement_init(struct hk_placement *pl);
int hk_placement_node(const struct hk_placement *pl,
		      struct vm_area_struct *vma, unsigned long addr);
int hk_nearest_node(int nid, const nodemask_t *nodes);

/* cache.c: the page cache every device page is in while it may be mapped */
int hk_cache_init(void);
void hk_cache_exit(void);
/* The first of @nr indexes that no page ever had or will have. */
pgoff_t hk_cache_reserve(unsigned long nr);
struct user_struct *hk_cache_payer(struct file *file);
unsigned long hk_cache_add(struct mm_struct *mm, struct page *page,
			   unsigned long nr, pgoff_t index, gfp_t gfp,
			   struct user_struct *payer);
unsigned long hk_cache_evict(pgoff_t first, pgoff_t last);
/* How many pages the cache holds: every one is charged to a memory cgroup. */
unsigned long hk_cache_pages(void);
/* Whether @folio is in the cache (and so one of the device's own). */
bool hk_cache_holds(struct folio *folio);
/* Evict, a little later, whatever nothing maps any more. */
void hk_cache_sweep_soon(void);
/* The same, at the latest within HK_SWEEP_MAX_MS (cache.c), if not sooner. */
void hk_cache_sweep_later(void);

/* shrinker.c */
int hk_shrinker_init(void);
void hk_shrinker_exit(void);

/* mmap.c */
int hk_mmap(struct file *file, struct vm_area_struct *vma);
int hk_purge(unsigned long start, unsigned long len);
unsigned long hk_get_unmapped_area(struct file *file, unsigned long addr,
				   unsigned long len, unsigned long pgoff,
				   unsigned long flags);

/* fork.c */
void hk_vm_open(struct vm_area_struct *vma);
void hk_fork_unshare(struct vm_area_struct *vma);
void hk_fork_exit(void);

/* ioctl.c */
long hk_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* HAKMEM_KMOD_INTERNAL_H */
