/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hakmem.h - user-space ABI of the hakmem pre-zeroed memory device
 *
 * /dev/hakmem hands out regions of pre-zeroed memory:
 *
 *	fd = open("/dev/hakmem", O_RDWR | O_CLOEXEC);
 *	p = mmap(NULL, n * HAKMEM_SUPERSLAB_SIZE, PROT_READ | PROT_WRITE,
 *		 MAP_PRIVATE, fd, 0);
 *
 * The region is aligned to HAKMEM_SUPERSLAB_SIZE and populated with zeroed,
 * writable pages from the module's pools, so first writes do not fault.
 * What the pools cannot supply is zero too, but faulted in on first touch
 * like anonymous memory (or at once with MAP_POPULATE).  Only MAP_PRIVATE is
 * accepted; MAP_SHARED, PROT_EXEC, a non-zero offset or a length that is not a
 * multiple of HAKMEM_SUPERSLAB_SIZE fail with EINVAL (PROT_EXEC may also fail
 * with EPERM when /dev is mounted noexec).  Regions stay aligned: MAP_FIXED
 * at, or mremap() to, an address that is not a multiple of
 * HAKMEM_SUPERSLAB_SIZE fails with EINVAL.
 *
 * Ioctls are versioned by size: every argument struct starts with a __u32
 * "flags" word that must be zero, and user space must zero-initialise the
 * whole struct before each call.  The kernel accepts any size between
 * the *_SIZE_VER0 value and PAGE_SIZE: a larger struct must have zeroes
 * beyond the part the kernel knows (else E2BIG), a smaller one receives only
 * the fields it has room for.
 */
#ifndef _UAPI_LINUX_HAKMEM_H
#define _UAPI_LINUX_HAKMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HAKMEM_ABI_VERSION	1
#define HAKMEM_DEVICE		"/dev/hakmem"
#define HAKMEM_SUPERSLAB_SIZE	(2UL * 1024 * 1024)

#define HAKMEM_IOC_MAGIC	0xB8

/* hakmem_info.features */
#define HAKMEM_FEAT_NT_ZERO	(1ULL << 0) /* idle zeroing uses NT stores */
#define HAKMEM_FEAT_INIT_ON_ALLOC (1ULL << 1) /* page allocator zeroes */
/* Bit 2 (memcg_strict) is retired: never set, not to be reused. */
/* Every page is charged to the mapping task's memory cgroup as user memory. */
#define HAKMEM_FEAT_MEMCG_CHARGE (1ULL << 3)
/*
 * Process-shared futexes work: every page is a page of a file that only the
 * module can reach, or anonymous, and no two pages ever share a futex key.
 */
#define HAKMEM_FEAT_SHARED_FUTEX (1ULL << 4)
/* HAKMEM_IOC_PURGE is there. */
#define HAKMEM_FEAT_PURGE	(1ULL << 5)

struct hakmem_info {
	__u32 flags;		/* in: must be 0 */
	__u32 abi_version;	/* out: HAKMEM_ABI_VERSION */
	__u64 superslab_size;	/* out: mapping granule and alignment */
	__u64 page_size;	/* out: PAGE_SIZE */
	__u64 pool_max_bytes;	/* out: hard cap of each node's pool */
	__u64 pool_low_bytes;	/* out: a node's refill starts below this */
	__u64 pool_high_bytes;	/* out: a node's refill stops at this */
	__u64 features;		/* out: HAKMEM_FEAT_* */
};

#define HAKMEM_INFO_SIZE_VER0	56

/*
 * The pool and idle counters are sums over all nodes' pools.  Every page of
 * every region mapped is counted once, by what mmap() did with it:
 *
 *	mmap_bytes / page_size == pool_handout_pages + sync_fill_pages +
 *				  limit_fill_pages + nowrite_fill_pages
 *
 * A caller of HAKMEM_STATS_SIZE_VER0 gets no limit_fill_pages and no
 * nowrite_fill_pages; its pages of those kinds are in none of its fields.
 */
struct hakmem_stats {
	__u32 flags;			/* in: must be 0 */
	__u32 __pad;			/* out: 0 */
	__u64 pool_zeroed_pages;	/* pages zeroed and ready in the pool */
	__u64 pool_dirty_pages;		/* pages held by the pool, not zero yet */
	__u64 pool_handout_pages;	/* pages mapped straight from the pool */
	__u64 sync_fill_pages;		/* pages left to faults: pool miss */
	__u64 fault_pages;		/* faults where the pool left no page */
	__u64 idle_zeroed_bytes;	/* bytes zeroed by the idle thread */
	__u64 idle_nt_zeroed_bytes;	/* ... of which with NT stores */
	__u64 shrinker_released_pages;	/* pool pages given back to the kernel */
	__u64 mmap_calls;		/* successful mmap() calls */
	__u64 mmap_bytes;		/* bytes mapped by them */
	/* pages left to faults: the memory cgroup or RLIMIT_MEMLOCK was full */
	__u64 limit_fill_pages;
	/* pages of regions mapped without PROT_WRITE, left to faults */
	__u64 nowrite_fill_pages;
	/* device pages that exist now, each charged to a memory cgroup */
	__u64 cache_pages;
};

#define HAKMEM_STATS_SIZE_VER0	88
#define HAKMEM_STATS_SIZE_VER1	104	/* limit_fill_pages, nowrite_fill_pages */
#define HAKMEM_STATS_SIZE_VER2	112	/* cache_pages */

/*
 * Purge [addr, addr + len), page-aligned and inside regions of this device:
 * as madvise(MADV_DONTNEED), the next touch sees zeroes, and the pages are
 * freed (and uncharged) before the call returns, which after madvise()
 * they are only some time later.  EINVAL if any part of the range is not
 * mapped from the device; nothing is purged then.
 */
struct hakmem_purge {
	__u32 flags;		/* in: must be 0 */
	__u32 __pad;		/* in: must be 0 */
	__u64 addr;		/* in */
	__u64 len;		/* in */
};

#define HAKMEM_PURGE_SIZE_VER0	24

#define HAKMEM_IOC_INFO		_IOWR(HAKMEM_IOC_MAGIC, 0x00, struct hakmem_info)
#define HAKMEM_IOC_STATS	_IOWR(HAKMEM_IOC_MAGIC, 0x01, struct hakmem_stats)
#define HAKMEM_IOC_PURGE	_IOW(HAKMEM_IOC_MAGIC, 0x02, struct hakmem_purge)

#endif /* _UAPI_LINUX_HAKMEM_H */
