// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for giving the pool back to the kernel (kmod/shrinker.c):
 * drop_caches and real memory pressure shrink the pool (pressure must not
 * end in an OOM kill while the pool holds memory), and after a shrink the
 * refill waits shrink_backoff_ms, following a change of it at once.
 *
 * Run as root inside the test VM (qemu/run-vm.sh); the tests skip without
 * root.  HK_TEST=<name>[,...] in the environment runs only the tests of
 * those names.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/hakmem.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

HK_DEVICE_FIXTURE(hakmem)

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

TEST_HARNESS_MAIN
