// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - the page cache that holds every device page for as long as it
 * may be mapped.
 *
 * Pool blocks are zeroed ahead of time by kernel threads, for whichever task
 * maps them next, so they cannot be charged when they are allocated, and a
 * page a module maps has no owner of its own.  Before a page is mapped it is
 * added to the page cache of one inode of the module's own pseudo file
 * system, at an index of its region (see hk_cache_reserve()), and it stays
 * there until nothing maps it any more.  That gives the page:
 *  - an identity, page->mapping and page->index: shared futex keys are made
 *    of the inode and the index, so process-shared and robust futexes work
 *    as on any file page;
 *  - a charge: filemap_add_folio() charges the page to the active memory
 *    cgroup as user memory (also under cgroup.memory=nokmem; modules have no
 *    other way to charge user memory), reclaiming and failing by its limits
 *    as a page cache read would; the charge goes when the page is freed;
 *  - an LRU list that tells the truth: the mapping is unevictable, so the
 *    page is on the unevictable list whenever it is on one at all, also
 *    after compaction, migration or MADV_PAGEOUT put it back.  Reclaim could
 *    not free it (the inode's i_mmap is empty, so no rmap walk finds its
 *    PTEs), and MemAvailable does not count it as reclaimable.
 *
 * Indexes are never reused: a 64-bit counter hands out each index once, so
 * a futex waiter whose page went away never meets another page under its
 * key.
 *
 * The pages cannot be swapped out, so a user who may not lock memory gets
 * no more of them than RLIMIT_MEMLOCK allows, counted together with the
 * memory the user has pinned for io_uring, RDMA and BPF
 * (user_struct.locked_vm): the payer of a page, kept in folio->private with
 * a reference, is uncharged when the page leaves the cache (->free_folio).
 * Exempt, and so bounded by their memory cgroups alone, are tasks with
 * CAP_IPC_LOCK and members of the device file's group: the administrator's
 * choice of users and services (the hakmem-dkms package's udev rule names
 * the "hakmem" group).
 *
 * A page leaves the cache by eviction only, which skips pages that are
 * mapped, locked or held by anyone else (GUP, a pipe): truncating a mapped
 * page would corrupt it ("Bad page cache").  Pages are evicted when their
 * region is unmapped (->close, after the TLB flush), on the purge ioctl,
 * when their address faults again (after MADV_DONTNEED), and by a sweep of
 * the whole cache for pages whose last PTE went away otherwise: copied on
 * write after fork(), MADV_DONTNEED of memory not touched again, a GUP
 * reference still held at ->close.  The sweep runs HK_SWEEP_MIN_MS after
 * a fork, and after one that found pages to free; otherwise at twice the
 * last interval, up to HK_SWEEP_MAX_MS, and not at all once the cache is
 * empty (the next mmap starts it again).  Until then such pages stay
 * charged and count as unevictable, not as available memory.
 *
 * Locking: the page cache's own; hk_sweep_lock for the sweep's schedule.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs_context.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pseudo_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "internal.h"

/* "hkmc" */
#define HK_CACHE_MAGIC	0x686b6d63

#define HK_SWEEP_MIN_MS	1000
#define HK_SWEEP_MAX_MS	60000

static struct vfsmount *hk_cache_mnt;
static struct inode *hk_cache_inode;
static atomic64_t hk_cache_next_index;

static void hk_sweep_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(hk_sweep_work, hk_sweep_fn);
static DEFINE_SPINLOCK(hk_sweep_lock);
static unsigned long hk_sweep_interval;	/* jiffies; under hk_sweep_lock */
static unsigned long hk_sweep_due;	/* jiffies; under hk_sweep_lock */

/*
 * Zapping a PTE that the page was written through marks the page dirty.
 * Dirty pages are never evicted, and nothing ever writes these back: the
 * page's data is in the page itself, and once nothing maps it nobody can
 * read it again.  So a page is never dirtied (unlike noop_dirty_folio).
 */
