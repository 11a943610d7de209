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
 * This file: module parameters, the misc device and module init/exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>

#include <linux/hakmem.h>

#include "internal.h"

#define HAKMEM_VERSION	"0.1.0"

unsigned int hk_pool_max_mb = 256;
unsigned int hk_pool_low_mb = 8;
unsigned int hk_pool_high_mb = 32;
unsigned int hk_shrink_backoff_ms = 1000;
bool hk_nt_zero = true;
nodemask_t hk_nodes;

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

static int __init hk_init(void)
{
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

	hk_miscdev.groups = hk_stats_groups();
	ret = misc_register(&hk_miscdev);
	if (ret)
		goto err_shrinker;

	pr_info("version %s, abi %d, pool %u-%u MiB (max %u) on each of %u nodes, zeroing by %s\n",
		HAKMEM_VERSION, HAKMEM_ABI_VERSION, hk_pool_low_mb,
		hk_pool_high_mb, hk_pool_max_mb, nodes_weight(hk_nodes),
		hk_pool_alloc_zeroes() ? "page allocator (init_on_alloc)" :
		hk_pool_nt_zeroing() ? "NT stores" : "clear_page");
	return 0;

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
