// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - the statistics in sysfs, one value per file:
 *
 *	/sys/class/misc/hakmem/stats/	the whole module (sums over the nodes)
 *	/sys/class/misc/hakmem/node<N>/	the pool and the counters of node N
 *
 * This sits on top: it reads the counters (stats.c), the pools' gauges
 * (pool.c) and the page cache's (cache.c), and nothing calls into it but
 * init and exit.  Its attribute
 * groups are the misc device's, so the files exist from before the device's
 * uevent until after it is gone.
 *
 * The per-node directories sit next to stats/, not inside it: attribute
 * groups are one directory deep.  There is one directory for each node in
 * hk_nodes, built at init.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/nodemask.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#include "internal.h"

#define HK_COUNTER_ATTR(name)						\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n",				\
			  (long long)atomic64_read(&hk_stats.name));	\
}									\
static DEVICE_ATTR_RO(name)

HK_COUNTER_ATTR(fault_pages);
HK_COUNTER_ATTR(mmap_calls);
HK_COUNTER_ATTR(mmap_bytes);
HK_COUNTER_ATTR(nowrite_fill_pages);

static ssize_t cache_pages_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", hk_cache_pages());
}
static DEVICE_ATTR_RO(cache_pages);

/* The files of stats/ that have no per-node counterpart. */
static struct attribute *hk_global_attrs[] = {
	&dev_attr_fault_pages.attr,
	&dev_attr_mmap_calls.attr,
	&dev_attr_mmap_bytes.attr,
	&dev_attr_nowrite_fill_pages.attr,
	&dev_attr_cache_pages.attr,
};

/*
 * The files of each node's directory, whose sums stats/ has too: the
 * per-node counters, numbered as in stats.c, then the pool's gauges.
 */
enum hk_node_file {
	HK_FILE_POOL_ZEROED_PAGES = HK_NR_NODE_COUNTERS,
	HK_FILE_POOL_DIRTY_PAGES,
	HK_NR_NODE_FILES,
};

static const char * const hk_node_file_names[HK_NR_NODE_FILES] = {
	[HK_POOL_HANDOUT_PAGES]		= "pool_handout_pages",
	[HK_POOL_MISS_PAGES]		= "sync_fill_pages",
	[HK_LIMIT_FILL_PAGES]		= "limit_fill_pages",
	[HK_IDLE_ZEROED_BYTES]		= "idle_zeroed_bytes",
	[HK_IDLE_NT_ZEROED_BYTES]	= "idle_nt_zeroed_bytes",
	[HK_SHRINKER_RELEASED_PAGES]	= "shrinker_released_pages",
	[HK_FILE_POOL_ZEROED_PAGES]	= "pool_zeroed_pages",
	[HK_FILE_POOL_DIRTY_PAGES]	= "pool_dirty_pages",
};

/* The value of file @file of node @nid, or the sum (NUMA_NO_NODE). */
static u64 hk_node_file_value(int nid, unsigned int file)
{
	switch (file) {
	case HK_FILE_POOL_ZEROED_PAGES:
		return hk_pool_zeroed_pages(nid);
	case HK_FILE_POOL_DIRTY_PAGES:
		return hk_pool_dirty_pages(nid);
	default:
		return hk_node_stat(nid, file);
	}
}

/* One file of a per-node value: of node @nid, or the sum (NUMA_NO_NODE). */
struct hk_stat_attr {
	struct device_attribute dattr;
	int nid;
	unsigned int file;
};

/* One directory: stats/ or node<N>/. */
struct hk_stat_dir {
	struct attribute_group group;
	struct hk_stat_attr attrs[HK_NR_NODE_FILES];
	struct attribute *ptrs[HK_NR_NODE_FILES +
			       ARRAY_SIZE(hk_global_attrs) + 1];
	char name[16];
};

/* stats/, then one directory per node of hk_nodes; and their groups. */
static struct hk_stat_dir *hk_stat_dirs;
static const struct attribute_group **hk_groups;

static ssize_t hk_stat_attr_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct hk_stat_attr *a = container_of(attr, struct hk_stat_attr,
					      dattr);

	return sysfs_emit(buf, "%llu\n", hk_node_file_value(a->nid, a->file));
}

/* Set up @dir for node @nid, or for the sums if @nid is NUMA_NO_NODE. */
static void hk_stat_dir_init(struct hk_stat_dir *dir, int nid)
{
	struct hk_stat_attr *a;
	int i, n = 0;

	if (nid == NUMA_NO_NODE) {
		snprintf(dir->name, sizeof(dir->name), "stats");
		for (i = 0; i < ARRAY_SIZE(hk_global_attrs); i++)
			dir->ptrs[n++] = hk_global_attrs[i];
	} else {
		snprintf(dir->name, sizeof(dir->name), "node%d", nid);
	}

	for (i = 0; i < HK_NR_NODE_FILES; i++) {
		a = &dir->attrs[i];
		sysfs_attr_init(&a->dattr.attr);
		a->dattr.attr.name = hk_node_file_names[i];
		a->dattr.attr.mode = 0444;
		a->dattr.show = hk_stat_attr_show;
		a->nid = nid;
		a->file = i;
		dir->ptrs[n++] = &a->dattr.attr;
	}
	dir->ptrs[n] = NULL;
	dir->group.name = dir->name;
	dir->group.attrs = dir->ptrs;
}

int hk_stats_sysfs_init(void)
{
	int nr_dirs = nodes_weight(hk_nodes) + 1;
	int nid, i = 0;

	hk_stat_dirs = kcalloc(nr_dirs, sizeof(*hk_stat_dirs), GFP_KERNEL);
	hk_groups = kcalloc(nr_dirs + 1, sizeof(*hk_groups), GFP_KERNEL);
	if (!hk_stat_dirs || !hk_groups) {
		hk_stats_sysfs_exit();
		return -ENOMEM;
	}

	hk_stat_dir_init(&hk_stat_dirs[i], NUMA_NO_NODE);
	hk_groups[i] = &hk_stat_dirs[i].group;
	for_each_node_mask(nid, hk_nodes) {
		i++;
		hk_stat_dir_init(&hk_stat_dirs[i], nid);
		hk_groups[i] = &hk_stat_dirs[i].group;
	}
	return 0;
}

/* The groups for the misc device; valid from hk_stats_sysfs_init() on. */
const struct attribute_group **hk_stats_sysfs_groups(void)
{
	return hk_groups;
}

/* Only after the misc device (and with it the files) is gone. */
void hk_stats_sysfs_exit(void)
{
	kfree(hk_groups);
	kfree(hk_stat_dirs);
}
