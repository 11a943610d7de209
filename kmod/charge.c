// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - charge the pages a task maps to its memory cgroup, as user
 * memory.
 *
 * Pool blocks are zeroed ahead of time by kernel threads, for whichever
 * task maps them next, so they cannot be charged when they are allocated.
 * They are charged when they are handed out, and the pages of the fault
 * path likewise.  Modules have no memory-cgroup charge function, and
 * __GFP_ACCOUNT charges kernel memory, which cgroup.memory=nokmem switches
 * off.  The one exported path that charges a page as user memory is adding
 * it to a page cache: filemap_add_folio() charges the folio to the active
 * memory cgroup, reclaiming and failing by that cgroup's limits, exactly as
 * for a page cache read.  So a page is added to the cache of a private
 * inode and removed from it again at once.  What is left is a page that is
 * charged until it is freed (as an anonymous page is), that sits on the
 * unevictable LRU list (as the pages of a truncated file still mapped
 * somewhere do), and that belongs to no file: page->mapping is NULL again.
 *
 * The inode holds a page only while hk_charge_pages() runs, at the index of
 * the page's own PFN, so concurrent callers never meet in it.
 */
#include <linux/fs_context.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>

#include "compat.h"
#include "internal.h"

/* "hkmc" */
#define HK_CHARGE_MAGIC	0x686b6d63

static struct vfsmount *hk_charge_mnt;
static struct inode *hk_charge_inode;

static int hk_charge_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, HK_CHARGE_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type hk_charge_fs = {
	.name		 = "hakmem-charge",
	.init_fs_context = hk_charge_init_fs_context,
	.kill_sb	 = kill_anon_super,
};

int hk_charge_init(void)
{
	int ret;

	hk_charge_mnt = kern_mount(&hk_charge_fs);
	if (IS_ERR(hk_charge_mnt))
		return PTR_ERR(hk_charge_mnt);

	hk_charge_inode = alloc_anon_inode(hk_charge_mnt->mnt_sb);
	if (IS_ERR(hk_charge_inode)) {
		ret = PTR_ERR(hk_charge_inode);
		kern_unmount(hk_charge_mnt);
		return ret;
	}
	/*
	 * Pages added to the LRU while they are in this inode's cache go to
	 * the unevictable list: reclaim could not free them anyway (they are
	 * mapped, and no rmap walk finds them), and memory that is not
	 * reclaimable must not be counted as reclaimable page cache (Active
	 * and Inactive(file), MemAvailable).
	 */
	mapping_set_unevictable(hk_charge_inode->i_mapping);
	return 0;
}

void hk_charge_exit(void)
{
	iput(hk_charge_inode);
	kern_unmount(hk_charge_mnt);
}

/*
 * Charge the @nr contiguous order-0 pages from @page to the memory cgroup
 * of @mm as user memory.  Each page must be held by the caller only: not
 * mapped, not locked, on no list.  @gfp says how hard to try: GFP_KERNEL
 * reclaims and, like an anonymous fault, may invoke the cgroup's OOM killer;
 * GFP_NOWAIT fails as soon as the cgroup is at its limit.
 *
 * Returns how many pages, from @page on, are charged: fewer than @nr once
 * the cgroup (or the memory for the page cache's index nodes) runs out.
 * The caller keeps its references; the charges go with the pages.
 */
unsigned long hk_charge_pages(struct mm_struct *mm, struct page *page,
			      unsigned long nr, gfp_t gfp)
{
	struct address_space *mapping;
	struct mem_cgroup *memcg, *old;
	struct folio_batch none;
	pgoff_t first = page_to_pfn(page);
	unsigned long i;

	if (mem_cgroup_disabled())
		return nr;

	mapping = hk_charge_inode->i_mapping;
	memcg = get_mem_cgroup_from_mm(mm);
	old = set_active_memcg(memcg);
	/* All LRU additions go to this CPU's batch, drained below. */
	migrate_disable();
	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(page + i);

		if (filemap_add_folio(mapping, folio, first + i, gfp))
			break;
		folio_unlock(folio);
	}
	/*
	 * Put the pages on the LRU while they still have their mapping, so
	 * that they go to the unevictable list (see hk_charge_init()).
	 * Releasing a batch first drains this CPU's LRU additions; this
	 * batch is empty.
	 */
	folio_batch_init(&none);
	__folio_batch_release(&none);
	migrate_enable();
	set_active_memcg(old);
	mem_cgroup_put(memcg);

	/* Drops the page cache's references; the charges stay. */
	if (i)
		truncate_inode_pages_range(mapping, (loff_t)first << PAGE_SHIFT,
					   ((loff_t)(first + i) << PAGE_SHIFT) - 1);
	return i;
}