static bool hk_cache_dirty_folio(struct address_space *mapping,
				 struct folio *folio)
{
	return false;
}

static void hk_cache_free_folio(struct folio *folio)
{
	struct user_struct *payer = folio->private;

	if (!payer)
		return;
	folio->private = NULL;
	atomic_long_dec(&payer->locked_vm);
	free_uid(payer);
}

static const struct address_space_operations hk_cache_aops = {
	.dirty_folio	= hk_cache_dirty_folio,
	.free_folio	= hk_cache_free_folio,
};

static int hk_cache_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, HK_CACHE_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type hk_cache_fs = {
	.name		 = "hakmem",
	.init_fs_context = hk_cache_init_fs_context,
	.kill_sb	 = kill_anon_super,
};

int hk_cache_init(void)
{
	int ret;

	hk_cache_mnt = kern_mount(&hk_cache_fs);
	if (IS_ERR(hk_cache_mnt))
		return PTR_ERR(hk_cache_mnt);

	hk_cache_inode = alloc_anon_inode(hk_cache_mnt->mnt_sb);
	if (IS_ERR(hk_cache_inode)) {
		ret = PTR_ERR(hk_cache_inode);
		kern_unmount(hk_cache_mnt);
		return ret;
	}
	hk_cache_inode->i_mapping->a_ops = &hk_cache_aops;
	mapping_set_unevictable(hk_cache_inode->i_mapping);
	return 0;
}

/*
 * Nothing maps a page of the cache any more: every mapping holds the device
 * file, and so the module.  Pages still held elsewhere (a pipe, a pin) leave
 * the cache here and are freed by their last holder.
 */
void hk_cache_exit(void)
{
	cancel_delayed_work_sync(&hk_sweep_work);
	iput(hk_cache_inode);
	kern_unmount(hk_cache_mnt);
}

pgoff_t hk_cache_reserve(unsigned long nr)
{
	return atomic64_fetch_add(nr, &hk_cache_next_index);
}

/*
 * Who pays for the pages the current task maps from @file (NULL: exempt).
 * Asked at every mmap, so a missing capability is not audited.
 */
struct user_struct *hk_cache_payer(struct file *file)
{
	if (in_group_p(file_inode(file)->i_gid) ||
	    ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK))
		return NULL;
	return current_user();
}

/*
 * Charge up to @nr pages to @payer within the current task's memlock limit;
 * returns how many were charged.
 */
static unsigned long hk_cache_charge_payer(struct user_struct *payer,
					   unsigned long nr)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long locked = atomic_long_add_return(nr, &payer->locked_vm);
	unsigned long over = locked > limit ? min(nr, locked - limit) : 0;

	if (over)
		atomic_long_sub(over, &payer->locked_vm);
	return nr - over;
}

/*
 * Add the @nr contiguous order-0 pages from @page to the cache at the
 * indexes from @index on, charged to the memory cgroup of @mm and to the
 * memlock budget of @payer (see hk_cache_payer()).  Each page must be held
 * by the caller only: not mapped, not locked, on no list.  @gfp says how
 * hard to try: GFP_KERNEL reclaims and, like an anonymous fault, may invoke
 * the cgroup's OOM killer; GFP_NOWAIT fails as soon as the cgroup is at
 * its limit.
 *
 * Returns how many pages, from @page on, were added: fewer than @nr once
 * the cgroup, the payer's memlock limit or the memory for the cache's index
 * nodes runs out.  The caller keeps its references; the cache holds one
 * more on each page added.
 */
unsigned long hk_cache_add(struct mm_struct *mm, struct page *page,
			   unsigned long nr, pgoff_t index, gfp_t gfp,
			   struct user_struct *payer)
{
	struct address_space *mapping = hk_cache_inode->i_mapping;
	struct mem_cgroup *memcg, *old;
	unsigned long charged = nr, i;

