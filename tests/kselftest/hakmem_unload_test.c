// SPDX-License-Identifier: GPL-2.0
/*
 * kselftest: hakmem.ko cannot be unloaded while a region or a descriptor is
 * live, and unloads (and reloads) cleanly afterwards.
 *
 * Needs root and the path of the module in $HAKMEM_KO (to load it again).
 * Runs after the other kselftests, since it unloads the module: the test VM
 * runs them in name order (qemu/init.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/hakmem.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

static int unload(void)
{
	return syscall(SYS_delete_module, "hakmem", O_NONBLOCK);
}

static int load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, "", 0);
	close(fd);
	return ret;
}

static int busy_errno(int e)
{
	return e == EBUSY || e == EAGAIN || e == EWOULDBLOCK;
}

TEST(unload_refused_while_in_use)
{
	const char *ko = getenv("HAKMEM_KO");
	struct stat st;
	char *p;
	int fd;

	if (hk_test_left_out(_metadata->name))
		SKIP(return, "HK_TEST=%s", getenv("HK_TEST"));
	if (geteuid() != 0)
		SKIP(return, "needs root");
	if (!ko || access(ko, R_OK))
		SKIP(return, "set HAKMEM_KO to the path of hakmem.ko");
	fd = open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		SKIP(return, HAKMEM_DEVICE " does not exist");

	/* A mapping keeps its file, which keeps the module. */
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	memset(p, 1, SZ_2M);
	EXPECT_EQ(-1, unload());
	EXPECT_TRUE(busy_errno(errno)) TH_LOG("errno %d", errno);
	EXPECT_EQ(1, p[SZ_2M - 1]);
	ASSERT_EQ(0, munmap(p, SZ_2M));

	/* So does an open descriptor. */
	fd = open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, unload());
	EXPECT_TRUE(busy_errno(errno)) TH_LOG("errno %d", errno);
	close(fd);

	ASSERT_EQ(0, unload()) TH_LOG("delete_module: %s", strerror(errno));
	EXPECT_NE(0, stat(HAKMEM_DEVICE, &st));

	/* Load it again for whatever runs next. */
	ASSERT_EQ(0, load(ko)) TH_LOG("finit_module: %s", strerror(errno));
	fd = open(HAKMEM_DEVICE, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	p = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, p[0]);
	munmap(p, SZ_2M);
	close(fd);
}

TEST_HARNESS_MAIN
