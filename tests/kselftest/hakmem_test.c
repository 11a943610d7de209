// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/hakmem (kmod/hakmem.ko).
 *
 * Run as root inside the test VM (qemu/run-vm.sh); the tests that need root
 * or a cgroup v2 memory controller skip without them.  HK_TEST=<name>[,...]
 * in the environment runs only the tests of those names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/hakmem.h>
#include <linux/futex.h>
#include <linux/loop.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

#define STATS_DIR	"/sys/class/misc/hakmem/stats/"
#define NODE_DIR	"/sys/class/misc/hakmem/node%u/"
#define PARAM_DIR	"/sys/module/hakmem/parameters/"

static int get_stats(int fd, struct hakmem_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, HAKMEM_IOC_STATS, st);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* How many pages of [p, p + len) are mapped (/proc/self/pagemap), or -1. */
static long present_pages(const void *p, size_t len)
{
	uint64_t ent[512];
	size_t done, n, i;
	long present = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	for (done = 0; done < len / PAGE; done += n) {
		n = len / PAGE - done;
		if (n > 512)
			n = 512;
		if (pread(fd, ent, n * sizeof(*ent),
			  ((uintptr_t)p / PAGE + done) * sizeof(*ent)) !=
		    (ssize_t)(n * sizeof(*ent))) {
			present = -1;
			break;
		}
		for (i = 0; i < n; i++)
			present += ent[i] >> 63;
	}
	close(fd);
	return present;
}

/* The "@key: N kB" figure of the VMA at @p in /proc/self/smaps, or -1. */
static long long vma_kb(const void *p, const char *key)
{
	char line[256], start[32];
	size_t n = strlen(key);
	long long val = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)(uintptr_t)p);
	while (val < 0 && fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, start, strlen(start));
		else if (in && !strncmp(line, key, n) && line[n] == ':')
			val = atoll(line + n + 1);
	}
	fclose(f);
	return val;
}

/*
 * The zeroed pages in the pool that serves this task: its node's pool when
 * the module keeps one per node (the task may move between nodes), else
 * the only one.
 */
static long long pool_pages_here(int fd, int unused)
{
	struct hakmem_stats st;
	unsigned int cpu, node;
	char path[96];

	if (!getcpu(&cpu, &node)) {
		snprintf(path, sizeof(path), NODE_DIR "pool_zeroed_pages",
			 node);
		if (!access(path, R_OK))
			return read_ll(path);
	}
	if (get_stats(fd, &st))
		return -1;
	return st.pool_zeroed_pages;
}

/* The number of pools: one per memory node. */
static int nr_pools(void)
{
	char path[96];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), NODE_DIR, n);
		if (access(path, F_OK))
			return n ? n : 1;
		n++;
	}
}

/* Stay on the current CPU, and so on the current node's pool. */
static void stay_here(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Wait up to @ms for the pool that serves this task to hold @pages. */
static int wait_pool(int fd, unsigned long pages, int ms)
{
	return wait_pool_pages(fd, pages, ms, pool_pages_here, 0);
}

FIXTURE(hakmem) {
	int fd;
};

FIXTURE_SETUP(hakmem)
{
	self->fd = -1;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));
	self->fd = hk_open();
	if (self->fd < 0 && errno == ENOENT)
		SKIP_FROM_SETUP(HAKMEM_DEVICE " does not exist (module not loaded)");
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
}

FIXTURE_TEARDOWN(hakmem)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(hakmem, info)
{
	struct hakmem_info info;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, HAKMEM_IOC_INFO, &info));
	EXPECT_EQ(HAKMEM_ABI_VERSION, info.abi_version);
	EXPECT_EQ(SZ_2M, info.superslab_size);
	EXPECT_EQ((unsigned long)sysconf(_SC_PAGESIZE), info.page_size);
	EXPECT_LE(info.pool_low_bytes, info.pool_high_bytes);
	EXPECT_LE(info.pool_high_bytes, info.pool_max_bytes);
	EXPECT_EQ(0, info.flags);
	EXPECT_TRUE(info.features & HAKMEM_FEAT_MEMCG_CHARGE);
	TH_LOG("pool low/high/max %llu/%llu/%llu MiB, features %#llx",
	       (unsigned long long)info.pool_low_bytes >> 20,
	       (unsigned long long)info.pool_high_bytes >> 20,
	       (unsigned long long)info.pool_max_bytes >> 20,
	       (unsigned long long)info.features);
}

/* Size-versioned ioctls: older, newer and malformed callers. */
TEST_F(hakmem, ioctl_sizes)
{
	struct {
		struct hakmem_info info;
		uint64_t newer[4];
	} big;
	struct hakmem_info info;
	unsigned int cmd_big, cmd_small;

	cmd_big = _IOWR(HAKMEM_IOC_MAGIC, 0x00, big);
	cmd_small = _IOC(_IOC_READ | _IOC_WRITE, HAKMEM_IOC_MAGIC, 0x00, 8);

	/* A newer caller whose extra fields are zero works ... */
	memset(&big, 0, sizeof(big));
	ASSERT_EQ(0, ioctl(self->fd, cmd_big, &big));
	EXPECT_EQ(HAKMEM_ABI_VERSION, big.info.abi_version);
	EXPECT_EQ(0, big.newer[0]);
	/* ... and fails with E2BIG when it asks for something unknown. */
	memset(&big, 0, sizeof(big));
	big.newer[3] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, cmd_big, &big));
	EXPECT_EQ(E2BIG, errno);
	/* Too small for the first version. */
	memset(&info, 0, sizeof(info));
	EXPECT_EQ(-1, ioctl(self->fd, cmd_small, &info));
	EXPECT_EQ(EINVAL, errno);
	/* Unknown flags. */
	memset(&info, 0, sizeof(info));
	info.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HAKMEM_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	/* Bad pointers. */
	EXPECT_EQ(-1, ioctl(self->fd, HAKMEM_IOC_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, HAKMEM_IOC_STATS, (void *)16));
	EXPECT_EQ(EFAULT, errno);
	/* Unknown command numbers and directions. */
	EXPECT_EQ(-1, ioctl(self->fd, _IOWR(HAKMEM_IOC_MAGIC, 0x7f, info),
			    &info));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IOR(HAKMEM_IOC_MAGIC, 0x00, info),
			    &info));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(hakmem, stats_count_mmap)
{
	struct hakmem_stats a, b;
	char *p;

	ASSERT_EQ(0, get_stats(self->fd, &a));
	p = hk_map(self->fd, 2 * SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_EQ(a.mmap_calls + 1, b.mmap_calls);
	EXPECT_EQ(a.mmap_bytes + 2 * SZ_2M, b.mmap_bytes);
	EXPECT_EQ(a.pool_handout_pages + a.sync_fill_pages + 2 * SZ_2M / PAGE,
		  b.pool_handout_pages + b.sync_fill_pages);
	EXPECT_EQ(b.mmap_calls, (unsigned long long)read_ll(STATS_DIR "mmap_calls"));
	munmap(p, 2 * SZ_2M);
}

TEST_F(hakmem, fresh_region_is_zero_and_aligned)
{
	size_t len = 16 * SZ_2M;
	char *p;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap: %s", strerror(errno));
	EXPECT_EQ(0, (uintptr_t)p % SZ_2M);
	EXPECT_EQ(-1, first_nonzero(p, len));
	memset(p, 0xff, len);
	EXPECT_EQ(-1, first_not(p, len, 0xff));
	EXPECT_EQ(0, munmap(p, len));
}

/* Memory dirtied by another process must never come back non-zero. */
TEST_F_TIMEOUT(hakmem, zero_after_other_process_exits, 120)
{
	size_t len = 48 * SZ_2M;	/* more than the default pool */
	int round;

	for (round = 0; round < 3; round++) {
		pid_t pid = fork();
		char *p;

		ASSERT_LE(0, pid);
		if (pid == 0) {
			p = hk_map(self->fd, len);
			if (p == MAP_FAILED)
				_exit(1);
			memset(p, 0xa5, len);
			_exit(0);
		}
		ASSERT_EQ(0, child_status(pid));

		p = hk_map(self->fd, len);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(-1, first_nonzero(p, len)) TH_LOG("round %d", round);
		memset(p, 0x5a, len);
		ASSERT_EQ(0, munmap(p, len));
	}
}

/*
 * A big region: more than the pool.  What the pool has is mapped at once;
 * the rest (counted as sync_fill_pages) is left to the fault handler,
 * which fills each page on first touch, here a read.
 */
TEST_F_TIMEOUT(hakmem, large_region, 120)
{
	size_t len = 256UL << 20;
	struct hakmem_stats a, b, c;
	long present;
	char *p;

	ASSERT_EQ(0, get_stats(self->fd, &a));
	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap 256 MiB: %s", strerror(errno));
	ASSERT_EQ(0, get_stats(self->fd, &b));
	present = present_pages(p, len);
	EXPECT_EQ(a.pool_handout_pages + a.sync_fill_pages + len / PAGE,
		  b.pool_handout_pages + b.sync_fill_pages);
	EXPECT_EQ(b.pool_handout_pages - a.pool_handout_pages, present);
	EXPECT_EQ(0, (uintptr_t)p % SZ_2M);
	EXPECT_EQ(-1, first_nonzero(p, len));
	ASSERT_EQ(0, get_stats(self->fd, &c));
	EXPECT_EQ(b.sync_fill_pages - a.sync_fill_pages,
		  c.fault_pages - b.fault_pages);
	EXPECT_EQ((long)(len / PAGE), present_pages(p, len));
	TH_LOG("%ld pages mapped from the pool, %llu faulted in",
	       present, (unsigned long long)(c.fault_pages - b.fault_pages));
	p[len - 1] = 1;
	EXPECT_EQ(0, munmap(p, len));
}

/* The whole point: first touches of blocks from the pool do not fault. */
TEST_F_TIMEOUT(hakmem, no_minor_faults_on_first_touch, 60)
{
	size_t len = 8 * SZ_2M, off;
	long before, hk_faults, anon_faults;
	struct hakmem_stats a, b;
	struct hakmem_info info;
	double t0, t1;
	char *p;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, HAKMEM_IOC_INFO, &info));
	if (info.pool_high_bytes < len)
		SKIP(return, "pool_high_mb is below %zu MiB", len >> 20);
	stay_here();
	ASSERT_EQ(0, wait_pool(self->fd, len / PAGE, 30000))
		TH_LOG("the pool did not refill to %zu MiB", len >> 20);
	ASSERT_EQ(0, get_stats(self->fd, &a));
	t0 = now_sec();
	p = hk_map(self->fd, len);
	t1 = now_sec();
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_EQ(a.pool_handout_pages + len / PAGE, b.pool_handout_pages);
	before = minflt();
	for (off = 0; off < len; off += PAGE)
		p[off] = 1;
	hk_faults = minflt() - before;
	munmap(p, len);

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	madvise(p, len, MADV_NOHUGEPAGE);
	before = minflt();
	for (off = 0; off < len; off += PAGE)
		p[off] = 1;
	anon_faults = minflt() - before;
	munmap(p, len);

	TH_LOG("first touch of %zu pages: hakmem %ld faults, anon %ld; mmap from the pool took %.2f ms",
	       len / PAGE, hk_faults, anon_faults, (t1 - t0) * 1e3);
	EXPECT_LE(hk_faults, 4);
}

