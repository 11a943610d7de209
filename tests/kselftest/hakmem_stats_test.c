// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the statistics of /dev/hakmem (kmod/stats.c): what
 * HAKMEM_IOC_STATS and the files in /sys/class/misc/hakmem/stats/ count.
 * The per-node files are hakmem_numa_test's.
 *
 * HK_TEST=<name>[,...] in the environment runs only the tests of those
 * names.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <linux/hakmem.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

#define STATS_DIR	"/sys/class/misc/hakmem/stats/"

HK_DEVICE_FIXTURE(hakmem)

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

TEST_HARNESS_MAIN
