// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - pre-zeroed memory for user-space allocators
 *
 * /dev/hakmem hands out 2 MiB-aligned MAP_PRIVATE regions that are already
 * populated with zeroed, writable pages, as far as the pools have them (the
 * rest is faulted in on first touch).  On each memory node a SCHED_IDLE
 * kernel thread keeps a pool of zeroed 2 MiB blocks filled between a low and
 * a high watermark; a shrinker gives the pools back under memory pressure.
 *
 * This file: the misc device and module init/exit, which set up the other
 * files' parts bottom up (counters, page cache, pools, shrinker, the
 * statistics' sysfs files) and tear them down in reverse.  The module parameters are defined beside the code
 * they steer, in pool.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nodemask.h>

#include <linux/hakmem.h>

#include "internal.h"

#define HAKMEM_VERSION	"0.1.0"

nodemask_t hk_nodes;

static const struct file_operations hk_fops = {
	.owner			= THIS_MODULE,
	.mmap			= hk_mmap,
	.get_unmapped_area	= hk_get_unmapped_area,
	.unlocked_ioctl		= hk_ioctl,
	.compat_ioctl		= compat_ptr_ioctl,
	.llseek			= noop_llseek,
};

static struct miscdevice hk_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "hakmem",
	.fops	= &hk_fops,
	/*
	 * For every user: the pages are charged to memory cgroups, and as
	 * they cannot be swapped out, to the memlock budget of users who may
	 * not lock memory (cache.c); the device's group is exempt.
	 */
	.mode	= 0666,
};

static unsigned long hk_pages_to_mb(unsigned long pages)
{
	return pages >> (20 - PAGE_SHIFT);
}

static int __init hk_init(void)
{
	struct hk_pool_limits lim;
	int ret;

	/* Memory hotplug is not followed: see kernel-module.rst. */
	hk_nodes = node_states[N_MEMORY];

	ret = hk_stats_init();
	if (ret)
		return ret;

	ret = hk_cache_init();
	if (ret)
		goto err_stats;

	ret = hk_pool_init();
	if (ret)
		goto err_cache;

	ret = hk_shrinker_init();
	if (ret)
		goto err_pool;

	ret = hk_stats_sysfs_init();
	if (ret)
		goto err_shrinker;

	hk_miscdev.groups = hk_stats_sysfs_groups();
	ret = misc_register(&hk_miscdev);
	if (ret)
		goto err_sysfs;

	hk_pool_limits(&lim);
	pr_info("version %s, abi %d, pool %lu-%lu MiB (max %lu) on each of %u nodes, zeroing by %s\n",
		HAKMEM_VERSION, HAKMEM_ABI_VERSION, hk_pages_to_mb(lim.low),
		hk_pages_to_mb(lim.high), hk_pages_to_mb(lim.max),
		nodes_weight(hk_nodes),
		hk_pool_alloc_zeroes() ? "page allocator (init_on_alloc)" :
		hk_pool_nt_zeroing() ? "NT stores" : "clear_page");
	return 0;

err_sysfs:
	hk_stats_sysfs_exit();
err_shrinker:
	hk_shrinker_exit();
err_pool:
	hk_pool_exit();
err_cache:
	hk_cache_exit();
err_stats:
	hk_stats_exit();
	return ret;
}

static void __exit hk_exit(void)
{
	/*
	 * No file can be open here: every open file and every mapping (which
	 * holds its file) pins the module through fops.owner.
	 */
	misc_deregister(&hk_miscdev);
	hk_fork_exit();
	hk_stats_sysfs_exit();
	hk_shrinker_exit();
	hk_pool_exit();
	hk_cache_exit();
	hk_stats_exit();
}

module_init(hk_init);
module_exit(hk_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("hakmem developers");
MODULE_DESCRIPTION("Pre-zeroed memory regions for user-space allocators");
MODULE_VERSION(HAKMEM_VERSION);