/* After fork the child's writes stay in the child. */
TEST_F(hakmem, fork_cow_child_writes)
{
	size_t len = 2 * SZ_2M;
	char *p;
	pid_t pid;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x11, len);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (first_not(p, len, 0x11) != -1)
			_exit(1);
		memset(p, 0x22, len);
		if (first_not(p, len, 0x22) != -1)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(-1, first_not(p, len, 0x11));
	munmap(p, len);
}

/* After fork the parent's writes stay in the parent. */
TEST_F(hakmem, fork_cow_parent_writes)
{
	size_t len = 2 * SZ_2M;
	int go[2], done[2];
	char c = 0, *p;
	pid_t pid;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x11, len);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		if (first_not(p, len, 0x11) != -1)
			_exit(1);
		memset(p, 0x44, len / 2);
		if (write(done[1], &c, 1) != 1)
			_exit(3);
		_exit(first_not(p + len / 2, len / 2, 0x11) != -1 ? 2 : 0);
	}
	memset(p, 0x33, len);
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(-1, first_not(p, len, 0x33));
	munmap(p, len);
	close_pipes(go, done);
}

/* Access by other processes goes through GUP on our pages. */
TEST_F(hakmem, process_vm_readv)
{
	size_t len = SZ_2M;
	struct iovec local, remote;
	int go[2], ready[2];
	char *p, *buf, c = 0;
	pid_t pid;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	memset(p, 0x66, len);

	/* Our own memory. */
	local.iov_base = buf;
	local.iov_len = len;
	remote.iov_base = p;
	remote.iov_len = len;
	ASSERT_EQ((ssize_t)len, process_vm_readv(getpid(), &local, 1,
						 &remote, 1, 0));
	EXPECT_EQ(-1, first_not(buf, len, 0x66));

	/* A child's copy-on-write copy of it. */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(p, 0x77, len);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ((ssize_t)len, process_vm_readv(pid, &local, 1,
						 &remote, 1, 0));
	EXPECT_EQ(-1, first_not(buf, len, 0x77));
	EXPECT_EQ(-1, first_not(p, len, 0x66));
	ASSERT_EQ(1, write(go[1], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	free(buf);
	munmap(p, len);
	close_pipes(go, ready);
}

TEST_F(hakmem, proc_self_mem)
{
	size_t len = SZ_2M;
	char buf[8192];
	char *p;
	int mem;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x3c, len);
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);
	ASSERT_EQ((ssize_t)sizeof(buf),
		  pread(mem, buf, sizeof(buf), (off_t)(uintptr_t)(p + 12345)));
	EXPECT_EQ(-1, first_not(buf, sizeof(buf), 0x3c));
	memset(buf, 0xc3, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf),
		  pwrite(mem, buf, sizeof(buf), (off_t)(uintptr_t)(p + 4096)));
	EXPECT_EQ(-1, first_not(p + 4096, sizeof(buf), 0xc3));
	EXPECT_EQ(0x3c, p[4095]);
	EXPECT_EQ(0x3c, p[4096 + sizeof(buf)]);
	close(mem);
	munmap(p, len);
}

/* After MADV_DONTNEED the range reads as zero and can be written again. */
TEST_F(hakmem, madv_dontneed_refaults_zero)
{
	size_t len = 2 * SZ_2M;
	struct hakmem_stats a, b;
	char *p;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, len);
	ASSERT_EQ(0, madvise(p, SZ_2M, MADV_DONTNEED));
	ASSERT_EQ(0, madvise(p + SZ_2M + 8 * PAGE, PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, get_stats(self->fd, &a));

	EXPECT_EQ(-1, first_nonzero(p, SZ_2M));
	EXPECT_EQ(-1, first_not(p + SZ_2M, 8 * PAGE, 0x5a));
	EXPECT_EQ(-1, first_nonzero(p + SZ_2M + 8 * PAGE, PAGE));
	EXPECT_EQ(-1, first_not(p + SZ_2M + 9 * PAGE, SZ_2M - 9 * PAGE, 0x5a));

	memset(p, 0x6b, SZ_2M);
	EXPECT_EQ(-1, first_not(p, SZ_2M, 0x6b));
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_LT(a.fault_pages, b.fault_pages);
	munmap(p, len);
}

/*
 * MADV_COLD, MADV_PAGEOUT and compaction isolate LRU pages to reclaim or
 * move them.  Device pages are on the unevictable list with no rmap that
 * finds their PTEs (kmod/cache.c), so they can be neither swapped nor
 * moved: the data stays.
 */
TEST_F(hakmem, reclaim_and_compaction_keep_data)
{
	size_t i;
	char *p;

	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x2b, SZ_2M);
	/* Failures (EINVAL, EACCES for a user) are fine: the data is the test. */
	madvise(p, SZ_2M, MADV_COLD);
	madvise(p, SZ_2M, MADV_PAGEOUT);
	write_file("/proc/sys/vm/compact_memory", "1");
	for (i = 0; i < SZ_2M; i += PAGE)
		ASSERT_EQ(-1, first_not(p + i, PAGE, 0x2b))
			TH_LOG("page %zu changed", i / PAGE);
	munmap(p, SZ_2M);
}

/*
 * A write fault (after MADV_DONTNEED) gets the zeroed anonymous page core mm
 * allocates for the copy, as an anonymous fault would: the module allocates
 * and zeroes no page of its own just to have it copied.
 */
