// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - ioctls.
 *
 * Commands are dispatched on _IOC_NR; _IOC_SIZE is the size of the caller's
 * struct, which may be older (smaller) or newer (larger) than ours:
 * copy_struct_from_user() rejects unknown non-zero trailing input with
 * E2BIG, and only as much as the caller has room for is copied back.
 */
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/numa.h>
#include <linux/uaccess.h>

#include <linux/hakmem.h>

#include "internal.h"

static_assert(sizeof(struct hakmem_info) == HAKMEM_INFO_SIZE_VER0);
static_assert(sizeof(struct hakmem_stats) == HAKMEM_STATS_SIZE_VER2);
static_assert(sizeof(struct hakmem_purge) == HAKMEM_PURGE_SIZE_VER0);

/* Validate the caller's size and copy the input part of its struct in. */
static int hk_copy_in(void *karg, size_t ksize, size_t min_size,
		      void __user *uarg, size_t usize)
{
	if (usize < min_size || usize > PAGE_SIZE)
		return -EINVAL;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

static int hk_copy_out(void __user *uarg, size_t usize, const void *karg,
		       size_t ksize)
{
	return copy_to_user(uarg, karg, min(usize, ksize)) ? -EFAULT : 0;
}

static long hk_ioctl_info(void __user *uarg, size_t usize)
{
	struct hk_pool_limits lim;
	struct hakmem_info info;
	int ret;

	ret = hk_copy_in(&info, sizeof(info), HAKMEM_INFO_SIZE_VER0, uarg,
			 usize);
	if (ret)
		return ret;
	if (info.flags)
		return -EINVAL;

	memset(&info, 0, sizeof(info));
	info.abi_version = HAKMEM_ABI_VERSION;
	info.superslab_size = HK_BLOCK_SIZE;
	info.page_size = PAGE_SIZE;
	hk_pool_limits(&lim);
	info.pool_max_bytes = (u64)lim.max << PAGE_SHIFT;
	info.pool_low_bytes = (u64)lim.low << PAGE_SHIFT;
	info.pool_high_bytes = (u64)lim.high << PAGE_SHIFT;
	if (hk_pool_alloc_zeroes())
		info.features |= HAKMEM_FEAT_INIT_ON_ALLOC;
	else if (hk_pool_nt_zeroing())
		info.features |= HAKMEM_FEAT_NT_ZERO;
	info.features |= HAKMEM_FEAT_MEMCG_CHARGE | HAKMEM_FEAT_SHARED_FUTEX |
			 HAKMEM_FEAT_PURGE;

	return hk_copy_out(uarg, usize, &info, sizeof(info));
}

static long hk_ioctl_stats(void __user *uarg, size_t usize)
{
	struct hakmem_stats st;
	int ret;

	ret = hk_copy_in(&st, sizeof(st), HAKMEM_STATS_SIZE_VER0, uarg,
			 usize);
	if (ret)
		return ret;
	if (st.flags)
		return -EINVAL;

	memset(&st, 0, sizeof(st));
	st.pool_zeroed_pages = hk_pool_zeroed_pages(NUMA_NO_NODE);
	st.pool_dirty_pages = hk_pool_dirty_pages(NUMA_NO_NODE);
	st.pool_handout_pages =
		hk_node_stat(NUMA_NO_NODE, HK_POOL_HANDOUT_PAGES);
	st.sync_fill_pages = hk_node_stat(NUMA_NO_NODE, HK_POOL_MISS_PAGES);
	st.fault_pages = atomic64_read(&hk_stats.fault_pages);
	st.idle_zeroed_bytes =
		hk_node_stat(NUMA_NO_NODE, HK_IDLE_ZEROED_BYTES);
	st.idle_nt_zeroed_bytes =
		hk_node_stat(NUMA_NO_NODE, HK_IDLE_NT_ZEROED_BYTES);
	st.shrinker_released_pages =
		hk_node_stat(NUMA_NO_NODE, HK_SHRINKER_RELEASED_PAGES);
	st.mmap_calls = atomic64_read(&hk_stats.mmap_calls);
	st.mmap_bytes = atomic64_read(&hk_stats.mmap_bytes);
	st.limit_fill_pages = hk_node_stat(NUMA_NO_NODE, HK_LIMIT_FILL_PAGES);
	st.nowrite_fill_pages = atomic64_read(&hk_stats.nowrite_fill_pages);
	st.cache_pages = hk_cache_pages();

	return hk_copy_out(uarg, usize, &st, sizeof(st));
}

static long hk_ioctl_purge(void __user *uarg, size_t usize)
{
	struct hakmem_purge purge;
	int ret;

	ret = hk_copy_in(&purge, sizeof(purge), HAKMEM_PURGE_SIZE_VER0, uarg,
			 usize);
	if (ret)
		return ret;
	if (purge.flags || purge.__pad || purge.addr != (unsigned long)purge.addr ||
	    purge.len != (unsigned long)purge.len)
		return -EINVAL;
	return hk_purge(purge.addr, purge.len);
}

/* The command @cmd is @known but for its size, which may differ. */
static bool hk_cmd_is(unsigned int cmd, unsigned int known)
{
	return (cmd & ~IOCSIZE_MASK) == (known & ~IOCSIZE_MASK);
}

long hk_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	size_t usize = _IOC_SIZE(cmd);

	if (hk_cmd_is(cmd, HAKMEM_IOC_INFO))
		return hk_ioctl_info(uarg, usize);
	if (hk_cmd_is(cmd, HAKMEM_IOC_STATS))
		return hk_ioctl_stats(uarg, usize);
	if (hk_cmd_is(cmd, HAKMEM_IOC_PURGE))
		return hk_ioctl_purge(uarg, usize);
	return -ENOTTY;
}
