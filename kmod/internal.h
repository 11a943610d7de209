/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hakmem - internal declarations shared by the module's files
 */
#ifndef HAKMEM_INTERNAL_H
#define HAKMEM_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/mm_types.h>
#include <linux/sizes.h>
#include <linux/sysfs.h>
#include <linux/types.h>

#define HK_BLOCK_SIZE	SZ_2M
#define HK_BLOCK_ORDER	(21 - PAGE_SHIFT)
#define HK_BLOCK_PAGES	(1UL << HK_BLOCK_ORDER)

/* main.c: module parameters (read with READ_ONCE, may change at any time) */
extern unsigned int hk_pool_max_mb;
extern unsigned int hk_pool_low_mb;
extern unsigned int hk_pool_high_mb;
extern unsigned int hk_shrink_backoff_ms;
extern bool hk_nt_zero;
extern bool hk_memcg_strict;

/* stats.c: monotonically increasing event counters */
struct hk_stats {
	atomic64_t pool_handout_pages;
	atomic64_t sync_fill_pages;
	atomic64_t fault_pages;
	atomic64_t idle_zeroed_bytes;
	atomic64_t idle_nt_zeroed_bytes;
	atomic64_t shrinker_released_pages;
	atomic64_t mmap_calls;
	atomic64_t mmap_bytes;
};

extern struct hk_stats hk_stats;
extern const struct attribute_group *hk_attr_groups[];

static inline void hk_stat_add(atomic64_t *counter, u64 val)
{
	atomic64_add(val, counter);
}

/* pool.c: pool of pre-zeroed, unsplit order-HK_BLOCK_ORDER blocks */
int hk_pool_init(void);
void hk_pool_exit(void);
void hk_pool_kick(void);
void hk_pool_pause(unsigned int ms);
struct page *hk_pool_take(void);
unsigned long hk_pool_release(unsigned long nr_pages);
unsigned long hk_pool_zeroed_pages(void);
unsigned long hk_pool_dirty_pages(void);
unsigned long hk_pool_max_pages(void);
unsigned long hk_pool_low_pages(void);
unsigned long hk_pool_high_pages(void);
bool hk_pool_nt_zeroing(void);
bool hk_pool_alloc_zeroes(void);

/* shrinker.c */
int hk_shrinker_init(void);
void hk_shrinker_exit(void);

/* mmap.c */
int hk_mmap(struct file *file, struct vm_area_struct *vma);
unsigned long hk_get_unmapped_area(struct file *file, unsigned long addr,
				   unsigned long len, unsigned long pgoff,
				   unsigned long flags);

/* fork.c */
void hk_vm_open(struct vm_area_struct *vma);
void hk_fork_exit(void);

/* ioctl.c */
long hk_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* HAKMEM_INTERNAL_H */
