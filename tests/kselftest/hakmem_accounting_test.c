// SPDX-License-Identifier: GPL-2.0
/*
 * kselftest: the statistics of /dev/hakmem account for every page mapped.
 * Each page of a region is counted once, by what mmap() did with it:
 *
 *	mmap_bytes / PAGE == pool_handout_pages + sync_fill_pages +
 *			     limit_fill_pages + nowrite_fill_pages
 *
 * Each test maps regions of one kind (writable, read-only, PROT_NONE, past
 * the memlock limit, past a memory cgroup's limit) and checks the identity
 * on the differences around it, and which counter took the pages.  Two more
 * check that cache_pages follows the pages that exist, and that callers of
 * the first version of the stats ioctl and the sysfs files see the same
 * figures.
 *
 * Run as root in the test VM (another user, memory cgroups);
 * HK_TEST=<name>[,...] runs only those tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

#define SYSFS		"/sys/class/misc/hakmem/"
#define CGROUP		"/sys/fs/cgroup/hakmem-accounting"

static int stats(int fd, struct hakmem_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, HAKMEM_IOC_STATS, st);
}

/* The pages that the counters of @st say were mapped, by any route. */
static long long counted(const struct hakmem_stats *st)
{
	return st->pool_handout_pages + st->sync_fill_pages +
	       st->limit_fill_pages + st->nowrite_fill_pages;
}

/* The growth of field @f from @a to @b. */
#define GREW(a, b, f) ((long long)((b).f - (a).f))

/* The node of the CPU this task runs on. */
static unsigned int node_here(void)
{
	unsigned int cpu, node;

	return getcpu(&cpu, &node) ? 0 : node;
}

/*
 * The zeroed pages of the pool of the node this task runs on, for
 * wait_pool_pages(); the caller stays on its CPU.
 */
static long long local_pool_pages(int fd, int unused)
{
	char path[96];

	snprintf(path, sizeof(path), SYSFS "node%u/pool_zeroed_pages",
		 node_here());
	return read_ll(path);
}

FIXTURE(acct) {
	int fd;
};

FIXTURE_SETUP(acct)
{
	cpu_set_t set;

	self->fd = -1;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));
	self->fd = hk_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP_FROM_SETUP(HAKMEM_DEVICE " does not exist (module not loaded)");
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	/* One node's pool serves this task and its children. */
	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
}

FIXTURE_TEARDOWN(acct)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Map @len bytes with @prot and unmap them again, between two readings of
 * the counters; every page must be counted.
 */
static void map_between(struct __test_metadata *_metadata, int fd,
			size_t len, int prot, struct hakmem_stats *a,
			struct hakmem_stats *b)
{
	char *p;

