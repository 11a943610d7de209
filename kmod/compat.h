/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hakmem - the kernel API differences between the supported kernels.
 *
 * hakmem supports Linux 6.1 LTS through 6.12 LTS (Documentation/
 * kernel-module.rst says how a kernel is added).  Every version test lives
 * here: each shim has the name and the behaviour of the newest kernel's
 * API, so the rest of the module is written against 6.12 only.
 */
#ifndef HAKMEM_COMPAT_H
#define HAKMEM_COMPAT_H

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0) || \
	LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#error "hakmem supports Linux 6.1 to 6.12 (see Documentation/kernel-module.rst)"
#endif

/* 6.3: vm_flags became read-only; writers go through vm_flags_*(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void vm_flags_mod(struct vm_area_struct *vma,
				vm_flags_t set, vm_flags_t clear)
{
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

/* 6.10: mm->get_unmapped_area was replaced by mm_get_unmapped_area(). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 10, 0)
static inline unsigned long
mm_get_unmapped_area(struct mm_struct *mm, struct file *file,
		     unsigned long addr, unsigned long len,
		     unsigned long pgoff, unsigned long flags)
{
	return mm->get_unmapped_area(file, addr, len, pgoff, flags);
}
#endif

/* 6.3: zap_page_range() became zap_page_range_single() (exported). */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
#define zap_page_range_single(vma, address, size, details) \
	zap_page_range(vma, address, size)
#endif

/* 6.6: pte_mkwrite() takes the VMA; pte_mkwrite_novma() does not. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
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
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 7, 0)
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

#endif /* HAKMEM_COMPAT_H */
