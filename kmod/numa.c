// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - which nodes' pools may serve a mapping: the calling task's memory
 * policy and cpuset, applied to the per-node pools the way the page
 * allocator applies them to its free lists.
 *
 * No exported kernel function tells which node a policy prefers
 * (policy_node() and get_vma_policy() are private to mm/mempolicy.c), so
 * this reads the task's struct mempolicy, which <linux/mempolicy.h>
 * defines, and follows the allocator:
 *  - default and MPOL_LOCAL: the local memory node (numa_mem_id());
 *  - MPOL_PREFERRED: the policy's node;
 *  - MPOL_BIND and MPOL_PREFERRED_MANY: the node of the policy's nodes
 *    nearest to the local one (the local one if it is among them);
 *  - MPOL_INTERLEAVE: block n of a mapping comes from the (n mod k)-th of the
 *    policy's k nodes, as the allocator interleaves a VMA by page offset;
 *  - any other mode (MPOL_WEIGHTED_INTERLEAVE since 6.9): no pool; the
 *    mapping is faulted in, and the faults apply the policy themselves.
 * Only MPOL_BIND is strict: no pool outside its nodes may ever serve it.
 * Under the other policies the page allocator itself falls back to any
 * node, so any pool may serve once the preferred pool is empty and its
 * node short of memory (mmap.c).  The cpuset's mems_allowed bound every
 * choice, as they bound the allocator for user memory (__GFP_HARDWALL); a
 * preferred node outside them is replaced by the nearest node inside.
 *
 * The policy is the task's: a VMA has no policy of its own while ->mmap
 * runs, as mbind() needs the mapping to exist first.  A VMA policy set later
 * only matters for the pages the fault handler allocates, and
 * alloc_page_vma() applies it there.  That is also why a policy's home node
 * is ignored: set_mempolicy_home_node() only sets VMA policies.
 */
#include <linux/cpuset.h>
#include <linux/kernel.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/topology.h>

#include "internal.h"

/*
 * The node of @nodes nearest to @nid (@nid itself if it is in @nodes), or
 * NUMA_NO_NODE if @nodes is empty.  Ties go to the lowest node number.
 */
int hk_nearest_node(int nid, const nodemask_t *nodes)
{
	int n, dist, best = NUMA_NO_NODE, best_dist = INT_MAX;

	for_each_node_mask(n, *nodes) {
		dist = n == nid ? 0 : node_distance(nid, n);
		if (dist < best_dist) {
			best = n;
			best_dist = dist;
		}
	}
	return best;
}

/* Work out, for the calling task, which pools may serve its mmap(). */
void hk_placement_init(struct hk_placement *pl)
{
	unsigned short mode = MPOL_DEFAULT;
	nodemask_t nodes = NODE_MASK_NONE;
	nodemask_t prefer;
	int from = numa_mem_id();
	struct mempolicy *pol;

	/*
	 * Only the task itself replaces its policy, but a cpuset change
	 * rebinds the policy's nodes and mems_allowed under task_lock(): take
	 * it for a consistent copy of both.
	 */
	task_lock(current);
	pol = current->mempolicy;
	if (pol) {
		mode = pol->mode;
		nodes = pol->nodes;
	}
	pl->allowed = cpuset_current_mems_allowed;
	task_unlock(current);

	nodes_and(pl->allowed, pl->allowed, node_states[N_MEMORY]);
	nodes_clear(pl->interleave);
	prefer = pl->allowed;

	switch (mode) {
	case MPOL_DEFAULT:
	case MPOL_LOCAL:
		break;
	case MPOL_PREFERRED:
		from = first_node(nodes);
		break;
	case MPOL_BIND:
		nodes_and(pl->allowed, pl->allowed, nodes);
		prefer = pl->allowed;
		break;
	case MPOL_PREFERRED_MANY:
		nodes_and(prefer, prefer, nodes);
		if (nodes_empty(prefer))
			prefer = pl->allowed;
		break;
	case MPOL_INTERLEAVE:
		nodes_and(pl->interleave, pl->allowed, nodes);
		nodes_clear(prefer);
		break;
	default:
		nodes_clear(pl->allowed);
		nodes_clear(prefer);
		break;
	}
	pl->preferred = hk_nearest_node(from, &prefer);
}

/*
 * The node whose pool should serve the block at @addr of @vma, or
 * NUMA_NO_NODE if no pool should.
 */
int hk_placement_node(const struct hk_placement *pl,
		      struct vm_area_struct *vma, unsigned long addr)
{
	unsigned long off;
	int nid;

	if (nodes_empty(pl->interleave))
		return pl->preferred;

	off = (addr - vma->vm_start) / HK_BLOCK_SIZE;
	nid = first_node(pl->interleave);
	for (off %= nodes_weight(pl->interleave); off; off--)
		nid = next_node(nid, pl->interleave);
	return nid;
}