	ASSERT_EQ(0, stats(fd, a));
	p = mmap(NULL, len, prot, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	ASSERT_EQ(0, stats(fd, b));
	if (prot & PROT_READ)
		EXPECT_EQ(-1, first_nonzero(p, len));
	munmap(p, len);
	EXPECT_EQ(len, GREW(*a, *b, mmap_bytes));
	EXPECT_EQ(len / PAGE, counted(b) - counted(a));
}

TEST_F(acct, writable)
{
	const size_t len = 4 * SZ_2M;
	struct hakmem_stats a, b;

	EXPECT_EQ(0, wait_pool_pages(self->fd, len / PAGE, 30000,
				     local_pool_pages, 0));
	map_between(_metadata, self->fd, len, PROT_READ | PROT_WRITE, &a, &b);
	EXPECT_EQ(0, GREW(a, b, limit_fill_pages));
	EXPECT_EQ(0, GREW(a, b, nowrite_fill_pages));
	TH_LOG("%zu pages: %lld handed out, %lld pool misses", len / PAGE,
	       GREW(a, b, pool_handout_pages), GREW(a, b, sync_fill_pages));
}

/* Regions without PROT_WRITE are left to faults whatever the pool holds. */
static void expect_left_to_faults(struct __test_metadata *_metadata, int fd, int prot)
{
	const size_t len = 2 * SZ_2M;
	struct hakmem_stats a, b;

	map_between(_metadata, fd, len, prot, &a, &b);
	EXPECT_EQ(len / PAGE, GREW(a, b, nowrite_fill_pages));
	EXPECT_EQ(0, GREW(a, b, pool_handout_pages));
}

TEST_F(acct, read_only)
{
	expect_left_to_faults(_metadata, self->fd, PROT_READ);
}

TEST_F(acct, prot_none)
{
	expect_left_to_faults(_metadata, self->fd, PROT_NONE);
}

/*
 * Run @fn in a child, between two readings of the counters, which maps
 * @len bytes of which no more than @limit can come from the pool; the rest
 * must be counted as left to faults past a limit (or as pool misses, for
 * blocks the pool did not have).  A child that did not finish may have
 * failed in mmap(): then no page may count.  Returns the child's exit
 * status.
 */
static int child_between(struct __test_metadata *_metadata, int fd,
			 size_t len, size_t limit, int (*fn)(size_t len))
{
	struct hakmem_stats a, b;
	pid_t pid;
	int status;

	EXPECT_EQ(0, wait_pool_pages(fd, len / PAGE, 30000,
				     local_pool_pages, 0));
	EXPECT_EQ(0, stats(fd, &a));
	pid = fork();
	if (pid == 0)
		_exit(fn(len));
	status = child_status(pid);
	EXPECT_EQ(0, stats(fd, &b));
	TH_LOG("%zu pages: %lld handed out, %lld past a limit, %lld pool misses; child status %d",
	       len / PAGE, GREW(a, b, pool_handout_pages),
	       GREW(a, b, limit_fill_pages), GREW(a, b, sync_fill_pages),
	       status);
	EXPECT_EQ(GREW(a, b, mmap_bytes) / PAGE, counted(&b) - counted(&a));
	EXPECT_GE((long long)(limit / PAGE), GREW(a, b, pool_handout_pages));
	EXPECT_EQ(0, GREW(a, b, nowrite_fill_pages));
	if (status == 0) {
		EXPECT_EQ(len, GREW(a, b, mmap_bytes));
		EXPECT_LT(0, GREW(a, b, limit_fill_pages));
	}
	return status;
}

/* Map @len writable bytes and leave them untouched; 0 on success. */
static int map_region(size_t len)
{
	int fd = hk_open();

	return fd < 0 || hk_map(fd, len) == MAP_FAILED;
}

#define MEMLOCK_LIMIT	(2 * SZ_2M)

/* As another user, outside the device's group, within MEMLOCK_LIMIT. */
static int map_as_nobody(size_t len)
{
	struct rlimit rl = { MEMLOCK_LIMIT, MEMLOCK_LIMIT };

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534) ||
	    setrlimit(RLIMIT_MEMLOCK, &rl))
		return 3;
	return map_region(len);
}

TEST_F(acct, over_memlock_limit)
{
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	EXPECT_EQ(0, child_between(_metadata, self->fd, 8 * SZ_2M,
				   MEMLOCK_LIMIT, map_as_nobody));
}

#define MEMCG_LIMIT	(4 * SZ_2M)

/* In a memory cgroup of MEMCG_LIMIT bytes. */
static int map_in_memcg(size_t len)
{
	if (write_file(CGROUP "/cgroup.procs", "0"))
		return 3;
	return map_region(len);
}

/*
 * Where the cgroup also charges kernel memory, the page table of the block
 * after the cgroup filled up is charged in mmap(), and the cgroup's OOM
 * killer ends the child there: mmap() fails, after it had mapped blocks
 * from the pool, and those must not count.
 */