TEST_F(hakmem, write_fault_gives_anonymous_page)
{
	struct hakmem_stats a, b;
	unsigned long i;
	char *p;

	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, SZ_2M);
	ASSERT_EQ(0, madvise(p, SZ_2M, MADV_DONTNEED));
	ASSERT_EQ(0, get_stats(self->fd, &a));
	for (i = 0; i < SZ_2M; i += PAGE)
		p[i + 1] = 0x21;
	ASSERT_EQ(0, get_stats(self->fd, &b));
	for (i = 0; i < SZ_2M; i += PAGE) {
		EXPECT_EQ(0, p[i]);
		EXPECT_EQ(0x21, p[i + 1]);
		EXPECT_EQ(-1, first_nonzero(p + i + 2, PAGE - 2));
	}
	EXPECT_EQ(a.fault_pages + SZ_2M / PAGE, b.fault_pages);
	EXPECT_EQ(SZ_2M >> 10, vma_kb(p, "Anonymous"));
	munmap(p, SZ_2M);
}

TEST_F(hakmem, partial_munmap)
{
	size_t len = 3 * SZ_2M;
	char *p, *q;
	int i;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < 3; i++)
		memset(p + i * SZ_2M, 0x10 + i, SZ_2M);

	ASSERT_EQ(0, munmap(p + SZ_2M, SZ_2M));
	ASSERT_EQ(0, munmap(p + 5 * PAGE, PAGE));
	EXPECT_EQ(-1, first_not(p, 5 * PAGE, 0x10));
	EXPECT_EQ(-1, first_not(p + 6 * PAGE, SZ_2M - 6 * PAGE, 0x10));
	EXPECT_EQ(-1, first_not(p + 2 * SZ_2M, SZ_2M, 0x12));

	/* A new region may reuse the hole; it must be fresh and zero. */
	q = mmap(p + SZ_2M, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, self->fd, 0);
	ASSERT_EQ(p + SZ_2M, q);
	EXPECT_EQ(-1, first_nonzero(q, SZ_2M));
	EXPECT_EQ(0, munmap(p, len));
}

TEST_F(hakmem, mremap_move)
{
	size_t len = 2 * SZ_2M;
	char *p, *target, *q;

	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x7e, len);
	target = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, target);

	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, target);
	ASSERT_EQ(target, q);
	EXPECT_EQ(-1, first_not(q, len, 0x7e));
	q[0] = 1;

	/* Growing is refused (VM_DONTEXPAND). */
	EXPECT_EQ(MAP_FAILED, mremap(q, len, 2 * len, MREMAP_MAYMOVE));
	EXPECT_EQ(0, munmap(q, len));
}

TEST_F(hakmem, prot_none_then_mprotect)
{
	size_t len = SZ_2M;
	char *p;

	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p, len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(-1, first_nonzero(p, len));
	memset(p, 0x21, len);
	EXPECT_EQ(-1, first_not(p, len, 0x21));
	munmap(p, len);

	p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, first_nonzero(p, len));
	munmap(p, len);
}

TEST_F(hakmem, rejected_arguments)
{
	void *p;
	int wfd;

	errno = 0;
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	errno = 0;
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_TRUE(errno == EINVAL || errno == EPERM);

	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd,
		 SZ_2M);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, SZ_2M + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	p = mmap(NULL, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);

	/* No way to make a region executable later either. */
	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, SZ_2M, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	munmap(p, SZ_2M);

	/* A write-only descriptor cannot be mapped (generic VFS rule). */
	wfd = open(HAKMEM_DEVICE, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, wfd);
	p = hk_map(wfd, SZ_2M);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	close(wfd);
}

/* The differences from anonymous memory documented in kmod/README.md. */
TEST_F(hakmem, documented_differences)
{
	int *p;

	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, madvise(p, SZ_2M, MADV_FREE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, madvise(p, SZ_2M, MADV_WIPEONFORK));
	EXPECT_EQ(EINVAL, errno);
	munmap(p, SZ_2M);
}

/* ioctl()s the VFS handles itself before the driver sees them. */
static int vfs_ioctl_cmd(unsigned int cmd)
{
	switch (cmd) {
	case FIOCLEX: case FIONCLEX: case FIONBIO: case FIOASYNC:
	case FIOQSIZE: case 0xc0045877 /* FIFREEZE */:
	case 0xc0045878 /* FITHAW */: case 1 /* FIBMAP */:
	case 2 /* FIGETBSZ */: case 0xc020660b /* FS_IOC_FIEMAP */:
		return 1;
	}
	return 0;
}

TEST_F_TIMEOUT(hakmem, garbage_ioctls, 120)
{
	static unsigned char buf[3 * 16384] __attribute__((aligned(64)));
	unsigned int seed = (unsigned int)time(NULL);
	struct hakmem_info info;
	int i, ok = 0, errs = 0;

	TH_LOG("seed %u", seed);
	srandom(seed);
	for (i = 0; i < 20000; i++) {
		unsigned int cmd;
		unsigned long arg;
		size_t j;

		switch (i % 4) {
		case 0:		/* anything */
			cmd = (unsigned int)random() ^ ((unsigned int)random() << 16);
			break;
		default:	/* our magic, any nr/dir/size */
			cmd = _IOC(random() & 3, HAKMEM_IOC_MAGIC,
				   random() & ((i & 8) ? 0xff : 3),
				   random() & ((i & 16) ? 0x3fff : 0xff));
			break;
		}
		if (vfs_ioctl_cmd(cmd))
			continue;
		switch (random() % 4) {
		case 0:
			arg = 0;
			break;
		case 1:
			arg = (unsigned long)random() << (random() % 40);
			break;
		default:
			for (j = 0; j < sizeof(buf) / 2; j += 8)
				buf[random() % sizeof(buf)] = random() % 3 ?
							      0 : random();
			arg = (unsigned long)(buf + random() % 16384);
			break;
		}
		if (ioctl(self->fd, cmd, arg) == 0)
			ok++;
		else if (errno == ENOTTY || errno == EINVAL ||
			 errno == EFAULT || errno == E2BIG)
			errs++;
		else
			ASSERT_TRUE(0) TH_LOG("cmd %#x arg %#lx: errno %d",
					      cmd, arg, errno);
	}
	TH_LOG("%d accepted, %d rejected", ok, errs);
	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, HAKMEM_IOC_INFO, &info));
	EXPECT_EQ(HAKMEM_ABI_VERSION, info.abi_version);
}

struct worker {
	int fd;
	unsigned int seed;
	int iterations;
	int failures;
};

static void *map_unmap_worker(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->iterations; i++) {
		size_t len = (1 + rand_r(&w->seed) % 4) * SZ_2M;
		char *p = hk_map(w->fd, len);

		if (p == MAP_FAILED || (uintptr_t)p % SZ_2M) {
			w->failures++;
			continue;
		}
		if (first_nonzero(p, len) != -1)
			w->failures++;
		memset(p, 0xee, len);
		if (rand_r(&w->seed) % 2)
			munmap(p + SZ_2M / 2, SZ_2M / 2);
		munmap(p, len);
	}
	return NULL;
}

TEST_F_TIMEOUT(hakmem, concurrent_threads, 240)
{
	struct worker w[4];
	pthread_t t[4];
	int i;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ .fd = self->fd, .seed = i + 1,
					.iterations = 40 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, map_unmap_worker,
					    &w[i]));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, w[i].failures) TH_LOG("thread %d", i);
	}
}

TEST_F_TIMEOUT(hakmem, concurrent_processes, 240)
{
	pid_t pid[3];
	int i;

	for (i = 0; i < 3; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (pid[i] == 0) {
			struct worker w = { .seed = 100 + i, .iterations = 30 };

			/* Half of them share the parent's file, half not. */
			w.fd = i % 2 ? hk_open() : self->fd;
			if (w.fd < 0)
				_exit(2);
			map_unmap_worker(&w);
			_exit(w.failures ? 1 : 0);
		}
	}
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, child_status(pid[i])) TH_LOG("child %d", i);
}

struct chaos {
	volatile int stop;
	int fd;
};

/* Shrink the pool and change its limits (odd sizes too) in a loop. */
static void *chaos_knobs(void *arg)
{
	static const char *const max[] = { "1", "3", "2", "5", "256" };
	static const char *const low[] = { "0", "8", "64", "1", "8" };
	static const char *const high[] = { "1", "32", "64", "3", "32" };
	struct chaos *c = arg;
	unsigned int i;

	for (i = 0; !c->stop; i++) {
		write_file(PARAM_DIR "pool_max_mb", max[i % 5]);
		write_file(PARAM_DIR "pool_high_mb", high[(i / 2) % 5]);
		write_file(PARAM_DIR "pool_low_mb", low[(i / 3) % 5]);
		if (i % 4 == 0)
			write_file("/proc/sys/vm/drop_caches", "2");
		usleep(5000);
	}
	return NULL;
}

