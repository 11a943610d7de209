// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - mmap(): hand out 2 MiB-aligned private regions that are already
 * populated with zeroed, writable pages from the pools, as far as the
 * pools have them.
 *
 * The pages are ordinary, refcounted kernel pages in the module's page
 * cache (cache.c), inserted with vm_insert_pages() into a VM_MIXEDMAP,
 * MAP_PRIVATE mapping at the index of their address: each region reserves
 * a range of indexes that no other page ever has, and its vm_pgoff is the
 * first, so core mm keeps address and index in step across splits and
 * mremap().  They are inserted with a writable protection although the
 * mapping is private, so the first write does not fault.  What the pools
 * cannot supply is left to the fault path, which gives anonymous memory
 * (see hk_vm_fault()).  Everything after that is core mm:
 *  - fork write-protects both sides, and a write on either side copies the
 *    page (non-anonymous pages are never reused), so each process sees
 *    private memory just as with anonymous memory; pages pinned for DMA
 *    stay with the parent, as anonymous ones do (fork.c);
 *  - each PTE holds its own page reference; once the last PTE has gone
 *    (munmap, exit, the purge ioctl, a copy on write), the page is evicted
 *    from the cache, and so freed and uncharged (cache.c says when).
 *
 * Locking: ->mmap and ->get_unmapped_area run with the mmap lock held for
 * writing by the caller; the new VMA is not yet visible to anyone else.
 * ->fault runs with the mmap lock (or the VMA) held for reading, and so
 * does the purge ioctl.  ->close runs with the mmap lock held for writing,
 * or at exit, after the TLB flush that released the PTEs' references.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"

/*
 * A fault where the pools left a region empty, after MADV_DONTNEED or in a
 * read-only region gives what an anonymous fault gives: a read maps the
 * shared zero page, and a write (a copy-on-write fault in a private
 * mapping) gets the anonymous page that core mm has allocated and charged
 * to the region's owner as vmf->cow_page.  So a page is either in the
 * module's cache, with an index of its own, or anonymous: no index ever has
 * a second page.
 */
static vm_fault_t hk_vm_fault(struct vm_fault *vmf)
{
	hk_stat_add(&hk_stats.fault_pages, 1);
	/* The page this address had (MADV_DONTNEED) is free to go now. */
	hk_cache_evict(vmf->pgoff, vmf->pgoff);
	if (!vmf->cow_page)
		return vmf_insert_mixed(vmf->vma, vmf->address,
					page_to_pfn(ZERO_PAGE(vmf->address)));

	/*
	 * Core mm copies the page returned here into vmf->cow_page.  Zero the
	 * COW page, unless the page allocator did (init_on_alloc), and return
	 * it as its own source, so that no page is allocated and zeroed only
	 * to be copied and freed; copying a page onto itself changes nothing.
	 * Core mm locks, unlocks and puts vmf->page: the extra reference is
	 * that one.
	 */
	if (!want_init_on_alloc(GFP_HIGHUSER_MOVABLE))
		clear_user_highpage(vmf->cow_page, vmf->address);
	get_page(vmf->cow_page);
	vmf->page = vmf->cow_page;
	return 0;
}

/*
 * After munmap(), a partial one included, and at exit: free the region's
 * pages, which nothing maps any more unless a fork child still shares them.
 */
static void hk_vm_close(struct vm_area_struct *vma)
{
	hk_cache_evict(vma->vm_pgoff, vma->vm_pgoff + vma_pages(vma) - 1);
	if (vma->vm_private_data)
		hk_fork_unshare(vma);
}

/*
 * Regions stay 2 MiB aligned wherever they move: mremap() to an unaligned
 * address fails, and core mm moves the page tables back.
 */
static int hk_vm_mremap(struct vm_area_struct *vma)
{
	return IS_ALIGNED(vma->vm_start, HK_BLOCK_SIZE) ? 0 : -EINVAL;
}

