// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the pools of pre-zeroed blocks of /dev/hakmem (kmod/pool.c)
 * and their limits, the module parameters pool_{low,high,max}_mb: a refill
 * thread fills the pool and mmap() takes from it, memory that another
 * process dirtied comes back zero, and the limits are bounded, read
 * consistently and followed at once when they change, also while regions
 * are mapped and unmapped.  The per-node pools are hakmem_numa_test's.
 *
 * Run as root inside the test VM (qemu/run-vm.sh); the tests that need root
 * skip without it.  HK_TEST=<name>[,...] in the environment runs only the
 * tests of those names.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/hakmem.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

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

HK_DEVICE_FIXTURE(hakmem)

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

TEST_HARNESS_MAIN
