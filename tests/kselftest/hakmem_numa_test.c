// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the per-node pools of /dev/hakmem (kmod/hakmem.ko).
 *
 * Needs a machine with at least two memory nodes (qemu/run-vm.sh with
 * VM_NUMA=2) and skips elsewhere.  The memory policy calls go through
 * syscall(): the test VM has no libnuma.  HK_TEST=<name>[,<name>...] in the
 * environment runs only the tests of those names.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/hakmem.h>
#include <linux/mempolicy.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

#define BLOCK_PAGES	(SZ_2M / PAGE)
#define HK_SYSFS	"/sys/class/misc/hakmem/"
#define NODE_SYSFS	"/sys/devices/system/node/"
#define MAX_NODES	64	/* node masks here are one unsigned long */
/* The kernel ignores the last bit of maxnode (as libnuma passes it). */
#define MASK_BITS	(8 * sizeof(unsigned long) + 1)

/* Read a one-line sysfs file without its newline; "" if unreadable. */
static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* Parse a kernel list ("0-2,5") into @ids; returns how many, at most @max. */
static int parse_list(const char *s, int *ids, int max)
{
	int n = 0, a, b;
	char *end;

	while (*s && n < max) {
		a = strtol(s, &end, 10);
		if (end == s)
			break;
		b = a;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		while (a <= b && n < max)
			ids[n++] = a++;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static long node_stat(int nid, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), HK_SYSFS "node%d/%s", nid, name);
	return read_ll(path);
}

static int set_policy(int mode, unsigned long mask)
{
	return syscall(SYS_set_mempolicy, mode, mode == MPOL_DEFAULT ?
		       NULL : &mask, mode == MPOL_DEFAULT ? 0 : MASK_BITS);
}

static int bind_range(void *p, size_t len, int nid)
{
	unsigned long mask = 1UL << nid;

	return syscall(SYS_mbind, p, len, MPOL_BIND, &mask, MASK_BITS, 0);
}

/*
 * The node of each page of [p, p + len) as move_pages(2) reports it, into
 * @status; returns 0 on success.
 */
static int page_nodes(void *p, size_t len, int *status)
{
	size_t i, n = len / PAGE;
	void **pages = calloc(n, sizeof(*pages));
	long ret;

	if (!pages)
		return -1;
	for (i = 0; i < n; i++)
		pages[i] = (char *)p + i * PAGE;
	ret = syscall(SYS_move_pages, 0, n, pages, NULL, status, 0);
	free(pages);
	return ret ? -1 : 0;
}

/* Index of the first page of [p, p + len) not on @nid, or -1. */
static long first_off_node(void *p, size_t len, int nid, int *node)
{
	size_t i, n = len / PAGE;
	int *status = calloc(n, sizeof(*status));
	long bad = -1;

	*node = -1;
	if (!status)
		return 0;
	if (page_nodes(p, len, status)) {
		free(status);
		return 0;
	}
	for (i = 0; i < n && bad < 0; i++) {
		if (status[i] != nid) {
			bad = i;
			*node = status[i];
		}
	}
	free(status);
	return bad;
}

static long long node_pool_pages(int fd, int nid)
{
	return node_stat(nid, "pool_zeroed_pages");
}

/*
 * Wait up to @ms for the pool of @nid to hold @pages; the demand comes from
 * mappings under the caller's policy, so from that pool.
 */
static int wait_node_pool(int fd, int nid, long pages, int ms)
{
	return wait_pool_pages(fd, pages, ms, node_pool_pages, nid);
}

FIXTURE(numa) {
	int fd;
	int nr_nodes;
	int nodes[MAX_NODES];	/* the memory nodes */
	int cpu[MAX_NODES];	/* a CPU of each, or -1 */
};