/*
 * A name puts the region into core dumps whatever coredump_filter says
 * (always_dump_vma() in fs/coredump.c), as the default filter puts a heap
 * of anonymous memory there; a private mapping of a file is left out by
 * default.  MADV_DONTDUMP still leaves it out: it has no name then.
 */
static const char *hk_vm_name(struct vm_area_struct *vma)
{
	return vma->vm_flags & VM_DONTDUMP ? NULL : "[hakmem]";
}

static const struct vm_operations_struct hk_vm_ops = {
	.name	= hk_vm_name,
	.open	= hk_vm_open,
	.close	= hk_vm_close,
	.fault	= hk_vm_fault,
	.mremap	= hk_vm_mremap,
};

/* The node a block meant for @nid (or for NUMA_NO_NODE: anywhere) is local to. */
static int hk_home_node(int nid)
{
	return nid == NUMA_NO_NODE ? numa_mem_id() : nid;
}

/*
 * Another pool that @pl allows, the one nearest to @nid first: taken only
 * when the node of @nid is short of memory, see hk_take_block().
 */
static struct page *hk_take_other(const struct hk_placement *pl, int nid)
{
	nodemask_t left = pl->allowed;
	struct page *block;
	int n;

	if (nid != NUMA_NO_NODE)
		node_clear(nid, left);

	while ((n = hk_nearest_node(hk_home_node(nid), &left)) != NUMA_NO_NODE) {
		block = hk_pool_take(n);
		if (block)
			return block;
		node_clear(n, left);
	}
	return NULL;
}

/*
 * A zeroed block for the block of a mapping that should be on @nid (the
 * node the memory policy prefers, or NUMA_NO_NODE), or NULL on a pool miss:
 *  1. the pool of @nid;
 *  2. only if that node is short of memory (too short to refill its own
 *     pool), the pools of the other nodes that @pl allows, nearest first
 *     (none for MPOL_BIND beyond its nodes).  Otherwise a local page
 *     faulted in later beats a remote block that is ready: the mapping
 *     keeps its node for life.
 */
static struct page *hk_take_block(const struct hk_placement *pl, int nid)
{
	struct page *block = hk_pool_take(nid);

	if (!block && !hk_memory_ok(hk_home_node(nid)))
		block = hk_take_other(pl, nid);
	return block;
}

/*
 * Add the zeroed block @block to the cache at the indexes of @addr, charged
 * to the owner of @vma and @payer, and map it there; its pages are then the
 * PTEs' and the cache's.  Returns how many pages were mapped, fewer than the
 * block's if the owner's memory cgroup or the payer's memlock limit is
 * reached (the rest is freed and left to faults), or an error.
 */
static long hk_insert_block(struct vm_area_struct *vma, unsigned long addr,
			    struct page *block, struct page **pages,
			    struct user_struct *payer)
{
	pgoff_t index = linear_page_index(vma, addr);
	unsigned long added, num, i;
	int ret;

	split_page(block, HK_BLOCK_ORDER);
	/*
	 * No reclaim under the mmap lock: a cgroup at its limit reclaims (or
	 * OOM-kills) when it faults in the rest, as with anonymous memory.
	 */
	added = hk_cache_add(vma->vm_mm, block, HK_BLOCK_PAGES, index,
			     GFP_NOWAIT | __GFP_NOWARN, payer);
	for (i = 0; i < added; i++)
		pages[i] = block + i;

	num = added;
	ret = vm_insert_pages(vma, addr, pages, &num);
	if (!ret && num)
		ret = -EFAULT;

	/* Mapped pages are now held by their PTEs; the rest are freed. */
	for (i = 0; i < HK_BLOCK_PAGES; i++)
		put_page(block + i);
	if (ret)
		hk_cache_evict(index, index + HK_BLOCK_PAGES - 1);
	return ret ? ret : added;
}

