// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the memory accounting of /dev/hakmem (kmod/cache.c): the
 * LRU lists and MemAvailable tell the truth about device pages, memory
 * comes back after munmap, purge and exit, and purging at a memory cgroup's
 * limit does not end in an OOM kill.
 *
 * Every test runs the same scenario on anonymous memory and on device
 * memory and expects the same outcome.  Run as root in the test VM (memory
 * cgroups, module parameters); HK_TEST=<name>[,...] runs only those tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
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

#define MIB		(1LL << 20)

/* A /proc/meminfo figure, in bytes, or -1. */
static long long meminfo(const char *key)
{
	long long kb = key_value("/proc/meminfo", key, ':');

	return kb < 0 ? -1 : kb << 10;
}

/* The file LRU lists: what reclaim may take back from the page cache. */
static long long file_lru(void)
{
	return meminfo("Active(file)") + meminfo("Inactive(file)");
}

static void touch(char *p, size_t len, char c)
{
	size_t off;

	for (off = 0; off < len; off += PAGE)
		p[off] = c;
}

FIXTURE(mem) {
	int fd;
	char cg[64];
	long long old_pool_max;
};

HK_MEMORY_VARIANTS(mem);

FIXTURE_SETUP(mem)
{
	self->fd = -1;
	self->cg[0] = 0;
	self->old_pool_max = -1;
	if (hk_test_left_out(_metadata->name))
		SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST"));
	if (geteuid() != 0)
		SKIP_FROM_SETUP("needs root");
	if (variant->device) {
		self->fd = hk_open();
		if (self->fd < 0 && errno == ENOENT)
			SKIP_FROM_SETUP(HAKMEM_DEVICE " does not exist (module not loaded)");
		ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));
	}
}

FIXTURE_TEARDOWN(mem)
{
	char buf[32];

	if (self->old_pool_max >= 0) {
		snprintf(buf, sizeof(buf), "%lld", self->old_pool_max);
		write_file(PARAM_DIR "pool_max_mb", buf);
	}
	if (self->cg[0])
		rmdir(self->cg);
	if (self->fd >= 0)
		close(self->fd);
}

/* What libhakmem does to give memory back: the purge ioctl, or madvise. */
static int purge(int fd, bool device, void *p, size_t len)
{
	struct hakmem_purge arg = {
		.addr = (uintptr_t)p,
		.len = len,
	};

	if (device)
		return ioctl(fd, HAKMEM_IOC_PURGE, &arg);
	return madvise(p, len, MADV_DONTNEED);
}