FIXTURE_SETUP(numa)
{
	int i, cpus[1];
	char buf[256], path[128];

	self->fd = -1;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));

	read_line(NODE_SYSFS "has_memory", buf, sizeof(buf));
	self->nr_nodes = parse_list(buf, self->nodes, MAX_NODES);
	if (self->nr_nodes < 2)
		SKIP_FROM_SETUP("%d memory node(s), need 2", self->nr_nodes);
	for (i = 0; i < self->nr_nodes; i++) {
		snprintf(path, sizeof(path), NODE_SYSFS "node%d/cpulist",
			 self->nodes[i]);
		read_line(path, buf, sizeof(buf));
		self->cpu[i] = parse_list(buf, cpus, 1) ? cpus[0] : -1;
	}

	self->fd = open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
	if (self->fd < 0 && errno == ENOENT)
		SKIP_FROM_SETUP(HAKMEM_DEVICE " does not exist (module not loaded)");
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	for (i = 0; i < self->nr_nodes; i++)
		ASSERT_LE(0, node_stat(self->nodes[i], "pool_handout_pages"))
			TH_LOG("no " HK_SYSFS "node%d/", self->nodes[i]);
}

FIXTURE_TEARDOWN(numa)
{
	if (self->fd >= 0)
		close(self->fd);
}

struct counts {
	long handout[MAX_NODES];
	long sync[MAX_NODES];
};

static void get_counts(FIXTURE_DATA(numa) *self, struct counts *c)
{
	int i;

	for (i = 0; i < self->nr_nodes; i++) {
		c->handout[i] = node_stat(self->nodes[i], "pool_handout_pages");
		c->sync[i] = node_stat(self->nodes[i], "sync_fill_pages");
	}
}

/*
 * Under the current policy or CPU binding, which should place memory on
 * node self->nodes[k]: fill that node's pool, map one block (from the pool)
 * and a bigger region, and check that only that node's counters moved,
 * that the pages the pool did not supply are faulted in on first touch,
 * and that every page is on that node.
 */
static void check_maps_on(struct __test_metadata *_metadata,
			  FIXTURE_DATA(numa) *self, int k)
{
	size_t lens[] = { SZ_2M, 8 * SZ_2M };
	int nid = self->nodes[k];
	struct counts a, b;
	long off, faults;
	int i, j, node;
	char *p;

	ASSERT_EQ(0, wait_node_pool(self->fd, nid, BLOCK_PAGES, 30000))
		TH_LOG("the pool of node %d did not refill", nid);

	for (i = 0; i < 2; i++) {
		get_counts(self, &a);
		p = hk_map(self->fd, lens[i]);
		ASSERT_NE(MAP_FAILED, p);
		get_counts(self, &b);

		faults = read_ll(HK_SYSFS "stats/fault_pages");
		EXPECT_EQ(-1, first_nonzero(p, lens[i]));
		EXPECT_EQ(faults + b.sync[k] - a.sync[k],
			  read_ll(HK_SYSFS "stats/fault_pages"));
		/*
		 * Where the pool left the region empty, the reads mapped the
		 * zero page; written, those pages come from the policy's node
		 * as an anonymous fault's do.
		 */
		for (off = 0; off < (long)lens[i]; off += PAGE)
			p[off] = 1;
		off = first_off_node(p, lens[i], nid, &node);
		EXPECT_EQ(-1, off)
			TH_LOG("%zu MiB region: page %ld is on node %d, not %d",
			       lens[i] >> 20, off, node, nid);
		for (j = 0; j < self->nr_nodes; j++) {
			long pages = j == k ? lens[i] / PAGE : 0;

			EXPECT_EQ(a.handout[j] + a.sync[j] + pages,
				  b.handout[j] + b.sync[j])
				TH_LOG("node %d counted the wrong pages",
				       self->nodes[j]);
		}
		/* The pool held a block, so the first one came from it. */
		if (i == 0)
			EXPECT_EQ(a.handout[k] + BLOCK_PAGES, b.handout[k]);
		TH_LOG("node %d: %zu MiB mapped, %ld pages from the pool, %ld left to faults",
		       nid, lens[i] >> 20, b.handout[k] - a.handout[k],
		       b.sync[k] - a.sync[k]);
		munmap(p, lens[i]);
	}
}

/* set_mempolicy(MPOL_BIND) to one node: all memory from that node. */
TEST_F_TIMEOUT(numa, bind, 120)
{
	int k;

	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, set_policy(MPOL_BIND, 1UL << self->nodes[k]))
			TH_LOG("set_mempolicy: %s", strerror(errno));
		check_maps_on(_metadata, self, k);
	}
	ASSERT_EQ(0, set_policy(MPOL_DEFAULT, 0));
}