/*
 * What became of the pages of a region being mapped, counted per node: they
 * reach the counters only once the region is mapped, as a region that fails
 * to map is in no mmap_bytes either.
 */
struct hk_tally {
	unsigned long pages[HK_NR_NODE_COUNTERS];
};

static void hk_tally_count(const struct hk_tally *tally)
{
	int nid, i;

	for_each_node(nid)
		for (i = 0; i < HK_NR_NODE_COUNTERS; i++)
			if (tally[nid].pages[i])
				hk_node_stat_add(nid, i, tally[nid].pages[i]);
}

/*
 * Map a zeroed block from the pools at every 2 MiB of @vma that they can
 * supply, and nothing else.  ->mmap runs with the mmap lock held for
 * writing, which stalls every other thread of the process that faults,
 * maps or reads its memory map, so nothing is allocated or zeroed here.
 * A block that no pool supplies (a pool miss) is left empty: its pages are
 * faulted in on first touch, as anonymous memory is, under the mmap lock
 * held for reading or the VMA lock, and MAP_POPULATE faults them all in
 * once the write lock is dropped.
 */
static int hk_populate(struct vm_area_struct *vma)
{
	struct user_struct *payer = hk_cache_payer(vma->vm_file);
	pgprot_t prot = vma->vm_page_prot;
	struct hk_placement pl;
	struct page **pages, *block;
	struct hk_tally *tally;
	unsigned long addr;
	bool full = false;
	long mapped;
	int nid, ret = 0;

	pages = kmalloc_array(HK_BLOCK_PAGES, sizeof(*pages), GFP_KERNEL);
	tally = kcalloc(nr_node_ids, sizeof(*tally), GFP_KERNEL);
	if (!pages || !tally) {
		ret = -ENOMEM;
		goto out;
	}

	/*
	 * vm_insert_pages() uses vma->vm_page_prot.  The private protection
	 * is read-only (copy on write); use the shared, writable one while
	 * inserting.  mmap_region() recomputes vm_page_prot afterwards.
	 */
	vma->vm_page_prot = vm_get_page_prot(vma->vm_flags | VM_SHARED);
	hk_placement_init(&pl);

	for (addr = vma->vm_start; addr < vma->vm_end; addr += HK_BLOCK_SIZE) {
		nid = hk_placement_node(&pl, vma, addr);
		/* Once the cgroup or the memlock budget is full, fault the rest. */
		if (full) {
			tally[hk_home_node(nid)].pages[HK_LIMIT_FILL_PAGES] +=
				HK_BLOCK_PAGES;
			continue;
		}
		block = hk_take_block(&pl, nid);
		if (!block) {
			tally[hk_home_node(nid)].pages[HK_POOL_MISS_PAGES] +=
				HK_BLOCK_PAGES;
			continue;
		}
		nid = page_to_nid(block);
		mapped = hk_insert_block(vma, addr, block, pages, payer);
		if (mapped < 0) {
			ret = mapped;
			break;
		}
		full = mapped < HK_BLOCK_PAGES;
		tally[nid].pages[HK_POOL_HANDOUT_PAGES] += mapped;
		tally[nid].pages[HK_LIMIT_FILL_PAGES] += HK_BLOCK_PAGES - mapped;
		cond_resched();
	}

	vma->vm_page_prot = prot;
	if (!ret)
		hk_tally_count(tally);
out:
	kfree(tally);
	kfree(pages);
	return ret;
}

