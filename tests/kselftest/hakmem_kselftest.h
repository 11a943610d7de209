/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kselftests for /dev/hakmem share: sizes, opening and mapping the
 * device, the fixture of the tests that need nothing else, sysfs and proc
 * files, children, threads that map and unmap, and waiting for a pool to
 * refill.  Include it after kselftest_harness.h (it uses the harness's
 * macros), with _GNU_SOURCE defined (getcpu(), CPU_SET()).
 */
#ifndef HAKMEM_KSELFTEST_H
#define HAKMEM_KSELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/hakmem.h>

#define SZ_2M		HAKMEM_SUPERSLAB_SIZE
#define PAGE		4096UL

#define NODE_DIR	"/sys/class/misc/hakmem/node%u/"
#define PARAM_DIR	"/sys/module/hakmem/parameters/"

/*
 * The 6.1 harness runs the test body even after SKIP() in FIXTURE_SETUP, so
 * skip from there by ending the test process the way the harness itself
 * reports a skip (exit status 255).
 */
#define SKIP_FROM_SETUP(fmt, ...) SKIP(_exit(255), fmt, ##__VA_ARGS__)

/*
 * Whether the test @name is left out: HK_TEST in the environment (from the
 * VM's kernel command line) names the tests to run, separated by commas.
 */
static inline int hk_test_left_out(const char *name)
{
	const char *only = getenv("HK_TEST"), *p;
	size_t n = strlen(name);

	if (!only || !*only)
		return 0;
	for (p = only; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return 0;
	}
	return 1;
}

/* Offset of the first non-zero byte, or -1 if [p, p+len) is all zero. */
static inline long first_nonzero(const void *p, size_t len)
{
	const uint64_t *w = p;
	size_t i, n = len / sizeof(*w);

	for (i = 0; i < n; i++) {
		if (w[i]) {
			const unsigned char *b = (const unsigned char *)&w[i];
			size_t j;

			for (j = 0; j < sizeof(*w); j++)
				if (b[j])
					return i * sizeof(*w) + j;
		}
	}
	return -1;
}

/* Offset of the first byte that is not @c, or -1. */
static inline long first_not(const void *p, size_t len, unsigned char c)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != c)
			return i;
	return -1;
}

static inline int hk_open(void)
{
	return open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
}

static inline void *hk_map(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
}

/*
 * A fresh private region of @len bytes: from the device (@fd) if @device,
 * else anonymous memory, for the tests that run on both.
 */
static inline char *hk_region(int fd, bool device, size_t len)
{
	if (device)
		return hk_map(fd, len);
	return mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/*
 * The variants of a fixture whose tests run on both kinds of memory:
 * anonymous memory, the reference, and device memory (the harness's
 * macros, so include this after kselftest_harness.h).
 */
#define HK_MEMORY_VARIANTS(fixture)					\
	FIXTURE_VARIANT(fixture) {					\
		bool device;						\
	};								\
	FIXTURE_VARIANT_ADD(fixture, anon) {				\
		.device = false,					\
	};								\
	FIXTURE_VARIANT_ADD(fixture, device) {				\
		.device = true,						\
	}

/*
 * A fixture whose tests need an open descriptor of the device (self->fd)
 * and nothing else; they skip when the module is not loaded.  A macro, as
 * HK_MEMORY_VARIANTS is: a fixture defined here outright would be
 * registered in every program that includes this file.
 */
#define HK_DEVICE_FIXTURE(fixture)					\
	FIXTURE(fixture) {						\
		int fd;							\
	};								\
									\
	FIXTURE_SETUP(fixture)						\
	{								\
		self->fd = -1;						\
		if (hk_test_left_out(_metadata->name))			\
			SKIP_FROM_SETUP("HK_TEST=%s", getenv("HK_TEST")); \
		self->fd = hk_open();					\
		if (self->fd < 0 && errno == ENOENT)			\
			SKIP_FROM_SETUP(HAKMEM_DEVICE			\
					" does not exist (module not loaded)"); \
		ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno)); \
	}								\
									\
	FIXTURE_TEARDOWN(fixture)					\
	{								\
		if (self->fd >= 0)					\
			close(self->fd);				\
	}