/* Map, check, fork and unmap while the pool is being shrunk and resized. */
TEST_F_TIMEOUT(hakmem, chaos, 180)
{
	long long old_max, old_low, old_high;
	struct worker w[3];
	pthread_t knobs, t[3];
	struct chaos c = { .fd = self->fd };
	char buf[32];
	pid_t pid;
	int i;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	old_max = read_ll(PARAM_DIR "pool_max_mb");
	old_low = read_ll(PARAM_DIR "pool_low_mb");
	old_high = read_ll(PARAM_DIR "pool_high_mb");
	ASSERT_LE(0, old_max);

	ASSERT_EQ(0, pthread_create(&knobs, NULL, chaos_knobs, &c));
	for (i = 0; i < 3; i++) {
		w[i] = (struct worker){ .fd = self->fd, .seed = 7 * i + 3,
					.iterations = 25 };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, map_unmap_worker,
					    &w[i]));
	}
	/* And a child doing the same from another mm. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct worker cw = { .fd = self->fd, .seed = 99,
				     .iterations = 25 };

		map_unmap_worker(&cw);
		_exit(cw.failures ? 1 : 0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	EXPECT_EQ(0, child_status(pid));
	c.stop = 1;
	pthread_join(knobs, NULL);

	snprintf(buf, sizeof(buf), "%lld", old_max);
	write_file(PARAM_DIR "pool_max_mb", buf);
	snprintf(buf, sizeof(buf), "%lld", old_high);
	write_file(PARAM_DIR "pool_high_mb", buf);
	snprintf(buf, sizeof(buf), "%lld", old_low);
	write_file(PARAM_DIR "pool_low_mb", buf);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, w[i].failures) TH_LOG("thread %d", i);
}

/* The idle thread refills the pool, and mmap then takes from it. */
TEST_F_TIMEOUT(hakmem, pool_refill_and_handout, 60)
{
	struct hakmem_info info;
	struct hakmem_stats a, b;
	unsigned long low;
	char *p;

	memset(&info, 0, sizeof(info));
	ASSERT_EQ(0, ioctl(self->fd, HAKMEM_IOC_INFO, &info));
	low = info.pool_low_bytes / PAGE;
	if (!low)
		SKIP(return, "pool disabled (pool_low_mb=0)");
	stay_here();
	ASSERT_EQ(0, wait_pool(self->fd, low, 30000))
		TH_LOG("pool did not refill to the low watermark");

	ASSERT_EQ(0, get_stats(self->fd, &a));
	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_EQ(a.pool_handout_pages + SZ_2M / PAGE, b.pool_handout_pages);
	EXPECT_EQ(-1, first_nonzero(p, SZ_2M));
	munmap(p, SZ_2M);
	EXPECT_LT(0, b.idle_zeroed_bytes);
	TH_LOG("pool %llu pages, handed out %llu, sync %llu, idle zeroed %llu MiB (NT %llu MiB)",
	       (unsigned long long)b.pool_zeroed_pages,
	       (unsigned long long)b.pool_handout_pages,
	       (unsigned long long)b.sync_fill_pages,
	       (unsigned long long)b.idle_zeroed_bytes >> 20,
	       (unsigned long long)b.idle_nt_zeroed_bytes >> 20);
}

/* drop_caches runs every shrinker, ours included. */
TEST_F_TIMEOUT(hakmem, shrinker_releases_pool, 60)
{
	struct hakmem_stats a, b;

	if (geteuid() != 0)
		SKIP(return, "needs root for /proc/sys/vm/drop_caches");
	if (wait_pool(self->fd, 1, 30000))
		SKIP(return, "pool stays empty");
	ASSERT_EQ(0, get_stats(self->fd, &a));
	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "2"));
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_LT(a.shrinker_released_pages, b.shrinker_released_pages);
	TH_LOG("released %llu pages, pool now %llu",
	       (unsigned long long)(b.shrinker_released_pages -
				    a.shrinker_released_pages),
	       (unsigned long long)b.pool_zeroed_pages);
}

/* Lowering pool_max_mb at run time gives the excess back at once. */
TEST_F_TIMEOUT(hakmem, params_resize_pool, 60)
{
	struct hakmem_stats st;
	struct hakmem_info info;
	long long old_max;
	int ret;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	old_max = read_ll(PARAM_DIR "pool_max_mb");
	ASSERT_LT(2, old_max);
	if (wait_pool(self->fd, 2 * SZ_2M / PAGE, 30000))
		SKIP(return, "pool did not fill");

	ASSERT_EQ(0, write_file(PARAM_DIR "pool_max_mb", "2"));
	ret = get_stats(self->fd, &st);
	memset(&info, 0, sizeof(info));
	ret |= ioctl(self->fd, HAKMEM_IOC_INFO, &info);
	{
		char buf[32];

		snprintf(buf, sizeof(buf), "%lld", old_max);
		ASSERT_EQ(0, write_file(PARAM_DIR "pool_max_mb", buf));
	}
	ASSERT_EQ(0, ret);
	/* The limit applies to each node's pool. */
	EXPECT_GE(nr_pools() * SZ_2M / PAGE, st.pool_zeroed_pages);
	EXPECT_EQ(SZ_2M, info.pool_max_bytes);
	EXPECT_GE(SZ_2M, info.pool_high_bytes);
	EXPECT_EQ(0, wait_pool(self->fd, 2 * SZ_2M / PAGE, 30000));
}

/* Create the cgroup v2 memory cgroup @cg; NULL, or why it cannot be. */
static const char *memcg_create(const char *cg)
{
	if (geteuid() != 0)
		return "needs root";
	if (access("/sys/fs/cgroup/cgroup.subtree_control", W_OK) ||
	    write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
		return "no cgroup v2 memory controller";
	if (mkdir(cg, 0755) && errno != EEXIST)
		return "cannot create it";
	return NULL;
}

/* Move @pid into the cgroup @cg. */
static int memcg_enter(const char *cg, pid_t pid)
{
	char path[256], pidbuf[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
	return write_file(path, pidbuf);
}

/* The value of @key in the cgroup @cg's file @file. */
static long long memcg_key(const char *cg, const char *file, const char *key)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return key_value(path, key, ' ');
}

static long long memcg_current(const char *cg)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	return read_ll(path);
}

/*
 * How far memory.current may run ahead of what was charged: the kernel
 * takes charges from a cgroup in batches of 64 pages (MEMCG_CHARGE_BATCH)
 * and keeps the rest in a per-CPU stock, so a reading taken before a
 * charge may already include it.
 */
static long long memcg_stock_slack(void)
{
	return 64LL * (long long)PAGE * sysconf(_SC_NPROCESSORS_CONF);
}

/*
 * A task in a memory cgroup gets pool pages too, and they are charged to
 * its cgroup as user memory (also under cgroup.memory=nokmem) when they are
 * mapped, before they are touched; munmap uncharges them.  They are on the
 * unevictable list, not counted as kernel memory or as page cache.
 */
