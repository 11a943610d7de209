// SPDX-License-Identifier: MIT
/*
 * Memory and time from the kernel: mappings, purges, protection and the
 * clock.  Nothing here calls malloc, so it is safe while malloc is being
 * set up.
 */
#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void *hk_os_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Map @size bytes aligned to @align by over-mapping and trimming both ends.
 * With @reserve_only the range is PROT_NONE, a landing place for mremap().
 */
void *hk_os_map_aligned(size_t size, size_t align, bool reserve_only)
{
	size_t over = size + align - HK_OS_PAGE;
	uintptr_t raw, start;
	void *p;

	if (over < size)
		return NULL;
	p = mmap(NULL, over, reserve_only ? PROT_NONE : PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	raw = (uintptr_t)p;
	start = hk_align_up(raw, align);
	if (start > raw)
		munmap(p, start - raw);
	if (raw + over > start + size)
		munmap((void *)(start + size), raw + over - (start + size));
	return (void *)start;
}

void hk_os_unmap(void *addr, size_t size)
{
	int saved = errno;

	munmap(addr, size);
	errno = saved;
}

void hk_os_purge(void *addr, size_t size)
{
	int saved = errno;

	madvise(addr, size, MADV_DONTNEED);
	errno = saved;
	atomic_fetch_add_explicit(&hk_stats.purged_bytes, size, memory_order_relaxed);
}

/*
 * Make the pages of @addr (page-aligned) .. @addr + @size read-only.  It
 * guards against hakmem's own bugs, so a failure (no memory to split the
 * mapping) only leaves them writable.
 */
void hk_os_seal(void *addr, size_t size)
{
	int saved = errno;

	mprotect(addr, size, PROT_READ);
	errno = saved;
}

uint64_t hk_clock_ms(void)
{
	struct timespec ts;

	/* The coarse clock is a vDSO read: cheap enough for slow paths. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