int hk_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	int ret;

	if (vma->vm_flags & (VM_SHARED | VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EINVAL;
	if (vma->vm_pgoff || !IS_ALIGNED(len, HK_BLOCK_SIZE) ||
	    !IS_ALIGNED(vma->vm_start, HK_BLOCK_SIZE))
		return -EINVAL;

	vm_flags_mod(vma, VM_MIXEDMAP | VM_DONTEXPAND, VM_MAYEXEC);
	vma->vm_ops = &hk_vm_ops;
	/* Not forked from anyone (fork.c). */
	vma->vm_private_data = NULL;
	vma->vm_pgoff = hk_cache_reserve(vma_pages(vma));

	/* Read-only or PROT_NONE regions are filled lazily by hk_vm_fault. */
	if (vma->vm_flags & VM_WRITE) {
		ret = hk_populate(vma);
		hk_sync_mm_rss(vma->vm_mm);
		if (ret) {
			/* mmap_region() unmaps, but does not call ->close. */
			zap_vma_range(vma, vma->vm_start, len);
			hk_vm_close(vma);
			return ret;
		}
	} else {
		hk_stat_add(&hk_stats.nowrite_fill_pages, vma_pages(vma));
	}

	hk_stat_add(&hk_stats.mmap_calls, 1);
	hk_stat_add(&hk_stats.mmap_bytes, len);
	hk_cache_sweep_later();
	return 0;
}

/*
 * Place regions on a HK_BLOCK_SIZE boundary without asking for more address
 * space than needed where that suffices: an aligned hint is honoured if that
 * range is free, then a search for exactly @len is kept if it happens to be
 * aligned (it is whenever the neighbour below is another region), and only
 * then is HK_BLOCK_SIZE more searched for and the start aligned up.
 *
 * Requests that ->mmap will reject are refused here already, so that a
 * MAP_FIXED request never unmaps what was there.  @pgoff is not checked:
 * mremap() of a part of a region passes the part's offset.
 */
unsigned long hk_get_unmapped_area(struct file *file, unsigned long addr,
				   unsigned long len, unsigned long pgoff,
				   unsigned long flags)
{
	unsigned long padded, ret;

	if (!IS_ALIGNED(len, HK_BLOCK_SIZE))
		return -EINVAL;
	if (flags & MAP_FIXED) {
		if (!IS_ALIGNED(addr, HK_BLOCK_SIZE))
			return -EINVAL;
		return mm_get_unmapped_area(file, addr, len, pgoff, flags);
	}

	if (addr && IS_ALIGNED(addr, HK_BLOCK_SIZE)) {
		ret = mm_get_unmapped_area(file, addr, len, pgoff, flags);
		if (ret == addr)
			return ret;
	}

	ret = mm_get_unmapped_area(file, 0, len, pgoff, flags);
	if (IS_ERR_VALUE(ret) || IS_ALIGNED(ret, HK_BLOCK_SIZE))
		return ret;

	padded = len + HK_BLOCK_SIZE;
	if (padded < len)
		return -ENOMEM;
	ret = mm_get_unmapped_area(file, 0, padded, pgoff, flags);
	if (IS_ERR_VALUE(ret))
		return ret;
	return ALIGN(ret, HK_BLOCK_SIZE);
}

/*
 * The purge ioctl: MADV_DONTNEED of [@start, @start + @len), which must lie
 * in device regions, and the pages it unmaps are freed at once (with
 * madvise() they are freed only by the next sweep, see cache.c).  What is
 * touched there next is faulted in like anonymous memory.
 */
int hk_purge(unsigned long start, unsigned long len)
{
	struct mm_struct *mm = current->mm;
	unsigned long end = start + len, addr, to;
	struct vm_area_struct *vma;
	int ret = 0;

	if (!len || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(len) || end < start)
		return -EINVAL;
	if (mmap_read_lock_killable(mm))
		return -EINTR;

	/* All of it or nothing. */
	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma || vma->vm_ops != &hk_vm_ops) {
			ret = -EINVAL;
			goto out;
		}
	}
	for (addr = start; addr < end; addr = to) {
		vma = vma_lookup(mm, addr);
		to = min(end, vma->vm_end);
		zap_vma_range(vma, addr, to - addr);
		hk_cache_evict(linear_page_index(vma, addr),
			       linear_page_index(vma, to - 1));
	}
out:
	mmap_read_unlock(mm);
	return ret;
}