TEST_F_TIMEOUT(hakmem, memcg_charges_pool_pages, 60)
{
	const char *cg = "/sys/fs/cgroup/hakmem-test", *why;
	const size_t len = 8 * SZ_2M;
	struct hakmem_stats a, b;
	long long before, mapped, after, unevictable, kernel, handed;
	int ready[2], go[2];
	char c = 0;
	pid_t pid;

	why = memcg_create(cg);
	if (why)
		SKIP(return, "%s: %s", cg, why);
	stay_here();
	ASSERT_EQ(0, wait_pool(self->fd, len / PAGE, 30000))
		TH_LOG("the pool did not fill");

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p;

		if (read(go[0], &c, 1) != 1)
			_exit(1);
		p = hk_map(self->fd, len);
		if (p == MAP_FAILED)
			_exit(2);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		munmap(p, len);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, memcg_enter(cg, pid));

	before = memcg_current(cg);
	unevictable = memcg_key(cg, "memory.stat", "unevictable");
	kernel = memcg_key(cg, "memory.stat", "kernel");
	ASSERT_EQ(0, get_stats(self->fd, &a));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	mapped = memcg_current(cg);
	unevictable = memcg_key(cg, "memory.stat", "unevictable") - unevictable;
	if (kernel >= 0)
		kernel = memcg_key(cg, "memory.stat", "kernel") - kernel;
	ASSERT_EQ(0, get_stats(self->fd, &b));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	after = memcg_current(cg);
	ASSERT_EQ(1, write(go[1], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	rmdir(cg);

	handed = (b.pool_handout_pages - a.pool_handout_pages) * PAGE;
	TH_LOG("kmem accounting %s; %lld kB from the pool; memory.current: before %lld, mapped %lld, after %lld; unevictable +%lld, kernel +%lld",
	       memcg_kmem() ? "on" : "off (nokmem)", handed >> 10,
	       before, mapped, after, unevictable, kernel);
	EXPECT_LE((long long)len / 2, handed);
	EXPECT_LE(before + handed - memcg_stock_slack(), mapped);
	EXPECT_LE(handed * 3 / 4, unevictable);
	EXPECT_GT((long long)len / 4, kernel);
	EXPECT_GE(before + (long long)len / 4, after);
	close_pipes(ready, go);
}

/*
 * A task never holds more device memory than its cgroup's memory.max.  With
 * more in the pool than the limit, a child in a 64 MiB cgroup maps and
 * touches 8 MiB regions (reporting each one it has touched) until the
 * cgroup's OOM killer ends it, as it would with anonymous memory.
 */
TEST_F_TIMEOUT(hakmem, memcg_limit_holds, 180)
{
	const char *cg = "/sys/fs/cgroup/hakmem-limit", *why;
	const size_t limit = 64 << 20, chunk = 4 * SZ_2M, total = 256 << 20;
	long long old_high, handed, got = 0, peak, kills;
	struct hakmem_stats a, b;
	char path[256], buf[32];
	int ready[2], go[2], status;
	size_t done;
	char c = 0;
	pid_t pid;

	why = memcg_create(cg);
	if (why)
		SKIP(return, "%s: %s", cg, why);
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	ASSERT_EQ(0, write_file(path, "64M"));
	snprintf(path, sizeof(path), "%s/memory.swap.max", cg);
	write_file(path, "0");

	/* Fill the pool beyond the limit, so that the charge must stop it. */
	stay_here();
	old_high = read_ll(PARAM_DIR "pool_high_mb");
	ASSERT_EQ(0, write_file(PARAM_DIR "pool_high_mb", "96"));
	if (wait_pool(self->fd, (limit + 16 * SZ_2M) / PAGE, 60000))
		TH_LOG("the pool holds only %lld kB",
		       pool_pages_here(self->fd, 0) * (long long)(PAGE >> 10));

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t i;
		char *p;

		close(ready[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		for (done = 0; done < total; done += chunk) {
			p = hk_map(self->fd, chunk);
			if (p == MAP_FAILED)
				_exit(2);
			for (i = 0; i < chunk; i += PAGE)
				p[i] = 1;
			if (write(ready[1], &done, sizeof(done)) != sizeof(done))
				_exit(1);
		}
		_exit(0);
	}
	close(ready[1]);
	ASSERT_EQ(0, memcg_enter(cg, pid));
	ASSERT_EQ(0, get_stats(self->fd, &a));
	ASSERT_EQ(1, write(go[1], &c, 1));
	while (read(ready[0], &done, sizeof(done)) == sizeof(done))
		got = done + chunk;
	status = child_status(pid);
	ASSERT_EQ(0, get_stats(self->fd, &b));

	snprintf(buf, sizeof(buf), "%lld", old_high);
	write_file(PARAM_DIR "pool_high_mb", buf);
	snprintf(path, sizeof(path), "%s/memory.peak", cg);
	peak = read_ll(path);
	kills = memcg_key(cg, "memory.events", "oom_kill");
	rmdir(cg);

	handed = (b.pool_handout_pages - a.pool_handout_pages) * PAGE;
	TH_LOG("kmem accounting %s; the child touched %lld MiB (%lld MiB of it from the pool) and ended with status %d; memory.peak %lld MiB, %lld OOM kills",
	       memcg_kmem() ? "on" : "off (nokmem)", got >> 20, handed >> 20,
	       status, peak >> 20, kills);
	EXPECT_GE((long long)limit, got);
	EXPECT_EQ(128 + SIGKILL, status);
	EXPECT_LE(1, kills);
	EXPECT_LT(0, handed);
	close(ready[0]);
	close(go[0]);
	close(go[1]);
}

/*
 * /dev/hakmem is for every user, within limits: a user who may not lock
 * memory gets no more device pages than RLIMIT_MEMLOCK allows (the rest of
 * a region is faulted in as anonymous memory, zero all the same), and gets
 * them again once they are gone, here in a second process after the first
 * exited.  Members of the device's group are exempt.
 */
TEST_F_TIMEOUT(hakmem, unprivileged_user, 180)
{
	const size_t len = 8 * SZ_2M, limit = 2 * SZ_2M;
	struct stat st;
	int member, round;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, stat(HAKMEM_DEVICE, &st));
	EXPECT_EQ(0666, st.st_mode & 0777);
	stay_here();
	for (member = 0; member <= 1; member++) {
		for (round = 0; round < 2; round++) {
			long device = -1;
			int report[2];
			pid_t pid;

			ASSERT_EQ(0, wait_pool(self->fd, len / PAGE, 30000));
			ASSERT_EQ(0, pipe(report));
			pid = fork();
			ASSERT_LE(0, pid);
			if (pid == 0) {
				struct rlimit rl = { limit, limit };
				gid_t group = st.st_gid;
				size_t off;
				char *p;
				int fd;

				/* Dumpable again, to read its own pagemap. */
				if (setgroups(member, &group) || setgid(65534) ||
				    setuid(65534) || setrlimit(RLIMIT_MEMLOCK, &rl) ||
				    prctl(PR_SET_DUMPABLE, 1))
					_exit(3);
				fd = hk_open();
				if (fd < 0)
					_exit(1);
				p = hk_map(fd, len);
				if (p == MAP_FAILED || first_nonzero(p, len) != -1)
					_exit(2);
				memset(p, 0x71, len);
				device = 0;
				for (off = 0; off < len; off += PAGE)
					device += hk_page_is_file(p + off) == 1;
				_exit(write(report[1], &device, sizeof(device)) ==
				      sizeof(device) ? 0 : 4);
			}
			EXPECT_EQ(0, child_status(pid));
			EXPECT_EQ(sizeof(device), read(report[0], &device,
						       sizeof(device)));
			close(report[0]);
			close(report[1]);
			TH_LOG("%s, round %d: %ld of %zu pages from the device",
			       member ? "group member" : "other user", round,
			       device, len / PAGE);
			if (member) {
				EXPECT_LT((long)(limit / PAGE), device);
			} else {
				EXPECT_GE((long)(limit / PAGE), device);
				EXPECT_LE((long)(limit / PAGE / 2), device);
			}
		}
	}
}

/* O_DIRECT I/O straight into and out of a region (GUP pins our pages). */
TEST_F_TIMEOUT(hakmem, o_direct_block_device, 60)
{
	const char *img = "/tmp/hakmem-loop.img";
	struct loop_config cfg;
	char dev[64], *p;
	int ctl, back, loop, bfd, n;
	unsigned char c;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		SKIP(return, "no loop device support");
	back = open(img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, back);
	p = hk_map(self->fd, 2 * SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x9d, 2 * SZ_2M);
	ASSERT_EQ((ssize_t)(2 * SZ_2M), write(back, p, 2 * SZ_2M));
	ASSERT_EQ(0, munmap(p, 2 * SZ_2M));

	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	ASSERT_LE(0, n);
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	loop = open(dev, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, loop) TH_LOG("%s: %s", dev, strerror(errno));
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = back;
	ASSERT_EQ(0, ioctl(loop, LOOP_CONFIGURE, &cfg));
	bfd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, bfd);

	/* Read into a region nobody has touched yet ... */
	p = hk_map(self->fd, 2 * SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ((ssize_t)SZ_2M, pread(bfd, p, SZ_2M, 0));
	EXPECT_EQ(-1, first_not(p, SZ_2M, 0x9d));
	EXPECT_EQ(-1, first_nonzero(p + SZ_2M, SZ_2M));
	/* ... and write out of it. */
	memset(p + SZ_2M, 0x4e, SZ_2M);
	ASSERT_EQ((ssize_t)SZ_2M, pwrite(bfd, p + SZ_2M, SZ_2M, 0));
	ASSERT_EQ(0, fsync(bfd));
	ASSERT_EQ(1, pread(back, &c, 1, SZ_2M - 1));
	EXPECT_EQ(0x4e, c);
	/* After fork the child reads into its own copy only. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pread(bfd, p, SZ_2M, 0) == (ssize_t)SZ_2M &&
		      first_not(p, SZ_2M, 0x4e) == -1 ? 0 : 1);
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(-1, first_not(p, SZ_2M, 0x9d));
	ASSERT_EQ((ssize_t)SZ_2M, pread(bfd, p, SZ_2M, 0));
	EXPECT_EQ(-1, first_not(p, 2 * SZ_2M, 0x4e));

	munmap(p, 2 * SZ_2M);
	close(bfd);
	EXPECT_EQ(0, ioctl(loop, LOOP_CLR_FD, 0));
	close(loop);
	close(ctl);
	close(back);
	unlink(img);
}

/* A "Key:  N kB" line of /proc/meminfo, /proc/self/status, smaps_rollup. */
static long long proc_kb(const char *path, const char *key)
{
	return key_value(path, key, ':');
}

static long long meminfo_kb(const char *key)
{
	return proc_kb("/proc/meminfo", key);
}

/*
 * Real memory pressure must take the pool back rather than OOM-kill: with a
 * 128 MiB pool, a child populates more anonymous memory than MemAvailable
 * (which does not count the pool); that only fits if reclaim runs our
 * shrinker.
 */
TEST_F_TIMEOUT(hakmem, pressure_reclaims_pool, 180)
{
	struct hakmem_stats a, b;
	long long avail, want, old_low, old_high;
	char buf[32];
	int filled, status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (meminfo_kb("MemTotal") > 4LL << 20)
		SKIP(return, "meant for small test VMs (<= 4 GiB)");
	old_low = read_ll(PARAM_DIR "pool_low_mb");
	old_high = read_ll(PARAM_DIR "pool_high_mb");
	ASSERT_LE(0, old_low);
	ASSERT_LE(0, old_high);
	ASSERT_EQ(0, write_file(PARAM_DIR "pool_high_mb", "128"));
	ASSERT_EQ(0, write_file(PARAM_DIR "pool_low_mb", "128"));
	filled = wait_pool(self->fd, (96 << 20) / PAGE, 90000);

	status = -1;
	/*
	 * MemAvailable is an estimate: page cache it counts only in part, and
	 * the slack above the min watermark, covered an overshoot of half the
	 * pool once without reclaim reaching the pool, so overshoot by three
	 * quarters.  (Dropping the page cache instead would make the later
	 * tests fault on code pages that fault-around no longer finds.)
	 */
	if (!filled && !get_stats(self->fd, &a)) {
		avail = meminfo_kb("MemAvailable") * 1024;
		want = avail + (long long)a.pool_zeroed_pages * PAGE * 3 / 4;
		TH_LOG("MemAvailable %lld MiB, pool %llu MiB, populating %lld MiB",
		       avail >> 20,
		       (unsigned long long)a.pool_zeroed_pages * PAGE >> 20,
		       want >> 20);
		/* No refill while the child holds the memory. */
		write_file(PARAM_DIR "pool_low_mb", "0");
		pid = fork();
		if (pid == 0) {
			char *m = mmap(NULL, want, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS |
				       MAP_POPULATE, -1, 0);

			_exit(m == MAP_FAILED ? 1 : 0);
		}
		status = pid > 0 ? child_status(pid) : -1;
	}

	snprintf(buf, sizeof(buf), "%lld", old_high);
	write_file(PARAM_DIR "pool_high_mb", buf);
	snprintf(buf, sizeof(buf), "%lld", old_low);
	write_file(PARAM_DIR "pool_low_mb", buf);

	ASSERT_EQ(0, filled) TH_LOG("pool did not fill to 96 MiB");
	ASSERT_EQ(0, status);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	EXPECT_LT(a.shrinker_released_pages, b.shrinker_released_pages);
	TH_LOG("shrinker released %llu pages",
	       (unsigned long long)(b.shrinker_released_pages -
				    a.shrinker_released_pages));
}

/*
 * Regions are 2 MiB aligned (the ABI promises it; libhakmem finds a
 * SuperSlab's header by masking), so MAP_FIXED at an unaligned address is
 * refused -- before the kernel unmaps what was there.
 */
TEST_F(hakmem, map_fixed_unaligned)
{
	char *res, *at, *p;

	res = mmap(NULL, 3 * SZ_2M, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	at = (char *)(((uintptr_t)res + SZ_2M - 1) & ~(SZ_2M - 1));

	errno = 0;
	p = mmap(at + PAGE, SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* The reservation under it is still there. */
	EXPECT_EQ(0, mprotect(at + PAGE, SZ_2M, PROT_NONE));

	p = mmap(at, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
		 self->fd, 0);
	ASSERT_EQ(at, p);
	EXPECT_EQ(-1, first_nonzero(p, SZ_2M));
	munmap(res, 3 * SZ_2M);
}

/* mremap() may move a region only to a 2 MiB-aligned address. */
TEST_F(hakmem, mremap_unaligned)
{
	char *p, *res, *at, *q;

	p = hk_map(self->fd, SZ_2M);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, SZ_2M);
	res = mmap(NULL, 3 * SZ_2M, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	at = (char *)(((uintptr_t)res + SZ_2M - 1) & ~(SZ_2M - 1));

	errno = 0;
	q = mremap(p, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED, at + PAGE);
	ASSERT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	/* Nothing was lost: the region is where it was, with its data. */
	EXPECT_EQ(-1, first_not(p, SZ_2M, 0x5a));

	q = mremap(p, SZ_2M, SZ_2M, MREMAP_MAYMOVE | MREMAP_FIXED, at);
	ASSERT_EQ(at, q);
	EXPECT_EQ(-1, first_not(q, SZ_2M, 0x5a));
	munmap(res, 3 * SZ_2M);
}

/*
 * A 32-bit system call from this 64-bit process (int $0x80), as a 32-bit
 * program makes it: the compat mmap2 path and the compat address space
 * below 4 GiB.  Returns -errno, or the 32-bit result (an address may be
 * above 2 GiB: only -4095..-1 are errors).
 */
static long syscall32(long nr, long a, long b, long c, long d, long e,
		      long f)
{
	unsigned int ret;

	/* Step over the red zone: the asm pushes %rbp (the sixth argument). */
	asm volatile("sub $128, %%rsp\n\t"
		     "push %%rbp\n\t"
		     "mov %k[f], %%ebp\n\t"
		     "int $0x80\n\t"
		     "pop %%rbp\n\t"
		     "add $128, %%rsp"
		     : "=a" (ret)
		     : "a" (nr), "b" (a), "c" (b), "d" (c), "S" (d), "D" (e),
		       [f] "r" (f)
		     : "memory", "cc");
	return ret > -4096U ? (long)(int)ret : (long)ret;
}

#define NR32_MUNMAP	91
#define NR32_MMAP2	192

static long mmap32(int fd, size_t len, int prot, int flags, long pgoff)
{
	return syscall32(NR32_MMAP2, 0, len, prot, flags, fd, pgoff);
}

/* The compat mmap2() takes its offset in pages: non-zero is -EINVAL too. */
TEST_F(hakmem, mmap2_offset_compat)
{
	long pgoffs[] = { 1, SZ_2M / PAGE, 0x7ffff };
	unsigned int i;
	long r;

	r = mmap32(self->fd, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE, 0);
	if (r == -ENOSYS)
		SKIP(return, "no 32-bit system calls (ia32_emulation=0)");
	ASSERT_LT(0, r) TH_LOG("32-bit mmap2 failed: %ld", r);
	EXPECT_EQ(0, r & (SZ_2M - 1));
	EXPECT_EQ(-1, first_nonzero((void *)(uintptr_t)(unsigned int)r, SZ_2M));
	EXPECT_EQ(0, syscall32(NR32_MUNMAP, r, SZ_2M, 0, 0, 0, 0));

	for (i = 0; i < sizeof(pgoffs) / sizeof(pgoffs[0]); i++) {
		r = mmap32(self->fd, SZ_2M, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE, pgoffs[i]);
		EXPECT_EQ(-EINVAL, r) TH_LOG("pgoff %ld", pgoffs[i]);
		if (r > 0)
			syscall32(NR32_MUNMAP, r, SZ_2M, 0, 0, 0, 0);
	}
}

/*
 * Placement must not over-ask: when the only free range of a (32-bit)
 * address space is one aligned 2 MiB hole, a 2 MiB region still fits.  The
 * child fills everything below 4 GiB around a hole it made with a first
 * region, then unmaps that region and maps another.
 */
TEST_F_TIMEOUT(hakmem, placement_exact_hole, 120)
{
	pid_t pid;

	if (mmap32(-1, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, 0) ==
	    -ENOSYS)
		SKIP(return, "no 32-bit system calls (ia32_emulation=0)");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		const int anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		size_t sizes[] = { 64 * SZ_2M, SZ_2M, PAGE };
		unsigned int i, maps = 0;
		long hole, r;

		hole = mmap32(self->fd, SZ_2M, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE, 0);
		if (hole <= 0 || (hole & (SZ_2M - 1)))
			_exit(101);
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			while (mmap32(-1, sizes[i], PROT_NONE, anon, 0) > 0)
				if (++maps > 200000)
					_exit(102);
		}
		if (syscall32(NR32_MUNMAP, hole, SZ_2M, 0, 0, 0, 0))
			_exit(103);
		r = mmap32(self->fd, SZ_2M, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE, 0);
		/* A busy address space exits with the error code. */
		_exit(r == hole ? 0 : r < 0 ? (int)-r : 104);
	}
	EXPECT_EQ(0, child_status(pid)) TH_LOG("exit code: errno, or 101+ for a step");
}

/* Consistent reads of the three pool limits while they change. */
static void *param_writer(void *arg)
{
	static const char *const names[] = {
		PARAM_DIR "pool_low_mb", PARAM_DIR "pool_high_mb",
		PARAM_DIR "pool_max_mb",
	};
	volatile int *stop = arg;
	unsigned int seed = 1;
	char buf[16];

	while (!*stop) {
		snprintf(buf, sizeof(buf), "%d", rand_r(&seed) % 64);
		write_file(names[rand_r(&seed) % 3], buf);
	}
	return NULL;
}

TEST_F_TIMEOUT(hakmem, info_consistent_during_param_changes, 60)
{
	long long old[3];
	struct hakmem_info info;
	struct timespec start, now;
	unsigned long reads = 0, torn = 0;
	volatile int stop = 0;
	pthread_t writer;
	char buf[32];

	if (geteuid() != 0)
		SKIP(return, "needs root");
	old[0] = read_ll(PARAM_DIR "pool_low_mb");
	old[1] = read_ll(PARAM_DIR "pool_high_mb");
	old[2] = read_ll(PARAM_DIR "pool_max_mb");
	ASSERT_EQ(0, pthread_create(&writer, NULL, param_writer, (void *)&stop));
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		memset(&info, 0, sizeof(info));
		if (ioctl(self->fd, HAKMEM_IOC_INFO, &info))
			break;
		reads++;
		if (info.pool_low_bytes > info.pool_high_bytes ||
		    info.pool_high_bytes > info.pool_max_bytes)
			torn++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 5);
	stop = 1;
	pthread_join(writer, NULL);
	snprintf(buf, sizeof(buf), "%lld", old[2]);
	write_file(PARAM_DIR "pool_max_mb", buf);
	snprintf(buf, sizeof(buf), "%lld", old[1]);
	write_file(PARAM_DIR "pool_high_mb", buf);
	snprintf(buf, sizeof(buf), "%lld", old[0]);
	write_file(PARAM_DIR "pool_low_mb", buf);

	TH_LOG("%lu INFO reads, %lu torn", reads, torn);
	EXPECT_LT(1000, reads);
	EXPECT_EQ(0, torn);
}

/*
 * The pool limits are bounded by the machine's memory; a bad write changes
 * nothing.
 */
TEST_F(hakmem, pool_limits_bounded)
{
	static const char *const names[] = {
		PARAM_DIR "pool_low_mb", PARAM_DIR "pool_high_mb",
		PARAM_DIR "pool_max_mb",
	};
	long long ram_mb = meminfo_kb("MemTotal") >> 10;
	char big[32];
	unsigned int i;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	snprintf(big, sizeof(big), "%lld", 2 * ram_mb + 64);
	for (i = 0; i < 3; i++) {
		long long old = read_ll(names[i]);

		EXPECT_EQ(-1, write_file(names[i], "4294967295"));
		EXPECT_EQ(-1, write_file(names[i], big));
		EXPECT_EQ(old, read_ll(names[i])) TH_LOG("%s", names[i]);
	}
}

/*
 * shrink_backoff_ms is bounded, and a change applies to a back-off already
 * under way: after a shrink with a ten-minute back-off, setting it to one
 * second lets the pool refill within seconds.
 */
TEST_F_TIMEOUT(hakmem, backoff_follows_param_changes, 60)
{
	long long old = read_ll(PARAM_DIR "shrink_backoff_ms");
	char buf[32];
	int bad, refilled;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_LE(0, old);
	bad = write_file(PARAM_DIR "shrink_backoff_ms", "4294967295");
	ASSERT_EQ(0, write_file(PARAM_DIR "shrink_backoff_ms", "600000"));
	if (wait_pool(self->fd, 1, 30000))
		SKIP(return, "pool stays empty");
	ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "2"));
	ASSERT_EQ(0, write_file(PARAM_DIR "shrink_backoff_ms", "1000"));
	refilled = wait_pool(self->fd, 1, 10000);
	snprintf(buf, sizeof(buf), "%lld", old);
	write_file(PARAM_DIR "shrink_backoff_ms", buf);

	EXPECT_EQ(-1, bad) TH_LOG("a 49-day back-off was accepted");
	EXPECT_EQ(0, refilled) TH_LOG("the old back-off still held");
}

