// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for fork() of /dev/hakmem regions (kmod/fork.c, which sees
 * every fork of a region and the end of the child's copy): each side's
 * writes stay its own, whichever side writes, as with anonymous memory.
 * A fork with DMA in flight is hakmem_dio_fork_test's, one with futex
 * waiters hakmem_futex_test's.
 *
 * HK_TEST=<name>[,...] in the environment runs only the tests of those
 * names.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

HK_DEVICE_FIXTURE(hakmem)

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

TEST_HARNESS_MAIN
