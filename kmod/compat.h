/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hakmem - the kernel API differences between the supported kernels.
 *
 * hakmem supports Linux 6.1 LTS through 7.3 (Documentation/
 * kernel-module.rst says how a kernel is added).  Every version test lives
 * here: each shim has the name and the behaviour of the newest kernel's
 * API, so the rest of the module is written against the newest only.
 */
#ifndef HAKMEM_COMPAT_H
#define HAKMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/version.h>

/* True when building for a kernel older than @major.@minor. */
#define HK_BEFORE(major, minor) \
	(KERNEL_VERSION(major, minor, 0) > LINUX_VERSION_CODE)

#if HK_BEFORE(6, 1) || !HK_BEFORE(7, 4)
#error "hakmem supports Linux 6.1 to 7.3 (see Documentation/kernel-module.rst)"
#endif

/*
 * 6.2: RSS counters became per-CPU.  Before, a task cached the RSS updates it
 * made to its own mm (SPLIT_RSS_COUNTING) and folded them in only every 64
 * page faults, so pages inserted by ->mmap stayed invisible to VmRSS and the
 * OOM killer as long as the task did not fault.  Fold them in at once, as
 * the kernel's own (unexported) sync_mm_rss() does, minus its tracepoint.
 */
#if HK_BEFORE(6, 2) && defined(SPLIT_RSS_COUNTING)
static inline void hk_sync_mm_rss(struct mm_struct *mm)
{
	int i;

	if (current->mm != mm)
		return;
	for (i = 0; i < NR_MM_COUNTERS; i++) {
		if (current->rss_stat.count[i]) {
			atomic_long_add(current->rss_stat.count[i],
					&mm->rss_stat.count[i]);
			current->rss_stat.count[i] = 0;
		}
	}
}
#else
static inline void hk_sync_mm_rss(struct mm_struct *mm)
{
}
#endif

/* 6.3: vm_flags became read-only, writers go through vm_flags_*(). */
#if HK_BEFORE(6, 3)
static inline void vm_flags_mod(struct vm_area_struct *vma,
				vm_flags_t set, vm_flags_t clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

/*
 * 7.1: zap_page_range_single() became zap_vma_range(), without the unused
 * details; before 6.3 it was zap_page_range().
 */
#if HK_BEFORE(6, 3)
#define zap_vma_range(vma, address, size) zap_page_range(vma, address, size)
#elif HK_BEFORE(7, 1)
#define zap_vma_range(vma, address, size) \
	zap_page_range_single(vma, address, size, NULL)
#endif

/* 6.6: pte_mkwrite() takes the VMA; pte_mkwrite_novma() does not. */
#if HK_BEFORE(6, 6)
static inline pte_t pte_mkwrite_novma(pte_t pte)
{
	return pte_mkwrite(pte);
}
#endif

/*
 * 6.7: the kernel allocates shrinkers (shrinker_alloc(), shrinker_register(),
 * shrinker_free()).  Before, the caller owned the struct and passed the name
 * to register_shrinker(), which could fail; hk_shrinker_register() keeps that
 * error where it exists.
 */
#if HK_BEFORE(6, 7)
struct hk_compat_shrinker {
	struct shrinker shrinker;
	const char *name;
};

static inline struct shrinker *shrinker_alloc(unsigned int flags,
					      const char *name)
{
	struct hk_compat_shrinker *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return NULL;
	c->shrinker.flags = flags;
	c->shrinker.seeks = DEFAULT_SEEKS;
	c->name = name;
	return &c->shrinker;
}

static inline int hk_shrinker_register(struct shrinker *shrinker)
{
	return register_shrinker(shrinker, "%s",
		container_of(shrinker, struct hk_compat_shrinker,
			     shrinker)->name);
}

/* unregister_shrinker() ignores a shrinker that was never registered. */
static inline void shrinker_free(struct shrinker *shrinker)
{
	if (!shrinker)
		return;
	unregister_shrinker(shrinker);
	kfree(container_of(shrinker, struct hk_compat_shrinker, shrinker));
}
#else
static inline int hk_shrinker_register(struct shrinker *shrinker)
{
	shrinker_register(shrinker);
	return 0;
}
#endif

/*
 * 6.17: pfn_t is gone, and vmf_insert_mixed() takes a plain pfn.  Tested by
 * the header, which went with the type.
 */
#if __has_include("linux/pfn_t.h")
#include <linux/pfn_t.h>
#define vmf_insert_mixed(vma, addr, pfn) \
	vmf_insert_mixed(vma, addr, pfn_to_pfn_t(pfn))
#endif

/*
 * 6.19: mm_get_unmapped_area() searches current->mm, no longer an mm it is
 * given.  6.10 introduced it, in place of mm->get_unmapped_area.
 */
#if HK_BEFORE(6, 10)
static inline unsigned long
mm_get_unmapped_area(struct file *file, unsigned long addr, unsigned long len,
		     unsigned long pgoff, unsigned long flags)
{
	return current->mm->get_unmapped_area(file, addr, len, pgoff, flags);
}
#elif HK_BEFORE(6, 19)
#define mm_get_unmapped_area(file, addr, len, pgoff, flags) \
	mm_get_unmapped_area(current->mm, file, addr, len, pgoff, flags)
#endif

/* 7.3: is_cow_mapping() of the flags became vma_is_cow_mapping() of a VMA. */
#if HK_BEFORE(7, 3)
static inline bool vma_is_cow_mapping(const struct vm_area_struct *vma)
{
	return is_cow_mapping(vma->vm_flags);
}
#endif

#endif /* HAKMEM_COMPAT_H */