TEST_F(acct, over_memcg_limit)
{
	char max[32];
	int status;

	if (geteuid() != 0)
		SKIP(return, "needs root for memory cgroups");
	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
		SKIP(return, "no cgroup v2 memory controller");
	ASSERT_TRUE(!mkdir(CGROUP, 0755) || errno == EEXIST)
		TH_LOG("mkdir " CGROUP ": %s", strerror(errno));
	snprintf(max, sizeof(max), "%lu", MEMCG_LIMIT);
	ASSERT_EQ(0, write_file(CGROUP "/memory.max", max));
	status = child_between(_metadata, self->fd, 8 * SZ_2M, MEMCG_LIMIT,
			       map_in_memcg);
	if (memcg_kmem() && status == 128 + SIGKILL)
		status = 0;
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, rmdir(CGROUP));
}

/*
 * cache_pages: the device pages that exist, each charged; munmap() frees
 * the pages nobody else holds.
 */
TEST_F(acct, cache_pages)
{
	const size_t len = 2 * SZ_2M;
	struct hakmem_stats a, b, c;
	char *p;

	EXPECT_EQ(0, wait_pool_pages(self->fd, len / PAGE, 30000,
				     local_pool_pages, 0));
	ASSERT_EQ(0, stats(self->fd, &a));
	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, stats(self->fd, &b));
	munmap(p, len);
	ASSERT_EQ(0, stats(self->fd, &c));
	EXPECT_LT(0, GREW(a, b, pool_handout_pages));
	EXPECT_EQ(GREW(a, b, pool_handout_pages), GREW(a, b, cache_pages));
	EXPECT_EQ(a.cache_pages, c.cache_pages);
	EXPECT_EQ(c.cache_pages, read_ll(SYSFS "stats/cache_pages"));
}

/*
 * A caller of the first version gets the fields it knows, the same as a
 * caller of this one; sysfs shows the same figures, each node's adding up
 * to the sum in stats/.
 */
TEST_F(acct, versions_and_sysfs)
{
	const unsigned int cmd0 = _IOC(_IOC_READ | _IOC_WRITE,
				       HAKMEM_IOC_MAGIC, 0x01,
				       HAKMEM_STATS_SIZE_VER0);
	long long limit_sum = 0, node_val;
	struct hakmem_stats st, old;
	char path[96];
	int nid;

	ASSERT_EQ(HAKMEM_STATS_SIZE_VER2, sizeof(st));
	ASSERT_EQ(0, stats(self->fd, &st));
	memset(&old, 0xa5, sizeof(old));
	memset(&old, 0, HAKMEM_STATS_SIZE_VER0);
	ASSERT_EQ(0, ioctl(self->fd, cmd0, &old));
	EXPECT_EQ(st.mmap_bytes, old.mmap_bytes);
	EXPECT_EQ(st.pool_handout_pages, old.pool_handout_pages);
	EXPECT_EQ(st.sync_fill_pages, old.sync_fill_pages);
	/* Nothing beyond what the old caller has room for. */
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, old.limit_fill_pages);

	EXPECT_EQ(st.mmap_bytes, read_ll(SYSFS "stats/mmap_bytes"));
	EXPECT_EQ(st.limit_fill_pages,
		  read_ll(SYSFS "stats/limit_fill_pages"));
	EXPECT_EQ(st.nowrite_fill_pages,
		  read_ll(SYSFS "stats/nowrite_fill_pages"));
	for (nid = 0; nid < 1024; nid++) {
		snprintf(path, sizeof(path), SYSFS "node%d/limit_fill_pages",
			 nid);
		node_val = read_ll(path);
		if (node_val > 0)
			limit_sum += node_val;
	}
	EXPECT_EQ(st.limit_fill_pages, limit_sum);
	snprintf(path, sizeof(path), SYSFS "node%u/nowrite_fill_pages",
		 node_here());
	EXPECT_NE(0, access(path, F_OK));
}

TEST_HARNESS_MAIN