static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * The number after "@key@sep" at the start of a line of @path: "Key: N kB"
 * in /proc files, "key N" in cgroup files; -1 if there is none.
 */
static inline long long key_value(const char *path, const char *key, char sep)
{
	char line[256];
	size_t n = strlen(key);
	long long val = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == sep) {
			val = atoll(line + n + 1);
			break;
		}
	fclose(f);
	return val;
}

/* A "Key:  N kB" line of /proc/meminfo, /proc/self/status, smaps_rollup. */
static inline long long proc_kb(const char *path, const char *key)
{
	return key_value(path, key, ':');
}

static inline long long meminfo_kb(const char *key)
{
	return proc_kb("/proc/meminfo", key);
}

/* The number a sysfs or proc file holds, or -1. */
static inline long long read_ll(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	return atoll(buf);
}

/* Close both ends of the two pipes a test and its child take turns on. */
static inline void close_pipes(int a[2], int b[2])
{
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

/* A child's exit status, or 128 + the signal that ended it. */
static inline int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (!WIFEXITED(status))
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

/* Whether memory cgroups charge kernel memory in this boot. */
static inline bool memcg_kmem(void)
{
	char line[1024] = "";
	FILE *f = fopen("/proc/cmdline", "re");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	return !strstr(line, "cgroup.memory=nokmem");
}

static inline int get_stats(int fd, struct hakmem_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ioctl(fd, HAKMEM_IOC_STATS, st);
}

/* The zeroed pages in all pools: a counter for wait_pool_pages(). */
static inline long long hk_pool_zeroed_pages(int fd, int unused)
{
	struct hakmem_stats st;

	if (get_stats(fd, &st))
		return -1;
	return st.pool_zeroed_pages;
}

/*
 * The zeroed pages in the pool that serves this task: its node's pool when
 * the module keeps one per node (the task may move between nodes), else
 * the only one.
 */
static inline long long pool_pages_here(int fd, int unused)
{
	unsigned int cpu, node;
	char path[96];

	if (!getcpu(&cpu, &node)) {
		snprintf(path, sizeof(path), NODE_DIR "pool_zeroed_pages",
			 node);
		if (!access(path, R_OK))
			return read_ll(path);
	}
	return hk_pool_zeroed_pages(fd, unused);
}

/* Stay on the current CPU, and so on the current node's pool. */
static inline void stay_here(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Whether the page at @p is a page of a file (the module's page cache, for
 * device memory) rather than anonymous (/proc/self/pagemap bit 61); -1 if
 * that cannot be read.
 */
static inline int hk_page_is_file(const void *p)
{
	uint64_t ent;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &ent, sizeof(ent), (uintptr_t)p / PAGE * sizeof(ent));
	close(fd);
	if (n != sizeof(ent))
		return -1;
	return (ent >> 61) & 1;
}

/*
 * Wait up to @ms for @count(@fd, @arg) to reach @pages zeroed pool pages.
 * Refills are demand driven (an mmap that leaves a pool below its low
 * watermark), so map and unmap a region now and then to create demand.
 */
static inline int wait_pool_pages(int fd, long long pages, int ms,
				  long long (*count)(int fd, int arg), int arg)
{
	int i;

	for (i = 0; ms > 0; ms -= 20, i++) {
		if (count(fd, arg) >= pages)
			return 0;
		if (i % 25 == 0) {
			void *p = hk_map(fd, SZ_2M);

			if (p != MAP_FAILED)
				munmap(p, SZ_2M);
		}
		usleep(20000);
	}
	return -1;
}

/* Wait up to @ms for the pool that serves this task to hold @pages. */
static inline int wait_pool(int fd, unsigned long pages, int ms)
{
	return wait_pool_pages(fd, pages, ms, pool_pages_here, 0);
}

/* A thread or process that maps, checks, writes and unmaps regions. */
struct worker {
	int fd;
	unsigned int seed;
	int iterations;
	int failures;
};

static inline void *map_unmap_worker(void *arg)
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

#endif /* HAKMEM_KSELFTEST_H */