	if (payer)
		charged = hk_cache_charge_payer(payer, nr);
	memcg = get_mem_cgroup_from_mm(mm);
	old = set_active_memcg(memcg);
	for (i = 0; i < charged; i++) {
		struct folio *folio = page_folio(page + i);

		if (filemap_add_folio(mapping, folio, index + i, gfp))
			break;
		folio->private = payer;
		folio_mark_uptodate(folio);
		folio_unlock(folio);
	}
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	if (payer) {
		atomic_long_sub(charged - i, &payer->locked_vm);
		/* The caller's references keep the pages from leaving yet. */
		refcount_add(i, &payer->__count);
	}
	return i;
}

/* Read without the cache's lock: a figure for statistics. */
unsigned long hk_cache_pages(void)
{
	return READ_ONCE(hk_cache_inode->i_mapping->nrpages);
}

bool hk_cache_holds(struct folio *folio)
{
	return folio->mapping == hk_cache_inode->i_mapping;
}

/* Evict the pages at @first..@last that nothing maps or holds any more. */
unsigned long hk_cache_evict(pgoff_t first, pgoff_t last)
{
	return invalidate_mapping_pages(hk_cache_inode->i_mapping, first, last);
}

/* Under hk_sweep_lock: sweep @interval from now, or earlier if due then. */
static void hk_sweep_at(unsigned long interval)
{
	unsigned long due = jiffies + interval;

	hk_sweep_interval = interval;
	if (delayed_work_pending(&hk_sweep_work) &&
	    time_before_eq(hk_sweep_due, due))
		return;
	hk_sweep_due = due;
	/* Unbound: a sweep of a large cache may take a while. */
	mod_delayed_work(system_unbound_wq, &hk_sweep_work, interval);
}

/* The sweep evicts candidates in batches of this many. */
#define HK_SWEEP_BATCH	64

/*
 * Evict every page of the cache that nothing maps.  Most pages are mapped,
 * so it looks at each without taking it (a stale answer only costs a
 * candidate that eviction then skips, or a page left for the next sweep)
 * and leaves the locking to hk_cache_evict(), for the candidates alone.
 */
static unsigned long hk_sweep(void)
{
	XA_STATE(xas, &hk_cache_inode->i_mapping->i_pages, 0);
	pgoff_t found[HK_SWEEP_BATCH];
	unsigned long freed = 0, i, n;
	struct folio *folio;

	do {
		n = 0;
		rcu_read_lock();
		xas_for_each(&xas, folio, ULONG_MAX) {
			if (xas_retry(&xas, folio) || xa_is_value(folio) ||
			    folio_mapped(folio))
				continue;
			found[n++] = xas.xa_index;
			if (n == HK_SWEEP_BATCH || need_resched()) {
				xas_pause(&xas);
				break;
			}
		}
		rcu_read_unlock();
		for (i = 0; i < n; i++)
			freed += hk_cache_evict(found[i], found[i]);
		cond_resched();
	} while (n);
	return freed;
}

static void hk_sweep_fn(struct work_struct *work)
{
	unsigned long freed = hk_sweep();
	unsigned long interval;

	spin_lock(&hk_sweep_lock);
	interval = freed ? msecs_to_jiffies(HK_SWEEP_MIN_MS) :
		   min(2 * hk_sweep_interval, msecs_to_jiffies(HK_SWEEP_MAX_MS));
	if (!mapping_empty(hk_cache_inode->i_mapping))
		hk_sweep_at(interval);
	spin_unlock(&hk_sweep_lock);
}

void hk_cache_sweep_soon(void)
{
	spin_lock(&hk_sweep_lock);
	hk_sweep_at(msecs_to_jiffies(HK_SWEEP_MIN_MS));
	spin_unlock(&hk_sweep_lock);
}

void hk_cache_sweep_later(void)
{
	spin_lock(&hk_sweep_lock);
	if (!delayed_work_pending(&hk_sweep_work))
		hk_sweep_at(msecs_to_jiffies(HK_SWEEP_MAX_MS));
	spin_unlock(&hk_sweep_lock);
}
