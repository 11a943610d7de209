// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for whom device memory is counted against (kmod/cache.c
 * charges it): the memory cgroup of the task that maps it, or of the
 * region's owner when another task faults it in, as user memory and within
 * the cgroup's memory.max; the RLIMIT_MEMLOCK budget of a user outside the
 * device's group (every user may open the device); and the task's RSS, by
 * which the OOM killer ranks tasks, from the moment of mmap() (kmod/mmap.c).
 * The system-wide figures (LRU lists, MemAvailable) are
 * hakmem_memory_test's.
 *
 * Run as root inside the test VM (qemu/run-vm.sh); the tests that need root
 * or a cgroup v2 memory controller skip without them.  HK_TEST=<name>[,...]
 * in the environment runs only the tests of those names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/hakmem.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

HK_DEVICE_FIXTURE(hakmem)

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

TEST_HARNESS_MAIN
