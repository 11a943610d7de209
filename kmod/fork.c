// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - fork() with DMA or a futex waiter in flight: keep those pages in
 * the parent.
 *
 * At fork, core mm shares every page of a private mapping with the child
 * and write-protects it on both sides; a later write on either side copies
 * the page.  For an anonymous page that may be pinned for DMA (FOLL_PIN,
 * e.g. an O_DIRECT read on 6.12), copy_present_pte() instead copies the
 * page for the child at once, so the parent keeps the page the device is
 * writing to.  Our pages are not anonymous, so they get no such care: the
 * parent's next write copies it away from the DMA target, and the data of
 * a read the parent issued goes to the child.
 *
 * To give the same result, ->open of the child's VMA (which dup_mmap()
 * calls right before copy_page_range() of that VMA) does the copy itself
 * for each of the parent's pinned pages:
 *  1. write-protect the parent's PTE, then look at the pin count (so a
 *     concurrent GUP-fast either sees the changed PTE and backs off, or is
 *     seen here);
 *  2. map a copy of the page in the child;
 *  3. unmap the page from the parent, so that copy_page_range() skips it;
 *  4. when copy_page_range() is done with the VMA, map the page in the
 *     parent again, writable.
 * Step 4 runs from the invalidate_range_end() callback of an MMU notifier
 * that ->open registers on the parent's mm only when it has pinned pages to
 * move, and that is dropped right after.  copy_page_range() notifies the
 * parent's mm around its copy of every COW mapping, and dup_mmap() holds
 * the parent's mmap lock for writing throughout, so nobody can observe the
 * page missing.
 *
 * Pages that are merely referenced (FOLL_GET, e.g. O_DIRECT on 6.1) are not
 * pinned, and like anonymous pages stay shared.
 *
 * The same move keeps the futex keys of the parent's waiters.  A shared
 * futex key of one of our pages is made of its identity (cache.c); if the
 * page were shared with the child, the parent's next write would copy it
 * into an anonymous page, whose key is another, and a wake after the fork
 * would miss a waiter from before it (an anonymous page keeps its key).  So
 * the pages that hold the futex words which other threads of the parent
 * are inside a shared futex call on (syscall_get_nr() of each thread; a
 * sleeper is inside its call until it is woken) are moved like pinned
 * ones.  A thread that starts such a call on a page between that look and
 * copy_page_range() of the VMA is not seen; a 32-bit (compat) task's calls
 * are not looked at.
 *
 * The PTEs are walked with apply_to_page_range(), which modules may call
 * on every supported kernel (apply_to_existing_page_range() is exported
 * only up to 6.17).  It also allocates the page tables missing in the
 * range: only inside a VMA of ours, as a fault there would, and its
 * callbacks here skip PTEs that map nothing.
 */
#include <linux/highmem.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <uapi/linux/futex.h>
#include <asm/syscall.h>
#include <linux/spinlock.h>

#include "compat.h"
#include "internal.h"

/* A page the parent keeps: unmapped before the copy, mapped again after. */
struct hk_kept {
	unsigned long addr;
	struct page *page;	/* holds a reference */
};

/* The pages of one VMA that one fork moves; on hk_fork_mn::pending. */
struct hk_fork_move {
	struct list_head list;
	struct task_struct *task;	/* the forking task */
	struct vm_area_struct *vma;	/* the parent's VMA */
	unsigned long nr;
	struct hk_kept kept[];
};

struct hk_fork_mn {
	struct mmu_notifier mn;
	spinlock_t lock;		/* protects pending */
	struct list_head pending;
};

/* Pinned pages are rare: look for them in batches of this many. */
#define HK_FORK_BATCH	32
/* At most this many futex words of waiting threads are kept per VMA. */
#define HK_FORK_WAITED	64

struct hk_scan {
	struct vm_area_struct *vma;	/* the parent's VMA */
	unsigned long next;		/* where the scan goes on */
	unsigned long nr;
	unsigned long nr_waited;
	unsigned long waited[HK_FORK_WAITED];	/* page addresses */
	struct hk_kept kept[HK_FORK_BATCH];
};

static void hk_scan_add_waited(struct hk_scan *scan, unsigned long uaddr)
{
	if (uaddr >= scan->vma->vm_start && uaddr < scan->vma->vm_end &&
	    scan->nr_waited < HK_FORK_WAITED)
		scan->waited[scan->nr_waited++] = uaddr & PAGE_MASK;
}

/*
 * Note the futex words in the parent's VMA that other threads of the
 * forking process are inside a shared futex call on: FUTEX_WAIT_REQUEUE_PI
 * waits on its second word too.
 */
