// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the regions of /dev/hakmem (kmod/mmap.c): mmap() hands out
 * zeroed, 2 MiB-aligned private regions, populated from the pool as far as
 * it has blocks and faulted in after that, without stalling the process's
 * other threads; the arguments it refuses; placement, in a 32-bit address
 * space too; and what core mm does to a region afterwards (munmap, mremap,
 * mprotect, madvise, reclaim and compaction, GUP by other processes and by
 * O_DIRECT, use by many threads and processes at once), which leaves its
 * data as with anonymous memory.
 *
 * Run as root inside the test VM (qemu/run-vm.sh); the tests that need root
 * skip without it.  HK_TEST=<name>[,...] in the environment runs only the
 * tests of those names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/hakmem.h>
#include <linux/loop.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

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

HK_DEVICE_FIXTURE(hakmem)

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

/*
 * The differences from anonymous memory documented in
 * Documentation/kernel-module.rst.
 */
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
