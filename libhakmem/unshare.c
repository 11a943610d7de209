// SPDX-License-Identifier: MIT
/*
 * unshare() and setns(): the calls the kernel refuses with EINVAL to a
 * process with more than one thread (unshare(CLONE_NEWUSER), setns() into
 * a user or mount namespace; also unshare(CLONE_VM) and setns() into a
 * time namespace, which refuse with EUSERS).  Sandboxes and container
 * runtimes make them, often right after allocating, by which time hakmem
 * may run a helper thread of its own.  These definitions take the C
 * library's place: each stops hakmem's helpers until the kernel has
 * answered, so the call succeeds or fails exactly as it would without
 * hakmem.  Any call is wrapped, whatever its flags: they are rare, and
 * setns(fd, 0) does not say which namespace it joins.
 *
 * The system calls are made directly, as the C library's wrappers do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef HAKMEM_NO_OVERRIDE

/* System call @nr with hakmem's helpers stopped; errno is the call's. */
static int without_helpers(long nr, long a, long b)
{
	int ret, saved_errno;

	hk_helpers_pause();
	ret = (int)syscall(nr, a, b);
	saved_errno = errno;
	hk_helpers_resume();
	errno = saved_errno;
	return ret;
}

HK_EXPORT int unshare(int flags)
{
	return without_helpers(SYS_unshare, flags, 0);
}

HK_EXPORT int setns(int fd, int nstype)
{
	return without_helpers(SYS_setns, fd, nstype);
}

#endif /* HAKMEM_NO_OVERRIDE */