static void hk_scan_futex_waiters(struct hk_scan *scan)
{
	unsigned long args[6];
	struct task_struct *t;

	scan->nr_waited = 0;
	rcu_read_lock();
	for_each_thread(current, t) {
		struct pt_regs *regs = task_pt_regs(t);

		if (t == current || syscall_get_nr(t, regs) != __NR_futex)
			continue;
		syscall_get_arguments(t, regs, args);
		if (args[1] & FUTEX_PRIVATE_FLAG)
			continue;
		hk_scan_add_waited(scan, args[0]);
		if ((args[1] & FUTEX_CMD_MASK) == FUTEX_WAIT_REQUEUE_PI)
			hk_scan_add_waited(scan, args[4]);
	}
	rcu_read_unlock();
}

static bool hk_scan_waited(const struct hk_scan *scan, unsigned long addr)
{
	unsigned long i;

	for (i = 0; i < scan->nr_waited; i++)
		if (scan->waited[i] == addr)
			return true;
	return false;
}

/* The page mapped by @pte if it is one of ours (or any non-anon page). */
static struct page *hk_pte_page(pte_t pte)
{
	struct page *page;

	if (!pte_present(pte) || pte_special(pte) || !pfn_valid(pte_pfn(pte)))
		return NULL;
	page = pte_page(pte);
	if (PageReserved(page) || folio_test_anon(page_folio(page)))
		return NULL;
	return page;
}

/*
 * apply_to_page_range() callback, under the PTE lock: write-protect
 * the parent's PTE (copy_page_range() would do it a moment later), then
 * collect the page if it may be pinned or holds a futex word waited on.
 * Only a writable PTE counts: it maps a page nobody else maps (we map our
 * pages writable only when they are new, and after a move below), and a
 * pin for writing needs one.
 */
static int hk_scan_pte(pte_t *ptep, unsigned long addr, void *data)
{
	struct hk_scan *scan = data;
	pte_t pte = ptep_get(ptep);
	struct page *page = hk_pte_page(pte);

	if (scan->nr == HK_FORK_BATCH) {
		scan->next = addr;
		return -ENOSPC;
	}
	if (!page || !pte_write(pte))
		return 0;
	ptep_set_wrprotect(scan->vma->vm_mm, addr, ptep);
	/* Pairs with GUP-fast: take the pin, then recheck the PTE. */
	smp_mb__after_atomic();
	if (!folio_maybe_dma_pinned(page_folio(page)) &&
	    !hk_scan_waited(scan, addr))
		return 0;
	get_page(page);
	scan->kept[scan->nr].addr = addr;
	scan->kept[scan->nr].page = page;
	scan->nr++;
	return 0;
}

/* Make the PTE that maps @data at @addr writable again. */
static int hk_mkwrite_pte(pte_t *ptep, unsigned long addr, void *data)
{
	struct vm_area_struct *vma = ((void **)data)[0];
	struct page *page = ((void **)data)[1];
	pte_t pte = ptep_get(ptep);

	if (!pte_present(pte) || pte_page(pte) != page)
		return -EAGAIN;
	set_pte_at(vma->vm_mm, addr, ptep, pte_mkdirty(pte_mkwrite_novma(pte)));
	return 0;
}

static void hk_fork_move_finish(struct hk_fork_move *move)
{
	unsigned long i;

	for (i = 0; i < move->nr; i++) {
		struct hk_kept *k = &move->kept[i];
		void *arg[2] = { move->vma, k->page };
		int ret;

		ret = vm_insert_page(move->vma, k->addr, k->page);
		if (!ret)
			ret = apply_to_page_range(move->vma->vm_mm, k->addr,
						  PAGE_SIZE, hk_mkwrite_pte,
						  arg);
		WARN_ONCE(ret, "hakmem: fork: page not restored (%d)\n", ret);
		put_page(k->page);
	}
	kfree(move);
}

static void hk_fork_range_end(struct mmu_notifier *mn,
			      const struct mmu_notifier_range *range)
{
	struct hk_fork_mn *fmn = container_of(mn, struct hk_fork_mn, mn);
	struct hk_fork_move *move, *tmp;
	LIST_HEAD(done);

	if (range->event != MMU_NOTIFY_PROTECTION_PAGE)
		return;
	spin_lock(&fmn->lock);
	list_for_each_entry_safe(move, tmp, &fmn->pending, list)
		if (move->task == current &&
		    move->vma->vm_start == range->start &&
		    move->vma->vm_end == range->end)
			list_move(&move->list, &done);
	spin_unlock(&fmn->lock);

	list_for_each_entry_safe(move, tmp, &done, list) {
		hk_fork_move_finish(move);
		/* The reference hk_vm_open() took for this move. */
		mmu_notifier_put(mn);
	}
}

