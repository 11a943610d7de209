// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for the ioctls of /dev/hakmem (kmod/ioctl.c): what
 * HAKMEM_IOC_INFO answers, the size-versioned ABI (older, newer and
 * malformed callers, bad pointers, unknown commands), and random commands
 * and arguments, which must all fail cleanly.  HAKMEM_IOC_PURGE is
 * hakmem_memory_test's.
 *
 * HK_TEST=<name>[,...] in the environment runs only the tests of those
 * names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/hakmem.h>

#include "kselftest_harness.h"
#include "hakmem_kselftest.h"

HK_DEVICE_FIXTURE(hakmem)

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

TEST_HARNESS_MAIN
