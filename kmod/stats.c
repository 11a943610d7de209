// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - statistics, exported in /sys/class/misc/hakmem/stats/ (one value
 * per file) and through HAKMEM_IOC_STATS.
 *
 * The counters are independent atomics; a reader may see a mix of older and
 * newer values, which is fine for statistics.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "internal.h"

struct hk_stats hk_stats;

#define HK_COUNTER_ATTR(name)						\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, "%lld\n",				\
			  (long long)atomic64_read(&hk_stats.name));	\
}									\
static DEVICE_ATTR_RO(name)

HK_COUNTER_ATTR(pool_handout_pages);
HK_COUNTER_ATTR(sync_fill_pages);
HK_COUNTER_ATTR(fault_pages);
HK_COUNTER_ATTR(idle_zeroed_bytes);
HK_COUNTER_ATTR(idle_nt_zeroed_bytes);
HK_COUNTER_ATTR(shrinker_released_pages);
HK_COUNTER_ATTR(mmap_calls);
HK_COUNTER_ATTR(mmap_bytes);

static ssize_t pool_zeroed_pages_show(struct device *dev,
				      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", hk_pool_zeroed_pages());
}
static DEVICE_ATTR_RO(pool_zeroed_pages);

static ssize_t pool_dirty_pages_show(struct device *dev,
				     struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", hk_pool_dirty_pages());
}
static DEVICE_ATTR_RO(pool_dirty_pages);

static struct attribute *hk_stats_attrs[] = {
	&dev_attr_pool_zeroed_pages.attr,
	&dev_attr_pool_dirty_pages.attr,
	&dev_attr_pool_handout_pages.attr,
	&dev_attr_sync_fill_pages.attr,
	&dev_attr_fault_pages.attr,
	&dev_attr_idle_zeroed_bytes.attr,
	&dev_attr_idle_nt_zeroed_bytes.attr,
	&dev_attr_shrinker_released_pages.attr,
	&dev_attr_mmap_calls.attr,
	&dev_attr_mmap_bytes.attr,
	NULL,
};

static const struct attribute_group hk_stats_group = {
	.name	= "stats",
	.attrs	= hk_stats_attrs,
};

const struct attribute_group *hk_attr_groups[] = {
	&hk_stats_group,
	NULL,
};