/* The mm goes away with a move never finished: dup_mmap() never does that. */
static void hk_fork_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct hk_fork_mn *fmn = container_of(mn, struct hk_fork_mn, mn);
	struct hk_fork_move *move, *tmp;
	unsigned long i;
	LIST_HEAD(stale);

	spin_lock(&fmn->lock);
	list_splice_init(&fmn->pending, &stale);
	spin_unlock(&fmn->lock);
	list_for_each_entry_safe(move, tmp, &stale, list) {
		for (i = 0; i < move->nr; i++)
			put_page(move->kept[i].page);
		kfree(move);
		mmu_notifier_put(mn);
	}
}

static struct mmu_notifier *hk_fork_alloc_notifier(struct mm_struct *mm)
{
	struct hk_fork_mn *fmn = kzalloc(sizeof(*fmn), GFP_KERNEL);

	if (!fmn)
		return ERR_PTR(-ENOMEM);
	spin_lock_init(&fmn->lock);
	INIT_LIST_HEAD(&fmn->pending);
	/* The ops must outlive the notifier; hk_fork_exit() waits for it. */
	__module_get(THIS_MODULE);
	return &fmn->mn;
}

static void hk_fork_free_notifier(struct mmu_notifier *mn)
{
	kfree(container_of(mn, struct hk_fork_mn, mn));
	module_put(THIS_MODULE);
}

static const struct mmu_notifier_ops hk_fork_mn_ops = {
	.release		= hk_fork_release,
	.invalidate_range_end	= hk_fork_range_end,
	.alloc_notifier		= hk_fork_alloc_notifier,
	.free_notifier		= hk_fork_free_notifier,
};

/*
 * Map a copy of @k's page in the child's @vma, then unmap the page from the
 * parent's @pvma.  Returns false (and changes nothing) if that fails: the
 * page is then shared as before.
 */
static bool hk_fork_copy_for_child(struct vm_area_struct *vma,
				   struct vm_area_struct *pvma,
				   struct hk_kept *k)
{
	struct page *copy;
	int ret;

	copy = alloc_page(GFP_HIGHUSER | __GFP_NOWARN);
	if (!copy)
		return false;
	/*
	 * Charged to the parent's memory cgroup: the child joins its own
	 * only after its memory is copied, and is in the parent's but for
	 * clone3(CLONE_INTO_CGROUP).  Its index is not one of the region's:
	 * only a sweep evicts it once the child lets it go.
	 */
	if (!hk_cache_add(current->mm, copy, 1, hk_cache_reserve(1),
			  GFP_KERNEL, hk_cache_payer(pvma->vm_file))) {
		put_page(copy);
		return false;
	}
	copy_highpage(copy, k->page);
	/*
	 * Read-only, with the child's own protection: the child's first
	 * write copies it once more, into an anonymous page.
	 */
	ret = vm_insert_page(vma, k->addr, copy);
	put_page(copy);
	if (ret)
		return false;
	zap_vma_range(pvma, k->addr, PAGE_SIZE);
	return true;
}

/*
 * Move the pages of @scan: map a copy of each in the child's @vma, unmap it
 * from the parent, and queue it to be mapped in the parent again after the
 * copy.  Consumes the page references of @scan.
 */
static void hk_fork_move(struct vm_area_struct *vma, struct hk_scan *scan)
{
	struct hk_fork_move *move;
	struct mmu_notifier *mn;
	struct hk_fork_mn *fmn;
	unsigned long i;

	move = kmalloc(struct_size(move, kept, scan->nr), GFP_KERNEL);
	mn = move ? mmu_notifier_get_locked(&hk_fork_mn_ops,
					    scan->vma->vm_mm) : NULL;
	if (IS_ERR_OR_NULL(mn)) {
		/* The pages stay shared, as they would without us. */
		kfree(move);
		goto out;
	}

	move->task = current;
	move->vma = scan->vma;
	move->nr = 0;
	for (i = 0; i < scan->nr; i++)
		if (hk_fork_copy_for_child(vma, scan->vma, &scan->kept[i]))
			move->kept[move->nr++] = scan->kept[i];
		else
			put_page(scan->kept[i].page);
	scan->nr = 0;
	if (!move->nr) {
		kfree(move);
		mmu_notifier_put(mn);
		return;
	}
	fmn = container_of(mn, struct hk_fork_mn, mn);
	spin_lock(&fmn->lock);
	list_add_tail(&move->list, &fmn->pending);
	spin_unlock(&fmn->lock);
out:
	for (i = 0; i < scan->nr; i++)
		put_page(scan->kept[i].page);
	scan->nr = 0;
}

