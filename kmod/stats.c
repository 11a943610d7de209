// SPDX-License-Identifier: GPL-2.0
/*
 * hakmem - the event counters: how many pages were handed out, left to
 * faults, zeroed, given back, and how much was mapped.
 *
 * This is the bottom of the module: it calls nothing of the others, and
 * every other file may add to it, from any context that may take an atomic
 * (no locks).  The counters only ever grow; readers work with differences.
 * They are independent atomics, so a reader may see a mix of older and newer
 * values, which is fine for statistics.  stats_sysfs.c and ioctl.c show
 * them.
 *
 * Per-node counters have nr_node_ids entries, not only those of hk_nodes: a
 * pool miss is counted on the node the task prefers, which may be one
 * hotplugged after the module was loaded.
 */
#include <linux/atomic.h>
#include <linux/nodemask.h>
#include <linux/slab.h>

#include "internal.h"

struct hk_stats hk_stats;

struct hk_node_counters {
	atomic64_t v[HK_NR_NODE_COUNTERS];
};

static struct hk_node_counters *hk_node_counters;

void hk_node_stat_add(int nid, enum hk_node_stat_item item, u64 val)
{
	atomic64_add(val, &hk_node_counters[nid].v[item]);
}

u64 hk_node_stat(int nid, enum hk_node_stat_item item)
{
	u64 sum = 0;
	int n;

	if (nid != NUMA_NO_NODE)
		return atomic64_read(&hk_node_counters[nid].v[item]);
	for_each_node(n)
		sum += atomic64_read(&hk_node_counters[n].v[item]);
	return sum;
}

/* Before anything else: every other part may count from its init on. */
int hk_stats_init(void)
{
	hk_node_counters = kcalloc(nr_node_ids, sizeof(*hk_node_counters),
				   GFP_KERNEL);
	return hk_node_counters ? 0 : -ENOMEM;
}

/* After everything else: nothing counts any more. */
void hk_stats_exit(void)
{
	kfree(hk_node_counters);
}