/*
 * Pages faulted in are charged to the memory cgroup of the region's owner,
 * also when another task causes the fault, as with anonymous memory: here
 * the parent (root cgroup) writes a child's not yet populated region (made
 * writable after mmap, so the pool left it empty) with process_vm_writev().
 */
TEST_F_TIMEOUT(hakmem, fault_charges_owner, 60)
{
	const char *cg = "/sys/fs/cgroup/hakmem-owner", *why;
	const size_t len = 16 * SZ_2M;
	long long before, after;
	struct iovec local, remote;
	char c = 0;
	int ready[2], done[2];
	char *p, *buf;
	pid_t pid;

	why = memcg_create(cg);
	if (why)
		SKIP(return, "%s: %s", cg, why);
	buf = malloc(len);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (read(done[0], &c, 1) != 1)
			_exit(1);
		p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, self->fd, 0);
		if (p == MAP_FAILED || mprotect(p, len, PROT_READ | PROT_WRITE))
			_exit(2);
		if (write(ready[1], &p, sizeof(p)) != sizeof(p) ||
		    read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, memcg_enter(cg, pid));
	ASSERT_EQ(1, write(done[1], &c, 1));
	ASSERT_EQ(sizeof(p), read(ready[0], &p, sizeof(p)));

	before = memcg_current(cg);
	memset(buf, 0x5e, len);
	local.iov_base = buf;
	local.iov_len = len;
	remote.iov_base = p;
	remote.iov_len = len;
	EXPECT_EQ((ssize_t)len, process_vm_writev(pid, &local, 1, &remote, 1, 0));
	after = memcg_current(cg);
	ASSERT_EQ(1, write(done[1], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	rmdir(cg);
	free(buf);

	TH_LOG("owner's memory.current: %lld before, %lld after the writes",
	       before, after);
	EXPECT_LE(before + (long long)len - memcg_stock_slack(), after);
	close_pipes(ready, done);
}

/*
 * Device memory counts in the task's RSS (and so for the OOM killer) as
 * soon as it is mapped, not only after 64 page faults (6.1 caches RSS
 * updates per task, and a block from the pool never faults); the rest of
 * a region counts once it is touched.
 */
TEST_F_TIMEOUT(hakmem, rss_counts_device_pages, 60)
{
	const size_t len = 128 * SZ_2M;
	struct hakmem_stats a, b;
	long long rss, smaps, pooled;
	size_t off;
	char *p;

	stay_here();
	ASSERT_EQ(0, wait_pool(self->fd, 4 * SZ_2M / PAGE, 30000))
		TH_LOG("the pool did not refill");
	ASSERT_EQ(0, get_stats(self->fd, &a));
	p = hk_map(self->fd, len);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	rss = proc_kb("/proc/self/status", "VmRSS");
	smaps = proc_kb("/proc/self/smaps_rollup", "Rss");
	pooled = (b.pool_handout_pages - a.pool_handout_pages) * (PAGE >> 10);
	TH_LOG("mapped: %lld kB from the pool, VmRSS %lld kB, smaps Rss %lld kB",
	       pooled, rss, smaps);
	EXPECT_LE(4 * SZ_2M >> 10, pooled);
	EXPECT_LE(pooled, smaps);
	EXPECT_LE(smaps * 99 / 100, rss);
	EXPECT_LE(rss, smaps * 101 / 100);

	for (off = 0; off < len; off += PAGE)
		p[off] = 1;
	rss = proc_kb("/proc/self/status", "VmRSS");
	smaps = proc_kb("/proc/self/smaps_rollup", "Rss");
	TH_LOG("touched: VmRSS %lld kB, smaps Rss %lld kB", rss, smaps);
	EXPECT_LE((long long)(len >> 10), smaps);
	EXPECT_LE(smaps * 99 / 100, rss);
	EXPECT_LE(rss, smaps * 101 / 100);
	munmap(p, len);
}

/*
 * The OOM killer ranks tasks by RSS: a task holding 256 MiB of device memory
 * (touched: the pool holds less) must rank above one holding 128 MiB of
 * anonymous memory.
 */
TEST_F_TIMEOUT(hakmem, oom_score_counts_device_pages, 60)
{
	int ready[2], done[2];
	pid_t hog, anon;
	long long score_hog, score_anon;
	char path[64], c = 0;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	hog = fork();
	ASSERT_LE(0, hog);
	if (hog == 0) {
		char *p = hk_map(self->fd, 128 * SZ_2M);
		size_t off;

		if (p == MAP_FAILED)
			_exit(1);
		/* What the pool did not supply is faulted in on first touch. */
		for (off = 0; off < 128 * SZ_2M; off += PAGE)
			p[off] = 1;
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(read(done[0], &c, 1) == 1 ? 0 : 1);
	}
	anon = fork();
	ASSERT_LE(0, anon);
	if (anon == 0) {
		char *p = mmap(NULL, 64 * SZ_2M, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
			       -1, 0);

		if (p == MAP_FAILED || write(ready[1], &c, 1) != 1)
			_exit(1);
		_exit(read(done[0], &c, 1) == 1 ? 0 : 1);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	snprintf(path, sizeof(path), "/proc/%d/oom_score", hog);
	score_hog = read_ll(path);
	snprintf(path, sizeof(path), "/proc/%d/oom_score", anon);
	score_anon = read_ll(path);
	ASSERT_EQ(2, write(done[1], "xx", 2));
	EXPECT_EQ(0, child_status(hog));
	EXPECT_EQ(0, child_status(anon));
	close_pipes(ready, done);

	TH_LOG("oom_score: 256 MiB hakmem %lld, 128 MiB anonymous %lld",
	       score_hog, score_anon);
	EXPECT_LT(score_anon, score_hog);
}

/* True if the page at @p holds @c in its first byte and zeroes after it. */
static int first_page_ok(const char *p, char c)
{
	return p[0] == c && first_nonzero(p + 1, PAGE - 1) == -1;
}

/* A sibling thread that needs the mmap lock over and over. */
struct sibling {
	volatile int stop;
	volatile int measuring;
	volatile unsigned long warmup;	/* operations before measuring */
	unsigned long ops;		/* operations while measuring */
	double worst;			/* the slowest of those, seconds */
	double worst_fault;		/* the slowest fault alone, seconds */
};

/*
 * Map a fresh anonymous page, fault it in and unmap it.  mmap() and munmap()
 * take the mmap lock for writing; the first fault of a VMA takes it for
 * reading even where faults use per-VMA locks (6.4 on: a VMA without an
 * anon_vma falls back to the mmap lock).
 */
static void *sibling_loop(void *arg)
{
	struct sibling *s = arg;
	double t0, t1, t2;
	char *q;

	while (!s->stop) {
		t0 = now_sec();
		q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (q == MAP_FAILED)
			break;
		t1 = now_sec();
		*(volatile char *)q = 1;
		t2 = now_sec();
		munmap(q, PAGE);
		t2 -= t1;
		t1 = now_sec() - t0;
		if (!s->measuring) {
			s->warmup++;
			continue;
		}
		s->ops++;
		if (t1 > s->worst)
			s->worst = t1;
		if (t2 > s->worst_fault)
			s->worst_fault = t2;
	}
	return NULL;
}

/*
 * A big mmap() with nothing in the pool must not stall the other threads of
 * the process while its memory is allocated and zeroed.  The pool is
 * emptied (pool_max_mb=0), and the region is mapped and then written once
 * per page, while a sibling thread keeps taking the mmap lock.  Wherever
 * the allocation and zeroing happen, in mmap() or in the faults after it,
 * the sibling's slowest operation must be a small part of their total: a
 * fill under the write-locked mmap lock stalls it for all of it.  The
 * memory must then read as zero and stay private across fork.
 */
TEST_F_TIMEOUT(hakmem, big_mmap_does_not_stall_siblings, 180)
{
	static const char *const names[] = {
		PARAM_DIR "pool_low_mb", PARAM_DIR "pool_high_mb",
		PARAM_DIR "pool_max_mb",
	};
	struct sibling s = { 0 };
	struct hakmem_stats a, b;
	long long old[3], avail;
	double t0, t1, t2;
	size_t len, off, i, bad;
	int go[2], done[2];
	pthread_t t;
	char c = 0, buf[32], *p;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	avail = meminfo_kb("MemAvailable") << 10;
	len = (size_t)(avail / 2 < 512LL << 20 ? avail / 2 : 512LL << 20);
	len &= ~(SZ_2M - 1);
	if (len < 128UL << 20)
		SKIP(return, "MemAvailable is only %lld MiB", avail >> 20);
	for (i = 0; i < 3; i++) {
		old[i] = read_ll(names[i]);
		ASSERT_LE(0, old[i]);
	}
	/* An empty pool: every block of the region is a pool miss. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, write_file(names[i], "0"));

	ASSERT_EQ(0, pthread_create(&t, NULL, sibling_loop, &s));
	while (s.warmup < 100)
		usleep(1000);
	ASSERT_EQ(0, get_stats(self->fd, &a));
	s.measuring = 1;
	t0 = now_sec();
	p = hk_map(self->fd, len);
	t1 = now_sec();
	if (p != MAP_FAILED)
		for (off = 0; off < len; off += PAGE)
			p[off] = 1;
	t2 = now_sec();
	s.measuring = 0;
	s.stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ(0, get_stats(self->fd, &b));
	for (i = 3; i-- > 0;) {
		snprintf(buf, sizeof(buf), "%lld", old[i]);
		write_file(names[i], buf);
	}

	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap %zu MiB: %s", len >> 20,
					strerror(errno));
	TH_LOG("%zu MiB, pool empty: mmap %.1f ms, then the first writes %.1f ms; sibling: %lu operations, slowest %.2f ms (fault alone %.2f ms)",
	       len >> 20, (t1 - t0) * 1e3, (t2 - t1) * 1e3, s.ops,
	       s.worst * 1e3, s.worst_fault * 1e3);
	EXPECT_EQ(a.pool_handout_pages, b.pool_handout_pages);
	EXPECT_LT(0, s.ops);
	EXPECT_LT(s.worst * 8, t2 - t0)
		TH_LOG("the sibling stalled for %.0f%% of the fill",
		       100 * s.worst / (t2 - t0));

	bad = 0;
	for (off = 0; off < len; off += PAGE)
		bad += !first_page_ok(p + off, 1);
	EXPECT_EQ(0, bad) TH_LOG("pages that do not read as one byte written on zeroes");

	/*
	 * Private across fork, both ways: the parent writes page 32 of every
	 * 64, the child page 0, and neither sees the other's writes.
	 */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		for (off = 0; off < len; off += 64 * PAGE) {
			if (!first_page_ok(p + off, 1) ||
			    !first_page_ok(p + off + 32 * PAGE, 1))
				_exit(1);
			memset(p + off, 0x22, PAGE);
		}
		if (write(done[1], &c, 1) != 1)
			_exit(3);
		for (off = 0; off < len; off += 64 * PAGE)
			if (first_not(p + off, PAGE, 0x22) != -1)
				_exit(2);
		_exit(0);
	}
	for (off = 0; off < len; off += 64 * PAGE)
		memset(p + off + 32 * PAGE, 0x33, PAGE);
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(1, read(done[0], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	bad = 0;
	for (off = 0; off < len; off += 64 * PAGE)
		bad += !first_page_ok(p + off, 1) ||
		       first_not(p + off + 32 * PAGE, PAGE, 0x33) != -1;
	EXPECT_EQ(0, bad) TH_LOG("pages changed by the other process");
	munmap(p, len);
	close_pipes(go, done);
}

TEST_HARNESS_MAIN