/*
 * ->open: called on a new VMA made from one of ours by a split, mremap or
 * fork.  Splits and mremap() run in the task whose mm the VMA is in; a VMA
 * of another mm is the child's copy made by dup_mmap(), which the parent
 * calls with both mmap locks held for writing, before the page tables of
 * this VMA are copied (no failure path lies in between, 6.1 to 7.3).
 *
 * vm_private_data is the mm a child's VMA was forked from (or NULL), with
 * a reference of the VMA's own (mmgrab()), for hk_fork_unshare().
 */
void hk_vm_open(struct vm_area_struct *vma)
{
	struct mm_struct *parent = current->mm;
	struct vm_area_struct *pvma;
	struct hk_scan *scan;
	int ret;

	if (vma->vm_mm == parent) {
		if (vma->vm_private_data)
			mmgrab(vma->vm_private_data);
		return;
	}
	/* What was copied from the parent's VMA is the grandparent's. */
	vma->vm_private_data = parent;
	mmgrab(parent);

	mmap_assert_write_locked(parent);
	/* Pages either side copies away on write are evicted by a sweep. */
	hk_cache_sweep_soon();
	pvma = find_vma(parent, vma->vm_start);
	if (WARN_ON_ONCE(!pvma || pvma->vm_start != vma->vm_start ||
			 pvma->vm_end != vma->vm_end ||
			 pvma->vm_ops != vma->vm_ops) ||
	    !vma_is_cow_mapping(pvma))
		return;

	scan = kmalloc(sizeof(*scan), GFP_KERNEL);
	if (!scan)
		return;
	scan->vma = pvma;
	scan->next = pvma->vm_start;
	hk_scan_futex_waiters(scan);
	do {
		scan->nr = 0;
		ret = apply_to_page_range(parent, scan->next,
					  pvma->vm_end - scan->next,
					  hk_scan_pte, scan);
		if (scan->nr)
			hk_fork_move(vma, scan);
	} while (ret == -ENOSPC);
	kfree(scan);
}

void hk_fork_exit(void)
{
	/* Notifiers are freed asynchronously; wait for the last ones. */
	mmu_notifier_synchronize();
}

/* Make the parent's PTE writable if its page is the parent's alone again. */
static int hk_unshare_pte(pte_t *ptep, unsigned long addr, void *data)
{
	struct vm_area_struct *pvma = data;
	pte_t pte = ptep_get(ptep);
	struct page *page = hk_pte_page(pte);
	struct folio *folio;

	if (!page || pte_write(pte))
		return 0;
	folio = page_folio(page);
	/*
	 * Held by this PTE and the cache only: no other PTE maps it, and no
	 * GUP pin or pipe would see the parent's writes.
	 */
	if (!hk_cache_holds(folio) || folio_ref_count(folio) != 2)
		return 0;
	set_pte_at(pvma->vm_mm, addr, ptep, pte_mkdirty(pte_mkwrite_novma(pte)));
	return 0;
}

/*
 * ->close of a child's VMA: the pages it shared with the parent since the
 * fork are the parent's alone again, but still write-protected, and the
 * parent's next write would copy each of them (non-anonymous pages are
 * never reused).  Make them writable again in the parent's VMA of the same
 * region, as core mm reuses an anonymous page whose other mapper has gone.
 * Best effort: if the parent is gone or its mmap lock is taken (it may be
 * forking again), its writes copy.
 */
void hk_fork_unshare(struct vm_area_struct *vma)
{
	struct mm_struct *parent = vma->vm_private_data;
	struct vm_area_struct *pvma;
	unsigned long addr, end;

	if (!mmget_not_zero(parent))
		goto drop;
	if (!mmap_read_trylock(parent))
		goto put;
	for (addr = vma->vm_start; addr < vma->vm_end; addr = end) {
		pvma = find_vma(parent, addr);
		if (!pvma || pvma->vm_start >= vma->vm_end)
			break;
		addr = max(addr, pvma->vm_start);
		end = min(pvma->vm_end, vma->vm_end);
		if (pvma->vm_ops == vma->vm_ops && pvma->vm_flags & VM_WRITE &&
		    linear_page_index(pvma, addr) == linear_page_index(vma, addr))
			apply_to_page_range(parent, addr, end - addr,
					    hk_unshare_pte, pvma);
	}
	mmap_read_unlock(parent);
put:
	/* Not mmput(): that might tear down the parent's mm from here. */
	mmput_async(parent);
drop:
	mmdrop(parent);
}