/* The default policy on a CPU of one node: the local node's memory. */
TEST_F_TIMEOUT(numa, cpu_affinity, 120)
{
	cpu_set_t set;
	int k;

	for (k = 0; k < 2; k++) {
		if (self->cpu[k] < 0)
			SKIP(return, "node %d has no CPU", self->nodes[k]);
		CPU_ZERO(&set);
		CPU_SET(self->cpu[k], &set);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
		ASSERT_EQ(self->cpu[k], sched_getcpu());
		check_maps_on(_metadata, self, k);
	}
}

/*
 * Every node's pool refills after demand, zeroed by its own thread, which
 * runs on the node's CPUs; stats/ shows the sums.
 */
TEST_F_TIMEOUT(numa, pools_refill, 120)
{
	char path[300], want[256], line[256], comm[32];
	long sum = 0, zeroed;
	struct dirent *de;
	int k, found;
	DIR *proc;

	for (k = 0; k < self->nr_nodes; k++) {
		int nid = self->nodes[k];

		ASSERT_EQ(0, set_policy(MPOL_BIND, 1UL << nid));
		ASSERT_EQ(0, wait_node_pool(self->fd, nid, BLOCK_PAGES, 30000))
			TH_LOG("the pool of node %d did not refill", nid);
		zeroed = node_stat(nid, "idle_zeroed_bytes");
		EXPECT_LT(0, zeroed);
		sum += node_stat(nid, "pool_handout_pages");
		TH_LOG("node %d: pool %ld pages, %ld MiB zeroed, %ld pages handed out, %ld missed",
		       nid, node_stat(nid, "pool_zeroed_pages"), zeroed >> 20,
		       node_stat(nid, "pool_handout_pages"),
		       node_stat(nid, "sync_fill_pages"));

		/* The node's thread and its CPU binding. */
		snprintf(path, sizeof(path), NODE_SYSFS "node%d/cpulist", nid);
		read_line(path, want, sizeof(want));
		snprintf(comm, sizeof(comm), "hakmem_zerod%d", nid);
		proc = opendir("/proc");
		ASSERT_NE(NULL, proc);
		found = 0;
		while ((de = readdir(proc))) {
			FILE *f;

			snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
			read_line(path, line, sizeof(line));
			if (strcmp(line, comm))
				continue;
			found = 1;
			snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
			f = fopen(path, "re");
			ASSERT_NE(NULL, f);
			while (fgets(line, sizeof(line), f))
				if (!strncmp(line, "Cpus_allowed_list:", 18))
					break;
			fclose(f);
			line[strcspn(line, "\n")] = '\0';
			if (want[0])
				EXPECT_STREQ(want, line + strspn(line + 18, " \t") + 18);
		}
		closedir(proc);
		EXPECT_TRUE(found) TH_LOG("no thread %s", comm);
	}
	ASSERT_EQ(0, set_policy(MPOL_DEFAULT, 0));
	/* Nothing maps now, so the hand-out sum is stable. */
	EXPECT_EQ(sum, read_ll(HK_SYSFS "stats/pool_handout_pages"));
}

/*
 * mbind() on a lazily filled region binds the pages faults give it, even
 * against the task's own policy, as it does for anonymous memory: a write
 * fault's page is allocated by the VMA's policy.
 */
TEST_F_TIMEOUT(numa, mbind_faults, 120)
{
	long off, faults;
	int k, node;
	size_t i;
	char *p;

	for (k = 0; k < 2; k++) {
		int nid = self->nodes[k];

		/* The task policy points elsewhere: the VMA policy wins. */
		ASSERT_EQ(0, set_policy(MPOL_BIND, 1UL << self->nodes[1 - k]));
		p = mmap(NULL, SZ_2M, PROT_NONE, MAP_PRIVATE, self->fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, bind_range(p, SZ_2M, nid))
			TH_LOG("mbind: %s", strerror(errno));
		ASSERT_EQ(0, mprotect(p, SZ_2M, PROT_READ | PROT_WRITE));
		/* A read fault would map the zero page, on no node of ours. */
		faults = read_ll(HK_SYSFS "stats/fault_pages");
		for (i = 0; i < SZ_2M; i += PAGE)
			((volatile char *)p)[i] = 1;
		EXPECT_EQ(faults + BLOCK_PAGES,
			  read_ll(HK_SYSFS "stats/fault_pages"));
		off = first_off_node(p, SZ_2M, nid, &node);
		EXPECT_EQ(-1, off)
			TH_LOG("page %ld is on node %d, not %d", off, node, nid);
		munmap(p, SZ_2M);
	}
	ASSERT_EQ(0, set_policy(MPOL_DEFAULT, 0));
}