/* Create the memory cgroup @name with @max ("max" for none); 0 or -1. */
static int make_memcg(struct _test_data_mem *self, const char *name,
		      const char *max)
{
	char path[128];

	if (write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory"))
		return -1;
	snprintf(self->cg, sizeof(self->cg), "/sys/fs/cgroup/%s", name);
	if (mkdir(self->cg, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/memory.max", self->cg);
	if (write_file(path, max))
		return -1;
	snprintf(path, sizeof(path), "%s/memory.swap.max", self->cg);
	write_file(path, "0");
	return 0;
}

static int enter_memcg(const char *cg)
{
	char path[128], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_file(path, pid);
}

static long long memcg_number(const char *cg, const char *file,
			      const char *key)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (!key)
		return read_ll(path);
	return key_value(path, key, ' ');
}

/*
 * The pages of a region stay off the evictable LRU lists whatever happens
 * to them: written, shared with a fork child that writes half and exits,
 * MADV_DONTNEED of every other page, compaction three times.  The
 * evictable lists are what MemAvailable counts as reclaimable page cache.
 */
TEST_F_TIMEOUT(mem, lru_lists_stay_honest, 240)
{
	const size_t len = 32 * MIB;
	const long long slack = 8 * MIB;
	long long base, unevictable, step[4];
	size_t off;
	char *p;
	pid_t pid;
	int i;

	if (variant->device)
		wait_pool_pages(self->fd, len / PAGE / 2, 30000, hk_pool_zeroed_pages, 0);
	base = file_lru();
	unevictable = meminfo("Unevictable");
	p = hk_region(self->fd, variant->device, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x3a, len);
	step[0] = file_lru();

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(p, 0x4b, len / 2);
		_exit(0);
	}
	ASSERT_EQ(0, child_status(pid));
	step[1] = file_lru();

	for (off = 0; off < len; off += 2 * PAGE)
		ASSERT_EQ(0, madvise(p + off, PAGE, MADV_DONTNEED));
	step[2] = file_lru();

	for (i = 0; i < 3; i++)
		write_file("/proc/sys/vm/compact_memory", "1");
	step[3] = file_lru();

	TH_LOG("file LRU %lld MiB, then %+lld %+lld %+lld %+lld MiB; Unevictable %+lld MiB",
	       base / MIB, (step[0] - base) / MIB, (step[1] - base) / MIB,
	       (step[2] - base) / MIB, (step[3] - base) / MIB,
	       (meminfo("Unevictable") - unevictable) / MIB);
	for (i = 0; i < 4; i++)
		EXPECT_GT(base + slack, step[i]) TH_LOG("step %d", i);
	for (off = PAGE; off < len; off += 2 * PAGE)
		ASSERT_EQ(0x3a, p[off]);
	munmap(p, len);
}

/*
 * With the pool off, a child keeps half of 510 MiB (written, then every
 * other page MADV_DONTNEED'd); the parent reads 2 MiB regions for as long
 * as MemAvailable says there is room.  Nobody may be OOM-killed: what
 * MemAvailable counts must be there to take.
 */
TEST_F_TIMEOUT(mem, read_faults_under_pressure, 400)
{
	const size_t child_len = 255 * SZ_2M;
	long long kills, avail_low = -1, avail;
	int ready[2], go[2], n;
	char c = 0;
	pid_t pid;

	if (variant->device) {
		self->old_pool_max = read_ll(PARAM_DIR "pool_max_mb");
		ASSERT_EQ(0, write_file(PARAM_DIR "pool_max_mb", "0"));
	}
	kills = key_value("/proc/vmstat", "oom_kill", ' ');
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p = hk_region(self->fd, variant->device, child_len);
		size_t off;

		if (p == MAP_FAILED)
			_exit(2);
		memset(p, 0x77, child_len);
		for (off = 0; off < child_len; off += 2 * PAGE)
			madvise(p + off, PAGE, MADV_DONTNEED);
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	for (n = 0; n < 320; n++) {
		char *q;

		avail = meminfo("MemAvailable");
		if (avail_low < 0 || avail < avail_low)
			avail_low = avail;
		if (avail < 48 * MIB)
			break;
		q = hk_region(self->fd, variant->device, SZ_2M);
		ASSERT_NE(MAP_FAILED, q);
		ASSERT_EQ(-1, first_nonzero(q, SZ_2M));
	}
	ASSERT_EQ(1, write(go[1], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	TH_LOG("read %d regions of 2 MiB; MemAvailable went down to %lld MiB",
	       n, avail_low / MIB);
	EXPECT_EQ(kills, key_value("/proc/vmstat", "oom_kill", ' '));
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

/*
 * Memory comes back: a child in a memory cgroup maps and writes 32 MiB,
 * then gives it back by munmap, by a purge, and by exiting; each time
 * memory.current (and, for device pages, the unevictable count) returns
 * to where it was.
 */
TEST_F_TIMEOUT(mem, memory_comes_back, 120)
{
	const size_t len = 32 * MIB;
	const long long slack = 4 * MIB;
	long long r[8], unevictable;
	int report[2];
	pid_t pid;

	ASSERT_EQ(0, make_memcg(self, "hakmem-back", "max"));
	if (variant->device)
		wait_pool_pages(self->fd, len / PAGE / 2, 30000, hk_pool_zeroed_pages, 0);
	unevictable = meminfo("Unevictable");
	ASSERT_EQ(0, pipe(report));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p;
		int i;

		if (enter_memcg(self->cg))
			_exit(2);
		r[0] = memcg_number(self->cg, "memory.current", NULL);
		for (i = 0; i < 2; i++) {
			p = hk_region(self->fd, variant->device, len);
			if (p == MAP_FAILED)
				_exit(3);
			memset(p, 0x5c, len);
			r[1 + 3 * i] = memcg_number(self->cg, "memory.current", NULL);
			if (i == 0 ? munmap(p, len) :
			    purge(self->fd, variant->device, p, len))
				_exit(4);
			r[2 + 3 * i] = memcg_number(self->cg, "memory.current", NULL);
			r[3 + 3 * i] = meminfo("Unevictable");
		}
		p = hk_region(self->fd, variant->device, len);
		if (p == MAP_FAILED)
			_exit(3);
		memset(p, 0x6d, len);
		r[7] = memcg_number(self->cg, "memory.current", NULL);
		_exit(write(report[1], r, sizeof(r)) == sizeof(r) ? 0 : 5);
	}
	ASSERT_EQ(0, child_status(pid));
	ASSERT_EQ(sizeof(r), read(report[0], r, sizeof(r)));
	TH_LOG("memory.current MiB: %lld; written %lld, unmapped %lld; written %lld, purged %lld; written %lld, exited %lld",
	       r[0] / MIB, r[1] / MIB, r[2] / MIB, r[4] / MIB, r[5] / MIB,
	       r[7] / MIB, memcg_number(self->cg, "memory.current", NULL) / MIB);
	EXPECT_LE(r[0] + (long long)len - slack, r[1]);
	EXPECT_GE(r[0] + slack, r[2]);
	EXPECT_GE(unevictable + slack, r[3]);
	EXPECT_LE(r[0] + (long long)len - slack, r[4]);
	EXPECT_GE(r[0] + slack, r[5]);
	EXPECT_GE(unevictable + slack, r[6]);
	EXPECT_LE(r[0] + (long long)len - slack, r[7]);
	EXPECT_GE(slack, memcg_number(self->cg, "memory.current", NULL));
	EXPECT_GE(unevictable + slack, meminfo("Unevictable"));
	close(report[0]);
	close(report[1]);
}

/*
 * A child in a 48 MiB memory cgroup writes 32 MiB and gives it back, twenty
 * times over: by the purge ioctl, and by plain MADV_DONTNEED (as a program
 * may do to its malloc'd memory).  The refaults must not OOM-kill it.
 */
TEST_F_TIMEOUT(mem, purge_and_refault_at_limit, 240)
{
	const size_t len = 32 * MIB;
	pid_t pid;

	ASSERT_EQ(0, make_memcg(self, "hakmem-limit2", "48M"));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *p;
		int i;

		if (enter_memcg(self->cg))
			_exit(2);
		p = hk_region(self->fd, variant->device, len);
		if (p == MAP_FAILED)
			_exit(3);
		for (i = 0; i < 20; i++) {
			touch(p, len, (char)i);
			if (i % 2 ? madvise(p, len, MADV_DONTNEED) :
			    purge(self->fd, variant->device, p, len))
				_exit(4);
		}
		_exit(0);
	}
	EXPECT_EQ(0, child_status(pid));
	EXPECT_EQ(0, memcg_number(self->cg, "memory.events", "oom_kill"));
}

/*
 * A fork child and its parent both write every page, so each side gets
 * copies; the pages they shared, which nothing maps any more, are freed
 * within seconds, while both live on.
 */
TEST_F_TIMEOUT(mem, pages_left_after_fork_are_freed, 120)
{
	const size_t len = 16 * MIB;
	const long long slack = 4 * MIB;
	long long unevictable, now = 0;
	int ready[2], done[2], i;
	char c = 0, *p;
	pid_t pid;

	if (variant->device)
		wait_pool_pages(self->fd, len / PAGE / 2, 30000,
				hk_pool_zeroed_pages, 0);
	unevictable = meminfo("Unevictable");
	p = hk_region(self->fd, variant->device, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x11, len);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(p, 0x33, len);
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(first_not(p, len, 0x33) == -1 ? 0 : 2);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	memset(p, 0x22, len);
	for (i = 0; i < 300; i++) {
		now = meminfo("Unevictable");
		if (now <= unevictable + slack)
			break;
		usleep(100000);
	}
	ASSERT_EQ(1, write(done[1], &c, 1));
	EXPECT_EQ(0, child_status(pid));
	TH_LOG("Unevictable %+lld MiB after %d.%d s", (now - unevictable) / MIB,
	       i / 10, i % 10);
	EXPECT_GE(unevictable + slack, now);
	EXPECT_EQ(-1, first_not(p, len, 0x22));
	munmap(p, len);
	close_pipes(ready, done);
}

/*
 * Once a fork child has exited, the parent's writes to the memory it shared
 * copy nothing: anonymous memory reuses its pages, and so does the device.
 */
TEST_F_TIMEOUT(mem, writes_after_child_exit_copy_nothing, 120)
{
	const size_t len = 8 * MIB;
	const long long slack = 2 * MIB;
	long long anon;
	pid_t pid;
	char *p;

	if (variant->device)
		wait_pool_pages(self->fd, len / PAGE, 30000,
				hk_pool_zeroed_pages, 0);
	p = hk_region(self->fd, variant->device, len);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x1e, len);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(first_not(p, len, 0x1e) == -1 ? 0 : 1);
	ASSERT_EQ(0, child_status(pid));
	anon = meminfo("AnonPages");
	memset(p, 0x2f, len);
	TH_LOG("AnonPages %+lld kB after writing %zu MiB", (meminfo("AnonPages") - anon) >> 10,
	       len >> 20);
	EXPECT_GT(anon + slack, meminfo("AnonPages"));
	munmap(p, len);
}

/* Whether the file @path holds the @len bytes at @what anywhere. */
static int file_holds(const char *path, const void *what, size_t len)
{
	static char buf[1 << 16];
	size_t have = 0, n;
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (!found && (n = fread(buf + have, 1, sizeof(buf) - have, f))) {
		have += n;
		found = memmem(buf, have, what, len) != NULL;
		/* Keep the tail, where a match may begin. */
		memmove(buf, buf + have - (len - 1), len - 1);
		have = len - 1;
	}
	fclose(f);
	return found;
}

/* Mark @n of @len bytes, which no other test run makes (@seed). */
static void make_mark(char *p, size_t len, int n, int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (char)(i * 151 + n * 67 + seed);
}

/*
 * A crashing program's heap is in its core dump with the default
 * coredump_filter, and a range marked MADV_DONTDUMP is not.
 */
TEST_F_TIMEOUT(mem, core_dump, 120)
{
	static const char pattern[] = "/tmp/hakmem-core.%p";
	char marks[2][64], path[64], old_pattern[256] = "";
	int i, found[2];
	FILE *f;
	pid_t pid;

	f = fopen("/proc/sys/kernel/core_pattern", "re");
	ASSERT_NE(NULL, f);
	if (!fgets(old_pattern, sizeof(old_pattern), f))
		old_pattern[0] = 0;
	fclose(f);
	ASSERT_EQ(0, write_file("/proc/sys/kernel/core_pattern", pattern));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
		char *p = hk_region(self->fd, variant->device, 2 * SZ_2M);

		if (p == MAP_FAILED || setrlimit(RLIMIT_CORE, &unlimited))
			_exit(2);
		/* Made in place: no copy may be elsewhere in the dump. */
		make_mark(p + 12345, sizeof(marks[0]), 0, getppid());
		make_mark(p + SZ_2M + 12345, sizeof(marks[1]), 1, getppid());
		if (madvise(p + SZ_2M, SZ_2M, MADV_DONTDUMP))
			_exit(3);
		abort();
	}
	EXPECT_EQ(128 + SIGABRT, child_status(pid));
	write_file("/proc/sys/kernel/core_pattern", old_pattern);
	snprintf(path, sizeof(path), "/tmp/hakmem-core.%d", pid);
	/* Only now: the child's copy of this stack is in the dump too. */
	for (i = 0; i < 2; i++) {
		make_mark(marks[i], sizeof(marks[i]), i, getpid());
		found[i] = file_holds(path, marks[i], sizeof(marks[i]));
	}
	unlink(path);
	EXPECT_EQ(1, found[0]) TH_LOG("the heap is not in the core dump");
	EXPECT_EQ(0, found[1]) TH_LOG("MADV_DONTDUMP was not honoured");
}

TEST_HARNESS_MAIN