/*
 * Pool pages sit on the unevictable LRU list with no rmap that finds their
 * PTEs (kmod/cache.c), so migration can isolate them but never move them:
 * move_pages() and mbind(MPOL_MF_MOVE) to the other node must fail page by
 * page and leave the data where it is.
 */
TEST_F_TIMEOUT(numa, migration_keeps_data, 120)
{
	int status[BLOCK_PAGES], nodes[BLOCK_PAGES];
	void *pages[BLOCK_PAGES];
	unsigned long mask;
	int from, to;
	size_t i;
	char *p;

	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x3c, SZ_2M);
	ASSERT_EQ(0, page_nodes(p, SZ_2M, status));
	from = status[0];
	ASSERT_LE(0, from);
	to = from == self->nodes[0] ? self->nodes[1] : self->nodes[0];
	for (i = 0; i < BLOCK_PAGES; i++) {
		pages[i] = p + i * PAGE;
		nodes[i] = to;
	}
	syscall(SYS_move_pages, 0, BLOCK_PAGES, pages, nodes, status,
		MPOL_MF_MOVE);
	mask = 1UL << to;
	syscall(SYS_mbind, p, SZ_2M, MPOL_BIND, &mask, MASK_BITS,
		MPOL_MF_MOVE);
	for (i = 0; i < SZ_2M; i += PAGE)
		ASSERT_EQ(0x3c, p[i]) TH_LOG("page %zu changed", i / PAGE);
	EXPECT_EQ(-1, first_off_node(p, SZ_2M, from, &to))
		TH_LOG("a page moved to node %d", to);
	memset(p, 0x4d, SZ_2M);
	for (i = 0; i < SZ_2M; i += PAGE)
		ASSERT_EQ(0x4d, p[i]);
	munmap(p, SZ_2M);
}

/*
 * MPOL_INTERLEAVE spreads whole blocks over the nodes; with the pools
 * full, block n comes from the (n mod 2)-th node, as the page allocator
 * interleaves a VMA.
 */
TEST_F_TIMEOUT(numa, interleave, 120)
{
	unsigned long mask = 1UL << self->nodes[0] | 1UL << self->nodes[1];
	int nblocks = 8, used[2] = { 0, 0 };
	size_t len = nblocks * SZ_2M;
	struct counts a, b;
	int *status;
	int i, k;
	char *p;

	for (k = 0; k < 2; k++) {
		ASSERT_EQ(0, set_policy(MPOL_BIND, 1UL << self->nodes[k]));
		ASSERT_EQ(0, wait_node_pool(self->fd, self->nodes[k],
					    nblocks / 2 * BLOCK_PAGES, 30000));
	}
	ASSERT_EQ(0, set_policy(MPOL_INTERLEAVE, mask));

	status = calloc(len / PAGE, sizeof(*status));
	ASSERT_NE(NULL, status);
	get_counts(self, &a);
	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	get_counts(self, &b);
	ASSERT_EQ(0, page_nodes(p, len, status));

	for (i = 0; i < nblocks; i++) {
		int *blk = status + i * BLOCK_PAGES;
		int j;

		for (j = 1; j < BLOCK_PAGES; j++)
			if (blk[j] != blk[0])
				break;
		EXPECT_EQ(BLOCK_PAGES, j)
			TH_LOG("block %d is split over nodes", i);
		EXPECT_EQ(self->nodes[i % 2], blk[0])
			TH_LOG("block %d is on node %d", i, blk[0]);
		used[i % 2] += blk[0] == self->nodes[i % 2];
	}
	for (k = 0; k < 2; k++)
		TH_LOG("node %d: %d blocks, %ld pages from its pool",
		       self->nodes[k], used[k], b.handout[k] - a.handout[k]);
	munmap(p, len);
	free(status);
	ASSERT_EQ(0, set_policy(MPOL_DEFAULT, 0));
}

TEST_HARNESS_MAIN
